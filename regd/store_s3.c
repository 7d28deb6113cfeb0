/*
 * Storage: the S3 backend (see store_backend.h), over the blocking
 * client of s3.c, with exactly the keys of CNCF Distribution's s3
 * driver under "<root>/docker/registry/v2/":
 *
 *   blobs/<alg>/<2 hex>/<hex>/data
 *   repositories/<name>/_layers/<alg>/<hex>/link
 *   repositories/<name>/_manifests/revisions/<alg>/<hex>/link
 *   repositories/<name>/_manifests/tags/<tag>/current/link
 *   repositories/<name>/_manifests/tags/<tag>/index/<alg>/<hex>/link
 *   repositories/<name>/_uploads/<uuid>/{data,startedat,hashstate}
 *
 * An upload lives in the bucket between requests, as Distribution keeps
 * it: its bytes are the parts of an unfinished multipart upload of the
 * "data" key (found again by listing the multipart uploads), or the
 * "data" object itself.  A request's bytes gather in a tail in memory
 * and go out as parts of PART_SIZE, up to PARTS_FLY at once from the
 * job threads (part_job) while more bytes come; every one is back
 * before the handle records anything or ends.  When it closes, a shorter
 * tail goes out as a last, short part.  The next request that appends
 * finds that short part and, as Distribution does, completes the
 * multipart upload and starts another whose first part is a server-side
 * copy of the object (or, under MIN_PART, the object read back into the
 * tail).  A commit completes the multipart upload and copies the object
 * to the blob's key in the bucket (UploadPartCopy above COPY_MAX), so
 * the bytes never pass through regd again.
 *
 * Each thread has its own connection (the main thread, the upload
 * threads).  Blob descriptors come from a bounded cache in the current
 * directory (storage's chroot): filled from the bucket into a temporary
 * file, checked against the digest, renamed, least recently used first
 * out; a whole GET of a blob the cache lacks gets a pipe fed as the
 * file fills (cold_get).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "regd.h"
#include "store.h"
#include "store_backend.h"
#include "s3.h"

#define MIN_PART	(5 * 1024 * 1024)	/* S3: all parts but the last */
#define PART_SIZE	(8 * 1024 * 1024)	/* what a full tail sends */
#define COPY_MAX	(1024LL * 1024 * 1024)	/* one CopyObject, one part */
#define LINK_MAX	(MAX_DIGEST + 64)	/* a link object's bytes */
#define STATE_MAX	4096			/* an upload's hash state */
#define CACHE_MAX	4096			/* files in the blob cache */
#define S3_LOW_SPEED_S	10			/* s under 1 KiB/s: failed */
#define S3_RETRIES	2			/* after the first try */
#define REC_MAX		(64 + S3_UPLOAD_ID_MAX + S3_PARTS_MAX * 64)
#define REC_EMPTY	"regd upload 1\nsize 0\nid -\n"
#define STREAM_MAX	2		/* cold GETs fed as they come */
#define STREAM_MIN	(1024 * 1024)	/* smaller ones: filled, then sent */
#define STREAM_PIPE	(1024 * 1024)	/* the pipe to the frontend */
#define STREAM_WAIT_MS	30000		/* a frontend taking nothing: cut */
#define PARTS_FLY	4		/* parts of an upload sent at once */
#define PARTS_ALL	8		/* in all uploads (their buffers) */

struct s3b_part {
	int		 number;
	char		 etag[S3_ETAG_MAX + 1];
	int64_t		 size;
};

/*
 * A part on its way, sent by a job thread (job_post) while the upload
 * goes on taking bytes.  Two references: the job's and the upload's;
 * the upload may take back a part no thread has begun and send it
 * itself (it waits for it, and the pool may be busy).
 */
enum { PJ_QUEUED, PJ_RUNNING, PJ_DONE };

struct part_job {
	char		 key[S3_KEY_MAX + 1];
	char		 id[S3_UPLOAD_ID_MAX + 1];
	int		 number;
	unsigned char	*buf;
	size_t		 len;
	int		 state;
	int		 refs;
	int		 err;			/* errno of a failure */
	char		 etag[S3_ETAG_MAX + 1];
};

struct be_upload {
	char		 repo[MAX_NAME + 1];
	char		 uuid[MAX_UUID + 1];
	char		 key[S3_KEY_MAX + 1];		/* its data */
	char		 id[S3_UPLOAD_ID_MAX + 1];	/* "" none */
	struct s3b_part	*parts;
	int		 nparts;		/* that count */
	int		 nlisted;		/* in the store, >= nparts */
	int64_t		 psize;			/* bytes in those that count */
	int64_t		 osize;			/* bytes of data (no id) */
	int64_t		 oreal;			/* data's own, >= osize */
	unsigned char	*tail;			/* bytes after those */
	size_t		 tlen;
	struct part_job	*fly[PARTS_FLY];	/* sent, oldest first */
	int		 nfly;
	int		 ferr;		/* a part sent failed: errno */
	unsigned char	*spare;		/* a part's buffer for reuse */
	int		 ready;		/* set up for appending */
	int		 dirty;		/* changed since open */
	int		 gone;		/* ended: nothing more is kept */
};

struct cache_ent {
	char		 name[MAX_DIGEST + 1];	/* "<alg>-<hex>" */
	int64_t		 size;
	uint64_t	 used;
};

static struct s3_store_conf	 s3c;
static struct s3_config		 cfg;
static char			 pfx[S3_KEY_MAX];	/* "<root>/docker/..." */
static char			 resolve[512];
static char			*ca_pem;
static size_t			 ca_pemlen;
static __thread struct s3_conn	*tconn;
static struct cache_ent		*cache;
static size_t			 ncache;
static int64_t			 cache_bytes;
/* For the metrics (s3b_figures); threads add to them, hence atomics. */
static uint64_t			 fig_requests, fig_errors, fig_hits, fig_misses;
static uint64_t			 cache_clock;
/* blob_open runs in jobs: the cache's table is shared. */
static pthread_mutex_t		 cache_mtx = PTHREAD_MUTEX_INITIALIZER;
/* Cold GETs being fed to a pipe and the cache (struct cold_get). */
static int			 streams;
/* The parts being sent (struct part_job), in all uploads. */
static pthread_mutex_t		 part_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 part_cv = PTHREAD_COND_INITIALIZER;
static int			 parts_all;

/*
 * Redirects: the blobs whose object a HEAD found lately, so that a
 * burst of GETs of one blob answers its 307s without a HEAD each.  An
 * entry lasts SEEN_MS: another instance's GC may remove the object
 * (this instance's removals drop the entry at once), and a blob still
 * linked is never swept, so a stale entry can only outlive a blob that
 * was gone from its repository anyway.
 */
#define SEEN_SLOTS	64
#define SEEN_MS		1000
struct seen_ent {
	char		 digest[MAX_DIGEST + 1];
	int64_t		 size;
	int64_t		 at;		/* ms, CLOCK_MONOTONIC */
};
static struct seen_ent		 seen[SEEN_SLOTS];
static pthread_mutex_t		 seen_mtx = PTHREAD_MUTEX_INITIALIZER;

static int	upload_exact(struct be_upload *);
static int	key_fmt(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

/*
 * Logging goes through a channel only the main thread may use: the
 * threads that append uploads and fill the cache leave their messages
 * here, and the main thread logs them at its next call.
 */
#define S3LOG_MAX	8
static pthread_mutex_t		 s3log_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_t		 s3log_main;
static int			 s3log_have_main;
static char			 s3log_held[S3LOG_MAX][256];
static int			 s3log_n, s3log_lost;

static void	s3log(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

static void
s3log_flush(void)
{
	int	 i, lost;

	pthread_mutex_lock(&s3log_mtx);
	for (i = 0; i < s3log_n; i++)
		log_warnx("%s", s3log_held[i]);
	lost = s3log_lost;
	s3log_n = s3log_lost = 0;
	pthread_mutex_unlock(&s3log_mtx);
	if (lost > 0)
		log_warnx("s3: %d more messages of worker threads lost", lost);
}

static void
s3log(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	if (!s3log_have_main || pthread_equal(pthread_self(), s3log_main)) {
		s3log_flush();
		vlog(LOG_ERR, fmt, ap);
	} else {
		pthread_mutex_lock(&s3log_mtx);
		if (s3log_n < S3LOG_MAX)
			vsnprintf(s3log_held[s3log_n++], sizeof(s3log_held[0]),
			    fmt, ap);
		else
			s3log_lost++;
		pthread_mutex_unlock(&s3log_mtx);
	}
	va_end(ap);
	errno = saved;
}

/* The configuration, copied before init (the secret with it). */
void
store_s3_conf(const struct s3_store_conf *c)
{
	s3c = *c;
}

static int
key_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n;
	int	 m;

	n = strlcpy(buf, pfx, len);
	if (n >= len)
		goto toolong;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - n)
		goto toolong;
	return (0);
toolong:
	errno = ENAMETOOLONG;
	return (-1);
}

/* The key of a blob's data, or of the marker of its last use. */
static int
digest_key(char *buf, size_t len, const char *digest, int used)
{
	char		 alg[16];
	const char	*hex;

	if (!store_digest_ok(digest)) {
		errno = EINVAL;
		return (-1);
	}
	digest_split(digest, alg, sizeof(alg), &hex);
	if (used)
		return (key_fmt(buf, len, "_regd/used/%s/%s", alg, hex));
	return (key_fmt(buf, len, "blobs/%s/%.2s/%s/data", alg, hex, hex));
}
#define blob_key(b, l, d)	digest_key((b), (l), (d), 0)
#define used_key(b, l, d)	digest_key((b), (l), (d), 1)

static const char *
s3_link_kind(enum be_link kind)
{
	return (kind == BE_LAYER ? "_layers" : "_manifests/revisions");
}

static int
link_key(char *buf, size_t len, const char *repo, enum be_link kind,
    const char *digest)
{
	char		 alg[16];
	const char	*hex;

	if (!valid_name(repo) || !store_digest_ok(digest)) {
		errno = EINVAL;
		return (-1);
	}
	digest_split(digest, alg, sizeof(alg), &hex);
	return (key_fmt(buf, len, "repositories/%s/%s/%s/%s/link", repo,
	    s3_link_kind(kind), alg, hex));
}

static int
tag_key(char *buf, size_t len, const char *repo, const char *tag,
    const char *file)
{
	if (!valid_name(repo) || !valid_tag(tag)) {
		errno = EINVAL;
		return (-1);
	}
	return (key_fmt(buf, len, "repositories/%s/_manifests/tags/%s/%s",
	    repo, tag, file));
}

static int
upload_key(char *buf, size_t len, const char *repo, const char *uuid,
    const char *file)
{
	if (!valid_name(repo) || !valid_uuid(uuid)) {
		errno = EINVAL;
		return (-1);
	}
	return (key_fmt(buf, len, "repositories/%s/_uploads/%s/%s", repo,
	    uuid, file));
}

/* This thread's connection, made on first use. */
static struct s3_conn *
conn(void)
{
	struct s3_err	 err;

	if (s3log_n > 0 && s3log_have_main &&
	    pthread_equal(pthread_self(), s3log_main))
		s3log_flush();
	/* Every operation takes its connection here: one count each. */
	__atomic_fetch_add(&fig_requests, 1, __ATOMIC_RELAXED);
	if (tconn == NULL && (tconn = s3_conn_new(&cfg, &err)) == NULL)
		s3log("s3: %s: %s", err.code, err.message);
	return (tconn);
}

/* A failed call: logged unless it is ENOENT, errno set. */
static int
s3fail(const char *what, const char *key, struct s3_err *err)
{
	if (err->errnum != ENOENT && err->errnum != EEXIST) {
		__atomic_fetch_add(&fig_errors, 1, __ATOMIC_RELAXED);
		s3log("s3: %s %s: %d %s %s", what, key, err->http_status,
		    err->code, err->message);
	}
	errno = err->errnum != 0 ? err->errnum : EIO;
	/*
	 * No answer from the store, or one that says to try later: the
	 * layers above answer 503, as for a full disk.
	 */
	if (err->transient || err->http_status == 0 ||
	    err->http_status >= 500)
		errno = EAGAIN;
	return (-1);
}

#define C_OR_FAIL(c)	do {						\
	if (((c) = conn()) == NULL) {					\
		errno = EIO;						\
		return (-1);						\
	}								\
} while (0)

static int
s3b_head(const char *key, struct s3_obj *o)
{
	struct s3_conn	*c;
	struct s3_err	 err;

	C_OR_FAIL(c);
	if (s3_head(c, key, o, &err) == -1)
		return (s3fail("HEAD", key, &err));
	return (0);
}

static int
s3b_put(const char *key, const void *buf, size_t len)
{
	struct s3_conn	*c;
	struct s3_err	 err;

	C_OR_FAIL(c);
	if (s3_put(c, key, buf, len, &err) == -1)
		return (s3fail("PUT", key, &err));
	return (0);
}

static int
s3b_delete(const char *key)
{
	struct s3_conn	*c;
	struct s3_err	 err;

	C_OR_FAIL(c);
	if (s3_delete(c, key, &err) == -1 && err.errnum != ENOENT)
		return (s3fail("DELETE", key, &err));
	return (0);
}

/*
 * Every object under prefix (with delim: and every common prefix),
 * page after page; fn's non-zero stops it (-1, ECANCELED).
 */
static int
s3b_list(const char *prefix, const char *delim, s3_obj_cb fn, void *arg)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_list	 l;

	C_OR_FAIL(c);
	memset(&l, 0, sizeof(l));
	l.prefix = prefix;
	l.delimiter = delim;
	do {
		if (s3_list_page(c, &l, fn, arg, &err) == -1) {
			if (err.errnum == ECANCELED) {
				errno = ECANCELED;
				return (-1);
			}
			return (s3fail("LIST", prefix, &err));
		}
	} while (l.truncated && l.token[0] != '\0');
	return (0);
}

struct keys {
	char	**v;
	size_t	  n, size;
};

static int
keys_add(void *arg, const struct s3_obj *o)
{
	struct keys	*k = arg;
	char		**nv;
	size_t		  ns;

	if (o->is_prefix)
		return (0);
	if (k->n == k->size) {
		ns = k->size == 0 ? 64 : k->size * 2;
		if ((nv = reallocarray(k->v, ns, sizeof(*nv))) == NULL)
			return (-1);
		k->v = nv;
		k->size = ns;
	}
	if ((k->v[k->n] = strdup(o->key)) == NULL)
		return (-1);
	k->n++;
	return (0);
}

static void
keys_free(struct keys *k)
{
	size_t	 i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* Delete every object under prefix (a "directory": ends in '/'). */
static int
s3b_rmtree(const char *prefix)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct keys	 k;
	size_t		 i, n;
	int		 rv = 0;

	C_OR_FAIL(c);
	memset(&k, 0, sizeof(k));
	if (s3b_list(prefix, NULL, keys_add, &k) == -1) {
		keys_free(&k);
		return (-1);
	}
	for (i = 0; i < k.n && rv == 0; i += n) {
		n = k.n - i < S3_DELETE_MAX ? k.n - i : S3_DELETE_MAX;
		if (s3_delete_many(c, (const char *const *)k.v + i, n,
		    &err) == -1)
			rv = s3fail("DELETE", prefix, &err);
	}
	keys_free(&k);
	return (rv);
}

/* Is there anything under prefix? 1, 0, or -1. */
static int
stop_first(void *arg, const struct s3_obj *o)
{
	*(int *)arg = 1;
	return (-1);
}

static int
s3b_any(const char *prefix)
{
	int	 found = 0;

	if (s3b_list(prefix, NULL, stop_first, &found) == -1 &&
	    errno != ECANCELED)
		return (-1);
	return (found);
}

/* Copy src to dst in the bucket, big objects part by part. */
static int
s3b_copy(const char *src, const char *dst, int64_t size)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_part	*p = NULL;
	char		 id[S3_UPLOAD_ID_MAX + 1];
	int64_t		 off, len;
	int		 n, i, rv = -1;

	C_OR_FAIL(c);
	if (size <= COPY_MAX) {
		if (s3_copy(c, src, dst, &err) == -1)
			return (s3fail("COPY", src, &err));
		return (0);
	}
	n = (int)(size / COPY_MAX);
	if ((p = calloc(n, sizeof(*p))) == NULL)
		return (-1);
	if (s3_mp_create(c, dst, id, sizeof(id), &err) == -1) {
		free(p);
		return (s3fail("CREATE", dst, &err));
	}
	for (i = 0, off = 0; i < n; i++, off += len) {
		/* Every part COPY_MAX, the last one the rest too. */
		len = i == n - 1 ? size - off : COPY_MAX;
		if (s3_mp_copy_part(c, dst, id, i + 1, src, off, len, &p[i],
		    &err) == -1) {
			s3fail("COPY PART", src, &err);
			goto done;
		}
	}
	if (s3_mp_complete(c, dst, id, p, n, &err) == -1) {
		s3fail("COMPLETE", dst, &err);
		goto done;
	}
	rv = 0;
done:
	if (rv == -1)
		(void)s3_mp_abort(c, dst, id, &err);
	free(p);
	return (rv);
}

/* Blobs. */
/* An object's size and mtime, as a backend's stat gives them. */
static int
s3b_stat(const char *key, struct be_stat *bs)
{
	struct s3_obj	 o;

	if (s3b_head(key, &o) == -1)
		return (-1);
	if (bs != NULL) {
		bs->size = o.size;
		bs->mtime = o.mtime;
	}
	return (0);
}

static int
s3b_blob_stat(const char *digest, struct be_stat *bs)
{
	char	 key[S3_KEY_MAX];

	if (blob_key(key, sizeof(key), digest) == -1)
		return (-1);
	return (s3b_stat(key, bs));
}

/* An object of at most max bytes, whole, NUL-terminated. */
static int
s3b_read(const char *key, size_t max, unsigned char **bufp, size_t *lenp,
    time_t *mtime)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_obj	 o;
	unsigned char	*buf;
	size_t		 got = 0;

	C_OR_FAIL(c);
	if (s3_head(c, key, &o, &err) == -1)
		return (s3fail("HEAD", key, &err));
	if ((uint64_t)o.size > max) {
		errno = EFBIG;
		return (-1);
	}
	if ((buf = malloc(o.size + 1)) == NULL)
		return (-1);
	if (o.size > 0 && s3_get(c, key, buf, o.size, &got, &err) == -1) {
		free(buf);
		if (err.errnum == EFBIG)
			errno = EIO;	/* it changed: it must not */
		return (s3fail("GET", key, &err));
	}
	buf[got] = '\0';
	*bufp = buf;
	*lenp = got;
	if (mtime != NULL)
		*mtime = o.mtime;
	return (0);
}

static int
s3b_blob_read(const char *digest, size_t max, unsigned char **bufp,
    size_t *lenp)
{
	char	 key[S3_KEY_MAX];

	if (blob_key(key, sizeof(key), digest) == -1)
		return (-1);
	return (s3b_read(key, max, bufp, lenp, NULL));
}

static int
s3b_blob_write(const char *digest, const void *buf, size_t len)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	char		 key[S3_KEY_MAX];

	C_OR_FAIL(c);
	if (blob_key(key, sizeof(key), digest) == -1)
		return (-1);
	if (s3_put_if_absent(c, key, buf, len, &err) == -1) {
		if (err.errnum == EEXIST)
			return (0);
		return (s3fail("PUT", key, &err));
	}
	return (1);
}

/* The blob cache: "<alg>-<hex>" files in the current directory. */
static void
cache_name(const char *digest, char *buf, size_t len)
{
	char		 alg[16];
	const char	*hex;

	digest_split(digest, alg, sizeof(alg), &hex);
	snprintf(buf, len, "%s-%s", alg, hex);
}

static struct cache_ent *
cache_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].name, name) == 0)
			return (&cache[i]);
	return (NULL);
}

static void
cache_drop(struct cache_ent *ce)
{
	if (unlink(ce->name) == -1 && errno != ENOENT)
		s3log("s3 cache: unlink %s: %s", ce->name, strerror(errno));
	cache_bytes -= ce->size;
	*ce = cache[--ncache];
}

/* Least recently used out until need more bytes fit. */
static void
cache_evict(int64_t need)
{
	size_t	 i, lru;

	while (ncache > 0 && (cache_bytes + need > s3c.cache_size ||
	    ncache >= CACHE_MAX)) {
		for (lru = 0, i = 1; i < ncache; i++)
			if (cache[i].used < cache[lru].used)
				lru = i;
		cache_drop(&cache[lru]);
	}
}

static int
cache_add(const char *name, int64_t size)
{
	struct cache_ent	*nc;

	if (cache == NULL) {
		if ((nc = calloc(CACHE_MAX, sizeof(*nc))) == NULL)
			return (-1);
		cache = nc;
	}
	cache_evict(size);
	if (ncache >= CACHE_MAX)
		return (-1);
	strlcpy(cache[ncache].name, name, sizeof(cache[ncache].name));
	cache[ncache].size = size;
	cache[ncache].used = ++cache_clock;
	cache_bytes += size;
	ncache++;
	return (0);
}

/* What a previous run left: its files, oldest first out; no temporaries. */
static void
cache_scan(void)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;

	if ((d = opendir(".")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tmp.", 4) == 0) {
			(void)unlink(de->d_name);
			continue;
		}
		if ((strncmp(de->d_name, "sha256-", 7) != 0 &&
		    strncmp(de->d_name, "sha512-", 7) != 0) ||
		    strlen(de->d_name) > MAX_DIGEST ||
		    stat(de->d_name, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (s3c.cache_size <= 0 || cache_add(de->d_name,
		    st.st_size) == -1)
			(void)unlink(de->d_name);
	}
	closedir(d);
}

/* Does fd (at offset 0) hold digest's bytes? */
static int
fd_digest_ok(int fd, const char *digest)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 buf[64 * 1024], md[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	const char	*want;
	unsigned int	 mdlen, i;
	ssize_t		 n;
	int		 ok = 0;

	if ((want = strchr(digest, ':')) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		return (0);
	if (EVP_DigestInit_ex(ctx, digest_md(digest), NULL) != 1)
		goto done;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			goto done;
	if (n == -1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto done;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ok = strcmp(hex, want + 1) == 0;
done:
	EVP_MD_CTX_free(ctx);
	return (ok);
}

/*
 * The blob into a temporary file, checked; kept under its name when the
 * cache has room, else unlinked (the descriptor still reads it).
 */
static int
cache_fill(const char *digest, const char *key, const char *name,
    struct be_body *body)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct stat	 st;
	char		 tmp[64];
	int		 fd, saved;

	C_OR_FAIL(c);
	snprintf(tmp, sizeof(tmp), "tmp.%08x%08x", arc4random(),
	    arc4random());
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return (-1);
	if (s3_get_range_fd(c, key, 0, -1, fd, NULL, &err) == -1) {
		s3fail("GET", key, &err);
		goto fail;
	}
	if (lseek(fd, 0, SEEK_SET) == -1 || fstat(fd, &st) == -1)
		goto fail;
	if (!fd_digest_ok(fd, digest)) {
		s3log("s3: %s does not hold %s: not served", key, digest);
		errno = EIO;
		goto fail;
	}
	if (lseek(fd, 0, SEEK_SET) == -1)
		goto fail;
	pthread_mutex_lock(&cache_mtx);
	/* Another job may have filled it meanwhile: the same bytes. */
	if (cache_find(name) == NULL && st.st_size <= s3c.cache_size &&
	    cache_add(name, st.st_size) == 0) {
		if (rename(tmp, name) == -1) {
			saved = errno;
			cache_drop(cache_find(name));
			pthread_mutex_unlock(&cache_mtx);
			errno = saved;
			goto fail;
		}
	} else
		(void)unlink(tmp);
	pthread_mutex_unlock(&cache_mtx);
	body->fd = fd;
	body->size = st.st_size;
	return (0);
fail:
	saved = errno;
	close(fd);
	(void)unlink(tmp);
	errno = saved;
	return (-1);
}

/*
 * A cold GET, as it comes: a job thread reads the object once, into a
 * temporary file of the cache (when it fits) and into the pipe the
 * frontend sends from, all but the last byte, while it runs the
 * digest.  Only when the digest holds is the file kept in the cache
 * and the last byte sent; else the pipe closes short (the frontend
 * then cuts its client) and the file goes.  A frontend that takes
 * nothing for STREAM_WAIT_MS loses its pipe; the cache still fills.
 */
struct cold_get {
	char		 digest[MAX_DIGEST + 1];
	char		 key[S3_KEY_MAX];
	char		 name[MAX_DIGEST + 1];
	char		 tmp[64];
	int		 fd;		/* the temporary file, or -1 */
	int		 pfd;		/* the pipe's write end, or -1 */
	int64_t		 size, got, sent;
	unsigned char	 lastb;		/* the object's last byte */
	EVP_MD_CTX	*md;
};

/* Into the pipe, waiting while it is full; on failure it is dropped. */
static void
cold_pipe(struct cold_get *cg, const unsigned char *p, size_t len)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	while (cg->pfd != -1 && len > 0) {
		if ((n = write(cg->pfd, p, len)) > 0) {
			p += n;
			len -= n;
			cg->sent += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			pfd.fd = cg->pfd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, STREAM_WAIT_MS) > 0 &&
			    !(pfd.revents & (POLLERR | POLLNVAL)))
				continue;
		}
		close(cg->pfd);
		cg->pfd = -1;
	}
}

static int
cold_data(void *arg, const void *buf, size_t len)
{
	struct cold_get		*cg = arg;
	const unsigned char	*p = buf;
	size_t			 n, off;
	ssize_t			 w;

	if ((int64_t)len > cg->size - cg->got) {
		errno = EIO;		/* more than its HEAD said */
		return (-1);
	}
	if (EVP_DigestUpdate(cg->md, p, len) != 1) {
		errno = EIO;
		return (-1);
	}
	for (off = 0; cg->fd != -1 && off < len; off += w)
		if ((w = write(cg->fd, p + off, len - off)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			s3log("s3 cache: %s: %s", cg->tmp, strerror(errno));
			close(cg->fd);
			(void)unlink(cg->tmp);
			cg->fd = -1;
		}
	cg->got += len;
	if (len > 0)
		cg->lastb = p[len - 1];
	/* All but the last byte, held until the digest is proven. */
	n = cg->size - 1 - cg->sent;
	cold_pipe(cg, p, n < len ? n : len);
	if (cg->pfd == -1 && cg->fd == -1) {
		errno = EPIPE;		/* nobody wants the rest */
		return (-1);
	}
	return (0);
}

/* The file joins the cache, unless it is there already or has no room. */
static void
cold_keep(struct cold_get *cg)
{
	pthread_mutex_lock(&cache_mtx);
	if (cache_find(cg->name) == NULL && cache_add(cg->name,
	    cg->size) == 0) {
		if (rename(cg->tmp, cg->name) == -1) {
			s3log("s3 cache: rename %s: %s", cg->tmp,
			    strerror(errno));
			cache_drop(cache_find(cg->name));
			(void)unlink(cg->tmp);
		}
	} else
		(void)unlink(cg->tmp);
	pthread_mutex_unlock(&cache_mtx);
}

static void
cold_run(void *arg)
{
	struct cold_get	*cg = arg;
	struct s3_conn	*c;
	struct s3_err	 err;
	char		 got[MAX_DIGEST + 1], alg[16];
	const char	*hex;
	unsigned char	 last;
	int		 ok = 0;

	digest_split(cg->digest, alg, sizeof(alg), &hex);
	if ((c = conn()) != NULL) {
		if (s3_get_cb(c, cg->key, cold_data, cg, NULL, &err) == -1) {
			if (err.errnum != EPIPE)
				s3fail("GET", cg->key, &err);
		} else if (cg->got != cg->size ||
		    digest_final(cg->md, alg, got, sizeof(got)) == -1 ||
		    strcmp(got, cg->digest) != 0)
			s3log("s3: %s does not hold %s: not served", cg->key,
			    cg->digest);
		else
			ok = 1;
	}
	if (cg->fd != -1) {
		close(cg->fd);
		if (ok)
			cold_keep(cg);
		else
			(void)unlink(cg->tmp);
	}
	/* The last byte, now that the digest proved it. */
	if (ok && cg->pfd != -1) {
		last = cg->lastb;
		cold_pipe(cg, &last, 1);
	}
	if (cg->pfd != -1)
		close(cg->pfd);
	EVP_MD_CTX_free(cg->md);
	free(cg);
	__atomic_fetch_sub(&streams, 1, __ATOMIC_RELAXED);
}

/*
 * A cache miss as a pipe (cold_get): 0 and body set, 1 when it is not
 * for a pipe (filled first), -1 with errno (none such, no store).
 */
static int
cold_start(const char *digest, const char *key, const char *name,
    struct be_body *body)
{
	struct cold_get	*cg;
	struct s3_obj	 o;
	int		 p[2] = { -1, -1 };

	if (!job_ready())
		return (1);
	if (__atomic_add_fetch(&streams, 1, __ATOMIC_RELAXED) > STREAM_MAX) {
		__atomic_fetch_sub(&streams, 1, __ATOMIC_RELAXED);
		return (1);
	}
	if (s3b_head(key, &o) == -1)
		goto fail;
	if (o.size < STREAM_MIN) {
		__atomic_fetch_sub(&streams, 1, __ATOMIC_RELAXED);
		return (1);
	}
	if ((cg = calloc(1, sizeof(*cg))) == NULL)
		goto fail;
	strlcpy(cg->digest, digest, sizeof(cg->digest));
	strlcpy(cg->key, key, sizeof(cg->key));
	strlcpy(cg->name, name, sizeof(cg->name));
	cg->size = o.size;
	cg->fd = -1;
	if (o.size <= s3c.cache_size) {
		snprintf(cg->tmp, sizeof(cg->tmp), "tmp.%08x%08x",
		    arc4random(), arc4random());
		cg->fd = open(cg->tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	}
	if ((cg->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(cg->md, digest_md(digest), NULL) != 1 ||
	    pipe2(p, O_CLOEXEC) == -1 ||
	    fcntl(p[1], F_SETFL, O_NONBLOCK) == -1)
		goto undo;
	(void)fcntl(p[1], F_SETPIPE_SZ, STREAM_PIPE);
	cg->pfd = p[1];
	if (job_post(cold_run, cg) == -1)
		goto undo;
	body->fd = p[0];
	body->size = o.size;
	body->pipe = 1;
	return (0);
undo:
	if (p[0] != -1) {
		close(p[0]);
		close(p[1]);
	}
	if (cg->fd != -1) {
		close(cg->fd);
		(void)unlink(cg->tmp);
	}
	EVP_MD_CTX_free(cg->md);
	free(cg);
	__atomic_fetch_sub(&streams, 1, __ATOMIC_RELAXED);
	return (1);
fail:
	__atomic_fetch_sub(&streams, 1, __ATOMIC_RELAXED);
	return (-1);
}

static int64_t
seen_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static struct seen_ent *
seen_slot(const char *digest)
{
	return (&seen[store_hash(0, digest) % SEEN_SLOTS]);
}

/* 1 with *size when a HEAD found digest's object within SEEN_MS. */
static int
redir_seen_get(const char *digest, int64_t *size)
{
	struct seen_ent	*e = seen_slot(digest);
	int		 hit;

	pthread_mutex_lock(&seen_mtx);
	hit = strcmp(e->digest, digest) == 0 &&
	    seen_now() - e->at < SEEN_MS;
	if (hit)
		*size = e->size;
	pthread_mutex_unlock(&seen_mtx);
	return (hit);
}

/* size -1: forget digest. */
static void
redir_seen_put(const char *digest, int64_t size)
{
	struct seen_ent	*e = seen_slot(digest);

	pthread_mutex_lock(&seen_mtx);
	if (size >= 0) {
		strlcpy(e->digest, digest, sizeof(e->digest));
		e->size = size;
		e->at = seen_now();
	} else if (strcmp(e->digest, digest) == 0)
		e->digest[0] = '\0';
	pthread_mutex_unlock(&seen_mtx);
}

/* A 307 to a presigned GET of the blob's object. */
static int
blob_redirect(const char *digest, const char *key, struct be_body *body)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_obj	 o;

	C_OR_FAIL(c);
	if (!redir_seen_get(digest, &body->size)) {
		if (s3_head(c, key, &o, &err) == -1)
			return (s3fail("HEAD", key, &err));
		body->size = o.size;
		redir_seen_put(digest, o.size);
	}
	if (s3_presign_get(c, key, s3c.presign_expiry, body->url,
	    sizeof(body->url), &err) == -1)
		return (s3fail("PRESIGN", key, &err));
	return (0);
}

static int
s3b_blob_open(const char *digest, int want, struct be_body *body)
{
	struct cache_ent	*ce;
	struct stat		 st;
	char			 key[S3_KEY_MAX], name[MAX_DIGEST + 1];
	int			 fd, rv;

	body->fd = -1;
	body->url[0] = '\0';
	body->pipe = 0;
	if (blob_key(key, sizeof(key), digest) == -1)
		return (-1);
	if ((want & BE_WANT_URL) && s3c.redirect)
		return (blob_redirect(digest, key, body));
	if (!(want & BE_WANT_FD)) {
		errno = ENOTSUP;
		return (-1);
	}
	cache_name(digest, name, sizeof(name));
	pthread_mutex_lock(&cache_mtx);
	if ((ce = cache_find(name)) != NULL) {
		if ((fd = open(name, O_RDONLY | O_CLOEXEC)) != -1 &&
		    fstat(fd, &st) == 0 && st.st_size == ce->size) {
			ce->used = ++cache_clock;
			pthread_mutex_unlock(&cache_mtx);
			__atomic_fetch_add(&fig_hits, 1, __ATOMIC_RELAXED);
			body->fd = fd;
			body->size = st.st_size;
			return (0);
		}
		if (fd != -1)
			close(fd);
		cache_drop(ce);
	}
	pthread_mutex_unlock(&cache_mtx);
	__atomic_fetch_add(&fig_misses, 1, __ATOMIC_RELAXED);
	if ((want & BE_WANT_PIPE) && (rv = cold_start(digest, key, name,
	    body)) != 1)
		return (rv);
	return (cache_fill(digest, key, name, body));
}

static int
s3b_blob_remove(const char *digest)
{
	struct cache_ent	*ce;
	struct s3_obj		 o;
	char			 key[S3_KEY_MAX], name[MAX_DIGEST + 1];

	redir_seen_put(digest, -1);
	if (blob_key(key, sizeof(key), digest) == -1 ||
	    s3b_head(key, &o) == -1 || s3b_delete(key) == -1)
		return (-1);
	/* Its marker of use, if any: best effort. */
	if (used_key(key, sizeof(key), digest) == 0)
		(void)s3b_delete(key);
	cache_name(digest, name, sizeof(name));
	pthread_mutex_lock(&cache_mtx);
	if ((ce = cache_find(name)) != NULL)
		cache_drop(ce);
	pthread_mutex_unlock(&cache_mtx);
	return (0);
}

/* Moved (copied, then deleted) to "<root>/<dir>/<its key>". */
static int
s3b_move_aside(const char *key, const char *dir, char *to, size_t len)
{
	struct s3_obj	 o;
	char		 q[S3_KEY_MAX];

	if (strstr(dir, "..") != NULL || key_fmt(q, sizeof(q), "%s", "") ==
	    -1) {
		errno = EINVAL;
		return (-1);
	}
	/* The root, the directory, then the key past the root. */
	q[strlen(q) - strlen(ST_V2 "/")] = '\0';
	if (strlcat(q, dir, sizeof(q)) >= sizeof(q) ||
	    strlcat(q, "/", sizeof(q)) >= sizeof(q) ||
	    strlcat(q, key + strlen(pfx) - strlen(ST_V2 "/"), sizeof(q)) >=
	    sizeof(q)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if (s3b_head(key, &o) == -1 || s3b_copy(key, q, o.size) == -1 ||
	    s3b_delete(key) == -1)
		return (-1);
	snprintf(to, len, "s3://%s/%s", s3c.bucket, q);
	return (0);
}

static int
s3b_blob_quarantine(const char *digest, const char *dir, char *to,
    size_t len)
{
	char	 key[S3_KEY_MAX];

	redir_seen_put(digest, -1);
	if (blob_key(key, sizeof(key), digest) == -1)
		return (-1);
	return (s3b_move_aside(key, dir, to, len));
}

/* Uploads. */
static int
s3b_upload_begin(const char *repo, const char *uuid)
{
	struct tm	 tm;
	time_t		 now;
	char		 key[S3_KEY_MAX], ts[64];

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (upload_key(key, sizeof(key), repo, uuid, "startedat") == -1 ||
	    s3b_put(key, ts, strlen(ts)) == -1)
		return (-1);
	if (upload_key(key, sizeof(key), repo, uuid, "data") == -1 ||
	    s3b_put(key, "", 0) == -1)
		return (-1);
	if (upload_key(key, sizeof(key), repo, uuid, "regdstate") == -1 ||
	    s3b_put(key, REC_EMPTY, strlen(REC_EMPTY)) == -1)
		return (-1);
	return (0);
}

struct mp_find {
	const char	*key;
	const char	*want;		/* this id, or NULL: the latest */
	char		*id;
	time_t		 initiated;
	int		 found;
};

static int
mp_match(void *arg, const struct s3_upload *u)
{
	struct mp_find	*mf = arg;

	/* The latest of those of exactly this key, as Distribution. */
	if (strcmp(u->key, mf->key) != 0 || (mf->want != NULL &&
	    strcmp(u->upload_id, mf->want) != 0) ||
	    (mf->found && u->initiated < mf->initiated))
		return (0);
	strlcpy(mf->id, u->upload_id, S3_UPLOAD_ID_MAX + 1);
	mf->initiated = u->initiated;
	mf->found = 1;
	return (0);
}

/* A multipart upload of key (want, or the latest): 1 found (id), 0, -1. */
static int
mp_find(const char *key, const char *want, char *id, time_t *initiated)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct mp_find	 mf;

	C_OR_FAIL(c);
	memset(&mf, 0, sizeof(mf));
	mf.key = key;
	mf.want = want;
	mf.id = id;
	if (s3_mp_list_uploads(c, key, mp_match, &mf, &err) == -1)
		return (s3fail("LIST UPLOADS", key, &err));
	if (initiated != NULL)
		*initiated = mf.initiated;
	return (mf.found);
}

/* Part p at index nparts, over what was listed there. */
static int
part_add(void *arg, const struct s3_part *p)
{
	struct be_upload	*bu = arg;
	struct s3b_part		*np;
	int			 n;

	if (bu->nparts >= S3_PARTS_MAX)
		return (-1);
	n = bu->nparts + 1 > bu->nlisted ? bu->nparts + 1 : bu->nlisted;
	if ((np = reallocarray(bu->parts, n, sizeof(*np))) == NULL)
		return (-1);
	bu->parts = np;
	np[bu->nparts].number = p->number;
	strlcpy(np[bu->nparts].etag, p->etag, sizeof(np[0].etag));
	np[bu->nparts].size = p->size;
	bu->nparts++;
	if (bu->nparts > bu->nlisted)
		bu->nlisted = bu->nparts;
	return (0);
}

static int
part_cmp(const void *a, const void *b)
{
	return (((const struct s3b_part *)a)->number -
	    ((const struct s3b_part *)b)->number);
}

/* The parts of the upload found, numbered 1..n in a row. */
static int
parts_load(struct be_upload *bu)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	int		 i;

	C_OR_FAIL(c);
	bu->nparts = bu->nlisted = 0;
	if (s3_mp_list_parts(c, bu->key, bu->id, part_add, bu, &err) == -1)
		return (s3fail("LIST PARTS", bu->key, &err));
	qsort(bu->parts, bu->nparts, sizeof(*bu->parts), part_cmp);
	bu->psize = 0;
	for (i = 0; i < bu->nparts; i++) {
		if (bu->parts[i].number != i + 1)
			break;
		bu->psize += bu->parts[i].size;
	}
	/* Those after a gap (parts sent at once) are listed, not counted. */
	bu->nlisted = bu->nparts;
	bu->nparts = i;
	return (0);
}

/*
 * The record of what an upload holds, written when a handle closes
 * after a change ("regdstate" next to Distribution's files): its size,
 * and the multipart upload and parts that hold it, if any.  Parts or an
 * object beyond it were left by a request that failed half way; they
 * never count.  With no record (an upload another registry began),
 * what the store holds is the upload, as Distribution sees it.
 */

static int
rec_put(struct be_upload *bu)
{
	char	 key[S3_KEY_MAX], *buf;
	size_t	 len = 0, size;
	int	 i, n, rv;

	if (upload_key(key, sizeof(key), bu->repo, bu->uuid,
	    "regdstate") == -1)
		return (-1);
	size = 128 + S3_UPLOAD_ID_MAX + (size_t)bu->nparts * 64;
	if ((buf = malloc(size)) == NULL)
		return (-1);
	n = snprintf(buf, size, "regd upload 1\nsize %lld\nid %s\n",
	    (long long)(bu->id[0] != '\0' ? bu->psize : bu->osize),
	    bu->id[0] != '\0' ? bu->id : "-");
	len = n;
	for (i = 0; i < bu->nparts && len < size; i++) {
		n = snprintf(buf + len, size - len, "part %d %s %lld\n",
		    bu->parts[i].number, bu->parts[i].etag,
		    (long long)bu->parts[i].size);
		len += n;
	}
	if (len >= size) {
		free(buf);
		errno = EFBIG;
		return (-1);
	}
	rv = s3b_put(key, buf, len);
	free(buf);
	return (rv);
}

struct rec {
	int64_t		 size;
	char		 id[S3_UPLOAD_ID_MAX + 1];	/* "" none */
	struct s3b_part	*parts;
	int		 nparts;
};

/* 1 with the record, 0 there is none, -1 (EINVAL: malformed). */
static int
rec_get(const char *repo, const char *uuid, struct rec *r)
{
	struct s3b_part	*np;
	unsigned char	*buf;
	char		 key[S3_KEY_MAX], *line, *next, etag[S3_ETAG_MAX + 1];
	long long	 v;
	size_t		 len;
	int		 num, rv = 1;

	memset(r, 0, sizeof(*r));
	if (upload_key(key, sizeof(key), repo, uuid, "regdstate") == -1)
		return (-1);
	if (s3b_read(key, REC_MAX, &buf, &len, NULL) == -1)
		return (errno == ENOENT ? 0 : -1);
	line = (char *)buf;
	if (strncmp(line, "regd upload 1\n", 14) != 0)
		rv = -1;
	for (line += 14; rv == 1 && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next++ = '\0';
		if (sscanf(line, "size %lld", &v) == 1 && v >= 0)
			r->size = v;
		else if (strncmp(line, "id ", 3) == 0)
			strlcpy(r->id, strcmp(line + 3, "-") == 0 ? "" :
			    line + 3, sizeof(r->id));
		else if (sscanf(line, "part %d %128s %lld", &num, etag,
		    &v) == 3 && num == r->nparts + 1 &&
		    num <= S3_PARTS_MAX && v >= 0 &&
		    (np = reallocarray(r->parts, r->nparts + 1,
		    sizeof(*np))) != NULL) {
			r->parts = np;
			np[r->nparts].number = num;
			strlcpy(np[r->nparts].etag, etag, sizeof(np[0].etag));
			np[r->nparts++].size = v;
		} else
			rv = -1;
	}
	free(buf);
	if (rv == -1) {
		free(r->parts);
		r->parts = NULL;
		s3log("s3: %s: malformed", key);
		errno = EINVAL;
	}
	return (rv);
}

/* The listed parts begin with the recorded ones: those count. */
static int
rec_parts(struct be_upload *bu, const struct rec *r)
{
	int	 i;

	if (r->nparts > bu->nlisted)
		return (-1);
	bu->psize = 0;
	for (i = 0; i < r->nparts; i++) {
		if (strcmp(bu->parts[i].etag, r->parts[i].etag) != 0 ||
		    bu->parts[i].size != r->parts[i].size)
			return (-1);
		bu->psize += r->parts[i].size;
	}
	if (bu->psize != r->size)
		return (-1);
	bu->nparts = r->nparts;
	return (0);
}

/* The upload in the store as its record (or the store) says. */
static int
s3_upload_find(struct be_upload *bu, struct be_stat *bs)
{
	struct rec	 r;
	struct s3_obj	 o;
	time_t		 initiated;
	int		 have, rv;

	if ((have = rec_get(bu->repo, bu->uuid, &r)) == -1)
		return (-1);
	rv = 0;
	if (have == 0 || r.id[0] != '\0')
		rv = mp_find(bu->key, have ? r.id : NULL, bu->id, &initiated);
	if (rv == 1) {
		if (parts_load(bu) == -1 || (have && rec_parts(bu, &r) == -1)) {
			if (errno != EAGAIN)
				errno = EIO;
			rv = -1;
			goto done;
		}
		bs->size = bu->psize;
		bs->mtime = initiated;
	} else if (rv == 0) {
		bu->id[0] = '\0';
		if ((rv = s3b_head(bu->key, &o)) == -1)
			goto done;
		bu->osize = bu->oreal = o.size;
		/*
		 * A recorded multipart upload that is gone was completed
		 * into the object by a request that failed later on.
		 */
		if (have && r.size > o.size) {
			s3log("s3: upload %s: the store lost some of it",
			    bu->uuid);
			errno = EIO;
			rv = -1;
			goto done;
		}
		if (have)
			bu->osize = r.size;
		bs->size = bu->osize;
		bs->mtime = o.mtime;
	}
done:
	free(r.parts);
	return (rv);
}

/* What is kept of an upload: its size, and its handle if bup. */
static int
upload_load(const char *repo, const char *uuid, struct be_upload **bup,
    struct be_stat *bs)
{
	struct be_upload	*bu;
	struct s3_obj		 o;
	int			 saved;

	if ((bu = calloc(1, sizeof(*bu))) == NULL)
		return (-1);
	strlcpy(bu->repo, repo, sizeof(bu->repo));
	strlcpy(bu->uuid, uuid, sizeof(bu->uuid));
	if (upload_key(bu->key, sizeof(bu->key), repo, uuid, "data") == -1) {
		free(bu);
		errno = ENOENT;
		return (-1);
	}
	if (s3_upload_find(bu, bs) == -1)
		goto fail;
	/* The state saved after the last request, if any. */
	if (upload_key(o.key, sizeof(o.key), repo, uuid, "hashstate") == 0 &&
	    s3b_head(o.key, &o) == 0 && o.mtime > bs->mtime)
		bs->mtime = o.mtime;
	if (bup != NULL)
		*bup = bu;
	else {
		free(bu->parts);
		free(bu);
	}
	return (0);
fail:
	saved = errno;
	free(bu->parts);
	free(bu);
	errno = saved;
	return (-1);
}

static int
s3b_upload_open(const char *repo, const char *uuid, struct be_upload **bup,
    struct be_stat *bs)
{
	return (upload_load(repo, uuid, bup, bs));
}

static int
s3b_upload_stat(const char *repo, const char *uuid, struct be_stat *bs)
{
	return (upload_load(repo, uuid, NULL, bs));
}

/*
 * The multipart upload becomes the data object: every part it has,
 * of which those that count are its first bytes.
 */
static int
mp_finish(struct be_upload *bu)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_part	*p;
	int64_t		 all = 0;
	int		 i;

	C_OR_FAIL(c);
	if (bu->nlisted == 0) {
		/* Nothing to complete: an empty object, the upload gone. */
		if (s3_mp_abort(c, bu->key, bu->id, &err) == -1 &&
		    err.errnum != ENOENT)
			return (s3fail("ABORT", bu->key, &err));
		if (s3b_put(bu->key, "", 0) == -1)
			return (-1);
	} else {
		if ((p = calloc(bu->nlisted, sizeof(*p))) == NULL)
			return (-1);
		for (i = 0; i < bu->nlisted; i++) {
			p[i].number = bu->parts[i].number;
			strlcpy(p[i].etag, bu->parts[i].etag,
			    sizeof(p[i].etag));
			all += bu->parts[i].size;
		}
		i = s3_mp_complete(c, bu->key, bu->id, p, bu->nlisted, &err);
		free(p);
		if (i == -1)
			return (s3fail("COMPLETE", bu->key, &err));
	}
	bu->id[0] = '\0';
	bu->osize = bu->psize;
	bu->oreal = all;
	bu->nparts = bu->nlisted = 0;
	bu->psize = 0;
	return (0);
}

/* Start a multipart upload; an object there becomes its first parts. */
static int
mp_start(struct be_upload *bu)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_part	 p;
	int64_t		 off, len;
	int		 i, n;

	C_OR_FAIL(c);
	if (s3_mp_create(c, bu->key, bu->id, sizeof(bu->id), &err) == -1)
		return (s3fail("CREATE", bu->key, &err));
	bu->nparts = bu->nlisted = 0;
	bu->psize = 0;
	n = (int)(bu->osize / COPY_MAX);
	if (n == 0 && bu->osize > 0)
		n = 1;
	for (i = 0, off = 0; i < n; i++, off += len) {
		len = i == n - 1 ? bu->osize - off : COPY_MAX;
		if (s3_mp_copy_part(c, bu->key, bu->id, i + 1, bu->key, off,
		    len, &p, &err) == -1)
			return (s3fail("COPY PART", bu->key, &err));
	}
	/*
	 * The copied parts as the store lists them: RGW answers a copy of
	 * a multipart object with an ETag its Complete then refuses.
	 */
	if (n > 0 && parts_load(bu) == -1)
		return (-1);
	if (bu->psize != bu->osize) {
		s3log("s3: %s: copied %lld bytes of %lld", bu->key,
		    (long long)bu->psize, (long long)bu->osize);
		errno = EIO;
		return (-1);
	}
	bu->osize = 0;
	return (0);
}

static int
upload_ready(struct be_upload *bu)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	size_t		 got;

	if (bu->ready)
		return (0);
	C_OR_FAIL(c);
	/* A short last part, or parts that do not count, end it. */
	if (bu->id[0] != '\0' && ((bu->nparts > 0 &&
	    bu->parts[bu->nparts - 1].size < MIN_PART) ||
	    bu->nlisted > bu->nparts) && mp_finish(bu) == -1)
		return (-1);
	if (bu->tail == NULL && (bu->tail = malloc(PART_SIZE)) == NULL)
		return (-1);
	if (bu->id[0] == '\0' && bu->osize > 0 && bu->osize < MIN_PART) {
		if (s3_get_range(c, bu->key, 0, bu->osize, bu->tail, &got,
		    NULL, &err) == -1)
			return (s3fail("GET", bu->key, &err));
		if ((int64_t)got != bu->osize) {
			errno = EIO;
			return (-1);
		}
		bu->tlen = got;
		bu->osize = 0;
	}
	bu->ready = 1;
	return (0);
}
/* A part's PUT, by whichever thread runs it. */
static void
part_send(struct part_job *pj)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_part	 p;

	memset(&p, 0, sizeof(p));
	if ((c = conn()) == NULL)
		pj->err = EIO;
	else if (s3_mp_put_part(c, pj->key, pj->id, pj->number, pj->buf,
	    pj->len, &p, &err) == -1) {
		s3fail("PUT PART", pj->key, &err);
		pj->err = errno;
	} else
		strlcpy(pj->etag, p.etag, sizeof(pj->etag));
}

/* With part_mtx held: one reference less. */
static void
part_unref(struct part_job *pj)
{
	if (--pj->refs > 0)
		return;
	free(pj->buf);
	free(pj);
}

/* A job thread's work: nothing when the upload took the part back. */
static void
part_job_run(void *arg)
{
	struct part_job	*pj = arg;

	pthread_mutex_lock(&part_mtx);
	if (pj->state != PJ_QUEUED) {
		part_unref(pj);
		pthread_mutex_unlock(&part_mtx);
		return;
	}
	pj->state = PJ_RUNNING;
	pthread_mutex_unlock(&part_mtx);
	part_send(pj);
	pthread_mutex_lock(&part_mtx);
	pj->state = PJ_DONE;
	part_unref(pj);
	pthread_cond_broadcast(&part_cv);
	pthread_mutex_unlock(&part_mtx);
}

/*
 * A part that came back joins the list: it counts unless one sent
 * before it failed, then it is only listed (it is in the store).
 */
static void
part_count(struct be_upload *bu, struct part_job *pj)
{
	struct s3b_part	*np;
	struct s3_part	 p;

	if (pj->err != 0) {
		if (bu->ferr == 0)
			bu->ferr = pj->err;
		return;
	}
	memset(&p, 0, sizeof(p));
	p.number = pj->number;
	strlcpy(p.etag, pj->etag, sizeof(p.etag));
	p.size = pj->len;
	if (bu->ferr == 0 && bu->nlisted == bu->nparts) {
		if (part_add(bu, &p) == -1)
			bu->ferr = ENOMEM;
		else
			bu->psize += pj->len;
		return;
	}
	if ((np = reallocarray(bu->parts, bu->nlisted + 1,
	    sizeof(*np))) == NULL) {
		bu->ferr = ENOMEM;
		return;
	}
	bu->parts = np;
	np[bu->nlisted].number = p.number;
	strlcpy(np[bu->nlisted].etag, p.etag, sizeof(np[0].etag));
	np[bu->nlisted++].size = p.size;
}

/*
 * The oldest parts sent, in their order, until no more than keep are
 * on their way: each waited for (or sent here when no thread has begun
 * it), then listed.  -1 with the errno of the first that failed.
 */
static int
parts_collect(struct be_upload *bu, int keep)
{
	struct part_job	*pj;

	pthread_mutex_lock(&part_mtx);
	while (bu->nfly > keep) {
		pj = bu->fly[0];
		if (pj->state == PJ_QUEUED) {
			pj->state = PJ_RUNNING;
			pthread_mutex_unlock(&part_mtx);
			part_send(pj);
			pthread_mutex_lock(&part_mtx);
			pj->state = PJ_DONE;
		}
		while (pj->state != PJ_DONE)
			pthread_cond_wait(&part_cv, &part_mtx);
		bu->nfly--;
		memmove(bu->fly, bu->fly + 1, bu->nfly * sizeof(bu->fly[0]));
		parts_all--;
		pthread_mutex_unlock(&part_mtx);
		part_count(bu, pj);
		pthread_mutex_lock(&part_mtx);
		if (bu->spare == NULL) {
			bu->spare = pj->buf;
			pj->buf = NULL;
		}
		part_unref(pj);
	}
	pthread_mutex_unlock(&part_mtx);
	if (bu->ferr != 0) {
		errno = bu->ferr;
		return (-1);
	}
	return (0);
}

/* The tail goes out as the next part, once those sent are back. */
static int
tail_flush(struct be_upload *bu)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	struct s3_part	 p;
	int		 n;

	C_OR_FAIL(c);
	if (parts_collect(bu, 0) == -1)
		return (-1);
	if (bu->id[0] == '\0' && mp_start(bu) == -1)
		return (-1);
	n = bu->nparts + 1;
	memset(&p, 0, sizeof(p));
	if (s3_mp_put_part(c, bu->key, bu->id, n, bu->tail, bu->tlen, &p,
	    &err) == -1)
		return (s3fail("PUT PART", bu->key, &err));
	p.number = n;
	if (part_add(bu, &p) == -1)
		return (-1);
	bu->parts[n - 1].size = bu->tlen;
	bu->psize += bu->tlen;
	bu->tlen = 0;
	return (0);
}

/*
 * A full tail goes out as the next part, sent by a job thread while
 * the upload takes more bytes: up to PARTS_FLY of an upload at once
 * (PARTS_ALL in all), the next full tail waits for the oldest.
 */
static int
tail_send(struct be_upload *bu)
{
	struct part_job	*pj = NULL;
	unsigned char	*nb;
	int		 room;

	if (bu->id[0] == '\0' && mp_start(bu) == -1)
		return (-1);
	if (parts_collect(bu, PARTS_FLY - 1) == -1)
		return (-1);
	pthread_mutex_lock(&part_mtx);
	if ((room = parts_all < PARTS_ALL && job_ready()))
		parts_all++;
	pthread_mutex_unlock(&part_mtx);
	if (!room)
		return (tail_flush(bu));
	nb = bu->spare;
	bu->spare = NULL;
	if ((nb == NULL && (nb = malloc(PART_SIZE)) == NULL) ||
	    (pj = calloc(1, sizeof(*pj))) == NULL) {
		free(nb);
		pthread_mutex_lock(&part_mtx);
		parts_all--;
		pthread_mutex_unlock(&part_mtx);
		return (tail_flush(bu));
	}
	strlcpy(pj->key, bu->key, sizeof(pj->key));
	strlcpy(pj->id, bu->id, sizeof(pj->id));
	pj->number = bu->nparts + bu->nfly + 1;
	pj->buf = bu->tail;
	pj->len = bu->tlen;
	pj->refs = 2;
	pj->state = PJ_QUEUED;
	bu->tail = nb;
	bu->tlen = 0;
	bu->fly[bu->nfly++] = pj;
	if (job_post(part_job_run, pj) == -1) {
		/* No thread will: parts_collect sends it. */
		pthread_mutex_lock(&part_mtx);
		pj->refs--;
		pthread_mutex_unlock(&part_mtx);
	}
	return (0);
}

static int
s3b_upload_append(struct be_upload *bu, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 n;

	if (bu->gone)
		return (0);
	if (upload_ready(bu) == -1)
		return (-1);
	bu->dirty = 1;
	while (len > 0) {
		n = PART_SIZE - bu->tlen;
		if (n > len)
			n = len;
		memcpy(bu->tail + bu->tlen, p, n);
		bu->tlen += n;
		p += n;
		len -= n;
		if (bu->tlen == PART_SIZE && tail_send(bu) == -1)
			return (-1);
	}
	return (0);
}

static ssize_t
s3b_upload_read(struct be_upload *bu, void *buf, size_t len, int64_t off)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	int64_t		 base;
	size_t		 got;

	C_OR_FAIL(c);
	if (parts_collect(bu, 0) == -1)
		return (-1);
	base = bu->id[0] != '\0' ? bu->psize : bu->osize;
	if (off < 0 || off >= base + (int64_t)bu->tlen || len == 0)
		return (0);
	if (off >= base) {
		if (len > bu->tlen - (off - base))
			len = bu->tlen - (off - base);
		memcpy(buf, bu->tail + (off - base), len);
		return (len);
	}
	/*
	 * Parts cannot be read: they become the object first (of which
	 * the first base bytes count; the next part sent copies them).
	 */
	if (bu->id[0] != '\0' && mp_finish(bu) == -1)
		return (-1);
	if ((int64_t)len > base - off)
		len = base - off;
	if (s3_get_range(c, bu->key, off, len, buf, &got, NULL, &err) == -1)
		return (s3fail("GET", bu->key, &err));
	return (got);
}

static int
s3b_upload_truncate(struct be_upload *bu, int64_t off)
{
	int64_t	 base;

	/*
	 * After a part that failed, those that did not count become the
	 * object with the rest (its first bytes count): a known state.
	 */
	if (parts_collect(bu, 0) == -1) {
		bu->ferr = 0;
		if (bu->id[0] != '\0' && bu->nlisted > bu->nparts &&
		    mp_finish(bu) == -1)
			return (-1);
	}
	base = bu->id[0] != '\0' ? bu->psize : bu->osize;
	if (off < 0 || off >= base + (int64_t)bu->tlen)
		return (0);
	bu->dirty = 1;
	if (off >= base) {
		bu->tlen = off - base;
		return (0);
	}
	/*
	 * Parts cannot be taken back, and RGW completes no upload with
	 * some of its parts left out: all become the object, of which
	 * the first off bytes count.
	 */
	if (bu->id[0] != '\0' && mp_finish(bu) == -1)
		return (-1);
	bu->osize = off;
	bu->tlen = 0;
	bu->ready = 0;
	return (0);
}
/* Is the session still there (not aborted or committed elsewhere)? */
static int
upload_alive(struct be_upload *bu)
{
	struct s3_obj	 o;
	char		 key[S3_KEY_MAX];

	if (upload_key(key, sizeof(key), bu->repo, bu->uuid,
	    "startedat") == -1)
		return (0);
	if (s3b_head(key, &o) == -1)
		return (errno == ENOENT ? 0 : -1);
	return (1);
}

/*
 * Leave the upload in the bucket as it is now: the tail as a last part
 * (or, with no parts at all, as the data object), then the record of
 * what counts.  Until the record is written, what this handle sent
 * does not count: a failure leaves the upload as it was.
 */
static int
upload_save(struct be_upload *bu)
{
	struct s3_err	 err;
	int		 alive, failed;

	/* The parts on their way first: a PATCH counts once all are in. */
	failed = parts_collect(bu, 0) == -1;
	if (bu->gone || !bu->dirty)
		return (0);
	if (failed)
		return (-1);
	if ((alive = upload_alive(bu)) == -1)
		return (-1);
	if (alive == 0) {
		bu->gone = 1;
		if (bu->id[0] != '\0')
			(void)s3_mp_abort(conn(), bu->key, bu->id, &err);
		return (0);
	}
	if (bu->id[0] == '\0' && bu->osize == 0) {
		if (s3b_put(bu->key, bu->tail, bu->tlen) == -1)
			return (-1);
		bu->osize = bu->oreal = bu->tlen;
		bu->tlen = 0;
	} else if (bu->tlen > 0 && tail_flush(bu) == -1)
		return (-1);
	if (rec_put(bu) == -1)
		return (-1);
	bu->dirty = 0;
	bu->ready = 0;
	return (0);
}

/*
 * No more in the data object than what counts (after a truncation):
 * its first bytes read back or copied into a new multipart upload.
 */
static int
upload_exact(struct be_upload *bu)
{
	if (bu->id[0] != '\0' || bu->osize == 0 || bu->oreal == bu->osize)
		return (0);
	if (upload_ready(bu) == -1)
		return (-1);
	if (bu->id[0] == '\0' && bu->osize > 0 && mp_start(bu) == -1)
		return (-1);
	return (0);
}
static int
s3b_upload_sync(struct be_upload *bu)
{
	if (bu->gone || upload_save(bu) == -1 || bu->gone) {
		if (bu->gone)
			errno = ENOENT;
		return (-1);
	}
	return (0);
}

static void
s3b_upload_close(struct be_upload *bu)
{
	if (bu == NULL)
		return;
	if (upload_save(bu) == -1)
		s3log("s3: upload %s: cannot save its state", bu->uuid);
	(void)parts_collect(bu, 0);
	free(bu->parts);
	free(bu->tail);
	free(bu->spare);
	free(bu);
}

static int
s3_upload_remove(const char *repo, const char *uuid)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	char		 key[S3_KEY_MAX], id[S3_UPLOAD_ID_MAX + 1];
	int		 rv;

	C_OR_FAIL(c);
	if (upload_key(key, sizeof(key), repo, uuid, "data") == -1)
		return (-1);
	while ((rv = mp_find(key, NULL, id, NULL)) == 1)
		if (s3_mp_abort(c, key, id, &err) == -1 &&
		    err.errnum != ENOENT)
			return (s3fail("ABORT", key, &err));
	if (rv == -1)
		return (-1);
	if (upload_key(key, sizeof(key), repo, uuid, "") == -1)
		return (-1);
	return (s3b_rmtree(key));
}

/* The bytes become the blob: completed, copied in the bucket, checked. */
static int
s3b_upload_commit(struct be_upload *bu, const char *digest)
{
	struct s3_obj	 o;
	char		 key[S3_KEY_MAX];
	int64_t		 size;
	int		 made = 0;

	if (parts_collect(bu, 0) == -1)
		return (-1);
	if (bu->gone || !upload_alive(bu)) {
		errno = ENOENT;
		return (-1);
	}
	if (blob_key(key, sizeof(key), digest) == -1)
		return (-1);
	size = (bu->id[0] != '\0' ? bu->psize : bu->osize) + bu->tlen;
	if (s3b_head(key, &o) == 0)
		goto done;
	if (errno != ENOENT)
		return (-1);
	/* No short last part, no part or byte that does not count. */
	if (upload_ready(bu) == -1 || upload_exact(bu) == -1)
		return (-1);
	if (bu->id[0] == '\0' && bu->osize == 0) {
		/* All of it is in memory: straight to its place. */
		if (s3b_put(key, bu->tail, bu->tlen) == -1)
			return (-1);
	} else {
		if (bu->tlen > 0 && tail_flush(bu) == -1)
			return (-1);
		if (bu->id[0] != '\0' && mp_finish(bu) == -1)
			return (-1);
		if (s3b_copy(bu->key, key, size) == -1)
			return (-1);
	}
	if (s3b_head(key, &o) == -1)
		return (-1);
	if (o.size != size) {
		s3log("s3: %s: %lld bytes, not %lld", key,
		    (long long)o.size, (long long)size);
		(void)s3b_delete(key);
		errno = EIO;
		return (-1);
	}
	made = 1;
done:
	bu->gone = 1;
	if (s3_upload_remove(bu->repo, bu->uuid) == -1)
		s3log("s3: upload %s: cannot remove: %s", bu->uuid,
		    strerror(errno));
	return (made);
}

static int
s3b_upload_abort(const char *repo, const char *uuid)
{
	return (s3_upload_remove(repo, uuid));
}

static void
s3b_upload_state_put(const char *repo, const char *uuid, const void *buf,
    size_t len)
{
	char	 key[S3_KEY_MAX];

	if (upload_key(key, sizeof(key), repo, uuid, "hashstate") == 0)
		(void)s3b_put(key, buf, len);
}

static ssize_t
s3b_upload_state_get(const char *repo, const char *uuid, void *buf,
    size_t len)
{
	unsigned char	*p;
	size_t		 n;
	char		 key[S3_KEY_MAX];

	if (upload_key(key, sizeof(key), repo, uuid, "hashstate") == -1 ||
	    s3b_read(key, STATE_MAX, &p, &n, NULL) == -1)
		return (-1);
	if (n > len)
		n = len;
	memcpy(buf, p, n);
	free(p);
	return (n);
}

/* Links and tags. */
static int
s3b_link_get(const char *repo, enum be_link kind, const char *digest,
    struct be_stat *bs)
{
	char	 key[S3_KEY_MAX];

	if (link_key(key, sizeof(key), repo, kind, digest) == -1)
		return (-1);
	return (s3b_stat(key, bs));
}

static int
s3b_link_put(const char *repo, enum be_link kind, const char *digest)
{
	struct s3_obj	 o;
	char		 key[S3_KEY_MAX];
	int		 had;

	if (link_key(key, sizeof(key), repo, kind, digest) == -1)
		return (-1);
	if ((had = s3b_head(key, &o)) == -1 && errno != ENOENT)
		return (-1);
	if (s3b_put(key, digest, strlen(digest)) == -1)
		return (-1);
	return (had == -1);
}

static int
s3b_link_del(const char *repo, enum be_link kind, const char *digest)
{
	char	 key[S3_KEY_MAX];

	if (link_key(key, sizeof(key), repo, kind, digest) == -1)
		return (-1);
	return (s3b_delete(key));
}

/* A link object's digest, checked: 0, or -1 (EINVAL malformed). */
static int
read_link(const char *key, char *digest, size_t len, time_t *mtime)
{
	unsigned char	*buf;
	size_t		 got;
	int		 rv = 0;

	if (s3b_read(key, LINK_MAX, &buf, &got, mtime) == -1) {
		if (errno == EFBIG)
			errno = EINVAL;
		return (-1);
	}
	while (got > 0 && isspace(buf[got - 1]))
		buf[--got] = '\0';
	if (!store_digest_ok((char *)buf) ||
	    strlcpy(digest, (char *)buf, len) >= len) {
		errno = EINVAL;
		rv = -1;
	}
	free(buf);
	return (rv);
}

static int
s3b_tag_get(const char *repo, const char *tag, char *digest, size_t len,
    struct be_stat *bs)
{
	char	 key[S3_KEY_MAX];
	time_t	 mtime = 0;

	if (tag_key(key, sizeof(key), repo, tag, "current/link") == -1 ||
	    read_link(key, digest, len, &mtime) == -1)
		return (-1);
	if (bs != NULL) {
		bs->size = 0;
		bs->mtime = mtime;
	}
	return (0);
}

/* The index link first, then current: as Distribution writes a tag. */
static int
s3b_tag_set(const char *repo, const char *tag, const char *digest)
{
	char		 key[S3_KEY_MAX], alg[16], file[256];
	const char	*hex;

	if (!store_digest_ok(digest)) {
		errno = EINVAL;
		return (-1);
	}
	digest_split(digest, alg, sizeof(alg), &hex);
	snprintf(file, sizeof(file), "index/%s/%s/link", alg, hex);
	if (tag_key(key, sizeof(key), repo, tag, file) == -1 ||
	    s3b_put(key, digest, strlen(digest)) == -1)
		return (-1);
	if (tag_key(key, sizeof(key), repo, tag, "current/link") == -1 ||
	    s3b_put(key, digest, strlen(digest)) == -1)
		return (-1);
	return (0);
}

static int
s3b_tag_del(const char *repo, const char *tag)
{
	char	 key[S3_KEY_MAX];

	if (tag_key(key, sizeof(key), repo, tag, "") == -1)
		return (-1);
	return (s3b_rmtree(key));
}

static int
repo_part_any(const char *repo, const char *part)
{
	char	 key[S3_KEY_MAX];

	if (key_fmt(key, sizeof(key), "repositories/%s/%s/", repo,
	    part) == -1)
		return (0);
	return (s3b_any(key) == 1);
}

static int
s3b_repo_exists(const char *repo, int withuploads)
{
	if (!valid_name(repo))
		return (0);
	return (repo_part_any(repo, "_manifests") ||
	    repo_part_any(repo, "_layers") ||
	    (withuploads && repo_part_any(repo, "_uploads")));
}

static void
s3_rm_report(const char *key, void (*report)(void *, const char *, int),
    void *arg)
{
	if (report != NULL)
		report(arg, key, errno);
}

/* Its links and uploads, not nested repositories. */
static int
s3b_repo_remove(const char *repo, void (*report)(void *, const char *,
    int), void *arg)
{
	const char	*parts[] = { "_manifests", "_layers" };
	struct names	 ns;
	char		 key[S3_KEY_MAX];
	size_t		 i;
	int		 rv = 0;

	if (!valid_name(repo)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (key_fmt(key, sizeof(key), "repositories/%s/%s/", repo,
		    parts[i]) == -1 || s3b_rmtree(key) == -1) {
			s3_rm_report(key, report, arg);
			rv = -1;
		}
	}
	memset(&ns, 0, sizeof(ns));
	if (be->upload_walk(repo, names_each, &ns) == -1)
		rv = -1;
	for (i = 0; i < ns.n; i++)
		if (s3_upload_remove(repo, ns.v[i]) == -1) {
			s3_rm_report(ns.v[i], report, arg);
			rv = -1;
		}
	names_free(&ns);
	return (rv);
}

/* The names of the "directories" right under prefix. */
struct subdirs {
	size_t		 plen;
	struct names	*ns;
};

static int
subdir_add(void *arg, const struct s3_obj *o)
{
	struct subdirs	*sd = arg;
	char		 name[S3_KEY_MAX + 1];
	size_t		 n;

	if (!o->is_prefix || strlen(o->key) <= sd->plen + 1)
		return (0);
	n = strlcpy(name, o->key + sd->plen, sizeof(name));
	if (n > 0 && name[n - 1] == '/')
		name[n - 1] = '\0';
	return (names_add(sd->ns, name) == -1 ? -1 : 0);
}

static int
subdirs(const char *prefix, struct names *ns)
{
	struct subdirs	 sd;

	sd.plen = strlen(prefix);
	sd.ns = ns;
	return (s3b_list(prefix, "/", subdir_add, &sd));
}

static int
s3_walk_repos(const char *name, int depth, int any, be_each fn, void *arg)
{
	struct names	 ns;
	char		 key[S3_KEY_MAX], sub[PATH_MAX];
	size_t		 i;
	int		 rv = 0, here;

	if (depth > MAX_NAME / 2)
		return (0);
	if (key_fmt(key, sizeof(key), "repositories/%s%s", name,
	    name[0] != '\0' ? "/" : "") == -1)
		return (0);
	memset(&ns, 0, sizeof(ns));
	if (subdirs(key, &ns) == -1) {
		names_free(&ns);
		return (-1);
	}
	/* Like Distribution, a repository of layer links only counts. */
	here = name[0] != '\0' && (names_has(&ns, "_manifests") ||
	    names_has(&ns, "_layers") || (any && names_has(&ns, "_uploads")));
	if (here && fn(arg, name, NULL) != 0)
		rv = -1;
	for (i = 0; i < ns.n && rv == 0; i++) {
		if (ns.v[i][0] == '_' || snprintf(sub, sizeof(sub), "%s%s%s",
		    name, name[0] != '\0' ? "/" : "", ns.v[i]) >=
		    (int)sizeof(sub) || !valid_name(sub))
			continue;
		rv = s3_walk_repos(sub, depth + 1, any, fn, arg);
	}
	names_free(&ns);
	return (rv);
}

static int
s3b_repo_walk(int any, be_each fn, void *arg)
{
	return (s3_walk_repos("", 0, any, fn, arg));
}

/* Every key under a prefix, "<what>/link" ones told by their <what>. */
struct linkwalk {
	size_t		 plen;
	const char	*suffix;	/* must end the key */
	int		 digests;	/* <alg>/<hex> is a digest */
	be_each		 fn;
	void		*arg;
	int		 stopped;
};

/* One key found: told to the walk's function, which may stop it. */
static int
walk_emit(struct linkwalk *lw, const char *name, const struct s3_obj *o)
{
	struct be_stat	 bs;

	bs.size = o->size;
	bs.mtime = o->mtime;
	if (lw->fn(lw->arg, name, &bs) != 0) {
		lw->stopped = 1;
		return (-1);
	}
	return (0);
}

/* Every key under prefix to each, with a linkwalk for fn. */
static int
walk_list(const char *prefix, s3_obj_cb each, const char *suffix,
    int digests, be_each fn, void *arg)
{
	struct linkwalk	 lw;

	memset(&lw, 0, sizeof(lw));
	lw.plen = strlen(prefix);
	lw.suffix = suffix;
	lw.digests = digests;
	lw.fn = fn;
	lw.arg = arg;
	return (s3b_list(prefix, NULL, each, &lw));
}

static int
link_each(void *arg, const struct s3_obj *o)
{
	struct linkwalk	*lw = arg;
	char		 name[S3_KEY_MAX + 1], *slash;
	size_t		 n, sl;

	if (o->is_prefix || strlen(o->key) <= lw->plen)
		return (0);
	n = strlcpy(name, o->key + lw->plen, sizeof(name));
	sl = strlen(lw->suffix);
	if (n <= sl || strcmp(name + n - sl, lw->suffix) != 0)
		return (0);
	name[n - sl] = '\0';
	if (lw->digests) {
		if ((slash = strchr(name, '/')) == NULL)
			return (0);
		*slash = ':';
		if (!store_digest_ok(name))
			return (0);
	} else if (!valid_tag(name))
		return (0);
	return (walk_emit(lw, name, o));
}

static int
walk_keys(const char *prefix, const char *suffix, int digests, be_each fn,
    void *arg)
{
	if (walk_list(prefix, link_each, suffix, digests, fn, arg) == -1)
		return (-1);
	return (0);
}

static int
s3b_tag_walk(const char *repo, be_each fn, void *arg)
{
	char	 key[S3_KEY_MAX];

	if (!valid_name(repo) || key_fmt(key, sizeof(key),
	    "repositories/%s/_manifests/tags/", repo) == -1)
		return (-1);
	return (walk_keys(key, "/current/link", 0, fn, arg));
}

static int
s3b_link_walk(const char *repo, enum be_link kind, be_each fn, void *arg)
{
	char	 key[S3_KEY_MAX];

	if (!valid_name(repo) || key_fmt(key, sizeof(key),
	    "repositories/%s/%s/", repo, s3_link_kind(kind)) == -1)
		return (-1);
	return (walk_keys(key, "/link", 1, fn, arg));
}

static int
s3b_upload_walk(const char *repo, be_each fn, void *arg)
{
	struct names	 ns;
	struct be_stat	 bs;
	char		 key[S3_KEY_MAX];
	size_t		 i;
	int		 rv = 0;

	if (!valid_name(repo) || key_fmt(key, sizeof(key),
	    "repositories/%s/_uploads/", repo) == -1)
		return (-1);
	memset(&ns, 0, sizeof(ns));
	if (subdirs(key, &ns) == -1) {
		names_free(&ns);
		return (-1);
	}
	for (i = 0; i < ns.n && rv == 0; i++) {
		if (!valid_uuid(ns.v[i]))
			continue;
		/* No data: a session begun or ended half way, stale. */
		if (upload_load(repo, ns.v[i], NULL, &bs) == -1) {
			bs.size = 0;
			bs.mtime = 0;
		}
		if (fn(arg, ns.v[i], &bs) != 0)
			rv = -1;
	}
	names_free(&ns);
	return (rv);
}

/* "<alg>/<2 hex>/<hex>/data" under blobs/: one listing, no delimiter. */
static int
blob_each(void *arg, const struct s3_obj *o)
{
	struct linkwalk	*lw = arg;
	char		 name[S3_KEY_MAX + 1], dg[MAX_DIGEST + 1];
	char		*a, *two, *hex, *file;

	if (o->is_prefix || strlen(o->key) <= lw->plen)
		return (0);
	strlcpy(name, o->key + lw->plen, sizeof(name));
	a = name;
	if ((two = strchr(a, '/')) == NULL)
		return (0);
	*two++ = '\0';
	if ((hex = strchr(two, '/')) == NULL)
		return (0);
	*hex++ = '\0';
	if ((file = strchr(hex, '/')) == NULL)
		return (0);
	*file++ = '\0';
	if (strcmp(file, "data") != 0 || strlen(two) != 2 ||
	    strncmp(two, hex, 2) != 0 ||
	    snprintf(dg, sizeof(dg), "%s:%s", a, hex) >= (int)sizeof(dg) ||
	    !store_digest_ok(dg))
		return (0);
	return (walk_emit(lw, dg, o));
}

static int
s3b_blob_walk(be_each fn, void *arg)
{
	char	 key[S3_KEY_MAX];

	if (key_fmt(key, sizeof(key), "blobs/") == -1)
		return (-1);
	return (walk_list(key, blob_each, NULL, 0, fn, arg));
}

/* fsck: every link object of every repository, read and checked. */
struct lcheck {
	be_linkfn	 fn;
	void		*arg;
	size_t		 plen;
	int		 kind;		/* 0 layers, 1 revisions, 2 tags */
	int		 stop;
};

static int
lcheck_each(void *arg, const struct s3_obj *o)
{
	struct lcheck	*lc = arg;
	char		 rel[S3_KEY_MAX + 1], dg[MAX_DIGEST + 1];
	char		 expect[MAX_DIGEST + 1], *p, *e;
	const char	*where;
	size_t		 n;
	int		 ok, hasexp = 0;

	if (o->is_prefix || (n = strlen(o->key)) <= lc->plen ||
	    strcmp(o->key + n - 5, "/link") != 0)
		return (0);
	strlcpy(rel, o->key + lc->plen, sizeof(rel));
	rel[strlen(rel) - 5] = '\0';
	/* rel: "<alg>/<hex>" or "<tag>/current" or "<tag>/index/<a>/<h>" */
	p = rel;
	if (lc->kind == 2) {
		if ((p = strchr(rel, '/')) == NULL)
			return (0);
		p++;
		if (strcmp(p, "current") == 0)
			p = NULL;
		else if (strncmp(p, "index/", 6) == 0)
			p += 6;
		else
			return (0);
	}
	if (p != NULL && (e = strchr(p, '/')) != NULL && strchr(e + 1, '/') ==
	    NULL) {
		snprintf(expect, sizeof(expect), "%.*s:%s", (int)(e - p), p,
		    e + 1);
		hasexp = 1;
	} else if (p != NULL)
		return (0);
	where = o->key + strlen(pfx) - strlen(ST_V2 "/");
	ok = read_link(o->key, dg, sizeof(dg), NULL) == 0;
	if (lc->fn(lc->arg, where, ok ? dg : NULL, hasexp ? expect : NULL,
	    lc->kind == 0) != 0) {
		lc->stop = 1;
		return (-1);
	}
	return (0);
}

static int
s3b_link_check(be_linkfn fn, void *arg)
{
	const char	*dirs[] = { "_layers/", "_manifests/revisions/",
			    "_manifests/tags/" };
	struct lcheck	 lc;
	struct names	 repos;
	char		 key[S3_KEY_MAX];
	size_t		 i;
	int		 k;

	memset(&repos, 0, sizeof(repos));
	memset(&lc, 0, sizeof(lc));
	lc.fn = fn;
	lc.arg = arg;
	if (s3b_repo_walk(1, names_each, &repos) == -1) {
		names_free(&repos);
		return (-1);
	}
	names_sort(&repos);
	for (i = 0; i < repos.n && !lc.stop; i++)
		for (k = 0; k < 3 && !lc.stop; k++) {
			if (key_fmt(key, sizeof(key), "repositories/%s/%s",
			    repos.v[i], dirs[k]) == -1)
				continue;
			lc.plen = strlen(key);
			lc.kind = k;
			(void)s3b_list(key, NULL, lcheck_each, &lc);
		}
	names_free(&repos);
	return (0);
}

/* A link_check place: "docker/registry/v2/repositories/.../link". */
static int
where_key(const char *where, char *key, size_t len)
{
	size_t	 n;

	n = strlen(ST_V2 "/repositories/");
	if (strncmp(where, ST_V2 "/repositories/", n) != 0 ||
	    strstr(where, "/../") != NULL || (n = strlen(where)) <= 5 ||
	    strcmp(where + n - 5, "/link") != 0 ||
	    key_fmt(key, len, "%s", where + strlen(ST_V2 "/")) == -1) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

static int
s3b_link_quarantine(const char *where, const char *dir, char *to,
    size_t len)
{
	char	 key[S3_KEY_MAX];

	if (where_key(where, key, sizeof(key)) == -1)
		return (-1);
	return (s3b_move_aside(key, dir, to, len));
}

static int
s3b_link_remove(const char *where)
{
	char	 key[S3_KEY_MAX];

	if (where_key(where, key, sizeof(key)) == -1)
		return (-1);
	return (s3b_delete(key));
}

/* A use of a blob: its marker put, so other instances' GC see it. */
static int
s3b_blob_touch(const char *digest)
{
	char	 key[S3_KEY_MAX];

	if (used_key(key, sizeof(key), digest) == -1)
		return (-1);
	return (s3b_put(key, "", 0));
}

static int
s3b_blob_touched(const char *digest, struct be_stat *bs)
{
	char	 key[S3_KEY_MAX];

	if (used_key(key, sizeof(key), digest) == -1)
		return (-1);
	return (s3b_stat(key, bs));
}

/* Every marker of use: "<alg>/<hex>" under _regd/used/. */
static int
marker_each(void *arg, const struct s3_obj *o)
{
	struct linkwalk	*lw = arg;
	char		 dg[MAX_DIGEST + 1], *slash;

	if (o->is_prefix || strlen(o->key) <= lw->plen ||
	    strlcpy(dg, o->key + lw->plen, sizeof(dg)) >= sizeof(dg) ||
	    (slash = strchr(dg, '/')) == NULL)
		return (0);
	*slash = ':';
	if (!store_digest_ok(dg))
		return (0);
	return (walk_emit(lw, dg, o));
}

static int
s3b_touch_walk(be_each fn, void *arg)
{
	char	 key[S3_KEY_MAX];

	if (key_fmt(key, sizeof(key), "_regd/used/") == -1)
		return (-1);
	return (walk_list(key, marker_each, NULL, 0, fn, arg));
}

static int
s3b_touch_del(const char *digest)
{
	char	 key[S3_KEY_MAX];

	if (used_key(key, sizeof(key), digest) == -1)
		return (-1);
	return (s3b_delete(key));
}

static void
s3b_figures(struct backend_figures *f)
{
	f->valid = 1;
	f->requests = __atomic_load_n(&fig_requests, __ATOMIC_RELAXED);
	f->errors = __atomic_load_n(&fig_errors, __ATOMIC_RELAXED);
	f->cache_hits = __atomic_load_n(&fig_hits, __ATOMIC_RELAXED);
	f->cache_misses = __atomic_load_n(&fig_misses, __ATOMIC_RELAXED);
	pthread_mutex_lock(&cache_mtx);
	f->cache_bytes = cache_bytes;
	pthread_mutex_unlock(&cache_mtx);
}

/* Leases (store_backend.h): "_regd/<name>.lease" beside the tree. */
static int
lease_key(char *buf, size_t len, const char *name)
{
	if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz") !=
	    strlen(name)) {
		errno = EINVAL;
		return (-1);
	}
	return (key_fmt(buf, len, "_regd/%s.lease", name));
}

/*
 * The object's LastModified is the store's clock; on one host with the
 * store, or with clocks in step (NTP), that is this host's.
 */
static ssize_t
s3b_lease_get(const char *name, void *buf, size_t len, struct be_stat *bs)
{
	unsigned char	*p;
	size_t		 n;
	time_t		 mtime = 0;
	char		 key[S3_KEY_MAX];

	if (lease_key(key, sizeof(key), name) == -1 ||
	    s3b_read(key, STATE_MAX, &p, &n, &mtime) == -1)
		return (-1);
	if (n > len)
		n = len;
	memcpy(buf, p, n);
	free(p);
	if (bs != NULL) {
		bs->size = n;
		bs->mtime = mtime;
	}
	return (n);
}

static int
s3b_lease_put(const char *name, const void *buf, size_t len, int excl)
{
	struct s3_conn	*c;
	struct s3_err	 err;
	char		 key[S3_KEY_MAX];

	if (lease_key(key, sizeof(key), name) == -1)
		return (-1);
	if (!excl)
		return (s3b_put(key, buf, len));
	C_OR_FAIL(c);
	if (s3_put_if_absent(c, key, buf, len, &err) == -1) {
		/* 409 ConditionalRequestConflict: another put won. */
		if (err.errnum == EEXIST || err.http_status == 409) {
			errno = EEXIST;
			return (-1);
		}
		return (s3fail("PUT", key, &err));
	}
	return (0);
}

static int
s3b_lease_del(const char *name)
{
	char	 key[S3_KEY_MAX];

	if (lease_key(key, sizeof(key), name) == -1)
		return (-1);
	return (s3b_delete(key));
}

/* Notes (store_backend.h): "_regd/<name>.note" beside the leases. */
static int
note_key(char *buf, size_t len, const char *name)
{
	if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz") !=
	    strlen(name)) {
		errno = EINVAL;
		return (-1);
	}
	return (key_fmt(buf, len, "_regd/%s.note", name));
}

static int
s3b_note_get(const char *name, size_t max, unsigned char **bufp,
    size_t *lenp)
{
	char	 key[S3_KEY_MAX];

	if (note_key(key, sizeof(key), name) == -1)
		return (-1);
	return (s3b_read(key, max, bufp, lenp, NULL));
}

static int
s3b_note_put(const char *name, const void *buf, size_t len)
{
	char	 key[S3_KEY_MAX];

	if (note_key(key, sizeof(key), name) == -1)
		return (-1);
	return (s3b_put(key, buf, len));
}

/* /health: the bucket answers (any answer but an error of the store). */
static int
s3b_probe(void)
{
	struct s3_obj	 o;
	char		 key[S3_KEY_MAX];

	if (lease_key(key, sizeof(key), "gc") == -1)
		return (-1);
	if (s3b_head(key, &o) == -1 && errno != ENOENT)
		return (-1);
	return (0);
}

/*
 * Before the sandbox: the CAs read, the endpoint's host resolved and
 * pinned, the first connection made, the cache scanned.
 */
static void
pin_endpoint(void)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[8], addr[64];
	const char	*h, *p;
	size_t		 n;

	h = strstr(s3c.endpoint, "://");
	h = h != NULL ? h + 3 : s3c.endpoint;
	n = strcspn(h, ":/");
	if (n == 0 || n >= sizeof(host) || h[0] == '[')
		return;
	memcpy(host, h, n);
	host[n] = '\0';
	if (h[n] == ':') {
		p = h + n + 1;
		snprintf(port, sizeof(port), "%.*s", (int)strcspn(p, "/"), p);
	} else
		strlcpy(port, strncmp(s3c.endpoint, "https", 5) == 0 ?
		    "443" : "80", sizeof(port));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return;
	if (getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr),
	    NULL, 0, NI_NUMERICHOST) == 0)
		snprintf(resolve, sizeof(resolve), "%s:%s:%s%s%s", host,
		    port, strchr(addr, ':') != NULL ? "[" : "", addr,
		    strchr(addr, ':') != NULL ? "]" : "");
	freeaddrinfo(res);
}

/* Before the sandbox: libcurl, the CAs, the endpoint's address. */
int
store_s3_prepare(void)
{
	unsigned char	*buf;
	size_t		 len;
	const char	*root;
	int		 fd;

	if (s3c.endpoint[0] == '\0' || s3c.bucket[0] == '\0') {
		log_warnx("s3: no endpoint or bucket");
		errno = EINVAL;
		return (-1);
	}
	root = s3c.root;
	while (*root == '/')
		root++;
	snprintf(pfx, sizeof(pfx), "%s%s%s/", root, root[0] != '\0' &&
	    root[strlen(root) - 1] != '/' ? "/" : "", ST_V2);
	if (s3c.ca_file[0] != '\0' && ca_pem == NULL) {
		if ((fd = open(s3c.ca_file, O_RDONLY | O_CLOEXEC)) == -1 ||
		    read_fd_all(fd, 4 * 1024 * 1024, 0, &buf, &len) == -1) {
			log_warn("s3: %s", s3c.ca_file);
			if (fd != -1)
				close(fd);
			return (-1);
		}
		close(fd);
		ca_pem = (char *)buf;
		ca_pemlen = len;
	}
	pin_endpoint();
	s3log_main = pthread_self();
	s3log_have_main = 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = s3c.endpoint;
	cfg.region = s3c.region[0] != '\0' ? s3c.region : "us-east-1";
	cfg.bucket = s3c.bucket;
	cfg.access_key = s3c.access_key;
	cfg.secret_key = s3c.secret;
	cfg.ca_pem = ca_pem;
	cfg.ca_pemlen = ca_pemlen;
	cfg.resolve = resolve[0] != '\0' ? resolve : NULL;
	cfg.virtual_host = !s3c.path_style;
	/* Storage waits for each request: a store that stalls fails soon. */
	cfg.low_speed_time = S3_LOW_SPEED_S;
	cfg.retries = S3_RETRIES;
	if (s3c.presign_expiry <= 0)
		s3c.presign_expiry = DEF_PRESIGN_EXPIRY;
	if (s3c.cache_size <= 0)
		s3c.cache_size = DEF_S3_CACHE_SIZE;
	if (s3_init() == -1 || conn() == NULL) {
		errno = EIO;
		return (-1);
	}
	return (0);
}

/* In the sandbox: the cache (the current directory) scanned, a probe. */
static int
s3b_init(void)
{
	if (pfx[0] == '\0' && store_s3_prepare() == -1)
		return (-1);
	cache_scan();
	if (s3b_any(pfx) == -1)
		s3log("s3: bucket %s at %s does not answer yet",
		    s3c.bucket, s3c.endpoint);
	return (0);
}

const struct store_backend store_s3_backend = {
	.name = "s3",
	.open_slow = 1,
	.init = s3b_init,
	.blob_stat = s3b_blob_stat,
	.blob_open = s3b_blob_open,
	.blob_read = s3b_blob_read,
	.blob_write = s3b_blob_write,
	.blob_remove = s3b_blob_remove,
	.blob_quarantine = s3b_blob_quarantine,
	.upload_begin = s3b_upload_begin,
	.upload_open = s3b_upload_open,
	.upload_append = s3b_upload_append,
	.upload_read = s3b_upload_read,
	.upload_truncate = s3b_upload_truncate,
	.upload_commit = s3b_upload_commit,
	.upload_close = s3b_upload_close,
	.upload_sync = s3b_upload_sync,
	.upload_abort = s3b_upload_abort,
	.upload_stat = s3b_upload_stat,
	.upload_state_put = s3b_upload_state_put,
	.upload_state_get = s3b_upload_state_get,
	.link_get = s3b_link_get,
	.link_put = s3b_link_put,
	.link_del = s3b_link_del,
	.tag_get = s3b_tag_get,
	.tag_set = s3b_tag_set,
	.tag_del = s3b_tag_del,
	.repo_exists = s3b_repo_exists,
	.repo_remove = s3b_repo_remove,
	.repo_walk = s3b_repo_walk,
	.tag_walk = s3b_tag_walk,
	.link_walk = s3b_link_walk,
	.upload_walk = s3b_upload_walk,
	.blob_walk = s3b_blob_walk,
	.link_check = s3b_link_check,
	.link_quarantine = s3b_link_quarantine,
	.link_remove = s3b_link_remove,
	.lease_get = s3b_lease_get,
	.lease_put = s3b_lease_put,
	.lease_del = s3b_lease_del,
	.note_get = s3b_note_get,
	.note_put = s3b_note_put,
	.blob_touch = s3b_blob_touch,
	.blob_touched = s3b_blob_touched,
	.touch_walk = s3b_touch_walk,
	.touch_del = s3b_touch_del,
	.probe = s3b_probe,
	.figures = s3b_figures,
	.flags = BE_SHARED
};
