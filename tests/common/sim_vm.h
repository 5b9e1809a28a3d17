/* SPDX-License-Identifier: MIT */
/* tests/common/sim_vm.h: a sim VM with RAM and callback guests, for sim-specific tests. */
#ifndef HVABS_TESTS_COMMON_SIM_VM_H
#define HVABS_TESTS_COMMON_SIM_VM_H

#include "guest_kit.h"
#include "hvabs_test.h"

#include <memory>

namespace hvt {

/*
 * Owns one sim VM (created with RAM at kRamBase) and the callback GuestKit
 * that plays its guests. The destructor destroys the VM before the kit.
 */
class SimVm {
public:
	SimVm() = default;
	~SimVm() { destroy(); }
	SimVm(const SimVm &) = delete;
	SimVm &operator=(const SimVm &) = delete;

	/* Create the VM (options default to backend "sim") and add RAM. */
	int create(const hvabs_vm_options *opts = nullptr);
	/* Add vCPU @id playing @prog (GuestKit) or the raw callback @fn. */
	int add_vcpu(hvabs_vcpu **out, uint32_t id, const GuestProgram &prog);
	int add_vcpu_fn(hvabs_vcpu **out, uint32_t id, hvabs_sim_guest_fn fn, void *payload);
	int start() { return hvabs_vm_start(vm); }
	void destroy();
	/* Give up ownership (the caller destroys the VM). */
	hvabs_vm *release();

	hvabs_vm *vm = nullptr;

private:
	std::unique_ptr<GuestKit> kit_;
};

} /* namespace hvt */

#endif
