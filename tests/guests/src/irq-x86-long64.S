/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/irq-x86-long64.S: x86 64-bit - the irq guest with its own IDT (64-bit
 * interrupt gates for vectors 0x20..0xff): take arg0 (RSI; 0 means HVABS_GUEST_IRQ_COUNT)
 * interrupts while halted, EOI and report each line, exit 0.
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code64
	.text
	.globl _start
	.set count, HVABS_GUEST_X86_MAILBOX
	.set limit, HVABS_GUEST_X86_MAILBOX + 4
	.set idt, HVABS_GUEST_X86_MAILBOX + 0x1000
_start:
	mov $HVABS_GUEST_IRQ_COUNT, %eax
	test %esi, %esi
	cmovnz %esi, %eax
	mov %eax, limit
	movl $0, count
	lea handler(%rip), %rax
	mov $(idt + HVABS_GUEST_X86_IRQ_VECTOR_BASE * 16), %edi
	mov $(0x100 - HVABS_GUEST_X86_IRQ_VECTOR_BASE), %ecx
1:
	mov %ax, (%rdi)
	movw $HVABS_GUEST_X86_CS64, 2(%rdi)
	movw $0x8e00, 4(%rdi)		/* IST 0; present 64-bit interrupt gate */
	mov %rax, %rdx
	shr $16, %rdx
	mov %dx, 6(%rdi)
	shr $16, %rdx
	mov %edx, 8(%rdi)
	movl $0, 12(%rdi)
	add $16, %rdi
	loop 1b
	lidt idtr(%rip)
wait:
	sti
	hlt
	mov count, %eax
	cmp limit, %eax
	jb wait
	X86_EXIT 0

handler:
	push %rax
	push %rdx
	push %rbx
	mov $HVABS_GUEST_X86_IC_IAR_PORT, %dx
	in %dx, %eax
	cmp $HVABS_GUEST_IC_SPURIOUS, %eax
	je 2f
	mov %eax, %ebx
	mov $HVABS_GUEST_X86_IC_EOIR_PORT, %dx
	out %eax, %dx
	mov %ebx, %eax
	incl count
2:
	X86_REPORT_EAX
	pop %rbx
	pop %rdx
	pop %rax
	iretq

idtr:
	.word 256 * 16 - 1
	.quad idt
