/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_prot32.S: ELF32 at 1 MiB in prot32 mode - checks ESP, prints "prot32\n", exits 32. */
	.code32
	.globl _start
_start:
	cmp $0x90000, %esp		/* hvabs-run's documented prot32/long64 stack */
	jne fail
	mov $msg, %esi
	call puts
	mov $32, %al
	jmp out
fail:
	mov $1, %al
out:
	mov $0x501, %dx
	out %al, %dx
	cli
	hlt
puts:
	mov $0x3f8, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
2:	ret
msg:	.asciz "prot32\n"
