/*
 * Storage: quotas.  The bytes of all blobs, counted once and then kept
 * by the change hook; the bytes a repository links, counted once when
 * first asked and then kept by the change hook too (running totals,
 * with their digest sets, for up to TRACK_MAX links over all
 * repositories; beyond that a repository is counted at each ask); and
 * the checks before a blob or manifest is linked or an upload's bytes
 * are taken.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regd.h"
#include "store.h"

#define TRACK_MAX	(256 * 1024)	/* links kept in running totals */

/* A distinct digest a repository links, and whether its blob is there. */
struct qlink {
	RB_ENTRY(qlink)	 entry;
	char		 digest[MAX_DIGEST + 1];
	int64_t		 size;
	int		 present;
};
RB_HEAD(qlinks, qlink);

/* A repository's running total: the sizes of its present blobs. */
struct qrepo {
	RB_ENTRY(qrepo)	 entry;
	char		 name[MAX_NAME + 1];
	struct qlinks	 links;
	int64_t		 bytes;
};
RB_HEAD(qrepos, qrepo);

static int	qlink_cmp(struct qlink *, struct qlink *);
static int	qrepo_cmp(struct qrepo *, struct qrepo *);
RB_PROTOTYPE(qlinks, qlink, entry, qlink_cmp)
RB_GENERATE(qlinks, qlink, entry, qlink_cmp)
RB_PROTOTYPE(qrepos, qrepo, entry, qrepo_cmp)
RB_GENERATE(qrepos, qrepo, entry, qrepo_cmp)

static int64_t		 disk_total = -1;
static uint64_t		 disk_changes;	/* blobs added or removed */
static struct qrepos	 tracked = RB_INITIALIZER(&tracked);
static size_t		 ntracked;	/* qlinks over all repositories */

static int
qlink_cmp(struct qlink *a, struct qlink *b)
{
	return (strcmp(a->digest, b->digest));
}

static int
qrepo_cmp(struct qrepo *a, struct qrepo *b)
{
	return (strcmp(a->name, b->name));
}

static struct qrepo *
qrepo_find(const char *repo)
{
	struct qrepo	 key;

	if (repo == NULL || strlcpy(key.name, repo, sizeof(key.name)) >=
	    sizeof(key.name))
		return (NULL);
	return (RB_FIND(qrepos, &tracked, &key));
}

static struct qlink *
qlink_find(struct qrepo *q, const char *digest)
{
	struct qlink	 key;

	if (digest == NULL || strlcpy(key.digest, digest,
	    sizeof(key.digest)) >= sizeof(key.digest))
		return (NULL);
	return (RB_FIND(qlinks, &q->links, &key));
}

static void
qrepo_forget(struct qrepo *q)
{
	struct qlink	*l, *next;

	RB_FOREACH_SAFE(l, qlinks, &q->links, next) {
		RB_REMOVE(qlinks, &q->links, l);
		free(l);
		ntracked--;
	}
	RB_REMOVE(qrepos, &tracked, q);
	free(q);
}

static void
qrepo_forget_all(void)
{
	struct qrepo	*q, *next;

	RB_FOREACH_SAFE(q, qrepos, &tracked, next)
		qrepo_forget(q);
}

/* A digest joins q's set: 0, or -1 when the bound is reached. */
static int
qlink_add(struct qrepo *q, const char *digest, int64_t size, int present)
{
	struct qlink	*l;

	if (ntracked >= TRACK_MAX || (l = calloc(1, sizeof(*l))) == NULL)
		return (-1);
	strlcpy(l->digest, digest, sizeof(l->digest));
	l->size = size;
	l->present = present;
	RB_INSERT(qlinks, &q->links, l);
	ntracked++;
	if (present)
		q->bytes += size;
	return (0);
}

/* A blob came or went: the totals of the repositories linking it. */
static void
qrepo_blob(const char *digest, int64_t size, int present)
{
	struct qrepo	*q;
	struct qlink	*l;

	RB_FOREACH(q, qrepos, &tracked) {
		if ((l = qlink_find(q, digest)) == NULL ||
		    l->present == present)
			continue;
		if (present && size > 0)
			l->size = size;
		l->present = present;
		q->bytes += present ? l->size : -l->size;
	}
}

/* The distinct-blob rule: a digest counts while either kind links it. */
static void
qrepo_changed(const struct st_event *ev)
{
	struct qrepo	*q;
	struct qlink	*l;
	enum be_link	 other;

	if (ev->what == SC_UNLINKED && ev->repo == NULL) {
		qrepo_forget_all();	/* fsck: links moved aside */
		return;
	}
	if ((q = qrepo_find(ev->repo)) == NULL)
		return;
	switch (ev->what) {
	case SC_LINKED:
		if (qlink_find(q, ev->digest) == NULL &&
		    qlink_add(q, ev->digest, ev->size, 1) == -1)
			qrepo_forget(q);
		break;
	case SC_UNLINKED:
		other = ev->kind == BE_LAYER ? BE_REVISION : BE_LAYER;
		if ((l = qlink_find(q, ev->digest)) == NULL ||
		    be->link_get(ev->repo, other, ev->digest, NULL) == 0)
			break;
		if (l->present)
			q->bytes -= l->size;
		RB_REMOVE(qlinks, &q->links, l);
		free(l);
		ntracked--;
		break;
	case SC_REPO_REMOVED:
		qrepo_forget(q);
		break;
	default:
		break;
	}
}

static void
disk_add(int64_t n)
{
	if (disk_total < 0)
		return;
	disk_total += n;
	if (disk_total < 0)
		disk_total = -1;
}

static void
quota_changed(const struct st_event *ev, void *arg)
{
	if (ev->what == SC_BLOB_ADDED || ev->what == SC_BLOB_REMOVED)
		disk_changes++;
	if (ev->what == SC_BLOB_ADDED) {
		disk_add(ev->size);
		qrepo_blob(ev->digest, ev->size, 1);
	} else if (ev->what == SC_BLOB_REMOVED) {
		disk_add(-ev->size);
		qrepo_blob(ev->digest, 0, 0);
	} else
		qrepo_changed(ev);
}

void
quota_init(void)
{
	store_hook_add(quota_changed, NULL);
}

/* The total is not known any more (fsck moved blobs aside). */
void
quota_forget_disk(void)
{
	disk_total = -1;
	qrepo_forget_all();
}

/* The blob bytes if counted already, else -1: never a walk. */
int64_t
quota_disk_known(void)
{
	return (disk_total);
}

/*
 * A count made in steps (show usage) becomes the total if no blob came
 * or went since it began (quota_disk_changes then).
 */
uint64_t
quota_disk_changes(void)
{
	return (disk_changes);
}

void
quota_disk_counted(int64_t sum, uint64_t since)
{
	if (since == disk_changes)
		disk_total = sum;
}

/*
 * Running totals only see this instance's changes: in a shared store
 * they are counted again when older than SHARED_RECOUNT seconds.
 */
#define SHARED_RECOUNT	30

static void
quota_shared_expire(void)
{
	static time_t	 counted;
	time_t		 now;

	if (!store_shared())
		return;
	now = time(NULL);
	if (counted != 0 && now - counted < SHARED_RECOUNT)
		return;
	if (counted != 0)
		quota_forget_disk();
	counted = now;
}

/*
 * Bytes stored of all blobs, counted once (again when recount is set)
 * and then kept up to date by the change hook.
 */
int64_t
quota_disk_usage(int recount)
{
	struct names	 blobs;
	struct be_stat	 bs;
	int64_t		 sum = 0;
	size_t		 i;

	quota_shared_expire();
	if (disk_total >= 0 && !recount)
		return (disk_total);
	memset(&blobs, 0, sizeof(blobs));
	if (be->blob_walk(names_each, &blobs) == -1) {
		names_free(&blobs);
		return (-1);
	}
	for (i = 0; i < blobs.n; i++)
		if (be->blob_stat(blobs.v[i], &bs) == 0 && bs.size > 0)
			sum += bs.size;
	names_free(&blobs);
	disk_total = sum;
	return (sum);
}

/*
 * Sum of the sizes of the distinct blobs a repository links: its
 * running total, or counted and from then on kept by the hooks.
 */
int64_t
quota_repo_bytes(const char *repo)
{
	struct names	 ns;
	struct be_stat	 bs;
	struct qrepo	*q;
	int64_t		 sum = 0;
	size_t		 i;

	quota_shared_expire();
	if ((q = qrepo_find(repo)) != NULL)
		return (q->bytes);
	memset(&ns, 0, sizeof(ns));
	store_repo_digests(repo, BE_LAYER, &ns);
	store_repo_digests(repo, BE_REVISION, &ns);
	names_uniq(&ns);
	if (valid_name(repo) && ntracked + ns.n <= TRACK_MAX &&
	    (q = calloc(1, sizeof(*q))) != NULL) {
		strlcpy(q->name, repo, sizeof(q->name));
		RB_INIT(&q->links);
		RB_INSERT(qrepos, &tracked, q);
	}
	for (i = 0; i < ns.n; i++) {
		if (be->blob_stat(ns.v[i], &bs) == 0)
			sum += bs.size;
		else
			bs.size = 0;
		if (q != NULL && qlink_add(q, ns.v[i], bs.size,
		    bs.size > 0 || be->blob_stat(ns.v[i], NULL) == 0) == -1) {
			qrepo_forget(q);
			q = NULL;
		}
	}
	names_free(&ns);
	return (sum);
}

void
quota_fmt_bytes(char *buf, size_t len, int64_t n)
{
	const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double		 v = n;
	int		 u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/*
 * Quotas, checked before a blob or manifest of size bytes is linked into
 * repo: 0 if it fits, -1 with a DENIED answer in res if not.
 */
int
quota_check(const char *repo, const char *digest, int64_t size,
    struct st_res *res)
{
	const struct store_conf	*sc = gc_store_conf();
	char		 b1[32];
	int64_t		 used;
	int		 i;

	if (sc->quota <= 0 && sc->nquotas == 0)
		return (0);
	if (store_linked(repo, BE_LAYER, digest) ||
	    store_linked(repo, BE_REVISION, digest))
		return (0);
	if (sc->quota > 0 && be->blob_stat(digest, NULL) == -1 &&
	    (used = quota_disk_usage(0)) >= 0 && used + size > sc->quota) {
		quota_fmt_bytes(b1, sizeof(b1), sc->quota);
		store_err(res, 403, "DENIED", "storage quota of %s exceeded",
		    b1);
		return (-1);
	}
	for (i = 0; i < sc->nquotas; i++) {
		if (fnmatch(sc->quotas[i].pattern, repo, 0) != 0)
			continue;
		used = quota_repo_bytes(repo);
		if (used + size > sc->quotas[i].size) {
			quota_fmt_bytes(b1, sizeof(b1), sc->quotas[i].size);
			store_err(res, 403, "DENIED", "quota of %s for "
			    "repository %.100s exceeded", b1, repo);
			return (-1);
		}
		break;
	}
	return (0);
}

/*
 * Bytes that may still come into repo before a quota is reached, all
 * unfinished uploads holding all bytes and those of repo inrepo; msg
 * gets the refusal for the tightest quota.  INT64_MAX without quotas.
 */
int64_t
quota_room(const char *repo, int64_t all, int64_t inrepo, char *msg,
    size_t len)
{
	const struct store_conf	*sc = gc_store_conf();
	char		 b1[32];
	int64_t		 room = INT64_MAX, used, r;
	int		 i;

	snprintf(msg, len, "quota exceeded");
	if (sc->quota > 0 && (used = quota_disk_usage(0)) >= 0) {
		room = sc->quota - used - all;
		quota_fmt_bytes(b1, sizeof(b1), sc->quota);
		snprintf(msg, len, "storage quota of %s exceeded", b1);
	}
	for (i = 0; i < sc->nquotas; i++) {
		if (fnmatch(sc->quotas[i].pattern, repo, 0) != 0)
			continue;
		used = quota_repo_bytes(repo);
		r = sc->quotas[i].size - used - inrepo;
		if (r < room) {
			room = r;
			quota_fmt_bytes(b1, sizeof(b1), sc->quotas[i].size);
			snprintf(msg, len, "quota of %s for repository %.100s "
			    "exceeded", b1, repo);
		}
		break;
	}
	return (room);
}
