# tests/kvm/guests/long64.s: 64-bit entry; reports rsp, rsi (two halves), rdi (vCPU id), cr0, cs, a read at 3 GiB
# through the identity map (MMIO exit) and the APIC id from CPUID on port 0x10.
	.code64
	.text
	mov	%rsp, %rax
	outl	%eax, $0x10
	mov	%rsi, %rax
	outl	%eax, $0x10
	shr	$32, %rax
	outl	%eax, $0x10
	mov	%rdi, %rax
	outl	%eax, $0x10
	mov	%cr0, %rax
	outl	%eax, $0x10
	mov	%cs, %ax
	outw	%ax, $0x10
	mov	$0xc0000000, %ebx
	movl	(%rbx), %eax		# MMIO read at 3 GiB
	outl	%eax, $0x10
	mov	$1, %eax
	cpuid
	shr	$24, %ebx
	mov	%ebx, %eax
	outl	%eax, $0x10		# initial APIC id
1:	hlt
	jmp	1b
