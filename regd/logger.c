/*
 * The logger: writes the access log to a descriptor the parent opened
 * and error messages of the sandboxed children to syslog or stderr.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"

struct lpeer {
	struct chan	 chan;
	int		 slot;
	int		 used;
};

static struct lpeer	 parent, storage;
static struct lpeer	 fronts[REGD_MAXSLOTS];
static int		 access_fd = -1;
static int		 access_mode;	/* 0 off, 1 file, 2 syslog */
static int		 syslog_fd = -1;
static struct event	 ev_sigterm, ev_sigint;
static struct event	 ev_aflush;
static char		 abuf[64 * 1024];	/* access lines to write */
static size_t		 alen;
static int		 aflush_pending;

static void	 logger_dispatch(struct chan *, struct msg *, void *);
static void	 logger_closed(struct chan *, void *);
static void	 logger_sig(int, short, void *);
static void	 access_flush(void);
static void	 access_flush_cb(int, short, void *);

static void
syslog_open(void)
{
	struct sockaddr_un	 sun;

	if ((syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, "/dev/log", sizeof(sun.sun_path));
	if (connect(syslog_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(syslog_fd);
		syslog_fd = -1;
	}
}

/* Our own syslog(3): the sandbox forbids reconnecting sockets. */
static void
logger_syslog(int pri, const char *tag, pid_t pid, const char *text,
    size_t len)
{
	char		 buf[1200], ts[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n;

	if (syslog_fd == -1)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "<%d>%s regd[%d]: %s: %.*s",
	    LOG_DAEMON | (pri & LOG_PRIMASK), ts, (int)pid, tag,
	    (int)(len > 1000 ? 1000 : len), text);
	if (n > 0)
		send(syslog_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void
peer_add(struct lpeer *lp, int fd, int slot, struct chan *parentchan)
{
	chan_init(&lp->chan, fd);
	lp->chan.id = slot;
	lp->slot = slot;
	lp->used = 1;
	chan_event_set(&lp->chan, logger_dispatch, logger_closed, lp);
}

void
logger_main(int parentfd, int storagefd, int *frontfds, int nfront)
{
	int	 i;

	if (!env->debug) {
		syslog_open();
		/* glibc's syslog(3) would reconnect: not in this sandbox. */
		log_init(LOG_TO_STDERR, env->verbose, "logger");
	}
	if (sandbox_drop(env->conf->user, env->conf->chroot,
	    env->unpriv) == -1)
		fatalx("logger: cannot drop privileges");
	if (sandbox_seccomp(SANDBOX_LOGGER) == -1)
		fatalx("logger: cannot install the sandbox");

	event_assign(&ev_aflush, env->base, -1, 0, access_flush_cb, NULL);
	atexit(access_flush);
	signal_set(&ev_sigterm, SIGTERM, logger_sig, NULL);
	signal_set(&ev_sigint, SIGINT, logger_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);

	peer_add(&parent, parentfd, -1, NULL);
	peer_add(&storage, storagefd, -1, NULL);
	for (i = 0; i < nfront && i < REGD_MAXSLOTS; i++)
		peer_add(&fronts[i], frontfds[i], i, NULL);
	chan_send(&parent.chan, MSG_READY, 0, -1, NULL, 0);

	event_dispatch();
	exit(0);
}

static void
logger_sig(int sig, short event, void *arg)
{
	exit(0);
}

static void
logger_closed(struct chan *c, void *arg)
{
	struct lpeer	*lp = arg;

	if (lp == &parent)
		exit(0);
	chan_clear(&lp->chan);
	lp->used = 0;
}

/*
 * Access lines to a file are gathered and written once per turn of the
 * event loop, or when the buffer is full.
 */
static void
access_flush(void)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < alen && access_fd != -1) {
		if ((n = write(access_fd, abuf + off, alen - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("access log");
			break;
		}
		off += n;
	}
	alen = 0;
}

static void
access_flush_cb(int fd, short event, void *arg)
{
	aflush_pending = 0;
	access_flush();
}

static void
write_access(const char *text, size_t len)
{
	struct iovec	 iov[2];

	switch (access_mode) {
	case 1:
		if (alen + len + 1 > sizeof(abuf))
			access_flush();
		if (len + 1 <= sizeof(abuf)) {
			memcpy(abuf + alen, text, len);
			abuf[alen + len] = '\n';
			alen += len + 1;
			if (!aflush_pending) {
				aflush_pending = 1;
				event_active(&ev_aflush, EV_WRITE, 1);
			}
			break;
		}
		iov[0].iov_base = (void *)text;
		iov[0].iov_len = len;
		iov[1].iov_base = "\n";
		iov[1].iov_len = 1;
		if (writev(access_fd, iov, 2) == -1 && errno != EAGAIN)
			log_warn("access log");
		break;
	case 2:
		if (env->debug)
			fprintf(stderr, "access: %.*s\n", (int)len, text);
		else
			logger_syslog(LOG_INFO, "access", getpid(), text, len);
		break;
	default:
		break;
	}
}

static void
logger_dispatch(struct chan *c, struct msg *m, void *arg)
{
	struct lpeer	*lp = arg;
	const char	*tag;
	char		 clean[8192];
	size_t		 n;
	int32_t		 pri, mode;
	int		 slot;

	switch (m->hdr.type) {
	case MSG_LOG:
		if (m->len < sizeof(pri))
			goto bad;
		memcpy(&pri, m->data, sizeof(pri));
		if (pri == LOG_DEBUG && !log_getverbose())
			break;
		tag = lp == &storage ? "storage" : lp == &parent ? "parent" :
		    "frontend";
		n = log_escape(clean, sizeof(clean), (char *)m->data +
		    sizeof(pri), m->len - sizeof(pri), 0);
		if (env->debug || syslog_fd == -1)
			fprintf(stderr, "%s[%u]: %s\n", tag, m->hdr.pid,
			    clean);
		else
			logger_syslog(pri, tag, m->hdr.pid, clean, n);
		break;
	case MSG_ACCESS:
		if (lp == &parent || lp == &storage)
			goto bad;
		/* Whatever a frontend sends stays one line. */
		n = log_escape(clean, sizeof(clean), m->data, m->len, 0);
		write_access(clean, n);
		break;
	case MSG_LOG_REOPEN:
		if (lp != &parent || m->len != sizeof(mode))
			goto bad;
		memcpy(&mode, m->data, sizeof(mode));
		access_flush();
		if (access_fd != -1)
			close(access_fd);
		access_fd = m->fd;
		m->fd = -1;
		access_mode = mode;
		if (mode == 1 && access_fd == -1)
			access_mode = 0;
		break;
	case MSG_PEER_FRONTEND:
		if (lp != &parent || m->fd == -1)
			goto bad;
		slot = m->hdr.peerid;
		if (slot < 0 || slot >= REGD_MAXSLOTS)
			goto bad;
		if (fronts[slot].used)
			chan_clear(&fronts[slot].chan);
		peer_add(&fronts[slot], m->fd, slot, NULL);
		m->fd = -1;
		break;
	case MSG_CTL_VERBOSE:
		if (lp != &parent || m->len != sizeof(int32_t))
			goto bad;
		memcpy(&pri, m->data, sizeof(pri));
		log_setverbose(pri);
		break;
	default:
		goto bad;
	}
	if (m->fd != -1)
		close(m->fd);
	return;
bad:
	if (m->fd != -1)
		close(m->fd);
	if (lp == &parent)
		fatalx("logger: bad message %u from the parent", m->hdr.type);
	log_warnx("logger: bad message %u from peer %d, closing it",
	    m->hdr.type, c->id);
	/* dead stops the read loop that called us; the socket goes now. */
	chan_clear(c);
	c->dead = 1;
	lp->used = 0;
}
