/* SPDX-License-Identifier: MIT */
/*
 * tests/guests/src/psci-arm64.S: arm64 - PSCI through HVC: reports PSCI_VERSION (0x10000), the
 * result of an unknown function (-1, low 32 bits), then SYSTEM_OFF: the VM is EXITED with exit
 * type PSCI_POWER_OFF (writes 1 to the exit device if the call returns).
 */
	.include "hvabs_guest_abi.inc"
	.include "arm64.inc"
	.text
	.globl _start
_start:
	ldr w0, =0x84000000		/* PSCI_VERSION */
	hvc #0
	A64_REPORT w0
	ldr w0, =0x8400ffff		/* not a PSCI function */
	smc #0
	A64_REPORT w0
	ldr w0, =0x84000008		/* SYSTEM_OFF */
	hvc #0
	A64_EXIT 1
	.ltorg
