/* SPDX-License-Identifier: MIT */
/* fuzz/gunyah_emu/fuzz_gunyah_emu.c: the /dev/gunyah emulator's syscall surface (open, every ioctl on every fd kind) against a reference model of its errno table and object lifetimes. */
#include <hvabs.h>
#include <hvabs_gunyah_emu.h>

#include <libfdt.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../fuzz_input.h"

/*
 * One emulator per process (its seccomp filter stays), started in
 * LLVMFuzzerInitialize() with the ABI this binary was built for (FZ_ABI:
 * hvabs_fuzz_gunyah_emu_v10 / _v14). Each input is a short program of
 * operations (fz_run_op()): open the device, ioctls with real and random
 * 'G' numbers on device, VM, vCPU and host fds, close/dup, run-page
 * mmap/munmap, errno injection, guest program changes. Every result is
 * compared with a model of the emulator's documented rules
 * (docs/gunyah-emulator.md: errno table, order of checks, object
 * lifetimes); a mismatch abort()s. At the end of each input every fd it
 * opened is closed, and the emulated kernel's objects (stats), the host fd
 * count and hvabs_alloc_count() must be back where they were.
 *
 * Memory handed to the emulator is always the harness's own: pointer
 * fields are chosen from NULL, an unmapped page, a small buffer, a
 * page-aligned arena (guest RAM, surrounded by PROT_NONE guards so no range
 * can run into the fuzzer's memory), a read-only page, misaligned and
 * kernel addresses - never a random address.
 *
 * GH_VCPU_RUN: every vCPU id has a test guest (hvabs_gunyah_emu_set_guest)
 * that plays a short program of MMIO/memory accesses and then powers the VM
 * off, so a RUN always returns (an MMIO exit, a STATUS, or an errno);
 * immediate_exit is set by the input through the mapped run page.
 * Only ioctls of type 'G' are issued: the emulator's filter lets every
 * other ioctl through to the host kernel, which is not under test.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifndef FZ_ABI
#define FZ_ABI "v14"
#endif

static bool fz_v10;

static void fz_fail(int line, const char *what, long got, long want)
{
	fprintf(stderr, "fuzz_gunyah_emu(%s): line %d: %s: got %ld, model %ld\n", FZ_ABI, line,
		what, got, want);
	abort();
}

#define FZ_CHECK(cond)                                 \
	do {                                           \
		if (!(cond))                           \
			fz_fail(__LINE__, #cond, 0, 0); \
	} while (0)
#define FZ_EXPECT(got, want)                                                  \
	do {                                                                  \
		long _g = (got), _w = (want);                                 \
		if (_g != _w)                                                 \
			fz_fail(__LINE__, #got " == " #want, _g, _w);         \
	} while (0)

/* ---- the ABI, literally (gunyah-abi.md; not shared with the emulator) ---- */

#define GH_TYPE 0x47u
#define GH_IOC(dir, nr, size) \
	(((uint32_t)(dir) << 30) | ((uint32_t)(size) << 16) | (GH_TYPE << 8) | (uint32_t)(nr))
#define C_CREATE_VM 0x4700u
#define C_SET_REGION 0x40204701u
#define C_SET_DTB 0x40104702u
#define C_START 0x4703u
#define C_ADD_FN 0x40104704u
#define C_RUN 0x4705u
#define C_MMAP_SIZE 0x4706u
#define C_REMOVE_FN 0x40104707u

struct fz_region {
	uint32_t label, flags;
	uint64_t gpa, size, uaddr;
};
struct fz_dtbcfg {
	uint64_t gpa, size;
};
struct fz_desc {
	uint32_t type, arg_size;
	uint64_t arg;
};
struct fz_irqfd {
	uint32_t fd, label, flags, padding;
};
struct fz_ioevfd {
	uint64_t datamatch, addr;
	uint32_t len;
	int32_t fd;
	uint32_t flags, padding;
};
struct fz_run {
	uint8_t immediate_exit;
	uint8_t padding[7];
	uint32_t exit_reason;
	uint32_t pad2;
	union {
		struct {
			uint64_t phys_addr;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write, resume_action;
		} mmio;
		struct {
			uint32_t status;
			uint16_t type, reserved;
			uint32_t reason_size;
			uint8_t reason[8];
		} status;
	};
};
_Static_assert(sizeof(struct fz_region) == 32, "region");
_Static_assert(sizeof(struct fz_desc) == 16, "desc");
_Static_assert(sizeof(struct fz_ioevfd) == 32, "ioeventfd");
_Static_assert(sizeof(struct fz_run) == 40, "run");

/* ---- harness memory ---- */

#define FZ_GPA 0x80000000ull
#define FZ_ARENA_PAGES 16u
#define FZ_DTB_A_OFF 0u    /* page 0: cpus 0-2, bells 0 1 5, memory = the whole arena */
#define FZ_DTB_B_PAGE 1u   /* page 1: cpu 0, memory = page 0 */
#define FZ_ARG_PAGE 15u    /* arguments placed in the arena go here */
#define FZ_MMIO_BASE 0x9000000ull

static size_t g_page;
static uint8_t *g_resv;     /* [guard][arena][guard][ro][guard][hole x2][rw2][guard] */
static size_t g_resv_size;
static uint8_t *g_arena;
static size_t g_arena_size;
static uint8_t *g_ro;
static uint8_t *g_hole;
static uint8_t *g_rw2;      /* a second argument page (descriptors), a guard after it */
static uint8_t *g_pristine;
static uint8_t *g_small;    /* a harness buffer, 8-aligned, never page-aligned */
static uint32_t g_dtb_size[2];
static bool g_poked[2];     /* the input wrote into DTB A / B */
static int g_devnull = -1;
static int g_procfd = -1;

static const uint32_t g_dt_cpus[2][3] = { { 0, 1, 2 }, { 0 } };
static const uint32_t g_dt_nr_cpus[2] = { 3, 1 };
static const uint32_t g_dt_bells[3] = { 0, 1, 5 };

/* ---- the model ---- */

enum fz_kind { K_BAD, K_HOST, K_DEV, K_VM, K_VCPU, K_EVENTFD };

#define FZ_SLOTS 8
#define FZ_MAX_VMS 4
#define FZ_MAX_VCPUS 8
#define FZ_MAX_FNS 12
#define FZ_MAX_REGIONS 8

enum { ST_LOAD, ST_RUNNING, ST_INIT_FAILED };

struct m_fn {
	uint32_t type, arg_size;
	uint64_t arg_value;
	uint8_t arg[256];
	uint32_t label, flags, len;
	uint64_t addr, datamatch;
	int vcpu; /* model vCPU, or -1 */
	bool bound;
};

struct m_vm {
	bool alive;
	int handles;    /* harness fds of the VM file */
	int vcpu_files; /* vCPU files holding it */
	struct fz_region regions[FZ_MAX_REGIONS]; /* newest first, like the emulator */
	int nr_regions;
	struct fz_dtbcfg dtb;
	int state;   /* the emulator's state field */
	int stopped;  /* the guest powered the sim VM off: 1, 0, -1 = not known */
	bool sim;
	int dt;      /* devicetree read at start: 0 = A, 1 = B, -1 = not known */
	struct m_fn fns[FZ_MAX_FNS]; /* creation order */
	int nr_fns;
};

struct m_vcpu {
	bool alive;
	int vm;
	uint32_t id;
	bool has_fn;
	int handles;
	struct fz_run *map;
	bool file_open;
	int bound;    /* 1, 0, -1 = not known */
	uint8_t imm;  /* immediate_exit as the run page holds it */
	bool imm_known;
	bool mmio_pending;
};

struct fz_slot {
	int fd; /* -1: empty */
	enum fz_kind kind;
	int obj;
};

struct fz_state {
	struct fz_slot slot[FZ_SLOTS];
	struct m_vm vm[FZ_MAX_VMS];
	struct m_vcpu vcpu[FZ_MAX_VCPUS];
	int fault_left[9]; /* armed: calls until it fires, 0 none */
	int fault_err[9];
};

static struct fz_state S;

/* emu_op order (hvabs_gunyah_emu_fault_set names). */
enum { OP_OPEN, OP_CREATE_VM, OP_SET_REGION, OP_SET_DTB, OP_START, OP_ADD, OP_REMOVE, OP_RUN,
       OP_MMAP };
static const char *const g_op_names[9] = { "open",	      "create_vm",
					   "set_user_mem_region", "set_dtb_config",
					   "start",	      "add_function",
					   "remove_function",	      "vcpu_run",
					   "vcpu_mmap_size" };
/* Injected errnos: none of them is produced by a rule, so an injection is recognisable. */
static const int g_inject_errs[6] = { EIO, ENOSPC, EAGAIN, EPERM, EACCES, EBUSY };

/* A trapped call of @op: the injected errno if an armed fault fires now, else 0. */
static int m_op_enter(int op)
{
	if (S.fault_left[op] && --S.fault_left[op] == 0)
		return S.fault_err[op];
	return 0;
}

static int m_vm_fn_find_vcpu(struct m_vm *v, uint32_t id)
{
	for (int i = 0; i < v->nr_fns; i++)
		if (v->fns[i].type == 1 && v->fns[i].label == id)
			return i;
	return -1;
}

static void m_vcpu_maybe_free(int c)
{
	struct m_vcpu *mc = &S.vcpu[c];

	if (!mc->file_open && !mc->has_fn)
		mc->alive = false;
}

/* Remove function @i of @v (REMOVE or teardown): the kernel's unpopulate. */
static void m_fn_remove(struct m_vm *v, int i)
{
	struct m_fn *f = &v->fns[i];

	if (f->vcpu >= 0) {
		struct m_vcpu *c = &S.vcpu[f->vcpu];

		if (c->bound != 0 && v->state == ST_RUNNING) {
			/* Bound vCPUs get immediate_exit; unknown binding: unknown byte. */
			if (c->bound == 1) {
				c->imm = 1;
			} else {
				c->imm_known = false;
			}
		}
		c->bound = 0;
		c->has_fn = false;
		m_vcpu_maybe_free(f->vcpu);
	}
	memmove(&v->fns[i], &v->fns[i + 1], sizeof(v->fns[0]) * (size_t)(v->nr_fns - i - 1));
	v->nr_fns--;
}

static void m_vm_put(int vi)
{
	struct m_vm *v = &S.vm[vi];

	if (v->handles || v->vcpu_files)
		return;
	while (v->nr_fns)
		m_fn_remove(v, 0);
	v->alive = false;
	v->sim = false;
}

static void m_vcpu_file_check(int c)
{
	struct m_vcpu *mc = &S.vcpu[c];

	if (!mc->file_open || mc->handles || mc->map)
		return;
	mc->file_open = false;
	S.vm[mc->vm].vcpu_files--;
	m_vm_put(mc->vm);
	m_vcpu_maybe_free(c);
}

/* The region holding [gpa, gpa+len), as emu_vm_region_find(). */
static const struct fz_region *m_region_find(const struct m_vm *v, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < v->nr_regions; i++) {
		const struct fz_region *r = &v->regions[i];
		uint64_t base = r->gpa, end = base + r->size;

		if (gpa >= base && gpa <= end && len <= end - gpa)
			return r;
	}
	return NULL;
}

static bool m_in_dt_cpus(const struct m_vm *v, uint32_t id)
{
	for (uint32_t i = 0; v->dt >= 0 && i < g_dt_nr_cpus[v->dt]; i++)
		if (g_dt_cpus[v->dt][i] == id)
			return true;
	return false;
}

static bool m_in_dt_bells(const struct m_vm *v, uint32_t label)
{
	for (uint32_t i = 0; v->dt == 0 && i < 3; i++)
		if (g_dt_bells[i] == label)
			return true;
	return false;
}

/* Is the VM RUNNING as emu_vm_state() reports it: 1, 0, -1 = not known. */
static int m_vm_running(const struct m_vm *v)
{
	if (v->state != ST_RUNNING)
		return 0;
	return v->stopped < 0 ? -1 : !v->stopped;
}

/* ---- counting host fds without a trapped openat ---- */

static int fz_fd_count(void)
{
	char buf[8192];
	int n = 0;
	long got;

	if (lseek(g_procfd, 0, SEEK_SET) < 0)
		abort();
	while ((got = syscall(SYS_getdents64, g_procfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			uint16_t reclen;
			const char *name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (name[0] != '.')
				n++;
			off += reclen;
		}
	}
	FZ_CHECK(got == 0);
	return n;
}

/* ---- raw calls ---- */

static long fz_ioctl(uint64_t fd, uint64_t cmd, uint64_t arg)
{
	long r = syscall(SYS_ioctl, fd, cmd, arg);

	return r < 0 ? -errno : r;
}

/* ---- picks: every pointer the emulator sees is one of ours ---- */

enum { P_SMALL, P_MISALIGNED, P_ARENA, P_STRADDLE, P_NULL, P_HOLE, P_KERNEL, P_LOW, P_COUNT };

/*
 * Place @len bytes of @src where pick @sel says, in argument area @area
 * (0: the small buffer and the arena's last page; 1: the page g_rw2, for a
 * descriptor whose argument is in area 0); returns the address and whether
 * the emulator can read all @len bytes there.
 */
static uint64_t fz_place(uint8_t sel, const void *src, size_t len, bool *readable, int area)
{
	uint8_t *small = area ? g_rw2 + 64 : g_small;
	uint8_t *page = area ? g_rw2 : g_arena + FZ_ARG_PAGE * g_page;
	uint8_t *dst = NULL;
	size_t copy = len;
	uint64_t addr;

	switch (sel % P_COUNT) {
	case P_SMALL:
		dst = small;
		break;
	case P_MISALIGNED:
		dst = small + 1 + (sel >> 3) % 7;
		break;
	case P_ARENA:
		dst = page;
		break;
	case P_STRADDLE:
		/* Runs off the page's end into a guard page: a partial read. */
		if (len) {
			size_t in = (sel >> 3) % len;

			dst = page + g_page - in;
			copy = in;
		} else {
			dst = page + g_page;
			copy = 0;
		}
		break;
	case P_NULL:
		*readable = len == 0;
		return 0;
	case P_HOLE:
		*readable = len == 0;
		return (uint64_t)(uintptr_t)g_hole + (sel >> 3) * 8;
	case P_KERNEL:
		*readable = len == 0;
		return 0xffff800000000000ull + (uint64_t)(sel >> 3) * 0x1000;
	default:
		*readable = len == 0;
		return (uint64_t)(sel >> 3) * 0x100 + 0x10; /* below mmap_min_addr */
	}
	if (copy)
		memcpy(dst, src, copy);
	addr = (uint64_t)(uintptr_t)dst;
	*readable = copy == len;
	return addr;
}

/* Region host address: inside or around the arena, or elsewhere ours. */
static uint64_t fz_pick_uaddr(struct fz_in *in)
{
	uint8_t s = fz_u8(in);

	switch (s % 8) {
	case 0:
	case 1:
	case 2:
		return (uint64_t)(uintptr_t)g_arena + (uint64_t)((s >> 3) % FZ_ARENA_PAGES) * g_page;
	case 3: /* around: guard, read-only page, holes */
		return (uint64_t)(uintptr_t)g_arena +
		       ((int64_t)((s >> 3) % 8) - 1 + (((s >> 3) % 8) ? FZ_ARENA_PAGES : 0)) *
			       (int64_t)g_page;
	case 4:
		return (uint64_t)(uintptr_t)g_arena + 1 + (s >> 3);
	case 5:
		return (uint64_t)(uintptr_t)g_small;
	case 6:
		return (s & 0x80) ? 0xffff800000000000ull : 0;
	default:
		return (uint64_t)((s >> 3) % 15 + 1) * 0x1000; /* below mmap_min_addr */
	}
}

static uint64_t fz_pick_gpa(struct fz_in *in)
{
	uint8_t s = fz_u8(in);

	switch (s % 8) {
	case 0:
	case 1:
	case 2:
		return FZ_GPA + (uint64_t)((s >> 3) % FZ_ARENA_PAGES) * g_page;
	case 3:
		return FZ_GPA + ((uint64_t)fz_uN(in, 2) << 12);
	case 4:
		return (uint64_t)fz_uN(in, 8) & ~(uint64_t)(g_page - 1);
	case 5:
		return 0xfffffffffffff000ull - (uint64_t)((s >> 3) % 4) * g_page;
	case 6:
		return (s >> 3) * 8;
	default:
		return fz_uN(in, 8);
	}
}

static uint64_t fz_pick_size(struct fz_in *in)
{
	uint8_t s = fz_u8(in);

	switch (s % 6) {
	case 0:
	case 1:
		return (uint64_t)(1 + (s >> 3) % (FZ_ARENA_PAGES + 2)) * g_page;
	case 2:
		return g_arena_size;
	case 3:
		return 0;
	case 4:
		return (uint64_t)fz_uN(in, 8) & ~(uint64_t)(g_page - 1);
	default:
		return fz_uN(in, 8);
	}
}

/* An eventfd / fd field value: the input's eventfds, other fds, or bad numbers. */
static int64_t fz_pick_fd_field(struct fz_in *in, int *kind_out)
{
	uint8_t s = fz_u8(in);
	struct fz_slot *sl = &S.slot[(s >> 3) % FZ_SLOTS];

	switch (s % 6) {
	case 0:
	case 1:
	case 2:
		/* A slot: an eventfd if it holds one. */
		if (sl->fd < 0)
			break;
		*kind_out = sl->kind;
		return sl->fd;
	case 3:
		*kind_out = K_HOST;
		return g_devnull;
	case 4:
		*kind_out = K_BAD;
		return -1 - (int64_t)(s >> 7);
	default:
		break;
	}
	*kind_out = K_BAD;
	return 1 << 20;
}

/* The fd an ioctl goes to, and what the model says it is. */
struct fz_target {
	uint64_t fd;
	enum fz_kind kind;
	int obj;
};

static struct fz_target fz_pick_target(struct fz_in *in)
{
	uint8_t s = fz_u8(in);
	struct fz_target t = { (uint64_t)-1, K_BAD, -1 };

	if (s < 0xe0) {
		struct fz_slot *sl = &S.slot[s % FZ_SLOTS];

		if (sl->fd < 0) {
			t.fd = 1u << 20;
			return t;
		}
		t.fd = (uint64_t)sl->fd;
		t.kind = sl->kind == K_EVENTFD ? K_HOST : sl->kind;
		t.obj = sl->obj;
		/* The kernel takes an unsigned int: high bits must not matter. */
		if (s >= 0xc0)
			t.fd |= (uint64_t)(s & 7) << 32;
		return t;
	}
	if (s < 0xf0)
		return t; /* -1 */
	if (s < 0xf8) {
		t.fd = g_devnull;
		t.kind = K_HOST;
		return t;
	}
	t.fd = 1u << 20;
	return t;
}

/* ---- guest program (read by the test guests on emulator threads) ---- */

struct fz_step {
	uint8_t kind, a, b, c;
};

static struct fz_step g_prog[4];
static volatile uint8_t g_prog_n;
static volatile bool g_guest_wrote;

static const uint64_t g_mmio_addrs[4] = { FZ_MMIO_BASE, FZ_MMIO_BASE + 8, FZ_MMIO_BASE + 0x1000,
					  FZ_GPA + 0x100000000ull };

static void fz_guest(struct hvabs_gunyah_emu_guest *g, void *payload)
{
	uint8_t buf[16];
	uint64_t v;
	uint32_t label;

	(void)payload;
	for (uint8_t i = 0; i < g_prog_n && i < 4; i++) {
		struct fz_step s = g_prog[i];
		uint64_t addr = g_mmio_addrs[s.a % 4];
		uint32_t len = 1u << (s.b % 4);

		if (s.b & 0x80)
			len = 3; /* not an access size: faults without an exit */
		switch (s.kind % 7) {
		case 0:
			hvabs_gunyah_emu_guest_mmio_write(g, addr, len, 0x0101010101010101ull * s.c);
			break;
		case 1:
			hvabs_gunyah_emu_guest_mmio_read(g, addr, len, &v);
			break;
		case 2:
			memset(buf, s.c, sizeof(buf));
			g_guest_wrote = true; /* guest RAM is the arena: the devicetrees may change */
			hvabs_gunyah_emu_guest_mem_write(g, FZ_GPA + 2 * g_page + (uint64_t)s.a * 16,
							 buf, s.b % 16 + 1);
			break;
		case 3:
			hvabs_gunyah_emu_guest_mem_read(g, FZ_GPA + (uint64_t)s.a * 16, buf,
							s.b % 16 + 1);
			break;
		case 4:
			if (hvabs_gunyah_emu_guest_poll_irq(g, &label))
				hvabs_gunyah_emu_guest_eoi(g, label);
			break;
		case 5:
			hvabs_gunyah_emu_guest_yield(g);
			break;
		default:
			memset(buf, s.c, sizeof(buf));
			hvabs_gunyah_emu_guest_exit(g, s.a & 1, s.b, buf, s.c % 10);
		}
	}
}

/* ---- operations ---- */

static int fz_slot_free(void)
{
	for (int i = 0; i < FZ_SLOTS; i++)
		if (S.slot[i].fd < 0)
			return i;
	return -1;
}

/* A new fd from the emulator (device, VM, vCPU): keep it, or drop it if the harness is full. */
static void fz_slot_take(int fd, enum fz_kind kind, int obj)
{
	int i = fz_slot_free();

	FZ_CHECK(i >= 0);
	S.slot[i] = (struct fz_slot){ fd, kind, obj };
}

static int fz_vm_new(void)
{
	for (int i = 0; i < FZ_MAX_VMS; i++) {
		if (!S.vm[i].alive) {
			memset(&S.vm[i], 0, sizeof(S.vm[i]));
			S.vm[i].alive = true;
			S.vm[i].dt = -1;
			return i;
		}
	}
	return -1;
}

static int fz_vcpu_new(void)
{
	for (int i = 0; i < FZ_MAX_VCPUS; i++)
		if (!S.vcpu[i].alive)
			return i;
	return -1;
}

static void op_open(struct fz_in *in)
{
	uint8_t v = fz_u8(in);
	int flags = O_RDWR | ((v & 0x10) ? 0 : O_CLOEXEC);
	bool dev = true;
	int fd, err;

	if (fz_slot_free() < 0)
		return;
	switch (v % 4) {
	case 0:
		fd = open("/dev/gunyah", flags);
		break;
	case 1:
		fd = openat(g_devnull, "/dev/gunyah", flags); /* absolute: dirfd ignored */
		break;
	case 2:
		fd = open("/dev/gunyah/", flags); /* another path: the host's answer */
		dev = false;
		break;
	default:
		fd = openat(AT_FDCWD, "/dev/gunyahx", flags);
		dev = false;
		break;
	}
	err = fd < 0 ? errno : 0;
	if (!dev) {
		FZ_CHECK(fd < 0); /* no real /dev/gunyah here */
		return;
	}
	if (m_op_enter(OP_OPEN)) {
		FZ_EXPECT(-err, -S.fault_err[OP_OPEN]);
		return;
	}
	FZ_EXPECT(fd >= 0 ? 0 : -err, 0);
	FZ_EXPECT(fcntl(fd, F_GETFD) & FD_CLOEXEC, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
	fz_slot_take(fd, K_DEV, -1);
}

/* Wrong-kind answers (the errno table's first rows); 1 = the call is for this kind. */
static long m_wrong_fd(const struct fz_target *t, uint32_t cmd)
{
	switch (t->kind) {
	case K_BAD:
		return -EBADF;
	case K_HOST:
	case K_EVENTFD:
		return -ENOTTY;
	case K_DEV:
		return cmd == C_CREATE_VM ? 1 : -ENOTTY;
	case K_VM:
		return (cmd == C_SET_REGION || cmd == C_SET_DTB || cmd == C_START ||
			cmd == C_ADD_FN || cmd == C_REMOVE_FN)
			       ? 1
			       : -ENOTTY;
	default:
		return (cmd == C_RUN || cmd == C_MMAP_SIZE) ? 1 : -EINVAL;
	}
}

static void op_create_vm(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	uint8_t a = fz_u8(in);
	uint64_t arg = (a & 3) == 3 ? fz_uN(in, 8) : 0;
	long want = m_wrong_fd(&t, C_CREATE_VM), r;
	int inj, vi = -1;

	if (want == 1 && (fz_slot_free() < 0 || (vi = fz_vm_new()) < 0))
		return; /* the model is full: do not make it */
	r = fz_ioctl(t.fd, C_CREATE_VM, arg);
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	inj = m_op_enter(OP_CREATE_VM);
	if (inj) {
		S.vm[vi].alive = false;
		FZ_EXPECT(r, -inj);
		return;
	}
	if (arg) {
		S.vm[vi].alive = false;
		FZ_EXPECT(r, -EINVAL);
		return;
	}
	FZ_CHECK(r > 2);
	FZ_EXPECT(fcntl((int)r, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	S.vm[vi].handles = 1;
	fz_slot_take((int)r, K_VM, vi);
}

/*
 * [addr, addr+size) inside one of the harness's writable areas (the arena,
 * the page g_rw2; guards around both): pin_user_pages(FOLL_WRITE) succeeds.
 */
static bool m_writable(uint64_t addr, uint64_t size)
{
	uint64_t lo = (uint64_t)(uintptr_t)g_arena, hi = lo + g_arena_size;
	uint64_t lo2 = (uint64_t)(uintptr_t)g_rw2, hi2 = lo2 + g_page;

	if (addr + size < addr)
		return false;
	return (addr >= lo && addr + size <= hi) || (addr >= lo2 && addr + size <= hi2);
}

static long m_set_region(struct m_vm *v, const struct fz_region *r)
{
	uint64_t pm = g_page - 1;

	if ((r->flags & 8) && !fz_v10)
		return -EINVAL;
	if (r->flags & ~0xfu)
		return -EINVAL;
	if (!r->size) {
		if (!fz_v10)
			return -EINVAL;
		for (int i = 0; i < v->nr_regions; i++) {
			if (v->regions[i].label == r->label) {
				memmove(&v->regions[i], &v->regions[i + 1],
					sizeof(v->regions[0]) * (size_t)(v->nr_regions - i - 1));
				v->nr_regions--;
				break;
			}
		}
		return 0;
	}
	if ((r->size & pm) || (r->gpa & pm) || (r->uaddr & pm))
		return -EINVAL;
	if (r->gpa + r->size < r->gpa)
		return -EOVERFLOW;
	for (int i = 0; i < v->nr_regions; i++)
		if (v->regions[i].label == r->label)
			return -EEXIST;
	for (int i = 0; i < v->nr_regions; i++) {
		const struct fz_region *o = &v->regions[i];

		if (r->gpa < o->gpa + o->size && o->gpa < r->gpa + r->size)
			return -EEXIST;
	}
	if (!m_writable(r->uaddr, r->size))
		return -EFAULT;
	memmove(&v->regions[1], &v->regions[0], sizeof(v->regions[0]) * (size_t)v->nr_regions);
	v->regions[0] = *r;
	v->nr_regions++;
	return 0;
}

static void op_set_region(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	uint8_t ps = fz_u8(in), lf = fz_u8(in);
	struct fz_region r;
	bool readable;
	uint64_t arg;
	long want = m_wrong_fd(&t, C_SET_REGION), r2;
	int inj;

	r.label = (lf & 0x80) ? (uint32_t)fz_uN(in, 4) : lf % 4;
	r.flags = (lf & 0x40) ? (uint32_t)fz_uN(in, 4) : (uint32_t)(((lf >> 2) & 0xf) ^ 7);
	r.gpa = fz_pick_gpa(in);
	r.size = fz_pick_size(in);
	r.uaddr = fz_pick_uaddr(in);
	if (want == 1 && S.vm[t.obj].nr_regions >= FZ_MAX_REGIONS)
		return;
	arg = fz_place(ps, &r, sizeof(r), &readable, 0);
	r2 = fz_ioctl(t.fd, C_SET_REGION, arg);
	if (want != 1) {
		FZ_EXPECT(r2, want);
		return;
	}
	inj = m_op_enter(OP_SET_REGION);
	if (inj) {
		FZ_EXPECT(r2, -inj);
		return;
	}
	if (!readable) {
		FZ_EXPECT(r2, -EFAULT);
		return;
	}
	FZ_EXPECT(r2, m_set_region(&S.vm[t.obj], &r));
}

static void op_set_dtb(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	uint8_t ps = fz_u8(in), s = fz_u8(in);
	struct fz_dtbcfg c;
	bool readable;
	uint64_t arg;
	long want = m_wrong_fd(&t, C_SET_DTB), r;
	int inj;

	switch (s % 4) {
	case 0:
		c.gpa = FZ_GPA + FZ_DTB_A_OFF;
		c.size = g_dtb_size[0] + (s >> 2) % 4 * 0x40;
		break;
	case 1:
		c.gpa = FZ_GPA + FZ_DTB_B_PAGE * g_page;
		c.size = g_dtb_size[1] + (s >> 2) % 4 * 0x40;
		break;
	case 2:
		c.gpa = fz_pick_gpa(in);
		c.size = (s >> 2) * 8;
		break;
	default:
		c.gpa = fz_pick_gpa(in);
		c.size = fz_pick_size(in);
		break;
	}
	arg = fz_place(ps, &c, sizeof(c), &readable, 0);
	r = fz_ioctl(t.fd, C_SET_DTB, arg);
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	inj = m_op_enter(OP_SET_DTB);
	if (inj) {
		FZ_EXPECT(r, -inj);
		return;
	}
	if (!readable) {
		FZ_EXPECT(r, -EFAULT);
		return;
	}
	if (c.gpa + c.size < c.gpa && !fz_v10) {
		FZ_EXPECT(r, -EINVAL);
		return;
	}
	FZ_EXPECT(r, 0);
	S.vm[t.obj].dtb = c;
}

/* Which of the harness's devicetrees START will read, or -1 (anything else). */
static int m_start_dt(const struct m_vm *v, const struct fz_region *r)
{
	uint64_t host = r->uaddr + (v->dtb.gpa - r->gpa);

	for (int d = 0; d < 2; d++) {
		uint64_t at = (uint64_t)(uintptr_t)g_arena + (d ? FZ_DTB_B_PAGE * g_page : 0);

		if (host == at && !g_poked[d] && !g_guest_wrote && v->dtb.size >= g_dtb_size[d])
			return d;
	}
	return -1;
}

/* The memory node of devicetree @d lies in one region (RM step 2). */
static bool m_dt_memory_ok(const struct m_vm *v, int d)
{
	return m_region_find(v, FZ_GPA, d ? g_page : g_arena_size) != NULL;
}

/* A region the sim VM gets (some access bit) reaches past 2^48. */
static bool m_beyond_48_bits(const struct m_vm *v)
{
	const uint64_t limit = 1ull << 48;

	for (int i = 0; i < v->nr_regions; i++) {
		const struct fz_region *r = &v->regions[i];

		if ((r->flags & 7) && (r->gpa >= limit || r->size > limit - r->gpa))
			return true;
	}
	return false;
}

/* After a successful START (or one failed by injection after binding): bind. */
static void m_bind_all(struct m_vm *v)
{
	for (int i = 0; i < v->nr_fns; i++) {
		struct m_fn *f = &v->fns[i];

		if (f->type == 1) {
			struct m_vcpu *c = &S.vcpu[f->vcpu];

			c->bound = v->dt < 0 ? -1 : m_in_dt_cpus(v, f->label);
		}
		f->bound = v->dt >= 0 && f->type == 2 && m_in_dt_bells(v, f->label);
	}
}

static void op_start(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	uint64_t arg = fz_u8(in) == 0xff ? fz_uN(in, 8) : 0;
	long want = m_wrong_fd(&t, C_START), r;
	const struct fz_region *reg;
	struct m_vm *v;
	int inj;

	r = fz_ioctl(t.fd, C_START, arg);
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	v = &S.vm[t.obj];
	inj = m_op_enter(OP_START);
	if (v->state != ST_LOAD) {
		if (inj) {
			FZ_EXPECT(r, -inj);
		} else if (m_vm_running(v) < 0) {
			FZ_CHECK(r == 0 || r == -ENODEV);
			v->stopped = r != 0; /* learnt */
		} else {
			FZ_EXPECT(r, m_vm_running(v) ? 0 : -ENODEV);
		}
		return;
	}
	reg = m_region_find(v, v->dtb.gpa, v->dtb.size);
	if (!reg) {
		FZ_EXPECT(r, -EINVAL);
		v->state = ST_INIT_FAILED;
		return;
	}
	v->dt = m_start_dt(v, reg);
	if (v->dt >= 0 && !m_dt_memory_ok(v, v->dt)) {
		FZ_EXPECT(r, -EINVAL);
		v->state = ST_INIT_FAILED;
		return;
	}
	/*
	 * The sim VM gets the regions guests may access and boots at the base
	 * of the DTB's region: without access bits there the sim refuses
	 * (no memory / entry outside it), and that is the RM's -EINVAL.
	 */
	if (v->dt >= 0 && (reg->flags & 7) && m_beyond_48_bits(v)) {
		/*
		 * The sim's arm64 engine (the emulator's VM) holds guest memory
		 * below 2^48 only and refuses to start: HVABS_ENOTSUP, -EOPNOTSUPP.
		 */
		FZ_EXPECT(r, -EOPNOTSUPP);
	} else if (v->dt >= 0 && (reg->flags & 7)) {
		/* A devicetree the RM accepts: the sim VM starts (or the injection fails it). */
		FZ_EXPECT(r, inj ? -inj : 0);
	} else {
		/* The sim's 48-bit refusal may come before the RM's check of the DTB region. */
		FZ_CHECK(r == 0 || r == -EINVAL || (inj && r == -inj) ||
			 (r == -EOPNOTSUPP && m_beyond_48_bits(v)));
	}
	if (r == 0) {
		v->state = ST_RUNNING;
		v->sim = true;
		m_bind_all(v);
	} else if (inj && r == -inj) {
		v->state = ST_INIT_FAILED;
		v->sim = true; /* bound and configured, then refused: the sim VM stays */
		m_bind_all(v);
	} else {
		v->state = ST_INIT_FAILED;
	}
}

/* ---- functions ---- */

struct fz_fn_in {
	struct fz_desc d;
	uint8_t arg[256];
	bool desc_readable, arg_readable;
	int fd_kind;
	bool fd_eventfd_open;
};

static void fz_fn_decode(struct fz_in *in, struct fz_fn_in *f, uint64_t *desc_addr)
{
	uint8_t ps = fz_u8(in), ts = fz_u8(in), as = fz_u8(in);
	uint32_t type = ts % 4 == 0 ? (uint32_t)fz_uN(in, 4) : ts % 4;
	uint32_t size;

	memset(f, 0, sizeof(*f));
	switch (as % 4) {
	case 0: /* what the type takes in this ABI */
		size = type == 1 ? (fz_v10 ? 0 : 4) : type == 2 ? 16 : type == 3 ? 32 : 0;
		break;
	case 1:
		size = (as >> 2) % 40;
		break;
	case 2:
		size = 250 + (as >> 2) % 10; /* around the 256 limit */
		break;
	default:
		size = (uint32_t)fz_uN(in, 4);
		break;
	}
	f->d.type = type;
	f->d.arg_size = size;
	if (type == 1 && size == 4) {
		uint8_t s = fz_u8(in);
		uint32_t id = s < 0xf0 ? s % 5 : (uint32_t)fz_uN(in, 4);

		memcpy(f->arg, &id, 4);
	} else if (type == 2 && size >= 16) {
		struct fz_irqfd a;
		uint8_t s = fz_u8(in);
		int64_t fd = fz_pick_fd_field(in, &f->fd_kind);

		a.fd = (uint32_t)fd;
		a.label = s % 8 < 6 ? s % 8 : (uint32_t)fz_uN(in, 4);
		a.flags = (s & 0x80) ? (uint32_t)fz_uN(in, 4) : (s >> 3) & 1;
		a.padding = 0;
		memcpy(f->arg, &a, sizeof(a));
	} else if (type == 3 && size >= 32) {
		struct fz_ioevfd a;
		uint8_t s = fz_u8(in), l = fz_u8(in);
		int64_t fd = fz_pick_fd_field(in, &f->fd_kind);

		a.datamatch = (s & 0x40) ? fz_uN(in, 8) : (s >> 4) % 4;
		a.addr = s % 8 < 4 ? g_mmio_addrs[s % 4] : s % 8 == 4 ? ~0ull - l % 8 : fz_uN(in, 8);
		a.len = l % 8 < 5 ? (1u << (l % 8)) >> 1 : l % 8 == 5 ? 3 : (uint32_t)fz_uN(in, 4);
		a.fd = (int32_t)fd;
		a.flags = (l & 0x80) ? (uint32_t)fz_uN(in, 4) : (l >> 3) & 1;
		a.padding = 0;
		memcpy(f->arg, &a, sizeof(a));
	} else {
		for (uint32_t i = 0; i < size && i < 256; i++)
			f->arg[i] = fz_u8(in);
	}
	/* By-value argument (v10 vCPU) or the pointer to the argument. */
	if (size == 0) {
		uint8_t s = fz_u8(in);

		f->d.arg = s < 0xf0 ? s % 5 : fz_uN(in, 8);
		f->arg_readable = true;
	} else {
		f->d.arg = fz_place(ps, f->arg, size <= 256 ? size : 256, &f->arg_readable, 0);
		if (size > 256)
			f->arg_readable = false; /* not read: arg_size is refused first */
	}
	/* The descriptor: in the other argument area, mostly readable. */
	{
		uint8_t dsel = fz_u8(in);

		if (dsel & 0x80)
			dsel &= 0xf8; /* P_SMALL */
		*desc_addr = fz_place(dsel, &f->d, sizeof(f->d), &f->desc_readable, 1);
	}
}

/* What the emulator's eventfd lookup answers for the fd field: 0, -EBADF or -EINVAL. */
static long m_eventfd_check(int64_t fd, int kind)
{
	if (fd < 0 || kind == K_BAD)
		return -EBADF;
	return kind == K_EVENTFD ? 0 : -EINVAL;
}

static bool m_ioh_same(const struct m_fn *a, const struct m_fn *b)
{
	bool adm = a->flags & 1, bdm = b->flags & 1;

	if (a->addr != b->addr)
		return false;
	if ((a->len == 0) != (b->len == 0))
		return true;
	if (a->len != b->len)
		return false;
	if (fz_v10)
		return adm == bdm;
	if (adm != bdm)
		return true;
	return !adm || a->datamatch == b->datamatch;
}

/* Decode and check an ADD as the emulator does: 0 and *fn filled, or -errno. */
static long m_fn_check(struct m_vm *v, const struct fz_fn_in *f, struct m_fn *fn, bool add)
{
	memset(fn, 0, sizeof(*fn));
	fn->vcpu = -1;
	if (!f->desc_readable)
		return -EFAULT;
	if (f->d.arg_size > 256)
		return -EINVAL;
	fn->type = f->d.type;
	fn->arg_size = f->d.arg_size;
	if (f->d.arg_size == 0 && fz_v10)
		fn->arg_value = f->d.arg;
	else if (!f->arg_readable)
		return -EFAULT;
	else
		memcpy(fn->arg, f->arg, f->d.arg_size);
	if (!add)
		return 0;
	if (fn->type == 1) {
		if (fn->arg_size != (fz_v10 ? 0u : 4u))
			return -EINVAL;
		if (fz_v10)
			fn->label = (uint32_t)fn->arg_value;
		else
			memcpy(&fn->label, fn->arg, 4);
		return m_vm_fn_find_vcpu(v, fn->label) >= 0 ? -EEXIST : 0;
	}
	if (fn->type == 2) {
		struct fz_irqfd a;
		long e;

		if (fn->arg_size != 16)
			return -EINVAL;
		memcpy(&a, fn->arg, sizeof(a));
		if ((a.flags & ~1u) && !fz_v10)
			return -EINVAL;
		e = m_eventfd_check((int32_t)a.fd, f->fd_kind);
		if (e)
			return e;
		fn->label = a.label;
		fn->flags = a.flags;
		for (int i = 0; i < v->nr_fns; i++)
			if (v->fns[i].type == 2 && v->fns[i].label == a.label)
				return -EEXIST;
		return 0;
	}
	if (fn->type == 3) {
		struct fz_ioevfd a;
		long e;

		if (fn->arg_size != 32)
			return -EINVAL;
		memcpy(&a, fn->arg, sizeof(a));
		if ((a.flags & ~1u) && !fz_v10)
			return -EINVAL;
		if (a.len != 0 && a.len != 1 && a.len != 2 && a.len != 4 && a.len != 8)
			return -EINVAL;
		if ((a.flags & 1) && a.len == 0)
			return -EINVAL;
		if (a.addr + a.len < a.addr)
			return -EINVAL;
		e = m_eventfd_check(a.fd, f->fd_kind);
		if (e)
			return e;
		fn->addr = a.addr;
		fn->len = a.len;
		fn->flags = a.flags;
		fn->datamatch = a.datamatch;
		for (int i = 0; i < v->nr_fns; i++)
			if (v->fns[i].type == 3 && m_ioh_same(&v->fns[i], fn))
				return -EEXIST;
		return 0;
	}
	return -ENOENT;
}

static void op_add_fn(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	struct fz_fn_in f;
	struct m_fn fn;
	uint64_t desc;
	long want = m_wrong_fd(&t, C_ADD_FN), r, m;
	struct m_vm *v;
	int inj, ci = -1;

	fz_fn_decode(in, &f, &desc);
	if (want == 1 && (S.vm[t.obj].nr_fns >= FZ_MAX_FNS ||
			  (f.d.type == 1 && (fz_slot_free() < 0 || (ci = fz_vcpu_new()) < 0))))
		return;
	r = fz_ioctl(t.fd, C_ADD_FN, desc);
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	v = &S.vm[t.obj];
	inj = m_op_enter(OP_ADD);
	if (inj) {
		FZ_EXPECT(r, -inj);
		return;
	}
	m = m_fn_check(v, &f, &fn, true);
	if (m) {
		FZ_EXPECT(r, m);
		return;
	}
	if (fn.type == 1) {
		struct m_vcpu *c = &S.vcpu[ci];

		FZ_CHECK(r > 2);
		FZ_EXPECT(fcntl((int)r, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		memset(c, 0, sizeof(*c));
		c->alive = true;
		c->vm = t.obj;
		c->id = fn.label;
		c->has_fn = true;
		c->handles = 1;
		c->file_open = true;
		c->imm_known = true;
		c->bound = 0;
		/* Bound at once if the VM runs and its devicetree has the id. */
		if (v->sim && m_vm_running(v) > 0)
			c->bound = v->dt < 0 ? -1 : m_in_dt_cpus(v, fn.label);
		else if (v->sim && m_vm_running(v) < 0)
			c->bound = (v->dt < 0 || m_in_dt_cpus(v, fn.label)) ? -1 : 0;
		v->vcpu_files++;
		fn.vcpu = ci;
		fz_slot_take((int)r, K_VCPU, ci);
	} else {
		FZ_EXPECT(r, 0);
		fn.bound = v->sim && m_vm_running(v) > 0 && m_in_dt_bells(v, fn.label) &&
			   fn.type == 2;
	}
	v->fns[v->nr_fns++] = fn;
}

static bool m_fn_match(const struct m_fn *f, const struct m_fn *key)
{
	if (f->type != key->type)
		return false;
	if (fz_v10) {
		if (f->arg_size != key->arg_size)
			return false;
		if (!key->arg_size)
			return f->arg_value == key->arg_value;
		return !memcmp(f->arg, key->arg, key->arg_size);
	}
	switch (f->type) {
	case 1: {
		uint32_t id;

		if (key->arg_size != 4)
			return false;
		memcpy(&id, key->arg, 4);
		return id == f->label;
	}
	case 2: {
		struct fz_irqfd a;

		if (key->arg_size != 16)
			return false;
		memcpy(&a, key->arg, sizeof(a));
		return a.label == f->label;
	}
	default: {
		struct fz_ioevfd a;

		if (key->arg_size != 32)
			return false;
		memcpy(&a, key->arg, sizeof(a));
		if (a.addr != f->addr || a.len != f->len || a.flags != f->flags)
			return false;
		return !(a.flags & 1) || a.datamatch == f->datamatch;
	}
	}
}

static void op_remove_fn(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	struct fz_fn_in f;
	struct m_fn key;
	uint64_t desc;
	long want = m_wrong_fd(&t, C_REMOVE_FN), r, m;
	struct m_vm *v;
	bool found = false;
	int inj;

	fz_fn_decode(in, &f, &desc);
	r = fz_ioctl(t.fd, C_REMOVE_FN, desc);
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	v = &S.vm[t.obj];
	inj = m_op_enter(OP_REMOVE);
	if (inj) {
		FZ_EXPECT(r, -inj);
		return;
	}
	m = m_fn_check(v, &f, &key, false);
	if (m) {
		FZ_EXPECT(r, m);
		return;
	}
	for (int i = 0; i < v->nr_fns;) {
		if (m_fn_match(&v->fns[i], &key)) {
			m_fn_remove(v, i);
			found = true;
		} else {
			i++;
		}
	}
	FZ_EXPECT(r, found || fz_v10 ? 0 : -ENOENT);
}

/* ---- vCPU calls ---- */

static void op_run(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	uint8_t s = fz_u8(in);
	long want = m_wrong_fd(&t, C_RUN), r;
	struct m_vcpu *c = NULL;
	struct m_vm *v;
	int inj;

	if (want == 1) {
		c = &S.vcpu[t.obj];
		if (c->map) {
			/* The VMM's side of the run page: immediate_exit and read data. */
			c->map->immediate_exit = s & 1;
			c->imm = s & 1;
			c->imm_known = true;
			if (c->mmio_pending)
				memset(c->map->mmio.data, s, sizeof(c->map->mmio.data));
		}
	}
	r = fz_ioctl(t.fd, C_RUN, 0);
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	v = &S.vm[c->vm];
	inj = m_op_enter(OP_RUN);
	if (inj) {
		FZ_EXPECT(r, -inj);
		return;
	}
	if (!c->has_fn || c->bound == 0) {
		FZ_EXPECT(r, -ENODEV);
		return;
	}
	if (c->bound == -1) {
		FZ_CHECK(r == 0 || r == -ENODEV || r == -EINTR);
		if (r == -ENODEV) {
			c->bound = 0;
			return;
		}
		c->bound = 1;
	} else if (v->state == ST_INIT_FAILED) {
		FZ_EXPECT(r, 0);
		if (c->map) {
			FZ_EXPECT(c->map->exit_reason, 2);
			FZ_EXPECT(c->map->status.status, 1); /* LOAD_FAILED */
		}
		return;
	} else if (c->imm_known && c->imm) {
		FZ_EXPECT(r, -EINTR);
		return;
	} else if (!c->imm_known) {
		FZ_CHECK(r == 0 || r == -EINTR);
	} else {
		FZ_EXPECT(r, 0);
	}
	if (r != 0)
		return;
	c->mmio_pending = false;
	if (!c->map) {
		/* An exit we cannot see: it may have powered the VM off. */
		if (v->state == ST_RUNNING && v->stopped != 1)
			v->stopped = -1;
		c->mmio_pending = true;
		return;
	}
	if (v->state == ST_INIT_FAILED) {
		FZ_EXPECT(c->map->exit_reason, 2);
		FZ_EXPECT(c->map->status.status, 1);
		return;
	}
	if (c->map->exit_reason == 1) {
		uint32_t len = c->map->mmio.len;

		FZ_CHECK(v->stopped != 1);
		v->stopped = 0; /* the guest ran */
		FZ_CHECK(len == 1 || len == 2 || len == 4 || len == 8);
		FZ_CHECK(c->map->mmio.is_write <= 1);
		c->mmio_pending = !c->map->mmio.is_write;
	} else {
		FZ_EXPECT(c->map->exit_reason, 2);
		FZ_CHECK(c->map->status.status == 2 || c->map->status.status == 3);
		FZ_CHECK(c->map->status.reason_size <= 8);
		v->stopped = 1;
	}
}

static void op_mmap_size(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	long want = m_wrong_fd(&t, C_MMAP_SIZE), r;
	int inj;

	r = fz_ioctl(t.fd, C_MMAP_SIZE, fz_u8(in));
	if (want != 1) {
		FZ_EXPECT(r, want);
		return;
	}
	inj = m_op_enter(OP_MMAP);
	FZ_EXPECT(r, inj ? -inj : (long)g_page);
}

/* Any other 'G' ioctl: its direction, size and number at random. */
static void op_random_ioctl(struct fz_in *in)
{
	struct fz_target t = fz_pick_target(in);
	uint8_t a = fz_u8(in), b = fz_u8(in), ps = fz_u8(in);
	uint32_t nr = a < 0xc0 ? a % 16 : (uint32_t)fz_u8(in);
	uint32_t size = b < 0x80 ? (b % 4) * 8 + (b >> 2) % 9 : (uint32_t)fz_uN(in, 2) & 0x3fff;
	uint32_t cmd = GH_IOC(b >> 6, nr, size);
	uint64_t hi = (a & 0x10) ? (uint64_t)fz_u8(in) << 32 : 0;
	uint8_t junk[64];
	bool readable;
	uint64_t arg;

	if (cmd == C_CREATE_VM || cmd == C_SET_REGION || cmd == C_SET_DTB || cmd == C_START ||
	    cmd == C_ADD_FN || cmd == C_RUN || cmd == C_MMAP_SIZE || cmd == C_REMOVE_FN)
		cmd ^= 0x80; /* the real ones have their own operations */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = fz_u8(in);
	arg = (ps & 0x80) ? fz_uN(in, 8) & 0xfff : fz_place(ps, junk, sizeof(junk), &readable, 0);
	/* The kernel's cmd is an unsigned int: the high half of the register must not matter. */
	FZ_EXPECT(fz_ioctl(t.fd, cmd | hi, arg), m_wrong_fd(&t, cmd));
}

static void fz_release_slot(int i)
{
	struct fz_slot *sl = &S.slot[i];

	FZ_EXPECT(close(sl->fd), 0);
	if (sl->kind == K_VM) {
		S.vm[sl->obj].handles--;
		m_vm_put(sl->obj);
	} else if (sl->kind == K_VCPU) {
		S.vcpu[sl->obj].handles--;
		m_vcpu_file_check(sl->obj);
	}
	sl->fd = -1;
}

static void op_close(struct fz_in *in)
{
	int i = fz_u8(in) % FZ_SLOTS;

	if (S.slot[i].fd >= 0)
		fz_release_slot(i);
}

static void op_dup(struct fz_in *in)
{
	int i = fz_u8(in) % FZ_SLOTS, j = fz_slot_free(), fd;

	if (S.slot[i].fd < 0 || j < 0)
		return;
	fd = fcntl(S.slot[i].fd, F_DUPFD_CLOEXEC, 3);
	FZ_CHECK(fd >= 0);
	S.slot[j] = S.slot[i];
	S.slot[j].fd = fd;
	if (S.slot[i].kind == K_VM)
		S.vm[S.slot[i].obj].handles++;
	else if (S.slot[i].kind == K_VCPU)
		S.vcpu[S.slot[i].obj].handles++;
}

/* mmap the run page of a vCPU slot, or munmap it. */
static void op_map(struct fz_in *in)
{
	uint8_t s = fz_u8(in);
	struct fz_slot *sl = &S.slot[s % FZ_SLOTS];
	struct m_vcpu *c;
	void *p;

	if (sl->fd < 0 || sl->kind != K_VCPU)
		return;
	c = &S.vcpu[sl->obj];
	if (c->map) {
		if (s & 0x80) {
			FZ_EXPECT(munmap(c->map, g_page), 0);
			c->map = NULL;
			m_vcpu_file_check(sl->obj);
		}
		return;
	}
	p = mmap(NULL, g_page, PROT_READ | PROT_WRITE, MAP_SHARED, sl->fd, 0);
	FZ_CHECK(p != MAP_FAILED);
	c->map = p;
	/* The page shows what the emulator left there. */
	if (c->imm_known)
		FZ_EXPECT(c->map->immediate_exit, c->imm);
	c->imm = c->map->immediate_exit;
	c->imm_known = true;
}

static void op_fault(struct fz_in *in)
{
	uint8_t a = fz_u8(in), b = fz_u8(in);
	int op = a % 9, nth = 1 + (a >> 4) % 3, err = g_inject_errs[b % 6];

	FZ_EXPECT(hvabs_gunyah_emu_fault_set(g_op_names[op], (unsigned int)nth, err), 0);
	S.fault_left[op] = nth;
	S.fault_err[op] = err;
}

/* Overwrite arena bytes (guest RAM, devicetrees) before the emulator reads them. */
static void op_poke(struct fz_in *in)
{
	uint16_t off = (uint16_t)fz_uN(in, 2);
	uint8_t n = fz_u8(in) % 8 + 1;
	size_t at = (off & 0x8000) ? off % (2 * g_page) : off % (g_arena_size - 8);

	for (uint8_t i = 0; i < n; i++)
		g_arena[at + i] = fz_u8(in);
	if (at < g_dtb_size[0] + 8)
		g_poked[0] = true;
	if (at + n > FZ_DTB_B_PAGE * g_page && at < FZ_DTB_B_PAGE * g_page + g_dtb_size[1])
		g_poked[1] = true;
}

static void op_guest(struct fz_in *in)
{
	uint8_t n = fz_u8(in) % 5;

	for (uint8_t i = 0; i < n; i++) {
		g_prog[i].kind = fz_u8(in);
		g_prog[i].a = fz_u8(in);
		g_prog[i].b = fz_u8(in);
		g_prog[i].c = fz_u8(in);
	}
	g_prog_n = n;
}

static void op_eventfd(struct fz_in *in)
{
	uint8_t s = fz_u8(in);
	struct fz_slot *sl = &S.slot[s % FZ_SLOTS];
	int j, fd;

	if (sl->fd >= 0 && sl->kind == K_EVENTFD) {
		uint64_t one = 1;

		/* Ring it: an irqfd raises its doorbell in the sim VM. */
		FZ_EXPECT(write(sl->fd, &one, sizeof(one)), (long)sizeof(one));
		return;
	}
	j = fz_slot_free();
	if (j < 0)
		return;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	FZ_CHECK(fd >= 0);
	S.slot[j] = (struct fz_slot){ fd, K_EVENTFD, -1 };
}

/* The emulated kernel's objects now equal the model's. */
static void fz_check_stats(void)
{
	struct hvabs_gunyah_emu_stats st;
	uint32_t vms = 0, vcpus = 0, fns = 0, regions = 0, sims = 0;

	for (int i = 0; i < FZ_MAX_VMS; i++) {
		if (!S.vm[i].alive)
			continue;
		vms++;
		fns += (uint32_t)S.vm[i].nr_fns;
		regions += (uint32_t)S.vm[i].nr_regions;
		sims += S.vm[i].sim;
	}
	for (int i = 0; i < FZ_MAX_VCPUS; i++)
		vcpus += S.vcpu[i].alive;
	hvabs_gunyah_emu_sync();
	hvabs_gunyah_emu_stats(&st);
	FZ_EXPECT(st.vms, vms);
	FZ_EXPECT(st.vcpus, vcpus);
	FZ_EXPECT(st.functions, fns);
	FZ_EXPECT(st.regions, regions);
	FZ_EXPECT(st.sim_vms, sims);
}

enum {
	F_OPEN,
	F_CREATE_VM,
	F_SET_REGION,
	F_SET_DTB,
	F_START,
	F_ADD_FN,
	F_REMOVE_FN,
	F_RUN,
	F_MMAP_SIZE,
	F_RANDOM,
	F_CLOSE,
	F_DUP,
	F_MAP,
	F_FAULT,
	F_POKE,
	F_GUEST,
	F_EVENTFD,
	F_CHECK,
	F_COUNT
};

static void fz_run_op(uint8_t op, struct fz_in *in)
{
	switch (op % F_COUNT) {
	case F_OPEN:
		op_open(in);
		break;
	case F_CREATE_VM:
		op_create_vm(in);
		break;
	case F_SET_REGION:
		op_set_region(in);
		break;
	case F_SET_DTB:
		op_set_dtb(in);
		break;
	case F_START:
		op_start(in);
		break;
	case F_ADD_FN:
		op_add_fn(in);
		break;
	case F_REMOVE_FN:
		op_remove_fn(in);
		break;
	case F_RUN:
		op_run(in);
		break;
	case F_MMAP_SIZE:
		op_mmap_size(in);
		break;
	case F_RANDOM:
		op_random_ioctl(in);
		break;
	case F_CLOSE:
		op_close(in);
		break;
	case F_DUP:
		op_dup(in);
		break;
	case F_MAP:
		op_map(in);
		break;
	case F_FAULT:
		op_fault(in);
		break;
	case F_POKE:
		op_poke(in);
		break;
	case F_GUEST:
		op_guest(in);
		break;
	case F_EVENTFD:
		op_eventfd(in);
		break;
	default:
		fz_check_stats();
		break;
	}
}

/*
 * libFuzzer's -timeout alarm has no SA_RESTART: landing on a thread blocked
 * in a trapped call it ends that call with EINTR (the kernel's
 * -ERESTARTSYS), which would make inputs non-deterministic. So the main
 * thread (and the emulator's threads it creates) block SIGALRM; it goes to
 * this thread, created before the emulator (its calls are never trapped),
 * where libFuzzer ignores it (not the fuzzing thread). This thread is the
 * hang detector instead: an input running FZ_HANG_SECONDS abort()s, and
 * libFuzzer's crash handler saves it.
 */
#define FZ_HANG_SECONDS 20

static _Atomic int64_t g_input_start_ns; /* 0: between inputs */

static int64_t fz_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *fz_watchdog_main(void *arg)
{
	(void)arg;
	for (;;) {
		int64_t t0;

		sleep(1);
		t0 = atomic_load(&g_input_start_ns);
		if (t0 && fz_now_ns() - t0 > (int64_t)FZ_HANG_SECONDS * 1000000000) {
			fprintf(stderr, "fuzz_gunyah_emu: an input ran %d s: hang\n",
				FZ_HANG_SECONDS);
			abort();
		}
	}
	return NULL;
}

static void fz_alarm_divert(void)
{
	pthread_t t;
	sigset_t set;

	if (pthread_create(&t, NULL, fz_watchdog_main, NULL))
		abort();
	pthread_detach(t);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		abort();
}

#define FZ_MAX_OPS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	int fds0 = fz_fd_count();
	size_t allocs0 = hvabs_alloc_count();

	atomic_store(&g_input_start_ns, fz_now_ns());

	memset(&S, 0, sizeof(S));
	for (int i = 0; i < FZ_SLOTS; i++)
		S.slot[i].fd = -1;
	memcpy(g_arena, g_pristine, g_arena_size);
	g_poked[0] = g_poked[1] = false;
	g_guest_wrote = false;
	/* Default guest: one MMIO write, one MMIO read, then power off. */
	g_prog[0] = (struct fz_step){ 0, 0, 2, 0x11 };
	g_prog[1] = (struct fz_step){ 1, 1, 2, 0 };
	g_prog_n = 2;

	for (int n = 0; n < FZ_MAX_OPS && in.n; n++)
		fz_run_op(fz_u8(&in), &in);

	/* Teardown: everything this input opened goes, and the kernel forgets it all. */
	for (int i = 0; i < FZ_MAX_VCPUS; i++) {
		if (S.vcpu[i].map) {
			FZ_EXPECT(munmap(S.vcpu[i].map, g_page), 0);
			S.vcpu[i].map = NULL;
			m_vcpu_file_check(i);
		}
	}
	for (int i = 0; i < FZ_SLOTS; i++)
		if (S.slot[i].fd >= 0)
			fz_release_slot(i);
	hvabs_gunyah_emu_fault_clear();
	fz_check_stats();
	FZ_EXPECT(fz_fd_count(), fds0);
	FZ_EXPECT((long)hvabs_alloc_count(), (long)allocs0);
	atomic_store(&g_input_start_ns, 0);
	return 0;
}

/* ---- start-up ---- */

static int fz_dt_build(void *buf, size_t cap, int which)
{
	int e = fdt_create(buf, (int)cap);

	e = e ?: fdt_finish_reservemap(buf);
	e = e ?: fdt_begin_node(buf, "");
	e = e ?: fdt_property_u32(buf, "#address-cells", 2);
	e = e ?: fdt_property_u32(buf, "#size-cells", 2);
	e = e ?: fdt_begin_node(buf, "cpus");
	for (uint32_t i = 0; i < g_dt_nr_cpus[which]; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cpu@%x", g_dt_cpus[which][i]);
		e = e ?: fdt_begin_node(buf, name);
		e = e ?: fdt_property_string(buf, "device_type", "cpu");
		e = e ?: fdt_property_u32(buf, "reg", g_dt_cpus[which][i]);
		e = e ?: fdt_end_node(buf);
	}
	e = e ?: fdt_end_node(buf);
	e = e ?: fdt_begin_node(buf, "gunyah-vm-config");
	e = e ?: fdt_property_string(buf, "image-name", "fuzz");
	e = e ?: fdt_property_string(buf, "os-type", "linux");
	e = e ?: fdt_begin_node(buf, "memory");
	e = e ?: fdt_property_u64(buf, "base-address", FZ_GPA);
	e = e ?: fdt_property_u64(buf, "size-min", which ? g_page : g_arena_size);
	e = e ?: fdt_end_node(buf);
	e = e ?: fdt_begin_node(buf, "vcpus");
	e = e ?: fdt_property_string(buf, "affinity", "proxy");
	e = e ?: fdt_end_node(buf);
	if (which == 0) {
		e = e ?: fdt_begin_node(buf, "vdevices");
		for (int i = 0; i < 3; i++) {
			char name[16];

			snprintf(name, sizeof(name), "bell-%x", g_dt_bells[i]);
			e = e ?: fdt_begin_node(buf, name);
			e = e ?: fdt_property_string(buf, "vdevice-type", "doorbell");
			e = e ?: fdt_property_u32(buf, "label", g_dt_bells[i]);
			e = e ?: fdt_end_node(buf);
		}
		e = e ?: fdt_end_node(buf);
	}
	e = e ?: fdt_end_node(buf);
	e = e ?: fdt_end_node(buf);
	e = e ?: fdt_finish(buf);
	return e ? e : (int)fdt_totalsize(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	static uint8_t small[4096 + 128] __attribute__((aligned(4096)));
	int ret;

	(void)argc;
	(void)argv;
	fz_alarm_divert();
	fz_v10 = !strcmp(FZ_ABI, "v10");
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	g_arena_size = FZ_ARENA_PAGES * g_page;
	/* [guard][arena][guard][ro][guard][hole][hole][rw2][guard] */
	g_resv_size = g_arena_size + 8 * g_page;
	g_resv = mmap(NULL, g_resv_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_resv == MAP_FAILED)
		abort();
	g_arena = g_resv + g_page;
	g_ro = g_arena + g_arena_size + g_page;
	g_hole = g_ro + 2 * g_page;
	g_rw2 = g_hole + 2 * g_page;
	if (mprotect(g_arena, g_arena_size, PROT_READ | PROT_WRITE) ||
	    mprotect(g_ro, g_page, PROT_READ) || mprotect(g_rw2, g_page, PROT_READ | PROT_WRITE))
		abort();
	g_small = small + 64;
	for (int d = 0; d < 2; d++) {
		uint8_t *at = g_arena + (d ? FZ_DTB_B_PAGE * g_page : FZ_DTB_A_OFF);
		int n = fz_dt_build(at, g_page, d);

		if (n <= 0)
			abort();
		g_dtb_size[d] = (uint32_t)n;
	}
	g_pristine = malloc(g_arena_size);
	if (!g_pristine)
		abort();
	memcpy(g_pristine, g_arena, g_arena_size);
	g_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	g_procfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_devnull < 0 || g_procfd < 0)
		abort();

	cfg.abi = FZ_ABI;
	cfg.log = getenv("HVABS_GUNYAH_EMU_LOG") != NULL;
	ret = hvabs_gunyah_emu_start(&cfg);
	if (ret) {
		fprintf(stderr, "fuzz_gunyah_emu: emulator start failed: %s\n",
			hvabs_err_name(ret));
		abort();
	}
	for (uint32_t id = 0; id < 64; id++)
		if (hvabs_gunyah_emu_set_guest(id, fz_guest, NULL))
			abort();
	return 0;
}
