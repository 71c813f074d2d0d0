/*
 * Replay state shared by many identity servers through one Redis
 * (docs/redis.md).  Every acceptance is one Lua script, which Redis runs
 * atomically: the jti unseen, the nonce live, unused and bound to this
 * request, the FIDO2 counter greater, and only then the writes.  Two
 * servers that race with one envelope, one nonce or one counter value
 * are serialised by Redis itself; exactly one is accepted.
 *
 * The answers are the SQLite store's (state_sqlite.c), case by case and
 * code by code: records carry their own expiry and are compared with the
 * caller's clock, so a record kept past its time behaves as gone.  Redis
 * drops records by itself: every key has a relative TTL (SET PX,
 * PEXPIRE) of its time left by the caller's clock plus REDIS_MARGIN, so
 * Redis' clock never needs to agree with the servers' (docs/redis.md,
 * "Expiry").  There is nothing for an acceptance to prune.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/alg.h"
#include "core/err.h"
#include "core/hex.h"
#include "server-verify/redis.h"
#include "server-verify/state.h"

/* Used nonces answer "used"/"expired" this long past their expiry. */
#define REDIS_NONCE_GRACE	3600
/* Seconds a key outlives its record: the servers' clocks may differ. */
#define REDIS_MARGIN		60
/* A TTL never exceeds ten years, whatever keep_until says. */
#define REDIS_TTL_MAX		(10LL * 366 * 86400)

/*
 * One acceptance (docs/redis.md, "Scripts").  KEYS: the jti record, the
 * set of nonces bound to this jti, then the nonce and the counter when
 * ARGV says they are there.  ARGV: now, keep_until, jti, the jti's TTL
 * (ms), the nonce grace, has-nonce, nonce, has-counter, counter.
 * Returns {status, last counter}; status 0 is the acceptance.
 */
static const char commit_lua[] =
"local now = tonumber(ARGV[1])\n"
"local seen = redis.call('GET', KEYS[1])\n"
"if seen and tonumber(seen) > now then return {1, 0} end\n"
"local k, nk, ck = 3, nil, nil\n"
"if ARGV[6] == '1' then\n"
"  nk = KEYS[k]\n"
"  k = k + 1\n"
"  local n = redis.call('HMGET', nk, 'e', 'u', 'b')\n"
"  local e = tonumber(n[1])\n"
"  if not e or e <= now - tonumber(ARGV[5]) then return {2, 0} end\n"
"  if n[2] == '1' then return {3, 0} end\n"
"  if e <= now then return {4, 0} end\n"
"  if n[3] then\n"
"    if n[3] ~= ARGV[3] then return {5, 0} end\n"
"  elseif redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf') > 0 then\n"
"    return {6, 0}\n"
"  end\n"
"elseif redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[1], '+inf') > 0 then\n"
"  return {7, 0}\n"
"end\n"
"if ARGV[8] == '1' then\n"
"  ck = KEYS[k]\n"
"  local v = redis.call('GET', ck)\n"
"  if v then\n"
"    local c, l = tonumber(ARGV[9]), tonumber(v)\n"
"    if (c ~= 0 or l ~= 0) and c <= l then return {8, l} end\n"
"  end\n"
"end\n"
"redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])\n"
"if nk then\n"
"  redis.call('HSET', nk, 'u', '1')\n"
"  redis.call('ZREM', KEYS[2], ARGV[7])\n"
"end\n"
"if ck then redis.call('SET', ck, ARGV[9]) end\n"
"return {0, 0}\n";

/*
 * Issue a nonce.  KEYS: the nonce, and the bound jti's set when bound.
 * ARGV: expires, the nonce's TTL (ms), bound, the bound jti, the set's
 * TTL (ms), the nonce.  Returns 0, or 1 when the nonce exists.
 */
static const char nonce_lua[] =
"if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end\n"
"if ARGV[3] == '1' then\n"
"  redis.call('HSET', KEYS[1], 'e', ARGV[1], 'u', '0', 'b', ARGV[4])\n"
"  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[6])\n"
"  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[5]) then\n"
"    redis.call('PEXPIRE', KEYS[2], ARGV[5])\n"
"  end\n"
"else\n"
"  redis.call('HSET', KEYS[1], 'e', ARGV[1], 'u', '0')\n"
"end\n"
"redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
"return 0\n";

enum {
	RS_OK, RS_REPLAY, RS_NONCE_UNKNOWN, RS_NONCE_USED, RS_NONCE_EXPIRED,
	RS_NONCE_MISMATCH, RS_NONCE_SKIPPED, RS_NONCE_MISSING, RS_COUNTER,
	RS_COUNT
};

struct rs_state {
	struct ob_redis		*r;
	struct ob_redis_script	 commit, nonce;
};

/* prefix tag s, malloc'd. */
static char *
rs_key(const struct rs_state *s, const char *tag, const char *v)
{
	const char	*p = ob_redis_prefix(s->r);
	size_t		 n = strlen(p) + strlen(tag) + strlen(v) + 1;
	char		*k;

	if ((k = malloc(n)) != NULL)
		(void)snprintf(k, n, "%s%s%s", p, tag, v);
	return k;
}

/*
 * The jti record's key: the first 16 bytes of SHA-256(jkt ":" jti) in
 * hex, as the SQLite store keeps it (a quarter of the text's size).
 */
static int
rs_jti_key(const struct rs_state *s, const char *jti_key, char **out)
{
	unsigned char		 md[32];
	char			 hex[33];
	int			 r;

	if ((r = ob_sha256(jti_key, strlen(jti_key), md)) != OB_OK)
		return r;
	(void)ob_bin_to_hex(md, 16, hex, sizeof(hex));
	return (*out = rs_key(s, "j:", hex)) != NULL ? OB_OK : OB_ERR_ALLOC;
}

/* Milliseconds a key lives: until (by the caller's clock) plus the margin. */
static long long
rs_pttl(long long until, long long now)
{
	long long left = until - now;

	if (left < 0)
		left = 0;
	if (left > REDIS_TTL_MAX)
		left = REDIS_TTL_MAX;
	return (left + REDIS_MARGIN) * 1000;
}

int
ob_state_redis_verdict(const redisReply *rep, const struct ob_replay *rp)
{
	long long st, last;

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER ||
	    rep->element[0]->integer < RS_OK ||
	    rep->element[0]->integer >= RS_COUNT)
		return ob_errf(OB_ERR_STATE_REPLY, "redis: the acceptance "
		    "script answered something it never answers");
	st = rep->element[0]->integer;
	last = rep->element[1]->integer;
	switch (st) {
	case RS_OK:
		return OB_OK;
	case RS_REPLAY:
		return ob_errf(OB_ERR_REPLAY, "jti seen before");
	case RS_NONCE_UNKNOWN:
		return OB_ERR_NONCE_UNKNOWN;
	case RS_NONCE_USED:
		return OB_ERR_NONCE_USED;
	case RS_NONCE_EXPIRED:
		return OB_ERR_NONCE_EXPIRED;
	case RS_NONCE_MISMATCH:
		return ob_errf(OB_ERR_NONCE_MISMATCH, "nonce was issued for "
		    "another request");
	case RS_NONCE_SKIPPED:
		return ob_errf(OB_ERR_NONCE_SKIPPED, "a nonce was issued for "
		    "this request and the envelope carries another");
	case RS_NONCE_MISSING:
		return ob_errf(OB_ERR_NONCE_MISSING, "a nonce was issued for "
		    "this request");
	default:
		return ob_errf(OB_ERR_FIDO_COUNTER, "counter %u, last %lld",
		    rp != NULL ? rp->counter : 0, last);
	}
}

static int
rs_commit(void *v, const struct ob_replay *rp, long long now)
{
	struct rs_state	*s = v;
	redisReply	*rep = NULL;
	const char	*a[13];
	size_t		 l[13];
	char		*jk = NULL, *bk = NULL, *nk = NULL, *ck = NULL;
	char		 snow[24], skeep[24], sttl[24], sgrace[24], scnt[16];
	int		 i, nkeys = 2, na, r;

	if ((r = rs_jti_key(s, rp->jti_key, &jk)) != OB_OK)
		goto out;
	if ((bk = rs_key(s, "b:", rp->jti)) == NULL ||
	    (rp->nonce != NULL && (nk = rs_key(s, "n:", rp->nonce)) == NULL) ||
	    (rp->counter_key != NULL &&
	    (ck = rs_key(s, "c:", rp->counter_key)) == NULL)) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(snow, sizeof(snow), "%lld", now);
	(void)snprintf(skeep, sizeof(skeep), "%lld", rp->keep_until);
	(void)snprintf(sttl, sizeof(sttl), "%lld",
	    rs_pttl(rp->keep_until, now));
	(void)snprintf(sgrace, sizeof(sgrace), "%d", REDIS_NONCE_GRACE);
	(void)snprintf(scnt, sizeof(scnt), "%u", rp->counter);
	a[0] = jk;
	a[1] = bk;
	if (nk != NULL)
		a[nkeys++] = nk;
	if (ck != NULL)
		a[nkeys++] = ck;
	na = nkeys;
	a[na++] = snow;
	a[na++] = skeep;
	a[na++] = rp->jti;
	a[na++] = sttl;
	a[na++] = sgrace;
	a[na++] = nk != NULL ? "1" : "0";
	a[na++] = rp->nonce != NULL ? rp->nonce : "";
	a[na++] = ck != NULL ? "1" : "0";
	a[na++] = scnt;
	for (i = 0; i < na; i++)
		l[i] = strlen(a[i]);
	if ((r = ob_redis_eval(s->r, &s->commit, nkeys, na, a, l,
	    &rep)) != OB_OK)
		goto out;
	/*
	 * Only an acceptance waits for the replicas: a refusal wrote
	 * nothing, and must keep its own code.  On a shortfall the jti is
	 * spent on the primary and the client is told 503.
	 */
	if ((r = ob_state_redis_verdict(rep, rp)) == OB_OK)
		r = ob_redis_wait(s->r);
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(jk);
	free(bk);
	free(nk);
	free(ck);
	return r;
}

static int
rs_put_nonce(void *v, const char *nonce, long long expires,
    const char *bound, long long now)
{
	struct rs_state	*s = v;
	redisReply	*rep = NULL;
	const char	*a[8];
	size_t		 l[8];
	char		*nk = NULL, *bk = NULL, sexp[24], sttl[24], sbttl[24];
	int		 i, nkeys = 1, na, r;

	if ((nk = rs_key(s, "n:", nonce)) == NULL ||
	    (bound != NULL && (bk = rs_key(s, "b:", bound)) == NULL)) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(sexp, sizeof(sexp), "%lld", expires);
	(void)snprintf(sttl, sizeof(sttl), "%lld",
	    rs_pttl(expires + REDIS_NONCE_GRACE, now));
	(void)snprintf(sbttl, sizeof(sbttl), "%lld", rs_pttl(expires, now));
	a[0] = nk;
	if (bk != NULL)
		a[nkeys++] = bk;
	na = nkeys;
	a[na++] = sexp;
	a[na++] = sttl;
	a[na++] = bk != NULL ? "1" : "0";
	a[na++] = bound != NULL ? bound : "";
	a[na++] = sbttl;
	a[na++] = nonce;
	for (i = 0; i < na; i++)
		l[i] = strlen(a[i]);
	/* A nonce nobody has been told yet needs no replicas' word. */
	if ((r = ob_redis_eval(s->r, &s->nonce, nkeys, na, a, l,
	    &rep)) != OB_OK)
		goto out;
	if (rep->type != REDIS_REPLY_INTEGER ||
	    (rep->integer != 0 && rep->integer != 1))
		r = ob_errf(OB_ERR_STATE_REPLY, "redis: the nonce script "
		    "answered something it never answers");
	else if (rep->integer == 1)
		r = ob_errf(OB_ERR_STATE, "nonce issued twice");
	else
		r = OB_OK;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(nk);
	free(bk);
	return r;
}

/*
 * An approval record: "a:" jkt ":" jti, its value the record's end (by the
 * caller's clock) and a space before the record's text, with the TTL every
 * key gets.  Waits for the replicas like an acceptance: a renewal may come
 * to another server at once.
 */
static int
rs_put_approval(void *v, const char *key, const char *rec, long long until,
    long long now)
{
	struct rs_state	*s = v;
	redisReply	*rep = NULL;
	const char	*a[5];
	size_t		 l[5];
	char		*k = NULL, *val = NULL, sttl[24];
	size_t		 n = 24 + strlen(rec);
	int		 i, r;

	if ((k = rs_key(s, "a:", key)) == NULL || (val = malloc(n)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(val, n, "%lld %s", until, rec);
	(void)snprintf(sttl, sizeof(sttl), "%lld", rs_pttl(until, now));
	a[0] = "SET";
	a[1] = k;
	a[2] = val;
	a[3] = "PX";
	a[4] = sttl;
	for (i = 0; i < 5; i++)
		l[i] = strlen(a[i]);
	if ((r = ob_redis_command(s->r, 5, a, l, &rep)) != OB_OK)
		goto out;
	if (rep->type != REDIS_REPLY_STATUS)
		r = ob_errf(OB_ERR_STATE_REPLY, "redis: SET answered type %d",
		    rep->type);
	else
		r = ob_redis_wait(s->r);
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(k);
	free(val);
	return r;
}

static int
rs_get_approval(void *v, const char *key, long long now, char **rec)
{
	struct rs_state	*s = v;
	redisReply	*rep = NULL;
	const char	*a[2], *sp;
	size_t		 l[2];
	char		*k = NULL, *end;
	long long	 until;
	int		 r;

	if ((k = rs_key(s, "a:", key)) == NULL)
		return OB_ERR_ALLOC;
	a[0] = "GET";
	a[1] = k;
	l[0] = 3;
	l[1] = strlen(k);
	if ((r = ob_redis_command(s->r, 2, a, l, &rep)) != OB_OK)
		goto out;
	if (rep->type == REDIS_REPLY_NIL) {
		r = ob_errf(OB_ERR_RENEWAL_UNKNOWN, "no approval record");
		goto out;
	}
	if (rep->type != REDIS_REPLY_STRING || rep->len > OB_APPROVAL_REC_MAX +
	    24 || memchr(rep->str, '\0', rep->len) != NULL ||
	    (sp = memchr(rep->str, ' ', rep->len)) == NULL) {
		r = ob_errf(OB_ERR_APPROVAL_RECORD, "redis: the record is not "
		    "one this server wrote");
		goto out;
	}
	until = strtoll(rep->str, &end, 10);
	if (end != sp || until <= 0) {
		r = ob_errf(OB_ERR_APPROVAL_RECORD, "redis: the record's end "
		    "is not a number");
		goto out;
	}
	/* Kept past its time by the TTL's margin: gone by our clock. */
	if (until <= now) {
		r = ob_errf(OB_ERR_RENEWAL_UNKNOWN, "approval record ended");
		goto out;
	}
	if ((*rec = strndup(sp + 1, rep->len - (size_t)(sp + 1 - rep->str))) ==
	    NULL)
		r = OB_ERR_ALLOC;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	free(k);
	return r;
}

/* Keys under prefix tag, by SCAN: tests and bench only (O(n)). */
static int
rs_scan(struct rs_state *s, const char *tag, size_t *n)
{
	redisReply	*rep = NULL;
	const char	*a[6];
	size_t		 l[6], count = 0;
	char		 cursor[32] = "0", *pat;
	int		 i, r = OB_OK;

	if ((pat = rs_key(s, tag, "*")) == NULL)
		return OB_ERR_ALLOC;
	do {
		a[0] = "SCAN";
		a[1] = cursor;
		a[2] = "MATCH";
		a[3] = pat;
		a[4] = "COUNT";
		a[5] = "1000";
		for (i = 0; i < 6; i++)
			l[i] = strlen(a[i]);
		if ((r = ob_redis_command(s->r, 6, a, l, &rep)) != OB_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof(cursor) ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			r = ob_errf(OB_ERR_STATE_REPLY, "redis SCAN: unexpected "
			    "reply");
			break;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = '\0';
		count += rep->element[1]->elements;
		freeReplyObject(rep);
		rep = NULL;
	} while (strcmp(cursor, "0") != 0);
	if (rep != NULL)
		freeReplyObject(rep);
	free(pat);
	if (r == OB_OK)
		*n = count;
	return r;
}

static int
rs_count(void *v, struct ob_state_count *c)
{
	struct rs_state	*s = v;
	size_t		 j = 0, n = 0;
	int		 r;

	if ((r = rs_scan(s, "j:", &j)) != OB_OK ||
	    (r = rs_scan(s, "n:", &n)) != OB_OK)
		return r;
	c->jti = j;
	c->nonce = n;
	return OB_OK;
}

static void
rs_free(void *v)
{
	struct rs_state *s = v;

	ob_redis_free(&s->r);
	free(s);
}

int
ob_state_redis_new(const struct ob_redis_cfg *cfg, void **impl)
{
	struct rs_state	*s;
	int		 r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OB_ERR_ALLOC;
	if ((r = ob_redis_script_init(&s->commit, commit_lua)) != OB_OK ||
	    (r = ob_redis_script_init(&s->nonce, nonce_lua)) != OB_OK ||
	    (r = ob_redis_new(cfg, &s->r)) != OB_OK ||
	    (r = ob_redis_ping(s->r)) != OB_OK) {
		rs_free(s);
		return r;
	}
	*impl = s;
	return OB_OK;
}

int
ob_state_open_redis(const struct ob_redis_cfg *cfg, struct ob_state **out)
{
	void	*impl;
	int	 r;

	if ((r = ob_state_redis_new(cfg, &impl)) != OB_OK)
		return r;
	return ob_state_wrap(&ob_state_redis_ops, impl, out);
}

/*
 * No bulk: Redis has no transaction that spans scripts and can be
 * rolled back, so ob_state_bulk_commit runs commit n times.
 */
const struct ob_state_ops ob_state_redis_ops = {
	.commit = rs_commit,
	.put_nonce = rs_put_nonce,
	.count = rs_count,
	.put_approval = rs_put_approval,
	.get_approval = rs_get_approval,
	.free = rs_free,
};
