/*
 * The sandbox of a child: chroot, drop to the unprivileged user, forbid
 * new privileges and install a seccomp allow-list that kills the process
 * on any other system call.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "privsep.h"

int
sandbox_drop(const char *user, const char *root, int unpriv)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if (unpriv) {
		if (root != NULL && chdir(root) == -1) {
			log_warn("chdir %s", root);
			return (-1);
		}
		return (0);
	}
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user %s", user);
		return (-1);
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (chroot(root) == -1 || chdir("/") == -1) {
		log_warn("chroot %s", root);
		return (-1);
	}
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_warn("cannot drop privileges to %s", user);
		return (-1);
	}
	if (setresuid(0, 0, 0) != -1) {
		log_warnx("privileges could be regained");
		return (-1);
	}
	return (0);
}

void
sandbox_rlimits(int nofile)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = nofile > 0 && (rlim_t)nofile < rl.rlim_max ?
		    (rlim_t)nofile : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* What every process needs to run its event loop and talk to peers. */
static const int sc_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(close), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(brk),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(fcntl),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(getrandom), SCMP_SYS(futex),
	SCMP_SYS(getrusage), SCMP_SYS(sched_yield), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(sigaltstack), SCMP_SYS(uname), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(dup), SCMP_SYS(rseq),
	SCMP_SYS(restart_syscall),
	/* glibc's qsort asks sysinfo(2) for the memory size on big arrays. */
	SCMP_SYS(sysinfo),
};

static const int sc_frontend[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(sendfile),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(pread64),
	SCMP_SYS(ioctl),
	/*
	 * frontend.c: an upload's body spliced into a pipe to storage; a
	 * mirror's pipe spliced to a client.
	 */
	SCMP_SYS(pipe2), SCMP_SYS(splice),
};

static const int sc_storage[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rmdir),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(truncate), SCMP_SYS(getdents64), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(newfstatat),
	SCMP_SYS(memfd_create), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(fchmod), SCMP_SYS(umask), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(fallocate), SCMP_SYS(sync_file_range),
	SCMP_SYS(getcwd), SCMP_SYS(chdir), SCMP_SYS(fchdir),
	SCMP_SYS(utimensat), SCMP_SYS(fstatfs), SCMP_SYS(statfs),
	SCMP_SYS(pipe2),	/* mirror.c: a blob streamed while fetched */
	SCMP_SYS(tee),		/* mirror.c: the fetcher's pipe to waiters */
	SCMP_SYS(link), SCMP_SYS(linkat),	/* store_fs.c: fs_lease_put */
};

/*
 * The events process: files in its queue directory (it is chrooted
 * there), and TCP connections out to the webhooks (socket(2) only for
 * AF_INET and AF_INET6, see sc_sockets).
 */
static const int sc_notify[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(flock), SCMP_SYS(connect), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(ioctl), SCMP_SYS(select),
	SCMP_SYS(pselect6), SCMP_SYS(socketpair), SCMP_SYS(pipe2),
	SCMP_SYS(eventfd2), SCMP_SYS(statx), SCMP_SYS(stat),
	SCMP_SYS(newfstatat),	/* OpenSSL looks for a CA directory */
};

/*
 * The mirror's fetcher: outbound connections (TCP, and UDP for DNS) of
 * IPv4 and IPv6 only; no file is opened after the sandbox.
 */
static const int sc_fetcher[] = {
	SCMP_SYS(connect), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(bind), SCMP_SYS(ioctl), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	SCMP_SYS(splice),	/* a plain body into storage's pipe */
};

/*
 * Storage on an object store: outbound TCP connections (socket(2) of
 * AF_INET and AF_INET6 only, sc_sockets), and what libcurl waits with.
 */
static const int sc_net[] = {
	SCMP_SYS(connect), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(socketpair), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(ioctl),
};

static int
sc_sockets(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6)) < 0)
		return (-1);
	return (0);
}

/*
 * Signals and limits only for the process itself: raise(3) and abort(3)
 * are tgkill(getpid(), tid, sig) in glibc, getrlimit(3) and sysconf(3)
 * are prlimit64(0, res, NULL, old).  kill(2) is for the own pid only
 * (kill(0) would reach the whole process group, parent included), and
 * no limit may be set once the filter is in place.
 */
static int
sc_self(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 self, zero, nonew;
	uint64_t		 pid = (uint32_t)getpid();

	self = (struct scmp_arg_cmp){ .arg = 0, .op = SCMP_CMP_MASKED_EQ,
	    .datum_a = 0xffffffffULL, .datum_b = pid };
	zero = (struct scmp_arg_cmp){ .arg = 0, .op = SCMP_CMP_MASKED_EQ,
	    .datum_a = 0xffffffffULL, .datum_b = 0 };
	nonew = (struct scmp_arg_cmp){ .arg = 2, .op = SCMP_CMP_EQ,
	    .datum_a = 0, .datum_b = 0 };
	if (seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    &self) < 0 ||
	    seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    &self) < 0)
		return (-1);
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2,
	    zero, nonew) < 0)
		return (-1);
	return (0);
}

static int
sc_add(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (calls[i] < 0)
			continue;	/* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0) < 0)
			return (-1);
	}
	return (0);
}

int
sandbox_seccomp(enum sandbox_kind kind)
{
	struct scmp_arg_cmp empty_path = { .arg = 3, .op = SCMP_CMP_EQ,
			    .datum_a = AT_EMPTY_PATH, .datum_b = 0 };
	scmp_filter_ctx	 ctx;
	int		 rv = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("prctl no_new_privs");
		return (-1);
	}
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		log_warnx("seccomp_init failed");
		return (-1);
	}
	/* Threads started before the sandbox get the same filter. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0)
		goto done;
	if (sc_add(ctx, sc_common, sizeof(sc_common) / sizeof(int)) == -1 ||
	    sc_self(ctx) == -1)
		goto done;
	/* fstat(2) is newfstatat with an empty path in glibc. */
	if (kind != SANDBOX_STORAGE && kind != SANDBOX_STORAGE_NET &&
	    seccomp_rule_add_array(ctx,
	    SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1, &empty_path) < 0)
		goto done;
	switch (kind) {
	case SANDBOX_FRONTEND:
	case SANDBOX_TEST_OPEN:
		if (sc_add(ctx, sc_frontend,
		    sizeof(sc_frontend) / sizeof(int)) == -1)
			goto done;
		break;
	case SANDBOX_STORAGE:
		if (sc_add(ctx, sc_storage,
		    sizeof(sc_storage) / sizeof(int)) == -1)
			goto done;
		break;
	case SANDBOX_STORAGE_NET:
		if (sc_add(ctx, sc_storage,
		    sizeof(sc_storage) / sizeof(int)) == -1 ||
		    sc_add(ctx, sc_net, sizeof(sc_net) / sizeof(int)) == -1 ||
		    sc_sockets(ctx) == -1)
			goto done;
		break;
	case SANDBOX_LOGGER:
		break;
	case SANDBOX_NOTIFY:
		if (sc_add(ctx, sc_notify,
		    sizeof(sc_notify) / sizeof(int)) == -1 ||
		    sc_sockets(ctx) == -1)
			goto done;
		break;
	case SANDBOX_FETCHER:
		if (sc_add(ctx, sc_fetcher,
		    sizeof(sc_fetcher) / sizeof(int)) == -1 ||
		    sc_sockets(ctx) == -1)
			goto done;
		break;
	}
	if (seccomp_load(ctx) < 0) {
		log_warnx("seccomp_load failed");
		goto done;
	}
	rv = 0;
done:
	if (rv == -1)
		log_warnx("cannot install the seccomp filter");
	seccomp_release(ctx);
	return (rv);
}
