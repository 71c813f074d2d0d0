/*
 * Rate limits for the daemons: one token bucket per key in a fixed-size
 * table (rate.c says what a collision costs).  Thread-safe.
 */
#ifndef OB_SERVER_RATE_H
#define OB_SERVER_RATE_H

#include "ownerbind/ob_err.h"
#include "server/config.h"

struct ob_rate_table;

/* A rate with per_second 0 never limits.  OB_ERR_ALLOC. */
int ob_rate_new(const struct ob_rate *rate, struct ob_rate_table **out)
    OB_WUR;
void ob_rate_free(struct ob_rate_table **tp);

/* 1: the request may go on (a token was taken); 0: over the limit. */
int ob_rate_take(struct ob_rate_table *t, const char *key);

/* Whole seconds until a refused key has a token again at the earliest
 * (the refill time of one token, at least 1): the Retry-After of a 429. */
int ob_rate_retry_after(const struct ob_rate_table *t);

#endif
