/* SPDX-License-Identifier: MIT */
/* tests/fault/scenario.cc: a representative VM set-up and run, used to sweep injected failures. */
#include "scenario.h"

#include "guest_kit.h"
#include "hvabs_test.h"
#include "test_fn.h"

#include <atomic>
#include <functional>
#include <utility>

namespace hvt {
namespace {

std::atomic<const char *> current_step{ "" };

constexpr uint32_t kScenarioType = 0x8100;
constexpr uint64_t kHandler = kMmioBase;
constexpr uint64_t kIoev = kMmioBase + 0x100;
constexpr uint64_t kFnHandler = kMmioBase + 0x200;
constexpr uint64_t kExitAddr = kMmioBase + 0x300;

int on_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *)
{
	return 0;
}

/* Served write, user-function write, ioeventfd write, then an exit to the caller. */
void guest(hvabs_sim_guest *g, void *)
{
	hvabs_sim_guest_mmio_write(g, kHandler, 4, 1);
	hvabs_sim_guest_mmio_write(g, kFnHandler, 4, 2);
	hvabs_sim_guest_mmio_write(g, kIoev, 4, 3);
	hvabs_sim_guest_mmio_write(g, kExitAddr, 4, 4);
}

/* Holds the scenario's objects; steps return 0 or the failing call's code. */
class Scenario {
public:
	Scenario() : type_(kScenarioType, &log_) {}

	ScenarioResult run()
	{
		ScenarioResult r;
		r.rc = steps(&r);
		current_step = "teardown";
		hvabs_vm_destroy(vm_);
		vm_ = nullptr;
		if (registered_)
			type_.unregister_type();
		r.live_instances = type_.live.load();
		r.populates = (int)(log_.count("populate:1") + log_.count("populate:T3") +
				    log_.count("populate:T4"));
		r.unpopulates = (int)(log_.count("unpopulate:1") + count_prefix("unpopulate:T3") +
				      count_prefix("unpopulate:T4"));
		current_step = "";
		return r;
	}

private:
	int count_prefix(const std::string &p) const
	{
		int n = 0;
		for (const std::string &e : log_.events())
			n += e.compare(0, p.size(), p) == 0;
		return n;
	}

	/* The scenario as named steps, run in order until one fails. */
	int steps(ScenarioResult *r)
	{
		hvabs_vcpu *vcpu = nullptr;
		RecFnArg a = rec_arg(1, HVABS_RESOURCE_BELL_RX, 2, kFnHandler);
		hvabs_fn_irqfd_arg ia = { -1, 1, 0, -1 };
		const std::pair<const char *, std::function<int()>> list[] = {
			{ "type_register", [&] { return reg(); } },
			{ "vm_create", [&] {
				 hvabs_vm_options o = vm_options("sim");
				 return hvabs_vm_create(&vm_, &o);
			 } },
			{ "mem_add", [&] {
				 hvabs_mem_region ram = region(kRamLabel, kRamBase, 0x10000);
				 return hvabs_vm_mem_add(vm_, &ram);
			 } },
			{ "mem_add_extra", [&] {
				 hvabs_mem_region extra = region(2, 0x100000, 0x1000);
				 return hvabs_vm_mem_add(vm_, &extra);
			 } },
			{ "mem_remove", [&] {
				 int ret = hvabs_vm_mem_remove(vm_, 2);
				 return ret == HVABS_ENOTSUP ? 0 : ret;
			 } },
			{ "vcpu_add", [&] { return hvabs_vm_vcpu_add(&vcpu, vm_, 0); } },
			{ "set_guest", [&] { return hvabs_sim_vcpu_set_guest(vcpu, guest, nullptr); } },
			{ "irqfd_add", [&] { return hvabs_vm_irqfd_add(nullptr, vm_, irq_.fd(), 1, 0, -1); } },
			{ "ioeventfd_add", [&] {
				 return hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kIoev, 4,
							       ioev_.fd(), 0, 0);
			 } },
			{ "function_add", [&] { return add_function(a); } },
			{ "io_handler_add", [&] {
				 hvabs_io_desc h = io_desc(HVABS_SPACE_MMIO, kHandler, 8, 0, nullptr, on_write);
				 return hvabs_vm_io_handler_add(nullptr, vm_, &h);
			 } },
			{ "ticket_add", [&] { return add_ticket(&t3_); } },
			{ "vm_start", [&] { return hvabs_vm_start(vm_); } },
			{ "vcpu_run", [&] { return run_guest(vcpu, r); } },
			{ "late_ticket_add", [&] { return add_ticket(&t4_); } },
			{ "irqfd_remove", [&] {
				 hvabs_fn_desc di = { HVABS_FN_IRQFD, sizeof(ia), &ia };
				 return hvabs_vm_function_remove(vm_, &di);
			 } },
		};

		for (const auto &step : list) {
			current_step = step.first;
			int ret = step.second();
			if (ret) {
				r->step = step.first;
				return ret;
			}
		}
		return 0;
	}

	int reg()
	{
		int ret = type_.register_type();

		registered_ = ret == 0;
		return ret;
	}

	int add_function(const RecFnArg &a)
	{
		hvabs_fn_desc d = type_.desc(a);

		return hvabs_vm_function_add(nullptr, vm_, &d);
	}

	int add_ticket(LoggedTicket *t)
	{
		hvabs_ticket_desc d = logged_ticket_desc(t, HVABS_RESOURCE_BELL_TX);

		t->vm = vm_;
		return hvabs_vm_ticket_add(nullptr, vm_, &d);
	}

	int run_guest(hvabs_vcpu *vcpu, ScenarioResult *r)
	{
		bool timed_out = false;
		int ret = run_bounded(vcpu, &timed_out);
		if (ret)
			return ret;
		const hvabs_exit *e = hvabs_vcpu_exit(vcpu);
		r->guest_ran = !timed_out && e->reason == HVABS_EXIT_MMIO && e->mmio.addr == kExitAddr;
		return r->guest_ran ? 0 : HVABS_ERROR;
	}

	EventLog log_;
	RecordingType type_;
	EventFd irq_, ioev_;
	LoggedTicket t3_{ &log_, nullptr, 3 }, t4_{ &log_, nullptr, 4 };
	hvabs_vm *vm_ = nullptr;
	bool registered_ = false;
};

} /* namespace */

const char *scenario_current_step()
{
	return current_step.load();
}

ScenarioResult run_scenario()
{
	Scenario s;
	return s.run();
}

} /* namespace hvt */
