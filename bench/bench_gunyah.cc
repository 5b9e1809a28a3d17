/* SPDX-License-Identifier: MIT */
/* bench/bench_gunyah.cc: gunyah (emulation) - exits, IO handlers, ioeventfd, irqfd (edge, level), 1 -> 2 vCPUs, control plane through hvabs vs raw /dev/gunyah ioctls, under libhvabs-gunyah-emu (ABI v14 or v10). */
#include "bench.h"

#include "gunyah_uapi.h"

#include <hvabs_gunyah_emu.h>

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <fcntl.h>
#include <libfdt.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

namespace hb {
namespace {

/*
 * Every figure here is the emulator's (a seccomp user-notification round
 * trip per trapped ioctl), not Gunyah's. The ABI (--hvabs_gunyah_abi, v14 by
 * default) is the emulator's and the backend's; with v10 every case is named
 * gunyah_v10_* instead of gunyah_* (N() below), so that both runs fit in one
 * report.
 */
bool v10()
{
	return opts.gunyah_abi == "v10";
}

/* The case name of @name ("gunyah_..."): "gunyah_v10_..." when the ABI is v10. */
std::string N(const std::string &name)
{
	return v10() ? "gunyah_v10_" + name.substr(7) : name;
}

/* The backend label of the report (bench/report.py derives the same from the case names). */
std::string backend_label()
{
	return v10() ? "gunyah-v10 (emulation)" : "gunyah (emulation)";
}

constexpr uint64_t kRamBase = 0x80000000ull;
constexpr uint64_t kRamSize = 0x200000ull; /* raw VMs: 2 MiB, the DTB at +1 MiB */
constexpr uint64_t kDtbOffset = 0x100000ull;
constexpr uint64_t kMmio = 0x10000000ull;     /* exits, round ends */
constexpr uint64_t kDoorbell = 0x10001000ull; /* the ioeventfd */
constexpr uint64_t kReport = 0x10002000ull;   /* interrupt reports */
constexpr uint32_t kBell = 5;                 /* doorbell label of the irqfd */
constexpr unsigned kMaxVcpus = 2;            /* vCPUs of the scaling VMs (ids 0, 1) */
constexpr uint32_t kSpareVcpu = 1;           /* id of the vCPU added and removed on a running VM */

constexpr uint32_t kBatch = 8;            /* exits per timed batch (each is tens of µs) */
constexpr uint32_t kDoorbellWrites = 64; /* doorbell writes per round (one exit) */

std::string hv_text(const char *what, int code)
{
	const hvabs_error *e = hvabs_error_last();

	return std::string(what) + ": " + hvabs_err_name(code) + " (" + e->backend + ": " + e->message + ")";
}

std::string errno_text(const char *what, int err)
{
	return std::string(what) + ": " + strerror(err);
}

/* ---- the test guest (an emulator callback guest, vCPU 0 of every VM) ---- */

enum GuestMode { G_MMIO_LOOP, G_DOORBELL, G_IRQ };
std::atomic<int> guest_mode{ G_MMIO_LOOP };

void guest(hvabs_gunyah_emu_guest *g, void *payload)
{
	(void)payload;
	switch (guest_mode.load()) {
	case G_MMIO_LOOP:
		for (uint64_t i = 0;; i++)
			if (hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, i))
				return;
	case G_DOORBELL:
		for (;;) {
			for (uint32_t i = 0; i < kDoorbellWrites; i++)
				if (hvabs_gunyah_emu_guest_mmio_write(g, kDoorbell, 4, 1))
					return;
			if (hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 0))
				return;
		}
	default:
		for (;;) {
			uint32_t label = hvabs_gunyah_emu_guest_wait_irq(g);

			hvabs_gunyah_emu_guest_eoi(g, label);
			if (hvabs_gunyah_emu_guest_mmio_write(g, kReport, 4, label))
				return;
		}
	}
}

/* ---- raw /dev/gunyah (the ABI of the run, v14 or v10) without hvabs: the floor ---- */

/* The devicetree the emulated Resource Manager accepts: vCPUs 0..@nvcpus-1, the memory, doorbell kBell. */
int build_dtb(void *buf, int cap, unsigned nvcpus, bool level)
{
/* Each step only while the previous ones succeeded (libfdt: 0 or a negative error). */
#define DT(call)                  \
	do {                      \
		if (!e)           \
			e = (call); \
	} while (0)
	/* GIC cells: SPI, number, flags (1 edge rising, 4 level high: what the backend's generator writes) */
	uint32_t irq[3] = { cpu_to_fdt32(0), cpu_to_fdt32(kBell), cpu_to_fdt32(level ? 4 : 1) };
	int e = fdt_create(buf, cap);

	DT(fdt_finish_reservemap(buf));
	DT(fdt_begin_node(buf, ""));
	DT(fdt_property_u32(buf, "#address-cells", 2));
	DT(fdt_property_u32(buf, "#size-cells", 2));
	DT(fdt_begin_node(buf, "cpus"));
	DT(fdt_property_u32(buf, "#address-cells", 1));
	DT(fdt_property_u32(buf, "#size-cells", 0));
	for (unsigned i = 0; i < nvcpus; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cpu@%x", i);
		DT(fdt_begin_node(buf, name));
		DT(fdt_property_string(buf, "device_type", "cpu"));
		DT(fdt_property_u32(buf, "reg", i));
		DT(fdt_end_node(buf));
	}
	DT(fdt_end_node(buf));
	DT(fdt_begin_node(buf, "gunyah-vm-config"));
	DT(fdt_property_string(buf, "image-name", "hvabs-bench"));
	DT(fdt_property_string(buf, "os-type", "linux"));
	DT(fdt_begin_node(buf, "memory"));
	DT(fdt_property_u32(buf, "#address-cells", 2));
	DT(fdt_property_u32(buf, "#size-cells", 2));
	DT(fdt_property_u64(buf, "base-address", kRamBase));
	DT(fdt_property_u64(buf, "size-min", kDtbOffset));
	DT(fdt_end_node(buf));
	DT(fdt_begin_node(buf, "vcpus"));
	DT(fdt_property_string(buf, "affinity", "proxy"));
	DT(fdt_end_node(buf));
	DT(fdt_begin_node(buf, "vdevices"));
	DT(fdt_property_string(buf, "generate", "/hypervisor"));
	DT(fdt_begin_node(buf, "bell-5"));
	DT(fdt_property_string(buf, "vdevice-type", "doorbell"));
	DT(fdt_property_string(buf, "generate", "/hypervisor/bell-5"));
	DT(fdt_property_u32(buf, "label", kBell));
	DT(fdt_property(buf, "peer-default", nullptr, 0));
	DT(fdt_property(buf, "interrupts", irq, sizeof(irq)));
	DT(fdt_end_node(buf));
	DT(fdt_end_node(buf));
	DT(fdt_end_node(buf));
	DT(fdt_end_node(buf));
	DT(fdt_finish(buf));
	return e ? e : (int)fdt_totalsize(buf);
#undef DT
}

/* The GH_FN_VCPU descriptor of vCPU @id (@arg backs it from v11): v10 passes the id by value. */
struct gh_fn_desc vcpu_desc(struct gh_fn_vcpu_arg *arg, uint32_t id)
{
	arg->id = id;
	if (v10())
		return { GH_FN_VCPU, 0, id };
	return { GH_FN_VCPU, sizeof(*arg), (uint64_t)(uintptr_t)arg };
}

/*
 * A VM on raw /dev/gunyah ioctls, in the order the backend issues them:
 * build() = create, region, vCPU functions and their run pages (hvabs:
 * hvabs_vm_create .. hvabs_vm_vcpu_add); start() = devicetree, DTB config,
 * GH_VM_START (hvabs_vm_start).
 */
class RawGh {
public:
	RawGh() = default;
	RawGh(const RawGh &) = delete;
	RawGh &operator=(const RawGh &) = delete;
	~RawGh()
	{
		for (unsigned i = 0; i < nvcpus; i++) {
			if (runs[i])
				munmap(runs[i], run_size);
			if (vcpus[i] >= 0)
				close(vcpus[i]);
		}
		if (vm >= 0)
			close(vm);
		if (dev >= 0)
			close(dev);
		if (mem != MAP_FAILED)
			munmap(mem, kRamSize);
	}

	/* VM with RAM and vCPUs 0..@n-1 (not started); 0 or -1 with @err. */
	int build(std::string *err, unsigned n = 1)
	{
		dev = open("/dev/gunyah", O_RDWR | O_CLOEXEC);
		if (dev < 0)
			return *err = errno_text("open /dev/gunyah", errno), -1;
		vm = ioctl(dev, GH_CREATE_VM, 0);
		if (vm < 0)
			return *err = errno_text("GH_CREATE_VM", errno), -1;
		/* as the backend maps a library-owned region */
		mem = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			   0);
		if (mem == MAP_FAILED)
			return *err = errno_text("mmap", errno), -1;
		struct gh_userspace_memory_region r = { 0, GH_MEM_ALLOW_READ | GH_MEM_ALLOW_WRITE | GH_MEM_ALLOW_EXEC,
							kRamBase, kRamSize, (uint64_t)(uintptr_t)mem };
		if (ioctl(vm, GH_VM_SET_USER_MEM_REGION, &r) < 0)
			return *err = errno_text("GH_VM_SET_USER_MEM_REGION", errno), -1;
		if (n > kMaxVcpus)
			return *err = "too many vCPUs", -1;
		while (nvcpus < n) {
			int fd = (int)vcpu_fn(true, nvcpus);
			void *p;

			if (fd < 0)
				return *err = errno_text("GH_VM_ADD_FUNCTION (vcpu)", errno), -1;
			vcpus[nvcpus++] = fd; /* closed by the destructor from here on */
			if (run_map(fd, &p, err))
				return -1;
			runs[nvcpus - 1] = static_cast<struct gh_vcpu_run *>(p);
		}
		return 0;
	}

	/* Devicetree (@level: the doorbell is level-triggered) + GH_VM_START. */
	int start(std::string *err, bool level = false)
	{
		/* built in a heap buffer, then copied into guest RAM, as the backend does */
		std::vector<uint8_t> blob(4096);
		int size = build_dtb(blob.data(), (int)blob.size(), nvcpus, level);
		if (size < 0)
			return *err = std::string("libfdt: ") + fdt_strerror(size), -1;
		memcpy(static_cast<uint8_t *>(mem) + kDtbOffset, blob.data(), (size_t)size);
		struct gh_vm_dtb_config c = { kRamBase + kDtbOffset, (uint64_t)size };
		if (ioctl(vm, GH_VM_SET_DTB_CONFIG, &c) < 0)
			return *err = errno_text("GH_VM_SET_DTB_CONFIG", errno), -1;
		if (ioctl(vm, GH_VM_START, 0) < 0)
			return *err = errno_text("GH_VM_START", errno), -1;
		return 0;
	}

	/* GH_VCPU_MMAP_SIZE + mmap of vCPU fd @fd's run page (as the backend's vcpu_init). */
	int run_map(int fd, void **out, std::string *err)
	{
		int n = ioctl(fd, GH_VCPU_MMAP_SIZE, 0);

		if (n <= 0)
			return *err = errno_text("GH_VCPU_MMAP_SIZE", errno), -1;
		run_size = (size_t)n;
		*out = mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*out == MAP_FAILED)
			return *err = errno_text("mmap gh_vcpu_run", errno), -1;
		return 0;
	}

	long vcpu_fn(bool add, uint32_t id)
	{
		struct gh_fn_vcpu_arg a;
		struct gh_fn_desc d = vcpu_desc(&a, id);

		return ioctl(vm, add ? GH_VM_ADD_FUNCTION : GH_VM_REMOVE_FUNCTION, &d);
	}

	long fn(bool add, uint32_t type, const void *arg, uint32_t size)
	{
		struct gh_fn_desc d = { type, size, (uint64_t)(uintptr_t)arg };

		return ioctl(vm, add ? GH_VM_ADD_FUNCTION : GH_VM_REMOVE_FUNCTION, &d);
	}

	long ioeventfd(bool add, int fd, uint64_t addr)
	{
		struct gh_fn_ioeventfd_arg a = { 0, addr, 4, fd, 0, 0 };

		return fn(add, GH_FN_IOEVENTFD, &a, sizeof(a));
	}

	long irqfd(bool add, int fd, bool level = false)
	{
		struct gh_fn_irqfd_arg a = { (uint32_t)fd, kBell, level ? GH_IRQFD_LEVEL : 0u, 0 };

		return fn(add, GH_FN_IRQFD, &a, sizeof(a));
	}

	/* One GH_VCPU_RUN of vCPU @i; the exit's MMIO address, or 0 for any other outcome. */
	uint64_t run_mmio(unsigned i = 0)
	{
		if (ioctl(vcpus[i], GH_VCPU_RUN, 0) < 0 || runs[i]->exit_reason != GH_VCPU_EXIT_MMIO)
			return 0;
		return runs[i]->mmio.phys_addr;
	}

	int dev = -1, vm = -1;
	unsigned nvcpus = 0;
	int vcpus[kMaxVcpus] = { -1, -1 };
	struct gh_vcpu_run *runs[kMaxVcpus] = { nullptr, nullptr };
	void *mem = MAP_FAILED;
	size_t run_size = 0;
};

/* ---- the same through hvabs' gunyah backend ---- */

class HvGh {
public:
	HvGh() = default;
	HvGh(const HvGh &) = delete;
	HvGh &operator=(const HvGh &) = delete;
	~HvGh() { hvabs_vm_destroy(vm); }

	/* VM with RAM and vCPUs 0..@n-1 (LOAD); 0 or -1 with @err. */
	int build(std::string *err, unsigned n = 1)
	{
		hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
		hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 0, HVABS_MEM_RWX, kRamBase, kRamSize, nullptr };
		std::string cfg = "abi=" + opts.gunyah_abi;
		int ret;

		o.backend = "gunyah";
		o.backend_config = cfg.c_str();
		if ((ret = hvabs_vm_create(&vm, &o)))
			return *err = hv_text("hvabs_vm_create", ret), -1;
		if ((ret = hvabs_vm_mem_add(vm, &r)))
			return *err = hv_text("hvabs_vm_mem_add", ret), -1;
		for (unsigned i = 0; i < n; i++) {
			hvabs_vcpu *v = nullptr;

			if ((ret = hvabs_vm_vcpu_add(&v, vm, i)))
				return *err = hv_text("hvabs_vm_vcpu_add", ret), -1;
			vcpus.push_back(v);
		}
		vcpu = vcpus[0];
		return 0;
	}

	int start(std::string *err)
	{
		int ret = hvabs_vm_start(vm);

		return ret ? (*err = hv_text("hvabs_vm_start", ret), -1) : 0;
	}

	/* One hvabs_vcpu_run; the MMIO exit's address, or 0 for anything else. */
	uint64_t run_mmio()
	{
		const hvabs_exit *e = hvabs_vcpu_exit(vcpu);

		if (hvabs_vcpu_run(vcpu) || e->reason != HVABS_EXIT_MMIO)
			return 0;
		return e->mmio.addr;
	}

	hvabs_vm *vm = nullptr;
	hvabs_vcpu *vcpu = nullptr; /* vCPU 0 */
	std::vector<hvabs_vcpu *> vcpus;
};

/* ---- floors of a trapped call ---- */

void bm_ioctl_floor(benchmark::State &st)
{
	for (auto _ : st) {
		RawGh raw;
		std::string err;
		std::vector<double> trapped, untrapped;
		uint64_t t0 = now_ns();

		if (raw.build(&err))
			return st.SkipWithError(err.c_str());
		for (uint32_t b = 0; b < pick(1000, 10); b++) {
			uint64_t a = now_ns();
			for (uint32_t j = 0; j < 16; j++)
				if (ioctl(raw.vcpus[0], GH_VCPU_MMAP_SIZE, 0) <= 0)
					return st.SkipWithError(errno_text("GH_VCPU_MMAP_SIZE", errno).c_str());
			uint64_t c = now_ns();
			for (uint32_t j = 0; j < 16; j++)
				(void)ioctl(raw.vcpus[0], 0x5401 /* TCGETS: type 'T', never trapped */, 0);
			uint64_t d = now_ns();
			trapped.push_back((double)(c - a) / 16);
			untrapped.push_back((double)(d - c) / 16);
		}
		store_record(N("gunyah_floor_ioctl_roundtrip"),
			     record_of(N("gunyah_floor_ioctl_roundtrip"), trapped, 16));
		store_record(N("gunyah_floor_untrapped_ioctl"),
			     record_of(N("gunyah_floor_untrapped_ioctl"), untrapped, 16));
		publish_stored(st, N("gunyah_floor_ioctl_roundtrip"), (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- MMIO exits: raw GH_VCPU_RUN, returned by hvabs_vcpu_run, served by an IO handler ---- */

template <typename RunFn> int exit_batches(RunFn run_once, uint32_t nbatches, std::vector<double> &out)
{
	uint64_t t0 = now_ns();

	for (uint32_t b = 0; b < nbatches; b++) {
		for (uint32_t j = 0; j < kBatch; j++)
			if (run_once() != kMmio)
				return -1;
		uint64_t t1 = now_ns();
		out.push_back((double)(t1 - t0) / kBatch);
		t0 = t1;
	}
	return 0;
}

int stamp_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)data;
	return static_cast<Stamps *>(payload)->tick() ? 1 : 0;
}

void bm_exits(benchmark::State &st)
{
	for (auto _ : st) {
		RawGh raw;
		HvGh hr, hs;
		Stamps stamps;
		hvabs_io_desc d{};
		std::string err;
		std::vector<double> a, b, c;
		uint64_t t0 = now_ns();
		int ret;

		guest_mode.store(G_MMIO_LOOP);
		if (raw.build(&err) || raw.start(&err) || hr.build(&err) || hr.start(&err) || hs.build(&err))
			return st.SkipWithError(err.c_str());
		d.version = HVABS_IO_DESC_VERSION;
		d.space = HVABS_SPACE_MMIO;
		d.addr = kMmio;
		d.size = 4;
		d.write = stamp_write;
		d.payload = &stamps;
		if ((ret = hvabs_vm_io_handler_add(nullptr, hs.vm, &d)))
			return st.SkipWithError(hv_text("hvabs_vm_io_handler_add", ret).c_str());
		if (hs.start(&err))
			return st.SkipWithError(err.c_str());
		uint32_t per = pick(8, 2);
		for (uint32_t r = 0; r < pick(40, 1); r++) {
			std::vector<double> x, y, z;

			if (exit_batches([&] { return raw.run_mmio(); }, per + 1, x) ||
			    exit_batches([&] { return hr.run_mmio(); }, per + 1, y))
				return st.SkipWithError("unexpected exit");
			stamps.reset(kBatch, (uint64_t)(per + 2) * kBatch, per + 2);
			if (hs.run_mmio() != kMmio || stamps.count != stamps.limit)
				return st.SkipWithError("IO handler run: accesses not served as intended");
			stamps.samples(z, 0);
			a.insert(a.end(), x.begin() + 1, x.end());
			b.insert(b.end(), y.begin() + 1, y.end());
			c.insert(c.end(), z.begin() + 1, z.end());
		}
		Record f = record_of(N("gunyah_floor_raw_mmio_exit"), a, kBatch);
		Record r1 = record_of(N("gunyah_mmio_exit"), b, kBatch);
		Record r2 = record_of(N("gunyah_mmio_handler"), c, kBatch);
		r1.floor_median = r2.floor_median = f.median;
		r1.ratio = r1.median / f.median;
		r2.ratio = r2.median / f.median;
		store_record(N("gunyah_floor_raw_mmio_exit"), f);
		store_record(N("gunyah_mmio_exit"), r1);
		store_record(N("gunyah_mmio_handler"), r2);
		publish_stored(st, N("gunyah_floor_raw_mmio_exit"), (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- ioeventfd doorbell: kDoorbellWrites writes, then one exit ---- */

template <typename RunFn> int doorbell_rounds(RunFn run_once, uint32_t rounds, std::vector<double> &out)
{
	uint64_t t0 = now_ns();

	for (uint32_t r = 0; r < rounds; r++) {
		if (run_once() != kMmio)
			return -1;
		uint64_t t1 = now_ns();
		out.push_back((double)(t1 - t0) / kDoorbellWrites);
		t0 = t1;
	}
	return 0;
}

void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

void bm_doorbell(benchmark::State &st)
{
	for (auto _ : st) {
		std::string err;
		std::vector<double> a, b;
		uint64_t t0 = now_ns();
		int rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), hfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		{
			RawGh raw;
			HvGh hv;
			int ret = 0;

			guest_mode.store(G_DOORBELL);
			if (rfd < 0 || hfd < 0) {
				err = "eventfd failed";
			} else if (raw.build(&err) || hv.build(&err)) {
			} else if (raw.ioeventfd(true, rfd, kDoorbell) < 0) {
				err = errno_text("GH_VM_ADD_FUNCTION (ioeventfd)", errno);
			} else if ((ret = hvabs_vm_ioeventfd_add(nullptr, hv.vm, HVABS_SPACE_MMIO, kDoorbell, 4, hfd, 0,
								 0))) {
				err = hv_text("hvabs_vm_ioeventfd_add", ret);
			} else if (raw.start(&err) || hv.start(&err)) {
			} else {
				uint32_t per = pick(5, 1);
				for (uint32_t r = 0; r < pick(30, 1); r++) {
					std::vector<double> x, y;

					if (doorbell_rounds([&] { return raw.run_mmio(); }, per + 1, x) ||
					    doorbell_rounds([&] { return hv.run_mmio(); }, per + 1, y)) {
						err = "doorbell round: unexpected exit";
						break;
					}
					a.insert(a.end(), x.begin() + 1, x.end());
					b.insert(b.end(), y.begin() + 1, y.end());
					drain(rfd);
					drain(hfd);
				}
			}
		} /* VMs (and their ioeventfds) go before the fds */
		if (rfd >= 0)
			close(rfd);
		if (hfd >= 0)
			close(hfd);
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		Record f = record_of(N("gunyah_floor_raw_ioeventfd_doorbell"), a, kDoorbellWrites);
		Record r = record_of(N("gunyah_ioeventfd_doorbell"), b, kDoorbellWrites);
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record(N("gunyah_floor_raw_ioeventfd_doorbell"), f);
		store_record(N("gunyah_ioeventfd_doorbell"), r);
		publish_stored(st, N("gunyah_floor_raw_ioeventfd_doorbell"), (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- irqfd: eventfd write -> the guest's wait_irq returns -> its report exit reaches the VMM ---- */

struct IrqRun {
	std::atomic<uint64_t> t_raise{ 0 };
	std::atomic<uint32_t> done{ 0 };
	std::atomic<bool> stop{ false };
	std::atomic<bool> bad{ false };
	std::vector<double> samples;
};

template <typename RunFn> void irq_vcpu(IrqRun &r, RunFn run_once)
{
	for (;;) {
		uint64_t addr = run_once();
		uint64_t t = now_ns();

		if (r.stop.load())
			return;
		if (addr != kReport) {
			r.bad.store(true);
			return;
		}
		r.samples.push_back((double)(t - r.t_raise.load()));
		r.done.fetch_add(1);
	}
}

/* One sample: the guest is back in wait_irq (settle), stamp, write; wait for its report. */
int irq_sample(IrqRun &r, int efd, uint32_t i)
{
	const uint64_t one = 1;

	sleep_ns(200000);
	r.t_raise.store(now_ns());
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		return -1;
	return wait_for(r.done, i + 1, 5000000000ull) && !r.bad.load() ? 0 : -1;
}

/* One more interrupt with stop set ends the vCPU thread at its report. */
void irq_stop(IrqRun &r, int efd)
{
	const uint64_t one = 1;

	r.stop.store(true);
	sleep_ns(200000);
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		r.bad.store(true);
}

/* Both VMs started; vCPU threads wait in the guest; samples alternate (raw first on even ones). */
int irq_pair(RawGh &raw, HvGh &hv, int rfd, int hfd, uint32_t n, std::vector<double> &a, std::vector<double> &b,
	     std::string *err)
{
	IrqRun rr, hr;
	std::thread rt([&] { irq_vcpu(rr, [&] { return raw.run_mmio(); }); });
	std::thread ht([&] { irq_vcpu(hr, [&] { return hv.run_mmio(); }); });
	int ret = 0;

	for (uint32_t i = 0; !ret && i < n; i++)
		ret = (i & 1) ? (irq_sample(hr, hfd, i) || irq_sample(rr, rfd, i))
			      : (irq_sample(rr, rfd, i) || irq_sample(hr, hfd, i));
	if (!ret) {
		irq_stop(rr, rfd);
		irq_stop(hr, hfd);
	} else {
		/* wake stuck runs the way a VMM would: immediate_exit / hvabs_vcpu_kick */
		*err = "irqfd: a guest did not report each interrupt";
		rr.stop.store(true);
		hr.stop.store(true);
		__atomic_store_n(&raw.runs[0]->immediate_exit, 1, __ATOMIC_SEQ_CST);
		hvabs_vcpu_kick(hv.vcpu);
	}
	rt.join();
	ht.join();
	a = rr.samples;
	b = hr.samples;
	return ret;
}

/*
 * Edge (@level false) or level irqfds: the raw VM's GH_FN_IRQFD with or
 * without GH_IRQFD_LEVEL (its devicetree doorbell level-triggered to
 * match), the hvabs VM's irqfd with or without HVABS_IRQFD_LEVEL. The edge
 * case also measures the eventfd wake-up floor; the level case takes that
 * floor from the edge case of the same run.
 */
void bm_irq(benchmark::State &st, bool level)
{
	for (auto _ : st) {
		std::string err;
		std::vector<double> a, b, ev;
		std::string kind = level ? "irqfd_level" : "irqfd";
		uint32_t n = level ? pick(200, 5) : pick(300, 5);
		uint64_t t0 = now_ns();
		int rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), hfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		{
			RawGh raw;
			HvGh hv;
			int ret = 0;

			guest_mode.store(G_IRQ);
			if (rfd < 0 || hfd < 0) {
				err = "eventfd failed";
			} else if (raw.build(&err) || hv.build(&err)) {
			} else if (raw.irqfd(true, rfd, level) < 0) {
				err = errno_text("GH_VM_ADD_FUNCTION (irqfd)", errno);
			} else if ((ret = hvabs_vm_irqfd_add(nullptr, hv.vm, hfd, kBell, level ? HVABS_IRQFD_LEVEL : 0,
							     -1))) {
				err = hv_text("hvabs_vm_irqfd_add", ret);
			} else if (raw.start(&err, level) || hv.start(&err)) {
			} else if (irq_pair(raw, hv, rfd, hfd, n, a, b, &err)) {
			}
		}
		if (rfd >= 0)
			close(rfd);
		if (hfd >= 0)
			close(hfd);
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		double ev_median = stored_get(N("gunyah_floor_eventfd_wakeup")).median;
		if (!level) {
			eventfd_floor(pick(300, 5), ev);
			Record e = record_of(N("gunyah_floor_eventfd_wakeup"), ev, 1);
			store_record(N("gunyah_floor_eventfd_wakeup"), e);
			ev_median = e.median;
		}
		Record f = record_of(N("gunyah_floor_raw_") + kind + "_latency", a, 1);
		Record r = record_of(N("gunyah_") + kind + "_latency", b, 1);
		if (ev_median > 0) {
			f.floor_median = ev_median;
			f.ratio = f.median / ev_median;
		}
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record(N("gunyah_floor_raw_") + kind + "_latency", f);
		store_record(N("gunyah_") + kind + "_latency", r);
		publish_stored(st, N("gunyah_floor_raw_") + kind + "_latency", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- 1 -> 2 vCPU threads: handler-served MMIO exits per second, hvabs and raw ---- */

/* IO handler of the scaling VM: counts on the lane of its vCPU, declines the lane's last exit. */
int stamp_write_lane(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)addr, (void)len, (void)data;
	return static_cast<Stamps *>(payload)[hvabs_vcpu_id(vcpu)].tick() ? 1 : 0;
}

/*
 * Rounds of: raw 1 vCPU, hvabs 1 vCPU, raw 2 vCPUs, hvabs 2 vCPUs (threads
 * started together), and the machine's own 2-thread scaling, so that all
 * see the same load. The emulator answers every trapped call on one
 * supervisor thread: its own scaling is the floor of hvabs'.
 */
void bm_scaling(benchmark::State &st)
{
	for (auto _ : st) {
		RawGh raw;
		HvGh hv;
		Stamps lanes[kMaxVcpus];
		hvabs_io_desc d{};
		std::string err;
		std::vector<double> raw1, raw2, hv1, hv2, machine;
		uint64_t count = pick(300, 10), iters = pick(2000000, 20000);
		uint64_t t0 = now_ns();
		int ret;

		guest_mode.store(G_MMIO_LOOP);
		if (raw.build(&err, kMaxVcpus) || raw.start(&err) || hv.build(&err, kMaxVcpus))
			return st.SkipWithError(err.c_str());
		d.version = HVABS_IO_DESC_VERSION;
		d.space = HVABS_SPACE_MMIO;
		d.addr = kMmio;
		d.size = 4;
		d.write = stamp_write_lane;
		d.payload = lanes;
		if ((ret = hvabs_vm_io_handler_add(nullptr, hv.vm, &d)))
			return st.SkipWithError(hv_text("hvabs_vm_io_handler_add", ret).c_str());
		if (hv.start(&err))
			return st.SkipWithError(err.c_str());
		auto raw_lane = [&](unsigned k) {
			for (uint64_t i = 0; i < count; i++)
				if (raw.run_mmio(k) != kMmio)
					return -1;
			return 0;
		};
		auto hv_lane = [&](unsigned k) {
			lanes[k].reset(UINT32_MAX, count, 0);
			if (hvabs_vcpu_run(hv.vcpus[k]) || lanes[k].count != count)
				return -1;
			return 0;
		};
		for (uint32_t r = 0; r < pick(5, 1); r++) {
			int r1, r2, r3, r4;

			raw1.push_back(lanes_rate(1, count, raw_lane, &r1) * 1e-3);
			hv1.push_back(lanes_rate(1, count, hv_lane, &r2) * 1e-3);
			raw2.push_back(lanes_rate(2, count, raw_lane, &r3) * 1e-3);
			hv2.push_back(lanes_rate(2, count, hv_lane, &r4) * 1e-3);
			machine.push_back(compute_rate(2, iters) / compute_rate(1, iters));
			if (r1 || r2 || r3 || r4)
				return st.SkipWithError("scaling round: unexpected exit");
		}
		Record f1 = rate_record(N("gunyah_floor_raw_throughput_1vcpu"), raw1, "kexit/s");
		Record f2 = rate_record(N("gunyah_floor_raw_throughput_2vcpu"), raw2, "kexit/s");
		Record h1 = rate_record(N("gunyah_throughput_1vcpu"), hv1, "kexit/s");
		Record h2 = rate_record(N("gunyah_throughput_2vcpu"), hv2, "kexit/s");
		Record m = rate_record(N("gunyah_floor_2thread_scaling"), machine, "x");
		h1.floor_median = f1.median;
		h1.ratio = h1.median / f1.median;
		h2.floor_median = f2.median;
		h2.ratio = h2.median / f2.median;
		/* 1 -> 2 scaling: hvabs (median) against the raw loop's own scaling (floor) */
		Record sc;
		sc.unit = "x";
		sc.median = h2.median / h1.median;
		sc.floor_median = f2.median / f1.median;
		sc.ratio = sc.median / sc.floor_median;
		sc.samples = (double)hv1.size();
		sc.batch = 1;
		store_record(N("gunyah_floor_raw_throughput_1vcpu"), f1);
		store_record(N("gunyah_floor_raw_throughput_2vcpu"), f2);
		store_record(N("gunyah_throughput_1vcpu"), h1);
		store_record(N("gunyah_throughput_2vcpu"), h2);
		store_record(N("gunyah_floor_2thread_scaling"), m);
		store_record(N("gunyah_scaling_2vcpu"), sc);
		publish_stored(st, N("gunyah_throughput_1vcpu"), (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- control plane ---- */

void store_pair(const std::string &name, const std::string &floor_name, std::vector<double> &hv,
		std::vector<double> &raw)
{
	Record f = record_of(floor_name, raw, 1);
	Record r = record_of(name, hv, 1);

	r.floor_median = f.median;
	r.ratio = r.median / f.median;
	store_record(floor_name, f);
	store_record(name, r);
}

/*
 * create + RAM + vCPU + start, then destroy (the emulator's teardown is
 * asynchronous: synced after, untimed). The start (raw: devicetree, DTB
 * config, GH_VM_START; hvabs: hvabs_vm_start) is also kept on its own.
 */
void bm_lifecycle(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> hc, hs, hd, rc, rs, rd;
		std::string err;
		uint64_t t0 = now_ns();

		guest_mode.store(G_MMIO_LOOP);
		auto raw_once = [&](bool keep) {
			uint64_t a = now_ns();
			auto *raw = new RawGh();
			int ret = raw->build(&err);
			uint64_t b = now_ns();
			ret = ret || raw->start(&err);
			uint64_t c = now_ns();
			delete raw;
			uint64_t d = now_ns();
			hvabs_gunyah_emu_sync(); /* the emulator tears down asynchronously: not into the next one */
			if (keep && !ret) {
				rc.push_back((double)(c - a));
				rs.push_back((double)(c - b));
				rd.push_back((double)(d - c));
			}
			return ret;
		};
		auto hv_once = [&](bool keep) {
			uint64_t a = now_ns();
			auto *hv = new HvGh();
			int ret = hv->build(&err);
			uint64_t b = now_ns();
			ret = ret || hv->start(&err);
			uint64_t c = now_ns();
			delete hv;
			uint64_t d = now_ns();
			hvabs_gunyah_emu_sync();
			if (keep && !ret) {
				hc.push_back((double)(c - a));
				hs.push_back((double)(c - b));
				hd.push_back((double)(d - c));
			}
			return ret;
		};
		for (uint32_t i = 0; i < pick(40, 2) + 1; i++) {
			bool keep = i > 0;

			if ((i & 1) ? (hv_once(keep) || raw_once(keep)) : (raw_once(keep) || hv_once(keep)))
				return st.SkipWithError(err.c_str());
		}
		store_pair(N("gunyah_ctl_vm_create"), N("gunyah_floor_raw_vm_create"), hc, rc);
		store_pair(N("gunyah_ctl_vm_start"), N("gunyah_floor_raw_vm_start"), hs, rs);
		store_pair(N("gunyah_ctl_vm_destroy"), N("gunyah_floor_raw_vm_destroy"), hd, rd);
		publish_stored(st, N("gunyah_ctl_vm_create"), (double)(now_ns() - t0) * 1e-9);
	}
}

/*
 * vCPU function add + remove (id kSpareVcpu, not in the devicetree: no
 * resource, as the kernel's ticket that waits) on RUNNING VMs, hvabs and raw
 * alternating. Raw = what the backend issues: ADD (vcpu), GH_VCPU_MMAP_SIZE,
 * mmap of the run page, REMOVE, munmap, close. The emulator's teardown of
 * the closed vCPU file is synced after each pair, untimed.
 */
void bm_vcpu_pair(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> hv_ns, raw_ns;
		std::string err;
		RawGh raw;
		HvGh hv;
		uint64_t t0 = now_ns();

		guest_mode.store(G_MMIO_LOOP);
		if (raw.build(&err) || raw.start(&err) || hv.build(&err) || hv.start(&err))
			return st.SkipWithError(err.c_str());
		auto raw_pair = [&](bool keep) {
			void *p = nullptr;
			uint64_t a = now_ns();
			int fd = (int)raw.vcpu_fn(true, kSpareVcpu);

			if (fd < 0)
				return err = errno_text("GH_VM_ADD_FUNCTION (vcpu)", errno), -1;
			if (raw.run_map(fd, &p, &err)) {
				close(fd);
				return -1;
			}
			long r = raw.vcpu_fn(false, kSpareVcpu);
			munmap(p, raw.run_size);
			close(fd);
			uint64_t b = now_ns();
			hvabs_gunyah_emu_sync();
			if (r < 0)
				return err = errno_text("GH_VM_REMOVE_FUNCTION (vcpu)", errno), -1;
			if (keep)
				raw_ns.push_back((double)(b - a));
			return 0;
		};
		auto hv_pair = [&](bool keep) {
			hvabs_function *fn = nullptr;
			hvabs_fn_vcpu_arg arg = { kSpareVcpu };
			hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(arg), &arg };
			uint64_t a = now_ns();
			int r = hvabs_vm_function_add(&fn, hv.vm, &d);

			if (!r)
				r = hvabs_function_remove(fn);
			uint64_t b = now_ns();
			hvabs_gunyah_emu_sync();
			if (r)
				return err = hv_text("vCPU function add/remove", r), -1;
			if (keep)
				hv_ns.push_back((double)(b - a));
			return 0;
		};
		for (uint32_t i = 0; i < pick(200, 3) + 1; i++) {
			bool keep = i > 0; /* the first pair pays one-time costs */

			if ((i & 1) ? (hv_pair(keep) || raw_pair(keep)) : (raw_pair(keep) || hv_pair(keep)))
				return st.SkipWithError(err.c_str());
		}
		store_pair(N("gunyah_ctl_vcpu_add_remove"), N("gunyah_floor_raw_vcpu_add_remove"), hv_ns, raw_ns);
		publish_stored(st, N("gunyah_ctl_vcpu_add_remove"), (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- a user-defined function type (bind/unbind only set the instance's data: no ioctl) ---- */

int user_bind(hvabs_function *fn)
{
	hvabs_function_set_data(fn, fn);
	return 0;
}

void user_unbind(hvabs_function *fn)
{
	hvabs_function_set_data(fn, nullptr);
}

const struct hvabs_function_type user_type = {
	HVABS_FUNCTION_TYPE_VERSION, kUserType, "bench-user", user_bind, user_unbind, nullptr, nullptr,
};

/* User-defined function add + remove pairs on a RUNNING gunyah VM (library only: no floor). */
void bm_user_fn(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> v;
		std::string err;
		uint64_t ua = 0x1234, t0 = now_ns();
		hvabs_fn_desc d = { kUserType, sizeof(ua), &ua };
		uint32_t n = pick(20000, 20);
		int ret = hvabs_function_type_register(&user_type);

		if (ret && ret != HVABS_EEXIST)
			return st.SkipWithError(hv_text("hvabs_function_type_register", ret).c_str());
		{
			HvGh hv;

			guest_mode.store(G_MMIO_LOOP);
			if (hv.build(&err) || hv.start(&err)) {
			} else {
				for (uint32_t i = 0; i < n + n / 10; i++) {
					hvabs_function *fn = nullptr;
					uint64_t a = now_ns();

					ret = hvabs_vm_function_add(&fn, hv.vm, &d);
					if (!ret)
						ret = hvabs_function_remove(fn);
					if (ret) {
						err = hv_text("user function add/remove", ret);
						break;
					}
					if (i >= n / 10) /* 10 % warm-up pairs dropped */
						v.push_back((double)(now_ns() - a));
				}
			}
		}
		(void)hvabs_function_type_unregister(kUserType);
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		store_record(N("gunyah_ctl_user_fn_add_remove"), record_of(N("gunyah_ctl_user_fn_add_remove"), v, 1));
		publish_stored(st, N("gunyah_ctl_user_fn_add_remove"), (double)(now_ns() - t0) * 1e-9);
	}
}

/*
 * irqfd or ioeventfd add and remove, timed separately, on RUNNING VMs. The
 * hvabs VM starts with an irqfd of label kBell, removed after start: the
 * doorbell stays in its devicetree, so later irqfds of that label reach
 * the (emulated) kernel as the raw ones do.
 */
void bm_fd_pairs(benchmark::State &st, bool irqfd)
{
	for (auto _ : st) {
		std::vector<double> ha, hr, ra, rr;
		std::string err, k = irqfd ? "irqfd" : "ioeventfd";
		uint64_t t0 = now_ns();
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		{
			RawGh raw;
			HvGh hv;
			hvabs_function *first = nullptr;
			int ret;

			guest_mode.store(G_MMIO_LOOP);
			auto raw_pair = [&](bool keep) {
				uint64_t a = now_ns();
				long r = irqfd ? raw.irqfd(true, efd) : raw.ioeventfd(true, efd, kDoorbell);
				uint64_t b = now_ns();
				if (r >= 0)
					r = irqfd ? raw.irqfd(false, efd) : raw.ioeventfd(false, efd, kDoorbell);
				uint64_t c = now_ns();
				if (r < 0)
					return err = errno_text("GH_VM_ADD/REMOVE_FUNCTION", errno), -1;
				if (keep)
					ra.push_back((double)(b - a)), rr.push_back((double)(c - b));
				return 0;
			};
			auto hv_pair = [&](bool keep) {
				hvabs_function *fn = nullptr;
				uint64_t a = now_ns();
				int r = irqfd ? hvabs_vm_irqfd_add(&fn, hv.vm, efd, kBell, 0, -1)
					      : hvabs_vm_ioeventfd_add(&fn, hv.vm, HVABS_SPACE_MMIO, kDoorbell, 4, efd, 0, 0);
				uint64_t b = now_ns();
				if (!r)
					r = hvabs_function_remove(fn);
				uint64_t c = now_ns();
				if (r)
					return err = hv_text("function add/remove", r), -1;
				if (keep)
					ha.push_back((double)(b - a)), hr.push_back((double)(c - b));
				return 0;
			};
			if (efd < 0 || bell < 0) {
				err = "eventfd failed";
			} else if (raw.build(&err) || raw.start(&err) || hv.build(&err)) {
			} else if ((ret = hvabs_vm_irqfd_add(&first, hv.vm, bell, kBell, 0, -1))) {
				err = hv_text("hvabs_vm_irqfd_add", ret);
			} else if (hv.start(&err)) {
			} else if ((ret = hvabs_function_remove(first))) {
				err = hv_text("hvabs_function_remove", ret);
			} else {
				for (uint32_t i = 0; i < pick(300, 3) + 1; i++) {
					bool keep = i > 0; /* the first pair pays one-time costs */

					/* alternate which goes first */
					if ((i & 1) ? (hv_pair(keep) || raw_pair(keep)) : (raw_pair(keep) || hv_pair(keep)))
						break;
				}
			}
		}
		for (int fd : { efd, bell })
			if (fd >= 0)
				close(fd);
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		store_pair(N("gunyah_ctl_") + k + "_add", N("gunyah_floor_raw_") + k + "_add", ha, ra);
		store_pair(N("gunyah_ctl_") + k + "_remove", N("gunyah_floor_raw_") + k + "_remove", hr, rr);
		publish_stored(st, N("gunyah_ctl_") + k + "_add", (double)(now_ns() - t0) * 1e-9);
	}
}

} /* namespace */

void register_gunyah()
{
	hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	int ret;

	cfg.abi = opts.gunyah_abi.c_str();
	cfg.device = "/dev/gunyah";
	ret = hvabs_gunyah_emu_start(&cfg);
	for (uint32_t i = 0; !ret && i < kMaxVcpus; i++)
		ret = hvabs_gunyah_emu_set_guest(i, guest, nullptr);
	if (ret) {
		const hvabs_error *e = hvabs_error_last();

		note_skipped(backend_label(),
			     std::string("hvabs_gunyah_emu_start: ") + hvabs_err_name(ret) + ": " + e->message);
		return;
	}
	benchmark::AddCustomContext(v10() ? "gunyah_v10_abi" : "gunyah_abi", opts.gunyah_abi);
	auto stored = [](std::initializer_list<const char *> names) {
		for (const char *n : names)
			reg_stored(N(n));
	};
	reg(N("gunyah_floor_ioctl_roundtrip"), bm_ioctl_floor);
	stored({ "gunyah_floor_untrapped_ioctl" });
	reg(N("gunyah_floor_raw_mmio_exit"), bm_exits);
	stored({ "gunyah_mmio_exit", "gunyah_mmio_handler" });
	reg(N("gunyah_floor_raw_ioeventfd_doorbell"), bm_doorbell);
	stored({ "gunyah_ioeventfd_doorbell" });
	reg(N("gunyah_floor_raw_irqfd_latency"), [](benchmark::State &st) { bm_irq(st, false); });
	stored({ "gunyah_floor_eventfd_wakeup", "gunyah_irqfd_latency" });
	reg(N("gunyah_floor_raw_irqfd_level_latency"), [](benchmark::State &st) { bm_irq(st, true); });
	stored({ "gunyah_irqfd_level_latency" });
	reg(N("gunyah_throughput_1vcpu"), bm_scaling);
	stored({ "gunyah_throughput_2vcpu", "gunyah_scaling_2vcpu", "gunyah_floor_raw_throughput_1vcpu",
		 "gunyah_floor_raw_throughput_2vcpu", "gunyah_floor_2thread_scaling" });
	reg(N("gunyah_ctl_vm_create"), bm_lifecycle);
	stored({ "gunyah_floor_raw_vm_create", "gunyah_ctl_vm_start", "gunyah_floor_raw_vm_start",
		 "gunyah_ctl_vm_destroy", "gunyah_floor_raw_vm_destroy" });
	reg(N("gunyah_ctl_vcpu_add_remove"), bm_vcpu_pair);
	stored({ "gunyah_floor_raw_vcpu_add_remove" });
	reg(N("gunyah_ctl_user_fn_add_remove"), bm_user_fn);
	reg(N("gunyah_ctl_irqfd_add"), [](benchmark::State &st) { bm_fd_pairs(st, true); });
	stored({ "gunyah_floor_raw_irqfd_add", "gunyah_ctl_irqfd_remove", "gunyah_floor_raw_irqfd_remove" });
	reg(N("gunyah_ctl_ioeventfd_add"), [](benchmark::State &st) { bm_fd_pairs(st, false); });
	stored({ "gunyah_floor_raw_ioeventfd_add", "gunyah_ctl_ioeventfd_remove",
		 "gunyah_floor_raw_ioeventfd_remove" });
}

} /* namespace hb */
