/* SPDX-License-Identifier: MIT */
/* tests/sweep/regress_common.h: a switchable failing allocator for the regression tests of sweep findings. */
#ifndef HVABS_TESTS_SWEEP_REGRESS_COMMON_H
#define HVABS_TESTS_SWEEP_REGRESS_COMMON_H

#include <hvabs.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

namespace hvt {
namespace regress {

/*
 * Counts library allocations; fails the call numbered fail_at (0: none) or,
 * with fail_all, every call. Installed for one test while no library object
 * exists.
 */
struct SwitchAllocator {
	std::atomic<long> calls{ 0 };
	std::atomic<long> fail_at{ 0 };
	std::atomic<bool> fail_all{ false };
	std::atomic<long> failed{ 0 };

	bool fail_now()
	{
		long n = ++calls;
		if (fail_all || n == fail_at) {
			failed++;
			return true;
		}
		return false;
	}
	/* Fail the @k-th allocation from now. */
	void fail_in(long k)
	{
		failed = 0;
		fail_at = calls.load() + k;
	}
	void reset()
	{
		fail_at = 0;
		fail_all = false;
	}

	static void *do_malloc(size_t size, void *p)
	{
		return static_cast<SwitchAllocator *>(p)->fail_now() ? nullptr : std::malloc(size);
	}
	static void *do_realloc(void *ptr, size_t size, void *p)
	{
		return static_cast<SwitchAllocator *>(p)->fail_now() ? nullptr : std::realloc(ptr, size);
	}
	static void do_free(void *ptr, void *) { std::free(ptr); }

	int install()
	{
		hvabs_allocator a{};
		a.version = HVABS_ALLOCATOR_VERSION;
		a.malloc = do_malloc;
		a.realloc = do_realloc;
		a.free = do_free;
		a.payload = this;
		return hvabs_set_allocator(&a);
	}
};

/* Installs a SwitchAllocator around each test; the test must leave no object behind. */
class AllocTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(0u, hvabs_alloc_count()) << "the allocator is swapped only with no live objects";
		ASSERT_EQ(0, alloc_.install());
	}
	void TearDown() override
	{
		alloc_.reset();
		EXPECT_EQ(0u, hvabs_alloc_count()) << "library allocations leaked";
		EXPECT_EQ(0, hvabs_set_allocator(nullptr));
	}

	SwitchAllocator alloc_;
};

} /* namespace regress */
} /* namespace hvt */

#endif
