/* SPDX-License-Identifier: MIT */
/* hvabs/vm.h: VM lifecycle, state machine, memory regions and boot setup. */
#ifndef HVABS_VM_H
#define HVABS_VM_H

#include "hvabs/backend.h"
#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;

/*
 * VM states, modelled on Gunyah's Resource Manager:
 *
 *   LOAD --start--> READY --> RUNNING --> EXITED | CRASHED
 *     \               \
 *      `-------------- `--(start failed)--> INIT_FAILED
 *
 * LOAD:        created; memory, boot setup and functions may be added.
 * READY:       configuration validated and resources created; tickets are
 *              being populated (visible only while hvabs_vm_start() runs).
 * RUNNING:     vCPUs may run.
 * EXITED:      the guest powered off; exit type and reason are recorded.
 * CRASHED:     the guest or the hypervisor failed.
 * INIT_FAILED: hvabs_vm_start() failed; the VM can only be destroyed.
 * DESTROYED:   hvabs_vm_destroy() ran; handles kept through hvabs_vm_get()
 *              only answer getters and hvabs_vm_put().
 */
enum hvabs_vm_state {
	HVABS_VM_LOAD = 0,
	HVABS_VM_READY = 1,
	HVABS_VM_RUNNING = 2,
	HVABS_VM_EXITED = 3,
	HVABS_VM_CRASHED = 4,
	HVABS_VM_INIT_FAILED = 5,
	HVABS_VM_DESTROYED = 6,
};

/* Exit types recorded for EXITED/CRASHED (Gunyah VMMs' exit_info.type). */
enum hvabs_exit_type {
	HVABS_EXIT_TYPE_VM_EXIT = 0,
	HVABS_EXIT_TYPE_PSCI_POWER_OFF = 1,
	HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET = 2,
	HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET2 = 3,
	HVABS_EXIT_TYPE_WDT_BITE = 4,
	HVABS_EXIT_TYPE_HYP_ERROR = 5,
	HVABS_EXIT_TYPE_ASYNC_EXT_ABORT = 6,
	HVABS_EXIT_TYPE_VM_FORCE_STOPPED = 7,
	/* hvabs additions (sim/KVM guest faults), >= 0x100 */
	HVABS_EXIT_TYPE_GUEST_FAULT = 0x100,
};

#define HVABS_VM_OPTIONS_VERSION 1

/**
 * struct hvabs_vm_options - how to create a VM. Append-only.
 * @version:   HVABS_VM_OPTIONS_VERSION.
 * @backend:   backend name, or NULL (see hvabs_backend_select()).
 * @arch:      guest architecture (HVABS_ARCH_NONE: backend default).
 * @nr_vcpus:  vCPU resources the hypervisor hands out at start (ids 0..n-1).
 *             0: one resource for each vCPU function present at start.
 * @flags:     HVABS_VM_F_* bits; unknown bits are HVABS_EINVAL.
 * @backend_config: backend-specific string ("abi=v14,device=/dev/gunyah"
 *             for gunyah), or NULL. Unknown keys are HVABS_EINVAL.
 */
struct hvabs_vm_options {
	unsigned int version;
	const char *backend;
	enum hvabs_arch arch;
	uint32_t nr_vcpus;
	uint32_t flags;
	const char *backend_config;
};

#define HVABS_VM_OPTIONS_INIT { HVABS_VM_OPTIONS_VERSION, NULL, HVABS_ARCH_NONE, 0, 0, NULL }

/** hvabs_vm_options_init() - fill @opts with defaults. HVABS_EVERSION if @version is not supported. */
HVABS_API int hvabs_vm_options_init(struct hvabs_vm_options *opts, unsigned int version);

/**
 * hvabs_vm_create() - create a VM in state LOAD.
 * @out:  receives the VM; the caller owns one reference (hvabs_vm_destroy()).
 * @opts: options, or NULL for defaults.
 *
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (bad flags, arch, config);
 * HVABS_ENOTFOUND (unknown backend name); HVABS_ENODEV (backend unusable);
 * HVABS_ENOMEM; HVABS_ENOTSUP (arch not supported by the backend).
 * Thread-safe.
 */
HVABS_API int hvabs_vm_create(struct hvabs_vm **out, const struct hvabs_vm_options *opts);

/**
 * hvabs_vm_destroy() - tear the VM down and drop the creator's reference.
 *
 * Kicks running vCPUs and waits for them to leave hvabs_vcpu_run(), then
 * removes functions, tickets and IO handlers in reverse order of creation,
 * stops the backend VM and releases memory regions. Handles to its vCPUs and
 * functions become invalid. NULL is ignored. Must not be called from a vCPU
 * thread of the same VM or from one of its callbacks.
 */
HVABS_API void hvabs_vm_destroy(struct hvabs_vm *vm);

/** hvabs_vm_get() - take a reference that keeps @vm's memory valid. Thread-safe. */
HVABS_API void hvabs_vm_get(struct hvabs_vm *vm);

/**
 * hvabs_vm_put() - drop a reference. The last put of a VM that was never
 * destroyed destroys it first. Thread-safe; NULL is ignored.
 */
HVABS_API void hvabs_vm_put(struct hvabs_vm *vm);

/** hvabs_vm_refcount() - current number of references (tests, diagnostics). */
HVABS_API unsigned int hvabs_vm_refcount(const struct hvabs_vm *vm);

/** hvabs_vm_backend_name() - name of the backend that runs @vm. Valid for @vm's life. */
HVABS_API const char *hvabs_vm_backend_name(const struct hvabs_vm *vm);

/** hvabs_vm_arch() - guest architecture of @vm. */
HVABS_API enum hvabs_arch hvabs_vm_arch(const struct hvabs_vm *vm);

/* Memory region flags (values equal Gunyah's GH_MEM_*). */
#define HVABS_MEM_READ (1u << 0)
#define HVABS_MEM_WRITE (1u << 1)
#define HVABS_MEM_EXEC (1u << 2)
#define HVABS_MEM_LENT (1u << 3) /* lend rather than share (Gunyah v10) */
#define HVABS_MEM_RWX (HVABS_MEM_READ | HVABS_MEM_WRITE | HVABS_MEM_EXEC)

/** Guest pages are 4 KiB for every backend; all region fields align to it. */
#define HVABS_PAGE_SIZE 4096u

#define HVABS_MEM_REGION_VERSION 1

/**
 * struct hvabs_mem_region - one guest-physical memory region.
 * @label:      caller's name for the region; unique per VM.
 * @flags:      HVABS_MEM_* bits; at least one access bit.
 * @guest_addr: guest-physical base, page aligned.
 * @size:       bytes, page aligned, > 0.
 * @host_addr:  page-aligned host memory backing the region, owned by the
 *              caller and valid until the VM is destroyed; NULL asks the
 *              library to allocate (zeroed) memory it owns.
 */
struct hvabs_mem_region {
	unsigned int version;
	uint32_t label;
	uint32_t flags;
	uint64_t guest_addr;
	uint64_t size;
	void *host_addr;
};

/**
 * hvabs_vm_mem_add() - register a memory region (state LOAD only).
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (misaligned, zero size, no access
 * bit, unknown flag, address overflow); HVABS_EEXIST (label in use, or guest
 * range overlaps another region); HVABS_ENOTSUP (flag the backend cannot
 * honour, see hvabs_caps.mem_flags); HVABS_ESTATE; HVABS_ENOMEM.
 * Thread-safe.
 */
HVABS_API int hvabs_vm_mem_add(struct hvabs_vm *vm, const struct hvabs_mem_region *region);

/**
 * hvabs_vm_mem_remove() - remove the region with @label (state LOAD only).
 * Return: 0; HVABS_ENOTFOUND; HVABS_ESTATE; HVABS_ENOTSUP (backend has no
 * region removal, e.g. Gunyah v14).
 */
HVABS_API int hvabs_vm_mem_remove(struct hvabs_vm *vm, uint32_t label);

/**
 * hvabs_vm_mem_host() - host pointer for guest range [@gpa, @gpa + @len).
 * Return: pointer, or NULL when the range is not inside one region. Valid
 * until the region is removed or the VM destroyed. Thread-safe.
 */
HVABS_API void *hvabs_vm_mem_host(struct hvabs_vm *vm, uint64_t gpa, uint64_t len);

/* CPU mode a vCPU starts in (x86 modes need a scratch area, see below). */
enum hvabs_cpu_mode {
	HVABS_CPU_MODE_DEFAULT = 0,  /* x86: 16-bit real mode; arm64: EL1h */
	HVABS_CPU_MODE_X86_REAL = 1, /* CS:IP = entry >> 4 : entry & 0xf */
	HVABS_CPU_MODE_X86_PROT32 = 2, /* flat 4 GiB code/data segments */
	HVABS_CPU_MODE_X86_LONG64 = 3, /* identity-mapped 4 GiB, 2 MiB pages */
	HVABS_CPU_MODE_ARM64_EL1 = 4,
};

#define HVABS_BOOT_CONFIG_VERSION 1
#define HVABS_BOOT_STACK_STRIDE 0x800u

/**
 * struct hvabs_boot_config - how vCPUs start.
 * @entry:        guest-physical address of the first instruction.
 * @blob_addr:    guest-physical address of a boot blob (a DTB for Gunyah),
 *                or 0 with @blob_size 0 for none.
 * @blob_size:    size of the blob; [addr, addr+size) must lie inside one
 *                region, which hvabs_vm_start() checks (HVABS_EINVAL).
 * @cpu_mode:     enum hvabs_cpu_mode.
 * @scratch_addr: guest-physical, page-aligned 64 KiB inside RAM that the
 *                backend may fill with a GDT and page tables for the PROT32
 *                and LONG64 modes; 0 when unused.
 * @arg0:         value of the first argument register at entry (arm64 x0,
 *                x86 rsi/esi), e.g. the blob address.
 * @stack:        initial stack pointer of vCPU 0, 0 for none.
 *
 * Every vCPU starts at @entry with interrupts masked and, where the backend
 * sets registers (sim, KVM): x86 ESI/RSI = @arg0 and EDI = the vCPU id;
 * arm64 X0 = @arg0 and X1 = the vCPU id; the stack pointer of vCPU n is
 * @stack - n * HVABS_BOOT_STACK_STRIDE (0 stays 0). Real mode: CS:IP =
 * (@entry >> 4):(@entry & 0xf), data segments 0. PROT32/LONG64: flat
 * segments (CS 0x08 32-bit / 0x18 64-bit, data 0x10) from a GDT at
 * @scratch_addr and, for LONG64, identity page tables after it.
 */
struct hvabs_boot_config {
	unsigned int version;
	uint64_t entry;
	uint64_t blob_addr;
	uint64_t blob_size;
	uint32_t cpu_mode;
	uint64_t scratch_addr;
	uint64_t arg0;
	uint64_t stack;
};

/**
 * hvabs_vm_boot_set() - set how the VM boots (state LOAD only; replaces any
 * earlier setting). Ranges are checked at start, as Gunyah does.
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (unknown cpu_mode, blob_size with
 * blob range overflow, misaligned scratch); HVABS_ENOTSUP (mode not for this
 * arch); HVABS_ESTATE.
 */
HVABS_API int hvabs_vm_boot_set(struct hvabs_vm *vm, const struct hvabs_boot_config *boot);

/**
 * hvabs_vm_start() - LOAD -> READY -> RUNNING.
 *
 * Validates the boot setup, lets the backend create the VM's resources and
 * offers each one to the resource ticket with the same type and label.
 * A failure leaves the VM in INIT_FAILED (destroy is the only way on) and
 * returns the cause. Starting a RUNNING VM returns 0; any other state is
 * HVABS_ESTATE. Thread-safe.
 *
 * Return: 0; HVABS_EINVAL (no memory region, blob or scratch area outside
 * memory); HVABS_ESTATE; HVABS_EBUSY (two irqfds share one eventfd);
 * a ticket's populate code; backend codes.
 */
HVABS_API int hvabs_vm_start(struct hvabs_vm *vm);

/**
 * struct hvabs_vm_status - state and, once EXITED/CRASHED, why.
 * @reason: first @reason_size bytes are meaningful (at most 8).
 */
struct hvabs_vm_status {
	enum hvabs_vm_state state;
	uint16_t exit_type;
	uint32_t reason_size;
	uint8_t reason[8];
};

/** hvabs_vm_status_get() - snapshot of @vm's state. Thread-safe; never fails. */
HVABS_API void hvabs_vm_status_get(struct hvabs_vm *vm, struct hvabs_vm_status *status);

/** hvabs_vm_state_name() - "LOAD", "RUNNING", ... for a state value. */
HVABS_API const char *hvabs_vm_state_name(enum hvabs_vm_state state);

HVABS_END_DECLS

#endif
