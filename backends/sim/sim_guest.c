/* SPDX-License-Identifier: MIT */
/* backends/sim/sim_guest.c: sim guest threads, runner/guest handoff and guest accesses. */
#include "sim.h"

#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>

/*
 * Waiting for the other side of the handoff: poll for about SIM_SPIN_NS
 * while the peer is awake (a peer on another CPU answers within it), then
 * yield the CPU a few times (a peer on the same CPU gets to run), then
 * sleep on the futex. The poll is bounded by time, not by a count: a pause
 * takes from a few ns to over 50 ns depending on the CPU, so the count is
 * calibrated once.
 */
#define SIM_SPIN_NS 1000
#define SIM_SPIN_MIN 8
#define SIM_SPIN_MAX 4000
#define SIM_SPIN_PROBE 64
#define SIM_YIELDS 4

static uint64_t sim_len_mask(uint32_t len)
{
	return len >= 8 ? UINT64_MAX : (UINT64_C(1) << (len * 8)) - 1;
}

static bool sim_len_ok(uint32_t len, uint32_t max)
{
	return len && len <= max && !(len & (len - 1));
}

static void sim_put_le(uint8_t *dst, uint64_t val, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		dst[i] = (uint8_t)(val >> (8 * i));
}

static uint64_t sim_get_le(const uint8_t *src, uint32_t len)
{
	uint64_t val = 0;
	uint32_t i;

	for (i = 0; i < len; i++)
		val |= (uint64_t)src[i] << (8 * i);
	return val;
}

/* ---- handoff ---- */

static uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Pauses in SIM_SPIN_NS, measured on first use (a preempted measurement
 * only shortens the poll). Racing first uses store similar values.
 */
static int sim_spin_count(void)
{
	static atomic_int count;
	int n = atomic_load_explicit(&count, memory_order_relaxed);
	uint64_t t0, dt;

	if (n)
		return n;
	t0 = sim_now_ns();
	for (n = 0; n < SIM_SPIN_PROBE; n++)
		sim_cpu_relax();
	dt = sim_now_ns() - t0;
	if (!dt)
		dt = 1;
	n = (int)((uint64_t)SIM_SPIN_NS * SIM_SPIN_PROBE / dt);
	n = n < SIM_SPIN_MIN ? SIM_SPIN_MIN : n > SIM_SPIN_MAX ? SIM_SPIN_MAX : n;
	atomic_store_explicit(&count, n, memory_order_relaxed);
	return n;
}

/* Wait until sv->hstate leaves @val; returns the new value. */
static int sim_handoff_wait(struct sim_vcpu *sv, int val, atomic_int *sleeping, bool spin)
{
	int i, s, nspin = spin ? sim_spin_count() : 0;

	for (i = 0; i < nspin; i++) {
		s = atomic_load_explicit(&sv->hstate, memory_order_acquire);
		if (s != val)
			return s;
		sim_cpu_relax();
	}
	for (i = 0; i < SIM_YIELDS; i++) {
		s = atomic_load_explicit(&sv->hstate, memory_order_acquire);
		if (s != val)
			return s;
		sched_yield();
	}
	atomic_store(sleeping, 1);
	while ((s = atomic_load(&sv->hstate)) == val)
		sim_futex_wait(&sv->hstate, val);
	atomic_store(sleeping, 0);
	return s;
}

/* Hand sv->hstate to the peer; true when the peer was awake (worth polling). */
static bool sim_handoff_give(struct sim_vcpu *sv, int val, atomic_int *peer_sleeping)
{
	atomic_store(&sv->hstate, val);
	if (!atomic_load(peer_sleeping))
		return true;
	sim_futex_wake(&sv->hstate, 1);
	return false;
}

/*
 * Guest side: hand the exit in vcpu->exit to the runner and block until the
 * next run resumes the guest. At teardown the guest thread ends here.
 */
static void sim_guest_post(struct sim_vcpu *sv)
{
	bool spin = sim_handoff_give(sv, SIM_H_RUNNER, &sv->runner_sleeping);

	if (sim_handoff_wait(sv, SIM_H_RUNNER, &sv->guest_sleeping, spin) == SIM_H_DYING)
		pthread_exit(NULL);
}

static struct hvabs_exit *sim_exit_begin(struct sim_vcpu *sv, uint32_t reason)
{
	struct hvabs_exit *e = &sv->base.exit;

	memset(e, 0, sizeof(*e));
	e->reason = reason;
	e->vcpu_id = sv->base.id;
	return e;
}

void sim_guest_preempt_slow(struct sim_vcpu *sv)
{
	while (hvabs__vcpu_kick_take(&sv->base)) {
		sim_exit_begin(sv, HVABS_EXIT_INTR);
		sim_guest_post(sv);
	}
}

/* ---- guest thread lifecycle ---- */

static void *sim_guest_main(void *arg)
{
	struct sim_vcpu *sv = arg;

	sv->fn(&sv->guest, sv->payload);
	hvabs_sim_guest_exit(&sv->guest, false, HVABS_EXIT_TYPE_VM_EXIT, NULL, 0);
	return NULL;
}

static int sim_guest_pick(struct sim_vcpu *sv)
{
	struct hvabs_vcpu *vcpu = &sv->base;

	if (sv->fn)
		return 0;
#ifdef HVABS_HAVE_UNICORN
	if (vcpu->vm->arch != HVABS_ARCH_NONE) {
		sv->fn = sim_engine_guest;
		sv->payload = vcpu;
		return 0;
	}
#endif
	return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME, "vcpu %u has no guest", vcpu->id);
}

/* First run: start the guest thread (signals blocked: it never handles any). */
static int sim_guest_start(struct sim_vcpu *sv)
{
	sigset_t all, old;
	int ret;

	ret = sim_guest_pick(sv);
	if (ret)
		return ret;
	atomic_store(&sv->hstate, SIM_H_GUEST);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&sv->thread, NULL, sim_guest_main, sv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return hvabs__error_set(HVABS_ENOMEM, ret, SIM_NAME,
					"cannot create the guest thread of vcpu %u", sv->base.id);
	atomic_store(&sv->started, true);
	return 0;
}

void sim_guest_stop(struct sim_vcpu *sv)
{
	if (!atomic_load(&sv->started))
		return;
	atomic_store(&sv->hstate, SIM_H_DYING);
	sim_futex_wake(&sv->hstate, INT_MAX);
	atomic_fetch_add(&sv->gwake, 1);
	sim_futex_wake(&sv->gwake, INT_MAX);
	pthread_join(sv->thread, NULL);
	atomic_store(&sv->started, false);
}

/* Validate the caller's completion of the pending MMIO/PIO exit. */
static int sim_completion_check(struct sim_vcpu *sv)
{
	uint8_t resume;

	switch (sv->await) {
	case SIM_AWAIT_MMIO:
		resume = sv->base.exit.mmio.resume;
		break;
	case SIM_AWAIT_PIO:
		resume = sv->base.exit.pio.resume;
		break;
	default:
		return 0;
	}
	if (resume <= HVABS_RESUME_RETRY)
		return 0;
	return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME, "unknown resume action %u", resume);
}

int sim_vcpu_run(struct hvabs_vcpu *vcpu)
{
	struct sim_vcpu *sv = sim_vcpu_of(vcpu);
	bool spin = false;
	int ret;

	ret = sim_fault_check(SIM_OP_VCPU_RUN);
	if (ret)
		return ret;
	if (sv->finished || hvabs__vm_state(vcpu->vm) != HVABS_VM_RUNNING) {
		hvabs__vcpu_fill_status(vcpu, &vcpu->exit);
		return 0;
	}
	if (atomic_load_explicit(&sv->started, memory_order_relaxed)) {
		ret = sim_completion_check(sv);
		if (ret)
			return ret;
		spin = sim_handoff_give(sv, SIM_H_GUEST, &sv->guest_sleeping);
	} else {
		ret = sim_guest_start(sv);
		if (ret)
			return ret;
	}
	sim_handoff_wait(sv, SIM_H_GUEST, &sv->runner_sleeping, spin);
	return 0;
}

/* ---- guest accesses ---- */

/* Post an MMIO/PIO exit; returns the caller's resume action. */
static uint8_t sim_guest_post_access(struct sim_vcpu *sv, enum hvabs_space space, uint64_t addr,
				     uint32_t len, bool is_write, uint64_t *data)
{
	struct hvabs_exit *e;
	uint8_t resume;

	if (space == HVABS_SPACE_MMIO) {
		e = sim_exit_begin(sv, HVABS_EXIT_MMIO);
		e->mmio.addr = addr;
		e->mmio.len = len;
		e->mmio.is_write = is_write;
		e->mmio.resume = HVABS_RESUME_HANDLED;
		if (is_write)
			sim_put_le(e->mmio.data, *data, len);
		sv->await = SIM_AWAIT_MMIO;
	} else {
		e = sim_exit_begin(sv, HVABS_EXIT_PIO);
		memset(sv->pio_buf, 0, sizeof(sv->pio_buf));
		e->pio.port = (uint16_t)addr;
		e->pio.size = (uint8_t)len;
		e->pio.is_write = is_write;
		e->pio.count = 1;
		e->pio.data = sv->pio_buf;
		e->pio.resume = HVABS_RESUME_HANDLED;
		if (is_write)
			sim_put_le(sv->pio_buf, *data, len);
		sv->await = SIM_AWAIT_PIO;
	}
	hvabs__stat_inc(&sv->base.stats.returned);
	sim_guest_post(sv);
	sv->await = SIM_AWAIT_NONE;
	if (space == HVABS_SPACE_MMIO) {
		resume = e->mmio.resume;
		if (!is_write && resume == HVABS_RESUME_HANDLED)
			*data = sim_get_le(e->mmio.data, len);
	} else {
		resume = e->pio.resume;
		if (!is_write && resume == HVABS_RESUME_HANDLED)
			*data = sim_get_le(sv->pio_buf, len);
	}
	return resume;
}

/* An access no IO handler served: exit until HANDLED or FAULT. */
static int __attribute__((noinline))
sim_guest_unhandled(struct sim_vcpu *sv, enum hvabs_space space, uint64_t addr, uint32_t len,
		    bool is_write, uint64_t *data)
{
	uint64_t val = *data;

	for (;;) {
		*data = is_write ? val : 0;
		switch (sim_guest_post_access(sv, space, addr, len, is_write, data)) {
		case HVABS_RESUME_HANDLED:
			return 0;
		case HVABS_RESUME_RETRY:
			break;
		default:
			return -1;
		}
		sim_guest_preempt(sv);
		*data = is_write ? val : 0;
		if (hvabs__io_dispatch(&sv->base, space, addr, len, is_write, data))
			return 0;
	}
}

static inline int sim_guest_read(struct sim_vcpu *sv, enum hvabs_space space, uint64_t addr,
				 uint32_t len, uint64_t *val)
{
	uint64_t data = 0;

	if (!hvabs__io_dispatch(&sv->base, space, addr, len, false, &data) &&
	    sim_guest_unhandled(sv, space, addr, len, false, &data))
		return -1;
	*val = data & sim_len_mask(len);
	return 0;
}

static inline int sim_guest_write(struct sim_vcpu *sv, enum hvabs_space space, uint64_t addr,
				  uint32_t len, uint64_t val)
{
	uint64_t data = val & sim_len_mask(len);

	if (hvabs__io_dispatch(&sv->base, space, addr, len, true, &data))
		return 0;
	data = val & sim_len_mask(len);
	return sim_guest_unhandled(sv, space, addr, len, true, &data);
}

int hvabs_sim_guest_mmio_read(struct hvabs_sim_guest *g, uint64_t addr, uint32_t len, uint64_t *val)
{
	struct sim_vcpu *sv = sim_guest_sv(g);

	sim_guest_preempt(sv);
	if (!sim_len_ok(len, 8))
		return -1;
	return sim_guest_read(sv, HVABS_SPACE_MMIO, addr, len, val);
}

int hvabs_sim_guest_mmio_write(struct hvabs_sim_guest *g, uint64_t addr, uint32_t len, uint64_t val)
{
	struct sim_vcpu *sv = sim_guest_sv(g);

	sim_guest_preempt(sv);
	if (!sim_len_ok(len, 8))
		return -1;
	return sim_guest_write(sv, HVABS_SPACE_MMIO, addr, len, val);
}

int hvabs_sim_guest_pio_read(struct hvabs_sim_guest *g, uint16_t port, uint32_t len, uint32_t *val)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	uint64_t data;

	sim_guest_preempt(sv);
	if (!sim_len_ok(len, 4))
		return -1;
	if (sim_guest_read(sv, HVABS_SPACE_PIO, port, len, &data))
		return -1;
	*val = (uint32_t)data;
	return 0;
}

int hvabs_sim_guest_pio_write(struct hvabs_sim_guest *g, uint16_t port, uint32_t len, uint32_t val)
{
	struct sim_vcpu *sv = sim_guest_sv(g);

	sim_guest_preempt(sv);
	if (!sim_len_ok(len, 4))
		return -1;
	return sim_guest_write(sv, HVABS_SPACE_PIO, port, len, val);
}

/* Largest naturally aligned MMIO access (<= 8 bytes) starting at @gpa. */
static uint32_t sim_mmio_chunk(uint64_t gpa, size_t left)
{
	uint32_t size;

	for (size = 8; size > 1; size >>= 1) {
		if (size <= left && !(gpa & (size - 1)))
			break;
	}
	return size;
}

/*
 * The RAM region holding @gpa and how many of @left bytes it holds there,
 * or NULL outside RAM. Regions only change in LOAD, never while guests run.
 */
static const struct hvabs__region *sim_ram_at(struct sim_vcpu *sv, uint64_t gpa, size_t *left)
{
	const struct hvabs__region *r = hvabs__vm_region_find(sv->base.vm, gpa, 1);
	uint64_t avail;

	if (!r)
		return NULL;
	avail = r->guest_addr + r->size - gpa;
	if (*left > avail)
		*left = (size_t)avail;
	return r;
}

int hvabs_sim_guest_mem_read(struct hvabs_sim_guest *g, uint64_t gpa, void *buf, size_t len)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	const struct hvabs__region *r;
	uint8_t *dst = buf;
	uint64_t val;
	size_t n;

	sim_guest_preempt(sv);
	for (; len; len -= n, gpa += n, dst += n) {
		n = len;
		r = sim_ram_at(sv, gpa, &n);
		if (r) {
			if (!(r->flags & HVABS_MEM_READ))
				return -1;
			memcpy(dst, (const uint8_t *)r->host_addr + (gpa - r->guest_addr), n);
			continue;
		}
		n = sim_mmio_chunk(gpa, len);
		if (sim_guest_read(sv, HVABS_SPACE_MMIO, gpa, (uint32_t)n, &val))
			return -1;
		sim_put_le(dst, val, (uint32_t)n);
	}
	return 0;
}

int hvabs_sim_guest_mem_write(struct hvabs_sim_guest *g, uint64_t gpa, const void *buf, size_t len)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	const struct hvabs__region *r;
	const uint8_t *src = buf;
	size_t n;

	sim_guest_preempt(sv);
	for (; len; len -= n, gpa += n, src += n) {
		n = len;
		r = sim_ram_at(sv, gpa, &n);
		if (r) {
			if (!(r->flags & HVABS_MEM_WRITE))
				return -1;
			memcpy((uint8_t *)r->host_addr + (gpa - r->guest_addr), src, n);
			continue;
		}
		n = sim_mmio_chunk(gpa, len);
		if (sim_guest_write(sv, HVABS_SPACE_MMIO, gpa, (uint32_t)n,
				    sim_get_le(src, (uint32_t)n)))
			return -1;
	}
	return 0;
}

/* ---- other guest events ---- */

void hvabs_sim_guest_halt(struct hvabs_sim_guest *g)
{
	struct sim_vcpu *sv = sim_guest_sv(g);

	sim_guest_preempt(sv);
	sim_exit_begin(sv, HVABS_EXIT_HLT);
	sim_guest_post(sv);
}

/* An unknown @reason is reported as SYSTEM_EVENT. */
void hvabs_sim_guest_system_event(struct hvabs_sim_guest *g, uint32_t reason, uint32_t type)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	struct hvabs_exit *e;

	if (reason != HVABS_EXIT_SHUTDOWN && reason != HVABS_EXIT_RESET)
		reason = HVABS_EXIT_SYSTEM_EVENT;
	sim_guest_preempt(sv);
	e = sim_exit_begin(sv, reason);
	e->system_event.type = type;
	sim_guest_post(sv);
}

void hvabs_sim_guest_exit(struct hvabs_sim_guest *g, bool crashed, uint16_t exit_type,
			  const void *reason, uint32_t reason_size)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	struct hvabs_vcpu *vcpu = &sv->base;

	if (!reason || reason_size > 8)
		reason_size = reason ? 8 : 0;
	hvabs__vm_set_stopped(vcpu->vm, crashed, exit_type, reason, reason_size);
	/* set_stopped kicked this vCPU too; the STATUS exit supersedes it. */
	(void)hvabs__vcpu_kick_take(vcpu);
	hvabs__vcpu_fill_status(vcpu, &vcpu->exit);
	vcpu->exit.vcpu_id = vcpu->id;
	sv->await = SIM_AWAIT_NONE;
	sv->finished = true;
	/* Runs never resume a finished guest: this parks until teardown. */
	for (;;)
		sim_guest_post(sv);
}

void hvabs_sim_guest_yield(struct hvabs_sim_guest *g)
{
	sim_guest_preempt(sim_guest_sv(g));
}

struct hvabs_vcpu *hvabs_sim_guest_vcpu(const struct hvabs_sim_guest *g)
{
	return g->vcpu;
}
