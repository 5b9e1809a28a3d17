/* SPDX-License-Identifier: MIT */
/* tests/guests/src/doorbell-arm64.S: arm64 - ring the doorbell HVABS_GUEST_DOORBELL_COUNT times, report the count, exit 0. */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	ldr x1, =HVABS_GUEST_DOORBELL_MMIO
	mov w2, #HVABS_GUEST_DOORBELL_VALUE
	mov x3, #HVABS_GUEST_DOORBELL_COUNT
1:
	str w2, [x1]
	subs x3, x3, #1
	b.ne 1b
	A64_REPORT_IMM HVABS_GUEST_DOORBELL_COUNT
	A64_EXIT 0
	.ltorg
