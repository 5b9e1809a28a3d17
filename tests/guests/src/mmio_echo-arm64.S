/* SPDX-License-Identifier: MIT */
/* tests/guests/src/mmio_echo-arm64.S: arm64 - write the echo register, report what it reads back, exit 0. */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	ldr x1, =HVABS_GUEST_ECHO_MMIO
	ldr w2, =HVABS_GUEST_ECHO_VALUE
	str w2, [x1]
	ldr w0, [x1]
	A64_REPORT w0
	A64_EXIT 0
	.ltorg
