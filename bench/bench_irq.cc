/* SPDX-License-Identifier: MIT */
/* bench/bench_irq.cc: irqfd injection latency (eventfd write -> hvabs_sim_guest_wait_irq returns), edge and level. */
#include "bench.h"

#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace hb {
namespace {

constexpr uint32_t kLine = 5;
constexpr uint64_t kSettleNs = 50000; /* the guest is asleep in wait_irq well before the write */

/* Injector: for each sample, wait for the guest to wait, settle, stamp, write. */
void inject(GuestCtx *c, hvabs_vcpu *vcpu, int efd, uint32_t n, std::atomic<bool> *stuck)
{
	const uint64_t one = 1;

	for (uint32_t i = 0; i < n; i++) {
		if (!wait_for(c->irq_ready, i + 1, 5000000000ull))
			break;
		sleep_ns(kSettleNs);
		c->t_raise.store(now_ns());
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			break;
		if (!wait_for(c->irq_done, i + 1, 5000000000ull))
			break;
		if (i + 1 == n)
			return;
	}
	/* The guest never woke: end the run (INTR) instead of hanging. */
	stuck->store(true);
	c->abort.store(true);
	hvabs_vcpu_kick(vcpu);
}

double floor_cached = -1;

void bm_eventfd_floor(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> v;
		uint64_t t0 = now_ns();

		eventfd_floor(pick(3000, 20), v);
		Record r = record_of("floor_eventfd_wakeup", v, 1);
		floor_cached = r.median;
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

void bm_irqfd(benchmark::State &st, const char *name, uint32_t flags)
{
	for (auto _ : st) {
		Rig rig;
		const char *what = "";
		std::vector<double> samples;
		std::atomic<bool> stuck{ false };
		uint32_t n = pick(3000, 20);
		uint64_t t0 = now_ns();
		int ret = rig.init(1, &what);

		if (ret)
			return fail(st, what, ret);
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int rfd = (flags & HVABS_IRQFD_RESAMPLE) ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
		if (efd < 0 || ((flags & HVABS_IRQFD_RESAMPLE) && rfd < 0))
			return st.SkipWithError("eventfd failed");
		ret = hvabs_vm_irqfd_add(nullptr, rig.vm, efd, kLine, flags, rfd);
		if (ret) {
			fail(st, "hvabs_vm_irqfd_add", ret);
		} else {
			GuestCtx *c = rig.ctx[0];

			samples.assign(n, 0.0);
			c->samples = samples.data();
			c->nbatches = n;
			std::thread injector(inject, c, rig.vcpus[0], efd, n, &stuck);
			ret = rig.exec(0, CMD_WAIT_IRQ);
			injector.join();
			if (stuck.load())
				st.SkipWithError("injector timed out: the guest never woke");
			else if (ret)
				fail(st, "wait_irq command", ret);
		}
		if (!ret && !stuck.load()) {
			Record r = record_of(name, samples, 1);
			r.floor_median = floor_cached;
			r.ratio = floor_cached > 0 ? r.median / floor_cached : -1;
			publish(st, r, (double)(now_ns() - t0) * 1e-9);
		}
		/* The guest may still sleep in wait_irq: destroy ends it before the fds close. */
		hvabs_vm_destroy(rig.vm);
		rig.vm = nullptr;
		close(efd);
		if (rfd >= 0)
			close(rfd);
	}
}

} /* namespace */

void register_irq()
{
	reg("floor_eventfd_wakeup", bm_eventfd_floor);
	reg("irqfd_edge_latency",
	    [](benchmark::State &st) { bm_irqfd(st, "irqfd_edge_latency", 0); });
	reg("irqfd_level_latency",
	    [](benchmark::State &st) { bm_irqfd(st, "irqfd_level_latency", HVABS_IRQFD_LEVEL); });
	reg("irqfd_level_resample_latency", [](benchmark::State &st) {
		bm_irqfd(st, "irqfd_level_resample_latency", HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE);
	});
}

} /* namespace hb */
