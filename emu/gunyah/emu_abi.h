/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_abi.h: the emulator's own copy of the Gunyah uapi (gunyah-abi.md sections 1-3). */
#ifndef HVABS_GUNYAH_EMU_ABI_H
#define HVABS_GUNYAH_EMU_ABI_H

#include <stddef.h>
#include <stdint.h>

/*
 * Written from /work/shared/reference/gunyah-abi.md only, never shared with
 * backends/gunyah: the emulator and the backend must not be able to share a
 * misunderstanding. Every size and offset is pinned below.
 */

#define GH_IOCTL_TYPE 0x47u

#define GH_IOC_NONE 0u
#define GH_IOC_WRITE 1u
#define GH_IOC(dir, nr, size) \
	(((uint32_t)(dir) << 30) | ((uint32_t)(size) << 16) | (GH_IOCTL_TYPE << 8) | (uint32_t)(nr))

#define GH_CREATE_VM 0x4700u
#define GH_VM_SET_USER_MEM_REGION 0x40204701u
#define GH_VM_SET_DTB_CONFIG 0x40104702u
#define GH_VM_START 0x4703u
#define GH_VM_ADD_FUNCTION 0x40104704u
#define GH_VCPU_RUN 0x4705u
#define GH_VCPU_MMAP_SIZE 0x4706u
#define GH_VM_REMOVE_FUNCTION 0x40104707u

/* struct gh_userspace_memory_region flags */
#define GH_MEM_ALLOW_READ (1u << 0)
#define GH_MEM_ALLOW_WRITE (1u << 1)
#define GH_MEM_ALLOW_EXEC (1u << 2)
#define GH_MEM_LENT (1u << 3) /* v10 only */

struct gh_userspace_memory_region {
	uint32_t label;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
};

struct gh_vm_dtb_config {
	uint64_t gpa; /* guest_phys_addr from v11 */
	uint64_t size;
};

#define GH_FN_VCPU 1u
#define GH_FN_IRQFD 2u
#define GH_FN_IOEVENTFD 3u
#define GH_FN_MAX_ARG_SIZE 256u

struct gh_fn_desc {
	uint32_t type;
	uint32_t arg_size;
	uint64_t arg;
};

struct gh_fn_vcpu_arg {
	uint32_t id;
};

#define GH_IRQFD_LEVEL (1u << 0)

struct gh_fn_irqfd_arg {
	uint32_t fd;
	uint32_t label;
	uint32_t flags;
	uint32_t padding;
};

#define GH_IOEVENTFD_DATAMATCH (1u << 0)

struct gh_fn_ioeventfd_arg {
	uint64_t datamatch;
	uint64_t addr;
	uint32_t len;
	int32_t fd;
	uint32_t flags;
	uint32_t padding;
};

#define GH_VCPU_EXIT_UNKNOWN 0u
#define GH_VCPU_EXIT_MMIO 1u
#define GH_VCPU_EXIT_STATUS 2u

#define GH_VM_STATUS_LOAD_FAILED 1u
#define GH_VM_STATUS_EXITED 2u
#define GH_VM_STATUS_CRASHED 3u

struct gh_vm_exit_info {
	uint16_t type;
	uint16_t reserved;
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
			uint8_t resume_action;
		} mmio;
		struct {
			uint32_t status;
			struct gh_vm_exit_info exit_info;
		} status;
	};
};

/* Resource-manager VM states the emulator tracks (gunyah-abi.md section 4). */
#define GH_RM_VM_STATUS_RUNNING 3
#define GH_RM_VM_STATUS_LOAD 5
#define GH_RM_VM_STATUS_INIT_FAILED 8
#define GH_RM_VM_STATUS_EXITED 9
#define GH_RM_VM_STATUS_CRASHED 0x100 /* emulator-only: any stop but a clean exit */

/* ---- layout checks: one per field (gunyah-abi.md section 2 and 3) ---- */

_Static_assert(GH_CREATE_VM == GH_IOC(GH_IOC_NONE, 0x0, 0), "GH_CREATE_VM");
_Static_assert(GH_VM_SET_USER_MEM_REGION ==
		       GH_IOC(GH_IOC_WRITE, 0x1, sizeof(struct gh_userspace_memory_region)),
	       "GH_VM_SET_USER_MEM_REGION");
_Static_assert(GH_VM_SET_DTB_CONFIG == GH_IOC(GH_IOC_WRITE, 0x2, sizeof(struct gh_vm_dtb_config)),
	       "GH_VM_SET_DTB_CONFIG");
_Static_assert(GH_VM_START == GH_IOC(GH_IOC_NONE, 0x3, 0), "GH_VM_START");
_Static_assert(GH_VM_ADD_FUNCTION == GH_IOC(GH_IOC_WRITE, 0x4, sizeof(struct gh_fn_desc)),
	       "GH_VM_ADD_FUNCTION");
_Static_assert(GH_VCPU_RUN == GH_IOC(GH_IOC_NONE, 0x5, 0), "GH_VCPU_RUN");
_Static_assert(GH_VCPU_MMAP_SIZE == GH_IOC(GH_IOC_NONE, 0x6, 0), "GH_VCPU_MMAP_SIZE");
_Static_assert(GH_VM_REMOVE_FUNCTION == GH_IOC(GH_IOC_WRITE, 0x7, sizeof(struct gh_fn_desc)),
	       "GH_VM_REMOVE_FUNCTION");

_Static_assert(sizeof(struct gh_userspace_memory_region) == 32, "region size");
_Static_assert(offsetof(struct gh_userspace_memory_region, label) == 0, "region.label");
_Static_assert(offsetof(struct gh_userspace_memory_region, flags) == 4, "region.flags");
_Static_assert(offsetof(struct gh_userspace_memory_region, guest_phys_addr) == 8, "region.gpa");
_Static_assert(offsetof(struct gh_userspace_memory_region, memory_size) == 16, "region.size");
_Static_assert(offsetof(struct gh_userspace_memory_region, userspace_addr) == 24, "region.uaddr");

_Static_assert(sizeof(struct gh_vm_dtb_config) == 16, "dtb config size");
_Static_assert(offsetof(struct gh_vm_dtb_config, gpa) == 0, "dtb.gpa");
_Static_assert(offsetof(struct gh_vm_dtb_config, size) == 8, "dtb.size");

_Static_assert(sizeof(struct gh_fn_desc) == 16, "fn desc size");
_Static_assert(offsetof(struct gh_fn_desc, type) == 0, "desc.type");
_Static_assert(offsetof(struct gh_fn_desc, arg_size) == 4, "desc.arg_size");
_Static_assert(offsetof(struct gh_fn_desc, arg) == 8, "desc.arg");

_Static_assert(sizeof(struct gh_fn_vcpu_arg) == 4, "vcpu arg size");
_Static_assert(offsetof(struct gh_fn_vcpu_arg, id) == 0, "vcpu.id");

_Static_assert(sizeof(struct gh_fn_irqfd_arg) == 16, "irqfd arg size");
_Static_assert(offsetof(struct gh_fn_irqfd_arg, fd) == 0, "irqfd.fd");
_Static_assert(offsetof(struct gh_fn_irqfd_arg, label) == 4, "irqfd.label");
_Static_assert(offsetof(struct gh_fn_irqfd_arg, flags) == 8, "irqfd.flags");
_Static_assert(offsetof(struct gh_fn_irqfd_arg, padding) == 12, "irqfd.padding");

_Static_assert(sizeof(struct gh_fn_ioeventfd_arg) == 32, "ioeventfd arg size");
_Static_assert(offsetof(struct gh_fn_ioeventfd_arg, datamatch) == 0, "ioeventfd.datamatch");
_Static_assert(offsetof(struct gh_fn_ioeventfd_arg, addr) == 8, "ioeventfd.addr");
_Static_assert(offsetof(struct gh_fn_ioeventfd_arg, len) == 16, "ioeventfd.len");
_Static_assert(offsetof(struct gh_fn_ioeventfd_arg, fd) == 20, "ioeventfd.fd");
_Static_assert(offsetof(struct gh_fn_ioeventfd_arg, flags) == 24, "ioeventfd.flags");
_Static_assert(offsetof(struct gh_fn_ioeventfd_arg, padding) == 28, "ioeventfd.padding");

_Static_assert(sizeof(struct gh_vm_exit_info) == 16, "exit_info size");
_Static_assert(offsetof(struct gh_vm_exit_info, type) == 0, "exit_info.type");
_Static_assert(offsetof(struct gh_vm_exit_info, reserved) == 2, "exit_info.reserved");
_Static_assert(offsetof(struct gh_vm_exit_info, reason_size) == 4, "exit_info.reason_size");
_Static_assert(offsetof(struct gh_vm_exit_info, reason) == 8, "exit_info.reason");

_Static_assert(sizeof(struct gh_vcpu_run) == 40, "run page struct size");
_Static_assert(offsetof(struct gh_vcpu_run, immediate_exit) == 0, "run.immediate_exit");
_Static_assert(offsetof(struct gh_vcpu_run, padding) == 1, "run.padding");
_Static_assert(offsetof(struct gh_vcpu_run, exit_reason) == 8, "run.exit_reason");
_Static_assert(offsetof(struct gh_vcpu_run, mmio.phys_addr) == 16, "run.mmio.phys_addr");
_Static_assert(offsetof(struct gh_vcpu_run, mmio.data) == 24, "run.mmio.data");
_Static_assert(offsetof(struct gh_vcpu_run, mmio.len) == 32, "run.mmio.len");
_Static_assert(offsetof(struct gh_vcpu_run, mmio.is_write) == 36, "run.mmio.is_write");
_Static_assert(offsetof(struct gh_vcpu_run, mmio.resume_action) == 37, "run.mmio.resume_action");
_Static_assert(offsetof(struct gh_vcpu_run, status.status) == 16, "run.status.status");
_Static_assert(offsetof(struct gh_vcpu_run, status.exit_info) == 20, "run.status.exit_info");

#endif
