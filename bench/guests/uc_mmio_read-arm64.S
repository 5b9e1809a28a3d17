/* SPDX-License-Identifier: MIT */
/*
 * bench/guests/uc_mmio_read-arm64.S: arm64 - read 32 bits from the doorbell address arg0 (X0)
 * times, report the count, exit 0 (a benchmark of MMIO reads served in the VMM; tests/guests ABI).
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	mov x4, x0
	ldr x1, =HVABS_GUEST_DOORBELL_MMIO
	cbz x0, 2f
1:
	ldr w2, [x1]
	subs x0, x0, #1
	b.ne 1b
2:
	A64_REPORT w4
	A64_EXIT 0
	.ltorg
