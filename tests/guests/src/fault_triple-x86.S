/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_triple-x86.S: x86 real mode - load an IDT limit of 0, then INT 0x30:
 * vector 0x30 and #DF both lie beyond the limit (crash: TRIPLE, detail 0x30).
 */
	.include "hvabs_guest_abi.inc"
	.code16
	.text
	.globl _start
_start:
	lidt idtr
	int $0x30
	hlt
idtr:
	.word 0
	.long 0
