/*
 * Storage: listings.  Tags, the catalog, referrers and the control
 * socket's repository reports, all found by walking the tree.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "regd.h"
#include "store.h"

struct tbuf {
	char	*buf;
	size_t	 len;
	size_t	 size;
	int	 err;
};

static void
tbuf_printf(struct tbuf *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*nbuf;
	size_t	 nsize;
	int	 n;

	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf == NULL ? NULL : t->buf + t->len,
		    t->size - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = 1;
			return;
		}
		if (t->buf != NULL && (size_t)n < t->size - t->len) {
			t->len += n;
			return;
		}
		nsize = t->size == 0 ? 4096 : t->size * 2;
		while (nsize < t->len + n + 1)
			nsize *= 2;
		if ((nbuf = realloc(t->buf, nsize)) == NULL) {
			t->err = 1;
			return;
		}
		t->buf = nbuf;
		t->size = nsize;
	}
}

/*
 * Listings are kept while the tree's generation stays the same: a tag
 * list or the catalog is then answered without walking directories.
 */
#define LISTCACHE_SIZE	64

struct listcache {
	uint64_t	 gen;
	char		 key[MAX_NAME + 2];
	struct names	 names;
};
static struct listcache	 listcache[LISTCACHE_SIZE];

static struct listcache *
listcache_slot(const char *key)
{
	return (&listcache[store_hash(STORE_HASH_INIT, key) %
	    LISTCACHE_SIZE]);
}

static int
names_copy(struct names *dst, const struct names *src)
{
	size_t	 i;

	for (i = 0; i < src->n; i++)
		if (names_add(dst, src->v[i]) == -1)
			return (-1);
	return (0);
}

/* Answer from the cache: 1 with ns filled, 0 on a miss. */
static int
listcache_get(const char *key, struct names *ns)
{
	struct listcache	*lc = listcache_slot(key);

	if (lc->gen != cache_gen(key) || strcmp(lc->key, key) != 0)
		return (0);
	if (names_copy(ns, &lc->names) == -1) {
		names_free(ns);
		return (0);
	}
	return (1);
}

static void
listcache_put(const char *key, const struct names *ns)
{
	struct listcache	*lc = listcache_slot(key);

	names_free(&lc->names);
	lc->gen = 0;
	if (strlcpy(lc->key, key, sizeof(lc->key)) >= sizeof(lc->key) ||
	    names_copy(&lc->names, ns) == -1) {
		names_free(&lc->names);
		return;
	}
	lc->gen = cache_gen(key);
}

/* Tags of a repository with a current link; ns stays empty if none. */
static int
repo_tags(const char *repo, struct names *ns)
{
	if (listcache_get(repo, ns))
		return (0);
	if (be->tag_walk(repo, names_each, ns) == -1)
		return (-1);
	names_sort(ns);
	listcache_put(repo, ns);
	return (0);
}

/*
 * Every repository name, sorted: those with manifests or layer links (the
 * catalog), or with any = 1 also those with uploads only, as gc must see.
 */
int
store_all_repos(struct names *ns, int any)
{
	/* "/" and "//" cannot be repository names: keys of their own. */
	const char	*key = any ? "//" : "/";

	if (listcache_get(key, ns))
		return (0);
	if (be->repo_walk(any, names_each, ns) == -1)
		return (-1);
	names_sort(ns);
	listcache_put(key, ns);
	return (0);
}

/* Put a JSON body into an anonymous file passed with the answer. */
static int
body_fd(json_t *root, struct st_res *res, int *fdp)
{
	char	*s;
	size_t	 len, off = 0;
	ssize_t	 n;
	int	 fd;

	if ((s = json_dumps(root, JSON_COMPACT)) == NULL)
		return (-1);
	len = strlen(s);
	if ((fd = memfd_create("body", MFD_CLOEXEC)) == -1) {
		free(s);
		return (-1);
	}
	while (off < len) {
		if ((n = write(fd, s + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1)
		goto fail;
	free(s);
	res->size = len;
	res->flags |= STR_HASBODY;
	*fdp = fd;
	return (0);
fail:
	free(s);
	close(fd);
	return (-1);
}

/*
 * One page of a sorted list: the entries after last (exclusive), at most
 * count of them (count < 0: all).  Sets STR_MORE and res->last when
 * entries remain after the page.
 */
static json_t *
page(struct names *ns, const char *last, int64_t count, struct st_res *res)
{
	json_t	*arr;
	size_t	 i = 0, taken = 0;

	if ((arr = json_array()) == NULL)
		return (NULL);
	if (last[0] != '\0')
		while (i < ns->n && strcmp(ns->v[i], last) <= 0)
			i++;
	for (; i < ns->n; i++) {
		if (count >= 0 && (int64_t)taken >= count)
			break;
		if (json_array_append_new(arr, json_string(ns->v[i])) == -1) {
			json_decref(arr);
			return (NULL);
		}
		taken++;
	}
	if (count > 0 && i < ns->n && taken > 0) {
		res->flags |= STR_MORE;
		strlcpy(res->last, ns->v[i - 1], sizeof(res->last));
	}
	return (arr);
}

/* A 200 answer: root with one page of ns as the array key. */
static int
list_answer(json_t *root, const char *key, struct names *ns,
    const struct st_list *req, struct st_res *res, int *fdp)
{
	json_t	*arr;

	if ((arr = page(ns, req->last, req->limit, res)) == NULL ||
	    json_object_set_new(root, key, arr) == -1 ||
	    body_fd(root, res, fdp) == -1)
		return (-1);
	res->status = 200;
	strlcpy(res->mediatype, "application/json", sizeof(res->mediatype));
	return (0);
}

void
store_tags_list(const struct st_list *req, struct st_res *res, int *fdp)
{
	struct names	 ns;
	json_t		*root = NULL;

	memset(&ns, 0, sizeof(ns));
	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!be->repo_exists(req->repo, 1)) {
		store_err(res, 404, "NAME_UNKNOWN",
		    "repository name not known to registry");
		return;
	}
	if (repo_tags(req->repo, &ns) == -1 ||
	    (root = json_object()) == NULL ||
	    json_object_set_new(root, "name", json_string(req->repo)) == -1 ||
	    list_answer(root, "tags", &ns, req, res, fdp) == -1)
		goto fail;
	goto done;
fail:
	log_warn("%s: %s", __func__, req->repo);
	memset(res, 0, sizeof(*res));
	store_err(res, 500, "UNKNOWN", "cannot list tags");
done:
	json_decref(root);
	names_free(&ns);
}

void
store_catalog(const struct st_list *req, struct st_res *res, int *fdp)
{
	struct names	 ns;
	json_t		*root = NULL;

	memset(&ns, 0, sizeof(ns));
	if (store_all_repos(&ns, 0) == -1 ||
	    (root = json_object()) == NULL ||
	    list_answer(root, "repositories", &ns, req, res, fdp) == -1)
		goto fail;
	goto done;
fail:
	log_warn("%s", __func__);
	memset(res, 0, sizeof(*res));
	store_err(res, 500, "UNKNOWN", "cannot list repositories");
done:
	json_decref(root);
	names_free(&ns);
}

/*
 * Where a mount without "from" could take its blob from: the repositories
 * that link it as a layer, for the frontend to choose one its client may
 * pull.  Nothing is mounted here.
 */
void
store_mount_sources(const struct st_upload_start *req, struct st_res *res,
    int *fdp)
{
	struct names	 all, ns;
	json_t		*root = NULL, *arr;
	size_t		 i;

	memset(&all, 0, sizeof(all));
	memset(&ns, 0, sizeof(ns));
	if (store_digest_ok(req->mount_digest) &&
	    store_all_repos(&all, 1) == -1)
		goto fail;
	for (i = 0; i < all.n; i++)
		if (be->link_get(all.v[i], BE_LAYER, req->mount_digest,
		    NULL) == 0 &&
		    names_add(&ns, all.v[i]) == -1)
			goto fail;
	if ((root = json_object()) == NULL ||
	    (arr = json_array()) == NULL ||
	    json_object_set_new(root, "repositories", arr) == -1)
		goto fail;
	for (i = 0; i < ns.n; i++)
		if (json_array_append_new(arr, json_string(ns.v[i])) == -1)
			goto fail;
	if (body_fd(root, res, fdp) == -1)
		goto fail;
	res->status = 200;
	goto done;
fail:
	log_warn("%s", __func__);
	memset(res, 0, sizeof(*res));
	store_err(res, 500, "UNKNOWN", "cannot look for the blob");
done:
	json_decref(root);
	names_free(&ns);
	names_free(&all);
}

/* The digests a repository links as layers or as revisions. */
int
store_repo_digests(const char *repo, enum be_link kind, struct names *ns)
{
	return (be->link_walk(repo, kind, names_each, ns));
}

void
store_referrers(const struct st_referrers *req, struct st_res *res, int *fdp)
{
	struct names	 ns;
	struct st_meta	*m;
	json_t		*root = NULL, *arr, *desc;
	size_t		 i;
	int		 filter;

	memset(&ns, 0, sizeof(ns));
	if (!valid_name(req->repo)) {
		store_err(res, 400, "NAME_INVALID", "invalid repository name");
		return;
	}
	if (!store_digest_ok(req->digest)) {
		store_err(res, 400, "DIGEST_INVALID", "invalid digest");
		return;
	}
	filter = req->artifact_type[0] != '\0';
	if (store_repo_digests(req->repo, BE_REVISION, &ns) == -1)
		goto fail;
	names_sort(&ns);
	if ((root = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2,
	    "mediaType", MT_OCI_INDEX,
	    "manifests")) == NULL)
		goto fail;
	arr = json_object_get(root, "manifests");
	for (i = 0; i < ns.n; i++) {
		if ((m = store_meta(ns.v[i])) == NULL ||
		    strcmp(m->subject, req->digest) != 0)
			continue;
		if (filter && strcmp(m->artifacttype, req->artifact_type) !=
		    0)
			continue;
		if ((desc = json_pack("{s:s, s:s, s:I}", "mediaType",
		    m->mediatype, "digest", ns.v[i], "size",
		    (json_int_t)m->size)) == NULL)
			goto fail;
		if (m->artifacttype[0] != '\0')
			json_object_set_new(desc, "artifactType",
			    json_string(m->artifacttype));
		if (m->annotations != NULL)
			json_object_set(desc, "annotations", m->annotations);
		if (json_array_append_new(arr, desc) == -1)
			goto fail;
	}
	if (body_fd(root, res, fdp) == -1)
		goto fail;
	res->status = 200;
	if (filter)
		res->flags |= STR_FILTERED;
	strlcpy(res->mediatype, MT_OCI_INDEX, sizeof(res->mediatype));
	strlcpy(res->digest, req->digest, sizeof(res->digest));
	goto done;
fail:
	log_warn("%s: %s", __func__, req->repo);
	memset(res, 0, sizeof(*res));
	store_err(res, 500, "UNKNOWN", "cannot list referrers");
done:
	json_decref(root);
	names_free(&ns);
}

char *
store_ctl_repos(size_t *lenp)
{
	struct names	 repos, tags;
	struct tbuf	 t;
	size_t		 i;

	memset(&repos, 0, sizeof(repos));
	memset(&t, 0, sizeof(t));
	if (store_all_repos(&repos, 0) == -1)
		tbuf_printf(&t, "error: cannot list repositories\n");
	for (i = 0; i < repos.n; i++) {
		memset(&tags, 0, sizeof(tags));
		repo_tags(repos.v[i], &tags);
		tbuf_printf(&t, "%s\t%zu\t%lld\n", repos.v[i], tags.n,
		    (long long)quota_repo_bytes(repos.v[i]));
		names_free(&tags);
	}
	names_free(&repos);
	if (t.err) {
		free(t.buf);
		return (NULL);
	}
	*lenp = t.len;
	return (t.buf);
}

char *
store_ctl_tags(const char *repo, size_t *lenp)
{
	struct names	 tags;
	struct tbuf	 t;
	char		 digest[MAX_DIGEST + 1];
	size_t		 i;

	memset(&tags, 0, sizeof(tags));
	memset(&t, 0, sizeof(t));
	if (!valid_name(repo) || !be->repo_exists(repo, 1))
		tbuf_printf(&t, "error: no such repository\n");
	else {
		repo_tags(repo, &tags);
		for (i = 0; i < tags.n; i++) {
			if (be->tag_get(repo, tags.v[i], digest,
			    sizeof(digest), NULL) == -1)
				strlcpy(digest, "-", sizeof(digest));
			tbuf_printf(&t, "%s\t%s\n", tags.v[i], digest);
		}
	}
	names_free(&tags);
	if (t.err) {
		free(t.buf);
		return (NULL);
	}
	*lenp = t.len;
	return (t.buf);
}
