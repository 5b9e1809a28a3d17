/* SPDX-License-Identifier: MIT */
/* tests/gunyah/errno_probe.c: runs the backend's errno map (gunyah_errno.c) against a recording hvabs__error_set. */
#include "gunyah.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct gunyah_errno_seen {
	int code;
	int sys_errno;
	char backend[16];
	char message[64];
};

static struct gunyah_errno_seen gunyah_seen;

/* Stands in for core's: the unit test links no libhvabs. */
int hvabs__error_set(int code, int sys_errno, const char *backend, const char *fmt, ...)
{
	va_list ap;

	gunyah_seen.code = code;
	gunyah_seen.sys_errno = sys_errno;
	snprintf(gunyah_seen.backend, sizeof(gunyah_seen.backend), "%s", backend);
	va_start(ap, fmt);
	vsnprintf(gunyah_seen.message, sizeof(gunyah_seen.message), fmt, ap);
	va_end(ap);
	return code;
}

int gunyah_test_errno(int err, int *code_seen, int *sys_errno_seen, const char **backend,
		      const char **message);

/* Map @err for "probe-call"; report what was recorded. */
int gunyah_test_errno(int err, int *code_seen, int *sys_errno_seen, const char **backend,
		      const char **message)
{
	int ret;

	memset(&gunyah_seen, 0, sizeof(gunyah_seen));
	ret = hvabs__gunyah_errno_to_hvabs(err, "probe-call");
	*code_seen = gunyah_seen.code;
	*sys_errno_seen = gunyah_seen.sys_errno;
	*backend = gunyah_seen.backend;
	*message = gunyah_seen.message;
	return ret;
}
