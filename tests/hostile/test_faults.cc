/* SPDX-License-Identifier: MIT */
/* tests/hostile/test_faults.cc: guests that fault in every way the engines report; each ends in its documented exit. */
#include "hostile.h"

#include <sys/eventfd.h>
#include <unistd.h>

/*
 * sim (Unicorn): a fault without a guest handler crashes the VM: a STATUS
 * exit, state CRASHED, exit type GUEST_FAULT, reason = {kind, detail, 0, 0,
 * PC} (backends/sim/engine/sim_engine_abi.h), and every later run returns
 * the same STATUS. KVM: triple faults are SHUTDOWN exits, instruction
 * fetches outside memory INTERNAL exits, stores to a read-only slot MMIO
 * exits, and a RESUME_FAULT completion is HVABS_ENOTSUP (the vCPU stays
 * usable). An exception loop inside the guest is ended by a kick.
 */

using namespace hvt;
using namespace hvt::hostile;

namespace {

constexpr uint64_t kX86Hole = 0xe0000;       /* no RAM: MMIO (sim), nothing (KVM) */
constexpr uint64_t kArmHole = 0x20000000;
constexpr uint64_t kFaultMmio = 0xd2000;      /* reads completed with RESUME_FAULT */
constexpr uint64_t kArmFaultMmio = 0x0d200000;
constexpr uint32_t kIrqLine = 3;

class Faults : public ::testing::TestWithParam<Target> {
protected:
	void SetUp() override { HOSTILE_SKIP_UNLESS_USABLE(GetParam()); }
	void TearDown() override { leaks_.expect_clean(target_ident(GetParam())); }

	const Target &t() const { return GetParam(); }
	bool x86() const { return is_x86(t().mode); }
	const Layout &lay() const { return layout(t().mode); }

	/*
	 * Run @emit's code (then a halt loop) on one vCPU until it stops, is
	 * kicked after @budget, or @stop_after. Checks every exit.
	 */
	DriveLog run(const std::function<void(Code &)> &emit, DrivePolicy p = DrivePolicy(),
		     bool irq = false, const char *kvm_config = nullptr)
	{
		Vm vm(t());
		DriveLog none;
		EXPECT_EQ(0, vm.create(1, true, kvm_config)) << last_error_text();
		if (!vm.vm)
			return none;
		Code c(t().mode, lay().code);
		emit(c);
		c.halt_forever();
		EXPECT_TRUE(vm.load(c));
		int efd = -1;
		if (irq) {
			efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			EXPECT_EQ(0, hvabs_vm_irqfd_add(nullptr, vm.vm, efd, kIrqLine, 0, -1)) << last_error_text();
		}
		EXPECT_EQ(0, vm.start()) << last_error_text();
		if (irq) {
			uint64_t one = 1;
			EXPECT_EQ(8, write(efd, &one, 8));
		}
		p.random_completion = false;
		DriveLog log = drive(vm, vm.vcpus[0], p);
		for (const std::string &pr : log.problems)
			ADD_FAILURE() << pr;
		if (t().sim() && log.last.reason == HVABS_EXIT_STATUS) {
			/* A stopped VM answers every later run with the same STATUS exit. */
			hvabs_exit first = log.last;
			for (int i = 0; i < 3; i++) {
				EXPECT_EQ(0, hvabs_vcpu_run(vm.vcpus[0]));
				const hvabs_exit *e = hvabs_vcpu_exit(vm.vcpus[0]);
				EXPECT_EQ((uint32_t)HVABS_EXIT_STATUS, e->reason);
				EXPECT_EQ(0, memcmp(first.status.reason, e->status.reason, 8));
			}
			hvabs_vm_status st{};
			hvabs_vm_status_get(vm.vm, &st);
			EXPECT_EQ(first.status.status == HVABS_STATUS_CRASHED ? HVABS_VM_CRASHED : HVABS_VM_EXITED,
				  st.state);
		}
		vm.destroy();
		if (efd >= 0)
			close(efd);
		return log;
	}

	/* sim: CRASHED with @kind and @detail (and the PC when @pc != ~0). */
	void expect_crash(const DriveLog &log, unsigned kind, unsigned detail, uint64_t pc = ~UINT64_C(0))
	{
		const hvabs_exit &e = log.last;
		ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason) << "ended by: " << log.end;
		EXPECT_EQ(HVABS_STATUS_CRASHED, e.status.status);
		EXPECT_EQ(HVABS_EXIT_TYPE_GUEST_FAULT, e.status.exit_type);
		EXPECT_EQ(kind, e.status.reason[0]) << describe_exit(e);
		EXPECT_EQ(detail, e.status.reason[1]) << describe_exit(e);
		if (pc != ~UINT64_C(0)) {
			uint32_t got = (uint32_t)e.status.reason[4] | (uint32_t)e.status.reason[5] << 8 |
				       (uint32_t)e.status.reason[6] << 16 | (uint32_t)e.status.reason[7] << 24;
			EXPECT_EQ((uint32_t)pc, got) << describe_exit(e);
		}
	}

	void expect_exit(const DriveLog &log, uint32_t reason)
	{
		EXPECT_EQ(reason, log.last.reason) << "got " << describe_exit(log.last) << "; ended by: " << log.end;
	}

	/*
	 * KVM: the guest cannot go on. A triple fault is a SHUTDOWN exit; where
	 * KVM emulates the delivery (real mode, or a nested host) it may give up
	 * with an INTERNAL emulation failure instead. Real mode may also vector
	 * through the IVT into RAM and run away: the watchdog's kick ends that.
	 */
	void expect_kvm_dead(const DriveLog &log)
	{
		uint32_t r = log.last.reason;
		bool ok = r == HVABS_EXIT_SHUTDOWN || r == HVABS_EXIT_INTERNAL ||
			  (t().mode == Mode::REAL && r == HVABS_EXIT_INTR && log.watchdog);
		EXPECT_TRUE(ok) << "got " << describe_exit(log.last) << "; ended by: " << log.end;
	}

	LeakCheck leaks_;
};

TEST_P(Faults, FetchOutsideMemory)
{
	uint64_t hole = x86() ? kX86Hole : kArmHole;
	DriveLog log = run([&](Code &c) { c.jump_abs(hole); });
	if (t().sim())
		expect_crash(log, HVABS_GUEST_FAULT_FETCH, 0, hole);
	else
		expect_exit(log, HVABS_EXIT_INTERNAL); /* KVM cannot emulate a fetch from MMIO */
}

TEST_P(Faults, UndefinedInstruction)
{
	uint64_t at = lay().code;
	DriveLog log = run([&](Code &c) {
		if (t().kvm()) {
			c.lidt(0, 0); /* no vectors: #UD ends in a triple fault */
			at = c.here();
		}
		c.undefined();
	});
	if (t().kvm())
		return expect_kvm_dead(log);
	expect_crash(log, HVABS_GUEST_FAULT_INVALID, x86() ? 6 : 0, at);
}

TEST_P(Faults, TripleFault)
{
	if (!x86())
		GTEST_SKIP() << "x86 only";
	uint64_t at = 0;
	DriveLog log = run([&](Code &c) {
		c.lidt(0, 0);
		at = c.here();
		c.soft_int(0x30);
	});
	if (t().kvm())
		return expect_kvm_dead(log);
	expect_crash(log, HVABS_GUEST_FAULT_TRIPLE, 0x30, at);
}

TEST_P(Faults, SoftwareExceptionWithoutHandler)
{
	if (t().kvm() && t().mode == Mode::REAL)
		GTEST_SKIP() << "real mode on KVM vectors through the all-zero IVT into RAM";
	DriveLog log = run([&](Code &c) { c.soft_int(0x30); });
	if (t().kvm())
		return expect_kvm_dead(log); /* IDT of not-present gates */
	if (x86())
		return expect_crash(log, HVABS_GUEST_FAULT_EXCEPTION, 0x30, lay().code);
	expect_crash(log, HVABS_GUEST_FAULT_EXCEPTION, 0x15, lay().code); /* svc: EC 0x15 */
}

TEST_P(Faults, BreakpointAndDivideError)
{
	if (t().kvm() && t().mode == Mode::REAL)
		GTEST_SKIP() << "real mode on KVM vectors through the all-zero IVT into RAM";
	DriveLog bp = run([&](Code &c) {
		if (x86())
			c.u8(0xcc); /* int3 */
		else
			c.brk(7);
	});
	if (t().kvm())
		expect_kvm_dead(bp);
	else
		expect_crash(bp, HVABS_GUEST_FAULT_EXCEPTION, x86() ? 3 : 0x3c, lay().code);
	if (!x86())
		return;
	DriveLog de = run([&](Code &c) { c.raw({ 0x31, 0xc9, 0xf7, 0xf1 }); }); /* xor %ecx,%ecx; div %ecx */
	if (t().kvm())
		expect_kvm_dead(de);
	else
		expect_crash(de, HVABS_GUEST_FAULT_EXCEPTION, 0, lay().code + 2);
}

TEST_P(Faults, StoreToReadOnlyMemory)
{
	uint64_t at = 0;
	DriveLog log = run([&](Code &c) {
		c.load_acc(0x5a);
		at = c.here();
		c.mem_write(lay().rom_base + 0x10, 4, 0x5a5a5a5a);
	}, [&] {
		DrivePolicy p;
		p.stop_after = [](const hvabs_exit &e) { return e.reason == HVABS_EXIT_MMIO; };
		return p;
	}());
	if (t().kvm()) {
		/* A read-only slot turns the store into an MMIO exit. */
		expect_exit(log, HVABS_EXIT_MMIO);
		EXPECT_EQ(lay().rom_base + 0x10, log.last.mmio.addr);
		EXPECT_TRUE(log.last.mmio.is_write);
		EXPECT_EQ(0x5a5a5a5au, (uint32_t)le_load(log.last.mmio.data, 4));
		return;
	}
	(void)at;
	expect_crash(log, HVABS_GUEST_FAULT_DATA, x86() ? 13 : 0x25);
}

TEST_P(Faults, AccessCompletedWithFault)
{
	uint64_t addr = x86() ? kFaultMmio : kArmFaultMmio;
	unsigned faults = 0;
	bool resumed = false;
	DrivePolicy p;
	p.on_access = [&](hvabs_exit *e) {
		if (e->reason != HVABS_EXIT_MMIO || e->mmio.addr != addr)
			return false;
		e->mmio.resume = HVABS_RESUME_FAULT;
		faults++;
		return true;
	};
	if (t().kvm()) {
		/* KVM: FAULT is not supported; the run says so and the vCPU stays usable. */
		Vm vm(t());
		ASSERT_EQ(0, vm.create(1, true, "irqchip=off")) << last_error_text();
		Code c(t().mode, lay().code);
		c.mem_read(addr, 4);
		c.halt_forever();
		ASSERT_TRUE(vm.load(c));
		ASSERT_EQ(0, vm.start());
		hvabs_exit *e = hvabs_vcpu_exit(vm.vcpus[0]);
		ASSERT_EQ(0, hvabs_vcpu_run(vm.vcpus[0]));
		ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e->reason) << describe_exit(*e);
		e->mmio.resume = HVABS_RESUME_FAULT;
		HV_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vcpu_run(vm.vcpus[0]));
		e->mmio.resume = HVABS_RESUME_HANDLED;
		HV_EXPECT_OK(hvabs_vcpu_run(vm.vcpus[0]));
		EXPECT_EQ((uint32_t)HVABS_EXIT_HLT, e->reason) << describe_exit(*e);
		resumed = true;
		vm.destroy();
		EXPECT_TRUE(resumed);
		return;
	}
	DriveLog log = run([&](Code &c) { c.mem_read(addr, 4); }, p);
	EXPECT_EQ(1u, faults);
	expect_crash(log, HVABS_GUEST_FAULT_DATA, x86() ? 13 : 0x25);
}

TEST_P(Faults, AddressesTheCpuCannotReach)
{
	if (t().mode != Mode::LONG64 && t().mode != Mode::ARM64)
		GTEST_SKIP() << "needs 64-bit addressing";
	if (t().mode == Mode::ARM64) {
		/* Beyond the engine's 48-bit physical space. */
		DriveLog log = run([&](Code &c) { c.mem_read(UINT64_C(1) << 50, 8); });
		return expect_crash(log, HVABS_GUEST_FAULT_DATA, 0x25);
	}
	/* Beyond the boot identity map (4 GiB): a page fault; no IDT: the guest dies. */
	DriveLog pf = run([&](Code &c) { c.mem_read(UINT64_C(1) << 33, 8); });
	if (t().kvm())
		expect_kvm_dead(pf);
	else
		expect_crash(pf, HVABS_GUEST_FAULT_EXCEPTION, 14);
	/* Non-canonical: #GP. */
	DriveLog gp = run([&](Code &c) { c.mem_read(UINT64_C(0x8000000000001000), 8); });
	if (t().kvm())
		expect_kvm_dead(gp);
	else
		EXPECT_EQ(HVABS_EXIT_TYPE_GUEST_FAULT, gp.last.status.exit_type) << describe_exit(gp.last);
}

TEST_P(Faults, InterruptWithoutHandler)
{
	if (t().kvm())
		GTEST_SKIP() << "the sim interrupt controller's delivery model";
	DriveLog log = run([](Code &c) { c.wait_forever(); }, DrivePolicy(), true);
	expect_crash(log, HVABS_GUEST_FAULT_EXCEPTION,
		     x86() ? 0x20 + kIrqLine : 0xff); /* x86 vector 0x20 + line; arm64 IRQ */
}

TEST_P(Faults, PsciPowerOffAndReset)
{
	if (t().mode != Mode::ARM64 || t().kvm())
		GTEST_SKIP() << "arm64 PSCI of the sim engine";
	DriveLog off = run([](Code &c) { c.hvc(0x84000000), c.hvc(0x8400ffff), c.hvc(0x84000008); });
	ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, off.last.reason) << describe_exit(off.last);
	EXPECT_EQ(HVABS_STATUS_EXITED, off.last.status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_POWER_OFF, off.last.status.exit_type);
	DriveLog reset = run([](Code &c) { c.hvc(0x84000009); });
	EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, reset.last.status.exit_type) << describe_exit(reset.last);
}

/*
 * An exception whose handler raises it again, forever: a guest that never
 * exits on its own. Only a kick ends the run, and nothing else comes out.
 */
TEST_P(Faults, ExceptionStormIsEndedByAKick)
{
	DriveLog log = run([&](Code &c) {
		const uint64_t table = lay().ram_base + 0x3000;
		if (t().mode == Mode::ARM64) {
			c.set_vbar(lay().ram_base); /* RAM of zeros: every vector is udf #0 */
			c.undefined();
			return;
		}
		/*
		 * The #UD handler resets the stack (each delivery pushes a frame)
		 * and executes ud2: write the vector 6 entry pointing at it.
		 */
		const uint64_t handler = lay().ram_base + 0x6000;
		const uint64_t sp = t().mode == Mode::REAL ? 0x1000 : lay().stack;
		if (t().mode == Mode::REAL) {
			c.mem_write(handler, 4, 0xbc | sp << 8);                      /* mov $sp, %sp */
			c.mem_write(handler + 3, 2, 0x0b0f);                          /* ud2 */
		} else {
			c.mem_write(handler, 4, 0xbc | sp << 8);                      /* mov $sp, %esp */
			c.mem_write(handler + 4, 4, (sp >> 24) | 0x0b0f00);           /* ..., ud2 */
		}
		switch (t().mode) {
		case Mode::REAL:
			c.lidt(0x3ff, 0);
			c.mem_write(6 * 4, 4, (handler & 0xf) | (handler >> 4) << 16);
			break;
		case Mode::PROT32:
			c.lidt(0x7ff, table);
			c.mem_write(table + 6 * 8, 4, (handler & 0xffff) | 0x08u << 16);
			c.mem_write(table + 6 * 8 + 4, 4, (handler & 0xffff0000) | 0x8e00);
			break;
		default:
			c.lidt(0xfff, table);
			c.mem_write(table + 6 * 16, 8,
				    (handler & 0xffff) | UINT64_C(0x18) << 16 | UINT64_C(0x8e) << 40 |
					    (handler & 0xffff0000) << 32);
			c.mem_write(table + 6 * 16 + 8, 8, handler >> 32);
			break;
		}
		c.undefined();
	}, [] {
		DrivePolicy p;
		p.budget = std::chrono::milliseconds(50);
		return p;
	}());
	if (t().kvm() && log.last.reason == HVABS_EXIT_INTERNAL)
		return; /* KVM emulating the deliveries gave up: documented */
	EXPECT_TRUE(log.watchdog);
	expect_exit(log, HVABS_EXIT_INTR);
	EXPECT_EQ(1u, log.reasons.size()) << "only INTR exits";
}

INSTANTIATE_TEST_SUITE_P(Targets, Faults, ::testing::ValuesIn(all_targets()),
			 [](const ::testing::TestParamInfo<Target> &i) { return target_ident(i.param); });

} /* namespace */
