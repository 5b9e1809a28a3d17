/* SPDX-License-Identifier: MIT */
/* backends/sim/engine/sim_engine_x86.c: x86 part of the sim engine - boot modes, IN/OUT, vectored delivery. */
#include "sim_engine_uc.h"

#include <string.h>

/*
 * Delivery model (see sim_engine_abi.h): vectors go through the IVT (real
 * mode) or the IDT (32-bit or 64-bit gates), pushing what the CPU pushes at
 * CPL 0 (no privilege or stack switch, no IST, no task gates). Descriptor
 * tables and stacks are accessed at guest-physical = linear addresses, as
 * with paging off or the boot identity map. Error codes of CPU-raised
 * exceptions are not available from Unicorn: 0 is pushed.
 */

#define X86_IF (1u << 9)
#define X86_TF (1u << 8)
#define X86_NT (1u << 14)
#define X86_RF (1u << 16)
#define X86_VM (1u << 17)
#define X86_AC (1u << 18)
#define X86_CR0_PE 0x1u
#define X86_MSR_EFER 0xc0000080u
#define X86_EFER_LMA (1u << 10)
#define X86_VEC_UD 6u
#define X86_VEC_DF 8u
#define X86_VEC_GP 13u
#define X86_GATE_INT 0x0eu
#define X86_GATE_TRAP 0x0fu
#define X86_OP_HLT 0xf4u
#define X86_OP_STI 0xfbu

enum x86_dmode { X86_REAL, X86_PROT, X86_LONG };

enum x86_delivery { X86_DELIVERED, X86_EMPTY, X86_FAILED };

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t x86_msr(struct sim_eng *e, uint32_t id)
{
	uc_x86_msr msr = { .rid = id, .value = 0 };

	(void)uc_reg_read(e->uc, UC_X86_REG_MSR, &msr);
	return msr.value;
}

static void x86_set_msr(struct sim_eng *e, uint32_t id, uint64_t val)
{
	uc_x86_msr msr = { .rid = id, .value = val };

	(void)uc_reg_write(e->uc, UC_X86_REG_MSR, &msr);
}

static enum x86_dmode x86_dmode(struct sim_eng *e)
{
	if (!(sim_eng_reg(e, UC_X86_REG_CR0) & X86_CR0_PE))
		return X86_REAL;
	return (x86_msr(e, X86_MSR_EFER) & X86_EFER_LMA) ? X86_LONG : X86_PROT;
}

static void x86_dtr(struct sim_eng *e, int reg, uint64_t *base, uint32_t *limit)
{
	uc_x86_mmr mmr;

	memset(&mmr, 0, sizeof(mmr));
	(void)uc_reg_read(e->uc, reg, &mmr);
	*base = mmr.base;
	*limit = mmr.limit;
}

/* The 8-byte GDT descriptor of @sel, or NULL (LDT selectors are not supported). */
static const uint8_t *x86_gdt_desc(struct sim_eng *e, uint64_t sel)
{
	uint64_t base;
	uint32_t limit;

	if (sel & 4)
		return NULL;
	x86_dtr(e, UC_X86_REG_GDTR, &base, &limit);
	if ((sel & ~7u) + 7 > limit)
		return NULL;
	return sim_eng_ram(e, base + (sel & ~7u), 8);
}

static uint64_t x86_seg_base(struct sim_eng *e, int reg, enum x86_dmode m)
{
	const uint8_t *d;
	uint64_t sel = sim_eng_reg(e, reg);

	if (m == X86_REAL)
		return sel << 4;
	if (m == X86_LONG && reg != UC_X86_REG_FS && reg != UC_X86_REG_GS)
		return 0;
	d = x86_gdt_desc(e, sel);
	if (!d)
		return 0;
	return (uint64_t)le16(d + 2) | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24;
}

static uint64_t x86_ip(struct sim_eng *e, enum x86_dmode m)
{
	return sim_eng_reg(e, m == X86_LONG ? UC_X86_REG_RIP : UC_X86_REG_EIP);
}

static void x86_set_ip(struct sim_eng *e, enum x86_dmode m, uint64_t ip)
{
	if (m == X86_LONG)
		sim_eng_set_reg(e, UC_X86_REG_RIP, ip);
	else
		sim_eng_set_reg(e, UC_X86_REG_EIP, m == X86_REAL ? ip & 0xffff : ip & UINT32_MAX);
}

static uint64_t x86_linear_pc(struct sim_eng *e)
{
	enum x86_dmode m = x86_dmode(e);

	return x86_seg_base(e, UC_X86_REG_CS, m) + x86_ip(e, m);
}

static void x86_set_pc(struct sim_eng *e, uint64_t addr)
{
	enum x86_dmode m = x86_dmode(e);

	x86_set_ip(e, m, addr - x86_seg_base(e, UC_X86_REG_CS, m));
}

/* ---- vectored delivery ---- */

/* Push @size bytes of @val at SS-relative *sp (decremented, wrapped by @mask). */
static bool x86_push(struct sim_eng *e, uint64_t ss_base, uint64_t *sp, uint64_t mask,
		     uint64_t val, unsigned int size)
{
	uint8_t *p;
	unsigned int i;

	*sp = (*sp - size) & mask;
	p = sim_eng_ram(e, ss_base + *sp, size);
	if (!p)
		return false;
	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(val >> (8 * i));
	return true;
}

static enum x86_delivery x86_deliver_real(struct sim_eng *e, unsigned int vec)
{
	uint64_t idt, ss_base, sp, flags;
	const uint8_t *ent;
	uint32_t limit;
	uint16_t off, seg;
	bool ok;

	x86_dtr(e, UC_X86_REG_IDTR, &idt, &limit);
	ent = vec * 4 + 3 <= limit ? sim_eng_ram(e, idt + vec * 4, 4) : NULL;
	if (!ent)
		return X86_FAILED;
	off = le16(ent);
	seg = le16(ent + 2);
	if (!off && !seg)
		return X86_EMPTY;
	ss_base = sim_eng_reg(e, UC_X86_REG_SS) << 4;
	sp = sim_eng_reg(e, UC_X86_REG_ESP) & 0xffff;
	flags = sim_eng_reg(e, UC_X86_REG_EFLAGS);
	ok = x86_push(e, ss_base, &sp, 0xffff, flags, 2) &&
	     x86_push(e, ss_base, &sp, 0xffff, sim_eng_reg(e, UC_X86_REG_CS), 2) &&
	     x86_push(e, ss_base, &sp, 0xffff, sim_eng_reg(e, UC_X86_REG_EIP), 2);
	if (!ok)
		return X86_FAILED;
	sim_eng_set_reg(e, UC_X86_REG_ESP, (sim_eng_reg(e, UC_X86_REG_ESP) & ~UINT64_C(0xffff)) | sp);
	sim_eng_set_reg(e, UC_X86_REG_EFLAGS, flags & ~(uint64_t)(X86_IF | X86_TF | X86_AC));
	sim_eng_set_reg(e, UC_X86_REG_CS, seg);
	sim_eng_set_reg(e, UC_X86_REG_EIP, off);
	return X86_DELIVERED;
}

/* A protected/long-mode gate: its handler selector:offset and type. */
struct x86_gate {
	uint16_t sel;
	uint8_t type;
	uint64_t off;
};

static enum x86_delivery x86_gate_read(struct sim_eng *e, unsigned int vec, bool lm,
				       struct x86_gate *gate)
{
	static const uint8_t zero[16];
	unsigned int size = lm ? 16 : 8;
	const uint8_t *g, *cs;
	uint64_t idt;
	uint32_t limit;

	x86_dtr(e, UC_X86_REG_IDTR, &idt, &limit);
	g = vec * size + size - 1 <= limit ? sim_eng_ram(e, idt + vec * size, size) : NULL;
	if (!g)
		return X86_FAILED;
	if (!memcmp(g, zero, size))
		return X86_EMPTY;
	gate->sel = le16(g + 2);
	gate->type = g[5] & 0x1f;
	gate->off = le16(g) | (uint64_t)le16(g + 6) << 16;
	if (lm)
		gate->off |= (uint64_t)le32(g + 8) << 32;
	cs = x86_gdt_desc(e, gate->sel);
	/* Present gate of a known type, to a present code segment (64-bit in long mode). */
	if (!(g[5] & 0x80) || (gate->type != X86_GATE_INT && gate->type != X86_GATE_TRAP) || !cs ||
	    (cs[5] & 0x98) != 0x98 || (lm && !(cs[6] & 0x20)))
		return X86_FAILED;
	return X86_DELIVERED;
}

static enum x86_delivery x86_deliver_gate(struct sim_eng *e, unsigned int vec, enum x86_dmode m,
					  bool has_err, uint32_t err)
{
	bool lm = m == X86_LONG;
	uint64_t mask = lm ? UINT64_MAX : UINT32_MAX;
	unsigned int w = lm ? 8 : 4;
	uint64_t ss_base, sp, old_sp, flags;
	struct x86_gate gate;
	enum x86_delivery d;
	bool ok;

	d = x86_gate_read(e, vec, lm, &gate);
	if (d != X86_DELIVERED)
		return d;
	ss_base = x86_seg_base(e, UC_X86_REG_SS, m);
	old_sp = sim_eng_reg(e, lm ? UC_X86_REG_RSP : UC_X86_REG_ESP);
	sp = lm ? old_sp & ~UINT64_C(0xf) : old_sp;
	flags = sim_eng_reg(e, lm ? UC_X86_REG_RFLAGS : UC_X86_REG_EFLAGS);
	ok = (!lm || (x86_push(e, ss_base, &sp, mask, sim_eng_reg(e, UC_X86_REG_SS), w) &&
		      x86_push(e, ss_base, &sp, mask, old_sp, w))) &&
	     x86_push(e, ss_base, &sp, mask, flags, w) &&
	     x86_push(e, ss_base, &sp, mask, sim_eng_reg(e, UC_X86_REG_CS), w) &&
	     x86_push(e, ss_base, &sp, mask, x86_ip(e, m), w) &&
	     (!has_err || x86_push(e, ss_base, &sp, mask, err, w));
	if (!ok)
		return X86_FAILED;
	flags &= ~(uint64_t)(X86_TF | X86_NT | X86_RF | X86_VM);
	if (gate.type == X86_GATE_INT)
		flags &= ~(uint64_t)X86_IF;
	if (uc_reg_write(e->uc, UC_X86_REG_CS, &(uint64_t){ gate.sel }))
		return X86_FAILED;
	sim_eng_set_reg(e, lm ? UC_X86_REG_RSP : UC_X86_REG_ESP, sp);
	sim_eng_set_reg(e, lm ? UC_X86_REG_RFLAGS : UC_X86_REG_EFLAGS, flags);
	sim_eng_set_reg(e, lm ? UC_X86_REG_RIP : UC_X86_REG_EIP, gate.off);
	return X86_DELIVERED;
}

static enum x86_delivery x86_deliver(struct sim_eng *e, unsigned int vec, bool has_err, uint32_t err)
{
	enum x86_dmode m = x86_dmode(e);

	if (m == X86_REAL)
		return x86_deliver_real(e, vec);
	return x86_deliver_gate(e, vec, m, has_err, err);
}

/*
 * Take vector @vec at the current CS:IP (the return address). No handler:
 * crash with @kind at @pc; a failed delivery escalates to #DF, then triple
 * fault.
 */
static void x86_raise(struct sim_eng *e, unsigned int vec, uint8_t kind, bool has_err, uint32_t err,
		      uint64_t pc)
{
	switch (x86_deliver(e, vec, has_err, err)) {
	case X86_DELIVERED:
		return;
	case X86_EMPTY:
		sim_eng_crash(e, kind, (uint8_t)vec, pc);
	case X86_FAILED:
		break;
	}
	if (vec != X86_VEC_DF && x86_deliver(e, X86_VEC_DF, true, 0) == X86_DELIVERED)
		return;
	sim_eng_crash(e, HVABS_GUEST_FAULT_TRIPLE, (uint8_t)vec, pc);
}

static bool x86_has_error_code(unsigned int vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 ||
	       vec == 30;
}

/* Was the instruction at e->lastpc a software interrupt raising @vec? */
static bool x86_soft_int(struct sim_eng *e, uint32_t vec)
{
	const uint8_t *op = sim_eng_ram(e, e->lastpc, 2);

	if (!op)
		return false;
	return (op[0] == 0xcd && op[1] == vec) || (op[0] == 0xcc && vec == 3) ||
	       (op[0] == 0xce && vec == 4) || (op[0] == 0xf1 && vec == 1);
}

/* A CPU exception (CS:IP at the faulting instruction) or INT n (CS:IP past it). */
static void x86_exception(struct sim_eng *e, uint32_t intno)
{
	bool soft = intno <= 0xff && x86_soft_int(e, intno);
	uint64_t pc = soft ? e->lastpc : x86_linear_pc(e);

	if (intno > 0xff)
		sim_eng_crash(e, HVABS_GUEST_FAULT_EXCEPTION, 0xff, pc);
	x86_raise(e, intno, HVABS_GUEST_FAULT_EXCEPTION, !soft && x86_has_error_code(intno), 0, pc);
}

static void x86_invalid_insn(struct sim_eng *e)
{
	x86_raise(e, X86_VEC_UD, HVABS_GUEST_FAULT_INVALID, false, 0, x86_linear_pc(e));
}

/*
 * The access stopped the CPU inside its instruction, where Unicorn's EIP
 * may hold the linear address: the code hook's address is exact.
 */
static void x86_data_fault(struct sim_eng *e, uint64_t addr, bool is_write)
{
	enum x86_dmode m = x86_dmode(e);

	(void)addr;
	(void)is_write;
	sim_eng_set_reg(e, m == X86_LONG ? UC_X86_REG_RIP : UC_X86_REG_EIP,
			e->lastpc - x86_seg_base(e, UC_X86_REG_CS, m));
	x86_raise(e, X86_VEC_GP, HVABS_GUEST_FAULT_DATA, true, 0, e->lastpc);
}

/* ---- interrupts and HLT ---- */

static bool x86_if(struct sim_eng *e)
{
	return sim_eng_reg(e, UC_X86_REG_EFLAGS) & X86_IF;
}

/* The instruction before the current one was STI: interrupts wait one more instruction. */
static bool x86_sti_shadow(struct sim_eng *e)
{
	const uint8_t *op = sim_eng_ram(e, e->lastpc, 1);

	return op && *op == X86_OP_STI && x86_linear_pc(e) == e->lastpc + 1;
}

static bool x86_irq_enabled(struct sim_eng *e)
{
	return x86_if(e) && !x86_sti_shadow(e);
}

static void x86_take_irq(struct sim_eng *e, uint32_t line)
{
	uint32_t vec = HVABS_GUEST_X86_IRQ_VECTOR_BASE + (line < 0xdf ? line : 0xdf);

	sim_eng_iar_push(e, line);
	x86_raise(e, vec, HVABS_GUEST_FAULT_EXCEPTION, false, 0, x86_linear_pc(e));
}

/*
 * At HLT (or STI; HLT, IF already set) the interrupt is taken after the
 * HLT, as if it had woken it: a guest that checks its condition after "hlt"
 * then sees what the handler did instead of halting again.
 */
static void x86_skip_halt(struct sim_eng *e)
{
	enum x86_dmode m = x86_dmode(e);
	uint64_t ip = x86_ip(e, m), lin = x86_seg_base(e, UC_X86_REG_CS, m) + ip;
	const uint8_t *op = sim_eng_ram(e, lin, 1);
	const uint8_t *op2 = op && *op == X86_OP_STI ? sim_eng_ram(e, lin + 1, 1) : NULL;
	unsigned int n = op && *op == X86_OP_HLT ? 1 : op2 && *op2 == X86_OP_HLT ? 2 : 0;

	if (n)
		x86_set_ip(e, m, ip + n);
}

static void x86_irq_service(struct sim_eng *e)
{
	uint32_t line;

	if (!sim_vcpu_irq_pending(e->vcpu) || !x86_irq_enabled(e))
		return;
	if (!hvabs_sim_guest_poll_irq(e->g, &line))
		return;
	x86_skip_halt(e);
	x86_take_irq(e, line);
}

static bool x86_halted(struct sim_eng *e)
{
	const uint8_t *op = sim_eng_ram(e, e->lastpc, 1);

	return op && *op == X86_OP_HLT && x86_linear_pc(e) == e->lastpc + 1;
}

static void x86_halt(struct sim_eng *e)
{
	if (x86_if(e))
		x86_take_irq(e, hvabs_sim_guest_wait_irq(e->g));
	else
		hvabs_sim_guest_halt(e->g);
}

/* ---- IN/OUT ---- */

static uint32_t x86_in_hook(uc_engine *uc, uint32_t port, int size, void *ctx)
{
	struct sim_eng *e = ctx;
	uint32_t val = 0;

	(void)uc;
	if (!sim_eng_flush(e))
		return 0;
	if (port == HVABS_GUEST_X86_IC_IAR_PORT)
		return sim_eng_ic_read(e, HVABS_GUEST_IC_IAR);
	if (port == HVABS_GUEST_X86_IC_EOIR_PORT)
		return 0;
	if (hvabs_sim_guest_pio_read(e->g, (uint16_t)port, (uint32_t)size, &val))
		sim_eng_access_fault(e, port, false);
	return val;
}

static void x86_out_hook(uc_engine *uc, uint32_t port, int size, uint32_t val, void *ctx)
{
	struct sim_eng *e = ctx;

	(void)uc;
	if (!sim_eng_flush(e))
		return;
	if (port == HVABS_GUEST_X86_IC_EOIR_PORT) {
		sim_eng_ic_write(e, HVABS_GUEST_IC_EOIR, val);
		return;
	}
	if (port == HVABS_GUEST_X86_IC_IAR_PORT)
		return;
	if (hvabs_sim_guest_pio_write(e->g, (uint16_t)port, (uint32_t)size, val))
		sim_eng_access_fault(e, port, true);
}

static int x86_hooks(struct sim_eng *e)
{
	uc_hook h;
	uc_err err;

	err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, (void *)x86_in_hook, e, 1, 0, UC_X86_INS_IN);
	if (!err)
		err = uc_hook_add(e->uc, &h, UC_HOOK_INSN, (void *)x86_out_hook, e, 1, 0,
				  UC_X86_INS_OUT);
	return err;
}

/* ---- boot ---- */

static uc_mode x86_uc_mode(uint32_t cpu_mode)
{
	switch (cpu_mode) {
	case HVABS_CPU_MODE_X86_PROT32:
		return UC_MODE_32;
	case HVABS_CPU_MODE_X86_LONG64:
		return UC_MODE_64;
	default:
		return UC_MODE_16;
	}
}

static uint64_t x86_stack(struct sim_eng *e)
{
	uint64_t stack = e->vm->boot.stack;

	return stack ? stack - (uint64_t)e->vcpu->id * HVABS_GUEST_VCPU_STACK_STRIDE : 0;
}

static void x86_put64(uint8_t *p, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * GDT, empty IDT and (long mode) identity page tables in the scratch area,
 * written once by hvabs_vm_start() (sim_engine_check_vm()), before any
 * vCPU runs: vCPUs share them, and one starting later must not rewrite
 * tables that others are using (or that the guest has changed since).
 */
int sim_eng_x86_tables(struct hvabs_vm *vm, uint32_t cpu_mode)
{
	static const uint64_t gdt[4] = { 0, UINT64_C(0x00cf9a000000ffff),
					 UINT64_C(0x00cf92000000ffff), UINT64_C(0x00af9a000000ffff) };
	bool lm = cpu_mode == HVABS_CPU_MODE_X86_LONG64;
	uint64_t s = vm->boot.scratch_addr, pt = s + HVABS_GUEST_X86_SCRATCH_PT;
	const struct hvabs__region *r = hvabs__vm_region_find(vm, s, 0x10000);
	uint8_t *p;
	unsigned int i;

	if (cpu_mode != HVABS_CPU_MODE_X86_PROT32 && !lm)
		return 0;
	if (!r)
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME,
					"boot scratch area is not 64 KiB of RAM");
	p = (uint8_t *)r->host_addr + (s - r->guest_addr);
	for (i = 0; i < 4; i++)
		x86_put64(p + HVABS_GUEST_X86_SCRATCH_GDT + 8 * i, gdt[i]);
	memset(p + HVABS_GUEST_X86_SCRATCH_IDT, 0, 0x1000);
	if (!lm)
		return 0;
	/* PML4 at +0x2000, PDPT at +0x3000, four page directories from +0x4000. */
	memset(p + HVABS_GUEST_X86_SCRATCH_PT, 0, 0x6000);
	x86_put64(p + HVABS_GUEST_X86_SCRATCH_PT, (pt + 0x1000) | 3);
	for (i = 0; i < 4; i++)
		x86_put64(p + HVABS_GUEST_X86_SCRATCH_PT + 0x1000 + 8 * i, (pt + 0x2000 + 0x1000 * i) | 3);
	for (i = 0; i < 4 * 512; i++)
		x86_put64(p + HVABS_GUEST_X86_SCRATCH_PT + 0x2000 + 8 * i,
			  ((uint64_t)i << 21) | 0x83);
	return 0;
}

static int x86_set_dtr(struct sim_eng *e, int reg, uint64_t base, uint32_t limit)
{
	uc_x86_mmr mmr;

	memset(&mmr, 0, sizeof(mmr));
	mmr.base = base;
	mmr.limit = limit;
	return uc_reg_write(e->uc, reg, &mmr);
}

static void x86_boot_regs_common(struct sim_eng *e)
{
	sim_eng_set_reg(e, UC_X86_REG_ESI, e->vm->boot.arg0);
	sim_eng_set_reg(e, UC_X86_REG_EDI, e->vcpu->id);
	sim_eng_set_reg(e, UC_X86_REG_EFLAGS, 0x2);
}

static int x86_boot_real(struct sim_eng *e)
{
	uint64_t entry = e->vm->boot.entry, stack = x86_stack(e);
	uint64_t ss = stack ? ((stack - 1) >> 4) & 0xf000 : 0;
	static const int data[] = { UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS };
	unsigned int i;

	for (i = 0; i < 4; i++)
		sim_eng_set_reg(e, data[i], 0);
	sim_eng_set_reg(e, UC_X86_REG_SS, ss);
	sim_eng_set_reg(e, UC_X86_REG_ESP, (stack - ss * 16) & 0xffff);
	sim_eng_set_reg(e, UC_X86_REG_CS, entry >> 4);
	sim_eng_set_reg(e, UC_X86_REG_EIP, entry & 0xf);
	x86_boot_regs_common(e);
	return x86_set_dtr(e, UC_X86_REG_IDTR, 0, 0x3ff);
}

/* Load the flat data selector into every data segment register. */
static int x86_load_data_segs(struct sim_eng *e)
{
	static const int segs[] = { UC_X86_REG_SS, UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS,
				    UC_X86_REG_GS };
	uint64_t sel = HVABS_GUEST_X86_DS;
	unsigned int i;
	int err;

	for (i = 0; i < 5; i++) {
		err = uc_reg_write(e->uc, segs[i], &sel);
		if (err)
			return err;
	}
	return 0;
}

static int x86_boot_paged(struct sim_eng *e, bool lm)
{
	uint64_t s = e->vm->boot.scratch_addr, cs = lm ? HVABS_GUEST_X86_CS64 : HVABS_GUEST_X86_CS32;
	int err;

	err = x86_set_dtr(e, UC_X86_REG_GDTR, s + HVABS_GUEST_X86_SCRATCH_GDT, 4 * 8 - 1);
	if (!err)
		err = x86_set_dtr(e, UC_X86_REG_IDTR, s + HVABS_GUEST_X86_SCRATCH_IDT,
				  lm ? 256 * 16 - 1 : 256 * 8 - 1);
	if (err)
		return err;
	if (lm) {
		sim_eng_set_reg(e, UC_X86_REG_CR3, s + HVABS_GUEST_X86_SCRATCH_PT);
		sim_eng_set_reg(e, UC_X86_REG_CR4, 0x20);            /* PAE */
		x86_set_msr(e, X86_MSR_EFER, 0x500);                 /* LME | LMA */
		sim_eng_set_reg(e, UC_X86_REG_CR0, 0x80000011);      /* PG | ET | PE */
	}
	err = uc_reg_write(e->uc, UC_X86_REG_CS, &cs);
	if (!err)
		err = x86_load_data_segs(e);
	if (err)
		return err;
	sim_eng_set_reg(e, lm ? UC_X86_REG_RSP : UC_X86_REG_ESP, x86_stack(e));
	sim_eng_set_reg(e, lm ? UC_X86_REG_RIP : UC_X86_REG_EIP, e->vm->boot.entry);
	x86_boot_regs_common(e);
	return 0;
}

static int x86_boot(struct sim_eng *e)
{
	switch (e->cpu_mode) {
	case HVABS_CPU_MODE_X86_PROT32:
		return x86_boot_paged(e, false);
	case HVABS_CPU_MODE_X86_LONG64:
		return x86_boot_paged(e, true);
	default:
		return x86_boot_real(e);
	}
}

/* uc_emu_start() sets IP = begin - CS * 16 in 16-bit mode, EIP/RIP = begin otherwise. */
static uint64_t x86_resume_pc(struct sim_eng *e)
{
	if (e->cpu_mode == HVABS_CPU_MODE_X86_LONG64)
		return sim_eng_reg(e, UC_X86_REG_RIP);
	if (e->cpu_mode == HVABS_CPU_MODE_X86_PROT32)
		return sim_eng_reg(e, UC_X86_REG_EIP);
	return (sim_eng_reg(e, UC_X86_REG_CS) << 4) + (sim_eng_reg(e, UC_X86_REG_EIP) & 0xffff);
}

const struct eng_arch sim_eng_x86 = {
	.arch = UC_ARCH_X86,
	.uc_mode = x86_uc_mode,
	.boot = x86_boot,
	.hooks = x86_hooks,
	.resume_pc = x86_resume_pc,
	.set_pc = x86_set_pc,
	.pc = x86_linear_pc,
	.irq_enabled = x86_irq_enabled,
	.halted = x86_halted,
	.halt = x86_halt,
	.irq_service = x86_irq_service,
	.exception = x86_exception,
	.invalid_insn = x86_invalid_insn,
	.data_fault = x86_data_fault,
};
