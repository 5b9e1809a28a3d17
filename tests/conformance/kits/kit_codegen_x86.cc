/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kit_codegen_x86.cc: GuestPrograms as x86-64 long-mode machine code. */
#include "kit_asm.h"
#include "kit_codegen.h"

namespace hvt {
namespace kits {
namespace {

/*
 * Layout in RAM (long mode, the boot's identity map of 4 GiB):
 *   0x1000  IDT, 256 64-bit gates (written by the host)
 *   0x2000  IDTR image for lidt
 *   0x10000 code: entry, programs, handlers
 *   0x80000 stack of vCPU 0 (vCPU n: - n * HVABS_BOOT_STACK_STRIDE)
 *   0x100000 boot scratch (GDT, page tables), 64 KiB
 * Registers: r12 op index and r13 resume address (faults), r14 the line
 * taken by the interrupt handler; rax, rbx, rcx, rdx scratch.
 */
constexpr uint64_t kIdt = 0x1000;
constexpr uint64_t kIdtr = 0x2000;
constexpr uint64_t kCode = 0x10000;
constexpr uint64_t kCodeLimit = 0x60000; /* stacks of up to 64 vCPUs lie above */
constexpr uint64_t kStack = 0x80000;
constexpr uint64_t kScratch = 0x100000;
constexpr uint16_t kCs64 = 0x18; /* vm.h: flat 64-bit code selector of PROT32/LONG64 boots */
constexpr unsigned kGpVector = 13;
constexpr unsigned kFirstIrqVector = 0x20; /* sim_engine_abi.h: HVABS_GUEST_X86_IRQ_VECTOR_BASE */
constexpr uint16_t kSimIarPort = 0x610;    /* HVABS_GUEST_X86_IC_IAR_PORT */
constexpr uint16_t kSimEoirPort = 0x614;   /* HVABS_GUEST_X86_IC_EOIR_PORT */
constexpr uint32_t kSimSpurious = 1023;    /* HVABS_GUEST_IC_SPURIOUS */
constexpr uint8_t kPicCmd = 0x20;          /* master 8259 command port */
constexpr uint8_t kPicReadIsr = 0x0b;      /* OCW3: next read of the command port gives ISR */
constexpr uint8_t kPicSpecificEoi = 0x60;  /* OCW2: specific EOI, | line */
constexpr unsigned kPicLines = 8;          /* master only: the slave's vectors are ambiguous */
constexpr uint64_t kBadMarker = UINT64_C(0xbad) << 32;

static_assert(kRamBase == 0 && kRamSize >= kScratch + 0x10000, "x86 kit layout needs RAM at 0");

/* Condition codes for Jcc. */
enum Cc : uint8_t { CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5 };

bool accesses(Op op)
{
	return op == Op::MMIO_WRITE || op == Op::MMIO_READ || op == Op::PIO_WRITE || op == Op::PIO_READ;
}

class X86Gen {
public:
	explicit X86Gen(const Target &t) : t_(t), a_(kCode) {}

	bool build(const std::map<uint32_t, GuestProgram> &progs, Image *out, std::string *err);

private:
	using Label = Asm::Label;

	void mov_eax(uint32_t v) { a_.u8(0xb8), a_.u32(v); }
	void mov_edx(uint32_t v) { a_.u8(0xba), a_.u32(v); }
	void mov_rax(uint64_t v);
	void mov_rbx(uint64_t v);
	void jmp(Label l) { a_.u8(0xe9), a_.use(Asm::Fix::X86_REL32, l); }
	void jcc(Cc cc, Label l)
	{
		a_.bytes({ 0x0f, (uint8_t)(0x80 | cc) });
		a_.use(Asm::Fix::X86_REL32, l);
	}
	void jcc8(Cc cc, Label l) { a_.u8((uint8_t)(0x70 | cc)), a_.use(Asm::Fix::X86_REL8, l); }
	void jmp8(Label l) { a_.u8(0xeb), a_.use(Asm::Fix::X86_REL8, l); }
	/* mov %rax, (%rbx) after loading @addr into rbx. */
	void report_rax(uint64_t addr) { mov_rbx(addr), a_.bytes({ 0x48, 0x89, 0x03 }); }
	/* andq $~0x200, @off(%rsp): clear IF in the interrupt frame so iretq returns masked. */
	void frame_mask_if(uint8_t off)
	{
		a_.bytes({ 0x48, 0x81, 0x64, 0x24, off, 0xff, 0xfd, 0xff, 0xff });
	}

	void entry(const std::map<uint32_t, GuestProgram> &progs, std::map<uint32_t, Label> *starts);
	bool program(const GuestProgram &p, std::string *err);
	bool op(const GuestOp &o, bool auto_eoi, std::string *err);
	void mmio(const GuestOp &o);
	void pio(const GuestOp &o);
	void wait_irq(bool auto_eoi);
	void eoi(uint32_t line);
	void handlers();
	void idt(Image *out);

	const Target &t_;
	Asm a_;
	Label park_ = a_.label();
	Label bad_ = a_.label();
	Label gp_ = a_.label();
	Label irq_ = a_.label();
	Label pic_common_ = a_.label();
	Label stubs_[32];     /* vectors 0..31: unexpected exception stubs */
	Label pic_[kPicLines]; /* PC_PIC: vectors 0..7 */
};

void X86Gen::mov_rax(uint64_t v)
{
	if (v <= UINT32_MAX)
		return mov_eax((uint32_t)v); /* zero-extends */
	a_.bytes({ 0x48, 0xb8 });
	a_.u64(v);
}

void X86Gen::mov_rbx(uint64_t v)
{
	if (v <= UINT32_MAX) {
		a_.u8(0xbb);
		a_.u32((uint32_t)v);
		return;
	}
	a_.bytes({ 0x48, 0xbb });
	a_.u64(v);
}

/* lidt, then branch on the vCPU id in EDI. */
void X86Gen::entry(const std::map<uint32_t, GuestProgram> &progs, std::map<uint32_t, Label> *starts)
{
	mov_eax((uint32_t)kIdtr);
	a_.bytes({ 0x0f, 0x01, 0x18 }); /* lidt (%rax) */
	for (const auto &p : progs) {
		Label l = a_.label();
		(*starts)[p.first] = l;
		a_.bytes({ 0x81, 0xff }); /* cmp $id, %edi */
		a_.u32(p.first);
		jcc(CC_E, l);
	}
	jmp(park_);
}

void X86Gen::mmio(const GuestOp &o)
{
	mov_rbx(o.addr);
	if (o.op == Op::MMIO_WRITE) {
		mov_rax(o.val);
		switch (o.len) {
		case 1: a_.bytes({ 0x88, 0x03 }); break;             /* mov %al, (%rbx) */
		case 2: a_.bytes({ 0x66, 0x89, 0x03 }); break;       /* mov %ax, (%rbx) */
		case 4: a_.bytes({ 0x89, 0x03 }); break;             /* mov %eax, (%rbx) */
		default: a_.bytes({ 0x48, 0x89, 0x03 }); break;      /* mov %rax, (%rbx) */
		}
		return;
	}
	switch (o.len) {
	case 1: a_.bytes({ 0x0f, 0xb6, 0x03 }); break;               /* movzbl (%rbx), %eax */
	case 2: a_.bytes({ 0x0f, 0xb7, 0x03 }); break;               /* movzwl (%rbx), %eax */
	case 4: a_.bytes({ 0x8b, 0x03 }); break;                     /* mov (%rbx), %eax */
	default: a_.bytes({ 0x48, 0x8b, 0x03 }); break;              /* mov (%rbx), %rax */
	}
	report_rax(kResultAddr);
}

void X86Gen::pio(const GuestOp &o)
{
	mov_edx((uint32_t)o.addr);
	if (o.op == Op::PIO_WRITE) {
		mov_eax((uint32_t)o.val);
		switch (o.len) {
		case 1: a_.u8(0xee); break;                   /* out %al, (%dx) */
		case 2: a_.bytes({ 0x66, 0xef }); break;      /* out %ax, (%dx) */
		default: a_.u8(0xef); break;                  /* out %eax, (%dx) */
		}
		return;
	}
	a_.bytes({ 0x31, 0xc0 }); /* xor %eax, %eax */
	switch (o.len) {
	case 1: a_.u8(0xec); break;                           /* in (%dx), %al */
	case 2: a_.bytes({ 0x66, 0xed }); break;              /* in (%dx), %ax */
	default: a_.u8(0xed); break;                          /* in (%dx), %eax */
	}
	report_rax(kResultAddr);
}

/*
 * r14 = -1; loop { cli; if (r14 != -1) break; sti; hlt }: "sti; hlt" has
 * no window for a lost wakeup, and the handler returns with IF clear.
 */
void X86Gen::wait_irq(bool auto_eoi)
{
	Label loop = a_.label(), done = a_.label();

	a_.bytes({ 0x49, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff }); /* mov $-1, %r14 */
	a_.bind(loop);
	a_.u8(0xfa);                                            /* cli */
	a_.bytes({ 0x49, 0x83, 0xfe, 0xff });                   /* cmp $-1, %r14 */
	jcc8(CC_NE, done);
	a_.bytes({ 0xfb, 0xf4 });                               /* sti; hlt */
	jmp8(loop);
	a_.bind(done);
	mov_rbx(kResultAddr);
	a_.bytes({ 0x4c, 0x89, 0x33 });                         /* mov %r14, (%rbx) */
	if (auto_eoi) {
		a_.bytes({ 0x44, 0x89, 0xf0 });                 /* mov %r14d, %eax */
		a_.bytes({ 0x0c, kPicSpecificEoi });            /* or $0x60, %al */
		a_.bytes({ 0xe6, kPicCmd });                    /* out %al, $0x20 */
	}
}

void X86Gen::eoi(uint32_t line)
{
	if (t_.irq == IrqModel::SIM_IC) {
		mov_edx(kSimEoirPort);
		mov_eax(line);
		a_.u8(0xef); /* out %eax, (%dx) */
		return;
	}
	a_.bytes({ 0xb0, (uint8_t)(kPicSpecificEoi | line) }); /* mov $(0x60 | line), %al */
	a_.bytes({ 0xe6, kPicCmd });                            /* out %al, $0x20 */
}

bool X86Gen::op(const GuestOp &o, bool auto_eoi, std::string *err)
{
	if (!can_express(t_, o)) {
		*err = std::string("x86 kit cannot express ") + op_name(o.op);
		return false;
	}
	switch (o.op) {
	case Op::MMIO_WRITE:
	case Op::MMIO_READ:
		mmio(o);
		break;
	case Op::PIO_WRITE:
	case Op::PIO_READ:
		pio(o);
		break;
	case Op::WAIT_IRQ:
		wait_irq(auto_eoi);
		break;
	case Op::EOI:
		eoi((uint32_t)o.val);
		break;
	case Op::HALT:
		a_.bytes({ 0xfa, 0xf4 }); /* cli; hlt */
		break;
	case Op::LOOP_FOREVER:
		a_.bytes({ 0xeb, 0xfe }); /* jmp . */
		break;
	case Op::EXIT:
		break; /* refused by can_express() */
	}
	return true;
}

/*
 * With the 8259, a line stays in service until EOI and blocks itself; a
 * program that never EOIs gets the EOI right after each WAIT_IRQ report
 * (the sim controller redelivers edges without one).
 */
bool X86Gen::program(const GuestProgram &p, std::string *err)
{
	bool auto_eoi = t_.irq == IrqModel::PC_PIC && !p.uses(Op::EOI);

	for (size_t i = 0; i < p.ops.size(); i++) {
		Label next = a_.label();

		if (accesses(p.ops[i].op)) {
			a_.bytes({ 0x41, 0xbc });                 /* mov $i, %r12d */
			a_.u32((uint32_t)i);
			a_.bytes({ 0x4c, 0x8d, 0x2d });           /* lea next(%rip), %r13 */
			a_.use(Asm::Fix::X86_REL32, next);
		}
		if (!op(p.ops[i], auto_eoi, err))
			return false;
		a_.bind(next);
	}
	mov_eax((uint32_t)p.ops.size());
	report_rax(kEndAddr);
	jmp(park_);
	return true;
}

void X86Gen::handlers()
{
	/* park: cli; hlt; jmp park */
	a_.bind(park_);
	a_.bytes({ 0xfa, 0xf4 });
	jmp8(park_);

	/* Unexpected vector (in eax): report (0xbad << 32 | vector) at kBadAddr, park. */
	for (unsigned v = 0; v < 32; v++) {
		stubs_[v] = a_.label();
		a_.bind(stubs_[v]);
		mov_eax(v);
		jmp(bad_);
	}
	a_.bind(bad_);
	a_.bytes({ 0x48, 0xba });       /* movabs $marker, %rdx */
	a_.u64(kBadMarker);
	a_.bytes({ 0x48, 0x09, 0xd0 }); /* or %rdx, %rax */
	report_rax(kBadAddr);
	jmp(park_);

	/* #GP(0) from a faulted access: report the op index, resume at the next op. */
	a_.bind(gp_);
	a_.bytes({ 0x48, 0x83, 0xc4, 0x08 }); /* add $8, %rsp (error code) */
	a_.bytes({ 0x4c, 0x89, 0x2c, 0x24 }); /* mov %r13, (%rsp) (return RIP) */
	mov_rbx(kFaultAddr);
	a_.bytes({ 0x4c, 0x89, 0x23 });       /* mov %r12, (%rbx) */
	a_.bytes({ 0x48, 0xcf });             /* iretq */

	if (t_.irq == IrqModel::SIM_IC) {
		/* Every vector from 0x20: the IAR read names the line. */
		Label spurious = a_.label();

		a_.bind(irq_);
		a_.bytes({ 0x50, 0x52 });             /* push %rax; push %rdx */
		mov_edx(kSimIarPort);
		a_.u8(0xed);                          /* in (%dx), %eax */
		a_.u8(0x3d);                          /* cmp $1023, %eax */
		a_.u32(kSimSpurious);
		jcc8(CC_E, spurious);
		a_.bytes({ 0x41, 0x89, 0xc6 });       /* mov %eax, %r14d */
		a_.bind(spurious);
		frame_mask_if(32);
		a_.bytes({ 0x5a, 0x58, 0x48, 0xcf }); /* pop %rdx; pop %rax; iretq */
	} else if (t_.irq == IrqModel::PC_PIC) {
		/*
		 * Vectors 0..7 are the PIC's lines (reset state: vector base 0)
		 * but also CPU exceptions: only a vector in service in the ISR
		 * is an interrupt.
		 */
		Label not_irq = a_.label();

		for (unsigned v = 0; v < kPicLines; v++) {
			pic_[v] = a_.label();
			a_.bind(pic_[v]);
			a_.bytes({ 0x50, 0x51 });     /* push %rax; push %rcx */
			a_.u8(0xb9);                  /* mov $v, %ecx */
			a_.u32(v);
			jmp(pic_common_);
		}
		a_.bind(pic_common_);
		a_.bytes({ 0xb0, kPicReadIsr, 0xe6, kPicCmd }); /* mov $0x0b, %al; out %al, $0x20 */
		a_.bytes({ 0xe4, kPicCmd });                    /* in $0x20, %al */
		a_.bytes({ 0x0f, 0xb6, 0xc0 });                 /* movzbl %al, %eax */
		a_.bytes({ 0x0f, 0xa3, 0xc8 });                 /* bt %ecx, %eax */
		jcc(CC_AE, not_irq);                            /* CF clear: not in service */
		a_.bytes({ 0x41, 0x89, 0xce });                 /* mov %ecx, %r14d */
		frame_mask_if(32);
		a_.bytes({ 0x59, 0x58, 0x48, 0xcf });           /* pop %rcx; pop %rax; iretq */
		a_.bind(not_irq);
		a_.bytes({ 0x89, 0xc8 });                       /* mov %ecx, %eax */
		jmp(bad_);
	}
}

/* 64-bit interrupt gates (present, DPL 0, IST 0) for the handlers. */
void X86Gen::idt(Image *out)
{
	Segment idt{ kIdt, std::vector<uint8_t>(256 * 16, 0) };
	Segment idtr{ kIdtr, std::vector<uint8_t>(10, 0) };

	for (unsigned v = 0; v < 256; v++) {
		uint64_t target;

		if (v == kGpVector && t_.faults)
			target = a_.addr(gp_);
		else if (v < kPicLines && t_.irq == IrqModel::PC_PIC)
			target = a_.addr(pic_[v]);
		else if (v < 32)
			target = a_.addr(stubs_[v]);
		else if (v >= kFirstIrqVector && t_.irq == IrqModel::SIM_IC)
			target = a_.addr(irq_);
		else
			continue; /* not present: #NP, an unexpected vector */
		uint8_t *g = &idt.bytes[v * 16];
		g[0] = (uint8_t)target;
		g[1] = (uint8_t)(target >> 8);
		g[2] = (uint8_t)kCs64;
		g[3] = (uint8_t)(kCs64 >> 8);
		g[4] = 0;    /* IST */
		g[5] = 0x8e; /* present, interrupt gate */
		for (unsigned b = 0; b < 6; b++)
			g[6 + b] = (uint8_t)(target >> (16 + 8 * b));
	}
	idtr.bytes[0] = 0xff; /* limit 256 * 16 - 1 */
	idtr.bytes[1] = 0x0f;
	for (unsigned b = 0; b < 8; b++)
		idtr.bytes[2 + b] = (uint8_t)(kIdt >> (8 * b));
	out->segments.push_back(std::move(idt));
	out->segments.push_back(std::move(idtr));
}

bool X86Gen::build(const std::map<uint32_t, GuestProgram> &progs, Image *out, std::string *err)
{
	std::map<uint32_t, Label> starts;

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
		*err = "x86 guest code too large";
		return false;
	}
	out->segments.clear();
	out->segments.push_back({ kCode, a_.code() });
	idt(out);
	out->boot = hvabs_boot_config{};
	out->boot.version = HVABS_BOOT_CONFIG_VERSION;
	out->boot.entry = kCode;
	out->boot.cpu_mode = HVABS_CPU_MODE_X86_LONG64;
	out->boot.scratch_addr = kScratch;
	out->boot.stack = kStack;
	return true;
}

} /* namespace */

bool build_x86(const Target &t, const std::map<uint32_t, GuestProgram> &progs, Image *out,
	       std::string *err)
{
	return X86Gen(t).build(progs, out, err);
}

} /* namespace kits */
} /* namespace hvt */
