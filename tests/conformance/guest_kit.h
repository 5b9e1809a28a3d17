/* SPDX-License-Identifier: MIT */
/* tests/conformance/guest_kit.h: abstract guest programs and the per-backend kits that run them. */
#ifndef HVABS_TESTS_CONFORMANCE_GUEST_KIT_H
#define HVABS_TESTS_CONFORMANCE_GUEST_KIT_H

#include <hvabs.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

/*
 * The conformance suite describes what a guest does as a GuestProgram, a
 * short list of GuestOps, and never as code for one backend. A GuestKit
 * turns programs into something a backend runs: callback guests for sim
 * today; x86/arm64 machine code for Unicorn-sim, KVM and Gunyah later
 * (one kit each, registered under the backend's name with
 * HVT_REGISTER_GUEST_KIT). A backend without a kit still runs every test
 * that needs no guest; guest tests are skipped for it. A new kit is one .cc
 * file added to the hvabs_conformance_tests target (target_sources() from
 * its owner's CMakeLists.txt); the suite instantiates GuestTest once per
 * (backend, kit) pair.
 *
 * Guest-visible conventions every kit must follow:
 *  - Values the guest learns (MMIO_READ, PIO_READ, WAIT_IRQ) are reported
 *    by an 8-byte MMIO write of the value to kResultAddr.
 *  - An access that faults (caller completed it with HVABS_RESUME_FAULT)
 *    is reported by an 8-byte MMIO write of the op's index to kFaultAddr
 *    (kits that cannot do this return false from reports_faults()); the
 *    program then continues with the next op.
 *  - Falling off the end of the program powers the VM off with exit type
 *    VM_EXIT and no reason (same as EXIT(VM_EXIT, 0, 0)) where
 *    powers_off_at_end(); real-guest kits cannot, and park instead.
 *  - Guest RAM, when a kit needs some, lives in [kRamBase, kRamBase +
 *    kRamSize) with label kRamLabel; tests keep their MMIO addresses in
 *    [kMmioBase, kResultAddr) and never touch RAM themselves.
 */

namespace hvt {

constexpr uint64_t kRamBase = 0x0;
constexpr uint64_t kRamSize = 0x200000; /* 2 MiB */
constexpr uint32_t kRamLabel = 0x7a0;
constexpr uint64_t kMmioBase = 0x10000000;
constexpr uint64_t kResultAddr = 0x1fff0000;
constexpr uint64_t kFaultAddr = 0x1fff0008;

enum class Op {
	MMIO_WRITE,   /* addr, len, val */
	MMIO_READ,    /* addr, len; reports the value */
	PIO_WRITE,    /* port in addr, len 1/2/4, val */
	PIO_READ,     /* port in addr, len; reports the value */
	WAIT_IRQ,     /* sleep until an interrupt, acknowledge it; reports the line */
	EOI,          /* end of interrupt for line (val) */
	HALT,         /* halt with interrupts off (an HLT exit) */
	LOOP_FOREVER, /* a runaway loop without accesses (only a kick stops it) */
	EXIT,         /* power off: exit type (addr), reason bytes (val, little-endian), reason size (len) */
};

const char *op_name(Op op);

struct GuestOp {
	Op op;
	uint64_t addr;
	uint32_t len;
	uint64_t val;
};

/* A guest program, built fluently: GuestProgram().mmio_write(a, 4, v).exit(). */
struct GuestProgram {
	std::vector<GuestOp> ops;

	GuestProgram &mmio_write(uint64_t addr, uint32_t len, uint64_t val);
	GuestProgram &mmio_read(uint64_t addr, uint32_t len);
	GuestProgram &pio_write(uint16_t port, uint32_t len, uint32_t val);
	GuestProgram &pio_read(uint16_t port, uint32_t len);
	GuestProgram &wait_irq();
	GuestProgram &eoi(uint32_t line);
	GuestProgram &halt();
	GuestProgram &loop_forever();
	GuestProgram &exit(uint16_t exit_type = HVABS_EXIT_TYPE_VM_EXIT, uint64_t reason = 0,
			   uint32_t reason_size = 0);
	bool uses(Op op) const;
};

/*
 * Runs GuestPrograms on one backend. Lifetime: the kit outlives every VM it
 * prepared. Call order per VM: adjust_options() before hvabs_vm_create(),
 * prepare_vm() in LOAD, load() once per vCPU after hvabs_vm_vcpu_add(),
 * finalize() just before hvabs_vm_start().
 */
class GuestKit {
public:
	virtual ~GuestKit() = default;
	virtual std::string name() const = 0;
	/* Can programs use @op on this kit? */
	virtual bool supports(Op op) const = 0;
	/* Can programs use this op with these operands (e.g. only some EXIT types)? */
	virtual bool supports_op(const GuestOp &op) const { return supports(op.op); }
	/* Does falling off the end power the VM off (VM_EXIT)? Real guests cannot. */
	virtual bool powers_off_at_end() const { return true; }
	/* Does a faulted access get reported at kFaultAddr? */
	virtual bool reports_faults() const = 0;
	virtual void adjust_options(hvabs_vm_options *opts) const { (void)opts; }
	/* Add the RAM and boot setup the kit needs. */
	virtual int prepare_vm(hvabs_vm *vm) = 0;
	/* Make @vcpu run @prog (the kit copies it). */
	virtual int load(hvabs_vcpu *vcpu, const GuestProgram &prog) = 0;
	virtual int finalize(hvabs_vm *vm) { (void)vm; return 0; }

	bool supports_all(const GuestProgram &prog) const;
};

using GuestKitFactory = std::function<std::unique_ptr<GuestKit>()>;

/* One kit registered for a backend. */
struct GuestKitEntry {
	std::string backend;
	std::string kit;
	GuestKitFactory factory;
};

/* Registry, filled by static registrars before main(). */
void register_guest_kit(const std::string &backend, const std::string &kit, GuestKitFactory f);
std::vector<GuestKitEntry> guest_kits_for(const std::string &backend);
/* A new kit named @kit for @backend, or nullptr when none is registered. */
std::unique_ptr<GuestKit> make_guest_kit(const std::string &backend, const std::string &kit);

struct GuestKitRegistrar {
	GuestKitRegistrar(const char *backend, const char *kit, GuestKitFactory f)
	{
		register_guest_kit(backend, kit, std::move(f));
	}
};

#define HVT_REGISTER_GUEST_KIT(ident, backend, kit, factory) \
	static ::hvt::GuestKitRegistrar hvt_kit_registrar_##ident(backend, kit, factory)

} /* namespace hvt */

#endif
