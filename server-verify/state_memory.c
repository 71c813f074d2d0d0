/*
 * In-process replay state (docs/verifier.md, "Replay state"): four hash
 * tables (jti, nonce, jti -> the nonces bound to it, FIDO2 counter) that
 * double as they fill, so a lookup is O(1) at any size, and one min-heap
 * of every record that expires, ordered by the time it may be dropped.
 * Every commit and every issued nonce first drops at most
 * OB_STATE_PRUNE_MAX records (jti and nonces) from the top of the heap:
 * memory follows the live window and no call does more than a bounded
 * amount of pruning.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/err.h"
#include "server-verify/state.h"

#define MEM_MIN_BUCKETS	1024

/* Expired nonces still say "expired" (not "unknown") for this long. */
#define MEM_NONCE_GRACE	3600

enum { T_JTI, T_NONCE, T_BOUND, T_COUNTER, T_APPROVAL, T_COUNT };

struct mem_rec {
	struct mem_rec	*next;		/* hash chain */
	struct mem_rec	*bnext;		/* T_NONCE: next nonce for this jti */
	struct mem_rec	*bound;		/* T_NONCE: its T_BOUND record, or
					 * NULL; T_BOUND: first nonce */
	long long	 expires;	/* T_JTI, T_NONCE */
	long long	 drop_at;	/* heap key (T_JTI, T_NONCE only) */
	size_t		 hidx;		/* index in the heap */
	uint64_t	 hash;
	int		 kind;
	int		 used;
	uint32_t	 counter;
	char		*rec;		/* T_APPROVAL: the record, after key */
	char		 key[];
};

struct mem_table {
	struct mem_rec	**b;
	size_t		  nb;		/* a power of two */
	size_t		  n;
};

struct mem_state {
	struct mem_table	 t[T_COUNT];
	struct mem_rec		**heap;
	size_t			 nheap;
	size_t			 heapcap;
	uint64_t		 seed;
};

static uint64_t
mem_hash(const struct mem_state *m, const char *s)
{
	uint64_t h = 1469598103934665603ULL ^ m->seed;	/* FNV-1a, seeded */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static struct mem_rec *
tab_find(const struct mem_table *t, const char *key, uint64_t h)
{
	struct mem_rec *r;

	for (r = t->b[h & (t->nb - 1)]; r != NULL; r = r->next)
		if (r->hash == h && strcmp(r->key, key) == 0)
			return r;
	return NULL;
}

/* Double the buckets; on allocation failure keep the chains longer. */
static void
tab_grow(struct mem_table *t)
{
	struct mem_rec	**nb, *r, *next;
	size_t		  i, n = t->nb * 2;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->nb; i++)
		for (r = t->b[i]; r != NULL; r = next) {
			next = r->next;
			r->next = nb[r->hash & (n - 1)];
			nb[r->hash & (n - 1)] = r;
		}
	free(t->b);
	t->b = nb;
	t->nb = n;
}

static void
tab_link(struct mem_table *t, struct mem_rec *r)
{
	if (t->n >= t->nb)
		tab_grow(t);
	r->next = t->b[r->hash & (t->nb - 1)];
	t->b[r->hash & (t->nb - 1)] = r;
	t->n++;
}

static void
tab_unlink(struct mem_table *t, struct mem_rec *r)
{
	struct mem_rec **pp = &t->b[r->hash & (t->nb - 1)];

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	t->n--;
}

static void
heap_swap(struct mem_state *m, size_t i, size_t j)
{
	struct mem_rec *r = m->heap[i];

	m->heap[i] = m->heap[j];
	m->heap[j] = r;
	m->heap[i]->hidx = i;
	m->heap[j]->hidx = j;
}

/* Restore the heap order around index i after its key changed. */
static void
heap_fix(struct mem_state *m, size_t i)
{
	size_t c;

	while (i > 0 && m->heap[i]->drop_at < m->heap[(i - 1) / 2]->drop_at) {
		heap_swap(m, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		c = 2 * i + 1;
		if (c >= m->nheap)
			break;
		if (c + 1 < m->nheap &&
		    m->heap[c + 1]->drop_at < m->heap[c]->drop_at)
			c++;
		if (m->heap[c]->drop_at >= m->heap[i]->drop_at)
			break;
		heap_swap(m, i, c);
		i = c;
	}
}

/* Room for n more heap entries, so that linking cannot fail. */
static int
heap_reserve(struct mem_state *m, size_t n)
{
	struct mem_rec	**h;
	size_t		  cap;

	if (m->nheap + n <= m->heapcap)
		return OB_OK;
	cap = m->heapcap == 0 ? MEM_MIN_BUCKETS : m->heapcap * 2;
	if ((h = realloc(m->heap, cap * sizeof(*h))) == NULL)
		return OB_ERR_ALLOC;
	m->heap = h;
	m->heapcap = cap;
	return OB_OK;
}

static void
heap_push(struct mem_state *m, struct mem_rec *r)
{
	r->hidx = m->nheap;
	m->heap[m->nheap++] = r;
	heap_fix(m, r->hidx);
}

static struct mem_rec *
rec_new(const struct mem_state *m, int kind, const char *key)
{
	struct mem_rec	*r;
	size_t		 n = strlen(key);

	if ((r = calloc(1, sizeof(*r) + n + 1)) == NULL)
		return NULL;
	memcpy(r->key, key, n + 1);
	r->kind = kind;
	r->hash = mem_hash(m, key);
	return r;
}

/* Drop a nonce: out of its jti's list, and the list's record if empty. */
static void
drop_nonce(struct mem_state *m, struct mem_rec *r)
{
	struct mem_rec *b = r->bound, **pp;

	if (b != NULL) {
		for (pp = &b->bound; *pp != r; pp = &(*pp)->bnext)
			;
		*pp = r->bnext;
		if (b->bound == NULL) {
			tab_unlink(&m->t[T_BOUND], b);
			free(b);
		}
	}
	tab_unlink(&m->t[T_NONCE], r);
	free(r);
}

/* Drop at most OB_STATE_PRUNE_MAX records whose time is up, oldest first. */
static void
mem_prune(struct mem_state *m, long long now)
{
	struct mem_rec	*r;
	int		 i;

	for (i = 0; i < OB_STATE_PRUNE_MAX && m->nheap > 0 &&
	    m->heap[0]->drop_at <= now; i++) {
		r = m->heap[0];
		m->nheap--;
		if (m->nheap > 0) {
			m->heap[0] = m->heap[m->nheap];
			m->heap[0]->hidx = 0;
			heap_fix(m, 0);
		}
		if (r->kind == T_NONCE)
			drop_nonce(m, r);
		else {
			tab_unlink(&m->t[r->kind], r);
			free(r);
		}
	}
}

static struct mem_rec *
mem_get(const struct mem_state *m, int kind, const char *key)
{
	return tab_find(&m->t[kind], key, mem_hash(m, key));
}

/* Is a live, unused nonce bound to this jti? */
static int
mem_bound_live(const struct mem_state *m, const char *jti, long long now)
{
	struct mem_rec *b, *n;

	if ((b = mem_get(m, T_BOUND, jti)) == NULL)
		return 0;
	for (n = b->bound; n != NULL; n = n->bnext)
		if (!n->used && n->expires > now)
			return 1;
	return 0;
}

static int
mem_checks(const struct mem_state *m, const struct ob_replay *rp,
    long long now, struct mem_rec **jp, struct mem_rec **np,
    struct mem_rec **cp)
{
	struct mem_rec *j, *n = NULL, *c = NULL;

	/* A record kept past its time only because pruning is bounded. */
	if ((j = mem_get(m, T_JTI, rp->jti_key)) != NULL && j->expires > now)
		return ob_errf(OB_ERR_REPLAY, "jti seen before");
	if (rp->nonce != NULL) {
		if ((n = mem_get(m, T_NONCE, rp->nonce)) == NULL ||
		    n->drop_at <= now)
			return OB_ERR_NONCE_UNKNOWN;
		if (n->used)
			return OB_ERR_NONCE_USED;
		if (n->expires <= now)
			return OB_ERR_NONCE_EXPIRED;
		if (n->bound != NULL && strcmp(n->bound->key, rp->jti) != 0)
			return ob_errf(OB_ERR_NONCE_MISMATCH, "nonce was issued "
			    "for another request");
		if (n->bound == NULL && mem_bound_live(m, rp->jti, now))
			return ob_errf(OB_ERR_NONCE_SKIPPED, "a nonce was issued "
			    "for this request and the envelope carries another");
	} else if (mem_bound_live(m, rp->jti, now))
		return ob_errf(OB_ERR_NONCE_MISSING, "a nonce was issued for "
		    "this request");
	if (rp->counter_key != NULL &&
	    (c = mem_get(m, T_COUNTER, rp->counter_key)) != NULL &&
	    (rp->counter != 0 || c->counter != 0) && rp->counter <= c->counter)
		return ob_errf(OB_ERR_FIDO_COUNTER, "counter %u, last %u",
		    rp->counter, c->counter);
	*jp = j;
	*np = n;
	*cp = c;
	return OB_OK;
}

static int
mem_commit(void *v, const struct ob_replay *rp, long long now)
{
	struct mem_state	*m = v;
	struct mem_rec		*j = NULL, *n = NULL, *c = NULL, *nj = NULL;
	struct mem_rec		*nc = NULL;
	int			 r;

	mem_prune(m, now);
	if ((r = mem_checks(m, rp, now, &j, &n, &c)) != OB_OK)
		return r;
	/* Every check passed: allocate everything, then record. */
	if ((j == NULL && (nj = rec_new(m, T_JTI, rp->jti_key)) == NULL) ||
	    (rp->counter_key != NULL && c == NULL &&
	    (nc = rec_new(m, T_COUNTER, rp->counter_key)) == NULL) ||
	    heap_reserve(m, 1) != OB_OK) {
		free(nj);
		free(nc);
		return OB_ERR_ALLOC;
	}
	if (nj != NULL) {
		nj->expires = nj->drop_at = rp->keep_until;
		tab_link(&m->t[T_JTI], nj);
		heap_push(m, nj);
	} else {
		/* Expired but not yet pruned: it lives again. */
		j->expires = j->drop_at = rp->keep_until;
		heap_fix(m, j->hidx);
	}
	if (nc != NULL) {
		tab_link(&m->t[T_COUNTER], nc);
		c = nc;
	}
	if (c != NULL)
		c->counter = rp->counter;
	if (n != NULL)
		n->used = 1;
	return OB_OK;
}

static int
mem_put_nonce(void *v, const char *nonce, long long expires,
    const char *bound, long long now)
{
	struct mem_state	*m = v;
	struct mem_rec		*n, *b = NULL, *nb = NULL;

	mem_prune(m, now);
	if (mem_get(m, T_NONCE, nonce) != NULL)
		return ob_errf(OB_ERR_STATE, "nonce issued twice");
	if ((n = rec_new(m, T_NONCE, nonce)) == NULL ||
	    (bound != NULL && (b = mem_get(m, T_BOUND, bound)) == NULL &&
	    (b = nb = rec_new(m, T_BOUND, bound)) == NULL) ||
	    heap_reserve(m, 1) != OB_OK) {
		free(n);
		free(nb);
		return OB_ERR_ALLOC;
	}
	n->expires = expires;
	n->drop_at = expires + MEM_NONCE_GRACE;
	if (nb != NULL)
		tab_link(&m->t[T_BOUND], nb);
	if (b != NULL) {
		n->bound = b;
		n->bnext = b->bound;
		b->bound = n;
	}
	tab_link(&m->t[T_NONCE], n);
	heap_push(m, n);
	return OB_OK;
}

/* An approval record: in the heap like a jti, replaced in place. */
static int
mem_put_approval(void *v, const char *key, const char *rec, long long until,
    long long now)
{
	struct mem_state	*m = v;
	struct mem_rec		*a, *old;
	size_t			 kn = strlen(key), rn = strlen(rec);

	mem_prune(m, now);
	if ((a = calloc(1, sizeof(*a) + kn + 1 + rn + 1)) == NULL ||
	    heap_reserve(m, 1) != OB_OK) {
		free(a);
		return OB_ERR_ALLOC;
	}
	memcpy(a->key, key, kn + 1);
	a->rec = a->key + kn + 1;
	memcpy(a->rec, rec, rn + 1);
	a->kind = T_APPROVAL;
	a->hash = mem_hash(m, key);
	a->expires = a->drop_at = until;
	if ((old = mem_get(m, T_APPROVAL, key)) != NULL) {
		/* Out of the heap: give it the smallest key and pop it. */
		tab_unlink(&m->t[T_APPROVAL], old);
		old->drop_at = LLONG_MIN;
		heap_fix(m, old->hidx);
		m->nheap--;
		if (m->nheap > 0) {
			m->heap[0] = m->heap[m->nheap];
			m->heap[0]->hidx = 0;
			heap_fix(m, 0);
		}
		free(old);
	}
	tab_link(&m->t[T_APPROVAL], a);
	heap_push(m, a);
	return OB_OK;
}

static int
mem_get_approval(void *v, const char *key, long long now, char **rec)
{
	struct mem_state	*m = v;
	struct mem_rec		*a;

	if ((a = mem_get(m, T_APPROVAL, key)) == NULL || a->expires <= now)
		return ob_errf(OB_ERR_RENEWAL_UNKNOWN, "no live approval "
		    "record");
	return (*rec = strdup(a->rec)) != NULL ? OB_OK : OB_ERR_ALLOC;
}

static int
mem_count(void *v, struct ob_state_count *c)
{
	struct mem_state *m = v;

	c->jti = m->t[T_JTI].n;
	c->nonce = m->t[T_NONCE].n;
	return OB_OK;
}

static void
mem_free(void *v)
{
	struct mem_state	*m = v;
	struct mem_rec		*r, *next;
	size_t			 i, k;

	for (k = 0; k < T_COUNT; k++) {
		for (i = 0; i < m->t[k].nb; i++)
			for (r = m->t[k].b[i]; r != NULL; r = next) {
				next = r->next;
				free(r);
			}
		free(m->t[k].b);
	}
	free(m->heap);
	free(m);
}

int
ob_state_memory_new(void **impl)
{
	struct mem_state	*m;
	size_t			 k;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return OB_ERR_ALLOC;
	for (k = 0; k < T_COUNT; k++) {
		if ((m->t[k].b = calloc(MEM_MIN_BUCKETS,
		    sizeof(*m->t[k].b))) == NULL) {
			mem_free(m);
			return OB_ERR_ALLOC;
		}
		m->t[k].nb = MEM_MIN_BUCKETS;
	}
	if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1) {
		mem_free(m);
		return OB_ERR_RANDOM;
	}
	*impl = m;
	return OB_OK;
}

const struct ob_state_ops ob_state_memory_ops = {
	.commit = mem_commit,
	.put_nonce = mem_put_nonce,
	.count = mem_count,
	.put_approval = mem_put_approval,
	.get_approval = mem_get_approval,
	.free = mem_free,
};
