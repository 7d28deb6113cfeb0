/*
 * The notification endpoints of regd.conf: checks of each setting as
 * the parser meets it (errors go back to it, to print as "file:line:"),
 * the checks of the whole at the end, the dump of "regd -nv" and the
 * queue directory the parent makes for the events process.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "regd.h"

static int
valid_epname(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '.')
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return (0);
	return (1);
}

static struct notify_conf *
notify_conf_get(struct regd_conf *c)
{
	if (c->notify == NULL) {
		if ((c->notify = calloc(1, sizeof(*c->notify))) == NULL)
			return (NULL);
		strlcpy(c->notify->queue, NOTIFY_QUEUE,
		    sizeof(c->notify->queue));
	}
	return (c->notify);
}

/* A new endpoint "name" with the defaults; NULL and errbuf if not. */
struct notify_endpoint *
notify_conf_add(struct regd_conf *c, const char *name, int line,
    char *errbuf, size_t errlen)
{
	struct notify_conf	*nc;
	struct notify_endpoint	*ep;
	int			 i;

	if ((nc = notify_conf_get(c)) == NULL) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return (NULL);
	}
	if (strlen(name) >= sizeof(ep->name) || !valid_epname(name)) {
		snprintf(errbuf, errlen, "bad notify endpoint name \"%s\": "
		    "letters, digits, '-', '_' and '.', at most %zu",
		    name, sizeof(ep->name) - 1);
		return (NULL);
	}
	for (i = 0; i < nc->nep; i++)
		if (strcmp(nc->ep[i].name, name) == 0) {
			snprintf(errbuf, errlen, "notify endpoint \"%s\" "
			    "defined twice (line %d)", name, nc->ep[i].line);
			return (NULL);
		}
	if (nc->nep == NOTIFY_MAXEP) {
		snprintf(errbuf, errlen, "too many notify endpoints (at most "
		    "%d)", NOTIFY_MAXEP);
		return (NULL);
	}
	ep = &nc->ep[nc->nep++];
	memset(ep, 0, sizeof(*ep));
	strlcpy(ep->name, name, sizeof(ep->name));
	ep->timeout = NOTIFY_DEF_TIMEOUT;
	ep->backoff = NOTIFY_DEF_BACKOFF;
	ep->backoff_max = NOTIFY_DEF_BACKOFF_MAX;
	ep->actions = NACT_ALL;
	ep->queue_max = NOTIFY_DEF_QUEUE;
	ep->line = line;
	return (ep);
}

/*
 * "http[s]://host[:port]/path" into host (brackets of an IPv6 address
 * removed), port and whether it is https.  -1 if it is none of that.
 */
int
notify_url_split(const char *url, char *host, size_t hlen, int *port,
    int *https)
{
	const char	*p, *end, *colon = NULL, *errstr;
	char		 num[8];
	size_t		 n;

	if (strncmp(url, "http://", 7) == 0) {
		*https = 0;
		p = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*https = 1;
		p = url + 8;
	} else
		return (-1);
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', end - p) != NULL)
		return (-1);	/* no credentials in the URL: use header */
	if (*p == '[') {
		const char	*rb = memchr(p, ']', end - p);

		if (rb == NULL || (rb + 1 != end && rb[1] != ':'))
			return (-1);
		n = rb - p - 1;
		if (n == 0 || n >= hlen)
			return (-1);
		memcpy(host, p + 1, n);
		if (rb + 1 != end)
			colon = rb + 1;
	} else {
		colon = memchr(p, ':', end - p);
		n = (colon != NULL ? colon : end) - p;
		if (n == 0 || n >= hlen)
			return (-1);
		memcpy(host, p, n);
	}
	host[n] = '\0';
	*port = *https ? 443 : 80;
	if (colon != NULL) {
		n = end - colon - 1;
		if (n == 0 || n >= sizeof(num))
			return (-1);
		memcpy(num, colon + 1, n);
		num[n] = '\0';
		*port = strtonum(num, 1, 65535, &errstr);
		if (errstr != NULL)
			return (-1);
	}
	for (p = host; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != ':' && *p != '_')
			return (-1);
	return (0);
}

int
notify_conf_url(struct notify_endpoint *ep, const char *url, char *errbuf,
    size_t errlen)
{
	char		 host[256];
	const char	*p;
	int		 port, https;

	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(errbuf, errlen, "notify url: no spaces or "
			    "control characters");
			return (-1);
		}
	if (strlen(url) >= sizeof(ep->url) ||
	    notify_url_split(url, host, sizeof(host), &port, &https) == -1) {
		snprintf(errbuf, errlen, "bad notify url \"%s\": "
		    "http://host[:port]/path or https://...", url);
		return (-1);
	}
	strlcpy(ep->url, url, sizeof(ep->url));
	return (0);
}

int
notify_conf_header(struct notify_endpoint *ep, const char *name,
    const char *value, char *errbuf, size_t errlen)
{
	const char	*p;

	if (name[0] == '\0') {
		snprintf(errbuf, errlen, "notify header: empty name");
		return (-1);
	}
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~",
		    *p) == NULL) {
			snprintf(errbuf, errlen, "notify header \"%s\": bad "
			    "character in the name", name);
			return (-1);
		}
	for (p = value; *p != '\0'; p++)
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f) {
			snprintf(errbuf, errlen, "notify header \"%s\": "
			    "control character in the value", name);
			return (-1);
		}
	if (strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Host") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0) {
		snprintf(errbuf, errlen, "notify header \"%s\": set by regd",
		    name);
		return (-1);
	}
	if (ep->nheaders == NOTIFY_MAXHDRS) {
		snprintf(errbuf, errlen, "too many notify headers (at most "
		    "%d)", NOTIFY_MAXHDRS);
		return (-1);
	}
	if ((size_t)snprintf(ep->headers[ep->nheaders],
	    sizeof(ep->headers[0]), "%s: %s", name, value) >=
	    sizeof(ep->headers[0])) {
		snprintf(errbuf, errlen, "notify header \"%s\" too long (at "
		    "most %zu bytes)", name, sizeof(ep->headers[0]) - 3);
		return (-1);
	}
	ep->nheaders++;
	return (0);
}

int
notify_conf_repo(struct notify_endpoint *ep, const char *pat, char *errbuf,
    size_t errlen)
{
	if (pat[0] == '\0' || strlen(pat) > MAX_NAME) {
		snprintf(errbuf, errlen, "bad notify repository pattern "
		    "\"%s\"", pat);
		return (-1);
	}
	if (ep->nrepos == NOTIFY_MAXREPOS) {
		snprintf(errbuf, errlen, "too many repository patterns (at "
		    "most %d)", NOTIFY_MAXREPOS);
		return (-1);
	}
	strlcpy(ep->repos[ep->nrepos++], pat, sizeof(ep->repos[0]));
	return (0);
}

int
notify_conf_queue(struct regd_conf *c, const char *path, int line,
    char *errbuf, size_t errlen)
{
	struct notify_conf	*nc;

	if ((nc = notify_conf_get(c)) == NULL) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		return (-1);
	}
	if (path[0] != '/' || strlen(path) >= sizeof(nc->queue)) {
		snprintf(errbuf, errlen, "notify queue \"%s\": not an "
		    "absolute path", path);
		return (-1);
	}
	strlcpy(nc->queue, path, sizeof(nc->queue));
	nc->queue_line = line;
	return (0);
}

/* Is a inside b or b itself (as paths, before links)? */
static int
path_within(const char *a, const char *b)
{
	size_t	 n = strlen(b);

	while (n > 1 && b[n - 1] == '/')
		n--;
	return (strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/' ||
	    (n == 1 && b[0] == '/')));
}

/* The whole: every endpoint has a URL; the queue is not the blobs'. */
int
notify_conf_check(struct regd_conf *c, const char *file)
{
	struct notify_conf	*nc = c->notify;
	int			 i, errors = 0;

	if (nc == NULL)
		return (0);
	for (i = 0; i < nc->nep; i++)
		if (nc->ep[i].url[0] == '\0') {
			fprintf(stderr, "%s:%d: notify endpoint \"%s\" has "
			    "no url\n", file, nc->ep[i].line,
			    nc->ep[i].name);
			errors++;
		}
	if (path_within(nc->queue, c->storage) ||
	    path_within(c->storage, nc->queue)) {
		fprintf(stderr, "%s:%d: notify queue %s: must be outside the "
		    "storage directory %s\n", file, nc->queue_line != 0 ?
		    nc->queue_line : nc->nep > 0 ? nc->ep[0].line : 1,
		    nc->queue, c->storage);
		errors++;
	}
	return (errors);
}

void
notify_conf_dump(struct regd_conf *c)
{
	struct notify_conf	*nc = c->notify;
	struct notify_endpoint	*ep;
	static const char	*const acts[] = { "push", "pull", "delete",
				    "mount" };
	int			 i, j, first;

	if (nc == NULL || nc->nep == 0)
		return;
	printf("notify queue \"%s\"\n", nc->queue);
	for (i = 0; i < nc->nep; i++) {
		ep = &nc->ep[i];
		printf("notify \"%s\" {\n\turl \"%s\"\n", ep->name, ep->url);
		for (j = 0; j < ep->nheaders; j++)
			printf("\theader \"%.*s\" \"%s\"\n",
			    (int)strcspn(ep->headers[j], ":"), ep->headers[j],
			    strncasecmp(ep->headers[j], "Authorization:",
			    14) == 0 ? "(secret)" : ep->headers[j] +
			    strcspn(ep->headers[j], ":") + 2);
		printf("\ttimeout %d\n\tbackoff %d max %d\n\tevents ",
		    ep->timeout, ep->backoff, ep->backoff_max);
		for (j = 0, first = 1; j < 4; j++)
			if (ep->actions & (1 << j)) {
				printf("%s%s", first ? "" : ", ", acts[j]);
				first = 0;
			}
		printf("\n");
		for (j = 0; j < ep->nrepos; j++)
			printf("\trepository \"%s\"\n", ep->repos[j]);
		printf("\tqueue size %lld\n}\n", (long long)ep->queue_max);
	}
}

/*
 * The parent makes the queue directory, mode 0700, and gives a new one
 * to the user the events process runs as; one that exists is left as
 * it is, and the events process says so if it cannot write there.
 */
int
notify_queue_prepare(struct regd_conf *c, int unpriv)
{
	struct passwd	*pw;
	struct stat	 st;
	int		 fd;

	if (c->notify == NULL || c->notify->nep == 0)
		return (0);
	if (mkdir(c->notify->queue, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", c->notify->queue);
		return (-1);
	}
	if ((fd = open(c->notify->queue, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		log_warn("notify queue %s", c->notify->queue);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (!unpriv && st.st_uid == 0 &&
	    (pw = getpwnam(c->user)) != NULL &&
	    fchown(fd, pw->pw_uid, pw->pw_gid) == -1) {
		log_warn("chown %s", c->notify->queue);
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * A reload keeps the running endpoints: the events process and its
 * queue outlive frontend generations, and a new one would leave a gap
 * in which events had nowhere to go.  A change needs a restart.
 */
void
notify_conf_keep(struct regd_conf *conf, struct regd_conf *old)
{
	int	 same, i;

	/* Where they are written does not count, only what. */
	if (conf->notify != NULL && old->notify != NULL) {
		conf->notify->queue_line = old->notify->queue_line;
		for (i = 0; i < NOTIFY_MAXEP; i++)
			conf->notify->ep[i].line = old->notify->ep[i].line;
	}
	if (conf->notify == NULL || old->notify == NULL)
		same = conf->notify == old->notify || (conf->notify != NULL ?
		    conf->notify->nep : old->notify->nep) == 0;
	else
		same = memcmp(conf->notify, old->notify,
		    sizeof(*conf->notify)) == 0;
	if (!same)
		log_warnx("notify changes need a restart; keeping the "
		    "running endpoints");
	if (conf->notify != NULL) {
		explicit_bzero(conf->notify, sizeof(*conf->notify));
		free(conf->notify);
	}
	conf->notify = old->notify;
	old->notify = NULL;
}
