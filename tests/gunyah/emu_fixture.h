/* SPDX-License-Identifier: MIT */
/* tests/gunyah/emu_fixture.h: fixture for gunyah backend tests run through the /dev/gunyah emulator. */
#ifndef HVABS_TESTS_GUNYAH_EMU_FIXTURE_H
#define HVABS_TESTS_GUNYAH_EMU_FIXTURE_H

#include "gunyah_api.h"

#include <hvabs.h>
#include <hvabs_gunyah_emu.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace gy {

/* The ABI this process emulates ("v10" or "v14", from $HVABS_GUNYAH_TEST_ABI). */
const std::string &abi();
bool v10();
/* backend_config naming the emulated ABI, plus @extra ("k=v,..."). */
std::string config(const std::string &extra = "");

constexpr uint64_t kRamBase = 0x80000000ull;
constexpr uint64_t kRamSize = 0x100000ull; /* 1 MiB */
constexpr uint64_t kMmio = 0x10000000ull;  /* device window, outside RAM */

/* "HVABS_EINVAL [gunyah] message" for a failed call. */
std::string why(int code);
::testing::AssertionResult code_eq(const char *want_expr, const char *got_expr, int want,
				   int got);
/* Code checks that name the hvabs error detail; both accept << context. */
#define GY_EXPECT_CODE(want, expr) EXPECT_PRED_FORMAT2(::gy::code_eq, want, expr)
#define GY_ASSERT_OK(expr) ASSERT_PRED_FORMAT2(::gy::code_eq, 0, expr)

/* Zeroed structs with their current version. */
hvabs_caps caps0();
hvabs_boot_config boot0();

/* A test guest for one vCPU id; the body runs on an emulator thread. */
using GuestBody = std::function<void(hvabs_gunyah_emu_guest *)>;

/* Non-blocking eventfd owned by the test. */
class EventFd {
public:
	EventFd();
	~EventFd();
	int fd() const { return fd_; }
	void signal();
	/* Wait up to @ms for the counter to be non-zero, then read it (0: timeout). */
	uint64_t wait(int ms = 5000);

private:
	int fd_;
};

class EmuTest : public ::testing::Test {
protected:
	void SetUp() override;
	void TearDown() override;

	/* Create vm_ with config() + @extra. */
	int create(const std::string &extra = "", uint32_t nr_vcpus = 0);
	void create_ok(const std::string &extra = "", uint32_t nr_vcpus = 0);
	/* RAM at kRamBase (library-owned memory), label 0. */
	void add_ram(uint64_t size = kRamSize, uint32_t flags = HVABS_MEM_RWX);
	hvabs_vcpu *add_vcpu(uint32_t id);
	/* Play vCPU @id of VMs started from now on. */
	void guest(uint32_t id, GuestBody body);
	/* One hvabs_vcpu_run() bounded by a watchdog kick after @ms. */
	int run(hvabs_vcpu *vcpu, int ms = 10000);
	/* Run until an exit other than INTR; the exit record. */
	const hvabs_exit &run_exit(hvabs_vcpu *vcpu, int ms = 10000);
	struct hvabs_gunyah_emu_stats stats();
	void *ram() { return hvabs_vm_mem_host(vm_, kRamBase, kRamSize); }

	hvabs_vm *vm_ = nullptr;

private:
	GuestBody bodies_[4];
};

/* Little-endian value of an MMIO exit's data. */
uint64_t mmio_value(const hvabs_exit &e);
void mmio_complete(hvabs_exit *e, uint64_t v);

} // namespace gy

#endif
