/* SPDX-License-Identifier: MIT */
/* core/alloc.c: the replaceable allocator and the live-allocation counter. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void *hvabs__libc_malloc(size_t size, void *payload)
{
	(void)payload;
	return malloc(size);
}

static void *hvabs__libc_realloc(void *ptr, size_t size, void *payload)
{
	(void)payload;
	return realloc(ptr, size);
}

static void hvabs__libc_free(void *ptr, void *payload)
{
	(void)payload;
	free(ptr);
}

static struct hvabs_allocator hvabs__alloc = {
	.version = HVABS_ALLOCATOR_VERSION,
	.malloc = hvabs__libc_malloc,
	.realloc = hvabs__libc_realloc,
	.free = hvabs__libc_free,
};

static atomic_size_t hvabs__alloc_live;

int hvabs_set_allocator(const struct hvabs_allocator *alloc)
{
	int ret;

	if (atomic_load(&hvabs__alloc_live) != 0)
		return hvabs__error_set(HVABS_EBUSY, 0, "core",
					"allocator replaced while %zu allocations are live",
					atomic_load(&hvabs__alloc_live));
	if (!alloc) {
		hvabs__alloc.malloc = hvabs__libc_malloc;
		hvabs__alloc.realloc = hvabs__libc_realloc;
		hvabs__alloc.free = hvabs__libc_free;
		hvabs__alloc.payload = NULL;
		return 0;
	}
	ret = hvabs__check_version(alloc->version, HVABS_ALLOCATOR_VERSION, "hvabs_allocator");
	if (ret)
		return ret;
	if (!alloc->malloc || !alloc->realloc || !alloc->free)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "allocator without malloc/realloc/free");
	hvabs__alloc = *alloc;
	return 0;
}

size_t hvabs_alloc_count(void)
{
	return atomic_load(&hvabs__alloc_live);
}

void *hvabs__malloc(size_t size)
{
	void *p = hvabs__alloc.malloc(size ? size : 1, hvabs__alloc.payload);

	if (p)
		atomic_fetch_add_explicit(&hvabs__alloc_live, 1, memory_order_relaxed);
	return p;
}

void *hvabs__calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	p = hvabs__malloc(nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *hvabs__realloc(void *ptr, size_t size)
{
	void *p;

	if (!ptr)
		return hvabs__malloc(size);
	p = hvabs__alloc.realloc(ptr, size ? size : 1, hvabs__alloc.payload);
	return p;
}

void hvabs__free(void *ptr)
{
	if (!ptr)
		return;
	atomic_fetch_sub_explicit(&hvabs__alloc_live, 1, memory_order_relaxed);
	hvabs__alloc.free(ptr, hvabs__alloc.payload);
}
