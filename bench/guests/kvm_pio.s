# bench/guests/kvm_pio.s: real mode; 4-byte OUTs to port 0x10 forever (each one exits to the VMM).
	.code16
	.text
	xor	%eax, %eax
1:	outl	%eax, $0x10
	inc	%eax
	jmp	1b
