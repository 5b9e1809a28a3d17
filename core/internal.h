/* SPDX-License-Identifier: MIT */
/* core/internal.h: private core structures and the backend ops contract. */
#ifndef HVABS_CORE_INTERNAL_H
#define HVABS_CORE_INTERNAL_H

#include <hvabs.h>

#include <pthread.h>
#include <stdatomic.h>

/*
 * Lock order (outer first):
 *   registry lock (core/function.c, global; control plane only)
 *   vm->lock (recursive; every control-plane change of one VM)
 *   backend-private locks
 * The vCPU run path takes none of these: IO dispatch reads an RCU-style
 * snapshot protected by per-vCPU hazard pointers (core/io.c).
 *
 * Lifetimes: struct hvabs_vm lives while vm->ref > 0. The creator holds one
 * reference, each function instance one, hvabs_vm_get() callers one each.
 * vCPUs, tickets, IO handlers and resources live inside the VM's lists and
 * die with their function / at teardown.
 */

#define HVABS_MUST_CHECK __attribute__((warn_unused_result))
#define HVABS_UNUSED __attribute__((unused))

#define hvabs__container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- errors (core/errors.c) ---- */

/* Record the detail for this thread and return @code. @fmt is printf-like. */
int hvabs__error_set(int code, int sys_errno, const char *backend, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int hvabs__error_nomem(const char *backend);
/* Validate a caller-supplied struct version: 0 < version <= max. */
int hvabs__check_version(unsigned int version, unsigned int max, const char *what);

/* ---- allocation (core/alloc.c) ---- */

void *hvabs__malloc(size_t size);
void *hvabs__calloc(size_t nmemb, size_t size);
void *hvabs__realloc(void *ptr, size_t size); /* realloc(NULL) counts as an allocation */
void hvabs__free(void *ptr);

/* ---- intrusive list ---- */

struct hvabs__list {
	struct hvabs__list *prev, *next;
};

static inline void hvabs__list_init(struct hvabs__list *l)
{
	l->prev = l->next = l;
}

static inline bool hvabs__list_empty(const struct hvabs__list *l)
{
	return l->next == l;
}

static inline void hvabs__list_add_tail(struct hvabs__list *l, struct hvabs__list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void hvabs__list_del(struct hvabs__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* ---- objects ---- */

struct hvabs__region {
	uint32_t label;
	uint32_t flags;
	uint64_t guest_addr;
	uint64_t size;
	void *host_addr;
	bool owned; /* library mmap()ed host memory */
};

struct hvabs_resource {
	struct hvabs__list node; /* vm->resources */
	enum hvabs_resource_type type;
	uint32_t label;
	uint32_t irq;
	void *priv; /* backend's */
	struct hvabs_vm *vm;
	struct hvabs_ticket *ticket; /* populated ticket, or NULL */
};

struct hvabs_ticket {
	struct hvabs__list node; /* vm->tickets, creation order */
	uint64_t seq;
	struct hvabs_vm *vm;
	enum hvabs_resource_type type;
	uint32_t label;
	hvabs_ticket_populate_fn populate;
	hvabs_ticket_unpopulate_fn unpopulate;
	void *payload;
	struct hvabs_resource *res;
	unsigned int populate_count;
};

struct hvabs_function {
	struct hvabs__list node; /* vm->functions, creation order */
	uint64_t seq;
	struct hvabs_vm *vm;
	const struct hvabs_function_type *ops;
	void *data;
	struct hvabs_vcpu *vcpu; /* HVABS_FN_VCPU */
	uint32_t arg_size;
	_Alignas(8) uint8_t arg[]; /* copy of the argument, aligned for its struct */
};

struct hvabs__io_snap; /* core/io.c */

/* What removal needs; the served fields live in the IO table's entry (core/io.c). */
struct hvabs_io_handler {
	struct hvabs__list node; /* vm->io_handlers, creation order */
	uint64_t seq;
	struct hvabs_vm *vm;
	uint64_t addr;
	uint32_t space; /* enum hvabs_space */
	atomic_bool dead; /* removed while memory was short: still in the table, never served */
};

struct hvabs_vcpu {
	struct hvabs_vm *vm;
	uint32_t id;
	struct hvabs_function *fn;
	struct hvabs_ticket *ticket;
	const struct hvabs_resource *res; /* set while the VCPU ticket is populated */
	atomic_bool running;  /* a thread is inside hvabs_vcpu_run() */
	atomic_bool kick;     /* pending immediate exit */
	atomic_bool dying;    /* being removed: run returns ESTATE */
	atomic_bool finalized; /* backend state released; object kept until the VM is freed */
	atomic_uint kick_inflight; /* kicks inside ops->vcpu_kick (fini waits for them) */
	_Atomic uint64_t io_gen; /* IO table generation being read, 0 when idle (core/io.c) */
	/* Handler whose callback runs on this vCPU, or NULL (core/io.c: removal waits for it). */
	_Atomic(struct hvabs_io_handler *) io_cb;
	/*
	 * Last IO-table hit of this vCPU (core/io.c), valid while the VM's
	 * table generation is still @gen. Only the thread running the vCPU
	 * touches it.
	 */
	struct {
		uint64_t gen;
		uint64_t addr;
		const void *entry;
		uint32_t len;
		uint8_t space;
		uint8_t is_write;
	} io_cache;
	struct hvabs_exit exit;
	struct {
		_Atomic uint64_t exits[HVABS_EXIT_REASON_MAX];
		_Atomic uint64_t dispatched;
		_Atomic uint64_t returned;
		_Atomic uint64_t irqs;
	} stats;
	/* backend state follows (ops->vcpu_size bytes in total) */
};

struct hvabs_vm {
	const struct hvabs__backend_ops *ops;
	atomic_uint ref;
	pthread_mutex_t lock; /* recursive */
	_Atomic int state;    /* enum hvabs_vm_state */
	pthread_mutex_t status_lock; /* leaf lock: status below */
	struct hvabs_vm_status status; /* exit details */
	enum hvabs_arch arch;
	uint32_t nr_vcpus;
	uint32_t flags;
	uint64_t seq; /* creation counter for functions, tickets, handlers */
	struct hvabs_boot_config boot;
	bool boot_set;
	struct hvabs__region *regions;
	size_t nr_regions;
	struct hvabs__list functions;
	struct hvabs__list tickets;
	struct hvabs__list io_handlers;
	struct hvabs__list resources;
	size_t nr_io_handlers;
	/*
	 * Every vCPU object ever created, for kicks and IO grace periods. Read
	 * lock-free (hvabs__vm_vcpus()); grown under vcpus_lock; superseded
	 * arrays are kept in vcpus_old until the VM is freed.
	 */
	pthread_mutex_t vcpus_lock;
	_Atomic(struct hvabs_vcpu **) vcpus;
	atomic_size_t nr_vcpu_objs;
	size_t vcpus_cap;
	void *vcpus_old;
	_Atomic(struct hvabs__io_snap *) io[2]; /* per enum hvabs_space */
	_Atomic uint64_t io_gen;
	struct hvabs__list io_zombies; /* handlers removed without memory for a new table */
	/*
	 * What the last handler add retired, not yet freed (core/io.c): the
	 * next update's grace period covers it, so an add does not wait.
	 */
	struct {
		void *snap;
		void *leaf;
	} io_pending;
	/*
	 * Teardown has stopped every vCPU (under lock): IO handlers are dropped
	 * without a grace period. Not the DESTROYED state, which is set before
	 * the vCPUs stop.
	 */
	bool io_quiesced;
	/* backend state follows (ops->vm_size bytes in total) */
};

/* ---- backend ops ---- */

#define HVABS_BACKEND_OPS_VERSION 1

/*
 * One const instance per backend, listed in core/backend.c. Core allocates
 * the zeroed VM (vm_size bytes, struct hvabs_vm first) and vCPU objects;
 * backends embed them first in their own structs and use container_of.
 * Ops return 0 or HVABS_E* codes set through hvabs__error_set(). Required:
 * probe, caps, vm_init, vm_fini, vcpu_init, vcpu_fini, vcpu_run, vcpu_kick.
 * A NULL optional op means the feature is absent (core returns ENOTSUP) or,
 * where noted, that core's generic implementation is used.
 */
struct hvabs__backend_ops {
	unsigned int version;
	const char *name;
	bool auto_select; /* may be picked without being named */
	size_t vm_size;
	size_t vcpu_size;

	int (*probe)(void);
	/* Fill caps (version preset by core); @vm NULL for the backend's static caps. */
	void (*caps)(struct hvabs_vm *vm, struct hvabs_caps *caps);

	int (*vm_init)(struct hvabs_vm *vm, const struct hvabs_vm_options *opts);
	void (*vm_fini)(struct hvabs_vm *vm); /* after every function/ticket/handler is gone */

	/* Optional; core has already validated and recorded the region. */
	int (*mem_add)(struct hvabs_vm *vm, const struct hvabs__region *r);
	/* Optional; NULL: regions cannot be removed (ENOTSUP). */
	int (*mem_remove)(struct hvabs_vm *vm, const struct hvabs__region *r);

	/*
	 * Optional. Create the hypervisor resource (type, label): fill *irq_out
	 * and *priv_out. Called by core at start for every ticket present and
	 * each vCPU id < nr_vcpus, and afterwards for tickets added while
	 * running. HVABS_ENOTSUP: the VM has no such resource (the ticket stays
	 * unpopulated). NULL: every resource exists, irq = label.
	 */
	int (*resource_create)(struct hvabs_vm *vm, enum hvabs_resource_type type, uint32_t label,
			       uint32_t *irq_out, void **priv_out);
	void (*resource_destroy)(struct hvabs_vm *vm, struct hvabs_resource *res); /* optional */
	/* Optional: ring a BELL_TX resource (hvabs_resource_raise). */
	int (*resource_raise)(struct hvabs_vm *vm, const struct hvabs_resource *res);

	/*
	 * Optional. Called with vm->lock held in READY, after boot checks and
	 * before resources are created and tickets populated.
	 */
	int (*vm_start)(struct hvabs_vm *vm);
	/* Optional. Stop guest execution at teardown (vCPUs already left run). */
	void (*vm_stop)(struct hvabs_vm *vm);

	/* vCPU object set up by the vCPU function's bind (vcpu->id, vm set). */
	int (*vcpu_init)(struct hvabs_vcpu *vcpu);
	void (*vcpu_fini)(struct hvabs_vcpu *vcpu);
	/*
	 * Run until an exit for the caller: fill vcpu->exit. Serve MMIO/PIO
	 * through hvabs__io_dispatch() first. Must notice a kick
	 * (hvabs__vcpu_kick_take()) and return HVABS_EXIT_INTR. Core already
	 * checked state, single runner and a kick pending at entry.
	 */
	int (*vcpu_run)(struct hvabs_vcpu *vcpu);
	/*
	 * Async-signal-safe: make a running vcpu_run return soon. Never called
	 * once vcpu_fini has started (core waits for kicks in flight).
	 */
	void (*vcpu_kick)(struct hvabs_vcpu *vcpu);

	/* Optional (NULL: irqfd ENOTSUP). Called on ticket populate/unpopulate. */
	int (*irqfd_assign)(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			    const struct hvabs_resource *res);
	void (*irqfd_deassign)(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			       const struct hvabs_resource *res);
	/* Optional (NULL: core's generic ioeventfd, an IO handler writing the eventfd). */
	int (*ioeventfd_assign)(struct hvabs_function *fn, const struct hvabs_fn_ioeventfd_arg *arg);
	void (*ioeventfd_deassign)(struct hvabs_function *fn, const struct hvabs_fn_ioeventfd_arg *arg);
};

#ifdef HVABS_HAVE_SIM
extern const struct hvabs__backend_ops hvabs__sim_backend;
#endif
#ifdef HVABS_HAVE_KVM
extern const struct hvabs__backend_ops hvabs__kvm_backend;
#endif
#ifdef HVABS_HAVE_GUNYAH
extern const struct hvabs__backend_ops hvabs__gunyah_backend;
#endif

/* ---- helpers for backends ---- */

static inline void *hvabs__vm_priv(struct hvabs_vm *vm)
{
	return (void *)(vm + 1);
}

static inline void *hvabs__vcpu_priv(struct hvabs_vcpu *vcpu)
{
	return (void *)(vcpu + 1);
}

static inline enum hvabs_vm_state hvabs__vm_state(const struct hvabs_vm *vm)
{
	return (enum hvabs_vm_state)atomic_load_explicit(&vm->state, memory_order_acquire);
}

/* Consume a pending kick; true if there was one. */
static inline bool hvabs__vcpu_kick_take(struct hvabs_vcpu *vcpu)
{
	if (!atomic_load_explicit(&vcpu->kick, memory_order_relaxed))
		return false;
	return atomic_exchange_explicit(&vcpu->kick, false, memory_order_acq_rel);
}

static inline void hvabs__stat_inc(_Atomic uint64_t *ctr)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/*
 * Offer a guest access to the VM's IO handlers. @data: write value, or
 * receives the read value. Returns true when a handler served it (and
 * counts it in stats.dispatched). Lock-free; runs on the vCPU's thread.
 */
bool hvabs__io_dispatch(struct hvabs_vcpu *vcpu, enum hvabs_space space, uint64_t addr,
			uint32_t len, bool is_write, uint64_t *data);

/*
 * Offer an MMIO/PIO exit record to the IO handlers (PIO strings element by
 * element). True when every element was served; reads are completed in the
 * record. False leaves the record for the caller (and counts it returned).
 */
bool hvabs__io_dispatch_exit(struct hvabs_vcpu *vcpu, struct hvabs_exit *exit);

/* Record that the guest stopped: EXITED or CRASHED; kicks every vCPU. */
void hvabs__vm_set_stopped(struct hvabs_vm *vm, bool crashed, uint16_t exit_type,
			   const void *reason, uint32_t reason_size);

/* Fill @exit with a STATUS exit for the VM's current state. */
void hvabs__vcpu_fill_status(struct hvabs_vcpu *vcpu, struct hvabs_exit *exit);

/* Find the region containing [gpa, gpa+len); NULL if none. Caller syncs. */
const struct hvabs__region *hvabs__vm_region_find(const struct hvabs_vm *vm, uint64_t gpa,
						  uint64_t len);

/* Lock-free view of every vCPU object of @vm: *n entries. */
static inline struct hvabs_vcpu **hvabs__vm_vcpus(struct hvabs_vm *vm, size_t *n)
{
	*n = atomic_load_explicit(&vm->nr_vcpu_objs, memory_order_acquire);
	return atomic_load_explicit(&vm->vcpus, memory_order_acquire);
}

/* ---- core internals shared between core files ---- */

const struct hvabs__backend_ops *hvabs__backend_find(const char *name);
void hvabs__vm_lock(struct hvabs_vm *vm);
void hvabs__vm_unlock(struct hvabs_vm *vm);
void hvabs__io_init(struct hvabs_vm *vm);
void hvabs__io_fini(struct hvabs_vm *vm);
void hvabs__io_handler_drop(struct hvabs_io_handler *h);
void hvabs__vm_teardown(struct hvabs_vm *vm);
void hvabs__function_destroy(struct hvabs_function *fn);
int hvabs__vm_vcpu_register(struct hvabs_vm *vm, struct hvabs_vcpu *vcpu);
void hvabs__vm_vcpus_free(struct hvabs_vm *vm);
/* Kick @vcpu until no thread is inside hvabs_vcpu_run() for it (dying already set). */
void hvabs__vcpu_wait_runner(struct hvabs_vcpu *vcpu);
/* Release the backend part of @vcpu (after waiting for kicks in flight). */
void hvabs__vcpu_finalize(struct hvabs_vcpu *vcpu);
int hvabs__resources_start(struct hvabs_vm *vm);
bool hvabs__ticket_claimed(struct hvabs_vm *vm, enum hvabs_resource_type type, uint32_t label);
/* Size of a built-in type's argument, or 0 for other types. */
uint32_t hvabs__builtin_arg_size(uint32_t type);
void hvabs__resources_fini(struct hvabs_vm *vm);
/* Generic ioeventfd: IO handler that writes the eventfd (sim). */
int hvabs__ioeventfd_generic_assign(struct hvabs_function *fn,
				    const struct hvabs_fn_ioeventfd_arg *arg);
void hvabs__ioeventfd_generic_deassign(struct hvabs_function *fn);

#endif
