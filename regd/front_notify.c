/*
 * The frontends' side of event notifications: once storage answered a
 * request with success, what happened goes to the events process, before
 * the client has its answer.  The frontend knows the client (address,
 * user agent, user, Host) and storage's answer knows the object (digest,
 * size, media type), so the event is made here, as Distribution makes
 * it in its HTTP layer.  Nothing waits for the events process: if it is
 * away or behind, the event is dropped and counted, never the request.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"

#define MT_OCTET	"application/octet-stream"
#define NOTIFY_MAXQUEUE	(4 * 1024 * 1024)	/* bytes unread by it */

/* An answer held until its event is on disk. */
struct nwait {
	TAILQ_ENTRY(nwait)	 entry;
	struct conn		*c;
	uint32_t		 token;
	struct timespec		 since;
	struct st_res		 res;
};

static struct chan	 notify_chan;
static int		 notify_on = -1;
static uint64_t		 notify_dropped, notify_late;
static TAILQ_HEAD(, nwait) waits = TAILQ_HEAD_INITIALIZER(waits);
static uint32_t		 next_token;
static struct conn	*releasing;
static struct event	 ev_wait;

static void	 notify_ack(struct chan *, struct msg *, void *);

static const struct msg_rule	 notify_rules[] = {
	MR_EMPTY(MSG_NOTIFY_ACK, PEER(PROC_NOTIFY), notify_ack),
};

/* Answer what w held: the rest of api_storage_res, without an event. */
static void
release(struct nwait *w)
{
	TAILQ_REMOVE(&waits, w, entry);
	releasing = w->c;
	api_storage_res(w->c, &w->res, -1, NULL, 0);
	releasing = NULL;
	free(w);
}

static void
release_all(void)
{
	struct nwait	*w;

	while ((w = TAILQ_FIRST(&waits)) != NULL)
		release(w);
}

static void
front_notify_closed(struct chan *c, void *arg)
{
	chan_clear(&notify_chan);
	notify_chan.evset = 0;
	release_all();
}

static void
notify_dispatch(struct chan *c, struct msg *m, void *arg)
{
	const struct msg_rule	*r;
	const char		*why;

	r = msg_rule_find(notify_rules, sizeof(notify_rules) /
	    sizeof(notify_rules[0]), m->hdr.type);
	if (msg_rule_check(r, c, m, &why) == -1) {
		proc_peer_fail(c, m, why);
		return;
	}
	r->fn(c, m, arg);
	if (m->fd != -1)
		close(m->fd);
}

static void
notify_ack(struct chan *c, struct msg *m, void *arg)
{
	struct nwait	*w;

	TAILQ_FOREACH(w, &waits, entry)
		if (w->token == m->hdr.peerid) {
			release(w);
			return;
		}
}

/* Answers held longer than NOTIFY_SYNC_WAIT go without their ack. */
static void
wait_timer(int fd, short event, void *arg)
{
	struct nwait	*w;
	struct timespec	 now;
	struct timeval	 tv = { 0, 100 * 1000 };
	int64_t		 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while ((w = TAILQ_FIRST(&waits)) != NULL) {
		ms = (now.tv_sec - w->since.tv_sec) * 1000 +
		    (now.tv_nsec - w->since.tv_nsec) / 1000000;
		if (ms < NOTIFY_SYNC_WAIT)
			break;
		if (notify_late++ % 100 == 0)
			log_warnx("events process slow to queue events, %llu "
			    "answers sent before their event was on disk",
			    (unsigned long long)notify_late);
		release(w);
	}
	if (!TAILQ_EMPTY(&waits))
		evtimer_add(&ev_wait, &tv);
}

/* The channel to the events process, at start-up or after its restart. */
int
front_notify_peer(int instance, int fd)
{
	if (notify_chan.evset)
		chan_clear(&notify_chan);
	/* proc_chan's framing checks, with this file's own rules. */
	proc_chan(&notify_chan, PROC_NOTIFY, instance, fd, NULL,
	    front_notify_closed);
	chan_event_del(&notify_chan);
	chan_event_set(&notify_chan, notify_dispatch, front_notify_closed,
	    NULL);
	return (0);
}

/* c is closing: an answer it held has nobody to go to. */
void
front_notify_forget(struct conn *c)
{
	struct nwait	*w, *t;

	TAILQ_FOREACH_SAFE(w, &waits, entry, t)
		if (w->c == c) {
			TAILQ_REMOVE(&waits, w, entry);
			free(w);
		}
}

static int
is_digest(const char *ref)
{
	return (strchr(ref, ':') != NULL);
}

static void
request_id(struct conn *c, char *buf, size_t len)
{
	unsigned char	 r[16];

	arc4random_buf(r, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/*
 * Which event a successful answer is, as in Distribution: manifest and
 * blob pulls (HEAD too: Distribution serves both through the same
 * handler), pushes, mounts and deletes; 0 when none.
 */
static int
event_kind(struct conn *c, const struct st_res *res, struct notify_event *ev)
{
	struct req	*r = &c->req;

	switch (r->st_type) {
	case ST_BLOB_GET:
		strlcpy(ev->mediatype, MT_OCTET, sizeof(ev->mediatype));
		return (NACT_PULL);
	case ST_MANIFEST_GET:
		if (!is_digest(r->ref))
			strlcpy(ev->tag, r->ref, sizeof(ev->tag));
		strlcpy(ev->mediatype, res->mediatype, sizeof(ev->mediatype));
		return (NACT_PULL);
	case ST_MANIFEST_PUT:
		if (!is_digest(r->ref))
			strlcpy(ev->tag, r->ref, sizeof(ev->tag));
		strlcpy(ev->mediatype, res->mediatype[0] != '\0' ?
		    res->mediatype : r->ctype != NULL ? r->ctype : "",
		    sizeof(ev->mediatype));
		if (ev->size < 0 || res->size <= 0)
			ev->size = r->body_seen;
		return (NACT_PUSH);
	case ST_MANIFEST_DELETE:
		if (!is_digest(r->ref)) {
			strlcpy(ev->tag, r->ref, sizeof(ev->tag));
			ev->digest[0] = '\0';
		} else
			strlcpy(ev->digest, r->ref, sizeof(ev->digest));
		return (NACT_DELETE);
	case ST_BLOB_DELETE:
		strlcpy(ev->digest, r->ref, sizeof(ev->digest));
		return (NACT_DELETE);
	case ST_UPLOAD_START:
		if ((res->flags & STR_MOUNTED) == 0)
			return (0);
		strlcpy(ev->mediatype, MT_OCTET, sizeof(ev->mediatype));
		strlcpy(ev->from, r->mountfrom, sizeof(ev->from));
		return (NACT_MOUNT);
	case ST_UPLOAD_WRITE:
		if (res->status != 201)
			return (0);
		strlcpy(ev->mediatype, MT_OCTET, sizeof(ev->mediatype));
		return (NACT_PUSH);
	default:
		return (0);
	}
}

/*
 * Storage answered c with success (res): tell the events process.
 * Returns 1 when the answer waits for the event to be on disk (it is
 * given later through api_storage_res), 0 to answer now.
 */
int
front_notify(struct conn *c, const struct st_res *res)
{
	struct req		*r = &c->req;
	struct notify_event	 ev;
	struct timespec		 ts;
	struct timeval		 tv = { 0, 100 * 1000 };
	struct nwait		*w = NULL;
	uint32_t		 token = 0;

	if (notify_on == -1) {
		notify_on = env->conf->notify != NULL &&
		    env->conf->notify->nep > 0;
		evtimer_set(&ev_wait, wait_timer, NULL);
	}
	if (!notify_on || c == releasing)
		return (0);
	memset(&ev, 0, sizeof(ev));
	ev.size = res->size;
	strlcpy(ev.digest, res->digest, sizeof(ev.digest));
	if ((ev.action = event_kind(c, res, &ev)) == 0)
		return (0);
	if (notify_chan.fd == -1 || !notify_chan.evset || notify_chan.dead ||
	    notify_chan.queued > NOTIFY_MAXQUEUE) {
		if (notify_dropped++ % 1000 == 0)
			log_warnx("events process unavailable, %llu events "
			    "dropped", (unsigned long long)notify_dropped);
		return (0);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.when_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	ev.tls = c->la->tls;
	strlcpy(ev.repo, r->name, sizeof(ev.repo));
	request_id(c, ev.reqid, sizeof(ev.reqid));
	strlcpy(ev.method, r->method, sizeof(ev.method));
	strlcpy(ev.addr, c->addr, sizeof(ev.addr));
	if (r->host != NULL)
		strlcpy(ev.host, r->host, sizeof(ev.host));
	if (r->ua != NULL)
		strlcpy(ev.useragent, r->ua, sizeof(ev.useragent));
	strlcpy(ev.actor, r->user, sizeof(ev.actor));
	/* Only answers without a body to send can wait: not the pulls. */
	if (ev.action != NACT_PULL && (w = calloc(1, sizeof(*w))) != NULL) {
		if (++next_token == 0)
			next_token = 1;
		token = next_token;
	}
	if (chan_send(&notify_chan, MSG_NOTIFY_EVENT, token, -1, &ev,
	    sizeof(ev)) == -1 || w == NULL) {
		free(w);
		return (0);
	}
	w->c = c;
	w->token = token;
	w->res = *res;
	clock_gettime(CLOCK_MONOTONIC, &w->since);
	TAILQ_INSERT_TAIL(&waits, w, entry);
	if (!evtimer_pending(&ev_wait, NULL))
		evtimer_add(&ev_wait, &tv);
	return (1);
}
