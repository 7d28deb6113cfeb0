/*
 * A scratch file for fuzz targets whose loader reads a path (regd.conf,
 * htpasswd): made once, removed at exit.
 */

#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

static char	 path[PATH_MAX];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

const char *
fuzz_tmpfile(const char *name)
{
	int	 fd;

	if (path[0] != '\0')
		return (path);
	snprintf(path, sizeof(path), "/tmp/regd-fuzz-%s.XXXXXX", name);
	if ((fd = mkstemp(path)) == -1)
		err(1, "mkstemp");
	close(fd);
	atexit(cleanup);
	return (path);
}
