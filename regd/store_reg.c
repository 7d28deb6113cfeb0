/*
 * Storage: the registry above the backend.  Which backend is in use,
 * chosen by name from one table.
 */

#include <sys/types.h>

#include <errno.h>
#include <string.h>

#include "regd.h"
#include "store.h"

static const struct store_backend *const backends[] = {
	&store_fs_backend
};

const struct store_backend	*be = &store_fs_backend;

const struct store_backend *
store_backend_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return (backends[i]);
	return (NULL);
}

int
store_init(void)
{
	return (be->init());
}

/* A walk's entries into a struct names. */
int
names_each(void *arg, const char *name, const struct be_stat *bs)
{
	return (names_add(arg, name) == -1 ? -1 : 0);
}
