/*
 * The events process: takes what the frontends report (MSG_NOTIFY_EVENT),
 * writes each event as one line to the queue file of every endpoint that
 * wants it, fsyncs, and posts the queued events to the endpoint in
 * Distribution's envelope, in order, one request at a time, until the
 * endpoint says 2xx.  Then the endpoint's cursor file moves on.
 *
 * It is chrooted to the queue directory and may open files only there,
 * and connect out: it never sees the blob directory.  A queue file is
 * "<name>.queue", lines "<seq> <event json>\n"; "<name>.pos" holds the
 * last sequence number delivered.  At start-up a torn last line is cut
 * and delivery resumes after the cursor: at least once, in order.
 */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "regd.h"

#define EVENTS_MT	"application/vnd.docker.distribution.events.v1+json"
#define BATCH_EVENTS	64		/* events in one envelope */
#define BATCH_BYTES	(256 * 1024)
#define MAX_RECORD	(16 * 1024)	/* one event line, at most */
#define MAX_PENDING	4096		/* events read, not yet written */
#define CA_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"
#define CA_MAX		(4 * 1024 * 1024)

struct nep {
	const struct notify_endpoint *conf;
	int			 qfd;		/* <name>.queue, O_APPEND */
	int			 pfd;		/* <name>.pos */
	uint64_t		 next_seq;
	uint64_t		 done_seq;	/* delivered, all up to it */
	off_t			 head;		/* first line not delivered */
	off_t			 size;
	uint64_t		 depth;		/* lines not delivered */
	int			 dirty;		/* appended, not synced */
	int			 broken;	/* queue unusable: drops */
	int			 unresolved;	/* no address for the host */
	/* the request in flight */
	CURL			*easy;
	int			 busy;
	char			*body;
	off_t			 batch_len;	/* bytes from head */
	uint64_t		 batch_last;
	uint64_t		 batch_n;
	struct curl_slist	*hdrs;
	struct curl_slist	*resolve;
	char			 errbuf[CURL_ERROR_SIZE];
	int			 backoff;	/* s, 0: last one went well */
	struct event		 ev_retry;
	int			 retrying;
	time_t			 retry_at;
	/* for regctl show notify */
	uint64_t		 delivered, failures, dropped;
	char			 lasterr[256];
	time_t			 lasterr_at;
	time_t			 last_ok;
};

struct npeer {
	struct chan		 chan;
	int			 used;
};

struct pending {
	struct notify_event	 ev;
	uint64_t		 order;
	struct npeer		*from;
	uint32_t		 token;		/* an answer waits: ack it */
};

static struct nep		 eps[NOTIFY_MAXEP];
static int			 neps;
static struct npeer		 parent, fronts[REGD_MAXSLOTS];
static struct pending		*pend;
static size_t			 npend;
static uint64_t			 pend_order;
static struct event		 ev_commit, ev_sigterm, ev_sigint;
static struct event		 ev_curl_timer, ev_quit;
static int			 commit_armed, parent_gone;
static CURLM			*multi;
static char			 instance_id[40];
static char			 source_addr[300];
static struct curl_blob		 ca_blob;

static void	 notify_event_msg(struct chan *, struct msg *, void *);
static void	 notify_show(struct chan *, struct msg *, void *);
static int	 notify_peer(enum proc_kind, int, int);
static void	 notify_closed(struct chan *, void *);
static void	 notify_sig(int, short, void *);
static void	 commit_cb(int, short, void *);
static void	 commit(void);
static void	 deliver(struct nep *);
static void	 retry_cb(int, short, void *);
static void	 drain_and_exit(void);

static const struct msg_rule	 notify_rules[] = {
	MR_FIXED(MSG_NOTIFY_EVENT, PEER(PROC_FRONTEND), struct notify_event,
	    MR_NONE, notify_event_msg),
	MR_EMPTY(MSG_NOTIFY_SHOW, PEER(PROC_PARENT), notify_show),
};

static void
random_uuid(char *buf, size_t len)
{
	unsigned char	 r[16];

	arc4random_buf(r, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* ---- the queue files ---- */

static int
pos_write(struct nep *ep)
{
	char	 buf[32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%020" PRIu64 "\n", ep->done_seq);
	if (pwrite(ep->pfd, buf, n, 0) != n || fdatasync(ep->pfd) == -1) {
		log_warn("notify %s: cursor", ep->conf->name);
		return (-1);
	}
	return (0);
}

/* "<seq> {...}" with its newline: the sequence number, or 0 if bad. */
static uint64_t
line_seq(const char *p, size_t len)
{
	uint64_t	 seq = 0;
	size_t		 i;

	for (i = 0; i < len && p[i] >= '0' && p[i] <= '9' && i < 20; i++)
		seq = seq * 10 + (p[i] - '0');
	if (i == 0 || i + 3 > len || p[i] != ' ' || p[i + 1] != '{' ||
	    p[len - 2] != '}' || p[len - 1] != '\n')
		return (0);
	return (seq);
}

/*
 * Read the queue from the start: where the first line after the cursor
 * is, how many there are, the last sequence number; a torn last line
 * (a crash in the middle of a write) is cut off.
 */
static int
queue_scan(struct nep *ep)
{
	char		*buf;
	off_t		 off = 0, good = 0;
	size_t		 have = 0, start;
	ssize_t		 n;
	uint64_t	 seq, last = 0;
	char		*nl;
	int		 found = 0;

	if ((buf = malloc(BATCH_BYTES)) == NULL)
		return (-1);
	ep->head = -1;
	ep->depth = 0;
	for (;;) {
		n = pread(ep->qfd, buf + have, BATCH_BYTES - have,
		    off + have);
		if (n == -1) {
			free(buf);
			return (-1);
		}
		have += n;
		start = 0;
		while ((nl = memchr(buf + start, '\n', have - start)) !=
		    NULL) {
			size_t	 len = nl - (buf + start) + 1;

			if ((seq = line_seq(buf + start, len)) != 0 &&
			    seq > ep->done_seq) {
				if (!found)
					ep->head = off + start;
				found = 1;
				ep->depth++;
			}
			if (seq > last)
				last = seq;
			start += len;
			good = off + start;
		}
		if (n == 0 || (start == 0 && have == BATCH_BYTES))
			break;	/* the end, or a line longer than any */
		memmove(buf, buf + start, have - start);
		have -= start;
		off += start;
	}
	free(buf);
	if (ftruncate(ep->qfd, good) == -1)
		return (-1);
	ep->size = good;
	if (ep->head == -1)
		ep->head = good;
	ep->next_seq = (last > ep->done_seq ? last : ep->done_seq) + 1;
	return (0);
}

static int
queue_open(struct nep *ep)
{
	char	 path[128], buf[32];
	ssize_t	 n;

	snprintf(path, sizeof(path), "%s.queue", ep->conf->name);
	if ((ep->qfd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("notify queue %s", path);
		return (-1);
	}
	snprintf(path, sizeof(path), "%s.pos", ep->conf->name);
	if ((ep->pfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1) {
		log_warn("notify queue %s", path);
		return (-1);
	}
	memset(buf, 0, sizeof(buf));
	if ((n = pread(ep->pfd, buf, sizeof(buf) - 1, 0)) > 0)
		ep->done_seq = strtoull(buf, NULL, 10);
	if (queue_scan(ep) == -1) {
		log_warn("notify queue %s.queue", ep->conf->name);
		return (-1);
	}
	if (ep->depth > 0)
		log_info("notify %s: %" PRIu64 " events queued from before, "
		    "after event %" PRIu64, ep->conf->name, ep->depth,
		    ep->done_seq);
	return (0);
}

/*
 * Make room: the lines not yet delivered go to a new file that replaces
 * the queue.  The cursor counts sequence numbers, not bytes, so a crash
 * on either side of the rename loses or repeats nothing.
 */
static int
queue_compact(struct nep *ep)
{
	char	 tmp[128], path[128], *buf;
	off_t	 off;
	ssize_t	 n;
	int	 fd;

	if (ep->head == 0)
		return (0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ep->conf->name);
	snprintf(path, sizeof(path), "%s.queue", ep->conf->name);
	if ((buf = malloc(BATCH_BYTES)) == NULL)
		return (-1);
	if ((fd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		free(buf);
		return (-1);
	}
	for (off = ep->head; off < ep->size; off += n) {
		if ((n = pread(ep->qfd, buf, BATCH_BYTES, off)) <= 0 ||
		    write(fd, buf, n) != n)
			goto fail;
	}
	if (fdatasync(fd) == -1 || rename(tmp, path) == -1)
		goto fail;
	free(buf);
	close(ep->qfd);
	ep->qfd = fd;
	log_debug("notify %s: queue compacted, %lld of %lld bytes kept",
	    ep->conf->name, (long long)(ep->size - ep->head),
	    (long long)ep->size);
	ep->size -= ep->head;
	ep->head = 0;
	return (0);
fail:
	log_warn("notify %s: compacting the queue", ep->conf->name);
	free(buf);
	close(fd);
	unlink(tmp);
	return (-1);
}

/* ---- events in ---- */

static int
ep_wants(const struct notify_endpoint *c, const struct notify_event *ev)
{
	int	 i;

	if ((c->actions & ev->action) == 0)
		return (0);
	if (c->nrepos == 0)
		return (1);
	for (i = 0; i < c->nrepos; i++)
		if (fnmatch(c->repos[i], ev->repo, 0) == 0)
			return (1);
	return (0);
}

/*
 * A JSON string of v; bytes that are not UTF-8 (a client's User-Agent or
 * Host may have them) become '?', so the field is never left out.
 */
static json_t *
jstr(const char *v)
{
	json_t	*j;
	char	 buf[1024];
	size_t	 i;

	if ((j = json_string(v)) != NULL)
		return (j);
	strlcpy(buf, v, sizeof(buf));
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return (json_string(buf));
}

static void
jset(json_t *o, const char *k, const char *v)
{
	if (v[0] != '\0')
		json_object_set_new(o, k, jstr(v));
}

/* One event in Distribution's form, as one line of JSON. */
static char *
event_json(const struct notify_event *ev)
{
	static const char	*const acts[] = { "push", "pull", "delete",
				    "mount" };
	json_t		*o, *t, *r, *a, *s;
	char		 id[40], ts[64], url[1024], *text;
	struct tm	 tm;
	time_t		 secs = ev->when_ns / 1000000000;
	int		 i, ai = 0;

	for (i = 0; i < 4; i++)
		if (ev->action == (1 << i))
			ai = i;
	random_uuid(id, sizeof(id));
	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%09dZ",
	    (int)(ev->when_ns % 1000000000));
	url[0] = '\0';
	if (ev->host[0] != '\0' && ev->digest[0] != '\0' &&
	    ev->action != NACT_DELETE)
		snprintf(url, sizeof(url), "%s://%s/v2/%s/%s/%s",
		    ev->tls ? "https" : "http", ev->host, ev->repo,
		    strncmp(ev->mediatype, "application/octet-stream", 24) ==
		    0 ? "blobs" : "manifests", ev->digest);
	o = json_object();
	t = json_object();
	r = json_object();
	a = json_object();
	s = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "action", json_string(acts[ai]));
	jset(t, "mediaType", ev->mediatype);
	jset(t, "digest", ev->digest);
	if (ev->size >= 0 && ev->action != NACT_DELETE) {
		json_object_set_new(t, "size", json_integer(ev->size));
		json_object_set_new(t, "length", json_integer(ev->size));
	}
	jset(t, "repository", ev->repo);
	jset(t, "fromRepository", ev->from);
	jset(t, "url", url);
	jset(t, "tag", ev->tag);
	json_object_set_new(o, "target", t);
	json_object_set_new(r, "id", jstr(ev->reqid));
	jset(r, "addr", ev->addr);
	jset(r, "host", ev->host);
	json_object_set_new(r, "method", jstr(ev->method));
	json_object_set_new(r, "useragent", jstr(ev->useragent));
	json_object_set_new(o, "request", r);
	jset(a, "name", ev->actor);
	json_object_set_new(o, "actor", a);
	jset(s, "addr", source_addr);
	jset(s, "instanceID", instance_id);
	json_object_set_new(o, "source", s);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (text);
}

/* Append one line to an endpoint's queue, making room if need be. */
static void
queue_append(struct nep *ep, const char *json)
{
	char	 line[MAX_RECORD];
	int	 n;

	n = snprintf(line, sizeof(line), "%" PRIu64 " %s\n", ep->next_seq,
	    json);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		ep->dropped++;
		return;
	}
	if (ep->size + n > ep->conf->queue_max &&
	    (queue_compact(ep) == -1 || ep->size + n > ep->conf->queue_max)) {
		if (ep->dropped++ % 1000 == 0)
			log_warnx("notify %s: queue full (%" PRIu64 " events, "
			    "%lld bytes), dropping events", ep->conf->name,
			    ep->depth, (long long)ep->size);
		return;
	}
	if (write(ep->qfd, line, n) != n) {
		log_warn("notify %s: queue write", ep->conf->name);
		/* A short write: the tail is cut back to the last line. */
		if (ftruncate(ep->qfd, ep->size) == -1)
			ep->broken = 1;
		ep->dropped++;
		return;
	}
	ep->size += n;
	ep->depth++;
	ep->next_seq++;
	ep->dirty = 1;
}

static int
pend_cmp(const void *a, const void *b)
{
	const struct pending	*x = a, *y = b;

	if (x->ev.when_ns != y->ev.when_ns)
		return (x->ev.when_ns < y->ev.when_ns ? -1 : 1);
	return (x->order < y->order ? -1 : x->order > y->order);
}

/*
 * The events of one turn of the loop, from every frontend, go to the
 * queues in the order they happened and are synced together.
 */
static void
commit(void)
{
	size_t	 i;
	int	 j;
	char	*json;

	if (npend > 1)
		qsort(pend, npend, sizeof(pend[0]), pend_cmp);
	for (i = 0; i < npend; i++) {
		json = NULL;
		for (j = 0; j < neps; j++) {
			if (eps[j].broken || !ep_wants(eps[j].conf,
			    &pend[i].ev))
				continue;
			if (json == NULL && (json = event_json(&pend[i].ev)) ==
			    NULL)
				break;
			queue_append(&eps[j], json);
		}
		free(json);
	}
	for (j = 0; j < neps; j++) {
		if (!eps[j].dirty)
			continue;
		if (fdatasync(eps[j].qfd) == -1)
			log_warn("notify %s: fsync", eps[j].conf->name);
		eps[j].dirty = 0;
		deliver(&eps[j]);
	}
	/* On disk (or dropped, counted): the held answers may go. */
	for (i = 0; i < npend; i++)
		if (pend[i].token != 0 && pend[i].from->used &&
		    !pend[i].from->chan.dead)
			chan_send(&pend[i].from->chan, MSG_NOTIFY_ACK,
			    pend[i].token, -1, NULL, 0);
	npend = 0;
}

static void
commit_cb(int fd, short event, void *arg)
{
	commit_armed = 0;
	commit();
}

static void
notify_event_msg(struct chan *c, struct msg *m, void *arg)
{
	struct notify_event	 ev;

	MSG_COPY(m, &ev);
	if (!MSG_STR_OK(ev.repo) || !MSG_STR_OK(ev.from) ||
	    !MSG_STR_OK(ev.digest) || !MSG_STR_OK(ev.tag) ||
	    !MSG_STR_OK(ev.mediatype) || !MSG_STR_OK(ev.reqid) ||
	    !MSG_STR_OK(ev.method) || !MSG_STR_OK(ev.addr) ||
	    !MSG_STR_OK(ev.host) || !MSG_STR_OK(ev.useragent) ||
	    !MSG_STR_OK(ev.actor) || (ev.action != NACT_PUSH &&
	    ev.action != NACT_PULL && ev.action != NACT_DELETE &&
	    ev.action != NACT_MOUNT)) {
		proc_peer_fail(c, m, "bad event");
		return;
	}
	if (npend == MAX_PENDING)
		commit();
	pend[npend].ev = ev;
	pend[npend].order = pend_order++;
	pend[npend].from = arg;
	pend[npend].token = m->hdr.peerid;
	npend++;
	if (!commit_armed) {
		commit_armed = 1;
		event_active(&ev_commit, EV_WRITE, 1);
	}
}

/* ---- delivery: libcurl's multi interface on the event loop ---- */

struct sockev {
	struct event	 ev;
};

static void	 curl_done(void);

static void
sock_ev_cb(int fd, short what, void *arg)
{
	int	 running, action;

	action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(multi, fd, action, &running);
	curl_done();
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *cbp, void *sockp)
{
	struct sockev	*se = sockp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_del(&se->ev);
			free(se);
		}
		curl_multi_assign(multi, s, NULL);
		return (0);
	}
	if (se == NULL) {
		if ((se = calloc(1, sizeof(*se))) == NULL)
			return (-1);
		curl_multi_assign(multi, s, se);
	} else
		event_del(&se->ev);
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	event_assign(&se->ev, env->base, s, kind, sock_ev_cb, NULL);
	event_add(&se->ev, NULL);
	return (0);
}

static void
curl_timer_ev(int fd, short what, void *arg)
{
	int	 running;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curl_done();
}

static int
curl_timer_cb(CURLM *m, long ms, void *arg)
{
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(&ev_curl_timer);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&ev_curl_timer, &tv);
	return (0);
}

/* The receiver's answer body is not kept. */
static size_t
discard_cb(char *p, size_t size, size_t n, void *arg)
{
	return (size * n);
}

/*
 * The next envelope of ep: up to BATCH_EVENTS lines from the head, as
 * {"events":[...]}.  Returns the number of events, 0 when none.
 */
static int
batch_build(struct nep *ep)
{
	char		*buf, *p, *nl, *body;
	size_t		 have, used = 0, blen = 0;
	ssize_t		 n;
	uint64_t	 seq;
	int		 nev = 0;

	ep->batch_len = 0;
	ep->batch_n = 0;
	if (ep->head >= ep->size)
		return (0);
	if ((buf = malloc(BATCH_BYTES)) == NULL ||
	    (body = malloc(BATCH_BYTES + 32)) == NULL) {
		free(buf);
		return (-1);
	}
	if ((n = pread(ep->qfd, buf, BATCH_BYTES, ep->head)) <= 0) {
		free(buf);
		free(body);
		return (-1);
	}
	have = n;
	blen = strlcpy(body, "{\"events\":[", BATCH_BYTES);
	for (p = buf; nev < BATCH_EVENTS && (nl = memchr(p, '\n',
	    have - (p - buf))) != NULL; p = nl + 1) {
		size_t	 len = nl - p + 1;
		char	*sp;

		if (blen + len + 3 > BATCH_BYTES && nev > 0)
			break;
		used = nl + 1 - buf;
		/* A line that is no event, or an old one: skipped. */
		if ((seq = line_seq(p, len)) == 0 || seq <= ep->done_seq)
			continue;
		sp = memchr(p, ' ', len);
		if (nev > 0)
			body[blen++] = ',';
		memcpy(body + blen, sp + 1, nl - sp - 1);
		blen += nl - sp - 1;
		ep->batch_last = seq;
		nev++;
	}
	free(buf);
	ep->batch_len = used;
	ep->batch_n = nev;
	memcpy(body + blen, "]}", 3);
	free(ep->body);
	ep->body = body;
	return (nev);
}

/* The batch went through: move the cursor, shrink the queue. */
static void
batch_done(struct nep *ep)
{
	uint64_t	 prev = ep->done_seq;

	if (ep->batch_n > 0)
		ep->done_seq = ep->batch_last;
	ep->head += ep->batch_len;
	ep->depth -= ep->batch_n < ep->depth ? ep->batch_n : ep->depth;
	ep->delivered += ep->batch_n;
	if (ep->done_seq != prev && pos_write(ep) == -1)
		ep->broken = 1;
	if (ep->head >= ep->size) {
		/* All out: start the file again (the cursor is a seq). */
		if (ftruncate(ep->qfd, 0) == 0) {
			ep->head = ep->size = 0;
			ep->depth = 0;
		}
	} else if (ep->head > ep->conf->queue_max / 2)
		(void)queue_compact(ep);
}

static void
batch_failed(struct nep *ep, const char *why)
{
	struct timeval	 tv;

	ep->failures++;
	strlcpy(ep->lasterr, why, sizeof(ep->lasterr));
	ep->lasterr_at = time(NULL);
	if (ep->backoff == 0)
		ep->backoff = ep->conf->backoff;
	else if ((ep->backoff *= 2) > ep->conf->backoff_max)
		ep->backoff = ep->conf->backoff_max;
	if (ep->failures == 1 || ep->failures % 100 == 0)
		log_warnx("notify %s: %s; %" PRIu64 " events wait, retrying "
		    "in %ds", ep->conf->name, why, ep->depth, ep->backoff);
	tv.tv_sec = ep->backoff;
	tv.tv_usec = 0;
	ep->retrying = 1;
	ep->retry_at = time(NULL) + ep->backoff;
	evtimer_add(&ep->ev_retry, &tv);
}

static void
curl_done(void)
{
	CURLMsg		*msg;
	struct nep	*ep;
	long		 code = 0;
	int		 left;
	char		 why[256];

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		ep = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&ep);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &code);
		curl_multi_remove_handle(multi, msg->easy_handle);
		if (ep == NULL)
			continue;
		ep->busy = 0;
		if (msg->data.result == CURLE_OK && code >= 200 && code < 300) {
			batch_done(ep);
			ep->backoff = 0;
			ep->last_ok = time(NULL);
			deliver(ep);
			continue;
		}
		if (msg->data.result != CURLE_OK)
			snprintf(why, sizeof(why), "%s", ep->errbuf[0] !=
			    '\0' ? ep->errbuf :
			    curl_easy_strerror(msg->data.result));
		else
			snprintf(why, sizeof(why), "HTTP status %ld", code);
		batch_failed(ep, why);
	}
}

static void
retry_cb(int fd, short what, void *arg)
{
	struct nep	*ep = arg;

	ep->retrying = 0;
	deliver(ep);
}

/* Post the next batch of ep, unless one is in flight or waits. */
static void
deliver(struct nep *ep)
{
	CURL	*h = ep->easy;
	int	 n;

	if (ep->busy || ep->retrying || ep->broken || parent_gone)
		return;
	if (ep->unresolved && ep->head < ep->size) {
		batch_failed(ep, "host name not resolved at start-up; "
		    "restart regd once it resolves");
		return;
	}
	while ((n = batch_build(ep)) <= 0) {
		if (n == -1) {
			batch_failed(ep, "cannot read the queue");
			return;
		}
		if (ep->batch_len == 0)
			return;
		batch_done(ep);		/* only lines to skip: past them */
	}
	curl_easy_reset(h);
	ep->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, ep->conf->url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, ep);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, ep->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(ep->body));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, ep->hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "regd-notify");
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)ep->conf->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)ep->conf->timeout);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ep->errbuf);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE, 1024L * 1024);
	if (ep->resolve != NULL)
		curl_easy_setopt(h, CURLOPT_RESOLVE, ep->resolve);
	if (ca_blob.data != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca_blob);
	if (curl_multi_add_handle(multi, h) != CURLM_OK) {
		batch_failed(ep, "cannot start the request");
		return;
	}
	ep->busy = 1;
}

/* ---- regctl show notify ---- */

static void
notify_show(struct chan *c, struct msg *m, void *arg)
{
	struct st_ctl_end	 e;
	struct nep		*ep;
	char			*buf = NULL;
	size_t			 len = 0, off;
	FILE			*fp;
	time_t			 now = time(NULL);
	int			 i;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		e.status = 1;
		chan_send(c, MSG_NOTIFY_END, m->hdr.peerid, -1, &e, sizeof(e));
		return;
	}
	if (neps == 0)
		fprintf(fp, "no notify endpoints\n");
	else
		fprintf(fp, "%-16s %8s %12s %10s %8s %8s  %s\n", "ENDPOINT",
		    "QUEUED", "QUEUE BYTES", "DELIVERED", "FAILURES",
		    "DROPPED", "STATE");
	for (i = 0; i < neps; i++) {
		ep = &eps[i];
		fprintf(fp, "%-16s %8" PRIu64 " %12lld %10" PRIu64 " %8"
		    PRIu64 " %8" PRIu64 "  %s", ep->conf->name, ep->depth,
		    (long long)(ep->size - ep->head), ep->delivered,
		    ep->failures, ep->dropped, ep->broken ? "broken" :
		    ep->retrying ? "retrying" : ep->busy ? "sending" :
		    "idle");
		if (ep->retrying)
			fprintf(fp, " in %llds", (long long)(ep->retry_at >
			    now ? ep->retry_at - now : 0));
		fprintf(fp, "\n");
		fprintf(fp, "  url %s\n", ep->conf->url);
		if (ep->lasterr[0] != '\0')
			fprintf(fp, "  last error %llds ago: %s\n",
			    (long long)(now - ep->lasterr_at), ep->lasterr);
	}
	fclose(fp);
	for (off = 0; off < len; off += CTL_CHUNK)
		chan_send(c, MSG_NOTIFY_TEXT, m->hdr.peerid, -1, buf + off,
		    len - off > CTL_CHUNK ? CTL_CHUNK : len - off);
	free(buf);
	e.status = 0;
	chan_send(c, MSG_NOTIFY_END, m->hdr.peerid, -1, &e, sizeof(e));
}

/* ---- the process ---- */

static int
notify_peer(enum proc_kind k, int slot, int fd)
{
	struct npeer	*np;

	switch (k) {
	case PROC_PARENT:
		np = &parent;
		break;
	case PROC_FRONTEND:
		if (slot < 0 || slot >= REGD_MAXSLOTS)
			return (-1);
		np = &fronts[slot];
		break;
	default:
		return (-1);
	}
	if (np->used)
		chan_clear(&np->chan);
	np->used = 1;
	proc_chan(&np->chan, k, slot, fd, np, notify_closed);
	return (0);
}

/* Read what is still in the channels, queue it, and go. */
static void
drain_and_exit(void)
{
	struct msg	 m;
	struct chan	*c;
	int		 i;

	for (i = 0; i < REGD_MAXSLOTS; i++) {
		if (!fronts[i].used || fronts[i].chan.fd == -1)
			continue;
		c = &fronts[i].chan;
		for (;;) {
			while (!c->dead && chan_get(c, &m) > 0)
				proc_dispatch(c, &m, &fronts[i]);
			if (c->dead || chan_read(c) <= 0)
				break;
		}
	}
	commit();
	exit(0);
}

static void
quit_cb(int fd, short what, void *arg)
{
	drain_and_exit();
}

/*
 * The parent is gone: the frontends follow it, and what they sent
 * before is read to the end before this process goes (at most 5 s).
 */
static void
notify_closed(struct chan *c, void *arg)
{
	struct npeer	*np = arg;
	struct timeval	 tv = { 5, 0 };
	int		 i;

	if (np == &parent) {
		parent_gone = 1;
		evtimer_add(&ev_quit, &tv);
	}
	chan_event_del(&np->chan);
	if (np != &parent) {
		chan_clear(&np->chan);
		np->used = 0;
	}
	if (!parent_gone)
		return;
	for (i = 0; i < REGD_MAXSLOTS; i++)
		if (fronts[i].used)
			return;
	drain_and_exit();
}

static void
notify_sig(int sig, short event, void *arg)
{
	drain_and_exit();
}

/*
 * Before the sandbox: the address of each endpoint's host (no resolver
 * in the chroot; a new address needs a restart), the CA bundle for
 * https, this host's name for the events' source.
 */
static void
notify_prepare(struct nep *ep)
{
	struct addrinfo	 hints, *res, *ai;
	struct curl_slist *l;
	char		 host[256], addr[INET6_ADDRSTRLEN], entry[600];
	size_t		 used;
	int		 port, https;

	if (notify_url_split(ep->conf->url, host, sizeof(host), &port,
	    &https) == -1)
		fatalx("notify %s: bad url", ep->conf->name);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		freeaddrinfo(res);	/* curl needs no resolver for it */
	} else {
		hints.ai_flags = 0;
		if (getaddrinfo(host, NULL, &hints, &res) != 0) {
			log_warnx("notify %s: cannot resolve %s; events wait "
			    "in the queue until a restart resolves it",
			    ep->conf->name, host);
			/* libcurl may not look it up in the sandbox. */
			ep->unresolved = 1;
			return;
		}
		used = snprintf(entry, sizeof(entry), "%s:%d:", host, port);
		for (ai = res; ai != NULL && used < sizeof(entry) - 50;
		    ai = ai->ai_next) {
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
			    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
				continue;
			used += snprintf(entry + used, sizeof(entry) - used,
			    "%s%s%s%s", entry[used - 1] == ':' ? "" : ",",
			    ai->ai_family == AF_INET6 ? "[" : "", addr,
			    ai->ai_family == AF_INET6 ? "]" : "");
		}
		freeaddrinfo(res);
		if ((l = curl_slist_append(NULL, entry)) == NULL)
			fatal("%s", __func__);
		ep->resolve = l;
	}
}

static void
notify_headers(struct nep *ep)
{
	struct curl_slist	*l = NULL;
	int			 i;

	l = curl_slist_append(l, "Content-Type: " EVENTS_MT);
	l = curl_slist_append(l, "Expect:");
	for (i = 0; l != NULL && i < ep->conf->nheaders; i++)
		l = curl_slist_append(l, ep->conf->headers[i]);
	if (l == NULL)
		fatal("%s", __func__);
	ep->hdrs = l;
}

static void
load_ca(void)
{
	unsigned char	*buf;
	size_t		 len;
	int		 fd, i, https = 0, port;
	char		 host[256];

	for (i = 0; i < neps; i++)
		if (notify_url_split(eps[i].conf->url, host, sizeof(host),
		    &port, &https) == 0 && https)
			break;
	if (!https)
		return;
	if ((fd = open(CA_BUNDLE, O_RDONLY | O_CLOEXEC)) == -1 ||
	    read_fd_all(fd, CA_MAX, 0, &buf, &len) == -1) {
		log_warn("notify: %s", CA_BUNDLE);
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	ca_blob.data = buf;
	ca_blob.len = len;
	ca_blob.flags = CURL_BLOB_NOCOPY;
}

/* Only one events process writes a queue: a leftover one finishes. */
static void
queue_lock(void)
{
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	int		 fd, i;

	if ((fd = open("lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("notify queue lock");
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; i++) {
		if (errno != EWOULDBLOCK || i == 300)
			fatal("notify queue lock");
		if (i == 0)
			log_info("notify: waiting for the previous events "
			    "process to finish with the queue");
		nanosleep(&ts, NULL);
	}
}

static void
source_init(void)
{
	struct server_conf	*srv;
	struct listen_addr	*la;
	char			 host[256];

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	srv = TAILQ_FIRST(&env->conf->servers);
	la = srv != NULL ? TAILQ_FIRST(&srv->listens) : NULL;
	snprintf(source_addr, sizeof(source_addr), "%s:%d", host,
	    la != NULL ? la->port : REGD_PORT);
	random_uuid(instance_id, sizeof(instance_id));
}

void
notify_main(struct proc_boot *boot)
{
	struct notify_conf	*nc = env->conf->notify;
	int			 i;

	neps = nc != NULL ? nc->nep : 0;
	for (i = 0; i < neps; i++) {
		eps[i].conf = &nc->ep[i];
		eps[i].qfd = eps[i].pfd = -1;
		notify_prepare(&eps[i]);
		notify_headers(&eps[i]);
	}
	load_ca();
	source_init();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (multi = curl_multi_init()) == NULL)
		fatalx("notify: cannot start libcurl");
	for (i = 0; i < neps; i++)
		if ((eps[i].easy = curl_easy_init()) == NULL)
			fatalx("notify: cannot start libcurl");
	if ((pend = calloc(MAX_PENDING, sizeof(*pend))) == NULL)
		fatal("%s", __func__);
	proc_sandbox(boot, env->conf->user);

	proc_listen(boot, notify_rules, sizeof(notify_rules) /
	    sizeof(notify_rules[0]), notify_peer);
	log_setchan(&parent.chan, MSG_LOG);
	if (neps > 0)
		queue_lock();
	for (i = 0; i < neps; i++) {
		evtimer_set(&eps[i].ev_retry, retry_cb, &eps[i]);
		if (queue_open(&eps[i]) == -1)
			eps[i].broken = 1;
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	evtimer_set(&ev_curl_timer, curl_timer_ev, NULL);
	evtimer_set(&ev_quit, quit_cb, NULL);
	event_assign(&ev_commit, env->base, -1, 0, commit_cb, NULL);
	signal_set(&ev_sigterm, SIGTERM, notify_sig, NULL);
	signal_set(&ev_sigint, SIGINT, notify_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	for (i = 0; i < neps; i++)
		deliver(&eps[i]);
	event_dispatch();
	exit(0);
}
