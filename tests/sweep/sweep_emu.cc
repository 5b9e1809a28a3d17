/* SPDX-License-Identifier: MIT */
/* tests/sweep/sweep_emu.cc: sweep kind "emu" (the /dev/gunyah emulator's errno injection) and the emulated kernel's leak check. */
#include "sweep_child.h"

#include <hvabs_gunyah_emu.h>

#include <cerrno>

namespace hvt {
namespace sweep {
namespace {

/*
 * Every trapped operation the emulator can fail, each with its natural
 * errno: ENOMEM (the Gunyah driver's and the Resource Manager's
 * allocations) for most; EACCES for open (a device node the process may
 * not open: the backend reports the host has no usable Gunyah, ENODEV);
 * EINTR for remove_function, the one way a valid removal fails in the
 * driver (it takes the VM's function lock interruptibly) - the backend
 * cannot report a failed removal, so it must not give up on EINTR.
 */
struct EmuOp {
	const char *name;
	int err;
	int code; /* what the backend's errno map makes of it */
};

const EmuOp kEmuOps[] = {
	{ "open", EACCES, HVABS_ENODEV },
	{ "create_vm", ENOMEM, HVABS_ENOMEM },
	{ "set_user_mem_region", ENOMEM, HVABS_ENOMEM },
	{ "set_dtb_config", ENOMEM, HVABS_ENOMEM },
	{ "start", ENOMEM, HVABS_ENOMEM },
	{ "add_function", ENOMEM, HVABS_ENOMEM },
	{ "remove_function", EINTR, HVABS_EINTR },
	{ "vcpu_run", ENOMEM, HVABS_ENOMEM },
	{ "vcpu_mmap_size", ENOMEM, HVABS_ENOMEM },
};

const EmuOp *find(const std::string &op)
{
	for (const EmuOp &o : kEmuOps)
		if (op == o.name)
			return &o;
	return nullptr;
}

class EmuInjector : public Injector {
public:
	const char *kind() const override { return "emu"; }

	std::vector<std::string> ops() const override
	{
		std::vector<std::string> v;
		for (const EmuOp &o : kEmuOps)
			v.push_back(o.name);
		return v;
	}

	bool applies(const std::string &backend, std::string *why) const override
	{
		if (backend != "gunyah") {
			*why = "emu injects into gunyah through the emulator only";
			return false;
		}
		if (!hvabs_gunyah_emu_active()) {
			*why = "the emulator is not running (set HVABS_GUNYAH_EMU_ABI)";
			return false;
		}
		return true;
	}

	uint64_t count(const std::string &op) const override { return hvabs_gunyah_emu_op_count(op.c_str()); }

	void set(const std::string &op, uint64_t nth) override
	{
		const EmuOp *o = find(op);
		if (o)
			(void)hvabs_gunyah_emu_fault_set(op.c_str(), (unsigned int)nth, o->err);
	}

	void clear() override { hvabs_gunyah_emu_fault_clear(); }

	int expected_code(const std::string &op) const override
	{
		const EmuOp *o = find(op);
		return o ? o->code : 0;
	}
};

const RegisterInjector reg_emu("emu", [] { return std::unique_ptr<Injector>(new EmuInjector()); });

/* Whatever the kind: after teardown the emulated kernel holds nothing of the test's. */
std::string emu_leftovers()
{
	struct hvabs_gunyah_emu_stats s{};

	if (!hvabs_gunyah_emu_active())
		return "";
	hvabs_gunyah_emu_sync();
	hvabs_gunyah_emu_stats(&s);
	if (!s.vms && !s.vcpus && !s.functions && !s.regions && !s.sim_vms)
		return "";
	return "emu vms=" + std::to_string(s.vms) + " vcpus=" + std::to_string(s.vcpus) +
	       " functions=" + std::to_string(s.functions) + " regions=" + std::to_string(s.regions) +
	       " sim_vms=" + std::to_string(s.sim_vms);
}

const RegisterObserver obs_gunyah("gunyah", BackendObserver{
						    [] {
							    if (hvabs_gunyah_emu_active())
								    hvabs_gunyah_emu_sync();
						    },
						    emu_leftovers,
					    });

} /* namespace */
} /* namespace sweep */
} /* namespace hvt */
