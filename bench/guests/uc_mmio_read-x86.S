/* SPDX-License-Identifier: MIT */
/*
 * bench/guests/uc_mmio_read-x86.S: x86 64-bit - read 32 bits from the doorbell address arg0 (RSI)
 * times, report the count, exit 0 (a benchmark of MMIO reads served in the VMM; tests/guests ABI).
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
	movl (%rdi), %eax
	dec %ecx
	jnz 1b
2:
	mov %esi, %eax
	X86_REPORT_EAX
	X86_EXIT 0
