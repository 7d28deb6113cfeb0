/*
 * TLS: the parent reads certificates and keys while it may still open
 * files and builds an SSL_CTX per server from the PEM bytes; forked
 * frontends inherit it and only wrap accepted sockets.  The key bytes are
 * wiped as soon as OpenSSL holds the key.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "regd.h"

#define TLS_MAXFILE	(1024 * 1024)
#define TLS_DEF_CIPHERS	"HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!SHA1:!CAMELLIA"

/*
 * The order of preference, as nginx gets it from OpenSSL's clients: the
 * cheapest strong cipher first, AES-128-GCM where the CPU has AES
 * instructions, ChaCha20 first where it has none.  The TLS 1.2 lists
 * hold the same ciphers as TLS_DEF_CIPHERS, only ordered.
 */
#define TLS13_AES	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
			"TLS_CHACHA20_POLY1305_SHA256"
#define TLS13_CHACHA	"TLS_CHACHA20_POLY1305_SHA256:" \
			"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS12_AES	"ECDHE+AESGCM+AES128:ECDHE+AESGCM+AES256:" \
			"ECDHE+CHACHA20:" TLS_DEF_CIPHERS
#define TLS12_CHACHA	"ECDHE+CHACHA20:ECDHE+AESGCM+AES128:" \
			"ECDHE+AESGCM+AES256:" TLS_DEF_CIPHERS

#define PROTO_TLS10	0x01
#define PROTO_TLS11	0x02
#define PROTO_TLS12	0x04
#define PROTO_TLS13	0x08

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* Does this CPU encrypt AES in hardware?  Assumed elsewhere than x86. */
static int
cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return (__builtin_cpu_supports("aes") != 0);
#else
	return (1);
#endif
}

/*
 * Session-ticket keys, shared by every frontend so that a session resumes
 * on any of them: [0] seals new tickets, [1] (the one before) still opens
 * old ones.  The parent makes them; frontends inherit them at fork and get
 * each new one in MSG_TLS_TICKETS.
 */
static struct tls_ticket_keys	 tkeys;

static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char iv[16],
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_ticket_key	*k = NULL;
	OSSL_PARAM		 params[3];
	int			 i;

	if (tkeys.n == 0)
		return (0);
	if (enc) {
		k = &tkeys.key[0];
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
			return (-1);
	} else {
		for (i = 0; i < tkeys.n && k == NULL; i++)
			if (memcmp(name, tkeys.key[i].name,
			    sizeof(tkeys.key[i].name)) == 0)
				k = &tkeys.key[i];
		if (k == NULL)
			return (0);	/* unknown or expired: full handshake */
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    "SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return (-1);
	if (enc) {
		if (EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1)
			return (-1);
		return (1);
	}
	if (EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes,
	    iv) != 1)
		return (-1);
	/* A ticket under the previous key is renewed under the current. */
	return (k == &tkeys.key[0] ? 1 : 2);
}

/* Parent: a new current key; the current one becomes the previous. */
void
tls_ticket_rotate(void)
{
	struct tls_ticket_key	 k;

	if (RAND_bytes((unsigned char *)&k, sizeof(k)) != 1)
		fatalx("%s: no random bytes", __func__);
	tkeys.key[1] = tkeys.key[0];
	tkeys.key[0] = k;
	if (tkeys.n < 2)
		tkeys.n++;
	explicit_bzero(&k, sizeof(k));
}

const struct tls_ticket_keys *
tls_ticket_get(void)
{
	return (&tkeys);
}

/* Frontend: the keys the parent sent. */
int
tls_ticket_set(const void *data, size_t len)
{
	struct tls_ticket_keys	 k;

	if (len != sizeof(k))
		return (-1);
	memcpy(&k, data, sizeof(k));
	if (k.n < 1 || k.n > 2)
		return (-1);
	tkeys = k;
	explicit_bzero(&k, sizeof(k));
	return (0);
}

/* Read a whole small file into memory; the caller frees with freezero. */
static unsigned char *
tls_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat	 st;
	unsigned char	*buf;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TLS_MAXFILE) {
		snprintf(err, errlen, "%s: not a regular file of at most "
		    "%d bytes", path, TLS_MAXFILE);
		close(fd);
		return (NULL);
	}
	if (read_fd_all(fd, TLS_MAXFILE, 1, &buf, lenp) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "grew while read" : strerror(errno));
		close(fd);
		return (NULL);
	}
	close(fd);
	return (buf);
}

/*
 * "tlsv1.2,tlsv1.3", "all", "default" or "secure" (libtls' words), with
 * commas, colons or blanks between; a bit mask of PROTO_*, -1 if bad.
 */
static int
parse_protocols(const char *s)
{
	char	 buf[64], *p, *w;
	int	 mask = 0;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return (-1);
	p = buf;
	while ((w = strsep(&p, ",: \t")) != NULL) {
		if (*w == '\0')
			continue;
		if (strcasecmp(w, "tlsv1.0") == 0)
			mask |= PROTO_TLS10;
		else if (strcasecmp(w, "tlsv1.1") == 0)
			mask |= PROTO_TLS11;
		else if (strcasecmp(w, "tlsv1.2") == 0)
			mask |= PROTO_TLS12;
		else if (strcasecmp(w, "tlsv1.3") == 0)
			mask |= PROTO_TLS13;
		else if (strcasecmp(w, "all") == 0)
			mask |= PROTO_TLS10 | PROTO_TLS11 | PROTO_TLS12 |
			    PROTO_TLS13;
		else if (strcasecmp(w, "default") == 0 ||
		    strcasecmp(w, "secure") == 0)
			mask |= PROTO_TLS12 | PROTO_TLS13;
		else
			return (-1);
	}
	return (mask == 0 ? -1 : mask);
}

int
tls_check_protocols(const char *s)
{
	return (parse_protocols(s) == -1 ? -1 : 0);
}

static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char	*sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_http11,
	    sizeof(alpn_http11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return (SSL_TLSEXT_ERR_NOACK);
	*out = sel;
	return (SSL_TLSEXT_ERR_OK);
}

static void
ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long	 e;
	char		 buf[256];

	e = ERR_peek_last_error();
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

/* Certificate chain from PEM bytes: the first is the server's own. */
static int
use_chain(SSL_CTX *ctx, const unsigned char *pem, size_t len,
    const char *path, char *err, size_t errlen)
{
	BIO	*bio;
	X509	*x;
	char	 what[PATH_MAX + 64];
	int	 rv = -1;

	snprintf(what, sizeof(what), "tls certificate \"%s\"", path);
	if ((bio = BIO_new_mem_buf(pem, len)) == NULL) {
		ssl_error(err, errlen, what);
		return (-1);
	}
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL) {
		ssl_error(err, errlen, what);
		goto done;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		ssl_error(err, errlen, what);
		goto done;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ssl_error(err, errlen, what);
			goto done;
		}
	}
	/* The loop ends on "no start line", which is no error. */
	ERR_clear_error();
	rv = 0;
done:
	BIO_free(bio);
	return (rv);
}

static int
use_key(SSL_CTX *ctx, const unsigned char *pem, size_t len, const char *path,
    char *err, size_t errlen)
{
	BIO		*bio;
	EVP_PKEY	*pkey;
	char		 what[PATH_MAX + 64];
	int		 rv = -1;

	snprintf(what, sizeof(what), "tls key \"%s\"", path);
	if ((bio = BIO_new_mem_buf(pem, len)) == NULL) {
		ssl_error(err, errlen, what);
		return (-1);
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL,
	    (void *)"")) == NULL) {
		ssl_error(err, errlen, what);
		goto done;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(err, errlen, "%s does not match the tls "
			    "certificate", what);
		} else
			ssl_error(err, errlen, what);
	} else
		rv = 0;
	EVP_PKEY_free(pkey);
done:
	BIO_free(bio);
	return (rv);
}

/*
 * Build the server's SSL_CTX from its certificate and key files.
 * Returns 0, or -1 with a message in err.
 */
int
tls_server_load(struct server_conf *srv, char *err, size_t errlen)
{
	SSL_CTX		*ctx = NULL;
	unsigned char	*cert = NULL, *key = NULL;
	size_t		 certlen = 0, keylen = 0;
	const char	*protos, *ciphers;
	int		 mask, min, max, aes;

	tls_server_free(srv);
	protos = srv->tls_protocols[0] != '\0' ? srv->tls_protocols :
	    TLS_DEF_PROTOCOLS;
	if ((mask = parse_protocols(protos)) == -1) {
		snprintf(err, errlen, "bad tls protocols \"%s\"", protos);
		return (-1);
	}
	min = (mask & PROTO_TLS10) ? TLS1_VERSION :
	    (mask & PROTO_TLS11) ? TLS1_1_VERSION :
	    (mask & PROTO_TLS12) ? TLS1_2_VERSION : TLS1_3_VERSION;
	max = (mask & PROTO_TLS13) ? TLS1_3_VERSION :
	    (mask & PROTO_TLS12) ? TLS1_2_VERSION :
	    (mask & PROTO_TLS11) ? TLS1_1_VERSION : TLS1_VERSION;

	if ((cert = tls_read_file(srv->tls_cert, &certlen, err,
	    errlen)) == NULL)
		goto fail;
	if ((key = tls_read_file(srv->tls_key, &keylen, err, errlen)) ==
	    NULL)
		goto fail;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_error(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	/* Old protocols need the lowest security level of OpenSSL 3. */
	if (min < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0);
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, max) != 1) {
		ssl_error(err, errlen, "tls protocols");
		goto fail;
	}
	/*
	 * The server's order decides, except that a client whose first
	 * choice is ChaCha20 (most likely for want of AES instructions)
	 * gets it.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	aes = cpu_has_aes();
	if (SSL_CTX_set_ciphersuites(ctx, aes ? TLS13_AES : TLS13_CHACHA) !=
	    1) {
		ssl_error(err, errlen, "tls 1.3 cipher suites");
		goto fail;
	}
	if (srv->tls_ciphers[0] != '\0')
		ciphers = srv->tls_ciphers;
	else
		ciphers = aes ? TLS12_AES : TLS12_CHACHA;
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "bad tls ciphers \"%s\"",
		    srv->tls_ciphers);
		goto fail;
	}
	if (use_chain(ctx, cert, certlen, srv->tls_cert, err, errlen) == -1)
		goto fail;
	if (use_key(ctx, key, keylen, srv->tls_key, err, errlen) == -1)
		goto fail;
	freezero(key, keylen + 1);
	key = NULL;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "tls key \"%s\" does not match tls "
		    "certificate \"%s\"", srv->tls_key, srv->tls_cert);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"regd", 4);
	/* Tickets outlive neither their key nor the one after it. */
	SSL_CTX_set_timeout(ctx, TLS_TICKET_ROTATE);
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) {
		ssl_error(err, errlen, "session tickets");
		goto fail;
	}
	free(cert);
	srv->tls_ctx = ctx;
	return (0);
fail:
	SSL_CTX_free(ctx);
	free(cert);
	if (key != NULL)
		freezero(key, keylen + 1);
	return (-1);
}

void
tls_server_free(struct server_conf *srv)
{
	if (srv->tls_ctx != NULL) {
		SSL_CTX_free(srv->tls_ctx);
		srv->tls_ctx = NULL;
	}
}

/*
 * A filter under OpenSSL sees the first byte a client sends.  TLS starts
 * with a handshake record (0x16); anything else is most likely plain HTTP
 * sent to a TLS port, which gets a plain 400 saying so (as nginx and
 * Distribution answer), and the handshake fails.
 */
#define TLS_HANDSHAKE	0x16
#define PLAIN_BODY	"{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":" \
			"\"plain HTTP request sent to a TLS port: use " \
			"https://\"}]}\n"

static BIO_METHOD	*sniff_method;

static void
plain_http_400(BIO *next)
{
	char	 buf[512];
	int	 fd, len, i;

	if (BIO_get_fd(next, &fd) < 0)
		return;
	len = snprintf(buf, sizeof(buf), "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(PLAIN_BODY), PLAIN_BODY);
	/* The handshake fails either way; a client gone early misses it. */
	if (write(fd, buf, len) == -1)
		return;
	shutdown(fd, SHUT_WR);
	/* Read what came with it, so the close is no reset. */
	for (i = 0; i < 16 && recv(fd, buf, sizeof(buf), 0) > 0; i++)
		;
}

static int
sniff_read(BIO *b, char *buf, int len)
{
	BIO	*next = BIO_next(b);
	int	 n;

	if (next == NULL)
		return (0);
	n = BIO_read(next, buf, len);
	BIO_clear_retry_flags(b);
	BIO_copy_next_retry(b);
	if (n <= 0 || BIO_get_data(b) != NULL)
		return (n);
	BIO_set_data(b, b);	/* seen */
	if ((unsigned char)buf[0] == TLS_HANDSHAKE)
		return (n);
	plain_http_400(next);
	return (-1);
}

static int
sniff_write(BIO *b, const char *buf, int len)
{
	int	 n;

	if (BIO_next(b) == NULL)
		return (0);
	n = BIO_write(BIO_next(b), buf, len);
	BIO_clear_retry_flags(b);
	BIO_copy_next_retry(b);
	return (n);
}

static long
sniff_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	if (BIO_next(b) == NULL)
		return (0);
	return (BIO_ctrl(BIO_next(b), cmd, num, ptr));
}

static int
sniff_create(BIO *b)
{
	BIO_set_init(b, 1);
	return (1);
}

static BIO *
sniff_bio(int fd)
{
	BIO	*f, *sock;

	if (sniff_method == NULL) {
		if ((sniff_method = BIO_meth_new(BIO_get_new_index() |
		    BIO_TYPE_FILTER, "regd first byte")) == NULL)
			return (NULL);
		BIO_meth_set_read(sniff_method, sniff_read);
		BIO_meth_set_write(sniff_method, sniff_write);
		BIO_meth_set_ctrl(sniff_method, sniff_ctrl);
		BIO_meth_set_create(sniff_method, sniff_create);
	}
	if ((f = BIO_new(sniff_method)) == NULL)
		return (NULL);
	if ((sock = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL) {
		BIO_free(f);
		return (NULL);
	}
	return (BIO_push(f, sock));
}

/* A server-side TLS bufferevent on an accepted socket, NULL on failure. */
struct bufferevent *
tls_bufferevent(struct event_base *base, struct server_conf *srv, int fd)
{
	struct bufferevent	*bev;
	SSL			*ssl;
	BIO			*bio;

	if (srv->tls_ctx == NULL || (ssl = SSL_new(srv->tls_ctx)) == NULL) {
		ERR_clear_error();
		return (NULL);
	}
	if ((bio = sniff_bio(fd)) == NULL) {
		SSL_free(ssl);
		ERR_clear_error();
		return (NULL);
	}
	SSL_set_bio(ssl, bio, bio);
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return (NULL);
	}
	/* Clients often close without a close_notify: that is an EOF. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (bev);
}

/*
 * Say close_notify before a clean close (the answer is out, or the
 * connection was idle), as nginx does: an OpenSSL client takes a close
 * without it for a truncation and drops the session, so that it could
 * not resume.  The peer's close_notify is not waited for.
 */
void
tls_close_notify(struct bufferevent *bev)
{
	SSL	*ssl;

	if ((ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return;
	if (SSL_is_init_finished(ssl) &&
	    (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		SSL_shutdown(ssl);
	ERR_clear_error();
}

/*
 * Write what buf holds with SSL_write at once, a record of at most
 * TLS_RECORD_MAX bytes at a time, draining what went.  Returns 0 when
 * all of it went, -1 when some is left: the socket was full or the write
 * failed.  The caller hands what is left to the bufferevent, whose
 * SSL_write then retries the same bytes (libevent sets
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, and the bytes are at least as
 * many as in the call that did not finish) or meets the error again and
 * reports it from the event loop.
 */
int
tls_write_now(struct bufferevent *bev, struct evbuffer *buf)
{
	SSL		*ssl;
	unsigned char	*p;
	size_t		 n;
	int		 r;

	if ((ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    !SSL_is_init_finished(ssl))
		return (-1);
	while ((n = evbuffer_get_length(buf)) > 0) {
		if (n > TLS_RECORD_MAX)
			n = TLS_RECORD_MAX;
		if ((p = evbuffer_pullup(buf, n)) == NULL)
			return (-1);
		ERR_clear_error();
		r = SSL_write(ssl, p, n);
		if (r <= 0) {
			ERR_clear_error();
			return (-1);
		}
		evbuffer_drain(buf, r);
	}
	return (0);
}
