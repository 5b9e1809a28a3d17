/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/mmio_loop-x86.S: x86 64-bit - write HVABS_GUEST_DOORBELL_VALUE to the doorbell
 * arg0 (RSI) times, report the count, exit 0 (a benchmark of MMIO writes served in the VMM).
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code64
	.text
	.globl _start
_start:
	mov %esi, %ecx
	mov $HVABS_GUEST_DOORBELL_MMIO, %edi
	test %ecx, %ecx
	jz 2f
1:
	movl $HVABS_GUEST_DOORBELL_VALUE, (%rdi)
	dec %ecx
	jnz 1b
2:
	mov %esi, %eax
	X86_REPORT_EAX
	X86_EXIT 0
