/* SPDX-License-Identifier: MIT */
/* tests/guests/src/hello-x86-prot32.S: x86 32-bit protected mode - greet on the console, exit 0. */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code32
	.text
	.globl _start
_start:
	mov $msg, %esi
	X86_PUTS
	X86_EXIT 0
msg:
	.asciz "Hello from x86 32-bit protected mode\n"
