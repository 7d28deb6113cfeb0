/*
 * The storage process: the only one that touches the blob directory.
 * It serves requests from the frontends and the parent, one message at
 * a time, and trusts nothing it is sent.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <jansson.h>

#include "regd.h"
#include "store.h"
#include "mirror.h"

enum peer_kind {
	PEER_PARENT,
	PEER_LOGGER,
	PEER_FRONT,
	PEER_FETCHER
};

struct peer {
	struct chan	 c;
	enum peer_kind	 kind;
	int		 slot;
	uint64_t	 gen;		/* this channel, for parked answers */
	struct event	 ev_gc;
	int		 gcset;
};

/* A request whose body is still arriving, by frontend slot and id. */
struct stream {
	RB_ENTRY(stream)	 entry;
	int			 slot;
	uint32_t		 id;
	struct st_stream	*st;
	int			 fd;		/* the body's pipe, or -1 */
	int			 reading;	/* ev is added */
	struct event		 ev;
};
RB_HEAD(st_stream_tree, stream);

static int	stream_cmp(struct stream *, struct stream *);
RB_PROTOTYPE(st_stream_tree, stream, entry, stream_cmp)
RB_GENERATE(st_stream_tree, stream, entry, stream_cmp)

static struct st_stream_tree	 streams = RB_INITIALIZER(&streams);
static struct peer		 parent, logger, fetcher;
static struct peer		*fronts[REGD_MAXSLOTS];
static uint64_t			 front_gen;

static void	 peer_dispatch(struct chan *, struct msg *, void *);
static void	 peer_closed(struct chan *, void *);
static void	 answer(struct peer *, uint32_t, struct st_res *, int,
		    const void *);
static void	 front_add(int, int);
static void	 front_free(struct peer *);
static int	 storage_peer(enum proc_kind, int, int);

static int
stream_cmp(struct stream *a, struct stream *b)
{
	if (a->slot != b->slot)
		return (a->slot < b->slot ? -1 : 1);
	if (a->id != b->id)
		return (a->id < b->id ? -1 : 1);
	return (0);
}

static struct stream *
stream_find(int slot, uint32_t id)
{
	struct stream	 key;

	key.slot = slot;
	key.id = id;
	return (RB_FIND(st_stream_tree, &streams, &key));
}

static void
stream_drop(struct stream *s, int abort)
{
	RB_REMOVE(st_stream_tree, &streams, s);
	if (s->fd != -1) {
		if (s->reading)
			event_del(&s->ev);
		close(s->fd);
	}
	if (abort)
		store_stream_abort(s->st);
	free(s);
}

/* A piped body is readable: into the upload, an early answer sent. */
static void
stream_pipe_cb(int fd, short event, void *arg)
{
	struct stream	*s = arg;
	struct peer	*p = fronts[s->slot];
	struct st_res	 res;
	int		 rv;

	memset(&res, 0, sizeof(res));
	if ((rv = store_stream_read(s->st, fd, 0, &res)) == 0)
		return;
	event_del(&s->ev);
	s->reading = 0;
	if (rv == 1 && p != NULL && !p->c.dead)
		answer(p, s->id, &res, -1, NULL);
}

/* Calls of store_stream_read at a body's end: far more than a pipe holds. */
#define PIPE_END_CALLS	64

/*
 * The end of a piped body: the frontend closed its end of the pipe
 * before it said so, so what is left there is read without waiting.  A
 * pipe that is not at its end is a frontend's error: the upload fails.
 * One that still fills after more than a pipe holds was kept open by the
 * frontend, which is failed rather than read forever: -1.
 */
static int
stream_pipe_end(struct peer *p, struct stream *s, struct msg *m)
{
	struct st_res	 res;
	int		 rv, i;

	if (s->reading) {
		event_del(&s->ev);
		s->reading = 0;
	}
	memset(&res, 0, sizeof(res));
	for (i = 0; (rv = store_stream_read(s->st, s->fd, 1, &res)) == 0;
	    i++) {
		if (i == PIPE_END_CALLS) {
			proc_peer_fail(&p->c, m, "piped body after its end");
			return (-1);
		}
	}
	if (rv == 1)
		answer(p, s->id, &res, -1, NULL);
	close(s->fd);
	s->fd = -1;
	return (0);
}

/* Undo every unfinished body of a frontend that went away. */
static void
streams_abort_slot(int slot)
{
	struct stream	*s, *next;

	RB_FOREACH_SAFE(s, st_stream_tree, &streams, next)
		if (s->slot == slot)
			stream_drop(s, 1);
}

static void
peer_gc(int fd, short event, void *arg)
{
	struct peer	*p = arg;

	p->gcset = 0;
	if (p->kind == PEER_FRONT) {
		front_free(p);		/* p is gone */
		return;
	}
	chan_clear(&p->c);
	if (p->kind == PEER_FETCHER)
		memset(&p->c, 0, sizeof(p->c));
}

/*
 * A peer is finished with.  Its memory goes later, from the event loop,
 * because this may run inside that peer's own dispatch.
 */
static void
peer_shut(struct peer *p)
{
	struct timeval	 tv = { 0, 0 };

	p->c.dead = 1;
	chan_event_del(&p->c);
	if (p->kind == PEER_PARENT) {
		log_debug("parent gone, exiting");
		exit(0);
	}
	if (!p->gcset) {
		evtimer_assign(&p->ev_gc, env->base, peer_gc, p);
		evtimer_add(&p->ev_gc, &tv);
		p->gcset = 1;
	}
}

static void
peer_closed(struct chan *c, void *arg)
{
	struct peer	*p = arg;

	if (p->kind == PEER_FRONT)
		log_debug("frontend %d: channel closed", p->slot);
	if (p->kind == PEER_FETCHER)
		mirror_fetcher_gone();
	peer_shut(p);
}

static void
front_free(struct peer *p)
{
	if (p->gcset) {
		evtimer_del(&p->ev_gc);
		p->gcset = 0;
	}
	streams_abort_slot(p->slot);
	chan_clear(&p->c);
	if (fronts[p->slot] == p) {
		fronts[p->slot] = NULL;
		park_forget(p->slot);
	}
	free(p);
}

static void
front_add(int slot, int fd)
{
	struct peer	*p;

	if (fronts[slot] != NULL)
		front_free(fronts[slot]);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	p->kind = PEER_FRONT;
	p->slot = slot;
	p->gen = ++front_gen;
	fronts[slot] = p;
	proc_chan(&p->c, PROC_FRONTEND, slot, fd, p, peer_closed);
	p->c.maxqueue = ST_MAXQUEUE;
	p->c.maxqfds = ST_MAXQFDS;
}

/* The parent and the logger at start-up; frontends then or later. */
static int
storage_peer(enum proc_kind k, int instance, int fd)
{
	struct peer	*p;

	switch (k) {
	case PROC_PARENT:
	case PROC_LOGGER:
		if (k == PROC_PARENT ? parent.c.evset : logger.c.evset)
			return (-1);
		p = k == PROC_PARENT ? &parent : &logger;
		p->kind = k == PROC_PARENT ? PEER_PARENT : PEER_LOGGER;
		p->slot = -1;
		proc_chan(&p->c, k, -1, fd, p, peer_closed);
		if (k == PROC_LOGGER)
			log_setchan(&logger.c, MSG_LOG);
		return (0);
	case PROC_FRONTEND:
		front_add(instance, fd);
		return (0);
	case PROC_FETCHER:
		/*
		 * A restarted fetcher replaces the one that died, even if
		 * the old channel's end has not been read yet.
		 */
		if (fetcher.c.evset && !fetcher.c.dead)
			mirror_fetcher_gone();
		if (fetcher.gcset)
			evtimer_del(&fetcher.ev_gc);
		if (fetcher.c.evset || fetcher.gcset)
			chan_clear(&fetcher.c);
		memset(&fetcher, 0, sizeof(fetcher));
		fetcher.kind = PEER_FETCHER;
		fetcher.slot = -1;
		proc_chan(&fetcher.c, k, 0, fd, &fetcher, peer_closed);
		mirror_set_fetcher(&fetcher.c);
		return (0);
	default:
		return (-1);
	}
}

/* An answer, with a descriptor or followed by a small body of res->size. */
static void
answer(struct peer *p, uint32_t id, struct st_res *res, int fd,
    const void *body)
{
	struct iovec	 iov[2];

	if (res->status == 403 && strcmp(res->code, "DENIED") == 0)
		store_stats.quota_refusals++;
	iov[0].iov_base = res;
	iov[0].iov_len = sizeof(*res);
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = body != NULL ? res->size : 0;
	if (chan_sendv(&p->c, ST_RES, id, fd, iov, body != NULL ? 2 : 1) ==
	    -1)
		log_debug("frontend %d: cannot answer request %u", p->slot,
		    id);
}

/* A parked request's answer, if the frontend that asked is still there. */
static int
park_answer(int slot, uint64_t gen, uint32_t id, struct st_res *res, int fd,
    const void *body)
{
	struct peer	*p;

	if (slot < 0 || slot >= REGD_MAXSLOTS || (p = fronts[slot]) == NULL ||
	    p->gen != gen || p->c.dead) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	answer(p, id, res, fd, body);
	return (0);
}

/* A request whose body follows, in ST_DATA messages. */
static void
front_stream(struct peer *p, struct msg *m, struct st_res *res)
{
	struct st_manifest_put	 mq;
	struct st_upload_write	 uq;
	struct stream		*s;
	uint32_t		 id = m->hdr.peerid;
	int			 now;

	if ((s = stream_find(p->slot, id)) != NULL) {
		log_warnx("frontend %d: request %u reused", p->slot, id);
		stream_drop(s, 1);
	}
	if ((s = calloc(1, sizeof(*s))) != NULL) {
		if (m->hdr.type == ST_MANIFEST_PUT) {
			MSG_COPY(m, &mq);
			/* A frontend's manifest is checked in full. */
			mq.flags &= ~STF_MIRROR;
			s->st = store_manifest_put_begin(&mq, res, &now);
		} else {
			MSG_COPY(m, &uq);
			s->st = store_upload_write_begin(&uq, res, &now);
		}
	}
	if (s == NULL || s->st == NULL) {
		free(s);
		park_end();
		store_err(res, 500, "UNKNOWN", "out of memory");
		answer(p, id, res, -1, NULL);
		return;
	}
	s->slot = p->slot;
	s->id = id;
	s->fd = -1;
	if (m->fd != -1) {
		/* The body comes through this pipe, not in messages. */
		s->fd = m->fd;
		m->fd = -1;
		event_assign(&s->ev, env->base, s->fd, EV_READ | EV_PERSIST,
		    stream_pipe_cb, s);
		if (event_add(&s->ev, NULL) == 0)
			s->reading = 1;
	}
	RB_INSERT(st_stream_tree, &streams, s);
	if (!park_end() && now)
		answer(p, id, res, -1, NULL);
}

/* A request, its size and strings checked by its rule (storage_rules). */
static void
front_request(struct peer *p, struct msg *m)
{
	union {
		struct st_blob_get	 blob_get;
		struct st_blob_delete	 blob_delete;
		struct st_manifest_get	 manifest_get;
		struct st_manifest_delete manifest_delete;
		struct st_upload_start	 upload_start;
		struct st_upload	 upload;
		struct st_list		 list;
		struct st_referrers	 referrers;
	}		 q;
	struct st_res	 res;
	const void	*body = NULL;
	uint32_t	 id = m->hdr.peerid;
	int		 fd = -1;

	memset(&res, 0, sizeof(res));
	park_begin(p->slot, p->gen, id);
	switch (m->hdr.type) {
	case ST_MANIFEST_PUT:
	case ST_UPLOAD_WRITE:
		front_stream(p, m, &res);
		return;
	case ST_BLOB_GET:
		MSG_COPY(m, &q.blob_get);
		/* A mirror's may go upstream, else the store answers. */
		if (!(q.blob_get.flags & STF_MIRROR) ||
		    !mirror_blob_get(&q.blob_get, &res, &fd, &body))
			store_blob_get(&q.blob_get, &res, &fd, &body);
		break;
	case ST_BLOB_DELETE:
		MSG_COPY(m, &q.blob_delete);
		store_blob_delete(&q.blob_delete, &res, &fd);
		break;
	case ST_MANIFEST_GET:
		MSG_COPY(m, &q.manifest_get);
		if (!(q.manifest_get.flags & STF_MIRROR) ||
		    !mirror_manifest_get(&q.manifest_get, &res, &fd, &body))
			store_manifest_get(&q.manifest_get, &res, &fd, &body);
		break;
	case ST_MANIFEST_DELETE:
		MSG_COPY(m, &q.manifest_delete);
		store_manifest_delete(&q.manifest_delete, &res, &fd);
		break;
	case ST_UPLOAD_START:
		MSG_COPY(m, &q.upload_start);
		store_upload_start(&q.upload_start, &res, &fd);
		break;
	case ST_UPLOAD_STATUS:
	case ST_UPLOAD_CANCEL:
		MSG_COPY(m, &q.upload);
		if (m->hdr.type == ST_UPLOAD_STATUS)
			store_upload_status(&q.upload, &res, &fd);
		else
			store_upload_cancel(&q.upload, &res, &fd);
		break;
	case ST_TAGS_LIST:
	case ST_CATALOG:
		MSG_COPY(m, &q.list);
		if (m->hdr.type == ST_TAGS_LIST)
			store_tags_list(&q.list, &res, &fd);
		else
			store_catalog(&q.list, &res, &fd);
		break;
	case ST_REFERRERS:
		MSG_COPY(m, &q.referrers);
		store_referrers(&q.referrers, &res, &fd);
		break;
	case ST_HEALTH:
		/* An answer at all says this loop runs; the space, how full. */
		store_health(&res);
		break;
	default:
		park_end();
		return;
	}
	if (!park_end())
		answer(p, id, &res, fd, body);
}

static void
front_dispatch(struct peer *p, struct msg *m)
{
	struct st_res	 res;
	struct stat	 sb;
	struct stream	*s;
	uint32_t	 id = m->hdr.peerid;
	int		 now, fl;

	/* A descriptor only with an upload's body: its pipe, read
	   without ever waiting. */
	if (m->fd != -1 && (m->hdr.type != ST_UPLOAD_WRITE ||
	    fstat(m->fd, &sb) == -1 || !S_ISFIFO(sb.st_mode) ||
	    (fl = fcntl(m->fd, F_GETFL)) == -1 ||
	    fcntl(m->fd, F_SETFL, fl | O_NONBLOCK) == -1)) {
		proc_peer_fail(&p->c, m, "unexpected descriptor");
		return;
	}
	switch (m->hdr.type) {
	case ST_DATA:
		if ((s = stream_find(p->slot, id)) == NULL) {
			log_debug("frontend %d: data for unknown request %u",
			    p->slot, id);
			return;
		}
		if (s->fd != -1) {
			proc_peer_fail(&p->c, m, "data for a piped body");
			return;
		}
		memset(&res, 0, sizeof(res));
		if (store_stream_data(s->st, m->data, m->len, &res))
			answer(p, id, &res, -1, NULL);
		return;
	case ST_DATA_END:
	case ST_DATA_ABORT:
		if (m->len != 0) {
			proc_peer_fail(&p->c, m, "payload on end of body");
			return;
		}
		if ((s = stream_find(p->slot, id)) == NULL) {
			log_debug("frontend %d: end of unknown request %u",
			    p->slot, id);
			return;
		}
		if (m->hdr.type == ST_DATA_ABORT) {
			stream_drop(s, 1);
			return;
		}
		if (s->fd != -1 && stream_pipe_end(p, s, m) == -1)
			return;
		memset(&res, 0, sizeof(res));
		park_begin(p->slot, p->gen, id);
		now = store_stream_end(s->st, &res);
		if (!park_end() && now)
			answer(p, id, &res, -1, NULL);
		stream_drop(s, 0);
		return;
	case ST_BLOB_GET:
	case ST_BLOB_DELETE:
	case ST_MANIFEST_GET:
	case ST_MANIFEST_PUT:
	case ST_MANIFEST_DELETE:
	case ST_UPLOAD_START:
	case ST_UPLOAD_WRITE:
	case ST_UPLOAD_STATUS:
	case ST_UPLOAD_CANCEL:
	case ST_TAGS_LIST:
	case ST_CATALOG:
	case ST_REFERRERS:
	case ST_HEALTH:
		front_request(p, m);
		return;
	default:
		proc_peer_fail(&p->c, m, "unexpected message");
		return;
	}
}

/* Send a text report to the parent in chunks of whole lines. */
static void
ctl_send(uint32_t id, char *text, size_t len)
{
	size_t	 off = 0, n;
	char	*nl;
	int32_t	 status;

	while (text != NULL && off < len) {
		n = len - off;
		if (n > CTL_CHUNK) {
			n = CTL_CHUNK;
			nl = memrchr(text + off, '\n', n);
			if (nl != NULL)
				n = nl - (text + off) + 1;
		}
		if (chan_send(&parent.c, ST_CTL_RES, id, -1, text + off, n) ==
		    -1)
			break;
		off += n;
	}
	status = 0;
	chan_send(&parent.c, ST_CTL_END, id, -1, &status, sizeof(status));
	free(text);
}

static void
st_parent_dispatch(struct peer *p, struct msg *m)
{
	struct store_conf	*scp;
	struct store_stats	 stats;
	struct st_ctl_repo	 cr;
	char		*text;
	size_t		 len = 0;
	int32_t		 v;

	switch (m->hdr.type) {
	case ST_CTL_REPOS:
		text = store_ctl_repos(&len);
		ctl_send(m->hdr.peerid, text, len);
		return;
	case ST_CTL_TAGS:
		MSG_COPY(m, &cr);
		text = store_ctl_tags(cr.repo, &len);
		ctl_send(m->hdr.peerid, text, len);
		return;
	case ST_CTL_GC:
	case ST_CTL_FSCK:
		if (m->len != sizeof(v))
			break;
		memcpy(&v, m->data, sizeof(v));
		if (m->hdr.type == ST_CTL_GC)
			gc_ctl_gc(m->hdr.peerid, v);
		else
			gc_ctl_fsck(m->hdr.peerid, v & 1);
		return;
	case ST_CTL_RM:
	case ST_CTL_USAGE:
		MSG_COPY(m, &cr);
		if (m->hdr.type == ST_CTL_RM)
			gc_ctl_rm(m->hdr.peerid, cr.repo);
		else
			gc_ctl_usage(m->hdr.peerid, cr.repo);
		return;
	case ST_CTL_MIRROR:
		text = mirror_ctl_text(&len);
		ctl_send(m->hdr.peerid, text, len);
		return;
	case ST_STATS_REQ:
		store_stats_fill(&stats);
		mirror_stats_fill(&stats);
		chan_send(&parent.c, ST_STATS, m->hdr.peerid, -1, &stats,
		    sizeof(stats));
		return;
	case ST_CONF:
		if (m->len != sizeof(*scp) || (scp = malloc(sizeof(*scp))) ==
		    NULL)
			break;
		memcpy(scp, m->data, sizeof(*scp));
		gc_conf(scp);
		mirror_cache_conf(gc_store_conf());
		free(scp);
		return;
	default:
		break;
	}
	proc_peer_fail(&p->c, m, "unexpected message");
}

static void
peer_dispatch(struct chan *c, struct msg *m, void *arg)
{
	struct peer	*p = arg;

	switch (p->kind) {
	case PEER_PARENT:
		st_parent_dispatch(p, m);
		break;
	case PEER_FRONT:
		front_dispatch(p, m);
		break;
	case PEER_LOGGER:
		proc_peer_fail(&p->c, m, "the logger sends nothing");
		break;
	case PEER_FETCHER:
		mirror_dispatch(c, m);
		break;
	}
}

/* The strings of each request, which must end inside their arrays. */
#define STR(s, f)	MSG_STR(struct s, f)
static const struct msg_str	 blob_get_strs[] = {
	STR(st_blob_get, repo), STR(st_blob_get, digest),
	STR(st_blob_get, mirror.upstream),
	STR(st_blob_get, mirror.upstream_name), MSG_STR_END
};
static const struct msg_str	 blob_delete_strs[] = {
	STR(st_blob_delete, repo), STR(st_blob_delete, digest), MSG_STR_END
};
static const struct msg_str	 manifest_get_strs[] = {
	STR(st_manifest_get, repo), STR(st_manifest_get, ref),
	STR(st_manifest_get, mirror.upstream),
	STR(st_manifest_get, mirror.upstream_name), MSG_STR_END
};
static const struct msg_str	 manifest_put_strs[] = {
	STR(st_manifest_put, repo), STR(st_manifest_put, ref),
	STR(st_manifest_put, mediatype), MSG_STR_END
};
static const struct msg_str	 manifest_delete_strs[] = {
	STR(st_manifest_delete, repo), STR(st_manifest_delete, ref),
	MSG_STR_END
};
static const struct msg_str	 upload_start_strs[] = {
	STR(st_upload_start, repo), STR(st_upload_start, mount_digest),
	STR(st_upload_start, from_repo), STR(st_upload_start, client),
	MSG_STR_END
};
static const struct msg_str	 upload_write_strs[] = {
	STR(st_upload_write, repo), STR(st_upload_write, uuid),
	STR(st_upload_write, digest), STR(st_upload_write, client),
	MSG_STR_END
};
static const struct msg_str	 upload_strs[] = {
	STR(st_upload, repo), STR(st_upload, uuid), MSG_STR_END
};
static const struct msg_str	 list_strs[] = {
	STR(st_list, repo), STR(st_list, last), MSG_STR_END
};
static const struct msg_str	 referrers_strs[] = {
	STR(st_referrers, repo), STR(st_referrers, digest),
	STR(st_referrers, artifact_type), MSG_STR_END
};
static const struct msg_str	 ctl_repo_strs[] = {
	STR(st_ctl_repo, repo), MSG_STR_END
};
#undef STR

#define FRONT_REQ(t, s, strs) \
	MR_STRS((t), PEER(PROC_FRONTEND), struct s, (strs), MR_NONE, \
	    peer_dispatch)
#define CTL_REQ(t, s) \
	MR_FIXED((t), PEER(PROC_PARENT), s, MR_NONE, peer_dispatch)

/*
 * Requests and bodies from the frontends, housekeeping from the parent:
 * the one place where the size of each message type is checked.
 */
static const struct msg_rule	 storage_rules[] = {
	FRONT_REQ(ST_BLOB_GET, st_blob_get, blob_get_strs),
	FRONT_REQ(ST_BLOB_DELETE, st_blob_delete, blob_delete_strs),
	FRONT_REQ(ST_MANIFEST_GET, st_manifest_get, manifest_get_strs),
	FRONT_REQ(ST_MANIFEST_PUT, st_manifest_put, manifest_put_strs),
	FRONT_REQ(ST_MANIFEST_DELETE, st_manifest_delete,
	    manifest_delete_strs),
	FRONT_REQ(ST_UPLOAD_START, st_upload_start, upload_start_strs),
	/* with the pipe of a plain HTTP body of known length */
	MR_STRS(ST_UPLOAD_WRITE, PEER(PROC_FRONTEND), struct st_upload_write,
	    upload_write_strs, MR_MAY, peer_dispatch),
	FRONT_REQ(ST_UPLOAD_STATUS, st_upload, upload_strs),
	FRONT_REQ(ST_UPLOAD_CANCEL, st_upload, upload_strs),
	FRONT_REQ(ST_TAGS_LIST, st_list, list_strs),
	FRONT_REQ(ST_CATALOG, st_list, list_strs),
	FRONT_REQ(ST_REFERRERS, st_referrers, referrers_strs),
	MR_EMPTY(ST_HEALTH, PEER(PROC_FRONTEND), peer_dispatch),
	MR_RANGE(ST_DATA, PEER(PROC_FRONTEND), 0, MSG_MAXPAYLOAD, MR_NONE,
	    peer_dispatch),
	MR_EMPTY(ST_DATA_END, PEER(PROC_FRONTEND), peer_dispatch),
	MR_EMPTY(ST_DATA_ABORT, PEER(PROC_FRONTEND), peer_dispatch),
	MR_EMPTY(ST_CTL_REPOS, PEER(PROC_PARENT), peer_dispatch),
	MR_STRS(ST_CTL_TAGS, PEER(PROC_PARENT), struct st_ctl_repo,
	    ctl_repo_strs, MR_NONE, peer_dispatch),
	MR_STRS(ST_CTL_RM, PEER(PROC_PARENT), struct st_ctl_repo,
	    ctl_repo_strs, MR_NONE, peer_dispatch),
	MR_STRS(ST_CTL_USAGE, PEER(PROC_PARENT), struct st_ctl_repo,
	    ctl_repo_strs, MR_NONE, peer_dispatch),
	CTL_REQ(ST_CTL_GC, struct st_ctl_flags),
	CTL_REQ(ST_CTL_FSCK, struct st_ctl_flags),
	CTL_REQ(ST_CONF, struct store_conf),
	MR_EMPTY(ST_CTL_MIRROR, PEER(PROC_PARENT), peer_dispatch),
	MR_FIXED(MIR_HEAD, PEER(PROC_FETCHER), struct mir_head, MR_NONE,
	    peer_dispatch),
	MR_RANGE(MIR_DATA, PEER(PROC_FETCHER), 1, MSG_MAXPAYLOAD, MR_NONE,
	    peer_dispatch),
	MR_FIXED(MIR_END, PEER(PROC_FETCHER), struct mir_end, MR_NONE,
	    peer_dispatch),
	MR_RANGE(MIR_PIPE, PEER(PROC_FETCHER), 0, 0, MR_MUST, peer_dispatch),
	MR_EMPTY(ST_STATS_REQ, PEER(PROC_PARENT), peer_dispatch),
};

static void
storage_sig(int sig, short event, void *arg)
{
	mirror_cache_flush();
	exit(0);
}

static int
int_cmp(const void *a, const void *b)
{
	return (*(const int *)a - *(const int *)b);
}

/*
 * glibc's qsort asks sysinfo(2) for the memory size the first time it
 * sorts more than a few hundred bytes, a call the sandbox forbids: make
 * that first time now.
 */
static void
qsort_prime(void)
{
	int	*v;
	size_t	 i, n = 4096;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < n; i++)
		v[i] = (int)(n - i);
	qsort(v, n, sizeof(*v), int_cmp);
	free(v);
}

void
storage_main(struct proc_boot *boot)
{
	struct event	 ev_term, ev_int;
	char		 probe[MAX_DIGEST + 1];
	long		 ncpu;

	proc_title("storage");
	log_procname("storage");

	/* Load what would need files outside the chroot now. */
	json_object_seed(0);
	if (store_digest_buf("sha256", "", 0, probe, sizeof(probe)) == -1 ||
	    store_digest_buf("sha512", "", 0, probe, sizeof(probe)) == -1)
		fatalx("storage: no sha256/sha512 digests");
	arc4random_buf(probe, sizeof(probe));
	qsort_prime();

	/*
	 * Upload bytes are written and hashed by threads (store_io.c),
	 * one per CPU, when there are CPUs to spare: on two, the
	 * frontends and the clients keep both busy and the hand-offs
	 * cost more than they gain (regress/bench/README), so this
	 * process does that work itself.
	 */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < IO_MINCPUS)
		ncpu = 0;
	if (env->iothreads > 0)
		ncpu = env->iothreads;
	if (ncpu > 0 && io_start((int)ncpu) == -1)
		log_warnx("storage: not every upload thread started");
	if (job_start(JOB_THREADS) == -1)
		log_warnx("storage: not every job thread started");
	park_init(park_answer);

	if (env->base == NULL) {
		env->base = event_init();
		chan_base(env->base);
	}
	signal(SIGPIPE, SIG_IGN);
	signal_set(&ev_term, SIGTERM, storage_sig, NULL);
	signal_set(&ev_int, SIGINT, storage_sig, NULL);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	/* gc_conf sets the umask from "storage mode". */
	umask(077);
	/*
	 * Large buffers (manifest bodies) come from mmap and go back to
	 * the system when freed: glibc would otherwise raise its mmap
	 * threshold after the first such free and keep them in the heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	mallopt(M_ARENA_MAX, 2);

	/*
	 * On S3: libcurl, the CAs and the endpoint's address before the
	 * chroot (the cache directory), and a filter that lets it connect.
	 */
	if (env->conf->s3.on) {
		be = &store_s3_backend;
		store_s3_conf(&env->conf->s3);
		if (store_s3_prepare() == -1)
			fatalx("storage: cannot set up the S3 client");
		boot->sandbox = SANDBOX_STORAGE_NET;
	}
	proc_sandbox(boot, env->conf->user);
	if (store_init() == -1)
		fatal("storage: cannot start the %s backend", be->name);

	proc_listen(boot, storage_rules, sizeof(storage_rules) /
	    sizeof(storage_rules[0]), storage_peer);
	gc_init(&parent.c);
	mirror_cache_init();
	store_stats_init();

	log_debug("storage ready");
	chan_send(&parent.c, MSG_READY, 0, -1, NULL, 0);
	event_dispatch();
	exit(0);
}
