/* SPDX-License-Identifier: MIT */
/* core/resource.c: hypervisor resources and the tickets that claim them by (type, label). */
#include "internal.h"

#include <string.h>

static struct hvabs_resource *res_find(struct hvabs_vm *vm, enum hvabs_resource_type type,
				       uint32_t label)
{
	for (struct hvabs__list *n = vm->resources.next; n != &vm->resources; n = n->next) {
		struct hvabs_resource *r = hvabs__container_of(n, struct hvabs_resource, node);

		if (r->type == type && r->label == label)
			return r;
	}
	return NULL;
}

/* Find or create resource (type, label). *out NULL: the VM has no such resource. */
static int res_ensure(struct hvabs_vm *vm, enum hvabs_resource_type type, uint32_t label,
		      struct hvabs_resource **out)
{
	struct hvabs_resource *r = res_find(vm, type, label);
	uint32_t irq = label;
	void *priv = NULL;
	int ret;

	*out = r;
	if (r)
		return 0;
	if (vm->ops->resource_create) {
		ret = vm->ops->resource_create(vm, type, label, &irq, &priv);
		if (ret == HVABS_ENOTSUP)
			return 0;
		if (ret)
			return ret;
	}
	r = hvabs__calloc(1, sizeof(*r));
	if (!r) {
		if (vm->ops->resource_destroy) {
			struct hvabs_resource tmp = { .type = type, .label = label, .irq = irq,
						      .priv = priv, .vm = vm };

			vm->ops->resource_destroy(vm, &tmp);
		}
		return hvabs__error_nomem("core");
	}
	r->type = type;
	r->label = label;
	r->irq = irq;
	r->priv = priv;
	r->vm = vm;
	hvabs__list_add_tail(&vm->resources, &r->node);
	*out = r;
	return 0;
}

static void res_destroy(struct hvabs_vm *vm, struct hvabs_resource *r)
{
	hvabs__list_del(&r->node);
	if (vm->ops->resource_destroy)
		vm->ops->resource_destroy(vm, r);
	hvabs__free(r);
}

static int ticket_populate(struct hvabs_ticket *t, struct hvabs_resource *r)
{
	int ret;

	if (t->res || r->ticket)
		return 0;
	hvabs_error_clear();
	ret = t->populate(t, r, t->payload);
	if (ret) {
		/* A VMM's populate has no way to fill in the detail: name the refusal here. */
		if (hvabs_error_last()->code != ret)
			hvabs__error_set(ret, 0, "core", "populate of resource (type %d, label %u) refused: %d",
					 (int)r->type, r->label, ret);
		return ret;
	}
	t->res = r;
	r->ticket = t;
	t->populate_count++;
	return 0;
}

static void ticket_unpopulate(struct hvabs_ticket *t)
{
	struct hvabs_resource *r = t->res;

	if (!r)
		return;
	t->unpopulate(t, r, t->payload);
	r->ticket = NULL;
	t->res = NULL;
}

static struct hvabs_ticket *ticket_find(struct hvabs_vm *vm, enum hvabs_resource_type type,
					uint32_t label)
{
	for (struct hvabs__list *n = vm->tickets.next; n != &vm->tickets; n = n->next) {
		struct hvabs_ticket *t = hvabs__container_of(n, struct hvabs_ticket, node);

		if (t->type == type && t->label == label)
			return t;
	}
	return NULL;
}

bool hvabs__ticket_claimed(struct hvabs_vm *vm, enum hvabs_resource_type type, uint32_t label)
{
	return ticket_find(vm, type, label) != NULL;
}

static int ticket_desc_check(const struct hvabs_ticket_desc *d)
{
	int ret;

	if (!d)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "ticket descriptor is NULL");
	ret = hvabs__check_version(d->version, HVABS_TICKET_DESC_VERSION, "hvabs_ticket_desc");
	if (ret)
		return ret;
	if ((unsigned int)d->type > HVABS_RESOURCE_VCPU)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown resource type %d",
					(int)d->type);
	if (!d->populate || !d->unpopulate)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "ticket needs populate and unpopulate");
	return 0;
}

/* Offer an existing (or, while running, a newly created) resource to @t. */
static int ticket_offer_late(struct hvabs_vm *vm, struct hvabs_ticket *t)
{
	enum hvabs_vm_state st = hvabs__vm_state(vm);
	struct hvabs_resource *r = res_find(vm, t->type, t->label);
	int ret;

	if (!r && st == HVABS_VM_RUNNING) {
		ret = res_ensure(vm, t->type, t->label, &r);
		if (ret || !r)
			return ret;
		ret = ticket_populate(t, r);
		if (ret)
			res_destroy(vm, r); /* created for this ticket only */
		return ret;
	}
	return r ? ticket_populate(t, r) : 0;
}

int hvabs_vm_ticket_add(struct hvabs_ticket **out, struct hvabs_vm *vm,
			const struct hvabs_ticket_desc *desc)
{
	struct hvabs_ticket *t;
	enum hvabs_vm_state st;
	int ret;

	ret = ticket_desc_check(desc);
	if (ret)
		return ret;
	hvabs__vm_lock(vm);
	st = hvabs__vm_state(vm);
	if (st != HVABS_VM_LOAD && st != HVABS_VM_READY && st != HVABS_VM_RUNNING) {
		ret = hvabs__error_set(HVABS_ESTATE, 0, "core", "ticket added in state %s",
				       hvabs_vm_state_name(st));
		goto out_unlock;
	}
	if (ticket_find(vm, desc->type, desc->label)) {
		ret = hvabs__error_set(HVABS_EEXIST, 0, "core",
				       "resource (type %d, label %u) is already claimed",
				       (int)desc->type, desc->label);
		goto out_unlock;
	}
	t = hvabs__calloc(1, sizeof(*t));
	if (!t) {
		ret = hvabs__error_nomem("core");
		goto out_unlock;
	}
	t->vm = vm;
	t->type = desc->type;
	t->label = desc->label;
	t->populate = desc->populate;
	t->unpopulate = desc->unpopulate;
	t->payload = desc->payload;
	ret = ticket_offer_late(vm, t);
	if (ret) {
		hvabs__free(t);
		goto out_unlock;
	}
	t->seq = ++vm->seq;
	hvabs__list_add_tail(&vm->tickets, &t->node);
	if (out)
		*out = t;
out_unlock:
	hvabs__vm_unlock(vm);
	return ret;
}

void hvabs_ticket_remove(struct hvabs_ticket *t)
{
	struct hvabs_vm *vm;

	if (!t)
		return;
	vm = t->vm;
	hvabs__vm_lock(vm);
	ticket_unpopulate(t);
	hvabs__list_del(&t->node);
	hvabs__vm_unlock(vm);
	hvabs__free(t);
}

/*
 * At start (vm->lock held, READY): create a resource for every vCPU id below
 * nr_vcpus and for every ticket, then offer each to its ticket. A refusal
 * fails the start.
 */
int hvabs__resources_start(struct hvabs_vm *vm)
{
	struct hvabs_resource *r;
	int ret;

	for (uint32_t id = 0; id < vm->nr_vcpus; id++) {
		ret = res_ensure(vm, HVABS_RESOURCE_VCPU, id, &r);
		if (ret)
			return ret;
	}
	for (struct hvabs__list *n = vm->tickets.next; n != &vm->tickets; n = n->next) {
		struct hvabs_ticket *t = hvabs__container_of(n, struct hvabs_ticket, node);

		if (t->type == HVABS_RESOURCE_VCPU && vm->nr_vcpus && t->label >= vm->nr_vcpus)
			continue; /* the configuration fixes the vCPUs */
		ret = res_ensure(vm, t->type, t->label, &r);
		if (ret)
			return ret;
		if (r) {
			ret = ticket_populate(t, r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void hvabs__resources_fini(struct hvabs_vm *vm)
{
	while (!hvabs__list_empty(&vm->resources)) {
		struct hvabs_resource *r =
			hvabs__container_of(vm->resources.next, struct hvabs_resource, node);

		if (r->ticket)
			ticket_unpopulate(r->ticket);
		res_destroy(vm, r);
	}
}

const struct hvabs_resource *hvabs_ticket_resource(const struct hvabs_ticket *t)
{
	return t->res;
}

unsigned int hvabs_ticket_populate_count(const struct hvabs_ticket *t)
{
	return t->populate_count;
}

enum hvabs_resource_type hvabs_resource_type(const struct hvabs_resource *res)
{
	return res->type;
}

uint32_t hvabs_resource_label(const struct hvabs_resource *res)
{
	return res->label;
}

uint32_t hvabs_resource_irq(const struct hvabs_resource *res)
{
	return res->irq;
}

int hvabs_resource_raise(const struct hvabs_resource *res)
{
	struct hvabs_vm *vm = res->vm;

	if (res->type != HVABS_RESOURCE_BELL_TX)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "only BELL_TX doorbells are raised");
	if (!vm->ops->resource_raise)
		return hvabs__error_set(HVABS_ENOTSUP, 0, vm->ops->name, "doorbells cannot be raised");
	return vm->ops->resource_raise(vm, res);
}
