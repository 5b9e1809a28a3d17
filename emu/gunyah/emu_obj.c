/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_obj.c: emulated files - memfd identity, fd injection and release tracking with inotify. */
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void emu_proc_path(char *buf, size_t cap, int fd)
{
	snprintf(buf, cap, "/proc/self/fd/%d", fd);
}

int emu_obj_init(struct emu_obj *obj, enum emu_kind kind, const char *name, size_t size,
		 bool watch)
{
	struct stat st;
	char path[64];
	int ret;

	obj->kind = kind;
	obj->wd = -1;
	obj->files = 0;
	obj->memfd = memfd_create(name, MFD_CLOEXEC);
	if (obj->memfd < 0)
		return -errno;
	if ((size && ftruncate(obj->memfd, (off_t)size)) || fstat(obj->memfd, &st)) {
		ret = -errno;
		goto out_close_memfd;
	}
	obj->ino = st.st_ino;
	emu.memfd_dev = st.st_dev;
	if (watch) {
		emu_proc_path(path, sizeof(path), obj->memfd);
		obj->wd = inotify_add_watch(emu.inotify, path, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE);
		if (obj->wd < 0) {
			ret = -errno;
			goto out_close_memfd;
		}
	}
	obj->next = emu.objs;
	emu.objs = obj;
	return 0;

out_close_memfd:
	close(obj->memfd);
	obj->memfd = -1;
	return ret;
}

void emu_obj_fini(struct emu_obj *obj)
{
	struct emu_obj **pp;

	for (pp = &emu.objs; *pp; pp = &(*pp)->next) {
		if (*pp == obj) {
			*pp = obj->next;
			break;
		}
	}
	/* Remove the watch first: closing our own description must not count. */
	if (obj->wd >= 0)
		inotify_rm_watch(emu.inotify, obj->wd);
	if (obj->memfd >= 0)
		close(obj->memfd);
	obj->memfd = -1;
	obj->wd = -1;
}

struct emu_obj *emu_obj_lookup_fd(int fd)
{
	struct stat st;

	/* Same fd table as the VMM: fstat() names the file behind the number now. */
	if (fd < 0 || fstat(fd, &st) || st.st_dev != emu.memfd_dev)
		return NULL;
	for (struct emu_obj *o = emu.objs; o; o = o->next)
		if (o->ino == st.st_ino)
			return o;
	return NULL;
}

/*
 * A fresh open file description of the object's inode, so that its release
 * (IN_CLOSE) is the VMM's last close or munmap, never ours. It is counted
 * before the injection: if the injection fails, closing our copy produces
 * the IN_CLOSE that uncounts it.
 */
int emu_obj_install(struct emu_obj *obj, uint64_t id, bool cloexec)
{
	char path[64];
	int fd, ret;

	emu_proc_path(path, sizeof(path), obj->memfd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (obj->wd >= 0)
		obj->files++;
	ret = emu_reply_fd(id, fd, cloexec);
	close(fd);
	return ret;
}

static struct emu_obj *emu_obj_by_wd(int wd)
{
	for (struct emu_obj *o = emu.objs; o; o = o->next)
		if (o->wd == wd)
			return o;
	return NULL;
}

static void emu_obj_released(struct emu_obj *obj)
{
	if (!obj->files)
		return;
	if (--obj->files)
		return;
	if (obj->kind == EMU_OBJ_VM)
		emu_vm_file_released((struct emu_vm *)obj);
	else if (obj->kind == EMU_OBJ_VCPU)
		emu_vcpu_file_released((struct emu_vcpu *)obj);
}

void emu_obj_drain_closes(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(emu.inotify, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			struct emu_obj *obj;

			p += sizeof(*ev) + ev->len;
			if (!(ev->mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)))
				continue;
			obj = emu_obj_by_wd(ev->wd);
			if (obj)
				emu_obj_released(obj);
		}
	}
}

/* Join and free vCPU objects whose last reference went (outside emu.lock). */
void emu_reap(void)
{
	struct emu_vcpu *list;

	pthread_mutex_lock(&emu.lock);
	list = emu.reap;
	emu.reap = NULL;
	pthread_mutex_unlock(&emu.lock);
	while (list) {
		struct emu_vcpu *next = list->reap_next;

		emu_vcpu_join(list);
		list = next;
	}
}
