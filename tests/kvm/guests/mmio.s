# tests/kvm/guests/mmio.s: real mode; MMIO writes and reads at 0xd0000, read values reported on port 0x10.
	.code16
	.text
	mov	$0xd000, %ax
	mov	%ax, %es
	movl	$0x12345678, %es:0	# MMIO write, 4 bytes at 0xd0000
	movl	%es:8, %eax		# MMIO read, 4 bytes at 0xd0008
	outl	%eax, $0x10		# report it
	movb	%es:0x10, %al		# MMIO read, 1 byte at 0xd0010
	outb	%al, $0x10
	movw	$0xbeef, %es:0x12	# MMIO write, 2 bytes at 0xd0012
1:	hlt
	jmp	1b
