/* SPDX-License-Identifier: MIT */
/* backends/kvm/kvm_vcpu.c: KVM backend - vCPU creation, the KVM_RUN loop and kicks. */
#include "kvm.h"

#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- kick signal ---- */

static int kvm_kick_signo;
static int kvm_signal_err;
static pthread_once_t kvm_signal_once = PTHREAD_ONCE_INIT;

static void kvm_kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

/* Install the handler unless the application already catches the signal. */
static void kvm_signal_install(void)
{
	struct sigaction old, sa;
	int signo = SIGRTMIN + KVM_KICK_SIGNAL_OFFSET;

	if (sigaction(signo, NULL, &old) < 0) {
		kvm_signal_err = errno;
		return;
	}
	if (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = kvm_kick_handler;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(signo, &sa, NULL) < 0) {
			kvm_signal_err = errno;
			return;
		}
	}
	kvm_kick_signo = signo;
}

int hvabs__kvm_signal_setup(void)
{
	pthread_once(&kvm_signal_once, kvm_signal_install);
	if (kvm_signal_err)
		return hvabs__error_set(HVABS_EIO, kvm_signal_err, KVM_BACKEND,
					"installing the kick signal handler");
	return 0;
}

static pid_t kvm_self_tid(void)
{
	static _Thread_local pid_t tid;

	if (!tid)
		tid = (pid_t)syscall(SYS_gettid);
	return tid;
}

/* Written by kickers on other threads and in signal handlers. */
static void kvm_immediate_exit_set(struct kvm_run *run, uint8_t v)
{
	__atomic_store_n(&run->immediate_exit, v, __ATOMIC_SEQ_CST);
}

/* ---- creation ---- */

static void kvm_vcpu_close(struct kvm_vm *kvm, int fd, struct kvm_run *run, void *arch)
{
	hvabs__kvm_arch_vcpu_fini(arch);
	munmap(run, kvm->run_size);
	close(fd);
}

/* Take back the parked vCPU @id; false when there is none. */
static bool kvm_unpark(struct kvm_vm *kvm, struct kvm_vcpu *kv, uint32_t id)
{
	for (size_t i = 0; i < kvm->nr_parked; i++) {
		struct kvm_parked *p = &kvm->parked[i];

		if (p->id != id)
			continue;
		kv->fd = p->fd;
		kv->run = p->run;
		kv->arch = p->arch;
		*p = kvm->parked[--kvm->nr_parked];
		return true;
	}
	return false;
}

static int kvm_vcpu_create(struct kvm_vm *kvm, struct kvm_vcpu *kv, uint32_t id)
{
	void *run;
	int ret;

	kv->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (kv->fd < 0)
		return kvm_errno_to_hvabs(errno, "KVM_CREATE_VCPU");
	run = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (run == MAP_FAILED) {
		ret = kvm_errno_to_hvabs(errno, "mmap of the kvm_run page");
		goto out_close_fd;
	}
	kv->run = run;
	ret = hvabs__kvm_arch_vcpu_init(kvm, kv);
	if (ret)
		goto out_unmap;
	return 0;

out_unmap:
	munmap(run, kvm->run_size);
	kv->run = NULL;
out_close_fd:
	close(kv->fd);
	kv->fd = -1;
	return ret;
}

/* Make room to park one more vCPU fd, before it is created (see kvm_vm.parked_cap). */
static int kvm_park_reserve(struct kvm_vm *kvm)
{
	struct kvm_parked *arr;

	if (kvm->parked_cap > kvm->nr_vcpu_fds)
		return 0;
	arr = hvabs__realloc(kvm->parked, (kvm->nr_vcpu_fds + 1) * sizeof(*arr));
	if (!arr)
		return hvabs__error_nomem(KVM_BACKEND);
	kvm->parked = arr;
	kvm->parked_cap = kvm->nr_vcpu_fds + 1;
	return 0;
}

int hvabs__kvm_vcpu_init(struct hvabs_vcpu *vcpu)
{
	struct kvm_vm *kvm = kvm_vm_of(vcpu->vm);
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
	int ret;

	kv->booted = false;
	kv->pending = 0;
	atomic_init(&kv->tid, 0);
	atomic_init(&kv->signalled, false);
	if (kvm_unpark(kvm, kv, vcpu->id))
		return 0;
	ret = kvm_park_reserve(kvm);
	if (ret)
		return ret;
	ret = kvm_vcpu_create(kvm, kv, vcpu->id);
	if (ret == 0)
		kvm->nr_vcpu_fds++;
	return ret;
}

/*
 * An access returned to the caller leaves its instruction unfinished in
 * KVM; finish it (KVM_RUN with immediate_exit returns before guest entry)
 * so that a later boot setup of the parked vCPU is not overwritten.
 */
static void kvm_vcpu_flush(struct kvm_vcpu *kv)
{
	if (!kv->pending)
		return;
	kv->pending = 0;
	kvm_immediate_exit_set(kv->run, 1);
	ioctl(kv->fd, KVM_RUN, 0);
	kvm_immediate_exit_set(kv->run, 0);
}

void hvabs__kvm_vcpu_fini(struct hvabs_vcpu *vcpu)
{
	struct kvm_vm *kvm = kvm_vm_of(vcpu->vm);
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);

	kvm_vcpu_flush(kv);
	/* The slot was reserved when the fd was created: parking cannot fail. */
	if (kvm->nr_parked < kvm->parked_cap) {
		kvm->parked[kvm->nr_parked++] =
			(struct kvm_parked){ vcpu->id, kv->fd, kv->run, kv->arch };
	} else {
		kvm_vcpu_close(kvm, kv->fd, kv->run, kv->arch);
		kvm->nr_vcpu_fds--;
	}
	kv->fd = -1;
	kv->run = NULL;
	kv->arch = NULL;
}

void hvabs__kvm_parked_release(struct kvm_vm *kvm)
{
	for (size_t i = 0; i < kvm->nr_parked; i++)
		kvm_vcpu_close(kvm, kvm->parked[i].fd, kvm->parked[i].run, kvm->parked[i].arch);
	hvabs__free(kvm->parked);
	kvm->parked = NULL;
	kvm->nr_parked = 0;
	kvm->parked_cap = 0;
	kvm->nr_vcpu_fds = 0;
}

/* ---- exits ---- */

static void kvm_exit_other(struct hvabs_exit *e, uint32_t reason)
{
	memset(e->pad, 0, sizeof(e->pad));
	e->reason = reason;
}

/* FAIL_ENTRY and unknown exits: suberror = KVM_HVABS_SUBERROR_EXIT | exit_reason. */
#define KVM_HVABS_SUBERROR_EXIT 0x80000000u

static void kvm_exit_internal(const struct kvm_run *run, struct hvabs_exit *e)
{
	kvm_exit_other(e, HVABS_EXIT_INTERNAL);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		uint32_t n = run->internal.ndata < 4 ? run->internal.ndata : 4;

		e->internal.suberror = run->internal.suberror;
		e->internal.ndata = n;
		for (uint32_t i = 0; i < n; i++)
			e->internal.data[i] = run->internal.data[i];
		return;
	}
	e->internal.suberror = KVM_HVABS_SUBERROR_EXIT | run->exit_reason;
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		e->internal.ndata = 2;
		e->internal.data[0] = run->fail_entry.hardware_entry_failure_reason;
		e->internal.data[1] = run->fail_entry.cpu;
	} else if (run->exit_reason == KVM_EXIT_ARM_NISV) {
		e->internal.ndata = 2;
		e->internal.data[0] = run->arm_nisv.esr_iss;
		e->internal.data[1] = run->arm_nisv.fault_ipa;
	}
}

static void kvm_exit_system_event(const struct kvm_run *run, struct hvabs_exit *e)
{
	uint32_t n = run->system_event.ndata < 4 ? run->system_event.ndata : 4;

	kvm_exit_other(e, HVABS_EXIT_SYSTEM_EVENT);
	e->system_event.type = run->system_event.type;
	e->system_event.ndata = n;
	for (uint32_t i = 0; i < n; i++)
		e->system_event.data[i] = run->system_event.data[i];
}

/* MMIO/PIO: served by an IO handler (true: run on) or left for the caller. */
static bool kvm_exit_mmio(struct kvm_vcpu *kv, struct hvabs_exit *e)
{
	struct kvm_run *run = kv->run;

	e->reason = HVABS_EXIT_MMIO;
	e->mmio.addr = run->mmio.phys_addr;
	memcpy(e->mmio.data, run->mmio.data, sizeof(e->mmio.data));
	e->mmio.len = run->mmio.len;
	e->mmio.is_write = run->mmio.is_write;
	e->mmio.resume = HVABS_RESUME_HANDLED;
	if (hvabs__io_dispatch_exit(&kv->base, e)) {
		if (!run->mmio.is_write)
			memcpy(run->mmio.data, e->mmio.data, sizeof(run->mmio.data));
		return true;
	}
	kv->pending = HVABS_EXIT_MMIO;
	return false;
}

/* PIO data stays in the run page: string I/O and read completion work in place. */
static bool kvm_exit_pio(struct kvm_vcpu *kv, struct hvabs_exit *e)
{
	struct kvm_run *run = kv->run;

	e->reason = HVABS_EXIT_PIO;
	e->pio.port = run->io.port;
	e->pio.size = run->io.size;
	e->pio.is_write = run->io.direction == KVM_EXIT_IO_OUT;
	e->pio.count = run->io.count;
	e->pio.data = (uint8_t *)run + run->io.data_offset;
	e->pio.resume = HVABS_RESUME_HANDLED;
	if (hvabs__io_dispatch_exit(&kv->base, e))
		return true;
	kv->pending = HVABS_EXIT_PIO;
	return false;
}

/* Translate kvm_run into vcpu->exit; true when served inside (run again). */
static bool kvm_exit_translate(struct kvm_vcpu *kv, struct hvabs_exit *e)
{
	const struct kvm_run *run = kv->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		return kvm_exit_mmio(kv, e);
	case KVM_EXIT_IO:
		return kvm_exit_pio(kv, e);
	case KVM_EXIT_HLT:
		kvm_exit_other(e, HVABS_EXIT_HLT);
		return false;
	case KVM_EXIT_SHUTDOWN:
		kvm_exit_other(e, HVABS_EXIT_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		kvm_exit_system_event(run, e);
		return false;
	case KVM_EXIT_INTR:
		return true; /* a signal that was not a kick: the loop checks for kicks */
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_ARM_NISV:
		kvm_exit_internal(run, e);
		return false;
	default:
		kvm_exit_other(e, HVABS_EXIT_UNKNOWN);
		e->internal.suberror = KVM_HVABS_SUBERROR_EXIT | run->exit_reason;
		return false;
	}
}

/* ---- run ---- */

/* Deliver the caller's completion of the last MMIO/PIO exit to kvm_run. */
static int kvm_complete(struct kvm_vcpu *kv)
{
	const struct hvabs_exit *e = &kv->base.exit;
	uint8_t resume = kv->pending == HVABS_EXIT_MMIO ? e->mmio.resume : e->pio.resume;

	if (resume != HVABS_RESUME_HANDLED)
		return hvabs__error_set(resume <= HVABS_RESUME_RETRY ? HVABS_ENOTSUP : HVABS_EINVAL,
					0, KVM_BACKEND,
					"resume action %u: kvm can only complete accesses (HANDLED)",
					resume);
	if (kv->pending == HVABS_EXIT_MMIO && !kv->run->mmio.is_write)
		memcpy(kv->run->mmio.data, e->mmio.data, sizeof(kv->run->mmio.data));
	kv->pending = 0;
	return 0;
}

/* Forget a kick's immediate_exit and signal; the caller then checks for kicks. */
static void kvm_kick_reset(struct kvm_vcpu *kv)
{
	kvm_immediate_exit_set(kv->run, 0);
	atomic_store_explicit(&kv->signalled, false, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
}

static int kvm_exit_intr(struct kvm_vcpu *kv)
{
	kvm_kick_reset(kv);
	kvm_exit_other(&kv->base.exit, HVABS_EXIT_INTR);
	return 0;
}

/*
 * Kick protocol. Kicker: kick flag (core), fence, immediate_exit = 1, then
 * signal the thread in tid unless a kick signal is already in flight.
 * Runner: check the flag before each KVM_RUN; after EINTR clear
 * immediate_exit and the in-flight mark, fence, and check again. A kick is
 * thus either seen by the check or stops the next KVM_RUN; signals that are
 * not kicks only cost one more KVM_RUN. Real-time signals queue, so
 * without the in-flight mark a caller that kicks in a loop (teardown
 * waiting for the runner) would bury the vCPU thread in signals.
 */
static int kvm_run_loop(struct kvm_vcpu *kv)
{
	struct hvabs_vcpu *vcpu = &kv->base;

	for (;;) {
		if (hvabs__vcpu_kick_take(vcpu))
			return kvm_exit_intr(kv);
		if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN)
				return kvm_errno_to_hvabs(errno, "KVM_RUN");
			kvm_kick_reset(kv);
			continue;
		}
		if (!kvm_exit_translate(kv, &vcpu->exit))
			return 0;
	}
}

int hvabs__kvm_vcpu_run(struct hvabs_vcpu *vcpu)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
	int ret;

	if (kv->pending) {
		ret = kvm_complete(kv);
		if (ret)
			return ret;
	}
	if (!kv->booted) {
		ret = hvabs__kvm_arch_vcpu_boot(kvm_vm_of(vcpu->vm), kv);
		if (ret)
			return ret;
		kv->booted = true;
	}
	vcpu->exit.vcpu_id = vcpu->id;
	atomic_store_explicit(&kv->tid, kvm_self_tid(), memory_order_seq_cst);
	ret = kvm_run_loop(kv);
	atomic_store_explicit(&kv->tid, 0, memory_order_release);
	return ret;
}

/* Async-signal-safe: only atomics and tgkill; errno is preserved. */
void hvabs__kvm_vcpu_kick(struct hvabs_vcpu *vcpu)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
	int saved = errno;
	pid_t tid;

	if (!kv->run)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	kvm_immediate_exit_set(kv->run, 1);
	tid = atomic_load_explicit(&kv->tid, memory_order_seq_cst);
	if (tid > 0 && kvm_kick_signo &&
	    !atomic_exchange_explicit(&kv->signalled, true, memory_order_seq_cst))
		syscall(SYS_tgkill, (pid_t)getpid(), tid, kvm_kick_signo);
	errno = saved;
}
