/* SPDX-License-Identifier: MIT */
/* backends/kvm/kvm_x86_64.c: KVM backend, x86-64 - PIC/IOAPIC, CPUID, boot modes and page tables. */
#include "kvm.h"

#if defined(__x86_64__)

#include <string.h>
#include <sys/ioctl.h>

/*
 * Guest-physical pages KVM needs for its real-mode TSS on Intel hosts
 * (three pages from here, QEMU's choice). Guests must not put memory there.
 */
#define KVM_X86_TSS_ADDR 0xfffbd000ull

/* Scratch layout for PROT32/LONG64 (boot.scratch_addr, 64 KiB reserved). */
#define SCRATCH_GDT 0x0000u
#define SCRATCH_PML4 0x1000u
#define SCRATCH_PDPT 0x2000u
#define SCRATCH_PD 0x3000u /* four pages: 4 GiB of 2 MiB pages */
#define SCRATCH_USED 0x7000u

/* GDT selectors. */
#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

/* Flat descriptors, accessed bit preset so the CPU never writes the GDT. */
static const uint64_t kvm_x86_gdt[4] = {
	0,
	0x00cf9b000000ffffull, /* code32: base 0, 4 GiB, execute/read */
	0x00cf93000000ffffull, /* data: base 0, 4 GiB, read/write */
	0x00af9b000000ffffull, /* code64: long mode */
};

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define PTE_P 0x01ull
#define PTE_RW 0x02ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull

struct kvm_x86_vm {
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
};

struct kvm_x86_vcpu {
	struct kvm_sregs reset; /* state after KVM_CREATE_VCPU, basis of the boot state */
};

void hvabs__kvm_arch_caps(struct hvabs_caps *caps)
{
	caps->io_spaces = (1u << HVABS_SPACE_MMIO) | (1u << HVABS_SPACE_PIO);
	caps->ioeventfd_spaces = (1u << HVABS_SPACE_MMIO) | (1u << HVABS_SPACE_PIO);
}

uint32_t hvabs__kvm_arch_irq_line(uint32_t gsi)
{
	return gsi;
}

/* ---- VM ---- */

static int kvm_x86_cpuid_get(struct kvm_vm *kvm, struct kvm_cpuid2 **out)
{
	for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c;

		c = hvabs__calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return hvabs__error_nomem(KVM_BACKEND);
		c->nent = nent;
		if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		hvabs__free(c);
		if (errno != E2BIG)
			return kvm_errno_to_hvabs(errno, "KVM_GET_SUPPORTED_CPUID");
	}
	return hvabs__error_set(HVABS_EIO, E2BIG, KVM_BACKEND, "KVM_GET_SUPPORTED_CPUID");
}

/* PIC + IOAPIC (+ LAPIC per vCPU); no PIT. */
static int kvm_x86_irqchip(struct kvm_vm *kvm)
{
	if (!kvm->irqchip)
		return 0;
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_CREATE_IRQCHIP");
	return 0;
}

int hvabs__kvm_arch_vm_init(struct kvm_vm *kvm)
{
	struct kvm_x86_vm *x;
	int ret;

	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_X86_TSS_ADDR) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_TSS_ADDR");
	ret = kvm_x86_irqchip(kvm);
	if (ret)
		return ret;
	x = hvabs__calloc(1, sizeof(*x));
	if (!x)
		return hvabs__error_nomem(KVM_BACKEND);
	ret = kvm_x86_cpuid_get(kvm, &x->cpuid);
	if (ret) {
		hvabs__free(x);
		return ret;
	}
	kvm->arch = x;
	return 0;
}

void hvabs__kvm_arch_vm_fini(struct kvm_vm *kvm)
{
	struct kvm_x86_vm *x = kvm->arch;

	if (!x)
		return;
	hvabs__free(x->cpuid);
	hvabs__free(x);
	kvm->arch = NULL;
}

/* ---- boot ---- */

static int kvm_x86_boot_check(const struct hvabs_boot_config *b)
{
	const uint64_t g4 = 1ull << 32;

	switch (b->cpu_mode) {
	case HVABS_CPU_MODE_DEFAULT:
	case HVABS_CPU_MODE_X86_REAL:
		/* SS = 0, so the stack lies in the first 64 KiB. */
		if (b->entry >= g4 || b->stack > 0x10000)
			return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND,
						"real mode needs entry < 4 GiB and stack <= 64 KiB");
		return 0;
	case HVABS_CPU_MODE_X86_PROT32:
	case HVABS_CPU_MODE_X86_LONG64:
		/* LONG64 maps the first 4 GiB only. */
		if (b->entry >= g4 || b->stack > g4)
			return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND,
						"entry and stack must lie below 4 GiB");
		return 0;
	default:
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"cpu mode %u is not an x86 mode", b->cpu_mode);
	}
}

/* GDT at +0; for LONG64 identity page tables: PML4, PDPT, 4 PDs of 2 MiB pages. */
static void kvm_x86_scratch_fill(uint8_t *s, uint64_t gpa, bool long64)
{
	uint64_t *pml4 = (uint64_t *)(void *)(s + SCRATCH_PML4);
	uint64_t *pdpt = (uint64_t *)(void *)(s + SCRATCH_PDPT);
	uint64_t *pd = (uint64_t *)(void *)(s + SCRATCH_PD);

	memset(s, 0, SCRATCH_USED);
	memcpy(s + SCRATCH_GDT, kvm_x86_gdt, sizeof(kvm_x86_gdt));
	if (!long64)
		return;
	pml4[0] = (gpa + SCRATCH_PDPT) | PTE_P | PTE_RW | PTE_A;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (gpa + SCRATCH_PD + i * 0x1000) | PTE_P | PTE_RW | PTE_A;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS;
}

int hvabs__kvm_arch_vm_start(struct kvm_vm *kvm)
{
	const struct hvabs_boot_config *b = &kvm->base.boot;
	const struct hvabs__region *r;
	int ret;

	if (!kvm->base.boot_set)
		return 0;
	ret = kvm_x86_boot_check(b);
	if (ret)
		return ret;
	if (b->cpu_mode != HVABS_CPU_MODE_X86_PROT32 && b->cpu_mode != HVABS_CPU_MODE_X86_LONG64)
		return 0;
	r = hvabs__vm_region_find(&kvm->base, b->scratch_addr, 0x10000);
	if (!r)
		return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND,
					"scratch area is not 64 KiB inside one region");
	kvm_x86_scratch_fill((uint8_t *)r->host_addr + (b->scratch_addr - r->guest_addr),
			     b->scratch_addr, b->cpu_mode == HVABS_CPU_MODE_X86_LONG64);
	return 0;
}

/* ---- vCPU ---- */

/* Supported CPUID with this vCPU's APIC id (leaf 1 EBX[31:24], leaves 0xb/0x1f EDX). */
static int kvm_x86_cpuid_set(struct kvm_vm *kvm, struct kvm_vcpu *kv, uint32_t id)
{
	const struct kvm_cpuid2 *src = ((struct kvm_x86_vm *)kvm->arch)->cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = hvabs__malloc(size);
	int ret = 0;

	if (!c)
		return hvabs__error_nomem(KVM_BACKEND);
	memcpy(c, src, size);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = id;
	}
	if (ioctl(kv->fd, KVM_SET_CPUID2, c) < 0)
		ret = kvm_errno_to_hvabs(errno, "KVM_SET_CPUID2");
	hvabs__free(c);
	return ret;
}

int hvabs__kvm_arch_vcpu_init(struct kvm_vm *kvm, struct kvm_vcpu *kv)
{
	struct kvm_x86_vcpu *x;
	int ret;

	ret = kvm_x86_cpuid_set(kvm, kv, kv->base.id);
	if (ret)
		return ret;
	x = hvabs__calloc(1, sizeof(*x));
	if (!x)
		return hvabs__error_nomem(KVM_BACKEND);
	if (ioctl(kv->fd, KVM_GET_SREGS, &x->reset) < 0) {
		ret = kvm_errno_to_hvabs(errno, "KVM_GET_SREGS");
		hvabs__free(x);
		return ret;
	}
	kv->arch = x;
	return 0;
}

void hvabs__kvm_arch_vcpu_fini(void *arch)
{
	hvabs__free(arch);
}

/*
 * CS base = entry & ~0xf, selector = entry >> 4. Above 1 MiB the selector
 * is truncated and only the hidden base reaches the entry, as with the
 * reset vector's CS (base 0xffff0000, selector 0xf000).
 */
static void kvm_x86_sregs_real(struct kvm_sregs *s, uint64_t entry)
{
	s->cs.selector = (uint16_t)(entry >> 4);
	s->cs.base = entry & ~0xfull;
	s->ds.selector = s->es.selector = s->fs.selector = s->gs.selector = s->ss.selector = 0;
	s->ds.base = s->es.base = s->fs.base = s->gs.base = s->ss.base = 0;
}

static void kvm_x86_sregs_flat(struct kvm_sregs *s, uint64_t scratch, bool long64)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_CODE32, .type = 11,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = SEL_DATA;
	data.type = 3;
	s->gdt.base = scratch + SCRATCH_GDT;
	s->gdt.limit = sizeof(kvm_x86_gdt) - 1;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE;
	s->cr4 = X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s->efer = 0;
	if (long64) {
		code.selector = SEL_CODE64;
		code.db = 0;
		code.l = 1;
		s->cr3 = scratch + SCRATCH_PML4;
		s->cr4 |= X86_CR4_PAE;
		s->cr0 |= X86_CR0_PG;
		s->efer = X86_EFER_LME | X86_EFER_LMA;
	}
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
}

/*
 * Every vCPU starts at the boot entry (APs too: they are made runnable
 * instead of waiting for INIT/SIPI), with the public boot contract's
 * registers (include/hvabs/vm.h: esi = arg0, edi = id, per-vCPU stack). One KVM_SET_SREGS and one
 * KVM_SET_REGS per vCPU. Without a boot setup KVM's reset state stays.
 */
int hvabs__kvm_arch_vcpu_boot(struct kvm_vm *kvm, struct kvm_vcpu *kv)
{
	const struct hvabs_boot_config *b = &kvm->base.boot;
	struct kvm_x86_vcpu *x = kv->arch;
	struct kvm_sregs s = x->reset;
	uint64_t sp = b->stack ? b->stack - (uint64_t)kv->base.id * HVABS_BOOT_STACK_STRIDE : 0;
	struct kvm_regs regs = { .rflags = 2, .rip = b->entry, .rsi = b->arg0, .rdi = kv->base.id,
				 .rsp = sp };

	if (!kvm->base.boot_set)
		return 0;
	if (b->cpu_mode == HVABS_CPU_MODE_X86_PROT32 || b->cpu_mode == HVABS_CPU_MODE_X86_LONG64) {
		kvm_x86_sregs_flat(&s, b->scratch_addr, b->cpu_mode == HVABS_CPU_MODE_X86_LONG64);
	} else {
		kvm_x86_sregs_real(&s, b->entry);
		regs.rip = b->entry & 0xf;
	}
	if (ioctl(kv->fd, KVM_SET_SREGS, &s) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_SREGS");
	if (ioctl(kv->fd, KVM_SET_REGS, &regs) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_REGS");
	if (kvm->irqchip && kv->base.id != 0) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0)
			return kvm_errno_to_hvabs(errno, "KVM_SET_MP_STATE");
	}
	return 0;
}

#endif
