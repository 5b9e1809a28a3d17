/* SPDX-License-Identifier: MIT */
/* tests/guests/src/fault_invalid-x86.S: x86 real mode - UD2 with an empty IVT entry (crash: INVALID, vector 6). */
	.include "hvabs_guest_abi.inc"
	.code16
	.text
	.globl _start
_start:
	nop
	.globl fault_insn
fault_insn:
	ud2
