/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/smp-x86.S: x86 real mode, two vCPUs (EDI = vCPU id). vCPU 0 posts
 * HVABS_GUEST_SMP_MESSAGE in the mailbox and waits until vCPU 1 saw it; vCPU 1 waits for the
 * message, reports it and acknowledges. Both then exit with status 0; other vCPUs halt.
 */
	.include "hvabs_guest_abi.inc"
	.include "x86.inc"
	.code16
	.text
	.globl _start
	.set MSG, HVABS_GUEST_X86_MAILBOX
	.set POSTED, HVABS_GUEST_X86_MAILBOX + 8
	.set SEEN, HVABS_GUEST_X86_MAILBOX + 16
_start:
	cmp $1, %edi
	je cpu1
	ja park
	movl $HVABS_GUEST_SMP_MESSAGE, MSG
	movl $1, POSTED
1:
	pause
	cmpl $1, SEEN
	jne 1b
	X86_EXIT 0
cpu1:
	pause
	cmpl $1, POSTED
	jne cpu1
	movl MSG, %eax
	X86_REPORT_EAX
	movl $1, SEEN
	X86_EXIT 0
park:
	cli
	hlt
	jmp park
