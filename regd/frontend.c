/*
 * A frontend: accepts connections on the shared listeners, speaks
 * HTTP/1.1 on libevent bufferevents and turns requests into messages to
 * storage.  It is chrooted to an empty directory and its seccomp filter
 * forbids opening files: blob bodies arrive as descriptors from storage.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "regd.h"

struct flisten {
	TAILQ_ENTRY(flisten)	 entry;
	struct listen_addr	*la;
	struct event		 ev;
	int			 paused;
};

#define PEND_BUCKETS	1024
LIST_HEAD(pendlist, conn);

/*
 * Descriptors kept free whatever the clients do, as OpenBSD httpd keeps
 * FD_RESERVE: a blob descriptor from storage must always find a slot, or
 * it arrives truncated and the channel to storage is lost.
 */
#define FD_RESERVE	16
#define FD_PER_CONN	2	/* its socket and a blob being sent */
#define DRAIN_GRACE	2	/* seconds an idle keep-alive may still ask */
#define LINGER_SECS	2	/* reading what a client sent after the end */
#define LINGER_MAX	(1024 * 1024)
#define DISCARD_MAX	(1024 * 1024)	/* unwanted body read to keep alive */
#define TRIM_DELAY	2	/* seconds after closes to give memory back */

/* What a connection reads ahead, by state (conn_readmode). */
#define RM_HEAD		1	/* a head: up to the head limits */
#define RM_BODY		2	/* a body: big reads */
#define RM_HOLD		3	/* an answer is pending: nothing more */
#define SMALL_READ	(16 * 1024)

static TAILQ_HEAD(, flisten)	 listeners = TAILQ_HEAD_INITIALIZER(listeners);
static TAILQ_HEAD(, conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static struct pendlist		 pending[PEND_BUCKETS];
static struct chan		 st_chan, parent_chan, log_chan;
static struct front_stats	 stats;
static uint32_t			 next_reqid;
static int			 nconns, draining, fd_maxconns, fd_paused;
static struct event		 ev_sigterm, ev_sigint, ev_accept_pause;
static struct event		 ev_trim;
static struct event		 ev_logflush;
static int			 logflush_pending;

static void	 accept_cb(int, short, void *);
static void	 conn_read_cb(struct bufferevent *, void *);
static void	 conn_write_cb(struct bufferevent *, void *);
static void	 conn_done_cb(int, short, void *);
static void	 conn_pipe_cb(int, short, void *);
static void	 body_sock_cb(int, short, void *);
static void	 body_pipe_cb(int, short, void *);
static void	 body_pipe_close(struct conn *);
static int	 body_pipe_open(struct conn *, uint32_t);
static void	 logflush_cb(int, short, void *);
static void	 logflush_atexit(void);
static void	 conn_event_cb(struct bufferevent *, short, void *);
static void	 conn_timer_cb(int, short, void *);
static void	 conn_process(struct conn *);
static void	 conn_timeouts(struct conn *, int, int);
static void	 st_dispatch(struct chan *, struct msg *, void *);
static void	 st_closed(struct chan *, void *);
static void	 st_drained(struct chan *, void *);
static void	 front_stats_req(struct chan *, struct msg *, void *);
static void	 front_drain_msg(struct chan *, struct msg *, void *);
static void	 front_tickets(struct chan *, struct msg *, void *);
static void	 front_metrics_res(struct chan *, struct msg *, void *);
static int	 front_peer(enum proc_kind, int, int);
static void	 parent_closed(struct chan *, void *);
static void	 log_closed(struct chan *, void *);
static void	 front_sig(int, short, void *);
static void	 front_drain(void);
static void	 access_log(struct conn *);
static void	 conn_readmode(struct conn *, int);
static void	 conn_linger(struct conn *);
static void	 trim_cb(int, short, void *);
static void	 fd_budget(void);

static void
pend_remove(struct conn *c)
{
	if (!c->inpend)
		return;
	LIST_REMOVE(c, pending);
	c->inpend = 0;
}

static struct conn *
pend_find(uint32_t reqid)
{
	struct conn	*c;

	LIST_FOREACH(c, &pending[reqid % PEND_BUCKETS], pending)
		if (c->req.reqid == reqid)
			return (c);
	return (NULL);
}

/* What a frontend takes: orders from the parent, answers from storage. */
static const struct msg_rule	 front_rules[] = {
	MR_EMPTY(MSG_STATS_REQ, PEER(PROC_PARENT), front_stats_req),
	MR_EMPTY(MSG_FRONT_DRAIN, PEER(PROC_PARENT), front_drain_msg),
	MR_FIXED(MSG_TLS_TICKETS, PEER(PROC_PARENT), struct tls_ticket_keys,
	    MR_NONE, front_tickets),
	MR_RANGE(MSG_METRICS_RES, PEER(PROC_PARENT), 0, MSG_MAXPAYLOAD,
	    MR_NONE, front_metrics_res),
	MR_RANGE(ST_RES, PEER(PROC_STORAGE), sizeof(struct st_res),
	    MSG_MAXPAYLOAD, MR_MAY, st_dispatch),
};

/* Its channels: the parent, storage and the logger, all at start-up. */
static int
front_peer(enum proc_kind k, int instance, int fd)
{
	switch (k) {
	case PROC_PARENT:
		if (parent_chan.evset)
			return (-1);
		proc_chan(&parent_chan, k, instance, fd, NULL, parent_closed);
		return (0);
	case PROC_LOGGER:
		if (log_chan.evset)
			return (-1);
		proc_chan(&log_chan, k, instance, fd, NULL, log_closed);
		log_setchan(&log_chan, MSG_LOG);
		return (0);
	case PROC_STORAGE:
		if (st_chan.evset)
			return (-1);
		proc_chan(&st_chan, k, instance, fd, NULL, st_closed);
		st_chan.lowat = CHAN_LOWAT;
		st_chan.drained = st_drained;
		return (0);
	case PROC_NOTIFY:
		return (front_notify_peer(instance, fd));
	default:
		return (-1);
	}
}

void
frontend_main(struct proc_boot *boot)
{
	struct server_conf	*srv;
	struct listen_addr	*la;
	struct flisten		*fl;
	int			 slot = boot->instance;

	proc_listen(boot, front_rules, sizeof(front_rules) /
	    sizeof(front_rules[0]), front_peer);
	if (!st_chan.evset || !log_chan.evset)
		fatalx("frontend: no channel to storage or the logger");

	sandbox_rlimits(0);
	proc_sandbox(boot, env->conf->user);
	/*
	 * Streamed bodies come and go in 128K pieces: from the heap, kept
	 * while the body streams (trim_cb gives it back afterwards), not
	 * mapped, faulted in and unmapped piece by piece.
	 */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);

	signal_set(&ev_sigterm, SIGTERM, front_sig, NULL);
	signal_set(&ev_sigint, SIGINT, front_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	evtimer_set(&ev_accept_pause, accept_cb, NULL);
	evtimer_set(&ev_trim, trim_cb, NULL);
	event_assign(&ev_logflush, env->base, -1, 0, logflush_cb, NULL);
	atexit(logflush_atexit);

	TAILQ_FOREACH(srv, &env->conf->servers, entry) {
		TAILQ_FOREACH(la, &srv->listens, entry) {
			if (la->fd == -1)
				continue;
			if ((fl = calloc(1, sizeof(*fl))) == NULL)
				fatal(NULL);
			fl->la = la;
			event_set(&fl->ev, la->fd, EV_READ | EV_PERSIST,
			    accept_cb, fl);
			event_add(&fl->ev, NULL);
			TAILQ_INSERT_TAIL(&listeners, fl, entry);
		}
	}
	fd_budget();
	stats.slot = slot;
	stats.pid = getpid();
	log_debug("frontend %d ready", slot);
	chan_send(&parent_chan, MSG_READY, 0, -1, NULL, 0);
	event_dispatch();
	exit(0);
}

static void
front_sig(int sig, short event, void *arg)
{
	exit(0);
}

int
front_draining(void)
{
	return (draining);
}

/*
 * How many connections the descriptor limit allows: every connection
 * may hold its socket and a blob, and FD_RESERVE stay free beyond what
 * is open now (listeners, channels, the event loop).  "max connections"
 * above that is clamped, and said once.
 */
static void
fd_budget(void)
{
	struct rlimit		 rl;
	struct server_conf	*srv;
	int			 fd, open = 0, lim, max = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		lim = INT32_MAX;
	else
		lim = rl.rlim_cur > INT32_MAX ? INT32_MAX : (int)rl.rlim_cur;
	for (fd = 0; fd < 1024 && fd < lim; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			open++;
	fd_maxconns = (lim - open - FD_RESERVE) / FD_PER_CONN;
	if (fd_maxconns < 1)
		fd_maxconns = 1;
	TAILQ_FOREACH(srv, &env->conf->servers, entry)
		if (srv->max_conns > max)
			max = srv->max_conns;
	if (max > fd_maxconns && stats.slot == 0)
		log_warnx("max connections %d is more than %d descriptors "
		    "allow: at most %d per frontend", max, lim, fd_maxconns);
}

/* Give the heap back to the system a little after connections went. */
static void
trim_cb(int fd, short event, void *arg)
{
	malloc_trim(0);
}

static void
listeners_pause(int pause)
{
	struct flisten	*fl;

	TAILQ_FOREACH(fl, &listeners, entry) {
		if (pause && !fl->paused)
			event_del(&fl->ev);
		else if (!pause && fl->paused)
			event_add(&fl->ev, NULL);
		fl->paused = pause;
	}
}

static void
accept_cb(int fd, short event, void *arg)
{
	struct flisten		*fl = arg;
	struct conn		*c;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct timeval		 tv = { 1, 0 };
	int			 s, i, on = 1;
	char			 host[INET6_ADDRSTRLEN];

	if (fl == NULL) {
		/* The pause after running out of descriptors is over. */
		if (!draining && !fd_paused)
			listeners_pause(0);
		return;
	}
	for (i = 0; i < 64; i++) {
		if (nconns >= fd_maxconns) {
			/* Leave them in the backlog until one closes. */
			fd_paused = 1;
			listeners_pause(1);
			return;
		}
		sslen = sizeof(ss);
		s = accept4(fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("accept");
				listeners_pause(1);
				evtimer_add(&ev_accept_pause, &tv);
			}
			return;
		}
		if (nconns >= fl->la->srv->max_conns) {
			close(s);
			continue;
		}
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(s);
			continue;
		}
		c->fd = s;
		c->la = fl->la;
		c->srv = fl->la->srv;
		host[0] = '\0';
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			    sin_addr, host, sizeof(host));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			    sin6_addr, host, sizeof(host));
		strlcpy(c->addr, host[0] != '\0' ? host : "-",
		    sizeof(c->addr));
		strlcpy(c->peer, c->addr, sizeof(c->peer));
		if (auth_accept(c, &ss) == -1) {
			close(s);
			free(c);
			continue;
		}
		if (fl->la->tls)
			c->bev = tls_bufferevent(env->base, c->srv, s);
		else
			c->bev = bufferevent_socket_new(env->base, s,
			    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL || (fl->la->tls &&
		    (c->tout = evbuffer_new()) == NULL)) {
			if (c->bev != NULL)
				bufferevent_free(c->bev);
			else
				close(s);
			auth_conn_closed(c);
			free(c);
			continue;
		}
		c->sfd = -1;
		c->bpipe = -1;
		conn_readmode(c, RM_HEAD);
		http_reset(&c->req);
		bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb,
		    conn_event_cb, c);
		/*
		 * Plain HTTP writes its answers at once (conn_write_now) and
		 * asks for writable events only when the socket is full.
		 */
		bufferevent_enable(c->bev, c->la->tls ? EV_READ | EV_WRITE :
		    EV_READ);
		event_assign(&c->ev_done, env->base, -1, 0, conn_done_cb, c);
		event_assign(&c->ev_pipe, env->base, -1, EV_READ, conn_pipe_cb,
		    c);
		event_assign(&c->ev_bsock, env->base, -1, EV_READ,
		    body_sock_cb, c);
		event_assign(&c->ev_bpipe, env->base, -1, EV_WRITE,
		    body_pipe_cb, c);
		evtimer_set(&c->ev_timer, conn_timer_cb, c);
		c->state = CS_IDLE;
		conn_set_timer(c, c->srv->idle_timeout);
		TAILQ_INSERT_TAIL(&conns, c, entry);
		nconns++;
		stats.conns = nconns;
		stats.m.conns_accepted++;
	}
}

/* Change the read and write inactivity timeouts only when they differ. */
static void
conn_timeouts(struct conn *c, int rsecs, int wsecs)
{
	struct timeval	 rtv = { rsecs, 0 }, wtv = { wsecs, 0 };

	if (c->rto == rsecs && c->wto == wsecs)
		return;
	c->rto = rsecs;
	c->wto = wsecs;
	bufferevent_set_timeouts(c->bev, rsecs > 0 ? &rtv : NULL,
	    wsecs > 0 ? &wtv : NULL);
}

/*
 * Bound what is read ahead of the parser.  A head is read in small
 * pieces up to the head limits; a body in big reads (it leaves in whole
 * messages); while an answer is pending nothing more is taken in (a
 * pipelining client waits in its socket buffer, not in our memory).  The
 * watermark suspends reading only when bytes are there, so a client that
 * does not pipeline costs no system call.
 */
/*
 * A plain HTTP body of known length: have the kernel wake us when the
 * next message's worth is there (SO_RCVLOWAT) rather than at every
 * segment, about 4 KiB (16,000 reads, FIONREADs and epoll_waits per
 * 64 MiB push).  The mark never exceeds the body bytes the client still
 * owes, so it cannot stall, and it is 1 again outside a body.  Not for
 * TLS: OpenSSL may hold part of a record already read.
 */
static void
conn_lowat(struct conn *c, int n)
{
	if (c->la->tls || n == (c->lowat > 0 ? c->lowat : 1))
		return;
	if (setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_RCVLOWAT,
	    &n, sizeof(n)) == 0)
		c->lowat = n;
}

static void
conn_readmode(struct conn *c, int mode)
{
	size_t	 hi;

	if (c->readmode == mode)
		return;
	c->readmode = mode;
	if (mode != RM_BODY)
		conn_lowat(c, 1);
	switch (mode) {
	case RM_BODY:
		bufferevent_set_max_single_read(c->bev, 2 * DATA_CHUNK);
		bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * DATA_CHUNK);
		break;
	case RM_HOLD:
		bufferevent_set_max_single_read(c->bev, SMALL_READ);
		bufferevent_setwatermark(c->bev, EV_READ, 0, 1);
		break;
	default:
		hi = c->srv->max_reqline + c->srv->max_headers + 4;
		bufferevent_set_max_single_read(c->bev, SMALL_READ);
		bufferevent_setwatermark(c->bev, EV_READ, 0, hi);
		break;
	}
}

void
conn_set_timer(struct conn *c, int secs)
{
	struct timeval	 tv;

	evtimer_del(&c->ev_timer);
	if (secs <= 0)
		return;
	tv.tv_sec = secs;
	tv.tv_usec = 0;
	evtimer_add(&c->ev_timer, &tv);
}

static void
conn_timer_cb(int fd, short event, void *arg)
{
	struct conn	*c = arg;

	/* The metrics listener's own deadline (health, a scrape). */
	if (c->state == CS_WAIT && c->srv->metrics) {
		pend_remove(c);
		if (metrics_timeout(c))
			return;
	}
	if (c->state == CS_HEADERS) {
		log_debug("%s: header timeout", c->addr);
		/* Nothing is written: the client may be half-way anything. */
	}
	if (c->state == CS_RESPOND || c->state == CS_WAIT)
		log_debug("%s: no progress in %d seconds", c->addr,
		    c->srv->body_timeout);
	if (c->state == CS_IDLE && c->la->tls)
		tls_close_notify(c->bev);
	conn_close(c);
}

/* Stop reading this client until storage takes more data. */
void
conn_pause_for_storage(struct conn *c)
{
	if (c->paused)
		return;
	c->paused = 1;
	bufferevent_disable(c->bev, EV_READ);
}

static void
st_drained(struct chan *ch, void *arg)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->paused)
			continue;
		if (st_chan.queued > CHAN_HIWAT)
			break;
		c->paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		/* Bytes may wait in the input already. */
		conn_process(c);
	}
}

void
conn_close(struct conn *c)
{
	struct req	*r = &c->req;

	pend_remove(c);
	front_notify_forget(c);
	body_pipe_close(c);
	if (c->state == CS_BODY && r->streaming && !r->answered)
		chan_send(&st_chan, ST_DATA_ABORT, r->reqid, -1, NULL, 0);
	evtimer_del(&c->ev_timer);
	event_del(&c->ev_done);
	event_del(&c->ev_pipe);
	if (c->sfd != -1)
		close(c->sfd);
	auth_conn_closed(c);
	bufferevent_free(c->bev);
	if (c->tout != NULL)
		evbuffer_free(c->tout);
	TAILQ_REMOVE(&conns, c, entry);
	http_reset(&c->req);
	free(c);
	nconns--;
	stats.conns = nconns;
	if (draining && nconns == 0)
		exit(0);
	if (fd_paused && nconns < fd_maxconns) {
		fd_paused = 0;
		if (!draining && !evtimer_pending(&ev_accept_pause, NULL))
			listeners_pause(0);
	}
	if (!evtimer_pending(&ev_trim, NULL)) {
		struct timeval	 tv = { TRIM_DELAY, 0 };

		evtimer_add(&ev_trim, &tv);
	}
}

static void
conn_pending(struct conn *c, uint32_t reqid)
{
	pend_remove(c);
	c->req.reqid = reqid;
	LIST_INSERT_HEAD(&pending[reqid % PEND_BUCKETS], c, pending);
	c->inpend = 1;
}

/*
 * Send a request to storage on behalf of c; storage answers by id.  fd,
 * if not -1, goes with it (and is closed here).
 */
static int
st_send(struct conn *c, uint32_t type, int fd, const void *q, size_t len)
{
	if (++next_reqid == 0)
		next_reqid = 1;
	conn_pending(c, next_reqid);
	c->req.st_type = type;
	if (chan_send(&st_chan, type, next_reqid, fd, q, len) == -1) {
		pend_remove(c);
		c->req.reqid = 0;
		http_error(c, 503, "UNAVAILABLE", "storage is unavailable");
		return (-1);
	}
	return (0);
}

/*
 * The states a request goes through are set here only: api.c and auth.c
 * ask for them with these.
 */

/* A request without a body: c waits for storage's answer. */
int
conn_request(struct conn *c, uint32_t type, const void *q, size_t len)
{
	if (st_send(c, type, -1, q, len) == -1)
		return (-1);
	c->state = CS_WAIT;
	return (0);
}

/* A request whose body follows it to storage, as the client sends it. */
int
conn_stream_request(struct conn *c, uint32_t type, const void *q,
    size_t len)
{
	struct req	*r = &c->req;

	r->streaming = 1;
	if (st_send(c, type, body_pipe_open(c, type), q, len) == -1) {
		body_pipe_close(c);
		return (-1);
	}
	c->state = CS_BODY;
	if (r->expect100) {
		evbuffer_add_printf(conn_output(c),
		    "HTTP/1.1 100 Continue\r\n\r\n");
		conn_write_now(c);
	}
	if (!r->chunked && r->clen <= 0)
		conn_body_done(c);
	return (0);
}

/* The whole body went to storage: it may answer now. */
void
conn_body_done(struct conn *c)
{
	struct req	*r = &c->req;

	if (r->answered)
		return;
	if (chan_send(&st_chan, ST_DATA_END, r->reqid, -1, NULL, 0) == -1) {
		http_error(c, 503, "UNAVAILABLE", "storage is unavailable");
		return;
	}
	c->state = CS_WAIT;
}

/* Storage answered before the end of the body: the rest is not wanted. */
void
conn_cut_body(struct conn *c)
{
	struct req	*r = &c->req;

	if (c->state != CS_BODY)
		return;
	if (c->bpipe != -1) {
		body_pipe_close(c);
		bufferevent_enable(c->bev, EV_READ);
	}
	r->answered = 1;
	chan_send(&st_chan, ST_DATA_ABORT, r->reqid, -1, NULL, 0);
	r->keepalive = 0;
	c->close_after = 1;
}

/* The body of this request is read and dropped, then it goes on. */
void
conn_discard_body(struct conn *c)
{
	c->state = CS_DISCARD;
}

/* Nothing is read while an answer is held back (auth's slowed 401). */
void
conn_hold(struct conn *c)
{
	c->state = CS_WAIT;
}

/* The response is queued: finish when the output has drained. */
void
conn_respond_done(struct conn *c)
{
	c->state = CS_RESPOND;
	conn_readmode(c, RM_HOLD);
	conn_timeouts(c, 0, c->srv->body_timeout);
	pend_remove(c);
	/*
	 * A TLS bufferevent stops writing for good when the client goes:
	 * a watchdog, fed as the answer leaves, ends what would hang.
	 */
	if (!conn_write_now(c) && c->la->tls)
		conn_set_timer(c, c->srv->body_timeout);
}

struct evbuffer *
conn_output(struct conn *c)
{
	return (c->tout != NULL ? c->tout : bufferevent_get_output(c->bev));
}

/*
 * TLS: an answer is staged in c->tout, outside the bufferevent's output,
 * whose callback adds a write event as soon as a byte is queued there and
 * deletes it once the output drained (two epoll_ctl calls per answer).
 * When nothing is queued before it, it goes to SSL_write at once; what
 * the socket does not take goes to the bufferevent, as a whole answer
 * did before.  Returns 1 when nothing is left to write.
 */
static int
conn_tls_flush(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len;

	if (evbuffer_get_length(c->tout) == 0)
		return (evbuffer_get_length(out) == 0);
	if (evbuffer_get_length(out) == 0 &&
	    tls_write_now(c->bev, c->tout) == 0)
		return (1);
	evbuffer_add_buffer(out, c->tout);
	/*
	 * bufferevent_openssl makes a TLS record and a write(2) of every
	 * piece of its output: what fits one record is made contiguous so
	 * that it leaves in one, and the client wakes up once.
	 */
	len = evbuffer_get_length(out);
	if (len <= TLS_RECORD_MAX)
		evbuffer_pullup(out, -1);
	return (0);
}

/* TLS: a file body follows what is staged, through the bufferevent. */
static void
conn_unstage(struct conn *c)
{
	if (c->tout != NULL && evbuffer_get_length(c->tout) > 0)
		evbuffer_add_buffer(bufferevent_get_output(c->bev), c->tout);
}

/*
 * Write what is queued now instead of on a writable event (which costs
 * two epoll_ctl calls per answer), and finish the request from the event
 * loop when all of it went.  When the socket is full the bufferevent
 * takes over until the output drains.  Returns 1 when all of it went.
 */
int
conn_write_now(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	ssize_t		 n;
	int		 i;

	if (c->la->tls) {
		if (!conn_tls_flush(c))
			return (0);
		event_active(&c->ev_done, EV_WRITE, 1);
		return (1);
	}
	/* bufferevent keeps the start of its output frozen. */
	evbuffer_unfreeze(out, 1);
	/*
	 * The head of a file body leaves with MSG_MORE, so that it shares
	 * the file's first segment instead of going alone (what nginx's
	 * tcp_nopush does with two setsockopt calls).
	 */
	if (c->hdrlen > 0 && c->hdrlen < evbuffer_get_length(out)) {
		n = send(bufferevent_getfd(c->bev), evbuffer_pullup(out,
		    c->hdrlen), c->hdrlen, MSG_MORE | MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (n > 0)
			evbuffer_drain(out, n);
	}
	c->hdrlen = 0;
	for (i = 0; i < 4 && evbuffer_get_length(out) > 0; i++)
		if (evbuffer_write(out, bufferevent_getfd(c->bev)) <= 0)
			break;
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0) {
		bufferevent_enable(c->bev, EV_WRITE);
		return (0);
	}
	event_active(&c->ev_done, EV_WRITE, 1);
	return (1);
}

/*
 * Hold back partial TCP segments while a file body is sent (TCP_CORK);
 * uncorking at the end sends the rest at once.
 */
void
conn_cork(struct conn *c, int on)
{
	if (c->corked == on)
		return;
	if (setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_CORK,
	    &on, sizeof(on)) == 0)
		c->corked = on;
}

static void
conn_done_cb(int fd, short event, void *arg)
{
	struct conn	*c = arg;

	conn_write_cb(c->bev, c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

#define STREAM_CHUNK	(128 * 1024)
#define SPLICE_MAX	(1024 * 1024)	/* a mirror's pipe holds as much */

static void
conn_splice_wait(struct conn *c, int fd, short what)
{
	struct timeval	 tv = { c->wto, 0 };

	event_del(&c->ev_pipe);
	event_assign(&c->ev_pipe, env->base, fd, what, conn_pipe_cb, c);
	event_add(&c->ev_pipe, what == EV_WRITE && c->wto > 0 ? &tv : NULL);
}

/*
 * Plain HTTP: a mirror's pipe goes to the socket by splice(2), not
 * through this process's memory, once the head has left (the output
 * empty: the bufferevent calls back then).  0, or -1 when the pipe ended
 * short (the bytes failed their digest) or the client went.
 */
static int
conn_splice(struct conn *c)
{
	ssize_t	 n;
	int	 avail;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		return (0);
	}
	while (c->sleft > 0) {
		n = splice(c->sfd, NULL, c->fd, NULL, c->sleft < SPLICE_MAX ?
		    c->sleft : SPLICE_MAX, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			/* Bytes in the pipe: the socket is the one full. */
			if (ioctl(c->sfd, FIONREAD, &avail) == 0 && avail > 0)
				conn_splice_wait(c, c->fd, EV_WRITE);
			else
				conn_splice_wait(c, c->sfd, EV_READ);
			return (0);
		}
		if (n <= 0)
			return (-1);
		c->soff += n;
		c->sleft -= n;
	}
	close(c->sfd);
	c->sfd = -1;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	return (0);
}

/* Keep a bounded window of the file body in the output buffer. */
static int
conn_stream_fill(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec vec;
	ssize_t		 n;
	size_t		 want;

	if (c->spipe && !c->la->tls)
		return (conn_splice(c));
	while (c->sleft > 0 && evbuffer_get_length(out) < 2 * STREAM_CHUNK) {
		want = c->sleft < STREAM_CHUNK ? c->sleft : STREAM_CHUNK;
		if (evbuffer_reserve_space(out, want, &vec, 1) < 1)
			return (-1);
		if (c->spipe) {
			/* A mirror's pipe: more later, or it ends short. */
			n = read(c->sfd, vec.iov_base, want);
			if (n == -1 && errno == EAGAIN) {
				event_add(&c->ev_pipe, NULL);
				return (0);
			}
		} else
			n = pread(c->sfd, vec.iov_base, want, c->soff);
		if (n <= 0)
			return (-1);
		vec.iov_len = n;
		evbuffer_commit_space(out, &vec, 1);
		c->soff += n;
		c->sleft -= n;
	}
	if (c->sleft == 0) {
		close(c->sfd);
		c->sfd = -1;
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	}
	return (0);
}

/*
 * Send len bytes of fd from off.  TLS cannot use sendfile(2) and
 * libevent would map or read the whole file at once: read it in pieces
 * as the client takes them, so memory stays flat whatever the size.
 */
void
conn_stream_file(struct conn *c, int fd, int64_t off, int64_t len)
{
	conn_unstage(c);
	c->spipe = 0;
	c->sfd = fd;
	c->soff = off;
	c->sleft = len;
	bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_CHUNK, 0);
	if (conn_stream_fill(c) == -1) {
		close(c->sfd);
		c->sfd = -1;
		c->sleft = 0;
		c->close_after = 1;
	}
}

/* The pipe has bytes (or ended): on with the body, or cut the client. */
static void
conn_pipe_cb(int fd, short event, void *arg)
{
	struct conn	*c = arg;

	if (c->sfd == -1)
		return;
	if (event == EV_TIMEOUT) {
		log_debug("%s: write timeout", c->addr);
		conn_close(c);
		return;
	}
	if (conn_stream_fill(c) == -1) {
		conn_close(c);
		return;
	}
	if (c->spipe && !c->la->tls && c->sfd != -1)
		return;		/* splicing: it waits on its own */
	/* Plain HTTP stops writing between answers: write this now. */
	conn_write_now(c);
}

/*
 * A blob a mirror is still fetching: len bytes will come down the pipe
 * fd; if it ends before them, the bytes failed their digest and the
 * client's connection is closed rather than ended cleanly.
 */
void
conn_stream_pipe(struct conn *c, int fd, int64_t len)
{
	conn_unstage(c);
	event_del(&c->ev_pipe);
	event_assign(&c->ev_pipe, env->base, fd, EV_READ, conn_pipe_cb, c);
	c->spipe = 1;
	c->sfd = fd;
	c->soff = 0;
	c->sleft = len;
	bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_CHUNK, 0);
	if (conn_stream_fill(c) == -1) {
		close(c->sfd);
		c->sfd = -1;
		c->sleft = 0;
		c->close_after = 1;
	}
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->state != CS_RESPOND)
		return;
	if (c->la->tls && (c->sfd != -1 ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0))
		conn_set_timer(c, c->srv->body_timeout);
	if (c->sfd != -1) {
		if (conn_stream_fill(c) == -1) {
			conn_close(c);
			return;
		}
		if (c->sfd != -1)
			return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (!c->la->tls)
		bufferevent_disable(bev, EV_WRITE);
	if (c->corked)
		conn_cork(c, 0);
	access_log(c);
	stats.requests++;
	metrics_request_done(c, &stats.m);
	if (c->close_after) {
		conn_linger(c);
		return;
	}
	http_reset(&c->req);
	c->state = CS_IDLE;
	conn_readmode(c, RM_HEAD);
	conn_timeouts(c, 0, 0);
	/*
	 * An answer begun before the drain promised keep-alive: the client
	 * may send one more request, answered with "Connection: close".
	 */
	if (draining && c->srv->idle_timeout > DRAIN_GRACE)
		conn_set_timer(c, DRAIN_GRACE);
	else
		conn_set_timer(c, c->srv->idle_timeout);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		conn_process(c);
}

/*
 * The answer is out and the connection closes.  Closing a socket with
 * unread input sends a reset that may destroy the answer before the
 * client read it: like nginx's lingering close, half-close, read and
 * drop what still comes for a little while, then close.
 */
static void
conn_linger(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);

	if (c->la->tls) {
		tls_close_notify(c->bev);
		conn_close(c);
		return;
	}
	if ((c->req.conn_close && !http_body_pending(&c->req) &&
	    evbuffer_get_length(in) == 0) ||
	    shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(c);
		return;
	}
	c->state = CS_LINGER;
	c->req.body_seen = 0;
	bufferevent_disable(c->bev, EV_WRITE);
	conn_timeouts(c, 0, 0);
	conn_readmode(c, RM_HEAD);
	bufferevent_enable(c->bev, EV_READ);
	conn_set_timer(c, LINGER_SECS);
	conn_process(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	int		 q;

	/* A TLS handshake finished: nothing to do. */
	if (what == BEV_EVENT_CONNECTED)
		return;
	/*
	 * Over TLS an EOF, a reset taken for a dirty shutdown included,
	 * stops the bufferevent's writing too: nothing more can be said.
	 */
	/*
	 * A body that came slower than the low mark: bytes waiting in the
	 * socket are progress, read them now.
	 */
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->lowat > 1 && ioctl(bufferevent_getfd(bev), FIONREAD, &q) == 0 &&
	    q > 0) {
		conn_lowat(c, 1);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !c->la->tls && (c->state == CS_WAIT ||
	    c->state == CS_RESPOND)) {
		/*
		 * The client half-closed after its request: still answer.
		 * Writing fails later if it is really gone.
		 */
		bufferevent_disable(bev, EV_READ);
		c->close_after = 1;
		return;
	}
	conn_close(c);
}

/*
 * A body of known length: send up to a message's worth from the input
 * buffer to storage as it lies there, without copying it out first.
 * Returns 1 when the body is complete, 0 for more to come, -2 when
 * storage cannot be reached.
 */
#define FORWARD_IOV	16	/* pieces of the input buffer per message */

static int
body_forward(struct conn *c, size_t *got)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v[FORWARD_IOV];
	struct iovec		 iov[FORWARD_IOV];
	size_t			 n, left;
	int			 i, cnt;

	*got = 0;
	n = evbuffer_get_length(in);
	if ((int64_t)n > c->req.body_left)
		n = c->req.body_left;
	if (n > DATA_CHUNK)
		n = DATA_CHUNK;
	if (n == 0)
		return (c->req.body_left == 0);
	cnt = evbuffer_peek(in, n, NULL, v, FORWARD_IOV);
	if (cnt > FORWARD_IOV)
		cnt = FORWARD_IOV;
	for (i = 0, left = n; i < cnt && left > 0; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	n -= left;
	if (chan_sendv(&st_chan, ST_DATA, c->req.reqid, -1, iov, i) == -1)
		return (-2);
	evbuffer_drain(in, n);
	c->req.body_left -= n;
	c->req.body_seen += n;
	*got = n;
	return (c->req.body_left == 0);
}

/*
 * libevent 2.1 reads at most 4 KiB per readable event (EVBUFFER_MAX_READ),
 * which made a plain HTTP push 16,000 wake-ups, FIONREADs and reads per
 * 64 MiB.  Read up to want bytes of the body straight into the input
 * buffer instead; the bufferevent finds EOF and errors on its next read.
 * Returns the bytes read, 0 for none.
 */
static size_t
conn_fill_body(struct conn *c, size_t want)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	ssize_t			 n;
	size_t			 left;
	int			 i, cnt;

	evbuffer_unfreeze(in, 0);
	if ((cnt = evbuffer_reserve_space(in, want, v, 2)) < 1) {
		evbuffer_freeze(in, 0);
		return (0);
	}
	for (i = 0, left = want; i < cnt; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	while ((n = readv(bufferevent_getfd(c->bev), iov, cnt)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0) {
		evbuffer_commit_space(in, v, 0);
		evbuffer_freeze(in, 0);
		return (0);
	}
	for (i = 0, left = n; i < cnt; i++) {
		v[i].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, cnt);
	evbuffer_freeze(in, 0);
	return (n);
}

/*
 * A plain HTTP upload body of known length goes to storage through a
 * pipe rather than in messages: storage gets the read end with the
 * request, the frontend writes the body bytes that came with the head,
 * then splices the rest from the socket, never past Content-Length, so
 * storage still sees only body bytes.  Storage reads the pipe into its
 * chunks: one copy in user space instead of three.  The pipe's size is
 * the back-pressure; the end, an abort and an early answer are still
 * messages (ST_DATA_END once the write end is closed, ST_DATA_ABORT).
 */
#define BODY_PIPE_MIN	(2 * DATA_CHUNK)	/* smaller: messages */
#define BODY_PIPE_SIZE	(1024 * 1024)

/* The read end of a new body pipe to send with the request, or -1. */
static int
body_pipe_open(struct conn *c, uint32_t type)
{
	struct req	*r = &c->req;
	int		 p[2];

	if (type != ST_UPLOAD_WRITE || c->la->tls || r->chunked ||
	    r->clen < BODY_PIPE_MIN || c->bpipe != -1)
		return (-1);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
		return (-1);
	/*
	 * Past the user's pipe limits (fs.pipe-user-pages-soft) a pipe
	 * gets a page or two: messages do better than that.
	 */
	if (fcntl(p[1], F_SETPIPE_SZ, BODY_PIPE_SIZE) == -1) {
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	c->bpipe = p[1];
	event_assign(&c->ev_bsock, env->base, bufferevent_getfd(c->bev),
	    EV_READ | EV_PERSIST, body_sock_cb, c);
	event_assign(&c->ev_bpipe, env->base, p[1], EV_WRITE, body_pipe_cb,
	    c);
	return (p[0]);
}

static void
body_pipe_close(struct conn *c)
{
	if (c->bpipe == -1)
		return;
	event_del(&c->ev_bsock);
	event_del(&c->ev_bpipe);
	close(c->bpipe);
	c->bpipe = -1;
}

/* Wait for the socket (more body) or the pipe (storage took some). */
static void
body_pipe_wait(struct conn *c, int pipe)
{
	struct timeval	 tv = { c->srv->body_timeout, 0 };

	if (pipe) {
		event_del(&c->ev_bsock);
		event_add(&c->ev_bpipe, &tv);
	} else {
		bufferevent_disable(c->bev, EV_READ);
		event_add(&c->ev_bsock, &tv);
	}
}

static void
body_pipe_count(struct conn *c, size_t n)
{
	c->req.body_left -= n;
	c->req.body_seen += n;
	stats.bytes_in += n;
}

/* All of the body is in the pipe: its end, then ST_DATA_END. */
static int
body_pipe_done(struct conn *c)
{
	body_pipe_close(c);
	conn_timeouts(c, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	conn_body_done(c);
	if (c->state == CS_WAIT)
		conn_readmode(c, RM_HOLD);
	return (1);
}

/*
 * The body bytes read with the head go into the pipe first (a few KiB at
 * most: the pipe is empty and far bigger); then the socket is waited
 * for.  1 to go on with c, 0 to wait.
 */
static int
body_pipe_start(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v[FORWARD_IOV];
	struct iovec		 iov[FORWARD_IOV];
	size_t			 n, left;
	ssize_t			 w;
	int			 i, cnt;

	n = evbuffer_get_length(in);
	if ((int64_t)n > c->req.body_left)
		n = c->req.body_left;
	if (n > 0) {
		cnt = evbuffer_peek(in, n, NULL, v, FORWARD_IOV);
		if (cnt > FORWARD_IOV)
			cnt = FORWARD_IOV;
		for (i = 0, left = n; i < cnt && left > 0; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len < left ?
			    v[i].iov_len : left;
			left -= iov[i].iov_len;
		}
		while ((w = writev(c->bpipe, iov, i)) == -1 && errno == EINTR)
			;
		if (w == -1 && errno != EAGAIN) {
			conn_close(c);
			return (0);
		}
		if (w > 0) {
			evbuffer_drain(in, w);
			body_pipe_count(c, w);
		}
		if (w == -1 || (size_t)w < n) {
			/* Storage is behind already: on when it reads. */
			bufferevent_disable(c->bev, EV_READ);
			body_pipe_wait(c, 1);
			return (0);
		}
	}
	if (c->req.body_left == 0)
		return (body_pipe_done(c));
	conn_lowat(c, c->req.body_left < DATA_CHUNK ? c->req.body_left :
	    DATA_CHUNK);
	body_pipe_wait(c, 0);
	return (0);
}

/*
 * Splice what the socket holds into the pipe.  One of them was found
 * ready (pipe_ready: the pipe has room, else the socket has bytes), so
 * EAGAIN says which to wait for: the other one.
 */
static void
body_splice(struct conn *c, int pipe_ready)
{
	ssize_t		 n;
	size_t		 want;

	want = c->req.body_left < BODY_PIPE_SIZE ? c->req.body_left :
	    BODY_PIPE_SIZE;
	n = splice(bufferevent_getfd(c->bev), NULL, c->bpipe, NULL, want,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EINTR)
		return;
	if (n == -1 && errno == EAGAIN) {
		body_pipe_wait(c, !pipe_ready);
		return;
	}
	if (n <= 0) {
		/* The client went away mid-body: storage undoes it all. */
		conn_close(c);
		return;
	}
	body_pipe_count(c, n);
	if (c->req.body_left == 0) {
		body_pipe_done(c);
		return;
	}
	if (pipe_ready)
		body_pipe_wait(c, 0);
	conn_lowat(c, c->req.body_left < DATA_CHUNK ? c->req.body_left :
	    DATA_CHUNK);
}

/* The socket is readable, or no body came for the body timeout. */
static void
body_sock_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;
	int		 q;

	if (what & EV_TIMEOUT) {
		/* Slower than the low mark: what is there is progress. */
		if (c->lowat > 1 && ioctl(fd, FIONREAD, &q) == 0 && q > 0) {
			conn_lowat(c, 1);
			return;
		}
		log_debug("%s: no body in %d seconds", c->addr,
		    c->srv->body_timeout);
		conn_close(c);
		return;
	}
	body_splice(c, 0);
}

/* Storage took some of the pipe (or none: the client waits no more). */
static void
body_pipe_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & EV_TIMEOUT) {
		log_debug("%s: storage took no body in %d seconds", c->addr,
		    c->srv->body_timeout);
		conn_close(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 &&
	    c->req.body_left > 0) {
		body_pipe_start(c);
		return;
	}
	body_splice(c, 1);
}

/* Body bytes to storage: 1 to go on with c, 0 to wait for more. */
static int
conn_read_body(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	static unsigned char	 buf[DATA_CHUNK];
	size_t			 got, avail, want;
	int			 rv;

	if (c->bpipe != -1)
		return (body_pipe_start(c));
	if (c->paused)
		return (0);
	/*
	 * Wait for a full message's worth unless the body
	 * ends sooner: small messages cost a system call each
	 * on both sides.
	 */
	avail = evbuffer_get_length(in);
	want = (int64_t)sizeof(buf) < c->req.body_left ? sizeof(buf) :
	    (size_t)c->req.body_left;
	if (c->req.chunked)
		want = sizeof(buf);
	if (avail < want && !c->la->tls)
		avail += conn_fill_body(c, want - avail);
	if (!c->req.chunked && avail < want) {
		conn_lowat(c, want - avail);
		return (0);
	}
	/*
	 * A chunked body likewise while the input holds only part of a
	 * chunk's data (it came in a segment, about 4 KiB, at a time and
	 * left in as many messages and writes).
	 */
	if (avail < sizeof(buf) && http_chunk_owed(&c->req, avail))
		return (0);
	if (!c->req.chunked)
		rv = body_forward(c, &got);
	else if ((rv = http_body_pump(c, buf, sizeof(buf),
	    &got)) != -1 && got > 0 && chan_send(&st_chan,
	    ST_DATA, c->req.reqid, -1, buf, got) == -1)
		rv = -2;
	if (rv == -2) {
		http_error(c, 503, "UNAVAILABLE",
		    "storage is unavailable");
		return (0);
	}
	stats.bytes_in += got;
	if (rv == -1) {
		chan_send(&st_chan, ST_DATA_ABORT,
		    c->req.reqid, -1, NULL, 0);
		c->req.answered = 1;
		c->req.keepalive = 0;
		http_error(c, 400, "BLOB_UPLOAD_INVALID",
		    "malformed chunked body");
		return (0);
	}
	if (rv == 1) {
		conn_timeouts(c, 0, 0);
		conn_body_done(c);
		if (c->state == CS_WAIT)
			conn_readmode(c, RM_HOLD);
		return (1);
	}
	if (st_chan.queued > CHAN_HIWAT) {
		conn_pause_for_storage(c);
		return (0);
	}
	if (got == 0)
		return (0);
	return (1);
}

/* An unwanted body read and dropped: 1 to go on with c, 0 to wait. */
static int
conn_read_discard(struct conn *c)
{
	size_t	 got;
	int	 rv;

	/* Unwanted bytes are read only so many. */
	if ((!c->req.chunked && c->req.body_left >
	    DISCARD_MAX) || c->req.body_seen > DISCARD_MAX) {
		c->req.keepalive = 0;
		http_error(c, 413, "SIZE_INVALID",
		    "this endpoint takes no body");
		return (0);
	}
	rv = http_body_pump(c, NULL, SIZE_MAX, &got);
	if (rv == -1) {
		c->req.keepalive = 0;
		http_error(c, 400, "UNSUPPORTED",
		    "malformed chunked body");
		return (0);
	}
	if (rv == 0)
		return (0);
	conn_timeouts(c, 0, 0);
	c->req.chunked = 0;
	c->req.clen = -1;
	c->req.body_left = 0;
	/*
	 * Dispatch again as a head without a body: a request
	 * sent to storage must leave CS_DISCARD for CS_WAIT,
	 * or this loop sends it again and again.
	 */
	c->state = CS_HEADERS;
	api_dispatch(c);
	if (c->state == CS_WAIT)
		conn_readmode(c, RM_HOLD);
	return (1);
}

static void
conn_process(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 got;
	int		 rv;

	for (;;) {
		switch (c->state) {
		case CS_IDLE:
			if (evbuffer_get_length(in) == 0)
				return;
			c->state = CS_HEADERS;
			/*
			 * A request refused before its head is parsed must
			 * not be logged under the previous request's
			 * forwarded address.
			 */
			strlcpy(c->addr, c->peer, sizeof(c->addr));
			clock_gettime(CLOCK_MONOTONIC, &c->req.start);
			conn_set_timer(c, c->srv->header_timeout);
			/* FALLTHROUGH */
		case CS_HEADERS:
			rv = http_parse_head(c);
			if (rv == 0)
				return;
			if (rv == -1) {
				evtimer_del(&c->ev_timer);
				return;
			}
			evtimer_del(&c->ev_timer);
			c->nreqs++;
			auth_from_proxy(c);
			api_dispatch(c);
			if (c->state == CS_BODY || c->state == CS_DISCARD) {
				conn_timeouts(c, c->srv->body_timeout, 0);
				conn_readmode(c, RM_BODY);
			} else if (c->state == CS_WAIT)
				conn_readmode(c, RM_HOLD);
			break;
		case CS_BODY:
			if (!conn_read_body(c))
				return;
			break;
		case CS_DISCARD:
			if (!conn_read_discard(c))
				return;
			break;
		case CS_LINGER:
			got = evbuffer_get_length(in);
			evbuffer_drain(in, got);
			c->req.body_seen += got;
			if (c->req.body_seen > LINGER_MAX)
				conn_close(c);
			return;
		default:
			return;
		}
	}
}

static void
access_log(struct conn *c)
{
	struct req	*r = &c->req;
	struct timespec	 now;
	struct tm	 tm;
	time_t		 t = time(NULL);
	char		 line[2048], ts[64];
	char		 user[4 * sizeof(r->user)], method[4 * sizeof(r->method)];
	char		 path[1024], query[1024];
	const char	*p;
	double		 secs;
	int		 n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (now.tv_sec - r->start.tv_sec) +
	    (now.tv_nsec - r->start.tv_nsec) / 1e9;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	/* What the client sent is escaped: one request, one line. */
	log_escape(user, sizeof(user), r->user, strlen(r->user),
	    LOGESC_QUOTE | LOGESC_SPACE);
	log_escape(method, sizeof(method), r->method, strlen(r->method),
	    LOGESC_QUOTE | LOGESC_SPACE);
	p = r->path != NULL ? r->path : (r->target != NULL ? r->target : "-");
	log_escape(path, sizeof(path), p, strlen(p), LOGESC_QUOTE);
	p = r->query != NULL ? r->query : "";
	log_escape(query, sizeof(query), p, strlen(p), LOGESC_QUOTE);
	n = snprintf(line, sizeof(line),
	    "%s %s %s [%s] \"%s %s%s%s HTTP/1.%d\" %d %llu %.3f",
	    c->la->name, c->addr, user[0] != '\0' ? user : "-", ts,
	    method[0] != '\0' ? method : "-", path,
	    r->query != NULL ? "?" : "", query,
	    r->minor, r->status, (unsigned long long)r->bytes_out, secs);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	stats.bytes_out += r->bytes_out;
	/*
	 * Queued, and sent once this turn of the event loop is over: the
	 * requests answered in one turn share a write to the logger.
	 */
	if (chan_compose(&log_chan, MSG_ACCESS, 0, -1, line, n) == 0 &&
	    !logflush_pending) {
		logflush_pending = 1;
		event_active(&ev_logflush, EV_WRITE, 1);
	}
}

static void
logflush_cb(int fd, short event, void *arg)
{
	logflush_pending = 0;
	if (log_chan.fd == -1 || log_chan.dead)
		return;
	(void)chan_write(&log_chan);
	chan_event_update(&log_chan);
}

/* Access lines still queued leave before the process does. */
static void
logflush_atexit(void)
{
	if (log_chan.fd != -1 && !log_chan.dead)
		(void)chan_write(&log_chan);
}

void
front_count_bytes(uint64_t n)
{
	stats.bytes_out += n;
}

struct front_metrics *
front_metrics(void)
{
	return (&stats.m);
}

/*
 * A request c makes of the parent (the metrics listener's figures): the
 * answer comes back under the same request id as storage's do.
 */
int
conn_parent_request(struct conn *c, uint32_t type)
{
	if (++next_reqid == 0)
		next_reqid = 1;
	conn_pending(c, next_reqid);
	if (chan_send(&parent_chan, type, next_reqid, -1, NULL, 0) == -1) {
		pend_remove(c);
		c->req.reqid = 0;
		return (-1);
	}
	c->state = CS_WAIT;
	return (0);
}

static void
front_metrics_res(struct chan *ch, struct msg *m, void *arg)
{
	struct conn	*c;

	if ((c = pend_find(m->hdr.peerid)) == NULL)
		return;		/* the client left, or the deadline passed */
	pend_remove(c);
	metrics_text(c, m->data, m->len);
}

static void
st_dispatch(struct chan *ch, struct msg *m, void *arg)
{
	struct conn	*c;
	struct st_res	 res;
	size_t		 blen;
	int		 fd;

	memcpy(&res, m->data, sizeof(res));
	/* A small body may follow the answer: exactly res.size bytes. */
	blen = m->len - sizeof(res);
	if (blen > 0 && (m->fd != -1 || res.size < 0 ||
	    (uint64_t)res.size != blen)) {
		proc_peer_fail(ch, m, "bad inline body");
		return;
	}
	res.code[sizeof(res.code) - 1] = '\0';
	res.message[sizeof(res.message) - 1] = '\0';
	res.digest[sizeof(res.digest) - 1] = '\0';
	res.subject[sizeof(res.subject) - 1] = '\0';
	res.mediatype[sizeof(res.mediatype) - 1] = '\0';
	res.uuid[sizeof(res.uuid) - 1] = '\0';
	res.last[sizeof(res.last) - 1] = '\0';
	if ((c = pend_find(m->hdr.peerid)) == NULL)
		return;		/* the client left before the answer came */
	pend_remove(c);
	fd = m->fd;
	m->fd = -1;
	if (c->srv->metrics) {
		if (fd != -1)
			close(fd);
		metrics_storage_res(c, &res);
		return;
	}
	api_storage_res(c, &res, fd, blen > 0 ?
	    (const unsigned char *)m->data + sizeof(res) :
	    NULL, blen);
}

static void
st_closed(struct chan *ch, void *arg)
{
	/* The parent reports a storage death and shuts everything down. */
	log_debug("frontend: storage went away");
	exit(1);
}

static void
front_stats_req(struct chan *ch, struct msg *m, void *arg)
{
	stats.conns = nconns;
	if (m->hdr.peerid & MX_COLLECT_BIT)
		metrics_send_repos(&parent_chan, m->hdr.peerid);
	chan_send(&parent_chan, MSG_STATS, m->hdr.peerid, -1, &stats,
	    sizeof(stats));
}

static void
front_drain_msg(struct chan *ch, struct msg *m, void *arg)
{
	front_drain();
}

static void
front_tickets(struct chan *ch, struct msg *m, void *arg)
{
	if (tls_ticket_set(m->data, m->len) == -1)
		proc_peer_fail(ch, m, "bad ticket keys");
}

/* A newer generation took over: finish what is open and leave. */
static void
front_drain(void)
{
	struct flisten	*fl;
	struct conn	*c;

	draining = 1;
	while ((fl = TAILQ_FIRST(&listeners)) != NULL) {
		if (!fl->paused)
			event_del(&fl->ev);
		close(fl->la->fd);
		TAILQ_REMOVE(&listeners, fl, entry);
		free(fl);
	}
	/*
	 * An idle keep-alive connection may have a request on its way: it
	 * has a moment to arrive, and is answered with "Connection: close".
	 * Whatever is under way finishes the same way.
	 */
	TAILQ_FOREACH(c, &conns, entry) {
		if (c->state == CS_IDLE && c->srv->idle_timeout > DRAIN_GRACE)
			conn_set_timer(c, DRAIN_GRACE);
	}
	if (nconns == 0)
		exit(0);
}

static void
parent_closed(struct chan *ch, void *arg)
{
	exit(0);
}

static void
log_closed(struct chan *ch, void *arg)
{
	log_setchan(NULL, 0);
}
