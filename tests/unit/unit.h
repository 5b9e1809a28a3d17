/* SPDX-License-Identifier: MIT */
/* tests/unit/unit.h: fixture for one-rule-per-test validation tests on a sim VM. */
#ifndef HVABS_TESTS_UNIT_UNIT_H
#define HVABS_TESTS_UNIT_UNIT_H

#include "hvabs_test.h"
#include "sim_vm.h"
#include "test_fn.h"

/*
 * Each test checks one rule: the bad call returns the documented code and
 * allocates nothing (EXPECT_REJECTED), a valid call afterwards succeeds, and
 * after TearDown destroyed the VM hvabs_alloc_count() is back at baseline.
 */
class RuleTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		SKIP_UNLESS_SIM();
		unsetenv("HVABS_FUNCTION_PATH");
		base_ = hvabs_alloc_count();
		ASSERT_TRUE(hvt::backend_caps("sim", &caps_));
		HV_ASSERT_OK(sim_.create());
	}

	void TearDown() override
	{
		sim_.destroy();
		pool_.unregister_types();
		EXPECT_EQ(base_, hvabs_alloc_count()) << "leak after destroy";
	}

	hvabs_vm *vm() { return sim_.vm; }

	hvt::EventLog log_;
	hvt::Pool pool_; /* outlives sim_ */
	hvt::SimVm sim_;
	hvabs_caps caps_{};
	size_t base_ = 0;
};

/* @expr must fail with @code without allocating anything. */
#define EXPECT_REJECTED(want, expr)                                                   \
	do {                                                                          \
		size_t hvt_allocs_ = hvabs_alloc_count();                             \
		HV_EXPECT_CODE(want, expr);                                           \
		EXPECT_EQ(hvt_allocs_, hvabs_alloc_count()) << #expr " allocated";     \
		EXPECT_EQ(want, hvabs_error_last()->code) << "error detail code";    \
	} while (0)

#endif
