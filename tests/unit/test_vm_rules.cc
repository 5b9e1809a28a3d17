/* SPDX-License-Identifier: MIT */
/* tests/unit/test_vm_rules.cc: rules of VM options, memory regions, boot setup and start. */
#include "unit.h"

#include <cstdlib>

using namespace hvt;

namespace {

constexpr uint64_t kFree = 0x40000000; /* unused guest-physical space */

hvabs_boot_config boot_cfg(uint64_t blob_addr = 0, uint64_t blob_size = 0)
{
	hvabs_boot_config b{};

	b.version = HVABS_BOOT_CONFIG_VERSION;
	b.entry = kRamBase;
	b.blob_addr = blob_addr;
	b.blob_size = blob_size;
	b.cpu_mode = HVABS_CPU_MODE_DEFAULT;
	return b;
}

} /* namespace */

/* ---- VM options ---- */

class OptionRules : public RuleTest {
protected:
	/* A valid create/destroy right after the rejected one. */
	void expect_create_works()
	{
		hvabs_vm *vm2 = nullptr;
		hvabs_vm_options o = vm_options("sim");
		HV_ASSERT_OK(hvabs_vm_create(&vm2, &o));
		hvabs_vm_destroy(vm2);
	}
	hvabs_vm *out_ = nullptr;
};

TEST_F(OptionRules, OptionsVersionZeroIsEVERSION)
{
	hvabs_vm_options o = vm_options("sim");
	o.version = 0;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_create(&out_, &o));
	expect_create_works();
}

TEST_F(OptionRules, OptionsFutureVersionIsEVERSION)
{
	hvabs_vm_options o = vm_options("sim");
	o.version = HVABS_VM_OPTIONS_VERSION + 1;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_create(&out_, &o));
	expect_create_works();
}

TEST_F(OptionRules, OptionsInitWithUnsupportedVersionIsEVERSION)
{
	hvabs_vm_options o{};
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_options_init(&o, 0));
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_options_init(&o, HVABS_VM_OPTIONS_VERSION + 1));
	HV_EXPECT_OK(hvabs_vm_options_init(&o, HVABS_VM_OPTIONS_VERSION));
}

TEST_F(OptionRules, StaticInitializerEqualsOptionsInit)
{
	hvabs_vm_options a = HVABS_VM_OPTIONS_INIT, b{};
	HV_ASSERT_OK(hvabs_vm_options_init(&b, HVABS_VM_OPTIONS_VERSION));
	EXPECT_EQ(a.version, b.version);
	EXPECT_EQ(a.backend, b.backend);
	EXPECT_EQ(a.arch, b.arch);
	EXPECT_EQ(a.nr_vcpus, b.nr_vcpus);
	EXPECT_EQ(a.flags, b.flags);
}

TEST_F(OptionRules, UnknownVmFlagIsEINVAL)
{
	hvabs_vm_options o = vm_options("sim");
	o.flags = 1u << 31;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_create(&out_, &o));
	expect_create_works();
}

TEST_F(OptionRules, UnknownArchValueIsEINVAL)
{
	hvabs_vm_options o = vm_options("sim");
	o.arch = (enum hvabs_arch)99;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_create(&out_, &o));
	expect_create_works();
}

TEST_F(OptionRules, ArchTheBackendLacksIsENOTSUP)
{
	hvabs_vm_options o = vm_options("sim");
	if (!(caps_.archs & (1u << HVABS_ARCH_ARM64)))
		o.arch = HVABS_ARCH_ARM64;
	else if (!(caps_.archs & (1u << HVABS_ARCH_X86_64)))
		o.arch = HVABS_ARCH_X86_64;
	else
		GTEST_SKIP() << "sim supports every architecture";
	EXPECT_REJECTED(HVABS_ENOTSUP, hvabs_vm_create(&out_, &o));
	expect_create_works();
}

TEST_F(OptionRules, UnknownBackendConfigKeyIsEINVAL)
{
	hvabs_vm_options o = vm_options("sim");
	o.backend_config = "bogus=1";
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_create(&out_, &o));
	expect_create_works();
}

/* ---- memory regions ---- */

class MemRules : public RuleTest {
protected:
	void expect_add_works(uint32_t label = 50)
	{
		hvabs_mem_region r = region(label, kFree + 0x100000, 0x1000);
		HV_EXPECT_OK(hvabs_vm_mem_add(vm(), &r));
		EXPECT_NE(nullptr, hvabs_vm_mem_host(vm(), kFree + 0x100000, 8));
	}
};

TEST_F(MemRules, RegionVersionZeroIsEVERSION)
{
	hvabs_mem_region r = region(1, kFree, 0x1000);
	r.version = 0;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, RegionFutureVersionIsEVERSION)
{
	hvabs_mem_region r = region(1, kFree, 0x1000);
	r.version = HVABS_MEM_REGION_VERSION + 1;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, MisalignedGuestAddressIsEINVAL)
{
	hvabs_mem_region r = region(1, kFree + 0x800, 0x1000);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, MisalignedSizeIsEINVAL)
{
	hvabs_mem_region r = region(1, kFree, 0x1800);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, MisalignedHostAddressIsEINVAL)
{
	void *host = std::aligned_alloc(HVABS_PAGE_SIZE, 0x3000);
	hvabs_mem_region r = region(1, kFree, 0x1000, HVABS_MEM_RWX,
				    static_cast<char *>(host) + 0x10);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
	sim_.destroy();
	std::free(host);
}

TEST_F(MemRules, ZeroSizeIsEINVAL)
{
	hvabs_mem_region r = region(1, kFree, 0);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, NoAccessBitIsEINVAL)
{
	hvabs_mem_region r = region(1, kFree, 0x1000, 0);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, LentWithoutAccessBitIsEINVAL)
{
	hvabs_mem_region r = region(1, kFree, 0x1000, HVABS_MEM_LENT);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, UnknownFlagBitIsEINVAL)
{
	hvabs_mem_region r = region(1, kFree, 0x1000, HVABS_MEM_READ | (1u << 9));
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, FlagBackendCannotHonourIsENOTSUP)
{
	uint32_t missing = HVABS_MEM_RWX | HVABS_MEM_LENT;
	missing &= ~caps_.mem_flags;
	if (!missing)
		GTEST_SKIP() << "sim honours every memory flag";
	uint32_t bit = missing & (0u - missing);
	hvabs_mem_region r = region(1, kFree, 0x1000, HVABS_MEM_READ | bit);
	EXPECT_REJECTED(HVABS_ENOTSUP, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, GuestAddressOverflowIsEINVAL)
{
	hvabs_mem_region r = region(1, 0xfffffffffffff000ull, 0x2000);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_mem_add(vm(), &r));
	expect_add_works();
}

TEST_F(MemRules, DuplicateLabelIsEEXIST)
{
	hvabs_mem_region r = region(kRamLabel, kFree, 0x1000);
	EXPECT_REJECTED(HVABS_EEXIST, hvabs_vm_mem_add(vm(), &r));
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm(), kFree, 1));
	expect_add_works();
}

TEST_F(MemRules, OverlappingRangeIsEEXIST)
{
	hvabs_mem_region r = region(1, kRamBase + kRamSize - 0x1000, 0x2000);
	EXPECT_REJECTED(HVABS_EEXIST, hvabs_vm_mem_add(vm(), &r));
	expect_add_works(1);
}

TEST_F(MemRules, RegionAddAfterStartIsESTATE)
{
	HV_ASSERT_OK(sim_.start());
	hvabs_mem_region r = region(1, kFree, 0x1000);
	EXPECT_REJECTED(HVABS_ESTATE, hvabs_vm_mem_add(vm(), &r));
	EXPECT_NE(nullptr, hvabs_vm_mem_host(vm(), kRamBase, 8)) << "existing RAM unaffected";
}

TEST_F(MemRules, RemoveOfUnknownLabelIsENOTFOUND)
{
	if (!(caps_.features & HVABS_FEAT_MEM_REMOVE))
		GTEST_SKIP() << "sim cannot remove regions";
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_vm_mem_remove(vm(), 12345));
	HV_EXPECT_OK(hvabs_vm_mem_remove(vm(), kRamLabel));
}

/* ---- boot setup and start ---- */

class BootRules : public RuleTest {
protected:
	void expect_boot_and_start_work()
	{
		hvabs_boot_config b = boot_cfg(kRamBase + 0x1000, 0x100);
		HV_EXPECT_OK(hvabs_vm_boot_set(vm(), &b));
		HV_EXPECT_OK(sim_.start());
	}
};

TEST_F(BootRules, BootVersionZeroIsEVERSION)
{
	hvabs_boot_config b = boot_cfg();
	b.version = 0;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_boot_set(vm(), &b));
	expect_boot_and_start_work();
}

TEST_F(BootRules, BootFutureVersionIsEVERSION)
{
	hvabs_boot_config b = boot_cfg();
	b.version = HVABS_BOOT_CONFIG_VERSION + 1;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_boot_set(vm(), &b));
	expect_boot_and_start_work();
}

TEST_F(BootRules, UnknownCpuModeIsEINVAL)
{
	hvabs_boot_config b = boot_cfg();
	b.cpu_mode = 99;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_boot_set(vm(), &b));
	expect_boot_and_start_work();
}

TEST_F(BootRules, BlobRangeOverflowIsEINVAL)
{
	hvabs_boot_config b = boot_cfg(0xfffffffffffff000ull, 0x2000);
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_boot_set(vm(), &b));
	expect_boot_and_start_work();
}

TEST_F(BootRules, MisalignedScratchAreaIsEINVAL)
{
	hvabs_boot_config b = boot_cfg();
	b.scratch_addr = kRamBase + 0x10010;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_boot_set(vm(), &b));
	expect_boot_and_start_work();
}

TEST_F(BootRules, ModeOfAnotherArchIsENOTSUP)
{
	if (!(caps_.archs & (1u << HVABS_ARCH_X86_64)))
		GTEST_SKIP() << "sim has no x86-64 guests";
	sim_.destroy();
	hvabs_vm_options o = vm_options("sim");
	o.arch = HVABS_ARCH_X86_64;
	HV_ASSERT_OK(sim_.create(&o));
	hvabs_boot_config b = boot_cfg();
	b.cpu_mode = HVABS_CPU_MODE_ARM64_EL1;
	EXPECT_REJECTED(HVABS_ENOTSUP, hvabs_vm_boot_set(vm(), &b));
	b.cpu_mode = HVABS_CPU_MODE_X86_REAL;
	HV_EXPECT_OK(hvabs_vm_boot_set(vm(), &b));
}

TEST_F(BootRules, LaterBootSetReplacesEarlierOne)
{
	hvabs_boot_config bad = boot_cfg(kFree, 0x1000);
	HV_ASSERT_OK(hvabs_vm_boot_set(vm(), &bad));
	expect_boot_and_start_work();
}

TEST_F(BootRules, BootSetAfterStartIsESTATE)
{
	HV_ASSERT_OK(sim_.start());
	hvabs_boot_config b = boot_cfg();
	EXPECT_REJECTED(HVABS_ESTATE, hvabs_vm_boot_set(vm(), &b));
	HV_EXPECT_OK(sim_.start()) << "start of a RUNNING VM is 0";
}

TEST_F(BootRules, BlobOutsideMemoryFailsStartWithEINVAL)
{
	hvabs_boot_config b = boot_cfg(kFree, 0x1000);
	HV_ASSERT_OK(hvabs_vm_boot_set(vm(), &b));
	HV_EXPECT_CODE(HVABS_EINVAL, sim_.start());
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm(), &st);
	EXPECT_EQ(HVABS_VM_INIT_FAILED, st.state);
	EXPECT_REJECTED(HVABS_ESTATE, sim_.start());
}

TEST_F(BootRules, StartWithoutMemoryIsEINVAL)
{
	hvabs_vm *bare = nullptr;
	hvabs_vm_options o = vm_options("sim");
	HV_ASSERT_OK(hvabs_vm_create(&bare, &o));
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(bare));
	hvabs_vm_destroy(bare);
	expect_boot_and_start_work();
}
