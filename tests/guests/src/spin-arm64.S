/* SPDX-License-Identifier: MIT */
/* tests/guests/src/spin-arm64.S: arm64 - a runaway loop with no accesses (only a kick stops the vCPU). */
	.include "hvabs_guest_abi.inc"
	.text
	.globl _start
_start:
	b _start
