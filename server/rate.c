/*
 * Token buckets per key (a peer id, an owner id, an agent thumbprint),
 * in a fixed table: the memory used never depends on how many keys an
 * attacker invents.  Two keys that hash to one slot share nothing: the
 * newer replaces the older, which starts again with a full bucket.  That
 * loses precision under a flood of distinct keys, never safety: the
 * bucket for a key that does not collide keeps its level.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/rate.h"

#define RATE_SLOTS	4096
#define RATE_KEY_MAX	64

struct slot {
	char	key[RATE_KEY_MAX];	/* truncated: a prefix collision is
					 * a shared bucket, documented */
	double	tokens;
	double	last;
};

struct ob_rate_table {
	struct ob_rate	 rate;
	pthread_mutex_t	 lock;
	uint32_t	 seed;
	struct slot	 slots[RATE_SLOTS];
};

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

void
ob_rate_free(struct ob_rate_table **tp)
{
	if (tp == NULL || *tp == NULL)
		return;
	pthread_mutex_destroy(&(*tp)->lock);
	free(*tp);
	*tp = NULL;
}

int
ob_rate_take(struct ob_rate_table *t, const char *key)
{
	struct slot	*s;
	uint32_t	 h;
	double		 now;
	int		 ok;
	size_t		 i;

	if (t == NULL || t->rate.per_second <= 0 || key == NULL)
		return 1;
	h = 2166136261u ^ t->seed;
	for (i = 0; i < RATE_KEY_MAX - 1 && key[i] != '\0'; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	now = now_s();
	pthread_mutex_lock(&t->lock);
	s = &t->slots[h % RATE_SLOTS];
	if (strncmp(s->key, key, RATE_KEY_MAX - 1) != 0) {
		memset(s->key, 0, sizeof(s->key));
		memcpy(s->key, key, i);
		s->tokens = (double)t->rate.burst;
		s->last = now;
	}
	s->tokens = fmin((double)t->rate.burst, s->tokens +
	    (now - s->last) * t->rate.per_second);
	s->last = now;
	if ((ok = s->tokens >= 1.0))
		s->tokens -= 1.0;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

int
ob_rate_retry_after(const struct ob_rate_table *t)
{
	double	s;

	if (t == NULL || t->rate.per_second <= 0)
		return 1;
	s = ceil(1.0 / t->rate.per_second);
	return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}
