/*
 * In-process replay state: three chained hash tables.  Expired records are
 * dropped as their chains are walked, so memory follows the live window.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "state.h"

#define MEM_BUCKETS	65536

struct mem_rec {
	struct mem_rec	*next;
	long long	 expires;	/* 0: never (counters) */
	int		 used;
	uint32_t	 counter;
	char		*bound;		/* nonce bound to a jti, or NULL */
	char		 key[];
};

struct mem_table {
	struct mem_rec	*b[MEM_BUCKETS];
};

struct mem_state {
	struct mem_table jti;
	struct mem_table nonce;
	struct mem_table bound;		/* jti -> a nonce was issued for it */
	struct mem_table counter;
};

/* Expired nonces still say "expired" (not "unknown") for this long. */
#define MEM_NONCE_GRACE	3600

static size_t
mem_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % MEM_BUCKETS);
}

static void
mem_rec_free(struct mem_rec *r)
{
	free(r->bound);
	free(r);
}

/* Find key; drop expired records met on the way. */
static struct mem_rec *
mem_find(struct mem_table *t, const char *key, long long now)
{
	struct mem_rec **pp = &t->b[mem_hash(key)], *r;

	while ((r = *pp) != NULL) {
		if (r->expires != 0 && r->expires <= now) {
			*pp = r->next;
			mem_rec_free(r);
			continue;
		}
		if (strcmp(r->key, key) == 0)
			return r;
		pp = &r->next;
	}
	return NULL;
}

static struct mem_rec *
mem_add(struct mem_table *t, const char *key, long long expires)
{
	struct mem_rec	*r;
	size_t		 n = strlen(key), h = mem_hash(key);

	if ((r = calloc(1, sizeof(*r) + n + 1)) == NULL)
		return NULL;
	memcpy(r->key, key, n + 1);
	r->expires = expires;
	r->next = t->b[h];
	t->b[h] = r;
	return r;
}

static int
mem_commit(void *v, const struct ob_replay *rp, long long now)
{
	struct mem_state	*m = v;
	struct mem_rec		*n = NULL, *c, *b;

	if (mem_find(&m->jti, rp->jti_key, now) != NULL)
		return ob_errf(OB_ERR_REPLAY, "jti seen before");
	if (rp->nonce != NULL) {
		if ((n = mem_find(&m->nonce, rp->nonce,
		    now - MEM_NONCE_GRACE)) == NULL)
			return OB_ERR_NONCE_UNKNOWN;
		if (n->used)
			return OB_ERR_NONCE_USED;
		if (n->expires <= now)
			return OB_ERR_NONCE_EXPIRED;
		if (n->bound != NULL && strcmp(n->bound, rp->jti) != 0)
			return ob_errf(OB_ERR_NONCE_MISMATCH, "nonce was issued "
			    "for another request");
	} else if ((b = mem_find(&m->bound, rp->jti, now)) != NULL &&
	    !b->used)
		return ob_errf(OB_ERR_NONCE_MISSING, "a nonce was issued for "
		    "this request");
	c = rp->counter_key == NULL ? NULL :
	    mem_find(&m->counter, rp->counter_key, now);
	if (rp->counter_key != NULL && c != NULL &&
	    (rp->counter != 0 || c->counter != 0) && rp->counter <= c->counter)
		return ob_errf(OB_ERR_FIDO_COUNTER, "counter %u, last %u",
		    rp->counter, c->counter);
	/* Every check passed: record. */
	if (rp->counter_key != NULL && c == NULL &&
	    (c = mem_add(&m->counter, rp->counter_key, 0)) == NULL)
		return OB_ERR_ALLOC;
	if (mem_add(&m->jti, rp->jti_key, rp->keep_until) == NULL)
		return OB_ERR_ALLOC;
	if (c != NULL)
		c->counter = rp->counter;
	if (n != NULL) {
		n->used = 1;
		if (n->bound != NULL &&
		    (b = mem_find(&m->bound, n->bound, now)) != NULL)
			b->used = 1;
	}
	return OB_OK;
}

static int
mem_put_nonce(void *v, const char *nonce, long long expires,
    const char *bound)
{
	struct mem_state	*m = v;
	struct mem_rec		*r;

	if ((r = mem_add(&m->nonce, nonce, expires)) == NULL)
		return OB_ERR_ALLOC;
	if (bound != NULL && ((r->bound = strdup(bound)) == NULL ||
	    mem_add(&m->bound, bound, expires) == NULL))
		return OB_ERR_ALLOC;
	return OB_OK;
}

static void
mem_table_free(struct mem_table *t)
{
	struct mem_rec	*r, *next;
	size_t		 i;

	for (i = 0; i < MEM_BUCKETS; i++)
		for (r = t->b[i]; r != NULL; r = next) {
			next = r->next;
			mem_rec_free(r);
		}
}

static void
mem_free(void *v)
{
	struct mem_state *m = v;

	mem_table_free(&m->jti);
	mem_table_free(&m->nonce);
	mem_table_free(&m->bound);
	mem_table_free(&m->counter);
	free(m);
}

int
ob_state_memory_new(void **impl)
{
	if ((*impl = calloc(1, sizeof(struct mem_state))) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

const struct ob_state_ops ob_state_memory_ops = {
	.commit = mem_commit,
	.put_nonce = mem_put_nonce,
	.free = mem_free,
};
