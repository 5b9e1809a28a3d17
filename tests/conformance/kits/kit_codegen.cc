/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kit_codegen.cc: which ops the machine-code GuestKits can express. */
#include "kit_codegen.h"

namespace hvt {
namespace kits {
namespace {

bool mmio_len(uint32_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

bool x86_can(const Target &t, const GuestOp &o)
{
	switch (o.op) {
	case Op::MMIO_WRITE:
	case Op::MMIO_READ:
		return mmio_len(o.len);
	case Op::PIO_WRITE:
	case Op::PIO_READ:
		return (o.len == 1 || o.len == 2 || o.len == 4) && o.addr <= 0xffff;
	case Op::WAIT_IRQ:
		return t.irq != IrqModel::NONE;
	case Op::EOI:
		if (t.irq == IrqModel::PC_PIC)
			return o.val < 8 && o.val != 2; /* master lines; 2 is the cascade */
		return t.irq == IrqModel::SIM_IC && o.val <= UINT32_MAX;
	case Op::HALT:
		return t.hlt_exits;
	case Op::LOOP_FOREVER:
		return true;
	case Op::EXIT:
		return false; /* no x86 power-off device */
	}
	return false;
}

bool arm64_can(const Target &t, const GuestOp &o)
{
	switch (o.op) {
	case Op::MMIO_WRITE:
	case Op::MMIO_READ:
		return mmio_len(o.len);
	case Op::WAIT_IRQ:
		return t.irq == IrqModel::SIM_IC;
	case Op::EOI:
		return t.irq == IrqModel::SIM_IC && o.val <= UINT32_MAX;
	case Op::LOOP_FOREVER:
		return true;
	case Op::EXIT:
		/* PSCI (HVC) has no exit reason bytes and only these two exit types. */
		return o.len == 0 && (o.addr == HVABS_EXIT_TYPE_PSCI_POWER_OFF ||
				      o.addr == HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET);
	case Op::PIO_WRITE:
	case Op::PIO_READ:
	case Op::HALT: /* WFI never is an HLT exit */
		return false;
	}
	return false;
}

} /* namespace */

bool can_express(const Target &t, const GuestOp &op)
{
	return t.arch == GuestArch::X86_64 ? x86_can(t, op) : arm64_can(t, op);
}

bool build_image(const Target &t, const std::map<uint32_t, GuestProgram> &progs, Image *out,
		 std::string *err)
{
	return t.arch == GuestArch::X86_64 ? build_x86(t, progs, out, err) :
					     build_arm64(t, progs, out, err);
}

} /* namespace kits */
} /* namespace hvt */
