/* SPDX-License-Identifier: MIT */
/* tests/guests/src/fault_invalid-arm64.S: arm64 - UDF with VBAR_EL1 = 0 (crash: INVALID, EC 0x00, PC of the UDF). */
	.include "hvabs_guest_abi.inc"
	.text
	.globl _start
_start:
	nop
	.globl fault_insn
fault_insn:
	udf #0
