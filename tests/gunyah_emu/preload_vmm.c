/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/preload_vmm.c: a minimal raw /dev/gunyah VMM that knows nothing of the emulator (LD_PRELOAD test). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Exit codes: 0 all steps worked; 10 no /dev/gunyah; 11.. the step that
 * failed. Prints "lent=<result>" and "exit=mmio:<addr>".
 */
struct region {
	uint32_t label, flags;
	uint64_t gpa, size, uaddr;
};
struct dtb_config {
	uint64_t gpa, size;
};
struct fn_desc {
	uint32_t type, arg_size;
	uint64_t arg;
};
struct vcpu_run {
	uint8_t immediate_exit, pad[7];
	uint32_t exit_reason, pad2;
	uint64_t phys_addr;
	uint8_t data[8];
	uint32_t len;
	uint8_t is_write;
};

#define MEM_GPA 0x80000000ull
#define MEM_SIZE (2ull << 20)

static long xioctl(int fd, unsigned long cmd, void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static int build_dtb(void *b, int cap)
{
	int e = fdt_create(b, cap);

	e = e ? e : fdt_finish_reservemap(b);
	e = e ? e : fdt_begin_node(b, "");
	e = e ? e : fdt_begin_node(b, "cpus");
	e = e ? e : fdt_begin_node(b, "cpu@0");
	e = e ? e : fdt_property_string(b, "device_type", "cpu");
	e = e ? e : fdt_property_u32(b, "reg", 0);
	e = e ? e : fdt_end_node(b);
	e = e ? e : fdt_end_node(b);
	e = e ? e : fdt_begin_node(b, "gunyah-vm-config");
	e = e ? e : fdt_property_string(b, "image-name", "preload");
	e = e ? e : fdt_property_string(b, "os-type", "linux");
	e = e ? e : fdt_begin_node(b, "memory");
	e = e ? e : fdt_property_u64(b, "base-address", MEM_GPA);
	e = e ? e : fdt_property_u64(b, "size-min", MEM_SIZE);
	e = e ? e : fdt_end_node(b);
	e = e ? e : fdt_begin_node(b, "vcpus");
	e = e ? e : fdt_property_string(b, "affinity", "proxy");
	e = e ? e : fdt_end_node(b);
	e = e ? e : fdt_end_node(b);
	e = e ? e : fdt_end_node(b);
	e = e ? e : fdt_finish(b);
	return e ? -1 : (int)fdt_totalsize(b);
}

static long add_vcpu(int vm, int v10)
{
	uint32_t id = 0;
	struct fn_desc d = { 1, v10 ? 0 : 4, v10 ? 0 : (uint64_t)(uintptr_t)&id };

	return xioctl(vm, 0x40104704, &d);
}

int main(void)
{
	const char *abi = getenv("HVABS_GUNYAH_EMU_ABI");
	int v10 = abi && !strcmp(abi, "v10");
	int dev = open("/dev/gunyah", O_RDWR | O_CLOEXEC), vm, dtb_size;
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct region r = { 0, 7, MEM_GPA, MEM_SIZE, (uint64_t)(uintptr_t)mem };
	struct region lent = { 1, 7 | 8, 0x1000, 4096, (uint64_t)(uintptr_t)mem };
	struct dtb_config dc;
	struct vcpu_run *run;
	long vcpu;

	if (dev < 0)
		return 10;
	vm = (int)xioctl(dev, 0x4700, NULL);
	if (vm < 0 || mem == MAP_FAILED)
		return 11;
	if (xioctl(vm, 0x40204701, &r))
		return 12;
	printf("lent=%ld\n", xioctl(vm, 0x40204701, &lent));
	vcpu = add_vcpu(vm, v10);
	if (vcpu < 0)
		return 13;
	run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)vcpu, 0);
	dtb_size = build_dtb(mem + (1 << 20), 1 << 16);
	if (run == MAP_FAILED || dtb_size < 0)
		return 14;
	dc.gpa = MEM_GPA + (1 << 20);
	dc.size = (uint64_t)dtb_size;
	if (xioctl(vm, 0x40104702, &dc) || xioctl(vm, 0x4703, NULL))
		return 15;
	if (xioctl((int)vcpu, 0x4705, NULL))
		return 16;
	if (run->exit_reason == 1)
		printf("exit=mmio:%#llx\n", (unsigned long long)run->phys_addr);
	else
		printf("exit=%u\n", run->exit_reason);
	return 0;
}
