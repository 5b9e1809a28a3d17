/* SPDX-License-Identifier: MIT */
/* hvabs/io.h: IO handlers - guest MMIO/PIO accesses served inside hvabs_vcpu_run(). */
#ifndef HVABS_IO_H
#define HVABS_IO_H

#include "hvabs/backend.h"
#include "hvabs/common.h"

HVABS_BEGIN_DECLS

struct hvabs_vm;
struct hvabs_vcpu;
struct hvabs_io_handler;

/**
 * IO handler callbacks. They run on the thread executing the vCPU, inside
 * hvabs_vcpu_run(), possibly on several vCPUs at once. Return 0 when the
 * access was served; any other value declines it, and the access is
 * returned to the caller of hvabs_vcpu_run() as an ordinary exit.
 * @data of a write holds the value zero-extended from @len bytes; a read
 * fills *@data (the low @len bytes count).
 */
typedef int (*hvabs_io_read_fn)(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len,
				uint64_t *data, void *payload);
typedef int (*hvabs_io_write_fn)(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len,
				 uint64_t data, void *payload);

#define HVABS_IO_DATAMATCH (1u << 0)

#define HVABS_IO_DESC_VERSION 1

/**
 * struct hvabs_io_desc - what accesses a handler serves.
 * @space: enum hvabs_space.
 * @addr:  first address (MMIO) or port (PIO).
 * @size:  bytes of address range covered from @addr; 0 means 1 (exactly
 *         @addr, as an ioeventfd).
 * @len:   access width served: 1, 2, 4 or 8; 0 serves every width.
 * @flags: HVABS_IO_DATAMATCH: only writes whose value, zero-extended from
 *         the access width, equals @data (as KVM's ioeventfds: bits of @data
 *         above the width never match). Needs @len != 0 and @read NULL: such
 *         a handler never serves reads.
 * @read, @write: either may be NULL (that direction is not served).
 *
 * An access is matched by its first address: one that starts inside the
 * range is served even if it runs past its end (the handler sees addr and
 * len and may decline).
 *
 * Two handlers collide (HVABS_EEXIST) when their ranges overlap, unless the
 * ranges are identical and the handlers can never serve the same access:
 * different non-zero widths, or both DATAMATCH with different data.
 */
struct hvabs_io_desc {
	unsigned int version;
	enum hvabs_space space;
	uint64_t addr;
	uint64_t size;
	uint32_t len;
	uint32_t flags;
	uint64_t data;
	hvabs_io_read_fn read;
	hvabs_io_write_fn write;
	void *payload;
};

/**
 * hvabs_vm_io_handler_add() - register an IO handler on @vm.
 * @out: receives the handler (owned by the VM).
 *
 * Takes effect for every access that starts after it returns. Lookup is
 * O(log n) in the number of handlers; vCPU threads never block on it.
 *
 * Return: 0; HVABS_EVERSION; HVABS_EINVAL (bad space, len, flags, range
 * overflow, DATAMATCH with len 0 or a read callback, no callback); HVABS_EEXIST (collision);
 * HVABS_ENOTSUP (space not offered by the backend); HVABS_ESTATE
 * (destroyed VM); HVABS_ENOMEM. Thread-safe, including while vCPUs run.
 */
HVABS_API int hvabs_vm_io_handler_add(struct hvabs_io_handler **out, struct hvabs_vm *vm,
				      const struct hvabs_io_desc *desc);

/**
 * hvabs_io_handler_remove() - unregister a handler. When it returns, no
 * vCPU is inside or will enter the handler's callbacks (a callback may
 * remove its own handler). NULL is ignored. Thread-safe. Called with the
 * VM's lock held (from bind/unbind or populate/unpopulate), it waits for
 * running callbacks of this handler with the lock held: those callbacks
 * must then not call into the library on the same VM.
 */
HVABS_API void hvabs_io_handler_remove(struct hvabs_io_handler *handler);

/** hvabs_vm_io_handler_count() - handlers currently registered on @vm. */
HVABS_API size_t hvabs_vm_io_handler_count(struct hvabs_vm *vm);

HVABS_END_DECLS

#endif
