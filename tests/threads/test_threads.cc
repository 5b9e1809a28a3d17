/* SPDX-License-Identifier: MIT */
/* tests/threads/test_threads.cc: concurrency - handler churn under dispatch, kick storms, destroy of blocked vCPUs. */
#include "hvabs_test.h"
#include "sim_vm.h"
#include "test_fn.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>
#include <vector>

using namespace hvt;

namespace {

constexpr uint64_t kChurn = kMmioBase;
constexpr uint64_t kStable = kMmioBase + 0x100;
constexpr uint64_t kAck = kMmioBase + 0x200;
constexpr uint32_t kVcpus = 2;

class ThreadTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		SKIP_UNLESS_SIM();
		base_ = hvabs_alloc_count();
		HV_ASSERT_OK(sim_.create());
	}

	void TearDown() override
	{
		sim_.destroy();
		pool_.unregister_types();
		EXPECT_EQ(base_, hvabs_alloc_count());
	}

	hvabs_vm *vm() { return sim_.vm; }

	EventLog log_;
	Pool pool_;
	SimVm sim_;
	size_t base_ = 0;
};

/* Fails the test and aborts when @fut does not finish in time (a deadlock cannot be joined). */
template <typename T> T within(std::future<T> &fut, const char *what, int seconds = 20)
{
	if (fut.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
		fprintf(stderr, "%s did not finish within %d s\n", what, seconds);
		std::abort();
	}
	return fut.get();
}

/* ---- handler churn ---- */

constexpr uint32_t kRing = 1u << 16; /* per-vCPU tally slots: write i counts in slot i % kRing */
constexpr uint32_t kMinWrites = 2000;
constexpr uint32_t kStableEvery = 8;
constexpr uint64_t kMinSwaps = 100;

/* Shared by guests, handlers, runners and the test: every write is tagged (vCPU, index). */
struct Churn {
	std::atomic<uint32_t> seen[kVcpus][kRing];
	std::atomic<uint64_t> by_handler[2];
	std::atomic<uint64_t> returned{ 0 };
	std::atomic<uint64_t> stable{ 0 };
	std::atomic<uint64_t> stable_writes{ 0 };
	std::atomic<uint32_t> guest_writes[kVcpus];
	std::atomic<bool> stop{ false };
	std::atomic<bool> bad_value{ false };

	Churn()
	{
		for (auto &row : seen)
			for (auto &s : row)
				s = 0;
		for (auto &h : by_handler)
			h = 0;
		for (auto &g : guest_writes)
			g = 0;
	}

	void mark(uint64_t value)
	{
		uint32_t v = (uint32_t)(value >> 32), i = (uint32_t)value;
		if (v >= kVcpus) {
			bad_value = true;
			return;
		}
		seen[v][i % kRing]++;
	}
};

struct ChurnHandler {
	Churn *churn;
	int index;
};

int churn_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t data, void *payload)
{
	ChurnHandler *h = static_cast<ChurnHandler *>(payload);
	h->churn->by_handler[h->index]++;
	h->churn->mark(data);
	return 0;
}

int stable_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *payload)
{
	static_cast<Churn *>(payload)->stable++;
	return 0;
}

/*
 * Writes tagged values to kChurn (every kStableEvery-th write also goes to
 * kStable) until told to stop, counts them itself, then halts for good.
 */
void churn_guest(hvabs_sim_guest *g, void *payload)
{
	Churn *c = static_cast<Churn *>(payload);
	uint64_t v = hvabs_vcpu_id(hvabs_sim_guest_vcpu(g));

	for (uint32_t i = 0; i < UINT32_MAX; i++) {
		if (i >= kMinWrites && c->stop)
			break;
		hvabs_sim_guest_mmio_write(g, kChurn, 8, (v << 32) | i);
		c->guest_writes[v]++;
		if (i % kStableEvery == 0) {
			hvabs_sim_guest_mmio_write(g, kStable, 4, i);
			c->stable_writes++;
		}
	}
	for (;;)
		hvabs_sim_guest_halt(g);
}

/* Runs @vcpu until HLT; records churn writes returned to it. Returns a failure text or "". */
std::string churn_runner(hvabs_vcpu *vcpu, Churn *c)
{
	for (;;) {
		int ret = hvabs_vcpu_run(vcpu);
		if (ret)
			return "run: " + describe_code(ret);
		hvabs_exit *e = hvabs_vcpu_exit(vcpu);
		if (e->reason == HVABS_EXIT_HLT)
			return "";
		if (e->reason != HVABS_EXIT_MMIO || !e->mmio.is_write)
			return std::string("unexpected exit ") + hvabs_exit_reason_name(e->reason);
		if (e->mmio.addr != kChurn)
			return "a stable-handler access was returned";
		c->returned++;
		c->mark(le_load(e->mmio.data, 8));
	}
}

} /* namespace */

TEST_F(ThreadTest, HandlerChurnDuringDispatchLosesAndDuplicatesNoAccess)
{
	auto c = std::make_unique<Churn>();
	ChurnHandler ha = { c.get(), 0 }, hb = { c.get(), 1 };
	hvabs_vcpu *vcpus[kVcpus];
	hvabs_io_desc stable = io_desc(HVABS_SPACE_MMIO, kStable, 4, 0, nullptr, stable_write, c.get());
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm(), &stable));
	for (uint32_t v = 0; v < kVcpus; v++)
		HV_ASSERT_OK(sim_.add_vcpu_fn(&vcpus[v], v, churn_guest, c.get()));
	HV_ASSERT_OK(sim_.start());

	std::atomic<uint64_t> swaps{ 0 };
	std::atomic<bool> add_failed{ false };
	std::thread churner([&] {
		hvabs_io_desc da = io_desc(HVABS_SPACE_MMIO, kChurn, 8, 0, nullptr, churn_write, &ha);
		hvabs_io_desc db = io_desc(HVABS_SPACE_MMIO, kChurn, 8, 8, nullptr, churn_write, &hb);
		while (!c->stop) {
			hvabs_io_handler *h = nullptr;
			if (hvabs_vm_io_handler_add(&h, vm(), (swaps % 2) ? &db : &da) != 0) {
				add_failed = true;
				c->stop = true;
				return;
			}
			std::this_thread::yield();
			hvabs_io_handler_remove(h);
			if (++swaps >= kMinSwaps)
				c->stop = true; /* guests finish once they wrote kMinWrites */
		}
	});
	std::vector<std::future<std::string>> runners;
	for (uint32_t v = 0; v < kVcpus; v++)
		runners.push_back(std::async(std::launch::async, churn_runner, vcpus[v], c.get()));
	for (uint32_t v = 0; v < kVcpus; v++)
		EXPECT_EQ("", within(runners[v], "vCPU runner")) << "vCPU " << v;
	c->stop = true;
	churner.join();
	EXPECT_FALSE(add_failed) << "handler add failed while vCPUs ran";

	EXPECT_FALSE(c->bad_value);
	uint64_t total = 0, missing = 0, duplicated = 0, written = 0;
	for (uint32_t v = 0; v < kVcpus; v++) {
		uint32_t n = c->guest_writes[v];
		EXPECT_GE(n, kMinWrites);
		written += n;
		for (uint32_t slot = 0; slot < kRing; slot++) {
			uint32_t want = n / kRing + (slot < n % kRing ? 1 : 0);
			uint32_t k = c->seen[v][slot];
			missing += k < want ? want - k : 0;
			duplicated += k > want ? k - want : 0;
			total += k;
		}
	}
	EXPECT_EQ(0u, missing) << "accesses neither served nor returned";
	EXPECT_EQ(0u, duplicated) << "accesses seen twice";
	EXPECT_EQ(written, total);
	EXPECT_EQ(total, c->by_handler[0] + c->by_handler[1] + c->returned);
	EXPECT_EQ(c->stable_writes.load(), c->stable.load())
		<< "the stable handler served every access while others came and went";
	EXPECT_GE(swaps.load(), kMinSwaps);
	uint64_t dispatched = 0, returned = 0;
	for (uint32_t v = 0; v < kVcpus; v++) {
		struct hvabs_vcpu_stats s {};
		hvabs_vcpu_stats_get(vcpus[v], &s);
		dispatched += s.dispatched;
		returned += s.returned;
	}
	EXPECT_EQ(c->returned.load(), returned);
	EXPECT_EQ(c->by_handler[0] + c->by_handler[1] + c->stable, dispatched);
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(vm()));
}

/* ---- kicks ---- */

namespace {

void runaway_guest(hvabs_sim_guest *g, void *)
{
	for (;;)
		hvabs_sim_guest_yield(g);
}

} /* namespace */

TEST_F(ThreadTest, KickStormOnlyEverYieldsIntrExits)
{
	hvabs_vcpu *vcpus[kVcpus];
	for (uint32_t v = 0; v < kVcpus; v++)
		HV_ASSERT_OK(sim_.add_vcpu_fn(&vcpus[v], v, runaway_guest, nullptr));
	HV_ASSERT_OK(sim_.start());

	std::atomic<bool> stop{ false };
	auto runner = [&](hvabs_vcpu *vcpu) -> std::string {
		uint64_t intrs = 0;
		while (!stop) {
			int ret = hvabs_vcpu_run(vcpu);
			if (ret)
				return "run: " + describe_code(ret);
			uint32_t reason = hvabs_vcpu_exit(vcpu)->reason;
			if (reason != HVABS_EXIT_INTR)
				return std::string("unexpected ") + hvabs_exit_reason_name(reason);
			intrs++;
		}
		return intrs ? "" : "never kicked";
	};
	std::vector<std::future<std::string>> runners;
	for (uint32_t v = 0; v < kVcpus; v++)
		runners.push_back(std::async(std::launch::async, runner, vcpus[v]));
	std::vector<std::thread> kickers;
	std::atomic<bool> kicking{ true };
	for (int k = 0; k < 2; k++)
		kickers.emplace_back([&] {
			while (kicking)
				for (hvabs_vcpu *v : vcpus)
					hvabs_vcpu_kick(v);
		});
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	stop = true; /* runners leave at their next INTR, which the kickers guarantee */
	for (uint32_t v = 0; v < kVcpus; v++)
		EXPECT_EQ("", within(runners[v], "runner under kick storm")) << "vCPU " << v;
	kicking = false;
	for (std::thread &t : kickers)
		t.join();
	for (hvabs_vcpu *v : vcpus) {
		struct hvabs_vcpu_stats s {};
		hvabs_vcpu_stats_get(v, &s);
		EXPECT_GT(s.exits[HVABS_EXIT_INTR], 0u);
		EXPECT_EQ(0u, s.exits[HVABS_EXIT_MMIO] + s.exits[HVABS_EXIT_STATUS]);
	}
}

/* ---- blocking and destroy ---- */

namespace {

struct Waiter {
	std::atomic<int> waiting{ 0 };
	std::atomic<uint64_t> acks{ 0 };
};

/* Announces itself, then sleeps for interrupts forever, acknowledging each at kAck. */
void waiting_guest(hvabs_sim_guest *g, void *payload)
{
	Waiter *w = static_cast<Waiter *>(payload);
	w->waiting++;
	for (;;) {
		uint32_t line = hvabs_sim_guest_wait_irq(g);
		hvabs_sim_guest_eoi(g, line);
		hvabs_sim_guest_mmio_write(g, kAck, 4, line);
	}
}

int ack_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *payload)
{
	static_cast<Waiter *>(payload)->acks++;
	return 0;
}

} /* namespace */

TEST_F(ThreadTest, DestroyWhileVcpusWaitForInterruptsEndsTheirRunsAndFreesAll)
{
	Waiter w;
	hvabs_vcpu *vcpus[kVcpus];
	for (uint32_t v = 0; v < kVcpus; v++)
		HV_ASSERT_OK(sim_.add_vcpu_fn(&vcpus[v], v, waiting_guest, &w));
	EventFd &irq = pool_.eventfd();
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm(), irq.fd(), 3, 0, -1));
	LoggedTicket &t = pool_.ticket(&log_, 9, vm());
	hvabs_ticket_desc td = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(hvabs_vm_ticket_add(nullptr, vm(), &td));
	HV_ASSERT_OK(sim_.start());

	std::vector<std::future<int>> runners;
	for (uint32_t v = 0; v < kVcpus; v++)
		runners.push_back(std::async(std::launch::async, hvabs_vcpu_run, vcpus[v]));
	ASSERT_TRUE(wait_until([&] { return w.waiting.load() == (int)kVcpus; }))
		<< "guests did not start";
	std::this_thread::sleep_for(std::chrono::milliseconds(10)); /* let them block */

	auto destroyer = std::async(std::launch::async, [&] { sim_.destroy(); });
	within(destroyer, "hvabs_vm_destroy with blocked vCPUs");
	for (uint32_t v = 0; v < kVcpus; v++) {
		int ret = within(runners[v], "hvabs_vcpu_run during destroy");
		EXPECT_TRUE(ret == 0 || ret == HVABS_ESTATE) << describe(ret);
	}
	EXPECT_EQ(t.populates.load(), t.unpopulates.load());
	EXPECT_EQ(base_, hvabs_alloc_count());
}

TEST_F(ThreadTest, SecondRunnerOfOneVcpuGetsEBUSY)
{
	Waiter w;
	hvabs_vcpu *vcpu;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&vcpu, 0, waiting_guest, &w));
	EventFd &irq = pool_.eventfd();
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm(), irq.fd(), 3, 0, -1));
	HV_ASSERT_OK(sim_.start());
	auto runner = std::async(std::launch::async, hvabs_vcpu_run, vcpu);
	ASSERT_TRUE(wait_until([&] { return w.waiting.load() == 1; }));
	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_vcpu_run(vcpu));
	irq.signal(); /* the guest acknowledges at kAck, which exits to the first runner */
	HV_EXPECT_OK(within(runner, "first runner"));
	hvabs_exit *e = hvabs_vcpu_exit(vcpu);
	EXPECT_EQ((uint32_t)HVABS_EXIT_MMIO, e->reason);
	EXPECT_EQ(kAck, e->mmio.addr);
	EXPECT_EQ(3u, le_load(e->mmio.data, 4));
}

TEST_F(ThreadTest, EveryIrqfdWriteWakesTheWaitingGuestExactlyOnce)
{
	Waiter w;
	hvabs_vcpu *vcpu;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&vcpu, 0, waiting_guest, &w));
	EventFd &irq = pool_.eventfd();
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm(), irq.fd(), 3, 0, -1));
	hvabs_io_desc d = io_desc(HVABS_SPACE_MMIO, kAck, 4, 0, nullptr, ack_write, &w);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm(), &d));
	HV_ASSERT_OK(sim_.start());
	auto runner = std::async(std::launch::async, hvabs_vcpu_run, vcpu);
	const uint64_t rounds = 500;
	for (uint64_t i = 1; i <= rounds; i++) {
		irq.signal();
		ASSERT_TRUE(wait_until([&] { return w.acks.load() >= i; }, std::chrono::seconds(10)))
			<< "interrupt " << i << " was lost";
	}
	hvabs_vcpu_kick(vcpu);
	HV_EXPECT_OK(within(runner, "runner"));
	EXPECT_EQ((uint32_t)HVABS_EXIT_INTR, hvabs_vcpu_exit(vcpu)->reason);
	EXPECT_EQ(rounds, w.acks.load()) << "no spurious interrupts";
}

TEST_F(ThreadTest, ControlPlaneCallsFromManyThreadsKeepCountsExact)
{
	const uint32_t kType = 0x9100;
	RecordingType &rt = pool_.type(kType, &log_);
	HV_ASSERT_OK(rt.register_type());
	HV_ASSERT_OK(sim_.start());
	const int kThreads = 4, kRounds = 200;
	std::vector<std::future<std::string>> workers;
	for (int t = 0; t < kThreads; t++) {
		workers.push_back(std::async(std::launch::async, [&, t]() -> std::string {
			EventFd efd;
			for (int i = 0; i < kRounds; i++) {
				uint32_t label = (uint32_t)(t * 1000 + i);
				hvabs_function *irq = nullptr;
				if (hvabs_vm_irqfd_add(&irq, vm(), efd.fd(), label, 0, -1))
					return "irqfd add: " + last_error_text();
				RecFnArg a = rec_arg(label, HVABS_RESOURCE_BELL_RX, label, kMmioBase + 0x1000 + 16 * label);
				hvabs_fn_desc d = rt.desc(a);
				if (hvabs_vm_function_add(nullptr, vm(), &d))
					return "function add: " + last_error_text();
				if (hvabs_function_remove(irq))
					return "irqfd remove: " + last_error_text();
				if (hvabs_vm_function_remove(vm(), &d))
					return "function remove: " + last_error_text();
			}
			return "";
		}));
	}
	for (auto &w : workers)
		EXPECT_EQ("", within(w, "control-plane worker"));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm()));
	EXPECT_EQ(0u, hvabs_vm_io_handler_count(vm()));
	EXPECT_EQ(0, rt.live.load());
	EXPECT_EQ(kThreads * kRounds, rt.binds.load());
	EXPECT_EQ(log_.count("populate:5"), log_.count("unpopulate:5"));
}
