/*
 * Token buckets per key (a peer id, an owner id, an agent thumbprint),
 * in a fixed table: the memory used never depends on how many keys an
 * attacker invents.  Two keys that hash to one slot share nothing: the
 * newer replaces the older, which starts again with a full bucket.  That
 * loses precision under a flood of distinct keys, never safety: the
 * bucket for a key that does not collide keeps its level.
 *
 * Shared tables keep each bucket in Redis instead, so that a client
 * spread over many servers is limited once (docs/redis.md, "Rate
 * buckets"): one small script takes a token by Redis' clock, and the key
 * expires once the bucket would be full again, so Redis holds only the
 * buckets in use.  When Redis does not answer the request is refused
 * (503), never let through.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "core/deconst.h"
#include "core/err.h"
#include "server-verify/redis.h"
#include "server/rate.h"

#define RATE_SLOTS	4096
#define RATE_KEY_MAX	64
#define RATE_NAME_MAX	16

struct slot {
	char	key[RATE_KEY_MAX];	/* truncated: a prefix collision is
					 * a shared bucket, documented */
	double	tokens;
	double	last;
};

struct ob_rate_table {
	struct ob_rate		 rate;
	pthread_mutex_t		 lock;
	uint32_t		 seed;
	struct ob_redis		*redis;		/* borrowed; NULL: local */
	char			 name[RATE_NAME_MAX + 1];
	struct ob_redis_script	 script;
	struct slot		 slots[RATE_SLOTS];
};

/*
 * Take a token from KEYS[1] (ARGV: per second, burst, "take" or "give"),
 * by Redis' clock in microseconds; 1 if taken, else 0.  "give" puts one
 * back (at most up to the burst) and answers 1.  The bucket's key expires
 * once it would have refilled: a missing bucket is a full one.
 */
static const char bucket_lua[] =
"local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local b = redis.call('HMGET', KEYS[1], 't', 'l')\n"
"local tokens, last = tonumber(b[1]), tonumber(b[2])\n"
"if not tokens or not last then tokens, last = burst, now end\n"
"if now > last then\n"
"  tokens = math.min(burst, tokens + (now - last) * rate / 1000000)\n"
"end\n"
"local ok = 0\n"
"if ARGV[3] == 'give' then tokens, ok = math.min(burst, tokens + 1), 1\n"
"elseif tokens >= 1 then tokens, ok = tokens - 1, 1 end\n"
"redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens),\n"
"  'l', string.format('%.0f', now))\n"
"redis.call('PEXPIRE', KEYS[1],\n"
"  string.format('%.0f', math.min(1e11, math.ceil(burst / rate * 1000) + 1000)))\n"
"return ok\n";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
ob_rate_new(const struct ob_rate *rate, struct ob_rate_table **out)
{
	struct ob_rate_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return OB_ERR_ALLOC;
	t->rate = *rate;
	t->seed = (uint32_t)(uintptr_t)t ^ (uint32_t)time(NULL);
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return OB_ERR_ALLOC;
	}
	*out = t;
	return OB_OK;
}

int
ob_rate_new_shared(const struct ob_rate *rate, struct ob_redis *redis,
    const char *name, struct ob_rate_table **out)
{
	struct ob_rate_table	*t = NULL;
	size_t			 i, n = strlen(name);
	int			 r;

	if (redis == NULL || n == 0 || n > RATE_NAME_MAX)
		return OB_ERR_INVALID_ARG;
	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)name[i]))
			return OB_ERR_INVALID_ARG;
	if ((r = ob_rate_new(rate, &t)) != OB_OK)
		return r;
	if ((r = ob_redis_script_init(&t->script, bucket_lua)) != OB_OK) {
		ob_rate_free(&t);
		return r;
	}
	t->redis = redis;
	memcpy(t->name, name, n + 1);
	*out = t;
	return OB_OK;
}

/* The table's rate now (ob_rate_set may change it on another thread). */
static struct ob_rate
rate_of(const struct ob_rate_table *t)
{
	struct ob_rate_table	*w = OB_DECONST(struct ob_rate_table *, t);
	struct ob_rate		 r;

	pthread_mutex_lock(&w->lock);
	r = t->rate;
	pthread_mutex_unlock(&w->lock);
	return r;
}

void
ob_rate_set(struct ob_rate_table *t, const struct ob_rate *rate)
{
	pthread_mutex_lock(&t->lock);
	t->rate = *rate;
	pthread_mutex_unlock(&t->lock);
}

/* One token from (give: back to) the key's bucket in Redis. */
static int
take_shared(struct ob_rate_table *t, const struct ob_rate *rt,
    const char *key, int give)
{
	redisReply	*rep = NULL;
	const char	*a[4];
	size_t		 l[4];
	char		 rate[32], burst[16], *k;
	size_t		 n;
	int		 r;

	n = strlen(ob_redis_prefix(t->redis)) + 2 + strlen(t->name) + 1 +
	    strlen(key) + 1;
	if ((k = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(k, n, "%sr:%s:%s", ob_redis_prefix(t->redis), t->name,
	    key);
	(void)snprintf(rate, sizeof(rate), "%.17g", rt->per_second);
	(void)snprintf(burst, sizeof(burst), "%u", rt->burst);
	a[0] = k;
	a[1] = rate;
	a[2] = burst;
	l[0] = strlen(k);
	l[1] = strlen(rate);
	l[2] = strlen(burst);
	a[3] = give ? "give" : "take";
	l[3] = 4;
	r = ob_redis_eval(t->redis, &t->script, 1, 4, a, l, &rep);
	free(k);
	if (r != OB_OK)
		return r;
	if (rep->type != REDIS_REPLY_INTEGER ||
	    (rep->integer != 0 && rep->integer != 1))
		r = ob_errf(OB_ERR_STATE_REPLY, "redis: the rate script "
		    "answered something it never answers");
	else
		r = rep->integer == 1 ? OB_OK : OB_ERR_SVC_RATE_LIMITED;
	freeReplyObject(rep);
	return r;
}

void
ob_rate_free(struct ob_rate_table **tp)
{
	if (tp == NULL || *tp == NULL)
		return;
	pthread_mutex_destroy(&(*tp)->lock);
	free(*tp);
	*tp = NULL;
}

/* Take a token, or (give) put one back. */
static int
take_or_give(struct ob_rate_table *t, const char *key, int give)
{
	struct ob_rate	 rt;
	struct slot	*s;
	uint32_t	 h;
	double		 now;
	int		 ok;
	size_t		 i;

	if (t == NULL || key == NULL)
		return OB_OK;
	if (t->redis != NULL) {
		rt = rate_of(t);
		return rt.per_second <= 0 ? OB_OK : take_shared(t, &rt, key,
		    give);
	}
	h = 2166136261u ^ t->seed;
	for (i = 0; i < RATE_KEY_MAX - 1 && key[i] != '\0'; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	now = now_s();
	pthread_mutex_lock(&t->lock);
	if (t->rate.per_second <= 0) {
		pthread_mutex_unlock(&t->lock);
		return OB_OK;
	}
	s = &t->slots[h % RATE_SLOTS];
	if (strncmp(s->key, key, RATE_KEY_MAX - 1) != 0) {
		if (give) {	/* replaced since: nothing of it is left */
			pthread_mutex_unlock(&t->lock);
			return OB_OK;
		}
		memset(s->key, 0, sizeof(s->key));
		memcpy(s->key, key, i);
		s->tokens = (double)t->rate.burst;
		s->last = now;
	}
	s->tokens = fmin((double)t->rate.burst, s->tokens +
	    (now - s->last) * t->rate.per_second);
	s->last = now;
	if (give) {
		s->tokens = fmin((double)t->rate.burst, s->tokens + 1.0);
		ok = 1;
	} else if ((ok = s->tokens >= 1.0))
		s->tokens -= 1.0;
	pthread_mutex_unlock(&t->lock);
	return ok ? OB_OK : OB_ERR_SVC_RATE_LIMITED;
}

int
ob_rate_take(struct ob_rate_table *t, const char *key)
{
	return take_or_give(t, key, 0);
}

int
ob_rate_give_back(struct ob_rate_table *t, const char *key)
{
	return take_or_give(t, key, 1);
}

int
ob_rate_retry_after(const struct ob_rate_table *t)
{
	struct ob_rate	rt;
	double		s;

	if (t == NULL)
		return 1;
	rt = rate_of(t);
	if (rt.per_second <= 0)
		return 1;
	s = ceil(1.0 / rt.per_second);
	return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}
