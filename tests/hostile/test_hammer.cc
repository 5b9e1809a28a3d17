/* SPDX-License-Identifier: MIT */
/* tests/hostile/test_hammer.cc: guests hammering devices with garbage accesses; every access is seen exactly as made, once. */
#include "hostile.h"

#include <cinttypes>
#include <cstdio>
#include <functional>
#include <mutex>

/*
 * A guest runs a random script of accesses: random widths, aligned and
 * not, to RAM, to the read-only region, to device windows where the host
 * has IO handlers (which decline some accesses), to other unmapped
 * addresses (exits), to the sim interrupt controller and the exit/boot
 * registers, to addresses the CPU cannot reach, and port I/O to random
 * ports. The script is known, so the host checks what came out: every
 * access to a device arrives once, in order, with its address, width and
 * data, at the handler that serves it or else as an exit; RAM and engine
 * registers produce nothing; a run that dies (sim crash, KVM shutdown)
 * died at an access that may fault. A second test sweeps all 65536 ports.
 * Seeds: $HVABS_HOSTILE_SEED, time: $HVABS_HOSTILE_SECONDS per target.
 */

using namespace hvt;
using namespace hvt::hostile;

namespace {

enum class Kind { MW, MR, PW, PR };
enum class Cls {
	SILENT, /* RAM, ROM reads, sim engine registers: no observation */
	DEV,    /* exactly one observation, exactly as made */
	WILD,   /* unaligned or straddling: any observations inside its range */
	FAULT,  /* the run may die here (and, if it does not, like WILD) */
};

struct Access {
	Kind k;
	uint64_t addr;
	unsigned len;
	uint64_t val;
	Cls cls;
};

struct Obs {
	Kind k;
	uint64_t addr;
	unsigned len;
	uint64_t val;
	bool via_handler;
};

bool is_write(Kind k)
{
	return k == Kind::MW || k == Kind::PW;
}

bool is_pio(Kind k)
{
	return k == Kind::PW || k == Kind::PR;
}

uint64_t mask(unsigned len)
{
	return len >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * len)) - 1;
}

/* What an exit completes reads with (and handlers return). */
uint64_t read_value(uint64_t addr, unsigned len)
{
	return (addr * UINT64_C(0x9e3779b97f4a7c15) >> 7) & mask(len);
}

std::string str(const Access &a)
{
	char b[128];
	static const char *const k[] = { "mmio-write", "mmio-read", "out", "in" };
	snprintf(b, sizeof(b), "%s 0x%" PRIx64 " len %u val 0x%" PRIx64, k[(int)a.k], a.addr, a.len,
		 a.val);
	return b;
}

std::string str(const Obs &o)
{
	Access a{ o.k, o.addr, o.len, o.val, Cls::DEV };
	return str(a) + (o.via_handler ? " (handler)" : " (exit)");
}

/* Device windows with handlers (x86 / arm64), and a port window. */
constexpr uint64_t kX86Dev = 0xd0000, kArmDev = 0x0a000000;
constexpr uint16_t kPortDev = 0x700;
constexpr uint32_t kEndMagic = 0xe0d0e0d0;

struct Handlers;

/* One IO handler's rules: which of its accesses it serves. */
struct HandlerCtx {
	Handlers *hs;
	bool pio;
	uint32_t len; /* 0: any width */
};

struct Handlers {
	std::mutex m;
	std::vector<Obs> obs;
	HandlerCtx any{ this, false, 0 }, w4{ this, false, 4 }, port{ this, true, 0 };

	/* Does the handler at @addr (if any) serve this access? (accepted, covered) */
	static bool serves(const Access &a, bool arm, bool *covered)
	{
		uint64_t dev = arm ? kArmDev : kX86Dev;
		*covered = false;
		if (is_pio(a.k)) {
			if (a.addr < kPortDev || a.addr >= kPortDev + 0x40)
				return false;
			*covered = true;
			return is_write(a.k) ? (a.val & 1) == 0 : true;
		}
		if (a.addr >= dev + 0x100 && a.addr < dev + 0x200) {
			*covered = true;
			return is_write(a.k) ? (a.val & 3) != 3 : (a.addr & 8) == 0;
		}
		if (a.addr >= dev + 0x400 && a.addr < dev + 0x408 && a.len == 4) {
			*covered = true;
			return true;
		}
		return false;
	}
};

int h_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data, void *payload)
{
	HandlerCtx *c = static_cast<HandlerCtx *>(payload);
	Access a{ c->pio ? Kind::PR : Kind::MR, addr, len, 0, Cls::DEV };
	bool covered;
	if (!Handlers::serves(a, hvabs_vm_arch(hvabs_vcpu_vm(vcpu)) == HVABS_ARCH_ARM64, &covered))
		return 1;
	*data = read_value(addr, len);
	std::lock_guard<std::mutex> lk(c->hs->m);
	c->hs->obs.push_back({ a.k, addr, len, 0, true });
	return 0;
}

int h_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	HandlerCtx *c = static_cast<HandlerCtx *>(payload);
	Access a{ c->pio ? Kind::PW : Kind::MW, addr, len, data, Cls::DEV };
	bool covered;
	if (!Handlers::serves(a, hvabs_vm_arch(hvabs_vcpu_vm(vcpu)) == HVABS_ARCH_ARM64, &covered))
		return 1;
	std::lock_guard<std::mutex> lk(c->hs->m);
	c->hs->obs.push_back({ a.k, addr, len, data, true });
	return 0;
}

class Generator {
public:
	Generator(const Target &t, uint64_t seed) : t_(t), lay_(layout(t.mode)), rng_(seed) {}

	std::vector<Access> script(unsigned n)
	{
		std::vector<Access> s;
		for (unsigned i = 0; i < n; i++)
			s.push_back(one());
		/* The end marker: a device write the run loop stops at. */
		if (is_x86(t_.mode))
			s.push_back({ Kind::PW, HVABS_GUEST_X86_TEST_PORT, 4, kEndMagic, Cls::DEV });
		else
			s.push_back({ Kind::MW, HVABS_GUEST_TEST_MMIO, 4, kEndMagic, Cls::DEV });
		return s;
	}

private:
	uint64_t r(uint64_t n) { return n ? rng_() % n : 0; }
	bool x86() const { return is_x86(t_.mode); }
	unsigned width()
	{
		unsigned max = t_.mode == Mode::LONG64 || t_.mode == Mode::ARM64 ? 4 : 3;
		return 1u << r(max);
	}
	uint64_t value(unsigned len) { return rng_() & mask(len); }
	/* Highest address the mode's encoding reaches (prot32 truncates to 32 bits). */
	uint64_t limit() const
	{
		switch (t_.mode) {
		case Mode::REAL: return t_.kvm() ? 0xfffff : 0x10ffe7;
		case Mode::PROT32: return 0xffffffff;
		default: return ~UINT64_C(0);
		}
	}

	/* A device (non-RAM) address other than the handler windows. */
	uint64_t other_mmio()
	{
		if (!x86()) {
			switch (r(4)) {
			case 0: return 0x09000000 + r(0x20000);         /* UART, exit register */
			case 1: return 0x0b000000 + r(0x30000000);
			case 2: return lay_.rom_base + lay_.rom_size + r(0x100000);
			default: return 0x50000000 + r(UINT64_C(1) << 40);
			}
		}
		switch (r(t_.mode == Mode::REAL ? 3 : 5)) {
		case 0: return 0xa0000 + r(0x20000);                       /* below the ROM */
		case 1: return 0xd1000 + r(0x2f000);                       /* above the ROM */
		case 2: return t_.kvm() ? 0xe0000 + r(0x20000) : 0x100000 + r(0xffe8);
		case 3: return 0x100000 + r(0x0f000000);
		default: return t_.kvm() ? 0xfec00000 + r(0x300000) : 0xfec00000 + r(0x13ff000); /* APIC area */
		}
	}

	Access mmio(Kind k, uint64_t addr, unsigned len, Cls cls)
	{
		if (addr < HVABS_GUEST_TEST_MMIO + 4 && HVABS_GUEST_TEST_MMIO < addr + len)
			addr += 0x1000; /* keep the end marker unique */
		return { k, addr, len, k == Kind::MW ? value(len) : 0, cls };
	}

	Access one()
	{
		Kind k = r(2) ? Kind::MW : Kind::MR;
		unsigned len = width();
		bool aligned = r(4) != 0;
		uint64_t dev = x86() ? kX86Dev : kArmDev;
		unsigned pick = (unsigned)r(x86() ? 14 : 12);
		if (pick >= (x86() ? 10u : 8u))
			pick = 2 + pick % 3; /* extra weight: devices */
		if ((pick == 7 || (pick == 1 && k == Kind::MW)) && r(3))
			pick = 4; /* faulting accesses: rarer */
		switch (pick) {
		case 0: { /* RAM data area */
			uint64_t a = lay_.ram_base + 0x20000 + r(0x60000);
			return mmio(k, aligned ? a & ~(uint64_t)(len - 1) : a, len, Cls::SILENT);
		}
		case 1: { /* ROM: reads are silent; stores fault on sim, exit on KVM */
			uint64_t a = lay_.rom_base + r(lay_.rom_size - 8);
			a = aligned ? a & ~(uint64_t)(len - 1) : a;
			if (k == Kind::MR)
				return mmio(k, a, len, Cls::SILENT);
			return mmio(k, a, len, t_.sim() ? Cls::FAULT : (aligned ? Cls::DEV : Cls::WILD));
		}
		case 2:
		case 3: { /* the handler windows */
			uint64_t a = dev + (r(2) ? 0x100 + r(0x100) : 0x400 + r(8));
			a = aligned || r(2) ? a & ~(uint64_t)(len - 1) : a;
			return mmio(k, a, len, a % len == 0 ? Cls::DEV : Cls::WILD);
		}
		case 4: { /* other devices */
			uint64_t a = other_mmio();
			a = aligned ? a & ~(uint64_t)(len - 1) : a;
			if (a > limit())
				a &= limit();
			bool cross = (a & 0xfff) + len > 0x1000;
			return mmio(k, a, len, a % len == 0 && !cross ? Cls::DEV : Cls::WILD);
		}
		case 5: { /* straddling the end of RAM / the ROM edges */
			uint64_t edges[] = { lay_.ram_base + lay_.ram_size, lay_.rom_base, lay_.rom_base + lay_.rom_size };
			uint64_t a = edges[r(3)] - 1 - r(len > 1 ? len - 1 : 1);
			return mmio(k, a, len, t_.sim() && k == Kind::MW ? Cls::FAULT : Cls::WILD);
		}
		case 6: { /* the sim interrupt controller page: the engine's own registers */
			uint64_t a = HVABS_GUEST_IC_MMIO_BASE + (r(2) ? HVABS_GUEST_IC_IAR : HVABS_GUEST_IC_EOIR);
			if (r(3) == 0)
				a = HVABS_GUEST_IC_MMIO_BASE + (r(HVABS_GUEST_IC_MMIO_SIZE) & ~UINT64_C(3));
			if (len > 4)
				len = 4;
			a &= ~(uint64_t)(len - 1);
			if (t_.mode == Mode::REAL && t_.kvm())
				a = 0xa0000 + (a & 0xfff);
			return mmio(k, a, len, t_.sim() ? Cls::SILENT : Cls::DEV);
		}
		case 7: { /* what the CPU cannot reach */
			if (t_.mode == Mode::LONG64) {
				uint64_t a = r(2) ? (UINT64_C(1) << 32) + r(UINT64_C(1) << 46) :
						    UINT64_C(0xffff800000000000) - 0x1000 * r(1000);
				return mmio(k, a & ~(uint64_t)(len - 1), len, Cls::FAULT);
			}
			if (t_.mode == Mode::ARM64)
				return mmio(k, (UINT64_C(1) << 48) + r(UINT64_C(1) << 60), len, Cls::FAULT);
			return mmio(k, 0xd1000 + r(0x1000) * 8, len, Cls::DEV);
		}
		default: { /* ports: random, the handler window, the engine's, the exit/boot registers */
			static const uint16_t special[] = { HVABS_GUEST_X86_EXIT_PORT, HVABS_GUEST_X86_UART_PORT,
							    HVABS_GUEST_X86_UART_LSR_PORT, HVABS_GUEST_X86_IC_IAR_PORT,
							    HVABS_GUEST_X86_IC_EOIR_PORT, 0x20, 0x21, 0x40, 0x61,
							    0x70, 0x71, 0x80, 0x92, 0xcf8, 0xcfc, 0xffff };
			Kind pk = r(2) ? Kind::PW : Kind::PR;
			unsigned plen = 1u << r(3);
			uint16_t port;
			switch (r(3)) {
			case 0: port = (uint16_t)r(0x10000); break;
			case 1: port = (uint16_t)(kPortDev + r(0x40)); break;
			default: port = special[r(sizeof(special) / sizeof(special[0]))]; break;
			}
			if (port == HVABS_GUEST_X86_TEST_PORT)
				port++; /* keep the end marker unique */
			bool engine = t_.sim() && (port == HVABS_GUEST_X86_IC_IAR_PORT || port == HVABS_GUEST_X86_IC_EOIR_PORT);
			return { pk, port, plen, pk == Kind::PW ? value(plen) : 0, engine ? Cls::SILENT : Cls::DEV };
		}
		}
	}

	Target t_;
	const Layout &lay_;
	std::mt19937_64 rng_;
};

Code emit_script(Mode m, const std::vector<Access> &s)
{
	Code c(m, layout(m).code);
	for (const Access &a : s) {
		switch (a.k) {
		case Kind::MW: c.mem_write(a.addr, a.len, a.val); break;
		case Kind::MR: c.mem_read(a.addr, a.len); break;
		case Kind::PW: c.pio_write((uint16_t)a.addr, a.len, (uint32_t)a.val); break;
		case Kind::PR: c.pio_read((uint16_t)a.addr, a.len); break;
		}
	}
	c.halt_forever();
	return c;
}

bool overlaps(const Obs &o, const Access &a)
{
	return is_pio(o.k) == is_pio(a.k) && is_write(o.k) == is_write(a.k) && o.addr < a.addr + a.len &&
	       a.addr < o.addr + o.len;
}

bool same(const Obs &o, const Access &a, bool arm)
{
	bool covered;
	return o.k == a.k && o.addr == a.addr && o.len == a.len &&
	       (!is_write(a.k) || (o.val & mask(a.len)) == (a.val & mask(a.len))) &&
	       o.via_handler == Handlers::serves(a, arm, &covered);
}

/*
 * Can the observations be explained by the script? A DEV access is exactly
 * one matching observation (at the handler that serves it, else an exit);
 * SILENT ones none; WILD and FAULT ones any number of overlapping ones, and
 * a guest that died must have died at a WILD or FAULT access after every
 * observation. An exact search (memoized over script and observation
 * positions), so split accesses cannot be mistaken for their neighbours.
 * "" when consistent, else where the explanation ends.
 */
std::string match(const std::vector<Access> &s, const std::vector<Obs> &obs, bool died, bool arm,
		  const Target &)
{
	const size_t n = s.size(), m = obs.size();
	std::vector<int8_t> memo((n + 1) * (m + 1), -1);
	size_t deepest_s = 0, deepest_o = 0;
	std::function<bool(size_t, size_t)> ok = [&](size_t si, size_t oi) -> bool {
		int8_t &r = memo[si * (m + 1) + oi];
		if (r >= 0)
			return r;
		if (si > deepest_s || (si == deepest_s && oi > deepest_o))
			deepest_s = si, deepest_o = oi;
		bool res = false;
		if (si == n) {
			res = oi == m && !died;
		} else {
			const Access &a = s[si];
			switch (a.cls) {
			case Cls::SILENT:
				res = ok(si + 1, oi);
				break;
			case Cls::DEV:
				res = oi < m && same(obs[oi], a, arm) && ok(si + 1, oi + 1);
				break;
			case Cls::WILD:
			case Cls::FAULT:
				for (size_t k = oi;; k++) {
					/* died here, after part of the access came out, or go on */
					if ((died && k == m) || ok(si + 1, k)) {
						res = true;
						break;
					}
					if (k == m || !overlaps(obs[k], a))
						break;
				}
				break;
			}
		}
		r = res;
		return res;
	};
	if (ok(0, 0))
		return "";
	std::string where = "explained up to access " + std::to_string(deepest_s);
	if (deepest_s < n)
		where += " (" + str(s[deepest_s]) + ")";
	where += " and observation " + std::to_string(deepest_o);
	if (deepest_o < m)
		where += " (" + str(obs[deepest_o]) + ")";
	return where + (died ? "; the guest died" : "");
}

class Hammer : public ::testing::TestWithParam<Target> {
protected:
	void SetUp() override { HOSTILE_SKIP_UNLESS_USABLE(GetParam()); }
	void TearDown() override { leaks_.expect_clean(target_ident(GetParam())); }
	LeakCheck leaks_;
};

TEST_P(Hammer, RandomAccessesComeOutExactlyOnceAsMade)
{
	const Target t = GetParam();
	const bool arm = !is_x86(t.mode);
	const double seconds = hostile_seconds(1.0);
	const uint64_t seed0 = hostile_seed(1);
	auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
	unsigned runs = 0, died = 0, accesses = 0, handled = 0, exits = 0;
	for (uint64_t seed = seed0; std::chrono::steady_clock::now() < until || runs < 3; seed++) {
		Generator g(t, seed * 7919 + (uint64_t)t.mode);
		std::vector<Access> s = g.script(20 + (unsigned)(seed % 80));
		Handlers hs;
		DriveLog log;
		{
			Vm vm(t);
			ASSERT_EQ(0, vm.create(1, true, "irqchip=off")) << last_error_text();
			ASSERT_TRUE(vm.load(emit_script(t.mode, s)));
			uint64_t dev = arm ? kArmDev : kX86Dev;
			hvabs_io_desc d1 = io_desc(HVABS_SPACE_MMIO, dev + 0x100, 0x100, 0, h_read, h_write, &hs.any);
			hvabs_io_desc d2 = io_desc(HVABS_SPACE_MMIO, dev + 0x400, 8, 4, h_read, h_write, &hs.w4);
			ASSERT_EQ(0, hvabs_vm_io_handler_add(nullptr, vm.vm, &d1)) << last_error_text();
			ASSERT_EQ(0, hvabs_vm_io_handler_add(nullptr, vm.vm, &d2)) << last_error_text();
			if (!arm) {
				hvabs_io_desc d3 = io_desc(HVABS_SPACE_PIO, kPortDev, 0x40, 0, h_read, h_write, &hs.port);
				ASSERT_EQ(0, hvabs_vm_io_handler_add(nullptr, vm.vm, &d3)) << last_error_text();
			}
			ASSERT_EQ(0, vm.start()) << last_error_text();
			DrivePolicy p;
			p.budget = std::chrono::milliseconds(2000);
			p.random_completion = false;
			p.seed = seed;
			p.on_access = [&](hvabs_exit *e) {
				Obs o{};
				if (e->reason == HVABS_EXIT_MMIO) {
					o = { e->mmio.is_write ? Kind::MW : Kind::MR, e->mmio.addr, e->mmio.len,
					      le_load(e->mmio.data, e->mmio.len), false };
					if (!e->mmio.is_write)
						le_store(e->mmio.data, e->mmio.len, read_value(o.addr, o.len));
				} else {
					o = { e->pio.is_write ? Kind::PW : Kind::PR, e->pio.port, e->pio.size,
					      le_load(e->pio.data, e->pio.size), false };
					if (!e->pio.is_write)
						le_store(e->pio.data, e->pio.size, read_value(o.addr, o.len));
				}
				if (!is_write(o.k))
					o.val = 0;
				std::lock_guard<std::mutex> lk(hs.m);
				hs.obs.push_back(o);
				return true;
			};
			p.stop_after = [](const hvabs_exit &e) {
				return (e.reason == HVABS_EXIT_PIO && e.pio.port == HVABS_GUEST_X86_TEST_PORT &&
					e.pio.is_write) ||
				       (e.reason == HVABS_EXIT_MMIO && e.mmio.addr == HVABS_GUEST_TEST_MMIO &&
					e.mmio.is_write);
			};
			log = drive(vm, vm.vcpus[0], p);
		}
		runs++;
		accesses += (unsigned)s.size();
		for (const Obs &o : hs.obs)
			(o.via_handler ? handled : exits)++;
		for (const std::string &pr : log.problems)
			ADD_FAILURE() << "seed " << seed << ": " << pr;
		ASSERT_EQ(0, log.ret) << "seed " << seed << ": " << log.end;
		ASSERT_FALSE(log.watchdog) << "seed " << seed << ": the guest ran away: " << log.end;
		bool dead = log.stopped;
		died += dead;
		if (dead && t.sim()) {
			unsigned kind = fault_kind(log.last);
			EXPECT_TRUE(kind == HVABS_GUEST_FAULT_DATA || kind == HVABS_GUEST_FAULT_EXCEPTION)
				<< "seed " << seed << ": " << describe_exit(log.last);
		}
		std::string m = match(s, hs.obs, dead, arm, t);
		if (!m.empty()) {
			std::string dump;
			for (size_t i = 0; i < s.size(); i++)
				dump += "\n  " + std::to_string(i) + ": " + str(s[i]) + " cls " + std::to_string((int)s[i].cls);
			dump += "\n observed:";
			for (const Obs &o : hs.obs)
				dump += "\n  " + str(o);
			FAIL() << target_ident(t) << " seed " << seed << " (HVABS_HOSTILE_SEED=" << seed << "): " << m
			       << "; ended by " << log.end << dump;
		}
	}
	printf("[ hammer ] %s: %u scripts, %u accesses, %u served by handlers, %u exits, %u guests died "
	       "at a faulting access\n",
	       target_ident(t).c_str(), runs, accesses, handled, exits, died);
}

/* Every port, in then out (the out writes back what the in read): each comes out once, in order. */
TEST_P(Hammer, EveryPortComesOutOnceInOrder)
{
	const Target t = GetParam();
	if (!is_x86(t.mode))
		GTEST_SKIP() << "x86 only";
	Handlers hs;
	Vm vm(t);
	ASSERT_EQ(0, vm.create(1, true, "irqchip=off")) << last_error_text();
	Code c(t.mode, layout(t.mode).code);
	c.raw({ 0x31, 0xd2 }); /* xor %edx, %edx */
	if (t.mode == Mode::REAL)
		c.raw({ 0xec, 0xee, 0x42, 0x75, 0xfb }); /* 1: in; out; inc %dx; jnz 1b */
	else
		c.raw({ 0xec, 0xee, 0xff, 0xc2, 0x81, 0xfa, 0x00, 0x00, 0x01, 0x00, 0x75, 0xf4 });
	c.pio_write(HVABS_GUEST_X86_TEST_PORT, 4, kEndMagic);
	c.halt_forever();
	ASSERT_TRUE(vm.load(c));
	hvabs_io_desc d3 = io_desc(HVABS_SPACE_PIO, kPortDev, 0x40, 0, h_read, h_write, &hs.port);
	ASSERT_EQ(0, hvabs_vm_io_handler_add(nullptr, vm.vm, &d3)) << last_error_text();
	ASSERT_EQ(0, vm.start()) << last_error_text();

	/* Per port: ins and outs seen (exits and the handler's), out data that was not the echo. */
	std::vector<uint8_t> ins(0x10000), outs(0x10000);
	uint32_t last_exit = 0, wrong_data = 0, end_seen = 0;
	std::string bad;
	DrivePolicy p;
	p.budget = std::chrono::milliseconds(60000);
	p.max_exits = 200000;
	p.random_completion = false;
	p.on_access = [&](hvabs_exit *e) {
		if (e->reason != HVABS_EXIT_PIO || e->pio.count != 1) {
			if (bad.empty())
				bad = "unexpected " + describe_exit(*e);
			return true;
		}
		uint32_t port = e->pio.port;
		if (port == HVABS_GUEST_X86_TEST_PORT && e->pio.is_write && e->pio.size == 4 &&
		    le_load(e->pio.data, 4) == kEndMagic) {
			end_seen++;
			return true;
		}
		if (e->pio.size != 1 || port < last_exit) {
			if (bad.empty())
				bad = "out of order or wrong width: " + describe_exit(*e) + " after port " +
				      std::to_string(last_exit);
			return true;
		}
		last_exit = port;
		if (e->pio.is_write) {
			outs[port]++;
			wrong_data += e->pio.data[0] != (uint8_t)read_value(port, 1);
		} else {
			ins[port]++;
			e->pio.data[0] = (uint8_t)read_value(port, 1);
		}
		return true;
	};
	p.stop_after = [&](const hvabs_exit &) { return !bad.empty() || end_seen > 0; };
	DriveLog log = drive(vm, vm.vcpus[0], p);
	for (const std::string &pr : log.problems)
		ADD_FAILURE() << pr;
	EXPECT_EQ("", bad);
	EXPECT_EQ(1u, end_seen) << "ended by " << log.end;
	for (const Obs &o : hs.obs) {
		(o.k == Kind::PR ? ins : outs)[o.addr]++;
		if (o.k == Kind::PW)
			wrong_data += (uint8_t)o.val != (uint8_t)read_value(o.addr, 1);
	}
	EXPECT_EQ(0u, wrong_data) << "out data differs from what the in returned";
	unsigned missing = 0, twice = 0;
	for (uint32_t port = 0; port < 0x10000; port++) {
		bool engine = t.sim() && (port == HVABS_GUEST_X86_IC_IAR_PORT || port == HVABS_GUEST_X86_IC_EOIR_PORT);
		unsigned want = engine ? 0 : 1;
		for (unsigned n : { (unsigned)ins[port], (unsigned)outs[port] }) {
			if (n < want && missing++ < 5)
				ADD_FAILURE() << "port 0x" << std::hex << port << " never came out";
			if (n > want && twice++ < 5)
				ADD_FAILURE() << "port 0x" << std::hex << port << " came out " << std::dec << n << " times";
		}
	}
	EXPECT_EQ(0u, missing + twice);
	vm.destroy();
}

INSTANTIATE_TEST_SUITE_P(Targets, Hammer, ::testing::ValuesIn(all_targets()),
			 [](const ::testing::TestParamInfo<Target> &i) { return target_ident(i.param); });

} /* namespace */
