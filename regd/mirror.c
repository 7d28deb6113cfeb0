/*
 * Mirror mode, storage's side: a manifest or blob GET of a mirrored
 * repository that storage cannot answer from the store is parked here
 * while the fetcher gets it from the upstream.  Storage alone writes
 * and hashes what comes back:
 *
 * - a manifest is gathered whole (bounded), validated and stored as a
 *   push would be (manifest_commit), then every parked request is
 *   answered from the store; a tag is revalidated with a HEAD after its
 *   upstream's tag TTL, and an upstream that is down keeps the cached
 *   copy served (logged once per repository);
 * - a blob goes into an ordinary upload session and is hashed as it
 *   comes.  Each parked GET gets a pipe at once, fed from the upload up
 *   to what has arrived, less the last byte until the digest is proven;
 *   then the upload is committed like any other.  A mismatch closes the
 *   pipes early (the frontend then cuts its client) and aborts the
 *   upload.  One fetch per digest, however many clients wait.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <openssl/evp.h>

#include "regd.h"
#include "store.h"
#include "mirror.h"

#define MIR_MAX_MANIFEST	DEF_MAX_MANIFEST
#define MIR_PIPE_SIZE		(1024 * 1024)
#define MIR_PUMP		(256 * 1024)

/* A GET of a mirrored repository, blob or manifest. */
struct mread {
	int			 kind;		/* MIRK_* */
	char			 repo[MAX_NAME + 1];	/* here */
	char			 ref[MAX_REF + 1];	/* blob: digest */
	uint32_t		 flags;		/* STF_HEAD */
	struct st_mirror	 mirror;
};

struct mwait {
	TAILQ_ENTRY(mwait)	 entry;
	struct mfetch		*mf;
	uint64_t		 token;		/* store_park's */
	struct mread		 req;
	int			 pfd;		/* pipe's write end */
	int64_t			 off;		/* bytes written */
	struct event		 ev;
	int			 evset;
};

struct mfetch {
	TAILQ_ENTRY(mfetch)	 entry;
	uint32_t		 id;
	int			 kind;		/* MIRK_* */
	int			 done;		/* no new waiters */
	char			 repo[MAX_NAME + 1];	/* here */
	char			 ref[MAX_REF + 1];
	char			 upstream[MIR_NAMELEN];
	char			 known[MAX_DIGEST + 1];
	int64_t			 ttl;
	int			 push;		/* the mirror takes pushes */
	TAILQ_HEAD(, mwait)	 waiters;
	struct mir_head		 head;
	int			 headed;
	int64_t			 got;
	unsigned char		*buf;		/* manifest */
	size_t			 blen;
	char			 uuid[MAX_UUID + 1];	/* blob */
	struct be_upload	*bu;
	EVP_MD_CTX		*md;
	int			 committed;
	int			 bfd;		/* committed blob */
	int			 dfd;		/* MIR_PIPE's, or -1 */
	struct event		 dev;		/* dfd readable */
	int			 ended;		/* MIR_END came, dfd open */
	int			 endst;		/* its status */
};
static TAILQ_HEAD(, mfetch)	 fetches = TAILQ_HEAD_INITIALIZER(fetches);

/* When a tag was last checked upstream; repositories logged stale. */
struct seen {
	RB_ENTRY(seen)		 entry;
	char			*key;
	time_t			 when;
};
RB_HEAD(seen_tree, seen);
static int	 seen_cmp(struct seen *, struct seen *);
RB_PROTOTYPE(seen_tree, seen, entry, seen_cmp)
RB_GENERATE(seen_tree, seen, entry, seen_cmp)
static struct seen_tree	 validated = RB_INITIALIZER(&validated);
static struct seen_tree	 stale_logged = RB_INITIALIZER(&stale_logged);

static struct chan	*fetcher;
static uint32_t		 next_id;

/* What regctl show mirror prints, per upstream, since storage started. */
struct mstats {
	char		 name[MIR_NAMELEN];
	uint64_t	 hits;		/* answered from the store */
	uint64_t	 misses;	/* fetches begun */
	uint64_t	 errors;	/* fetches failed or refused */
	uint64_t	 fetched;	/* bytes from the upstream */
	uint64_t	 served;	/* blob bytes answered from the store */
	uint64_t	 stored;	/* blob bytes new in the store */
};
static struct mstats	 stats[MAX_UPSTREAMS];
static int		 nstats;

static struct mstats *
mstats(const char *name)
{
	static struct mstats	 other;
	int			 i;

	for (i = 0; i < nstats; i++)
		if (strcmp(stats[i].name, name) == 0)
			return (&stats[i]);
	if (nstats == MAX_UPSTREAMS)
		return (&other);
	strlcpy(stats[nstats].name, name, sizeof(stats[nstats].name));
	return (&stats[nstats++]);
}

static void	 waiter_free(struct mwait *);
static void	 fetch_free_if_idle(struct mfetch *);
static void	 pump(struct mwait *);

static int
seen_cmp(struct seen *a, struct seen *b)
{
	return (strcmp(a->key, b->key));
}

static struct seen *
seen_get(struct seen_tree *t, const char *a, const char *b, int create)
{
	struct seen	 key, *s;
	char		 k[MAX_NAME + MAX_REF + 2];

	snprintf(k, sizeof(k), "%s:%s", a, b);
	key.key = k;
	if ((s = RB_FIND(seen_tree, t, &key)) != NULL || !create)
		return (s);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->key = strdup(k)) == NULL) {
		free(s);
		return (NULL);
	}
	RB_INSERT(seen_tree, t, s);
	return (s);
}

static void
seen_del(struct seen_tree *t, const char *a, const char *b)
{
	struct seen	*s;

	if ((s = seen_get(t, a, b, 0)) != NULL) {
		RB_REMOVE(seen_tree, t, s);
		free(s->key);
		free(s);
	}
}

void
mirror_set_fetcher(struct chan *c)
{
	fetcher = c;
}

static void
answer_err(struct mwait *w, int status, const char *code, const char *msg)
{
	struct st_res	 res;

	memset(&res, 0, sizeof(res));
	store_err(&res, status, code, "%s", msg);
	store_resume(w->token, &res, -1, NULL);
}

/* A read answered by the store, as if it were no mirror's. */
static void
mread_local(const struct mread *r, struct st_res *res, int *fdp,
    const void **bodyp)
{
	struct st_blob_get	 bq;
	struct st_manifest_get	 mq;

	if (r->kind == MIRK_MANIFEST) {
		memset(&mq, 0, sizeof(mq));
		strlcpy(mq.repo, r->repo, sizeof(mq.repo));
		strlcpy(mq.ref, r->ref, sizeof(mq.ref));
		mq.flags = r->flags;
		store_manifest_get(&mq, res, fdp, bodyp);
	} else {
		memset(&bq, 0, sizeof(bq));
		strlcpy(bq.repo, r->repo, sizeof(bq.repo));
		strlcpy(bq.digest, r->ref, sizeof(bq.digest));
		bq.flags = r->flags;
		store_blob_get(&bq, res, fdp, bodyp);
	}
}

/* A parked request answered from the store, as if it came now. */
static void
answer_store(struct mwait *w)
{
	struct st_res	 res;
	const void	*body = NULL;
	int		 fd = -1;

	memset(&res, 0, sizeof(res));
	mread_local(&w->req, &res, &fd, &body);
	store_resume(w->token, &res, fd, body);
}

static struct mfetch *
fetch_find(int kind, const char *repo, const char *ref)
{
	struct mfetch	*mf;

	TAILQ_FOREACH(mf, &fetches, entry)
		if (!mf->done && mf->kind == kind &&
		    strcmp(mf->ref, ref) == 0 && (kind == MIRK_BLOB ||
		    strcmp(mf->repo, repo) == 0))
			return (mf);
	return (NULL);
}

static struct mfetch *
fetch_new(int kind, const struct mread *req, const char *known)
{
	struct mir_fetch	 f;
	struct mfetch		*mf;

	if (fetcher == NULL || fetcher->dead)
		return (NULL);
	if ((mf = calloc(1, sizeof(*mf))) == NULL)
		return (NULL);
	mf->id = ++next_id;
	mf->kind = kind;
	mf->bfd = -1;
	mf->dfd = -1;
	strlcpy(mf->repo, req->repo, sizeof(mf->repo));
	strlcpy(mf->ref, req->ref, sizeof(mf->ref));
	strlcpy(mf->upstream, req->mirror.upstream, sizeof(mf->upstream));
	strlcpy(mf->known, known, sizeof(mf->known));
	mf->ttl = req->mirror.tag_ttl;
	mf->push = req->mirror.push;
	TAILQ_INIT(&mf->waiters);
	memset(&f, 0, sizeof(f));
	f.kind = kind;
	strlcpy(f.upstream, req->mirror.upstream, sizeof(f.upstream));
	strlcpy(f.repo, req->mirror.upstream_name, sizeof(f.repo));
	strlcpy(f.ref, req->ref, sizeof(f.ref));
	strlcpy(f.known, known, sizeof(f.known));
	f.max = kind == MIRK_MANIFEST ? MIR_MAX_MANIFEST : -1;
	if (chan_send(fetcher, MIR_FETCH, mf->id, -1, &f, sizeof(f)) == -1) {
		free(mf);
		return (NULL);
	}
	TAILQ_INSERT_TAIL(&fetches, mf, entry);
	mstats(req->mirror.upstream)->misses++;
	log_debug("mirror: fetch %u %s %s@%s from %s", mf->id,
	    kind == MIRK_BLOB ? "blob" : "manifest",
	    req->mirror.upstream_name, req->ref, req->mirror.upstream);
	return (mf);
}

/* A GET waiting for a blob being fetched: a pipe at once, fed as it comes. */
static void
blob_attach(struct mwait *w)
{
	struct mfetch	*mf = w->mf;
	struct st_res	 res;
	int		 p[2];

	memset(&res, 0, sizeof(res));
	res.status = 200;
	res.size = mf->head.size;
	strlcpy(res.digest, mf->ref, sizeof(res.digest));
	if (w->req.flags & STF_HEAD) {
		store_resume(w->token, &res, -1, NULL);
		waiter_free(w);
		return;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("mirror: pipe");
		answer_err(w, 503, "UNAVAILABLE", "out of descriptors");
		waiter_free(w);
		return;
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, MIR_PIPE_SIZE);
	res.flags |= STR_PIPE;
	w->pfd = p[1];
	store_resume(w->token, &res, p[0], NULL);
	pump(w);
}

/*
 * A manifest or blob GET with STF_MIRROR, inside storage's park_begin
 * and park_end: 1 when it is answered (res, fdp and bodyp set) or
 * parked here, 0 when the store answers it as usual.
 */
static int
mirror_get(const struct mread *req, struct st_res *res, int *fdp,
    const void **bodyp)
{
	struct mfetch	*mf;
	struct mwait	*w;
	struct seen	*s;
	const char	*up = req->mirror.upstream;
	char		 known[MAX_DIGEST + 1];
	int		 kind;
	uint64_t	 token;

	known[0] = '\0';
	kind = req->kind;
	if (!valid_name(req->repo) ||
	    !valid_name(req->mirror.upstream_name) ||
	    (!store_digest_ok(req->ref) && (kind == MIRK_BLOB ||
	    !valid_tag(req->ref))))
		return (0);
	if (strchr(req->ref, ':') != NULL) {
		/* By digest: immutable, cached for good. */
		mread_local(req, res, fdp, bodyp);
		if (res->status == 200) {
			mstats(up)->hits++;
			if (kind == MIRK_BLOB && !(req->flags & STF_HEAD))
				mstats(up)->served += res->size;
			else if (kind == MIRK_MANIFEST)
				mirror_cache_pulled(up, req->repo, req->ref,
				    !req->mirror.push);
		}
		if (res->status != 404)
			return (1);
		memset(res, 0, sizeof(*res));
		*bodyp = NULL;
	} else if (be->tag_get(req->repo, req->ref, known, sizeof(known),
	    NULL) == 0 && store_linked(req->repo, BE_REVISION, known)) {
		s = seen_get(&validated, req->repo, req->ref, 0);
		if (s != NULL && time(NULL) - s->when < req->mirror.tag_ttl) {
			mstats(up)->hits++;
			mirror_cache_pulled(up, req->repo, known,
			    !req->mirror.push);
			return (0);
		}
	} else
		known[0] = '\0';

	if ((mf = fetch_find(kind, req->repo, req->ref)) == NULL &&
	    (mf = fetch_new(kind, req, known)) == NULL) {
		if (known[0] != '\0')
			return (0);
		store_err(res, 503, "UNAVAILABLE", "mirror fetcher not "
		    "running");
		return (1);
	}
	if ((token = store_park()) == 0) {
		store_err(res, 429, "TOOMANYREQUESTS", "too many requests "
		    "waiting for the upstream");
		return (1);
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("%s", __func__);
	w->mf = mf;
	w->token = token;
	w->req = *req;
	w->pfd = -1;
	TAILQ_INSERT_TAIL(&mf->waiters, w, entry);
	if (kind == MIRK_BLOB && mf->bu != NULL)
		blob_attach(w);
	return (1);
}

/* Either read, as mirror_get takes it. */
static int
mirror_read(int kind, const char *repo, const char *ref, uint32_t flags,
    const struct st_mirror *m, struct st_res *res, int *fdp,
    const void **bodyp)
{
	struct mread	 r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	strlcpy(r.repo, repo, sizeof(r.repo));
	strlcpy(r.ref, ref, sizeof(r.ref));
	r.flags = flags;
	r.mirror = *m;
	return (mirror_get(&r, res, fdp, bodyp));
}

int
mirror_blob_get(const struct st_blob_get *q, struct st_res *res, int *fdp,
    const void **bodyp)
{
	return (mirror_read(MIRK_BLOB, q->repo, q->digest, q->flags,
	    &q->mirror, res, fdp, bodyp));
}

int
mirror_manifest_get(const struct st_manifest_get *q, struct st_res *res,
    int *fdp, const void **bodyp)
{
	return (mirror_read(MIRK_MANIFEST, q->repo, q->ref, q->flags,
	    &q->mirror, res, fdp, bodyp));
}

static void
waiter_free(struct mwait *w)
{
	struct mfetch	*mf = w->mf;

	if (w->evset)
		event_del(&w->ev);
	if (w->pfd != -1)
		close(w->pfd);
	TAILQ_REMOVE(&mf->waiters, w, entry);
	free(w);
}

static void
pump_cb(int fd, short ev, void *arg)
{
	struct mwait	*w = arg;
	struct mfetch	*mf = w->mf;

	w->evset = 0;
	pump(w);		/* may free w */
	fetch_free_if_idle(mf);
}

/*
 * Feed a waiter's pipe from the upload (or the committed blob) up to
 * what may be shown: all once the digest is proven, else all that came
 * less the last byte.  Bytes that just came (mem, at offset mbase) are
 * written from memory when the waiter is at them.
 */
static void
pump_from(struct mwait *w, const unsigned char *mem, int64_t mbase,
    size_t mlen)
{
	static unsigned char	 buf[MIR_PUMP];
	struct mfetch		*mf = w->mf;
	const unsigned char	*src;
	int64_t			 limit;
	ssize_t			 n, m;
	size_t			 want;

	if (w->pfd == -1 || w->evset)
		return;
	limit = mf->committed ? mf->head.size : mf->got < mf->head.size ?
	    mf->got : mf->head.size - 1;
	while (w->off < limit) {
		want = limit - w->off > MIR_PUMP ? MIR_PUMP : limit - w->off;
		if (mem != NULL && w->off >= mbase &&
		    w->off < mbase + (int64_t)mlen) {
			src = mem + (w->off - mbase);
			n = mbase + mlen - w->off;
			if ((size_t)n > want)
				n = want;
		} else {
			src = buf;
			if (mf->committed)
				n = pread(mf->bfd, buf, want, w->off);
			else
				n = be->upload_read(mf->bu, buf, want,
				    w->off);
			if (n <= 0)
				goto drop;
		}
		if ((m = write(w->pfd, src, n)) == -1) {
			if (errno == EAGAIN) {
				event_set(&w->ev, w->pfd, EV_WRITE, pump_cb,
				    w);
				event_add(&w->ev, NULL);
				w->evset = 1;
				return;
			}
			goto drop;	/* the frontend let go */
		}
		w->off += m;
	}
	if (mf->committed && w->off == mf->head.size)
		goto drop;
	return;
drop:
	waiter_free(w);
}

static void
pump(struct mwait *w)
{
	pump_from(w, NULL, 0, 0);
}

static void
fetch_free_if_idle(struct mfetch *mf)
{
	if (!mf->done || !TAILQ_EMPTY(&mf->waiters))
		return;
	TAILQ_REMOVE(&fetches, mf, entry);
	if (mf->bfd != -1)
		close(mf->bfd);
	if (mf->md != NULL)
		EVP_MD_CTX_free(mf->md);
	free(mf->buf);
	free(mf);
}

static void
blob_abort(struct mfetch *mf)
{
	if (mf->bu != NULL) {
		be->upload_close(mf->bu);
		mf->bu = NULL;
		if (reg_upload_abort(mf->repo, mf->uuid) == -1)
			log_warn("mirror: abort upload %s", mf->uuid);
	}
}

/* The upstream's answer began: a blob's upload starts, its GETs attach. */
static void
blob_head(struct mfetch *mf)
{
	struct mwait	*w, *next;
	struct be_stat	 bs;
	struct st_res	 qres;
	unsigned char	 b[16];

	if (mf->head.status != 200)
		return;
	if (mf->head.size < 0) {
		mf->head.status = 502;
		strlcpy(mf->head.message, "upstream gave no size",
		    sizeof(mf->head.message));
		return;
	}
	/* Quotas bound what an upstream may add, as they bound a push. */
	memset(&qres, 0, sizeof(qres));
	if (quota_check(mf->repo, mf->ref, mf->head.size, &qres) == -1) {
		mf->head.status = qres.status;
		strlcpy(mf->head.message, qres.message,
		    sizeof(mf->head.message));
		return;
	}
	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(mf->uuid, sizeof(mf->uuid), "%02x%02x%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
	if (reg_upload_begin(mf->repo, mf->uuid) == -1 ||
	    be->upload_open(mf->repo, mf->uuid, &mf->bu, &bs) == -1 ||
	    (mf->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(mf->md, digest_md(mf->ref), NULL) != 1) {
		log_warn("mirror: cannot start upload in %s", mf->repo);
		if (mf->bu != NULL)
			blob_abort(mf);
		else
			reg_upload_abort(mf->repo, mf->uuid);
		mf->head.status = 503;
		strlcpy(mf->head.message, "cannot store the blob",
		    sizeof(mf->head.message));
		return;
	}
	TAILQ_FOREACH_SAFE(w, &mf->waiters, entry, next)
		blob_attach(w);
}

static void
blob_data(struct mfetch *mf, const void *data, size_t len)
{
	struct mwait	*w, *next;

	if (mf->bu == NULL || mf->head.status != 200)
		return;
	if (mf->got + (int64_t)len > mf->head.size ||
	    be->upload_append(mf->bu, data, len) == -1 ||
	    EVP_DigestUpdate(mf->md, data, len) != 1) {
		log_warnx("mirror: %s@%s: cannot take the upstream's bytes",
		    mf->repo, mf->ref);
		mf->head.status = 502;
		blob_abort(mf);
		return;
	}
	mf->got += len;
	mstats(mf->upstream)->fetched += len;
	TAILQ_FOREACH_SAFE(w, &mf->waiters, entry, next)
		pump_from(w, data, mf->got - len, len);
}

/* The blob came whole: proven, committed and linked, or thrown away. */
static void
blob_end(struct mfetch *mf, int status)
{
	struct mwait	*w, *next;
	struct be_body	 body;
	char		 digest[MAX_DIGEST + 1], alg[8];
	const char	*hex;
	int		 made;

	digest_split(mf->ref, alg, sizeof(alg), &hex);
	if (status == 0 && mf->bu != NULL && mf->head.status == 200 &&
	    mf->got == mf->head.size &&
	    digest_final(mf->md, alg, digest, sizeof(digest)) == 0) {
		if (strcmp(digest, mf->ref) != 0) {
			log_warnx("mirror: upstream %s sent bytes of %s for "
			    "%s@%s: not stored", mf->upstream, digest,
			    mf->repo, mf->ref);
		} else if ((made = reg_upload_commit(mf->bu, mf->repo,
		    mf->uuid, digest, mf->got)) == -1)
			log_warn("mirror: commit %s", digest);
		else {
			if (made)
				mstats(mf->upstream)->stored += mf->got;
			be->upload_close(mf->bu);
			mf->bu = NULL;
			reg_used(digest);
			mf->committed = 1;
		}
	}
	if (!mf->committed) {
		mstats(mf->upstream)->errors++;
		blob_abort(mf);
		/* Pipes close short; the rest get the upstream's error. */
		TAILQ_FOREACH_SAFE(w, &mf->waiters, entry, next) {
			if (w->pfd == -1)
				answer_err(w, mf->head.status == 404 ? 404 :
				    503, mf->head.status == 404 ?
				    "BLOB_UNKNOWN" : "UNAVAILABLE",
				    mf->head.status == 404 ?
				    "blob unknown to registry" :
				    mf->head.message[0] != '\0' ?
				    mf->head.message : "upstream failed");
			waiter_free(w);
		}
		return;
	}
	if (be->blob_open(mf->ref, BE_WANT_FD, &body) == 0)
		mf->bfd = body.fd;
	TAILQ_FOREACH_SAFE(w, &mf->waiters, entry, next) {
		if (be->link_get(w->req.repo, BE_LAYER, mf->ref, NULL) == -1 &&
		    reg_link_put(w->req.repo, BE_LAYER, mf->ref,
		    mf->got) == -1)
			log_warn("mirror: link %s in %s", mf->ref,
			    w->req.repo);
		if (mf->bfd == -1)
			waiter_free(w);
		else
			pump(w);
	}
	if (be->link_get(mf->repo, BE_LAYER, mf->ref, NULL) == -1)
		reg_link_put(mf->repo, BE_LAYER, mf->ref, mf->got);
}

/* The manifest came, or did not: store it, then answer from the store. */
static void
manifest_end(struct mfetch *mf, int status)
{
	struct mwait		*w, *next;
	struct st_manifest_put	 r;
	struct st_res		 res;
	struct seen		*s;
	int			 ok = 0, local;

	memset(&res, 0, sizeof(res));
	if (mf->head.status == 304)
		ok = 1;
	else if (mf->head.status == 200 && status == 0) {
		memset(&r, 0, sizeof(r));
		strlcpy(r.repo, mf->repo, sizeof(r.repo));
		strlcpy(r.ref, mf->ref, sizeof(r.ref));
		strlcpy(r.mediatype, mf->head.mediatype, sizeof(r.mediatype));
		r.flags = STF_MIRROR;
		r.limit = MIR_MAX_MANIFEST;
		manifest_commit(&r, mf->buf, mf->blen, &res);
		if (res.status == 201) {
			ok = 1;
			mirror_cache_add(mf->upstream, mf->repo, res.digest,
			    mf->buf, mf->blen);
		} else
			log_warnx("mirror: upstream %s: manifest %s:%s "
			    "refused: %s", mf->upstream, mf->repo, mf->ref,
			    res.message);
	}
	/*
	 * A tag here the upstream does not know was pushed here (allow
	 * push) or removed there: the copy here is served.
	 */
	local = !ok && mf->known[0] != '\0' && mf->head.status == 404;
	if (ok)
		mstats(mf->upstream)->fetched += mf->blen;
	else if (!local)
		mstats(mf->upstream)->errors++;
	if (ok || mf->known[0] != '\0') {
		if (mf->head.status != 200 && mf->known[0] != '\0')
			mirror_cache_pulled(mf->upstream, mf->repo,
			    mf->known, mf->head.status == 304 || !mf->push);
		if (!ok && !local && seen_get(&stale_logged, mf->upstream,
		    mf->repo, 0) == NULL) {
			log_warnx("mirror: upstream %s: %s (%d): serving the "
			    "cached %s", mf->upstream, mf->head.message,
			    mf->head.status, mf->repo);
			seen_get(&stale_logged, mf->upstream, mf->repo, 1);
		} else if (ok)
			seen_del(&stale_logged, mf->upstream, mf->repo);
		if (strchr(mf->ref, ':') == NULL &&
		    (s = seen_get(&validated, mf->repo, mf->ref, 1)) != NULL)
			s->when = time(NULL);
		TAILQ_FOREACH_SAFE(w, &mf->waiters, entry, next) {
			answer_store(w);
			waiter_free(w);
		}
		return;
	}
	TAILQ_FOREACH_SAFE(w, &mf->waiters, entry, next) {
		if (mf->head.status == 404)
			answer_err(w, 404, "MANIFEST_UNKNOWN",
			    "manifest unknown");
		else if (res.status >= 400)
			answer_err(w, 502, "MANIFEST_INVALID",
			    "upstream sent an invalid manifest");
		else
			answer_err(w, 503, "UNAVAILABLE", mf->head.message[0] !=
			    '\0' ? mf->head.message : "upstream failed");
		waiter_free(w);
	}
}

static struct mfetch *
fetch_by_id(uint32_t id)
{
	struct mfetch	*mf;

	TAILQ_FOREACH(mf, &fetches, entry)
		if (mf->id == id && !mf->done)
			return (mf);
	return (NULL);
}

static void
data_close(struct mfetch *mf)
{
	if (mf->dfd == -1)
		return;
	event_del(&mf->dev);
	close(mf->dfd);
	mf->dfd = -1;
}

static void
fetch_end(struct mfetch *mf, int status)
{
	data_close(mf);
	mf->done = 1;
	if (!mf->headed) {
		mf->head.status = 502;
		strlcpy(mf->head.message, "fetcher gone",
		    sizeof(mf->head.message));
	}
	if (mf->kind == MIRK_BLOB)
		blob_end(mf, status);
	else
		manifest_end(mf, status);
	fetch_free_if_idle(mf);
}

/*
 * Waiters caught up with the fetch get the pipe's next bytes by tee(2),
 * page references and no copy, up to what may be shown once they are
 * read (all but the last byte): the read that follows takes at least
 * as many, and pump_from writes a waiter only what its tee did not.
 */
static void
data_tee(struct mfetch *mf, int fd)
{
	struct mwait	*w;
	int64_t		 limit;
	ssize_t		 n;

	if (mf->bu == NULL || mf->head.status != 200)
		return;
	limit = mf->got + MIR_PUMP;
	if (limit > mf->head.size - 1)
		limit = mf->head.size - 1;
	TAILQ_FOREACH(w, &mf->waiters, entry) {
		if (w->pfd == -1 || w->evset || w->off != mf->got ||
		    limit <= w->off)
			continue;
		if ((n = tee(fd, w->pfd, limit - w->off,
		    SPLICE_F_NONBLOCK)) > 0)
			w->off += n;
	}
}

/*
 * The body's bytes down the fetcher's pipe (MIR_PIPE): hashed, stored
 * and shown as MIR_DATA's are.  At its end, what MIR_END said, if it
 * came already.
 */
static void
data_cb(int fd, short ev, void *arg)
{
	static unsigned char	 buf[MIR_PUMP];
	struct mfetch		*mf = arg;
	ssize_t			 n;
	int			 i;

	for (i = 0; i < 4; i++) {
		data_tee(mf, fd);
		if ((n = read(fd, buf, sizeof(buf))) > 0) {
			blob_data(mf, buf, n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		data_close(mf);
		if (mf->ended)
			fetch_end(mf, mf->endst);
		return;
	}
}

static void
data_pipe(struct mfetch *mf, int fd)
{
	struct stat	 st;

	if (mf->kind != MIRK_BLOB || mf->dfd != -1 || fstat(fd, &st) == -1 ||
	    !S_ISFIFO(st.st_mode) || fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		mf->head.status = 502;
		strlcpy(mf->head.message, "fetcher sent no pipe",
		    sizeof(mf->head.message));
		return;
	}
	mf->dfd = fd;
	event_set(&mf->dev, fd, EV_READ | EV_PERSIST, data_cb, mf);
	event_add(&mf->dev, NULL);
}

/* MIR_HEAD, MIR_DATA, MIR_PIPE and MIR_END from the fetcher. */
void
mirror_dispatch(struct chan *c, struct msg *m)
{
	struct mfetch	*mf;
	struct mir_end	 e;

	/* A descriptor left in m is closed by the caller. */
	if ((mf = fetch_by_id(m->hdr.peerid)) == NULL || mf->ended)
		return;
	switch (m->hdr.type) {
	case MIR_HEAD:
		if (mf->headed) {
			proc_peer_fail(c, m, "second head");
			return;
		}
		MSG_COPY(m, &mf->head);
		mf->head.digest[sizeof(mf->head.digest) - 1] = '\0';
		mf->head.mediatype[sizeof(mf->head.mediatype) - 1] = '\0';
		mf->head.message[sizeof(mf->head.message) - 1] = '\0';
		mf->headed = 1;
		if (mf->kind == MIRK_BLOB)
			blob_head(mf);
		break;
	case MIR_DATA:
		if (!mf->headed)
			break;
		if (mf->kind == MIRK_BLOB) {
			blob_data(mf, m->data, m->len);
			break;
		}
		if (mf->blen + m->len > MIR_MAX_MANIFEST) {
			mf->head.status = 502;
			strlcpy(mf->head.message, "upstream manifest too large",
			    sizeof(mf->head.message));
			break;
		}
		if ((mf->buf = realloc(mf->buf, mf->blen + m->len)) == NULL)
			fatal("%s", __func__);
		memcpy(mf->buf + mf->blen, m->data, m->len);
		mf->blen += m->len;
		break;
	case MIR_PIPE:
		data_pipe(mf, m->fd);
		m->fd = -1;
		break;
	case MIR_END:
		MSG_COPY(m, &e);
		if (mf->dfd != -1) {
			/* The pipe's bytes first. */
			mf->ended = 1;
			mf->endst = e.status;
			break;
		}
		fetch_end(mf, e.status);
		break;
	}
}

/* The fetcher died: what it was fetching failed. */
void
mirror_fetcher_gone(void)
{
	struct mfetch	*mf, *next;

	fetcher = NULL;
	TAILQ_FOREACH_SAFE(mf, &fetches, entry, next)
		if (!mf->done)
			fetch_end(mf, 502);
}

/* The counters for the metrics listener. */
void
mirror_stats_fill(struct store_stats *out)
{
	struct mirror_figures	*f;
	const char		*name;
	int64_t			 cached, max;
	int			 i;

	for (i = 0; (name = mirror_cache_upstream(i)) != NULL; i++)
		mstats(name);
	out->nmirror = 0;
	for (i = 0; i < nstats && i < (int)(sizeof(out->mirror) /
	    sizeof(out->mirror[0])); i++) {
		f = &out->mirror[out->nmirror++];
		strlcpy(f->name, stats[i].name, sizeof(f->name));
		f->hits = stats[i].hits;
		f->misses = stats[i].misses;
		f->errors = stats[i].errors;
		f->fetched = stats[i].fetched;
		f->served = stats[i].served;
		f->stored = stats[i].stored;
		if (mirror_cache_figures(f->name, &cached, &max,
		    &f->evicted) == 0) {
			f->cached = cached;
			f->limit = max;
		}
	}
}

/* The counters as regctl show mirror prints them. */
char *
mirror_ctl_text(size_t *lenp)
{
	struct mstats	*m;
	const char	*name;
	char		*text = NULL, limit[32];
	size_t		 size = 0;
	FILE		*fp;
	int64_t		 cached, max;
	uint64_t	 evicted;
	int		 i;

	/* Every upstream with a cache, counted or not yet. */
	for (i = 0; (name = mirror_cache_upstream(i)) != NULL; i++)
		mstats(name);
	if ((fp = open_memstream(&text, &size)) == NULL)
		return (NULL);
	fprintf(fp, "%-16s %10s %10s %8s %14s %14s %14s %14s %14s %8s\n",
	    "upstream", "hits", "misses", "errors", "bytes fetched",
	    "bytes served", "bytes stored", "cache size", "cache limit",
	    "evicted");
	for (i = 0; i < nstats; i++) {
		m = &stats[i];
		if (mirror_cache_figures(m->name, &cached, &max,
		    &evicted) == -1) {
			cached = max = 0;
			evicted = 0;
		}
		if (max > 0)
			snprintf(limit, sizeof(limit), "%lld", (long long)max);
		else
			strlcpy(limit, "-", sizeof(limit));
		fprintf(fp, "%-16s %10llu %10llu %8llu %14llu %14llu %14llu "
		    "%14lld %14s %8llu\n",
		    m->name, (unsigned long long)m->hits,
		    (unsigned long long)m->misses,
		    (unsigned long long)m->errors,
		    (unsigned long long)m->fetched,
		    (unsigned long long)m->served,
		    (unsigned long long)m->stored, (long long)cached, limit,
		    (unsigned long long)evicted);
	}
	if (fclose(fp) != 0) {
		free(text);
		return (NULL);
	}
	*lenp = size;
	return (text);
}
