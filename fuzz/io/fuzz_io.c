/* SPDX-License-Identifier: MIT */
/* fuzz/io/fuzz_io.c: IO handler add/remove and dispatch lookups on a sim VM, checked against a reference model. */
/*
 * Each input is decoded into operations on one sim VM with one vCPU that
 * never runs: IO handler adds (single or in bulk, hundreds at a time),
 * removals (also from inside a handler's own callback), and lookups through
 * core's dispatch entry points hvabs__io_dispatch() and
 * hvabs__io_dispatch_exit() (core/internal.h), called on this thread as a
 * backend's vCPU loop would. The model is a plain list of (space, range,
 * width, datamatch, data, callbacks) entries kept by the rules of
 * include/hvabs/io.h: an add succeeds iff the descriptor is valid and
 * collides with no entry; a lookup must call exactly the one entry whose
 * range holds the address, whose width fits and (for a write with
 * DATAMATCH) whose data equals the zero-extended value - or none. Handlers
 * record their identity (a cookie) so the model can tell which one ran.
 * After the input the VM is destroyed and hvabs_alloc_count() must be back
 * at its starting value.
 */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The model's loops need no coverage feedback: keep them uninstrumented (speed). */
#define FZ_NOCOV __attribute__((no_sanitize("coverage"), noinline))

static unsigned int fz_opno;
static bool fz_trace; /* $FZ_TRACE: print every operation (for reading a crash input) */

#define FZ_FAIL(...)                                                                 \
	do {                                                                         \
		fprintf(stderr, "fuzz_io:%d: ", __LINE__);                           \
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

/* ---- expected codes: bit -code of a mask; mask 0 means success ---- */

#define C(code) (1u << (unsigned int)-(code))

static void fz_expect(int rc, unsigned int mask, const char *what)
{
	if (!mask) {
		FZ_CHECK(rc == 0, "%s: got %s, model expects success", what, hvabs_err_name(rc));
		return;
	}
	FZ_CHECK(rc < 0 && rc > -32 && (mask & C(rc)), "%s: got %s (%d), model expects mask 0x%x",
		 what, rc ? hvabs_err_name(rc) : "success", rc, mask);
	FZ_CHECK(hvabs_error_last()->code == rc, "%s: error detail code %d != %d", what,
		 hvabs_error_last()->code, rc);
}

static uint64_t mask_of(uint32_t len)
{
	return len >= 8 ? ~0ull : (1ull << (len * 8)) - 1;
}

/* ---- handlers: each records its call; slots outlive the VM's use of them ---- */

#define MAX_ENT 384

/* Per-handler behaviour, chosen at add. */
#define B_DECLINE 1u     /* return non-zero: the access is not served */
#define B_SELF_REMOVE 2u /* remove its own handler from inside the callback */

struct slot {
	uint64_t cookie;
	uint32_t behave;
	struct hvabs_io_handler *h;
};

/* The calls handlers received, in order (an exit dispatch makes several). */
#define LOG_MAX 8

struct call {
	uint64_t cookie;
	struct hvabs_vcpu *vcpu;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	uint64_t data;
};

static struct {
	unsigned int calls;
	struct call log[LOG_MAX];
} fz_call;

static uint64_t read_value(uint64_t cookie)
{
	return cookie * 0x9e3779b97f4a7c15ull ^ 0xa5a5a5a5a5a5a5a5ull;
}

static int fz_record(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, bool is_write,
		     uint64_t data, struct slot *s)
{
	if (fz_call.calls < LOG_MAX)
		fz_call.log[fz_call.calls] = (struct call){ s->cookie, vcpu, addr, len, is_write, data };
	fz_call.calls++;
	if (s->behave & B_SELF_REMOVE) {
		hvabs_io_handler_remove(s->h);
		s->h = NULL;
	}
	return (s->behave & B_DECLINE) ? 1 : 0;
}

static int fz_read(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data,
		   void *payload)
{
	struct slot *s = payload;

	*data = read_value(s->cookie); /* all 64 bits: dispatch must keep only len bytes */
	return fz_record(vcpu, addr, len, false, 0, s);
}

static int fz_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
		    void *payload)
{
	return fz_record(vcpu, addr, len, true, data, payload);
}

/* ---- the model ---- */

struct ent {
	uint32_t space;
	uint64_t addr, last;
	uint32_t len;
	bool dm;
	uint64_t data;
	bool rd, wr;
	struct slot *slot;
};

static struct model {
	struct hvabs_vm *vm;
	struct hvabs_vcpu *vcpu;
	bool destroyed;
	bool big_bulk_done; /* one bulk add of hundreds per input */
	struct ent e[MAX_ENT];
	unsigned int n;
	uint64_t next_cookie;
	uint64_t served; /* expected stats.dispatched */
	uint64_t returned; /* expected stats.returned (exit dispatch) */
} M;

/* Slots are recycled per input; a handler's slot is never reused while it is registered. */
static struct slot fz_slots[MAX_ENT * 2];
static unsigned int fz_nslots;

/* io.h: overlapping ranges collide unless identical and never serving the same access. */
FZ_NOCOV static bool model_collides(const struct ent *x)
{
	for (unsigned int i = 0; i < M.n; i++) {
		const struct ent *e = &M.e[i];

		if (e->space != x->space || e->last < x->addr || x->last < e->addr)
			continue;
		if (e->addr == x->addr && e->last == x->last) {
			if (e->len && x->len && e->len != x->len)
				continue;
			if (e->dm && x->dm && e->data != x->data)
				continue;
		}
		return true;
	}
	return false;
}

/* The one entry that serves the access, or -1; two would break io.h's promise. */
FZ_NOCOV static int model_lookup(uint32_t space, uint64_t addr, uint32_t len, bool is_write, uint64_t data)
{
	int found = -1;

	for (unsigned int i = 0; i < M.n; i++) {
		const struct ent *e = &M.e[i];

		if (e->space != space || addr < e->addr || addr > e->last)
			continue;
		if (e->len && e->len != len)
			continue;
		if (is_write ? (!e->wr || (e->dm && e->data != (data & mask_of(len))))
			     : (!e->rd || e->dm))
			continue;
		FZ_CHECK(found < 0, "two entries serve one access: %u and %u (model)", (unsigned)found, i);
		found = (int)i;
	}
	return found;
}

FZ_NOCOV static void model_forget(unsigned int i)
{
	memmove(&M.e[i], &M.e[i + 1], (M.n - i - 1) * sizeof(M.e[0]));
	M.n--;
}

FZ_NOCOV static int model_find_slot(const struct slot *s)
{
	for (unsigned int i = 0; i < M.n; i++)
		if (M.e[i].slot == s)
			return (int)i;
	return -1;
}

static void model_check(void)
{
	struct hvabs_vcpu_stats st;

	FZ_CHECK(hvabs_vm_io_handler_count(M.vm) == M.n, "handler count %zu, model %u",
		 hvabs_vm_io_handler_count(M.vm), M.n);
	hvabs_vcpu_stats_get(M.vcpu, &st);
	FZ_CHECK(st.dispatched == M.served, "stats.dispatched %llu, model %llu",
		 (unsigned long long)st.dispatched, (unsigned long long)M.served);
	FZ_CHECK(st.returned == M.returned, "stats.returned %llu, model %llu",
		 (unsigned long long)st.returned, (unsigned long long)M.returned);
}

/* ---- add ---- */

struct add_req {
	unsigned int version;
	uint32_t space;
	uint64_t addr, size;
	uint32_t len, flags;
	uint64_t data;
	bool rd, wr;
	uint32_t behave;
};

static unsigned int model_add(const struct add_req *q, struct ent *x)
{
	unsigned int mask = 0;
	uint64_t span = q->size ? q->size : 1;

	if (q->version != HVABS_IO_DESC_VERSION)
		mask |= C(HVABS_EVERSION);
	if (q->space != HVABS_SPACE_MMIO && q->space != HVABS_SPACE_PIO)
		mask |= C(HVABS_EINVAL);
	if (q->len != 0 && q->len != 1 && q->len != 2 && q->len != 4 && q->len != 8)
		mask |= C(HVABS_EINVAL);
	if (q->flags & ~HVABS_IO_DATAMATCH)
		mask |= C(HVABS_EINVAL);
	if ((q->flags & HVABS_IO_DATAMATCH) && (q->len == 0 || q->rd))
		mask |= C(HVABS_EINVAL);
	if (!q->rd && !q->wr)
		mask |= C(HVABS_EINVAL);
	if (q->addr + (span - 1) < q->addr)
		mask |= C(HVABS_EINVAL);
	else if (q->space == HVABS_SPACE_PIO && q->addr + (span - 1) > 0xffff)
		mask |= C(HVABS_EINVAL);
	if (M.destroyed)
		mask |= C(HVABS_ESTATE);
	x->space = q->space;
	x->addr = q->addr;
	x->last = q->addr + (span - 1);
	x->len = q->len;
	x->dm = q->flags & HVABS_IO_DATAMATCH;
	x->data = x->dm ? q->data : 0;
	x->rd = q->rd;
	x->wr = q->wr;
	if (!mask && model_collides(x))
		mask |= C(HVABS_EEXIST);
	return mask;
}

/* Returns true when the handler was added. */
static bool do_add(const struct add_req *q)
{
	struct hvabs_io_desc d;
	struct hvabs_io_handler *h = NULL;
	struct ent x;
	struct slot *s;
	unsigned int mask;
	size_t allocs = hvabs_alloc_count();
	int rc;

	if (M.n == MAX_ENT || fz_nslots == sizeof(fz_slots) / sizeof(fz_slots[0]))
		return false;
	mask = model_add(q, &x);
	s = &fz_slots[fz_nslots];
	s->cookie = ++M.next_cookie;
	s->behave = q->behave;
	s->h = NULL;
	memset(&d, 0, sizeof(d));
	d.version = q->version;
	d.space = (enum hvabs_space)q->space;
	d.addr = q->addr;
	d.size = q->size;
	d.len = q->len;
	d.flags = q->flags;
	d.data = q->data;
	d.read = q->rd ? fz_read : NULL;
	d.write = q->wr ? fz_write : NULL;
	d.payload = s;
	hvabs_error_clear();
	rc = hvabs_vm_io_handler_add(&h, M.vm, &d);
	if (fz_trace)
		fprintf(stderr,
			"op %u: add #%llu v%u sp %u [0x%llx +0x%llx] len %u fl %u data 0x%llx %s%s b%u -> %s (mask 0x%x)\n",
			fz_opno, (unsigned long long)s->cookie, q->version, q->space,
			(unsigned long long)q->addr, (unsigned long long)q->size, q->len, q->flags,
			(unsigned long long)q->data, q->rd ? "r" : "", q->wr ? "w" : "", q->behave,
			rc ? hvabs_err_name(rc) : "0", mask);
	fz_expect(rc, mask, "io handler add");
	if (rc) {
		FZ_CHECK(hvabs_alloc_count() == allocs, "failed add changed the allocation count");
		return false;
	}
	FZ_CHECK(h != NULL, "no handle");
	s->h = h;
	fz_nslots++;
	x.slot = s;
	M.e[M.n++] = x;
	return true;
}

/* ---- choosing values ---- */

static uint64_t pick_addr(struct fz_in *r)
{
	uint8_t b = fz_u8(r);

	switch (b & 7) {
	case 0:
	case 1:
	case 2:
		return 0x1000 + (b >> 3); /* a small window: collisions are frequent */
	case 3:
		return 0xffe0 + (b >> 3); /* the top of port space */
	case 4:
	case 5:
		return UINT64_MAX - (b >> 3); /* overflow edges */
	case 6:
		return b >> 3;
	default:
		return fz_u64(r);
	}
}

static uint64_t pick_size(struct fz_in *r, uint64_t addr)
{
	uint8_t b = fz_u8(r);

	switch (b & 15) {
	case 0:
		return 0;
	case 1:
	case 2:
		return 1;
	case 3:
		return 2;
	case 4:
		return 4;
	case 5:
		return 8;
	case 6:
		return 16;
	case 7:
	case 8:
		return (b >> 4) + 1;
	case 9:
		return UINT64_MAX - addr + 1; /* exactly to the end of the space (0: 1 byte) */
	case 10:
		return UINT64_MAX - addr + 2; /* one past: overflow */
	case 11:
		return 0x10000 - (addr & 0xffff); /* to the end of port space */
	case 12:
		return UINT64_MAX;
	case 13:
		return fz_u64(r);
	default:
		return 0x100;
	}
}

static uint32_t pick_len(uint8_t b)
{
	static const uint32_t lens[8] = { 0, 1, 2, 4, 8, 0, 4, 1 };

	return (b & 0x80) ? (uint32_t)(b & 0x1f) : lens[b & 7]; /* sometimes invalid */
}

static void pick_add(struct fz_in *r, struct add_req *q)
{
	uint8_t a = fz_u8(r), b = fz_u8(r);

	q->version = (a & 0xc0) == 0xc0 ? (a & 1) * 2 : HVABS_IO_DESC_VERSION; /* 0 or 2 */
	q->space = (a & 0x20) ? (a & 3) : (a & 1);
	q->addr = pick_addr(r);
	q->size = pick_size(r, q->addr);
	q->len = pick_len(fz_u8(r));
	q->flags = (b & 0x80) ? (b & 3) : (b & 1);
	q->data = (b & 0x40) ? fz_u64(r) : (uint64_t)(fz_u8(r) & 3) << ((b >> 2 & 3) * 16);
	/* DATAMATCH handlers are write-only unless the input insists. */
	q->rd = (q->flags & HVABS_IO_DATAMATCH) ? (a & 0x10) && (a & 0x08) : (a & 0x10) != 0;
	q->wr = (a & 0x08) != 0 || !q->rd;
	if ((a & 0x1c) == 0x1c && (b & 0x20))
		q->rd = q->wr = false; /* no callback at all */
	q->behave = (b >> 4) & 3;
	if (b & 0x02)
		q->behave &= ~B_SELF_REMOVE;
}

/* ---- lookups ---- */

/* Check call @k of the log against the model's pick (@cookie 0: none was to run). */
static void check_call(unsigned int k, uint64_t cookie, uint64_t addr, uint32_t len, bool is_write,
		       uint64_t wdata)
{
	const struct call *c = &fz_call.log[k];

	FZ_CHECK(k < fz_call.calls, "handler #%llu did not run", (unsigned long long)cookie);
	FZ_CHECK(c->cookie == cookie, "handler #%llu ran; model: #%llu", (unsigned long long)c->cookie,
		 (unsigned long long)cookie);
	FZ_CHECK(c->vcpu == M.vcpu && c->addr == addr && c->len == len && c->is_write == is_write,
		 "callback arguments");
	if (is_write)
		FZ_CHECK(c->data == (wdata & mask_of(len)), "write data 0x%llx, want 0x%llx",
			 (unsigned long long)c->data, (unsigned long long)(wdata & mask_of(len)));
}

/*
 * One dispatch of (space, addr, len, is_write, data) checked against the
 * model; returns whether it was served. A self-removing handler leaves the
 * model here.
 */
static bool lookup_one(uint32_t space, uint64_t addr, uint32_t len, bool is_write, uint64_t data)
{
	int want = M.destroyed ? -1 : model_lookup(space, addr, len, is_write, data);
	struct slot *s = want >= 0 ? M.e[want].slot : NULL;
	uint64_t v = data;
	bool served, expect;

	fz_call.calls = 0;
	served = hvabs__io_dispatch(M.vcpu, (enum hvabs_space)space, addr, len, is_write, &v);
	if (fz_trace)
		fprintf(stderr, "op %u: %s sp %u 0x%llx len %u data 0x%llx -> %s #%llu (model #%lld)\n",
			fz_opno, is_write ? "write" : "read", space, (unsigned long long)addr, len,
			(unsigned long long)data, served ? "served" : "not served",
			fz_call.calls ? (unsigned long long)fz_call.log[0].cookie : 0ull,
			s ? (long long)s->cookie : -1ll);
	FZ_CHECK(fz_call.calls == (s != NULL), "%u handler calls, model %d", fz_call.calls, s != NULL);
	if (s)
		check_call(0, s->cookie, addr, len, is_write, data);
	expect = s && !(s->behave & B_DECLINE);
	FZ_CHECK(served == expect, "dispatch returned %d, model %d", served, expect);
	if (served && !is_write)
		FZ_CHECK(v == (read_value(s->cookie) & mask_of(len)), "read value 0x%llx, want 0x%llx",
			 (unsigned long long)v,
			 (unsigned long long)(read_value(s->cookie) & mask_of(len)));
	if (!served)
		FZ_CHECK(v == data, "unserved access changed the data");
	if (served)
		M.served++;
	if (s && (s->behave & B_SELF_REMOVE)) {
		FZ_CHECK(s->h == NULL, "self-removal did not run");
		model_forget((unsigned int)model_find_slot(s));
	}
	return served;
}

static const uint32_t acc_lens[4] = { 1, 2, 4, 8 };

/* An access aimed at an entry (its first or last address, or just outside), or anywhere. */
static void op_lookup(struct fz_in *r)
{
	uint8_t a = fz_u8(r), b = fz_u8(r);
	uint32_t space = a & 1, len = acc_lens[a >> 1 & 3];
	bool is_write = a & 0x08;
	uint64_t addr, data;

	if (M.n && !(a & 0x80)) {
		const struct ent *e = &M.e[fz_u8(r) % M.n];

		space = (a & 0x40) ? space : e->space;
		switch (b & 3) {
		case 0:
			addr = e->addr;
			break;
		case 1:
			addr = e->last;
			break;
		case 2:
			addr = e->addr - 1;
			break;
		default:
			addr = e->last + 1;
			break;
		}
		if (e->len && !(a & 0x10))
			len = e->len;
		/* A write carrying the entry's data, or the data with noise above the width. */
		data = (b & 4) ? e->data : (b & 8) ? e->data | (uint64_t)fz_u8(r) << 56 : fz_u64(r);
	} else {
		addr = pick_addr(r);
		data = (b & 4) ? fz_u64(r) : fz_u8(r);
	}
	lookup_one(space, addr, len, is_write, data);
}

/* Every entry (up to 48, evenly spread): its first and last address and just outside. */
static void op_sweep(struct fz_in *r)
{
	bool is_write = fz_u8(r) & 1;
	unsigned int step = M.n > 48 ? M.n / 48 : 1;

	for (unsigned int i = 0; i < M.n; i += step) {
		struct ent e = M.e[i];
		uint32_t len = e.len ? e.len : 1;
		uint64_t data = e.data;

		if (e.slot->behave & B_SELF_REMOVE)
			continue; /* keep the table as it is */
		lookup_one(e.space, e.addr, len, is_write, data);
		lookup_one(e.space, e.last, len, is_write, data);
		if (e.addr) {
			int w = model_lookup(e.space, e.addr - 1, len, is_write, data);

			if (w < 0 || !(M.e[w].slot->behave & B_SELF_REMOVE))
				lookup_one(e.space, e.addr - 1, len, is_write, data);
		}
	}
}

/*
 * The exit-record path: an MMIO exit, or a PIO exit with a repeat count
 * (every element goes to the handlers once the first was served; the
 * result is the first element's). Data is little-endian in the record.
 */
static void op_lookup_exit(struct fz_in *r)
{
	uint8_t a = fz_u8(r);
	uint32_t space = a & 1, len = acc_lens[a >> 1 & 3], count = 1;
	bool is_write = a & 0x08, ok, want_ok = false;
	struct slot *want[LOG_MAX];
	unsigned int nwant = 0;
	struct hvabs_exit ex;
	uint8_t buf[32], *pio = NULL;
	uint64_t addr;

	if (M.n && !(a & 0x80)) {
		const struct ent *e = &M.e[fz_u8(r) % M.n];

		addr = (a & 0x40) ? e->last : e->addr;
		space = e->space;
		if (e->len)
			len = e->len;
	} else {
		addr = pick_addr(r);
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = fz_u8(r);
	memset(&ex, 0, sizeof(ex));
	if (space == HVABS_SPACE_MMIO) {
		ex.reason = HVABS_EXIT_MMIO;
		ex.mmio.addr = addr;
		ex.mmio.len = len;
		ex.mmio.is_write = is_write;
		memcpy(ex.mmio.data, buf, 8);
	} else {
		if (len > 4)
			len = 4;
		ex.reason = HVABS_EXIT_PIO;
		ex.pio.port = (uint16_t)addr;
		addr = (uint16_t)addr;
		ex.pio.size = (uint8_t)len;
		ex.pio.count = (a >> 4) & 3; /* 0 means 1 */
		count = ex.pio.count ? ex.pio.count : 1;
		ex.pio.is_write = is_write;
		pio = malloc(len * count); /* exact size: ASan sees an overrun */
		if (!pio)
			abort();
		memcpy(pio, buf, len * count);
		ex.pio.data = pio;
	}
	/* The model's sequence: each element looked up on the table as the previous one left it. */
	for (uint32_t i = 0; i < count; i++) {
		uint64_t v = 0;
		int w;

		for (uint32_t b = 0; b < len; b++)
			v |= (uint64_t)buf[i * len + b] << (8 * b);
		w = M.destroyed ? -1 : model_lookup(space, addr, len, is_write, v);
		want[nwant] = w >= 0 ? M.e[w].slot : NULL;
		if (i == 0)
			want_ok = w >= 0 && !(want[0]->behave & B_DECLINE);
		if (w >= 0 && !(want[nwant]->behave & B_DECLINE))
			M.served++;
		if (w >= 0 && (want[nwant]->behave & B_SELF_REMOVE))
			model_forget((unsigned int)w);
		nwant++;
		if (!want_ok)
			break; /* the rest is not dispatched */
	}
	fz_call.calls = 0;
	ok = hvabs__io_dispatch_exit(M.vcpu, &ex);
	if (fz_trace)
		fprintf(stderr, "op %u: exit %s sp %u 0x%llx len %u x%u -> %s, %u calls\n", fz_opno,
			is_write ? "write" : "read", space, (unsigned long long)addr, len, count,
			ok ? "served" : "returned", fz_call.calls);
	FZ_CHECK(ok == want_ok, "exit dispatch %d, model %d", ok, want_ok);
	if (!ok)
		M.returned++;
	{
		unsigned int k = 0;

		for (unsigned int i = 0; i < nwant; i++) {
			uint8_t *d = space == HVABS_SPACE_MMIO ? ex.mmio.data : pio + i * len;
			uint64_t v = 0;
			bool served;

			for (uint32_t b = 0; b < len; b++)
				v |= (uint64_t)buf[i * len + b] << (8 * b);
			if (want[i])
				check_call(k++, want[i]->cookie, addr, len, is_write, v);
			served = want[i] && !(want[i]->behave & B_DECLINE);
			for (uint32_t b = 0; b < len; b++) {
				uint8_t exp = served && !is_write ?
						      (uint8_t)(read_value(want[i]->cookie) >> (8 * b)) :
						      buf[i * len + b];

				FZ_CHECK(d[b] == exp, "element %u byte %u: 0x%02x, want 0x%02x", i, b,
					 d[b], exp);
			}
		}
		FZ_CHECK(fz_call.calls == k, "%u handler calls, model %u", fz_call.calls, k);
	}
	free(pio);
}

/* ---- bulk ---- */

/* Hundreds of handlers on a regular pattern: many leaves, many groups, frequent edges. */
static void op_bulk_add(struct fz_in *r)
{
	uint8_t a = fz_u8(r), b = fz_u8(r), c = fz_u8(r);
	uint16_t n16 = fz_u16(r);
	/*
	 * A few dozen; with the top bit, hundreds (leaf splits), once per input:
	 * each add costs microseconds under ASan, and throughput matters too.
	 */
	bool big = (n16 & 0x8000) && !M.big_bulk_done;
	unsigned int count = big ? 64 + n16 % 96 : 4 + n16 % 32;

	M.big_bulk_done |= big;
	static const uint64_t strides[8] = { 1, 2, 4, 8, 16, 0, 3, 0x1000 };
	uint64_t stride = strides[b & 7];
	struct add_req q;

	memset(&q, 0, sizeof(q));
	q.version = HVABS_IO_DESC_VERSION;
	q.space = a & 1;
	q.addr = pick_addr(r);
	if (a & 2)
		q.addr -= (uint64_t)count * (stride ? stride : 1); /* end near the top */
	q.size = (b & 0x08) ? stride : (uint64_t)(b >> 4 & 3);
	q.wr = true;
	q.rd = c & 1;
	for (unsigned int i = 0; i < count && M.n < MAX_ENT; i++) {
		/* stride 0: a stack of handlers on one address, told apart by width or data. */
		q.len = (c & 2) ? acc_lens[i & 3] : (c & 4) ? 4 : 0;
		q.flags = (c & 8) && q.len && !q.rd ? HVABS_IO_DATAMATCH : 0;
		q.data = (c & 0x10) ? i : (uint64_t)(i & 3);
		q.behave = (c & 0x20) && i % 7 == 3 ? B_DECLINE : 0;
		do_add(&q);
		q.addr += stride;
	}
}

static void remove_entry(unsigned int i)
{
	struct slot *s = M.e[i].slot;

	if (fz_trace)
		fprintf(stderr, "op %u: remove #%llu\n", fz_opno, (unsigned long long)s->cookie);
	hvabs_io_handler_remove(s->h);
	s->h = NULL;
	model_forget(i);
}

static void op_remove(struct fz_in *r)
{
	if (M.n)
		remove_entry(fz_u16(r) % M.n);
}

/* Remove every k-th entry from an offset (k = 1: all of them), compacting the model once. */
static void op_bulk_remove(struct fz_in *r)
{
	unsigned int k = 1 + fz_u8(r) % 4, off = fz_u8(r), kept = 0;

	for (unsigned int i = 0; i < M.n; i++) {
		struct slot *s = M.e[i].slot;

		if ((i + off) % k == 0) {
			if (fz_trace)
				fprintf(stderr, "op %u: remove #%llu\n", fz_opno,
					(unsigned long long)s->cookie);
			hvabs_io_handler_remove(s->h);
			s->h = NULL;
		} else {
			M.e[kept++] = M.e[i];
		}
	}
	M.n = kept;
}

static void op_destroy(void)
{
	if (M.destroyed)
		return;
	hvabs_vm_get(M.vm);
	hvabs_vm_destroy(M.vm);
	M.destroyed = true;
	M.n = 0;
}

enum {
	OP_ADD,
	OP_ADD2,
	OP_REMOVE,
	OP_LOOKUP,
	OP_LOOKUP2,
	OP_LOOKUP_EXIT,
	OP_SWEEP,
	OP_BULK_ADD,
	OP_BULK_REMOVE,
	OP_DESTROY,
	OP_COUNT
};

/* ---- one input ---- */

static size_t fz_alloc_base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_trace = getenv("FZ_TRACE") != NULL;
	fz_alloc_base = hvabs_alloc_count();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct fz_in r = { data, size };

	memset(&M, 0, sizeof(M));
	fz_call.calls = 0;
	fz_nslots = 0;
	fz_opno = 0;
	opts.backend = "sim";
	fz_expect(hvabs_vm_create(&M.vm, &opts), 0, "vm create");
	fz_expect(hvabs_vm_vcpu_add(&M.vcpu, M.vm, 0), 0, "vcpu add");

	while (r.n && fz_opno < 256) {
		uint8_t op = fz_u8(&r);

		fz_opno++;
		switch (op % OP_COUNT) {
		case OP_ADD:
		case OP_ADD2: {
			struct add_req q;

			pick_add(&r, &q);
			do_add(&q);
			break;
		}
		case OP_REMOVE:
			op_remove(&r);
			break;
		case OP_LOOKUP:
		case OP_LOOKUP2:
			op_lookup(&r);
			break;
		case OP_LOOKUP_EXIT:
			op_lookup_exit(&r);
			break;
		case OP_SWEEP:
			op_sweep(&r);
			break;
		case OP_BULK_ADD:
			op_bulk_add(&r);
			break;
		case OP_BULK_REMOVE:
			op_bulk_remove(&r);
			break;
		case OP_DESTROY:
			op_destroy();
			break;
		}
		model_check();
	}

	if (!M.destroyed)
		hvabs_vm_destroy(M.vm);
	else
		hvabs_vm_put(M.vm);
	FZ_CHECK(hvabs_alloc_count() == fz_alloc_base, "leak: %zu live allocations, %zu at start",
		 hvabs_alloc_count(), fz_alloc_base);
	return 0;
}
