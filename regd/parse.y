/*
 * regd.conf grammar and lexer.
 *
 * The file is a list of newline-terminated statements: global settings,
 * macro definitions (name = "value", used as $name) and server blocks.
 * Every error is printed as "file:line: message" on stderr and parsing
 * goes on at the next line, so one run reports all of them.
 */

%{
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regd.h"

#define LEX_BUFSIZE	8192	/* longest word or quoted string */
#define LEX_PUSHBACK	8192	/* room for one expanded macro */
#define MACRO_CHAR	0x100	/* pushed-back byte came from a macro */

#define MAX_TIMEOUT	86400
#define MAX_CONNS	1000000
#define MAX_NHEADERS	10000
#define MAX_LIMIT_SIZE	(1024 * 1024)
#define MIN_LIMIT_SIZE	256
#define MAX_MANIFEST	MAX_MANIFEST_SIZE

struct file {
	FILE		*stream;
	const char	*name;
	int		 lineno;
	int		 errors;
	int		 nl_pending;	/* bump lineno before the next token */
	int		 eof_nl;	/* the '\n' ending the last line sent */
};

struct macro {
	TAILQ_ENTRY(macro)	 entry;
	char			*name;
	char			*value;
};
TAILQ_HEAD(macrolist, macro);

struct keyword {
	const char	*k_name;
	int		 k_val;
};

typedef struct {
	union {
		int64_t		 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED 1

static struct file		*file;
static struct regd_conf		*conf;
static struct server_conf	*srv;
static struct macrolist		 macros = TAILQ_HEAD_INITIALIZER(macros);
static int			 srv_tls_line;	/* first "listen ... tls" */
static int			 srv_listen_err; /* a "listen" was refused */
static int			 cert_line, key_line;
static char			*cur_group;	/* group being defined */
static char			 autherr[512];	/* auth_*() and tls_*() */

/* Lexer state, kept so errors can name the token they stopped at. */
static int	 pushbuf[LEX_PUSHBACK];
static int	 npush;
static int	 lastc_macro;
static int	 lexerr;	/* the lexer already reported this token */
static int	 tok_cur;	/* the token yylex returned last */
static int	 tok_prev;
static int	 tok_stmt;	/* tok_cur began a statement */
static int	 tok_bare;	/* tok_cur was an unquoted word */
static int	 depth;		/* open braces */
static int	 conn_depth;	/* depth of a "connection {" block, or 0 */
static char	 tok_text[64];

int		 yylex(void);
int		 yyparse(void);
static void	 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static void	 lineerror(int, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static void	 vlineerror(int, const char *, va_list)
		    __attribute__((__format__ (printf, 2, 0)));
static int	 kw_cmp(const void *, const void *);
static int	 lookup(const char *);
static int	 lgetc(void);
static void	 lungetc(int);
static int	 word_char(int);
static int	 lex_string(int);
static int	 lex_word(int);
static void	 dump_store(const struct store_conf *);
static int	 next_is_equal(void);
static int	 expand_macro(void);
static int	 macro_set(char *, char *);
static void	 macros_free(void);
static void	 set_string(char *, size_t, char *, const char *, int);
static void	 set_path(char *, size_t, char *, const char *);
static void	 set_file(char *, size_t, char *, const char *, int *);
static int	 check_range(int64_t, int64_t, int64_t, const char *);
static void	 s3_secret(char *);
static void	 s3_check(void);
static void	 dump_s3(const struct regd_conf *);
static struct regd_conf	*conf_new(void);
static struct server_conf *server_new(struct regd_conf *, const char *);
static void	 server_end(struct server_conf *, int);
static int	 listen_add(struct server_conf *, const char *, int64_t, int,
		    int);
static int	 listen_name(struct listen_addr *);
static int	 online_cpus(void);
static int	 parse_duration(const char *, int64_t *);
static void	 quota_add(struct regd_conf *, int64_t, const char *);
static struct retain_rule *retain_add(struct regd_conf *, const char *);
static void	 dump_duration(int64_t);
static struct retain_rule	*cur_retain;	/* retention being defined */
static int	 metrics_line;		/* where "metrics {" began */
static void	 metrics_rule(int, int);
static void	 dump_metrics(struct regd_conf *);
static struct notify_endpoint	*cur_ep;	/* notify being defined */
static void	 notify_err(int);
static void	 dump_string(const char *);
static void	 dump_size(size_t);
static struct mirror_up *upstream_new(struct regd_conf *, const char *);
static void	 mircache_limit(struct regd_conf *,
		    const struct mirror_up *);
static void	 upstream_end(struct mirror_up *, int);
static void	 upstream_url(struct mirror_up *, char *);
static void	 upstream_creds(struct mirror_up *, char *);
static void	 mirror_add(struct server_conf *, const char *, int, char *,
		    int);
static void	 dump_mirrors(struct regd_conf *, struct server_conf *);
static struct mirror_up		*cur_up;	/* upstream being defined */
%}

%token	ACCESS BODY CERTIFICATE CHROOT CONNECTION CONNECTIONS DELETE
%token	HEADER HEADERS IDLE KEY LINE LISTEN LOG MANIFEST MAX NO OFF ON PORT
%token	PREFORK REQUEST SERVER SIZE SOCKET STORAGE SYSLOG TIMEOUT TLS USER
%token	VERBOSE YES ERROR DRAIN
%token	ADDRESS ALLOW ANY AUTHENTICATE BLOCK CIPHERS DENY FAILURES FROM
%token	GROUP ISSUER LOGIN PER PROTOCOLS PROXY PULL PUSH REALM SERVICE TOKEN
%token	TRUSTED WITH MOUNT WITHOUT
%token	AGE GC GRACE KEEP LAST MATCHING OLDER QUOTA RETENTION SCHEDULE TAGS
%token	THAN UNTAGGED UPLOADS UPLOAD CLIENT MODE SHARED
%token	METRICS HEALTH FREE SPACE REPOSITORY LABELS
%token	NOTIFY QUEUE URL BACKOFF EVENTS
%token	UPSTREAM CREDENTIALS CA FILE TAG TTL CACHE MIRROR PREFIX NS
%token	S3 ENDPOINT REGION BUCKET ROOT PATH STYLE SECRET
%token	REDIRECT PRESIGN EXPIRY PRIVATE
%token	<v.string>	STRING VARNAME
%token	<v.number>	NUMBER
%type	<v.number>	duration optuntagged
%type	<v.number>	size yesno optport opttls actions action who
%type	<v.number>	optpush
%type	<v.string>	optrepo
%type	<v.number>	nactions naction
%destructor	{ free($$); } <v.string>
%%

grammar		: /* empty */
		| grammar '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar server '\n'
		| grammar notify '\n'
		| grammar upstream '\n'
		| grammar error '\n'		{ yyerrok; }
		;

varset		: VARNAME '=' STRING {
			if (macro_set($1, $3) == -1)
				yyerror("macro %s: %s", $1, strerror(errno));
		}
		| VARNAME '=' NUMBER {
			char	 num[32], *s;

			snprintf(num, sizeof(num), "%lld", (long long)$3);
			if ((s = strdup(num)) == NULL || macro_set($1, s) == -1)
				yyerror("macro %s: %s", $1, strerror(errno));
		}
		;

main		: USER STRING {
			set_string(conf->user, sizeof(conf->user), $2,
			    "user name", 0);
		}
		| CHROOT STRING {
			set_path(conf->chroot, sizeof(conf->chroot), $2,
			    "chroot");
		}
		| PREFORK NUMBER {
			if (check_range($2, 1, REGD_MAXPREFORK,
			    "prefork") == 0)
				conf->prefork = $2;
		}
		| STORAGE STRING {
			set_path(conf->storage, sizeof(conf->storage), $2,
			    "storage");
		}
		| STORAGE S3 {
			memset(&conf->s3, 0, sizeof(conf->s3));
			conf->s3.on = 1;
			conf->s3.path_style = 1;
			conf->s3.presign_expiry = DEF_PRESIGN_EXPIRY;
			conf->s3.cache_size = DEF_S3_CACHE_SIZE;
		} '{' optnl s3lines s3last '}' {
			s3_check();
		}
		| STORAGE MODE NUMBER {
			int64_t	 m = 0, d, v = $3, bit = 1;

			/* Written in octal: 750 or 0750 are 0750. */
			while (v > 0 && m >= 0) {
				if ((d = v % 10) > 7)
					m = -1;
				else
					m += d * bit;
				bit *= 8;
				v /= 10;
			}
			if (m < 0 || (m & ~0777) != 0 || (m & 0700) != 0700)
				yyerror("bad storage mode %lld: octal, from "
				    "700 to 777", (long long)$3);
			else
				conf->store.mode = m;
		}
		| STORAGE SHARED yesno {
			conf->store.shared = $3;
		}
		| SOCKET STRING {
			set_path(conf->socket, sizeof(conf->socket), $2,
			    "socket");
		}
		| LOG ACCESS STRING {
			set_path(conf->access_log, sizeof(conf->access_log),
			    $3, "access log");
			conf->access_log_line = file->lineno;
			conf->access_syslog = 0;
			conf->access_off = 0;
		}
		| LOG ACCESS SYSLOG {
			conf->access_log[0] = '\0';
			conf->access_syslog = 1;
			conf->access_off = 0;
		}
		| LOG ACCESS OFF {
			conf->access_log[0] = '\0';
			conf->access_syslog = 0;
			conf->access_off = 1;
		}
		| LOG VERBOSE {
			conf->verbose = 1;
		}
		| DRAIN TIMEOUT duration {
			if ($3 >= 0 && check_range($3, 1, MAX_TIMEOUT,
			    "drain timeout") == 0)
				conf->drain_timeout = $3;
		}
		| GC SCHEDULE duration optuntagged {
			if ($3 >= 0) {
				conf->store.gc_schedule = $3;
				conf->store.gc_untagged = $4;
			}
		}
		| GC GRACE duration {
			if ($3 >= 0)
				conf->store.gc_grace = $3;
		}
		| GC UPLOADS MAX AGE duration {
			if ($5 >= 0)
				conf->store.upload_maxage = $5;
		}
		| UPLOAD TIMEOUT duration {
			if ($3 >= 0 && check_range($3, 1, 7 * 86400,
			    "upload timeout") == 0)
				conf->store.upload_timeout = $3;
		}
		| MAX UPLOADS NUMBER {
			if (check_range($3, 1, MAX_UPLOADS_LIMIT,
			    "max uploads") == 0)
				conf->store.max_uploads = $3;
		}
		| MAX UPLOADS PER CLIENT NUMBER {
			if (check_range($5, 1, MAX_UPLOADS_LIMIT,
			    "max uploads per client") == 0)
				conf->store.max_uploads_client = $5;
		}
		| QUOTA size {
			quota_add(conf, $2, NULL);
		}
		| QUOTA size ON STRING {
			quota_add(conf, $2, $4);
			free($4);
		}
		| RETENTION STRING {
			/* $2 is freed at the end: on an error, by bison. */
			cur_retain = retain_add(conf, $2);
		} '{' optnl retlines retlast '}' {
			cur_retain = NULL;
			free($2);
		}
		| METRICS {
			if (conf->metrics != NULL)
				yyerror("metrics defined twice");
			else if ((srv = server_new(conf, "metrics")) != NULL) {
				srv->metrics = 1;
				conf->metrics = srv;
			}
			srv_listen_err = 0;
			metrics_line = file->lineno;
		} '{' optnl metlines metlast '}' {
			if (srv != NULL && TAILQ_EMPTY(&srv->listens) &&
			    !srv_listen_err)
				lineerror(metrics_line, "metrics has no listen "
				    "on");
			srv = NULL;
		}
		| GROUP STRING {
			cur_group = $2;
			if (auth_group_add(conf, $2, NULL, autherr,
			    sizeof(autherr)) == -1)
				yyerror("%s", autherr);
		} '{' optnl members '}' {
			cur_group = NULL;
			free($2);
		}
		;

notify		: NOTIFY QUEUE STRING {
			if (notify_conf_queue(conf, $3, file->lineno, autherr,
			    sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($3);
		}
		| NOTIFY STRING {
			/* $2 is freed at the end: on an error, by bison. */
			if ((cur_ep = notify_conf_add(conf, $2, file->lineno,
			    autherr, sizeof(autherr))) == NULL)
				yyerror("%s", autherr);
		} '{' optnl eplines eplast '}' {
			cur_ep = NULL;
			free($2);
		}
		;

eplines		: /* empty */
		| eplines epopt '\n' optnl
		;

eplast		: /* empty */
		| epopt
		;

epopt		: URL STRING {
			if (cur_ep != NULL)
				notify_err(notify_conf_url(cur_ep, $2, autherr,
				    sizeof(autherr)));
			free($2);
		}
		| HEADER STRING STRING {
			if (cur_ep != NULL)
				notify_err(notify_conf_header(cur_ep, $2, $3,
				    autherr, sizeof(autherr)));
			free($2);
			free($3);
		}
		| TIMEOUT duration {
			if ($2 >= 0 && check_range($2, 1, 600,
			    "notify timeout") == 0 && cur_ep != NULL)
				cur_ep->timeout = $2;
		}
		| BACKOFF duration {
			if ($2 >= 0 && check_range($2, 1, MAX_TIMEOUT,
			    "notify backoff") == 0 && cur_ep != NULL)
				cur_ep->backoff = $2;
		}
		| BACKOFF duration MAX duration {
			if ($2 < 0 || $4 < 0 || check_range($2, 1,
			    MAX_TIMEOUT, "notify backoff") == -1 ||
			    check_range($4, 1, MAX_TIMEOUT,
			    "notify backoff max") == -1)
				;
			else if ($4 < $2)
				yyerror("notify backoff max %llds is below "
				    "the first backoff %llds", (long long)$4,
				    (long long)$2);
			else if (cur_ep != NULL) {
				cur_ep->backoff = $2;
				cur_ep->backoff_max = $4;
			}
		}
		| EVENTS nactions {
			if (cur_ep != NULL)
				cur_ep->actions = $2;
		}
		| REPOSITORY STRING {
			if (cur_ep != NULL)
				notify_err(notify_conf_repo(cur_ep, $2, autherr,
				    sizeof(autherr)));
			free($2);
		}
		| QUEUE SIZE size {
			if ($3 != -1 && check_range($3, 64 * 1024,
			    (int64_t)64 * 1024 * 1024 * 1024,
			    "notify queue size") == 0 && cur_ep != NULL)
				cur_ep->queue_max = $3;
		}
		;

nactions	: naction			{ $$ = $1; }
		| nactions ',' naction		{ $$ = $1 | $3; }
		;

naction		: PUSH				{ $$ = NACT_PUSH; }
		| PULL				{ $$ = NACT_PULL; }
		| DELETE			{ $$ = NACT_DELETE; }
		| MOUNT				{ $$ = NACT_MOUNT; }
		;

members		: /* empty */
		| members STRING optcommanl {
			if (auth_group_add(conf, cur_group, $2, autherr,
			    sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($2);
		}
		;

server		: SERVER STRING {
			srv_tls_line = cert_line = key_line = 0;
			srv_listen_err = 0;
			srv = server_new(conf, $2);
		} '{' srvlines srvlast '}' {
			server_end(srv, file->lineno);
			srv = NULL;
			free($2);
		}
		;

upstream	: UPSTREAM STRING {
			cur_up = upstream_new(conf, $2);
			free($2);
		} '{' uplines uplast '}' {
			upstream_end(cur_up, file->lineno);
			cur_up = NULL;
		}
		;

uplines		: /* empty */
		| uplines '\n'
		| uplines upopt '\n'
		| uplines error '\n'		{ yyerrok; }
		;

uplast		: /* empty */
		| upopt
		;

upopt		: URL STRING {
			upstream_url(cur_up, $2);
		}
		| CREDENTIALS STRING {
			upstream_creds(cur_up, $2);
		}
		| CA FILE STRING {
			int	 line;

			if (cur_up != NULL)
				set_file(cur_up->ca, sizeof(cur_up->ca), $3,
				    "ca file", &line);
			else
				free($3);
		}
		| TAG TTL duration {
			if ($3 >= 0 && check_range($3, 0, 365 * 86400,
			    "tag ttl") == 0 && cur_up != NULL)
				cur_up->tag_ttl = $3;
		}
		| CACHE SIZE size {
			if ($3 >= 0 && cur_up != NULL) {
				cur_up->cache_size = $3;
				mircache_limit(conf, cur_up);
			}
		}
		| MAX CONNECTIONS NUMBER {
			if (check_range($3, 1, 256, "max connections") == 0 &&
			    cur_up != NULL)
				cur_up->max_conns = $3;
		}
		| TIMEOUT duration {
			if ($2 >= 0 && check_range($2, 1, MAX_TIMEOUT,
			    "timeout") == 0 && cur_up != NULL)
				cur_up->timeout = $2;
		}
		| REDIRECT PRIVATE yesno {
			if (cur_up != NULL)
				cur_up->redirect_private = $3;
		}
		;

optpush		: /* empty */			{ $$ = 0; }
		| ALLOW PUSH			{ $$ = 1; }
		;

srvlines	: /* empty */
		| srvlines '\n'
		| srvlines serveropt '\n'
		| srvlines error '\n'		{ yyerrok; }
		;

srvlast		: /* empty */
		| serveropt
		;

serveropt	: MIRROR STRING optpush {
			mirror_add(srv, $2, MIRM_SERVER, NULL, $3);
			free($2);
		}
		| MIRROR STRING PREFIX STRING optpush {
			mirror_add(srv, $2, MIRM_PREFIX, $4, $5);
			free($2);
		}
		| MIRROR STRING NS STRING optpush {
			mirror_add(srv, $2, MIRM_NS, $4, $5);
			free($2);
		}
		| LISTEN ON STRING optport opttls {
			if ($4 == -1 || (srv != NULL && listen_add(srv, $3, $4,
			    $5, file->lineno) == -1))
				srv_listen_err = 1;
			free($3);
		}
		| TLS CERTIFICATE STRING {
			if (srv != NULL)
				set_file(srv->tls_cert, sizeof(srv->tls_cert),
				    $3, "tls certificate", &cert_line);
		}
		| TLS KEY STRING {
			if (srv != NULL)
				set_file(srv->tls_key, sizeof(srv->tls_key),
				    $3, "tls key", &key_line);
		}
		| DELETE yesno {
			if (srv != NULL)
				srv->delete_enabled = $2;
		}
		| MOUNT WITHOUT FROM yesno {
			if (srv != NULL)
				srv->mount_nofrom = $4;
		}
		| TLS PROTOCOLS STRING {
			if (tls_check_protocols($3) == -1) {
				yyerror("bad tls protocols \"%s\"", $3);
				free($3);
			} else if (srv != NULL)
				set_string(srv->tls_protocols,
				    sizeof(srv->tls_protocols), $3,
				    "tls protocols", 0);
			else
				free($3);
		}
		| TLS CIPHERS STRING {
			if (srv != NULL)
				set_string(srv->tls_ciphers,
				    sizeof(srv->tls_ciphers), $3,
				    "tls ciphers", 0);
			else
				free($3);
		}
		| AUTHENTICATE WITH STRING {
			if (srv != NULL && auth_htpasswd(srv, NULL, $3,
			    autherr, sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($3);
		}
		| AUTHENTICATE STRING WITH STRING {
			if (srv != NULL && auth_htpasswd(srv, $2, $4,
			    autherr, sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($2);
			free($4);
		}
		| AUTHENTICATE WITH TOKEN REALM STRING SERVICE STRING
		    ISSUER STRING CERTIFICATE STRING {
			if (srv != NULL && auth_token(srv, $5, $7, $9, $11,
			    autherr, sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($5);
			free($7);
			free($9);
			free($11);
		}
		| ALLOW actions optrepo FROM who {
			if (srv != NULL && auth_rule(srv, 0, $2, $3, $5,
			    cur_group, autherr, sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($3);
			free(cur_group);
			cur_group = NULL;
		}
		| DENY actions optrepo FROM who {
			if (srv != NULL && auth_rule(srv, 1, $2, $3, $5,
			    cur_group, autherr, sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($3);
			free(cur_group);
			cur_group = NULL;
		}
		| MAX LOGIN FAILURES NUMBER {
			if (srv != NULL && check_range($4, 1, 1000000,
			    "max login failures") == 0)
				srv->max_login_failures = $4;
		}
		| LOGIN BLOCK duration {
			if (srv != NULL && $3 >= 0 && check_range($3, 1,
			    MAX_TIMEOUT, "login block") == 0)
				srv->login_block = $3;
		}
		| MAX CONNECTIONS PER ADDRESS NUMBER {
			if (srv != NULL && check_range($5, 1, MAX_CONNS,
			    "max connections per address") == 0)
				srv->max_conns_addr = $5;
			auth_init();
		}
		| TRUSTED PROXY STRING {
			if (srv != NULL && auth_proxy(srv, $3, autherr,
			    sizeof(autherr)) == -1)
				yyerror("%s", autherr);
			free($3);
		}
		| MAX MANIFEST SIZE size {
			if (srv != NULL && $4 != -1 &&
			    check_range($4, 1, MAX_MANIFEST,
			    "max manifest size") == 0)
				srv->max_manifest = $4;
		}
		| MAX REQUEST LINE size {
			if (srv != NULL && $4 != -1 &&
			    check_range($4, MIN_LIMIT_SIZE, MAX_LIMIT_SIZE,
			    "max request line") == 0)
				srv->max_reqline = $4;
		}
		| MAX HEADER SIZE size {
			if (srv != NULL && $4 != -1 &&
			    check_range($4, MIN_LIMIT_SIZE, MAX_LIMIT_SIZE,
			    "max header size") == 0)
				srv->max_headers = $4;
		}
		| MAX HEADERS NUMBER {
			if (srv != NULL && check_range($3, 1, MAX_NHEADERS,
			    "max headers") == 0)
				srv->max_nheaders = $3;
		}
		| CONNECTION '{' optnl connopts '}'
		| CONNECTION connopt
		;

connopts	: connopts connopt optcommanl
		| connopt optcommanl
		;

connopt		: HEADER TIMEOUT duration {
			if (srv != NULL && $3 >= 0 && check_range($3, 1,
			    MAX_TIMEOUT, "header timeout") == 0)
				srv->header_timeout = $3;
		}
		| IDLE TIMEOUT duration {
			if (srv != NULL && $3 >= 0 && check_range($3, 1,
			    MAX_TIMEOUT, "idle timeout") == 0)
				srv->idle_timeout = $3;
		}
		| BODY TIMEOUT duration {
			if (srv != NULL && $3 >= 0 && check_range($3, 1,
			    MAX_TIMEOUT, "body timeout") == 0)
				srv->body_timeout = $3;
		}
		| MAX CONNECTIONS NUMBER {
			if (srv != NULL && check_range($3, 1, MAX_CONNS,
			    "max connections") == 0)
				srv->max_conns = $3;
		}
		;

optport		: /* empty */			{ $$ = REGD_PORT; }
		| PORT NUMBER {
			if ($2 < 1 || $2 > 65535) {
				yyerror("bad port %lld: must be 1 to 65535",
				    (long long)$2);
				$$ = -1;
			} else
				$$ = $2;
		}
		;

actions		: action			{ $$ = $1; }
		| actions ',' action		{ $$ = $1 | $3; }
		;

action		: PULL				{ $$ = AUTH_PULL; }
		| PUSH				{ $$ = AUTH_PUSH; }
		| DELETE			{ $$ = AUTH_DELETE; }
		;

optrepo		: /* empty */			{ $$ = NULL; }
		| ON STRING			{ $$ = $2; }
		;

who		: ANY {
			cur_group = NULL;
			$$ = WHO_ANY;
		}
		| USER STRING {
			cur_group = $2;
			$$ = WHO_USER;
		}
		| GROUP STRING {
			cur_group = $2;
			$$ = WHO_GROUP;
		}
		| ADDRESS STRING {
			cur_group = $2;
			$$ = WHO_ADDR;
		}
		;

opttls		: /* empty */			{ $$ = 0; }
		| TLS				{ $$ = 1; }
		;

yesno		: YES				{ $$ = 1; }
		| NO				{ $$ = 0; }
		;

size		: NUMBER {
			if ($1 < 0) {
				yyerror("bad size %lld", (long long)$1);
				$$ = -1;
			} else
				$$ = $1;
		}
		| STRING {
			if (parse_size($1, &$$) == -1) {
				yyerror("bad size \"%s\": bytes or a number "
				    "with K, M or G", $1);
				$$ = -1;
			}
			free($1);
		}
		;

s3lines		: /* empty */
		| s3lines s3opt '\n' optnl
		;

s3last		: /* empty */
		| s3opt
		;

s3opt		: ENDPOINT STRING {
			if (strncmp($2, "https://", 8) != 0 &&
			    strncmp($2, "http://", 7) != 0)
				yyerror("endpoint \"%s\": not an http:// or "
				    "https:// URL", $2);
			set_string(conf->s3.endpoint,
			    sizeof(conf->s3.endpoint), $2, "endpoint", 0);
		}
		| REGION STRING {
			set_string(conf->s3.region, sizeof(conf->s3.region),
			    $2, "region", 0);
		}
		| BUCKET STRING {
			if ($2[0] == '\0' || strspn($2,
			    "abcdefghijklmnopqrstuvwxyz0123456789.-") !=
			    strlen($2) || strlen($2) < 3)
				yyerror("bucket \"%s\": not a bucket name "
				    "(3 to 63 of a-z, 0-9, '.' and '-')", $2);
			set_string(conf->s3.bucket, sizeof(conf->s3.bucket),
			    $2, "bucket", 0);
		}
		| ROOT STRING {
			if (strstr($2, "..") != NULL || strchr($2, '\\') !=
			    NULL)
				yyerror("root \"%s\": no \"..\" or '\\' "
				    "in it", $2);
			set_string(conf->s3.root, sizeof(conf->s3.root), $2,
			    "root", 1);
		}
		| PATH STYLE yesno {
			conf->s3.path_style = $3;
		}
		| ACCESS KEY STRING {
			set_string(conf->s3.access_key,
			    sizeof(conf->s3.access_key), $3, "access key", 0);
		}
		| SECRET FILE STRING {
			s3_secret($3);
		}
		| CA FILE STRING {
			int	 line;

			set_file(conf->s3.ca_file, sizeof(conf->s3.ca_file),
			    $3, "ca file", &line);
		}
		| CACHE STRING SIZE size {
			set_path(conf->storage, sizeof(conf->storage), $2,
			    "cache");
			if ($4 >= 0 && $4 < 1024 * 1024)
				yyerror("cache size %lld: at least 1M",
				    (long long)$4);
			else if ($4 >= 0)
				conf->s3.cache_size = $4;
		}
		| REDIRECT yesno {
			conf->s3.redirect = $2;
		}
		| PRESIGN EXPIRY duration {
			if ($3 >= 0 && check_range($3, 1, 7 * 86400,
			    "presign expiry") == 0)
				conf->s3.presign_expiry = $3;
		}
		;

retlines	: /* empty */
		| retlines retopt '\n' optnl
		;

retlast		: /* empty */
		| retopt
		;

retopt		: KEEP LAST NUMBER {
			if (check_range($3, 0, INT_MAX, "keep last") == 0 &&
			    cur_retain != NULL)
				cur_retain->keep_last = $3;
		}
		| KEEP TAGS MATCHING STRING {
			if (cur_retain == NULL)
				;
			else if (cur_retain->nglobs >= MAX_KEEPGLOBS)
				yyerror("too many \"keep tags matching\" lines, "
				    "at most %d", MAX_KEEPGLOBS);
			else if (strlcpy(cur_retain->globs[cur_retain->nglobs],
			    $4, sizeof(cur_retain->globs[0])) >=
			    sizeof(cur_retain->globs[0]))
				yyerror("tag pattern too long");
			else
				cur_retain->nglobs++;
			free($4);
		}
		| DELETE TAGS OLDER THAN duration {
			if ($5 >= 0 && cur_retain != NULL)
				cur_retain->older_than = $5;
		}
		;

metlines	: /* empty */
		| metlines metopt '\n' optnl
		;

metlast		: /* empty */
		| metopt
		;

metopt		: LISTEN ON STRING optport {
			if ($4 == -1 || (srv != NULL && listen_add(srv, $3, $4,
			    0, file->lineno) == -1))
				srv_listen_err = 1;
			free($3);
		}
		| ALLOW FROM who {
			metrics_rule(0, $3);
		}
		| DENY FROM who {
			metrics_rule(1, $3);
		}
		| HEALTH TIMEOUT duration {
			if ($3 >= 0 && check_range($3, 1, 3600,
			    "health timeout") == 0)
				conf->health_timeout = $3;
		}
		| HEALTH FREE SPACE size {
			if ($4 >= 0)
				conf->health_free = $4;
		}
		| PER REPOSITORY LABELS NUMBER {
			if (check_range($4, 1, MX_MAXREPOS,
			    "per repository labels") == 0)
				conf->metrics_repos = $4;
		}
		;

optuntagged	: /* empty */			{ $$ = 0; }
		| UNTAGGED			{ $$ = 1; }
		;

duration	: NUMBER {
			if ($1 < 0) {
				yyerror("bad duration %lld", (long long)$1);
				$$ = -1;
			} else
				$$ = $1;
		}
		| STRING {
			if (parse_duration($1, &$$) == -1) {
				yyerror("bad duration \"%s\": seconds or a "
				    "number with s, m, h, d or w", $1);
				$$ = -1;
			}
			free($1);
		}
		;

optnl		: /* empty */
		| optnl '\n'
		;

optcommanl	: /* empty */
		| ',' optnl
		| '\n' optnl
		;

%%

static const struct keyword keywords[] = {
	{ "access",		ACCESS },
	{ "address",		ADDRESS },
	{ "age",		AGE },
	{ "allow",		ALLOW },
	{ "any",		ANY },
	{ "authenticate",	AUTHENTICATE },
	{ "backoff",		BACKOFF },
	{ "block",		BLOCK },
	{ "body",		BODY },
	{ "bucket",		BUCKET },
	{ "ca",			CA },
	{ "cache",		CACHE },
	{ "certificate",	CERTIFICATE },
	{ "chroot",		CHROOT },
	{ "ciphers",		CIPHERS },
	{ "client",		CLIENT },
	{ "connection",		CONNECTION },
	{ "connections",	CONNECTIONS },
	{ "credentials",	CREDENTIALS },
	{ "delete",		DELETE },
	{ "deny",		DENY },
	{ "drain",		DRAIN },
	{ "endpoint",		ENDPOINT },
	{ "events",		EVENTS },
	{ "expiry",		EXPIRY },
	{ "failures",		FAILURES },
	{ "file",		FILE },
	{ "free",		FREE },
	{ "from",		FROM },
	{ "gc",			GC },
	{ "grace",		GRACE },
	{ "group",		GROUP },
	{ "header",		HEADER },
	{ "headers",		HEADERS },
	{ "health",		HEALTH },
	{ "idle",		IDLE },
	{ "issuer",		ISSUER },
	{ "keep",		KEEP },
	{ "key",		KEY },
	{ "labels",		LABELS },
	{ "last",		LAST },
	{ "line",		LINE },
	{ "listen",		LISTEN },
	{ "log",		LOG },
	{ "login",		LOGIN },
	{ "manifest",		MANIFEST },
	{ "matching",		MATCHING },
	{ "max",		MAX },
	{ "metrics",		METRICS },
	{ "mirror",		MIRROR },
	{ "mode",		MODE },
	{ "mount",		MOUNT },
	{ "no",			NO },
	{ "notify",		NOTIFY },
	{ "ns",			NS },
	{ "off",		OFF },
	{ "older",		OLDER },
	{ "on",			ON },
	{ "path",		PATH },
	{ "per",		PER },
	{ "port",		PORT },
	{ "prefix",		PREFIX },
	{ "prefork",		PREFORK },
	{ "presign",		PRESIGN },
	{ "private",		PRIVATE },
	{ "protocols",		PROTOCOLS },
	{ "proxy",		PROXY },
	{ "pull",		PULL },
	{ "push",		PUSH },
	{ "queue",		QUEUE },
	{ "quota",		QUOTA },
	{ "realm",		REALM },
	{ "redirect",		REDIRECT },
	{ "region",		REGION },
	{ "repository",		REPOSITORY },
	{ "request",		REQUEST },
	{ "retention",		RETENTION },
	{ "root",		ROOT },
	{ "s3",			S3 },
	{ "schedule",		SCHEDULE },
	{ "secret",		SECRET },
	{ "server",		SERVER },
	{ "service",		SERVICE },
	{ "shared",		SHARED },
	{ "size",		SIZE },
	{ "socket",		SOCKET },
	{ "space",		SPACE },
	{ "storage",		STORAGE },
	{ "style",		STYLE },
	{ "syslog",		SYSLOG },
	{ "tag",		TAG },
	{ "tags",		TAGS },
	{ "than",		THAN },
	{ "timeout",		TIMEOUT },
	{ "tls",		TLS },
	{ "token",		TOKEN },
	{ "trusted",		TRUSTED },
	{ "ttl",		TTL },
	{ "untagged",		UNTAGGED },
	{ "upload",		UPLOAD },
	{ "uploads",		UPLOADS },
	{ "upstream",		UPSTREAM },
	{ "url",		URL },
	{ "user",		USER },
	{ "verbose",		VERBOSE },
	{ "with",		WITH },
	{ "without",		WITHOUT },
	{ "yes",		YES },
};

static void
vlineerror(int line, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s:%d: ", file->name, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	file->errors++;
}

static void
lineerror(int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlineerror(line, fmt, ap);
	va_end(ap);
}

/*
 * Called by the actions and by the parser itself, which only ever says
 * "syntax error": that one is made more useful by naming the token, or
 * dropped when the lexer has already explained what was wrong with it.
 */
static void
yyerror(const char *fmt, ...)
{
	va_list	 ap;

	if (strcmp(fmt, "syntax error") == 0) {
		if (lexerr) {
			lexerr = 0;
			return;
		}
		if (tok_cur == STRING && tok_bare && tok_stmt)
			lineerror(file->lineno, "unknown keyword \"%s\"",
			    tok_text);
		else if (tok_cur == '\n')
			lineerror(file->lineno,
			    "syntax error at end of line");
		else if (tok_cur == 0)
			lineerror(file->lineno,
			    "syntax error at end of file");
		else
			lineerror(file->lineno, "syntax error near \"%s\"",
			    tok_text);
		return;
	}
	va_start(ap, fmt);
	vlineerror(file->lineno, fmt, ap);
	va_end(ap);
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keyword *)e)->k_name));
}

static int
lookup(const char *s)
{
	const struct keyword	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	return (p == NULL ? STRING : p->k_val);
}

static int
lgetc(void)
{
	int	 c;

	if (npush > 0) {
		c = pushbuf[--npush];
		lastc_macro = (c & MACRO_CHAR) != 0;
		return (c & 0xff);
	}
	lastc_macro = 0;
	return (getc(file->stream));
}

static void
lungetc(int c)
{
	/* Reading past EOF keeps giving EOF, so it needs no slot. */
	if (c == EOF || npush >= LEX_PUSHBACK)
		return;
	pushbuf[npush++] = c | (lastc_macro ? MACRO_CHAR : 0);
}

static int
word_char(int c)
{
	if (c == EOF)
		return (0);
	return (isalnum(c) || strchr("._-:/*+@%~[]", c) != NULL);
}

/* After a word: is the next thing on the line a '=' (a macro definition)? */
static int
next_is_equal(void)
{
	int	 blanks[64], n = 0, c, eq;

	while ((c = lgetc()) == ' ' || c == '\t') {
		if (n < (int)(sizeof(blanks) / sizeof(blanks[0])))
			blanks[n++] = c;
	}
	eq = (c == '=');
	lungetc(c);
	while (n > 0)
		lungetc(blanks[--n]);
	return (eq);
}

/*
 * "$name" outside quotes: push the value back so the lexer reads it as if
 * it had been written there. A macro's own text is not expanded again.
 */
static int
expand_macro(void)
{
	struct macro	*m;
	char		 name[64];
	size_t		 n = 0, len;
	int		 c;

	while ((c = lgetc()) != EOF && (isalnum(c) || c == '_')) {
		if (n + 1 >= sizeof(name)) {
			yyerror("macro name too long");
			return (-1);
		}
		name[n++] = c;
	}
	lungetc(c);
	name[n] = '\0';
	if (n == 0) {
		yyerror("'$' without a macro name");
		return (-1);
	}
	TAILQ_FOREACH(m, &macros, entry)
		if (strcmp(m->name, name) == 0)
			break;
	if (m == NULL) {
		yyerror("macro \"%s\" is not defined", name);
		return (-1);
	}
	len = strlen(m->value);
	if (npush + len > LEX_PUSHBACK) {
		yyerror("macro \"%s\" is too long", name);
		return (-1);
	}
	while (len > 0)
		pushbuf[npush++] = (unsigned char)m->value[--len] | MACRO_CHAR;
	return (0);
}

/* A quoted string, its opening quote read: STRING or ERROR. */
static int
lex_string(int quote)
{
	char	 buf[LEX_BUFSIZE];
	size_t	 n = 0;
	int	 c, start_line = file->lineno, overflow = 0;

	for (;;) {
		c = lgetc();
		if (c == EOF || c == '\n') {
			lineerror(start_line, "unterminated string");
			lungetc(c);
			lexerr = 1;
			return (ERROR);
		}
		if (c == quote)
			break;
		if (c == '\\') {
			c = lgetc();
			if (c == EOF || c == '\n') {
				lungetc(c);
				continue;
			}
		}
		if (n + 1 >= sizeof(buf)) {
			overflow = 1;
			continue;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	strlcpy(tok_text, buf, sizeof(tok_text));
	if (overflow) {
		lineerror(start_line, "string too long");
		lexerr = 1;
		return (ERROR);
	}
	if ((yylval.v.string = strdup(buf)) == NULL) {
		lineerror(start_line, "%s", strerror(errno));
		lexerr = 1;
		return (ERROR);
	}
	return (STRING);
}

/*
 * A word from its first character: NUMBER, a keyword, VARNAME (a macro
 * being defined), a bare STRING or ERROR.
 */
static int
lex_word(int c)
{
	char		 buf[LEX_BUFSIZE];
	const char	*errstr;
	size_t		 n = 0;
	int		 tok, overflow = 0;

	do {
		if (n + 1 >= sizeof(buf))
			overflow = 1;
		else
			buf[n++] = c;
	} while (word_char(c = lgetc()));
	lungetc(c);
	buf[n] = '\0';
	strlcpy(tok_text, buf, sizeof(tok_text));
	if (overflow) {
		yyerror("word too long");
		lexerr = 1;
		return (ERROR);
	}
	if (strspn(buf + (buf[0] == '-'), "0123456789") ==
	    n - (buf[0] == '-') && n > (size_t)(buf[0] == '-')) {
		yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr != NULL) {
			yyerror("number %s is %s", buf, errstr);
			lexerr = 1;
			return (ERROR);
		}
		return (NUMBER);
	}
	tok_bare = 1;
	if ((tok = lookup(buf)) != STRING)
		return (tok);
	if (depth == 0 && (tok_prev == 0 || tok_prev == '\n') &&
	    strspn(buf, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n &&
	    next_is_equal())
		tok = VARNAME;
	if ((yylval.v.string = strdup(buf)) == NULL) {
		yyerror("%s", strerror(errno));
		lexerr = 1;
		tok = ERROR;
	}
	return (tok);
}

int
yylex(void)
{
	int	 c, tok, bumped = 0;

	lexerr = 0;
	if (file->nl_pending) {
		file->lineno++;
		file->nl_pending = 0;
		bumped = 1;
	}
	tok_prev = tok_cur;
	tok_bare = 0;
	tok_text[0] = '\0';
	yylval.v.string = NULL;

top:
	while ((c = lgetc()) == ' ' || c == '\t' || c == '\r')
		;
	yylval.lineno = file->lineno;
	if (c == '#')
		while ((c = lgetc()) != '\n' && c != EOF)
			;
	if (c == '\\') {
		if ((c = lgetc()) == '\n') {
			file->lineno++;
			goto top;
		}
		lungetc(c);
		c = '\\';
	}
	if (c == '$' && !lastc_macro) {
		if (expand_macro() == -1) {
			lexerr = 1;
			tok = ERROR;
			goto done;
		}
		goto top;
	}

	switch (c) {
	case EOF:
		if (!file->eof_nl) {
			/* Every statement ends with a newline, even the last. */
			file->eof_nl = 1;
			if (bumped)
				file->lineno--;
			tok = '\n';
			goto done;
		}
		if (bumped)
			file->lineno--;
		tok = 0;
		goto done;
	case '\n':
		file->nl_pending = 1;
		tok = '\n';
		goto done;
	case '"':
	case '\'':
		tok = lex_string(c);
		goto done;
	}

	if (word_char(c)) {
		tok = lex_word(c);
		goto done;
	}

	if (c == '{')
		depth++;
	else if (c == '}' && depth > 0)
		depth--;
	if (c == '{' && tok_prev == CONNECTION)
		conn_depth = depth;
	else if (c == '}' && depth < conn_depth)
		conn_depth = 0;
	tok_text[0] = c;
	tok_text[1] = '\0';
	tok = c;

done:
	tok_stmt = tok_prev == 0 || tok_prev == '\n' || tok_prev == '{' ||
	    tok_prev == ',' || (conn_depth != 0 && tok_prev == NUMBER);
	tok_cur = tok;
	return (tok);
}

/* A notify_conf_*() refused: its message at this line. */
static void
notify_err(int rv)
{
	if (rv == -1)
		yyerror("%s", autherr);
}

static int
macro_set(char *name, char *value)
{
	struct macro	*m;

	TAILQ_FOREACH(m, &macros, entry) {
		if (strcmp(m->name, name) == 0) {
			free(m->value);
			m->value = value;
			free(name);
			return (0);
		}
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		free(name);
		free(value);
		return (-1);
	}
	m->name = name;
	m->value = value;
	TAILQ_INSERT_TAIL(&macros, m, entry);
	return (0);
}

static void
macros_free(void)
{
	struct macro	*m;

	while ((m = TAILQ_FIRST(&macros)) != NULL) {
		TAILQ_REMOVE(&macros, m, entry);
		free(m->name);
		free(m->value);
		free(m);
	}
}

/* Copy a string argument into its fixed-size field; frees s. */
static void
set_string(char *dst, size_t len, char *s, const char *what, int allowempty)
{
	if (!allowempty && s[0] == '\0')
		yyerror("%s is empty", what);
	else if (strlen(s) >= len)
		yyerror("%s too long (at most %zu bytes)", what, len - 1);
	else
		strlcpy(dst, s, len);
	free(s);
}

static void
set_path(char *dst, size_t len, char *s, const char *what)
{
	if (s[0] != '/') {
		yyerror("%s \"%s\": not an absolute path", what, s);
		free(s);
		return;
	}
	set_string(dst, len, s, what, 0);
}

/*
 * A certificate or key is read by the parent when the listeners start; a
 * missing or unreadable one is a configuration error, found now.
 */
static void
set_file(char *dst, size_t len, char *s, const char *what, int *line)
{
	struct stat	 st;
	int		 fd;

	*line = file->lineno;
	if (s[0] == '\0') {
		yyerror("%s is empty", what);
		free(s);
		return;
	}
	if ((fd = open(s, O_RDONLY | O_CLOEXEC)) == -1) {
		yyerror("%s \"%s\": %s", what, s, strerror(errno));
		free(s);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		yyerror("%s \"%s\": not a regular file", what, s);
		close(fd);
		free(s);
		return;
	}
	close(fd);
	set_string(dst, len, s, what, 0);
}

/*
 * The S3 secret key, read now by the parent from a file only its owner
 * (root, or the user regd runs as) may read; kept for storage alone.
 */
static void
s3_secret(char *path)
{
	struct stat	 st;
	char		 buf[sizeof(conf->s3.secret) + 1];
	ssize_t		 n;
	int		 fd;

	if (path[0] != '/') {
		yyerror("secret file \"%s\": not an absolute path", path);
		goto done;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		yyerror("secret file \"%s\": %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		yyerror("secret file \"%s\": not a regular file", path);
	else if ((st.st_mode & 077) != 0)
		yyerror("secret file \"%s\": group or others may read it "
		    "(mode %03o): chmod 600", path, st.st_mode & 0777);
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		yyerror("secret file \"%s\": owned by uid %u, not root",
		    path, (unsigned)st.st_uid);
	else if ((n = read(fd, buf, sizeof(buf))) == -1)
		yyerror("secret file \"%s\": %s", path, strerror(errno));
	else {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
		    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
			n--;
		if (n == 0)
			yyerror("secret file \"%s\": empty", path);
		else if ((size_t)n >= sizeof(conf->s3.secret) ||
		    memchr(buf, '\n', n) != NULL)
			yyerror("secret file \"%s\": not one line of at most "
			    "%zu bytes", path, sizeof(conf->s3.secret) - 1);
		else {
			memcpy(conf->s3.secret, buf, n);
			conf->s3.secret[n] = '\0';
			strlcpy(conf->s3.secret_file, path,
			    sizeof(conf->s3.secret_file));
		}
	}
	explicit_bzero(buf, sizeof(buf));
	close(fd);
done:
	free(path);
}

/* At the end of "storage s3 { }": what it cannot do without. */
static void
s3_check(void)
{
	if (conf->s3.endpoint[0] == '\0')
		yyerror("storage s3: no endpoint");
	else if (conf->s3.bucket[0] == '\0')
		yyerror("storage s3: no bucket");
	else if (conf->s3.access_key[0] == '\0')
		yyerror("storage s3: no access key");
	else if (conf->s3.secret[0] == '\0')
		yyerror("storage s3: no secret file");
}

static int
check_range(int64_t v, int64_t min, int64_t max, const char *what)
{
	if (v < min || v > max) {
		yyerror("%s %lld out of range (%lld to %lld)", what,
		    (long long)v, (long long)min, (long long)max);
		return (-1);
	}
	return (0);
}

static int
online_cpus(void)
{
	long	 n;

	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > REGD_MAXPREFORK)
		n = REGD_MAXPREFORK;
	return ((int)n);
}

static struct regd_conf *
conf_new(void)
{
	struct regd_conf	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	strlcpy(c->user, REGD_USER, sizeof(c->user));
	strlcpy(c->chroot, REGD_CHROOT, sizeof(c->chroot));
	c->prefork = online_cpus();
	c->drain_timeout = DEF_DRAIN_TIMEOUT;
	strlcpy(c->storage, REGD_STORAGE, sizeof(c->storage));
	strlcpy(c->socket, REGD_SOCKET, sizeof(c->socket));
	c->access_syslog = 1;
	c->store.gc_grace = DEF_GC_GRACE;
	c->store.upload_maxage = DEF_UPLOAD_MAXAGE;
	c->store.upload_timeout = DEF_UPLOAD_TIMEOUT;
	c->store.max_uploads = DEF_MAX_UPLOADS;
	c->store.max_uploads_client = DEF_MAX_UPLOADS_CLIENT;
	c->store.mode = DEF_STORAGE_MODE;
	c->health_timeout = DEF_HEALTH_TIMEOUT;
	TAILQ_INIT(&c->servers);
	return (c);
}

/* "90", "90s", "15m", "12h", "30d", "2w" as seconds. */
static int
parse_duration(const char *str, int64_t *out)
{
	int64_t		 v = 0, mult;
	const char	*p;

	if (str == NULL || *str < '0' || *str > '9')
		return (-1);
	for (p = str; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return (-1);
		v = v * 10 + (*p - '0');
	}
	switch (*p) {
	case '\0':
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	default:
		return (-1);
	}
	if (*p != '\0' && p[1] != '\0')
		return (-1);
	if (v > INT64_MAX / mult)
		return (-1);
	*out = v * mult;
	return (0);
}

static void
quota_add(struct regd_conf *c, int64_t size, const char *pattern)
{
	struct quota_rule	*q;

	if (size < 0)
		return;
	if (size == 0) {
		yyerror("quota must be larger than 0");
		return;
	}
	if (pattern == NULL) {
		c->store.quota = size;
		return;
	}
	if (c->store.nquotas >= MAX_QUOTAS) {
		yyerror("too many quota rules, at most %d", MAX_QUOTAS);
		return;
	}
	q = &c->store.quotas[c->store.nquotas];
	if (pattern[0] == '\0' || strlcpy(q->pattern, pattern,
	    sizeof(q->pattern)) >= sizeof(q->pattern)) {
		yyerror("bad repository pattern \"%s\"", pattern);
		return;
	}
	q->size = size;
	c->store.nquotas++;
}

static struct retain_rule *
retain_add(struct regd_conf *c, const char *pattern)
{
	struct retain_rule	*r;

	if (c->store.nretains >= MAX_RETAINS) {
		yyerror("too many retention rules, at most %d", MAX_RETAINS);
		return (NULL);
	}
	r = &c->store.retains[c->store.nretains];
	memset(r, 0, sizeof(*r));
	if (pattern[0] == '\0' || strlcpy(r->pattern, pattern,
	    sizeof(r->pattern)) >= sizeof(r->pattern)) {
		yyerror("bad repository pattern \"%s\"", pattern);
		return (NULL);
	}
	r->keep_last = -1;
	r->older_than = -1;
	c->store.nretains++;
	return (r);
}

static void
dump_duration(int64_t n)
{
	if (n != 0 && n % 86400 == 0)
		printf("%lldd", (long long)(n / 86400));
	else if (n != 0 && n % 3600 == 0)
		printf("%lldh", (long long)(n / 3600));
	else if (n != 0 && n % 60 == 0)
		printf("%lldm", (long long)(n / 60));
	else
		printf("%lld", (long long)n);
}

static struct server_conf *
server_new(struct regd_conf *c, const char *name)
{
	struct server_conf	*s, *o;

	if (file != NULL) {
		if (name[0] == '\0')
			yyerror("server name is empty");
		else if (strlen(name) >= sizeof(s->name))
			yyerror("server name too long (at most %zu bytes)",
			    sizeof(s->name) - 1);
		TAILQ_FOREACH(o, &c->servers, entry)
			if (strcmp(o->name, name) == 0)
				yyerror("server \"%s\" defined twice", name);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	strlcpy(s->name, name, sizeof(s->name));
	TAILQ_INIT(&s->listens);
	s->delete_enabled = 0;
	s->mount_nofrom = 1;
	s->max_manifest = DEF_MAX_MANIFEST;
	s->max_reqline = DEF_MAX_REQLINE;
	s->max_headers = DEF_MAX_HEADERS;
	s->max_nheaders = DEF_MAX_NHEADERS;
	s->header_timeout = DEF_HEADER_TIMEOUT;
	s->idle_timeout = DEF_IDLE_TIMEOUT;
	s->body_timeout = DEF_BODY_TIMEOUT;
	s->max_conns = DEF_MAX_CONNS;
	/* One address may not take every slot: the count is shared. */
	s->max_conns_addr = DEF_MAX_CONNS_ADDR;
	auth_init();
	s->max_login_failures = DEF_LOGIN_FAILURES;
	s->login_block = DEF_LOGIN_BLOCK;
	TAILQ_INSERT_TAIL(&c->servers, s, entry);
	return (s);
}

/* Checks that need the whole server block, at its closing brace. */
static void
server_end(struct server_conf *s, int line)
{
	if (s == NULL)
		return;
	if (TAILQ_EMPTY(&s->listens) && !srv_listen_err)
		lineerror(line, "server \"%s\" has no listen on", s->name);
	if (srv_tls_line != 0) {
		if (s->tls_cert[0] == '\0' && cert_line == 0)
			lineerror(srv_tls_line, "listen on ... tls needs "
			    "a tls certificate in server \"%s\"", s->name);
		if (s->tls_key[0] == '\0' && key_line == 0)
			lineerror(srv_tls_line, "listen on ... tls needs "
			    "a tls key in server \"%s\"", s->name);
		if (s->tls_cert[0] != '\0' && s->tls_key[0] != '\0' &&
		    tls_server_load(s, autherr, sizeof(autherr)) == -1)
			lineerror(key_line > cert_line ? key_line : cert_line,
			    "%s", autherr);
	}
}

static int
listen_name(struct listen_addr *la)
{
	char	 host[NI_MAXHOST];
	int	 r;

	if (getnameinfo((struct sockaddr *)&la->ss, la->sslen, host,
	    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		return (-1);
	if (la->ss.ss_family == AF_INET6)
		r = snprintf(la->name, sizeof(la->name), "[%s]:%u", host,
		    la->port);
	else
		r = snprintf(la->name, sizeof(la->name), "%s:%u", host,
		    la->port);
	if (r < 0 || (size_t)r >= sizeof(la->name))
		return (-1);
	return (0);
}

/*
 * Add one listener per address the host stands for. Numeric addresses
 * are tried first so that "::1" or "127.0.0.1" never touch the resolver.
 */
static int
listen_add(struct server_conf *s, const char *host, int64_t port, int tls,
    int line)
{
	struct addrinfo		 hints, *res0 = NULL, *res;
	struct listenlist	 found;
	struct listen_addr	*la, *o;
	struct server_conf	*os;
	char			 hbuf[NI_MAXHOST], pbuf[16];
	const char		*h = host;
	size_t			 len;
	int			 error, dups = 0;

	if (strcmp(host, "*") == 0)
		h = "0.0.0.0";
	len = strlen(h);
	if (len > 2 && h[0] == '[' && h[len - 1] == ']' &&
	    len - 1 <= sizeof(hbuf)) {
		strlcpy(hbuf, h + 1, len - 1);
		h = hbuf;
	}
	snprintf(pbuf, sizeof(pbuf), "%lld", (long long)port);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	error = getaddrinfo(h, pbuf, &hints, &res0);
	if (error == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
		error = getaddrinfo(h, pbuf, &hints, &res0);
	}
	if (error != 0) {
		lineerror(line, "unknown address \"%s\": %s", host,
		    gai_strerror(error));
		return (-1);
	}

	/* A name may resolve to one address twice: keep it once. */
	TAILQ_INIT(&found);
	for (res = res0; res != NULL; res = res->ai_next) {
		if ((res->ai_family != AF_INET &&
		    res->ai_family != AF_INET6) ||
		    res->ai_addrlen > sizeof(la->ss))
			continue;
		TAILQ_FOREACH(o, &found, entry)
			if (o->sslen == res->ai_addrlen &&
			    memcmp(&o->ss, res->ai_addr, o->sslen) == 0)
				break;
		if (o != NULL)
			continue;
		if ((la = calloc(1, sizeof(*la))) == NULL) {
			lineerror(line, "%s", strerror(errno));
			dups++;
			break;
		}
		memcpy(&la->ss, res->ai_addr, res->ai_addrlen);
		la->sslen = res->ai_addrlen;
		la->port = port;
		la->tls = tls;
		la->fd = -1;
		la->srv = s;
		TAILQ_INSERT_TAIL(&found, la, entry);
		if (listen_name(la) == -1) {
			lineerror(line, "cannot name address \"%s\"", host);
			dups++;
			break;
		}
	}
	freeaddrinfo(res0);
	if (TAILQ_EMPTY(&found) && dups == 0) {
		lineerror(line, "no IPv4 or IPv6 address for \"%s\"", host);
		dups++;
	}

	TAILQ_FOREACH(la, &found, entry) {
		o = NULL;
		TAILQ_FOREACH(os, &conf->servers, entry) {
			TAILQ_FOREACH(o, &os->listens, entry)
				if (o->sslen == la->sslen &&
				    memcmp(&o->ss, &la->ss, la->sslen) == 0)
					break;
			if (o != NULL)
				break;
		}
		if (o == NULL)
			continue;
		if (os == s)
			lineerror(line, "duplicate listen on %s", la->name);
		else
			lineerror(line, "duplicate listen on %s (also in "
			    "server \"%s\")", la->name, os->name);
		dups++;
	}

	while ((la = TAILQ_FIRST(&found)) != NULL) {
		TAILQ_REMOVE(&found, la, entry);
		if (dups != 0)
			free(la);
		else
			TAILQ_INSERT_TAIL(&s->listens, la, entry);
	}
	if (dups != 0)
		return (-1);
	if (tls && srv_tls_line == 0)
		srv_tls_line = line;
	return (0);
}

struct regd_conf *
parse_config(const char *filename, int verbose)
{
	struct file	 f;
	struct regd_conf *c;
	int		 saved;

	memset(&f, 0, sizeof(f));
	f.name = filename;
	f.lineno = 1;
	if ((f.stream = fopen(filename, "r")) == NULL) {
		saved = errno;
		fprintf(stderr, "%s: %s\n", filename, strerror(errno));
		errno = saved;
		return (NULL);
	}
	if ((c = conf_new()) == NULL) {
		saved = errno;
		fprintf(stderr, "%s: %s\n", filename, strerror(errno));
		fclose(f.stream);
		errno = saved;
		return (NULL);
	}

	file = &f;
	conf = c;
	srv = NULL;
	npush = 0;
	lexerr = 0;
	tok_cur = tok_prev = 0;
	depth = conn_depth = 0;

	yyparse();

	if (ferror(f.stream))
		lineerror(f.lineno, "read error: %s", strerror(errno));
	fclose(f.stream);
	macros_free();

	/* The metrics block alone serves no registry: add the default. */
	if ((TAILQ_EMPTY(&c->servers) || (TAILQ_FIRST(&c->servers) ==
	    c->metrics && TAILQ_NEXT(c->metrics, entry) == NULL)) &&
	    f.errors == 0) {
		struct server_conf	*ds;

		if ((ds = server_new(c, "default")) == NULL ||
		    listen_add(ds, "127.0.0.1", REGD_PORT, 0, f.lineno) == -1)
			f.errors++;
	}

	f.errors += notify_conf_check(c, filename);
	file = NULL;
	conf = NULL;
	srv = NULL;
	if (f.errors != 0) {
		config_free(c);
		errno = EINVAL;
		return (NULL);
	}
	return (c);
}

struct regd_conf *
config_default(void)
{
	struct regd_conf	*c;
	struct server_conf	*s;
	struct listen_addr	*la;
	struct sockaddr_in	*sin;

	if ((c = conf_new()) == NULL)
		return (NULL);
	if ((s = server_new(c, "default")) == NULL ||
	    (la = calloc(1, sizeof(*la))) == NULL) {
		config_free(c);
		return (NULL);
	}
	sin = (struct sockaddr_in *)&la->ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(REGD_PORT);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	la->sslen = sizeof(*sin);
	la->port = REGD_PORT;
	la->fd = -1;
	la->srv = s;
	snprintf(la->name, sizeof(la->name), "127.0.0.1:%d", REGD_PORT);
	TAILQ_INSERT_TAIL(&s->listens, la, entry);
	return (c);
}

/* The caller closes listening sockets it opened: fds are left alone. */
void
config_free(struct regd_conf *c)
{
	struct server_conf	*s;
	struct listen_addr	*la;

	if (c == NULL)
		return;
	while ((s = TAILQ_FIRST(&c->servers)) != NULL) {
		TAILQ_REMOVE(&c->servers, s, entry);
		while ((la = TAILQ_FIRST(&s->listens)) != NULL) {
			TAILQ_REMOVE(&s->listens, la, entry);
			free(la);
		}
		tls_server_free(s);
		auth_server_free(s);
		explicit_bzero(s, sizeof(*s));
		free(s);
	}
	auth_conf_free(c);
	if (c->notify != NULL) {
		explicit_bzero(c->notify, sizeof(*c->notify));
		free(c->notify);
	}
	/* Upstream passwords do not linger in memory children inherit. */
	explicit_bzero(c->upstreams, sizeof(c->upstreams));
	free(c);
}

/* An access rule of the metrics listener: addresses or anybody. */
static void
metrics_rule(int deny, int who)
{
	if (who != WHO_ANY && who != WHO_ADDR)
		yyerror("metrics rules name an address or any, not a user "
		    "or group");
	else if (srv != NULL && auth_rule(srv, deny, AUTH_PULL, NULL, who,
	    cur_group, autherr, sizeof(autherr)) == -1)
		yyerror("%s", autherr);
	free(cur_group);
	cur_group = NULL;
}

static void
dump_metrics(struct regd_conf *c)
{
	struct server_conf	*s = c->metrics;
	struct listen_addr	*la;
	struct auth_rule	*r;
	char			 host[NI_MAXHOST];

	if (s == NULL)
		return;
	printf("metrics {\n");
	TAILQ_FOREACH(la, &s->listens, entry) {
		if (getnameinfo((struct sockaddr *)&la->ss, la->sslen,
		    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(host, "?", sizeof(host));
		printf("\tlisten on %s port %u\n", host, la->port);
	}
	if (s->auth != NULL)
		TAILQ_FOREACH(r, &s->auth->rules, entry) {
			printf("\t%s from ", r->deny ? "deny" : "allow");
			if (r->who == WHO_ADDR) {
				printf("address ");
				dump_string(r->name);
			} else
				printf("any");
			printf("\n");
		}
	printf("\thealth timeout ");
	dump_duration(c->health_timeout);
	printf("\n\thealth free space ");
	dump_size(c->health_free);
	printf("\n");
	if (c->metrics_repos > 0)
		printf("\tper repository labels %d\n", c->metrics_repos);
	printf("}\n");
}

static void
dump_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void
dump_size(size_t n)
{
	if (n != 0 && n % (1024 * 1024 * 1024) == 0)
		printf("%zuG", n / (1024 * 1024 * 1024));
	else if (n != 0 && n % (1024 * 1024) == 0)
		printf("%zuM", n / (1024 * 1024));
	else if (n != 0 && n % 1024 == 0)
		printf("%zuK", n / 1024);
	else
		printf("%zu", n);
}

/* The effective configuration, written so that it parses back the same. */
/* The bucket; never the secret, only the file it came from. */
static void
dump_s3(const struct regd_conf *c)
{
	const struct s3_store_conf	*s3 = &c->s3;

	printf("storage s3 {\n\tendpoint ");
	dump_string(s3->endpoint);
	if (s3->region[0] != '\0') {
		printf("\n\tregion ");
		dump_string(s3->region);
	}
	printf("\n\tbucket ");
	dump_string(s3->bucket);
	printf("\n\troot ");
	dump_string(s3->root);
	printf("\n\tpath style %s\n\taccess key ", s3->path_style ? "yes" :
	    "no");
	dump_string(s3->access_key);
	printf("\n\tsecret file ");
	dump_string(s3->secret_file);
	if (s3->ca_file[0] != '\0') {
		printf("\n\tca file ");
		dump_string(s3->ca_file);
	}
	printf("\n\tcache ");
	dump_string(c->storage);
	printf(" size %lld\n\tredirect %s\n\tpresign expiry ",
	    (long long)s3->cache_size, s3->redirect ? "yes" : "no");
	dump_duration(s3->presign_expiry);
	printf("\n}\n");
}

/* Storage housekeeping: GC, uploads, quotas and retention rules. */
static void
dump_store(const struct store_conf *sc)
{
	int	 i, j;

	printf("gc grace ");
	dump_duration(sc->gc_grace);
	printf("\ngc uploads max age ");
	dump_duration(sc->upload_maxage);
	printf("\nupload timeout ");
	dump_duration(sc->upload_timeout);
	printf("\nmax uploads %d\nmax uploads per client %d\n",
	    sc->max_uploads, sc->max_uploads_client);
	printf("storage mode %03o\n", sc->mode);
	if (sc->shared)
		printf("storage shared yes\n");
	if (sc->gc_schedule > 0) {
		printf("gc schedule ");
		dump_duration(sc->gc_schedule);
		printf("%s\n", sc->gc_untagged ? " untagged" : "");
	}
	if (sc->quota > 0) {
		printf("quota ");
		dump_size(sc->quota);
		printf("\n");
	}
	for (i = 0; i < sc->nquotas; i++) {
		printf("quota ");
		dump_size(sc->quotas[i].size);
		printf(" on ");
		dump_string(sc->quotas[i].pattern);
		printf("\n");
	}
	for (i = 0; i < sc->nretains; i++) {
		printf("retention ");
		dump_string(sc->retains[i].pattern);
		printf(" {\n");
		if (sc->retains[i].keep_last >= 0)
			printf("\tkeep last %d\n",
			    sc->retains[i].keep_last);
		for (j = 0; j < sc->retains[i].nglobs; j++) {
			printf("\tkeep tags matching ");
			dump_string(sc->retains[i].globs[j]);
			printf("\n");
		}
		if (sc->retains[i].older_than >= 0) {
			printf("\tdelete tags older than ");
			dump_duration(sc->retains[i].older_than);
			printf("\n");
		}
		printf("}\n");
	}
}

void
config_dump(struct regd_conf *c)
{
	struct server_conf	*s;
	struct listen_addr	*la;
	char			 host[NI_MAXHOST];

	printf("user ");
	dump_string(c->user);
	printf("\nchroot ");
	dump_string(c->chroot);
	printf("\nprefork %d\nstorage ", c->prefork);
	dump_string(c->storage);
	printf("\nsocket ");
	dump_string(c->socket);
	printf("\nlog access ");
	if (c->access_off)
		printf("off");
	else if (c->access_syslog || c->access_log[0] == '\0')
		printf("syslog");
	else
		dump_string(c->access_log);
	printf("\n");
	if (c->verbose)
		printf("log verbose\n");
	printf("drain timeout ");
	dump_duration(c->drain_timeout);
	printf("\n");
	auth_dump(c, NULL);
	dump_store(&c->store);
	if (c->s3.on)
		dump_s3(c);
	dump_mirrors(c, NULL);
	dump_metrics(c);
	notify_conf_dump(c);

	TAILQ_FOREACH(s, &c->servers, entry) {
		if (s->metrics)
			continue;
		printf("\nserver ");
		dump_string(s->name);
		printf(" {\n");
		TAILQ_FOREACH(la, &s->listens, entry) {
			if (getnameinfo((struct sockaddr *)&la->ss, la->sslen,
			    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
				strlcpy(host, "?", sizeof(host));
			printf("\tlisten on %s port %u%s\n", host, la->port,
			    la->tls ? " tls" : "");
		}
		if (s->tls_cert[0] != '\0') {
			printf("\ttls certificate ");
			dump_string(s->tls_cert);
			printf("\n");
		}
		if (s->tls_key[0] != '\0') {
			printf("\ttls key ");
			dump_string(s->tls_key);
			printf("\n");
		}
		if (s->tls_protocols[0] != '\0') {
			printf("\ttls protocols ");
			dump_string(s->tls_protocols);
			printf("\n");
		}
		if (s->tls_ciphers[0] != '\0') {
			printf("\ttls ciphers ");
			dump_string(s->tls_ciphers);
			printf("\n");
		}
		auth_dump(c, s);
		dump_mirrors(c, s);
		printf("\tdelete %s\n", s->delete_enabled ? "yes" : "no");
		printf("\tmount without from %s\n", s->mount_nofrom ? "yes" :
		    "no");
		printf("\tmax manifest size ");
		dump_size(s->max_manifest);
		printf("\n\tmax request line ");
		dump_size(s->max_reqline);
		printf("\n\tmax header size ");
		dump_size(s->max_headers);
		printf("\n\tmax headers %d\n", s->max_nheaders);
		printf("\tconnection {\n");
		printf("\t\theader timeout %d\n", s->header_timeout);
		printf("\t\tidle timeout %d\n", s->idle_timeout);
		printf("\t\tbody timeout %d\n", s->body_timeout);
		printf("\t\tmax connections %d\n", s->max_conns);
		printf("\t}\n}\n");
	}
	fflush(stdout);
}

/* Mirror mode: "upstream NAME { ... }" blocks and "mirror" lines. */
static struct mirror_up *
upstream_new(struct regd_conf *c, const char *name)
{
	struct mirror_up	*u;
	int			 i;

	if (name[0] == '\0' || strlen(name) >= sizeof(u->name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") !=
	    strlen(name)) {
		yyerror("upstream \"%s\": a name of lower case letters, "
		    "digits, '.', '_' and '-' (at most %zu)", name,
		    sizeof(u->name) - 1);
		return (NULL);
	}
	for (i = 0; i < c->nupstreams; i++)
		if (strcmp(c->upstreams[i].name, name) == 0) {
			yyerror("upstream \"%s\" defined twice", name);
			return (NULL);
		}
	if (c->nupstreams == MAX_UPSTREAMS) {
		yyerror("too many upstreams (at most %d)", MAX_UPSTREAMS);
		return (NULL);
	}
	u = &c->upstreams[c->nupstreams++];
	memset(u, 0, sizeof(*u));
	strlcpy(u->name, name, sizeof(u->name));
	u->tag_ttl = DEF_TAG_TTL;
	u->max_conns = DEF_UP_CONNS;
	u->timeout = DEF_UP_TIMEOUT;
	mircache_limit(c, u);
	return (u);
}

/* Storage bounds each upstream's cache (mirror_cache.c): it gets them. */
static void
mircache_limit(struct regd_conf *c, const struct mirror_up *u)
{
	struct store_conf	*sc = &c->store;
	int			 i;

	for (i = 0; i < sc->nmircaches; i++)
		if (strcmp(sc->mircaches[i].upstream, u->name) == 0)
			break;
	if (i == MAX_UPSTREAMS)
		return;
	if (i == sc->nmircaches)
		sc->nmircaches++;
	strlcpy(sc->mircaches[i].upstream, u->name,
	    sizeof(sc->mircaches[i].upstream));
	sc->mircaches[i].size = u->cache_size;
}

static void
upstream_end(struct mirror_up *u, int line)
{
	if (u != NULL && u->url[0] == '\0')
		lineerror(line, "upstream \"%s\" has no url", u->name);
}

/* http://host[:port] or https://, nothing after the authority. */
static void
upstream_url(struct mirror_up *u, char *s)
{
	const char	*h;
	size_t		 n;

	if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else {
		yyerror("url \"%s\": not http:// or https://", s);
		free(s);
		return;
	}
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/' && s + n - 1 >= h)
		s[--n] = '\0';
	if (*h == '\0' || strchr(h, '/') != NULL || strchr(h, '@') != NULL ||
	    strcspn(h, " \t?#") != strlen(h)) {
		yyerror("url \"%s\": a scheme and a host[:port] only", s);
		free(s);
		return;
	}
	if (u == NULL) {
		free(s);
		return;
	}
	set_string(u->url, sizeof(u->url), s, "url", 0);
}

/*
 * The credentials file holds one line "user:password"; the parent reads
 * it now and hands it to the fetcher only, in MIR_CONF.
 */
static void
upstream_creds(struct mirror_up *u, char *s)
{
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	char		*colon;
	int		 fd;

	if ((fd = open(s, O_RDONLY | O_CLOEXEC)) == -1) {
		yyerror("credentials \"%s\": %s", s, strerror(errno));
		goto done;
	}
	if (read_fd_all(fd, 4096, 1, &buf, &len) == -1) {
		yyerror("credentials \"%s\": %s", s, strerror(errno));
		close(fd);
		goto done;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (memchr(buf, '\n', len) != NULL || memchr(buf, '\0', len) != NULL ||
	    (colon = memchr(buf, ':', len)) == NULL || colon == (char *)buf) {
		yyerror("credentials \"%s\": not one line user:password", s);
		goto done;
	}
	if (u == NULL)
		goto done;
	*colon = '\0';
	buf[len] = '\0';
	if (strlen((char *)buf) >= sizeof(u->user) ||
	    strlen(colon + 1) >= sizeof(u->pass)) {
		yyerror("credentials \"%s\": too long", s);
		goto done;
	}
	strlcpy(u->user, (char *)buf, sizeof(u->user));
	strlcpy(u->pass, colon + 1, sizeof(u->pass));
	strlcpy(u->credfile, s, sizeof(u->credfile));
done:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	free(s);
}

static void
mirror_add(struct server_conf *s, const char *name, int mode, char *key,
    int push)
{
	struct mirror_map	*m;
	int			 i, up = -1;

	for (i = 0; i < conf->nupstreams; i++)
		if (strcmp(conf->upstreams[i].name, name) == 0)
			up = i;
	if (up == -1)
		yyerror("mirror: unknown upstream \"%s\" (define it before "
		    "the server)", name);
	else if (mode == MIRM_PREFIX && !valid_name(key))
		yyerror("mirror prefix \"%s\": not a repository name", key);
	else if (mode == MIRM_NS && (key[0] == '\0' || strlen(key) > 253 ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789.-:") !=
	    strlen(key)))
		yyerror("mirror ns \"%s\": not a host name", key);
	else if (s != NULL && s->nmirrors == MAX_SRV_MIRRORS)
		yyerror("too many mirror lines (at most %d)",
		    MAX_SRV_MIRRORS);
	else if (s != NULL) {
		for (i = 0; i < s->nmirrors; i++)
			if (s->mirrors[i].mode == mode && (mode ==
			    MIRM_SERVER || strcmp(s->mirrors[i].key,
			    key) == 0)) {
				yyerror("mirror: the same %s twice",
				    mode == MIRM_SERVER ? "whole-server mirror" :
				    mode == MIRM_PREFIX ? "prefix" : "ns");
				free(key);
				return;
			}
		m = &s->mirrors[s->nmirrors++];
		m->mode = mode;
		m->up = up;
		m->push = push;
		if (key != NULL)
			strlcpy(m->key, key, sizeof(m->key));
	}
	free(key);
}

static void
dump_mirrors(struct regd_conf *c, struct server_conf *s)
{
	const struct mirror_up	*u;
	const struct mirror_map	*m;
	int			 i;

	if (s != NULL) {
		for (i = 0; i < s->nmirrors; i++) {
			m = &s->mirrors[i];
			printf("\tmirror ");
			dump_string(c->upstreams[m->up].name);
			if (m->mode != MIRM_SERVER) {
				printf(m->mode == MIRM_PREFIX ? " prefix " :
				    " ns ");
				dump_string(m->key);
			}
			printf("%s\n", m->push ? " allow push" : "");
		}
		return;
	}
	for (i = 0; i < c->nupstreams; i++) {
		u = &c->upstreams[i];
		printf("upstream ");
		dump_string(u->name);
		printf(" {\n\turl ");
		dump_string(u->url);
		printf("\n");
		if (u->credfile[0] != '\0') {
			printf("\tcredentials ");
			dump_string(u->credfile);
			printf("\n");
		}
		if (u->ca[0] != '\0') {
			printf("\tca file ");
			dump_string(u->ca);
			printf("\n");
		}
		printf("\ttag ttl ");
		dump_duration(u->tag_ttl);
		printf("\n");
		if (u->cache_size > 0) {
			printf("\tcache size ");
			dump_size(u->cache_size);
			printf("\n");
		}
		printf("\tmax connections %d\n\ttimeout ", u->max_conns);
		dump_duration(u->timeout);
		printf("\n%s}\n", u->redirect_private ?
		    "\tredirect private yes\n" : "");
	}
}
