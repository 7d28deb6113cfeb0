/*
 * Process titles ("regd: frontend") written over the argument area, so
 * ps(1) and /proc/PID/cmdline show the role of each process cleanly.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"

extern char	**environ;

static char	*title_start;
static size_t	 title_len;
static char	 title_prog[64];

/*
 * Take the arguments and the environment strings that follow them in
 * memory as the space for titles; the environment moves to the heap.
 */
void
proc_title_init(int argc, char **argv)
{
	char	*end, **nenv;
	int	 i, n;

	if (argc < 1 || argv[0] == NULL)
		return;
	/*
	 * getprogname() points into argv[0], which the titles overwrite:
	 * keep a copy, or a second title starts with a piece of the first.
	 */
	strlcpy(title_prog, getprogname(), sizeof(title_prog));
	end = argv[0] + strlen(argv[0]) + 1;
	for (i = 1; i < argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (n = 0; environ[n] != NULL; n++)
		;
	if ((nenv = calloc(n + 1, sizeof(*nenv))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
		if ((nenv[i] = strdup(environ[i])) == NULL)
			return;
	}
	environ = nenv;
	title_start = argv[0];
	title_len = end - argv[0];
}

void
proc_title(const char *fmt, ...)
{
	char	 buf[256];
	va_list	 ap;
	int	 n;

	if (title_start == NULL || title_len < 2)
		return;
	n = snprintf(buf, sizeof(buf), "%s: ", title_prog);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(buf))
		vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	memset(title_start, 0, title_len);
	strlcpy(title_start, buf, title_len);
}
