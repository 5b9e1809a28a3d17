/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_vm.c: the device and VM ioctls - CREATE_VM, memory regions, DTB config, START, functions, teardown. */
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- VM lifetime ---- */

static struct emu_vm *emu_vm_new(void)
{
	struct emu_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	if (emu_obj_init(&vm->obj, EMU_OBJ_VM, "gunyah-vm", 0, true)) {
		free(vm);
		return NULL;
	}
	vm->refs = 1;
	vm->state = GH_RM_VM_STATUS_LOAD;
	emu.nr_vms++;
	return vm;
}

/* Remove one function instance: unbind it from the sim VM and drop what it holds. */
static void emu_fn_remove(struct emu_vm *vm, struct emu_fn *fn)
{
	emu_rm_unpopulate(vm, fn);
	if (fn->vcpu) {
		struct emu_vcpu *vcpu = fn->vcpu;

		vcpu->fn = NULL;
		fn->vcpu = NULL;
		/* vcpu->vm stays valid while the vCPU file holds the VM. */
		if (!vcpu->file_open)
			vcpu->vm = NULL;
		emu_vcpu_put(vcpu);
	}
	emu_fn_free(fn);
}

void emu_fn_free(struct emu_fn *fn)
{
	if (fn->efd >= 0)
		close(fn->efd);
	free(fn);
	emu.nr_fns--;
}

/* Last reference: remove every function, release the memory, stop the sim VM. */
static void emu_vm_teardown(struct emu_vm *vm)
{
	emu_log("vm teardown (state %d)", emu_vm_state(vm));
	while (vm->fns) {
		struct emu_fn *fn = vm->fns;

		vm->fns = fn->next;
		emu_fn_remove(vm, fn);
	}
	emu_rm_stop(vm);
	while (vm->regions) {
		struct emu_region *r = vm->regions;

		vm->regions = r->next;
		free(r);
		emu.nr_regions--;
	}
	free(vm->dt_vcpus);
	free(vm->dt_bells);
	emu_obj_fini(&vm->obj);
	emu.nr_vms--;
	free(vm);
}

void emu_vm_put(struct emu_vm *vm)
{
	if (--vm->refs == 0)
		emu_vm_teardown(vm);
}

void emu_vm_file_released(struct emu_vm *vm)
{
	emu_vm_put(vm);
}

int emu_vm_state(struct emu_vm *vm)
{
	struct hvabs_vm_status st;

	if (vm->state != GH_RM_VM_STATUS_RUNNING || !vm->sim)
		return vm->state;
	emu.hv.vm_status(vm->sim, &st);
	if (st.state == HVABS_VM_EXITED)
		return GH_RM_VM_STATUS_EXITED;
	if (st.state == HVABS_VM_CRASHED)
		return GH_RM_VM_STATUS_CRASHED;
	return GH_RM_VM_STATUS_RUNNING;
}

/* ---- the device: GH_CREATE_VM ---- */

long emu_dev_ioctl(uint64_t id, uint32_t cmd, uint64_t arg)
{
	struct emu_vm *vm;
	int err, fd;

	if (cmd != GH_CREATE_VM)
		return emu_rule(R_WRONG_FD_DEV);
	err = emu_op_enter(EMU_OP_CREATE_VM);
	if (err)
		return -err;
	if (arg)
		return emu_rule(R_CREATE_VM_ARG);
	if (!emu_id_valid(id))
		return EMU_REPLIED;
	vm = emu_vm_new();
	if (!vm)
		return -ENOMEM;
	fd = emu_obj_install(&vm->obj, id, true);
	if (fd < 0 && fd != -ENOENT)
		return fd;
	/* A failed injection is undone by the IN_CLOSE of our copy. */
	return EMU_REPLIED;
}

/* ---- GH_VM_SET_USER_MEM_REGION ---- */

struct emu_region *emu_vm_region_find(struct emu_vm *vm, uint64_t gpa, uint64_t len)
{
	for (struct emu_region *r = vm->regions; r; r = r->next) {
		uint64_t base = r->r.guest_phys_addr, end = base + r->r.memory_size;

		if (gpa >= base && gpa <= end && len <= end - gpa)
			return r;
	}
	return NULL;
}

/* Would pin_user_pages(FOLL_WRITE) succeed on [addr, addr+size)? */
static bool emu_range_writable(uint64_t addr, uint64_t size)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	uint64_t cur = addr, end = addr + size;

	if (!f)
		return false;
	while (cur < end && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3)
			continue;
		if (cur >= lo && cur < hi) {
			if (perms[1] != 'w')
				break;
			cur = hi;
		}
	}
	fclose(f);
	return cur >= end;
}

static long emu_region_delete(struct emu_vm *vm, uint32_t label)
{
	for (struct emu_region **pp = &vm->regions; *pp; pp = &(*pp)->next) {
		struct emu_region *r = *pp;

		if (r->r.label == label) {
			*pp = r->next;
			free(r);
			emu.nr_regions--;
			return 0;
		}
	}
	return emu_rule(R_REGION_DELETE_MISSING);
}

static long emu_region_check(struct emu_vm *vm, const struct gh_userspace_memory_region *r)
{
	uint64_t page = (uint64_t)emu.page_size - 1;

	if (!r->memory_size)
		return emu_rule(R_REGION_SIZE0);
	if ((r->memory_size & page) || (r->guest_phys_addr & page) || (r->userspace_addr & page))
		return emu_rule(R_REGION_ALIGN);
	if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr)
		return emu_rule(R_REGION_OVERFLOW);
	for (struct emu_region *o = vm->regions; o; o = o->next)
		if (o->r.label == r->label)
			return emu_rule(R_REGION_LABEL);
	for (struct emu_region *o = vm->regions; o; o = o->next) {
		uint64_t ob = o->r.guest_phys_addr, oe = ob + o->r.memory_size;

		if (r->guest_phys_addr < oe && ob < r->guest_phys_addr + r->memory_size)
			return emu_rule(R_REGION_OVERLAP);
	}
	if (r->userspace_addr + r->memory_size < r->userspace_addr ||
	    !emu_range_writable(r->userspace_addr, r->memory_size))
		return emu_rule(R_REGION_PIN);
	return 0;
}

static long emu_vm_set_region(struct emu_vm *vm, uint64_t id, uint64_t arg)
{
	struct gh_userspace_memory_region r;
	uint32_t known = GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC;
	struct emu_region *n;
	long ret;

	if (emu_read_mem(&r, arg, sizeof(r)))
		return emu_rule(R_BAD_POINTER);
	if ((r.flags & GH_MEM_LENT) && emu_rule(R_REGION_LENT))
		return emu_rule(R_REGION_LENT);
	if (r.flags & ~(known | GH_MEM_LENT))
		return emu_rule(R_REGION_FLAGS);
	/*
	 * A caller a signal took away (EINTR, or SA_RESTART re-issues the
	 * call) must find nothing changed: checked last, after the slow pin
	 * check, as CREATE_VM, START and the function calls do.
	 */
	/* v10: size 0 deletes the region with that label. */
	if (!r.memory_size && !emu_rule(R_REGION_SIZE0))
		return emu_id_valid(id) ? emu_region_delete(vm, r.label) : EMU_REPLIED;
	ret = emu_region_check(vm, &r);
	if (ret)
		return ret;
	if (!emu_id_valid(id))
		return EMU_REPLIED;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->r = r;
	n->next = vm->regions;
	vm->regions = n;
	emu.nr_regions++;
	return 0;
}

/* ---- GH_VM_SET_DTB_CONFIG, GH_VM_START ---- */

static long emu_vm_set_dtb(struct emu_vm *vm, uint64_t arg)
{
	struct gh_vm_dtb_config c;

	if (emu_read_mem(&c, arg, sizeof(c)))
		return emu_rule(R_BAD_POINTER);
	if (c.gpa + c.size < c.gpa && emu_rule(R_DTB_OVERFLOW))
		return emu_rule(R_DTB_OVERFLOW);
	vm->dtb = c;
	return 0;
}

/* @inject: an injected errno, which START reports after binding (emu_rm_start()). */
static long emu_vm_start(struct emu_vm *vm, uint64_t id, int inject)
{
	int st = emu_vm_state(vm);

	if (st != GH_RM_VM_STATUS_LOAD && inject)
		return -inject;
	if (st == GH_RM_VM_STATUS_RUNNING)
		return emu_rule(R_START_AGAIN_RUNNING);
	if (st != GH_RM_VM_STATUS_LOAD)
		return emu_rule(R_START_AGAIN_STOPPED);
	if (!emu_id_valid(id))
		return EMU_REPLIED;
	return emu_rm_start(vm, inject);
}

/* ---- GH_VM_ADD_FUNCTION / GH_VM_REMOVE_FUNCTION ---- */

/* The emulator's own reference to the VMM's eventfd @fd (kernel: eventfd_ctx_fdget). */
static long emu_eventfd_get(int fd)
{
	char path[64], link[64];
	ssize_t n;
	int dup_fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = fd < 0 ? -1 : readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return emu_rule(R_FN_BAD_FD);
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[eventfd]"))
		return emu_rule(R_FN_NOT_EVENTFD);
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return dup_fd < 0 ? -errno : dup_fd;
}

static bool emu_fn_ticket_taken(struct emu_vm *vm, uint32_t type, uint32_t label)
{
	for (struct emu_fn *f = vm->fns; f; f = f->next)
		if (f->type == type && f->label == label)
			return true;
	return false;
}

static long emu_fn_vcpu_decode(struct emu_vm *vm, struct emu_fn *fn)
{
	if (emu.abi == EMU_ABI_V10) {
		if (fn->arg_size != 0)
			return emu_rule(R_FN_VCPU_SIZE);
		fn->label = (uint32_t)fn->arg_value;
	} else {
		struct gh_fn_vcpu_arg a;

		if (fn->arg_size != sizeof(a))
			return emu_rule(R_FN_VCPU_SIZE);
		memcpy(&a, fn->arg, sizeof(a));
		fn->label = a.id;
	}
	if (emu_fn_ticket_taken(vm, GH_FN_VCPU, fn->label))
		return emu_rule(R_FN_VCPU_DUP);
	return 0;
}

static long emu_fn_irqfd_decode(struct emu_vm *vm, struct emu_fn *fn)
{
	struct gh_fn_irqfd_arg a;
	long efd;

	if (fn->arg_size != sizeof(a))
		return emu_rule(R_FN_IRQFD_SIZE);
	memcpy(&a, fn->arg, sizeof(a));
	if ((a.flags & ~GH_IRQFD_LEVEL) && emu_rule(R_FN_IRQFD_FLAGS))
		return emu_rule(R_FN_IRQFD_FLAGS);
	efd = emu_eventfd_get((int)a.fd);
	if (efd < 0)
		return efd;
	fn->efd = (int)efd;
	fn->label = a.label;
	fn->flags = a.flags;
	if (emu_fn_ticket_taken(vm, GH_FN_IRQFD, fn->label))
		return emu_rule(R_FN_IRQFD_DUP);
	return 0;
}

/* IO-handler tree order of each ABI: equal means a collision (gunyah-abi.md section 4). */
static bool emu_ioh_same(const struct emu_fn *a, const struct emu_fn *b)
{
	bool adm = a->flags & GH_IOEVENTFD_DATAMATCH, bdm = b->flags & GH_IOEVENTFD_DATAMATCH;

	if (a->addr != b->addr)
		return false;
	if ((a->len == 0) != (b->len == 0))
		return true;
	if (a->len != b->len)
		return false;
	if (emu.abi == EMU_ABI_V10)
		return adm == bdm; /* v10 defect: the flag is compared, never the data */
	if (adm != bdm)
		return true;
	return !adm || a->datamatch == b->datamatch;
}

static long emu_fn_ioeventfd_decode(struct emu_vm *vm, struct emu_fn *fn)
{
	struct gh_fn_ioeventfd_arg a;
	long efd;

	if (fn->arg_size != sizeof(a))
		return emu_rule(R_FN_IOEVENTFD_SIZE);
	memcpy(&a, fn->arg, sizeof(a));
	if ((a.flags & ~GH_IOEVENTFD_DATAMATCH) && emu_rule(R_FN_IOEVENTFD_FLAGS))
		return emu_rule(R_FN_IOEVENTFD_FLAGS);
	if (a.len != 0 && a.len != 1 && a.len != 2 && a.len != 4 && a.len != 8)
		return emu_rule(R_FN_IOEVENTFD_LEN);
	if ((a.flags & GH_IOEVENTFD_DATAMATCH) && a.len == 0)
		return emu_rule(R_FN_IOEVENTFD_DM_LEN0);
	if (a.addr + a.len < a.addr)
		return emu_rule(R_FN_IOEVENTFD_OVERFLOW);
	efd = emu_eventfd_get(a.fd);
	if (efd < 0)
		return efd;
	fn->efd = (int)efd;
	fn->addr = a.addr;
	fn->len = a.len;
	fn->flags = a.flags;
	fn->datamatch = a.datamatch;
	for (struct emu_fn *f = vm->fns; f; f = f->next)
		if (f->type == GH_FN_IOEVENTFD && emu_ioh_same(f, fn))
			return emu_rule(R_FN_IOEVENTFD_COLLIDE);
	return 0;
}

/* Read desc and its argument into a new instance (not yet linked). */
static long emu_fn_read(struct emu_fn **out, uint64_t arg)
{
	struct gh_fn_desc d;
	struct emu_fn *fn;

	if (emu_read_mem(&d, arg, sizeof(d)))
		return emu_rule(R_BAD_POINTER);
	if (d.arg_size > GH_FN_MAX_ARG_SIZE)
		return emu_rule(R_FN_ARG_SIZE);
	fn = calloc(1, sizeof(*fn));
	if (!fn)
		return -ENOMEM;
	emu.nr_fns++;
	fn->efd = -1;
	fn->type = d.type;
	fn->arg_size = d.arg_size;
	if (d.arg_size == 0 && emu.abi == EMU_ABI_V10) {
		fn->arg_value = d.arg;
	} else if (emu_read_mem(fn->arg, d.arg, d.arg_size)) {
		emu_fn_free(fn);
		return emu_rule(R_BAD_POINTER);
	}
	*out = fn;
	return 0;
}

static void emu_fn_link(struct emu_vm *vm, struct emu_fn *fn)
{
	struct emu_fn **pp = &vm->fns;

	while (*pp)
		pp = &(*pp)->next;
	*pp = fn;
}

static void emu_fn_unlink(struct emu_vm *vm, struct emu_fn *fn)
{
	for (struct emu_fn **pp = &vm->fns; *pp; pp = &(*pp)->next) {
		if (*pp == fn) {
			*pp = fn->next;
			return;
		}
	}
}

/* vCPU: the result is the new vCPU fd, injected here. */
static long emu_fn_add_vcpu(struct emu_vm *vm, struct emu_fn *fn, uint64_t id)
{
	struct emu_vcpu *vcpu;
	long ret;
	int fd;

	ret = emu_vcpu_create(&vcpu, vm, fn);
	if (ret)
		return ret;
	emu_fn_link(vm, fn);
	ret = emu_rm_populate(vm, fn);
	if (ret) {
		emu_fn_unlink(vm, fn);
		emu_fn_remove(vm, fn);
		emu_vcpu_file_released(vcpu);
		return ret;
	}
	fd = emu_obj_install(&vcpu->obj, id, true);
	if (fd < 0) {
		/* The VMM never got the fd: the function must not stay behind. */
		emu_fn_unlink(vm, fn);
		emu_fn_remove(vm, fn);
		return fd == -ENOENT ? EMU_REPLIED : fd;
	}
	return EMU_REPLIED;
}

static long emu_vm_add_function(struct emu_vm *vm, uint64_t id, uint64_t arg)
{
	struct emu_fn *fn;
	long ret;

	ret = emu_fn_read(&fn, arg);
	if (ret)
		return ret;
	switch (fn->type) {
	case GH_FN_VCPU:
		ret = emu_fn_vcpu_decode(vm, fn);
		break;
	case GH_FN_IRQFD:
		ret = emu_fn_irqfd_decode(vm, fn);
		break;
	case GH_FN_IOEVENTFD:
		ret = emu_fn_ioeventfd_decode(vm, fn);
		break;
	default:
		ret = emu_rule(R_FN_UNKNOWN_TYPE);
		break;
	}
	if (!ret && !emu_id_valid(id))
		ret = EMU_REPLIED;
	if (ret) {
		emu_fn_free(fn);
		return ret;
	}
	if (fn->type == GH_FN_VCPU)
		return emu_fn_add_vcpu(vm, fn, id);
	emu_fn_link(vm, fn);
	ret = emu_rm_populate(vm, fn);
	if (ret) {
		emu_fn_unlink(vm, fn);
		emu_fn_remove(vm, fn);
	}
	return ret;
}

/* v10: raw bytes (or the by-value argument) must be identical. */
static bool emu_fn_match_v10(const struct emu_fn *f, const struct emu_fn *key)
{
	if (f->arg_size != key->arg_size)
		return false;
	if (!key->arg_size)
		return f->arg_value == key->arg_value;
	return !memcmp(f->arg, key->arg, key->arg_size);
}

/* v13+: per-type compare (vCPU id; irqfd label; ioeventfd addr, len, flags, datamatch). */
static bool emu_fn_match_v14(const struct emu_fn *f, const struct emu_fn *key)
{
	struct gh_fn_vcpu_arg v;
	struct gh_fn_irqfd_arg i;
	struct gh_fn_ioeventfd_arg e;

	switch (f->type) {
	case GH_FN_VCPU:
		if (key->arg_size != sizeof(v))
			return false;
		memcpy(&v, key->arg, sizeof(v));
		return v.id == f->label;
	case GH_FN_IRQFD:
		if (key->arg_size != sizeof(i))
			return false;
		memcpy(&i, key->arg, sizeof(i));
		return i.label == f->label;
	default:
		if (key->arg_size != sizeof(e))
			return false;
		memcpy(&e, key->arg, sizeof(e));
		if (e.addr != f->addr || e.len != f->len || e.flags != f->flags)
			return false;
		return !(e.flags & GH_IOEVENTFD_DATAMATCH) || e.datamatch == f->datamatch;
	}
}

static long emu_vm_remove_function(struct emu_vm *vm, uint64_t id, uint64_t arg)
{
	struct emu_fn *key, **pp;
	bool found = false;
	long ret;

	ret = emu_fn_read(&key, arg);
	if (ret)
		return ret;
	if (!emu_id_valid(id)) {
		emu_fn_free(key);
		return EMU_REPLIED;
	}
	pp = &vm->fns;
	while (*pp) {
		struct emu_fn *f = *pp;
		bool match = f->type == key->type && (emu.abi == EMU_ABI_V10
							      ? emu_fn_match_v10(f, key)
							      : emu_fn_match_v14(f, key));

		if (!match) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		emu_fn_remove(vm, f);
		found = true;
	}
	emu_fn_free(key);
	return found ? 0 : emu_rule(R_REMOVE_NO_MATCH);
}

/* ---- dispatch ---- */

static enum emu_op emu_vm_op(uint32_t cmd)
{
	switch (cmd) {
	case GH_VM_SET_USER_MEM_REGION:
		return EMU_OP_SET_USER_MEM_REGION;
	case GH_VM_SET_DTB_CONFIG:
		return EMU_OP_SET_DTB_CONFIG;
	case GH_VM_START:
		return EMU_OP_START;
	case GH_VM_ADD_FUNCTION:
		return EMU_OP_ADD_FUNCTION;
	default:
		return EMU_OP_REMOVE_FUNCTION;
	}
}

long emu_vm_ioctl(struct emu_vm *vm, uint64_t id, uint32_t cmd, uint64_t arg)
{
	int err;

	switch (cmd) {
	case GH_VM_SET_USER_MEM_REGION:
	case GH_VM_SET_DTB_CONFIG:
	case GH_VM_START:
	case GH_VM_ADD_FUNCTION:
	case GH_VM_REMOVE_FUNCTION:
		break;
	default:
		return emu_rule(R_WRONG_FD_VM);
	}
	err = emu_op_enter(emu_vm_op(cmd));
	/* An injected START failure happens late: see emu_rm_start(). */
	if (err && cmd != GH_VM_START)
		return -err;
	switch (cmd) {
	case GH_VM_SET_USER_MEM_REGION:
		return emu_vm_set_region(vm, id, arg);
	case GH_VM_SET_DTB_CONFIG:
		return emu_vm_set_dtb(vm, arg);
	case GH_VM_START:
		return emu_vm_start(vm, id, err);
	case GH_VM_ADD_FUNCTION:
		return emu_vm_add_function(vm, id, arg);
	default:
		return emu_vm_remove_function(vm, id, arg);
	}
}
