/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_input.h: the byte reader every fuzz target decodes its input with (exhausted input reads as zeros). */
#ifndef HVABS_FUZZ_INPUT_H
#define HVABS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* @bytes little-endian bytes, read in order (one per statement: C leaves operand order open). */
static inline uint64_t fz_uN(struct fz_in *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)fz_u8(in) << (8 * i);
	return v;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	return (uint16_t)fz_uN(in, 2);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	return (uint32_t)fz_uN(in, 4);
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	return fz_uN(in, 8);
}

#endif
