/* SPDX-License-Identifier: MIT */
/* tests/common/sim_vm.cc: a sim VM with RAM and callback guests, for sim-specific tests. */
#include "sim_vm.h"

namespace hvt {

int SimVm::create(const hvabs_vm_options *opts)
{
	hvabs_vm_options o = vm_options("sim");
	int ret;

	kit_ = make_guest_kit("sim", "callback");
	if (!kit_)
		return HVABS_ENOTFOUND;
	ret = hvabs_vm_create(&vm, opts ? opts : &o);
	if (ret) {
		vm = nullptr;
		return ret;
	}
	return kit_->prepare_vm(vm);
}

int SimVm::add_vcpu(hvabs_vcpu **out, uint32_t id, const GuestProgram &prog)
{
	int ret = hvabs_vm_vcpu_add(out, vm, id);

	if (ret)
		return ret;
	return kit_->load(*out, prog);
}

int SimVm::add_vcpu_fn(hvabs_vcpu **out, uint32_t id, hvabs_sim_guest_fn fn, void *payload)
{
	int ret = hvabs_vm_vcpu_add(out, vm, id);

	if (ret)
		return ret;
	return hvabs_sim_vcpu_set_guest(*out, fn, payload);
}

void SimVm::destroy()
{
	hvabs_vm_destroy(vm);
	vm = nullptr;
}

hvabs_vm *SimVm::release()
{
	hvabs_vm *v = vm;

	vm = nullptr;
	return v;
}

} /* namespace hvt */
