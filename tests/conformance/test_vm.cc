/* SPDX-License-Identifier: MIT */
/* tests/conformance/test_vm.cc: conformance - VM lifecycle, options, memory, boot and state machine. */
#include "conformance.h"

#include <cstdlib>
#include <cstring>

using namespace hvt;

namespace {

hvabs_boot_config boot(uint64_t blob_addr, uint64_t blob_size)
{
	hvabs_boot_config b{};

	b.version = HVABS_BOOT_CONFIG_VERSION;
	b.entry = 0x10000; /* below 1 MiB: x86 real mode can reach it */
	b.blob_addr = blob_addr;
	b.blob_size = blob_size;
	b.cpu_mode = HVABS_CPU_MODE_DEFAULT;
	return b;
}

enum hvabs_vm_state state_of(hvabs_vm *vm)
{
	struct hvabs_vm_status st {};

	hvabs_vm_status_get(vm, &st);
	return st.state;
}

} /* namespace */

TEST_P(BackendTest, CapsReportVcpuSupportAndRejectBadVersions)
{
	EXPECT_NE(0u, caps_.fn_types & (1u << HVABS_FN_VCPU));
	EXPECT_GE(caps_.max_vcpus, 1u);

	hvabs_caps c{};
	c.version = 0;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_backend_caps(backend(), &c));
	c.version = HVABS_CAPS_VERSION + 1;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_backend_caps(backend(), &c));
}

TEST_P(BackendTest, VmCapsAreNoWiderThanBackendCaps)
{
	hvabs_vm *vm;
	hvabs_caps c{};

	HV_ASSERT_OK(create_vm(&vm));
	c.version = HVABS_CAPS_VERSION;
	HV_ASSERT_OK(hvabs_vm_caps(vm, &c));
	EXPECT_EQ(0u, c.fn_types & ~caps_.fn_types);
	EXPECT_EQ(0u, c.features & ~caps_.features);
	EXPECT_EQ(0u, c.io_spaces & ~caps_.io_spaces);
	EXPECT_LE(c.max_vcpus, caps_.max_vcpus);
	c.version = 0;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_vm_caps(vm, &c));
}

TEST_P(BackendTest, CreatedVmIsInLoadWithOneReferenceAndNamesItsBackend)
{
	hvabs_vm *vm;

	HV_ASSERT_OK(create_vm(&vm));
	EXPECT_STREQ(backend(), hvabs_vm_backend_name(vm));
	EXPECT_EQ(HVABS_VM_LOAD, state_of(vm));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm));
	destroy_vm(vm);
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(BackendTest, OptionsVersionZeroAndNewerAreEVERSION)
{
	hvabs_vm *vm = nullptr;
	hvabs_vm_options o = vm_options(backend());

	o.version = 0;
	HV_EXPECT_CODE(HVABS_EVERSION, create_vm(&vm, &o));
	o.version = HVABS_VM_OPTIONS_VERSION + 1;
	HV_EXPECT_CODE(HVABS_EVERSION, create_vm(&vm, &o));
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_vm_options_init(&o, 0));
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_vm_options_init(&o, HVABS_VM_OPTIONS_VERSION + 1));
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
	o = vm_options(backend());
	HV_EXPECT_OK(create_vm(&vm, &o));
}

TEST_P(BackendTest, OptionsInitFillsDefaults)
{
	hvabs_vm_options o;

	std::memset(&o, 0xa5, sizeof(o));
	HV_ASSERT_OK(hvabs_vm_options_init(&o, HVABS_VM_OPTIONS_VERSION));
	EXPECT_EQ(HVABS_VM_OPTIONS_VERSION, o.version);
	EXPECT_EQ(nullptr, o.backend);
	EXPECT_EQ(HVABS_ARCH_NONE, o.arch);
	EXPECT_EQ(0u, o.nr_vcpus);
	EXPECT_EQ(0u, o.flags);
	EXPECT_EQ(nullptr, o.backend_config);
}

TEST_P(BackendTest, UnknownVmFlagIsEINVAL)
{
	hvabs_vm *vm = nullptr;
	hvabs_vm_options o = vm_options(backend());

	o.flags = 0x80000000u;
	HV_EXPECT_CODE(HVABS_EINVAL, create_vm(&vm, &o));
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(BackendTest, UnknownBackendConfigKeyIsEINVAL)
{
	hvabs_vm *vm = nullptr;
	hvabs_vm_options o = vm_options(backend());

	o.backend_config = "no-such-key=1";
	HV_EXPECT_CODE(HVABS_EINVAL, create_vm(&vm, &o));
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(BackendTest, LibraryAllocatedRegionIsZeroedAndMappedByGuestAddress)
{
	hvabs_vm *vm;

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm, 1, 0x200000, 0x10000));
	uint8_t *p = static_cast<uint8_t *>(hvabs_vm_mem_host(vm, 0x200000, 0x10000));
	ASSERT_NE(nullptr, p);
	for (size_t i = 0; i < 0x10000; i += 512)
		ASSERT_EQ(0, p[i]) << "offset " << i;
	EXPECT_EQ(p + 0x1234, hvabs_vm_mem_host(vm, 0x201234, 4));
	EXPECT_EQ(p + 0xffff, hvabs_vm_mem_host(vm, 0x20ffff, 1));
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, 0x20fff8, 16)) << "range leaving the region";
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, 0x1ffffc, 8)) << "range entering the region";
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, 0x300000, 4)) << "unmapped address";
	p[0] = 0x5a; /* writable host memory */
}

TEST_P(BackendTest, CallerHostMemoryBacksTheRegion)
{
	hvabs_vm *vm;
	void *host = std::aligned_alloc(HVABS_PAGE_SIZE, 0x4000);
	/* Freed however the test ends (the VM is destroyed before, or never got the region). */
	std::unique_ptr<void, void (*)(void *)> hold(host, std::free);

	ASSERT_NE(nullptr, host);
	std::memset(host, 0x3c, 0x4000);
	HV_ASSERT_OK(create_vm(&vm));
	hvabs_mem_region r = region(2, 0x400000, 0x4000, HVABS_MEM_RWX, host);
	HV_ASSERT_OK(hvabs_vm_mem_add(vm, &r));
	EXPECT_EQ(static_cast<uint8_t *>(host) + 0x10, hvabs_vm_mem_host(vm, 0x400010, 4));
	destroy_vm(vm);
	EXPECT_EQ(0x3c, static_cast<uint8_t *>(host)[0]) << "caller memory must survive the VM";
}

TEST_P(BackendTest, RangeSpanningTwoAdjacentRegionsHasNoHostPointer)
{
	hvabs_vm *vm;

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm, 1, 0x100000, 0x1000));
	HV_ASSERT_OK(add_ram(vm, 2, 0x101000, 0x1000));
	EXPECT_NE(nullptr, hvabs_vm_mem_host(vm, 0x100ff8, 8));
	EXPECT_NE(nullptr, hvabs_vm_mem_host(vm, 0x101000, 8));
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, 0x100ffc, 8));
}

TEST_P(BackendTest, OverlappingRangeAndDuplicateLabelAreEEXIST)
{
	hvabs_vm *vm;

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm, 1, 0x100000, 0x4000));
	HV_EXPECT_CODE(HVABS_EEXIST, add_ram(vm, 2, 0x103000, 0x2000)) << "tail overlap";
	HV_EXPECT_CODE(HVABS_EEXIST, add_ram(vm, 2, 0x0ff000, 0x2000)) << "head overlap";
	HV_EXPECT_CODE(HVABS_EEXIST, add_ram(vm, 2, 0x101000, 0x1000)) << "contained";
	HV_EXPECT_CODE(HVABS_EEXIST, add_ram(vm, 2, 0x0f0000, 0x20000)) << "containing";
	HV_EXPECT_CODE(HVABS_EEXIST, add_ram(vm, 1, 0x200000, 0x1000)) << "duplicate label";
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, 0x200000, 1));
	HV_EXPECT_OK(add_ram(vm, 2, 0x104000, 0x1000)) << "adjacent region";
}

/* Decided by the VM's caps: one Gunyah ABI removes regions, the other cannot. */
TEST_P(BackendTest, MemRemoveReleasesLabelAndRangeOrIsENOTSUP)
{
	hvabs_vm *vm;
	hvabs_caps vc{};

	HV_ASSERT_OK(create_vm(&vm));
	vc.version = HVABS_CAPS_VERSION;
	HV_ASSERT_OK(hvabs_vm_caps(vm, &vc));
	HV_ASSERT_OK(add_ram(vm, 1, 0x100000, 0x4000));
	if (!(vc.features & HVABS_FEAT_MEM_REMOVE)) {
		HV_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vm_mem_remove(vm, 1));
		EXPECT_NE(nullptr, hvabs_vm_mem_host(vm, 0x100000, 1));
		return;
	}
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_mem_remove(vm, 9));
	HV_ASSERT_OK(hvabs_vm_mem_remove(vm, 1));
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm, 0x100000, 1));
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_mem_remove(vm, 1));
	HV_EXPECT_OK(add_ram(vm, 1, 0x100000, 0x4000)) << "label and range are free again";
}

TEST_P(BackendTest, StartWithoutMemoryIsEINVALAndLeavesInitFailed)
{
	hvabs_vm *vm;

	HV_ASSERT_OK(create_vm(&vm));
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm));
	EXPECT_EQ(HVABS_VM_INIT_FAILED, state_of(vm));
}

TEST_P(BackendTest, BlobOutsideRegionsFailsStartWithEINVALAndVmCanOnlyBeDestroyed)
{
	hvabs_vm *vm;
	hvabs_boot_config b = boot(0x800000, 0x1000);

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm, 1, 0x100000, 0x10000));
	HV_ASSERT_OK(hvabs_vm_boot_set(vm, &b)) << "ranges are checked at start, not here";
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm));
	EXPECT_NE(0, hvabs_error_last()->message[0]);
	EXPECT_EQ(HVABS_VM_INIT_FAILED, state_of(vm));

	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_start(vm));
	HV_EXPECT_CODE(HVABS_ESTATE, add_ram(vm, 2, 0x200000, 0x1000));
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_boot_set(vm, &b));
	hvabs_vcpu *vcpu = nullptr;
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_vcpu_add(&vcpu, vm, 0));
	destroy_vm(vm);
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(BackendTest, BlobStraddlingTwoRegionsFailsStart)
{
	hvabs_vm *vm;
	hvabs_boot_config b = boot(0x100800, 0x1000);

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm, 1, 0x100000, 0x1000));
	HV_ASSERT_OK(add_ram(vm, 2, 0x101000, 0x1000));
	HV_ASSERT_OK(hvabs_vm_boot_set(vm, &b));
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm));
	EXPECT_EQ(HVABS_VM_INIT_FAILED, state_of(vm));
}

TEST_P(BackendTest, BlobInsideRegionStartsAndSecondStartReturnsZero)
{
	hvabs_vm *vm;
	hvabs_boot_config b = boot(0x1f000, 0x1000);

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm, 1, 0x10000, 0x10000));
	HV_ASSERT_OK(hvabs_vm_boot_set(vm, &b));
	HV_ASSERT_OK(hvabs_vm_start(vm));
	EXPECT_EQ(HVABS_VM_RUNNING, state_of(vm));
	HV_EXPECT_OK(hvabs_vm_start(vm));
	EXPECT_EQ(HVABS_VM_RUNNING, state_of(vm));
}

TEST_P(BackendTest, LoadOnlyCallsAfterStartAreESTATE)
{
	hvabs_vm *vm;
	hvabs_boot_config b = boot(0, 0);

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm));
	HV_ASSERT_OK(hvabs_vm_start(vm));
	HV_EXPECT_CODE(HVABS_ESTATE, add_ram(vm, 2, 0x400000, 0x1000));
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_boot_set(vm, &b));
	if (has_feat(HVABS_FEAT_MEM_REMOVE)) {
		HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_mem_remove(vm, 1));
	}
	EXPECT_NE(nullptr, hvabs_vm_mem_host(vm, 0x100000, 8)) << "memory stays mapped";
	EXPECT_EQ(HVABS_VM_RUNNING, state_of(vm));
}

TEST_P(BackendTest, StateNamesAreDistinctAndNonEmpty)
{
	const hvabs_vm_state all[] = { HVABS_VM_LOAD, HVABS_VM_READY, HVABS_VM_RUNNING,
				       HVABS_VM_EXITED, HVABS_VM_CRASHED, HVABS_VM_INIT_FAILED,
				       HVABS_VM_DESTROYED };

	EXPECT_STREQ("LOAD", hvabs_vm_state_name(HVABS_VM_LOAD));
	EXPECT_STREQ("RUNNING", hvabs_vm_state_name(HVABS_VM_RUNNING));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ASSERT_NE(nullptr, hvabs_vm_state_name(all[i]));
		EXPECT_NE(0, hvabs_vm_state_name(all[i])[0]);
		for (size_t j = 0; j < i; j++)
			EXPECT_STRNE(hvabs_vm_state_name(all[i]), hvabs_vm_state_name(all[j]));
	}
}

TEST_P(BackendTest, EachFunctionInstanceHoldsOneVmReference)
{
	RecordingType &rt = pool_.type(0x5100, &log_);
	hvabs_vm *vm;
	hvabs_vcpu *vcpu;
	hvabs_function *fn;
	RecFnArg a = rec_arg(1);

	REQUIRE(has_feat(HVABS_FEAT_USER_FUNCTIONS), "no user function types");
	HV_ASSERT_OK(rt.register_type());
	HV_ASSERT_OK(create_vm(&vm));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm));
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&vcpu, vm, 0));
	EXPECT_EQ(2u, hvabs_vm_refcount(vm));
	hvabs_fn_desc d = rt.desc(a);
	HV_ASSERT_OK(hvabs_vm_function_add(&fn, vm, &d));
	EXPECT_EQ(3u, hvabs_vm_refcount(vm));
	hvabs_vm_get(vm);
	EXPECT_EQ(4u, hvabs_vm_refcount(vm));
	hvabs_vm_put(vm);
	EXPECT_EQ(3u, hvabs_vm_refcount(vm));
	HV_ASSERT_OK(hvabs_function_remove(fn));
	EXPECT_EQ(2u, hvabs_vm_refcount(vm));
	hvabs_fn_vcpu_arg va = { 0 };
	hvabs_fn_desc vd = { HVABS_FN_VCPU, sizeof(va), &va };
	HV_ASSERT_OK(hvabs_vm_function_remove(vm, &vd));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm));
	destroy_vm(vm);
	HV_EXPECT_OK(rt.unregister_type());
}

TEST_P(BackendTest, HeldReferenceKeepsDestroyedVmReadableUntilLastPut)
{
	hvabs_vm *vm;
	hvabs_io_handler *h = nullptr;
	hvabs_function *fn = nullptr;
	EventFd &efd = pool_.eventfd();

	HV_ASSERT_OK(create_vm(&vm));
	HV_ASSERT_OK(add_ram(vm));
	hvabs_vm_get(vm);
	destroy_vm(vm);
	EXPECT_EQ(HVABS_VM_DESTROYED, state_of(vm));
	EXPECT_STREQ(backend(), hvabs_vm_backend_name(vm));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm));
	EXPECT_EQ(0u, hvabs_vm_io_handler_count(vm));
	hvabs_io_desc d = io_desc(HVABS_SPACE_MMIO, kMmioBase, 4, 4, nullptr,
				  [](hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *) { return 0; });
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_io_handler_add(&h, vm, &d));
	if (has_fn(HVABS_FN_IRQFD)) {
		HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_irqfd_add(&fn, vm, efd.fd(), 1, 0, -1));
	}
	HV_EXPECT_CODE(HVABS_ESTATE, hvabs_vm_start(vm));
	hvabs_vm_put(vm);
	EXPECT_EQ(alloc_base_, hvabs_alloc_count()) << "last put frees the VM";
}

TEST_P(BackendTest, LastPutOfUndestroyedVmDestroysIt)
{
	hvabs_vm *vm;
	LoggedTicket &t = pool_.ticket(&log_, 4, nullptr);

	HV_ASSERT_OK(create_vm(&vm));
	vms_.clear(); /* the last put below owns it */
	t.vm = vm;
	HV_ASSERT_OK(add_ram(vm));
	hvabs_ticket *tk;
	hvabs_ticket_desc td = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(hvabs_vm_ticket_add(&tk, vm, &td));
	HV_ASSERT_OK(hvabs_vm_start(vm));
	hvabs_vm_get(vm);
	EXPECT_EQ(2u, hvabs_vm_refcount(vm));
	hvabs_vm_put(vm);
	EXPECT_EQ(0, t.unpopulates.load()) << "a put that is not the last one tears nothing down";
	hvabs_vm_put(vm);
	EXPECT_EQ(t.populates.load(), t.unpopulates.load());
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}
