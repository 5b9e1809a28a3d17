/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/irq-arm64.S: arm64 - take arg0 (X0; 0 means HVABS_GUEST_IRQ_COUNT) IRQs while
 * waiting in WFI, report each line, exit 0. Built twice: irq_edge (EOI, then report) and irq_level
 * (--defsym LEVEL=1: report, then EOI). A spurious IAR read is reported, not counted.
 * Any other exception reports HVABS_GUEST_FAULT_MARKER and ESR_EL1, then exits with status 1.
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	mov x22, #HVABS_GUEST_IRQ_COUNT
	cbz x0, 0f
	mov x22, x0
0:
	adr x0, vectors
	msr vbar_el1, x0
	isb
	mov x19, #0
	ldr x20, =HVABS_GUEST_IC_MMIO_BASE
	msr daifclr, #2
1:
	wfi
	cmp x19, x22
	b.lo 1b
	A64_EXIT 0

irq:
	ldr w0, [x20, #HVABS_GUEST_IC_IAR]
	cmp w0, #HVABS_GUEST_IC_SPURIOUS
	b.eq 2f
.ifdef LEVEL
	A64_REPORT w0
	str w0, [x20, #HVABS_GUEST_IC_EOIR]
.else
	str w0, [x20, #HVABS_GUEST_IC_EOIR]
	A64_REPORT w0
.endif
	add x19, x19, #1
	eret
2:
	A64_REPORT w0
	eret

unexpected:
	A64_REPORT_IMM HVABS_GUEST_FAULT_MARKER
	mrs x0, esr_el1
	A64_REPORT w0
	A64_EXIT 1
	.ltorg

	.balign 0x800
vectors:
	.rept 5
	b unexpected
	.balign 0x80
	.endr
	b irq			/* 0x280: IRQ, current EL with SP_ELx */
	.balign 0x80
	.rept 10
	b unexpected
	.balign 0x80
	.endr
