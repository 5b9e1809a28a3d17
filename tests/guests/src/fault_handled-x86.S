/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_handled-x86.S: x86 real mode - read HVABS_GUEST_FAULT_MMIO (the VMM
 * completes it with FAULT) with a #GP handler installed. The handler reports
 * HVABS_GUEST_FAULT_MARKER, the vector (13) and the return IP minus the faulting instruction's
 * offset (0), then exits with status 0.
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
_start:
	xor %ax, %ax
	mov %ax, %es
	movw $gp_handler, %es:(13 * 4)
	movw $0, %es:(13 * 4 + 2)
	mov $(HVABS_GUEST_FAULT_MMIO >> 4), %ax
	mov %ax, %es
fault_insn:
	movl %es:0, %eax
	X86_EXIT 1
gp_handler:
	X86_REPORT_IMM HVABS_GUEST_FAULT_MARKER
	X86_REPORT_IMM 13
	pop %ax				/* IP pushed by the #GP delivery */
	sub $(fault_insn - (HVABS_GUEST_X86_LOAD & 0xffff0)), %ax
	movzwl %ax, %eax
	X86_REPORT_EAX
	X86_EXIT 0
