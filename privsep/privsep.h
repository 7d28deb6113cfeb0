/*
 * privsep: typed, length-prefixed messages over socketpairs with
 * descriptor passing, the child start-up helpers and the sandbox.
 */

#ifndef PRIVSEP_H
#define PRIVSEP_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <event.h>

/* Every message starts with this header, in host byte order. */
struct msg_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* payload bytes after the header */
	uint32_t	 peerid;
	uint32_t	 pid;
	uint32_t	 flags;
};
#define MSGF_HASFD	0x1
#define MSG_HDRSZ	sizeof(struct msg_hdr)
#define MSG_MAXPAYLOAD	(256 * 1024)
#define MSG_MAXFDS	16		/* descriptors waiting in one channel */

struct msg {
	struct msg_hdr	 hdr;
	int		 fd;		/* -1 when none came with it */
	void		*data;		/* valid until the next chan_get */
	size_t		 len;
};

struct obuf {
	TAILQ_ENTRY(obuf) entry;
	size_t		 len;
	size_t		 off;
	int		 fd;
	unsigned char	 buf[];
};

struct chan;
typedef void	(*chan_dispatch_cb)(struct chan *, struct msg *, void *);
typedef void	(*chan_event_cb)(struct chan *, void *);
typedef void	(*chan_broken_cb)(struct chan *, const char *);

struct chan {
	int		 fd;
	pid_t		 pid;		/* written into each header */
	int		 id;		/* the owner's name for this peer */
	int		 kind;		/* what the peer is (msg_rule), or -1 */
	int		 dead;

	unsigned char	*rbuf;
	size_t		 rpend;		/* bytes of the last message given out */
	size_t		 rlen;
	size_t		 rsize;
	int		 rfds[MSG_MAXFDS];
	int		 nrfds;

	TAILQ_HEAD(obufq, obuf) outq;
	size_t		 queued;	/* bytes not yet written */

	struct event	 ev_read;
	struct event	 ev_write;
	int		 evset;
	size_t		 lowat;		/* drained callback below this */
	/*
	 * A peer that does not read what we send to it: once more than
	 * maxqueue bytes or maxqfds descriptors wait for it (0: no bound),
	 * nothing more is read from it until half of that has gone.
	 */
	size_t		 maxqueue;
	int		 maxqfds;
	int		 nqfds;		/* descriptors in outq */
	int		 rpaused;	/* reading stopped for that */
	chan_dispatch_cb dispatch;
	chan_event_cb	 closed;
	chan_event_cb	 drained;
	/*
	 * The peer broke the framing (a bad header, descriptors where none
	 * were announced): told why, before the channel is shut.  NULL:
	 * the channel is shut with a warning.
	 */
	chan_broken_cb	 broken;
	void		*arg;
};

/*
 * What a process takes on its channels: each message type it accepts,
 * from which kinds of peer (PEER() bits of chan.kind), with how many
 * payload bytes and whether a descriptor comes with it.  Anything else
 * is a protocol error of the peer.
 */
#define PEER(k)		(1U << (k))
#define MR_NONE		0		/* no descriptor */
#define MR_MUST		1		/* exactly one descriptor */
#define MR_MAY		2		/* one or none */
/*
 * A string field of a fixed-size payload: it must end inside its array
 * (MSG_STR_OK).  A rule's list of them ends with MSG_STR_END.
 */
struct msg_str {
	size_t		 off;
	size_t		 len;
};
#define MSG_STR(s, f)	{ offsetof(s, f), sizeof(((s *)NULL)->f) }
#define MSG_STR_END	{ 0, 0 }
struct msg_rule {
	uint32_t	 type;
	uint32_t	 from;
	size_t		 min, max;
	int		 fd;
	chan_dispatch_cb fn;
	const struct msg_str *strs;	/* NULL: no strings to check */
};
#define MR_FIXED(t, from, s, fd, fn) \
	{ (t), (from), sizeof(s), sizeof(s), (fd), (fn), NULL }
#define MR_EMPTY(t, from, fn) \
	{ (t), (from), 0, 0, MR_NONE, (fn), NULL }
#define MR_RANGE(t, from, lo, hi, fd, fn) \
	{ (t), (from), (lo), (hi), (fd), (fn), NULL }
/* A fixed-size payload with strings, each checked as MSG_STR_OK. */
#define MR_STRS(t, from, s, strs, fd, fn) \
	{ (t), (from), sizeof(s), sizeof(s), (fd), (fn), (strs) }
/* A fixed-size payload into *p; -1 if the size is not that of *p. */
#define MSG_SIZE_CHECK(m, p)	((m)->len == sizeof(*(p)))
#define MSG_GET(m, p)		(MSG_SIZE_CHECK(m, p) ?			\
	(memcpy((p), (m)->data, sizeof(*(p))), 0) : -1)
/*
 * The same once a rule checked the size (and the strings): a copy, as
 * the payload in the read buffer need not be aligned for its type.
 */
#define MSG_COPY(m, p)		memcpy((p), (m)->data, sizeof(*(p)))
/* A string field ends inside its array. */
#define MSG_STR_OK(a)		(memchr((a), '\0', sizeof(a)) != NULL)

/* msg.c: framing, no event loop needed (used by regctl and tests). */
void	 chan_init(struct chan *, int);
void	 chan_clear(struct chan *);
int	 chan_compose(struct chan *, uint32_t, uint32_t, int, const void *,
	    size_t);
int	 chan_composev(struct chan *, uint32_t, uint32_t, int,
	    const struct iovec *, int);
ssize_t	 chan_read(struct chan *);
int	 chan_get(struct chan *, struct msg *);
int	 chan_write(struct chan *);
int	 chan_flush(struct chan *);
int	 chan_recv_one(struct chan *, struct msg *, int);
const struct msg_rule *msg_rule_find(const struct msg_rule *, size_t,
	    uint32_t);
int	 msg_rule_check(const struct msg_rule *, const struct chan *,
	    const struct msg *, const char **);

/* msg.c: libevent glue; events go on the base given to chan_base(). */
void	 chan_base(struct event_base *);
void	 chan_event_set(struct chan *, chan_dispatch_cb, chan_event_cb,
	    void *);
void	 chan_event_update(struct chan *);
void	 chan_event_del(struct chan *);
int	 chan_send(struct chan *, uint32_t, uint32_t, int, const void *,
	    size_t);
int	 chan_sendv(struct chan *, uint32_t, uint32_t, int,
	    const struct iovec *, int);
void	 chan_shut(struct chan *);

/* log.c */
#define LOG_TO_STDERR	0x1
#define LOG_TO_CHAN	0x2
#define LOG_TO_SYSLOG	0x4
void	 log_init(int, int, const char *);
void	 log_procname(const char *);
void	 log_setverbose(int);
int	 log_getverbose(void);
void	 log_setchan(struct chan *, uint32_t);
void	 log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	 logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__attribute__((__noreturn__)) void
	 fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__attribute__((__noreturn__)) void
	 fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

/* title.c */
void	 proc_title_init(int, char **);
void	 proc_title(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

/* sandbox.c */
enum sandbox_kind {
	SANDBOX_FRONTEND,
	SANDBOX_STORAGE,
	SANDBOX_STORAGE_NET,	/* storage on S3: outbound TCP too */
	SANDBOX_LOGGER,
	SANDBOX_NOTIFY,
	SANDBOX_TEST_OPEN,	/* regress: like frontend, used to prove kills */
	SANDBOX_FETCHER		/* outbound TCP and DNS, no files */
};
int	 sandbox_drop(const char *, const char *, int);
int	 sandbox_seccomp(enum sandbox_kind);
void	 sandbox_rlimits(int);

#endif /* PRIVSEP_H */
