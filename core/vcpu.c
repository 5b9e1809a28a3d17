/* SPDX-License-Identifier: MIT */
/* core/vcpu.c: vCPU run entry, kick, exit record, statistics and the VM's vCPU array. */
#include "internal.h"

#include <sched.h>
#include <string.h>

static const char *const hvabs__exit_names[HVABS_EXIT_REASON_MAX] = {
	[HVABS_EXIT_UNKNOWN] = "UNKNOWN",   [HVABS_EXIT_MMIO] = "MMIO",
	[HVABS_EXIT_PIO] = "PIO",           [HVABS_EXIT_HLT] = "HLT",
	[HVABS_EXIT_STATUS] = "STATUS",     [HVABS_EXIT_SHUTDOWN] = "SHUTDOWN",
	[HVABS_EXIT_RESET] = "RESET",       [HVABS_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[HVABS_EXIT_INTR] = "INTR",         [HVABS_EXIT_INTERNAL] = "INTERNAL",
};

const char *hvabs_exit_reason_name(uint32_t reason)
{
	if (reason >= HVABS_EXIT_REASON_MAX)
		return "INVALID";
	return hvabs__exit_names[reason];
}

/* Superseded vCPU arrays, freed with the VM (lock-free readers may hold them). */
struct vcpus_old {
	struct vcpus_old *next;
	struct hvabs_vcpu **arr;
};

int hvabs__vm_vcpu_register(struct hvabs_vm *vm, struct hvabs_vcpu *vcpu)
{
	struct hvabs_vcpu **arr, **cur;
	struct vcpus_old *old = NULL;
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&vm->vcpus_lock);
	n = atomic_load_explicit(&vm->nr_vcpu_objs, memory_order_relaxed);
	cur = atomic_load_explicit(&vm->vcpus, memory_order_relaxed);
	if (n == vm->vcpus_cap) {
		size_t cap = vm->vcpus_cap ? vm->vcpus_cap * 2 : 4;

		arr = hvabs__calloc(cap, sizeof(*arr));
		old = cur ? hvabs__malloc(sizeof(*old)) : NULL;
		if (!arr || (cur && !old)) {
			hvabs__free(arr);
			hvabs__free(old);
			ret = hvabs__error_nomem("core");
			goto out_unlock;
		}
		if (cur) {
			memcpy(arr, cur, n * sizeof(*arr));
			old->arr = cur;
			old->next = vm->vcpus_old;
			vm->vcpus_old = old;
		}
		vm->vcpus_cap = cap;
		cur = arr;
	}
	cur[n] = vcpu;
	atomic_store_explicit(&vm->vcpus, cur, memory_order_release);
	atomic_store_explicit(&vm->nr_vcpu_objs, n + 1, memory_order_release);
out_unlock:
	pthread_mutex_unlock(&vm->vcpus_lock);
	return ret;
}

void hvabs__vm_vcpus_free(struct hvabs_vm *vm)
{
	size_t n;
	struct hvabs_vcpu **arr = hvabs__vm_vcpus(vm, &n);

	for (size_t i = 0; i < n; i++)
		hvabs__free(arr[i]);
	hvabs__free(arr);
	while (vm->vcpus_old) {
		struct vcpus_old *o = vm->vcpus_old;

		vm->vcpus_old = o->next;
		hvabs__free(o->arr);
		hvabs__free(o);
	}
}

void hvabs__vcpu_finalize(struct hvabs_vcpu *vcpu)
{
	atomic_store_explicit(&vcpu->finalized, true, memory_order_seq_cst);
	while (atomic_load_explicit(&vcpu->kick_inflight, memory_order_seq_cst))
		sched_yield();
	vcpu->vm->ops->vcpu_fini(vcpu);
}

void hvabs__vcpu_wait_runner(struct hvabs_vcpu *vcpu)
{
	unsigned int spins = 0;

	while (atomic_load_explicit(&vcpu->running, memory_order_seq_cst)) {
		/* Re-kick now and then: a kick may land just before the runner blocks. */
		if (spins++ % 1024 == 0)
			hvabs_vcpu_kick(vcpu);
		sched_yield();
	}
}

void hvabs_vcpu_kick(struct hvabs_vcpu *vcpu)
{
	atomic_store_explicit(&vcpu->kick, true, memory_order_seq_cst);
	atomic_fetch_add_explicit(&vcpu->kick_inflight, 1, memory_order_seq_cst);
	if (!atomic_load_explicit(&vcpu->finalized, memory_order_seq_cst))
		vcpu->vm->ops->vcpu_kick(vcpu);
	atomic_fetch_sub_explicit(&vcpu->kick_inflight, 1, memory_order_seq_cst);
}

void hvabs__vcpu_fill_status(struct hvabs_vcpu *vcpu, struct hvabs_exit *exit)
{
	struct hvabs_vm_status st;

	hvabs_vm_status_get(vcpu->vm, &st);
	memset(exit, 0, sizeof(*exit));
	exit->reason = HVABS_EXIT_STATUS;
	exit->vcpu_id = vcpu->id;
	switch (st.state) {
	case HVABS_VM_INIT_FAILED:
		exit->status.status = HVABS_STATUS_LOAD_FAILED;
		break;
	case HVABS_VM_EXITED:
		exit->status.status = HVABS_STATUS_EXITED;
		break;
	default:
		exit->status.status = HVABS_STATUS_CRASHED;
		break;
	}
	exit->status.exit_type = st.exit_type;
	exit->status.reason_size = st.reason_size;
	memcpy(exit->status.reason, st.reason, sizeof(exit->status.reason));
}

static bool vm_stopped(enum hvabs_vm_state st)
{
	return st == HVABS_VM_EXITED || st == HVABS_VM_CRASHED || st == HVABS_VM_INIT_FAILED;
}

static int vcpu_run_checks(struct hvabs_vcpu *vcpu, bool *status_exit)
{
	enum hvabs_vm_state st = hvabs__vm_state(vcpu->vm);

	*status_exit = false;
	if (st == HVABS_VM_DESTROYED || atomic_load_explicit(&vcpu->dying, memory_order_seq_cst))
		return hvabs__error_set(HVABS_ESTATE, 0, "core", "vcpu %u is being destroyed",
					vcpu->id);
	if (vm_stopped(st)) {
		*status_exit = true;
		return 0;
	}
	if (st != HVABS_VM_RUNNING)
		return hvabs__error_set(HVABS_ESTATE, 0, "core", "vm not started (state %s)",
					hvabs_vm_state_name(st));
	if (!vcpu->res)
		return hvabs__error_set(HVABS_ESTATE, 0, vcpu->vm->ops->name,
					"vcpu %u has no hypervisor resource", vcpu->id);
	return 0;
}

int hvabs_vcpu_run(struct hvabs_vcpu *vcpu)
{
	struct hvabs_exit *exit = &vcpu->exit;
	bool expected = false, status_exit;
	int ret;

	if (!atomic_compare_exchange_strong(&vcpu->running, &expected, true))
		return hvabs__error_set(HVABS_EBUSY, 0, "core", "vcpu %u is run by another thread",
					vcpu->id);
	ret = vcpu_run_checks(vcpu, &status_exit);
	if (ret)
		goto out;
	if (status_exit) {
		hvabs__vcpu_fill_status(vcpu, exit);
	} else if (hvabs__vcpu_kick_take(vcpu)) {
		/* Keep the rest: a completed read must survive until the guest resumes. */
		exit->reason = HVABS_EXIT_INTR;
		exit->vcpu_id = vcpu->id;
	} else {
		ret = vcpu->vm->ops->vcpu_run(vcpu);
		if (ret)
			goto out;
		exit->vcpu_id = vcpu->id;
		/* A kick that stopped a vCPU because the VM went down reports the status. */
		if (exit->reason == HVABS_EXIT_INTR && vm_stopped(hvabs__vm_state(vcpu->vm)))
			hvabs__vcpu_fill_status(vcpu, exit);
	}
	if (exit->reason < HVABS_EXIT_REASON_MAX)
		hvabs__stat_inc(&vcpu->stats.exits[exit->reason]);
out:
	atomic_store_explicit(&vcpu->running, false, memory_order_seq_cst);
	return ret;
}

struct hvabs_exit *hvabs_vcpu_exit(struct hvabs_vcpu *vcpu)
{
	return &vcpu->exit;
}

uint32_t hvabs_vcpu_id(const struct hvabs_vcpu *vcpu)
{
	return vcpu->id;
}

struct hvabs_vm *hvabs_vcpu_vm(const struct hvabs_vcpu *vcpu)
{
	return vcpu->vm;
}

void hvabs_vcpu_stats_get(const struct hvabs_vcpu *vcpu, struct hvabs_vcpu_stats *stats)
{
	for (int i = 0; i < HVABS_EXIT_REASON_MAX; i++)
		stats->exits[i] = atomic_load_explicit(&vcpu->stats.exits[i], memory_order_relaxed);
	stats->dispatched = atomic_load_explicit(&vcpu->stats.dispatched, memory_order_relaxed);
	stats->returned = atomic_load_explicit(&vcpu->stats.returned, memory_order_relaxed);
	stats->irqs = atomic_load_explicit(&vcpu->stats.irqs, memory_order_relaxed);
}
