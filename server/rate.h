/*
 * Rate limits for the daemons: one token bucket per key in a fixed-size
 * table (rate.c says what a collision costs), or, shared by every server
 * instance, one bucket per key in Redis (docs/redis.md, "Rate buckets").
 * Thread-safe.
 */
#ifndef OB_SERVER_RATE_H
#define OB_SERVER_RATE_H

#include "ownerbind/ob_err.h"
#include "server/config.h"

struct ob_rate_table;
struct ob_redis;

/* A rate with per_second 0 never limits.  OB_ERR_ALLOC. */
int ob_rate_new(const struct ob_rate *rate, struct ob_rate_table **out)
    OB_WUR;

/*
 * Buckets kept in Redis under PREFIX "r:" name ":" key, shared by every
 * server that uses the same Redis and prefix.  redis is borrowed: it
 * must outlive the table (one client may serve several tables).  name:
 * 1..16 letters (peer, owner, agent).  OB_ERR_ALLOC, OB_ERR_INVALID_ARG.
 */
int ob_rate_new_shared(const struct ob_rate *rate, struct ob_redis *redis,
    const char *name, struct ob_rate_table **out) OB_WUR;
void ob_rate_free(struct ob_rate_table **tp);

/*
 * A new rate for the table (a reload): the buckets keep their levels
 * (capped at the new burst at their next take); any thread.
 */
void ob_rate_set(struct ob_rate_table *t, const struct ob_rate *rate);

/*
 * OB_OK: the request may go on (a token was taken, or the rate has no
 * limit); OB_ERR_SVC_RATE_LIMITED: over the limit.  Shared buckets fail
 * closed: when Redis cannot answer, the Redis store's codes
 * (OB_ERR_STATE_UNAVAILABLE, _REPLY, _AUTH), which refuse the request
 * with 503.
 */
int ob_rate_take(struct ob_rate_table *t, const char *key) OB_WUR;

/*
 * Put back the token a request took (ob_rate_take gave OB_OK) when the
 * request ended before it cost anything, so that the same request may
 * come again: at most up to the burst, and nothing if the key's slot has
 * since gone to another key.  Shared buckets: one more script call; its
 * failure is returned and leaves the token taken (the caller logs it).
 */
int ob_rate_give_back(struct ob_rate_table *t, const char *key);

/* Whole seconds until a refused key has a token again at the earliest
 * (the refill time of one token, at least 1): the Retry-After of a 429. */
int ob_rate_retry_after(const struct ob_rate_table *t);

#endif
