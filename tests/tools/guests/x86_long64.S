/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_long64.S: ELF64 at 2 MiB in long64 mode - checks RSP, prints "long64\n", exits 64. */
	.code64
	.globl _start
_start:
	cmp $0x90000, %rsp
	jne fail
	lea msg(%rip), %rsi
	call puts
	mov $64, %al
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
msg:	.asciz "long64\n"
