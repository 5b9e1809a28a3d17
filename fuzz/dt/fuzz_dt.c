/* SPDX-License-Identifier: MIT */
/* fuzz/dt/fuzz_dt.c: the Gunyah VM devicetree builder and both readers (backend parser, emulator RM) - round trips and arbitrary DTBs. */
#include "gunyah_dt.h"

#ifdef FZ_HAVE_EMU
#include "emu.h"
#endif

#include <libfdt.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_input.h"

/*
 * Input: byte 0 selects the mode (bit 0).
 *   even: a builder configuration decoded from the rest (fz_cfg_decode()),
 *         built into an exact-size heap buffer of a chosen size, then read
 *         back by hvabs__gunyah_dt_parse() and the emulator's RM reader and
 *         compared with the configuration (round trip).
 *   odd:  the rest is a DTB; each reader must accept or reject it without
 *         touching a byte outside it, and what it accepts must be
 *         self-consistent (and consistent between the two readers).
 * HVABS_FZ_DT_GEN=<dir> in the environment writes seed inputs to <dir> and
 * exits (fuzz/dt/make_seeds.py).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond)                                                                       \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_dt: check failed at line %d: %s\n", __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

#define FZ_MAX_VCPUS 12u
#define FZ_MAX_BELLS 8u
#define FZ_EMU_MAX_VCPU_ID 64u /* emu_rm.c: vCPU ids below 64 */

/* ---- mode 0: configuration round trip ---- */

struct fz_cfg {
	struct gunyah_dt_cfg cfg;
	char image_name[96];
	char os_type[48];
	uint32_t vcpus[FZ_MAX_VCPUS];
	struct gunyah_dt_bell bells[FZ_MAX_BELLS];
	size_t buf_size; /* requested buffer size, see fz_buf_size() */
	uint8_t size_mode;
};

static void fz_str(struct fz_in *in, char *dst, size_t cap)
{
	size_t len = fz_u8(in) % cap;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = fz_u8(in);

		dst[i] = (char)(c ? c : 'x'); /* a C string: no NUL inside */
	}
	dst[len] = '\0';
}

/* A 64-bit value: mostly page-granular and plausible, sometimes raw. */
static uint64_t fz_u64_pick(struct fz_in *in)
{
	uint8_t sel = fz_u8(in);

	switch (sel % 4) {
	case 0:
		return (uint64_t)fz_uN(in, 2) << 12;
	case 1:
		return 0x80000000ull + ((uint64_t)fz_u8(in) << 20);
	case 2:
		return (uint64_t)fz_u8(in);
	default:
		return fz_uN(in, 8);
	}
}

static void fz_cfg_decode(struct fz_in *in, struct fz_cfg *f)
{
	uint8_t flags = fz_u8(in);
	struct gunyah_dt_cfg *c = &f->cfg;

	memset(f, 0, sizeof(*f));
	fz_str(in, f->image_name, sizeof(f->image_name));
	fz_str(in, f->os_type, sizeof(f->os_type));
	c->image_name = (flags & 1) ? NULL : f->image_name;
	c->os_type = (flags & 2) ? NULL : f->os_type;
	c->mem_base = fz_u64_pick(in);
	c->mem_size = fz_u64_pick(in);
	/* ipa_size: usually mem_size plus a little, so the config is valid. */
	c->ipa_size = (flags & 4) ? fz_u64_pick(in) : c->mem_size + ((uint64_t)fz_u8(in) << 20);
	c->nr_vcpus = fz_u8(in) % (FZ_MAX_VCPUS + 1);
	for (uint32_t i = 0; i < c->nr_vcpus; i++) {
		uint8_t b = fz_u8(in);

		f->vcpus[i] = b < 0xf0 ? b % 72 : (uint32_t)fz_uN(in, 4);
	}
	c->vcpus = (flags & 8) ? NULL : f->vcpus;
	c->nr_bells = fz_u8(in) % (FZ_MAX_BELLS + 1);
	for (uint32_t i = 0; i < c->nr_bells; i++) {
		uint16_t v = (uint16_t)fz_uN(in, 2);

		f->bells[i].label = (v & 0x8000) ? (uint32_t)fz_uN(in, 4) : v % 1000u;
		f->bells[i].level = (v & 0x4000) != 0;
	}
	c->bells = (flags & 16) ? NULL : f->bells;
	f->size_mode = fz_u8(in);
	f->buf_size = (size_t)fz_uN(in, 2);
}

/* What hvabs__gunyah_dt_build() must refuse with HVABS_EINVAL. */
static bool fz_cfg_valid(const struct gunyah_dt_cfg *c)
{
	if (!c->image_name || !c->os_type || !c->mem_size || c->ipa_size < c->mem_size ||
	    c->mem_base + c->ipa_size < c->mem_base || (c->nr_vcpus && !c->vcpus) ||
	    (c->nr_bells && !c->bells))
		return false;
	for (uint32_t i = 0; i < c->nr_vcpus; i++)
		for (uint32_t j = 0; j < i; j++)
			if (c->vcpus[i] == c->vcpus[j])
				return false;
	for (uint32_t i = 0; i < c->nr_bells; i++) {
		if (c->bells[i].label > GUNYAH_DT_MAX_SPI)
			return false;
		for (uint32_t j = 0; j < i; j++)
			if (c->bells[i].label == c->bells[j].label)
				return false;
	}
	return true;
}

/*
 * Build into an exact-size heap buffer placed @off bytes into its
 * allocation (a misaligned output, as guest memory can be): ASan reports
 * any write past its end. *out is the allocation, the blob is at *out + off.
 */
static int fz_build(const struct gunyah_dt_cfg *c, size_t size, size_t off, uint8_t **out,
		    size_t *used)
{
	uint8_t *buf = malloc(size + off ? size + off : 1);
	int ret;

	FZ_CHECK(buf != NULL);
	*used = (size_t)-1;
	ret = hvabs__gunyah_dt_build(c, buf + off, size, used);
	*out = buf;
	return ret;
}

static void fz_check_info_strings(const struct gunyah_dt_info *info)
{
	FZ_CHECK(memchr(info->image_name, '\0', sizeof(info->image_name)) != NULL);
	FZ_CHECK(memchr(info->os_type, '\0', sizeof(info->os_type)) != NULL);
	FZ_CHECK(memchr(info->affinity, '\0', sizeof(info->affinity)) != NULL);
}

/* The backend reader must give back exactly what was built. */
static void fz_roundtrip_backend(const struct fz_cfg *f, const uint8_t *blob, size_t n)
{
	const struct gunyah_dt_cfg *c = &f->cfg;
	uint32_t vcpus[FZ_MAX_VCPUS];
	struct gunyah_dt_bell bells[FZ_MAX_BELLS];
	struct gunyah_dt_info info;
	char want[96];

	memset(&info, 0x5a, sizeof(info));
	info.vcpus = vcpus;
	info.vcpus_cap = FZ_MAX_VCPUS;
	info.bells = bells;
	info.bells_cap = FZ_MAX_BELLS;
	FZ_CHECK(hvabs__gunyah_dt_parse(blob, n, &info) == 0);
	fz_check_info_strings(&info);
	snprintf(want, sizeof(info.image_name), "%s", c->image_name);
	FZ_CHECK(!strcmp(info.image_name, want));
	snprintf(want, sizeof(info.os_type), "%s", c->os_type);
	FZ_CHECK(!strcmp(info.os_type, want));
	FZ_CHECK(!strcmp(info.affinity, "proxy"));
	FZ_CHECK(info.mem_base == c->mem_base);
	FZ_CHECK(info.mem_size == c->mem_size);
	FZ_CHECK(info.ipa_size == c->ipa_size);
	FZ_CHECK(info.nr_vcpus == c->nr_vcpus);
	for (uint32_t i = 0; i < c->nr_vcpus; i++)
		FZ_CHECK(vcpus[i] == c->vcpus[i]);
	FZ_CHECK(info.nr_bells == c->nr_bells);
	for (uint32_t i = 0; i < c->nr_bells; i++) {
		FZ_CHECK(bells[i].label == c->bells[i].label);
		FZ_CHECK(bells[i].level == c->bells[i].level);
	}
	/* One byte short of totalsize is not a devicetree. */
	FZ_CHECK(hvabs__gunyah_dt_parse(blob, n - 1, &info) == HVABS_EINVAL);
}

#ifdef FZ_HAVE_EMU
/* The emulator's RM accepts it iff it has a cpu and every id is below 64. */
static void fz_roundtrip_emu(const struct gunyah_dt_cfg *c, const uint8_t *blob, size_t n)
{
	struct emu_dt_view v;
	bool want_ok = c->nr_vcpus > 0;
	int ret;

	for (uint32_t i = 0; i < c->nr_vcpus; i++)
		if (c->vcpus[i] >= FZ_EMU_MAX_VCPU_ID)
			want_ok = false;
	ret = emu_dt_check(blob, n, &v);
	if (!want_ok) {
		FZ_CHECK(ret == -EINVAL);
	} else {
		FZ_CHECK(ret == 0);
		FZ_CHECK(v.mem_base == c->mem_base && v.mem_size == c->mem_size);
		FZ_CHECK(v.nr_vcpus == c->nr_vcpus && v.nr_bells == c->nr_bells);
		for (uint32_t i = 0; i < c->nr_vcpus; i++)
			FZ_CHECK(v.vcpus[i] == c->vcpus[i]);
		for (uint32_t i = 0; i < c->nr_bells; i++)
			FZ_CHECK(v.bells[i] == c->bells[i].label);
	}
	free(v.vcpus);
	free(v.bells);
	/* Truncated: rejected. */
	ret = emu_dt_check(blob, n - 1, &v);
	FZ_CHECK(ret == -EINVAL);
	free(v.vcpus);
	free(v.bells);
}
#endif

static void fz_mode_config(struct fz_in *in)
{
	struct fz_cfg f;
	uint8_t *ref, *buf;
	size_t need, used, size, off;
	int ret;

	fz_cfg_decode(in, &f);
	/* Reference build into a roomy buffer. */
	ret = fz_build(&f.cfg, 1u << 16, 0, &ref, &need);
	if (!fz_cfg_valid(&f.cfg)) {
		FZ_CHECK(ret == HVABS_EINVAL);
		free(ref);
		return;
	}
	FZ_CHECK(ret == 0);
	FZ_CHECK(need >= sizeof(struct fdt_header) && need <= (1u << 16));
	FZ_CHECK(fdt_totalsize(ref) == need);
	/* Then the chosen size: exact, a little short or long, or anything. */
	switch (f.size_mode % 4) {
	case 0:
		size = need;
		break;
	case 1:
		size = need - 1 - (f.buf_size % need);
		break;
	case 2:
		size = need + (f.buf_size % 64);
		break;
	default:
		size = f.buf_size;
		break;
	}
	off = (f.size_mode >> 2) & 7;
	ret = fz_build(&f.cfg, size, off, &buf, &used);
	if (off & 7) {
		FZ_CHECK(ret == HVABS_EINVAL); /* libfdt wants 8-byte alignment */
	} else if (size < need) {
		FZ_CHECK(ret == HVABS_ENOMEM);
	} else {
		FZ_CHECK(ret == 0);
		FZ_CHECK(used == need);
		/* Deterministic: the same bytes whatever the buffer size and place. */
		FZ_CHECK(!memcmp(buf + off, ref, need));
	}
	free(buf);
	fz_roundtrip_backend(&f, ref, need);
#ifdef FZ_HAVE_EMU
	fz_roundtrip_emu(&f.cfg, ref, need);
#endif
	free(ref);
}

/* ---- mode 1: arbitrary DTB ---- */

/* Is @a (n) a subsequence of @b (m)? */
static bool fz_subseq(const uint32_t *a, uint32_t n, const uint32_t *b, uint32_t m)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < n; i++) {
		while (j < m && b[j] != a[i])
			j++;
		if (j == m)
			return false;
		j++;
	}
	return true;
}

static void fz_mode_blob(const uint8_t *data, size_t len, uint8_t caps, size_t off)
{
	uint8_t *alloc = malloc(len + off ? len + off : 1), *blob = alloc + off;
	uint32_t vc_small[4], vc_big[256];
	struct gunyah_dt_bell b_small[4], b_big[256];
	uint32_t bell_labels[256];
	struct gunyah_dt_info s, big;
	int r1, r2;

	FZ_CHECK(alloc != NULL);
	memcpy(blob, data, len);
	/* Backend reader, once with small arrays (capacity from the input), once sized. */
	memset(&s, 0x5a, sizeof(s));
	s.vcpus = vc_small;
	s.vcpus_cap = caps % 5;
	s.bells = b_small;
	s.bells_cap = (caps >> 4) % 5;
	r1 = hvabs__gunyah_dt_parse(blob, len, &s);
	FZ_CHECK(r1 == 0 || r1 == HVABS_EINVAL);
	if (off & 7)
		FZ_CHECK(r1 == HVABS_EINVAL); /* the caller copies a misaligned blob */
	memset(&big, 0xa5, sizeof(big));
	big.vcpus = vc_big;
	big.vcpus_cap = 256;
	big.bells = b_big;
	big.bells_cap = 256;
	r2 = hvabs__gunyah_dt_parse(blob, len, &big);
	FZ_CHECK(r1 == r2);
	if (r1 == 0) {
		fz_check_info_strings(&s);
		FZ_CHECK(s.nr_vcpus == big.nr_vcpus && s.nr_bells == big.nr_bells);
		FZ_CHECK(!strcmp(s.image_name, big.image_name) && !strcmp(s.os_type, big.os_type) &&
			 !strcmp(s.affinity, big.affinity));
		FZ_CHECK(s.mem_base == big.mem_base && s.mem_size == big.mem_size &&
			 s.ipa_size == big.ipa_size);
		for (uint32_t i = 0; i < s.nr_vcpus && i < s.vcpus_cap; i++)
			FZ_CHECK(vc_small[i] == vc_big[i]);
		for (uint32_t i = 0; i < s.nr_bells && i < s.bells_cap; i++)
			FZ_CHECK(b_small[i].label == b_big[i].label &&
				 b_small[i].level == b_big[i].level);
	}
#ifdef FZ_HAVE_EMU
	{
		struct emu_dt_view v;
		int r3 = emu_dt_check(blob, len, &v);

		FZ_CHECK(r3 == 0 || r3 == -EINVAL);
		if (r3 == 0) {
			FZ_CHECK(v.nr_vcpus >= 1 && v.mem_size > 0);
			for (uint32_t i = 0; i < v.nr_vcpus; i++) {
				FZ_CHECK(v.vcpus[i] < FZ_EMU_MAX_VCPU_ID);
				for (uint32_t j = 0; j < i; j++)
					FZ_CHECK(v.vcpus[i] != v.vcpus[j]);
			}
			for (uint32_t i = 0; i < v.nr_bells; i++)
				for (uint32_t j = 0; j < i; j++)
					FZ_CHECK(v.bells[i] != v.bells[j]);
		}
		/*
		 * Both accept: what the stricter backend reader found (exact
		 * "cpu"/"doorbell" strings, 8-byte memory numbers) the RM
		 * found too, in the same order.
		 */
		if (r3 == 0 && r1 == 0 && big.nr_vcpus <= 256 && big.nr_bells <= 256) {
			FZ_CHECK(fz_subseq(vc_big, big.nr_vcpus, v.vcpus, v.nr_vcpus));
			for (uint32_t i = 0; i < big.nr_bells; i++)
				bell_labels[i] = b_big[i].label;
			FZ_CHECK(fz_subseq(bell_labels, big.nr_bells, v.bells, v.nr_bells));
			FZ_CHECK(v.mem_base == big.mem_base && v.mem_size == big.mem_size);
		}
		free(v.vcpus);
		free(v.bells);
	}
#endif
	free(alloc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = fz_u8(&in);
	if (mode & 1) {
		uint8_t caps = fz_u8(&in);

		/* Mode bits 1-3: the blob's misalignment (guest memory can be anywhere). */
		fz_mode_blob(in.p, in.n, caps, (mode >> 1) & 7);
	} else {
		fz_mode_config(&in);
	}
	return 0;
}

/* ---- seed generation (HVABS_FZ_DT_GEN=<dir>) ---- */

static void fz_gen_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		fprintf(stderr, "fuzz_dt: cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

/* A config-mode input (see fz_cfg_decode()) and the raw-mode input of its DTB. */
static void fz_gen_one(const char *dir, const char *name, const char *image, uint64_t base,
		       uint64_t size, const uint32_t *vcpus, uint8_t nv,
		       const struct gunyah_dt_bell *bells, uint8_t nb)
{
	uint8_t in[512];
	static uint8_t blob[8192] __attribute__((aligned(8)));
	struct gunyah_dt_cfg c;
	size_t n = 0, used;
	char fname[256];

	in[n++] = 0; /* mode: config */
	in[n++] = 4; /* flags: explicit ipa_size */
	in[n++] = (uint8_t)strlen(image);
	memcpy(in + n, image, strlen(image));
	n += strlen(image);
	in[n++] = 5;
	memcpy(in + n, "linux", 5);
	n += 5;
	in[n++] = 3; /* raw u64 */
	for (int i = 0; i < 8; i++)
		in[n++] = (uint8_t)(base >> (8 * i));
	in[n++] = 3;
	for (int i = 0; i < 8; i++)
		in[n++] = (uint8_t)(size >> (8 * i));
	in[n++] = 3;
	for (int i = 0; i < 8; i++)
		in[n++] = (uint8_t)((size * 2) >> (8 * i));
	in[n++] = nv;
	for (uint8_t i = 0; i < nv; i++)
		in[n++] = (uint8_t)vcpus[i];
	in[n++] = nb;
	for (uint8_t i = 0; i < nb; i++) {
		uint16_t v = (uint16_t)(bells[i].label | (bells[i].level ? 0x4000 : 0));

		in[n++] = (uint8_t)v;
		in[n++] = (uint8_t)(v >> 8);
	}
	in[n++] = 0; /* exact buffer */
	in[n++] = 0;
	in[n++] = 0;
	snprintf(fname, sizeof(fname), "cfg-%s", name);
	fz_gen_write(dir, fname, in, n);

	c = (struct gunyah_dt_cfg){ image, "linux", base, size, size * 2, vcpus, nv, bells, nb };
	if (hvabs__gunyah_dt_build(&c, blob + 8, sizeof(blob) - 8, &used)) {
		fprintf(stderr, "fuzz_dt: seed %s does not build\n", name);
		exit(1);
	}
	blob[6] = 1; /* mode: blob, aligned */
	blob[7] = 0x44;
	snprintf(fname, sizeof(fname), "dtb-%s", name);
	fz_gen_write(dir, fname, blob + 6, used + 2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("HVABS_FZ_DT_GEN");
	static const uint32_t v1[] = { 0 }, v3[] = { 0, 2, 1 }, v8[] = { 7, 6, 5, 4, 3, 2, 1, 0 };
	static const uint32_t v64[] = { 63, 64 };
	static const struct gunyah_dt_bell b2[] = { { 5, false }, { 0x20, true } };
	static const struct gunyah_dt_bell b4[] = { { 0, false }, { 1, true }, { 987, false },
						    { 100, true } };

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	fz_gen_one(dir, "one-cpu", "hvabs-vm", 0x80000000ull, 0x200000ull, v1, 1, NULL, 0);
	fz_gen_one(dir, "three-cpus-bells", "hvabs-vm", 0x80000000ull, 0x200000ull, v3, 3, b2, 2);
	fz_gen_one(dir, "eight-cpus", "guest", 0x40000000ull, 0x10000000ull, v8, 8, b4, 4);
	fz_gen_one(dir, "no-cpu", "x", 0, 0x1000, NULL, 0, b2, 2);
	fz_gen_one(dir, "cpu-64", "hvabs-vm", 0x80000000ull, 0x1000, v64, 2, NULL, 0);
	fz_gen_one(dir, "long-name", "a-very-long-image-name-that-the-backend-reader-truncates-at-63",
		   0xfffff000ull, 0x1000, v1, 1, NULL, 0);
	exit(0);
}
