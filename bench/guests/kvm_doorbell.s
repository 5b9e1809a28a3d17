# bench/guests/kvm_doorbell.s: real mode; rounds of ESI (arg0) 4-byte writes of 1 to the doorbell at 0xd1000,
# each round ended by a 1-byte OUT to port 0x11 (the one exit of a round when an ioeventfd serves the doorbell).
	.code16
	.text
	mov	$0xd000, %ax
	mov	%ax, %es
round:
	mov	%esi, %ecx
1:	movl	$1, %es:0x1000
	dec	%ecx
	jnz	1b
	outb	%al, $0x11
	jmp	round
