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
	enum proc_kind	 kind;
	int		 slot;
	int		 used;
};

static struct lpeer	 parent, storage, fetcher;
static struct lpeer	 fronts[REGD_MAXSLOTS];
static int		 access_fd = -1;
static int		 access_mode;	/* LOGR_* */
static int		 syslog_fd = -1;
static struct event	 ev_sigterm, ev_sigint;
static struct event	 ev_aflush;
static char		 abuf[64 * 1024];	/* access lines to write */
static size_t		 alen;
static int		 aflush_pending;

static void	 logger_log(struct chan *, struct msg *, void *);
static void	 logger_access(struct chan *, struct msg *, void *);
static void	 logger_reopen(struct chan *, struct msg *, void *);
static int	 logger_peer(enum proc_kind, int, int);
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

/* Error lines from everybody, access lines from the frontends. */
static const struct msg_rule	 logger_rules[] = {
	MR_RANGE(MSG_LOG, PEER(PROC_PARENT) | PEER(PROC_STORAGE) |
	    PEER(PROC_FRONTEND) | PEER(PROC_FETCHER), sizeof(struct msg_log),
	    MSG_MAXPAYLOAD, MR_NONE, logger_log),
	MR_RANGE(MSG_ACCESS, PEER(PROC_FRONTEND), 0, MSG_MAXPAYLOAD, MR_NONE,
	    logger_access),
	MR_FIXED(MSG_LOG_REOPEN, PEER(PROC_PARENT), struct msg_log_reopen,
	    MR_MAY, logger_reopen),
};

/* A channel to the parent, storage or a frontend (a new one replaces). */
static int
logger_peer(enum proc_kind k, int slot, int fd)
{
	struct lpeer	*lp;

	switch (k) {
	case PROC_PARENT:
		lp = &parent;
		break;
	case PROC_STORAGE:
		lp = &storage;
		break;
	case PROC_FETCHER:
		lp = &fetcher;
		break;
	case PROC_FRONTEND:
		if (slot < 0 || slot >= REGD_MAXSLOTS)
			return (-1);
		lp = &fronts[slot];
		break;
	default:
		return (-1);
	}
	if (lp->used)
		chan_clear(&lp->chan);
	lp->kind = k;
	lp->slot = slot;
	lp->used = 1;
	proc_chan(&lp->chan, k, slot, fd, lp, logger_closed);
	return (0);
}

void
logger_main(struct proc_boot *boot)
{
	if (!env->debug) {
		syslog_open();
		/* glibc's syslog(3) would reconnect: not in this sandbox. */
		log_init(LOG_TO_STDERR, env->verbose, "logger");
	}
	proc_sandbox(boot, env->conf->user);

	event_assign(&ev_aflush, env->base, -1, 0, access_flush_cb, NULL);
	atexit(access_flush);
	signal_set(&ev_sigterm, SIGTERM, logger_sig, NULL);
	signal_set(&ev_sigint, SIGINT, logger_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);

	proc_listen(boot, logger_rules, sizeof(logger_rules) /
	    sizeof(logger_rules[0]), logger_peer);
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
	case LOGR_FILE:
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
	case LOGR_SYSLOG:
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
logger_log(struct chan *c, struct msg *m, void *arg)
{
	struct lpeer	*lp = arg;
	struct msg_log	 ml;
	char		 clean[8192];
	size_t		 n;

	memcpy(&ml, m->data, sizeof(ml));
	if (ml.priority == LOG_DEBUG && !log_getverbose())
		return;
	n = log_escape(clean, sizeof(clean), (char *)m->data + sizeof(ml),
	    m->len - sizeof(ml), 0);
	if (env->debug || syslog_fd == -1)
		fprintf(stderr, "%s[%u]: %s\n", proc_name(lp->kind),
		    m->hdr.pid, clean);
	else
		logger_syslog(ml.priority, proc_name(lp->kind), m->hdr.pid,
		    clean, n);
}

static void
logger_access(struct chan *c, struct msg *m, void *arg)
{
	char	 clean[8192];
	size_t	 n;

	/* Whatever a frontend sends stays one line. */
	n = log_escape(clean, sizeof(clean), m->data, m->len, 0);
	write_access(clean, n);
}

static void
logger_reopen(struct chan *c, struct msg *m, void *arg)
{
	struct msg_log_reopen	 lr;

	MSG_COPY(m, &lr);
	access_flush();
	if (access_fd != -1)
		close(access_fd);
	access_fd = m->fd;
	m->fd = -1;
	access_mode = lr.mode;
	if (lr.mode == LOGR_FILE && access_fd == -1)
		access_mode = LOGR_OFF;
}
