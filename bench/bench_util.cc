/* SPDX-License-Identifier: MIT */
/* bench/bench_util.cc: statistics, result publishing, the counting allocator and /proc readers. */
#include "bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <map>
#include <mutex>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace hb {

Options opts;

Stats stats_of(std::vector<double> &v)
{
	Stats s;

	if (v.empty())
		return s;
	std::sort(v.begin(), v.end());
	s.n = v.size();
	/* Nearest rank: the smallest value with at least q of the samples at or below it. */
	auto rank = [&](double q) {
		size_t r = (size_t)std::ceil(q * (double)s.n);
		return v[r ? r - 1 : 0];
	};
	s.median = rank(0.5);
	s.p99 = rank(0.99);
	s.p999 = rank(0.999);
	s.min = v.front();
	s.max = v.back();
	double sum = 0;
	for (double x : v)
		sum += x;
	s.mean = sum / (double)s.n;
	return s;
}

void raw_dump(const std::string &name, const std::vector<double> &v)
{
	if (opts.raw_dir.empty())
		return;
	std::string path = opts.raw_dir + "/" + name + ".txt";
	FILE *f = fopen(path.c_str(), "w");

	if (!f)
		return;
	for (double x : v)
		fprintf(f, "%.3f\n", x);
	fclose(f);
}

void publish(benchmark::State &st, const Record &r, double seconds)
{
	st.SetIterationTime(seconds > 0 ? seconds : 1e-9);
	st.SetLabel(r.unit);
	st.counters["median"] = r.median;
	st.counters["p99"] = r.p99;
	st.counters["p999"] = r.p999;
	st.counters["floor_median"] = r.floor_median;
	st.counters["ratio"] = r.ratio;
	st.counters["samples"] = r.samples;
	st.counters["batch"] = r.batch;
	if (r.allocs >= 0)
		st.counters["allocs"] = r.allocs;
}

Record record_of(const std::string &name, std::vector<double> &samples, uint32_t batch,
		 const char *unit)
{
	Record r;

	raw_dump(name, samples);
	Stats s = stats_of(samples);
	r.unit = unit;
	r.median = s.median;
	r.p99 = s.p99;
	r.p999 = s.p999;
	r.samples = (double)s.n;
	r.batch = batch;
	return r;
}

namespace {
std::map<std::string, Record> stored;
}

void store_record(const std::string &name, const Record &r)
{
	stored[name] = r;
}

Record stored_get(const std::string &name)
{
	auto it = stored.find(name);

	return it == stored.end() ? Record() : it->second;
}

void publish_stored(benchmark::State &st, const std::string &name, double seconds)
{
	auto it = stored.find(name);

	if (it == stored.end())
		return st.SkipWithError("the case computing this record did not run");
	publish(st, it->second, seconds);
}

Record rate_record(const std::string &name, std::vector<double> &v, const char *unit)
{
	Record r;

	raw_dump(name, v);
	std::vector<double> c = v;
	Stats s = stats_of(c);
	r.unit = unit;
	r.median = s.median;
	r.samples = (double)s.n;
	r.batch = 1;
	return r;
}

void reg_stored(const std::string &name)
{
	reg(name, [name](benchmark::State &st) {
		for (auto _ : st) {
			auto it = stored.find(name);

			if (it == stored.end())
				return st.SkipWithError("the case computing this record did not run");
			publish(st, it->second, 1e-9);
		}
	});
}

benchmark::internal::Benchmark *reg(const std::string &name,
				    std::function<void(benchmark::State &)> fn)
{
	return benchmark::RegisterBenchmark(name.c_str(), fn)
		->Iterations(1)
		->UseManualTime()
		->Unit(benchmark::kMillisecond);
}

void fail(benchmark::State &st, const char *what, int code)
{
	const hvabs_error *e = hvabs_error_last();

	if (code == kGuestFault || code == kWrongPath) {
		std::string m = std::string(what) + (code == kGuestFault ? ": a guest access faulted"
							       : ": accesses were not served as intended "
								 "(vCPU statistics)");
		st.SkipWithError(m.c_str());
		return;
	}
	std::string msg = std::string(what) + ": " + hvabs_err_name(code) + " (" + e->backend +
			  ": " + e->message + ")";

	st.SkipWithError(msg.c_str());
}

/* ---- counting allocator ---- */

namespace {

constexpr size_t kHdr = 16; /* keeps malloc's 16-byte alignment */

std::atomic<int64_t> live_bytes{ 0 };
std::atomic<int64_t> live_allocs{ 0 };
std::atomic<bool> sizes_on{ false };
std::mutex sizes_lock;
std::map<size_t, int64_t> sizes;

void sizes_note(size_t size, int64_t delta)
{
	if (!sizes_on.load(std::memory_order_relaxed))
		return;
	std::lock_guard<std::mutex> g(sizes_lock);
	sizes[size] += delta;
}

void *count_malloc(size_t size, void *)
{
	char *p = static_cast<char *>(malloc(size + kHdr));

	if (!p)
		return nullptr;
	memcpy(p, &size, sizeof(size));
	live_bytes.fetch_add((int64_t)size, std::memory_order_relaxed);
	live_allocs.fetch_add(1, std::memory_order_relaxed);
	sizes_note(size, 1);
	return p + kHdr;
}

void count_free(void *ptr, void *)
{
	char *p;
	size_t size;

	if (!ptr)
		return;
	p = static_cast<char *>(ptr) - kHdr;
	memcpy(&size, p, sizeof(size));
	live_bytes.fetch_sub((int64_t)size, std::memory_order_relaxed);
	live_allocs.fetch_sub(1, std::memory_order_relaxed);
	sizes_note(size, -1);
	free(p);
}

void *count_realloc(void *ptr, size_t size, void *payload)
{
	char *p, *q;
	size_t old;

	if (!ptr)
		return count_malloc(size, payload);
	p = static_cast<char *>(ptr) - kHdr;
	memcpy(&old, p, sizeof(old));
	q = static_cast<char *>(realloc(p, size + kHdr));
	if (!q)
		return nullptr;
	memcpy(q, &size, sizeof(size));
	live_bytes.fetch_add((int64_t)size - (int64_t)old, std::memory_order_relaxed);
	sizes_note(old, -1);
	sizes_note(size, 1);
	return q + kHdr;
}

} /* namespace */

int counting_allocator_install()
{
	hvabs_allocator a{};

	a.version = HVABS_ALLOCATOR_VERSION;
	a.malloc = count_malloc;
	a.realloc = count_realloc;
	a.free = count_free;
	return hvabs_set_allocator(&a);
}

int counting_allocator_remove()
{
	return hvabs_set_allocator(nullptr);
}

AllocSnapshot alloc_snapshot()
{
	return { live_bytes.load(), live_allocs.load() };
}

void alloc_sizes_track(bool on)
{
	std::lock_guard<std::mutex> g(sizes_lock);
	if (on)
		sizes.clear();
	sizes_on.store(on);
}

std::vector<std::pair<size_t, int64_t>> alloc_sizes_live()
{
	std::lock_guard<std::mutex> g(sizes_lock);
	std::vector<std::pair<size_t, int64_t>> out;

	for (auto &kv : sizes)
		if (kv.second != 0)
			out.emplace_back(kv.first, kv.second);
	return out;
}

ProcMem proc_mem()
{
	long pages = sysconf(_SC_PAGESIZE);
	long vsz = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &vsz, &rss) != 2)
			vsz = rss = 0;
		fclose(f);
	}
	return { (int64_t)vsz * pages, (int64_t)rss * pages };
}

int proc_fds()
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

/* ---- options ---- */

namespace {

void usage_extra()
{
	fprintf(stderr, "hvabs-bench options (besides Google Benchmark's):\n"
			"  --hvabs_smoke          few iterations (checks that every case runs)\n"
			"  --hvabs_raw_dir=DIR    write raw samples to DIR/<case>.txt\n"
			"  --hvabs_gunyah_abi=V   hvabs-bench-gunyah: ABI v14 (default) or v10; v10 cases are\n"
			"                         named gunyah_v10_*\n");
}

} /* namespace */

int parse_options(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--hvabs_smoke")) {
			opts.smoke = true;
		} else if (!strncmp(a, "--hvabs_raw_dir=", 16)) {
			opts.raw_dir = a + 16;
		} else if (!strncmp(a, "--hvabs_gunyah_abi=", 19)) {
			opts.gunyah_abi = a + 19;
			if (opts.gunyah_abi != "v10" && opts.gunyah_abi != "v14")
				return usage_extra(), 1;
		} else if (!strcmp(a, "--hvabs_help")) {
			return usage_extra(), 1;
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	return 0;
}

/* irqfd memory cases and 1,000 VMs need more fds than a default soft limit may allow. */
void raise_fd_limit()
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void note_skipped(const std::string &backend, const std::string &why)
{
	benchmark::AddCustomContext(backend + "_skipped", why);
	if (opts.raw_dir.empty())
		return;
	FILE *f = fopen((opts.raw_dir + "/skipped.txt").c_str(), "a");

	if (!f)
		return;
	fprintf(f, "%s: %s\n", backend.c_str(), why.c_str());
	fclose(f);
}

/* ---- waiting, machine floors ---- */

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	nanosleep(&ts, nullptr);
}

bool wait_for(const std::atomic<uint32_t> &word, uint32_t v, uint64_t timeout_ns)
{
	uint64_t end = now_ns() + timeout_ns;

	for (unsigned spins = 0; word.load() < v; spins++) {
		if (spins > 100)
			sleep_ns(2000);
		if (now_ns() > end)
			return false;
	}
	return true;
}

double compute_rate(unsigned nthreads, uint64_t iters)
{
	std::atomic<unsigned> barrier{ 0 };
	std::vector<uint64_t> t0(nthreads), t1(nthreads);
	std::vector<std::thread> th;

	for (unsigned k = 0; k < nthreads; k++)
		th.emplace_back([&, k] {
			uint64_t x = k + 1;

			barrier.fetch_add(1);
			while (barrier.load() < nthreads)
				;
			t0[k] = now_ns();
			for (uint64_t i = 0; i < iters; i++) {
				x = x * 6364136223846793005ull + 1442695040888963407ull;
				opaque(x);
			}
			t1[k] = now_ns();
		});
	for (auto &t : th)
		t.join();
	uint64_t start = *std::min_element(t0.begin(), t0.end());
	uint64_t end = *std::max_element(t1.begin(), t1.end());
	return (double)(iters * nthreads) / ((double)(end - start) * 1e-9);
}

/*
 * The handshake of the irqfd cases with a plain thread blocked in read() on
 * an eventfd: wait for the reader to wait, settle, stamp, write.
 */
int eventfd_floor(uint32_t n, std::vector<double> &out)
{
	constexpr uint64_t kSettleNs = 50000;
	int efd = eventfd(0, EFD_CLOEXEC);
	std::atomic<uint64_t> t_raise{ 0 };
	std::atomic<uint32_t> ready{ 0 }, done{ 0 };

	out.assign(n, 0.0);
	if (efd < 0)
		return -1;
	std::thread reader([&] {
		uint64_t v;

		for (uint32_t i = 0; i < n; i++) {
			ready.store(i + 1);
			if (read(efd, &v, sizeof(v)) != sizeof(v))
				break;
			out[i] = (double)(now_ns() - t_raise.load());
			done.store(i + 1);
		}
	});
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t one = 1;

		if (!wait_for(ready, i + 1, 5000000000ull))
			break;
		sleep_ns(kSettleNs);
		t_raise.store(now_ns());
		if (write(efd, &one, sizeof(one)) != sizeof(one) || !wait_for(done, i + 1, 5000000000ull))
			break;
	}
	if (done.load() < n) {
		/* unblock the reader before joining it */
		const uint64_t one = 1;
		while (done.load() < n && write(efd, &one, sizeof(one)) == sizeof(one) &&
		       wait_for(done, done.load() + 1, 100000000ull))
			;
	}
	reader.join();
	close(efd);
	return done.load() == n ? 0 : -1;
}

} /* namespace hb */
