/* SPDX-License-Identifier: MIT */
/* backends/gunyah/gunyah_errno.c: the Gunyah backend's one kernel errno -> HVABS_E* translation. */
#include "gunyah.h"

#include <errno.h>

int hvabs__gunyah_errno_to_hvabs(int err, const char *what)
{
	int code;

	switch (err) {
	case EINVAL:
	case EFAULT:    /* user memory the kernel cannot pin or read */
	case EOVERFLOW: /* address range overflow (v11+) */
	case EBADF:     /* fd of an irqfd/ioeventfd */
		code = HVABS_EINVAL;
		break;
	case EEXIST:
		code = HVABS_EEXIST;
		break;
	case ENOMEM:
	case ENOSPC:
		code = HVABS_ENOMEM;
		break;
	case ENOENT: /* REMOVE_FUNCTION matched nothing (v13+), unknown function type */
		code = HVABS_ENOTFOUND;
		break;
	case EBUSY:
	case EAGAIN: /* Resource Manager asked to retry */
		code = HVABS_EBUSY;
		break;
	case EPERM:
	case EACCES:
		code = HVABS_EPERM;
		break;
	case ENOTTY: /* ioctl unknown to this kernel */
	case EOPNOTSUPP:
		code = HVABS_ENOTSUP;
		break;
	case ENODEV: /* START after a failure or exit; RUN of an unbound vCPU */
		code = HVABS_ESTATE;
		break;
	case EINTR:
		code = HVABS_EINTR;
		break;
	default:
		code = HVABS_EIO;
		break;
	}
	return hvabs__error_set(code, err, GUNYAH_BACKEND, "%s", what);
}
