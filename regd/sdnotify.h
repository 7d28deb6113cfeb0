/*
 * The systemd readiness protocol, spoken by the parent without libsystemd
 * (sd_notify(3)): datagrams to the socket named by $NOTIFY_SOCKET.
 */

#ifndef SDNOTIFY_H
#define SDNOTIFY_H

void	 sdnotify_open(void);
void	 sdnotify_expect(int);
void	 sdnotify_child_ready(int);
void	 sdnotify_reloading(void);
void	 sdnotify_reloaded(int, const char *, int);
void	 sdnotify_stopping(void);
void	 sdnotify(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

#endif /* SDNOTIFY_H */
