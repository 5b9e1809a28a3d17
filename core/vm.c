/* SPDX-License-Identifier: MIT */
/* core/vm.c: VM lifecycle - creation, state machine, memory regions, boot setup, teardown. */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

static const char *const hvabs__state_names[] = {
	[HVABS_VM_LOAD] = "LOAD",
	[HVABS_VM_READY] = "READY",
	[HVABS_VM_RUNNING] = "RUNNING",
	[HVABS_VM_EXITED] = "EXITED",
	[HVABS_VM_CRASHED] = "CRASHED",
	[HVABS_VM_INIT_FAILED] = "INIT_FAILED",
	[HVABS_VM_DESTROYED] = "DESTROYED",
};

const char *hvabs_vm_state_name(enum hvabs_vm_state state)
{
	if ((unsigned int)state >= sizeof(hvabs__state_names) / sizeof(hvabs__state_names[0]))
		return "UNKNOWN";
	return hvabs__state_names[state];
}

void hvabs__vm_lock(struct hvabs_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
}

void hvabs__vm_unlock(struct hvabs_vm *vm)
{
	pthread_mutex_unlock(&vm->lock);
}

static void vm_set_state(struct hvabs_vm *vm, enum hvabs_vm_state state)
{
	pthread_mutex_lock(&vm->status_lock);
	vm->status.state = state;
	atomic_store_explicit(&vm->state, (int)state, memory_order_seq_cst);
	pthread_mutex_unlock(&vm->status_lock);
}

int hvabs_vm_options_init(struct hvabs_vm_options *opts, unsigned int version)
{
	int ret = hvabs__check_version(version, HVABS_VM_OPTIONS_VERSION, "hvabs_vm_options");

	if (ret)
		return ret;
	memset(opts, 0, sizeof(*opts));
	opts->version = version;
	return 0;
}

static int vm_options_check(const struct hvabs_vm_options *opts)
{
	int ret = hvabs__check_version(opts->version, HVABS_VM_OPTIONS_VERSION, "hvabs_vm_options");

	if (ret)
		return ret;
	if (opts->flags)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown vm flags 0x%x", opts->flags);
	if ((unsigned int)opts->arch > HVABS_ARCH_ARM64)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown arch %d", (int)opts->arch);
	return 0;
}

static int vm_alloc(struct hvabs_vm **out, const struct hvabs__backend_ops *ops,
		    const struct hvabs_vm_options *opts)
{
	pthread_mutexattr_t attr;
	struct hvabs_vm *vm;
	size_t size = ops->vm_size > sizeof(*vm) ? ops->vm_size : sizeof(*vm);

	vm = hvabs__calloc(1, size);
	if (!vm)
		return hvabs__error_nomem("core");
	vm->ops = ops;
	atomic_init(&vm->ref, 1);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&vm->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&vm->status_lock, NULL);
	pthread_mutex_init(&vm->vcpus_lock, NULL);
	atomic_init(&vm->state, HVABS_VM_LOAD);
	vm->status.state = HVABS_VM_LOAD;
	vm->arch = opts->arch;
	vm->nr_vcpus = opts->nr_vcpus;
	vm->flags = opts->flags;
	hvabs__list_init(&vm->functions);
	hvabs__list_init(&vm->tickets);
	hvabs__list_init(&vm->io_handlers);
	hvabs__list_init(&vm->resources);
	hvabs__io_init(vm);
	*out = vm;
	return 0;
}

static void vm_free(struct hvabs_vm *vm)
{
	hvabs__vm_vcpus_free(vm);
	pthread_mutex_destroy(&vm->vcpus_lock);
	pthread_mutex_destroy(&vm->status_lock);
	pthread_mutex_destroy(&vm->lock);
	hvabs__free(vm);
}

int hvabs_vm_create(struct hvabs_vm **out, const struct hvabs_vm_options *opts)
{
	struct hvabs_vm_options defaults = HVABS_VM_OPTIONS_INIT;
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	const struct hvabs__backend_ops *ops;
	const char *name;
	struct hvabs_vm *vm = NULL;
	int ret;

	if (!opts)
		opts = &defaults;
	ret = vm_options_check(opts);
	if (ret)
		return ret;
	/*
	 * A single explicitly named backend is not probed here: its vm_init
	 * sees backend_config (e.g. another device path) and reports ENODEV.
	 */
	if (opts->backend && !strchr(opts->backend, ',')) {
		ops = hvabs__backend_find(opts->backend);
		if (!ops)
			return hvabs__error_set(HVABS_ENOTFOUND, 0, "core",
						"backend '%s' is not compiled in", opts->backend);
	} else {
		ret = hvabs_backend_select(&name, opts->backend);
		if (ret)
			return ret;
		ops = hvabs__backend_find(name);
	}
	ops->caps(NULL, &caps);
	if (opts->arch != HVABS_ARCH_NONE && !(caps.archs & (1u << opts->arch)))
		return hvabs__error_set(HVABS_ENOTSUP, 0, ops->name, "guest arch %d not supported",
					(int)opts->arch);
	if (opts->nr_vcpus > caps.max_vcpus)
		return hvabs__error_set(HVABS_EINVAL, 0, ops->name, "%u vcpus exceed the maximum %u",
					opts->nr_vcpus, caps.max_vcpus);
	ret = vm_alloc(&vm, ops, opts);
	if (ret)
		return ret;
	ret = ops->vm_init(vm, opts);
	if (ret)
		goto out_free;
	*out = vm;
	return 0;

out_free:
	vm_free(vm);
	return ret;
}

void hvabs_vm_get(struct hvabs_vm *vm)
{
	atomic_fetch_add_explicit(&vm->ref, 1, memory_order_relaxed);
}

void hvabs_vm_put(struct hvabs_vm *vm)
{
	if (!vm)
		return;
	if (atomic_fetch_sub_explicit(&vm->ref, 1, memory_order_acq_rel) != 1)
		return;
	hvabs__vm_teardown(vm);
	vm_free(vm);
}

unsigned int hvabs_vm_refcount(const struct hvabs_vm *vm)
{
	return atomic_load_explicit(&vm->ref, memory_order_relaxed);
}

void hvabs_vm_destroy(struct hvabs_vm *vm)
{
	if (!vm)
		return;
	hvabs__vm_teardown(vm);
	hvabs_vm_put(vm);
}

const char *hvabs_vm_backend_name(const struct hvabs_vm *vm)
{
	return vm->ops->name;
}

enum hvabs_arch hvabs_vm_arch(const struct hvabs_vm *vm)
{
	return vm->arch;
}

/*
 * Kick every vCPU and wait until none is inside hvabs_vcpu_run(). No lock is
 * held while waiting: a guest thread finishing its last access may need one.
 */
static void vm_quiesce_vcpus(struct hvabs_vm *vm)
{
	size_t n;
	struct hvabs_vcpu **v = hvabs__vm_vcpus(vm, &n);

	for (size_t i = 0; i < n; i++) {
		atomic_store_explicit(&v[i]->dying, true, memory_order_seq_cst);
		hvabs_vcpu_kick(v[i]);
	}
	for (size_t i = 0; i < n; i++)
		hvabs__vcpu_wait_runner(v[i]);
}

/* The newest of the VM's functions, tickets and IO handlers, as a list node. */
static struct hvabs__list *vm_newest(struct hvabs_vm *vm, int *kind)
{
	uint64_t best = 0;
	struct hvabs__list *node = NULL;

	if (!hvabs__list_empty(&vm->functions)) {
		struct hvabs_function *fn =
			hvabs__container_of(vm->functions.prev, struct hvabs_function, node);
		best = fn->seq, node = &fn->node, *kind = 0;
	}
	if (!hvabs__list_empty(&vm->tickets)) {
		struct hvabs_ticket *t =
			hvabs__container_of(vm->tickets.prev, struct hvabs_ticket, node);
		if (!node || t->seq > best)
			best = t->seq, node = &t->node, *kind = 1;
	}
	if (!hvabs__list_empty(&vm->io_handlers)) {
		struct hvabs_io_handler *h =
			hvabs__container_of(vm->io_handlers.prev, struct hvabs_io_handler, node);
		if (!node || h->seq > best)
			node = &h->node, *kind = 2;
	}
	return node;
}

/* Remove functions, tickets and handlers, newest first. */
static void vm_teardown_objects(struct hvabs_vm *vm)
{
	struct hvabs__list *node;
	int kind = 0;

	while ((node = vm_newest(vm, &kind)) != NULL) {
		if (kind == 0)
			hvabs__function_destroy(
				hvabs__container_of(node, struct hvabs_function, node));
		else if (kind == 1)
			hvabs_ticket_remove(hvabs__container_of(node, struct hvabs_ticket, node));
		else
			hvabs__io_handler_drop(
				hvabs__container_of(node, struct hvabs_io_handler, node));
	}
}

static void vm_release_regions(struct hvabs_vm *vm)
{
	for (size_t i = 0; i < vm->nr_regions; i++)
		if (vm->regions[i].owned)
			munmap(vm->regions[i].host_addr, vm->regions[i].size);
	hvabs__free(vm->regions);
	vm->regions = NULL;
	vm->nr_regions = 0;
}

/*
 * Tear everything down whatever the state (LOAD, INIT_FAILED, RUNNING,
 * EXITED, CRASHED alike - the seed's LOAD_FAILED defect is not repeated).
 */
void hvabs__vm_teardown(struct hvabs_vm *vm)
{
	enum hvabs_vm_state prev;

	hvabs__vm_lock(vm);
	prev = hvabs__vm_state(vm);
	if (prev == HVABS_VM_DESTROYED) {
		hvabs__vm_unlock(vm);
		return;
	}
	vm_set_state(vm, HVABS_VM_DESTROYED);
	hvabs__vm_unlock(vm);

	vm_quiesce_vcpus(vm);

	hvabs__vm_lock(vm);
	vm->io_quiesced = true;
	if (prev != HVABS_VM_LOAD && vm->ops->vm_stop)
		vm->ops->vm_stop(vm);
	vm_teardown_objects(vm);
	hvabs__resources_fini(vm);
	vm->ops->vm_fini(vm);
	hvabs__io_fini(vm);
	vm_release_regions(vm);
	hvabs__vm_unlock(vm);
}

/* ---- memory regions ---- */

static int vm_check_loadable(struct hvabs_vm *vm, const char *what)
{
	enum hvabs_vm_state st = hvabs__vm_state(vm);

	if (st != HVABS_VM_LOAD)
		return hvabs__error_set(HVABS_ESTATE, 0, "core", "%s in state %s (needs LOAD)", what,
					hvabs_vm_state_name(st));
	return 0;
}

static int region_check(struct hvabs_vm *vm, const struct hvabs_mem_region *r)
{
	const uint32_t known = HVABS_MEM_RWX | HVABS_MEM_LENT;
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	int ret;

	ret = hvabs__check_version(r->version, HVABS_MEM_REGION_VERSION, "hvabs_mem_region");
	if (ret)
		return ret;
	if (r->flags & ~known)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown memory flags 0x%x", r->flags);
	if (!(r->flags & HVABS_MEM_RWX))
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "region without access rights");
	if (r->size == 0 || (r->size | r->guest_addr) % HVABS_PAGE_SIZE ||
	    (uintptr_t)r->host_addr % HVABS_PAGE_SIZE)
		return hvabs__error_set(HVABS_EINVAL, 0, "core",
					"region address, size and host address must be non-zero "
					"multiples of %u",
					HVABS_PAGE_SIZE);
	if (r->guest_addr + r->size < r->guest_addr)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "region wraps the address space");
	hvabs_vm_caps(vm, &caps);
	if ((r->flags & ~caps.mem_flags) != 0)
		return hvabs__error_set(HVABS_ENOTSUP, 0, vm->ops->name,
					"memory flags 0x%x not supported", r->flags & ~caps.mem_flags);
	return 0;
}

static int region_check_conflicts(struct hvabs_vm *vm, const struct hvabs_mem_region *r)
{
	for (size_t i = 0; i < vm->nr_regions; i++) {
		const struct hvabs__region *o = &vm->regions[i];

		if (o->label == r->label)
			return hvabs__error_set(HVABS_EEXIST, 0, "core", "region label %u in use",
						r->label);
		if (r->guest_addr < o->guest_addr + o->size && o->guest_addr < r->guest_addr + r->size)
			return hvabs__error_set(HVABS_EEXIST, 0, "core",
						"region overlaps region %u", o->label);
	}
	return 0;
}

/*
 * Room for one more region, made before the backend maps it: once the
 * backend has the region, recording it cannot fail (a backend that cannot
 * remove regions could not undo the mapping).
 */
static int region_reserve(struct hvabs_vm *vm)
{
	struct hvabs__region *arr;

	arr = hvabs__realloc(vm->regions, (vm->nr_regions + 1) * sizeof(*arr));
	if (!arr)
		return hvabs__error_nomem("core");
	vm->regions = arr;
	return 0;
}

int hvabs_vm_mem_add(struct hvabs_vm *vm, const struct hvabs_mem_region *region)
{
	struct hvabs__region nr;
	int ret;

	if (!region)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "region is NULL");
	ret = region_check(vm, region);
	if (ret)
		return ret;
	hvabs__vm_lock(vm);
	ret = vm_check_loadable(vm, "adding memory");
	if (!ret)
		ret = region_check_conflicts(vm, region);
	if (!ret)
		ret = region_reserve(vm);
	if (ret)
		goto out_unlock;
	nr = (struct hvabs__region){ region->label, region->flags, region->guest_addr,
				     region->size, region->host_addr, false };
	if (!nr.host_addr) {
		nr.host_addr = mmap(NULL, nr.size, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (nr.host_addr == MAP_FAILED) {
			ret = hvabs__error_set(HVABS_ENOMEM, errno, "core", "mmap of guest memory");
			goto out_unlock;
		}
		nr.owned = true;
	}
	ret = vm->ops->mem_add ? vm->ops->mem_add(vm, &nr) : 0;
	if (ret)
		goto out_unmap;
	vm->regions[vm->nr_regions++] = nr;
	hvabs__vm_unlock(vm);
	return 0;

out_unmap:
	if (nr.owned)
		munmap(nr.host_addr, nr.size);
out_unlock:
	hvabs__vm_unlock(vm);
	return ret;
}

int hvabs_vm_mem_remove(struct hvabs_vm *vm, uint32_t label)
{
	size_t i;
	int ret;

	hvabs__vm_lock(vm);
	ret = vm_check_loadable(vm, "removing memory");
	if (ret)
		goto out_unlock;
	for (i = 0; i < vm->nr_regions && vm->regions[i].label != label; i++)
		;
	if (i == vm->nr_regions) {
		ret = hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "no region labelled %u", label);
		goto out_unlock;
	}
	if (!vm->ops->mem_remove) {
		ret = hvabs__error_set(HVABS_ENOTSUP, 0, vm->ops->name, "regions cannot be removed");
		goto out_unlock;
	}
	ret = vm->ops->mem_remove(vm, &vm->regions[i]);
	if (ret)
		goto out_unlock;
	if (vm->regions[i].owned)
		munmap(vm->regions[i].host_addr, vm->regions[i].size);
	memmove(&vm->regions[i], &vm->regions[i + 1],
		(vm->nr_regions - i - 1) * sizeof(vm->regions[0]));
	vm->nr_regions--;
out_unlock:
	hvabs__vm_unlock(vm);
	return ret;
}

const struct hvabs__region *hvabs__vm_region_find(const struct hvabs_vm *vm, uint64_t gpa,
						  uint64_t len)
{
	for (size_t i = 0; i < vm->nr_regions; i++) {
		const struct hvabs__region *r = &vm->regions[i];

		if (gpa >= r->guest_addr && len <= r->size && gpa - r->guest_addr <= r->size - len)
			return r;
	}
	return NULL;
}

void *hvabs_vm_mem_host(struct hvabs_vm *vm, uint64_t gpa, uint64_t len)
{
	const struct hvabs__region *r;
	void *p = NULL;

	hvabs__vm_lock(vm);
	r = hvabs__vm_region_find(vm, gpa, len);
	if (r)
		p = (char *)r->host_addr + (gpa - r->guest_addr);
	hvabs__vm_unlock(vm);
	return p;
}

/* ---- boot and start ---- */

static int boot_check(struct hvabs_vm *vm, const struct hvabs_boot_config *b)
{
	int ret = hvabs__check_version(b->version, HVABS_BOOT_CONFIG_VERSION, "hvabs_boot_config");

	if (ret)
		return ret;
	if (b->cpu_mode > HVABS_CPU_MODE_ARM64_EL1)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown cpu mode %u", b->cpu_mode);
	if (b->blob_addr + b->blob_size < b->blob_addr)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "boot blob range overflows");
	if (b->scratch_addr % HVABS_PAGE_SIZE)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "scratch area not page aligned");
	if (b->cpu_mode >= HVABS_CPU_MODE_X86_REAL && b->cpu_mode <= HVABS_CPU_MODE_X86_LONG64 &&
	    vm->arch != HVABS_ARCH_X86_64)
		return hvabs__error_set(HVABS_ENOTSUP, 0, "core", "x86 cpu mode on a non-x86 vm");
	if (b->cpu_mode == HVABS_CPU_MODE_ARM64_EL1 && vm->arch != HVABS_ARCH_ARM64)
		return hvabs__error_set(HVABS_ENOTSUP, 0, "core", "arm64 cpu mode on a non-arm64 vm");
	if ((b->cpu_mode == HVABS_CPU_MODE_X86_PROT32 || b->cpu_mode == HVABS_CPU_MODE_X86_LONG64) &&
	    b->scratch_addr == 0)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "cpu mode needs a scratch area");
	return 0;
}

int hvabs_vm_boot_set(struct hvabs_vm *vm, const struct hvabs_boot_config *boot)
{
	int ret;

	if (!boot)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "boot config is NULL");
	ret = boot_check(vm, boot);
	if (ret)
		return ret;
	hvabs__vm_lock(vm);
	ret = vm_check_loadable(vm, "boot setup");
	if (!ret) {
		vm->boot = *boot;
		vm->boot.version = HVABS_BOOT_CONFIG_VERSION;
		vm->boot_set = true;
	}
	hvabs__vm_unlock(vm);
	return ret;
}

static int vm_start_checks(struct hvabs_vm *vm)
{
	const struct hvabs_boot_config *b = &vm->boot;

	if (vm->nr_regions == 0)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "vm has no memory region");
	if (b->blob_size && !hvabs__vm_region_find(vm, b->blob_addr, b->blob_size))
		return hvabs__error_set(HVABS_EINVAL, 0, "core",
					"boot blob [0x%llx, +0x%llx) is not inside one region",
					(unsigned long long)b->blob_addr,
					(unsigned long long)b->blob_size);
	if (b->scratch_addr && !hvabs__vm_region_find(vm, b->scratch_addr, 0x10000))
		return hvabs__error_set(HVABS_EINVAL, 0, "core",
					"scratch area is not 64 KiB inside one region");
	return 0;
}

int hvabs_vm_start(struct hvabs_vm *vm)
{
	enum hvabs_vm_state st;
	int ret;

	hvabs__vm_lock(vm);
	st = hvabs__vm_state(vm);
	if (st == HVABS_VM_RUNNING) {
		hvabs__vm_unlock(vm);
		return 0;
	}
	if (st != HVABS_VM_LOAD) {
		hvabs__vm_unlock(vm);
		return hvabs__error_set(HVABS_ESTATE, 0, "core", "start in state %s",
					hvabs_vm_state_name(st));
	}
	ret = vm_start_checks(vm);
	if (ret)
		goto out_failed;
	vm_set_state(vm, HVABS_VM_READY);
	ret = vm->ops->vm_start ? vm->ops->vm_start(vm) : 0;
	if (ret)
		goto out_failed;
	ret = hvabs__resources_start(vm);
	if (ret)
		goto out_failed;
	vm_set_state(vm, HVABS_VM_RUNNING);
	hvabs__vm_unlock(vm);
	return 0;

out_failed:
	vm_set_state(vm, HVABS_VM_INIT_FAILED);
	hvabs__vm_unlock(vm);
	return ret;
}

void hvabs_vm_status_get(struct hvabs_vm *vm, struct hvabs_vm_status *status)
{
	pthread_mutex_lock(&vm->status_lock);
	*status = vm->status;
	pthread_mutex_unlock(&vm->status_lock);
}

void hvabs__vm_set_stopped(struct hvabs_vm *vm, bool crashed, uint16_t exit_type,
			   const void *reason, uint32_t reason_size)
{
	bool changed = false;

	pthread_mutex_lock(&vm->status_lock);
	if (hvabs__vm_state(vm) == HVABS_VM_RUNNING) {
		vm->status.state = crashed ? HVABS_VM_CRASHED : HVABS_VM_EXITED;
		vm->status.exit_type = exit_type;
		vm->status.reason_size = reason_size > 8 ? 8 : reason_size;
		memset(vm->status.reason, 0, sizeof(vm->status.reason));
		if (reason)
			memcpy(vm->status.reason, reason, vm->status.reason_size);
		atomic_store_explicit(&vm->state, (int)vm->status.state, memory_order_seq_cst);
		changed = true;
	}
	pthread_mutex_unlock(&vm->status_lock);
	if (!changed)
		return;
	size_t n;
	struct hvabs_vcpu **v = hvabs__vm_vcpus(vm, &n);

	for (size_t i = 0; i < n; i++)
		hvabs_vcpu_kick(v[i]);
}
