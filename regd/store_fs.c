/*
 * Storage: paths, atomic files, blobs, manifests and uploads.  Every
 * path is relative to the storage root (the process's cwd) and is built
 * only from strings that passed valid_name(), valid_tag(), valid_uuid()
 * or store_digest_ok().
 */

/* SHA256_CTX is a plain struct: its state can be saved to a file. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <malloc.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "regd.h"
#include "store_backend.h"
#include "store.h"

#define MANIFEST_HARDMAX	MAX_MANIFEST_SIZE
#define MANIFEST_ALLMAX		(128 * 1024 * 1024)	/* all bodies at once */
#define META_MAX		8192
#define META_BYTES		(16 * 1024 * 1024)	/* all of the cache */
#define META_BIG		(256 * 1024)	/* larger: not cached */
#define TRIM_SIZE		(1024 * 1024)	/* give back after such frees */
#define HASHSTATE		"hashstate"
#define HASHSTATE_MAGIC		"regdsha1"

enum mkind {
	MK_NONE,
	MK_MANIFEST,
	MK_INDEX
};

/* A manifest checked for a PUT. */
struct mfst {
	json_t		*root;
	char		 mediatype[MAX_MEDIATYPE + 1];
	char		 subject[MAX_DIGEST + 1];
	char		 digest[MAX_DIGEST + 1];
};

struct meta_node {
	RB_ENTRY(meta_node)	 entry;
	char			 digest[MAX_DIGEST + 1];
	struct st_meta		 m;
};
RB_HEAD(st_meta_tree, meta_node);

/*
 * An upload session this process knows: who started it, its size and
 * the hash state between requests, sha256 of data[0, off).
 */
struct upload {
	RB_ENTRY(upload)	 entry;
	char			 repo[MAX_NAME + 1];
	char			 uuid[MAX_UUID + 1];
	char			 client[MAX_CLIENT + 1];
	SHA256_CTX		 ctx;
	int64_t			 off;	/* -1: ctx unknown */
	int64_t			 size;	/* bytes of data on disk */
	time_t			 active;	/* last request, monotonic */
	int			 busy;
	int			 cancelled;
};
RB_HEAD(st_upload_tree, upload);

struct st_stream {
	uint32_t		 type;
	int			 ignore;	/* answered already */
	struct st_req		 req;
	/* manifest put */
	unsigned char		*buf;
	size_t			 len;
	size_t			 size;
	size_t			 limit;		/* max manifest size */
	size_t			 held;		/* counted in buffered */
	/* upload write */
	struct upload		*up;
	struct be_upload	*bu;
	int64_t			 start;
	int64_t			 got;		/* bytes of this request */
	int64_t			 room;		/* quota left for them */
	char			 qmsg[MAX_ERRMSG + 1];
	SHA256_CTX		 saved;
	struct io_stream	*io;		/* writes and hashes the bytes */
	int			 werr;
	int			 created;
};

static int	store_path(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static int	store_blob_path(char *, size_t, const char *);
static int	store_link_path(char *, size_t, const char *, const char *,
		    const char *);
static int	store_exists(const char *);
static int	store_read_link(const char *, char *, size_t);
static int	store_mkdirs(const char *);
static int	store_write_file(const char *, const void *, size_t);
static int	store_rmtree(const char *);
static int	meta_cmp(struct meta_node *, struct meta_node *);
static int	manifest_hold(struct st_stream *, size_t, struct st_res *);
static int	upload_cmp(struct upload *, struct upload *);
RB_PROTOTYPE(st_meta_tree, meta_node, entry, meta_cmp)
RB_PROTOTYPE(st_upload_tree, upload, entry, upload_cmp)
RB_GENERATE(st_meta_tree, meta_node, entry, meta_cmp)
RB_GENERATE(st_upload_tree, upload, entry, upload_cmp)

static struct st_meta_tree		 metas = RB_INITIALIZER(&metas);
static int			 nmetas;
static size_t			 metabytes;
static struct meta_node		 metascratch;	/* one too big to keep */
static struct st_upload_tree	 uploads = RB_INITIALIZER(&uploads);
static int			 nuploads;
static size_t			 buffered;	/* manifest bodies held */

static int
meta_cmp(struct meta_node *a, struct meta_node *b)
{
	return (strcmp(a->digest, b->digest));
}

static int
upload_cmp(struct upload *a, struct upload *b)
{
	int	 r;

	if ((r = strcmp(a->uuid, b->uuid)) != 0)
		return (r);
	return (strcmp(a->repo, b->repo));
}

void
store_err(struct st_res *res, int status, const char *code,
    const char *fmt, ...)
{
	va_list	 ap;

	res->status = status;
	strlcpy(res->code, code, sizeof(res->code));
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/*
 * A failed open, stat or read of path: 404 with code and message only
 * when the file is not there.  Anything else is the registry's fault,
 * logged with its errno: 503 when it may pass, 500 otherwise.
 */
void
store_err_errno(struct st_res *res, int err, const char *path,
    const char *code, const char *message)
{
	if (err == ENOENT || err == ENOTDIR) {
		store_err(res, 404, code, "%s", message);
		return;
	}
	log_warnx("%s: %s", path, strerror(err));
	if (err == EMFILE || err == ENFILE || err == ENOSPC ||
	    err == EDQUOT || err == ENOMEM || err == ENOBUFS || err == EAGAIN)
		store_err(res, 503, "UNAVAILABLE",
		    "storage temporarily unavailable: %s", strerror(err));
	else
		store_err(res, 500, "UNKNOWN", "storage error: %s",
		    strerror(err));
}

/* Give freed memory back to the system after large frees. */
void
store_trim(size_t freed)
{
	static size_t	 pending;

	pending += freed;
	if (pending >= TRIM_SIZE) {
		malloc_trim(0);
		pending = 0;
	}
}

static int
store_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

/* Digests we store: valid syntax and an algorithm we know the path of. */
/*
 * Bumped by every change to the tree (every write goes through
 * store_mkdirs, every removal through store_rmtree or bumps it itself),
 * so a cache filled at generation g is good while store_gen == g.
 */
uint64_t	 store_gen = 1;

#define TAGCACHE_SIZE	256

struct tagcache {
	uint64_t	 gen;
	char		 repo[MAX_NAME + 1];
	char		 tag[MAX_TAG + 1];
	char		 digest[MAX_DIGEST + 1];
};
static struct tagcache	 tagcache[TAGCACHE_SIZE];

/* FNV-1a of a string, continuing from h (start with STORE_HASH_INIT). */
uint32_t
store_hash(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h);
}

static struct tagcache *
tagcache_slot(const char *repo, const char *tag)
{
	uint32_t	 h;

	h = store_hash(store_hash(STORE_HASH_INIT, repo), ":");
	return (&tagcache[store_hash(h, tag) % TAGCACHE_SIZE]);
}

int
store_digest_ok(const char *d)
{
	const char	*p;
	size_t		 hexlen;

	if (d == NULL || !valid_digest(d))
		return (0);
	if (strncmp(d, "sha256:", 7) == 0)
		hexlen = 64;
	else if (strncmp(d, "sha512:", 7) == 0)
		hexlen = 128;
	else
		return (0);
	for (p = d + 7; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return (0);
	return ((size_t)(p - (d + 7)) == hexlen);
}

/* Split a checked digest into "sha256" and the hex part. */
static void
digest_split(const char *d, char *alg, size_t alglen, const char **hex)
{
	const char	*colon;
	size_t		 n;

	colon = strchr(d, ':');
	n = colon - d;
	if (n >= alglen)
		n = alglen - 1;
	memcpy(alg, d, n);
	alg[n] = '\0';
	*hex = colon + 1;
}

static int
store_blob_path(char *buf, size_t len, const char *digest)
{
	char		 alg[16];
	const char	*hex;

	if (!store_digest_ok(digest)) {
		errno = EINVAL;
		return (-1);
	}
	digest_split(digest, alg, sizeof(alg), &hex);
	return (store_path(buf, len, "%s/blobs/%s/%.2s/%s/data", ST_V2, alg,
	    hex, hex));
}

/* kind is "_layers" or "_manifests/revisions". */
static int
store_link_path(char *buf, size_t len, const char *repo, const char *kind,
    const char *digest)
{
	char		 alg[16];
	const char	*hex;

	if (!valid_name(repo) || !store_digest_ok(digest)) {
		errno = EINVAL;
		return (-1);
	}
	digest_split(digest, alg, sizeof(alg), &hex);
	return (store_path(buf, len, "%s/repositories/%s/%s/%s/%s/link",
	    ST_V2, repo, kind, alg, hex));
}

static int
store_exists(const char *path)
{
	struct stat	 st;

	return (stat(path, &st) == 0);
}

/* Read a link file; 0 with a checked digest, -1 otherwise. */
static int
store_read_link(const char *path, char *digest, size_t len)
{
	unsigned char	*buf;
	size_t		 got;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	rv = read_fd_all(fd, MAX_DIGEST + 1, 0, &buf, &got);
	close(fd);
	if (rv == -1) {
		if (errno == EFBIG)
			errno = EINVAL;
		return (-1);
	}
	while (got > 0 && isspace(buf[got - 1]))
		buf[--got] = '\0';
	rv = 0;
	if (!store_digest_ok((char *)buf) ||
	    strlcpy(digest, (char *)buf, len) >= len) {
		errno = EINVAL;
		rv = -1;
	}
	free(buf);
	return (rv);
}

static int
store_mkdirs(const char *path)
{
	char	 parent[PATH_MAX], *slash;

	store_gen++;
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return (0);
	if (errno != ENOENT)
		return (-1);
	if (strlcpy(parent, path, sizeof(parent)) >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((slash = strrchr(parent, '/')) == NULL || slash == parent)
		return (-1);
	*slash = '\0';
	if (store_mkdirs(parent) == -1)
		return (-1);
	if (mkdir(path, 0777) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= n;
	}
	return (0);
}

static int
fsync_dir(const char *path)
{
	char	 dir[PATH_MAX], *slash;
	int	 fd, rv;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return (-1);
	if ((slash = strrchr(dir, '/')) == NULL)
		return (0);
	*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rv = fsync(fd);
	close(fd);
	return (rv);
}

/*
 * Write a file so that a crash leaves the old or the new content: a
 * temporary file in the same directory, fsync, rename over the name.
 */
static int
store_write_file(const char *path, const void *buf, size_t len)
{
	char	 dir[PATH_MAX], tmp[PATH_MAX], *slash;
	int	 fd, saved;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (store_mkdirs(dir) == -1)
			return (-1);
	}
	if (store_path(tmp, sizeof(tmp), "%s.tmp%08x", path,
	    arc4random()) == -1)
		return (-1);
	/* The umask set from "storage mode" gives the final mode. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0666)) == -1)
		return (-1);
	if (write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return (-1);
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return (-1);
	}
	fsync_dir(path);
	return (0);
}

static int
write_link(const char *path, const char *digest)
{
	return (store_write_file(path, digest, strlen(digest)));
}

static int
rmtree_at(int dfd, const char *name)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, rv = 0, saved = 0;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return (0);
		if (errno == ENOTDIR || errno == ELOOP) {
			if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
				return (-1);
			return (0);
		}
		return (-1);
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			if (rmtree_at(dirfd(d), de->d_name) == -1 && rv == 0) {
				rv = -1;
				saved = errno;
			}
		} else if (unlinkat(dirfd(d), de->d_name, 0) == -1 &&
		    errno != ENOENT && rv == 0) {
			rv = -1;
			saved = errno;
		}
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT &&
	    rv == 0) {
		rv = -1;
		saved = errno;
	}
	/* The first failure is the cause, not the ENOTEMPTY it leaves. */
	if (rv == -1)
		errno = saved;
	return (rv);
}

/* Remove a file or a directory tree; a missing path is no error. */
static int
store_rmtree(const char *path)
{
	store_gen++;
	return (rmtree_at(AT_FDCWD, path));
}

/* Uploads. */
static int
upload_path(char *buf, size_t len, const char *repo, const char *uuid,
    const char *file)
{
	if (!valid_name(repo) || !valid_uuid(uuid)) {
		errno = EINVAL;
		return (-1);
	}
	return (store_path(buf, len, "%s/repositories/%s/_uploads/%s%s%s",
	    ST_V2, repo, uuid, file[0] != '\0' ? "/" : "", file));
}

/* A whole stored file of at most max bytes, NUL-terminated. */
static int
read_stored(const char *path, unsigned char **bufp, size_t *lenp,
    size_t max)
{
	int	 fd, rv, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	rv = read_fd_all(fd, max, 0, bufp, lenp);
	saved = errno;
	close(fd);
	errno = saved;
	return (rv);
}

/*
 * The filesystem backend: the operations of store_backend.h over the
 * paths above.
 */
#define IO_SYNC_STEP	(8 * 1024 * 1024)	/* writeback hint, bytes */

struct be_upload {
	int		 fd;
	int64_t		 written;		/* by upload_append */
	int64_t		 synced;		/* writeback started to */
	char		 repo[MAX_NAME + 1];
	char		 uuid[MAX_UUID + 1];
};

static const char *
link_kind(enum be_link kind)
{
	return (kind == BE_LAYER ? "_layers" : "_manifests/revisions");
}

static int
tag_path(char *buf, size_t len, const char *repo, const char *tag,
    const char *file)
{
	if (!valid_name(repo) || !valid_tag(tag)) {
		errno = EINVAL;
		return (-1);
	}
	return (store_path(buf, len, "%s/repositories/%s/_manifests/tags/%s%s",
	    ST_V2, repo, tag, file));
}

/* ENOTDIR is ENOENT: a file where a directory was is no such thing. */
static int
stat_reg(const char *path, struct be_stat *bs)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		if (errno == ENOTDIR)
			errno = ENOENT;
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		errno = ENOENT;
		return (-1);
	}
	if (bs != NULL) {
		bs->size = st.st_size;
		bs->mtime = st.st_mtime;
	}
	return (0);
}

/* Remove the directory holding a file (a link's <hex>, a blob's). */
static int
rm_parent(const char *path)
{
	char	 dir[PATH_MAX], *slash;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	return (store_rmtree(dir));
}

static int
fs_init(void)
{
	char	 path[PATH_MAX];

	if (store_path(path, sizeof(path), "%s/blobs", ST_V2) == -1 ||
	    store_mkdirs(path) == -1)
		return (-1);
	if (store_path(path, sizeof(path), "%s/repositories", ST_V2) == -1 ||
	    store_mkdirs(path) == -1)
		return (-1);
	return (0);
}

static int
fs_blob_stat(const char *digest, struct be_stat *bs)
{
	char	 path[PATH_MAX];

	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	return (stat_reg(path, bs));
}

static int
fs_blob_open(const char *digest, int want, struct be_body *body)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 fd, saved;

	body->fd = -1;
	body->url[0] = '\0';
	if (!(want & BE_WANT_FD)) {
		errno = ENOTSUP;
		return (-1);
	}
	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOTDIR)
			errno = ENOENT;
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		saved = errno;
		if (!S_ISREG(st.st_mode))
			saved = ENOENT;
		close(fd);
		errno = saved;
		return (-1);
	}
	body->fd = fd;
	body->size = st.st_size;
	return (0);
}

static int
fs_blob_read(const char *digest, size_t max, unsigned char **bufp,
    size_t *lenp)
{
	char	 path[PATH_MAX];

	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	return (read_stored(path, bufp, lenp, max));
}

static int
fs_blob_write(const char *digest, const void *buf, size_t len)
{
	char	 path[PATH_MAX];

	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	if (store_exists(path))
		return (0);
	if (store_write_file(path, buf, len) == -1)
		return (-1);
	return (1);
}

static int
fs_blob_remove(const char *digest)
{
	char	 path[PATH_MAX];

	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	if (unlink(path) == -1)
		return (-1);
	if (rm_parent(path) == -1)
		return (1);
	return (0);
}

/* Move a file under dir, keeping its path: where it went in to. */
static int
quarantine(const char *path, const char *dir, char *to, size_t len)
{
	char	 q[PATH_MAX], qdir[PATH_MAX], *slash;

	if (store_path(q, sizeof(q), "%s/%s", dir, path) == -1)
		return (-1);
	strlcpy(qdir, q, sizeof(qdir));
	if ((slash = strrchr(qdir, '/')) != NULL)
		*slash = '\0';
	if (store_mkdirs(qdir) == -1 || rename(path, q) == -1)
		return (-1);
	strlcpy(to, q, len);
	return (0);
}

static int
fs_blob_quarantine(const char *digest, const char *dir, char *to,
    size_t len)
{
	char	 path[PATH_MAX];

	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	return (quarantine(path, dir, to, len));
}

/* A link_check location: a link file under repositories/. */
static int
link_where_ok(const char *where)
{
	size_t	 n;

	n = strlen(ST_V2 "/repositories/");
	return (strncmp(where, ST_V2 "/repositories/", n) == 0 &&
	    strstr(where, "/../") == NULL && (n = strlen(where)) > 5 &&
	    strcmp(where + n - 5, "/link") == 0);
}

static int
fs_link_quarantine(const char *where, const char *dir, char *to,
    size_t len)
{
	if (!link_where_ok(where)) {
		errno = EINVAL;
		return (-1);
	}
	return (quarantine(where, dir, to, len));
}

static int
fs_link_remove(const char *where)
{
	if (!link_where_ok(where)) {
		errno = EINVAL;
		return (-1);
	}
	return (rm_parent(where));
}

static int
fs_upload_begin(const char *repo, const char *uuid)
{
	struct tm	 tm;
	time_t		 now;
	char		 path[PATH_MAX], ts[64];
	int		 saved;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (upload_path(path, sizeof(path), repo, uuid, "startedat") == -1 ||
	    store_write_file(path, ts, strlen(ts)) == -1)
		goto fail;
	if (upload_path(path, sizeof(path), repo, uuid, "data") == -1 ||
	    store_write_file(path, "", 0) == -1)
		goto fail;
	return (0);
fail:
	saved = errno == ENOENT ? EIO : errno;
	if (upload_path(path, sizeof(path), repo, uuid, "") == 0)
		store_rmtree(path);
	errno = saved;
	return (-1);
}

static int
fs_upload_open(const char *repo, const char *uuid, struct be_upload **bup,
    struct be_stat *bs)
{
	struct be_upload	*bu;
	struct stat		 st;
	char			 path[PATH_MAX];
	int			 saved;

	if (upload_path(path, sizeof(path), repo, uuid, "data") == -1) {
		errno = ENOENT;
		return (-1);
	}
	if ((bu = calloc(1, sizeof(*bu))) == NULL)
		return (-1);
	if ((bu->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)) == -1 ||
	    fstat(bu->fd, &st) == -1) {
		saved = errno == ENOTDIR ? ENOENT : errno;
		if (bu->fd != -1)
			close(bu->fd);
		free(bu);
		errno = saved;
		return (-1);
	}
	strlcpy(bu->repo, repo, sizeof(bu->repo));
	strlcpy(bu->uuid, uuid, sizeof(bu->uuid));
	bu->written = bu->synced = st.st_size;
	bs->size = st.st_size;
	bs->mtime = st.st_mtime;
	*bup = bu;
	return (0);
}

static int
fs_upload_append(struct be_upload *bu, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(bu->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		bu->written += n;
		p += n;
		len -= n;
	}
	/*
	 * Start writeback as the file grows, so the fsync at commit
	 * finds little left to do.  Only a hint: errors are the fsync's.
	 */
	if (bu->written - bu->synced >= IO_SYNC_STEP) {
		(void)sync_file_range(bu->fd, bu->synced,
		    bu->written - bu->synced, SYNC_FILE_RANGE_WRITE);
		bu->synced = bu->written;
	}
	return (0);
}

static ssize_t
fs_upload_read(struct be_upload *bu, void *buf, size_t len, int64_t off)
{
	ssize_t	 n;

	while ((n = pread(bu->fd, buf, len, off)) == -1 && errno == EINTR)
		;
	return (n);
}

static int
fs_upload_truncate(struct be_upload *bu, int64_t off)
{
	if (ftruncate(bu->fd, off) == -1)
		return (-1);
	bu->written = bu->synced = off;
	return (0);
}

static int
fs_upload_commit(struct be_upload *bu, const char *digest)
{
	char	 data[PATH_MAX], blob[PATH_MAX], dir[PATH_MAX], *slash;
	int	 made = 0;

	if (fsync(bu->fd) == -1 ||
	    upload_path(data, sizeof(data), bu->repo, bu->uuid, "data") ==
	    -1 || store_blob_path(blob, sizeof(blob), digest) == -1)
		return (-1);
	if (!store_exists(blob)) {
		strlcpy(dir, blob, sizeof(dir));
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		if (store_mkdirs(dir) == -1 || rename(data, blob) == -1)
			return (-1);
		fsync_dir(blob);
		made = 1;
	}
	if (upload_path(dir, sizeof(dir), bu->repo, bu->uuid, "") == 0 &&
	    store_rmtree(dir) == -1)
		log_warn("%s: %s", __func__, dir);
	return (made);
}

static void
fs_upload_close(struct be_upload *bu)
{
	if (bu == NULL)
		return;
	close(bu->fd);
	free(bu);
}

static int
fs_upload_abort(const char *repo, const char *uuid)
{
	char	 path[PATH_MAX];

	if (upload_path(path, sizeof(path), repo, uuid, "") == -1)
		return (-1);
	return (store_rmtree(path));
}

static int
fs_upload_stat(const char *repo, const char *uuid, struct be_stat *bs)
{
	char	 path[PATH_MAX];

	if (upload_path(path, sizeof(path), repo, uuid, "data") == -1) {
		errno = ENOENT;
		return (-1);
	}
	return (stat_reg(path, bs));
}

static void
fs_upload_state_put(const char *repo, const char *uuid, const void *buf,
    size_t len)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (upload_path(path, sizeof(path), repo, uuid, HASHSTATE) == -1)
		return;
	/* No fsync: a torn or stale state is seen and not used. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) == -1)
		return;
	if (write_all(fd, buf, len) == -1)
		(void)ftruncate(fd, 0);
	close(fd);
}

static ssize_t
fs_upload_state_get(const char *repo, const char *uuid, void *buf,
    size_t len)
{
	char	 path[PATH_MAX];
	ssize_t	 n;
	int	 fd;

	if (upload_path(path, sizeof(path), repo, uuid, HASHSTATE) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, len);
	close(fd);
	return (n);
}

static int
fs_link_get(const char *repo, enum be_link kind, const char *digest,
    struct be_stat *bs)
{
	struct stat	 st;
	char		 path[PATH_MAX];

	if (store_link_path(path, sizeof(path), repo, link_kind(kind),
	    digest) == -1)
		return (-1);
	if (stat(path, &st) == -1) {
		if (errno == ENOTDIR)
			errno = ENOENT;
		return (-1);
	}
	if (bs != NULL) {
		bs->size = st.st_size;
		bs->mtime = st.st_mtime;
	}
	return (0);
}

static int
fs_link_put(const char *repo, enum be_link kind, const char *digest)
{
	char	 path[PATH_MAX];
	int	 had;

	if (store_link_path(path, sizeof(path), repo, link_kind(kind),
	    digest) == -1)
		return (-1);
	had = store_exists(path);
	if (write_link(path, digest) == -1)
		return (-1);
	return (!had);
}

static int
fs_link_del(const char *repo, enum be_link kind, const char *digest)
{
	char	 path[PATH_MAX];

	if (store_link_path(path, sizeof(path), repo, link_kind(kind),
	    digest) == -1)
		return (-1);
	return (rm_parent(path));
}

static int
fs_tag_get(const char *repo, const char *tag, char *digest, size_t len,
    struct be_stat *bs)
{
	struct stat	 st;
	char		 path[PATH_MAX];

	if (tag_path(path, sizeof(path), repo, tag, "/current/link") == -1 ||
	    store_read_link(path, digest, len) == -1)
		return (-1);
	if (bs != NULL) {
		bs->mtime = stat(path, &st) == 0 ? st.st_mtime : 0;
		bs->size = 0;
	}
	return (0);
}

/* The index link first, then current: as Distribution writes a tag. */
static int
fs_tag_set(const char *repo, const char *tag, const char *digest)
{
	char		 path[PATH_MAX], alg[16], file[PATH_MAX];
	const char	*hex;

	if (!store_digest_ok(digest)) {
		errno = EINVAL;
		return (-1);
	}
	digest_split(digest, alg, sizeof(alg), &hex);
	if (store_path(file, sizeof(file), "/index/%s/%s/link", alg,
	    hex) == -1 ||
	    tag_path(path, sizeof(path), repo, tag, file) == -1 ||
	    write_link(path, digest) == -1)
		return (-1);
	if (tag_path(path, sizeof(path), repo, tag, "/current/link") == -1 ||
	    write_link(path, digest) == -1)
		return (-1);
	return (0);
}

static int
fs_tag_del(const char *repo, const char *tag)
{
	char	 path[PATH_MAX];

	if (tag_path(path, sizeof(path), repo, tag, "") == -1)
		return (-1);
	return (store_rmtree(path));
}

static int
fs_repo_exists(const char *repo, int withuploads)
{
	char	 path[PATH_MAX];

	if (!valid_name(repo))
		return (0);
	if (store_path(path, sizeof(path), "%s/repositories/%s/_manifests",
	    ST_V2, repo) == 0 && store_exists(path))
		return (1);
	if (store_path(path, sizeof(path), "%s/repositories/%s/_layers",
	    ST_V2, repo) == 0 && store_exists(path))
		return (1);
	if (withuploads && store_path(path, sizeof(path),
	    "%s/repositories/%s/_uploads", ST_V2, repo) == 0 &&
	    store_exists(path))
		return (1);
	return (0);
}

/* Its links and uploads, not nested repositories. */
static int
fs_repo_remove(const char *repo, void (*report)(void *, const char *, int),
    void *arg)
{
	const char	*parts[] = { "_manifests", "_layers", "_uploads" };
	char		 path[PATH_MAX], *slash;
	size_t		 i;
	int		 rv = 0;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (store_path(path, sizeof(path), "%s/repositories/%s/%s",
		    ST_V2, repo, parts[i]) == -1)
			rv = -1;
		else if (store_rmtree(path) == -1) {
			report(arg, path, errno);
			rv = -1;
		}
	}
	/* Empty parent directories go too, up to repositories/. */
	if (store_path(path, sizeof(path), "%s/repositories/%s", ST_V2,
	    repo) == 0) {
		while (rmdir(path) == 0 && (slash = strrchr(path, '/')) !=
		    NULL) {
			*slash = '\0';
			if (strcmp(path, ST_V2 "/repositories") == 0)
				break;
		}
	}
	return (rv);
}

static int
is_dir_entry(const char *dir, struct dirent *de)
{
	struct stat	 st;
	char		 path[PATH_MAX];

	if (de->d_type == DT_DIR)
		return (1);
	if (de->d_type != DT_UNKNOWN)
		return (0);
	if (store_path(path, sizeof(path), "%s/%s", dir, de->d_name) == -1 ||
	    lstat(path, &st) == -1)
		return (0);
	return (S_ISDIR(st.st_mode));
}

static int
walk_repos(const char *prefix, int depth, int any, be_each fn, void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		 dir[PATH_MAX], name[PATH_MAX], path[PATH_MAX];
	int		 rv = 0;

	if (depth > MAX_NAME / 2)
		return (0);
	if (store_path(dir, sizeof(dir), "%s/repositories%s%s", ST_V2,
	    prefix[0] != '\0' ? "/" : "", prefix) == -1)
		return (0);
	if ((d = opendir(dir)) == NULL)
		return (errno == ENOENT ? 0 : -1);
	while ((de = readdir(d)) != NULL) {
		/* "_layers" and friends, "." and "..": never a component. */
		if (de->d_name[0] == '_' || !valid_name(de->d_name))
			continue;
		if (!is_dir_entry(dir, de))
			continue;
		if (store_path(name, sizeof(name), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "/" : "", de->d_name) == -1 ||
		    !valid_name(name))
			continue;
		/*
		 * Like Distribution, the catalog lists a repository that
		 * holds only layer links (a cross-repository mount).
		 */
		if ((any ? fs_repo_exists(name, 1) :
		    (store_path(path, sizeof(path), "%s/%s/_manifests", dir,
		    de->d_name) == 0 && store_exists(path)) ||
		    (store_path(path, sizeof(path), "%s/%s/_layers", dir,
		    de->d_name) == 0 && store_exists(path))) &&
		    fn(arg, name, NULL) != 0) {
			rv = -1;
			break;
		}
		if (walk_repos(name, depth + 1, any, fn, arg) == -1) {
			rv = -1;
			break;
		}
	}
	closedir(d);
	return (rv);
}

static int
fs_repo_walk(int any, be_each fn, void *arg)
{
	return (walk_repos("", 0, any, fn, arg));
}

static int
fs_tag_walk(const char *repo, be_each fn, void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		 dir[PATH_MAX], path[PATH_MAX];
	int		 rv = 0;

	if (tag_path(dir, sizeof(dir), repo, "x", "") == -1)
		return (-1);
	dir[strlen(dir) - 2] = '\0';		/* ".../tags/x": ".../tags" */
	if ((d = opendir(dir)) == NULL)
		return (errno == ENOENT || errno == ENOTDIR ? 0 : -1);
	while ((de = readdir(d)) != NULL) {
		if (!valid_tag(de->d_name))
			continue;
		if (store_path(path, sizeof(path), "%s/%s/current/link", dir,
		    de->d_name) == -1 || !store_exists(path))
			continue;
		if (fn(arg, de->d_name, NULL) != 0) {
			rv = -1;
			break;
		}
	}
	closedir(d);
	return (rv);
}

/* Digests named by the link directories under dir ("<alg>/<hex>/link"). */
static int
walk_links(const char *dir, be_each fn, void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		 sub[PATH_MAX], path[PATH_MAX];
	char		 digest[MAX_DIGEST + 1];
	size_t		 a;
	int		 rv = 0;

	for (a = 0; a < NALGS && rv == 0; a++) {
		if (store_path(sub, sizeof(sub), "%s/%s", dir,
		    digest_algs[a]) == -1)
			return (-1);
		if ((d = opendir(sub)) == NULL) {
			if (errno != ENOENT && errno != ENOTDIR)
				rv = -1;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (store_path(digest, sizeof(digest), "%s:%s",
			    digest_algs[a], de->d_name) == -1 ||
			    !store_digest_ok(digest))
				continue;
			if (store_path(path, sizeof(path), "%s/%s/link", sub,
			    de->d_name) == -1 || !store_exists(path))
				continue;
			if (fn(arg, digest, NULL) != 0) {
				rv = -1;
				break;
			}
		}
		closedir(d);
	}
	return (rv);
}

static int
fs_link_walk(const char *repo, enum be_link kind, be_each fn, void *arg)
{
	char	 dir[PATH_MAX];

	if (!valid_name(repo) || store_path(dir, sizeof(dir),
	    "%s/repositories/%s/%s", ST_V2, repo, link_kind(kind)) == -1)
		return (-1);
	return (walk_links(dir, fn, arg));
}

/* Sessions, stat'ed by their data or else their directory. */
static int
fs_upload_walk(const char *repo, be_each fn, void *arg)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	struct be_stat	 bs;
	char		 dir[PATH_MAX], path[PATH_MAX];
	int		 rv = 0;

	if (!valid_name(repo) || store_path(dir, sizeof(dir),
	    "%s/repositories/%s/_uploads", ST_V2, repo) == -1)
		return (-1);
	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (!valid_uuid(de->d_name))
			continue;
		if (store_path(path, sizeof(path), "%s/%s/data", dir,
		    de->d_name) == -1)
			continue;
		if (stat(path, &st) == -1) {
			if (store_path(path, sizeof(path), "%s/%s", dir,
			    de->d_name) == -1 || stat(path, &st) == -1)
				continue;
		}
		bs.size = st.st_size;
		bs.mtime = st.st_mtime;
		if (fn(arg, de->d_name, &bs) != 0) {
			rv = -1;
			break;
		}
	}
	closedir(d);
	return (rv);
}

static int
fs_blob_walk(be_each fn, void *arg)
{
	DIR		*d1, *d2;
	struct dirent	*e1, *e2;
	char		 dir[PATH_MAX], sub[PATH_MAX], dg[MAX_DIGEST + 1];
	size_t		 a;
	int		 rv = 0;

	for (a = 0; a < NALGS && rv == 0; a++) {
		if (store_path(dir, sizeof(dir), "%s/blobs/%s", ST_V2,
		    digest_algs[a]) == -1 || (d1 = opendir(dir)) == NULL)
			continue;
		while (rv == 0 && (e1 = readdir(d1)) != NULL) {
			if (strlen(e1->d_name) != 2 || e1->d_name[0] == '.')
				continue;
			if (store_path(sub, sizeof(sub), "%s/%s", dir,
			    e1->d_name) == -1 || (d2 = opendir(sub)) == NULL)
				continue;
			while ((e2 = readdir(d2)) != NULL) {
				if (strncmp(e2->d_name, e1->d_name, 2) != 0 ||
				    store_path(dg, sizeof(dg), "%s:%s",
				    digest_algs[a], e2->d_name) == -1 ||
				    !store_digest_ok(dg))
					continue;
				if (fn(arg, dg, NULL) != 0) {
					rv = -1;
					break;
				}
			}
			closedir(d2);
		}
		closedir(d1);
	}
	return (rv);
}

struct link_check {
	be_linkfn	 fn;
	void		*arg;
	const char	*dir;		/* the links' directory */
	int		 layer;
	int		 stop;
};

static int
check_one(struct link_check *lc, const char *path, const char *expect)
{
	char	 dg[MAX_DIGEST + 1];
	int	 ok;

	if (!store_exists(path))
		return (0);
	ok = store_read_link(path, dg, sizeof(dg)) == 0;
	if (lc->fn(lc->arg, path, ok ? dg : NULL, expect, lc->layer) != 0)
		lc->stop = 1;
	return (lc->stop);
}

static int
check_link(void *arg, const char *digest, const struct be_stat *bs)
{
	struct link_check	*lc = arg;
	char			 alg[16], path[PATH_MAX];
	const char		*hex;

	digest_split(digest, alg, sizeof(alg), &hex);
	if (store_path(path, sizeof(path), "%s/%s/%s/link", lc->dir, alg,
	    hex) == -1)
		return (0);
	return (check_one(lc, path, digest));
}

static int
check_tag(void *arg, const char *tag, const struct be_stat *bs)
{
	struct link_check	*lc = arg;
	const char		*repo = lc->dir;
	struct link_check	 sub = *lc;
	char			 path[PATH_MAX], dir[PATH_MAX];

	if (tag_path(path, sizeof(path), repo, tag, "/current/link") == 0 &&
	    check_one(lc, path, NULL))
		return (1);
	if (tag_path(dir, sizeof(dir), repo, tag, "/index") == -1)
		return (0);
	sub.dir = dir;
	walk_links(dir, check_link, &sub);
	lc->stop = sub.stop;
	return (lc->stop);
}

/* Every tag directory of a repository, with a current link or not. */
static void
tag_names(const char *repo, struct names *ns)
{
	DIR		*d;
	struct dirent	*de;
	char		 dir[PATH_MAX];

	if (!valid_name(repo) || store_path(dir, sizeof(dir),
	    "%s/repositories/%s/_manifests/tags", ST_V2, repo) == -1 ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (valid_tag(de->d_name) && names_add(ns, de->d_name) == -1)
			break;
	closedir(d);
}

static int
collect_name(void *arg, const char *name, const struct be_stat *bs)
{
	return (names_add(arg, name) == -1 ? -1 : 0);
}

/*
 * Every link: of each repository, its layers, its revisions, and for
 * every tag (with a current link or not) the current and index links.
 */
static int
fs_link_check(be_linkfn fn, void *arg)
{
	struct link_check	 lc;
	struct names		 repos, tags;
	char			 dir[PATH_MAX];
	size_t			 i, j;
	int			 k;

	memset(&repos, 0, sizeof(repos));
	memset(&lc, 0, sizeof(lc));
	lc.fn = fn;
	lc.arg = arg;
	if (fs_repo_walk(1, collect_name, &repos) == -1) {
		names_free(&repos);
		return (-1);
	}
	names_sort(&repos);
	for (i = 0; i < repos.n && !lc.stop; i++) {
		for (k = BE_LAYER; k <= BE_REVISION && !lc.stop; k++) {
			if (store_path(dir, sizeof(dir),
			    "%s/repositories/%s/%s", ST_V2, repos.v[i],
			    link_kind(k)) == -1)
				continue;
			lc.dir = dir;
			lc.layer = k == BE_LAYER;
			walk_links(dir, check_link, &lc);
		}
		memset(&tags, 0, sizeof(tags));
		tag_names(repos.v[i], &tags);
		lc.layer = 0;
		lc.dir = repos.v[i];
		for (j = 0; j < tags.n && !lc.stop; j++)
			check_tag(&lc, tags.v[j], NULL);
		names_free(&tags);
	}
	names_free(&repos);
	return (0);
}

const struct store_backend store_fs_backend = {
	.name = "fs",
	.init = fs_init,
	.blob_stat = fs_blob_stat,
	.blob_open = fs_blob_open,
	.blob_read = fs_blob_read,
	.blob_write = fs_blob_write,
	.blob_remove = fs_blob_remove,
	.blob_quarantine = fs_blob_quarantine,
	.upload_begin = fs_upload_begin,
	.upload_open = fs_upload_open,
	.upload_append = fs_upload_append,
	.upload_read = fs_upload_read,
	.upload_truncate = fs_upload_truncate,
	.upload_commit = fs_upload_commit,
	.upload_close = fs_upload_close,
	.upload_abort = fs_upload_abort,
	.upload_stat = fs_upload_stat,
	.upload_state_put = fs_upload_state_put,
	.upload_state_get = fs_upload_state_get,
	.link_get = fs_link_get,
	.link_put = fs_link_put,
	.link_del = fs_link_del,
	.tag_get = fs_tag_get,
	.tag_set = fs_tag_set,
	.tag_del = fs_tag_del,
	.repo_exists = fs_repo_exists,
	.repo_remove = fs_repo_remove,
	.repo_walk = fs_repo_walk,
	.tag_walk = fs_tag_walk,
	.link_walk = fs_link_walk,
	.upload_walk = fs_upload_walk,
	.blob_walk = fs_blob_walk,
	.link_check = fs_link_check,
	.link_quarantine = fs_link_quarantine,
	.link_remove = fs_link_remove
};

static void
hexstr(const unsigned char *md, unsigned int len, char *out)
{
	static const char	 hx[] = "0123456789abcdef";
	unsigned int		 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static const EVP_MD *
alg_md(const char *digest)
{
	if (strncmp(digest, "sha512:", 7) == 0)
		return (EVP_sha512());
	return (EVP_sha256());
}

/* Finish a context into "alg:hex"; ctx itself is not consumed. */
static int
ctx_digest(EVP_MD_CTX *ctx, const char *alg, char *out, size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int	 mdlen;
	EVP_MD_CTX	*tmp;
	int		 rv = -1;

	if ((tmp = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_MD_CTX_copy_ex(tmp, ctx) == 1 &&
	    EVP_DigestFinal_ex(tmp, md, &mdlen) == 1) {
		hexstr(md, mdlen, hex);
		if (store_path(out, outlen, "%s:%s", alg, hex) == 0)
			rv = 0;
	}
	EVP_MD_CTX_free(tmp);
	return (rv);
}

int
store_digest_buf(const char *alg, const void *buf, size_t len, char *out,
    size_t outlen)
{
	EVP_MD_CTX	*ctx;
	int		 rv = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_DigestInit_ex(ctx, strcmp(alg, "sha512") == 0 ?
	    EVP_sha512() : EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, buf, len) == 1)
		rv = ctx_digest(ctx, alg, out, outlen);
	EVP_MD_CTX_free(ctx);
	return (rv);
}

/* Hash a whole upload from its start into a fresh context. */
static int
hash_upload(struct be_upload *bu, EVP_MD_CTX *ctx, const EVP_MD *md,
    int64_t *lenp)
{
	unsigned char	*buf;
	ssize_t		 n;
	int64_t		 off = 0;
	int		 rv = -1;

	if ((buf = malloc(DATA_CHUNK)) == NULL)
		return (-1);
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto done;
	for (;;) {
		if ((n = be->upload_read(bu, buf, DATA_CHUNK, off)) == -1)
			goto done;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			goto done;
		off += n;
	}
	*lenp = off;
	rv = 0;
done:
	free(buf);
	return (rv);
}

/*
 * Manifest facts cache.  Content is immutable, so an entry never goes
 * stale; the cache is simply emptied when it grows too large.
 */
static void
meta_flush(void)
{
	struct meta_node	*n, *next;

	RB_FOREACH_SAFE(n, st_meta_tree, &metas, next) {
		RB_REMOVE(st_meta_tree, &metas, n);
		json_decref(n->m.annotations);
		free(n);
	}
	nmetas = 0;
	store_trim(metabytes);
	metabytes = 0;
}

static const char *
guess_mediatype(json_t *root)
{
	if (json_object_get(root, "manifests") != NULL)
		return (MT_OCI_INDEX);
	return (MT_OCI_MANIFEST);
}

/*
 * What the cache holds of a manifest: the node, and the annotations
 * whose size the manifest's bounds.
 */
static size_t
meta_cost(json_t *root, int64_t size)
{
	json_t	*ann;

	ann = json_object_get(root, "annotations");
	return (sizeof(struct meta_node) + (json_is_object(ann) &&
	    json_object_size(ann) > 0 ? (size_t)size : 0));
}

/*
 * The media type served for a manifest is the one its own mediaType
 * says, as Distribution does, never the Content-Type of whoever pushed
 * these bytes first; without one, an OCI index or image manifest.
 */
static struct st_meta *
meta_set(const char *digest, json_t *root, int64_t size)
{
	struct meta_node	*n, key;
	json_t			*v, *cfg, *ann;
	const char		*s, *mediatype;
	size_t			 cost;

	strlcpy(key.digest, digest, sizeof(key.digest));
	if ((n = RB_FIND(st_meta_tree, &metas, &key)) != NULL)
		return (&n->m);
	cost = meta_cost(root, size);
	if (cost > META_BIG) {
		/* Too large to keep: good until the next call. */
		n = &metascratch;
		json_decref(n->m.annotations);
		memset(n, 0, sizeof(*n));
	} else {
		if (nmetas >= META_MAX || metabytes + cost > META_BYTES)
			meta_flush();
		if ((n = calloc(1, sizeof(*n))) == NULL)
			return (NULL);
	}
	strlcpy(n->digest, digest, sizeof(n->digest));
	n->m.size = size;
	s = json_string_value(json_object_get(root, "mediaType"));
	mediatype = s != NULL ? s : guess_mediatype(root);
	strlcpy(n->m.mediatype, mediatype, sizeof(n->m.mediatype));
	if ((v = json_object_get(root, "subject")) != NULL &&
	    (s = json_string_value(json_object_get(v, "digest"))) != NULL &&
	    store_digest_ok(s))
		strlcpy(n->m.subject, s, sizeof(n->m.subject));
	if ((s = json_string_value(json_object_get(root,
	    "artifactType"))) != NULL)
		strlcpy(n->m.artifacttype, s, sizeof(n->m.artifacttype));
	else if ((cfg = json_object_get(root, "config")) != NULL &&
	    (s = json_string_value(json_object_get(cfg, "mediaType"))) != NULL)
		strlcpy(n->m.artifacttype, s, sizeof(n->m.artifacttype));
	if ((ann = json_object_get(root, "annotations")) != NULL &&
	    json_is_object(ann))
		n->m.annotations = json_incref(ann);
	if (n == &metascratch)
		return (&n->m);
	RB_INSERT(st_meta_tree, &metas, n);
	nmetas++;
	metabytes += cost;
	return (&n->m);
}

/* Facts about a stored manifest, parsed once per digest. */
struct st_meta *
store_meta(const char *digest)
{
	struct meta_node	 key, *n;
	struct st_meta		*m;
	unsigned char		*buf = NULL;
	size_t			 len;
	json_t			*root;

	if (strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	if ((n = RB_FIND(st_meta_tree, &metas, &key)) != NULL)
		return (&n->m);
	if (be->blob_read(digest, MANIFEST_HARDMAX, &buf, &len) == -1)
		return (NULL);
	if ((root = json_loadb((char *)buf, len, 0, NULL)) == NULL ||
	    !json_is_object(root)) {
		json_decref(root);
		/* Not JSON: still a blob of some size, served as a manifest. */
		root = json_object();
	}
	m = meta_set(digest, root, len);
	json_decref(root);
	free(buf);
	return (m);
}

/*
 * Whether repo links digest: 1 yes, 0 no, -1 when that cannot be told
 * (errno set).  A link found is a use of the digest (GC grace).
 */
static int
link_state(const char *repo, enum be_link kind, const char *digest)
{
	if (!valid_name(repo) || !store_digest_ok(digest))
		return (0);
	if (be->link_get(repo, kind, digest, NULL) == 0) {
		gc_touch(digest);
		return (1);
	}
	return (errno == ENOENT ? 0 : -1);
}

int
store_linked(const char *repo, enum be_link kind, const char *digest)
{
	return (link_state(repo, kind, digest) == 1);
}

void
store_blob_get(const struct st_req *req, struct st_res *res, int *fdp)
{
	struct be_stat	 bs;
	struct be_body	 body;
	int		 l, err = ENOENT;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->ref)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	if ((l = link_state(req->repo, BE_LAYER, req->ref)) == 0)
		l = link_state(req->repo, BE_REVISION, req->ref);
	if (l != 1) {
		err = l == 0 ? ENOENT : errno;
		goto fail;
	}
	if (req->flags & STF_HEAD) {
		if (be->blob_stat(req->ref, &bs) == -1) {
			err = errno;
			goto fail;
		}
		res->size = bs.size;
	} else {
		if (be->blob_open(req->ref, BE_WANT_FD, &body) == -1) {
			err = errno;
			goto fail;
		}
		res->size = body.size;
		*fdp = body.fd;
	}
	res->status = 200;
	strlcpy(res->digest, req->ref, sizeof(res->digest));
	return;
fail:
	store_err_errno(res, err, req->ref, "BLOB_UNKNOWN",
	    "blob unknown to registry");
}

void
store_blob_delete(const struct st_req *req, struct st_res *res, int *fdp)
{
	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->ref)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	if (be->link_get(req->repo, BE_LAYER, req->ref, NULL) == -1) {
		store_err(res, 404, "BLOB_UNKNOWN", "blob unknown to registry");
		return;
	}
	if (be->link_del(req->repo, BE_LAYER, req->ref) == -1) {
		log_warn("%s: remove %s@%s", __func__, req->repo, req->ref);
		store_err(res, 500, "UNKNOWN", "cannot remove link");
		return;
	}
	res->status = 202;
	strlcpy(res->digest, req->ref, sizeof(res->digest));
}

/*
 * Resolve a manifest reference to a digest: 0 found, -1 with res filled.
 */
static int
manifest_resolve(const struct st_req *req, struct st_res *res,
    char *digest, size_t len)
{
	struct tagcache	*tc = NULL;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return (-1);
	}
	if (strchr(req->ref, ':') != NULL) {
		if (!store_digest_ok(req->ref)) {
			store_err(res, 400, "DIGEST_INVALID",
			    "invalid digest");
			return (-1);
		}
		strlcpy(digest, req->ref, len);
	} else {
		if (!valid_tag(req->ref)) {
			store_err(res, 400, "TAG_INVALID", "invalid tag");
			return (-1);
		}
		tc = tagcache_slot(req->repo, req->ref);
		if (tc->gen == store_gen && strcmp(tc->repo, req->repo) == 0 &&
		    strcmp(tc->tag, req->ref) == 0) {
			/* Nothing changed since this tag was resolved. */
			strlcpy(digest, tc->digest, len);
			return (0);
		}
		if (be->tag_get(req->repo, req->ref, digest, len, NULL) ==
		    -1) {
			store_err_errno(res, errno, req->ref,
			    "MANIFEST_UNKNOWN", "manifest unknown");
			return (-1);
		}
	}
	switch (link_state(req->repo, BE_REVISION, digest)) {
	case 1:
		break;
	case 0:
		goto unknown;
	default:
		store_err_errno(res, errno, digest, "MANIFEST_UNKNOWN",
		    "manifest unknown");
		return (-1);
	}
	if (tc != NULL) {
		tc->gen = store_gen;
		strlcpy(tc->repo, req->repo, sizeof(tc->repo));
		strlcpy(tc->tag, req->ref, sizeof(tc->tag));
		strlcpy(tc->digest, digest, sizeof(tc->digest));
	}
	return (0);
unknown:
	store_err(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
	return (-1);
}

/*
 * Small manifests by digest, sent inline in the answer instead of as a
 * descriptor.  An entry is good while the tree generation it was read
 * in holds: after any change the file is read again, so a manifest that
 * was deleted is never served from here.
 */
#define BODY_SLOTS	64
static struct body_slot {
	uint64_t	 gen;
	char		 digest[MAX_DIGEST + 1];
	unsigned char	*data;
	size_t		 len;
} bodies[BODY_SLOTS];

static const void *
manifest_body(const char *digest, size_t *lenp)
{
	struct body_slot	*b;
	unsigned char		*buf;
	size_t			 len;

	b = &bodies[store_hash(STORE_HASH_INIT, digest) % BODY_SLOTS];
	if (b->data == NULL || b->gen != store_gen ||
	    strcmp(b->digest, digest) != 0) {
		if (be->blob_read(digest, MANIFEST_INLINE, &buf, &len) == -1)
			return (NULL);
		free(b->data);
		b->data = buf;
		b->len = len;
		b->gen = store_gen;
		strlcpy(b->digest, digest, sizeof(b->digest));
	}
	*lenp = b->len;
	return (b->data);
}

void
store_manifest_get(const struct st_req *req, struct st_res *res, int *fdp,
    const void **bodyp)
{
	struct be_stat	 bs;
	struct be_body	 body;
	struct st_meta	*m;
	const void	*inline_body;
	char		 digest[MAX_DIGEST + 1];
	size_t		 len;
	int		 fd = -1, err = ENOENT;

	*bodyp = NULL;
	if (manifest_resolve(req, res, digest, sizeof(digest)) == -1)
		return;
	if (!(req->flags & STF_HEAD) &&
	    (inline_body = manifest_body(digest, &len)) != NULL) {
		if ((m = store_meta(digest)) == NULL) {
			err = errno;
			goto unknown;
		}
		res->status = 200;
		res->size = len;
		strlcpy(res->digest, digest, sizeof(res->digest));
		strlcpy(res->mediatype, m->mediatype, sizeof(res->mediatype));
		*bodyp = inline_body;
		return;
	}
	if (req->flags & STF_HEAD) {
		if (be->blob_stat(digest, &bs) == -1) {
			err = errno;
			goto unknown;
		}
	} else {
		if (be->blob_open(digest, BE_WANT_FD, &body) == -1) {
			err = errno;
			goto unknown;
		}
		fd = body.fd;
		bs.size = body.size;
	}
	if ((m = store_meta(digest)) == NULL) {
		err = errno;
		goto unknown;
	}
	res->status = 200;
	res->size = bs.size;
	strlcpy(res->digest, digest, sizeof(res->digest));
	strlcpy(res->mediatype, m->mediatype, sizeof(res->mediatype));
	*fdp = fd;
	return;
unknown:
	if (fd != -1)
		close(fd);
	store_err_errno(res, err, digest, "MANIFEST_UNKNOWN",
	    "manifest unknown");
}

void
store_manifest_delete(const struct st_req *req, struct st_res *res,
    int *fdp)
{
	struct names	 tags;
	char		 digest[MAX_DIGEST + 1], cur[MAX_DIGEST + 1];
	size_t		 i;

	if (strchr(req->ref, ':') == NULL && valid_name(req->repo) &&
	    valid_tag(req->ref)) {
		/* A tag goes alone, even one whose manifest is gone. */
		if (be->tag_get(req->repo, req->ref, digest, sizeof(digest),
		    NULL) == -1) {
			store_err(res, 404, "MANIFEST_UNKNOWN",
			    "manifest unknown");
			return;
		}
		if (be->tag_del(req->repo, req->ref) == -1)
			goto fail;
		goto done;
	}
	if (manifest_resolve(req, res, digest, sizeof(digest)) == -1)
		return;
	if (be->link_del(req->repo, BE_REVISION, digest) == -1)
		goto fail;
	memset(&tags, 0, sizeof(tags));
	be->tag_walk(req->repo, names_each, &tags);
	for (i = 0; i < tags.n; i++) {
		if (be->tag_get(req->repo, tags.v[i], cur, sizeof(cur),
		    NULL) == -1 || strcmp(cur, digest) != 0)
			continue;
		if (be->tag_del(req->repo, tags.v[i]) == -1)
			log_warn("%s: remove tag %s", __func__, tags.v[i]);
	}
	names_free(&tags);
done:
	res->status = 202;
	strlcpy(res->digest, digest, sizeof(res->digest));
	return;
fail:
	log_warn("%s: %s", __func__, req->repo);
	store_err(res, 500, "UNKNOWN", "cannot delete manifest");
}

static int
is_type(const char *mt, enum mkind *kind)
{
	if (strcmp(mt, MT_OCI_MANIFEST) == 0 ||
	    strcmp(mt, MT_DOCKER_V2) == 0) {
		*kind = MK_MANIFEST;
		return (1);
	}
	if (strcmp(mt, MT_OCI_INDEX) == 0 ||
	    strcmp(mt, MT_DOCKER_LIST) == 0) {
		*kind = MK_INDEX;
		return (1);
	}
	return (0);
}

/* A descriptor's digest, or NULL when the descriptor is malformed. */
static const char *
desc_digest(json_t *desc)
{
	json_t		*v;
	const char	*d;

	if (!json_is_object(desc))
		return (NULL);
	if ((d = json_string_value(json_object_get(desc, "digest"))) == NULL ||
	    !store_digest_ok(d))
		return (NULL);
	v = json_object_get(desc, "size");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0))
		return (NULL);
	v = json_object_get(desc, "mediaType");
	if (v != NULL && !json_is_string(v))
		return (NULL);
	return (d);
}

/* Check what a manifest references; 0 or -1 with res filled. */
static int
manifest_refs(const char *repo, json_t *root, enum mkind kind,
    struct st_res *res)
{
	json_t		*arr, *v, *urls;
	const char	*d;
	size_t		 i;

	if (kind == MK_INDEX) {
		arr = json_object_get(root, "manifests");
		if (!json_is_array(arr)) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "manifests must be an array");
			return (-1);
		}
		json_array_foreach(arr, i, v) {
			if ((d = desc_digest(v)) == NULL) {
				store_err(res, 400, "MANIFEST_INVALID",
				    "manifests[%zu]: invalid descriptor", i);
				return (-1);
			}
			if (!store_linked(repo, BE_REVISION, d)) {
				store_err(res, 400, "MANIFEST_BLOB_UNKNOWN",
				    "manifest unknown: %s", d);
				return (-1);
			}
		}
		return (0);
	}
	if ((d = desc_digest(json_object_get(root, "config"))) == NULL) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "config: missing or invalid descriptor");
		return (-1);
	}
	if (!store_linked(repo, BE_LAYER, d)) {
		store_err(res, 400, "MANIFEST_BLOB_UNKNOWN",
		    "blob unknown: %s", d);
		return (-1);
	}
	arr = json_object_get(root, "layers");
	if (!json_is_array(arr)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "layers must be an array");
		return (-1);
	}
	json_array_foreach(arr, i, v) {
		if ((d = desc_digest(v)) == NULL) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "layers[%zu]: invalid descriptor", i);
			return (-1);
		}
		urls = json_object_get(v, "urls");
		if (json_is_array(urls) && json_array_size(urls) > 0)
			continue;
		if (!store_linked(repo, BE_LAYER, d)) {
			store_err(res, 400, "MANIFEST_BLOB_UNKNOWN",
			    "blob unknown: %s", d);
			return (-1);
		}
	}
	return (0);
}

static void
content_type(const char *in, char *out, size_t len)
{
	size_t	 i;

	strlcpy(out, in, len);
	out[strcspn(out, ";")] = '\0';
	for (i = strlen(out); i > 0 && isspace((unsigned char)out[i - 1]);
	    i--)
		out[i - 1] = '\0';
	for (i = 0; out[i] != '\0'; i++)
		out[i] = tolower((unsigned char)out[i]);
}

/*
 * Check a manifest for a PUT: JSON, schema 2, a media type we serve
 * that the Content-Type does not contradict, references the repository
 * holds, and its digest.  0 with m filled, -1 with res filled; either
 * way the caller json_decrefs m->root.
 */
static int
manifest_check(const struct st_req *req, const unsigned char *buf,
    size_t len, struct mfst *m, struct st_res *res)
{
	json_error_t	 jerr;
	json_t		*v;
	enum mkind	 kind = MK_NONE;
	const char	*bodymt, *mt, *sd;
	char		 ct[MAX_MEDIATYPE + 1];
	int		 istag;

	istag = strchr(req->ref, ':') == NULL;
	if ((m->root = json_loadb((const char *)buf, len, 0, &jerr)) == NULL) {
		store_err(res, 400, "MANIFEST_INVALID", "invalid JSON: %s",
		    jerr.text);
		return (-1);
	}
	if (!json_is_object(m->root)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "manifest is not a JSON object");
		return (-1);
	}
	v = json_object_get(m->root, "schemaVersion");
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "schemaVersion must be 2");
		return (-1);
	}
	v = json_object_get(m->root, "mediaType");
	if (v != NULL && !json_is_string(v)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "mediaType must be a string");
		return (-1);
	}
	bodymt = json_string_value(v);
	content_type(req->mediatype, ct, sizeof(ct));
	if (bodymt != NULL && ct[0] != '\0' && strcmp(bodymt, ct) != 0) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "mediaType %.60s does not match Content-Type %.60s",
		    bodymt, ct);
		return (-1);
	}
	if (bodymt != NULL)
		mt = bodymt;
	else if (ct[0] != '\0')
		mt = ct;
	else
		mt = guess_mediatype(m->root);
	if (!is_type(mt, &kind)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "unsupported media type %.100s", mt);
		return (-1);
	}
	strlcpy(m->mediatype, mt, sizeof(m->mediatype));
	if (manifest_refs(req->repo, m->root, kind, res) == -1)
		return (-1);
	if ((v = json_object_get(m->root, "subject")) != NULL) {
		if ((sd = desc_digest(v)) == NULL) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "subject: invalid descriptor");
			return (-1);
		}
		strlcpy(m->subject, sd, sizeof(m->subject));
	}
	v = json_object_get(m->root, "artifactType");
	if (v != NULL && !json_is_string(v)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "artifactType must be a string");
		return (-1);
	}
	if (store_digest_buf(!istag && strncmp(req->ref, "sha512:", 7) == 0 ?
	    "sha512" : "sha256", buf, len, m->digest,
	    sizeof(m->digest)) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot compute digest");
		return (-1);
	}
	if (!istag && strcmp(m->digest, req->ref) != 0) {
		store_err(res, 400, "DIGEST_INVALID",
		    "manifest digest does not match %s", req->ref);
		return (-1);
	}
	return (0);
}

/* A checked manifest stored: quota, blob, revision link, tag. */
static void
manifest_commit(const struct st_req *req, const unsigned char *buf,
    size_t len, struct st_res *res)
{
	struct mfst	 m;
	int		 made;

	memset(&m, 0, sizeof(m));
	if (manifest_check(req, buf, len, &m, res) == -1)
		goto done;
	if (gc_quota_check(req->repo, m.digest, len, res) == -1)
		goto done;
	gc_touch(m.digest);
	if ((made = be->blob_write(m.digest, buf, len)) == -1)
		goto fail;
	if (made)
		gc_disk_add(len);
	if (be->link_put(req->repo, BE_REVISION, m.digest) == -1)
		goto fail;
	if (strchr(req->ref, ':') == NULL &&
	    be->tag_set(req->repo, req->ref, m.digest) == -1)
		goto fail;
	meta_set(m.digest, m.root, len);
	res->status = 201;
	strlcpy(res->subject, m.subject, sizeof(res->subject));
	res->size = len;
	strlcpy(res->digest, m.digest, sizeof(res->digest));
	strlcpy(res->mediatype, m.mediatype, sizeof(res->mediatype));
	goto done;
fail:
	log_warn("%s: %s: store %s", __func__, req->repo, m.digest);
	store_err(res, 500, "UNKNOWN", "cannot store manifest");
done:
	json_decref(m.root);
}

static struct upload *
upload_find(const char *repo, const char *uuid)
{
	struct upload	 key;

	strlcpy(key.repo, repo, sizeof(key.repo));
	strlcpy(key.uuid, uuid, sizeof(key.uuid));
	return (RB_FIND(st_upload_tree, &uploads, &key));
}

static void
upload_free(struct upload *up)
{
	RB_REMOVE(st_upload_tree, &uploads, up);
	nuploads--;
	free(up);
}

static time_t
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

/*
 * The session of an upload, made from its directory when this process
 * has not seen it yet (it was started before a restart).  NULL when the
 * table is full.
 */
static struct upload *
upload_get(const char *repo, const char *uuid)
{
	struct upload	*up;

	if ((up = upload_find(repo, uuid)) != NULL)
		return (up);
	if (nuploads >= MAX_UPLOADS_LIMIT) {
		errno = EAGAIN;
		return (NULL);
	}
	if ((up = calloc(1, sizeof(*up))) == NULL)
		return (NULL);
	strlcpy(up->repo, repo, sizeof(up->repo));
	strlcpy(up->uuid, uuid, sizeof(up->uuid));
	up->off = -1;
	up->size = 0;
	up->active = now_mono();
	RB_INSERT(st_upload_tree, &uploads, up);
	nuploads++;
	return (up);
}

static void
upload_forget(const char *repo, const char *uuid)
{
	struct upload	*up;

	if ((up = upload_find(repo, uuid)) == NULL)
		return;
	if (up->busy)
		up->cancelled = 1;
	else
		upload_free(up);
}

static void
new_uuid(char *out, size_t len)
{
	unsigned char	 b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * May a new session start in repo for client?  0, or -1 with a 429
 * answer: sessions are bounded per repository, per client (user or
 * address) and in all.
 */
static int
upload_admit(const char *repo, const char *client, struct st_res *res)
{
	const struct store_conf	*c = gc_store_conf();
	struct upload		*up;
	int			 inrepo = 0, byclient = 0;

	RB_FOREACH(up, st_upload_tree, &uploads) {
		if (strcmp(up->repo, repo) == 0)
			inrepo++;
		if (client[0] != '\0' && strcmp(up->client, client) == 0)
			byclient++;
	}
	if (nuploads >= MAX_UPLOADS_LIMIT ||
	    (c->max_uploads > 0 && inrepo >= c->max_uploads)) {
		store_err(res, 429, "TOOMANYREQUESTS", "too many uploads in "
		    "progress for this repository");
		return (-1);
	}
	if (c->max_uploads_client > 0 && byclient >= c->max_uploads_client) {
		store_err(res, 429, "TOOMANYREQUESTS",
		    "too many uploads in progress for this client");
		return (-1);
	}
	return (0);
}

/* Create an upload directory: 0 with uuid filled, -1 with res filled. */
static int
upload_create(const char *repo, const char *client, char *uuid, size_t len,
    struct st_res *res)
{
	struct upload	*up;

	if (upload_admit(repo, client, res) == -1)
		return (-1);
	new_uuid(uuid, len);
	if (be->upload_begin(repo, uuid) == -1) {
		store_err_errno(res, errno, uuid, "BLOB_UPLOAD_UNKNOWN",
		    "cannot create upload");
		return (-1);
	}
	if ((up = upload_get(repo, uuid)) == NULL) {
		store_err_errno(res, errno, uuid, "BLOB_UPLOAD_UNKNOWN",
		    "cannot create upload");
		be->upload_abort(repo, uuid);
		return (-1);
	}
	strlcpy(up->client, client, sizeof(up->client));
	SHA256_Init(&up->ctx);
	up->off = 0;
	return (0);
}

static void
upload_remove(const char *repo, const char *uuid)
{
	if (be->upload_abort(repo, uuid) == -1)
		log_warn("%s: %s upload %s", __func__, repo, uuid);
}

/*
 * The hash state of an upload, saved next to its data after every
 * write so that a session is never hashed again from its start, not
 * even after a restart.  A state for another offset is not used.
 */
struct hashstate {
	char		 magic[8];
	int64_t		 off;
	SHA256_CTX	 ctx;
	uint32_t	 check;
};

static void
hashstate_save(struct upload *up)
{
	struct hashstate	 hs;

	memset(&hs, 0, sizeof(hs));
	memcpy(hs.magic, HASHSTATE_MAGIC, sizeof(hs.magic));
	hs.off = up->off;
	hs.ctx = up->ctx;
	hs.check = store_hash(STORE_HASH_INIT, up->uuid) ^ (uint32_t)hs.off;
	be->upload_state_put(up->repo, up->uuid, &hs, sizeof(hs));
}

static int
hashstate_load(struct upload *up, int64_t off)
{
	struct hashstate	 hs;
	ssize_t			 n;

	n = be->upload_state_get(up->repo, up->uuid, &hs, sizeof(hs));
	if (n != (ssize_t)sizeof(hs) || memcmp(hs.magic, HASHSTATE_MAGIC,
	    sizeof(hs.magic)) != 0 || hs.off != off || hs.check !=
	    (store_hash(STORE_HASH_INIT, up->uuid) ^ (uint32_t)hs.off))
		return (-1);
	up->ctx = hs.ctx;
	up->off = off;
	return (0);
}

/* Bytes held by unfinished uploads: all of them, and those of repo. */
static void
upload_pending(const char *repo, int64_t *all, int64_t *inrepo)
{
	struct upload	*up;

	*all = *inrepo = 0;
	RB_FOREACH(up, st_upload_tree, &uploads) {
		*all += up->size;
		if (strcmp(up->repo, repo) == 0)
			*inrepo += up->size;
	}
}

/* Idle sessions end after "upload timeout". */
static struct event	 ev_expire;
static int		 expire_set;

static void
upload_expire(int fd, short event, void *arg)
{
	const struct store_conf	*c = gc_store_conf();
	struct upload		*up, *next;
	time_t			 now = now_mono();
	int			 n = 0;

	expire_set = 0;
	RB_FOREACH_SAFE(up, st_upload_tree, &uploads, next) {
		if (up->busy || now - up->active < c->upload_timeout)
			continue;
		upload_remove(up->repo, up->uuid);
		upload_free(up);
		n++;
	}
	if (n > 0)
		log_debug("%d idle uploads expired", n);
	store_upload_arm();
}

/* (Re)start the timer that ends idle upload sessions. */
void
store_upload_arm(void)
{
	const struct store_conf	*c = gc_store_conf();
	struct timeval		 tv;

	if (expire_set) {
		evtimer_del(&ev_expire);
		expire_set = 0;
	}
	if (c->upload_timeout <= 0)
		return;
	tv.tv_sec = c->upload_timeout / 4;
	if (tv.tv_sec < 1)
		tv.tv_sec = 1;
	if (tv.tv_sec > 60)
		tv.tv_sec = 60;
	tv.tv_usec = 0;
	evtimer_set(&ev_expire, upload_expire, NULL);
	evtimer_add(&ev_expire, &tv);
	expire_set = 1;
}

/* An upload's data: ENOENT when there is no such upload. */
static int
upload_stat(const char *repo, const char *uuid, struct be_stat *bs)
{
	if (!valid_uuid(uuid)) {
		errno = ENOENT;
		return (-1);
	}
	return (be->upload_stat(repo, uuid, bs));
}

static int
mount_blob(const struct st_req *req, struct st_res *res)
{
	struct be_stat	 bs;
	struct st_res	 qres;

	if (req->arg[0] == '\0' || !store_digest_ok(req->arg))
		return (-1);
	/* The frontend names a source its client may pull, or none. */
	if (req->arg2[0] == '\0' || !valid_name(req->arg2) ||
	    !store_linked(req->arg2, BE_LAYER, req->arg))
		return (-1);
	if (be->blob_stat(req->arg, &bs) == -1)
		return (-1);
	gc_touch(req->arg);
	memset(&qres, 0, sizeof(qres));
	if (gc_quota_check(req->repo, req->arg, bs.size, &qres) == -1)
		return (-1);
	if (be->link_get(req->repo, BE_LAYER, req->arg, NULL) == -1 &&
	    be->link_put(req->repo, BE_LAYER, req->arg) == -1) {
		log_warn("%s: %s@%s", __func__, req->repo, req->arg);
		return (-1);
	}
	res->status = 201;
	res->flags |= STR_MOUNTED;
	res->size = bs.size;
	strlcpy(res->digest, req->arg, sizeof(res->digest));
	return (0);
}

void
store_upload_start(const struct st_req *req, struct st_res *res, int *fdp)
{
	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (req->flags & STF_MOUNT_WHERE) {
		store_mount_sources(req, res, fdp);
		return;
	}
	if (mount_blob(req, res) == 0)
		return;
	if (upload_create(req->repo, req->client, res->uuid,
	    sizeof(res->uuid), res) == -1) {
		res->uuid[0] = '\0';
		return;
	}
	res->status = 202;
	res->off = 0;
}

void
store_upload_status(const struct st_req *req, struct st_res *res, int *fdp)
{
	struct upload	*up;
	struct be_stat	 bs;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (upload_stat(req->repo, req->arg, &bs) == -1) {
		store_err_errno(res, errno, req->arg, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		return;
	}
	if ((up = upload_find(req->repo, req->arg)) != NULL)
		up->active = now_mono();
	res->status = 204;
	res->off = bs.size;
	strlcpy(res->uuid, req->arg, sizeof(res->uuid));
}

void
store_upload_cancel(const struct st_req *req, struct st_res *res, int *fdp)
{
	struct be_stat	 bs;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (upload_stat(req->repo, req->arg, &bs) == -1) {
		store_err_errno(res, errno, req->arg, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		return;
	}
	upload_remove(req->repo, req->arg);
	upload_forget(req->repo, req->arg);
	res->status = 204;
	strlcpy(res->uuid, req->arg, sizeof(res->uuid));
}

/*
 * The hash state of up brought to the file's size: from memory, from
 * the state saved in the upload's directory, and only for an upload
 * this process never saw (one of another registry) by reading it all.
 */
static int
upload_hash_ready(struct upload *up, struct be_upload *bu, int64_t size)
{
	unsigned char	*buf;
	ssize_t		 n;
	off_t		 off = 0;

	if (up->off == size || hashstate_load(up, size) == 0)
		return (0);
	up->off = -1;
	if ((buf = malloc(DATA_CHUNK)) == NULL)
		return (-1);
	log_info("upload %s: no saved hash state, reading %lld bytes",
	    up->uuid, (long long)size);
	SHA256_Init(&up->ctx);
	while (off < size) {
		if ((n = be->upload_read(bu, buf, DATA_CHUNK, off)) <= 0)
			break;
		SHA256_Update(&up->ctx, buf, n);
		off += n;
	}
	free(buf);
	if (off != size)
		return (-1);
	up->off = size;
	return (0);
}

/*
 * The quota room left for the bytes of this write: the tightest of the
 * global and the repository's quota, less what every unfinished upload
 * holds already.
 */
static void
upload_room(struct st_stream *s)
{
	int64_t	 all, inrepo;

	/* A blob the repository has already costs nothing more. */
	if ((s->req.flags & STF_FINAL) && store_digest_ok(s->req.ref) &&
	    store_linked(s->req.repo, BE_LAYER, s->req.ref)) {
		s->room = INT64_MAX;
		return;
	}
	upload_pending(s->req.repo, &all, &inrepo);
	s->room = gc_quota_room(s->req.repo, all, inrepo, s->qmsg,
	    sizeof(s->qmsg));
}

/*
 * Begin an upload write: open the data file, check the offset and bring
 * the hash state up to the file's size.  Returns 0 when the stream is
 * running, -1 with res filled when the answer is known already.
 */
static int
upload_begin(struct st_stream *s, struct st_res *res)
{
	struct st_req	*req = &s->req;
	struct upload	*up;
	struct be_stat	 st;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return (-1);
	}
	if ((req->flags & STF_FINAL) && !store_digest_ok(req->ref)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return (-1);
	}
	if ((req->flags & STF_NEWSESSION) || req->arg[0] == '\0') {
		if (upload_create(req->repo, req->client, req->arg,
		    sizeof(req->arg), res) == -1)
			return (-1);
		s->created = 1;
	}
	if (!valid_uuid(req->arg)) {
		store_err(res, 404, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		goto fail;
	}
	if (be->upload_open(req->repo, req->arg, &s->bu, &st) == -1) {
		store_err_errno(res, errno, req->arg, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		goto fail;
	}
	if ((up = upload_get(req->repo, req->arg)) == NULL) {
		store_err_errno(res, errno, req->arg, "BLOB_UPLOAD_UNKNOWN",
		    "cannot track upload");
		goto fail;
	}
	up->active = now_mono();
	up->size = st.size;
	if (up->busy) {
		store_err(res, 416, "BLOB_UPLOAD_INVALID",
		    "another write to this upload is in progress");
		res->off = st.size;
		strlcpy(res->uuid, req->arg, sizeof(res->uuid));
		goto fail;
	}
	if ((req->flags & STF_HAVE_OFF) && req->off != st.size) {
		store_err(res, 416, "BLOB_UPLOAD_INVALID",
		    "upload is at offset %lld", (long long)st.size);
		res->off = st.size;
		strlcpy(res->uuid, req->arg, sizeof(res->uuid));
		goto fail;
	}
	if (upload_hash_ready(up, s->bu, st.size) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot read upload");
		goto fail;
	}
	s->saved = up->ctx;
	if ((s->io = io_open(s->bu, &up->ctx)) == NULL) {
		store_err(res, 503, "UNAVAILABLE", "out of memory");
		goto fail;
	}
	up->busy = 1;
	s->up = up;
	s->start = st.size;
	upload_room(s);
	return (0);
fail:
	be->upload_close(s->bu);
	s->bu = NULL;
	if (s->created) {
		upload_remove(req->repo, req->arg);
		upload_forget(req->repo, req->arg);
		s->created = 0;
	}
	return (-1);
}

/* Wait for the bytes of this request to be written and hashed. */
static void
upload_drain(struct st_stream *s)
{
	int64_t	 n;
	int	 err;

	if (s->io == NULL)
		return;
	n = io_drain(s->io, &err);
	io_close(s->io);
	s->io = NULL;
	if (s->werr == 0)
		s->werr = err;
	if (s->up != NULL)
		s->up->off = s->up->size = s->start + n;
}

/* Put the upload back the way it was when this request began. */
static void
upload_rollback(struct st_stream *s)
{
	struct upload	*up = s->up;

	upload_drain(s);
	if (up == NULL)
		return;
	if (s->created || up->cancelled) {
		if (s->created)
			upload_remove(up->repo, up->uuid);
		upload_free(up);
		s->up = NULL;
		return;
	}
	if (be->upload_truncate(s->bu, s->start) == -1) {
		log_warn("%s: truncate %s", __func__, up->uuid);
		up->off = -1;
	} else {
		up->ctx = s->saved;
		up->off = up->size = s->start;
	}
	up->busy = 0;
	s->up = NULL;
}

static int
upload_verify(struct st_stream *s, char *digest, size_t len)
{
	SHA256_CTX	 c;
	EVP_MD_CTX	*ctx;
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	char		 hex[2 * SHA256_DIGEST_LENGTH + 1];
	int64_t		 n;
	int		 rv = -1;

	if (strncmp(s->req.ref, "sha256:", 7) == 0) {
		c = s->up->ctx;
		SHA256_Final(md, &c);
		hexstr(md, sizeof(md), hex);
		return (store_path(digest, len, "sha256:%s", hex));
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (hash_upload(s->bu, ctx, alg_md(s->req.ref), &n) == 0 &&
	    n == s->up->off)
		rv = ctx_digest(ctx, "sha512", digest, len);
	EVP_MD_CTX_free(ctx);
	return (rv);
}

static void
upload_end(struct st_stream *s, struct st_res *res)
{
	struct upload	*up = s->up;
	char		 digest[MAX_DIGEST + 1];
	int		 made;

	upload_drain(s);
	if (up->cancelled) {
		store_err(res, 404, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		upload_rollback(s);
		return;
	}
	if (s->werr != 0) {
		store_err(res, 500, "UNKNOWN", "write failed: %s",
		    strerror(s->werr));
		upload_rollback(s);
		return;
	}
	if (!(s->req.flags & STF_FINAL)) {
		res->status = 202;
		res->off = up->off;
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
		hashstate_save(up);
		up->active = now_mono();
		up->busy = 0;
		s->up = NULL;
		return;
	}
	if (upload_verify(s, digest, sizeof(digest)) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot compute digest");
		upload_rollback(s);
		return;
	}
	if (strcmp(digest, s->req.ref) != 0) {
		store_err(res, 400, "DIGEST_INVALID",
		    "upload digest does not match %s", s->req.ref);
		upload_rollback(s);
		return;
	}
	if (gc_quota_check(up->repo, digest, up->off, res) == -1) {
		/* Over quota: nothing of this upload is kept. */
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
		upload_remove(up->repo, up->uuid);
		upload_free(up);
		s->up = NULL;
		return;
	}
	/* The session ends with the commit: no rollback after it. */
	if ((made = be->upload_commit(s->bu, digest)) == -1)
		goto fail;
	if (made)
		gc_disk_add(up->off);
	gc_touch(digest);
	if (be->link_get(up->repo, BE_LAYER, digest, NULL) == -1 &&
	    be->link_put(up->repo, BE_LAYER, digest) == -1) {
		log_warn("%s: %s: link %s", __func__, up->repo, digest);
		store_err(res, 500, "UNKNOWN", "cannot link blob");
	} else {
		res->status = 201;
		res->size = up->off;
		strlcpy(res->digest, digest, sizeof(res->digest));
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
	}
	upload_free(up);
	s->up = NULL;
	return;
fail:
	log_warn("%s: %s: commit %s", __func__, up->repo, digest);
	store_err(res, 500, "UNKNOWN", "cannot store blob");
	upload_rollback(s);
}

/*
 * Streams: a request followed by ST_DATA messages.  Returns the stream,
 * with *answer set when res holds an answer to send now (the stream then
 * swallows its data and answers nothing more).
 */
struct st_stream *
store_stream_begin(uint32_t type, const struct st_req *req,
    struct st_res *res, int *answer)
{
	struct st_stream	*s;

	*answer = 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->type = type;
	memcpy(&s->req, req, sizeof(s->req));
	if (type == ST_UPLOAD_WRITE) {
		if (upload_begin(s, res) == -1) {
			s->ignore = 1;
			*answer = 1;
		}
		return (s);
	}
	/* The server's "max manifest size", never above storage's own. */
	s->limit = MANIFEST_HARDMAX;
	if (req->n > 0 && req->n < MANIFEST_HARDMAX)
		s->limit = req->n;
	if (!valid_name(req->repo))
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
	else if (strchr(req->ref, ':') != NULL && !store_digest_ok(req->ref))
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
	else if (strchr(req->ref, ':') == NULL && !valid_tag(req->ref))
		store_err(res, 400, "TAG_INVALID", "invalid tag");
	else if (req->len > 0 && (uint64_t)req->len > s->limit)
		store_err(res, 413, "SIZE_INVALID", "manifest too large");
	else if (manifest_hold(s, req->len > 0 ? req->len : 0, res) == 0)
		return (s);
	s->ignore = 1;
	*answer = 1;
	return (s);
}

/*
 * Count n more bytes of manifest bodies held at once, a body with a
 * Content-Length for all of it from its start: 0, or -1 with a 503
 * when all bodies would take more than MANIFEST_ALLMAX.
 */
static int
manifest_hold(struct st_stream *s, size_t n, struct st_res *res)
{
	if (n <= s->held)
		return (0);
	if (buffered + (n - s->held) > MANIFEST_ALLMAX) {
		store_err(res, 503, "UNAVAILABLE",
		    "too many manifests being received, try again later");
		return (-1);
	}
	buffered += n - s->held;
	s->held = n;
	return (0);
}

/* Give up on a manifest body and the memory it holds. */
static void
manifest_drop(struct st_stream *s)
{
	free(s->buf);
	store_trim(s->size);
	s->buf = NULL;
	buffered -= s->held;
	s->held = s->len = s->size = 0;
}

/* Bytes of an upload, counted against the quota as they come. */
static int
upload_data(struct st_stream *s, const void *data, size_t len,
    struct st_res *res)
{
	struct upload	*up = s->up;

	if (s->werr != 0 || up->cancelled)
		return (0);
	s->got += len;
	if (s->got > s->room) {
		/* Over quota: nothing of this upload is kept. */
		store_err(res, 403, "DENIED", "%s", s->qmsg);
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
		upload_drain(s);
		upload_remove(up->repo, up->uuid);
		upload_free(up);
		s->up = NULL;
		s->ignore = 1;
		return (1);
	}
	if (io_data(s->io, data, len) == -1)
		s->werr = ENOMEM;
	return (0);
}

/* More body: 1 when res holds an answer to send now, 0 otherwise. */
int
store_stream_data(struct st_stream *s, const void *data, size_t len,
    struct st_res *res)
{
	unsigned char	*nbuf;
	size_t		 nsize;

	if (s->ignore || len == 0)
		return (0);
	if (s->type == ST_UPLOAD_WRITE)
		return (upload_data(s, data, len, res));
	if (s->len + len > s->limit) {
		store_err(res, 413, "SIZE_INVALID", "manifest too large");
		goto refuse;
	}
	if (manifest_hold(s, s->len + len, res) == -1)
		goto refuse;
	if (s->len + len > s->size) {
		/* Grow as bytes come, not as a Content-Length claims. */
		nsize = s->size > 0 ? s->size : 16 * 1024;
		while (nsize < s->len + len)
			nsize *= 2;
		if (nsize > s->limit)
			nsize = s->limit;
		if ((nbuf = realloc(s->buf, nsize)) == NULL) {
			store_err(res, 503, "UNAVAILABLE", "out of memory");
			goto refuse;
		}
		s->buf = nbuf;
		s->size = nsize;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return (0);
refuse:
	manifest_drop(s);
	s->ignore = 1;
	return (1);
}

static void
stream_free(struct st_stream *s)
{
	manifest_drop(s);
	io_close(s->io);
	be->upload_close(s->bu);
	free(s);
}

/* The body is complete: 1 with res to send, 0 when answered before. */
int
store_stream_end(struct st_stream *s, struct st_res *res)
{
	int	 answer = 1;

	if (s->ignore)
		answer = 0;
	else if (s->type == ST_UPLOAD_WRITE)
		upload_end(s, res);
	else if (s->req.len >= 0 && (uint64_t)s->req.len != s->len)
		store_err(res, 400, "SIZE_INVALID",
		    "body length does not match Content-Length");
	else
		manifest_commit(&s->req, s->buf != NULL ? s->buf :
		    (const unsigned char *)"", s->len, res);
	stream_free(s);
	return (answer);
}

void
store_stream_abort(struct st_stream *s)
{
	if (!s->ignore && s->type == ST_UPLOAD_WRITE)
		upload_rollback(s);
	stream_free(s);
}

/* Remove an idle upload (for GC); -1 EBUSY if it is being written to. */
int
store_upload_purge(const char *repo, const char *uuid)
{
	struct upload	*up;

	if ((up = upload_find(repo, uuid)) != NULL) {
		if (up->busy) {
			errno = EBUSY;
			return (-1);
		}
		upload_free(up);
	}
	return (be->upload_abort(repo, uuid));
}

/* The repository is being removed: its uploads end. */
void
store_upload_forget_repo(const char *repo)
{
	struct upload	*up, *next;

	RB_FOREACH_SAFE(up, st_upload_tree, &uploads, next) {
		if (strcmp(up->repo, repo) != 0)
			continue;
		if (up->busy)
			up->cancelled = 1;
		else
			upload_free(up);
	}
}

