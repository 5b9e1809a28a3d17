/* SPDX-License-Identifier: MIT */
/* hvabs/function.h: VM functions (vCPU, irqfd, ioeventfd, user types) and their registry. */
#ifndef HVABS_FUNCTION_H
#define HVABS_FUNCTION_H

#include "hvabs/backend.h"
#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;
struct hvabs_vcpu;
struct hvabs_function;

/* Built-in function types (values equal Gunyah's GH_FN_*). */
#define HVABS_FN_VCPU 1u
#define HVABS_FN_IRQFD 2u
#define HVABS_FN_IOEVENTFD 3u
/* User-defined types should use values >= HVABS_FN_USER_MIN. */
#define HVABS_FN_USER_MIN 0x100u

/** Largest function argument, as GH_FN_MAX_ARG_SIZE. */
#define HVABS_FN_MAX_ARG_SIZE 256u

/**
 * struct hvabs_fn_desc - a function to add or remove, as struct gh_fn_desc.
 * @type:     HVABS_FN_* or a registered user type.
 * @arg_size: bytes at @arg, at most HVABS_FN_MAX_ARG_SIZE; a built-in type
 *            requires exactly the size of its argument struct.
 * @arg:      the argument; copied, never kept.
 */
struct hvabs_fn_desc {
	uint32_t type;
	uint32_t arg_size;
	const void *arg;
};

/** Argument of HVABS_FN_VCPU (4 bytes, as gh_fn_vcpu_arg). */
struct hvabs_fn_vcpu_arg {
	uint32_t id;
};

#define HVABS_IRQFD_LEVEL (1u << 0)    /* level-triggered line */
#define HVABS_IRQFD_RESAMPLE (1u << 1) /* @resample_fd is signalled on EOI; needs LEVEL */

/**
 * struct hvabs_fn_irqfd_arg - HVABS_FN_IRQFD (16 bytes).
 * @fd:          eventfd; each write raises the interrupt of doorbell @label.
 * @label:       doorbell label (Gunyah: devicetree label; KVM: GSI; sim: line).
 * @flags:       HVABS_IRQFD_* bits.
 * @resample_fd: eventfd written when the guest EOIs a level interrupt
 *               (with HVABS_IRQFD_RESAMPLE), else -1.
 * The caller keeps ownership of both fds and must keep them open until the
 * function is removed.
 */
struct hvabs_fn_irqfd_arg {
	int32_t fd;
	uint32_t label;
	uint32_t flags;
	int32_t resample_fd;
};

#define HVABS_IOEVENTFD_DATAMATCH (1u << 0)

/**
 * struct hvabs_fn_ioeventfd_arg - HVABS_FN_IOEVENTFD (32 bytes, Gunyah layout
 * with the padding word used for the address space).
 * @datamatch: value a write must carry (with HVABS_IOEVENTFD_DATAMATCH).
 * @addr:      guest address (MMIO) or port (PIO).
 * @len:       access size 1, 2, 4 or 8; 0 matches any size (not with DATAMATCH).
 * @fd:        eventfd signalled by each matching guest write, without an exit.
 * @flags:     HVABS_IOEVENTFD_* bits.
 * @space:     enum hvabs_space.
 */
struct hvabs_fn_ioeventfd_arg {
	uint64_t datamatch;
	uint64_t addr;
	uint32_t len;
	int32_t fd;
	uint32_t flags;
	uint32_t space;
};

/**
 * hvabs_vm_function_add() - add a function instance to @vm.
 * @out: receives the instance (owned by the VM; may be NULL).
 *
 * Copies the argument, finds the type (an unknown type triggers one attempt
 * to load a function module, see hvabs_function_module_load()), takes a
 * reference on @vm and calls the type's bind. Allowed in LOAD, READY and
 * RUNNING; a resource the VM already has populates the new ticket at once.
 *
 * Return: 0; HVABS_EINVAL (arg_size > 256, wrong size for a built-in type,
 * bad flags/fd/len); HVABS_ENOTFOUND (unknown type); HVABS_ENOTSUP (backend
 * lacks the type or a flag); HVABS_EEXIST (vCPU id, irqfd label or ioeventfd
 * address already taken); HVABS_EBUSY (the eventfd already is an armed irqfd
 * of this VM: one eventfd drives one line); HVABS_ESTATE; HVABS_ENOMEM;
 * bind's code. Irqfd and ioeventfd fds must be eventfds (a pipe or file is
 * HVABS_EINVAL, as KVM and Gunyah refuse them). Thread-safe.
 */
HVABS_API int hvabs_vm_function_add(struct hvabs_function **out, struct hvabs_vm *vm,
				    const struct hvabs_fn_desc *desc);

/**
 * hvabs_vm_function_remove() - remove the first instance of desc->type whose
 * compare op matches desc->arg (irqfd: label; ioeventfd: space, addr, len,
 * flags and, with DATAMATCH, datamatch; vCPU: id). Unbinds it and drops its
 * VM reference. A vCPU is kicked and waited for first.
 * Return: 0; HVABS_ENOTFOUND when nothing matched; HVABS_EINVAL (bad
 * descriptor, or a built-in type with the wrong arg_size).
 * Thread-safe; not from a callback of the instance being removed.
 */
HVABS_API int hvabs_vm_function_remove(struct hvabs_vm *vm, const struct hvabs_fn_desc *desc);

/** hvabs_function_remove() - remove one instance by handle (same contract). */
HVABS_API int hvabs_function_remove(struct hvabs_function *fn);

/**
 * hvabs_vm_vcpu_add() - typed HVABS_FN_VCPU helper.
 * @vcpu_out: receives the vCPU handle, owned by the VM (valid until the
 *            function is removed or the VM destroyed).
 */
HVABS_API int hvabs_vm_vcpu_add(struct hvabs_vcpu **vcpu_out, struct hvabs_vm *vm, uint32_t id);

/** hvabs_vm_irqfd_add() - typed HVABS_FN_IRQFD helper (resample_fd -1 for none). */
HVABS_API int hvabs_vm_irqfd_add(struct hvabs_function **out, struct hvabs_vm *vm, int fd,
				 uint32_t label, uint32_t flags, int resample_fd);

/** hvabs_vm_ioeventfd_add() - typed HVABS_FN_IOEVENTFD helper. */
HVABS_API int hvabs_vm_ioeventfd_add(struct hvabs_function **out, struct hvabs_vm *vm,
				     enum hvabs_space space, uint64_t addr, uint32_t len, int fd,
				     uint32_t flags, uint64_t datamatch);

/* Accessors for bind/unbind implementations and VMMs. */
HVABS_API struct hvabs_vm *hvabs_function_vm(const struct hvabs_function *fn);
HVABS_API uint32_t hvabs_function_type_id(const struct hvabs_function *fn);
/** hvabs_function_arg() - the instance's copy of its argument; @size_out may be NULL. */
HVABS_API const void *hvabs_function_arg(const struct hvabs_function *fn, uint32_t *size_out);
/** hvabs_function_vcpu() - the vCPU of an HVABS_FN_VCPU instance, else NULL. */
HVABS_API struct hvabs_vcpu *hvabs_function_vcpu(const struct hvabs_function *fn);
/** Private data slot for the type's implementation (not touched by core). */
HVABS_API void hvabs_function_set_data(struct hvabs_function *fn, void *data);
HVABS_API void *hvabs_function_data(const struct hvabs_function *fn);

#define HVABS_FUNCTION_TYPE_VERSION 1

/**
 * struct hvabs_function_type - an ops table for a kind of function.
 * @type:    the number used in hvabs_fn_desc.type.
 * @name:    short name for diagnostics.
 * @bind:    required. Set the instance up (tickets, IO handlers, data);
 *           return 0 or an HVABS_E* code. Called with the VM's lock held;
 *           it may call hvabs_* functions on the same VM.
 * @unbind:  required. Undo bind. Must release whatever bind registered.
 * @compare: optional: does instance @fn match removal argument @arg? NULL
 *           means byte equality of the argument.
 * @payload: passed back through hvabs_function_type_payload().
 *
 * The structure must stay valid and unchanged while registered.
 */
struct hvabs_function_type {
	unsigned int version;
	uint32_t type;
	const char *name;
	int (*bind)(struct hvabs_function *fn);
	void (*unbind)(struct hvabs_function *fn);
	bool (*compare)(const struct hvabs_function *fn, const void *arg, uint32_t size);
	void *payload;
};

/**
 * hvabs_function_type_register() - make a type available to every VM.
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (NULL bind/unbind/name, or a
 * built-in type number); HVABS_EEXIST (type already registered);
 * HVABS_ENOMEM. Thread-safe.
 */
HVABS_API int hvabs_function_type_register(const struct hvabs_function_type *type);

/**
 * hvabs_function_type_unregister() - remove a type.
 * Return: 0; HVABS_ENOTFOUND; HVABS_EBUSY while instances exist (they are
 * never torn down behind their VM's back); HVABS_EINVAL for built-ins.
 */
HVABS_API int hvabs_function_type_unregister(uint32_t type);

/** hvabs_function_type_payload() - @payload of the instance's type. */
HVABS_API void *hvabs_function_type_payload(const struct hvabs_function *fn);

/**
 * Function modules. A module is a shared object exporting
 *     int hvabs_function_module_init(void);
 * which registers its types. When hvabs_vm_function_add() meets an unknown
 * type T, it tries once, for each directory D of $HVABS_FUNCTION_PATH
 * (colon-separated), to dlopen "D/hvabs-fn-T.so" (T in decimal) and run its
 * init, then looks T up again. Modules stay loaded until process exit.
 */
#define HVABS_FUNCTION_MODULE_INIT "hvabs_function_module_init"

/**
 * hvabs_function_module_load() - load one module file explicitly.
 * Return: 0 (also when the module's types are registered already: an init
 * returning HVABS_EEXIST counts as success); HVABS_ENOTFOUND (dlopen
 * failed; dlerror() text in the detail); HVABS_EINVAL (no init symbol);
 * init's other codes.
 */
HVABS_API int hvabs_function_module_load(const char *path);

HVABS_END_DECLS

#endif
