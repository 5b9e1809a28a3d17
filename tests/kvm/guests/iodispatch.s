# tests/kvm/guests/iodispatch.s: real mode; 1000 MMIO write+read pairs at 0xd0000, sum of reads on port 0x10.
	.code16
	.text
	mov	$0xd000, %ax
	mov	%ax, %es
	xor	%ebx, %ebx
	mov	$1000, %ecx
1:	movl	%ecx, %es:0		# MMIO write of the counter
	addl	%es:4, %ebx		# MMIO read, summed
	dec	%ecx
	jnz	1b
	mov	%ebx, %eax
	outl	%eax, $0x10
2:	hlt
	jmp	2b
