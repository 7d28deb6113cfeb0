/*
 * regd: a container image registry daemon.
 */

#ifndef REGD_H
#define REGD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>

#include <limits.h>
#include <stdint.h>

#include "privsep.h"

#define REGD_CONF		"/etc/regd.conf"
#define REGD_SOCKET		"/var/run/regd.sock"
#define REGD_STORAGE		"/var/lib/regd"
#define REGD_USER		"_regd"
#define REGD_CHROOT		"/var/empty"
#define REGD_PORT		5000
#define REGD_MAXPREFORK		64
/*
 * Frontend slots: a reload starts a new generation of frontends while the
 * old one drains, so slot numbers (the instance in MSG_PEER_ADD) run up
 * to twice the pool size.
 */
#define REGD_MAXSLOTS		(2 * REGD_MAXPREFORK)

#define MAX_NAME		255	/* repository name */
#define MAX_TAG			128
#define MAX_DIGEST		135	/* "sha512:" + 128 hex */
#define MAX_REF			MAX_DIGEST
#define MAX_MEDIATYPE		255
#define MAX_UUID		36
#define MAX_ERRMSG		200
#define MAX_CLIENT		127	/* who starts an upload */

#define DEF_MAX_MANIFEST	(4 * 1024 * 1024)
#define MAX_MANIFEST_SIZE	(64 * 1024 * 1024)	/* storage's cap too */
#define DEF_MAX_REQLINE		8192
#define DEF_MAX_HEADERS		(16 * 1024)
#define DEF_MAX_NHEADERS	100
#define DEF_HEADER_TIMEOUT	30
#define DEF_IDLE_TIMEOUT	60
#define DEF_BODY_TIMEOUT	60
#define DEF_MAX_CONNS		4096
#define DEF_DRAIN_TIMEOUT	600	/* old frontends killed after */
#define DEF_MAX_CONNS_ADDR	256	/* per client address, all frontends */

#define DATA_CHUNK		(128 * 1024)	/* bytes of body per message */
#define MANIFEST_INLINE		(16 * 1024)	/* sent inside the answer */
#define CHAN_HIWAT		(1024 * 1024)	/* stop reading clients above */
#define CHAN_LOWAT		(256 * 1024)	/* and resume below */
/* storage stops reading a frontend that leaves more answers unread */
#define ST_MAXQUEUE		(8 * 1024 * 1024)
#define ST_MAXQFDS		256

/*
 * Message types, numbered in ranges so that a new type appends to its
 * own (regctl and regd come from the same build).  The rules of each
 * process (struct msg_rule) name which of these it accepts from which
 * kind of peer, with what payload; anything else is a protocol error of
 * that peer (proc_peer_fail).
 */
enum msg_type {
	MSG_NONE,
	/* 0x100: between the parent and its children */
	MSG_CTL_VERBOSE = 0x100, /* struct msg_verbose */
	MSG_FRONT_DRAIN,	/* frontend: stop accepting, exit when idle */
	MSG_PEER_ADD,		/* struct msg_peer + fd: a channel to a new
				   process of another kind */
	MSG_LOG_REOPEN,		/* struct msg_log_reopen + fd of the access
				   log (or none) */
	MSG_STATS_REQ,		/* frontend: answer with MSG_STATS */
	MSG_STATS,		/* frontend -> parent: struct front_stats */
	MSG_LOG,		/* any -> logger: struct msg_log, then text */
	MSG_ACCESS,		/* one access log line (text, no newline) */
	ST_CONF,		/* parent -> storage: struct store_conf */
	MSG_TLS_TICKETS,	/* parent -> frontend: struct tls_ticket_keys */
	MSG_READY,		/* child -> parent: sandboxed, serving */
	MSG_METRICS_REQ,	/* frontend -> parent: figures for a scrape;
				   peerid = the frontend's request id */
	MSG_METRICS_RES,	/* parent -> frontend: the exposition text */
	MSG_STATS_REPOS,	/* frontend -> parent, before MSG_STATS of a
				   scrape: struct mx_repo[] */
	/* 0x200: frontend -> storage requests; peerid = request id */
	ST_BLOB_GET = 0x200,	/* struct st_blob_get */
	ST_BLOB_DELETE,		/* struct st_blob_delete */
	ST_MANIFEST_GET,	/* struct st_manifest_get */
	ST_MANIFEST_PUT,	/* struct st_manifest_put; then ST_DATA* */
	ST_MANIFEST_DELETE,	/* struct st_manifest_delete */
	ST_UPLOAD_START,	/* struct st_upload_start */
	ST_UPLOAD_WRITE,	/* struct st_upload_write; then ST_DATA*,
				   or with an fd: the body in that pipe */
	ST_UPLOAD_STATUS,	/* struct st_upload */
	ST_UPLOAD_CANCEL,	/* struct st_upload */
	ST_TAGS_LIST,		/* struct st_list */
	ST_CATALOG,		/* struct st_list, repo empty */
	ST_REFERRERS,		/* struct st_referrers */
	ST_DATA,		/* raw body bytes of the stream peerid */
	ST_DATA_END,		/* body complete: storage answers now */
	ST_DATA_ABORT,		/* client went away: undo this request */
	ST_HEALTH,		/* metrics listener, no payload: answer with
				   the file system's space_free and
				   space_total */
	/* 0x280: storage -> frontend */
	ST_RES = 0x280,		/* struct st_res, maybe an fd with the body */
	/* 0x300: parent <-> storage for the control socket; peerid = ctl
	   conn; store_gc.c and store_list.c do the work */
	ST_CTL_REPOS = 0x300,	/* no payload -> text lines in ST_CTL_RES */
	ST_CTL_TAGS,		/* struct st_ctl_repo */
	ST_CTL_RES,		/* text chunk; ST_CTL_END ends the answer */
	ST_CTL_GC,		/* struct st_ctl_flags: GCF_* */
	ST_CTL_FSCK,		/* struct st_ctl_flags: 1 = repair */
	ST_CTL_RM,		/* struct st_ctl_repo */
	ST_CTL_USAGE,		/* struct st_ctl_repo, repo may be empty */
	ST_CTL_END,		/* storage -> parent: struct st_ctl_end */
	ST_STATS_REQ,		/* parent -> storage: figures for metrics */
	ST_STATS,		/* storage -> parent: struct store_stats */
	/* 0x380: regctl <-> parent */
	CTL_SHOW_STATUS = 0x380,
	CTL_SHOW_REPOS,
	CTL_SHOW_TAGS,		/* repository name */
	CTL_RELOAD,
	CTL_LOG_VERBOSE,	/* struct msg_verbose */
	CTL_GC,			/* struct st_ctl_flags: GCF_* */
	CTL_FSCK,		/* struct st_ctl_flags: 1 = repair */
	CTL_TEXT,		/* a chunk of answer text */
	CTL_END,		/* answer complete: struct st_ctl_end (0 ok) */
	CTL_RM,			/* repository name */
	CTL_SHOW_USAGE,		/* repository name or nothing */
	/* 0x400: event notifications (notify.c, front_notify.c) */
	MSG_NOTIFY_EVENT = 0x400, /* frontend -> notify: struct notify_event */
	MSG_NOTIFY_SHOW,	/* parent -> notify; peerid = ctl conn */
	MSG_NOTIFY_TEXT,	/* notify -> parent: text of the answer */
	MSG_NOTIFY_END,		/* notify -> parent: struct st_ctl_end */
	CTL_SHOW_NOTIFY,	/* regctl -> parent */
	MSG_NOTIFY_ACK,		/* notify -> frontend: the event peerid is
				   on disk */
	/* 0x500: mirror mode (storage's mirror.c, the fetcher) */
	MIR_CONF = 0x500,	/* parent -> fetcher: struct mirror_up, one
				   per upstream, credentials included */
	MIR_CONF_END,		/* parent -> fetcher: the list is complete */
	MIR_FETCH,		/* storage -> fetcher: struct mir_fetch;
				   peerid = fetch id */
	MIR_HEAD,		/* fetcher -> storage: struct mir_head */
	MIR_DATA,		/* fetcher -> storage: body bytes */
	MIR_END,		/* fetcher -> storage: struct mir_end */
	CTL_SHOW_MIRROR,	/* regctl -> parent: no payload */
	ST_CTL_MIRROR,		/* parent -> storage: answered in
				   ST_CTL_RES text, then ST_CTL_END */
	MIR_PIPE		/* fetcher -> storage: no payload, a pipe's
				   read end: the rest of a blob's body
				   comes down it, MIR_END after */
};

/*
 * Frontend -> storage requests: one payload per message type (see enum
 * msg_type), its size and its strings checked by storage's rule for the
 * type (MR_STRS) before it is read.  repo is the repository here, a
 * mirror's local name included.
 */

/* Flags of the requests, each valid where its comment says. */
#define STF_HEAD	0x01	/* blob, manifest get: no descriptor */
#define STF_FINAL	0x02	/* upload write: ends with a digest check */
#define STF_HAVE_OFF	0x04	/* upload write: off is a Content-Range
				   start to check */
#define STF_NEWSESSION	0x08	/* upload write: create the session first */
#define STF_MOUNT_WHERE	0x10	/* upload start: list the repositories
				   linking mount_digest, mount nothing */
#define STF_MIRROR	0x20	/* blob, manifest get of a mirrored
				   repository: mirror says where from;
				   manifest put: storage's own, of a
				   fetched manifest */
#define STF_WHOLE	0x40	/* blob get of all of it (no Range): a
				   pipe (STR_PIPE) will do */

struct st_mirror {			/* where a mirrored read goes */
	char		 upstream[MAX_NAME + 1];	/* its name */
	char		 upstream_name[MAX_NAME + 1];	/* repo there */
	int64_t		 tag_ttl;	/* seconds a tag is fresh */
	int32_t		 push;		/* clients may push there too */
};
struct st_blob_get {			/* ST_BLOB_GET */
	char		 repo[MAX_NAME + 1];
	char		 digest[MAX_REF + 1];
	uint32_t	 flags;		/* STF_HEAD, STF_MIRROR,
					   STF_WHOLE */
	struct st_mirror mirror;	/* with STF_MIRROR */
};
struct st_blob_delete {			/* ST_BLOB_DELETE */
	char		 repo[MAX_NAME + 1];
	char		 digest[MAX_REF + 1];
};
struct st_manifest_get {		/* ST_MANIFEST_GET */
	char		 repo[MAX_NAME + 1];
	char		 ref[MAX_REF + 1];	/* tag or digest */
	uint32_t	 flags;		/* STF_HEAD, STF_MIRROR */
	struct st_mirror mirror;	/* with STF_MIRROR */
};
struct st_manifest_put {		/* ST_MANIFEST_PUT */
	char		 repo[MAX_NAME + 1];
	char		 ref[MAX_REF + 1];	/* tag or digest */
	char		 mediatype[MAX_MEDIATYPE + 1];	/* Content-Type */
	int64_t		 len;		/* Content-Length, -1 if unknown */
	int64_t		 limit;		/* the server's max manifest size */
	uint32_t	 flags;		/* STF_MIRROR, from storage only */
};
struct st_manifest_delete {		/* ST_MANIFEST_DELETE */
	char		 repo[MAX_NAME + 1];
	char		 ref[MAX_REF + 1];	/* tag or digest */
};
struct st_upload_start {		/* ST_UPLOAD_START */
	char		 repo[MAX_NAME + 1];
	char		 mount_digest[MAX_REF + 1];	/* or empty */
	char		 from_repo[MAX_NAME + 1];	/* mount from */
	uint32_t	 flags;		/* STF_MOUNT_WHERE */
	char		 client[MAX_CLIENT + 1];	/* u:user, a:addr */
};
struct st_upload_write {		/* ST_UPLOAD_WRITE */
	char		 repo[MAX_NAME + 1];
	char		 uuid[MAX_NAME + 1];	/* as sent; empty: new */
	char		 digest[MAX_REF + 1];	/* with STF_FINAL */
	int64_t		 off;		/* with STF_HAVE_OFF */
	uint32_t	 flags;		/* STF_FINAL, STF_HAVE_OFF,
					   STF_NEWSESSION */
	char		 client[MAX_CLIENT + 1];	/* u:user, a:addr */
};
struct st_upload {			/* ST_UPLOAD_STATUS, _CANCEL */
	char		 repo[MAX_NAME + 1];
	char		 uuid[MAX_NAME + 1];	/* as sent */
};
struct st_list {			/* ST_TAGS_LIST, ST_CATALOG */
	char		 repo[MAX_NAME + 1];	/* catalog: empty */
	char		 last[MAX_NAME + 1];	/* page after this */
	int64_t		 limit;		/* entries, -1 if no limit */
};
struct st_referrers {			/* ST_REFERRERS */
	char		 repo[MAX_NAME + 1];
	char		 digest[MAX_REF + 1];	/* the subject */
	char		 artifact_type[MAX_MEDIATYPE + 1];	/* or empty */
};
struct st_ctl_repo {			/* ST_CTL_TAGS, _RM, _USAGE */
	char		 repo[MAX_NAME + 1];
};

/* struct st_res flags */
#define STR_MORE	0x01	/* list answer: more entries after "last" */
#define STR_MOUNTED	0x02	/* upload start: blob was mounted (201) */
#define STR_FILTERED	0x04	/* referrers: artifactType filter applied */
#define STR_HASBODY	0x08	/* the fd carries the response body */
#define STR_PIPE	0x10	/* the fd is a pipe of size bytes, fed
				   while a mirror fetches: EOF early means
				   the bytes failed their digest */
#define STR_PROBED	0x20	/* health: the backend's store answered */

struct st_res {
	int32_t		 status;	/* HTTP status to answer */
	char		 code[32];	/* error code, empty on success */
	char		 message[MAX_ERRMSG + 1];
	char		 digest[MAX_DIGEST + 1];
	char		 subject[MAX_DIGEST + 1];
	char		 mediatype[MAX_MEDIATYPE + 1];
	char		 uuid[MAX_UUID + 1];
	char		 last[MAX_NAME + 1];	/* last list entry returned */
	int64_t		 size;		/* body or blob size */
	int64_t		 off;		/* upload: bytes received so far */
	int64_t		 space_free;	/* ST_HEALTH: bytes free */
	int64_t		 space_total;	/* ST_HEALTH: file system size */
	uint32_t	 flags;
};

/* Payloads of the messages between processes (not storage's own). */
struct msg_verbose {
	int32_t		 verbose;
};
struct msg_peer {			/* MSG_PEER_ADD, with the descriptor */
	int32_t		 kind;		/* enum proc_kind */
	int32_t		 instance;	/* frontend slot, else 0 */
};
#define LOGR_OFF	0
#define LOGR_FILE	1		/* the descriptor comes with it */
#define LOGR_SYSLOG	2
struct msg_log_reopen {
	int32_t		 mode;		/* LOGR_* */
};
struct msg_log {			/* then the text, no newline */
	int32_t		 priority;
};
struct st_ctl_flags {			/* ST_CTL_GC, ST_CTL_FSCK */
	int32_t		 flags;
};
struct st_ctl_end {			/* ST_CTL_END, CTL_END */
	int32_t		 status;
};

/* Mirror mode: upstreams (parse.y), fetches (fetcher.c, mirror.c). */
#define MAX_UPSTREAMS		16
#define MAX_SRV_MIRRORS		16
#define MIR_NAMELEN		64
#define DEF_TAG_TTL		300
#define DEF_UP_CONNS		8	/* concurrent connections */
#define DEF_UP_TIMEOUT		60
struct mirror_up {			/* MIR_CONF */
	char		 name[MIR_NAMELEN];
	char		 url[512];	/* https://host[:port] */
	char		 ca[PATH_MAX];	/* extra CA file, or "" */
	char		 credfile[PATH_MAX];
	char		 user[256];	/* from credfile */
	char		 pass[256];
	int64_t		 tag_ttl;
	int64_t		 cache_size;	/* bytes, 0: no bound */
	int32_t		 max_conns;
	int32_t		 timeout;
	int32_t		 redirect_private;	/* redirects to internal
						   addresses allowed */
};
#define MIRM_SERVER	0		/* the whole server, names kept */
#define MIRM_PREFIX	1		/* /v2/PREFIX/name -> name */
#define MIRM_NS		2		/* ?ns=HOST -> HOST/name here */
struct mirror_map {
	int		 mode;		/* MIRM_* */
	int		 up;		/* index in regd_conf upstreams */
	char		 key[MAX_NAME + 1];	/* prefix or ns host */
	int		 push;		/* clients may push here */
};
#define MIRK_MANIFEST	1
#define MIRK_BLOB	2
struct mir_fetch {			/* MIR_FETCH */
	int32_t		 kind;		/* MIRK_* */
	char		 upstream[MIR_NAMELEN];
	char		 repo[MAX_NAME + 1];	/* its name upstream */
	char		 ref[MAX_REF + 1];
	char		 known[MAX_DIGEST + 1];	/* manifest: HEAD first */
	int64_t		 max;		/* bytes at most, -1: any */
};
struct mir_head {			/* MIR_HEAD */
	int32_t		 status;	/* upstream's, 304 unchanged, 502
					   unreachable */
	int64_t		 size;		/* -1: not said */
	char		 digest[MAX_DIGEST + 1];
	char		 mediatype[MAX_MEDIATYPE + 1];
	char		 message[MAX_ERRMSG + 1];
};
struct mir_end {			/* MIR_END */
	int32_t		 status;	/* 0: the body is complete */
};

/*
 * What a frontend counts for the metrics listener (metrics.c): a few
 * increments per request, by route, method and status.  Only uint64_t,
 * so that the parent can add a dead frontend's last figures to the
 * retired ones member by member.
 */
#define MX_NROUTES	8	/* metrics.c: mx_routes[] */
#define MX_NMETHODS	7	/* GET HEAD POST PUT PATCH DELETE other */
#define MX_NSTATUS	30	/* metrics.c: mx_status[] */
#define MX_NBUCKETS	14	/* metrics.c: mx_buckets[], then +Inf */
struct front_metrics {
	uint64_t	 requests[MX_NROUTES][MX_NMETHODS][MX_NSTATUS];
	uint64_t	 dur_bucket[MX_NROUTES][MX_NBUCKETS + 1];
	uint64_t	 dur_usec[MX_NROUTES];	/* sum, microseconds */
	uint64_t	 route_in[MX_NROUTES];	/* body bytes received */
	uint64_t	 route_out[MX_NROUTES];	/* bytes answered */
	uint64_t	 login_failures;
	uint64_t	 throttled;		/* 429 answers */
	uint64_t	 conns_accepted;
	uint64_t	 scrapes;		/* on the metrics listener */
};

/* "per repository labels": requests by repository, at most so many. */
#define MX_MAXREPOS	500
struct mx_repo {
	char		 name[MAX_NAME + 1];	/* "": the ones past the cap */
	uint64_t	 requests[MX_NROUTES];
};

struct front_stats {
	int32_t		 slot;
	int32_t		 pid;
	uint64_t	 requests;
	uint64_t	 conns;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	struct front_metrics m;
};

/* Storage's figures (store_stats.c); gauges are int64_t, -1: unknown. */
struct store_stats {
	int64_t		 uploads_active;
	uint64_t	 upload_bytes;
	uint64_t	 blobs_added;
	uint64_t	 blobs_removed;
	uint64_t	 manifests_added;
	int64_t		 disk_used;	/* blob bytes, -1 until counted */
	int64_t		 disk_free;	/* of the file system under it */
	int64_t		 disk_total;
	uint64_t	 gc_runs;
	uint64_t	 gc_swept_blobs;
	uint64_t	 gc_swept_bytes;
	int64_t		 gc_last_usec;	/* -1: none yet */
	uint64_t	 fsck_runs;
	int64_t		 fsck_findings;	/* of the last run, -1: none yet */
	uint64_t	 quota_refusals;
	/* the backend's own (be->figures), when it keeps any */
	struct backend_figures {
		int32_t		 valid;		/* 0: none kept */
		uint64_t	 requests;	/* to the medium (S3 requests) */
		uint64_t	 errors;	/* of those, failed */
		uint64_t	 cache_hits;	/* blob GETs from the cache */
		uint64_t	 cache_misses;	/* ... filled from the medium */
		int64_t		 cache_bytes;	/* in the cache now */
	}		 backend;
	/* mirror mode, per upstream (mirror.c), nmirror of them */
	uint32_t	 nmirror;
	struct mirror_figures {
		char		 name[64];	/* MIR_NAMELEN */
		uint64_t	 hits;		/* answered from the store */
		uint64_t	 misses;	/* fetches begun */
		uint64_t	 errors;	/* fetches failed or refused */
		uint64_t	 fetched;	/* bytes from the upstream */
		uint64_t	 served;	/* blob bytes from the store */
		uint64_t	 stored;	/* blob bytes new in the store */
		uint64_t	 cached;	/* counted against cache size */
		uint64_t	 limit;		/* its cache size, 0: none */
		uint64_t	 evicted;	/* manifests evicted */
	}		 mirror[16];		/* MAX_UPSTREAMS */
};

/* Configuration. */
struct listen_addr {
	TAILQ_ENTRY(listen_addr) entry;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	in_port_t		 port;
	int			 tls;
	int			 fd;	/* parent: the bound socket, or -1 */
	char			 name[128];	/* "127.0.0.1:5000" */
	struct server_conf	*srv;
};
TAILQ_HEAD(listenlist, listen_addr);

struct server_conf {
	TAILQ_ENTRY(server_conf) entry;
	char			 name[128];
	struct listenlist	 listens;
	char			 tls_cert[PATH_MAX];
	char			 tls_key[PATH_MAX];
	int			 delete_enabled;
	int			 mount_nofrom;	/* look for a mount's source */
	size_t			 max_manifest;
	size_t			 max_reqline;
	size_t			 max_headers;
	int			 max_nheaders;
	int			 header_timeout;
	int			 idle_timeout;
	int			 body_timeout;
	int			 max_conns;
	/* tls.c: the SSL_CTX is built by the parent at parse time. */
	char			 tls_protocols[64];
	char			 tls_ciphers[512];
	void			*tls_ctx;
	/* auth.c: NULL when the server does not authenticate. */
	struct auth_conf	*auth;
	int			 max_login_failures;
	int			 login_block;
	int			 max_conns_addr;	/* per address, 0: none */
	int			 metrics;	/* the metrics listener */
	struct sockaddr_storage	 proxies[8];	/* trusted proxies */
	int			 nproxies;
	struct mirror_map	 mirrors[MAX_SRV_MIRRORS];
	int			 nmirrors;
};
TAILQ_HEAD(serverlist, server_conf);

/* Storage housekeeping: GC, quotas, retention (store_gc.c). */
#define GCF_DRYRUN		0x01
#define GCF_UNTAGGED		0x02
#define DEF_GC_GRACE		3600
#define DEF_UPLOAD_MAXAGE	(7 * 86400)
#define DEF_UPLOAD_TIMEOUT	3600	/* idle upload sessions end */
#define DEF_MAX_UPLOADS		64	/* sessions per repository */
#define DEF_MAX_UPLOADS_CLIENT	32	/* sessions per user or address */
#define MAX_UPLOADS_LIMIT	4096	/* the most sessions at all */
#define DEF_STORAGE_MODE	0700
#define MAX_QUOTAS		32
#define MAX_RETAINS		32
#define MAX_KEEPGLOBS		8
struct quota_rule {
	char			 pattern[MAX_NAME + 1];
	int64_t			 size;
};
struct retain_rule {
	char			 pattern[MAX_NAME + 1];
	int32_t			 keep_last;	/* -1: no such rule */
	int32_t			 nglobs;
	int64_t			 older_than;	/* seconds, -1: none */
	char			 globs[MAX_KEEPGLOBS][MAX_TAG + 1];
};
struct store_conf {
	int64_t			 gc_schedule;	/* seconds, 0: never */
	int32_t			 gc_untagged;	/* scheduled runs too */
	int64_t			 gc_grace;
	int64_t			 upload_maxage;
	int64_t			 upload_timeout;	/* idle session, s */
	int32_t			 max_uploads;	/* per repository */
	int32_t			 max_uploads_client;
	int32_t			 mode;		/* of new directories */
	int32_t			 shared;	/* other instances use it too */
	int64_t			 quota;		/* bytes on disk, 0: none */
	int32_t			 nquotas;
	struct quota_rule	 quotas[MAX_QUOTAS];
	int32_t			 nretains;
	struct retain_rule	 retains[MAX_RETAINS];
	/* Mirror mode: each upstream's cache size (mirror_cache.c). */
	int32_t			 nmircaches;
	struct mircache_limit {
		char		 upstream[MIR_NAMELEN];
		int64_t		 size;		/* bytes, 0: no bound */
	}			 mircaches[MAX_UPSTREAMS];
};

#define DEF_PRESIGN_EXPIRY	300		/* s, a redirect's URL */
#define DEF_S3_CACHE_SIZE	(1024LL * 1024 * 1024)	/* blob cache */

/* storage s3 { ... }: the bucket, and the secret read from its file. */
struct s3_store_conf {
	int			 on;
	char			 endpoint[256];
	char			 region[64];
	char			 bucket[64];
	char			 root[256];
	char			 access_key[128];
	char			 secret_file[PATH_MAX];
	char			 secret[256];	/* storage's only */
	char			 ca_file[PATH_MAX];
	int			 path_style;
	int			 redirect;
	int			 presign_expiry;	/* seconds */
	int64_t			 cache_size;		/* bytes */
};

struct regd_conf {
	char			 user[64];
	char			 chroot[PATH_MAX];
	int			 prefork;
	int			 drain_timeout;	/* seconds */
	char			 storage[PATH_MAX];
	char			 socket[PATH_MAX];
	char			 access_log[PATH_MAX];	/* "" = syslog */
	int			 access_log_line;	/* in the file */
	int			 access_syslog;		/* log access syslog */
	int			 access_off;		/* no access log */
	int			 verbose;
	struct serverlist	 servers;
	struct auth_group	*groups;	/* auth.c: "group" lists */
	struct store_conf	 store;		/* store_gc.c */
	struct mirror_up	 upstreams[MAX_UPSTREAMS];
	int			 nupstreams;
	struct s3_store_conf	 s3;		/* storage s3, or off */
	struct server_conf	*metrics;	/* in servers too; or NULL */
	int64_t			 health_timeout;	/* seconds */
	int64_t			 health_free;	/* bytes free at least */
	int32_t			 metrics_repos;	/* per repository labels */
	struct notify_conf	*notify;	/* notify_conf.c */
};
#define DEF_HEALTH_TIMEOUT	2

/*
 * Event notifications: webhook endpoints (notify_conf.c), the events
 * process that queues and posts them (notify.c) and the frontends'
 * side that reports what happened (front_notify.c).
 */
#define NOTIFY_QUEUE		"/var/spool/regd"
#define NOTIFY_MAXEP		16
#define NOTIFY_MAXHDRS		16
#define NOTIFY_MAXREPOS		16
#define NOTIFY_DEF_TIMEOUT	5	/* seconds */
#define NOTIFY_DEF_BACKOFF	1
#define NOTIFY_DEF_BACKOFF_MAX	300
#define NOTIFY_DEF_QUEUE	(64 * 1024 * 1024)
#define NACT_PUSH		0x01
#define NACT_PULL		0x02
#define NACT_DELETE		0x04
#define NACT_MOUNT		0x08
#define NACT_ALL		0x0f
struct notify_endpoint {
	char			 name[64];
	char			 url[1024];
	char			 headers[NOTIFY_MAXHDRS][512];	/* "N: v" */
	int			 nheaders;
	int			 timeout;	/* seconds, whole request */
	int			 backoff;	/* first retry after, s */
	int			 backoff_max;
	int			 actions;	/* NACT_* */
	char			 repos[NOTIFY_MAXREPOS][MAX_NAME + 1];
	int			 nrepos;	/* fnmatch patterns; 0: all */
	int64_t			 queue_max;	/* bytes of its queue file */
	int			 line;
};
struct notify_conf {
	char			 queue[PATH_MAX];	/* spool directory */
	int			 queue_line;
	int			 nep;
	struct notify_endpoint	 ep[NOTIFY_MAXEP];
};
/* What a frontend saw happen (MSG_NOTIFY_EVENT). */
struct notify_event {
	int32_t			 action;	/* NACT_* */
	int32_t			 tls;		/* for the target's url */
	int64_t			 size;		/* -1: none */
	int64_t			 when_ns;	/* epoch nanoseconds */
	char			 repo[MAX_NAME + 1];
	char			 from[MAX_NAME + 1];	/* mount source */
	char			 digest[MAX_DIGEST + 1];
	char			 tag[MAX_TAG + 1];
	char			 mediatype[MAX_MEDIATYPE + 1];
	char			 reqid[40];
	char			 method[16];
	char			 addr[64];
	char			 host[256];
	char			 useragent[256];
	char			 actor[64];
};
struct notify_endpoint *notify_conf_add(struct regd_conf *, const char *,
	    int, char *, size_t);
int	 notify_conf_url(struct notify_endpoint *, const char *, char *,
	    size_t);
int	 notify_conf_header(struct notify_endpoint *, const char *,
	    const char *, char *, size_t);
int	 notify_conf_repo(struct notify_endpoint *, const char *, char *,
	    size_t);
int	 notify_conf_queue(struct regd_conf *, const char *, int, char *,
	    size_t);
int	 notify_conf_check(struct regd_conf *, const char *);
void	 notify_conf_keep(struct regd_conf *, struct regd_conf *);
void	 notify_conf_dump(struct regd_conf *);
int	 notify_queue_prepare(struct regd_conf *, int);
int	 notify_url_split(const char *, char *, size_t, int *, int *);
/* front_notify.c */
struct conn;
struct st_res;
#define NOTIFY_SYNC_WAIT	1000	/* ms an answer waits for its event */
int	 front_notify_peer(int, int);
int	 front_notify(struct conn *, const struct st_res *);
void	 front_notify_forget(struct conn *);

/* parse.y */
struct regd_conf	*parse_config(const char *, int);
struct regd_conf	*config_default(void);
void			 config_free(struct regd_conf *);
void			 config_dump(struct regd_conf *);

/* regd.c: global state of the current process */
struct regd {
	struct regd_conf	*conf;
	struct event_base	*base;
	const char		*conffile;
	int			 debug;
	int			 verbose;
	int			 unpriv;	/* running as non-root */
	int			 slot;		/* frontend slot */
	int			 iothreads;	/* upload threads; 0: by CPUs */
	time_t			 started;
};
extern struct regd	*env;

/*
 * The process table (rows in regd.c, machinery in proc.c).  Children
 * start in the order of the rows, and each is given a channel to the
 * parent and to every running process of the kinds in its peers; the
 * ones already running get theirs in MSG_PEER_ADD.
 */
enum proc_kind {
	PROC_PARENT,
	PROC_FRONTEND,
	PROC_STORAGE,
	PROC_LOGGER,
	PROC_NOTIFY,
	PROC_FETCHER,
	PROC_NKINDS
};
#define PROC_CHROOT_EMPTY	0	/* the configuration's chroot */
#define PROC_CHROOT_STORAGE	1	/* the storage directory */
#define PROC_CHROOT_NOTIFY	2	/* the notification queue */

struct proc_fd {			/* a channel a child starts with */
	enum proc_kind	 kind;
	int		 instance;
	int		 fd;
};
#define PROC_MAXFDS		(REGD_MAXSLOTS + PROC_NKINDS)
struct proc_boot {
	enum proc_kind	 kind;
	int		 instance;	/* frontend slot, else 0 */
	int		 parentfd;
	const char	*chroot;	/* where sandbox_drop puts it */
	enum sandbox_kind sandbox;
	int		 nfds;
	struct proc_fd	 fds[PROC_MAXFDS];
};

struct proc_type {
	enum proc_kind	 kind;
	const char	*title;
	int		 chroot;	/* PROC_CHROOT_* */
	enum sandbox_kind sandbox;
	int		 many;		/* "prefork" of them, else one */
	int		 listeners;	/* keeps the listening sockets */
	uint32_t	 peers;		/* PEER() of the kinds it talks to */
	void		(*main)(struct proc_boot *);	/* never returns */
};

struct proc {
	TAILQ_ENTRY(proc)	 entry;
	enum proc_kind		 kind;
	pid_t			 pid;
	int			 slot;		/* instance */
	int			 draining;
	int			 ready;		/* sent MSG_READY */
	time_t			 drain_deadline;	/* 0: drain not sent */
	time_t			 started;
	struct chan		 chan;
	struct front_stats	 stats;
	struct mx_repo		*repos;		/* its last MSG_STATS_REPOS */
	size_t			 nrepos;
};
TAILQ_HEAD(proclist, proc);

/* The children's side: every channel of a child goes through these. */
typedef int	(*proc_peer_cb)(enum proc_kind, int, int);
void		 proc_listen(struct proc_boot *, const struct msg_rule *,
		    size_t, proc_peer_cb);
void		 proc_chan(struct chan *, enum proc_kind, int, int, void *,
		    chan_event_cb);
void		 proc_dispatch(struct chan *, struct msg *, void *);
void		 proc_peer_fail(struct chan *, struct msg *, const char *);
void		 proc_sandbox(const struct proc_boot *, const char *);
const char	*proc_name(enum proc_kind);
/* The parent's side. */
extern struct proclist	 procs;
void		 proc_table(const struct proc_type *, size_t,
		    const struct msg_rule *, size_t);
const struct proc_type *proc_type(enum proc_kind);
struct proc	*proc_start(enum proc_kind, int);
struct proc	*proc_find(enum proc_kind);
void		 proc_free(struct proc *);
void		 proc_broadcast(enum proc_kind, uint32_t, const void *,
		    size_t);

/* regd.c: the parent */
int		 parent_reload(char *, size_t);
void		 parent_verbose(int);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_close(void);
void	 control_stats(uint32_t);
void	 control_storage_res(uint32_t, const void *, size_t);
void	 control_storage_end(uint32_t, int32_t);

/* metrics.c: the frontend's counting and serving, the parent's figures */
struct conn;
struct rusage;
#define MX_COLLECT_BIT	0x80000000U	/* MSG_STATS peerid: a scrape's */
void	 metrics_request_done(struct conn *, struct front_metrics *);
void	 metrics_dispatch(struct conn *);
int	 metrics_timeout(struct conn *);
void	 metrics_storage_res(struct conn *, struct st_res *);
void	 metrics_text(struct conn *, const void *, size_t);
void	 metrics_parent_req(struct proc *, uint32_t);
void	 metrics_parent_stats(uint32_t);
void	 metrics_parent_store(uint32_t, const struct store_stats *);
void	 metrics_retire(struct proc *, const struct rusage *);
void	 metrics_restarted(enum proc_kind);
void	 metrics_send_repos(struct chan *, uint32_t);
void	 metrics_parent_repos(struct proc *, const void *, size_t);

/* frontend.c, http.c, api.c */
enum conn_state {
	CS_IDLE,		/* waiting for the first byte of a request */
	CS_HEADERS,		/* reading the request line and headers */
	CS_BODY,		/* streaming a body to storage */
	CS_DISCARD,		/* reading a body nobody wants */
	CS_WAIT,		/* waiting for storage's answer */
	CS_RESPOND,		/* writing the response */
	CS_CLOSING,
	CS_LINGER		/* answered, reading what is left, then close */
};

enum route {
	RT_NONE,
	RT_BASE,
	RT_CATALOG,
	RT_TAGS,
	RT_MANIFEST,
	RT_BLOB,
	RT_UPLOADS,
	RT_UPLOAD,
	RT_REFERRERS
};

struct req {
	char		 method[16];
	char		*target;
	char		*path;
	char		*query;
	int		 minor;
	int		 keepalive;
	int		 nheaders;
	size_t		 hdrbytes;
	int64_t		 clen;		/* -1: none */
	int		 chunked;
	int		 expect100;
	char		*ctype;
	char		*crange;
	char		*range;
	char		*host;
	char		*auth;
	int		 conn_close;	/* Connection: close */
	int		 conn_keepalive;	/* Connection: keep-alive */

	enum route	 route;
	char		 name[MAX_NAME + 1];
	char		 ref[MAX_REF + 1];
	char		 user[64];
	char		*xff;		/* X-Forwarded-For, -Proto, -Host */
	char		*xfproto;
	char		*xfhost;
	char		*ua;		/* User-Agent, for events */
	char		 mountfrom[MAX_NAME + 1];	/* for events */
	int		 authdelay;	/* auth.c: a slowed failure is pending */
	int		 mountwhere;	/* api.c: asked where a blob is */
	char		 mountrepo[MAX_NAME + 1];	/* for that upload */
	char		 mountclient[MAX_CLIENT + 1];	/* ditto */

	uint32_t	 reqid;
	uint32_t	 st_type;	/* storage request in flight */
	int		 streaming;	/* body goes to storage */
	int		 answered;	/* storage answered already */
	int64_t		 body_left;	/* of this chunk, or of the body */
	int		 chunk_state;
	int64_t		 body_seen;
	int64_t		 n;		/* pagination */

	int		 status;
	uint64_t	 bytes_out;
	struct timespec	 start;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	LIST_ENTRY(conn)	 pending;
	int			 inpend;
	struct bufferevent	*bev;
	int			 fd;
	struct listen_addr	*la;
	struct server_conf	*srv;
	char			 addr[64];
	enum conn_state		 state;
	struct event		 ev_timer;
	struct event		 ev_done;	/* answer written at once */
	int			 corked;	/* TCP_CORK is on */
	size_t			 hdrlen;	/* head before a file body */
	int			 close_after;
	int			 paused;	/* reading stopped: storage full */
	int			 nreqs;
	struct req		 req;
	int			 rto;		/* read timeout set, seconds */
	int			 wto;		/* write timeout set, seconds */
	int			 readmode;	/* frontend.c: input bound set */
	int			 lowat;		/* SO_RCVLOWAT set, 0 for 1 */
	int			 sfd;		/* file body read piecewise */
	int64_t			 soff;
	int64_t			 sleft;
	char			 peer[64];	/* the socket's peer address */
	struct event		 ev_auth;	/* auth.c: slowed answers */
	int			 shm_idx;	/* auth.c: counted address + 1 */
	int			 spipe;		/* sfd is a mirror's pipe */
	struct event		 ev_pipe;	/* waiting for it to fill */
	struct evbuffer		*tout;		/* TLS: answer staged to write */
	int			 bpipe;		/* upload body's pipe to storage */
	struct event		 ev_bsock;	/* its socket readable */
	struct event		 ev_bpipe;	/* its pipe writable */
};

/* frontend.c */
void	 conn_close(struct conn *);
int	 conn_request(struct conn *, uint32_t, const void *, size_t);
int	 conn_stream_request(struct conn *, uint32_t, const void *, size_t);
void	 conn_body_done(struct conn *);
void	 conn_cut_body(struct conn *);
void	 conn_discard_body(struct conn *);
void	 conn_hold(struct conn *);
void	 conn_respond_done(struct conn *);
int	 conn_write_now(struct conn *);
struct evbuffer *conn_output(struct conn *);
void	 conn_cork(struct conn *, int);
void	 conn_stream_file(struct conn *, int, int64_t, int64_t);
void	 conn_stream_pipe(struct conn *, int, int64_t);
void	 conn_pause_for_storage(struct conn *);
void	 front_count_bytes(uint64_t);
int	 conn_parent_request(struct conn *, uint32_t);
void	 conn_set_timer(struct conn *, int);
struct front_metrics *front_metrics(void);
int	 front_draining(void);
/* http.c */
int	 http_body_pending(struct req *);
int	 http_parse_head(struct conn *);
int	 http_body_pump(struct conn *, unsigned char *, size_t, size_t *);
int	 http_chunk_owed(const struct req *, size_t);
void	 http_reset(struct req *);
void	 http_start_response(struct conn *, int, const char *, int64_t);
void	 http_header(struct conn *, const char *, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));
void	 http_end_headers(struct conn *);
void	 http_error(struct conn *, int, const char *, const char *);
void	 http_error_ext(struct conn *, int, const char *, const char *,
	    const char *);
const char *http_status_text(int);
char	*http_query_get(const char *, const char *, char *, size_t);
/* api.c */
void	 api_dispatch(struct conn *);
void	 api_storage_res(struct conn *, struct st_res *, int, const void *,
	    size_t);

/* tls.c: the parent loads, the frontend wraps accepted sockets. */
#define TLS_DEF_PROTOCOLS	"tlsv1.2,tlsv1.3"
#define TLS_RECORD_MAX		16384	/* plaintext bytes in one TLS record */
int	 tls_server_load(struct server_conf *, char *, size_t);
void	 tls_server_free(struct server_conf *);
int	 tls_check_protocols(const char *);
#define TLS_TICKET_ROTATE	(2 * 3600)	/* seconds between new keys */
struct tls_ticket_key {
	unsigned char	 name[16];
	unsigned char	 aes[32];
	unsigned char	 hmac[32];
};
struct tls_ticket_keys {
	int32_t			 n;		/* 1 or 2 */
	struct tls_ticket_key	 key[2];	/* current, previous */
};
void	 tls_ticket_rotate(void);
const struct tls_ticket_keys *tls_ticket_get(void);
int	 tls_ticket_set(const void *, size_t);
struct bufferevent *tls_bufferevent(struct event_base *, struct server_conf *,
	    int);
void	 tls_close_notify(struct bufferevent *);
int	 tls_write_now(struct bufferevent *, struct evbuffer *);

/* jwt.c */
void	 auth_json_seed(void);
int	 auth_action_bit(const char *);
size_t	 auth_b64_decode(const char *, size_t, unsigned char *, size_t);
int	 jwt_verify(struct auth_conf *, const char *, const char *, time_t,
	    char *, size_t, int *);
int	 jwt_pick(struct auth_conf *, const char *, time_t, int,
	    char *const *, size_t);

/* auth.c */
#define AUTH_PULL	0x01
#define AUTH_PUSH	0x02
#define AUTH_DELETE	0x04
#define AUTH_ALL	(AUTH_PULL | AUTH_PUSH | AUTH_DELETE)
#define WHO_ANY		0	/* everybody, anonymous included */
#define WHO_USER	1
#define WHO_GROUP	2
#define WHO_VALID	3	/* any authenticated user */
#define WHO_ADDR	4	/* clients from an address or network */
#define DEF_LOGIN_FAILURES	10
#define DEF_LOGIN_BLOCK		300
#define AUTH_NONE	0	/* rules only, nobody can log in */
#define AUTH_HTPASSWD	1
#define AUTH_TOKEN	2
struct auth_user {
	char		*name;
	char		*hash;
};
struct auth_rule {
	TAILQ_ENTRY(auth_rule)	 entry;
	int			 deny;
	int			 actions;
	int			 who;
	char			*repo;		/* fnmatch pattern, NULL: any */
	char			*name;		/* user, group or network */
	unsigned char		 net[16];	/* WHO_ADDR, IPv4 mapped */
	int			 plen;
};
TAILQ_HEAD(auth_rules, auth_rule);
struct auth_conf {
	int			 type;
	char			 realm[256];
	char			 file[PATH_MAX];
	struct auth_user	*users;		/* sorted by name */
	size_t			 nusers;
	struct auth_rules	 rules;
	char			 service[256];
	char			 issuer[256];
	char			 certfile[PATH_MAX];
	void			*token_keys[8];	/* EVP_PKEY of the issuer */
	int			 ntoken_keys;
};
struct auth_group {
	struct auth_group	*next;
	char			*name;
	char			**members;
	size_t			 nmembers;
};
/*
 * Addresses seen by the frontends, and the (address, user) pairs of
 * failed logins, in memory shared between them: fixed tables.
 */
#define AUTH_SHM_ENTRIES	4096
#define AUTH_SHM_PAIRS		4096
#define AUTH_ADDR_FACTOR	4	/* address limit: N x max login failures */
struct auth_addr {
	unsigned char		 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int			 used;
	int			 failures;	/* wrong logins, any user */
	int64_t			 block_until;
	int64_t			 last;
	int64_t			 last_fail;
	uint16_t		 conns[REGD_MAXSLOTS];	/* per frontend slot */
};
struct auth_pair {
	unsigned char		 addr[16];
	char			 user[64];
	int			 used;
	int			 failures;	/* wrong logins since a good one */
	int64_t			 block_until;
	int64_t			 last_fail;
};
struct auth_shm {
	int			 lock;
	struct auth_addr	 ent[AUTH_SHM_ENTRIES];
	struct auth_pair	 pairs[AUTH_SHM_PAIRS];
};
extern struct auth_shm	*auth_shm;
struct evbuffer;
int	 auth_htpasswd(struct server_conf *, const char *, const char *,
	    char *, size_t);
int	 auth_token(struct server_conf *, const char *, const char *,
	    const char *, const char *, char *, size_t);
int	 auth_rule(struct server_conf *, int, int, const char *, int,
	    const char *, char *, size_t);
int	 auth_group_add(struct regd_conf *, const char *, const char *,
	    char *, size_t);
int	 auth_proxy(struct server_conf *, const char *, char *, size_t);
int	 auth_addr_bytes(const char *, unsigned char *);
void	 auth_server_free(struct server_conf *);
void	 auth_conf_free(struct regd_conf *);
void	 auth_dump(struct regd_conf *, struct server_conf *);
void	 auth_init(void);
int	 auth_accept(struct conn *, const struct sockaddr_storage *);
void	 auth_conn_closed(struct conn *);
int	 auth_request(struct conn *, const char *);
int	 auth_filter_list(struct conn *, int, int64_t, int64_t,
	    struct evbuffer **, char *, size_t);
int	 auth_pick_pullable(struct conn *, char *const *, size_t);
int	 auth_mount_source(struct conn *, int, int64_t, char *, size_t);
int	 auth_from_proxy(struct conn *);
int	 auth_metrics_allowed(struct conn *);

/* The children's mains, rows of proc_types (regd.c). */
__attribute__((__noreturn__)) void
	 frontend_main(struct proc_boot *);
__attribute__((__noreturn__)) void
	 storage_main(struct proc_boot *);
__attribute__((__noreturn__)) void
	 logger_main(struct proc_boot *);
__attribute__((__noreturn__)) void
	 notify_main(struct proc_boot *);
__attribute__((__noreturn__)) void
	 fetcher_main(struct proc_boot *);

/* api.c: mirror mode, name mapping (mirror_map) */
const struct mirror_map *api_mirror(struct conn *, char *, size_t, char *,
	    size_t);

/* storage.c, store_*.c */
#define ST_V2		"docker/registry/v2"	/* under the storage root */
#define CTL_CHUNK	(60 * 1024)	/* control answers, whole lines */
#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_V2	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST	\
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define NALGS		2		/* digest algorithms stored */
extern const char *const digest_algs[NALGS];	/* util.c */
/* store_digest.c */
int	 store_digest_ok(const char *);
int	 store_digest_buf(const char *, const void *, size_t, char *, size_t);
void	 digest_split(const char *, char *, size_t, const char **);

/* util.c: names, digests and small helpers shared by processes */
int	 valid_name(const char *);
int	 valid_tag(const char *);
int	 valid_digest(const char *);
int	 valid_uuid(const char *);
int	 digest_alg_len(const char *);
int	 parse_size(const char *, int64_t *);
int	 parse_content_range(const char *, int64_t *, int64_t *);
int	 parse_range(const char *, int64_t, int64_t *, int64_t *);
#define LOGESC_QUOTE	0x01	/* escape '"' and '\\' too */
#define LOGESC_SPACE	0x02	/* and spaces */
size_t	 log_escape(char *, size_t, const char *, size_t, int);
int	 read_fd_all(int, size_t, int, unsigned char **, size_t *);
struct names {
	char	**v;
	size_t	  n;
	size_t	  size;
};
int	 names_add(struct names *, const char *);
void	 names_free(struct names *);
void	 names_sort(struct names *);
void	 names_uniq(struct names *);
int	 names_has(const struct names *, const char *);

#endif /* REGD_H */
