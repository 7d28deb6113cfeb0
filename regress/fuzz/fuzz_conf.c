/*
 * Fuzz target: the regd.conf grammar and lexer (parse.y).  Each input is
 * written to a temporary file and given to parse_config() as regd -n
 * would; a configuration it accepts is dumped and freed, so the dump
 * code sees every shape the parser can build.  The parser's messages go
 * to /dev/null unless FUZZ_VERBOSE is set.
 */

#include <sys/types.h>

#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"
#include "fuzz.h"

struct regd	*env;

static const char	*path;
static int		 quiet = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	path = fuzz_tmpfile("conf");
	if (getenv("FUZZ_VERBOSE") == NULL &&
	    (quiet = open("/dev/null", O_WRONLY)) == -1)
		err(1, "/dev/null");
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct regd_conf	*c;
	FILE			*fp;
	int			 saved_err = -1, saved_out = -1;

	if (path == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if ((fp = fopen(path, "w")) == NULL)
		return (0);
	if (size > 0 && fwrite(data, 1, size, fp) != size) {
		fclose(fp);
		return (0);
	}
	if (fclose(fp) == EOF)
		return (0);
	fflush(stdout);
	fflush(stderr);
	if (quiet != -1) {
		saved_err = dup(2);
		saved_out = dup(1);
		dup2(quiet, 2);
		dup2(quiet, 1);
	}
	if ((c = parse_config(path, 1)) != NULL) {
		config_dump(c);
		config_free(c);
	}
	fflush(stdout);
	fflush(stderr);
	if (saved_err != -1) {
		dup2(saved_err, 2);
		close(saved_err);
	}
	if (saved_out != -1) {
		dup2(saved_out, 1);
		close(saved_out);
	}
	return (0);
}
