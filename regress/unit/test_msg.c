/*
 * Framing tests of privsep/msg.c over real socketpairs: round trips,
 * batches, partial reads and writes, descriptor passing and hostile
 * input.  Prints one line per case and exits 1 if any case failed.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep.h"

#define PUMP_TIMEOUT	5000	/* ms without progress before giving up */

static int	 nfail;
static int	 npass;
static char	 why[512];

static void	 setwhy(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

static void
setwhy(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static void
result(const char *name, int ok)
{
	if (ok) {
		printf("ok   %s\n", name);
		npass++;
	} else {
		printf("FAIL %s: %s\n", name, why);
		nfail++;
	}
	fflush(stdout);
	why[0] = '\0';
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);		/* the directory's own descriptor */
}

static void
nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
pair(struct chan *a, struct chan *b)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		setwhy("socketpair: %s", strerror(errno));
		return (-1);
	}
	nonblock(sv[0]);
	nonblock(sv[1]);
	chan_init(a, sv[0]);
	chan_init(b, sv[1]);
	return (0);
}

static void
fill(unsigned char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 31 + seed * 7 + (i >> 8)) & 0xff);
}

static int
same(const void *data, size_t len, unsigned int seed)
{
	const unsigned char	*p = data;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] != (unsigned char)((i * 31 + seed * 7 + (i >> 8)) &
		    0xff)) {
			setwhy("payload differs at byte %zu of %zu", i, len);
			return (0);
		}
	}
	return (1);
}

/*
 * Move bytes from w to r until r yields a message: 1 with m filled,
 * 0 at end of file, -1 on a framing error (errno set) or -2 when
 * nothing moves for PUMP_TIMEOUT.
 */
static int
pump(struct chan *w, struct chan *r, struct msg *m)
{
	struct pollfd	 pfd[2];
	ssize_t		 n;
	int		 g, nfd;

	for (;;) {
		if ((g = chan_get(r, m)) != 0)
			return (g);
		if (w != NULL && !TAILQ_EMPTY(&w->outq) &&
		    chan_write(w) == -1) {
			setwhy("chan_write: %s", strerror(errno));
			return (-1);
		}
		n = chan_read(r);
		if (n == 0)
			return (0);
		if (n > 0)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return (-1);
		nfd = 0;
		pfd[nfd].fd = r->fd;
		pfd[nfd++].events = POLLIN;
		if (w != NULL && !TAILQ_EMPTY(&w->outq)) {
			pfd[nfd].fd = w->fd;
			pfd[nfd++].events = POLLOUT;
		}
		if (poll(pfd, nfd, PUMP_TIMEOUT) == 0) {
			setwhy("no progress in %d ms", PUMP_TIMEOUT);
			return (-2);
		}
	}
}

/* Round trips of one message each, small to the largest allowed. */
static void
t_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1, 19, 20, 21, 100, 4095, 4096,
	    65535, 65536, 65537, 200000, MSG_MAXPAYLOAD - 1, MSG_MAXPAYLOAD };
	struct chan	 a, b;
	struct msg	 m;
	unsigned char	*buf;
	char		 name[64];
	size_t		 i;
	int		 ok, r;

	if ((buf = malloc(MSG_MAXPAYLOAD)) == NULL)
		abort();
	if (pair(&a, &b) == -1) {
		result("roundtrip", 0);
		free(buf);
		return;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "roundtrip %zu bytes", sizes[i]);
		fill(buf, sizes[i], i);
		ok = 0;
		if (chan_compose(&a, 100 + i, 7000 + i, -1, buf,
		    sizes[i]) == -1) {
			setwhy("chan_compose: %s", strerror(errno));
			goto next;
		}
		if ((r = pump(&a, &b, &m)) != 1) {
			if (why[0] == '\0')
				setwhy("pump returned %d (%s)", r,
				    strerror(errno));
			goto next;
		}
		if (m.hdr.type != 100 + i || m.hdr.peerid != 7000 + i ||
		    m.hdr.len != sizes[i] || m.len != sizes[i] ||
		    m.hdr.pid != (uint32_t)getpid() || m.fd != -1) {
			setwhy("header type %u peerid %u len %u/%zu pid %u "
			    "fd %d", m.hdr.type, m.hdr.peerid, m.hdr.len,
			    m.len, m.hdr.pid, m.fd);
			goto next;
		}
		if (sizes[i] > 0 && (m.data == NULL ||
		    !same(m.data, m.len, i)))
			goto next;
		ok = a.queued == 0 && TAILQ_EMPTY(&a.outq);
		if (!ok)
			setwhy("%zu bytes still queued", a.queued);
 next:
		result(name, ok);
	}

	/* One byte too many is refused before anything is queued. */
	errno = 0;
	r = chan_compose(&a, 1, 0, -1, buf, MSG_MAXPAYLOAD);
	ok = 0;
	if (r == 0) {
		if ((buf = realloc(buf, MSG_MAXPAYLOAD + 1)) == NULL)
			abort();
		chan_clear(&a);
		chan_clear(&b);
		if (pair(&a, &b) == -1)
			goto out;
		errno = 0;
		r = chan_compose(&a, 1, 0, -1, buf, MSG_MAXPAYLOAD + 1);
		ok = r == -1 && errno == EMSGSIZE && a.queued == 0;
		if (!ok)
			setwhy("compose returned %d errno %d queued %zu", r,
			    errno, a.queued);
	} else
		setwhy("compose of MSG_MAXPAYLOAD failed: %s",
		    strerror(errno));
 out:
	result("compose refuses MSG_MAXPAYLOAD + 1", ok);
	chan_clear(&a);
	chan_clear(&b);
	free(buf);
}

/*
 * Many messages written before the reader looks; one read then hands
 * back several complete messages, in order.
 */
static void
t_batch(void)
{
	struct chan	 a, b;
	struct msg	 m;
	unsigned char	 buf[300];
	ssize_t		 n;
	int		 i, got = 0, maxper = 0, per, ok = 0, r;
	const int	 count = 500;

	if (pair(&a, &b) == -1)
		goto out;
	for (i = 0; i < count; i++) {
		fill(buf, i % 300, i);
		if (chan_compose(&a, 1 + i % 50, i, -1, buf, i % 300) == -1) {
			setwhy("compose %d: %s", i, strerror(errno));
			goto out;
		}
	}
	/* The whole batch (about 85 KB) fits in the socket buffer. */
	if (chan_flush(&a) == -1) {
		setwhy("chan_flush: %s", strerror(errno));
		goto out;
	}
	if (a.queued != 0) {
		setwhy("%zu bytes left after flush", a.queued);
		goto out;
	}
	while (got < count) {
		n = chan_read(&b);
		if (n == 0) {
			setwhy("end of file after %d messages", got);
			goto out;
		}
		if (n == -1 && errno != EAGAIN) {
			setwhy("chan_read: %s", strerror(errno));
			goto out;
		}
		if (n == -1) {
			setwhy("socket ran dry after %d of %d messages",
			    got, count);
			goto out;
		}
		per = 0;
		while ((r = chan_get(&b, &m)) == 1) {
			if (m.hdr.type != (uint32_t)(1 + got % 50) ||
			    m.hdr.peerid != (uint32_t)got ||
			    m.len != (size_t)(got % 300) ||
			    !same(m.data, m.len, got)) {
				if (why[0] == '\0')
					setwhy("message %d: type %u peerid %u "
					    "len %zu", got, m.hdr.type,
					    m.hdr.peerid, m.len);
				goto out;
			}
			got++;
			per++;
		}
		if (r == -1) {
			setwhy("chan_get: -1 after %d messages", got);
			goto out;
		}
		if (per > maxper)
			maxper = per;
	}
	if (maxper < 2) {
		setwhy("no read returned more than one message");
		goto out;
	}
	ok = chan_get(&b, &m) == 0;
	if (!ok)
		setwhy("an extra message appeared");
 out:
	result("batch of 500 messages, read together", ok);
	if (ok)
		printf("     (up to %d messages from one read)\n", maxper);
	chan_clear(&a);
	chan_clear(&b);
}

/* Take the raw bytes a channel would write for a queue of messages. */
static ssize_t
raw_bytes(struct chan *src, unsigned char *out, size_t outsz)
{
	struct obuf	*ob;
	size_t		 have = 0;

	TAILQ_FOREACH(ob, &src->outq, entry) {
		if (have + ob->len > outsz)
			return (-1);
		memcpy(out + have, ob->buf, ob->len);
		have += ob->len;
	}
	return ((ssize_t)have);
}

/*
 * A message fed one byte at a time: chan_get says "not yet" until the
 * last byte is in, then hands back the whole message once.
 */
static void
t_partial_read(void)
{
	struct chan	 src, dummy, r;
	struct msg	 m;
	unsigned char	 payload[1000], wire[2 * (1000 + 64)];
	ssize_t		 wlen, i;
	int		 sv[2], g, ok = 0, early = -1;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	if (pair(&src, &dummy) == -1)
		goto out;
	fill(payload, sizeof(payload), 42);
	if (chan_compose(&src, 9, 77, -1, payload, sizeof(payload)) == -1 ||
	    chan_compose(&src, 10, 78, -1, NULL, 0) == -1) {
		setwhy("compose: %s", strerror(errno));
		goto out;
	}
	if ((wlen = raw_bytes(&src, wire, sizeof(wire))) !=
	    (ssize_t)(2 * MSG_HDRSZ + sizeof(payload))) {
		setwhy("unexpected wire size %zd", wlen);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		setwhy("socketpair: %s", strerror(errno));
		goto out;
	}
	nonblock(sv[1]);
	chan_init(&r, sv[1]);
	for (i = 0; i < wlen; i++) {
		if (write(sv[0], wire + i, 1) != 1) {
			setwhy("write: %s", strerror(errno));
			close(sv[0]);
			goto out;
		}
		if (chan_read(&r) != 1) {
			setwhy("chan_read at byte %zd: %s", i,
			    strerror(errno));
			close(sv[0]);
			goto out;
		}
		g = chan_get(&r, &m);
		if (g == -1) {
			setwhy("chan_get -1 at byte %zd", i);
			close(sv[0]);
			goto out;
		}
		if (g == 1) {
			if (i == (ssize_t)(MSG_HDRSZ + sizeof(payload) - 1)) {
				if (m.hdr.type != 9 || m.hdr.peerid != 77 ||
				    m.len != sizeof(payload) ||
				    !same(m.data, m.len, 42)) {
					if (why[0] == '\0')
						setwhy("first message wrong");
					close(sv[0]);
					goto out;
				}
				/* Nothing more is complete yet. */
				if (chan_get(&r, &m) != 0) {
					setwhy("second get not 0");
					close(sv[0]);
					goto out;
				}
				continue;
			}
			if (i == wlen - 1 && m.hdr.type == 10 && m.len == 0)
				continue;
			early = i;
			break;
		}
		if (i == (ssize_t)(MSG_HDRSZ + sizeof(payload) - 1) ||
		    i == wlen - 1) {
			setwhy("message not complete at its last byte %zd",
			    i);
			close(sv[0]);
			goto out;
		}
	}
	close(sv[0]);
	if (early != -1) {
		setwhy("chan_get returned a message at byte %d of %zd", early,
		    wlen);
		goto out;
	}
	/* The writer is gone: end of file. */
	ok = chan_read(&r) == 0;
	if (!ok)
		setwhy("no end of file after the writer closed");
 out:
	result("partial reads, one byte at a time", ok);
	chan_clear(&src);
	chan_clear(&dummy);
	if (r.fd != -1)
		chan_clear(&r);
}

/*
 * A sender whose socket holds far less than the queue: chan_write moves
 * what fits, keeps the rest, and the reader sees every message intact.
 */
static void
t_partial_write(void)
{
	struct chan	 a, b;
	struct msg	 m;
	unsigned char	*buf;
	size_t		 first;
	int		 sz = 4096, i, got = 0, ok = 0, r, writes = 0;
	const int	 count = 64;
	const size_t	 msz = 8000;

	if ((buf = malloc(msz)) == NULL)
		abort();
	if (pair(&a, &b) == -1)
		goto out;
	setsockopt(a.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(b.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	for (i = 0; i < count; i++) {
		fill(buf, msz, 1000 + i);
		if (chan_compose(&a, 5, i, -1, buf, msz) == -1) {
			setwhy("compose: %s", strerror(errno));
			goto out;
		}
	}
	if (chan_write(&a) == -1) {
		setwhy("first chan_write: %s", strerror(errno));
		goto out;
	}
	first = count * (msz + MSG_HDRSZ) - a.queued;
	if (a.queued == 0 || first == 0) {
		setwhy("first write moved %zu of %zu bytes", first,
		    count * (msz + MSG_HDRSZ));
		goto out;
	}
	writes = 1;
	while (got < count) {
		if (!TAILQ_EMPTY(&a.outq))
			writes++;
		if ((r = pump(&a, &b, &m)) != 1) {
			if (why[0] == '\0')
				setwhy("pump %d after %d messages", r, got);
			goto out;
		}
		if (m.hdr.peerid != (uint32_t)got || m.len != msz ||
		    !same(m.data, m.len, 1000 + got)) {
			if (why[0] == '\0')
				setwhy("message %d wrong (peerid %u)", got,
				    m.hdr.peerid);
			goto out;
		}
		got++;
	}
	ok = a.queued == 0 && TAILQ_EMPTY(&a.outq);
	if (!ok)
		setwhy("%zu bytes still queued", a.queued);
 out:
	result("partial writes through a small socket buffer", ok);
	if (ok)
		printf("     (first write took %zu of %zu bytes)\n", first,
		    count * (msz + MSG_HDRSZ));
	chan_clear(&a);
	chan_clear(&b);
	free(buf);
}

static int
fd_closed(int fd)
{
	return (fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

/*
 * Descriptors travel with their message: pipes and a file, mixed with
 * messages without one, each arriving with the right message.
 */
static void
t_fdpass(void)
{
	struct chan	 a, b;
	struct msg	 m;
	char		 text[64], got[64], path[] = "/tmp/test_msg.XXXXXX";
	int		 p[4][2], ffd, i, ok = 0, r, sent[4], base;
	ssize_t		 n;

	base = count_fds();
	for (i = 0; i < 4; i++)
		p[i][0] = p[i][1] = -1;
	ffd = -1;
	if (pair(&a, &b) == -1)
		goto out;
	for (i = 0; i < 3; i++) {
		if (pipe(p[i]) == -1) {
			setwhy("pipe: %s", strerror(errno));
			goto out;
		}
		snprintf(text, sizeof(text), "through pipe %d", i);
		if (write(p[i][1], text, strlen(text)) == -1)
			abort();
		close(p[i][1]);
		p[i][1] = -1;
	}
	if ((ffd = mkstemp(path)) == -1) {
		setwhy("mkstemp: %s", strerror(errno));
		goto out;
	}
	unlink(path);
	if (write(ffd, "a file's content", 16) != 16 ||
	    lseek(ffd, 0, SEEK_SET) != 0)
		abort();

	/* pipe, plain, pipe, pipe, plain, file */
	sent[0] = p[0][0];
	sent[1] = p[1][0];
	sent[2] = p[2][0];
	sent[3] = ffd;
	if (chan_compose(&a, 1, 0, p[0][0], "p0", 2) == -1 ||
	    chan_compose(&a, 2, 1, -1, "plain", 5) == -1 ||
	    chan_compose(&a, 1, 2, p[1][0], "p1", 2) == -1 ||
	    chan_compose(&a, 1, 3, p[2][0], NULL, 0) == -1 ||
	    chan_compose(&a, 2, 4, -1, NULL, 0) == -1 ||
	    chan_compose(&a, 3, 5, ffd, "file", 4) == -1) {
		setwhy("compose: %s", strerror(errno));
		goto out;
	}
	p[0][0] = p[1][0] = p[2][0] = ffd = -1;	/* the channel owns them */
	for (i = 0; i < 6; i++) {
		if ((r = pump(&a, &b, &m)) != 1) {
			if (why[0] == '\0')
				setwhy("pump %d at message %d (%s)", r, i,
				    strerror(errno));
			goto out;
		}
		if (m.hdr.peerid != (uint32_t)i) {
			setwhy("message %d came as %u", i, m.hdr.peerid);
			goto out;
		}
		if (m.hdr.type == 2) {
			if (m.fd != -1) {
				setwhy("message %d has an fd it was not sent",
				    i);
				goto out;
			}
			continue;
		}
		if (m.fd == -1) {
			setwhy("message %d lost its descriptor", i);
			goto out;
		}
		memset(got, 0, sizeof(got));
		n = read(m.fd, got, sizeof(got) - 1);
		close(m.fd);
		if (m.hdr.type == 3)
			snprintf(text, sizeof(text), "a file's content");
		else
			snprintf(text, sizeof(text), "through pipe %d",
			    i == 0 ? 0 : i == 2 ? 1 : 2);
		if (n < 0 || strcmp(got, text) != 0) {
			setwhy("message %d read '%s', want '%s'", i, got,
			    text);
			goto out;
		}
	}
	for (i = 0; i < 4; i++) {
		/* Once sent, the sender's copies are closed. */
		if (!fd_closed(sent[i])) {
			setwhy("sender still holds descriptor %d", sent[i]);
			goto out;
		}
	}
	ok = 1;
 out:
	for (i = 0; i < 4; i++) {
		if (p[i][0] != -1)
			close(p[i][0]);
		if (p[i][1] != -1)
			close(p[i][1]);
	}
	if (ffd != -1)
		close(ffd);
	chan_clear(&a);
	chan_clear(&b);
	if (ok && count_fds() != base) {
		setwhy("%d descriptors before, %d after", base, count_fds());
		ok = 0;
	}
	result("descriptor passing with pipes and a file", ok);
}

/*
 * Feed raw bytes to a fresh reader: -1 if it refused them, else the
 * number of messages it got out of them.
 */
static int
feed(const void *bytes, size_t len, int withfd)
{
	struct chan	 r;
	struct msg	 m;
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	struct cmsghdr	*c;
	int		 sv[2], g, pfd[2], count = 0;
	ssize_t		 n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	nonblock(sv[1]);
	chan_init(&r, sv[1]);
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)bytes;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	pfd[0] = pfd[1] = -1;
	if (withfd) {
		if (pipe(pfd) == -1)
			abort();
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_len = CMSG_LEN(sizeof(int));
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(c), &pfd[0], sizeof(int));
	}
	if (sendmsg(sv[0], &mh, 0) != (ssize_t)len)
		abort();
	close(sv[0]);
	if (pfd[0] != -1) {
		close(pfd[0]);
		close(pfd[1]);
	}
	g = 0;
	do {
		n = chan_read(&r);
		if (n <= 0)
			break;
		while ((g = chan_get(&r, &m)) == 1) {
			count++;
			if (m.fd != -1)
				close(m.fd);
		}
	} while (g == 0);
	chan_clear(&r);
	return (g == -1 || n == -1 ? -1 : count);
}

static void
t_hostile(void)
{
	struct msg_hdr	 h;
	unsigned char	 junk[4096 + MSG_HDRSZ];
	const char	*http = "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n";
	unsigned int	 seed;
	size_t		 i;
	int		 g, ok, base;

	base = count_fds();

	/* The control: a well-formed message goes through feed(). */
	memset(&h, 0, sizeof(h));
	h.type = 1;
	h.len = 2;
	memcpy(junk, &h, sizeof(h));
	memcpy(junk + MSG_HDRSZ, "ok", 2);
	g = feed(junk, MSG_HDRSZ + 2, 0);
	setwhy("feed returned %d", g);
	result("a well-formed raw message is taken (control)", g == 1);

	memset(&h, 0, sizeof(h));
	h.type = 1;
	h.len = MSG_MAXPAYLOAD + 1;
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, &h, sizeof(h));
	g = feed(junk, sizeof(junk), 0);
	setwhy("chan_get returned %d", g);
	result("header length MSG_MAXPAYLOAD + 1 refused", g == -1);

	h.len = 0xffffffffU;
	memcpy(junk, &h, sizeof(h));
	g = feed(junk, sizeof(junk), 0);
	setwhy("chan_get returned %d", g);
	result("header length 2^32-1 refused", g == -1);

	h.len = 4;
	h.flags = 0x80;
	memcpy(junk, &h, sizeof(h));
	g = feed(junk, MSG_HDRSZ + 4, 0);
	setwhy("chan_get returned %d", g);
	result("unknown header flag refused", g == -1);

	g = feed(http, strlen(http), 0);
	setwhy("chan_get returned %d", g);
	result("HTTP text as a message refused", g == -1);

	ok = 1;
	for (seed = 1; seed <= 200 && ok; seed++) {
		srandom(seed);
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = random() & 0xff;
		if ((g = feed(junk, sizeof(junk), 0)) != -1) {
			setwhy("seed %u: chan_get returned %d", seed, g);
			ok = 0;
		}
	}
	result("200 blocks of random garbage refused", ok);

	memset(&h, 0, sizeof(h));
	h.type = 1;
	h.len = 3;
	h.flags = MSGF_HASFD;
	memcpy(junk, &h, sizeof(h));
	memcpy(junk + MSG_HDRSZ, "abc", 3);
	g = feed(junk, MSG_HDRSZ + 3, 0);
	setwhy("chan_get returned %d", g);
	result("header claims a descriptor, none sent", g == -1);

	/* The same message with its descriptor is fine: the control case. */
	g = feed(junk, MSG_HDRSZ + 3, 1);
	setwhy("chan_get returned %d", g);
	result("header claims a descriptor, one sent (control)", g == 1);

	setwhy("%d descriptors before, %d after", base, count_fds());
	result("no descriptor leaked by refused input", count_fds() == base);
}

/* Send n descriptors in one sendmsg along with len bytes of data. */
static int
send_fds(int sock, int n, const void *data, size_t len)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*c;
	char		*cbuf;
	int		 i, p[2], rv;

	if ((cbuf = calloc(1, CMSG_SPACE(n * sizeof(int)))) == NULL)
		abort();
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	if (pipe(p) == -1)
		abort();
	close(p[1]);
	for (i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &p[0], sizeof(int));
	rv = sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -1;
	close(p[0]);
	free(cbuf);
	return (rv);
}

/*
 * More descriptors than a channel may hold: in one control message, and
 * piled up by messages the reader has not taken yet.
 */
static void
t_toomanyfds(void)
{
	struct chan	 r;
	struct msg_hdr	 h;
	unsigned char	 wire[MSG_HDRSZ + 1];
	ssize_t		 n = 0;
	int		 sv[2], i, base, ok;

	base = count_fds();
	memset(&h, 0, sizeof(h));
	h.type = 1;
	h.len = 1;
	h.flags = MSGF_HASFD;
	memcpy(wire, &h, sizeof(h));
	wire[MSG_HDRSZ] = 'z';

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	nonblock(sv[1]);
	chan_init(&r, sv[1]);
	if (send_fds(sv[0], MSG_MAXFDS + 1, wire, sizeof(wire)) == -1)
		abort();
	n = chan_read(&r);
	ok = n == -1;
	setwhy("chan_read returned %zd with %d+1 descriptors", n, MSG_MAXFDS);
	chan_clear(&r);
	close(sv[0]);
	result("MSG_MAXFDS + 1 descriptors in one message refused", ok);

	/* Messages with one descriptor each, none taken by chan_get. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	nonblock(sv[1]);
	chan_init(&r, sv[1]);
	for (i = 0; i < MSG_MAXFDS + 1; i++)
		if (send_fds(sv[0], 1, wire, sizeof(wire)) == -1)
			abort();
	ok = 0;
	for (i = 0; i < MSG_MAXFDS + 1; i++) {
		n = chan_read(&r);
		if (n == -1 && errno != EAGAIN) {
			ok = 1;
			break;
		}
		if (n <= 0)
			break;
	}
	setwhy("%d reads accepted %d descriptors without a chan_get", i,
	    r.nrfds);
	chan_clear(&r);
	close(sv[0]);
	result("more than MSG_MAXFDS pending descriptors refused", ok);

	setwhy("%d descriptors before, %d after", base, count_fds());
	result("no descriptor leaked by refused descriptors",
	    count_fds() == base);
}

/* chan_recv_one: a timeout, then a message, then end of file. */
static void
t_recv_one(void)
{
	struct chan	 a, b;
	struct msg	 m;
	int		 r1, r2, r3, e1, ok;

	if (pair(&a, &b) == -1) {
		result("chan_recv_one", 0);
		return;
	}
	r1 = chan_recv_one(&b, &m, 100);
	e1 = errno;
	if (chan_compose(&a, 4, 44, -1, "hello", 5) == -1 ||
	    chan_flush(&a) == -1)
		abort();
	r2 = chan_recv_one(&b, &m, 1000);
	ok = r2 == 1 && m.hdr.type == 4 && m.len == 5 &&
	    memcmp(m.data, "hello", 5) == 0;
	close(a.fd);
	a.fd = -1;
	r3 = chan_recv_one(&b, &m, 1000);
	ok = ok && r1 == -1 && e1 == ETIMEDOUT && r3 == 0;
	setwhy("timeout %d (%s), message %d, eof %d", r1, strerror(e1), r2,
	    r3);
	result("chan_recv_one: timeout, message, end of file", ok);
	chan_clear(&a);
	chan_clear(&b);
}

/*
 * A peer that sends requests but never reads the answers: once the
 * answers waiting for it pass the bound (bytes, or descriptors), no more
 * of its requests are read; when it reads, the rest are served.
 */
static int	 bq_served;
static int	 bq_fd;
static size_t	 bq_len;

static void
bq_dispatch(struct chan *c, struct msg *m, void *arg)
{
	static unsigned char	 answer[64 * 1024];

	bq_served++;
	chan_send(c, 2, m->hdr.peerid, bq_fd == -1 ? -1 : dup(bq_fd),
	    answer, bq_len);
}

static void
t_bounded_queue(int withfd)
{
	struct event_base	*base;
	struct chan		 a, b;
	struct msg		 m;
	char			 name[128];
	int			 i, got = 0, paused, servedp, maxq = 0, sz = 4096;
	int			 nfds0 = count_fds(), nfds, ok;
	ssize_t			 n;

	snprintf(name, sizeof(name), "a peer that does not read is not read "
	    "from past %s, and is served once it reads",
	    withfd ? "8 queued descriptors" : "256 KiB queued");
	if ((base = event_base_new()) == NULL || pair(&a, &b) == -1)
		abort();
	chan_base(base);
	bq_fd = withfd ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	bq_len = withfd ? 16 : 64 * 1024;
	if (withfd) {
		setsockopt(a.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		a.maxqfds = 8;
	} else
		a.maxqueue = 256 * 1024;
	bq_served = 0;
	chan_event_set(&a, bq_dispatch, NULL, NULL);
	for (i = 0; i < 200; i++)
		if (chan_compose(&b, 1, i, -1, "req", 3) == -1)
			abort();
	if (chan_flush(&b) == -1)
		abort();
	for (i = 0; i < 50; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (a.nqfds > maxq)
			maxq = a.nqfds;
	}
	paused = a.rpaused;
	servedp = bq_served;
	nfds = count_fds() - nfds0;
	/* Now b reads everything; a must serve all 200. */
	for (i = 0; i < 20000 && got < 200; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = chan_read(&b);
		while (n != 0 && chan_get(&b, &m) == 1) {
			if (m.fd != -1)
				close(m.fd);
			got++;
		}
	}
	ok = paused && servedp < 200 && got == 200 && bq_served == 200 &&
	    (!withfd || (maxq <= 9 && nfds < 40));
	setwhy("paused %d after %d served, %d queued fds at most, %d fds "
	    "open; then %d answers read, %d served", paused, servedp, maxq,
	    nfds, got, bq_served);
	result(name, ok);
	chan_clear(&a);
	chan_clear(&b);
	if (bq_fd != -1)
		close(bq_fd);
	event_base_free(base);
}

/* Rules: a test process takes 1 from kind 1, 2 from 1 or 2, 3 from 0. */
static void
nop_cb(struct chan *c, struct msg *m, void *arg)
{
}

/* Type 5: a fixed payload with two strings around a number. */
struct two_strs {
	char		 a[8];
	int32_t		 v;
	char		 b[4];
};
static const struct msg_str	 two_strs_strs[] = {
	MSG_STR(struct two_strs, a), MSG_STR(struct two_strs, b), MSG_STR_END
};

static const struct msg_rule	 test_rules[] = {
	MR_RANGE(1, PEER(1), 8, 8, MR_NONE, nop_cb),
	MR_RANGE(2, PEER(1) | PEER(2), 0, 100, MR_MUST, nop_cb),
	MR_EMPTY(3, PEER(0), nop_cb),
	MR_RANGE(4, PEER(1), 4, 200, MR_MAY, nop_cb),
	MR_STRS(5, PEER(1), struct two_strs, two_strs_strs, MR_NONE, nop_cb),
};

/*
 * Send one message of type, len bytes (and a descriptor if withfd) to a
 * channel whose peer is of kind, and check it as a process would.
 * Returns why it was refused, or NULL.
 */
static const char *
rule_case(int kind, uint32_t type, size_t len, int withfd, int *err)
{
	const struct msg_rule	*r;
	struct chan		 a, b;
	struct msg		 m;
	unsigned char		 buf[300];
	const char		*rwhy = NULL;
	int			 fd = -1;

	*err = 1;
	if (pair(&a, &b) == -1)
		return (NULL);
	b.kind = kind;
	memset(buf, 'x', sizeof(buf));
	if (withfd && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		goto done;
	if (chan_compose(&a, type, 0, fd, buf, len) == -1 ||
	    pump(&a, &b, &m) != 1)
		goto done;
	*err = 0;
	r = msg_rule_find(test_rules, sizeof(test_rules) /
	    sizeof(test_rules[0]), type);
	if (msg_rule_check(r, &b, &m, &rwhy) == 0)
		rwhy = NULL;
	if (m.fd != -1)
		close(m.fd);
done:
	chan_clear(&a);
	chan_clear(&b);
	return (rwhy);
}

static void
t_rules(void)
{
	static const struct {
		const char	*name;
		int		 kind;
		uint32_t	 type;
		size_t		 len;
		int		 fd;
		const char	*want;		/* NULL: accepted */
	} cases[] = {
		{ "rule: fixed size", 1, 1, 8, 0, NULL },
		{ "rule: one byte short", 1, 1, 7, 0, "wrong size" },
		{ "rule: one byte over", 1, 1, 9, 0, "wrong size" },
		{ "rule: empty where 8 bytes", 1, 1, 0, 0, "wrong size" },
		{ "rule: unexpected descriptor", 1, 1, 8, 1,
		    "unexpected descriptor" },
		{ "rule: descriptor missing", 1, 2, 10, 0,
		    "descriptor missing" },
		{ "rule: descriptor given", 2, 2, 10, 1, NULL },
		{ "rule: descriptor optional, none", 1, 4, 4, 0, NULL },
		{ "rule: descriptor optional, one", 1, 4, 200, 1, NULL },
		{ "rule: over the range", 1, 4, 201, 0, "wrong size" },
		{ "rule: wrong sender kind", 1, 3, 0, 0,
		    "not from that kind of peer" },
		{ "rule: wrong sender kind, any size", 2, 1, 8, 0,
		    "not from that kind of peer" },
		{ "rule: peer of no kind", -1, 1, 8, 0,
		    "not from that kind of peer" },
		{ "rule: kind beyond the bits", 40, 1, 8, 0,
		    "not from that kind of peer" },
		{ "rule: allowed sender", 0, 3, 0, 0, NULL },
		{ "rule: type without a rule", 1, 9, 0, 0,
		    "unexpected message" },
		{ "rule: strings, one byte short", 1, 5,
		    sizeof(struct two_strs) - 1, 0, "wrong size" },
		{ "rule: strings unterminated", 1, 5,
		    sizeof(struct two_strs), 0, "unterminated string" },
	};
	const char	*got;
	size_t		 i;
	int		 err, before;
	struct {
		char	 s[4];
		int32_t	 v;
	}		 st;
	struct two_strs	 two;
	struct chan	 ch;
	struct msg	 m;
	const char	*rwhy;

	before = count_fds();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = rule_case(cases[i].kind, cases[i].type, cases[i].len,
		    cases[i].fd, &err);
		if (err)
			setwhy("could not send the message");
		else if ((got == NULL) != (cases[i].want == NULL) ||
		    (got != NULL && strcmp(got, cases[i].want) != 0))
			setwhy("got \"%s\", want \"%s\"",
			    got ? got : "accepted",
			    cases[i].want ? cases[i].want : "accepted");
		result(cases[i].name, !err && why[0] == '\0');
	}
	if (count_fds() != before)
		setwhy("%d descriptors left open", count_fds() - before);
	result("rule: no descriptor leaked", why[0] == '\0');

	/* MSG_GET takes exactly its size; MSG_STR_OK wants a NUL inside. */
	memset(&m, 0, sizeof(m));
	memset(&st, 'a', sizeof(st));
	m.data = &st;
	m.len = sizeof(st) - 1;
	if (MSG_GET(&m, &st) != -1)
		setwhy("MSG_GET took a short payload");
	m.len = sizeof(st);
	if (MSG_GET(&m, &st) != 0)
		setwhy("MSG_GET refused its own size");
	if (MSG_STR_OK(st.s))
		setwhy("MSG_STR_OK passed an unterminated string");
	st.s[3] = '\0';
	if (!MSG_STR_OK(st.s))
		setwhy("MSG_STR_OK refused a terminated string");
	result("rule: MSG_GET and MSG_STR_OK", why[0] == '\0');

	/* MR_STRS: every string it names must end inside its array. */
	memset(&ch, 0, sizeof(ch));
	ch.kind = 1;
	memset(&two, 'a', sizeof(two));
	two.a[7] = '\0';
	two.b[0] = '\0';
	memset(&m, 0, sizeof(m));
	m.fd = -1;
	m.data = &two;
	m.len = sizeof(two);
	if (msg_rule_check(&test_rules[4], &ch, &m, &rwhy) != 0)
		setwhy("terminated strings refused: %s", rwhy);
	two.b[0] = 'b';
	if (msg_rule_check(&test_rules[4], &ch, &m, &rwhy) != -1 ||
	    strcmp(rwhy, "unterminated string") != 0)
		setwhy("an unterminated second string passed");
	two.b[3] = '\0';
	two.a[7] = 'a';
	if (msg_rule_check(&test_rules[4], &ch, &m, &rwhy) != -1)
		setwhy("an unterminated first string passed");
	result("rule: MR_STRS checks each string", why[0] == '\0');
}

/* A peer that breaks the framing: broken is told why, then closed. */
static int	 broken_calls, closed_calls, broken_before;
static char	 broken_why[64];

static void
br_broken(struct chan *c, const char *w)
{
	broken_calls++;
	broken_before = closed_calls == 0;
	strlcpy(broken_why, w, sizeof(broken_why));
}

static void
br_closed(struct chan *c, void *arg)
{
	closed_calls++;
}

static void
br_dispatch(struct chan *c, struct msg *m, void *arg)
{
	setwhy("a message was dispatched");
}

static void
t_broken(void)
{
	struct event_base	*base;
	struct chan		 a, b;
	struct msg_hdr		 hdr;
	int			 i;

	broken_calls = closed_calls = 0;
	if ((base = event_base_new()) == NULL || pair(&a, &b) == -1) {
		result("broken: callback before closed", 0);
		return;
	}
	chan_base(base);
	chan_event_set(&b, br_dispatch, br_closed, NULL);
	b.broken = br_broken;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 1;
	hdr.len = MSG_MAXPAYLOAD + 1;		/* no honest peer says this */
	if (write(a.fd, &hdr, sizeof(hdr)) != sizeof(hdr))
		setwhy("write: %s", strerror(errno));
	for (i = 0; i < 100 && closed_calls == 0; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	if (why[0] == '\0' && (broken_calls != 1 || closed_calls != 1 ||
	    !broken_before || strcmp(broken_why, "malformed message") != 0))
		setwhy("broken %d (\"%s\"), closed %d, broken first %d",
		    broken_calls, broken_why, closed_calls, broken_before);
	if (why[0] == '\0' && !b.dead)
		setwhy("channel not shut");
	result("broken: callback told why, then closed", why[0] == '\0');
	chan_clear(&a);
	chan_clear(&b);
	event_base_free(base);
	chan_base(NULL);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_TO_STDERR, 0, "test_msg");

	t_roundtrip();
	t_batch();
	t_partial_read();
	t_partial_write();
	t_fdpass();
	t_hostile();
	t_toomanyfds();
	t_recv_one();
	t_bounded_queue(0);
	t_bounded_queue(1);
	t_rules();
	t_broken();

	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail == 0 ? 0 : 1);
}
