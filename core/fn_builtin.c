/* SPDX-License-Identifier: MIT */
/* core/fn_builtin.c: the built-in function types - vCPU, irqfd and ioeventfd. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int builtin_check(struct hvabs_function *fn, uint32_t size, const char *name)
{
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	uint32_t type = fn->ops->type;

	if (fn->arg_size != size)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "%s argument must be %u bytes, not %u",
					name, size, fn->arg_size);
	hvabs_vm_caps(fn->vm, &caps);
	if (!(caps.fn_types & (1u << type)))
		return hvabs__error_set(HVABS_ENOTSUP, 0, fn->vm->ops->name, "no %s functions", name);
	return 0;
}

/*
 * Only an eventfd will do, as for KVM and Gunyah (eventfd_ctx_fdget): an open
 * pipe, socket, device or file is as wrong as a closed number, on every
 * backend. One fstat() tells: eventfds live on the anonymous inode, which has
 * no file type bits. It cannot tell an eventfd from other anonymous-inode fds
 * (epoll, timerfd, signalfd); KVM and Gunyah refuse those in the kernel.
 * (Reading /proc/self/fd/N would be exact but costs ~2.7 µs per add here.)
 */
static int fd_check(int fd, const char *what)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return hvabs__error_set(HVABS_EINVAL, fd < 0 ? 0 : errno, "core", "bad %s fd %d", what,
					fd);
	if ((st.st_mode & S_IFMT) != 0)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "%s fd %d is not an eventfd", what,
					fd);
	return 0;
}

/* ---- vCPU ---- */

static int vcpu_populate(struct hvabs_ticket *t, const struct hvabs_resource *res, void *payload)
{
	struct hvabs_vcpu *vcpu = payload;

	(void)t;
	vcpu->res = res;
	return 0;
}

static void vcpu_unpopulate(struct hvabs_ticket *t, const struct hvabs_resource *res,
			    void *payload)
{
	struct hvabs_vcpu *vcpu = payload;

	(void)t;
	(void)res;
	vcpu->res = NULL;
}

/*
 * A removed vCPU's object stays in vm->vcpus (stale handles remain
 * memory-safe); adding the same id again reuses it, so hot-plugging does
 * not grow memory. *reused tells whether it is already registered.
 */
static struct hvabs_vcpu *vcpu_find_dead(struct hvabs_vm *vm, uint32_t id)
{
	size_t n;
	struct hvabs_vcpu **v = hvabs__vm_vcpus(vm, &n);

	for (size_t i = 0; i < n; i++)
		if (v[i]->id == id && atomic_load(&v[i]->finalized) && !atomic_load(&v[i]->running))
			return v[i];
	return NULL;
}

static int vcpu_alloc(struct hvabs_vcpu **out, bool *reused, struct hvabs_function *fn,
		      uint32_t id)
{
	struct hvabs_vm *vm = fn->vm;
	size_t size = vm->ops->vcpu_size > sizeof(**out) ? vm->ops->vcpu_size : sizeof(**out);
	struct hvabs_vcpu *vcpu = vcpu_find_dead(vm, id);

	*reused = vcpu != NULL;
	if (vcpu) {
		memset((char *)vcpu + sizeof(*vcpu), 0, size - sizeof(*vcpu));
		memset(&vcpu->exit, 0, sizeof(vcpu->exit));
		memset(&vcpu->stats, 0, sizeof(vcpu->stats));
		atomic_store(&vcpu->kick, false);
	} else {
		vcpu = hvabs__calloc(1, size);
		if (!vcpu)
			return hvabs__error_nomem("core");
	}
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fn = fn;
	vcpu->res = NULL;
	vcpu->ticket = NULL;
	vcpu->exit.vcpu_id = id;
	*out = vcpu;
	return 0;
}

/* Make a fresh or reused object live: no longer dying or finalized. */
static void vcpu_revive(struct hvabs_vcpu *vcpu)
{
	atomic_store(&vcpu->dying, false);
	atomic_store(&vcpu->finalized, false);
}

/*
 * The vCPU object joins vm->vcpus only once it is complete and stays there
 * until the VM is freed, so late hvabs_vcpu_run()/kick calls on a removed
 * vCPU remain memory-safe.
 */
static int vcpu_bind(struct hvabs_function *fn)
{
	struct hvabs_ticket_desc td = { HVABS_TICKET_DESC_VERSION, HVABS_RESOURCE_VCPU, 0,
					vcpu_populate, vcpu_unpopulate, NULL };
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	struct hvabs_fn_vcpu_arg arg;
	struct hvabs_vcpu *vcpu = NULL;
	bool reused = false;
	int ret;

	ret = builtin_check(fn, sizeof(arg), "vcpu");
	if (ret)
		return ret;
	memcpy(&arg, fn->arg, sizeof(arg));
	hvabs_vm_caps(fn->vm, &caps);
	if (arg.id >= caps.max_vcpus)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "vcpu id %u >= maximum %u", arg.id,
					caps.max_vcpus);
	if (hvabs__ticket_claimed(fn->vm, HVABS_RESOURCE_VCPU, arg.id))
		return hvabs__error_set(HVABS_EEXIST, 0, "core", "vcpu %u exists", arg.id);
	ret = vcpu_alloc(&vcpu, &reused, fn, arg.id);
	if (ret)
		return ret;
	ret = fn->vm->ops->vcpu_init(vcpu);
	if (ret)
		goto out_free;
	if (!reused) {
		ret = hvabs__vm_vcpu_register(fn->vm, vcpu);
		if (ret)
			goto out_fini;
	}
	vcpu_revive(vcpu);
	td.label = arg.id;
	td.payload = vcpu;
	ret = hvabs_vm_ticket_add(&vcpu->ticket, fn->vm, &td);
	if (ret) {
		/* Registered already: it stays as a dead object until the VM is freed. */
		atomic_store(&vcpu->dying, true);
		hvabs__vcpu_finalize(vcpu);
		return ret;
	}
	fn->vcpu = vcpu;
	return 0;

out_fini:
	fn->vm->ops->vcpu_fini(vcpu);
out_free:
	if (!reused)
		hvabs__free(vcpu);
	return ret;
}

static void vcpu_unbind(struct hvabs_function *fn)
{
	struct hvabs_vcpu *vcpu = fn->vcpu;

	atomic_store_explicit(&vcpu->dying, true, memory_order_seq_cst);
	hvabs__vcpu_wait_runner(vcpu);
	hvabs_ticket_remove(vcpu->ticket);
	vcpu->ticket = NULL;
	hvabs__vcpu_finalize(vcpu);
}

static bool vcpu_compare(const struct hvabs_function *fn, const void *arg, uint32_t size)
{
	const struct hvabs_fn_vcpu_arg *a = arg;

	return size == sizeof(*a) && fn->vcpu && fn->vcpu->id == a->id;
}

const struct hvabs_function_type hvabs__fn_vcpu_type = {
	.version = HVABS_FUNCTION_TYPE_VERSION,
	.type = HVABS_FN_VCPU,
	.name = "vcpu",
	.bind = vcpu_bind,
	.unbind = vcpu_unbind,
	.compare = vcpu_compare,
};

/* ---- irqfd ---- */

/* fn->data is the ticket; the argument is read from the instance's copy. */
static const struct hvabs_fn_irqfd_arg *irqfd_arg(const struct hvabs_function *fn)
{
	return (const struct hvabs_fn_irqfd_arg *)(const void *)fn->arg;
}

static int irqfd_populate(struct hvabs_ticket *t, const struct hvabs_resource *res, void *payload)
{
	struct hvabs_function *fn = payload;

	(void)t;
	return fn->vm->ops->irqfd_assign(fn, irqfd_arg(fn), res);
}

static void irqfd_unpopulate(struct hvabs_ticket *t, const struct hvabs_resource *res,
			     void *payload)
{
	struct hvabs_function *fn = payload;

	(void)t;
	if (fn->vm->ops->irqfd_deassign)
		fn->vm->ops->irqfd_deassign(fn, irqfd_arg(fn), res);
}

static int irqfd_check(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *a)
{
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	const uint32_t known = HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE;
	int ret;

	if (a->flags & ~known)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown irqfd flags 0x%x", a->flags);
	if ((a->flags & HVABS_IRQFD_RESAMPLE) && !(a->flags & HVABS_IRQFD_LEVEL))
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "resample needs a level irqfd");
	ret = fd_check(a->fd, "irqfd");
	if (!ret && (a->flags & HVABS_IRQFD_RESAMPLE))
		ret = fd_check(a->resample_fd, "resample");
	if (ret)
		return ret;
	hvabs_vm_caps(fn->vm, &caps);
	if ((a->flags & ~caps.irqfd_flags) || !fn->vm->ops->irqfd_assign)
		return hvabs__error_set(HVABS_ENOTSUP, 0, fn->vm->ops->name,
					"irqfd flags 0x%x not supported", a->flags);
	return 0;
}

static int irqfd_bind(struct hvabs_function *fn)
{
	struct hvabs_ticket_desc td = { HVABS_TICKET_DESC_VERSION, HVABS_RESOURCE_BELL_TX, 0,
					irqfd_populate, irqfd_unpopulate, fn };
	struct hvabs_fn_irqfd_arg *a;
	struct hvabs_ticket *t;
	int ret;

	ret = builtin_check(fn, sizeof(*a), "irqfd");
	if (ret)
		return ret;
	a = (struct hvabs_fn_irqfd_arg *)(void *)fn->arg;
	if (!(a->flags & HVABS_IRQFD_RESAMPLE))
		a->resample_fd = -1;
	ret = irqfd_check(fn, a);
	if (ret)
		return ret;
	td.label = a->label;
	ret = hvabs_vm_ticket_add(&t, fn->vm, &td);
	if (ret)
		return ret;
	fn->data = t;
	return 0;
}

static void irqfd_unbind(struct hvabs_function *fn)
{
	hvabs_ticket_remove(fn->data);
	fn->data = NULL;
}

static bool irqfd_compare(const struct hvabs_function *fn, const void *arg, uint32_t size)
{
	const struct hvabs_fn_irqfd_arg *a = arg, *mine = (const void *)fn->arg;

	return size == sizeof(*a) && a->label == mine->label;
}

const struct hvabs_function_type hvabs__fn_irqfd_type = {
	.version = HVABS_FUNCTION_TYPE_VERSION,
	.type = HVABS_FN_IRQFD,
	.name = "irqfd",
	.bind = irqfd_bind,
	.unbind = irqfd_unbind,
	.compare = irqfd_compare,
};

/* ---- ioeventfd ---- */

static int ioeventfd_check(struct hvabs_function *fn, const struct hvabs_fn_ioeventfd_arg *a)
{
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	uint64_t span = a->len ? a->len : 1;
	int ret;

	if (a->len != 0 && a->len != 1 && a->len != 2 && a->len != 4 && a->len != 8)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "ioeventfd len %u", a->len);
	if (a->flags & ~HVABS_IOEVENTFD_DATAMATCH)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown ioeventfd flags 0x%x",
					a->flags);
	if ((a->flags & HVABS_IOEVENTFD_DATAMATCH) && a->len == 0)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "datamatch needs a len");
	if (a->space != HVABS_SPACE_MMIO && a->space != HVABS_SPACE_PIO)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown space %u", a->space);
	if (a->addr + span < a->addr ||
	    (a->space == HVABS_SPACE_PIO && a->addr + span - 1 > 0xffff))
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "ioeventfd address range overflows");
	ret = fd_check(a->fd, "ioeventfd");
	if (ret)
		return ret;
	hvabs_vm_caps(fn->vm, &caps);
	if (!(caps.ioeventfd_spaces & (1u << a->space)) || !(caps.ioeventfd_lens & (1u << a->len)) ||
	    (a->flags & ~caps.ioeventfd_flags))
		return hvabs__error_set(HVABS_ENOTSUP, 0, fn->vm->ops->name,
					"ioeventfd (space %u, len %u, flags 0x%x) not supported",
					a->space, a->len, a->flags);
	return 0;
}

static int ioeventfd_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
			   void *payload)
{
	const uint64_t one = 1;
	int fd = (int)(intptr_t)payload;

	(void)vcpu, (void)addr, (void)len, (void)data;
	/* EAGAIN (counter saturated) still counts as signalled, as in the kernel. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

int hvabs__ioeventfd_generic_assign(struct hvabs_function *fn,
				    const struct hvabs_fn_ioeventfd_arg *a)
{
	struct hvabs_io_desc d = {
		.version = HVABS_IO_DESC_VERSION,
		.space = (enum hvabs_space)a->space,
		.addr = a->addr,
		.size = 1,
		.len = a->len,
		.flags = (a->flags & HVABS_IOEVENTFD_DATAMATCH) ? HVABS_IO_DATAMATCH : 0,
		.data = a->datamatch,
		.write = ioeventfd_write,
		.payload = (void *)(intptr_t)a->fd,
	};
	struct hvabs_io_handler *h;
	int ret = hvabs_vm_io_handler_add(&h, fn->vm, &d);

	if (!ret)
		fn->data = h;
	return ret;
}

void hvabs__ioeventfd_generic_deassign(struct hvabs_function *fn)
{
	hvabs_io_handler_remove(fn->data);
	fn->data = NULL;
}

static int ioeventfd_bind(struct hvabs_function *fn)
{
	struct hvabs_fn_ioeventfd_arg a;
	int ret;

	ret = builtin_check(fn, sizeof(a), "ioeventfd");
	if (ret)
		return ret;
	memcpy(&a, fn->arg, sizeof(a));
	ret = ioeventfd_check(fn, &a);
	if (ret)
		return ret;
	if (fn->vm->ops->ioeventfd_assign)
		return fn->vm->ops->ioeventfd_assign(fn, &a);
	return hvabs__ioeventfd_generic_assign(fn, &a);
}

static void ioeventfd_unbind(struct hvabs_function *fn)
{
	struct hvabs_fn_ioeventfd_arg a;

	memcpy(&a, fn->arg, sizeof(a));
	if (fn->vm->ops->ioeventfd_assign)
		fn->vm->ops->ioeventfd_deassign(fn, &a);
	else
		hvabs__ioeventfd_generic_deassign(fn);
}

static bool ioeventfd_compare(const struct hvabs_function *fn, const void *arg, uint32_t size)
{
	const struct hvabs_fn_ioeventfd_arg *a = arg, *m = (const void *)fn->arg;

	if (size != sizeof(*a))
		return false;
	if (a->space != m->space || a->addr != m->addr || a->len != m->len || a->flags != m->flags)
		return false;
	return !(m->flags & HVABS_IOEVENTFD_DATAMATCH) || a->datamatch == m->datamatch;
}

const struct hvabs_function_type hvabs__fn_ioeventfd_type = {
	.version = HVABS_FUNCTION_TYPE_VERSION,
	.type = HVABS_FN_IOEVENTFD,
	.name = "ioeventfd",
	.bind = ioeventfd_bind,
	.unbind = ioeventfd_unbind,
	.compare = ioeventfd_compare,
};

uint32_t hvabs__builtin_arg_size(uint32_t type)
{
	switch (type) {
	case HVABS_FN_VCPU:
		return sizeof(struct hvabs_fn_vcpu_arg);
	case HVABS_FN_IRQFD:
		return sizeof(struct hvabs_fn_irqfd_arg);
	case HVABS_FN_IOEVENTFD:
		return sizeof(struct hvabs_fn_ioeventfd_arg);
	default:
		return 0;
	}
}

/* ---- typed helpers ---- */

int hvabs_vm_vcpu_add(struct hvabs_vcpu **vcpu_out, struct hvabs_vm *vm, uint32_t id)
{
	struct hvabs_fn_vcpu_arg arg = { id };
	struct hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(arg), &arg };
	struct hvabs_function *fn;
	int ret = hvabs_vm_function_add(&fn, vm, &d);

	if (!ret && vcpu_out)
		*vcpu_out = fn->vcpu;
	return ret;
}

int hvabs_vm_irqfd_add(struct hvabs_function **out, struct hvabs_vm *vm, int fd, uint32_t label,
		       uint32_t flags, int resample_fd)
{
	struct hvabs_fn_irqfd_arg arg = { fd, label, flags, resample_fd };
	struct hvabs_fn_desc d = { HVABS_FN_IRQFD, sizeof(arg), &arg };

	return hvabs_vm_function_add(out, vm, &d);
}

int hvabs_vm_ioeventfd_add(struct hvabs_function **out, struct hvabs_vm *vm,
			   enum hvabs_space space, uint64_t addr, uint32_t len, int fd,
			   uint32_t flags, uint64_t datamatch)
{
	struct hvabs_fn_ioeventfd_arg arg = { datamatch, addr, len, fd, flags, (uint32_t)space };
	struct hvabs_fn_desc d = { HVABS_FN_IOEVENTFD, sizeof(arg), &arg };

	return hvabs_vm_function_add(out, vm, &d);
}
