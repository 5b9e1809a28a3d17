# bench/guests/kvm_irq.s: real mode; programs the 8259 (edge, vectors 0x20-0x27, IRQ0-7 unmasked), reports
# ready on port 0x11, then waits in sti; hlt. Each interrupt: report the vector on port 0x10, EOI, iret.
	.code16
	.text
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$0x80, %di		# IVT entry of vector 0x20
	mov	$8, %cx
1:	movw	$handler, (%di)
	mov	%cs, 2(%di)
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
	mov	$0x01, %al
	outb	%al, $0x11		# ready
idle:
	sti
	hlt
	jmp	idle

handler:
	push	%ax
	mov	$0x25, %al
	outb	%al, $0x10		# report (the exit the latency is measured to)
	mov	$0x20, %al
	outb	%al, $0x20		# non-specific EOI (in-kernel PIC: no exit)
	pop	%ax
	iret
