/*
 * Unit test of regd/parse.y.
 *
 * usage: test_parse [dir]	(default regress/conf)
 *
 * Every good-*.conf in dir must parse with nothing on stderr, and its
 * config_dump must parse back to the same dump. Every bad-*.conf must
 * fail; it starts with one or more "# expect: TEXT" lines and each TEXT
 * must appear in what parse_config printed, every line of which must
 * look like "file:line: message". A few files get their values checked.
 * One line per case; exit status 1 if any case failed.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"

#define OUTMAX	65536

static int	 nfail, npass;

static void	 ok(int, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static struct regd_conf *capture_parse(const char *, char *, size_t);
static int	 capture_dump(struct regd_conf *, const char *, char *,
		    size_t);
static int	 lines_well_formed(const char *, const char *);
static int	 list_files(const char *, char ***);
static void	 free_list(char **, int);
static void	 test_good(const char *);
static void	 test_bad(const char *);
static void	 test_default(void);
static void	 test_missing(void);
static void	 check_values(const char *, struct regd_conf *);
static struct server_conf *server_named(struct regd_conf *, const char *);
static int	 listen_names(struct server_conf *, char *, size_t);

static void
ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	if (cond)
		npass++;
	else
		nfail++;
	printf("%s ", cond ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Run parse_config with fd 2 sent to a temporary file, and read it back. */
static struct regd_conf *
capture_parse(const char *path, char *out, size_t outlen)
{
	struct regd_conf	*c;
	FILE			*tmp;
	size_t			 n;
	int			 saved;

	out[0] = '\0';
	fflush(stderr);
	if ((tmp = tmpfile()) == NULL || (saved = dup(STDERR_FILENO)) == -1) {
		perror("capture");
		exit(2);
	}
	if (dup2(fileno(tmp), STDERR_FILENO) == -1) {
		perror("dup2");
		exit(2);
	}
	c = parse_config(path, 0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, outlen - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return (c);
}

/* config_dump into file path (also read back into out). */
static int
capture_dump(struct regd_conf *c, const char *path, char *out, size_t outlen)
{
	FILE	*f;
	size_t	 n;
	int	 saved;

	out[0] = '\0';
	fflush(stdout);
	if ((f = fopen(path, "w+")) == NULL || (saved = dup(STDOUT_FILENO))
	    == -1) {
		perror(path);
		exit(2);
	}
	dup2(fileno(f), STDOUT_FILENO);
	config_dump(c);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	return (n > 0 ? 0 : -1);
}

/* Every line must be "name:NUMBER: text" for this file name. */
static int
lines_well_formed(const char *text, const char *name)
{
	const char	*p, *q, *eol;
	size_t		 nlen = strlen(name);

	for (p = text; *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			return (0);
		if (strncmp(p, name, nlen) != 0 || p[nlen] != ':')
			return (0);
		q = p + nlen + 1;
		if (*q < '1' || *q > '9')
			return (0);
		while (*q >= '0' && *q <= '9')
			q++;
		if (q[0] != ':' || q[1] != ' ' || q + 2 >= eol)
			return (0);
	}
	return (1);
}

static int
cmp_names(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

static int
list_files(const char *pattern, char ***out)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL, **nv;
	int		 n = 0;

	if ((d = opendir(".")) == NULL) {
		perror("opendir");
		exit(2);
	}
	while ((de = readdir(d)) != NULL) {
		if (fnmatch(pattern, de->d_name, 0) != 0)
			continue;
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL ||
		    (nv[n] = strdup(de->d_name)) == NULL) {
			perror("list_files");
			exit(2);
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return (n);
}

static void
free_list(char **v, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static struct server_conf *
server_named(struct regd_conf *c, const char *name)
{
	struct server_conf	*s;

	TAILQ_FOREACH(s, &c->servers, entry)
		if (strcmp(s->name, name) == 0)
			return (s);
	return (NULL);
}

/* "a b c": the listen names of a server, "+tls" after the TLS ones. */
static int
listen_names(struct server_conf *s, char *buf, size_t len)
{
	struct listen_addr	*la;
	int			 n = 0;

	buf[0] = '\0';
	if (s == NULL)
		return (0);
	TAILQ_FOREACH(la, &s->listens, entry) {
		if (n++ > 0)
			strlcat(buf, " ", len);
		strlcat(buf, la->name, len);
		if (la->tls)
			strlcat(buf, "+tls", len);
		if (la->fd != -1 || la->srv != s)
			strlcat(buf, "(bad fd/srv)", len);
	}
	return (n);
}

static void
check_values(const char *name, struct regd_conf *c)
{
	struct server_conf	*s;
	char			 buf[1024];
	int			 n;

	if (strcmp(name, "good-full.conf") == 0) {
		ok(strcmp(c->user, "regduser") == 0, "%s: user %s", name,
		    c->user);
		ok(strcmp(c->chroot, "/var/empty/regd") == 0, "%s: chroot %s",
		    name, c->chroot);
		ok(c->prefork == 3, "%s: prefork %d", name, c->prefork);
		ok(strcmp(c->storage, "/srv/registry") == 0, "%s: storage %s",
		    name, c->storage);
		ok(strcmp(c->socket, "/run/regd.sock") == 0, "%s: socket %s",
		    name, c->socket);
		ok(strcmp(c->access_log, "/var/log/regd/access.log") == 0 &&
		    c->access_syslog == 0 && c->access_off == 0,
		    "%s: log access \"%s\" syslog %d off %d", name,
		    c->access_log, c->access_syslog, c->access_off);
		ok(c->verbose == 1, "%s: verbose %d", name, c->verbose);

		s = server_named(c, "registry.example.com");
		ok(s != NULL, "%s: server registry.example.com", name);
		n = listen_names(s, buf, sizeof(buf));
		ok(n == 4 && strcmp(buf, "127.0.0.1:5000 [::1]:5443+tls "
		    "0.0.0.0:5001 [::]:5444+tls") == 0,
		    "%s: listens \"%s\"", name, buf);
		if (s != NULL) {
			ok(strcmp(s->tls_cert, "test.crt") == 0 &&
			    strcmp(s->tls_key, "test.key") == 0,
			    "%s: tls %s %s", name, s->tls_cert, s->tls_key);
			ok(s->delete_enabled == 1, "%s: delete %d", name,
			    s->delete_enabled);
			ok(s->max_manifest == 8 * 1024 * 1024,
			    "%s: max manifest size %zu", name,
			    s->max_manifest);
			ok(s->max_reqline == 4096, "%s: max request line %zu",
			    name, s->max_reqline);
			ok(s->max_headers == 32768, "%s: max header size %zu",
			    name, s->max_headers);
			ok(s->max_nheaders == 50, "%s: max headers %d", name,
			    s->max_nheaders);
			ok(s->header_timeout == 10 && s->idle_timeout == 20 &&
			    s->body_timeout == 120 && s->max_conns == 500,
			    "%s: timeouts %d %d %d conns %d", name,
			    s->header_timeout, s->idle_timeout,
			    s->body_timeout, s->max_conns);
		}

		s = server_named(c, "second");
		ok(s != NULL, "%s: server second", name);
		n = listen_names(s, buf, sizeof(buf));
		ok(n == 1 && strcmp(buf, "127.0.0.1:5002") == 0,
		    "%s: second listens \"%s\"", name, buf);
		if (s != NULL) {
			ok(s->delete_enabled == 0 &&
			    s->max_manifest == DEF_MAX_MANIFEST &&
			    s->max_reqline == DEF_MAX_REQLINE &&
			    s->max_headers == DEF_MAX_HEADERS &&
			    s->max_nheaders == DEF_MAX_NHEADERS &&
			    s->header_timeout == DEF_HEADER_TIMEOUT &&
			    s->idle_timeout == DEF_IDLE_TIMEOUT &&
			    s->body_timeout == DEF_BODY_TIMEOUT &&
			    s->max_conns == DEF_MAX_CONNS &&
			    s->tls_cert[0] == '\0',
			    "%s: second has the default limits", name);
		}
	} else if (strcmp(name, "good-empty.conf") == 0) {
		ok(strcmp(c->user, REGD_USER) == 0 &&
		    strcmp(c->storage, REGD_STORAGE) == 0 &&
		    strcmp(c->socket, REGD_SOCKET) == 0 &&
		    strcmp(c->chroot, REGD_CHROOT) == 0,
		    "%s: default user, storage, socket, chroot", name);
		ok(c->access_syslog == 1 && c->access_off == 0 &&
		    c->access_log[0] == '\0' && c->verbose == 0,
		    "%s: access log to syslog, not verbose", name);
		ok(c->prefork >= 1 && c->prefork <= REGD_MAXPREFORK &&
		    c->prefork == (sysconf(_SC_NPROCESSORS_ONLN) >
		    REGD_MAXPREFORK ? REGD_MAXPREFORK :
		    sysconf(_SC_NPROCESSORS_ONLN)),
		    "%s: prefork %d is the number of CPUs", name, c->prefork);
		s = TAILQ_FIRST(&c->servers);
		n = listen_names(s, buf, sizeof(buf));
		ok(s != NULL && strcmp(s->name, "default") == 0 &&
		    TAILQ_NEXT(s, entry) == NULL,
		    "%s: one server named default", name);
		ok(n == 1 && strcmp(buf, "127.0.0.1:5000") == 0,
		    "%s: default listen \"%s\"", name, buf);
		ok(s != NULL && s->delete_enabled == 0 &&
		    s->max_manifest == DEF_MAX_MANIFEST &&
		    s->max_conns == DEF_MAX_CONNS,
		    "%s: default server limits", name);
	} else if (strcmp(name, "good-macros.conf") == 0) {
		ok(c->prefork == 2, "%s: prefork from a macro %d", name,
		    c->prefork);
		ok(strcmp(c->storage, "/tmp/regd-macro") == 0,
		    "%s: storage from a macro %s", name, c->storage);
		s = TAILQ_FIRST(&c->servers);
		n = listen_names(s, buf, sizeof(buf));
		ok(n == 2 && strcmp(buf, "127.0.0.1:7000 [::1]:7000") == 0,
		    "%s: listens \"%s\"", name, buf);
	} else if (strcmp(name, "good-oneline.conf") == 0) {
		s = server_named(c, "one");
		n = listen_names(s, buf, sizeof(buf));
		ok(n == 1 && strcmp(buf, "127.0.0.1:6000") == 0,
		    "%s: one-line server listens \"%s\"", name, buf);
		s = server_named(c, "two");
		ok(s != NULL && s->header_timeout == 5 &&
		    s->idle_timeout == 6 && s->body_timeout == 7 &&
		    s->max_conns == 8, "%s: connection block with commas",
		    name);
		s = server_named(c, "three");
		ok(s != NULL && s->idle_timeout == 9 &&
		    s->header_timeout == DEF_HEADER_TIMEOUT,
		    "%s: connection without braces", name);
	} else if (strcmp(name, "good-log.conf") == 0) {
		ok(c->access_off == 1 && c->access_syslog == 0 &&
		    c->access_log[0] == '\0', "%s: last log access wins (off)",
		    name);
		s = TAILQ_FIRST(&c->servers);
		ok(s != NULL && s->max_manifest == 67108864 &&
		    s->max_reqline == 1048576 && s->max_headers == 256,
		    "%s: size limits at the edges %zu %zu %zu", name,
		    s == NULL ? 0 : s->max_manifest,
		    s == NULL ? 0 : s->max_reqline,
		    s == NULL ? 0 : s->max_headers);
	} else if (strcmp(name, "good-localhost.conf") == 0) {
		s = TAILQ_FIRST(&c->servers);
		n = listen_names(s, buf, sizeof(buf));
		ok(n >= 1 && strstr(buf, "127.0.0.1:5100") != NULL,
		    "%s: localhost resolves to \"%s\"", name, buf);
	}
}

static void
test_good(const char *name)
{
	struct regd_conf	*c, *c2;
	char			*err, *dump1, *dump2;
	char			 tmpl[] = "/tmp/test_parse.XXXXXX";
	int			 fd;

	if ((err = malloc(OUTMAX)) == NULL || (dump1 = malloc(OUTMAX)) ==
	    NULL || (dump2 = malloc(OUTMAX)) == NULL) {
		perror("malloc");
		exit(2);
	}
	c = capture_parse(name, err, OUTMAX);
	ok(c != NULL && err[0] == '\0', "%s parses%s%s", name,
	    err[0] != '\0' ? ": " : "", err);
	if (c == NULL)
		goto out;
	check_values(name, c);

	/* The dump must read back as the same configuration. */
	if ((fd = mkstemp(tmpl)) == -1) {
		perror("mkstemp");
		exit(2);
	}
	close(fd);
	capture_dump(c, tmpl, dump1, OUTMAX);
	c2 = capture_parse(tmpl, err, OUTMAX);
	if (c2 != NULL)
		capture_dump(c2, tmpl, dump2, OUTMAX);
	else
		dump2[0] = '\0';
	ok(c2 != NULL && dump1[0] != '\0' && strcmp(dump1, dump2) == 0,
	    "%s: config_dump parses back the same%s%s", name,
	    err[0] != '\0' ? ": " : "", err);
	unlink(tmpl);
	config_free(c2);
	config_free(c);
out:
	free(err);
	free(dump1);
	free(dump2);
}

static void
test_bad(const char *name)
{
	struct regd_conf	*c;
	FILE			*f;
	char			*err, line[512], *nl;
	char			*expect[16];
	int			 nexpect = 0, i, failed;

	failed = nfail;
	if ((f = fopen(name, "r")) == NULL) {
		ok(0, "%s: %s", name, strerror(errno));
		return;
	}
	while (nexpect < 16 && fgets(line, sizeof(line), f) != NULL &&
	    strncmp(line, "# expect: ", 10) == 0) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if ((expect[nexpect++] = strdup(line + 10)) == NULL) {
			perror("strdup");
			exit(2);
		}
	}
	fclose(f);
	if (nexpect == 0) {
		ok(0, "%s has no \"# expect: \" first line", name);
		return;
	}
	if ((err = malloc(OUTMAX)) == NULL) {
		perror("malloc");
		exit(2);
	}
	c = capture_parse(name, err, OUTMAX);
	ok(c == NULL, "%s is refused", name);
	config_free(c);
	for (i = 0; i < nexpect; i++) {
		ok(strstr(err, expect[i]) != NULL, "%s: says \"%s\"", name,
		    expect[i]);
		free(expect[i]);
	}
	ok(err[0] != '\0' && lines_well_formed(err, name),
	    "%s: every line is file:line: message", name);
	if (nfail > failed)
		printf("---- stderr of %s\n%s----\n", name, err);
	free(err);
}

static void
test_default(void)
{
	struct regd_conf	*c;
	struct server_conf	*s;
	struct listen_addr	*la;

	c = config_default();
	ok(c != NULL, "config_default returns a configuration");
	if (c == NULL)
		return;
	ok(strcmp(c->user, REGD_USER) == 0 &&
	    strcmp(c->chroot, REGD_CHROOT) == 0 &&
	    strcmp(c->storage, REGD_STORAGE) == 0 &&
	    strcmp(c->socket, REGD_SOCKET) == 0,
	    "config_default: user %s chroot %s storage %s socket %s",
	    c->user, c->chroot, c->storage, c->socket);
	ok(c->prefork >= 1 && c->prefork <= REGD_MAXPREFORK,
	    "config_default: prefork %d", c->prefork);
	ok(c->access_syslog == 1 && c->access_off == 0,
	    "config_default: access log to syslog");
	s = TAILQ_FIRST(&c->servers);
	la = s == NULL ? NULL : TAILQ_FIRST(&s->listens);
	ok(s != NULL && strcmp(s->name, "default") == 0 &&
	    TAILQ_NEXT(s, entry) == NULL && la != NULL &&
	    TAILQ_NEXT(la, entry) == NULL &&
	    strcmp(la->name, "127.0.0.1:5000") == 0 && la->port == 5000 &&
	    la->tls == 0 && la->fd == -1 && la->srv == s &&
	    la->ss.ss_family == AF_INET,
	    "config_default: one server \"default\" on 127.0.0.1:5000");
	ok(s != NULL && s->delete_enabled == 0 &&
	    s->max_manifest == DEF_MAX_MANIFEST &&
	    s->max_reqline == DEF_MAX_REQLINE &&
	    s->max_headers == DEF_MAX_HEADERS &&
	    s->max_nheaders == DEF_MAX_NHEADERS &&
	    s->header_timeout == DEF_HEADER_TIMEOUT &&
	    s->idle_timeout == DEF_IDLE_TIMEOUT &&
	    s->body_timeout == DEF_BODY_TIMEOUT &&
	    s->max_conns == DEF_MAX_CONNS,
	    "config_default: deletes off, DEF_* limits");
	config_free(c);
}

static void
test_missing(void)
{
	struct regd_conf	*c;
	char			 err[1024];

	errno = 0;
	c = capture_parse("no-such-file.conf", err, sizeof(err));
	ok(c == NULL && errno == ENOENT &&
	    strstr(err, "no-such-file.conf: ") != NULL,
	    "a missing file fails with ENOENT: %.*s", (int)strcspn(err, "\n"),
	    err);
	config_free(c);
}

int
main(int argc, char *argv[])
{
	const char	*dir = "regress/conf";
	char		**good, **bad;
	int		 ngood, nbad, i;

	if (argc > 2) {
		fprintf(stderr, "usage: test_parse [dir]\n");
		return (2);
	}
	if (argc == 2)
		dir = argv[1];
	if (chdir(dir) == -1) {
		perror(dir);
		return (2);
	}

	ngood = list_files("good-*.conf", &good);
	nbad = list_files("bad-*.conf", &bad);
	ok(ngood > 0 && nbad > 0, "found %d good and %d bad files in %s",
	    ngood, nbad, dir);
	for (i = 0; i < ngood; i++)
		test_good(good[i]);
	for (i = 0; i < nbad; i++)
		test_bad(bad[i]);
	free_list(good, ngood);
	free_list(bad, nbad);

	test_default();
	test_missing();

	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail == 0 ? 0 : 1);
}
