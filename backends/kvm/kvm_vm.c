/* SPDX-License-Identifier: MIT */
/* backends/kvm/kvm_vm.c: KVM backend - probe, capabilities, VM, memory slots, irqfd, ioeventfd. */
#include "kvm.h"

#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- probe and capabilities ---- */

/* Open /dev/kvm and check the API version; the fd or a negative code. */
static int kvm_sys_open(void)
{
	int fd, ver;

	fd = open(KVM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) /* core appends strerror: "/dev/kvm: Permission denied" */
		return hvabs__error_set(HVABS_ENODEV, errno, KVM_BACKEND, "%s", KVM_DEVICE_PATH);
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION_EXPECTED) {
		int err = ver < 0 ? errno : 0;

		close(fd);
		return hvabs__error_set(HVABS_ENODEV, err, KVM_BACKEND,
					"%s: api version %d, expected %d", KVM_DEVICE_PATH, ver,
					KVM_API_VERSION_EXPECTED);
	}
	return fd;
}

static int kvm_probe(void)
{
	int fd = kvm_sys_open();

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int kvm_check(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* Query on a VM fd when KVM answers per VM, else on /dev/kvm. */
static void kvm_exts_query(int sys_fd, int vm_fd, struct kvm_exts *x)
{
	int fd = vm_fd >= 0 && kvm_check(sys_fd, KVM_CAP_CHECK_EXTENSION_VM) ? vm_fd : sys_fd;
	int n;

	x->irqfd = kvm_check(fd, KVM_CAP_IRQFD);
	x->irqfd_resample = kvm_check(fd, KVM_CAP_IRQFD_RESAMPLE);
	x->ioeventfd = kvm_check(fd, KVM_CAP_IOEVENTFD);
	x->ioeventfd_any_length = kvm_check(fd, KVM_CAP_IOEVENTFD_ANY_LENGTH);
	x->readonly_mem = kvm_check(fd, KVM_CAP_READONLY_MEM);
#if defined(__x86_64__)
	x->irqchip = kvm_check(fd, KVM_CAP_IRQCHIP);
#else
	x->irqchip = kvm_check(fd, KVM_CAP_DEVICE_CTRL);
#endif
	n = kvm_check(fd, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = kvm_check(fd, KVM_CAP_NR_VCPUS);
	x->max_vcpus = n > 0 ? (uint32_t)n : 4; /* api.rst: assume 4 without the cap */
	n = kvm_check(fd, KVM_CAP_NR_MEMSLOTS);
	x->nr_memslots = n > 0 ? (uint32_t)n : 32;
}

/* Static capabilities: /dev/kvm's answers, cached after the first success. */
static void kvm_static_exts(struct kvm_exts *x)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct kvm_exts cache;
	static bool cached;

	pthread_mutex_lock(&lock);
	if (!cached) {
		int fd = open(KVM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			kvm_exts_query(fd, -1, &cache);
			cached = true;
			close(fd);
		}
	}
	*x = cache;
	pthread_mutex_unlock(&lock);
}

/*
 * Fill @caps from @x. @irqchip: an in-kernel interrupt controller exists
 * (irqfd needs it; without it x86 returns HLT exits).
 */
static void kvm_caps_fill(struct hvabs_caps *caps, const struct kvm_exts *x, bool irqchip)
{
	caps->fn_types = 1u << HVABS_FN_VCPU;
	if (x->irqfd && irqchip)
		caps->fn_types |= 1u << HVABS_FN_IRQFD;
	if (x->ioeventfd)
		caps->fn_types |= 1u << HVABS_FN_IOEVENTFD;
	/* Combinations without READ and EXEC are refused at mem_add (see kvm_mem_flags). */
	caps->mem_flags = HVABS_MEM_RWX;
	if (x->irqfd && irqchip && x->irqfd_resample)
		caps->irqfd_flags = HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE;
	caps->ioeventfd_flags = HVABS_IOEVENTFD_DATAMATCH;
	caps->ioeventfd_lens = (1u << 1) | (1u << 2) | (1u << 4) | (1u << 8);
	if (x->ioeventfd_any_length)
		caps->ioeventfd_lens |= 1u << 0;
	caps->resume_actions = 1u << HVABS_RESUME_HANDLED;
	caps->archs = 1u << KVM_HOST_ARCH;
	caps->max_vcpus = x->max_vcpus;
	caps->features = HVABS_FEAT_MEM_REMOVE | HVABS_FEAT_USER_FUNCTIONS |
			 HVABS_FEAT_REAL_GUESTS | HVABS_FEAT_LATE_RESOURCES
			 | HVABS_FEAT_RESOURCE_RAISE;
	if (!irqchip && KVM_HOST_ARCH == HVABS_ARCH_X86_64)
		caps->features |= HVABS_FEAT_HLT_EXIT;
	hvabs__kvm_arch_caps(caps);
	if (!x->ioeventfd)
		caps->ioeventfd_spaces = caps->ioeventfd_flags = caps->ioeventfd_lens = 0;
}

static void kvm_caps(struct hvabs_vm *vm, struct hvabs_caps *caps)
{
	struct kvm_exts x = { 0 };

	if (vm) {
		struct kvm_vm *kvm = kvm_vm_of(vm);

		kvm_caps_fill(caps, &kvm->exts, kvm->irqchip);
		return;
	}
	/* Without /dev/kvm every optional extension counts as absent. */
	kvm_static_exts(&x);
	if (x.max_vcpus == 0)
		x.max_vcpus = 1;
	kvm_caps_fill(caps, &x, true); /* a default VM has the interrupt controller */
}

/* ---- VM ---- */

/*
 * backend_config: comma-separated key=value pairs. Keys:
 *   irqchip=on|off  in-kernel interrupt controller (default on). off: no
 *                   irqfd, and x86 HLT becomes an HVABS_EXIT_HLT exit.
 */
static int kvm_config_parse(const char *cfg, bool *irqchip)
{
	const char *p = cfg;

	while (p && *p) {
		size_t n = strcspn(p, ",");

		if (n == strlen("irqchip=on") && !strncmp(p, "irqchip=on", n))
			*irqchip = true;
		else if (n == strlen("irqchip=off") && !strncmp(p, "irqchip=off", n))
			*irqchip = false;
		else if (n)
			return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND,
						"unknown backend_config entry '%.*s'", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int kvm_vm_open(struct kvm_vm *kvm)
{
	int n, ret;

	kvm->sys_fd = kvm_sys_open();
	if (kvm->sys_fd < 0)
		return kvm->sys_fd;
	n = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0) {
		ret = kvm_errno_to_hvabs(n < 0 ? errno : EIO, "KVM_GET_VCPU_MMAP_SIZE");
		goto out_close_sys;
	}
	kvm->run_size = (size_t)n;
	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		ret = kvm_errno_to_hvabs(errno, "KVM_CREATE_VM");
		goto out_close_sys;
	}
	return 0;

out_close_sys:
	close(kvm->sys_fd);
	kvm->sys_fd = -1;
	return ret;
}

static void kvm_vm_close(struct kvm_vm *kvm)
{
	close(kvm->vm_fd);
	close(kvm->sys_fd);
	kvm->vm_fd = kvm->sys_fd = -1;
}

static int kvm_vm_init(struct hvabs_vm *vm, const struct hvabs_vm_options *opts)
{
	struct kvm_vm *kvm = kvm_vm_of(vm);
	bool irqchip = true;
	int ret;

	kvm->sys_fd = kvm->vm_fd = -1;
	if (opts->arch != HVABS_ARCH_NONE && opts->arch != KVM_HOST_ARCH)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"guest arch %d is not the host's", (int)opts->arch);
	ret = kvm_config_parse(opts->backend_config, &irqchip);
	if (ret)
		return ret;
	ret = hvabs__kvm_signal_setup();
	if (ret)
		return ret;
	ret = kvm_vm_open(kvm);
	if (ret)
		return ret;
	kvm_exts_query(kvm->sys_fd, kvm->vm_fd, &kvm->exts);
	if (irqchip && !kvm->exts.irqchip) {
		ret = hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
				       "no in-kernel interrupt controller (use irqchip=off)");
		goto out_close;
	}
	kvm->irqchip = irqchip;
	vm->arch = KVM_HOST_ARCH;
	ret = hvabs__kvm_arch_vm_init(kvm);
	if (ret)
		goto out_close;
	return 0;

out_close:
	kvm_vm_close(kvm);
	return ret;
}

static void kvm_vm_fini(struct hvabs_vm *vm)
{
	struct kvm_vm *kvm = kvm_vm_of(vm);

	hvabs__kvm_parked_release(kvm);
	hvabs__kvm_arch_vm_fini(kvm);
	for (size_t i = 0; i < kvm->nr_levels; i++)
		close(kvm->levels[i].fd);
	hvabs__free(kvm->levels);
	hvabs__free(kvm->slots);
	kvm->levels = NULL;
	kvm->slots = NULL;
	kvm->nr_levels = kvm->nr_slots = 0;
	kvm_vm_close(kvm);
}

static int kvm_vm_start(struct hvabs_vm *vm)
{
	/* hvabs_vm_start() documents EINVAL for a VM without memory. */
	if (vm->nr_regions == 0)
		return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND, "vm has no memory");
	return hvabs__kvm_arch_vm_start(kvm_vm_of(vm));
}

/* ---- memory ---- */

/*
 * KVM maps every slot readable and executable; the only restriction it
 * can express is read-only (KVM_MEM_READONLY). So R|W|X and R|X are
 * honoured, and any region without READ or without EXEC is ENOTSUP.
 */
static int kvm_mem_flags(const struct kvm_vm *kvm, uint32_t flags, uint32_t *kflags)
{
	const uint32_t rx = HVABS_MEM_READ | HVABS_MEM_EXEC;

	if ((flags & rx) != rx)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"memory flags 0x%x: kvm maps memory readable and executable",
					flags);
	*kflags = 0;
	if (flags & HVABS_MEM_WRITE)
		return 0;
	if (!kvm->exts.readonly_mem)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"read-only memory needs KVM_CAP_READONLY_MEM");
	*kflags = KVM_MEM_READONLY;
	return 0;
}

/* A free slot index (grown on demand), or a negative code. */
static int kvm_slot_alloc(struct kvm_vm *kvm, uint64_t gpa)
{
	struct kvm_slot *arr;
	size_t i;

	for (i = 0; i < kvm->nr_slots && kvm->slots[i].used; i++)
		;
	if (i == kvm->nr_slots) {
		if (i >= kvm->exts.nr_memslots)
			return hvabs__error_set(HVABS_ENOMEM, 0, KVM_BACKEND,
						"all %u memory slots in use", kvm->exts.nr_memslots);
		arr = hvabs__realloc(kvm->slots, (i + 1) * sizeof(*arr));
		if (!arr)
			return hvabs__error_nomem(KVM_BACKEND);
		kvm->slots = arr;
		kvm->nr_slots = i + 1;
	}
	kvm->slots[i] = (struct kvm_slot){ true, gpa };
	return (int)i;
}

static int kvm_slot_find(const struct kvm_vm *kvm, uint64_t gpa)
{
	for (size_t i = 0; i < kvm->nr_slots; i++)
		if (kvm->slots[i].used && kvm->slots[i].gpa == gpa)
			return (int)i;
	return -1;
}

static int kvm_mem_add(struct hvabs_vm *vm, const struct hvabs__region *r)
{
	struct kvm_vm *kvm = kvm_vm_of(vm);
	struct kvm_userspace_memory_region m;
	uint32_t kflags;
	int slot, ret;

	ret = kvm_mem_flags(kvm, r->flags, &kflags);
	if (ret)
		return ret;
	slot = kvm_slot_alloc(kvm, r->guest_addr);
	if (slot < 0)
		return slot;
	m = (struct kvm_userspace_memory_region){
		.slot = (uint32_t)slot,
		.flags = kflags,
		.guest_phys_addr = r->guest_addr,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)r->host_addr,
	};
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0) {
		kvm->slots[slot].used = false;
		return kvm_errno_to_hvabs(errno, "KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

static int kvm_mem_remove(struct hvabs_vm *vm, const struct hvabs__region *r)
{
	struct kvm_vm *kvm = kvm_vm_of(vm);
	struct kvm_userspace_memory_region m = { 0 };
	int slot = kvm_slot_find(kvm, r->guest_addr);

	if (slot < 0)
		return hvabs__error_set(HVABS_ENOTFOUND, 0, KVM_BACKEND,
					"no memory slot at 0x%llx", (unsigned long long)r->guest_addr);
	m.slot = (uint32_t)slot;
	m.guest_phys_addr = r->guest_addr;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_SET_USER_MEMORY_REGION (delete)");
	kvm->slots[slot].used = false;
	return 0;
}

/* ---- interrupts: irqfd and doorbells ---- */

static int kvm_irq_check(const struct kvm_vm *kvm)
{
	if (!kvm->irqchip)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"no in-kernel interrupt controller (irqchip=off)");
	return 0;
}

/*
 * LEVEL without RESAMPLE: KVM only keeps a line asserted until EOI with a
 * resample eventfd, so the backend supplies its own and ignores it. The
 * line is thus asserted by each write and deasserted at the guest's EOI.
 */
static int kvm_level_fd_open(struct kvm_vm *kvm, uint32_t gsi, int *fd_out)
{
	struct kvm_level_fd *arr;
	int fd;

	arr = hvabs__realloc(kvm->levels, (kvm->nr_levels + 1) * sizeof(*arr));
	if (!arr)
		return hvabs__error_nomem(KVM_BACKEND);
	kvm->levels = arr;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return kvm_errno_to_hvabs(errno, "eventfd for level irqfd");
	arr[kvm->nr_levels++] = (struct kvm_level_fd){ gsi, fd };
	*fd_out = fd;
	return 0;
}

static void kvm_level_fd_close(struct kvm_vm *kvm, uint32_t gsi)
{
	for (size_t i = 0; i < kvm->nr_levels; i++) {
		if (kvm->levels[i].gsi != gsi)
			continue;
		close(kvm->levels[i].fd);
		kvm->levels[i] = kvm->levels[--kvm->nr_levels];
		return;
	}
}

static int kvm_irqfd_req(struct kvm_vm *kvm, const struct hvabs_fn_irqfd_arg *arg,
			 struct kvm_irqfd *req)
{
	if (arg->flags & ~(HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE))
		return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND, "unknown irqfd flags 0x%x",
					arg->flags);
	if (!(arg->flags & HVABS_IRQFD_LEVEL)) {
		if (arg->flags & HVABS_IRQFD_RESAMPLE)
			return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND,
						"irqfd RESAMPLE needs LEVEL");
		return 0;
	}
	if (!kvm->exts.irqfd_resample)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"level irqfd needs KVM_CAP_IRQFD_RESAMPLE");
	req->flags = KVM_IRQFD_FLAG_RESAMPLE;
	if (arg->flags & HVABS_IRQFD_RESAMPLE) {
		req->resamplefd = (uint32_t)arg->resample_fd;
		return 0;
	}
	return kvm_level_fd_open(kvm, req->gsi, (int *)&req->resamplefd);
}

static int kvm_irqfd_assign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			    const struct hvabs_resource *res)
{
	struct kvm_vm *kvm = kvm_vm_of(hvabs_function_vm(fn));
	struct kvm_irqfd req = { .fd = (uint32_t)arg->fd, .gsi = hvabs_resource_irq(res) };
	int ret = kvm_irq_check(kvm);

	if (ret)
		return ret;
	if (!kvm->exts.irqfd)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND, "no KVM_CAP_IRQFD");
	ret = kvm_irqfd_req(kvm, arg, &req);
	if (ret)
		return ret;
	if (ioctl(kvm->vm_fd, KVM_IRQFD, &req) < 0) {
		ret = kvm_errno_to_hvabs(errno, "KVM_IRQFD");
		if ((arg->flags & HVABS_IRQFD_LEVEL) && !(arg->flags & HVABS_IRQFD_RESAMPLE))
			kvm_level_fd_close(kvm, req.gsi);
		return ret;
	}
	return 0;
}

static void kvm_irqfd_deassign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			       const struct hvabs_resource *res)
{
	struct kvm_vm *kvm = kvm_vm_of(hvabs_function_vm(fn));
	struct kvm_irqfd req = {
		.fd = (uint32_t)arg->fd,
		.gsi = hvabs_resource_irq(res),
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	ioctl(kvm->vm_fd, KVM_IRQFD, &req);
	if ((arg->flags & HVABS_IRQFD_LEVEL) && !(arg->flags & HVABS_IRQFD_RESAMPLE))
		kvm_level_fd_close(kvm, req.gsi);
}

/* Edge on a doorbell's line: assert, then deassert. */
static int kvm_resource_raise(struct hvabs_vm *vm, const struct hvabs_resource *res)
{
	struct kvm_vm *kvm = kvm_vm_of(vm);
	struct kvm_irq_level line = { .irq = hvabs__kvm_arch_irq_line(hvabs_resource_irq(res)) };
	int ret = kvm_irq_check(kvm);

	if (ret)
		return ret;
	line.level = 1;
	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &line) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_IRQ_LINE");
	line.level = 0;
	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &line) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_IRQ_LINE");
	return 0;
}

/* ---- ioeventfd ---- */

static int kvm_ioeventfd_req(const struct kvm_vm *kvm, const struct hvabs_fn_ioeventfd_arg *arg,
			     struct kvm_ioeventfd *req)
{
	const bool pio_ok = KVM_HOST_ARCH == HVABS_ARCH_X86_64;
	uint32_t len = arg->len;

	if (!kvm->exts.ioeventfd)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND, "no KVM_CAP_IOEVENTFD");
	if (arg->space > HVABS_SPACE_PIO || (arg->flags & ~HVABS_IOEVENTFD_DATAMATCH) ||
	    (len != 0 && len != 1 && len != 2 && len != 4 && len != 8) ||
	    (len == 0 && (arg->flags & HVABS_IOEVENTFD_DATAMATCH)))
		return hvabs__error_set(HVABS_EINVAL, 0, KVM_BACKEND,
					"bad ioeventfd (space %u, len %u, flags 0x%x)", arg->space,
					len, arg->flags);
	if (arg->space == HVABS_SPACE_PIO && !pio_ok)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND, "no port I/O on this arch");
	if (len == 0 && !kvm->exts.ioeventfd_any_length)
		return hvabs__error_set(HVABS_ENOTSUP, 0, KVM_BACKEND,
					"len 0 needs KVM_CAP_IOEVENTFD_ANY_LENGTH");
	*req = (struct kvm_ioeventfd){
		.datamatch = arg->datamatch,
		.addr = arg->addr,
		.len = len,
		.fd = arg->fd,
	};
	if (arg->flags & HVABS_IOEVENTFD_DATAMATCH)
		req->flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (arg->space == HVABS_SPACE_PIO)
		req->flags |= KVM_IOEVENTFD_FLAG_PIO;
	return 0;
}

static int kvm_ioeventfd_assign(struct hvabs_function *fn,
				const struct hvabs_fn_ioeventfd_arg *arg)
{
	struct kvm_vm *kvm = kvm_vm_of(hvabs_function_vm(fn));
	struct kvm_ioeventfd req;
	int ret = kvm_ioeventfd_req(kvm, arg, &req);

	if (ret)
		return ret;
	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &req) < 0)
		return kvm_errno_to_hvabs(errno, "KVM_IOEVENTFD");
	return 0;
}

static void kvm_ioeventfd_deassign(struct hvabs_function *fn,
				   const struct hvabs_fn_ioeventfd_arg *arg)
{
	struct kvm_vm *kvm = kvm_vm_of(hvabs_function_vm(fn));
	struct kvm_ioeventfd req;

	if (kvm_ioeventfd_req(kvm, arg, &req))
		return;
	req.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	ioctl(kvm->vm_fd, KVM_IOEVENTFD, &req);
}

const struct hvabs__backend_ops hvabs__kvm_backend = {
	.version = HVABS_BACKEND_OPS_VERSION,
	.name = KVM_BACKEND,
	.auto_select = true,
	.vm_size = sizeof(struct kvm_vm),
	.vcpu_size = sizeof(struct kvm_vcpu),
	.probe = kvm_probe,
	.caps = kvm_caps,
	.vm_init = kvm_vm_init,
	.vm_fini = kvm_vm_fini,
	.mem_add = kvm_mem_add,
	.mem_remove = kvm_mem_remove,
	.resource_raise = kvm_resource_raise,
	.vm_start = kvm_vm_start,
	.vcpu_init = hvabs__kvm_vcpu_init,
	.vcpu_fini = hvabs__kvm_vcpu_fini,
	.vcpu_run = hvabs__kvm_vcpu_run,
	.vcpu_kick = hvabs__kvm_vcpu_kick,
	.irqfd_assign = kvm_irqfd_assign,
	.irqfd_deassign = kvm_irqfd_deassign,
	.ioeventfd_assign = kvm_ioeventfd_assign,
	.ioeventfd_deassign = kvm_ioeventfd_deassign,
};
