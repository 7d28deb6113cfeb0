/*
 * The registry API: routes of the OCI Distribution Spec v1.1, turned into
 * storage requests, and storage's answers turned into HTTP responses.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "regd.h"

#define MT_OCTET	"application/octet-stream"
#define INLINE_BODY	(16 * 1024)
#define CORK_MIN	(16 * 1024 * 1024)	/* file bodies sent corked */
#define MT_JSON		"application/json"
#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"

/*
 * What every storage request of a client names: the repository here (a
 * mirror's local name), who asks and, for a mirrored read, where from.
 */
struct api_req {
	char		 repo[MAX_NAME + 1];
	char		 client[MAX_CLIENT + 1];
	uint32_t	 flags;		/* STF_MIRROR */
	struct st_mirror mirror;
};

static int	 api_route(struct conn *);
static int	 api_authorize(struct conn *, const char *);
static void	 api_start(struct conn *);
static int	 has_body(struct req *);

static int
has_body(struct req *r)
{
	return (r->chunked || r->clen > 0);
}

static int
is_method(struct req *r, const char *m)
{
	return (strcmp(r->method, m) == 0);
}

/* Find the last "/<word>" in path that is followed by '/' or the end. */
static char *
last_segment(char *path, const char *word)
{
	char	*p, *found = NULL;
	size_t	 len = strlen(word);

	for (p = strstr(path, word); p != NULL; p = strstr(p + 1, word))
		if (p[len] == '/' || p[len] == '\0')
			found = p;
	return (found);
}

/*
 * Split the path into a route, a repository name and a reference.
 * Returns 0, or -1 after an error response.
 */
static int
api_route(struct conn *c)
{
	struct req	*r = &c->req;
	char		*rest, *cut = NULL, *p;
	char		*m, *b, *t, *f;
	enum route	 rt = RT_NONE;
	size_t		 nlen;

	if (strncmp(r->path, "/v2", 3) != 0 ||
	    (r->path[3] != '/' && r->path[3] != '\0')) {
		http_error(c, 404, "NOT_FOUND", "no such endpoint");
		return (-1);
	}
	rest = r->path[3] == '\0' ? r->path + 3 : r->path + 4;
	if (*rest == '\0') {
		r->route = RT_BASE;
		return (0);
	}
	if (strcmp(rest, "_catalog") == 0) {
		r->route = RT_CATALOG;
		return (0);
	}

	m = last_segment(rest, "/manifests");
	b = last_segment(rest, "/blobs");
	t = last_segment(rest, "/tags");
	f = last_segment(rest, "/referrers");
	p = NULL;
	if (m != NULL && (p == NULL || m > p))
		p = m;
	if (b != NULL && (p == NULL || b > p))
		p = b;
	if (t != NULL && (p == NULL || t > p))
		p = t;
	if (f != NULL && (p == NULL || f > p))
		p = f;
	if (p == NULL)
		goto notfound;

	if (p == m) {
		cut = m + strlen("/manifests");
		if (*cut != '/' || cut[1] == '\0' || strchr(cut + 1, '/'))
			goto notfound;
		rt = RT_MANIFEST;
		p = cut + 1;
	} else if (p == t) {
		if (strcmp(t, "/tags/list") != 0)
			goto notfound;
		rt = RT_TAGS;
		p = NULL;
	} else if (p == f) {
		cut = f + strlen("/referrers");
		if (*cut != '/' || cut[1] == '\0' || strchr(cut + 1, '/'))
			goto notfound;
		rt = RT_REFERRERS;
		p = cut + 1;
	} else {
		cut = b + strlen("/blobs");
		if (strncmp(cut, "/uploads", 8) == 0 &&
		    (cut[8] == '\0' || cut[8] == '/')) {
			if (cut[8] == '\0' || cut[9] == '\0') {
				rt = RT_UPLOADS;
				p = NULL;
			} else {
				if (strchr(cut + 9, '/') != NULL)
					goto notfound;
				rt = RT_UPLOAD;
				p = cut + 9;
			}
		} else {
			if (*cut != '/' || cut[1] == '\0' ||
			    strchr(cut + 1, '/'))
				goto notfound;
			rt = RT_BLOB;
			p = cut + 1;
		}
	}
	nlen = (rt == RT_TAGS ? t : rt == RT_MANIFEST ? m :
	    rt == RT_REFERRERS ? f : b) - rest;
	if (nlen == 0)
		goto notfound;
	if (nlen > MAX_NAME) {
		http_error(c, 400, "NAME_INVALID", "repository name too long");
		return (-1);
	}
	memcpy(r->name, rest, nlen);
	r->name[nlen] = '\0';
	if (!valid_name(r->name)) {
		http_error(c, 400, "NAME_INVALID",
		    "invalid repository name");
		return (-1);
	}
	if (p != NULL) {
		/* A long manifest tag is cut, still no tag (tag_unknown). */
		if (strlen(p) > MAX_REF && (rt != RT_MANIFEST ||
		    strchr(p, ':') != NULL)) {
			if (rt == RT_UPLOAD)
				http_error(c, 404, "BLOB_UPLOAD_UNKNOWN",
				    "blob upload unknown to registry");
			else
				http_error(c, 400, "DIGEST_INVALID",
				    "invalid digest");
			return (-1);
		}
		strlcpy(r->ref, p, sizeof(r->ref));
	}
	r->route = rt;
	return (0);
notfound:
	http_error(c, 404, "NOT_FOUND", "no such endpoint");
	return (-1);
}

/*
 * The per-request authorization hook: action is "pull", "push" or
 * "delete".  Without authentication configured everything is allowed.
 */
static int
api_authorize(struct conn *c, const char *action)
{
	return (auth_request(c, action));
}

static void
method_not_allowed(struct conn *c)
{
	http_error(c, 405, "UNSUPPORTED", "method not allowed");
}

static int
query_n(struct conn *c)
{
	struct req	*r = &c->req;
	char		 buf[32];
	const char	*errstr;

	r->n = -1;
	if (http_query_get(r->query, "n", buf, sizeof(buf)) == NULL) {
		if (r->query != NULL && strstr(r->query, "n=") != NULL &&
		    http_query_get(r->query, "n", buf, 2) == NULL) {
			http_error(c, 400, "PAGINATION_NUMBER_INVALID",
			    "invalid number of results requested");
			return (-1);
		}
		return (0);
	}
	r->n = strtonum(buf, 0, 100000, &errstr);
	if (errstr != NULL) {
		http_error(c, 400, "PAGINATION_NUMBER_INVALID",
		    "invalid number of results requested");
		return (-1);
	}
	return (0);
}

/* Is key in the query at all, whatever its value and length? */
static int
query_has(const char *query, const char *key)
{
	const char	*p = query;
	size_t		 klen = strlen(key);

	while (p != NULL) {
		if (strncmp(p, key, klen) == 0 && (p[klen] == '=' ||
		    p[klen] == '&' || p[klen] == '\0'))
			return (1);
		if ((p = strchr(p, '&')) != NULL)
			p++;
	}
	return (0);
}

/*
 * POST ?mount=: a blob is linked only from a repository the client may
 * pull, the one "from" names or, when the server looks for sources, one
 * storage finds (see mount_found).  Anything else is an ordinary upload
 * (202), as for a blob nobody has: the answer tells nothing about
 * repositories the client may not pull.
 */
static void
upload_start_init(struct st_upload_start *q, const struct api_req *ar)
{
	memset(q, 0, sizeof(*q));
	strlcpy(q->repo, ar->repo, sizeof(q->repo));
	strlcpy(q->client, ar->client, sizeof(q->client));
}

static void
mount_start(struct conn *c, const struct api_req *ar)
{
	struct req		*r = &c->req;
	struct st_upload_start	 q;
	char			 mount[MAX_REF + 2], from[MAX_NAME + 2];
	char			*src = from;

	upload_start_init(&q, ar);
	if (http_query_get(r->query, "mount", mount, sizeof(mount)) == NULL ||
	    !valid_digest(mount)) {
		conn_request(c, ST_UPLOAD_START, &q, sizeof(q));
		return;
	}
	if (query_has(r->query, "from")) {
		/* Too long, invalid or not pullable: no mount. */
		if (http_query_get(r->query, "from", from,
		    sizeof(from)) != NULL && valid_name(from) &&
		    auth_pick_pullable(c, &src, 1) == 0) {
			strlcpy(q.mount_digest, mount,
			    sizeof(q.mount_digest));
			strlcpy(q.from_repo, from, sizeof(q.from_repo));
			strlcpy(r->mountfrom, from, sizeof(r->mountfrom));
		}
		conn_request(c, ST_UPLOAD_START, &q, sizeof(q));
		return;
	}
	if (c->srv->mount_nofrom) {
		strlcpy(q.mount_digest, mount, sizeof(q.mount_digest));
		q.flags |= STF_MOUNT_WHERE;
		r->mountwhere = 1;
		/* The upload mount_found starts: the same repo and client. */
		strlcpy(r->mountrepo, q.repo, sizeof(r->mountrepo));
		strlcpy(r->mountclient, q.client, sizeof(r->mountclient));
	}
	conn_request(c, ST_UPLOAD_START, &q, sizeof(q));
}

/* Storage said which repositories link the blob: mount from one, or not. */
static void
mount_found(struct conn *c, struct st_res *res, int fd)
{
	struct req		*r = &c->req;
	struct st_upload_start	 q;
	char			 src[MAX_NAME + 1], mount[MAX_REF + 2];

	memset(&q, 0, sizeof(q));
	strlcpy(q.repo, r->mountrepo, sizeof(q.repo));
	strlcpy(q.client, r->mountclient, sizeof(q.client));
	if (res->status == 200 && auth_mount_source(c, fd, res->size, src,
	    sizeof(src)) == 0 && http_query_get(r->query, "mount", mount,
	    sizeof(mount)) != NULL) {
		strlcpy(q.mount_digest, mount, sizeof(q.mount_digest));
		strlcpy(q.from_repo, src, sizeof(q.from_repo));
		strlcpy(r->mountfrom, src, sizeof(r->mountfrom));
	} else if (res->status != 200 && fd != -1)
		close(fd);
	conn_request(c, ST_UPLOAD_START, &q, sizeof(q));
}

/*
 * A manifest reference that is neither a digest nor a valid tag names no
 * manifest: GET, HEAD and DELETE answer 404 MANIFEST_UNKNOWN (a PUT gets
 * 400 TAG_INVALID from storage).  Returns 1 after that answer.
 */
static int
tag_unknown(struct conn *c, uint32_t type)
{
	struct req	*r = &c->req;

	if ((type != ST_MANIFEST_GET && type != ST_MANIFEST_DELETE) ||
	    strchr(r->ref, ':') != NULL || valid_tag(r->ref))
		return (0);
	http_error(c, 404, "MANIFEST_UNKNOWN", "manifest unknown");
	return (1);
}

/* GET or HEAD of a blob or manifest. */
static void
api_read(struct conn *c, uint32_t type, const struct api_req *ar)
{
	struct req		*r = &c->req;
	struct st_blob_get	 bq;
	struct st_manifest_get	 mq;
	uint32_t		 flags = ar->flags;

	if (api_authorize(c, "pull") == -1 || tag_unknown(c, type))
		return;
	if (is_method(r, "HEAD"))
		flags |= STF_HEAD;
	else if (type == ST_BLOB_GET && r->range == NULL)
		flags |= STF_WHOLE;
	if (type == ST_BLOB_GET) {
		memset(&bq, 0, sizeof(bq));
		strlcpy(bq.repo, ar->repo, sizeof(bq.repo));
		strlcpy(bq.digest, r->ref, sizeof(bq.digest));
		bq.flags = flags;
		bq.mirror = ar->mirror;
		conn_request(c, type, &bq, sizeof(bq));
		return;
	}
	memset(&mq, 0, sizeof(mq));
	strlcpy(mq.repo, ar->repo, sizeof(mq.repo));
	strlcpy(mq.ref, r->ref, sizeof(mq.ref));
	mq.flags = flags;
	mq.mirror = ar->mirror;
	conn_request(c, type, &mq, sizeof(mq));
}

static void
api_delete(struct conn *c, uint32_t type, const struct api_req *ar)
{
	struct req			*r = &c->req;
	struct st_blob_delete		 bq;
	struct st_manifest_delete	 mq;

	if (api_authorize(c, "delete") == -1)
		return;
	if (!c->srv->delete_enabled) {
		http_error(c, 405, "UNSUPPORTED",
		    "deletes are disabled on this registry");
		return;
	}
	if (tag_unknown(c, type))
		return;
	if (type == ST_BLOB_DELETE) {
		memset(&bq, 0, sizeof(bq));
		strlcpy(bq.repo, ar->repo, sizeof(bq.repo));
		strlcpy(bq.digest, r->ref, sizeof(bq.digest));
		conn_request(c, type, &bq, sizeof(bq));
		return;
	}
	memset(&mq, 0, sizeof(mq));
	strlcpy(mq.repo, ar->repo, sizeof(mq.repo));
	strlcpy(mq.ref, r->ref, sizeof(mq.ref));
	conn_request(c, type, &mq, sizeof(mq));
}

/* Tag list or catalog: a page of n entries after "last". */
static void
api_list(struct conn *c, const char *action, uint32_t type,
    const struct api_req *ar)
{
	struct st_list	 q;
	char		 buf[MAX_NAME + 2];

	if (api_authorize(c, action) == -1 || query_n(c) == -1)
		return;
	memset(&q, 0, sizeof(q));
	strlcpy(q.repo, ar->repo, sizeof(q.repo));
	q.limit = c->req.n;
	/* A catalog to filter is paged after filtering (respond_list). */
	if (type == ST_CATALOG && c->srv->auth != NULL &&
	    c->srv->auth->type != AUTH_TOKEN)
		q.limit = -1;
	if (http_query_get(c->req.query, "last", buf, sizeof(buf)) != NULL)
		strlcpy(q.last, buf, sizeof(q.last));
	conn_request(c, type, &q, sizeof(q));
}

/* Called with a complete request head. */
void
api_dispatch(struct conn *c)
{
	struct req	*r = &c->req;

	if (c->srv->metrics) {
		metrics_dispatch(c);
		return;
	}
	if (api_route(c) == -1)
		return;
	/* A body is read only where the endpoint takes one. */
	if (has_body(r)) {
		int	 takes = 0;

		switch (r->route) {
		case RT_MANIFEST:
			takes = is_method(r, "PUT");
			break;
		case RT_UPLOADS:
			takes = is_method(r, "POST");
			break;
		case RT_UPLOAD:
			takes = is_method(r, "PATCH") || is_method(r, "PUT");
			break;
		default:
			break;
		}
		if (!takes) {
			conn_discard_body(c);
			return;
		}
	}
	api_start(c);
}

/* A manifest: GET, HEAD, PUT with its body, DELETE. */
static void
api_manifest(struct conn *c, const struct api_req *ar)
{
	struct req		*r = &c->req;
	struct st_manifest_put	 q;

	if (is_method(r, "GET") || is_method(r, "HEAD"))
		api_read(c, ST_MANIFEST_GET, ar);
	else if (is_method(r, "PUT")) {
		if (api_authorize(c, "push") == -1)
			return;
		if (r->clen > (int64_t)c->srv->max_manifest) {
			r->keepalive = 0;
			http_error(c, 413, "SIZE_INVALID",
			    "manifest too large");
			return;
		}
		memset(&q, 0, sizeof(q));
		strlcpy(q.repo, ar->repo, sizeof(q.repo));
		strlcpy(q.ref, r->ref, sizeof(q.ref));
		if (r->ctype != NULL)
			strlcpy(q.mediatype, r->ctype, sizeof(q.mediatype));
		q.len = r->chunked ? -1 : r->clen;
		/* Storage counts a chunked body against it too. */
		q.limit = c->srv->max_manifest;
		conn_stream_request(c, ST_MANIFEST_PUT, &q, sizeof(q));
	} else if (is_method(r, "DELETE"))
		api_delete(c, ST_MANIFEST_DELETE, ar);
	else
		method_not_allowed(c);
}

static void
upload_write_init(struct st_upload_write *q, const struct api_req *ar)
{
	memset(q, 0, sizeof(*q));
	strlcpy(q->repo, ar->repo, sizeof(q->repo));
	strlcpy(q->client, ar->client, sizeof(q->client));
	q->off = -1;
}

/* POST of a new upload: a mount, a monolithic upload or a session. */
static void
api_uploads(struct conn *c, const struct api_req *ar)
{
	struct req		*r = &c->req;
	struct st_upload_start	 sq;
	struct st_upload_write	 wq;
	char			 digest[MAX_REF + 2];

	if (!is_method(r, "POST")) {
		method_not_allowed(c);
		return;
	}
	if (api_authorize(c, "push") == -1)
		return;
	if (query_has(r->query, "mount")) {
		/* A body with a mount request is not wanted. */
		if (has_body(r)) {
			conn_discard_body(c);
			r->query = NULL;
			return;
		}
		mount_start(c, ar);
	} else if (http_query_get(r->query, "digest", digest,
	    sizeof(digest)) != NULL) {
		if (!valid_digest(digest)) {
			r->keepalive = has_body(r) ? 0 : r->keepalive;
			http_error(c, 400, "DIGEST_INVALID",
			    "invalid digest");
			return;
		}
		upload_write_init(&wq, ar);
		strlcpy(wq.digest, digest, sizeof(wq.digest));
		wq.flags = STF_NEWSESSION | STF_FINAL;
		conn_stream_request(c, ST_UPLOAD_WRITE, &wq, sizeof(wq));
	} else {
		if (has_body(r)) {
			conn_discard_body(c);
			return;
		}
		upload_start_init(&sq, ar);
		conn_request(c, ST_UPLOAD_START, &sq, sizeof(sq));
	}
}

/* An upload session: status, cancel, a chunk or the last one. */
static void
api_upload(struct conn *c, const struct api_req *ar)
{
	struct req		*r = &c->req;
	struct st_upload	 uq;
	struct st_upload_write	 q;
	char			 digest[MAX_REF + 2];
	int64_t			 start, end;

	memset(&uq, 0, sizeof(uq));
	strlcpy(uq.repo, ar->repo, sizeof(uq.repo));
	strlcpy(uq.uuid, r->ref, sizeof(uq.uuid));
	upload_write_init(&q, ar);
	strlcpy(q.uuid, r->ref, sizeof(q.uuid));
	if (is_method(r, "GET")) {
		if (api_authorize(c, "push") == -1)
			return;
		conn_request(c, ST_UPLOAD_STATUS, &uq, sizeof(uq));
	} else if (is_method(r, "DELETE")) {
		if (api_authorize(c, "push") == -1)
			return;
		conn_request(c, ST_UPLOAD_CANCEL, &uq, sizeof(uq));
	} else if (is_method(r, "PATCH") || is_method(r, "PUT")) {
		if (api_authorize(c, "push") == -1)
			return;
		if (r->crange != NULL) {
			if (parse_content_range(r->crange, &start,
			    &end) == -1) {
				r->keepalive = 0;
				http_error(c, 416,
				    "BLOB_UPLOAD_INVALID",
				    "invalid Content-Range");
				return;
			}
			/* end - start + 1 could overflow; this not. */
			if (!r->chunked && r->clen != -1 &&
			    end - start != r->clen - 1) {
				r->keepalive = 0;
				http_error(c, 416,
				    "BLOB_UPLOAD_INVALID",
				    "Content-Range does not match "
				    "Content-Length");
				return;
			}
			q.off = start;
			q.flags |= STF_HAVE_OFF;
		}
		if (is_method(r, "PUT")) {
			if (http_query_get(r->query, "digest", digest,
			    sizeof(digest)) == NULL ||
			    !valid_digest(digest)) {
				r->keepalive = has_body(r) ? 0 :
				    r->keepalive;
				http_error(c, 400, "DIGEST_INVALID",
				    "missing or invalid digest");
				return;
			}
			strlcpy(q.digest, digest, sizeof(q.digest));
			q.flags |= STF_FINAL;
		}
		conn_stream_request(c, ST_UPLOAD_WRITE, &q, sizeof(q));
	} else
		method_not_allowed(c);
}

/*
 * Is the request's repository mirrored on this server?  The mirror
 * line that maps it (a ?ns= host first, then the longest prefix, then
 * the whole server), with the name here (local) and upstream (remote);
 * NULL when it is an ordinary repository.
 */
const struct mirror_map *
api_mirror(struct conn *c, char *local, size_t llen, char *remote,
    size_t rlen)
{
	const struct mirror_map	*m, *best = NULL;
	struct req		*r = &c->req;
	char			 ns[MAX_NAME + 2];
	size_t			 klen, blen = 0;
	int			 i;

	if (c->srv->nmirrors == 0 || r->name[0] == '\0')
		return (NULL);
	if (http_query_get(r->query, "ns", ns, sizeof(ns)) != NULL)
		for (i = 0; i < c->srv->nmirrors; i++) {
			m = &c->srv->mirrors[i];
			if (m->mode != MIRM_NS || strcmp(m->key, ns) != 0)
				continue;
			if ((size_t)snprintf(local, llen, "%s/%s", ns,
			    r->name) >= llen || !valid_name(local))
				return (NULL);
			strlcpy(remote, r->name, rlen);
			return (m);
		}
	for (i = 0; i < c->srv->nmirrors; i++) {
		m = &c->srv->mirrors[i];
		klen = strlen(m->key);
		if (m->mode == MIRM_PREFIX && klen > blen &&
		    strncmp(r->name, m->key, klen) == 0 &&
		    r->name[klen] == '/') {
			best = m;
			blen = klen;
		}
	}
	if (best != NULL) {
		strlcpy(local, r->name, llen);
		strlcpy(remote, r->name + blen + 1, rlen);
		return (best);
	}
	for (i = 0; i < c->srv->nmirrors; i++)
		if (c->srv->mirrors[i].mode == MIRM_SERVER) {
			strlcpy(local, r->name, llen);
			strlcpy(remote, r->name, rlen);
			return (&c->srv->mirrors[i]);
		}
	return (NULL);
}

/*
 * A mirrored repository: reads go upstream when storage misses, and
 * nothing is written unless the mirror line allows pushes.  Returns -1
 * when the request is answered here.
 */
static int
api_mirror_req(struct conn *c, struct api_req *ar)
{
	const struct mirror_map	*m;
	const struct mirror_up	*u;
	struct req		*r = &c->req;
	char			 local[MAX_NAME + 1], remote[MAX_NAME + 1];
	int			 read;

	if ((m = api_mirror(c, local, sizeof(local), remote,
	    sizeof(remote))) == NULL)
		return (0);
	read = is_method(r, "GET") || is_method(r, "HEAD");
	if (!read && !m->push) {
		http_error(c, 405, "UNSUPPORTED", "this repository is a "
		    "read-only mirror");
		return (-1);
	}
	strlcpy(ar->repo, local, sizeof(ar->repo));
	if (!read || (r->route != RT_MANIFEST && r->route != RT_BLOB))
		return (0);
	u = &env->conf->upstreams[m->up];
	ar->flags |= STF_MIRROR;
	strlcpy(ar->mirror.upstream, u->name, sizeof(ar->mirror.upstream));
	strlcpy(ar->mirror.upstream_name, remote,
	    sizeof(ar->mirror.upstream_name));
	ar->mirror.tag_ttl = u->tag_ttl;
	ar->mirror.push = m->push;
	return (0);
}

static void
api_start(struct conn *c)
{
	struct req		*r = &c->req;
	struct api_req		 ar;
	struct st_referrers	 rq;
	char			 buf[MAX_NAME + 2];

	memset(&ar, 0, sizeof(ar));
	strlcpy(ar.repo, r->name, sizeof(ar.repo));
	/* Who starts upload sessions: storage bounds them per client. */
	if (r->user[0] != '\0')
		snprintf(ar.client, sizeof(ar.client), "u:%s", r->user);
	else
		snprintf(ar.client, sizeof(ar.client), "a:%s", c->addr);
	if (api_mirror_req(c, &ar) == -1)
		return;

	switch (r->route) {
	case RT_BASE:
		if (!is_method(r, "GET") && !is_method(r, "HEAD"))
			goto notallowed;
		if (api_authorize(c, "base") == -1)
			return;
		http_start_response(c, 200, MT_JSON, 2);
		http_end_headers(c);
		if (is_method(r, "GET")) {
			evbuffer_add(conn_output(c), "{}", 2);
			r->bytes_out = 2;
		}
		conn_respond_done(c);
		return;
	case RT_CATALOG:
		if (!is_method(r, "GET"))
			goto notallowed;
		api_list(c, "catalog", ST_CATALOG, &ar);
		break;
	case RT_TAGS:
		if (!is_method(r, "GET"))
			goto notallowed;
		api_list(c, "pull", ST_TAGS_LIST, &ar);
		break;
	case RT_MANIFEST:
		api_manifest(c, &ar);
		break;
	case RT_BLOB:
		if (is_method(r, "GET") || is_method(r, "HEAD"))
			api_read(c, ST_BLOB_GET, &ar);
		else if (is_method(r, "DELETE"))
			api_delete(c, ST_BLOB_DELETE, &ar);
		else
			goto notallowed;
		break;
	case RT_UPLOADS:
		api_uploads(c, &ar);
		break;
	case RT_UPLOAD:
		api_upload(c, &ar);
		break;
	case RT_REFERRERS:
		if (!is_method(r, "GET"))
			goto notallowed;
		if (api_authorize(c, "pull") == -1)
			return;
		memset(&rq, 0, sizeof(rq));
		strlcpy(rq.repo, ar.repo, sizeof(rq.repo));
		strlcpy(rq.digest, r->ref, sizeof(rq.digest));
		if (http_query_get(r->query, "artifactType", buf,
		    sizeof(buf)) != NULL)
			strlcpy(rq.artifact_type, buf,
			    sizeof(rq.artifact_type));
		conn_request(c, ST_REFERRERS, &rq, sizeof(rq));
		break;
	default:
		http_error(c, 404, "NOT_FOUND", "no such endpoint");
		return;
	}
	return;
notallowed:
	method_not_allowed(c);
}

static void
send_body_fd(struct conn *c, int fd, int64_t off, int64_t len)
{
	struct evbuffer	*out = conn_output(c);

	char		 small[INLINE_BODY];
	ssize_t		 n;

	if (len == 0) {
		close(fd);
		return;
	}
	if (len <= INLINE_BODY) {
		/* Headers and a small body leave in one write. */
		n = pread(fd, small, len, off);
		close(fd);
		if (n != len) {
			c->close_after = 1;
			return;
		}
		evbuffer_add(out, small, len);
		c->req.bytes_out += len;
		return;
	}
	if (c->la->tls) {
		conn_stream_file(c, fd, off, len);
		c->req.bytes_out += len;
		return;
	}
	/*
	 * A big file leaves in full segments, as with nginx's tcp_nopush
	 * (a 256 MiB GET 0.73 -> 0.95 x nginx); for a few MiB corking
	 * costs more than it gives (1 MiB GETs: 3 x the CPU per GB).
	 */
	if (len >= CORK_MIN)
		conn_cork(c, 1);
	else
		c->hdrlen = evbuffer_get_length(out);
	if (evbuffer_add_file(out, fd, off, len) == -1) {
		close(fd);
		c->close_after = 1;
		return;
	}
	c->req.bytes_out += len;
}

static void
respond_upload(struct conn *c, int status, struct st_res *res)
{
	struct req	*r = &c->req;

	http_start_response(c, status, NULL, 0);
	http_header(c, "Location", "/v2/%s/blobs/uploads/%s", r->name,
	    res->uuid);
	http_header(c, "Range", "0-%lld",
	    (long long)(res->off > 0 ? res->off - 1 : 0));
	http_header(c, "Docker-Upload-UUID", "%s", res->uuid);
	http_end_headers(c);
}

/*
 * A listing of mirrored repositories says it is a cache: a tag list
 * "Regd-Mirror: UPSTREAM; cached", the catalog one such header per
 * mirror line of the server, with the names it covers (prefix="P/";
 * none for a whole server).
 */
static void
respond_mirror_headers(struct conn *c)
{
	const struct mirror_map	*m;
	char			 local[MAX_NAME + 1], remote[MAX_NAME + 1];
	int			 i;

	if (c->req.route == RT_TAGS) {
		if ((m = api_mirror(c, local, sizeof(local), remote,
		    sizeof(remote))) != NULL)
			http_header(c, "Regd-Mirror", "%s; cached",
			    env->conf->upstreams[m->up].name);
		return;
	}
	if (c->req.route != RT_CATALOG)
		return;
	for (i = 0; i < c->srv->nmirrors; i++) {
		m = &c->srv->mirrors[i];
		if (m->mode == MIRM_SERVER)
			http_header(c, "Regd-Mirror", "%s; cached",
			    env->conf->upstreams[m->up].name);
		else
			http_header(c, "Regd-Mirror", "%s; cached; "
			    "prefix=\"%s/\"", env->conf->upstreams[m->up].name,
			    m->key);
	}
}

static void
respond_list(struct conn *c, struct st_res *res, int fd)
{
	struct req	*r = &c->req;
	struct evbuffer	*fb = NULL;

	/* The catalog shows only what this client may pull. */
	if (r->route == RT_CATALOG && fd != -1 && c->srv->auth != NULL) {
		switch (auth_filter_list(c, fd, res->size, r->n, &fb,
		    res->last, sizeof(res->last))) {
		case -1:
			http_error(c, 500, "UNKNOWN", "cannot filter the "
			    "catalog");
			return;
		case 1:
			fd = -1;
			res->size = evbuffer_get_length(fb);
			res->flags &= ~STR_MORE;
			if (res->last[0] != '\0')
				res->flags |= STR_MORE;
			break;
		}
	}
	http_start_response(c, 200, res->mediatype[0] != '\0' ?
	    res->mediatype : MT_JSON, fd != -1 || fb != NULL ? res->size : 0);
	if (res->flags & STR_MORE) {
		if (r->route == RT_TAGS)
			http_header(c, "Link", "</v2/%s/tags/list?n=%lld&"
			    "last=%s>; rel=\"next\"", r->name,
			    (long long)r->n, res->last);
		else
			http_header(c, "Link", "</v2/_catalog?n=%lld&"
			    "last=%s>; rel=\"next\"", (long long)r->n,
			    res->last);
	}
	if (res->flags & STR_FILTERED)
		http_header(c, "OCI-Filters-Applied", "artifactType");
	respond_mirror_headers(c);
	http_end_headers(c);
	if (fd != -1)
		send_body_fd(c, fd, 0, res->size);
	if (fb != NULL) {
		r->bytes_out += evbuffer_get_length(fb);
		evbuffer_add_buffer(conn_output(c), fb);
		evbuffer_free(fb);
	}
}

/* Storage refused: its status and error code, as the client gets them. */
static void
respond_error(struct conn *c, struct st_res *res, int fd)
{
	struct req	*r = &c->req;

	if (fd != -1)
		close(fd);
	if (res->status == 416 && r->route == RT_UPLOAD &&
	    res->uuid[0] != '\0') {
		/* Tell the client where the upload really is. */
		char	 extra[512];

		snprintf(extra, sizeof(extra), "Location: /v2/%s/blobs/"
		    "uploads/%s\r\nRange: 0-%lld\r\n"
		    "Docker-Upload-UUID: %s\r\n", r->name, res->uuid,
		    (long long)(res->off > 0 ? res->off - 1 : 0),
		    res->uuid);
		http_error_ext(c, 416, res->code, res->message, extra);
		return;
	}
	http_error(c, res->status, res->code[0] != '\0' ? res->code :
	    "UNKNOWN", res->message[0] != '\0' ? res->message :
	    "storage error");
}

/* A blob, whole or the range asked for. */
static void
respond_blob(struct conn *c, struct st_res *res, int fd)
{
	struct req	*r = &c->req;
	int64_t		 start, end;
	int		 rv;

	if (res->flags & STR_PIPE) {
		/* Still being fetched: whole, as it comes. */
		http_start_response(c, 200, MT_OCTET, res->size);
		http_header(c, "Docker-Content-Digest", "%s", res->digest);
		http_end_headers(c);
		if (fd != -1) {
			c->req.bytes_out += res->size;
			conn_stream_pipe(c, fd, res->size);
		}
		return;
	}
	if (r->range != NULL && fd != -1 && (rv = parse_range(r->range,
	    res->size, &start, &end)) != 1) {
		if (rv == -1) {
			close(fd);
			http_start_response(c, 416, NULL, 0);
			http_header(c, "Content-Range", "bytes */%lld",
			    (long long)res->size);
			http_end_headers(c);
			return;
		}
		http_start_response(c, 206, MT_OCTET,
		    end - start + 1);
		http_header(c, "Content-Range", "bytes %lld-%lld/%lld",
		    (long long)start, (long long)end,
		    (long long)res->size);
		http_header(c, "Docker-Content-Digest", "%s",
		    res->digest);
		http_header(c, "Accept-Ranges", "bytes");
		http_end_headers(c);
		send_body_fd(c, fd, start, end - start + 1);
		return;
	}
	http_start_response(c, 200, MT_OCTET, res->size);
	http_header(c, "Docker-Content-Digest", "%s", res->digest);
	http_header(c, "ETag", "\"%s\"", res->digest);
	http_header(c, "Accept-Ranges", "bytes");
	http_end_headers(c);
	if (fd != -1)
		send_body_fd(c, fd, 0, res->size);
}

/* Storage answered the request in flight on c. */
void
api_storage_res(struct conn *c, struct st_res *res, int fd,
    const void *body, size_t blen)
{
	struct req	*r = &c->req;

	if (r->mountwhere && r->st_type == ST_UPLOAD_START) {
		r->mountwhere = 0;
		mount_found(c, res, fd);
		return;
	}
	/* An early answer: the rest of the body is not wanted. */
	conn_cut_body(c);
	if (res->code[0] != '\0' || res->status >= 400) {
		respond_error(c, res, fd);
		return;
	}
	/* A push or delete is answered once its event is on disk. */
	if (front_notify(c, res) == 1)
		return;

	switch (r->st_type) {
	case ST_BLOB_GET:
		if (res->status == 307 && body != NULL && blen > 0 &&
		    fd == -1) {
			/* The object store serves it: its presigned URL. */
			http_start_response(c, 307, NULL, 0);
			http_header(c, "Location", "%.*s", (int)blen,
			    (const char *)body);
			http_header(c, "Docker-Content-Digest", "%s",
			    res->digest);
			http_end_headers(c);
			break;
		}
		respond_blob(c, res, fd);
		break;
	case ST_MANIFEST_GET:
		http_start_response(c, 200, res->mediatype, res->size);
		http_header(c, "Docker-Content-Digest", "%s", res->digest);
		http_header(c, "ETag", "\"%s\"", res->digest);
		http_end_headers(c);
		if (body != NULL) {
			evbuffer_add(conn_output(c), body,
			    blen);
			r->bytes_out += blen;
		} else if (fd != -1)
			send_body_fd(c, fd, 0, res->size);
		break;
	case ST_MANIFEST_PUT:
		http_start_response(c, 201, NULL, 0);
		http_header(c, "Location", "/v2/%s/manifests/%s", r->name,
		    res->digest);
		http_header(c, "Docker-Content-Digest", "%s", res->digest);
		if (res->subject[0] != '\0')
			http_header(c, "OCI-Subject", "%s", res->subject);
		http_end_headers(c);
		break;
	case ST_MANIFEST_DELETE:
	case ST_BLOB_DELETE:
		http_start_response(c, 202, NULL, 0);
		http_end_headers(c);
		break;
	case ST_UPLOAD_START:
	case ST_UPLOAD_WRITE:
		if (res->status == 201) {
			http_start_response(c, 201, NULL, 0);
			http_header(c, "Location", "/v2/%s/blobs/%s", r->name,
			    res->digest);
			http_header(c, "Docker-Content-Digest", "%s",
			    res->digest);
			http_end_headers(c);
		} else
			respond_upload(c, 202, res);
		break;
	case ST_UPLOAD_STATUS:
		respond_upload(c, 204, res);
		break;
	case ST_UPLOAD_CANCEL:
		http_start_response(c, 204, NULL, 0);
		http_end_headers(c);
		break;
	case ST_TAGS_LIST:
	case ST_CATALOG:
	case ST_REFERRERS:
		respond_list(c, res, fd);
		break;
	default:
		if (fd != -1)
			close(fd);
		http_error(c, 500, "UNKNOWN", "unexpected storage answer");
		return;
	}
	conn_respond_done(c);
}
