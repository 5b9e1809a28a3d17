/* SPDX-License-Identifier: MIT */
/* tests/guests/src/spin-x86.S: x86 real mode - a runaway loop with no accesses (only a kick stops the vCPU). */
	.include "hvabs_guest_abi.inc"
	.code16
	.text
	.globl _start
_start:
	jmp _start
