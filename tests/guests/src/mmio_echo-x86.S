/* SPDX-License-Identifier: MIT */
/* tests/guests/src/mmio_echo-x86.S: x86 real mode - write the echo register, report what it reads back, exit 0. */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
_start:
	mov $(HVABS_GUEST_ECHO_MMIO >> 4), %ax
	mov %ax, %es
	movl $HVABS_GUEST_ECHO_VALUE, %es:0
	movl %es:0, %eax
	X86_REPORT_EAX
	X86_EXIT 0
