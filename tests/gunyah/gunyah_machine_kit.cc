/* SPDX-License-Identifier: MIT */
/* tests/gunyah/gunyah_machine_kit.cc: conformance GuestKit "emu-arm64" - arm64 machine code on gunyah through the /dev/gunyah emulator. */
#include "guest_kit.h"
#include "kits/kit_codegen.h"
#include "kits/machine_code_kit.h"

#include <hvabs_gunyah_emu.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace hvt {
namespace {

/*
 * The arm64 programs of tests/conformance/kits (kit_codegen.h) on the
 * emulator's Unicorn engine. Gunyah before v15 starts vCPU 0 at the base
 * of the devicetree's memory region with x0 = the devicetree address and
 * no stack, so the kit puts a trampoline at the RAM base (kRamBase; the
 * generated code starts at 0x10000) that sets the stack the generated code
 * expects (0x80000 - id * HVABS_BOOT_STACK_STRIDE) and branches to its
 * entry, and asks for nothing else at boot. The vCPU id is in x1, which the
 * emulator's engine sets for every vCPU it starts at the entry (real
 * Gunyah starts secondaries through PSCI CPU_ON), and interrupts are the
 * engine's controller (IAR/EOIR): this kit is tied to the emulator. No
 * faults (no RESUME_FAULT before v15), no HLT exit; EXIT only as PSCI.
 */
constexpr uint64_t kCodeStack = 0x80000;
static_assert(HVABS_BOOT_STACK_STRIDE == 0x800, "trampoline encodes the stride");
static_assert(kRamBase == 0, "trampoline encodes the stack from address 0");

std::vector<uint32_t> trampoline(uint64_t entry)
{
	return {
		0xd2810002,                /* mov x2, #0x800 (stride) */
		0x9b027c22,                /* mul x2, x1, x2 (x1 = vCPU id) */
		0xd2a00103,                /* mov x3, #0x80000 */
		0xcb020063,                /* sub x3, x3, x2 */
		0x9100007f,                /* mov sp, x3 */
		0x58000064,                /* ldr x4, entry (at +0x20) */
		0xd61f0080,                /* br x4 */
		0xd503201f,                /* nop (literal alignment) */
		(uint32_t)entry, (uint32_t)(entry >> 32),
	};
}

/* The sim arm64 kit's configuration (kits/sim_machine_kits.cc): the emulator runs the same engine. */
kits::MachineCodeKit::Config emu_arm64_config()
{
	kits::MachineCodeKit::Config c{};

	c.name = "emu-arm64";
	c.target = { kits::GuestArch::ARM64, kits::IrqModel::SIM_IC, false, false };
	c.arch = HVABS_ARCH_ARM64;
	c.backend_config = nullptr;
	c.ops = { Op::MMIO_WRITE, Op::MMIO_READ, Op::WAIT_IRQ, Op::EOI, Op::LOOP_FOREVER };
	c.psci_exit = true;
	return c;
}

class GunyahArm64Kit : public kits::MachineCodeKit {
public:
	GunyahArm64Kit() : MachineCodeKit(emu_arm64_config()) {}

	int prepare_vm(hvabs_vm *vm) override
	{
		programs_[vm].clear(); /* a new VM may reuse a destroyed one's address */
		return MachineCodeKit::prepare_vm(vm);
	}

	int load(hvabs_vcpu *vcpu, const GuestProgram &prog) override
	{
		/* No callback guest: the emulator then runs the vCPU's code. */
		int ret = hvabs_gunyah_emu_set_guest(hvabs_vcpu_id(vcpu), nullptr, nullptr);

		if (ret)
			return ret;
		ret = MachineCodeKit::load(vcpu, prog);
		if (ret == 0)
			programs_[hvabs_vcpu_vm(vcpu)][hvabs_vcpu_id(vcpu)] = prog;
		return ret;
	}

	/* The generated code and its boot, then the trampoline and the boot Gunyah can do. */
	int finalize(hvabs_vm *vm) override
	{
		kits::Image img;
		std::string err;
		int ret = MachineCodeKit::finalize(vm);

		if (ret)
			return ret;
		if (!kits::build_image(kTarget, programs_[vm], &img, &err)) {
			ADD_FAILURE() << "kit emu-arm64: " << err;
			return HVABS_EINVAL;
		}
		if (img.boot.stack != kCodeStack) {
			ADD_FAILURE() << "kit emu-arm64: the generated code wants its stack at 0x" << std::hex
				      << img.boot.stack;
			return HVABS_EINVAL;
		}
		std::vector<uint32_t> t = trampoline(img.boot.entry);
		void *dst = hvabs_vm_mem_host(vm, kRamBase, t.size() * 4);
		if (!dst) {
			ADD_FAILURE() << "kit emu-arm64: no RAM at the RAM base";
			return HVABS_EINVAL;
		}
		std::memcpy(dst, t.data(), t.size() * 4);
		hvabs_boot_config b{};
		b.version = HVABS_BOOT_CONFIG_VERSION;
		b.entry = kRamBase; /* the base of the devicetree's region, as Gunyah requires */
		b.cpu_mode = img.boot.cpu_mode;
		return hvabs_vm_boot_set(vm, &b);
	}

private:
	const kits::Target kTarget = emu_arm64_config().target;
	std::map<hvabs_vm *, std::map<uint32_t, GuestProgram>> programs_;
};

} /* namespace */

HVT_REGISTER_GUEST_KIT(gunyah_emu_arm64, "gunyah", "emu-arm64", []() {
	return hvabs_gunyah_emu_active() ? std::unique_ptr<GuestKit>(new GunyahArm64Kit())
					 : std::unique_ptr<GuestKit>();
});

} /* namespace hvt */
