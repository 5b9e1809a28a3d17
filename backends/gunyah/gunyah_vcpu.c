/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_vcpu.c: Gunyah backend - vCPU functions, the GH_VCPU_RUN loop and kicks. */
#include "gunyah.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- kick signal ---- */

static int gunyah_kick_signo;
static int gunyah_signal_err;
static pthread_once_t gunyah_signal_once = PTHREAD_ONCE_INIT;

static void gunyah_kick_handler(int sig)
{
	(void)sig; /* only there to interrupt GH_VCPU_RUN */
}

/* No SA_RESTART: a restarted RUN would block on until the guest exits. */
static void gunyah_signal_install(void)
{
	struct sigaction old, sa;
	int signo = SIGRTMIN + GUNYAH_KICK_SIGNAL_OFFSET;

	if (sigaction(signo, NULL, &old) < 0) {
		gunyah_signal_err = errno;
		return;
	}
	if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = gunyah_kick_handler;
		sigemptyset(&sa.sa_mask);
		if (sigaction(signo, &sa, NULL) < 0) {
			gunyah_signal_err = errno;
			return;
		}
	}
	gunyah_kick_signo = signo;
}

int hvabs__gunyah_signal_setup(void)
{
	pthread_once(&gunyah_signal_once, gunyah_signal_install);
	if (gunyah_signal_err)
		return hvabs__error_set(HVABS_EIO, gunyah_signal_err, GUNYAH_BACKEND,
					"installing the kick signal handler");
	return 0;
}

static pid_t gunyah_self_tid(void)
{
	static _Thread_local pid_t tid;

	if (!tid)
		tid = (pid_t)syscall(SYS_gettid);
	return tid;
}

static void gunyah_immediate_exit_set(struct gh_vcpu_run *run, uint8_t v)
{
	__atomic_store_n(&run->immediate_exit, v, __ATOMIC_SEQ_CST);
}

/* ---- creation ---- */

/*
 * The vCPU function descriptor, identical for ADD and REMOVE. v10 passes
 * the id by value (arg_size 0); v11+ point to struct gh_fn_vcpu_arg, which
 * @arg provides.
 */
static struct gh_fn_desc gunyah_vcpu_desc(const struct gunyah_vm *gv, struct gh_fn_vcpu_arg *arg)
{
	struct gh_fn_desc d = { GH_FN_VCPU, 0, arg->id };

	if (gv->abi != GUNYAH_ABI_V10) {
		d.arg_size = sizeof(*arg);
		d.arg = (uint64_t)(uintptr_t)arg;
	}
	return d;
}

static int gunyah_run_page_map(struct gunyah_vcpu *gc)
{
	int size = ioctl(gc->fd, GH_VCPU_MMAP_SIZE, 0);
	void *run;

	if (size < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, "GH_VCPU_MMAP_SIZE");
	if ((size_t)size < sizeof(struct gh_vcpu_run))
		return hvabs__error_set(HVABS_EIO, 0, GUNYAH_BACKEND, "run page of %d bytes", size);
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, gc->fd, 0);
	if (run == MAP_FAILED)
		return hvabs__gunyah_errno_to_hvabs(errno, "mmap of the vcpu run page");
	gc->run = run;
	gc->run_size = (size_t)size;
	return 0;
}

int hvabs__gunyah_vcpu_init(struct hvabs_vcpu *vcpu)
{
	struct gunyah_vm *gv = gunyah_vm_of(vcpu->vm);
	struct gunyah_vcpu *gc = gunyah_vcpu_of(vcpu);
	struct gh_fn_vcpu_arg arg = { vcpu->id };
	struct gh_fn_desc d = gunyah_vcpu_desc(gv, &arg);
	int ret;

	gc->pending = false;
	atomic_init(&gc->tid, 0);
	atomic_init(&gc->signalled, false);
	gc->fd = ioctl(gv->vm_fd, GH_VM_ADD_FUNCTION, &d);
	if (gc->fd < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, "GH_VM_ADD_FUNCTION (vcpu)");
	ret = gunyah_run_page_map(gc);
	if (ret)
		goto out_close_fd;
	return 0;

out_close_fd:
	close(gc->fd);
	gc->fd = -1;
	hvabs__gunyah_remove_fn(gv, &d, "GH_VM_REMOVE_FUNCTION (vcpu)");
	return ret;
}

void hvabs__gunyah_vcpu_fini(struct hvabs_vcpu *vcpu)
{
	struct gunyah_vm *gv = gunyah_vm_of(vcpu->vm);
	struct gunyah_vcpu *gc = gunyah_vcpu_of(vcpu);
	struct gh_fn_vcpu_arg arg = { vcpu->id };
	struct gh_fn_desc d = gunyah_vcpu_desc(gv, &arg);

	hvabs__gunyah_remove_fn(gv, &d, "GH_VM_REMOVE_FUNCTION (vcpu)");
	munmap(gc->run, gc->run_size);
	close(gc->fd);
	gc->run = NULL;
	gc->fd = -1;
}

/* ---- exits ---- */

static void gunyah_exit_other(struct hvabs_exit *e, uint32_t reason)
{
	memset(e->pad, 0, sizeof(e->pad));
	e->reason = reason;
}

/* An MMIO exit: served by an IO handler (true: run on) or left for the caller. */
static bool gunyah_exit_mmio(struct gunyah_vcpu *gc, struct hvabs_exit *e)
{
	struct gh_vcpu_run *run = gc->run;

	gunyah_exit_other(e, HVABS_EXIT_MMIO);
	e->mmio.addr = run->mmio.phys_addr;
	memcpy(e->mmio.data, run->mmio.data, sizeof(e->mmio.data));
	e->mmio.len = run->mmio.len <= 8 ? run->mmio.len : 8;
	e->mmio.is_write = run->mmio.is_write != 0;
	e->mmio.resume = HVABS_RESUME_HANDLED;
	if (hvabs__io_dispatch_exit(&gc->base, e)) {
		if (!e->mmio.is_write)
			memcpy(run->mmio.data, e->mmio.data, sizeof(run->mmio.data));
		return true;
	}
	gc->pending = true;
	return false;
}

/* The VM stopped: record why (once, for every vCPU) and report it. */
static void gunyah_exit_status(struct gunyah_vcpu *gc, struct hvabs_exit *e)
{
	const struct gh_vcpu_run *run = gc->run;
	uint32_t size = run->status.exit_info.reason_size;
	uint8_t reason[8];

	memcpy(reason, run->status.exit_info.reason, sizeof(reason));
	/* LOAD_FAILED after a successful start has no state of its own: CRASHED. */
	hvabs__vm_set_stopped(gc->base.vm, run->status.status != GH_VM_STATUS_EXITED,
			      run->status.exit_info.type, reason, size > 8 ? 8 : size);
	hvabs__vcpu_fill_status(&gc->base, e);
}

/* Translate the run page into vcpu->exit; true when served inside (run again). */
static bool gunyah_exit_translate(struct gunyah_vcpu *gc, struct hvabs_exit *e)
{
	switch (gc->run->exit_reason) {
	case GH_VCPU_EXIT_MMIO:
		return gunyah_exit_mmio(gc, e);
	case GH_VCPU_EXIT_STATUS:
		gunyah_exit_status(gc, e);
		return false;
	default:
		gunyah_exit_other(e, HVABS_EXIT_UNKNOWN);
		e->internal.suberror = gc->run->exit_reason;
		return false;
	}
}

/* ---- run ---- */

/* Deliver the caller's completion of the last MMIO exit to the run page. */
static int gunyah_complete(struct gunyah_vcpu *gc)
{
	const struct hvabs_exit *e = &gc->base.exit;

	if (e->mmio.resume != HVABS_RESUME_HANDLED)
		return hvabs__error_set(e->mmio.resume <= HVABS_RESUME_RETRY ? HVABS_ENOTSUP
									       : HVABS_EINVAL,
					0, GUNYAH_BACKEND,
					"resume action %u: gunyah before v15 only completes "
					"accesses (HANDLED)",
					e->mmio.resume);
	if (!gc->run->mmio.is_write)
		memcpy(gc->run->mmio.data, e->mmio.data, sizeof(gc->run->mmio.data));
	gc->pending = false;
	return 0;
}

/* Forget a kick's immediate_exit and signal; the caller then checks for kicks. */
static void gunyah_kick_reset(struct gunyah_vcpu *gc)
{
	gunyah_immediate_exit_set(gc->run, 0);
	atomic_store_explicit(&gc->signalled, false, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
}

static int gunyah_exit_intr(struct gunyah_vcpu *gc)
{
	gunyah_kick_reset(gc);
	gunyah_exit_other(&gc->base.exit, HVABS_EXIT_INTR);
	return 0;
}

/*
 * Kick protocol (as kvm's). Kicker: kick flag (core), fence,
 * immediate_exit = 1, then signal the thread in tid unless a kick signal
 * is in flight. Runner: check the flag before each GH_VCPU_RUN; after EINTR
 * clear immediate_exit and the in-flight mark, fence, check again. tid is
 * set only around the ioctl, so a late signal rarely lands elsewhere.
 */
static int gunyah_run_loop(struct gunyah_vcpu *gc)
{
	struct hvabs_vcpu *vcpu = &gc->base;
	pid_t self = gunyah_self_tid();
	int ret, err;

	for (;;) {
		if (hvabs__vcpu_kick_take(vcpu))
			return gunyah_exit_intr(gc);
		atomic_store_explicit(&gc->tid, self, memory_order_seq_cst);
		ret = ioctl(gc->fd, GH_VCPU_RUN, 0);
		err = errno;
		atomic_store_explicit(&gc->tid, 0, memory_order_seq_cst);
		if (ret < 0) {
			if (err != EINTR && err != EAGAIN)
				return hvabs__gunyah_errno_to_hvabs(err, "GH_VCPU_RUN");
			gunyah_kick_reset(gc);
			continue;
		}
		if (!gunyah_exit_translate(gc, &vcpu->exit))
			return 0;
	}
}

int hvabs__gunyah_vcpu_run(struct hvabs_vcpu *vcpu)
{
	struct gunyah_vcpu *gc = gunyah_vcpu_of(vcpu);
	int ret;

	if (gc->pending) {
		ret = gunyah_complete(gc);
		if (ret)
			return ret;
	}
	/* A kick consumed by core at entry may have left these set. */
	gunyah_kick_reset(gc);
	return gunyah_run_loop(gc);
}

/* Async-signal-safe: only atomics and tgkill; errno is preserved. */
void hvabs__gunyah_vcpu_kick(struct hvabs_vcpu *vcpu)
{
	struct gunyah_vcpu *gc = gunyah_vcpu_of(vcpu);
	int saved = errno;
	pid_t tid;

	if (!gc->run)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	gunyah_immediate_exit_set(gc->run, 1);
	tid = atomic_load_explicit(&gc->tid, memory_order_seq_cst);
	if (tid > 0 && gunyah_kick_signo &&
	    !atomic_exchange_explicit(&gc->signalled, true, memory_order_seq_cst))
		syscall(SYS_tgkill, (pid_t)getpid(), tid, gunyah_kick_signo);
	errno = saved;
}
