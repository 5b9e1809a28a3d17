/* SPDX-License-Identifier: MIT */
/* backends/sim/engine/sim_engine_abi.h: guest-visible conventions of sim real guests and the guest programs. */
#ifndef HVABS_SIM_ENGINE_ABI_H
#define HVABS_SIM_ENGINE_ABI_H

/*
 * Shared by the Unicorn engine (backends/sim/engine), the guest programs
 * (tests/guests, examples/guests), the test suites and hvabs-run.
 *
 * Every constant is one line "#define HVABS_GUEST_<NAME> <plain number>":
 * tests/guests/CMakeLists.txt turns those lines into GNU as ".equ" lines
 * (hvabs_guest_abi.inc) for the guest programs, so keep that form.
 */

/* ---- Devices served by the VMM (hvabs-run, tests) ---- */

/* x86 console: 16550 UART at ports 0x3f8..; THR (write a byte) at +0, LSR at +5 (bit 5 = THR empty). */
#define HVABS_GUEST_X86_UART_PORT 0x3f8
#define HVABS_GUEST_X86_UART_LSR_PORT 0x3fd
#define HVABS_GUEST_UART_LSR_THRE 0x20
/* arm64 console: PL011 at MMIO; UARTDR at +0, UARTFR at +0x18 (bit 5 = TXFF, transmit FIFO full). */
#define HVABS_GUEST_ARM64_UART_BASE 0x09000000
#define HVABS_GUEST_PL011_DR 0x0
#define HVABS_GUEST_PL011_FR 0x18
#define HVABS_GUEST_PL011_FR_TXFF 0x20
/* Exit device: x86 a 1-byte write to the port, arm64 a 32-bit write; the value is the exit status. */
#define HVABS_GUEST_X86_EXIT_PORT 0x501
#define HVABS_GUEST_ARM64_EXIT_MMIO 0x09010000
/* Test device: each write reports one value (x86 a 32-bit OUT, arm64 a 32-bit store). */
#define HVABS_GUEST_X86_TEST_PORT 0x600
#define HVABS_GUEST_TEST_MMIO 0x10000000
/* Echo register (a VMM device that returns the last value written; reachable from x86 real mode). */
#define HVABS_GUEST_ECHO_MMIO 0x000d0000
/* Doorbell (an ioeventfd in tests): guests write HVABS_GUEST_DOORBELL_VALUE, 32 bits. */
#define HVABS_GUEST_DOORBELL_MMIO 0x000d1000
#define HVABS_GUEST_DOORBELL_VALUE 0x1
#define HVABS_GUEST_DOORBELL_COUNT 16

/* ---- Interrupt controller (served by the engine itself, before IO handlers) ---- */

/*
 * One block per vCPU (banked, like a GIC CPU interface), at the same
 * addresses for every vCPU. MMIO page on both arches (GICv2 CPU-interface
 * offsets; absent when a RAM region covers it); x86 also has the two
 * registers as ports. Other offsets read 0 and ignore writes.
 *  IAR  (read):  acknowledge - returns the line (doorbell label) of the
 *                interrupt being taken, or HVABS_GUEST_IC_SPURIOUS.
 *  EOIR (write): end of interrupt for the line written (level lines are
 *                resampled, see backends/sim/sim.h).
 * Delivery: arm64 takes an IRQ exception (VBAR_EL1 + 0x280 from EL1h,
 * +0x080 from EL1t, +0x480 from EL0) while PSTATE.I is clear; the line is
 * acknowledged by the IAR read. x86 takes vector
 * HVABS_GUEST_X86_IRQ_VECTOR_BASE + line (lines >= 0xdf all use vector
 * 0xff) while EFLAGS.IF is set; the line is acknowledged when the vector is
 * delivered, and the handler's IAR read returns it. HLT with IF set and WFI
 * sleep without spinning until an interrupt is pending; HLT with IF clear
 * is an HLT exit. An interrupt that arrives when the next instruction is
 * WFI (x86: HLT, or STI; HLT with IF already set) is taken after it, as if
 * it had woken that wait: the return address is past the wait, so a loop
 * "wait; check the handler's work; repeat" never sleeps through an
 * interrupt that came just before its wait.
 */
#define HVABS_GUEST_IC_MMIO_BASE 0x08010000
#define HVABS_GUEST_IC_MMIO_SIZE 0x1000
#define HVABS_GUEST_IC_IAR 0x0c
#define HVABS_GUEST_IC_EOIR 0x10
#define HVABS_GUEST_X86_IC_IAR_PORT 0x610
#define HVABS_GUEST_X86_IC_EOIR_PORT 0x614
#define HVABS_GUEST_IC_SPURIOUS 1023
#define HVABS_GUEST_X86_IRQ_VECTOR_BASE 0x20

/* ---- CPU state at entry (every vCPU starts at hvabs_boot_config.entry) ---- */

/*
 * x86: ESI/RSI = arg0, EDI = vCPU id, EFLAGS = 0x2 (interrupts off).
 *   REAL:   CS:IP = entry >> 4 : entry & 0xf, DS = ES = FS = GS = 0,
 *           SS:SP = the stack address (SS a multiple of 0x1000).
 *   PROT32: flat CS = HVABS_GUEST_X86_CS32, DS/ES/FS/GS/SS = HVABS_GUEST_X86_DS.
 *   LONG64: CS = HVABS_GUEST_X86_CS64, data as above, paging with the
 *           identity map of the first 4 GiB (2 MiB pages).
 *   PROT32/LONG64 use the boot scratch area: GDT at +0, an empty IDT at
 *   +HVABS_GUEST_X86_SCRATCH_IDT (256 gates), page tables from
 *   +HVABS_GUEST_X86_SCRATCH_PT, written once by hvabs_vm_start() (shared
 *   by every vCPU; a vCPU starting later does not rewrite them).
 * arm64: EL1h, DAIF masked, MMU off; X0 = arg0, X1 = vCPU id, SP = stack.
 *   HVC/SMC (any immediate) call the engine's PSCI: W0 = function id,
 *   result in X0. PSCI_VERSION (0x84000000) returns 0x10000 (1.0);
 *   SYSTEM_OFF (0x84000008) / SYSTEM_RESET (0x84000009) stop the VM as
 *   EXITED with exit type PSCI_POWER_OFF / PSCI_SYSTEM_RESET; any other id
 *   returns -1 (NOT_SUPPORTED).
 * Stack: vCPU n starts with stack - n * HVABS_GUEST_VCPU_STACK_STRIDE
 * (a stack of 0 stays 0).
 */
#define HVABS_GUEST_X86_CS32 0x08
#define HVABS_GUEST_X86_DS 0x10
#define HVABS_GUEST_X86_CS64 0x18
#define HVABS_GUEST_X86_SCRATCH_GDT 0x0
#define HVABS_GUEST_X86_SCRATCH_IDT 0x1000
#define HVABS_GUEST_X86_SCRATCH_PT 0x2000
#define HVABS_GUEST_VCPU_STACK_STRIDE 0x800

/* ---- Guest faults: VM CRASHED, exit type HVABS_EXIT_TYPE_GUEST_FAULT ---- */

/*
 * reason[0] = kind (below), reason[1] = detail, reason[2..3] = 0,
 * reason[4..7] = low 32 bits of the PC (x86: linear address) of the
 * faulting instruction, little-endian; reason_size 8.
 * detail: x86 the vector; arm64 the exception class (ESR_EL1.EC) the
 * exception would have had (0x00 undefined, 0x15 SVC, 0x21 instruction
 * abort, 0x25 data abort, 0x3c BRK, 0xff IRQ; another
 * exception: its Unicorn number); FETCH: 0; ENGINE: the Unicorn error code.
 *  FETCH:   instruction fetch outside executable RAM (PC = fetch address).
 *  INVALID: undefined instruction with no handler (x86 #UD, arm64 UDF).
 *  TRIPLE:  x86 triple fault (a vector, then #DF, could not be delivered).
 *  EXCEPTION: other exception or interrupt with no handler (arm64: any
 *           exception while VBAR_EL1 does not point at executable RAM).
 *  DATA:    data access fault with no handler (x86 #GP, arm64 data abort):
 *           access completed with HVABS_RESUME_FAULT, refused by RAM
 *           permissions, or outside the physical address space.
 *  ENGINE:  the engine itself failed (exit type HVABS_EXIT_TYPE_HYP_ERROR).
 * Handled faults: x86 vectors through the IVT/IDT; an empty entry (IVT
 * 0000:0000, all-zero gate) is "no handler"; an entry beyond the IDTR limit
 * or an unusable gate raises #DF, and a failing #DF is a triple fault.
 * Data faults raise #GP(0). arm64 exceptions go to VBAR_EL1 + 0x200 (EL1h),
 * 0x000 (EL1t) or 0x400 (EL0) with ESR_EL1 = EC, IL and, for data aborts,
 * ISS = WnR | DFSC 0x10 and FAR_EL1 = the address (aborts raised by the CPU
 * model itself have ISS 0 and FAR 0).
 */
#define HVABS_GUEST_FAULT_FETCH 1
#define HVABS_GUEST_FAULT_INVALID 2
#define HVABS_GUEST_FAULT_TRIPLE 3
#define HVABS_GUEST_FAULT_EXCEPTION 4
#define HVABS_GUEST_FAULT_DATA 5
#define HVABS_GUEST_FAULT_ENGINE 6
#define HVABS_GUEST_FAULT_REASON_SIZE 8

/* ---- Layout of the guest programs in tests/guests (same as hvabs-run's defaults) ---- */

/* x86: RAM [0, 0xa0000) labelled HVABS_GUEST_RAM_LABEL; the hole above it holds the echo/doorbell MMIO. */
#define HVABS_GUEST_X86_RAM_BASE 0x0
#define HVABS_GUEST_X86_RAM_SIZE 0xa0000
#define HVABS_GUEST_X86_LOAD 0x1000
#define HVABS_GUEST_X86_STACK_REAL 0x1000
#define HVABS_GUEST_X86_STACK_FLAT 0x90000
#define HVABS_GUEST_X86_SCRATCH 0x90000
#define HVABS_GUEST_X86_MAILBOX 0x8000
/* arm64: RAM [0x40000000, +2 MiB); code at 0x40080000, stack below it. */
#define HVABS_GUEST_ARM64_RAM_BASE 0x40000000
#define HVABS_GUEST_ARM64_RAM_SIZE 0x200000
#define HVABS_GUEST_ARM64_LOAD 0x40080000
#define HVABS_GUEST_ARM64_STACK 0x40080000
#define HVABS_GUEST_ARM64_MAILBOX 0x40003000
#define HVABS_GUEST_RAM_LABEL 0x100
/* MMIO the fault guests read; tests complete it with HVABS_RESUME_FAULT. */
#define HVABS_GUEST_FAULT_MMIO 0x000d2000
/* Value the mmio_echo guests write to the echo register (then report what they read back). */
#define HVABS_GUEST_ECHO_VALUE 0x1234abcd
/* Mailbox of the smp guests: +0 message, +8 "posted" flag, +16 "seen" flag. */
#define HVABS_GUEST_SMP_MESSAGE 0x5a5a1234
/* irq guests take this many (non-spurious) interrupts, then exit with status 0. */
#define HVABS_GUEST_IRQ_COUNT 3
/* Reported by the fault-handling guests: the marker, then the vector (x86) or ESR and FAR (arm64). */
#define HVABS_GUEST_FAULT_MARKER 0xfa017

#endif
