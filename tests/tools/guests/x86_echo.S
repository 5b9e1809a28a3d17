/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_echo.S: 16550 checks (DLAB, SCR, IIR), then echoes input until 'q' (exit 42). */
	.code16
	.globl _start
_start:
	mov $0x3fb, %dx			/* LCR: DLAB on, divisor 0x000c */
	mov $0x83, %al
	out %al, %dx
	mov $0x3f8, %dx
	mov $0x0c, %al
	out %al, %dx
	mov $0x3f9, %dx
	xor %al, %al
	out %al, %dx
	mov $0x3f8, %dx
	in %dx, %al
	cmp $0x0c, %al
	jne fail
	mov $0x3fb, %dx			/* DLAB off, 8N1 */
	mov $0x03, %al
	out %al, %dx
	in %dx, %al
	cmp $0x03, %al
	jne fail
	mov $0x3ff, %dx			/* scratch register */
	mov $0xa5, %al
	out %al, %dx
	in %dx, %al
	cmp $0xa5, %al
	jne fail
	mov $0x3fa, %dx			/* IIR: no interrupt pending */
	in %dx, %al
	test $0x01, %al
	jz fail
loop:
	mov $0x3fd, %dx
	in %dx, %al
	test $0x01, %al			/* data ready */
	jz loop
	mov $0x3f8, %dx
	in %dx, %al
	cmp $'q', %al
	je quit
	out %al, %dx
	jmp loop
quit:
	mov $42, %al
	jmp out
fail:
	mov $99, %al
out:
	mov $0x501, %dx
	out %al, %dx
	cli
	hlt
