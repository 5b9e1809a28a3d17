# tests/kvm/guests/runaway.s: real mode; spins forever without any exit.
	.code16
	.text
1:	jmp	1b
