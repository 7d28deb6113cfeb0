/*
 * Message framing over stream socketpairs: a fixed header, a bounded
 * payload and at most one descriptor per message, passed with SCM_RIGHTS
 * along with the first byte of the message that carries it.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "privsep.h"

#define RBUF_MIN	(64 * 1024)
#define WRITE_IOV	64
#define DIRECT_IOV	16	/* pieces of a message sent unqueued */

static struct event_base *chan_evbase;

static void	chan_read_cb(int, short, void *);
static void	chan_write_cb(int, short, void *);
static void	chan_dispatch_pending(struct chan *);

void
chan_init(struct chan *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->pid = getpid();
	c->id = -1;
	c->kind = -1;
	TAILQ_INIT(&c->outq);
}

void
chan_clear(struct chan *c)
{
	struct obuf	*ob;
	int		 i;

	chan_event_del(c);
	while ((ob = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, ob, entry);
		if (ob->fd != -1)
			close(ob->fd);
		free(ob);
	}
	for (i = 0; i < c->nrfds; i++)
		close(c->rfds[i]);
	c->nrfds = 0;
	free(c->rbuf);
	c->rbuf = NULL;
	c->rlen = c->rsize = c->rpend = 0;
	c->queued = 0;
	c->nqfds = 0;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static void
hdr_fill(struct msg_hdr *hdr, struct chan *c, uint32_t type,
    uint32_t peerid, int fd, size_t len)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->type = type;
	hdr->len = len;
	hdr->peerid = peerid;
	hdr->pid = c->pid;
	hdr->flags = fd == -1 ? 0 : MSGF_HASFD;
}

int
chan_composev(struct chan *c, uint32_t type, uint32_t peerid, int fd,
    const struct iovec *iov, int iovcnt)
{
	struct obuf	*ob;
	struct msg_hdr	 hdr;
	size_t		 len = 0, off;
	int		 i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > MSG_MAXPAYLOAD) {
		errno = EMSGSIZE;
		return (-1);
	}
	if ((ob = malloc(sizeof(*ob) + MSG_HDRSZ + len)) == NULL)
		return (-1);
	hdr_fill(&hdr, c, type, peerid, fd, len);
	memcpy(ob->buf, &hdr, MSG_HDRSZ);
	off = MSG_HDRSZ;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		memcpy(ob->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ob->len = off;
	ob->off = 0;
	ob->fd = fd;
	TAILQ_INSERT_TAIL(&c->outq, ob, entry);
	c->queued += ob->len;
	if (fd != -1)
		c->nqfds++;
	return (0);
}

int
chan_compose(struct chan *c, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)data;
	iov.iov_len = len;
	return (chan_composev(c, type, peerid, fd, &iov, data == NULL ? 0 : 1));
}

/*
 * Write as much of the queue as the socket takes.  Returns 0 when all of
 * it went or the socket is full, -1 on error.  A descriptor always leaves
 * with the first byte of its message, so a gather write stops before the
 * next message that carries one.
 */
int
chan_write(struct chan *c)
{
	struct iovec	 iov[WRITE_IOV];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 mh;
	struct cmsghdr	*cmsg;
	struct obuf	*ob, *next;
	ssize_t		 n;
	size_t		 done;
	int		 cnt, fd;

	while ((ob = TAILQ_FIRST(&c->outq)) != NULL) {
		memset(&mh, 0, sizeof(mh));
		fd = -1;
		cnt = 0;
		for (next = ob; next != NULL && cnt < WRITE_IOV;
		    next = TAILQ_NEXT(next, entry)) {
			if (next->fd != -1 && next->off == 0) {
				if (next != ob)
					break;
				fd = next->fd;
			}
			iov[cnt].iov_base = next->buf + next->off;
			iov[cnt].iov_len = next->len - next->off;
			cnt++;
		}
		mh.msg_iov = iov;
		mh.msg_iovlen = cnt;
		if (fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			mh.msg_control = &cmsgbuf.buf;
			mh.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&mh);
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return (0);
			return (-1);
		}
		done = n;
		while (done > 0 && (ob = TAILQ_FIRST(&c->outq)) != NULL) {
			if (ob->fd != -1 && ob->off == 0) {
				/* The descriptor went with this byte. */
				close(ob->fd);
				ob->fd = -1;
				c->nqfds--;
			}
			if (done < ob->len - ob->off) {
				ob->off += done;
				c->queued -= done;
				done = 0;
				break;
			}
			done -= ob->len - ob->off;
			c->queued -= ob->len - ob->off;
			TAILQ_REMOVE(&c->outq, ob, entry);
			free(ob);
		}
	}
	return (0);
}

/* Write the whole queue, waiting for the socket when it is full. */
int
chan_flush(struct chan *c)
{
	struct pollfd	 pfd;

	while (!TAILQ_EMPTY(&c->outq)) {
		if (chan_write(c) == -1)
			return (-1);
		if (TAILQ_EMPTY(&c->outq))
			break;
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return (-1);
	}
	return (0);
}

/*
 * Read what the socket has.  Returns the byte count, 0 at end of file and
 * -1 on error (EAGAIN included, which callers on an event loop ignore).
 */
ssize_t
chan_read(struct chan *c)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * MSG_MAXFDS)];
	}		 cmsgbuf;
	struct msghdr	 mh;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	unsigned char	*nbuf;
	ssize_t		 n;
	size_t		 want, nfds, i;
	int		 fds[MSG_MAXFDS], bad = 0;

	if (c->rpend > 0) {
		memmove(c->rbuf, c->rbuf + c->rpend, c->rlen - c->rpend);
		c->rlen -= c->rpend;
		c->rpend = 0;
	}
	want = c->rsize;
	if (want < RBUF_MIN)
		want = RBUF_MIN;
	if (c->rlen == want)
		want *= 2;
	if (want > MSG_HDRSZ + MSG_MAXPAYLOAD)
		want = MSG_HDRSZ + MSG_MAXPAYLOAD;
	if (want > c->rsize) {
		if ((nbuf = realloc(c->rbuf, want)) == NULL)
			return (-1);
		c->rbuf = nbuf;
		c->rsize = want;
	}
	if (c->rlen == c->rsize) {
		/* The buffer holds a whole message: chan_get must run. */
		errno = ENOBUFS;
		return (-1);
	}

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = c->rbuf + c->rlen;
	iov.iov_len = c->rsize - c->rlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = &cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
again:
	if ((n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EINTR)
			goto again;
		return (-1);
	}
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds > MSG_MAXFDS)
			nfds = MSG_MAXFDS;
		memcpy(fds, CMSG_DATA(cmsg), nfds * sizeof(int));
		for (i = 0; i < nfds; i++) {
			if (c->nrfds < MSG_MAXFDS)
				c->rfds[c->nrfds++] = fds[i];
			else {
				close(fds[i]);
				bad = 1;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		bad = 1;
	if (bad) {
		errno = EBADMSG;
		return (-1);
	}
	c->rlen += n;
	return (n);
}

/*
 * Take the next complete message out of the read buffer.  Returns 1 with
 * msg filled, 0 when more bytes are needed and -1 when the peer sent
 * something no honest peer sends.
 */
int
chan_get(struct chan *c, struct msg *m)
{
	struct msg_hdr	 hdr;
	size_t		 avail;
	int		 i;

	if (c->rpend > 0) {
		memmove(c->rbuf, c->rbuf + c->rpend, c->rlen - c->rpend);
		c->rlen -= c->rpend;
		c->rpend = 0;
	}
	avail = c->rlen;
	if (avail < MSG_HDRSZ)
		return (0);
	memcpy(&hdr, c->rbuf, MSG_HDRSZ);
	if (hdr.len > MSG_MAXPAYLOAD || (hdr.flags & ~MSGF_HASFD) != 0) {
		errno = EBADMSG;
		return (-1);
	}
	if (avail < MSG_HDRSZ + hdr.len)
		return (0);
	memset(m, 0, sizeof(*m));
	m->hdr = hdr;
	m->fd = -1;
	m->len = hdr.len;
	m->data = hdr.len > 0 ? c->rbuf + MSG_HDRSZ : NULL;
	if (hdr.flags & MSGF_HASFD) {
		if (c->nrfds == 0) {
			errno = EBADMSG;
			return (-1);
		}
		m->fd = c->rfds[0];
		for (i = 1; i < c->nrfds; i++)
			c->rfds[i - 1] = c->rfds[i];
		c->nrfds--;
	}
	c->rpend = MSG_HDRSZ + hdr.len;
	return (1);
}

/* The rule for a message type in a table of n, or NULL. */
const struct msg_rule *
msg_rule_find(const struct msg_rule *rules, size_t n, uint32_t type)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (rules[i].type == type)
			return (&rules[i]);
	return (NULL);
}

/* Does every string field the rule names end inside its array? */
static int
msg_strs_ok(const struct msg_str *strs, const struct msg *m)
{
	const struct msg_str	*s;

	for (s = strs; s != NULL && s->len > 0; s++)
		if (s->off + s->len > m->len ||
		    memchr((const char *)m->data + s->off, '\0', s->len) ==
		    NULL)
			return (0);
	return (1);
}

/*
 * Does m, read from c, keep to rule r (NULL: its type has none)?  0 if
 * so, else -1 with *why saying what is wrong.
 */
int
msg_rule_check(const struct msg_rule *r, const struct chan *c,
    const struct msg *m, const char **why)
{
	if (r == NULL)
		*why = "unexpected message";
	else if (c->kind < 0 || c->kind >= 32 ||
	    (r->from & PEER(c->kind)) == 0)
		*why = "not from that kind of peer";
	else if (m->len < r->min || m->len > r->max)
		*why = "wrong size";
	else if (r->fd == MR_NONE && m->fd != -1)
		*why = "unexpected descriptor";
	else if (r->fd == MR_MUST && m->fd == -1)
		*why = "descriptor missing";
	else if (!msg_strs_ok(r->strs, m))
		*why = "unterminated string";
	else
		return (0);
	return (-1);
}

/*
 * Blocking receive for tools and tests: 1 with a message, 0 at end of
 * file, -1 on error or when timeout_ms (if not negative) runs out.
 */
int
chan_recv_one(struct chan *c, struct msg *m, int timeout_ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	for (;;) {
		if ((r = chan_get(c, m)) != 0)
			return (r);
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, timeout_ms)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (r == 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		if ((n = chan_read(c)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			return (0);
	}
}

void
chan_base(struct event_base *base)
{
	chan_evbase = base;
}

void
chan_event_set(struct chan *c, chan_dispatch_cb dispatch,
    chan_event_cb closed, void *arg)
{
	int	 flags;

	if ((flags = fcntl(c->fd, F_GETFL)) != -1)
		fcntl(c->fd, F_SETFL, flags | O_NONBLOCK);
	c->dispatch = dispatch;
	c->closed = closed;
	c->arg = arg;
	event_assign(&c->ev_read, chan_evbase, c->fd, EV_READ | EV_PERSIST,
	    chan_read_cb, c);
	event_assign(&c->ev_write, chan_evbase, c->fd, EV_WRITE,
	    chan_write_cb, c);
	c->evset = 1;
	event_add(&c->ev_read, NULL);
	chan_event_update(c);
}

void
chan_event_update(struct chan *c)
{
	if (!c->evset || c->dead)
		return;
	if (!TAILQ_EMPTY(&c->outq)) {
		if (!event_pending(&c->ev_write, EV_WRITE, NULL))
			event_add(&c->ev_write, NULL);
	} else {
		if (event_pending(&c->ev_write, EV_WRITE, NULL))
			event_del(&c->ev_write);
		/* Written out without the loop: resume reading from it. */
		if (c->rpaused)
			event_active(&c->ev_write, EV_WRITE, 1);
	}
}

void
chan_event_del(struct chan *c)
{
	if (!c->evset)
		return;
	event_del(&c->ev_read);
	event_del(&c->ev_write);
	c->evset = 0;
}

/* Queue a message and try to write it at once. */
/*
 * Nothing is queued: send a message without a descriptor straight from
 * the caller's memory, and queue only what the socket did not take.
 * Returns the bytes sent (maybe 0), or -1 on a socket error.
 */
static ssize_t
chan_send_direct(struct chan *c, uint32_t type, uint32_t peerid,
    const struct iovec *iov, int iovcnt, size_t *total)
{
	struct iovec	 v[DIRECT_IOV + 1];
	struct msghdr	 mh;
	struct msg_hdr	 hdr;
	ssize_t		 n;
	size_t		 len = 0;
	int		 i;

	for (i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		v[i + 1] = iov[i];
	}
	hdr_fill(&hdr, c, type, peerid, -1, len);
	v[0].iov_base = &hdr;
	v[0].iov_len = MSG_HDRSZ;
	*total = MSG_HDRSZ + len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = v;
	mh.msg_iovlen = iovcnt + 1;
	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == ENOBUFS))
		n = 0;
	return (n);
}

int
chan_sendv(struct chan *c, uint32_t type, uint32_t peerid, int fd,
    const struct iovec *iov, int iovcnt)
{
	struct obuf	*ob;
	ssize_t		 n;
	size_t		 total, len = 0;
	int		 i;

	if (c->dead || c->fd == -1) {
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (fd == -1 && TAILQ_EMPTY(&c->outq) && iovcnt <= DIRECT_IOV &&
	    len <= MSG_MAXPAYLOAD) {
		if ((n = chan_send_direct(c, type, peerid, iov, iovcnt,
		    &total)) == -1) {
			chan_shut(c);
			return (-1);
		}
		if ((size_t)n == total)
			return (0);
		if (chan_composev(c, type, peerid, -1, iov, iovcnt) == -1) {
			/* Half a message went: the stream is lost. */
			if (n > 0)
				chan_shut(c);
			return (-1);
		}
		/* The socket took the first n bytes already. */
		ob = TAILQ_LAST(&c->outq, obufq);
		ob->off = n;
		c->queued -= n;
		chan_event_update(c);
		return (0);
	}
	if (chan_composev(c, type, peerid, fd, iov, iovcnt) == -1) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (chan_write(c) == -1) {
		chan_shut(c);
		return (-1);
	}
	chan_event_update(c);
	return (0);
}

int
chan_send(struct chan *c, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)data;
	iov.iov_len = len;
	return (chan_sendv(c, type, peerid, fd, &iov, data == NULL ? 0 : 1));
}

/* The peer is gone or misbehaved: stop its events and tell the owner. */
void
chan_shut(struct chan *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	chan_event_del(c);
	if (c->closed != NULL)
		c->closed(c, c->arg);
}

/* The peer sent what no honest peer sends. */
static void
chan_broken(struct chan *c, const char *why)
{
	if (c->broken != NULL)
		c->broken(c, why);
	else
		log_warnx("channel %d: %s", c->id, why);
	chan_shut(c);
}

/* Too much waits for the peer: it must read before it may send more. */
static int
chan_overfull(struct chan *c)
{
	return ((c->maxqueue > 0 && c->queued > c->maxqueue) ||
	    (c->maxqfds > 0 && c->nqfds > c->maxqfds));
}

static void
chan_dispatch_pending(struct chan *c)
{
	struct msg	 m;
	int		 r;

	while (!c->dead && !c->rpaused) {
		if (chan_overfull(c)) {
			c->rpaused = 1;
			if (c->evset)
				event_del(&c->ev_read);
			return;
		}
		if ((r = chan_get(c, &m)) == 0)
			return;
		if (r == -1) {
			chan_broken(c, "malformed message");
			return;
		}
		c->dispatch(c, &m, c->arg);
	}
}

static void
chan_read_cb(int fd, short event, void *arg)
{
	struct chan	*c = arg;
	ssize_t		 n;

	if ((n = chan_read(c)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno == EBADMSG) {
			chan_broken(c, "bad descriptors");
			return;
		}
		chan_shut(c);
		return;
	}
	if (n == 0) {
		chan_shut(c);
		return;
	}
	chan_dispatch_pending(c);
}

static void
chan_write_cb(int fd, short event, void *arg)
{
	struct chan	*c = arg;

	if (chan_write(c) == -1) {
		chan_shut(c);
		return;
	}
	chan_event_update(c);
	if (c->rpaused && c->queued <= c->maxqueue / 2 &&
	    c->nqfds <= c->maxqfds / 2) {
		/* The peer read enough: take its messages again. */
		c->rpaused = 0;
		if (c->evset && !c->dead)
			event_add(&c->ev_read, NULL);
		chan_dispatch_pending(c);
		if (c->dead)
			return;
	}
	if (c->drained != NULL && c->queued <= c->lowat)
		c->drained(c, c->arg);
}
