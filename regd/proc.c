/*
 * The process table's machinery, after OpenBSD's privsep proc.c: the
 * parent starts a child of any kind the same way at start-up, on a
 * restart and on a reload, making its channels to the parent and to
 * every running peer; a child takes its channels, the messages every
 * child understands and the one answer to a peer that breaks the
 * protocol from here.  The rows are proc_types in regd.c.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"

struct proclist			 procs = TAILQ_HEAD_INITIALIZER(procs);
static const struct proc_type	*types;
static size_t			 ntypes;

/* A child's own: what it is, its rules and how it takes a new peer. */
static enum proc_kind		 self = PROC_PARENT;
static const struct msg_rule	*rules;
static size_t			 nrules;
static proc_peer_cb		 peer_cb;

static void	 proc_verbose(struct chan *, struct msg *, void *);
static void	 proc_broken(struct chan *, const char *);
static void	 proc_peer_add(struct chan *, struct msg *, void *);

/* What every child takes from the parent, whatever its kind. */
static const struct msg_rule	 common_rules[] = {
	MR_FIXED(MSG_CTL_VERBOSE, PEER(PROC_PARENT), struct msg_verbose,
	    MR_NONE, proc_verbose),
	MR_FIXED(MSG_PEER_ADD, PEER(PROC_PARENT), struct msg_peer,
	    MR_MUST, proc_peer_add),
};

/* A kind's title from its row (children inherit the table). */
const char *
proc_name(enum proc_kind k)
{
	const struct proc_type	*t;

	if (k == PROC_PARENT)
		return ("parent");
	if ((t = proc_type(k)) != NULL)
		return (t->title);
	return ("peer");
}

/*
 * A channel of this child to a peer of kind k: its messages go through
 * proc_dispatch, with arg, and closed is told when it ends.
 */
void
proc_chan(struct chan *c, enum proc_kind k, int instance, int fd, void *arg,
    chan_event_cb closed)
{
	chan_init(c, fd);
	c->kind = k;
	c->id = instance;
	c->broken = proc_broken;
	chan_event_set(c, proc_dispatch, closed, arg);
}

/*
 * Called by a child's main, event base ready: its rules, and cb takes
 * each channel it starts with (the parent's first) and each one the
 * parent sends later, owning the descriptor when it returns 0.
 */
void
proc_listen(struct proc_boot *boot, const struct msg_rule *r, size_t n,
    proc_peer_cb cb)
{
	int	 i;

	self = boot->kind;
	rules = r;
	nrules = n;
	peer_cb = cb;
	if (cb(PROC_PARENT, 0, boot->parentfd) == -1)
		fatalx("%s: no channel to the parent", proc_name(self));
	for (i = 0; i < boot->nfds; i++)
		if (cb(boot->fds[i].kind, boot->fds[i].instance,
		    boot->fds[i].fd) == -1)
			fatalx("%s: cannot take a channel to %s %d",
			    proc_name(self), proc_name(boot->fds[i].kind),
			    boot->fds[i].instance);
}

/* Into the row's chroot as the configured user, then the filter. */
void
proc_sandbox(const struct proc_boot *boot, const char *user)
{
	if (sandbox_drop(user, boot->chroot, env->unpriv) == -1)
		fatalx("%s: cannot drop privileges", proc_name(boot->kind));
	if (sandbox_seccomp(boot->sandbox) == -1)
		fatalx("%s: cannot install the sandbox",
		    proc_name(boot->kind));
}

/*
 * The one answer to a peer that sent what the rules do not allow: from
 * the parent it ends this process; the parent kills the child; between
 * children the channel is shut, and its owner's closed callback runs.
 */
void
proc_peer_fail(struct chan *c, struct msg *m, const char *why)
{
	struct proc	*p;
	uint32_t	 type = m != NULL ? m->hdr.type : 0;

	if (m != NULL && m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	if (c->kind == PROC_PARENT)
		fatalx("%s: bad message %#x from the parent: %s",
		    proc_name(self), type, why);
	if (m != NULL)
		log_warnx("%s %d: protocol error (%s, message %#x), closing it",
		    proc_name(c->kind), c->id, why, type);
	else
		log_warnx("%s %d: protocol error (%s), closing it",
		    proc_name(c->kind), c->id, why);
	if (self == PROC_PARENT)
		TAILQ_FOREACH(p, &procs, entry)
			if (&p->chan == c && p->pid > 0)
				kill(p->pid, SIGKILL);
	chan_shut(c);
}

/* The framing itself is broken: the same answer. */
static void
proc_broken(struct chan *c, const char *why)
{
	proc_peer_fail(c, NULL, why);
}

/* Every message of every channel: checked against the rules, then run. */
void
proc_dispatch(struct chan *c, struct msg *m, void *arg)
{
	const struct msg_rule	*r;
	const char		*why;

	if (c->dead) {
		if (m->fd != -1)
			close(m->fd);
		return;
	}
	r = msg_rule_find(common_rules, self == PROC_PARENT ? 0 :
	    sizeof(common_rules) / sizeof(common_rules[0]), m->hdr.type);
	if (r == NULL)
		r = msg_rule_find(rules, nrules, m->hdr.type);
	if (msg_rule_check(r, c, m, &why) == -1) {
		proc_peer_fail(c, m, why);
		return;
	}
	r->fn(c, m, arg);
	if (m->fd != -1)
		close(m->fd);
}

static void
proc_verbose(struct chan *c, struct msg *m, void *arg)
{
	struct msg_verbose	 v;

	MSG_COPY(m, &v);
	env->verbose = v.verbose;
	log_setverbose(v.verbose);
}

static void
proc_peer_add(struct chan *c, struct msg *m, void *arg)
{
	struct msg_peer	 mp;

	MSG_COPY(m, &mp);
	if (mp.kind <= PROC_PARENT || mp.kind >= PROC_NKINDS ||
	    mp.instance < 0 || mp.instance >= REGD_MAXSLOTS ||
	    peer_cb == NULL || peer_cb(mp.kind, mp.instance, m->fd) == -1) {
		proc_peer_fail(c, m, "peer not taken");
		return;
	}
	m->fd = -1;
	log_debug("%s: new channel to %s %d", proc_name(self),
	    proc_name(mp.kind), mp.instance);
}

/*
 * The parent's side: its rows, and the rules of what it takes from its
 * children.  The table must be symmetric: a kind lists another
 * as a peer exactly when that one lists it.
 */
void
proc_table(const struct proc_type *t, size_t n, const struct msg_rule *r,
    size_t nr)
{
	size_t	 i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (((t[i].peers & PEER(t[j].kind)) != 0) !=
			    ((t[j].peers & PEER(t[i].kind)) != 0))
				fatalx("process table: %s and %s disagree",
				    t[i].title, t[j].title);
	types = t;
	ntypes = n;
	rules = r;
	nrules = nr;
}

const struct proc_type *
proc_type(enum proc_kind k)
{
	size_t	 i;

	for (i = 0; i < ntypes; i++)
		if (types[i].kind == k)
			return (&types[i]);
	return (NULL);
}

/* The running process of a kind (of the running generation). */
struct proc *
proc_find(enum proc_kind k)
{
	struct proc	*p;

	TAILQ_FOREACH(p, &procs, entry)
		if (p->kind == k && !p->draining)
			return (p);
	return (NULL);
}

void
proc_free(struct proc *p)
{
	TAILQ_REMOVE(&procs, p, entry);
	chan_clear(&p->chan);
	free(p);
}

/* The same message to every child of a kind (PROC_NKINDS: all). */
void
proc_broadcast(enum proc_kind k, uint32_t type, const void *data,
    size_t len)
{
	struct proc	*p;

	TAILQ_FOREACH(p, &procs, entry)
		if ((k == PROC_NKINDS || p->kind == k) && !p->chan.dead)
			chan_send(&p->chan, type, 0, -1, data, len);
}

static int
fd_cmp(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return (x < y ? -1 : x > y);
}

/* Close every descriptor from lo to hi (inclusive). */
static void
close_fds(unsigned int lo, unsigned int hi)
{
	struct rlimit	 rl;
	unsigned int	 fd;

	if (lo > hi || close_range(lo, hi, 0) == 0)
		return;
	/* No close_range(2): up to the descriptor limit, one by one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < hi)
		hi = rl.rlim_max;
	for (fd = lo; fd <= hi && fd < 1024 * 1024; fd++)
		close(fd);
}

/*
 * In a new child: close every descriptor it was not given, whatever its
 * number, keeping only its channels and (for frontends) the listeners.
 */
static void
child_fds(const struct proc_boot *boot, int listeners)
{
	struct server_conf	*srv;
	struct listen_addr	*la;
	int			*k;
	int			 i, n = 0, nk = boot->nfds + 1;
	unsigned int		 lo = STDERR_FILENO + 1;

	if (listeners)
		TAILQ_FOREACH(srv, &env->conf->servers, entry)
			TAILQ_FOREACH(la, &srv->listens, entry)
				nk++;
	if ((k = reallocarray(NULL, nk, sizeof(int))) == NULL)
		fatal("%s", __func__);
	k[n++] = boot->parentfd;
	for (i = 0; i < boot->nfds; i++)
		k[n++] = boot->fds[i].fd;
	if (listeners)
		TAILQ_FOREACH(srv, &env->conf->servers, entry)
			TAILQ_FOREACH(la, &srv->listens, entry)
				if (la->fd != -1)
					k[n++] = la->fd;
	qsort(k, n, sizeof(int), fd_cmp);
	for (i = 0; i < n; i++) {
		if (k[i] < (int)lo)
			continue;
		close_fds(lo, k[i] - 1);
		lo = k[i] + 1;
	}
	close_fds(lo, ~0U);
	free(k);
}

/* A new child leaves the parent's signals and event base behind. */
static void
child_prepare(const struct proc_type *t, int instance)
{
	struct sigaction	 sa;
	int			 sigs[] = { SIGHUP, SIGINT, SIGTERM, SIGCHLD,
				    SIGPIPE };
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Upstream credentials reach the fetcher in MIR_CONF only. */
	for (i = 0; i < (size_t)env->conf->nupstreams; i++) {
		explicit_bzero(env->conf->upstreams[i].user,
		    sizeof(env->conf->upstreams[i].user));
		explicit_bzero(env->conf->upstreams[i].pass,
		    sizeof(env->conf->upstreams[i].pass));
	}
	proc_title("%s", t->title);
	log_procname(t->title);
	env->slot = t->many ? instance : -1;
	/* The object store's secret is storage's alone. */
	if (t->kind != PROC_STORAGE && env->conf != NULL)
		explicit_bzero(env->conf->s3.secret,
		    sizeof(env->conf->s3.secret));
	env->base = event_init();
	chan_base(env->base);
}

static void
boot_close(struct proc_boot *boot)
{
	int	 i;

	if (boot->parentfd != -1)
		close(boot->parentfd);
	for (i = 0; i < boot->nfds; i++)
		close(boot->fds[i].fd);
	boot->parentfd = -1;
	boot->nfds = 0;
}

/*
 * A channel between the new child and each running process of its
 * peer kinds; those get their end in MSG_PEER_ADD.
 */
static int
proc_connect(const struct proc_type *t, int instance, struct proc_boot *boot)
{
	struct msg_peer	 mp;
	struct proc	*q;
	int		 sp[2];

	mp.kind = t->kind;
	mp.instance = instance;
	TAILQ_FOREACH(q, &procs, entry) {
		if ((t->peers & PEER(q->kind)) == 0 || q->chan.dead)
			continue;
		if (boot->nfds == PROC_MAXFDS) {
			log_warnx("%s %d: too many peers", t->title, instance);
			return (-1);
		}
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp) == -1) {
			log_warn("socketpair");
			return (-1);
		}
		if (chan_send(&q->chan, MSG_PEER_ADD, 0, sp[1], &mp,
		    sizeof(mp)) == -1) {
			log_warn("%s %d: cannot send a new peer",
			    proc_name(q->kind), q->slot);
			close(sp[0]);
			return (-1);
		}
		boot->fds[boot->nfds].kind = q->kind;
		boot->fds[boot->nfds].instance = q->slot;
		boot->fds[boot->nfds++].fd = sp[0];
	}
	return (0);
}

/*
 * Start a child of kind k: the same at start-up, on a restart and on a
 * reload.  Returns its entry in procs, or NULL (logged).
 */
struct proc *
proc_start(enum proc_kind k, int instance)
{
	const struct proc_type	*t;
	struct proc_boot	 boot;
	struct proc		*p;
	int			 pp[2];
	pid_t			 pid;

	if ((t = proc_type(k)) == NULL || instance < 0)
		return (NULL);
	memset(&boot, 0, sizeof(boot));
	boot.kind = k;
	boot.instance = instance;
	boot.chroot = t->chroot == PROC_CHROOT_STORAGE ?
	    env->conf->storage : env->conf->chroot;
	if (t->chroot == PROC_CHROOT_NOTIFY && env->conf->notify != NULL &&
	    env->conf->notify->nep > 0)
		boot.chroot = env->conf->notify->queue;
	boot.sandbox = t->sandbox;
	boot.parentfd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pp) == -1) {
		log_warn("socketpair");
		return (NULL);
	}
	boot.parentfd = pp[1];
	if (proc_connect(t, instance, &boot) == -1) {
		close(pp[0]);
		boot_close(&boot);
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	switch (pid = fork()) {
	case -1:
		log_warn("fork");
		free(p);
		close(pp[0]);
		boot_close(&boot);
		return (NULL);
	case 0:
		child_fds(&boot, t->listeners);
		child_prepare(t, instance);
		t->main(&boot);
		_exit(1);
	}
	p->kind = k;
	p->slot = instance;
	p->pid = pid;
	p->started = time(NULL);
	chan_init(&p->chan, pp[0]);
	p->chan.id = instance;
	p->chan.kind = k;
	p->chan.broken = proc_broken;
	p->stats.slot = instance;
	p->stats.pid = pid;
	TAILQ_INSERT_TAIL(&procs, p, entry);
	boot_close(&boot);
	return (p);
}
