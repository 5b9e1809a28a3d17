/* SPDX-License-Identifier: MIT */
/* tests/unit/test_backend_rules.cc: rules of backend selection, caps queries and error reporting. */
#include "unit.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

using namespace hvt;

namespace {

/* Sets an environment variable for one test and restores it afterwards. */
class ScopedEnv {
public:
	ScopedEnv(const char *name, const char *value) : name_(name)
	{
		const char *old = getenv(name);
		had_ = old != nullptr;
		if (had_)
			old_ = old;
		if (value)
			setenv(name, value, 1);
		else
			unsetenv(name);
	}
	~ScopedEnv()
	{
		if (had_)
			setenv(name_, old_.c_str(), 1);
		else
			unsetenv(name_);
	}

private:
	const char *name_;
	bool had_;
	std::string old_;
};

} /* namespace */

using BackendRules = RuleTest;

TEST_F(BackendRules, BackendNamesAreListedUpToCountThenNull)
{
	ASSERT_GE(hvabs_backend_count(), 1u);
	for (unsigned int i = 0; i < hvabs_backend_count(); i++)
		EXPECT_NE(nullptr, hvabs_backend_name(i));
	EXPECT_EQ(nullptr, hvabs_backend_name(hvabs_backend_count()));
	EXPECT_TRUE(backend_compiled("sim"));
}

TEST_F(BackendRules, ProbeOfUnknownBackendIsENOTFOUND)
{
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_backend_probe("no-such-backend"));
	HV_EXPECT_OK(hvabs_backend_probe("sim"));
}

TEST_F(BackendRules, CapsOfUnknownBackendIsENOTFOUND)
{
	hvabs_caps c{};
	c.version = HVABS_CAPS_VERSION;
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_backend_caps("no-such-backend", &c));
	HV_EXPECT_OK(hvabs_backend_caps("sim", &c));
}

TEST_F(BackendRules, CapsVersionZeroIsEVERSION)
{
	hvabs_caps c{};
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_backend_caps("sim", &c));
	c.version = HVABS_CAPS_VERSION;
	HV_EXPECT_OK(hvabs_backend_caps("sim", &c));
}

TEST_F(BackendRules, CapsFutureVersionIsEVERSION)
{
	hvabs_caps c{};
	c.version = HVABS_CAPS_VERSION + 1;
	EXPECT_REJECTED(HVABS_EVERSION, hvabs_vm_caps(vm(), &c));
	c.version = HVABS_CAPS_VERSION;
	HV_EXPECT_OK(hvabs_vm_caps(vm(), &c));
}

TEST_F(BackendRules, SimCapsOfferCallbackGuestsAndFaultInjection)
{
	EXPECT_TRUE(caps_.features & HVABS_FEAT_CALLBACK_GUESTS);
	EXPECT_TRUE(caps_.features & HVABS_FEAT_FAULT_INJECTION);
	EXPECT_TRUE(caps_.features & HVABS_FEAT_USER_FUNCTIONS);
	EXPECT_EQ(7u << 1, caps_.fn_types & (7u << 1)) << "vcpu, irqfd and ioeventfd";
}

TEST_F(BackendRules, SelectOfUnknownNameIsENOTFOUND)
{
	const char *name = "unchanged";
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_backend_select(&name, "no-such-backend"));
	HV_ASSERT_OK(hvabs_backend_select(&name, "sim"));
	EXPECT_STREQ("sim", name);
}

TEST_F(BackendRules, SelectWithoutNameTriesHvabsBackendListInOrder)
{
	ScopedEnv env("HVABS_BACKEND", "no-such-backend,sim");
	const char *name = nullptr;
	HV_ASSERT_OK(hvabs_backend_select(&name, nullptr));
	EXPECT_STREQ("sim", name);
}

TEST_F(BackendRules, NullOptionsCreateVmOnBackendFromEnvironment)
{
	ScopedEnv env("HVABS_BACKEND", "sim");
	hvabs_vm *vm2 = nullptr;
	HV_ASSERT_OK(hvabs_vm_create(&vm2, nullptr));
	EXPECT_STREQ("sim", hvabs_vm_backend_name(vm2));
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm2, &st);
	EXPECT_EQ(HVABS_VM_LOAD, st.state);
	EXPECT_EQ(HVABS_ARCH_NONE, hvabs_vm_arch(vm2));
	hvabs_vm_destroy(vm2);
}

TEST_F(BackendRules, SimIsNeverPickedWithoutBeingNamed)
{
	ScopedEnv env("HVABS_BACKEND", nullptr);
	const char *name = nullptr;
	int ret = hvabs_backend_select(&name, nullptr);
	if (ret == 0) {
		EXPECT_STRNE("sim", name);
	} else {
		EXPECT_EQ(HVABS_ENODEV, ret) << describe(ret);
	}
}

TEST_F(BackendRules, UnknownBackendInOptionsIsENOTFOUND)
{
	hvabs_vm *vm2 = nullptr;
	hvabs_vm_options o = vm_options("no-such-backend");
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_vm_create(&vm2, &o));
	o.backend = "sim";
	HV_ASSERT_OK(hvabs_vm_create(&vm2, &o));
	hvabs_vm_destroy(vm2);
}

TEST_F(BackendRules, StrerrorDescribesEveryCodeDistinctly)
{
	const int codes[] = { HVABS_ERROR, HVABS_ENOTFOUND, HVABS_EEXIST, HVABS_EINVAL,
			      HVABS_ENOMEM, HVABS_ENOTSUP, HVABS_ENODEV, HVABS_EBUSY,
			      HVABS_EPERM, HVABS_EVERSION, HVABS_ESTATE, HVABS_EINTR, HVABS_EIO };
	const size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++) {
		ASSERT_NE(nullptr, hvabs_strerror(codes[i]));
		EXPECT_STRNE("unknown error", hvabs_strerror(codes[i]));
		EXPECT_STRNE("HVABS_E?", hvabs_err_name(codes[i]));
		for (size_t j = 0; j < i; j++) {
			EXPECT_STRNE(hvabs_strerror(codes[i]), hvabs_strerror(codes[j]));
			EXPECT_STRNE(hvabs_err_name(codes[i]), hvabs_err_name(codes[j]));
		}
	}
	EXPECT_STREQ("HVABS_EINVAL", hvabs_err_name(HVABS_EINVAL));
	EXPECT_STREQ("HVABS_ENOTFOUND", hvabs_err_name(HVABS_ENOTFOUND));
}

TEST_F(BackendRules, UnknownCodesHaveGenericText)
{
	EXPECT_STREQ("unknown error", hvabs_strerror(-12345));
	EXPECT_STREQ("unknown error", hvabs_strerror(7));
	EXPECT_STREQ("HVABS_E?", hvabs_err_name(-12345));
}

TEST_F(BackendRules, ErrorClearResetsTheRecord)
{
	ASSERT_NE(0, hvabs_backend_probe("no-such-backend"));
	EXPECT_NE(0, hvabs_error_last()->code);
	hvabs_error_clear();
	const hvabs_error *e = hvabs_error_last();
	EXPECT_EQ(0, e->code);
	EXPECT_EQ(0, e->sys_errno);
	EXPECT_STREQ("core", e->backend);
	EXPECT_STREQ("", e->message);
}

TEST_F(BackendRules, ErrorDetailIsPerThread)
{
	hvabs_error_clear();
	std::thread t([] {
		EXPECT_EQ(HVABS_ENOTFOUND, hvabs_backend_probe("no-such-backend"));
		EXPECT_EQ(HVABS_ENOTFOUND, hvabs_error_last()->code);
	});
	t.join();
	EXPECT_EQ(0, hvabs_error_last()->code) << "another thread's failure is not ours";
}

TEST_F(BackendRules, ExitReasonNamesAreDistinct)
{
	for (uint32_t i = 0; i < HVABS_EXIT_REASON_MAX; i++) {
		ASSERT_NE(nullptr, hvabs_exit_reason_name(i));
		for (uint32_t j = 0; j < i; j++)
			EXPECT_STRNE(hvabs_exit_reason_name(i), hvabs_exit_reason_name(j));
	}
	EXPECT_STREQ("MMIO", hvabs_exit_reason_name(HVABS_EXIT_MMIO));
	EXPECT_STREQ("HLT", hvabs_exit_reason_name(HVABS_EXIT_HLT));
}

TEST_F(BackendRules, VersionStringMatchesHeaderMacros)
{
	std::string want = std::to_string(HVABS_VERSION_MAJOR) + "." +
			   std::to_string(HVABS_VERSION_MINOR) + "." +
			   std::to_string(HVABS_VERSION_PATCH);
	EXPECT_EQ(want, hvabs_version_string());
}
