/* SPDX-License-Identifier: MIT */
/* examples/fn_module/doorbell.c: function module "doorbell counter" (user type 4660) counting guest doorbell writes. */
#include <hvabs.h>

#include <stdatomic.h>
#include <stdlib.h>

#ifndef HVABS_DOORBELL_TYPE
#define HVABS_DOORBELL_TYPE 4660u
#endif

/*
 * Argument of a doorbell function (16 bytes):
 * @label:    label of the BELL_RX resource the instance claims.
 * @reserved: must be 0.
 * @addr:     guest-physical address of the 8-byte doorbell register (MMIO).
 *
 * Every guest write to the register, of any width, rings the bell once;
 * a guest read returns how often it rang. Removal matches on @label.
 */
struct doorbell_arg {
	uint32_t label;
	uint32_t reserved;
	uint64_t addr;
};

/* One instance: its ring counter and what bind registered. */
struct doorbell {
	atomic_uint_least64_t rings;
	struct hvabs_ticket *ticket;
	struct hvabs_io_handler *handler;
	const struct hvabs_resource *res; /* the BELL_RX resource while populated */
};

static int doorbell_populate(struct hvabs_ticket *ticket, const struct hvabs_resource *res,
			     void *payload)
{
	struct doorbell *db = payload;

	(void)ticket;
	db->res = res;
	return 0;
}

static void doorbell_unpopulate(struct hvabs_ticket *ticket, const struct hvabs_resource *res,
				void *payload)
{
	struct doorbell *db = payload;

	(void)ticket;
	(void)res;
	db->res = NULL;
}

/* Runs on vCPU threads, possibly several at once. */
static int doorbell_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
			  void *payload)
{
	struct doorbell *db = payload;

	(void)vcpu;
	(void)addr;
	(void)len;
	(void)data;
	atomic_fetch_add_explicit(&db->rings, 1, memory_order_relaxed);
	return 0;
}

static int doorbell_read(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data,
			 void *payload)
{
	struct doorbell *db = payload;

	(void)vcpu;
	(void)addr;
	(void)len;
	*data = atomic_load_explicit(&db->rings, memory_order_relaxed);
	return 0;
}

static int doorbell_claim_ticket(struct hvabs_vm *vm, struct doorbell *db,
				 const struct doorbell_arg *arg)
{
	struct hvabs_ticket_desc desc = {
		.version = HVABS_TICKET_DESC_VERSION,
		.type = HVABS_RESOURCE_BELL_RX,
		.label = arg->label,
		.populate = doorbell_populate,
		.unpopulate = doorbell_unpopulate,
		.payload = db,
	};

	return hvabs_vm_ticket_add(&db->ticket, vm, &desc);
}

static int doorbell_add_handler(struct hvabs_vm *vm, struct doorbell *db,
				const struct doorbell_arg *arg)
{
	struct hvabs_io_desc desc = {
		.version = HVABS_IO_DESC_VERSION,
		.space = HVABS_SPACE_MMIO,
		.addr = arg->addr,
		.size = 8,
		.len = 0,
		.read = doorbell_read,
		.write = doorbell_write,
		.payload = db,
	};

	return hvabs_vm_io_handler_add(&db->handler, vm, &desc);
}

static int doorbell_bind(struct hvabs_function *fn)
{
	uint32_t size = 0;
	const struct doorbell_arg *arg = hvabs_function_arg(fn, &size);
	struct hvabs_vm *vm = hvabs_function_vm(fn);
	struct doorbell *db;
	int ret;

	if (size != sizeof(*arg) || arg->reserved)
		return HVABS_EINVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return HVABS_ENOMEM;
	atomic_init(&db->rings, 0);
	ret = doorbell_claim_ticket(vm, db, arg);
	if (ret)
		goto out_free;
	ret = doorbell_add_handler(vm, db, arg);
	if (ret)
		goto out_remove_ticket;
	hvabs_function_set_data(fn, db);
	return 0;

out_remove_ticket:
	hvabs_ticket_remove(db->ticket);
out_free:
	free(db);
	return ret;
}

static void doorbell_unbind(struct hvabs_function *fn)
{
	struct doorbell *db = hvabs_function_data(fn);

	hvabs_io_handler_remove(db->handler);
	hvabs_ticket_remove(db->ticket);
	free(db);
}

static bool doorbell_compare(const struct hvabs_function *fn, const void *arg, uint32_t size)
{
	const struct doorbell_arg *mine = hvabs_function_arg(fn, NULL);
	const struct doorbell_arg *other = arg;

	return size == sizeof(*other) && other->label == mine->label;
}

static const struct hvabs_function_type doorbell_type = {
	.version = HVABS_FUNCTION_TYPE_VERSION,
	.type = HVABS_DOORBELL_TYPE,
	.name = "doorbell-counter",
	.bind = doorbell_bind,
	.unbind = doorbell_unbind,
	.compare = doorbell_compare,
};

/* Entry point run by hvabs after dlopen(): register the module's types. */
HVABS_API int hvabs_function_module_init(void);

int hvabs_function_module_init(void)
{
	return hvabs_function_type_register(&doorbell_type);
}
