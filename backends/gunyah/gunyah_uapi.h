/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_uapi.h: hvabs' own copy of the /dev/gunyah ioctl ABI (v10 and v11..v14), with layout checks. */
#ifndef HVABS_GUNYAH_UAPI_H
#define HVABS_GUNYAH_UAPI_H

/*
 * No distribution ships linux/gunyah.h (the driver never reached
 * mainline), so these are ABI facts from docs/gunyah.md and the shared
 * reference gunyah-abi.md, written out here. Plain C and C++ (the tests
 * include it). Encoding: asm-generic _IOC, identical on x86_64 and arm64.
 */

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define GH_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define GH_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define GH_IOCTL_TYPE 'G'

/* Memory region flags. LENT exists in v10 only (dropped in v11). */
#define GH_MEM_ALLOW_READ (1u << 0)
#define GH_MEM_ALLOW_WRITE (1u << 1)
#define GH_MEM_ALLOW_EXEC (1u << 2)
#define GH_MEM_LENT (1u << 3)

struct gh_userspace_memory_region {
	uint32_t label;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size; /* v10: 0 deletes the region with @label */
	uint64_t userspace_addr;
};

/* v10 calls the first field gpa, v11+ guest_phys_addr: same bytes. */
struct gh_vm_dtb_config {
	uint64_t guest_phys_addr;
	uint64_t size;
};

#define GH_FN_VCPU 1u
#define GH_FN_IRQFD 2u
#define GH_FN_IOEVENTFD 3u
#define GH_FN_MAX_ARG_SIZE 256u

/*
 * v10: arg_size 0 makes @arg the value itself (the vCPU id); otherwise,
 * and always from v11, @arg is a user pointer to arg_size bytes.
 */
struct gh_fn_desc {
	uint32_t type;
	uint32_t arg_size;
	uint64_t arg;
};

/* v11+ argument of GH_FN_VCPU. */
struct gh_fn_vcpu_arg {
	uint32_t id;
};

#define GH_IRQFD_LEVEL (1u << 0) /* GH_IRQFD_FLAGS_LEVEL from v12 */

struct gh_fn_irqfd_arg {
	uint32_t fd;
	uint32_t label; /* doorbell label in the VM devicetree */
	uint32_t flags;
	uint32_t padding;
};

#define GH_IOEVENTFD_DATAMATCH (1u << 0)

struct gh_fn_ioeventfd_arg {
	uint64_t datamatch;
	uint64_t addr;
	uint32_t len; /* 0 (any), 1, 2, 4, 8 */
	int32_t fd;
	uint32_t flags;
	uint32_t padding;
};

/* The mmap'd run page of a vCPU fd. */
#define GH_VCPU_EXIT_UNKNOWN 0u
#define GH_VCPU_EXIT_MMIO 1u
#define GH_VCPU_EXIT_STATUS 2u

#define GH_VM_STATUS_LOAD_FAILED 1u
#define GH_VM_STATUS_EXITED 2u
#define GH_VM_STATUS_CRASHED 3u

struct gh_vm_exit_info {
	uint16_t type;
	uint16_t padding;
	uint32_t reason_size;
	uint8_t reason[8];
};

struct gh_vcpu_run {
	uint8_t immediate_exit;
	uint8_t padding[7];
	uint32_t exit_reason;
	union {
		struct {
			uint64_t phys_addr;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write;
			uint8_t resume_action; /* v15+ only; 0 before */
		} mmio;
		struct {
			uint32_t status;
			struct gh_vm_exit_info exit_info;
		} status;
	};
};

#define GH_CREATE_VM _IO(GH_IOCTL_TYPE, 0x0)
#define GH_VM_SET_USER_MEM_REGION _IOW(GH_IOCTL_TYPE, 0x1, struct gh_userspace_memory_region)
#define GH_VM_SET_DTB_CONFIG _IOW(GH_IOCTL_TYPE, 0x2, struct gh_vm_dtb_config)
#define GH_VM_START _IO(GH_IOCTL_TYPE, 0x3)
#define GH_VM_ADD_FUNCTION _IOW(GH_IOCTL_TYPE, 0x4, struct gh_fn_desc)
#define GH_VCPU_RUN _IO(GH_IOCTL_TYPE, 0x5)
#define GH_VCPU_MMAP_SIZE _IO(GH_IOCTL_TYPE, 0x6)
#define GH_VM_REMOVE_FUNCTION _IOW(GH_IOCTL_TYPE, 0x7, struct gh_fn_desc)

/* ---- layout checks (reference tables, sections 1-3) ---- */

GH_STATIC_ASSERT(sizeof(struct gh_userspace_memory_region) == 32, "gh_userspace_memory_region");
GH_STATIC_ASSERT(offsetof(struct gh_userspace_memory_region, label) == 0, "region.label");
GH_STATIC_ASSERT(offsetof(struct gh_userspace_memory_region, flags) == 4, "region.flags");
GH_STATIC_ASSERT(offsetof(struct gh_userspace_memory_region, guest_phys_addr) == 8, "region.gpa");
GH_STATIC_ASSERT(offsetof(struct gh_userspace_memory_region, memory_size) == 16, "region.size");
GH_STATIC_ASSERT(offsetof(struct gh_userspace_memory_region, userspace_addr) == 24, "region.uaddr");

GH_STATIC_ASSERT(sizeof(struct gh_vm_dtb_config) == 16, "gh_vm_dtb_config");
GH_STATIC_ASSERT(offsetof(struct gh_vm_dtb_config, guest_phys_addr) == 0, "dtb.gpa");
GH_STATIC_ASSERT(offsetof(struct gh_vm_dtb_config, size) == 8, "dtb.size");

GH_STATIC_ASSERT(sizeof(struct gh_fn_desc) == 16, "gh_fn_desc");
GH_STATIC_ASSERT(offsetof(struct gh_fn_desc, type) == 0, "fn_desc.type");
GH_STATIC_ASSERT(offsetof(struct gh_fn_desc, arg_size) == 4, "fn_desc.arg_size");
GH_STATIC_ASSERT(offsetof(struct gh_fn_desc, arg) == 8, "fn_desc.arg");

GH_STATIC_ASSERT(sizeof(struct gh_fn_vcpu_arg) == 4, "gh_fn_vcpu_arg");

GH_STATIC_ASSERT(sizeof(struct gh_fn_irqfd_arg) == 16, "gh_fn_irqfd_arg");
GH_STATIC_ASSERT(offsetof(struct gh_fn_irqfd_arg, fd) == 0, "irqfd.fd");
GH_STATIC_ASSERT(offsetof(struct gh_fn_irqfd_arg, label) == 4, "irqfd.label");
GH_STATIC_ASSERT(offsetof(struct gh_fn_irqfd_arg, flags) == 8, "irqfd.flags");
GH_STATIC_ASSERT(offsetof(struct gh_fn_irqfd_arg, padding) == 12, "irqfd.padding");

GH_STATIC_ASSERT(sizeof(struct gh_fn_ioeventfd_arg) == 32, "gh_fn_ioeventfd_arg");
GH_STATIC_ASSERT(offsetof(struct gh_fn_ioeventfd_arg, datamatch) == 0, "ioeventfd.datamatch");
GH_STATIC_ASSERT(offsetof(struct gh_fn_ioeventfd_arg, addr) == 8, "ioeventfd.addr");
GH_STATIC_ASSERT(offsetof(struct gh_fn_ioeventfd_arg, len) == 16, "ioeventfd.len");
GH_STATIC_ASSERT(offsetof(struct gh_fn_ioeventfd_arg, fd) == 20, "ioeventfd.fd");
GH_STATIC_ASSERT(offsetof(struct gh_fn_ioeventfd_arg, flags) == 24, "ioeventfd.flags");
GH_STATIC_ASSERT(offsetof(struct gh_fn_ioeventfd_arg, padding) == 28, "ioeventfd.padding");

GH_STATIC_ASSERT(sizeof(struct gh_vm_exit_info) == 16, "gh_vm_exit_info");
GH_STATIC_ASSERT(offsetof(struct gh_vm_exit_info, type) == 0, "exit_info.type");
GH_STATIC_ASSERT(offsetof(struct gh_vm_exit_info, reason_size) == 4, "exit_info.reason_size");
GH_STATIC_ASSERT(offsetof(struct gh_vm_exit_info, reason) == 8, "exit_info.reason");

GH_STATIC_ASSERT(sizeof(struct gh_vcpu_run) == 40, "gh_vcpu_run");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, immediate_exit) == 0, "run.immediate_exit");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, exit_reason) == 8, "run.exit_reason");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, mmio.phys_addr) == 16, "run.mmio.phys_addr");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, mmio.data) == 24, "run.mmio.data");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, mmio.len) == 32, "run.mmio.len");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, mmio.is_write) == 36, "run.mmio.is_write");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, mmio.resume_action) == 37, "run.mmio.resume_action");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, status.status) == 16, "run.status.status");
GH_STATIC_ASSERT(offsetof(struct gh_vcpu_run, status.exit_info) == 20, "run.status.exit_info");

/* ioctl numbers as the reference lists them (the _IOC encoding is checked, not assumed). */
GH_STATIC_ASSERT(GH_CREATE_VM == 0x4700, "GH_CREATE_VM");
GH_STATIC_ASSERT(GH_VM_SET_USER_MEM_REGION == 0x40204701, "GH_VM_SET_USER_MEM_REGION");
GH_STATIC_ASSERT(GH_VM_SET_DTB_CONFIG == 0x40104702, "GH_VM_SET_DTB_CONFIG");
GH_STATIC_ASSERT(GH_VM_START == 0x4703, "GH_VM_START");
GH_STATIC_ASSERT(GH_VM_ADD_FUNCTION == 0x40104704, "GH_VM_ADD_FUNCTION");
GH_STATIC_ASSERT(GH_VCPU_RUN == 0x4705, "GH_VCPU_RUN");
GH_STATIC_ASSERT(GH_VCPU_MMAP_SIZE == 0x4706, "GH_VCPU_MMAP_SIZE");
GH_STATIC_ASSERT(GH_VM_REMOVE_FUNCTION == 0x40104707, "GH_VM_REMOVE_FUNCTION");

#endif
