/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/preload_guest.c: LD_PRELOADed after the emulator, plays vCPU 0 (one MMIO write to 0x9000000). */
#include <hvabs_gunyah_emu.h>

static void preload_guest(struct hvabs_gunyah_emu_guest *g, void *payload)
{
	(void)payload;
	hvabs_gunyah_emu_guest_mmio_write(g, 0x9000000, 4, 0x600d);
}

/* Runs after the emulator's constructor (this library depends on it). */
__attribute__((constructor)) static void preload_guest_init(void)
{
	(void)hvabs_gunyah_emu_set_guest(0, preload_guest, (void *)0);
}
