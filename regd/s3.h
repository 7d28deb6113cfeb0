/*
 * A blocking S3 client on libcurl for the storage process: one struct
 * s3_conn per thread (a connection kept alive between requests), no
 * global state but s3_init().  Requests are signed with SigV4
 * (sigv4.c); keys are given raw and encoded here.  Every call returns 0
 * or -1 and, on -1, fills a struct s3_err: the HTTP status (0 when there
 * was no answer), the S3 error code, whether trying again later may
 * succeed, and an errno the caller can map to its own answer.
 */

#ifndef S3_H
#define S3_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#define S3_KEY_MAX		1024	/* bytes of a key, as on AWS */
#define S3_ETAG_MAX		128	/* an ETag, quotes removed */
#define S3_TOKEN_MAX		1024	/* a continuation token */
#define S3_UPLOAD_ID_MAX	512	/* a multipart upload's id */
#define S3_PARTS_MAX		10000	/* parts of a multipart upload */
#define S3_DELETE_MAX		1000	/* keys of one s3_delete_many() */
#define S3_LIST_MAX		1000	/* max-keys of one page */
#define S3_XML_MAX		(8 * 1024 * 1024)	/* an XML answer */
#define S3_URL_MAX		8192

/* Why a call failed. */
struct s3_err {
	int	 http_status;	/* 0: no answer (connection, timeout) */
	char	 code[64];	/* "NoSuchKey", "SlowDown", "curl-28"... */
	char	 message[256];
	int	 transient;	/* 1: a later try may succeed (503, timeout) */
	int	 errnum;	/* ENOENT, EEXIST, EFBIG, EIO, ETIMEDOUT... */
};

/*
 * Where and how to reach the bucket.  The strings are copied by
 * s3_conn_new(); the copy of the secret is cleared when freed.  Zero
 * timeouts and retries take the defaults below.
 */
struct s3_config {
	const char	*endpoint;	/* "https://host[:port]" */
	const char	*region;	/* "us-east-1" */
	const char	*bucket;
	const char	*access_key;
	const char	*secret_key;
	const char	*token;		/* session token, or NULL */
	const char	*ca_file;	/* NULL: the system's CAs */
	const char	*ca_pem;	/* else these CAs (PEM), if not NULL */
	size_t		 ca_pemlen;
	const char	*resolve;	/* "host:port:addr" for curl, or NULL */
	int		 virtual_host;	/* bucket.host/key, not host/bucket */
	long		 connect_timeout_ms;	/* default 5 s */
	long		 low_speed_time;	/* s under 1 KiB/s; 30 */
	long		 request_timeout_ms;	/* whole request; none */
	int		 retries;	/* after the first; -1: none */
	long		 retry_base_ms;	/* first backoff; default 100 */
	long		 retry_max_ms;	/* largest backoff; default 5000 */
};

#define S3_DEF_CONNECT_MS	5000
#define S3_DEF_LOW_SPEED_S	30
#define S3_DEF_RETRIES		3
#define S3_DEF_RETRY_BASE_MS	100
#define S3_DEF_RETRY_MAX_MS	5000
#define S3_RETRIES_MAX		10

/* An object (head, list) or a common prefix (list). */
struct s3_obj {
	char	 key[S3_KEY_MAX + 1];
	off_t	 size;
	char	 etag[S3_ETAG_MAX + 1];
	time_t	 mtime;
	int	 is_prefix;
};

/* One page of ListObjectsV2: the arguments, and the next page's token. */
struct s3_list {
	const char	*prefix;	/* NULL: none */
	const char	*delimiter;
	const char	*start_after;
	int		 max_keys;	/* 0: the server's (1000) */
	char		 token[S3_TOKEN_MAX + 1];	/* in, out; "" first */
	int		 truncated;	/* out: another page follows */
};

struct s3_part {
	int	 number;		/* 1..S3_PARTS_MAX */
	char	 etag[S3_ETAG_MAX + 1];
	off_t	 size;			/* list parts only */
};

struct s3_upload {
	char	 key[S3_KEY_MAX + 1];
	char	 upload_id[S3_UPLOAD_ID_MAX + 1];
	time_t	 initiated;
};

/* A callback returns 0 to go on, -1 to stop (the call fails ECANCELED). */
typedef int	(*s3_obj_cb)(void *, const struct s3_obj *);
typedef int	(*s3_part_cb)(void *, const struct s3_part *);
typedef int	(*s3_upload_cb)(void *, const struct s3_upload *);
typedef int	(*s3_data_cb)(void *, const void *, size_t);

struct s3_conn;

int	 s3_init(void);
struct s3_conn *s3_conn_new(const struct s3_config *, struct s3_err *);
void	 s3_conn_free(struct s3_conn *);
long	 s3_conn_connects(struct s3_conn *);

int	 s3_head(struct s3_conn *, const char *, struct s3_obj *,
	    struct s3_err *);
int	 s3_get(struct s3_conn *, const char *, void *, size_t, size_t *,
	    struct s3_err *);
int	 s3_get_range(struct s3_conn *, const char *, off_t, size_t, void *,
	    size_t *, time_t *, struct s3_err *);
int	 s3_get_range_fd(struct s3_conn *, const char *, off_t, off_t, int,
	    off_t *, struct s3_err *);
int	 s3_get_cb(struct s3_conn *, const char *, s3_data_cb, void *,
	    off_t *, struct s3_err *);
int	 s3_put(struct s3_conn *, const char *, const void *, size_t,
	    struct s3_err *);
int	 s3_put_fd(struct s3_conn *, const char *, int, off_t, off_t,
	    struct s3_err *);
int	 s3_put_if_absent(struct s3_conn *, const char *, const void *,
	    size_t, struct s3_err *);
int	 s3_delete(struct s3_conn *, const char *, struct s3_err *);
int	 s3_delete_many(struct s3_conn *, const char *const *, size_t,
	    struct s3_err *);
int	 s3_list_page(struct s3_conn *, struct s3_list *, s3_obj_cb, void *,
	    struct s3_err *);
int	 s3_copy(struct s3_conn *, const char *, const char *,
	    struct s3_err *);

int	 s3_mp_create(struct s3_conn *, const char *, char *, size_t,
	    struct s3_err *);
int	 s3_mp_put_part(struct s3_conn *, const char *, const char *, int,
	    const void *, size_t, struct s3_part *, struct s3_err *);
int	 s3_mp_put_part_fd(struct s3_conn *, const char *, const char *, int,
	    int, off_t, off_t, struct s3_part *, struct s3_err *);
int	 s3_mp_copy_part(struct s3_conn *, const char *, const char *, int,
	    const char *, off_t, off_t, struct s3_part *, struct s3_err *);
int	 s3_mp_complete(struct s3_conn *, const char *, const char *,
	    const struct s3_part *, size_t, struct s3_err *);
int	 s3_mp_abort(struct s3_conn *, const char *, const char *,
	    struct s3_err *);
int	 s3_mp_list_parts(struct s3_conn *, const char *, const char *,
	    s3_part_cb, void *, struct s3_err *);
int	 s3_mp_list_uploads(struct s3_conn *, const char *, s3_upload_cb,
	    void *, struct s3_err *);

int	 s3_presign_get(struct s3_conn *, const char *, unsigned int, char *,
	    size_t, struct s3_err *);

/* s3xml.c: the answers' XML, strictly parsed (0, or -1 if malformed). */
#define S3XML_MAX_DEPTH		8
#define S3XML_MAX_NAME		64
#define S3XML_MAX_TEXT		4096
#define S3XML_WRONG_ROOT	-2	/* well formed, another root element */

int	 s3xml_error(const char *, size_t, struct s3_err *);
int	 s3xml_list(const char *, size_t, struct s3_list *, s3_obj_cb,
	    void *);
int	 s3xml_upload_id(const char *, size_t, char *, size_t);
int	 s3xml_parts(const char *, size_t, s3_part_cb, void *, int *, int *);
int	 s3xml_uploads(const char *, size_t, s3_upload_cb, void *, int *,
	    char *, size_t, char *, size_t);
int	 s3xml_copy_etag(const char *, size_t, char *, size_t);
int	 s3xml_complete(const char *, size_t);
int	 s3xml_delete_result(const char *, size_t, struct s3_err *,
	    size_t *);
int	 s3xml_time(const char *, time_t *);

#endif /* S3_H */
