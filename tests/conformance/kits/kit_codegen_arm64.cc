/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kit_codegen_arm64.cc: GuestPrograms as arm64 EL1 machine code. */
#include "kit_asm.h"
#include "kit_codegen.h"

namespace hvt {
namespace kits {
namespace {

/*
 * Layout in RAM (EL1h, MMU off):
 *   0x10000 vector table (VBAR_EL1), then the code: entry, programs, handlers
 *   0x80000 stack of vCPU 0 (vCPU n: - n * HVABS_BOOT_STACK_STRIDE)
 * Registers: x19 op index and x20 resume address (faults), x21 the line
 * taken by the IRQ handler; x0..x2 scratch.
 */
constexpr uint64_t kVbar = 0x10000;
constexpr uint64_t kCodeLimit = 0x60000;
constexpr uint64_t kStack = 0x80000;
constexpr uint64_t kIcBase = 0x08010000; /* HVABS_GUEST_IC_MMIO_BASE */
constexpr uint32_t kIcIar = 0x0c;        /* HVABS_GUEST_IC_IAR */
constexpr uint32_t kIcEoir = 0x10;       /* HVABS_GUEST_IC_EOIR */
constexpr uint32_t kSimSpurious = 1023;  /* HVABS_GUEST_IC_SPURIOUS */
constexpr uint32_t kPsciSystemOff = 0x84000008;
constexpr uint32_t kPsciSystemReset = 0x84000009;
constexpr uint32_t kEcDataAbortSameEl = 0x25;
constexpr unsigned kSlotSyncSpx = 4; /* 0x200: synchronous, current EL with SP_ELx */
constexpr unsigned kSlotIrqSpx = 5;  /* 0x280: IRQ, current EL with SP_ELx */

static_assert(kRamBase == 0 && kRamSize >= kStack, "arm64 kit layout needs RAM at 0");

/* Fixed instructions. */
constexpr uint32_t WFI = 0xd503207f;
constexpr uint32_t ISB = 0xd5033fdf;
constexpr uint32_t ERET = 0xd69f03e0;
constexpr uint32_t HVC0 = 0xd4000002;
constexpr uint32_t DAIFSET_I = 0xd50342df;   /* msr daifset, #2 */
constexpr uint32_t DAIFCLR_I = 0xd50342ff;   /* msr daifclr, #2 */
constexpr uint32_t B = 0x14000000;           /* | imm26 */
constexpr uint32_t BCOND = 0x54000000;       /* | imm19 << 5 | cond */
constexpr uint32_t ADR = 0x10000000;         /* | immlo, immhi, Rd */
constexpr uint32_t COND_EQ = 0x0, COND_NE = 0x1;
/* System registers as MRS/MSR operands (op0 3, op1 0). */
constexpr uint32_t MRS = 0xd5380000, MSR = 0xd5180000;
constexpr uint32_t SR_VBAR_EL1 = 12 << 12 | 0 << 8 | 0 << 5;
constexpr uint32_t SR_SPSR_EL1 = 4 << 12 | 0 << 8 | 0 << 5;
constexpr uint32_t SR_ELR_EL1 = 4 << 12 | 0 << 8 | 1 << 5;
constexpr uint32_t SR_ESR_EL1 = 5 << 12 | 2 << 8 | 0 << 5;

bool accesses(Op op)
{
	return op == Op::MMIO_WRITE || op == Op::MMIO_READ;
}

/* LDR/STR (unsigned offset) base opcode for @len bytes; | imm12 << 10 | Rn << 5 | Rt. */
uint32_t ldst(uint32_t len, bool load)
{
	uint32_t size = len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3;

	return 0x39000000 | size << 30 | (load ? 1u << 22 : 0);
}

class A64Gen {
public:
	explicit A64Gen(const Target &t) : t_(t), a_(kVbar) {}

	bool build(const std::map<uint32_t, GuestProgram> &progs, Image *out, std::string *err);

private:
	using Label = Asm::Label;

	void b(Label l) { a_.use(Asm::Fix::A64_IMM26, l), a_.insn(B); }
	void bcond(uint32_t cond, Label l) { a_.use(Asm::Fix::A64_IMM19, l), a_.insn(BCOND | cond); }
	void adr(unsigned rd, Label l) { a_.use(Asm::Fix::A64_ADR, l), a_.insn(ADR | rd); }
	void mov(unsigned rd, uint64_t v);
	/* str x<rt>, [x<rn>] */
	void str64(unsigned rt, unsigned rn) { a_.insn(ldst(8, false) | rn << 5 | rt); }
	void report(unsigned rt, uint64_t addr) { mov(0, addr), str64(rt, 0); }

	void vectors();
	void entry(const std::map<uint32_t, GuestProgram> &progs, std::map<uint32_t, Label> *starts);
	bool program(const GuestProgram &p, std::string *err);
	bool op(const GuestOp &o, std::string *err);
	void wait_irq();
	void handlers();

	const Target &t_;
	Asm a_;
	Label park_ = a_.label();
	Label bad_ = a_.label();
	Label sync_ = a_.label();
	Label irq_ = a_.label();
	Label start_ = a_.label();
};

/* movz, then movk for each further non-zero halfword. */
void A64Gen::mov(unsigned rd, uint64_t v)
{
	a_.insn(0xd2800000 | (uint32_t)(v & 0xffff) << 5 | rd); /* movz */
	for (uint32_t hw = 1; hw < 4; hw++) {
		uint32_t h = (uint32_t)(v >> (16 * hw)) & 0xffff;

		if (h)
			a_.insn(0xf2800000 | hw << 21 | h << 5 | rd); /* movk */
	}
}

/* 16 slots of 0x80 bytes: sync and IRQ from EL1h go to handlers, others report as unexpected. */
void A64Gen::vectors()
{
	for (unsigned slot = 0; slot < 16; slot++) {
		a_.align(0x80);
		if (slot == kSlotSyncSpx && t_.faults) {
			b(sync_);
		} else if (slot == kSlotIrqSpx && t_.irq == IrqModel::SIM_IC) {
			b(irq_);
		} else {
			mov(1, slot);
			b(bad_);
		}
	}
	a_.align(0x80);
}

void A64Gen::entry(const std::map<uint32_t, GuestProgram> &progs, std::map<uint32_t, Label> *starts)
{
	a_.bind(start_);
	mov(0, kVbar);
	a_.insn(MSR | SR_VBAR_EL1 | 0); /* msr vbar_el1, x0 */
	a_.insn(ISB);
	for (const auto &p : progs) {
		Label l = a_.label();
		(*starts)[p.first] = l;
		mov(2, p.first);
		a_.insn(0xeb02003f); /* cmp x1, x2 */
		bcond(COND_EQ, l);
	}
	b(park_);
}

/*
 * x21 = -1; loop { if (x21 != -1) break; wfi (masked: wakes when an IRQ
 * is pending); unmask; isb; mask }: the handler records the line.
 */
void A64Gen::wait_irq()
{
	Label loop = a_.label(), done = a_.label();

	a_.insn(0x92800015); /* movn x21, #0 */
	a_.bind(loop);
	a_.insn(0xb10006bf); /* cmn x21, #1 */
	bcond(COND_NE, done);
	a_.insn(WFI);
	a_.insn(DAIFCLR_I);
	a_.insn(ISB);
	a_.insn(DAIFSET_I);
	b(loop);
	a_.bind(done);
	report(21, kResultAddr);
}

bool A64Gen::op(const GuestOp &o, std::string *err)
{
	if (!can_express(t_, o)) {
		*err = std::string("arm64 kit cannot express ") + op_name(o.op);
		return false;
	}
	switch (o.op) {
	case Op::MMIO_WRITE:
		mov(0, o.addr);
		mov(1, o.val);
		a_.insn(ldst(o.len, false) | 0 << 5 | 1); /* str{b,h,,} w1/x1, [x0] */
		break;
	case Op::MMIO_READ:
		mov(0, o.addr);
		a_.insn(ldst(o.len, true) | 0 << 5 | 1); /* ldr{b,h,,} w1/x1, [x0] (zero-extends) */
		report(1, kResultAddr);
		break;
	case Op::WAIT_IRQ:
		wait_irq();
		break;
	case Op::EOI:
		mov(0, kIcBase);
		mov(1, o.val);
		a_.insn(ldst(4, false) | (kIcEoir / 4) << 10 | 0 << 5 | 1); /* str w1, [x0, #EOIR] */
		break;
	case Op::LOOP_FOREVER:
		a_.insn(B); /* b . */
		break;
	case Op::EXIT:
		mov(0, o.addr == HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET ? kPsciSystemReset : kPsciSystemOff);
		a_.insn(HVC0);
		b(park_); /* PSCI does not return */
		break;
	default:
		break; /* refused by can_express() */
	}
	return true;
}

bool A64Gen::program(const GuestProgram &p, std::string *err)
{
	for (size_t i = 0; i < p.ops.size(); i++) {
		Label next = a_.label();

		if (accesses(p.ops[i].op)) {
			mov(19, i);
			adr(20, next);
		}
		if (!op(p.ops[i], err))
			return false;
		a_.bind(next);
	}
	mov(1, p.ops.size());
	report(1, kEndAddr);
	b(park_);
	return true;
}

void A64Gen::handlers()
{
	Label not_abort = a_.label(), spurious = a_.label();

	/* park: mask IRQs, wfi forever */
	a_.bind(park_);
	a_.insn(DAIFSET_I);
	Label wait = a_.label();
	a_.bind(wait);
	a_.insn(WFI);
	b(wait);

	/* Unexpected exception (slot in x1): report slot << 32 | ESR_EL1 at kBadAddr, park. */
	a_.bind(bad_);
	a_.insn(MRS | SR_ESR_EL1 | 0); /* mrs x0, esr_el1 */
	a_.insn(0xaa018000);           /* orr x0, x0, x1, lsl #32 */
	mov(2, kBadAddr);
	str64(0, 2);
	b(park_);

	/* Data abort from a faulted access: report the op index, resume at the next op. */
	a_.bind(sync_);
	a_.insn(MRS | SR_ESR_EL1 | 0);                  /* mrs x0, esr_el1 */
	a_.insn(0xd35afc00);                            /* lsr x0, x0, #26 */
	a_.insn(0xf100001f | kEcDataAbortSameEl << 10); /* cmp x0, #0x25 */
	bcond(COND_NE, not_abort);
	a_.insn(MSR | SR_ELR_EL1 | 20);                 /* msr elr_el1, x20 */
	report(19, kFaultAddr);
	a_.insn(ERET);
	a_.bind(not_abort);
	mov(1, kSlotSyncSpx);
	b(bad_);

	if (t_.irq != IrqModel::SIM_IC)
		return;
	/* IRQ: the IAR read acknowledges and names the line; return with IRQs masked. */
	a_.bind(irq_);
	mov(0, kIcBase);
	a_.insn(ldst(4, true) | (kIcIar / 4) << 10 | 0 << 5 | 1); /* ldr w1, [x0, #IAR] */
	a_.insn(0x7100003f | kSimSpurious << 10);               /* cmp w1, #1023 */
	bcond(COND_EQ, spurious);
	a_.insn(0xaa0103f5);                                      /* mov x21, x1 */
	a_.bind(spurious);
	a_.insn(MRS | SR_SPSR_EL1 | 0);                           /* mrs x0, spsr_el1 */
	a_.insn(0xb2790000);                                      /* orr x0, x0, #0x80 (I) */
	a_.insn(MSR | SR_SPSR_EL1 | 0);                           /* msr spsr_el1, x0 */
	a_.insn(ERET);
}

bool A64Gen::build(const std::map<uint32_t, GuestProgram> &progs, Image *out, std::string *err)
{
	std::map<uint32_t, Label> starts;

	vectors();
	entry(progs, &starts);
	for (const auto &p : progs) {
		a_.bind(starts[p.first]);
		if (!program(p.second, err))
			return false;
	}
	handlers();
	if (!a_.finish(err))
		return false;
	if (a_.here() > kCodeLimit) {
		*err = "arm64 guest code too large";
		return false;
	}
	out->segments.clear();
	out->segments.push_back({ kVbar, a_.code() });
	out->boot = hvabs_boot_config{};
	out->boot.version = HVABS_BOOT_CONFIG_VERSION;
	out->boot.entry = a_.addr(start_);
	out->boot.cpu_mode = HVABS_CPU_MODE_ARM64_EL1;
	out->boot.stack = kStack;
	return true;
}

} /* namespace */

bool build_arm64(const Target &t, const std::map<uint32_t, GuestProgram> &progs, Image *out,
		 std::string *err)
{
	return A64Gen(t).build(progs, out, err);
}

} /* namespace kits */
} /* namespace hvt */
