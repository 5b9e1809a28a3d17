/* SPDX-License-Identifier: MIT */
/* tests/guests/src/hello-x86.S: x86 real mode - greet on the 16550 console, exit with status 0. */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
_start:
	mov $msg, %si
	X86_PUTS
	X86_EXIT 0
msg:
	.asciz "Hello from x86 real mode\n"
