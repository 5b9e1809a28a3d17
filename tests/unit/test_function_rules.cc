/* SPDX-License-Identifier: MIT */
/* tests/unit/test_function_rules.cc: rules of function descriptors, built-in arguments and the type registry. */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

using namespace hvt;

namespace {

constexpr uint32_t kUserType = 0x6100;

class FunctionRules : public RuleTest {
protected:
	void SetUp() override
	{
		RuleTest::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		HV_ASSERT_OK(rt_.register_type());
	}

	void TearDown() override
	{
		sim_.destroy();
		if (rt_.registered()) {
			EXPECT_EQ(0, rt_.unregister_type()) << last_error_text();
		}
		RuleTest::TearDown();
	}

	/* Every rejected add must leave the VM's reference count alone. */
	void expect_no_instance() { EXPECT_EQ(1u, hvabs_vm_refcount(vm())); }

	void expect_irqfd_works()
	{
		HV_EXPECT_OK(hvabs_vm_irqfd_add(nullptr, vm(), efd_.fd(), 1, 0, -1));
	}

	void expect_ioeventfd_works()
	{
		HV_EXPECT_OK(hvabs_vm_ioeventfd_add(nullptr, vm(), HVABS_SPACE_MMIO, kMmioBase, 4,
						    efd_.fd(), 0, 0));
	}

	void expect_user_add_works()
	{
		RecFnArg a = rec_arg(1);
		hvabs_fn_desc d = rt_.desc(a);
		HV_EXPECT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
	}

	int add_irqfd(int fd, uint32_t label, uint32_t flags, int resample)
	{
		return hvabs_vm_irqfd_add(nullptr, vm(), fd, label, flags, resample);
	}

	int add_ioev(uint64_t addr, uint32_t len, int fd, uint32_t flags, uint64_t dm = 0,
		     hvabs_space space = HVABS_SPACE_MMIO)
	{
		return hvabs_vm_ioeventfd_add(nullptr, vm(), space, addr, len, fd, flags, dm);
	}

	RecordingType rt_{ kUserType, &log_ };
	EventFd efd_, efd2_;
};

} /* namespace */

/* ---- descriptor ---- */

TEST_F(FunctionRules, ArgSizeAbove256IsEINVAL)
{
	std::vector<uint8_t> big(HVABS_FN_MAX_ARG_SIZE + 1, 0);
	hvabs_fn_desc d = { kUserType, (uint32_t)big.size(), big.data() };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	EXPECT_EQ(0, rt_.binds.load()) << "rejected before bind";
	expect_no_instance();
	expect_user_add_works();
}

TEST_F(FunctionRules, ArgSizeOf256IsAccepted)
{
	std::vector<uint8_t> arg(HVABS_FN_MAX_ARG_SIZE, 0);
	hvabs_fn_desc d = { kUserType, (uint32_t)arg.size(), arg.data() };
	hvabs_function *fn;
	HV_ASSERT_OK(hvabs_vm_function_add(&fn, vm(), &d));
	uint32_t size = 0;
	hvabs_function_arg(fn, &size);
	EXPECT_EQ(HVABS_FN_MAX_ARG_SIZE, size);
}

TEST_F(FunctionRules, RemoveWithArgSizeAbove256IsEINVAL)
{
	std::vector<uint8_t> big(HVABS_FN_MAX_ARG_SIZE + 1, 0);
	hvabs_fn_desc d = { kUserType, (uint32_t)big.size(), big.data() };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_remove(vm(), &d));
	expect_user_add_works();
}

TEST_F(FunctionRules, VcpuArgOfZeroBytesIsEINVAL)
{
	hvabs_fn_vcpu_arg a = { 0 };
	hvabs_fn_desc d = { HVABS_FN_VCPU, 0, &a };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	expect_no_instance();
	d.arg_size = sizeof(a);
	HV_EXPECT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
}

TEST_F(FunctionRules, VcpuArgOfEightBytesIsEINVAL)
{
	uint64_t a = 0;
	hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	expect_no_instance();
}

TEST_F(FunctionRules, IrqfdArgOfWrongSizeIsEINVAL)
{
	hvabs_fn_irqfd_arg a = { efd_.fd(), 1, 0, -1 };
	hvabs_fn_desc d = { HVABS_FN_IRQFD, sizeof(a) - 4, &a };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	d.arg_size = sizeof(a) + 4;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	expect_no_instance();
	d.arg_size = sizeof(a);
	HV_EXPECT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
}

TEST_F(FunctionRules, IoeventfdArgOfWrongSizeIsEINVAL)
{
	hvabs_fn_ioeventfd_arg a{};
	a.addr = kMmioBase;
	a.len = 4;
	a.fd = efd_.fd();
	hvabs_fn_desc d = { HVABS_FN_IOEVENTFD, 16, &a };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	d.arg_size = 40;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_add(nullptr, vm(), &d));
	expect_no_instance();
	d.arg_size = sizeof(a);
	HV_EXPECT_OK(hvabs_vm_function_add(nullptr, vm(), &d));
}

TEST_F(FunctionRules, BuiltinRemoveWithWrongArgSizeIsEINVAL)
{
	hvabs_fn_irqfd_arg a = { efd_.fd(), 1, 0, -1 };
	HV_ASSERT_OK(add_irqfd(efd_.fd(), 1, 0, -1));
	hvabs_fn_desc d = { HVABS_FN_IRQFD, 4, &a };
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_vm_function_remove(vm(), &d));
	d.arg_size = sizeof(a);
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &d));
}

TEST_F(FunctionRules, UnknownTypeIsENOTFOUND)
{
	uint32_t a = 0;
	hvabs_fn_desc d = { 0x6fff, sizeof(a), &a };
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_vm_function_add(nullptr, vm(), &d));
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm(), &d));
	expect_user_add_works();
}

TEST_F(FunctionRules, AddOnInitFailedVmIsESTATE)
{
	hvabs_boot_config b{};
	b.version = HVABS_BOOT_CONFIG_VERSION;
	b.blob_addr = 0x40000000;
	b.blob_size = 0x1000;
	HV_ASSERT_OK(hvabs_vm_boot_set(vm(), &b));
	HV_ASSERT_CODE(HVABS_EINVAL, sim_.start());
	RecFnArg a = rec_arg(1);
	hvabs_fn_desc d = rt_.desc(a);
	EXPECT_REJECTED(HVABS_ESTATE, hvabs_vm_function_add(nullptr, vm(), &d));
	EXPECT_EQ(0, rt_.binds.load());
}

/* ---- vCPU ---- */

TEST_F(FunctionRules, DuplicateVcpuIdIsEEXIST)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v, vm(), 0));
	EXPECT_REJECTED(HVABS_EEXIST, hvabs_vm_vcpu_add(&v, vm(), 0));
	EXPECT_EQ(2u, hvabs_vm_refcount(vm()));
	HV_EXPECT_OK(hvabs_vm_vcpu_add(&v, vm(), 1));
}

/* ---- irqfd ---- */

TEST_F(FunctionRules, IrqfdNegativeFdIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_irqfd(-1, 1, 0, -1));
	expect_no_instance();
	expect_irqfd_works();
}

TEST_F(FunctionRules, IrqfdClosedFdIsEINVAL)
{
	int fd = dup(efd_.fd());
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_REJECTED(HVABS_EINVAL, add_irqfd(fd, 1, 0, -1));
	expect_no_instance();
	expect_irqfd_works();
}

/* Fuzzing finding (fuzz/functions): any open fd passed; KVM and Gunyah take eventfds only. */
TEST_F(FunctionRules, IrqfdPipeFdIsEINVAL)
{
	int p[2];
	ASSERT_EQ(0, pipe(p));
	EXPECT_REJECTED(HVABS_EINVAL, add_irqfd(p[0], 1, 0, -1));
	expect_no_instance();
	close(p[0]);
	close(p[1]);
	expect_irqfd_works();
}

TEST_F(FunctionRules, IrqfdResampleFdNotAnEventfdIsEINVAL)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_REJECTED(HVABS_EINVAL,
			add_irqfd(efd_.fd(), 1, HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, fd));
	close(fd);
	expect_no_instance();
	HV_EXPECT_OK(add_irqfd(efd_.fd(), 1, HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, efd2_.fd()));
}

TEST_F(FunctionRules, IrqfdUnknownFlagIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_irqfd(efd_.fd(), 1, 1u << 7, -1));
	expect_no_instance();
	expect_irqfd_works();
}

TEST_F(FunctionRules, IrqfdResampleWithoutLevelIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_irqfd(efd_.fd(), 1, HVABS_IRQFD_RESAMPLE, efd2_.fd()));
	expect_no_instance();
	HV_EXPECT_OK(add_irqfd(efd_.fd(), 1, HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, efd2_.fd()));
}

TEST_F(FunctionRules, IrqfdResampleWithoutResampleFdIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL,
			add_irqfd(efd_.fd(), 1, HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, -1));
	expect_no_instance();
	expect_irqfd_works();
}

TEST_F(FunctionRules, DuplicateIrqfdLabelIsEEXIST)
{
	HV_ASSERT_OK(add_irqfd(efd_.fd(), 1, 0, -1));
	EXPECT_REJECTED(HVABS_EEXIST, add_irqfd(efd2_.fd(), 1, 0, -1));
	EXPECT_EQ(2u, hvabs_vm_refcount(vm()));
	HV_EXPECT_OK(add_irqfd(efd2_.fd(), 2, 0, -1));
}

/* ---- ioeventfd ---- */

TEST_F(FunctionRules, IoeventfdLengthThreeIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 3, efd_.fd(), 0));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdLengthSixteenIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 16, efd_.fd(), 0));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdDatamatchWithAnyLengthIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 0, efd_.fd(), HVABS_IOEVENTFD_DATAMATCH, 1));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdAddressOverflowIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(0xfffffffffffffffeull, 4, efd_.fd(), 0));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdUnknownFlagIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 4, efd_.fd(), 1u << 1));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdNegativeFdIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 4, -1, 0));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdNonEventfdIsEINVAL)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 4, fd, 0));
	close(fd);
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdUnknownSpaceIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add_ioev(kMmioBase, 4, efd_.fd(), 0, 0, (hvabs_space)7));
	expect_no_instance();
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, IoeventfdInUnofferedSpaceIsENOTSUP)
{
	if (caps_.ioeventfd_spaces & (1u << HVABS_SPACE_PIO))
		GTEST_SKIP() << "sim offers port ioeventfds";
	EXPECT_REJECTED(HVABS_ENOTSUP, add_ioev(0x80, 1, efd_.fd(), 0, 0, HVABS_SPACE_PIO));
	expect_ioeventfd_works();
}

TEST_F(FunctionRules, DuplicateIoeventfdIsEEXIST)
{
	HV_ASSERT_OK(add_ioev(kMmioBase, 4, efd_.fd(), 0));
	EXPECT_REJECTED(HVABS_EEXIST, add_ioev(kMmioBase, 4, efd2_.fd(), 0));
	EXPECT_EQ(2u, hvabs_vm_refcount(vm()));
	HV_EXPECT_OK(add_ioev(kMmioBase + 8, 4, efd2_.fd(), 0));
}

/* ---- type registry ---- */

class TypeRules : public FunctionRules {
protected:
	struct hvabs_function_type valid(uint32_t type)
	{
		struct hvabs_function_type t = *rt_.ops();
		t.type = type;
		return t;
	}
	void expect_register_works()
	{
		struct hvabs_function_type t = valid(kUserType + 1);
		HV_EXPECT_OK(hvabs_function_type_register(&t));
		HV_EXPECT_OK(hvabs_function_type_unregister(kUserType + 1));
	}
};

TEST_F(TypeRules, TypeVersionZeroIsEVERSION)
{
	struct hvabs_function_type t = valid(kUserType + 1);
	t.version = 0;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_function_type_register(&t));
	expect_register_works();
}

TEST_F(TypeRules, TypeFutureVersionIsEVERSION)
{
	struct hvabs_function_type t = valid(kUserType + 1);
	t.version = HVABS_FUNCTION_TYPE_VERSION + 1;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_function_type_register(&t));
	expect_register_works();
}

TEST_F(TypeRules, MissingBindIsEINVAL)
{
	struct hvabs_function_type t = valid(kUserType + 1);
	t.bind = nullptr;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_function_type_register(&t));
	expect_register_works();
}

TEST_F(TypeRules, MissingUnbindIsEINVAL)
{
	struct hvabs_function_type t = valid(kUserType + 1);
	t.unbind = nullptr;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_function_type_register(&t));
	expect_register_works();
}

TEST_F(TypeRules, MissingNameIsEINVAL)
{
	struct hvabs_function_type t = valid(kUserType + 1);
	t.name = nullptr;
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_function_type_register(&t));
	expect_register_works();
}

TEST_F(TypeRules, BuiltinTypeNumberIsEINVAL)
{
	for (uint32_t type : { HVABS_FN_VCPU, HVABS_FN_IRQFD, HVABS_FN_IOEVENTFD }) {
		struct hvabs_function_type t = valid(type);
		EXPECT_REJECTED(HVABS_EINVAL, hvabs_function_type_register(&t));
	}
	expect_register_works();
	expect_irqfd_works();
}

TEST_F(TypeRules, DuplicateTypeIsEEXIST)
{
	struct hvabs_function_type t = valid(kUserType);
	EXPECT_REJECTED(HVABS_EEXIST, hvabs_function_type_register(&t));
	expect_user_add_works();
}

TEST_F(TypeRules, UnregisterOfUnknownTypeIsENOTFOUND)
{
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_function_type_unregister(kUserType + 7));
	expect_register_works();
}

TEST_F(TypeRules, UnregisterOfBuiltinIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_function_type_unregister(HVABS_FN_IOEVENTFD));
	expect_ioeventfd_works();
}

TEST_F(TypeRules, UnregisterWithLiveInstanceIsEBUSY)
{
	expect_user_add_works();
	EXPECT_REJECTED(HVABS_EBUSY, hvabs_function_type_unregister(kUserType));
	EXPECT_EQ(1, rt_.live.load());
	RecFnArg a = rec_arg(1);
	hvabs_fn_desc d = rt_.desc(a);
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &d));
}

/* ---- callbacks' codes and compare-less matching (fuzz/functions findings) ---- */

namespace {

int failing_bind(hvabs_function *)
{
	return HVABS_EIO; /* a user type cannot set the error detail itself */
}

int plain_bind(hvabs_function *)
{
	return 0;
}

void plain_unbind(hvabs_function *) {}

} /* namespace */

/* The detail of a refused bind names that failure, not an older one. */
TEST_F(FunctionRules, RefusedBindLeavesItsCodeInTheErrorDetail)
{
	hvabs_function_type t = { HVABS_FUNCTION_TYPE_VERSION, kUserType + 2, "failing", failing_bind,
				  plain_unbind, nullptr, nullptr };
	HV_ASSERT_OK(hvabs_function_type_register(&t));
	uint32_t a = 0;
	hvabs_fn_desc d = { t.type, sizeof(a), &a };
	hvabs_error_clear();
	EXPECT_REJECTED(HVABS_EIO, hvabs_vm_function_add(nullptr, vm(), &d));
	EXPECT_STRNE("", hvabs_error_last()->message);
	expect_no_instance();
	HV_EXPECT_OK(hvabs_function_type_unregister(t.type));
}

/* Likewise a populate refusal returned by a ticket added to a running VM. */
TEST_F(FunctionRules, RefusedPopulateLeavesItsCodeInTheErrorDetail)
{
	LoggedTicket &probe = pool_.ticket(&log_, 1, vm()), &refuser = pool_.ticket(&log_, 2, vm());
	hvabs_ticket_desc pd = logged_ticket_desc(&probe, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(hvabs_vm_ticket_add(nullptr, vm(), &pd));
	HV_ASSERT_OK(sim_.start());
	ASSERT_EQ(1, probe.populates.load());
	refuser.refuse = HVABS_EPERM;
	hvabs_ticket_desc rd = logged_ticket_desc(&refuser, HVABS_RESOURCE_BELL_TX);
	hvabs_error_clear();
	EXPECT_REJECTED(HVABS_EPERM, hvabs_vm_ticket_add(nullptr, vm(), &rd));
	EXPECT_STRNE("", hvabs_error_last()->message);
}

/*
 * A type without compare matches on the argument bytes; a zero-size key
 * may come with a NULL arg (memcmp(NULL, 0) was undefined: UBSan build).
 */
TEST_F(FunctionRules, CompareLessTypeRemovesZeroSizeInstanceByNullKey)
{
	hvabs_function_type t = { HVABS_FUNCTION_TYPE_VERSION, kUserType + 3, "plain", plain_bind,
				  plain_unbind, nullptr, nullptr };
	HV_ASSERT_OK(hvabs_function_type_register(&t));
	uint32_t a = 7;
	hvabs_fn_desc sized = { t.type, sizeof(a), &a }, empty = { t.type, 0, nullptr };
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm(), &sized));
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm(), &empty));
	EXPECT_EQ(3u, hvabs_vm_refcount(vm()));
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &empty));
	/* The sized instance must not match an empty key. */
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm(), &empty));
	HV_EXPECT_OK(hvabs_vm_function_remove(vm(), &sized));
	expect_no_instance();
	HV_EXPECT_OK(hvabs_function_type_unregister(t.type));
}
