/* SPDX-License-Identifier: MIT */
/* tests/guests/src/fault_fetch-arm64.S: arm64 - branch into the MMIO hole at 0x20000000 (crash: FETCH, PC 0x20000000). */
	.include "hvabs_guest_abi.inc"
	.text
	.globl _start
_start:
	ldr x0, =0x20000000
	br x0
	.ltorg
