/*
 * What an agents entry accepts (docs/proxy.md, "Routes" and "Renewal"):
 * an envelope of the shape its model needs, and a renewal only inside an
 * approval window the proxy saw the owner sign for the same entry, agent
 * id and agent key.
 */
#ifndef OB_PROXY_ROUTE_H
#define OB_PROXY_ROUTE_H

#include "core/envelope.h"
#include "ownerbind/ob_err.h"
#include "proxy/cache.h"
#include "proxy/proxy_config.h"

/* 1 when an owner or a gateway signed env, 0 for an agent-only one. */
int ob_proxy_route_has_owner(const struct ob_envelope *env);

/*
 * An agent-mediated entry takes an owner-signed envelope, the others an
 * agent-only one: OB_OK or OB_ERR_PROXY_ROUTE.
 */
int ob_proxy_route_check(const struct ob_proxy_agent *a,
    const struct ob_envelope *env) OB_WUR;

/*
 * A renewal: agent-only with renews (else OB_ERR_PROXY_ROUTE), naming
 * the latest approval held for (a, sub, agent key) whose window is open
 * at now (else OB_ERR_PROXY_RENEW).
 */
int ob_proxy_route_renewal(struct ob_proxy_cache *c,
    const struct ob_proxy_agent *a, const struct ob_envelope *env,
    long long now) OB_WUR;

#endif
