/* SPDX-License-Identifier: MIT */
/* tests/module/module_noinit.c: a shared object without hvabs_function_module_init (load must fail EINVAL). */
#include <hvabs.h>

HVABS_API int hvabs_test_module_noinit_marker(void);

int hvabs_test_module_noinit_marker(void)
{
	return 1;
}
