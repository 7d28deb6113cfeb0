/*
 * Logging for every process: to stderr in the foreground, to the logger
 * process over a channel from the sandboxed children, or to syslog.
 */

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "privsep.h"

static int		 log_dest = LOG_TO_STDERR;
static int		 log_verbose;
static const char	*log_name = "regd";
static struct chan	*log_chan;
static uint32_t		 log_chantype;

void
log_init(int dest, int verbose, const char *name)
{
	log_dest = dest;
	log_verbose = verbose;
	if (name != NULL)
		log_name = name;
	if (dest & LOG_TO_SYSLOG)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_procname(const char *name)
{
	log_name = name;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

/* Route this process's messages to a peer that writes them for it. */
void
log_setchan(struct chan *c, uint32_t type)
{
	log_chan = c;
	log_chantype = type;
	if (c != NULL)
		log_dest = (log_dest & LOG_TO_STDERR) ? LOG_TO_STDERR :
		    LOG_TO_CHAN;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char		 line[1024];
	struct iovec	 iov[2];
	int32_t		 p = pri;
	int		 saved_errno = errno;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if ((log_dest & LOG_TO_CHAN) && log_chan != NULL &&
	    !log_chan->dead) {
		iov[0].iov_base = &p;
		iov[0].iov_len = sizeof(p);
		iov[1].iov_base = line;
		iov[1].iov_len = strlen(line);
		if (chan_sendv(log_chan, log_chantype, 0, -1, iov, 2) == 0)
			goto done;
	}
	if (log_dest & LOG_TO_SYSLOG)
		syslog(pri, "%s", line);
	else
		fprintf(stderr, "%s[%d]: %s\n", log_name, (int)getpid(), line);
done:
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vwarn_errno(int pri, const char *fmt, va_list ap)
{
	char	 buf[900];
	int	 saved_errno = errno;

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved_errno));
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(pri, "%s: %s", buf, strerror(saved_errno));
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vwarn_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vwarn_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	if (log_chan != NULL)
		chan_flush(log_chan);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	if (log_chan != NULL)
		chan_flush(log_chan);
	exit(1);
}
