/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_unserved.S: accesses no device serves read all ones; exits (0x80 & 0x0f) | (MMIO & 0x30) = 63. */
	.code16
	.globl _start
_start:
	mov $0x80, %dx
	mov $0x55, %al
	out %al, %dx			/* ignored */
	in %dx, %al			/* 0xff */
	and $0x0f, %al
	mov %al, %cl
	mov $0xd000, %ax		/* 0xd0000: above RAM when run with --mem 512K */
	mov %ax, %ds
	movb $0x12, (0)			/* ignored */
	mov (0), %bl			/* 0xff */
	and $0x30, %bl
	or %bl, %cl
	mov %cl, %al
	mov $0x501, %dx
	out %al, %dx
	cli
	hlt
