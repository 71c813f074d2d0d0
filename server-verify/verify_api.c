/*
 * server-verify/verify_api.c: the opaque options (constructor, setters)
 * and the verdict's getters (ob_verify.h).  The structures are in
 * verify_int.h; nothing outside the library may rely on their layout.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "server-verify/verify_int.h"

int
ob_verify_opts_new(struct ob_verify_opts **out)
{
	struct ob_verify_opts	*o;

	if (out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "out is required");
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return OB_ERR_ALLOC;
	o->channel = OB_CHANNEL_DIRECT;
	*out = o;
	return OB_OK;
}

void
ob_verify_opts_free(struct ob_verify_opts **op)
{
	struct ob_verify_opts	*o;

	if (op == NULL || (o = *op) == NULL)
		return;
	free(o->own_aud);
	free(o->own_proxy);
	free(o);
	*op = NULL;
}

/* Replace an owned copy; *slot and *own change only on success. */
static int
set_str(const char *v, const char **slot, char **own)
{
	char	*c = NULL;

	if (v != NULL && (c = strdup(v)) == NULL)
		return OB_ERR_ALLOC;
	free(*own);
	*own = c;
	*slot = c;
	return OB_OK;
}

int
ob_verify_opts_set_aud(struct ob_verify_opts *o, const char *aud)
{
	if (o == NULL || aud == NULL || *aud == '\0')
		return ob_errf(OB_ERR_INVALID_ARG, "aud must be a non-empty "
		    "URI");
	return set_str(aud, &o->aud, &o->own_aud);
}

int
ob_verify_opts_set_channel(struct ob_verify_opts *o, enum ob_channel ch,
    const char *proxy)
{
	int	r;

	if (o == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "opts is required");
	switch (ch) {
	case OB_CHANNEL_DIRECT:
		if (proxy != NULL)
			return ob_errf(OB_ERR_INVALID_ARG, "the direct channel "
			    "has no proxy id");
		break;
	case OB_CHANNEL_GATEWAY:
		if (proxy == NULL || *proxy == '\0')
			return ob_errf(OB_ERR_INVALID_ARG, "the gateway channel "
			    "needs the proxy id the gateway serves");
		break;
	default:
		return ob_errf(OB_ERR_INVALID_ARG, "unknown channel %d",
		    (int)ch);
	}
	if ((r = set_str(proxy, &o->proxy, &o->own_proxy)) != OB_OK)
		return r;
	o->channel = ch;
	return OB_OK;
}

static int
set_range(long long *slot, long long v, long long lo, long long hi,
    const char *what)
{
	if (v != 0 && (v < lo || v > hi))
		return ob_errf(OB_ERR_INVALID_ARG, "%s %lld is outside "
		    "%lld..%lld (0: the default)", what, v, lo, hi);
	*slot = v;
	return OB_OK;
}

int
ob_verify_opts_set_now(struct ob_verify_opts *o, long long now)
{
	if (o == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "opts is required");
	return set_range(&o->now, now, 1, 253402300799LL, "now");
}

int
ob_verify_opts_set_max_age(struct ob_verify_opts *o, long long s)
{
	if (o == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "opts is required");
	return set_range(&o->max_age, s, 1, 86400, "max_age");
}

int
ob_verify_opts_set_skew(struct ob_verify_opts *o, long long s)
{
	if (o == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "opts is required");
	return set_range(&o->skew, s, 1, 3600, "skew");
}

int
ob_verify_opts_set_max_lifetime(struct ob_verify_opts *o, long long s)
{
	if (o == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "opts is required");
	return set_range(&o->max_lifetime, s, 1, 2592000, "max_lifetime");
}

/* Getters: one line each, NULL-safe. */
#define OB_VERDICT_STRINGS(X) \
	X(agent) X(agent_jkt) X(agent_alg) X(agent_jwk) X(owner) \
	X(owner_kid) X(owner_kind) X(owner_alg) X(owner_jwk) X(owner_jkt) \
	X(owner_type) X(owner_group) X(gateway) X(gateway_x5t) X(model) \
	X(assurance) X(jti) X(nonce) X(envelope_sha256) X(dns_name) \
	X(logical_id) X(client_id) X(renewal_of)
#define OB_VERDICT_NUMBERS(X) \
	X(long long, iat, 0) X(long long, exp, 0) \
	X(long long, approved_at, 0) X(long long, counter, -1) \
	X(int, up, -1) X(int, uv, -1) X(long long, renew_until, 0)

#define GET_STR(m) \
	const char *ob_verdict_##m(const struct ob_verdict *v) \
	{ return v != NULL ? v->m : NULL; }
#define GET_NUM(t, m, none) \
	t ob_verdict_##m(const struct ob_verdict *v) \
	{ return v != NULL ? v->m : (none); }

OB_VERDICT_STRINGS(GET_STR)
OB_VERDICT_NUMBERS(GET_NUM)
