/* SPDX-License-Identifier: MIT */
/* bench/bench_dispatch.cc: callback-guest MMIO and PIO dispatch latency, handler scaling, ioeventfd doorbell, unhandled round trips, 2-vCPU throughput. */
#include "bench.h"

#include <algorithm>
#include <memory>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace hb {
namespace {

constexpr uint32_t kBatch = 64;        /* accesses per timed batch (dispatch, floor) */
constexpr uint32_t kBatchExit = 16;    /* accesses per timed batch (runner round trips) */
constexpr uint64_t kRandomAddrs = 4096; /* random-address table size (power of two) */
constexpr uint16_t kPioPort = 0x10;      /* the PIO handler's port */
constexpr uint64_t kBellAddr = kHandlerBase + 0x200000; /* doorbell case: the ioeventfd */
constexpr uint64_t kBellHandlerAddr = kHandlerBase + 0x201000; /* doorbell case: the IO handler */
const uint32_t kCounts[] = { 1, 10, 100, 1000, 10000, 100000 };

/* One VM, one vCPU; handlers grow from 1 to 100,000 across the cases. */
struct ScaleRig {
	Rig rig;
	std::vector<hvabs_io_handler *> handlers;
	std::vector<uint64_t> addrs;
	std::vector<double> samples;
	double base_h1 = -1; /* dispatch_fixed_h1 median, the scaling reference */
	bool pio = false;    /* the PIO handler is registered */
};

std::unique_ptr<ScaleRig> scale;

ScaleRig *scale_rig(benchmark::State &st)
{
	if (!scale) {
		const char *what = "";
		auto s = std::make_unique<ScaleRig>();
		int ret = s->rig.init(1, &what);

		if (ret) {
			fail(st, what, ret);
			return nullptr;
		}
		scale = std::move(s);
	}
	return scale.get();
}

uint64_t handler_addr(uint64_t i)
{
	return kHandlerBase + i * kHandlerStride;
}

/* Grow or shrink to @n handlers; per-add times (ns) go to @add_ns when given. */
int handlers_resize(ScaleRig *s, uint32_t n, std::vector<double> *add_ns)
{
	while (s->handlers.size() > n) {
		hvabs_io_handler_remove(s->handlers.back());
		s->handlers.pop_back();
	}
	while (s->handlers.size() < n) {
		hvabs_io_handler *h = nullptr;
		uint64_t t0 = now_ns();
		int ret = handler_add(&h, s->rig.vm, handler_addr(s->handlers.size()));
		uint64_t t1 = now_ns();

		if (ret)
			return ret;
		if (add_ns)
			add_ns->push_back((double)(t1 - t0));
		s->handlers.push_back(h);
	}
	return 0;
}

/*
 * Run a batched command on vCPU @i of @rig; samples (ns per op) in @out.
 * Checks where the accesses went: with @served every timed or warm-up
 * access must have been dispatched to a handler (none returned to the
 * runner but the command fetch); without, every one must have been
 * returned. kWrongPath when they went elsewhere.
 */
int run_batched(Rig &rig, unsigned i, Cmd cmd, const std::vector<uint64_t> &addrs, uint32_t batch,
		uint32_t nbatches, std::vector<double> &out, bool served = true)
{
	GuestCtx *c = rig.ctx[i];
	struct hvabs_vcpu_stats s0, s1;

	out.assign(nbatches, 0.0);
	c->batch = batch;
	c->nbatches = nbatches;
	c->warmup = nbatches / 10 + 1;
	c->addrs = addrs.data();
	c->mask = addrs.size() - 1;
	c->samples = out.data();
	hvabs_vcpu_stats_get(rig.vcpus[i], &s0);
	int ret = rig.exec(i, cmd);
	if (ret || cmd == CMD_FLOOR)
		return ret;
	hvabs_vcpu_stats_get(rig.vcpus[i], &s1);
	uint64_t n = (uint64_t)(c->warmup + nbatches) * batch;
	uint64_t dispatched = s1.dispatched - s0.dispatched, returned = s1.returned - s0.returned;
	if (served ? (dispatched != n || returned != 1) : (dispatched != 0 || returned != n + 1))
		return kWrongPath;
	return 0;
}

/* Median of a short floor run next to the case it belongs to. */
int floor_median(Rig &rig, double *out)
{
	std::vector<uint64_t> none{ kHandlerBase };
	std::vector<double> v;
	int ret = run_batched(rig, 0, CMD_FLOOR, none, kBatch, pick(2000, 50), v);

	if (ret)
		return ret;
	*out = stats_of(v).median;
	return 0;
}

void bm_floor(benchmark::State &st)
{
	for (auto _ : st) {
		ScaleRig *s = scale_rig(st);
		std::vector<uint64_t> none{ kHandlerBase };
		uint64_t t0 = now_ns();

		if (!s)
			return;
		int ret = run_batched(s->rig, 0, CMD_FLOOR, none, kBatch, pick(50000, 200), s->samples);
		if (ret)
			return fail(st, "floor command", ret);
		Record r = record_of("floor_indirect_call", s->samples, kBatch);
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/* What timing a single operation costs: one clock_gettime(CLOCK_MONOTONIC) (batched). */
void bm_clock(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> v;
		uint64_t t0 = now_ns();

		for (uint32_t b = 0; b < pick(20000, 100); b++) {
			uint64_t a = now_ns(), x = 0;
			for (uint32_t j = 0; j < kBatch; j++) {
				x += now_ns();
				opaque(x);
			}
			v.push_back((double)(now_ns() - a) / kBatch);
		}
		Record r = record_of("floor_clock_gettime", v, kBatch);
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

void bm_grow(benchmark::State &st, uint32_t n)
{
	for (auto _ : st) {
		ScaleRig *s = scale_rig(st);
		std::vector<double> add_ns;
		uint64_t t0 = now_ns();

		if (!s)
			return;
		int ret = handlers_resize(s, n, &add_ns);
		if (ret)
			return fail(st, "hvabs_vm_io_handler_add", ret);
		Record r = record_of("ctl_io_handler_add_grow_h" + std::to_string(n), add_ns, 1);
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

void bm_dispatch(benchmark::State &st, uint32_t n, bool random, bool write)
{
	for (auto _ : st) {
		ScaleRig *s = scale_rig(st);
		std::string name = std::string("dispatch_") + (write ? "" : "read_") +
				   (random ? "random_h" : "fixed_h") + std::to_string(n);
		double floor = -1;
		uint64_t t0 = now_ns();

		if (!s)
			return;
		int ret = handlers_resize(s, n, nullptr);
		if (ret)
			return fail(st, "hvabs_vm_io_handler_add", ret);
		s->addrs.clear();
		if (random) {
			uint64_t x = 0x9e3779b97f4a7c15ull;
			for (uint64_t i = 0; i < kRandomAddrs; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				s->addrs.push_back(handler_addr(x % n));
			}
		} else {
			s->addrs.push_back(handler_addr(n / 2));
		}
		ret = floor_median(s->rig, &floor);
		if (!ret)
			ret = run_batched(s->rig, 0, write ? CMD_WRITE : CMD_READ, s->addrs, kBatch,
					  pick(50000, 200), s->samples);
		if (ret)
			return fail(st, "dispatch command", ret);
		Record r = record_of(name, s->samples, kBatch);
		r.floor_median = floor;
		if (n == 1 && !random && write)
			s->base_h1 = r.median;
		r.ratio = s->base_h1 > 0 ? r.median / s->base_h1 : -1;
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/*
 * Port I/O served by one PIO handler (port kPioPort, no-op callbacks) on
 * the scaling VM: pio_write (@write) or pio_read, 4 bytes. Ratio as the
 * MMIO cases: / dispatch_fixed_h1 (MMIO) median.
 */
void bm_dispatch_pio(benchmark::State &st, bool write)
{
	for (auto _ : st) {
		ScaleRig *s = scale_rig(st);
		std::string name = write ? "dispatch_pio_fixed_h1" : "dispatch_pio_read_fixed_h1";
		std::vector<uint64_t> ports{ kPioPort };
		double floor = -1;
		uint64_t t0 = now_ns();
		int ret = 0;

		if (!s)
			return;
		if (!s->pio) {
			hvabs_io_desc d{};

			d.version = HVABS_IO_DESC_VERSION;
			d.space = HVABS_SPACE_PIO;
			d.addr = kPioPort;
			d.size = 4;
			d.read = noop_read;
			d.write = noop_write;
			ret = hvabs_vm_io_handler_add(nullptr, s->rig.vm, &d);
			if (ret)
				return fail(st, "hvabs_vm_io_handler_add (PIO)", ret);
			s->pio = true;
		}
		ret = floor_median(s->rig, &floor);
		if (!ret)
			ret = run_batched(s->rig, 0, write ? CMD_PIO_WRITE : CMD_PIO_READ, ports, kBatch,
					  pick(50000, 200), s->samples);
		if (ret)
			return fail(st, "PIO dispatch command", ret);
		Record r = record_of(name, s->samples, kBatch);
		r.floor_median = floor;
		r.ratio = s->base_h1 > 0 ? r.median / s->base_h1 : -1;
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/*
 * ioeventfd doorbell vs the same 4-byte write to a no-op IO handler, in
 * alternating rounds on one VM. sim's ioeventfd is core's generic one (an
 * IO handler whose callback writes the eventfd), so the difference is the
 * eventfd write. The handler's median is the doorbell's reference
 * (floor_median; ratio = doorbell / handler).
 */
void bm_doorbell(benchmark::State &st)
{
	for (auto _ : st) {
		Rig rig;
		const char *what = "";
		std::vector<double> bell, hand, v;
		std::vector<uint64_t> bell_addr{ kBellAddr }, hand_addr{ kBellHandlerAddr };
		uint64_t t0 = now_ns();
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int ret = efd < 0 ? HVABS_EIO : rig.init(1, &what);

		if (!ret) {
			what = "hvabs_vm_ioeventfd_add";
			ret = hvabs_vm_ioeventfd_add(nullptr, rig.vm, HVABS_SPACE_MMIO, kBellAddr, 4, efd, 0, 0);
		}
		if (!ret) {
			what = "hvabs_vm_io_handler_add";
			ret = handler_add(nullptr, rig.vm, kBellHandlerAddr);
		}
		for (uint32_t r = 0; !ret && r < pick(6, 1); r++) {
			uint64_t signalled = 0;

			what = "doorbell command";
			ret = run_batched(rig, 0, CMD_WRITE, bell_addr, kBatch, pick(400, 20), v);
			bell.insert(bell.end(), v.begin(), v.end());
			/* every doorbell write (timed and warm-up) signalled the eventfd */
			if (!ret && (read(efd, &signalled, sizeof(signalled)) != sizeof(signalled) ||
				     signalled != (uint64_t)(pick(400, 20) + pick(400, 20) / 10 + 1) * kBatch))
				ret = kWrongPath;
			if (!ret)
				ret = run_batched(rig, 0, CMD_WRITE, hand_addr, kBatch, pick(400, 20), v);
			hand.insert(hand.end(), v.begin(), v.end());
		}
		/* the guest may be parked: destroy before the eventfd closes */
		hvabs_vm_destroy(rig.vm);
		rig.vm = nullptr;
		if (efd >= 0)
			close(efd);
		if (ret)
			return fail(st, what, ret);
		Record h = record_of("doorbell_handler", hand, kBatch);
		Record b = record_of("doorbell_ioeventfd", bell, kBatch);
		b.floor_median = h.median;
		b.ratio = b.median / h.median;
		store_record("doorbell_handler", h);
		store_record("doorbell_ioeventfd", b);
		publish_stored(st, "doorbell_ioeventfd", (double)(now_ns() - t0) * 1e-9);
	}
}

/* Add+remove pairs of one IO handler while @n others are registered. */
void bm_handler_pair(benchmark::State &st, uint32_t n)
{
	for (auto _ : st) {
		ScaleRig *s = scale_rig(st);
		std::vector<double> v;
		uint32_t pairs = pick(5000, 20);
		uint64_t t0 = now_ns();

		if (!s)
			return;
		int ret = handlers_resize(s, n, nullptr);
		if (ret)
			return fail(st, "hvabs_vm_io_handler_add", ret);
		for (uint32_t i = 0; i < pairs; i++) {
			hvabs_io_handler *h = nullptr;
			/* free addresses, alternately below the first and above the last handler */
			uint64_t addr = handler_addr(i & 1 ? n + 8 : 0) - (i & 1 ? 0 : kHandlerStride);
			uint64_t a = now_ns();

			ret = handler_add(&h, s->rig.vm, addr);
			if (ret)
				return fail(st, "hvabs_vm_io_handler_add", ret);
			hvabs_io_handler_remove(h);
			v.push_back((double)(now_ns() - a));
		}
		Record r = record_of("ctl_io_handler_add_remove_h" + std::to_string(n), v, 1);
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- unhandled accesses: guest -> runner thread -> guest ---- */

/* Floor: a round trip between two threads through one shared atomic (both spin). */
int pingpong(uint32_t batch, uint32_t nbatches, std::vector<double> &out)
{
	std::atomic<int> word{ 0 };
	std::atomic<bool> stop{ false };
	std::thread peer([&] {
		while (!stop.load(std::memory_order_relaxed)) {
			if (word.load(std::memory_order_acquire) == 1)
				word.store(0, std::memory_order_release);
		}
	});

	out.clear();
	for (uint32_t b = 0; b < nbatches + nbatches / 10 + 1; b++) {
		uint64_t t0 = now_ns();
		for (uint32_t j = 0; j < batch; j++) {
			word.store(1, std::memory_order_release);
			while (word.load(std::memory_order_acquire) != 0)
				;
		}
		uint64_t t1 = now_ns();
		if (b > nbatches / 10)
			out.push_back((double)(t1 - t0) / batch);
	}
	stop.store(true);
	peer.join();
	return 0;
}

void bm_no_handler(benchmark::State &st)
{
	for (auto _ : st) {
		ScaleRig *s = scale_rig(st);
		std::vector<uint64_t> addrs{ kNoHandlerAddr };
		std::vector<double> floor;
		uint64_t t0 = now_ns();

		if (!s)
			return;
		pingpong(kBatchExit, pick(2000, 20), floor);
		double fm = stats_of(floor).median;
		int ret = run_batched(s->rig, 0, CMD_WRITE, addrs, kBatchExit, pick(20000, 50),
				      s->samples, false);
		if (ret)
			return fail(st, "unhandled access command", ret);
		Record r = record_of("access_no_handler", s->samples, kBatchExit);
		r.floor_median = fm;
		r.ratio = r.median / fm;
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

void bm_pingpong(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> v;
		uint64_t t0 = now_ns();

		pingpong(kBatchExit, pick(20000, 50), v);
		Record r = record_of("floor_thread_pingpong", v, kBatchExit);
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- 1 -> 2 vCPU threads dispatching at once ---- */

struct Tput {
	double one = -1, two = -1, two_vms = -1, ratio = -1, vm_ratio = -1, machine = -1;
	std::vector<double> ones, twos, vms, ratios, vm_ratios, machine_ratios;
	std::vector<double> free_ratios; /* rounds where the machine itself scaled >= 1.9x */
};
Tput tput;

/* One vCPU taking part in a throughput measurement. */
struct Lane {
	Rig *rig;
	unsigned i;
};

/* Accesses per second of @lanes running CMD_THROUGHPUT together (one runner thread each). */
int throughput(const std::vector<Lane> &lanes, uint64_t count, double *out)
{
	std::atomic<int> barrier{ 0 };
	std::vector<struct hvabs_vcpu_stats> s0(lanes.size()), s1(lanes.size());
	std::vector<int> rets(lanes.size(), 0);
	std::vector<std::thread> threads;
	uint64_t start = UINT64_MAX, end = 0;

	for (size_t k = 0; k < lanes.size(); k++) {
		GuestCtx *c = lanes[k].rig->ctx[lanes[k].i];

		c->count = count;
		c->barrier = &barrier;
		c->parties = (int)lanes.size();
		hvabs_vcpu_stats_get(lanes[k].rig->vcpus[lanes[k].i], &s0[k]);
	}
	for (size_t k = 0; k < lanes.size(); k++)
		threads.emplace_back([&, k] { rets[k] = lanes[k].rig->exec(lanes[k].i, CMD_THROUGHPUT); });
	for (auto &t : threads)
		t.join();
	for (size_t k = 0; k < lanes.size(); k++) {
		GuestCtx *c = lanes[k].rig->ctx[lanes[k].i];

		if (rets[k])
			return rets[k];
		hvabs_vcpu_stats_get(lanes[k].rig->vcpus[lanes[k].i], &s1[k]);
		if (s1[k].dispatched - s0[k].dispatched != count)
			return kWrongPath; /* not every access was served by its handler */
		start = std::min(start, c->t_start);
		end = std::max(end, c->t_end);
	}
	*out = (double)(count * lanes.size()) / ((double)(end - start) * 1e-9);
	return 0;
}

/* Give vCPU @i of @rig its own handler (4 KiB from any other: nothing shared but the table). */
int lane_handler(Rig &rig, unsigned i, uint64_t addr, std::vector<uint64_t> &addrs)
{
	int ret = handler_add(nullptr, rig.vm, addr);

	addrs.assign(1, addr);
	rig.ctx[i]->addrs = addrs.data();
	rig.ctx[i]->mask = 0;
	return ret;
}

/*
 * Rounds of: 1 vCPU alone; 2 vCPUs of one VM at once; 2 VMs of one vCPU
 * each at once (nothing shared but the process); the machine's own
 * 2-thread scaling. Alternating keeps all four under the same machine load.
 */
int throughput_rounds(benchmark::State &st)
{
	Rig rig, other;
	const char *what = "";
	std::vector<std::vector<uint64_t>> addrs(3);
	int ret = rig.init(2, &what);

	if (!ret)
		ret = other.init(1, &what);
	if (ret) {
		fail(st, what, ret);
		return ret;
	}
	ret = lane_handler(rig, 0, kHandlerBase + 0x100000, addrs[0]);
	if (!ret)
		ret = lane_handler(rig, 1, kHandlerBase + 0x101000, addrs[1]);
	if (!ret)
		ret = lane_handler(other, 0, kHandlerBase + 0x102000, addrs[2]);
	if (ret) {
		fail(st, "hvabs_vm_io_handler_add", ret);
		return ret;
	}
	tput = Tput();
	uint64_t count = pick(1000000, 20000);
	for (uint32_t round = 0; round < pick(31, 1); round++) {
		double one, two, vms;

		ret = throughput({ { &rig, 0 } }, count, &one);
		if (!ret)
			ret = throughput({ { &rig, 0 }, { &rig, 1 } }, count, &two);
		if (!ret)
			ret = throughput({ { &rig, 0 }, { &other, 0 } }, count, &vms);
		if (ret) {
			fail(st, "throughput command", ret);
			return ret;
		}
		tput.ones.push_back(one * 1e-6);
		tput.twos.push_back(two * 1e-6);
		tput.vms.push_back(vms * 1e-6);
		tput.ratios.push_back(two / one);
		tput.vm_ratios.push_back(vms / one);
		tput.machine_ratios.push_back(compute_rate(2, count * 4) / compute_rate(1, count * 4));
		if (tput.machine_ratios.back() >= 1.9)
			tput.free_ratios.push_back(two / one);
	}
	raw_dump("floor_2thread_scaling", tput.machine_ratios);
	raw_dump("throughput_1vcpu", tput.ones);
	raw_dump("throughput_2vcpu", tput.twos);
	raw_dump("throughput_2vms", tput.vms);
	tput.machine = stats_of(tput.machine_ratios).median;
	tput.one = stats_of(tput.ones).median;
	tput.two = stats_of(tput.twos).median;
	tput.two_vms = stats_of(tput.vms).median;
	tput.ratio = stats_of(tput.ratios).median;
	tput.vm_ratio = stats_of(tput.vm_ratios).median;
	return 0;
}

/* @what: 1 (one vCPU), 2 (two vCPUs of one VM), 3 (two VMs). */
void bm_throughput(benchmark::State &st, unsigned what)
{
	for (auto _ : st) {
		uint64_t t0 = now_ns();

		if (what == 1 && throughput_rounds(st))
			return;
		if (tput.one < 0)
			return st.SkipWithError("throughput_1vcpu did not run");
		Record r;
		r.unit = "Maccess/s";
		r.median = what == 1 ? tput.one : what == 2 ? tput.two : tput.two_vms;
		r.samples = (double)tput.ones.size();
		r.batch = 1;
		/* ratio: median of the per-round ratios (this case / 1 vCPU) */
		r.ratio = what == 1 ? 1.0 : what == 2 ? tput.ratio : tput.vm_ratio;
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/* The 2-vCPU ratio over the rounds in which the machine gave the bench two free CPUs. */
void bm_throughput_free(benchmark::State &st)
{
	for (auto _ : st) {
		if (tput.machine < 0)
			return st.SkipWithError("throughput_1vcpu did not run");
		Record r;
		r.unit = "x";
		r.samples = (double)tput.free_ratios.size();
		r.batch = 1;
		if (!tput.free_ratios.empty()) {
			std::vector<double> v = tput.free_ratios;
			r.median = stats_of(v).median;
			r.ratio = r.median;
		}
		publish(st, r, 1e-9);
	}
}

void bm_machine_scaling(benchmark::State &st)
{
	for (auto _ : st) {
		if (tput.machine < 0)
			return st.SkipWithError("throughput_1vcpu did not run");
		Record r;
		r.unit = "x";
		r.median = tput.machine;
		r.samples = (double)tput.machine_ratios.size();
		r.batch = 1;
		publish(st, r, 1e-9);
	}
}

void bm_scale_teardown(benchmark::State &st)
{
	for (auto _ : st) {
		uint64_t t0 = now_ns();

		scale.reset();
		Record r;
		r.unit = "ns";
		r.median = (double)(now_ns() - t0);
		r.samples = 1;
		r.batch = 1;
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

} /* namespace */

void register_dispatch()
{
	reg("floor_clock_gettime", bm_clock);
	reg("floor_indirect_call", bm_floor);
	reg("dispatch_fixed_h1", [](benchmark::State &st) { bm_dispatch(st, 1, false, true); });
	reg("dispatch_read_fixed_h1", [](benchmark::State &st) { bm_dispatch(st, 1, false, false); });
	reg("dispatch_pio_fixed_h1", [](benchmark::State &st) { bm_dispatch_pio(st, true); });
	reg("dispatch_pio_read_fixed_h1", [](benchmark::State &st) { bm_dispatch_pio(st, false); });
	reg("doorbell_ioeventfd", bm_doorbell);
	reg_stored("doorbell_handler");
	reg("floor_thread_pingpong", bm_pingpong);
	reg("access_no_handler", bm_no_handler);
	for (uint32_t n : kCounts) {
		std::string h = std::to_string(n);

		if (n > 1) {
			reg("ctl_io_handler_add_grow_h" + h, [n](benchmark::State &st) { bm_grow(st, n); });
			reg("dispatch_fixed_h" + h,
			    [n](benchmark::State &st) { bm_dispatch(st, n, false, true); });
		}
		reg("dispatch_random_h" + h, [n](benchmark::State &st) { bm_dispatch(st, n, true, true); });
		if (n == 1 || n == 100000)
			reg("ctl_io_handler_add_remove_h" + h,
			    [n](benchmark::State &st) { bm_handler_pair(st, n); });
	}
	reg("dispatch_read_fixed_h100000",
	    [](benchmark::State &st) { bm_dispatch(st, 100000, false, false); });
	reg("vm_destroy_h100000", bm_scale_teardown);
	reg("throughput_1vcpu", [](benchmark::State &st) { bm_throughput(st, 1); });
	reg("throughput_2vcpu", [](benchmark::State &st) { bm_throughput(st, 2); });
	reg("throughput_2vms", [](benchmark::State &st) { bm_throughput(st, 3); });
	reg("floor_2thread_scaling", bm_machine_scaling);
	reg("throughput_2vcpu_free_cpus", bm_throughput_free);
}

} /* namespace hb */
