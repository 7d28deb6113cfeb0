/*
 * Storage: caches of what the tree holds.  Manifest facts by digest
 * (content never changes); tags resolved, lists and small manifest
 * bodies while the generation they were filled at holds.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <malloc.h>

#include <jansson.h>

#include "regd.h"
#include "store.h"

#define META_MAX		8192
#define META_BYTES		(16 * 1024 * 1024)	/* all of the cache */
#define META_BIG		(256 * 1024)	/* larger: not cached */
#define TRIM_SIZE		(1024 * 1024)	/* give back after such frees */

struct meta_node {
	RB_ENTRY(meta_node)	 entry;
	char			 digest[MAX_DIGEST + 1];
	struct st_meta		 m;
};
RB_HEAD(st_meta_tree, meta_node);

static int	meta_cmp(struct meta_node *, struct meta_node *);
RB_PROTOTYPE(st_meta_tree, meta_node, entry, meta_cmp)
RB_GENERATE(st_meta_tree, meta_node, entry, meta_cmp)

static struct st_meta_tree		 metas = RB_INITIALIZER(&metas);
static int			 nmetas;
static size_t			 metabytes;
static struct meta_node		 metascratch;	/* one too big to keep */

/*
 * Generations: a cache entry filled at generation g is good while what
 * it depends on is still at g.  The hook below bumps only what a change
 * can affect: the repository's own (its tags resolved, its tag list),
 * the catalog's when a repository may appear or go, that of the list
 * of every repository (those with uploads only too, for gc), and
 * store_gen, for what depends on blobs, when something is removed.  A
 * push to one repository leaves the others' caches alone.  Values come
 * from one counter, so none repeats; repositories share a generation
 * when their names hash to the same slot, which only costs a refill.
 */
#define REPOGEN_SLOTS	256

static uint64_t	 tick = 1;
static uint64_t	 repogen[REPOGEN_SLOTS];
static uint64_t	 epoch = 1;		/* every repository's at once */
static uint64_t	 catgen = 1;		/* "/": the catalog */
static uint64_t	 allgen = 1;		/* "//": with uploads too */
static uint64_t	 store_gen = 1;		/* blobs: inline bodies */

/*
 * A shared store ("storage shared", or a backend that is always shared)
 * changes under this process: every cache of what the tree holds is
 * dropped once SHARED_TTL_MS has passed since the last drop, so an entry
 * is never used more than that after it was filled.  The time is read
 * only when a cache is looked at; content by digest (manifest facts)
 * never changes and stays.
 */
#define SHARED_TTL_MS	1000

static void
cache_shared_expire(void)
{
	static struct timespec	 last;
	struct timespec		 now;
	long			 ms;

	if (!store_shared())
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ms = (now.tv_sec - last.tv_sec) * 1000L +
	    (now.tv_nsec - last.tv_nsec) / 1000000L;
	if (ms < SHARED_TTL_MS && last.tv_sec != 0)
		return;
	last = now;
	epoch = store_gen = ++tick;
}

/* The generation of a repository's caches, or of "/" or "//". */
uint64_t
cache_gen(const char *key)
{
	uint64_t	 g;

	cache_shared_expire();

	if (strcmp(key, "/") == 0)
		g = catgen;
	else if (strcmp(key, "//") == 0)
		g = allgen;
	else
		g = repogen[store_hash(STORE_HASH_INIT, key) % REPOGEN_SLOTS];
	return (g > epoch ? g : epoch);
}

static void
cache_changed(const struct st_event *ev, void *arg)
{
	switch (ev->what) {
	case SC_USED:
	case SC_BLOB_ADDED:
		return;
	case SC_BLOB_REMOVED:
		store_gen = ++tick;
		return;
	default:
		break;
	}
	if (ev->repo == NULL) {
		/* fsck moved a link: where is not said. */
		epoch = store_gen = ++tick;
		return;
	}
	repogen[store_hash(STORE_HASH_INIT, ev->repo) % REPOGEN_SLOTS] =
	    ++tick;
	switch (ev->what) {
	case SC_TAGGED:
	case SC_UNTAGGED:
		break;
	case SC_UPLOAD:
		allgen = ++tick;
		break;
	case SC_LINKED:
		catgen = allgen = ++tick;
		break;
	default:
		catgen = allgen = store_gen = ++tick;
		break;
	}
}

void
cache_init(void)
{
	store_hook_add(cache_changed, NULL);
}

#define TAGCACHE_SIZE	256

static struct tagcache	 tagcache[TAGCACHE_SIZE];

/*
 * Small manifests by digest, sent inline in the answer instead of as a
 * descriptor.  An entry is good while store_gen holds: after anything
 * is removed the blob is read again, so a manifest that was deleted is
 * never served from here.
 */
#define BODY_SLOTS	64
static struct body_slot {
	uint64_t	 gen;
	char		 digest[MAX_DIGEST + 1];
	unsigned char	*data;
	size_t		 len;
} bodies[BODY_SLOTS];

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

/* FNV-1a of a string, continuing from h (start with STORE_HASH_INIT). */
uint32_t
store_hash(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h);
}

struct tagcache *
tagcache_slot(const char *repo, const char *tag)
{
	uint32_t	 h;

	h = store_hash(store_hash(STORE_HASH_INIT, repo), ":");
	return (&tagcache[store_hash(h, tag) % TAGCACHE_SIZE]);
}

static int
meta_cmp(struct meta_node *a, struct meta_node *b)
{
	return (strcmp(a->digest, b->digest));
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
struct st_meta *
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
	size_t			 len;
	json_t			*root;

	if (strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	if ((n = RB_FIND(st_meta_tree, &metas, &key)) != NULL)
		return (&n->m);
	if (be->blob_read(digest, MAX_MANIFEST_SIZE, &buf, &len) == -1)
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

const void *
manifest_body(const char *digest, size_t *lenp)
{
	struct body_slot	*b;
	unsigned char		*buf;
	size_t			 len;

	cache_shared_expire();
	b = &bodies[store_hash(STORE_HASH_INIT, digest) % BODY_SLOTS];
	if (b->data == NULL || b->gen != store_gen ||
	    strcmp(b->digest, digest) != 0) {
		if (be->blob_read(digest, MANIFEST_INLINE, &buf, &len) == -1)
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

/*
 * Blobs a repository links, with their sizes: what a blob HEAD or GET
 * found (a link, then the blob's stat) is told again without a system
 * call while store_gen holds.  Links and blobs only ever appear or go,
 * never change, and every removal (an unlink, a repository, a swept
 * blob, a link quarantined by fsck) moves store_gen, so an entry never
 * outlives what it says; in a shared store it lasts SHARED_TTL_MS at
 * most, like the other caches.
 */
#define LINKED_SLOTS	128
static struct linked_slot {
	uint64_t	 gen;
	int		 kind;		/* enum be_link or LINKED_ANY */
	char		 repo[MAX_NAME + 1];
	char		 digest[MAX_DIGEST + 1];
	int64_t		 size;		/* -1: not known yet */
} linked[LINKED_SLOTS];

static struct linked_slot *
linked_slot(const char *repo, int kind, const char *digest)
{
	uint32_t	 h;

	h = store_hash(store_hash(STORE_HASH_INIT, repo),
	    kind == BE_REVISION ? "@m" : "@");
	return (&linked[store_hash(h, digest) % LINKED_SLOTS]);
}

/*
 * Whether repo was seen to link digest at this generation: 1 and the
 * blob's size (-1 when not known), or 0.
 */
int
linked_get(const char *repo, int kind, const char *digest, int64_t *sizep)
{
	struct linked_slot	*l;

	cache_shared_expire();
	l = linked_slot(repo, kind, digest);
	if (l->gen != store_gen || l->kind != kind ||
	    strcmp(l->digest, digest) != 0 ||
	    strcmp(l->repo, repo) != 0)
		return (0);
	*sizep = l->size;
	return (1);
}

/* The generation a lookup made off the main thread must still see. */
uint64_t
linked_gen(void)
{
	cache_shared_expire();
	return (store_gen);
}

/* repo links digest, whose blob has size bytes (-1: not known). */
void
linked_put(const char *repo, int kind, const char *digest, int64_t size)
{
	struct linked_slot	*l;

	cache_shared_expire();
	if (strlen(repo) > MAX_NAME || strlen(digest) > MAX_DIGEST)
		return;
	l = linked_slot(repo, kind, digest);
	l->gen = store_gen;
	l->kind = kind;
	strlcpy(l->repo, repo, sizeof(l->repo));
	strlcpy(l->digest, digest, sizeof(l->digest));
	l->size = size;
}
