/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_dt.h: the Gunyah VM devicetree builder and reader (libfdt; no core dependencies). */
#ifndef HVABS_GUNYAH_DT_H
#define HVABS_GUNYAH_DT_H

#include <hvabs/errors.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The VM devicetree the Resource Manager reads (docs/gunyah.md, "VM
 * devicetree"). Everything below returns 0 or an HVABS_E* code and never
 * allocates, so the tests can compile this file on its own.
 */

#define GUNYAH_DT_IMAGE_NAME "hvabs-vm"
#define GUNYAH_DT_OS_TYPE "linux"
#define GUNYAH_DT_GIC_PHANDLE 1u
/* GIC SPIs reach 1019; a doorbell label is its SPI number. */
#define GUNYAH_DT_MAX_SPI 987u

/* interrupts = <GIC_SPI label type> trigger types (dt-bindings/interrupt-controller/irq.h). */
#define GUNYAH_DT_IRQ_EDGE_RISING 1u
#define GUNYAH_DT_IRQ_LEVEL_HIGH 4u

struct gunyah_dt_bell {
	uint32_t label;
	bool level;
};

/**
 * struct gunyah_dt_cfg - what the builder writes.
 * @vcpus/@nr_vcpus: vCPU ids (devicetree cpu@N nodes), any order, no duplicates.
 * @bells/@nr_bells: doorbells, one node each; labels unique and <= GUNYAH_DT_MAX_SPI.
 */
struct gunyah_dt_cfg {
	const char *image_name;
	const char *os_type;
	uint64_t mem_base;
	uint64_t mem_size; /* RAM: memory/size-min and /memory@base */
	uint64_t ipa_size; /* guest address window from mem_base: memory/size-max (>= mem_size) */
	const uint32_t *vcpus;
	uint32_t nr_vcpus;
	const struct gunyah_dt_bell *bells;
	uint32_t nr_bells;
};

/**
 * hvabs__gunyah_dt_build() - write the devicetree blob into @buf.
 * @buf: 8-byte aligned, as libfdt requires of a devicetree.
 * @size_out: bytes used (fdt totalsize).
 * Return: 0; HVABS_ENOMEM when @size is too small; HVABS_EINVAL (bad cfg,
 * @buf not 8-byte aligned).
 */
int hvabs__gunyah_dt_build(const struct gunyah_dt_cfg *cfg, void *buf, size_t size,
			   size_t *size_out);

/**
 * struct gunyah_dt_info - what hvabs__gunyah_dt_parse() found. The caller
 * provides the arrays (may be NULL with capacity 0); nr_* count every
 * entry found even beyond the capacity, so a first call sizes the second.
 */
struct gunyah_dt_info {
	char image_name[64];
	char os_type[32];
	char affinity[16];
	uint64_t mem_base;
	uint64_t mem_size; /* size-min */
	uint64_t ipa_size; /* size-max */
	uint32_t *vcpus;
	uint32_t vcpus_cap;
	uint32_t nr_vcpus;
	struct gunyah_dt_bell *bells;
	uint32_t bells_cap;
	uint32_t nr_bells;
};

/**
 * hvabs__gunyah_dt_parse() - read a VM devicetree (a generated one or the
 * VMM's own): vCPUs from /cpus, doorbells from the vdevices of
 * /gunyah-vm-config. @fdt must be 8-byte aligned (libfdt refuses others:
 * callers copy a blob from guest memory that is not). Return: 0;
 * HVABS_EINVAL (not a devicetree, not 8-byte aligned, larger than @size, no
 * gunyah-vm-config node, malformed vCPU or doorbell node).
 */
int hvabs__gunyah_dt_parse(const void *fdt, size_t size, struct gunyah_dt_info *info);

#ifdef __cplusplus
}
#endif

#endif
