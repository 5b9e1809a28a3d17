/* SPDX-License-Identifier: MIT */
/* tests/guests/src/hello-arm64.S: arm64 EL1 - greet on the PL011 console, exit with status 0. */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	adr x2, msg
	A64_PUTS
	A64_EXIT 0
msg:
	.asciz "Hello from arm64 EL1\n"
	.balign 8
	.ltorg
