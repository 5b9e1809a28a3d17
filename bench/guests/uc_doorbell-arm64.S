/* SPDX-License-Identifier: MIT */
/*
 * bench/guests/uc_doorbell-arm64.S: arm64 - arg0 (X0) rounds of 64 writes to the doorbell, each round
 * ended by one write to the tick register (doorbell + 0x800); then report arg0, exit 0 (tests/guests ABI).
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	mov x4, x0
	ldr x1, =HVABS_GUEST_DOORBELL_MMIO
	mov w2, #HVABS_GUEST_DOORBELL_VALUE
	cbz x0, 3f
1:
	mov x3, #64
2:
	str w2, [x1]
	subs x3, x3, #1
	b.ne 2b
	str w0, [x1, #0x800]
	subs x0, x0, #1
	b.ne 1b
3:
	A64_REPORT w4
	A64_EXIT 0
	.ltorg
