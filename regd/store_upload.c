/*
 * Storage: upload sessions and the streams of request bodies (upload
 * writes and manifest PUTs).
 */

/* SHA256_CTX is a plain struct: its state can be saved. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "regd.h"
#include "store.h"

#define MANIFEST_ALLMAX		(128 * 1024 * 1024)	/* all bodies at once */
#define HASHSTATE_MAGIC		"regdsha1"

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
	int64_t			 size;	/* bytes of data stored */
	time_t			 active;	/* last request, monotonic */
	int			 busy;
	int			 cancelled;
};
RB_HEAD(st_upload_tree, upload);

struct st_stream {
	uint32_t		 type;
	int			 ignore;	/* answered already */
	/* manifest put */
	struct st_manifest_put	 mreq;
	unsigned char		*buf;
	size_t			 len;
	size_t			 size;
	size_t			 limit;		/* max manifest size */
	size_t			 held;		/* counted in buffered */
	/* upload write */
	struct st_upload_write	 ureq;
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
	/* a digest computed by a job while the request is parked */
	uint64_t		 park;
	int			 parked;
	int			 vrv;
	char			 vdigest[MAX_DIGEST + 1];
};

static void	stream_free(struct st_stream *);

static int	manifest_hold(struct st_stream *, size_t, struct st_res *);
static int	upload_cmp(struct upload *, struct upload *);
RB_PROTOTYPE(st_upload_tree, upload, entry, upload_cmp)
RB_GENERATE(st_upload_tree, upload, entry, upload_cmp)

static struct st_upload_tree	 uploads = RB_INITIALIZER(&uploads);
static int			 nuploads;
static size_t			 buffered;	/* manifest bodies held */

static int
upload_cmp(struct upload *a, struct upload *b)
{
	int	 r;

	if ((r = strcmp(a->uuid, b->uuid)) != 0)
		return (r);
	return (strcmp(a->repo, b->repo));
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
 * The session of an upload, made from what the backend holds when this
 * process has not seen it yet (it was started before a restart).  NULL
 * when the table is full.
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
 * Shared store: forget the idle sessions of repo or client that ended
 * in another instance (a load balancer sent their last request there).
 */
static void
upload_prune(const char *repo, const char *client)
{
	struct upload	*up, *next;
	struct be_stat	 bs;

	RB_FOREACH_SAFE(up, st_upload_tree, &uploads, next) {
		if (up->busy || (strcmp(up->repo, repo) != 0 &&
		    (client[0] == '\0' || strcmp(up->client, client) != 0)))
			continue;
		if (be->upload_stat(up->repo, up->uuid, &bs) == -1 &&
		    errno == ENOENT)
			upload_free(up);
	}
}

/* Sessions this process knows in repo and of client. */
static void
upload_count(const char *repo, const char *client, int *inrepo,
    int *byclient)
{
	struct upload	*up;

	*inrepo = *byclient = 0;
	RB_FOREACH(up, st_upload_tree, &uploads) {
		if (strcmp(up->repo, repo) == 0)
			(*inrepo)++;
		if (client[0] != '\0' && strcmp(up->client, client) == 0)
			(*byclient)++;
	}
}

/*
 * May a new session start in repo for client?  0, or -1 with a 429
 * answer: sessions are bounded per repository, per client (user or
 * address) and in all, each instance of a shared store for itself.
 */
static int
upload_admit(const char *repo, const char *client, struct st_res *res)
{
	const struct store_conf	*c = gc_store_conf();
	int			 inrepo, byclient;

	upload_count(repo, client, &inrepo, &byclient);
	if (store_shared() && (nuploads >= MAX_UPLOADS_LIMIT ||
	    (c->max_uploads > 0 && inrepo >= c->max_uploads) ||
	    (c->max_uploads_client > 0 &&
	    byclient >= c->max_uploads_client))) {
		upload_prune(repo, client);
		upload_count(repo, client, &inrepo, &byclient);
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

/* Begin an upload session: 0 with uuid filled, -1 with res filled. */
static int
upload_create(const char *repo, const char *client, char *uuid, size_t len,
    struct st_res *res)
{
	struct upload	*up;

	if (upload_admit(repo, client, res) == -1)
		return (-1);
	new_uuid(uuid, len);
	if (reg_upload_begin(repo, uuid) == -1) {
		store_err_errno(res, errno, uuid, "BLOB_UPLOAD_UNKNOWN",
		    "cannot create upload");
		return (-1);
	}
	if ((up = upload_get(repo, uuid)) == NULL) {
		store_err_errno(res, errno, uuid, "BLOB_UPLOAD_UNKNOWN",
		    "cannot create upload");
		reg_upload_abort(repo, uuid);
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
	if (reg_upload_abort(repo, uuid) == -1)
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

/*
 * Whether a session idle here is idle in every instance: always with a
 * store of our own; in a shared one only when its data was not written
 * for the timeout either (another instance may have taken it over after
 * a PATCH, which a load balancer may send anywhere).
 */
static int
upload_idle_everywhere(struct upload *up, int64_t timeout)
{
	struct be_stat	 bs;

	if (!store_shared())
		return (1);
	if (be->upload_stat(up->repo, up->uuid, &bs) == -1)
		return (errno == ENOENT ? 0 : 1);
	/* Whole seconds: one more, or data written 0.1 s ago looks old. */
	return (time(NULL) - bs.mtime > timeout);
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
		/* Whole seconds, as in upload_idle_everywhere. */
		if (up->busy || now - up->active <= c->upload_timeout)
			continue;
		if (!upload_idle_everywhere(up, c->upload_timeout)) {
			/* Another instance goes on with it: forget it here. */
			upload_free(up);
			continue;
		}
		upload_remove(up->repo, up->uuid);
		upload_free(up);
		n++;
	}
	if (n > 0)
		log_debug("%d idle uploads expired", n);
	store_upload_arm();
}

/* Upload sessions open now, for the metrics. */
int
store_upload_count(void)
{
	return (nuploads);
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

void
store_upload_start(const struct st_upload_start *req, struct st_res *res,
    int *fdp)
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

/* The session a status or cancel request names, or the error answer. */
static int
upload_known(const struct st_upload *req, struct st_res *res,
    struct be_stat *bs)
{
	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return (-1);
	}
	if (upload_stat(req->repo, req->uuid, bs) == -1) {
		store_err_errno(res, errno, req->uuid, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		return (-1);
	}
	return (0);
}

void
store_upload_status(const struct st_upload *req, struct st_res *res,
    int *fdp)
{
	struct upload	*up;
	struct be_stat	 bs;

	if (upload_known(req, res, &bs) == -1)
		return;
	if ((up = upload_find(req->repo, req->uuid)) != NULL)
		up->active = now_mono();
	res->status = 204;
	res->off = bs.size;
	strlcpy(res->uuid, req->uuid, sizeof(res->uuid));
}

void
store_upload_cancel(const struct st_upload *req, struct st_res *res,
    int *fdp)
{
	struct be_stat	 bs;

	if (upload_known(req, res, &bs) == -1)
		return;
	upload_remove(req->repo, req->uuid);
	upload_forget(req->repo, req->uuid);
	res->status = 204;
	strlcpy(res->uuid, req->uuid, sizeof(res->uuid));
}

/*
 * The hash state of up brought to the upload's size: from memory, from
 * the state saved with the upload, and only for an upload
 * this process never saw (one of another registry) by reading it all.
 */
static int
upload_hash_ready(struct upload *up, struct be_upload *bu, int64_t size)
{
	unsigned char	*buf;
	ssize_t		 n;
	off_t		 off = 0;

	/*
	 * In a shared store the state saved with the upload is the one
	 * to trust: another instance may have written since this one.
	 */
	if (store_shared() && hashstate_load(up, size) == 0)
		return (0);
	if (up->off == size || hashstate_load(up, size) == 0)
		return (0);
	up->off = -1;
	if (size == 0) {
		/* Begun, never written (here or elsewhere): nothing to read. */
		SHA256_Init(&up->ctx);
		up->off = 0;
		return (0);
	}
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
	if ((s->ureq.flags & STF_FINAL) && store_digest_ok(s->ureq.digest) &&
	    store_linked(s->ureq.repo, BE_LAYER, s->ureq.digest)) {
		s->room = INT64_MAX;
		return;
	}
	upload_pending(s->ureq.repo, &all, &inrepo);
	s->room = quota_room(s->ureq.repo, all, inrepo, s->qmsg,
	    sizeof(s->qmsg));
}

/*
 * Begin an upload write: open the upload, check the offset and bring
 * the hash state up to the upload's size.  Returns 0 when the stream is
 * running, -1 with res filled when the answer is known already.
 */
static int
upload_begin(struct st_stream *s, struct st_res *res)
{
	struct st_upload_write *req = &s->ureq;
	struct upload	*up;
	struct be_stat	 st;

	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return (-1);
	}
	if ((req->flags & STF_FINAL) && !store_digest_ok(req->digest)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return (-1);
	}
	if ((req->flags & STF_NEWSESSION) || req->uuid[0] == '\0') {
		if (upload_create(req->repo, req->client, req->uuid,
		    sizeof(req->uuid), res) == -1)
			return (-1);
		s->created = 1;
	}
	if (!valid_uuid(req->uuid)) {
		store_err(res, 404, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		goto fail;
	}
	if (be->upload_open(req->repo, req->uuid, &s->bu, &st) == -1) {
		store_err_errno(res, errno, req->uuid, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		goto fail;
	}
	if ((up = upload_get(req->repo, req->uuid)) == NULL) {
		store_err_errno(res, errno, req->uuid, "BLOB_UPLOAD_UNKNOWN",
		    "cannot track upload");
		goto fail;
	}
	up->active = now_mono();
	up->size = st.size;
	if (up->busy) {
		store_err(res, 416, "BLOB_UPLOAD_INVALID",
		    "another write to this upload is in progress");
		res->off = st.size;
		strlcpy(res->uuid, req->uuid, sizeof(res->uuid));
		goto fail;
	}
	if ((req->flags & STF_HAVE_OFF) && req->off != st.size) {
		store_err(res, 416, "BLOB_UPLOAD_INVALID",
		    "upload is at offset %lld", (long long)st.size);
		res->off = st.size;
		strlcpy(res->uuid, req->uuid, sizeof(res->uuid));
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
		upload_remove(req->repo, req->uuid);
		upload_forget(req->repo, req->uuid);
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

	if (strncmp(s->ureq.digest, "sha256:", 7) == 0) {
		c = s->up->ctx;
		SHA256_Final(md, &c);
		digest_hex(md, sizeof(md), hex);
		n = snprintf(digest, len, "sha256:%s", hex);
		return (n >= 0 && (size_t)n < len ? 0 : -1);
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (hash_upload(s->bu, ctx, digest_md(s->ureq.digest), &n) == 0 &&
	    n == s->up->off)
		rv = digest_final(ctx, "sha512", digest, len);
	EVP_MD_CTX_free(ctx);
	return (rv);
}

static void	upload_verified(struct st_stream *, struct st_res *);

/* The digest of the whole upload; a job's work for sha512. */
static void
verify_work(void *arg)
{
	struct st_stream	*s = arg;

	s->vrv = upload_verify(s, s->vdigest, sizeof(s->vdigest));
}

static void
verify_done(void *arg)
{
	struct st_stream	*s = arg;
	struct st_res		 res;

	memset(&res, 0, sizeof(res));
	upload_verified(s, &res);
	store_resume(s->park, &res, -1, NULL);
	stream_free(s);
}

/*
 * A digest other than sha256 means reading the whole upload again
 * (the running hash is sha256 only): a job does it while the request
 * is parked, and verify_done answers.  0 when it is to be done here.
 */
static int
upload_verify_later(struct st_stream *s)
{
	struct st_res	 res;

	if (strncmp(s->ureq.digest, "sha256:", 7) == 0 || !job_ready() ||
	    (s->park = store_park()) == 0)
		return (0);
	if (job_run(verify_work, verify_done, s) == 0) {
		s->parked = 1;
		return (1);
	}
	/* Parked but no job: do it now and answer as the job would. */
	verify_work(s);
	memset(&res, 0, sizeof(res));
	upload_verified(s, &res);
	store_resume(s->park, &res, -1, NULL);
	return (1);
}

static void
upload_end(struct st_stream *s, struct st_res *res)
{
	struct upload	*up = s->up;

	upload_drain(s);
	if (up->cancelled) {
		store_err(res, 404, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		upload_rollback(s);
		return;
	}
	if (s->werr != 0) {
		/* A store that is away for now (S3: no answer) is a 503. */
		store_err(res, s->werr == EAGAIN ? 503 : 500,
		    s->werr == EAGAIN ? "UNAVAILABLE" : "UNKNOWN",
		    "write failed: %s", strerror(s->werr));
		upload_rollback(s);
		return;
	}
	if (!(s->ureq.flags & STF_FINAL) && be->upload_sync != NULL &&
	    be->upload_sync(s->bu) == -1) {
		store_err_errno(res, errno, up->uuid, "BLOB_UPLOAD_UNKNOWN",
		    "cannot keep the upload");
		upload_rollback(s);
		return;
	}
	if (!(s->ureq.flags & STF_FINAL)) {
		res->status = 202;
		res->off = up->off;
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
		hashstate_save(up);
		up->active = now_mono();
		up->busy = 0;
		s->up = NULL;
		return;
	}
	if (upload_verify_later(s))
		return;
	verify_work(s);
	upload_verified(s, res);
}

/* The digest is known (s->vrv, s->vdigest): commit if it matches. */
static void
upload_verified(struct st_stream *s, struct st_res *res)
{
	struct upload	*up = s->up;
	const char	*digest = s->vdigest;

	if (up->cancelled) {
		store_err(res, 404, "BLOB_UPLOAD_UNKNOWN",
		    "blob upload unknown to registry");
		upload_rollback(s);
		return;
	}
	if (s->vrv == -1) {
		store_err(res, 500, "UNKNOWN", "cannot compute digest");
		upload_rollback(s);
		return;
	}
	if (strcmp(digest, s->ureq.digest) != 0) {
		store_err(res, 400, "DIGEST_INVALID",
		    "upload digest does not match %s", s->ureq.digest);
		upload_rollback(s);
		return;
	}
	if (quota_check(up->repo, digest, up->off, res) == -1) {
		/* Over quota: nothing of this upload is kept. */
		strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
		upload_remove(up->repo, up->uuid);
		upload_free(up);
		s->up = NULL;
		return;
	}
	/* The session ends with the commit: no rollback after it. */
	if (reg_upload_commit(s->bu, up->repo, up->uuid, digest, up->off) ==
	    -1)
		goto fail;
	reg_used(digest);
	if (be->link_get(up->repo, BE_LAYER, digest, NULL) == -1 &&
	    reg_link_put(up->repo, BE_LAYER, digest, up->off) == -1) {
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
store_upload_write_begin(const struct st_upload_write *req,
    struct st_res *res, int *answer)
{
	struct st_stream	*s;

	*answer = 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->type = ST_UPLOAD_WRITE;
	s->ureq = *req;
	if (upload_begin(s, res) == -1) {
		s->ignore = 1;
		*answer = 1;
	}
	return (s);
}

struct st_stream *
store_manifest_put_begin(const struct st_manifest_put *req,
    struct st_res *res, int *answer)
{
	struct st_stream	*s;

	*answer = 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->type = ST_MANIFEST_PUT;
	s->mreq = *req;
	/* The server's "max manifest size", never above storage's own. */
	s->limit = MAX_MANIFEST_SIZE;
	if (req->limit > 0 && req->limit < MAX_MANIFEST_SIZE)
		s->limit = req->limit;
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

/*
 * Count len more bytes of an upload against the quota: 1 with res
 * filled when they are over it (nothing of the upload is kept), else 0.
 */
static int
upload_quota(struct st_stream *s, size_t len, struct st_res *res)
{
	struct upload	*up = s->up;

	s->got += len;
	store_stats.upload_bytes += len;
	if (s->got <= s->room)
		return (0);
	store_err(res, 403, "DENIED", "%s", s->qmsg);
	strlcpy(res->uuid, up->uuid, sizeof(res->uuid));
	upload_drain(s);
	upload_remove(up->repo, up->uuid);
	upload_free(up);
	s->up = NULL;
	s->ignore = 1;
	return (1);
}

/* Bytes of an upload, counted against the quota as they come. */
static int
upload_data(struct st_stream *s, const void *data, size_t len,
    struct st_res *res)
{
	struct upload	*up = s->up;

	if (s->werr != 0 || up->cancelled)
		return (0);
	if (upload_quota(s, len, res))
		return (1);
	if (io_data(s->io, data, len) == -1)
		s->werr = ENOMEM;
	return (0);
}

#define PIPE_READS	8	/* chunks read from a pipe per call */

/*
 * An upload's body from a frontend's pipe (plain HTTP bodies of known
 * length; the frontend splices them from the socket and writes nothing
 * but body bytes): read into the chunks that are written and hashed, a
 * few at a time.  Returns 1 when res holds an answer to send now, 0 to
 * be called again when the pipe is readable, -1 when nothing more is
 * to be read from it (its end, or a body answered already).  A failed
 * write still reads the body, so the frontend never stalls: the error
 * is the answer at the end of it.  With last (the frontend said the
 * body is complete and closed its end first), an empty pipe that is not
 * at its end fails the upload.
 */
int
store_stream_read(struct st_stream *s, int fd, int last,
    struct st_res *res)
{
	static unsigned char	 junk[DATA_CHUNK];
	ssize_t			 n;
	int			 i;

	if (s->type != ST_UPLOAD_WRITE || s->ignore)
		return (-1);
	for (i = 0; i < PIPE_READS; i++) {
		if (s->werr != 0 || s->up->cancelled) {
			while ((n = read(fd, junk, sizeof(junk))) == -1 &&
			    errno == EINTR)
				;
		} else if ((n = io_read(s->io, fd)) == -1 &&
		    errno == ENOMEM) {
			s->werr = ENOMEM;
			continue;
		}
		if (n == -1 && errno == EAGAIN && !last)
			return (0);
		if (n <= 0) {
			if (n == -1 && s->werr == 0)
				s->werr = errno;
			return (-1);
		}
		if (s->werr == 0 && !s->up->cancelled &&
		    upload_quota(s, n, res))
			return (1);
	}
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
	else if (s->type == ST_UPLOAD_WRITE) {
		upload_end(s, res);
		if (s->parked)
			return (0);	/* verify_done answers and frees */
	} else if (s->mreq.len >= 0 && (uint64_t)s->mreq.len != s->len)
		store_err(res, 400, "SIZE_INVALID",
		    "body length does not match Content-Length");
	else
		manifest_commit(&s->mreq, s->buf != NULL ? s->buf :
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
	return (reg_upload_abort(repo, uuid));
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
