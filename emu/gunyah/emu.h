/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu.h: internals of the /dev/gunyah emulator shared by its files. */
#ifndef HVABS_GUNYAH_EMU_INTERNAL_H
#define HVABS_GUNYAH_EMU_INTERNAL_H

#include "emu_abi.h"
#include "hvabs_gunyah_emu.h"

#include <hvabs.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

/*
 * Threads: the supervisor (created before the filter, so none of its
 * syscalls are trapped) receives every notification and does all
 * control-plane work; one worker per vCPU object (created by the
 * supervisor) answers GH_VCPU_RUN asynchronously. The private hvabs
 * library's threads (sim guests, irqfd) are created by those threads and
 * are not filtered either.
 *
 * Lock: emu.lock guards every object below. The supervisor holds it while
 * it handles an event; a worker takes it around each decision, never while
 * it is inside hvabs_vcpu_run(). Sim VMs are destroyed under the lock: that
 * waits for workers to leave hvabs_vcpu_run() only, never for the lock.
 * Threads are joined outside the lock (emu.reap).
 *
 * Identity: every file the VMM gets is its own open file description of a
 * memfd the emulator keeps. An ioctl's fd is mapped to its object by the
 * inode fstat() reports (the supervisor shares the VMM's fd table), so a
 * reused fd number is never mistaken for an emulated file. An inotify
 * IN_CLOSE on that inode says the VMM's description was released (the last
 * close and, for vCPU files, the last munmap of the run page).
 */

enum emu_abi {
	EMU_ABI_V10 = 0,
	EMU_ABI_V14 = 1,
	EMU_ABI_COUNT = 2,
};

enum emu_kind {
	EMU_OBJ_DEV = 0,
	EMU_OBJ_VM = 1,
	EMU_OBJ_VCPU = 2,
};

/* Special results of an ioctl handler. */
#define EMU_REPLIED (-100000L) /* the handler answered (ADDFD) */
#define EMU_ASYNC (-100001L)   /* a worker will answer */

/* ---- the private hvabs library (emu_hv.c) ---- */

struct emu_hv {
	void *handle;
	bool isolated; /* loaded with dlmopen(LM_ID_NEWLM) */
	const struct hvabs_error *(*error_last)(void);
	const char *(*err_name)(int code);
	int (*backend_caps)(const char *name, struct hvabs_caps *caps);
	int (*vm_create)(struct hvabs_vm **out, const struct hvabs_vm_options *opts);
	void (*vm_destroy)(struct hvabs_vm *vm);
	void (*vm_get)(struct hvabs_vm *vm);
	void (*vm_put)(struct hvabs_vm *vm);
	int (*vm_mem_add)(struct hvabs_vm *vm, const struct hvabs_mem_region *region);
	int (*vm_boot_set)(struct hvabs_vm *vm, const struct hvabs_boot_config *boot);
	int (*vm_start)(struct hvabs_vm *vm);
	void (*vm_status)(struct hvabs_vm *vm, struct hvabs_vm_status *status);
	int (*vm_function_add)(struct hvabs_function **out, struct hvabs_vm *vm,
			       const struct hvabs_fn_desc *desc);
	struct hvabs_vcpu *(*function_vcpu)(const struct hvabs_function *fn);
	int (*vm_irqfd_add)(struct hvabs_function **out, struct hvabs_vm *vm, int fd,
			    uint32_t label, uint32_t flags, int resample_fd);
	int (*function_remove)(struct hvabs_function *fn);
	int (*vcpu_run)(struct hvabs_vcpu *vcpu);
	struct hvabs_exit *(*vcpu_exit)(struct hvabs_vcpu *vcpu);
	void (*vcpu_kick)(struct hvabs_vcpu *vcpu);
	int (*sim_set_guest)(struct hvabs_vcpu *vcpu, hvabs_sim_guest_fn fn, void *payload);
	int (*g_mmio_read)(struct hvabs_sim_guest *g, uint64_t addr, uint32_t len, uint64_t *val);
	int (*g_mmio_write)(struct hvabs_sim_guest *g, uint64_t addr, uint32_t len, uint64_t val);
	int (*g_mem_read)(struct hvabs_sim_guest *g, uint64_t gpa, void *buf, size_t len);
	int (*g_mem_write)(struct hvabs_sim_guest *g, uint64_t gpa, const void *buf, size_t len);
	uint32_t (*g_wait_irq)(struct hvabs_sim_guest *g);
	int (*g_poll_irq)(struct hvabs_sim_guest *g, uint32_t *line);
	void (*g_eoi)(struct hvabs_sim_guest *g, uint32_t line);
	void (*g_yield)(struct hvabs_sim_guest *g);
	void (*g_exit)(struct hvabs_sim_guest *g, bool crashed, uint16_t exit_type,
		       const void *reason, uint32_t reason_size);
	struct hvabs_vcpu *(*g_vcpu)(const struct hvabs_sim_guest *g);
	uint32_t (*vcpu_id)(const struct hvabs_vcpu *vcpu);
};

int emu_hv_load(struct emu_hv *hv, const char *path, bool shared);
/* Map an hvabs code of the private library to the errno the kernel would give. */
int emu_hv_errno(int code);

/* ---- objects ---- */

struct emu_obj {
	struct emu_obj *next; /* emu.objs */
	enum emu_kind kind;
	ino_t ino;
	int memfd; /* the emulator's own description; keeps the inode alive */
	int wd;    /* inotify watch on the inode, -1 for none */
	unsigned int files; /* VMM descriptions not yet released */
};

struct emu_region {
	struct emu_region *next;
	struct gh_userspace_memory_region r;
};

struct emu_vcpu;

struct emu_fn {
	struct emu_fn *next; /* vm->fns, creation order */
	uint32_t type;
	uint32_t arg_size;
	uint64_t arg_value; /* v10 by-value argument (arg_size 0) */
	uint8_t arg[GH_FN_MAX_ARG_SIZE];
	int efd; /* the emulator's reference to an irqfd/ioeventfd eventfd, else -1 */
	struct emu_vcpu *vcpu;         /* GH_FN_VCPU */
	struct hvabs_function *sim_fn; /* irqfd mirrored into the sim VM */
	/* decoded argument */
	uint32_t label; /* vCPU id or doorbell label */
	uint32_t flags;
	uint64_t addr;
	uint64_t datamatch;
	uint32_t len;
};

struct emu_run_req {
	struct emu_run_req *next;
	uint64_t id;
};

struct emu_vm {
	struct emu_obj obj;
	unsigned int refs; /* VM file + one per vCPU file */
	int state;         /* GH_RM_VM_STATUS_LOAD, _RUNNING, _INIT_FAILED */
	struct emu_region *regions;
	struct gh_vm_dtb_config dtb;
	struct emu_fn *fns;
	struct hvabs_vm *sim; /* created at start */
	uint32_t *dt_vcpus;
	uint32_t nr_dt_vcpus;
	uint32_t *dt_bells;
	uint32_t nr_dt_bells;
};

struct emu_guest_hook {
	hvabs_gunyah_emu_guest_fn fn;
	void *payload;
};

struct emu_vcpu {
	struct emu_obj obj;
	struct emu_vm *vm;  /* referenced while the file is open */
	struct emu_fn *fn;  /* the function instance, NULL once removed */
	uint32_t id;
	unsigned int refs;  /* file + function */
	bool file_open;     /* the file reference (and its VM reference) is held */
	struct gh_vcpu_run *run; /* the emulator's mapping of the run page */
	struct hvabs_vcpu *sim_vcpu;   /* while populated */
	struct hvabs_function *sim_fn;
	/* worker */
	pthread_t thread;
	bool thread_on;
	bool stop;
	pthread_cond_t cond;
	struct emu_run_req *head, *tail;
	bool busy;        /* a request is being served */
	uint64_t cur;     /* its notification id */
	bool kicked;      /* the watcher kicked for cur */
	bool mmio_read;   /* the guest waits for read data from the run page */
	bool unreported;  /* an exit is in the run page that no RUN returned */
	struct emu_guest_hook guest; /* test guest, copied at bind */
	struct emu_vcpu *reap_next;
};

#define EMU_MAX_GUEST_HOOKS 64u

struct emu_state {
	pthread_mutex_t lock;
	bool active;
	enum emu_abi abi;
	char device[4096];
	bool log;
	uint32_t watch_us;
	struct emu_hv hv;
	int listener;
	int inotify;
	int ctlfd; /* eventfd: wake the supervisor */
	pid_t tgid;
	long page_size;
	dev_t memfd_dev;
	struct emu_obj *dev_obj; /* one inode for every open of the device */
	struct emu_obj *objs;
	struct emu_vcpu *reap;
	pthread_t supervisor;
	/* sync */
	pthread_cond_t sync_cond;
	uint64_t sync_req;
	uint64_t sync_done;
	/* test guests */
	struct emu_guest_hook guests[EMU_MAX_GUEST_HOOKS];
	/* counters */
	uint64_t trapped, continued, runs, runs_interrupted, ioeventfd_hits;
	uint32_t nr_vms, nr_vcpus, nr_fns, nr_regions, nr_sim_vms;
	atomic_uint busy_vcpus;
};

extern struct emu_state emu;

void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- rules and fault injection (emu_rules.c) ---- */

enum emu_rule {
	R_CREATE_VM_ARG,
	R_WRONG_FD_DEV,
	R_WRONG_FD_VM,
	R_WRONG_FD_VCPU,
	R_BAD_POINTER,
	R_REGION_FLAGS,
	R_REGION_LENT,
	R_REGION_ALIGN,
	R_REGION_SIZE0,
	R_REGION_OVERFLOW,
	R_REGION_LABEL,
	R_REGION_OVERLAP,
	R_REGION_PIN,
	R_REGION_DELETE_MISSING,
	R_DTB_OVERFLOW,
	R_FN_ARG_SIZE,
	R_FN_UNKNOWN_TYPE,
	R_FN_VCPU_SIZE,
	R_FN_VCPU_DUP,
	R_FN_IRQFD_SIZE,
	R_FN_IRQFD_FLAGS,
	R_FN_IRQFD_DUP,
	R_FN_IOEVENTFD_SIZE,
	R_FN_IOEVENTFD_FLAGS,
	R_FN_IOEVENTFD_LEN,
	R_FN_IOEVENTFD_DM_LEN0,
	R_FN_IOEVENTFD_OVERFLOW,
	R_FN_IOEVENTFD_COLLIDE,
	R_FN_BAD_FD,
	R_FN_NOT_EVENTFD,
	R_REMOVE_NO_MATCH,
	R_START_DTB_RANGE,
	R_START_DT_INVALID,
	R_START_AGAIN_RUNNING,
	R_START_AGAIN_STOPPED,
	R_RUN_NO_FUNCTION,
	R_RUN_UNBOUND,
	R_RUN_IMMEDIATE_EXIT,
	R_COUNT,
};

/* The result the selected ABI's kernel gives when @rule is broken (0: accepted). */
int emu_rule(enum emu_rule rule);

enum emu_op {
	EMU_OP_OPEN,
	EMU_OP_CREATE_VM,
	EMU_OP_SET_USER_MEM_REGION,
	EMU_OP_SET_DTB_CONFIG,
	EMU_OP_START,
	EMU_OP_ADD_FUNCTION,
	EMU_OP_REMOVE_FUNCTION,
	EMU_OP_VCPU_RUN,
	EMU_OP_VCPU_MMAP_SIZE,
	EMU_OP_COUNT,
};

/* Count a call of @op; returns the injected errno (positive) or 0. */
int emu_op_enter(enum emu_op op);
int emu_faults_parse(const char *spec);

/* ---- supervisor plumbing (emu_supervisor.c) ---- */

int emu_reply(uint64_t id, long val, int err);
int emu_reply_continue(uint64_t id);
/* Inject @srcfd as the result of notification @id; returns the new fd or -errno. */
int emu_reply_fd(uint64_t id, int srcfd, bool cloexec);
bool emu_id_valid(uint64_t id);
/* Copy from the VMM's memory: 0 or -EFAULT. */
int emu_read_mem(void *dst, uint64_t addr, size_t len);
void emu_wake_supervisor(void);

/* ---- objects (emu_obj.c) ---- */

/* Create the memfd behind a new object (@size bytes) and watch its inode. */
int emu_obj_init(struct emu_obj *obj, enum emu_kind kind, const char *name, size_t size,
		 bool watch);
void emu_obj_fini(struct emu_obj *obj);
struct emu_obj *emu_obj_lookup_fd(int fd);
/* Hand the VMM a new description of @obj as the result of @id: fd or -errno. */
int emu_obj_install(struct emu_obj *obj, uint64_t id, bool cloexec);
/* Process queued inotify events (VMM descriptions released). */
void emu_obj_drain_closes(void);
void emu_reap(void);

/* ---- VM (emu_vm.c) ---- */

long emu_dev_ioctl(uint64_t id, uint32_t cmd, uint64_t arg);
long emu_vm_ioctl(struct emu_vm *vm, uint64_t id, uint32_t cmd, uint64_t arg);
void emu_vm_put(struct emu_vm *vm);
void emu_vm_file_released(struct emu_vm *vm);
/* Current RM state, following the sim VM once running. */
int emu_vm_state(struct emu_vm *vm);
struct emu_region *emu_vm_region_find(struct emu_vm *vm, uint64_t gpa, uint64_t len);
void emu_fn_free(struct emu_fn *fn);

/* ---- resource manager (emu_rm.c) ---- */

/*
 * GH_VM_START in state LOAD: returns 0 or -errno; the VM is RUNNING or
 * INIT_FAILED. @inject (an injected errno, or 0) fails it after binding.
 */
long emu_rm_start(struct emu_vm *vm, int inject);
bool emu_rm_has_vcpu(struct emu_vm *vm, uint32_t id);
bool emu_rm_has_bell(struct emu_vm *vm, uint32_t label);
/* Bind a function added while the VM runs (ticket populated at once). */
int emu_rm_populate(struct emu_vm *vm, struct emu_fn *fn);
void emu_rm_unpopulate(struct emu_vm *vm, struct emu_fn *fn);
/* Teardown: destroy the sim VM. */
void emu_rm_stop(struct emu_vm *vm);

/*
 * What the RM's devicetree reader found: vCPU ids and doorbell labels in
 * devicetree order, and the memory node (emu_dt_check()).
 */
struct emu_dt_view {
	uint32_t *vcpus;
	uint32_t nr_vcpus;
	uint32_t *bells;
	uint32_t nr_bells;
	uint64_t mem_base;
	uint64_t mem_size;
};

/*
 * The devicetree check GH_VM_START applies, on @size bytes at @blob, for
 * the fuzzer (fuzz/dt): 0 or -errno (-EINVAL: rejected). The caller frees
 * out->vcpus and out->bells, also on failure.
 */
int emu_dt_check(const void *blob, uint64_t size, struct emu_dt_view *out);

/* ---- vCPUs (emu_vcpu.c) ---- */

int emu_vcpu_create(struct emu_vcpu **out, struct emu_vm *vm, struct emu_fn *fn);
long emu_vcpu_ioctl(struct emu_vcpu *vcpu, uint64_t id, uint32_t cmd, uint64_t arg);
void emu_vcpu_put(struct emu_vcpu *vcpu);
void emu_vcpu_file_released(struct emu_vcpu *vcpu);
/* Kick in-flight runs whose notification died or whose immediate_exit is set. */
void emu_vcpu_watch(void);
bool emu_vcpu_any_busy(void);
void emu_vcpu_join(struct emu_vcpu *vcpu);
/* Attach the test guest of its id (if any) to a freshly bound sim vCPU. */
void emu_vcpu_attach_guest(struct emu_vcpu *vcpu);

#endif
