/*
 * The main of a fuzz target built as a plain regress program: feed every
 * file of the seed corpus (CORPUS, or the directories and files given as
 * arguments) to LLVMFuzzerTestOneInput once.  A crash is the failure; the
 * program also fails when it found nothing to replay, so an empty or
 * misplaced corpus cannot pass unnoticed.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int	 replay_file(const char *);
static int	 replay_path(const char *);

static int
replay_file(const char *path)
{
	FILE		*fp;
	unsigned char	*buf;
	struct stat	 st;
	size_t		 n;

	if ((fp = fopen(path, "rb")) == NULL) {
		warn("%s", path);
		return (-1);
	}
	if (fstat(fileno(fp), &st) == -1 || st.st_size > 16 * 1024 * 1024) {
		warnx("%s: cannot size or too large", path);
		fclose(fp);
		return (-1);
	}
	/* An exact-size heap copy lets ASan see reads past the input. */
	if ((buf = malloc(st.st_size > 0 ? st.st_size : 1)) == NULL)
		err(1, NULL);
	n = fread(buf, 1, st.st_size, fp);
	fclose(fp);
	if (n != (size_t)st.st_size) {
		warnx("%s: short read", path);
		free(buf);
		return (-1);
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return (0);
}

/* Returns the number of files replayed, -1 on a read error. */
static int
replay_path(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 file[4096];
	int		 n = 0;

	if (stat(path, &st) == -1) {
		warn("%s", path);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode))
		return (replay_file(path) == -1 ? -1 : 1);
	if ((d = opendir(path)) == NULL) {
		warn("%s", path);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", path,
		    de->d_name) >= sizeof(file))
			continue;
		if (stat(file, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(file) == -1) {
			closedir(d);
			return (-1);
		}
		n++;
	}
	closedir(d);
	return (n);
}

int
main(int argc, char *argv[])
{
	const char	*def[] = { CORPUS, NULL };
	char		**paths = argc > 1 ? argv + 1 : (char **)def;
	char		**abs;
	int		 i, n, total = 0;

	/* A target may change directory: resolve the paths first. */
	for (n = 0; paths[n] != NULL; n++)
		;
	if ((abs = calloc(n + 1, sizeof(*abs))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++)
		if ((abs[i] = realpath(paths[i], NULL)) == NULL)
			err(1, "%s", paths[i]);
	paths = abs;
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 0; paths[i] != NULL; i++) {
		if ((n = replay_path(paths[i])) == -1)
			return (1);
		printf("%s: %d inputs replayed\n", paths[i], n);
		total += n;
	}
	for (i = 0; abs[i] != NULL; i++)
		free(abs[i]);
	free(abs);
	if (total == 0) {
		printf("FAIL: no input found to replay\n");
		return (1);
	}
	printf("ok %d inputs, no crash\n", total);
	return (0);
}
