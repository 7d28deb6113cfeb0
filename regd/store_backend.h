/*
 * The storage backend: where blobs, links, tags and uploads are kept.
 *
 * Storage is layered; each layer calls only the one below it:
 *
 *   storage.c      peers and messages, handed to the handlers below
 *   store_reg.c    registry semantics that do not depend on the medium:
 *    + store_upload.c, store_manifest.c, store_list.c, store_quota.c,
 *      store_gc.c, store_cache.c, store_digest.c, store_io.c,
 *      store_job.c, store_stats.c, mirror.c: names
 *      and digests checked, manifests validated, upload sessions and
 *      their digests, quotas, GC marks, caches, listings, HTTP statuses
 *      and OCI error codes.  Only store_reg.c calls the backend's changing calls, and
 *      it runs the hooks (store_hook_add) after each change.
 *   ---------------------------- this interface ----------------------------
 *   store_fs.c     the filesystem, in CNCF Distribution's layout
 *   store_mem.c    memory only, for unit tests of the layers above
 *   store_s3.c     an S3 bucket, in the keys of Distribution's s3 driver
 *
 * A backend stores what it is told and reports what it holds.  It never
 * validates a manifest, counts a quota, marks for GC, drops a cache or
 * picks an HTTP status, and never calls up: the layers above learn of a
 * change because they made it.  Every name and digest it is given passed
 * valid_name(), valid_tag(), valid_uuid() or store_digest_ok() first.
 *
 * Threads: all calls come from storage's main thread, one at a time,
 * except those marked "worker": a store_io.c thread makes them for an
 * upload the main thread handed over, never two at once for one upload.
 * Calls are synchronous: a backend on a slow medium is driven from
 * worker threads or parked requests above this interface (store_job.c:
 * job_run runs work on a thread pool and its completion on the main
 * thread; store_park/store_resume hold a frontend's request meanwhile).
 *
 * Shared stores: a backend other instances write to at the same time (an
 * object store) sets BE_SHARED in flags; the filesystem one is shared
 * when regd.conf says "storage shared yes".  The layers above then keep
 * nothing cached for more than a second, take up upload sessions from
 * upload_stat and upload_state_get, and run GC under a lease (regd(8),
 * Housekeeping).  What they need from such a backend: a change is
 * seen by every instance's next call (read-after-write, also for
 * walks: a walk lists everything written before it began); a blob's
 * mtime is when it was committed (GC's grace counts from it); lease_put
 * with excl is atomic across instances.
 *
 * Results: 0 done (or what the comment says); -1 with errno: ENOENT no
 * such thing, EINVAL a stored item is malformed, EFBIG over a bound,
 * ENOTSUP not offered (blob_open of a medium without descriptors or
 * redirects), or ENOSPC, EIO and other errors of the medium, which the
 * layers above log and answer with a 5xx.
 */

#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#define BE_WANT_FD	0x01		/* blob_open: a descriptor */
#define BE_WANT_URL	0x02		/* blob_open: a redirect will do */
#define BE_WANT_PIPE	0x04		/* blob_open: a pipe fed as the
					   bytes come will do (body.pipe) */

#define BE_SHARED	0x01		/* flags: other instances write too */

enum be_link {
	BE_LAYER,			/* the repository may serve a blob */
	BE_REVISION			/* the repository holds a manifest */
};

struct be_stat {
	int64_t		 size;
	time_t		 mtime;		/* grace, retention, stale uploads */
};

struct be_body {			/* how a blob's bytes leave storage */
	int		 fd;		/* read-only at offset 0, or -1 */
	char		 url[2048];	/* else where the client is sent */
	int64_t		 size;
	int		 pipe;		/* fd is a pipe of size bytes, its
					   last held until they are proven:
					   EOF early, they were not */
};

struct be_upload;			/* an open upload, the backend's own */

/* A walk's entry: name, digest or uuid, and its stat or NULL; not 0 stops. */
typedef int	(*be_each)(void *, const char *, const struct be_stat *);

/*
 * A stored link as a check sees it: where it is (a name for reports and
 * link_quarantine), the digest it holds or NULL when it is malformed,
 * the digest its place says it must hold or NULL (a tag's current link),
 * and whether it is a layer link.  Not 0 stops.
 */
typedef int	(*be_linkfn)(void *, const char *, const char *, const char *,
		    int);

struct store_backend {
	const char	*name;
	/*
	 * 1: blob_open may wait on the network (a cache filled from an
	 * object store); it is then a "worker" call, which the layers
	 * above make from a job while the request is parked, and so is
	 * link_get (a manifest GET by digest looks up its revision link).
	 */
	int		 open_slow;
	int	(*init)(void);			/* before the sandbox */

	/* Blobs: content-addressed, immutable once there. */
	int	(*blob_stat)(const char *, struct be_stat *);
	int	(*blob_open)(const char *, int, struct be_body *);
	int	(*blob_read)(const char *, size_t, unsigned char **,
		    size_t *);			/* whole, <= max, EFBIG */
	int	(*blob_write)(const char *, const void *, size_t);
				/* small, atomic: 1 written, 0 was there */
	int	(*blob_remove)(const char *);	/* 1: gone, but not all of
						 * its place (errno why) */
	int	(*blob_quarantine)(const char *, const char *, char *, size_t);
						/* digest, into, where put */

	/* Uploads: resumable sessions, by repository and uuid. */
	int	(*upload_begin)(const char *, const char *);
	int	(*upload_open)(const char *, const char *,
		    struct be_upload **, struct be_stat *);
	int	(*upload_append)(struct be_upload *, const void *,
		    size_t);			/* worker */
	ssize_t	(*upload_read)(struct be_upload *, void *, size_t,
		    int64_t);			/* worker */
	int	(*upload_truncate)(struct be_upload *, int64_t);
	/*
	 * The upload, made durable, becomes blob digest and its session
	 * ends: 1 a new blob, 0 the blob was there (the bytes are dropped).
	 * On failure the session is as it was.
	 */
	int	(*upload_commit)(struct be_upload *, const char *);
	void	(*upload_close)(struct be_upload *);
	/*
	 * Optional (NULL: upload_append made it durable): what the
	 * handle received made durable, before it is acknowledged.  On
	 * failure the upload is as it was before this handle's appends.
	 */
	int	(*upload_sync)(struct be_upload *);
	int	(*upload_abort)(const char *, const char *);
	int	(*upload_stat)(const char *, const char *, struct be_stat *);
	/*
	 * A small opaque state kept with the upload (its hash state): put
	 * is best effort; get returns the bytes read or -1.
	 */
	void	(*upload_state_put)(const char *, const char *, const void *,
		    size_t);
	ssize_t	(*upload_state_get)(const char *, const char *, void *,
		    size_t);

	/* Links and tags of a repository. */
	int	(*link_get)(const char *, enum be_link, const char *,
		    struct be_stat *);
	int	(*link_put)(const char *, enum be_link, const char *);
				/* written again if there: 1 new, 0 was there */
	int	(*link_del)(const char *, enum be_link, const char *);
						/* one that is not there: 0 */
	int	(*tag_get)(const char *, const char *, char *, size_t,
		    struct be_stat *);
	int	(*tag_set)(const char *, const char *, const char *);
	int	(*tag_del)(const char *, const char *);
	int	(*repo_exists)(const char *, int);	/* int: uploads count */
	int	(*repo_remove)(const char *, void (*)(void *, const char *,
		    int), void *);	/* reports what it cannot remove */

	/* Walks: every entry, in no particular order; -1 error or stopped. */
	int	(*repo_walk)(int, be_each, void *);	/* int: uploads too */
	int	(*tag_walk)(const char *, be_each, void *);
						/* tags with a current link */
	int	(*link_walk)(const char *, enum be_link, be_each, void *);
	int	(*upload_walk)(const char *, be_each, void *);
	int	(*blob_walk)(be_each, void *);

	/* fsck: every stored link, and moving one aside. */
	int	(*link_check)(be_linkfn, void *);
	int	(*link_quarantine)(const char *, const char *, char *, size_t);
	int	(*link_remove)(const char *);	/* where, as link_check said */

	/*
	 * Leases: small named objects (name: [a-z]+) that instances
	 * sharing a store use to agree on who runs something (GC).
	 * lease_get: the bytes read (at most the size given) and bs->mtime
	 * the time of the last put, in this host's clock; -1 ENOENT when
	 * there is none.  lease_put: written whole, atomically; with excl
	 * (int not 0) only if there is none, else -1 EEXIST.  lease_del:
	 * 0, also when there was none.  Nothing here judges expiry: the
	 * layer above compares mtime with its clock.
	 *
	 * S3 (key <rootdirectory>/docker/registry/v2/_regd/<name>.lease,
	 * beside Distribution's tree and never listed by it):
	 * lease_get is GetObject; mtime is LastModified, which is the
	 * object store's clock, moved into this host's by adding
	 * (local time at the answer - the answer's Date header), so that
	 * a skewed host still judges age right.  lease_put is PutObject,
	 * with "If-None-Match: *" when excl: 412 Precondition Failed (or
	 * 409 ConditionalRequestConflict) is EEXIST.  lease_del is
	 * DeleteObject (204 also when there was none).  S3 is strongly
	 * consistent for these (read-after-write, list-after-write), which
	 * the GC protocol in regd(8) needs.
	 */
	ssize_t	(*lease_get)(const char *, void *, size_t, struct be_stat *);
	int	(*lease_put)(const char *, const void *, size_t, int);
	int	(*lease_del)(const char *);

	/*
	 * Shared stores: a blob used now (pushed again, mounted, looked
	 * up), so that another instance's GC grace counts from this use:
	 * after blob_touch, the later of blob_stat's mtime and of what
	 * blob_touched gives is the last use.  blob_touched may be NULL
	 * when blob_touch moves the blob's own mtime (fs: utimensat); it
	 * is -1 ENOENT when the blob was never touched.
	 *
	 * S3: blob_touch is a PutObject of an empty marker,
	 * <rootdirectory>/docker/registry/v2/_regd/used/<alg>/<hex>
	 * (copying a big blob onto itself would cost more), blob_touched
	 * its HeadObject's LastModified, and blob_remove deletes the
	 * marker with the blob.
	 *
	 * touch_walk and touch_del (both NULL when blob_touched is):
	 * every marker, as digest and its stat, and one removed (0 also
	 * when there was none).  A marker outlives its blob when a touch
	 * comes after the blob's removal; GC removes those (regd(8)).
	 * S3: a ListObjectsV2 of _regd/used/, a DeleteObject.
	 */
	int	(*blob_touch)(const char *);
	int	(*blob_touched)(const char *, struct be_stat *);
	int	(*touch_walk)(be_each, void *);
	int	(*touch_del)(const char *);

	/*
	 * Optional, "worker": whether the store answers at all, for
	 * /health: 0, or -1 with errno.  S3: a HeadObject of the GC lease's
	 * key (404 is an answer too).
	 */
	int	(*probe)(void);

	/*
	 * Optional (NULL: nothing is kept across restarts): notes, named
	 * objects of the layers above (name: [a-z]+), larger than a lease
	 * and written seldom: the mirror's cache index (mirror_cache.c).
	 * note_get: the whole object, at most max bytes (else EFBIG), in
	 * a buffer to free; -1 ENOENT when there is none.  note_put:
	 * written whole, atomically.
	 *
	 * fs: <root>/docker/registry/v2/_regd/<name>.note; S3: the key
	 * <rootdirectory>/docker/registry/v2/_regd/<name>.note, beside
	 * the leases, never listed by Distribution.
	 */
	int	(*note_get)(const char *, size_t, unsigned char **, size_t *);
	int	(*note_put)(const char *, const void *, size_t);

	/* Its own counters for the metrics (regd.h), or NULL. */
	void	(*figures)(struct backend_figures *);

	unsigned	 flags;			/* BE_SHARED */
};

extern const struct store_backend	 store_fs_backend, store_mem_backend,
					 store_s3_backend;
extern const struct store_backend	*be;	/* the one in use */
const struct store_backend *store_backend_find(const char *);

#endif /* STORE_BACKEND_H */
