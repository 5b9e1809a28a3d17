/* SPDX-License-Identifier: MIT */
/* backends/sim/engine/sim_engine_uc.c: sim real-guest engine - x86/arm64 guest code executed by Unicorn. */

/*
 * Guest faults end the VM as CRASHED with exit type HVABS_EXIT_TYPE_GUEST_FAULT
 * (HVABS_EXIT_TYPE_HYP_ERROR for kind 6) and 8 reason bytes:
 *   reason[0]    kind: 1 instruction fetch outside executable RAM,
 *                2 invalid instruction, 3 x86 triple fault, 4 exception or
 *                interrupt with no handler, 5 data access fault with no
 *                handler, 6 engine failure;
 *   reason[1]    detail: x86 vector; arm64 exception class (0xff: IRQ);
 *                kind 6: the Unicorn error code;
 *   reason[2..3] 0;
 *   reason[4..7] low 32 bits of the faulting PC (x86 linear), little-endian.
 * The constants, the interrupt controller and the vector mapping are in
 * sim_engine_abi.h.
 *
 * Execution: each vCPU's guest thread owns one Unicorn instance; RAM
 * regions are mapped with uc_mem_map_ptr() (vCPUs share the host memory),
 * every other physical address below 2^48 is uc_mmio_map()ed to callbacks
 * that call hvabs_sim_guest_mmio_*() (IO handlers, or an exit the guest
 * thread blocks on). A code hook on every instruction keeps the PC exact,
 * so an access the VMM faults stops at its own instruction. Kicks and
 * interrupts only set a flag (no Unicorn call from other threads): a block
 * hook stops the CPU at the next translation block, and the loop then
 * yields (kicks become INTR exits) and delivers interrupts by writing the
 * registers and stack as the hardware would. HLT/WFI end uc_emu_start();
 * the loop sleeps in hvabs_sim_guest_wait_irq().
 *
 * Teardown ends the guest thread with pthread_exit() from inside a blocked
 * hvabs_sim_guest_*() call, possibly within Unicorn: the cleanup handler
 * closes the Unicorn instance and frees the engine.
 */
#include "sim_engine_uc.h"

#include <stdlib.h>
#include <string.h>

/* Physical address space the engine maps (RAM must lie below it). */
#define ENG_PHYS_LIMIT (UINT64_C(1) << 48)
/* uc_emu_start() "until": an address no instruction has. */
#define ENG_UNTIL UINT64_MAX

static const struct eng_arch *eng_arch_of(enum hvabs_arch arch)
{
	switch (arch) {
	case HVABS_ARCH_X86_64:
		return &sim_eng_x86;
	case HVABS_ARCH_ARM64:
		return &sim_eng_arm64;
	default:
		return NULL;
	}
}

static uint32_t eng_cpu_mode(const struct hvabs_vm *vm)
{
	uint32_t mode = vm->boot.cpu_mode;

	if (mode != HVABS_CPU_MODE_DEFAULT)
		return mode;
	return vm->arch == HVABS_ARCH_ARM64 ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
}

/* ---- VM checks (vm_start) ---- */

static int eng_check_mode(const struct hvabs_vm *vm, uint32_t mode)
{
	const struct hvabs_boot_config *b = &vm->boot;

	if (vm->arch == HVABS_ARCH_ARM64)
		return mode == HVABS_CPU_MODE_ARM64_EL1 ? 0 :
			hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME, "cpu mode %u on arm64", mode);
	switch (mode) {
	case HVABS_CPU_MODE_X86_REAL:
		if (b->entry > 0xfffff || b->stack > 0x100000)
			return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME,
						"real-mode entry or stack above 1 MiB");
		return 0;
	case HVABS_CPU_MODE_X86_PROT32:
		if (b->entry > UINT32_MAX || b->stack > UINT32_MAX)
			return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME,
						"32-bit entry or stack above 4 GiB");
		return 0;
	case HVABS_CPU_MODE_X86_LONG64:
		return 0;
	default:
		return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME, "cpu mode %u on x86", mode);
	}
}

int sim_engine_check_vm(struct hvabs_vm *vm)
{
	size_t i;
	int ret;

	if (!eng_arch_of(vm->arch))
		return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME,
					"engine has no guest arch %u", vm->arch);
	ret = eng_check_mode(vm, eng_cpu_mode(vm));
	if (ret)
		return ret;
	for (i = 0; i < vm->nr_regions; i++) {
		const struct hvabs__region *r = &vm->regions[i];

		if (r->guest_addr >= ENG_PHYS_LIMIT || r->size > ENG_PHYS_LIMIT - r->guest_addr)
			return hvabs__error_set(HVABS_ENOTSUP, 0, SIM_NAME,
						"region %u lies beyond the engine's 48-bit address space",
						r->label);
	}
	return vm->arch == HVABS_ARCH_X86_64 ? sim_eng_x86_tables(vm, eng_cpu_mode(vm)) : 0;
}

/* ---- guest RAM seen by the engine ---- */

void *sim_eng_ram(struct sim_eng *e, uint64_t gpa, uint64_t len)
{
	const struct hvabs__region *r = hvabs__vm_region_find(e->vm, gpa, len);

	if (!r)
		return NULL;
	return (uint8_t *)r->host_addr + (gpa - r->guest_addr);
}

bool sim_eng_ram_exec(struct sim_eng *e, uint64_t gpa)
{
	const struct hvabs__region *r = hvabs__vm_region_find(e->vm, gpa, 4);

	return r && (r->flags & HVABS_MEM_EXEC);
}

/* ---- crash ---- */

void sim_eng_crash(struct sim_eng *e, uint8_t kind, uint8_t detail, uint64_t pc)
{
	uint8_t reason[HVABS_GUEST_FAULT_REASON_SIZE] = { kind, detail, 0, 0, (uint8_t)pc,
							 (uint8_t)(pc >> 8), (uint8_t)(pc >> 16),
							 (uint8_t)(pc >> 24) };
	uint16_t type = kind == HVABS_GUEST_FAULT_ENGINE ? HVABS_EXIT_TYPE_HYP_ERROR :
							    HVABS_EXIT_TYPE_GUEST_FAULT;

	hvabs_sim_guest_exit(e->g, true, type, reason, sizeof(reason));
	__builtin_unreachable();
}

static void eng_crash_engine(struct sim_eng *e, uc_err err) __attribute__((noreturn));
static void eng_crash_engine(struct sim_eng *e, uc_err err)
{
	sim_eng_crash(e, HVABS_GUEST_FAULT_ENGINE, (uint8_t)err, e->uc ? e->ops->pc(e) : 0);
}

/* ---- interrupt controller ---- */

void sim_eng_iar_push(struct sim_eng *e, uint32_t line)
{
	if (e->nr_iar == ENG_IAR_DEPTH) {
		/* Nesting this deep: the oldest line is forgotten (never EOIed). */
		memmove(e->iar, e->iar + 1, sizeof(e->iar[0]) * (ENG_IAR_DEPTH - 1));
		e->nr_iar--;
		if (e->held > e->nr_iar)
			e->held = e->nr_iar;
	}
	e->iar[e->nr_iar++] = line;
}

uint32_t sim_eng_ic_read(struct sim_eng *e, uint64_t off)
{
	uint32_t line;

	if (off != HVABS_GUEST_IC_IAR)
		return 0;
	if (e->nr_iar) {
		line = e->iar[--e->nr_iar];
		if (e->held > e->nr_iar)
			e->held = e->nr_iar;
		return line;
	}
	if (hvabs_sim_guest_poll_irq(e->g, &line))
		return line;
	return HVABS_GUEST_IC_SPURIOUS;
}

void sim_eng_ic_write(struct sim_eng *e, uint64_t off, uint64_t val)
{
	if (off == HVABS_GUEST_IC_EOIR)
		hvabs_sim_guest_eoi(e->g, (uint32_t)val);
}

/* ---- hooks (guest thread, inside uc_emu_start) ---- */

void sim_eng_access_fault(struct sim_eng *e, uint64_t addr, bool is_write)
{
	e->stop = ENG_STOP_FAULT;
	e->fault_addr = addr;
	e->fault_write = is_write;
	(void)uc_emu_stop(e->uc);
}

/*
 * 8-byte MMIO accesses: Unicorn 2.0.x splits them into two 4-byte
 * callbacks, low half first. A read must know the width at the low half:
 * a memory hook on the MMIO ranges (reads only) records it. A write
 * needs no hook: a 4-byte write is held until the next event of the CPU
 * and merged when that event is the high half (the same instruction
 * writing the next 4 bytes); otherwise it is issued alone first. Every
 * later callback, the code and block hooks, the other hooks and the end of
 * a run issue a held write, so it is served before the next instruction
 * starts.
 */

/* Read half of the recorded 8-byte read? 1: the low half (read it whole), 2: the high half. */
static int eng_wide_part(struct sim_eng *e, uint64_t addr, unsigned size)
{
	if (!e->wide.active || size != 4)
		return 0;
	if (addr == e->wide.addr)
		return 1;
	if (addr == e->wide.addr + 4) {
		e->wide.active = false;
		return 2;
	}
	return 0;
}

static void eng_wide_hook(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
			  void *ctx)
{
	struct sim_eng *e = ctx;

	(void)uc;
	(void)type;
	(void)value;
	e->wide.active = size == 8;
	e->wide.addr = addr;
}

static void eng_write(struct sim_eng *e, uint64_t addr, uint32_t size, uint64_t val)
{
	if (hvabs_sim_guest_mmio_write(e->g, addr, size, val))
		sim_eng_access_fault(e, addr, true);
}

bool sim_eng_flush_slow(struct sim_eng *e)
{
	e->held_write.active = false;
	eng_write(e, e->held_write.addr, 4, e->held_write.val);
	if (e->stop != ENG_STOP_FAULT)
		return true;
	/* Stopped after the writing instruction: the fault is reported at it. */
	e->fault_held = true;
	return false;
}

static uint64_t eng_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ctx)
{
	struct eng_hole *h = ctx;
	struct sim_eng *e = h->eng;
	uint64_t val = 0;

	(void)uc;
	if (!sim_eng_flush(e))
		return 0;
	switch (eng_wide_part(e, h->base + off, size)) {
	case 1:
		size = 8;
		break;
	case 2:
		return e->wide.val >> 32;
	}
	if (hvabs_sim_guest_mmio_read(e->g, h->base + off, size, &val))
		sim_eng_access_fault(e, h->base + off, false);
	e->wide.val = val;
	return size == 8 ? val & UINT32_MAX : val;
}

static void eng_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *ctx)
{
	struct eng_hole *h = ctx;
	struct sim_eng *e = h->eng;
	uint64_t addr = h->base + off;

	(void)uc;
	if (e->held_write.active) {
		if (size == 4 && addr == e->held_write.addr + 4) {
			e->held_write.active = false;
			eng_write(e, e->held_write.addr, 8, e->held_write.val | val << 32);
			return;
		}
		if (!sim_eng_flush_slow(e))
			return;
	}
	if (size == 4) {
		e->held_write.active = true;
		e->held_write.addr = addr;
		e->held_write.val = (uint32_t)val;
		return;
	}
	eng_write(e, addr, size, val);
}

static uint64_t eng_ic_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ctx)
{
	struct sim_eng *e = ((struct eng_hole *)ctx)->eng;

	(void)uc;
	(void)size;
	return sim_eng_flush(e) ? sim_eng_ic_read(e, off) : 0;
}

static void eng_ic_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *ctx)
{
	struct sim_eng *e = ((struct eng_hole *)ctx)->eng;

	(void)uc;
	(void)size;
	if (sim_eng_flush(e))
		sim_eng_ic_write(e, off, val);
}

/* A held write that faults stops the CPU before this instruction, lastpc at the writer. */
static void eng_code_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *ctx)
{
	struct sim_eng *e = ctx;

	(void)uc;
	(void)size;
	if (sim_eng_flush(e))
		e->lastpc = addr;
}

/*
 * Unicorn runs the block hook before the block's exit check, so a stop here
 * ends the run before any instruction of the block: the CPU continues at
 * @addr. The PC register cannot be trusted then (Unicorn 2.0 may leave the
 * previous instruction's address, or a linear address in 16-bit mode):
 * eng_after_run() sets it from @addr.
 */
static void eng_block_hook(uc_engine *uc, uint64_t addr, uint32_t size, void *ctx)
{
	struct sim_eng *e = ctx;

	(void)size;
	if (!sim_eng_flush(e))
		return;
	if (atomic_load_explicit(&e->notified, memory_order_acquire) ||
	    (e->irq_masked && e->ops->irq_enabled(e))) {
		e->stop = ENG_STOP_NOTIFY;
		e->stop_addr = addr;
		(void)uc_emu_stop(uc);
	}
}

static void eng_intr_hook(uc_engine *uc, uint32_t intno, void *ctx)
{
	struct sim_eng *e = ctx;

	if (!sim_eng_flush(e))
		return;
	e->stop = ENG_STOP_EXCEPTION;
	e->intno = intno;
	(void)uc_emu_stop(uc);
}

/* Unmapped or protected access: remember where, let Unicorn stop with an error. */
static bool eng_mem_event_hook(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			       int64_t value, void *ctx)
{
	struct sim_eng *e = ctx;

	(void)uc;
	(void)size;
	(void)value;
	if (!sim_eng_flush(e))
		return false;
	e->mem_event = true;
	e->fault_addr = addr;
	e->fault_write = type == UC_MEM_WRITE_UNMAPPED || type == UC_MEM_WRITE_PROT;
	return false;
}

/* Sim notify hook: any thread, async-signal-safe. */
static void eng_notify(void *ctx)
{
	atomic_store_explicit(&((struct sim_eng *)ctx)->notified, 1, memory_order_release);
}

/* ---- address space ---- */

struct eng_range {
	uint64_t base, size;
};

static int eng_range_cmp(const void *a, const void *b)
{
	const struct eng_range *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static uint32_t eng_prot(uint32_t flags)
{
	return ((flags & HVABS_MEM_READ) ? UC_PROT_READ : 0) |
	       ((flags & HVABS_MEM_WRITE) ? UC_PROT_WRITE : 0) |
	       ((flags & HVABS_MEM_EXEC) ? UC_PROT_EXEC : 0);
}

static bool eng_ic_free(const struct hvabs_vm *vm)
{
	size_t i;

	for (i = 0; i < vm->nr_regions; i++) {
		const struct hvabs__region *r = &vm->regions[i];

		if (r->guest_addr < HVABS_GUEST_IC_MMIO_BASE + HVABS_GUEST_IC_MMIO_SIZE &&
		    HVABS_GUEST_IC_MMIO_BASE < r->guest_addr + r->size)
			return false;
	}
	return true;
}

/* Sorted RAM regions plus the interrupt controller page (when it is free). */
static struct eng_range *eng_ranges(struct sim_eng *e, size_t *nr_out)
{
	struct hvabs_vm *vm = e->vm;
	struct eng_range *rg = hvabs__calloc(vm->nr_regions + 1, sizeof(*rg));
	size_t i, n = 0;

	if (!rg)
		return NULL;
	for (i = 0; i < vm->nr_regions; i++) {
		rg[n].base = vm->regions[i].guest_addr;
		rg[n++].size = vm->regions[i].size;
	}
	if (eng_ic_free(vm)) {
		rg[n].base = HVABS_GUEST_IC_MMIO_BASE;
		rg[n++].size = HVABS_GUEST_IC_MMIO_SIZE;
	}
	qsort(rg, n, sizeof(*rg), eng_range_cmp);
	*nr_out = n;
	return rg;
}

static uc_err eng_map_hole(struct sim_eng *e, uint64_t base, uint64_t end)
{
	struct eng_hole *h = &e->holes[e->nr_holes];

	if (base >= end)
		return UC_ERR_OK;
	uc_hook hook;
	uc_err err;

	h->eng = e;
	h->base = base;
	e->nr_holes++;
	err = uc_mmio_map(e->uc, base, end - base, eng_mmio_read, h, eng_mmio_write, h);
	if (!err)
		err = uc_hook_add(e->uc, &hook, UC_HOOK_MEM_READ,
				  (void *)eng_wide_hook, e, base, end - 1);
	return err;
}

/* Every non-RAM address below ENG_PHYS_LIMIT becomes MMIO. */
static uc_err eng_map_holes(struct sim_eng *e)
{
	struct eng_range *rg;
	uint64_t next = 0;
	size_t i, n;
	uc_err err = UC_ERR_OK;

	rg = eng_ranges(e, &n);
	if (!rg)
		return UC_ERR_NOMEM;
	e->holes = hvabs__calloc(n + 1, sizeof(*e->holes));
	if (!e->holes) {
		err = UC_ERR_NOMEM;
		goto out_free_ranges;
	}
	for (i = 0; i < n && !err; i++) {
		err = eng_map_hole(e, next, rg[i].base);
		next = rg[i].base + rg[i].size;
	}
	if (!err)
		err = eng_map_hole(e, next, ENG_PHYS_LIMIT);
out_free_ranges:
	hvabs__free(rg);
	return err;
}

static uc_err eng_map_memory(struct sim_eng *e)
{
	struct hvabs_vm *vm = e->vm;
	size_t i;
	uc_err err;

	for (i = 0; i < vm->nr_regions; i++) {
		const struct hvabs__region *r = &vm->regions[i];

		err = uc_mem_map_ptr(e->uc, r->guest_addr, r->size, eng_prot(r->flags), r->host_addr);
		if (err)
			return err;
	}
	if (eng_ic_free(vm)) {
		e->ic_hole.eng = e;
		e->ic_hole.base = HVABS_GUEST_IC_MMIO_BASE;
		err = uc_mmio_map(e->uc, HVABS_GUEST_IC_MMIO_BASE, HVABS_GUEST_IC_MMIO_SIZE,
				  eng_ic_mmio_read, &e->ic_hole, eng_ic_mmio_write, &e->ic_hole);
		if (err)
			return err;
	}
	return eng_map_holes(e);
}

static uc_err eng_hooks(struct sim_eng *e)
{
	uc_hook h;
	uc_err err;

	err = uc_hook_add(e->uc, &h, UC_HOOK_CODE, (void *)eng_code_hook, e, 1, 0);
	if (!err)
		err = uc_hook_add(e->uc, &h, UC_HOOK_BLOCK, (void *)eng_block_hook, e, 1, 0);
	if (!err)
		err = uc_hook_add(e->uc, &h, UC_HOOK_INTR, (void *)eng_intr_hook, e, 1, 0);
	if (!err)
		err = uc_hook_add(e->uc, &h, UC_HOOK_MEM_INVALID, (void *)eng_mem_event_hook, e, 1, 0);
	if (!err)
		err = e->ops->hooks(e);
	return err;
}

/* ---- lifecycle ---- */

static void eng_cleanup(void *arg)
{
	struct sim_eng *e = arg;

	sim_vcpu_set_notify(e->vcpu, NULL, NULL);
	if (e->uc)
		uc_close(e->uc);
	hvabs__free(e->holes);
	hvabs__free(e);
}

static uc_err eng_setup(struct sim_eng *e)
{
	uc_err err;

	err = uc_open(e->ops->arch, e->ops->uc_mode(e->cpu_mode), &e->uc);
	if (err) {
		e->uc = NULL;
		return err;
	}
	err = eng_map_memory(e);
	if (!err)
		err = eng_hooks(e);
	if (!err)
		err = e->ops->boot(e);
	return err;
}

/* Classify a stop Unicorn reported as an error. */
static void eng_uc_error(struct sim_eng *e, uc_err err)
{
	uint64_t pc = e->ops->pc(e);

	switch (err) {
	case UC_ERR_INSN_INVALID:
		e->ops->invalid_insn(e);
		return;
	case UC_ERR_FETCH_UNMAPPED:
	case UC_ERR_FETCH_PROT:
	case UC_ERR_FETCH_UNALIGNED:
		sim_eng_crash(e, HVABS_GUEST_FAULT_FETCH, 0, e->mem_event ? e->fault_addr : pc);
	case UC_ERR_READ_UNMAPPED:
	case UC_ERR_WRITE_UNMAPPED:
	case UC_ERR_READ_PROT:
	case UC_ERR_WRITE_PROT:
	case UC_ERR_READ_UNALIGNED:
	case UC_ERR_WRITE_UNALIGNED:
		e->ops->data_fault(e, e->mem_event ? e->fault_addr : 0, e->fault_write);
		return;
	case UC_ERR_EXCEPTION:
		sim_eng_crash(e, HVABS_GUEST_FAULT_EXCEPTION, 0, pc);
	default:
		eng_crash_engine(e, err);
	}
}

static void eng_after_run(struct sim_eng *e, uc_err err)
{
	(void)sim_eng_flush(e);
	switch (e->stop) {
	case ENG_STOP_FAULT:
		if (e->fault_held)
			e->ops->set_pc(e, e->lastpc);
		e->ops->data_fault(e, e->fault_addr, e->fault_write);
		return;
	case ENG_STOP_EXCEPTION:
		e->ops->exception(e, e->intno);
		return;
	case ENG_STOP_NOTIFY:
		e->ops->set_pc(e, e->stop_addr);
		return;
	case ENG_STOP_NONE:
		break;
	}
	if (err)
		eng_uc_error(e, err);
	else if (e->ops->halted(e))
		e->ops->halt(e);
}

/*
 * Before each run: kicks become INTR exits, then interrupts are taken. A
 * line routed here later notifies again, so only a masked one needs
 * watching. The kick flag is read every time (one load), not only when
 * notified: a kick made before the notify hook was set (while the engine
 * started) set no flag, and would be lost in a guest that never exits.
 * Likewise the first call catches lines raised before the guest ran.
 */
static void eng_service(struct sim_eng *e)
{
	/* Cleared (read-modify-write) before the kick is read: a later kick sets it again. */
	(void)atomic_exchange_explicit(&e->notified, 0, memory_order_acq_rel);
	hvabs_sim_guest_yield(e->g);
	e->ops->irq_service(e);
	e->irq_masked = sim_eng_irq_waiting(e) && !e->ops->irq_enabled(e);
}

static void eng_loop(struct sim_eng *e)
{
	uc_err err;

	for (;;) {
		eng_service(e);
		e->stop = ENG_STOP_NONE;
		e->mem_event = false;
		e->fault_held = false;
		err = uc_emu_start(e->uc, e->ops->resume_pc(e), ENG_UNTIL, 0, 0);
		eng_after_run(e, err);
	}
}

static struct sim_eng *eng_alloc(struct hvabs_sim_guest *g, struct hvabs_vcpu *vcpu)
{
	struct sim_eng *e = hvabs__calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->g = g;
	e->vcpu = vcpu;
	e->vm = vcpu->vm;
	e->ops = eng_arch_of(vcpu->vm->arch);
	e->cpu_mode = eng_cpu_mode(vcpu->vm);
	atomic_init(&e->notified, 0);
	return e;
}

void sim_engine_guest(struct hvabs_sim_guest *g, void *payload)
{
	static const uint8_t nomem[HVABS_GUEST_FAULT_REASON_SIZE] = { HVABS_GUEST_FAULT_ENGINE,
								      UC_ERR_NOMEM };
	struct sim_eng *e = eng_alloc(g, payload);
	uc_err err;

	if (!e || !e->ops) {
		hvabs__free(e);
		hvabs_sim_guest_exit(g, true, HVABS_EXIT_TYPE_HYP_ERROR, nomem, sizeof(nomem));
		return;
	}
	pthread_cleanup_push(eng_cleanup, e);
	err = eng_setup(e);
	if (err)
		eng_crash_engine(e, err);
	sim_vcpu_set_notify(e->vcpu, eng_notify, e);
	eng_loop(e);
	pthread_cleanup_pop(1);
}
