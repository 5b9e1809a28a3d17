/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_data-x86.S: x86 real mode - read HVABS_GUEST_FAULT_MMIO, which the VMM
 * completes with FAULT, without a #GP handler (crash: DATA, vector 13, PC of the load).
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
_start:
	mov $(HVABS_GUEST_FAULT_MMIO >> 4), %ax
	mov %ax, %es
	movl %es:0, %eax
	X86_EXIT 1
