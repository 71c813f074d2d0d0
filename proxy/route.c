/*
 * What an agents entry accepts (proxy/route.h).
 */
#include <limits.h>
#include <string.h>

#include "proxy/route.h"
#include "core/err.h"

int
ob_proxy_route_has_owner(const struct ob_envelope *env)
{
	size_t	i;

	for (i = 0; i < env->n; i++)
		if (env->entries[i].role != OB_ROLE_AGENT)
			return 1;
	return 0;
}

int
ob_proxy_route_check(const struct ob_proxy_agent *a,
    const struct ob_envelope *env)
{
	int	owner = ob_proxy_route_has_owner(env);

	if (owner != (a->route == OB_ROUTE_AGENT_MEDIATED))
		return ob_errf(OB_ERR_PROXY_ROUTE, "the entry %s is %s, the "
		    "envelope %s an owner's signature", a->name,
		    ob_proxy_route_name(a->route), owner ? "has" : "lacks");
	if (env->claims.renews != NULL)
		return ob_errf(OB_ERR_PROXY_ROUTE, "a renewal goes to "
		    "/v1/renewals");
	return OB_OK;
}

/*
 * The server checks the same against its own record of the approval;
 * this check spares it requests that cannot pass, and keeps one agent
 * from renewing another's approval through this proxy.
 */
int
ob_proxy_route_renewal(struct ob_proxy_cache *c,
    const struct ob_proxy_agent *a, const struct ob_envelope *env,
    long long now)
{
	struct ob_proxy_cred	cr;
	int			r;

	memset(&cr, 0, sizeof(cr));
	if (env->claims.renews == NULL || ob_proxy_route_has_owner(env))
		return ob_errf(OB_ERR_PROXY_ROUTE, "a renewal is an "
		    "agent-only envelope with a renews claim");
	/* The credential may have expired; the approval is what counts. */
	if (ob_proxy_cache_get(c, a->name, env->claims.sub, env->claims.jkt,
	    LLONG_MIN, &cr) != OB_OK)
		return ob_errf(OB_ERR_PROXY_RENEW, "no approval known for "
		    "this agent key");
	if (strcmp(cr.approval, env->claims.renews) != 0)
		r = ob_errf(OB_ERR_PROXY_RENEW, "renews names another "
		    "approval than the latest for this agent key");
	else if (cr.renew_until == 0 || now >= cr.renew_until)
		r = ob_errf(OB_ERR_PROXY_RENEW, "the approval window %s",
		    cr.renew_until == 0 ? "was not granted" : "has closed");
	else
		r = OB_OK;
	json_decref(cr.answer);
	return r;
}
