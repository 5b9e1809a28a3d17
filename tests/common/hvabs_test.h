/* SPDX-License-Identifier: MIT */
/* tests/common/hvabs_test.h: shared helpers for the GoogleTest suites (public API only). */
#ifndef HVABS_TESTS_COMMON_HVABS_TEST_H
#define HVABS_TESTS_COMMON_HVABS_TEST_H

#include <hvabs.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace hvt {

/* "HVABS_EINVAL [sim] message" for the calling thread's last failure. */
std::string last_error_text();

/* Names the code and appends the thread's error detail when it is not 0. */
std::string describe(int code);

/* Success when @got == @want; the failure names both codes and the detail. */
::testing::AssertionResult code_is(int want, int got, const char *expr);

/* Names the code only ("0" or "HVABS_EINVAL"). */
std::string describe_code(int code);

/* Eventfd owned by the test (non-blocking, close-on-exec). */
class EventFd {
public:
	explicit EventFd(unsigned int initval = 0);
	~EventFd();
	EventFd(const EventFd &) = delete;
	EventFd &operator=(const EventFd &) = delete;

	int fd() const { return fd_; }
	void signal(uint64_t value = 1);
	/* Wait up to @timeout for the counter to become non-zero. */
	bool wait_readable(std::chrono::milliseconds timeout);
	bool readable_now() { return wait_readable(std::chrono::milliseconds(0)); }
	/* Read and reset the counter; 0 when it was zero. */
	uint64_t drain();

private:
	int fd_;
};

/* Poll @pred every millisecond until it is true or @timeout passed. */
bool wait_until(const std::function<bool()> &pred,
		std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

/* Memory region descriptor with the current version. */
/* RWX by default: every backend can map that (KVM cannot withhold exec). */
hvabs_mem_region region(uint32_t label, uint64_t gpa, uint64_t size,
			uint32_t flags = HVABS_MEM_RWX, void *host = nullptr);

/* VM options for backend @name with the current version. */
hvabs_vm_options vm_options(const char *backend);

/* IO handler descriptor with the current version. */
hvabs_io_desc io_desc(hvabs_space space, uint64_t addr, uint64_t size, uint32_t len,
		      hvabs_io_read_fn rd, hvabs_io_write_fn wr, void *payload = nullptr,
		      uint32_t flags = 0, uint64_t data = 0);

/* Little-endian helpers for hvabs_exit.mmio.data. */
uint64_t le_load(const uint8_t *p, uint32_t len);
void le_store(uint8_t *p, uint32_t len, uint64_t v);

/*
 * Run @vcpu once. A watchdog kicks it after @timeout so a hung run becomes
 * an INTR exit and the caller sees *timed_out instead of a hanging test.
 */
int run_bounded(hvabs_vcpu *vcpu, bool *timed_out,
		std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

/* Is backend @name compiled in? */
/*
 * Open file descriptors of this process (from /proc/self/fd, not counting
 * the one reading it); -1 where /proc is not mounted. Leak checks compare
 * it before and after.
 */
int open_fd_count();

bool backend_compiled(const char *name);

/* Fills @caps for backend @name (version preset); false on failure. */
bool backend_caps(const char *name, hvabs_caps *caps);

/* Leak check: records hvabs_alloc_count() at construction. */
class AllocBaseline {
public:
	AllocBaseline() : base_(hvabs_alloc_count()) {}
	size_t base() const { return base_; }
	size_t now() const { return hvabs_alloc_count(); }
	bool balanced() const { return now() == base_; }

private:
	size_t base_;
};

} /* namespace hvt */

/* Assertion helpers that print the error detail of the failing call; they accept << messages. */
#define HV_EXPECT_CODE(code, expr) EXPECT_TRUE(::hvt::code_is((code), (expr), #expr))
#define HV_ASSERT_CODE(code, expr) ASSERT_TRUE(::hvt::code_is((code), (expr), #expr))
#define HV_EXPECT_OK(expr) HV_EXPECT_CODE(0, expr)
#define HV_ASSERT_OK(expr) HV_ASSERT_CODE(0, expr)

#define SKIP_UNLESS_SIM()                                                      \
	do {                                                                   \
		if (!hvt::backend_compiled("sim"))                            \
			GTEST_SKIP() << "sim backend not compiled in";        \
		if (hvabs_backend_probe("sim") != 0)                          \
			GTEST_SKIP() << "sim unusable: "                      \
				     << hvabs_error_last()->message;          \
	} while (0)

#endif
