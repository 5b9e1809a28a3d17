/* SPDX-License-Identifier: MIT */
/* tests/fault/test_alloc_fault.cc: failing-allocator sweeps - every allocation failure is a clean HVABS_ENOMEM. */
#include "hvabs_test.h"
#include "scenario.h"
#include "sim_vm.h"
#include "test_fn.h"

#include <atomic>
#include <cstdlib>
#include <string>

using namespace hvt;

namespace {

/* Counts allocations and fails the fail_at-th one (0: never). */
struct FailingAllocator {
	std::atomic<long> calls{ 0 };
	std::atomic<long> frees{ 0 };
	std::atomic<long> fail_at{ 0 };
	std::atomic<bool> hit{ false };
	std::atomic<const char *> hit_step{ "" }; /* scenario step the failure hit */

	bool fail_now()
	{
		long n = ++calls;
		if (n != fail_at.load())
			return false;
		hit_step = scenario_current_step();
		hit = true;
		return true;
	}

	static void *do_malloc(size_t size, void *payload)
	{
		FailingAllocator *a = static_cast<FailingAllocator *>(payload);
		return a->fail_now() ? nullptr : std::malloc(size);
	}

	static void *do_realloc(void *ptr, size_t size, void *payload)
	{
		FailingAllocator *a = static_cast<FailingAllocator *>(payload);
		return a->fail_now() ? nullptr : std::realloc(ptr, size);
	}

	static void do_free(void *ptr, void *payload)
	{
		FailingAllocator *a = static_cast<FailingAllocator *>(payload);
		if (ptr)
			a->frees++;
		std::free(ptr);
	}

	hvabs_allocator table()
	{
		hvabs_allocator t{};
		t.version = HVABS_ALLOCATOR_VERSION;
		t.malloc = do_malloc;
		t.realloc = do_realloc;
		t.free = do_free;
		t.payload = this;
		return t;
	}
};

class AllocFault : public ::testing::Test {
protected:
	void SetUp() override
	{
		SKIP_UNLESS_SIM();
		ASSERT_EQ(0u, hvabs_alloc_count()) << "the allocator can only be swapped with no live objects";
	}

	void TearDown() override { hvabs_set_allocator(nullptr); }

	int install(FailingAllocator *a)
	{
		hvabs_allocator t = a->table();
		return hvabs_set_allocator(&t);
	}
};

constexpr int kMaxSweep = 5000;

} /* namespace */

TEST_F(AllocFault, SetAllocatorRejectsBadTablesAndSwapsWithLiveObjects)
{
	FailingAllocator a;
	hvabs_allocator t = a.table();
	t.version = 0;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_set_allocator(&t));
	t.version = HVABS_ALLOCATOR_VERSION + 1;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_set_allocator(&t));
	t = a.table();
	t.malloc = nullptr;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_set_allocator(&t));
	t = a.table();
	t.free = nullptr;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_set_allocator(&t));

	SimVm vm;
	HV_ASSERT_OK(vm.create());
	HV_EXPECT_CODE(HVABS_EBUSY, install(&a));
	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_set_allocator(nullptr));
	vm.destroy();
	HV_EXPECT_OK(install(&a));
	HV_EXPECT_OK(hvabs_set_allocator(nullptr));
	EXPECT_EQ(0, a.calls.load()) << "nothing allocated while installed";
}

TEST_F(AllocFault, EveryLibraryAllocationGoesThroughTheHookAndIsReleased)
{
	FailingAllocator a;
	HV_ASSERT_OK(install(&a));
	ScenarioResult r = run_scenario();
	EXPECT_EQ(0, r.rc) << r.step << ": " << describe(r.rc);
	EXPECT_TRUE(r.guest_ran);
	EXPECT_GT(a.calls.load(), 5);
	EXPECT_EQ(0u, hvabs_alloc_count());
	HV_EXPECT_OK(hvabs_set_allocator(nullptr));
	EXPECT_LE(a.frees.load(), a.calls.load());
}

TEST_F(AllocFault, ScenarioFailsWithENOMEMAndLeaksNothingAtEveryAllocation)
{
	int n;
	for (n = 1; n <= kMaxSweep; n++) {
		FailingAllocator a;
		a.fail_at = n;
		ASSERT_EQ(0, install(&a)) << "n=" << n << ": " << last_error_text();
		ScenarioResult r = run_scenario();
		ASSERT_EQ(0u, hvabs_alloc_count()) << "n=" << n << ", failed at " << r.step;
		ASSERT_EQ(0, hvabs_set_allocator(nullptr));
		EXPECT_EQ(0, r.live_instances) << "n=" << n;
		EXPECT_EQ(r.populates, r.unpopulates) << "n=" << n;
		if (!a.hit) {
			EXPECT_EQ(0, r.rc) << "clean run failed at " << r.step << ": " << describe(r.rc);
			break;
		}
		std::string hit_step = a.hit_step.load();
		if (hit_step == "teardown") {
			/* Teardown cannot fail: it must cope without memory. */
			EXPECT_EQ(0, r.rc) << "allocation " << n << " (teardown)";
			continue;
		}
		EXPECT_EQ(HVABS_ENOMEM, r.rc) << "allocation " << n << " failed in step " << hit_step
					      << "; " << r.step << " returned " << describe_code(r.rc);
		EXPECT_EQ(hit_step, r.step) << "allocation " << n << ": failure reported by the step that hit it";
	}
	RecordProperty("allocations_swept", n - 1);
	EXPECT_LT(n, kMaxSweep) << "sweep did not converge";
	EXPECT_GT(n, 5) << "scenario allocates something";
}

/* Seed defect #2 checked the wrong pointer after copying the argument: every failure is ENOMEM. */
using SeedDefect = AllocFault;

TEST_F(SeedDefect, 2_FailedArgumentCopyIsENOMEMAndLeavesNoInstance)
{
	FailingAllocator a;
	HV_ASSERT_OK(install(&a));
	{
		EventLog log;
		RecordingType rt(0x8200, &log);
		SimVm vm;
		HV_ASSERT_OK(vm.create());
		HV_ASSERT_OK(rt.register_type());
		RecFnArg arg = rec_arg(1);
		hvabs_fn_desc d = rt.desc(arg);
		int k;
		for (k = 1; k < 100; k++) {
			size_t before = hvabs_alloc_count();
			a.hit = false;
			a.fail_at = a.calls.load() + k;
			int ret = hvabs_vm_function_add(nullptr, vm.vm, &d);
			if (!a.hit) {
				HV_EXPECT_OK(ret);
				break;
			}
			EXPECT_EQ(HVABS_ENOMEM, ret) << "allocation " << k << " of the add";
			EXPECT_EQ(before, hvabs_alloc_count());
			EXPECT_EQ(1u, hvabs_vm_refcount(vm.vm));
			EXPECT_EQ(0, rt.live.load());
		}
		EXPECT_GT(k, 1) << "adding a function allocates its argument copy";
		a.fail_at = 0;
		vm.destroy();
		HV_EXPECT_OK(rt.unregister_type());
	}
	EXPECT_EQ(0u, hvabs_alloc_count());
}
