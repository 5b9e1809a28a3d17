/* SPDX-License-Identifier: MIT */
/* hvabs/alloc.h: the allocator hook every library allocation goes through. */
#ifndef HVABS_ALLOC_H
#define HVABS_ALLOC_H

#include "hvabs/common.h"

HVABS_BEGIN_DECLS

#define HVABS_ALLOCATOR_VERSION 1

/**
 * struct hvabs_allocator - replacement for malloc/realloc/free.
 * @version: HVABS_ALLOCATOR_VERSION.
 * @malloc, @realloc, @free: same contracts as the C library's; each gets
 *           @payload last. All three are required.
 *
 * The functions may be called from any thread, including vCPU threads.
 */
struct hvabs_allocator {
	unsigned int version;
	void *(*malloc)(size_t size, void *payload);
	void *(*realloc)(void *ptr, size_t size, void *payload);
	void (*free)(void *ptr, void *payload);
	void *payload;
};

/**
 * hvabs_set_allocator() - route all library allocations through @alloc.
 * @alloc: the allocator, copied; NULL restores the C library's.
 *
 * Must be called while no hvabs object exists (memory from one allocator is
 * never released through another): tests use it to inject ENOMEM.
 *
 * Return: 0; HVABS_EVERSION for a bad version; HVABS_EINVAL when an op is
 * missing; HVABS_EBUSY while library objects are alive.
 */
HVABS_API int hvabs_set_allocator(const struct hvabs_allocator *alloc);

/**
 * hvabs_alloc_count() - number of library allocations not yet released
 * (all threads). A leak check for tests: 0 once every object is destroyed.
 */
HVABS_API size_t hvabs_alloc_count(void);

HVABS_END_DECLS

#endif
