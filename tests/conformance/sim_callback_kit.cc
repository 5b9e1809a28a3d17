/* SPDX-License-Identifier: MIT */
/* tests/conformance/sim_callback_kit.cc: GuestKit for sim callback guests (hvabs_sim_guest_*). */
#include "guest_kit.h"

namespace hvt {
namespace {

void report(hvabs_sim_guest *g, uint64_t addr, uint64_t value)
{
	(void)hvabs_sim_guest_mmio_write(g, addr, 8, value);
}

void guest_exit(hvabs_sim_guest *g, const GuestOp &o)
{
	uint8_t reason[8] = { 0 };

	for (uint32_t b = 0; b < 8; b++)
		reason[b] = (uint8_t)(o.val >> (8 * b));
	hvabs_sim_guest_exit(g, false, (uint16_t)o.addr, reason, o.len);
}

/* Executes one op; returns non-zero when its access faulted. */
int step(hvabs_sim_guest *g, const GuestOp &o)
{
	uint64_t v = 0;
	uint32_t pv = 0;
	int rc = 0;

	switch (o.op) {
	case Op::MMIO_WRITE:
		return hvabs_sim_guest_mmio_write(g, o.addr, o.len, o.val);
	case Op::MMIO_READ:
		rc = hvabs_sim_guest_mmio_read(g, o.addr, o.len, &v);
		if (rc == 0)
			report(g, kResultAddr, v);
		return rc;
	case Op::PIO_WRITE:
		return hvabs_sim_guest_pio_write(g, (uint16_t)o.addr, o.len, (uint32_t)o.val);
	case Op::PIO_READ:
		rc = hvabs_sim_guest_pio_read(g, (uint16_t)o.addr, o.len, &pv);
		if (rc == 0)
			report(g, kResultAddr, pv);
		return rc;
	case Op::WAIT_IRQ:
		report(g, kResultAddr, hvabs_sim_guest_wait_irq(g));
		return 0;
	case Op::EOI:
		hvabs_sim_guest_eoi(g, (uint32_t)o.val);
		return 0;
	case Op::HALT:
		hvabs_sim_guest_halt(g);
		return 0;
	case Op::LOOP_FOREVER:
		for (;;)
			hvabs_sim_guest_yield(g);
	case Op::EXIT:
		guest_exit(g, o);
		return 0;
	}
	return 0;
}

/*
 * The guest thread may be ended with pthread_exit() inside any
 * hvabs_sim_guest_*() call, so nothing here owns resources.
 */
void interpret(hvabs_sim_guest *g, void *payload)
{
	const GuestProgram *p = static_cast<const GuestProgram *>(payload);

	for (size_t i = 0; i < p->ops.size(); i++)
		if (step(g, p->ops[i]))
			report(g, kFaultAddr, i);
}

class SimCallbackKit : public GuestKit {
public:
	std::string name() const override { return "callback"; }
	bool supports(Op) const override { return true; }
	bool reports_faults() const override { return true; }

	int prepare_vm(hvabs_vm *vm) override
	{
		hvabs_mem_region r{};

		r.version = HVABS_MEM_REGION_VERSION;
		r.label = kRamLabel;
		r.flags = HVABS_MEM_RWX;
		r.guest_addr = kRamBase;
		r.size = kRamSize;
		return hvabs_vm_mem_add(vm, &r);
	}

	int load(hvabs_vcpu *vcpu, const GuestProgram &prog) override
	{
		programs_.push_back(std::make_unique<GuestProgram>(prog));
		return hvabs_sim_vcpu_set_guest(vcpu, interpret, programs_.back().get());
	}

private:
	std::vector<std::unique_ptr<GuestProgram>> programs_;
};

} /* namespace */

HVT_REGISTER_GUEST_KIT(sim_callback, "sim", "callback",
		       [] { return std::unique_ptr<GuestKit>(new SimCallbackKit()); });

} /* namespace hvt */
