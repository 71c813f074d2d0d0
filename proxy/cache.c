/*
 * The proxy's credential cache (proxy/cache.h): a small array under one
 * mutex.  It holds at most max agents; the entry that expires first
 * makes room.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/cache.h"
#include "core/err.h"

struct slot {
	char			*entry, *agent_id, *jkt;
	struct ob_proxy_cred	 cred;
	unsigned long long	 seq;	/* newest wins for jkt NULL */
};

struct ob_proxy_cache {
	pthread_mutex_t		 mu;
	struct slot		*slots;
	size_t			 n, max;
	unsigned long long	 seq;
};

int
ob_proxy_cache_new(size_t max, struct ob_proxy_cache **out)
{
	struct ob_proxy_cache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->slots = calloc(max, sizeof(*c->slots))) == NULL) {
		free(c);
		return OB_ERR_ALLOC;
	}
	c->max = max;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c->slots);
		free(c);
		return OB_ERR_ALLOC;
	}
	*out = c;
	return OB_OK;
}

static void
slot_clear(struct slot *s)
{
	free(s->entry);
	free(s->agent_id);
	free(s->jkt);
	json_decref(s->cred.answer);
	memset(s, 0, sizeof(*s));
}

void
ob_proxy_cache_free(struct ob_proxy_cache **cp)
{
	struct ob_proxy_cache	*c = *cp;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		slot_clear(&c->slots[i]);
	pthread_mutex_destroy(&c->mu);
	free(c->slots);
	free(c);
	*cp = NULL;
}

static struct slot *
find(struct ob_proxy_cache *c, const char *entry, const char *agent_id,
    const char *jkt)
{
	struct slot	*best = NULL;
	size_t		 i;

	for (i = 0; i < c->n; i++) {
		struct slot *s = &c->slots[i];

		if (strcmp(s->entry, entry) != 0 ||
		    strcmp(s->agent_id, agent_id) != 0 ||
		    (jkt != NULL && strcmp(s->jkt, jkt) != 0))
			continue;
		if (best == NULL || s->seq > best->seq)
			best = s;
	}
	return best;
}

int
ob_proxy_cache_put(struct ob_proxy_cache *c, const char *entry,
    const char *agent_id, const char *jkt, const struct ob_proxy_cred *cred)
{
	struct slot	 s, *at;
	size_t		 i;
	int		 r = OB_OK;

	memset(&s, 0, sizeof(s));
	if ((s.entry = strdup(entry)) == NULL ||
	    (s.agent_id = strdup(agent_id)) == NULL ||
	    (s.jkt = strdup(jkt)) == NULL) {
		slot_clear(&s);
		return OB_ERR_ALLOC;
	}
	s.cred = *cred;
	json_incref(s.cred.answer);
	pthread_mutex_lock(&c->mu);
	s.seq = ++c->seq;
	if ((at = find(c, entry, agent_id, jkt)) == NULL) {
		if (c->n < c->max)
			at = &c->slots[c->n++];
		else {
			at = &c->slots[0];
			for (i = 1; i < c->n; i++)
				if (c->slots[i].cred.expires_at <
				    at->cred.expires_at)
					at = &c->slots[i];
		}
	}
	slot_clear(at);
	*at = s;
	pthread_mutex_unlock(&c->mu);
	return r;
}

int
ob_proxy_cache_get(struct ob_proxy_cache *c, const char *entry,
    const char *agent_id, const char *jkt, long long now,
    struct ob_proxy_cred *out)
{
	struct slot	*s;
	int		 r = OB_ERR_PROXY_NO_CREDENTIAL;

	pthread_mutex_lock(&c->mu);
	if ((s = find(c, entry, agent_id, jkt)) != NULL &&
	    s->cred.expires_at > now) {
		*out = s->cred;
		json_incref(out->answer);
		r = OB_OK;
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}
