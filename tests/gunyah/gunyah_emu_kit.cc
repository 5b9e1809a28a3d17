/* SPDX-License-Identifier: MIT */
/* tests/gunyah/gunyah_emu_kit.cc: conformance GuestKit for gunyah through the /dev/gunyah emulator (emulator callback guests). */
#include "guest_kit.h"

#include <hvabs_gunyah_emu.h>

#include <cstdlib>

namespace hvt {
namespace {

/*
 * Active only when the test process runs under the emulator; otherwise
 * there is no kit and guest tests skip. $HVABS_GUNYAH_EMU_ABI (v10 or v14,
 * set by tests/gunyah/CMakeLists.txt) starts it here, before main() while
 * the process has a single thread, as an LD_PRELOAD of the library would
 * (which also works and is then left alone). Gunyah has no port I/O and no
 * HLT exit, and before v15 no FAULT resume, so those ops are not offered.
 */
bool emu_start_from_env()
{
	hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	const char *abi = getenv("HVABS_GUNYAH_EMU_ABI");

	if (!abi || !*abi || hvabs_gunyah_emu_active())
		return hvabs_gunyah_emu_active();
	cfg.abi = abi;
	return hvabs_gunyah_emu_start(&cfg) == 0;
}

const bool emu_running = emu_start_from_env();

void report(hvabs_gunyah_emu_guest *g, uint64_t addr, uint64_t value)
{
	(void)hvabs_gunyah_emu_guest_mmio_write(g, addr, 8, value);
}

void guest_exit(hvabs_gunyah_emu_guest *g, const GuestOp &o)
{
	uint8_t reason[8] = { 0 };

	for (uint32_t b = 0; b < 8; b++)
		reason[b] = (uint8_t)(o.val >> (8 * b));
	hvabs_gunyah_emu_guest_exit(g, false, (uint16_t)o.addr, reason, o.len);
}

void step(hvabs_gunyah_emu_guest *g, const GuestOp &o)
{
	uint64_t v = 0;

	switch (o.op) {
	case Op::MMIO_WRITE:
		(void)hvabs_gunyah_emu_guest_mmio_write(g, o.addr, o.len, o.val);
		return;
	case Op::MMIO_READ:
		if (hvabs_gunyah_emu_guest_mmio_read(g, o.addr, o.len, &v) == 0)
			report(g, kResultAddr, v);
		return;
	case Op::WAIT_IRQ:
		report(g, kResultAddr, hvabs_gunyah_emu_guest_wait_irq(g));
		return;
	case Op::EOI:
		hvabs_gunyah_emu_guest_eoi(g, (uint32_t)o.val);
		return;
	case Op::LOOP_FOREVER:
		for (;;)
			hvabs_gunyah_emu_guest_yield(g);
	case Op::EXIT:
		guest_exit(g, o);
		return;
	default: /* not offered by supports() */
		return;
	}
}

/* The guest thread may end inside any guest call: nothing here owns resources. */
void interpret(hvabs_gunyah_emu_guest *g, void *payload)
{
	const GuestProgram *p = static_cast<const GuestProgram *>(payload);

	for (const GuestOp &o : p->ops)
		step(g, o);
}

class GunyahEmuKit : public GuestKit {
public:
	~GunyahEmuKit() override
	{
		for (uint32_t id : ids_)
			hvabs_gunyah_emu_set_guest(id, nullptr, nullptr);
	}

	std::string name() const override { return "emu-callback"; }

	bool supports(Op op) const override
	{
		return op == Op::MMIO_WRITE || op == Op::MMIO_READ || op == Op::WAIT_IRQ ||
		       op == Op::EOI || op == Op::LOOP_FOREVER || op == Op::EXIT;
	}

	bool reports_faults() const override { return false; }

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

	/* The emulator plays vCPU ids of VMs started later: load() precedes start. */
	int load(hvabs_vcpu *vcpu, const GuestProgram &prog) override
	{
		uint32_t id = hvabs_vcpu_id(vcpu);

		programs_.push_back(std::make_unique<GuestProgram>(prog));
		ids_.push_back(id);
		return hvabs_gunyah_emu_set_guest(id, interpret, programs_.back().get());
	}

private:
	std::vector<std::unique_ptr<GuestProgram>> programs_;
	std::vector<uint32_t> ids_;
};

} /* namespace */

HVT_REGISTER_GUEST_KIT(gunyah_emu_callback, "gunyah", "emu-callback", []() {
	return emu_running ? std::unique_ptr<GuestKit>(new GunyahEmuKit()) : std::unique_ptr<GuestKit>();
});

} /* namespace hvt */
