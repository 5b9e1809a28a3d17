/* SPDX-License-Identifier: MIT */
/* bench/bench_unicorn.cc: sim with Unicorn guests - MMIO writes and reads to an IO handler vs a bare Unicorn loop, ioeventfd doorbell vs IO handler, irqfd wake-up of a halted vCPU, VM lifecycle. */
#include "bench.h"

#ifdef HVABS_BENCH_UNICORN

#include "hvabs_guests.h"
#include "sim_engine_abi.h"

#include <unicorn/unicorn.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace hb {
namespace {

constexpr uint32_t kBatch = 64; /* writes per timed batch */

struct Arch {
	const char *name;      /* "x86" / "arm64" in case names */
	bool arm;
	const char *mmio_loop; /* guest files in HVABS_GUEST_DIR */
	const char *irq;
	const char *mmio_read; /* the bench's own guests (bench/guests, HVABS_BENCH_UC_GUEST_DIR): mode of mmio_loop */
	const char *doorbell;
	uint32_t loop_mode; /* cpu modes of the two guests (tests/guests/CMakeLists.txt) */
	uint32_t irq_mode;
};

const Arch kX86 = { "x86", false, "mmio_loop-x86.bin", "irq_edge-x86.bin", "uc_mmio_read-x86.bin",
		    "uc_doorbell-x86.bin", HVABS_CPU_MODE_X86_LONG64, HVABS_CPU_MODE_X86_REAL };
const Arch kArm64 = { "arm64", true, "mmio_loop-arm64.bin", "irq_edge-arm64.bin", "uc_mmio_read-arm64.bin",
		      "uc_doorbell-arm64.bin", HVABS_CPU_MODE_ARM64_EL1, HVABS_CPU_MODE_ARM64_EL1 };

std::vector<uint8_t> guest_file(const char *file, const char *dir = HVABS_GUEST_DIR)
{
	std::ifstream f(std::string(dir) + "/" + file, std::ios::binary);

	return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

uint64_t ram_base(const Arch &a)
{
	return a.arm ? HVABS_GUEST_ARM64_RAM_BASE : HVABS_GUEST_X86_RAM_BASE;
}
uint64_t ram_size(const Arch &a)
{
	return a.arm ? HVABS_GUEST_ARM64_RAM_SIZE : HVABS_GUEST_X86_RAM_SIZE;
}
uint64_t load_addr(const Arch &a)
{
	return a.arm ? HVABS_GUEST_ARM64_LOAD : HVABS_GUEST_X86_LOAD;
}

std::string hv_text(const char *what, int code)
{
	const hvabs_error *e = hvabs_error_last();

	return std::string(what) + ": " + hvabs_err_name(code) + " (" + e->backend + ": " + e->message + ")";
}

/*
 * A sim VM booting guest @code of arch @a as tests/guests/README.md says
 * (RAM, load address = entry, stack, scratch, arg0), one vCPU; state LOAD.
 */
int uc_vm_build(hvabs_vm **out, hvabs_vcpu **vcpu, const Arch &a, uint32_t mode,
		const std::vector<uint8_t> &code, uint64_t arg0, std::string *err)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	hvabs_mem_region ram = { HVABS_MEM_REGION_VERSION, HVABS_GUEST_RAM_LABEL, HVABS_MEM_RWX, ram_base(a),
				 ram_size(a), nullptr };
	hvabs_boot_config b = {};
	int ret;

	o.backend = "sim";
	o.arch = a.arm ? HVABS_ARCH_ARM64 : HVABS_ARCH_X86_64;
	if ((ret = hvabs_vm_create(out, &o)))
		return *err = hv_text("hvabs_vm_create", ret), -1;
	if ((ret = hvabs_vm_mem_add(*out, &ram)))
		return *err = hv_text("hvabs_vm_mem_add", ret), -1;
	memcpy(hvabs_vm_mem_host(*out, load_addr(a), code.size()), code.data(), code.size());
	b.version = HVABS_BOOT_CONFIG_VERSION;
	b.entry = load_addr(a);
	b.cpu_mode = mode;
	b.arg0 = arg0;
	if (a.arm) {
		b.stack = HVABS_GUEST_ARM64_STACK;
	} else if (mode == HVABS_CPU_MODE_X86_REAL) {
		b.stack = HVABS_GUEST_X86_STACK_REAL;
	} else {
		b.stack = HVABS_GUEST_X86_STACK_FLAT;
		b.scratch_addr = HVABS_GUEST_X86_SCRATCH;
	}
	if ((ret = hvabs_vm_boot_set(*out, &b)))
		return *err = hv_text("hvabs_vm_boot_set", ret), -1;
	if ((ret = hvabs_vm_vcpu_add(vcpu, *out, 0)))
		return *err = hv_text("hvabs_vm_vcpu_add", ret), -1;
	return 0;
}

/* ---- MMIO writes: IO handler on sim vs uc_mmio_map on a bare Unicorn ---- */

uint64_t bare_read(uc_engine *uc, uint64_t off, unsigned size, void *p)
{
	(void)uc, (void)off, (void)size, (void)p;
	return 0;
}

uint64_t bare_read_stamp(uc_engine *uc, uint64_t off, unsigned size, void *p)
{
	(void)uc, (void)off, (void)size;
	static_cast<Stamps *>(p)->tick();
	return 0;
}

void bare_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *p)
{
	(void)uc, (void)off, (void)size, (void)val;
	static_cast<Stamps *>(p)->tick();
}

void bare_stop(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *p)
{
	(void)off, (void)size, (void)val, (void)p;
	uc_emu_stop(uc);
}

/*
 * The same guest loop of @n accesses on a bare Unicorn instance (the
 * floor); the doorbell page's write callback (@read false) or read
 * callback stamps in @s.
 */
int bare_run(const Arch &a, const std::vector<uint8_t> &code, uint64_t n, Stamps *s, std::string *err,
	     bool read = false)
{
	std::vector<uint8_t> ram(ram_size(a));
	uc_engine *uc = nullptr;
	uc_err ue = uc_open(a.arm ? UC_ARCH_ARM64 : UC_ARCH_X86, a.arm ? UC_MODE_ARM : UC_MODE_64, &uc);

	if (ue != UC_ERR_OK)
		return *err = std::string("uc_open: ") + uc_strerror(ue), -1;
	memcpy(ram.data() + (load_addr(a) - ram_base(a)), code.data(), code.size());
	uc_mem_map_ptr(uc, ram_base(a), ram.size(), UC_PROT_ALL, ram.data());
	if (read)
		uc_mmio_map(uc, HVABS_GUEST_DOORBELL_MMIO, 0x1000, bare_read_stamp, s, bare_write, s);
	else
		uc_mmio_map(uc, HVABS_GUEST_DOORBELL_MMIO, 0x1000, bare_read, nullptr, bare_write, s);
	uc_mmio_map(uc, HVABS_GUEST_TEST_MMIO, 0x1000, bare_read, nullptr, bare_stop, nullptr);
	uc_reg_write(uc, a.arm ? (int)UC_ARM64_REG_X0 : (int)UC_X86_REG_RSI, &n);
	/* x86 ends at its exit OUT and cli; hlt (no OUT hook: Unicorn ignores them), arm64 at the report */
	ue = uc_emu_start(uc, load_addr(a), UINT64_MAX, 0, 0);
	uc_close(uc);
	if (ue != UC_ERR_OK)
		return *err = std::string("uc_emu_start: ") + uc_strerror(ue), -1;
	if (s->count != n)
		return *err = "bare Unicorn: the guest did not make every access", -1;
	return 0;
}

int stamp_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)data;
	static_cast<Stamps *>(payload)->tick();
	return 0;
}

int stamp_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data, void *payload)
{
	(void)vcpu, (void)addr, (void)len;
	*data = 0;
	static_cast<Stamps *>(payload)->tick();
	return 0;
}

/* Is the current exit of @v the guest's report (after its accesses)? */
bool at_report(const Arch &a, hvabs_vcpu *v)
{
	const hvabs_exit *e = hvabs_vcpu_exit(v);

	return a.arm ? e->reason == HVABS_EXIT_MMIO && e->mmio.addr == HVABS_GUEST_TEST_MMIO
		     : e->reason == HVABS_EXIT_PIO && e->pio.port == HVABS_GUEST_X86_TEST_PORT;
}

/* The guest on sim: every doorbell write (read with @read) served by an IO handler; runs to the report exit. */
int sim_run(const Arch &a, const std::vector<uint8_t> &code, uint64_t n, Stamps *s, std::string *err,
	    bool read = false)
{
	hvabs_vm *vm = nullptr;
	hvabs_vcpu *v = nullptr;
	hvabs_io_desc d{};
	int ret = uc_vm_build(&vm, &v, a, a.loop_mode, code, n, err);

	d.version = HVABS_IO_DESC_VERSION;
	d.space = HVABS_SPACE_MMIO;
	d.addr = HVABS_GUEST_DOORBELL_MMIO;
	d.size = 4;
	d.len = 4;
	if (read)
		d.read = stamp_read;
	else
		d.write = stamp_write;
	d.payload = s;
	if (!ret && (ret = hvabs_vm_io_handler_add(nullptr, vm, &d)))
		*err = hv_text("hvabs_vm_io_handler_add", ret);
	if (!ret && (ret = hvabs_vm_start(vm)))
		*err = hv_text("hvabs_vm_start", ret);
	if (!ret && (ret = hvabs_vcpu_run(v)))
		*err = hv_text("hvabs_vcpu_run", ret);
	if (!ret) {
		struct hvabs_vcpu_stats st;

		hvabs_vcpu_stats_get(v, &st);
		if (!at_report(a, v) || s->count != n || st.dispatched != n) {
			*err = std::string("sim: the guest's accesses were not all served by the handler (exit ") +
			       hvabs_exit_reason_name(hvabs_vcpu_exit(v)->reason) + ")";
			ret = -1;
		}
	}
	hvabs_vm_destroy(vm);
	return ret ? -1 : 0;
}

/* MMIO writes (mmio_loop) or reads (@read: uc_mmio_read) of 32 bits, IO handler on sim vs bare Unicorn. */
void bm_mmio(benchmark::State &st, const Arch &a, bool read)
{
	for (auto _ : st) {
		std::vector<uint8_t> code =
			read ? guest_file(a.mmio_read, HVABS_BENCH_UC_GUEST_DIR) : guest_file(a.mmio_loop);
		std::vector<double> bare, sim;
		std::string err, arch = a.name, kind = read ? "_mmio_read" : "_mmio";
		Stamps s;
		uint32_t nb = pick(1000, 20);
		uint64_t n = (uint64_t)nb * kBatch;
		uint64_t t0 = now_ns();

		if (code.empty())
			return st.SkipWithError((std::string(read ? a.mmio_read : a.mmio_loop) + " not built").c_str());
		/* alternating rounds: both see the same machine load; 10 % warm-up batches dropped */
		for (uint32_t r = 0; r < (read ? pick(4, 1) : pick(8, 1)); r++) {
			s.reset(kBatch, UINT64_MAX, nb);
			if (bare_run(a, code, n, &s, &err, read))
				return st.SkipWithError(err.c_str());
			s.samples(bare, nb / 10);
			s.reset(kBatch, UINT64_MAX, nb);
			if (sim_run(a, code, n, &s, &err, read))
				return st.SkipWithError(err.c_str());
			s.samples(sim, nb / 10);
		}
		Record f = record_of("unicorn_floor_bare_" + arch + kind, bare, kBatch);
		Record r = record_of("unicorn_" + arch + kind + "_handler", sim, kBatch);
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record("unicorn_floor_bare_" + arch + kind, f);
		store_record("unicorn_" + arch + kind + "_handler", r);
		publish_stored(st, "unicorn_floor_bare_" + arch + kind, (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- the doorbell as an ioeventfd vs the same writes to an IO handler ---- */

constexpr uint32_t kBellWrites = 64;  /* doorbell writes per round of uc_doorbell (bench/guests) */
constexpr uint64_t kTickOffset = 0x800; /* the round's tick register, from the doorbell */

int count_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)data;
	++*static_cast<uint64_t *>(payload);
	return 0;
}

/*
 * uc_doorbell with @rounds rounds of kBellWrites doorbell writes, the
 * doorbell an ioeventfd on @efd (>= 0) or a counting IO handler; each
 * round's tick (an IO handler) stamps in @s. Checks that every write
 * reached the eventfd / handler and every tick the stamps.
 */
int doorbell_run(const Arch &a, const std::vector<uint8_t> &code, uint32_t rounds, int efd, Stamps *s,
		 std::string *err)
{
	hvabs_vm *vm = nullptr;
	hvabs_vcpu *v = nullptr;
	hvabs_io_desc d{}, t{};
	uint64_t count = 0, signalled = 0, n = (uint64_t)rounds * kBellWrites;
	int ret = uc_vm_build(&vm, &v, a, a.loop_mode, code, rounds, err);

	d.version = t.version = HVABS_IO_DESC_VERSION;
	d.space = t.space = HVABS_SPACE_MMIO;
	d.addr = HVABS_GUEST_DOORBELL_MMIO;
	t.addr = HVABS_GUEST_DOORBELL_MMIO + kTickOffset;
	d.size = d.len = t.size = t.len = 4;
	d.write = count_write;
	d.payload = &count;
	t.write = stamp_write;
	t.payload = s;
	s->reset(1, UINT64_MAX, rounds);
	if (!ret && (ret = hvabs_vm_io_handler_add(nullptr, vm, &t)))
		*err = hv_text("hvabs_vm_io_handler_add (tick)", ret);
	if (!ret && efd >= 0 &&
	    (ret = hvabs_vm_ioeventfd_add(nullptr, vm, HVABS_SPACE_MMIO, HVABS_GUEST_DOORBELL_MMIO, 4, efd, 0, 0)))
		*err = hv_text("hvabs_vm_ioeventfd_add", ret);
	if (!ret && efd < 0 && (ret = hvabs_vm_io_handler_add(nullptr, vm, &d)))
		*err = hv_text("hvabs_vm_io_handler_add", ret);
	if (!ret && (ret = hvabs_vm_start(vm)))
		*err = hv_text("hvabs_vm_start", ret);
	if (!ret && (ret = hvabs_vcpu_run(v)))
		*err = hv_text("hvabs_vcpu_run", ret);
	if (!ret) {
		if (efd >= 0 && read(efd, &signalled, sizeof(signalled)) != sizeof(signalled))
			signalled = 0;
		if (!at_report(a, v) || (efd >= 0 ? signalled : count) != n || s->count != rounds) {
			*err = "doorbell: the guest's writes did not all reach the eventfd / handler";
			ret = -1;
		}
	}
	hvabs_vm_destroy(vm);
	return ret ? -1 : 0;
}

/*
 * Alternating runs of: doorbell served by an IO handler, doorbell an
 * ioeventfd. A sample is one round's time (between two ticks, stamped in
 * the tick's IO handler) / kBellWrites: ns per doorbell write, with 1/64 of
 * the tick included in both; 10 % warm-up rounds of each run dropped. The
 * handler's median is the ioeventfd's reference (floor_median).
 */
void bm_doorbell(benchmark::State &st, const Arch &a)
{
	for (auto _ : st) {
		std::vector<uint8_t> code = guest_file(a.doorbell, HVABS_BENCH_UC_GUEST_DIR);
		std::vector<double> hs, es;
		std::string err, arch = a.name;
		uint32_t rounds = pick(1000, 20);
		uint64_t t0 = now_ns();
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		Stamps s;

		if (code.empty() || efd < 0) {
			if (efd >= 0)
				close(efd);
			return st.SkipWithError(code.empty() ? "uc_doorbell not built" : "eventfd failed");
		}
		for (uint32_t r = 0; r < pick(2, 1) && err.empty(); r++) {
			for (int fd : { -1, efd }) {
				std::vector<double> v;

				if (doorbell_run(a, code, rounds, fd, &s, &err))
					break;
				s.samples(v, rounds / 10);
				for (double x : v)
					(fd < 0 ? hs : es).push_back(x / kBellWrites);
			}
		}
		close(efd);
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		Record h = record_of("unicorn_" + arch + "_doorbell_handler", hs, kBellWrites);
		Record e = record_of("unicorn_" + arch + "_doorbell_ioeventfd", es, kBellWrites);
		e.floor_median = h.median;
		e.ratio = e.median / h.median;
		store_record("unicorn_" + arch + "_doorbell_handler", h);
		store_record("unicorn_" + arch + "_doorbell_ioeventfd", e);
		publish_stored(st, "unicorn_" + arch + "_doorbell_ioeventfd", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- irqfd -> halted vCPU wakes, takes the interrupt, reports to an IO handler ---- */

constexpr uint32_t kIrqLine = 3;

struct Wake {
	std::atomic<uint64_t> t_raise{ 0 };
	std::atomic<uint32_t> done{ 0 };
	std::vector<double> samples;
};

int wake_report(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	Wake *w = static_cast<Wake *>(payload);
	uint64_t t = now_ns();

	(void)vcpu, (void)addr, (void)len;
	if (data == kIrqLine) {
		w->samples.push_back((double)(t - w->t_raise.load()));
		w->done.fetch_add(1);
	}
	return 0;
}

int wake_measure(const Arch &a, uint32_t n, std::vector<double> &out, std::string *err)
{
	std::vector<uint8_t> code = guest_file(a.irq);
	hvabs_vm *vm = nullptr;
	hvabs_vcpu *v = nullptr;
	Wake w;
	hvabs_io_desc d{};
	int fd = eventfd(0, EFD_CLOEXEC);
	int ret, run_ret = 0;
	std::atomic<bool> ended{ false };

	if (code.empty())
		return *err = std::string(a.irq) + " not built", -1;
	if (fd < 0)
		return *err = "eventfd failed", -1;
	w.samples.reserve(n);
	ret = uc_vm_build(&vm, &v, a, a.irq_mode, code, n, err);
	d.version = HVABS_IO_DESC_VERSION;
	d.space = a.arm ? HVABS_SPACE_MMIO : HVABS_SPACE_PIO;
	d.addr = a.arm ? HVABS_GUEST_TEST_MMIO : HVABS_GUEST_X86_TEST_PORT;
	d.size = 4;
	d.len = 4;
	d.write = wake_report;
	d.payload = &w;
	if (!ret && (ret = hvabs_vm_io_handler_add(nullptr, vm, &d)))
		*err = hv_text("hvabs_vm_io_handler_add", ret);
	if (!ret && (ret = hvabs_vm_irqfd_add(nullptr, vm, fd, kIrqLine, 0, -1)))
		*err = hv_text("hvabs_vm_irqfd_add", ret);
	if (!ret && (ret = hvabs_vm_start(vm)))
		*err = hv_text("hvabs_vm_start", ret);
	if (ret) {
		hvabs_vm_destroy(vm);
		close(fd);
		return -1;
	}
	/* The vCPU thread runs until the guest's exit device write (after n interrupts). */
	std::thread t([&] {
		run_ret = hvabs_vcpu_run(v);
		ended.store(true);
	});
	const uint64_t one = 1;
	for (uint32_t i = 0; i < n && !ended.load(); i++) {
		sleep_ns(100000); /* the guest is back in HLT/WFI */
		w.t_raise.store(now_ns());
		if (write(fd, &one, sizeof(one)) != sizeof(one) || !wait_for(w.done, i + 1, 5000000000ull))
			break;
	}
	if (w.done.load() < n)
		hvabs_vcpu_kick(v); /* a guest that stopped reporting: end the run (INTR) */
	t.join();
	const hvabs_exit *e = hvabs_vcpu_exit(v);
	bool exited = !run_ret && (a.arm ? e->reason == HVABS_EXIT_MMIO && e->mmio.addr == HVABS_GUEST_ARM64_EXIT_MMIO
					 : e->reason == HVABS_EXIT_PIO && e->pio.port == HVABS_GUEST_X86_EXIT_PORT);
	hvabs_vm_destroy(vm);
	close(fd);
	if (w.done.load() != n || !exited)
		return *err = "the guest did not report every interrupt, then exit", -1;
	out = w.samples;
	return 0;
}

void bm_wake(benchmark::State &st, const Arch &a)
{
	for (auto _ : st) {
		std::vector<double> ev, v;
		std::string err;
		uint64_t t0 = now_ns();

		if (eventfd_floor(pick(1000, 10), ev))
			return st.SkipWithError("eventfd floor failed");
		if (wake_measure(a, pick(1000, 10), v, &err))
			return st.SkipWithError(err.c_str());
		std::string arch = a.name;
		Record f = record_of("unicorn_floor_eventfd_wakeup_" + arch, ev, 1);
		Record r = record_of("unicorn_" + arch + "_irqfd_wake", v, 1);
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record("unicorn_floor_eventfd_wakeup_" + arch, f);
		store_record("unicorn_" + arch + "_irqfd_wake", r);
		publish_stored(st, "unicorn_" + arch + "_irqfd_wake", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- a VM with one vCPU created, started, run to its exit, destroyed ---- */

struct Life {
	std::vector<double> total, build, run, destroy, bare;
};

/* mmio_loop with arg0 0: reports 0 (an exit), then writes the exit device (an exit). */
int life_once(const Arch &a, const std::vector<uint8_t> &code, Life &l, std::string *err)
{
	hvabs_vm *vm = nullptr;
	hvabs_vcpu *v = nullptr;
	uint64_t t0 = now_ns();
	int ret = uc_vm_build(&vm, &v, a, a.loop_mode, code, 0, err);

	if (!ret && (ret = hvabs_vm_start(vm)))
		*err = hv_text("hvabs_vm_start", ret);
	uint64_t t1 = now_ns();
	for (int k = 0; !ret && k < 2; k++) {
		const hvabs_exit *e = hvabs_vcpu_exit(v);
		uint64_t want = k == 0 ? (a.arm ? HVABS_GUEST_TEST_MMIO : HVABS_GUEST_X86_TEST_PORT)
				       : (a.arm ? HVABS_GUEST_ARM64_EXIT_MMIO : HVABS_GUEST_X86_EXIT_PORT);

		if ((ret = hvabs_vcpu_run(v))) {
			*err = hv_text("hvabs_vcpu_run", ret);
			break;
		}
		if (a.arm ? e->reason != HVABS_EXIT_MMIO || e->mmio.addr != want
			  : e->reason != HVABS_EXIT_PIO || e->pio.port != want) {
			*err = std::string("unexpected exit ") + hvabs_exit_reason_name(e->reason);
			ret = -1;
		}
	}
	uint64_t t2 = now_ns();
	hvabs_vm_destroy(vm);
	uint64_t t3 = now_ns();
	if (ret)
		return -1;
	l.total.push_back((double)(t3 - t0));
	l.build.push_back((double)(t1 - t0));
	l.run.push_back((double)(t2 - t1));
	l.destroy.push_back((double)(t3 - t2));
	return 0;
}

void bm_life(benchmark::State &st, const Arch &a)
{
	for (auto _ : st) {
		std::vector<uint8_t> code = guest_file(a.mmio_loop);
		std::string arch = a.name, err;
		Life l;
		uint64_t t0 = now_ns();

		if (code.empty())
			return st.SkipWithError((std::string(a.mmio_loop) + " not built").c_str());
		for (uint32_t i = 0; i < pick(200, 3) + 1; i++) {
			Life one;
			Stamps none;
			uint64_t b0 = now_ns();

			/* the floor: a bare Unicorn instance set up, run to the same end, closed */
			if (bare_run(a, code, 0, &none, &err))
				return st.SkipWithError(err.c_str());
			if (i)
				l.bare.push_back((double)(now_ns() - b0));
			if (life_once(a, code, i ? l : one, &err))
				return st.SkipWithError(err.c_str());
		}
		Record f = record_of("unicorn_floor_bare_" + arch + "_lifecycle", l.bare, 1);
		Record r = record_of("unicorn_" + arch + "_vm_lifecycle", l.total, 1);
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record("unicorn_floor_bare_" + arch + "_lifecycle", f);
		store_record("unicorn_" + arch + "_vm_lifecycle", r);
		store_record("unicorn_" + arch + "_vm_create_start",
			     record_of("unicorn_" + arch + "_vm_create_start", l.build, 1));
		store_record("unicorn_" + arch + "_vm_run_to_exit",
			     record_of("unicorn_" + arch + "_vm_run_to_exit", l.run, 1));
		store_record("unicorn_" + arch + "_vm_destroy", record_of("unicorn_" + arch + "_vm_destroy", l.destroy, 1));
		publish_stored(st, "unicorn_" + arch + "_vm_lifecycle", (double)(now_ns() - t0) * 1e-9);
	}
}

} /* namespace */

void register_unicorn()
{
	for (const Arch *a : { &kX86, &kArm64 }) {
		std::string n = a->name;

		reg("unicorn_floor_bare_" + n + "_mmio", [a](benchmark::State &st) { bm_mmio(st, *a, false); });
		reg_stored("unicorn_" + n + "_mmio_handler");
		reg("unicorn_floor_bare_" + n + "_mmio_read", [a](benchmark::State &st) { bm_mmio(st, *a, true); });
		reg_stored("unicorn_" + n + "_mmio_read_handler");
		reg("unicorn_" + n + "_doorbell_ioeventfd", [a](benchmark::State &st) { bm_doorbell(st, *a); });
		reg_stored("unicorn_" + n + "_doorbell_handler");
		reg("unicorn_" + n + "_irqfd_wake", [a](benchmark::State &st) { bm_wake(st, *a); });
		reg_stored("unicorn_floor_eventfd_wakeup_" + n);
		reg("unicorn_" + n + "_vm_lifecycle", [a](benchmark::State &st) { bm_life(st, *a); });
		reg_stored("unicorn_floor_bare_" + n + "_lifecycle");
		reg_stored("unicorn_" + n + "_vm_create_start");
		reg_stored("unicorn_" + n + "_vm_run_to_exit");
		reg_stored("unicorn_" + n + "_vm_destroy");
	}
}

} /* namespace hb */

#else

namespace hb {

void register_unicorn()
{
	note_skipped("sim (Unicorn guests)", "not built: sim without Unicorn (HVABS_SIM_UNICORN) or without the tests/guests programs");
}

} /* namespace hb */

#endif
