/* SPDX-License-Identifier: MIT */
/* hvabs/sim.h: sim backend extras - callback guests, interrupt controller view, fault injection. */
#ifndef HVABS_SIM_H
#define HVABS_SIM_H

#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;
struct hvabs_vcpu;
struct hvabs_sim_guest;

/**
 * Callback guests. A callback guest is a host function that plays the
 * guest of one sim vCPU: it performs guest accesses through the
 * hvabs_sim_guest_*() calls below. It runs on a library-owned thread, and
 * only while a caller is inside hvabs_vcpu_run() for that vCPU: an access
 * served by an IO handler returns to the guest directly; any other access
 * becomes an exit, and the guest call returns once the caller has completed
 * it and run again. Returning from the function powers the VM off (EXITED,
 * exit type VM_EXIT, no reason).
 *
 * Teardown: when the VM is destroyed or the vCPU removed, a blocked guest
 * call does not return; the guest thread is ended with pthread_exit(), so a
 * guest must not hold locks or resources across hvabs_sim_guest_*() calls.
 */
typedef void (*hvabs_sim_guest_fn)(struct hvabs_sim_guest *g, void *payload);

/**
 * hvabs_sim_vcpu_set_guest() - attach a callback guest to a sim vCPU before
 * its first run. Return: 0; HVABS_EINVAL (not a sim vCPU, NULL fn);
 * HVABS_EBUSY (already ran).
 */
HVABS_API int hvabs_sim_vcpu_set_guest(struct hvabs_vcpu *vcpu, hvabs_sim_guest_fn fn, void *payload);

/*
 * Guest accesses. Each returns 0, or -1 when the access faulted (the caller
 * completed it with HVABS_RESUME_FAULT, or RAM permissions refused it).
 * RETRY re-issues the access. Reads zero-extend into *val.
 */
HVABS_API int hvabs_sim_guest_mmio_read(struct hvabs_sim_guest *g, uint64_t addr, uint32_t len, uint64_t *val);
HVABS_API int hvabs_sim_guest_mmio_write(struct hvabs_sim_guest *g, uint64_t addr, uint32_t len, uint64_t val);
HVABS_API int hvabs_sim_guest_pio_read(struct hvabs_sim_guest *g, uint16_t port, uint32_t len, uint32_t *val);
HVABS_API int hvabs_sim_guest_pio_write(struct hvabs_sim_guest *g, uint16_t port, uint32_t len, uint32_t val);

/**
 * hvabs_sim_guest_mem_read/write() - guest RAM access of @len bytes at
 * @gpa, honouring region R/W flags. A range outside RAM is performed as
 * MMIO accesses of at most 8 bytes each.
 */
HVABS_API int hvabs_sim_guest_mem_read(struct hvabs_sim_guest *g, uint64_t gpa, void *buf, size_t len);
HVABS_API int hvabs_sim_guest_mem_write(struct hvabs_sim_guest *g, uint64_t gpa, const void *buf, size_t len);

/**
 * hvabs_sim_guest_wait_irq() - the guest's WFI/HLT with interrupts enabled:
 * sleep until an interrupt is pending for this vCPU, acknowledge it and
 * return its line (doorbell label). A kick while sleeping returns an INTR
 * exit to the caller; the guest keeps sleeping on the next run.
 */
HVABS_API uint32_t hvabs_sim_guest_wait_irq(struct hvabs_sim_guest *g);

/**
 * hvabs_sim_guest_poll_irq() - acknowledge a pending interrupt without
 * sleeping. Return: 1 and *line set, or 0 when none is pending.
 */
HVABS_API int hvabs_sim_guest_poll_irq(struct hvabs_sim_guest *g, uint32_t *line);

/** hvabs_sim_guest_eoi() - end of interrupt for @line (level lines resample). */
HVABS_API void hvabs_sim_guest_eoi(struct hvabs_sim_guest *g, uint32_t line);

/** hvabs_sim_guest_halt() - HLT with interrupts off: returns an HLT exit; continues on the next run. */
HVABS_API void hvabs_sim_guest_halt(struct hvabs_sim_guest *g);

/**
 * hvabs_sim_guest_exit() - power the VM off (EXITED) or crash it
 * (@crashed) with @exit_type and up to 8 @reason bytes. Does not return.
 */
HVABS_API void hvabs_sim_guest_exit(struct hvabs_sim_guest *g, bool crashed, uint16_t exit_type,
				    const void *reason, uint32_t reason_size);

/** hvabs_sim_guest_system_event() - SHUTDOWN/RESET/SYSTEM_EVENT exit; continues on the next run. */
HVABS_API void hvabs_sim_guest_system_event(struct hvabs_sim_guest *g, uint32_t reason, uint32_t type);

/**
 * hvabs_sim_guest_yield() - a preemption point for guests that loop without
 * accesses: a pending kick becomes an INTR exit here (the call returns on
 * the next run). Cheap when nothing is pending.
 */
HVABS_API void hvabs_sim_guest_yield(struct hvabs_sim_guest *g);

/** hvabs_sim_guest_vcpu() - the vCPU this guest plays. */
HVABS_API struct hvabs_vcpu *hvabs_sim_guest_vcpu(const struct hvabs_sim_guest *g);

/**
 * Interrupt controller view (tests): state of doorbell @line of a sim VM.
 * Return: 0 and the bits below; HVABS_ENOTFOUND for an unknown line;
 * HVABS_EINVAL for a VM of another backend; HVABS_ESTATE once destroyed.
 */
#define HVABS_SIM_IRQ_PENDING (1u << 0)
#define HVABS_SIM_IRQ_ACTIVE (1u << 1)
#define HVABS_SIM_IRQ_LEVEL (1u << 2)
#define HVABS_SIM_IRQ_ASSERTED (1u << 3)
HVABS_API int hvabs_sim_irq_state(struct hvabs_vm *vm, uint32_t line, uint32_t *state_out);

/**
 * Fault injection and call counters (process-wide, for tests).
 *
 * hvabs_sim_fault_set() - make the @nth (1-based, counted from now) call of
 * sim operation @op fail with @code (an HVABS_E* value). Operations:
 * "vm_create", "vm_destroy", "mem_add", "mem_remove", "vm_start",
 * "vcpu_create", "vcpu_run", "irqfd_assign", "ioeventfd_assign",
 * "resource_create". Return: 0; HVABS_ENOTFOUND for an unknown op;
 * HVABS_EINVAL for a non-negative code or @nth 0.
 */
HVABS_API int hvabs_sim_fault_set(const char *op, unsigned int nth, int code);
/** hvabs_sim_fault_clear() - cancel every armed fault. */
HVABS_API void hvabs_sim_fault_clear(void);
/** hvabs_sim_op_count() - calls of @op since the process started (0 for unknown). */
HVABS_API uint64_t hvabs_sim_op_count(const char *op);

HVABS_END_DECLS

#endif
