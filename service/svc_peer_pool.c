/*
 * The service's peers by content (svc_peer_pool.h).  A pool holds as many
 * entries as distinct peers were ever configured, which only an operator
 * changes: a linear search is enough.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_peer_pool.h"
#include "core/deconst.h"
#include "core/err.h"

struct svc_peer_ent {
	struct svc_peer_ent	*next;
	struct ob_svc_peer	 p;	/* its strings are the entry's */
};

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Hashes compare in lower case: the table's own copy is lowered. */
static int
same_hash(const char *ours, const char *theirs)
{
	if (ours == NULL || theirs == NULL)
		return ours == theirs;
	for (; *ours != '\0' && *theirs != '\0'; ours++, theirs++)
		if (*ours != (char)tolower((unsigned char)*theirs))
			return 0;
	return *ours == *theirs;
}

static void
ent_free(struct svc_peer_ent *e)
{
	/* The entry's copies: const only in the public struct. */
	free(OB_DECONST(char *, e->p.id));
	free(OB_DECONST(char *, e->p.role));
	free(OB_DECONST(char *, e->p.san_uri));
	free(OB_DECONST(char *, e->p.cert_sha256));
	free(e);
}

static int
dup_to(const char *s, const char **out)
{
	*out = NULL;
	if (s == NULL)
		return OB_OK;
	if ((*out = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

static int
ent_get(struct svc_peer_pool *pool, const struct ob_svc_peer *p,
    const struct ob_svc_peer **out)
{
	struct svc_peer_ent	*e;
	char			*s;

	for (e = pool->head; e != NULL; e = e->next)
		if (same(e->p.id, p->id) && same(e->p.role, p->role) &&
		    same(e->p.san_uri, p->san_uri) &&
		    same_hash(e->p.cert_sha256, p->cert_sha256)) {
			*out = &e->p;
			return OB_OK;
		}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return OB_ERR_ALLOC;
	if (dup_to(p->id, &e->p.id) != OB_OK ||
	    dup_to(p->role, &e->p.role) != OB_OK ||
	    dup_to(p->san_uri, &e->p.san_uri) != OB_OK ||
	    dup_to(p->cert_sha256, &e->p.cert_sha256) != OB_OK) {
		ent_free(e);
		return OB_ERR_ALLOC;
	}
	for (s = OB_DECONST(char *, e->p.cert_sha256); s != NULL && *s != '\0';
	    s++)
		*s = (char)tolower((unsigned char)*s);
	e->next = pool->head;
	pool->head = e;
	pool->n++;
	*out = &e->p;
	return OB_OK;
}

int
svc_peer_pool_table(struct svc_peer_pool *pool, const struct ob_svc_peer *p,
    size_t n, const struct ob_svc_peer ***out)
{
	const struct ob_svc_peer **t;
	size_t			   i;
	int			   r;

	*out = NULL;
	/* One more than n: calloc(0) may be NULL. */
	if ((t = calloc(n + 1, sizeof(*t))) == NULL)
		return OB_ERR_ALLOC;
	for (i = 0; i < n; i++)
		if ((r = ent_get(pool, &p[i], &t[i])) != OB_OK) {
			free(t);
			return r;
		}
	*out = t;
	return OB_OK;
}

void
svc_peer_pool_free(struct svc_peer_pool *pool)
{
	struct svc_peer_ent *e;

	while ((e = pool->head) != NULL) {
		pool->head = e->next;
		ent_free(e);
	}
	pool->n = 0;
}
