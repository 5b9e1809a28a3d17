/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/emu_test.cc: helpers of the emulator tests - fork-per-test runner, raw ioctls, DTB builder. */
#include "emu_test.h"

#include <libfdt.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define GEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GEMU_ASAN 1
#endif
#endif

namespace gemu {

bool under_asan()
{
#ifdef GEMU_ASAN
	return true;
#else
	return false;
#endif
}

const char *abi_name(Abi abi)
{
	return abi == Abi::V10 ? "v10" : "v14";
}

std::string abi_param_name(const ::testing::TestParamInfo<Abi> &info)
{
	return abi_name(info.param);
}

long sys_ioctl(int fd, unsigned long cmd, uint64_t arg)
{
	long r = ioctl(fd, cmd, (unsigned long)arg);

	return r < 0 ? -errno : r;
}

/* ---- devicetree ---- */

static int dt_cpus(void *b, const DtSpec &s)
{
	int e = fdt_begin_node(b, "cpus");

	e = e ?: fdt_property_u32(b, "#address-cells", 1);
	e = e ?: fdt_property_u32(b, "#size-cells", 0);
	for (uint32_t id : s.vcpus) {
		char name[32];

		snprintf(name, sizeof(name), "cpu@%x", id);
		e = e ?: fdt_begin_node(b, name);
		e = e ?: fdt_property_string(b, "device_type", "cpu");
		e = e ?: fdt_property_string(b, "compatible", "arm,armv8");
		e = e ?: fdt_property_u32(b, "reg", id);
		e = e ?: fdt_end_node(b);
	}
	return e ?: fdt_end_node(b);
}

static int dt_bells(void *b, const DtSpec &s)
{
	int e = fdt_begin_node(b, "vdevices");

	e = e ?: fdt_property_string(b, "generate", "/hypervisor");
	for (uint32_t label : s.bells) {
		char name[32], path[64];
		fdt32_t irq[3] = { cpu_to_fdt32(0), cpu_to_fdt32(label), cpu_to_fdt32(1) };

		snprintf(name, sizeof(name), "bell-%x", label);
		snprintf(path, sizeof(path), "/hypervisor/%s", name);
		e = e ?: fdt_begin_node(b, name);
		e = e ?: fdt_property_string(b, "vdevice-type", "doorbell");
		e = e ?: fdt_property_string(b, "generate", path);
		e = e ?: fdt_property_u32(b, "label", label);
		e = e ?: fdt_property(b, "peer-default", nullptr, 0);
		e = e ?: fdt_property(b, "interrupts", irq, sizeof(irq));
		e = e ?: fdt_end_node(b);
	}
	return e ?: fdt_end_node(b);
}

static int dt_config(void *b, const DtSpec &s)
{
	int e = fdt_begin_node(b, "gunyah-vm-config");

	if (s.names) {
		e = e ?: fdt_property_string(b, "image-name", "hvabs-emu-test");
		e = e ?: fdt_property_string(b, "os-type", "linux");
	}
	if (s.memory_node) {
		e = e ?: fdt_begin_node(b, "memory");
		e = e ?: fdt_property_u32(b, "#address-cells", 2);
		e = e ?: fdt_property_u32(b, "#size-cells", 2);
		e = e ?: fdt_property_u64(b, "base-address", s.mem_size ? s.mem_base : Vm::kMemGpa);
		e = e ?: fdt_property_u64(b, "size-min", s.mem_size ? s.mem_size : Vm::kMemSize);
		e = e ?: fdt_end_node(b);
	}
	e = e ?: fdt_begin_node(b, "vcpus");
	e = e ?: fdt_property_string(b, "affinity", s.affinity);
	e = e ?: fdt_end_node(b);
	e = e ?: dt_bells(b, s);
	return e ?: fdt_end_node(b);
}

int build_dtb(void *buf, size_t cap, const DtSpec &s)
{
	int e = fdt_create(buf, (int)cap);

	e = e ?: fdt_finish_reservemap(buf);
	e = e ?: fdt_begin_node(buf, "");
	e = e ?: fdt_property_u32(buf, "#address-cells", 2);
	e = e ?: fdt_property_u32(buf, "#size-cells", 2);
	e = e ?: dt_cpus(buf, s);
	if (s.config_node)
		e = e ?: dt_config(buf, s);
	e = e ?: fdt_end_node(buf);
	e = e ?: fdt_finish(buf);
	return e ? e : (int)fdt_totalsize(buf);
}

/* ---- VM ---- */

Vm::Vm(bool with_region)
{
	dev = open("/dev/gunyah", O_RDWR | O_CLOEXEC);
	EXPECT_GE(dev, 0) << "open /dev/gunyah: " << strerror(errno);
	fd = (int)sys_ioctl(dev, kCreateVm, (uint64_t)0);
	EXPECT_GE(fd, 0) << "GH_CREATE_VM: " << strerror((int)-fd);
	void *m = mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_NE(m, MAP_FAILED);
	mem = (uint8_t *)m;
	if (with_region) {
		EXPECT_EQ(0, set_region(0, kMemRWX, kMemGpa, kMemSize, (uint64_t)(uintptr_t)mem));
	}
}

Vm::~Vm()
{
	close_fd();
	if (dev >= 0)
		close(dev);
	/* Guest memory stays mapped: the VM may outlive this object through vCPU files. */
}

void Vm::close_fd()
{
	if (fd >= 0)
		close(fd);
	fd = -1;
}

long Vm::set_region(uint32_t label, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	MemRegion r = { label, flags, gpa, size, uaddr };

	return sys_ioctl(fd, kSetUserMemRegion, &r);
}

long Vm::set_dtb(uint64_t gpa, uint64_t size)
{
	DtbConfig c = { gpa, size };

	return sys_ioctl(fd, kSetDtbConfig, &c);
}

long Vm::place_dtb(const DtSpec &spec)
{
	int size = build_dtb(mem + kDtbOffset, 64 << 10, spec);

	EXPECT_GT(size, 0) << "libfdt: " << fdt_strerror(size);
	return set_dtb(kMemGpa + kDtbOffset, (uint64_t)size);
}

long Vm::start()
{
	return sys_ioctl(fd, kStart, (uint64_t)0);
}

long Vm::add_fn(uint32_t type, uint32_t arg_size, uint64_t arg)
{
	FnDesc d = { type, arg_size, arg };

	return sys_ioctl(fd, kAddFunction, &d);
}

long Vm::remove_fn(uint32_t type, uint32_t arg_size, uint64_t arg)
{
	FnDesc d = { type, arg_size, arg };

	return sys_ioctl(fd, kRemoveFunction, &d);
}

long Vm::add_vcpu(Abi abi, uint32_t id)
{
	uint32_t arg = id;

	if (abi == Abi::V10)
		return add_fn(kFnVcpu, 0, (uint64_t)id);
	return add_fn(kFnVcpu, sizeof(arg), &arg);
}

long Vm::remove_vcpu(Abi abi, uint32_t id)
{
	uint32_t arg = id;

	if (abi == Abi::V10)
		return remove_fn(kFnVcpu, 0, (uint64_t)id);
	return remove_fn(kFnVcpu, sizeof(arg), &arg);
}

long Vm::add_irqfd(int efd, uint32_t label, uint32_t flags)
{
	IrqfdArg a = { (uint32_t)efd, label, flags, 0 };

	return add_fn(kFnIrqfd, sizeof(a), &a);
}

long Vm::remove_irqfd(int efd, uint32_t label, uint32_t flags)
{
	IrqfdArg a = { (uint32_t)efd, label, flags, 0 };

	return remove_fn(kFnIrqfd, sizeof(a), &a);
}

long Vm::add_ioeventfd(int efd, uint64_t addr, uint32_t len, uint32_t flags, uint64_t datamatch)
{
	IoeventfdArg a = { datamatch, addr, len, efd, flags, 0 };

	return add_fn(kFnIoeventfd, sizeof(a), &a);
}

long Vm::remove_ioeventfd(int efd, uint64_t addr, uint32_t len, uint32_t flags,
			  uint64_t datamatch)
{
	IoeventfdArg a = { datamatch, addr, len, efd, flags, 0 };

	return remove_fn(kFnIoeventfd, sizeof(a), &a);
}

/* ---- vCPU ---- */

Vcpu::Vcpu(int vcpu_fd) : fd(vcpu_fd)
{
	long size = sys_ioctl(fd, kVcpuMmapSize, (uint64_t)0);

	EXPECT_EQ(size, sysconf(_SC_PAGESIZE));
	void *p = mmap(nullptr, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	EXPECT_NE(p, MAP_FAILED) << strerror(errno);
	run = p == MAP_FAILED ? nullptr : (VcpuRun *)p;
}

Vcpu::~Vcpu()
{
	release();
}

void Vcpu::release()
{
	if (run)
		munmap(run, (size_t)sysconf(_SC_PAGESIZE));
	run = nullptr;
	if (fd >= 0)
		close(fd);
	fd = -1;
}

/* ---- small helpers ---- */

uint64_t le_load(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void le_store(uint8_t *p, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < len && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int new_eventfd()
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

uint64_t eventfd_take(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

bool eventfd_wait(int efd, int timeout_ms)
{
	struct pollfd p = { efd, POLLIN, 0 };

	return poll(&p, 1, timeout_ms) == 1;
}

struct hvabs_gunyah_emu_stats emu_stats()
{
	struct hvabs_gunyah_emu_stats st;

	hvabs_gunyah_emu_sync();
	hvabs_gunyah_emu_stats(&st);
	return st;
}

uint64_t now_us()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- fork per test ---- */

constexpr int kChildSkipped = 77;

void child_skip(const char *why)
{
	printf("child skipped: %s\n", why);
	fflush(stdout);
	_exit(::testing::Test::HasFailure() ? 1 : kChildSkipped);
}

void EmuTest::in_child(const std::function<void()> &body, const char *faults, bool start)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;

		alarm(60); /* a hung child fails the test instead of hanging it */
		cfg.abi = abi_name(abi());
		cfg.faults = faults;
		cfg.log = getenv("GEMU_LOG") != nullptr;
		int ret = start ? hvabs_gunyah_emu_start(&cfg) : 0;
		EXPECT_EQ(0, ret) << "hvabs_gunyah_emu_start";
		if (ret == 0)
			body();
		fflush(stdout);
		fflush(stderr);
		_exit(::testing::Test::HasFailure() ? 1 : 0);
	}
	int status = 0;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFSIGNALED(status))
		ADD_FAILURE() << "test child died of signal " << WTERMSIG(status);
	else if (WEXITSTATUS(status) == kChildSkipped)
		GTEST_SKIP() << "skipped in the test child (see above)";
	else
		EXPECT_EQ(0, WEXITSTATUS(status)) << "failures in the test child (see above)";
}

} /* namespace gemu */
