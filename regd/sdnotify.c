/*
 * Tell systemd (or any service manager speaking sd_notify(3)) how the
 * parent is doing: READY=1 once every child has finished its start-up,
 * RELOADING=1 and READY=1 around a reload, STOPPING=1 on the way out,
 * and a STATUS= line for systemctl status.  Without $NOTIFY_SOCKET all
 * of this does nothing.
 *
 * The socket is opened once by the parent before any child exists; the
 * children close it with every descriptor they were not given.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regd.h"
#include "sdnotify.h"

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_len;
static int			 pending;	/* children yet to be ready */

void
sdnotify_open(void)
{
	const char	*path;
	size_t		 len;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || path[0] == '\0')
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(notify_sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a socket path, ignored", path);
		goto done;
	}
	memset(&notify_sun, 0, sizeof(notify_sun));
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, path, len);
	notify_len = offsetof(struct sockaddr_un, sun_path) + len;
	if (path[0] == '@')
		notify_sun.sun_path[0] = '\0';	/* abstract: no NUL at end */
	else
		notify_len++;
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		log_warn("%s: socket", __func__);
 done:
	/* Nothing started by regd is the service's main process. */
	unsetenv("NOTIFY_SOCKET");
}

void
sdnotify(const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;
	int	 n;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* Never wait for the service manager: a lost state is no harm. */
	if (sendto(notify_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&notify_sun, notify_len) == -1)
		log_debug("%s: %s", __func__, strerror(errno));
}

/* So many children will send MSG_READY before the service is ready. */
void
sdnotify_expect(int n)
{
	pending = n;
}

/* A child of the running generation finished its start-up. */
void
sdnotify_child_ready(int nfront)
{
	if (pending <= 0 || --pending > 0)
		return;
	sdnotify("READY=1\nSTATUS=serving %d frontends", nfront);
}

void
sdnotify_reloading(void)
{
	struct timespec	 ts;

	pending = 0;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		ts.tv_sec = ts.tv_nsec = 0;
	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

/*
 * The end of a reload: a refused one is over at once and says why on
 * one line; an accepted one is over when its nfront frontends are ready.
 */
void
sdnotify_reloaded(int ok, const char *why, int nfront)
{
	char	 line[512];
	size_t	 i;

	if (ok && nfront > 0) {
		sdnotify_expect(nfront);
		return;
	}
	if (ok) {
		sdnotify("READY=1\nSTATUS=serving no frontend");
		return;
	}
	strlcpy(line, why != NULL && why[0] != '\0' ? why :
	    "see the log", sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\r')
			line[i] = ' ';
	sdnotify("READY=1\nSTATUS=%s%s", strncmp(line, "reload ", 7) == 0 ?
	    "" : "reload refused: ", line);
}

void
sdnotify_stopping(void)
{
	pending = 0;
	sdnotify("STOPPING=1\nSTATUS=shutting down");
}
