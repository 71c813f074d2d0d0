/*
 * The proxy's credential cache: the last credential issued per agent
 * (agents entry, agent id, and the RFC 7638 thumbprint of the agent's
 * key), kept in memory only and served until its expires_at when the
 * upstreams cannot be reached (docs/proxy.md, "Cache").  Credentials are
 * short-lived and bound to the agent's key; nothing is written to disk.
 * Thread-safe.
 */
#ifndef OB_PROXY_CACHE_H
#define OB_PROXY_CACHE_H

#include <jansson.h>

#include "ownerbind/ob_err.h"

struct ob_proxy_cache;

/* What the upstream's 201 said, plus the approval it came from. */
struct ob_proxy_cred {
	json_t		*answer;	/* {"wit","wic","expires_at","owner"} */
	long long	 expires_at;
	long long	 renew_until;	/* the approval window's end, 0: none */
	long long	 renew_at;	/* when the agent should renew, 0: never */
	char		 approval[64];	/* the approved envelope's jti */
};

int ob_proxy_cache_new(size_t max, struct ob_proxy_cache **out) OB_WUR;
void ob_proxy_cache_free(struct ob_proxy_cache **cp);

/* Store a copy (the answer's reference is taken anew). */
int ob_proxy_cache_put(struct ob_proxy_cache *c, const char *entry,
    const char *agent_id, const char *jkt, const struct ob_proxy_cred *cred)
    OB_WUR;

/*
 * The credential for (entry, agent_id, jkt) still valid at now (jkt NULL:
 * the newest for entry and agent id): OB_OK and *out filled (its answer
 * a new reference, json_decref it), or OB_ERR_PROXY_NO_CREDENTIAL.
 */
int ob_proxy_cache_get(struct ob_proxy_cache *c, const char *entry,
    const char *agent_id, const char *jkt, long long now,
    struct ob_proxy_cred *out) OB_WUR;

#endif
