/* SPDX-License-Identifier: MIT */
/* core/errors.c: error codes, names, messages and the per-thread detail record. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct hvabs__error_tls {
	struct hvabs_error pub;
	char message[256];
};

static _Thread_local struct hvabs__error_tls hvabs__err = {
	.pub = { 0, 0, "core", "" },
};

const char *hvabs_version_string(void)
{
#define HVABS__STR2(x) #x
#define HVABS__STR(x) HVABS__STR2(x)
	return HVABS__STR(HVABS_VERSION_MAJOR) "." HVABS__STR(HVABS_VERSION_MINOR) "." HVABS__STR(
		HVABS_VERSION_PATCH);
}

const char *hvabs_strerror(int code)
{
	switch (code) {
#define HVABS__ERR_TEXT(name, value, text) \
	case value:                        \
		return text;
		HVABS_ERRNO_MAP(HVABS__ERR_TEXT)
#undef HVABS__ERR_TEXT
	case 0:
		return "success";
	default:
		return "unknown error";
	}
}

const char *hvabs_err_name(int code)
{
	switch (code) {
#define HVABS__ERR_NAME(name, value, text) \
	case value:                        \
		return "HVABS_" #name;
		HVABS_ERRNO_MAP(HVABS__ERR_NAME)
#undef HVABS__ERR_NAME
	case 0:
		return "0";
	default:
		return "HVABS_E?";
	}
}

const struct hvabs_error *hvabs_error_last(void)
{
	hvabs__err.pub.message = hvabs__err.message;
	return &hvabs__err.pub;
}

void hvabs_error_clear(void)
{
	hvabs__err.pub.code = 0;
	hvabs__err.pub.sys_errno = 0;
	hvabs__err.pub.backend = "core";
	hvabs__err.message[0] = '\0';
}

int hvabs__error_set(int code, int sys_errno, const char *backend, const char *fmt, ...)
{
	va_list ap;
	int n;

	hvabs__err.pub.code = code;
	hvabs__err.pub.sys_errno = sys_errno;
	hvabs__err.pub.backend = backend ? backend : "core";
	va_start(ap, fmt);
	n = vsnprintf(hvabs__err.message, sizeof(hvabs__err.message), fmt, ap);
	va_end(ap);
	if (n < 0)
		hvabs__err.message[0] = '\0';
	if (sys_errno && n >= 0 && (size_t)n < sizeof(hvabs__err.message) - 3) {
		size_t used = (size_t)n;

		snprintf(hvabs__err.message + used, sizeof(hvabs__err.message) - used, ": %s",
			 strerror(sys_errno));
	}
	return code;
}

int hvabs__error_nomem(const char *backend)
{
	return hvabs__error_set(HVABS_ENOMEM, 0, backend, "out of memory");
}

int hvabs__check_version(unsigned int version, unsigned int max, const char *what)
{
	if (version == 0 || version > max)
		return hvabs__error_set(HVABS_EVERSION, 0, "core", "invalid version %u of %s", version,
					what);
	return 0;
}
