/*
 * Fuzz target: the htpasswd loader of authconf.c, reached the way the
 * configuration parser reaches it (auth_htpasswd on a server being
 * configured), on a temporary file holding the input.  A file it accepts
 * must give users with names and bcrypt hashes, sorted and unique.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <err.h>
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	path = fuzz_tmpfile("htpasswd");
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_conf	 srv;
	struct auth_conf	*a;
	FILE			*fp;
	char			 errbuf[512];
	size_t			 i;

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
	memset(&srv, 0, sizeof(srv));
	TAILQ_INIT(&srv.listens);
	errbuf[0] = '\0';
	if (auth_htpasswd(&srv, "fuzz", path, errbuf, sizeof(errbuf)) == 0) {
		if ((a = srv.auth) == NULL || a->type != AUTH_HTPASSWD)
			abort();
		for (i = 0; i < a->nusers; i++) {
			if (a->users[i].name == NULL ||
			    a->users[i].name[0] == '\0' ||
			    strchr(a->users[i].name, ':') != NULL ||
			    a->users[i].hash == NULL ||
			    strlen(a->users[i].hash) != 60)
				abort();
			if (i > 0 && strcmp(a->users[i - 1].name,
			    a->users[i].name) >= 0)
				abort();
		}
	} else if (errbuf[0] == '\0')
		abort();	/* a refusal always says why */
	auth_server_free(&srv);
	return (0);
}
