/*
 * Prove the seccomp filters of privsep/sandbox.c kill a process that
 * makes a forbidden system call: each case forks a child that installs
 * a filter and makes one call, and the parent checks how it ended.
 * Positive controls show that the children do live through allowed calls.
 */

#include <sys/types.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep.h"

#define EXIT_NOFILTER	2	/* sandbox_seccomp failed */
#define EXIT_SURVIVED	3	/* the forbidden call returned */

enum action {
	DO_NOTHING,
	DO_OPEN,
	DO_SOCKET,
	DO_EXECVE,
	DO_PTRACE,
	DO_KILL_OTHER,
	DO_KILL_GROUP,
	DO_SETRLIMIT,
	DO_PRLIMIT_OTHER,
	DO_KILL_SELF,
	DO_RAISE,
	DO_GETRLIMIT,
	DO_ABORT,
	DO_SOCKET_UNIX
};

static const char *const action_names[] = {
	"getpid", "open /etc/passwd", "socket", "execve /bin/true", "ptrace",
	"kill(parent, 0)", "kill(0, 0)", "setrlimit NOFILE 0",
	"prlimit(parent)", "kill(self, 0)", "raise(SIGUSR1) handled",
	"getrlimit and sysconf", "abort()", "socket AF_UNIX"
};

static volatile sig_atomic_t	 got_usr1;

static void
on_usr1(int sig)
{
	got_usr1 = 1;
}

static const char *const kind_names[] = {
	[SANDBOX_FRONTEND] = "frontend",
	[SANDBOX_STORAGE] = "storage",
	[SANDBOX_STORAGE_NET] = "storage_net",
	[SANDBOX_LOGGER] = "logger",
	[SANDBOX_NOTIFY] = "notify",
	[SANDBOX_TEST_OPEN] = "test_open",
	[SANDBOX_FETCHER] = "fetcher"
};

static int	 nfail;
static int	 npass;

static void
child(enum sandbox_kind kind, enum action act)
{
	struct rlimit	 rl, old;
	char		*argv[] = { "true", NULL };
	char		*envp[] = { NULL };
	int		 fd;

	/* A killed child must not leave a core file behind. */
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	if (sandbox_seccomp(kind) == -1)
		_exit(EXIT_NOFILTER);
	switch (act) {
	case DO_NOTHING:
		if (getpid() <= 0)
			_exit(1);
		_exit(0);
	case DO_OPEN:
		fd = open("/etc/passwd", O_RDONLY);
		_exit(fd == -1 ? EXIT_SURVIVED + 1 : 0);
	case DO_SOCKET:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		_exit(fd == -1 ? EXIT_SURVIVED + 1 : 0);
	case DO_EXECVE:
		execve("/bin/true", argv, envp);
		_exit(EXIT_SURVIVED + 1);
	case DO_PTRACE:
		if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL) == -1)
			_exit(EXIT_SURVIVED + 1);
		_exit(0);
	case DO_KILL_OTHER:
		kill(getppid(), 0);
		_exit(EXIT_SURVIVED + 1);
	case DO_KILL_GROUP:
		kill(0, 0);
		_exit(EXIT_SURVIVED + 1);
	case DO_SETRLIMIT:
		rl.rlim_cur = rl.rlim_max = 0;
		setrlimit(RLIMIT_NOFILE, &rl);
		_exit(EXIT_SURVIVED + 1);
	case DO_PRLIMIT_OTHER:
		prlimit(getppid(), RLIMIT_NOFILE, NULL, &old);
		_exit(EXIT_SURVIVED + 1);
	case DO_KILL_SELF:
		_exit(kill(getpid(), 0) == 0 ? 0 : 1);
	case DO_RAISE:
		signal(SIGUSR1, on_usr1);
		if (raise(SIGUSR1) != 0 || !got_usr1)
			_exit(1);
		_exit(0);
	case DO_GETRLIMIT:
		if (getrlimit(RLIMIT_NOFILE, &old) == -1 ||
		    sysconf(_SC_OPEN_MAX) <= 0)
			_exit(1);
		_exit(0);
	case DO_ABORT:
		abort();
	case DO_SOCKET_UNIX:
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(fd == -1 ? EXIT_SURVIVED + 1 : 0);
	}
	_exit(1);
}

static const char *
describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case EXIT_NOFILTER:
			return ("sandbox_seccomp failed");
		case EXIT_SURVIVED + 1:
			snprintf(buf, len, "the call failed but the process "
			    "lived");
			return (buf);
		}
		snprintf(buf, len, "exited %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
	return (buf);
}

/* want_sig: the signal the child must die of, 0 if it must exit 0. */
static void
run_sig(enum sandbox_kind kind, enum action act, int want_sig)
{
	char	 name[128], buf[128];
	pid_t	 pid;
	int	 status, ok;

	snprintf(name, sizeof(name), "%s filter, %s: %s",
	    kind_names[kind], action_names[act],
	    want_sig == SIGSYS ? "killed by SIGSYS" : want_sig != 0 ?
	    strsignal(want_sig) : "allowed");
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		printf("FAIL %s: fork: %s\n", name, strerror(errno));
		nfail++;
		return;
	}
	if (pid == 0)
		child(kind, act);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			printf("FAIL %s: waitpid: %s\n", name,
			    strerror(errno));
			nfail++;
			return;
		}
	}
	if (want_sig != 0)
		ok = WIFSIGNALED(status) && WTERMSIG(status) == want_sig;
	else
		ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok) {
		printf("ok   %s\n", name);
		npass++;
	} else {
		printf("FAIL %s: %s\n", name,
		    describe(status, buf, sizeof(buf)));
		nfail++;
	}
}

static void
run(enum sandbox_kind kind, enum action act, int want_kill)
{
	run_sig(kind, act, want_kill ? SIGSYS : 0);
}

int
main(void)
{
	enum sandbox_kind	 k;

	log_init(LOG_TO_STDERR, 0, "sandbox_kill");

	/* Positive controls: the filters let a quiet process live. */
	run(SANDBOX_FRONTEND, DO_NOTHING, 0);
	run(SANDBOX_STORAGE, DO_NOTHING, 0);
	run(SANDBOX_LOGGER, DO_NOTHING, 0);
	run(SANDBOX_TEST_OPEN, DO_NOTHING, 0);
	/* Storage is the one kind meant to open files. */
	run(SANDBOX_STORAGE, DO_OPEN, 0);

	run(SANDBOX_FRONTEND, DO_OPEN, 1);
	run(SANDBOX_TEST_OPEN, DO_OPEN, 1);
	run(SANDBOX_LOGGER, DO_OPEN, 1);
	run(SANDBOX_FRONTEND, DO_SOCKET, 1);
	run(SANDBOX_STORAGE, DO_SOCKET, 1);
	run(SANDBOX_LOGGER, DO_SOCKET, 1);
	run(SANDBOX_FRONTEND, DO_EXECVE, 1);
	run(SANDBOX_STORAGE, DO_EXECVE, 1);
	run(SANDBOX_LOGGER, DO_EXECVE, 1);
	run(SANDBOX_FRONTEND, DO_PTRACE, 1);
	run(SANDBOX_STORAGE, DO_PTRACE, 1);
	run(SANDBOX_LOGGER, DO_PTRACE, 1);
	/* The mirror's fetcher: IPv4 and IPv6 sockets, nothing else. */
	run(SANDBOX_FETCHER, DO_NOTHING, 0);
	run(SANDBOX_FETCHER, DO_SOCKET, 0);
	run(SANDBOX_FETCHER, DO_SOCKET_UNIX, 1);
	run(SANDBOX_FETCHER, DO_OPEN, 1);
	run(SANDBOX_FETCHER, DO_EXECVE, 1);
	run(SANDBOX_FETCHER, DO_PTRACE, 1);
	run(SANDBOX_FETCHER, DO_KILL_OTHER, 1);
	run(SANDBOX_FETCHER, DO_SETRLIMIT, 1);

	/*
	 * Signals and limits: a process may signal itself (raise, abort)
	 * and read its limits, nothing more; a compromised frontend must
	 * not kill storage nor take storage's descriptors away.
	 */
	for (k = SANDBOX_FRONTEND; k <= SANDBOX_LOGGER; k++) {
		run(k, DO_KILL_OTHER, 1);
		run(k, DO_KILL_GROUP, 1);
		run(k, DO_SETRLIMIT, 1);
		run(k, DO_PRLIMIT_OTHER, 1);
		run(k, DO_KILL_SELF, 0);
		run(k, DO_RAISE, 0);
		run(k, DO_GETRLIMIT, 0);
		run_sig(k, DO_ABORT, SIGABRT);
	}

	printf("%d passed, %d failed\n", npass, nfail);
	return (nfail == 0 ? 0 : 1);
}
