/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/arm64_hello.S: at 0x40080000 - checks SP and vCPU id, prints "hi arm64\n" on the PL011, exits 5. */
	.globl _start
_start:
	mov x9, sp
	ldr x10, =0x40080000		/* hvabs-run's documented arm64 stack */
	cmp x9, x10
	b.ne fail
	ldr x1, =0x09020000		/* vCPU id register */
	ldr w2, [x1]
	cbnz w2, fail
	ldr x1, =0x09000000		/* PL011 */
	adr x3, msg
next:
	ldrb w4, [x3], #1
	cbz w4, done
1:	ldr w5, [x1, #0x18]		/* UARTFR: wait while TXFF */
	tbnz w5, #5, 1b
	str w4, [x1]
	b next
done:
	mov w0, #5
	b out
fail:
	mov w0, #1
out:
	ldr x1, =0x09010000		/* exit device */
	str w0, [x1]
2:	wfi
	b 2b
msg:	.asciz "hi arm64\n"
	.balign 8
