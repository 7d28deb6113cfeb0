/*
 * Storage: the registry above the backend.  Which backend is in use,
 * chosen by name from one table; blobs and manifests got, stored and
 * deleted, with the answers to give.
 */

#include <sys/types.h>
#include <sys/time.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <jansson.h>

#include "regd.h"
#include "store.h"

static const struct store_backend *const backends[] = {
	&store_fs_backend,
	&store_s3_backend
};

const struct store_backend	*be = &store_fs_backend;

const struct store_backend *
store_backend_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return (backends[i]);
	return (NULL);
}

int
store_init(void)
{
	cache_init();
	quota_init();
	return (be->init());
}

/*
 * Changes to the tree: only the functions below make them, and each
 * tells every hook what changed once it is done.
 */
#define MAX_HOOKS	8

static struct {
	st_hook	 fn;
	void	*arg;
} hooks[MAX_HOOKS];
static int	 nhooks;

int
store_hook_add(st_hook fn, void *arg)
{
	int	 i;

	for (i = 0; i < nhooks; i++)
		if (hooks[i].fn == fn && hooks[i].arg == arg)
			return (0);
	if (nhooks == MAX_HOOKS)
		return (-1);
	hooks[nhooks].fn = fn;
	hooks[nhooks].arg = arg;
	nhooks++;
	return (0);
}

static void
changed(enum st_change what, const char *repo, const char *tag,
    const char *digest, enum be_link kind, int64_t size)
{
	struct st_event	 ev;
	int		 i;

	ev.what = what;
	ev.repo = repo;
	ev.tag = tag;
	ev.digest = digest;
	ev.kind = kind;
	ev.size = size;
	for (i = 0; i < nhooks; i++)
		hooks[i].fn(&ev, hooks[i].arg);
}

/* A request used this digest: it may be about to be referenced. */
void
reg_used(const char *digest)
{
	changed(SC_USED, NULL, NULL, digest, BE_LAYER, 0);
	/* Other instances' GC learn of it from the store (regd(8)). */
	if (store_shared() && be->blob_touch != NULL &&
	    gc_touch_due(digest) && be->blob_touch(digest) == -1 &&
	    errno != ENOENT)
		log_warn("%s: touch %s", __func__, digest);
}

int
reg_blob_write(const char *digest, const void *buf, size_t len)
{
	int	 made;

	if ((made = be->blob_write(digest, buf, len)) == 1)
		changed(SC_BLOB_ADDED, NULL, NULL, digest, BE_LAYER, len);
	return (made);
}

int
reg_blob_remove(const char *digest, int64_t size)
{
	int	 rv, saved;

	if ((rv = be->blob_remove(digest)) != -1) {
		saved = errno;
		changed(SC_BLOB_REMOVED, NULL, NULL, digest, BE_LAYER, size);
		errno = saved;
	}
	return (rv);
}

int
reg_blob_quarantine(const char *digest, const char *dir, char *to,
    size_t len)
{
	int	 rv;

	if ((rv = be->blob_quarantine(digest, dir, to, len)) == 0)
		changed(SC_BLOB_REMOVED, NULL, NULL, digest, BE_LAYER, 0);
	return (rv);
}

/* A marker of use whose blob is gone (GC's tidy phase): no event. */
int
reg_touch_del(const char *digest)
{
	if (be->touch_del == NULL) {
		errno = ENOTSUP;
		return (-1);
	}
	return (be->touch_del(digest));
}

/* 1 a new link, 0 it was there, -1 error. */
int
reg_link_put(const char *repo, enum be_link kind, const char *digest,
    int64_t size)
{
	int	 made;

	if ((made = be->link_put(repo, kind, digest)) == 1)
		changed(SC_LINKED, repo, NULL, digest, kind, size);
	return (made);
}

int
reg_link_del(const char *repo, enum be_link kind, const char *digest)
{
	if (be->link_del(repo, kind, digest) == -1)
		return (-1);
	changed(SC_UNLINKED, repo, NULL, digest, kind, 0);
	return (0);
}

int
reg_link_quarantine(const char *where, const char *dir, char *to,
    size_t len)
{
	if (be->link_quarantine(where, dir, to, len) == -1)
		return (-1);
	changed(SC_UNLINKED, NULL, NULL, NULL, BE_LAYER, 0);
	return (0);
}

int
reg_link_remove(const char *where)
{
	if (be->link_remove(where) == -1)
		return (-1);
	changed(SC_UNLINKED, NULL, NULL, NULL, BE_LAYER, 0);
	return (0);
}

int
reg_tag_set(const char *repo, const char *tag, const char *digest)
{
	if (be->tag_set(repo, tag, digest) == -1)
		return (-1);
	changed(SC_TAGGED, repo, tag, digest, BE_REVISION, 0);
	return (0);
}

int
reg_tag_del(const char *repo, const char *tag)
{
	if (be->tag_del(repo, tag) == -1)
		return (-1);
	changed(SC_UNTAGGED, repo, tag, NULL, BE_REVISION, 0);
	return (0);
}

int
reg_repo_remove(const char *repo, void (*report)(void *, const char *, int),
    void *arg)
{
	int	 rv;

	rv = be->repo_remove(repo, report, arg);
	/* What went went, even when something stayed. */
	changed(SC_REPO_REMOVED, repo, NULL, NULL, BE_LAYER, 0);
	return (rv);
}

int
reg_upload_begin(const char *repo, const char *uuid)
{
	if (be->upload_begin(repo, uuid) == -1)
		return (-1);
	changed(SC_UPLOAD, repo, uuid, NULL, BE_LAYER, 0);
	return (0);
}

int
reg_upload_abort(const char *repo, const char *uuid)
{
	int	 rv, saved;

	rv = be->upload_abort(repo, uuid);
	saved = errno;
	changed(SC_UPLOAD, repo, uuid, NULL, BE_LAYER, 0);
	errno = saved;
	return (rv);
}

/* The upload of repo becomes blob digest of size bytes: as upload_commit. */
int
reg_upload_commit(struct be_upload *bu, const char *repo, const char *uuid,
    const char *digest, int64_t size)
{
	int	 made;

	if ((made = be->upload_commit(bu, digest)) == -1)
		return (-1);
	changed(SC_UPLOAD, repo, uuid, NULL, BE_LAYER, 0);
	if (made)
		changed(SC_BLOB_ADDED, NULL, NULL, digest, BE_LAYER, size);
	return (made);
}

/* A walk's entries into a struct names. */
int
names_each(void *arg, const char *name, const struct be_stat *bs)
{
	return (names_add(arg, name) == -1 ? -1 : 0);
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
 * A failed backend call about what (a digest, a tag, an upload): 404
 * with code and message only when it is not there (ENOENT).  Anything
 * else is the registry's fault, logged with its errno: 503 when it may
 * pass, 500 otherwise.
 */
void
store_err_errno(struct st_res *res, int err, const char *what,
    const char *code, const char *message)
{
	if (err == ENOENT || err == ENOTDIR) {
		store_err(res, 404, code, "%s", message);
		return;
	}
	log_warnx("%s: %s", what, strerror(err));
	if (err == EMFILE || err == ENFILE || err == ENOSPC ||
	    err == EDQUOT || err == ENOMEM || err == ENOBUFS || err == EAGAIN)
		store_err(res, 503, "UNAVAILABLE",
		    "storage temporarily unavailable: %s", strerror(err));
	else
		store_err(res, 500, "UNKNOWN", "storage error: %s",
		    strerror(err));
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
		reg_used(digest);
		return (1);
	}
	return (errno == ENOENT ? 0 : -1);
}

int
store_linked(const char *repo, enum be_link kind, const char *digest)
{
	return (link_state(repo, kind, digest) == 1);
}

/* As store_linked, but -1 (errno) when the store cannot tell. */
int
store_link_state(const char *repo, enum be_link kind, const char *digest)
{
	return (link_state(repo, kind, digest));
}

/* A blob GET whose blob_open runs in a job, the request parked. */
struct blob_job {
	struct st_blob_get req;
	uint64_t	 park;
	struct be_body	 body;
	int		 rv, err;
};

/* The answer to a blob GET from what blob_open gave (rv, err). */
static const void *
blob_answer(const struct st_blob_get *req, struct st_res *res, int rv,
    int err, struct be_body *body, int *fdp)
{
	if (rv == -1) {
		store_err_errno(res, err, req->digest, "BLOB_UNKNOWN",
		    "blob unknown to registry");
		return (NULL);
	}
	strlcpy(res->digest, req->digest, sizeof(res->digest));
	if (body->fd == -1 && body->url[0] != '\0') {
		res->status = 307;
		res->size = strlen(body->url);
		return (body->url);
	}
	res->status = 200;
	res->size = body->size;
	if (body->pipe)
		res->flags |= STR_PIPE;
	*fdp = body->fd;
	return (NULL);
}

static void
blob_job_work(void *arg)
{
	struct blob_job	*bj = arg;

	bj->rv = be->blob_open(bj->req.digest, BE_WANT_FD | BE_WANT_URL |
	    (bj->req.flags & STF_WHOLE ? BE_WANT_PIPE : 0), &bj->body);
	bj->err = errno;
}

static void
blob_job_done(void *arg)
{
	struct blob_job	*bj = arg;
	struct st_res	 res;
	const void	*url;
	int		 fd = -1;

	memset(&res, 0, sizeof(res));
	url = blob_answer(&bj->req, &res, bj->rv, bj->err, &bj->body, &fd);
	store_resume(bj->park, &res, fd, url);
	free(bj);
}

/* From a slow backend: parked while a job opens it.  1 if it did. */
static int
blob_get_later(const struct st_blob_get *req)
{
	struct blob_job	*bj;

	if (!be->open_slow || !job_ready() ||
	    (bj = calloc(1, sizeof(*bj))) == NULL)
		return (0);
	bj->req = *req;
	if ((bj->park = store_park()) == 0) {
		free(bj);
		return (0);
	}
	if (job_run(blob_job_work, blob_job_done, bj) == -1) {
		/* Parked but no job: done here, answered as the job would. */
		blob_job_work(bj);
		blob_job_done(bj);
	}
	return (1);
}

/*
 * A blob GET: a descriptor, or, from a backend that offers redirects
 * (S3 with "redirect yes"), a 307 whose inline body is the URL.
 */
void
store_blob_get(const struct st_blob_get *req, struct st_res *res, int *fdp,
    const void **urlp)
{
	static struct be_body	 body;
	struct be_stat		 bs;
	int64_t			 size;
	int			 l, rv, err = ENOENT;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->digest)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	/* A link seen at this generation, its blob's size too for a HEAD. */
	if (linked_get(req->repo, LINKED_ANY, req->digest, &size))
		reg_used(req->digest);
	else {
		if ((l = link_state(req->repo, BE_LAYER, req->digest)) == 0)
			l = link_state(req->repo, BE_REVISION, req->digest);
		if (l != 1) {
			err = l == 0 ? ENOENT : errno;
			goto fail;
		}
		linked_put(req->repo, LINKED_ANY, req->digest, size = -1);
	}
	if (req->flags & STF_HEAD) {
		if (size == -1) {
			if (be->blob_stat(req->digest, &bs) == -1) {
				err = errno;
				goto fail;
			}
			linked_put(req->repo, LINKED_ANY, req->digest,
			    size = bs.size);
		}
		res->size = size;
		res->status = 200;
		strlcpy(res->digest, req->digest, sizeof(res->digest));
		return;
	}
	if (blob_get_later(req))
		return;
	memset(&body, 0, sizeof(body));
	rv = be->blob_open(req->digest, BE_WANT_FD | BE_WANT_URL |
	    (req->flags & STF_WHOLE ? BE_WANT_PIPE : 0), &body);
	*urlp = blob_answer(req, res, rv, errno, &body, fdp);
	return;
fail:
	store_err_errno(res, err, req->digest, "BLOB_UNKNOWN",
	    "blob unknown to registry");
}

void
store_blob_delete(const struct st_blob_delete *req, struct st_res *res,
    int *fdp)
{
	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->digest)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	if (be->link_get(req->repo, BE_LAYER, req->digest, NULL) == -1) {
		store_err_errno(res, errno, req->digest, "BLOB_UNKNOWN",
		    "blob unknown to registry");
		return;
	}
	if (reg_link_del(req->repo, BE_LAYER, req->digest) == -1) {
		log_warn("%s: remove %s@%s", __func__, req->repo, req->digest);
		store_err(res, 500, "UNKNOWN", "cannot remove link");
		return;
	}
	res->status = 202;
	strlcpy(res->digest, req->digest, sizeof(res->digest));
}

/*
 * Resolve a manifest reference to a digest: 0 found, -1 with res filled.
 * A revision link found is remembered (linked_put) while nothing is
 * removed.
 */
static int
manifest_resolve(const char *repo, const char *ref, struct st_res *res,
    char *digest, size_t len)
{
	struct tagcache	*tc = NULL;
	int64_t		 size;

	if (!valid_name(repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return (-1);
	}
	if (strchr(ref, ':') != NULL) {
		if (!store_digest_ok(ref)) {
			store_err(res, 400, "DIGEST_INVALID",
			    "invalid digest");
			return (-1);
		}
		strlcpy(digest, ref, len);
	} else {
		if (!valid_tag(ref)) {
			store_err(res, 400, "TAG_INVALID", "invalid tag");
			return (-1);
		}
		tc = tagcache_slot(repo, ref);
		if (tc->gen == cache_gen(repo) &&
		    strcmp(tc->repo, repo) == 0 &&
		    strcmp(tc->tag, ref) == 0) {
			/* Nothing changed since this tag was resolved. */
			strlcpy(digest, tc->digest, len);
			return (0);
		}
		if (be->tag_get(repo, ref, digest, len, NULL) ==
		    -1) {
			store_err_errno(res, errno, ref,
			    "MANIFEST_UNKNOWN", "manifest unknown");
			return (-1);
		}
	}
	if (linked_get(repo, BE_REVISION, digest, &size))
		goto found;
	switch (link_state(repo, BE_REVISION, digest)) {
	case 1:
		linked_put(repo, BE_REVISION, digest, -1);
		break;
	case 0:
		goto unknown;
	default:
		store_err_errno(res, errno, digest, "MANIFEST_UNKNOWN",
		    "manifest unknown");
		return (-1);
	}
found:
	if (tc != NULL) {
		tc->gen = cache_gen(repo);
		strlcpy(tc->repo, repo, sizeof(tc->repo));
		strlcpy(tc->tag, ref, sizeof(tc->tag));
		strlcpy(tc->digest, digest, sizeof(tc->digest));
	}
	return (0);
unknown:
	store_err(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
	return (-1);
}

/* A manifest resolved to digest: its body, inline or a descriptor. */
static void
manifest_answer(const struct st_manifest_get *req, struct st_res *res,
    const char *digest, int *fdp, const void **bodyp)
{
	struct be_stat	 bs;
	struct be_body	 body;
	struct st_meta	*m;
	const void	*inline_body;
	size_t		 len;
	int		 fd = -1, err = ENOENT;

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

/*
 * A slow backend (S3): a manifest GET or HEAD by digest looks up its
 * revision link in the store each time, made by a job while the
 * request is parked, so that one slow answer of the store does not hold
 * every other client.  The rest (reg_used, the body from the manifest
 * cache) on the main thread.  By tag it stays on the main thread: the
 * tag cache answers most, and parked misses would all look the tag up
 * at once when an entry expires (measured: p99 doubled).
 */
struct mget_job {
	struct st_manifest_get	 req;
	uint64_t		 park;
	uint64_t		 gen;		/* linked_gen() when parked */
	int			 rv, err;
};

static void
mget_work(void *arg)
{
	struct mget_job	*mj = arg;

	mj->rv = be->link_get(mj->req.repo, BE_REVISION, mj->req.ref, NULL);
	mj->err = errno;
}

static void
mget_done(void *arg)
{
	struct mget_job	*mj = arg;
	struct st_res	 res;
	const void	*body = NULL;
	int		 fd = -1;

	memset(&res, 0, sizeof(res));
	if (mj->rv == -1)
		store_err_errno(&res, mj->err, mj->req.ref,
		    "MANIFEST_UNKNOWN", "manifest unknown");
	else {
		/* Remembered unless something was removed meanwhile. */
		if (linked_gen() == mj->gen)
			linked_put(mj->req.repo, BE_REVISION, mj->req.ref,
			    -1);
		reg_used(mj->req.ref);
		manifest_answer(&mj->req, &res, mj->req.ref, &fd, &body);
	}
	store_resume(mj->park, &res, fd, body);
	free(mj);
}

/* 1 when the request was parked for a job (mget_done answers it). */
static int
manifest_get_later(const struct st_manifest_get *req)
{
	struct mget_job	*mj;
	int64_t		 size;

	/*
	 * Invalid names, a tag, a mirror's request, a link seen lately:
	 * the usual way.
	 */
	if (!be->open_slow || !job_ready() || (req->flags & STF_MIRROR) ||
	    !valid_name(req->repo) || strchr(req->ref, ':') == NULL ||
	    !store_digest_ok(req->ref) ||
	    linked_get(req->repo, BE_REVISION, req->ref, &size))
		return (0);
	if ((mj = calloc(1, sizeof(*mj))) == NULL)
		return (0);
	mj->req = *req;
	mj->gen = linked_gen();
	if ((mj->park = store_park()) == 0) {
		free(mj);
		return (0);
	}
	if (job_run(mget_work, mget_done, mj) == -1) {
		/* Parked but no job: done here, answered as the job would. */
		mget_work(mj);
		mget_done(mj);
	}
	return (1);
}

void
store_manifest_get(const struct st_manifest_get *req, struct st_res *res,
    int *fdp, const void **bodyp)
{
	char	 digest[MAX_DIGEST + 1];

	*bodyp = NULL;
	if (manifest_get_later(req))
		return;
	if (manifest_resolve(req->repo, req->ref, res, digest,
	    sizeof(digest)) == -1)
		return;
	manifest_answer(req, res, digest, fdp, bodyp);
}

void
store_manifest_delete(const struct st_manifest_delete *req,
    struct st_res *res, int *fdp)
{
	struct names	 tags;
	char		 digest[MAX_DIGEST + 1], cur[MAX_DIGEST + 1];
	size_t		 i;

	if (strchr(req->ref, ':') == NULL && valid_name(req->repo) &&
	    valid_tag(req->ref)) {
		/* A tag goes alone, even one whose manifest is gone. */
		if (be->tag_get(req->repo, req->ref, digest, sizeof(digest),
		    NULL) == -1) {
			store_err_errno(res, errno, req->ref,
			    "MANIFEST_UNKNOWN", "manifest unknown");
			return;
		}
		if (reg_tag_del(req->repo, req->ref) == -1)
			goto fail;
		goto done;
	}
	if (manifest_resolve(req->repo, req->ref, res, digest,
	    sizeof(digest)) == -1)
		return;
	if (reg_link_del(req->repo, BE_REVISION, digest) == -1)
		goto fail;
	memset(&tags, 0, sizeof(tags));
	be->tag_walk(req->repo, names_each, &tags);
	for (i = 0; i < tags.n; i++) {
		if (be->tag_get(req->repo, tags.v[i], cur, sizeof(cur),
		    NULL) == -1 || strcmp(cur, digest) != 0)
			continue;
		if (reg_tag_del(req->repo, tags.v[i]) == -1)
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

/*
 * Shared store: after the revision link is written, and before the tag
 * and the answer, wait out another instance's GC sweep and check that
 * the manifest, what it references and its link are still there (see
 * regd(8), Housekeeping).  0, or -1 with res filled; a link this
 * request made is taken back then.  buf NULL: what it references is
 * not looked at (a mirror stores a manifest before its blobs).
 */
static int
manifest_settle(const char *repo, const char *digest, int made,
    const unsigned char *buf, size_t len, struct st_res *res)
{
	struct names	 refs;
	size_t		 i;
	const char	*gone = NULL;

	if (!store_shared())
		return (0);
	if (gc_shared_settle() == -1) {
		store_err(res, 503, "UNAVAILABLE", "garbage collection in "
		    "progress, try again");
		goto undo;
	}
	memset(&refs, 0, sizeof(refs));
	if (buf != NULL)
		manifest_refs_all(buf, len, &refs, NULL, 0);
	if (be->blob_stat(digest, NULL) == -1 ||
	    be->link_get(repo, BE_REVISION, digest, NULL) == -1)
		gone = digest;
	for (i = 0; i < refs.n && gone == NULL; i++)
		if (be->blob_stat(refs.v[i], NULL) == -1)
			gone = refs.v[i];
	if (gone == NULL) {
		names_free(&refs);
		return (0);
	}
	store_err(res, 400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to "
	    "registry: %s was removed by garbage collection", gone);
	names_free(&refs);
undo:
	if (made == 1 && reg_link_del(repo, BE_REVISION, digest) == -1)
		log_warn("%s: %s@%s", __func__, repo, digest);
	return (-1);
}

/* The manifest is stored and settled: its tag, its cache, the answer. */
static void
manifest_finish(const struct st_manifest_put *req, struct mfst *m, size_t len,
    struct st_res *res)
{
	if (strchr(req->ref, ':') == NULL &&
	    reg_tag_set(req->repo, req->ref, m->digest) == -1) {
		log_warn("%s: %s: tag %s", __func__, req->repo, req->ref);
		store_err(res, 500, "UNKNOWN", "cannot store manifest");
		return;
	}
	meta_set(m->digest, m->root, len);
	res->status = 201;
	strlcpy(res->subject, m->subject, sizeof(res->subject));
	res->size = len;
	strlcpy(res->digest, m->digest, sizeof(res->digest));
	strlcpy(res->mediatype, m->mediatype, sizeof(res->mediatype));
}

/*
 * A manifest PUT waiting, parked, for another instance's GC sweep to
 * end (shared store): the lease is looked at every SETTLE_POLL_MS.
 */
struct settle {
	struct st_manifest_put req;
	struct mfst	 m;
	unsigned char	*buf;
	size_t		 len;
	int		 made;
	uint64_t	 park;
	time_t		 start;
	struct event	 ev;
};

static void
settle_poll(int fd, short event, void *arg)
{
	struct settle	*st = arg;
	struct timeval	 tv = { 0, SETTLE_POLL_MS * 1000 };
	struct st_res	 res;

	if (gc_shared_sweeping() == 1 &&
	    time(NULL) - st->start <= gc_shared_patience()) {
		evtimer_add(&st->ev, &tv);
		return;
	}
	memset(&res, 0, sizeof(res));
	if (gc_shared_sweeping() == 1) {
		/* Waited its fill: as manifest_settle would answer. */
		store_err(&res, 503, "UNAVAILABLE", "garbage collection in "
		    "progress, try again");
		if (st->made == 1 && reg_link_del(st->req.repo, BE_REVISION,
		    st->m.digest) == -1)
			log_warn("%s: %s@%s", __func__, st->req.repo,
			    st->m.digest);
	} else if (manifest_settle(st->req.repo, st->m.digest, st->made,
	    (st->req.flags & STF_MIRROR) ? NULL : st->buf, st->len,
	    &res) == 0)
		manifest_finish(&st->req, &st->m, st->len, &res);
	store_resume(st->park, &res, -1, NULL);
	json_decref(st->m.root);
	free(st->buf);
	free(st);
}

/* Park the PUT until the sweep ends: 1 parked, 0 settle now. */
static int
manifest_park(const struct st_manifest_put *req, struct mfst *m,
    const unsigned char *buf, size_t len, int made)
{
	struct settle	*st;
	struct timeval	 tv = { 0, SETTLE_POLL_MS * 1000 };

	if (gc_shared_sweeping() != 1 || (st = calloc(1, sizeof(*st))) ==
	    NULL)
		return (0);
	if ((st->buf = malloc(len > 0 ? len : 1)) == NULL ||
	    (st->park = store_park()) == 0) {
		free(st->buf);
		free(st);
		return (0);
	}
	memcpy(st->buf, buf, len);
	st->req = *req;
	st->m = *m;
	m->root = NULL;			/* the parked PUT's now */
	st->len = len;
	st->made = made;
	st->start = time(NULL);
	evtimer_set(&st->ev, settle_poll, st);
	evtimer_add(&st->ev, &tv);
	return (1);
}

/* A checked manifest stored: quota, blob, revision link, tag. */
void
manifest_commit(const struct st_manifest_put *req, const unsigned char *buf,
    size_t len, struct st_res *res)
{
	struct mfst	 m;
	int		 made;

	memset(&m, 0, sizeof(m));
	if (manifest_check(req, buf, len, &m, res) == -1)
		goto done;
	if (quota_check(req->repo, m.digest, len, res) == -1)
		goto done;
	reg_used(m.digest);
	if (reg_blob_write(m.digest, buf, len) == -1 ||
	    (made = reg_link_put(req->repo, BE_REVISION, m.digest, len)) ==
	    -1)
		goto fail;
	if (store_shared() && manifest_park(req, &m, buf, len, made))
		goto done;
	if (manifest_settle(req->repo, m.digest, made,
	    (req->flags & STF_MIRROR) ? NULL : buf, len, res) == -1)
		goto done;
	manifest_finish(req, &m, len, res);
	goto done;
fail:
	log_warn("%s: %s: store %s", __func__, req->repo, m.digest);
	store_err(res, 500, "UNKNOWN", "cannot store manifest");
done:
	json_decref(m.root);
}

int
mount_blob(const struct st_upload_start *req, struct st_res *res)
{
	const char	*digest = req->mount_digest;
	struct be_stat	 bs;
	struct st_res	 qres;

	if (digest[0] == '\0' || !store_digest_ok(digest))
		return (-1);
	/* The frontend names a source its client may pull, or none. */
	if (req->from_repo[0] == '\0' || !valid_name(req->from_repo) ||
	    !store_linked(req->from_repo, BE_LAYER, digest))
		return (-1);
	if (be->blob_stat(digest, &bs) == -1)
		return (-1);
	reg_used(digest);
	memset(&qres, 0, sizeof(qres));
	if (quota_check(req->repo, digest, bs.size, &qres) == -1)
		return (-1);
	if (be->link_get(req->repo, BE_LAYER, digest, NULL) == -1 &&
	    reg_link_put(req->repo, BE_LAYER, digest, bs.size) == -1) {
		log_warn("%s: %s@%s", __func__, req->repo, digest);
		return (-1);
	}
	res->status = 201;
	res->flags |= STR_MOUNTED;
	res->size = bs.size;
	strlcpy(res->digest, digest, sizeof(res->digest));
	return (0);
}
