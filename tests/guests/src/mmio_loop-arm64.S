/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/mmio_loop-arm64.S: arm64 - write HVABS_GUEST_DOORBELL_VALUE to the doorbell
 * arg0 (X0) times, report the count, exit 0 (a benchmark of MMIO writes served in the VMM).
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	mov x4, x0
	ldr x1, =HVABS_GUEST_DOORBELL_MMIO
	mov w2, #HVABS_GUEST_DOORBELL_VALUE
	cbz x0, 2f
1:
	str w2, [x1]
	subs x0, x0, #1
	b.ne 1b
2:
	A64_REPORT w4
	A64_EXIT 0
	.ltorg
