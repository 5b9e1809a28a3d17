/* SPDX-License-Identifier: MIT */
/* backends/sim/sim.h: sim backend internals shared by its files (not installed). */
#ifndef HVABS_SIM_INTERNAL_H
#define HVABS_SIM_INTERNAL_H

#include "internal.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Execution model: every sim vCPU has a guest thread (created at its first
 * run) that executes the guest - a callback guest (hvabs_sim_guest_fn) or
 * the Unicorn engine, which is itself a guest function built on the
 * hvabs_sim_guest_*() calls. The guest thread runs only while a caller is
 * inside hvabs_vcpu_run(): accesses served by IO handlers are dispatched on
 * the guest thread; any other exit is handed to the runner, and the guest
 * thread blocks until the next run completes it.
 *
 * Handoff: sim_vcpu.hstate says who owns the vCPU. The runner stores GUEST
 * and waits for RUNNER; the guest fills vcpu->exit, stores RUNNER and waits
 * for GUEST (or DYING at teardown, where the blocked guest call ends the
 * guest thread with pthread_exit()). The waiting side polls briefly while
 * its peer is awake, yields a few times, then sleeps on a futex; a wake
 * syscall is made only when the other side announced it sleeps.
 * Release/acquire on hstate orders vcpu->exit between the threads.
 *
 * Preemption: every guest call first checks vcpu->kick (one relaxed load);
 * a kick becomes an INTR exit there. A guest sleeping in wait_irq sleeps on
 * the futex gwake, which kicks, interrupts and teardown bump.
 *
 * Interrupt controller (sim_irq.c): one line per BELL_TX doorbell, numbered
 * by its label. When a line becomes deliverable it is routed to one vCPU:
 * the lowest-id vCPU inside hvabs_sim_guest_wait_irq(), else the lowest-id
 * vCPU of the VM (vCPU 0 normally); only that vCPU acknowledges it (a
 * removed vCPU's lines are routed again). Lines are acknowledged lowest
 * label first; acknowledging moves pending -> active, EOI clears active.
 *   edge:  raise sets pending (raises coalesce while pending); a pending
 *          edge line is deliverable even while active (no EOI needed).
 *   level: deliverable while pending and not active. An irqfd signal
 *          asserts the line and makes it pending unless active.
 *          RESAMPLE: the line stays asserted until EOI, which deasserts it
 *          and writes 1 to the resample eventfd (KVM). Without RESAMPLE
 *          the acknowledge consumes the assertion (Gunyah: the guest's
 *          ack clears the doorbell), and a signal while active leaves the
 *          line asserted so that EOI makes it pending again.
 *
 * Lock order: vm->lock (core) > sim_vm.irq_lock. The irqfd thread and
 * guest threads take only irq_lock, never vm->lock.
 */

#define SIM_MAX_VCPUS 64u
#define SIM_NAME "sim"

/* sim_vcpu.hstate */
enum sim_hstate {
	SIM_H_GUEST = 0, /* the guest thread may run; a runner waits */
	SIM_H_RUNNER = 1, /* an exit is posted; the guest thread waits */
	SIM_H_DYING = 2, /* teardown: the guest thread ends */
};

/* Completion the guest waits for (validated by the next run). */
enum sim_await {
	SIM_AWAIT_NONE = 0,
	SIM_AWAIT_MMIO = 1,
	SIM_AWAIT_PIO = 2,
};

typedef void (*sim_notify_fn)(void *ctx);

struct hvabs_sim_guest {
	struct hvabs_vcpu *vcpu;
};

struct sim_vcpu {
	struct hvabs_vcpu base; /* first: core's object */
	struct hvabs_sim_guest guest;

	/* Guest function; fixed before the guest thread starts. */
	hvabs_sim_guest_fn fn;
	void *payload;
	atomic_bool started;
	pthread_t thread;

	/*
	 * Handoff between runner and guest thread. The gap keeps the word a
	 * waiting runner polls off the cache lines the guest's fast path
	 * writes (core's vCPU statistics and IO generation).
	 */
	char gap[64];
	atomic_int hstate;
	atomic_int runner_sleeping;
	atomic_int guest_sleeping;
	/* Written by the guest before posting, read by the runner after. */
	enum sim_await await;
	bool finished; /* guest powered the VM off; its thread is parked */
	uint8_t pio_buf[8];

	/* Sleep in wait_irq, woken by kicks, interrupts and teardown. */
	atomic_int gwake;
	atomic_int gsleep;
	atomic_bool irq_waiting;
	atomic_uint irq_pending; /* deliverable lines routed here */
	struct hvabs__list irq_node; /* sim_vm.vcpus, by id; irq_lock */
	bool irq_registered;

	_Atomic(sim_notify_fn) notify_fn;
	_Atomic(void *) notify_ctx;
};

struct sim_line;

struct sim_vm {
	struct hvabs_vm base; /* first: core's object */
	pthread_mutex_t irq_lock;
	struct hvabs__list lines; /* struct sim_line */
	struct hvabs__list vcpus; /* registered sim_vcpus, by id */
	/* irqfd: one thread epolls every armed eventfd (created lazily). */
	struct hvabs__list irqfds;
	uint64_t irqfd_seq;
	int epfd;
	int wakefd;
	bool irqfd_thread_on;
	bool irqfd_stop;
	bool irq_ready; /* irq_lock initialised */
	pthread_t irqfd_thread;
};

static inline struct sim_vcpu *sim_vcpu_of(struct hvabs_vcpu *vcpu)
{
	return hvabs__container_of(vcpu, struct sim_vcpu, base);
}

static inline struct sim_vm *sim_vm_of(struct hvabs_vm *vm)
{
	return hvabs__container_of(vm, struct sim_vm, base);
}

static inline struct sim_vcpu *sim_guest_sv(struct hvabs_sim_guest *g)
{
	return hvabs__container_of(g, struct sim_vcpu, guest);
}

static inline void sim_futex_wait(atomic_int *addr, int val)
{
	(void)syscall(SYS_futex, (void *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static inline void sim_futex_wake(atomic_int *addr, int nr)
{
	(void)syscall(SYS_futex, (void *)addr, FUTEX_WAKE_PRIVATE, nr, NULL, NULL, 0);
}

static inline void sim_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- sim.c ---- */

extern const struct hvabs__backend_ops hvabs__sim_backend;

/* ---- sim_fault.c: fault injection (process-wide) ---- */

enum sim_op {
	SIM_OP_VM_CREATE,
	SIM_OP_VM_DESTROY,
	SIM_OP_MEM_ADD,
	SIM_OP_MEM_REMOVE,
	SIM_OP_VM_START,
	SIM_OP_VCPU_CREATE,
	SIM_OP_VCPU_RUN,
	SIM_OP_IRQFD_ASSIGN,
	SIM_OP_IOEVENTFD_ASSIGN,
	SIM_OP_RESOURCE_CREATE,
	SIM_OP_COUNT,
};

/* Count a call of @op; fail it (error detail set) when it is the armed one. */
int sim_fault_check(enum sim_op op) HVABS_MUST_CHECK;
/* Count a call of an op that cannot fail (an armed fault is consumed). */
void sim_fault_count(enum sim_op op);

/* ---- sim_guest.c: guest thread, handoff, guest accesses ---- */

int sim_vcpu_run(struct hvabs_vcpu *vcpu) HVABS_MUST_CHECK;
/* End the guest thread wherever it blocks and join it (vcpu_fini). */
void sim_guest_stop(struct sim_vcpu *sv);
/* Turn pending kicks into INTR exits (returns on the run after them). */
void sim_guest_preempt_slow(struct sim_vcpu *sv);

static inline void sim_guest_preempt(struct sim_vcpu *sv)
{
	if (atomic_load_explicit(&sv->base.kick, memory_order_relaxed))
		sim_guest_preempt_slow(sv);
}

/* ---- sim_irq.c: interrupt controller and irqfds ---- */

int sim_irq_init(struct sim_vm *svm) HVABS_MUST_CHECK;
void sim_irq_fini(struct sim_vm *svm);
void sim_irq_vcpu_register(struct sim_vcpu *sv);
void sim_irq_vcpu_unregister(struct sim_vcpu *sv);
int sim_irq_line_create(struct sim_vm *svm, uint32_t label, void **priv_out) HVABS_MUST_CHECK;
void sim_irq_line_destroy(struct sim_vm *svm, void *priv);
void sim_irq_line_raise(struct sim_vm *svm, void *priv);
int sim_irqfd_assign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
		     const struct hvabs_resource *res) HVABS_MUST_CHECK;
void sim_irqfd_deassign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			const struct hvabs_resource *res);
/* Join the irqfd thread; later irqfd assigns fail. Idempotent. */
void sim_irqfd_stop(struct sim_vm *svm);
/* Wake @sv's wait_irq and call its notify hook (async-signal-safe). */
void sim_vcpu_wake(struct sim_vcpu *sv);

/*
 * Notification hook for engines: @fn(@ctx) is called, from any thread
 * (including signal-free contexts of other vCPUs and the irqfd thread),
 * whenever an interrupt becomes pending for @vcpu or @vcpu is kicked, so an
 * engine busy in guest code can stop (uc_emu_stop) and call
 * hvabs_sim_guest_yield()/hvabs_sim_guest_poll_irq(). NULL clears it.
 * Must be set from the guest thread itself. @fn runs inside
 * hvabs_vcpu_kick(), which may be called from a signal handler, so it must
 * be async-signal-safe; it may still be called once by a racing raise after
 * being cleared, so @ctx must stay valid until the vCPU is removed.
 */
void sim_vcpu_set_notify(struct hvabs_vcpu *vcpu, void (*fn)(void *ctx), void *ctx);

/* True when an interrupt is pending for @vcpu (cheap, lock-free read). */
bool sim_vcpu_irq_pending(struct hvabs_vcpu *vcpu);

/*
 * Real-guest engine (backends/sim/sim_engine_uc*.c, compiled with
 * HVABS_SIM_UNICORN). The guest function a vCPU of a VM whose arch is not
 * HVABS_ARCH_NONE runs when no callback guest was set. Payload: the vCPU.
 */
#ifdef HVABS_HAVE_UNICORN
void sim_engine_guest(struct hvabs_sim_guest *g, void *payload);
/* Backend checks at vm_init/start (e.g. arch supported). */
int sim_engine_check_vm(struct hvabs_vm *vm);
#endif

#endif
