/* SPDX-License-Identifier: MIT */
/* hvabs/errors.h: hvabs error codes and the per-thread error detail record. */
#ifndef HVABS_ERRORS_H
#define HVABS_ERRORS_H

#include "hvabs/common.h"

HVABS_BEGIN_DECLS

/*
 * Every fallible hvabs call returns 0 or one of these negative codes. The
 * values are hvabs' own (not errno), so every backend reports the same code
 * for the same mistake; the OS errno, if any, is in hvabs_error_last().
 */
#define HVABS_ERRNO_MAP(X)                                                    \
	X(ERROR, -1, "generic failure, see hvabs_error_last()")               \
	X(ENOTFOUND, -2, "no such object")                                   \
	X(EEXIST, -3, "already exists")                                      \
	X(EINVAL, -4, "invalid argument")                                    \
	X(ENOMEM, -5, "out of memory")                                       \
	X(ENOTSUP, -6, "not supported by backend")                           \
	X(ENODEV, -7, "backend not available on this host")                  \
	X(EBUSY, -8, "resource busy")                                        \
	X(EPERM, -9, "permission denied")                                    \
	X(EVERSION, -10, "unsupported struct version")                       \
	X(ESTATE, -11, "call not valid in the VM's current state")           \
	X(EINTR, -12, "interrupted")                                         \
	X(EIO, -13, "backend or host I/O failure")

enum hvabs_errno {
#define HVABS__ERR_ENUM(name, value, text) HVABS_##name = value,
	HVABS_ERRNO_MAP(HVABS__ERR_ENUM)
#undef HVABS__ERR_ENUM
};

/**
 * struct hvabs_error - detail of the last failure on the calling thread.
 * @code:      the HVABS_E* code that was returned.
 * @sys_errno: the OS errno behind it, or 0.
 * @backend:   name of the backend that failed ("sim", "kvm", ...), or "core".
 * @message:   one lower-case line, no trailing newline.
 */
struct hvabs_error {
	int code;
	int sys_errno;
	const char *backend;
	const char *message;
};

/**
 * hvabs_strerror() - static description of an HVABS_E* code.
 * Unknown codes give "unknown error". Never NULL. Thread-safe.
 */
HVABS_API const char *hvabs_strerror(int code);

/** hvabs_err_name() - the code's name ("HVABS_EINVAL"), or "HVABS_E?". */
HVABS_API const char *hvabs_err_name(int code);

/**
 * hvabs_error_last() - detail of the last failure on this thread.
 *
 * Never NULL; the record lives in thread-local storage, stays valid until
 * the thread's next failing hvabs call and may be stale after a success.
 */
HVABS_API const struct hvabs_error *hvabs_error_last(void);

/** hvabs_error_clear() - reset this thread's record to {0, 0, "core", ""}. */
HVABS_API void hvabs_error_clear(void);

HVABS_END_DECLS

#endif
