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

} /* namespace hb */
