/* SPDX-License-Identifier: MIT */
/* tests/gunyah/emu_fixture.cc: fixture helpers for the emulator-backed gunyah tests. */
#include "emu_fixture.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace gy {

const std::string &abi()
{
	static const std::string a = [] {
		const char *e = getenv("HVABS_GUNYAH_TEST_ABI");
		return std::string(e && *e ? e : "v14");
	}();
	return a;
}

bool v10()
{
	return abi() == "v10";
}

std::string config(const std::string &extra)
{
	return "abi=" + abi() + (extra.empty() ? "" : "," + extra);
}

std::string why(int code)
{
	const hvabs_error *e = hvabs_error_last();

	if (!code)
		return "0";
	return std::string(hvabs_err_name(code)) + " [" + e->backend + "] " + e->message +
	       " (errno " + std::to_string(e->sys_errno) + ")";
}

::testing::AssertionResult code_eq(const char *want_expr, const char *got_expr, int want,
				   int got)
{
	if (want == got)
		return ::testing::AssertionSuccess();
	return ::testing::AssertionFailure()
	       << got_expr << " is " << why(got) << ", expected " << want_expr << " ("
	       << (want ? hvabs_err_name(want) : "0") << ")";
}

hvabs_caps caps0()
{
	hvabs_caps c;

	std::memset(&c, 0, sizeof(c));
	c.version = HVABS_CAPS_VERSION;
	return c;
}

hvabs_boot_config boot0()
{
	hvabs_boot_config b;

	std::memset(&b, 0, sizeof(b));
	b.version = HVABS_BOOT_CONFIG_VERSION;
	return b;
}

EventFd::EventFd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

EventFd::~EventFd()
{
	close(fd_);
}

void EventFd::signal()
{
	uint64_t one = 1;

	EXPECT_EQ((ssize_t)sizeof(one), write(fd_, &one, sizeof(one)));
}

uint64_t EventFd::wait(int ms)
{
	struct pollfd p = { fd_, POLLIN, 0 };
	uint64_t v = 0;

	if (poll(&p, 1, ms) != 1)
		return 0;
	if (read(fd_, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static void guest_trampoline(hvabs_gunyah_emu_guest *g, void *payload)
{
	(*static_cast<GuestBody *>(payload))(g);
}

void EmuTest::SetUp()
{
	hvabs_gunyah_emu_fault_clear();
}

void EmuTest::TearDown()
{
	struct hvabs_gunyah_emu_stats s;

	hvabs_vm_destroy(vm_);
	vm_ = nullptr;
	for (uint32_t id = 0; id < 4; id++)
		hvabs_gunyah_emu_set_guest(id, nullptr, nullptr);
	hvabs_gunyah_emu_fault_clear();
	hvabs_gunyah_emu_sync();
	s = stats();
	EXPECT_EQ(0u, s.vms) << "the emulated kernel still holds a VM";
	EXPECT_EQ(0u, s.vcpus) << "the emulated kernel still holds a vCPU";
	EXPECT_EQ(0u, s.functions) << "a function was left behind in the kernel";
	EXPECT_EQ(0u, s.regions) << "a memory region was left behind in the kernel";
	EXPECT_EQ(0u, s.sim_vms);
	EXPECT_EQ(0u, hvabs_alloc_count()) << "libhvabs allocations leaked";
}

int EmuTest::create(const std::string &extra, uint32_t nr_vcpus)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	std::string cfg = config(extra);

	o.backend = "gunyah";
	o.nr_vcpus = nr_vcpus;
	o.backend_config = cfg.c_str();
	return hvabs_vm_create(&vm_, &o);
}

void EmuTest::create_ok(const std::string &extra, uint32_t nr_vcpus)
{
	GY_ASSERT_OK(create(extra, nr_vcpus));
}

void EmuTest::add_ram(uint64_t size, uint32_t flags)
{
	hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 0, flags, kRamBase, size, nullptr };

	GY_ASSERT_OK(hvabs_vm_mem_add(vm_, &r));
}

hvabs_vcpu *EmuTest::add_vcpu(uint32_t id)
{
	hvabs_vcpu *v = nullptr;
	GY_EXPECT_CODE(0, hvabs_vm_vcpu_add(&v, vm_, id)) << "vcpu " << id;
	return v;
}

void EmuTest::guest(uint32_t id, GuestBody body)
{
	ASSERT_LT(id, 4u);
	bodies_[id] = std::move(body);
	GY_ASSERT_OK(hvabs_gunyah_emu_set_guest(id, guest_trampoline, &bodies_[id]));
}

int EmuTest::run(hvabs_vcpu *vcpu, int ms)
{
	std::mutex m;
	std::condition_variable cv;
	bool done = false;
	std::thread dog([&] {
		std::unique_lock<std::mutex> l(m);
		if (!cv.wait_for(l, std::chrono::milliseconds(ms), [&] { return done; }))
			hvabs_vcpu_kick(vcpu);
	});
	int ret = hvabs_vcpu_run(vcpu);
	{
		std::lock_guard<std::mutex> l(m);
		done = true;
	}
	cv.notify_all();
	dog.join();
	return ret;
}

const hvabs_exit &EmuTest::run_exit(hvabs_vcpu *vcpu, int ms)
{
	int ret = run(vcpu, ms);
	const hvabs_exit *e = hvabs_vcpu_exit(vcpu);

	EXPECT_EQ(0, ret) << why(ret);
	EXPECT_NE((uint32_t)HVABS_EXIT_INTR, e->reason) << "timed out";
	return *e;
}

struct hvabs_gunyah_emu_stats EmuTest::stats()
{
	struct hvabs_gunyah_emu_stats s;

	hvabs_gunyah_emu_sync();
	std::memset(&s, 0, sizeof(s));
	hvabs_gunyah_emu_stats(&s);
	return s;
}

uint64_t mmio_value(const hvabs_exit &e)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < e.mmio.len && i < 8; i++)
		v |= (uint64_t)e.mmio.data[i] << (8 * i);
	return v;
}

void mmio_complete(hvabs_exit *e, uint64_t v)
{
	for (uint32_t i = 0; i < 8; i++)
		e->mmio.data[i] = (uint8_t)(v >> (8 * i));
}

} // namespace gy
