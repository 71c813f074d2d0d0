/*
 * Envelope parse and build (docs/envelope.md).  Every check here is about
 * form; whether a signature verifies and whether the signer is trusted is
 * the verifier's (server-verify/) business.
 */
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/deconst.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"

static const char *const protected_names[] = {
	"alg", "typ", "kid", "crit", "x5c",
	"ob_role", "ob_model", "ob_iat", "ob_nonce", "ob_proxy", NULL
};
/* Extensions a crit list may name: ours, and only ours. */
static const char *const crit_names[] = {
	"ob_role", "ob_model", "ob_iat", "ob_nonce", NULL
};
static const char *const webauthn_header_names[] = {
	"authenticatorData", "clientDataJSON", NULL
};
static const char *const role_names[] = { NULL, "agent", "owner", "gateway" };
static const char *const model_names[] = {
	NULL, "agent-mediated", "owner-mediated", "server-mediated"
};

const char *
ob_role_name(enum ob_role role)
{
	return role >= OB_ROLE_AGENT && role <= OB_ROLE_GATEWAY ?
	    role_names[role] : "invalid";
}

const char *
ob_model_name(enum ob_model model)
{
	return model >= OB_MODEL_AGENT_MEDIATED &&
	    model <= OB_MODEL_SERVER_MEDIATED ? model_names[model] : "invalid";
}

int
ob_role_from_name(const char *name, enum ob_role *out)
{
	int i;

	for (i = OB_ROLE_AGENT; i <= OB_ROLE_GATEWAY; i++)
		if (strcmp(name, role_names[i]) == 0) {
			*out = (enum ob_role)i;
			return OB_OK;
		}
	return ob_errf(OB_ERR_ROLE_INVALID, "role \"%.32s\"", name);
}

int
ob_model_from_name(const char *name, enum ob_model *out)
{
	int i;

	for (i = OB_MODEL_AGENT_MEDIATED; i <= OB_MODEL_SERVER_MEDIATED; i++)
		if (strcmp(name, model_names[i]) == 0) {
			*out = (enum ob_model)i;
			return OB_OK;
		}
	return ob_errf(OB_ERR_MODEL_INVALID, "model \"%.32s\"", name);
}

static void
entry_clear(struct ob_entry *e)
{
	free(e->protected_b64);
	json_decref(e->protected);
	json_decref(e->header);
	free(e->sig);
	free(e->authdata);
	free(e->clientdata);
	memset(e, 0, sizeof(*e));
}

static int
in_list(const char *k, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(k, list[i]) == 0)
			return 1;
	return 0;
}

static int
entry_crit(const json_t *ph)
{
	const json_t	*crit, *v, *w;
	size_t		 i, j;

	if ((crit = json_object_get(ph, "crit")) == NULL)
		return OB_OK;
	if (!json_is_array(crit) || json_array_size(crit) == 0)
		return ob_errf(OB_ERR_HDR_CRIT, "crit must be a non-empty "
		    "array");
	json_array_foreach(crit, i, v) {
		if (!json_is_string(v))
			return ob_errf(OB_ERR_HDR_CRIT, "crit member %zu is not "
			    "a string", i);
		if (!in_list(json_string_value(v), crit_names))
			return ob_errf(OB_ERR_HDR_CRIT, "crit names \"%.32s\"",
			    json_string_value(v));
		if (json_object_get(ph, json_string_value(v)) == NULL)
			return ob_errf(OB_ERR_HDR_CRIT, "crit names absent "
			    "\"%.32s\"", json_string_value(v));
		for (j = 0; j < i; j++) {
			w = json_array_get(crit, j);
			if (json_equal(v, w))
				return ob_errf(OB_ERR_HDR_CRIT, "crit repeats "
				    "\"%.32s\"", json_string_value(v));
		}
	}
	return OB_OK;
}

static int
entry_b64_member(const json_t *o, const char *k, size_t max, int missing,
    int bad, unsigned char **out, size_t *outlen)
{
	const char	*s;
	int		 r;

	if ((r = ob_json_get_str(o, k, 0, 2 * max, missing, bad,
	    &s)) != OB_OK)
		return r;
	if ((r = ob_b64url_decode(s, strlen(s), max, out, outlen)) != OB_OK)
		return ob_err_prefix(r, "\"%s\"", k);
	return OB_OK;
}

static int
entry_x5c(const json_t *x5c)
{
	const json_t	*v;
	const char	*s;
	size_t		 i, n;

	if (!json_is_array(x5c) || json_array_size(x5c) == 0 ||
	    json_array_size(x5c) > OB_MAX_X5C)
		return ob_errf(OB_ERR_X5C_INVALID, "x5c must hold 1..%d "
		    "certificates", OB_MAX_X5C);
	json_array_foreach(x5c, i, v) {
		if (!json_is_string(v))
			return ob_errf(OB_ERR_X5C_INVALID, "x5c[%zu] is not a "
			    "string", i);
		s = json_string_value(v);
		n = json_string_length(v);
		/* Standard base64 with padding (RFC 7515 4.1.6). */
		if (n == 0 || n % 4 != 0 || n > (OB_MAX_CERT / 3 + 1) * 4 ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
		    "wxyz0123456789+/=") != n)
			return ob_errf(OB_ERR_X5C_INVALID, "x5c[%zu] is not "
			    "base64", i);
	}
	return OB_OK;
}

/* Check one entry's protected header; fill the decoded fields. */
static int
entry_protected(struct ob_entry *e)
{
	const json_t	*ph = e->protected, *v;
	const char	*s, *k;
	unsigned char	*b = NULL;
	size_t		 n;
	int		 r;

	/* RFC 7797 is refused outright, whatever b64's value. */
	if (json_object_get(ph, "b64") != NULL)
		return ob_errf(OB_ERR_HDR_B64_FALSE, "b64 present");
	if ((r = entry_crit(ph)) != OB_OK)
		return r;
	/* jansson iterates a json_t *; nothing is written. */
	json_object_foreach(OB_DECONST(json_t *, ph), k, v)
		if (!in_list(k, protected_names))
			return ob_errf(OB_ERR_HDR_INVALID, "unknown parameter "
			    "\"%.32s\"", k);
	if ((r = ob_json_get_str(ph, "typ", 1, 64, OB_ERR_HDR_TYP,
	    OB_ERR_HDR_TYP, &s)) != OB_OK)
		return r;
	if (strcmp(s, OB_TYP) != 0)
		return ob_errf(OB_ERR_HDR_TYP, "typ \"%.32s\"", s);
	if ((r = ob_json_get_str(ph, "alg", 1, 32, OB_ERR_HDR_INVALID,
	    OB_ERR_HDR_INVALID, &s)) != OB_OK ||
	    (r = ob_alg_from_name(s, &e->alg)) != OB_OK)
		return r;
	if ((r = ob_json_get_str(ph, "kid", 1, 256, OB_ERR_HDR_INVALID,
	    OB_ERR_HDR_INVALID, &e->kid)) != OB_OK)
		return r;
	if ((r = ob_json_get_str(ph, "ob_role", 1, 16, OB_ERR_ROLE_INVALID,
	    OB_ERR_ROLE_INVALID, &s)) != OB_OK ||
	    (r = ob_role_from_name(s, &e->role)) != OB_OK)
		return r;
	if ((r = ob_json_get_str(ph, "ob_model", 1, 32, OB_ERR_MODEL_INVALID,
	    OB_ERR_MODEL_INVALID, &s)) != OB_OK ||
	    (r = ob_model_from_name(s, &e->model)) != OB_OK)
		return r;
	if ((r = ob_json_get_int(ph, "ob_iat", OB_ERR_HDR_INVALID,
	    OB_ERR_HDR_INVALID, &e->sat)) != OB_OK)
		return r;
	if (e->sat < 0)
		return ob_errf(OB_ERR_HDR_INVALID, "negative ob_iat");
	if (json_object_get(ph, "ob_nonce") != NULL) {
		if ((r = ob_json_get_str(ph, "ob_nonce", 16, 128,
		    OB_ERR_HDR_INVALID, OB_ERR_HDR_INVALID, &e->nonce)) != OB_OK)
			return r;
		if ((r = ob_b64url_decode(e->nonce, strlen(e->nonce), 96, &b,
		    &n)) != OB_OK)
			return ob_err_prefix(r, "ob_nonce");
		free(b);
	}
	if ((e->x5c = json_object_get(ph, "x5c")) != NULL) {
		if (e->role != OB_ROLE_GATEWAY)
			return ob_errf(OB_ERR_HDR_INVALID, "x5c is for gateway "
			    "entries only");
		if ((r = entry_x5c(e->x5c)) != OB_OK)
			return r;
	}
	/* The proxy a gateway authenticated, under its signature. */
	if (json_object_get(ph, "ob_proxy") != NULL) {
		if (e->role != OB_ROLE_GATEWAY)
			return ob_errf(OB_ERR_HDR_INVALID, "ob_proxy is for "
			    "gateway entries only");
		if ((r = ob_json_get_str(ph, "ob_proxy", 1, OB_MAX_PROXY_ID,
		    OB_ERR_HDR_INVALID, OB_ERR_HDR_INVALID, &e->proxy)) !=
		    OB_OK)
			return r;
		for (s = e->proxy; *s != '\0'; s++)
			if (*s < 0x21 || *s > 0x7e)
				return ob_errf(OB_ERR_HDR_INVALID, "ob_proxy "
				    "is not visible ASCII");
	}
	return OB_OK;
}

static int
entry_unprotected(struct ob_entry *e)
{
	const char	*k;
	json_t		*v;
	int		 r;

	if (e->header != NULL) {
		json_object_foreach(e->header, k, v)
			if (json_object_get(e->protected, k) != NULL)
				return ob_errf(OB_ERR_HDR_DUP_PARAM,
				    "\"%.32s\"", k);
	}
	if (!ob_alg_is_webauthn(e->alg)) {
		if (e->header != NULL)
			return ob_errf(OB_ERR_HDR_UNPROTECTED, "only FIDO2 "
			    "entries have an unprotected header");
		return OB_OK;
	}
	if (e->header == NULL)
		return ob_errf(OB_ERR_FIDO_HEADER, "no unprotected header");
	if ((r = ob_json_only_members(e->header, webauthn_header_names,
	    OB_ERR_HDR_UNPROTECTED)) != OB_OK)
		return r;
	if ((r = entry_b64_member(e->header, "authenticatorData",
	    OB_MAX_AUTHDATA, OB_ERR_FIDO_HEADER, OB_ERR_FIDO_HEADER,
	    &e->authdata, &e->authdata_len)) != OB_OK)
		return r;
	return entry_b64_member(e->header, "clientDataJSON",
	    OB_MAX_CLIENTDATA, OB_ERR_FIDO_HEADER, OB_ERR_FIDO_HEADER,
	    &e->clientdata, &e->clientdata_len);
}

/* Fill e from a protected_b64 string, a header (may be NULL) and sig. */
static int
entry_fill(struct ob_entry *e, const char *pb64, const json_t *header,
    const unsigned char *sig, size_t siglen)
{
	unsigned char	*ph = NULL;
	size_t		 phlen;
	int		 r;

	memset(e, 0, sizeof(*e));
	if ((r = ob_b64url_decode(pb64, strlen(pb64), OB_MAX_PROTECTED, &ph,
	    &phlen)) != OB_OK) {
		r = ob_err_prefix(r, "protected");
		goto out;
	}
	if ((r = ob_json_parse_object(ph, phlen, &e->protected)) != OB_OK) {
		r = ob_err_prefix(r, "protected header");
		goto out;
	}
	if ((e->protected_b64 = strdup(pb64)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (header != NULL) {
		if (!json_is_object(header)) {
			r = ob_errf(OB_ERR_HDR_INVALID, "header is not an "
			    "object");
			goto out;
		}
		if ((e->header = json_deep_copy(header)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	OB_TRY(entry_protected(e));
	OB_TRY(entry_unprotected(e));
	if (siglen == 0 || siglen > OB_MAX_SIGNATURE) {
		r = ob_errf(OB_ERR_SIG_FORMAT, "signature of %zu bytes", siglen);
		goto out;
	}
	if ((e->sig = malloc(siglen)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(e->sig, sig, siglen);
	e->siglen = siglen;
	r = OB_OK;
out:
	free(ph);
	if (r != OB_OK)
		entry_clear(e);
	return r;
}

static int
entry_parse(const json_t *o, struct ob_entry *e)
{
	static const char *const names[] = {
		"protected", "header", "signature", NULL
	};
	const char	*pb64;
	unsigned char	*sig = NULL;
	size_t		 siglen;
	int		 r;

	if (!json_is_object(o))
		return ob_errf(OB_ERR_ENV_MEMBER, "entry is not an object");
	if ((r = ob_json_only_members(o, names, OB_ERR_ENV_MEMBER)) != OB_OK)
		return r;
	if ((r = ob_json_get_str(o, "protected", 1,
	    (OB_MAX_PROTECTED / 3 + 1) * 4, OB_ERR_ENV_MEMBER,
	    OB_ERR_ENV_MEMBER, &pb64)) != OB_OK)
		return r;
	if ((r = entry_b64_member(o, "signature", OB_MAX_SIGNATURE,
	    OB_ERR_ENV_MEMBER, OB_ERR_ENV_MEMBER, &sig, &siglen)) != OB_OK)
		return r;
	r = entry_fill(e, pb64, json_object_get(o, "header"), sig, siglen);
	free(sig);
	return r;
}

void
ob_envelope_free(struct ob_envelope **envp)
{
	struct ob_envelope	*env;
	size_t			 i;

	if (envp == NULL || (env = *envp) == NULL)
		return;
	for (i = 0; i < env->n; i++)
		entry_clear(&env->entries[i]);
	ob_claims_clear(&env->claims);
	json_decref(env->payload_json);
	free(env->payload);
	free(env->payload_b64);
	free(env);
	*envp = NULL;
}

static int
envelope_payload(struct ob_envelope *env, const char *pb64)
{
	int r;

	if ((env->payload_b64 = strdup(pb64)) == NULL)
		return OB_ERR_ALLOC;
	if ((r = ob_b64url_decode(pb64, strlen(pb64), OB_MAX_PAYLOAD,
	    &env->payload, &env->payload_len)) != OB_OK)
		return ob_err_prefix(r, "payload");
	if ((r = ob_json_parse_object(env->payload, env->payload_len,
	    &env->payload_json)) != OB_OK)
		return ob_err_prefix(r == OB_ERR_JSON_SYNTAX ?
		    OB_ERR_PAYLOAD_INVALID : r, "payload");
	return ob_claims_check(env->payload_json, &env->claims);
}

int
ob_envelope_parse(const void *buf, size_t len, unsigned int flags,
    struct ob_envelope **out)
{
	struct ob_envelope	*env = NULL;
	json_t			*top = NULL, *sigs;
	const char		*pb64;
	size_t			 i;
	int			 r;

	if (len > OB_MAX_ENVELOPE)
		return ob_errf(OB_ERR_ENV_TOO_LARGE, "%zu bytes, limit %d", len,
		    OB_MAX_ENVELOPE);
	if ((r = ob_json_parse_object(buf, len, &top)) != OB_OK)
		return r;
	if (json_object_get(top, "signature") != NULL ||
	    json_object_get(top, "protected") != NULL ||
	    json_object_get(top, "header") != NULL) {
		r = ob_errf(OB_ERR_ENV_NOT_GENERAL, "flattened serialization");
		goto out;
	}
	if ((sigs = json_object_get(top, "signatures")) == NULL ||
	    !json_is_array(sigs)) {
		r = ob_errf(OB_ERR_ENV_NOT_GENERAL, "no signatures array");
		goto out;
	}
	if (json_object_size(top) != 2) {
		r = ob_errf(OB_ERR_ENV_MEMBER, "top level has members other "
		    "than payload and signatures");
		goto out;
	}
	if ((r = ob_json_get_str(top, "payload", 1,
	    (OB_MAX_PAYLOAD / 3 + 1) * 4, OB_ERR_ENV_MEMBER,
	    OB_ERR_ENV_MEMBER, &pb64)) != OB_OK)
		goto out;
	if (json_array_size(sigs) > OB_MAX_ENTRIES) {
		r = ob_errf(OB_ERR_ENV_TOO_MANY_SIGS, "%zu entries, limit %d",
		    json_array_size(sigs), OB_MAX_ENTRIES);
		goto out;
	}
	if (json_array_size(sigs) == 0 &&
	    (flags & OB_PARSE_ALLOW_UNSIGNED) == 0) {
		r = OB_ERR_ENV_NO_SIGS;
		goto out;
	}
	if ((env = calloc(1, sizeof(*env))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(envelope_payload(env, pb64));
	for (i = 0; i < json_array_size(sigs); i++) {
		if ((r = entry_parse(json_array_get(sigs, i),
		    &env->entries[i])) != OB_OK) {
			r = ob_err_prefix(r, "entry %zu", i);
			goto out;
		}
		env->n++;
	}
	*out = env;
	env = NULL;
	r = OB_OK;
out:
	ob_envelope_free(&env);
	json_decref(top);
	return r;
}

int
ob_envelope_new(const json_t *claims, struct ob_envelope **out)
{
	struct ob_envelope	*env = NULL;
	char			*s = NULL, *b = NULL;
	size_t			 slen;
	int			 r;

	OB_TRY(ob_json_dump(claims, &s, &slen));
	if (slen > OB_MAX_PAYLOAD) {
		r = ob_errf(OB_ERR_ENV_TOO_LARGE, "payload of %zu bytes", slen);
		goto out;
	}
	OB_TRY(ob_b64url_encode((const unsigned char *)s, slen, &b));
	if ((env = calloc(1, sizeof(*env))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(envelope_payload(env, b));
	*out = env;
	env = NULL;
	r = OB_OK;
out:
	ob_envelope_free(&env);
	free(s);
	free(b);
	return r;
}

int
ob_envelope_signing_input(const struct ob_envelope *env,
    const char *protected_b64, char **out, size_t *outlen)
{
	size_t	 a = strlen(protected_b64), b = strlen(env->payload_b64);
	char	*s;

	if ((s = malloc(a + 1 + b + 1)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(s, protected_b64, a);
	s[a] = '.';
	memcpy(s + a + 1, env->payload_b64, b + 1);
	*out = s;
	*outlen = a + 1 + b;
	return OB_OK;
}

int
ob_protected_encode(const json_t *protected, char **out)
{
	char	*s = NULL;
	size_t	 slen;
	int	 r;

	if ((r = ob_json_dump(protected, &s, &slen)) != OB_OK)
		return r;
	if (slen > OB_MAX_PROTECTED)
		r = ob_errf(OB_ERR_ENV_TOO_LARGE, "protected header of %zu "
		    "bytes", slen);
	else
		r = ob_b64url_encode((const unsigned char *)s, slen, out);
	free(s);
	return r;
}

int
ob_protected_new(enum ob_alg alg, const char *kid, enum ob_role role,
    enum ob_model model, long long sat, const char *nonce, const json_t *x5c,
    json_t **out)
{
	json_t *h;

	if ((h = json_object()) == NULL)
		return OB_ERR_ALLOC;
	if (json_object_set_new(h, "alg", json_string(ob_alg_name(alg))) ||
	    json_object_set_new(h, "typ", json_string(OB_TYP)) ||
	    json_object_set_new(h, "kid", json_string(kid)) ||
	    json_object_set_new(h, "ob_role", json_string(ob_role_name(role))) ||
	    json_object_set_new(h, "ob_model",
	    json_string(ob_model_name(model))) ||
	    json_object_set_new(h, "ob_iat", json_integer(sat)) ||
	    (nonce != NULL && json_object_set_new(h, "ob_nonce",
	    json_string(nonce))) ||
	    (x5c != NULL && json_object_set_new(h, "x5c", json_deep_copy(x5c)))) {
		json_decref(h);
		return OB_ERR_ALLOC;
	}
	*out = h;
	return OB_OK;
}

int
ob_envelope_append(struct ob_envelope *env, const char *protected_b64,
    const json_t *header, const unsigned char *sig, size_t siglen)
{
	int r;

	if (env->n >= OB_MAX_ENTRIES)
		return ob_errf(OB_ERR_ENV_TOO_MANY_SIGS, "limit %d",
		    OB_MAX_ENTRIES);
	if ((r = entry_fill(&env->entries[env->n], protected_b64, header, sig,
	    siglen)) != OB_OK)
		return r;
	env->n++;
	return OB_OK;
}

int
ob_envelope_serialize(const struct ob_envelope *env, char **out,
    size_t *outlen)
{
	json_t	*top = NULL, *sigs, *o;
	char	*sb64 = NULL;
	size_t	 i;
	int	 r = OB_ERR_ALLOC;

	if ((top = json_object()) == NULL || (sigs = json_array()) == NULL)
		goto out;
	if (json_object_set_new(top, "payload", json_string(env->payload_b64))
	    || json_object_set_new(top, "signatures", sigs))
		goto out;
	for (i = 0; i < env->n; i++) {
		const struct ob_entry *e = &env->entries[i];

		if ((r = ob_b64url_encode(e->sig, e->siglen, &sb64)) != OB_OK)
			goto out;
		r = OB_ERR_ALLOC;
		if ((o = json_object()) == NULL ||
		    json_array_append_new(sigs, o) != 0 ||
		    json_object_set_new(o, "protected",
		    json_string(e->protected_b64)) ||
		    (e->header != NULL && json_object_set(o, "header",
		    e->header)) ||
		    json_object_set_new(o, "signature", json_string(sb64)))
			goto out;
		free(sb64);
		sb64 = NULL;
	}
	OB_TRY(ob_json_dump(top, out, outlen));
	if (*outlen > OB_MAX_ENVELOPE) {
		free(*out);
		*out = NULL;
		r = ob_errf(OB_ERR_ENV_TOO_LARGE, "envelope of %zu bytes",
		    *outlen);
		goto out;
	}
	r = OB_OK;
out:
	free(sb64);
	json_decref(top);
	return r;
}
