# bench/guests/kvm_mmio.s: real mode; 4-byte MMIO writes to 0xd0000 forever (each one exits to the VMM).
	.code16
	.text
	mov	$0xd000, %ax
	mov	%ax, %es
	xor	%eax, %eax
1:	movl	%eax, %es:0
	inc	%eax
	jmp	1b
