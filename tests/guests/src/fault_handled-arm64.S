/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_handled-arm64.S: arm64 - load from HVABS_GUEST_FAULT_MMIO (the VMM
 * completes it with FAULT) with a vector table. The synchronous handler reports
 * HVABS_GUEST_FAULT_MARKER, ESR_EL1, FAR_EL1 (low 32 bits) and ELR_EL1 minus the faulting
 * instruction's address (0), then exits with status 0.
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	adr x0, vectors
	msr vbar_el1, x0
	isb
	ldr x1, =HVABS_GUEST_FAULT_MMIO
fault_insn:
	ldr w0, [x1]
	A64_EXIT 1

sync:
	A64_REPORT_IMM HVABS_GUEST_FAULT_MARKER
	mrs x0, esr_el1
	A64_REPORT w0
	mrs x0, far_el1
	A64_REPORT w0
	mrs x0, elr_el1
	adr x1, fault_insn
	sub x0, x0, x1
	A64_REPORT w0
	A64_EXIT 0
	.ltorg

	.balign 0x800
vectors:
	.rept 4
	b .
	.balign 0x80
	.endr
	b sync			/* 0x200: synchronous, current EL with SP_ELx */
	.balign 0x80
	.rept 11
	b .
	.balign 0x80
	.endr
