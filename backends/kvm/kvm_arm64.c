/* SPDX-License-Identifier: MIT */
/* backends/kvm/kvm_arm64.c: KVM backend, arm64 - vGICv3, vCPU init and boot registers. */
#include "kvm.h"

#if defined(__aarch64__)

#include <stddef.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * vGICv3 frames at QEMU virt's addresses; guests must not put memory
 * there. The redistributor region (128 KiB per vCPU) holds 123 vCPUs.
 */
#define KVM_ARM64_GICD_BASE 0x08000000ull
#define KVM_ARM64_GICR_BASE 0x080a0000ull

/* SPIs start at INTID 32; irqfd GSI n is SPI n (default routing). */
#define KVM_ARM64_SPI_BASE 32u

#define KVM_ARM64_CORE_REG(name)                                            \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |              \
	 KVM_REG_ARM_CORE_REG(name))

struct kvm_arm64_vm {
	struct kvm_vcpu_init target; /* KVM_ARM_PREFERRED_TARGET */
	int gic_fd;                  /* vGICv3 device, -1 without irqchip */
};

void hvabs__kvm_arch_caps(struct hvabs_caps *caps)
{
	caps->io_spaces = 1u << HVABS_SPACE_MMIO;
	caps->ioeventfd_spaces = 1u << HVABS_SPACE_MMIO;
}

uint32_t hvabs__kvm_arch_irq_line(uint32_t gsi)
{
	return (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (gsi + KVM_ARM64_SPI_BASE);
}

static int kvm_arm64_gic_addr(int fd, uint64_t type, uint64_t addr)
{
	struct kvm_device_attr attr = {
		.group = KVM_DEV_ARM_VGIC_GRP_ADDR,
		.attr = type,
		.addr = (uint64_t)(uintptr_t)&addr,
	};

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &attr) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_DEVICE_ATTR (vgic address)");
	return 0;
}

static int kvm_arm64_gic_create(struct kvm_vm *kvm, struct kvm_arm64_vm *a)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	int ret;

	if (ioctl(kvm->vm_fd, KVM_CREATE_DEVICE, &dev) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_CREATE_DEVICE (vgic-v3)");
	a->gic_fd = (int)dev.fd;
	ret = kvm_arm64_gic_addr(a->gic_fd, KVM_VGIC_V3_ADDR_TYPE_DIST, KVM_ARM64_GICD_BASE);
	if (!ret)
		ret = kvm_arm64_gic_addr(a->gic_fd, KVM_VGIC_V3_ADDR_TYPE_REDIST,
					 KVM_ARM64_GICR_BASE);
	if (ret) {
		close(a->gic_fd);
		a->gic_fd = -1;
	}
	return ret;
}

int hvabs__kvm_arch_vm_init(struct kvm_vm *kvm)
{
	struct kvm_arm64_vm *a;
	int ret;

	a = hvabs__calloc(1, sizeof(*a));
	if (!a)
		return hvabs__error_nomem(KVM_BACKEND);
	a->gic_fd = -1;
	if (ioctl(kvm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->target) < 0) {
		ret = kvm_errno_to_hvabs(errno, "KVM_ARM_PREFERRED_TARGET");
		goto out_free;
	}
	a->target.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (kvm->irqchip) {
		ret = kvm_arm64_gic_create(kvm, a);
		if (ret)
			goto out_free;
	}
	kvm->arch = a;
	return 0;

out_free:
	hvabs__free(a);
	return ret;
}

void hvabs__kvm_arch_vm_fini(struct kvm_vm *kvm)
{
	struct kvm_arm64_vm *a = kvm->arch;

	if (!a)
		return;
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	hvabs__free(a);
	kvm->arch = NULL;
}

/* The vGIC is initialised once every vCPU present at start exists. */
int hvabs__kvm_arch_vm_start(struct kvm_vm *kvm)
{
	struct kvm_arm64_vm *a = kvm->arch;
	struct kvm_device_attr attr = {
		.group = KVM_DEV_ARM_VGIC_GRP_CTRL,
		.attr = KVM_DEV_ARM_VGIC_CTRL_INIT,
	};

	if (a->gic_fd < 0)
		return 0;
	if (ioctl(a->gic_fd, KVM_SET_DEVICE_ATTR, &attr) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_DEVICE_ATTR (vgic init)");
	return 0;
}

int hvabs__kvm_arch_vcpu_init(struct kvm_vm *kvm, struct kvm_vcpu *kv)
{
	struct kvm_arm64_vm *a = kvm->arch;

	if (ioctl(kv->fd, KVM_ARM_VCPU_INIT, &a->target) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_ARM_VCPU_INIT");
	kv->arch = NULL;
	return 0;
}

void hvabs__kvm_arch_vcpu_fini(void *arch)
{
	(void)arch;
}

static int kvm_arm64_reg_set(struct kvm_vcpu *kv, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uint64_t)(uintptr_t)&value };

	if (ioctl(kv->fd, KVM_SET_ONE_REG, &reg) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_ONE_REG");
	return 0;
}

/* EL1h with interrupts masked (KVM's reset PSTATE); PC = entry, x0 = arg0, x1 = id, per-vCPU SP_EL1. */
int hvabs__kvm_arch_vcpu_boot(struct kvm_vm *kvm, struct kvm_vcpu *kv)
{
	const struct hvabs_boot_config *b = &kvm->base.boot;
	int ret;

	if (!kvm->base.boot_set)
		return 0;
	ret = kvm_arm64_reg_set(kv, KVM_ARM64_CORE_REG(regs.pc), b->entry);
	if (!ret)
		ret = kvm_arm64_reg_set(kv, KVM_ARM64_CORE_REG(regs.regs[0]), b->arg0);
	if (!ret)
		ret = kvm_arm64_reg_set(kv, KVM_ARM64_CORE_REG(regs.regs[1]), kv->base.id);
	if (!ret && b->stack)
		ret = kvm_arm64_reg_set(kv, KVM_ARM64_CORE_REG(sp_el1),
					b->stack - (uint64_t)kv->base.id * HVABS_BOOT_STACK_STRIDE);
	return ret;
}

#endif
