/* SPDX-License-Identifier: MIT */
/* tests/guests/src/fault_fetch-x86.S: x86 real mode - jump into the MMIO hole at 0xe0000 (crash: FETCH, PC 0xe0000). */
	.include "hvabs_guest_abi.inc"
	.code16
	.text
	.globl _start
_start:
	ljmp $0xe000, $0
