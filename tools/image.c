/* SPDX-License-Identifier: MIT */
/* tools/image.c: guest image parser of hvabs-run - validates flat and ELF images against guest RAM. */
#include "image.h"

#include <stdbool.h>
#include <string.h>

/* ELF constants (System V gABI); little-endian readers below, no <elf.h> structs. */
#define EI_NIDENT 16u
#define EI_CLASS 4u
#define EI_DATA 5u
#define EI_VERSION 6u
#define ELFCLASS32 1u
#define ELFCLASS64 2u
#define ELFDATA2LSB 1u
#define EV_CURRENT 1u
#define ET_EXEC 2u
#define ET_DYN 3u
#define EM_386 3u
#define EM_X86_64 62u
#define EM_AARCH64 183u
#define PT_LOAD 1u
#define PN_XNUM 0xffffu

#define EHDR32_SIZE 52u
#define EHDR64_SIZE 64u
#define PHDR32_SIZE 32u
#define PHDR64_SIZE 56u

/* Field offsets that differ between the two classes. */
struct elf_layout {
	size_t ehdr_size, phdr_size;
	size_t e_entry, e_phoff, e_ehsize, e_phentsize, e_phnum;
	size_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz;
	unsigned int word; /* 4 or 8: width of addresses and offsets */
};

static const struct elf_layout elf32_layout = {
	EHDR32_SIZE, PHDR32_SIZE, 24, 28, 40, 42, 44, 4, 8, 12, 16, 20, 4,
};

static const struct elf_layout elf64_layout = {
	EHDR64_SIZE, PHDR64_SIZE, 24, 32, 52, 54, 56, 8, 16, 24, 32, 40, 8,
};

static const char elf_magic[4] = { 0x7f, 'E', 'L', 'F' };

/* Little-endian load of @n (<= 8) bytes; callers have checked the bounds. */
static uint64_t rd_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

/* Last byte of guest RAM; params already validated. */
static uint64_t ram_last(const struct image_params *p)
{
	return p->mem_base + (p->mem_size - 1);
}

/* Is [gpa, gpa + size) (size > 0) inside guest RAM, without overflow? */
static bool in_ram(const struct image_params *p, uint64_t gpa, uint64_t size)
{
	uint64_t off;

	if (size == 0 || gpa < p->mem_base || gpa > ram_last(p))
		return false;
	off = gpa - p->mem_base;
	return size - 1 <= (p->mem_size - 1) - off;
}

static bool params_valid(const struct image_params *p)
{
	if (p->mem_size == 0 || p->mem_base > UINT64_MAX - (p->mem_size - 1))
		return false;
	return p->format >= IMAGE_FORMAT_AUTO && p->format <= IMAGE_FORMAT_ELF64;
}

static bool has_elf_magic(const uint8_t *buf, size_t len)
{
	return len >= sizeof(elf_magic) && memcmp(buf, elf_magic, sizeof(elf_magic)) == 0;
}

static enum image_arch machine_arch(uint64_t machine)
{
	switch (machine) {
	case EM_X86_64:
	case EM_386:
		return IMAGE_ARCH_X86_64;
	case EM_AARCH64:
		return IMAGE_ARCH_ARM64;
	default:
		return IMAGE_ARCH_NONE;
	}
}

static int parse_flat(size_t len, const struct image_params *p, struct image_info *out)
{
	uint64_t size = len;

	out->format = IMAGE_FORMAT_FLAT;
	out->arch = IMAGE_ARCH_NONE;
	if (size > p->mem_size)
		return IMAGE_ETOOBIG;
	if (!in_ram(p, p->flat_addr, size))
		return IMAGE_ESEGRAM;
	out->seg[0] = (struct image_segment){ p->flat_addr, 0, size, size };
	out->nr_segments = 1;
	out->entry = p->flat_addr;
	out->lo = p->flat_addr;
	out->hi = p->flat_addr + size;
	return IMAGE_OK;
}

/* e_ident and the fixed header fields; selects the class layout. */
static int elf_check_header(const uint8_t *buf, size_t len, const struct elf_layout **lay_out,
			    struct image_info *out)
{
	const struct elf_layout *lay;
	uint64_t type, machine;

	if (!has_elf_magic(buf, len))
		return IMAGE_EMAGIC;
	if (len < EI_NIDENT)
		return IMAGE_ETRUNC;
	if (buf[EI_CLASS] == ELFCLASS32)
		lay = &elf32_layout;
	else if (buf[EI_CLASS] == ELFCLASS64)
		lay = &elf64_layout;
	else
		return IMAGE_ECLASS;
	if (len < lay->ehdr_size)
		return IMAGE_ETRUNC;
	if (buf[EI_DATA] != ELFDATA2LSB)
		return IMAGE_EDATA;
	if (buf[EI_VERSION] != EV_CURRENT || rd_le(buf + 20, 4) != EV_CURRENT)
		return IMAGE_EVERSION;
	type = rd_le(buf + 16, 2);
	if (type != ET_EXEC && type != ET_DYN)
		return IMAGE_ETYPE;
	machine = rd_le(buf + 18, 2);
	out->arch = machine_arch(machine);
	if (out->arch == IMAGE_ARCH_NONE)
		return IMAGE_EMACHINE;
	if (rd_le(buf + lay->e_ehsize, 2) < lay->ehdr_size)
		return IMAGE_EEHSIZE;
	out->format = lay == &elf32_layout ? IMAGE_FORMAT_ELF32 : IMAGE_FORMAT_ELF64;
	*lay_out = lay;
	return IMAGE_OK;
}

/* Bounds of the program header table: *phoff_out, *phnum_out, *phentsize_out. */
static int elf_check_phdrs(const uint8_t *buf, size_t len, const struct elf_layout *lay,
			   uint64_t *phoff_out, uint64_t *phnum_out, uint64_t *phentsize_out)
{
	uint64_t phoff = rd_le(buf + lay->e_phoff, lay->word);
	uint64_t phentsize = rd_le(buf + lay->e_phentsize, 2);
	uint64_t phnum = rd_le(buf + lay->e_phnum, 2);

	if (phnum == PN_XNUM)
		return IMAGE_EPHDR; /* extended numbering: not for boot images */
	if (phnum == 0)
		return IMAGE_ENOLOAD;
	if (phentsize < lay->phdr_size)
		return IMAGE_EPHDR;
	/* phnum, phentsize < 2^16: the product cannot overflow 64 bits. */
	if (phoff > len || phnum * phentsize > len - phoff)
		return IMAGE_EPHDR;
	*phoff_out = phoff;
	*phnum_out = phnum;
	*phentsize_out = phentsize;
	return IMAGE_OK;
}

/* One PT_LOAD header at @ph: validate it and append it to @out (unless empty). */
static int elf_add_load(const uint8_t *ph, size_t len, const struct elf_layout *lay,
			const struct image_params *p, struct image_info *out, uint64_t *vaddr_out)
{
	uint64_t offset = rd_le(ph + lay->p_offset, lay->word);
	uint64_t filesz = rd_le(ph + lay->p_filesz, lay->word);
	uint64_t memsz = rd_le(ph + lay->p_memsz, lay->word);
	uint64_t paddr = rd_le(ph + lay->p_paddr, lay->word);

	if (offset > len || filesz > len - offset)
		return IMAGE_ESEGFILE;
	if (filesz > memsz)
		return IMAGE_ESEGSIZE;
	if (memsz == 0)
		return IMAGE_OK;
	if (!in_ram(p, paddr, memsz))
		return IMAGE_ESEGRAM;
	if (out->nr_segments == IMAGE_MAX_SEGMENTS)
		return IMAGE_ETOOMANY;
	out->seg[out->nr_segments++] = (struct image_segment){ paddr, offset, filesz, memsz };
	*vaddr_out = rd_le(ph + lay->p_vaddr, lay->word);
	return IMAGE_OK;
}

/* Segments are inside RAM, so end = gpa + memsz cannot overflow. */
static int segments_check_overlap(struct image_info *out)
{
	for (size_t i = 0; i < out->nr_segments; i++) {
		const struct image_segment *a = &out->seg[i];

		for (size_t j = 0; j < i; j++) {
			const struct image_segment *b = &out->seg[j];

			if (a->gpa < b->gpa + b->memsz && b->gpa < a->gpa + a->memsz) {
				out->error_index = i;
				return IMAGE_EOVERLAP;
			}
		}
	}
	return IMAGE_OK;
}

static void segments_span(struct image_info *out)
{
	out->lo = UINT64_MAX;
	out->hi = 0;
	for (size_t i = 0; i < out->nr_segments; i++) {
		if (out->seg[i].gpa < out->lo)
			out->lo = out->seg[i].gpa;
		if (out->seg[i].gpa + out->seg[i].memsz > out->hi)
			out->hi = out->seg[i].gpa + out->seg[i].memsz;
	}
}

/*
 * Translate e_entry from its virtual address to the physical one when a
 * segment's [p_vaddr, p_vaddr + p_memsz) contains it; then check it.
 */
static int elf_entry(uint64_t entry, const uint64_t *vaddr, const struct image_params *p,
		     struct image_info *out)
{
	for (size_t i = 0; i < out->nr_segments; i++) {
		const struct image_segment *s = &out->seg[i];

		if (entry >= vaddr[i] && entry - vaddr[i] < s->memsz) {
			entry = s->gpa + (entry - vaddr[i]);
			break;
		}
	}
	if (!in_ram(p, entry, 1))
		return IMAGE_EENTRY;
	out->entry = entry;
	return IMAGE_OK;
}

static int elf_load_segments(const uint8_t *buf, size_t len, const struct elf_layout *lay,
			     const struct image_params *p, struct image_info *out, uint64_t *vaddr)
{
	uint64_t phoff, phnum, phentsize;
	int ret;

	ret = elf_check_phdrs(buf, len, lay, &phoff, &phnum, &phentsize);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < phnum; i++) {
		const uint8_t *ph = buf + phoff + i * phentsize;

		if (rd_le(ph, 4) != PT_LOAD)
			continue;
		out->error_index = (size_t)i;
		ret = elf_add_load(ph, len, lay, p, out, &vaddr[out->nr_segments]);
		if (ret)
			return ret;
	}
	if (out->nr_segments == 0)
		return IMAGE_ENOLOAD;
	return IMAGE_OK;
}

static int parse_elf(const uint8_t *buf, size_t len, const struct image_params *p,
		     struct image_info *out)
{
	const struct elf_layout *lay = NULL;
	uint64_t vaddr[IMAGE_MAX_SEGMENTS];
	int ret;

	ret = elf_check_header(buf, len, &lay, out);
	if (ret)
		return ret;
	ret = elf_load_segments(buf, len, lay, p, out, vaddr);
	if (ret)
		return ret;
	ret = segments_check_overlap(out);
	if (ret)
		return ret;
	segments_span(out);
	return elf_entry(rd_le(buf + lay->e_entry, lay->word), vaddr, p, out);
}

int hvabs_image_parse(const uint8_t *buf, size_t len, const struct image_params *params,
		      struct image_info *out)
{
	if (!out)
		return IMAGE_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!params || !params_valid(params) || (!buf && len))
		return IMAGE_EINVAL;
	if (len == 0)
		return IMAGE_EEMPTY;
	if (params->format == IMAGE_FORMAT_FLAT ||
	    (params->format == IMAGE_FORMAT_AUTO && !has_elf_magic(buf, len)))
		return parse_flat(len, params, out);
	return parse_elf(buf, len, params, out);
}

enum image_arch hvabs_image_arch(const uint8_t *buf, size_t len)
{
	if (!buf || len < 20 || !has_elf_magic(buf, len))
		return IMAGE_ARCH_NONE;
	return machine_arch(rd_le(buf + 18, 2));
}

static const struct {
	int code;
	const char *text;
} image_errors[] = {
	{ IMAGE_OK, "success" },
	{ IMAGE_EINVAL, "invalid load parameters" },
	{ IMAGE_EEMPTY, "empty image" },
	{ IMAGE_ETRUNC, "truncated ELF header" },
	{ IMAGE_EMAGIC, "not an ELF file (bad magic)" },
	{ IMAGE_ECLASS, "bad ELF class (neither ELF32 nor ELF64)" },
	{ IMAGE_EDATA, "ELF file is not little-endian" },
	{ IMAGE_EVERSION, "bad ELF version" },
	{ IMAGE_ETYPE, "ELF file is not an executable (ET_EXEC or ET_DYN)" },
	{ IMAGE_EMACHINE, "unsupported ELF machine (need EM_X86_64, EM_386 or EM_AARCH64)" },
	{ IMAGE_EEHSIZE, "bad ELF header size (e_ehsize)" },
	{ IMAGE_EPHDR, "bad program header table (e_phoff, e_phnum or e_phentsize)" },
	{ IMAGE_ENOLOAD, "no loadable (PT_LOAD) segment" },
	{ IMAGE_ETOOMANY, "too many PT_LOAD segments" },
	{ IMAGE_ESEGFILE, "segment extends beyond the end of the file" },
	{ IMAGE_ESEGSIZE, "segment file size exceeds its memory size" },
	{ IMAGE_ESEGRAM, "image does not fit in guest RAM at its load address" },
	{ IMAGE_EOVERLAP, "segments overlap in guest memory" },
	{ IMAGE_EENTRY, "entry point outside guest RAM" },
	{ IMAGE_ETOOBIG, "image larger than guest RAM" },
};

const char *hvabs_image_strerror(int code)
{
	for (size_t i = 0; i < sizeof(image_errors) / sizeof(image_errors[0]); i++) {
		if (image_errors[i].code == code)
			return image_errors[i].text;
	}
	return "unknown image error";
}
