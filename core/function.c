/* SPDX-License-Identifier: MIT */
/* core/function.c: the function-type registry, function modules and instance add/remove. */
#include "internal.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Registry: a sorted array of types under one global mutex (control plane
 * only). Each entry counts its live instances: unregister refuses while
 * any exist instead of tearing them down behind their VMs (seed defect 6).
 */
struct hvabs__fn_type {
	uint32_t type;
	const struct hvabs_function_type *ops;
	unsigned long instances;
	bool builtin;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hvabs__fn_type *reg_types; /* sorted by type; [0..2] built-ins until registered */
static size_t reg_n, reg_cap;

extern const struct hvabs_function_type hvabs__fn_vcpu_type, hvabs__fn_irqfd_type,
	hvabs__fn_ioeventfd_type;

static struct hvabs__fn_type reg_builtins[] = {
	{ HVABS_FN_VCPU, &hvabs__fn_vcpu_type, 0, true },
	{ HVABS_FN_IRQFD, &hvabs__fn_irqfd_type, 0, true },
	{ HVABS_FN_IOEVENTFD, &hvabs__fn_ioeventfd_type, 0, true },
};

/* User types live in reg_types (library memory); built-ins are static. */
static struct hvabs__fn_type *reg_find(uint32_t type, size_t *pos)
{
	size_t lo = 0, hi = reg_n;

	for (size_t i = 0; i < sizeof(reg_builtins) / sizeof(reg_builtins[0]); i++)
		if (reg_builtins[i].type == type)
			return &reg_builtins[i];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reg_types[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < reg_n && reg_types[lo].type == type ? &reg_types[lo] : NULL;
}

static bool is_builtin(uint32_t type)
{
	return type == HVABS_FN_VCPU || type == HVABS_FN_IRQFD || type == HVABS_FN_IOEVENTFD;
}

int hvabs_function_type_register(const struct hvabs_function_type *t)
{
	size_t pos = 0;
	int ret;

	if (!t)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "function type is NULL");
	ret = hvabs__check_version(t->version, HVABS_FUNCTION_TYPE_VERSION, "hvabs_function_type");
	if (ret)
		return ret;
	if (!t->bind || !t->unbind || !t->name)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "function type needs name, bind, unbind");
	if (is_builtin(t->type) || t->type == 0)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "type %u is reserved", t->type);
	pthread_mutex_lock(&reg_lock);
	if (reg_find(t->type, &pos)) {
		ret = hvabs__error_set(HVABS_EEXIST, 0, "core", "function type %u is registered",
				       t->type);
		goto out_unlock;
	}
	if (reg_n == reg_cap) {
		size_t cap = reg_cap ? reg_cap * 2 : 8;
		struct hvabs__fn_type *arr = hvabs__realloc(reg_types, cap * sizeof(*arr));

		if (!arr) {
			ret = hvabs__error_nomem("core");
			goto out_unlock;
		}
		reg_types = arr;
		reg_cap = cap;
	}
	memmove(&reg_types[pos + 1], &reg_types[pos], (reg_n - pos) * sizeof(*reg_types));
	reg_types[pos] = (struct hvabs__fn_type){ t->type, t, 0, false };
	reg_n++;
out_unlock:
	pthread_mutex_unlock(&reg_lock);
	return ret;
}

int hvabs_function_type_unregister(uint32_t type)
{
	struct hvabs__fn_type *e;
	size_t pos = 0;
	int ret = 0;

	if (is_builtin(type))
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "built-in type %u", type);
	pthread_mutex_lock(&reg_lock);
	e = reg_find(type, &pos);
	if (!e)
		ret = hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "function type %u is not registered",
				       type);
	else if (e->instances)
		ret = hvabs__error_set(HVABS_EBUSY, 0, "core", "function type %u has %lu instances",
				       type, e->instances);
	else {
		memmove(&reg_types[pos], &reg_types[pos + 1], (reg_n - pos - 1) * sizeof(*reg_types));
		if (--reg_n == 0) {
			hvabs__free(reg_types);
			reg_types = NULL;
			reg_cap = 0;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return ret;
}

/* Pin a type for a new instance. The registry entry may move: keep the ops. */
static const struct hvabs_function_type *reg_get(uint32_t type)
{
	struct hvabs__fn_type *e;
	const struct hvabs_function_type *ops = NULL;

	pthread_mutex_lock(&reg_lock);
	e = reg_find(type, NULL);
	if (e) {
		e->instances++;
		ops = e->ops;
	}
	pthread_mutex_unlock(&reg_lock);
	return ops;
}

static void reg_put(uint32_t type)
{
	struct hvabs__fn_type *e;

	pthread_mutex_lock(&reg_lock);
	e = reg_find(type, NULL);
	if (e)
		e->instances--;
	pthread_mutex_unlock(&reg_lock);
}

/* ---- function modules ---- */

static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;

int hvabs_function_module_load(const char *path)
{
	int (*init)(void);
	void *h;
	int ret;

	if (!path)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "module path is NULL");
	pthread_mutex_lock(&mod_lock);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *err = dlerror();

		ret = hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "dlopen: %s", err ? err : path);
		goto out_unlock;
	}
	*(void **)(&init) = dlsym(h, HVABS_FUNCTION_MODULE_INIT);
	if (!init) {
		ret = hvabs__error_set(HVABS_EINVAL, 0, "core", "%s has no %s", path,
				       HVABS_FUNCTION_MODULE_INIT);
		dlclose(h);
		goto out_unlock;
	}
	/* Modules stay loaded: instances may run their code until process exit. */
	ret = init();
	if (ret == HVABS_EEXIST)
		ret = 0; /* loaded before: its types are already there */
out_unlock:
	pthread_mutex_unlock(&mod_lock);
	return ret;
}

/* One attempt per directory of $HVABS_FUNCTION_PATH to load hvabs-fn-<type>.so. */
static void module_autoload(uint32_t type)
{
	const char *env = getenv("HVABS_FUNCTION_PATH");
	char path[4096];

	while (env && *env) {
		size_t n = strcspn(env, ":");

		if (n && n < sizeof(path) - 32) {
			snprintf(path, sizeof(path), "%.*s/hvabs-fn-%u.so", (int)n, env, type);
			if (access(path, R_OK) == 0 && hvabs_function_module_load(path) == 0)
				return;
		}
		env += n;
		if (*env == ':')
			env++;
	}
}

/* ---- instances ---- */

/* Checked before anything is copied: a built-in argument has one size. */
static int fn_desc_check(const struct hvabs_fn_desc *desc)
{
	uint32_t want;

	if (!desc)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "function descriptor is NULL");
	if (desc->arg_size > HVABS_FN_MAX_ARG_SIZE)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "arg_size %u exceeds %u",
					desc->arg_size, HVABS_FN_MAX_ARG_SIZE);
	if (desc->arg_size && !desc->arg)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "arg is NULL with arg_size %u",
					desc->arg_size);
	want = hvabs__builtin_arg_size(desc->type);
	if (want && desc->arg_size != want)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "argument of type %u must be %u bytes",
					desc->type, want);
	return 0;
}

static const struct hvabs_function_type *fn_type_get(uint32_t type)
{
	const struct hvabs_function_type *ops = reg_get(type);

	if (ops)
		return ops;
	module_autoload(type);
	ops = reg_get(type);
	if (!ops)
		hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "unknown function type %u", type);
	return ops;
}

static int vm_check_functional(struct hvabs_vm *vm)
{
	enum hvabs_vm_state st = hvabs__vm_state(vm);

	if (st != HVABS_VM_LOAD && st != HVABS_VM_READY && st != HVABS_VM_RUNNING)
		return hvabs__error_set(HVABS_ESTATE, 0, "core", "function change in state %s",
					hvabs_vm_state_name(st));
	return 0;
}

int hvabs_vm_function_add(struct hvabs_function **out, struct hvabs_vm *vm,
			  const struct hvabs_fn_desc *desc)
{
	const struct hvabs_function_type *ops;
	struct hvabs_function *fn;
	int ret;

	ret = fn_desc_check(desc);
	if (ret)
		return ret;
	ops = fn_type_get(desc->type);
	if (!ops)
		return HVABS_ENOTFOUND;
	fn = hvabs__calloc(1, sizeof(*fn) + desc->arg_size);
	if (!fn) {
		ret = hvabs__error_nomem("core");
		goto out_put_type;
	}
	fn->vm = vm;
	fn->ops = ops;
	fn->arg_size = desc->arg_size;
	if (desc->arg_size)
		memcpy(fn->arg, desc->arg, desc->arg_size);

	hvabs__vm_lock(vm);
	ret = vm_check_functional(vm);
	if (ret)
		goto out_unlock;
	hvabs_vm_get(vm);
	hvabs_error_clear();
	ret = ops->bind(fn);
	if (ret) {
		/* A user type's bind has no way to fill in the detail: name the failure here. */
		if (hvabs_error_last()->code != ret)
			hvabs__error_set(ret, 0, "core", "bind of function type %u (%s) failed: %d",
					 ops->type, ops->name, ret);
		goto out_put_vm;
	}
	fn->seq = ++vm->seq;
	hvabs__list_add_tail(&vm->functions, &fn->node);
	hvabs__vm_unlock(vm);
	if (out)
		*out = fn;
	return 0;

out_put_vm:
	atomic_fetch_sub_explicit(&vm->ref, 1, memory_order_acq_rel);
out_unlock:
	hvabs__vm_unlock(vm);
	hvabs__free(fn);
out_put_type:
	reg_put(desc->type);
	return ret;
}

/* Unbind and free @fn (vm->lock held by the caller); drops its VM reference. */
void hvabs__function_destroy(struct hvabs_function *fn)
{
	struct hvabs_vm *vm = fn->vm;
	uint32_t type = fn->ops->type;

	fn->ops->unbind(fn);
	hvabs__list_del(&fn->node);
	hvabs__free(fn);
	reg_put(type);
	/* The creator (or a caller) still holds a reference while this runs. */
	atomic_fetch_sub_explicit(&vm->ref, 1, memory_order_acq_rel);
}

static bool fn_matches(const struct hvabs_function *fn, const struct hvabs_fn_desc *desc)
{
	if (fn->ops->type != desc->type)
		return false;
	if (fn->ops->compare)
		return fn->ops->compare(fn, desc->arg, desc->arg_size);
	/* desc->arg may be NULL with arg_size 0: memcmp() must not see it. */
	return fn->arg_size == desc->arg_size &&
	       (desc->arg_size == 0 || memcmp(fn->arg, desc->arg, desc->arg_size) == 0);
}

static bool fn_linked(struct hvabs_vm *vm, const struct hvabs_function *fn, uint64_t seq)
{
	for (struct hvabs__list *n = vm->functions.next; n != &vm->functions; n = n->next)
		if (n == &fn->node && fn->seq == seq)
			return true;
	return false;
}

/*
 * Destroy @fn (vm->lock held once by the caller). A vCPU's runner is stopped
 * first with the lock released: its guest thread may be inside an IO
 * handler that needs the lock. Fails with ENOTFOUND if another thread
 * removed the function meanwhile.
 */
static int fn_remove_locked(struct hvabs_vm *vm, struct hvabs_function *fn)
{
	struct hvabs_vcpu *vcpu = fn->vcpu;
	uint64_t seq = fn->seq;

	if (vcpu && atomic_load(&vcpu->running)) {
		atomic_store_explicit(&vcpu->dying, true, memory_order_seq_cst);
		hvabs__vm_unlock(vm);
		hvabs__vcpu_wait_runner(vcpu);
		hvabs__vm_lock(vm);
		if (!fn_linked(vm, fn, seq))
			return hvabs__error_set(HVABS_ENOTFOUND, 0, "core",
						"function removed concurrently");
	}
	hvabs__function_destroy(fn);
	return 0;
}

int hvabs_vm_function_remove(struct hvabs_vm *vm, const struct hvabs_fn_desc *desc)
{
	int ret = fn_desc_check(desc);

	if (ret)
		return ret;
	hvabs__vm_lock(vm);
	for (struct hvabs__list *n = vm->functions.next; n != &vm->functions; n = n->next) {
		struct hvabs_function *fn = hvabs__container_of(n, struct hvabs_function, node);

		if (fn_matches(fn, desc)) {
			ret = fn_remove_locked(vm, fn);
			hvabs__vm_unlock(vm);
			return ret;
		}
	}
	hvabs__vm_unlock(vm);
	return hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "no function of type %u matches",
				desc->type);
}

int hvabs_function_remove(struct hvabs_function *fn)
{
	struct hvabs_vm *vm;
	int ret;

	if (!fn)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "function is NULL");
	vm = fn->vm;
	hvabs__vm_lock(vm);
	ret = fn_remove_locked(vm, fn);
	hvabs__vm_unlock(vm);
	return ret;
}

struct hvabs_vm *hvabs_function_vm(const struct hvabs_function *fn)
{
	return fn->vm;
}

uint32_t hvabs_function_type_id(const struct hvabs_function *fn)
{
	return fn->ops->type;
}

const void *hvabs_function_arg(const struct hvabs_function *fn, uint32_t *size_out)
{
	if (size_out)
		*size_out = fn->arg_size;
	return fn->arg;
}

struct hvabs_vcpu *hvabs_function_vcpu(const struct hvabs_function *fn)
{
	return fn->vcpu;
}

void hvabs_function_set_data(struct hvabs_function *fn, void *data)
{
	fn->data = data;
}

void *hvabs_function_data(const struct hvabs_function *fn)
{
	return fn->data;
}

void *hvabs_function_type_payload(const struct hvabs_function *fn)
{
	return fn->ops->payload;
}
