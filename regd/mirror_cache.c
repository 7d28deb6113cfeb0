/*
 * Mirror mode, storage's side: each upstream's cache bounded by its
 * "cache size".
 *
 * Storage keeps an index of the manifests fetched through each upstream:
 * repository, digest, when last pulled (a GET or HEAD of it by tag or
 * digest, answered from the store or fetched), and the blobs it
 * references with the sizes its descriptors give (config, layers,
 * blobs; an index's children are manifests of their own).  An
 * upstream's cached bytes are those of its manifests and of every blob
 * they reference, each counted once, pulled yet or not.
 *
 * Over its size, the least recently pulled manifests are evicted: their
 * tags and revision link go, as a DELETE would, and the garbage
 * collector later removes the blobs nothing references any more (a
 * blob a local image uses stays).  The most recently pulled manifest
 * stays even when alone it is over the size.  A manifest pushed here
 * (allow push) is not in the index and is never evicted.
 *
 * Evictions run from a timer between requests, a few per step (one on
 * S3, where each is a few requests), after a fetch added a manifest and
 * after a reload; a GC run evicts what is due first, so that it removes
 * the blobs at once.  The index is the backend's note "mirrorcache"
 * (store_backend.h), written when it changed at most every MC_SYNC
 * seconds, after evictions and when storage exits, and read when
 * storage starts.  A manifest the index does not know (stored before
 * there was one) is counted when it is pulled again and is known to be
 * the upstream's (mirror_cache_pulled).
 *
 * On a shared store (store_shared: S3, "storage shared") every instance
 * writes the one note, so a write merges: the note is read first and
 * what it holds joins the index (an entry this instance does not have
 * is taken, the later pull time of the two kept), then the union is
 * written.  A manifest evicted or removed leaves a tombstone ("d" line,
 * kept MC_TOMB_KEEP) so that a merge does not bring it back: an entry
 * pulled no later than its tombstone goes.  Two instances that write at
 * once may lose one's changes from the note; each merges again every
 * MC_MERGE seconds and writes when the note lacks something it has, so
 * the note converges, and each counts the cache all instances filled.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event.h>
#include <jansson.h>

#include "regd.h"
#include "store.h"
#include "mirror.h"

#define MC_NOTE		"mirrorcache"
#define MC_NOTE_MAX	(64 * 1024 * 1024)
#define MC_MAGIC	"regd-mirror-cache 1"
#define MC_SYNC		10		/* s: the index written at most */
#define MC_STEP		8		/* evictions per step (fs) */
#define MC_MAXREFS	4096		/* blobs of one manifest */
#define MC_MERGE	60		/* s: a shared note merged at least */
#define MC_TOMB_KEEP	(7LL * 86400 * 1000000)	/* us: tombstones kept */

/* A blob of an upstream's cache, with how many of its manifests use it. */
struct mcref {
	RB_ENTRY(mcref)	 entry;
	char		 digest[MAX_DIGEST + 1];
	int64_t		 size;
	int		 nref;
};
RB_HEAD(mcref_tree, mcref);

struct mcup {
	char			 name[MIR_NAMELEN];
	int64_t			 limit;		/* 0: no bound */
	int64_t			 bytes;
	uint64_t		 evicted;	/* manifests, since start */
	int			 nent;
	struct mcref_tree	 refs;
};

/* A cached manifest; refs[0] is the manifest itself. */
struct mcent {
	RB_ENTRY(mcent)	 entry;
	struct mcup	*up;
	char		 repo[MAX_NAME + 1];
	char		 digest[MAX_DIGEST + 1];
	int64_t		 pulled;	/* microseconds since the epoch */
	struct mcref	**refs;
	size_t		 nrefs;
};
RB_HEAD(mcent_tree, mcent);

/* A manifest evicted or removed, on a shared store (merges). */
struct mctomb {
	RB_ENTRY(mctomb) entry;
	char		 repo[MAX_NAME + 1];
	char		 digest[MAX_DIGEST + 1];
	int64_t		 when;		/* microseconds since the epoch */
};
RB_HEAD(mctomb_tree, mctomb);

static int	 mcref_cmp(struct mcref *, struct mcref *);
static int	 mcent_cmp(struct mcent *, struct mcent *);
static int	 mctomb_cmp(struct mctomb *, struct mctomb *);
RB_PROTOTYPE(mcref_tree, mcref, entry, mcref_cmp)
RB_GENERATE(mcref_tree, mcref, entry, mcref_cmp)
RB_PROTOTYPE(mcent_tree, mcent, entry, mcent_cmp)
RB_GENERATE(mcent_tree, mcent, entry, mcent_cmp)
RB_PROTOTYPE(mctomb_tree, mctomb, entry, mctomb_cmp)
RB_GENERATE(mctomb_tree, mctomb, entry, mctomb_cmp)

static struct mcup		 ups[MAX_UPSTREAMS];
static int			 nups;
static struct mcent_tree	 ents = RB_INITIALIZER(&ents);
static struct mctomb_tree	 tombs = RB_INITIALIZER(&tombs);
static struct event		 ev_step, ev_sync, ev_merge;
static int			 started, dirty, step_set, sync_set;

static void	 mc_schedule(void);

static int
mcref_cmp(struct mcref *a, struct mcref *b)
{
	return (strcmp(a->digest, b->digest));
}

static int
mcent_cmp(struct mcent *a, struct mcent *b)
{
	int	 c;

	if ((c = strcmp(a->repo, b->repo)) != 0)
		return (c);
	return (strcmp(a->digest, b->digest));
}

static int
mctomb_cmp(struct mctomb *a, struct mctomb *b)
{
	int	 c;

	if ((c = strcmp(a->repo, b->repo)) != 0)
		return (c);
	return (strcmp(a->digest, b->digest));
}

static int64_t
now_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static int
upname_ok(const char *name)
{
	return (name[0] != '\0' && strlen(name) < MIR_NAMELEN &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") ==
	    strlen(name));
}

static struct mcup *
up_get(const char *name, int create)
{
	int	 i;

	for (i = 0; i < nups; i++)
		if (strcmp(ups[i].name, name) == 0)
			return (&ups[i]);
	if (!create || nups == MAX_UPSTREAMS || !upname_ok(name))
		return (NULL);
	memset(&ups[nups], 0, sizeof(ups[nups]));
	strlcpy(ups[nups].name, name, sizeof(ups[nups].name));
	RB_INIT(&ups[nups].refs);
	return (&ups[nups++]);
}

static struct mcref *
ref_add(struct mcup *u, const char *digest, int64_t size)
{
	struct mcref	 key, *r;

	strlcpy(key.digest, digest, sizeof(key.digest));
	if ((r = RB_FIND(mcref_tree, &u->refs, &key)) == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return (NULL);
		strlcpy(r->digest, digest, sizeof(r->digest));
		r->size = size;
		RB_INSERT(mcref_tree, &u->refs, r);
		u->bytes += size;
	}
	r->nref++;
	return (r);
}

static void
ref_drop(struct mcup *u, struct mcref *r)
{
	if (--r->nref > 0)
		return;
	u->bytes -= r->size;
	RB_REMOVE(mcref_tree, &u->refs, r);
	free(r);
}

static struct mcent *
ent_find(const char *repo, const char *digest)
{
	struct mcent	 key;

	if (strlcpy(key.repo, repo, sizeof(key.repo)) >= sizeof(key.repo) ||
	    strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	return (RB_FIND(mcent_tree, &ents, &key));
}

static void
ent_del(struct mcent *e)
{
	size_t	 i;

	for (i = 0; i < e->nrefs; i++)
		ref_drop(e->up, e->refs[i]);
	e->up->nent--;
	RB_REMOVE(mcent_tree, &ents, e);
	free(e->refs);
	free(e);
	dirty = 1;
}

static struct mctomb *
tomb_find(const char *repo, const char *digest)
{
	struct mctomb	 key;

	if (strlcpy(key.repo, repo, sizeof(key.repo)) >= sizeof(key.repo) ||
	    strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	return (RB_FIND(mctomb_tree, &tombs, &key));
}

/* repo@digest removed at when (the later of two). */
static void
tomb_set(const char *repo, const char *digest, int64_t when)
{
	struct mctomb	*t;

	if ((t = tomb_find(repo, digest)) == NULL) {
		if (!valid_name(repo) || !store_digest_ok(digest) ||
		    (t = calloc(1, sizeof(*t))) == NULL)
			return;
		strlcpy(t->repo, repo, sizeof(t->repo));
		strlcpy(t->digest, digest, sizeof(t->digest));
		RB_INSERT(mctomb_tree, &tombs, t);
	}
	if (when > t->when)
		t->when = when;
	dirty = 1;
}

/* An entry whose manifest left the store: other instances are told. */
static void
ent_gone(struct mcent *e)
{
	if (store_shared())
		tomb_set(e->repo, e->digest, now_usec());
	ent_del(e);
}

/* A new entry of upstream u with no blobs yet, or NULL. */
static struct mcent *
ent_new(struct mcup *u, const char *repo, const char *digest,
    int64_t pulled)
{
	struct mcent	*e;

	if (!valid_name(repo) || !store_digest_ok(digest) ||
	    ent_find(repo, digest) != NULL ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	e->up = u;
	strlcpy(e->repo, repo, sizeof(e->repo));
	strlcpy(e->digest, digest, sizeof(e->digest));
	e->pulled = pulled;
	RB_INSERT(mcent_tree, &ents, e);
	u->nent++;
	dirty = 1;
	return (e);
}

static int
ent_ref(struct mcent *e, const char *digest, int64_t size)
{
	struct mcref	**v, *r;
	size_t		 i;

	if (!store_digest_ok(digest) || size < 0 || e->nrefs == MC_MAXREFS)
		return (-1);
	for (i = 0; i < e->nrefs; i++)
		if (strcmp(e->refs[i]->digest, digest) == 0)
			return (0);
	if ((v = reallocarray(e->refs, e->nrefs + 1, sizeof(*v))) == NULL)
		return (-1);
	e->refs = v;
	if ((r = ref_add(e->up, digest, size)) == NULL)
		return (-1);
	e->refs[e->nrefs++] = r;
	return (0);
}

/* A descriptor's blob: {"digest": ..., "size": ...}. */
static void
desc_ref(struct mcent *e, json_t *d)
{
	json_t	*dg, *sz;

	if (!json_is_object(d) ||
	    !json_is_string(dg = json_object_get(d, "digest")) ||
	    !json_is_integer(sz = json_object_get(d, "size")))
		return;
	ent_ref(e, json_string_value(dg), json_integer_value(sz));
}

/* The blobs a manifest references, by its descriptors. */
static void
manifest_blobs(struct mcent *e, const unsigned char *buf, size_t len)
{
	json_t		*root, *a, *d;
	json_error_t	 err;
	const char	*keys[] = { "layers", "blobs" };
	size_t		 i, k;

	if ((root = json_loadb((const char *)buf, len, 0, &err)) == NULL)
		return;
	desc_ref(e, json_object_get(root, "config"));
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		a = json_object_get(root, keys[k]);
		json_array_foreach(a, i, d)
			desc_ref(e, d);
	}
	json_decref(root);
}

/* A manifest fetched through upstream and stored in repo. */
void
mirror_cache_add(const char *upstream, const char *repo, const char *digest,
    const unsigned char *buf, size_t len)
{
	struct mcup	*u;
	struct mcent	*e;

	if ((e = ent_find(repo, digest)) != NULL) {
		e->pulled = now_usec();
		dirty = 1;
		return;
	}
	if ((u = up_get(upstream, 1)) == NULL ||
	    (e = ent_new(u, repo, digest, now_usec())) == NULL)
		return;
	if (ent_ref(e, digest, len) == -1) {
		ent_del(e);
		return;
	}
	manifest_blobs(e, buf, len);
	mc_schedule();
}

/*
 * A cached manifest pulled again (by tag or digest).  One the index does
 * not know (stored before there was an index, or the index was lost) is
 * counted now when adopt says it is the upstream's: its mirror takes no
 * pushes, or the upstream has just confirmed its digest.
 */
void
mirror_cache_pulled(const char *upstream, const char *repo,
    const char *digest, int adopt)
{
	struct mcent	*e;
	unsigned char	*buf;
	size_t		 len;

	if ((e = ent_find(repo, digest)) == NULL) {
		if (!adopt || !store_digest_ok(digest) ||
		    be->blob_read(digest, DEF_MAX_MANIFEST, &buf, &len) == -1)
			return;
		mirror_cache_add(upstream, repo, digest, buf, len);
		free(buf);
		if (ent_find(repo, digest) != NULL)
			log_info("mirror: cache of %s: counted %s@%s, stored "
			    "before its index", upstream, repo, digest);
		return;
	}
	e->pulled = now_usec();
	dirty = 1;
	mc_schedule();
}

/* The least recently pulled entry of u, unless it is its only one. */
static struct mcent *
lru(struct mcup *u)
{
	struct mcent	*e, *old = NULL;

	if (u->nent < 2)
		return (NULL);
	RB_FOREACH(e, mcent_tree, &ents)
		if (e->up == u && (old == NULL || e->pulled < old->pulled))
			old = e;
	return (old);
}

/* Its tags and its revision link go; the hook drops the entry. */
static void
evict(struct mcent *e)
{
	struct names	 tags;
	struct mcup	*u = e->up;
	char		 dg[MAX_DIGEST + 1], repo[MAX_NAME + 1];
	char		 digest[MAX_DIGEST + 1];
	size_t		 i;

	strlcpy(repo, e->repo, sizeof(repo));
	strlcpy(digest, e->digest, sizeof(digest));
	memset(&tags, 0, sizeof(tags));
	if (be->tag_walk(repo, names_each, &tags) == -1 && errno != ENOENT)
		log_warn("mirror: cache of %s: tags of %s", u->name, repo);
	for (i = 0; i < tags.n; i++)
		if (be->tag_get(repo, tags.v[i], dg, sizeof(dg), NULL) == 0 &&
		    strcmp(dg, digest) == 0 && reg_tag_del(repo, tags.v[i]) ==
		    -1)
			log_warn("mirror: cache of %s: untag %s:%s", u->name,
			    repo, tags.v[i]);
	names_free(&tags);
	if (reg_link_del(repo, BE_REVISION, digest) == -1 && errno != ENOENT)
		log_warn("mirror: cache of %s: unlink %s@%s", u->name, repo,
		    digest);
	/* Gone from the index however the removal went. */
	if ((e = ent_find(repo, digest)) != NULL)
		ent_gone(e);
	u->evicted++;
	log_info("mirror: cache of %s over %lld bytes: evicted %s@%s",
	    u->name, (long long)u->limit, repo, digest);
}

/* Up to max evictions; 1 when more are due. */
static int
evict_some(int max)
{
	struct mcent	*e;
	int		 i, n = 0, more;

	do {
		more = 0;
		for (i = 0; i < nups; i++) {
			if (ups[i].limit <= 0 || ups[i].bytes <= ups[i].limit ||
			    (e = lru(&ups[i])) == NULL)
				continue;
			if (n++ == max)
				return (1);
			evict(e);
			more = 1;
		}
	} while (more);
	return (0);
}

static void
mc_sync(int fd, short event, void *arg)
{
	sync_set = 0;
	mirror_cache_flush();
}

static void
mc_step(int fd, short event, void *arg)
{
	struct timeval	 tv = { 0, 0 };

	step_set = 0;
	/* Each is a few synchronous requests on a slow medium: one a step. */
	if (evict_some(be->open_slow ? 1 : MC_STEP)) {
		evtimer_add(&ev_step, &tv);
		step_set = 1;
		return;
	}
	if (dirty)
		mirror_cache_flush();
}

static void
mc_schedule(void)
{
	struct timeval	 now = { 0, 0 }, later = { MC_SYNC, 0 };
	int		 i;

	if (!started)
		return;
	for (i = 0; i < nups && !step_set; i++)
		if (ups[i].limit > 0 && ups[i].bytes > ups[i].limit &&
		    ups[i].nent > 1) {
			evtimer_add(&ev_step, &now);
			step_set = 1;
		}
	if (dirty && !sync_set && be->note_put != NULL) {
		evtimer_add(&ev_sync, &later);
		sync_set = 1;
	}
}

/* Before a GC run marks: what is due goes now. */
void
mirror_cache_evict_all(void)
{
	evict_some(-1);
	if (dirty)
		mirror_cache_flush();
}

/* The store changed: manifests gone by other ways leave the index. */
static void
mc_changed(const struct st_event *ev, void *arg)
{
	struct mcent	*e, *next;

	if (ev->what == SC_UNLINKED && ev->kind == BE_REVISION &&
	    ev->repo != NULL && ev->digest != NULL) {
		if ((e = ent_find(ev->repo, ev->digest)) != NULL)
			ent_gone(e);
	} else if (ev->what == SC_REPO_REMOVED && ev->repo != NULL) {
		RB_FOREACH_SAFE(e, mcent_tree, &ents, next)
			if (strcmp(e->repo, ev->repo) == 0)
				ent_gone(e);
	}
}

/* Each upstream's cache size, from the configuration. */
void
mirror_cache_conf(const struct store_conf *sc)
{
	struct mcup	*u;
	char		 name[MIR_NAMELEN];
	int		 i, n;

	for (i = 0; i < nups; i++)
		ups[i].limit = 0;
	n = sc->nmircaches;
	if (n < 0 || n > MAX_UPSTREAMS)
		n = 0;
	for (i = 0; i < n; i++) {
		/* Trust nothing the message says about its own strings. */
		strlcpy(name, sc->mircaches[i].upstream, sizeof(name));
		if ((u = up_get(name, 1)) != NULL)
			u->limit = sc->mircaches[i].size > 0 ?
			    sc->mircaches[i].size : 0;
	}
	mc_schedule();
}

/* An "m" line: an entry, or one merged into the same entry here. */
static int
load_entry(char *line, struct mcent **cur)
{
	char		 up[MIR_NAMELEN + 1], repo[MAX_NAME + 1];
	char		 dg[MAX_DIGEST + 1];
	long long	 v;
	struct mcup	*u;
	struct mcent	*e;
	struct mctomb	*t;

	*cur = NULL;
	if (sscanf(line, "m %64s %255s %135s %lld", up, repo, dg, &v) != 4)
		return (-1);
	if ((e = ent_find(repo, dg)) != NULL) {
		/* Known here: the later pull of the two. */
		if (v > e->pulled)
			e->pulled = v;
		return (0);
	}
	if ((t = tomb_find(repo, dg)) != NULL && t->when >= v)
		return (0);	/* removed since */
	if ((u = up_get(up, 1)) == NULL ||
	    (*cur = ent_new(u, repo, dg, v)) == NULL)
		return (-1);
	return (0);
}

/* One line of the index; -1 when it is malformed. */
static int
load_line(char *line, struct mcent **cur)
{
	char		 repo[MAX_NAME + 1], dg[MAX_DIGEST + 1];
	long long	 v;
	struct mcent	*e;

	if (strncmp(line, "m ", 2) == 0)
		return (load_entry(line, cur));
	if (strncmp(line, "r ", 2) == 0) {
		if (*cur == NULL)
			return (0);	/* of an entry skipped or merged */
		if (sscanf(line, "r %135s %lld", dg, &v) != 2 ||
		    ent_ref(*cur, dg, v) == -1)
			return (-1);
		return (0);
	}
	if (strncmp(line, "d ", 2) == 0) {
		*cur = NULL;
		if (sscanf(line, "d %255s %135s %lld", repo, dg, &v) != 3 ||
		    !valid_name(repo) || !store_digest_ok(dg))
			return (-1);
		tomb_set(repo, dg, v);
		if ((e = ent_find(repo, dg)) != NULL && e->pulled <= v)
			ent_del(e);
		return (0);
	}
	return (-1);
}

/*
 * The note read and merged into the index; its bytes as read in *oldp
 * (to free) when it had any, for mc_write to compare.
 */
static void
mc_read(unsigned char **oldp, size_t *oldlen)
{
	unsigned char	*buf;
	char		*p, *nl;
	struct mcent	*cur = NULL;
	size_t		 len;
	int		 bad = 0;

	*oldp = NULL;
	*oldlen = 0;
	if (be->note_get == NULL)
		return;
	if (be->note_get(MC_NOTE, MC_NOTE_MAX, &buf, &len) == -1) {
		if (errno != ENOENT)
			log_warn("mirror: cannot read the cache index");
		return;
	}
	p = (char *)buf;
	if ((nl = memchr(p, '\n', len)) == NULL ||
	    strncmp(p, MC_MAGIC "\n", nl - p + 1) != 0) {
		log_warnx("mirror: the cache index is not one: ignored");
		free(buf);
		return;
	}
	if ((*oldp = malloc(len)) != NULL) {
		memcpy(*oldp, buf, len);
		*oldlen = len;
	}
	for (p = nl + 1; p < (char *)buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (char *)buf + len - p)) == NULL)
			break;
		*nl = '\0';
		if (load_line(p, &cur) == -1)
			bad++;
	}
	if (bad > 0)
		log_warnx("mirror: cache index: %d malformed lines skipped",
		    bad);
	free(buf);
}

/* The index as text: tombstones first, then entries and their blobs. */
static char *
mc_text(size_t *sizep)
{
	struct mcent	*e;
	struct mctomb	*t, *next;
	char		*text = NULL;
	int64_t		 old = now_usec() - MC_TOMB_KEEP;
	size_t		 i;
	FILE		*fp;

	if ((fp = open_memstream(&text, sizep)) == NULL)
		return (NULL);
	fprintf(fp, "%s\n", MC_MAGIC);
	RB_FOREACH_SAFE(t, mctomb_tree, &tombs, next) {
		if (t->when < old) {
			RB_REMOVE(mctomb_tree, &tombs, t);
			free(t);
			continue;
		}
		fprintf(fp, "d %s %s %lld\n", t->repo, t->digest,
		    (long long)t->when);
	}
	RB_FOREACH(e, mcent_tree, &ents) {
		fprintf(fp, "m %s %s %s %lld\n", e->up->name, e->repo,
		    e->digest, (long long)e->pulled);
		for (i = 0; i < e->nrefs; i++)
			fprintf(fp, "r %s %lld\n", e->refs[i]->digest,
			    (long long)e->refs[i]->size);
	}
	if (fclose(fp) != 0) {
		free(text);
		return (NULL);
	}
	return (text);
}

/* Written through the backend (merged first on a shared store). */
static void
mc_write(void)
{
	unsigned char	*old = NULL;
	char		*text;
	size_t		 size, oldlen = 0;

	if (be == NULL || be->note_put == NULL)
		return;
	if (store_shared())
		mc_read(&old, &oldlen);
	if ((text = mc_text(&size)) == NULL) {
		free(old);
		return;
	}
	if (old != NULL && oldlen == size && memcmp(old, text, size) == 0)
		dirty = 0;	/* the note has it all already */
	else if (be->note_put(MC_NOTE, text, size) == -1)
		log_warn("mirror: cannot write the cache index");
	else
		dirty = 0;
	free(text);
	free(old);
	mc_schedule();
}

/* The index written through the backend, if it changed. */
void
mirror_cache_flush(void)
{
	if (dirty)
		mc_write();
}

/* A shared store: what the other instances wrote, and ours if missing. */
static void
mc_merge(int fd, short event, void *arg)
{
	struct timeval	 tv = { MC_MERGE, 0 };

	mc_write();
	evtimer_add(&ev_merge, &tv);
}

/* After store_init: the index read, the limits taken. */
void
mirror_cache_init(void)
{
	struct timeval	 tv = { MC_MERGE, 0 };
	unsigned char	*old;
	size_t		 oldlen;

	evtimer_set(&ev_step, mc_step, NULL);
	evtimer_set(&ev_sync, mc_sync, NULL);
	evtimer_set(&ev_merge, mc_merge, NULL);
	store_hook_add(mc_changed, NULL);
	mc_read(&old, &oldlen);
	free(old);
	dirty = 0;
	if (store_shared() && be->note_put != NULL)
		evtimer_add(&ev_merge, &tv);
	started = 1;
	mirror_cache_conf(gc_store_conf());
}

/* regctl show mirror: the bytes cached by upstream and its bound. */
int
mirror_cache_figures(const char *upstream, int64_t *bytes, int64_t *limit,
    uint64_t *evicted)
{
	struct mcup	*u;

	if ((u = up_get(upstream, 0)) == NULL)
		return (-1);
	*bytes = u->bytes;
	*limit = u->limit;
	*evicted = u->evicted;
	return (0);
}

/* The upstreams it knows, for listings: NULL after the last. */
const char *
mirror_cache_upstream(int i)
{
	return (i >= 0 && i < nups ? ups[i].name : NULL);
}
