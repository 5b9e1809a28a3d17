/* SPDX-License-Identifier: MIT */
/* hvabs/common.h: export macros, C++ guards and version of the hvabs API. */
#ifndef HVABS_COMMON_H
#define HVABS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define HVABS_API __attribute__((visibility("default")))
#else
#define HVABS_API
#endif

#ifdef __cplusplus
#define HVABS_BEGIN_DECLS extern "C" {
#define HVABS_END_DECLS }
#else
#define HVABS_BEGIN_DECLS
#define HVABS_END_DECLS
#endif

#define HVABS_VERSION_MAJOR 0
#define HVABS_VERSION_MINOR 1
#define HVABS_VERSION_PATCH 0

HVABS_BEGIN_DECLS

/** hvabs_version_string() - "MAJOR.MINOR.PATCH" of the linked library. Thread-safe. */
HVABS_API const char *hvabs_version_string(void);

HVABS_END_DECLS

#endif
