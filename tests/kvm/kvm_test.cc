/* SPDX-License-Identifier: MIT */
/* tests/kvm/kvm_test.cc: KVM backend tests with small x86 guests (skipped without a usable /dev/kvm). */
#include <hvabs.h>

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

/* Guest memory map shared by every guest in guests/. */
constexpr uint32_t kRamLabel = 1;
constexpr uint64_t kRamSize = 0x80000; /* 512 KiB at 0 */
constexpr uint64_t kEntry = 0x1000;
constexpr uint64_t kScratch = 0x20000;
constexpr uint64_t kRealStack = 0x10000;
constexpr uint64_t kFlatStack = 0x70000;
constexpr uint32_t kRomLabel = 2;
constexpr uint64_t kRomBase = 0x80000;
constexpr uint64_t kMmio = 0xd0000;
constexpr uint16_t kReportPort = 0x10;
constexpr uint16_t kReadyPort = 0x11;
constexpr uint32_t kIrqGsi = 5;
constexpr uint8_t kIrqVector = 0x25; /* irq.s: PIC master base 0x20 */
constexpr uint8_t kEoiDone = 0xee;

std::string err_text()
{
	const hvabs_error *e = hvabs_error_last();

	return std::string(hvabs_err_name(e->code)) + " [" + (e->backend ? e->backend : "?") +
	       "] " + (e->message ? e->message : "");
}

uint64_t le_load(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void le_store(uint8_t *p, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < len && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

class EventFd {
public:
	EventFd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
	~EventFd() { close(fd_); }
	EventFd(const EventFd &) = delete;
	EventFd &operator=(const EventFd &) = delete;
	int fd() const { return fd_; }
	void signal()
	{
		uint64_t one = 1;

		EXPECT_EQ((ssize_t)sizeof(one), write(fd_, &one, sizeof(one)));
	}
	bool readable(int timeout_ms = 0)
	{
		struct pollfd p = { fd_, POLLIN, 0 };

		return poll(&p, 1, timeout_ms) == 1;
	}
	/* The counter (0 if unsignalled), reset to 0. */
	uint64_t drain()
	{
		uint64_t v = 0;

		return read(fd_, &v, sizeof(v)) == (ssize_t)sizeof(v) ? v : 0;
	}

private:
	int fd_;
};

#define KVM_ASSERT_OK(expr)                                                          \
	do {                                                                         \
		int rc_ = (expr);                                                    \
		ASSERT_EQ(0, rc_) << #expr << ": " << err_text();                    \
	} while (0)

struct VmSpec {
	const char *guest;
	uint32_t mode = HVABS_CPU_MODE_X86_REAL;
	uint64_t stack = kRealStack;
	uint64_t arg0 = 0;
	const char *config = nullptr;
	uint32_t nr_vcpus = 1;
	uint64_t entry = kEntry; /* outside RAM: a 64 KiB region is added there */
};

/* Every test needs a usable /dev/kvm on an x86-64 host, else it is skipped. */
class Kvm : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (hvabs_backend_probe("kvm") != 0)
			GTEST_SKIP() << "kvm backend unusable: " << err_text();
#if !defined(__x86_64__) || !defined(HVABS_KVM_GUEST_DIR)
		GTEST_SKIP() << "the kvm test guests are x86-64 code";
#endif
		allocs_ = hvabs_alloc_count();
	}

	void TearDown() override
	{
		if (IsSkipped())
			return;
		hvabs_vm_destroy(vm_);
		vm_ = nullptr;
		EXPECT_EQ(allocs_, hvabs_alloc_count()) << "library allocations leaked";
	}

	static std::vector<uint8_t> guest_code(const char *name)
	{
#ifdef HVABS_KVM_GUEST_DIR
		std::ifstream f(std::string(HVABS_KVM_GUEST_DIR) + "/" + name + ".bin",
				std::ios::binary);

		return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
#else
		(void)name;
		return {};
#endif
	}

	/* VM with RAM, the guest at kEntry, boot setup and vCPUs 0..n-1 (state LOAD). */
	void build(const VmSpec &s)
	{
		hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
		hvabs_mem_region ram = { HVABS_MEM_REGION_VERSION, kRamLabel, HVABS_MEM_RWX, 0,
					 kRamSize, nullptr };
		hvabs_boot_config b = {};
		std::vector<uint8_t> code = guest_code(s.guest);

		ASSERT_FALSE(code.empty()) << "guest " << s.guest << " not built";
		o.backend = "kvm";
		o.backend_config = s.config;
		KVM_ASSERT_OK(hvabs_vm_create(&vm_, &o));
		KVM_ASSERT_OK(hvabs_vm_mem_add(vm_, &ram));
		if (s.entry >= kRamSize) {
			hvabs_mem_region hi = { HVABS_MEM_REGION_VERSION, kRamLabel + 10,
						HVABS_MEM_RWX, s.entry & ~0xffffull, 0x10000,
						nullptr };

			KVM_ASSERT_OK(hvabs_vm_mem_add(vm_, &hi));
		}
		memcpy(hvabs_vm_mem_host(vm_, s.entry, code.size()), code.data(), code.size());
		b.version = HVABS_BOOT_CONFIG_VERSION;
		b.entry = s.entry;
		b.cpu_mode = s.mode;
		b.stack = s.stack;
		b.arg0 = s.arg0;
		if (s.mode == HVABS_CPU_MODE_X86_PROT32 || s.mode == HVABS_CPU_MODE_X86_LONG64)
			b.scratch_addr = kScratch;
		KVM_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
		for (uint32_t i = 0; i < s.nr_vcpus; i++)
			KVM_ASSERT_OK(hvabs_vm_vcpu_add(&vcpus_[i], vm_, i));
	}

	void start() { KVM_ASSERT_OK(hvabs_vm_start(vm_)); }

	/* Run once; a watchdog kicks after 10 s so a hung guest fails instead of hanging. */
	static int run(hvabs_vcpu *v)
	{
		std::mutex m;
		std::condition_variable cv;
		bool done = false, fired = false;
		std::thread wd([&] {
			std::unique_lock<std::mutex> l(m);

			if (!cv.wait_for(l, 10s, [&] { return done; })) {
				fired = true;
				hvabs_vcpu_kick(v);
			}
		});
		int rc = hvabs_vcpu_run(v);
		{
			std::lock_guard<std::mutex> l(m);
			done = true;
		}
		cv.notify_one();
		wd.join();
		EXPECT_FALSE(fired) << "vcpu run did not return within 10 s";
		return rc;
	}

	hvabs_exit *ex(uint32_t i = 0) { return hvabs_vcpu_exit(vcpus_[i]); }

	/* Run; expect a PIO write of @size bytes to @port and return its value. */
	static uint64_t pio_out(hvabs_vcpu *v, uint16_t port, uint8_t size)
	{
		int rc = run(v);
		const hvabs_exit *e = hvabs_vcpu_exit(v);

		EXPECT_EQ(0, rc) << err_text();
		EXPECT_EQ(HVABS_EXIT_PIO, e->reason) << hvabs_exit_reason_name(e->reason);
		if (rc || e->reason != HVABS_EXIT_PIO)
			return ~0ull;
		EXPECT_EQ(port, e->pio.port);
		EXPECT_TRUE(e->pio.is_write);
		EXPECT_EQ(size, e->pio.size);
		EXPECT_EQ(1u, e->pio.count);
		return le_load(e->pio.data, e->pio.size);
	}

	uint64_t report(uint8_t size, uint32_t i = 0) { return pio_out(vcpus_[i], kReportPort, size); }

	/* Run; expect an MMIO access and check it. Reads are completed with @value. */
	void mmio(bool write, uint64_t addr, uint32_t len, uint64_t value, uint32_t i = 0)
	{
		int rc = run(vcpus_[i]);
		hvabs_exit *e = ex(i);

		ASSERT_EQ(0, rc) << err_text();
		ASSERT_EQ(HVABS_EXIT_MMIO, e->reason) << hvabs_exit_reason_name(e->reason);
		EXPECT_EQ(addr, e->mmio.addr);
		EXPECT_EQ(len, e->mmio.len);
		EXPECT_EQ(write, e->mmio.is_write != 0);
		EXPECT_EQ(HVABS_RESUME_HANDLED, e->mmio.resume);
		if (write)
			EXPECT_EQ(value, le_load(e->mmio.data, len)) << std::hex << addr;
		else
			le_store(e->mmio.data, len, value);
	}

	struct hvabs_vcpu_stats stats(uint32_t i = 0)
	{
		struct hvabs_vcpu_stats s;

		hvabs_vcpu_stats_get(vcpus_[i], &s);
		return s;
	}

	hvabs_vm *vm_ = nullptr;
	hvabs_vcpu *vcpus_[2] = {};
	size_t allocs_ = 0;
};

/* ---- capabilities and configuration ---- */

TEST_F(Kvm, CapsDescribeWhatKvmHonours)
{
	hvabs_caps c = {};
	c.version = HVABS_CAPS_VERSION;

	KVM_ASSERT_OK(hvabs_backend_caps("kvm", &c));
	EXPECT_EQ(1u << HVABS_RESUME_HANDLED, c.resume_actions);
	EXPECT_EQ(1u << HVABS_ARCH_X86_64, c.archs);
	EXPECT_EQ((1u << HVABS_SPACE_MMIO) | (1u << HVABS_SPACE_PIO), c.io_spaces);
	EXPECT_EQ(HVABS_MEM_RWX, c.mem_flags);
	EXPECT_TRUE(c.fn_types & (1u << HVABS_FN_VCPU));
	EXPECT_GE(c.max_vcpus, 1u);
	EXPECT_TRUE(c.features & HVABS_FEAT_REAL_GUESTS);
	EXPECT_TRUE(c.features & HVABS_FEAT_MEM_REMOVE);
	EXPECT_FALSE(c.features & HVABS_FEAT_HLT_EXIT) << "the in-kernel LAPIC absorbs HLT";
	EXPECT_FALSE(c.features & HVABS_FEAT_CALLBACK_GUESTS);
	EXPECT_EQ(c.ioeventfd_lens & 0x116u, 0x116u) << "lens 1, 2, 4, 8";
}

TEST_F(Kvm, IrqchipOffGivesHltExitsAndNoIrqfd)
{
	hvabs_caps c = {};
	c.version = HVABS_CAPS_VERSION;
	hvabs_function *fn = nullptr;
	EventFd efd;

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "hlt", .config = "irqchip=off" }));
	KVM_ASSERT_OK(hvabs_vm_caps(vm_, &c));
	EXPECT_TRUE(c.features & HVABS_FEAT_HLT_EXIT);
	EXPECT_FALSE(c.fn_types & (1u << HVABS_FN_IRQFD));
	EXPECT_EQ(HVABS_ENOTSUP, hvabs_vm_irqfd_add(&fn, vm_, efd.fd(), kIrqGsi, 0, -1));
	ASSERT_NO_FATAL_FAILURE(start());
	KVM_ASSERT_OK(run(vcpus_[0]));
	EXPECT_EQ(HVABS_EXIT_HLT, ex()->reason) << hvabs_exit_reason_name(ex()->reason);
	EXPECT_EQ(0x42u, report(1)) << "run after HLT continues behind it";
	EXPECT_EQ(1u, stats().exits[HVABS_EXIT_HLT]);
}

TEST_F(Kvm, BadBackendConfigAndForeignArchAreRefused)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	hvabs_vm *vm = nullptr;

	o.backend = "kvm";
	o.backend_config = "irqchip=maybe";
	EXPECT_EQ(HVABS_EINVAL, hvabs_vm_create(&vm, &o));
	o.backend_config = "device=/dev/kvm";
	EXPECT_EQ(HVABS_EINVAL, hvabs_vm_create(&vm, &o));
	o.backend_config = nullptr;
	o.arch = HVABS_ARCH_ARM64;
	EXPECT_EQ(HVABS_ENOTSUP, hvabs_vm_create(&vm, &o));
	o.arch = HVABS_ARCH_NONE;
	KVM_ASSERT_OK(hvabs_vm_create(&vm_, &o));
	EXPECT_EQ(HVABS_ARCH_X86_64, hvabs_vm_arch(vm_)) << "default arch is the host's";
}

TEST_F(Kvm, MemoryFlagsKvmCannotExpressAreEnotsup)
{
	const uint32_t R = HVABS_MEM_READ, W = HVABS_MEM_WRITE, X = HVABS_MEM_EXEC;
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;

	o.backend = "kvm";
	KVM_ASSERT_OK(hvabs_vm_create(&vm_, &o));
	for (uint32_t flags : { R, R | W, W, W | X, X }) {
		hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 9, flags, 0x100000, 0x10000,
				       nullptr };

		EXPECT_EQ(HVABS_ENOTSUP, hvabs_vm_mem_add(vm_, &r)) << "flags " << flags;
	}
	for (uint32_t flags : { R | W | X, R | X }) {
		hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 9, flags, 0x100000, 0x10000,
				       nullptr };

		KVM_ASSERT_OK(hvabs_vm_mem_add(vm_, &r));
		KVM_ASSERT_OK(hvabs_vm_mem_remove(vm_, 9));
	}
	/* Slots are reused: many add/remove cycles never run out. */
	for (int i = 0; i < 100; i++) {
		hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 10, HVABS_MEM_RWX,
				       0x200000 + 0x10000 * (uint64_t)(i % 3), 0x10000, nullptr };

		KVM_ASSERT_OK(hvabs_vm_mem_add(vm_, &r));
		KVM_ASSERT_OK(hvabs_vm_mem_remove(vm_, 10));
	}
}

/* ---- MMIO and PIO exits ---- */

TEST_F(Kvm, MmioExitsAndReadCompletionReachTheGuest)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "mmio" }));
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio, 4, 0x12345678));
	ASSERT_NO_FATAL_FAILURE(mmio(false, kMmio + 8, 4, 0xcafef00d));
	EXPECT_EQ(0xcafef00du, report(4)) << "read data completed into eax";
	ASSERT_NO_FATAL_FAILURE(mmio(false, kMmio + 0x10, 1, 0x5a));
	EXPECT_EQ(0x5au, report(1));
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio + 0x12, 2, 0xbeef));
	struct hvabs_vcpu_stats s = stats();
	EXPECT_EQ(4u, s.exits[HVABS_EXIT_MMIO]);
	EXPECT_EQ(2u, s.exits[HVABS_EXIT_PIO]);
	EXPECT_EQ(6u, s.returned);
	EXPECT_EQ(0u, s.dispatched);
}

TEST_F(Kvm, PortIoIncludingStringInstructions)
{
	std::string out;

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "pio" }));
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(0xabu, report(1));
	KVM_ASSERT_OK(run(vcpus_[0]));
	ASSERT_EQ(HVABS_EXIT_PIO, ex()->reason);
	EXPECT_EQ(0x11, ex()->pio.port);
	EXPECT_FALSE(ex()->pio.is_write);
	EXPECT_EQ(2, ex()->pio.size);
	le_store(ex()->pio.data, 2, 0x1234);
	EXPECT_EQ(0x1234u, report(2)) << "in completion reached ax";

	/* rep outsb: one or more exits carrying count bytes each. */
	while (out.size() < 5) {
		KVM_ASSERT_OK(run(vcpus_[0]));
		ASSERT_EQ(HVABS_EXIT_PIO, ex()->reason);
		ASSERT_EQ(0x12, ex()->pio.port);
		ASSERT_TRUE(ex()->pio.is_write);
		ASSERT_EQ(1, ex()->pio.size);
		ASSERT_GE(ex()->pio.count, 1u);
		out.append((const char *)ex()->pio.data, ex()->pio.count);
	}
	EXPECT_EQ("hvabs", out);

	/* rep insb: the caller fills count elements in place. */
	const char *in = "kvm!";
	size_t given = 0;
	while (given < 4) {
		KVM_ASSERT_OK(run(vcpus_[0]));
		ASSERT_EQ(HVABS_EXIT_PIO, ex()->reason);
		ASSERT_EQ(0x13, ex()->pio.port);
		ASSERT_FALSE(ex()->pio.is_write);
		ASSERT_GE(ex()->pio.count, 1u);
		ASSERT_LE(given + ex()->pio.count, 4u);
		memcpy(ex()->pio.data, in + given, ex()->pio.count);
		given += ex()->pio.count;
	}
	uint64_t v = report(4);
	EXPECT_EQ(0, memcmp(&v, "kvm!", 4)) << std::hex << v;
}

struct DevState {
	std::atomic<uint64_t> writes{ 0 }, sum{ 0 }, reads{ 0 };
};

int dev_write(hvabs_vcpu *, uint64_t addr, uint32_t len, uint64_t data, void *payload)
{
	auto *d = static_cast<DevState *>(payload);

	if (addr != kMmio || len != 4)
		return -1;
	d->writes++;
	d->sum += data;
	return 0;
}

int dev_read(hvabs_vcpu *, uint64_t addr, uint32_t len, uint64_t *data, void *payload)
{
	auto *d = static_cast<DevState *>(payload);

	if (addr != kMmio + 4 || len != 4)
		return -1;
	d->reads++;
	*data = 3;
	return 0;
}

TEST_F(Kvm, IoHandlersServeAccessesInsideRun)
{
	DevState dev;
	hvabs_io_handler *h = nullptr;
	hvabs_io_desc d = {};

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "iodispatch" }));
	d.version = HVABS_IO_DESC_VERSION;
	d.space = HVABS_SPACE_MMIO;
	d.addr = kMmio;
	d.size = 8;
	d.read = dev_read;
	d.write = dev_write;
	d.payload = &dev;
	KVM_ASSERT_OK(hvabs_vm_io_handler_add(&h, vm_, &d));
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(3000u, report(4)) << "1000 reads of 3";
	EXPECT_EQ(1000u, dev.writes.load());
	EXPECT_EQ(1000u, dev.reads.load());
	EXPECT_EQ(500500u, dev.sum.load());
	struct hvabs_vcpu_stats s = stats();
	EXPECT_EQ(2000u, s.dispatched);
	EXPECT_EQ(0u, s.exits[HVABS_EXIT_MMIO]) << "dispatched accesses are not returned";
	EXPECT_EQ(1u, s.exits[HVABS_EXIT_PIO]);
	EXPECT_EQ(1u, s.returned);
}

/* ---- ioeventfd ---- */

TEST_F(Kvm, IoeventfdsSignalWithoutExitsUntilRemoved)
{
	hvabs_caps c = {};
	c.version = HVABS_CAPS_VERSION;
	hvabs_function *fm = nullptr, *fa = nullptr, *fp = nullptr;
	EventFd em, ea, ep;

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "ioeventfd" }));
	KVM_ASSERT_OK(hvabs_vm_caps(vm_, &c));
	if (!(c.ioeventfd_lens & 1u))
		GTEST_SKIP() << "host lacks KVM_CAP_IOEVENTFD_ANY_LENGTH";
	KVM_ASSERT_OK(hvabs_vm_ioeventfd_add(&fm, vm_, HVABS_SPACE_MMIO, kMmio + 0x20, 4, em.fd(),
					     HVABS_IOEVENTFD_DATAMATCH, 1));
	KVM_ASSERT_OK(hvabs_vm_ioeventfd_add(&fa, vm_, HVABS_SPACE_MMIO, kMmio + 0x40, 0, ea.fd(),
					     0, 0));
	KVM_ASSERT_OK(hvabs_vm_ioeventfd_add(&fp, vm_, HVABS_SPACE_PIO, 0x30, 1, ep.fd(),
					     HVABS_IOEVENTFD_DATAMATCH, 7));
	ASSERT_NO_FATAL_FAILURE(start());

	/* Round 1: only the non-matching writes reach userspace. */
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio + 0x20, 4, 2));
	EXPECT_EQ(8u, pio_out(vcpus_[0], 0x30, 1));
	EXPECT_EQ(0x99u, report(1));
	EXPECT_EQ(1u, em.drain());
	EXPECT_EQ(2u, ea.drain()) << "len 0 matches a 1- and a 4-byte write";
	EXPECT_EQ(1u, ep.drain());
	struct hvabs_vcpu_stats s = stats();
	EXPECT_EQ(3u, s.returned);
	EXPECT_EQ(0u, s.dispatched) << "ioeventfds are served by the kernel";

	/* Round 2: after removal every write exits. */
	KVM_ASSERT_OK(hvabs_function_remove(fm));
	KVM_ASSERT_OK(hvabs_function_remove(fa));
	KVM_ASSERT_OK(hvabs_function_remove(fp));
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio + 0x20, 4, 1));
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio + 0x20, 4, 2));
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio + 0x40, 1, 5));
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio + 0x40, 4, 6));
	EXPECT_EQ(7u, pio_out(vcpus_[0], 0x30, 1));
	EXPECT_EQ(8u, pio_out(vcpus_[0], 0x30, 1));
	EXPECT_EQ(0x99u, report(1));
	EXPECT_FALSE(em.readable());
	EXPECT_FALSE(ea.readable());
	EXPECT_FALSE(ep.readable());
}

/* ---- interrupts (irq.s programs the 8259 itself: vectors 0x20-0x27, IRQ0-7 unmasked) ---- */

class KvmIrq : public Kvm {
protected:
	/* irq.s with IRQ kIrqGsi edge- or level-triggered at the PIC (ELCR byte at 0x500). */
	void build_irq(bool level)
	{
		ASSERT_NO_FATAL_FAILURE(build({ .guest = "irq" }));
		*static_cast<uint8_t *>(hvabs_vm_mem_host(vm_, kElcrByte, 1)) =
			level ? (uint8_t)(1u << kIrqGsi) : 0;
	}
	void ready() { EXPECT_EQ(1u, pio_out(vcpus_[0], kReadyPort, 1)); }
	/* The handler runs: vector, IRR bit of the line (level still asserted?), EOI. */
	void taken(bool asserted)
	{
		EXPECT_EQ(kIrqVector, report(1)) << "interrupt vector";
		EXPECT_EQ(asserted ? 1u << kIrqGsi : 0u, report(1) & (1u << kIrqGsi)) << "IRR";
	}
	void eoi() { EXPECT_EQ(kEoiDone, report(1)); }
	/* Nothing is pending: the guest sleeps in hlt until a kick after 200 ms. */
	void quiet()
	{
		hvabs_vcpu *v = vcpus_[0];
		std::thread k([v] {
			std::this_thread::sleep_for(200ms);
			hvabs_vcpu_kick(v);
		});
		int rc = run(v);

		k.join();
		EXPECT_EQ(0, rc) << err_text();
		EXPECT_EQ(HVABS_EXIT_INTR, ex()->reason) << "unexpected exit "
							 << hvabs_exit_reason_name(ex()->reason);
	}

	static constexpr uint64_t kElcrByte = 0x500;

public:
	const hvabs_resource *bell_ = nullptr; /* populated BELL_TX doorbell */
};

TEST_F(KvmIrq, IrqfdEdgeInterruptsTheGuest)
{
	hvabs_function *fn = nullptr;
	EventFd efd;

	ASSERT_NO_FATAL_FAILURE(build_irq(false));
	KVM_ASSERT_OK(hvabs_vm_irqfd_add(&fn, vm_, efd.fd(), kIrqGsi, 0, -1));
	ASSERT_NO_FATAL_FAILURE(start());
	ready();
	efd.signal();
	taken(false);
	/* An edge while the first is in service is latched and taken after EOI. */
	efd.signal();
	eoi();
	taken(false);
	eoi();
	quiet();
	/* Removed: writes no longer reach the guest. */
	KVM_ASSERT_OK(hvabs_function_remove(fn));
	efd.signal();
	quiet();
}

TEST_F(KvmIrq, IrqfdLevelSignalsResampleAfterEoi)
{
	hvabs_function *fn = nullptr;
	EventFd trig, resample;

	ASSERT_NO_FATAL_FAILURE(build_irq(true));
	ASSERT_NO_FATAL_FAILURE(start());
	/* Added while RUNNING: the doorbell ticket is populated at once. */
	KVM_ASSERT_OK(hvabs_vm_irqfd_add(&fn, vm_, trig.fd(), kIrqGsi,
					 HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, resample.fd()));
	ready();
	for (int round = 0; round < 2; round++) {
		trig.signal();
		taken(true);
		EXPECT_FALSE(resample.readable()) << "no EOI yet";
		eoi();
		EXPECT_TRUE(resample.readable(1000)) << "EOI signals resample";
		EXPECT_EQ(1u, resample.drain());
		quiet(); /* EOI deasserted the line, so the PIC does not fire again */
	}
}

TEST_F(KvmIrq, IrqfdLevelWithoutResampleIsDeassertedAtEoi)
{
	hvabs_function *fn = nullptr;
	EventFd trig;

	ASSERT_NO_FATAL_FAILURE(build_irq(true));
	KVM_ASSERT_OK(hvabs_vm_irqfd_add(&fn, vm_, trig.fd(), kIrqGsi, HVABS_IRQFD_LEVEL, -1));
	ASSERT_NO_FATAL_FAILURE(start());
	ready();
	for (int round = 0; round < 2; round++) {
		trig.signal();
		taken(true);
		eoi();
		quiet();
	}
	KVM_ASSERT_OK(hvabs_function_remove(fn));
}

TEST_F(KvmIrq, RaisingADoorbellResourceInterruptsTheGuest)
{
	hvabs_ticket_desc d = {};
	hvabs_ticket *t = nullptr;

	ASSERT_NO_FATAL_FAILURE(build_irq(false));
	d.version = HVABS_TICKET_DESC_VERSION;
	d.type = HVABS_RESOURCE_BELL_TX;
	d.label = kIrqGsi;
	d.populate = [](hvabs_ticket *, const hvabs_resource *res, void *p) {
		static_cast<KvmIrq *>(p)->bell_ = res;
		return 0;
	};
	d.unpopulate = [](hvabs_ticket *, const hvabs_resource *, void *p) {
		static_cast<KvmIrq *>(p)->bell_ = nullptr;
	};
	d.payload = this;
	KVM_ASSERT_OK(hvabs_vm_ticket_add(&t, vm_, &d));
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_NE(nullptr, bell_);
	EXPECT_EQ(kIrqGsi, hvabs_resource_irq(bell_)) << "doorbell irq = label = GSI";
	ready();
	KVM_ASSERT_OK(hvabs_resource_raise(bell_));
	taken(false);
	eoi();
	quiet();
}

/* ---- memory ---- */

TEST_F(Kvm, WriteToReadOnlyRegionIsAnMmioExit)
{
	hvabs_mem_region rom = { HVABS_MEM_REGION_VERSION, kRomLabel,
				 HVABS_MEM_READ | HVABS_MEM_EXEC, kRomBase, 0x10000, nullptr };
	uint8_t *host;

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "rom" }));
	KVM_ASSERT_OK(hvabs_vm_mem_add(vm_, &rom));
	host = static_cast<uint8_t *>(hvabs_vm_mem_host(vm_, kRomBase, 0x10000));
	ASSERT_NE(nullptr, host);
	host[4] = 0x99;
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_NO_FATAL_FAILURE(mmio(true, kRomBase, 1, 0x5a));
	EXPECT_EQ(0x99u, report(1)) << "reads of read-only memory need no exit";
	EXPECT_EQ(0, host[0]) << "the write did not reach memory";
}

/* ---- kicks ---- */

TEST_F(Kvm, KickFromAnotherThreadStopsARunawayGuest)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "runaway" }));
	ASSERT_NO_FATAL_FAILURE(start());
	for (int round = 0; round < 3; round++) {
		hvabs_vcpu *v = vcpus_[0];
		std::thread k([v] {
			std::this_thread::sleep_for(50ms);
			hvabs_vcpu_kick(v);
		});
		auto t0 = std::chrono::steady_clock::now();
		int rc = run(v);
		auto dt = std::chrono::steady_clock::now() - t0;
		k.join();
		KVM_ASSERT_OK(rc);
		EXPECT_EQ(HVABS_EXIT_INTR, ex()->reason) << hvabs_exit_reason_name(ex()->reason);
		EXPECT_LT(dt, 5s);
	}
	EXPECT_EQ(3u, stats().exits[HVABS_EXIT_INTR]);
}

hvabs_vcpu *g_alarm_vcpu;

TEST_F(Kvm, KickFromASignalHandlerStopsARunawayGuest)
{
	struct sigaction sa = {}, old = {};
	struct itimerval it = {};

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "runaway" }));
	ASSERT_NO_FATAL_FAILURE(start());
	g_alarm_vcpu = vcpus_[0];
	sa.sa_handler = [](int) { hvabs_vcpu_kick(g_alarm_vcpu); };
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, &old));
	it.it_value.tv_usec = 50000;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, nullptr));
	int rc = run(vcpus_[0]);
	sigaction(SIGALRM, &old, nullptr);
	KVM_ASSERT_OK(rc);
	EXPECT_EQ(HVABS_EXIT_INTR, ex()->reason) << hvabs_exit_reason_name(ex()->reason);
}

TEST_F(Kvm, KickBeforeRunIsConsumedOnce)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "mmio" }));
	ASSERT_NO_FATAL_FAILURE(start());
	hvabs_vcpu_kick(vcpus_[0]);
	KVM_ASSERT_OK(run(vcpus_[0]));
	EXPECT_EQ(HVABS_EXIT_INTR, ex()->reason);
	/* The stale immediate_exit of that kick must not cost the next run an INTR. */
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio, 4, 0x12345678));
}

/* ---- boot modes ---- */

TEST_F(Kvm, RealModeEntry)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "real", .arg0 = 0xbeef }));
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(kRealStack, report(4)) << "esp";
	EXPECT_EQ(0xbeefu, report(4)) << "esi = arg0";
	EXPECT_EQ(0u, report(4) & 1u) << "cr0.PE clear";
	EXPECT_EQ(kEntry >> 4, report(2)) << "cs = entry >> 4";
}

TEST_F(Kvm, RealModeEntryAboveOneMegabyteUsesTheHiddenCsBase)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "real", .arg0 = 1, .entry = 0x123450 }));
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(kRealStack, report(4));
	EXPECT_EQ(1u, report(4));
	EXPECT_EQ(0u, report(4) & 1u);
	EXPECT_EQ(0x2345u, report(2)) << "selector = entry >> 4, truncated";
}

TEST_F(Kvm, Prot32Entry)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "prot32",
					.mode = HVABS_CPU_MODE_X86_PROT32,
					.stack = kFlatStack,
					.arg0 = 0x12345678 }));
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(kFlatStack, report(4)) << "esp";
	EXPECT_EQ(0x12345678u, report(4)) << "esi = arg0";
	EXPECT_EQ(1u, report(4) & 0x80000001u) << "cr0: PE set, PG clear";
	EXPECT_EQ(0x08u, report(2)) << "cs = flat 32-bit code";
}

TEST_F(Kvm, Long64Entry)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "long64",
					.mode = HVABS_CPU_MODE_X86_LONG64,
					.stack = kFlatStack,
					.arg0 = 0x1122334455667788ull }));
	ASSERT_NO_FATAL_FAILURE(start());
	EXPECT_EQ(kFlatStack, report(4)) << "rsp";
	EXPECT_EQ(0x55667788u, report(4)) << "rsi low";
	EXPECT_EQ(0x11223344u, report(4)) << "rsi high: 64-bit register";
	EXPECT_EQ(0u, report(4)) << "rdi = vCPU id";
	EXPECT_EQ(0x80000001u, report(4) & 0x80000001u) << "cr0: PE and PG";
	EXPECT_EQ(0x18u, report(2)) << "cs = 64-bit code";
	ASSERT_NO_FATAL_FAILURE(mmio(false, 0xc0000000, 4, 0xfeedface));
	EXPECT_EQ(0xfeedfaceu, report(4)) << "identity map reaches 3 GiB";
	EXPECT_EQ(0u, report(4)) << "APIC id of vCPU 0";
}

TEST_F(Kvm, EveryVcpuStartsAtTheEntryInParallel)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "long64",
					.mode = HVABS_CPU_MODE_X86_LONG64,
					.stack = kFlatStack,
					.arg0 = 7,
					.nr_vcpus = 2 }));
	ASSERT_NO_FATAL_FAILURE(start());
	auto body = [this](uint32_t i) {
		EXPECT_EQ(kFlatStack - i * HVABS_BOOT_STACK_STRIDE, report(4, i)) << "per-vCPU stack";
		EXPECT_EQ(7u, report(4, i));
		EXPECT_EQ(0u, report(4, i));
		EXPECT_EQ(i, report(4, i)) << "rdi = vCPU id";
		report(4, i);
		EXPECT_EQ(0x18u, report(2, i));
		mmio(false, 0xc0000000, 4, 0x100 + i, i);
		EXPECT_EQ(0x100u + i, report(4, i));
		EXPECT_EQ(i, report(4, i)) << "APIC id";
	};
	std::thread t1(body, 1);
	body(0);
	t1.join();
}

/* ---- completion actions ---- */

TEST_F(Kvm, FaultAndRetryResumeAreEnotsup)
{
	ASSERT_NO_FATAL_FAILURE(build({ .guest = "mmio" }));
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio, 4, 0x12345678));
	ex()->mmio.resume = HVABS_RESUME_FAULT;
	EXPECT_EQ(HVABS_ENOTSUP, hvabs_vcpu_run(vcpus_[0]));
	EXPECT_STREQ("kvm", hvabs_error_last()->backend);
	ex()->mmio.resume = HVABS_RESUME_RETRY;
	EXPECT_EQ(HVABS_ENOTSUP, hvabs_vcpu_run(vcpus_[0]));
	ex()->mmio.resume = 77;
	EXPECT_EQ(HVABS_EINVAL, hvabs_vcpu_run(vcpus_[0]));
	/* The access is still pending: completing it normally carries on. */
	ex()->mmio.resume = HVABS_RESUME_HANDLED;
	ASSERT_NO_FATAL_FAILURE(mmio(false, kMmio + 8, 4, 0x1));
	EXPECT_EQ(1u, report(4));
}

/* ---- vCPU removal and teardown ---- */

TEST_F(Kvm, VcpuRemovedAndAddedAgainRestartsAtTheEntry)
{
	hvabs_fn_vcpu_arg a = { 0 };
	hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "mmio" }));
	KVM_ASSERT_OK(hvabs_vm_function_remove(vm_, &d));
	KVM_ASSERT_OK(hvabs_vm_vcpu_add(&vcpus_[0], vm_, 0));
	ASSERT_NO_FATAL_FAILURE(start());
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio, 4, 0x12345678));
	/* Removed with an access pending, added again while RUNNING. */
	KVM_ASSERT_OK(hvabs_vm_function_remove(vm_, &d));
	KVM_ASSERT_OK(hvabs_vm_vcpu_add(&vcpus_[0], vm_, 0));
	ASSERT_NO_FATAL_FAILURE(mmio(true, kMmio, 4, 0x12345678));
	ASSERT_NO_FATAL_FAILURE(mmio(false, kMmio + 8, 4, 0xabc));
	EXPECT_EQ(0xabcu, report(4));
}

TEST_F(Kvm, DestroyWhileAVcpuThreadRuns)
{
	std::atomic<bool> returned{ false };
	int rc = -100;
	uint32_t reason = ~0u;

	ASSERT_NO_FATAL_FAILURE(build({ .guest = "runaway" }));
	ASSERT_NO_FATAL_FAILURE(start());
	hvabs_vm *vm = vm_;
	hvabs_vcpu *v = vcpus_[0];
	hvabs_vm_get(vm); /* keeps the vCPU's memory valid for the thread */
	std::thread t([&] {
		rc = hvabs_vcpu_run(v);
		reason = hvabs_vcpu_exit(v)->reason;
		returned = true;
		hvabs_vm_put(vm);
	});
	std::this_thread::sleep_for(100ms);
	EXPECT_FALSE(returned.load()) << "the guest spins until destroyed";
	auto t0 = std::chrono::steady_clock::now();
	hvabs_vm_destroy(vm_);
	vm_ = nullptr;
	EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
	t.join();
	if (rc == 0)
		EXPECT_TRUE(reason == HVABS_EXIT_INTR || reason == HVABS_EXIT_STATUS)
			<< hvabs_exit_reason_name(reason);
	else
		EXPECT_EQ(HVABS_ESTATE, rc);
}

} /* namespace */
