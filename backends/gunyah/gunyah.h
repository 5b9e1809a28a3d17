/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah.h: Gunyah backend internals shared by its files (not installed). */
#ifndef HVABS_GUNYAH_INTERNAL_H
#define HVABS_GUNYAH_INTERNAL_H

#include "internal.h"

#include "gunyah_api.h"
#include "gunyah_uapi.h"

#include <sys/types.h>

#define GUNYAH_BACKEND "gunyah"
#define GUNYAH_DEVICE_DEFAULT "/dev/gunyah"
#define GUNYAH_ENV_DEVICE "HVABS_GUNYAH_DEVICE"
#define GUNYAH_ENV_ABI "HVABS_GUNYAH_ABI"

/* hvabs' limit: vCPU ids are devicetree cpu@N nodes; the uapi itself has none. */
#define GUNYAH_MAX_VCPUS 256u

/*
 * Kick signal: SIGRTMIN + GUNYAH_KICK_SIGNAL_OFFSET (kvm uses + 5). A
 * no-op handler WITHOUT SA_RESTART is installed once, unless the
 * application already handles the signal: GH_VCPU_RUN (and, under the
 * emulator, the trapped ioctl) then returns EINTR. Threads that run vCPUs
 * must not block it.
 */
#define GUNYAH_KICK_SIGNAL_OFFSET 6

enum gunyah_abi {
	GUNYAH_ABI_V10 = HVABS_GUNYAH_ABI_V10,
	GUNYAH_ABI_V14 = HVABS_GUNYAH_ABI_V14,
};

struct gunyah_vm {
	struct hvabs_vm base;
	int vm_fd;
	enum gunyah_abi abi;
	bool dtb_user;   /* backend_config dtb=user: the VMM wrote the devicetree */
	/* Filled at start (vm->lock): the devicetree's vCPUs and doorbells. */
	bool dt_known;   /* false: a user devicetree that could not be read (no libfdt) */
	uint32_t *dt_vcpus;
	uint32_t nr_dt_vcpus;
	uint32_t *dt_bells;
	uint32_t nr_dt_bells;
	uint64_t dtb_gpa;
	uint64_t dtb_size;
};

struct gunyah_vcpu {
	struct hvabs_vcpu base;
	int fd;
	struct gh_vcpu_run *run;
	size_t run_size;
	_Atomic pid_t tid;     /* thread inside GH_VCPU_RUN, 0 when none */
	atomic_bool signalled; /* a kick signal is in flight */
	bool pending;          /* an MMIO exit awaits the caller's completion */
};

static inline struct gunyah_vm *gunyah_vm_of(struct hvabs_vm *vm)
{
	return hvabs__container_of(vm, struct gunyah_vm, base);
}

static inline struct gunyah_vcpu *gunyah_vcpu_of(struct hvabs_vcpu *vcpu)
{
	return hvabs__container_of(vcpu, struct gunyah_vcpu, base);
}

/* Translate kernel errno @err of call @what into an HVABS_E* code (the backend's only remap). */
int hvabs__gunyah_errno_to_hvabs(int err, const char *what);

/* ---- gunyah_vm.c ---- */

int hvabs__gunyah_remove_fn(struct gunyah_vm *gv, const struct gh_fn_desc *desc, const char *what);

/* ---- gunyah_vcpu.c ---- */

HVABS_MUST_CHECK int hvabs__gunyah_signal_setup(void);
int hvabs__gunyah_vcpu_init(struct hvabs_vcpu *vcpu);
void hvabs__gunyah_vcpu_fini(struct hvabs_vcpu *vcpu);
int hvabs__gunyah_vcpu_run(struct hvabs_vcpu *vcpu);
void hvabs__gunyah_vcpu_kick(struct hvabs_vcpu *vcpu);

/* ---- gunyah_boot.c ---- */

/* At start (vm->lock held): check the boot setup, place and announce the devicetree. */
int hvabs__gunyah_boot_start(struct gunyah_vm *gv);
/* Release what hvabs__gunyah_boot_start() recorded. */
void hvabs__gunyah_boot_fini(struct gunyah_vm *gv);
/* Is (type, label) in the VM's devicetree? 0, or HVABS_ENOTSUP. */
int hvabs__gunyah_dt_has(struct gunyah_vm *gv, enum hvabs_resource_type type, uint32_t label);

#endif
