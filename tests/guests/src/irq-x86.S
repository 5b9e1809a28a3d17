/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/irq-x86.S: x86 real mode - take arg0 (ESI; 0 means HVABS_GUEST_IRQ_COUNT)
 * interrupts while halted (sti; hlt), report each line, exit 0. Built twice: irq_edge (EOI, then report) and irq_level
 * (--defsym LEVEL=1: report, then EOI, so the device can drop the line before it is resampled).
 * A spurious IAR read reports HVABS_GUEST_IC_SPURIOUS and is not counted.
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
	/* Counters live outside the code page: writes there would invalidate translated code. */
	.set count, HVABS_GUEST_X86_MAILBOX
	.set limit, HVABS_GUEST_X86_MAILBOX + 4
_start:
	cli
	mov $HVABS_GUEST_IRQ_COUNT, %eax
	test %esi, %esi
	cmovnz %esi, %eax
	mov %eax, limit
	movl $0, count
	xor %ax, %ax
	mov %ax, %es
	/* IVT: vectors 0x20..0xff -> 0000:handler */
	mov $(HVABS_GUEST_X86_IRQ_VECTOR_BASE * 4), %di
	mov $(0x100 - HVABS_GUEST_X86_IRQ_VECTOR_BASE), %cx
1:
	movw $handler, %es:(%di)
	movw $0, %es:2(%di)
	add $4, %di
	loop 1b
wait:
	sti
	hlt
	mov count, %eax
	cmp limit, %eax
	jb wait
	X86_EXIT 0

handler:
	pushal
	mov $HVABS_GUEST_X86_IC_IAR_PORT, %dx
	in %dx, %eax
	cmp $HVABS_GUEST_IC_SPURIOUS, %eax
	je 2f
	mov %eax, %ebx
.ifdef LEVEL
	X86_REPORT_EAX
	mov %ebx, %eax
	mov $HVABS_GUEST_X86_IC_EOIR_PORT, %dx
	out %eax, %dx
.else
	mov $HVABS_GUEST_X86_IC_EOIR_PORT, %dx
	out %eax, %dx
	mov %ebx, %eax
	X86_REPORT_EAX
.endif
	incl count
	popal
	iret
2:
	X86_REPORT_EAX
	popal
	iret

