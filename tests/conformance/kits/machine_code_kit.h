/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/machine_code_kit.h: GuestKit running GuestPrograms as real guest code. */
#ifndef HVABS_TESTS_CONFORMANCE_KITS_MACHINE_CODE_KIT_H
#define HVABS_TESTS_CONFORMANCE_KITS_MACHINE_CODE_KIT_H

#include "guest_kit.h"
#include "kit_codegen.h"

#include <initializer_list>
#include <map>
#include <set>
#include <string>

namespace hvt {
namespace kits {

/*
 * One backend/arch combination: RAM at [kRamBase, kRamSize), the programs
 * of all vCPUs compiled into one image at finalize() (every vCPU enters
 * at the same entry and branches on its id), see kit_codegen.h for what
 * the guest does. State is kept per VM: a test may prepare several VMs
 * with one kit.
 */
class MachineCodeKit : public GuestKit {
public:
	struct Config {
		std::string name;
		Target target;
		hvabs_arch arch;
		const char *backend_config; /* or nullptr */
		std::set<Op> ops;           /* what supports() admits */
		bool psci_exit;             /* EXIT where can_express() allows (arm64 PSCI) */
	};

	explicit MachineCodeKit(Config cfg) : cfg_(std::move(cfg)) {}

	std::string name() const override { return cfg_.name; }
	bool supports(Op op) const override { return cfg_.ops.count(op) != 0; }
	bool supports_op(const GuestOp &op) const override
	{
		return (supports(op.op) || (op.op == Op::EXIT && cfg_.psci_exit)) &&
		       can_express(cfg_.target, op);
	}
	bool powers_off_at_end() const override { return false; }
	bool reports_faults() const override { return cfg_.target.faults; }
	void adjust_options(hvabs_vm_options *opts) const override;
	int prepare_vm(hvabs_vm *vm) override;
	int load(hvabs_vcpu *vcpu, const GuestProgram &prog) override;
	int finalize(hvabs_vm *vm) override;

private:
	Config cfg_;
	std::map<hvabs_vm *, std::map<uint32_t, GuestProgram>> programs_;
};

} /* namespace kits */
} /* namespace hvt */

#endif
