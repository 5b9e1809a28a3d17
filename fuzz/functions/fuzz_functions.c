/* SPDX-License-Identifier: MIT */
/* fuzz/functions/fuzz_functions.c: function add/remove, the type registry and VM state changes on a sim VM, checked against a reference model. */
/*
 * Each input is decoded into a sequence of operations on one sim VM:
 * adding and removing vCPU, irqfd, ioeventfd and user-type functions (typed
 * helpers or raw descriptors with any arg_size 0..300), registering and
 * unregistering user types, adding the memory region, starting, stopping
 * (the internal hvabs__vm_set_stopped()) and destroying the VM. A model
 * that knows the documented rules (include/hvabs/function.h, docs/api.md)
 * predicts every return code; any disagreement aborts. Where several rules
 * are broken at once and the order of checks is not documented, any of
 * their codes is accepted. After every operation the VM's state, reference
 * count, IO handler count and the user types' live instances are checked;
 * after the input the VM is destroyed, the types unregistered and
 * hvabs_alloc_count() must be back at its starting value. No vCPU runs: the
 * only thread ever created is sim's irqfd thread (irqfds armed by a start).
 */
#include "internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_FAIL(...)                                                                 \
	do {                                                                         \
		fprintf(stderr, "fuzz_functions:%d: ", __LINE__);                    \
		fprintf(stderr, __VA_ARGS__);                                        \
		fprintf(stderr, " (op %u, last error %s: %s)\n", fz_opno,            \
			hvabs_err_name(hvabs_error_last()->code),                    \
			hvabs_error_last()->message);                                \
		abort();                                                             \
	} while (0)

#define FZ_CHECK(cond, ...)                                                          \
	do {                                                                         \
		if (!(cond))                                                         \
			FZ_FAIL(__VA_ARGS__);                                        \
	} while (0)

static unsigned int fz_opno;

/* ---- expected codes: bit -code of a mask; mask 0 means success ---- */

#define C(code) (1u << (unsigned int)-(code))

static const char *fz_mask_str(unsigned int mask)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	if (!mask)
		return "0";
	for (int c = 1; c < 32; c++)
		if (mask & (1u << c))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "|" : "",
						hvabs_err_name(-c));
	return buf;
}

static bool fz_trace; /* $FZ_TRACE: print every checked call (for reading a crash input) */

/* The call's result must be success (mask 0) or one of the codes in @mask. */
static void fz_expect(int rc, unsigned int mask, const char *what)
{
	if (fz_trace)
		fprintf(stderr, "op %u: %s -> %s (model %s)\n", fz_opno, what,
			rc ? hvabs_err_name(rc) : "0", fz_mask_str(mask));
	if (!mask) {
		FZ_CHECK(rc == 0, "%s: got %s, model expects success", what, hvabs_err_name(rc));
		return;
	}
	FZ_CHECK(rc < 0 && rc > -32 && (mask & C(rc)), "%s: got %s (%d), model expects %s", what,
		 rc ? hvabs_err_name(rc) : "success", rc, fz_mask_str(mask));
	FZ_CHECK(hvabs_error_last()->code == rc, "%s: error detail code %d != %d", what,
		 hvabs_error_last()->code, rc);
}

/* A bind/populate result chosen by the input: one of the HVABS_E* codes. */
static int fz_code(uint8_t b)
{
	return -(int)(b % 13) - 1;
}

/* ---- fds: a pool of eventfds and invalid choices, made once ---- */

enum { FD_EFD0, FD_EFD1, FD_EFD2, FD_EFD3, FD_NEG, FD_CLOSED, FD_PIPE, FD_NULLDEV, FD_NCHOICES };

static int fz_fds[FD_NCHOICES];

static void fz_fds_init(void)
{
	int p[2];

	for (int i = FD_EFD0; i <= FD_EFD3; i++)
		fz_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fz_fds[FD_NEG] = -1;
	/* Descriptors are allocated lowest first: this number stays closed. */
	fz_fds[FD_CLOSED] = 4000;
	if (pipe2(p, O_CLOEXEC))
		abort();
	fz_fds[FD_PIPE] = p[0];
	fz_fds[FD_NULLDEV] = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < FD_NCHOICES; i++)
		if (i != FD_NEG && i != FD_CLOSED && fz_fds[i] < 0)
			abort();
	if (fcntl(fz_fds[FD_CLOSED], F_GETFD) >= 0)
		abort();
}

static bool fz_fd_is_eventfd(int fd)
{
	for (int i = FD_EFD0; i <= FD_EFD3; i++)
		if (fz_fds[i] == fd)
			return true;
	return false;
}

/* ---- user types ---- */

/*
 * U1: compare NULL (byte equality). Its argument steers bind when it has
 * at least 16 bytes: a[0] 0xFB fails bind with fz_code(a[1]); 0xFC claims a
 * ticket (type a[1] % 3: BELL_RX, BELL_TX, VCPU; label a[4..7]) whose
 * populate returns fz_code(a[2]) when a[2] is non-zero; 0xFD adds an MMIO
 * write handler at a[8..15] (size 1, width 4 if a[2] is odd, else any).
 * U2: compare on the first 4 bytes (when both sides have them), else bytes.
 * U3: registered by REG_CUSTOM ops only; plain, compare NULL.
 */
#define FZ_U1 0x1001u
#define FZ_U2 0x1002u
#define FZ_U3 0x1003u
#define FZ_UNREG_USER 0x1004u /* never registered */

#define MODE_FAIL 0xFB
#define MODE_TICKET 0xFC
#define MODE_HANDLER 0xFD

#define FZ_MAGIC 0x5eedf00du

struct uinst {
	uint32_t magic;
	uint32_t type;
	struct hvabs_ticket *ticket;
	struct hvabs_io_handler *handler;
};

static long fz_live[3]; /* U1, U2, U3 instances bound and not unbound */

static int fz_utype_index(uint32_t type)
{
	return type == FZ_U1 ? 0 : type == FZ_U2 ? 1 : 2;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int u_populate(struct hvabs_ticket *t, const struct hvabs_resource *res, void *payload)
{
	(void)t;
	(void)res;
	return (int)(intptr_t)payload;
}

static void u_unpopulate(struct hvabs_ticket *t, const struct hvabs_resource *res, void *payload)
{
	(void)t;
	(void)res;
	(void)payload;
}

static int u_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
		   void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)data, (void)payload;
	return 0;
}

static int u_bind(struct hvabs_function *fn)
{
	uint32_t size;
	const uint8_t *a = hvabs_function_arg(fn, &size);
	uint32_t type = hvabs_function_type_id(fn);
	struct uinst *ui;
	int ret;

	if (type == FZ_U1 && size >= 16 && a[0] == MODE_FAIL)
		return fz_code(a[1]);
	ui = calloc(1, sizeof(*ui));
	if (!ui)
		abort();
	ui->magic = FZ_MAGIC;
	ui->type = type;
	if (type == FZ_U1 && size >= 16 && a[0] == MODE_TICKET) {
		static const enum hvabs_resource_type types[3] = {
			HVABS_RESOURCE_BELL_RX, HVABS_RESOURCE_BELL_TX, HVABS_RESOURCE_VCPU
		};
		struct hvabs_ticket_desc td = { HVABS_TICKET_DESC_VERSION, types[a[1] % 3], le32(a + 4),
						u_populate, u_unpopulate,
						(void *)(intptr_t)(a[2] ? fz_code(a[2]) : 0) };

		ret = hvabs_vm_ticket_add(&ui->ticket, hvabs_function_vm(fn), &td);
		if (ret) {
			free(ui);
			return ret;
		}
	} else if (type == FZ_U1 && size >= 16 && a[0] == MODE_HANDLER) {
		struct hvabs_io_desc d = { .version = HVABS_IO_DESC_VERSION,
					   .space = HVABS_SPACE_MMIO,
					   .addr = le64(a + 8),
					   .size = 1,
					   .len = (a[2] & 1) ? 4 : 0,
					   .write = u_write };

		ret = hvabs_vm_io_handler_add(&ui->handler, hvabs_function_vm(fn), &d);
		if (ret) {
			free(ui);
			return ret;
		}
	}
	hvabs_function_set_data(fn, ui);
	fz_live[fz_utype_index(type)]++;
	return 0;
}

static void u_unbind(struct hvabs_function *fn)
{
	struct uinst *ui = hvabs_function_data(fn);

	if (!ui || ui->magic != FZ_MAGIC || ui->type != hvabs_function_type_id(fn))
		abort();
	if (ui->ticket)
		hvabs_ticket_remove(ui->ticket);
	if (ui->handler)
		hvabs_io_handler_remove(ui->handler);
	ui->magic = 0;
	fz_live[fz_utype_index(ui->type)]--;
	free(ui);
}

static bool u2_compare(const struct hvabs_function *fn, const void *arg, uint32_t size)
{
	uint32_t mine;
	const uint8_t *m = hvabs_function_arg(fn, &mine);

	if (size >= 4 && mine >= 4)
		return memcmp(m, arg, 4) == 0;
	return size == mine && (size == 0 || memcmp(m, arg, size) == 0);
}

static const struct hvabs_function_type fz_u1_ops = {
	HVABS_FUNCTION_TYPE_VERSION, FZ_U1, "fz-u1", u_bind, u_unbind, NULL, NULL
};
static const struct hvabs_function_type fz_u2_ops = {
	HVABS_FUNCTION_TYPE_VERSION, FZ_U2, "fz-u2", u_bind, u_unbind, u2_compare, NULL
};
static const struct hvabs_function_type fz_u3_ops = {
	HVABS_FUNCTION_TYPE_VERSION, FZ_U3, "fz-u3", u_bind, u_unbind, NULL, NULL
};

/* ---- the model ---- */

#define MAX_INST 96
#define MAX_RES 256

struct inst {
	uint32_t type;
	uint32_t size;
	struct hvabs_function *fn;
	_Alignas(8) uint8_t arg[HVABS_FN_MAX_ARG_SIZE];
};

struct res {
	uint32_t type;
	uint32_t label;
};

/* A claim on a (type, label) ticket or an IO handler slot, derived from an instance. */
struct claim {
	bool ticket;
	uint32_t ttype, tlabel;
	int populate; /* code a ticket's populate returns */
	bool handler;
	uint32_t space;
	uint64_t addr;
	uint32_t len;
	bool dm;
	uint64_t data;
	int irq_fd; /* irqfd: the fd armed while the VM runs, else -1 */
};

static struct model {
	struct hvabs_vm *vm;
	enum hvabs_vm_state state;
	bool extra_ref; /* hvabs_vm_get() taken before a DESTROY op */
	bool region;
	uint32_t nr_vcpus;
	bool reg[3]; /* U1, U2, U3 registered */
	struct inst inst[MAX_INST];
	unsigned int n;
	struct res res[MAX_RES]; /* resources the VM has (after start) */
	unsigned int nres;
} M;

static bool builtin(uint32_t type)
{
	return type == HVABS_FN_VCPU || type == HVABS_FN_IRQFD || type == HVABS_FN_IOEVENTFD;
}

static uint32_t builtin_size(uint32_t type)
{
	switch (type) {
	case HVABS_FN_VCPU:
		return sizeof(struct hvabs_fn_vcpu_arg);
	case HVABS_FN_IRQFD:
		return sizeof(struct hvabs_fn_irqfd_arg);
	case HVABS_FN_IOEVENTFD:
		return sizeof(struct hvabs_fn_ioeventfd_arg);
	default:
		return 0;
	}
}

static bool type_known(uint32_t type)
{
	if (builtin(type))
		return true;
	if (type == FZ_U1 || type == FZ_U2 || type == FZ_U3)
		return M.reg[fz_utype_index(type)];
	return false;
}

static bool functional(void)
{
	return M.state == HVABS_VM_LOAD || M.state == HVABS_VM_READY ||
	       M.state == HVABS_VM_RUNNING;
}

static void claim_of(const struct inst *in, struct claim *c)
{
	memset(c, 0, sizeof(*c));
	c->irq_fd = -1;
	if (in->type == HVABS_FN_VCPU) {
		struct hvabs_fn_vcpu_arg a;

		memcpy(&a, in->arg, sizeof(a));
		c->ticket = true;
		c->ttype = HVABS_RESOURCE_VCPU;
		c->tlabel = a.id;
	} else if (in->type == HVABS_FN_IRQFD) {
		struct hvabs_fn_irqfd_arg a;

		memcpy(&a, in->arg, sizeof(a));
		c->ticket = true;
		c->ttype = HVABS_RESOURCE_BELL_TX;
		c->tlabel = a.label;
		c->irq_fd = a.fd;
	} else if (in->type == HVABS_FN_IOEVENTFD) {
		struct hvabs_fn_ioeventfd_arg a;

		memcpy(&a, in->arg, sizeof(a));
		c->handler = true;
		c->space = a.space;
		c->addr = a.addr;
		c->len = a.len;
		c->dm = a.flags & HVABS_IOEVENTFD_DATAMATCH;
		c->data = c->dm ? a.datamatch : 0;
	} else if (in->type == FZ_U1 && in->size >= 16) {
		const uint8_t *a = in->arg;

		if (a[0] == MODE_TICKET) {
			static const uint32_t types[3] = { HVABS_RESOURCE_BELL_RX, HVABS_RESOURCE_BELL_TX,
							   HVABS_RESOURCE_VCPU };
			c->ticket = true;
			c->ttype = types[a[1] % 3];
			c->tlabel = le32(a + 4);
			c->populate = a[2] ? fz_code(a[2]) : 0;
		} else if (a[0] == MODE_HANDLER) {
			c->handler = true;
			c->space = HVABS_SPACE_MMIO;
			c->addr = le64(a + 8);
			c->len = (a[2] & 1) ? 4 : 0;
		}
	}
}

static bool ticket_claimed(uint32_t ttype, uint32_t label)
{
	for (unsigned int i = 0; i < M.n; i++) {
		struct claim c;

		claim_of(&M.inst[i], &c);
		if (c.ticket && c.ttype == ttype && c.tlabel == label)
			return true;
	}
	return false;
}

/* io.h: two size-1 handlers collide at one address unless they can never serve one access. */
static bool handler_collides(const struct claim *h)
{
	for (unsigned int i = 0; i < M.n; i++) {
		struct claim c;

		claim_of(&M.inst[i], &c);
		if (!c.handler || c.space != h->space || c.addr != h->addr)
			continue;
		if (c.len && h->len && c.len != h->len)
			continue;
		if (c.dm && h->dm && c.data != h->data)
			continue;
		return true;
	}
	return false;
}

static bool irq_fd_armed(int fd)
{
	if (M.state != HVABS_VM_RUNNING)
		return false;
	for (unsigned int i = 0; i < M.n; i++) {
		struct claim c;

		claim_of(&M.inst[i], &c);
		if (c.irq_fd >= 0 && c.irq_fd == fd)
			return true;
	}
	return false;
}

static bool res_has(uint32_t type, uint32_t label)
{
	for (unsigned int i = 0; i < M.nres; i++)
		if (M.res[i].type == type && M.res[i].label == label)
			return true;
	return false;
}

static void res_add(uint32_t type, uint32_t label)
{
	if (res_has(type, label))
		return;
	if (M.nres == MAX_RES)
		abort(); /* the op count bounds resources */
	M.res[M.nres++] = (struct res){ type, label };
}

/* sim creates every doorbell; a vCPU resource only at start (see sim_vcpu_resource_exists). */
static bool res_creatable_running(uint32_t type, uint32_t label)
{
	if (type != HVABS_RESOURCE_VCPU)
		return true;
	return label < 64 && M.nr_vcpus && label < M.nr_vcpus;
}

/*
 * A ticket added while RUNNING is populated at once if the resource exists
 * or can be created. Returns the populate code, or 0; *created tells the
 * caller to record the resource on success.
 */
static int late_populate(const struct claim *c, int populate_code, bool *populated)
{
	*populated = false;
	if (M.state != HVABS_VM_RUNNING)
		return 0;
	if (!res_has(c->ttype, c->tlabel) && !res_creatable_running(c->ttype, c->tlabel))
		return 0;
	*populated = true;
	return populate_code;
}

/*
 * Expected result of adding @type with @size bytes at @arg (NULL allowed):
 * the mask of acceptable codes, 0 for success.
 */
static unsigned int model_add(uint32_t type, uint32_t size, const uint8_t *arg)
{
	unsigned int early = 0, mask = 0;
	struct inst tmp;
	struct claim c;
	bool populated;

	if (size > HVABS_FN_MAX_ARG_SIZE)
		early |= C(HVABS_EINVAL);
	if (size && !arg)
		early |= C(HVABS_EINVAL);
	if (builtin(type) && size != builtin_size(type))
		early |= C(HVABS_EINVAL);
	if (!type_known(type))
		early |= C(HVABS_ENOTFOUND);
	if (!functional())
		early |= C(HVABS_ESTATE);
	/* Bind's rules are judged only on a well-formed argument of a known type. */
	if ((early & C(HVABS_EINVAL)) || !type_known(type))
		return early;
	memset(&tmp, 0, sizeof(tmp));
	tmp.type = type;
	tmp.size = size;
	if (size)
		memcpy(tmp.arg, arg, size);
	claim_of(&tmp, &c);

	if (type == HVABS_FN_VCPU) {
		if (c.tlabel >= 64)
			mask |= C(HVABS_EINVAL);
		if (ticket_claimed(c.ttype, c.tlabel))
			mask |= C(HVABS_EEXIST);
	} else if (type == HVABS_FN_IRQFD) {
		struct hvabs_fn_irqfd_arg a;

		memcpy(&a, arg, sizeof(a));
		if (a.flags & ~(HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE))
			mask |= C(HVABS_EINVAL);
		if ((a.flags & HVABS_IRQFD_RESAMPLE) && !(a.flags & HVABS_IRQFD_LEVEL))
			mask |= C(HVABS_EINVAL);
		if (!fz_fd_is_eventfd(a.fd))
			mask |= C(HVABS_EINVAL);
		if ((a.flags & HVABS_IRQFD_RESAMPLE) && !fz_fd_is_eventfd(a.resample_fd))
			mask |= C(HVABS_EINVAL);
		if (ticket_claimed(c.ttype, c.tlabel))
			mask |= C(HVABS_EEXIST);
		/* Arming (populate) fails when the eventfd is already an armed irqfd. */
		if (!mask && !early && late_populate(&c, 0, &populated) == 0 && populated &&
		    irq_fd_armed(a.fd))
			mask |= C(HVABS_EBUSY);
	} else if (type == HVABS_FN_IOEVENTFD) {
		struct hvabs_fn_ioeventfd_arg a;
		uint64_t span;

		memcpy(&a, arg, sizeof(a));
		span = a.len ? a.len : 1;
		if (a.len != 0 && a.len != 1 && a.len != 2 && a.len != 4 && a.len != 8)
			mask |= C(HVABS_EINVAL);
		if (a.flags & ~HVABS_IOEVENTFD_DATAMATCH)
			mask |= C(HVABS_EINVAL);
		if ((a.flags & HVABS_IOEVENTFD_DATAMATCH) && a.len == 0)
			mask |= C(HVABS_EINVAL);
		if (a.space != HVABS_SPACE_MMIO && a.space != HVABS_SPACE_PIO)
			mask |= C(HVABS_EINVAL);
		if (a.addr + span < a.addr ||
		    (a.space == HVABS_SPACE_PIO && a.addr + span - 1 > 0xffff))
			mask |= C(HVABS_EINVAL);
		if (!fz_fd_is_eventfd(a.fd))
			mask |= C(HVABS_EINVAL);
		if (!mask && handler_collides(&c))
			mask |= C(HVABS_EEXIST);
	} else if (type == FZ_U1 && size >= 16 && arg[0] == MODE_FAIL) {
		mask |= C(fz_code(arg[1]));
	} else if (c.ticket) {
		if (ticket_claimed(c.ttype, c.tlabel))
			mask |= C(HVABS_EEXIST);
		else if (!early && late_populate(&c, c.populate, &populated))
			mask |= C(c.populate);
	} else if (c.handler) {
		if (handler_collides(&c))
			mask |= C(HVABS_EEXIST);
	}
	return early | mask;
}

/* Record a successful add (resources a late ticket created included). */
static void model_added(uint32_t type, uint32_t size, const uint8_t *arg, struct hvabs_function *fn)
{
	struct inst *in;
	struct claim c;
	bool populated;

	if (M.n == MAX_INST)
		abort();
	in = &M.inst[M.n++];
	memset(in, 0, sizeof(*in));
	in->type = type;
	in->size = size;
	in->fn = fn;
	if (size)
		memcpy(in->arg, arg, size);
	claim_of(in, &c);
	if (c.ticket && late_populate(&c, 0, &populated) == 0 && populated)
		res_add(c.ttype, c.tlabel);
}

static void model_forget(unsigned int i)
{
	memmove(&M.inst[i], &M.inst[i + 1], (M.n - i - 1) * sizeof(M.inst[0]));
	M.n--;
}

/* Does instance @in match removal key (@size bytes at @arg)? (function.h compare rules) */
static bool model_matches(const struct inst *in, uint32_t type, uint32_t size, const uint8_t *arg)
{
	if (in->type != type)
		return false;
	switch (type) {
	case HVABS_FN_VCPU:
		return memcmp(in->arg, arg, 4) == 0;
	case HVABS_FN_IRQFD:
		return memcmp(in->arg + 4, arg + 4, 4) == 0; /* label */
	case HVABS_FN_IOEVENTFD: {
		struct hvabs_fn_ioeventfd_arg m, a;

		memcpy(&m, in->arg, sizeof(m));
		memcpy(&a, arg, sizeof(a));
		if (a.space != m.space || a.addr != m.addr || a.len != m.len || a.flags != m.flags)
			return false;
		return !(m.flags & HVABS_IOEVENTFD_DATAMATCH) || a.datamatch == m.datamatch;
	}
	case FZ_U2:
		if (size >= 4 && in->size >= 4)
			return memcmp(in->arg, arg, 4) == 0;
		/* fall through */
	default:
		return in->size == size && (size == 0 || memcmp(in->arg, arg, size) == 0);
	}
}

/* Expected result of removing by descriptor; *idx gets the instance removed. */
static unsigned int model_remove(uint32_t type, uint32_t size, const uint8_t *arg, int *idx)
{
	unsigned int mask = 0;

	*idx = -1;
	if (size > HVABS_FN_MAX_ARG_SIZE)
		mask |= C(HVABS_EINVAL);
	if (size && !arg)
		mask |= C(HVABS_EINVAL);
	if (builtin(type) && size != builtin_size(type))
		mask |= C(HVABS_EINVAL);
	if (mask)
		return mask;
	for (unsigned int i = 0; i < M.n; i++)
		if (model_matches(&M.inst[i], type, size, arg)) {
			*idx = (int)i;
			return 0;
		}
	return C(HVABS_ENOTFOUND);
}

/* Expected result of hvabs_vm_start(); on success the resources the VM then has. */
static unsigned int model_start(void)
{
	unsigned int mask = 0;

	if (M.state == HVABS_VM_RUNNING)
		return 0;
	if (M.state != HVABS_VM_LOAD)
		return C(HVABS_ESTATE);
	if (!M.region)
		return C(HVABS_EINVAL);
	for (unsigned int i = 0; i < M.n; i++) {
		struct claim c;

		claim_of(&M.inst[i], &c);
		if (!c.ticket)
			continue;
		if (c.ttype == HVABS_RESOURCE_VCPU &&
		    (c.tlabel >= 64 || (M.nr_vcpus && c.tlabel >= M.nr_vcpus)))
			continue; /* no such resource: stays unpopulated */
		if (c.populate)
			mask |= C(c.populate);
		/* Two irqfds on one eventfd: the second cannot be armed. */
		for (unsigned int j = 0; c.irq_fd >= 0 && j < i; j++) {
			struct claim d;

			claim_of(&M.inst[j], &d);
			if (d.irq_fd == c.irq_fd)
				mask |= C(HVABS_EBUSY);
		}
	}
	return mask;
}

static void model_started(void)
{
	for (uint32_t id = 0; id < M.nr_vcpus; id++)
		res_add(HVABS_RESOURCE_VCPU, id);
	for (unsigned int i = 0; i < M.n; i++) {
		struct claim c;

		claim_of(&M.inst[i], &c);
		if (!c.ticket)
			continue;
		if (c.ttype == HVABS_RESOURCE_VCPU &&
		    (c.tlabel >= 64 || (M.nr_vcpus && c.tlabel >= M.nr_vcpus)))
			continue;
		res_add(c.ttype, c.tlabel);
	}
	M.state = HVABS_VM_RUNNING;
}

/* After every operation: what the library reports must equal the model. */
static void model_check(void)
{
	struct hvabs_vm_status st;
	unsigned int io = 0;

	hvabs_vm_status_get(M.vm, &st);
	FZ_CHECK(st.state == M.state, "state %s, model %s", hvabs_vm_state_name(st.state),
		 hvabs_vm_state_name(M.state));
	FZ_CHECK(hvabs_vm_refcount(M.vm) == 1 + M.n, "refcount %u, model %u",
		 hvabs_vm_refcount(M.vm), 1 + M.n);
	for (unsigned int i = 0; i < M.n; i++) {
		struct claim c;

		claim_of(&M.inst[i], &c);
		io += c.handler;
	}
	FZ_CHECK(hvabs_vm_io_handler_count(M.vm) == io, "io handlers %zu, model %u",
		 hvabs_vm_io_handler_count(M.vm), io);
	for (int t = 0; t < 3; t++) {
		long n = 0;

		for (unsigned int i = 0; i < M.n; i++)
			n += M.inst[i].type == FZ_U1 + (uint32_t)t;
		FZ_CHECK(fz_live[t] == n, "user type %d: %ld live, model %ld", t, fz_live[t], n);
	}
}

/* ---- operations ---- */

enum {
	OP_ADD_VCPU,
	OP_ADD_IRQFD,
	OP_ADD_IOEVENTFD,
	OP_ADD_USER,
	OP_REMOVE_KEY,
	OP_REMOVE_HANDLE,
	OP_START,
	OP_MEM_ADD,
	OP_STOP,
	OP_DESTROY,
	OP_TYPE_REG,
	OP_TYPE_UNREG,
	OP_TYPE_REG_CUSTOM,
	OP_COUNT
};

/* Small values collide often; sometimes any 32-bit value. */
static uint32_t pick_label(struct fz_in *r)
{
	uint8_t b = fz_u8(r);

	return (b & 0x80) ? fz_u32(r) : (uint32_t)(b & 7);
}

static int pick_fd(struct fz_in *r)
{
	uint8_t b = fz_u8(r);

	/* Mostly eventfds, so that the other rules get exercised too. */
	return fz_fds[(b & 0x80) ? (b % FD_NCHOICES) : (b % 4)];
}

static uint64_t pick_addr(struct fz_in *r)
{
	uint8_t b = fz_u8(r);

	switch (b % 8) {
	case 0:
	case 1:
	case 2:
		return 0x1000 + (b >> 3 & 3);
	case 3:
		return 0xfff8 + (b >> 3 & 15); /* around the top of port space */
	case 4:
		return UINT64_MAX - (b >> 3 & 15);
	case 5:
		return b >> 3;
	default:
		return fz_u64(r);
	}
}

/*
 * Build the argument of a built-in @type from the input, then maybe change
 * its size (any size 0..300); *size gets the size to pass.
 */
static void build_arg(struct fz_in *r, uint32_t type, uint8_t *buf, uint32_t *size)
{
	static const uint32_t lens[8] = { 0, 1, 2, 4, 8, 3, 16, 4 };
	uint8_t how = fz_u8(r);

	memset(buf, 0, 304);
	if (type == HVABS_FN_VCPU) {
		uint8_t b = fz_u8(r);
		struct hvabs_fn_vcpu_arg a = { (b & 0x80) ? (b & 0x7f) : (b & 7) };

		memcpy(buf, &a, sizeof(a));
	} else if (type == HVABS_FN_IRQFD) {
		struct hvabs_fn_irqfd_arg a;
		uint8_t f = fz_u8(r);

		a.fd = pick_fd(r);
		a.label = pick_label(r);
		a.flags = (f & 0x80) ? (1u << (f & 31)) : (f & 3);
		a.resample_fd = (f & 0x40) ? -1 : pick_fd(r);
		memcpy(buf, &a, sizeof(a));
	} else if (type == HVABS_FN_IOEVENTFD) {
		struct hvabs_fn_ioeventfd_arg a;
		uint8_t f = fz_u8(r);

		memset(&a, 0, sizeof(a));
		a.space = (f & 0x40) ? (f & 7) : (f & 1);
		a.addr = pick_addr(r);
		a.len = lens[f >> 3 & 7];
		a.fd = pick_fd(r);
		a.flags = (f & 0x80) ? (fz_u8(r) & 3) : 0;
		a.datamatch = (f & 0x20) ? fz_u64(r) : (fz_u8(r) & 3);
		memcpy(buf, &a, sizeof(a));
	}
	*size = builtin_size(type);
	if (how & 0x80)
		*size = (uint32_t)(fz_u16(r) & 0x1ff) % 301; /* any size, up to 300 */
}

/* A user argument: size 0..300, the first bytes from the input, the rest a pattern. */
static void build_user_arg(struct fz_in *r, uint8_t *buf, uint32_t *size)
{
	uint8_t sz = fz_u8(r), mode = fz_u8(r), fill = fz_u8(r);

	memset(buf, fill, 304);
	if (sz & 0x80)
		*size = (uint32_t)(fz_u16(r) & 0x1ff) % 301;
	else
		*size = (sz & 1) ? 16 : (sz & 0x7f) % 24;
	switch ((mode & 0x3f) % 5) {
	case 0:
		buf[0] = MODE_FAIL;
		break;
	case 1:
		buf[0] = MODE_TICKET;
		break;
	case 2:
		buf[0] = MODE_HANDLER;
		break;
	default:
		buf[0] = fz_u8(r);
		break;
	}
	for (int i = 1; i < 16; i++)
		buf[i] = 0;
	buf[1] = fz_u8(r);
	buf[2] = (mode & 0x80) ? fz_u8(r) : 0; /* populate code or handler width */
	buf[4] = fz_u8(r) & 7;                 /* ticket label */
	if (mode & 0x40)
		memcpy(buf + 8, (uint64_t[]){ pick_addr(r) }, 8); /* handler address */
	else
		buf[8] = (uint8_t)(0x1000 & 0xff), buf[9] = 0x10; /* 0x1000: where ioeventfds sit */
}

/* An exact-size heap copy (one byte for size 0), so ASan sees any overread. */
static uint8_t *heap_copy(const uint8_t *buf, uint32_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	if (!p)
		abort();
	memcpy(p, buf, size);
	return p;
}

static void do_add(uint32_t type, uint32_t size, const uint8_t *arg, bool typed)
{
	unsigned int mask = model_add(type, size, arg);
	struct hvabs_function *fn = NULL;
	size_t allocs = hvabs_alloc_count();
	int rc;

	if (fz_trace) {
		fprintf(stderr, "op %u: add type 0x%x size %u%s:", fz_opno, type, size,
			arg ? "" : " (NULL)");
		for (uint32_t i = 0; arg && i < size && i < 32; i++)
			fprintf(stderr, " %02x", arg[i]);
		fprintf(stderr, "\n");
	}

	if (typed && type == HVABS_FN_VCPU) {
		struct hvabs_fn_vcpu_arg a;
		struct hvabs_vcpu *vcpu = NULL;

		memcpy(&a, arg, sizeof(a));
		rc = hvabs_vm_vcpu_add(&vcpu, M.vm, a.id);
		if (!rc) {
			FZ_CHECK(vcpu && hvabs_vcpu_id(vcpu) == a.id, "vcpu handle");
			fn = vcpu->fn;
		}
	} else if (typed && type == HVABS_FN_IRQFD) {
		struct hvabs_fn_irqfd_arg a;

		memcpy(&a, arg, sizeof(a));
		rc = hvabs_vm_irqfd_add(&fn, M.vm, a.fd, a.label, a.flags, a.resample_fd);
	} else if (typed && type == HVABS_FN_IOEVENTFD) {
		struct hvabs_fn_ioeventfd_arg a;

		memcpy(&a, arg, sizeof(a));
		rc = hvabs_vm_ioeventfd_add(&fn, M.vm, (enum hvabs_space)a.space, a.addr, a.len, a.fd,
					    a.flags, a.datamatch);
	} else {
		struct hvabs_fn_desc d = { type, size, arg };

		rc = hvabs_vm_function_add(&fn, M.vm, &d);
	}
	fz_expect(rc, mask, "function add");
	if (rc) {
		FZ_CHECK(hvabs_alloc_count() == allocs, "failed add changed the allocation count %zu -> %zu",
			 allocs, hvabs_alloc_count());
		return;
	}
	FZ_CHECK(fn && hvabs_function_vm(fn) == M.vm && hvabs_function_type_id(fn) == type,
		 "function handle");
	{
		uint32_t got;
		const void *copy = hvabs_function_arg(fn, &got);

		FZ_CHECK(got == size, "arg size %u != %u", got, size);
		/* The irqfd bind normalises resample_fd; everything else is the caller's copy. */
		if (type != HVABS_FN_IRQFD)
			FZ_CHECK(size == 0 || memcmp(copy, arg, size) == 0, "argument copy differs");
		FZ_CHECK((type == HVABS_FN_VCPU) == (hvabs_function_vcpu(fn) != NULL), "vcpu of fn");
	}
	model_added(type, size, arg, fn);
}

static void op_add_builtin(struct fz_in *r, uint32_t type)
{
	uint8_t buf[304], *arg;
	uint32_t size;
	bool typed = fz_u8(r) & 1;

	build_arg(r, type, buf, &size);
	if (size != builtin_size(type))
		typed = false;
	arg = heap_copy(buf, size);
	do_add(type, size, arg, typed);
	free(arg);
}

static void op_add_user(struct fz_in *r)
{
	static const uint32_t types[8] = { FZ_U1, FZ_U1, FZ_U2, FZ_U3, FZ_UNREG_USER, 0, 4,
					   HVABS_FN_USER_MIN };
	uint32_t type = types[fz_u8(r) % 8], size;
	uint8_t buf[304], *arg;
	uint8_t nul = fz_u8(r);

	build_user_arg(r, buf, &size);
	arg = heap_copy(buf, size);
	if ((nul & 0xf0) == 0xf0) {
		/* A NULL argument, with or without a size. */
		free(arg);
		arg = NULL;
		if (nul & 1)
			size = 0;
	}
	do_add(type, size, arg, false);
	free(arg);
}

/* Removal key: mostly derived from a live instance, sometimes altered or random. */
static void op_remove_key(struct fz_in *r)
{
	uint8_t how = fz_u8(r), buf[304], *arg;
	uint32_t type, size;
	unsigned int mask;
	int idx, rc;
	size_t allocs = hvabs_alloc_count();

	if (M.n && !(how & 0x80)) {
		const struct inst *in = &M.inst[fz_u8(r) % M.n];

		type = in->type;
		size = in->size;
		memset(buf, 0, sizeof(buf));
		memcpy(buf, in->arg, in->size);
		if (how & 0x40) /* alter one byte: a different key, or a field compare ignores */
			buf[fz_u8(r) % (size ? size : 1)] ^= (uint8_t)(1u << (how & 7));
		if (how & 0x20)
			size = (uint32_t)(fz_u16(r) & 0x1ff) % 301;
	} else {
		static const uint32_t types[8] = { HVABS_FN_VCPU, HVABS_FN_IRQFD, HVABS_FN_IOEVENTFD,
						   FZ_U1, FZ_U2, FZ_U3, FZ_UNREG_USER, 0 };

		type = types[how % 8];
		if (builtin(type))
			build_arg(r, type, buf, &size);
		else
			build_user_arg(r, buf, &size);
	}
	arg = heap_copy(buf, size);
	if ((how & 0x18) == 0x18 && size == 0) {
		free(arg);
		arg = NULL;
	}
	mask = model_remove(type, size, arg, &idx);
	{
		struct hvabs_fn_desc d = { type, size, arg };

		rc = hvabs_vm_function_remove(M.vm, &d);
	}
	fz_expect(rc, mask, "function remove by key");
	free(arg);
	if (rc) {
		FZ_CHECK(hvabs_alloc_count() == allocs, "failed remove changed the allocation count");
		return;
	}
	model_forget((unsigned int)idx);
}

static void op_remove_handle(struct fz_in *r)
{
	unsigned int i;

	if (!M.n)
		return;
	i = fz_u8(r) % M.n;
	fz_expect(hvabs_function_remove(M.inst[i].fn), 0, "function remove by handle");
	model_forget(i);
}

static void op_start(void)
{
	unsigned int mask = model_start();
	int rc = hvabs_vm_start(M.vm);

	fz_expect(rc, mask, "vm start");
	if (!rc && M.state == HVABS_VM_LOAD)
		model_started(); /* starting a RUNNING VM changes nothing */
	else if (M.state == HVABS_VM_LOAD)
		M.state = HVABS_VM_INIT_FAILED;
}

static _Alignas(4096) uint8_t fz_ram[4096];

static void op_mem_add(void)
{
	struct hvabs_mem_region reg = { .version = HVABS_MEM_REGION_VERSION, .label = 0,
					.flags = HVABS_MEM_RWX, .guest_addr = 0,
					.size = sizeof(fz_ram), .host_addr = fz_ram };
	unsigned int mask = M.state != HVABS_VM_LOAD ? C(HVABS_ESTATE) :
			    M.region		   ? C(HVABS_EEXIST) :
							     0;
	int rc = hvabs_vm_mem_add(M.vm, &reg);

	fz_expect(rc, mask, "mem add");
	if (!rc)
		M.region = true;
}

static void op_stop(struct fz_in *r)
{
	bool crashed = fz_u8(r) & 1;

	hvabs__vm_set_stopped(M.vm, crashed, 0, NULL, 0);
	if (M.state == HVABS_VM_RUNNING)
		M.state = crashed ? HVABS_VM_CRASHED : HVABS_VM_EXITED;
}

/* Destroy, keeping a reference: later calls see a DESTROYED VM. */
static void op_destroy(void)
{
	if (M.state == HVABS_VM_DESTROYED)
		return;
	hvabs_vm_get(M.vm);
	hvabs_vm_destroy(M.vm);
	M.extra_ref = true;
	M.state = HVABS_VM_DESTROYED;
	M.n = 0;
	M.nres = 0;
}

static const struct hvabs_function_type *utype_ops(int t)
{
	return t == 0 ? &fz_u1_ops : t == 1 ? &fz_u2_ops : &fz_u3_ops;
}

static long model_instances(uint32_t type)
{
	long n = 0;

	for (unsigned int i = 0; i < M.n; i++)
		n += M.inst[i].type == type;
	return n;
}

static void op_type_reg(struct fz_in *r)
{
	int t = fz_u8(r) % 3;
	int rc = hvabs_function_type_register(utype_ops(t));

	fz_expect(rc, M.reg[t] ? C(HVABS_EEXIST) : 0, "type register");
	M.reg[t] = true;
}

static void op_type_unreg(struct fz_in *r)
{
	static const uint32_t types[8] = { FZ_U1, FZ_U2, FZ_U3, FZ_U1, FZ_UNREG_USER, HVABS_FN_VCPU,
					   HVABS_FN_IOEVENTFD, 0 };
	uint32_t type = types[fz_u8(r) % 8];
	unsigned int mask;
	int rc;

	if (builtin(type))
		mask = C(HVABS_EINVAL);
	else if (type != FZ_U1 && type != FZ_U2 && type != FZ_U3)
		mask = C(HVABS_ENOTFOUND);
	else if (!M.reg[fz_utype_index(type)])
		mask = C(HVABS_ENOTFOUND);
	else if (model_instances(type))
		mask = C(HVABS_EBUSY);
	else
		mask = 0;
	rc = hvabs_function_type_unregister(type);
	fz_expect(rc, mask, "type unregister");
	if (!rc)
		M.reg[fz_utype_index(type)] = false;
}

/* Registration with a possibly invalid descriptor (U3's number or a reserved one). */
static void op_type_reg_custom(struct fz_in *r)
{
	static const uint32_t types[4] = { FZ_U3, 0, HVABS_FN_IRQFD, FZ_U3 };
	static struct hvabs_function_type scratch;
	uint8_t b = fz_u8(r);
	unsigned int mask = 0;
	const struct hvabs_function_type *t;
	int rc;

	scratch = fz_u3_ops;
	scratch.version = (b & 3) == 3 ? 0 : (b & 3) == 2 ? HVABS_FUNCTION_TYPE_VERSION + 1 : 1;
	scratch.type = types[b >> 2 & 3];
	if (b & 0x10)
		scratch.bind = NULL;
	if (b & 0x20)
		scratch.unbind = NULL;
	if (b & 0x40)
		scratch.name = NULL;
	if (scratch.version != HVABS_FUNCTION_TYPE_VERSION)
		mask |= C(HVABS_EVERSION);
	if (!scratch.bind || !scratch.unbind || !scratch.name)
		mask |= C(HVABS_EINVAL);
	if (scratch.type == 0 || builtin(scratch.type))
		mask |= C(HVABS_EINVAL);
	if (!mask && M.reg[2])
		mask |= C(HVABS_EEXIST);
	/* The registry keeps the pointer: a registration that must succeed gets the const ops. */
	t = mask ? &scratch : &fz_u3_ops;
	rc = hvabs_function_type_register(t);
	fz_expect(rc, mask, "type register (custom)");
	if (!rc)
		M.reg[2] = true;
}

/* ---- one input ---- */

static size_t fz_alloc_base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsetenv("HVABS_FUNCTION_PATH"); /* no module autoload for unknown types */
	fz_trace = getenv("FZ_TRACE") != NULL;
	fz_fds_init();
	fz_alloc_base = hvabs_alloc_count();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct fz_in r = { data, size };
	uint8_t hdr = fz_u8(&r);
	int rc;

	memset(&M, 0, sizeof(M));
	memset(fz_live, 0, sizeof(fz_live));
	fz_opno = 0;
	opts.backend = "sim";
	opts.nr_vcpus = (hdr & 0x80) ? (uint32_t)(hdr & 0x7f) : 0; /* > 64 is EINVAL */
	rc = hvabs_vm_create(&M.vm, &opts);
	fz_expect(rc, opts.nr_vcpus > 64 ? C(HVABS_EINVAL) : 0, "vm create");
	if (rc)
		return 0;
	M.state = HVABS_VM_LOAD;
	M.nr_vcpus = opts.nr_vcpus;
	for (int t = 0; t < 2; t++) {
		fz_expect(hvabs_function_type_register(utype_ops(t)), 0, "type register");
		M.reg[t] = true;
	}

	while (r.n && fz_opno < 200) {
		uint8_t op = fz_u8(&r);

		fz_opno++;
		hvabs_error_clear(); /* a failure must leave its own detail */
		switch (op % OP_COUNT) {
		case OP_ADD_VCPU:
			if (M.n < MAX_INST)
				op_add_builtin(&r, HVABS_FN_VCPU);
			break;
		case OP_ADD_IRQFD:
			if (M.n < MAX_INST)
				op_add_builtin(&r, HVABS_FN_IRQFD);
			break;
		case OP_ADD_IOEVENTFD:
			if (M.n < MAX_INST)
				op_add_builtin(&r, HVABS_FN_IOEVENTFD);
			break;
		case OP_ADD_USER:
			if (M.n < MAX_INST)
				op_add_user(&r);
			break;
		case OP_REMOVE_KEY:
			op_remove_key(&r);
			break;
		case OP_REMOVE_HANDLE:
			op_remove_handle(&r);
			break;
		case OP_START:
			op_start();
			break;
		case OP_MEM_ADD:
			op_mem_add();
			break;
		case OP_STOP:
			op_stop(&r);
			break;
		case OP_DESTROY:
			op_destroy();
			break;
		case OP_TYPE_REG:
			op_type_reg(&r);
			break;
		case OP_TYPE_UNREG:
			op_type_unreg(&r);
			break;
		case OP_TYPE_REG_CUSTOM:
			op_type_reg_custom(&r);
			break;
		}
		if (M.state == HVABS_VM_DESTROYED)
			FZ_CHECK(hvabs_vm_refcount(M.vm) == 1 && !fz_live[0] && !fz_live[1] &&
					 !fz_live[2],
				 "destroyed vm: refcount %u, user instances %ld/%ld/%ld",
				 hvabs_vm_refcount(M.vm), fz_live[0], fz_live[1], fz_live[2]);
		else
			model_check();
	}

	/* Teardown: every instance unbound, every type unregisters, nothing leaks. */
	fz_opno = 0;
	if (M.state != HVABS_VM_DESTROYED)
		hvabs_vm_destroy(M.vm);
	if (M.extra_ref)
		hvabs_vm_put(M.vm);
	for (int t = 0; t < 3; t++) {
		FZ_CHECK(fz_live[t] == 0, "type %d has %ld live instances after destroy", t, fz_live[t]);
		if (M.reg[t])
			fz_expect(hvabs_function_type_unregister(FZ_U1 + (uint32_t)t), 0,
				  "type unregister after destroy");
	}
	FZ_CHECK(hvabs_alloc_count() == fz_alloc_base, "leak: %zu live allocations, %zu at start",
		 hvabs_alloc_count(), fz_alloc_base);
	return 0;
}
