/* SPDX-License-Identifier: MIT */
/* tests/hostile/test_runaway.cc: runaway guests (tight loops, waits for interrupts) ended by kicks from threads, signal handlers and timers. */
#include "hostile.h"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

/*
 * A guest in "jmp ." / "b ." never exits. hvabs_vcpu_kick() must end the
 * run with an INTR exit from any thread, and from a signal handler (it is
 * async-signal-safe): a POSIX timer signals the runner thread itself, or
 * another thread. A guest sleeping for interrupts that never come is ended
 * the same way. Nothing but INTR exits may come out.
 */

using namespace hvt;
using namespace hvt::hostile;

namespace {

constexpr int kRounds = 10;

/*
 * ThreadSanitizer delivers asynchronous signals to their handlers only when
 * the thread next passes through its runtime: a thread blocked in a raw
 * futex wait (the sim runner) or in KVM_RUN never runs the handler, so a
 * kick from a signal handler cannot end the run there.
 */
#if defined(__SANITIZE_THREAD__)
#define HVT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HVT_TSAN 1
#endif
#endif
#ifdef HVT_TSAN
#define SKIP_UNDER_TSAN() GTEST_SKIP() << "ThreadSanitizer defers signal handlers of threads in blocking syscalls"
#else
#define SKIP_UNDER_TSAN() (void)0
#endif

/* The vCPU a signal handler kicks (handlers take no arguments). */
std::atomic<hvabs_vcpu *> g_kick_target{ nullptr };
std::atomic<unsigned> g_signals{ 0 };

void kick_handler(int)
{
	hvabs_vcpu *v = g_kick_target.load();
	g_signals++; /* before the kick: the run may end (and be checked) at once */
	if (v)
		hvabs_vcpu_kick(v);
}

pid_t gettid_()
{
	return (pid_t)syscall(SYS_gettid);
}

/* A one-shot POSIX timer whose signal goes to thread @tid and runs kick_handler. */
class KickTimer {
public:
	explicit KickTimer(pid_t tid)
	{
		struct sigaction sa{};
		sa.sa_handler = kick_handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(signo(), &sa, &old_);
		struct sigevent sev{};
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = signo();
		sev._sigev_un._tid = tid;
		ok_ = timer_create(CLOCK_MONOTONIC, &sev, &timer_) == 0;
	}
	~KickTimer()
	{
		if (ok_)
			timer_delete(timer_);
		sigaction(signo(), &old_, nullptr);
	}
	bool ok() const { return ok_; }
	void arm(std::chrono::microseconds after)
	{
		struct itimerspec its{};
		its.it_value.tv_sec = after.count() / 1000000;
		its.it_value.tv_nsec = (after.count() % 1000000) * 1000;
		timer_settime(timer_, 0, &its, nullptr);
	}
	/* Not the kvm backend's kick signal (SIGRTMIN + 5). */
	static int signo() { return SIGRTMIN + 9; }

private:
	timer_t timer_{};
	struct sigaction old_{};
	bool ok_ = false;
};

class Runaway : public ::testing::TestWithParam<Target> {
protected:
	void SetUp() override { HOSTILE_SKIP_UNLESS_USABLE(GetParam()); }
	void TearDown() override { leaks_.expect_clean(target_ident(GetParam())); }

	/* A started VM whose one vCPU runs @emit's code. */
	void boot(Vm &vm, const std::function<void(Code &)> &emit)
	{
		ASSERT_EQ(0, vm.create()) << last_error_text();
		Code c(GetParam().mode, layout(GetParam().mode).code);
		emit(c);
		ASSERT_TRUE(vm.load(c));
		ASSERT_EQ(0, vm.start()) << last_error_text();
	}

	/* One run that must end with INTR; aborts the process if the kick never lands. */
	void expect_intr(hvabs_vcpu *vcpu, const char *how)
	{
		auto run = std::async(std::launch::async, [vcpu] { return hvabs_vcpu_run(vcpu); });
		if (run.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
			fprintf(stderr, "hostile: %s on %s: the kick never ended the run\n", how,
				target_ident(GetParam()).c_str());
			std::abort();
		}
		HV_EXPECT_OK(run.get());
		EXPECT_EQ((uint32_t)HVABS_EXIT_INTR, hvabs_vcpu_exit(vcpu)->reason)
			<< how << ": " << describe_exit(*hvabs_vcpu_exit(vcpu));
	}

	void expect_only_intr(hvabs_vcpu *vcpu, uint64_t n)
	{
		hvabs_vcpu_stats st{};
		hvabs_vcpu_stats_get(vcpu, &st);
		EXPECT_EQ(n, st.exits[HVABS_EXIT_INTR]);
		uint64_t others = 0;
		for (int r = 0; r < HVABS_EXIT_REASON_MAX; r++)
			if (r != HVABS_EXIT_INTR)
				others += st.exits[r];
		EXPECT_EQ(0u, others) << "only INTR exits";
	}

	LeakCheck leaks_;
};

TEST_P(Runaway, TightLoopEndedByKicksFromAnotherThread)
{
	Vm vm(GetParam());
	ASSERT_NO_FATAL_FAILURE(boot(vm, [](Code &c) { c.spin(); }));
	hvabs_vcpu *vcpu = vm.vcpus[0];
	/* A kick before the run: the run returns INTR at once. */
	hvabs_vcpu_kick(vcpu);
	expect_intr(vcpu, "pending kick");
	for (int i = 0; i < kRounds; i++) {
		std::thread kicker([vcpu, i] {
			std::this_thread::sleep_for(std::chrono::microseconds(200 * i));
			hvabs_vcpu_kick(vcpu);
		});
		expect_intr(vcpu, "kick from a thread");
		kicker.join();
	}
	expect_only_intr(vcpu, kRounds + 1);
}

TEST_P(Runaway, TightLoopEndedByATimerSignalToTheRunnerThread)
{
	SKIP_UNDER_TSAN();
	Vm vm(GetParam());
	ASSERT_NO_FATAL_FAILURE(boot(vm, [](Code &c) { c.spin(); }));
	hvabs_vcpu *vcpu = vm.vcpus[0];
	g_kick_target = vcpu;
	for (int i = 0; i < kRounds; i++) {
		/* The handler runs on the thread inside hvabs_vcpu_run(). */
		auto run = std::async(std::launch::async, [&, i] {
			KickTimer timer(gettid_());
			if (!timer.ok())
				return -1000;
			timer.arm(std::chrono::microseconds(500 + 300 * i));
			int ret = hvabs_vcpu_run(vcpu);
			return ret;
		});
		if (run.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
			fprintf(stderr, "hostile: timer kick to the runner never ended the run\n");
			std::abort();
		}
		int ret = run.get();
		ASSERT_NE(-1000, ret) << "timer_create failed";
		HV_EXPECT_OK(ret);
		EXPECT_EQ((uint32_t)HVABS_EXIT_INTR, hvabs_vcpu_exit(vcpu)->reason);
	}
	g_kick_target = nullptr;
	expect_only_intr(vcpu, kRounds);
}

TEST_P(Runaway, TightLoopEndedByATimerSignalToAnotherThread)
{
	SKIP_UNDER_TSAN();
	Vm vm(GetParam());
	ASSERT_NO_FATAL_FAILURE(boot(vm, [](Code &c) { c.spin(); }));
	hvabs_vcpu *vcpu = vm.vcpus[0];
	g_kick_target = vcpu;
	std::atomic<pid_t> tid{ 0 };
	std::atomic<bool> done{ false };
	std::thread sleeper([&] {
		tid = gettid_();
		while (!done)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	});
	while (!tid)
		std::this_thread::yield();
	{
		KickTimer timer(tid);
		ASSERT_TRUE(timer.ok());
		for (int i = 0; i < kRounds; i++) {
			unsigned before = g_signals;
			timer.arm(std::chrono::microseconds(500 + 300 * i));
			expect_intr(vcpu, "timer signal to another thread");
			EXPECT_GT(g_signals.load(), before);
		}
	}
	done = true;
	sleeper.join();
	g_kick_target = nullptr;
	expect_only_intr(vcpu, kRounds);
}

TEST_P(Runaway, WaitForInterruptsThatNeverComeEndedByAKick)
{
	Vm vm(GetParam());
	ASSERT_NO_FATAL_FAILURE(boot(vm, [](Code &c) { c.wait_forever(); }));
	hvabs_vcpu *vcpu = vm.vcpus[0];
	for (int i = 0; i < kRounds; i++) {
		std::thread kicker([vcpu] {
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
			hvabs_vcpu_kick(vcpu);
		});
		expect_intr(vcpu, "kick of a sleeping vCPU");
		kicker.join();
	}
	expect_only_intr(vcpu, kRounds);
}

/* Kicks from many threads at once while the runner loops: every run ends INTR, none hangs. */
TEST_P(Runaway, KickStormFromThreadsAndSignals)
{
	SKIP_UNDER_TSAN();
	Vm vm(GetParam());
	ASSERT_NO_FATAL_FAILURE(boot(vm, [](Code &c) { c.spin(); }));
	hvabs_vcpu *vcpu = vm.vcpus[0];
	g_kick_target = vcpu;
	std::atomic<bool> stop{ false };
	std::atomic<pid_t> runner_tid{ 0 };
	std::atomic<uint64_t> runs{ 0 };
	auto runner = std::async(std::launch::async, [&] {
		runner_tid = gettid_();
		hvabs_exit *e = hvabs_vcpu_exit(vcpu);
		while (!stop) {
			int ret = hvabs_vcpu_run(vcpu);
			if (ret)
				return describe(ret);
			if (e->reason != HVABS_EXIT_INTR)
				return "unexpected " + describe_exit(*e);
			runs++;
		}
		return std::string();
	});
	while (!runner_tid)
		std::this_thread::yield();
	KickTimer handler(runner_tid); /* installs kick_handler for the signals below */
	ASSERT_TRUE(handler.ok());
	std::atomic<bool> kicking{ true };
	std::vector<std::thread> kickers;
	for (int k = 0; k < 2; k++)
		kickers.emplace_back([&] {
			while (kicking)
				hvabs_vcpu_kick(vcpu);
		});
	for (int i = 0; i < 200; i++) {
		syscall(SYS_tgkill, getpid(), runner_tid.load(), KickTimer::signo());
		std::this_thread::sleep_for(std::chrono::microseconds(500));
	}
	stop = true; /* the runner leaves at its next INTR, which the kickers guarantee */
	if (runner.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
		fprintf(stderr, "hostile: kick storm runner hung\n");
		std::abort();
	}
	EXPECT_EQ("", runner.get());
	kicking = false;
	for (std::thread &t : kickers)
		t.join();
	g_kick_target = nullptr;
	EXPECT_GT(runs.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Targets, Runaway, ::testing::ValuesIn(all_targets()),
			 [](const ::testing::TestParamInfo<Target> &i) { return target_ident(i.param); });

} /* namespace */
