/*
 * Unit test of the storage backends (regd/store_backend.h): one list of
 * cases run against the filesystem backend, in a fresh directory, and
 * against the memory one, and against the S3 one when S3_ENDPOINT,
 * S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET name a bucket (S3_ROOT its
 * root directory); then the registry above the memory backend
 * (a manifest PUT and GET, the change hooks).  One line per case; exit
 * status 1 if any failed.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"
#include "store.h"

#define REPO	"lib/app"
#define UUID	"0b2f6c1e-7d42-4a3b-9c55-1e2d3f4a5b6c"
#define UUID2	"1c3a7d2f-8e53-4b4c-8d66-2f3e4a5b6c7d"
#define NMANY	300

struct regd		*env;	/* what store_gc.c reads at gc_init */
static int		 nfail, npass;
static const char	*label;

static void
check(int ok, const char *fmt, ...)
{
	va_list	 ap;

	printf("%s %-4s ", ok ? "ok  " : "FAIL", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		npass++;
	else
		nfail++;
}

static void
digest_of(const char *s, char *d, size_t len)
{
	if (store_digest_buf("sha256", s, strlen(s), d, len) == -1)
		errx(2, "digest");
}

static int
count_each(void *arg, const char *name, const struct be_stat *bs)
{
	(*(int *)arg)++;
	return (0);
}

static int
stop_each(void *arg, const char *name, const struct be_stat *bs)
{
	(*(int *)arg)++;
	return (1);
}

static void
t_blobs(void)
{
	struct be_stat	 bs;
	struct be_body	 body;
	unsigned char	*buf = NULL;
	char		 d[MAX_DIGEST + 1], got[64];
	size_t		 len;
	ssize_t		 n;

	digest_of("hello blob", d, sizeof(d));
	check(be->blob_stat(d, &bs) == -1 && errno == ENOENT,
	    "blob_stat of a missing blob: ENOENT");
	check(be->blob_write(d, "hello blob", 10) == 1, "blob_write: new");
	check(be->blob_write(d, "hello blob", 10) == 0,
	    "blob_write again: it was there");
	check(be->blob_stat(d, &bs) == 0 && bs.size == 10, "blob_stat size");
	check(be->blob_read(d, 100, &buf, &len) == 0 && len == 10 &&
	    memcmp(buf, "hello blob", 10) == 0 && buf[10] == '\0',
	    "blob_read whole, NUL-terminated");
	free(buf);
	check(be->blob_read(d, 9, &buf, &len) == -1 && errno == EFBIG,
	    "blob_read over max: EFBIG");
	if (be->blob_open(d, BE_WANT_FD, &body) == 0) {
		n = read(body.fd, got, sizeof(got));
		check(n == 10 && body.size == 10 &&
		    memcmp(got, "hello blob", 10) == 0,
		    "blob_open: a descriptor at offset 0");
		close(body.fd);
	} else
		check(0, "blob_open: %s", strerror(errno));
	check(be->blob_open(d, BE_WANT_URL, &body) == -1 &&
	    errno == ENOTSUP, "blob_open for a redirect only: ENOTSUP");
	check(be->blob_remove(d) == 0 && be->blob_stat(d, &bs) == -1 &&
	    errno == ENOENT, "blob_remove");
}

static void
t_links_tags(void)
{
	struct be_stat	 bs;
	char		 d[MAX_DIGEST + 1], d2[MAX_DIGEST + 1];
	char		 cur[MAX_DIGEST + 1];
	int		 n = 0;

	digest_of("a layer", d, sizeof(d));
	digest_of("a manifest", d2, sizeof(d2));
	check(!be->repo_exists("lib/links", 1), "repo_exists before any link: no");
	check(be->link_get("lib/links", BE_LAYER, d, NULL) == -1 && errno == ENOENT,
	    "link_get of a missing link: ENOENT");
	check(be->link_put("lib/links", BE_LAYER, d) == 1, "link_put: new");
	check(be->link_put("lib/links", BE_LAYER, d) == 0, "link_put: was there");
	check(be->link_get("lib/links", BE_LAYER, d, &bs) == 0, "link_get");
	check(be->link_get("lib/links", BE_REVISION, d, NULL) == -1,
	    "a layer link is no revision link");
	check(be->repo_exists("lib/links", 0), "repo_exists after a link");
	check(be->link_put("lib/links", BE_REVISION, d2) == 1, "revision link_put");
	be->link_walk("lib/links", BE_REVISION, count_each, &n);
	check(n == 1, "link_walk of revisions: %d", n);
	check(be->tag_get("lib/links", "v1", cur, sizeof(cur), NULL) == -1 &&
	    errno == ENOENT, "tag_get of a missing tag: ENOENT");
	check(be->tag_set("lib/links", "v1", d2) == 0 && be->tag_get("lib/links", "v1",
	    cur, sizeof(cur), &bs) == 0 && strcmp(cur, d2) == 0 &&
	    bs.mtime > 0, "tag_set, tag_get");
	check(be->tag_set("lib/links", "v1", d) == 0 && be->tag_get("lib/links", "v1", cur,
	    sizeof(cur), NULL) == 0 && strcmp(cur, d) == 0, "tag moved");
	n = 0;
	be->tag_walk("lib/links", count_each, &n);
	check(n == 1, "tag_walk: %d tags", n);
	check(be->tag_del("lib/links", "v1") == 0 && be->tag_get("lib/links", "v1", cur,
	    sizeof(cur), NULL) == -1, "tag_del");
	check(be->link_del("lib/links", BE_LAYER, d) == 0 &&
	    be->link_get("lib/links", BE_LAYER, d, NULL) == -1, "link_del");
	check(be->link_del("lib/links", BE_LAYER, d) == 0,
	    "link_del of a missing link: 0");
	be->repo_remove("lib/links", NULL, NULL);
}

static void
t_uploads(void)
{
	struct be_upload	*bu;
	struct be_stat		 bs;
	unsigned char		*buf = NULL;
	char			 d[MAX_DIGEST + 1], st[16];
	size_t			 len;
	int			 n = 0;

	digest_of("part one, part two", d, sizeof(d));
	check(be->upload_open("lib/up", UUID, &bu, &bs) == -1 && errno == ENOENT,
	    "upload_open of a missing upload: ENOENT");
	check(be->upload_begin("lib/up", UUID) == 0 &&
	    be->upload_stat("lib/up", UUID, &bs) == 0 && bs.size == 0,
	    "upload_begin: an empty upload");
	check(be->repo_exists("lib/up", 1) && !be->repo_exists("lib/up", 0),
	    "a repository with an upload only");
	be->upload_walk("lib/up", count_each, &n);
	check(n == 1, "upload_walk: %d", n);
	if (be->upload_open("lib/up", UUID, &bu, &bs) == -1) {
		check(0, "upload_open: %s", strerror(errno));
		return;
	}
	check(be->upload_append(bu, "part one, ", 10) == 0 &&
	    be->upload_append(bu, "part XXX", 8) == 0 &&
	    be->upload_truncate(bu, 15) == 0 &&
	    be->upload_append(bu, "two", 3) == 0, "append, truncate, append");
	check(be->upload_read(bu, st, 4, 10) == 4 && memcmp(st, "part", 4) ==
	    0, "upload_read at an offset");
	be->upload_state_put("lib/up", UUID, "state!", 6);
	check(be->upload_state_get("lib/up", UUID, st, sizeof(st)) == 6 &&
	    memcmp(st, "state!", 6) == 0, "upload state kept");
	check(be->upload_commit(bu, d) == 1, "upload_commit: a new blob");
	be->upload_close(bu);
	check(be->upload_stat("lib/up", UUID, &bs) == -1 && errno == ENOENT,
	    "the session ended with the commit");
	check(be->blob_read(d, 100, &buf, &len) == 0 && len == 18 &&
	    memcmp(buf, "part one, part two", 18) == 0, "the blob's bytes");
	free(buf);

	/* The same bytes again: onto the existing blob. */
	be->upload_begin("lib/up", UUID2);
	if (be->upload_open("lib/up", UUID2, &bu, &bs) == 0) {
		be->upload_append(bu, "part one, part two", 18);
		check(be->upload_commit(bu, d) == 0,
		    "upload_commit onto an existing blob: 0");
		be->upload_close(bu);
		check(be->upload_stat("lib/up", UUID2, &bs) == -1,
		    "that upload ended too");
	} else
		check(0, "second upload_open: %s", strerror(errno));
	be->upload_begin("lib/up", UUID);
	check(be->upload_abort("lib/up", UUID) == 0 &&
	    be->upload_stat("lib/up", UUID, &bs) == -1, "upload_abort");
	check(be->upload_abort("lib/up", UUID) == 0,
	    "upload_abort of a missing upload: 0");
	be->blob_remove(d);
	be->repo_remove("lib/up", NULL, NULL);
}

/* Leases: put-if-absent, read back with an mtime, replaced, deleted. */
static void
t_leases(void)
{
	struct be_stat	 bs;
	char		 buf[64];
	time_t		 now = time(NULL);
	ssize_t		 n;

	check(be->lease_get("gc", buf, sizeof(buf), &bs) == -1 &&
	    errno == ENOENT, "lease_get of no lease: ENOENT");
	check(be->lease_del("gc") == 0, "lease_del of no lease: 0");
	check(be->lease_put("gc", "owner a", 7, 1) == 0,
	    "lease_put excl: taken");
	check(be->lease_put("gc", "owner b", 7, 1) == -1 && errno == EEXIST,
	    "lease_put excl over a lease: EEXIST");
	n = be->lease_get("gc", buf, sizeof(buf), &bs);
	check(n == 7 && memcmp(buf, "owner a", 7) == 0 &&
	    bs.mtime >= now - 1 && bs.mtime <= time(NULL) + 1,
	    "lease_get: the holder's bytes, mtime now");
	check(be->lease_put("gc", "owner a, renewed", 16, 0) == 0 &&
	    be->lease_get("gc", buf, sizeof(buf), NULL) == 16 &&
	    memcmp(buf, "owner a, renewed", 16) == 0,
	    "lease_put not excl: replaced");
	check(be->lease_put("Bad/name", "x", 1, 0) == -1,
	    "lease_put of a bad name refused");
	check(be->lease_del("gc") == 0 && be->lease_get("gc", buf,
	    sizeof(buf), NULL) == -1 && errno == ENOENT &&
	    be->lease_put("gc", "owner b", 7, 1) == 0,
	    "lease_del, then put excl again");
	be->lease_del("gc");
}

/* The last use of a blob: its mtime, or a later blob_touched. */
static time_t
last_use(const char *d)
{
	struct be_stat	 bs;
	time_t		 t = 0;

	if (be->blob_stat(d, &bs) == 0)
		t = bs.mtime;
	if (be->blob_touched != NULL && be->blob_touched(d, &bs) == 0 &&
	    bs.mtime > t)
		t = bs.mtime;
	return (t);
}

/*
 * blob_touch: a use moves the blob's last use to now (what another
 * instance's GC grace counts from); a removed blob takes its marks with
 * it; a missing blob cannot be touched.
 */
static void
t_touch(void)
{
	const char	*d = "sha256:"
	    "5c2ad2a81d7a7e1c0b2f7a1b8a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b";
	time_t		 before, after;

	if (be->blob_touch == NULL) {
		check(0, "blob_touch offered");
		return;
	}
	be->blob_remove(d);
	check(be->blob_write(d, "touched", 7) == 1, "blob_write for touch");
	before = last_use(d);
	sleep(2);
	check(be->blob_touch(d) == 0, "blob_touch");
	after = last_use(d);
	check(after >= before + 2 && after <= time(NULL) + 1,
	    "blob_touch: last use moved to now (%lld -> %lld)",
	    (long long)before, (long long)after);
	check(be->blob_remove(d) == 0, "blob_remove of a touched blob");
	if (be->blob_touched == NULL)
		check(be->blob_touch(d) == -1 && errno == ENOENT,
		    "blob_touch of a missing blob: ENOENT");
	else
		check(be->blob_touched(d, NULL) == -1 && errno == ENOENT,
		    "blob_remove takes the mark of use with it");
}

/* Aborted while open (a cancel during a write): the handle still works. */
static void
t_upload_abort_open(void)
{
	struct be_upload	*bu;
	struct be_stat		 bs;

	be->upload_begin("lib/up", UUID);
	if (be->upload_open("lib/up", UUID, &bu, &bs) == -1) {
		check(0, "upload_open: %s", strerror(errno));
		return;
	}
	be->upload_abort("lib/up", UUID);
	check(be->upload_append(bu, "late", 4) == 0,
	    "an append after the abort goes nowhere, harmlessly");
	be->upload_close(bu);
	check(be->upload_stat("lib/up", UUID, &bs) == -1, "the upload is gone");
	be->repo_remove("lib/up", NULL, NULL);
}

static void
t_walks(void)
{
	char	 d[MAX_DIGEST + 1], s[32];
	int	 i, n = 0, ok = 1;

	for (i = 0; i < NMANY; i++) {
		snprintf(s, sizeof(s), "blob %d", i);
		digest_of(s, d, sizeof(d));
		if (be->blob_write(d, s, strlen(s)) != 1 ||
		    be->link_put("many", BE_LAYER, d) != 1)
			ok = 0;
	}
	check(ok, "%d blobs written and linked", NMANY);
	be->blob_walk(count_each, &n);
	check(n == NMANY, "blob_walk: %d", n);
	n = 0;
	be->link_walk("many", BE_LAYER, count_each, &n);
	check(n == NMANY, "link_walk: %d", n);
	n = 0;
	check(be->blob_walk(stop_each, &n) == -1 && n == 1,
	    "a walk stops when told");
	be->link_put("many/nested", BE_LAYER, d);
	n = 0;
	be->repo_walk(0, count_each, &n);
	check(n == 2, "repo_walk: %d repositories", n);
	check(be->repo_remove("many", NULL, NULL) == 0 &&
	    !be->repo_exists("many", 1) && be->repo_exists("many/nested", 1),
	    "repo_remove leaves nested repositories");
	be->repo_remove("many/nested", NULL, NULL);
	n = 0;
	be->repo_walk(1, count_each, &n);
	check(n == 0, "repo_walk after the removals: %d", n);
}

struct seen {
	int	 links, bad;
	char	 where[PATH_MAX];
};

static int
check_each(void *arg, const char *where, const char *dg, const char *expect,
    int layer)
{
	struct seen	*s = arg;

	s->links++;
	if (dg == NULL || (expect != NULL && strcmp(dg, expect) != 0)) {
		s->bad++;
		strlcpy(s->where, where, sizeof(s->where));
	}
	return (0);
}

static void
t_link_check(int fs, int withindex)
{
	struct seen	 s;
	char		 d[MAX_DIGEST + 1], to[PATH_MAX], path[PATH_MAX];
	int		 fd;

	digest_of("checked", d, sizeof(d));
	be->link_put(REPO, BE_LAYER, d);
	be->tag_set(REPO, "latest", d);
	memset(&s, 0, sizeof(s));
	be->link_check(check_each, &s);
	/* fs: the layer link, the tag's current and index links. */
	check(s.links == (withindex ? 3 : 2) && s.bad == 0,
	    "link_check of sound links: %d links, %d bad", s.links, s.bad);
	if (fs) {
		/* A link forged with something that is no digest. */
		snprintf(path, sizeof(path), "%s/repositories/%s/_layers/"
		    "sha256/%s/link", ST_V2, REPO, d + 7);
		if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1)
			err(2, "%s", path);
		if (write(fd, "../../etc/passwd", 16) != 16)
			err(2, "write");
		close(fd);
		memset(&s, 0, sizeof(s));
		be->link_check(check_each, &s);
		check(s.bad == 1 && strcmp(s.where, path) == 0,
		    "link_check finds a forged link: %s", s.where);
		check(be->link_quarantine(s.where, "quarantine/test", to,
		    sizeof(to)) == 0 && access(path, F_OK) == -1 &&
		    access(to, F_OK) == 0, "link_quarantine moves it to %s",
		    to);
		check(be->link_quarantine("../outside/link", "q", to,
		    sizeof(to)) == -1 && errno == EINVAL,
		    "link_quarantine of a place outside the links: EINVAL");
	}
	be->repo_remove(REPO, NULL, NULL);
}

static void
conformance(const char *name, const struct store_backend *b, int fs,
    int withindex)
{
	label = name;
	be = b;
	if (be->init() == -1)
		err(2, "%s: init", name);
	t_blobs();
	t_links_tags();
	t_uploads();
	t_upload_abort_open();
	t_leases();
	t_touch();
	t_walks();
	t_link_check(fs, withindex);
}

/* A deterministic byte at offset off of a big upload. */
static unsigned char
big_byte(int64_t off)
{
	return ((unsigned char)((off * 7 + off / 4093) & 0xff));
}

static void
big_fill(unsigned char *buf, size_t len, int64_t off)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = big_byte(off + (int64_t)i);
}

/* Append len pattern bytes from off in one session, closed after. */
static int
big_session(const char *uuid, int64_t off, size_t len, int64_t trunc)
{
	struct be_upload	*bu;
	struct be_stat		 bs;
	unsigned char		*buf;
	int			 ok;

	if ((buf = malloc(len)) == NULL)
		err(2, NULL);
	big_fill(buf, len, off);
	ok = be->upload_open("lib/big", uuid, &bu, &bs) == 0 &&
	    bs.size == off;
	if (ok) {
		ok = be->upload_append(bu, buf, len) == 0;
		if (ok && trunc >= 0)
			ok = be->upload_truncate(bu, trunc) == 0;
		be->upload_close(bu);
	}
	free(buf);
	return (ok);
}

/* The upload, read back through upload_read, is the pattern to size. */
static int
big_check(const char *uuid, int64_t size)
{
	struct be_upload	*bu;
	struct be_stat		 bs;
	unsigned char		*buf, *want;
	int64_t			 off = 0;
	ssize_t			 n;
	int			 ok;

	if (be->upload_open("lib/big", uuid, &bu, &bs) == -1)
		return (0);
	ok = bs.size == size;
	buf = malloc(1024 * 1024);
	want = malloc(1024 * 1024);
	if (buf == NULL || want == NULL)
		err(2, NULL);
	while (ok && off < size) {
		if ((n = be->upload_read(bu, buf, 1024 * 1024, off)) <= 0)
			ok = 0;
		else {
			big_fill(want, n, off);
			ok = memcmp(buf, want, n) == 0;
			off += n;
		}
	}
	be->upload_close(bu);
	free(buf);
	free(want);
	return (ok && off == size);
}

/*
 * S3 only: an upload in sessions as a chunked push makes them, each
 * closed and found again in the bucket (as another instance would):
 * parts of 8 MiB, a short last part, a session that goes back
 * (truncate) across a part it sent, a read of what is in the bucket,
 * and the commit checked byte for byte through the blob cache.
 */
static void
t_s3_big_upload(void)
{
	struct be_body	 body;
	struct be_stat	 bs;
	unsigned char	*buf, *want;
	char		 d[MAX_DIGEST + 1];
	const size_t	 MiB = 1024 * 1024;
	int64_t		 size;
	ssize_t		 n;
	int		 ok;

	check(be->upload_begin("lib/big", UUID) == 0, "big: begin");
	check(big_session(UUID, 0, 3 * MiB, -1), "big: 3 MiB, all in memory");
	check(big_session(UUID, 3 * MiB, 6 * MiB, -1),
	    "big: +6 MiB onto a small object read back");
	check(big_session(UUID, 9 * MiB, 9 * MiB, 9 * MiB),
	    "big: +9 MiB gone back (a failed PATCH)");
	check(be->upload_stat("lib/big", UUID, &bs) == 0 &&
	    bs.size == (int64_t)(9 * MiB), "big: the bucket says 9 MiB: %lld",
	    (long long)bs.size);
	/* An instance killed in a request: its handle never closes. */
	{
		struct be_upload	*lost;
		unsigned char		*junk;

		if ((junk = calloc(1, 10 * MiB)) == NULL)
			err(2, NULL);
		ok = be->upload_open("lib/big", UUID, &lost, &bs) == 0 &&
		    be->upload_append(lost, junk, 10 * MiB) == 0;
		free(junk);
		check(ok, "big: 10 MiB sent by a request that dies");
	}
	check(be->upload_stat("lib/big", UUID, &bs) == 0 &&
	    bs.size == (int64_t)(9 * MiB), "big: what it sent does not count: "
	    "%lld", (long long)bs.size);
	check(big_session(UUID, 9 * MiB, 12 * MiB + 5, -1),
	    "big: +12 MiB and 5 bytes");
	check(big_session(UUID, 21 * MiB + 5, 1000, -1), "big: +1000 bytes");
	size = 21 * MiB + 1005;
	check(big_check(UUID, size), "big: upload_read of the bucket's bytes");
	check(big_session(UUID, size, 7, -1), "big: +7 bytes after the read");
	size += 7;

	if ((buf = malloc(size)) == NULL || (want = malloc(MiB)) == NULL)
		err(2, NULL);
	big_fill(buf, size, 0);
	if (store_digest_buf("sha256", buf, size, d, sizeof(d)) == -1)
		errx(2, "digest");
	free(buf);
	{
		struct be_upload	*bu;

		ok = be->upload_open("lib/big", UUID, &bu, &bs) == 0 &&
		    bs.size == size;
		if (ok) {
			ok = be->upload_commit(bu, d) == 1;
			be->upload_close(bu);
		}
	}
	check(ok, "big: commit %lld bytes", (long long)size);
	check(be->blob_stat(d, &bs) == 0 && bs.size == size,
	    "big: blob_stat %lld", (long long)bs.size);
	check(be->upload_stat("lib/big", UUID, &bs) == -1 && errno == ENOENT,
	    "big: the session is gone");
	ok = 0;
	if (be->blob_open(d, BE_WANT_FD, &body) == 0) {
		int64_t	 off = 0;

		ok = body.size == size;
		while (ok && (n = read(body.fd, want, MiB)) > 0) {
			unsigned char	*exp = malloc(n);

			big_fill(exp, n, off);
			ok = memcmp(exp, want, n) == 0;
			free(exp);
			off += n;
		}
		ok = ok && off == size;
		close(body.fd);
	}
	check(ok, "big: blob_open (bigger than the cache) reads it all");
	free(want);

	/* A commit with no bytes of its own after a request that died. */
	check(be->upload_begin("lib/big", UUID2) == 0 &&
	    big_session(UUID2, 0, 8 * MiB, -1),
	    "big: 8 MiB again, one whole part");
	{
		struct be_upload	*bu;
		unsigned char		*junk;

		if ((junk = calloc(1, 9 * MiB)) == NULL)
			err(2, NULL);
		if (be->upload_open("lib/big", UUID2, &bu, &bs) == 0)
			be->upload_append(bu, junk, 9 * MiB);	/* lost */
		big_fill(junk, 8 * MiB, 0);
		if (store_digest_buf("sha256", junk, 8 * MiB, d,
		    sizeof(d)) == -1)
			errx(2, "digest");
		free(junk);
		ok = be->upload_open("lib/big", UUID2, &bu, &bs) == 0 &&
		    bs.size == (int64_t)(8 * MiB) &&
		    be->upload_commit(bu, d) == 1;
		if (ok)
			be->upload_close(bu);
	}
	check(ok && be->blob_stat(d, &bs) == 0 &&
	    bs.size == (int64_t)(8 * MiB),
	    "big: its commit holds what counted, no more");
	be->blob_remove(d);
	be->blob_remove(d);
	be->repo_remove("lib/big", NULL, NULL);
}

/* The blob cache: filled, hit, evicted by size, wrong bytes refused. */
static void
t_s3_cache(void)
{
	struct be_body	 body;
	struct stat	 st;
	char		 d1[MAX_DIGEST + 1], d2[MAX_DIGEST + 1], f[PATH_MAX];
	char		 big[600 * 1024];
	int		 ok;

	memset(big, 'a', sizeof(big));
	if (store_digest_buf("sha256", big, sizeof(big), d1, sizeof(d1)) ==
	    -1)
		errx(2, "digest");
	big[0] = 'b';
	if (store_digest_buf("sha256", big, sizeof(big), d2, sizeof(d2)) ==
	    -1)
		errx(2, "digest");
	be->blob_write(d2, big, sizeof(big));
	big[0] = 'a';
	be->blob_write(d1, big, sizeof(big));
	snprintf(f, sizeof(f), "sha256-%s", d1 + 7);
	ok = be->blob_open(d1, BE_WANT_FD, &body) == 0;
	if (ok)
		close(body.fd);
	check(ok && stat(f, &st) == 0 && st.st_size == sizeof(big),
	    "cache: filled as %s", f);
	ok = be->blob_open(d2, BE_WANT_FD, &body) == 0;
	if (ok)
		close(body.fd);
	check(ok && stat(f, &st) == -1, "cache: 1 MiB holds one: the "
	    "least recently used went");
	/* d1 holds d2's bytes under d1's name: never served. */
	be->blob_remove(d1);
	be->blob_write(d1, big + 1, sizeof(big) - 1);
	check(be->blob_open(d1, BE_WANT_FD, &body) == -1 && errno == EIO,
	    "cache: bytes that are not the digest's are refused");
	be->blob_remove(d1);
	be->blob_remove(d2);
}

/* The S3 backend on the bucket the environment names, if it does. */
static void
conformance_s3(void)
{
	struct s3_store_conf	 c;
	const char		*v;

	if (getenv("S3_ENDPOINT") == NULL || getenv("S3_BUCKET") == NULL) {
		printf("skip s3   S3_ENDPOINT or S3_BUCKET not set\n");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.on = 1;
	strlcpy(c.endpoint, getenv("S3_ENDPOINT"), sizeof(c.endpoint));
	strlcpy(c.bucket, getenv("S3_BUCKET"), sizeof(c.bucket));
	if ((v = getenv("S3_REGION")) != NULL)
		strlcpy(c.region, v, sizeof(c.region));
	if ((v = getenv("S3_ROOT")) != NULL)
		strlcpy(c.root, v, sizeof(c.root));
	if ((v = getenv("S3_ACCESS_KEY")) != NULL)
		strlcpy(c.access_key, v, sizeof(c.access_key));
	if ((v = getenv("S3_SECRET_KEY")) != NULL)
		strlcpy(c.secret, v, sizeof(c.secret));
	c.path_style = 1;
	c.cache_size = 1024 * 1024;
	store_s3_conf(&c);
	if (mkdir("s3cache", 0700) == -1 || chdir("s3cache") == -1)
		err(2, "s3cache");
	conformance("s3", &store_s3_backend, 0, 1);
	t_s3_big_upload();
	t_s3_cache();
	if (chdir("..") == -1)
		err(2, "..");
}

/* The registry over the memory backend: a PUT, a GET, the hooks. */
static int	 nevents[SC_REPO_REMOVED + 1];

static void
count_hook(const struct st_event *ev, void *arg)
{
	nevents[ev->what]++;
}

static void
put_manifest(const char *body, const char *ref, struct st_res *res)
{
	struct st_stream	*s;
	struct st_manifest_put	 req;
	int			 answer;

	memset(&req, 0, sizeof(req));
	memset(res, 0, sizeof(*res));
	strlcpy(req.repo, REPO, sizeof(req.repo));
	strlcpy(req.ref, ref, sizeof(req.ref));
	strlcpy(req.mediatype, MT_OCI_MANIFEST, sizeof(req.mediatype));
	req.len = strlen(body);
	if ((s = store_manifest_put_begin(&req, res, &answer)) == NULL ||
	    answer)
		return;
	store_stream_data(s, body, strlen(body), res);
	store_stream_end(s, res);
}

static void
t_registry(void)
{
	struct st_manifest_get	 req;
	struct st_manifest_delete dreq;
	struct st_res	 res;
	const void	*inl = NULL;
	char		 cfg[MAX_DIGEST + 1], lay[MAX_DIGEST + 1];
	char		 body[1024];
	int		 fd = -1;

	label = "reg";
	be = &store_mem_backend;
	if (store_init() == -1)
		errx(2, "store_init");
	store_hook_add(count_hook, NULL);
	digest_of("{}", cfg, sizeof(cfg));
	digest_of("layer", lay, sizeof(lay));
	reg_blob_write(cfg, "{}", 2);
	reg_blob_write(lay, "layer", 5);
	reg_link_put(REPO, BE_LAYER, cfg, 2);
	reg_link_put(REPO, BE_LAYER, lay, 5);
	snprintf(body, sizeof(body), "{\"schemaVersion\":2,\"mediaType\":"
	    "\"%s\",\"config\":{\"mediaType\":\"a\",\"digest\":\"%s\","
	    "\"size\":2},\"layers\":[{\"mediaType\":\"b\",\"digest\":\"%s\","
	    "\"size\":5}]}", MT_OCI_MANIFEST, cfg, lay);
	memset(nevents, 0, sizeof(nevents));
	put_manifest(body, "v1", &res);
	check(res.status == 201, "manifest PUT: %d %s", res.status,
	    res.message);
	check(nevents[SC_BLOB_ADDED] == 1 && nevents[SC_LINKED] == 1 &&
	    nevents[SC_TAGGED] == 1, "hooks told: blob added, linked, tagged");

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	strlcpy(req.repo, REPO, sizeof(req.repo));
	strlcpy(req.ref, "v1", sizeof(req.ref));
	store_manifest_get(&req, &res, &fd, &inl);
	check(res.status == 200 && inl != NULL && res.size ==
	    (int64_t)strlen(body) && memcmp(inl, body, res.size) == 0 &&
	    strcmp(res.mediatype, MT_OCI_MANIFEST) == 0,
	    "manifest GET by tag: %d", res.status);
	if (fd != -1)
		close(fd);

	snprintf(body, sizeof(body), "{\"schemaVersion\":2,\"mediaType\":"
	    "\"%s\",\"config\":{\"mediaType\":\"a\",\"digest\":\"%s\","
	    "\"size\":2},\"layers\":[{\"mediaType\":\"b\",\"digest\":\"%s\","
	    "\"size\":5}]}", MT_OCI_MANIFEST, cfg, cfg + 1);
	memset(nevents, 0, sizeof(nevents));
	put_manifest(body, "v2", &res);
	check(res.status == 400 && nevents[SC_BLOB_ADDED] == 0 &&
	    nevents[SC_TAGGED] == 0,
	    "a bad manifest: 400 %s, and no change told", res.code);

	memset(&res, 0, sizeof(res));
	memset(&dreq, 0, sizeof(dreq));
	strlcpy(dreq.repo, REPO, sizeof(dreq.repo));
	strlcpy(dreq.ref, "v1", sizeof(dreq.ref));
	memset(nevents, 0, sizeof(nevents));
	store_manifest_delete(&dreq, &res, &fd);
	check(res.status == 202 && nevents[SC_UNTAGGED] == 1,
	    "tag DELETE: %d, untagged told", res.status);
	memset(&res, 0, sizeof(res));
	fd = -1;
	inl = NULL;
	store_manifest_get(&req, &res, &fd, &inl);
	check(res.status == 404, "manifest GET of the deleted tag: %d",
	    res.status);
}

/* The JSON of a tags list, or "" when it could not be had. */
static const char *
tags_of(const char *repo)
{
	static char	 buf[4096];
	struct st_list	 req;
	struct st_res	 res;
	ssize_t		 n = 0;
	int		 fd = -1;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	strlcpy(req.repo, repo, sizeof(req.repo));
	req.limit = -1;
	store_tags_list(&req, &res, &fd);
	buf[0] = '\0';
	if (fd != -1) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
			n = 0;
		buf[n] = '\0';
		close(fd);
	}
	return (buf);
}

/*
 * Caches follow the hooks per repository: a push to B keeps A's tag
 * list cached (a tag slipped into A's backend unseen stays unseen), a
 * tag pushed to A refreshes it.
 */
static void
t_cache_per_repo(void)
{
	char	 d[MAX_DIGEST + 1];

	label = "reg";
	digest_of("per repo", d, sizeof(d));
	reg_blob_write(d, "per repo", 8);
	reg_link_put("cache/a", BE_REVISION, d, 8);
	reg_tag_set("cache/a", "v1", d);
	check(strstr(tags_of("cache/a"), "\"v1\"") != NULL,
	    "tags of A: %s", tags_of("cache/a"));
	be->tag_set("cache/a", "unseen", d);
	reg_link_put("cache/b", BE_REVISION, d, 8);
	reg_tag_set("cache/b", "x", d);
	check(strstr(tags_of("cache/a"), "unseen") == NULL,
	    "a push to B leaves A's tag list cached: %s", tags_of("cache/a"));
	reg_tag_set("cache/a", "v2", d);
	check(strstr(tags_of("cache/a"), "unseen") != NULL &&
	    strstr(tags_of("cache/a"), "\"v2\"") != NULL,
	    "a tag pushed to A refreshes it: %s", tags_of("cache/a"));
}

/* What a repository's links hold, counted afresh (the distinct rule). */
static int64_t
fresh_bytes(const char *repo)
{
	struct names	 ns;
	struct be_stat	 bs;
	int64_t		 sum = 0;
	size_t		 i;

	memset(&ns, 0, sizeof(ns));
	be->link_walk(repo, BE_LAYER, names_each, &ns);
	be->link_walk(repo, BE_REVISION, names_each, &ns);
	names_uniq(&ns);
	for (i = 0; i < ns.n; i++)
		if (be->blob_stat(ns.v[i], &bs) == 0)
			sum += bs.size;
	names_free(&ns);
	return (sum);
}

static void
totals_agree(const char *step)
{
	const char	*repos[] = { "q/a", "q/b" };
	size_t		 i;

	for (i = 0; i < 2; i++)
		check(quota_repo_bytes(repos[i]) == fresh_bytes(repos[i]),
		    "%s: %s kept %lld, counted %lld", step, repos[i],
		    (long long)quota_repo_bytes(repos[i]),
		    (long long)fresh_bytes(repos[i]));
}

static void
rm_quiet(void *arg, const char *where, int err)
{
}

/*
 * Quota running totals follow the hooks: after a push, a blob linked
 * as both kinds, a mount, deletes, a sweep, the blob's return and a
 * repository's removal they equal a fresh count.
 */
static void
t_quota_totals(void)
{
	char	 d1[MAX_DIGEST + 1], d2[MAX_DIGEST + 1];

	label = "quota";
	digest_of("quota one", d1, sizeof(d1));
	digest_of("quota two!", d2, sizeof(d2));
	totals_agree("empty");		/* both are tracked from here */
	reg_blob_write(d1, "quota one", 9);
	reg_link_put("q/a", BE_LAYER, d1, 9);
	totals_agree("push");
	reg_blob_write(d2, "quota two!", 10);
	reg_link_put("q/a", BE_REVISION, d2, 10);
	reg_link_put("q/a", BE_LAYER, d2, 10);
	totals_agree("a digest linked as both kinds");
	check(quota_repo_bytes("q/a") == 19, "q/a holds 19: %lld",
	    (long long)quota_repo_bytes("q/a"));
	reg_link_put("q/b", BE_LAYER, d1, 9);
	totals_agree("mount of a shared blob");
	reg_link_del("q/a", BE_REVISION, d2);
	totals_agree("one kind deleted");
	reg_link_del("q/a", BE_LAYER, d2);
	totals_agree("both kinds deleted");
	reg_blob_remove(d1, 9);
	totals_agree("sweep under dangling links");
	check(quota_repo_bytes("q/b") == 0, "q/b holds 0 after the sweep");
	reg_blob_write(d1, "quota one", 9);
	totals_agree("the blob back");
	reg_repo_remove("q/b", rm_quiet, NULL);
	totals_agree("rm");
	reg_link_put("q/b", BE_LAYER, d1, 9);
	totals_agree("a link after rm");
}

int
main(void)
{
	char	 tmpl[] = "/tmp/test_backend.XXXXXX", cmd[PATH_MAX + 16];

	if (mkdtemp(tmpl) == NULL || chdir(tmpl) == -1)
		err(2, "%s", tmpl);
	conformance("fs", &store_fs_backend, 1, 1);
	conformance("mem", &store_mem_backend, 0, 0);
	conformance_s3();
	t_registry();
	t_cache_per_repo();
	t_quota_totals();
	if (chdir("/") == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
		if (system(cmd) != 0)
			warnx("cannot remove %s", tmpl);
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail == 0 ? 0 : 1);
}
