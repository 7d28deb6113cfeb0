/*
 * The configuration side of authentication, run by the parent while it
 * parses regd.conf: htpasswd files, token issuer certificates, access
 * rules, groups and trusted proxies.  The frontends inherit the result.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "regd.h"

#define HTPASSWD_MAXLINE	1024

struct auth_shm	*auth_shm;

/*
 * The table of client addresses (failed logins, connections) is shared
 * by every frontend: it is mapped once, before the first fork, and every
 * later generation inherits the same pages.
 */
void
auth_init(void)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	void		*p;

	if (auth_shm != NULL)
		return;
	/*
	 * OpenSSL reads its configuration and loads its provider on first
	 * use: that must happen here, the sandboxed frontend cannot open.
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	EVP_Digest("", 0, md, NULL, EVP_sha256(), NULL);
	p = mmap(NULL, sizeof(*auth_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		auth_shm = p;
}

static struct auth_conf *
auth_get(struct server_conf *srv)
{
	if (srv->auth == NULL) {
		if ((srv->auth = calloc(1, sizeof(*srv->auth))) == NULL)
			return (NULL);
		TAILQ_INIT(&srv->auth->rules);
		srv->auth->type = AUTH_NONE;
	}
	return (srv->auth);
}

static int
user_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct auth_user *)a)->name,
	    ((const struct auth_user *)b)->name));
}

static void
users_free(struct auth_user *users, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(users[i].name);
		freezero(users[i].hash, strlen(users[i].hash));
	}
	free(users);
}

/* Only bcrypt: "$2y$", "$2b$" or "$2a$", a cost and 53 characters. */
static int
bcrypt_hash(const char *h)
{
	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' ||
	    (h[2] != 'y' && h[2] != 'b' && h[2] != 'a') || h[3] != '$' ||
	    h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' ||
	    h[6] != '$')
		return (0);
	return (strspn(h + 7, "./ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789") == 53);
}

/* Read "user:hash" lines; every error names the file and its line. */
static int
htpasswd_read(const char *path, struct auth_user **usersp, size_t *np,
    char *err, size_t errlen)
{
	FILE		*fp;
	char		 line[HTPASSWD_MAXLINE], *colon, *end;
	struct auth_user *users = NULL, *nu;
	size_t		 n = 0, i;
	int		 lineno = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "htpasswd \"%s\": %s", path,
		    strerror(errno));
		return (-1);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
			    lineno);
			goto fail;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL || colon == line) {
			snprintf(err, errlen, "%s:%d: not user:hash", path,
			    lineno);
			goto fail;
		}
		*colon++ = '\0';
		/* Apache allows more fields after the hash. */
		if ((end = strchr(colon, ':')) != NULL)
			*end = '\0';
		if (strlen(line) >= 64) {
			snprintf(err, errlen, "%s:%d: user name too long",
			    path, lineno);
			goto fail;
		}
		if (!bcrypt_hash(colon)) {
			snprintf(err, errlen, "%s:%d: unsupported hash for "
			    "user \"%s\" (only bcrypt $2y$, $2b$, $2a$)", path,
			    lineno, line);
			goto fail;
		}
		for (i = 0; i < n; i++)
			if (strcmp(users[i].name, line) == 0)
				break;
		if (i < n) {
			snprintf(err, errlen, "%s:%d: user \"%s\" listed "
			    "twice", path, lineno, line);
			goto fail;
		}
		if ((nu = reallocarray(users, n + 1, sizeof(*users))) ==
		    NULL)
			goto nomem;
		users = nu;
		users[n].name = strdup(line);
		users[n].hash = strdup(colon);
		if (users[n].name == NULL || users[n].hash == NULL) {
			free(users[n].name);
			free(users[n].hash);
			goto nomem;
		}
		n++;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "htpasswd \"%s\": read error", path);
		goto fail;
	}
	fclose(fp);
	explicit_bzero(line, sizeof(line));
	if (n > 0)
		qsort(users, n, sizeof(*users), user_cmp);
	*usersp = users;
	*np = n;
	return (0);
nomem:
	snprintf(err, errlen, "htpasswd \"%s\": %s", path, strerror(errno));
fail:
	explicit_bzero(line, sizeof(line));
	fclose(fp);
	users_free(users, n);
	return (-1);
}

int
auth_htpasswd(struct server_conf *srv, const char *realm, const char *path,
    char *err, size_t errlen)
{
	struct auth_conf	*a;
	struct auth_user	*users;
	size_t			 n;

	if ((a = auth_get(srv)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	if (a->type != AUTH_NONE) {
		snprintf(err, errlen, "authenticate given twice");
		return (-1);
	}
	if (path[0] != '/') {
		snprintf(err, errlen, "htpasswd \"%s\": not an absolute path",
		    path);
		return (-1);
	}
	if (realm != NULL && (strlen(realm) >= sizeof(a->realm) ||
	    strchr(realm, '"') != NULL || strchr(realm, '\\') != NULL)) {
		snprintf(err, errlen, "bad realm \"%s\"", realm);
		return (-1);
	}
	if (strlen(path) >= sizeof(a->file)) {
		snprintf(err, errlen, "htpasswd path too long");
		return (-1);
	}
	if (htpasswd_read(path, &users, &n, err, errlen) == -1)
		return (-1);
	a->type = AUTH_HTPASSWD;
	a->users = users;
	a->nusers = n;
	strlcpy(a->file, path, sizeof(a->file));
	strlcpy(a->realm, realm != NULL ? realm : "regd", sizeof(a->realm));
	auth_init();
	return (0);
}

/* The issuer's certificates (or public keys) that sign tokens. */
int
auth_token(struct server_conf *srv, const char *realm, const char *service,
    const char *issuer, const char *cert, char *err, size_t errlen)
{
	struct auth_conf	*a;
	FILE			*fp;
	X509			*x;
	EVP_PKEY		*pk;

	if ((a = auth_get(srv)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	if (a->type != AUTH_NONE) {
		snprintf(err, errlen, "authenticate given twice");
		return (-1);
	}
	if (strlen(realm) >= sizeof(a->realm) || strchr(realm, '"') != NULL ||
	    strlen(service) >= sizeof(a->service) ||
	    strchr(service, '"') != NULL ||
	    strlen(issuer) >= sizeof(a->issuer) ||
	    strlen(cert) >= sizeof(a->certfile) || realm[0] == '\0' ||
	    service[0] == '\0' || issuer[0] == '\0') {
		snprintf(err, errlen, "bad token realm, service or issuer");
		return (-1);
	}
	if ((fp = fopen(cert, "re")) == NULL) {
		snprintf(err, errlen, "token certificate \"%s\": %s", cert,
		    strerror(errno));
		return (-1);
	}
	while (a->ntoken_keys < (int)(sizeof(a->token_keys) /
	    sizeof(a->token_keys[0]))) {
		if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
			pk = X509_get_pubkey(x);
			X509_free(x);
		} else
			break;
		if (pk == NULL)
			break;
		a->token_keys[a->ntoken_keys++] = pk;
	}
	if (a->ntoken_keys == 0) {
		/* A bare public key will do as well. */
		rewind(fp);
		ERR_clear_error();
		if ((pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL)) != NULL)
			a->token_keys[a->ntoken_keys++] = pk;
	}
	ERR_clear_error();
	fclose(fp);
	if (a->ntoken_keys == 0) {
		snprintf(err, errlen, "token certificate \"%s\": no PEM "
		    "certificate or public key", cert);
		return (-1);
	}
	a->type = AUTH_TOKEN;
	strlcpy(a->realm, realm, sizeof(a->realm));
	strlcpy(a->service, service, sizeof(a->service));
	strlcpy(a->issuer, issuer, sizeof(a->issuer));
	strlcpy(a->certfile, cert, sizeof(a->certfile));
	auth_init();
	return (0);
}

/* An IPv4 address as ::ffff:a.b.c.d, or an IPv6 one. */
int
auth_addr_bytes(const char *s, unsigned char *out)
{
	struct in_addr	 in4;

	if (inet_pton(AF_INET6, s, out) == 1)
		return (0);
	if (inet_pton(AF_INET, s, &in4) != 1)
		return (-1);
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &in4, 4);
	return (0);
}

/* "192.0.2.0/24", "2001:db8::/32" or one address. */
static int
rule_net(struct auth_rule *r, const char *s)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash;
	const char	*errstr;
	int		 v4, max;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return (-1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	v4 = strchr(buf, ':') == NULL;
	if (auth_addr_bytes(buf, r->net) == -1)
		return (-1);
	max = v4 ? 32 : 128;
	r->plen = max;
	if (slash != NULL) {
		r->plen = strtonum(slash, 0, max, &errstr);
		if (errstr != NULL)
			return (-1);
	}
	if (v4)
		r->plen += 96;
	return (0);
}

int
auth_rule(struct server_conf *srv, int deny, int actions, const char *repo,
    int who, const char *name, char *err, size_t errlen)
{
	struct auth_conf	*a;
	struct auth_rule	*r;

	if ((a = auth_get(srv)) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	r->deny = deny;
	r->actions = actions;
	r->who = who;
	if (who == WHO_USER && name != NULL && strcmp(name, "*") == 0)
		r->who = WHO_VALID;
	if ((repo != NULL && (repo[0] == '\0' || strlen(repo) > MAX_NAME)) ||
	    (who != WHO_ANY && (name == NULL || name[0] == '\0' ||
	    strlen(name) >= 64))) {
		free(r);
		snprintf(err, errlen, "bad repository pattern or name in "
		    "rule");
		return (-1);
	}
	if (who == WHO_ADDR && rule_net(r, name) == -1) {
		free(r);
		snprintf(err, errlen, "address \"%s\": not a numeric address "
		    "or address/prefix", name);
		return (-1);
	}
	if ((repo != NULL && strcmp(repo, "*") != 0 &&
	    (r->repo = strdup(repo)) == NULL) ||
	    (r->who != WHO_ANY && r->who != WHO_VALID &&
	    (r->name = strdup(name)) == NULL)) {
		free(r->repo);
		free(r);
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	TAILQ_INSERT_TAIL(&a->rules, r, entry);
	return (0);
}

/* Define group "name" (member NULL) or add a member to it. */
int
auth_group_add(struct regd_conf *conf, const char *name, const char *member,
    char *err, size_t errlen)
{
	struct auth_group	*g;
	char			**m;

	for (g = conf->groups; g != NULL; g = g->next)
		if (strcmp(g->name, name) == 0)
			break;
	if (member == NULL) {
		if (g != NULL) {
			snprintf(err, errlen, "group \"%s\" defined twice",
			    name);
			return (-1);
		}
		if (name[0] == '\0' || strlen(name) >= 64) {
			snprintf(err, errlen, "bad group name");
			return (-1);
		}
		if ((g = calloc(1, sizeof(*g))) == NULL ||
		    (g->name = strdup(name)) == NULL) {
			free(g);
			snprintf(err, errlen, "%s", strerror(errno));
			return (-1);
		}
		g->next = conf->groups;
		conf->groups = g;
		return (0);
	}
	if (g == NULL)
		return (0);	/* its definition failed and said so */
	if (member[0] == '\0' || strlen(member) >= 64) {
		snprintf(err, errlen, "bad user name in group \"%s\"", name);
		return (-1);
	}
	if ((m = reallocarray(g->members, g->nmembers + 1,
	    sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	g->members = m;
	if ((m[g->nmembers] = strdup(member)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	g->nmembers++;
	return (0);
}

int
auth_proxy(struct server_conf *srv, const char *addr, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res;

	if (srv->nproxies >= (int)(sizeof(srv->proxies) /
	    sizeof(srv->proxies[0]))) {
		snprintf(err, errlen, "too many trusted proxies");
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(addr, NULL, &hints, &res) != 0 ||
	    res->ai_addrlen > sizeof(srv->proxies[0])) {
		snprintf(err, errlen, "trusted proxy \"%s\": not a numeric "
		    "address", addr);
		return (-1);
	}
	memcpy(&srv->proxies[srv->nproxies++], res->ai_addr,
	    res->ai_addrlen);
	freeaddrinfo(res);
	return (0);
}

void
auth_server_free(struct server_conf *srv)
{
	struct auth_conf	*a = srv->auth;
	struct auth_rule	*r;
	int			 i;

	if (a == NULL)
		return;
	while ((r = TAILQ_FIRST(&a->rules)) != NULL) {
		TAILQ_REMOVE(&a->rules, r, entry);
		free(r->repo);
		free(r->name);
		free(r);
	}
	users_free(a->users, a->nusers);
	for (i = 0; i < a->ntoken_keys; i++)
		EVP_PKEY_free(a->token_keys[i]);
	free(a);
	srv->auth = NULL;
}

void
auth_conf_free(struct regd_conf *conf)
{
	struct auth_group	*g;
	size_t			 i;

	while ((g = conf->groups) != NULL) {
		conf->groups = g->next;
		for (i = 0; i < g->nmembers; i++)
			free(g->members[i]);
		free(g->members);
		free(g->name);
		free(g);
	}
}

static void
dump_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* config_dump's part: the groups (srv NULL) or one server's lines. */
void
auth_dump(struct regd_conf *conf, struct server_conf *srv)
{
	struct auth_group	*g, *rev = NULL, *next;
	struct auth_conf	*a;
	struct auth_rule	*r;
	char			 host[NI_MAXHOST];
	size_t			 i;
	int			 n;

	if (srv == NULL) {
		/* The list is kept newest first: dump in file order. */
		for (g = conf->groups; g != NULL; g = next) {
			next = g->next;
			g->next = rev;
			rev = g;
		}
		conf->groups = NULL;
		for (g = rev; g != NULL; g = next) {
			next = g->next;
			printf("group ");
			dump_str(g->name);
			printf(" {");
			for (i = 0; i < g->nmembers; i++) {
				putchar(' ');
				dump_str(g->members[i]);
			}
			printf(" }\n");
			g->next = conf->groups;
			conf->groups = g;
		}
		return;
	}
	if ((a = srv->auth) != NULL) {
		if (a->type == AUTH_HTPASSWD) {
			printf("\tauthenticate ");
			dump_str(a->realm);
			printf(" with ");
			dump_str(a->file);
			printf("\n");
		} else if (a->type == AUTH_TOKEN) {
			printf("\tauthenticate with token realm ");
			dump_str(a->realm);
			printf(" service ");
			dump_str(a->service);
			printf(" issuer ");
			dump_str(a->issuer);
			printf(" certificate ");
			dump_str(a->certfile);
			printf("\n");
		}
		TAILQ_FOREACH(r, &a->rules, entry) {
			printf("\t%s", r->deny ? "deny" : "allow");
			n = 0;
			if (r->actions & AUTH_PULL)
				printf("%s pull", n++ ? "," : "");
			if (r->actions & AUTH_PUSH)
				printf("%s push", n++ ? "," : "");
			if (r->actions & AUTH_DELETE)
				printf("%s delete", n++ ? "," : "");
			if (r->repo != NULL) {
				printf(" on ");
				dump_str(r->repo);
			}
			if (r->who == WHO_ANY)
				printf(" from any\n");
			else if (r->who == WHO_VALID)
				printf(" from user \"*\"\n");
			else if (r->who == WHO_ADDR) {
				printf(" from address ");
				dump_str(r->name);
				printf("\n");
			}
			else {
				printf(" from %s ", r->who == WHO_USER ?
				    "user" : "group");
				dump_str(r->name);
				printf("\n");
			}
		}
	}
	for (n = 0; n < srv->nproxies; n++) {
		if (getnameinfo((struct sockaddr *)&srv->proxies[n],
		    srv->proxies[n].ss_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
		    host, sizeof(host), NULL, 0, NI_NUMERICHOST) == 0)
			printf("\ttrusted proxy %s\n", host);
	}
	if (srv->max_login_failures != DEF_LOGIN_FAILURES)
		printf("\tmax login failures %d\n", srv->max_login_failures);
	if (srv->login_block != DEF_LOGIN_BLOCK)
		printf("\tlogin block %d\n", srv->login_block);
	if (srv->max_conns_addr != DEF_MAX_CONNS_ADDR)
		printf("\tmax connections per address %d\n",
		    srv->max_conns_addr);
}
