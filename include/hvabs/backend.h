/* SPDX-License-Identifier: MIT */
/* hvabs/backend.h: compiled backends, selection and capability queries. */
#ifndef HVABS_BACKEND_H
#define HVABS_BACKEND_H

#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;

/** Guest architectures (a backend may support several). */
enum hvabs_arch {
	HVABS_ARCH_NONE = 0,   /* callback guests only (sim) */
	HVABS_ARCH_X86_64 = 1,
	HVABS_ARCH_ARM64 = 2,
};

/** Guest address spaces an access or an IO handler lives in. */
enum hvabs_space {
	HVABS_SPACE_MMIO = 0,
	HVABS_SPACE_PIO = 1,   /* x86 port I/O; Gunyah has none */
};

/* Bits of hvabs_caps.features. */
#define HVABS_FEAT_MEM_REMOVE (1u << 0)      /* hvabs_vm_mem_remove() works */
#define HVABS_FEAT_USER_FUNCTIONS (1u << 1)  /* user-registered function types */
#define HVABS_FEAT_CALLBACK_GUESTS (1u << 2) /* hvabs_sim_vcpu_set_guest() */
#define HVABS_FEAT_REAL_GUESTS (1u << 3)     /* guest code executes from memory */
#define HVABS_FEAT_FAULT_INJECTION (1u << 4) /* hvabs_sim_fault_*() */
#define HVABS_FEAT_HLT_EXIT (1u << 5)        /* HLT is returned as an exit */
#define HVABS_FEAT_LATE_RESOURCES (1u << 6)  /* tickets added while running get new resources */
#define HVABS_FEAT_RESOURCE_RAISE (1u << 7)  /* hvabs_resource_raise() rings BELL_TX doorbells */

#define HVABS_CAPS_VERSION 1

/**
 * struct hvabs_caps - what a backend (or one VM of it) can do.
 * @fn_types:        bit (1 << HVABS_FN_*) for each built-in function type.
 * @mem_flags:       HVABS_MEM_* flags that are honoured; others are ENOTSUP.
 * @io_spaces:       bit (1 << HVABS_SPACE_*) for each space guests can access.
 * @irqfd_flags:     HVABS_IRQFD_* flags accepted.
 * @ioeventfd_flags: HVABS_IOEVENTFD_* flags accepted.
 * @ioeventfd_spaces: bit (1 << HVABS_SPACE_*) where ioeventfds work.
 * @ioeventfd_lens:  bit (1 << len) for each accepted len (bit 0: any length).
 * @resume_actions:  bit (1 << HVABS_RESUME_*) for each resume action honoured.
 * @archs:           bit (1 << HVABS_ARCH_*) for each guest architecture.
 * @max_vcpus:       highest number of vCPUs per VM.
 * @features:        HVABS_FEAT_* bits.
 */
struct hvabs_caps {
	unsigned int version;
	uint32_t fn_types;
	uint32_t mem_flags;
	uint32_t io_spaces;
	uint32_t irqfd_flags;
	uint32_t ioeventfd_flags;
	uint32_t ioeventfd_spaces;
	uint32_t ioeventfd_lens;
	uint32_t resume_actions;
	uint32_t archs;
	uint32_t max_vcpus;
	uint32_t features;
};

/** hvabs_backend_count() - number of backends compiled into this library. */
HVABS_API unsigned int hvabs_backend_count(void);

/**
 * hvabs_backend_name() - name of compiled backend @index ("gunyah", "kvm",
 * "sim"), or NULL when @index >= hvabs_backend_count(). Static storage.
 */
HVABS_API const char *hvabs_backend_name(unsigned int index);

/**
 * hvabs_backend_probe() - can backend @name be used on this host now?
 * Return: 0; HVABS_ENOTFOUND when no backend of that name is compiled in;
 * HVABS_ENODEV (with the cause in hvabs_error_last()) when it cannot be used.
 */
HVABS_API int hvabs_backend_probe(const char *name);

/**
 * hvabs_backend_select() - the backend hvabs_vm_create() would choose.
 * @name_out: receives a static name.
 * @name:     explicit name, or NULL to consult $HVABS_BACKEND (a
 *            comma-separated list tried in order), then the first hardware
 *            backend whose probe succeeds. sim is never picked unless named.
 * Return: 0; HVABS_ENOTFOUND for an unknown name; HVABS_ENODEV when nothing
 * usable was found.
 */
HVABS_API int hvabs_backend_select(const char **name_out, const char *name);

/**
 * hvabs_backend_caps() - static capabilities of backend @name.
 * @caps: filled; caps->version must be set by the caller (HVABS_CAPS_VERSION).
 * Return: 0; HVABS_ENOTFOUND; HVABS_EVERSION.
 */
HVABS_API int hvabs_backend_caps(const char *name, struct hvabs_caps *caps);

/**
 * hvabs_vm_caps() - capabilities of one VM, which may be narrower than the
 * backend's (for example one Gunyah ABI version). Same contract as above.
 */
HVABS_API int hvabs_vm_caps(struct hvabs_vm *vm, struct hvabs_caps *caps);

HVABS_END_DECLS

#endif
