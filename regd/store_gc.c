/*
 * Storage housekeeping: online garbage collection, stale uploads,
 * retention rules, repository removal, usage and fsck.
 *
 * The storage process is single-threaded, so a long job never runs in
 * one go: a GC run is a state machine (repositories, blobs, candidates,
 * sweep) stepped from a 0 timeout event timer, a step stopping after
 * STEP_USEC, and fsck hashes in small batches the same way; requests
 * are served in between.  Only the main thread changes the tree, so a
 * step sees the tree between two requests, never in the middle of one.
 * A blob a request touched during the grace period is never swept,
 * whatever the mark phase saw.  While a run exists, a write barrier
 * (gc_changed) records every digest linked, added, tagged or used, and
 * nothing so recorded is dropped or swept in that run, whatever the
 * grace: what changed under the marks is kept.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
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

#define HASH_BUDGET	(8 * 1024 * 1024)	/* fsck bytes per tick */
#define TOUCH_MAX	(64 * 1024)	/* digests remembered as used */
#define BORN_MAX	(64 * 1024)	/* digests a run's barrier holds */
#define STEP_USEC	2000		/* a GC step stops after this */
#define STEP_CLOCK	16		/* items between two clock reads */
#define QUARANTINE	"quarantine"

/* The GC lease of a shared store: see regd(8), Housekeeping. */
#define LEASE_NAME	"gc"
#define LEASE_TTL	30	/* s: not written for this long, it is free */
#define LEASE_RENEW	5	/* s: its holder writes it this often */
#define LEASE_MARGIN	10	/* s: no removal this close to its expiry */
#define SWEEP_MAX	3	/* s: the longest a sweep phase may last */

/* A maintenance job's hold on the lease; no nonce: none held. */
struct lease_hold {
	char		 nonce[33];
	time_t		 renewed;	/* last written by its holder */
};

/* The lease as read: its holder, as far as it says. */
struct lease_info {
	char		 nonce[64];
	char		 phase[16];
	char		 pid[16];
	char		 host[64];
	time_t		 mtime;		/* its last write */
};

struct dnode {
	RB_ENTRY(dnode)		 entry;
	char			 digest[MAX_DIGEST + 1];
	int64_t			 size;
	time_t			 when;
	time_t			 saved;		/* blob_touch made then */
	int			 nrepos;
	size_t			 lastrepo;
};
RB_HEAD(dtree, dnode);

/* A manifest revision of one repository, for reachability. */
struct rev {
	char		 digest[MAX_DIGEST + 1];
	char		 subject[MAX_DIGEST + 1];
	struct names	 refs;
	int		 reach;
	int		 drop;
};

struct gc_upload {
	struct gc_run	*r;
	const char	*repo;
	time_t		 now;
};

struct cand {
	char		 digest[MAX_DIGEST + 1];
	int64_t		 size;
};

enum gc_state {
	GS_REPOS,			/* list the repositories */
	GS_REPO,			/* uploads, retention, marks of one */
	GS_BLOBS,			/* list the blobs */
	GS_CANDS,			/* the unmarked ones, stat'ed */
	GS_SWEEP,			/* remove the candidates */
	GS_TIDY				/* markers of use of gone blobs */
};

struct gc_run {
	uint32_t	 id;
	int		 ctl;		/* asked by the control socket */
	int		 flags;
	enum gc_state	 state;
	time_t		 start;
	struct timespec	 t0;		/* for the metrics */
	struct names	 repos;
	size_t		 nrepo;		/* GS_REPO: the next repository */
	struct dtree	 marks;		/* referenced by a revision */
	struct names	 blobs;		/* GS_CANDS: every blob */
	size_t		 nblob;
	struct dtree	 born;		/* the write barrier */
	size_t		 nborn;
	int		 bornfull;	/* the barrier lost a digest */
	struct cand	*cands;
	size_t		 ncands;
	size_t		 next;
	FILE		*out;
	char		*outbuf;
	size_t		 outlen;
	int64_t		 nblobs;
	int64_t		 bytes;
	int64_t		 nfailed;	/* removals that failed */
	struct event	 ev;
	/* A shared store (regd(8), Housekeeping): the lease. */
	struct lease_hold lh;		/* this run's */
	time_t		 sweep_since;
	struct names	 drops;		/* repo@digest, left for the sweep */
	int64_t		 nleft;		/* candidates left for a next run */
	struct names	 orphans;	/* GS_TIDY: markers, no blob listed */
	size_t		 norphan;
	int		 tidy_listed;
	int64_t		 nmarkers;	/* markers removed */
};

struct fsck_run {
	uint32_t	 id;
	int		 repair;
	struct names	 blobs;
	size_t		 next;
	int		 fd;
	EVP_MD_CTX	*ctx;
	FILE		*out;
	char		*outbuf;
	size_t		 outlen;
	char		 qdir[64];
	struct dtree	 bad;
	int64_t		 nproblems;
	int64_t		 nmoved;
	int64_t		 nlinks;
	int64_t		 nstale;	/* layer links to removed blobs */
	int64_t		 nremoved;
	int64_t		 nfailed;	/* moves and removals that failed */
	struct lease_hold lh;		/* -r on a shared store */
	struct event	 ev;
};

static int	dnode_cmp(struct dnode *, struct dnode *);
RB_PROTOTYPE(dtree, dnode, entry, dnode_cmp)
RB_GENERATE(dtree, dnode, entry, dnode_cmp)

static struct store_conf	 sc;
static struct dtree		 touched = RB_INITIALIZER(&touched);
static size_t			 ntouched;
static time_t			 touch_lost;	/* a use was not remembered */
static struct gc_run		*gcrun;
static struct fsck_run		*fsckrun;
static struct event		 ev_sched;
static int			 sched_set;
static struct chan		*ctl_chan;	/* to the parent */
static char			 lease_host[64] = "?";	/* in the lease */

static void	 gc_start(uint32_t, int, int);
static void	 gc_touch(const char *);
static void	 gc_arm(void);
static void	 gc_ctl_text(uint32_t, const char *, size_t);
static void	 gc_ctl_end(uint32_t, int);

static int
dnode_cmp(struct dnode *a, struct dnode *b)
{
	return (strcmp(a->digest, b->digest));
}

static struct dnode *
dnode_get(struct dtree *t, const char *digest, int create)
{
	struct dnode	 key, *n;

	if (strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	if ((n = RB_FIND(dtree, t, &key)) != NULL || !create)
		return (n);
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (NULL);
	strlcpy(n->digest, digest, sizeof(n->digest));
	n->lastrepo = (size_t)-1;
	RB_INSERT(dtree, t, n);
	return (n);
}

static void
dtree_free(struct dtree *t)
{
	struct dnode	*n, *next;

	RB_FOREACH_SAFE(n, dtree, t, next) {
		RB_REMOVE(dtree, t, n);
		free(n);
	}
}

/* Settings. */
void
gc_conf(const struct store_conf *c)
{
	struct retain_rule	*rr;
	int			 i, g;

	if (c != &sc)
		memcpy(&sc, c, sizeof(sc));
	/* Trust nothing the message says about its own sizes. */
	if (sc.nquotas < 0 || sc.nquotas > MAX_QUOTAS)
		sc.nquotas = 0;
	if (sc.nretains < 0 || sc.nretains > MAX_RETAINS)
		sc.nretains = 0;
	for (i = 0; i < MAX_QUOTAS; i++)
		sc.quotas[i].pattern[sizeof(sc.quotas[i].pattern) - 1] = '\0';
	for (i = 0; i < MAX_RETAINS; i++) {
		rr = &sc.retains[i];
		rr->pattern[sizeof(rr->pattern) - 1] = '\0';
		if (rr->nglobs < 0 || rr->nglobs > MAX_KEEPGLOBS)
			rr->nglobs = 0;
		for (g = 0; g < MAX_KEEPGLOBS; g++)
			rr->globs[g][sizeof(rr->globs[g]) - 1] = '\0';
	}
	if (sc.gc_grace < 0)
		sc.gc_grace = 0;
	if (sc.upload_timeout <= 0)
		sc.upload_timeout = DEF_UPLOAD_TIMEOUT;
	if (sc.max_uploads <= 0 || sc.max_uploads > MAX_UPLOADS_LIMIT)
		sc.max_uploads = DEF_MAX_UPLOADS;
	if (sc.max_uploads_client <= 0 ||
	    sc.max_uploads_client > MAX_UPLOADS_LIMIT)
		sc.max_uploads_client = DEF_MAX_UPLOADS_CLIENT;
	if ((sc.mode & ~0777) != 0 || (sc.mode & 0700) != 0700)
		sc.mode = DEF_STORAGE_MODE;
	/* New files and directories get "storage mode", 0700 by default. */
	umask(~sc.mode & 0777);
	gc_arm();
	store_upload_arm();
}

const struct store_conf *
gc_store_conf(void)
{
	return (&sc);
}

/* Whether other instances write to the store too ("storage shared"). */
int
store_shared(void)
{
	return ((be->flags & BE_SHARED) != 0 || sc.shared != 0);
}

/*
 * The maintenance lease of a shared store: "regd-gc <nonce> <phase>
 * <pid> <host>", its mtime the time of its last write.  GC (phases
 * mark, sweep, tidy), fsck -r (fsck) and rm (rm) take it; only the
 * holder whose nonce it holds may remove anything, and writers wait
 * while it says "sweep".
 */
static int
lease_write(struct lease_hold *lh, const char *phase, int excl)
{
	char	 buf[160];
	int	 n;

	n = snprintf(buf, sizeof(buf), "regd-gc %s %s %ld %s\n", lh->nonce,
	    phase, (long)getpid(), lease_host);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    be->lease_put(LEASE_NAME, buf, n, excl) == -1)
		return (-1);
	lh->renewed = time(NULL);
	return (0);
}

/* What the lease holds: 1 and li filled, 0 none or expired, -1 error. */
static int
lease_read(struct lease_info *li)
{
	struct be_stat	 bs;
	char		 buf[160];
	ssize_t		 n;

	memset(li, 0, sizeof(*li));
	if (be->lease_get == NULL) {
		errno = ENOTSUP;
		return (-1);
	}
	if ((n = be->lease_get(LEASE_NAME, buf, sizeof(buf) - 1, &bs)) ==
	    -1)
		return (errno == ENOENT ? 0 : -1);
	if (time(NULL) - bs.mtime >= LEASE_TTL)
		return (0);
	buf[n] = '\0';
	li->mtime = bs.mtime;
	/* Held, by something unknown when it is not ours. */
	if (strncmp(buf, "regd-gc ", 8) == 0)
		(void)sscanf(buf + 8, "%63s %15s %15s %63s", li->nonce,
		    li->phase, li->pid, li->host);
	return (1);
}

static int
lease_ours(struct lease_hold *lh)
{
	struct lease_info	 li;

	return (lease_read(&li) == 1 && strcmp(li.nonce, lh->nonce) == 0);
}

/* Who holds the lease, for an operator: into why. */
static void
lease_holder(const struct lease_info *li, const char *refused, char *why,
    size_t len)
{
	struct tm	 tm;
	time_t		 until = li->mtime + LEASE_TTL;
	char		 when[32];
	const char	*what = "gc", *where = "another instance";

	if (strcmp(li->phase, "fsck") == 0)
		what = "fsck -r";
	else if (strcmp(li->phase, "rm") == 0)
		what = "rm";
	if (strcmp(li->host, lease_host) == 0 &&
	    strtol(li->pid, NULL, 10) == (long)getpid())
		where = "this instance";
	gmtime_r(&until, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(why, len, "error: no %s: %s is running on %s (host %s, "
	    "pid %s, phase %s), which holds the maintenance lease until %s "
	    "(renewed while it runs); try again later\n", refused, what,
	    where, li->host[0] != '\0' ? li->host : "?",
	    li->pid[0] != '\0' ? li->pid : "?",
	    li->phase[0] != '\0' ? li->phase : "?", when);
}

/*
 * Take the lease for a maintenance job (phase its first phase, refused
 * its name in a refusal): 0, or -1 with why (a line for the operator).
 */
static int
lease_take(struct lease_hold *lh, const char *phase, const char *refused,
    char *why, size_t len)
{
	struct lease_info	 li;
	unsigned char		 b[16];
	int			 i, held;

	memset(lh, 0, sizeof(*lh));
	if (!store_shared())
		return (0);
	if (be->lease_get == NULL || be->lease_put == NULL ||
	    be->lease_del == NULL) {
		snprintf(why, len, "error: no %s: the %s backend has no "
		    "leases\n", refused, be->name);
		return (-1);
	}
	if ((held = lease_read(&li)) == 1) {
		lease_holder(&li, refused, why, len);
		return (-1);
	}
	arc4random_buf(b, sizeof(b));
	for (i = 0; i < 16; i++)
		snprintf(lh->nonce + 2 * i, 3, "%02x", b[i]);
	/* None, or expired: its holder stopped removing long ago. */
	if ((held == 0 && be->lease_del(LEASE_NAME) == -1) ||
	    lease_write(lh, phase, 1) == -1 || !lease_ours(lh)) {
		if (errno == EEXIST && lease_read(&li) == 1)
			lease_holder(&li, refused, why, len);
		else
			snprintf(why, len, "error: no %s: cannot take the "
			    "maintenance lease: %s\n", refused,
			    strerror(errno));
		lh->nonce[0] = '\0';
		return (-1);
	}
	return (0);
}

/* Write the lease again, with phase: 0, or -1 when it is not ours. */
static int
lease_renew(struct lease_hold *lh, const char *phase)
{
	if (!store_shared() || lh->nonce[0] == '\0')
		return (0);
	if (!lease_ours(lh) || lease_write(lh, phase, 0) == -1)
		return (-1);
	return (0);
}

/* Renewed when due (LEASE_RENEW): 0, or -1 when it is lost. */
static int
lease_keep(struct lease_hold *lh, const char *phase)
{
	if (lh->nonce[0] == '\0' || time(NULL) - lh->renewed < LEASE_RENEW)
		return (0);
	return (lease_renew(lh, phase));
}

/* Whether the holder may still remove: not near its lease's expiry. */
static int
lease_fresh(struct lease_hold *lh)
{
	return (lh->nonce[0] == '\0' ||
	    time(NULL) - lh->renewed < LEASE_TTL - LEASE_MARGIN);
}

/*
 * Release the lease, before the job's operator is answered: the command
 * returns once another instance may take it.  A lease that cannot be
 * removed expires (LEASE_TTL).
 */
static void
lease_drop(struct lease_hold *lh)
{
	if (store_shared() && lh->nonce[0] != '\0' && lease_ours(lh) &&
	    be->lease_del(LEASE_NAME) == -1)
		log_warn("cannot remove the maintenance lease (it expires "
		    "in %d s)", LEASE_TTL);
	lh->nonce[0] = '\0';
}

/* Take the lease for run r: 0, or -1 with why written to r->out. */
static int
gc_lease_take(struct gc_run *r)
{
	char	 why[512];

	if (lease_take(&r->lh, "mark", "gc", why, sizeof(why)) == -1) {
		fputs(why, r->out);
		return (-1);
	}
	return (0);
}

/* Write the lease again, with phase: 0, or -1 when it is not ours. */
static int
gc_lease_renew(struct gc_run *r, const char *phase)
{
	if (lease_renew(&r->lh, phase) == -1) {
		fprintf(r->out, "error: lost the gc lease, nothing more "
		    "removed\n");
		log_warnx("gc: lost the lease, stopped");
		return (-1);
	}
	return (0);
}

/*
 * One look at the lease: 1 while another instance's GC sweeps, 0 when
 * a writer may go on, -1 when the lease cannot be read.
 */
int
gc_shared_sweeping(void)
{
	struct lease_info	 li;
	int			 held;

	/* Without leases no instance collects garbage: nothing to wait. */
	if (!store_shared() || be->lease_get == NULL)
		return (0);
	if ((held = lease_read(&li)) == -1)
		return (-1);
	if (held == 0 || strcmp(li.phase, "sweep") != 0)
		return (0);
	/* This process's own sweep: its write barrier covers it. */
	if (gcrun != NULL && strcmp(li.nonce, gcrun->lh.nonce) == 0)
		return (0);
	return (1);
}

/* How long a writer waits for another instance's sweep, in seconds. */
int
gc_shared_patience(void)
{
	return (SWEEP_MAX + LEASE_MARGIN);
}

/*
 * A writer of a shared store, about to answer for what it linked: wait
 * (blocking: storage parks its requests instead, manifest_commit)
 * while another instance's GC is in its sweep phase, so that what the
 * writer checks next (its blobs are there) is seen after that sweep's
 * removals.  0, or -1 when the sweep did not end in time.
 */
int
gc_shared_settle(void)
{
	struct timespec	 ts = { 0, SETTLE_POLL_MS * 1000000L };
	time_t		 start = time(NULL);
	int		 rv;

	while ((rv = gc_shared_sweeping()) == 1) {
		if (time(NULL) - start > gc_shared_patience()) {
			errno = EBUSY;
			return (-1);
		}
		nanosleep(&ts, NULL);
	}
	return (rv);
}

/* (Re)start the schedule timer. */
static void
gc_arm(void)
{
	struct timeval	 tv;

	if (sched_set) {
		evtimer_del(&ev_sched);
		sched_set = 0;
	}
	if (sc.gc_schedule > 0) {
		tv.tv_sec = sc.gc_schedule;
		tv.tv_usec = 0;
		evtimer_add(&ev_sched, &tv);
		sched_set = 1;
	}
}

static void
gc_sched(int fd, short event, void *arg)
{
	sched_set = 0;
	if (gcrun == NULL)
		gc_start(0, 0, sc.gc_untagged ? GCF_UNTAGGED : 0);
	gc_arm();
}

/*
 * The write barrier of the run in progress: a digest linked, added,
 * tagged or used is kept by this run.  A full barrier ends the run
 * without sweeping (gc_step).
 */
static void
gc_born(struct gc_run *r, const char *digest)
{
	if (digest == NULL || r->bornfull ||
	    dnode_get(&r->born, digest, 0) != NULL)
		return;
	if (r->nborn >= BORN_MAX || dnode_get(&r->born, digest, 1) == NULL) {
		r->bornfull = 1;
		return;
	}
	r->nborn++;
}

static int
gc_is_born(struct gc_run *r, const char *digest)
{
	return (r->bornfull || dnode_get(&r->born, digest, 0) != NULL);
}

/* What changed in the tree: uses, for the grace; the write barrier. */
static void
gc_changed(const struct st_event *ev, void *arg)
{
	switch (ev->what) {
	case SC_USED:
		gc_touch(ev->digest);
		/* FALLTHROUGH */
	case SC_BLOB_ADDED:
	case SC_LINKED:
	case SC_TAGGED:
		if (gcrun != NULL)
			gc_born(gcrun, ev->digest);
		break;
	default:
		break;
	}
}

void
gc_init(struct chan *parent)
{
	char	 host[256];

	ctl_chan = parent;
	/* One word in the lease, so an operator knows where it runs. */
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, " \t\n")] = '\0';
		if (host[0] != '\0')
			strlcpy(lease_host, host, sizeof(lease_host));
	}
	store_hook_add(gc_changed, NULL);
	evtimer_set(&ev_sched, gc_sched, NULL);
	gc_conf(&env->conf->store);
}

/* Answers to the control socket, in chunks of whole lines. */
static void
gc_ctl_text(uint32_t id, const char *text, size_t len)
{
	size_t	 off = 0, n;
	char	*nl;

	while (ctl_chan != NULL && text != NULL && off < len) {
		n = len - off;
		if (n > CTL_CHUNK) {
			n = CTL_CHUNK;
			nl = memrchr(text + off, '\n', n);
			if (nl != NULL)
				n = nl - (text + off) + 1;
		}
		if (chan_send(ctl_chan, ST_CTL_RES, id, -1, text + off, n) ==
		    -1)
			break;
		off += n;
	}
}

static void
gc_ctl_end(uint32_t id, int status)
{
	int32_t	 v = status;

	if (ctl_chan != NULL)
		chan_send(ctl_chan, ST_CTL_END, id, -1, &v, sizeof(v));
}

/*
 * A request used this blob or manifest: it may be about to be
 * referenced, so it stays for the grace period whatever GC finds.
 */
static void
gc_touch(const char *digest)
{
	struct dnode	*n, *next;
	time_t		 now = time(NULL);

	if (ntouched >= TOUCH_MAX) {
		RB_FOREACH_SAFE(n, dtree, &touched, next)
			if (now - n->when >= sc.gc_grace) {
				RB_REMOVE(dtree, &touched, n);
				free(n);
				ntouched--;
			}
		if (ntouched >= TOUCH_MAX) {
			touch_lost = now;
			return;
		}
	}
	if ((n = dnode_get(&touched, digest, 0)) == NULL) {
		if ((n = dnode_get(&touched, digest, 1)) == NULL)
			return;
		ntouched++;
	}
	n->when = now;
}

/*
 * Shared store: whether a use of digest should be written to the store
 * (be->blob_touch) for the other instances' GC; at most once in half
 * the grace per digest, so a busy blob costs a write now and then.
 */
int
gc_touch_due(const char *digest)
{
	struct dnode	*n;
	time_t		 now = time(NULL);

	if ((n = dnode_get(&touched, digest, 0)) == NULL)
		return (1);
	if (n->saved != 0 && now - n->saved < sc.gc_grace / 2)
		return (0);
	n->saved = now;
	return (1);
}

/*
 * Shared store: the last use of a blob by any instance, its mtime or a
 * later touch (blob_touched) another instance made.
 */
static time_t
blob_used(const char *digest, time_t mtime)
{
	struct be_stat	 bs;

	if (store_shared() && be->blob_touched != NULL &&
	    be->blob_touched(digest, &bs) == 0 && bs.mtime > mtime)
		return (bs.mtime);
	return (mtime);
}

static int
recently_touched(const char *digest, time_t now)
{
	struct dnode	*n;

	/* Too busy to remember every use: everything counts as used. */
	if (touch_lost != 0 && now - touch_lost < sc.gc_grace)
		return (1);

	if ((n = dnode_get(&touched, digest, 0)) == NULL)
		return (0);
	return (now - n->when < sc.gc_grace);
}

/* Walking the tree. */
static int
repo_tag_names(const char *repo, struct names *sv)
{
	return (be->tag_walk(repo, names_each, sv));
}

static int
tag_current(const char *repo, const char *tag, char *digest, size_t len,
    time_t *mtime)
{
	struct be_stat	 bs;

	if (be->tag_get(repo, tag, digest, len, &bs) == -1)
		return (-1);
	if (mtime != NULL)
		*mtime = bs.mtime;
	return (0);
}

static int64_t
blob_size(const char *digest, time_t *mtime)
{
	struct be_stat	 bs;

	if (be->blob_stat(digest, &bs) == -1)
		return (-1);
	if (mtime != NULL)
		*mtime = bs.mtime;
	return (bs.size);
}

/*
 * What a stored manifest references: config, layers, index children
 * (and schema 1 fsLayers), plus its subject.  0 when that is known (a
 * manifest whose blob is gone references nothing, as for Distribution),
 * -1 with why set when the manifest cannot be read or parsed: then no
 * blob may be swept, since it might reference any of them.
 */
static int
gc_manifest_refs(const char *digest, struct names *refs, char *subject,
    size_t slen, const char **why)
{
	unsigned char	*buf = NULL;
	size_t		 len;
	int		 rv;

	if (subject != NULL)
		subject[0] = '\0';
	*why = NULL;
	if (be->blob_read(digest, MAX_MANIFEST_SIZE, &buf, &len) == -1) {
		if (errno == ENOENT)
			return (0);
		*why = errno == EFBIG ? "too large" : strerror(errno);
		return (-1);
	}
	if ((rv = manifest_refs_all(buf, len, refs, subject, slen)) == -1)
		*why = "not a JSON manifest";
	free(buf);
	return (rv);
}

/* Remove a link; failures are logged and written to out. */
static int
rm_link_dir(FILE *out, const char *repo, enum be_link kind,
    const char *digest)
{
	if (reg_link_del(repo, kind, digest) == -1) {
		log_warn("cannot remove the link %s@%s", repo, digest);
		fprintf(out, "error: cannot remove the link %s@%s: %s\n", repo,
		    digest, strerror(errno));
		return (-1);
	}
	return (0);
}

/* Stale uploads of a repository: by their data's mtime. */
static int
gc_upload_one(void *arg, const char *uuid, const struct be_stat *bs)
{
	struct gc_upload	*gu = arg;
	struct gc_run		*r = gu->r;

	if (gu->now - bs->mtime < sc.upload_maxage)
		return (0);
	if (!(r->flags & GCF_DRYRUN) &&
	    store_upload_purge(gu->repo, uuid) == -1) {
		/* Being written to: not stale. */
		if (errno == EBUSY)
			return (0);
		fprintf(r->out, "error: cannot remove upload %s %s: %s\n",
		    gu->repo, uuid, strerror(errno));
		r->nfailed++;
		return (0);
	}
	fprintf(r->out, "upload %s %s %lld\n", gu->repo, uuid,
	    (long long)bs->size);
	return (0);
}

static void
gc_uploads(struct gc_run *r, const char *repo, time_t now)
{
	struct gc_upload	 gu;

	if (sc.upload_maxage <= 0)
		return;
	gu.r = r;
	gu.repo = repo;
	gu.now = now;
	be->upload_walk(repo, gc_upload_one, &gu);
}

static const struct retain_rule *
retain_rule_for(const char *repo)
{
	int	 i;

	for (i = 0; i < sc.nretains; i++)
		if (fnmatch(sc.retains[i].pattern, repo, 0) == 0)
			return (&sc.retains[i]);
	return (NULL);
}

struct tagtime {
	char	*tag;
	time_t	 mtime;
};

static int
tagtime_cmp(const void *a, const void *b)
{
	const struct tagtime	*x = a, *y = b;

	if (x->mtime != y->mtime)
		return (x->mtime > y->mtime ? -1 : 1);
	return (strcmp(x->tag, y->tag));
}

/*
 * Retention: a tag goes when it matches no "keep tags matching" glob,
 * is not among the newest keep_last, and is older than older_than; a
 * rule that gives neither a count nor an age deletes nothing.  The
 * digests of deleted tags are added to orphans.
 */
static void
gc_retain(struct gc_run *r, const char *repo, struct names *dropped,
    struct names *orphans, time_t now)
{
	const struct retain_rule	*rr;
	struct names			 tags;
	struct tagtime			*tt = NULL;
	char				 dg[MAX_DIGEST + 1];
	size_t				 i, n = 0;
	time_t				 mtime;
	int				 g, keep;

	if ((rr = retain_rule_for(repo)) == NULL ||
	    (rr->keep_last < 0 && rr->older_than < 0))
		return;
	memset(&tags, 0, sizeof(tags));
	if (repo_tag_names(repo, &tags) == -1 || tags.n == 0)
		goto done;
	if ((tt = calloc(tags.n, sizeof(*tt))) == NULL)
		goto done;
	for (i = 0; i < tags.n; i++) {
		if (tag_current(repo, tags.v[i], dg, sizeof(dg),
		    &tt[n].mtime) == -1)
			continue;
		tt[n++].tag = tags.v[i];
	}
	qsort(tt, n, sizeof(*tt), tagtime_cmp);
	for (i = 0; i < n; i++) {
		keep = 0;
		for (g = 0; g < rr->nglobs && g < MAX_KEEPGLOBS; g++)
			if (fnmatch(rr->globs[g], tt[i].tag, 0) == 0)
				keep = 1;
		if (rr->keep_last >= 0 && i < (size_t)rr->keep_last)
			keep = 1;
		if (rr->older_than >= 0 && now - tt[i].mtime <= rr->older_than)
			keep = 1;
		if (keep)
			continue;
		/* Shared store: pushed again meanwhile by another instance. */
		if (tag_current(repo, tt[i].tag, dg, sizeof(dg), &mtime) ==
		    -1 || (store_shared() && mtime != tt[i].mtime))
			continue;
		names_add(orphans, dg);
		names_add(dropped, tt[i].tag);
		fprintf(r->out, "tag %s:%s\n", repo, tt[i].tag);
		if (r->flags & GCF_DRYRUN)
			continue;
		if (reg_tag_del(repo, tt[i].tag) == -1)
			log_warn("%s: %s: tag %s", __func__, repo, tt[i].tag);
	}
done:
	free(tt);
	names_free(&tags);
}

static int
rev_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct rev *)a)->digest,
	    ((const struct rev *)b)->digest));
}

/* revs is sorted by digest. */
static struct rev *
rev_find(struct rev *revs, size_t n, const char *digest)
{
	struct rev	 key;

	if (strlcpy(key.digest, digest, sizeof(key.digest)) >=
	    sizeof(key.digest))
		return (NULL);
	return (bsearch(&key, revs, n, sizeof(*revs), rev_cmp));
}

/*
 * In a shared store a manifest is unlinked only in the sweep phase,
 * when writers wait for it (gc_shared_settle): 1 when it was left for
 * then.
 */
static int
gc_drop_later(struct gc_run *r, const char *repo, const char *digest)
{
	char	 rd[MAX_NAME + MAX_DIGEST + 2];

	if (!store_shared() || (r->flags & GCF_DRYRUN))
		return (0);
	snprintf(rd, sizeof(rd), "%s@%s", repo, digest);
	if (names_add(&r->drops, rd) == -1)
		r->nfailed++;	/* kept: a failure, not a loss */
	return (1);
}

/*
 * The manifests left for the sweep phase, each unlinked only if no tag
 * points at it now and its link was not written again since the run
 * began (a push of the same manifest by another instance).
 */
static void
gc_drops(struct gc_run *r)
{
	struct names	 tags;
	struct be_stat	 bs;
	char		 rd[MAX_NAME + MAX_DIGEST + 2], dg[MAX_DIGEST + 1];
	char		*at;
	size_t		 i, j;
	int		 tagged;

	for (i = 0; i < r->drops.n; i++) {
		strlcpy(rd, r->drops.v[i], sizeof(rd));
		if ((at = strchr(rd, '@')) == NULL)
			continue;
		*at++ = '\0';
		memset(&tags, 0, sizeof(tags));
		tagged = be->tag_walk(rd, names_each, &tags) == -1;
		for (j = 0; j < tags.n && !tagged; j++)
			if (tag_current(rd, tags.v[j], dg, sizeof(dg),
			    NULL) == 0 && strcmp(dg, at) == 0)
				tagged = 1;
		names_free(&tags);
		if (tagged || be->link_get(rd, BE_REVISION, at, &bs) == -1 ||
		    bs.mtime >= r->start)
			continue;
		fprintf(r->out, "manifest %s@%s\n", rd, at);
		if (rm_link_dir(r->out, rd, BE_REVISION, at) == -1)
			r->nfailed++;
	}
}

/*
 * Shared store, sweep phase: what other instances linked since the
 * mark phase read the tree is marked too.  Every manifest linked now
 * and not marked yet is read (the repositories listed afresh, never
 * from a cache); -1 when one cannot be, and then nothing is swept.
 */
static int
gc_rescan(struct gc_run *r)
{
	struct names	 repos, digests, refs;
	const char	*why;
	size_t		 i, j, k;
	int		 rc = 0;

	memset(&repos, 0, sizeof(repos));
	if (be->repo_walk(0, names_each, &repos) == -1) {
		fprintf(r->out, "error: cannot list repositories again\n");
		return (-1);
	}
	for (i = 0; i < repos.n && rc == 0; i++) {
		memset(&digests, 0, sizeof(digests));
		if (store_repo_digests(repos.v[i], BE_REVISION,
		    &digests) == -1)
			rc = -1;
		for (j = 0; j < digests.n && rc == 0; j++) {
			if (dnode_get(&r->marks, digests.v[j], 0) != NULL)
				continue;
			memset(&refs, 0, sizeof(refs));
			if (gc_manifest_refs(digests.v[j], &refs, NULL, 0,
			    &why) == -1) {
				fprintf(r->out, "error: manifest %s@%s: %s\n",
				    repos.v[i], digests.v[j], why);
				rc = -1;
			}
			dnode_get(&r->marks, digests.v[j], 1);
			for (k = 0; k < refs.n; k++)
				dnode_get(&r->marks, refs.v[k], 1);
			names_free(&refs);
		}
		names_free(&digests);
	}
	names_free(&repos);
	return (rc);
}

/*
 * Shared store: the sweep phase begins.  The lease says "sweep" before
 * anything is read again, so a writer that linked after the reading
 * below waits for the removals and then sees them.
 */
static int
gc_sweep_begin(struct gc_run *r)
{
	if (!store_shared() || (r->flags & GCF_DRYRUN))
		return (0);
	/* Nothing to remove: no sweep phase, nobody waits. */
	if (r->ncands == 0 && r->drops.n == 0)
		return (0);
	if (gc_lease_renew(r, "sweep") == -1)
		return (-1);
	r->sweep_since = time(NULL);
	gc_drops(r);
	if (gc_rescan(r) == -1) {
		fprintf(r->out, "error: marking failed, no blob removed\n");
		return (-1);
	}
	return (0);
}

/*
 * Shared store: whether this run may still remove.  Not when its lease
 * is near expiry (another instance could take it) nor after SWEEP_MAX
 * (writers wait that long); what is left goes to a next run.
 */
static int
gc_sweep_open(struct gc_run *r)
{
	time_t	 now = time(NULL);

	if (!store_shared())
		return (1);
	return (lease_fresh(&r->lh) && now - r->sweep_since < SWEEP_MAX);
}

/*
 * Mark what the tags of repo reach (those dropped by retention aside),
 * then the children and referrers of what is reached, until nothing
 * more is.
 */
static void
gc_reach(const char *repo, struct rev *revs, size_t n,
    const struct names *tags, const struct names *dropped)
{
	struct rev	*rv;
	char		 dg[MAX_DIGEST + 1];
	size_t		 i, j;
	int		 changed;

	for (i = 0; i < tags->n; i++) {
		if (names_has(dropped, tags->v[i]) ||
		    tag_current(repo, tags->v[i], dg, sizeof(dg),
		    NULL) == -1)
			continue;
		if ((rv = rev_find(revs, n, dg)) != NULL)
			rv->reach = 1;
	}
	/* Index children and referrers of what is reachable. */
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (revs[i].reach) {
				for (j = 0; j < revs[i].refs.n; j++) {
					rv = rev_find(revs, n,
					    revs[i].refs.v[j]);
					if (rv != NULL && !rv->reach) {
						rv->reach = 1;
						changed = 1;
					}
				}
			} else if (revs[i].subject[0] != '\0' &&
			    (rv = rev_find(revs, n,
			    revs[i].subject)) != NULL && rv->reach) {
				revs[i].reach = 1;
				changed = 1;
			}
		}
	} while (changed);
}

/* Remove the manifests nothing reaches: orphans, or untagged ones. */
static void
gc_drop_unreached(struct gc_run *r, const char *repo, struct rev *revs,
    size_t n, const struct names *orphans, time_t now)
{
	struct be_stat	 bs;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (revs[i].reach)
			continue;
		if (gc_is_born(r, revs[i].digest))
			continue;
		if (!names_has(orphans, revs[i].digest)) {
			if (!(r->flags & GCF_UNTAGGED) ||
			    recently_touched(revs[i].digest, now))
				continue;
			if (be->link_get(repo, BE_REVISION,
			    revs[i].digest, &bs) == -1 ||
			    now - bs.mtime < sc.gc_grace)
				continue;
		}
		revs[i].drop = 1;
		if (gc_drop_later(r, repo, revs[i].digest))
			continue;
		fprintf(r->out, "manifest %s@%s\n", repo,
		    revs[i].digest);
		if (!(r->flags & GCF_DRYRUN) && rm_link_dir(r->out,
		    repo, BE_REVISION, revs[i].digest) == -1)
			r->nfailed++;
	}
}

/*
 * One repository: retention, then untagged manifests, then mark what
 * the remaining revisions reference.
 */
static int
gc_repo(struct gc_run *r, const char *repo, struct dtree *marks,
    time_t now)
{
	struct names	 digests, dropped, orphans, tags;
	struct rev	*revs = NULL;
	const char	*why;
	size_t		 i, j, n = 0;
	int		 collect, rc = 0;

	memset(&digests, 0, sizeof(digests));
	memset(&dropped, 0, sizeof(dropped));
	memset(&orphans, 0, sizeof(orphans));
	memset(&tags, 0, sizeof(tags));

	gc_uploads(r, repo, now);
	gc_retain(r, repo, &dropped, &orphans, now);
	if (store_repo_digests(repo, BE_REVISION, &digests) == -1) {
		fprintf(r->out, "error: cannot list the manifests of %s\n",
		    repo);
		rc = -1;
		goto done;
	}
	if (digests.n == 0)
		goto done;
	if ((revs = calloc(digests.n, sizeof(*revs))) == NULL) {
		fprintf(r->out, "error: out of memory\n");
		rc = -1;
		goto done;
	}
	n = digests.n;
	for (i = 0; i < n; i++) {
		strlcpy(revs[i].digest, digests.v[i],
		    sizeof(revs[i].digest));
		if (gc_manifest_refs(revs[i].digest, &revs[i].refs,
		    revs[i].subject, sizeof(revs[i].subject), &why) == -1) {
			fprintf(r->out, "error: manifest %s@%s: %s\n", repo,
			    revs[i].digest, why);
			rc = -1;
			goto done;
		}
	}
	qsort(revs, n, sizeof(*revs), rev_cmp);

	collect = (r->flags & GCF_UNTAGGED) || orphans.n > 0;
	if (collect) {
		repo_tag_names(repo, &tags);
		gc_reach(repo, revs, n, &tags, &dropped);
		gc_drop_unreached(r, repo, revs, n, &orphans, now);
	}

	for (i = 0; i < n; i++) {
		if (revs[i].drop)
			continue;
		dnode_get(marks, revs[i].digest, 1);
		for (j = 0; j < revs[i].refs.n; j++)
			dnode_get(marks, revs[i].refs.v[j], 1);
	}
done:
	if (revs != NULL)
		for (i = 0; i < n; i++)
			names_free(&revs[i].refs);
	free(revs);
	names_free(&digests);
	names_free(&dropped);
	names_free(&orphans);
	names_free(&tags);
	return (rc);
}

/* Every blob on disk, as digests. */
static int
all_blobs(struct names *sv)
{
	if (be->blob_walk(names_each, sv) == -1)
		return (-1);
	names_sort(sv);
	return (0);
}

/* Whether the step begun at t0 has had its time; the clock is read rarely. */
static int
gc_step_over(const struct timespec *t0, size_t n)
{
	struct timespec	 now;
	long		 us;

	if (n == 0 || n % STEP_CLOCK != 0)
		return (0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - t0->tv_sec) * 1000000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000;
	return (us >= STEP_USEC);
}

/* GS_CANDS: whether blob i is a candidate, and if so it is added. */
static void
gc_cand(struct gc_run *r, const char *digest, time_t now)
{
	struct cand	*c;
	time_t		 mtime;
	int64_t		 size;

	if (dnode_get(&r->marks, digest, 0) != NULL || gc_is_born(r, digest))
		return;
	if ((size = blob_size(digest, &mtime)) == -1) {
		/* Gone meanwhile is fine; unreadable is a failure. */
		if (errno == ENOENT)
			return;
		fprintf(r->out, "error: cannot read blob %s: %s\n", digest,
		    strerror(errno));
		log_warn("gc: blob %s", digest);
		r->nfailed++;
		return;
	}
	if (now - mtime < sc.gc_grace || recently_touched(digest, now) ||
	    now - blob_used(digest, mtime) < sc.gc_grace)
		return;
	c = &r->cands[r->ncands++];
	strlcpy(c->digest, digest, sizeof(c->digest));
	c->size = size;
}

/*
 * One step of marking: 0 go on, 1 marking is over (GS_SWEEP), -1 it
 * failed (why is in r->out).  Each repository is one item; the lists
 * of repositories and blobs are read in one call each.
 */
static int
gc_mark_step(struct gc_run *r, const struct timespec *t0)
{
	size_t	 n;

	switch (r->state) {
	case GS_REPOS:
		if (store_all_repos(&r->repos, 1) == -1) {
			fprintf(r->out, "error: cannot list repositories\n");
			return (-1);
		}
		r->state = GS_REPO;
		return (0);
	case GS_REPO:
		for (n = 1; r->nrepo < r->repos.n; n++) {
			if (gc_repo(r, r->repos.v[r->nrepo++], &r->marks,
			    r->start) == -1) {
				fprintf(r->out, "error: marking failed, no "
				    "blob removed\n");
				return (-1);
			}
			if (gc_step_over(t0, n * STEP_CLOCK))
				return (0);
		}
		r->state = GS_BLOBS;
		return (0);
	case GS_BLOBS:
		if (all_blobs(&r->blobs) == -1) {
			fprintf(r->out, "error: cannot list blobs\n");
			return (-1);
		}
		if (r->blobs.n > 0 && (r->cands = calloc(r->blobs.n,
		    sizeof(*r->cands))) == NULL) {
			fprintf(r->out, "error: out of memory\n");
			return (-1);
		}
		r->state = GS_CANDS;
		return (0);
	case GS_CANDS:
		for (n = 1; r->nblob < r->blobs.n; n++) {
			gc_cand(r, r->blobs.v[r->nblob++], r->start);
			if (gc_step_over(t0, n))
				return (0);
		}
		if (!store_shared())
			names_free(&r->blobs);
		if (gc_sweep_begin(r) == -1)
			return (-1);
		if (!store_shared())
			dtree_free(&r->marks);
		r->state = GS_SWEEP;
		return (1);
	case GS_SWEEP:
	case GS_TIDY:
		break;
	}
	return (1);
}

static void
gc_finish(struct gc_run *r, int status)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	store_stats.gc_runs++;
	store_stats.gc_last_usec = (now.tv_sec - r->t0.tv_sec) * 1000000 +
	    (now.tv_nsec - r->t0.tv_nsec) / 1000;
	if (!(r->flags & GCF_DRYRUN)) {
		store_stats.gc_swept_blobs += r->nblobs;
		store_stats.gc_swept_bytes += r->bytes;
	}
	fprintf(r->out, "%s%lld blobs, %lld bytes%s\n",
	    (r->flags & GCF_DRYRUN) ? "dry run: " : "removed ",
	    (long long)r->nblobs, (long long)r->bytes,
	    (r->flags & GCF_DRYRUN) ? " would be freed" : " freed");
	if (r->nmarkers > 0)
		fprintf(r->out, "%s%lld markers of use of removed blobs%s\n",
		    (r->flags & GCF_DRYRUN) ? "dry run: " : "removed ",
		    (long long)r->nmarkers,
		    (r->flags & GCF_DRYRUN) ? " would be removed" : "");
	if (r->nleft > 0)
		fprintf(r->out, "%lld candidates left for the next run (the "
		    "sweep phase is bounded)\n", (long long)r->nleft);
	lease_drop(&r->lh);
	names_free(&r->drops);
	names_free(&r->orphans);
	if (r->nfailed > 0) {
		fprintf(r->out, "error: %lld removals failed\n",
		    (long long)r->nfailed);
		log_warnx("gc: %lld removals failed", (long long)r->nfailed);
		status = 1;
	}
	fclose(r->out);
	if (r->ctl) {
		gc_ctl_text(r->id, r->outbuf, r->outlen);
		gc_ctl_end(r->id, status);
	} else if (r->nblobs > 0)
		log_info("gc: removed %lld blobs, %lld bytes",
		    (long long)r->nblobs, (long long)r->bytes);
	free(r->outbuf);
	free(r->cands);
	names_free(&r->repos);
	names_free(&r->blobs);
	dtree_free(&r->marks);
	dtree_free(&r->born);
	if (gcrun == r)
		gcrun = NULL;
	free(r);
}

/* Remove one blob and every repository's layer link to it. */
static int
gc_sweep_one(struct gc_run *r, struct cand *c, time_t now)
{
	time_t	 mtime;
	size_t	 i;
	int	 rv;

	if (!gc_sweep_open(r)) {
		r->nleft++;
		return (0);
	}
	if (dnode_get(&r->marks, c->digest, 0) != NULL ||
	    gc_is_born(r, c->digest) || recently_touched(c->digest, now) ||
	    blob_size(c->digest, &mtime) == -1 || now - mtime < sc.gc_grace ||
	    now - blob_used(c->digest, mtime) < sc.gc_grace)
		return (0);
	if ((rv = reg_blob_remove(c->digest, c->size)) == -1) {
		log_warn("gc: cannot remove blob %s", c->digest);
		fprintf(r->out, "error: cannot remove blob %s: %s\n",
		    c->digest, strerror(errno));
		r->nfailed++;
		return (0);
	}
	if (rv == 1) {
		log_warn("gc: cannot remove the place of blob %s", c->digest);
		fprintf(r->out, "error: cannot remove the place of blob %s: "
		    "%s\n", c->digest, strerror(errno));
		r->nfailed++;
	}
	for (i = 0; i < r->repos.n; i++)
		if (rm_link_dir(r->out, r->repos.v[i], BE_LAYER,
		    c->digest) == -1)
			r->nfailed++;
	return (1);
}

/* GS_SWEEP: 1 when every candidate was seen (a dry run only lists). */
static int
gc_sweep_step(struct gc_run *r, const struct timespec *t0)
{
	time_t		 now = time(NULL);
	struct cand	*c;
	size_t		 n;

	for (n = 1; r->next < r->ncands; n++) {
		c = &r->cands[r->next++];
		if ((r->flags & GCF_DRYRUN) ? !gc_is_born(r, c->digest) :
		    gc_sweep_one(r, c, now)) {
			fprintf(r->out, "blob %s %lld\n", c->digest,
			    (long long)c->size);
			r->nblobs++;
			r->bytes += c->size;
		}
		if (gc_step_over(t0, (r->flags & GCF_DRYRUN) ? n :
		    n * STEP_CLOCK / 4))
			return (0);
	}
	return (1);
}

/*
 * Shared store: the markers of use (blob_touch) whose blob is gone, a
 * touch that came after the blob's removal or an fsck -r that moved the
 * blob aside.  Nothing else removes them.  Only those older than the
 * grace, with no blob in the listing of GS_BLOBS, are looked at; one
 * goes when its blob is still not there (a push that brings the blob
 * back gives it a new mtime, which its grace counts from).  The lease
 * says "tidy": writers need not wait for this.
 */
static const char *
gc_phase(struct gc_run *r)
{
	if (r->state == GS_TIDY)
		return ("tidy");
	return (r->state == GS_SWEEP ? "sweep" : "mark");
}

/* 0 the run goes on to GS_TIDY, 1 it has nothing to tidy, -1 failed. */
static int
gc_tidy_begin(struct gc_run *r)
{
	if (!store_shared() || be->touch_walk == NULL ||
	    be->touch_del == NULL)
		return (1);
	if (!(r->flags & GCF_DRYRUN) && gc_lease_renew(r, "tidy") == -1)
		return (-1);
	r->state = GS_TIDY;
	return (0);
}

/* Whether s is in the sorted list ns. */
static int
sorted_has(const struct names *ns, const char *s)
{
	size_t	 lo = 0, hi = ns->n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(s, ns->v[mid])) == 0)
			return (1);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (0);
}

static int
gc_marker_each(void *arg, const char *digest, const struct be_stat *bs)
{
	struct gc_run	*r = arg;

	if (bs == NULL || time(NULL) - bs->mtime < sc.gc_grace ||
	    sorted_has(&r->blobs, digest))
		return (0);
	return (names_add(&r->orphans, digest) == -1 ? -1 : 0);
}

static void
gc_tidy_one(struct gc_run *r, const char *digest, time_t now)
{
	if (dnode_get(&r->marks, digest, 0) != NULL ||
	    gc_is_born(r, digest) || recently_touched(digest, now))
		return;
	/* The blob there, or no telling: the marker stays. */
	if (be->blob_stat(digest, NULL) == 0 || errno != ENOENT)
		return;
	if (r->flags & GCF_DRYRUN) {
		fprintf(r->out, "marker %s (its blob is gone)\n", digest);
		r->nmarkers++;
		return;
	}
	if (reg_touch_del(digest) == -1) {
		log_warn("gc: cannot remove the marker of %s", digest);
		fprintf(r->out, "error: cannot remove the marker of use of "
		    "%s: %s\n", digest, strerror(errno));
		r->nfailed++;
		return;
	}
	fprintf(r->out, "marker %s\n", digest);
	r->nmarkers++;
}

/* GS_TIDY: 1 when every marker was seen. */
static int
gc_tidy_step(struct gc_run *r, const struct timespec *t0)
{
	time_t	 now = time(NULL);
	size_t	 n;

	if (!r->tidy_listed) {
		r->tidy_listed = 1;
		if (be->touch_walk(gc_marker_each, r) == -1) {
			fprintf(r->out, "error: cannot list the markers of "
			    "use: %s\n", strerror(errno));
			r->nfailed++;
			return (1);
		}
		return (0);
	}
	for (n = 1; r->norphan < r->orphans.n; n++) {
		/* Near the lease's expiry: the rest for a next run. */
		if (!lease_fresh(&r->lh))
			return (1);
		gc_tidy_one(r, r->orphans.v[r->norphan++], now);
		if (gc_step_over(t0, n * STEP_CLOCK / 4))
			return (0);
	}
	return (1);
}

/* A step of the run, from the timer; the next is armed unless it ended. */
static void
gc_step(int fd, short event, void *arg)
{
	struct gc_run	*r = arg;
	struct timeval	 tv = { 0, 0 };
	struct timespec	 t0;
	int		 rv;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (store_shared() && time(NULL) - r->lh.renewed >= LEASE_RENEW &&
	    gc_lease_renew(r, gc_phase(r)) == -1) {
		gc_finish(r, 1);
		return;
	}
	do {
		if (r->bornfull) {
			fprintf(r->out, "error: more than %d digests changed "
			    "during the run, no blob removed\n", BORN_MAX);
			log_warnx("gc: more than %d digests changed during "
			    "the run, stopped without sweeping", BORN_MAX);
			gc_finish(r, 1);
			return;
		}
		if (r->state == GS_TIDY)
			rv = gc_tidy_step(r, &t0);
		else if (r->state != GS_SWEEP)
			rv = gc_mark_step(r, &t0);
		else
			rv = gc_sweep_step(r, &t0);
		if (rv == -1) {
			gc_finish(r, 1);
			return;
		}
		if (rv == 1 && r->state == GS_SWEEP && r->next >= r->ncands) {
			if ((rv = gc_tidy_begin(r)) != 0) {
				gc_finish(r, rv == -1);
				return;
			}
		} else if (rv == 1 && r->state == GS_TIDY) {
			gc_finish(r, 0);
			return;
		}
	} while (!gc_step_over(&t0, STEP_CLOCK));
	evtimer_add(&r->ev, &tv);
}

static void
gc_start(uint32_t id, int ctl, int flags)
{
	struct gc_run	*r;
	struct timeval	 tv = { 0, 0 };

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->out = open_memstream(&r->outbuf, &r->outlen)) == NULL) {
		free(r);
		if (ctl) {
			gc_ctl_text(id, "error: out of memory\n", 21);
			gc_ctl_end(id, 1);
		}
		return;
	}
	r->id = id;
	r->ctl = ctl;
	r->flags = flags;
	r->start = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->state = GS_REPOS;
	RB_INIT(&r->marks);
	RB_INIT(&r->born);
	if (gc_lease_take(r) == -1) {
		gc_finish(r, 1);
		return;
	}
	/* Mirrored manifests over their cache size go first. */
	if (!(flags & GCF_DRYRUN))
		mirror_cache_evict_all();
	gcrun = r;
	evtimer_set(&r->ev, gc_step, r);
	evtimer_add(&r->ev, &tv);
}

void
gc_ctl_gc(uint32_t id, int flags)
{
	if (gcrun != NULL) {
		gc_ctl_text(id, "error: gc is running already\n", 29);
		gc_ctl_end(id, 1);
		return;
	}
	gc_start(id, 1, flags & (GCF_DRYRUN | GCF_UNTAGGED));
}

/* What repo_remove could not remove, to the log and the control answer. */
static void
rm_report(void *arg, const char *where, int err)
{
	char	 msg[PATH_MAX + 128];

	log_warnx("rm: cannot remove %s: %s", where, strerror(err));
	snprintf(msg, sizeof(msg), "error: cannot remove %s: %s\n", where,
	    strerror(err));
	gc_ctl_text(*(uint32_t *)arg, msg, strlen(msg));
}

/* Repository removal: its links and uploads, not nested repositories. */
void
gc_ctl_rm(uint32_t id, const char *repo)
{
	struct lease_hold	 lh;
	char			 msg[PATH_MAX + 512];
	int			 status = 0;

	if (!valid_name(repo) || !be->repo_exists(repo, 1)) {
		snprintf(msg, sizeof(msg), "error: no such repository\n");
		status = 1;
		goto done;
	}
	/* A shared store: no other instance's GC or repair meanwhile. */
	if (lease_take(&lh, "rm", "rm", msg, sizeof(msg)) == -1) {
		status = 1;
		goto done;
	}
	store_upload_forget_repo(repo);
	if (reg_repo_remove(repo, rm_report, &id) == -1)
		status = 1;
	lease_drop(&lh);
	if (status == 0) {
		log_info("repository %s removed", repo);
		snprintf(msg, sizeof(msg), "removed %s; its blobs go at the "
		    "next gc\n", repo);
	} else
		snprintf(msg, sizeof(msg), "error: %s not entirely removed\n",
		    repo);
done:
	gc_ctl_text(id, msg, strlen(msg));
	gc_ctl_end(id, status);
}

/* The distinct blobs a repository links, into t with their sizes. */
static int64_t
repo_usage(const char *repo, struct dtree *t, size_t idx)
{
	struct names	 ds;
	struct dnode	*n;
	int64_t		 sum = 0, size;
	size_t		 i;

	memset(&ds, 0, sizeof(ds));
	store_repo_digests(repo, BE_LAYER, &ds);
	store_repo_digests(repo, BE_REVISION, &ds);
	for (i = 0; i < ds.n; i++) {
		if ((n = dnode_get(t, ds.v[i], 1)) == NULL)
			continue;
		if (n->lastrepo == idx)
			continue;
		if (n->lastrepo == (size_t)-1) {
			if ((size = blob_size(ds.v[i], NULL)) == -1)
				size = 0;
			n->size = size;
		}
		n->lastrepo = idx;
		n->nrepos++;
		sum += n->size;
	}
	names_free(&ds);
	return (sum);
}

/*
 * Usage: bytes each repository references (its layer links and
 * manifests) and bytes only it references; the total counts each blob
 * on disk once.  It runs in steps like GC, a few repositories or blob
 * sizes at a time, so a large tree never holds up requests; what
 * changes meanwhile shows or not, as in a listing.
 */
struct usage_run {
	uint32_t	 id;
	char		 only[MAX_NAME + 1];
	struct names	 repos;
	struct names	 blobs;
	int64_t		*refd;
	int64_t		*excl;
	int64_t		 total;
	uint64_t	 since;		/* quota_disk_changes() at the start */
	size_t		 next;		/* repository, then blob */
	int		 phase;		/* 0 repositories, 1 blobs */
	struct dtree	 t;
	struct event	 ev;
};

static void
usage_free(struct usage_run *u)
{
	free(u->refd);
	free(u->excl);
	names_free(&u->repos);
	names_free(&u->blobs);
	dtree_free(&u->t);
	free(u);
}

static void
usage_report(struct usage_run *u)
{
	struct dnode	*n;
	char		*buf = NULL, b1[32];
	size_t		 len = 0, i;
	FILE		*fp;
	int		 found = 0;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		gc_ctl_end(u->id, 1);
		return;
	}
	RB_FOREACH(n, dtree, &u->t)
		if (n->nrepos == 1)
			u->excl[n->lastrepo] += n->size;
	fprintf(fp, "%-40s %15s %15s\n", "REPOSITORY", "REFERENCED",
	    "EXCLUSIVE");
	for (i = 0; i < u->repos.n; i++) {
		if (u->only[0] != '\0' && strcmp(u->only, u->repos.v[i]) != 0)
			continue;
		found = 1;
		fprintf(fp, "%-40s %15lld %15lld\n", u->repos.v[i],
		    (long long)u->refd[i], (long long)u->excl[i]);
	}
	if (u->only[0] != '\0' && !found)
		fprintf(fp, "%-40s %15d %15d\n", u->only, 0, 0);
	quota_fmt_bytes(b1, sizeof(b1), u->total);
	fprintf(fp, "total on disk: %lld bytes (%s)\n", (long long)u->total,
	    b1);
	fclose(fp);
	gc_ctl_text(u->id, buf, len);
	gc_ctl_end(u->id, 0);
	free(buf);
}

static void
usage_step(int fd, short event, void *arg)
{
	struct usage_run	*u = arg;
	struct timeval		 tv = { 0, 0 };
	struct timespec		 t0;
	struct be_stat		 bs;
	size_t			 n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; u->phase == 0 && u->next < u->repos.n; u->next++, n++) {
		if (gc_step_over(&t0, n * STEP_CLOCK))
			goto later;
		u->refd[u->next] = repo_usage(u->repos.v[u->next], &u->t,
		    u->next);
	}
	if (u->phase == 0) {
		u->phase = 1;
		u->next = 0;
	}
	for (; u->next < u->blobs.n; u->next++, n++) {
		if (gc_step_over(&t0, n))
			goto later;
		if (be->blob_stat(u->blobs.v[u->next], &bs) == 0 &&
		    bs.size > 0)
			u->total += bs.size;
	}
	quota_disk_counted(u->total, u->since);
	usage_report(u);
	usage_free(u);
	return;
later:
	evtimer_add(&u->ev, &tv);
}

void
gc_ctl_usage(uint32_t id, const char *only)
{
	struct usage_run	*u;
	struct timeval		 tv = { 0, 0 };
	const char		*err = NULL;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		gc_ctl_end(id, 1);
		return;
	}
	u->id = id;
	u->since = quota_disk_changes();
	RB_INIT(&u->t);
	strlcpy(u->only, only, sizeof(u->only));
	if (only[0] != '\0' && (!valid_name(only) ||
	    !be->repo_exists(only, 1)))
		err = "error: no such repository\n";
	else if (store_all_repos(&u->repos, 1) == -1 || (u->repos.n > 0 &&
	    ((u->refd = calloc(u->repos.n, sizeof(*u->refd))) == NULL ||
	    (u->excl = calloc(u->repos.n, sizeof(*u->excl))) == NULL)))
		err = "error: cannot list repositories\n";
	else if (be->blob_walk(names_each, &u->blobs) == -1)
		err = "error: cannot list blobs\n";
	if (err != NULL) {
		gc_ctl_text(id, err, strlen(err));
		gc_ctl_end(id, 1);
		usage_free(u);
		return;
	}
	evtimer_set(&u->ev, usage_step, u);
	evtimer_add(&u->ev, &tv);
}

/* fsck: hash every blob in small steps, then check every link. */
static void
fsck_moved(struct fsck_run *f, const char *what, int rv, const char *to)
{
	if (rv == -1) {
		fprintf(f->out, "  cannot move %s: %s\n", what,
		    strerror(errno));
		log_warn("fsck: cannot move %s", what);
		f->nfailed++;
		return;
	}
	fprintf(f->out, "  moved to %s\n", to);
	f->nmoved++;
}

static void
fsck_move_link(struct fsck_run *f, const char *where)
{
	char	 to[PATH_MAX];
	int	 rv;

	rv = reg_link_quarantine(where, f->qdir, to, sizeof(to));
	fsck_moved(f, where, rv, to);
}

/*
 * Whether fsck may move or remove now: with -r, and on a shared store
 * while it holds the maintenance lease (renewed here when due).
 */
static int
fsck_may_repair(struct fsck_run *f)
{
	if (!f->repair)
		return (0);
	if (lease_keep(&f->lh, "fsck") == -1) {
		fprintf(f->out, "error: lost the maintenance lease, nothing "
		    "more repaired\n");
		log_warnx("fsck: lost the maintenance lease");
		f->repair = 0;
		f->nfailed++;
		return (0);
	}
	return (1);
}

/* A stale layer link goes with -r: "where" less its "/link". */
static void
fsck_unlink(struct fsck_run *f, const char *where)
{
	char	 dir[PATH_MAX], *slash;

	if (reg_link_remove(where) == 0) {
		f->nremoved++;
		return;
	}
	strlcpy(dir, where, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	fprintf(f->out, "  cannot remove %s: %s\n", dir, strerror(errno));
	log_warn("fsck: cannot remove %s", dir);
	f->nfailed++;
}

/* One stored link, as the backend's link_check gives it. */
static int
fsck_link(void *arg, const char *where, const char *dg, const char *expect,
    int layer)
{
	struct fsck_run	*f = arg;

	f->nlinks++;
	if (dg == NULL || (expect != NULL && strcmp(dg, expect) != 0)) {
		fprintf(f->out, "bad link %s\n", where);
		f->nproblems++;
		if (fsck_may_repair(f))
			fsck_move_link(f, where);
		return (0);
	}
	/*
	 * Distribution's gc removes blobs but not the layer links to them:
	 * harmless (the blob is unknown either way), removed by -r.
	 */
	if (layer && blob_size(dg, NULL) == -1 &&
	    dnode_get(&f->bad, dg, 0) == NULL) {
		fprintf(f->out, "stale layer link %s -> %s\n", where, dg);
		f->nstale++;
		if (fsck_may_repair(f))
			fsck_unlink(f, where);
		return (0);
	}
	if (blob_size(dg, NULL) == -1 || (f->repair &&
	    dnode_get(&f->bad, dg, 0) != NULL)) {
		fprintf(f->out, "dangling link %s -> %s\n", where, dg);
		f->nproblems++;
		if (fsck_may_repair(f))
			fsck_move_link(f, where);
	}
	return (0);
}

static void
fsck_finish(struct fsck_run *f)
{
	int	 status;

	be->link_check(fsck_link, f);
	fprintf(f->out, "fsck: %zu blobs and %lld links checked, %lld "
	    "problems", f->blobs.n, (long long)f->nlinks,
	    (long long)f->nproblems);
	if (f->repair)
		fprintf(f->out, ", %lld files moved to %s",
		    (long long)f->nmoved, f->qdir);
	fprintf(f->out, "\n");
	if (f->nstale > 0)
		fprintf(f->out, "fsck: %lld stale layer links (harmless)%s\n",
		    (long long)f->nstale, f->repair ? "" :
		    ", \"regctl fsck -r\" removes them");
	if (f->repair && f->nremoved > 0)
		fprintf(f->out, "fsck: %lld stale layer links removed\n",
		    (long long)f->nremoved);
	if (f->nfailed > 0)
		fprintf(f->out, "error: %lld moves or removals failed\n",
		    (long long)f->nfailed);
	fclose(f->out);
	/* Released before regctl is answered, as gc_finish does. */
	lease_drop(&f->lh);
	status = (f->nproblems > 0 && f->nmoved < f->nproblems) ||
	    f->nfailed > 0;
	store_stats.fsck_runs++;
	store_stats.fsck_findings = f->nproblems;
	gc_ctl_text(f->id, f->outbuf, f->outlen);
	gc_ctl_end(f->id, status);
	if (f->nmoved > 0)
		quota_forget_disk();
	free(f->outbuf);
	names_free(&f->blobs);
	dtree_free(&f->bad);
	EVP_MD_CTX_free(f->ctx);
	if (f->fd != -1)
		close(f->fd);
	if (fsckrun == f)
		fsckrun = NULL;
	free(f);
}

/* The blob under f->next is hashed; judge it. */
static void
fsck_judge(struct fsck_run *f, const char *digest)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 got[MAX_DIGEST + 1], path[PATH_MAX];
	unsigned int	 mdlen, i;
	size_t		 off;
	int		 rv;

	if (EVP_DigestFinal_ex(f->ctx, md, &mdlen) != 1)
		return;
	off = strcspn(digest, ":") + 1;
	if (off + 2 * mdlen + 1 > sizeof(got))
		return;
	memcpy(got, digest, off);
	for (i = 0; i < mdlen; i++)
		snprintf(got + off + 2 * i, 3, "%02x", md[i]);
	if (strcmp(got, digest) == 0)
		return;
	fprintf(f->out, "corrupt blob %s (content is %s)\n", digest, got);
	f->nproblems++;
	if (fsck_may_repair(f)) {
		dnode_get(&f->bad, digest, 1);
		rv = reg_blob_quarantine(digest, f->qdir, path, sizeof(path));
		fsck_moved(f, digest, rv, path);
	}
}

static void
fsck_step(int fd, short event, void *arg)
{
	struct fsck_run	*f = arg;
	struct timeval	 tv = { 0, 0 };
	struct be_body	 body;
	unsigned char	*buf;
	const char	*dg;
	size_t		 budget = 0;
	ssize_t		 n;

	if ((buf = malloc(DATA_CHUNK)) == NULL) {
		evtimer_add(&f->ev, &tv);
		return;
	}
	/* Kept while the blobs are hashed, though nothing moves yet. */
	if (f->repair)
		(void)fsck_may_repair(f);
	while (f->next < f->blobs.n && budget < HASH_BUDGET) {
		dg = f->blobs.v[f->next];
		if (f->fd == -1) {
			if (be->blob_open(dg, BE_WANT_FD, &body) == 0)
				f->fd = body.fd;
			if (f->fd == -1 || EVP_DigestInit_ex(f->ctx,
			    strncmp(dg, "sha512:", 7) == 0 ? EVP_sha512() :
			    EVP_sha256(), NULL) != 1) {
				/* Swept meanwhile, or unreadable. */
				if (f->fd != -1) {
					close(f->fd);
					f->fd = -1;
				} else if (errno != ENOENT) {
					fprintf(f->out, "unreadable blob %s\n",
					    dg);
					f->nproblems++;
				}
				f->next++;
				continue;
			}
		}
		if ((n = read(f->fd, buf, DATA_CHUNK)) > 0) {
			EVP_DigestUpdate(f->ctx, buf, n);
			budget += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		close(f->fd);
		f->fd = -1;
		if (n == 0)
			fsck_judge(f, dg);
		else {
			fprintf(f->out, "unreadable blob %s\n", dg);
			f->nproblems++;
		}
		f->next++;
	}
	free(buf);
	if (f->next < f->blobs.n) {
		evtimer_add(&f->ev, &tv);
		return;
	}
	fsck_finish(f);
}

void
gc_ctl_fsck(uint32_t id, int repair)
{
	struct fsck_run		*f;
	struct lease_hold	 lh;
	struct timeval		 tv = { 0, 0 };
	struct tm		 tm;
	time_t			 now = time(NULL);
	char			 why[512];

	if (fsckrun != NULL) {
		gc_ctl_text(id, "error: fsck is running already\n", 31);
		gc_ctl_end(id, 1);
		return;
	}
	/* A shared store: -r only under the maintenance lease. */
	memset(&lh, 0, sizeof(lh));
	if (repair && lease_take(&lh, "fsck", "fsck -r", why, sizeof(why)) ==
	    -1) {
		gc_ctl_text(id, why, strlen(why));
		gc_ctl_end(id, 1);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->ctx = EVP_MD_CTX_new()) == NULL ||
	    (f->out = open_memstream(&f->outbuf, &f->outlen)) == NULL) {
		if (f != NULL)
			EVP_MD_CTX_free(f->ctx);
		free(f);
		lease_drop(&lh);
		gc_ctl_text(id, "error: out of memory\n", 21);
		gc_ctl_end(id, 1);
		return;
	}
	f->lh = lh;
	f->id = id;
	f->fd = -1;
	f->repair = repair;
	RB_INIT(&f->bad);
	gmtime_r(&now, &tm);
	strftime(f->qdir, sizeof(f->qdir), QUARANTINE "/%Y%m%dT%H%M%SZ", &tm);
	fsckrun = f;
	all_blobs(&f->blobs);
	evtimer_set(&f->ev, fsck_step, f);
	evtimer_add(&f->ev, &tv);
}
