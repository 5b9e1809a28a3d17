/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/fault_handled-x86-prot32.S: x86 32-bit - read HVABS_GUEST_FAULT_MMIO (the VMM
 * completes it with FAULT) with a #GP gate in its own IDT. The handler reports
 * HVABS_GUEST_FAULT_MARKER, 13, the error code (0) and the return EIP minus the faulting
 * instruction's address (0), then exits with status 0.
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code32
	.text
	.globl _start
	.set idt, HVABS_GUEST_X86_MAILBOX + 0x1000
_start:
	mov $gp_handler, %eax
	mov $(idt + 13 * 8), %edi
	mov %ax, (%edi)
	movw $HVABS_GUEST_X86_CS32, 2(%edi)
	movw $0x8e00, 4(%edi)		/* present 32-bit interrupt gate */
	shr $16, %eax
	mov %ax, 6(%edi)
	lidt idtr
	mov $HVABS_GUEST_FAULT_MMIO, %ebx
fault_insn:
	mov (%ebx), %eax
	X86_EXIT 1
gp_handler:
	X86_REPORT_IMM HVABS_GUEST_FAULT_MARKER
	X86_REPORT_IMM 13
	pop %eax			/* error code */
	X86_REPORT_EAX
	pop %eax			/* EIP */
	sub $fault_insn, %eax
	X86_REPORT_EAX
	X86_EXIT 0
idtr:
	.word 256 * 8 - 1
	.long idt
