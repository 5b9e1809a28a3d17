/* SPDX-License-Identifier: MIT */
/* backends/sim/engine/sim_engine_arm64.c: arm64 part of the sim engine - EL1 boot, exception entry, WFI. */
#include "sim_engine_uc.h"

/*
 * Unicorn reports exceptions through UC_HOOK_INTR but never takes them, so
 * the engine performs exception entry itself: SPSR_EL1, ELR_EL1, ESR_EL1,
 * FAR_EL1, PSTATE (EL1h, DAIF masked, NZCV kept), SP_EL0/SP_EL1 banking and
 * PC = VBAR_EL1 + offset. The guest's ERET is Unicorn's. HVC and SMC are
 * calls to the hypervisor (PSCI), never delivered to the guest. The engine
 * reads instructions at guest-physical = virtual addresses (MMU off).
 */

/* Unicorn (QEMU) arm exception numbers seen by UC_HOOK_INTR. */
#define A64_EXCP_UDEF 1
#define A64_EXCP_SWI 2
#define A64_EXCP_PREFETCH_ABORT 3
#define A64_EXCP_DATA_ABORT 4
#define A64_EXCP_BKPT 7
#define A64_EXCP_HVC 11
#define A64_EXCP_SMC 13 /* HVC/SMC: see a64_smccc() */

/* ESR_EL1 exception classes. */
#define A64_EC_UNKNOWN 0x00
#define A64_EC_SVC 0x15
#define A64_EC_IABT 0x21
#define A64_EC_DABT 0x25
#define A64_EC_BRK 0x3c
#define A64_EC_IRQ 0xff /* not an EC: the detail byte of an unhandled IRQ */
#define A64_ESR_IL (UINT64_C(1) << 25)
#define A64_ISS_WNR (1u << 6)
#define A64_DFSC_EXTERNAL 0x10

#define A64_PSTATE_I (1u << 7)
#define A64_PSTATE_NZCV UINT64_C(0xf0000000)
#define A64_PSTATE_EL1H_MASKED 0x3c5 /* D, A, I, F set; EL1 with SP_EL1 */
#define A64_INSN_WFI 0xd503207fu
#define A64_INSN_CALL_MASK 0xffe0001fu
#define A64_INSN_HVC 0xd4000002u
#define A64_INSN_SMC 0xd4000003u

/* SMCCC/PSCI calls the engine answers (HVC or SMC, function id in W0, result in X0). */
#define PSCI_VERSION 0x84000000u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_VERSION_1_0 0x10000u
#define SMCCC_NOT_SUPPORTED UINT64_MAX
#define A64_VEC_SYNC 0x000
#define A64_VEC_IRQ 0x080

/* SPSR_EL1 and SCR_EL3 through UC_ARM64_REG_CP_REG (op0, op1, CRn, CRm, op2). */
static uc_arm64_cp_reg a64_cp(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2,
			      uint64_t val)
{
	uc_arm64_cp_reg r = { .crn = crn, .crm = crm, .op0 = op0, .op1 = op1, .op2 = op2, .val = val };

	return r;
}

static int a64_set_spsr_el1(struct sim_eng *e, uint64_t val)
{
	uc_arm64_cp_reg r = a64_cp(3, 0, 4, 0, 0, val);

	return uc_reg_write(e->uc, UC_ARM64_REG_CP_REG, &r);
}

static uint64_t a64_pc(struct sim_eng *e)
{
	return sim_eng_reg(e, UC_ARM64_REG_PC);
}

static uint32_t a64_insn(struct sim_eng *e, uint64_t addr)
{
	const uint8_t *p = sim_eng_ram(e, addr, 4);

	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 :
		   0;
}

/*
 * Exception entry to EL1 at vector group @vec (sync or IRQ), returning to
 * @ret. False when VBAR_EL1 does not point at executable RAM (nothing
 * changed).
 */
static bool a64_enter(struct sim_eng *e, uint64_t vec, uint64_t ret, uint64_t esr, uint64_t far)
{
	uint64_t pst = sim_eng_reg(e, UC_ARM64_REG_PSTATE);
	uint64_t vbar = sim_eng_reg(e, UC_ARM64_REG_VBAR_EL1);
	bool from_el0 = ((pst >> 2) & 3) == 0, on_sp0 = !(pst & 1);
	uint64_t target = vbar + (from_el0 ? 0x400 : on_sp0 ? 0x000 : 0x200) + vec;

	if (!vbar || !sim_eng_ram_exec(e, target))
		return false;
	if (a64_set_spsr_el1(e, pst))
		return false;
	sim_eng_set_reg(e, UC_ARM64_REG_ELR_EL1, ret);
	if (vec == A64_VEC_SYNC) {
		sim_eng_set_reg(e, UC_ARM64_REG_ESR_EL1, esr);
		sim_eng_set_reg(e, UC_ARM64_REG_FAR_EL1, far);
	}
	if (from_el0 || on_sp0) {
		/* SP_EL0 was the current stack pointer: bank it, switch to SP_EL1. */
		uint64_t sp = sim_eng_reg(e, UC_ARM64_REG_SP);

		sim_eng_set_reg(e, UC_ARM64_REG_SP, sim_eng_reg(e, UC_ARM64_REG_SP_EL1));
		sim_eng_set_reg(e, UC_ARM64_REG_SP_EL0, sp);
	}
	sim_eng_set_reg(e, UC_ARM64_REG_PSTATE, (pst & A64_PSTATE_NZCV) | A64_PSTATE_EL1H_MASKED);
	sim_eng_set_reg(e, UC_ARM64_REG_PC, target);
	return true;
}

/* Synchronous exception of class @ec, or crash with @kind when there is no vector table. */
static void a64_sync(struct sim_eng *e, uint8_t kind, uint32_t ec, uint32_t iss, uint64_t ret,
		     uint64_t far)
{
	uint64_t esr = (uint64_t)ec << 26 | A64_ESR_IL | iss;

	if (!a64_enter(e, A64_VEC_SYNC, ret, esr, far))
		sim_eng_crash(e, kind, (uint8_t)ec, ec == A64_EC_SVC ? ret - 4 : ret);
}

/* imm16 of SVC/HVC/SMC/BRK at @addr. */
static uint32_t a64_imm16(struct sim_eng *e, uint64_t addr)
{
	return (a64_insn(e, addr) >> 5) & 0xffff;
}

/*
 * HVC/SMC at e->lastpc (Unicorn reports them as UDEF, HVC or SMC): the
 * hypervisor's SMCCC/PSCI service. False when the instruction is neither.
 */
static bool a64_smccc(struct sim_eng *e)
{
	uint32_t insn = a64_insn(e, e->lastpc) & A64_INSN_CALL_MASK;
	uint64_t ret = SMCCC_NOT_SUPPORTED;

	if (insn != A64_INSN_HVC && insn != A64_INSN_SMC)
		return false;
	switch ((uint32_t)sim_eng_reg(e, UC_ARM64_REG_X0)) {
	case PSCI_VERSION:
		ret = PSCI_VERSION_1_0;
		break;
	case PSCI_SYSTEM_OFF:
		hvabs_sim_guest_exit(e->g, false, HVABS_EXIT_TYPE_PSCI_POWER_OFF, NULL, 0);
		break;
	case PSCI_SYSTEM_RESET:
		hvabs_sim_guest_exit(e->g, false, HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, NULL, 0);
		break;
	}
	sim_eng_set_reg(e, UC_ARM64_REG_X0, ret);
	sim_eng_set_reg(e, UC_ARM64_REG_PC, e->lastpc + 4);
	return true;
}

static void a64_exception(struct sim_eng *e, uint32_t intno)
{
	uint64_t pc = a64_pc(e);
	uint8_t kind = HVABS_GUEST_FAULT_EXCEPTION;

	if ((intno == A64_EXCP_UDEF || intno == A64_EXCP_HVC || intno == A64_EXCP_SMC) &&
	    a64_smccc(e))
		return;
	switch (intno) {
	case A64_EXCP_UDEF:
		a64_sync(e, HVABS_GUEST_FAULT_INVALID, A64_EC_UNKNOWN, 0, pc, 0);
		return;
	case A64_EXCP_SWI: /* PC is past the SVC: its preferred return address */
		a64_sync(e, kind, A64_EC_SVC, a64_imm16(e, pc - 4), pc, 0);
		return;
	case A64_EXCP_BKPT:
		a64_sync(e, kind, A64_EC_BRK, a64_imm16(e, pc), pc, 0);
		return;
	case A64_EXCP_PREFETCH_ABORT:
		a64_sync(e, HVABS_GUEST_FAULT_FETCH, A64_EC_IABT, 0, pc, 0);
		return;
	case A64_EXCP_DATA_ABORT:
		a64_sync(e, HVABS_GUEST_FAULT_DATA, A64_EC_DABT, 0, pc, 0);
		return;
	default:
		sim_eng_crash(e, kind, (uint8_t)intno, pc);
	}
}

static void a64_invalid_insn(struct sim_eng *e)
{
	a64_sync(e, HVABS_GUEST_FAULT_INVALID, A64_EC_UNKNOWN, 0, a64_pc(e), 0);
}

static void a64_data_fault(struct sim_eng *e, uint64_t addr, bool is_write)
{
	a64_sync(e, HVABS_GUEST_FAULT_DATA, A64_EC_DABT,
		 (is_write ? A64_ISS_WNR : 0) | A64_DFSC_EXTERNAL, a64_pc(e), addr);
}

/* ---- interrupts and WFI ---- */

static bool a64_irq_enabled(struct sim_eng *e)
{
	return !(sim_eng_reg(e, UC_ARM64_REG_PSTATE) & A64_PSTATE_I);
}

/*
 * Take the IRQ. At a WFI it is taken after it (ELR past the WFI, which a
 * pending interrupt completes at once): a guest that checks its condition
 * after "wfi" then sees what the handler did instead of sleeping again.
 */
static void a64_irq_service(struct sim_eng *e)
{
	uint64_t pc, ret;

	if (!sim_eng_irq_waiting(e) || !a64_irq_enabled(e))
		return;
	pc = a64_pc(e);
	ret = a64_insn(e, pc) == A64_INSN_WFI ? pc + 4 : pc;
	if (!a64_enter(e, A64_VEC_IRQ, ret, 0, 0))
		sim_eng_crash(e, HVABS_GUEST_FAULT_EXCEPTION, A64_EC_IRQ, pc);
}

static bool a64_halted(struct sim_eng *e)
{
	return a64_insn(e, e->lastpc) == A64_INSN_WFI && a64_pc(e) == e->lastpc + 4;
}

/* WFI: sleep until a line is pending; it is acknowledged and held for the IAR read. */
static void a64_halt(struct sim_eng *e)
{
	if (sim_eng_irq_waiting(e))
		return;
	sim_eng_iar_push(e, hvabs_sim_guest_wait_irq(e->g));
	e->held++;
}

static void a64_set_pc(struct sim_eng *e, uint64_t addr)
{
	sim_eng_set_reg(e, UC_ARM64_REG_PC, addr);
}

/* ---- boot ---- */

static uc_mode a64_uc_mode(uint32_t cpu_mode)
{
	(void)cpu_mode;
	return UC_MODE_ARM;
}

static int a64_hooks(struct sim_eng *e)
{
	(void)e;
	return UC_ERR_OK;
}

static int a64_boot(struct sim_eng *e)
{
	const struct hvabs_boot_config *b = &e->vm->boot;
	/* SCR_EL3.RW: EL1 is AArch64 (ERET to EL1 is illegal otherwise). */
	uc_arm64_cp_reg scr = a64_cp(3, 6, 1, 1, 0, 1u << 10);
	uint64_t sp = b->stack ? b->stack - (uint64_t)e->vcpu->id * HVABS_GUEST_VCPU_STACK_STRIDE : 0;
	int err;

	err = uc_reg_write(e->uc, UC_ARM64_REG_CP_REG, &scr);
	if (err)
		return err;
	sim_eng_set_reg(e, UC_ARM64_REG_PSTATE, A64_PSTATE_EL1H_MASKED);
	sim_eng_set_reg(e, UC_ARM64_REG_X0, b->arg0);
	sim_eng_set_reg(e, UC_ARM64_REG_X1, e->vcpu->id);
	sim_eng_set_reg(e, UC_ARM64_REG_SP, sp);
	sim_eng_set_reg(e, UC_ARM64_REG_PC, b->entry);
	return 0;
}

const struct eng_arch sim_eng_arm64 = {
	.arch = UC_ARCH_ARM64,
	.uc_mode = a64_uc_mode,
	.boot = a64_boot,
	.hooks = a64_hooks,
	.resume_pc = a64_pc,
	.set_pc = a64_set_pc,
	.pc = a64_pc,
	.irq_enabled = a64_irq_enabled,
	.halted = a64_halted,
	.halt = a64_halt,
	.irq_service = a64_irq_service,
	.exception = a64_exception,
	.invalid_insn = a64_invalid_insn,
	.data_fault = a64_data_fault,
};
