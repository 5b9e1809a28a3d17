/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_halt.S: prints "H" and halts without writing the exit device. */
	.code16
	.globl _start
_start:
	mov $0x3f8, %dx
	mov $'H', %al
	out %al, %dx
	cli
	hlt
	jmp _start
