/* SPDX-License-Identifier: MIT */
/* backends/sim/sim_fault.c: sim fault injection and per-operation call counters. */
#include "sim.h"

#include <string.h>

/*
 * One slot per operation. @target is the call number (1-based since the
 * process started) that fails, 0 when nothing is armed; claiming it with a
 * compare-exchange makes exactly one call fail even under concurrency.
 */
struct sim_fault_slot {
	_Atomic uint64_t calls;
	_Atomic uint64_t target;
	atomic_int code;
};

static const char *const sim_op_names[SIM_OP_COUNT] = {
	[SIM_OP_VM_CREATE] = "vm_create",
	[SIM_OP_VM_DESTROY] = "vm_destroy",
	[SIM_OP_MEM_ADD] = "mem_add",
	[SIM_OP_MEM_REMOVE] = "mem_remove",
	[SIM_OP_VM_START] = "vm_start",
	[SIM_OP_VCPU_CREATE] = "vcpu_create",
	[SIM_OP_VCPU_RUN] = "vcpu_run",
	[SIM_OP_IRQFD_ASSIGN] = "irqfd_assign",
	[SIM_OP_IOEVENTFD_ASSIGN] = "ioeventfd_assign",
	[SIM_OP_RESOURCE_CREATE] = "resource_create",
};

static struct sim_fault_slot sim_faults[SIM_OP_COUNT];

static int sim_op_lookup(const char *op)
{
	int i;

	if (!op)
		return -1;
	for (i = 0; i < SIM_OP_COUNT; i++) {
		if (!strcmp(op, sim_op_names[i]))
			return i;
	}
	return -1;
}

int sim_fault_check(enum sim_op op)
{
	struct sim_fault_slot *slot = &sim_faults[op];
	uint64_t n, target;

	n = atomic_fetch_add_explicit(&slot->calls, 1, memory_order_relaxed) + 1;
	target = atomic_load_explicit(&slot->target, memory_order_acquire);
	if (!target || n != target)
		return 0;
	if (!atomic_compare_exchange_strong_explicit(&slot->target, &target, 0,
						     memory_order_acq_rel, memory_order_relaxed))
		return 0;
	return hvabs__error_set(atomic_load_explicit(&slot->code, memory_order_relaxed), 0,
				SIM_NAME, "injected fault in %s", sim_op_names[op]);
}

void sim_fault_count(enum sim_op op)
{
	struct sim_fault_slot *slot = &sim_faults[op];
	uint64_t n, target;

	n = atomic_fetch_add_explicit(&slot->calls, 1, memory_order_relaxed) + 1;
	target = atomic_load_explicit(&slot->target, memory_order_acquire);
	if (target && n == target)
		atomic_compare_exchange_strong(&slot->target, &target, 0);
}

int hvabs_sim_fault_set(const char *op, unsigned int nth, int code)
{
	struct sim_fault_slot *slot;
	int i = sim_op_lookup(op);

	if (i < 0)
		return hvabs__error_set(HVABS_ENOTFOUND, 0, SIM_NAME, "unknown sim operation %s",
					op ? op : "(null)");
	if (code >= 0 || nth == 0)
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME,
					"fault needs a negative code and nth >= 1");
	slot = &sim_faults[i];
	atomic_store_explicit(&slot->code, code, memory_order_relaxed);
	atomic_store_explicit(&slot->target,
			      atomic_load_explicit(&slot->calls, memory_order_relaxed) + nth,
			      memory_order_release);
	return 0;
}

void hvabs_sim_fault_clear(void)
{
	int i;

	for (i = 0; i < SIM_OP_COUNT; i++)
		atomic_store_explicit(&sim_faults[i].target, 0, memory_order_release);
}

uint64_t hvabs_sim_op_count(const char *op)
{
	int i = sim_op_lookup(op);

	if (i < 0)
		return 0;
	return atomic_load_explicit(&sim_faults[i].calls, memory_order_relaxed);
}
