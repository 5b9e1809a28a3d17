/* SPDX-License-Identifier: MIT */
/* tests/conformance/conformance.cc: fixtures and parameters of the conformance suite. */
#include "conformance.h"

#include <algorithm>
#include <stdexcept>

namespace hvt {

std::vector<std::string> compiled_backends()
{
	std::vector<std::string> v;

	for (unsigned int i = 0; i < hvabs_backend_count(); i++)
		v.push_back(hvabs_backend_name(i));
	return v;
}

std::vector<GuestParam> guest_params()
{
	std::vector<GuestParam> v;

	for (const std::string &b : compiled_backends()) {
		std::vector<GuestKitEntry> kits = guest_kits_for(b);
		if (kits.empty())
			v.push_back({ b, "none" });
		for (const GuestKitEntry &k : kits)
			v.push_back({ b, k.kit });
	}
	return v;
}

static std::string sanitize(std::string s)
{
	std::replace_if(s.begin(), s.end(), [](char c) { return !isalnum((unsigned char)c); }, '_');
	return s;
}

std::string backend_param_name(const ::testing::TestParamInfo<std::string> &info)
{
	return sanitize(info.param);
}

std::string guest_param_name(const ::testing::TestParamInfo<GuestParam> &info)
{
	return sanitize(info.param.backend + "_" + info.param.kit);
}

SweepHooks *&sweep_hooks()
{
	static SweepHooks *hooks = nullptr;
	return hooks;
}

/*
 * Sweep mode: a fixture helper whose call failed ends the test body (GoogleTest
 * catches the exception and still runs TearDown), so the body does not go on
 * with a null vCPU it never planned for. Only where no test has a thread
 * running yet (a joinable std::thread would terminate the process).
 */
static void sweep_stop_if(bool failed, const char *what, int ret)
{
	if (failed && sweep_hooks())
		throw std::runtime_error(std::string("sweep mode: ") + what + " failed: " + describe(ret));
}

bool VmFixtureBase::setup_backend(const std::string &name, std::string *skip_reason)
{
	backend_ = name;
	alloc_base_ = hvabs_alloc_count();
	if (hvabs_backend_probe(name.c_str()) != 0) {
		*skip_reason = name + " does not probe: " + last_error_text();
		return false;
	}
	if (!backend_caps(name.c_str(), &caps_)) {
		*skip_reason = name + ": hvabs_backend_caps failed: " + last_error_text();
		return false;
	}
	if (SweepHooks *h = sweep_hooks()) {
		h->arm(name, alloc_base_);
		swept_ = true;
	}
	return true;
}

void VmFixtureBase::destroy_vms()
{
	SweepHooks *h = swept_ ? sweep_hooks() : nullptr;

	if (h)
		h->before_destroy(vms_);
	for (hvabs_vm *vm : vms_)
		hvabs_vm_destroy(vm);
	vms_.clear();
	if (h)
		h->destroy_leftovers(); /* before the pool's types: leftovers may hold instances */
	pool_.unregister_types();
	if (h)
		h->after_destroy();
}

void VmFixtureBase::sweep_finish()
{
	if (SweepHooks *h = sweep_hooks())
		h->finish();
}

void VmFixtureBase::teardown_vms()
{
	destroy_vms();
	EXPECT_EQ(alloc_base_, hvabs_alloc_count()) << "library allocations leaked by the test";
}

int VmFixtureBase::create_vm(hvabs_vm **out, const hvabs_vm_options *opts)
{
	hvabs_vm_options o = vm_options(backend_.c_str());
	int ret = hvabs_vm_create(out, opts ? opts : &o);

	if (ret == 0)
		vms_.push_back(*out);
	return ret;
}

void VmFixtureBase::destroy_vm(hvabs_vm *vm)
{
	vms_.erase(std::remove(vms_.begin(), vms_.end(), vm), vms_.end());
	hvabs_vm_destroy(vm);
}

int VmFixtureBase::add_ram(hvabs_vm *vm, uint32_t label, uint64_t gpa, uint64_t size)
{
	hvabs_mem_region r = region(label, gpa, size);

	return hvabs_vm_mem_add(vm, &r);
}

void BackendTest::SetUp()
{
	std::string why;

	if (!setup_backend(GetParam(), &why))
		GTEST_SKIP() << why;
}

void BackendTest::TearDown()
{
	teardown_vms();
	sweep_finish();
}

void GuestTest::SetUp()
{
	std::string why;

	if (!setup_backend(GetParam().backend, &why))
		GTEST_SKIP() << why;
	for (const GuestKitEntry &e : guest_kits_for(GetParam().backend))
		if (e.kit == GetParam().kit)
			kit_ = e.factory();
	if (!kit_)
		GTEST_SKIP() << "no guest kit for backend " << backend_;
	hvabs_vm_options o = vm_options(backend_.c_str());
	kit_->adjust_options(&o);
	HV_ASSERT_OK(create_vm(&vm_, &o));
	HV_ASSERT_OK(kit_->prepare_vm(vm_));
	/* The kit's VM may differ from the backend's default one (e.g. KVM irqchip=off). */
	caps_ = hvabs_caps{};
	caps_.version = HVABS_CAPS_VERSION;
	HV_ASSERT_OK(hvabs_vm_caps(vm_, &caps_));
}

void GuestTest::TearDown()
{
	teardown_vms(); /* before the kit, which owns the programs */
	kit_.reset();
	sweep_finish();
}

hvabs_vcpu *GuestTest::add_vcpu(uint32_t id, const GuestProgram &prog)
{
	hvabs_vcpu *vcpu = nullptr;
	int ret = hvabs_vm_vcpu_add(&vcpu, vm_, id);

	EXPECT_EQ(0, ret) << "hvabs_vm_vcpu_add: " << describe(ret);
	sweep_stop_if(ret != 0, "hvabs_vm_vcpu_add", ret);
	if (ret)
		return nullptr;
	ret = kit_->load(vcpu, prog);
	EXPECT_EQ(0, ret) << "kit load: " << describe(ret);
	return vcpu;
}

int GuestTest::start()
{
	int ret = kit_->finalize(vm_);

	if (ret)
		return ret;
	return hvabs_vm_start(vm_);
}

hvabs_exit GuestTest::run(hvabs_vcpu *vcpu)
{
	bool timed_out = false;
	SweepHooks *h = sweep_hooks();
	int ret = h ? run_bounded(vcpu, &timed_out, h->run_timeout()) : run_bounded(vcpu, &timed_out);
	hvabs_exit e{};

	EXPECT_FALSE(timed_out) << "hvabs_vcpu_run did not return within the time limit";
	EXPECT_EQ(0, ret) << "hvabs_vcpu_run: " << describe(ret);
	if (ret == 0)
		e = *hvabs_vcpu_exit(vcpu);
	return e;
}

void GuestTest::expect_mmio_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t val)
{
	hvabs_exit e = run(vcpu);

	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason) << "got " << hvabs_exit_reason_name(e.reason);
	EXPECT_EQ(addr, e.mmio.addr);
	EXPECT_EQ(len, e.mmio.len);
	EXPECT_EQ(1, e.mmio.is_write);
	EXPECT_EQ(val, le_load(e.mmio.data, e.mmio.len)) << "at 0x" << std::hex << e.mmio.addr;
}

void GuestTest::complete_mmio_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t val)
{
	hvabs_exit e = run(vcpu);

	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason) << "got " << hvabs_exit_reason_name(e.reason);
	EXPECT_EQ(addr, e.mmio.addr);
	EXPECT_EQ(len, e.mmio.len);
	EXPECT_EQ(0, e.mmio.is_write);
	hvabs_exit *x = hvabs_vcpu_exit(vcpu);
	le_store(x->mmio.data, 8, val);
}

void GuestTest::expect_status_exited(hvabs_vcpu *vcpu, uint16_t exit_type)
{
	hvabs_exit e = run(vcpu);

	ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason) << "got " << hvabs_exit_reason_name(e.reason);
	EXPECT_EQ(HVABS_STATUS_EXITED, e.status.status);
	EXPECT_EQ(exit_type, e.status.exit_type);
}

struct hvabs_vcpu_stats GuestTest::stats(hvabs_vcpu *vcpu)
{
	struct hvabs_vcpu_stats s{};

	hvabs_vcpu_stats_get(vcpu, &s);
	return s;
}

} /* namespace hvt */

using hvt::BackendTest;
using hvt::GuestTest;

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::ValuesIn(hvt::compiled_backends()),
			 hvt::backend_param_name);
INSTANTIATE_TEST_SUITE_P(Kits, GuestTest, ::testing::ValuesIn(hvt::guest_params()),
			 hvt::guest_param_name);
