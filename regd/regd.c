/*
 * regd: the parent.  It reads the configuration, opens the listeners,
 * the control socket and the log files, starts the children and restarts
 * frontends that die.  It never parses HTTP and never touches blobs.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"
#include "sdnotify.h"

struct regd		*env;

/*
 * The children, started in this order.  A new kind of child is a row
 * here and a file with its main.
 */
static const struct proc_type	 proc_types[] = {
	{ PROC_LOGGER, "logger", PROC_CHROOT_EMPTY, SANDBOX_LOGGER, 0, 0,
	    PEER(PROC_STORAGE) | PEER(PROC_FRONTEND), logger_main },
	{ PROC_STORAGE, "storage", PROC_CHROOT_STORAGE, SANDBOX_STORAGE, 0, 0,
	    PEER(PROC_LOGGER) | PEER(PROC_FRONTEND), storage_main },
	{ PROC_FRONTEND, "frontend", PROC_CHROOT_EMPTY, SANDBOX_FRONTEND, 1, 1,
	    PEER(PROC_LOGGER) | PEER(PROC_STORAGE), frontend_main },
};

static struct event	 ev_sigint, ev_sigterm, ev_sighup, ev_sigchld;
static struct event	 ev_sigpipe, ev_tick, ev_rekey;
static int		 access_fd = -1;
static int		 shutting_down;

static void	 usage(void) __attribute__((__noreturn__));
static int	 open_listeners(struct regd_conf *, struct regd_conf *);
static int	 open_access_log(struct regd_conf *);
static void	 prepare_storage(struct regd_conf *);
static void	 check_storage(struct regd_conf *);
static int	 check_access_log(struct regd_conf *);
static void	 start_children(void);
static int	 start_child(enum proc_kind, int);
static int	 free_slot(void);
static int	 count_frontends(int);
static void	 parent_events(void);
static void	 parent_tick(int, short, void *);
static void	 parent_rekey(int, short, void *);
static void	 parent_stats(struct chan *, struct msg *, void *);
static void	 parent_ctl_res(struct chan *, struct msg *, void *);
static void	 parent_ctl_end(struct chan *, struct msg *, void *);
static void	 parent_log(struct chan *, struct msg *, void *);
static void	 parent_ready(struct chan *, struct msg *, void *);
static void	 parent_metrics(struct chan *, struct msg *, void *);
static void	 parent_stats_repos(struct chan *, struct msg *, void *);
static void	 parent_store_stats(struct chan *, struct msg *, void *);
static void	 parent_chan_closed(struct chan *, void *);
static void	 parent_sig(int, short, void *);
static void	 reap_children(void);
static void	 parent_shutdown(int) __attribute__((__noreturn__));
static int	 reload_config(char *, size_t);
static struct regd_conf *load_config(const char *, int, char *, size_t);

/* What the parent takes from its children. */
static const struct msg_rule	 parent_rules[] = {
	MR_FIXED(MSG_STATS, PEER(PROC_FRONTEND), struct front_stats, MR_NONE,
	    parent_stats),
	MR_RANGE(ST_CTL_RES, PEER(PROC_STORAGE), 0, MSG_MAXPAYLOAD, MR_NONE,
	    parent_ctl_res),
	MR_FIXED(ST_CTL_END, PEER(PROC_STORAGE), struct st_ctl_end, MR_NONE,
	    parent_ctl_end),
	MR_RANGE(MSG_LOG, PEER(PROC_FRONTEND) | PEER(PROC_STORAGE) |
	    PEER(PROC_LOGGER), sizeof(struct msg_log), MSG_MAXPAYLOAD, MR_NONE,
	    parent_log),
	MR_EMPTY(MSG_READY, PEER(PROC_FRONTEND) | PEER(PROC_STORAGE) |
	    PEER(PROC_LOGGER), parent_ready),
	MR_EMPTY(MSG_METRICS_REQ, PEER(PROC_FRONTEND), parent_metrics),
	MR_RANGE(MSG_STATS_REPOS, PEER(PROC_FRONTEND), 0,
	    MX_MAXREPOS * sizeof(struct mx_repo), MR_NONE, parent_stats_repos),
	MR_FIXED(ST_STATS, PEER(PROC_STORAGE), struct store_stats, MR_NONE,
	    parent_store_stats),
};

/*
 * libevent's own messages: a forked child taking over signal handling
 * from the parent's event base is expected, so they are debug output.
 */
static void
event_log(int severity, const char *msg)
{
	log_debug("libevent: %s", msg);
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-f file]\n", getprogname());
	exit(1);
}

/* The parent's event loop: signals, its children, control, timers. */
static void
parent_events(void)
{
	struct proc	*p;

	env->base = event_init();
	chan_base(env->base);
	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_set(&ev_sigpipe, SIGPIPE, parent_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal_add(&ev_sigpipe, NULL);
	TAILQ_FOREACH(p, &procs, entry)
		chan_event_set(&p->chan, proc_dispatch, parent_chan_closed, p);
	control_listen();
	evtimer_set(&ev_tick, parent_tick, NULL);
	parent_tick(-1, 0, NULL);
	evtimer_set(&ev_rekey, parent_rekey, NULL);
	parent_rekey(-1, 0, NULL);
}

int
main(int argc, char *argv[])
{
	struct regd_conf	*conf;
	const char		*conffile = NULL;
	int			 ch, noaction = 0, debug = 0, verbose = 0;
	int			 explicit = 0;

	proc_title_init(argc, argv);
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			explicit = 1;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0)
		usage();
	if (conffile == NULL)
		conffile = REGD_CONF;

	log_init(LOG_TO_STDERR, verbose, "regd");
	event_set_log_callback(event_log);
	if ((env = calloc(1, sizeof(*env))) == NULL)
		err(1, NULL);
	/* Process titles are written over argv: keep our own copy. */
	if ((env->conffile = strdup(conffile)) == NULL)
		err(1, NULL);
	env->debug = debug;
	env->verbose = verbose;
	env->slot = -1;

	if (!explicit && access(conffile, F_OK) == -1 && errno == ENOENT)
		conf = config_default();
	else
		conf = parse_config(conffile, verbose);
	if (conf == NULL)
		exit(1);
	if (conf->verbose)
		env->verbose = verbose = verbose + conf->verbose;
	if (noaction) {
		if (verbose)
			config_dump(conf);
		env->unpriv = geteuid() != 0;
		if (check_access_log(conf) == -1)
			exit(1);
		check_storage(conf);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}
	env->conf = conf;
	env->unpriv = geteuid() != 0;
	if (!env->unpriv && getpwnam(conf->user) == NULL)
		errx(1, "unknown user %s", conf->user);

	if (check_access_log(conf) == -1)
		exit(1);
	prepare_storage(conf);
	if (open_listeners(conf, NULL) == -1)
		exit(1);
	if (control_init(conf->socket) == -1)
		exit(1);
	if (open_access_log(conf) == -1)
		exit(1);

	if (!debug) {
		if (daemon(0, 0) == -1)
			err(1, "daemon");
		log_init(LOG_TO_SYSLOG, verbose, "regd");
	}
	log_procname("regd");
	env->started = time(NULL);
	if (env->unpriv)
		log_warnx("running as uid %d: no chroot and no privilege "
		    "drop for the children", (int)geteuid());

	signal(SIGPIPE, SIG_IGN);
	tls_ticket_rotate();	/* inherited by the frontends */
	sdnotify_open();
	sdnotify_expect(2 + conf->prefork);
	proc_table(proc_types, sizeof(proc_types) / sizeof(proc_types[0]),
	    parent_rules, sizeof(parent_rules) / sizeof(parent_rules[0]));
	start_children();

	proc_title("%s", "parent");
	parent_events();
	log_info("started, %d frontends, storage %s", conf->prefork,
	    conf->storage);
	/* Children may have died before the loop could see SIGCHLD. */
	reap_children();
	event_dispatch();
	parent_shutdown(1);
}

static struct regd_conf *
load_config(const char *file, int verbose, char *errbuf, size_t errlen)
{
	struct regd_conf	*conf;
	char			 line[512];
	FILE			*fp;
	size_t			 used = 0;
	int			 mfd, saved, serrno;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	/* parse_config reports on stderr: catch that for the log. */
	fflush(stderr);
	saved = -1;
	if ((mfd = memfd_create("conferr", MFD_CLOEXEC)) == -1 ||
	    (saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    dup2(mfd, STDERR_FILENO) == -1) {
		serrno = errno;
		log_warnx("%s: cannot catch the parser's messages: %s",
		    __func__, strerror(serrno));
		if (errbuf != NULL)
			snprintf(errbuf, errlen, "cannot read %s: %s\n", file,
			    strerror(serrno));
		if (saved != -1)
			close(saved);
		if (mfd != -1)
			close(mfd);
		return (NULL);
	}
	conf = parse_config(file, verbose);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(mfd, 0, SEEK_SET);
	if ((fp = fdopen(mfd, "r")) == NULL) {
		close(mfd);
		return (conf);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		log_warnx("%s", line);
		if (errbuf != NULL && used + strlen(line) + 2 < errlen) {
			used += snprintf(errbuf + used, errlen - used, "%s\n",
			    line);
		}
	}
	fclose(fp);
	return (conf);
}

/*
 * Make the storage directory if need be and give a new, empty one to the
 * storage user.  Everything is done on one descriptor opened without
 * following a symbolic link, so a link planted in place of the directory
 * cannot have a file elsewhere chowned.
 */
static void
prepare_storage(struct regd_conf *conf)
{
	struct passwd	*pw;
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int		 fd, dfd, empty = 1, islink = 0;

	if (mkdir(conf->storage, 0755) == -1 && errno != EEXIST)
		err(1, "mkdir %s", conf->storage);
	if ((fd = open(conf->storage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 && errno == ELOOP) {
		/* A link named in the configuration: used, never chowned. */
		islink = 1;
		fd = open(conf->storage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode))
		errx(1, "%s: not a directory", conf->storage);
	if (env->unpriv || islink) {
		close(fd);
		return;
	}
	if ((pw = getpwnam(conf->user)) == NULL)
		errx(1, "unknown user %s", conf->user);
	if (st.st_uid == 0 && st.st_nlink <= 2) {
		if ((dfd = dup(fd)) != -1 && (d = fdopendir(dfd)) != NULL) {
			while ((de = readdir(d)) != NULL)
				if (strcmp(de->d_name, ".") != 0 &&
				    strcmp(de->d_name, "..") != 0)
					empty = 0;
			closedir(d);
		} else if (dfd != -1)
			close(dfd);
		if (empty && fchown(fd, pw->pw_uid, pw->pw_gid) == -1)
			err(1, "chown %s", conf->storage);
	}
	close(fd);
	if (lstat(conf->chroot, &st) == -1 &&
	    mkdir(conf->chroot, 0755) == -1)
		err(1, "mkdir %s", conf->chroot);
	check_storage(conf);
}

static char	 unwritable[PATH_MAX];

static int
check_dir(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char	*base = path + ftw->base;

	if (type == FTW_DNR || type == FTW_NS ||
	    (type == FTW_D && access(path, W_OK | X_OK) == -1)) {
		strlcpy(unwritable, path, sizeof(unwritable));
		return (FTW_STOP);
	}
	if (type != FTW_D)
		return (FTW_CONTINUE);
	/* Down to where blobs and links begin, not each of them. */
	if (strcmp(base, "_layers") == 0 || strcmp(base, "_manifests") == 0 ||
	    strcmp(base, "_uploads") == 0 ||
	    (ftw->level == 1 && strcmp(base, "quarantine") == 0) ||
	    (ftw->level == 6 &&
	    strncmp(path, "./docker/registry/v2/blobs/", 27) == 0))
		return (FTW_SKIP_SUBTREE);
	return (FTW_CONTINUE);
}

/*
 * The storage user must be able to change the tree (a registry:2 tree
 * belongs to root): look as that user, in a child, at every directory
 * down to each blobs/alg/hh and each repository's _layers, _manifests and
 * _uploads; a failure deeper is reported by gc and fsck.
 */
static void
check_storage(struct regd_conf *conf)
{
	struct passwd	*pw = NULL;
	char		 bad[PATH_MAX] = "";
	const char	*user = conf->user;
	pid_t		 pid;
	ssize_t		 n;
	int		 p[2], status;

	if (access(conf->storage, F_OK) == -1)
		return;		/* made at start-up */
	if (!env->unpriv && (pw = getpwnam(conf->user)) == NULL)
		errx(1, "unknown user %s", conf->user);
	if (env->unpriv && (pw = getpwuid(geteuid())) != NULL)
		user = pw->pw_name;
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		err(1, "storage check");
	if (pid == 0) {
		/* Storage is chrooted there as root: start inside, too. */
		close(p[0]);
		if (chdir(conf->storage) == -1)
			_exit(2);
		if (!env->unpriv && (setgroups(1, &pw->pw_gid) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1))
			_exit(2);
		if (nftw(".", check_dir, 16, FTW_PHYS | FTW_ACTIONRETVAL) !=
		    FTW_CONTINUE) {
			if (unwritable[0] == '\0')
				strlcpy(unwritable, ".", sizeof(unwritable));
			if (write(p[1], unwritable, strlen(unwritable)) == -1)
				_exit(2);
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], bad, sizeof(bad) - 1)) == -1 && errno == EINTR)
		;
	bad[n > 0 ? n : 0] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		errx(1, "%s%s: not writable by user %s; fix: chown -R %s %s",
		    conf->storage, bad[0] == '.' ? bad + 1 : "", user, user,
		    conf->storage);
	errx(1, "cannot check %s as user %s", conf->storage, user);
}

static int
same_addr(struct listen_addr *a, struct listen_addr *b)
{
	return (a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0);
}

/*
 * Open every listener of conf.  On reload, sockets already open in old
 * are taken over rather than bound again.
 */
static int
open_listeners(struct regd_conf *conf, struct regd_conf *old)
{
	struct server_conf	*srv, *osrv;
	struct listen_addr	*la, *ola;
	int			 fd, on = 1;

	TAILQ_FOREACH(srv, &conf->servers, entry) {
		TAILQ_FOREACH(la, &srv->listens, entry) {
			la->fd = -1;
			if (old == NULL)
				goto bind;
			/*
			 * A copy: old keeps its own until the reload is
			 * done, so a failure leaves the running one whole.
			 */
			TAILQ_FOREACH(osrv, &old->servers, entry)
				TAILQ_FOREACH(ola, &osrv->listens, entry)
					if (la->fd == -1 && ola->fd != -1 &&
					    same_addr(la, ola) &&
					    (la->fd = fcntl(ola->fd,
					    F_DUPFD_CLOEXEC, 0)) == -1) {
						log_warn("dup %s", la->name);
						return (-1);
					}
			if (la->fd != -1)
				continue;
bind:
			fd = socket(la->ss.ss_family, SOCK_STREAM |
			    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd == -1) {
				log_warn("socket for %s", la->name);
				return (-1);
			}
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
			if (la->ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
				    sizeof(on));
			if (bind(fd, (struct sockaddr *)&la->ss,
			    la->sslen) == -1) {
				log_warn("bind %s", la->name);
				close(fd);
				return (-1);
			}
			if (listen(fd, 1024) == -1) {
				log_warn("listen %s", la->name);
				close(fd);
				return (-1);
			}
			la->fd = fd;
		}
	}
	return (0);
}

static void
close_listeners(struct regd_conf *conf)
{
	struct server_conf	*srv;
	struct listen_addr	*la;

	TAILQ_FOREACH(srv, &conf->servers, entry)
		TAILQ_FOREACH(la, &srv->listens, entry)
			if (la->fd != -1) {
				close(la->fd);
				la->fd = -1;
			}
}

/* The directory of the access log must exist: say where it is named. */
static int
check_access_log(struct regd_conf *conf)
{
	struct stat	 st;
	const char	*why;
	char		 dir[PATH_MAX], *slash;

	if (conf->access_off || conf->access_syslog ||
	    conf->access_log[0] == '\0')
		return (0);
	strlcpy(dir, conf->access_log, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else
		return (0);
	fprintf(stderr, "%s:%d: access log \"%s\": directory %s: %s\n",
	    env->conffile, conf->access_log_line, conf->access_log, dir, why);
	return (-1);
}

static int
open_access_log(struct regd_conf *conf)
{
	int	 fd;

	if (conf->access_off || conf->access_syslog ||
	    conf->access_log[0] == '\0') {
		if (access_fd != -1)
			close(access_fd);
		access_fd = -1;
		return (0);
	}
	fd = open(conf->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (fd == -1) {
		log_warn("%s", conf->access_log);
		return (-1);
	}
	if (access_fd != -1)
		close(access_fd);
	access_fd = fd;
	return (0);
}

/* Tell the logger where access lines go: off, a file or syslog. */
static void
send_access_log(struct chan *c)
{
	struct msg_log_reopen	 lr;

	if (access_fd != -1)
		lr.mode = LOGR_FILE;
	else if (env->conf->access_off)
		lr.mode = LOGR_OFF;
	else
		lr.mode = LOGR_SYSLOG;
	if (chan_compose(c, MSG_LOG_REOPEN, 0,
	    access_fd == -1 ? -1 : dup(access_fd), &lr, sizeof(lr)) == -1)
		log_warn("%s", __func__);
	chan_write(c);
}

/* Start a child; once the parent's loop runs, listen to it at once. */
static int
start_child(enum proc_kind k, int instance)
{
	struct proc	*p;

	if ((p = proc_start(k, instance)) == NULL)
		return (-1);
	if (env->base != NULL)
		chan_event_set(&p->chan, proc_dispatch, parent_chan_closed, p);
	return (0);
}

/* Every row in order: the logger, storage, then prefork frontends. */
static void
start_children(void)
{
	const struct proc_type	*t;
	size_t			 i;
	int			 n, j;

	for (i = 0; i < sizeof(proc_types) / sizeof(proc_types[0]); i++) {
		t = &proc_types[i];
		n = t->many ? env->conf->prefork : 1;
		for (j = 0; j < n; j++)
			if (start_child(t->kind, j) == -1)
				fatalx("cannot start %s %d", t->title, j);
		if (t->kind == PROC_LOGGER) {
			send_access_log(&proc_find(PROC_LOGGER)->chan);
			if (chan_flush(&proc_find(PROC_LOGGER)->chan) == -1)
				fatal("logger");
		}
	}
}

static int
free_slot(void)
{
	struct proc	*p;
	int		 slot, used;

	for (slot = 0; slot < REGD_MAXSLOTS; slot++) {
		used = 0;
		TAILQ_FOREACH(p, &procs, entry)
			if (p->kind == PROC_FRONTEND && p->slot == slot)
				used = 1;
		if (!used)
			return (slot);
	}
	return (-1);
}

/* Frontends of the running generation (0) or draining ones (1). */
static int
count_frontends(int draining)
{
	struct proc	*p;
	int		 n = 0;

	TAILQ_FOREACH(p, &procs, entry)
		if (p->kind == PROC_FRONTEND && (p->draining != 0) == draining)
			n++;
	return (n);
}

/*
 * Once a second: kill draining frontends past their deadline, and start
 * frontends of the running generation until there are prefork of them
 * (a fork that failed at a restart or a reload is retried here).
 */
static void
parent_tick(int fd, short event, void *arg)
{
	struct proc	*p;
	struct timeval	 tv = { 1, 0 };
	time_t		 now = time(NULL);
	int		 slot;

	TAILQ_FOREACH(p, &procs, entry) {
		if (p->kind != PROC_FRONTEND || !p->draining ||
		    p->drain_deadline <= 0 || now < p->drain_deadline)
			continue;
		log_warnx("draining frontend %d (slot %d) still busy after "
		    "%d seconds, killing it", (int)p->pid, p->slot,
		    env->conf->drain_timeout);
		kill(p->pid, SIGKILL);
		p->drain_deadline = -1;	/* once; SIGCHLD frees it */
	}
	while (!shutting_down &&
	    count_frontends(0) < env->conf->prefork) {
		if ((slot = free_slot()) == -1 ||
		    start_child(PROC_FRONTEND, slot) == -1) {
			log_warnx("only %d of %d frontends running, no free "
			    "slot or cannot start one", count_frontends(0),
			    env->conf->prefork);
			break;
		}
	}
	evtimer_add(&ev_tick, &tv);
}

/*
 * Every TLS_TICKET_ROTATE seconds a new session-ticket key goes to every
 * frontend; the previous one still opens the tickets it sealed.  The
 * first call only arms the timer: the frontends inherited the first key.
 */
static void
parent_rekey(int fd, short event, void *arg)
{
	static int	 armed;
	struct timeval	 tv = { TLS_TICKET_ROTATE, 0 };

	if (armed) {
		tls_ticket_rotate();
		proc_broadcast(PROC_FRONTEND, MSG_TLS_TICKETS,
		    tls_ticket_get(), sizeof(struct tls_ticket_keys));
		log_debug("new TLS session-ticket key");
	}
	armed = 1;
	evtimer_add(&ev_rekey, &tv);
}

/*
 * A child is sandboxed and serving.  Each counts once toward telling the
 * service manager, so a child cannot make the service look ready early.
 */
static void
parent_ready(struct chan *c, struct msg *m, void *arg)
{
	struct proc	*p = arg;

	if (p->ready)
		return;
	p->ready = 1;
	if (!p->draining)
		sdnotify_child_ready(count_frontends(0));
}

static void
parent_stats(struct chan *c, struct msg *m, void *arg)
{
	struct proc		*p = arg;
	struct front_stats	 fst;

	MSG_COPY(m, &fst);
	fst.slot = p->slot;
	fst.pid = p->pid;
	p->stats = fst;
	/* The same answer serves regctl's "show status" and a scrape. */
	if (m->hdr.peerid & MX_COLLECT_BIT)
		metrics_parent_stats(m->hdr.peerid);
	else
		control_stats(m->hdr.peerid);
}

/* A frontend's client scraped the metrics listener. */
static void
parent_metrics(struct chan *c, struct msg *m, void *arg)
{
	metrics_parent_req(arg, m->hdr.peerid);
}

static void
parent_stats_repos(struct chan *c, struct msg *m, void *arg)
{
	if (m->len % sizeof(struct mx_repo) != 0) {
		proc_peer_fail(c, m, "bad repository figures");
		return;
	}
	metrics_parent_repos(arg, m->data, m->len);
}

static void
parent_store_stats(struct chan *c, struct msg *m, void *arg)
{
	struct store_stats	 st;

	MSG_COPY(m, &st);
	metrics_parent_store(m->hdr.peerid, &st);
}

static void
parent_ctl_res(struct chan *c, struct msg *m, void *arg)
{
	control_storage_res(m->hdr.peerid, m->data, m->len);
}

static void
parent_ctl_end(struct chan *c, struct msg *m, void *arg)
{
	struct st_ctl_end	 e;

	MSG_COPY(m, &e);
	control_storage_end(m->hdr.peerid, e.status);
}

static void
parent_log(struct chan *c, struct msg *m, void *arg)
{
	struct msg_log	 ml;

	memcpy(&ml, m->data, sizeof(ml));
	logit(ml.priority, "%.*s", (int)(m->len - sizeof(ml)),
	    (char *)m->data + sizeof(ml));
}

static void
parent_chan_closed(struct chan *c, void *arg)
{
	/* The child is gone or going; SIGCHLD does the bookkeeping. */
}

static void
reap_children(void)
{
	struct proc	*p;
	struct rusage	 ru;
	pid_t		 pid;
	int		 status, slot;
	char		 how[64];

	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		TAILQ_FOREACH(p, &procs, entry)
			if (p->pid == pid)
				break;
		if (p == NULL)
			continue;
		metrics_retire(p, &ru);
		if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "died of signal %d",
			    WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "exited with status %d",
			    WEXITSTATUS(status));
		if (shutting_down) {
			proc_free(p);
			continue;
		}
		switch (p->kind) {
		case PROC_FRONTEND:
			if (p->draining) {
				log_debug("draining frontend %d %s", (int)pid,
				    how);
				proc_free(p);
				break;
			}
			slot = p->slot;
			log_warnx("frontend %d (slot %d) %s, restarting",
			    (int)pid, slot, how);
			metrics_restarted(PROC_FRONTEND);
			proc_free(p);
			if (start_child(PROC_FRONTEND, slot) == -1)
				log_warnx("cannot restart frontend %d", slot);
			break;
		case PROC_STORAGE:
		case PROC_LOGGER:
			log_warnx("%s %d %s, shutting down", proc_name(p->kind),
			    (int)pid, how);
			proc_free(p);
			parent_shutdown(1);
		default:
			break;
		}
	}
}

static void
parent_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		log_info("signal %d, shutting down", sig);
		parent_shutdown(0);
	case SIGHUP:
		log_info("SIGHUP, reloading %s", env->conffile);
		parent_reload(NULL, 0);
		break;
	case SIGCHLD:
		reap_children();
		break;
	default:
		break;
	}
}

static void
parent_shutdown(int status)
{
	struct proc	*p;
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 i;

	shutting_down = 1;
	sdnotify_stopping();
	TAILQ_FOREACH(p, &procs, entry)
		kill(p->pid, SIGTERM);
	for (i = 0; i < 100 && !TAILQ_EMPTY(&procs); i++) {
		reap_children();
		if (!TAILQ_EMPTY(&procs))
			nanosleep(&ts, NULL);
	}
	TAILQ_FOREACH(p, &procs, entry)
		kill(p->pid, SIGKILL);
	while (!TAILQ_EMPTY(&procs)) {
		if (waitpid(-1, NULL, 0) == -1 && errno == ECHILD)
			break;
		reap_children();
	}
	control_close();
	if (status == 0)
		log_info("terminated");
	exit(status);
}

void
parent_verbose(int v)
{
	struct msg_verbose	 mv;

	mv.verbose = v;
	env->verbose = v;
	log_setverbose(v);
	proc_broadcast(PROC_NKINDS, MSG_CTL_VERBOSE, &mv, sizeof(mv));
}

/*
 * Re-read the configuration.  A broken file keeps the old one.  A good
 * one starts a new generation of frontends; the old ones stop accepting
 * and leave when their connections are done, so nothing open is cut.
 */
static int
reload_config(char *errbuf, size_t errlen)
{
	struct regd_conf	*conf, *old = env->conf;
	struct proc		*p;
	int			 i, slot, nfree;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (access(env->conffile, F_OK) == -1 && errno == ENOENT &&
	    strcmp(env->conffile, REGD_CONF) == 0)
		conf = config_default();
	else
		conf = load_config(env->conffile, env->verbose, errbuf,
		    errlen);
	if (conf == NULL) {
		log_warnx("reload failed, keeping the running configuration");
		return (-1);
	}
	if (strcmp(conf->storage, old->storage) != 0 ||
	    strcmp(conf->user, old->user) != 0 ||
	    strcmp(conf->chroot, old->chroot) != 0 ||
	    strcmp(conf->socket, old->socket) != 0) {
		log_warnx("storage, user, chroot and socket changes need a "
		    "restart; keeping the running ones");
		strlcpy(conf->storage, old->storage, sizeof(conf->storage));
		strlcpy(conf->user, old->user, sizeof(conf->user));
		strlcpy(conf->chroot, old->chroot, sizeof(conf->chroot));
		strlcpy(conf->socket, old->socket, sizeof(conf->socket));
	}
	/*
	 * The new generation needs prefork slots while the old one drains:
	 * without them, refuse rather than leave nothing accepting.
	 */
	nfree = REGD_MAXSLOTS - count_frontends(0) - count_frontends(1);
	if (nfree < conf->prefork) {
		log_warnx("reload refused: %d frontends still draining, %d "
		    "free slots for %d new ones; keeping the running "
		    "configuration", count_frontends(1), nfree, conf->prefork);
		if (errbuf != NULL)
			snprintf(errbuf, errlen, "reload refused: %d frontends "
			    "still draining, %d free slots for %d new ones\n",
			    count_frontends(1), nfree, conf->prefork);
		config_free(conf);
		return (-1);
	}
	if (open_listeners(conf, old) == -1) {
		close_listeners(conf);
		config_free(conf);
		log_warnx("reload failed, keeping the running configuration");
		if (errbuf != NULL)
			strlcpy(errbuf, "cannot open the listeners\n", errlen);
		return (-1);
	}
	if (open_access_log(conf) == -1)
		log_warnx("keeping the old access log");
	else if ((p = proc_find(PROC_LOGGER)) != NULL) {
		send_access_log(&p->chan);
		chan_event_update(&p->chan);
	}

	/* The running generation becomes the old one... */
	TAILQ_FOREACH(p, &procs, entry)
		if (p->kind == PROC_FRONTEND && !p->draining) {
			p->draining = 1;
			p->drain_deadline = 0;
		}
	env->conf = conf;
	if ((p = proc_find(PROC_STORAGE)) != NULL)
		chan_send(&p->chan, ST_CONF, 0, -1, &conf->store,
		    sizeof(conf->store));
	if (conf->verbose > env->verbose)
		parent_verbose(conf->verbose);
	/* ...the new one starts, and only then does the old one drain. */
	for (i = 0; i < conf->prefork; i++) {
		slot = free_slot();
		if (start_child(PROC_FRONTEND, slot) == -1)
			log_warnx("cannot start frontend %d, retrying", slot);
	}
	TAILQ_FOREACH(p, &procs, entry) {
		if (p->kind != PROC_FRONTEND || !p->draining ||
		    p->drain_deadline != 0)
			continue;
		p->drain_deadline = time(NULL) + conf->drain_timeout;
		chan_send(&p->chan, MSG_FRONT_DRAIN, 0, -1, NULL, 0);
	}
	close_listeners(old);
	config_free(old);
	log_info("configuration reloaded");
	return (0);
}

/* A reload as the service manager sees it: RELOADING=1, then READY=1. */
int
parent_reload(char *errbuf, size_t errlen)
{
	char	 why[4096];
	int	 rv;

	sdnotify_reloading();
	rv = reload_config(why, sizeof(why));
	sdnotify_reloaded(rv == 0, why, env->conf->prefork);
	if (errbuf != NULL)
		strlcpy(errbuf, why, errlen);
	return (rv);
}
