# tests/kvm/guests/ioeventfd.s: real mode; rounds of writes that ioeventfds may match, round end on port 0x10.
	.code16
	.text
	mov	$0xd000, %ax
	mov	%ax, %es
round:
	movl	$1, %es:0x20		# MMIO 0xd0020, 4 bytes, value 1 (datamatch 1)
	movl	$2, %es:0x20		# value 2: no match
	movb	$5, %es:0x40		# MMIO 0xd0040, 1 byte (any-length ioeventfd)
	movl	$6, %es:0x40		# 4 bytes, same address
	mov	$7, %al
	outb	%al, $0x30		# PIO 0x30 value 7 (datamatch 7)
	mov	$8, %al
	outb	%al, $0x30		# value 8: no match
	mov	$0x99, %al
	outb	%al, $0x10		# end of round
	jmp	round
