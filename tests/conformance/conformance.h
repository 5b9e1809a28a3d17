/* SPDX-License-Identifier: MIT */
/* tests/conformance/conformance.h: fixtures of the backend-parameterised conformance suite. */
#ifndef HVABS_TESTS_CONFORMANCE_CONFORMANCE_H
#define HVABS_TESTS_CONFORMANCE_CONFORMANCE_H

#include "guest_kit.h"
#include "hvabs_test.h"
#include "test_fn.h"

#include <memory>
#include <string>
#include <vector>

namespace hvt {

std::vector<std::string> compiled_backends();

struct GuestParam {
	std::string backend;
	std::string kit; /* "none" when the backend has no kit */
};

inline void PrintTo(const GuestParam &p, std::ostream *os)
{
	*os << p.backend << "/" << p.kit;
}

/* Every (backend, kit) pair, plus (backend, "none") for kit-less backends. */
std::vector<GuestParam> guest_params();

std::string backend_param_name(const ::testing::TestParamInfo<std::string> &info);
std::string guest_param_name(const ::testing::TestParamInfo<GuestParam> &info);

/*
 * Sweep mode (tests/sweep/README.md): when $HVABS_SWEEP names a fault to
 * inject, tests/sweep installs these hooks before main() and the fixtures
 * call them; otherwise sweep_hooks() is null and nothing changes. The test
 * body is unaware of the fault: its own assertions may fail, and the
 * verdict is what the hooks record for the sweep driver.
 */
class SweepHooks {
public:
	virtual ~SweepHooks() = default;
	/* After the fixture's baseline (@alloc_base): start counting injection points. */
	virtual void arm(const std::string &backend, size_t alloc_base) = 0;
	/* Before the fixture destroys @vms: check every live VM is still usable (injector paused). */
	virtual void before_destroy(const std::vector<hvabs_vm *> &vms) = 0;
	/* After the fixture destroyed @vms: destroy what the test created and left behind. */
	virtual void destroy_leftovers() = 0;
	/* After every object is gone: stop injecting. */
	virtual void after_destroy() = 0;
	/* End of TearDown: stop injecting (the leak checks and the record follow once the test object is gone). */
	virtual void finish() = 0;
	/* Watchdog of GuestTest::run() (shorter than the default: a fault may strand a guest). */
	virtual std::chrono::milliseconds run_timeout() const = 0;
};

/* The installed hooks, or null outside sweep mode. */
SweepHooks *&sweep_hooks();

/*
 * Base of both fixtures: skips when the backend does not probe, tracks the
 * VMs a test creates, destroys leftovers and checks hvabs_alloc_count()
 * returns to its value before the test.
 */
class VmFixtureBase {
protected:
	bool setup_backend(const std::string &name, std::string *skip_reason);
	/* Destroy the test's VMs and unregister the pool's types. */
	void destroy_vms();
	/* destroy_vms(), then check for leaks. */
	void teardown_vms();

	/* Create a VM on the fixture's backend; tracked for teardown. */
	int create_vm(hvabs_vm **out, const hvabs_vm_options *opts = nullptr);
	void destroy_vm(hvabs_vm *vm);
	/* A 64 KiB RAM region at @gpa (so hvabs_vm_start() has memory). */
	int add_ram(hvabs_vm *vm, uint32_t label = 1, uint64_t gpa = 0x100000,
		    uint64_t size = 0x10000);
	bool has_fn(uint32_t type) const { return caps_.fn_types & (1u << type); }
	bool has_feat(uint32_t bit) const { return (caps_.features & bit) != 0; }
	bool has_space(hvabs_space s) const { return caps_.io_spaces & (1u << s); }
	bool has_resume(hvabs_resume r) const { return caps_.resume_actions & (1u << r); }

	std::string backend_;
	EventLog log_;
	Pool pool_; /* outlives the VMs (destroyed in TearDown) */
	hvabs_caps caps_{};
	size_t alloc_base_ = 0;
	std::vector<hvabs_vm *> vms_;
	bool swept_ = false; /* sweep mode armed a fault for this test */

	/* Sweep mode: the end of TearDown. */
	void sweep_finish();
};

class BackendTest : public ::testing::TestWithParam<std::string>, protected VmFixtureBase {
protected:
	void SetUp() override;
	void TearDown() override;
	const char *backend() const { return backend_.c_str(); }
};

/* As BackendTest, plus the VM vm_ (RAM prepared by the kit) and a GuestKit. */
class GuestTest : public ::testing::TestWithParam<GuestParam>, protected VmFixtureBase {
protected:
	void SetUp() override;
	void TearDown() override;

	/* Add vCPU @id to vm_ playing @prog. */
	hvabs_vcpu *add_vcpu(uint32_t id, const GuestProgram &prog);
	int start();
	/* Run once with a watchdog; fails the test on an error or a hang. */
	hvabs_exit run(hvabs_vcpu *vcpu);
	void expect_mmio_write(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t val);
	/* Expect an MMIO read exit and complete it with @val. */
	void complete_mmio_read(hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t val);
	void expect_result(hvabs_vcpu *vcpu, uint64_t val) { expect_mmio_write(vcpu, kResultAddr, 8, val); }
	void expect_status_exited(hvabs_vcpu *vcpu, uint16_t exit_type);
	struct hvabs_vcpu_stats stats(hvabs_vcpu *vcpu);

	std::unique_ptr<GuestKit> kit_;
	hvabs_vm *vm_ = nullptr;
};

} /* namespace hvt */

/* Skip unless the kit can express every op of @prog. */
#define REQUIRE_PROGRAM(prog)                                                  \
	do {                                                                   \
		if (!kit_->supports_all(prog))                                 \
			GTEST_SKIP() << "kit " << kit_->name()                 \
				     << " cannot express this program";        \
	} while (0)

#define ASSERT_EXIT_REASON(want, exit)                                         \
	ASSERT_EQ((uint32_t)(want), (exit).reason)                             \
		<< "wanted " << hvabs_exit_reason_name(want) << ", got "       \
		<< hvabs_exit_reason_name((exit).reason)

#define REQUIRE(cond, why)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			GTEST_SKIP() << backend_ << ": " << why;              \
	} while (0)

#endif
