/*
 * What storage's layers above the backend share (store_backend.h
 * describes the layers).  Include after regd.h.
 */

#ifndef STORE_H
#define STORE_H

#include "store_backend.h"

struct json_t;
struct st_stream;
struct evp_md_st;
struct evp_md_ctx_st;
struct io_stream;
struct SHA256state_st;

struct st_meta {			/* facts about a stored manifest */
	char		 mediatype[MAX_MEDIATYPE + 1];
	char		 subject[MAX_DIGEST + 1];
	char		 artifacttype[MAX_MEDIATYPE + 1];
	struct json_t	*annotations;
	int64_t		 size;
};

/* A manifest checked for a PUT. */
struct mfst {
	struct json_t	*root;
	char		 mediatype[MAX_MEDIATYPE + 1];
	char		 subject[MAX_DIGEST + 1];
	char		 digest[MAX_DIGEST + 1];
};

struct tagcache {			/* a tag resolved at generation gen */
	uint64_t	 gen;
	char		 repo[MAX_NAME + 1];
	char		 tag[MAX_TAG + 1];
	char		 digest[MAX_DIGEST + 1];
};

/*
 * What changed in the tree, told to every hook (store_hook_add) right
 * after the change, in storage's main thread.  Hooks never block and
 * never change the tree.  Caches, quota totals and GC subscribe.
 */
enum st_change {
	SC_USED,		/* digest looked up as linked (GC grace) */
	SC_BLOB_ADDED,		/* digest, size: upload commit, manifest */
	SC_BLOB_REMOVED,	/* digest, size (0: not known): swept */
	SC_LINKED,		/* repo, kind, digest, size: a new link */
	SC_UNLINKED,		/* repo, kind, digest */
	SC_TAGGED,		/* repo, tag, digest */
	SC_UNTAGGED,		/* repo, tag */
	SC_UPLOAD,		/* repo, tag = uuid: a session began or ended */
	SC_REPO_REMOVED		/* repo */
};

struct st_event {
	enum st_change	 what;
	const char	*repo, *tag, *digest;
	enum be_link	 kind;
	int64_t		 size;
};

typedef void	(*st_hook)(const struct st_event *, void *);

/* store_digest.c */
void	 digest_hex(const unsigned char *, unsigned int, char *);
const struct evp_md_st *digest_md(const char *);
int	 digest_final(struct evp_md_ctx_st *, const char *, char *, size_t);

/* store_cache.c */
uint64_t	 cache_gen(const char *);
void	 cache_init(void);
#define STORE_HASH_INIT	2166136261u
uint32_t	 store_hash(uint32_t, const char *);
void	 store_trim(size_t);
struct tagcache *tagcache_slot(const char *, const char *);
struct st_meta *meta_set(const char *, struct json_t *, int64_t);
struct st_meta *store_meta(const char *);
const void *manifest_body(const char *, size_t *);
#define LINKED_ANY	(-1)	/* a layer or a revision link */
int	 linked_get(const char *, int, const char *, int64_t *);
void	 linked_put(const char *, int, const char *, int64_t);
uint64_t linked_gen(void);

/* store_manifest.c */
const char *guess_mediatype(struct json_t *);
int	 manifest_check(const struct st_manifest_put *, const unsigned char *,
	    size_t, struct mfst *, struct st_res *);
int	 manifest_refs_all(const unsigned char *, size_t, struct names *,
	    char *, size_t);

/* store_reg.c */
int	 store_init(void);
int	 names_each(void *, const char *, const struct be_stat *);
void	 store_err(struct st_res *, int, const char *, const char *, ...)
	    __attribute__((__format__ (printf, 4, 5)));
void	 store_err_errno(struct st_res *, int, const char *, const char *,
	    const char *);
int	 store_link_state(const char *, enum be_link, const char *);
int	 store_linked(const char *, enum be_link, const char *);
void	 store_blob_get(const struct st_blob_get *, struct st_res *, int *,
	    const void **);
void	 store_blob_delete(const struct st_blob_delete *, struct st_res *,
	    int *);
void	 store_manifest_get(const struct st_manifest_get *, struct st_res *,
	    int *, const void **);
void	 store_manifest_delete(const struct st_manifest_delete *,
	    struct st_res *, int *);
void	 manifest_commit(const struct st_manifest_put *,
	    const unsigned char *, size_t, struct st_res *);
int	 mount_blob(const struct st_upload_start *, struct st_res *);
int	 store_hook_add(st_hook, void *);
void	 reg_used(const char *);
int	 reg_blob_write(const char *, const void *, size_t);
int	 reg_blob_remove(const char *, int64_t);
int	 reg_blob_quarantine(const char *, const char *, char *, size_t);
int	 reg_touch_del(const char *);
int	 reg_link_put(const char *, enum be_link, const char *, int64_t);
int	 reg_link_del(const char *, enum be_link, const char *);
int	 reg_link_quarantine(const char *, const char *, char *, size_t);
int	 reg_link_remove(const char *);
int	 reg_tag_set(const char *, const char *, const char *);
int	 reg_tag_del(const char *, const char *);
int	 reg_repo_remove(const char *, void (*)(void *, const char *, int),
	    void *);
int	 reg_upload_begin(const char *, const char *);
int	 reg_upload_abort(const char *, const char *);
int	 reg_upload_commit(struct be_upload *, const char *, const char *,
	    const char *, int64_t);

/* store_upload.c */
void	 store_upload_start(const struct st_upload_start *, struct st_res *,
	    int *);
void	 store_upload_status(const struct st_upload *, struct st_res *,
	    int *);
void	 store_upload_cancel(const struct st_upload *, struct st_res *,
	    int *);
struct st_stream *store_upload_write_begin(const struct st_upload_write *,
	    struct st_res *, int *);
struct st_stream *store_manifest_put_begin(const struct st_manifest_put *,
	    struct st_res *, int *);
int	 store_stream_data(struct st_stream *, const void *, size_t,
	    struct st_res *);
int	 store_stream_end(struct st_stream *, struct st_res *);
int	 store_stream_read(struct st_stream *, int, int, struct st_res *);
void	 store_stream_abort(struct st_stream *);
int	 store_upload_purge(const char *, const char *);
void	 store_upload_forget_repo(const char *);
void	 store_upload_arm(void);
int	 store_upload_count(void);

/* store_io.c */
#define IO_MINCPUS	4	/* upload threads from this many CPUs on */
int	 io_start(int);
struct io_stream *io_open(struct be_upload *, struct SHA256state_st *);
int	 io_data(struct io_stream *, const void *, size_t);
ssize_t	 io_read(struct io_stream *, int);
int64_t	 io_drain(struct io_stream *, int *);
void	 io_close(struct io_stream *);

/* store_job.c: work for threads, completions on the main thread */
typedef void	(*job_fn)(void *);
typedef void	(*job_done)(void *);
#define JOB_THREADS	4	/* threads of the pool */
int	 job_start(int);
int	 job_ready(void);
int	 job_run(job_fn, job_done, void *);
int	 job_post(job_fn, void *);

/*
 * Parked requests (store_job.c): a request answered later.  A handler
 * that calls store_park leaves res alone and is not answered on return;
 * whoever finishes the work answers with store_resume, once (-1 when
 * the frontend that asked is gone: fd is then closed).  store_park
 * returns 0 when that frontend has too many requests parked already.
 * storage.c brackets each handler with park_begin/park_end and says
 * how an answer is sent (park_init) and when a frontend goes away.
 */
#define PARK_MAX	1024	/* parked requests per frontend */
typedef int	(*park_send)(int, uint64_t, uint32_t, struct st_res *, int,
		    const void *);
void	 park_init(park_send);
void	 park_begin(int, uint64_t, uint32_t);
int	 park_end(void);
void	 park_forget(int);
uint64_t store_park(void);
int	 store_resume(uint64_t, struct st_res *, int, const void *);

/* store_list.c */
int	 store_all_repos(struct names *, int);
int	 store_repo_digests(const char *, enum be_link, struct names *);
void	 store_tags_list(const struct st_list *, struct st_res *, int *);
void	 store_catalog(const struct st_list *, struct st_res *, int *);
void	 store_mount_sources(const struct st_upload_start *, struct st_res *,
	    int *);
void	 store_referrers(const struct st_referrers *, struct st_res *, int *);
char	*store_ctl_repos(size_t *);
char	*store_ctl_tags(const char *, size_t *);

/* store_quota.c */
void	 quota_init(void);
void	 quota_forget_disk(void);
int64_t	 quota_disk_usage(int);
uint64_t quota_disk_changes(void);
void	 quota_disk_counted(int64_t, uint64_t);
int64_t	 quota_disk_known(void);
int64_t	 quota_repo_bytes(const char *);
void	 quota_fmt_bytes(char *, size_t, int64_t);
int	 quota_check(const char *, const char *, int64_t, struct st_res *);
int64_t	 quota_room(const char *, int64_t, int64_t, char *, size_t);

/* store_stats.c */
extern struct store_stats	 store_stats;
void	 store_stats_init(void);
int	 store_stats_space(int64_t *, int64_t *);
void	 store_health(struct st_res *);
void	 store_stats_fill(struct store_stats *);

/* store_gc.c */
void	 gc_init(struct chan *);
void	 gc_conf(const struct store_conf *);
void	 store_s3_conf(const struct s3_store_conf *);	/* store_s3.c */
int	 store_s3_prepare(void);		/* before the sandbox */
const struct store_conf *gc_store_conf(void);
int	 store_shared(void);
int	 gc_shared_settle(void);
int	 gc_shared_sweeping(void);
int	 gc_touch_due(const char *);
int	 gc_shared_patience(void);
#define SETTLE_POLL_MS	20	/* a writer's look at a sweeping lease */
void	 gc_ctl_gc(uint32_t, int);
void	 gc_ctl_fsck(uint32_t, int);
void	 gc_ctl_rm(uint32_t, const char *);
void	 gc_ctl_usage(uint32_t, const char *);

#endif /* STORE_H */
