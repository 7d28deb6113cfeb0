/*
 * Storage: the filesystem backend, in CNCF Distribution's layout (see
 * store_backend.h).  Every path is relative to the storage root (the
 * process's cwd) and is built only from strings that passed
 * valid_name(), valid_tag(), valid_uuid() or store_digest_ok().
 */

#include <sys/types.h>
#include <sys/stat.h>

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

#include "regd.h"
#include "store_backend.h"

#define HASHSTATE		"hashstate"

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

/* A use of the blob moves its mtime: GC's grace counts from it. */
static int
fs_blob_touch(const char *digest)
{
	char	 path[PATH_MAX];

	if (store_blob_path(path, sizeof(path), digest) == -1)
		return (-1);
	return (utimensat(AT_FDCWD, path, NULL, 0));
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
		/*
		 * The blob's mtime is its commit, not its last PATCH: the
		 * GC grace of an instance sharing the store counts from it.
		 */
		(void)futimens(bu->fd, NULL);
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
	/* A state that cannot be emptied is still caught by its check. */
	if (write_all(fd, buf, len) == -1 && ftruncate(fd, 0) == -1)
		log_debug("%s: %s: ftruncate: %s", __func__, path,
		    strerror(errno));
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
	char	 path[PATH_MAX];

	if (store_link_path(path, sizeof(path), repo, link_kind(kind),
	    digest) == -1)
		return (-1);
	return (stat_reg(path, bs));
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
			if (report != NULL)
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

/* A lease's file, beside Distribution's tree. */
static int
lease_path(char *buf, size_t len, const char *name)
{
	const char	*p;

	for (p = name; *p != '\0'; p++)
		if (*p < 'a' || *p > 'z') {
			errno = EINVAL;
			return (-1);
		}
	return (store_path(buf, len, "%s/_regd/%s.lease", ST_V2, name));
}

static ssize_t
fs_lease_get(const char *name, void *buf, size_t len, struct be_stat *bs)
{
	struct stat	 st;
	char		 path[PATH_MAX];
	ssize_t		 n;
	int		 fd, saved;

	if (lease_path(path, sizeof(path), name) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1 || (n = read(fd, buf, len)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	close(fd);
	if (bs != NULL) {
		bs->size = st.st_size;
		bs->mtime = st.st_mtime;
	}
	return (n);
}

/*
 * Written to a temporary file first; excl links it in place (link(2)
 * fails with EEXIST, also over NFS), else it is renamed over.
 */
static int
fs_lease_put(const char *name, const void *buf, size_t len, int excl)
{
	char	 path[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX];
	int	 fd, saved, rv;

	if (lease_path(path, sizeof(path), name) == -1 ||
	    store_path(dir, sizeof(dir), "%s/_regd", ST_V2) == -1 ||
	    store_path(tmp, sizeof(tmp), "%s.tmp%08x", path,
	    arc4random()) == -1 || store_mkdirs(dir) == -1)
		return (-1);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0666)) == -1)
		return (-1);
	rv = write_all(fd, buf, len) == -1 || fsync(fd) == -1 ? -1 : 0;
	saved = errno;
	if (close(fd) == -1 && rv == 0) {
		rv = -1;
		saved = errno;
	}
	if (rv == -1) {
		unlink(tmp);
		errno = saved;
		return (-1);
	}
	rv = excl ? link(tmp, path) : rename(tmp, path);
	saved = errno;
	if (excl || rv == -1)
		unlink(tmp);
	errno = saved;
	if (rv == 0)
		fsync_dir(path);
	return (rv);
}

static int
fs_lease_del(const char *name)
{
	char	 path[PATH_MAX];

	if (lease_path(path, sizeof(path), name) == -1)
		return (-1);
	if (unlink(path) == -1 && errno != ENOENT)
		return (-1);
	return (0);
}

/* Notes (store_backend.h): "_regd/<name>.note" beside the tree. */
static int
note_path(char *buf, size_t len, const char *name)
{
	if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz") !=
	    strlen(name)) {
		errno = EINVAL;
		return (-1);
	}
	return (store_path(buf, len, "%s/_regd/%s.note", ST_V2, name));
}

static int
fs_note_get(const char *name, size_t max, unsigned char **bufp,
    size_t *lenp)
{
	char	 path[PATH_MAX];

	if (note_path(path, sizeof(path), name) == -1)
		return (-1);
	return (read_stored(path, bufp, lenp, max));
}

static int
fs_note_put(const char *name, const void *buf, size_t len)
{
	char	 path[PATH_MAX];

	if (note_path(path, sizeof(path), name) == -1)
		return (-1);
	return (store_write_file(path, buf, len));
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
	.link_remove = fs_link_remove,
	.lease_get = fs_lease_get,
	.lease_put = fs_lease_put,
	.lease_del = fs_lease_del,
	.note_get = fs_note_get,
	.note_put = fs_note_put,
	.blob_touch = fs_blob_touch,
	.flags = 0
};
