/*
 * Authentication and access rules in the frontend: Basic logins checked
 * against the htpasswd entries the parent loaded (bcrypt with crypt_r, a
 * small cache of verified credentials so keep-alive streams do not pay
 * bcrypt each time), bearer tokens from a token server, the rules, the
 * per-address limits and the trusted proxy's forwarded address.
 *
 * Failed logins and connections are counted per client address in memory
 * shared by all frontends (see auth_init), so limits hold whichever
 * frontend process a connection lands in.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <crypt.h>
#include <errno.h>
#include <fnmatch.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <jansson.h>

#include "regd.h"

#define CACHE_SIZE	256
#define CACHE_TTL	300	/* seconds a verified password is trusted */
#define MAX_CRED	512	/* decoded "user:password" */
#define MAX_LISTBODY	(16 * 1024 * 1024)
#define SLOW_AFTER	3	/* failures answered at once */
#define SLOW_STEP_MS	150
#define SLOW_MAX_MS	1000
#define FAIL_FORGET	3600	/* seconds after which failures are forgotten */

struct cred_cache {
	unsigned char	 key[SHA256_DIGEST_LENGTH];
	char		 user[64];
	time_t		 expires;
};

static struct cred_cache	 cache[CACHE_SIZE];
static int			 slot_cleared;

/* A hash of some user to spend bcrypt time on when the user is unknown. */
static const char dummy_hash[] =
    "$2y$05$LvqC1G0aGQB5.InEfpntQeFsY1QmdKqQ4vGPyh9nk7bZIC4KvOpQ2";


static void	 send_challenge(struct conn *, const char *, const char *);

/*
 * The critical sections are a few loads and stores, so a lock held for
 * this long belongs to a frontend that died holding it: take it over.
 */
#define SHM_SPIN_MAX	200000

static void
shm_lock(void)
{
	int	 n = 0;

	while (__atomic_test_and_set(&auth_shm->lock, __ATOMIC_ACQUIRE)) {
		if (++n >= SHM_SPIN_MAX) {
			log_warnx("address table lock taken over");
			break;
		}
		sched_yield();
	}
}

static void
shm_unlock(void)
{
	__atomic_clear(&auth_shm->lock, __ATOMIC_RELEASE);
}

static int
addr_bytes(const char *s, unsigned char *out)
{
	return (auth_addr_bytes(s, out));
}

static int
in_net(const struct auth_rule *r, const char *addr)
{
	unsigned char	 a[16];
	int		 full = r->plen / 8, rest = r->plen % 8;

	if (addr == NULL || addr_bytes(addr, a) == -1)
		return (0);
	if (memcmp(a, r->net, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	return (((a[full] ^ r->net[full]) & (0xff << (8 - rest)) & 0xff) ==
	    0);
}

/* This frontend's counts left by a dead predecessor in its slot go. */
static void
shm_clear_slot(void)
{
	int	 i;

	if (slot_cleared || auth_shm == NULL || env->slot < 0 ||
	    env->slot >= REGD_MAXSLOTS)
		return;
	slot_cleared = 1;
	shm_lock();
	for (i = 0; i < AUTH_SHM_ENTRIES; i++)
		auth_shm->ent[i].conns[env->slot] = 0;
	shm_unlock();
}

static int
ent_idle(struct auth_addr *e, time_t now)
{
	int	 i;

	if (e->failures != 0 && (e->block_until > now ||
	    e->last + 3600 > now))
		return (0);
	for (i = 0; i < REGD_MAXSLOTS; i++)
		if (e->conns[i] != 0)
			return (0);
	return (1);
}

/* With the lock held: the entry of addr, or a new one if create. */
static struct auth_addr *
shm_find(const unsigned char *addr, int create)
{
	struct auth_addr	*e, *victim = NULL;
	time_t			 now = time(NULL);
	uint32_t		 h = 2166136261u;
	int			 i, n;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	for (n = 0; n < 64; n++) {
		e = &auth_shm->ent[(h + n) % AUTH_SHM_ENTRIES];
		if (e->used && memcmp(e->addr, addr, 16) == 0)
			return (e);
		if (victim == NULL && (!e->used || ent_idle(e, now)))
			victim = e;
	}
	if (!create || victim == NULL)
		return (NULL);
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, addr, 16);
	victim->used = 1;
	victim->last = now;
	return (victim);
}

static int
is_proxy(struct server_conf *srv, const char *addr)
{
	unsigned char	 a[16], b[16];
	char		 host[INET6_ADDRSTRLEN];
	int		 i;

	if (srv->nproxies == 0 || addr_bytes(addr, a) == -1)
		return (0);
	for (i = 0; i < srv->nproxies; i++) {
		if (srv->proxies[i].ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    &srv->proxies[i])->sin_addr, host, sizeof(host));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    &srv->proxies[i])->sin6_addr, host, sizeof(host));
		if (addr_bytes(host, b) == 0 && memcmp(a, b, 16) == 0)
			return (1);
	}
	return (0);
}

/* A new connection from c->peer: -1 if its address has too many. */
int
auth_accept(struct conn *c, const struct sockaddr_storage *ss)
{
	struct auth_addr	*e;
	unsigned char		 a[16];
	int			 i, total;

	shm_clear_slot();
	if (c->srv->max_conns_addr == 0 || auth_shm == NULL ||
	    env->slot < 0 || env->slot >= REGD_MAXSLOTS ||
	    is_proxy(c->srv, c->peer) || addr_bytes(c->peer, a) == -1)
		return (0);
	shm_lock();
	if ((e = shm_find(a, 1)) == NULL) {
		shm_unlock();
		return (0);
	}
	for (i = total = 0; i < REGD_MAXSLOTS; i++)
		total += e->conns[i];
	if (total >= c->srv->max_conns_addr) {
		shm_unlock();
		log_debug("%s: more than %d connections", c->peer,
		    c->srv->max_conns_addr);
		return (-1);
	}
	e->conns[env->slot]++;
	e->last = time(NULL);
	c->shm_idx = (e - auth_shm->ent) + 1;
	shm_unlock();
	return (0);
}

void
auth_conn_closed(struct conn *c)
{
	struct auth_addr	*e;

	if (event_initialized(&c->ev_auth))
		evtimer_del(&c->ev_auth);
	if (c->shm_idx == 0 || auth_shm == NULL)
		return;
	shm_lock();
	e = &auth_shm->ent[c->shm_idx - 1];
	if (e->conns[env->slot] > 0)
		e->conns[env->slot]--;
	shm_unlock();
	c->shm_idx = 0;
}

/*
 * The client's address for this request: the peer, or what a trusted
 * proxy says in X-Forwarded-For (its last element, the one it saw).
 */
int
auth_from_proxy(struct conn *c)
{
	struct req	*r = &c->req;
	unsigned char	 a[16];
	char		 buf[64], *p;
	size_t		 n;

	strlcpy(c->addr, c->peer, sizeof(c->addr));
	if (r->xff == NULL || !is_proxy(c->srv, c->peer))
		return (0);
	p = strrchr(r->xff, ',');
	p = p != NULL ? p + 1 : r->xff;
	p += strspn(p, " \t");
	n = strcspn(p, " \t");
	if (n == 0 || n >= sizeof(buf))
		return (0);
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (addr_bytes(buf, a) == -1)
		return (0);
	strlcpy(c->addr, buf, sizeof(c->addr));
	return (1);
}

static int
in_group(const char *group, const char *user)
{
	struct auth_group	*g;
	size_t			 i;

	for (g = env->conf->groups; g != NULL; g = g->next) {
		if (strcmp(g->name, group) != 0)
			continue;
		for (i = 0; i < g->nmembers; i++)
			if (strcmp(g->members[i], user) == 0)
				return (1);
	}
	return (0);
}

/* First matching rule wins; without rules, any logged-in user may. */
static int
rules_allow(struct auth_conf *a, const char *user, int act, const char *repo,
    const char *addr)
{
	struct auth_rule	*r;

	if (TAILQ_EMPTY(&a->rules))
		return (user != NULL);
	TAILQ_FOREACH(r, &a->rules, entry) {
		if ((r->actions & act) == 0)
			continue;
		if (r->repo != NULL && fnmatch(r->repo, repo, 0) != 0)
			continue;
		switch (r->who) {
		case WHO_ANY:
			break;
		case WHO_VALID:
			if (user == NULL)
				continue;
			break;
		case WHO_USER:
			if (user == NULL || strcmp(user, r->name) != 0)
				continue;
			break;
		case WHO_GROUP:
			if (user == NULL || !in_group(r->name, user))
				continue;
			break;
		case WHO_ADDR:
			if (!in_net(r, addr))
				continue;
			break;
		}
		return (!r->deny);
	}
	return (0);
}

/*
 * May the peer of c use the metrics listener?  Its "allow from" and
 * "deny from" rules, first match wins; without rules, anybody who can
 * reach the address.  The socket's peer counts, never a forwarded one.
 */
int
auth_metrics_allowed(struct conn *c)
{
	struct auth_conf	*a = c->srv->auth;

	if (a == NULL || TAILQ_EMPTY(&a->rules))
		return (1);
	return (rules_allow(a, NULL, AUTH_PULL, "", c->peer));
}

/* Could the rules give the anonymous client anything to pull at all? */
static int
anon_may_pull(struct auth_conf *a, const char *addr)
{
	struct auth_rule	*r;

	TAILQ_FOREACH(r, &a->rules, entry)
		if (!r->deny && (r->actions & AUTH_PULL) &&
		    (r->who == WHO_ANY || (r->who == WHO_ADDR &&
		    in_net(r, addr))))
			return (1);
	return (0);
}

static void
no_keepalive_with_body(struct conn *c)
{
	/* The body was not read: it cannot be taken for the next request. */
	if (c->req.chunked || c->req.clen > 0)
		c->req.keepalive = 0;
}

/* 401 with the challenge of the server's scheme. */
static void
send_challenge(struct conn *c, const char *scope, const char *msg)
{
	struct auth_conf	*a = c->srv->auth;
	char			 hdr[1024];

	no_keepalive_with_body(c);
	if (a->type == AUTH_TOKEN) {
		if (scope != NULL)
			snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer "
			    "realm=\"%s\",service=\"%s\",scope=\"%s\"\r\n",
			    a->realm, a->service, scope);
		else
			snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer "
			    "realm=\"%s\",service=\"%s\"\r\n", a->realm,
			    a->service);
	} else if (a->type == AUTH_HTPASSWD)
		snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Basic "
		    "realm=\"%s\"\r\n", a->realm);
	else {
		http_error(c, 403, "DENIED", "requested access to the "
		    "resource is denied");
		return;
	}
	http_error_ext(c, 401, "UNAUTHORIZED", msg, hdr);
}

static void
send_denied(struct conn *c)
{
	no_keepalive_with_body(c);
	http_error(c, 403, "DENIED", "requested access to the resource is "
	    "denied");
}

static void
delayed_401(int fd, short event, void *arg)
{
	struct conn	*c = arg;

	c->req.authdelay = 0;
	send_challenge(c, NULL, "authentication required");
}

/*
 * With the lock held: the entry of the failed logins of user from addr,
 * or a new one if create.  A new one takes a free or forgotten entry,
 * else the one whose last failure is oldest, never a blocked one: when
 * none is left the pair goes uncounted, its address still counts.
 */
static struct auth_pair *
pair_find(const unsigned char *addr, const char *user, int create)
{
	struct auth_pair	*p, *idle = NULL, *oldest = NULL;
	time_t			 now = time(NULL);
	uint32_t		 h = 2166136261u;
	const char		*s;
	int			 i, n;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	for (s = user; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	for (n = 0; n < 64; n++) {
		p = &auth_shm->pairs[(h + n) % AUTH_SHM_PAIRS];
		if (p->used && memcmp(p->addr, addr, 16) == 0 &&
		    strcmp(p->user, user) == 0)
			return (p);
		if (!p->used || (p->block_until <= now &&
		    p->last_fail + FAIL_FORGET <= now)) {
			if (idle == NULL)
				idle = p;
		} else if (p->block_until <= now && (oldest == NULL ||
		    p->last_fail < oldest->last_fail))
			oldest = p;
	}
	if (!create || (p = idle != NULL ? idle : oldest) == NULL)
		return (NULL);
	memset(p, 0, sizeof(*p));
	memcpy(p->addr, addr, 16);
	strlcpy(p->user, user, sizeof(p->user));
	p->used = 1;
	return (p);
}

/* Seconds left of a block, which ends by forgetting the failures. */
static int64_t
block_left(int64_t *until, int *failures, time_t now)
{
	if (*until > now)
		return (*until - now);
	if (*until != 0) {
		*until = 0;
		*failures = 0;
	}
	return (0);
}

/*
 * Too many failures from this address (user NULL), or for this user from
 * this address: -1 after a 429, else 0.
 */
static int
login_blocked(struct conn *c, const unsigned char *a, const char *user)
{
	struct auth_addr	*e;
	struct auth_pair	*p;
	time_t			 now = time(NULL);
	int64_t			 left = 0;
	char			 hdr[64];

	if (auth_shm == NULL)
		return (0);
	shm_lock();
	if (user == NULL) {
		if ((e = shm_find(a, 0)) != NULL)
			left = block_left(&e->block_until, &e->failures, now);
	} else if ((p = pair_find(a, user, 0)) != NULL)
		left = block_left(&p->block_until, &p->failures, now);
	shm_unlock();
	if (left == 0)
		return (0);
	no_keepalive_with_body(c);
	snprintf(hdr, sizeof(hdr), "Retry-After: %lld\r\n", (long long)left);
	http_error_ext(c, 429, "TOOMANYREQUESTS", user == NULL ?
	    "too many failed logins from this address" :
	    "too many failed logins for this user from this address", hdr);
	return (-1);
}

/*
 * Count a login of user from address a.  A success forgets the failures
 * of this pair only: those of the address, whoever they were for, run on
 * until they are an hour old, so that good logins of one user do not hide
 * guesses at another's password.
 */
static void
login_result(struct conn *c, const unsigned char *a, const char *user,
    int ok)
{
	struct auth_addr	*e;
	struct auth_pair	*p;
	struct timeval		 tv;
	time_t			 now = time(NULL);
	int			 n = 0, ms, max = c->srv->max_login_failures;

	if (auth_shm != NULL) {
		shm_lock();
		if ((p = pair_find(a, user, !ok)) != NULL) {
			if (ok || p->last_fail + FAIL_FORGET <= now)
				p->failures = 0;
			if (!ok) {
				p->last_fail = now;
				if (++p->failures >= max)
					p->block_until = now +
					    c->srv->login_block;
			}
		}
		if (!ok && (e = shm_find(a, 1)) != NULL) {
			if (e->last_fail + FAIL_FORGET <= now)
				e->failures = 0;
			n = ++e->failures;
			e->last = e->last_fail = now;
			if (n >= max * AUTH_ADDR_FACTOR)
				e->block_until = now + c->srv->login_block;
		}
		shm_unlock();
	}
	if (ok)
		return;
	front_metrics()->login_failures++;
	log_info("%s: failed login", c->addr);
	if (n <= SLOW_AFTER) {
		send_challenge(c, NULL, "authentication required");
		return;
	}
	/* Later failures wait before the answer. */
	ms = (n - SLOW_AFTER) * SLOW_STEP_MS;
	if (ms > SLOW_MAX_MS)
		ms = SLOW_MAX_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	c->req.authdelay = 1;
	conn_hold(c);
	evtimer_set(&c->ev_auth, delayed_401, c);
	evtimer_add(&c->ev_auth, &tv);
}

static const struct auth_user *
user_find(struct auth_conf *a, const char *name)
{
	size_t	 lo = 0, hi = a->nusers, mid;
	int	 cmp;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		cmp = strcmp(name, a->users[mid].name);
		if (cmp == 0)
			return (&a->users[mid]);
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

static int
bcrypt_ok(const char *pass, const char *hash)
{
	static struct crypt_data	 cd;
	const char			*out;
	size_t				 len = strlen(hash);
	int				 ok;

	memset(&cd, 0, sizeof(cd));
	out = crypt_r(pass, hash, &cd);
	ok = out != NULL && strlen(out) == len &&
	    CRYPTO_memcmp(out, hash, len) == 0;
	explicit_bzero(&cd, sizeof(cd));
	return (ok);
}

/*
 * Basic credentials: 1 and the user name if good, 0 if not (an answer is
 * sent or scheduled), -1 if the address is blocked (429 sent).
 */
static int
basic_login(struct conn *c, struct auth_conf *a, char *user, size_t ulen)
{
	const struct auth_user	*u;
	unsigned char		 dec[MAX_CRED + 4], key[SHA256_DIGEST_LENGTH];
	unsigned char		 ab[16];
	const char		*p = c->req.auth + 6;
	char			*colon;
	size_t			 n, plen;
	time_t			 now = time(NULL);
	EVP_MD_CTX		*md;
	int			 i, ok, freei = -1;

	memset(ab, 0, sizeof(ab));
	addr_bytes(c->addr, ab);
	if (login_blocked(c, ab, NULL) == -1)
		return (-1);
	p += strspn(p, " ");
	n = auth_b64_decode(p, strcspn(p, " "), dec, MAX_CRED);
	if (n == (size_t)-1 || (colon = memchr(dec, ':', n)) == NULL ||
	    memchr(dec, '\0', n) != NULL || (size_t)((unsigned char *)colon -
	    dec) >= ulen) {
		login_result(c, ab, "", 0);
		explicit_bzero(dec, sizeof(dec));
		return (0);
	}
	dec[n] = '\0';
	*colon = '\0';
	plen = n - (colon + 1 - (char *)dec);
	if (dec[0] == '\0') {
		/* Clients without credentials may send ":": anonymous. */
		explicit_bzero(dec, sizeof(dec));
		user[0] = '\0';
		return (1);
	}
	if (login_blocked(c, ab, (char *)dec) == -1) {
		explicit_bzero(dec, sizeof(dec));
		return (-1);
	}

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, c->srv->name, strlen(c->srv->name) + 1) != 1 ||
	    EVP_DigestUpdate(md, dec, n) != 1 ||
	    EVP_DigestFinal_ex(md, key, NULL) != 1) {
		EVP_MD_CTX_free(md);
		explicit_bzero(dec, sizeof(dec));
		http_error(c, 500, "UNKNOWN", "cannot hash credentials");
		return (0);
	}
	EVP_MD_CTX_free(md);
	for (i = 0; i < CACHE_SIZE; i++) {
		if (cache[i].expires <= now) {
			if (freei == -1)
				freei = i;
			continue;
		}
		if (CRYPTO_memcmp(cache[i].key, key, sizeof(key)) == 0) {
			strlcpy(user, cache[i].user, ulen);
			explicit_bzero(dec, sizeof(dec));
			login_result(c, ab, user, 1);
			return (1);
		}
	}

	u = user_find(a, (char *)dec);
	ok = bcrypt_ok(colon + 1, u != NULL ? u->hash : a->nusers > 0 ?
	    a->users[0].hash : dummy_hash) && u != NULL;
	explicit_bzero(dec + (colon + 1 - (char *)dec), plen);
	if (!ok) {
		login_result(c, ab, (char *)dec, 0);
		explicit_bzero(dec, sizeof(dec));
		return (0);
	}
	strlcpy(user, (char *)dec, ulen);
	explicit_bzero(dec, sizeof(dec));
	if (freei == -1) {
		/* Full of live entries: the one expiring first goes. */
		freei = 0;
		for (i = 1; i < CACHE_SIZE; i++)
			if (cache[i].expires < cache[freei].expires)
				freei = i;
	}
	memcpy(cache[freei].key, key, sizeof(key));
	strlcpy(cache[freei].user, user, sizeof(cache[freei].user));
	cache[freei].expires = now + CACHE_TTL;
	login_result(c, ab, user, 1);
	return (1);
}

/* JWT bearer tokens. */

/* A bearer token of this request: see jwt_verify. */
static int
token_check(struct conn *c, struct auth_conf *a, const char *repo,
    char *user, size_t ulen, int *granted)
{
	return (jwt_verify(a, c->req.auth + 7, repo, time(NULL), user, ulen,
	    granted));
}

static void
token_scope(struct conn *c, int act, char *buf, size_t len)
{
	if (act == 0)
		snprintf(buf, len, "registry:catalog:*");
	else
		snprintf(buf, len, "repository:%s:%s", c->req.name,
		    act == AUTH_PULL ? "pull" : act == AUTH_PUSH ? "pull,push" :
		    "delete");
}

static int
token_request(struct conn *c, struct auth_conf *a, const char *action)
{
	struct req	*r = &c->req;
	char		 scope[MAX_NAME + 64];
	int		 act = auth_action_bit(action), granted, base;

	base = strcmp(action, "base") == 0;
	token_scope(c, act, scope, sizeof(scope));
	if (r->auth == NULL || strncasecmp(r->auth, "Bearer ", 7) != 0) {
		send_challenge(c, base ? NULL : scope,
		    "authentication required");
		return (-1);
	}
	if (token_check(c, a, act != 0 ? r->name : NULL, r->user,
	    sizeof(r->user), &granted) == -1) {
		r->user[0] = '\0';
		send_challenge(c, base ? NULL : scope, "invalid token");
		return (-1);
	}
	if (base)
		return (0);
	if (act == 0)
		act = AUTH_PULL;	/* the catalog: registry:catalog:* */
	if ((granted & act) == 0) {
		/* The client asks its token server for more on a 401. */
		send_challenge(c, scope, "insufficient scope");
		return (-1);
	}
	return (0);
}

/*
 * The hook of every API route (api_authorize): 0 to go on, -1 after an
 * answer was sent or scheduled.
 */
int
auth_request(struct conn *c, const char *action)
{
	struct auth_conf	*a = c->srv->auth;
	struct req		*r = &c->req;
	int			 act, rv;

	if (a == NULL)
		return (0);
	if (a->type == AUTH_TOKEN)
		return (token_request(c, a, action));
	if (a->type == AUTH_HTPASSWD && r->auth != NULL) {
		if (strncasecmp(r->auth, "Basic ", 6) != 0) {
			send_challenge(c, NULL, "only Basic authentication "
			    "is accepted");
			return (-1);
		}
		if ((rv = basic_login(c, a, r->user, sizeof(r->user))) != 1)
			return (-1);
	}
	if (strcmp(action, "base") == 0) {
		if (a->type != AUTH_NONE && r->user[0] == '\0') {
			send_challenge(c, NULL, "authentication required");
			return (-1);
		}
		return (0);
	}
	if (strcmp(action, "catalog") == 0) {
		if (a->type != AUTH_NONE && r->user[0] == '\0' &&
		    !anon_may_pull(a, c->addr)) {
			send_challenge(c, NULL, "authentication required");
			return (-1);
		}
		return (0);
	}
	act = auth_action_bit(action);
	if (!rules_allow(a, r->user[0] != '\0' ? r->user : NULL, act,
	    r->name, c->addr)) {
		if (r->user[0] == '\0')
			send_challenge(c, NULL, "authentication required");
		else
			send_denied(c);
		return (-1);
	}
	return (0);
}

/*
 * The first of n repositories this request's client may pull (a mount's
 * source): its index, or -1.  Call it after auth_request let the request
 * in.  Without authentication everything may be pulled.
 */
int
auth_pick_pullable(struct conn *c, char *const *repos, size_t n)
{
	struct auth_conf	*a = c->srv->auth;
	struct req		*r = &c->req;
	size_t			 i;

	if (n == 0)
		return (-1);
	if (a == NULL)
		return (0);
	if (a->type == AUTH_TOKEN) {
		if (r->auth == NULL || strncasecmp(r->auth, "Bearer ", 7) != 0)
			return (-1);
		return (jwt_pick(a, r->auth + 7, time(NULL), AUTH_PULL, repos,
		    n));
	}
	for (i = 0; i < n; i++)
		if (valid_name(repos[i]) && rules_allow(a, r->user[0] != '\0' ?
		    r->user : NULL, AUTH_PULL, repos[i], c->addr))
			return (i);
	return (-1);
}

/* A listing storage sent in a memfd: size bytes, as it said. */
static int
read_list(int fd, int64_t size, char **bufp)
{
	unsigned char	*buf;
	size_t		 len;

	if (size < 0 || size > MAX_LISTBODY ||
	    read_fd_all(fd, MAX_LISTBODY, 0, &buf, &len) == -1)
		return (-1);
	if (len != (size_t)size) {
		free(buf);
		return (-1);
	}
	*bufp = (char *)buf;
	return (0);
}

/*
 * Storage's list of the repositories linking a blob (ST_UPLOAD_START with
 * STF_MOUNT_WHERE): the first one the client may pull goes into src.
 * Returns 0 with a source, -1 without one.  The fd is closed.
 */
int
auth_mount_source(struct conn *c, int fd, int64_t size, char *src,
    size_t len)
{
	json_t		*root = NULL, *repos, *v;
	char		*buf = NULL, **names = NULL;
	size_t		 i, n = 0;
	int		 k, rv = -1;

	if (fd == -1)
		return (-1);
	auth_json_seed();
	if (read_list(fd, size, &buf) == -1 ||
	    (root = json_loadb(buf, size, 0, NULL)) == NULL ||
	    !json_is_array(repos = json_object_get(root, "repositories")) ||
	    json_array_size(repos) == 0 ||
	    (names = calloc(json_array_size(repos), sizeof(*names))) == NULL)
		goto done;
	json_array_foreach(repos, i, v)
		if (json_is_string(v))
			names[n++] = (char *)json_string_value(v);
	if ((k = auth_pick_pullable(c, names, n)) != -1 &&
	    strlcpy(src, names[k], len) < len)
		rv = 0;
done:
	close(fd);
	free(names);
	free(buf);
	json_decref(root);
	return (rv);
}

/*
 * The catalog as storage listed it (every name after "last"), less what
 * the client may not pull, then cut to a page of n names (n < 0: all):
 * paging after filtering, so that neither the page nor the Link names a
 * repository the client may not see.  Returns 1 with the new body in
 * *out (and in last the name to go on from when more remain, else ""),
 * 0 when nothing is filtered (the fd is left alone) and -1 on error (the
 * fd is closed).
 */
int
auth_filter_list(struct conn *c, int fd, int64_t size, int64_t n,
    struct evbuffer **out, char *last, size_t lastlen)
{
	struct auth_conf	*a = c->srv->auth;
	const char		*user = c->req.user[0] != '\0' ?
				    c->req.user : NULL;
	json_t			*root = NULL, *repos, *keep = NULL, *v;
	char			*buf = NULL, *dump = NULL;
	size_t			 i;
	int			 rv = -1;

	*out = NULL;
	last[0] = '\0';
	if (a == NULL || a->type == AUTH_TOKEN)
		return (0);
	auth_json_seed();
	if (read_list(fd, size, &buf) == -1)
		goto done;
	if ((root = json_loadb(buf, size, 0, NULL)) == NULL ||
	    !json_is_array(repos = json_object_get(root, "repositories")) ||
	    (keep = json_array()) == NULL)
		goto done;
	json_array_foreach(repos, i, v) {
		if (!json_is_string(v) || !rules_allow(a, user, AUTH_PULL,
		    json_string_value(v), c->addr))
			continue;
		if (n >= 0 && (int64_t)json_array_size(keep) >= n) {
			/* One more visible name: the page is full. */
			if (n > 0)
				strlcpy(last, json_string_value(json_array_get(
				    keep, n - 1)), lastlen);
			break;
		}
		json_array_append(keep, v);
	}
	if (json_object_set(root, "repositories", keep) == -1 ||
	    (dump = json_dumps(root, JSON_COMPACT)) == NULL ||
	    (*out = evbuffer_new()) == NULL)
		goto done;
	evbuffer_add(*out, dump, strlen(dump));
	rv = 1;
done:
	close(fd);
	free(dump);
	free(buf);
	json_decref(keep);
	json_decref(root);
	return (rv);
}
