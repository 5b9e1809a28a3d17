/* SPDX-License-Identifier: MIT */
/* tests/sweep/sweep_inject.cc: sweep kinds "alloc" (a failing allocator) and "simop" (sim's fault injector). */
#include "sweep_child.h"

#include <atomic>
#include <cstdlib>

namespace hvt {
namespace sweep {
namespace {

/*
 * "alloc": every library allocation (malloc and realloc through the hook)
 * is one call of op "alloc". The allocator is installed at the first arm,
 * while no library object exists, and stays for the process.
 */
std::atomic<uint64_t> g_alloc_calls{ 0 };
std::atomic<uint64_t> g_alloc_target{ 0 }; /* call number that fails; 0: none */

bool alloc_fails_now()
{
	uint64_t n = ++g_alloc_calls;
	uint64_t t = g_alloc_target.load(std::memory_order_acquire);

	if (!t || n != t || !g_alloc_target.compare_exchange_strong(t, 0))
		return false;
	note_hit();
	return true;
}

void *sweep_malloc(size_t size, void *)
{
	return alloc_fails_now() ? nullptr : std::malloc(size);
}

void *sweep_realloc(void *ptr, size_t size, void *)
{
	return alloc_fails_now() ? nullptr : std::realloc(ptr, size);
}

void sweep_free(void *ptr, void *)
{
	std::free(ptr);
}

class AllocInjector : public Injector {
public:
	const char *kind() const override { return "alloc"; }
	std::vector<std::string> ops() const override { return { "alloc" }; }
	bool applies(const std::string &, std::string *) const override { return true; }

	bool prepare(std::string *err) override
	{
		static bool installed = false;
		hvabs_allocator a{};

		if (installed)
			return true;
		a.version = HVABS_ALLOCATOR_VERSION;
		a.malloc = sweep_malloc;
		a.realloc = sweep_realloc;
		a.free = sweep_free;
		int ret = hvabs_set_allocator(&a);
		if (ret) {
			*err = std::string("hvabs_set_allocator: ") + hvabs_err_name(ret) + " " +
			       hvabs_error_last()->message;
			return false;
		}
		installed = true;
		return true;
	}

	uint64_t count(const std::string &) const override { return g_alloc_calls.load(); }
	void set(const std::string &, uint64_t nth) override { g_alloc_target = g_alloc_calls.load() + nth; }
	void clear() override { g_alloc_target = 0; }
	int expected_code(const std::string &) const override { return HVABS_ENOMEM; }
	bool thread_exact() const override { return true; }
};

const RegisterInjector reg_alloc("alloc", [] { return std::unique_ptr<Injector>(new AllocInjector()); });

#ifdef HVT_SWEEP_SIM
/*
 * "simop": sim's fault injector (hvabs_sim_fault_set), one op at a time.
 * Every fallible sim operation, each failing with its natural code: what
 * the operation would meet in a real hypervisor (allocation failures are
 * ENOMEM; a hypervisor refusing to start or run a vCPU, or to unmap, is
 * EIO). vm_destroy is left out: it is only counted and cannot fail.
 */
struct SimOp {
	const char *name;
	int code;
};

const SimOp kSimOps[] = {
	{ "vm_create", HVABS_ENOMEM },	 { "mem_add", HVABS_ENOMEM },
	{ "mem_remove", HVABS_EIO },	 { "vm_start", HVABS_EIO },
	{ "vcpu_create", HVABS_ENOMEM }, { "vcpu_run", HVABS_EIO },
	{ "irqfd_assign", HVABS_ENOMEM }, { "ioeventfd_assign", HVABS_ENOMEM },
	{ "resource_create", HVABS_ENOMEM },
};

class SimInjector : public Injector {
public:
	const char *kind() const override { return "simop"; }

	std::vector<std::string> ops() const override
	{
		std::vector<std::string> v;
		for (const SimOp &o : kSimOps)
			v.push_back(o.name);
		return v;
	}

	bool applies(const std::string &backend, std::string *why) const override
	{
		if (backend == "sim")
			return true;
		*why = "simop injects into the sim backend only";
		return false;
	}

	uint64_t count(const std::string &op) const override { return hvabs_sim_op_count(op.c_str()); }

	void set(const std::string &op, uint64_t nth) override
	{
		(void)hvabs_sim_fault_set(op.c_str(), (unsigned int)nth, expected_code(op));
	}

	void clear() override { hvabs_sim_fault_clear(); }

	int expected_code(const std::string &op) const override
	{
		for (const SimOp &o : kSimOps)
			if (op == o.name)
				return o.code;
		return 0;
	}
};

const RegisterInjector reg_sim("simop", [] { return std::unique_ptr<Injector>(new SimInjector()); });
#endif

} /* namespace */
} /* namespace sweep */
} /* namespace hvt */
