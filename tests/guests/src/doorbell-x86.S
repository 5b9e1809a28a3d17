/* SPDX-License-Identifier: MIT */
/* tests/guests/src/doorbell-x86.S: x86 real mode - ring the doorbell HVABS_GUEST_DOORBELL_COUNT times, report the count, exit 0. */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
_start:
	mov $(HVABS_GUEST_DOORBELL_MMIO >> 4), %ax
	mov %ax, %es
	mov $HVABS_GUEST_DOORBELL_COUNT, %cx
1:
	movl $HVABS_GUEST_DOORBELL_VALUE, %es:0
	loop 1b
	X86_REPORT_IMM HVABS_GUEST_DOORBELL_COUNT
	X86_EXIT 0
