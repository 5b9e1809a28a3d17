# tests/kvm/guests/rom.s: real mode; writes to and reads from the read-only region at 0x80000.
	.code16
	.text
	mov	$0x8000, %ax
	mov	%ax, %es
	movb	$0x5a, %es:0		# write to read-only memory: an MMIO exit
	movb	%es:4, %al		# read: plain memory
	outb	%al, $0x10
1:	hlt
	jmp	1b
