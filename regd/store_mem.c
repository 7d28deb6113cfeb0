/*
 * Storage: a backend in memory only (see store_backend.h), for unit
 * tests of the layers above.  Nothing survives the process.  Lists are
 * searched linearly: it holds what a test puts there, not a registry.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"
#include "store_backend.h"

#define MEM_STATE_MAX	512		/* an upload's saved state */

struct mem_blob {
	TAILQ_ENTRY(mem_blob)	 entry;
	char			 digest[MAX_DIGEST + 1];
	unsigned char		*data;
	size_t			 len;
	time_t			 mtime;
};

struct mem_link {			/* a link, or a tag when tag[0] */
	TAILQ_ENTRY(mem_link)	 entry;
	char			 repo[MAX_NAME + 1];
	char			 tag[MAX_TAG + 1];
	enum be_link		 kind;
	char			 digest[MAX_DIGEST + 1];
	time_t			 mtime;
};

struct mem_upload {
	TAILQ_ENTRY(mem_upload)	 entry;
	char			 repo[MAX_NAME + 1];
	char			 uuid[MAX_UUID + 1];
	unsigned char		*data;
	size_t			 len, size;
	unsigned char		 state[MEM_STATE_MAX];
	size_t			 statelen;
	time_t			 mtime;
	int			 refs;		/* open handles */
	int			 gone;		/* ended while open */
};

struct be_upload {
	struct mem_upload	*mu;
};

TAILQ_HEAD(mem_blobs, mem_blob);
TAILQ_HEAD(mem_links, mem_link);
TAILQ_HEAD(mem_uploads, mem_upload);

static struct mem_blobs		 blobs = TAILQ_HEAD_INITIALIZER(blobs);
static struct mem_links		 links = TAILQ_HEAD_INITIALIZER(links);
static struct mem_uploads	 mem_ups = TAILQ_HEAD_INITIALIZER(mem_ups);
/* Upload data is appended by worker threads while the lists change. */
static pthread_mutex_t		 mem_mtx = PTHREAD_MUTEX_INITIALIZER;

static struct mem_blob *
mem_blob_find(const char *digest)
{
	struct mem_blob	*b;

	TAILQ_FOREACH(b, &blobs, entry)
		if (strcmp(b->digest, digest) == 0)
			return (b);
	return (NULL);
}

static struct mem_link *
mem_link_find(const char *repo, const char *tag, enum be_link kind,
    const char *digest)
{
	struct mem_link	*l;

	TAILQ_FOREACH(l, &links, entry) {
		if (strcmp(l->repo, repo) != 0)
			continue;
		if (tag != NULL) {
			if (strcmp(l->tag, tag) == 0)
				return (l);
		} else if (l->tag[0] == '\0' && l->kind == kind &&
		    strcmp(l->digest, digest) == 0)
			return (l);
	}
	return (NULL);
}

static struct mem_upload *
mem_upload_find(const char *repo, const char *uuid)
{
	struct mem_upload	*u;

	TAILQ_FOREACH(u, &mem_ups, entry)
		if (strcmp(u->repo, repo) == 0 && strcmp(u->uuid, uuid) == 0)
			return (u);
	return (NULL);
}

static void
mem_upload_drop(struct mem_upload *u)
{
	TAILQ_REMOVE(&mem_ups, u, entry);
	if (u->refs > 0) {
		u->gone = 1;
		return;
	}
	free(u->data);
	free(u);
}

static int
mem_init(void)
{
	return (0);
}

static int
mem_blob_stat(const char *digest, struct be_stat *bs)
{
	struct mem_blob	*b;

	if ((b = mem_blob_find(digest)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if (bs != NULL) {
		bs->size = b->len;
		bs->mtime = b->mtime;
	}
	return (0);
}

static int
mem_blob_touch(const char *digest)
{
	struct mem_blob	*b;

	if ((b = mem_blob_find(digest)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	b->mtime = time(NULL);
	return (0);
}

/* A descriptor of an anonymous file holding the blob. */
static int
mem_blob_open(const char *digest, int want, struct be_body *body)
{
	struct mem_blob	*b;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	body->fd = -1;
	body->url[0] = '\0';
	if (!(want & BE_WANT_FD)) {
		errno = ENOTSUP;
		return (-1);
	}
	if ((b = mem_blob_find(digest)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if ((fd = memfd_create("blob", MFD_CLOEXEC)) == -1)
		return (-1);
	while (off < b->len) {
		if ((n = write(fd, b->data + off, b->len - off)) == -1) {
			close(fd);
			return (-1);
		}
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return (-1);
	}
	body->fd = fd;
	body->size = b->len;
	return (0);
}

static int
mem_blob_read(const char *digest, size_t max, unsigned char **bufp,
    size_t *lenp)
{
	struct mem_blob	*b;

	if ((b = mem_blob_find(digest)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if (b->len > max) {
		errno = EFBIG;
		return (-1);
	}
	if ((*bufp = malloc(b->len + 1)) == NULL)
		return (-1);
	memcpy(*bufp, b->data, b->len);
	(*bufp)[b->len] = '\0';
	*lenp = b->len;
	return (0);
}

static int
mem_blob_add(const char *digest, unsigned char *data, size_t len)
{
	struct mem_blob	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (-1);
	strlcpy(b->digest, digest, sizeof(b->digest));
	b->data = data;
	b->len = len;
	b->mtime = time(NULL);
	TAILQ_INSERT_TAIL(&blobs, b, entry);
	return (0);
}

static int
mem_blob_write(const char *digest, const void *buf, size_t len)
{
	unsigned char	*data;

	if (mem_blob_find(digest) != NULL)
		return (0);
	if ((data = malloc(len + 1)) == NULL)
		return (-1);
	memcpy(data, buf, len);
	if (mem_blob_add(digest, data, len) == -1) {
		free(data);
		return (-1);
	}
	return (1);
}

static int
mem_blob_remove(const char *digest)
{
	struct mem_blob	*b;

	if ((b = mem_blob_find(digest)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	TAILQ_REMOVE(&blobs, b, entry);
	free(b->data);
	free(b);
	return (0);
}

/* Memory has no quarantine: the blob goes, and "to" says so. */
static int
mem_blob_quarantine(const char *digest, const char *dir, char *to,
    size_t len)
{
	if (mem_blob_remove(digest) == -1)
		return (-1);
	snprintf(to, len, "%s/%s (dropped)", dir, digest);
	return (0);
}

static int
mem_upload_begin(const char *repo, const char *uuid)
{
	struct mem_upload	*u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return (-1);
	strlcpy(u->repo, repo, sizeof(u->repo));
	strlcpy(u->uuid, uuid, sizeof(u->uuid));
	u->mtime = time(NULL);
	pthread_mutex_lock(&mem_mtx);
	TAILQ_INSERT_TAIL(&mem_ups, u, entry);
	pthread_mutex_unlock(&mem_mtx);
	return (0);
}

static int
mem_upload_open(const char *repo, const char *uuid, struct be_upload **bup,
    struct be_stat *bs)
{
	struct mem_upload	*u;
	struct be_upload	*bu;

	if ((bu = calloc(1, sizeof(*bu))) == NULL)
		return (-1);
	pthread_mutex_lock(&mem_mtx);
	if ((u = mem_upload_find(repo, uuid)) == NULL) {
		pthread_mutex_unlock(&mem_mtx);
		free(bu);
		errno = ENOENT;
		return (-1);
	}
	u->refs++;
	bs->size = u->len;
	bs->mtime = u->mtime;
	pthread_mutex_unlock(&mem_mtx);
	bu->mu = u;
	*bup = bu;
	return (0);
}

static int
mem_upload_append(struct be_upload *bu, const void *buf, size_t len)
{
	struct mem_upload	*u = bu->mu;
	unsigned char		*nd;
	size_t			 nsize;
	int			 rv = 0;

	pthread_mutex_lock(&mem_mtx);
	if (u->len + len > u->size) {
		nsize = u->size == 0 ? 4096 : u->size;
		while (nsize < u->len + len)
			nsize *= 2;
		if ((nd = realloc(u->data, nsize)) == NULL) {
			rv = -1;
			goto done;
		}
		u->data = nd;
		u->size = nsize;
	}
	memcpy(u->data + u->len, buf, len);
	u->len += len;
	u->mtime = time(NULL);
done:
	pthread_mutex_unlock(&mem_mtx);
	return (rv);
}

static ssize_t
mem_upload_read(struct be_upload *bu, void *buf, size_t len, int64_t off)
{
	struct mem_upload	*u = bu->mu;
	ssize_t			 n = 0;

	pthread_mutex_lock(&mem_mtx);
	if (off >= 0 && (uint64_t)off < u->len) {
		n = u->len - off < len ? (ssize_t)(u->len - off) :
		    (ssize_t)len;
		memcpy(buf, u->data + off, n);
	}
	pthread_mutex_unlock(&mem_mtx);
	return (n);
}

static int
mem_upload_truncate(struct be_upload *bu, int64_t off)
{
	struct mem_upload	*u = bu->mu;

	pthread_mutex_lock(&mem_mtx);
	if (off >= 0 && (uint64_t)off < u->len)
		u->len = off;
	pthread_mutex_unlock(&mem_mtx);
	return (0);
}

static int
mem_upload_commit(struct be_upload *bu, const char *digest)
{
	struct mem_upload	*u = bu->mu;
	unsigned char		*data;
	int			 made = 0;

	if (u->gone) {
		errno = ENOENT;
		return (-1);
	}
	if (mem_blob_find(digest) == NULL) {
		if ((data = malloc(u->len + 1)) == NULL)
			return (-1);
		memcpy(data, u->data, u->len);
		if (mem_blob_add(digest, data, u->len) == -1) {
			free(data);
			return (-1);
		}
		made = 1;
	}
	pthread_mutex_lock(&mem_mtx);
	mem_upload_drop(u);
	pthread_mutex_unlock(&mem_mtx);
	return (made);
}

static void
mem_upload_close(struct be_upload *bu)
{
	struct mem_upload	*u;

	if (bu == NULL)
		return;
	u = bu->mu;
	pthread_mutex_lock(&mem_mtx);
	if (--u->refs == 0 && u->gone) {
		free(u->data);
		free(u);
	}
	pthread_mutex_unlock(&mem_mtx);
	free(bu);
}

static int
mem_upload_abort(const char *repo, const char *uuid)
{
	struct mem_upload	*u;

	pthread_mutex_lock(&mem_mtx);
	if ((u = mem_upload_find(repo, uuid)) != NULL)
		mem_upload_drop(u);
	pthread_mutex_unlock(&mem_mtx);
	return (0);
}

static int
mem_upload_stat(const char *repo, const char *uuid, struct be_stat *bs)
{
	struct mem_upload	*u;
	int			 rv = 0;

	pthread_mutex_lock(&mem_mtx);
	if ((u = mem_upload_find(repo, uuid)) == NULL) {
		errno = ENOENT;
		rv = -1;
	} else {
		bs->size = u->len;
		bs->mtime = u->mtime;
	}
	pthread_mutex_unlock(&mem_mtx);
	return (rv);
}

static void
mem_upload_state_put(const char *repo, const char *uuid, const void *buf,
    size_t len)
{
	struct mem_upload	*u;

	pthread_mutex_lock(&mem_mtx);
	if ((u = mem_upload_find(repo, uuid)) != NULL && len <= sizeof(u->state)) {
		memcpy(u->state, buf, len);
		u->statelen = len;
	}
	pthread_mutex_unlock(&mem_mtx);
}

static ssize_t
mem_upload_state_get(const char *repo, const char *uuid, void *buf,
    size_t len)
{
	struct mem_upload	*u;
	ssize_t			 n = -1;

	pthread_mutex_lock(&mem_mtx);
	if ((u = mem_upload_find(repo, uuid)) != NULL && u->statelen > 0) {
		n = u->statelen < len ? u->statelen : len;
		memcpy(buf, u->state, n);
	}
	pthread_mutex_unlock(&mem_mtx);
	if (n == -1)
		errno = ENOENT;
	return (n);
}

static int
mem_link_get(const char *repo, enum be_link kind, const char *digest,
    struct be_stat *bs)
{
	struct mem_link	*l;

	if ((l = mem_link_find(repo, NULL, kind, digest)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if (bs != NULL) {
		bs->size = strlen(l->digest);
		bs->mtime = l->mtime;
	}
	return (0);
}

static int
mem_link_set(const char *repo, const char *tag, enum be_link kind,
    const char *digest)
{
	struct mem_link	*l;
	int		 made = 0;

	if ((l = mem_link_find(repo, tag, kind, digest)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			return (-1);
		strlcpy(l->repo, repo, sizeof(l->repo));
		if (tag != NULL)
			strlcpy(l->tag, tag, sizeof(l->tag));
		l->kind = kind;
		TAILQ_INSERT_TAIL(&links, l, entry);
		made = 1;
	}
	strlcpy(l->digest, digest, sizeof(l->digest));
	l->mtime = time(NULL);
	return (made);
}

static void
mem_link_free(struct mem_link *l)
{
	TAILQ_REMOVE(&links, l, entry);
	free(l);
}

static int
mem_link_put(const char *repo, enum be_link kind, const char *digest)
{
	return (mem_link_set(repo, NULL, kind, digest));
}

static int
mem_link_del(const char *repo, enum be_link kind, const char *digest)
{
	struct mem_link	*l;

	if ((l = mem_link_find(repo, NULL, kind, digest)) != NULL)
		mem_link_free(l);
	return (0);
}

static int
mem_tag_get(const char *repo, const char *tag, char *digest, size_t len,
    struct be_stat *bs)
{
	struct mem_link	*l;

	if ((l = mem_link_find(repo, tag, BE_REVISION, NULL)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	if (strlcpy(digest, l->digest, len) >= len) {
		errno = EINVAL;
		return (-1);
	}
	if (bs != NULL) {
		bs->size = 0;
		bs->mtime = l->mtime;
	}
	return (0);
}

static int
mem_tag_set(const char *repo, const char *tag, const char *digest)
{
	return (mem_link_set(repo, tag, BE_REVISION, digest) == -1 ? -1 : 0);
}

static int
mem_tag_del(const char *repo, const char *tag)
{
	struct mem_link	*l;

	if ((l = mem_link_find(repo, tag, BE_REVISION, NULL)) != NULL)
		mem_link_free(l);
	return (0);
}

static int
mem_repo_exists(const char *repo, int withuploads)
{
	struct mem_link		*l;
	struct mem_upload	*u;
	int			 found = 0;

	TAILQ_FOREACH(l, &links, entry)
		if (strcmp(l->repo, repo) == 0)
			return (1);
	if (!withuploads)
		return (0);
	pthread_mutex_lock(&mem_mtx);
	TAILQ_FOREACH(u, &mem_ups, entry)
		if (strcmp(u->repo, repo) == 0)
			found = 1;
	pthread_mutex_unlock(&mem_mtx);
	return (found);
}

static int
mem_repo_remove(const char *repo, void (*report)(void *, const char *,
    int), void *arg)
{
	struct mem_link		*l, *ln;
	struct mem_upload	*u, *un;

	TAILQ_FOREACH_SAFE(l, &links, entry, ln)
		if (strcmp(l->repo, repo) == 0)
			mem_link_free(l);
	pthread_mutex_lock(&mem_mtx);
	TAILQ_FOREACH_SAFE(u, &mem_ups, entry, un)
		if (strcmp(u->repo, repo) == 0)
			mem_upload_drop(u);
	pthread_mutex_unlock(&mem_mtx);
	return (0);
}

/* Each repository once: those with links, and with any those uploading. */
static int
mem_repo_walk(int any, be_each fn, void *arg)
{
	struct names		 ns;
	struct mem_link		*l;
	struct mem_upload	*u;
	size_t			 i;
	int			 rv = 0;

	memset(&ns, 0, sizeof(ns));
	TAILQ_FOREACH(l, &links, entry)
		if (names_add(&ns, l->repo) == -1)
			rv = -1;
	if (any) {
		pthread_mutex_lock(&mem_mtx);
		TAILQ_FOREACH(u, &mem_ups, entry)
			if (names_add(&ns, u->repo) == -1)
				rv = -1;
		pthread_mutex_unlock(&mem_mtx);
	}
	names_uniq(&ns);
	for (i = 0; i < ns.n && rv == 0; i++)
		if (fn(arg, ns.v[i], NULL) != 0)
			rv = -1;
	names_free(&ns);
	return (rv);
}

static int
mem_tag_walk(const char *repo, be_each fn, void *arg)
{
	struct mem_link	*l;
	struct be_stat	 bs;

	TAILQ_FOREACH(l, &links, entry) {
		if (l->tag[0] == '\0' || strcmp(l->repo, repo) != 0)
			continue;
		bs.size = 0;
		bs.mtime = l->mtime;
		if (fn(arg, l->tag, &bs) != 0)
			return (-1);
	}
	return (0);
}

static int
mem_link_walk(const char *repo, enum be_link kind, be_each fn, void *arg)
{
	struct mem_link	*l;
	struct be_stat	 bs;

	TAILQ_FOREACH(l, &links, entry) {
		if (l->tag[0] != '\0' || l->kind != kind ||
		    strcmp(l->repo, repo) != 0)
			continue;
		bs.size = strlen(l->digest);
		bs.mtime = l->mtime;
		if (fn(arg, l->digest, &bs) != 0)
			return (-1);
	}
	return (0);
}

static int
mem_upload_walk(const char *repo, be_each fn, void *arg)
{
	struct names		 ns;
	struct mem_upload	*u;
	struct be_stat		 bs;
	size_t			 i;
	int			 rv = 0;

	/* Names first: fn may end the uploads it is told of. */
	memset(&ns, 0, sizeof(ns));
	pthread_mutex_lock(&mem_mtx);
	TAILQ_FOREACH(u, &mem_ups, entry)
		if (strcmp(u->repo, repo) == 0 && names_add(&ns, u->uuid) == -1)
			rv = -1;
	pthread_mutex_unlock(&mem_mtx);
	for (i = 0; i < ns.n && rv == 0; i++) {
		if (mem_upload_stat(repo, ns.v[i], &bs) == -1)
			continue;
		if (fn(arg, ns.v[i], &bs) != 0)
			rv = -1;
	}
	names_free(&ns);
	return (rv);
}

static int
mem_blob_walk(be_each fn, void *arg)
{
	struct mem_blob	*b;
	struct be_stat	 bs;

	TAILQ_FOREACH(b, &blobs, entry) {
		bs.size = b->len;
		bs.mtime = b->mtime;
		if (fn(arg, b->digest, &bs) != 0)
			return (-1);
	}
	return (0);
}

/*
 * Where a link is, for link_check: "repo@digest" (layer),
 * "repo@@digest" (revision) or "repo:tag".
 */
static void
mem_link_where(const struct mem_link *l, char *buf, size_t len)
{
	if (l->tag[0] != '\0')
		snprintf(buf, len, "%s:%s", l->repo, l->tag);
	else
		snprintf(buf, len, "%s@%s%s", l->repo,
		    l->kind == BE_REVISION ? "@" : "", l->digest);
}

static struct mem_link *
mem_link_at(const char *where)
{
	struct mem_link	*l;
	char		 w[MAX_NAME + MAX_TAG + MAX_DIGEST + 4];

	TAILQ_FOREACH(l, &links, entry) {
		mem_link_where(l, w, sizeof(w));
		if (strcmp(w, where) == 0)
			return (l);
	}
	return (NULL);
}

/* Links in memory are never malformed: each is told as it is. */
static int
mem_link_check(be_linkfn fn, void *arg)
{
	struct mem_link	*l, *ln;
	char		 w[MAX_NAME + MAX_TAG + MAX_DIGEST + 4];

	TAILQ_FOREACH_SAFE(l, &links, entry, ln) {
		mem_link_where(l, w, sizeof(w));
		if (fn(arg, w, l->digest, l->tag[0] != '\0' ? NULL : l->digest,
		    l->tag[0] == '\0' && l->kind == BE_LAYER) != 0)
			break;
	}
	return (0);
}

static int
mem_link_quarantine(const char *where, const char *dir, char *to,
    size_t len)
{
	struct mem_link	*l;

	if ((l = mem_link_at(where)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	mem_link_free(l);
	snprintf(to, len, "%s/%s (dropped)", dir, where);
	return (0);
}

static int
mem_link_remove(const char *where)
{
	struct mem_link	*l;

	if ((l = mem_link_at(where)) != NULL)
		mem_link_free(l);
	return (0);
}

/* Leases: a few slots, enough for the names in use. */
#define MEM_LEASES	4
#define MEM_LEASE_MAX	256

static struct mem_lease {
	char		 name[32];
	unsigned char	 data[MEM_LEASE_MAX];
	size_t		 len;
	time_t		 mtime;
} mem_leases[MEM_LEASES];

static struct mem_lease *
mem_lease_find(const char *name, int create)
{
	int	 i;

	for (i = 0; i < MEM_LEASES; i++)
		if (strcmp(mem_leases[i].name, name) == 0)
			return (&mem_leases[i]);
	if (!create)
		return (NULL);
	for (i = 0; i < MEM_LEASES; i++)
		if (mem_leases[i].name[0] == '\0') {
			strlcpy(mem_leases[i].name, name,
			    sizeof(mem_leases[i].name));
			return (&mem_leases[i]);
		}
	return (NULL);
}

static ssize_t
mem_lease_get(const char *name, void *buf, size_t len, struct be_stat *bs)
{
	struct mem_lease	*l;
	size_t			 n;

	if ((l = mem_lease_find(name, 0)) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	n = l->len < len ? l->len : len;
	memcpy(buf, l->data, n);
	if (bs != NULL) {
		bs->size = l->len;
		bs->mtime = l->mtime;
	}
	return (n);
}

static int
mem_lease_put(const char *name, const void *buf, size_t len, int excl)
{
	struct mem_lease	*l;
	const char		*p;

	for (p = name; *p != '\0'; p++)
		if (*p < 'a' || *p > 'z') {
			errno = EINVAL;
			return (-1);
		}
	if (strlen(name) >= sizeof(l->name) || len > sizeof(l->data)) {
		errno = EFBIG;
		return (-1);
	}
	if (excl && mem_lease_find(name, 0) != NULL) {
		errno = EEXIST;
		return (-1);
	}
	if ((l = mem_lease_find(name, 1)) == NULL) {
		errno = ENOSPC;
		return (-1);
	}
	memcpy(l->data, buf, len);
	l->len = len;
	l->mtime = time(NULL);
	return (0);
}

static int
mem_lease_del(const char *name)
{
	struct mem_lease	*l;

	if ((l = mem_lease_find(name, 0)) != NULL)
		memset(l, 0, sizeof(*l));
	return (0);
}

const struct store_backend store_mem_backend = {
	.name = "mem",
	.init = mem_init,
	.blob_stat = mem_blob_stat,
	.blob_open = mem_blob_open,
	.blob_read = mem_blob_read,
	.blob_write = mem_blob_write,
	.blob_remove = mem_blob_remove,
	.blob_quarantine = mem_blob_quarantine,
	.upload_begin = mem_upload_begin,
	.upload_open = mem_upload_open,
	.upload_append = mem_upload_append,
	.upload_read = mem_upload_read,
	.upload_truncate = mem_upload_truncate,
	.upload_commit = mem_upload_commit,
	.upload_close = mem_upload_close,
	.upload_abort = mem_upload_abort,
	.upload_stat = mem_upload_stat,
	.upload_state_put = mem_upload_state_put,
	.upload_state_get = mem_upload_state_get,
	.link_get = mem_link_get,
	.link_put = mem_link_put,
	.link_del = mem_link_del,
	.tag_get = mem_tag_get,
	.tag_set = mem_tag_set,
	.tag_del = mem_tag_del,
	.repo_exists = mem_repo_exists,
	.repo_remove = mem_repo_remove,
	.repo_walk = mem_repo_walk,
	.tag_walk = mem_tag_walk,
	.link_walk = mem_link_walk,
	.upload_walk = mem_upload_walk,
	.blob_walk = mem_blob_walk,
	.link_check = mem_link_check,
	.link_quarantine = mem_link_quarantine,
	.link_remove = mem_link_remove,
	.lease_get = mem_lease_get,
	.lease_put = mem_lease_put,
	.lease_del = mem_lease_del,
	.blob_touch = mem_blob_touch,
	.flags = 0
};
