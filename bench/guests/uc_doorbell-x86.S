/* SPDX-License-Identifier: MIT */
/*
 * bench/guests/uc_doorbell-x86.S: x86 64-bit - arg0 (RSI) rounds of 64 writes to the doorbell, each round
 * ended by one write to the tick register (doorbell + 0x800); then report arg0, exit 0 (tests/guests ABI).
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code64
	.text
	.globl _start
_start:
	mov %esi, %edx
	mov $HVABS_GUEST_DOORBELL_MMIO, %edi
	test %edx, %edx
	jz 3f
1:
	mov $64, %ecx
2:
	movl $HVABS_GUEST_DOORBELL_VALUE, (%rdi)
	dec %ecx
	jnz 2b
	movl %edx, 0x800(%rdi)
	dec %edx
	jnz 1b
3:
	mov %esi, %eax
	X86_REPORT_EAX
	X86_EXIT 0
