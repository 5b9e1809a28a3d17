/* SPDX-License-Identifier: MIT */
/* tests/seed/test_seed_defects.cc: one test per seed-patch defect (gunyah-abi.md section 5) pinning hvabs' behaviour. */
#include "hvabs_test.h"
#include "sim_vm.h"
#include "test_fn.h"

#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace hvt;

namespace {

constexpr uint32_t kUserType = 0x7100;

class SeedDefect : public ::testing::Test {
protected:
	void SetUp() override
	{
		SKIP_UNLESS_SIM();
		unsetenv("HVABS_FUNCTION_PATH");
		base_ = hvabs_alloc_count();
		HV_ASSERT_OK(sim_.create());
	}

	void TearDown() override
	{
		sim_.destroy();
		unsetenv("HVABS_FUNCTION_PATH");
		pool_.unregister_types();
		EXPECT_EQ(base_, hvabs_alloc_count()) << "leak";
	}

	hvabs_vm *vm() { return sim_.vm; }

	EventLog log_;
	Pool pool_; /* outlives sim_ */
	SimVm sim_;
	size_t base_ = 0;
};

/* Runs @f on another thread; false if it did not finish within 5 s (a lock left held). */
bool finishes_on_other_thread(std::function<void()> f)
{
	auto fut = std::async(std::launch::async, std::move(f));
	if (fut.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
		ADD_FAILURE() << "registry call blocked: a lock was left held";
		std::abort(); /* the blocked thread cannot be joined */
	}
	fut.get();
	return true;
}

} /* namespace */

/* #1: the seed leaked its descriptor copy on every ADD/REMOVE, success or failure. */
TEST_F(SeedDefect, 1_AddRemovePairsLeakNothingOnSuccessAndFailurePaths)
{
	EventFd &e = pool_.eventfd();
	RecordingType &rt = pool_.type(kUserType, &log_);
	HV_ASSERT_OK(rt.register_type());
	size_t before = hvabs_alloc_count();

	for (int i = 0; i < 1000; i++) {
		hvabs_fn_irqfd_arg ia = { e.fd(), 1, 0, -1 };
		hvabs_fn_desc di = { HVABS_FN_IRQFD, sizeof(ia), &ia };
		ASSERT_EQ(0, hvabs_vm_function_add(nullptr, vm(), &di)) << last_error_text();
		ASSERT_EQ(0, hvabs_vm_function_remove(vm(), &di));
		hvabs_fn_ioeventfd_arg ea{};
		ea.addr = kMmioBase;
		ea.len = 4;
		ea.fd = e.fd();
		hvabs_fn_desc de = { HVABS_FN_IOEVENTFD, sizeof(ea), &ea };
		ASSERT_EQ(0, hvabs_vm_function_add(nullptr, vm(), &de)) << last_error_text();
		ASSERT_EQ(0, hvabs_vm_function_remove(vm(), &de));
		RecFnArg ua = rec_arg((uint32_t)i);
		hvabs_fn_desc du = rt.desc(ua);
		ASSERT_EQ(0, hvabs_vm_function_add(nullptr, vm(), &du)) << last_error_text();
		ASSERT_EQ(0, hvabs_vm_function_remove(vm(), &du));
	}
	EXPECT_EQ(before, hvabs_alloc_count()) << "success paths";

	for (int i = 0; i < 1000; i++) {
		hvabs_fn_irqfd_arg bad = { -1, 1, 0, -1 };
		hvabs_fn_desc db = { HVABS_FN_IRQFD, sizeof(bad), &bad };
		ASSERT_EQ(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &db));
		ASSERT_EQ(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm(), &db));
		std::vector<uint8_t> big(300);
		hvabs_fn_desc dbig = { kUserType, 300, big.data() };
		ASSERT_EQ(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &dbig));
		RecFnArg fail = rec_arg(1, kNoTicket, 0, 0, HVABS_EPERM);
		hvabs_fn_desc dfail = rt.desc(fail);
		ASSERT_EQ(HVABS_EPERM, hvabs_vm_function_add(nullptr, vm(), &dfail));
	}
	EXPECT_EQ(before, hvabs_alloc_count()) << "failure paths";
	EXPECT_EQ(1u, hvabs_vm_refcount(vm()));
	EXPECT_EQ(0, rt.live.load());
	HV_EXPECT_OK(rt.unregister_type());
}

/* #1 for vCPUs: hot-plugging vCPUs (or failing to) must not accumulate memory either. */
TEST_F(SeedDefect, 1_VcpuAddRemoveAndFailedAddsDoNotAccumulateMemory)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v, vm(), 0));
	hvabs_fn_vcpu_arg a = { 1 };
	hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };
	/*
	 * A removed vCPU's object is kept (stale handles stay memory-safe) and
	 * reused when its id comes back: one warm-up pair, then no growth.
	 */
	ASSERT_EQ(0, hvabs_vm_function_add(nullptr, vm(), &d)) << last_error_text();
	ASSERT_EQ(0, hvabs_vm_function_remove(vm(), &d));
	size_t before = hvabs_alloc_count();
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(0, hvabs_vm_function_add(nullptr, vm(), &d)) << last_error_text();
		ASSERT_EQ(0, hvabs_vm_function_remove(vm(), &d));
	}
	EXPECT_EQ(before, hvabs_alloc_count()) << "200 add/remove pairs";
	for (int i = 0; i < 200; i++)
		ASSERT_EQ(HVABS_EEXIST, hvabs_vm_vcpu_add(&v, vm(), 0));
	EXPECT_EQ(before, hvabs_alloc_count()) << "200 duplicate adds";
	EXPECT_EQ(2u, hvabs_vm_refcount(vm()));
}

/* #2: the seed checked the wrong member after copying the argument. */
TEST_F(SeedDefect, 2_ArgumentIsCopiedIntoTheInstance)
{
	RecordingType &rt = pool_.type(kUserType, &log_);
	HV_ASSERT_OK(rt.register_type());
	RecFnArg a = rec_arg(42, kNoTicket, 0, 0);
	hvabs_fn_desc d = rt.desc(a);
	hvabs_function *fn;
	HV_ASSERT_OK(hvabs_vm_function_add(&fn, vm(), &d));
	std::memset(&a, 0xff, sizeof(a)); /* the caller's buffer may go away */
	uint32_t size = 0;
	const RecFnArg *copy = static_cast<const RecFnArg *>(hvabs_function_arg(fn, &size));
	ASSERT_NE(nullptr, copy);
	EXPECT_NE(&a, copy);
	EXPECT_EQ(sizeof(RecFnArg), size);
	EXPECT_EQ(42u, copy->key);
	RecFnArg key = rec_arg(42);
	hvabs_fn_desc dk = rt.desc(key);
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &dk));
	HV_EXPECT_OK(rt.unregister_type());
	/* The copy's allocation failure path is swept in hvabs_fault_tests (SeedDefect.2_*). */
}

/* #3: a failed request_module released the lock twice; failed loads must leave the registry usable. */
TEST_F(SeedDefect, 3_FailedModuleLoadsReturnCleanlyAndRegistryStaysUsable)
{
	std::string path = std::string(HVT_TEST_MODULE_DIR) + ":/nonexistent-hvabs-dir";
	ASSERT_EQ(0, setenv("HVABS_FUNCTION_PATH", path.c_str(), 1));
	uint32_t arg = 0;
	for (int i = 0; i < 3; i++) {
		for (uint32_t type : { HVT_FAILINIT_TYPE, HVT_NOINIT_TYPE, 4664u }) {
			hvabs_fn_desc d = { type, sizeof(arg), &arg };
			HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_add(nullptr, vm(), &d))
				<< "type " << type;
		}
		HV_EXPECT_CODE(HVABS_EBUSY, hvabs_function_module_load(HVT_FAILINIT_MODULE));
		HV_EXPECT_CODE(HVABS_EINVAL, hvabs_function_module_load(HVT_NOINIT_MODULE));
		HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_function_module_load("/nonexistent/x.so"));
	}
	EXPECT_EQ(1u, hvabs_vm_refcount(vm()));

	RecordingType &rt = pool_.type(kUserType, &log_);
	finishes_on_other_thread([&] {
		EXPECT_EQ(0, rt.register_type());
		EXPECT_EQ(HVABS_ENOTFOUND, hvabs_function_module_load("/nonexistent/y.so"));
		EXPECT_EQ(0, rt.unregister_type());
	});
	HV_EXPECT_OK(rt.register_type()) << "and from this thread";
	RecFnArg a = rec_arg(1);
	hvabs_fn_desc d = rt.desc(a);
	HV_EXPECT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &d));
	HV_EXPECT_OK(rt.unregister_type());
}

/* #4: teardown treated a VM whose load failed as running; INIT_FAILED must be torn down completely. */
TEST_F(SeedDefect, 4_VmWhoseStartFailedIsTornDownCompletely)
{
	RecordingType &rt = pool_.type(kUserType, &log_);
	HV_ASSERT_OK(rt.register_type());
	LoggedTicket &ok = pool_.ticket(&log_, 1, vm()), &refuser = pool_.ticket(&log_, 2, vm());
	refuser.refuse = HVABS_EPERM;
	RecFnArg a = rec_arg(9, HVABS_RESOURCE_BELL_RX, 9, kMmioBase + 0x100);
	hvabs_fn_desc d = rt.desc(a);
	hvabs_vcpu *vcpu;
	EventFd &e = pool_.eventfd();

	HV_ASSERT_OK(sim_.add_vcpu(&vcpu, 0, GuestProgram().mmio_write(kMmioBase, 4, 1)));
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm(), e.fd(), 3, 0, -1));
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
	hvabs_ticket_desc td = logged_ticket_desc(&ok, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(hvabs_vm_ticket_add(nullptr, vm(), &td));
	td = logged_ticket_desc(&refuser, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(hvabs_vm_ticket_add(nullptr, vm(), &td));

	HV_EXPECT_CODE(HVABS_EPERM, sim_.start());
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm(), &st);
	EXPECT_EQ(HVABS_VM_INIT_FAILED, st.state);
	int ret = hvabs_vcpu_run(vcpu);
	if (ret == 0) {
		hvabs_exit *x = hvabs_vcpu_exit(vcpu);
		EXPECT_EQ((uint32_t)HVABS_EXIT_STATUS, x->reason) << "a failed VM never runs guests";
		EXPECT_EQ(HVABS_STATUS_LOAD_FAILED, x->status.status);
	} else {
		HV_EXPECT_CODE(HVABS_ESTATE, ret);
	}
	EXPECT_EQ(4u, hvabs_vm_refcount(vm()));

	sim_.destroy();
	EXPECT_EQ(1, rt.unbinds.load()) << "function unbound";
	EXPECT_EQ(log_.count("populate:9"), log_.count("unpopulate:9")) << "function's ticket";
	EXPECT_EQ(ok.populates.load(), ok.unpopulates.load()) << "populated tickets unpopulated";
	EXPECT_EQ(0, refuser.unpopulates.load());
	HV_EXPECT_OK(rt.unregister_type()) << "no instance survived";
	EXPECT_EQ(base_, hvabs_alloc_count()) << "nothing left of the VM";
}

TEST_F(SeedDefect, 4_VmWhoseBackendStartFailedIsTornDownCompletely)
{
	hvabs_vcpu *vcpu;
	LoggedTicket &t = pool_.ticket(&log_, 1, vm());
	hvabs_ticket_desc td = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(sim_.add_vcpu(&vcpu, 0, GuestProgram().mmio_write(kMmioBase, 4, 1)));
	HV_ASSERT_OK(hvabs_vm_ticket_add(nullptr, vm(), &td));
	HV_ASSERT_OK(hvabs_sim_fault_set("vm_start", 1, HVABS_EIO));
	HV_EXPECT_CODE(HVABS_EIO, sim_.start());
	hvabs_sim_fault_clear();
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm(), &st);
	EXPECT_EQ(HVABS_VM_INIT_FAILED, st.state);
	sim_.destroy();
	EXPECT_EQ(t.populates.load(), t.unpopulates.load());
	EXPECT_EQ(base_, hvabs_alloc_count());
}

/* #5: REMOVE returned 0 when nothing matched and compared raw bytes (irqfd not removable by label). */
TEST_F(SeedDefect, 5_RemovingNothingIsENOTFOUNDAndIrqfdIsRemovableByLabelAlone)
{
	EventFd &e = pool_.eventfd();
	hvabs_fn_irqfd_arg a = { e.fd(), 7, HVABS_IRQFD_LEVEL, -1 };
	hvabs_fn_desc d = { HVABS_FN_IRQFD, sizeof(a), &a };
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm(), &d));
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
	hvabs_fn_irqfd_arg by_label = { -1, 7, 0, -1 };
	hvabs_fn_desc dl = { HVABS_FN_IRQFD, sizeof(by_label), &by_label };
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &dl));
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm(), &dl));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm()));
}

/* #6: unregister tore live instances down under the global lock. */
TEST_F(SeedDefect, 6_UnregisterWithLiveInstancesIsEBUSYAndInstancesAreUntouched)
{
	RecordingType &rt = pool_.type(kUserType, &log_);
	HV_ASSERT_OK(rt.register_type());
	SimVm other;
	HV_ASSERT_OK(other.create());
	RecFnArg a = rec_arg(1, kNoTicket, 0, kMmioBase + 0x10);
	hvabs_fn_desc d = rt.desc(a);
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, other.vm, &d));

	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_function_type_unregister(kUserType));
	EXPECT_EQ(0, rt.unbinds.load());
	EXPECT_EQ(2, rt.live.load());
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(vm())) << "instance's handler still there";

	hvabs_vcpu *vcpu;
	HV_ASSERT_OK(sim_.add_vcpu(&vcpu, 0,
				   GuestProgram().mmio_write(kMmioBase + 0x10, 4, 1).mmio_write(kMmioBase, 4, 0)));
	HV_ASSERT_OK(sim_.start());
	bool timed_out;
	HV_ASSERT_OK(run_bounded(vcpu, &timed_out));
	EXPECT_EQ(1u, rt.writes.load()) << "instance keeps serving after the refused unregister";

	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &d));
	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_function_type_unregister(kUserType)) << "one left";
	other.destroy();
	HV_EXPECT_OK(rt.unregister_type());
}

/*
 * #7 (two lists per instance, an unused instances_lock) is structural: hvabs
 * links an instance into one list (its VM's) and counts instances per type
 * in the registry, which the EBUSY test above observes. Nothing more is
 * visible through the public API.
 */

/* #8: arg_size 0 meant "arg is the value" for vCPUs; hvabs always takes a struct. */
TEST_F(SeedDefect, 8_VcpuArgumentIsAStructAndZeroSizeIsEINVAL)
{
	hvabs_fn_desc by_value = { HVABS_FN_VCPU, 0, reinterpret_cast<const void *>(uintptr_t{ 5 }) };
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &by_value));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm()));
	hvabs_fn_vcpu_arg arg = { 5 };
	hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(arg), &arg };
	hvabs_function *fn;
	HV_ASSERT_OK(hvabs_vm_function_add(&fn, vm(), &d));
	EXPECT_EQ(5u, hvabs_vcpu_id(hvabs_function_vcpu(fn)));
	EXPECT_EQ(4u, sizeof(hvabs_fn_vcpu_arg));
}
