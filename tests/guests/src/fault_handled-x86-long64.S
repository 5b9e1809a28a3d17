/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_handled-x86-long64.S: x86 64-bit - read HVABS_GUEST_FAULT_MMIO (the VMM
 * completes it with FAULT) with a #GP gate in its own IDT. The handler reports
 * HVABS_GUEST_FAULT_MARKER, 13, the error code (0) and the return RIP minus the faulting
 * instruction's address (0), then exits with status 0.
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code64
	.text
	.globl _start
	.set idt, HVABS_GUEST_X86_MAILBOX + 0x1000
_start:
	lea gp_handler(%rip), %rax
	mov $(idt + 13 * 16), %edi
	mov %ax, (%rdi)
	movw $HVABS_GUEST_X86_CS64, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	movl $0, 12(%rdi)
	lidt idtr(%rip)
	mov $HVABS_GUEST_FAULT_MMIO, %ebx
fault_insn:
	mov (%rbx), %eax
	X86_EXIT 1
gp_handler:
	X86_REPORT_IMM HVABS_GUEST_FAULT_MARKER
	X86_REPORT_IMM 13
	pop %rax			/* error code */
	X86_REPORT_EAX
	pop %rax			/* RIP */
	lea fault_insn(%rip), %rdx
	sub %rdx, %rax
	X86_REPORT_EAX
	X86_EXIT 0
idtr:
	.word 256 * 16 - 1
	.quad idt
