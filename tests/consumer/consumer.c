/* SPDX-License-Identifier: MIT */
/* tests/consumer/consumer.c: smoke test of an installed hvabs, built against <hvabs.h> only. */
#include <hvabs.h>

#include <stdio.h>
#include <string.h>

#define DEV_ADDR 0x10000000u /* MMIO register the guest writes */
#define DEV_VALUE 0xc0ffee42u

struct device {
	unsigned int writes;
	uint64_t last;
};

static int dev_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
		     void *payload)
{
	struct device *dev = payload;

	(void)vcpu;
	if (addr != DEV_ADDR || len != 4)
		return -1;
	dev->writes++;
	dev->last = data;
	return 0;
}

/* The guest: one MMIO write, then power off by returning. */
static void guest(struct hvabs_sim_guest *g, void *payload)
{
	(void)payload;
	hvabs_sim_guest_mmio_write(g, DEV_ADDR, 4, DEV_VALUE);
}

static int fail(const char *what, int ret)
{
	const struct hvabs_error *e = hvabs_error_last();

	fprintf(stderr, "consumer: %s: %s (%s: %s)\n", what, hvabs_err_name(ret), e->backend,
		e->message);
	return 1;
}

static void print_backends(void)
{
	unsigned int i;

	printf("hvabs %s, backends:", hvabs_version_string());
	for (i = 0; i < hvabs_backend_count(); i++)
		printf(" %s", hvabs_backend_name(i));
	printf("\n");
}

/* Run until the VM stops; any exit other than STATUS means the handler was bypassed. */
static int run_vcpu(struct hvabs_vcpu *vcpu)
{
	struct hvabs_exit *exit;
	int ret;

	for (;;) {
		ret = hvabs_vcpu_run(vcpu);
		if (ret)
			return fail("hvabs_vcpu_run", ret);
		exit = hvabs_vcpu_exit(vcpu);
		if (exit->reason == HVABS_EXIT_STATUS)
			return 0;
		fprintf(stderr, "consumer: unexpected exit %s\n",
			hvabs_exit_reason_name(exit->reason));
		return 1;
	}
}

static int setup_vm(struct hvabs_vm *vm, struct device *dev, struct hvabs_vcpu **vcpu)
{
	struct hvabs_mem_region ram = {
		.version = HVABS_MEM_REGION_VERSION,
		.flags = HVABS_MEM_READ | HVABS_MEM_WRITE,
		.size = HVABS_PAGE_SIZE,
	};
	struct hvabs_io_desc io = {
		.version = HVABS_IO_DESC_VERSION,
		.space = HVABS_SPACE_MMIO,
		.addr = DEV_ADDR,
		.size = 4,
		.len = 4,
		.write = dev_write,
		.payload = dev,
	};
	struct hvabs_io_handler *handler;
	int ret;

	ret = hvabs_vm_mem_add(vm, &ram);
	if (ret)
		return fail("hvabs_vm_mem_add", ret);
	ret = hvabs_vm_vcpu_add(vcpu, vm, 0);
	if (ret)
		return fail("hvabs_vm_vcpu_add", ret);
	ret = hvabs_sim_vcpu_set_guest(*vcpu, guest, NULL);
	if (ret)
		return fail("hvabs_sim_vcpu_set_guest", ret);
	ret = hvabs_vm_io_handler_add(&handler, vm, &io);
	if (ret)
		return fail("hvabs_vm_io_handler_add", ret);
	ret = hvabs_vm_start(vm);
	if (ret)
		return fail("hvabs_vm_start", ret);
	return 0;
}

int main(void)
{
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct hvabs_vm_status st;
	struct device dev = { 0, 0 };
	struct hvabs_vcpu *vcpu = NULL;
	struct hvabs_vm *vm;
	int ret;

	print_backends();
	opts.backend = "sim";
	ret = hvabs_vm_create(&vm, &opts);
	if (ret)
		return fail("hvabs_vm_create", ret);
	ret = setup_vm(vm, &dev, &vcpu);
	if (!ret)
		ret = run_vcpu(vcpu);
	hvabs_vm_status_get(vm, &st);
	hvabs_vm_destroy(vm);
	if (ret)
		return ret;
	if (st.state != HVABS_VM_EXITED || dev.writes != 1 || dev.last != DEV_VALUE) {
		fprintf(stderr, "consumer: state %s, %u writes, last 0x%llx\n",
			hvabs_vm_state_name(st.state), dev.writes, (unsigned long long)dev.last);
		return 1;
	}
	if (hvabs_alloc_count() != 0) {
		fprintf(stderr, "consumer: %zu allocations leaked\n", hvabs_alloc_count());
		return 1;
	}
	printf("consumer: ok (guest write 0x%llx served, VM %s)\n", (unsigned long long)dev.last,
	       hvabs_vm_state_name(st.state));
	return 0;
}
