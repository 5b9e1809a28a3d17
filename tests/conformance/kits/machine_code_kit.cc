/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/machine_code_kit.cc: RAM, code and boot setup of the machine-code kits. */
#include "machine_code_kit.h"

#include <gtest/gtest.h>

#include <cstring>

namespace hvt {
namespace kits {

void MachineCodeKit::adjust_options(hvabs_vm_options *opts) const
{
	opts->arch = cfg_.arch;
	if (cfg_.backend_config)
		opts->backend_config = cfg_.backend_config;
}

int MachineCodeKit::prepare_vm(hvabs_vm *vm)
{
	hvabs_mem_region r{};

	r.version = HVABS_MEM_REGION_VERSION;
	r.label = kRamLabel;
	r.flags = HVABS_MEM_RWX;
	r.guest_addr = kRamBase;
	r.size = kRamSize;
	programs_[vm].clear(); /* a new VM may reuse a destroyed one's address */
	return hvabs_vm_mem_add(vm, &r);
}

int MachineCodeKit::load(hvabs_vcpu *vcpu, const GuestProgram &prog)
{
	for (const GuestOp &o : prog.ops)
		if (!can_express(cfg_.target, o)) {
			ADD_FAILURE() << "kit " << cfg_.name << " cannot express " << op_name(o.op)
				      << " (addr 0x" << std::hex << o.addr << " len " << std::dec << o.len
				      << ")";
			return HVABS_ENOTSUP;
		}
	programs_[hvabs_vcpu_vm(vcpu)][hvabs_vcpu_id(vcpu)] = prog;
	return 0;
}

int MachineCodeKit::finalize(hvabs_vm *vm)
{
	Image img;
	std::string err;

	if (!build_image(cfg_.target, programs_[vm], &img, &err)) {
		ADD_FAILURE() << "kit " << cfg_.name << ": " << err;
		return HVABS_EINVAL;
	}
	for (const Segment &s : img.segments) {
		void *dst = hvabs_vm_mem_host(vm, s.gpa, s.bytes.size());

		if (!dst) {
			ADD_FAILURE() << "kit " << cfg_.name << ": no RAM at 0x" << std::hex << s.gpa;
			return HVABS_EINVAL;
		}
		memcpy(dst, s.bytes.data(), s.bytes.size());
	}
	return hvabs_vm_boot_set(vm, &img.boot);
}

} /* namespace kits */
} /* namespace hvt */
