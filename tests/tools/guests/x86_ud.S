/* SPDX-License-Identifier: MIT */
/* tests/tools/guests/x86_ud.S: prot32 code with no IDT hits #UD (sim: VM crashes; KVM: triple fault). */
	.code32
	.globl _start
_start:
	ud2
