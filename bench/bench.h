/* SPDX-License-Identifier: MIT */
/* bench/bench.h: shared pieces of hvabs-bench - clock, statistics, result records, counting allocator, sim rig. */
#ifndef HVABS_BENCH_H
#define HVABS_BENCH_H

#include <hvabs.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace hb {

/* ---- options (bench_main.cc) ---- */

struct Options {
	bool smoke = false;   /* few iterations: checks that everything runs, asserts no timing */
	std::string raw_dir;  /* where raw samples go (one value per line), empty: nowhere */
	std::string gunyah_abi = "v14"; /* hvabs-bench-gunyah: the ABI the emulator and the backend speak */
};
extern Options opts;

/* Pick the full or the smoke size of a loop. */
inline uint32_t pick(uint32_t full, uint32_t smoke)
{
	return opts.smoke ? smoke : full;
}

/* ---- clock ---- */

inline uint64_t now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Keep the compiler from folding @v away or proving its value. */
template <typename T> inline void opaque(T &v)
{
	__asm__ __volatile__("" : "+r"(v));
}

/* ---- statistics ---- */

struct Stats {
	double median = 0, p99 = 0, p999 = 0, mean = 0, min = 0, max = 0;
	size_t n = 0;
};

/* Nearest-rank percentiles of @v (sorted in place). */
Stats stats_of(std::vector<double> &v);

/* Write @v to <raw_dir>/<name>.txt when raw output is on. */
void raw_dump(const std::string &name, const std::vector<double> &v);

/*
 * One result record. Values < 0 mean "none" (JSON null in latest.json).
 * ratio: median / floor_median where a floor applies, otherwise the ratio the
 * case's target is stated in (documented per case in docs/benchmarks.md).
 */
struct Record {
	std::string unit = "ns";
	double median = -1, p99 = -1, p999 = -1, floor_median = -1, ratio = -1;
	double samples = 0; /* how many samples the percentiles come from */
	double batch = 0;   /* operations per sample (per-op values are batch means) */
	double allocs = -1; /* memory cases: library allocations per instance */
};

/*
 * Publish @r as the counters of benchmark @st (read by bench/report.py from
 * Google Benchmark's JSON output) and report @seconds as its manual time.
 */
void publish(benchmark::State &st, const Record &r, double seconds);

/* Record with median/p99/p999 of @samples (raw-dumped as @name). */
Record record_of(const std::string &name, std::vector<double> &samples, uint32_t batch,
		 const char *unit = "ns");

/*
 * Records computed by one benchmark and published by later ones (one
 * benchmark = one record): store_record() keeps them, reg_stored() registers
 * a benchmark that publishes the stored record of that name.
 */
void store_record(const std::string &name, const Record &r);
void reg_stored(const std::string &name);
/* The stored record @name (an empty Record when there is none). */
Record stored_get(const std::string &name);

/* Register a one-shot, manually timed benchmark (the way every case runs). */
benchmark::internal::Benchmark *reg(const std::string &name,
				    std::function<void(benchmark::State &)> fn);

/* Failures the bench itself detects (not HVABS_E* codes). */
constexpr int kGuestFault = -1000; /* a guest access returned -1 */
constexpr int kWrongPath = -1001;  /* vCPU statistics show accesses were not served as intended */

/* Skip the benchmark with a message naming the failing call and hvabs_error_last(). */
void fail(benchmark::State &st, const char *what, int code);

/* ---- counting allocator (bench_util.cc) ---- */

struct AllocSnapshot {
	int64_t live_bytes;  /* bytes requested and not yet freed */
	int64_t live_allocs; /* blocks not yet freed */
};

/*
 * Route every library allocation through a counter of requested bytes (a
 * 16-byte header keeps each block's size, so realloc is tracked exactly).
 * Only while no hvabs object exists: returns hvabs_set_allocator()'s code.
 */
int counting_allocator_install();
int counting_allocator_remove();
AllocSnapshot alloc_snapshot();
/* Live blocks by requested size (histogram), while tracking is on. */
void alloc_sizes_track(bool on);
std::vector<std::pair<size_t, int64_t>> alloc_sizes_live();

/* Process memory from /proc/self/statm, bytes. */
struct ProcMem {
	int64_t vsz, rss;
};
ProcMem proc_mem();
/* Open file descriptors of this process. */
int proc_fds();

/* ---- sim rig: a sim VM whose vCPUs run the bench guest (bench_rig.cc) ---- */

/* Guest-physical addresses the bench guest uses. */
constexpr uint64_t kCmdAddr = 0xf0000000ull;     /* unhandled: the guest fetches commands here */
constexpr uint64_t kNoHandlerAddr = 0xe0000000ull; /* unhandled: round trips to the runner */
constexpr uint64_t kHandlerBase = 0x10000000ull;  /* IO handler i at kHandlerBase + i * kHandlerStride */
constexpr uint64_t kHandlerStride = 16;

enum Cmd : uint64_t {
	CMD_QUIT = 0,
	CMD_FLOOR = 1,      /* indirect call through a function table, batched */
	CMD_WRITE = 2,      /* mmio_write to addrs[k & mask], batched */
	CMD_READ = 3,       /* mmio_read of addrs[k & mask], batched */
	CMD_THROUGHPUT = 4, /* barrier, then count writes to addrs[0]; t_start/t_end */
	CMD_WAIT_IRQ = 5,   /* wait_irq; latency = now - t_raise; eoi */
	CMD_HALT = 6,       /* one HLT exit, then back to the command read */
	CMD_PIO_WRITE = 7,  /* pio_write (4 bytes) to (uint16_t)addrs[k & mask], batched */
	CMD_PIO_READ = 8,   /* pio_read (4 bytes) of (uint16_t)addrs[k & mask], batched */
};

/* Per-vCPU command block shared by the host and the guest thread. */
struct GuestCtx {
	/* parameters (host writes before the command) */
	uint32_t batch = 64;
	uint32_t nbatches = 0;
	uint32_t warmup = 0;     /* untimed batches first */
	const uint64_t *addrs = nullptr;
	uint64_t mask = 0;       /* addrs has mask + 1 entries (a power of two) */
	uint64_t count = 0;      /* CMD_THROUGHPUT accesses */
	std::atomic<int> *barrier = nullptr;
	int parties = 1;
	/* results (guest writes) */
	double *samples = nullptr; /* nbatches entries, ns per operation */
	uint64_t t_start = 0, t_end = 0;
	int errors = 0;
	/* CMD_WAIT_IRQ handshake with an injector thread */
	std::atomic<uint32_t> irq_ready{ 0 };  /* i + 1: the guest is about to wait for irq i */
	std::atomic<uint64_t> t_raise{ 0 };    /* injector's clock just before the eventfd write */
	std::atomic<uint32_t> irq_done{ 0 };   /* samples recorded */
	/* set by a watchdog, then a kick: the next INTR exit ends Rig::exec() */
	std::atomic<bool> abort{ false };
};

/* A sim VM in RUNNING with @nvcpus vCPUs parked at their command read. */
class Rig {
public:
	Rig() = default;
	Rig(const Rig &) = delete;
	Rig &operator=(const Rig &) = delete;
	~Rig();

	/* Create, start and prime; 0 or an HVABS_E* code (what failed in @what). */
	int init(unsigned nvcpus, const char **what);
	/* Run command @cmd on vCPU @i until the guest fetches the next one. */
	int exec(unsigned i, Cmd cmd);

	hvabs_vm *vm = nullptr;
	std::vector<hvabs_vcpu *> vcpus;
	std::vector<GuestCtx *> ctx;
};

/* A no-op IO handler pair (the cheapest possible device). */
int noop_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload);
int noop_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data, void *payload);

/* Register an MMIO handler (noop callbacks) over [addr, addr + 8). */
int handler_add(hvabs_io_handler **out, hvabs_vm *vm, uint64_t addr);

/* sim VM options (backend "sim", callback guests). */
hvabs_vm_options sim_options();

/* Guest RAM every bench VM gets (a VM needs a memory region to start). */
constexpr uint64_t kRamBase = 0x0;
constexpr uint64_t kRamSize = 4096;
int ram_add(hvabs_vm *vm);

/* A sim VM in RUNNING (with vCPU 0 unless @nvcpus is 0), never run; destroyed with the object. */
struct RunningVm {
	hvabs_vm *vm = nullptr;
	RunningVm() = default;
	RunningVm(const RunningVm &) = delete;
	RunningVm &operator=(const RunningVm &) = delete;
	~RunningVm() { hvabs_vm_destroy(vm); }
	int init(const char **what, unsigned nvcpus = 1);
};

/* The bench's user-defined function type (bind/unbind do nothing of note). */
constexpr uint32_t kUserType = HVABS_FN_USER_MIN + 0x42;
int user_type_register();
void user_type_unregister();

/* Case registration, one function per file. */
void register_dispatch();
void register_irq();
void register_control();
void register_memory();
void register_kvm();     /* bench_kvm.cc: nothing (a context note) when kvm is unusable */
void register_unicorn(); /* bench_unicorn.cc: nothing without Unicorn guests */
void register_gunyah();  /* bench_gunyah.cc (hvabs-bench-gunyah only): starts the emulator */

/* ---- shared helpers (bench_util.cc) ---- */

/* Take hvabs-bench's own options out of argv; 1 when the program should exit (help). */
int parse_options(int *argc, char **argv);
/* Raise RLIMIT_NOFILE's soft limit to the hard limit. */
void raise_fd_limit();

void sleep_ns(uint64_t ns);
/* Wait (politely: sleeps after a short spin) until @word reaches @v; false on timeout. */
bool wait_for(const std::atomic<uint32_t> &word, uint32_t v, uint64_t timeout_ns);

/*
 * Iterations per second of a pure compute loop on @nthreads threads started
 * together: the machine's own scaling floor (rate(2) / rate(1) below 2 means
 * the host did not give the bench two free CPUs).
 */
double compute_rate(unsigned nthreads, uint64_t iters);

/*
 * Floor of interrupt injection: eventfd write -> a thread blocked in read()
 * wakes; @n samples (ns) in @out. Returns 0, or -1 when eventfd failed.
 */
int eventfd_floor(uint32_t n, std::vector<double> &out);

/*
 * Batch timestamps taken inside a callback (an IO handler, a Unicorn hook):
 * tick() counts one operation and stamps every @batch-th; samples() turns
 * consecutive stamps into ns per operation, dropping the first @warmup.
 */
struct Stamps {
	uint32_t batch = 32;
	uint64_t count = 0;
	uint64_t limit = UINT64_MAX; /* operations after which the owner stops */
	std::vector<uint64_t> ts;
	void reset(uint32_t b, uint64_t lim, size_t nstamps)
	{
		batch = b;
		count = 0;
		limit = lim;
		ts.clear();
		ts.reserve(nstamps + 1);
	}
	/* true when the limit is reached */
	bool tick()
	{
		if (++count % batch == 0)
			ts.push_back(now_ns());
		return count >= limit;
	}
	void samples(std::vector<double> &out, size_t warmup) const
	{
		for (size_t i = warmup + 1; i < ts.size(); i++)
			out.push_back((double)(ts[i] - ts[i - 1]) / batch);
	}
};

/*
 * A backend's cases are not registered (@why: the cause): the note goes to
 * the benchmark context as <backend>_skipped and to <raw_dir>/skipped.txt
 * ("backend: why" lines), which bench/report.py turns into a report line.
 */
void note_skipped(const std::string &backend, const std::string &why);

/* Publish the record @name stored by an earlier case, or skip when it is missing. */
void publish_stored(benchmark::State &st, const std::string &name, double seconds);

/* A rate record (median of @v, no percentiles: rates are per-round figures), raw-dumped as @name. */
Record rate_record(const std::string &name, std::vector<double> &v, const char *unit);

/*
 * Operations per second of @n lanes started together (threads released by
 * one barrier): @run(k) runs lane k through @count operations and returns
 * 0, or non-zero on failure (ORed into *@ret). The span is from the first
 * lane's start to the last lane's end.
 */
template <typename RunFn> double lanes_rate(unsigned n, uint64_t count, RunFn run, int *ret)
{
	std::atomic<unsigned> barrier{ 0 };
	std::vector<uint64_t> t0(n), t1(n);
	std::vector<int> rets(n, 0);
	std::vector<std::thread> th;

	for (unsigned k = 0; k < n; k++)
		th.emplace_back([&, k] {
			barrier.fetch_add(1);
			while (barrier.load() < n)
				;
			t0[k] = now_ns();
			rets[k] = run(k);
			t1[k] = now_ns();
		});
	for (auto &t : th)
		t.join();
	*ret = 0;
	for (int r : rets)
		*ret |= r;
	uint64_t start = *std::min_element(t0.begin(), t0.end());
	uint64_t end = *std::max_element(t1.begin(), t1.end());
	return (double)(count * n) / ((double)(end - start) * 1e-9);
}

} /* namespace hb */

/* Internal struct sizes for the memory report (bench_sizes.c). */
extern "C" {
extern const size_t hvabs_bench_sizeof_core_vcpu;
extern const size_t hvabs_bench_sizeof_sim_vcpu;
extern const size_t hvabs_bench_sizeof_function;
extern const size_t hvabs_bench_sizeof_io_handler;
extern const size_t hvabs_bench_sizeof_ticket;
extern const size_t hvabs_bench_sizeof_resource;
}

#endif
