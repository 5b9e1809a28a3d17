/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_rules.c: the errno table (one row per kernel rule, one column per ABI) and errno injection. */
#include "emu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * What each ABI's kernel returns when a rule is broken; 0 means the kernel
 * accepts the call. docs/gunyah-emulator.md prints the same table.
 */
struct emu_rule_row {
	const char *name;
	int result[EMU_ABI_COUNT];
};

static const struct emu_rule_row emu_rules[R_COUNT] = {
	[R_CREATE_VM_ARG] = { "create_vm_arg_not_0", { -EINVAL, -EINVAL } },
	[R_WRONG_FD_DEV] = { "unknown_ioctl_on_device_fd", { -ENOTTY, -ENOTTY } },
	[R_WRONG_FD_VM] = { "unknown_ioctl_on_vm_fd", { -ENOTTY, -ENOTTY } },
	[R_WRONG_FD_VCPU] = { "unknown_ioctl_on_vcpu_fd", { -EINVAL, -EINVAL } },
	[R_BAD_POINTER] = { "bad_user_pointer", { -EFAULT, -EFAULT } },
	[R_REGION_FLAGS] = { "region_unknown_flag", { -EINVAL, -EINVAL } },
	[R_REGION_LENT] = { "region_flag_lent", { 0, -EINVAL } },
	[R_REGION_ALIGN] = { "region_not_page_aligned", { -EINVAL, -EINVAL } },
	[R_REGION_SIZE0] = { "region_size_0", { 0, -EINVAL } }, /* v10: deletes */
	[R_REGION_OVERFLOW] = { "region_gpa_overflow", { -EOVERFLOW, -EOVERFLOW } },
	[R_REGION_LABEL] = { "region_label_in_use", { -EEXIST, -EEXIST } },
	[R_REGION_OVERLAP] = { "region_overlap", { -EEXIST, -EEXIST } },
	[R_REGION_PIN] = { "region_memory_not_mapped_writable", { -EFAULT, -EFAULT } },
	[R_REGION_DELETE_MISSING] = { "region_delete_unknown_label", { 0, 0 } },
	[R_DTB_OVERFLOW] = { "dtb_config_overflow", { 0, -EINVAL } }, /* v10: fails at start */
	[R_FN_ARG_SIZE] = { "fn_arg_size_over_256", { -EINVAL, -EINVAL } },
	[R_FN_UNKNOWN_TYPE] = { "fn_unknown_type", { -ENOENT, -ENOENT } },
	[R_FN_VCPU_SIZE] = { "fn_vcpu_arg_size", { -EINVAL, -EINVAL } },
	[R_FN_VCPU_DUP] = { "fn_vcpu_id_in_use", { -EEXIST, -EEXIST } },
	[R_FN_IRQFD_SIZE] = { "fn_irqfd_arg_size", { -EINVAL, -EINVAL } },
	[R_FN_IRQFD_FLAGS] = { "fn_irqfd_unknown_flag", { 0, -EINVAL } },
	[R_FN_IRQFD_DUP] = { "fn_irqfd_label_in_use", { -EEXIST, -EEXIST } },
	[R_FN_IOEVENTFD_SIZE] = { "fn_ioeventfd_arg_size", { -EINVAL, -EINVAL } },
	[R_FN_IOEVENTFD_FLAGS] = { "fn_ioeventfd_unknown_flag", { 0, -EINVAL } },
	[R_FN_IOEVENTFD_LEN] = { "fn_ioeventfd_len_not_0_1_2_4_8", { -EINVAL, -EINVAL } },
	[R_FN_IOEVENTFD_DM_LEN0] = { "fn_ioeventfd_datamatch_len_0", { -EINVAL, -EINVAL } },
	[R_FN_IOEVENTFD_OVERFLOW] = { "fn_ioeventfd_addr_overflow", { -EINVAL, -EINVAL } },
	[R_FN_IOEVENTFD_COLLIDE] = { "fn_ioeventfd_collision", { -EEXIST, -EEXIST } },
	[R_FN_BAD_FD] = { "fn_fd_not_open", { -EBADF, -EBADF } },
	[R_FN_NOT_EVENTFD] = { "fn_fd_not_eventfd", { -EINVAL, -EINVAL } },
	[R_REMOVE_NO_MATCH] = { "remove_nothing_matched", { 0, -ENOENT } },
	[R_START_DTB_RANGE] = { "start_dtb_outside_one_region", { -EINVAL, -EINVAL } },
	[R_START_DT_INVALID] = { "start_devicetree_rejected", { -EINVAL, -EINVAL } },
	[R_START_AGAIN_RUNNING] = { "start_while_running", { 0, 0 } },
	[R_START_AGAIN_STOPPED] = { "start_after_start_failed_or_vm_stopped", { -ENODEV, -ENODEV } },
	[R_RUN_NO_FUNCTION] = { "run_vcpu_function_removed", { -ENODEV, -ENODEV } },
	[R_RUN_UNBOUND] = { "run_vcpu_not_bound", { -ENODEV, -ENODEV } },
	[R_RUN_IMMEDIATE_EXIT] = { "run_immediate_exit", { -EINTR, -EINTR } },
};

int emu_rule(enum emu_rule rule)
{
	int r = emu_rules[rule].result[emu.abi];

	if (r)
		emu_log("rule %s: %d", emu_rules[rule].name, r);
	return r;
}

/* ---- errno injection ---- */

static const char *const emu_op_names[EMU_OP_COUNT] = {
	[EMU_OP_OPEN] = "open",
	[EMU_OP_CREATE_VM] = "create_vm",
	[EMU_OP_SET_USER_MEM_REGION] = "set_user_mem_region",
	[EMU_OP_SET_DTB_CONFIG] = "set_dtb_config",
	[EMU_OP_START] = "start",
	[EMU_OP_ADD_FUNCTION] = "add_function",
	[EMU_OP_REMOVE_FUNCTION] = "remove_function",
	[EMU_OP_VCPU_RUN] = "vcpu_run",
	[EMU_OP_VCPU_MMAP_SIZE] = "vcpu_mmap_size",
};

struct emu_fault {
	uint64_t at; /* count value that fails, 0: none */
	int err;
};

static pthread_mutex_t emu_fault_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t emu_op_counts[EMU_OP_COUNT];
static struct emu_fault emu_faults[EMU_OP_COUNT];

static int emu_op_find(const char *name, size_t len)
{
	for (int i = 0; i < EMU_OP_COUNT; i++)
		if (strlen(emu_op_names[i]) == len && !strncmp(emu_op_names[i], name, len))
			return i;
	return -1;
}

int emu_op_enter(enum emu_op op)
{
	int err = 0;

	pthread_mutex_lock(&emu_fault_lock);
	emu_op_counts[op]++;
	if (emu_faults[op].at && emu_faults[op].at == emu_op_counts[op]) {
		err = emu_faults[op].err;
		emu_faults[op].at = 0;
	}
	pthread_mutex_unlock(&emu_fault_lock);
	if (err)
		emu_log("injecting -%d into %s", err, emu_op_names[op]);
	return err;
}

static int emu_fault_arm(int op, unsigned int nth, int err)
{
	if (!nth || err <= 0)
		return HVABS_EINVAL;
	pthread_mutex_lock(&emu_fault_lock);
	emu_faults[op].at = emu_op_counts[op] + nth;
	emu_faults[op].err = err;
	pthread_mutex_unlock(&emu_fault_lock);
	return 0;
}

int hvabs_gunyah_emu_fault_set(const char *op, unsigned int nth, int err)
{
	int i = op ? emu_op_find(op, strlen(op)) : -1;

	if (i < 0)
		return HVABS_ENOTFOUND;
	return emu_fault_arm(i, nth, err);
}

void hvabs_gunyah_emu_fault_clear(void)
{
	pthread_mutex_lock(&emu_fault_lock);
	memset(emu_faults, 0, sizeof(emu_faults));
	pthread_mutex_unlock(&emu_fault_lock);
}

uint64_t hvabs_gunyah_emu_op_count(const char *op)
{
	int i = op ? emu_op_find(op, strlen(op)) : -1;
	uint64_t n;

	if (i < 0)
		return 0;
	pthread_mutex_lock(&emu_fault_lock);
	n = emu_op_counts[i];
	pthread_mutex_unlock(&emu_fault_lock);
	return n;
}

static const struct {
	const char *name;
	int value;
} emu_errno_names[] = {
	{ "EPERM", EPERM },   { "ENOENT", ENOENT }, { "EINTR", EINTR },   { "EIO", EIO },
	{ "EBADF", EBADF },   { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },   { "EEXIST", EEXIST }, { "ENODEV", ENODEV }, { "EINVAL", EINVAL },
	{ "ENOSPC", ENOSPC }, { "ENOTTY", ENOTTY }, { "EMFILE", EMFILE }, { "ENOSYS", ENOSYS },
	{ "EOVERFLOW", EOVERFLOW }, { "EOPNOTSUPP", EOPNOTSUPP }, { "EACCES", EACCES },
};

static int emu_errno_parse(const char *s, size_t len)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(emu_errno_names) / sizeof(emu_errno_names[0]); i++)
		if (strlen(emu_errno_names[i].name) == len &&
		    !strncmp(emu_errno_names[i].name, s, len))
			return emu_errno_names[i].value;
	v = strtol(s, &end, 10);
	if (end != s + len || v <= 0 || v > 4095)
		return -1;
	return (int)v;
}

/* One "op:nth:errno" item of length @len. */
static int emu_fault_parse_one(const char *s, size_t len)
{
	const char *c1 = memchr(s, ':', len), *c2;
	char *end;
	unsigned long nth;
	int op, err;

	if (!c1)
		return HVABS_EINVAL;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s));
	if (!c2)
		return HVABS_EINVAL;
	op = emu_op_find(s, (size_t)(c1 - s));
	nth = strtoul(c1 + 1, &end, 10);
	if (op < 0 || end != c2 || nth == 0 || nth > 1000000000ul)
		return HVABS_EINVAL;
	err = emu_errno_parse(c2 + 1, len - (size_t)(c2 + 1 - s));
	if (err < 0)
		return HVABS_EINVAL;
	return emu_fault_arm(op, (unsigned int)nth, err);
}

int emu_faults_parse(const char *spec)
{
	while (spec && *spec) {
		const char *comma = strchr(spec, ',');
		size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
		int ret = len ? emu_fault_parse_one(spec, len) : 0;

		if (ret)
			return ret;
		spec = comma ? comma + 1 : NULL;
	}
	return 0;
}
