/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_spin.S: loops forever without an access (SIGINT test). */
	.code16
	.globl _start
_start:
	jmp _start
