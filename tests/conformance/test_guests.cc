/* SPDX-License-Identifier: MIT */
/* tests/conformance/test_guests.cc: conformance - running guests: exits, completion, kicks and resume. */
#include "conformance.h"

#include <atomic>
#include <thread>

using namespace hvt;

namespace {

constexpr uint64_t kDev = kMmioBase + 0x1000;
constexpr uint64_t kMarker = kMmioBase + 0x2000;

} /* namespace */

TEST_P(GuestTest, MmioWriteExitsCarryAddressWidthAndValue)
{
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 1, 0xab)
				 .mmio_write(kDev + 2, 2, 0xbeef)
				 .mmio_write(kDev + 4, 4, 0xdeadbeef)
				 .mmio_write(kDev + 8, 8, 0x0123456789abcdefull);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 1, 0xab));
	EXPECT_EQ(0u, hvabs_vcpu_exit(vcpu)->vcpu_id);
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev + 2, 2, 0xbeef));
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev + 4, 4, 0xdeadbeef));
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev + 8, 8, 0x0123456789abcdefull));
	struct hvabs_vcpu_stats s = stats(vcpu);
	EXPECT_EQ(4u, s.exits[HVABS_EXIT_MMIO]);
	EXPECT_EQ(4u, s.returned);
	EXPECT_EQ(0u, s.dispatched);
}

TEST_P(GuestTest, MmioReadCompletionDeliversExactlyLenBytesToGuest)
{
	const uint64_t v = 0x8877665544332211ull;
	GuestProgram p = GuestProgram()
				 .mmio_read(kDev, 1)
				 .mmio_read(kDev, 2)
				 .mmio_read(kDev, 4)
				 .mmio_read(kDev, 8);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	const uint32_t lens[] = { 1, 2, 4, 8 };
	const uint64_t want[] = { 0x11, 0x2211, 0x44332211, v };
	for (int i = 0; i < 4; i++) {
		ASSERT_NO_FATAL_FAILURE(complete_mmio_read(vcpu, kDev, lens[i], v));
		ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, want[i])) << "len " << lens[i];
	}
}

TEST_P(GuestTest, PioExitsCarryPortSizeAndDataAndReadsComplete)
{
	REQUIRE(has_space(HVABS_SPACE_PIO), "no port I/O");
	GuestProgram p = GuestProgram().pio_write(0x3f8, 1, 0x41).pio_read(0x60, 2).pio_read(0xcfc, 4);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());

	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_PIO, e);
	EXPECT_EQ(0x3f8, e.pio.port);
	EXPECT_EQ(1, e.pio.size);
	EXPECT_EQ(1, e.pio.is_write);
	EXPECT_EQ(1u, e.pio.count);
	ASSERT_NE(nullptr, e.pio.data);
	EXPECT_EQ(0x41, e.pio.data[0]);

	e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_PIO, e);
	EXPECT_EQ(0x60, e.pio.port);
	EXPECT_EQ(2, e.pio.size);
	EXPECT_EQ(0, e.pio.is_write);
	le_store(hvabs_vcpu_exit(vcpu)->pio.data, 2, 0xbeef);
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 0xbeef));

	e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_PIO, e);
	EXPECT_EQ(4, e.pio.size);
	le_store(hvabs_vcpu_exit(vcpu)->pio.data, 4, 0xcafef00d);
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 0xcafef00d));
	EXPECT_EQ(3u, stats(vcpu).exits[HVABS_EXIT_PIO]);
}

TEST_P(GuestTest, HaltReturnsHltExitAndNextRunContinues)
{
	REQUIRE(has_feat(HVABS_FEAT_HLT_EXIT), "HLT is not an exit");
	GuestProgram p = GuestProgram().halt().mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_HLT, e);
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 1));
}

TEST_P(GuestTest, GuestPowerOffGivesStatusWithExitTypeAndReasonOnEveryRun)
{
	GuestProgram p = GuestProgram().exit(HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, 0x030201, 3);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(1, p);
	HV_ASSERT_OK(start());
	for (int i = 0; i < 2; i++) {
		hvabs_exit e = run(vcpu);
		ASSERT_EXIT_REASON(HVABS_EXIT_STATUS, e);
		EXPECT_EQ(1u, e.vcpu_id);
		EXPECT_EQ(HVABS_STATUS_EXITED, e.status.status);
		EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, e.status.exit_type);
		ASSERT_EQ(3u, e.status.reason_size);
		EXPECT_EQ(1, e.status.reason[0]);
		EXPECT_EQ(2, e.status.reason[1]);
		EXPECT_EQ(3, e.status.reason[2]);
	}
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm_, &st);
	EXPECT_EQ(HVABS_VM_EXITED, st.state);
	EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, st.exit_type);
	ASSERT_EQ(3u, st.reason_size);
	EXPECT_EQ(3, st.reason[2]);
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_start(vm_)) << "an EXITED VM cannot start again";
}

TEST_P(GuestTest, EndOfProgramPowersOffWithVmExitAndNoReason)
{
	GuestProgram p = GuestProgram().mmio_write(kMarker, 4, 2);
	REQUIRE_PROGRAM(p);
	if (!kit_->powers_off_at_end())
		GTEST_SKIP() << "kit " << kit_->name() << " cannot power off at the end of a program";
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 2));
	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_STATUS, e);
	EXPECT_EQ(HVABS_STATUS_EXITED, e.status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_VM_EXIT, e.status.exit_type);
	EXPECT_EQ(0u, e.status.reason_size);
}

TEST_P(GuestTest, OtherVcpusSeeStatusOnceTheGuestPoweredOff)
{
	GuestProgram p0 = GuestProgram().exit(HVABS_EXIT_TYPE_PSCI_POWER_OFF);
	GuestProgram p1 = GuestProgram().loop_forever();
	REQUIRE_PROGRAM(p0);
	REQUIRE_PROGRAM(p1);
	hvabs_vcpu *v0 = add_vcpu(0, p0);
	hvabs_vcpu *v1 = add_vcpu(1, p1);
	HV_ASSERT_OK(start());
	hvabs_exit e = run(v0);
	ASSERT_EXIT_REASON(HVABS_EXIT_STATUS, e);
	e = run(v1);
	ASSERT_EXIT_REASON(HVABS_EXIT_STATUS, e);
	EXPECT_EQ(HVABS_STATUS_EXITED, e.status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_POWER_OFF, e.status.exit_type);
}

TEST_P(GuestTest, RunBeforeStartIsESTATE)
{
	GuestProgram p = GuestProgram().mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(vcpu));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 1));
}

TEST_P(GuestTest, VcpuBeyondNrVcpusHasNoResourceAndRunIsESTATE)
{
	hvabs_vm *vm;
	hvabs_vm_options o = vm_options(backend_.c_str());
	GuestProgram p = GuestProgram().mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);

	kit_->adjust_options(&o);
	o.nr_vcpus = 1;
	HV_ASSERT_OK(create_vm(&vm, &o));
	HV_ASSERT_OK(kit_->prepare_vm(vm));
	hvabs_vcpu *v0, *v1;
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v0, vm, 0));
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v1, vm, 1));
	HV_ASSERT_OK(kit_->load(v0, p));
	HV_ASSERT_OK(kit_->load(v1, p));
	HV_ASSERT_OK(kit_->finalize(vm));
	HV_ASSERT_OK(hvabs_vm_start(vm));
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(v1));
	bool timed_out;
	HV_EXPECT_OK(run_bounded(v0, &timed_out));
	EXPECT_EQ((uint32_t)HVABS_EXIT_MMIO, hvabs_vcpu_exit(v0)->reason);
}

TEST_P(GuestTest, KickBeforeRunReturnsIntrOnceThenGuestRuns)
{
	GuestProgram p = GuestProgram().mmio_write(kMarker, 4, 3);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	hvabs_vcpu_kick(vcpu);
	hvabs_vcpu_kick(vcpu); /* kicks do not queue up */
	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_INTR, e);
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 3));
	EXPECT_EQ(1u, stats(vcpu).exits[HVABS_EXIT_INTR]);
}

TEST_P(GuestTest, KickFromAnotherThreadStopsRunawayGuestEachTime)
{
	GuestProgram p = GuestProgram().loop_forever();
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	for (int i = 0; i < 3; i++) {
		/* One kick per run: it stops the loop, or (if early) the run at once. */
		std::thread kicker([&] {
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
			hvabs_vcpu_kick(vcpu);
		});
		hvabs_exit e = run(vcpu); /* a lost kick shows as the watchdog's timeout */
		kicker.join();
		ASSERT_EXIT_REASON(HVABS_EXIT_INTR, e);
	}
	EXPECT_EQ(3u, stats(vcpu).exits[HVABS_EXIT_INTR]);
}

TEST_P(GuestTest, KickWhileGuestWaitsForInterruptReturnsIntrAndGuestKeepsWaiting)
{
	REQUIRE(has_fn(HVABS_FN_IRQFD), "no irqfd");
	GuestProgram p = GuestProgram().wait_irq();
	REQUIRE_PROGRAM(p);
	EventFd &irq = pool_.eventfd();
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, irq.fd(), 4, 0, -1));
	HV_ASSERT_OK(start());
	std::thread kicker([&] {
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		hvabs_vcpu_kick(vcpu);
	});
	hvabs_exit e = run(vcpu);
	kicker.join();
	ASSERT_EXIT_REASON(HVABS_EXIT_INTR, e);
	irq.signal();
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 4));
}

TEST_P(GuestTest, ResumeFaultInjectsAFaultTheGuestObserves)
{
	REQUIRE(has_resume(HVABS_RESUME_FAULT), "no RESUME_FAULT");
	REQUIRE(kit_->reports_faults(), "kit cannot report faults");
	GuestProgram p = GuestProgram().mmio_read(kDev, 4).mmio_write(kMarker, 4, 9);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_MMIO, e);
	EXPECT_EQ(HVABS_RESUME_HANDLED, e.mmio.resume) << "resume is preset to HANDLED";
	hvabs_vcpu_exit(vcpu)->mmio.resume = HVABS_RESUME_FAULT;
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kFaultAddr, 8, 0)) << "op 0 faulted";
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 9));
}

TEST_P(GuestTest, ResumeRetryReissuesTheSameAccess)
{
	REQUIRE(has_resume(HVABS_RESUME_RETRY), "no RESUME_RETRY");
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 0x55).mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 0x55));
	hvabs_vcpu_exit(vcpu)->mmio.resume = HVABS_RESUME_RETRY;
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 0x55));
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 1));
}

TEST_P(GuestTest, ResumeActionOutsideCapsIsENOTSUP)
{
	hvabs_resume missing;
	if (!has_resume(HVABS_RESUME_FAULT))
		missing = HVABS_RESUME_FAULT;
	else if (!has_resume(HVABS_RESUME_RETRY))
		missing = HVABS_RESUME_RETRY;
	else
		GTEST_SKIP() << backend_ << " honours every resume action";
	GuestProgram p = GuestProgram().mmio_read(kDev, 4);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_MMIO, e);
	hvabs_vcpu_exit(vcpu)->mmio.resume = (uint8_t)missing;
	HV_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vcpu_run(vcpu));
}
