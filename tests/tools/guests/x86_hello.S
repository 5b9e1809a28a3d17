/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_hello.S: real mode at 0x1000 - checks SP, prints "hi\n" on the 16550, exits 3. */
	.code16
	.globl _start
_start:
	cmp $0x1000, %sp		/* hvabs-run's documented real-mode stack */
	jne fail
	mov $msg, %si
next:
	mov (%si), %bl
	test %bl, %bl
	jz done
	mov $0x3fd, %dx			/* LSR: wait for THR empty */
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	inc %si
	jmp next
done:
	mov $3, %al
	jmp out
fail:
	mov $1, %al
out:
	mov $0x501, %dx
	out %al, %dx
	cli
	hlt
msg:	.asciz "hi\n"
