/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/irq_sp0-arm64.S: arm64 at EL1t (SPSel 0, stack SP_EL0 = 0x40070000) - take
 * one IRQ. The handler (VBAR_EL1 + 0x080) reports the line and its SP, which must be SP_EL1 (the
 * boot stack); after ERET the guest reports SP again (SP_EL0 restored), then exits 0.
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	adr x0, vectors
	msr vbar_el1, x0
	isb
	ldr x20, =HVABS_GUEST_IC_MMIO_BASE
	mov x19, #0
	msr spsel, #0
	ldr x0, =HVABS_GUEST_ARM64_STACK - 0x10000
	mov sp, x0
	msr daifclr, #2
1:
	wfi
	cbz x19, 1b
	mov x0, sp
	A64_REPORT w0
	A64_EXIT 0

irq:
	ldr w0, [x20, #HVABS_GUEST_IC_IAR]
	str w0, [x20, #HVABS_GUEST_IC_EOIR]
	A64_REPORT w0
	mov x0, sp
	A64_REPORT w0
	mov x19, #1
	eret

unexpected:
	A64_REPORT_IMM HVABS_GUEST_FAULT_MARKER
	A64_EXIT 1
	.ltorg

	.balign 0x800
vectors:
	b unexpected		/* 0x000: synchronous, current EL with SP_EL0 */
	.balign 0x80
	b irq			/* 0x080: IRQ, current EL with SP_EL0 */
	.balign 0x80
	.rept 14
	b unexpected
	.balign 0x80
	.endr
