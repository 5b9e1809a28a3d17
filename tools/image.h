/* SPDX-License-Identifier: MIT */
/* tools/image.h: guest image parser of hvabs-run - flat binaries and ELF32/ELF64 executables. */
#ifndef HVABS_RUN_IMAGE_H
#define HVABS_RUN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The parser is pure: no I/O, no allocation, no global state. It only
 * reads buf[0, len) and writes *out, so it can be fuzzed directly.
 */

enum image_format {
	IMAGE_FORMAT_AUTO = 0, /* ELF when the file starts with "\x7fELF", else flat */
	IMAGE_FORMAT_FLAT = 1,
	IMAGE_FORMAT_ELF32 = 2, /* results only; as a request, ELF32/ELF64 mean "ELF" */
	IMAGE_FORMAT_ELF64 = 3,
};

enum image_arch {
	IMAGE_ARCH_NONE = 0, /* flat image: the caller decides */
	IMAGE_ARCH_X86_64 = 1, /* EM_X86_64 or EM_386 */
	IMAGE_ARCH_ARM64 = 2, /* EM_AARCH64 */
};

/* Error codes (negative); hvabs_image_strerror() describes them. */
enum image_error {
	IMAGE_OK = 0,
	IMAGE_EINVAL = -1, /* bad parameters (NULL, empty or overflowing RAM range) */
	IMAGE_EEMPTY = -2, /* empty file */
	IMAGE_ETRUNC = -3, /* ELF header truncated */
	IMAGE_EMAGIC = -4, /* ELF requested but no ELF magic */
	IMAGE_ECLASS = -5, /* EI_CLASS neither ELFCLASS32 nor ELFCLASS64 */
	IMAGE_EDATA = -6, /* not little-endian */
	IMAGE_EVERSION = -7, /* EI_VERSION / e_version not EV_CURRENT */
	IMAGE_ETYPE = -8, /* e_type neither ET_EXEC nor ET_DYN */
	IMAGE_EMACHINE = -9, /* e_machine not EM_X86_64, EM_386 or EM_AARCH64 */
	IMAGE_EEHSIZE = -10, /* e_ehsize smaller than the ELF header */
	IMAGE_EPHDR = -11, /* program header table: entry size, count or range invalid */
	IMAGE_ENOLOAD = -12, /* no PT_LOAD segment with content */
	IMAGE_ETOOMANY = -13, /* more than IMAGE_MAX_SEGMENTS PT_LOAD segments */
	IMAGE_ESEGFILE = -14, /* p_offset + p_filesz beyond the file (or overflowing) */
	IMAGE_ESEGSIZE = -15, /* p_filesz > p_memsz */
	IMAGE_ESEGRAM = -16, /* segment (or flat image) not inside guest RAM */
	IMAGE_EOVERLAP = -17, /* two PT_LOAD segments overlap in guest memory */
	IMAGE_EENTRY = -18, /* entry point outside guest RAM */
	IMAGE_ETOOBIG = -19, /* flat image larger than guest RAM */
};

#define IMAGE_MAX_SEGMENTS 32

/**
 * struct image_segment - one piece of guest memory to fill.
 * @gpa:      guest-physical address (ELF p_paddr; flat: the load address).
 * @offset:   file offset of the content.
 * @filesz:   bytes copied from the file.
 * @memsz:    bytes in guest memory; [filesz, memsz) is zero-filled.
 * Guaranteed: offset + filesz <= file length, filesz <= memsz, memsz > 0,
 * [gpa, gpa + memsz) inside [mem_base, mem_base + mem_size).
 */
struct image_segment {
	uint64_t gpa;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
};

/**
 * struct image_params - where the image goes.
 * @mem_base, @mem_size: guest RAM.
 * @flat_addr: load address (and entry) of a flat image.
 * @format:    IMAGE_FORMAT_AUTO, IMAGE_FORMAT_FLAT or an ELF format (forces ELF).
 */
struct image_params {
	uint64_t mem_base;
	uint64_t mem_size;
	uint64_t flat_addr;
	enum image_format format;
};

/**
 * struct image_info - the parse result.
 * @format:  IMAGE_FORMAT_FLAT, _ELF32 or _ELF64.
 * @arch:    from e_machine; IMAGE_ARCH_NONE for flat images.
 * @entry:   guest-physical entry (ELF: e_entry, translated p_vaddr -> p_paddr
 *           when it lies in a PT_LOAD); inside guest RAM.
 * @lo, @hi: lowest guest address loaded and one past the highest.
 * @error_index: program header index for IMAGE_ESEG* and IMAGE_ETOOMANY;
 *           segment index (load order) for IMAGE_EOVERLAP.
 */
struct image_info {
	enum image_format format;
	enum image_arch arch;
	uint64_t entry;
	uint64_t lo, hi;
	size_t nr_segments;
	struct image_segment seg[IMAGE_MAX_SEGMENTS];
	size_t error_index;
};

/**
 * hvabs_image_parse() - validate @buf as a guest image and describe it.
 * Return: IMAGE_OK, or a negative enum image_error (then *out is partly
 * filled and must not be used, except error_index).
 */
int hvabs_image_parse(const uint8_t *buf, size_t len, const struct image_params *params,
		      struct image_info *out);

/**
 * hvabs_image_arch() - the architecture an ELF image asks for, without
 * validating the rest: IMAGE_ARCH_NONE for flat or unknown images.
 */
enum image_arch hvabs_image_arch(const uint8_t *buf, size_t len);

/** hvabs_image_strerror() - one lower-case line for an image_error code. */
const char *hvabs_image_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
