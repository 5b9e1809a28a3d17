/* SPDX-License-Identifier: MIT */
/* hvabs/resource.h: resource tickets - claiming hypervisor resources by type and label. */
#ifndef HVABS_RESOURCE_H
#define HVABS_RESOURCE_H

#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;
struct hvabs_resource;
struct hvabs_ticket;

/* Resource types (values equal Gunyah's GH_RM_RESOURCE_TYPE_*). */
enum hvabs_resource_type {
	HVABS_RESOURCE_BELL_TX = 0, /* host -> guest doorbell (irqfd) */
	HVABS_RESOURCE_BELL_RX = 1, /* guest -> host doorbell */
	HVABS_RESOURCE_MSGQ_TX = 2,
	HVABS_RESOURCE_MSGQ_RX = 3,
	HVABS_RESOURCE_VCPU = 4,
};

/**
 * Populate/unpopulate callbacks. populate returns 0 to take the resource or
 * an HVABS_E* code to refuse it (a refusal at start makes hvabs_vm_start()
 * fail with that code). After unpopulate returns, the owner must not use the
 * resource. Both run with the VM's lock held.
 */
typedef int (*hvabs_ticket_populate_fn)(struct hvabs_ticket *ticket,
					const struct hvabs_resource *res, void *payload);
typedef void (*hvabs_ticket_unpopulate_fn)(struct hvabs_ticket *ticket,
					   const struct hvabs_resource *res, void *payload);

#define HVABS_TICKET_DESC_VERSION 1

struct hvabs_ticket_desc {
	unsigned int version;
	enum hvabs_resource_type type;
	uint32_t label;
	hvabs_ticket_populate_fn populate;     /* required */
	hvabs_ticket_unpopulate_fn unpopulate; /* required */
	void *payload;
};

/**
 * hvabs_vm_ticket_add() - claim the resource (type, label) of @vm.
 * @out: receives the ticket (owned by the VM).
 *
 * If the VM already has the resource, populate runs before this returns (and
 * its refusal is returned). Otherwise populate runs when the backend hands
 * the resource out at start; populate may run late and more than once
 * (after an unpopulate). Allowed in LOAD, READY and RUNNING.
 *
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (unknown type, missing callback);
 * HVABS_EEXIST ((type, label) already claimed); HVABS_ESTATE; HVABS_ENOMEM;
 * populate's code. Thread-safe.
 */
HVABS_API int hvabs_vm_ticket_add(struct hvabs_ticket **out, struct hvabs_vm *vm,
				  const struct hvabs_ticket_desc *desc);

/**
 * hvabs_ticket_remove() - release a ticket; unpopulates it first if needed.
 * NULL is ignored. Thread-safe.
 */
HVABS_API void hvabs_ticket_remove(struct hvabs_ticket *ticket);

/** hvabs_ticket_resource() - the populated resource, or NULL. */
HVABS_API const struct hvabs_resource *hvabs_ticket_resource(const struct hvabs_ticket *ticket);

/** hvabs_ticket_populate_count() - times populate accepted a resource (tests). */
HVABS_API unsigned int hvabs_ticket_populate_count(const struct hvabs_ticket *ticket);

HVABS_API enum hvabs_resource_type hvabs_resource_type(const struct hvabs_resource *res);
HVABS_API uint32_t hvabs_resource_label(const struct hvabs_resource *res);
/** hvabs_resource_irq() - interrupt number behind a doorbell or vCPU resource. */
HVABS_API uint32_t hvabs_resource_irq(const struct hvabs_resource *res);

/**
 * hvabs_resource_raise() - ring a BELL_TX doorbell: raise its guest
 * interrupt (edge), as an irqfd write would.
 * Return: 0; HVABS_EINVAL (not a BELL_TX); HVABS_ENOTSUP (backend without
 * HVABS_FEAT_RESOURCE_RAISE).
 * Thread-safe, not async-signal-safe.
 */
HVABS_API int hvabs_resource_raise(const struct hvabs_resource *res);

HVABS_END_DECLS

#endif
