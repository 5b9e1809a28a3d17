/* SPDX-License-Identifier: MIT */
/* tools/options.c: hvabs-run's command-line parsing and --help text. */
#include "options.h"

#include "run_abi.h"

#include <hvabs.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"Usage: hvabs-run [OPTION]... IMAGE\n"
	"Run a flat binary or ELF guest image on an hvabs backend.\n"
	"\n"
	"Options:\n"
	"  -b, --backend NAME    kvm, gunyah, sim or auto (default: auto = the best\n"
	"                        hardware backend that probes, else sim)\n"
	"      --backend-config STR  backend-specific settings (kvm default for x86:\n"
	"                        \"irqchip=off\", so that HLT ends a vCPU)\n"
	"  -a, --arch ARCH       x86_64 or arm64 (default: the ELF machine, else x86_64)\n"
	"  -m, --mem SIZE        guest RAM, suffixes K/M/G (default 64M)\n"
	"  -c, --vcpus N         number of vCPUs, 1-64 (default 1); all start at the entry\n"
	"  -e, --entry ADDR      entry point; a flat image is loaded there too\n"
	"                        (default: x86 0x1000, arm64 0x40080000; ELF: e_entry)\n"
	"  -M, --mode MODE       x86: real, prot32 or long64; arm64: el1 (default: real for\n"
	"                        flat images, prot32 for ELF32, long64 for ELF64)\n"
	"  -f, --format FMT      auto, flat or elf (default auto: ELF if it has ELF magic)\n"
	"  -q, --quiet           no notices and no summary on stderr\n"
	"  -t, --trace           print every exit returned to hvabs-run on stderr\n"
	"  -h, --help            this text\n"
	"  -V, --version         print the version\n"
	"\n"
	"Guest memory:\n"
	"  x86_64: RAM at 0x0; flat image at 0x1000; real-mode SP 0x1000;\n"
	"          prot32/long64: GDT and page tables at 0x90000-0x9ffff, SP 0x90000\n"
	"  arm64:  RAM at 0x40000000; flat image at 0x40080000; SP 0x40080000; EL1h\n"
	"  gunyah: RAM starts at the entry (page-aligned, lowest loaded address); no SP;\n"
	"          x0 = devicetree, which the backend writes into the top of RAM\n"
	"\n"
	"Devices:\n"
	"  x86_64: 16550 UART at ports 0x3f8-0x3ff (console on stdin/stdout)\n"
	"          exit device at port 0x501 (write: exit status, low 8 bits)\n"
	"          vCPU id register at port 0x502 (read: id of the reading vCPU)\n"
	"  arm64:  PL011 UART at MMIO 0x09000000-0x09000fff (console)\n"
	"          exit device at MMIO 0x09010000 (32-bit write: exit status)\n"
	"          vCPU id register at MMIO 0x09020000 (32-bit read)\n"
	"  Other MMIO/PIO: reads return all ones, writes are ignored.\n"
	"\n"
	"Exit status:\n"
	"  N    the guest wrote N to the exit device\n"
	"  0    the guest powered the VM off\n"
	"  1    hvabs or backend failure\n"
	"  2    bad command line or invalid image\n"
	"  130  interrupted (SIGINT; SIGTERM gives 143)\n"
	"  131  every vCPU halted without writing the exit device\n"
	"  132  guest shutdown (triple fault), reset or system event\n"
	"  133  the VM crashed\n"
	"\n"
	"Environment:\n"
	"  HVABS_BACKEND  backends to try for --backend auto (comma-separated)\n";

void run_usage(FILE *f)
{
	fputs(usage_text, f);
}

int run_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int size_shift(char suffix, unsigned int *shift)
{
	switch (toupper((unsigned char)suffix)) {
	case 'K':
		*shift = 10;
		return 0;
	case 'M':
		*shift = 20;
		return 0;
	case 'G':
		*shift = 30;
		return 0;
	case 'T':
		*shift = 40;
		return 0;
	default:
		return -1;
	}
}

int run_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	if (*end) {
		if (size_shift(*end, &shift) || end[1] != '\0')
			return -1;
	}
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_arch(const char *s, enum run_arch *out)
{
	if (!strcmp(s, "x86_64") || !strcmp(s, "x86-64") || !strcmp(s, "amd64"))
		*out = RUN_ARCH_X86_64;
	else if (!strcmp(s, "arm64") || !strcmp(s, "aarch64"))
		*out = RUN_ARCH_ARM64;
	else
		return -1;
	return 0;
}

static int parse_mode(const char *s, enum run_mode *out)
{
	static const struct {
		const char *name;
		enum run_mode mode;
	} modes[] = {
		{ "real", RUN_MODE_REAL },
		{ "prot32", RUN_MODE_PROT32 },
		{ "long64", RUN_MODE_LONG64 },
		{ "el1", RUN_MODE_EL1 },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(s, modes[i].name)) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

static int parse_format(const char *s, enum run_format *out)
{
	if (!strcmp(s, "auto"))
		*out = RUN_FORMAT_AUTO;
	else if (!strcmp(s, "flat") || !strcmp(s, "bin"))
		*out = RUN_FORMAT_FLAT;
	else if (!strcmp(s, "elf"))
		*out = RUN_FORMAT_ELF;
	else
		return -1;
	return 0;
}

static int parse_vcpus(const char *s, unsigned int *out)
{
	uint64_t v;

	if (run_parse_u64(s, &v) || v == 0 || v > RUN_MAX_VCPUS)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

enum { OPT_BACKEND_CONFIG = 0x100 };

static const struct option long_options[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "backend-config", required_argument, NULL, OPT_BACKEND_CONFIG },
	{ "arch", required_argument, NULL, 'a' },
	{ "mem", required_argument, NULL, 'm' },
	{ "vcpus", required_argument, NULL, 'c' },
	{ "entry", required_argument, NULL, 'e' },
	{ "mode", required_argument, NULL, 'M' },
	{ "format", required_argument, NULL, 'f' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "trace", no_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int bad_value(FILE *err, const char *opt, const char *value, const char *expect)
{
	fprintf(err, "hvabs-run: invalid %s '%s' (expected %s)\n", opt, value, expect);
	return -1;
}

/* One option with its argument; 0, or -1 after printing the problem. */
static int apply_option(int c, const char *arg, struct run_options *o, FILE *err)
{
	switch (c) {
	case 'b':
		o->backend = arg;
		return 0;
	case OPT_BACKEND_CONFIG:
		o->backend_config = arg;
		return 0;
	case 'a':
		return parse_arch(arg, &o->arch) ?
			       bad_value(err, "--arch", arg, "x86_64 or arm64") :
			       0;
	case 'm':
		if (run_parse_size(arg, &o->mem_size) || o->mem_size == 0)
			return bad_value(err, "--mem", arg, "a size such as 64M");
		return 0;
	case 'c':
		return parse_vcpus(arg, &o->vcpus) ? bad_value(err, "--vcpus", arg, "1-64") : 0;
	case 'e':
		o->entry_set = true;
		return run_parse_u64(arg, &o->entry) ?
			       bad_value(err, "--entry", arg, "an address") :
			       0;
	case 'M':
		return parse_mode(arg, &o->mode) ?
			       bad_value(err, "--mode", arg, "real, prot32, long64 or el1") :
			       0;
	case 'f':
		return parse_format(arg, &o->format) ?
			       bad_value(err, "--format", arg, "auto, flat or elf") :
			       0;
	case 'q':
		o->quiet = true;
		return 0;
	case 't':
		o->trace = true;
		return 0;
	default:
		fprintf(err, "Try 'hvabs-run --help' for more information.\n");
		return -1;
	}
}

enum run_parse_result run_options_parse(int argc, char **argv, struct run_options *o, FILE *out,
					FILE *err)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->backend = "auto";
	o->vcpus = 1;
	while ((c = getopt_long(argc, argv, "b:a:m:c:e:M:f:qthV", long_options, NULL)) != -1) {
		if (c == 'h') {
			run_usage(out);
			return RUN_PARSE_EXIT_OK;
		}
		if (c == 'V') {
			fprintf(out, "hvabs-run %s\n", hvabs_version_string());
			return RUN_PARSE_EXIT_OK;
		}
		if (apply_option(c, optarg, o, err))
			return RUN_PARSE_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(err, "hvabs-run: %s\nTry 'hvabs-run --help' for more information.\n",
			optind >= argc ? "missing IMAGE" : "more than one IMAGE");
		return RUN_PARSE_USAGE;
	}
	o->image = argv[optind];
	return RUN_PARSE_OK;
}
