/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/smp-arm64.S: arm64, two vCPUs (X1 = vCPU id). vCPU 0 posts
 * HVABS_GUEST_SMP_MESSAGE in the mailbox and waits until vCPU 1 saw it; vCPU 1 waits for the
 * message, reports it and acknowledges. Both then exit with status 0; other vCPUs wait forever.
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	ldr x4, =HVABS_GUEST_ARM64_MAILBOX
	cmp x1, #1
	b.eq cpu1
	b.hi park
	ldr w2, =HVABS_GUEST_SMP_MESSAGE
	str w2, [x4]
	mov w3, #1
	add x5, x4, #8
	stlr w3, [x5]
	add x5, x4, #16
1:
	ldar w3, [x5]
	cbz w3, 1b
	A64_EXIT 0
cpu1:
	add x5, x4, #8
2:
	ldar w3, [x5]
	cbz w3, 2b
	ldr w0, [x4]
	A64_REPORT w0
	mov w3, #1
	add x5, x4, #16
	stlr w3, [x5]
	A64_EXIT 0
park:
	msr daifset, #2
3:
	wfi
	b 3b
	.ltorg
