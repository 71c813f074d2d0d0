/*
 * The gateway's requests in hand and spent (gateway/seen.h): a chained
 * hash table on "jkt:jti", and the same entries in a list in the order
 * they were taken, oldest first, which is nearly the order in which
 * their time is up (every `until` is at most the verifier's max_age after
 * the request's iat).  Each begin first drops at most PRUNE spent entries
 * whose time is up, from the old end; a full table forgets its oldest
 * spent entry.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "gateway/seen.h"

#define PRUNE	32

struct ent {
	struct ent	*hnext;		/* bucket chain */
	struct ent	*prev, *next;	/* oldest first */
	long long	 until;
	size_t		 b;		/* its bucket */
	int		 spent;
	char		 key[];		/* jkt ":" jti */
};

struct ob_gw_seen {
	pthread_mutex_t		 mu;
	size_t			 cap, nb;
	struct ent		**tab;
	struct ent		*head, *tail;
	struct ob_gw_seen_stats	 st;
};

/* FNV-1a over "jkt:jti", without building the string. */
static size_t
bucket(const struct ob_gw_seen *s, const char *jkt, const char *jti)
{
	uint64_t	 h = 14695981039346656037ULL;
	const char	*p;

	for (p = jkt; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ ':') * 1099511628211ULL;
	for (p = jti; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)(h % s->nb);
}

static int
same(const struct ent *e, const char *jkt, const char *jti)
{
	size_t n = strlen(jkt);

	return strncmp(e->key, jkt, n) == 0 && e->key[n] == ':' &&
	    strcmp(e->key + n + 1, jti) == 0;
}

static struct ent **
find(struct ob_gw_seen *s, const char *jkt, const char *jti)
{
	struct ent **pp;

	for (pp = &s->tab[bucket(s, jkt, jti)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (same(*pp, jkt, jti))
			return pp;
	return pp;
}

/* Unlink e from its chain and the list, and free it. */
static void
drop(struct ob_gw_seen *s, struct ent *e)
{
	struct ent **pp;

	for (pp = &s->tab[e->b]; *pp != e; pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->st.held--;
	free(e);
}

int
ob_gw_seen_new(size_t cap, struct ob_gw_seen **out)
{
	struct ob_gw_seen *s;

	*out = NULL;
	if (cap == 0)
		return ob_errf(OB_ERR_INVALID_ARG, "seen: cap 0");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OB_ERR_ALLOC;
	s->cap = cap;
	s->nb = cap * 2 + 1;
	if ((s->tab = calloc(s->nb, sizeof(*s->tab))) == NULL ||
	    pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->tab);
		free(s);
		return OB_ERR_ALLOC;
	}
	*out = s;
	return OB_OK;
}

void
ob_gw_seen_free(struct ob_gw_seen **sp)
{
	struct ob_gw_seen	*s = *sp;
	struct ent		*e, *next;

	if (s == NULL)
		return;
	for (e = s->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(s->tab);
	(void)pthread_mutex_destroy(&s->mu);
	free(s);
	*sp = NULL;
}

int
ob_gw_seen_begin(struct ob_gw_seen *s, const char *jkt, const char *jti,
    long long until, long long now)
{
	struct ent	*e, *next, **pp;
	size_t		 lj = strlen(jkt), lt = strlen(jti);
	int		 i, r = OB_OK;

	if (lj == 0 || lt == 0)
		return ob_errf(OB_ERR_INVALID_ARG, "seen: jkt or jti");
	pthread_mutex_lock(&s->mu);
	for (e = s->head, i = 0; e != NULL && i < PRUNE; e = next, i++) {
		next = e->next;
		if (e->spent && e->until <= now)
			drop(s, e);
	}
	pp = find(s, jkt, jti);
	if (*pp != NULL) {
		r = ob_errf(OB_ERR_REPLAY, "the gateway %s this request "
		    "(agent key and jti) already", (*pp)->spent ? "forwarded, "
		    "and the identity server answered," : "is working on");
		s->st.refused++;
		goto out;
	}
	if (s->st.held >= s->cap) {
		for (e = s->head; e != NULL && !e->spent; e = e->next)
			;
		if (e == NULL) {
			r = ob_errf(OB_ERR_SVC_UNAVAILABLE, "%zu requests in "
			    "hand: try again", s->st.held);
			goto out;
		}
		drop(s, e);
		s->st.evicted++;
		pp = find(s, jkt, jti);
	}
	if ((e = malloc(sizeof(*e) + lj + lt + 2)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(e->key, jkt, lj);
	e->key[lj] = ':';
	memcpy(e->key + lj + 1, jti, lt + 1);
	e->until = until;
	e->b = bucket(s, jkt, jti);
	e->spent = 0;
	e->hnext = NULL;
	*pp = e;
	e->next = NULL;
	if ((e->prev = s->tail) != NULL)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	s->st.held++;
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

void
ob_gw_seen_end(struct ob_gw_seen *s, const char *jkt, const char *jti,
    int spent)
{
	struct ent **pp;

	pthread_mutex_lock(&s->mu);
	pp = find(s, jkt, jti);
	if (*pp != NULL && !(*pp)->spent) {
		if (spent)
			(*pp)->spent = 1;
		else
			drop(s, *pp);
	}
	pthread_mutex_unlock(&s->mu);
}

void
ob_gw_seen_stats(struct ob_gw_seen *s, struct ob_gw_seen_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}
