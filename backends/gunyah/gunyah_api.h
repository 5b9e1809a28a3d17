/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_api.h: Gunyah-only queries proposed for a public <hvabs/gunyah.h> (private until accepted). */
#ifndef HVABS_GUNYAH_API_H
#define HVABS_GUNYAH_API_H

#include <hvabs.h>

HVABS_BEGIN_DECLS

/* The /dev/gunyah ABI generation a VM speaks (backend_config abi=v10|v14). */
#define HVABS_GUNYAH_ABI_V10 10
#define HVABS_GUNYAH_ABI_V14 14

/**
 * hvabs_gunyah_vm_abi() - ABI generation of a gunyah VM.
 * Return: HVABS_GUNYAH_ABI_V10 or _V14; HVABS_EINVAL when @vm is not run
 * by the gunyah backend. Thread-safe.
 */
HVABS_API int hvabs_gunyah_vm_abi(struct hvabs_vm *vm);

/**
 * hvabs_gunyah_dt_build() - the VM devicetree the backend would generate if
 * the VM started now (vCPUs, doorbells of the BELL_TX tickets, the RAM
 * region; docs/gunyah.md). For VMMs that extend it and pass it themselves
 * with backend_config dtb=user.
 * @buf, @size: output buffer; @buf may be NULL with @size 0 to ask the size.
 * @size_out:   receives the blob's size (also when @size is too small).
 * Return: 0; HVABS_EINVAL (not a gunyah VM, @size too small, no memory
 * region, doorbell label above 987); HVABS_ENOTSUP (built without
 * libfdt); HVABS_ENOMEM. Thread-safe.
 */
HVABS_API int hvabs_gunyah_dt_build(struct hvabs_vm *vm, void *buf, size_t size,
				    size_t *size_out);

/**
 * hvabs_gunyah_vm_dtb() - where the devicetree was announced at start
 * (GH_VM_SET_DTB_CONFIG): generated or the VMM's.
 * Return: 0; HVABS_EINVAL (not a gunyah VM); HVABS_ESTATE (not started).
 */
HVABS_API int hvabs_gunyah_vm_dtb(struct hvabs_vm *vm, uint64_t *gpa_out, uint64_t *size_out);

HVABS_END_DECLS

#endif
