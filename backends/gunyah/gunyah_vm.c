/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_vm.c: Gunyah backend - configuration, VM, memory, start, resources, irqfd and ioeventfd. */
#include "gunyah.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- configuration ---- */

struct gunyah_config {
	char device[PATH_MAX];
	enum gunyah_abi abi;
	bool dtb_user;
};

static int gunyah_abi_parse(const char *s, size_t n, enum gunyah_abi *out)
{
	if (n == 3 && !strncmp(s, "v10", 3))
		*out = GUNYAH_ABI_V10;
	else if (n == 3 && !strncmp(s, "v14", 3))
		*out = GUNYAH_ABI_V14;
	else
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
					"unknown gunyah abi '%.*s' (v10 or v14)", (int)n, s);
	return 0;
}

static int gunyah_device_set(struct gunyah_config *c, const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(c->device))
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND, "bad gunyah device path");
	memcpy(c->device, s, n);
	c->device[n] = '\0';
	return 0;
}

/* Defaults, then the environment ($HVABS_GUNYAH_DEVICE, $HVABS_GUNYAH_ABI). */
static int gunyah_config_env(struct gunyah_config *c)
{
	const char *dev = getenv(GUNYAH_ENV_DEVICE), *abi = getenv(GUNYAH_ENV_ABI);
	int ret;

	c->abi = GUNYAH_ABI_V14;
	c->dtb_user = false;
	ret = gunyah_device_set(c, GUNYAH_DEVICE_DEFAULT, strlen(GUNYAH_DEVICE_DEFAULT));
	if (!ret && dev && *dev)
		ret = gunyah_device_set(c, dev, strlen(dev));
	if (!ret && abi && *abi)
		ret = gunyah_abi_parse(abi, strlen(abi), &c->abi);
	return ret;
}

static int gunyah_config_item(struct gunyah_config *c, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t kn = eq ? (size_t)(eq - p) : n, vn = eq ? n - kn - 1 : 0;
	const char *v = eq ? eq + 1 : NULL;

	if (eq && kn == 3 && !strncmp(p, "abi", 3))
		return gunyah_abi_parse(v, vn, &c->abi);
	if (eq && kn == 6 && !strncmp(p, "device", 6))
		return gunyah_device_set(c, v, vn);
	if (eq && kn == 3 && !strncmp(p, "dtb", 3)) {
		if (vn == 4 && !strncmp(v, "user", 4))
			c->dtb_user = true;
		else if (vn == 4 && !strncmp(v, "auto", 4))
			c->dtb_user = false;
		else
			return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
						"dtb=%.*s: expected auto or user", (int)vn, v);
		return 0;
	}
	return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND,
				"unknown backend_config entry '%.*s'", (int)n, p);
}

/*
 * backend_config: comma-separated key=value pairs, applied over the
 * environment. abi=v10|v14, device=PATH, dtb=auto|user.
 */
static int gunyah_config_parse(struct gunyah_config *c, const char *s)
{
	int ret = gunyah_config_env(c);

	while (!ret && s && *s) {
		size_t n = strcspn(s, ",");

		if (n)
			ret = gunyah_config_item(c, s, n);
		s += n;
		if (*s == ',')
			s++;
	}
	return ret;
}

static int gunyah_open(const char *path, int *fd_out)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return hvabs__error_set(HVABS_ENODEV, errno, GUNYAH_BACKEND, "cannot open %s",
					path);
	*fd_out = fd;
	return 0;
}

/* ---- probe and capabilities ---- */

/* Can the device ($HVABS_GUNYAH_DEVICE or /dev/gunyah) be opened? */
static int gunyah_probe(void)
{
	const char *dev = getenv(GUNYAH_ENV_DEVICE);
	int fd = -1, ret = gunyah_open(dev && *dev ? dev : GUNYAH_DEVICE_DEFAULT, &fd);

	if (ret)
		return ret;
	close(fd);
	return 0;
}

/*
 * Static caps (@vm NULL) are the union of both ABIs; a VM's caps are its
 * ABI's: v10 adds the LENT flag and region removal.
 */
static void gunyah_caps(struct hvabs_vm *vm, struct hvabs_caps *caps)
{
	bool v10 = !vm || gunyah_vm_of(vm)->abi == GUNYAH_ABI_V10;

	caps->fn_types = (1u << HVABS_FN_VCPU) | (1u << HVABS_FN_IRQFD) | (1u << HVABS_FN_IOEVENTFD);
	caps->mem_flags = HVABS_MEM_RWX | (v10 ? HVABS_MEM_LENT : 0);
	caps->io_spaces = 1u << HVABS_SPACE_MMIO;
	caps->irqfd_flags = HVABS_IRQFD_LEVEL;
	caps->ioeventfd_flags = HVABS_IOEVENTFD_DATAMATCH;
	caps->ioeventfd_spaces = 1u << HVABS_SPACE_MMIO;
	caps->ioeventfd_lens = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 4) | (1u << 8);
	caps->resume_actions = 1u << HVABS_RESUME_HANDLED;
	caps->archs = 1u << HVABS_ARCH_ARM64;
	caps->max_vcpus = GUNYAH_MAX_VCPUS;
	caps->features = HVABS_FEAT_USER_FUNCTIONS | HVABS_FEAT_REAL_GUESTS |
			 (v10 ? HVABS_FEAT_MEM_REMOVE : 0);
}

/* ---- VM ---- */

static int gunyah_vm_init(struct hvabs_vm *vm, const struct hvabs_vm_options *opts)
{
	struct gunyah_vm *gv = gunyah_vm_of(vm);
	struct gunyah_config c;
	int dev = -1, ret;

	gv->vm_fd = -1;
	ret = gunyah_config_parse(&c, opts ? opts->backend_config : NULL);
	if (ret)
		return ret;
	ret = hvabs__gunyah_signal_setup();
	if (ret)
		return ret;
	ret = gunyah_open(c.device, &dev);
	if (ret)
		return ret;
	gv->vm_fd = ioctl(dev, GH_CREATE_VM, 0);
	if (gv->vm_fd < 0)
		ret = hvabs__gunyah_errno_to_hvabs(errno, "GH_CREATE_VM");
	close(dev);
	if (ret)
		return ret;
	gv->abi = c.abi;
	gv->dtb_user = c.dtb_user;
	if (vm->arch == HVABS_ARCH_NONE)
		vm->arch = HVABS_ARCH_ARM64; /* Gunyah guests are arm64 */
	return 0;
}

static void gunyah_vm_fini(struct hvabs_vm *vm)
{
	struct gunyah_vm *gv = gunyah_vm_of(vm);

	hvabs__gunyah_boot_fini(gv);
	if (gv->vm_fd >= 0)
		close(gv->vm_fd);
	gv->vm_fd = -1;
}

/* ---- memory ---- */

static int gunyah_mem_ioctl(struct gunyah_vm *gv, const struct hvabs__region *r, uint64_t size,
			    const char *what)
{
	/* HVABS_MEM_* equal GH_MEM_*; core rejected LENT on v14 through caps. */
	struct gh_userspace_memory_region m = {
		.label = r->label,
		.flags = r->flags,
		.guest_phys_addr = r->guest_addr,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)r->host_addr,
	};

	if (ioctl(gv->vm_fd, GH_VM_SET_USER_MEM_REGION, &m) < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, what);
	return 0;
}

static int gunyah_mem_add(struct hvabs_vm *vm, const struct hvabs__region *r)
{
	return gunyah_mem_ioctl(gunyah_vm_of(vm), r, r->size, "GH_VM_SET_USER_MEM_REGION");
}

/* v10 deletes a region by its label with memory_size 0; v11+ cannot delete. */
static int gunyah_mem_remove(struct hvabs_vm *vm, const struct hvabs__region *r)
{
	struct gunyah_vm *gv = gunyah_vm_of(vm);

	if (gv->abi != GUNYAH_ABI_V10)
		return hvabs__error_set(HVABS_ENOTSUP, 0, GUNYAH_BACKEND,
					"gunyah abi v%d cannot remove memory regions", (int)gv->abi);
	return gunyah_mem_ioctl(gv, r, 0, "GH_VM_SET_USER_MEM_REGION (delete)");
}

/* ---- start and resources ---- */

static int gunyah_vm_start(struct hvabs_vm *vm)
{
	struct gunyah_vm *gv = gunyah_vm_of(vm);
	int ret = hvabs__gunyah_boot_start(gv);

	if (ret)
		return ret;
	if (ioctl(gv->vm_fd, GH_VM_START, 0) < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, "GH_VM_START");
	return 0;
}

/* The Resource Manager hands out what the VM's devicetree names, nothing else. */
static int gunyah_resource_create(struct hvabs_vm *vm, enum hvabs_resource_type type,
				  uint32_t label, uint32_t *irq_out, void **priv_out)
{
	int ret = hvabs__gunyah_dt_has(gunyah_vm_of(vm), type, label);

	if (ret)
		return ret;
	*irq_out = label; /* a doorbell's SPI is its label (docs/gunyah.md) */
	*priv_out = NULL;
	return 0;
}

/* ---- functions ---- */

static int gunyah_add_fn(struct gunyah_vm *gv, const struct gh_fn_desc *desc, const char *what)
{
	int ret = ioctl(gv->vm_fd, GH_VM_ADD_FUNCTION, desc);

	if (ret < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, what);
	return ret;
}

/*
 * @desc must carry the very bytes that were added: v10 compares them with
 * memcmp, v13+ per type (irqfd label; ioeventfd addr, len, flags and
 * datamatch; vCPU id) and answers ENOENT when nothing matched.
 */
int hvabs__gunyah_remove_fn(struct gunyah_vm *gv, const struct gh_fn_desc *desc, const char *what)
{
	int ret;

	/*
	 * Removal cannot be reported (unbind and fini are void), so an
	 * interrupted one is re-issued: the kernel takes its function lock
	 * interruptibly and fails with EINTR, having removed nothing, when a
	 * signal is pending - e.g. a vCPU kick (no SA_RESTART) that reached this
	 * thread just after its run returned. Ignored, it would leave the
	 * instance in the kernel behind the library's back.
	 */
	do
		ret = ioctl(gv->vm_fd, GH_VM_REMOVE_FUNCTION, desc);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return hvabs__gunyah_errno_to_hvabs(errno, what);
	return 0;
}

/* The kernel argument of an irqfd, built the same way for add and remove. */
static void gunyah_irqfd_arg(const struct hvabs_fn_irqfd_arg *a, struct gh_fn_irqfd_arg *g)
{
	memset(g, 0, sizeof(*g));
	g->fd = (uint32_t)a->fd;
	g->label = a->label;
	g->flags = (a->flags & HVABS_IRQFD_LEVEL) ? GH_IRQFD_LEVEL : 0;
}

/* ADD or REMOVE (@remove) function @type with argument @arg of @size bytes. */
static int gunyah_fn_ioctl(struct gunyah_vm *gv, bool remove, uint32_t type, const void *arg,
			   uint32_t size, const char *what)
{
	struct gh_fn_desc d = { type, size, (uint64_t)(uintptr_t)arg };
	int ret;

	if (remove)
		return hvabs__gunyah_remove_fn(gv, &d, what);
	ret = gunyah_add_fn(gv, &d, what);
	return ret < 0 ? ret : 0;
}

static int gunyah_irqfd_assign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			       const struct hvabs_resource *res)
{
	struct gh_fn_irqfd_arg g;

	(void)res;
	gunyah_irqfd_arg(arg, &g);
	return gunyah_fn_ioctl(gunyah_vm_of(fn->vm), false, GH_FN_IRQFD, &g, sizeof(g),
			       "GH_VM_ADD_FUNCTION (irqfd)");
}

static void gunyah_irqfd_deassign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
				  const struct hvabs_resource *res)
{
	struct gh_fn_irqfd_arg g;

	(void)res;
	gunyah_irqfd_arg(arg, &g);
	gunyah_fn_ioctl(gunyah_vm_of(fn->vm), true, GH_FN_IRQFD, &g, sizeof(g),
			"GH_VM_REMOVE_FUNCTION (irqfd)");
}

static void gunyah_ioeventfd_arg(const struct hvabs_fn_ioeventfd_arg *a,
				 struct gh_fn_ioeventfd_arg *g)
{
	bool dm = a->flags & HVABS_IOEVENTFD_DATAMATCH;

	memset(g, 0, sizeof(*g));
	g->datamatch = dm ? a->datamatch : 0;
	g->addr = a->addr;
	g->len = a->len;
	g->fd = a->fd;
	g->flags = dm ? GH_IOEVENTFD_DATAMATCH : 0;
}

/* Core has checked space (MMIO only, through caps), len, flags and fd. */
static int gunyah_ioeventfd_assign(struct hvabs_function *fn,
				   const struct hvabs_fn_ioeventfd_arg *arg)
{
	struct gh_fn_ioeventfd_arg g;

	gunyah_ioeventfd_arg(arg, &g);
	return gunyah_fn_ioctl(gunyah_vm_of(fn->vm), false, GH_FN_IOEVENTFD, &g, sizeof(g),
			       "GH_VM_ADD_FUNCTION (ioeventfd)");
}

static void gunyah_ioeventfd_deassign(struct hvabs_function *fn,
				      const struct hvabs_fn_ioeventfd_arg *arg)
{
	struct gh_fn_ioeventfd_arg g;

	gunyah_ioeventfd_arg(arg, &g);
	gunyah_fn_ioctl(gunyah_vm_of(fn->vm), true, GH_FN_IOEVENTFD, &g, sizeof(g),
			"GH_VM_REMOVE_FUNCTION (ioeventfd)");
}

/* ---- backend table and Gunyah-only queries ---- */

const struct hvabs__backend_ops hvabs__gunyah_backend = {
	.version = HVABS_BACKEND_OPS_VERSION,
	.name = GUNYAH_BACKEND,
	.auto_select = true,
	.vm_size = sizeof(struct gunyah_vm),
	.vcpu_size = sizeof(struct gunyah_vcpu),
	.probe = gunyah_probe,
	.caps = gunyah_caps,
	.vm_init = gunyah_vm_init,
	.vm_fini = gunyah_vm_fini,
	.mem_add = gunyah_mem_add,
	.mem_remove = gunyah_mem_remove,
	.resource_create = gunyah_resource_create,
	.vm_start = gunyah_vm_start,
	.vcpu_init = hvabs__gunyah_vcpu_init,
	.vcpu_fini = hvabs__gunyah_vcpu_fini,
	.vcpu_run = hvabs__gunyah_vcpu_run,
	.vcpu_kick = hvabs__gunyah_vcpu_kick,
	.irqfd_assign = gunyah_irqfd_assign,
	.irqfd_deassign = gunyah_irqfd_deassign,
	.ioeventfd_assign = gunyah_ioeventfd_assign,
	.ioeventfd_deassign = gunyah_ioeventfd_deassign,
};

int hvabs_gunyah_vm_abi(struct hvabs_vm *vm)
{
	if (!vm || vm->ops != &hvabs__gunyah_backend)
		return hvabs__error_set(HVABS_EINVAL, 0, GUNYAH_BACKEND, "not a gunyah vm");
	return (int)gunyah_vm_of(vm)->abi;
}
