/*
 * server-verify/rp_wit.c: a WIT (draft-ietf-wimse-workload-creds) and
 * the WPT (draft-ietf-wimse-wpt) that proves possession of its key, in
 * the order docs/relying-party.md lists: the form of both tokens, then
 * the WIT (header, issuer key, claims, times, signature), then the WPT
 * (header, claims, times, bindings, signature), and last the WPT's jti in
 * the replay state, so that nothing is recorded for a request that fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "server-verify/rp_int.h"
#include "server-verify/state.h"

#define JWT_MAX_HDR	1024	/* decoded JOSE header */
#define JWT_MAX_SIG	512	/* decoded signature (RSA 4096) */
#define WPT_MIN_JTI	16	/* 96 bits as base64url */

/* One compact JWS, split and decoded; text is borrowed. */
struct jwt {
	const char	*text;
	size_t		 len;
	size_t		 tbslen;	/* signing input: header "." claims */
	json_t		*hdr;
	json_t		*cl;
	unsigned char	*sig;
	size_t		 siglen;
};

struct rctx {
	const struct ob_rp	*rp;
	const struct ob_rp_req	*req;
	long long		 now, skew, ttl;
	struct jwt		 wit, wpt;
	/* the WIT */
	const struct rp_key	*key;
	enum ob_alg		 wit_alg;
	const char		*iss, *sub, *jti;
	long long		 exp;
	const char		*cnf_alg;	/* cnf.jwk.alg as written */
	enum ob_alg		 agent_alg;
	EVP_PKEY		*agent;
	char			 jkt[44];
	struct rp_owner		 owner;
	/* the WPT */
	const char		*wpt_jti;
	long long		 wpt_exp;
};

static void
jwt_clear(struct jwt *j)
{
	json_decref(j->hdr);
	json_decref(j->cl);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* A part of a compact JWS: canonical base64url, then at most max bytes. */
static int
jwt_part(const char *s, size_t n, size_t max, const char *what,
    const char *part, unsigned char **out, size_t *outlen)
{
	int r;

	if (n == 0)
		return ob_errf(OB_ERR_JWT_FORM, "%s: empty %s", what, part);
	if ((r = ob_b64url_decode(s, n, max, out, outlen)) != OB_OK)
		return ob_errf(r == OB_ERR_ALLOC ? r : OB_ERR_JWT_FORM,
		    "%s %s: %s", what, part, ob_err_text(r));
	return OB_OK;
}

static int
jwt_json(const unsigned char *b, size_t n, const char *what,
    const char *part, json_t **out)
{
	int r;

	if ((r = ob_json_parse_object(b, n, out)) != OB_OK)
		return ob_errf(r == OB_ERR_ALLOC ? r : OB_ERR_JWT_FORM,
		    "%s %s: %s", what, part, ob_err_text(r));
	return OB_OK;
}

/*
 * Exactly three parts (a JWS; a JWE has five), each canonical base64url;
 * the header and the claims strict JSON objects (duplicate members
 * refused).  Outputs in j only on success.
 */
static int
jwt_parse(const char *s, size_t max, const char *what, struct jwt *j)
{
	const char	*d1, *d2;
	unsigned char	*b = NULL;
	struct jwt	 t;
	size_t		 len, n;
	int		 r;

	memset(&t, 0, sizeof(t));
	if (s == NULL)
		return ob_errf(OB_ERR_JWT_FORM, "no %s", what);
	if ((len = strnlen(s, max + 1)) > max)
		return ob_errf(OB_ERR_JWT_FORM, "%s longer than %zu characters",
		    what, max);
	if ((d1 = memchr(s, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)) != NULL)
		return ob_errf(OB_ERR_JWT_FORM, "%s is not three dot-separated "
		    "parts", what);
	OB_TRY(jwt_part(s, (size_t)(d1 - s), JWT_MAX_HDR, what, "header", &b,
	    &n));
	OB_TRY(jwt_json(b, n, what, "header", &t.hdr));
	free(b);
	b = NULL;
	OB_TRY(jwt_part(d1 + 1, (size_t)(d2 - d1 - 1), max, what, "claims",
	    &b, &n));
	OB_TRY(jwt_json(b, n, what, "claims", &t.cl));
	OB_TRY(jwt_part(d2 + 1, len - (size_t)(d2 + 1 - s), JWT_MAX_SIG, what,
	    "signature", &t.sig, &t.siglen));
	t.text = s;
	t.len = len;
	t.tbslen = (size_t)(d2 - s);
	*j = t;
	memset(&t, 0, sizeof(t));
	r = OB_OK;
out:
	free(b);
	jwt_clear(&t);
	return r;
}

/* typ "wit+jwt" or "application/wit+jwt", case-insensitive (RFC 7515
 * 4.1.9: a media type with its "application/" prefix omitted). */
static int
typ_is(const char *t, const char *want)
{
	return strcasecmp(t, want) == 0 || (strncasecmp(t, "application/",
	    12) == 0 && strcasecmp(t + 12, want) == 0);
}

/*
 * The JOSE header: typ, then alg (into *alg; a missing alg is bad_alg),
 * kid (optional).  crit, b64 and zip would change what the signature
 * covers or how the claims read, and are refused; jku, x5u, jwk and x5c
 * are never used to find a key, so they are left alone.
 */
static int
jwt_header(const struct jwt *j, const char *what, const char *typ,
    int bad_alg, const char **alg, const char **kid)
{
	static const char *const refused[] = { "crit", "b64", "zip", NULL };
	const json_t	*v;
	const char	*t;
	size_t		 i;
	int		 r;

	for (i = 0; refused[i] != NULL; i++)
		if (json_object_get(j->hdr, refused[i]) != NULL)
			return ob_errf(OB_ERR_JWT_FORM, "%s header: \"%s\" is "
			    "not understood", what, refused[i]);
	if ((r = ob_json_get_str(j->hdr, "typ", 1, 64, OB_ERR_JWT_TYP,
	    OB_ERR_JWT_TYP, &t)) != OB_OK)
		return ob_err_prefix(r, "%s", what);
	if (!typ_is(t, typ))
		return ob_errf(OB_ERR_JWT_TYP, "%s typ \"%.32s\", expected %s",
		    what, t, typ);
	if ((r = ob_json_get_str(j->hdr, "alg", 1, 32, bad_alg, bad_alg,
	    alg)) != OB_OK)
		return ob_err_prefix(r, "%s", what);
	*kid = NULL;
	if ((v = json_object_get(j->hdr, "kid")) != NULL &&
	    (r = ob_json_get_str(j->hdr, "kid", 1, RP_MAX_KID, OB_ERR_JWT_FORM,
	    OB_ERR_JWT_FORM, kid)) != OB_OK)
		return ob_err_prefix(r, "%s", what);
	return OB_OK;
}

/* A JWS alg name; "Ed25519" is RFC 9864's fully-specified EdDSA. */
static int
alg_parse(const char *name, enum ob_alg *out)
{
	enum ob_alg a;

	if (ob_alg_from_name(strcmp(name, "Ed25519") == 0 ? "EdDSA" : name,
	    &a) != OB_OK || !rp_alg_allowed(a))
		return 0;
	*out = a;
	return 1;
}

/* An optional claim: absent, or of its type. */
static int
opt_str(const json_t *o, const char *k, size_t max, int bad,
    const char **out)
{
	*out = NULL;
	if (json_object_get(o, k) == NULL)
		return OB_OK;
	return ob_json_get_str(o, k, 1, max, bad, bad, out);
}

static int
opt_int(const json_t *o, const char *k, int bad, long long *out, int *has)
{
	*has = json_object_get(o, k) != NULL;
	if (!*has)
		return OB_OK;
	return ob_json_get_int(o, k, bad, bad, out);
}

/* 43 characters of canonical base64url for 32 bytes. */
static int
b64_sha256_ok(const char *s)
{
	unsigned char	*b = NULL;
	size_t		 n;

	if (s == NULL || strlen(s) != 43 ||
	    ob_b64url_decode(s, 43, 32, &b, &n) != OB_OK)
		return 0;
	free(b);
	return n == 32;
}

/* ---- the WIT ---- */

static int
w_header(struct rctx *c)
{
	const struct ob_rp	*rp = c->rp;
	const char		*alg, *kid;
	size_t			 i;
	int			 r;

	if ((r = jwt_header(&c->wit, "WIT", "wit+jwt", OB_ERR_WIT_ALG, &alg,
	    &kid)) != OB_OK)
		return r;
	if (!alg_parse(alg, &c->wit_alg))
		return ob_errf(OB_ERR_WIT_ALG, "WIT alg \"%.32s\" is not "
		    "allowed", alg);
	/* The key from configuration, by kid; never from the token. */
	if (kid == NULL) {
		if (rp->nkeys != 1)
			return ob_errf(OB_ERR_WIT_ISSUER, "the WIT has no kid "
			    "and %zu issuer keys are configured", rp->nkeys);
		c->key = &rp->keys[0];
	} else {
		for (i = 0; i < rp->nkeys && c->key == NULL; i++)
			if (strcmp(rp->keys[i].kid, kid) == 0)
				c->key = &rp->keys[i];
		if (c->key == NULL)
			return ob_errf(OB_ERR_WIT_ISSUER, "no configured "
			    "issuer key has kid \"%.64s\"", kid);
	}
	if (c->now < c->key->nb || c->now > c->key->na)
		return ob_errf(OB_ERR_WIT_ISSUER, "the issuer CA certificate "
		    "of kid %.64s is not valid now", c->key->kid);
	/* RFC 8725 3.1: the alg is the key's, whatever the header says. */
	if (c->wit_alg != c->key->alg)
		return ob_errf(OB_ERR_WIT_ALG, "the WIT says %s, issuer key "
		    "%.64s signs %s", ob_alg_name(c->wit_alg), c->key->kid,
		    ob_alg_name(c->key->alg));
	return OB_OK;
}

/*
 * The owner claim (docs/credentials.md): our own object, so every member
 * is known and an unknown one is refused (an unknown member could be a
 * restriction this verifier would silently drop).
 */
static int
w_owner(struct rctx *c)
{
	static const char *const members[] = {
		"id", "type", "jwk", "jkt", "x5t#S256", "gateway", "kind",
		"assurance", "model", "group", "approved_at", "envelope_sha256",
		"renewal_of", "renew_until", NULL
	};
	static const char *const enums[] = {
		"type", "kind", "assurance", "model", NULL
	};
	static const char *const private[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
	};
	const json_t	*o = json_object_get(c->wit.cl, RP_OWNER_CLAIM);
	const json_t	*jwk;
	struct rp_owner	*w = &c->owner;
	const char	*v[4];
	char		 tp[44];
	size_t		 i;
	int		 om, r, has;

	if (o == NULL)
		return ob_errf(OB_ERR_WIT_CLAIMS, "no owner claim (%s)",
		    RP_OWNER_CLAIM);
	if (!json_is_object(o))
		return ob_errf(OB_ERR_WIT_CLAIMS, "the owner claim is not an "
		    "object");
	if ((r = ob_json_only_members(o, members, OB_ERR_WIT_CLAIMS)) != OB_OK)
		return ob_err_prefix(r, "owner claim");
	if ((r = ob_json_get_str(o, "id", 1, RP_MAX_ID, OB_ERR_WIT_CLAIMS,
	    OB_ERR_WIT_CLAIMS, &w->id)) != OB_OK ||
	    !rp_id_ok(w->id, strlen(w->id), 0))
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: id is not a "
		    "visible ASCII id");
	for (i = 0; enums[i] != NULL; i++)
		if ((r = ob_json_get_str(o, enums[i], 1, 32, OB_ERR_WIT_CLAIMS,
		    OB_ERR_WIT_CLAIMS, &v[i])) != OB_OK ||
		    !rp_owner_value_ok(enums[i], v[i]))
			return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: %s is "
			    "missing or not a known value", enums[i]);
	w->type = v[0];
	w->kind = v[1];
	w->assurance = v[2];
	w->model = v[3];
	if ((r = ob_json_get_int(o, "approved_at", OB_ERR_WIT_CLAIMS,
	    OB_ERR_WIT_CLAIMS, &w->approved_at)) != OB_OK ||
	    w->approved_at <= 0)
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: approved_at");
	if ((r = ob_json_get_str(o, "envelope_sha256", 43, 43,
	    OB_ERR_WIT_CLAIMS, OB_ERR_WIT_CLAIMS, &w->envelope_sha256)) !=
	    OB_OK || !b64_sha256_ok(w->envelope_sha256))
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: "
		    "envelope_sha256");
	if ((r = opt_str(o, "group", RP_MAX_ID, OB_ERR_WIT_CLAIMS,
	    &w->group)) != OB_OK || (w->group != NULL &&
	    !rp_id_ok(w->group, strlen(w->group), 1)))
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: group");
	/* A renewal's credential: the approval's jti and window, together. */
	{
		const json_t	*ro = json_object_get(o, "renewal_of");
		const json_t	*ru = json_object_get(o, "renew_until");

		if ((ro == NULL) != (ru == NULL) || (ro != NULL &&
		    (!json_is_string(ro) || json_string_length(ro) < 16 ||
		    json_string_length(ro) > 64 || !json_is_integer(ru) ||
		    json_integer_value(ru) <= w->approved_at)))
			return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: "
			    "renewal_of and renew_until");
	}
	/* Owner-mediated: a gateway and its leaf certificate's hash; else
	 * the owner's trusted key and its thumbprint, which must agree. */
	om = strcmp(w->model, "owner-mediated") == 0;
	if (om != (strcmp(w->kind, "gateway") == 0))
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: kind %s with "
		    "model %s", w->kind, w->model);
	if (om) {
		if (json_object_get(o, "jwk") != NULL ||
		    json_object_get(o, "jkt") != NULL ||
		    ob_json_get_str(o, "gateway", 1, RP_MAX_ID,
		    OB_ERR_WIT_CLAIMS, OB_ERR_WIT_CLAIMS, &w->gateway) !=
		    OB_OK ||
		    !rp_id_ok(w->gateway, strlen(w->gateway), 0) ||
		    ob_json_get_str(o, "x5t#S256", 43, 43, OB_ERR_WIT_CLAIMS,
		    OB_ERR_WIT_CLAIMS, &w->hash) != OB_OK ||
		    !b64_sha256_ok(w->hash))
			return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: an "
			    "owner-mediated binding names a gateway and its "
			    "x5t#S256, no owner key");
		return OB_OK;
	}
	has = json_object_get(o, "gateway") != NULL ||
	    json_object_get(o, "x5t#S256") != NULL;
	if (has || !json_is_object(jwk = json_object_get(o, "jwk")) ||
	    ob_json_get_str(o, "jkt", 43, 43, OB_ERR_WIT_CLAIMS,
	    OB_ERR_WIT_CLAIMS, &w->hash) != OB_OK)
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: a %s binding "
		    "names the owner's jwk and jkt, no gateway", w->model);
	/*
	 * The service never uses the owner's key, only names it: the
	 * thumbprint's canonical form (jwk.c) checks the members it needs,
	 * and jkt must be that thumbprint.  Building the key would cost
	 * about as much again for nothing.
	 */
	for (i = 0; private[i] != NULL; i++)
		if (json_object_get(jwk, private[i]) != NULL)
			return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: jwk "
			    "has private member \"%s\"", private[i]);
	if ((r = ob_jwk_thumbprint(jwk, tp)) != OB_OK)
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: jwk: %s",
		    ob_err_detail());
	if (strcmp(tp, w->hash) != 0)
		return ob_errf(OB_ERR_WIT_CLAIMS, "owner claim: jkt is not the "
		    "thumbprint of jwk");
	return OB_OK;
}

/* cnf.jwk: the agent key, with the alg its proofs must use. */
static int
w_cnf(struct rctx *c)
{
	const json_t	*cnf, *jwk;
	int		 r;

	if (!json_is_object(cnf = json_object_get(c->wit.cl, "cnf")) ||
	    !json_is_object(jwk = json_object_get(cnf, "jwk")))
		return ob_errf(OB_ERR_WIT_CLAIMS, "cnf is not "
		    "{\"jwk\":{...}}");
	if ((r = ob_json_get_str(jwk, "alg", 1, 32, OB_ERR_WIT_CLAIMS,
	    OB_ERR_WIT_CLAIMS, &c->cnf_alg)) != OB_OK)
		return ob_err_prefix(r, "cnf.jwk");
	if (!alg_parse(c->cnf_alg, &c->agent_alg))
		return ob_errf(OB_ERR_WIT_CLAIMS, "cnf.jwk alg \"%.32s\" is "
		    "not allowed", c->cnf_alg);
	/* The one JWK decoder; it checks that alg fits the key. */
	if ((r = ob_jwk_to_pkey_cached(jwk, c->jkt, &c->agent)) != OB_OK)
		return ob_errf(OB_ERR_WIT_CLAIMS, "cnf.jwk: %s: %s",
		    ob_err_name(r), ob_err_detail());
	if (ob_alg_check_key(c->agent_alg, c->agent) != OB_OK)
		return ob_errf(OB_ERR_WIT_CLAIMS, "cnf.jwk alg %s does not fit "
		    "the key", c->cnf_alg);
	return OB_OK;
}

static int
w_claims(struct rctx *c)
{
	const json_t	*cl = c->wit.cl;
	const char	*s;
	char		 td[256];
	long long	 iat, nbf;
	int		 r, has_iat, has_nbf;

	if ((r = opt_str(cl, "iss", 2048, OB_ERR_WIT_CLAIMS, &c->iss)) !=
	    OB_OK)
		return r;
	if (c->rp->iss != NULL && (c->iss == NULL ||
	    strcmp(c->iss, c->rp->iss) != 0))
		return ob_errf(OB_ERR_WIT_ISSUER, "iss \"%.128s\", this "
		    "service accepts \"%.128s\"", c->iss != NULL ? c->iss :
		    "(none)", c->rp->iss);
	if ((r = ob_json_get_str(cl, "sub", 1, 2048, OB_ERR_WIT_CLAIMS,
	    OB_ERR_WIT_CLAIMS, &c->sub)) != OB_OK)
		return r;
	if (ob_sub_trust_domain(c->sub, td, sizeof(td)) != OB_OK)
		return ob_errf(OB_ERR_WIT_CLAIMS, "sub \"%.128s\": %s", c->sub,
		    ob_err_detail());
	if ((r = ob_json_get_int(cl, "exp", OB_ERR_WIT_CLAIMS,
	    OB_ERR_WIT_CLAIMS, &c->exp)) != OB_OK ||
	    (r = opt_int(cl, "iat", OB_ERR_WIT_CLAIMS, &iat, &has_iat)) !=
	    OB_OK ||
	    (r = opt_int(cl, "nbf", OB_ERR_WIT_CLAIMS, &nbf, &has_nbf)) !=
	    OB_OK)
		return r;
	if (c->exp <= 0 || (has_iat && iat > c->exp))
		return ob_errf(OB_ERR_WIT_CLAIMS, "exp %lld is before iat",
		    c->exp);
	if ((r = opt_str(cl, "jti", 256, OB_ERR_WIT_CLAIMS, &c->jti)) !=
	    OB_OK ||
	    (r = opt_str(cl, "dns_name", 253, OB_ERR_WIT_CLAIMS, &s)) !=
	    OB_OK ||
	    (r = opt_str(cl, "logical_id", RP_MAX_ID, OB_ERR_WIT_CLAIMS,
	    &s)) != OB_OK ||
	    (r = opt_str(cl, "client_id", RP_MAX_ID, OB_ERR_WIT_CLAIMS,
	    &s)) != OB_OK)
		return r;
	OB_TRY(w_cnf(c));
	OB_TRY(w_owner(c));
	/* Times last: a malformed WIT says so whatever its age. */
	if (c->now >= c->exp + c->skew)
		return ob_errf(OB_ERR_WIT_EXPIRED, "expired %llds ago",
		    c->now - c->exp);
	if (has_iat && iat > c->now + c->skew)
		return ob_errf(OB_ERR_WIT_EXPIRED, "issued %llds in the "
		    "future", iat - c->now);
	if (has_nbf && nbf > c->now + c->skew)
		return ob_errf(OB_ERR_WIT_EXPIRED, "not valid for another "
		    "%llds", nbf - c->now);
	r = OB_OK;
out:
	return r;
}

static int
w_sig(struct rctx *c)
{
	if (ob_sig_verify(c->wit_alg, c->key->pk,
	    (const unsigned char *)c->wit.text, c->wit.tbslen, c->wit.sig,
	    c->wit.siglen) != OB_OK)
		return ob_errf(OB_ERR_WIT_ISSUER, "the signature does not "
		    "verify with issuer key %.64s", c->key->kid);
	return OB_OK;
}

/* ---- the WPT ---- */

static int
p_header(struct rctx *c)
{
	const char	*alg, *kid;
	int		 r;

	if ((r = jwt_header(&c->wpt, "WPT", "wpt+jwt", OB_ERR_WPT_ALG, &alg,
	    &kid)) != OB_OK)
		return r;
	/* String-equal to cnf.jwk.alg (draft-ietf-wimse-wpt). */
	if (strcmp(alg, c->cnf_alg) != 0)
		return ob_errf(OB_ERR_WPT_ALG, "the WPT says %.32s, the WIT's "
		    "cnf.jwk %s", alg, c->cnf_alg);
	return OB_OK;
}

/*
 * ath or tth: required when the request carries that token, and then
 * its hash; refused when it does not (the proof would bind a token that
 * is not there).
 */
static int
p_hash(const json_t *cl, const char *claim, const struct rp_hash *h,
    const char *what)
{
	const char	*v;
	int		 r;

	if ((r = opt_str(cl, claim, 64, OB_ERR_WPT_CLAIMS, &v)) != OB_OK)
		return r;
	if (h->set && v == NULL)
		return ob_errf(OB_ERR_WPT_TOKEN_HASH, "the request carries %s "
		    "and the WPT has no %s", what, claim);
	if (!h->set && v != NULL)
		return ob_errf(OB_ERR_WPT_TOKEN_HASH, "%s for %s the request "
		    "does not carry", claim, what);
	if (h->set && strcmp(v, h->b64) != 0)
		return ob_errf(OB_ERR_WPT_TOKEN_HASH, "%s is not the hash of "
		    "%s", claim, what);
	return OB_OK;
}

/* oth: every entry a header this service was told about, with its hash;
 * every such header covered. */
static int
p_oth(struct rctx *c)
{
	const struct ob_rp_req	*q = c->req;
	json_t			*oth = json_object_get(c->wpt.cl, "oth"), *v;
	const char		*k;
	size_t			 i, n = 0;

	if (oth != NULL) {
		if (!json_is_object(oth) || json_object_size(oth) == 0 ||
		    json_object_size(oth) > RP_MAX_OTHER)
			return ob_errf(OB_ERR_WPT_CLAIMS, "oth is not an "
			    "object of 1..%d entries", RP_MAX_OTHER);
		/* Unknown entries first: the WPT is refused for those
		 * whatever the hashes say (draft-ietf-wimse-wpt). */
		json_object_foreach(oth, k, v) {
			for (i = 0; i < q->nother; i++)
				if (strcmp(q->other[i].name, k) == 0)
					break;
			if (i == q->nother)
				return ob_errf(OB_ERR_WPT_OTH, "oth names "
				    "\"%.64s\", which this service does not "
				    "understand", k);
		}
		json_object_foreach(oth, k, v) {
			for (i = 0; i < q->nother; i++)
				if (strcmp(q->other[i].name, k) == 0)
					break;
			if (!json_is_string(v))
				return ob_errf(OB_ERR_WPT_CLAIMS, "oth "
				    "\"%.64s\" is not a string", k);
			if (strcmp(json_string_value(v), q->other[i].h.b64) !=
			    0)
				return ob_errf(OB_ERR_WPT_TOKEN_HASH, "oth "
				    "\"%.64s\" is not the hash of that header",
				    k);
			n++;
		}
	}
	if (n != q->nother)
		return ob_errf(OB_ERR_WPT_TOKEN_HASH, "the request carries %zu "
		    "other token%s and oth binds %zu", q->nother,
		    q->nother == 1 ? "" : "s", n);
	return OB_OK;
}

static int
p_claims(struct rctx *c)
{
	const json_t	*cl = c->wpt.cl, *v;
	const char	*wth;
	char		 want[44];
	long long	 iat;
	int		 r, has_iat;

	if ((v = json_object_get(cl, "aud")) == NULL || !json_is_string(v))
		return ob_errf(OB_ERR_WPT_CLAIMS, "aud is %s",
		    v == NULL ? "missing" : "not one string");
	if (strcmp(json_string_value(v), c->req->aud) != 0)
		return ob_errf(OB_ERR_WPT_AUD, "aud \"%.128s\", this request "
		    "is for \"%.128s\"", json_string_value(v), c->req->aud);
	if ((r = ob_json_get_int(cl, "exp", OB_ERR_WPT_CLAIMS,
	    OB_ERR_WPT_CLAIMS, &c->wpt_exp)) != OB_OK ||
	    (r = opt_int(cl, "iat", OB_ERR_WPT_CLAIMS, &iat, &has_iat)) !=
	    OB_OK)
		return r;
	if ((r = ob_json_get_str(cl, "jti", WPT_MIN_JTI, RP_MAX_ID,
	    OB_ERR_WPT_CLAIMS, OB_ERR_WPT_CLAIMS, &c->wpt_jti)) != OB_OK ||
	    !rp_id_ok(c->wpt_jti, strlen(c->wpt_jti), 0))
		return ob_errf(OB_ERR_WPT_CLAIMS, "jti is not %d..%d visible "
		    "ASCII characters", WPT_MIN_JTI, RP_MAX_ID);
	if ((r = ob_json_get_str(cl, "wth", 1, 64, OB_ERR_WPT_CLAIMS,
	    OB_ERR_WPT_CLAIMS, &wth)) != OB_OK)
		return r;
	if (c->now >= c->wpt_exp + c->skew)
		return ob_errf(OB_ERR_WPT_EXPIRED, "expired %llds ago",
		    c->now - c->wpt_exp);
	if (c->wpt_exp > c->now + c->ttl + c->skew ||
	    (has_iat && c->wpt_exp - iat > c->ttl))
		return ob_errf(OB_ERR_WPT_EXPIRED, "lives longer than %llds",
		    c->ttl);
	if (has_iat && iat > c->now + c->skew)
		return ob_errf(OB_ERR_WPT_EXPIRED, "issued %llds in the future",
		    iat - c->now);
	/* wth: the hash of the WIT exactly as it was sent. */
	if ((r = rp_sha256_b64(c->wit.text, c->wit.len, want)) != OB_OK)
		return r;
	if (strcmp(wth, want) != 0)
		return ob_errf(OB_ERR_WPT_WTH, "wth is not the hash of this "
		    "WIT");
	OB_TRY(p_oth(c));
	OB_TRY(p_hash(cl, "ath", &c->req->ath, "an access token"));
	OB_TRY(p_hash(cl, "tth", &c->req->tth, "a Txn-Token"));
	r = OB_OK;
out:
	return r;
}

static int
p_sig(struct rctx *c)
{
	if (ob_sig_verify(c->agent_alg, c->agent,
	    (const unsigned char *)c->wpt.text, c->wpt.tbslen, c->wpt.sig,
	    c->wpt.siglen) != OB_OK)
		return ob_errf(OB_ERR_WPT_SIG, "the WPT signature does not "
		    "verify with the WIT's cnf.jwk (%s)", c->jkt);
	return OB_OK;
}

/* The jti, per agent key, in a namespace of its own beside envelopes'. */
static int
p_commit(struct rctx *c, struct ob_state *state)
{
	struct ob_replay	 rp;
	char			 key[4 + 43 + 1 + RP_MAX_ID + 1];
	int			 r;

	if (state == NULL)
		return OB_OK;
	(void)snprintf(key, sizeof(key), "wpt:%s:%s", c->jkt, c->wpt_jti);
	memset(&rp, 0, sizeof(rp));
	rp.jti_key = key;
	rp.jti = key;
	rp.keep_until = c->wpt_exp + c->skew;
	if ((r = ob_state_commit(state, &rp, c->now)) == OB_ERR_REPLAY)
		return ob_errf(OB_ERR_WPT_REPLAY, "jti %.64s was seen before",
		    c->wpt_jti);
	return r;
}

static int
result(struct rctx *c, struct ob_rp_result **out)
{
	struct ob_rp_result	*res;
	const json_t		*cl = c->wit.cl;
	int			 r = OB_ERR_ALLOC;

	if ((res = calloc(1, sizeof(*res))) == NULL)
		return OB_ERR_ALLOC;
	if (rp_dup(&res->via, "wit") != OB_OK ||
	    rp_dup(&res->agent, c->sub) != OB_OK ||
	    rp_dup(&res->agent_jkt, c->jkt) != OB_OK ||
	    rp_dup(&res->agent_alg, ob_alg_name(c->agent_alg)) != OB_OK ||
	    rp_dup(&res->iss, c->iss) != OB_OK ||
	    rp_dup(&res->jti, c->jti) != OB_OK ||
	    rp_dup(&res->wpt_jti, c->wpt_jti) != OB_OK ||
	    rp_dup(&res->dns_name, json_string_value(json_object_get(cl,
	    "dns_name"))) != OB_OK ||
	    rp_dup(&res->logical_id, json_string_value(json_object_get(cl,
	    "logical_id"))) != OB_OK ||
	    rp_dup(&res->client_id, json_string_value(json_object_get(cl,
	    "client_id"))) != OB_OK ||
	    rp_result_owner(res, &c->owner) != OB_OK)
		goto out;
	res->exp = c->exp;
	*out = res;
	res = NULL;
	r = OB_OK;
out:
	ob_rp_result_free(&res);
	return r;
}

int
ob_rp_verify_wit(const struct ob_rp *rp, struct ob_state *state,
    const struct ob_rp_req *req, const char *wit, const char *wpt,
    struct ob_rp_result **out)
{
	struct rctx	c;
	int		r;

	ob_err_clear();
	if (rp == NULL || req == NULL || req->aud == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "rp, req with an aud, and "
		    "out are required");
	if (rp->nkeys == 0)
		return ob_errf(OB_ERR_RP_CONFIG, "no issuer keys configured");
	memset(&c, 0, sizeof(c));
	c.rp = rp;
	c.req = req;
	c.now = rp_now(rp);
	c.skew = rp_skew(rp);
	c.ttl = rp->wpt_ttl != 0 ? rp->wpt_ttl : RP_DEF_WPT_TTL;
	/* Leave OpenSSL's error queue as we found it (a TLS server's). */
	ERR_set_mark();
	OB_TRY(jwt_parse(wit, OB_RP_MAX_WIT, "WIT", &c.wit));
	OB_TRY(jwt_parse(wpt, OB_RP_MAX_WPT, "WPT", &c.wpt));
	OB_TRY(w_header(&c));
	OB_TRY(w_claims(&c));
	OB_TRY(w_sig(&c));
	OB_TRY(p_header(&c));
	OB_TRY(p_claims(&c));
	OB_TRY(p_sig(&c));
	OB_TRY(p_commit(&c, state));
	r = result(&c, out);
out:
	(void)ERR_pop_to_mark();
	EVP_PKEY_free(c.agent);
	jwt_clear(&c.wit);
	jwt_clear(&c.wpt);
	return r;
}
