/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_boot.c: Gunyah backend - boot checks, the VM devicetree (generated or the VMM's) and GH_VM_SET_DTB_CONFIG. */
#include "gunyah.h"

#ifdef HVABS_GUNYAH_HAVE_FDT
#include "gunyah_dt.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/*
 * The RAM region: the memory parcel the Resource Manager loads the VM from
 * and starts vCPU 0 at offset 0 of, i.e. the region holding the devicetree.
 * That is the boot blob's region when a blob is set; otherwise the region
 * holding boot.entry when an entry is set, else the lowest region (and the
 * generated devicetree goes to its end).
 */
static const struct hvabs__region *gunyah_ram_region(const struct hvabs_vm *vm)
{
	const struct hvabs__region *best = NULL;

	if (vm->boot_set && vm->boot.blob_size)
		return hvabs__vm_region_find(vm, vm->boot.blob_addr, vm->boot.blob_size);
	if (vm->boot_set && vm->boot.entry)
		return hvabs__vm_region_find(vm, vm->boot.entry, 1);
	for (size_t i = 0; i < vm->nr_regions; i++)
		if (!best || vm->regions[i].guest_addr < best->guest_addr)
			best = &vm->regions[i];
	return best;
}

/*
 * Before v15 the Resource Manager starts vCPU 0 at the base of the
 * devicetree's region with x0 = the devicetree address; nothing else can be
 * honoured.
 */
static int gunyah_boot_check(const struct gunyah_vm *gv, const struct hvabs__region *ram,
			     uint64_t dtb_gpa)
{
	const struct hvabs_boot_config *b = &gv->base.boot;

	if (!gv->base.boot_set)
		return 0;
	if (b->entry && b->entry != ram->guest_addr)
		return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND,
					"entry 0x%llx: gunyah starts at the base 0x%llx of the "
					"devicetree's region",
					(unsigned long long)b->entry,
					(unsigned long long)ram->guest_addr);
	if (b->arg0 && b->arg0 != dtb_gpa)
		return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND,
					"arg0 0x%llx: gunyah passes the devicetree address 0x%llx",
					(unsigned long long)b->arg0, (unsigned long long)dtb_gpa);
	if (b->stack)
		return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND,
					"gunyah cannot set an initial stack pointer");
	return 0;
}

static int gunyah_dtb_config(struct gunyah_vm *gv, uint64_t gpa, uint64_t size)
{
	struct gh_vm_dtb_config c = { gpa, size };

	if (ioctl(gv->vm_fd, GH_VM_SET_DTB_CONFIG, &c) < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, "GH_VM_SET_DTB_CONFIG");
	gv->dtb_gpa = gpa;
	gv->dtb_size = size;
	return 0;
}

static bool gunyah_in(const uint32_t *arr, uint32_t n, uint32_t v)
{
	for (uint32_t i = 0; i < n; i++)
		if (arr[i] == v)
			return true;
	return false;
}

int hvabs__gunyah_dt_has(struct gunyah_vm *gv, enum hvabs_resource_type type, uint32_t label)
{
	if (!gv->dt_known)
		return 0;
	if (type == HVABS_RESOURCE_VCPU && gunyah_in(gv->dt_vcpus, gv->nr_dt_vcpus, label))
		return 0;
	if (type == HVABS_RESOURCE_BELL_TX && gunyah_in(gv->dt_bells, gv->nr_dt_bells, label))
		return 0;
	return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND,
				"resource (type %d, label %u) is not in the vm devicetree", (int)type,
				label);
}

void hvabs__gunyah_boot_fini(struct gunyah_vm *gv)
{
	hvabs__free(gv->dt_vcpus);
	hvabs__free(gv->dt_bells);
	gv->dt_vcpus = gv->dt_bells = NULL;
	gv->nr_dt_vcpus = gv->nr_dt_bells = 0;
	gv->dt_known = false;
}

#ifdef HVABS_GUNYAH_HAVE_FDT

/* ---- collecting the devicetree's content from the VM ---- */

struct gunyah_dt_lists {
	uint32_t *vcpus;
	uint32_t nr_vcpus;
	struct gunyah_dt_bell *bells;
	uint32_t nr_bells;
};

static int gunyah_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static size_t gunyah_tickets_count(struct hvabs_vm *vm, enum hvabs_resource_type type)
{
	size_t n = 0;

	for (struct hvabs__list *l = vm->tickets.next; l != &vm->tickets; l = l->next)
		n += hvabs__container_of(l, struct hvabs_ticket, node)->type == type;
	return n;
}

/*
 * Labels of @type tickets, sorted. vCPUs: ids 0..nr_vcpus-1 when nr_vcpus
 * is set, and at least the boot vCPU 0 (a Gunyah VM cannot have none).
 */
static int gunyah_labels(struct hvabs_vm *vm, enum hvabs_resource_type type, uint32_t **out,
			 uint32_t *n_out)
{
	bool fixed = type == HVABS_RESOURCE_VCPU && vm->nr_vcpus;
	size_t n = fixed ? vm->nr_vcpus : gunyah_tickets_count(vm, type), i = 0;
	uint32_t *arr = hvabs__calloc(n ? n : 1, sizeof(*arr));

	if (!arr)
		return hvabs__error_nomem(GUNYAH_BACKEND);
	for (; fixed && i < n; i++)
		arr[i] = (uint32_t)i;
	for (struct hvabs__list *l = vm->tickets.next; !fixed && l != &vm->tickets; l = l->next) {
		struct hvabs_ticket *t = hvabs__container_of(l, struct hvabs_ticket, node);

		if (t->type == type)
			arr[i++] = t->label;
	}
	if (type == HVABS_RESOURCE_VCPU && n == 0)
		arr[n++] = 0;
	qsort(arr, n, sizeof(*arr), gunyah_u32_cmp);
	*out = arr;
	*n_out = (uint32_t)n;
	return 0;
}

/* A doorbell is level-triggered when the irqfd that claims it says so. */
static bool gunyah_bell_level(struct hvabs_vm *vm, uint32_t label)
{
	for (struct hvabs__list *l = vm->functions.next; l != &vm->functions; l = l->next) {
		struct hvabs_function *fn = hvabs__container_of(l, struct hvabs_function, node);
		struct hvabs_fn_irqfd_arg a;

		if (fn->ops->type != HVABS_FN_IRQFD || fn->arg_size != sizeof(a))
			continue;
		memcpy(&a, fn->arg, sizeof(a));
		if (a.label == label)
			return a.flags & HVABS_IRQFD_LEVEL;
	}
	return false;
}

static void gunyah_lists_free(struct gunyah_dt_lists *l)
{
	hvabs__free(l->vcpus);
	hvabs__free(l->bells);
	memset(l, 0, sizeof(*l));
}

static int gunyah_lists_collect(struct hvabs_vm *vm, struct gunyah_dt_lists *l)
{
	uint32_t *labels;
	int ret;

	memset(l, 0, sizeof(*l));
	ret = gunyah_labels(vm, HVABS_RESOURCE_VCPU, &l->vcpus, &l->nr_vcpus);
	if (ret)
		return ret;
	ret = gunyah_labels(vm, HVABS_RESOURCE_BELL_TX, &labels, &l->nr_bells);
	if (ret)
		goto out_free;
	l->bells = hvabs__calloc(l->nr_bells ? l->nr_bells : 1, sizeof(*l->bells));
	if (!l->bells) {
		hvabs__free(labels);
		ret = hvabs__error_nomem(GUNYAH_BACKEND);
		goto out_free;
	}
	for (uint32_t i = 0; i < l->nr_bells; i++) {
		l->bells[i].label = labels[i];
		l->bells[i].level = gunyah_bell_level(vm, labels[i]);
	}
	hvabs__free(labels);
	for (uint32_t i = 0; i < l->nr_bells; i++)
		if (l->bells[i].label > GUNYAH_DT_MAX_SPI) {
			ret = hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					       "doorbell label %u is above the last SPI %u",
					       l->bells[i].label, GUNYAH_DT_MAX_SPI);
			goto out_free;
		}
	return 0;

out_free:
	gunyah_lists_free(l);
	return ret;
}

#define GUNYAH_GIB (1ull << 30)

/*
 * memory/size-max: the guest address window from the RAM base in which
 * Gunyah maps memory and reports MMIO; it covers every region above the
 * base, rounded up to 1 GiB, and at least 4 GiB (clipped at the top of
 * the address space).
 */
static uint64_t gunyah_ipa_size(const struct hvabs_vm *vm, const struct hvabs__region *ram)
{
	uint64_t top = ram->guest_addr + ram->size, span;

	for (size_t i = 0; i < vm->nr_regions; i++)
		if (vm->regions[i].guest_addr + vm->regions[i].size > top)
			top = vm->regions[i].guest_addr + vm->regions[i].size;
	span = top - ram->guest_addr;
	span = span < 4 * GUNYAH_GIB ? 4 * GUNYAH_GIB : span;
	if (span % GUNYAH_GIB)
		span += GUNYAH_GIB - span % GUNYAH_GIB;
	if (ram->guest_addr + span < ram->guest_addr) /* up to the last page */
		span = ~ram->guest_addr & ~(uint64_t)(HVABS_PAGE_SIZE - 1);
	return span;
}

/* Build the devicetree of @vm into a new buffer (*blob_out, freed by the caller). */
static int gunyah_dt_generate(struct hvabs_vm *vm, void **blob_out, size_t *size_out)
{
	const struct hvabs__region *ram = gunyah_ram_region(vm);
	struct gunyah_dt_lists l;
	struct gunyah_dt_cfg cfg;
	size_t cap;
	void *buf = NULL;
	int ret;

	if (!ram)
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"the vm devicetree needs a memory region%s",
					vm->boot_set && vm->boot.entry ? " holding the entry" : "");
	ret = gunyah_lists_collect(vm, &l);
	if (ret)
		return ret;
	cfg = (struct gunyah_dt_cfg){ GUNYAH_DT_IMAGE_NAME, GUNYAH_DT_OS_TYPE, ram->guest_addr,
				      ram->size, gunyah_ipa_size(vm, ram), l.vcpus, l.nr_vcpus,
				      l.bells, l.nr_bells };
	cap = 2048 + 128 * (size_t)l.nr_vcpus + 256 * (size_t)l.nr_bells;
	for (ret = HVABS_ENOMEM; ret == HVABS_ENOMEM; cap *= 2) {
		hvabs__free(buf);
		buf = hvabs__malloc(cap);
		if (!buf) {
			ret = hvabs__error_nomem(GUNYAH_BACKEND);
			break;
		}
		ret = hvabs__gunyah_dt_build(&cfg, buf, cap, size_out);
	}
	gunyah_lists_free(&l);
	if (ret) {
		hvabs__free(buf);
		return ret == HVABS_ENOMEM ? ret
					   : hvabs__error_set(ret, 0, GUNYAH_BACKEND,
							      "building the vm devicetree");
	}
	*blob_out = buf;
	return 0;
}

/* Record which vCPUs and doorbells a devicetree names (for resource_create). */
static int gunyah_dt_learn(struct gunyah_vm *gv, const void *blob, size_t size)
{
	struct gunyah_dt_info info;
	struct gunyah_dt_bell *bells;
	void *copy = NULL;
	int ret;

	/* libfdt reads only 8-byte aligned blobs; a dtb=user blob may sit anywhere in guest memory. */
	if ((uintptr_t)blob & 7) {
		copy = hvabs__malloc(size);
		if (!copy)
			return hvabs__error_nomem(GUNYAH_BACKEND);
		memcpy(copy, blob, size);
		blob = copy;
	}
	memset(&info, 0, sizeof(info));
	if (hvabs__gunyah_dt_parse(blob, size, &info)) {
		hvabs__free(copy);
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"the boot blob is not a gunyah vm devicetree");
	}
	info.vcpus = hvabs__calloc(info.nr_vcpus + 1, sizeof(*info.vcpus));
	bells = hvabs__calloc(info.nr_bells + 1, sizeof(*bells));
	gv->dt_bells = hvabs__calloc(info.nr_bells + 1, sizeof(*gv->dt_bells));
	if (!info.vcpus || !bells || !gv->dt_bells) {
		ret = hvabs__error_nomem(GUNYAH_BACKEND);
		goto out_free;
	}
	info.vcpus_cap = info.nr_vcpus;
	info.bells = bells;
	info.bells_cap = info.nr_bells;
	hvabs__gunyah_dt_parse(blob, size, &info);
	for (uint32_t i = 0; i < info.nr_bells; i++)
		gv->dt_bells[i] = bells[i].label;
	gv->nr_dt_bells = info.nr_bells;
	gv->dt_vcpus = info.vcpus;
	gv->nr_dt_vcpus = info.nr_vcpus;
	gv->dt_known = true;
	hvabs__free(bells);
	hvabs__free(copy);
	return 0;

out_free:
	hvabs__free(info.vcpus);
	hvabs__free(bells);
	hvabs__free(gv->dt_bells);
	gv->dt_bells = NULL;
	hvabs__free(copy);
	return ret;
}

/*
 * Generated devicetree: at boot.blob_addr (it must fit blob_size), or else
 * in the last pages of the RAM region.
 */
static int gunyah_dt_place(struct gunyah_vm *gv, const struct hvabs__region *ram, size_t size,
			   uint64_t *gpa_out)
{
	const struct hvabs_boot_config *b = &gv->base.boot;
	uint64_t span = (size + HVABS_PAGE_SIZE - 1) & ~(uint64_t)(HVABS_PAGE_SIZE - 1);

	if (gv->base.boot_set && b->blob_size) {
		if (size > b->blob_size)
			return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
						"the vm devicetree needs %zu bytes, the boot blob "
						"has %llu",
						size, (unsigned long long)b->blob_size);
		*gpa_out = b->blob_addr;
		return 0;
	}
	if (span > ram->size)
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"the vm devicetree (%zu bytes) does not fit in ram", size);
	*gpa_out = ram->guest_addr + ram->size - span;
	return 0;
}

static int gunyah_boot_generated(struct gunyah_vm *gv)
{
	struct hvabs_vm *vm = &gv->base;
	const struct hvabs__region *ram = gunyah_ram_region(vm), *dst;
	uint64_t gpa = 0;
	size_t size;
	void *blob;
	int ret;

	ret = gunyah_dt_generate(vm, &blob, &size);
	if (ret)
		return ret;
	ret = gunyah_dt_place(gv, ram, size, &gpa);
	ret = ret ? ret : gunyah_boot_check(gv, ram, gpa);
	ret = ret ? ret : gunyah_dt_learn(gv, blob, size);
	if (ret)
		goto out_free;
	dst = hvabs__vm_region_find(vm, gpa, size);
	memcpy((char *)dst->host_addr + (gpa - dst->guest_addr), blob, size);
	ret = gunyah_dtb_config(gv, gpa, size);

out_free:
	hvabs__free(blob);
	return ret;
}

int hvabs_gunyah_dt_build(struct hvabs_vm *vm, void *buf, size_t size, size_t *size_out)
{
	size_t need;
	void *blob;
	int ret;

	if (!vm || vm->ops != &hvabs__gunyah_backend || !size_out || (size && !buf))
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"hvabs_gunyah_dt_build needs a gunyah vm and size_out");
	hvabs__vm_lock(vm);
	ret = gunyah_dt_generate(vm, &blob, &need);
	hvabs__vm_unlock(vm);
	if (ret)
		return ret;
	*size_out = need;
	if (need <= size)
		memcpy(buf, blob, need);
	else if (buf || size)
		ret = hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
				       "buffer of %zu bytes, the devicetree needs %zu", size, need);
	hvabs__free(blob);
	return ret;
}

#else /* !HVABS_GUNYAH_HAVE_FDT */

static int gunyah_boot_generated(struct gunyah_vm *gv)
{
	(void)gv;
	return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND,
				"built without libfdt: pass the devicetree with dtb=user");
}

/* Without a reader the VMM's devicetree is trusted to name every resource. */
static int gunyah_dt_learn(struct gunyah_vm *gv, const void *blob, size_t size)
{
	(void)blob, (void)size;
	gv->dt_known = false;
	return 0;
}

int hvabs_gunyah_dt_build(struct hvabs_vm *vm, void *buf, size_t size, size_t *size_out)
{
	(void)vm, (void)buf, (void)size, (void)size_out;
	return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND, "built without libfdt");
}

#endif

/* dtb=user: the VMM filled the boot blob; announce it as it is. */
static int gunyah_boot_user(struct gunyah_vm *gv)
{
	struct hvabs_vm *vm = &gv->base;
	const struct hvabs_boot_config *b = &vm->boot;
	const struct hvabs__region *ram = gunyah_ram_region(vm), *blob;
	int ret;

	if (!vm->boot_set || !b->blob_size)
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"dtb=user needs the devicetree as the boot blob");
	if (!ram)
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND, "no ram region");
	ret = gunyah_boot_check(gv, ram, b->blob_addr);
	if (ret)
		return ret;
	blob = hvabs__vm_region_find(vm, b->blob_addr, b->blob_size); /* checked by core */
	ret = gunyah_dt_learn(gv, (const char *)blob->host_addr + (b->blob_addr - blob->guest_addr),
			      b->blob_size);
	return ret ? ret : gunyah_dtb_config(gv, b->blob_addr, b->blob_size);
}

int hvabs__gunyah_boot_start(struct gunyah_vm *gv)
{
	hvabs__gunyah_boot_fini(gv);
	return gv->dtb_user ? gunyah_boot_user(gv) : gunyah_boot_generated(gv);
}

int hvabs_gunyah_vm_dtb(struct hvabs_vm *vm, uint64_t *gpa_out, uint64_t *size_out)
{
	struct gunyah_vm *gv;
	enum hvabs_vm_state st;
	int ret = 0;

	if (!vm || vm->ops != &hvabs__gunyah_backend || !gpa_out || !size_out)
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"hvabs_gunyah_vm_dtb needs a gunyah vm and both outputs");
	gv = gunyah_vm_of(vm);
	hvabs__vm_lock(vm);
	st = hvabs__vm_state(vm);
	if (st == HVABS_VM_LOAD || st == HVABS_VM_DESTROYED || !gv->dtb_size) {
		ret = hvabs__error_set(HVABS_ESTATE, 0, GUNYAH_BACKEND,
				       "no devicetree announced (state %s)", hvabs_vm_state_name(st));
	} else {
		*gpa_out = gv->dtb_gpa;
		*size_out = gv->dtb_size;
	}
	hvabs__vm_unlock(vm);
	return ret;
}
