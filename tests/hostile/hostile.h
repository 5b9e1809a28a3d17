/* SPDX-License-Identifier: MIT */
/* tests/hostile/hostile.h: targets, VM setup, exit validation and a watchdog-guarded run loop for hostile guests. */
#ifndef HVABS_TESTS_HOSTILE_HOSTILE_H
#define HVABS_TESTS_HOSTILE_HOSTILE_H

#include "guest_code.h"
#include "hvabs_test.h"
#include "sim_engine_abi.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace hvt {
namespace hostile {

/* A backend that runs guest code, in one CPU mode. */
struct Target {
	const char *backend; /* "sim" (Unicorn engine) or "kvm" */
	Mode mode;
	bool sim() const { return backend[0] == 's'; }
	bool kvm() const { return !sim(); }
};

/* sim x86 real/prot32/long64, sim arm64, kvm x86 real/prot32/long64. */
std::vector<Target> all_targets();
/* "sim_x86_real", "kvm_x86_long64", ... */
std::string target_ident(const Target &t);
/* Can this process run @t (backend compiled and usable, Unicorn, host arch)? */
bool target_usable(const Target &t, std::string *why);

#define HOSTILE_SKIP_UNLESS_USABLE(t)                                          \
	do {                                                                   \
		std::string why_;                                              \
		if (!::hvt::hostile::target_usable((t), &why_))                \
			GTEST_SKIP() << why_;                                  \
	} while (0)

/* Entries of /proc/self/fd. */

/* Resources of the process before a test: checked again when it ends. */
class LeakCheck {
public:
	LeakCheck() : fds_(open_fd_count()), allocs_(hvabs_alloc_count()) {}
	/* Adds failures for leaked fds or library allocations. */
	void expect_clean(const std::string &what) const;

private:
	int fds_;
	size_t allocs_;
};

/* Seconds of randomized work per test and target: $HVABS_HOSTILE_SECONDS (default @dflt). */
double hostile_seconds(double dflt);
/* First seed: $HVABS_HOSTILE_SEED (default @dflt); a failure names the seed to rerun. */
uint64_t hostile_seed(uint64_t dflt);

/*
 * One VM of a Target with the layout's RAM (+ ROM), boot setup and
 * @nr_vcpus vCPUs; not started. KVM VMs get @kvm_config (e.g.
 * "irqchip=off" for HLT exits).
 */
class Vm {
public:
	explicit Vm(const Target &t) : t_(t) {}
	~Vm() { destroy(); }
	Vm(const Vm &) = delete;
	Vm &operator=(const Vm &) = delete;

	int create(uint32_t nr_vcpus = 1, bool rom = true, const char *kvm_config = nullptr);
	bool load(const Code &c) { return c.install(vm); }
	int start() { return hvabs_vm_start(vm); }
	void destroy()
	{
		hvabs_vm_destroy(vm);
		vm = nullptr;
		vcpus.clear();
	}
	const Target &target() const { return t_; }
	bool hlt_exits() const { return hlt_exits_; }

	hvabs_vm *vm = nullptr;
	std::vector<hvabs_vcpu *> vcpus;

private:
	Target t_;
	bool hlt_exits_ = false;
};

/*
 * Does @e have a documented reason for @t, with sane fields? "" when it
 * does, else what is wrong. @hlt: HLT exits are possible (sim x86, KVM
 * with irqchip=off). MMIO exits must not lie inside RAM (nor inside ROM,
 * except KVM writes to the read-only slot).
 */
std::string exit_problem(const Target &t, const hvabs_exit &e, bool hlt);

/* For sim CRASHED statuses: the fault kind (1..6) from the reason bytes, or 0. */
unsigned fault_kind(const hvabs_exit &e);
std::string describe_exit(const hvabs_exit &e);

/* How a run loop completes the accesses it sees and when it stops. */
struct DrivePolicy {
	std::chrono::milliseconds budget{ 200 }; /* then a watchdog kicks (every 5 ms) */
	unsigned max_exits = 100000;
	bool random_completion = true; /* reads get random data; sim: random resume actions */
	uint64_t seed = 1;
	/* Called for MMIO/PIO exits first; return true when it completed the access itself. */
	std::function<bool(hvabs_exit *)> on_access;
	/* Stop after this exit (called for every exit, after on_access). */
	std::function<bool(const hvabs_exit &)> stop_after;
};

/* What a run loop saw. */
struct DriveLog {
	std::map<uint32_t, uint64_t> reasons; /* exit reason -> count */
	hvabs_exit last{};
	int ret = 0;              /* a non-zero hvabs_vcpu_run() return ends the loop */
	bool watchdog = false;    /* the budget ran out: kicked */
	bool stopped = false;     /* STATUS, or (KVM) SHUTDOWN/INTERNAL/UNKNOWN ended the guest */
	std::vector<std::string> problems;
	std::string end; /* why the loop ended */
};

/*
 * Run vCPU @vcpu until the guest stops, stop_after says so, max_exits or
 * the budget (kick watchdog) ends it. Every exit is checked with
 * exit_problem(). A run that does not return within budget + 10 s is a hang:
 * the process aborts (a test cannot recover from it).
 */
DriveLog drive(Vm &vm, hvabs_vcpu *vcpu, const DrivePolicy &p);

} /* namespace hostile */
} /* namespace hvt */

#endif
