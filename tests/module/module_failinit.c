/* SPDX-License-Identifier: MIT */
/* tests/module/module_failinit.c: a function module whose init fails (load returns init's code). */
#include <hvabs.h>

HVABS_API int hvabs_function_module_init(void);

int hvabs_function_module_init(void)
{
	return HVABS_EBUSY;
}
