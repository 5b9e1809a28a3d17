/* SPDX-License-Identifier: MIT */
/* bench/bench_rig.cc: the bench guest (a command-driven sim callback guest) and the Rig that drives it. */
#include "bench.h"

#include <cstring>

namespace hb {

int noop_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)data, (void)payload;
	return 0;
}

int noop_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data, void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)payload;
	*data = 0;
	return 0;
}

int handler_add(hvabs_io_handler **out, hvabs_vm *vm, uint64_t addr)
{
	hvabs_io_desc d{};

	d.version = HVABS_IO_DESC_VERSION;
	d.space = HVABS_SPACE_MMIO;
	d.addr = addr;
	d.size = 8;
	d.len = 0;
	d.read = noop_read;
	d.write = noop_write;
	return hvabs_vm_io_handler_add(out, vm, &d);
}

hvabs_vm_options sim_options()
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;

	o.backend = "sim";
	return o;
}

int ram_add(hvabs_vm *vm)
{
	hvabs_mem_region r{};

	r.version = HVABS_MEM_REGION_VERSION;
	r.label = 0;
	r.flags = HVABS_MEM_READ | HVABS_MEM_WRITE;
	r.guest_addr = kRamBase;
	r.size = kRamSize;
	r.host_addr = nullptr; /* library-owned, zeroed */
	return hvabs_vm_mem_add(vm, &r);
}

namespace {

/*
 * The floor of a dispatch: an indirect call through a function table with
 * the IO write callback's signature (the table is opaque to the compiler).
 */
hvabs_io_write_fn floor_table[4] = { noop_write, noop_write, noop_write, noop_write };

void guest_floor(GuestCtx *c)
{
	for (uint32_t b = 0; b < c->warmup + c->nbatches; b++) {
		uint64_t t0 = now_ns();
		for (uint32_t j = 0; j < c->batch; j++) {
			hvabs_io_write_fn fn = floor_table[j & 3];
			opaque(fn);
			fn(nullptr, kHandlerBase, 4, j, nullptr);
		}
		uint64_t t1 = now_ns();
		if (b >= c->warmup)
			c->samples[b - c->warmup] = (double)(t1 - t0) / c->batch;
	}
}

/* Batched accesses to c->addrs[k & c->mask]: MMIO (@pio false) or port I/O (the address's low 16 bits). */
void guest_access(hvabs_sim_guest *g, GuestCtx *c, bool write, bool pio)
{
	uint64_t k = 0, v = 0;
	uint32_t pv = 0;

	for (uint32_t b = 0; b < c->warmup + c->nbatches; b++) {
		int err = 0;
		uint64_t t0 = now_ns();
		if (pio && write) {
			for (uint32_t j = 0; j < c->batch; j++, k++)
				err |= hvabs_sim_guest_pio_write(g, (uint16_t)c->addrs[k & c->mask], 4, j);
		} else if (pio) {
			for (uint32_t j = 0; j < c->batch; j++, k++)
				err |= hvabs_sim_guest_pio_read(g, (uint16_t)c->addrs[k & c->mask], 4, &pv);
		} else if (write) {
			for (uint32_t j = 0; j < c->batch; j++, k++)
				err |= hvabs_sim_guest_mmio_write(g, c->addrs[k & c->mask], 4, j);
		} else {
			for (uint32_t j = 0; j < c->batch; j++, k++)
				err |= hvabs_sim_guest_mmio_read(g, c->addrs[k & c->mask], 4, &v);
		}
		uint64_t t1 = now_ns();
		if (err)
			c->errors++;
		if (b >= c->warmup)
			c->samples[b - c->warmup] = (double)(t1 - t0) / c->batch;
	}
}

void guest_throughput(hvabs_sim_guest *g, GuestCtx *c)
{
	uint64_t addr = c->addrs[0];
	int err = 0;

	c->barrier->fetch_add(1);
	while (c->barrier->load() < c->parties)
		;
	c->t_start = now_ns();
	for (uint64_t i = 0; i < c->count; i++)
		err |= hvabs_sim_guest_mmio_write(g, addr, 4, i);
	c->t_end = now_ns();
	if (err)
		c->errors++;
}

void guest_wait_irq(hvabs_sim_guest *g, GuestCtx *c)
{
	for (uint32_t i = 0; i < c->nbatches; i++) {
		c->irq_ready.store(i + 1);
		uint32_t line = hvabs_sim_guest_wait_irq(g);
		uint64_t t1 = now_ns();
		c->samples[i] = (double)(t1 - c->t_raise.load());
		hvabs_sim_guest_eoi(g, line);
		c->irq_done.store(i + 1);
	}
}

/*
 * The bench guest: fetch a command with an unhandled read of kCmdAddr (the
 * runner completes it with the command), run it, repeat. Owns nothing, so
 * teardown may end its thread inside any hvabs_sim_guest_*() call.
 */
void bench_guest(hvabs_sim_guest *g, void *payload)
{
	GuestCtx *c = static_cast<GuestCtx *>(payload);

	for (;;) {
		uint64_t cmd = CMD_QUIT;

		if (hvabs_sim_guest_mmio_read(g, kCmdAddr, 8, &cmd))
			return;
		switch (cmd) {
		case CMD_FLOOR:
			guest_floor(c);
			break;
		case CMD_WRITE:
			guest_access(g, c, true, false);
			break;
		case CMD_READ:
			guest_access(g, c, false, false);
			break;
		case CMD_PIO_WRITE:
			guest_access(g, c, true, true);
			break;
		case CMD_PIO_READ:
			guest_access(g, c, false, true);
			break;
		case CMD_THROUGHPUT:
			guest_throughput(g, c);
			break;
		case CMD_WAIT_IRQ:
			guest_wait_irq(g, c);
			break;
		case CMD_HALT:
			hvabs_sim_guest_halt(g);
			break;
		default:
			return;
		}
	}
}

bool parked(hvabs_vcpu *v)
{
	const hvabs_exit *e = hvabs_vcpu_exit(v);

	return e->reason == HVABS_EXIT_MMIO && e->mmio.addr == kCmdAddr && !e->mmio.is_write;
}

/* Run until the guest is back at its command read, serving what comes up. */
int run_to_park(hvabs_vcpu *v, GuestCtx *c)
{
	hvabs_exit *e = hvabs_vcpu_exit(v);

	for (;;) {
		int ret = hvabs_vcpu_run(v);

		if (ret)
			return ret;
		switch (e->reason) {
		case HVABS_EXIT_MMIO:
			if (e->mmio.addr == kCmdAddr && !e->mmio.is_write)
				return 0;
			if (!e->mmio.is_write)
				memset(e->mmio.data, 0, sizeof(e->mmio.data));
			continue; /* kNoHandlerAddr round trips */
		case HVABS_EXIT_INTR:
			if (c->abort.load())
				return HVABS_EINTR;
			continue;
		case HVABS_EXIT_HLT:
			continue;
		default:
			return HVABS_ERROR;
		}
	}
}

} /* namespace */

Rig::~Rig()
{
	hvabs_vm_destroy(vm);
	for (GuestCtx *c : ctx)
		delete c;
}

int Rig::init(unsigned nvcpus, const char **what)
{
	hvabs_vm_options o = sim_options();
	int ret;

	*what = "hvabs_vm_create";
	ret = hvabs_vm_create(&vm, &o);
	if (ret)
		return ret;
	*what = "hvabs_vm_mem_add";
	ret = ram_add(vm);
	if (ret)
		return ret;
	for (unsigned i = 0; i < nvcpus; i++) {
		hvabs_vcpu *v = nullptr;

		*what = "hvabs_vm_vcpu_add";
		ret = hvabs_vm_vcpu_add(&v, vm, i);
		if (ret)
			return ret;
		ctx.push_back(new GuestCtx());
		vcpus.push_back(v);
		*what = "hvabs_sim_vcpu_set_guest";
		ret = hvabs_sim_vcpu_set_guest(v, bench_guest, ctx.back());
		if (ret)
			return ret;
	}
	*what = "hvabs_vm_start";
	ret = hvabs_vm_start(vm);
	if (ret)
		return ret;
	*what = "first hvabs_vcpu_run";
	for (size_t i = 0; i < vcpus.size(); i++) {
		ret = run_to_park(vcpus[i], ctx[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int Rig::exec(unsigned i, Cmd cmd)
{
	hvabs_vcpu *v = vcpus.at(i);
	hvabs_exit *e = hvabs_vcpu_exit(v);

	if (!parked(v))
		return HVABS_ESTATE;
	memcpy(e->mmio.data, &cmd, sizeof(cmd));
	e->mmio.resume = HVABS_RESUME_HANDLED;
	ctx[i]->errors = 0;
	int ret = run_to_park(v, ctx[i]);
	if (!ret && ctx[i]->errors)
		ret = kGuestFault;
	return ret;
}

} /* namespace hb */
