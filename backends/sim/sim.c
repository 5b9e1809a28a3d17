/* SPDX-License-Identifier: MIT */
/* backends/sim/sim.c: sim backend ops - in-process hypervisor with Gunyah VM-manager semantics. */
#include "sim.h"

#include <string.h>

static int sim_probe(void)
{
	return 0;
}

static uint32_t sim_archs(void)
{
	uint32_t archs = 1u << HVABS_ARCH_NONE;

#ifdef HVABS_HAVE_UNICORN
	archs |= (1u << HVABS_ARCH_X86_64) | (1u << HVABS_ARCH_ARM64);
#endif
	return archs;
}

static void sim_caps(struct hvabs_vm *vm, struct hvabs_caps *caps)
{
	caps->fn_types = (1u << HVABS_FN_VCPU) | (1u << HVABS_FN_IRQFD) |
			 (1u << HVABS_FN_IOEVENTFD);
	/* LENT is not offered: sim cannot take memory away from the host. */
	caps->mem_flags = HVABS_MEM_READ | HVABS_MEM_WRITE | HVABS_MEM_EXEC;
	caps->io_spaces = (1u << HVABS_SPACE_MMIO) | (1u << HVABS_SPACE_PIO);
	caps->irqfd_flags = HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE;
	caps->ioeventfd_flags = HVABS_IOEVENTFD_DATAMATCH;
	caps->ioeventfd_spaces = (1u << HVABS_SPACE_MMIO) | (1u << HVABS_SPACE_PIO);
	caps->ioeventfd_lens = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 4) | (1u << 8);
	caps->resume_actions = (1u << HVABS_RESUME_HANDLED) | (1u << HVABS_RESUME_FAULT) |
			       (1u << HVABS_RESUME_RETRY);
	caps->archs = vm ? 1u << vm->arch : sim_archs();
	caps->max_vcpus = SIM_MAX_VCPUS;
	caps->features = HVABS_FEAT_MEM_REMOVE | HVABS_FEAT_USER_FUNCTIONS |
			 HVABS_FEAT_CALLBACK_GUESTS | HVABS_FEAT_FAULT_INJECTION |
			 HVABS_FEAT_HLT_EXIT | HVABS_FEAT_LATE_RESOURCES
			 | HVABS_FEAT_RESOURCE_RAISE;
#ifdef HVABS_HAVE_UNICORN
	if (!vm || vm->arch != HVABS_ARCH_NONE)
		caps->features |= HVABS_FEAT_REAL_GUESTS;
#endif
}

/* ---- VM ---- */

static int sim_vm_init(struct hvabs_vm *vm, const struct hvabs_vm_options *opts)
{
	enum hvabs_arch arch = vm->arch;
	int ret;

	ret = sim_fault_check(SIM_OP_VM_CREATE);
	if (ret)
		return ret;
	if (arch == HVABS_ARCH_NONE && opts)
		arch = opts->arch;
	if ((unsigned int)arch >= 32 || !(sim_archs() & (1u << arch)))
		return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME, "arch %u not supported", arch);
	/* sim has no configuration keys. */
	if (opts && opts->backend_config && opts->backend_config[0])
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME, "unknown backend_config \"%s\"",
					opts->backend_config);
	return sim_irq_init(sim_vm_of(vm));
}

static void sim_vm_fini(struct hvabs_vm *vm)
{
	/* Counted only: a destroy cannot fail. */
	sim_fault_count(SIM_OP_VM_DESTROY);
	sim_irq_fini(sim_vm_of(vm));
}

static int sim_mem_add(struct hvabs_vm *vm, const struct hvabs__region *r)
{
	int ret;

	(void)vm;
	ret = sim_fault_check(SIM_OP_MEM_ADD);
	if (ret)
		return ret;
	if (r->flags & HVABS_MEM_LENT)
		return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME, "lent memory not supported");
	return 0;
}

static int sim_mem_remove(struct hvabs_vm *vm, const struct hvabs__region *r)
{
	(void)vm;
	(void)r;
	return sim_fault_check(SIM_OP_MEM_REMOVE);
}

static int sim_vm_start(struct hvabs_vm *vm)
{
	int ret;

	ret = sim_fault_check(SIM_OP_VM_START);
	if (ret)
		return ret;
#ifdef HVABS_HAVE_UNICORN
	if (vm->arch != HVABS_ARCH_NONE)
		return sim_engine_check_vm(vm);
#else
	(void)vm;
#endif
	return 0;
}

static void sim_vm_stop(struct hvabs_vm *vm)
{
	sim_irqfd_stop(sim_vm_of(vm));
}

/* ---- resources ---- */

/*
 * Every doorbell and message queue exists. vCPU resources are ids below
 * nr_vcpus, or with nr_vcpus 0 those whose function was present at start
 * (created while READY); none exist beyond SIM_MAX_VCPUS.
 */
static bool sim_vcpu_resource_exists(struct hvabs_vm *vm, uint32_t id)
{
	if (id >= SIM_MAX_VCPUS)
		return false;
	if (vm->nr_vcpus)
		return id < vm->nr_vcpus;
	return hvabs__vm_state(vm) == HVABS_VM_READY;
}

static int sim_resource_create(struct hvabs_vm *vm, enum hvabs_resource_type type, uint32_t label,
			       uint32_t *irq_out, void **priv_out)
{
	int ret;

	ret = sim_fault_check(SIM_OP_RESOURCE_CREATE);
	if (ret)
		return ret;
	*irq_out = label;
	*priv_out = NULL;
	switch (type) {
	case HVABS_RESOURCE_BELL_TX:
		return sim_irq_line_create(sim_vm_of(vm), label, priv_out);
	case HVABS_RESOURCE_BELL_RX:
	case HVABS_RESOURCE_MSGQ_TX:
	case HVABS_RESOURCE_MSGQ_RX:
		return 0;
	case HVABS_RESOURCE_VCPU:
		if (sim_vcpu_resource_exists(vm, label))
			return 0;
		return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME, "vm has no vcpu %u", label);
	}
	return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME, "unknown resource type %d", (int)type);
}

static void sim_resource_destroy(struct hvabs_vm *vm, struct hvabs_resource *res)
{
	if (res->type == HVABS_RESOURCE_BELL_TX)
		sim_irq_line_destroy(sim_vm_of(vm), res->priv);
	res->priv = NULL;
}

static int sim_resource_raise(struct hvabs_vm *vm, const struct hvabs_resource *res)
{
	if (res->type != HVABS_RESOURCE_BELL_TX || !res->priv)
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME, "not a BELL_TX doorbell");
	sim_irq_line_raise(sim_vm_of(vm), res->priv);
	return 0;
}

/* ---- vCPUs ---- */

static int sim_vcpu_init(struct hvabs_vcpu *vcpu)
{
	struct sim_vcpu *sv = sim_vcpu_of(vcpu);
	int ret;

	ret = sim_fault_check(SIM_OP_VCPU_CREATE);
	if (ret)
		return ret;
	sv->guest.vcpu = vcpu;
	sv->fn = NULL;
	sv->payload = NULL;
	atomic_init(&sv->started, false);
	atomic_init(&sv->hstate, SIM_H_GUEST);
	atomic_init(&sv->runner_sleeping, 0);
	atomic_init(&sv->guest_sleeping, 0);
	sv->await = SIM_AWAIT_NONE;
	sv->finished = false;
	atomic_init(&sv->gwake, 0);
	atomic_init(&sv->gsleep, 0);
	atomic_init(&sv->irq_waiting, false);
	atomic_init(&sv->irq_pending, 0);
	atomic_init(&sv->notify_fn, NULL);
	atomic_init(&sv->notify_ctx, NULL);
	sim_irq_vcpu_register(sv);
	return 0;
}

static void sim_vcpu_fini(struct hvabs_vcpu *vcpu)
{
	struct sim_vcpu *sv = sim_vcpu_of(vcpu);

	/* No interrupt reaches the vCPU (or its notify hook) from here on. */
	sim_irq_vcpu_unregister(sv);
	sim_guest_stop(sv);
}

static void sim_vcpu_kick(struct hvabs_vcpu *vcpu)
{
	sim_vcpu_wake(sim_vcpu_of(vcpu));
}

int hvabs_sim_vcpu_set_guest(struct hvabs_vcpu *vcpu, hvabs_sim_guest_fn fn, void *payload)
{
	struct sim_vcpu *sv;

	if (!vcpu || !fn || vcpu->vm->ops != &hvabs__sim_backend)
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME, "needs a sim vcpu and a guest");
	sv = sim_vcpu_of(vcpu);
	if (atomic_load(&sv->started))
		return hvabs__error_set(HVABS_EBUSY, 0, SIM_NAME, "vcpu %u already ran", vcpu->id);
	sv->fn = fn;
	sv->payload = payload;
	return 0;
}

/* ---- ioeventfd: core's generic IO handler, with fault injection ---- */

static int sim_ioeventfd_assign(struct hvabs_function *fn, const struct hvabs_fn_ioeventfd_arg *arg)
{
	int ret;

	ret = sim_fault_check(SIM_OP_IOEVENTFD_ASSIGN);
	if (ret)
		return ret;
	return hvabs__ioeventfd_generic_assign(fn, arg);
}

static void sim_ioeventfd_deassign(struct hvabs_function *fn,
				   const struct hvabs_fn_ioeventfd_arg *arg)
{
	(void)arg;
	hvabs__ioeventfd_generic_deassign(fn);
}

const struct hvabs__backend_ops hvabs__sim_backend = {
	.version = HVABS_BACKEND_OPS_VERSION,
	.name = SIM_NAME,
	.auto_select = false,
	.vm_size = sizeof(struct sim_vm),
	.vcpu_size = sizeof(struct sim_vcpu),
	.probe = sim_probe,
	.caps = sim_caps,
	.vm_init = sim_vm_init,
	.vm_fini = sim_vm_fini,
	.mem_add = sim_mem_add,
	.mem_remove = sim_mem_remove,
	.resource_create = sim_resource_create,
	.resource_destroy = sim_resource_destroy,
	.resource_raise = sim_resource_raise,
	.vm_start = sim_vm_start,
	.vm_stop = sim_vm_stop,
	.vcpu_init = sim_vcpu_init,
	.vcpu_fini = sim_vcpu_fini,
	.vcpu_run = sim_vcpu_run,
	.vcpu_kick = sim_vcpu_kick,
	.irqfd_assign = sim_irqfd_assign,
	.irqfd_deassign = sim_irqfd_deassign,
	.ioeventfd_assign = sim_ioeventfd_assign,
	.ioeventfd_deassign = sim_ioeventfd_deassign,
};
