/* SPDX-License-Identifier: MIT */
/* tests/gunyah/gunyah_machine_kit.cc: conformance GuestKit "emu-arm64" - arm64 machine code on gunyah through the /dev/gunyah emulator. */
#include "guest_kit.h"
#include "kits/kit_codegen.h"

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
 * faults (no RESUME_FAULT before v15), no HLT exit, no EXIT (PSCI only).
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

class GunyahArm64Kit : public GuestKit {
public:
	std::string name() const override { return "emu-arm64"; }

	bool supports(Op op) const override
	{
		return op == Op::MMIO_WRITE || op == Op::MMIO_READ || op == Op::WAIT_IRQ ||
		       op == Op::EOI || op == Op::LOOP_FOREVER;
	}

	bool reports_faults() const override { return false; }

	void adjust_options(hvabs_vm_options *opts) const override { opts->arch = HVABS_ARCH_ARM64; }

	int prepare_vm(hvabs_vm *vm) override
	{
		hvabs_mem_region r{};

		r.version = HVABS_MEM_REGION_VERSION;
		r.label = kRamLabel;
		r.flags = HVABS_MEM_RWX;
		r.guest_addr = kRamBase;
		r.size = kRamSize;
		programs_[vm].clear(); /* a new VM may reuse a destroyed one's address */
		return hvabs_vm_mem_add(vm, &r);
	}

	int load(hvabs_vcpu *vcpu, const GuestProgram &prog) override
	{
		for (const GuestOp &o : prog.ops)
			if (!kits::can_express(kTarget, o)) {
				ADD_FAILURE() << "kit emu-arm64 cannot express " << op_name(o.op);
				return HVABS_ENOTSUP;
			}
		/* No callback guest: the emulator then runs the vCPU's code. */
		int ret = hvabs_gunyah_emu_set_guest(hvabs_vcpu_id(vcpu), nullptr, nullptr);
		if (ret)
			return ret;
		programs_[hvabs_vcpu_vm(vcpu)][hvabs_vcpu_id(vcpu)] = prog;
		return 0;
	}

	int finalize(hvabs_vm *vm) override
	{
		kits::Image img;
		std::string err;

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
		img.segments.push_back({ kRamBase, std::vector<uint8_t>(t.size() * 4) });
		std::memcpy(img.segments.back().bytes.data(), t.data(), t.size() * 4);
		for (const kits::Segment &s : img.segments) {
			void *dst = hvabs_vm_mem_host(vm, s.gpa, s.bytes.size());

			if (!dst) {
				ADD_FAILURE() << "kit emu-arm64: no RAM at 0x" << std::hex << s.gpa;
				return HVABS_EINVAL;
			}
			std::memcpy(dst, s.bytes.data(), s.bytes.size());
		}
		hvabs_boot_config b{};
		b.version = HVABS_BOOT_CONFIG_VERSION;
		b.entry = kRamBase; /* the base of the devicetree's region, as Gunyah requires */
		b.cpu_mode = img.boot.cpu_mode;
		return hvabs_vm_boot_set(vm, &b);
	}

private:
	static constexpr kits::Target kTarget = { kits::GuestArch::ARM64, kits::IrqModel::SIM_IC, false,
						  false };
	std::map<hvabs_vm *, std::map<uint32_t, GuestProgram>> programs_;
};

} /* namespace */

HVT_REGISTER_GUEST_KIT(gunyah_emu_arm64, "gunyah", "emu-arm64", []() {
	return hvabs_gunyah_emu_active() ? std::unique_ptr<GuestKit>(new GunyahArm64Kit())
					 : std::unique_ptr<GuestKit>();
});

} /* namespace hvt */
