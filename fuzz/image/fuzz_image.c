/* fuzz/image/fuzz_image.c: hvabs-run's image parser on arbitrary bytes, checking every promise of struct image_info. */
#include "image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first 16 bytes choose the guest RAM window and the format; the rest is the file. */
struct fz_params {
	uint64_t mem_base;
	uint32_t mem_pages;
	uint8_t format;
	uint8_t flat_off;
	uint8_t pad[2];
};

#define FZ_CHECK(cond)                                                          \
	do {                                                                    \
		if (!(cond))                                                    \
			abort();                                                \
	} while (0)

static void fz_check_info(const uint8_t *buf, size_t len, const struct image_params *p,
			  const struct image_info *in)
{
	uint64_t end = p->mem_base + p->mem_size;

	FZ_CHECK(in->nr_segments <= IMAGE_MAX_SEGMENTS);
	FZ_CHECK(in->entry >= p->mem_base && in->entry < end);
	FZ_CHECK(in->lo <= in->hi);
	for (size_t i = 0; i < in->nr_segments; i++) {
		const struct image_segment *s = &in->seg[i];

		FZ_CHECK(s->memsz > 0 && s->filesz <= s->memsz);
		FZ_CHECK(s->offset <= len && s->filesz <= len - s->offset);
		FZ_CHECK(s->gpa >= p->mem_base && s->gpa < end && s->memsz <= end - s->gpa);
		FZ_CHECK(s->gpa >= in->lo && s->gpa + s->memsz <= in->hi);
		/* Segments never overlap each other. */
		for (size_t j = 0; j < i; j++) {
			const struct image_segment *t = &in->seg[j];

			FZ_CHECK(s->gpa + s->memsz <= t->gpa || t->gpa + t->memsz <= s->gpa);
		}
		/* Touch what a loader would copy: ASan catches any overread. */
		if (s->filesz) {
			volatile uint8_t sink = buf[s->offset] ^ buf[s->offset + s->filesz - 1];
			(void)sink;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_params fp;
	struct image_params p;
	struct image_info info;
	uint8_t *file;
	size_t len;
	int rc;

	if (size < sizeof(fp))
		return 0;
	memcpy(&fp, data, sizeof(fp));
	len = size - sizeof(fp);
	/* An exact-size heap copy, so a read past the end is an ASan report. */
	file = malloc(len ? len : 1);
	if (!file)
		return 0;
	memcpy(file, data + sizeof(fp), len);

	p.mem_base = fp.mem_base & ~0xfffull;
	p.mem_size = ((uint64_t)(fp.mem_pages & 0xffff) + 1) << 12;
	if (p.mem_base + p.mem_size < p.mem_base)
		p.mem_base = 0;
	p.flat_addr = p.mem_base + ((uint64_t)fp.flat_off << 12);
	p.format = (enum image_format)(fp.format % 4);

	(void)hvabs_image_arch(file, len);
	memset(&info, 0xa5, sizeof(info));
	rc = hvabs_image_parse(file, len, &p, &info);
	if (rc == IMAGE_OK)
		fz_check_info(file, len, &p, &info);
	else
		FZ_CHECK(hvabs_image_strerror(rc) != NULL);
	free(file);
	return 0;
}
