/* SPDX-License-Identifier: MIT */
/* tests/fault/test_sim_fault.cc: sim fault injection sweeps - each failing sim op is reported and cleaned up. */
#include "hvabs_test.h"
#include "scenario.h"

#include <string>
#include <vector>

using namespace hvt;

namespace {

class SimFaultSweep : public ::testing::TestWithParam<std::string> {
protected:
	void SetUp() override
	{
		SKIP_UNLESS_SIM();
		base_ = hvabs_alloc_count();
	}
	void TearDown() override { hvabs_sim_fault_clear(); }

	size_t base_ = 0;
};

/* Every operation hvabs_sim_fault_set() documents. */
const std::vector<std::string> kOps = { "vm_create", "vm_destroy",   "mem_add",
					"mem_remove", "vm_start",   "vcpu_create",
					"vcpu_run",  "irqfd_assign", "ioeventfd_assign",
					"resource_create" };

} /* namespace */

TEST_P(SimFaultSweep, EveryFailingCallOfOpReturnsItsCodeAndLeaksNothing)
{
	const char *op = GetParam().c_str();
	uint64_t before = hvabs_sim_op_count(op);
	ScenarioResult clean = run_scenario();
	ASSERT_EQ(0, clean.rc) << clean.step << ": " << describe(clean.rc);
	uint64_t calls = hvabs_sim_op_count(op) - before;
	if (calls == 0)
		GTEST_SKIP() << "the scenario never calls " << op;
	RecordProperty("calls_swept", (int)calls);

	for (uint64_t nth = 1; nth <= calls; nth++) {
		HV_ASSERT_OK(hvabs_sim_fault_set(op, (unsigned int)nth, HVABS_EIO));
		ScenarioResult r = run_scenario();
		hvabs_sim_fault_clear();
		if (GetParam() == "vm_destroy") {
			EXPECT_EQ(0, r.rc) << "destroy has no caller to report to";
		} else {
			EXPECT_EQ(HVABS_EIO, r.rc) << op << " call " << nth << " failed; " << r.step
						   << " returned " << describe_code(r.rc);
		}
		EXPECT_EQ(base_, hvabs_alloc_count()) << op << " call " << nth;
		EXPECT_EQ(0, r.live_instances);
		EXPECT_EQ(r.populates, r.unpopulates) << op << " call " << nth;
	}
	ScenarioResult after = run_scenario();
	EXPECT_EQ(0, after.rc) << "faults do not outlive their call: " << after.step;
}

INSTANTIATE_TEST_SUITE_P(Ops, SimFaultSweep, ::testing::ValuesIn(kOps),
			 [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });
