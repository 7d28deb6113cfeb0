/*
 * s3test: run one operation of regd's S3 client (regd/s3.c) against a
 * real endpoint, for regress/t/s3-client-*.sh.
 *
 * s3test [-V] [-b bucket] [-c connect-ms] [-l low-speed-s] [-r retries]
 *     command args...
 *
 * The endpoint, keys and region come from $S3_ENDPOINT, $S3_ACCESS_KEY,
 * $S3_SECRET_KEY and $S3_REGION; the bucket from -b or $S3_BUCKET.  -V
 * uses virtual-host addressing.  On failure it prints
 * "error status=N code=C transient=T errnum=E message=M" on stderr and
 * exits 1.  The commands:
 *
 *   head KEY				size, ETag, mtime
 *   get KEY MAX			the object on stdout
 *   range KEY OFF LEN			LEN (-1: all) bytes at OFF to stdout,
 *					made non-blocking when a pipe
 *   put KEY FILE			from memory
 *   putfd KEY FILE OFF LEN		from a region of FILE ("-": stdin)
 *   putnew KEY FILE			if absent (exit 3 when it exists)
 *   rm KEY | rmmany KEY...		delete
 *   ls [prefix=P] [delim=D] [start=S] [max=N]	every page, one line a key
 *   cp SRC DST				copy
 *   mp-create KEY			prints the upload id
 *   mp-part KEY ID N FILE OFF LEN	prints "N ETag"
 *   mp-copy KEY ID N SRC OFF LEN	part from SRC (LEN -1: all of it)
 *   mp-complete KEY ID N:ETAG...
 *   mp-abort KEY ID
 *   mp-parts KEY ID | mp-uploads PREFIX
 *   mp-put KEY FILE PARTSIZE		a whole multipart upload from FILE
 *   presign KEY SECONDS		prints a URL
 * Timing and connection counts go to stderr as "# ..." lines.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s3.h"

static struct s3_conn	*conn;
static struct s3_err	 serr;
static struct timespec	 t0;

static void
usage(void)
{
	fprintf(stderr, "usage: s3test [-V] [-b bucket] [-c connect-ms] "
	    "[-l low-speed-s] [-r retries] command args...\n");
	exit(2);
}

static double
elapsed(void)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9);
}

static void
fail(const char *what)
{
	fprintf(stderr, "%s: error status=%d code=%s transient=%d errnum=%d "
	    "message=%s\n# elapsed %.3f s\n", what, serr.http_status,
	    serr.code, serr.transient, serr.errnum, serr.message, elapsed());
	exit(serr.errnum == EEXIST ? 3 : 1);
}

static off_t
num(const char *s)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, -1, LLONG_MAX / 2, &errstr);
	if (errstr != NULL)
		errx(2, "%s: %s", s, errstr);
	return (v);
}

static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		err(2, "%s", path);
	if ((buf = malloc(st.st_size + 1)) == NULL)
		err(2, NULL);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	*len = got;
	return (buf);
}

static int
print_obj(void *arg, const struct s3_obj *o)
{
	if (o->is_prefix)
		printf("prefix\t%s\n", o->key);
	else
		printf("key\t%s\t%lld\t%s\t%lld\n", o->key,
		    (long long)o->size, o->etag, (long long)o->mtime);
	return (0);
}

static int
print_part(void *arg, const struct s3_part *p)
{
	printf("%d %s %lld\n", p->number, p->etag, (long long)p->size);
	return (0);
}

static int
print_upload(void *arg, const struct s3_upload *u)
{
	printf("%s\t%s\n", u->key, u->upload_id);
	return (0);
}

static int
cmd_ls(int argc, char *argv[])
{
	struct s3_list	 l;
	int		 i, pages = 0;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "prefix=", 7) == 0)
			l.prefix = argv[i] + 7;
		else if (strncmp(argv[i], "delim=", 6) == 0)
			l.delimiter = argv[i] + 6;
		else if (strncmp(argv[i], "start=", 6) == 0)
			l.start_after = argv[i] + 6;
		else if (strncmp(argv[i], "max=", 4) == 0)
			l.max_keys = num(argv[i] + 4);
		else
			usage();
	}
	do {
		if (s3_list_page(conn, &l, print_obj, NULL, &serr) == -1)
			fail("ls");
		pages++;
	} while (l.truncated);
	fprintf(stderr, "# pages %d connects %ld\n", pages,
	    s3_conn_connects(conn));
	return (0);
}

static int
open_src(const char *path)
{
	int	 fd;

	if (strcmp(path, "-") == 0)
		return (0);
	if ((fd = open(path, O_RDONLY)) == -1)
		err(2, "%s", path);
	return (fd);
}

/* A whole multipart upload of FILE in parts of psz from one descriptor. */
static int
cmd_mp_put(const char *key, const char *path, off_t psz)
{
	struct s3_part	*parts;
	struct stat	 st;
	char		 id[S3_UPLOAD_ID_MAX + 1];
	off_t		 off;
	size_t		 n = 0;
	int		 fd;

	fd = open_src(path);
	if (fstat(fd, &st) == -1 || psz <= 0)
		err(2, "%s", path);
	if ((parts = calloc(st.st_size / psz + 1, sizeof(*parts))) == NULL)
		err(2, NULL);
	if (s3_mp_create(conn, key, id, sizeof(id), &serr) == -1)
		fail("mp-create");
	for (off = 0; off < st.st_size || n == 0; off += psz, n++) {
		if (s3_mp_put_part_fd(conn, key, id, n + 1, fd, off,
		    st.st_size - off < psz ? st.st_size - off : psz,
		    &parts[n], &serr) == -1)
			fail("mp-part");
	}
	if (s3_mp_complete(conn, key, id, parts, n, &serr) == -1)
		fail("mp-complete");
	fprintf(stderr, "# %zu parts, %lld bytes in %.3f s: %.1f MB/s, "
	    "connects %ld\n", n, (long long)st.st_size, elapsed(),
	    st.st_size / elapsed() / 1e6, s3_conn_connects(conn));
	free(parts);
	return (0);
}

static int
cmd_mp_complete(const char *key, const char *id, int argc, char *argv[])
{
	struct s3_part	*parts;
	char		*colon;
	int		 i;

	if ((parts = calloc(argc, sizeof(*parts))) == NULL)
		err(2, NULL);
	for (i = 0; i < argc; i++) {
		if ((colon = strchr(argv[i], ':')) == NULL)
			usage();
		*colon++ = '\0';
		parts[i].number = num(argv[i]);
		strlcpy(parts[i].etag, colon, sizeof(parts[i].etag));
	}
	if (s3_mp_complete(conn, key, id, parts, argc, &serr) == -1)
		fail("mp-complete");
	free(parts);
	return (0);
}

static int
cmd_range(const char *key, off_t off, off_t len)
{
	struct stat	 st;
	off_t		 w;

	if (fstat(1, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
	if (s3_get_range_fd(conn, key, off, len, 1, &w, &serr) == -1)
		fail("range");
	fprintf(stderr, "# %lld bytes in %.3f s: %.1f MB/s\n", (long long)w,
	    elapsed(), w / elapsed() / 1e6);
	return (0);
}

static int
run(int argc, char *argv[])
{
	struct s3_obj	 o;
	struct s3_part	 p;
	char		 id[S3_UPLOAD_ID_MAX + 1], *buf, url[S3_URL_MAX];
	size_t		 len, max;
	const char	*cmd = argv[0];
	int		 fd;

#define NEED(n) do { if (argc != (n) + 1) usage(); } while (0)
	if (strcmp(cmd, "head") == 0) {
		NEED(1);
		if (s3_head(conn, argv[1], &o, &serr) == -1)
			fail(cmd);
		printf("size %lld etag %s mtime %lld\n", (long long)o.size,
		    o.etag, (long long)o.mtime);
	} else if (strcmp(cmd, "get") == 0) {
		NEED(2);
		max = num(argv[2]);
		if ((buf = malloc(max + 1)) == NULL)
			err(2, NULL);
		if (s3_get(conn, argv[1], buf, max, &len, &serr) == -1)
			fail(cmd);
		fwrite(buf, 1, len, stdout);
		free(buf);
	} else if (strcmp(cmd, "range") == 0) {
		NEED(3);
		return (cmd_range(argv[1], num(argv[2]), num(argv[3])));
	} else if (strcmp(cmd, "put") == 0 || strcmp(cmd, "putnew") == 0) {
		NEED(2);
		buf = slurp(argv[2], &len);
		if ((cmd[3] == 'n' ? s3_put_if_absent : s3_put)(conn, argv[1],
		    buf, len, &serr) == -1)
			fail(cmd);
		free(buf);
	} else if (strcmp(cmd, "putfd") == 0) {
		NEED(4);
		fd = open_src(argv[2]);
		if (s3_put_fd(conn, argv[1], fd, num(argv[3]), num(argv[4]),
		    &serr) == -1)
			fail(cmd);
		fprintf(stderr, "# %.3f s\n", elapsed());
	} else if (strcmp(cmd, "rm") == 0) {
		NEED(1);
		if (s3_delete(conn, argv[1], &serr) == -1)
			fail(cmd);
	} else if (strcmp(cmd, "rmmany") == 0) {
		if (s3_delete_many(conn, (const char *const *)argv + 1,
		    argc - 1, &serr) == -1)
			fail(cmd);
	} else if (strcmp(cmd, "ls") == 0) {
		return (cmd_ls(argc - 1, argv + 1));
	} else if (strcmp(cmd, "cp") == 0) {
		NEED(2);
		if (s3_copy(conn, argv[1], argv[2], &serr) == -1)
			fail(cmd);
	} else if (strcmp(cmd, "mp-create") == 0) {
		NEED(1);
		if (s3_mp_create(conn, argv[1], id, sizeof(id), &serr) == -1)
			fail(cmd);
		printf("%s\n", id);
	} else if (strcmp(cmd, "mp-part") == 0) {
		NEED(6);
		fd = open_src(argv[4]);
		if (s3_mp_put_part_fd(conn, argv[1], argv[2], num(argv[3]),
		    fd, num(argv[5]), num(argv[6]), &p, &serr) == -1)
			fail(cmd);
		printf("%d %s\n", p.number, p.etag);
	} else if (strcmp(cmd, "mp-copy") == 0) {
		NEED(6);
		if (s3_mp_copy_part(conn, argv[1], argv[2], num(argv[3]),
		    argv[4], num(argv[5]), num(argv[6]), &p, &serr) == -1)
			fail(cmd);
		printf("%d %s\n", p.number, p.etag);
	} else if (strcmp(cmd, "mp-complete") == 0) {
		if (argc < 4)
			usage();
		return (cmd_mp_complete(argv[1], argv[2], argc - 3,
		    argv + 3));
	} else if (strcmp(cmd, "mp-abort") == 0) {
		NEED(2);
		if (s3_mp_abort(conn, argv[1], argv[2], &serr) == -1)
			fail(cmd);
	} else if (strcmp(cmd, "mp-parts") == 0) {
		NEED(2);
		if (s3_mp_list_parts(conn, argv[1], argv[2], print_part, NULL,
		    &serr) == -1)
			fail(cmd);
	} else if (strcmp(cmd, "mp-uploads") == 0) {
		NEED(1);
		if (s3_mp_list_uploads(conn, argv[1], print_upload, NULL,
		    &serr) == -1)
			fail(cmd);
	} else if (strcmp(cmd, "mp-put") == 0) {
		NEED(3);
		return (cmd_mp_put(argv[1], argv[2], num(argv[3])));
	} else if (strcmp(cmd, "presign") == 0) {
		NEED(2);
		if (s3_presign_get(conn, argv[1], num(argv[2]), url,
		    sizeof(url), &serr) == -1)
			fail(cmd);
		printf("%s\n", url);
	} else
		usage();
#undef NEED
	return (0);
}

int
main(int argc, char *argv[])
{
	struct s3_config	 cfg;
	int			 ch, rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = getenv("S3_BUCKET");
	while ((ch = getopt(argc, argv, "+b:c:l:r:V")) != -1) {
		switch (ch) {
		case 'b':
			cfg.bucket = optarg;
			break;
		case 'c':
			cfg.connect_timeout_ms = num(optarg);
			break;
		case 'l':
			cfg.low_speed_time = num(optarg);
			break;
		case 'r':
			cfg.retries = num(optarg);
			break;
		case 'V':
			cfg.virtual_host = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cfg.endpoint = getenv("S3_ENDPOINT");
	cfg.access_key = getenv("S3_ACCESS_KEY");
	cfg.secret_key = getenv("S3_SECRET_KEY");
	cfg.region = getenv("S3_REGION");
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s3_init() == -1)
		errx(2, "s3_init");
	if ((conn = s3_conn_new(&cfg, &serr)) == NULL)
		fail("config");
	rc = run(argc, argv);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	s3_conn_free(conn);
	return (rc);
}
