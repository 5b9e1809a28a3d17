/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_vcpuid.S: 3 vCPUs print their id (port 0x502); vCPU 0 waits for all, exits 16 + count. */
	.code16
	.globl _start
_start:
	mov $0x502, %dx
	in %dx, %al
	mov %al, %bl
	add $'0', %al
	mov $0x3f8, %dx
	out %al, %dx
	lock incb count
	test %bl, %bl
	jnz park
1:	cmpb $3, count
	jb 1b
	mov $'\n', %al
	out %al, %dx
	mov count, %al
	add $16, %al
	mov $0x501, %dx
	out %al, %dx
park:
	cli
	hlt
	jmp park
	.balign 4
count:	.byte 0
