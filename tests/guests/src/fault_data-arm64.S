/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_data-arm64.S: arm64 - load from HVABS_GUEST_FAULT_MMIO, which the VMM
 * completes with FAULT, with VBAR_EL1 = 0 (crash: DATA, EC 0x25, PC of the load).
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	ldr x1, =HVABS_GUEST_FAULT_MMIO
	ldr w0, [x1]
	A64_EXIT 1
	.ltorg
