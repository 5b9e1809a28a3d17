/* SPDX-License-Identifier: MIT */
/* core/backend.c: the static table of compiled backends, selection and capabilities. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Hardware backends first: selection probes them in this order. */
static const struct hvabs__backend_ops *const hvabs__backends[] = {
#ifdef HVABS_HAVE_GUNYAH
	&hvabs__gunyah_backend,
#endif
#ifdef HVABS_HAVE_KVM
	&hvabs__kvm_backend,
#endif
#ifdef HVABS_HAVE_SIM
	&hvabs__sim_backend,
#endif
	NULL,
};

unsigned int hvabs_backend_count(void)
{
	unsigned int n = 0;

	while (hvabs__backends[n])
		n++;
	return n;
}

const char *hvabs_backend_name(unsigned int index)
{
	if (index >= hvabs_backend_count())
		return NULL;
	return hvabs__backends[index]->name;
}

const struct hvabs__backend_ops *hvabs__backend_find(const char *name)
{
	for (size_t i = 0; hvabs__backends[i]; i++)
		if (strcmp(hvabs__backends[i]->name, name) == 0)
			return hvabs__backends[i];
	return NULL;
}

int hvabs_backend_probe(const char *name)
{
	const struct hvabs__backend_ops *ops;

	if (!name)
		return hvabs__error_set(HVABS_EINVAL, 0, "core", "backend name is NULL");
	ops = hvabs__backend_find(name);
	if (!ops)
		return hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "backend '%s' is not compiled in",
					name);
	return ops->probe();
}

/* Try each name of a comma-separated list; the first that probes wins. */
static int hvabs__select_list(const char **name_out, const char *list)
{
	char buf[128];
	const char *p = list;
	int ret = hvabs__error_set(HVABS_ENODEV, 0, "core", "no backend named in '%s'", list);

	while (*p) {
		size_t n = strcspn(p, ",");
		const struct hvabs__backend_ops *ops;

		if (n && n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			ops = hvabs__backend_find(buf);
			if (!ops)
				ret = hvabs__error_set(HVABS_ENOTFOUND, 0, "core",
						       "backend '%s' is not compiled in", buf);
			else if ((ret = ops->probe()) == 0) {
				*name_out = ops->name;
				return 0;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return ret;
}

int hvabs_backend_select(const char **name_out, const char *name)
{
	const char *env;

	if (name)
		return hvabs__select_list(name_out, name);
	env = getenv("HVABS_BACKEND");
	if (env && *env)
		return hvabs__select_list(name_out, env);
	for (size_t i = 0; hvabs__backends[i]; i++) {
		const struct hvabs__backend_ops *ops = hvabs__backends[i];

		if (ops->auto_select && ops->probe() == 0) {
			*name_out = ops->name;
			return 0;
		}
	}
	return hvabs__error_set(HVABS_ENODEV, 0, "core",
				"no available hardware backend (name one, e.g. HVABS_BACKEND=sim)");
}

int hvabs_backend_caps(const char *name, struct hvabs_caps *caps)
{
	const struct hvabs__backend_ops *ops;
	int ret;

	ret = hvabs__check_version(caps->version, HVABS_CAPS_VERSION, "hvabs_caps");
	if (ret)
		return ret;
	ops = name ? hvabs__backend_find(name) : NULL;
	if (!ops)
		return hvabs__error_set(HVABS_ENOTFOUND, 0, "core", "backend '%s' is not compiled in",
					name ? name : "(null)");
	memset(caps, 0, sizeof(*caps));
	caps->version = HVABS_CAPS_VERSION;
	ops->caps(NULL, caps);
	return 0;
}

int hvabs_vm_caps(struct hvabs_vm *vm, struct hvabs_caps *caps)
{
	int ret;

	ret = hvabs__check_version(caps->version, HVABS_CAPS_VERSION, "hvabs_caps");
	if (ret)
		return ret;
	memset(caps, 0, sizeof(*caps));
	caps->version = HVABS_CAPS_VERSION;
	vm->ops->caps(vm, caps);
	return 0;
}
