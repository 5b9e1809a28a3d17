/* SPDX-License-Identifier: MIT */
/* tests/guests/src/fault_exception-arm64.S: arm64 - SVC with VBAR_EL1 = 0 (crash: EXCEPTION, EC 0x15, PC of the SVC). */
	.include "hvabs_guest_abi.inc"
	.text
	.globl _start
_start:
	nop
	nop
	.globl fault_insn
fault_insn:
	svc #0x42
