/* SPDX-License-Identifier: MIT */
/* backends/kvm/kvm.h: KVM backend internals shared by its files (not installed). */
#ifndef HVABS_KVM_INTERNAL_H
#define HVABS_KVM_INTERNAL_H

#include "internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/types.h>

/*
 * How hvabs maps onto KVM (decisions a user can observe):
 *  - Memory: KVM maps every slot readable and executable, so only R|W|X and
 *    R|X (KVM_MEM_READONLY; guest writes become MMIO exits) are accepted;
 *    any other combination is HVABS_ENOTSUP. One slot per region.
 *  - Interrupts: x86 gets PIC + IOAPIC (no PIT), arm64 a vGICv3 at QEMU
 *    virt's addresses. irqfd label = GSI. LEVEL without RESAMPLE uses a
 *    private resample eventfd: asserted by each write, deasserted at EOI.
 *    backend_config "irqchip=off" drops them: no irqfd, x86 HLT exits.
 *  - Run: MMIO/PIO go to IO handlers first; others are returned. Only the
 *    HANDLED resume exists (FAULT/RETRY: HVABS_ENOTSUP, access stays
 *    pending). FAIL_ENTRY and unknown exits carry
 *    internal.suberror = 0x80000000 | kvm exit_reason. stats.irqs stays 0.
 *  - Kick: immediate_exit plus a real-time signal (see below).
 *  - Boot: with a boot setup every vCPU (APs included) starts at the entry;
 *    without one, KVM's reset state stays (x86 APs wait for INIT/SIPI).
 *  - Removed vCPUs are parked and taken back when the id is added again.
 */

#define KVM_BACKEND "kvm"
#define KVM_DEVICE_PATH "/dev/kvm"
#define KVM_API_VERSION_EXPECTED 12

/*
 * Kick signal: SIGRTMIN + KVM_KICK_SIGNAL_OFFSET. A no-op handler with
 * SA_RESTART is installed once (unless the application already handles the
 * signal). KVM_RUN returns EINTR on any handled signal whatever SA_RESTART
 * says, while other syscalls of a vCPU thread (e.g. in IO handlers) are
 * restarted instead of failing. Threads that run vCPUs must not block it.
 */
#define KVM_KICK_SIGNAL_OFFSET 5

/* Host guest architecture, fixed at compile time. */
#if defined(__x86_64__)
#define KVM_HOST_ARCH HVABS_ARCH_X86_64
#elif defined(__aarch64__)
#define KVM_HOST_ARCH HVABS_ARCH_ARM64
#else
#error "hvabs kvm backend: unsupported host architecture (x86_64 and aarch64 only)"
#endif

/* What KVM_CHECK_EXTENSION reported (per VM, or on /dev/kvm for static caps). */
struct kvm_exts {
	bool irqfd;
	bool irqfd_resample;
	bool ioeventfd;
	bool ioeventfd_any_length;
	bool readonly_mem;
	bool irqchip;
	uint32_t max_vcpus;
	uint32_t nr_memslots;
};

/* One guest memory slot; gpa identifies the region (regions never overlap). */
struct kvm_slot {
	bool used;
	uint64_t gpa;
};

/* Internal resample eventfd of a LEVEL irqfd without RESAMPLE. */
struct kvm_level_fd {
	uint32_t gsi;
	int fd;
};

/*
 * A removed vCPU. KVM frees vCPUs only with their VM, so a vCPU id cannot
 * be created twice: removal parks the fd (as QEMU does) and a vCPU added
 * again with the same id takes it back.
 */
struct kvm_parked {
	uint32_t id;
	int fd;
	struct kvm_run *run;
	void *arch;
};

struct kvm_vm {
	struct hvabs_vm base;
	int sys_fd;
	int vm_fd;
	size_t run_size;
	bool irqchip; /* in-kernel interrupt controller present */
	struct kvm_exts exts;
	struct kvm_slot *slots; /* under vm->lock */
	size_t nr_slots;
	struct kvm_level_fd *levels; /* under vm->lock */
	size_t nr_levels;
	struct kvm_parked *parked; /* under vm->lock */
	size_t nr_parked;
	/*
	 * Slots allocated in @parked: one for every vCPU fd that exists (live or
	 * parked), reserved when the fd is created, so that parking at removal
	 * never allocates (a failed allocation there would lose the id).
	 */
	size_t parked_cap;
	size_t nr_vcpu_fds;
	void *arch; /* per-arch data (kvm_x86_64.c / kvm_arm64.c) */
};

struct kvm_vcpu {
	struct hvabs_vcpu base;
	int fd;
	struct kvm_run *run;
	_Atomic pid_t tid;     /* thread inside KVM_RUN's loop, 0 when none */
	atomic_bool signalled; /* a kick signal is in flight (at most one is queued) */
	bool booted;           /* boot registers loaded */
	uint32_t pending;      /* HVABS_EXIT_MMIO/PIO awaiting completion, else 0 */
	void *arch;            /* per-arch data */
};

static inline struct kvm_vm *kvm_vm_of(struct hvabs_vm *vm)
{
	return hvabs__container_of(vm, struct kvm_vm, base);
}

static inline struct kvm_vcpu *kvm_vcpu_of(struct hvabs_vcpu *vcpu)
{
	return hvabs__container_of(vcpu, struct kvm_vcpu, base);
}

/*
 * The backend's one errno remap: record the failure of KVM call @what
 * with OS error @err and return the matching HVABS_E* code.
 */
static inline int kvm_errno_to_hvabs(int err, const char *what)
{
	int code;

	switch (err) {
	case EINVAL:
		code = HVABS_EINVAL;
		break;
	case EEXIST:
		code = HVABS_EEXIST;
		break;
	case ENOMEM:
		code = HVABS_ENOMEM;
		break;
	case ENOENT:
		code = HVABS_ENOTFOUND;
		break;
	case EBUSY:
		code = HVABS_EBUSY;
		break;
	case EPERM:
	case EACCES:
		code = HVABS_EPERM;
		break;
	case ENOTTY:
	case EOPNOTSUPP:
		code = HVABS_ENOTSUP;
		break;
	default:
		code = HVABS_EIO;
		break;
	}
	return hvabs__error_set(code, err, KVM_BACKEND, "%s", what);
}

/* ---- per-arch hooks (kvm_x86_64.c or kvm_arm64.c) ---- */

/* Static caps the arch decides: io spaces, ioeventfd spaces. */
void hvabs__kvm_arch_caps(struct hvabs_caps *caps);
/* After KVM_CREATE_VM: interrupt controller and arch VM state. */
HVABS_MUST_CHECK int hvabs__kvm_arch_vm_init(struct kvm_vm *kvm);
void hvabs__kvm_arch_vm_fini(struct kvm_vm *kvm);
/* At start (vm->lock held): validate the boot setup, fill scratch memory. */
HVABS_MUST_CHECK int hvabs__kvm_arch_vm_start(struct kvm_vm *kvm);
/* After KVM_CREATE_VCPU and the run page mmap. */
HVABS_MUST_CHECK int hvabs__kvm_arch_vcpu_init(struct kvm_vm *kvm, struct kvm_vcpu *kv);
void hvabs__kvm_arch_vcpu_fini(void *arch);
/* Before the first KVM_RUN: load the boot registers (vm->boot). */
HVABS_MUST_CHECK int hvabs__kvm_arch_vcpu_boot(struct kvm_vm *kvm, struct kvm_vcpu *kv);
/* KVM_IRQ_LINE number of interrupt line @gsi (as irqfd routes it). */
uint32_t hvabs__kvm_arch_irq_line(uint32_t gsi);

/* ---- kvm_vcpu.c ---- */

HVABS_MUST_CHECK int hvabs__kvm_signal_setup(void);
int hvabs__kvm_vcpu_init(struct hvabs_vcpu *vcpu);
void hvabs__kvm_vcpu_fini(struct hvabs_vcpu *vcpu);
int hvabs__kvm_vcpu_run(struct hvabs_vcpu *vcpu);
void hvabs__kvm_vcpu_kick(struct hvabs_vcpu *vcpu);
/* Release every parked vCPU (vm_fini). */
void hvabs__kvm_parked_release(struct kvm_vm *kvm);

#endif
