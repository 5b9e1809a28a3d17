# tests/kvm/guests/pio.s: real mode; port I/O including rep outsb / rep insb, results on port 0x10.
	.code16
	.text
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	$0xab, %al
	outb	%al, $0x10		# PIO write, 1 byte
	inw	$0x11, %ax		# PIO read, 2 bytes
	outw	%ax, $0x10		# report it
	cld
	mov	$msg, %si
	mov	$5, %cx
	mov	$0x12, %dx
	rep outsb			# string write "hvabs" to port 0x12
	mov	$buf, %di
	mov	$4, %cx
	mov	$0x13, %dx
	rep insb			# string read of 4 bytes from port 0x13
	movl	buf, %eax
	outl	%eax, $0x10		# report what the string read stored
1:	hlt
	jmp	1b
msg:	.ascii	"hvabs"
buf:	.long	0
