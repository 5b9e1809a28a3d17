/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_rm.c: the emulated Resource Manager - VM devicetree, start, and the sim VM that runs the guest. */
#include "emu.h"

#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

/*
 * The devicetree accepted at GH_VM_START (docs/gunyah-emulator.md):
 *   /cpus/<any>                     device_type = "cpu"; reg = <id> (1 or 2 cells)
 *   /gunyah-vm-config               image-name, os-type: strings
 *     memory                        base-address, size-min: 1 or 2 cells
 *     vcpus                         affinity = "proxy"
 *     vdevices/<any>                vdevice-type = "doorbell"; label = <u32>
 * Anything else is ignored. vCPU ids are below EMU_MAX_VCPU_ID.
 */
#define EMU_MAX_VCPU_ID 64u

struct emu_dt {
	const void *fdt;
	uint32_t *vcpus;
	uint32_t nr_vcpus;
	uint32_t *bells;
	uint32_t nr_bells;
	uint64_t mem_base;
	uint64_t mem_size;
};

static int emu_dt_reject(const char *why)
{
	emu_log("devicetree rejected: %s", why);
	return emu_rule(R_START_DT_INVALID);
}

/* A 1-cell or 2-cell number. */
static bool emu_dt_number(const void *fdt, int node, const char *name, uint64_t *out)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	if (!p || (len != 4 && len != 8))
		return false;
	*out = len == 4 ? fdt32_to_cpu(p[0])
			: ((uint64_t)fdt32_to_cpu(p[0]) << 32) | fdt32_to_cpu(p[1]);
	return true;
}

static bool emu_dt_string_is(const void *fdt, int node, const char *name, const char *want)
{
	int len;
	const char *p = fdt_getprop(fdt, node, name, &len);

	return p && len > 0 && p[len - 1] == '\0' && (!want || !strcmp(p, want));
}

static int emu_dt_push(uint32_t **arr, uint32_t *n, uint32_t v)
{
	uint32_t *a;

	for (uint32_t i = 0; i < *n; i++)
		if ((*arr)[i] == v)
			return emu_dt_reject("duplicate vcpu id or doorbell label");
	a = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!a)
		return -ENOMEM;
	a[(*n)++] = v;
	*arr = a;
	return 0;
}

static int emu_dt_cpus(struct emu_dt *dt)
{
	int cpus = fdt_path_offset(dt->fdt, "/cpus"), node, ret;

	if (cpus < 0)
		return emu_dt_reject("no /cpus");
	fdt_for_each_subnode(node, dt->fdt, cpus) {
		uint64_t id;

		if (!emu_dt_string_is(dt->fdt, node, "device_type", "cpu"))
			continue;
		if (!emu_dt_number(dt->fdt, node, "reg", &id) || id >= EMU_MAX_VCPU_ID)
			return emu_dt_reject("cpu node without a reg below 64");
		ret = emu_dt_push(&dt->vcpus, &dt->nr_vcpus, (uint32_t)id);
		if (ret)
			return ret;
	}
	return dt->nr_vcpus ? 0 : emu_dt_reject("no cpu node under /cpus");
}

static int emu_dt_bells(struct emu_dt *dt, int config)
{
	int vdev = fdt_subnode_offset(dt->fdt, config, "vdevices"), node, ret;

	if (vdev < 0)
		return 0;
	fdt_for_each_subnode(node, dt->fdt, vdev) {
		uint64_t label;

		if (!emu_dt_string_is(dt->fdt, node, "vdevice-type", "doorbell"))
			continue;
		if (!emu_dt_number(dt->fdt, node, "label", &label) || label > UINT32_MAX)
			return emu_dt_reject("doorbell without a 32-bit label");
		ret = emu_dt_push(&dt->bells, &dt->nr_bells, (uint32_t)label);
		if (ret)
			return ret;
	}
	return 0;
}

static int emu_dt_config(struct emu_dt *dt)
{
	int config = fdt_path_offset(dt->fdt, "/gunyah-vm-config"), node;

	if (config < 0)
		return emu_dt_reject("no /gunyah-vm-config");
	if (!emu_dt_string_is(dt->fdt, config, "image-name", NULL) ||
	    !emu_dt_string_is(dt->fdt, config, "os-type", NULL))
		return emu_dt_reject("image-name or os-type missing");
	node = fdt_subnode_offset(dt->fdt, config, "memory");
	if (node < 0 || !emu_dt_number(dt->fdt, node, "base-address", &dt->mem_base) ||
	    !emu_dt_number(dt->fdt, node, "size-min", &dt->mem_size) || !dt->mem_size)
		return emu_dt_reject("memory node needs base-address and size-min");
	node = fdt_subnode_offset(dt->fdt, config, "vcpus");
	if (node < 0 || !emu_dt_string_is(dt->fdt, node, "affinity", "proxy"))
		return emu_dt_reject("vcpus node needs affinity = \"proxy\"");
	return emu_dt_bells(dt, config);
}

static int emu_dt_parse(struct emu_dt *dt, const void *blob, uint64_t size)
{
	int ret;

	if (size < sizeof(struct fdt_header) || fdt_check_header(blob) ||
	    fdt_totalsize(blob) > size)
		return emu_dt_reject("not a flattened devicetree");
	dt->fdt = blob;
	ret = emu_dt_config(dt);
	if (ret)
		return ret;
	return emu_dt_cpus(dt);
}

int emu_dt_check(const void *blob, uint64_t size, struct emu_dt_view *out)
{
	struct emu_dt dt;
	int ret;

	memset(&dt, 0, sizeof(dt));
	ret = emu_dt_parse(&dt, blob, size);
	out->vcpus = dt.vcpus;
	out->nr_vcpus = dt.nr_vcpus;
	out->bells = dt.bells;
	out->nr_bells = dt.nr_bells;
	out->mem_base = dt.mem_base;
	out->mem_size = dt.mem_size;
	return ret;
}

/* The DTB, read from guest memory at the DTB config address. */
static int emu_dt_load(struct emu_vm *vm, struct emu_dt *dt)
{
	struct emu_region *r = emu_vm_region_find(vm, vm->dtb.gpa, vm->dtb.size);
	void *blob;
	int ret;

	if (!r)
		return emu_rule(R_START_DTB_RANGE);
	blob = malloc(vm->dtb.size ? vm->dtb.size : 1);
	if (!blob)
		return -ENOMEM;
	if (emu_read_mem(blob, r->r.userspace_addr + (vm->dtb.gpa - r->r.guest_phys_addr),
			 vm->dtb.size))
		ret = emu_dt_reject("guest memory behind the DTB is gone");
	else
		ret = emu_dt_parse(dt, blob, vm->dtb.size);
	if (!ret && !emu_vm_region_find(vm, dt->mem_base, dt->mem_size))
		ret = emu_dt_reject("memory base/size not inside one region");
	free(blob);
	dt->fdt = NULL;
	return ret;
}

bool emu_rm_has_vcpu(struct emu_vm *vm, uint32_t id)
{
	for (uint32_t i = 0; i < vm->nr_dt_vcpus; i++)
		if (vm->dt_vcpus[i] == id)
			return true;
	return false;
}

bool emu_rm_has_bell(struct emu_vm *vm, uint32_t label)
{
	for (uint32_t i = 0; i < vm->nr_dt_bells; i++)
		if (vm->dt_bells[i] == label)
			return true;
	return false;
}

/* ---- the sim VM ---- */

static int emu_hv_fail(const char *what, int code)
{
	const struct hvabs_error *e = emu.hv.error_last();

	emu_log("sim %s: %s: %s", what, emu.hv.err_name(code), e->message);
	return -emu_hv_errno(code);
}

static int emu_sim_create(struct emu_vm *vm)
{
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	uint32_t max = 0;
	int ret;

	for (uint32_t i = 0; i < vm->nr_dt_vcpus; i++)
		if (vm->dt_vcpus[i] > max)
			max = vm->dt_vcpus[i];
	opts.backend = "sim";
	opts.nr_vcpus = max + 1;
	/* arm64 guests once the sim engine runs them; callback guests meanwhile. */
	if (!emu.hv.backend_caps("sim", &caps) && (caps.archs & (1u << HVABS_ARCH_ARM64)))
		opts.arch = HVABS_ARCH_ARM64;
	ret = emu.hv.vm_create(&vm->sim, &opts);
	if (ret)
		return emu_hv_fail("vm_create", ret);
	emu.nr_sim_vms++;
	return 0;
}

static int emu_sim_memory(struct emu_vm *vm)
{
	for (struct emu_region *r = vm->regions; r; r = r->next) {
		struct hvabs_mem_region m = { .version = HVABS_MEM_REGION_VERSION };
		int ret;

		/* LENT is not modelled: the host keeps access either way. */
		m.flags = r->r.flags & (GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC);
		if (!m.flags)
			continue; /* the guest may not touch it at all */
		m.label = r->r.label;
		m.guest_addr = r->r.guest_phys_addr;
		m.size = r->r.memory_size;
		m.host_addr = (void *)(uintptr_t)r->r.userspace_addr;
		ret = emu.hv.vm_mem_add(vm->sim, &m);
		if (ret)
			return emu_hv_fail("mem_add", ret);
	}
	return 0;
}

/* Gunyah starts the image at offset 0 of the DTB's memory parcel, x0 = DTB. */
static int emu_sim_boot(struct emu_vm *vm)
{
	struct emu_region *r = emu_vm_region_find(vm, vm->dtb.gpa, vm->dtb.size);
	struct hvabs_boot_config b = { .version = HVABS_BOOT_CONFIG_VERSION };
	int ret;

	b.entry = r->r.guest_phys_addr;
	b.blob_addr = vm->dtb.gpa;
	b.blob_size = vm->dtb.size;
	b.arg0 = vm->dtb.gpa;
	b.cpu_mode = HVABS_CPU_MODE_DEFAULT;
	ret = emu.hv.vm_boot_set(vm->sim, &b);
	return ret ? emu_hv_fail("boot_set", ret) : 0;
}

static int emu_bind_vcpu(struct emu_vm *vm, struct emu_fn *fn)
{
	struct hvabs_fn_vcpu_arg a = { fn->label };
	struct hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };
	struct emu_vcpu *vcpu = fn->vcpu;
	struct hvabs_function *sf;
	int ret;

	ret = emu.hv.vm_function_add(&sf, vm->sim, &d);
	if (ret)
		return emu_hv_fail("vcpu add", ret);
	vcpu->sim_fn = sf;
	vcpu->sim_vcpu = emu.hv.function_vcpu(sf);
	emu_vcpu_attach_guest(vcpu);
	return 0;
}

static int emu_bind_irqfd(struct emu_vm *vm, struct emu_fn *fn)
{
	uint32_t flags = (fn->flags & GH_IRQFD_LEVEL) ? HVABS_IRQFD_LEVEL : 0;
	int ret;

	ret = emu.hv.vm_irqfd_add(&fn->sim_fn, vm->sim, fn->efd, fn->label, flags, -1);
	return ret ? emu_hv_fail("irqfd add", ret) : 0;
}

/* Populate the ticket of @fn if the VM has its resource (vCPU id / doorbell label). */
static int emu_bind(struct emu_vm *vm, struct emu_fn *fn)
{
	if (fn->type == GH_FN_VCPU && emu_rm_has_vcpu(vm, fn->label))
		return emu_bind_vcpu(vm, fn);
	if (fn->type == GH_FN_IRQFD && emu_rm_has_bell(vm, fn->label))
		return emu_bind_irqfd(vm, fn);
	return 0;
}

int emu_rm_populate(struct emu_vm *vm, struct emu_fn *fn)
{
	/* Before start, after a failed start or once the guest stopped: the ticket waits. */
	if (!vm->sim || emu_vm_state(vm) != GH_RM_VM_STATUS_RUNNING)
		return 0;
	return emu_bind(vm, fn);
}

void emu_rm_unpopulate(struct emu_vm *vm, struct emu_fn *fn)
{
	struct emu_vcpu *vcpu = fn->vcpu;

	if (vcpu && vcpu->sim_fn) {
		/* As the kernel's unpopulate: a run in flight sees immediate_exit. */
		if (vm->state == GH_RM_VM_STATUS_RUNNING)
			vcpu->run->immediate_exit = 1;
		emu.hv.vcpu_kick(vcpu->sim_vcpu);
		emu.hv.function_remove(vcpu->sim_fn);
		vcpu->sim_fn = NULL;
		vcpu->sim_vcpu = NULL;
	}
	if (fn->sim_fn) {
		emu.hv.function_remove(fn->sim_fn);
		fn->sim_fn = NULL;
	}
}

void emu_rm_stop(struct emu_vm *vm)
{
	if (!vm->sim)
		return;
	emu.hv.vm_destroy(vm->sim);
	vm->sim = NULL;
	emu.nr_sim_vms--;
}

static int emu_sim_setup(struct emu_vm *vm)
{
	int ret;

	ret = emu_sim_create(vm);
	if (ret)
		return ret;
	ret = emu_sim_memory(vm);
	if (!ret)
		ret = emu_sim_boot(vm);
	for (struct emu_fn *fn = vm->fns; fn && !ret; fn = fn->next)
		ret = emu_bind(vm, fn);
	if (!ret) {
		ret = emu.hv.vm_start(vm->sim);
		ret = ret ? emu_hv_fail("start", ret) : 0;
	}
	if (ret) {
		for (struct emu_fn *fn = vm->fns; fn; fn = fn->next)
			emu_rm_unpopulate(vm, fn);
		emu_rm_stop(vm);
	}
	return ret;
}

long emu_rm_start(struct emu_vm *vm, int inject)
{
	struct emu_dt dt;
	int ret;

	memset(&dt, 0, sizeof(dt));
	ret = emu_dt_load(vm, &dt);
	if (ret) {
		free(dt.vcpus);
		free(dt.bells);
		goto out_failed;
	}
	vm->dt_vcpus = dt.vcpus;
	vm->nr_dt_vcpus = dt.nr_vcpus;
	vm->dt_bells = dt.bells;
	vm->nr_dt_bells = dt.nr_bells;
	ret = emu_sim_setup(vm);
	if (ret)
		goto out_failed;
	if (inject) {
		/* Bound and configured, then the RM refused to start it. */
		ret = -inject;
		goto out_failed;
	}
	vm->state = GH_RM_VM_STATUS_RUNNING;
	emu_log("vm started: %u vcpus, %u doorbells", vm->nr_dt_vcpus, vm->nr_dt_bells);
	return 0;

out_failed:
	vm->state = GH_RM_VM_STATUS_INIT_FAILED;
	return ret;
}
