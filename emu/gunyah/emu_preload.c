/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_preload.c: LD_PRELOAD entry - start the emulator from the environment before main(). */
#include "emu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The constructor starts the emulator only when this library was named in
 * LD_PRELOAD: a test program that links it starts it explicitly (and may
 * fork first). A start failure is reported on stderr once; the VMM then
 * sees no device, which is what a host without Gunyah looks like.
 */
static bool emu_preloaded(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "libhvabs-gunyah-emu") != NULL;
}

static bool emu_env_true(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

static void emu_preload_warn(int code)
{
	static const char msg[] = "[gunyah-emu] LD_PRELOAD start failed: ";
	const char *name = code == HVABS_EINVAL	     ? "bad HVABS_GUNYAH_EMU_* setting"
			   : code == HVABS_ENOTFOUND ? "libhvabs not loadable"
			   : code == HVABS_ENOTSUP   ? "no seccomp user notification"
						     : "error";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0 ||
	    write(STDERR_FILENO, name, strlen(name)) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

__attribute__((constructor)) static void emu_preload_init(void)
{
	struct hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	const char *watch;
	int ret;

	if (!emu_preloaded())
		return;
	cfg.abi = getenv("HVABS_GUNYAH_EMU_ABI");
	cfg.device = getenv("HVABS_GUNYAH_EMU_DEVICE");
	cfg.faults = getenv("HVABS_GUNYAH_EMU_FAULTS");
	cfg.libhvabs = getenv("HVABS_GUNYAH_EMU_LIBHVABS");
	cfg.shared_libhvabs = emu_env_true("HVABS_GUNYAH_EMU_SHARED");
	cfg.log = emu_env_true("HVABS_GUNYAH_EMU_LOG");
	watch = getenv("HVABS_GUNYAH_EMU_WATCH_US");
	if (watch)
		cfg.watch_us = (uint32_t)strtoul(watch, NULL, 10);
	ret = hvabs_gunyah_emu_start(&cfg);
	if (ret)
		emu_preload_warn(ret);
}
