/* SPDX-License-Identifier: MIT */
/* tests/module/test_modules.cc: function modules - explicit load, $HVABS_FUNCTION_PATH loading, failures. */
#include "hvabs_test.h"
#include "sim_vm.h"
#include "test_fn.h"

#include <cstdlib>
#include <string>

using namespace hvt;

namespace {

constexpr uint32_t kDoorbellType = 4660;
constexpr uint64_t kBell = kMmioBase + 0x40;

/* Argument layout of examples/fn_module/doorbell.c. */
struct DoorbellArg {
	uint32_t label;
	uint32_t reserved;
	uint64_t addr;
};

/*
 * The module calls these from the test executable, which links a possibly
 * static libhvabs: referencing them keeps their objects in the link.
 */
const void *const kModuleImports[] = {
	reinterpret_cast<const void *>(&hvabs_vm_ticket_add),
	reinterpret_cast<const void *>(&hvabs_ticket_remove),
	reinterpret_cast<const void *>(&hvabs_vm_io_handler_add),
	reinterpret_cast<const void *>(&hvabs_io_handler_remove),
	reinterpret_cast<const void *>(&hvabs_function_arg),
	reinterpret_cast<const void *>(&hvabs_function_vm),
	reinterpret_cast<const void *>(&hvabs_function_set_data),
	reinterpret_cast<const void *>(&hvabs_function_data),
	reinterpret_cast<const void *>(&hvabs_function_type_register),
};

class ModuleTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		SKIP_UNLESS_SIM();
		ASSERT_NE(nullptr, kModuleImports[0]);
		unsetenv("HVABS_FUNCTION_PATH");
		/* Each test starts without the type (modules stay loaded, types need not). */
		int ret = hvabs_function_type_unregister(kDoorbellType);
		ASSERT_TRUE(ret == 0 || ret == HVABS_ENOTFOUND) << describe(ret);
		base_ = hvabs_alloc_count();
		HV_ASSERT_OK(sim_.create());
	}

	void TearDown() override
	{
		sim_.destroy();
		unsetenv("HVABS_FUNCTION_PATH");
		hvabs_function_type_unregister(kDoorbellType);
		pool_.unregister_types();
		EXPECT_EQ(base_, hvabs_alloc_count());
	}

	int add_doorbell(uint32_t label, uint64_t addr, hvabs_function **out = nullptr)
	{
		DoorbellArg a = { label, 0, addr };
		hvabs_fn_desc d = { kDoorbellType, sizeof(a), &a };
		return hvabs_vm_function_add(out, sim_.vm, &d);
	}

	/* The guest rings the bell @n times and reports what the register reads. */
	void expect_guest_counts(unsigned int n)
	{
		GuestProgram p;
		for (unsigned int i = 0; i < n; i++)
			p.mmio_write(kBell, 4, i);
		p.mmio_read(kBell, 8);
		hvabs_vcpu *vcpu;
		HV_ASSERT_OK(sim_.add_vcpu(&vcpu, 0, p));
		HV_ASSERT_OK(sim_.start());
		bool timed_out;
		HV_ASSERT_OK(run_bounded(vcpu, &timed_out));
		hvabs_exit *e = hvabs_vcpu_exit(vcpu);
		ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e->reason);
		EXPECT_EQ(kResultAddr, e->mmio.addr);
		EXPECT_EQ(n, le_load(e->mmio.data, 8)) << "rings counted by the module's IO handler";
		struct hvabs_vcpu_stats s {};
		hvabs_vcpu_stats_get(vcpu, &s);
		EXPECT_EQ(n + 1, s.dispatched);
	}

	EventLog log_;
	Pool pool_; /* outlives sim_ */
	SimVm sim_;
	size_t base_ = 0;
};

} /* namespace */

TEST_F(ModuleTest, ExplicitLoadRegistersTheDoorbellTypeForGuests)
{
	HV_ASSERT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
	HV_ASSERT_OK(add_doorbell(3, kBell));
	ASSERT_NO_FATAL_FAILURE(expect_guest_counts(3));
}

TEST_F(ModuleTest, DoorbellBindClaimsItsBellRxTicket)
{
	HV_ASSERT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
	HV_ASSERT_OK(add_doorbell(3, kBell));
	LoggedTicket &t = pool_.ticket(&log_, 3, sim_.vm);
	hvabs_ticket_desc d = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_RX);
	HV_EXPECT_CODE(HVABS_EEXIST, hvabs_vm_ticket_add(nullptr, sim_.vm, &d));
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(sim_.vm));
	HV_EXPECT_CODE(HVABS_EEXIST, add_doorbell(4, kBell)) << "its register is taken too";
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(sim_.vm));
}

TEST_F(ModuleTest, DoorbellIsRemovedByLabelAndReleasesTicketAndHandler)
{
	HV_ASSERT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
	HV_ASSERT_OK(add_doorbell(3, kBell));
	DoorbellArg key = { 3, 0, 0 };
	hvabs_fn_desc d = { kDoorbellType, sizeof(key), &key };
	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_function_type_unregister(kDoorbellType));
	HV_ASSERT_OK(hvabs_vm_function_remove(sim_.vm, &d));
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(sim_.vm, &d));
	EXPECT_EQ(0u, hvabs_vm_io_handler_count(sim_.vm));
	EXPECT_EQ(1u, hvabs_vm_refcount(sim_.vm));
	HV_EXPECT_OK(hvabs_function_type_unregister(kDoorbellType));
}

TEST_F(ModuleTest, DoorbellBindRejectsBadArgumentsWithEINVAL)
{
	HV_ASSERT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
	DoorbellArg a = { 3, 1, kBell };
	hvabs_fn_desc d = { kDoorbellType, sizeof(a), &a };
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_function_add(nullptr, sim_.vm, &d)) << "reserved != 0";
	d.arg_size = 8;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_function_add(nullptr, sim_.vm, &d)) << "short argument";
	HV_EXPECT_OK(add_doorbell(3, kBell));
}

TEST_F(ModuleTest, UnknownTypeIsLoadedFromFunctionPathAtAddTime)
{
	HV_EXPECT_CODE(HVABS_ENOTFOUND, add_doorbell(3, kBell)) << "no path set yet";
	std::string path = std::string("/nonexistent-hvabs-dir:") + HVT_DOORBELL_DIR;
	ASSERT_EQ(0, setenv("HVABS_FUNCTION_PATH", path.c_str(), 1));
	HV_ASSERT_OK(add_doorbell(3, kBell)) << "the path is read when the type is needed";
	ASSERT_NO_FATAL_FAILURE(expect_guest_counts(2));
}

TEST_F(ModuleTest, MissingModuleForUnknownTypeIsENOTFOUND)
{
	ASSERT_EQ(0, setenv("HVABS_FUNCTION_PATH", HVT_DOORBELL_DIR, 1));
	uint32_t arg = 0;
	hvabs_fn_desc d = { kDoorbellType + 99, sizeof(arg), &arg };
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_add(nullptr, sim_.vm, &d));
	EXPECT_EQ(HVABS_ENOTFOUND, hvabs_error_last()->code);
	EXPECT_NE(0, hvabs_error_last()->message[0]);
	EXPECT_EQ(1u, hvabs_vm_refcount(sim_.vm));
	HV_EXPECT_OK(add_doorbell(3, kBell)) << "the same path still serves existing modules";
}

TEST_F(ModuleTest, ExplicitLoadOfMissingFileIsENOTFOUNDWithDlerrorDetail)
{
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_function_module_load("/nonexistent/hvabs-fn-1.so"));
	EXPECT_NE(0, hvabs_error_last()->message[0]);
	HV_EXPECT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
}

TEST_F(ModuleTest, ModuleWithoutInitSymbolIsEINVAL)
{
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_function_module_load(HVT_NOINIT_MODULE));
	HV_EXPECT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
}

TEST_F(ModuleTest, FailingModuleInitReturnsItsCode)
{
	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_function_module_load(HVT_FAILINIT_MODULE));
	HV_EXPECT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
}

TEST_F(ModuleTest, LoadingTheSameModuleTwiceIsHarmless)
{
	HV_ASSERT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE));
	HV_EXPECT_OK(hvabs_function_module_load(HVT_DOORBELL_MODULE)) << "its type is already there";
	HV_EXPECT_OK(add_doorbell(3, kBell));
}
