/* SPDX-License-Identifier: MIT */
/* tests/sweep/test_gunyah_regressions.cc: regression tests for what the fault-injection sweep found in the gunyah backend (through the emulator). */
#include "regress_common.h"

#include <hvabs_gunyah_emu.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

using hvt::regress::AllocTest;

namespace {

/* The ABI this process emulates: $HVABS_GUNYAH_TEST_ABI, v14 by default. */
std::string test_abi()
{
	const char *a = getenv("HVABS_GUNYAH_TEST_ABI");
	return a && *a ? a : "v14";
}

struct hvabs_gunyah_emu_stats emu_stats()
{
	struct hvabs_gunyah_emu_stats s{};

	hvabs_gunyah_emu_sync();
	hvabs_gunyah_emu_stats(&s);
	return s;
}

int create(hvabs_vm **vm)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	std::string cfg = "abi=" + test_abi();

	o.backend = "gunyah";
	o.backend_config = cfg.c_str();
	return hvabs_vm_create(vm, &o);
}

hvabs_mem_region ram(uint32_t label, uint64_t gpa)
{
	hvabs_mem_region r{};

	r.version = HVABS_MEM_REGION_VERSION;
	r.label = label;
	r.flags = HVABS_MEM_RWX;
	r.guest_addr = gpa;
	r.size = 0x10000;
	return r;
}

class GunyahSweepFinding : public AllocTest {
protected:
	void SetUp() override
	{
		hvabs_gunyah_emu_fault_clear();
		AllocTest::SetUp();
	}
	void TearDown() override
	{
		hvabs_gunyah_emu_fault_clear();
		AllocTest::TearDown();
		struct hvabs_gunyah_emu_stats s = emu_stats();
		EXPECT_EQ(0u, s.vms + s.vcpus + s.functions + s.regions) << "the emulated kernel holds leftovers";
	}
};

} /* namespace */

/*
 * Sweep finding (core/vm.c, seen on gunyah v14): when growing the region
 * array failed after GH_VM_SET_USER_MEM_REGION, the undo (mem_remove) was
 * refused - v11+ cannot delete regions - so the kernel kept the region
 * over host memory the library unmapped, its label and range stayed taken,
 * and the detail said ENOTSUP for an ENOMEM return.
 */
TEST_F(GunyahSweepFinding, MemAddAllocationFailureLeavesNoRegionInTheKernel)
{
	hvabs_vm *vm = nullptr;
	int failures = 0;

	ASSERT_EQ(0, create(&vm)) << hvabs_error_last()->message;
	for (uint32_t label = 1; label < 6; label++) {
		hvabs_mem_region r = ram(label, 0x80000000ull + 0x100000ull * label);
		for (long k = 1; k < 50; k++) {
			alloc_.fail_in(k);
			int ret = hvabs_vm_mem_add(vm, &r);
			bool hit = alloc_.failed.load() > 0;
			alloc_.reset();
			if (!hit) {
				EXPECT_EQ(0, ret) << "label " << label << ": " << hvabs_error_last()->message;
				break;
			}
			failures++;
			EXPECT_EQ(HVABS_ENOMEM, ret);
			EXPECT_EQ(ret, hvabs_error_last()->code) << hvabs_error_last()->message;
			EXPECT_EQ(label - 1, emu_stats().regions)
				<< "label " << label << ", allocation " << k << ": region left in the kernel";
		}
	}
	EXPECT_GT(failures, 0);
	EXPECT_EQ(5u, emu_stats().regions);
	hvabs_vm_destroy(vm);
}

/*
 * Sweep finding (backends/gunyah/gunyah_vm.c): a GH_VM_REMOVE_FUNCTION
 * interrupted by a signal (the driver takes its function lock
 * interruptibly; the backend's own vCPU kicks have no SA_RESTART) was
 * ignored - removal cannot report failure - and the kernel kept the
 * ioeventfd, irqfd or vCPU while the library had let it go: writes still
 * went to the eventfd and adding it again was EEXIST. It is re-issued now.
 */
TEST_F(GunyahSweepFinding, InterruptedRemoveFunctionIsReissued)
{
	hvabs_vm *vm = nullptr;
	hvabs_function *ioev = nullptr, *vcpu_fn = nullptr;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	hvabs_fn_vcpu_arg va = { 0 };
	hvabs_fn_desc vd = { HVABS_FN_VCPU, sizeof(va), &va };

	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, create(&vm)) << hvabs_error_last()->message;
	/* Functions the kernel holds from ADD on (an irqfd waits for its doorbell at start). */
	EXPECT_EQ(0, hvabs_vm_ioeventfd_add(&ioev, vm, HVABS_SPACE_MMIO, 0x10000000, 4, efd, 0, 0));
	EXPECT_EQ(0, hvabs_vm_function_add(&vcpu_fn, vm, &vd));
	uint32_t functions = emu_stats().functions;
	EXPECT_EQ(2u, functions);
	if (ioev && vcpu_fn) {
		hvabs_function *fns[] = { ioev, vcpu_fn };
		for (hvabs_function *fn : fns) {
			uint64_t removes = hvabs_gunyah_emu_op_count("remove_function");
			EXPECT_EQ(0, hvabs_gunyah_emu_fault_set("remove_function", 1, EINTR));
			EXPECT_EQ(0, hvabs_function_remove(fn));
			EXPECT_EQ(removes + 2, hvabs_gunyah_emu_op_count("remove_function"))
				<< "re-issued once";
			EXPECT_EQ(--functions, emu_stats().functions) << "the kernel let go of the function";
		}
		/* The kernel has none of them: the same ones can be added again. */
		EXPECT_EQ(0, hvabs_vm_ioeventfd_add(nullptr, vm, HVABS_SPACE_MMIO, 0x10000000, 4, efd, 0, 0))
			<< hvabs_error_last()->message;
		EXPECT_EQ(0, hvabs_vm_function_add(nullptr, vm, &vd)) << hvabs_error_last()->message;
	}
	hvabs_vm_destroy(vm);
	close(efd);
}

/* The emulator cannot be stopped: one process per ABI, started before any test. */
int main(int argc, char **argv)
{
	hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	std::string a = test_abi();

	::testing::InitGoogleTest(&argc, argv);
	if (::testing::GTEST_FLAG(list_tests))
		return RUN_ALL_TESTS();
	cfg.abi = a.c_str();
	setenv("HVABS_GUNYAH_ABI", cfg.abi, 1);
	int ret = hvabs_gunyah_emu_start(&cfg);
	if (ret) {
		fprintf(stderr, "hvabs_gunyah_emu_start(abi %s): %s\n", cfg.abi, hvabs_err_name(ret));
		return 1;
	}
	return RUN_ALL_TESTS();
}
