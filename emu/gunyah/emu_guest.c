/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_guest.c: test guests - hooks per vCPU id and guest accesses forwarded to the private sim. */
#include "emu.h"

/*
 * A test guest's handle is the private library's struct hvabs_sim_guest:
 * its accesses must go to that library's copy of the sim, never to a
 * libhvabs the test itself may have linked.
 */
static struct hvabs_sim_guest *emu_g(struct hvabs_gunyah_emu_guest *g)
{
	return (struct hvabs_sim_guest *)(void *)g;
}

int hvabs_gunyah_emu_set_guest(uint32_t vcpu_id, hvabs_gunyah_emu_guest_fn fn, void *payload)
{
	int ret = 0;

	pthread_mutex_lock(&emu.lock);
	if (!emu.active || vcpu_id >= EMU_MAX_GUEST_HOOKS) {
		ret = HVABS_EINVAL;
	} else {
		emu.guests[vcpu_id].fn = fn;
		emu.guests[vcpu_id].payload = fn ? payload : NULL;
	}
	pthread_mutex_unlock(&emu.lock);
	return ret;
}

int hvabs_gunyah_emu_guest_mmio_read(struct hvabs_gunyah_emu_guest *g, uint64_t addr,
				     uint32_t len, uint64_t *val)
{
	return emu.hv.g_mmio_read(emu_g(g), addr, len, val);
}

int hvabs_gunyah_emu_guest_mmio_write(struct hvabs_gunyah_emu_guest *g, uint64_t addr,
				      uint32_t len, uint64_t val)
{
	return emu.hv.g_mmio_write(emu_g(g), addr, len, val);
}

int hvabs_gunyah_emu_guest_mem_read(struct hvabs_gunyah_emu_guest *g, uint64_t gpa, void *buf,
				    size_t len)
{
	return emu.hv.g_mem_read(emu_g(g), gpa, buf, len);
}

int hvabs_gunyah_emu_guest_mem_write(struct hvabs_gunyah_emu_guest *g, uint64_t gpa,
				     const void *buf, size_t len)
{
	return emu.hv.g_mem_write(emu_g(g), gpa, buf, len);
}

uint32_t hvabs_gunyah_emu_guest_wait_irq(struct hvabs_gunyah_emu_guest *g)
{
	return emu.hv.g_wait_irq(emu_g(g));
}

int hvabs_gunyah_emu_guest_poll_irq(struct hvabs_gunyah_emu_guest *g, uint32_t *label)
{
	return emu.hv.g_poll_irq(emu_g(g), label);
}

void hvabs_gunyah_emu_guest_eoi(struct hvabs_gunyah_emu_guest *g, uint32_t label)
{
	emu.hv.g_eoi(emu_g(g), label);
}

void hvabs_gunyah_emu_guest_yield(struct hvabs_gunyah_emu_guest *g)
{
	emu.hv.g_yield(emu_g(g));
}

void hvabs_gunyah_emu_guest_exit(struct hvabs_gunyah_emu_guest *g, bool crashed,
				 uint16_t exit_type, const void *reason, uint32_t reason_size)
{
	emu.hv.g_exit(emu_g(g), crashed, exit_type, reason, reason_size);
}

uint32_t hvabs_gunyah_emu_guest_vcpu_id(const struct hvabs_gunyah_emu_guest *g)
{
	return emu.hv.vcpu_id(emu.hv.g_vcpu((const struct hvabs_sim_guest *)(const void *)g));
}
