/* SPDX-License-Identifier: MIT */
/* tools/options.h: hvabs-run's command line - option values, parsing and --help text. */
#ifndef HVABS_RUN_OPTIONS_H
#define HVABS_RUN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --mode values; RUN_MODE_AUTO picks from the image (see docs/hvabs-run.md). */
enum run_mode {
	RUN_MODE_AUTO = 0,
	RUN_MODE_REAL,
	RUN_MODE_PROT32,
	RUN_MODE_LONG64,
	RUN_MODE_EL1,
};

/* --arch values (RUN_ARCH_AUTO: the ELF machine, else x86_64). */
enum run_arch {
	RUN_ARCH_AUTO = 0,
	RUN_ARCH_X86_64,
	RUN_ARCH_ARM64,
};

/* --format values (match enum image_format's requests). */
enum run_format {
	RUN_FORMAT_AUTO = 0,
	RUN_FORMAT_FLAT,
	RUN_FORMAT_ELF,
};

struct run_options {
	const char *backend; /* "auto" or a backend name */
	const char *backend_config; /* NULL: hvabs-run's default for the backend */
	enum run_arch arch;
	uint64_t mem_size; /* bytes; 0: default */
	unsigned int vcpus;
	bool entry_set;
	uint64_t entry;
	enum run_mode mode;
	enum run_format format;
	bool quiet;
	bool trace;
	const char *image;
};

/* Outcome of run_options_parse(). */
enum run_parse_result {
	RUN_PARSE_OK = 0,
	RUN_PARSE_EXIT_OK, /* --help or --version was printed */
	RUN_PARSE_USAGE, /* error printed on @err */
};

/**
 * run_options_parse() - fill @o from argv (uses getopt_long: one call per
 * process). Messages go to @out (help) and @err (errors).
 */
enum run_parse_result run_options_parse(int argc, char **argv, struct run_options *o, FILE *out,
					FILE *err);

/**
 * run_parse_size() - "64M", "4096", "1G", "512k" -> bytes (suffixes K, M, G,
 * T, case-insensitive, powers of 1024). Return 0, or -1 for a malformed or
 * overflowing value.
 */
int run_parse_size(const char *s, uint64_t *out);

/** run_parse_u64() - decimal, 0x hex or 0 octal; -1 when malformed or overflowing. */
int run_parse_u64(const char *s, uint64_t *out);

void run_usage(FILE *f);

#ifdef __cplusplus
}
#endif

#endif
