/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_emu_faults.cc: kernel errnos injected by the emulator, as the gunyah backend reports them. */
#include "emu_fixture.h"

#include <cerrno>

namespace gy {
namespace {

using FaultTest = EmuTest;

void expect_detail(int sys_errno)
{
	EXPECT_EQ(sys_errno, hvabs_error_last()->sys_errno);
	EXPECT_STREQ("gunyah", hvabs_error_last()->backend);
}

TEST_F(FaultTest, OpenAndCreateVm)
{
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("open", 1, EACCES));
	GY_EXPECT_CODE(HVABS_ENODEV, create());
	expect_detail(EACCES);
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("create_vm", 1, ENOMEM));
	GY_EXPECT_CODE(HVABS_ENOMEM, create());
	expect_detail(ENOMEM);
	EXPECT_EQ(nullptr, vm_);
	create_ok();
}

TEST_F(FaultTest, MemoryRegion)
{
	create_ok();
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("set_user_mem_region", 1, EPERM));
	hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 0, HVABS_MEM_RWX, kRamBase, kRamSize,
			       nullptr };
	GY_EXPECT_CODE(HVABS_EPERM, hvabs_vm_mem_add(vm_, &r));
	expect_detail(EPERM);
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm_, kRamBase, 1)) << "core did not keep it";
	GY_EXPECT_CODE(0, hvabs_vm_mem_add(vm_, &r)) << "the VM stays usable";
}

TEST_F(FaultTest, VcpuAddAndMmapSizeLeaveNothingBehind)
{
	hvabs_vcpu *v = nullptr;

	create_ok();
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("add_function", 1, EBUSY));
	GY_EXPECT_CODE(HVABS_EBUSY, hvabs_vm_vcpu_add(&v, vm_, 0));
	expect_detail(EBUSY);
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("vcpu_mmap_size", 1, ENOMEM));
	GY_EXPECT_CODE(HVABS_ENOMEM, hvabs_vm_vcpu_add(&v, vm_, 0));
	expect_detail(ENOMEM);
	struct hvabs_gunyah_emu_stats s = stats();
	EXPECT_EQ(0u, s.functions) << "the vCPU function was removed again";
	EXPECT_EQ(0u, s.vcpus) << "and its fd closed";
	GY_EXPECT_CODE(0, hvabs_vm_vcpu_add(&v, vm_, 0));
}

TEST_F(FaultTest, IrqfdAssignAtStartFailsTheStart)
{
	EventFd e;

	create_ok();
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 4, 0, -1));
	/* The vCPU was added already; the next ADD_FUNCTION is the irqfd's, at start. */
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("add_function", 1, ENOSPC));
	GY_EXPECT_CODE(HVABS_ENOMEM, hvabs_vm_start(vm_));
	expect_detail(ENOSPC);
	struct hvabs_vm_status st;
	hvabs_vm_status_get(vm_, &st);
	EXPECT_EQ(HVABS_VM_INIT_FAILED, st.state);
}

TEST_F(FaultTest, DtbConfigAndStart)
{
	create_ok();
	add_ram();
	hvabs_vcpu *v = add_vcpu(0);
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("set_dtb_config", 1, EINVAL));
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm_));
	expect_detail(EINVAL);
	hvabs_vm_destroy(vm_);
	vm_ = nullptr;

	create_ok();
	add_ram();
	v = add_vcpu(0);
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("start", 1, EPERM));
	GY_EXPECT_CODE(HVABS_EPERM, hvabs_vm_start(vm_));
	expect_detail(EPERM);
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_start(vm_)) << "INIT_FAILED is final";
	const hvabs_exit &e = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason);
	EXPECT_EQ(HVABS_STATUS_LOAD_FAILED, e.status.status);
}

TEST_F(FaultTest, RunErrorLeavesTheVcpuUsable)
{
	create_ok();
	add_ram();
	guest(0, [](hvabs_gunyah_emu_guest *g) { hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 2, 3); });
	hvabs_vcpu *v = add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("vcpu_run", 1, EIO));
	GY_EXPECT_CODE(HVABS_EIO, hvabs_vcpu_run(v));
	expect_detail(EIO);
	GY_ASSERT_OK(hvabs_gunyah_emu_fault_set("vcpu_run", 1, ENODEV));
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(v)) << "an unbound vCPU";
	const hvabs_exit &e = run_exit(v);
	EXPECT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
}

} // namespace
} // namespace gy
