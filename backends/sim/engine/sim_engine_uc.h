/* SPDX-License-Identifier: MIT */
/* backends/sim/engine/sim_engine_uc.h: Unicorn engine internals shared by its common and per-arch files. */
#ifndef HVABS_SIM_ENGINE_UC_H
#define HVABS_SIM_ENGINE_UC_H

#include "sim.h"
#include "sim_engine_abi.h"

#include <unicorn/unicorn.h>

/* Lines acknowledged but not yet returned by an IAR read (nesting depth). */
#define ENG_IAR_DEPTH 16

/* Why the last uc_emu_start() returned, as recorded by the hooks. */
enum eng_stop {
	ENG_STOP_NONE = 0,   /* Unicorn stopped by itself: HLT/WFI or an error */
	ENG_STOP_NOTIFY,     /* block hook: kick, interrupt or unmasking */
	ENG_STOP_EXCEPTION,  /* UC_HOOK_INTR: a CPU exception */
	ENG_STOP_FAULT,      /* an MMIO/PIO access completed with FAULT */
};

struct sim_eng;

/* A range of the physical address space that is not RAM (MMIO). */
struct eng_hole {
	struct sim_eng *eng;
	uint64_t base;
};

/* Per-architecture part of the engine. */
struct eng_arch {
	uc_arch arch;
	/* Unicorn mode for the boot cpu_mode. */
	uc_mode (*uc_mode)(uint32_t cpu_mode);
	/* Registers (and x86 scratch tables) at the vCPU's first instruction. */
	int (*boot)(struct sim_eng *e);
	/* Hooks beyond the common ones (x86 IN/OUT). */
	int (*hooks)(struct sim_eng *e);
	/* Address to hand to uc_emu_start() to continue where the CPU is. */
	uint64_t (*resume_pc)(struct sim_eng *e);
	/* Make the CPU continue at linear address @addr (x86: CS-relative IP). */
	void (*set_pc)(struct sim_eng *e, uint64_t addr);
	/* PC for crash reasons (x86: linear). */
	uint64_t (*pc)(struct sim_eng *e);
	bool (*irq_enabled)(struct sim_eng *e);
	/* Did the CPU stop on HLT/WFI (the instruction at e->lastpc)? */
	bool (*halted)(struct sim_eng *e);
	/* Sleep or exit for the HLT/WFI it stopped on. */
	void (*halt)(struct sim_eng *e);
	/* Take one pending interrupt if the CPU accepts it. */
	void (*irq_service)(struct sim_eng *e);
	/* Deliver or crash for CPU exception @intno (Unicorn numbering). */
	void (*exception)(struct sim_eng *e, uint32_t intno);
	void (*invalid_insn)(struct sim_eng *e);
	void (*data_fault)(struct sim_eng *e, uint64_t addr, bool is_write);
};

struct sim_eng {
	struct hvabs_sim_guest *g;
	struct hvabs_vcpu *vcpu;
	struct hvabs_vm *vm;
	const struct eng_arch *ops;
	uc_engine *uc;
	uint32_t cpu_mode;     /* enum hvabs_cpu_mode, resolved (never DEFAULT) */
	atomic_int notified;   /* set by the sim's notify hook, any thread */
	uint64_t lastpc;       /* address of the instruction last started (code hook) */
	enum eng_stop stop;
	uint64_t stop_addr;    /* ENG_STOP_NOTIFY: the block that did not run */
	uint32_t intno;        /* ENG_STOP_EXCEPTION */
	uint64_t fault_addr;   /* ENG_STOP_FAULT, and Unicorn memory errors */
	bool fault_write;
	bool mem_event;        /* fault_addr was set by the memory event hook */
	/* Interrupt controller: acknowledged lines awaiting their IAR read. */
	uint32_t iar[ENG_IAR_DEPTH];
	unsigned int nr_iar;
	unsigned int held;     /* arm64: how many of them still need an IRQ exception */
	/* An interrupt was waiting while the CPU masked it: the block hook
	 * stops once the CPU unmasks (set by each service, after delivery). */
	bool irq_masked;
	/*
	 * Unicorn 2.0.x splits an 8-byte MMIO access into two 4-byte
	 * callbacks (low half first). Reads: the memory hook records the
	 * width so the low half reads whole. Writes: a 4-byte write is held
	 * until the next CPU event and merged with its high half.
	 */
	struct {
		bool active;
		uint64_t addr;
		uint64_t val; /* what the whole read returned */
	} wide;
	struct {
		bool active;
		uint64_t addr;
		uint64_t val;
	} held_write;
	bool fault_held;       /* ENG_STOP_FAULT came from a held write (PC past it) */
	struct eng_hole *holes;
	size_t nr_holes;
	struct eng_hole ic_hole;
};

extern const struct eng_arch sim_eng_x86;
extern const struct eng_arch sim_eng_arm64;

/* Crash the VM (kind HVABS_GUEST_FAULT_*); does not return. */
void sim_eng_crash(struct sim_eng *e, uint8_t kind, uint8_t detail, uint64_t pc)
	__attribute__((noreturn));

/* x86 PROT32/LONG64: write the boot scratch tables (at vm_start, before any vCPU runs). */
int sim_eng_x86_tables(struct hvabs_vm *vm, uint32_t cpu_mode);

/* Host pointer for guest-physical [gpa, gpa + len) inside one RAM region, else NULL. */
void *sim_eng_ram(struct sim_eng *e, uint64_t gpa, uint64_t len);
/* Is [gpa, gpa + 4) executable RAM? */
bool sim_eng_ram_exec(struct sim_eng *e, uint64_t gpa);

/* Interrupt controller registers (shared by the MMIO page and x86 ports). */
uint32_t sim_eng_ic_read(struct sim_eng *e, uint64_t off);
void sim_eng_ic_write(struct sim_eng *e, uint64_t off, uint64_t val);
/* Record an acknowledged line for the next IAR read. */
void sim_eng_iar_push(struct sim_eng *e, uint32_t line);

/* Access faulted (resume FAULT): stop at the faulting instruction. */
void sim_eng_access_fault(struct sim_eng *e, uint64_t addr, bool is_write);

bool sim_eng_flush_slow(struct sim_eng *e);

/*
 * Issue the held 4-byte MMIO write, if any, before anything else the CPU
 * does. False when it faulted: the CPU stops, and the caller does nothing.
 */
static inline bool sim_eng_flush(struct sim_eng *e)
{
	return !e->held_write.active || sim_eng_flush_slow(e);
}

/* A line is waiting to be taken (arm64 held lines or one routed to the vCPU). */
static inline bool sim_eng_irq_waiting(struct sim_eng *e)
{
	return e->held || sim_vcpu_irq_pending(e->vcpu);
}

static inline void sim_eng_set_reg(struct sim_eng *e, int reg, uint64_t v)
{
	(void)uc_reg_write(e->uc, reg, &v);
}

static inline uint64_t sim_eng_reg(struct sim_eng *e, int reg)
{
	uint64_t v = 0;

	(void)uc_reg_read(e->uc, reg, &v);
	return v;
}

#endif
