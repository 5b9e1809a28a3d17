/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kvm_machine_kits.cc: KVM GuestKits "x86" and "x86-noirqchip" (x86-64). */
#include "machine_code_kit.h"

/* KVM runs guests of the host's architecture. */
#if defined(__x86_64__)

namespace hvt {
namespace kits {
namespace {

/*
 * Default VM (in-kernel PIC + IOAPIC): WAIT_IRQ sleeps in HLT inside KVM
 * and takes the 8259's interrupt; the PIC is left in its reset state
 * (vector = line) because initialising it (ICW1) would drop lines raised
 * before the guest's first instruction. Lines 0..7 only; vCPU 0 only (the
 * PIC feeds the BSP's LINT0). HLT never leaves KVM here, so no HALT.
 * KVM cannot inject faults (RESUME_FAULT is ENOTSUP): no fault reports.
 */
std::unique_ptr<GuestKit> kvm_x86()
{
	return std::unique_ptr<GuestKit>(new MachineCodeKit({
		"x86",
		{ GuestArch::X86_64, IrqModel::PC_PIC, false, false },
		HVABS_ARCH_X86_64,
		nullptr,
		{ Op::MMIO_WRITE, Op::MMIO_READ, Op::PIO_WRITE, Op::PIO_READ, Op::WAIT_IRQ, Op::EOI,
		  Op::LOOP_FOREVER },
		false,
	}));
}

/* irqchip=off: no interrupts, but HLT comes back as an HLT exit. */
std::unique_ptr<GuestKit> kvm_x86_noirqchip()
{
	return std::unique_ptr<GuestKit>(new MachineCodeKit({
		"x86-noirqchip",
		{ GuestArch::X86_64, IrqModel::NONE, false, true },
		HVABS_ARCH_X86_64,
		"irqchip=off",
		{ Op::MMIO_WRITE, Op::MMIO_READ, Op::PIO_WRITE, Op::PIO_READ, Op::HALT,
		  Op::LOOP_FOREVER },
		false,
	}));
}

} /* namespace */

HVT_REGISTER_GUEST_KIT(kvm_x86, "kvm", "x86", kvm_x86);
HVT_REGISTER_GUEST_KIT(kvm_x86_noirqchip, "kvm", "x86-noirqchip", kvm_x86_noirqchip);

} /* namespace kits */
} /* namespace hvt */

#endif
