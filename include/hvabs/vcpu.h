/* SPDX-License-Identifier: MIT */
/* hvabs/vcpu.h: running a vCPU - the exit record, completion, kick and statistics. */
#ifndef HVABS_VCPU_H
#define HVABS_VCPU_H

#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;
struct hvabs_vcpu;

enum hvabs_exit_reason {
	HVABS_EXIT_UNKNOWN = 0,
	HVABS_EXIT_MMIO = 1,     /* complete reads via mmio.data, then run again */
	HVABS_EXIT_PIO = 2,      /* complete reads via pio.data, then run again */
	HVABS_EXIT_HLT = 3,      /* the vCPU halted with nothing to wake it */
	HVABS_EXIT_STATUS = 4,   /* the VM is no longer running: see status */
	HVABS_EXIT_SHUTDOWN = 5, /* x86 shutdown (triple fault without crash model) */
	HVABS_EXIT_RESET = 6,
	HVABS_EXIT_SYSTEM_EVENT = 7,
	HVABS_EXIT_INTR = 8,     /* kicked (immediate exit) */
	HVABS_EXIT_INTERNAL = 9, /* backend failure: see internal */
	HVABS_EXIT_REASON_MAX = 10,
};

/* How the guest continues after an MMIO/PIO exit the caller completed. */
enum hvabs_resume {
	HVABS_RESUME_HANDLED = 0, /* access done (reads deliver data[]) */
	HVABS_RESUME_FAULT = 1,   /* inject an abort / #GP into the guest */
	HVABS_RESUME_RETRY = 2,   /* re-execute the access */
};

/* hvabs_exit.status.status values (Gunyah's GH_VM_STATUS_*). */
#define HVABS_STATUS_LOAD_FAILED 1u
#define HVABS_STATUS_EXITED 2u
#define HVABS_STATUS_CRASHED 3u

/* MMIO access (HVABS_EXIT_MMIO). */
struct hvabs_exit_mmio {
	uint64_t addr;
	uint8_t data[8]; /* little-endian, @len bytes */
	uint32_t len;
	uint8_t is_write;
	uint8_t resume; /* enum hvabs_resume, preset HANDLED */
};

/* Port I/O access (HVABS_EXIT_PIO). */
struct hvabs_exit_pio {
	uint16_t port;
	uint8_t size;     /* 1, 2 or 4 */
	uint8_t is_write;
	uint32_t count;   /* > 1 for string (rep ins/outs) */
	uint8_t *data;    /* size * count bytes, owned by the vCPU */
	uint8_t resume;
};

/* The VM stopped (HVABS_EXIT_STATUS). */
struct hvabs_exit_status {
	uint32_t status; /* HVABS_STATUS_* */
	uint16_t exit_type;
	uint32_t reason_size;
	uint8_t reason[8];
};

/* SYSTEM_EVENT / SHUTDOWN / RESET details. */
struct hvabs_exit_event {
	uint32_t type; /* backend event type */
	uint32_t ndata;
	uint64_t data[4];
};

/* Backend failure (HVABS_EXIT_INTERNAL). */
struct hvabs_exit_internal {
	uint32_t suberror;
	uint32_t ndata;
	uint64_t data[4];
};

/**
 * struct hvabs_exit - why hvabs_vcpu_run() returned. Owned by the vCPU,
 * found with hvabs_vcpu_exit(); the caller completes MMIO/PIO reads by
 * writing data (and optionally resume) before the next run.
 */
struct hvabs_exit {
	uint32_t reason; /* enum hvabs_exit_reason */
	uint32_t vcpu_id;
	union {
		struct hvabs_exit_mmio mmio;
		struct hvabs_exit_pio pio;
		struct hvabs_exit_status status;
		struct hvabs_exit_event system_event;
		struct hvabs_exit_internal internal;
		uint8_t pad[64];
	};
};

/**
 * hvabs_vcpu_run() - run the vCPU until an exit the caller must see.
 *
 * Accesses served by IO handlers (and ioeventfds) are dispatched inside and
 * not returned. Fills hvabs_vcpu_exit(vcpu). A pending kick makes it return
 * HVABS_EXIT_INTR at once and is consumed. After the VM stopped running
 * (EXITED, CRASHED, or INIT_FAILED: status LOAD_FAILED) every call returns
 * 0 with a STATUS exit.
 *
 * Only one thread may run a vCPU at a time; different vCPUs may run in
 * parallel. Takes no VM-wide or global lock.
 *
 * Return: 0 with an exit; HVABS_ESTATE (VM in LOAD, or destroyed;
 * vCPU id has no hypervisor resource); HVABS_EBUSY (another thread runs
 * it); HVABS_ENOTSUP (a resume action the backend cannot perform); backend
 * codes.
 */
HVABS_API int hvabs_vcpu_run(struct hvabs_vcpu *vcpu);

/** hvabs_vcpu_exit() - the vCPU's exit record; valid for the vCPU's life. */
HVABS_API struct hvabs_exit *hvabs_vcpu_exit(struct hvabs_vcpu *vcpu);

/**
 * hvabs_vcpu_kick() - make a running hvabs_vcpu_run() return INTR soon, or
 * the next one return INTR at once. Async-signal-safe and thread-safe.
 */
HVABS_API void hvabs_vcpu_kick(struct hvabs_vcpu *vcpu);

HVABS_API uint32_t hvabs_vcpu_id(const struct hvabs_vcpu *vcpu);
HVABS_API struct hvabs_vm *hvabs_vcpu_vm(const struct hvabs_vcpu *vcpu);

/**
 * struct hvabs_vcpu_stats - counters of one vCPU (updated by its runner).
 * @exits:       exits returned to the caller, by reason.
 * @dispatched:  accesses served by IO handlers (incl. ioeventfds in sim).
 * @returned:    MMIO/PIO accesses returned to the caller.
 * @irqs:        interrupts delivered to the guest, where the backend knows.
 */
struct hvabs_vcpu_stats {
	uint64_t exits[HVABS_EXIT_REASON_MAX];
	uint64_t dispatched;
	uint64_t returned;
	uint64_t irqs;
};

/** hvabs_vcpu_stats_get() - copy the counters; exact once the vCPU is not running. */
HVABS_API void hvabs_vcpu_stats_get(const struct hvabs_vcpu *vcpu, struct hvabs_vcpu_stats *stats);

/** hvabs_exit_reason_name() - "MMIO", "HLT", ... */
HVABS_API const char *hvabs_exit_reason_name(uint32_t reason);

HVABS_END_DECLS

#endif
