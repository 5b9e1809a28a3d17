/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kit_codegen.h: GuestPrograms compiled to x86-64 / arm64 machine code. */
#ifndef HVABS_TESTS_CONFORMANCE_KITS_KIT_CODEGEN_H
#define HVABS_TESTS_CONFORMANCE_KITS_KIT_CODEGEN_H

#include "guest_kit.h"

#include <map>
#include <string>
#include <vector>

namespace hvt {
namespace kits {

/*
 * The generated guest (both arches):
 *  - Every vCPU enters at one entry, installs the kit's exception vectors
 *    and branches on its vCPU id (x86 EDI, arm64 X1) to its own program;
 *    an id without a program parks.
 *  - Interrupts stay masked except inside WAIT_IRQ, which sleeps
 *    (x86 "sti; hlt", arm64 masked "wfi" then a short unmask) until the
 *    handler recorded a line, then reports it at kResultAddr.
 *  - Faults (Target::faults): each op that accesses MMIO/ports first notes
 *    its index and the address of the next op; the #GP / data abort
 *    handler reports the index at kFaultAddr and resumes there.
 *  - End of program: real guests cannot power the VM off with VM_EXIT, so
 *    the program writes its op count (8 bytes) to kEndAddr and parks
 *    (x86 "cli; hlt" loop: an HLT exit per run where HLT exits; arm64
 *    masked "wfi" loop).
 *  - Any other exception writes 8 bytes to kBadAddr (x86: 0xbad << 32 |
 *    vector; arm64: vector slot << 32 | ESR_EL1) and parks, so a broken
 *    guest shows up as an unexpected MMIO exit instead of a hang.
 */

/* Kit-owned MMIO above the test range (guest_kit.h keeps tests below kResultAddr). */
constexpr uint64_t kEndAddr = kResultAddr + 0x10;
constexpr uint64_t kBadAddr = kResultAddr + 0x18;

enum class GuestArch { X86_64, ARM64 };

/* Who delivers interrupts and how the guest acknowledges and ends them. */
enum class IrqModel {
	NONE,   /* no interrupt controller: WAIT_IRQ and EOI cannot be expressed */
	SIM_IC, /* sim engine: x86 vectors 0x20.., arm64 IRQ; IAR/EOIR registers */
	PC_PIC, /* KVM in-kernel 8259 pair in its reset state: vector = line (0..7) */
};

struct Target {
	GuestArch arch;
	IrqModel irq;
	bool faults;    /* install the fault-reporting handler */
	bool hlt_exits; /* x86 HLT with interrupts off is an HLT exit */
};

/* Guest-physical bytes to copy into RAM before start. */
struct Segment {
	uint64_t gpa;
	std::vector<uint8_t> bytes;
};

struct Image {
	std::vector<Segment> segments;
	hvabs_boot_config boot;
};

/* Can @t run @op? (EXIT only as arm64 PSCI SYSTEM_OFF/SYSTEM_RESET without reason bytes.) */
bool can_express(const Target &t, const GuestOp &op);

/*
 * Compile @progs (vCPU id -> program) for @t into @out. False with @err
 * when an op cannot be expressed or the code does not fit.
 */
bool build_image(const Target &t, const std::map<uint32_t, GuestProgram> &progs, Image *out,
		 std::string *err);

/* Per-arch halves of build_image() (kit_codegen_x86.cc, kit_codegen_arm64.cc). */
bool build_x86(const Target &t, const std::map<uint32_t, GuestProgram> &progs, Image *out,
	       std::string *err);
bool build_arm64(const Target &t, const std::map<uint32_t, GuestProgram> &progs, Image *out,
		 std::string *err);

} /* namespace kits */
} /* namespace hvt */

#endif
