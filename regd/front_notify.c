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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"

#define MT_OCTET	"application/octet-stream"
#define NOTIFY_MAXQUEUE	(4 * 1024 * 1024)	/* bytes unread by it */

static struct chan	 notify_chan;
static int		 notify_on = -1;
static uint64_t		 notify_dropped;

static void
notify_closed(struct chan *c, void *arg)
{
	chan_clear(&notify_chan);
	notify_chan.evset = 0;
}

/* The channel to the events process, at start-up or after its restart. */
int
front_notify_peer(int instance, int fd)
{
	if (notify_chan.evset)
		chan_clear(&notify_chan);
	proc_chan(&notify_chan, PROC_NOTIFY, instance, fd, NULL,
	    notify_closed);
	return (0);
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

/* Storage answered c with success (res): tell the events process. */
void
front_notify(struct conn *c, const struct st_res *res)
{
	struct req		*r = &c->req;
	struct notify_event	 ev;
	struct timespec		 ts;

	if (notify_on == -1)
		notify_on = env->conf->notify != NULL &&
		    env->conf->notify->nep > 0;
	if (!notify_on)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.size = res->size;
	strlcpy(ev.digest, res->digest, sizeof(ev.digest));
	if ((ev.action = event_kind(c, res, &ev)) == 0)
		return;
	if (notify_chan.fd == -1 || !notify_chan.evset || notify_chan.dead ||
	    notify_chan.queued > NOTIFY_MAXQUEUE) {
		if (notify_dropped++ % 1000 == 0)
			log_warnx("events process unavailable, %llu events "
			    "dropped", (unsigned long long)notify_dropped);
		return;
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
	chan_send(&notify_chan, MSG_NOTIFY_EVENT, 0, -1, &ev, sizeof(ev));
}
