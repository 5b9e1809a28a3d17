/* SPDX-License-Identifier: MIT */
/* tests/conformance/test_functions.cc: conformance - built-in and user function types, removal by compare. */
#include "conformance.h"

#include <cstdlib>
#include <cstring>

using namespace hvt;

namespace {

constexpr uint32_t kUserType = 0x5200;

hvabs_fn_irqfd_arg irqfd_arg(int fd, uint32_t label, uint32_t flags = 0, int resample = -1)
{
	hvabs_fn_irqfd_arg a{};

	a.fd = fd;
	a.label = label;
	a.flags = flags;
	a.resample_fd = resample;
	return a;
}

hvabs_fn_ioeventfd_arg ioev_arg(int fd, uint64_t addr, uint32_t len, uint32_t flags = 0,
				uint64_t datamatch = 0, hvabs_space space = HVABS_SPACE_MMIO)
{
	hvabs_fn_ioeventfd_arg a{};

	a.datamatch = datamatch;
	a.addr = addr;
	a.len = len;
	a.fd = fd;
	a.flags = flags;
	a.space = space;
	return a;
}

template <typename T> hvabs_fn_desc fn_desc(uint32_t type, const T &arg)
{
	hvabs_fn_desc d{};

	d.type = type;
	d.arg_size = sizeof(T);
	d.arg = &arg;
	return d;
}

/* Function tests need a VM; this fixture adds one plus a user type. */
class FunctionTest : public BackendTest {
protected:
	void SetUp() override
	{
		BackendTest::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		unsetenv("HVABS_FUNCTION_PATH");
		HV_ASSERT_OK(create_vm(&vm_));
	}

	void require_user_types()
	{
		if (!has_feat(HVABS_FEAT_USER_FUNCTIONS))
			return;
		user_ok_ = rt_.register_type() == 0;
	}

	void TearDown() override
	{
		destroy_vms(); /* VMs first: their instances block unregister */
		if (user_ok_) {
			EXPECT_EQ(0, rt_.unregister_type()) << last_error_text();
		}
		EXPECT_EQ(alloc_base_, hvabs_alloc_count()) << "library allocations leaked by the test";
	}

	hvabs_vm *vm_ = nullptr;
	RecordingType rt_{ kUserType, &log_ };
	bool user_ok_ = false;
};

#define REQUIRE_USER_TYPES()                                                           \
	do {                                                                           \
		require_user_types();                                                  \
		if (!user_ok_)                                                         \
			GTEST_SKIP() << backend_ << ": no user function types ("       \
				     << last_error_text() << ")";                      \
	} while (0)

} /* namespace */

TEST_P(FunctionTest, GenericDescriptorAddsEachBuiltinTypeWithAccessors)
{
	hvabs_function *fv = nullptr, *fi = nullptr, *fe = nullptr;
	hvabs_fn_vcpu_arg va = { 2 };
	hvabs_fn_desc dv = fn_desc(HVABS_FN_VCPU, va);
	EventFd &e1 = pool_.eventfd(), &e2 = pool_.eventfd();

	HV_ASSERT_OK(hvabs_vm_function_add(&fv, vm_, &dv));
	ASSERT_NE(nullptr, fv);
	EXPECT_EQ(HVABS_FN_VCPU, hvabs_function_type_id(fv));
	EXPECT_EQ(vm_, hvabs_function_vm(fv));
	hvabs_vcpu *vcpu = hvabs_function_vcpu(fv);
	ASSERT_NE(nullptr, vcpu);
	EXPECT_EQ(2u, hvabs_vcpu_id(vcpu));
	EXPECT_EQ(vm_, hvabs_vcpu_vm(vcpu));
	uint32_t size = 0;
	const void *copy = hvabs_function_arg(fv, &size);
	EXPECT_EQ(sizeof(va), size);
	EXPECT_NE(static_cast<const void *>(&va), copy) << "the argument is copied, not kept";
	EXPECT_EQ(0, std::memcmp(&va, copy, sizeof(va)));

	if (has_fn(HVABS_FN_IRQFD)) {
		hvabs_fn_irqfd_arg ia = irqfd_arg(e1.fd(), 3);
		hvabs_fn_desc di = fn_desc(HVABS_FN_IRQFD, ia);
		HV_ASSERT_OK(hvabs_vm_function_add(&fi, vm_, &di));
		EXPECT_EQ(HVABS_FN_IRQFD, hvabs_function_type_id(fi));
		EXPECT_EQ(nullptr, hvabs_function_vcpu(fi));
		HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &di));
		HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &di));
	}
	if (has_fn(HVABS_FN_IOEVENTFD)) {
		hvabs_fn_ioeventfd_arg ea = ioev_arg(e2.fd(), kMmioBase, 4);
		hvabs_fn_desc de = fn_desc(HVABS_FN_IOEVENTFD, ea);
		HV_ASSERT_OK(hvabs_vm_function_add(&fe, vm_, &de));
		EXPECT_EQ(HVABS_FN_IOEVENTFD, hvabs_function_type_id(fe));
		HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &de));
		HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &de));
	}
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &dv));
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &dv));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
}

TEST_P(FunctionTest, TypedHelpersAddFunctionsThatHandleRemovalDrops)
{
	hvabs_function *fi = nullptr, *fe = nullptr;
	hvabs_vcpu *vcpu = nullptr;
	EventFd &e1 = pool_.eventfd(), &e2 = pool_.eventfd();

	HV_ASSERT_OK(hvabs_vm_vcpu_add(&vcpu, vm_, 0));
	ASSERT_NE(nullptr, vcpu);
	EXPECT_EQ(0u, hvabs_vcpu_id(vcpu));
	if (has_fn(HVABS_FN_IRQFD)) {
		HV_ASSERT_OK(hvabs_vm_irqfd_add(&fi, vm_, e1.fd(), 9, 0, -1));
		const hvabs_fn_irqfd_arg *a =
			static_cast<const hvabs_fn_irqfd_arg *>(hvabs_function_arg(fi, nullptr));
		EXPECT_EQ(e1.fd(), a->fd);
		EXPECT_EQ(9u, a->label);
		EXPECT_EQ(-1, a->resample_fd);
		HV_EXPECT_OK(hvabs_function_remove(fi));
	}
	if (has_fn(HVABS_FN_IOEVENTFD)) {
		HV_ASSERT_OK(hvabs_vm_ioeventfd_add(&fe, vm_, HVABS_SPACE_MMIO, kMmioBase + 8, 8,
						    e2.fd(), HVABS_IOEVENTFD_DATAMATCH, 77));
		const hvabs_fn_ioeventfd_arg *a =
			static_cast<const hvabs_fn_ioeventfd_arg *>(hvabs_function_arg(fe, nullptr));
		EXPECT_EQ(kMmioBase + 8, a->addr);
		EXPECT_EQ(8u, a->len);
		EXPECT_EQ(77u, a->datamatch);
		EXPECT_EQ((uint32_t)HVABS_SPACE_MMIO, a->space);
		HV_EXPECT_OK(hvabs_function_remove(fe));
	}
	EXPECT_EQ(2u, hvabs_vm_refcount(vm_)) << "only the vCPU is left";
}

TEST_P(FunctionTest, IrqfdIsRemovedByLabelAloneWhateverFdAndFlags)
{
	EventFd &e = pool_.eventfd();

	REQUIRE(has_fn(HVABS_FN_IRQFD), "no irqfd");
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 5, 0, -1));
	hvabs_fn_irqfd_arg other = irqfd_arg(-1, 6, 0x7f, 1234);
	hvabs_fn_desc d = fn_desc(HVABS_FN_IRQFD, other);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d)) << "label 6 was never added";
	other.label = 5;
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &d)) << "label alone selects the irqfd";
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
}

TEST_P(FunctionTest, IoeventfdRemovalMatchesAddrLenFlagsAndDatamatchButNotFd)
{
	EventFd &e = pool_.eventfd();

	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmioBase, 4, e.fd(),
					    HVABS_IOEVENTFD_DATAMATCH, 7));
	hvabs_fn_ioeventfd_arg a = ioev_arg(e.fd(), kMmioBase, 4, HVABS_IOEVENTFD_DATAMATCH, 8);
	hvabs_fn_desc d = fn_desc(HVABS_FN_IOEVENTFD, a);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d)) << "datamatch differs";
	a = ioev_arg(e.fd(), kMmioBase, 2, HVABS_IOEVENTFD_DATAMATCH, 7);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d)) << "len differs";
	a = ioev_arg(e.fd(), kMmioBase + 4, 4, HVABS_IOEVENTFD_DATAMATCH, 7);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d)) << "addr differs";
	a = ioev_arg(e.fd(), kMmioBase, 4, 0, 7);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d)) << "flags differ";
	a = ioev_arg(-1, kMmioBase, 4, HVABS_IOEVENTFD_DATAMATCH, 7);
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &d)) << "fd is not compared";
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
}

TEST_P(FunctionTest, IoeventfdWithoutDatamatchIgnoresDatamatchOnRemoval)
{
	EventFd &e = pool_.eventfd();

	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmioBase, 4, e.fd(), 0, 0));
	hvabs_fn_ioeventfd_arg a = ioev_arg(e.fd(), kMmioBase, 4, 0, 0x1234);
	hvabs_fn_desc d = fn_desc(HVABS_FN_IOEVENTFD, a);
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &d));
}

TEST_P(FunctionTest, VcpuIsRemovedByIdAndIdBecomesFree)
{
	hvabs_vcpu *v0, *v1;
	hvabs_fn_vcpu_arg a = { 1 };
	hvabs_fn_desc d = fn_desc(HVABS_FN_VCPU, a);

	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v0, vm_, 0));
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v1, vm_, 1));
	HV_EXPECT_CODE(HVABS_EEXIST, hvabs_vm_vcpu_add(&v1, vm_, 1));
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &d));
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d));
	HV_EXPECT_OK(hvabs_vm_vcpu_add(&v1, vm_, 1));
	EXPECT_EQ(1u, hvabs_vcpu_id(v1));
	EXPECT_EQ(3u, hvabs_vm_refcount(vm_));
}

TEST_P(FunctionTest, DuplicateBuiltinKeysAreEEXIST)
{
	EventFd &e1 = pool_.eventfd(), &e2 = pool_.eventfd();
	size_t allocs;
	unsigned int refs;

	REQUIRE(has_fn(HVABS_FN_IRQFD) || has_fn(HVABS_FN_IOEVENTFD), "no irqfd or ioeventfd");
	if (has_fn(HVABS_FN_IRQFD)) {
		HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e1.fd(), 4, 0, -1));
		allocs = hvabs_alloc_count();
		refs = hvabs_vm_refcount(vm_);
		HV_EXPECT_CODE(HVABS_EEXIST, hvabs_vm_irqfd_add(nullptr, vm_, e2.fd(), 4, 0, -1));
		EXPECT_EQ(allocs, hvabs_alloc_count());
		EXPECT_EQ(refs, hvabs_vm_refcount(vm_));
	}
	if (has_fn(HVABS_FN_IOEVENTFD)) {
		HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmioBase, 4,
						    e1.fd(), 0, 0));
		allocs = hvabs_alloc_count();
		refs = hvabs_vm_refcount(vm_);
		HV_EXPECT_CODE(HVABS_EEXIST, hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO,
								    kMmioBase, 4, e2.fd(), 0, 0));
		EXPECT_EQ(allocs, hvabs_alloc_count());
		EXPECT_EQ(refs, hvabs_vm_refcount(vm_));
	}
}

TEST_P(FunctionTest, RemovalWithNothingMatchingIsENOTFOUNDForEveryType)
{
	hvabs_fn_vcpu_arg va = { 7 };
	hvabs_fn_desc dv = fn_desc(HVABS_FN_VCPU, va);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &dv));
	if (has_fn(HVABS_FN_IRQFD)) {
		hvabs_fn_irqfd_arg ia = irqfd_arg(0, 7);
		hvabs_fn_desc di = fn_desc(HVABS_FN_IRQFD, ia);
		HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &di));
	}
	if (has_fn(HVABS_FN_IOEVENTFD)) {
		hvabs_fn_ioeventfd_arg ea = ioev_arg(0, kMmioBase, 4);
		hvabs_fn_desc de = fn_desc(HVABS_FN_IOEVENTFD, ea);
		HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &de));
	}
	EXPECT_EQ(HVABS_ENOTFOUND, hvabs_error_last()->code);
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
}

TEST_P(FunctionTest, UserTypeBindsOnAddAndUnbindsOnRemoveByCompare)
{
	REQUIRE_USER_TYPES();
	RecFnArg a1 = rec_arg(1), a2 = rec_arg(2);
	hvabs_fn_desc d1 = rt_.desc(a1), d2 = rt_.desc(a2);
	hvabs_function *f1 = nullptr;

	HV_ASSERT_OK(hvabs_vm_function_add(&f1, vm_, &d1));
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm_, &d2));
	EXPECT_EQ(kUserType, hvabs_function_type_id(f1));
	EXPECT_EQ(&rt_, hvabs_function_type_payload(f1));
	EXPECT_EQ(2, rt_.binds.load());
	EXPECT_EQ(3u, hvabs_vm_refcount(vm_));

	RecFnArg key2 = rec_arg(2, 0, 99, 0x1234); /* only the key matters to compare */
	hvabs_fn_desc dk = rt_.desc(key2);
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &dk));
	EXPECT_EQ((std::vector<std::string>{ "bind:1", "bind:2", "unbind:2 h=0" }), log_.events());
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &dk));
	HV_EXPECT_OK(hvabs_function_remove(f1));
	EXPECT_EQ(0, rt_.live.load());
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
}

TEST_P(FunctionTest, UserTypeWithoutCompareIsRemovedByByteEquality)
{
	REQUIRE(has_feat(HVABS_FEAT_USER_FUNCTIONS), "no user function types");
	RecordingType &plain = pool_.type(kUserType + 1, &log_, false);
	HV_ASSERT_OK(plain.register_type());
	RecFnArg a = rec_arg(3);
	hvabs_fn_desc d = plain.desc(a);
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm_, &d));

	RecFnArg same_key_other_bytes = rec_arg(3, 0, 1);
	hvabs_fn_desc dk = plain.desc(same_key_other_bytes);
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &dk));
	hvabs_fn_desc shorter = d;
	shorter.arg_size = sizeof(a) - 4;
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &shorter));
	HV_EXPECT_OK(hvabs_vm_function_remove(vm_, &d));
	EXPECT_EQ(1, plain.unbinds.load());
	HV_EXPECT_OK(plain.unregister_type());
}

TEST_P(FunctionTest, UserTypeBindFailureIsReturnedAndLeavesNoInstanceOrReference)
{
	REQUIRE_USER_TYPES();
	RecFnArg a = rec_arg(4, kNoTicket, 0, 0, HVABS_EPERM);
	hvabs_fn_desc d = rt_.desc(a);
	hvabs_function *fn = reinterpret_cast<hvabs_function *>(0x1);
	size_t allocs = hvabs_alloc_count();

	HV_EXPECT_CODE(HVABS_EPERM, hvabs_vm_function_add(&fn, vm_, &d));
	EXPECT_EQ(1, rt_.binds.load());
	EXPECT_EQ(0, rt_.unbinds.load()) << "a failed bind is not unbound";
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
	EXPECT_EQ(allocs, hvabs_alloc_count());
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d));
	HV_EXPECT_OK(rt_.unregister_type()) << "no instance is left behind";
	user_ok_ = false;
}

TEST_P(FunctionTest, UnregisterWithLiveInstanceIsEBUSYAndInstanceKeepsWorking)
{
	REQUIRE_USER_TYPES();
	RecFnArg a = rec_arg(5);
	hvabs_fn_desc d = rt_.desc(a);
	hvabs_function *fn = nullptr;

	HV_ASSERT_OK(hvabs_vm_function_add(&fn, vm_, &d));
	HV_EXPECT_CODE(HVABS_EBUSY, hvabs_function_type_unregister(kUserType));
	EXPECT_EQ(0, rt_.unbinds.load()) << "instances are not torn down behind the VM's back";
	EXPECT_EQ(2u, hvabs_vm_refcount(vm_));
	EXPECT_EQ(kUserType, hvabs_function_type_id(fn));
	HV_EXPECT_OK(hvabs_function_remove(fn));
	HV_EXPECT_OK(rt_.unregister_type());
	user_ok_ = false;
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_add(nullptr, vm_, &d)) << "type is gone";
}

TEST_P(FunctionTest, UserTypeRegistrationRejectsBadTablesAndDuplicates)
{
	REQUIRE_USER_TYPES();
	struct hvabs_function_type t = *rt_.ops();

	HV_EXPECT_CODE(HVABS_EEXIST, hvabs_function_type_register(&t));
	t.type = kUserType + 2;
	t.bind = nullptr;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_function_type_register(&t));
	t = *rt_.ops();
	t.type = kUserType + 2;
	t.unbind = nullptr;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_function_type_register(&t));
	t = *rt_.ops();
	t.type = HVABS_FN_IRQFD;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_function_type_register(&t)) << "built-in number";
	t = *rt_.ops();
	t.type = kUserType + 2;
	t.version = HVABS_FUNCTION_TYPE_VERSION + 1;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_function_type_register(&t));
	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_function_type_unregister(kUserType + 2));
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_function_type_unregister(HVABS_FN_VCPU));
	RecFnArg a = rec_arg(6);
	hvabs_fn_desc d = rt_.desc(a);
	HV_EXPECT_OK(hvabs_vm_function_add(nullptr, vm_, &d)) << "the registered type still works";
}

TEST_P(FunctionTest, UnknownTypeIsENOTFOUNDWhenNoModuleProvidesIt)
{
	uint32_t arg = 0;
	hvabs_fn_desc d = { 0x7fff0001u, sizeof(arg), &arg };
	hvabs_function *fn = nullptr;
	size_t allocs = hvabs_alloc_count();

	HV_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_add(&fn, vm_, &d));
	EXPECT_EQ(1u, hvabs_vm_refcount(vm_));
	EXPECT_EQ(allocs, hvabs_alloc_count());
}

INSTANTIATE_TEST_SUITE_P(Backends, FunctionTest, ::testing::ValuesIn(compiled_backends()),
			 backend_param_name);
