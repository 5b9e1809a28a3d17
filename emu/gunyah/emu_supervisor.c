/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_supervisor.c: the seccomp filter, the supervisor thread and the notification plumbing. */
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define EMU_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define EMU_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "the gunyah emulator supports x86_64 and aarch64 hosts"
#endif

#ifdef __NR_open
#define EMU_NR_OPEN __NR_open
#else
#define EMU_NR_OPEN __NR_openat
#endif

/* Linux 6.6: wake the supervisor on the trapping CPU (measured: 6 -> 4 us per call). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1ul
#endif

struct emu_state emu = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sync_cond = PTHREAD_COND_INITIALIZER,
	.listener = -1,
	.inotify = -1,
	.ctlfd = -1,
};

static struct seccomp_notif_sizes emu_sizes;
static pthread_mutex_t emu_start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t emu_start_cond = PTHREAD_COND_INITIALIZER;
static int emu_start_state; /* 0 waiting, 1 listener published, -1 abandon */

void emu_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (!emu.log)
		return;
	n = snprintf(buf, sizeof(buf), "[gunyah-emu] ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(buf, "\n");
	/* write(2) is not trapped; stdio could take locks a trapped thread holds. */
	if (write(STDERR_FILENO, buf, strlen(buf)) < 0)
		return;
}

/* ---- answering notifications ---- */

int emu_reply(uint64_t id, long val, int err)
{
	struct seccomp_notif_resp *resp = alloca(emu_sizes.seccomp_notif_resp);

	memset(resp, 0, emu_sizes.seccomp_notif_resp);
	resp->id = id;
	resp->val = err ? 0 : val;
	resp->error = err ? -err : 0;
	if (ioctl(emu.listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
		return -errno;
	return 0;
}

int emu_reply_continue(uint64_t id)
{
	struct seccomp_notif_resp *resp = alloca(emu_sizes.seccomp_notif_resp);

	memset(resp, 0, emu_sizes.seccomp_notif_resp);
	resp->id = id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	emu.continued++;
	if (ioctl(emu.listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
		return -errno;
	return 0;
}

int emu_reply_fd(uint64_t id, int srcfd, bool cloexec)
{
	struct seccomp_notif_addfd add;
	int ret;

	memset(&add, 0, sizeof(add));
	add.id = id;
	add.flags = SECCOMP_ADDFD_FLAG_SEND;
	add.srcfd = (uint32_t)srcfd;
	add.newfd_flags = cloexec ? O_CLOEXEC : 0;
	ret = ioctl(emu.listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	return ret < 0 ? -errno : ret;
}

bool emu_id_valid(uint64_t id)
{
	return ioctl(emu.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

int emu_read_mem(void *dst, uint64_t addr, size_t len)
{
	struct iovec local = { dst, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	if (!len)
		return 0;
	/* The kernel validates the range: a bad pointer is EFAULT, never a crash. */
	if (process_vm_readv(emu.tgid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

/* Read a NUL-terminated path, page by page (a string may end before a hole). */
static int emu_read_path(char *dst, size_t cap, uint64_t addr)
{
	size_t got = 0;

	while (got < cap) {
		size_t chunk = (size_t)emu.page_size - ((addr + got) & ((uint64_t)emu.page_size - 1));

		if (chunk > cap - got)
			chunk = cap - got;
		if (emu_read_mem(dst + got, addr + got, chunk))
			return -EFAULT;
		if (memchr(dst + got, '\0', chunk))
			return 0;
		got += chunk;
	}
	return -ENAMETOOLONG;
}

void emu_wake_supervisor(void)
{
	uint64_t one = 1;

	if (write(emu.ctlfd, &one, sizeof(one)) < 0)
		emu_log("wake: %s", strerror(errno));
}

/* ---- one notification ---- */

static bool emu_same_process(pid_t tid)
{
	/* Forked children share the filter but not our fd table: let them through. */
	return syscall(SYS_tgkill, emu.tgid, tid, 0) == 0;
}

static void emu_handle_open(uint64_t id, int dirfd, uint64_t path_addr, uint64_t flags)
{
	char *path = alloca(4096);
	int err, fd;

	if (emu_read_path(path, 4096, path_addr) || strcmp(path, emu.device) ||
	    (dirfd != AT_FDCWD && path[0] != '/')) {
		emu_reply_continue(id);
		return;
	}
	err = emu_op_enter(EMU_OP_OPEN);
	if (err) {
		emu_reply(id, 0, err);
		return;
	}
	fd = emu_obj_install(emu.dev_obj, id, (flags & O_CLOEXEC) != 0);
	emu_log("open %s -> %d", path, fd);
	if (fd < 0 && fd != -ENOENT)
		emu_reply(id, 0, -fd);
}

static void emu_handle_ioctl(uint64_t id, const struct seccomp_data *d)
{
	struct emu_obj *obj = emu_obj_lookup_fd((int)d->args[0]);
	uint32_t cmd = (uint32_t)d->args[1];
	long r;

	if (!obj) {
		emu_reply_continue(id);
		return;
	}
	switch (obj->kind) {
	case EMU_OBJ_DEV:
		r = emu_dev_ioctl(id, cmd, d->args[2]);
		break;
	case EMU_OBJ_VM:
		r = emu_vm_ioctl((struct emu_vm *)obj, id, cmd, d->args[2]);
		break;
	default:
		r = emu_vcpu_ioctl((struct emu_vcpu *)obj, id, cmd, d->args[2]);
		break;
	}
	if (r == EMU_REPLIED)
		emu_log("ioctl(%d, %#x, %#llx) -> fd injected", (int)d->args[0], cmd,
			(unsigned long long)d->args[2]);
	else if (r == EMU_ASYNC)
		emu_log("ioctl(%d, %#x) -> queued for the vcpu worker", (int)d->args[0], cmd);
	else
		emu_log("ioctl(%d, %#x, %#llx) -> %ld", (int)d->args[0], cmd,
			(unsigned long long)d->args[2], r);
	if (r == EMU_REPLIED || r == EMU_ASYNC)
		return;
	if (r < 0)
		emu_reply(id, 0, (int)-r);
	else
		emu_reply(id, r, 0);
}

static void emu_handle_one(struct seccomp_notif *req)
{
	memset(req, 0, emu_sizes.seccomp_notif);
	if (ioctl(emu.listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
		return; /* ENOENT: the caller was interrupted before we got it */
	emu.trapped++;
	if (!emu_same_process((pid_t)req->pid)) {
		emu_reply_continue(req->id);
		return;
	}
	switch (req->data.nr) {
	case __NR_ioctl:
		emu_handle_ioctl(req->id, &req->data);
		break;
	case __NR_openat:
		emu_handle_open(req->id, (int)req->data.args[0], req->data.args[1],
				req->data.args[2]);
		break;
	default: /* open(2) */
		emu_handle_open(req->id, AT_FDCWD, req->data.args[0], req->data.args[1]);
		break;
	}
}

/* ---- the supervisor thread ---- */

static uint64_t emu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void emu_handle_ctl(void)
{
	uint64_t v;

	if (read(emu.ctlfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		emu_log("ctl read: %s", strerror(errno));
	emu.sync_done = emu.sync_req;
	pthread_cond_broadcast(&emu.sync_cond);
}

static bool emu_wait_listener(void)
{
	bool ok;

	pthread_mutex_lock(&emu_start_lock);
	while (!emu_start_state)
		pthread_cond_wait(&emu_start_cond, &emu_start_lock);
	ok = emu_start_state > 0;
	pthread_mutex_unlock(&emu_start_lock);
	return ok;
}

static void *emu_supervisor_main(void *arg)
{
	struct seccomp_notif *req = malloc(emu_sizes.seccomp_notif);
	uint64_t next_watch = 0;

	(void)arg;
	if (!req || !emu_wait_listener()) {
		free(req);
		return NULL;
	}
	for (;;) {
		struct pollfd p[3] = { { emu.listener, POLLIN, 0 },
				       { emu.inotify, POLLIN, 0 },
				       { emu.ctlfd, POLLIN, 0 } };
		struct timespec ts = { (time_t)(emu.watch_us / 1000000u),
				       (long)(emu.watch_us % 1000000u) * 1000 };
		bool busy = emu_vcpu_any_busy();

		/* Never leave: trapped callers would wait for an answer forever. */
		if (ppoll(p, 3, busy ? &ts : NULL, NULL) < 0) {
			if (errno != EINTR)
				emu_log("ppoll: %s", strerror(errno));
			for (int i = 0; i < 3; i++)
				p[i].revents = 0;
		}
		pthread_mutex_lock(&emu.lock);
		emu_obj_drain_closes();
		if (p[2].revents & POLLIN)
			emu_handle_ctl();
		if (p[0].revents & POLLIN)
			emu_handle_one(req);
		if (emu_vcpu_any_busy() && emu_now_us() >= next_watch) {
			emu_vcpu_watch();
			next_watch = emu_now_us() + emu.watch_us;
		}
		pthread_mutex_unlock(&emu.lock);
		emu_reap();
	}
	return NULL;
}

/* ---- installing ---- */

static int emu_filter_install(void)
{
	/* Trap openat/open (the path is in memory) and ioctls of type 'G'. */
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EMU_AUDIT_ARCH, 0, 8),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 5, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, EMU_NR_OPEN, 4, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4),
		/* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		/* 7 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff00),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GH_IOCTL_TYPE << 8, 0, 1),
		/* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		/* 10 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	long fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
		     &prog);
	if (fd < 0)
		return -errno;
	if (ioctl((int)fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP))
		emu_log("no synchronous wake-ups (%s)", strerror(errno));
	return (int)fd;
}

static void emu_publish_listener(int state)
{
	pthread_mutex_lock(&emu_start_lock);
	emu_start_state = state;
	pthread_cond_broadcast(&emu_start_cond);
	pthread_mutex_unlock(&emu_start_lock);
}

/* The supervisor blocks every signal: they belong to the VMM's threads. */
static int emu_supervisor_spawn(void)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&emu.supervisor, NULL, emu_supervisor_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret ? HVABS_ENOMEM : 0;
}

static int emu_fds_open(void)
{
	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &emu_sizes) < 0)
		return HVABS_ENOTSUP;
	if (emu_sizes.seccomp_notif < sizeof(struct seccomp_notif))
		emu_sizes.seccomp_notif = sizeof(struct seccomp_notif);
	if (emu_sizes.seccomp_notif_resp < sizeof(struct seccomp_notif_resp))
		emu_sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
	emu.inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (emu.inotify < 0)
		return HVABS_ERROR;
	emu.ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (emu.ctlfd < 0)
		return HVABS_ERROR;
	return 0;
}

static int emu_config_apply(const struct hvabs_gunyah_emu_config *cfg)
{
	const char *abi = cfg->abi ? cfg->abi : "v14";
	const char *dev = cfg->device ? cfg->device : "/dev/gunyah";

	if (!strcmp(abi, "v10"))
		emu.abi = EMU_ABI_V10;
	else if (!strcmp(abi, "v14"))
		emu.abi = EMU_ABI_V14;
	else
		return HVABS_EINVAL;
	if (dev[0] != '/' || strlen(dev) >= sizeof(emu.device))
		return HVABS_EINVAL;
	strcpy(emu.device, dev);
	emu.log = cfg->log;
	emu.watch_us = cfg->watch_us ? cfg->watch_us : 1000;
	emu.tgid = getpid();
	emu.page_size = sysconf(_SC_PAGESIZE);
	hvabs_gunyah_emu_fault_clear();
	return emu_faults_parse(cfg->faults);
}

static int emu_start_locked(const struct hvabs_gunyah_emu_config *cfg)
{
	static struct emu_obj dev;
	int ret;

	ret = emu_config_apply(cfg);
	if (ret)
		return ret;
	ret = emu_fds_open();
	if (ret)
		return ret;
	ret = emu_hv_load(&emu.hv, cfg->libhvabs ? cfg->libhvabs : HVABS_GUNYAH_EMU_LIBHVABS,
			  cfg->shared_libhvabs);
	if (ret)
		return ret;
	ret = emu_obj_init(&dev, EMU_OBJ_DEV, "gunyah", 0, false);
	if (ret)
		return ret;
	emu.dev_obj = &dev;
	ret = emu_supervisor_spawn();
	if (ret)
		return ret;
	/* From here on this thread's openat/ioctl calls go to the supervisor. */
	emu.listener = emu_filter_install();
	if (emu.listener < 0) {
		ret = emu.listener == -EACCES || emu.listener == -EINVAL ? HVABS_ENOTSUP
									  : HVABS_ERROR;
		emu_publish_listener(-1);
		pthread_join(emu.supervisor, NULL);
		return ret;
	}
	emu_publish_listener(1);
	return 0;
}

int hvabs_gunyah_emu_start(const struct hvabs_gunyah_emu_config *cfg)
{
	static const struct hvabs_gunyah_emu_config defaults = HVABS_GUNYAH_EMU_CONFIG_INIT;
	int ret;

	if (!cfg)
		cfg = &defaults;
	if (cfg->version == 0 || cfg->version > HVABS_GUNYAH_EMU_CONFIG_VERSION)
		return HVABS_EVERSION;
	pthread_mutex_lock(&emu.lock);
	if (emu.active || emu.listener >= 0) {
		pthread_mutex_unlock(&emu.lock);
		return HVABS_EBUSY;
	}
	/*
	 * The filter is installed with emu.lock held: the supervisor cannot
	 * take it before the listener exists, and this thread makes no
	 * trapped call while holding it.
	 */
	ret = emu_start_locked(cfg);
	emu.active = ret == 0;
	pthread_mutex_unlock(&emu.lock);
	if (!ret)
		emu_log("started: device %s, abi %s, libhvabs %s", emu.device,
			emu.abi == EMU_ABI_V10 ? "v10" : "v14",
			emu.hv.isolated ? "private (dlmopen)" : "shared");
	return ret;
}

bool hvabs_gunyah_emu_active(void)
{
	bool on;

	pthread_mutex_lock(&emu.lock);
	on = emu.active;
	pthread_mutex_unlock(&emu.lock);
	return on;
}

void hvabs_gunyah_emu_sync(void)
{
	uint64_t want;

	pthread_mutex_lock(&emu.lock);
	if (!emu.active) {
		pthread_mutex_unlock(&emu.lock);
		return;
	}
	want = ++emu.sync_req;
	emu_wake_supervisor();
	while (emu.sync_done < want)
		pthread_cond_wait(&emu.sync_cond, &emu.lock);
	pthread_mutex_unlock(&emu.lock);
}

void hvabs_gunyah_emu_stats(struct hvabs_gunyah_emu_stats *st)
{
	pthread_mutex_lock(&emu.lock);
	st->vms = emu.nr_vms;
	st->vcpus = emu.nr_vcpus;
	st->functions = emu.nr_fns;
	st->regions = emu.nr_regions;
	st->sim_vms = emu.nr_sim_vms;
	st->trapped = emu.trapped;
	st->continued = emu.continued;
	st->runs = emu.runs;
	st->runs_interrupted = emu.runs_interrupted;
	st->ioeventfd_hits = emu.ioeventfd_hits;
	pthread_mutex_unlock(&emu.lock);
}
