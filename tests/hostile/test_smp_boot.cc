/* SPDX-License-Identifier: MIT */
/* tests/hostile/test_smp_boot.cc: a vCPU starting late must not rewrite boot tables that running vCPUs use (sim x86). */
#include "hostile.h"

/*
 * Regression: the sim engine wrote the PROT32/LONG64 boot scratch tables
 * (GDT, IDT, page tables) from each vCPU's guest thread when that vCPU
 * first ran. A vCPU starting later wiped what a running vCPU had installed
 * in the IDT (and raced with it on the page tables - ThreadSanitizer saw
 * the concurrent writes). The tables are now written once, at start.
 */

using namespace hvt;
using namespace hvt::hostile;

namespace {

constexpr uint64_t kReady = 0xd0000;
constexpr uint64_t kHandled = 0xd0010;
constexpr uint8_t kVector = 0x30;

class SmpBoot : public ::testing::TestWithParam<Mode> {};

TEST_P(SmpBoot, LaterVcpuKeepsTheIdtGateAnEarlierOneInstalled)
{
	const Target t{ "sim", GetParam() };
	HOSTILE_SKIP_UNLESS_USABLE(t);
	LeakCheck leaks;
	const Layout &lay = layout(t.mode);
	const bool lm = t.mode == Mode::LONG64;
	const uint64_t idt = lay.scratch + HVABS_GUEST_X86_SCRATCH_IDT;
	const uint64_t second = lay.code + 0x100, handler = lay.code + 0x200;
	{
		Vm vm(t);
		ASSERT_EQ(0, vm.create(2)) << last_error_text();
		Code c(t.mode, lay.code);
		c.raw({ 0x85, 0xff, 0x0f, 0x85 }); /* test %edi,%edi; jnz second */
		c.u32((uint32_t)(second - (c.here() + 4)));
		/* vCPU 0: install a gate for kVector in the boot IDT, say so, then raise it forever. */
		if (lm) {
			c.mem_write(idt + kVector * 16, 8,
				    (handler & 0xffff) | UINT64_C(0x18) << 16 | UINT64_C(0x8e) << 40 |
					    (handler & 0xffff0000) << 32);
			c.mem_write(idt + kVector * 16 + 8, 8, 0);
		} else {
			c.mem_write(idt + kVector * 8, 4, (handler & 0xffff) | 0x08u << 16);
			c.mem_write(idt + kVector * 8 + 4, 4, (handler & 0xffff0000) | 0x8e00);
		}
		c.mem_write(kReady, 4, 1);
		uint64_t loop = c.here();
		c.soft_int(kVector);
		c.jump_to(loop);
		while (c.here() < second)
			c.u8(0x90);
		c.halt_forever(); /* vCPU 1 */
		while (c.here() < handler)
			c.u8(0x90);
		c.mem_write(kHandled, 4, 2);
		if (lm)
			c.u8(0x48);
		c.u8(0xcf); /* iret */
		ASSERT_TRUE(vm.load(c));
		ASSERT_EQ(0, vm.start()) << last_error_text();

		hvabs_exit *e0 = hvabs_vcpu_exit(vm.vcpus[0]), *e1 = hvabs_vcpu_exit(vm.vcpus[1]);
		ASSERT_EQ(0, hvabs_vcpu_run(vm.vcpus[0]));
		ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e0->reason) << describe_exit(*e0);
		ASSERT_EQ(kReady, e0->mmio.addr);
		/* vCPU 1's first run starts its engine. */
		ASSERT_EQ(0, hvabs_vcpu_run(vm.vcpus[1]));
		EXPECT_EQ((uint32_t)HVABS_EXIT_HLT, e1->reason) << describe_exit(*e1);
		for (int i = 0; i < 3; i++) {
			ASSERT_EQ(0, hvabs_vcpu_run(vm.vcpus[0]));
			ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e0->reason)
				<< "vCPU 0 lost its IDT gate: " << describe_exit(*e0);
			EXPECT_EQ(kHandled, e0->mmio.addr);
		}
	}
	leaks.expect_clean("smp boot");
}

INSTANTIATE_TEST_SUITE_P(Sim, SmpBoot, ::testing::Values(Mode::PROT32, Mode::LONG64),
			 [](const ::testing::TestParamInfo<Mode> &i) { return mode_ident(i.param); });

} /* namespace */
