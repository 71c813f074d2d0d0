/*
 * One code path for every issuance model (docs/verifier.md lists the
 * checks in this order).  Cheap structural checks first, signatures after,
 * replay state last and atomically, so that nothing is recorded for an
 * envelope that fails any check.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/envelope.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/pkey.h"
#include "server-verify/state.h"
#include "server-verify/trust.h"
#include "server-verify/verify_int.h"
#include "core/webauthn.h"

#define DEF_MAX_AGE	300
#define DEF_SKEW	60
#define DEF_LIFETIME	3600

struct vctx {
	const struct ob_trust		*trust;
	const struct ob_verify_opts	*o;
	long long			 now, max_age, skew, lifetime;
	const struct ob_envelope	*env;
	const struct ob_entry		*agent, *owner, *gateway;
	const char			*nonce;
	enum ob_model			 model;
	/* results */
	const struct ob_trust_owner	*ow;
	const struct ob_trust_key	*owner_key;
	const struct ob_trust_gateway	*gw;
	struct ob_authdata		 ad;
	int				 fido;
	int				 renewal;	/* ob_verify_renewal */
};

/* Roles, model agreement, and which entries the model demands. */
static int
v_structure(struct vctx *c)
{
	const struct ob_envelope	*env = c->env;
	const struct ob_entry		*e;
	size_t				 i;

	for (i = 0; i < env->n; i++) {
		e = &env->entries[i];
		if (i == 0)
			c->model = e->model;
		else if (e->model != c->model)
			return ob_errf(OB_ERR_MODEL_MISMATCH, "entry %zu says %s, "
			    "entry 0 says %s", i, ob_model_name(e->model),
			    ob_model_name(c->model));
		const struct ob_entry **slot = e->role == OB_ROLE_AGENT ?
		    &c->agent : e->role == OB_ROLE_OWNER ? &c->owner :
		    &c->gateway;
		if (*slot != NULL)
			return ob_errf(OB_ERR_ROLE_DUPLICATE, "two %s entries",
			    ob_role_name(e->role));
		*slot = e;
	}
	if (c->model == OB_MODEL_OWNER_MEDIATED) {
		if (c->owner != NULL)
			return ob_errf(OB_ERR_ROLE_FORBIDDEN, "owner-mediated "
			    "envelopes are signed by the gateway");
	} else if (c->gateway != NULL)
		return ob_errf(OB_ERR_ROLE_FORBIDDEN, "gateway entry in a %s "
		    "envelope", ob_model_name(c->model));
	if (c->agent == NULL)
		return OB_ERR_AGENT_MISSING;
	if (c->model == OB_MODEL_OWNER_MEDIATED ? c->gateway == NULL :
	    c->owner == NULL)
		return ob_errf(OB_ERR_OWNER_MISSING, "%s needs a%s entry",
		    ob_model_name(c->model), c->model ==
		    OB_MODEL_OWNER_MEDIATED ? " gateway" : "n owner");
	return OB_OK;
}

static int
v_channel(struct vctx *c)
{
	enum ob_channel ch = c->o->channel == 0 ? OB_CHANNEL_DIRECT :
	    c->o->channel;

	if (ch == OB_CHANNEL_GATEWAY) {
		if (c->model != OB_MODEL_OWNER_MEDIATED)
			return ob_errf(OB_ERR_CHANNEL_MISMATCH, "%s request on "
			    "the gateway channel", ob_model_name(c->model));
		if (c->o->proxy == NULL)
			return ob_errf(OB_ERR_INVALID_ARG, "gateway channel "
			    "without a proxy id");
	} else if (ch == OB_CHANNEL_DIRECT) {
		if (c->model == OB_MODEL_OWNER_MEDIATED)
			return ob_errf(OB_ERR_CHANNEL_MISMATCH, "owner-mediated "
			    "request sent directly");
	} else
		return ob_errf(OB_ERR_INVALID_ARG, "unknown channel");
	return OB_OK;
}

static int
v_claims(struct vctx *c)
{
	const struct ob_claims	*cl = &c->env->claims;
	const struct ob_entry	*e;
	size_t			 i;

	if (strcmp(cl->aud, c->o->aud) != 0)
		return ob_errf(OB_ERR_AUD_MISMATCH, "aud \"%.128s\"", cl->aud);
	if (cl->iat > c->now + c->skew)
		return ob_errf(OB_ERR_IAT_FUTURE, "iat is %llds ahead",
		    cl->iat - c->now);
	if (cl->exp <= cl->iat || cl->exp - cl->iat > c->lifetime)
		return ob_errf(OB_ERR_LIFETIME, "lifetime %llds, limit %llds",
		    cl->exp - cl->iat, c->lifetime);
	if (cl->exp <= c->now)
		return ob_errf(OB_ERR_EXPIRED, "expired %llds ago",
		    c->now - cl->exp);
	if (c->now - cl->iat > c->max_age)
		return ob_errf(OB_ERR_IAT_STALE, "iat is %llds old, limit %llds",
		    c->now - cl->iat, c->max_age);
	/* An approval window must outlast the envelope it is signed in,
	 * or it grants nothing the envelope does not. */
	if (cl->renew_until != 0 && cl->renew_until < cl->exp)
		return ob_errf(OB_ERR_APPROVAL_WINDOW, "renew_until is before "
		    "exp");
	/* A renewal is checked against the issuer's record of the approval
	 * it names, which this path does not have: refused here, so that a
	 * renewal never passes as an ordinary request. */
	if (cl->renews != NULL && !c->renewal)
		return ob_errf(OB_ERR_APPROVAL_WINDOW, "a renewal needs the "
		    "issuer's record of its approval");
	for (i = 0; i < c->env->n; i++) {
		e = &c->env->entries[i];
		if (e->sat > c->now + c->skew || e->sat < cl->iat - c->skew ||
		    c->now - e->sat > c->max_age)
			return ob_errf(OB_ERR_SIGNING_TIME, "entry %zu (%s)", i,
			    ob_role_name(e->role));
	}
	return OB_OK;
}

static int
v_nonce(struct vctx *c)
{
	const struct ob_entry	*e;
	size_t			 i;

	for (i = 0; i < c->env->n; i++) {
		e = &c->env->entries[i];
		if (e->nonce == NULL)
			continue;
		/* lint: ok: a nonce is a public envelope member */
		if (c->nonce != NULL && strcmp(c->nonce, e->nonce) != 0)
			return ob_errf(OB_ERR_NONCE_MISMATCH, "entries carry "
			    "different nonces");
		c->nonce = e->nonce;
	}
	/*
	 * Server-mediated: the challenge binds every signer, agent included;
	 * in an envelope the server assembled from a request it held, the
	 * agent signed before the nonce existed and the owner's nonce alone
	 * binds the approval (the nonce is bound to the request's jti).
	 */
	for (i = 0; c->model == OB_MODEL_SERVER_MEDIATED && i < c->env->n; i++)
		if (c->env->entries[i].nonce == NULL &&
		    !(c->o->server_held &&
		    c->env->entries[i].role == OB_ROLE_AGENT))
			return ob_errf(OB_ERR_NONCE_MISSING, "server-mediated %s "
			    "entry without ob_nonce",
			    ob_role_name(c->env->entries[i].role));
	return OB_OK;
}

/* Signature over an entry's signing input (ordinary JWS entries). */
static int
v_sig(const struct ob_envelope *env, const struct ob_entry *e,
    EVP_PKEY *pub, const char *who)
{
	char	*tbs = NULL;
	size_t	 len;
	int	 r;

	if ((r = ob_envelope_signing_input(env, e->protected_b64, &tbs,
	    &len)) != OB_OK)
		return r;
	r = ob_sig_verify(e->alg, pub, (const unsigned char *)tbs, len,
	    e->sig, e->siglen);
	free(tbs);
	if (r != OB_OK)
		return ob_err_prefix(r, "%s entry", who);
	return OB_OK;
}

static int
v_agent(struct vctx *c)
{
	const struct ob_claims	*cl = &c->env->claims;
	const struct ob_entry	*e = c->agent;

	if (strcmp(e->kid, cl->jkt) != 0)
		return OB_ERR_THUMBPRINT_MISMATCH;
	/* The agent's alg follows from cnf.jwk, never from the header. */
	if (ob_alg_is_webauthn(e->alg) || ob_alg_for_key(cl->agent_key) !=
	    e->alg)
		return ob_errf(OB_ERR_ALG_MISMATCH, "agent entry says %s for a "
		    "key that signs %s", ob_alg_name(e->alg),
		    ob_alg_name(ob_alg_for_key(cl->agent_key)));
	return v_sig(c->env, e, cl->agent_key, "agent");
}

/* WebAuthn assertion checks, in MISSION's order; counter comes later. */
static int
v_fido(struct vctx *c, const struct ob_entry *e, const struct ob_trust_key *k)
{
	struct ob_authdata	*ad = &c->ad;
	char			*tbs = NULL;
	unsigned char		*msg = NULL;
	size_t			 len, msglen;
	int			 r;

	OB_TRY(ob_authdata_head(e->authdata, e->authdata_len, ad));
	if (memcmp(ad->rpid_hash, k->rpid_hash, 32) != 0) {
		r = OB_ERR_FIDO_RPID;
		goto out;
	}
	if ((ad->flags & OB_AD_UP) == 0) {
		r = OB_ERR_FIDO_UP;
		goto out;
	}
	if (k->uv_required && (ad->flags & OB_AD_UV) == 0) {
		r = OB_ERR_FIDO_UV;
		goto out;
	}
	if ((ad->flags & OB_AD_AT) != 0) {
		r = OB_ERR_FIDO_AT;
		goto out;
	}
	if ((ad->flags & OB_AD_ED) != 0) {
		r = OB_ERR_FIDO_ED;
		goto out;
	}
	/* With AT and ED clear, nothing may follow the head. */
	OB_TRY(ob_authdata_parse(e->authdata, e->authdata_len, ad));
	/* BS needs BE; BE is fixed for a credential's life. */
	if (((ad->flags & OB_AD_BS) != 0 && (ad->flags & OB_AD_BE) == 0) ||
	    ((ad->flags & OB_AD_BE) != 0) != (k->backup_eligible != 0)) {
		r = OB_ERR_FIDO_BACKUP;
		goto out;
	}
	OB_TRY(ob_envelope_signing_input(c->env, e->protected_b64, &tbs,
	    &len));
	OB_TRY(ob_webauthn_check_clientdata_web(e->clientdata,
	    e->clientdata_len, tbs, len, k->origins, k->norigins));
	OB_TRY(ob_webauthn_message(e->authdata, e->authdata_len, e->clientdata,
	    e->clientdata_len, &msg, &msglen));
	if ((r = ob_sig_verify(e->alg, k->pub, msg, msglen, e->sig,
	    e->siglen)) != OB_OK)
		r = ob_err_prefix(r, "owner FIDO2 entry");
	c->fido = 1;
out:
	free(tbs);
	free(msg);
	return r;
}

static int
v_owner(struct vctx *c)
{
	const struct ob_claims		*cl = &c->env->claims;
	const struct ob_trust_owner	*ow;
	const struct ob_trust_key	*k;
	const struct ob_entry		*e = c->owner;

	if ((ow = ob_trust_owner(c->trust, cl->owner)) == NULL)
		return ob_errf(OB_ERR_OWNER_UNKNOWN, "owner \"%.128s\"",
		    cl->owner);
	if (ow->revoked_at != 0 && ow->revoked_at <= c->now)
		return ob_errf(OB_ERR_OWNER_REVOKED, "owner \"%.128s\" revoked "
		    "at %lld: %.256s", ow->id, ow->revoked_at,
		    ow->revoked_reason);
	if ((k = ob_trust_owner_key(ow, e->kid)) == NULL)
		return ob_errf(OB_ERR_OWNER_KEY_UNKNOWN, "kid \"%.64s\"",
		    e->kid);
	if (k->revoked_at != 0 && k->revoked_at <= c->now)
		return ob_errf(OB_ERR_OWNER_KEY_REVOKED, "kid %.64s revoked at "
		    "%lld: %.256s", k->kid, k->revoked_at, k->revoked_reason);
	if ((k->not_before != 0 && c->now < k->not_before) ||
	    (k->not_after != 0 && c->now >= k->not_after))
		return ob_errf(OB_ERR_OWNER_KEY_VALIDITY, "kid %.64s is valid "
		    "%lld..%lld, not at %lld", k->kid, k->not_before,
		    k->not_after, c->now);
	if (e->alg != k->alg)
		return ob_errf(OB_ERR_ALG_MISMATCH, "owner entry says %s, key "
		    "is enrolled for %s", ob_alg_name(e->alg),
		    ob_alg_name(k->alg));
	if (!ob_strlist_match(&ow->may_bind, cl->sub))
		return ob_errf(OB_ERR_OWNER_NOT_AUTHORIZED, "%.128s may not "
		    "bind %.256s", ow->id, cl->sub);
	c->ow = ow;
	c->owner_key = k;
	if (ob_alg_is_webauthn(e->alg))
		return v_fido(c, e, k);
	return v_sig(c->env, e, k->pub, "owner");
}

/* id-kp-documentSigning (RFC 9336), 1.3.6.1.5.5.7.3.36: content octets. */
static const unsigned char oid_doc_signing[] = {
	0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x24
};

/*
 * extendedKeyUsage of the gateway leaf (docs/trust-store.md, "Gateway
 * certificates").  Absent: allowed unless the gateway requires an EKU.
 * Present: it must name id-kp-documentSigning, or anyExtendedKeyUsage
 * unless an EKU is required, and it must not name OCSPSigning or
 * timeStamping, whose keys serve those purposes only (RFC 6960 4.2.2.2,
 * RFC 3161 2.3).  So a TLS server, client, code-signing or S/MIME
 * certificate does not sign approvals, whatever else it carries.
 */
static int
v_leaf_eku(const struct ob_trust_gateway *g, X509 *leaf)
{
	EXTENDED_KEY_USAGE	*eku;
	const ASN1_OBJECT	*o;
	int			 i, crit, docsign = 0, any = 0, excl = 0;

	eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, &crit, NULL);
	if (eku == NULL) {
		if (crit != -1)
			return ob_errf(OB_ERR_GATEWAY_CERT, "x5c[0]: "
			    "extendedKeyUsage does not decode");
		if (g->require_eku)
			return ob_errf(OB_ERR_GATEWAY_EKU, "x5c[0] has no "
			    "extendedKeyUsage; gateway %.64s requires "
			    "id-kp-documentSigning", g->id);
		return OB_OK;
	}
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		o = sk_ASN1_OBJECT_value(eku, i);
		if (OBJ_length(o) == sizeof(oid_doc_signing) &&
		    memcmp(OBJ_get0_data(o), oid_doc_signing,
		    sizeof(oid_doc_signing)) == 0)
			docsign = 1;
		else if (OBJ_obj2nid(o) == NID_anyExtendedKeyUsage)
			any = 1;
		else if (OBJ_obj2nid(o) == NID_OCSP_sign ||
		    OBJ_obj2nid(o) == NID_time_stamp)
			excl = 1;
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	if (excl)
		return ob_errf(OB_ERR_GATEWAY_EKU, "x5c[0] is an OCSP or time "
		    "stamping certificate");
	if (!docsign && (!any || g->require_eku))
		return ob_errf(OB_ERR_GATEWAY_EKU, "x5c[0]: extendedKeyUsage "
		    "lacks id-kp-documentSigning%s", g->require_eku ? "" :
		    " (or anyExtendedKeyUsage)");
	return OB_OK;
}

/*
 * The leaf checks: any certificate under the organisation CA chains; only
 * the one issued to this gateway, for signing, may sign as it: an
 * end-entity certificate (not a CA), digitalSignature if keyUsage is
 * present, an extendedKeyUsage for signing, and the gateway id as its DNS
 * name: a SAN dNSName when the certificate has a subjectAltName at all
 * (of whatever types), the CN only when it has none.
 */
static int
v_leaf(const struct ob_trust_gateway *g, X509 *leaf)
{
	unsigned int	flags = X509_CHECK_FLAG_NO_WILDCARDS;
	int		r;

	if (X509_check_ca(leaf) != 0)
		return ob_errf(OB_ERR_GATEWAY_CERT, "x5c[0] is a CA "
		    "certificate");
	if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0)
		return ob_errf(OB_ERR_GATEWAY_CERT, "x5c[0] may not sign "
		    "(keyUsage)");
	if ((r = v_leaf_eku(g, leaf)) != OB_OK)
		return r;
	/* OpenSSL falls back to the CN when a SAN has no dNSName. */
	if (X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) >= 0)
		flags |= X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
	if (X509_check_host(leaf, g->id, strlen(g->id), flags, NULL) != 1)
		return ob_errf(OB_ERR_GATEWAY_CERT, "x5c[0] is not issued to "
		    "%.64s%s", g->id, (flags &
		    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) != 0 ? " (its SAN "
		    "has no such DNS name; the CN does not count)" : "");
	return OB_OK;
}

/* Latest notBefore and earliest notAfter over the chain that was built. */
static int
v_chain_window(STACK_OF(X509) *chain, long long *nb, long long *na)
{
	struct tm	 tm;
	X509		*x;
	long long	 t;
	int		 i;

	*nb = LLONG_MIN;
	*na = LLONG_MAX;
	for (i = 0; i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1)
			return 0;
		if ((t = (long long)timegm(&tm)) > *nb)
			*nb = t;
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
			return 0;
		if ((t = (long long)timegm(&tm)) < *na)
			*na = t;
	}
	return sk_X509_num(chain) > 0;
}

/* The cache key: SHA-256 over the gateway index and every x5c string. */
static int
v_chain_key(size_t gwi, const json_t *x5c, unsigned char key[32])
{
	unsigned char	 buf[8 + OB_MAX_X5C * 32];
	const json_t	*v;
	size_t		 i, n = 0;
	int		 r;

	for (i = 0; i < 8; i++)
		buf[n++] = (unsigned char)(gwi >> (8 * i));
	json_array_foreach(x5c, i, v) {
		if ((r = ob_sha256(json_string_value(v), json_string_length(v),
		    buf + n)) != OB_OK)
			return r;
		n += 32;
	}
	return ob_sha256(buf, n, key);
}

/* A cached leaf key for this chain at this time, or NULL. */
static EVP_PKEY *
v_chain_cached(struct ob_chain_cache *cc, const unsigned char key[32],
    long long now)
{
	struct ob_chain_slot	*sl;
	EVP_PKEY		*pk = NULL;

	if (cc == NULL)
		return NULL;
	sl = &cc->slot[key[0] % OB_CHAIN_CACHE_SLOTS];
	pthread_mutex_lock(&cc->lock);
	if (sl->leafkey != NULL && memcmp(sl->key, key, 32) == 0 &&
	    sl->nb <= now && now < sl->na && EVP_PKEY_up_ref(sl->leafkey) == 1)
		pk = sl->leafkey;
	pthread_mutex_unlock(&cc->lock);
	return pk;
}

static void
v_chain_remember(struct ob_chain_cache *cc, const unsigned char key[32],
    EVP_PKEY *pk, long long nb, long long na)
{
	struct ob_chain_slot *sl;

	if (cc == NULL)
		return;
	sl = &cc->slot[key[0] % OB_CHAIN_CACHE_SLOTS];
	pthread_mutex_lock(&cc->lock);
	if (EVP_PKEY_up_ref(pk) == 1) {
		EVP_PKEY_free(sl->leafkey);
		sl->leafkey = pk;
		memcpy(sl->key, key, 32);
		sl->nb = nb;
		sl->na = na;
	}
	pthread_mutex_unlock(&cc->lock);
}

static int
v_chain(const struct ob_trust *t, const struct ob_trust_gateway *g,
    const json_t *x5c, long long now, EVP_PKEY **leafkey)
{
	STACK_OF(X509)	*untrusted = NULL;
	X509_STORE_CTX	*ctx = NULL;
	X509		*leaf = NULL, *x;
	EVP_PKEY	*pk;
	unsigned char	 key[32], *der = NULL;
	const unsigned char *p;
	const json_t	*v;
	long long	 nb, na;
	size_t		 i, n;
	int		 r;

	OB_TRY(v_chain_key((size_t)(g - t->gateways), x5c, key));
	if ((pk = v_chain_cached(t->chains, key, now)) != NULL) {
		*leafkey = pk;
		return OB_OK;
	}
	r = OB_ERR_ALLOC;
	if ((untrusted = sk_X509_new_null()) == NULL)
		goto out;
	json_array_foreach(x5c, i, v) {
		if ((r = ob_b64_decode(json_string_value(v),
		    json_string_length(v), OB_MAX_CERT, &der, &n)) != OB_OK) {
			r = ob_errf(r == OB_ERR_ALLOC ? r : r ==
			    OB_ERR_ENV_TOO_LARGE ? OB_ERR_X5C_INVALID :
			    OB_ERR_X5C_NONCANONICAL, "x5c[%zu]: %s", i,
			    ob_err_detail());
			goto out;
		}
		p = der;
		x = d2i_X509(NULL, &p, (long)n);
		if (x == NULL || p != der + n) {
			X509_free(x);
			r = ob_errf(OB_ERR_X5C_INVALID, "x5c[%zu] is not one DER "
			    "certificate", i);
			goto out;
		}
		free(der);
		der = NULL;
		r = OB_ERR_ALLOC;
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			goto out;
		}
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, g->ca, leaf, untrusted) != 1)
		goto out;
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	if (X509_verify_cert(ctx) != 1) {
		r = ob_errf(OB_ERR_GATEWAY_CHAIN, "%s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	OB_TRY(v_leaf(g, leaf));
	if ((pk = X509_get_pubkey(leaf)) == NULL) {
		r = ob_errf(OB_ERR_GATEWAY_CHAIN, "leaf without a key");
		goto out;
	}
	/* Cache only a chain whose validity window is known exactly. */
	if (v_chain_window(X509_STORE_CTX_get0_chain(ctx), &nb, &na))
		v_chain_remember(t->chains, key, pk, nb, na);
	*leafkey = pk;
	r = OB_OK;
out:
	free(der);
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	return r;
}

static int
v_gateway(struct vctx *c)
{
	const struct ob_claims		*cl = &c->env->claims;
	const struct ob_trust_gateway	*g;
	const struct ob_entry		*e = c->gateway;
	EVP_PKEY			*leafkey = NULL;
	char				 td[256];
	size_t				 i;
	int				 r;

	if ((g = ob_trust_gateway(c->trust, e->kid)) == NULL)
		return ob_errf(OB_ERR_GATEWAY_UNKNOWN, "gateway \"%.64s\"",
		    e->kid);
	for (i = 0; i < g->nalgs; i++)
		if (g->algs[i] == e->alg)
			break;
	if (i == g->nalgs)
		return ob_errf(OB_ERR_ALG_MISMATCH, "gateway %s does not sign %s",
		    g->id, ob_alg_name(e->alg));
	if (strcmp(g->owner, cl->owner) != 0)
		return ob_errf(OB_ERR_GATEWAY_NOT_AUTHORIZED, "gateway serves "
		    "%.128s, request names %.128s", g->owner, cl->owner);
	if ((r = ob_sub_trust_domain(cl->sub, td, sizeof(td))) != OB_OK)
		return r;
	if (!ob_strlist_has(&g->proxies, c->o->proxy) ||
	    !ob_strlist_has(&g->trust_domains, td) ||
	    !ob_strlist_match(&g->may_bind, cl->sub))
		return ob_errf(OB_ERR_GATEWAY_NOT_AUTHORIZED, "proxy %.64s, "
		    "trust domain %s", c->o->proxy, td);
	/* What the gateway signed about its proxy must be what it says. */
	if (e->proxy != NULL && strcmp(e->proxy, c->o->proxy) != 0)
		return ob_errf(OB_ERR_GATEWAY_NOT_AUTHORIZED, "the gateway "
		    "signed for proxy %.64s, the request names %.64s",
		    e->proxy, c->o->proxy);
	if (e->x5c == NULL)
		return ob_errf(OB_ERR_X5C_INVALID, "gateway entry without x5c");
	if ((r = v_chain(c->trust, g, e->x5c, c->now, &leafkey)) != OB_OK)
		return r;
	if ((r = ob_pkey_check(leafkey)) == OB_OK &&
	    (r = ob_alg_check_key(e->alg, leafkey)) == OB_OK)
		r = v_sig(c->env, e, leafkey, "gateway");
	EVP_PKEY_free(leafkey);
	c->gw = g;
	return r;
}

/* The replay record for a later group commit (ob_verify_defer). */
static int
v_hold(struct vctx *c, struct ob_replay_held *h)
{
	struct ob_replay *rp = &h->rp;

	memset(h, 0, sizeof(*h));
	(void)snprintf(h->key, sizeof(h->key), "%s:%s", c->env->claims.jkt,
	    c->env->claims.jti);
	(void)snprintf(h->jti, sizeof(h->jti), "%s", c->env->claims.jti);
	h->now = c->now;
	rp->jti_key = h->key;
	rp->jti = h->jti;
	rp->keep_until = c->env->claims.exp + c->skew;
	if (c->nonce != NULL) {
		if ((h->nonce = strdup(c->nonce)) == NULL)
			return OB_ERR_ALLOC;
		rp->nonce = h->nonce;
	}
	if (c->fido) {
		if ((h->counter_key = strdup(c->owner_key->kid)) == NULL)
			return OB_ERR_ALLOC;
		rp->counter_key = h->counter_key;
		rp->counter = c->ad.counter;
	}
	return OB_OK;
}

void
ob_replay_held_clear(struct ob_replay_held *h)
{
	if (h == NULL)
		return;
	free(h->nonce);
	free(h->counter_key);
	memset(h, 0, sizeof(*h));
}

static int
v_commit(struct vctx *c, struct ob_state *state)
{
	struct ob_replay	 rp;
	char			 key[44 + 1 + 64 + 1];
	int			 r;

	if (state == NULL) {
		if (c->nonce != NULL || c->fido)
			return ob_errf(OB_ERR_STATE, "nonces and FIDO2 counters "
			    "need replay state");
		return OB_OK;
	}
	(void)snprintf(key, sizeof(key), "%s:%s", c->env->claims.jkt,
	    c->env->claims.jti);
	memset(&rp, 0, sizeof(rp));
	rp.jti_key = key;
	rp.jti = c->env->claims.jti;
	rp.keep_until = c->env->claims.exp + c->skew;
	rp.nonce = c->nonce;
	if (c->fido) {
		rp.counter_key = c->owner_key->kid;
		rp.counter = c->ad.counter;
	}
	if ((r = ob_state_commit(state, &rp, c->now)) != OB_OK)
		return r;
	return OB_OK;
}

static int
v_dup(char **dst, const char *s)
{
	if (s == NULL)
		return OB_OK;
	return (*dst = strdup(s)) == NULL ? OB_ERR_ALLOC : OB_OK;
}

static int
v_sha256_b64(const void *buf, size_t len, char **out)
{
	unsigned char	 md[32];
	int		 r;

	if ((r = ob_sha256(buf, len, md)) != OB_OK)
		return r;
	return ob_b64url_encode(md, sizeof(md), out);
}

/* SHA-256 of the gateway's leaf certificate DER (x5c[0], checked). */
static int
v_x5t(const json_t *x5c, char **out)
{
	unsigned char	 der[(OB_MAX_CERT / 3 + 1) * 3 + 3];
	const json_t	*v = json_array_get(x5c, 0);
	const char	*s = json_string_value(v);
	size_t		 len = json_string_length(v);
	int		 n;

	if (s == NULL || len < 2)
		return ob_errf(OB_ERR_X5C_INVALID, "x5c[0] missing");
	n = EVP_DecodeBlock(der, (const unsigned char *)s, (int)len);
	if (n > 0 && s[len - 1] == '=')
		n -= s[len - 2] == '=' ? 2 : 1;
	if (n <= 0)
		return ob_errf(OB_ERR_X5C_INVALID, "x5c[0] is not base64");
	return v_sha256_b64(der, (size_t)n, out);
}

/* The members a credential issuer needs (docs/credentials.md). */
static int
v_verdict_cred(struct vctx *c, const void *buf, size_t len,
    struct ob_verdict *v)
{
	const struct ob_claims	*cl = &c->env->claims;
	const struct ob_entry	*e = c->gw != NULL ? c->gateway : c->owner;
	int			 r;

	/* Canonical text, not re-exported from the EVP_PKEY: ~2x cheaper. */
	OB_TRY(ob_jwk_canonical(cl->cnf_jwk, &v->agent_jwk));
	if (c->owner_key != NULL) {
		OB_TRY(v_dup(&v->owner_jwk, c->owner_key->jwk_text));
		OB_TRY(v_dup(&v->owner_jkt, c->owner_key->kid));
	}
	if (c->gw != NULL)
		OB_TRY(v_x5t(c->gateway->x5c, &v->gateway_x5t));
	OB_TRY(v_dup(&v->owner_type, c->ow != NULL ? c->ow->type :
	    "organization"));
	if (c->ow != NULL)
		OB_TRY(v_dup(&v->owner_group, c->ow->group));
	v->approved_at = e->sat;
	OB_TRY(v_sha256_b64(buf, len, &v->envelope_sha256));
	OB_TRY(v_dup(&v->dns_name, cl->dns_name));
	OB_TRY(v_dup(&v->logical_id, cl->logical_id));
	OB_TRY(v_dup(&v->client_id, cl->client_id));
out:
	return r;
}

static int
v_verdict(struct vctx *c, const void *buf, size_t len,
    struct ob_verdict **out)
{
	const struct ob_claims	*cl = &c->env->claims;
	struct ob_verdict	*v;
	const char		*assurance;
	int			 r;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return OB_ERR_ALLOC;
	/* The owner key's, or what the trust store says of the gateway's. */
	assurance = c->owner_key != NULL ? c->owner_key->assurance :
	    c->gw != NULL ? c->gw->assurance : "software";
	if ((r = v_dup(&v->agent, cl->sub)) != OB_OK ||
	    (r = v_dup(&v->agent_jkt, cl->jkt)) != OB_OK ||
	    (r = v_dup(&v->agent_alg, ob_alg_name(c->agent->alg))) != OB_OK ||
	    (r = v_dup(&v->owner, cl->owner)) != OB_OK ||
	    (r = v_dup(&v->model, ob_model_name(c->model))) != OB_OK ||
	    (r = v_dup(&v->assurance, assurance)) != OB_OK ||
	    (r = v_dup(&v->jti, cl->jti)) != OB_OK ||
	    (r = v_dup(&v->nonce, c->nonce)) != OB_OK)
		goto out;
	if (c->owner_key != NULL &&
	    ((r = v_dup(&v->owner_kid, c->owner_key->kid)) != OB_OK ||
	    (r = v_dup(&v->owner_kind, c->owner_key->kind)) != OB_OK ||
	    (r = v_dup(&v->owner_alg, ob_alg_name(c->owner_key->alg))) !=
	    OB_OK))
		goto out;
	if (c->gw != NULL &&
	    ((r = v_dup(&v->gateway, c->gw->id)) != OB_OK ||
	    (r = v_dup(&v->owner_kind, "gateway")) != OB_OK ||
	    (r = v_dup(&v->owner_alg, ob_alg_name(c->gateway->alg))) != OB_OK))
		goto out;
	v->iat = cl->iat;
	v->exp = cl->exp;
	v->up = c->fido ? (c->ad.flags & OB_AD_UP) != 0 : -1;
	v->uv = c->fido ? (c->ad.flags & OB_AD_UV) != 0 : -1;
	v->counter = c->fido ? (long long)c->ad.counter : -1;
	v->renew_until = cl->renew_until;
	if ((r = v_verdict_cred(c, buf, len, v)) != OB_OK)
		goto out;
	*out = v;
	v = NULL;
out:
	ob_verdict_free(&v);
	return r;
}

static int
v_run(const struct ob_trust *trust, struct ob_state *state,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out, struct ob_replay_held *held)
{
	struct ob_envelope	*env = NULL;
	struct vctx		 c;
	int			 r;

	ob_err_clear();
	if (trust == NULL || opts == NULL || opts->aud == NULL || buf == NULL ||
	    out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "trust, opts->aud, envelope "
		    "and out are required");
	memset(&c, 0, sizeof(c));
	c.trust = trust;
	c.o = opts;
	c.now = opts->now != 0 ? opts->now : (long long)time(NULL);
	c.max_age = opts->max_age != 0 ? opts->max_age : DEF_MAX_AGE;
	c.skew = opts->skew != 0 ? opts->skew : DEF_SKEW;
	c.lifetime = opts->max_lifetime != 0 ? opts->max_lifetime :
	    DEF_LIFETIME;
	/* Leave OpenSSL's error queue as we found it (a TLS server's). */
	ERR_set_mark();
	OB_TRY(ob_envelope_parse(buf, len, 0, &env));
	c.env = env;
	OB_TRY(v_structure(&c));
	OB_TRY(v_channel(&c));
	OB_TRY(v_claims(&c));
	OB_TRY(v_nonce(&c));
	OB_TRY(v_agent(&c));
	if (c.model == OB_MODEL_OWNER_MEDIATED)
		OB_TRY(v_gateway(&c));
	else
		OB_TRY(v_owner(&c));
	if (held != NULL)
		OB_TRY(v_hold(&c, held));
	else
		OB_TRY(v_commit(&c, state));
	r = v_verdict(&c, buf, len, out);
out:
	if (c.trust != NULL)
		(void)ERR_pop_to_mark();
	ob_envelope_free(&env);
	if (r != OB_OK && held != NULL)
		ob_replay_held_clear(held);
	return r;
}

int
ob_verify(const struct ob_trust *trust, struct ob_state *state,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out)
{
	return v_run(trust, state, opts, buf, len, out, NULL);
}

int
ob_verify_defer(const struct ob_trust *trust,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out, struct ob_replay_held *held)
{
	if (held == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "held is required");
	memset(held, 0, sizeof(*held));
	return v_run(trust, NULL, opts, buf, len, out, held);
}

int
ob_verify_agent_request(const struct ob_verify_opts *opts, const void *buf,
    size_t len, struct ob_envelope **out)
{
	struct ob_envelope	*env = NULL;
	struct vctx		 c;
	int			 r;

	ob_err_clear();
	if (opts == NULL || opts->aud == NULL || buf == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "opts->aud, envelope and out "
		    "are required");
	memset(&c, 0, sizeof(c));
	c.o = opts;
	c.now = opts->now != 0 ? opts->now : (long long)time(NULL);
	c.max_age = opts->max_age != 0 ? opts->max_age : DEF_MAX_AGE;
	c.skew = opts->skew != 0 ? opts->skew : DEF_SKEW;
	c.lifetime = opts->max_lifetime != 0 ? opts->max_lifetime :
	    DEF_LIFETIME;
	ERR_set_mark();
	OB_TRY(ob_envelope_parse(buf, len, 0, &env));
	c.env = env;
	/* Exactly the agent's entry: the gateway adds its own. */
	if (env->n != 1 || env->entries[0].role != OB_ROLE_AGENT) {
		r = ob_errf(OB_ERR_ROLE_FORBIDDEN, "a gateway takes an envelope "
		    "with the agent's entry only (%zu entries)", env->n);
		goto out;
	}
	c.agent = &env->entries[0];
	c.model = c.agent->model;
	if (c.model != OB_MODEL_OWNER_MEDIATED) {
		r = ob_errf(OB_ERR_CHANNEL_MISMATCH, "%s request sent to a "
		    "gateway", ob_model_name(c.model));
		goto out;
	}
	OB_TRY(v_claims(&c));
	OB_TRY(v_nonce(&c));
	OB_TRY(v_agent(&c));
	*out = env;
	env = NULL;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	ob_envelope_free(&env);
	return r;
}

/* The owner of a held request: known, not revoked, may bind the agent. */
static int
v_held_owner(struct vctx *c)
{
	const struct ob_claims		*cl = &c->env->claims;
	const struct ob_trust_owner	*ow;

	if ((ow = ob_trust_owner(c->trust, cl->owner)) == NULL)
		return ob_errf(OB_ERR_OWNER_UNKNOWN, "owner \"%.128s\"",
		    cl->owner);
	if (ow->revoked_at != 0 && ow->revoked_at <= c->now)
		return ob_errf(OB_ERR_OWNER_REVOKED, "owner \"%.128s\" revoked "
		    "at %lld", ow->id, ow->revoked_at);
	if (!ob_strlist_match(&ow->may_bind, cl->sub))
		return ob_errf(OB_ERR_OWNER_NOT_AUTHORIZED, "%.128s may not "
		    "bind %.256s", ow->id, cl->sub);
	c->ow = ow;
	return OB_OK;
}

int
ob_verify_held_start(const struct ob_trust *trust,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out)
{
	struct ob_envelope	*env = NULL;
	struct ob_verdict	*v = NULL;
	struct vctx		 c;
	const struct ob_claims	*cl;
	int			 r;

	ob_err_clear();
	if (trust == NULL || opts == NULL || opts->aud == NULL || buf == NULL ||
	    out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "trust, opts->aud, envelope "
		    "and out are required");
	memset(&c, 0, sizeof(c));
	c.trust = trust;
	c.o = opts;
	c.now = opts->now != 0 ? opts->now : (long long)time(NULL);
	c.max_age = opts->max_age != 0 ? opts->max_age : DEF_MAX_AGE;
	c.skew = opts->skew != 0 ? opts->skew : DEF_SKEW;
	c.lifetime = opts->max_lifetime != 0 ? opts->max_lifetime :
	    DEF_LIFETIME;
	ERR_set_mark();
	OB_TRY(ob_envelope_parse(buf, len, 0, &env));
	c.env = env;
	/* Only a server-mediated request may come without its owner. */
	if (env->entries[0].model != OB_MODEL_SERVER_MEDIATED) {
		r = ob_errf(OB_ERR_OWNER_MISSING, "%s needs a%s entry",
		    ob_model_name(env->entries[0].model),
		    env->entries[0].model == OB_MODEL_OWNER_MEDIATED ?
		    " gateway" : "n owner");
		goto out;
	}
	if (env->n != 1 || env->entries[0].role != OB_ROLE_AGENT ||
	    env->entries[0].nonce != NULL) {
		r = ob_errf(OB_ERR_CHAL_SHAPE, "%zu entries, first %s %s%s",
		    env->n, ob_role_name(env->entries[0].role),
		    ob_model_name(env->entries[0].model),
		    env->entries[0].nonce != NULL ? " with ob_nonce" : "");
		goto out;
	}
	c.agent = &env->entries[0];
	c.model = OB_MODEL_SERVER_MEDIATED;
	OB_TRY(v_channel(&c));
	OB_TRY(v_claims(&c));
	OB_TRY(v_agent(&c));
	OB_TRY(v_held_owner(&c));
	cl = &env->claims;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((r = v_dup(&v->agent, cl->sub)) != OB_OK ||
	    (r = v_dup(&v->agent_jkt, cl->jkt)) != OB_OK ||
	    (r = v_dup(&v->owner, cl->owner)) != OB_OK ||
	    (r = v_dup(&v->model, ob_model_name(c.model))) != OB_OK ||
	    (r = v_dup(&v->jti, cl->jti)) != OB_OK ||
	    (r = v_sha256_b64(buf, len, &v->envelope_sha256)) != OB_OK)
		goto out;
	v->iat = cl->iat;
	v->exp = cl->exp;
	v->up = v->uv = -1;
	v->counter = -1;
	*out = v;
	v = NULL;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	ob_verdict_free(&v);
	ob_envelope_free(&env);
	return r;
}

/* ---- renewals (docs/verifier.md, "Renewals") ---- */

/* The approval's signer is still trusted for this agent, now. */
static int
v_renewal_trust(struct vctx *c, const struct ob_approval_rec *a)
{
	const struct ob_claims		*cl = &c->env->claims;
	const struct ob_trust_owner	*ow;
	const struct ob_trust_key	*k;
	const struct ob_trust_gateway	*g;

	if (a->gateway != NULL) {
		if ((g = ob_trust_gateway(c->trust, a->gateway)) == NULL)
			return ob_errf(OB_ERR_GATEWAY_UNKNOWN, "gateway "
			    "\"%.64s\"", a->gateway);
		if (strcmp(g->owner, cl->owner) != 0 ||
		    !ob_strlist_match(&g->may_bind, cl->sub))
			return ob_errf(OB_ERR_GATEWAY_NOT_AUTHORIZED, "gateway "
			    "%.64s may no longer bind %.256s", g->id, cl->sub);
		c->gw = g;
		return OB_OK;
	}
	if ((ow = ob_trust_owner(c->trust, cl->owner)) == NULL)
		return ob_errf(OB_ERR_OWNER_UNKNOWN, "owner \"%.128s\"",
		    cl->owner);
	if (ow->revoked_at != 0 && ow->revoked_at <= c->now)
		return ob_errf(OB_ERR_OWNER_REVOKED, "owner \"%.128s\" revoked "
		    "at %lld", ow->id, ow->revoked_at);
	if ((k = ob_trust_owner_key(ow, a->owner_kid)) == NULL)
		return ob_errf(OB_ERR_OWNER_KEY_UNKNOWN, "kid \"%.64s\" of "
		    "the approval", a->owner_kid);
	if (k->revoked_at != 0 && k->revoked_at <= c->now)
		return ob_errf(OB_ERR_OWNER_KEY_REVOKED, "kid %.64s revoked at "
		    "%lld: %.256s", k->kid, k->revoked_at, k->revoked_reason);
	if ((k->not_before != 0 && c->now < k->not_before) ||
	    (k->not_after != 0 && c->now >= k->not_after))
		return ob_errf(OB_ERR_OWNER_KEY_VALIDITY, "kid %.64s is valid "
		    "%lld..%lld, not at %lld", k->kid, k->not_before,
		    k->not_after, c->now);
	if (!ob_strlist_match(&ow->may_bind, cl->sub))
		return ob_errf(OB_ERR_OWNER_NOT_AUTHORIZED, "%.128s may no "
		    "longer bind %.256s", ow->id, cl->sub);
	c->ow = ow;
	c->owner_key = k;
	return OB_OK;
}

/* The renewal is the approval's agent, to the same server, in time. */
static int
v_renewal_match(struct vctx *c, const struct ob_approval_rec *a)
{
	const struct ob_claims	*cl = &c->env->claims;

	if (strcmp(a->jkt, cl->jkt) != 0 || strcmp(a->jti, cl->renews) != 0)
		return ob_errf(OB_ERR_RENEWAL_UNKNOWN, "the record is another "
		    "agent key's");
	if (strcmp(a->sub, cl->sub) != 0)
		return ob_errf(OB_ERR_RENEWAL_MISMATCH, "sub");
	if (strcmp(a->owner, cl->owner) != 0)
		return ob_errf(OB_ERR_RENEWAL_MISMATCH, "owner");
	if (strcmp(a->aud, cl->aud) != 0)
		return ob_errf(OB_ERR_RENEWAL_MISMATCH, "aud");
	if (strcmp(a->model, ob_model_name(c->model)) != 0)
		return ob_errf(OB_ERR_RENEWAL_MISMATCH, "model %s, the approval's "
		    "%.32s", ob_model_name(c->model), a->model);
	if (c->now >= a->renew_until)
		return ob_errf(OB_ERR_APPROVAL_WINDOW, "the window closed %llds "
		    "ago", c->now - a->renew_until);
	if (cl->exp > a->renew_until)
		return ob_errf(OB_ERR_APPROVAL_WINDOW, "exp is %llds after "
		    "renew_until", cl->exp - a->renew_until);
	return OB_OK;
}

/* A renewal's verdict: the approval's owner, the renewal's own times. */
static int
v_renewal_verdict(struct vctx *c, const struct ob_approval_rec *a,
    struct ob_verdict **out)
{
	const struct ob_claims	*cl = &c->env->claims;
	struct ob_verdict	*v;
	int			 r;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return OB_ERR_ALLOC;
	OB_TRY(v_dup(&v->agent, cl->sub));
	OB_TRY(v_dup(&v->agent_jkt, cl->jkt));
	OB_TRY(v_dup(&v->agent_alg, ob_alg_name(c->agent->alg)));
	OB_TRY(ob_jwk_canonical(cl->cnf_jwk, &v->agent_jwk));
	OB_TRY(v_dup(&v->owner, cl->owner));
	OB_TRY(v_dup(&v->model, a->model));
	OB_TRY(v_dup(&v->assurance, a->assurance));
	OB_TRY(v_dup(&v->jti, cl->jti));
	OB_TRY(v_dup(&v->owner_kid, a->owner_kid));
	OB_TRY(v_dup(&v->owner_kind, a->owner_kind));
	OB_TRY(v_dup(&v->owner_alg, a->owner_alg));
	OB_TRY(v_dup(&v->gateway, a->gateway));
	OB_TRY(v_dup(&v->gateway_x5t, a->gateway_x5t));
	/* The key the trust store holds now under the approval's kid. */
	if (c->owner_key != NULL) {
		OB_TRY(v_dup(&v->owner_jwk, c->owner_key->jwk_text));
		OB_TRY(v_dup(&v->owner_jkt, c->owner_key->kid));
	}
	OB_TRY(v_dup(&v->owner_type, a->owner_type));
	OB_TRY(v_dup(&v->owner_group, a->owner_group));
	OB_TRY(v_dup(&v->envelope_sha256, a->envelope_sha256));
	OB_TRY(v_dup(&v->dns_name, a->dns_name));
	OB_TRY(v_dup(&v->logical_id, a->logical_id));
	OB_TRY(v_dup(&v->client_id, a->client_id));
	OB_TRY(v_dup(&v->renewal_of, a->jti));
	v->iat = cl->iat;
	v->exp = cl->exp;
	v->approved_at = a->approved_at;
	v->renew_until = a->renew_until;
	v->up = v->uv = -1;
	v->counter = -1;
	*out = v;
	v = NULL;
out:
	ob_verdict_free(&v);
	return r;
}

/* ob_verify_renewal, committing its jti (held NULL) or holding it. */
static int
renewal_run(const struct ob_trust *trust, struct ob_state *state,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out, struct ob_replay_held *held)
{
	struct ob_envelope	*env = NULL;
	struct ob_verdict	*v = NULL;
	struct ob_approval_rec	 a;
	struct vctx		 c;
	char			*key = NULL, *text = NULL;
	int			 r;

	ob_err_clear();
	memset(&a, 0, sizeof(a));
	if (trust == NULL || state == NULL || opts == NULL ||
	    opts->aud == NULL || buf == NULL || out == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "trust, state, opts->aud, "
		    "envelope and out are required");
	memset(&c, 0, sizeof(c));
	c.trust = trust;
	c.o = opts;
	c.now = opts->now != 0 ? opts->now : (long long)time(NULL);
	c.max_age = opts->max_age != 0 ? opts->max_age : DEF_MAX_AGE;
	c.skew = opts->skew != 0 ? opts->skew : DEF_SKEW;
	c.lifetime = opts->max_lifetime != 0 ? opts->max_lifetime :
	    DEF_LIFETIME;
	c.renewal = 1;
	ERR_set_mark();
	OB_TRY(ob_envelope_parse(buf, len, 0, &env));
	c.env = env;
	/* The agent alone signs a renewal, and only on the direct channel. */
	if (env->n != 1 || env->entries[0].role != OB_ROLE_AGENT ||
	    env->claims.renews == NULL || env->entries[0].nonce != NULL) {
		r = ob_errf(OB_ERR_RENEWAL_SHAPE, "%zu entries, first %s%s%s",
		    env->n, ob_role_name(env->entries[0].role),
		    env->claims.renews == NULL ? ", no renews" : "",
		    env->entries[0].nonce != NULL ? ", with ob_nonce" : "");
		goto out;
	}
	if (opts->channel == OB_CHANNEL_GATEWAY) {
		r = ob_errf(OB_ERR_CHANNEL_MISMATCH, "a renewal comes from the "
		    "agent's side, not through a gateway");
		goto out;
	}
	c.agent = &env->entries[0];
	c.model = c.agent->model;
	OB_TRY(v_claims(&c));
	OB_TRY(v_agent(&c));
	OB_TRY(ob_approval_key(env->claims.jkt, env->claims.renews, &key));
	OB_TRY(ob_state_get_approval(state, key, c.now, &text));
	OB_TRY(ob_approval_rec_parse(text, &a));
	OB_TRY(v_renewal_match(&c, &a));
	OB_TRY(v_renewal_trust(&c, &a));
	if (held != NULL)
		OB_TRY(v_hold(&c, held));
	else
		OB_TRY(v_commit(&c, state));
	OB_TRY(v_renewal_verdict(&c, &a, &v));
	OB_TRY(v_sha256_b64(buf, len, &v->renewal_sha256));
	*out = v;
	v = NULL;
out:
	(void)ERR_pop_to_mark();
	ob_verdict_free(&v);
	ob_approval_rec_clear(&a);
	free(key);
	free(text);
	ob_envelope_free(&env);
	if (r != OB_OK && held != NULL)
		ob_replay_held_clear(held);
	return r;
}

int
ob_verify_renewal(const struct ob_trust *trust, struct ob_state *state,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out)
{
	return renewal_run(trust, state, opts, buf, len, out, NULL);
}

int
ob_verify_renewal_defer(const struct ob_trust *trust, struct ob_state *state,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out, struct ob_replay_held *held)
{
	if (held == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "held is required");
	memset(held, 0, sizeof(*held));
	return renewal_run(trust, state, opts, buf, len, out, held);
}

void
ob_verdict_free(struct ob_verdict **vp)
{
	struct ob_verdict *v;

	if (vp == NULL || (v = *vp) == NULL)
		return;
	free(v->agent);
	free(v->agent_jkt);
	free(v->agent_alg);
	free(v->owner);
	free(v->owner_kid);
	free(v->owner_kind);
	free(v->owner_alg);
	free(v->gateway);
	free(v->model);
	free(v->assurance);
	free(v->jti);
	free(v->nonce);
	free(v->agent_jwk);
	free(v->owner_jwk);
	free(v->owner_jkt);
	free(v->gateway_x5t);
	free(v->owner_type);
	free(v->owner_group);
	free(v->envelope_sha256);
	free(v->dns_name);
	free(v->logical_id);
	free(v->client_id);
	free(v->renewal_of);
	free(v->renewal_sha256);
	free(v);
	*vp = NULL;
}

static int
j_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, v != NULL ? json_string(v) :
	    json_null());
}

/* A JWK text member as a JSON object (null when absent). */
static int
j_jwk(json_t *o, const char *k, const char *text)
{
	json_t *v = NULL;

	if (text != NULL && ob_json_parse_object(text, strlen(text), &v) !=
	    OB_OK)
		return -1;
	return json_object_set_new(o, k, v != NULL ? v : json_null());
}

int
ob_verdict_json(const struct ob_verdict *v, char **out)
{
	json_t	*o;
	char	*s = NULL;
	size_t	 n;
	int	 r = OB_ERR_ALLOC;

	if ((o = json_object()) == NULL)
		return OB_ERR_ALLOC;
	if (json_object_set_new(o, "result", json_string("accepted")) ||
	    j_str(o, "agent", v->agent) || j_str(o, "agent_jkt", v->agent_jkt) ||
	    j_str(o, "agent_alg", v->agent_alg) ||
	    j_str(o, "owner", v->owner) || j_str(o, "owner_kid", v->owner_kid) ||
	    j_str(o, "owner_kind", v->owner_kind) ||
	    j_str(o, "owner_alg", v->owner_alg) ||
	    j_str(o, "gateway", v->gateway) || j_str(o, "model", v->model) ||
	    j_str(o, "assurance", v->assurance) ||
	    json_object_set_new(o, "up", v->up < 0 ? json_null() :
	    json_boolean(v->up)) ||
	    json_object_set_new(o, "uv", v->uv < 0 ? json_null() :
	    json_boolean(v->uv)) ||
	    json_object_set_new(o, "counter", v->counter < 0 ? json_null() :
	    json_integer(v->counter)) ||
	    j_str(o, "jti", v->jti) || j_str(o, "nonce", v->nonce) ||
	    json_object_set_new(o, "iat", json_integer(v->iat)) ||
	    json_object_set_new(o, "exp", json_integer(v->exp)) ||
	    j_jwk(o, "agent_jwk", v->agent_jwk) ||
	    j_jwk(o, "owner_jwk", v->owner_jwk) ||
	    j_str(o, "owner_jkt", v->owner_jkt) ||
	    j_str(o, "gateway_x5t", v->gateway_x5t) ||
	    j_str(o, "owner_type", v->owner_type) ||
	    j_str(o, "owner_group", v->owner_group) ||
	    json_object_set_new(o, "approved_at",
	    json_integer(v->approved_at)) ||
	    j_str(o, "envelope_sha256", v->envelope_sha256) ||
	    j_str(o, "dns_name", v->dns_name) ||
	    j_str(o, "logical_id", v->logical_id) ||
	    j_str(o, "client_id", v->client_id) ||
	    (v->renew_until != 0 && json_object_set_new(o, "renew_until",
	    json_integer(v->renew_until))) ||
	    (v->renewal_of != NULL && j_str(o, "renewal_of", v->renewal_of)))
		goto out;
	if ((r = ob_json_dump(o, &s, &n)) != OB_OK)
		goto out;
	*out = s;
	r = OB_OK;
out:
	json_decref(o);
	return r;
}
