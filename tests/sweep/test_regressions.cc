/* SPDX-License-Identifier: MIT */
/* tests/sweep/test_regressions.cc: regression tests for what the fault-injection sweep found in core and the kvm backend. */
#include "regress_common.h"

#include <string>

using SweepFinding = hvt::regress::AllocTest;

namespace {

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

} /* namespace */

#ifdef HVT_REGRESS_SIM
/*
 * Sweep finding (core/vm.c): hvabs_vm_mem_add() grew the region array
 * after the backend had mapped the region, and on ENOMEM undid the mapping
 * with the backend's mem_remove - which a backend that cannot remove
 * regions (gunyah v11+) refuses, leaving the region in the hypervisor over
 * host memory the library then unmapped, and the error detail saying
 * ENOTSUP under an ENOMEM return. Now the room is made first: an
 * allocation failure never reaches the backend. sim counts its mem_remove
 * calls, which shows whether an undo happened.
 */
TEST_F(SweepFinding, MemAddAllocationFailureNeverNeedsTheBackendToUndo)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	hvabs_vm *vm = nullptr;
	int failures = 0;

	o.backend = "sim";
	ASSERT_EQ(0, hvabs_vm_create(&vm, &o));
	for (uint32_t label = 1; label < 6; label++) {
		for (long k = 1; k < 50; k++) {
			hvabs_mem_region r = ram(label, 0x100000ull * label);
			uint64_t removes = hvabs_sim_op_count("mem_remove");
			alloc_.fail_in(k);
			int ret = hvabs_vm_mem_add(vm, &r);
			bool hit = alloc_.failed.load() > 0;
			alloc_.reset();
			if (!hit) {
				EXPECT_EQ(0, ret) << "label " << label;
				break;
			}
			failures++;
			EXPECT_EQ(HVABS_ENOMEM, ret) << "label " << label << ", allocation " << k;
			EXPECT_EQ(ret, hvabs_error_last()->code)
				<< "detail of the failure, not of a rollback: " << hvabs_error_last()->message;
			EXPECT_EQ(removes, hvabs_sim_op_count("mem_remove"))
				<< "label " << label << ", allocation " << k << ": the backend had to undo a mapping";
			EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, r.guest_addr, 1)) << "no region after a failure";
		}
	}
	EXPECT_GT(failures, 0) << "adding a region allocates";
	hvabs_vm_destroy(vm);
}
#endif

/*
 * Sweep finding (backends/kvm/kvm_vcpu.c): KVM cannot free a vCPU, so a
 * removed one is parked for a later add of the same id. Parking grew an
 * array at removal; when that allocation failed the fd was closed, and the
 * id stayed taken in KVM until the VM died (adding it again: EEXIST). Now
 * the slot is reserved when the vCPU is created: removal allocates nothing.
 */
TEST_F(SweepFinding, RemovedKvmVcpuIdIsFreeAgainWithoutMemory)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	hvabs_vm *vm = nullptr;
	hvabs_function *fn = nullptr;
	hvabs_vcpu *vcpu = nullptr;

	if (hvabs_backend_probe("kvm") != 0)
		GTEST_SKIP() << "kvm unusable: " << hvabs_error_last()->message;
	o.backend = "kvm";
	ASSERT_EQ(0, hvabs_vm_create(&vm, &o));
	for (int round = 0; round < 3; round++) {
		hvabs_fn_vcpu_arg a = { 1 };
		hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };
		ASSERT_EQ(0, hvabs_vm_function_add(&fn, vm, &d)) << "round " << round << ": "
								 << hvabs_error_last()->message;
		long before = alloc_.calls.load();
		alloc_.fail_all = true;
		EXPECT_EQ(0, hvabs_function_remove(fn));
		alloc_.reset();
		EXPECT_EQ(0, alloc_.failed.load()) << "removing a vCPU allocates nothing";
		EXPECT_EQ(before, alloc_.calls.load());
	}
	ASSERT_EQ(0, hvabs_vm_vcpu_add(&vcpu, vm, 1)) << hvabs_error_last()->message;
	EXPECT_EQ(0, hvabs_vm_vcpu_add(nullptr, vm, 2)) << hvabs_error_last()->message;
	hvabs_vm_destroy(vm);
}
