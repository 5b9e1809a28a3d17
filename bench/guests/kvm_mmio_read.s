# bench/guests/kvm_mmio_read.s: real mode; 4-byte MMIO reads of 0xd0000 forever (each one exits to the VMM).
	.code16
	.text
	mov	$0xd000, %ax
	mov	%ax, %es
1:	movl	%es:0, %eax
	jmp	1b
