/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/sim_machine_kits.cc: sim GuestKits "x86" and "arm64" (Unicorn engine). */
#include "machine_code_kit.h"

namespace hvt {
namespace kits {
namespace {

/*
 * The engine's interrupt controller (IAR/EOIR, sim_engine_abi.h) serves
 * WAIT_IRQ and EOI; faulted accesses arrive as #GP(0) / data aborts and
 * are reported. PSCI is the engine's only power-off: arm64 offers EXIT
 * with exit types PSCI_POWER_OFF/SYSTEM_RESET and no reason bytes.
 */
std::unique_ptr<GuestKit> sim_x86()
{
	return std::unique_ptr<GuestKit>(new MachineCodeKit({
		"x86",
		{ GuestArch::X86_64, IrqModel::SIM_IC, true, true },
		HVABS_ARCH_X86_64,
		nullptr,
		{ Op::MMIO_WRITE, Op::MMIO_READ, Op::PIO_WRITE, Op::PIO_READ, Op::WAIT_IRQ, Op::EOI,
		  Op::HALT, Op::LOOP_FOREVER },
		false,
	}));
}

/* arm64: no port I/O, and WFI is never an HLT exit. */
std::unique_ptr<GuestKit> sim_arm64()
{
	return std::unique_ptr<GuestKit>(new MachineCodeKit({
		"arm64",
		{ GuestArch::ARM64, IrqModel::SIM_IC, true, false },
		HVABS_ARCH_ARM64,
		nullptr,
		{ Op::MMIO_WRITE, Op::MMIO_READ, Op::WAIT_IRQ, Op::EOI, Op::LOOP_FOREVER },
		true,
	}));
}

} /* namespace */

HVT_REGISTER_GUEST_KIT(sim_x86, "sim", "x86", sim_x86);
HVT_REGISTER_GUEST_KIT(sim_arm64, "sim", "arm64", sim_arm64);

} /* namespace kits */
} /* namespace hvt */
