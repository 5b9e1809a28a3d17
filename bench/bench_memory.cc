/* SPDX-License-Identifier: MIT */
/* bench/bench_memory.cc: library bytes per function instance (counting allocator), vCPU backend state, 1 -> 1,000 VMs. */
#include "bench.h"

#include <cstdio>
#include <map>
#include <sys/eventfd.h>
#include <unistd.h>

namespace hb {
namespace {

Record bytes_record(double bytes)
{
	Record r;

	r.unit = "bytes";
	r.median = bytes;
	r.samples = 1;
	r.batch = 1;
	return r;
}

/* <raw_dir>/<name>.sizes: net change of live blocks by requested size, per instance. */
void sizes_dump(const std::string &name, const std::vector<std::pair<size_t, int64_t>> &sizes,
		uint32_t n)
{
	if (opts.raw_dir.empty())
		return;
	std::string path = opts.raw_dir + "/" + name + ".sizes";
	FILE *f = fopen(path.c_str(), "w");

	if (!f)
		return;
	fprintf(f, "# size_bytes net_blocks blocks_per_instance bytes_per_instance (n=%u)\n", n);
	for (auto &kv : sizes)
		fprintf(f, "%zu %lld %.3f %.1f\n", kv.first, (long long)kv.second,
			(double)kv.second / n, (double)kv.first * (double)kv.second / n);
	fclose(f);
}

void halt_guest(hvabs_sim_guest *g, void *payload)
{
	(void)payload;
	for (;;)
		hvabs_sim_guest_halt(g);
}

/* Add @n instances of @type to @vm; fds the instances need are opened in @fds. */
int add_instances(hvabs_vm *vm, uint32_t type, uint32_t n, std::vector<int> &fds,
		  std::vector<hvabs_vcpu *> &vcpus)
{
	for (uint32_t i = 0; i < n; i++) {
		int ret;

		switch (type) {
		case HVABS_FN_VCPU: {
			hvabs_vcpu *v = nullptr;

			ret = hvabs_vm_vcpu_add(&v, vm, i);
			vcpus.push_back(v);
			break;
		}
		case HVABS_FN_IRQFD:
			ret = hvabs_vm_irqfd_add(nullptr, vm, fds[i], i, 0, -1);
			break;
		case HVABS_FN_IOEVENTFD:
			ret = hvabs_vm_ioeventfd_add(nullptr, vm, HVABS_SPACE_MMIO,
						     kHandlerBase + (uint64_t)i * kHandlerStride, 4,
						     fds[0], 0, 0);
			break;
		default: {
			uint64_t arg = i;
			hvabs_fn_desc d = { type, sizeof(arg), &arg };

			ret = hvabs_vm_function_add(nullptr, vm, &d);
			break;
		}
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* vCPU backend state outside the allocator: the guest thread each vCPU starts at its first run. */
int vcpu_threads(std::vector<hvabs_vcpu *> &vcpus, const std::string &name)
{
	ProcMem m0 = proc_mem();
	AllocSnapshot a0 = alloc_snapshot();
	double n = (double)vcpus.size();

	for (hvabs_vcpu *v : vcpus) {
		int ret = hvabs_sim_vcpu_set_guest(v, halt_guest, nullptr);

		if (!ret)
			ret = hvabs_vcpu_run(v);
		if (ret)
			return ret;
	}
	ProcMem m1 = proc_mem();
	AllocSnapshot a1 = alloc_snapshot();
	store_record(name + "_thread_rss", bytes_record((double)(m1.rss - m0.rss) / n));
	store_record(name + "_thread_vsz", bytes_record((double)(m1.vsz - m0.vsz) / n));
	store_record(name + "_run_alloc", bytes_record((double)(a1.live_bytes - a0.live_bytes) / n));
	return 0;
}

using Sizes = std::vector<std::pair<size_t, int64_t>>;

/* @b - @a, by size. */
Sizes sizes_diff(const Sizes &b, const Sizes &a)
{
	std::map<size_t, int64_t> m;
	Sizes out;

	for (auto &kv : b)
		m[kv.first] += kv.second;
	for (auto &kv : a)
		m[kv.first] -= kv.second;
	for (auto &kv : m)
		if (kv.second)
			out.emplace_back(kv.first, kv.second);
	return out;
}

/* What building a VM with @n instances of @type leaves allocated. */
struct Build {
	RunningVm rv;
	std::vector<int> fds;
	std::vector<hvabs_vcpu *> vcpus;
	AllocSnapshot delta{ 0, 0 };
	Sizes sizes;
	~Build()
	{
		hvabs_vm_destroy(rv.vm);
		rv.vm = nullptr;
		for (int fd : fds)
			if (fd >= 0)
				close(fd);
	}
};

/*
 * vCPU resources exist only for vCPUs present at start, so a vCPU is
 * measured over the whole create/add/start (minus the same VM without
 * vCPUs); the other types are added to a running VM with vCPU 0.
 */
int build(Build &b, uint32_t type, uint32_t n)
{
	hvabs_vm_options o = sim_options();
	const char *what = "";
	bool whole = type == HVABS_FN_VCPU;
	int ret = 0;

	for (uint32_t i = 0; i < (type == HVABS_FN_IRQFD ? n : 1); i++) {
		b.fds.push_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		if (b.fds.back() < 0)
			return HVABS_EIO;
	}
	if (!whole)
		ret = b.rv.init(&what, 1);
	if (ret)
		return ret;
	AllocSnapshot s0 = alloc_snapshot();
	alloc_sizes_track(true);
	if (whole) {
		ret = hvabs_vm_create(&b.rv.vm, &o);
		if (!ret)
			ret = ram_add(b.rv.vm);
	}
	if (!ret)
		ret = add_instances(b.rv.vm, type, n, b.fds, b.vcpus);
	if (!ret && whole)
		ret = hvabs_vm_start(b.rv.vm);
	AllocSnapshot s1 = alloc_snapshot();
	b.sizes = alloc_sizes_live();
	alloc_sizes_track(false);
	b.delta = { s1.live_bytes - s0.live_bytes, s1.live_allocs - s0.live_allocs };
	return ret;
}

int measure(const std::string &name, uint32_t type, uint32_t n)
{
	Build with, without;
	int ret = type >= HVABS_FN_USER_MIN ? user_type_register() : 0;

	if (!ret && type == HVABS_FN_VCPU)
		ret = build(without, type, 0);
	if (!ret)
		ret = build(with, type, n);
	if (!ret) {
		Record r = bytes_record((double)(with.delta.live_bytes - without.delta.live_bytes) / n);
		r.samples = n;
		r.allocs = (double)(with.delta.live_allocs - without.delta.live_allocs) / n;
		store_record(name, r);
		sizes_dump(name, sizes_diff(with.sizes, without.sizes), n);
	}
	if (!ret && type == HVABS_FN_VCPU)
		ret = vcpu_threads(with.vcpus, name);
	if (type >= HVABS_FN_USER_MIN) {
		hvabs_vm_destroy(with.rv.vm);
		with.rv.vm = nullptr;
		user_type_unregister();
	}
	return ret;
}

void bm_mem(benchmark::State &st, const std::string &name, uint32_t type, uint32_t n)
{
	for (auto _ : st) {
		uint64_t t0 = now_ns();
		int ret;

		if (hvabs_alloc_count() != 0)
			return st.SkipWithError("library objects alive: cannot install the counting allocator");
		ret = counting_allocator_install();
		if (ret)
			return fail(st, "hvabs_set_allocator", ret);
		ret = measure(name, type, n);
		if (hvabs_alloc_count() != 0)
			return st.SkipWithError("library allocations left after the VM was destroyed");
		if (counting_allocator_remove() != 0)
			return st.SkipWithError("cannot restore the default allocator");
		if (ret)
			return fail(st, name.c_str(), ret);
		publish(st, stored_get(name), (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- 1 -> 1,000 VMs in one process ---- */

const uint32_t kVmCounts[] = { 1, 10, 100, 1000 };

/*
 * Create VMs (each: create, vCPU 0, start; never run) up to the largest
 * count. Pass 1 (default allocator) times hvabs_vm_create and reads RSS and
 * fds at each count; pass 2 (counting allocator) reads library bytes.
 */
int vms_pass(bool counting, uint32_t max)
{
	hvabs_vm_options o = sim_options();
	std::vector<hvabs_vm *> vms;
	std::vector<double> create;
	ProcMem m0 = proc_mem();
	AllocSnapshot a0 = alloc_snapshot();
	int f0 = proc_fds(), ret = 0;
	size_t next = 0;

	while (!ret && vms.size() < max) {
		hvabs_vm *vm = nullptr;
		uint64_t t0 = now_ns();

		ret = hvabs_vm_create(&vm, &o);
		create.push_back((double)(now_ns() - t0));
		if (ret)
			break;
		vms.push_back(vm);
		ret = ram_add(vm);
		if (!ret)
			ret = hvabs_vm_vcpu_add(nullptr, vm, 0);
		if (!ret)
			ret = hvabs_vm_start(vm);
		if (ret || vms.size() != kVmCounts[next])
			continue;
		uint32_t n = kVmCounts[next++];
		std::string sfx = "_n" + std::to_string(n);
		if (counting) {
			AllocSnapshot a = alloc_snapshot();
			store_record("vms_bytes_per_vm" + sfx,
				     bytes_record((double)(a.live_bytes - a0.live_bytes) / n));
		} else {
			ProcMem m = proc_mem();
			std::vector<double> win(create.begin() + (n == 1 ? 0 : n / 10), create.end());
			Record r = record_of("vms_create" + sfx, win, 1);
			store_record("vms_create" + sfx, r);
			store_record("vms_rss_per_vm" + sfx, bytes_record((double)(m.rss - m0.rss) / n));
			Record fr = bytes_record((double)(proc_fds() - f0) / n);
			fr.unit = "fds";
			store_record("vms_fds_per_vm" + sfx, fr);
		}
	}
	for (hvabs_vm *vm : vms)
		hvabs_vm_destroy(vm);
	return ret;
}

void bm_vms(benchmark::State &st)
{
	for (auto _ : st) {
		uint64_t t0 = now_ns();
		uint32_t max = pick(1000, 100);
		int ret = vms_pass(false, max);

		if (ret)
			return fail(st, "vms pass", ret);
		if (hvabs_alloc_count() != 0)
			return st.SkipWithError("library objects alive: cannot install the counting allocator");
		ret = counting_allocator_install();
		if (ret)
			return fail(st, "hvabs_set_allocator", ret);
		ret = vms_pass(true, max);
		if (hvabs_alloc_count() != 0 || counting_allocator_remove() != 0)
			return st.SkipWithError("library allocations left after the VMs were destroyed");
		if (ret)
			return fail(st, "vms pass (counting)", ret);
		publish(st, stored_get("vms_create_n1"), (double)(now_ns() - t0) * 1e-9);
	}
}

} /* namespace */

/* <raw_dir>/structs.txt: private struct sizes that explain the .sizes breakdowns. */
static void structs_dump()
{
	if (opts.raw_dir.empty())
		return;
	FILE *f = fopen((opts.raw_dir + "/structs.txt").c_str(), "w");

	if (!f)
		return;
	fprintf(f, "struct hvabs_vcpu (core) %zu\n", hvabs_bench_sizeof_core_vcpu);
	fprintf(f, "struct sim_vcpu (core + sim) %zu\n", hvabs_bench_sizeof_sim_vcpu);
	fprintf(f, "struct hvabs_function (+ argument) %zu\n", hvabs_bench_sizeof_function);
	fprintf(f, "struct hvabs_io_handler %zu\n", hvabs_bench_sizeof_io_handler);
	fprintf(f, "struct hvabs_ticket %zu\n", hvabs_bench_sizeof_ticket);
	fprintf(f, "struct hvabs_resource %zu\n", hvabs_bench_sizeof_resource);
	fclose(f);
}

void register_memory()
{
	structs_dump();
	reg("mem_vcpu", [](benchmark::State &st) {
		hvabs_caps caps{};
		caps.version = HVABS_CAPS_VERSION;
		uint32_t n = 64;
		if (hvabs_backend_caps("sim", &caps) == 0 && caps.max_vcpus < n)
			n = caps.max_vcpus;
		bm_mem(st, "mem_vcpu", HVABS_FN_VCPU, n);
	});
	store_record("mem_vcpu_core_struct", bytes_record((double)hvabs_bench_sizeof_core_vcpu));
	store_record("mem_vcpu_sim_struct", bytes_record((double)(hvabs_bench_sizeof_sim_vcpu -
								   hvabs_bench_sizeof_core_vcpu)));
	reg_stored("mem_vcpu_core_struct");
	reg_stored("mem_vcpu_sim_struct");
	reg_stored("mem_vcpu_run_alloc");
	reg_stored("mem_vcpu_thread_rss");
	reg_stored("mem_vcpu_thread_vsz");
	reg("mem_irqfd", [](benchmark::State &st) { bm_mem(st, "mem_irqfd", HVABS_FN_IRQFD, pick(1000, 20)); });
	reg("mem_ioeventfd",
	    [](benchmark::State &st) { bm_mem(st, "mem_ioeventfd", HVABS_FN_IOEVENTFD, pick(1000, 20)); });
	if (!opts.smoke)
		reg("mem_ioeventfd_n100000", [](benchmark::State &st) {
			bm_mem(st, "mem_ioeventfd_n100000", HVABS_FN_IOEVENTFD, 100000);
		});
	reg("mem_user_fn", [](benchmark::State &st) { bm_mem(st, "mem_user_fn", kUserType, pick(1000, 20)); });
	reg("vms_create_n1", bm_vms);
	for (uint32_t n : kVmCounts) {
		std::string sfx = "_n" + std::to_string(n);

		if (opts.smoke && n > 100)
			break;
		if (n > 1)
			reg_stored("vms_create" + sfx);
		reg_stored("vms_bytes_per_vm" + sfx);
		reg_stored("vms_rss_per_vm" + sfx);
		reg_stored("vms_fds_per_vm" + sfx);
	}
}

} /* namespace hb */
