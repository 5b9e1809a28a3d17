/* SPDX-License-Identifier: MIT */
/* tests/guests/src/hello-x86-long64.S: x86 64-bit long mode - greet on the console, exit 0. */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code64
	.text
	.globl _start
_start:
	lea msg(%rip), %rsi
	X86_PUTS
	X86_EXIT 0
msg:
	.asciz "Hello from x86 64-bit long mode\n"
