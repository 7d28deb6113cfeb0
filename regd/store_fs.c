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
	int			 fd;
	int64_t			 start;
	int64_t			 got;		/* bytes of this request */
	int64_t			 room;		/* quota left for them */
	char			 qmsg[MAX_ERRMSG + 1];
	SHA256_CTX		 saved;
	struct io_stream	*io;		/* writes and hashes the bytes */
	int			 werr;
	int			 created;
};

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

int
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

int
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
int
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

int
store_exists(const char *path)
{
	struct stat	 st;

	return (stat(path, &st) == 0);
}

int
store_repo_exists(const char *repo)
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
	if (store_path(path, sizeof(path), "%s/repositories/%s/_uploads",
	    ST_V2, repo) == 0 && store_exists(path))
		return (1);
	return (0);
}

/*
 * Whether repo links digest: 1 yes, 0 no, -1 when that cannot be told
 * (errno set, the link's path in path).
 */
static int
link_state(const char *repo, const char *kind, const char *digest,
    char *path, size_t len)
{
	struct stat	 st;

	if (store_link_path(path, len, repo, kind, digest) == -1)
		return (0);
	if (stat(path, &st) == 0) {
		gc_touch(digest);
		return (1);
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return (0);
	return (-1);
}

int
store_linked(const char *repo, const char *kind, const char *digest)
{
	char	 path[PATH_MAX];

	if (store_link_path(path, sizeof(path), repo, kind, digest) == -1 ||
	    !store_exists(path))
		return (0);
	gc_touch(digest);
	return (1);
}

/* Read a link file; 0 with a checked digest, -1 otherwise. */
int
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

int
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
int
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
int
store_rmtree(const char *path)
{
	store_gen++;
	return (rmtree_at(AT_FDCWD, path));
}

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

/* Hash a whole file from its start into a fresh context. */
static int
hash_fd(int fd, EVP_MD_CTX *ctx, const EVP_MD *md, int64_t *lenp)
{
	unsigned char	*buf;
	ssize_t		 n;
	off_t		 off = 0;
	int		 rv = -1;

	if ((buf = malloc(DATA_CHUNK)) == NULL)
		return (-1);
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto done;
	for (;;) {
		if ((n = pread(fd, buf, DATA_CHUNK, off)) == -1) {
			if (errno == EINTR)
				continue;
			goto done;
		}
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
	char			 path[PATH_MAX];
	size_t			 len;
	json_t			*root;

	if (strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	if ((n = RB_FIND(st_meta_tree, &metas, &key)) != NULL)
		return (&n->m);
	if (store_blob_path(path, sizeof(path), digest) == -1 ||
	    read_stored(path, &buf, &len, MANIFEST_HARDMAX) == -1)
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

void
store_blob_get(const struct st_req *req, struct st_res *res, int *fdp)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 fd, l, err = ENOENT;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->ref)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	if ((l = link_state(req->repo, "_layers", req->ref, path,
	    sizeof(path))) == 0)
		l = link_state(req->repo, "_manifests/revisions", req->ref,
		    path, sizeof(path));
	if (l != 1) {
		err = l == 0 ? ENOENT : errno;
		goto fail;
	}
	if (store_blob_path(path, sizeof(path), req->ref) == -1)
		goto fail;
	if (req->flags & STF_HEAD) {
		if (stat(path, &st) == -1) {
			err = errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode))
			goto fail;
	} else {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			err = errno;
			goto fail;
		}
		if (fstat(fd, &st) == -1) {
			err = errno;
			close(fd);
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			close(fd);
			goto fail;
		}
		*fdp = fd;
	}
	res->status = 200;
	res->size = st.st_size;
	strlcpy(res->digest, req->ref, sizeof(res->digest));
	return;
fail:
	store_err_errno(res, err, path, "BLOB_UNKNOWN",
	    "blob unknown to registry");
}

void
store_blob_delete(const struct st_req *req, struct st_res *res, int *fdp)
{
	char	 path[PATH_MAX], *slash;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->ref)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	if (store_link_path(path, sizeof(path), req->repo, "_layers",
	    req->ref) == -1 || !store_exists(path)) {
		store_err(res, 404, "BLOB_UNKNOWN", "blob unknown to registry");
		return;
	}
	/* Remove the <hex> directory holding the link. */
	if ((slash = strrchr(path, '/')) != NULL)
		*slash = '\0';
	if (store_rmtree(path) == -1) {
		log_warn("%s: remove %s", __func__, path);
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
	char		 path[PATH_MAX];

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
		if (store_path(path, sizeof(path),
		    "%s/repositories/%s/_manifests/tags/%s/current/link",
		    ST_V2, req->repo, req->ref) == -1)
			goto unknown;
		if (store_read_link(path, digest, len) == -1) {
			store_err_errno(res, errno, path, "MANIFEST_UNKNOWN",
			    "manifest unknown");
			return (-1);
		}
	}
	switch (link_state(req->repo, "_manifests/revisions", digest, path,
	    sizeof(path))) {
	case 1:
		break;
	case 0:
		goto unknown;
	default:
		store_err_errno(res, errno, path, "MANIFEST_UNKNOWN",
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
manifest_body(const char *digest, const char *path, size_t *lenp)
{
	struct body_slot	*b;
	unsigned char		*buf;
	size_t			 len;

	b = &bodies[store_hash(STORE_HASH_INIT, digest) % BODY_SLOTS];
	if (b->data == NULL || b->gen != store_gen ||
	    strcmp(b->digest, digest) != 0) {
		if (read_stored(path, &buf, &len, MANIFEST_INLINE) == -1)
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
	struct stat	 st;
	struct st_meta	*m;
	const void	*body;
	char		 digest[MAX_DIGEST + 1], path[PATH_MAX];
	size_t		 len;
	int		 fd = -1, err = ENOENT;

	*bodyp = NULL;
	if (manifest_resolve(req, res, digest, sizeof(digest)) == -1)
		return;
	if (store_blob_path(path, sizeof(path), digest) == -1)
		goto unknown;
	if (!(req->flags & STF_HEAD) &&
	    (body = manifest_body(digest, path, &len)) != NULL) {
		if ((m = store_meta(digest)) == NULL) {
			err = errno;
			goto unknown;
		}
		res->status = 200;
		res->size = len;
		strlcpy(res->digest, digest, sizeof(res->digest));
		strlcpy(res->mediatype, m->mediatype, sizeof(res->mediatype));
		*bodyp = body;
		return;
	}
	if (req->flags & STF_HEAD) {
		if (stat(path, &st) == -1) {
			err = errno;
			goto unknown;
		}
	} else {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(fd, &st) == -1) {
			err = errno;
			goto unknown;
		}
	}
	if (!S_ISREG(st.st_mode))
		goto unknown;
	if ((m = store_meta(digest)) == NULL) {
		err = errno;
		goto unknown;
	}
	res->status = 200;
	res->size = st.st_size;
	strlcpy(res->digest, digest, sizeof(res->digest));
	strlcpy(res->mediatype, m->mediatype, sizeof(res->mediatype));
	*fdp = fd;
	return;
unknown:
	if (fd != -1)
		close(fd);
	store_err_errno(res, err, path, "MANIFEST_UNKNOWN",
	    "manifest unknown");
}

void
store_manifest_delete(const struct st_req *req, struct st_res *res,
    int *fdp)
{
	DIR		*d;
	struct dirent	*de;
	char		 digest[MAX_DIGEST + 1], cur[MAX_DIGEST + 1];
	char		 path[PATH_MAX], tags[PATH_MAX], *slash;

	if (strchr(req->ref, ':') == NULL && valid_name(req->repo) &&
	    valid_tag(req->ref)) {
		/* A tag goes alone, even one whose manifest is gone. */
		if (store_path(path, sizeof(path),
		    "%s/repositories/%s/_manifests/tags/%s/current/link",
		    ST_V2, req->repo, req->ref) == -1 ||
		    store_read_link(path, digest, sizeof(digest)) == -1) {
			store_err(res, 404, "MANIFEST_UNKNOWN",
			    "manifest unknown");
			return;
		}
		if (store_path(path, sizeof(path),
		    "%s/repositories/%s/_manifests/tags/%s", ST_V2,
		    req->repo, req->ref) == -1 || store_rmtree(path) == -1)
			goto fail;
		goto done;
	}
	if (manifest_resolve(req, res, digest, sizeof(digest)) == -1)
		return;
	if (store_link_path(path, sizeof(path), req->repo,
	    "_manifests/revisions", digest) == -1)
		goto fail;
	if ((slash = strrchr(path, '/')) != NULL)
		*slash = '\0';
	if (store_rmtree(path) == -1)
		goto fail;
	if (store_path(tags, sizeof(tags), "%s/repositories/%s/_manifests/tags",
	    ST_V2, req->repo) == -1)
		goto fail;
	if ((d = opendir(tags)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!valid_tag(de->d_name))
				continue;
			if (store_path(path, sizeof(path), "%s/%s/current/link",
			    tags, de->d_name) == -1 ||
			    store_read_link(path, cur, sizeof(cur)) == -1 ||
			    strcmp(cur, digest) != 0)
				continue;
			if (store_path(path, sizeof(path), "%s/%s", tags,
			    de->d_name) == -1 || store_rmtree(path) == -1)
				log_warn("%s: remove tag %s", __func__,
				    de->d_name);
		}
		closedir(d);
	}
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
			if (!store_linked(repo, "_manifests/revisions", d)) {
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
	if (!store_linked(repo, "_layers", d)) {
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
		if (!store_linked(repo, "_layers", d)) {
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

static void
manifest_commit(const struct st_req *req, const unsigned char *buf,
    size_t len, struct st_res *res)
{
	json_error_t	 jerr;
	json_t		*root = NULL, *v;
	enum mkind	 kind = MK_NONE;
	const char	*bodymt, *mt, *sd = NULL;
	char		 ct[MAX_MEDIATYPE + 1], digest[MAX_DIGEST + 1];
	char		 path[PATH_MAX], alg[16];
	const char	*hex;
	int		 istag;

	path[0] = '\0';
	istag = strchr(req->ref, ':') == NULL;
	if ((root = json_loadb((const char *)buf, len, 0, &jerr)) == NULL) {
		store_err(res, 400, "MANIFEST_INVALID", "invalid JSON: %s",
		    jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "manifest is not a JSON object");
		goto done;
	}
	v = json_object_get(root, "schemaVersion");
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "schemaVersion must be 2");
		goto done;
	}
	v = json_object_get(root, "mediaType");
	if (v != NULL && !json_is_string(v)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "mediaType must be a string");
		goto done;
	}
	bodymt = json_string_value(v);
	content_type(req->mediatype, ct, sizeof(ct));
	if (bodymt != NULL && ct[0] != '\0' && strcmp(bodymt, ct) != 0) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "mediaType %.60s does not match Content-Type %.60s",
		    bodymt, ct);
		goto done;
	}
	if (bodymt != NULL)
		mt = bodymt;
	else if (ct[0] != '\0')
		mt = ct;
	else
		mt = guess_mediatype(root);
	if (!is_type(mt, &kind)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "unsupported media type %.100s", mt);
		goto done;
	}
	if (manifest_refs(req->repo, root, kind, res) == -1)
		goto done;
	if ((v = json_object_get(root, "subject")) != NULL) {
		if ((sd = desc_digest(v)) == NULL) {
			store_err(res, 400, "MANIFEST_INVALID",
			    "subject: invalid descriptor");
			goto done;
		}
	}
	v = json_object_get(root, "artifactType");
	if (v != NULL && !json_is_string(v)) {
		store_err(res, 400, "MANIFEST_INVALID",
		    "artifactType must be a string");
		goto done;
	}
	if (store_digest_buf(!istag && strncmp(req->ref, "sha512:", 7) == 0 ?
	    "sha512" : "sha256", buf, len, digest, sizeof(digest)) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot compute digest");
		goto done;
	}
	if (!istag && strcmp(digest, req->ref) != 0) {
		store_err(res, 400, "DIGEST_INVALID",
		    "manifest digest does not match %s", req->ref);
		goto done;
	}

	if (gc_quota_check(req->repo, digest, len, res) == -1)
		goto done;
	if (store_blob_path(path, sizeof(path), digest) == -1)
		goto fail;
	gc_touch(digest);
	if (!store_exists(path)) {
		if (store_write_file(path, buf, len) == -1)
			goto fail;
		gc_disk_add(len);
	}
	if (store_link_path(path, sizeof(path), req->repo,
	    "_manifests/revisions", digest) == -1 ||
	    write_link(path, digest) == -1)
		goto fail;
	if (istag) {
		digest_split(digest, alg, sizeof(alg), &hex);
		if (store_path(path, sizeof(path),
		    "%s/repositories/%s/_manifests/tags/%s/index/%s/%s/link",
		    ST_V2, req->repo, req->ref, alg, hex) == -1 ||
		    write_link(path, digest) == -1)
			goto fail;
		if (store_path(path, sizeof(path),
		    "%s/repositories/%s/_manifests/tags/%s/current/link",
		    ST_V2, req->repo, req->ref) == -1 ||
		    write_link(path, digest) == -1)
			goto fail;
	}
	meta_set(digest, root, len);
	res->status = 201;
	if (sd != NULL)
		strlcpy(res->subject, sd, sizeof(res->subject));
	res->size = len;
	strlcpy(res->digest, digest, sizeof(res->digest));
	strlcpy(res->mediatype, mt, sizeof(res->mediatype));
	goto done;
fail:
	log_warn("%s: %s: write %s", __func__, req->repo, path);
	store_err(res, 500, "UNKNOWN", "cannot store manifest");
done:
	json_decref(root);
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
	struct tm	 tm;
	time_t		 now;
	char		 path[PATH_MAX], ts[64];

	if (upload_admit(repo, client, res) == -1)
		return (-1);
	new_uuid(uuid, len);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (upload_path(path, sizeof(path), repo, uuid, "startedat") == -1 ||
	    store_write_file(path, ts, strlen(ts)) == -1)
		goto fail;
	if (upload_path(path, sizeof(path), repo, uuid, "data") == -1 ||
	    store_write_file(path, "", 0) == -1)
		goto fail;
	if ((up = upload_get(repo, uuid)) == NULL)
		goto fail;
	strlcpy(up->client, client, sizeof(up->client));
	SHA256_Init(&up->ctx);
	up->off = 0;
	return (0);
fail:
	store_err_errno(res, errno == ENOENT ? EIO : errno, path,
	    "BLOB_UPLOAD_UNKNOWN", "cannot create upload");
	if (upload_path(path, sizeof(path), repo, uuid, "") == 0)
		store_rmtree(path);
	return (-1);
}

static void
upload_remove(const char *repo, const char *uuid)
{
	char	 path[PATH_MAX];

	if (upload_path(path, sizeof(path), repo, uuid, "") == 0 &&
	    store_rmtree(path) == -1)
		log_warn("%s: %s", __func__, path);
}

/*
 * The size of an upload's data, or -1 when there is no such upload
 * (errno ENOENT) or it cannot be told (another errno, path filled).
 */
static int64_t
upload_size(const char *repo, const char *uuid, char *path, size_t len)
{
	struct stat	 st;

	path[0] = '\0';
	if (!valid_uuid(uuid) ||
	    upload_path(path, len, repo, uuid, "data") == -1) {
		errno = ENOENT;
		return (-1);
	}
	if (stat(path, &st) == -1)
		return (-1);
	if (!S_ISREG(st.st_mode)) {
		errno = ENOENT;
		return (-1);
	}
	return (st.st_size);
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
	char			 path[PATH_MAX];
	int			 fd;

	memset(&hs, 0, sizeof(hs));
	memcpy(hs.magic, HASHSTATE_MAGIC, sizeof(hs.magic));
	hs.off = up->off;
	hs.ctx = up->ctx;
	hs.check = store_hash(STORE_HASH_INIT, up->uuid) ^ (uint32_t)hs.off;
	if (upload_path(path, sizeof(path), up->repo, up->uuid,
	    HASHSTATE) == -1)
		return;
	/* No fsync: a torn or stale state is seen and not used. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) == -1)
		return;
	if (write_all(fd, &hs, sizeof(hs)) == -1)
		(void)ftruncate(fd, 0);
	close(fd);
}

static int
hashstate_load(struct upload *up, int64_t off)
{
	struct hashstate	 hs;
	char			 path[PATH_MAX];
	ssize_t			 n;
	int			 fd;

	if (upload_path(path, sizeof(path), up->repo, up->uuid,
	    HASHSTATE) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, &hs, sizeof(hs));
	close(fd);
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

static int
mount_blob(const struct st_req *req, struct st_res *res)
{
	struct stat	 st;
	struct st_res	 qres;
	char		 path[PATH_MAX];

	if (req->arg[0] == '\0' || !store_digest_ok(req->arg))
		return (-1);
	/* The frontend names a source its client may pull, or none. */
	if (req->arg2[0] == '\0' || !valid_name(req->arg2) ||
	    !store_linked(req->arg2, "_layers", req->arg))
		return (-1);
	if (store_blob_path(path, sizeof(path), req->arg) == -1 ||
	    stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return (-1);
	gc_touch(req->arg);
	memset(&qres, 0, sizeof(qres));
	if (gc_quota_check(req->repo, req->arg, st.st_size, &qres) == -1)
		return (-1);
	if (store_link_path(path, sizeof(path), req->repo, "_layers",
	    req->arg) == -1)
		return (-1);
	if (!store_exists(path) && write_link(path, req->arg) == -1) {
		log_warn("%s: %s", __func__, path);
		return (-1);
	}
	res->status = 201;
	res->flags |= STR_MOUNTED;
	res->size = st.st_size;
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
	char		 path[PATH_MAX];
	int64_t		 size;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if ((size = upload_size(req->repo, req->arg, path,
	    sizeof(path))) == -1) {
		store_err_errno(res, errno, path, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		return;
	}
	if ((up = upload_find(req->repo, req->arg)) != NULL)
		up->active = now_mono();
	res->status = 204;
	res->off = size;
	strlcpy(res->uuid, req->arg, sizeof(res->uuid));
}

void
store_upload_cancel(const struct st_req *req, struct st_res *res, int *fdp)
{
	char	 path[PATH_MAX];

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (upload_size(req->repo, req->arg, path, sizeof(path)) == -1) {
		store_err_errno(res, errno, path, "BLOB_UPLOAD_UNKNOWN",
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
upload_hash_ready(struct upload *up, int fd, int64_t size)
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
		if ((n = pread(fd, buf, DATA_CHUNK, off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
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
	    store_linked(s->req.repo, "_layers", s->req.ref)) {
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
	struct stat	 st;
	char		 path[PATH_MAX];

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
	path[0] = '\0';
	if (!valid_uuid(req->arg) ||
	    upload_path(path, sizeof(path), req->repo, req->arg, "data") ==
	    -1) {
		store_err(res, 404, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		goto fail;
	}
	if ((s->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)) == -1 ||
	    fstat(s->fd, &st) == -1) {
		store_err_errno(res, errno, path, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		goto fail;
	}
	if ((up = upload_get(req->repo, req->arg)) == NULL) {
		store_err_errno(res, errno, path, "BLOB_UPLOAD_UNKNOWN",
		    "cannot track upload");
		goto fail;
	}
	up->active = now_mono();
	up->size = st.st_size;
	if (up->busy) {
		store_err(res, 416, "BLOB_UPLOAD_INVALID",
		    "another write to this upload is in progress");
		res->off = st.st_size;
		strlcpy(res->uuid, req->arg, sizeof(res->uuid));
		goto fail;
	}
	if ((req->flags & STF_HAVE_OFF) && req->off != st.st_size) {
		store_err(res, 416, "BLOB_UPLOAD_INVALID",
		    "upload is at offset %lld", (long long)st.st_size);
		res->off = st.st_size;
		strlcpy(res->uuid, req->arg, sizeof(res->uuid));
		goto fail;
	}
	if (upload_hash_ready(up, s->fd, st.st_size) == -1) {
		store_err(res, 500, "UNKNOWN", "cannot read upload");
		goto fail;
	}
	s->saved = up->ctx;
	if ((s->io = io_open(s->fd, &up->ctx)) == NULL) {
		store_err(res, 503, "UNAVAILABLE", "out of memory");
		goto fail;
	}
	up->busy = 1;
	s->up = up;
	s->start = st.st_size;
	upload_room(s);
	return (0);
fail:
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
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
	if (ftruncate(s->fd, s->start) == -1) {
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
	if (hash_fd(s->fd, ctx, alg_md(s->req.ref), &n) == 0 &&
	    n == s->up->off)
		rv = ctx_digest(ctx, "sha512", digest, len);
	EVP_MD_CTX_free(ctx);
	return (rv);
}

static void
upload_end(struct st_stream *s, struct st_res *res)
{
	struct upload	*up = s->up;
	struct stat	 st;
	char		 digest[MAX_DIGEST + 1], data[PATH_MAX];
	char		 blob[PATH_MAX], link[PATH_MAX], *slash;

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
	if (fsync(s->fd) == -1 ||
	    upload_path(data, sizeof(data), up->repo, up->uuid, "data") ==
	    -1 || store_blob_path(blob, sizeof(blob), digest) == -1 ||
	    store_link_path(link, sizeof(link), up->repo, "_layers",
	    digest) == -1)
		goto fail;
	if (stat(blob, &st) == -1) {
		strlcpy(data, blob, sizeof(data));
		if ((slash = strrchr(data, '/')) != NULL)
			*slash = '\0';
		if (store_mkdirs(data) == -1 || upload_path(data,
		    sizeof(data), up->repo, up->uuid, "data") == -1 ||
		    rename(data, blob) == -1)
			goto fail;
		fsync_dir(blob);
		gc_disk_add(up->off);
	}
	gc_touch(digest);
	/* From here on the upload's data is gone: no rollback. */
	if (!store_exists(link) && write_link(link, digest) == -1) {
		log_warn("%s: %s: link %s", __func__, up->repo, digest);
		store_err(res, 500, "UNKNOWN", "cannot link blob");
	} else {
		res->status = 201;
		res->size = up->off;
		strlcpy(res->digest, digest, sizeof(res->digest));
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
	}
	upload_remove(up->repo, up->uuid);
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
	s->fd = -1;
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
	if (s->fd != -1)
		close(s->fd);
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

/* Remove an idle upload (for GC); -1 if it is being written to. */
int
store_upload_purge(const char *repo, const char *uuid)
{
	struct upload	*up;

	if ((up = upload_find(repo, uuid)) != NULL) {
		if (up->busy)
			return (-1);
		upload_free(up);
	}
	upload_remove(repo, uuid);
	return (0);
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

int
store_init(void)
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
