/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/emu_test.h: raw /dev/gunyah ioctls, devicetree builder and the fork-per-test fixture. */
#ifndef HVABS_TESTS_GUNYAH_EMU_TEST_H
#define HVABS_TESTS_GUNYAH_EMU_TEST_H

#include <hvabs_gunyah_emu.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

/*
 * The tests speak the raw ABI with their own copies of the uapi structures
 * (written from gunyah-abi.md, not shared with the emulator) and literal
 * ioctl numbers. Every test runs in a forked child that starts the
 * emulator with the ABI under test: a seccomp filter cannot be removed.
 */
namespace gemu {

enum class Abi { V10, V14 };

const char *abi_name(Abi abi);

/* Built with AddressSanitizer (LD_PRELOAD of an instrumented library cannot work). */
bool under_asan();

/* ioctl numbers, literally (gunyah-abi.md section 1). */
constexpr unsigned long kCreateVm = 0x4700;
constexpr unsigned long kSetUserMemRegion = 0x40204701;
constexpr unsigned long kSetDtbConfig = 0x40104702;
constexpr unsigned long kStart = 0x4703;
constexpr unsigned long kAddFunction = 0x40104704;
constexpr unsigned long kVcpuRun = 0x4705;
constexpr unsigned long kVcpuMmapSize = 0x4706;
constexpr unsigned long kRemoveFunction = 0x40104707;

struct MemRegion {
	uint32_t label;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
};
static_assert(sizeof(MemRegion) == 32, "gh_userspace_memory_region");
static_assert(offsetof(MemRegion, userspace_addr) == 24, "userspace_addr");

struct DtbConfig {
	uint64_t gpa;
	uint64_t size;
};
static_assert(sizeof(DtbConfig) == 16, "gh_vm_dtb_config");

struct FnDesc {
	uint32_t type;
	uint32_t arg_size;
	uint64_t arg;
};
static_assert(sizeof(FnDesc) == 16, "gh_fn_desc");
static_assert(offsetof(FnDesc, arg) == 8, "arg");

struct IrqfdArg {
	uint32_t fd;
	uint32_t label;
	uint32_t flags;
	uint32_t padding;
};
static_assert(sizeof(IrqfdArg) == 16, "gh_fn_irqfd_arg");

struct IoeventfdArg {
	uint64_t datamatch;
	uint64_t addr;
	uint32_t len;
	int32_t fd;
	uint32_t flags;
	uint32_t padding;
};
static_assert(sizeof(IoeventfdArg) == 32, "gh_fn_ioeventfd_arg");
static_assert(offsetof(IoeventfdArg, fd) == 20, "fd");

struct ExitInfo {
	uint16_t type;
	uint16_t reserved;
	uint32_t reason_size;
	uint8_t reason[8];
};

struct VcpuRun {
	uint8_t immediate_exit;
	uint8_t padding[7];
	uint32_t exit_reason;
	uint32_t pad2;
	union {
		struct {
			uint64_t phys_addr;
			uint8_t data[8];
			uint32_t len;
			uint8_t is_write;
			uint8_t resume_action;
		} mmio;
		struct {
			uint32_t status;
			ExitInfo exit_info;
		} status;
	};
};
static_assert(sizeof(VcpuRun) == 40, "gh_vcpu_run");
static_assert(offsetof(VcpuRun, mmio) == 16, "mmio");
static_assert(offsetof(VcpuRun, mmio.len) == 32, "mmio.len");
static_assert(offsetof(VcpuRun, mmio.is_write) == 36, "mmio.is_write");
static_assert(offsetof(VcpuRun, status.exit_info) == 20, "exit_info");
static_assert(offsetof(VcpuRun, status.exit_info.reason) == 28, "exit_info.reason");

constexpr uint32_t kFnVcpu = 1, kFnIrqfd = 2, kFnIoeventfd = 3;
constexpr uint32_t kMemR = 1, kMemW = 2, kMemX = 4, kMemLent = 8, kMemRWX = 7;
constexpr uint32_t kExitMmio = 1, kExitStatus = 2;
constexpr uint32_t kStatusLoadFailed = 1, kStatusExited = 2, kStatusCrashed = 3;

/* ioctl() as the kernel returns it: the result, or -errno. */
long sys_ioctl(int fd, unsigned long cmd, uint64_t arg);
inline long sys_ioctl(int fd, unsigned long cmd, const void *arg)
{
	return sys_ioctl(fd, cmd, (uint64_t)(uintptr_t)arg);
}

/* Devicetree as the emulator's Resource Manager reads it (docs/gunyah-emulator.md). */
struct DtSpec {
	std::vector<uint32_t> vcpus{ 0 };
	std::vector<uint32_t> bells;
	uint64_t mem_base = 0;
	uint64_t mem_size = 0; /* 0: the whole test region */
	bool config_node = true;
	bool names = true;
	bool memory_node = true;
	const char *affinity = "proxy";
};

/* Writes the DTB into @buf; returns its size (> 0) or a negative libfdt error. */
int build_dtb(void *buf, size_t cap, const DtSpec &spec);

/* One VM with one RWX region of kMemSize bytes at kMemGpa (label 0). */
class Vm {
public:
	static constexpr uint64_t kMemGpa = 0x80000000ull;
	static constexpr uint64_t kMemSize = 2ull << 20;
	static constexpr uint64_t kDtbOffset = 1ull << 20;

	explicit Vm(bool with_region = true);
	~Vm();
	Vm(const Vm &) = delete;
	Vm &operator=(const Vm &) = delete;

	int dev = -1;
	int fd = -1;
	uint8_t *mem = nullptr;

	long set_region(uint32_t label, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t uaddr);
	long set_dtb(uint64_t gpa, uint64_t size);
	/* Build @spec into guest memory at kDtbOffset and point the DTB config at it. */
	long place_dtb(const DtSpec &spec = DtSpec());
	long start();
	long add_fn(uint32_t type, uint32_t arg_size, uint64_t arg);
	long remove_fn(uint32_t type, uint32_t arg_size, uint64_t arg);
	long add_fn(uint32_t type, uint32_t arg_size, const void *arg)
	{
		return add_fn(type, arg_size, (uint64_t)(uintptr_t)arg);
	}
	long remove_fn(uint32_t type, uint32_t arg_size, const void *arg)
	{
		return remove_fn(type, arg_size, (uint64_t)(uintptr_t)arg);
	}
	/* The ABI's own way to add/remove vCPU @id. */
	long add_vcpu(Abi abi, uint32_t id);
	long remove_vcpu(Abi abi, uint32_t id);
	long add_irqfd(int efd, uint32_t label, uint32_t flags = 0);
	long remove_irqfd(int efd, uint32_t label, uint32_t flags = 0);
	long add_ioeventfd(int efd, uint64_t addr, uint32_t len, uint32_t flags = 0,
			   uint64_t datamatch = 0);
	long remove_ioeventfd(int efd, uint64_t addr, uint32_t len, uint32_t flags = 0,
			      uint64_t datamatch = 0);
	/* Release the VM fd (the VM lives on while vCPU files hold it). */
	void close_fd();
};

/* An mmap'd vCPU run page. */
class Vcpu {
public:
	explicit Vcpu(int fd);
	~Vcpu();
	Vcpu(const Vcpu &) = delete;
	Vcpu &operator=(const Vcpu &) = delete;

	int fd;
	VcpuRun *run = nullptr;
	long run_once() { return sys_ioctl(fd, kVcpuRun, (uint64_t)0); }
	void release();
};

uint64_t le_load(const uint8_t *p, uint32_t len);
void le_store(uint8_t *p, uint32_t len, uint64_t v);

int new_eventfd();
uint64_t eventfd_take(int efd); /* counter now (non-blocking), 0 if none */
bool eventfd_wait(int efd, int timeout_ms);

struct hvabs_gunyah_emu_stats emu_stats(); /* after hvabs_gunyah_emu_sync() */
uint64_t now_us();

/* Fixture: each test body runs in a child process with the emulator started. */
class EmuTest : public ::testing::TestWithParam<Abi> {
protected:
	Abi abi() const { return GetParam(); }
	bool v10() const { return GetParam() == Abi::V10; }
	/* v10 value or v14 value. */
	long per_abi(long v10_value, long v14_value) const { return v10() ? v10_value : v14_value; }
	/*
	 * Run @body in a forked child; @faults is the emulator's fault spec.
	 * With @start false the body starts the emulator itself.
	 */
	void in_child(const std::function<void()> &body, const char *faults = nullptr,
		      bool start = true);
};

std::string abi_param_name(const ::testing::TestParamInfo<Abi> &info);

/* Called in a test child: end it and mark the test skipped. */
[[noreturn]] void child_skip(const char *why);

} /* namespace gemu */

#define GEMU_INSTANTIATE(suite)                                                              \
	INSTANTIATE_TEST_SUITE_P(Abi, suite, ::testing::Values(gemu::Abi::V10, gemu::Abi::V14), \
				 gemu::abi_param_name)

#endif
