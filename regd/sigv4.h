/*
 * AWS Signature Version 4 for S3 requests: the Authorization header and
 * presigned URLs.  No global state; every output goes to a buffer of the
 * caller's, and a request that does not fit the limits below is refused
 * (-1), never truncated.
 */

#ifndef SIGV4_H
#define SIGV4_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED		"UNSIGNED-PAYLOAD"
#define SIGV4_HEX_LEN		64	/* a SHA-256 in hex, without NUL */
#define SIGV4_DATE_LEN		16	/* 20130524T000000Z */
#define SIGV4_MAX_HEADERS	32
#define SIGV4_MAX_QUERY		32
#define SIGV4_MAX_CANON		16384	/* the canonical request */
#define SIGV4_MAX_AUTH		1024	/* the Authorization header's value */
#define SIGV4_MAX_EXPIRES	604800	/* a presigned URL lives a week at most */

/* Credentials and the scope they sign for. */
struct sigv4_cred {
	const char	*access_key;
	const char	*secret_key;
	const char	*token;		/* session token, or NULL */
	const char	*region;	/* "us-east-1" */
	const char	*service;	/* "s3" */
};

/* A name and a value, both raw: the signer encodes and trims them. */
struct sigv4_pair {
	const char	*name;
	const char	*value;		/* NULL is the same as "" */
};

/*
 * A request.  The path is the raw object path ("/bucket/a b"); it is
 * encoded once, keeping '/', as S3 wants (never normalised).  Query
 * parameters are raw too and encoded with '/' as %2F.  Every header given
 * is signed (Host among them); names are compared without case and
 * repeated names joined with ','.  payload is the hex SHA-256 of the body,
 * SIGV4_UNSIGNED, or NULL for an empty body.
 */
struct sigv4_req {
	const char			*method;
	const char			*path;
	const struct sigv4_pair		*query;
	size_t				 nquery;
	const struct sigv4_pair		*headers;
	size_t				 nheaders;
	const char			*payload;
	time_t				 when;
};

/*
 * What sigv4_sign() produces: the headers to send with the request besides
 * those signed from sigv4_req (x-amz-content-sha256 only for the "s3"
 * service, x-amz-security-token only with a token).
 */
struct sigv4_signed {
	char	 amz_date[SIGV4_DATE_LEN + 1];		/* x-amz-date */
	char	 content_sha256[SIGV4_HEX_LEN + 1];	/* x-amz-content-sha256 */
	char	 signature[SIGV4_HEX_LEN + 1];
	char	 authorization[SIGV4_MAX_AUTH];		/* Authorization */
};

int	sigv4_sign(const struct sigv4_cred *, const struct sigv4_req *,
	    struct sigv4_signed *);
int	sigv4_presign(const struct sigv4_cred *, const struct sigv4_req *,
	    unsigned int, char *, size_t);

/* The steps, for tests and for callers that build a request line. */
int	sigv4_uri_encode(const char *, int, char *, size_t);
int	sigv4_canonical_request(const struct sigv4_cred *,
	    const struct sigv4_req *, char *, size_t);
int	sigv4_string_to_sign(const struct sigv4_cred *, const char *,
	    const char *, char *, size_t);
void	sigv4_sha256_hex(const void *, size_t, char *);

#endif /* SIGV4_H */
