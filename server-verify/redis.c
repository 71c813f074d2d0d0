/*
 * The Redis client behind the Redis replay store and the shared rate
 * buckets (redis.h, docs/redis.md).  hiredis 0.14 speaks the protocol;
 * this file adds what the store needs around it: a strict URI, AUTH and
 * SELECT on every (re)connection, timeouts, a backoff, EVALSHA with the
 * EVAL fallback, and one error code for every way a command can fail.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/hex.h"
#include "server-verify/redis.h"

#define REDIS_TIMEOUT_MS	1000
#define REDIS_WAIT_MS		100
#define REDIS_BACKOFF_MIN_MS	50
#define REDIS_BACKOFF_MAX_MS	2000
#define REDIS_SHOWN_REPLY	120	/* bytes of an error reply in a detail */
#define REDIS_MAX_ARGS		32

struct ob_redis {
	pthread_mutex_t	 lock;
	struct ob_redis_addr a;
	char		*user;
	char		*password;
	size_t		 password_len;
	char		 prefix[OB_REDIS_PREFIX_MAX + 1];
	unsigned	 connect_ms, timeout_ms, wait_replicas, wait_ms;
	redisContext	*c;
	long long	 next_try_ms;	/* monotonic; 0: try at once */
	long long	 backoff_ms;	/* 0 while the connection is good */
	int		 last_code;	/* of the failure that set next_try_ms */
	char		 last_err[160];
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
tv_ms(unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

int
ob_redis_new(const struct ob_redis_cfg *cfg, struct ob_redis **out)
{
	struct ob_redis	*r;
	int		 rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return OB_ERR_ALLOC;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return OB_ERR_ALLOC;
	}
	if ((rc = ob_redis_uri_parse(cfg->uri, &r->a)) != OB_OK ||
	    (rc = ob_redis_prefix_check(cfg->prefix)) != OB_OK)
		goto fail;
	(void)snprintf(r->prefix, sizeof(r->prefix), "%s",
	    cfg->prefix != NULL ? cfg->prefix : "ob:");
	if ((cfg->user != NULL && (r->user = strdup(cfg->user)) == NULL) ||
	    (cfg->password != NULL &&
	    (r->password = strdup(cfg->password)) == NULL)) {
		rc = OB_ERR_ALLOC;
		goto fail;
	}
	if (r->password != NULL)
		r->password_len = strlen(r->password);
	r->connect_ms = cfg->connect_timeout_ms != 0 ?
	    cfg->connect_timeout_ms : REDIS_TIMEOUT_MS;
	r->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms :
	    REDIS_TIMEOUT_MS;
	r->wait_replicas = cfg->wait_replicas;
	r->wait_ms = cfg->wait_timeout_ms != 0 ? cfg->wait_timeout_ms :
	    REDIS_WAIT_MS;
	*out = r;
	return OB_OK;
fail:
	ob_redis_free(&r);
	return rc;
}

void
ob_redis_free(struct ob_redis **rp)
{
	struct ob_redis *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	if (r->c != NULL)
		redisFree(r->c);
	free(r->user);
	if (r->password != NULL) {
		OPENSSL_cleanse(r->password, r->password_len);
		free(r->password);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
	*rp = NULL;
}

const char *
ob_redis_prefix(const struct ob_redis *r)
{
	return r->prefix;
}

int
ob_redis_script_init(struct ob_redis_script *s, const char *text)
{
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0;

	if (EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) != 1 ||
	    n != 20)
		return ob_errf(OB_ERR_CRYPTO, "SHA-1 of a script");
	(void)ob_bin_to_hex(md, n, s->sha, sizeof(s->sha));
	s->text = text;
	return OB_OK;
}

/*
 * The connection failed: drop it and wait longer before the next try;
 * until then every call fails at once with code (and what as detail).
 */
static void
rc_drop(struct ob_redis *r, int code, const char *what)
{
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
	r->backoff_ms = r->backoff_ms == 0 ? REDIS_BACKOFF_MIN_MS :
	    r->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS :
	    r->backoff_ms * 2;
	r->next_try_ms = mono_ms() + r->backoff_ms;
	r->last_code = code;
	(void)snprintf(r->last_err, sizeof(r->last_err), "%s", what);
}

static int
rc_down(struct ob_redis *r, const char *what)
{
	rc_drop(r, OB_ERR_STATE_UNAVAILABLE, what);
	return ob_errf(OB_ERR_STATE_UNAVAILABLE, "redis: %s", what);
}

/* Shown text of an error reply, cut to REDIS_SHOWN_REPLY bytes. */
static void
reply_text(const redisReply *rep, char *buf, size_t size)
{
	size_t i, n = rep->len < REDIS_SHOWN_REPLY ? rep->len :
	    REDIS_SHOWN_REPLY;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		buf[i] = isprint((unsigned char)rep->str[i]) ? rep->str[i] :
		    '?';
	buf[n] = '\0';
}

static int
starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/*
 * An error reply's code.  NOSCRIPT is the caller's to handle (1).  After
 * a failover the old primary answers READONLY and a promoted replica
 * may be LOADING; a primary without its min-replicas-to-write says
 * NOREPLICAS: drop the connection, so that the next one reaches whoever
 * the address names now.
 */
static int
rc_error(struct ob_redis *r, const redisReply *rep, const char *what)
{
	char t[REDIS_SHOWN_REPLY + 1];

	reply_text(rep, t, sizeof(t));
	if (starts(t, "NOSCRIPT"))
		return 1;
	if (starts(t, "NOAUTH") || starts(t, "WRONGPASS") ||
	    starts(t, "NOPERM") || strstr(t, "can't run this command") !=
	    NULL || strstr(t, "no permissions") != NULL) {
		if (starts(t, "NOAUTH") && r->c != NULL) {
			redisFree(r->c);
			r->c = NULL;
		}
		return ob_errf(OB_ERR_STATE_AUTH, "redis %s: %s", what, t);
	}
	if (starts(t, "READONLY") || starts(t, "MASTERDOWN") ||
	    starts(t, "LOADING") || starts(t, "BUSY") ||
	    starts(t, "TRYAGAIN") || starts(t, "CLUSTERDOWN") ||
	    starts(t, "NOREPLICAS")) {
		rc_drop(r, OB_ERR_STATE_UNAVAILABLE, t);
		return ob_errf(OB_ERR_STATE_UNAVAILABLE, "redis %s: %s", what,
		    t);
	}
	return ob_errf(OB_ERR_STATE_REPLY, "redis %s: %s", what, t);
}

/*
 * Writing to a Redis that has died raises SIGPIPE, which kills a process
 * that does not ignore it (hiredis writes with write(2), not with
 * MSG_NOSIGNAL).  Around each command the signal is blocked in this
 * thread and the one the write raised is taken back, as curl does
 * (lib/sigpipe.h); a SIGPIPE pending before is left alone.
 */
struct nopipe {
	sigset_t	old;
	int		pending;
};

static void
nopipe_begin(struct nopipe *p)
{
	sigset_t s, pend;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	p->pending = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE);
	(void)pthread_sigmask(SIG_BLOCK, &s, &p->old);
}

static void
nopipe_end(struct nopipe *p)
{
	struct timespec	zero = { 0, 0 };
	sigset_t	s, pend;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	if (!p->pending && sigpending(&pend) == 0 &&
	    sigismember(&pend, SIGPIPE))
		(void)sigtimedwait(&s, NULL, &zero);
	(void)pthread_sigmask(SIG_SETMASK, &p->old, NULL);
}

/* One command on the open connection; *out a reply that is not an error. */
static int
rc_run(struct ob_redis *r, int argc, const char **argv, const size_t *lens,
    const char *what, redisReply **out)
{
	struct nopipe	 np;
	redisReply	*rep;
	char		 e[160];
	int		 rc, err;

	nopipe_begin(&np);
	rep = redisCommandArgv(r->c, argc, argv, lens);
	err = errno;
	nopipe_end(&np);
	if (rep == NULL) {
		errno = err;
		(void)snprintf(e, sizeof(e), "%s: %s", what, r->c->err ==
		    REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK) ?
		    "no answer in time" : r->c->errstr[0] != '\0' ?
		    r->c->errstr : "connection lost");
		return rc_down(r, e);
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		rc = rc_error(r, rep, what);
		freeReplyObject(rep);
		return rc;
	}
	*out = rep;
	return OB_OK;
}

/* A reply that must be +OK. */
static int
rc_ok(struct ob_redis *r, int argc, const char **argv, const size_t *lens,
    const char *what)
{
	redisReply	*rep = NULL;
	int		 rc;

	if ((rc = rc_run(r, argc, argv, lens, what, &rep)) != OB_OK)
		return rc;
	if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "OK") != 0)
		rc = ob_errf(OB_ERR_STATE_REPLY, "redis %s: not OK", what);
	freeReplyObject(rep);
	return rc;
}

/*
 * A connection, AUTHenticated and on its database, or a code.  The
 * password is in hiredis' output buffer while AUTH is written; hiredis
 * does not wipe that buffer (docs/redis.md says so).
 */
static int
rc_connect(struct ob_redis *r)
{
	struct timeval	 ct = tv_ms(r->connect_ms), t = tv_ms(r->timeout_ms);
	const char	*argv[3];
	size_t		 lens[3];
	char		 db[16], e[160];
	int		 n, rc;

	if (r->c != NULL)
		return OB_OK;
	if (r->next_try_ms != 0 && mono_ms() < r->next_try_ms)
		return ob_errf(r->last_code, "redis: down (%s); next try in "
		    "%lld ms", r->last_err, r->next_try_ms - mono_ms());
	r->c = r->a.is_unix ? redisConnectUnixWithTimeout(r->a.path, ct) :
	    redisConnectWithTimeout(r->a.host, r->a.port, ct);
	if (r->c == NULL)
		return rc_down(r, "connect: out of memory");
	if (r->c->err != 0) {
		(void)snprintf(e, sizeof(e), "connect: %s", r->c->errstr);
		return rc_down(r, e);
	}
	if (redisSetTimeout(r->c, t) != REDIS_OK ||
	    (!r->a.is_unix && redisEnableKeepAlive(r->c) != REDIS_OK))
		return rc_down(r, "setting the socket timeouts");
	if (r->password != NULL) {
		n = 0;
		argv[n] = "AUTH";
		lens[n++] = 4;
		if (r->user != NULL) {
			argv[n] = r->user;
			lens[n++] = strlen(r->user);
		}
		argv[n] = r->password;
		lens[n++] = r->password_len;
		if ((rc = rc_ok(r, n, argv, lens, "AUTH")) != OB_OK) {
			if (rc == OB_ERR_STATE_REPLY)
				rc = ob_err_prefix(OB_ERR_STATE_AUTH, "refused");
			if (rc != OB_ERR_STATE_UNAVAILABLE)
				rc_drop(r, rc, "AUTH refused");
			return rc;
		}
	}
	if (r->a.db != 0) {
		n = snprintf(db, sizeof(db), "%d", r->a.db);
		argv[0] = "SELECT";
		lens[0] = 6;
		argv[1] = db;
		lens[1] = (size_t)n;
		if ((rc = rc_ok(r, 2, argv, lens, "SELECT")) != OB_OK) {
			if (rc != OB_ERR_STATE_UNAVAILABLE)
				rc_drop(r, rc, "SELECT refused");
			return rc;
		}
	}
	r->backoff_ms = 0;
	r->next_try_ms = 0;
	return OB_OK;
}

int
ob_redis_ping(struct ob_redis *r)
{
	const char	*argv[1] = { "PING" };
	size_t		 lens[1] = { 4 };
	redisReply	*rep = NULL;
	int		 rc;

	pthread_mutex_lock(&r->lock);
	if ((rc = rc_connect(r)) == OB_OK &&
	    (rc = rc_run(r, 1, argv, lens, "PING", &rep)) == OB_OK) {
		if (rep->type != REDIS_REPLY_STATUS ||
		    strcmp(rep->str, "PONG") != 0)
			rc = ob_errf(OB_ERR_STATE_REPLY, "redis PING: not PONG");
		freeReplyObject(rep);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
ob_redis_command(struct ob_redis *r, int argc, const char *const *argv,
    const size_t *lens, redisReply **out)
{
	const char	*a[REDIS_MAX_ARGS];
	int		 i, rc;

	if (argc < 1 || argc > REDIS_MAX_ARGS)
		return ob_errf(OB_ERR_INVALID_ARG, "redis: %d arguments", argc);
	for (i = 0; i < argc; i++)
		a[i] = argv[i];
	pthread_mutex_lock(&r->lock);
	if ((rc = rc_connect(r)) == OB_OK &&
	    (rc = rc_run(r, argc, a, lens, a[0], out)) == 1)
		rc = OB_ERR_STATE_REPLY;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int
ob_redis_wait(struct ob_redis *r)
{
	const char	*argv[3];
	size_t		 lens[3];
	char		 n[16], ms[16];
	redisReply	*rep = NULL;
	int		 rc;

	argv[0] = "WAIT";
	lens[0] = 4;
	argv[1] = n;
	lens[1] = (size_t)snprintf(n, sizeof(n), "%u", r->wait_replicas);
	argv[2] = ms;
	lens[2] = (size_t)snprintf(ms, sizeof(ms), "%u", r->wait_ms);
	if (r->wait_replicas == 0)
		return OB_OK;
	pthread_mutex_lock(&r->lock);
	/* A new connection has written nothing: its WAIT would prove nothing. */
	if (r->c == NULL)
		rc = ob_errf(OB_ERR_STATE_UNAVAILABLE, "redis: the connection "
		    "was lost before WAIT");
	else
		rc = rc_run(r, 3, argv, lens, "WAIT", &rep);
	if (rc != OB_OK) {
		pthread_mutex_unlock(&r->lock);
		return rc == 1 ? OB_ERR_STATE_REPLY : rc;
	}
	pthread_mutex_unlock(&r->lock);
	if (rep->type != REDIS_REPLY_INTEGER)
		rc = ob_errf(OB_ERR_STATE_REPLY, "redis WAIT: not an integer");
	else if (rep->integer < (long long)r->wait_replicas)
		rc = ob_errf(OB_ERR_STATE_REPLICAS, "redis WAIT: %lld of %u "
		    "replicas within %u ms", rep->integer, r->wait_replicas,
		    r->wait_ms);
	freeReplyObject(rep);
	return rc;
}

int
ob_redis_eval(struct ob_redis *r, const struct ob_redis_script *s,
    int nkeys, int argc, const char *const *argv, const size_t *lens,
    redisReply **out)
{
	const char	*a[REDIS_MAX_ARGS];
	size_t		 l[REDIS_MAX_ARGS];
	char		 nk[16];
	redisReply	*rep = NULL;
	int		 i, rc;

	if (argc < nkeys || nkeys < 0 || argc + 3 > REDIS_MAX_ARGS)
		return ob_errf(OB_ERR_INVALID_ARG, "redis: %d arguments", argc);
	a[0] = "EVALSHA";
	l[0] = 7;
	a[1] = s->sha;
	l[1] = 40;
	a[2] = nk;
	l[2] = (size_t)snprintf(nk, sizeof(nk), "%d", nkeys);
	for (i = 0; i < argc; i++) {
		a[i + 3] = argv[i];
		l[i + 3] = lens[i];
	}
	pthread_mutex_lock(&r->lock);
	if ((rc = rc_connect(r)) != OB_OK)
		goto out;
	/* A restarted or promoted Redis has an empty script cache. */
	if ((rc = rc_run(r, argc + 3, a, l, "EVALSHA", &rep)) == 1) {
		a[0] = "EVAL";
		l[0] = 4;
		a[1] = s->text;
		l[1] = strlen(s->text);
		if ((rc = rc_run(r, argc + 3, a, l, "EVAL", &rep)) == 1)
			rc = OB_ERR_STATE_REPLY;
	}
	if (rc != OB_OK)
		goto out;
	*out = rep;
	rep = NULL;
	rc = OB_OK;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	pthread_mutex_unlock(&r->lock);
	return rc;
}
