/* SPDX-License-Identifier: MIT */
/* bench/bench_control.cc: control plane - function add/remove pairs, VM create/start/run/destroy and ticket populate at start on sim. */
#include "bench.h"

#include <cstring>
#include <string>
#include <sys/eventfd.h>
#include <unistd.h>

namespace hb {

/* ---- a user-defined function type with the cheapest possible bind ---- */

namespace {

int user_bind(hvabs_function *fn)
{
	hvabs_function_set_data(fn, fn);
	return 0;
}

void user_unbind(hvabs_function *fn)
{
	hvabs_function_set_data(fn, nullptr);
}

const struct hvabs_function_type user_type = {
	HVABS_FUNCTION_TYPE_VERSION, kUserType, "bench-user", user_bind, user_unbind, nullptr, nullptr,
};

} /* namespace */

int user_type_register()
{
	int ret = hvabs_function_type_register(&user_type);

	return ret == HVABS_EEXIST ? 0 : ret;
}

void user_type_unregister()
{
	(void)hvabs_function_type_unregister(kUserType);
}

int RunningVm::init(const char **what, unsigned nvcpus)
{
	hvabs_vm_options o = sim_options();
	int ret;

	*what = "hvabs_vm_create";
	ret = hvabs_vm_create(&vm, &o);
	if (!ret) {
		*what = "hvabs_vm_mem_add";
		ret = ram_add(vm);
	}
	for (unsigned i = 0; !ret && i < nvcpus; i++) {
		*what = "hvabs_vm_vcpu_add";
		ret = hvabs_vm_vcpu_add(nullptr, vm, i);
	}
	if (!ret) {
		*what = "hvabs_vm_start";
		ret = hvabs_vm_start(vm);
	}
	return ret;
}

namespace {

/* One add+remove pair of the function described by @d; ns. */
int pair(hvabs_vm *vm, const hvabs_fn_desc &d, double *ns)
{
	hvabs_function *fn = nullptr;
	uint64_t t0 = now_ns();
	int ret = hvabs_vm_function_add(&fn, vm, &d);

	if (ret)
		return ret;
	ret = hvabs_function_remove(fn);
	*ns = (double)(now_ns() - t0);
	return ret;
}

void bm_pair(benchmark::State &st, const char *name, uint32_t type)
{
	for (auto _ : st) {
		RunningVm rv;
		const char *what = "";
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		hvabs_fn_vcpu_arg va = { 1 };
		hvabs_fn_irqfd_arg ia = { efd, 7, 0, -1 };
		hvabs_fn_ioeventfd_arg ea = { 0, 0xd0000000ull, 4, efd, 0, HVABS_SPACE_MMIO };
		uint64_t ua = 0x1234;
		hvabs_fn_desc d = { type, 0, nullptr };
		std::vector<double> v;
		uint32_t n = pick(20000, 20);
		uint64_t t0 = now_ns();
		int ret = rv.init(&what);

		if (ret) {
			fail(st, what, ret);
			close(efd);
			return;
		}
		switch (type) {
		case HVABS_FN_VCPU:
			d.arg = &va, d.arg_size = sizeof(va);
			n = pick(2000, 20); /* removed vCPU objects stay until the VM is freed */
			break;
		case HVABS_FN_IRQFD:
			d.arg = &ia, d.arg_size = sizeof(ia);
			break;
		case HVABS_FN_IOEVENTFD:
			d.arg = &ea, d.arg_size = sizeof(ea);
			break;
		default:
			d.arg = &ua, d.arg_size = sizeof(ua);
			ret = user_type_register();
			break;
		}
		for (uint32_t i = 0; !ret && i < n + n / 10; i++) {
			double ns = 0;

			ret = pair(rv.vm, d, &ns);
			if (i >= n / 10)
				v.push_back(ns);
		}
		if (ret) {
			fail(st, "add/remove pair", ret);
		} else {
			Record r = record_of(name, v, 1);
			publish(st, r, (double)(now_ns() - t0) * 1e-9);
		}
		hvabs_vm_destroy(rv.vm);
		rv.vm = nullptr;
		close(efd);
		if (type >= HVABS_FN_USER_MIN)
			user_type_unregister();
	}
}

/* ---- VM lifecycle ---- */

void halt_guest(hvabs_sim_guest *g, void *payload)
{
	(void)payload;
	for (;;)
		hvabs_sim_guest_halt(g);
}

struct Lifecycle {
	std::vector<double> create, start, first_run, destroy, destroy_ran;
	bool done = false;
};
Lifecycle life;

/* create -> vCPU -> start -> destroy, and the same with one run (guest thread). */
int lifecycle(uint32_t n)
{
	hvabs_vm_options o = sim_options();

	life = Lifecycle();
	for (uint32_t i = 0; i < n; i++) {
		for (int ran = 0; ran < 2; ran++) {
			hvabs_vm *vm = nullptr;
			hvabs_vcpu *vcpu = nullptr;
			uint64_t t0 = now_ns();
			int ret = hvabs_vm_create(&vm, &o);
			uint64_t t1 = now_ns();

			if (ret)
				return ret;
			ret = ram_add(vm);
			if (!ret)
				ret = hvabs_vm_vcpu_add(&vcpu, vm, 0);
			if (!ret && ran)
				ret = hvabs_sim_vcpu_set_guest(vcpu, halt_guest, nullptr);
			uint64_t t2 = now_ns();
			if (!ret)
				ret = hvabs_vm_start(vm);
			uint64_t t3 = now_ns();
			if (!ret && ran) {
				ret = hvabs_vcpu_run(vcpu);
				if (!ret && hvabs_vcpu_exit(vcpu)->reason != HVABS_EXIT_HLT)
					ret = HVABS_ERROR;
			}
			uint64_t t4 = now_ns();
			hvabs_vm_destroy(vm);
			uint64_t t5 = now_ns();
			if (ret)
				return ret;
			if (ran) {
				life.first_run.push_back((double)(t4 - t3));
				life.destroy_ran.push_back((double)(t5 - t4));
			} else {
				life.create.push_back((double)(t1 - t0));
				life.start.push_back((double)(t3 - t2));
				life.destroy.push_back((double)(t5 - t4));
			}
		}
	}
	life.done = true;
	return 0;
}

void bm_life(benchmark::State &st, const char *name, std::vector<double> Lifecycle::*which)
{
	for (auto _ : st) {
		uint64_t t0 = now_ns();

		if (which == &Lifecycle::create) {
			int ret = lifecycle(pick(2000, 10));
			if (ret)
				return fail(st, "vm lifecycle", ret);
		}
		if (!life.done)
			return st.SkipWithError("vm_create did not run");
		Record r = record_of(name, life.*which, 1);
		publish(st, r, (double)(now_ns() - t0) * 1e-9);
	}
}

/* ---- ticket populate at start ---- */

/* A user-defined type whose every instance claims doorbell (BELL_RX, label = its argument) with a ticket. */
constexpr uint32_t kTicketType = HVABS_FN_USER_MIN + 0x43;

int ticket_populate(hvabs_ticket *t, const hvabs_resource *r, void *payload)
{
	(void)t, (void)r, (void)payload;
	return 0;
}

void ticket_unpopulate(hvabs_ticket *t, const hvabs_resource *r, void *payload)
{
	(void)t, (void)r, (void)payload;
}

int ticket_bind(hvabs_function *fn)
{
	uint64_t label = 0;
	const void *arg = hvabs_function_arg(fn, nullptr);
	hvabs_ticket *t = nullptr;

	memcpy(&label, arg, sizeof(label));
	hvabs_ticket_desc d = { HVABS_TICKET_DESC_VERSION, HVABS_RESOURCE_BELL_RX, (uint32_t)label,
				ticket_populate, ticket_unpopulate, nullptr };
	int ret = hvabs_vm_ticket_add(&t, hvabs_function_vm(fn), &d);

	hvabs_function_set_data(fn, t);
	return ret;
}

void ticket_unbind(hvabs_function *fn)
{
	hvabs_ticket_remove(static_cast<hvabs_ticket *>(hvabs_function_data(fn)));
	hvabs_function_set_data(fn, nullptr);
}

const struct hvabs_function_type ticket_type = {
	HVABS_FUNCTION_TYPE_VERSION, kTicketType, "bench-ticket", ticket_bind, ticket_unbind, nullptr, nullptr,
};

/* hvabs_vm_start of a sim VM (RAM, vCPU 0) with @n ticket-holding instances; ns in *@ns. */
int start_with_tickets(uint32_t n, double *ns)
{
	hvabs_vm_options o = sim_options();
	hvabs_vm *vm = nullptr;
	hvabs_function *last = nullptr;
	int ret = hvabs_vm_create(&vm, &o);

	if (!ret)
		ret = ram_add(vm);
	if (!ret)
		ret = hvabs_vm_vcpu_add(nullptr, vm, 0);
	for (uint32_t i = 0; !ret && i < n; i++) {
		uint64_t label = i;
		hvabs_fn_desc d = { kTicketType, sizeof(label), &label };

		ret = hvabs_vm_function_add(&last, vm, &d);
	}
	uint64_t t0 = now_ns();
	if (!ret)
		ret = hvabs_vm_start(vm);
	*ns = (double)(now_ns() - t0);
	/* the tickets were populated at start (the path measured) */
	if (!ret && last && !hvabs_ticket_resource(static_cast<hvabs_ticket *>(hvabs_function_data(last))))
		ret = kWrongPath;
	hvabs_vm_destroy(vm);
	return ret;
}

/*
 * Rounds of: start of a VM with @n tickets, start of the same VM without;
 * a sample is the difference / @n (ns per ticket: resource creation and
 * populate). Alternating keeps both under the same load.
 */
void bm_tickets(benchmark::State &st, uint32_t n)
{
	for (auto _ : st) {
		std::string name = "vm_start_tickets_n" + std::to_string(n);
		std::vector<double> v;
		uint64_t t0 = now_ns();
		int ret = hvabs_function_type_register(&ticket_type);

		if (ret == HVABS_EEXIST)
			ret = 0;
		for (uint32_t r = 0; !ret && r < pick(n >= 1000 ? 10 : 100, 2); r++) {
			double with = 0, without = 0;

			ret = start_with_tickets(n, &with);
			if (!ret)
				ret = start_with_tickets(0, &without);
			v.push_back((with - without) / n);
		}
		(void)hvabs_function_type_unregister(kTicketType);
		if (ret)
			return fail(st, "VM start with tickets", ret);
		Record rec = record_of(name, v, n);
		publish(st, rec, (double)(now_ns() - t0) * 1e-9);
	}
}

} /* namespace */

void register_control()
{
	reg("ctl_vcpu_add_remove",
	    [](benchmark::State &st) { bm_pair(st, "ctl_vcpu_add_remove", HVABS_FN_VCPU); });
	reg("ctl_irqfd_add_remove",
	    [](benchmark::State &st) { bm_pair(st, "ctl_irqfd_add_remove", HVABS_FN_IRQFD); });
	reg("ctl_ioeventfd_add_remove", [](benchmark::State &st) {
		bm_pair(st, "ctl_ioeventfd_add_remove", HVABS_FN_IOEVENTFD);
	});
	reg("ctl_user_fn_add_remove",
	    [](benchmark::State &st) { bm_pair(st, "ctl_user_fn_add_remove", kUserType); });
	reg("vm_create", [](benchmark::State &st) { bm_life(st, "vm_create", &Lifecycle::create); });
	reg("vm_start_1vcpu",
	    [](benchmark::State &st) { bm_life(st, "vm_start_1vcpu", &Lifecycle::start); });
	reg("vm_destroy_1vcpu",
	    [](benchmark::State &st) { bm_life(st, "vm_destroy_1vcpu", &Lifecycle::destroy); });
	reg("vm_first_run",
	    [](benchmark::State &st) { bm_life(st, "vm_first_run", &Lifecycle::first_run); });
	reg("vm_destroy_after_run", [](benchmark::State &st) {
		bm_life(st, "vm_destroy_after_run", &Lifecycle::destroy_ran);
	});
	for (uint32_t n : { 10u, 100u, 1000u })
		reg("vm_start_tickets_n" + std::to_string(n), [n](benchmark::State &st) { bm_tickets(st, n); });
}

} /* namespace hb */
