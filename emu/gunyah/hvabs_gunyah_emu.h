/* SPDX-License-Identifier: MIT */
/* emu/gunyah/hvabs_gunyah_emu.h: a syscall-level /dev/gunyah emulator (seccomp user notification) for tests. */
#ifndef HVABS_GUNYAH_EMU_H
#define HVABS_GUNYAH_EMU_H

#include <hvabs/common.h>
#include <hvabs/errors.h>

HVABS_BEGIN_DECLS

/*
 * libhvabs-gunyah-emu makes the process see a working /dev/gunyah: openat()
 * of the device path and ioctl()s on the files it hands out are trapped by a
 * seccomp filter and answered by a supervisor thread with the kernel
 * driver's semantics of the chosen ABI ("v10" or "v14"; docs/gunyah-emulator.md).
 * Guests run on a private hvabs sim VM created at GH_VM_START.
 *
 * The filter cannot be removed: only the thread that called
 * hvabs_gunyah_emu_start() and the threads it creates afterwards see the
 * device, and every openat()/open() and every ioctl() of type 'G' they make
 * costs a round trip through the supervisor. Run emulator-backed tests in
 * their own process (own binary, or one fork per test).
 *
 * Two ways in: hvabs_gunyah_emu_start() from the process itself, or
 * LD_PRELOAD=libhvabs-gunyah-emu.so into an unmodified dynamically linked
 * VMM; the constructor then reads HVABS_GUNYAH_EMU_ABI, _DEVICE, _FAULTS,
 * _LIBHVABS, _SHARED, _WATCH_US and _LOG from the environment.
 */

#define HVABS_GUNYAH_EMU_CONFIG_VERSION 1

/**
 * struct hvabs_gunyah_emu_config - how to start the emulator. Append-only.
 * @version:  HVABS_GUNYAH_EMU_CONFIG_VERSION.
 * @device:   absolute path to emulate; NULL: "/dev/gunyah".
 * @abi:      "v10" or "v14"; NULL: "v14".
 * @faults:   errno injection, "op:nth:errno[,op:nth:errno...]" with errno a
 *            number or a name ("ENOMEM"); see hvabs_gunyah_emu_fault_set().
 *            NULL for none.
 * @libhvabs: libhvabs.so to load for the private sim VMs; NULL: the one
 *            this emulator was built with.
 * @shared_libhvabs: true: use the libhvabs already loaded in the process
 *            (its allocator, counters and fault injection then see the
 *            emulator's sim VMs); false: load a private copy with
 *            dlmopen(LM_ID_NEWLM), falling back to the shared one if that fails.
 * @watch_us: period of the check for a set immediate_exit byte or an
 *            interrupted GH_VCPU_RUN while vCPUs run; 0: 1000.
 * @log:      trace every trapped call to stderr.
 */
struct hvabs_gunyah_emu_config {
	unsigned int version;
	const char *device;
	const char *abi;
	const char *faults;
	const char *libhvabs;
	bool shared_libhvabs;
	uint32_t watch_us;
	bool log;
};

#define HVABS_GUNYAH_EMU_CONFIG_INIT \
	{ HVABS_GUNYAH_EMU_CONFIG_VERSION, NULL, NULL, NULL, NULL, false, 0, false }

/**
 * hvabs_gunyah_emu_start() - install the emulator in this process (once).
 * @cfg: configuration, or NULL for defaults.
 *
 * Starts the supervisor thread, then installs the filter on the calling
 * thread (setting no_new_privs). Call it before creating the threads that
 * will use the device.
 *
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (bad ABI name, relative device
 * path, bad fault spec); HVABS_EBUSY (already started); HVABS_ENOTSUP (the
 * kernel lacks seccomp user notification); HVABS_ENOTFOUND (libhvabs could
 * not be loaded); HVABS_ENOMEM; HVABS_ERROR.
 */
HVABS_API int hvabs_gunyah_emu_start(const struct hvabs_gunyah_emu_config *cfg);

/** hvabs_gunyah_emu_active() - true once hvabs_gunyah_emu_start() succeeded. */
HVABS_API bool hvabs_gunyah_emu_active(void);

/**
 * hvabs_gunyah_emu_fault_set() - make the @nth (1-based, counted from now)
 * trapped call of @op fail with -@err, without side effects, except "start",
 * which fails after the vCPUs were bound and leaves the VM INIT_FAILED (RUN
 * then reports STATUS LOAD_FAILED). Operations: "open", "create_vm",
 * "set_user_mem_region", "set_dtb_config", "start", "add_function",
 * "remove_function", "vcpu_run", "vcpu_mmap_size".
 * Return: 0; HVABS_ENOTFOUND (unknown op); HVABS_EINVAL (@nth 0, @err <= 0).
 * Thread-safe.
 */
HVABS_API int hvabs_gunyah_emu_fault_set(const char *op, unsigned int nth, int err);

/** hvabs_gunyah_emu_fault_clear() - cancel every armed fault. */
HVABS_API void hvabs_gunyah_emu_fault_clear(void);

/** hvabs_gunyah_emu_op_count() - trapped calls of @op since start (0 for unknown ops). */
HVABS_API uint64_t hvabs_gunyah_emu_op_count(const char *op);

/**
 * hvabs_gunyah_emu_sync() - wait until the supervisor has seen every file
 * release that happened before the call (close() of a VM fd, munmap() of a
 * run page): the teardown they cause is complete when this returns.
 */
HVABS_API void hvabs_gunyah_emu_sync(void);

/**
 * struct hvabs_gunyah_emu_stats - what the emulated kernel holds now.
 * @vms:        VM objects alive (file open or referenced by a vCPU file).
 * @vcpus:      vCPU objects alive (file open, function present or a run in flight).
 * @functions:  function instances over all VMs.
 * @regions:    memory regions over all VMs.
 * @sim_vms:    private sim VMs (one per started VM).
 * @trapped:    notifications received.
 * @continued:  notifications let through untouched.
 * @runs:       GH_VCPU_RUN calls answered.
 * @runs_interrupted: GH_VCPU_RUN calls whose caller left (signal) before the answer.
 * @ioeventfd_hits: guest writes consumed by an ioeventfd.
 */
struct hvabs_gunyah_emu_stats {
	uint32_t vms;
	uint32_t vcpus;
	uint32_t functions;
	uint32_t regions;
	uint32_t sim_vms;
	uint64_t trapped;
	uint64_t continued;
	uint64_t runs;
	uint64_t runs_interrupted;
	uint64_t ioeventfd_hits;
};

/** hvabs_gunyah_emu_stats() - snapshot of the counters (call _sync() first for exact numbers). */
HVABS_API void hvabs_gunyah_emu_stats(struct hvabs_gunyah_emu_stats *stats);

/*
 * Test guests. Until the sim engine runs arm64 code, a test plays the guest
 * of a vCPU with a callback, like an hvabs sim callback guest: it runs on an
 * emulator thread while the VMM is inside GH_VCPU_RUN, and its accesses
 * become MMIO exits in the run page (or ioeventfd signals). Returning from
 * the callback powers the VM off (STATUS EXITED, type VM_EXIT).
 * A guest must not call the emulator's other functions, hold locks across
 * guest calls, or make trapped syscalls (openat, ioctl of type 'G').
 */
struct hvabs_gunyah_emu_guest;

typedef void (*hvabs_gunyah_emu_guest_fn)(struct hvabs_gunyah_emu_guest *g, void *payload);

/**
 * hvabs_gunyah_emu_set_guest() - play vCPU @vcpu_id of every VM started
 * from now on with @fn (NULL: forget it; the sim engine's default guest).
 * Return: 0; HVABS_EINVAL (emulator not started).
 */
HVABS_API int hvabs_gunyah_emu_set_guest(uint32_t vcpu_id, hvabs_gunyah_emu_guest_fn fn,
					 void *payload);

/* Guest accesses (hvabs_sim_guest_* semantics): 0, or -1 when the access faulted. */
HVABS_API int hvabs_gunyah_emu_guest_mmio_read(struct hvabs_gunyah_emu_guest *g, uint64_t addr,
					       uint32_t len, uint64_t *val);
HVABS_API int hvabs_gunyah_emu_guest_mmio_write(struct hvabs_gunyah_emu_guest *g, uint64_t addr,
						uint32_t len, uint64_t val);
HVABS_API int hvabs_gunyah_emu_guest_mem_read(struct hvabs_gunyah_emu_guest *g, uint64_t gpa,
					      void *buf, size_t len);
HVABS_API int hvabs_gunyah_emu_guest_mem_write(struct hvabs_gunyah_emu_guest *g, uint64_t gpa,
					       const void *buf, size_t len);
/* Sleep until a doorbell interrupt is pending; acknowledge it and return its label. */
HVABS_API uint32_t hvabs_gunyah_emu_guest_wait_irq(struct hvabs_gunyah_emu_guest *g);
/* Acknowledge a pending doorbell without sleeping: 1 and *label, or 0. */
HVABS_API int hvabs_gunyah_emu_guest_poll_irq(struct hvabs_gunyah_emu_guest *g, uint32_t *label);
HVABS_API void hvabs_gunyah_emu_guest_eoi(struct hvabs_gunyah_emu_guest *g, uint32_t label);
/* Preemption point for guests that loop without accesses. */
HVABS_API void hvabs_gunyah_emu_guest_yield(struct hvabs_gunyah_emu_guest *g);
/* Power off (EXITED) or crash (@crashed) with exit_info type and reason. Does not return. */
HVABS_API void hvabs_gunyah_emu_guest_exit(struct hvabs_gunyah_emu_guest *g, bool crashed,
					   uint16_t exit_type, const void *reason,
					   uint32_t reason_size);
/* Id of the vCPU this guest plays. */
HVABS_API uint32_t hvabs_gunyah_emu_guest_vcpu_id(const struct hvabs_gunyah_emu_guest *g);

HVABS_END_DECLS

#endif
