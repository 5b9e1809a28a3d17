/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_hv.c: loads the private libhvabs that runs the emulated VMs on its sim backend. */
#include "emu.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

/*
 * The emulator's sim VMs live in their own copy of libhvabs, loaded with
 * dlmopen(LM_ID_NEWLM): the VMM under test may itself use libhvabs (the
 * gunyah backend), and its allocator hook, leak counter
 * (hvabs_alloc_count()) and sim fault injection must not see the
 * emulator's objects. Calls go through this table.
 */

struct emu_sym {
	const char *name;
	size_t off;
};

#define EMU_SYM(field, sym) { #sym, offsetof(struct emu_hv, field) }

static const struct emu_sym emu_syms[] = {
	EMU_SYM(error_last, hvabs_error_last),
	EMU_SYM(err_name, hvabs_err_name),
	EMU_SYM(backend_caps, hvabs_backend_caps),
	EMU_SYM(vm_create, hvabs_vm_create),
	EMU_SYM(vm_destroy, hvabs_vm_destroy),
	EMU_SYM(vm_get, hvabs_vm_get),
	EMU_SYM(vm_put, hvabs_vm_put),
	EMU_SYM(vm_mem_add, hvabs_vm_mem_add),
	EMU_SYM(vm_boot_set, hvabs_vm_boot_set),
	EMU_SYM(vm_start, hvabs_vm_start),
	EMU_SYM(vm_status, hvabs_vm_status_get),
	EMU_SYM(vm_function_add, hvabs_vm_function_add),
	EMU_SYM(function_vcpu, hvabs_function_vcpu),
	EMU_SYM(vm_irqfd_add, hvabs_vm_irqfd_add),
	EMU_SYM(function_remove, hvabs_function_remove),
	EMU_SYM(vcpu_run, hvabs_vcpu_run),
	EMU_SYM(vcpu_exit, hvabs_vcpu_exit),
	EMU_SYM(vcpu_kick, hvabs_vcpu_kick),
	EMU_SYM(sim_set_guest, hvabs_sim_vcpu_set_guest),
	EMU_SYM(g_mmio_read, hvabs_sim_guest_mmio_read),
	EMU_SYM(g_mmio_write, hvabs_sim_guest_mmio_write),
	EMU_SYM(g_mem_read, hvabs_sim_guest_mem_read),
	EMU_SYM(g_mem_write, hvabs_sim_guest_mem_write),
	EMU_SYM(g_wait_irq, hvabs_sim_guest_wait_irq),
	EMU_SYM(g_poll_irq, hvabs_sim_guest_poll_irq),
	EMU_SYM(g_eoi, hvabs_sim_guest_eoi),
	EMU_SYM(g_yield, hvabs_sim_guest_yield),
	EMU_SYM(g_exit, hvabs_sim_guest_exit),
	EMU_SYM(g_vcpu, hvabs_sim_guest_vcpu),
	EMU_SYM(vcpu_id, hvabs_vcpu_id),
};

static int emu_hv_resolve(struct emu_hv *hv)
{
	for (size_t i = 0; i < sizeof(emu_syms) / sizeof(emu_syms[0]); i++) {
		void *p = dlsym(hv->handle, emu_syms[i].name);

		if (!p) {
			emu_log("libhvabs lacks %s", emu_syms[i].name);
			return HVABS_ENOTFOUND;
		}
		/* POSIX guarantees data and function pointers convert. */
		memcpy((char *)hv + emu_syms[i].off, &p, sizeof(p));
	}
	return 0;
}

static void *emu_hv_open_shared(const char *path)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "hvabs_vm_create");

	/* A libhvabs already in the process is the one to share. */
	if (sym && dladdr(sym, &info) && info.dli_fname) {
		void *h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);

		if (h)
			return h;
	}
	return dlopen(path, RTLD_NOW | RTLD_GLOBAL);
}

/*
 * A sanitizer runtime cannot be loaded a second time into another namespace:
 * sanitized builds share the process's libhvabs.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define EMU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EMU_SANITIZED 1
#endif
#endif
#ifndef EMU_SANITIZED
#define EMU_SANITIZED 0
#endif

int emu_hv_load(struct emu_hv *hv, const char *path, bool shared)
{
	int ret;

	memset(hv, 0, sizeof(*hv));
	if (!shared && !EMU_SANITIZED) {
		hv->handle = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
		hv->isolated = hv->handle != NULL;
		if (!hv->handle)
			emu_log("dlmopen %s: %s; sharing the process's libhvabs", path, dlerror());
	}
	if (!hv->handle)
		hv->handle = emu_hv_open_shared(path);
	if (!hv->handle) {
		emu_log("cannot load %s: %s", path, dlerror());
		return HVABS_ENOTFOUND;
	}
	ret = emu_hv_resolve(hv);
	if (ret) {
		dlclose(hv->handle);
		hv->handle = NULL;
	}
	return ret;
}

int emu_hv_errno(int code)
{
	switch (code) {
	case 0:
		return 0;
	case HVABS_ENOMEM:
		return ENOMEM;
	case HVABS_EEXIST:
		return EEXIST;
	case HVABS_ENOTFOUND:
		return ENOENT;
	case HVABS_EBUSY:
		return EBUSY;
	case HVABS_ESTATE:
	case HVABS_ENODEV:
		return ENODEV;
	case HVABS_ENOTSUP:
		return EOPNOTSUPP;
	case HVABS_EPERM:
		return EPERM;
	case HVABS_EINTR:
		return EINTR;
	case HVABS_EIO:
		return EIO;
	default:
		return EINVAL;
	}
}
