# tests/kvm/guests/hlt.s: real mode; halts with interrupts off, then reports 0x42 on port 0x10.
	.code16
	.text
	cli
	hlt
	mov	$0x42, %al
	outb	%al, $0x10
1:	jmp	1b
