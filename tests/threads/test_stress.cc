/* SPDX-License-Identifier: MIT */
/* tests/threads/test_stress.cc: combined stress - MMIO/PIO dispatch while handlers, functions, tickets, irqfds and kicks churn, then destroy mid-run. */
#include "guest_code.h"
#include "hvabs_test.h"
#include "sim_vm.h"

#include <sys/mman.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

/*
 * Every guest access carries a sequence number: access s of vCPU v writes
 * (v << 48 | s) to an MMIO slot (8 bytes) or s to a port slot (4 bytes),
 * the slot chosen by s. Each slot has one role: an IO handler that comes
 * and goes (and declines some accesses), an ioeventfd that comes and goes,
 * a user-defined function instance (ticket + IO handler) that comes and
 * goes, or nothing. An access must be seen by exactly one of {a handler, an
 * ioeventfd, the caller's exit}: handlers and runners check online that a
 * vCPU's sequence numbers arrive strictly increasing (no duplicate), and at
 * the end each slot's handler/exit observations plus its eventfd count
 * equal the number of accesses the guest completed there (none lost; the
 * access in flight when the VM was destroyed may have been seen once).
 *
 * Meanwhile other threads add and remove irqfds (and signal them), tickets
 * (and raise their doorbells), and kick vCPUs; handlers sometimes call back
 * into the library. The VM is destroyed while the vCPUs run, with the
 * descriptor-based churn and the kickers still going (they hold a VM
 * reference, so their calls stay memory-safe and fail cleanly).
 *
 * Variants: sim callback guests (MMIO, PIO, reads, interrupts), sim
 * Unicorn x86 long mode and arm64 (real guest code), KVM x86 (skipped
 * without /dev/kvm). Duration: $HVABS_STRESS_SECONDS per variant (default
 * 2; e.g. 600 by hand: run the binary directly, CTest's timeout is 60 s).
 */

using namespace hvt;

namespace {

constexpr uint32_t kV = 2;                  /* vCPUs */
constexpr uint32_t kK = 8;                  /* slots per vCPU and space */
constexpr uint32_t kLog2K = 3;
constexpr uint64_t kMmioBase = 0x30000000;  /* vCPU v: + v * 0x1000; slot: + 8 * slot */
constexpr uint64_t kReadOff = 0x800;        /* read register of each vCPU page (callback guests) */
constexpr uint16_t kPortBase = 0x4000;      /* vCPU v: + v * 0x40; slot: + 4 * slot */
constexpr uint64_t kSeqMask = (UINT64_C(1) << 48) - 1;
constexpr uint32_t kUserType = 0x9300;
constexpr uint32_t kIrqLabel = 10;          /* irqfd lines kIrqLabel.. (+4) */
constexpr uint32_t kTicketLabel = 20;       /* standalone BELL_TX tickets (+4) */
constexpr uint32_t kUserTicket = 0x1000;    /* BELL_RX tickets of user instances (+ key) */
constexpr int kSpaces = 2;                  /* index: HVABS_SPACE_MMIO / HVABS_SPACE_PIO */

enum class Role { HANDLER, IOEVENTFD, USERFN, NONE };
Role role_of(uint32_t slot)
{
	return (Role)(slot % 4);
}

enum class Variant { CALLBACK, UNICORN_X86, UNICORN_ARM64, KVM_X86 };

const char *variant_name(Variant v)
{
	switch (v) {
	case Variant::CALLBACK: return "sim_callback";
	case Variant::UNICORN_X86: return "sim_unicorn_x86_long64";
	case Variant::UNICORN_ARM64: return "sim_unicorn_arm64";
	case Variant::KVM_X86: return "kvm_x86_long64";
	}
	return "?";
}

double stress_seconds()
{
	const char *s = getenv("HVABS_STRESS_SECONDS");
	double v = s ? atof(s) : 2.0;
	return v < 0.2 ? 0.2 : v;
}

uint64_t slot_mmio(uint32_t v, uint32_t slot)
{
	return kMmioBase + v * 0x1000u + 8u * slot;
}

uint16_t slot_port(uint32_t v, uint32_t slot)
{
	return (uint16_t)(kPortBase + v * 0x40u + 4u * slot);
}

template <typename T> T within(std::future<T> &fut, const char *what, double seconds)
{
	if (fut.wait_for(std::chrono::duration<double>(seconds)) != std::future_status::ready) {
		fprintf(stderr, "stress: %s did not finish within %.0f s (deadlock?)\n", what, seconds);
		std::abort();
	}
	return fut.get();
}

struct Stress;

/* Payload of one slot's IO handler (plain or of a user instance). */
struct SlotCtx {
	Stress *s;
	uint32_t v;
	int space;
	uint32_t slot;
	bool user;
};

/* Argument of the user-defined type: one instance serves one USERFN slot. */
struct StressFnArg {
	uint32_t key;
	uint32_t v;
	uint32_t space;
	uint32_t slot;
};

struct UserInstance {
	SlotCtx ctx;
	hvabs_io_handler *handler = nullptr;
	hvabs_ticket *ticket = nullptr;
};

/* A standalone BELL_TX ticket whose doorbell a raiser rings while it is populated. */
struct RaisedTicket {
	std::mutex m;
	const hvabs_resource *res = nullptr;
	std::atomic<uint64_t> populates{ 0 }, unpopulates{ 0 }, raises{ 0 };
};

struct Stress {
	explicit Stress(Variant var) : variant(var)
	{
		pio = var == Variant::CALLBACK || var == Variant::UNICORN_X86 || var == Variant::KVM_X86;
		for (uint32_t v = 0; v < kV; v++) {
			last[v] = 0;
			issued[v] = 0;
			completed[v] = 0;
			for (int sp = 0; sp < kSpaces; sp++)
				for (uint32_t k = 0; k < kK; k++) {
					obs[v][sp][k] = 0;
					ctx[v][sp][k] = SlotCtx{ this, v, sp, k, false };
					efd[v][sp][k].reset(new EventFd());
				}
			read_ctx[v] = SlotCtx{ this, v, HVABS_SPACE_MMIO, 0, false };
		}
	}

	/* Which (space, slot) access @seq goes to. */
	int space_of(uint64_t seq) const { return pio && (seq & 1) ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO; }
	uint32_t slot_of(uint64_t seq) const
	{
		return (uint32_t)((pio ? seq >> 1 : seq) & (kK - 1));
	}
	/* How many of the accesses [0, n) went to (space, slot). */
	uint64_t expected(uint64_t n, int space, uint32_t slot) const
	{
		uint64_t m = n;
		if (pio) {
			uint64_t sp = space == HVABS_SPACE_PIO ? 1 : 0;
			m = n > sp ? (n - sp + 1) / 2 : 0;
		} else if (space == HVABS_SPACE_PIO) {
			return 0;
		}
		return m / kK + (slot < m % kK ? 1 : 0);
	}

	void problem(const std::string &p)
	{
		std::lock_guard<std::mutex> lk(problem_m);
		if (problems.size() < 20)
			problems.push_back(p);
		bad = true;
	}

	/* An access seen by a handler or an exit. */
	void observe(uint32_t v, int space, uint32_t slot, uint64_t seq, const char *who)
	{
		if (v >= kV || slot >= kK) {
			problem(std::string(who) + ": access outside the stress slots");
			return;
		}
		if (space_of(seq) != space || slot_of(seq) != slot) {
			char b[160];
			snprintf(b, sizeof(b), "%s: vCPU %u seq %" PRIu64 " arrived at space %d slot %u",
				 who, v, seq, space, slot);
			problem(b);
			return;
		}
		uint64_t prev = last[v].load(std::memory_order_relaxed);
		if (seq < prev) {
			char b[160];
			snprintf(b, sizeof(b), "%s: vCPU %u seq %" PRIu64 " seen again or out of order (after %" PRIu64 ")",
				 who, v, seq, prev - 1);
			problem(b);
		}
		last[v].store(seq + 1, std::memory_order_relaxed);
		obs[v][space][slot].fetch_add(1, std::memory_order_relaxed);
	}

	/* The full sequence number of a PIO value (its low 32 bits). */
	uint64_t widen(uint32_t v, uint32_t val) const
	{
		uint64_t prev = last[v < kV ? v : 0].load(std::memory_order_relaxed);
		uint64_t s = (prev & ~UINT64_C(0xffffffff)) | val;
		return s + 1 < prev ? s + (UINT64_C(1) << 32) : s;
	}

	Variant variant;
	bool pio;
	hvabs_vm *vm = nullptr;
	hvabs_vcpu *vcpus[kV] = {};

	std::atomic<uint64_t> last[kV];      /* last seq seen + 1 */
	std::atomic<uint64_t> obs[kV][kSpaces][kK];
	std::atomic<uint64_t> issued[kV], completed[kV]; /* callback guests */
	std::unique_ptr<EventFd> efd[kV][kSpaces][kK];
	SlotCtx ctx[kV][kSpaces][kK];
	SlotCtx read_ctx[kV];

	std::atomic<uint64_t> by_handler{ 0 }, by_user{ 0 }, by_exit{ 0 }, declined{ 0 };
	std::atomic<uint64_t> reads_issued{ 0 }, reads_done{ 0 }, reads_by_handler{ 0 }, reads_by_exit{ 0 };
	std::atomic<uint64_t> intr_exits{ 0 }, irqs_taken{ 0 }, lib_calls{ 0 };
	std::atomic<uint64_t> handler_swaps{ 0 }, efd_swaps{ 0 }, user_swaps{ 0 }, ticket_swaps{ 0 };
	std::atomic<uint64_t> irqfd_swaps{ 0 }, kicks{ 0 };
	std::atomic<int> user_live{ 0 }, user_binds{ 0 }, user_unbinds{ 0 };
	std::atomic<uint64_t> user_populates{ 0 }, user_unpopulates{ 0 };
	RaisedTicket tickets[4];

	std::atomic<bool> stop_handles{ false }; /* handle-based churn: stops before destroy */
	std::atomic<bool> destroying{ false };
	std::atomic<bool> stop_all{ false };
	std::atomic<bool> bad{ false };
	std::mutex problem_m;
	std::vector<std::string> problems;
};

/* ---- observers ---- */

uint32_t read_magic(uint32_t v)
{
	return 0xc0de0000u | v;
}

/*
 * Plain slot handler: declines every fifth access (the access must then
 * reach the caller), and now and then calls into the library, as handler
 * callbacks may.
 */
int slot_write(hvabs_vcpu *, uint64_t, uint32_t len, uint64_t data, void *payload)
{
	SlotCtx *c = static_cast<SlotCtx *>(payload);
	Stress *s = c->s;
	uint64_t seq;

	if (c->space == HVABS_SPACE_MMIO) {
		if (len != 8 || data >> 48 != c->v) {
			s->problem("slot handler: MMIO write of the wrong width or vCPU tag");
			return 0;
		}
		seq = data & kSeqMask;
	} else {
		if (len != 4) {
			s->problem("slot handler: PIO write of the wrong width");
			return 0;
		}
		seq = s->widen(c->v, (uint32_t)data);
	}
	if (!c->user && seq % 5 == 0) {
		s->declined++;
		return 1;
	}
	s->observe(c->v, c->space, c->slot, seq, c->user ? "user handler" : "handler");
	(c->user ? s->by_user : s->by_handler)++;
	if (!c->user && seq % 61 == 0) {
		/*
		 * Takes the VM lock: must not deadlock with function add/remove
		 * elsewhere. (Not from user instances' handlers: their unbind
		 * removes them with the lock held, see hvabs_io_handler_remove().)
		 */
		(void)hvabs_vm_io_handler_count(s->vm);
		s->lib_calls++;
	}
	return 0;
}

int read_reg(hvabs_vcpu *, uint64_t, uint32_t len, uint64_t *data, void *payload)
{
	SlotCtx *c = static_cast<SlotCtx *>(payload);
	if (len != 4)
		c->s->problem("read handler: wrong width");
	*data = read_magic(c->v);
	c->s->reads_by_handler++;
	return 0;
}

/* ---- the user-defined function type ---- */

int user_populate(hvabs_ticket *, const hvabs_resource *, void *payload)
{
	static_cast<UserInstance *>(payload)->ctx.s->user_populates++;
	return 0;
}

void user_unpopulate(hvabs_ticket *, const hvabs_resource *, void *payload)
{
	static_cast<UserInstance *>(payload)->ctx.s->user_unpopulates++;
}

int user_bind(hvabs_function *fn)
{
	Stress *s = static_cast<Stress *>(hvabs_function_type_payload(fn));
	uint32_t size = 0;
	const StressFnArg *a = static_cast<const StressFnArg *>(hvabs_function_arg(fn, &size));
	hvabs_vm *vm = hvabs_function_vm(fn);
	int ret;

	if (size != sizeof(*a) || a->v >= kV || a->slot >= kK || a->space >= (uint32_t)kSpaces)
		return HVABS_EINVAL;
	auto *in = new UserInstance;
	in->ctx = SlotCtx{ s, a->v, (int)a->space, a->slot, true };
	hvabs_ticket_desc td{};
	td.version = HVABS_TICKET_DESC_VERSION;
	td.type = HVABS_RESOURCE_BELL_RX;
	td.label = kUserTicket + a->key;
	td.populate = user_populate;
	td.unpopulate = user_unpopulate;
	td.payload = in;
	ret = hvabs_vm_ticket_add(&in->ticket, vm, &td);
	if (ret) {
		delete in;
		return ret;
	}
	hvabs_io_desc d = a->space == HVABS_SPACE_MMIO ?
		io_desc(HVABS_SPACE_MMIO, slot_mmio(a->v, a->slot), 8, 8, nullptr, slot_write, &in->ctx) :
		io_desc(HVABS_SPACE_PIO, slot_port(a->v, a->slot), 4, 4, nullptr, slot_write, &in->ctx);
	ret = hvabs_vm_io_handler_add(&in->handler, vm, &d);
	if (ret) {
		hvabs_ticket_remove(in->ticket);
		delete in;
		return ret;
	}
	hvabs_function_set_data(fn, in);
	s->user_binds++;
	s->user_live++;
	return 0;
}

void user_unbind(hvabs_function *fn)
{
	Stress *s = static_cast<Stress *>(hvabs_function_type_payload(fn));
	auto *in = static_cast<UserInstance *>(hvabs_function_data(fn));

	/* Once remove returns no callback runs: the payload can go. */
	hvabs_io_handler_remove(in->handler);
	hvabs_ticket_remove(in->ticket);
	delete in;
	s->user_unbinds++;
	s->user_live--;
}

bool user_compare(const hvabs_function *fn, const void *arg, uint32_t size)
{
	const StressFnArg *mine = static_cast<const StressFnArg *>(hvabs_function_arg(fn, nullptr));
	return size == sizeof(StressFnArg) && static_cast<const StressFnArg *>(arg)->key == mine->key;
}

/* ---- standalone tickets ---- */

int ticket_populate(hvabs_ticket *, const hvabs_resource *res, void *payload)
{
	auto *t = static_cast<RaisedTicket *>(payload);
	std::lock_guard<std::mutex> lk(t->m);
	t->res = res;
	t->populates++;
	return 0;
}

void ticket_unpopulate(hvabs_ticket *, const hvabs_resource *, void *payload)
{
	auto *t = static_cast<RaisedTicket *>(payload);
	std::lock_guard<std::mutex> lk(t->m);
	t->res = nullptr;
	t->unpopulates++;
}

/* ---- guests ---- */

/* Callback guest: the sequenced writes, and every 64th round a read and an interrupt poll. */
void callback_guest(hvabs_sim_guest *g, void *payload)
{
	Stress *s = static_cast<Stress *>(payload);
	uint32_t v = hvabs_vcpu_id(hvabs_sim_guest_vcpu(g));

	for (uint64_t seq = 0;; seq++) {
		uint32_t slot = s->slot_of(seq);
		s->issued[v].store(seq + 1, std::memory_order_relaxed);
		if (s->space_of(seq) == HVABS_SPACE_PIO)
			hvabs_sim_guest_pio_write(g, slot_port(v, slot), 4, (uint32_t)seq);
		else
			hvabs_sim_guest_mmio_write(g, slot_mmio(v, slot), 8, (uint64_t)v << 48 | seq);
		s->completed[v].store(seq + 1, std::memory_order_relaxed);
		if (seq % 64 != 63)
			continue;
		uint64_t val = 0;
		s->reads_issued++;
		if (hvabs_sim_guest_mmio_read(g, kMmioBase + v * 0x1000u + kReadOff, 4, &val) ||
		    val != read_magic(v))
			s->problem("a read came back with the wrong data");
		s->reads_done++;
		uint32_t line;
		if (hvabs_sim_guest_poll_irq(g, &line)) {
			s->irqs_taken++;
			hvabs_sim_guest_eoi(g, line);
		}
	}
}

/*
 * x86 long mode: rax = seq, rbx = MMIO page, rcx = progress word (RAM),
 * rsi = vCPU tag, r10 = port base. Even seq: 8-byte MMIO write of
 * tag | seq to slot (seq >> 1) % kK; odd seq: 4-byte OUT of seq to that
 * slot's port. After each access the progress word = seq + 1.
 */
hostile::Code stress_code_x86(uint64_t progress)
{
	using hostile::Code;
	Code c(hostile::Mode::LONG64, hostile::layout(hostile::Mode::LONG64).code);
	std::vector<size_t> je_fix, pro_at;
	for (uint32_t v = 0; v < kV; v++) {
		c.raw({ 0x81, 0xff }), c.u32(v); /* cmp $v, %edi */
		c.raw({ 0x0f, 0x84 });           /* je prologue_v */
		je_fix.push_back(c.bytes().size());
		c.u32(0);
	}
	c.halt_forever();
	size_t jmp_loop_fix[kV];
	for (uint32_t v = 0; v < kV; v++) {
		pro_at.push_back(c.bytes().size());
		c.raw({ 0x31, 0xc0 });                                /* xor %eax, %eax */
		c.raw({ 0x48, 0xbb }), c.u64(kMmioBase + v * 0x1000u); /* movabs $page, %rbx */
		c.raw({ 0x48, 0xb9 }), c.u64(progress + 8 * v);       /* movabs $progress, %rcx */
		c.raw({ 0x48, 0xbe }), c.u64((uint64_t)v << 48);      /* movabs $tag, %rsi */
		c.raw({ 0x41, 0xba }), c.u32(slot_port(v, 0));        /* mov $port, %r10d */
		c.u8(0xe9);                                           /* jmp loop */
		jmp_loop_fix[v] = c.bytes().size();
		c.u32(0);
	}
	size_t loop = c.bytes().size();
	c.raw({ 0x49, 0x89, 0xc0 });                        /* mov %rax, %r8 */
	c.raw({ 0x41, 0x83, 0xe0, (kK - 1) << 1 });        /* and $2(K-1), %r8d */
	c.raw({ 0x49, 0x89, 0xc1 });                        /* mov %rax, %r9 */
	c.raw({ 0x49, 0x09, 0xf1 });                        /* or %rsi, %r9 */
	c.raw({ 0x4e, 0x89, 0x0c, 0x83 });                  /* mov %r9, (%rbx,%r8,4) */
	c.raw({ 0x48, 0xff, 0xc0 });                        /* inc %rax */
	c.raw({ 0x48, 0x89, 0x01 });                        /* mov %rax, (%rcx) */
	c.raw({ 0x89, 0xc2 });                              /* mov %eax, %edx */
	c.raw({ 0x83, 0xe2, (kK - 1) << 1 });               /* and $2(K-1), %edx */
	c.raw({ 0xd1, 0xe2 });                              /* shl %edx */
	c.raw({ 0x44, 0x01, 0xd2 });                        /* add %r10d, %edx */
	c.u8(0xef);                                         /* out %eax, (%dx) */
	c.raw({ 0x48, 0xff, 0xc0 });                        /* inc %rax */
	c.raw({ 0x48, 0x89, 0x01 });                        /* mov %rax, (%rcx) */
	c.u8(0xe9);                                         /* jmp loop */
	c.u32((uint32_t)(int32_t)(loop - (c.bytes().size() + 4)));
	std::vector<uint8_t> b = c.bytes();
	auto patch = [&](size_t at, size_t target) {
		int32_t rel = (int32_t)(target - (at + 4));
		memcpy(&b[at], &rel, 4);
	};
	for (uint32_t v = 0; v < kV; v++) {
		patch(je_fix[v], pro_at[v]);
		patch(jmp_loop_fix[v], loop);
	}
	Code out(hostile::Mode::LONG64, c.base());
	out.raw(b);
	return out;
}

/* arm64: x0 = seq, x1 = MMIO page, x2 = progress word, x5 = tag; every access is an MMIO write. */
hostile::Code stress_code_arm64(uint64_t progress)
{
	using hostile::Code;
	const uint64_t base = hostile::layout(hostile::Mode::ARM64).code;
	/* Fixed layout: dispatch (2 words per vCPU), park (3), prologues (16 words each), loop. */
	const uint64_t pro0 = base + 4 * (2 * kV + 3);
	const uint64_t pro_size = 4 * 16;
	const uint64_t loop = pro0 + kV * pro_size;
	Code c(hostile::Mode::ARM64, base);
	for (uint32_t v = 0; v < kV; v++) {
		c.insn(0xf100003fu | v << 10);                          /* cmp x1, #v */
		uint64_t target = pro0 + v * pro_size;
		int64_t rel = (int64_t)(target - c.here()) / 4;
		c.insn(0x54000000u | ((uint32_t)rel & 0x7ffff) << 5); /* b.eq prologue_v */
	}
	c.halt_forever();
	auto mov = [&](unsigned reg, uint64_t val) {
		for (unsigned hw = 0; hw < 4; hw++) /* movz + 3 movk: fixed size */
			c.insn((hw ? 0xf2800000u : 0xd2800000u) | hw << 21 |
			       (uint32_t)((val >> (16 * hw)) & 0xffff) << 5 | reg);
	};
	for (uint32_t v = 0; v < kV; v++) {
		if (c.here() != pro0 + v * pro_size)
			return Code(hostile::Mode::ARM64, 0); /* layout broken: caught by the caller */
		c.insn(0xd2800000u);                 /* movz x0, #0 */
		mov(1, kMmioBase + v * 0x1000u);
		mov(2, progress + 8 * v);
		mov(5, (uint64_t)v << 48);
		c.insn(0x14000000u | (uint32_t)((loop - c.here()) / 4)); /* b loop */
		while (c.here() < pro0 + (v + 1) * pro_size)
			c.insn(0xd503201fu); /* nop */
	}
	c.insn(0xd3400003u | (kLog2K - 1) << 10); /* ubfx x3, x0, #0, #log2K */
	c.insn(0xaa050004u);                      /* orr x4, x0, x5 */
	c.insn(0xf8237824u);                      /* str x4, [x1, x3, lsl #3] */
	c.insn(0x91000400u);                      /* add x0, x0, #1 */
	c.insn(0xf9000040u);                      /* str x0, [x2] */
	c.insn(0x14000000u | (uint32_t)(-5 & 0x3ffffff)); /* b loop */
	return c;
}

/* ---- threads ---- */

/* Runs one vCPU until the VM is destroyed (HVABS_ESTATE). */
void runner(Stress *s, uint32_t v)
{
	hvabs_vcpu *vcpu = s->vcpus[v];
	hvabs_exit *e = hvabs_vcpu_exit(vcpu);

	for (;;) {
		int ret = hvabs_vcpu_run(vcpu);
		if (ret == HVABS_ESTATE && s->destroying)
			return;
		if (ret) {
			s->problem("vCPU run failed: " + describe(ret));
			return;
		}
		switch (e->reason) {
		case HVABS_EXIT_MMIO: {
			uint64_t off = e->mmio.addr - kMmioBase;
			uint32_t page = (uint32_t)(off >> 12);
			if (!e->mmio.is_write) {
				if (s->variant != Variant::CALLBACK || (off & 0xfff) != kReadOff ||
				    e->mmio.len != 4 || page >= kV) {
					s->problem("unexpected MMIO read exit");
					return;
				}
				le_store(e->mmio.data, 4, read_magic(page));
				s->reads_by_exit++;
				break;
			}
			uint64_t data = le_load(e->mmio.data, e->mmio.len);
			if (e->mmio.len != 8 || (off & 0xfff) % 8 || (off & 0xfff) / 8 >= kK ||
			    page >= kV || data >> 48 != page) {
				char b[160];
				snprintf(b, sizeof(b), "unexpected MMIO write exit: addr 0x%" PRIx64 " len %u data 0x%" PRIx64,
					 e->mmio.addr, e->mmio.len, data);
				s->problem(b);
				return;
			}
			s->observe(page, HVABS_SPACE_MMIO, (uint32_t)((off & 0xfff) / 8), data & kSeqMask, "exit");
			s->by_exit++;
			break;
		}
		case HVABS_EXIT_PIO: {
			uint32_t off = (uint32_t)e->pio.port - kPortBase;
			uint32_t pv = off / 0x40, slot = (off % 0x40) / 4;
			if (!e->pio.is_write || e->pio.size != 4 || e->pio.count != 1 || off % 4 || pv >= kV ||
			    slot >= kK) {
				s->problem("unexpected PIO exit");
				return;
			}
			uint32_t val = (uint32_t)le_load(e->pio.data, 4);
			s->observe(pv, HVABS_SPACE_PIO, slot, s->widen(pv, val), "exit");
			s->by_exit++;
			break;
		}
		case HVABS_EXIT_INTR:
			s->intr_exits++;
			break;
		default:
			s->problem(std::string("unexpected exit ") + hvabs_exit_reason_name(e->reason));
			return;
		}
	}
}

/* Adds and removes the plain slot handlers (and the read registers) by handle. */
void handler_churn(Stress *s, unsigned seed)
{
	std::mt19937 rng(seed);
	hvabs_io_handler *h[kV][kSpaces][kK] = {};
	hvabs_io_handler *rd[kV] = {};

	while (!s->stop_handles) {
		uint32_t v = rng() % kV, slot = (rng() % (kK / 4)) * 4; /* HANDLER slots: 0, 4 */
		int sp = (s->pio && rng() % 2) ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO;
		if (s->variant == Variant::CALLBACK && rng() % 4 == 0) {
			if (rd[v]) {
				hvabs_io_handler_remove(rd[v]);
				rd[v] = nullptr;
			} else {
				hvabs_io_desc d = io_desc(HVABS_SPACE_MMIO, kMmioBase + v * 0x1000u + kReadOff, 4, 4,
							  read_reg, nullptr, &s->read_ctx[v]);
				int ret = hvabs_vm_io_handler_add(&rd[v], s->vm, &d);
				if (ret)
					s->problem("read handler add: " + describe(ret));
			}
		} else if (h[v][sp][slot]) {
			hvabs_io_handler_remove(h[v][sp][slot]);
			h[v][sp][slot] = nullptr;
		} else {
			hvabs_io_desc d = sp == HVABS_SPACE_MMIO ?
				io_desc(HVABS_SPACE_MMIO, slot_mmio(v, slot), 8, 8, nullptr, slot_write, &s->ctx[v][sp][slot]) :
				io_desc(HVABS_SPACE_PIO, slot_port(v, slot), 4, 4, nullptr, slot_write, &s->ctx[v][sp][slot]);
			int ret = hvabs_vm_io_handler_add(&h[v][sp][slot], s->vm, &d);
			if (ret)
				s->problem("handler add: " + describe(ret));
		}
		s->handler_swaps++;
		if (rng() % 8 == 0)
			std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
	}
	for (auto &a : h)
		for (auto &b : a)
			for (hvabs_io_handler *x : b)
				hvabs_io_handler_remove(x);
	for (hvabs_io_handler *x : rd)
		hvabs_io_handler_remove(x);
}

/* Standalone tickets and irqfds, by handle; a raiser rings the populated doorbells. */
void ticket_irqfd_churn(Stress *s, unsigned seed)
{
	std::mt19937 rng(seed);
	hvabs_ticket *t[4] = {};
	hvabs_function *irq[4] = {};
	EventFd efds[4];

	while (!s->stop_handles) {
		uint32_t i = rng() % 4;
		switch (rng() % 3) {
		case 0:
			if (t[i]) {
				hvabs_ticket_remove(t[i]);
				t[i] = nullptr;
			} else {
				hvabs_ticket_desc d{};
				d.version = HVABS_TICKET_DESC_VERSION;
				d.type = HVABS_RESOURCE_BELL_TX;
				d.label = kTicketLabel + i;
				d.populate = ticket_populate;
				d.unpopulate = ticket_unpopulate;
				d.payload = &s->tickets[i];
				int ret = hvabs_vm_ticket_add(&t[i], s->vm, &d);
				if (ret)
					s->problem("ticket add: " + describe(ret));
			}
			s->ticket_swaps++;
			break;
		case 1:
			if (irq[i]) {
				int ret = hvabs_function_remove(irq[i]);
				if (ret)
					s->problem("irqfd remove: " + describe(ret));
				irq[i] = nullptr;
			} else {
				int ret = hvabs_vm_irqfd_add(&irq[i], s->vm, efds[i].fd(), kIrqLabel + i, 0, -1);
				if (ret)
					s->problem("irqfd add: " + describe(ret));
			}
			s->irqfd_swaps++;
			break;
		default: {
			efds[i].signal();
			std::lock_guard<std::mutex> lk(s->tickets[i].m);
			if (s->tickets[i].res) {
				int ret = hvabs_resource_raise(s->tickets[i].res);
				if (ret && ret != HVABS_ENOTSUP)
					s->problem("raise: " + describe(ret));
				s->tickets[i].raises++;
			}
			break;
		}
		}
		if (rng() % 4 == 0)
			std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
	}
	for (int i = 0; i < 4; i++) {
		hvabs_ticket_remove(t[i]);
		if (irq[i] && hvabs_function_remove(irq[i]))
			s->problem("irqfd remove at the end: " + last_error_text());
	}
}

/*
 * Descriptor-based churn of ioeventfds and user instances: keeps going
 * through the destroy (then add fails with ESTATE and remove with ENOTFOUND).
 */
void function_churn(Stress *s, unsigned seed, bool user)
{
	std::mt19937 rng(seed);
	bool present[kV][kSpaces][kK] = {};

	while (!s->stop_all) {
		uint32_t v = rng() % kV;
		uint32_t slot = (rng() % (kK / 4)) * 4 + (user ? 2 : 1);
		int sp = (s->pio && rng() % 2) ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO;
		int ret;
		hvabs_fn_ioeventfd_arg ea{};
		ea.addr = sp == HVABS_SPACE_MMIO ? slot_mmio(v, slot) : slot_port(v, slot);
		ea.len = sp == HVABS_SPACE_MMIO ? 8 : 4;
		ea.fd = s->efd[v][sp][slot]->fd();
		ea.space = (uint32_t)sp;
		StressFnArg ua{ (v * kSpaces + (uint32_t)sp) * kK + slot, v, (uint32_t)sp, slot };
		hvabs_fn_desc d{};
		d.type = user ? kUserType : HVABS_FN_IOEVENTFD;
		d.arg_size = user ? (uint32_t)sizeof(ua) : (uint32_t)sizeof(ea);
		d.arg = user ? (const void *)&ua : (const void *)&ea;
		if (present[v][sp][slot]) {
			ret = hvabs_vm_function_remove(s->vm, &d);
			/* Read after the call: the destroy may have started during it. */
			if (ret && !(s->destroying && ret == HVABS_ENOTFOUND))
				s->problem(std::string(user ? "user" : "ioeventfd") + " remove: " + describe(ret));
			present[v][sp][slot] = false;
		} else {
			ret = hvabs_vm_function_add(nullptr, s->vm, &d);
			if (ret == 0)
				present[v][sp][slot] = true;
			else if (!(s->destroying && ret == HVABS_ESTATE))
				s->problem(std::string(user ? "user" : "ioeventfd") + " add: " + describe(ret));
		}
		(user ? s->user_swaps : s->efd_swaps)++;
		if (rng() % 8 == 0)
			std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
	}
}

void kicker(Stress *s, unsigned seed)
{
	std::mt19937 rng(seed);
	while (!s->stop_all) {
		int burst = rng() % 16 == 0 ? 64 : 1;
		for (int i = 0; i < burst; i++)
			hvabs_vcpu_kick(s->vcpus[rng() % kV]);
		s->kicks += (uint64_t)burst;
		std::this_thread::sleep_for(std::chrono::microseconds(50 + rng() % 500));
	}
}

bool variant_usable(Variant var, std::string *why)
{
	hvabs_caps caps{};
	const char *backend = var == Variant::KVM_X86 ? "kvm" : "sim";
	if (!backend_compiled(backend)) {
		*why = std::string(backend) + " not compiled in";
		return false;
	}
	if (hvabs_backend_probe(backend) != 0) {
		*why = std::string(backend) + " unusable: " + hvabs_error_last()->message;
		return false;
	}
	if (var == Variant::UNICORN_X86 || var == Variant::UNICORN_ARM64) {
		if (!backend_caps("sim", &caps) || !(caps.features & HVABS_FEAT_REAL_GUESTS)) {
			*why = "sim without Unicorn (HVABS_SIM_UNICORN=OFF)";
			return false;
		}
	}
#if !defined(__x86_64__)
	if (var == Variant::KVM_X86) {
		*why = "KVM x86 guests need an x86-64 host";
		return false;
	}
#endif
	return true;
}

class StressTest : public ::testing::TestWithParam<Variant> {};

TEST_P(StressTest, ChurnKicksAndDestroyWhileRunningLoseAndDuplicateNoAccess)
{
	const Variant var = GetParam();
	std::string why;
	if (!variant_usable(var, &why))
		GTEST_SKIP() << why;

	const int fds0 = open_fd_count();
	const size_t allocs0 = hvabs_alloc_count();
	const double seconds = stress_seconds();
	auto s = std::make_unique<Stress>(var);

	hvabs_function_type ut{};
	ut.version = HVABS_FUNCTION_TYPE_VERSION;
	ut.type = kUserType;
	ut.name = "stress-dev";
	ut.bind = user_bind;
	ut.unbind = user_unbind;
	ut.compare = user_compare;
	ut.payload = s.get();
	HV_ASSERT_OK(hvabs_function_type_register(&ut));

	/* Real guests: caller-owned RAM, so the progress words outlive the VM. */
	const hostile::Mode mode = var == Variant::UNICORN_ARM64 ? hostile::Mode::ARM64 : hostile::Mode::LONG64;
	const hostile::Layout &lay = hostile::layout(mode);
	void *ram = MAP_FAILED;
	volatile uint64_t *progress = nullptr;
	const uint64_t progress_gpa = lay.ram_base + 0x40000;
	SimVm sim;
	if (var == Variant::CALLBACK) {
		HV_ASSERT_OK(sim.create());
		s->vm = sim.release();
		for (uint32_t v = 0; v < kV; v++) {
			HV_ASSERT_OK(hvabs_vm_vcpu_add(&s->vcpus[v], s->vm, v));
			HV_ASSERT_OK(hvabs_sim_vcpu_set_guest(s->vcpus[v], callback_guest, s.get()));
		}
	} else {
		hvabs_vm_options o = vm_options(var == Variant::KVM_X86 ? "kvm" : "sim");
		o.arch = hostile::mode_arch(mode);
		HV_ASSERT_OK(hvabs_vm_create(&s->vm, &o));
		ram = mmap(nullptr, lay.ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, ram);
		HV_ASSERT_OK(hostile::add_memory(s->vm, mode, false, ram));
		hostile::Code code = mode == hostile::Mode::ARM64 ? stress_code_arm64(progress_gpa) :
								  stress_code_x86(progress_gpa);
		ASSERT_NE(0u, code.base()) << "arm64 stress code layout";
		ASSERT_TRUE(code.install(s->vm));
		progress = (volatile uint64_t *)((uint8_t *)ram + (progress_gpa - lay.ram_base));
		for (uint32_t v = 0; v < kV; v++)
			HV_ASSERT_OK(hvabs_vm_vcpu_add(&s->vcpus[v], s->vm, v));
	}
	hvabs_vm_get(s->vm); /* the threads' reference: calls after the destroy stay memory-safe */
	HV_ASSERT_OK(hvabs_vm_start(s->vm));

	std::vector<std::future<void>> runners;
	for (uint32_t v = 0; v < kV; v++)
		runners.push_back(std::async(std::launch::async, runner, s.get(), v));
	std::vector<std::future<void>> handles, others;
	handles.push_back(std::async(std::launch::async, handler_churn, s.get(), 1u));
	handles.push_back(std::async(std::launch::async, ticket_irqfd_churn, s.get(), 2u));
	others.push_back(std::async(std::launch::async, function_churn, s.get(), 3u, false));
	others.push_back(std::async(std::launch::async, function_churn, s.get(), 4u, true));
	others.push_back(std::async(std::launch::async, kicker, s.get(), 5u));

	/* Every vCPU must keep making progress: a stall of 20 s is a deadlock. */
	auto made = [&](uint32_t v) -> uint64_t {
		return var == Variant::CALLBACK ? s->completed[v].load() : progress[v];
	};
	auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
	auto checked = std::chrono::steady_clock::now();
	uint64_t seen[kV] = {};
	while (std::chrono::steady_clock::now() < deadline && !s->bad) {
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		if (std::chrono::steady_clock::now() - checked < std::chrono::seconds(20))
			continue;
		for (uint32_t v = 0; v < kV; v++) {
			if (made(v) == seen[v]) {
				fprintf(stderr, "stress: vCPU %u made no progress for 20 s (deadlock?)\n", v);
				std::abort();
			}
			seen[v] = made(v);
		}
		checked = std::chrono::steady_clock::now();
	}
	s->stop_handles = true;
	for (auto &t : handles)
		within(t, "handle-based churn", 30);
	std::this_thread::sleep_for(std::chrono::milliseconds(20));

	/* Destroy while the vCPUs run, the kickers kick and descriptor churn goes on. */
	s->destroying = true;
	auto destroyer = std::async(std::launch::async, [&] { hvabs_vm_destroy(s->vm); });
	within(destroyer, "hvabs_vm_destroy while vCPUs run", 30);
	for (auto &r : runners)
		within(r, "vCPU runner after destroy", 30);
	s->stop_all = true;
	for (auto &t : others)
		within(t, "descriptor churn and kicks", 30);

	for (const std::string &p : s->problems)
		ADD_FAILURE() << variant_name(var) << ": " << p;

	/* Exactly once: per slot, handler/exit observations + eventfd count = accesses made. */
	uint64_t efd_total = 0, accesses = 0;
	for (uint32_t v = 0; v < kV; v++) {
		uint64_t done = made(v);
		uint64_t flight_space = s->space_of(done), flight_slot = s->slot_of(done);
		accesses += done;
		EXPECT_GE(done, 100u) << "vCPU " << v << " made (almost) no progress";
		EXPECT_LE(s->last[v].load(), done + 1) << "vCPU " << v << ": an access was seen before it was made";
		for (int sp = 0; sp < kSpaces; sp++)
			for (uint32_t k = 0; k < kK; k++) {
				uint64_t efd = s->efd[v][sp][k]->drain();
				uint64_t got = s->obs[v][sp][k] + efd;
				uint64_t want = s->expected(done, sp, k);
				bool flight = (uint64_t)sp == flight_space && k == flight_slot;
				efd_total += efd;
				if (role_of(k) != Role::IOEVENTFD) {
					EXPECT_EQ(0u, efd) << "eventfd of a non-ioeventfd slot";
				}
				EXPECT_TRUE(got == want || (flight && got == want + 1))
					<< variant_name(var) << ": vCPU " << v << " space " << sp << " slot " << k
					<< ": seen " << got << " (eventfd " << efd << "), made " << want
					<< (got < want ? " - accesses lost" : " - accesses seen twice");
			}
	}
	/* The vCPU counters agree with what handlers and runners saw. */
	uint64_t dispatched = 0, returned = 0;
	for (uint32_t v = 0; v < kV; v++) {
		hvabs_vcpu_stats st{};
		hvabs_vcpu_stats_get(s->vcpus[v], &st);
		dispatched += st.dispatched;
		returned += st.returned;
	}
	uint64_t served = s->by_handler + s->by_user + s->reads_by_handler;
	EXPECT_EQ(served + (var == Variant::KVM_X86 ? 0 : efd_total), dispatched);
	EXPECT_EQ(s->by_exit + s->reads_by_exit, returned);
	if (var == Variant::CALLBACK) {
		EXPECT_LE(s->reads_by_handler + s->reads_by_exit, s->reads_issued.load());
		EXPECT_GE(s->reads_by_handler + s->reads_by_exit + kV, s->reads_issued.load());
	}
	EXPECT_EQ(0, s->user_live.load());
	EXPECT_EQ(s->user_binds.load(), s->user_unbinds.load());
	EXPECT_EQ(s->user_populates.load(), s->user_unpopulates.load());
	uint64_t populates = s->user_populates, raises = 0;
	for (RaisedTicket &t : s->tickets) {
		EXPECT_EQ(t.populates.load(), t.unpopulates.load());
		populates += t.populates;
		raises += t.raises;
	}
	EXPECT_GT(populates, 0u) << "tickets added while running were never populated";

	printf("[ stress ] %s %.1fs: %" PRIu64 " accesses (%" PRIu64 " handler, %" PRIu64 " user fn, %" PRIu64
	       " ioeventfd, %" PRIu64 " exit, %" PRIu64 " declined), %" PRIu64 " reads, %" PRIu64
	       " INTR exits, %" PRIu64 " kicks, %" PRIu64 " irqs taken, %" PRIu64 " library calls from handlers; swaps: %" PRIu64
	       " handler, %" PRIu64 " ioeventfd, %" PRIu64 " user fn, %" PRIu64 " ticket, %" PRIu64 " irqfd; %" PRIu64
	       " populates, %" PRIu64 " doorbell raises\n",
	       variant_name(var), seconds, accesses, s->by_handler.load(), s->by_user.load(), efd_total,
	       s->by_exit.load(), s->declined.load(), s->reads_issued.load(), s->intr_exits.load(),
	       s->kicks.load(), s->irqs_taken.load(), s->lib_calls.load(), s->handler_swaps.load(),
	       s->efd_swaps.load(), s->user_swaps.load(), s->ticket_swaps.load(), s->irqfd_swaps.load(),
	       populates, raises);
	EXPECT_GT(s->handler_swaps + s->efd_swaps + s->user_swaps, 10u);

	hvabs_vm_put(s->vm);
	HV_EXPECT_OK(hvabs_function_type_unregister(kUserType));
	if (ram != MAP_FAILED)
		munmap(ram, lay.ram_size);
	s.reset();
	EXPECT_EQ(allocs0, hvabs_alloc_count()) << "library allocations leaked";
	EXPECT_EQ(fds0, open_fd_count()) << "file descriptors leaked";
}

INSTANTIATE_TEST_SUITE_P(Variants, StressTest,
			 ::testing::Values(Variant::CALLBACK, Variant::UNICORN_X86, Variant::UNICORN_ARM64,
					   Variant::KVM_X86),
			 [](const ::testing::TestParamInfo<Variant> &i) { return std::string(variant_name(i.param)); });

} /* namespace */
