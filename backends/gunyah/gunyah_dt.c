/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_dt.c: builds and reads the VM devicetree the Gunyah Resource Manager parses (libfdt). */
#include "gunyah_dt.h"

#include <libfdt.h>
#include <stdio.h>
#include <string.h>

/* Default GICv3 layout (distributor, then one 128 KiB redistributor frame per vCPU below it). */
#define GUNYAH_DT_GICD_BASE 0x3fff0000ull
#define GUNYAH_DT_GICD_SIZE 0x10000ull
#define GUNYAH_DT_GICR_STRIDE 0x20000ull

/* ---- builder ---- */

/* libfdt result -> hvabs code: only a full buffer is expected. */
static int dt_err(int fdt_ret)
{
	if (fdt_ret >= 0)
		return 0;
	return fdt_ret == -FDT_ERR_NOSPACE ? HVABS_ENOMEM : HVABS_EINVAL;
}

static int dt_cfg_check(const struct gunyah_dt_cfg *c)
{
	if (!c->image_name || !c->os_type || c->mem_size == 0 || c->ipa_size < c->mem_size ||
	    c->mem_base + c->ipa_size < c->mem_base || (c->nr_vcpus && !c->vcpus) ||
	    (c->nr_bells && !c->bells))
		return HVABS_EINVAL;
	for (uint32_t i = 0; i < c->nr_vcpus; i++)
		for (uint32_t j = i + 1; j < c->nr_vcpus; j++)
			if (c->vcpus[i] == c->vcpus[j])
				return HVABS_EINVAL;
	for (uint32_t i = 0; i < c->nr_bells; i++) {
		if (c->bells[i].label > GUNYAH_DT_MAX_SPI)
			return HVABS_EINVAL;
		for (uint32_t j = i + 1; j < c->nr_bells; j++)
			if (c->bells[i].label == c->bells[j].label)
				return HVABS_EINVAL;
	}
	return 0;
}

static int dt_prop_u64_pair(void *fdt, const char *name, uint64_t a, uint64_t b)
{
	fdt64_t v[2] = { cpu_to_fdt64(a), cpu_to_fdt64(b) };

	return fdt_property(fdt, name, v, sizeof(v));
}

static int dt_vm_memory(void *fdt, const struct gunyah_dt_cfg *c)
{
	int r = fdt_begin_node(fdt, "memory");

	r = r ? r : fdt_property_u32(fdt, "#address-cells", 2);
	r = r ? r : fdt_property_u32(fdt, "#size-cells", 2);
	r = r ? r : fdt_property_u64(fdt, "base-address", c->mem_base);
	r = r ? r : fdt_property_u64(fdt, "size-min", c->mem_size);
	r = r ? r : fdt_property_u64(fdt, "size-max", c->ipa_size);
	return r ? r : fdt_end_node(fdt);
}

static int dt_bell(void *fdt, const struct gunyah_dt_bell *b)
{
	char name[32], path[48];
	fdt32_t irq[3] = { cpu_to_fdt32(0) /* GIC_SPI */, cpu_to_fdt32(b->label),
			   cpu_to_fdt32(b->level ? GUNYAH_DT_IRQ_LEVEL_HIGH
						 : GUNYAH_DT_IRQ_EDGE_RISING) };
	int r;

	snprintf(name, sizeof(name), "bell-%x", b->label);
	snprintf(path, sizeof(path), "/hypervisor/%s", name);
	r = fdt_begin_node(fdt, name);
	r = r ? r : fdt_property_string(fdt, "vdevice-type", "doorbell");
	r = r ? r : fdt_property_string(fdt, "generate", path);
	r = r ? r : fdt_property_u32(fdt, "label", b->label);
	r = r ? r : fdt_property(fdt, "peer-default", NULL, 0);
	r = r ? r : fdt_property(fdt, "interrupts", irq, sizeof(irq));
	return r ? r : fdt_end_node(fdt);
}

static int dt_vm_vdevices(void *fdt, const struct gunyah_dt_cfg *c)
{
	int r = fdt_begin_node(fdt, "vdevices");

	r = r ? r : fdt_property_string(fdt, "generate", "/hypervisor");
	for (uint32_t i = 0; !r && i < c->nr_bells; i++)
		r = dt_bell(fdt, &c->bells[i]);
	return r ? r : fdt_end_node(fdt);
}

static int dt_vm_config(void *fdt, const struct gunyah_dt_cfg *c)
{
	int r = fdt_begin_node(fdt, "gunyah-vm-config");

	r = r ? r : fdt_property_string(fdt, "image-name", c->image_name);
	r = r ? r : fdt_property_string(fdt, "os-type", c->os_type);
	r = r ? r : dt_vm_memory(fdt, c);
	r = r ? r : fdt_begin_node(fdt, "interrupts");
	r = r ? r : fdt_property_u32(fdt, "config", GUNYAH_DT_GIC_PHANDLE);
	r = r ? r : fdt_end_node(fdt);
	r = r ? r : fdt_begin_node(fdt, "vcpus");
	r = r ? r : fdt_property_string(fdt, "affinity", "proxy");
	r = r ? r : fdt_end_node(fdt);
	r = r ? r : dt_vm_vdevices(fdt, c);
	return r ? r : fdt_end_node(fdt);
}

static int dt_cpus(void *fdt, const struct gunyah_dt_cfg *c)
{
	char name[24];
	int r = fdt_begin_node(fdt, "cpus");

	r = r ? r : fdt_property_u32(fdt, "#address-cells", 1);
	r = r ? r : fdt_property_u32(fdt, "#size-cells", 0);
	for (uint32_t i = 0; !r && i < c->nr_vcpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", c->vcpus[i]);
		r = fdt_begin_node(fdt, name);
		r = r ? r : fdt_property_string(fdt, "device_type", "cpu");
		r = r ? r : fdt_property_string(fdt, "compatible", "arm,armv8");
		r = r ? r : fdt_property_u32(fdt, "reg", c->vcpus[i]);
		r = r ? r : fdt_property_string(fdt, "enable-method", "psci");
		r = r ? r : fdt_end_node(fdt);
	}
	return r ? r : fdt_end_node(fdt);
}

static int dt_platform(void *fdt, const struct gunyah_dt_cfg *c)
{
	uint64_t nr = c->nr_vcpus ? c->nr_vcpus : 1;
	uint64_t gicr_size = nr * GUNYAH_DT_GICR_STRIDE;
	fdt64_t gic_reg[4] = { cpu_to_fdt64(GUNYAH_DT_GICD_BASE), cpu_to_fdt64(GUNYAH_DT_GICD_SIZE),
			       cpu_to_fdt64(GUNYAH_DT_GICD_BASE - gicr_size),
			       cpu_to_fdt64(gicr_size) };
	char name[40];
	int r;

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)c->mem_base);
	r = fdt_begin_node(fdt, name);
	r = r ? r : fdt_property_string(fdt, "device_type", "memory");
	r = r ? r : dt_prop_u64_pair(fdt, "reg", c->mem_base, c->mem_size);
	r = r ? r : fdt_end_node(fdt);
	snprintf(name, sizeof(name), "interrupt-controller@%llx", GUNYAH_DT_GICD_BASE);
	r = r ? r : fdt_begin_node(fdt, name);
	r = r ? r : fdt_property_string(fdt, "compatible", "arm,gic-v3");
	r = r ? r : fdt_property_u32(fdt, "#interrupt-cells", 3);
	r = r ? r : fdt_property_u32(fdt, "#address-cells", 2);
	r = r ? r : fdt_property_u32(fdt, "#size-cells", 2);
	r = r ? r : fdt_property(fdt, "interrupt-controller", NULL, 0);
	r = r ? r : fdt_property(fdt, "reg", gic_reg, sizeof(gic_reg));
	r = r ? r : fdt_property_u32(fdt, "phandle", GUNYAH_DT_GIC_PHANDLE);
	r = r ? r : fdt_end_node(fdt);
	r = r ? r : fdt_begin_node(fdt, "psci");
	r = r ? r : fdt_property_string(fdt, "compatible", "arm,psci-1.0");
	r = r ? r : fdt_property_string(fdt, "method", "hvc");
	return r ? r : fdt_end_node(fdt);
}

int hvabs__gunyah_dt_build(const struct gunyah_dt_cfg *cfg, void *buf, size_t size,
			   size_t *size_out)
{
	int r = dt_cfg_check(cfg);

	if (r)
		return r;
	/* libfdt reads its header fields in place: a misaligned blob is undefined behaviour. */
	if ((uintptr_t)buf & 7)
		return HVABS_EINVAL;
	if (size > INT32_MAX)
		size = INT32_MAX;
	r = fdt_create(buf, (int)size);
	r = r ? r : fdt_finish_reservemap(buf);
	r = r ? r : fdt_begin_node(buf, "");
	r = r ? r : fdt_property_u32(buf, "#address-cells", 2);
	r = r ? r : fdt_property_u32(buf, "#size-cells", 2);
	r = r ? r : fdt_property_u32(buf, "interrupt-parent", GUNYAH_DT_GIC_PHANDLE);
	r = r ? r : dt_vm_config(buf, cfg);
	r = r ? r : dt_cpus(buf, cfg);
	r = r ? r : dt_platform(buf, cfg);
	r = r ? r : fdt_end_node(buf);
	r = r ? r : fdt_finish(buf);
	if (r)
		return dt_err(r);
	*size_out = fdt_totalsize(buf);
	return 0;
}

/* ---- reader ---- */

static void dt_copy_str(char *dst, size_t cap, const void *fdt, int node, const char *name)
{
	int len;
	const char *s = fdt_getprop(fdt, node, name, &len);

	dst[0] = '\0';
	if (s && len > 0)
		snprintf(dst, cap, "%.*s", len, s);
}

/*
 * A u64 property stored as 8 bytes (two cells; only 4-byte aligned in the
 * blob, hence the copy); *out is left alone when absent.
 */
static int dt_get_u64(const void *fdt, int node, const char *name, uint64_t *out)
{
	int len;
	const void *p = fdt_getprop(fdt, node, name, &len);
	fdt64_t v;

	if (!p)
		return 0;
	if (len != (int)sizeof(v))
		return HVABS_EINVAL;
	memcpy(&v, p, sizeof(v));
	*out = fdt64_to_cpu(v);
	return 0;
}

static int dt_get_u32(const void *fdt, int node, const char *name, uint32_t *out)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	if (!p || len != (int)sizeof(*p))
		return HVABS_EINVAL;
	*out = fdt32_to_cpu(*p);
	return 0;
}

static bool dt_prop_is(const void *fdt, int node, const char *name, const char *want)
{
	int len;
	const char *s = fdt_getprop(fdt, node, name, &len);

	return s && len == (int)strlen(want) + 1 && memcmp(s, want, (size_t)len) == 0;
}

static int dt_read_bell(const void *fdt, int node, struct gunyah_dt_info *info)
{
	struct gunyah_dt_bell b = { 0, false };
	const fdt32_t *irq;
	int len;

	if (dt_get_u32(fdt, node, "label", &b.label))
		return HVABS_EINVAL;
	irq = fdt_getprop(fdt, node, "interrupts", &len);
	if (irq && len == 3 * (int)sizeof(*irq))
		b.level = (fdt32_to_cpu(irq[2]) & 0xcu) != 0; /* level high or low */
	if (info->nr_bells < info->bells_cap)
		info->bells[info->nr_bells] = b;
	info->nr_bells++;
	return 0;
}

static int dt_read_vm_config(const void *fdt, int cfg, struct gunyah_dt_info *info)
{
	int node, bell, ret;

	dt_copy_str(info->image_name, sizeof(info->image_name), fdt, cfg, "image-name");
	dt_copy_str(info->os_type, sizeof(info->os_type), fdt, cfg, "os-type");
	node = fdt_subnode_offset(fdt, cfg, "memory");
	if (node >= 0) {
		ret = dt_get_u64(fdt, node, "base-address", &info->mem_base);
		ret = ret ? ret : dt_get_u64(fdt, node, "size-min", &info->mem_size);
		ret = ret ? ret : dt_get_u64(fdt, node, "size-max", &info->ipa_size);
		if (ret)
			return ret;
	}
	node = fdt_subnode_offset(fdt, cfg, "vcpus");
	if (node < 0)
		return HVABS_EINVAL;
	dt_copy_str(info->affinity, sizeof(info->affinity), fdt, node, "affinity");
	node = fdt_subnode_offset(fdt, cfg, "vdevices");
	if (node < 0)
		return 0;
	fdt_for_each_subnode(bell, fdt, node) {
		if (dt_prop_is(fdt, bell, "vdevice-type", "doorbell") && dt_read_bell(fdt, bell, info))
			return HVABS_EINVAL;
	}
	return 0;
}

static int dt_read_cpus(const void *fdt, struct gunyah_dt_info *info)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), node, len;

	if (cpus < 0)
		return 0;
	fdt_for_each_subnode(node, fdt, cpus) {
		const fdt32_t *reg;

		if (!dt_prop_is(fdt, node, "device_type", "cpu"))
			continue;
		reg = fdt_getprop(fdt, node, "reg", &len);
		if (!reg || len < (int)sizeof(*reg) || len % (int)sizeof(*reg))
			return HVABS_EINVAL;
		/* The id is the low cell of a one- or two-cell address. */
		if (info->nr_vcpus < info->vcpus_cap)
			info->vcpus[info->nr_vcpus] = fdt32_to_cpu(reg[len / (int)sizeof(*reg) - 1]);
		info->nr_vcpus++;
	}
	return 0;
}

int hvabs__gunyah_dt_parse(const void *fdt, size_t size, struct gunyah_dt_info *info)
{
	int cfg, ret;

	info->nr_vcpus = info->nr_bells = 0;
	info->mem_base = info->mem_size = info->ipa_size = 0;
	info->image_name[0] = info->os_type[0] = info->affinity[0] = '\0';
	if (((uintptr_t)fdt & 7) || size < sizeof(struct fdt_header) ||
	    fdt_check_header(fdt) != 0 || fdt_totalsize(fdt) > size)
		return HVABS_EINVAL;
	cfg = fdt_path_offset(fdt, "/gunyah-vm-config");
	if (cfg < 0)
		return HVABS_EINVAL;
	ret = dt_read_vm_config(fdt, cfg, info);
	return ret ? ret : dt_read_cpus(fdt, info);
}
