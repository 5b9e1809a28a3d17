/* SPDX-License-Identifier: MIT */
/* bench/bench_kvm.cc: KVM - exits, ioeventfd, irqfd, control plane and 1 -> 2 vCPUs through hvabs vs a raw KVM_RUN loop in the same run. */
#include "bench.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#if defined(__x86_64__) && defined(HVABS_BENCH_KVM_GUEST_DIR)
#define BENCH_KVM 1
#include <csignal>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace hb {

#ifdef BENCH_KVM
namespace {

/*
 * Guest memory map (bench/guests/kvm_*.s, real mode): RAM [0, 512 KiB),
 * code at 0x1000 (CS = 0x100, IP = 0), MMIO at 0xd0000, the doorbell at
 * 0xd1000, reports on port 0x10, round ends / ready on port 0x11.
 */
constexpr uint64_t kRamSize = 0x80000;
constexpr uint64_t kEntry = 0x1000;
constexpr uint64_t kStack = 0xf000;
constexpr uint64_t kMmio = 0xd0000;
constexpr uint64_t kDoorbell = 0xd1000;
constexpr uint16_t kReportPort = 0x10;
constexpr uint16_t kRoundPort = 0x11;
constexpr uint32_t kGsi = 5;
constexpr uint64_t kTssAddr = 0xfffbd000ull; /* as the backend: KVM's real-mode TSS on Intel */

/*
 * struct kvm_cpuid2 ends in a flexible array that C++ sizes differently
 * from C, which changes the size field of the ioctl numbers: spell them
 * with C's size (8 bytes: nent, padding).
 */
constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);

constexpr uint32_t kBatch = 32;         /* exits per timed batch */
constexpr uint32_t kDoorbellWrites = 64; /* doorbell writes per round (one exit) */

std::string guest_dir()
{
	return HVABS_BENCH_KVM_GUEST_DIR;
}

std::vector<uint8_t> guest_code(const char *name)
{
	std::ifstream f(guest_dir() + "/" + name + ".bin", std::ios::binary);

	return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::string errno_text(const char *what, int err)
{
	return std::string(what) + ": " + strerror(err);
}

std::string hv_text(const char *what, int code)
{
	const hvabs_error *e = hvabs_error_last();

	return std::string(what) + ": " + hvabs_err_name(code) + " (" + e->backend + ": " + e->message + ")";
}

/* ---- the raw floor: KVM ioctls without hvabs, the same VM configuration as the backend ---- */

struct RawVcpu {
	int fd = -1;
	struct kvm_run *run = nullptr;
};

/*
 * One VM set up as the kvm backend sets its VMs up (TSS address, PIC +
 * IOAPIC, supported CPUID, one memslot, real-mode entry with the boot
 * contract's registers), so that the floor differs from hvabs only by
 * hvabs itself.
 */
class RawVm {
public:
	RawVm() = default;
	RawVm(const RawVm &) = delete;
	RawVm &operator=(const RawVm &) = delete;
	~RawVm()
	{
		for (RawVcpu &v : vcpus) {
			if (v.run)
				munmap(v.run, run_size);
			if (v.fd >= 0)
				close(v.fd);
		}
		if (vm >= 0)
			close(vm);
		if (sys >= 0)
			close(sys);
		if (mem != MAP_FAILED)
			munmap(mem, kRamSize);
	}

	/* 0, or -1 with the failing call in @err. */
	int init(const std::vector<uint8_t> &code, unsigned nvcpus, uint64_t arg0, std::string *err)
	{
		sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (sys < 0)
			return *err = errno_text("open /dev/kvm", errno), -1;
		vm = ioctl(sys, KVM_CREATE_VM, 0);
		if (vm < 0)
			return *err = errno_text("KVM_CREATE_VM", errno), -1;
		if (ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)kTssAddr) < 0)
			return *err = errno_text("KVM_SET_TSS_ADDR", errno), -1;
		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			return *err = errno_text("KVM_CREATE_IRQCHIP", errno), -1;
		mem = mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			   -1, 0);
		if (mem == MAP_FAILED)
			return *err = errno_text("mmap guest RAM", errno), -1;
		memcpy(static_cast<uint8_t *>(mem) + kEntry, code.data(), code.size());
		struct kvm_userspace_memory_region r = { 0, 0, 0, kRamSize, (uint64_t)(uintptr_t)mem };
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return *err = errno_text("KVM_SET_USER_MEMORY_REGION", errno), -1;
		int n = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
		if (n <= 0)
			return *err = errno_text("KVM_GET_VCPU_MMAP_SIZE", errno), -1;
		run_size = (size_t)n;
		for (unsigned i = 0; i < nvcpus; i++)
			if (vcpu_add(i, arg0, err))
				return -1;
		return 0;
	}

	int ioeventfd(uint64_t addr, uint32_t len, int fd, bool deassign)
	{
		struct kvm_ioeventfd req = {};

		req.addr = addr;
		req.len = len;
		req.fd = fd;
		req.flags = deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0;
		return ioctl(vm, KVM_IOEVENTFD, &req);
	}

	/* @resample_fd >= 0: a level irqfd (KVM_IRQFD_FLAG_RESAMPLE) whose line drops at the guest's EOI. */
	int irqfd(int fd, uint32_t gsi, bool deassign, int resample_fd = -1)
	{
		struct kvm_irqfd req = {};

		req.fd = (uint32_t)fd;
		req.gsi = gsi;
		req.flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0;
		if (resample_fd >= 0 && !deassign) {
			req.flags |= KVM_IRQFD_FLAG_RESAMPLE;
			req.resamplefd = (uint32_t)resample_fd;
		}
		return ioctl(vm, KVM_IRQFD, &req);
	}

	int run(unsigned i) { return ioctl(vcpus[i].fd, KVM_RUN, 0); }

	int sys = -1, vm = -1;
	size_t run_size = 0;
	void *mem = MAP_FAILED;
	std::vector<RawVcpu> vcpus;

private:
	int cpuid_set(int fd, uint32_t id, std::string *err)
	{
		for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
			std::vector<uint8_t> buf(sizeof(kvm_cpuid2) + nent * sizeof(kvm_cpuid_entry2));
			auto *c = reinterpret_cast<kvm_cpuid2 *>(buf.data());

			c->nent = nent;
			if (ioctl(sys, kGetSupportedCpuid, c) < 0) {
				if (errno == E2BIG)
					continue;
				return *err = errno_text("KVM_GET_SUPPORTED_CPUID", errno), -1;
			}
			for (uint32_t k = 0; k < c->nent; k++) {
				if (c->entries[k].function == 1)
					c->entries[k].ebx = (c->entries[k].ebx & 0x00ffffffu) | (id << 24);
				else if (c->entries[k].function == 0xb || c->entries[k].function == 0x1f)
					c->entries[k].edx = id;
			}
			if (ioctl(fd, kSetCpuid2, c) < 0)
				return *err = errno_text("KVM_SET_CPUID2", errno), -1;
			return 0;
		}
		return *err = "KVM_GET_SUPPORTED_CPUID: too many entries", -1;
	}

	int vcpu_add(unsigned id, uint64_t arg0, std::string *err)
	{
		RawVcpu v;
		struct kvm_sregs s;
		struct kvm_regs regs = {};

		v.fd = ioctl(vm, KVM_CREATE_VCPU, (unsigned long)id);
		if (v.fd < 0)
			return *err = errno_text("KVM_CREATE_VCPU", errno), -1;
		vcpus.push_back(v);
		void *p = mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd, 0);
		if (p == MAP_FAILED)
			return *err = errno_text("mmap kvm_run", errno), -1;
		vcpus.back().run = static_cast<struct kvm_run *>(p);
		if (cpuid_set(v.fd, id, err))
			return -1;
		if (ioctl(v.fd, KVM_GET_SREGS, &s) < 0)
			return *err = errno_text("KVM_GET_SREGS", errno), -1;
		s.cs.selector = (uint16_t)(kEntry >> 4);
		s.cs.base = kEntry;
		s.ds.selector = s.es.selector = s.fs.selector = s.gs.selector = s.ss.selector = 0;
		s.ds.base = s.es.base = s.fs.base = s.gs.base = s.ss.base = 0;
		if (ioctl(v.fd, KVM_SET_SREGS, &s) < 0)
			return *err = errno_text("KVM_SET_SREGS", errno), -1;
		regs.rflags = 2;
		regs.rip = 0;
		regs.rsi = arg0;
		regs.rdi = id;
		regs.rsp = kStack - id * HVABS_BOOT_STACK_STRIDE;
		if (ioctl(v.fd, KVM_SET_REGS, &regs) < 0)
			return *err = errno_text("KVM_SET_REGS", errno), -1;
		if (id != 0) {
			struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };

			if (ioctl(v.fd, KVM_SET_MP_STATE, &mp) < 0)
				return *err = errno_text("KVM_SET_MP_STATE", errno), -1;
		}
		return 0;
	}
};

/* ---- the same guest through hvabs ---- */

class HvVm {
public:
	HvVm() = default;
	HvVm(const HvVm &) = delete;
	HvVm &operator=(const HvVm &) = delete;
	~HvVm() { hvabs_vm_destroy(vm); }

	/* VM in LOAD with the guest, boot setup and @nvcpus vCPUs; 0 or -1 with @err. */
	int build(const std::vector<uint8_t> &code, unsigned nvcpus, uint64_t arg0, std::string *err)
	{
		hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
		hvabs_mem_region ram = { HVABS_MEM_REGION_VERSION, 1, HVABS_MEM_RWX, 0, kRamSize, nullptr };
		hvabs_boot_config b = {};
		int ret;

		o.backend = "kvm";
		if ((ret = hvabs_vm_create(&vm, &o)))
			return *err = hv_text("hvabs_vm_create", ret), -1;
		if ((ret = hvabs_vm_mem_add(vm, &ram)))
			return *err = hv_text("hvabs_vm_mem_add", ret), -1;
		memcpy(hvabs_vm_mem_host(vm, kEntry, code.size()), code.data(), code.size());
		b.version = HVABS_BOOT_CONFIG_VERSION;
		b.entry = kEntry;
		b.cpu_mode = HVABS_CPU_MODE_X86_REAL;
		b.stack = kStack;
		b.arg0 = arg0;
		if ((ret = hvabs_vm_boot_set(vm, &b)))
			return *err = hv_text("hvabs_vm_boot_set", ret), -1;
		for (unsigned i = 0; i < nvcpus; i++) {
			hvabs_vcpu *v = nullptr;

			if ((ret = hvabs_vm_vcpu_add(&v, vm, i)))
				return *err = hv_text("hvabs_vm_vcpu_add", ret), -1;
			vcpus.push_back(v);
		}
		return 0;
	}

	int start(std::string *err)
	{
		int ret = hvabs_vm_start(vm);

		return ret ? (*err = hv_text("hvabs_vm_start", ret), -1) : 0;
	}

	hvabs_vm *vm = nullptr;
	std::vector<hvabs_vcpu *> vcpus;
};

/* ---- exits: raw, returned by hvabs_vcpu_run, served by an IO handler ---- */

/* The raw loop's device: an indirect call, as a VMM dispatching an exit would make. */
void raw_device(uint64_t addr, uint64_t data)
{
	(void)addr, (void)data;
}
void (*volatile raw_device_fn)(uint64_t, uint64_t) = raw_device;

/* The same for MMIO reads: the value the VMM completes the read with. */
uint64_t raw_read_device(uint64_t addr)
{
	(void)addr;
	return 0;
}
uint64_t (*volatile raw_read_fn)(uint64_t) = raw_read_device;

/* What a case's guest does: 4-byte MMIO writes, 4-byte OUTs or 4-byte MMIO reads. */
enum ExitKind { K_MMIO, K_PIO, K_MMIO_READ };

/* @nbatches batches of kBatch raw KVM_RUN exits of kind @k; ns per exit. */
int raw_exits(RawVm &vm, ExitKind k, uint32_t nbatches, std::vector<double> &out)
{
	struct kvm_run *run = vm.vcpus[0].run;
	uint32_t reason = k == K_PIO ? KVM_EXIT_IO : KVM_EXIT_MMIO;
	uint64_t t0 = now_ns();

	for (uint32_t b = 0; b < nbatches; b++) {
		for (uint32_t j = 0; j < kBatch; j++) {
			if (vm.run(0) < 0 || run->exit_reason != reason)
				return -1;
			if (k == K_MMIO) {
				raw_device_fn(run->mmio.phys_addr, run->mmio.data[0]);
			} else if (k == K_MMIO_READ) {
				uint64_t v = raw_read_fn(run->mmio.phys_addr);

				if (run->mmio.is_write)
					return -1;
				memcpy(run->mmio.data, &v, sizeof(v)); /* completed by the next KVM_RUN */
			} else {
				raw_device_fn(run->io.port, *((uint8_t *)run + run->io.data_offset));
			}
		}
		uint64_t t1 = now_ns();
		out.push_back((double)(t1 - t0) / kBatch);
		t0 = t1;
	}
	return 0;
}

/* The same through hvabs_vcpu_run: every exit returned to the caller (reads completed with 0). */
int hv_returned(hvabs_vcpu *v, ExitKind k, uint32_t nbatches, std::vector<double> &out)
{
	hvabs_exit *e = hvabs_vcpu_exit(v);
	uint32_t reason = k == K_PIO ? HVABS_EXIT_PIO : HVABS_EXIT_MMIO;
	uint64_t t0 = now_ns();

	for (uint32_t b = 0; b < nbatches; b++) {
		for (uint32_t j = 0; j < kBatch; j++) {
			if (hvabs_vcpu_run(v) || e->reason != reason)
				return -1;
			if (k == K_MMIO_READ) {
				if (e->mmio.is_write)
					return -1;
				memset(e->mmio.data, 0, sizeof(e->mmio.data));
			}
		}
		uint64_t t1 = now_ns();
		out.push_back((double)(t1 - t0) / kBatch);
		t0 = t1;
	}
	return 0;
}

/* IO handler that stamps every kBatch-th access and declines the last (so the run returns). */
int stamp_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)vcpu, (void)addr, (void)len, (void)data;
	return static_cast<Stamps *>(payload)->tick() ? 1 : 0;
}

int stamp_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data, void *payload)
{
	(void)vcpu, (void)addr, (void)len;
	*data = 0;
	return static_cast<Stamps *>(payload)->tick() ? 1 : 0;
}

int stamp_handler_add(hvabs_vm *vm, ExitKind k, uint64_t addr, Stamps *s)
{
	hvabs_io_desc d{};

	d.version = HVABS_IO_DESC_VERSION;
	d.space = k == K_PIO ? HVABS_SPACE_PIO : HVABS_SPACE_MMIO;
	d.addr = addr;
	d.size = 4;
	if (k == K_MMIO_READ)
		d.read = stamp_read;
	else
		d.write = stamp_write;
	d.payload = s;
	return hvabs_vm_io_handler_add(nullptr, vm, &d);
}

/* The same guest, every exit served by the IO handler inside one hvabs_vcpu_run. */
int hv_served(hvabs_vcpu *v, Stamps *s, ExitKind k, uint32_t nbatches, std::vector<double> &out)
{
	hvabs_exit *e = hvabs_vcpu_exit(v);

	s->reset(kBatch, (uint64_t)(nbatches + 1) * kBatch, nbatches + 1);
	if (hvabs_vcpu_run(v) || e->reason != (k == K_PIO ? HVABS_EXIT_PIO : HVABS_EXIT_MMIO) ||
	    s->count != s->limit)
		return -1; /* the declined last access comes back; anything else is wrong */
	if (k == K_MMIO_READ)
		memset(e->mmio.data, 0, sizeof(e->mmio.data));
	s->samples(out, 0);
	return 0;
}

/* ---- cases ---- */

struct ExitSet {
	std::vector<double> raw, returned, served;
};

/*
 * Raw, returned and served exits of one kind in alternating rounds (one
 * VM each), so that all three see the same machine load; the first batch
 * of each round is dropped (the vCPU was just switched in).
 */
int exits_measure(const char *guest, ExitKind k, ExitSet &out, std::string *err)
{
	std::vector<uint8_t> code = guest_code(guest);
	RawVm raw;
	HvVm hr, hs;
	Stamps stamps;
	uint64_t addr = k == K_PIO ? kReportPort : kMmio;
	/* reads: fewer rounds (a secondary case; keeps the run short) */
	uint32_t rounds = k == K_MMIO_READ ? pick(16, 2) : pick(60, 2);
	uint32_t per = k == K_MMIO_READ ? pick(12, 4) : pick(32, 4);

	if (code.empty())
		return *err = std::string("guest ") + guest + " not built", -1;
	if (raw.init(code, 1, 0, err) || hr.build(code, 1, 0, err) || hr.start(err) ||
	    hs.build(code, 1, 0, err))
		return -1;
	int ret = stamp_handler_add(hs.vm, k, addr, &stamps);
	if (ret)
		return *err = hv_text("hvabs_vm_io_handler_add", ret), -1;
	if (hs.start(err))
		return -1;
	for (uint32_t r = 0; r < rounds; r++) {
		std::vector<double> a, b, c;

		if (raw_exits(raw, k, per + 1, a))
			return *err = "raw KVM_RUN loop: unexpected exit", -1;
		if (hv_returned(hr.vcpus[0], k, per + 1, b))
			return *err = "hvabs_vcpu_run: unexpected exit", -1;
		if (hv_served(hs.vcpus[0], &stamps, k, per + 1, c))
			return *err = "IO handler run: accesses not served as intended", -1;
		out.raw.insert(out.raw.end(), a.begin() + 1, a.end());
		out.returned.insert(out.returned.end(), b.begin() + 1, b.end());
		out.served.insert(out.served.end(), c.begin() + 1, c.end());
	}
	struct hvabs_vcpu_stats s;
	hvabs_vcpu_stats_get(hs.vcpus[0], &s);
	if (s.dispatched != (uint64_t)rounds * ((per + 2) * kBatch - 1))
		return *err = "vCPU statistics: not every access was dispatched to the handler", -1;
	return 0;
}

void store_exit_records(const std::string &kind, ExitSet &x)
{
	Record floor = record_of("kvm_floor_raw_" + kind + "_exit", x.raw, kBatch);
	Record ret = record_of("kvm_" + kind + "_exit", x.returned, kBatch);
	Record srv = record_of("kvm_" + kind + "_handler", x.served, kBatch);

	ret.floor_median = srv.floor_median = floor.median;
	ret.ratio = ret.median / floor.median;
	srv.ratio = srv.median / floor.median;
	store_record("kvm_floor_raw_" + kind + "_exit", floor);
	store_record("kvm_" + kind + "_exit", ret);
	store_record("kvm_" + kind + "_handler", srv);
}

/* @kind: "mmio", "pio" or "mmio_read" (case names kvm_floor_raw_<kind>_exit, kvm_<kind>_exit/_handler). */
void bm_exits(benchmark::State &st, const char *guest, const std::string &kind)
{
	for (auto _ : st) {
		ExitSet x;
		std::string err;
		ExitKind k = kind == "mmio" ? K_MMIO : kind == "pio" ? K_PIO : K_MMIO_READ;
		uint64_t t0 = now_ns();

		if (exits_measure(guest, k, x, &err))
			return st.SkipWithError(err.c_str());
		store_exit_records(kind, x);
		publish_stored(st, "kvm_floor_raw_" + kind + "_exit", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- ioeventfd doorbell: guest-side throughput of N writes ending with one exit ---- */

/* @rounds rounds of kDoorbellWrites doorbell writes; ns per write (the round's one exit included). */
template <typename RunFn> int doorbell_rounds(RunFn run_round, uint32_t rounds, std::vector<double> &out)
{
	uint64_t t0 = now_ns();

	for (uint32_t r = 0; r < rounds; r++) {
		if (run_round())
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

int doorbell_measure(std::vector<double> &raw_out, std::vector<double> &hv_out, std::string *err)
{
	std::vector<uint8_t> code = guest_code("kvm_doorbell");
	RawVm raw;
	HvVm hv;
	int rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), hfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ret = -1;

	if (rfd < 0 || hfd < 0) {
		*err = errno_text("eventfd", errno);
		goto out_close;
	}
	if (raw.init(code, 1, kDoorbellWrites, err) || hv.build(code, 1, kDoorbellWrites, err))
		goto out_close;
	if (raw.ioeventfd(kDoorbell, 4, rfd, false) < 0) {
		*err = errno_text("KVM_IOEVENTFD", errno);
		goto out_close;
	}
	ret = hvabs_vm_ioeventfd_add(nullptr, hv.vm, HVABS_SPACE_MMIO, kDoorbell, 4, hfd, 0, 0);
	if (ret) {
		*err = hv_text("hvabs_vm_ioeventfd_add", ret);
		ret = -1;
		goto out_close;
	}
	if (hv.start(err)) {
		ret = -1;
		goto out_close;
	}
	{
		struct kvm_run *run = raw.vcpus[0].run;
		hvabs_vcpu *v = hv.vcpus[0];
		const hvabs_exit *e = hvabs_vcpu_exit(v);
		auto raw_round = [&] {
			return raw.run(0) < 0 || run->exit_reason != KVM_EXIT_IO || run->io.port != kRoundPort;
		};
		auto hv_round = [&] {
			return hvabs_vcpu_run(v) != 0 || e->reason != HVABS_EXIT_PIO || e->pio.port != kRoundPort;
		};
		uint32_t rounds = pick(40, 2), per = pick(50, 4);

		ret = 0;
		for (uint32_t r = 0; !ret && r < rounds; r++) {
			std::vector<double> a, b;

			if (doorbell_rounds(raw_round, per + 1, a) || doorbell_rounds(hv_round, per + 1, b)) {
				*err = "doorbell round: unexpected exit (the doorbell was not served by the ioeventfd?)";
				ret = -1;
				break;
			}
			raw_out.insert(raw_out.end(), a.begin() + 1, a.end());
			hv_out.insert(hv_out.end(), b.begin() + 1, b.end());
			drain(rfd);
			drain(hfd);
		}
	}
out_close:
	if (rfd >= 0)
		close(rfd);
	if (hfd >= 0) {
		hvabs_vm_destroy(hv.vm); /* the ioeventfd goes before its fd */
		hv.vm = nullptr;
		close(hfd);
	}
	return ret;
}

void bm_doorbell(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<double> raw, hv;
		std::string err;
		uint64_t t0 = now_ns();

		if (doorbell_measure(raw, hv, &err))
			return st.SkipWithError(err.c_str());
		Record f = record_of("kvm_floor_raw_ioeventfd_doorbell", raw, kDoorbellWrites);
		Record r = record_of("kvm_ioeventfd_doorbell", hv, kDoorbellWrites);
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record("kvm_floor_raw_ioeventfd_doorbell", f);
		store_record("kvm_ioeventfd_doorbell", r);
		publish_stored(st, "kvm_floor_raw_ioeventfd_doorbell", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- irqfd: eventfd write -> guest interrupt handler reports on port 0x10 ---- */

struct IrqRun {
	std::atomic<uint32_t> ready{ 0 }; /* the guest programmed its PIC */
	std::atomic<uint32_t> done{ 0 };  /* reports received */
	std::atomic<uint64_t> t_raise{ 0 };
	std::atomic<bool> stop{ false };
	std::vector<double> samples;
	bool bad = false;
};

/* vCPU thread body: one callable that runs to the next exit, returning its port (-1 on failure). */
template <typename RunFn> void irq_vcpu(IrqRun &r, RunFn run_once)
{
	for (;;) {
		int port = run_once();
		uint64_t t = now_ns();

		if (port == kRoundPort) {
			r.ready.store(1);
			continue;
		}
		if (port != kReportPort) {
			r.bad = true;
			r.done.store(UINT32_MAX);
			return;
		}
		if (r.stop.load())
			return;
		r.samples.push_back((double)(t - r.t_raise.load()));
		r.done.fetch_add(1);
	}
}

/* One sample: the guest is back in hlt (settle), stamp, write; wait for its report. */
int irq_sample(IrqRun &r, int efd, uint32_t i)
{
	const uint64_t one = 1;

	sleep_ns(100000);
	r.t_raise.store(now_ns());
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		return -1;
	return wait_for(r.done, i + 1, 5000000000ull) && !r.bad ? 0 : -1;
}

/* One more interrupt with stop set ends the vCPU thread at its report. */
void irq_stop(IrqRun &r, int efd)
{
	const uint64_t one = 1;

	r.stop.store(true);
	sleep_ns(100000);
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		r.bad = true;
}

/*
 * A raw VM and an hvabs VM, both with an irqfd on GSI 5 and a vCPU thread
 * waiting in the guest's hlt; samples alternate between them (raw first on
 * even samples), so that both see the same machine load.
 */
int irq_measure(bool level, std::vector<double> &raw_out, std::vector<double> &hv_out, std::string *err)
{
	std::vector<uint8_t> code = guest_code("kvm_irq");
	uint32_t n = level ? pick(300, 10) : pick(1000, 10);
	RawVm raw;
	HvVm hv;
	IrqRun rr, hr;
	int rfd = eventfd(0, EFD_CLOEXEC), hfd = eventfd(0, EFD_CLOEXEC);
	/* level: resample eventfds (signalled at each EOI, never read: only the line matters here) */
	int rrs = level ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	int hrs = level ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	uint32_t hflags = level ? HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE : 0;
	int ret = -1;

	if (rfd < 0 || hfd < 0 || (level && (rrs < 0 || hrs < 0))) {
		*err = errno_text("eventfd", errno);
	} else if (raw.init(code, 1, 0, err) || hv.build(code, 1, 0, err)) {
	} else if (raw.irqfd(rfd, kGsi, false, rrs) < 0) {
		*err = errno_text(level ? "KVM_IRQFD (resample)" : "KVM_IRQFD", errno);
	} else if ((ret = hvabs_vm_irqfd_add(nullptr, hv.vm, hfd, kGsi, hflags, hrs))) {
		*err = hv_text("hvabs_vm_irqfd_add", ret);
		ret = -1;
	} else if (!hv.start(err)) {
		struct kvm_run *run = raw.vcpus[0].run;
		hvabs_vcpu *v = hv.vcpus[0];
		const hvabs_exit *e = hvabs_vcpu_exit(v);
		std::thread rt([&] {
			irq_vcpu(rr, [&]() -> int {
				if (raw.run(0) < 0 || run->exit_reason != KVM_EXIT_IO)
					return -1;
				return run->io.port;
			});
		});
		std::thread ht([&] {
			irq_vcpu(hr, [&]() -> int {
				if (hvabs_vcpu_run(v) || e->reason != HVABS_EXIT_PIO)
					return -1;
				return e->pio.port;
			});
		});
		ret = wait_for(rr.ready, 1, 5000000000ull) && wait_for(hr.ready, 1, 5000000000ull) ? 0 : -1;
		for (uint32_t i = 0; !ret && i < n; i++)
			ret = (i & 1) ? (irq_sample(hr, hfd, i) || irq_sample(rr, rfd, i))
				      : (irq_sample(rr, rfd, i) || irq_sample(hr, hfd, i));
		if (!ret) {
			irq_stop(rr, rfd);
			irq_stop(hr, hfd);
		} else {
			/* a stuck guest: end both runs (immediate_exit + a signal; an hvabs kick) */
			*err = "irqfd: a guest did not report each interrupt";
			rr.stop.store(true);
			hr.stop.store(true);
			__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
			pthread_kill(rt.native_handle(), SIGUSR2);
			hvabs_vcpu_kick(v);
		}
		rt.join();
		ht.join();
		raw_out = rr.samples;
		hv_out = hr.samples;
	}
	hvabs_vm_destroy(hv.vm); /* the irqfd goes before its fd */
	hv.vm = nullptr;
	for (int fd : { rfd, hfd, rrs, hrs })
		if (fd >= 0)
			close(fd);
	return ret ? -1 : 0;
}

/*
 * Edge irqfds (@level false; also measures the eventfd wake-up floor) or
 * level ones: raw KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE against an hvabs
 * irqfd with HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE. The guest's PIC
 * stays in edge mode: the line drops at its EOI (the resampler), so each
 * eventfd write is a new edge.
 */
void bm_irq(benchmark::State &st, bool level)
{
	for (auto _ : st) {
		std::vector<double> raw, hv, ev;
		std::string err, kind = level ? "irqfd_level" : "irqfd";
		uint64_t t0 = now_ns();

		if (irq_measure(level, raw, hv, &err))
			return st.SkipWithError(err.c_str());
		double ev_median = stored_get("kvm_floor_eventfd_wakeup").median;
		if (!level) {
			eventfd_floor(pick(1000, 10), ev);
			Record e = record_of("kvm_floor_eventfd_wakeup", ev, 1);
			store_record("kvm_floor_eventfd_wakeup", e);
			ev_median = e.median;
		}
		Record f = record_of("kvm_floor_raw_" + kind + "_latency", raw, 1);
		Record r = record_of("kvm_" + kind + "_latency", hv, 1);
		if (ev_median > 0) {
			f.floor_median = ev_median;
			f.ratio = f.median / ev_median;
		}
		r.floor_median = f.median;
		r.ratio = r.median / f.median;
		store_record("kvm_floor_raw_" + kind + "_latency", f);
		store_record("kvm_" + kind + "_latency", r);
		publish_stored(st, "kvm_floor_raw_" + kind + "_latency", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- control plane ---- */

/* Raw VM create + memslot + vCPU, then close: the floor of an hvabs VM lifecycle. */
int raw_lifecycle(const std::vector<uint8_t> &code, double *create_ns, double *destroy_ns, std::string *err)
{
	uint64_t t0 = now_ns();
	auto *vm = new RawVm();
	int ret = vm->init(code, 1, 0, err);
	uint64_t t1 = now_ns();

	delete vm;
	uint64_t t2 = now_ns();
	*create_ns = (double)(t1 - t0);
	*destroy_ns = (double)(t2 - t1);
	return ret;
}

/* hvabs create + RAM + boot + vCPU + start (@start_ns: the start alone), then destroy. */
int hv_lifecycle(const std::vector<uint8_t> &code, double *create_ns, double *start_ns, double *destroy_ns,
		 std::string *err)
{
	uint64_t t0 = now_ns();
	auto *vm = new HvVm();
	int ret = vm->build(code, 1, 0, err);
	uint64_t ts = now_ns();

	if (!ret)
		ret = vm->start(err);
	uint64_t t1 = now_ns();
	delete vm;
	uint64_t t2 = now_ns();
	*create_ns = (double)(t1 - t0);
	*start_ns = (double)(t1 - ts);
	*destroy_ns = (double)(t2 - t1);
	return ret;
}

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

void bm_vm_lifecycle(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<uint8_t> code = guest_code("kvm_mmio");
		std::vector<double> hc, hs, hd, rc, rd;
		std::string err;
		uint64_t t0 = now_ns();

		for (uint32_t i = 0; i < pick(60, 2); i++) {
			double c[2], d[2], start;
			bool odd = i & 1; /* alternate which goes first */

			if ((odd && hv_lifecycle(code, &c[1], &start, &d[1], &err)) ||
			    raw_lifecycle(code, &c[0], &d[0], &err) ||
			    (!odd && hv_lifecycle(code, &c[1], &start, &d[1], &err)))
				return st.SkipWithError(err.c_str());
			rc.push_back(c[0]), rd.push_back(d[0]);
			hc.push_back(c[1]), hs.push_back(start), hd.push_back(d[1]);
		}
		store_pair("kvm_ctl_vm_create", "kvm_floor_raw_vm_create", hc, rc);
		store_pair("kvm_ctl_vm_destroy", "kvm_floor_raw_vm_destroy", hd, rd);
		/* no raw counterpart: the raw floor sets the boot state up inside its create */
		store_record("kvm_ctl_vm_start", record_of("kvm_ctl_vm_start", hs, 1));
		publish_stored(st, "kvm_ctl_vm_create", (double)(now_ns() - t0) * 1e-9);
	}
}

/* irqfd or ioeventfd add and remove, timed separately, hvabs and raw alternating on running VMs. */
void bm_fd_pairs(benchmark::State &st, bool irqfd)
{
	for (auto _ : st) {
		std::vector<uint8_t> code = guest_code("kvm_mmio");
		std::vector<double> ha, hr, ra, rr;
		std::string err;
		RawVm raw;
		HvVm hv;
		const char *kind = irqfd ? "irqfd" : "ioeventfd";
		uint32_t n = irqfd ? pick(300, 3) : pick(40, 2);
		uint64_t t0 = now_ns();
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (efd < 0)
			return st.SkipWithError("eventfd failed");
		if (raw.init(code, 1, 0, &err) || hv.build(code, 1, 0, &err) || hv.start(&err)) {
			close(efd);
			return st.SkipWithError(err.c_str());
		}
		/* raw then hvabs on even pairs, hvabs then raw on odd ones: neither always follows the other */
		auto raw_pair = [&](bool keep) {
			uint64_t a = now_ns();
			int ret = irqfd ? raw.irqfd(efd, kGsi, false) : raw.ioeventfd(kDoorbell, 4, efd, false);
			uint64_t b = now_ns();
			if (!ret)
				ret = irqfd ? raw.irqfd(efd, kGsi, true) : raw.ioeventfd(kDoorbell, 4, efd, true);
			uint64_t c = now_ns();
			if (ret < 0)
				return err = errno_text(irqfd ? "KVM_IRQFD" : "KVM_IOEVENTFD", errno), -1;
			if (keep)
				ra.push_back((double)(b - a)), rr.push_back((double)(c - b));
			return 0;
		};
		auto hv_pair = [&](bool keep) {
			hvabs_function *fn = nullptr;
			uint64_t a = now_ns();
			int ret = irqfd ? hvabs_vm_irqfd_add(&fn, hv.vm, efd, kGsi, 0, -1)
					: hvabs_vm_ioeventfd_add(&fn, hv.vm, HVABS_SPACE_MMIO, kDoorbell, 4, efd, 0, 0);
			uint64_t b = now_ns();
			if (!ret)
				ret = hvabs_function_remove(fn);
			uint64_t c = now_ns();
			if (ret)
				return err = hv_text(irqfd ? "irqfd add/remove" : "ioeventfd add/remove", ret), -1;
			if (keep)
				ha.push_back((double)(b - a)), hr.push_back((double)(c - b));
			return 0;
		};
		for (uint32_t i = 0; i < n + 1; i++) {
			bool keep = i > 0; /* the first pair pays one-time costs */

			if ((i & 1) ? (hv_pair(keep) || raw_pair(keep)) : (raw_pair(keep) || hv_pair(keep)))
				break;
		}
		hvabs_vm_destroy(hv.vm);
		hv.vm = nullptr;
		close(efd);
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		std::string k = kind;
		store_pair("kvm_ctl_" + k + "_add", "kvm_floor_raw_" + k + "_assign", ha, ra);
		store_pair("kvm_ctl_" + k + "_remove", "kvm_floor_raw_" + k + "_deassign", hr, rr);
		publish_stored(st, "kvm_ctl_" + k + "_add", (double)(now_ns() - t0) * 1e-9);
	}
}

/* vCPU function add + remove on a RUNNING VM (KVM cannot destroy vCPUs: the backend parks them). */
void bm_vcpu_pair(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<uint8_t> code = guest_code("kvm_mmio");
		std::vector<double> v;
		std::string err;
		HvVm hv;
		uint64_t t0 = now_ns();

		if (hv.build(code, 1, 0, &err) || hv.start(&err))
			return st.SkipWithError(err.c_str());
		for (uint32_t i = 0; i < pick(2000, 10) + 1; i++) {
			hvabs_function *fn = nullptr;
			hvabs_fn_vcpu_arg arg = { 1 };
			hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(arg), &arg };
			uint64_t a = now_ns();
			int ret = hvabs_vm_function_add(&fn, hv.vm, &d);

			if (!ret)
				ret = hvabs_function_remove(fn);
			if (ret)
				return st.SkipWithError(hv_text("vCPU add/remove", ret).c_str());
			if (i > 0) /* the first creates the KVM vCPU; later ones take the parked one back */
				v.push_back((double)(now_ns() - a));
		}
		Record r = record_of("kvm_ctl_vcpu_add_remove", v, 1);
		store_record("kvm_ctl_vcpu_add_remove", r);
		publish_stored(st, "kvm_ctl_vcpu_add_remove", (double)(now_ns() - t0) * 1e-9);
	}
}

/* User-defined function add + remove pairs on a RUNNING VM (library only: bind/unbind make no ioctl). */
void bm_user_fn(benchmark::State &st)
{
	for (auto _ : st) {
		std::vector<uint8_t> code = guest_code("kvm_mmio");
		std::vector<double> v;
		std::string err;
		uint64_t ua = 0x1234, t0 = now_ns();
		hvabs_fn_desc d = { kUserType, sizeof(ua), &ua };
		uint32_t n = pick(20000, 20);
		int ret = user_type_register();

		if (ret)
			return st.SkipWithError(hv_text("hvabs_function_type_register", ret).c_str());
		{
			HvVm hv;

			if (hv.build(code, 1, 0, &err) || hv.start(&err)) {
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
		user_type_unregister();
		if (!err.empty())
			return st.SkipWithError(err.c_str());
		store_record("kvm_ctl_user_fn_add_remove", record_of("kvm_ctl_user_fn_add_remove", v, 1));
		publish_stored(st, "kvm_ctl_user_fn_add_remove", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- memory: library bytes (counting allocator) and fds per VM and per function instance ---- */

/* What the process holds at one point: library bytes and blocks (counting allocator) and fds. */
struct MemMark {
	AllocSnapshot a;
	int fds;
};

MemMark mem_mark()
{
	return { alloc_snapshot(), proc_fds() };
}

Record amount_record(double v, const char *unit, uint32_t n)
{
	Record r;

	r.unit = unit;
	r.median = v;
	r.samples = n;
	r.batch = 1;
	return r;
}

/*
 * Store <name> (library bytes per instance; allocations per instance) and,
 * with @fds, <name>_fds from @a .. @b over @n instances; the live blocks by
 * size since alloc_sizes_track(true) go to <raw_dir>/<name>.sizes.
 */
void store_mem(const std::string &name, const MemMark &a, const MemMark &b, uint32_t n, bool fds)
{
	Record r = amount_record((double)(b.a.live_bytes - a.a.live_bytes) / n, "bytes", n);

	r.allocs = (double)(b.a.live_allocs - a.a.live_allocs) / n;
	store_record(name, r);
	if (fds)
		store_record(name + "_fds", amount_record((double)(b.fds - a.fds) / n, "fds", n));
	std::vector<std::pair<size_t, int64_t>> sizes = alloc_sizes_live();
	alloc_sizes_track(false);
	if (opts.raw_dir.empty())
		return;
	FILE *f = fopen((opts.raw_dir + "/" + name + ".sizes").c_str(), "w");
	if (!f)
		return;
	fprintf(f, "# size_bytes net_blocks blocks_per_instance bytes_per_instance (n=%u)\n", n);
	for (auto &kv : sizes)
		fprintf(f, "%zu %lld %.3f %.1f\n", kv.first, (long long)kv.second, (double)kv.second / n,
			(double)kv.first * (double)kv.second / n);
	fclose(f);
}

/*
 * With the counting allocator installed: @nvm VMs (create, RAM, boot, vCPU
 * 0, start) at once; then, on one RUNNING VM, vCPUs 1..n, irqfds (GSIs
 * 8..), ioeventfds (one eventfd, distinct addresses) and user-defined
 * function instances, each kind measured on its own. The eventfds are
 * opened before each mark (they are the caller's).
 */
int kvm_mem_measure(std::string *err)
{
	std::vector<uint8_t> code = guest_code("kvm_mmio");
	uint32_t nvm = pick(6, 2), nv = pick(8, 2), nirq = pick(16, 4), nioe = pick(8, 2), nuser = pick(200, 20);
	std::vector<int> fds;
	int ret = user_type_register();

	if (ret)
		return *err = hv_text("hvabs_function_type_register", ret), -1;
	{
		std::vector<std::unique_ptr<HvVm>> vms;

		vms.reserve(nvm);
		alloc_sizes_track(true);
		MemMark a = mem_mark();
		for (uint32_t i = 0; !ret && i < nvm; i++) {
			vms.emplace_back(new HvVm());
			ret = vms.back()->build(code, 1, 0, err) || vms.back()->start(err);
		}
		MemMark b = mem_mark();
		if (!ret)
			store_mem("kvm_mem_vm", a, b, nvm, true);
		alloc_sizes_track(false);
	}
	HvVm hv;
	if (!ret)
		ret = hv.build(code, 1, 0, err) || hv.start(err);
	for (uint32_t i = 0; !ret && i < nirq + 1; i++) {
		fds.push_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		if (fds.back() < 0)
			ret = -1, *err = errno_text("eventfd", errno);
	}
	/* each kind: mark, add @n instances, mark; @add(i) returns an HVABS_E* code */
	auto kind = [&](const char *name, uint32_t n, bool with_fds, auto add) {
		if (ret)
			return;
		alloc_sizes_track(true);
		MemMark a = mem_mark();
		for (uint32_t i = 0; !ret && i < n; i++) {
			int r = add(i);
			if (r)
				ret = -1, *err = hv_text(name, r);
		}
		MemMark b = mem_mark();
		if (!ret)
			store_mem(name, a, b, n, with_fds);
		alloc_sizes_track(false);
	};
	kind("kvm_mem_vcpu", nv, true, [&](uint32_t i) { return hvabs_vm_vcpu_add(nullptr, hv.vm, i + 1); });
	kind("kvm_mem_irqfd", nirq, false,
	     [&](uint32_t i) { return hvabs_vm_irqfd_add(nullptr, hv.vm, fds[i + 1], 8 + i, 0, -1); });
	kind("kvm_mem_ioeventfd", nioe, false, [&](uint32_t i) {
		return hvabs_vm_ioeventfd_add(nullptr, hv.vm, HVABS_SPACE_MMIO, kDoorbell + 8 * i, 4, fds[0], 0, 0);
	});
	kind("kvm_mem_user_fn", nuser, false, [&](uint32_t i) {
		uint64_t arg = i;
		hvabs_fn_desc d = { kUserType, sizeof(arg), &arg };
		return hvabs_vm_function_add(nullptr, hv.vm, &d);
	});
	hvabs_vm_destroy(hv.vm); /* the functions go before their eventfds */
	hv.vm = nullptr;
	for (int fd : fds)
		if (fd >= 0)
			close(fd);
	user_type_unregister();
	return ret ? -1 : 0;
}

void bm_mem(benchmark::State &st)
{
	for (auto _ : st) {
		std::string err;
		uint64_t t0 = now_ns();
		int ret;

		if (hvabs_alloc_count() != 0)
			return st.SkipWithError("library objects alive: cannot install the counting allocator");
		ret = counting_allocator_install();
		if (ret)
			return fail(st, "hvabs_set_allocator", ret);
		ret = kvm_mem_measure(&err);
		if (hvabs_alloc_count() != 0)
			return st.SkipWithError("library allocations left after the VMs were destroyed");
		if (counting_allocator_remove() != 0)
			return st.SkipWithError("cannot restore the default allocator");
		if (ret)
			return st.SkipWithError(err.c_str());
		publish_stored(st, "kvm_mem_vm", (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- 1 -> 2 vCPU threads: handler-served MMIO exits per second, hvabs and raw ---- */

struct Lane {
	Stamps stamps;
	uint64_t t_start = 0, t_end = 0;
	int ret = 0;
};

int stamp_write_lane(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	(void)addr, (void)len, (void)data;
	return static_cast<Lane *>(payload)[hvabs_vcpu_id(vcpu)].stamps.tick() ? 1 : 0;
}

struct Scaling {
	std::vector<double> raw1, raw2, hv1, hv2, machine;
};

int scaling_measure(Scaling &sc, std::string *err)
{
	std::vector<uint8_t> code = guest_code("kvm_mmio");
	RawVm raw;
	HvVm hv;
	Lane lanes[2];
	hvabs_io_desc d{};
	uint64_t count = pick(10000, 200);

	if (raw.init(code, 2, 0, err) || hv.build(code, 2, 0, err))
		return -1;
	d.version = HVABS_IO_DESC_VERSION;
	d.space = HVABS_SPACE_MMIO;
	d.addr = kMmio;
	d.size = 4;
	d.write = stamp_write_lane;
	d.payload = lanes;
	int ret = hvabs_vm_io_handler_add(nullptr, hv.vm, &d);
	if (ret)
		return *err = hv_text("hvabs_vm_io_handler_add", ret), -1;
	if (hv.start(err))
		return -1;
	auto raw_lane = [&](unsigned k) {
		struct kvm_run *run = raw.vcpus[k].run;

		for (uint64_t i = 0; i < count; i++) {
			if (raw.run(k) < 0 || run->exit_reason != KVM_EXIT_MMIO)
				return -1;
			raw_device_fn(run->mmio.phys_addr, run->mmio.data[0]);
		}
		return 0;
	};
	auto hv_lane = [&](unsigned k) {
		lanes[k].stamps.reset(UINT32_MAX, count, 0);
		if (hvabs_vcpu_run(hv.vcpus[k]) || lanes[k].stamps.count != count)
			return -1;
		return 0;
	};
	for (uint32_t r = 0; r < pick(7, 1); r++) {
		int r1, r2, r3, r4;

		sc.raw1.push_back(lanes_rate(1, count, raw_lane, &r1) * 1e-6);
		sc.hv1.push_back(lanes_rate(1, count, hv_lane, &r2) * 1e-6);
		sc.raw2.push_back(lanes_rate(2, count, raw_lane, &r3) * 1e-6);
		sc.hv2.push_back(lanes_rate(2, count, hv_lane, &r4) * 1e-6);
		sc.machine.push_back(compute_rate(2, count * 200) / compute_rate(1, count * 200));
		if (r1 || r2 || r3 || r4)
			return *err = "scaling round: unexpected exit", -1;
	}
	return 0;
}

void bm_scaling(benchmark::State &st)
{
	for (auto _ : st) {
		Scaling sc;
		std::string err;
		uint64_t t0 = now_ns();

		if (scaling_measure(sc, &err))
			return st.SkipWithError(err.c_str());
		Record r1 = rate_record("kvm_floor_raw_throughput_1vcpu", sc.raw1, "Mexit/s");
		Record r2 = rate_record("kvm_floor_raw_throughput_2vcpu", sc.raw2, "Mexit/s");
		Record h1 = rate_record("kvm_throughput_1vcpu", sc.hv1, "Mexit/s");
		Record h2 = rate_record("kvm_throughput_2vcpu", sc.hv2, "Mexit/s");
		Record m = rate_record("kvm_floor_2thread_scaling", sc.machine, "x");
		h1.floor_median = r1.median;
		h1.ratio = h1.median / r1.median;
		h2.floor_median = r2.median;
		h2.ratio = h2.median / r2.median;
		/* 1 -> 2 scaling: hvabs (median) against raw KVM's own scaling (floor) */
		Record s;
		s.unit = "x";
		s.median = h2.median / h1.median;
		s.floor_median = r2.median / r1.median;
		s.ratio = s.median / s.floor_median;
		s.samples = (double)sc.hv1.size();
		s.batch = 1;
		for (auto &kv : { std::make_pair("kvm_floor_raw_throughput_1vcpu", r1),
				  std::make_pair("kvm_floor_raw_throughput_2vcpu", r2),
				  std::make_pair("kvm_throughput_1vcpu", h1),
				  std::make_pair("kvm_throughput_2vcpu", h2),
				  std::make_pair("kvm_floor_2thread_scaling", m),
				  std::make_pair("kvm_scaling_2vcpu", s) })
			store_record(kv.first, kv.second);
		publish_stored(st, "kvm_throughput_1vcpu", (double)(now_ns() - t0) * 1e-9);
	}
}

/* SIGUSR2 only interrupts a raw KVM_RUN (no SA_RESTART). */
void stop_handler(int sig)
{
	(void)sig;
}

} /* namespace */

void register_kvm()
{
	int ret = hvabs_backend_probe("kvm");
	struct sigaction sa = {};

	sa.sa_handler = stop_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, nullptr);

	if (ret) {
		const hvabs_error *e = hvabs_error_last();
		std::string why = std::string(hvabs_err_name(ret)) + ": " + e->message;

		note_skipped("kvm", "hvabs_backend_probe(\"kvm\") failed: " + why);
		return;
	}
	if (guest_code("kvm_mmio").empty()) {
		note_skipped("kvm", "bench guests not built (" + guest_dir() + ")");
		return;
	}
	reg("kvm_floor_raw_mmio_exit", [](benchmark::State &st) { bm_exits(st, "kvm_mmio", "mmio"); });
	reg_stored("kvm_mmio_exit");
	reg_stored("kvm_mmio_handler");
	reg("kvm_floor_raw_pio_exit", [](benchmark::State &st) { bm_exits(st, "kvm_pio", "pio"); });
	reg_stored("kvm_pio_exit");
	reg_stored("kvm_pio_handler");
	reg("kvm_floor_raw_mmio_read_exit",
	    [](benchmark::State &st) { bm_exits(st, "kvm_mmio_read", "mmio_read"); });
	reg_stored("kvm_mmio_read_exit");
	reg_stored("kvm_mmio_read_handler");
	reg("kvm_floor_raw_ioeventfd_doorbell", bm_doorbell);
	reg_stored("kvm_ioeventfd_doorbell");
	reg("kvm_floor_raw_irqfd_latency", [](benchmark::State &st) { bm_irq(st, false); });
	reg_stored("kvm_floor_eventfd_wakeup");
	reg_stored("kvm_irqfd_latency");
	reg("kvm_floor_raw_irqfd_level_latency", [](benchmark::State &st) { bm_irq(st, true); });
	reg_stored("kvm_irqfd_level_latency");
	reg("kvm_throughput_1vcpu", bm_scaling);
	for (const char *n : { "kvm_throughput_2vcpu", "kvm_scaling_2vcpu", "kvm_floor_raw_throughput_1vcpu",
			       "kvm_floor_raw_throughput_2vcpu", "kvm_floor_2thread_scaling" })
		reg_stored(n);
	reg("kvm_ctl_vm_create", bm_vm_lifecycle);
	reg_stored("kvm_floor_raw_vm_create");
	reg_stored("kvm_ctl_vm_start");
	reg_stored("kvm_ctl_vm_destroy");
	reg_stored("kvm_floor_raw_vm_destroy");
	reg("kvm_ctl_vcpu_add_remove", bm_vcpu_pair);
	reg("kvm_ctl_user_fn_add_remove", bm_user_fn);
	reg("kvm_ctl_irqfd_add", [](benchmark::State &st) { bm_fd_pairs(st, true); });
	for (const char *n : { "kvm_floor_raw_irqfd_assign", "kvm_ctl_irqfd_remove", "kvm_floor_raw_irqfd_deassign" })
		reg_stored(n);
	reg("kvm_ctl_ioeventfd_add", [](benchmark::State &st) { bm_fd_pairs(st, false); });
	for (const char *n : { "kvm_floor_raw_ioeventfd_assign", "kvm_ctl_ioeventfd_remove",
			       "kvm_floor_raw_ioeventfd_deassign" })
		reg_stored(n);
	reg("kvm_mem_vm", bm_mem);
	for (const char *n : { "kvm_mem_vm_fds", "kvm_mem_vcpu", "kvm_mem_vcpu_fds", "kvm_mem_irqfd",
			       "kvm_mem_ioeventfd", "kvm_mem_user_fn" })
		reg_stored(n);
}

#else

void register_kvm()
{
	note_skipped("kvm", "not built: the KVM cases need an x86-64 host, the kvm backend and GNU as/ld");
}

#endif

} /* namespace hb */
