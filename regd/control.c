/*
 * The control socket of the parent: regctl connects here, sends one
 * request at a time and reads CTL_TEXT chunks ended by CTL_END.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct chan		 chan;
	uint32_t		 id;
	int			 busy;		/* request in progress */
	int			 waiting;	/* frontend stats to come */
	struct event		 ev_timeout;
	int			 dead;
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static int			 ctl_fd = -1;
static char			 ctl_path[PATH_MAX];
static struct event		 ev_ctl;
static uint32_t			 ctl_next_id;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(struct chan *, struct msg *, void *);
static void	 control_closed(struct chan *, void *);
static void	 control_status_send(struct ctl_conn *);

/*
 * What a control client may ask, each with its payload: a repository
 * name is its bytes without a NUL.  Anything else ends the connection.
 */
#define CTL_CLIENT	PEER(PROC_NKINDS)
static const struct msg_rule	 ctl_rules[] = {
	MR_EMPTY(CTL_SHOW_STATUS, CTL_CLIENT, NULL),
	MR_EMPTY(CTL_SHOW_REPOS, CTL_CLIENT, NULL),
	MR_RANGE(CTL_SHOW_TAGS, CTL_CLIENT, 1, MAX_NAME, MR_NONE, NULL),
	MR_EMPTY(CTL_RELOAD, CTL_CLIENT, NULL),
	MR_FIXED(CTL_LOG_VERBOSE, CTL_CLIENT, struct msg_verbose, MR_NONE,
	    NULL),
	MR_FIXED(CTL_GC, CTL_CLIENT, struct st_ctl_flags, MR_NONE, NULL),
	MR_FIXED(CTL_FSCK, CTL_CLIENT, struct st_ctl_flags, MR_NONE, NULL),
	MR_RANGE(CTL_RM, CTL_CLIENT, 1, MAX_NAME, MR_NONE, NULL),
	MR_RANGE(CTL_SHOW_USAGE, CTL_CLIENT, 0, MAX_NAME, MR_NONE, NULL),
	MR_EMPTY(CTL_SHOW_NOTIFY, CTL_CLIENT, NULL),
	MR_EMPTY(CTL_SHOW_MIRROR, CTL_CLIENT, NULL),
};

int
control_init(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		close(fd);
		return (-1);
	}
	/* Only the owner (root, by default) may give orders. */
	old = umask(S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		umask(old);
		close(fd);
		return (-1);
	}
	umask(old);
	chmod(path, S_IRUSR | S_IWUSR);
	if (listen(fd, 16) == -1) {
		log_warn("listen %s", path);
		close(fd);
		return (-1);
	}
	ctl_fd = fd;
	strlcpy(ctl_path, path, sizeof(ctl_path));
	return (0);
}

void
control_listen(void)
{
	if (ctl_fd == -1)
		return;
	event_set(&ev_ctl, ctl_fd, EV_READ | EV_PERSIST, control_accept, NULL);
	event_add(&ev_ctl, NULL);
}

void
control_close(void)
{
	if (ctl_fd == -1)
		return;
	close(ctl_fd);
	ctl_fd = -1;
	unlink(ctl_path);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*cc;
	int		 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(s);
		return;
	}
	chan_init(&cc->chan, s);
	cc->chan.kind = PROC_NKINDS;
	if (++ctl_next_id == 0)
		ctl_next_id = 1;
	cc->id = ctl_next_id;
	TAILQ_INSERT_TAIL(&ctl_conns, cc, entry);
	chan_event_set(&cc->chan, control_dispatch, control_closed, cc);
}

static void
ctl_free(struct ctl_conn *cc)
{
	if (evtimer_initialized(&cc->ev_timeout))
		evtimer_del(&cc->ev_timeout);
	TAILQ_REMOVE(&ctl_conns, cc, entry);
	chan_clear(&cc->chan);
	free(cc);
}

static void
ctl_gc(int fd, short event, void *arg)
{
	ctl_free(arg);
}

/* Free later: the channel may be in the middle of a callback. */
static void
ctl_kill(struct ctl_conn *cc)
{
	struct timeval	 tv = { 0, 0 };

	if (cc->dead)
		return;
	cc->dead = 1;
	chan_event_del(&cc->chan);
	if (evtimer_initialized(&cc->ev_timeout))
		evtimer_del(&cc->ev_timeout);
	evtimer_set(&cc->ev_timeout, ctl_gc, cc);
	evtimer_add(&cc->ev_timeout, &tv);
}

static void
control_closed(struct chan *c, void *arg)
{
	ctl_kill(arg);
}

static void
control_text(struct ctl_conn *cc, const char *text, size_t len)
{
	while (len > 0) {
		size_t	 n = len > 60000 ? 60000 : len;

		chan_send(&cc->chan, CTL_TEXT, 0, -1, text, n);
		text += n;
		len -= n;
	}
}

static void
control_end(struct ctl_conn *cc, int32_t status)
{
	struct st_ctl_end	 e;

	e.status = status;
	chan_send(&cc->chan, CTL_END, 0, -1, &e, sizeof(e));
	cc->busy = 0;
}

static struct ctl_conn *
ctl_find(uint32_t id)
{
	struct ctl_conn	*cc;

	TAILQ_FOREACH(cc, &ctl_conns, entry)
		if (cc->id == id && !cc->dead)
			return (cc);
	return (NULL);
}

static void
status_timeout(int fd, short event, void *arg)
{
	struct ctl_conn	*cc = arg;

	cc->waiting = 0;
	control_status_send(cc);
}

static void
control_status_start(struct ctl_conn *cc)
{
	struct proc	*p;
	struct timeval	 tv = { 1, 0 };

	cc->waiting = 0;
	TAILQ_FOREACH(p, &procs, entry) {
		if (p->kind != PROC_FRONTEND || p->chan.dead)
			continue;
		if (chan_send(&p->chan, MSG_STATS_REQ, cc->id, -1, NULL,
		    0) == 0)
			cc->waiting++;
	}
	if (cc->waiting == 0) {
		control_status_send(cc);
		return;
	}
	evtimer_set(&cc->ev_timeout, status_timeout, cc);
	evtimer_add(&cc->ev_timeout, &tv);
}

/* A frontend answered the statistics request of control connection id. */
void
control_stats(uint32_t id)
{
	struct ctl_conn	*cc;

	if ((cc = ctl_find(id)) == NULL || cc->waiting == 0)
		return;
	if (--cc->waiting == 0) {
		evtimer_del(&cc->ev_timeout);
		control_status_send(cc);
	}
}

static void
fmt_uptime(char *buf, size_t len, time_t secs)
{
	snprintf(buf, len, "%lldd%02lldh%02lldm%02llds",
	    (long long)secs / 86400, (long long)secs / 3600 % 24,
	    (long long)secs / 60 % 60, (long long)secs % 60);
}

static void
control_status_send(struct ctl_conn *cc)
{
	struct proc	*p;
	char		*buf = NULL, up[32];
	size_t		 len = 0;
	FILE		*fp;
	time_t		 now = time(NULL);
	uint64_t	 reqs = 0, conns = 0;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		control_end(cc, 1);
		return;
	}
	fmt_uptime(up, sizeof(up), now - env->started);
	fprintf(fp, "regd pid %d, up %s, storage %s\n", (int)getpid(), up,
	    env->conf->storage);
	fprintf(fp, "%-8s %-8s %-11s %5s %14s %8s %14s\n", "PID", "ROLE",
	    "UPTIME", "SLOT", "REQUESTS", "CONNS", "BYTES OUT");
	fprintf(fp, "%-8d %-8s %-11s %5s %14s %8s %14s\n", (int)getpid(),
	    "parent", up, "-", "-", "-", "-");
	TAILQ_FOREACH(p, &procs, entry) {
		fmt_uptime(up, sizeof(up), now - p->started);
		if (p->kind == PROC_FRONTEND) {
			fprintf(fp, "%-8d %-8s %-11s %5d %14llu %8llu %14llu%s\n",
			    (int)p->pid, "frontend", up, p->slot,
			    (unsigned long long)p->stats.requests,
			    (unsigned long long)p->stats.conns,
			    (unsigned long long)p->stats.bytes_out,
			    p->draining ? " draining" : "");
			reqs += p->stats.requests;
			conns += p->stats.conns;
		} else
			fprintf(fp, "%-8d %-8s %-11s %5s %14s %8s %14s\n",
			    (int)p->pid, proc_name(p->kind), up, "-", "-",
			    "-", "-");
	}
	fprintf(fp, "total: %llu requests served, %llu open connections\n",
	    (unsigned long long)reqs, (unsigned long long)conns);
	fclose(fp);
	control_text(cc, buf, len);
	free(buf);
	control_end(cc, 0);
}

/* A chunk of storage's answer to a control request; ST_CTL_END ends it. */
void
control_storage_res(uint32_t id, const void *data, size_t len)
{
	struct ctl_conn	*cc;

	if ((cc = ctl_find(id)) == NULL || len == 0)
		return;
	control_text(cc, data, len);
}

void
control_storage_end(uint32_t id, int32_t status)
{
	struct ctl_conn	*cc;

	if ((cc = ctl_find(id)) != NULL)
		control_end(cc, status);
}

/* Housekeeping requests go to storage, which answers in text. */
static void
control_store_req(struct ctl_conn *cc, struct msg *m)
{
	struct proc		*storage;
	struct st_ctl_repo	 cr;
	struct st_ctl_flags	 fl;
	const void		*data = &cr;
	size_t			 len = sizeof(cr);
	uint32_t		 type;

	memset(&cr, 0, sizeof(cr));
	switch (m->hdr.type) {
	case CTL_GC:
	case CTL_FSCK:
		MSG_COPY(m, &fl);
		type = m->hdr.type == CTL_GC ? ST_CTL_GC : ST_CTL_FSCK;
		data = &fl;
		len = sizeof(fl);
		break;
	default:
		if (m->len > 0)
			memcpy(cr.repo, m->data, m->len);
		cr.repo[m->len] = '\0';
		type = m->hdr.type == CTL_RM ? ST_CTL_RM : ST_CTL_USAGE;
		break;
	case CTL_SHOW_MIRROR:
		type = ST_CTL_MIRROR;
		len = 0;
		break;
	}
	if ((storage = proc_find(PROC_STORAGE)) == NULL ||
	    chan_send(&storage->chan, type, cc->id, -1, data, len) == -1) {
		control_text(cc, "storage is unavailable\n", 23);
		control_end(cc, 1);
	}
}

static void
control_dispatch(struct chan *c, struct msg *m, void *arg)
{
	struct ctl_conn		*cc = arg;
	struct proc		*storage;
	struct st_ctl_repo	 cr;
	struct msg_verbose	 mv;
	const char		*why;
	char			 errbuf[4096], name[MAX_NAME + 1];

	if (msg_rule_check(msg_rule_find(ctl_rules, sizeof(ctl_rules) /
	    sizeof(ctl_rules[0]), m->hdr.type), c, m, &why) == -1) {
		log_warnx("control: %s (request %#x)", why, m->hdr.type);
		if (m->fd != -1)
			close(m->fd);
		ctl_kill(cc);
		return;
	}
	if (cc->busy) {
		log_warnx("control: request while one is in progress");
		ctl_kill(cc);
		return;
	}
	cc->busy = 1;
	switch (m->hdr.type) {
	case CTL_SHOW_STATUS:
		control_status_start(cc);
		break;
	case CTL_SHOW_REPOS:
	case CTL_SHOW_TAGS:
		memset(&cr, 0, sizeof(cr));
		if (m->hdr.type == CTL_SHOW_TAGS) {
			memcpy(name, m->data, m->len);
			name[m->len] = '\0';
			strlcpy(cr.repo, name, sizeof(cr.repo));
		}
		if ((storage = proc_find(PROC_STORAGE)) == NULL ||
		    chan_send(&storage->chan, m->hdr.type == CTL_SHOW_REPOS ?
		    ST_CTL_REPOS : ST_CTL_TAGS, cc->id, -1, &cr,
		    m->hdr.type == CTL_SHOW_REPOS ? 0 : sizeof(cr)) == -1) {
			control_text(cc, "storage is unavailable\n", 23);
			control_end(cc, 1);
		}
		break;
	case CTL_RELOAD:
		errbuf[0] = '\0';
		if (parent_reload(errbuf, sizeof(errbuf)) == -1) {
			if (errbuf[0] == '\0')
				strlcpy(errbuf, "reload failed\n",
				    sizeof(errbuf));
			control_text(cc, errbuf, strlen(errbuf));
			control_end(cc, 1);
		} else {
			control_text(cc, "reloaded\n", 9);
			control_end(cc, 0);
		}
		break;
	case CTL_LOG_VERBOSE:
		MSG_COPY(m, &mv);
		parent_verbose(mv.verbose);
		control_text(cc, mv.verbose ? "logging verbose\n" :
		    "logging brief\n", mv.verbose ? 16 : 14);
		control_end(cc, 0);
		break;
	case CTL_GC:
	case CTL_FSCK:
	case CTL_RM:
	case CTL_SHOW_USAGE:
	case CTL_SHOW_MIRROR:
		control_store_req(cc, m);
		break;
	case CTL_SHOW_NOTIFY:
		/* The events process answers like storage does. */
		if (env->conf->notify == NULL ||
		    env->conf->notify->nep == 0) {
			control_text(cc, "no notify endpoints\n", 20);
			control_end(cc, 0);
		} else if ((storage = proc_find(PROC_NOTIFY)) == NULL ||
		    chan_send(&storage->chan, MSG_NOTIFY_SHOW, cc->id, -1,
		    NULL, 0) == -1) {
			control_text(cc, "the events process is not running "
			    "(restarting?)\n", 48);
			control_end(cc, 1);
		}
		break;
	default:
		break;		/* the rules let nothing else through */
	}
}
