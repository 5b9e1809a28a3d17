/* SPDX-License-Identifier: MIT */
/* core/io.c: IO handlers - a copy-on-write sorted table read lock-free by vCPU threads. */
#include "internal.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Each address space has an immutable snapshot: a top array of leaves,
 * each leaf a sorted array of at most IO_LEAF_MAX entries. An update copies
 * the top array and the one leaf it changes (O(n / IO_LEAF_MAX) + O(leaf)),
 * publishes the new snapshot, then waits until no vCPU can still read the
 * retired memory before freeing it.
 *
 * Readers announce the generation they read in vcpu->io_gen (a hazard),
 * then read the snapshot pointer; a writer that published generation G
 * waits until every vCPU's announcement is 0 (idle) or >= G. The
 * announcement covers the lookup only: a handler's callback runs after it
 * ends, marked in vcpu->io_cb, and removing a handler also waits until no
 * other vCPU runs one of its callbacks. So a writer that holds the VM lock
 * (an IO handler added or removed from bind/unbind) never waits for a
 * callback that may itself be waiting for the VM lock, except one of the
 * handler it removes.
 *
 * The announcement must be ordered before the pointer load (store-load).
 * Where membarrier(2) has private expedited barriers, the reader orders
 * them for the compiler only and the writer, before it reads the
 * announcements, makes every thread of the process execute a full
 * barrier (so either the writer sees the announcement, or the reader
 * sees the new pointer and generation). Elsewhere the reader's store is
 * seq_cst. The choice is made once, before the first VM exists.
 */

#define IO_LEAF_MAX 64

struct io_entry {
	uint64_t addr;
	uint64_t last;
	uint32_t len;
	uint32_t flags;
	uint64_t data;
	hvabs_io_read_fn read;
	hvabs_io_write_fn write;
	void *payload;
	struct hvabs_io_handler *h;
};

struct io_leaf {
	uint32_t n;
	struct io_entry e[IO_LEAF_MAX];
};

struct hvabs__io_snap {
	size_t nleaves;
	uint64_t *first;        /* first[i] = leaves[i]->e[0].addr */
	struct io_leaf **leaves;
};

/* Memory an update retires, freed after the grace period. */
struct io_retired {
	struct hvabs__io_snap *snap;
	struct io_leaf *leaf;
	uint64_t gen;
};

/* The vCPU whose handler callback this thread runs (initial-exec: no __tls_get_addr). */
static _Thread_local struct hvabs_vcpu *io_tls_vcpu __attribute__((tls_model("initial-exec")));

static pthread_once_t io_barrier_once = PTHREAD_ONCE_INIT;
static bool io_asym; /* readers rely on the writers' membarrier */

static void io_barrier_setup(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

#if defined(__SANITIZE_THREAD__)
	cmds = -1; /* ThreadSanitizer does not know membarrier's ordering */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
	cmds = -1;
#endif
#endif
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
		return;
	io_asym = true;
}

/* Writer side of the announcement's store-load ordering (see above). */
static void io_barrier_writer(void)
{
	if (io_asym)
		(void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void hvabs__io_init(struct hvabs_vm *vm)
{
	(void)pthread_once(&io_barrier_once, io_barrier_setup);
	atomic_init(&vm->io[0], NULL);
	atomic_init(&vm->io[1], NULL);
	atomic_init(&vm->io_gen, 1);
	hvabs__list_init(&vm->io_zombies);
	vm->io_pending.snap = vm->io_pending.leaf = NULL;
}

static void io_snap_free(struct hvabs__io_snap *s, bool with_leaves)
{
	if (!s)
		return;
	if (with_leaves)
		for (size_t i = 0; i < s->nleaves; i++)
			hvabs__free(s->leaves[i]);
	hvabs__free(s);
}

static void io_retired_free(struct hvabs__io_snap *snap, struct io_leaf *leaf)
{
	io_snap_free(snap, false);
	hvabs__free(leaf);
}

void hvabs__io_fini(struct hvabs_vm *vm)
{
	io_retired_free(vm->io_pending.snap, vm->io_pending.leaf);
	vm->io_pending.snap = vm->io_pending.leaf = NULL;
	for (int sp = 0; sp < 2; sp++) {
		io_snap_free(atomic_load(&vm->io[sp]), true);
		atomic_store(&vm->io[sp], NULL);
	}
	while (!hvabs__list_empty(&vm->io_zombies)) {
		struct hvabs_io_handler *h =
			hvabs__container_of(vm->io_zombies.next, struct hvabs_io_handler, node);

		hvabs__list_del(&h->node);
		hvabs__free(h);
	}
}

static struct hvabs__io_snap *io_snap_alloc(size_t nleaves)
{
	struct hvabs__io_snap *s;
	size_t sz = sizeof(*s) + nleaves * (sizeof(uint64_t) + sizeof(struct io_leaf *));

	s = hvabs__malloc(sz);
	if (!s)
		return NULL;
	s->nleaves = nleaves;
	s->first = (uint64_t *)(void *)(s + 1);
	s->leaves = (struct io_leaf **)(void *)(s->first + nleaves);
	return s;
}

/* Index of the last leaf whose first address <= addr, or -1. */
static ptrdiff_t io_leaf_find(const struct hvabs__io_snap *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nleaves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->first[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

/* Index of the last entry of @l whose address <= addr, or -1. */
static ptrdiff_t io_entry_find(const struct io_leaf *l, uint64_t addr)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (l->e[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

static inline uint64_t io_mask(uint32_t len)
{
	return len >= 8 ? ~0ull : ((1ull << (len * 8)) - 1);
}

static inline bool io_match(const struct io_entry *e, uint32_t len, bool is_write, uint64_t data)
{
	if (e->len && e->len != len)
		return false;
	if (!is_write)
		return e->read && !(e->flags & HVABS_IO_DATAMATCH);
	if (!e->write)
		return false;
	/*
	 * The written value, zero-extended from len bytes, must equal the whole
	 * datamatch value (as KVM's ioeventfds do): data bits above the width never
	 * match, so handlers whose data differ never serve the same write.
	 */
	return !(e->flags & HVABS_IO_DATAMATCH) || e->data == (data & io_mask(len));
}

/*
 * Find the entry serving an access; entries of one range are adjacent.
 * *alone tells whether that entry is the only one of its range, so the
 * result depends on nothing but (addr, len, is_write) and the data match.
 */
static const struct io_entry *io_lookup(const struct hvabs__io_snap *s, uint64_t addr, uint32_t len,
					bool is_write, uint64_t data, bool *alone)
{
	/* Most tables have one leaf: no search among leaves. */
	ptrdiff_t li = s->nleaves == 1 ? (s->first[0] <= addr ? 0 : -1) : io_leaf_find(s, addr), ei;
	const struct io_leaf *l;
	uint64_t group;

	*alone = false;
	if (li < 0)
		return NULL;
	l = s->leaves[li];
	ei = io_entry_find(l, addr);
	if (ei < 0 || addr > l->e[ei].last)
		return NULL;
	group = l->e[ei].addr;
	/* ei is the range's last entry: alone when the one before starts elsewhere. */
	*alone = ei > 0 ? l->e[ei - 1].addr != group
			: li == 0 || s->leaves[li - 1]->e[s->leaves[li - 1]->n - 1].addr != group;
	for (;;) {
		if (io_match(&l->e[ei], len, is_write, data))
			return &l->e[ei];
		if (--ei < 0) {
			if (--li < 0)
				return NULL;
			l = s->leaves[li];
			ei = (ptrdiff_t)l->n - 1;
		}
		if (l->e[ei].addr != group)
			return NULL;
	}
}

/*
 * Look an access up through the vCPU's last-hit cache: a device register
 * is usually accessed again and again. The cache holds an entry of the
 * snapshot of generation @gen only, which the caller has announced.
 */
static const struct io_entry *io_lookup_cached(struct hvabs_vcpu *vcpu, const struct hvabs__io_snap *s,
					       uint64_t gen, enum hvabs_space space, uint64_t addr,
					       uint32_t len, bool is_write, uint64_t data)
{
	const struct io_entry *e;
	bool alone;

	if (vcpu->io_cache.gen == gen && vcpu->io_cache.addr == addr && vcpu->io_cache.len == len &&
	    vcpu->io_cache.space == (uint8_t)space && vcpu->io_cache.is_write == (uint8_t)is_write) {
		e = vcpu->io_cache.entry;
		return io_match(e, len, is_write, data) ? e : NULL;
	}
	e = io_lookup(s, addr, len, is_write, data, &alone);
	if (e && alone) {
		vcpu->io_cache.gen = gen;
		vcpu->io_cache.addr = addr;
		vcpu->io_cache.entry = e;
		vcpu->io_cache.len = len;
		vcpu->io_cache.space = (uint8_t)space;
		vcpu->io_cache.is_write = (uint8_t)is_write;
	}
	return e;
}

bool hvabs__io_dispatch(struct hvabs_vcpu *vcpu, enum hvabs_space space, uint64_t addr,
			uint32_t len, bool is_write, uint64_t *data)
{
	struct hvabs_vm *vm = vcpu->vm;
	const struct hvabs__io_snap *s;
	const struct io_entry *e;
	void *payload;
	uint64_t gen;
	int ret;

	if (!atomic_load_explicit(&vm->io[space], memory_order_relaxed))
		return false;
	gen = atomic_load_explicit(&vm->io_gen, memory_order_acquire);
	for (;;) {
		if (io_asym) {
			atomic_store_explicit(&vcpu->io_gen, gen, memory_order_relaxed);
			atomic_signal_fence(memory_order_seq_cst);
		} else {
			atomic_store_explicit(&vcpu->io_gen, gen, memory_order_seq_cst);
		}
		s = atomic_load_explicit(&vm->io[space], memory_order_seq_cst);
		uint64_t g2 = atomic_load_explicit(&vm->io_gen, memory_order_seq_cst);
		if (g2 == gen)
			break;
		gen = g2;
	}
	e = s ? io_lookup_cached(vcpu, s, gen, space, addr, len, is_write, *data) : NULL;
	if (!e || atomic_load_explicit(&e->h->dead, memory_order_relaxed)) {
		atomic_store_explicit(&vcpu->io_gen, 0, memory_order_release);
		return false;
	}
	/*
	 * Only what the call takes is read from the entry, before the call:
	 * then the announcement ends, and the callback runs marked in
	 * vcpu->io_cb only. A writer thus never waits for callbacks to free
	 * table memory (a callback may block on the VM lock, which a writer
	 * inside bind/unbind holds); removing a handler waits for its own
	 * callbacks (io_wait_callbacks()). io_cb is set before the
	 * announcement is cleared: a writer that sees the clear sees the mark.
	 */
	payload = e->payload;
	hvabs_io_write_fn wfn = e->write;
	hvabs_io_read_fn rfn = e->read;
	atomic_store_explicit(&vcpu->io_cb, e->h, memory_order_relaxed);
	atomic_store_explicit(&vcpu->io_gen, 0, memory_order_release);
	io_tls_vcpu = vcpu;
	if (is_write) {
		ret = wfn(vcpu, addr, len, *data & io_mask(len), payload);
	} else {
		uint64_t v = 0;

		ret = rfn(vcpu, addr, len, &v, payload);
		if (ret == 0)
			*data = v & io_mask(len);
	}
	io_tls_vcpu = NULL;
	atomic_store_explicit(&vcpu->io_cb, NULL, memory_order_release);
	if (ret != 0)
		return false;
	hvabs__stat_inc(&vcpu->stats.dispatched);
	return true;
}

static uint64_t io_load_le(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void io_store_le(uint8_t *p, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < len && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool io_dispatch_one(struct hvabs_vcpu *vcpu, enum hvabs_space space, uint64_t addr,
			    uint32_t len, bool is_write, uint8_t *buf)
{
	uint64_t v = is_write ? io_load_le(buf, len) : 0;

	if (!hvabs__io_dispatch(vcpu, space, addr, len, is_write, &v))
		return false;
	if (!is_write)
		io_store_le(buf, len, v);
	return true;
}

bool hvabs__io_dispatch_exit(struct hvabs_vcpu *vcpu, struct hvabs_exit *exit)
{
	bool ok;

	if (exit->reason == HVABS_EXIT_MMIO) {
		ok = io_dispatch_one(vcpu, HVABS_SPACE_MMIO, exit->mmio.addr, exit->mmio.len,
				     exit->mmio.is_write, exit->mmio.data);
	} else if (exit->reason == HVABS_EXIT_PIO) {
		uint32_t count = exit->pio.count ? exit->pio.count : 1;

		/* A string access is served element by element by the handler of the first. */
		ok = io_dispatch_one(vcpu, HVABS_SPACE_PIO, exit->pio.port, exit->pio.size,
				     exit->pio.is_write, exit->pio.data);
		for (uint32_t i = 1; ok && i < count; i++)
			io_dispatch_one(vcpu, HVABS_SPACE_PIO, exit->pio.port, exit->pio.size,
					exit->pio.is_write, exit->pio.data + (size_t)i * exit->pio.size);
	} else {
		return false;
	}
	if (!ok)
		hvabs__stat_inc(&vcpu->stats.returned);
	return ok;
}

/* ---- writers (vm->lock held for publishing; waiting happens unlocked) ---- */

static void io_wait_readers(struct hvabs_vm *vm, uint64_t gen)
{
	size_t n;
	struct hvabs_vcpu **vs = hvabs__vm_vcpus(vm, &n);

	io_barrier_writer();
	for (size_t i = 0; i < n; i++) {
		struct hvabs_vcpu *v = vs[i];
		unsigned int spins = 0;

		if (v == io_tls_vcpu)
			continue;
		for (;;) {
			uint64_t g = atomic_load_explicit(&v->io_gen, memory_order_seq_cst);

			if (g == 0 || g >= gen)
				break;
			if (++spins > 64)
				sched_yield();
		}
	}
}

/*
 * Wait until no vCPU (other than the caller's own, when a callback removes
 * its handler) runs a callback of @h. Called after @h left the table and
 * the readers of older tables are gone, so no new callback of @h starts.
 */
static void io_wait_callbacks(struct hvabs_vm *vm, const struct hvabs_io_handler *h)
{
	size_t n;
	struct hvabs_vcpu **vs = hvabs__vm_vcpus(vm, &n);

	for (size_t i = 0; i < n; i++) {
		struct hvabs_vcpu *v = vs[i];
		unsigned int spins = 0;

		if (v == io_tls_vcpu)
			continue;
		while (atomic_load_explicit(&v->io_cb, memory_order_acquire) == h) {
			if (++spins > 64)
				sched_yield();
		}
	}
}

/* Swap @r for what the previous add left pending (VM lock held). */
static void io_pending_swap(struct hvabs_vm *vm, struct io_retired *r)
{
	struct io_retired prev = { vm->io_pending.snap, vm->io_pending.leaf, 0 };

	vm->io_pending.snap = r->snap;
	vm->io_pending.leaf = r->leaf;
	r->snap = prev.snap;
	r->leaf = prev.leaf;
}

/*
 * Wait out the grace period of generation @r->gen, then free what @r
 * holds. Memory retired at an older generation is covered too.
 */
static void io_retire(struct hvabs_vm *vm, struct io_retired *r)
{
	if (!r->snap && !r->leaf)
		return;
	io_wait_readers(vm, r->gen);
	io_retired_free(r->snap, r->leaf);
}

/* Publish @s for @space; the caller frees what it retired after io_retire(). */
static uint64_t io_publish(struct hvabs_vm *vm, enum hvabs_space space, struct hvabs__io_snap *s)
{
	atomic_store_explicit(&vm->io[space], s, memory_order_seq_cst);
	return atomic_fetch_add_explicit(&vm->io_gen, 1, memory_order_seq_cst) + 1;
}

static void io_entry_from_desc(struct io_entry *e, const struct hvabs_io_desc *d,
			       struct hvabs_io_handler *h)
{
	e->addr = d->addr;
	e->last = d->addr + ((d->size ? d->size : 1) - 1);
	e->len = d->len;
	e->flags = d->flags;
	e->data = (d->flags & HVABS_IO_DATAMATCH) ? d->data : 0;
	e->read = d->read;
	e->write = d->write;
	e->payload = d->payload;
	e->h = h;
}

/* Sort key inside a range group: len, then datamatch data. */
static bool io_entry_before(const struct io_entry *a, const struct io_entry *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr;
	if (a->len != b->len)
		return a->len < b->len;
	return a->data < b->data;
}

static bool io_collide(const struct io_entry *e, const struct io_entry *h)
{
	bool e_dm = e->flags & HVABS_IO_DATAMATCH, h_dm = h->flags & HVABS_IO_DATAMATCH;

	if (e->addr != h->addr || e->last != h->last)
		return true; /* partial overlap */
	if (e->len && h->len && e->len != h->len)
		return false;
	/* Unlike the v10 comparator, datamatch handlers compare their data too. */
	if (e_dm && h_dm && e->data != h->data)
		return false;
	return true;
}

/* EEXIST if @h overlaps an entry it may not share its range with. */
static int io_check_collision(const struct hvabs__io_snap *s, const struct io_entry *h)
{
	ptrdiff_t li, ei;

	if (!s)
		return 0;
	li = io_leaf_find(s, h->last);
	if (li < 0)
		return 0;
	ei = io_entry_find(s->leaves[li], h->last);
	while (li >= 0) {
		const struct io_leaf *l = s->leaves[li];

		for (; ei >= 0; ei--) {
			if (l->e[ei].last < h->addr)
				return 0;
			if (io_collide(&l->e[ei], h))
				return hvabs__error_set(HVABS_EEXIST, 0, "core",
							"io handler collides with one at 0x%llx",
							(unsigned long long)l->e[ei].addr);
		}
		if (--li >= 0)
			ei = (ptrdiff_t)s->leaves[li]->n - 1;
	}
	return 0;
}

/* New snapshot equal to @old with @h inserted; sets r->leaf to the leaf replaced. */
static int io_snap_insert(struct hvabs__io_snap **out, const struct hvabs__io_snap *old,
			  const struct io_entry *h, struct io_retired *r)
{
	size_t n = old ? old->nleaves : 0, li = 0;
	struct io_leaf *src = NULL, *a, *b = NULL;
	struct hvabs__io_snap *s;
	uint32_t pos = 0, total;

	if (n) {
		ptrdiff_t f = io_leaf_find(old, h->addr);

		li = f < 0 ? 0 : (size_t)f;
		src = old->leaves[li];
		while (pos < src->n && io_entry_before(&src->e[pos], h))
			pos++;
	}
	total = (src ? src->n : 0) + 1;
	a = hvabs__malloc(sizeof(*a));
	if (total > IO_LEAF_MAX)
		b = hvabs__malloc(sizeof(*b));
	s = io_snap_alloc(n + (n == 0) + (b != NULL));
	if (!a || (total > IO_LEAF_MAX && !b) || !s)
		goto out_nomem;

	/* merged = src[0..pos) + h + src[pos..n) split into a (and b) */
	struct io_entry tmp[IO_LEAF_MAX + 1];
	if (src)
		memcpy(tmp, src->e, pos * sizeof(tmp[0]));
	tmp[pos] = *h;
	if (src)
		memcpy(&tmp[pos + 1], &src->e[pos], (src->n - pos) * sizeof(tmp[0]));
	/* Appending at the end keeps the full leaf full (sequential adds pack densely). */
	a->n = !b ? total : (pos == total - 1 && li == n - 1) ? IO_LEAF_MAX : total / 2;
	memcpy(a->e, tmp, a->n * sizeof(tmp[0]));
	if (b) {
		b->n = total - a->n;
		memcpy(b->e, &tmp[a->n], b->n * sizeof(tmp[0]));
	}

	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == li) {
			s->leaves[j++] = a;
			if (b)
				s->leaves[j++] = b;
		} else {
			s->leaves[j++] = old->leaves[i];
		}
	}
	if (n == 0)
		s->leaves[j++] = a;
	for (size_t i = 0; i < s->nleaves; i++)
		s->first[i] = s->leaves[i]->e[0].addr;
	r->leaf = src;
	*out = s;
	return 0;

out_nomem:
	hvabs__free(a);
	hvabs__free(b);
	hvabs__free(s);
	return hvabs__error_nomem("core");
}

/* New snapshot equal to @old without @h (NULL when it becomes empty). */
static int io_snap_delete(struct hvabs__io_snap **out, const struct hvabs__io_snap *old,
			  const struct hvabs_io_handler *h, struct io_retired *r)
{
	ptrdiff_t li = io_leaf_find(old, h->addr), ei;
	const struct io_leaf *src;
	struct io_leaf *a = NULL;
	struct hvabs__io_snap *s = NULL;
	size_t nl;

	/* Entries of h's group may sit in an earlier leaf. */
	for (;;) {
		src = old->leaves[li];
		for (ei = (ptrdiff_t)src->n - 1; ei >= 0 && src->e[ei].h != h; ei--)
			;
		if (ei >= 0 || li == 0)
			break;
		li--;
	}
	if (ei < 0)
		return hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "io handler not in table");
	nl = old->nleaves - (src->n == 1);
	if (nl) {
		s = io_snap_alloc(nl);
		if (src->n > 1)
			a = hvabs__malloc(sizeof(*a));
		if (!s || (src->n > 1 && !a)) {
			hvabs__free(s);
			hvabs__free(a);
			return hvabs__error_nomem("core");
		}
	}
	if (a) {
		a->n = src->n - 1;
		memcpy(a->e, src->e, (size_t)ei * sizeof(a->e[0]));
		memcpy(&a->e[ei], &src->e[ei + 1], (src->n - (size_t)ei - 1) * sizeof(a->e[0]));
	}
	if (s) {
		size_t j = 0;

		for (size_t i = 0; i < old->nleaves; i++) {
			if ((ptrdiff_t)i != li)
				s->leaves[j++] = old->leaves[i];
			else if (a)
				s->leaves[j++] = a;
		}
		for (size_t i = 0; i < nl; i++)
			s->first[i] = s->leaves[i]->e[0].addr;
	}
	r->leaf = (struct io_leaf *)src;
	*out = s;
	return 0;
}

static int io_desc_check(struct hvabs_vm *vm, const struct hvabs_io_desc *d)
{
	struct hvabs_caps caps = { .version = HVABS_CAPS_VERSION };
	uint64_t size = d->size ? d->size : 1;
	int ret;

	ret = hvabs__check_version(d->version, HVABS_IO_DESC_VERSION, "hvabs_io_desc");
	if (ret)
		return ret;
	if (d->space != HVABS_SPACE_MMIO && d->space != HVABS_SPACE_PIO)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown address space %d", d->space);
	if (d->len != 0 && d->len != 1 && d->len != 2 && d->len != 4 && d->len != 8)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "access width %u is not 0/1/2/4/8",
					d->len);
	if (d->flags & ~HVABS_IO_DATAMATCH)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "unknown io flags 0x%x", d->flags);
	if ((d->flags & HVABS_IO_DATAMATCH) && (d->len == 0 || d->read))
		return hvabs__error_set(HVABS_EINVAL, 0, "core",
					"datamatch needs a width and serves writes only");
	if (!d->read && !d->write)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "io handler without read or write");
	if (d->addr + (size - 1) < d->addr)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "io range overflows");
	if (d->space == HVABS_SPACE_PIO && d->addr + (size - 1) > 0xffff)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "port range beyond 0xffff");
	hvabs_vm_caps(vm, &caps);
	if (!(caps.io_spaces & (1u << d->space)))
		return hvabs__error_set(HVABS_ENOTSUP, 0, vm->ops->name, "no %s address space",
					d->space == HVABS_SPACE_PIO ? "port I/O" : "MMIO");
	return 0;
}

int hvabs_vm_io_handler_add(struct hvabs_io_handler **out, struct hvabs_vm *vm,
			    const struct hvabs_io_desc *desc)
{
	struct io_retired r = { 0 };
	struct hvabs__io_snap *s, *old;
	struct hvabs_io_handler *h;
	struct io_entry e;
	int ret;

	if (!desc)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "io descriptor is NULL");
	ret = io_desc_check(vm, desc);
	if (ret)
		return ret;
	h = hvabs__calloc(1, sizeof(*h));
	if (!h)
		return hvabs__error_nomem("core");
	h->vm = vm;
	h->space = desc->space;
	h->addr = desc->addr;
	io_entry_from_desc(&e, desc, h);

	hvabs__vm_lock(vm);
	if (hvabs__vm_state(vm) == HVABS_VM_DESTROYED) {
		ret = hvabs__error_set(HVABS_ESTATE, 0, "core", "vm is destroyed");
		goto out_unlock;
	}
	old = atomic_load_explicit(&vm->io[h->space], memory_order_relaxed);
	ret = io_check_collision(old, &e);
	if (ret)
		goto out_unlock;
	ret = io_snap_insert(&s, old, &e, &r);
	if (ret)
		goto out_unlock;
	r.snap = old;
	r.gen = io_publish(vm, h->space, s);
	h->seq = ++vm->seq;
	hvabs__list_add_tail(&vm->io_handlers, &h->node);
	vm->nr_io_handlers++;
	/*
	 * No new handler can be half-seen, so nothing needs to wait here: the
	 * old table is left pending for the next update's grace period, and
	 * only what an earlier add left pending is freed now.
	 */
	io_pending_swap(vm, &r);
	hvabs__vm_unlock(vm);
	io_retire(vm, &r);
	if (out)
		*out = h;
	return 0;

out_unlock:
	hvabs__vm_unlock(vm);
	hvabs__free(h);
	return ret;
}

/*
 * Teardown (no vCPU runs): drop a handler without rebuilding the table,
 * which hvabs__io_fini() frees whole.
 */
void hvabs__io_handler_drop(struct hvabs_io_handler *h)
{
	hvabs__list_del(&h->node);
	h->vm->nr_io_handlers--;
	hvabs__free(h);
}

void hvabs_io_handler_remove(struct hvabs_io_handler *h)
{
	struct io_retired r = { 0 }, pending = { 0 };
	struct hvabs__io_snap *s = NULL, *old;
	struct hvabs_vm *vm;

	if (!h)
		return;
	vm = h->vm;
	hvabs__vm_lock(vm);
	if (vm->io_quiesced) {
		/*
		 * Teardown with every vCPU stopped: the table goes whole. (While
		 * a destroy still waits for the vCPUs, another thread's removal
		 * takes the normal path: vCPUs may still be reading the table.)
		 */
		hvabs__io_handler_drop(h);
		hvabs__vm_unlock(vm);
		return;
	}
	old = atomic_load_explicit(&vm->io[h->space], memory_order_relaxed);
	hvabs__list_del(&h->node);
	vm->nr_io_handlers--;
	if (io_snap_delete(&s, old, h, &r) != 0) {
		/*
		 * Removal cannot fail: without memory for a new table the entry
		 * stays, marked dead, and is freed with the VM.
		 */
		atomic_store_explicit(&h->dead, true, memory_order_seq_cst);
		hvabs__list_add_tail(&vm->io_zombies, &h->node);
		r.gen = atomic_fetch_add_explicit(&vm->io_gen, 1, memory_order_seq_cst) + 1;
		hvabs__vm_unlock(vm);
		io_wait_readers(vm, r.gen);
		io_wait_callbacks(vm, h);
		return;
	}
	r.snap = old;
	r.gen = io_publish(vm, h->space, s);
	pending.snap = vm->io_pending.snap;
	pending.leaf = vm->io_pending.leaf;
	vm->io_pending.snap = vm->io_pending.leaf = NULL;
	hvabs__vm_unlock(vm);
	io_retire(vm, &r);
	/* Retired before r.gen: the wait above covered it. */
	io_retired_free(pending.snap, pending.leaf);
	io_wait_callbacks(vm, h);
	hvabs__free(h);
}

size_t hvabs_vm_io_handler_count(struct hvabs_vm *vm)
{
	size_t n;

	hvabs__vm_lock(vm);
	n = vm->nr_io_handlers;
	hvabs__vm_unlock(vm);
	return n;
}
