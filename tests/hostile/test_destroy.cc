/* SPDX-License-Identifier: MIT */
/* tests/hostile/test_destroy.cc: VMs destroyed while their vCPUs run - tight loops, waits for interrupts, inside a handler, between exit and resume. */
#include "hostile.h"

#include <atomic>
#include <future>
#include <memory>
#include <thread>

/*
 * Two vCPUs run on their own threads (each holding a VM reference, so
 * their calls after the destroy stay memory-safe) while another thread
 * destroys the VM. The destroy must return, every run must end (with
 * documented exits, then HVABS_ESTATE), a slow IO handler must have left
 * its callback before the destroy returns and never be entered again
 * (its payload is freed right after), and nothing may leak.
 */

using namespace hvt;
using namespace hvt::hostile;

namespace {

enum class Doing {
	SPIN,      /* jmp . / b . */
	WAIT,      /* waiting for interrupts that never come */
	HANDLER,   /* looping on MMIO served by a slow handler */
	EXIT_GAP,  /* looping on MMIO exits the runner is slow to complete */
};

constexpr uint64_t kX86Dev = 0xd0000;
constexpr uint64_t kArmDev = 0x0a000000;

/* Payload of the slow handler; freed as soon as the destroy returns. */
struct SlowDevice {
	std::atomic<uint64_t> calls{ 0 };
	std::atomic<bool> *gone;
	std::atomic<bool> *late_call;
};

int slow_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *payload)
{
	SlowDevice *d = static_cast<SlowDevice *>(payload);
	if (d->gone->load())
		d->late_call->store(true);
	d->calls++;
	std::this_thread::sleep_for(std::chrono::milliseconds(3));
	return 0;
}

struct RunnerResult {
	int last_ret = 0;
	uint64_t runs = 0;
	std::vector<std::string> problems;
};

class Destroy : public ::testing::TestWithParam<std::tuple<Target, Doing, Doing>> {
protected:
	void SetUp() override { HOSTILE_SKIP_UNLESS_USABLE(target()); }
	void TearDown() override { leaks_.expect_clean(target_ident(target())); }
	const Target &target() const { return std::get<0>(GetParam()); }

	LeakCheck leaks_;
};

void emit(Code &c, Doing what, uint64_t dev)
{
	switch (what) {
	case Doing::SPIN:
		c.spin();
		break;
	case Doing::WAIT:
		c.wait_forever();
		break;
	case Doing::HANDLER:
	case Doing::EXIT_GAP: {
		uint64_t loop = c.here();
		c.mem_write(dev, 4, 0x600d);
		c.jump_to(loop);
		break;
	}
	}
}

TEST_P(Destroy, WhileVcpusRunEveryRunEndsAndNothingLeaks)
{
	const Target t = target();
	const Doing what[2] = { std::get<1>(GetParam()), std::get<2>(GetParam()) };
	const uint64_t dev = is_x86(t.mode) ? kX86Dev : kArmDev;
	const uint64_t dev_slow = dev + 0x1000; /* vCPU 1 uses its own page */
	std::atomic<bool> gone{ false }, late_call{ false };
	auto slow = std::make_unique<SlowDevice>();
	slow->gone = &gone;
	slow->late_call = &late_call;

	Vm vm(t);
	ASSERT_EQ(0, vm.create(2)) << last_error_text();
	/* Both vCPUs enter at the entry: branch on the id (x86 EDI, arm64 X1) to two programs. */
	const Layout &lay = layout(t.mode);
	Code c(t.mode, lay.code);
	uint64_t second = lay.code + 0x400;
	if (is_x86(t.mode)) {
		if (t.mode == Mode::LONG64 || t.mode == Mode::PROT32)
			c.raw({ 0x85, 0xff }); /* test %edi, %edi */
		else
			c.raw({ 0x66, 0x85, 0xff });
		c.raw({ 0x0f, 0x85 }); /* jnz rel (rel16 in real mode) */
		if (t.mode == Mode::REAL)
			c.u16((uint16_t)(second - (c.here() + 2)));
		else
			c.u32((uint32_t)(second - (c.here() + 4)));
	} else {
		c.insn(0xb5000001u | (uint32_t)((second - c.here()) / 4) << 5); /* cbnz x1, second */
	}
	emit(c, what[0], what[0] == Doing::HANDLER ? dev_slow : dev);
	while (c.here() < second)
		c.u8(is_x86(t.mode) ? 0x90 : 0); /* nop / udf padding, never run */
	emit(c, what[1], what[1] == Doing::HANDLER ? dev_slow + 0x100 : dev + 0x100);
	ASSERT_TRUE(vm.load(c));
	hvabs_io_desc d = io_desc(HVABS_SPACE_MMIO, dev_slow, 0x200, 0, nullptr, slow_write, slow.get());
	ASSERT_EQ(0, hvabs_vm_io_handler_add(nullptr, vm.vm, &d)) << last_error_text();
	ASSERT_EQ(0, vm.start()) << last_error_text();

	std::vector<std::future<RunnerResult>> runners;
	for (int i = 0; i < 2; i++) {
		hvabs_vcpu *vcpu = vm.vcpus[i];
		hvabs_vm *v = vm.vm;
		hvabs_vm_get(v);
		bool gap = what[i] == Doing::EXIT_GAP, hlt = vm.hlt_exits();
		runners.push_back(std::async(std::launch::async, [vcpu, v, gap, t, hlt] {
			RunnerResult r;
			hvabs_exit *e = hvabs_vcpu_exit(vcpu);
			for (;;) {
				int ret = hvabs_vcpu_run(vcpu);
				if (ret) {
					r.last_ret = ret;
					break;
				}
				r.runs++;
				std::string p = exit_problem(t, *e, hlt);
				if (!p.empty())
					r.problems.push_back(p);
				if (gap && e->reason == HVABS_EXIT_MMIO)
					std::this_thread::sleep_for(std::chrono::milliseconds(2));
				if (e->reason == HVABS_EXIT_STATUS)
					r.problems.push_back("the guest stopped: " + describe_exit(*e));
			}
			hvabs_vm_put(v);
			return r;
		}));
	}
	/* Let them get going (the slow handler at least entered once). */
	std::this_thread::sleep_for(std::chrono::milliseconds(30));
	if (what[0] == Doing::HANDLER || what[1] == Doing::HANDLER) {
		ASSERT_TRUE(wait_until([&] { return slow->calls.load() > 0; })) << "the handler never ran";
	}

	auto destroyer = std::async(std::launch::async, [&] { vm.destroy(); });
	if (destroyer.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
		fprintf(stderr, "hostile: hvabs_vm_destroy hung with running vCPUs on %s\n",
			target_ident(t).c_str());
		std::abort();
	}
	gone = true;
	slow.reset(); /* a callback after the destroy would use freed memory (ASan) */
	for (int i = 0; i < 2; i++) {
		if (runners[i].wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
			fprintf(stderr, "hostile: a vCPU run did not end after the destroy\n");
			std::abort();
		}
		RunnerResult r = runners[i].get();
		HV_EXPECT_CODE(HVABS_ESTATE, r.last_ret) << "vCPU " << i;
		for (const std::string &p : r.problems)
			ADD_FAILURE() << "vCPU " << i << ": " << p;
	}
	EXPECT_FALSE(late_call.load()) << "a handler callback ran after hvabs_vm_destroy returned";
}

std::string doing_name(Doing d)
{
	switch (d) {
	case Doing::SPIN: return "spin";
	case Doing::WAIT: return "wait";
	case Doing::HANDLER: return "handler";
	case Doing::EXIT_GAP: return "exitgap";
	}
	return "?";
}

INSTANTIATE_TEST_SUITE_P(
	Targets, Destroy,
	::testing::Combine(::testing::ValuesIn(all_targets()),
			   ::testing::Values(Doing::SPIN, Doing::WAIT, Doing::HANDLER, Doing::EXIT_GAP),
			   ::testing::Values(Doing::SPIN, Doing::HANDLER)),
	[](const ::testing::TestParamInfo<std::tuple<Target, Doing, Doing>> &i) {
		return target_ident(std::get<0>(i.param)) + "_" + doing_name(std::get<1>(i.param)) + "_" +
		       doing_name(std::get<2>(i.param));
	});

} /* namespace */
