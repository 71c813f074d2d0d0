/*
 * The agent's client for the Agent API (include/ownerbind/ob_agent.h):
 * HTTP over the proxy's unix socket through service/client.h, and one
 * credential kept per handle.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ownerbind/ob_agent.h"
#include "core/err.h"
#include "core/json.h"
#include "service/client.h"

#define AGENT_TIMEOUT_MS	(10L * 60 * 1000)	/* an owner may be asked */

struct ob_agent {
	char			*socket;
	struct ob_agent_cred	*last;
};

int
ob_agent_new(const char *socket, struct ob_agent **out)
{
	struct ob_agent	*a;
	const char	*env = getenv("OWNERBIND_PROXY_SOCKET");

	if (socket == NULL)
		socket = env != NULL && *env != '\0' ? env : OB_AGENT_SOCKET;
	if (ob_client_global_init() != OB_OK ||
	    (a = calloc(1, sizeof(*a))) == NULL)
		return OB_ERR_ALLOC;
	if ((a->socket = strdup(socket)) == NULL) {
		free(a);
		return OB_ERR_ALLOC;
	}
	*out = a;
	return OB_OK;
}

void
ob_agent_cred_free(struct ob_agent_cred **cp)
{
	struct ob_agent_cred	*c = *cp;

	if (c == NULL)
		return;
	free(c->agent_id);
	free(c->wit);
	free(c->wic);
	free(c->approval);
	free(c);
	*cp = NULL;
}

void
ob_agent_free(struct ob_agent **ap)
{
	struct ob_agent	*a = *ap;

	if (a == NULL)
		return;
	ob_agent_cred_free(&a->last);
	free(a->socket);
	free(a);
	*ap = NULL;
}

static int
cred_new(const char *id, const char *wit, const char *wic, long long exp,
    int cached, struct ob_agent_cred **out)
{
	struct ob_agent_cred	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return OB_ERR_ALLOC;
	c->expires_at = exp;
	c->cached = cached;
	if ((c->agent_id = strdup(id)) == NULL ||
	    (c->wit = strdup(wit)) == NULL || (c->wic = strdup(wic)) == NULL) {
		ob_agent_cred_free(&c);
		return OB_ERR_ALLOC;
	}
	*out = c;
	return OB_OK;
}

/* A copy of c, cached marked as given. */
static int
cred_copy(const struct ob_agent_cred *c, int cached,
    struct ob_agent_cred **out)
{
	int r;

	if ((r = cred_new(c->agent_id, c->wit, c->wic, c->expires_at, cached,
	    out)) != OB_OK)
		return r;
	(*out)->renew_at = c->renew_at;
	(*out)->renew_until = c->renew_until;
	if (c->approval != NULL &&
	    ((*out)->approval = strdup(c->approval)) == NULL) {
		ob_agent_cred_free(out);
		return OB_ERR_ALLOC;
	}
	return OB_OK;
}

/* The approval window members, all three or none. */
static int
cred_window(struct ob_agent_cred *c, const json_t *o)
{
	const json_t	*at = json_object_get(o, "renew_at");
	const json_t	*until = json_object_get(o, "renew_until");
	const char	*appr = json_string_value(json_object_get(o,
			    "approval"));

	if (at == NULL && until == NULL && appr == NULL)
		return OB_OK;
	if (!json_is_integer(at) || !json_is_integer(until) || appr == NULL ||
	    strlen(appr) > 64)
		return ob_errf(OB_ERR_AGENT_RESPONSE, "renew_at, renew_until "
		    "and approval come together");
	c->renew_at = json_integer_value(at);
	c->renew_until = json_integer_value(until);
	return (c->approval = strdup(appr)) != NULL ? OB_OK : OB_ERR_ALLOC;
}

int
ob_agent_renewal_due(const struct ob_agent_cred *c, long long now)
{
	return c != NULL && c->approval != NULL && c->renew_at != 0 &&
	    now >= c->renew_at && now < c->renew_until;
}

/* The proxy's answer: a credential, or its problem as our code. */
static int
answer(const char *id, const struct ob_client_reply *rp,
    struct ob_agent_cred **out)
{
	json_t		*o = NULL;
	const char	*wit, *wic, *code, *detail;
	int		 r, i;

	if (rp->body == NULL || ob_json_parse_object(rp->body, rp->len, &o) !=
	    OB_OK)
		return ob_errf(OB_ERR_AGENT_RESPONSE, "HTTP %ld without a "
		    "JSON object", rp->status);
	if (rp->status == 200 || rp->status == 201) {
		wit = json_string_value(json_object_get(o, "wit"));
		wic = json_string_value(json_object_get(o, "wic"));
		if (wit == NULL || wic == NULL ||
		    !json_is_integer(json_object_get(o, "expires_at"))) {
			r = ob_errf(OB_ERR_AGENT_RESPONSE, "HTTP %ld without "
			    "wit, wic and expires_at", rp->status);
			goto out;
		}
		if ((r = cred_new(id, wit, wic, json_integer_value(
		    json_object_get(o, "expires_at")), json_is_true(
		    json_object_get(o, "cached")), out)) != OB_OK)
			goto out;
		r = cred_window(*out, o);
		if (r != OB_OK)
			ob_agent_cred_free(out);
		goto out;
	}
	code = json_string_value(json_object_get(o, "code"));
	detail = json_string_value(json_object_get(o, "detail"));
	r = OB_ERR_AGENT_RESPONSE;
	for (i = 0; code != NULL && i < (int)ob_err_count(); i++)
		if (strcmp(ob_err_name(ob_err_code_at((size_t)i)), code) == 0)
			r = ob_err_code_at((size_t)i);
	r = ob_errf(r, "HTTP %ld %s%s%s", rp->status, code != NULL ? code :
	    "without a code", detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
out:
	json_decref(o);
	return r;
}

int
ob_agent_get(struct ob_agent *a, const char *agent_id, const char *envelope,
    size_t len, int renewal, long long min_valid, struct ob_agent_cred **out)
{
	struct ob_client_reply	 rp;
	struct ob_agent_cred	*c = NULL;
	char			*q = NULL, *path = NULL;
	size_t			 n;
	int			 r;

	memset(&rp, 0, sizeof(rp));
	if (envelope == NULL && a->last != NULL &&
	    strcmp(a->last->agent_id, agent_id) == 0 &&
	    a->last->expires_at - min_valid > (long long)time(NULL))
		return cred_copy(a->last, 1, out);
	if (envelope != NULL)
		r = ob_client_unix_request(a->socket, "POST", renewal ?
		    "/v1/renewals" : "/v1/credentials",
		    "application/jose+json", envelope, len, AGENT_TIMEOUT_MS,
		    &rp);
	else {
		if ((q = curl_easy_escape(NULL, agent_id, 0)) == NULL ||
		    (path = malloc((n = strlen(q) + 32))) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		(void)snprintf(path, n, "/v1/credentials?agent=%s", q);
		r = ob_client_unix_request(a->socket, "GET", path, NULL, NULL,
		    0, AGENT_TIMEOUT_MS, &rp);
	}
	if (r != OB_OK)
		goto out;
	OB_TRY(answer(agent_id, &rp, &c));
	ob_agent_cred_free(&a->last);
	OB_TRY(cred_copy(c, c->cached, &a->last));
	*out = c;
	c = NULL;
	r = OB_OK;
out:
	ob_agent_cred_free(&c);
	ob_client_reply_clear(&rp);
	curl_free(q);
	free(path);
	return r;
}
