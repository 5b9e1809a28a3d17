/* SPDX-License-Identifier: MIT */
/* tests/threads/test_callback_locking.cc: IO handler callbacks vs the VM lock and teardown - functions with IO handlers coming and going meanwhile. */
#include "hvabs_test.h"
#include "sim_vm.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

/*
 * Regression: adding or removing an IO handler from inside a function's
 * bind/unbind (an ioeventfd on sim, or any user type with handlers) waited
 * for the IO grace period with the VM lock still held. A vCPU inside some
 * other handler's callback that called into the library (which takes the
 * VM lock, as callbacks may) then blocked on that lock while the writer
 * waited for it to leave its callback: a deadlock.
 */

using namespace hvt;

namespace {

constexpr uint64_t kDev = kMmioBase;          /* the handler whose callback calls the library */
constexpr uint64_t kBell = kMmioBase + 0x100; /* the ioeventfd that comes and goes */

struct Gate {
	hvabs_vm *vm = nullptr;
	std::atomic<int> in_callback{ 0 };
	std::atomic<bool> go{ false };
	std::atomic<int> calls{ 0 };
	std::atomic<bool> stop{ false };
};

/* Waits until told to go, then calls into the library (taking the VM lock). */
int dev_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *payload)
{
	Gate *g = static_cast<Gate *>(payload);
	g->in_callback++;
	auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	while (!g->go && std::chrono::steady_clock::now() < until)
		std::this_thread::yield();
	(void)hvabs_vm_io_handler_count(g->vm);
	g->calls++;
	return 0;
}

void dev_guest(hvabs_sim_guest *guest, void *payload)
{
	Gate *g = static_cast<Gate *>(payload);
	while (!g->stop)
		hvabs_sim_guest_mmio_write(guest, kDev, 4, 1);
	for (;;)
		hvabs_sim_guest_halt(guest);
}

template <typename T> T finish(std::future<T> &f, const char *what)
{
	if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
		fprintf(stderr, "%s did not finish: deadlock between the IO grace period and the VM lock\n", what);
		std::abort();
	}
	return f.get();
}

class CallbackLocking : public ::testing::TestWithParam<bool> {
protected:
	void SetUp() override { SKIP_UNLESS_SIM(); }
};

/* Param: false = add the ioeventfd, true = remove it while the callback waits for the lock. */
TEST_P(CallbackLocking, FunctionChangeDuringACallbackThatTakesTheVmLockCompletes)
{
	const bool remove = GetParam();
	size_t base = hvabs_alloc_count();
	SimVm sim;
	Gate g;
	EventFd bell;
	hvabs_vcpu *vcpu;
	HV_ASSERT_OK(sim.create());
	g.vm = sim.vm;
	hvabs_io_desc d = io_desc(HVABS_SPACE_MMIO, kDev, 4, 4, nullptr, dev_write, &g);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, sim.vm, &d));
	HV_ASSERT_OK(sim.add_vcpu_fn(&vcpu, 0, dev_guest, &g));
	if (remove) {
		HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, sim.vm, HVABS_SPACE_MMIO, kBell, 4, bell.fd(), 0, 0));
	}
	HV_ASSERT_OK(sim.start());

	auto runner = std::async(std::launch::async, [&] {
		hvabs_exit *e = hvabs_vcpu_exit(vcpu);
		int ret;
		while ((ret = hvabs_vcpu_run(vcpu)) == 0 && e->reason == HVABS_EXIT_INTR)
			;
		return ret;
	});
	ASSERT_TRUE(wait_until([&] { return g.in_callback.load() > 0; })) << "guest never reached its handler";

	/* bind/unbind of the generic ioeventfd changes the IO table with the VM lock held. */
	auto changer = std::async(std::launch::async, [&] {
		hvabs_fn_ioeventfd_arg a = { 0, kBell, 4, bell.fd(), 0, HVABS_SPACE_MMIO };
		hvabs_fn_desc fd = { HVABS_FN_IOEVENTFD, sizeof(a), &a };
		return remove ? hvabs_vm_function_remove(g.vm, &fd) : hvabs_vm_function_add(nullptr, g.vm, &fd);
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(50)); /* let it publish and wait */
	g.go = true; /* the callback now takes the VM lock */
	HV_EXPECT_OK(finish(changer, remove ? "ioeventfd remove" : "ioeventfd add"));
	ASSERT_TRUE(wait_until([&] { return g.calls.load() > 0; })) << "the callback never got the lock";

	g.stop = true;
	EXPECT_EQ(0, finish(runner, "runner"));
	EXPECT_EQ((uint32_t)HVABS_EXIT_HLT, hvabs_vcpu_exit(vcpu)->reason);
	EXPECT_EQ(remove ? 1u : 2u, hvabs_vm_io_handler_count(sim.vm));
	sim.destroy();
	EXPECT_EQ(base, hvabs_alloc_count());
}

INSTANTIATE_TEST_SUITE_P(Ioeventfd, CallbackLocking, ::testing::Values(false, true),
			 [](const ::testing::TestParamInfo<bool> &i) { return i.param ? "Remove" : "Add"; });

} /* namespace */

/*
 * Regression: hvabs_vm_destroy() marks the VM DESTROYED before it waits for
 * the vCPUs, and hvabs_io_handler_remove() took DESTROYED to mean "teardown,
 * nothing runs": a function removed by another thread in that window (its
 * unbind removing its IO handler, then freeing the payload) got its handler
 * freed at once, while a vCPU was still inside the handler's callback.
 */
namespace {

constexpr uint32_t kSlowType = 0x9310;
constexpr uint64_t kSlowDev = kMmioBase + 0x200;

struct SlowDev {
	std::atomic<int> inside{ 0 };
	std::atomic<bool> release{ false };
	std::atomic<int> inside_when_removed{ -1 };
	hvabs_io_handler *h = nullptr;
};

int slow_dev_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *payload)
{
	SlowDev *d = static_cast<SlowDev *>(payload);
	d->inside = 1;
	auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	while (!d->release && std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	d->inside = 0;
	return 0;
}

int slow_bind(hvabs_function *fn)
{
	SlowDev *d = static_cast<SlowDev *>(hvabs_function_type_payload(fn));
	hvabs_io_desc io = io_desc(HVABS_SPACE_MMIO, kSlowDev, 4, 4, nullptr, slow_dev_write, d);
	return hvabs_vm_io_handler_add(&d->h, hvabs_function_vm(fn), &io);
}

void slow_unbind(hvabs_function *fn)
{
	SlowDev *d = static_cast<SlowDev *>(hvabs_function_type_payload(fn));
	hvabs_io_handler_remove(d->h);
	/* The contract: no callback of the handler runs any more. */
	d->inside_when_removed = d->inside.load();
}

void slow_guest(hvabs_sim_guest *g, void *)
{
	for (;;)
		hvabs_sim_guest_mmio_write(g, kSlowDev, 4, 1);
}

} /* namespace */

TEST(TeardownWindow, FunctionRemovedWhileDestroyWaitsForVcpusWaitsForItsCallbacks)
{
	SKIP_UNLESS_SIM();
	size_t base = hvabs_alloc_count();
	SlowDev dev;
	hvabs_function_type t{};
	t.version = HVABS_FUNCTION_TYPE_VERSION;
	t.type = kSlowType;
	t.name = "slow-dev";
	t.bind = slow_bind;
	t.unbind = slow_unbind;
	t.payload = &dev;
	HV_ASSERT_OK(hvabs_function_type_register(&t));
	{
		SimVm sim;
		hvabs_vcpu *vcpu;
		uint32_t key = 1;
		hvabs_fn_desc d = { kSlowType, sizeof(key), &key };
		HV_ASSERT_OK(sim.create());
		HV_ASSERT_OK(hvabs_vm_function_add(nullptr, sim.vm, &d));
		HV_ASSERT_OK(sim.add_vcpu_fn(&vcpu, 0, slow_guest, nullptr));
		HV_ASSERT_OK(sim.start());
		hvabs_vm *vm = sim.release();
		hvabs_vm_get(vm); /* for the calls made while and after it is destroyed */
		auto runner = std::async(std::launch::async, [vcpu] {
			int ret;
			while ((ret = hvabs_vcpu_run(vcpu)) == 0)
				;
			return ret;
		});
		ASSERT_TRUE(wait_until([&] { return dev.inside.load() == 1; })) << "the guest never reached its device";
		/* The destroy marks the VM DESTROYED, then waits for the vCPU stuck in the callback. */
		auto destroyer = std::async(std::launch::async, [vm] { hvabs_vm_destroy(vm); });
		ASSERT_TRUE(wait_until([&] {
			hvabs_vm_status st{};
			hvabs_vm_status_get(vm, &st);
			return st.state == HVABS_VM_DESTROYED;
		}));
		auto remover = std::async(std::launch::async, [vm, &d] { return hvabs_vm_function_remove(vm, &d); });
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
		dev.release = true;
		HV_EXPECT_OK(finish(remover, "function remove during destroy"));
		finish(destroyer, "destroy");
		HV_EXPECT_CODE(HVABS_ESTATE, finish(runner, "runner"));
		EXPECT_EQ(0, dev.inside_when_removed.load())
			<< "the handler was removed (and its payload could be freed) while its callback ran";
		hvabs_vm_put(vm);
	}
	HV_EXPECT_OK(hvabs_function_type_unregister(kSlowType));
	EXPECT_EQ(base, hvabs_alloc_count());
}
