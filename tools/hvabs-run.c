/* SPDX-License-Identifier: MIT */
/* tools/hvabs-run.c: command-line VMM - loads a guest image and runs it on any hvabs backend. */
#include "devices.h"
#include "image.h"
#include "options.h"
#include "run_abi.h"

#include <hvabs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IMAGE_FILE_MAX (1ull << 32) /* largest image file read */

/* Where the guest lives and how its vCPUs start. */
struct run_layout {
	enum hvabs_arch arch;
	uint64_t mem_base;
	uint64_t mem_size;
	uint64_t flat_addr;
	enum run_mode mode;
	uint64_t stack;
	uint64_t scratch; /* 0: none */
};

struct run_ctx;

struct run_vcpu {
	struct run_ctx *ctx;
	struct hvabs_vcpu *vcpu;
	uint32_t id;
	pthread_t thread;
	bool started;
	uint64_t unserved; /* MMIO/PIO exits completed with the default (all ones / ignored) */
};

struct run_ctx {
	const struct run_options *opt;
	const struct run_layout *lay;
	struct hvabs_vm *vm;
	struct run_devices dev;
	struct run_vcpu vcpus[RUN_MAX_VCPUS];
	unsigned int nr_vcpus;
	atomic_bool stop; /* every vCPU thread should return */
	pthread_mutex_t lock; /* the result below */
	bool ended;
	int code;
	char reason[256];
};

/* ---- messages ---- */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr, prefixed "hvabs-run: ", written with a single call. */
static void msg(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hvabs-run: %s\n", line);
}

/* Report a failed hvabs call with the thread's error detail; returns RUN_EXIT_FAILURE. */
static int hv_fail(const char *what, int ret)
{
	const struct hvabs_error *e = hvabs_error_last();

	if (e->code == ret && e->message && *e->message)
		msg("%s: %s (%s: %s)", what, hvabs_strerror(ret), e->backend, e->message);
	else
		msg("%s: %s", what, hvabs_strerror(ret));
	return RUN_EXIT_FAILURE;
}

static const char *arch_name(enum hvabs_arch arch)
{
	return arch == HVABS_ARCH_ARM64 ? "arm64" : "x86_64";
}

/* ---- image file ---- */

/* Read all of @path into a malloc()ed buffer; prints the failure. */
static int read_image(const char *path, uint8_t **buf_out, size_t *len_out)
{
	size_t len = 0, cap = 0;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		msg("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			nb = cap <= IMAGE_FILE_MAX ? realloc(buf, cap) : NULL;
			if (!nb) {
				msg("%s: %s", path,
				    cap <= IMAGE_FILE_MAX ? strerror(ENOMEM) :
							    "image file too large");
				goto out_free;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			msg("%s: %s", path, strerror(errno));
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*buf_out = buf;
	*len_out = len;
	return 0;

out_free:
	free(buf);
	close(fd);
	return -1;
}

/* ---- layout ---- */

static int choose_arch(const struct run_options *o, const uint8_t *buf, size_t len,
		       enum hvabs_arch *out)
{
	enum image_arch img = o->format == RUN_FORMAT_FLAT ? IMAGE_ARCH_NONE :
							     hvabs_image_arch(buf, len);
	enum hvabs_arch want = o->arch == RUN_ARCH_ARM64 ? HVABS_ARCH_ARM64 : HVABS_ARCH_X86_64;
	enum hvabs_arch have = img == IMAGE_ARCH_ARM64 ? HVABS_ARCH_ARM64 : HVABS_ARCH_X86_64;

	if (o->arch == RUN_ARCH_AUTO) {
		*out = have;
		return 0;
	}
	if (img != IMAGE_ARCH_NONE && want != have) {
		msg("%s: ELF image is for %s, not %s", o->image, arch_name(have), arch_name(want));
		return -1;
	}
	*out = want;
	return 0;
}

static int layout_init(const struct run_options *o, enum hvabs_arch arch, struct run_layout *l)
{
	bool arm = arch == HVABS_ARCH_ARM64;
	uint64_t max = arm ? RUN_ARM64_MEM_MAX : RUN_X86_MEM_MAX;

	memset(l, 0, sizeof(*l));
	l->arch = arch;
	l->mem_base = arm ? RUN_ARM64_RAM_BASE : RUN_X86_RAM_BASE;
	l->mem_size = o->mem_size ? o->mem_size : RUN_DEFAULT_MEM;
	l->flat_addr = o->entry_set ? o->entry : arm ? RUN_ARM64_LOAD_ADDR : RUN_X86_LOAD_ADDR;
	if (l->mem_size % HVABS_PAGE_SIZE || l->mem_size > max) {
		msg("--mem must be a multiple of 4K and at most %lluM for %s",
		    (unsigned long long)(max >> 20), arch_name(arch));
		return -1;
	}
	if (arm && o->mode != RUN_MODE_AUTO && o->mode != RUN_MODE_EL1) {
		msg("--mode real, prot32 and long64 are x86_64 modes (arm64 starts in el1)");
		return -1;
	}
	if (!arm && o->mode == RUN_MODE_EL1) {
		msg("--mode el1 is an arm64 mode");
		return -1;
	}
	return 0;
}

/* x86: the mode the image asks for, and what that mode needs. */
static int layout_x86_mode(const struct run_options *o, const struct image_info *img,
			   struct run_layout *l)
{
	l->mode = o->mode;
	if (l->mode == RUN_MODE_AUTO)
		l->mode = img->format == IMAGE_FORMAT_ELF64 ? RUN_MODE_LONG64 :
			  img->format == IMAGE_FORMAT_ELF32 ? RUN_MODE_PROT32 :
							      RUN_MODE_REAL;
	if (l->mode == RUN_MODE_REAL) {
		l->stack = RUN_X86_STACK_REAL;
		if (img->entry > 0xfffff) {
			msg("entry 0x%llx is above 1 MiB: real mode cannot reach it (see --mode)",
			    (unsigned long long)img->entry);
			return -1;
		}
		return 0;
	}
	l->stack = RUN_X86_STACK_FLAT;
	l->scratch = RUN_X86_SCRATCH;
	if (l->mem_size < RUN_X86_SCRATCH + RUN_X86_SCRATCH_SIZE) {
		msg("prot32/long64 need at least 640K of RAM (page tables at 0x%llx)",
		    (unsigned long long)RUN_X86_SCRATCH);
		return -1;
	}
	for (size_t i = 0; i < img->nr_segments; i++) {
		const struct image_segment *s = &img->seg[i];

		if (s->gpa < RUN_X86_SCRATCH + RUN_X86_SCRATCH_SIZE &&
		    RUN_X86_SCRATCH < s->gpa + s->memsz) {
			msg("%s: image overlaps the page-table area 0x%llx-0x%llx", o->image,
			    (unsigned long long)RUN_X86_SCRATCH,
			    (unsigned long long)(RUN_X86_SCRATCH + RUN_X86_SCRATCH_SIZE - 1));
			return -1;
		}
	}
	return 0;
}

static int layout_finish(const struct run_options *o, struct image_info *img, struct run_layout *l)
{
	if (o->entry_set) {
		if (o->entry < l->mem_base || o->entry - l->mem_base >= l->mem_size) {
			msg("entry 0x%llx is outside guest RAM", (unsigned long long)o->entry);
			return -1;
		}
		img->entry = o->entry;
	}
	if (l->arch == HVABS_ARCH_X86_64)
		return layout_x86_mode(o, img, l);
	l->mode = RUN_MODE_EL1;
	l->stack = RUN_ARM64_STACK;
	if (l->stack > l->mem_base + l->mem_size)
		l->stack = l->mem_base + l->mem_size;
	return 0;
}

static int load_image(const struct run_options *o, const uint8_t *buf, size_t len,
		      struct run_layout *l, struct image_info *img)
{
	struct image_params p = {
		.mem_base = l->mem_base,
		.mem_size = l->mem_size,
		.flat_addr = l->flat_addr,
		.format = o->format == RUN_FORMAT_FLAT ? IMAGE_FORMAT_FLAT :
			  o->format == RUN_FORMAT_ELF  ? IMAGE_FORMAT_ELF64 :
							 IMAGE_FORMAT_AUTO,
	};
	int ret = hvabs_image_parse(buf, len, &p, img);

	if (ret == IMAGE_ESEGFILE || ret == IMAGE_ESEGSIZE || ret == IMAGE_ESEGRAM ||
	    ret == IMAGE_ETOOMANY) {
		msg("%s: %s (program header %zu)", o->image, hvabs_image_strerror(ret),
		    img->error_index);
		return -1;
	}
	if (ret) {
		msg("%s: %s", o->image, hvabs_image_strerror(ret));
		return -1;
	}
	return layout_finish(o, img, l);
}

/*
 * --backend gunyah: Gunyah before v15 starts vCPU 0 at the base of the
 * devicetree's memory region (x0 = the devicetree address, no stack) and
 * the backend writes the devicetree into the last pages of that region.
 * So RAM starts at the entry, and the image stays clear of its top. The
 * image is parsed once against the whole address space to learn its entry.
 */
static int layout_gunyah(const struct run_options *o, const uint8_t *buf, size_t len,
			 struct run_layout *l, struct image_info *img)
{
	struct run_layout any = *l;
	uint64_t entry;

	any.mem_base = 0;
	any.mem_size = UINT64_MAX;
	if (load_image(o, buf, len, &any, img))
		return -1;
	entry = img->entry;
	if (entry % HVABS_PAGE_SIZE || img->lo < entry) {
		msg("%s: gunyah starts vCPU 0 at the base of guest RAM: the entry 0x%llx must be "
		    "page-aligned and the lowest address the image loads (lowest 0x%llx)",
		    o->image, (unsigned long long)entry, (unsigned long long)img->lo);
		return -1;
	}
	l->mem_base = entry;
	l->flat_addr = entry;
	if (load_image(o, buf, len, l, img))
		return -1;
	l->stack = 0;
	if (l->mem_size <= RUN_GUNYAH_DTB_RESERVE ||
	    img->hi > l->mem_base + (l->mem_size - RUN_GUNYAH_DTB_RESERVE)) {
		msg("%s: the image must leave the last %lluK of RAM to the gunyah devicetree "
		    "(RAM 0x%llx-0x%llx, image ends at 0x%llx): use a larger --mem",
		    o->image, (unsigned long long)(RUN_GUNYAH_DTB_RESERVE >> 10),
		    (unsigned long long)l->mem_base,
		    (unsigned long long)(l->mem_base + l->mem_size - 1), (unsigned long long)img->hi);
		return -1;
	}
	return 0;
}

/* ---- backend ---- */

/* Can backend @name execute @arch guest code? Fills @why when not. */
static bool backend_runs(const char *name, enum hvabs_arch arch, unsigned int vcpus, char *why,
			 size_t why_len)
{
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };

	if (hvabs_backend_caps(name, &caps)) {
		snprintf(why, why_len, "%s: no capabilities", name);
		return false;
	}
	if (!(caps.features & HVABS_FEAT_REAL_GUESTS) || !(caps.archs & (1u << arch))) {
		snprintf(why, why_len, "%s cannot execute %s guest code%s", name, arch_name(arch),
			 strcmp(name, "sim") ? "" : " (built without HVABS_SIM_UNICORN?)");
		return false;
	}
	if (caps.max_vcpus && vcpus > caps.max_vcpus) {
		snprintf(why, why_len, "%s supports at most %u vCPUs", name, caps.max_vcpus);
		return false;
	}
	return true;
}

/* --backend auto: the best hardware backend that probes and fits, else sim. */
static const char *backend_auto(const struct run_options *o, enum hvabs_arch arch)
{
	const char *name = NULL;
	char why[200];
	int ret = hvabs_backend_select(&name, NULL);

	if (ret) {
		const struct hvabs_error *e = hvabs_error_last();

		snprintf(why, sizeof(why), "%s",
			 e->code == ret && *e->message ? e->message : hvabs_strerror(ret));
		name = NULL;
	} else if (!backend_runs(name, arch, o->vcpus, why, sizeof(why))) {
		name = NULL;
	}
	if (name)
		return name;
	if (!o->quiet)
		msg("no hardware backend available (%s); using sim", why);
	return "sim";
}

static int backend_choose(const struct run_options *o, enum hvabs_arch arch, const char **out)
{
	char why[200];

	*out = strcmp(o->backend, "auto") ? o->backend : backend_auto(o, arch);
	if (hvabs_backend_probe(*out) == HVABS_ENOTFOUND) {
		msg("backend '%s' is not compiled into this hvabs", *out);
		return -1;
	}
	if (!backend_runs(*out, arch, o->vcpus, why, sizeof(why))) {
		msg("%s", why);
		return -1;
	}
	return 0;
}

/* ---- VM setup ---- */

static int vm_load_memory(struct run_ctx *ctx, const uint8_t *buf, const struct image_info *img)
{
	struct hvabs_mem_region ram = {
		.version = HVABS_MEM_REGION_VERSION,
		.label = 0,
		.flags = HVABS_MEM_RWX,
		.guest_addr = ctx->lay->mem_base,
		.size = ctx->lay->mem_size,
	};
	int ret = hvabs_vm_mem_add(ctx->vm, &ram);

	if (ret)
		return hv_fail("add guest RAM", ret);
	for (size_t i = 0; i < img->nr_segments; i++) {
		const struct image_segment *s = &img->seg[i];
		uint8_t *host = hvabs_vm_mem_host(ctx->vm, s->gpa, s->memsz);

		if (!host) {
			msg("segment at 0x%llx: no host memory", (unsigned long long)s->gpa);
			return RUN_EXIT_FAILURE;
		}
		memcpy(host, buf + s->offset, (size_t)s->filesz);
		memset(host + s->filesz, 0, (size_t)(s->memsz - s->filesz));
	}
	return 0;
}

static uint32_t cpu_mode_of(enum run_mode mode)
{
	switch (mode) {
	case RUN_MODE_REAL:
		return HVABS_CPU_MODE_X86_REAL;
	case RUN_MODE_PROT32:
		return HVABS_CPU_MODE_X86_PROT32;
	case RUN_MODE_LONG64:
		return HVABS_CPU_MODE_X86_LONG64;
	default:
		return HVABS_CPU_MODE_DEFAULT;
	}
}

static int vm_boot(struct run_ctx *ctx, const struct image_info *img)
{
	struct hvabs_boot_config boot = {
		.version = HVABS_BOOT_CONFIG_VERSION,
		.entry = img->entry,
		.cpu_mode = cpu_mode_of(ctx->lay->mode),
		.scratch_addr = ctx->lay->scratch,
		.stack = ctx->lay->stack,
	};
	int ret = hvabs_vm_boot_set(ctx->vm, &boot);

	return ret ? hv_fail("set the boot configuration", ret) : 0;
}

static void ctx_end(struct run_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Record why the run ends (the first caller wins), then make every vCPU
 * thread return. Called on vCPU threads, including from IO handlers.
 */
static void ctx_end(struct run_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->ended) {
		ctx->ended = true;
		ctx->code = code;
		va_start(ap, fmt);
		vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&ctx->lock);
	atomic_store(&ctx->stop, true);
	for (unsigned int i = 0; i < ctx->nr_vcpus; i++)
		hvabs_vcpu_kick(ctx->vcpus[i].vcpu);
}

static void on_guest_exit(struct hvabs_vcpu *vcpu, uint8_t status, void *payload)
{
	(void)vcpu;
	ctx_end(payload, status, "%s", "");
}

static int vm_setup(struct run_ctx *ctx, const uint8_t *buf, const struct image_info *img)
{
	const char *what = NULL;
	int ret;

	ret = vm_load_memory(ctx, buf, img);
	if (ret)
		return ret;
	ret = vm_boot(ctx, img);
	if (ret)
		return ret;
	ctx->dev.on_exit = on_guest_exit;
	ctx->dev.exit_payload = ctx;
	ret = run_devices_add(&ctx->dev, ctx->vm, ctx->lay->arch, &what);
	if (ret)
		return hv_fail(what, ret);
	for (unsigned int i = 0; i < ctx->opt->vcpus; i++) {
		struct run_vcpu *rv = &ctx->vcpus[i];

		ret = hvabs_vm_vcpu_add(&rv->vcpu, ctx->vm, i);
		if (ret)
			return hv_fail("add a vCPU", ret);
		rv->ctx = ctx;
		rv->id = i;
		ctx->nr_vcpus = i + 1;
	}
	ret = hvabs_vm_start(ctx->vm);
	return ret ? hv_fail("start the VM", ret) : 0;
}

/* ---- exits ---- */

static const char *exit_type_name(uint16_t type)
{
	static const char *const names[] = {
		"VM_EXIT",  "PSCI_POWER_OFF", "PSCI_SYSTEM_RESET", "PSCI_SYSTEM_RESET2",
		"WDT_BITE", "HYP_ERROR",      "ASYNC_EXT_ABORT",   "VM_FORCE_STOPPED",
	};

	if (type < sizeof(names) / sizeof(names[0]))
		return names[type];
	return type == HVABS_EXIT_TYPE_GUEST_FAULT ? "GUEST_FAULT" : "UNKNOWN";
}

/* "0e 00 00 00" for @n bytes (at most 8), or "none". */
static void format_bytes(char *out, size_t size, const uint8_t *b, uint32_t n)
{
	size_t pos = 0;

	if (n == 0 || n > 8) {
		snprintf(out, size, "%s", n ? "invalid" : "none");
		return;
	}
	out[0] = '\0';
	for (uint32_t i = 0; i < n && pos < size; i++)
		pos += (size_t)snprintf(out + pos, size - pos, "%s%02x", i ? " " : "", b[i]);
}

static uint64_t load_le(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;

	for (uint32_t i = n < 8 ? n : 8; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

/* An access no device serves: reads see all ones, writes are dropped. */
static void exit_unserved(struct run_vcpu *rv, struct hvabs_exit *e)
{
	bool trace = rv->ctx->opt->trace;

	rv->unserved++;
	if (e->reason == HVABS_EXIT_MMIO) {
		uint32_t n = e->mmio.len < 8 ? e->mmio.len : 8;

		if (!e->mmio.is_write)
			memset(e->mmio.data, 0xff, n);
		if (trace)
			msg("trace: vcpu %u MMIO %s addr 0x%llx len %u data 0x%llx", rv->id,
			    e->mmio.is_write ? "write" : "read", (unsigned long long)e->mmio.addr,
			    e->mmio.len, (unsigned long long)load_le(e->mmio.data, n));
		return;
	}
	if (!e->pio.is_write && e->pio.data)
		memset(e->pio.data, 0xff, (size_t)e->pio.size * e->pio.count);
	if (trace)
		msg("trace: vcpu %u PIO %s port 0x%x size %u count %u data 0x%llx", rv->id,
		    e->pio.is_write ? "out" : "in", e->pio.port, e->pio.size, e->pio.count,
		    (unsigned long long)(e->pio.data ? load_le(e->pio.data, e->pio.size) : 0));
}

static void exit_status(struct run_vcpu *rv, const struct hvabs_exit *e)
{
	uint16_t type = e->status.exit_type;
	char reason[32];
	int code;

	format_bytes(reason, sizeof(reason), e->status.reason, e->status.reason_size);
	if (e->status.status == HVABS_STATUS_CRASHED)
		code = RUN_EXIT_CRASHED;
	else if (e->status.status != HVABS_STATUS_EXITED)
		code = RUN_EXIT_FAILURE;
	else if (type == HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET ||
		 type == HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET2)
		code = RUN_EXIT_RESET;
	else
		code = RUN_EXIT_OK;
	ctx_end(rv->ctx, code, "VM %s (vcpu %u): exit type %s (0x%x), reason %s",
		e->status.status == HVABS_STATUS_CRASHED ? "crashed" :
		e->status.status == HVABS_STATUS_EXITED	 ? "exited" :
							   "failed to load",
		rv->id, exit_type_name(type), type, reason);
}

static void exit_trace(const struct run_vcpu *rv, const struct hvabs_exit *e)
{
	switch (e->reason) {
	case HVABS_EXIT_MMIO:
	case HVABS_EXIT_PIO:
		return; /* traced once completed, with the data read */
	case HVABS_EXIT_STATUS:
		msg("trace: vcpu %u STATUS status %u exit_type 0x%x reason_size %u", rv->id,
		    e->status.status, e->status.exit_type, e->status.reason_size);
		return;
	case HVABS_EXIT_SYSTEM_EVENT:
		msg("trace: vcpu %u SYSTEM_EVENT type %u ndata %u data0 0x%llx", rv->id,
		    e->system_event.type, e->system_event.ndata,
		    (unsigned long long)e->system_event.data[0]);
		return;
	case HVABS_EXIT_INTERNAL:
		msg("trace: vcpu %u INTERNAL suberror %u ndata %u data0 0x%llx", rv->id,
		    e->internal.suberror, e->internal.ndata,
		    (unsigned long long)e->internal.data[0]);
		return;
	default:
		msg("trace: vcpu %u %s", rv->id, hvabs_exit_reason_name(e->reason));
		return;
	}
}

/* Handle one exit; false when this vCPU's thread should return. */
static bool exit_handle(struct run_vcpu *rv, struct hvabs_exit *e)
{
	switch (e->reason) {
	case HVABS_EXIT_MMIO:
	case HVABS_EXIT_PIO:
		exit_unserved(rv, e);
		return true;
	case HVABS_EXIT_INTR:
		return true; /* stop requests are checked by the caller */
	case HVABS_EXIT_HLT:
		return false; /* nothing can wake it: hvabs-run injects no interrupts */
	case HVABS_EXIT_STATUS:
		exit_status(rv, e);
		return false;
	case HVABS_EXIT_SHUTDOWN:
		ctx_end(rv->ctx, RUN_EXIT_RESET, "guest shut down (x86 triple fault) on vcpu %u",
			rv->id);
		return false;
	case HVABS_EXIT_RESET:
		ctx_end(rv->ctx, RUN_EXIT_RESET, "guest requested a reset on vcpu %u", rv->id);
		return false;
	case HVABS_EXIT_SYSTEM_EVENT:
		ctx_end(rv->ctx, RUN_EXIT_RESET, "system event type %u (data 0x%llx) on vcpu %u",
			e->system_event.type, (unsigned long long)e->system_event.data[0], rv->id);
		return false;
	case HVABS_EXIT_INTERNAL:
		ctx_end(rv->ctx, RUN_EXIT_FAILURE,
			"backend internal error on vcpu %u: suberror %u (data 0x%llx)", rv->id,
			e->internal.suberror, (unsigned long long)e->internal.data[0]);
		return false;
	default:
		ctx_end(rv->ctx, RUN_EXIT_FAILURE, "unknown exit %u on vcpu %u", e->reason, rv->id);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct run_vcpu *rv = arg;
	struct run_ctx *ctx = rv->ctx;
	struct hvabs_exit *e = hvabs_vcpu_exit(rv->vcpu);

	while (!atomic_load(&ctx->stop)) {
		int ret = hvabs_vcpu_run(rv->vcpu);

		if (ret) {
			const struct hvabs_error *er = hvabs_error_last();

			ctx_end(ctx, RUN_EXIT_FAILURE, "run vcpu %u: %s (%s: %s)", rv->id,
				hvabs_strerror(ret), er->backend, er->message);
			break;
		}
		if (ctx->opt->trace)
			exit_trace(rv, e);
		if (atomic_load(&ctx->stop) || !exit_handle(rv, e))
			break;
	}
	return NULL;
}

/* ---- signals ---- */

static struct hvabs_vcpu *sig_vcpus[RUN_MAX_VCPUS];
static atomic_uint sig_nr_vcpus;
static atomic_bool *sig_stop;
static volatile sig_atomic_t sig_caught;

/* SIGINT/SIGTERM: stop every vCPU (kick is async-signal-safe). */
static void on_signal(int signo)
{
	unsigned int n = atomic_load(&sig_nr_vcpus);

	sig_caught = signo;
	atomic_store(sig_stop, true);
	for (unsigned int i = 0; i < n; i++)
		hvabs_vcpu_kick(sig_vcpus[i]);
}

static void signals_install(struct run_ctx *ctx)
{
	struct sigaction sa;

	for (unsigned int i = 0; i < ctx->nr_vcpus; i++)
		sig_vcpus[i] = ctx->vcpus[i].vcpu;
	sig_stop = &ctx->stop;
	atomic_store(&sig_nr_vcpus, ctx->nr_vcpus);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void signals_remove(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	atomic_store(&sig_nr_vcpus, 0);
}

/* Start one thread per vCPU, with SIGINT/SIGTERM left to the main thread. */
static int threads_start(struct run_ctx *ctx)
{
	sigset_t block, old;
	int ret = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (unsigned int i = 0; i < ctx->nr_vcpus && !ret; i++) {
		struct run_vcpu *rv = &ctx->vcpus[i];

		ret = pthread_create(&rv->thread, NULL, vcpu_thread, rv);
		if (ret)
			ctx_end(ctx, RUN_EXIT_FAILURE, "create a thread: %s", strerror(ret));
		else
			rv->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static void threads_join(struct run_ctx *ctx)
{
	for (unsigned int i = 0; i < ctx->nr_vcpus; i++) {
		if (ctx->vcpus[i].started)
			pthread_join(ctx->vcpus[i].thread, NULL);
	}
}

/* ---- result and summary ---- */

static int run_result(struct run_ctx *ctx)
{
	if (ctx->ended) {
		if (ctx->reason[0])
			msg("%s", ctx->reason);
		return ctx->code;
	}
	if (sig_caught) {
		msg("interrupted by %s", sig_caught == SIGINT ? "SIGINT" : "SIGTERM");
		return RUN_EXIT_SIGNAL_BASE + sig_caught;
	}
	msg("all vCPUs halted without writing the exit device");
	return RUN_EXIT_HALTED;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void summary(const struct run_ctx *ctx, double seconds)
{
	struct hvabs_vcpu_stats sum = { { 0 }, 0, 0, 0 };
	char kinds[400] = "";
	size_t pos = 0;
	uint64_t total = 0, unserved = 0;

	for (unsigned int i = 0; i < ctx->nr_vcpus; i++) {
		struct hvabs_vcpu_stats s;

		hvabs_vcpu_stats_get(ctx->vcpus[i].vcpu, &s);
		for (unsigned int r = 0; r < HVABS_EXIT_REASON_MAX; r++)
			sum.exits[r] += s.exits[r];
		sum.dispatched += s.dispatched;
		sum.returned += s.returned;
		sum.irqs += s.irqs;
		unserved += ctx->vcpus[i].unserved;
	}
	for (unsigned int r = 0; r < HVABS_EXIT_REASON_MAX; r++) {
		total += sum.exits[r];
		if (!sum.exits[r] || pos >= sizeof(kinds))
			continue;
		pos += (size_t)snprintf(kinds + pos, sizeof(kinds) - pos, "%s%s %llu",
					pos ? ", " : "", hvabs_exit_reason_name(r),
					(unsigned long long)sum.exits[r]);
	}
	msg("backend %s, %s, %u vCPU%s, ran %.3f s", hvabs_vm_backend_name(ctx->vm),
	    arch_name(ctx->lay->arch), ctx->nr_vcpus, ctx->nr_vcpus == 1 ? "" : "s", seconds);
	msg("exits: %llu%s%s%s", (unsigned long long)total, total ? " (" : "", kinds,
	    total ? ")" : "");
	msg("accesses: %llu dispatched to handlers, %llu returned to hvabs-run (%llu unserved)",
	    (unsigned long long)sum.dispatched, (unsigned long long)sum.returned,
	    (unsigned long long)unserved);
	msg("interrupts injected: %llu; console: %llu bytes out, %llu in",
	    (unsigned long long)sum.irqs, (unsigned long long)ctx->dev.console.tx_bytes,
	    (unsigned long long)ctx->dev.console.rx_bytes);
}

/* ---- main flow ---- */

static int vm_run(struct run_ctx *ctx)
{
	struct timespec t0;
	int code;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	signals_install(ctx);
	threads_start(ctx);
	threads_join(ctx);
	signals_remove();
	run_console_flush(&ctx->dev.console);
	code = run_result(ctx);
	if (!ctx->opt->quiet)
		summary(ctx, elapsed(&t0));
	return code;
}

static int vm_create(struct run_ctx *ctx, const char *backend)
{
	struct hvabs_vm_options vo = HVABS_VM_OPTIONS_INIT;
	int ret;

	vo.backend = backend;
	vo.arch = ctx->lay->arch;
	vo.backend_config = ctx->opt->backend_config;
	/* No interrupt sources: without the in-kernel irqchip, x86 HLT returns to hvabs-run. */
	if (!vo.backend_config && !strcmp(backend, "kvm") && vo.arch == HVABS_ARCH_X86_64)
		vo.backend_config = "irqchip=off";
	ret = hvabs_vm_create(&ctx->vm, &vo);
	return ret ? hv_fail("create the VM", ret) : 0;
}

static int run(const struct run_options *o, const char *backend, const struct run_layout *lay,
	       const uint8_t *buf, const struct image_info *img)
{
	static struct run_ctx ctx; /* large; referenced by the signal handler */
	int code;

	ctx.opt = o;
	ctx.lay = lay;
	if (pthread_mutex_init(&ctx.lock, NULL) ||
	    run_devices_init(&ctx.dev, STDIN_FILENO, stdout)) {
		msg("cannot initialise a mutex");
		return RUN_EXIT_FAILURE;
	}
	code = vm_create(&ctx, backend);
	if (code)
		goto out_devices;
	code = vm_setup(&ctx, buf, img);
	if (!code)
		code = vm_run(&ctx);
	hvabs_vm_destroy(ctx.vm);
out_devices:
	run_console_flush(&ctx.dev.console);
	run_devices_fini(&ctx.dev);
	pthread_mutex_destroy(&ctx.lock);
	return code;
}

int main(int argc, char **argv)
{
	struct run_options opt;
	struct run_layout lay;
	struct image_info img;
	enum hvabs_arch arch;
	const char *backend;
	uint8_t *buf = NULL;
	size_t len = 0;
	int code = RUN_EXIT_USAGE;

	switch (run_options_parse(argc, argv, &opt, stdout, stderr)) {
	case RUN_PARSE_EXIT_OK:
		return 0;
	case RUN_PARSE_USAGE:
		return RUN_EXIT_USAGE;
	default:
		break;
	}
	if (read_image(opt.image, &buf, &len))
		return RUN_EXIT_USAGE;
	if (choose_arch(&opt, buf, len, &arch) || layout_init(&opt, arch, &lay))
		goto out_free;
	/* An explicit gunyah places RAM after the image (layout_gunyah()). */
	if (strcmp(opt.backend, "gunyah") && load_image(&opt, buf, len, &lay, &img))
		goto out_free;
	code = RUN_EXIT_FAILURE;
	if (backend_choose(&opt, arch, &backend))
		goto out_free;
	code = RUN_EXIT_USAGE;
	if (!strcmp(backend, "gunyah") && layout_gunyah(&opt, buf, len, &lay, &img))
		goto out_free;
	code = run(&opt, backend, &lay, buf, &img);
out_free:
	free(buf);
	return code;
}
