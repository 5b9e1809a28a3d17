# tests/kvm/guests/real.s: real-mode entry; reports esp, esi, cr0 and cs on port 0x10.
	.code16
	.text
	mov	%esp, %eax
	outl	%eax, $0x10
	mov	%esi, %eax
	outl	%eax, $0x10
	mov	%cr0, %eax
	outl	%eax, $0x10
	mov	%cs, %ax
	outw	%ax, $0x10
1:	hlt
	jmp	1b
