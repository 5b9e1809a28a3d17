# tests/kvm/guests/irq.s: real mode; programs the 8259 (vectors 0x20-0x27, IRQ0-7 unmasked, trigger
# modes from the ELCR byte the host leaves at 0x500), then sti; hlt. The handler reports on port 0x10
# its vector, then the IRR (line levels of level-triggered IRQs), EOIs, and reports 0xee.
	.code16
	.text
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$0x80, %di		# IVT entry of vector 0x20
	mov	$stubs, %ax
	mov	$8, %cx
1:	mov	%ax, (%di)
	mov	%cs, 2(%di)
	add	$8, %ax
	add	$4, %di
	loop	1b
	mov	$0x11, %al		# ICW1: edge, cascade, ICW4 follows
	outb	%al, $0x20
	outb	%al, $0xa0
	mov	$0x20, %al		# ICW2: master vectors 0x20..0x27
	outb	%al, $0x21
	mov	$0x28, %al		# slave vectors 0x28..0x2f
	outb	%al, $0xa1
	mov	$0x04, %al		# ICW3: slave on IRQ2
	outb	%al, $0x21
	mov	$0x02, %al
	outb	%al, $0xa1
	mov	$0x01, %al		# ICW4: 8086 mode, normal EOI
	outb	%al, $0x21
	outb	%al, $0xa1
	mov	$0x00, %al		# OCW1: master IRQ0-7 unmasked
	outb	%al, $0x21
	mov	$0xff, %al		# slave masked
	outb	%al, $0xa1
	movb	0x500, %al		# ELCR: level-triggered IRQs chosen by the host
	mov	$0x4d0, %dx
	outb	%al, %dx
	mov	$0x01, %al
	outb	%al, $0x11		# ready
idle:
	sti
	hlt
	jmp	idle

	.balign	8
stubs:
	.irp	vec, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27
	.balign	8
	push	%ax
	mov	$\vec, %al
	jmp	common
	.endr
common:
	outb	%al, $0x10		# report the vector (line still in service)
	mov	$0x0a, %al		# OCW3: read IRR
	outb	%al, $0x20
	inb	$0x20, %al
	outb	%al, $0x10		# report the IRR
	mov	$0x20, %al
	outb	%al, $0x20		# non-specific EOI
	mov	$0xee, %al
	outb	%al, $0x10		# report the EOI
	pop	%ax
	iret
