/* SPDX-License-Identifier: MIT */
/* tests/sweep/sweep_child.h: sweep mode inside the conformance binary - injector interface shared by its files. */
#ifndef HVABS_TESTS_SWEEP_SWEEP_CHILD_H
#define HVABS_TESTS_SWEEP_SWEEP_CHILD_H

#include <hvabs.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hvt {
namespace sweep {

/*
 * One kind of fault ("alloc", "simop", "emu"). A kind has named operations;
 * an injection point is (operation, nth): the nth call of that operation
 * after arm(), not counting calls made while paused, fails. A counting
 * run (HVABS_SWEEP=count:<kinds>) fails nothing: the driver's first run of a
 * test learns how many points each kind has.
 */
class Injector {
public:
	virtual ~Injector() = default;
	virtual const char *kind() const = 0;
	virtual std::vector<std::string> ops() const = 0;
	/* Can this kind inject into VMs of @backend in this process? */
	virtual bool applies(const std::string &backend, std::string *why) const = 0;
	/* Calls of @op so far (process-wide, monotonic). */
	virtual uint64_t count(const std::string &op) const = 0;
	/* Fail the @nth call of @op from now on; clear() cancels. */
	virtual void set(const std::string &op, uint64_t nth) = 0;
	virtual void clear() = 0;
	/* HVABS_E* code a caller should see when @op fails (0: unknown). */
	virtual int expected_code(const std::string &op) const = 0;
	/* Once, when a test arms this kind (e.g. install the allocator); false + @err: cannot. */
	virtual bool prepare(std::string *err)
	{
		(void)err;
		return true;
	}
	/*
	 * Whether the fault is observed on the failing thread (true: alloc, via
	 * note_hit()); otherwise it is attributed to the innermost caller-visible
	 * call that was in progress when the operation's counter passed nth.
	 */
	virtual bool thread_exact() const { return false; }
};

using InjectorFactory = std::function<std::unique_ptr<Injector>()>;

/* Registry of kinds; each kind's file registers itself before main(). */
std::map<std::string, InjectorFactory> &injectors();

struct RegisterInjector {
	RegisterInjector(const char *kind, InjectorFactory f) { injectors()[kind] = std::move(f); }
};

/*
 * Per-backend checks that do not depend on the kind (e.g. the Gunyah
 * emulator's kernel objects), run by finish() for tests on that backend.
 */
struct BackendObserver {
	/* Wait for asynchronous teardown to finish before the leak checks. */
	std::function<void()> quiesce;
	/* Objects left behind outside libhvabs ("" when none). */
	std::function<std::string()> leftovers;
};

std::map<std::string, BackendObserver> &observers();

struct RegisterObserver {
	RegisterObserver(const char *backend, BackendObserver o) { observers()[backend] = std::move(o); }
};

/* For thread-exact injectors: the armed fault hits now, on the calling thread. */
void note_hit();

} /* namespace sweep */
} /* namespace hvt */

#endif
