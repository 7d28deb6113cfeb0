/*
 * The metrics listener.
 *
 * Frontends accept it like any other listener and count every request
 * they answer in a fixed table (struct front_metrics): a few increments,
 * nothing more, in the request path.  GET /metrics asks the parent for
 * the figures; the parent gathers them the way "regctl show status"
 * does (MSG_STATS_REQ to every frontend, ST_STATS_REQ to storage, at
 * most a second of waiting), adds what it knows itself (its children's
 * CPU time and memory from /proc, restarts) and sends the exposition
 * text back.  The parent never sees the client's HTTP.
 *
 * Counters summed over frontends never go backwards: the parent keeps
 * each frontend's last report, and when a frontend dies (killed, drained
 * after a reload) adds that report to a retired total before its slot
 * is reused.  What a killed frontend counted after its last report is
 * lost, never counted twice.
 *
 * GET /health and /ready ask storage for the free space of its file
 * system: 200 when it answers within "health timeout" and the space is
 * above "health free space", else 503 with a JSON reason.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "regd.h"

/* The label values: indexes of struct front_metrics. */
static const char *const mx_routes[MX_NROUTES] = {
	"other", "base", "catalog", "tags", "manifest", "blob",
	"blob_upload", "referrers"
};
static const char *const mx_methods[MX_NMETHODS] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "other"
};
/* The status codes counted one by one; the last row is any other. */
static const int mx_status[MX_NSTATUS] = {
	200, 201, 202, 204, 206, 301, 302, 304, 307, 308,
	400, 401, 403, 404, 405, 406, 408, 411, 413, 414,
	415, 416, 429, 431, 500, 501, 502, 503, 504, 0
};
/* Upper bounds of the duration buckets, microseconds. */
static const uint64_t mx_buckets[MX_NBUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000
};

/*
 * Every metric regd exposes: one row each.  A new figure is a row here,
 * its member where it is counted, and its lines in mx_render.
 */
enum mx_id {
	MXI_REQUESTS, MXI_DURATION, MXI_BYTES_IN, MXI_BYTES_OUT,
	MXI_LOGIN_FAILURES, MXI_THROTTLED, MXI_CONNS, MXI_ACCEPTED,
	MXI_SCRAPES, MXI_UPLOADS, MXI_UPLOAD_BYTES, MXI_BLOBS_ADDED,
	MXI_BLOBS_REMOVED, MXI_MANIFESTS, MXI_DISK_USED, MXI_DISK_FREE,
	MXI_DISK_TOTAL, MXI_GC_RUNS, MXI_GC_BLOBS, MXI_GC_BYTES,
	MXI_GC_LAST, MXI_FSCK_RUNS, MXI_FSCK_FINDINGS, MXI_QUOTA,
	MXI_RSS, MXI_CPU, MXI_CPU_KIND, MXI_RESTARTS, MXI_START,
	MXI_FRONTENDS_REPORTED, MXI_REPO_REQUESTS, MXI_MIR_HITS,
	MXI_MIR_MISSES, MXI_MIR_ERRORS, MXI_MIR_FETCHED, MXI_MIR_SERVED,
	MXI_MIR_STORED, MXI_MIR_CACHED, MXI_MIR_LIMIT, MXI_MIR_EVICTED,
	MXI_BE_REQUESTS, MXI_BE_ERRORS, MXI_BE_HITS,
	MXI_BE_MISSES, MXI_BE_CACHE, MXI_NIDS
};
static const struct mx_def {
	enum mx_id	 id;
	const char	*name;
	const char	*type;
	const char	*help;
} mx_defs[] = {
	{ MXI_REQUESTS, "regd_http_requests_total", "counter",
	    "Requests answered, by OCI route, method and status code." },
	{ MXI_DURATION, "regd_http_request_duration_seconds", "histogram",
	    "Time from the first byte of a request to the end of its answer." },
	{ MXI_BYTES_IN, "regd_http_request_body_bytes_total", "counter",
	    "Request body bytes received, by route." },
	{ MXI_BYTES_OUT, "regd_http_response_body_bytes_total", "counter",
	    "Response body bytes sent, by route." },
	{ MXI_LOGIN_FAILURES, "regd_auth_failed_logins_total", "counter",
	    "Logins refused for a wrong user name or password." },
	{ MXI_THROTTLED, "regd_http_throttled_total", "counter",
	    "Requests answered 429 Too Many Requests." },
	{ MXI_CONNS, "regd_frontend_open_connections", "gauge",
	    "Client connections open, by frontend slot." },
	{ MXI_ACCEPTED, "regd_connections_accepted_total", "counter",
	    "Client connections accepted, all listeners." },
	{ MXI_SCRAPES, "regd_metrics_requests_total", "counter",
	    "Requests answered on the metrics listener." },
	{ MXI_UPLOADS, "regd_uploads_in_progress", "gauge",
	    "Blob upload sessions open in storage." },
	{ MXI_UPLOAD_BYTES, "regd_upload_bytes_total", "counter",
	    "Blob upload bytes storage received." },
	{ MXI_BLOBS_ADDED, "regd_blobs_stored_total", "counter",
	    "Blobs written by uploads and manifest pushes." },
	{ MXI_BLOBS_REMOVED, "regd_blobs_removed_total", "counter",
	    "Blobs removed by garbage collection or deletes." },
	{ MXI_MANIFESTS, "regd_manifests_stored_total", "counter",
	    "Manifests linked into a repository by a push." },
	{ MXI_DISK_USED, "regd_storage_used_bytes", "gauge",
	    "Bytes of the stored blobs, once storage has counted them." },
	{ MXI_DISK_FREE, "regd_storage_free_bytes", "gauge",
	    "Bytes free for regd on the file system of the storage root." },
	{ MXI_DISK_TOTAL, "regd_storage_size_bytes", "gauge",
	    "Size of the file system of the storage root." },
	{ MXI_GC_RUNS, "regd_gc_runs_total", "counter",
	    "Garbage collections finished, dry runs included." },
	{ MXI_GC_BLOBS, "regd_gc_swept_blobs_total", "counter",
	    "Blobs garbage collection removed." },
	{ MXI_GC_BYTES, "regd_gc_swept_bytes_total", "counter",
	    "Bytes garbage collection freed." },
	{ MXI_GC_LAST, "regd_gc_last_duration_seconds", "gauge",
	    "How long the last garbage collection took." },
	{ MXI_FSCK_RUNS, "regd_fsck_runs_total", "counter",
	    "Consistency checks finished." },
	{ MXI_FSCK_FINDINGS, "regd_fsck_last_findings", "gauge",
	    "Problems the last consistency check found." },
	{ MXI_QUOTA, "regd_quota_refusals_total", "counter",
	    "Pushes refused because a quota would be exceeded." },
	{ MXI_RSS, "regd_process_resident_memory_bytes", "gauge",
	    "Resident memory of each regd process." },
	{ MXI_CPU, "regd_process_cpu_seconds_total", "counter",
	    "CPU time of each regd process since it started." },
	{ MXI_CPU_KIND, "regd_cpu_seconds_total", "counter",
	    "CPU time of every process of a kind, those gone included." },
	{ MXI_RESTARTS, "regd_process_restarts_total", "counter",
	    "Children that died and were started again, by kind." },
	{ MXI_START, "regd_start_time_seconds", "gauge",
	    "When regd started, seconds since the epoch." },
	{ MXI_FRONTENDS_REPORTED, "regd_metrics_frontends_reporting", "gauge",
	    "Frontends that answered this scrape in time." },
	{ MXI_REPO_REQUESTS, "regd_http_repository_requests_total", "counter",
	    "Requests answered by repository and route (per repository "
	    "labels); _other holds those past the limit." },
	{ MXI_MIR_HITS, "regd_mirror_hits_total", "counter",
	    "Mirror mode: requests answered from the store, by upstream." },
	{ MXI_MIR_MISSES, "regd_mirror_misses_total", "counter",
	    "Mirror mode: fetches from the upstream begun, by upstream." },
	{ MXI_MIR_ERRORS, "regd_mirror_errors_total", "counter",
	    "Mirror mode: fetches failed or refused, by upstream." },
	{ MXI_MIR_FETCHED, "regd_mirror_fetched_bytes_total", "counter",
	    "Mirror mode: bytes received from the upstream, by upstream." },
	{ MXI_MIR_SERVED, "regd_mirror_served_bytes_total", "counter",
	    "Mirror mode: blob bytes answered from the store, by upstream." },
	{ MXI_MIR_STORED, "regd_mirror_stored_bytes_total", "counter",
	    "Mirror mode: blob bytes fetches added to the store, by "
	    "upstream." },
	{ MXI_MIR_CACHED, "regd_mirror_cache_bytes", "gauge",
	    "Mirror mode: bytes in the cache as its cache size counts them, "
	    "by upstream." },
	{ MXI_MIR_LIMIT, "regd_mirror_cache_limit_bytes", "gauge",
	    "Mirror mode: the cache size, 0 for none, by upstream." },
	{ MXI_MIR_EVICTED, "regd_mirror_evictions_total", "counter",
	    "Mirror mode: manifests evicted to keep the cache within its "
	    "size, by upstream." },
	{ MXI_BE_REQUESTS, "regd_s3_requests_total", "counter",
	    "S3 backend: requests made to the object store." },
	{ MXI_BE_ERRORS, "regd_s3_errors_total", "counter",
	    "S3 backend: requests that failed after their retries." },
	{ MXI_BE_HITS, "regd_s3_cache_hits_total", "counter",
	    "S3 backend: blob GETs served from the local cache." },
	{ MXI_BE_MISSES, "regd_s3_cache_misses_total", "counter",
	    "S3 backend: blob GETs that filled the local cache first." },
	{ MXI_BE_CACHE, "regd_s3_cache_bytes", "gauge",
	    "S3 backend: bytes in the local blob cache." },
};

/* The frontend's side. */

#define MX_SCRAPE_SECS	5	/* the parent answers within a second */

static int
mx_route(enum route rt)
{
	switch (rt) {
	case RT_BASE:
		return (1);
	case RT_CATALOG:
		return (2);
	case RT_TAGS:
		return (3);
	case RT_MANIFEST:
		return (4);
	case RT_BLOB:
		return (5);
	case RT_UPLOADS:
	case RT_UPLOAD:
		return (6);
	case RT_REFERRERS:
		return (7);
	default:
		return (0);
	}
}

static int
mx_method(const char *m)
{
	int	 i;

	for (i = 0; i < MX_NMETHODS - 1; i++)
		if (strcmp(m, mx_methods[i]) == 0)
			return (i);
	return (MX_NMETHODS - 1);
}

static int
mx_status_index(int status)
{
	int	 i;

	for (i = 0; i < MX_NSTATUS - 1; i++)
		if (mx_status[i] == status)
			return (i);
	return (MX_NSTATUS - 1);
}

/*
 * Requests by repository, when "per repository labels" asks for them:
 * a table of at most that many names with an open-addressed index; the
 * requests of any name past the limit go to the entry named "".
 */
#define MX_REPO_SLOTS	1024	/* index size, more than 2 x MX_MAXREPOS */
static struct mx_repo	*fr_repos;
static size_t		 fr_nrepos;
static uint16_t		 fr_index[MX_REPO_SLOTS];	/* entry + 1 */

static void
mx_repo_count(const char *name, int rt)
{
	uint32_t	 h = 2166136261u;
	const char	*p;
	size_t		 i, max = env->conf->metrics_repos;

	if (fr_repos == NULL) {
		if ((fr_repos = calloc(max + 1, sizeof(*fr_repos))) == NULL)
			return;
		fr_nrepos = 1;		/* entry 0: past the limit */
	}
	for (p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h % MX_REPO_SLOTS; fr_index[i] != 0;
	    i = (i + 1) % MX_REPO_SLOTS)
		if (strcmp(fr_repos[fr_index[i] - 1].name, name) == 0) {
			fr_repos[fr_index[i] - 1].requests[rt]++;
			return;
		}
	if (fr_nrepos > max) {
		fr_repos[0].requests[rt]++;
		return;
	}
	strlcpy(fr_repos[fr_nrepos].name, name, sizeof(fr_repos[0].name));
	fr_repos[fr_nrepos].requests[rt]++;
	fr_index[i] = ++fr_nrepos;	/* the entry + 1 */
}

/* Before the MSG_STATS of a scrape: the table, if there is one. */
void
metrics_send_repos(struct chan *c, uint32_t id)
{
	if (fr_repos != NULL)
		chan_send(c, MSG_STATS_REPOS, id, -1, fr_repos,
		    fr_nrepos * sizeof(*fr_repos));
}

/* A request of c was answered: count it.  The request path's only cost. */
void
metrics_request_done(struct conn *c, struct front_metrics *m)
{
	struct req	*r = &c->req;
	struct timespec	 now;
	uint64_t	 usec;
	int		 rt, b;

	if (c->srv->metrics) {
		m->scrapes++;
		return;
	}
	rt = mx_route(r->route);
	m->requests[rt][mx_method(r->method)][mx_status_index(r->status)]++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	usec = (uint64_t)(now.tv_sec - r->start.tv_sec) * 1000000 +
	    (now.tv_nsec - r->start.tv_nsec) / 1000;
	for (b = 0; b < MX_NBUCKETS && usec > mx_buckets[b]; b++)
		;
	m->dur_bucket[rt][b]++;
	m->dur_usec[rt] += usec;
	if (r->body_seen > 0)
		m->route_in[rt] += r->body_seen;
	m->route_out[rt] += r->bytes_out;
	if (r->status == 429)
		m->throttled++;
	if (env->conf->metrics_repos > 0 && r->name[0] != '\0' &&
	    valid_name(r->name))
		mx_repo_count(r->name, rt);
}

static void
mx_respond(struct conn *c, int status, const char *ctype, const void *body,
    size_t len)
{
	struct evbuffer	*out = conn_output(c);

	conn_set_timer(c, 0);
	http_start_response(c, status, ctype, (int64_t)len);
	http_header(c, "Cache-Control", "%s", "no-store");
	http_end_headers(c);
	if (strcmp(c->req.method, "HEAD") != 0)
		evbuffer_add(out, body, len);
	c->req.bytes_out += len;
	conn_respond_done(c);
}

static void
mx_plain(struct conn *c, int status, const char *text)
{
	mx_respond(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* The answer of /health and /ready: 200, or 503 and why. */
static void
mx_health(struct conn *c, const char *why, int64_t avail, int64_t total,
    int probed)
{
	char	 body[512];
	int	 n;

	if (why == NULL)
		n = snprintf(body, sizeof(body), "{\"status\":\"ok\","
		    "\"free_bytes\":%lld,\"size_bytes\":%lld,"
		    "\"free_floor_bytes\":%lld%s}\n", (long long)avail,
		    (long long)total, (long long)env->conf->health_free,
		    probed ? ",\"store\":\"answers\"" : "");
	else
		n = snprintf(body, sizeof(body), "{\"status\":\"unavailable\","
		    "\"reason\":\"%s\"}\n", why);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = snprintf(body, sizeof(body), "{\"status\":\"%s\"}\n",
		    why == NULL ? "ok" : "unavailable");
	mx_respond(c, why == NULL ? 200 : 503, "application/json", body, n);
}

static int
mx_is_ready(struct conn *c)
{
	return (strcmp(c->req.path, "/ready") == 0);
}

/* A request on the metrics listener, its head parsed. */
void
metrics_dispatch(struct conn *c)
{
	struct req	*r = &c->req;

	r->route = RT_NONE;
	if (!auth_metrics_allowed(c)) {
		mx_plain(c, 403, "forbidden\n");
		return;
	}
	if (strcmp(r->path, "/metrics") != 0 &&
	    strcmp(r->path, "/health") != 0 && !mx_is_ready(c)) {
		mx_plain(c, 404, "not found\n");
		return;
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		mx_plain(c, 405, "method not allowed\n");
		return;
	}
	if (strcmp(r->path, "/metrics") == 0) {
		if (conn_parent_request(c, MSG_METRICS_REQ) == -1) {
			mx_plain(c, 503, "regd is shutting down\n");
			return;
		}
		r->st_type = MSG_METRICS_REQ;
		conn_set_timer(c, MX_SCRAPE_SECS);
		return;
	}
	if (mx_is_ready(c) && front_draining()) {
		mx_health(c, "this frontend is draining after a reload", 0, 0,
		    0);
		return;
	}
	if (conn_request(c, ST_HEALTH, NULL, 0) == -1)
		return;		/* answered 503 already */
	conn_set_timer(c, env->conf->health_timeout);
}

/* No answer in time: 1 when c was answered here. */
int
metrics_timeout(struct conn *c)
{
	char	 why[128];

	if (c->req.st_type == ST_HEALTH) {
		snprintf(why, sizeof(why), "storage did not answer within "
		    "%lld s", (long long)env->conf->health_timeout);
		mx_health(c, why, 0, 0, 0);
		return (1);
	}
	if (c->req.st_type == MSG_METRICS_REQ) {
		mx_plain(c, 503, "no figures from the parent in time\n");
		return (1);
	}
	return (0);
}

/* Storage's answer to ST_HEALTH: the space free and the total. */
void
metrics_storage_res(struct conn *c, struct st_res *res)
{
	char	 why[256];

	if (c->req.st_type != ST_HEALTH)
		return;
	if (res->status == 503 && res->message[0] != '\0' &&
	    strpbrk(res->message, "\"\\") == NULL) {
		mx_health(c, res->message, 0, 0, 0);
		return;
	}
	if (res->status != 200) {
		snprintf(why, sizeof(why), "storage cannot read its file "
		    "system (status %d)", res->status);
		mx_health(c, why, 0, 0, 0);
		return;
	}
	if (res->space_free < env->conf->health_free) {
		snprintf(why, sizeof(why), "free space %lld bytes is below "
		    "the floor of %lld bytes", (long long)res->space_free,
		    (long long)env->conf->health_free);
		mx_health(c, why, res->space_free, res->space_total, 0);
		return;
	}
	mx_health(c, NULL, res->space_free, res->space_total,
	    (res->flags & STR_PROBED) != 0);
}

/* The parent's exposition text for a scrape of c. */
void
metrics_text(struct conn *c, const void *text, size_t len)
{
	if (len == 0) {
		mx_plain(c, 503, "too many scrapes at once\n");
		return;
	}
	mx_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", text,
	    len);
}

/* The parent's side. */

#define MX_MAXASK	64	/* scrapes waiting on one collection */
#define MX_WAIT_SECS	1	/* for the children's figures */

static struct {
	uint32_t	 id;		/* with MX_COLLECT_BIT */
	int		 active;
	int		 waiting;
	int		 reported;	/* frontends that answered */
	struct event	 ev;
	int		 nask;
	struct {
		pid_t		 pid;
		uint32_t	 reqid;
	}		 ask[MX_MAXASK];
} coll;
static struct front_stats	 retired;	/* of dead frontends */
static struct front_metrics	 sum;
static struct store_stats	 store_last = { .disk_used = -1,
	.disk_free = -1, .disk_total = -1, .gc_last_usec = -1,
	.fsck_findings = -1 };
static struct mx_repo		*ret_repos;	/* of dead frontends */
static size_t			 ret_nrepos;
static double			 cpu_gone[PROC_NKINDS];
static uint64_t			 restarts[PROC_NKINDS];

static void	 mx_finish(void);

static void
mx_wait_over(int fd, short event, void *arg)
{
	mx_finish();
}

/* Frontend p asks for the figures; the answer goes to its request id. */
void
metrics_parent_req(struct proc *asker, uint32_t reqid)
{
	struct proc	*p;
	struct timeval	 tv = { MX_WAIT_SECS, 0 };

	if (coll.nask == MX_MAXASK) {
		chan_send(&asker->chan, MSG_METRICS_RES, reqid, -1, NULL, 0);
		return;
	}
	coll.ask[coll.nask].pid = asker->pid;
	coll.ask[coll.nask].reqid = reqid;
	coll.nask++;
	if (coll.active)
		return;		/* this one joins the collection under way */
	coll.active = 1;
	coll.waiting = coll.reported = 0;
	coll.id = ((coll.id + 1) & ~MX_COLLECT_BIT) | MX_COLLECT_BIT;
	TAILQ_FOREACH(p, &procs, entry) {
		if (p->chan.dead || (p->kind != PROC_FRONTEND &&
		    p->kind != PROC_STORAGE))
			continue;
		if (chan_send(&p->chan, p->kind == PROC_FRONTEND ?
		    MSG_STATS_REQ : ST_STATS_REQ, coll.id, -1, NULL, 0) == 0)
			coll.waiting++;
	}
	if (coll.waiting == 0) {
		mx_finish();
		return;
	}
	evtimer_set(&coll.ev, mx_wait_over, NULL);
	evtimer_add(&coll.ev, &tv);
}

/* A frontend's MSG_STATS for collection id came (parent_stats kept it). */
void
metrics_parent_stats(uint32_t id)
{
	if (!coll.active || id != coll.id)
		return;
	coll.reported++;
	if (--coll.waiting == 0) {
		evtimer_del(&coll.ev);
		mx_finish();
	}
}

void
metrics_parent_store(uint32_t id, const struct store_stats *st)
{
	store_last = *st;
	if (!coll.active || id != coll.id)
		return;
	if (--coll.waiting == 0) {
		evtimer_del(&coll.ev);
		mx_finish();
	}
}

/* Add every counter of b to a: struct front_metrics is uint64_t only. */
static void
mx_add(struct front_metrics *a, const struct front_metrics *b)
{
	uint64_t	*d = (uint64_t *)a;
	const uint64_t	*s = (const uint64_t *)b;
	size_t		 i;

	for (i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

/* A frontend's table by repository, kept until the next one. */
void
metrics_parent_repos(struct proc *p, const void *data, size_t len)
{
	struct mx_repo	*r;
	size_t		 i, n = len / sizeof(*r);

	if ((r = reallocarray(NULL, n, sizeof(*r))) == NULL && n > 0)
		return;
	memcpy(r, data, n * sizeof(*r));
	for (i = 0; i < n; i++)
		r[i].name[sizeof(r[i].name) - 1] = '\0';
	free(p->repos);
	p->repos = r;
	p->nrepos = n;
}

/*
 * Add the counts of b to table t of *n entries (room for MX_MAXREPOS + 1,
 * entry 0 for the names past the limit, or not valid names at all).
 */
static void
mx_repo_merge(struct mx_repo *t, size_t *n, const struct mx_repo *b)
{
	size_t	 i;
	int	 r;

	for (i = 1; i < *n; i++)
		if (strcmp(t[i].name, b->name) == 0)
			break;
	if (i == *n) {
		if (b->name[0] == '\0' || !valid_name(b->name) ||
		    *n > MX_MAXREPOS)
			i = 0;
		else {
			memset(&t[i], 0, sizeof(t[i]));
			strlcpy(t[i].name, b->name, sizeof(t[i].name));
			(*n)++;
		}
	}
	for (r = 0; r < MX_NROUTES; r++)
		t[i].requests[r] += b->requests[r];
}

/*
 * Frontend or child p is gone: its last figures join the retired ones,
 * and its CPU time (from wait4) the total of its kind.
 */
void
metrics_retire(struct proc *p, const struct rusage *ru)
{
	size_t	 i;

	if (ru != NULL && p->kind < PROC_NKINDS)
		cpu_gone[p->kind] += ru->ru_utime.tv_sec +
		    ru->ru_utime.tv_usec / 1e6 + ru->ru_stime.tv_sec +
		    ru->ru_stime.tv_usec / 1e6;
	if (p->kind != PROC_FRONTEND)
		return;
	if (p->nrepos > 0 && (ret_repos != NULL || (ret_repos =
	    calloc(MX_MAXREPOS + 1, sizeof(*ret_repos))) != NULL)) {
		if (ret_nrepos == 0)
			ret_nrepos = 1;
		for (i = 0; i < p->nrepos; i++)
			mx_repo_merge(ret_repos, &ret_nrepos, &p->repos[i]);
	}
	free(p->repos);
	p->repos = NULL;
	p->nrepos = 0;
	retired.requests += p->stats.requests;
	retired.bytes_in += p->stats.bytes_in;
	retired.bytes_out += p->stats.bytes_out;
	mx_add(&retired.m, &p->stats.m);
	memset(&p->stats, 0, sizeof(p->stats));
}

void
metrics_restarted(enum proc_kind k)
{
	if (k < PROC_NKINDS)
		restarts[k]++;
}

static void
mx_head(FILE *fp, enum mx_id id)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", mx_defs[id].name,
	    mx_defs[id].help, mx_defs[id].name, mx_defs[id].type);
}

static void
mx_u(FILE *fp, enum mx_id id, uint64_t v)
{
	mx_head(fp, id);
	fprintf(fp, "%s %llu\n", mx_defs[id].name, (unsigned long long)v);
}

static void
mx_i(FILE *fp, enum mx_id id, int64_t v)
{
	if (v < 0)
		return;		/* not known (yet): no sample */
	mx_head(fp, id);
	fprintf(fp, "%s %lld\n", mx_defs[id].name, (long long)v);
}

static void
mx_render_requests(FILE *fp, const struct front_metrics *m)
{
	uint64_t	 cum;
	int		 r, me, st, b;
	char		 code[16];

	mx_head(fp, MXI_REQUESTS);
	for (r = 0; r < MX_NROUTES; r++)
		for (me = 0; me < MX_NMETHODS; me++)
			for (st = 0; st < MX_NSTATUS; st++) {
				if (m->requests[r][me][st] == 0)
					continue;
				if (mx_status[st] == 0)
					strlcpy(code, "other", sizeof(code));
				else
					snprintf(code, sizeof(code), "%d",
					    mx_status[st]);
				fprintf(fp, "%s{route=\"%s\",method=\"%s\","
				    "code=\"%s\"} %llu\n",
				    mx_defs[MXI_REQUESTS].name, mx_routes[r],
				    mx_methods[me], code, (unsigned long long)
				    m->requests[r][me][st]);
			}
	mx_head(fp, MXI_DURATION);
	for (r = 0; r < MX_NROUTES; r++) {
		for (b = 0, cum = 0; b <= MX_NBUCKETS; b++) {
			cum += m->dur_bucket[r][b];
			if (b < MX_NBUCKETS)
				fprintf(fp, "%s_bucket{route=\"%s\",le=\"%g\"} "
				    "%llu\n", mx_defs[MXI_DURATION].name,
				    mx_routes[r], mx_buckets[b] / 1e6,
				    (unsigned long long)cum);
			else
				fprintf(fp, "%s_bucket{route=\"%s\",le=\"+Inf\"}"
				    " %llu\n", mx_defs[MXI_DURATION].name,
				    mx_routes[r], (unsigned long long)cum);
		}
		fprintf(fp, "%s_sum{route=\"%s\"} %.6f\n%s_count{route=\"%s\"} "
		    "%llu\n", mx_defs[MXI_DURATION].name, mx_routes[r],
		    m->dur_usec[r] / 1e6, mx_defs[MXI_DURATION].name,
		    mx_routes[r], (unsigned long long)cum);
	}
	mx_head(fp, MXI_BYTES_IN);
	for (r = 0; r < MX_NROUTES; r++)
		fprintf(fp, "%s{route=\"%s\"} %llu\n",
		    mx_defs[MXI_BYTES_IN].name, mx_routes[r],
		    (unsigned long long)m->route_in[r]);
	mx_head(fp, MXI_BYTES_OUT);
	for (r = 0; r < MX_NROUTES; r++)
		fprintf(fp, "%s{route=\"%s\"} %llu\n",
		    mx_defs[MXI_BYTES_OUT].name, mx_routes[r],
		    (unsigned long long)m->route_out[r]);
	mx_u(fp, MXI_LOGIN_FAILURES, m->login_failures);
	mx_u(fp, MXI_THROTTLED, m->throttled);
	mx_u(fp, MXI_ACCEPTED, m->conns_accepted);
	mx_u(fp, MXI_SCRAPES, m->scrapes);
}

/*
 * Mirror counters by upstream.  The names come from storage: only those
 * of an upstream of the parent's configuration become labels.
 */
static int
mx_upstream_known(const char *name)
{
	int	 i;

	if (memchr(name, '\0', MIR_NAMELEN) == NULL)
		return (0);
	for (i = 0; i < env->conf->nupstreams; i++)
		if (strcmp(env->conf->upstreams[i].name, name) == 0)
			return (1);
	return (0);
}

static void
mx_render_mirror(FILE *fp, const struct store_stats *s)
{
	const struct mirror_figures	*f;
	uint64_t			 v;
	uint32_t			 i;
	int				 id;

	if (s->nmirror == 0)
		return;
	for (id = MXI_MIR_HITS; id <= MXI_MIR_EVICTED; id++) {
		mx_head(fp, id);
		for (i = 0; i < s->nmirror && i < MAX_UPSTREAMS; i++) {
			f = &s->mirror[i];
			if (!mx_upstream_known(f->name))
				continue;
			switch (id) {
			case MXI_MIR_HITS:
				v = f->hits;
				break;
			case MXI_MIR_MISSES:
				v = f->misses;
				break;
			case MXI_MIR_ERRORS:
				v = f->errors;
				break;
			case MXI_MIR_FETCHED:
				v = f->fetched;
				break;
			case MXI_MIR_SERVED:
				v = f->served;
				break;
			case MXI_MIR_STORED:
				v = f->stored;
				break;
			case MXI_MIR_CACHED:
				v = f->cached;
				break;
			case MXI_MIR_LIMIT:
				v = f->limit;
				break;
			default:
				v = f->evicted;
				break;
			}
			fprintf(fp, "%s{upstream=\"%s\"} %llu\n",
			    mx_defs[id].name, f->name, (unsigned long long)v);
		}
	}
}

static void
mx_render_store(FILE *fp, const struct store_stats *s)
{
	mx_i(fp, MXI_UPLOADS, s->uploads_active);
	mx_u(fp, MXI_UPLOAD_BYTES, s->upload_bytes);
	mx_u(fp, MXI_BLOBS_ADDED, s->blobs_added);
	mx_u(fp, MXI_BLOBS_REMOVED, s->blobs_removed);
	mx_u(fp, MXI_MANIFESTS, s->manifests_added);
	mx_i(fp, MXI_DISK_USED, s->disk_used);
	mx_i(fp, MXI_DISK_FREE, s->disk_free);
	mx_i(fp, MXI_DISK_TOTAL, s->disk_total);
	mx_u(fp, MXI_GC_RUNS, s->gc_runs);
	mx_u(fp, MXI_GC_BLOBS, s->gc_swept_blobs);
	mx_u(fp, MXI_GC_BYTES, s->gc_swept_bytes);
	if (s->gc_last_usec >= 0) {
		mx_head(fp, MXI_GC_LAST);
		fprintf(fp, "%s %.6f\n", mx_defs[MXI_GC_LAST].name,
		    s->gc_last_usec / 1e6);
	}
	mx_u(fp, MXI_FSCK_RUNS, s->fsck_runs);
	mx_i(fp, MXI_FSCK_FINDINGS, s->fsck_findings);
	mx_u(fp, MXI_QUOTA, s->quota_refusals);
	if (s->backend.valid) {
		mx_u(fp, MXI_BE_REQUESTS, s->backend.requests);
		mx_u(fp, MXI_BE_ERRORS, s->backend.errors);
		mx_u(fp, MXI_BE_HITS, s->backend.cache_hits);
		mx_u(fp, MXI_BE_MISSES, s->backend.cache_misses);
		mx_i(fp, MXI_BE_CACHE, s->backend.cache_bytes);
	}
	mx_render_mirror(fp, s);
}

/* CPU seconds and resident bytes of pid from /proc/pid/stat. */
static int
mx_proc_stat(pid_t pid, double *cpu, int64_t *rss)
{
	static long	 tick, page;
	char		 path[64], buf[1024], *p, *tok, *last;
	unsigned long long utime = 0, stime = 0;
	long long	 pages = 0;
	FILE		*fp;
	size_t		 n;
	int		 i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The command name may hold anything: count after its ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	for (i = 3, tok = strtok_r(p + 1, " ", &last); tok != NULL;
	    tok = strtok_r(NULL, " ", &last), i++) {
		if (i == 14)
			utime = strtoull(tok, NULL, 10);
		else if (i == 15)
			stime = strtoull(tok, NULL, 10);
		else if (i == 24) {
			pages = strtoll(tok, NULL, 10);
			break;
		}
	}
	if (i != 24)
		return (-1);
	if (tick <= 0) {
		tick = sysconf(_SC_CLK_TCK);
		page = sysconf(_SC_PAGESIZE);
	}
	*cpu = (double)(utime + stime) / (tick > 0 ? tick : 100);
	*rss = pages * page;
	return (0);
}

/* One /proc read per process: its CPU time and resident memory. */
struct mx_pstat {
	enum proc_kind	 kind;
	int		 slot;
	pid_t		 pid;
	double		 cpu;
	int64_t		 rss;
};

static void
mx_render_procs(FILE *fp)
{
	static struct mx_pstat	 ps[REGD_MAXSLOTS + PROC_NKINDS + 1];
	struct proc		*p;
	double			 kind[PROC_NKINDS];
	size_t			 n = 0, i;
	int			 k;

	memcpy(kind, cpu_gone, sizeof(kind));
	ps[n].kind = PROC_PARENT;
	ps[n].slot = 0;
	ps[n].pid = getpid();
	if (mx_proc_stat(ps[n].pid, &ps[n].cpu, &ps[n].rss) == 0)
		n++;
	TAILQ_FOREACH(p, &procs, entry) {
		if (n == sizeof(ps) / sizeof(ps[0]))
			break;
		ps[n].kind = p->kind;
		ps[n].slot = p->slot;
		ps[n].pid = p->pid;
		if (mx_proc_stat(p->pid, &ps[n].cpu, &ps[n].rss) == 0)
			n++;
	}
	mx_head(fp, MXI_CPU);
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s{process=\"%s\",slot=\"%d\",pid=\"%d\"} %.2f\n",
		    mx_defs[MXI_CPU].name, proc_name(ps[i].kind), ps[i].slot,
		    (int)ps[i].pid, ps[i].cpu);
		kind[ps[i].kind] += ps[i].cpu;
	}
	mx_head(fp, MXI_RSS);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s{process=\"%s\",slot=\"%d\",pid=\"%d\"} %lld\n",
		    mx_defs[MXI_RSS].name, proc_name(ps[i].kind), ps[i].slot,
		    (int)ps[i].pid, (long long)ps[i].rss);
	mx_head(fp, MXI_CPU_KIND);
	for (k = 0; k < PROC_NKINDS; k++)
		fprintf(fp, "%s{process=\"%s\"} %.2f\n",
		    mx_defs[MXI_CPU_KIND].name, proc_name(k), kind[k]);
	mx_head(fp, MXI_RESTARTS);
	for (k = PROC_PARENT + 1; k < PROC_NKINDS; k++)
		fprintf(fp, "%s{process=\"%s\"} %llu\n",
		    mx_defs[MXI_RESTARTS].name, proc_name(k),
		    (unsigned long long)restarts[k]);
	mx_head(fp, MXI_CONNS);
	TAILQ_FOREACH(p, &procs, entry)
		if (p->kind == PROC_FRONTEND)
			fprintf(fp, "%s{slot=\"%d\"} %llu\n",
			    mx_defs[MXI_CONNS].name, p->slot,
			    (unsigned long long)p->stats.conns);
}

static void
mx_render_repos(FILE *fp)
{
	static struct mx_repo	*t;
	struct proc		*p;
	size_t			 n = 1, i;
	int			 r;

	if (ret_repos == NULL && env->conf->metrics_repos == 0)
		return;
	if (t == NULL && (t = calloc(MX_MAXREPOS + 1, sizeof(*t))) == NULL)
		return;
	memset(&t[0], 0, sizeof(t[0]));
	for (i = 1; i < ret_nrepos; i++)
		mx_repo_merge(t, &n, &ret_repos[i]);
	if (ret_repos != NULL)
		mx_repo_merge(t, &n, &ret_repos[0]);
	TAILQ_FOREACH(p, &procs, entry)
		for (i = 0; i < p->nrepos; i++)
			mx_repo_merge(t, &n, &p->repos[i]);
	mx_head(fp, MXI_REPO_REQUESTS);
	for (i = 0; i < n; i++)
		for (r = 0; r < MX_NROUTES; r++)
			if (t[i].requests[r] != 0)
				fprintf(fp, "%s{repository=\"%s\",route=\"%s\"} "
				    "%llu\n", mx_defs[MXI_REPO_REQUESTS].name,
				    i == 0 ? "_other" : t[i].name, mx_routes[r],
				    (unsigned long long)t[i].requests[r]);
}

static char *
mx_render(size_t *lenp)
{
	struct proc	*p;
	FILE		*fp;
	char		*buf = NULL;

	*lenp = 0;
	if ((fp = open_memstream(&buf, lenp)) == NULL)
		return (NULL);
	sum = retired.m;
	TAILQ_FOREACH(p, &procs, entry)
		if (p->kind == PROC_FRONTEND)
			mx_add(&sum, &p->stats.m);
	mx_render_requests(fp, &sum);
	mx_render_repos(fp);
	mx_render_store(fp, &store_last);
	mx_render_procs(fp);
	mx_i(fp, MXI_START, env->started);
	mx_i(fp, MXI_FRONTENDS_REPORTED, coll.reported);
	if (fclose(fp) != 0) {
		free(buf);
		return (NULL);
	}
	return (buf);
}

/* Every figure is in, or the wait is over: answer each scrape. */
static void
mx_finish(void)
{
	struct proc	*p;
	char		*text, *nl;
	size_t		 len = 0;
	int		 i;

	coll.active = 0;
	if ((text = mx_render(&len)) == NULL)
		len = 0;
	if (len > MSG_MAXPAYLOAD) {
		/* Cut at a line: a figure is never sent torn. */
		nl = memrchr(text, '\n', MSG_MAXPAYLOAD);
		len = nl != NULL ? (size_t)(nl - text) + 1 : 0;
		log_warnx("metrics: exposition cut to %zu bytes", len);
	}
	for (i = 0; i < coll.nask; i++)
		TAILQ_FOREACH(p, &procs, entry)
			if (p->kind == PROC_FRONTEND &&
			    p->pid == coll.ask[i].pid && !p->chan.dead) {
				chan_send(&p->chan, MSG_METRICS_RES,
				    coll.ask[i].reqid, -1, text, len);
				break;
			}
	coll.nask = 0;
	free(text);
}
