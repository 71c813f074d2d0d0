/*
 * Trust-store loading.  Every owner key is provisioned out of band; the
 * envelope only ever names one.  The file is checked whole at load, so a
 * server never runs with a half-understood trust store.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "server-verify/pem_store.h"
#include "server-verify/piv_attest.h"
#include "server-verify/tpm_attest.h"
#include "server-verify/trust.h"
#include "core/webauthn.h"

static const char *const key_kinds[] = {
	"software", "pkcs11", "tpm2", "piv", "fido2", NULL
};

static void
strlist_free(struct ob_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
ob_strlist_match(const struct ob_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], s, FNM_PATHNAME) == 0)
			return 1;
	return 0;
}

int
ob_strlist_has(const struct ob_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static int
trust_strlist(const json_t *o, const char *k, int required, size_t maxlen,
    struct ob_strlist *out)
{
	const json_t	*a, *v;
	size_t		 i;

	if ((a = json_object_get(o, k)) == NULL) {
		if (required)
			return ob_errf(OB_ERR_TRUST_INVALID, "%s: missing", k);
		return OB_OK;
	}
	if (!json_is_array(a) || json_array_size(a) > OB_TRUST_MAX_LIST)
		return ob_errf(OB_ERR_TRUST_INVALID, "%s: not an array of at "
		    "most %d strings", k, OB_TRUST_MAX_LIST);
	if ((out->v = calloc(json_array_size(a) + 1, sizeof(char *))) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > maxlen ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return ob_errf(OB_ERR_TRUST_INVALID, "%s[%zu]: not a "
			    "string of 1..%zu bytes", k, i, maxlen);
		if ((out->v[i] = strdup(json_string_value(v))) == NULL)
			return OB_ERR_ALLOC;
		out->n++;
	}
	return OB_OK;
}

static int
trust_patterns(const struct ob_strlist *l, const char *what)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i], "wimse://", 8) != 0 &&
		    strncmp(l->v[i], "spiffe://", 9) != 0)
			return ob_errf(OB_ERR_TRUST_INVALID, "%s[%zu]: pattern "
			    "must start with wimse:// or spiffe://", what, i);
	return OB_OK;
}

static int
trust_strdup(const json_t *o, const char *k, size_t max, char **out)
{
	const char	*s;
	int		 r;

	if ((r = ob_json_get_str(o, k, 1, max, OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &s)) != OB_OK)
		return r;
	if ((*out = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

static int
trust_fido2(const json_t *f, struct ob_trust_key *k)
{
	static const char *const names[] = {
		"rp_id", "credential_id", "aaguid", "uv", "backup_eligible",
		"origins", NULL
	};
	struct ob_strlist	 ol = { NULL, 0 };
	const char		*s;
	const json_t		*be;
	size_t			 i;
	int			 r;

	if (!json_is_object(f))
		return ob_errf(OB_ERR_TRUST_INVALID, "fido2: not an object");
	if ((r = ob_json_only_members(f, names, OB_ERR_TRUST_INVALID)) != OB_OK)
		return r;
	if ((r = ob_json_get_str(f, "rp_id", 1, 256, OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &s)) != OB_OK)
		return ob_err_prefix(r, "fido2");
	if ((r = ob_rpid_hash(s, k->rpid_hash)) != OB_OK)
		return r;
	if ((k->rp_id = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	if ((s = json_string_value(json_object_get(f, "credential_id"))) !=
	    NULL && (k->credential_id = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	/* Web origins the credential may approve from (the approval page):
	 * each an https origin, or http://localhost for development. */
	if ((r = trust_strlist(f, "origins", 0, 256, &ol)) != OB_OK) {
		strlist_free(&ol);
		return ob_err_prefix(r, "fido2");
	}
	for (i = 0; i < ol.n; i++)
		if (strncmp(ol.v[i], "https://", 8) != 0 ||
		    strchr(ol.v[i] + 8, '/') != NULL) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "fido2.origins[%zu]: "
			    "not an https origin", i);
			strlist_free(&ol);
			return r;
		}
	k->origins = ol.v;
	k->norigins = ol.n;
	if ((r = ob_json_get_str(f, "uv", 1, 16, OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &s)) != OB_OK)
		return ob_err_prefix(r, "fido2");
	if (strcmp(s, "required") == 0)
		k->uv_required = 1;
	else if (strcmp(s, "discouraged") != 0 && strcmp(s, "preferred") != 0)
		return ob_errf(OB_ERR_TRUST_INVALID, "fido2.uv: \"%.16s\"", s);
	if ((be = json_object_get(f, "backup_eligible")) != NULL) {
		if (!json_is_boolean(be))
			return ob_errf(OB_ERR_TRUST_INVALID, "fido2."
			    "backup_eligible: not a boolean");
		k->backup_eligible = json_is_true(be);
	}
	return OB_OK;
}

static int trust_attestation(const struct ob_trust *, const json_t *,
    struct ob_trust_key *);

/* An optional time member: an integer of Unix seconds, 1..9999-12-31. */
static int
trust_time(const json_t *o, const char *name, long long *out)
{
	const json_t	*v;

	*out = 0;
	if ((v = json_object_get(o, name)) == NULL)
		return OB_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 253402300799LL)
		return ob_errf(OB_ERR_TRUST_INVALID, "%s: Unix seconds", name);
	*out = (long long)json_integer_value(v);
	return OB_OK;
}

/*
 * "revoked": {"at": Unix seconds, "reason": text}.  The entry stays in the
 * store for the record; the verifier refuses it from "at" on.
 */
static int
trust_revoked(const json_t *o, long long *at, char **reason)
{
	static const char *const names[] = { "at", "reason", NULL };
	const json_t	*rv;
	int		 r;

	if ((rv = json_object_get(o, "revoked")) == NULL)
		return OB_OK;
	if (!json_is_object(rv))
		return ob_errf(OB_ERR_TRUST_INVALID, "revoked: an object");
	if ((r = ob_json_only_members(rv, names, OB_ERR_TRUST_INVALID)) !=
	    OB_OK || (r = trust_time(rv, "at", at)) != OB_OK)
		return ob_err_prefix(r, "revoked");
	if (*at == 0)
		return ob_errf(OB_ERR_TRUST_INVALID, "revoked: at is required");
	if ((r = trust_strdup(rv, "reason", 256, reason)) != OB_OK)
		return ob_err_prefix(r, "revoked");
	return OB_OK;
}

static int
trust_key(const struct ob_trust *t, const json_t *o, struct ob_trust_key *k)
{
	static const char *const names[] = {
		"kid", "kind", "alg", "jwk", "fido2", "assurance",
		"attestation", "uri", "not_before", "not_after", "revoked",
		NULL
	};
	const char	*s;
	const json_t	*f;
	char		 tp[44];
	size_t		 i;
	int		 r, fido;

	if (!json_is_object(o))
		return ob_errf(OB_ERR_TRUST_INVALID, "not an object");
	OB_TRY(ob_json_only_members(o, names, OB_ERR_TRUST_INVALID));
	OB_TRY(trust_strdup(o, "kid", 64, &k->kid));
	OB_TRY(trust_strdup(o, "kind", 16, &k->kind));
	OB_TRY(trust_time(o, "not_before", &k->not_before));
	OB_TRY(trust_time(o, "not_after", &k->not_after));
	if (k->not_before != 0 && k->not_after != 0 &&
	    k->not_after <= k->not_before)
		return ob_errf(OB_ERR_TRUST_INVALID, "not_after is not after "
		    "not_before");
	OB_TRY(trust_revoked(o, &k->revoked_at, &k->revoked_reason));
	for (i = 0; key_kinds[i] != NULL; i++)
		if (strcmp(k->kind, key_kinds[i]) == 0)
			break;
	if (key_kinds[i] == NULL)
		return ob_errf(OB_ERR_TRUST_INVALID, "kind \"%.16s\"", k->kind);
	if ((r = ob_json_get_str(o, "alg", 1, 32, OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &s)) != OB_OK)
		return r;
	if ((r = ob_alg_from_name(s, &k->alg)) != OB_OK)
		return ob_errf(OB_ERR_TRUST_INVALID, "alg: %s", ob_err_detail());
	if ((r = ob_jwk_to_pkey(json_object_get(o, "jwk"), &k->pub)) != OB_OK)
		return ob_errf(OB_ERR_TRUST_INVALID, "jwk: %s: %s",
		    ob_err_name(r), ob_err_detail());
	if (ob_alg_check_key(k->alg, k->pub) != OB_OK)
		return ob_errf(OB_ERR_TRUST_INVALID, "alg %s does not fit the "
		    "key", ob_alg_name(k->alg));
	if ((r = ob_jwk_thumbprint(json_object_get(o, "jwk"), tp)) != OB_OK)
		return r;
	if (strcmp(tp, k->kid) != 0)
		return ob_errf(OB_ERR_TRUST_INVALID, "kid is not the RFC 7638 "
		    "thumbprint of jwk");
	if ((r = ob_jwk_canonical(json_object_get(o, "jwk"), &k->jwk_text)) !=
	    OB_OK)
		return r;
	fido = strcmp(k->kind, "fido2") == 0;
	if (fido != ob_alg_is_webauthn(k->alg))
		return ob_errf(OB_ERR_TRUST_INVALID, "fido2 keys (and only "
		    "they) use webauthn-* algs");
	f = json_object_get(o, "fido2");
	if (fido != (f != NULL))
		return ob_errf(OB_ERR_TRUST_INVALID, "fido2 keys (and only "
		    "they) carry a fido2 member");
	if (fido && (r = trust_fido2(f, k)) != OB_OK)
		return r;
	/* Without verified evidence a hardware kind is "hardware". */
	if ((k->assurance = strdup(strcmp(k->kind, "software") == 0 ?
	    "software" : "hardware")) == NULL)
		return OB_ERR_ALLOC;
	if (json_object_get(o, "attestation") != NULL)
		return trust_attestation(t, json_object_get(o, "attestation"), k);
	return OB_OK;
out:
	return r;
}

static int
trust_set_assurance(struct ob_trust_key *k, const char *a)
{
	free(k->assurance);
	return (k->assurance = strdup(a)) == NULL ? OB_ERR_ALLOC : OB_OK;
}

static int
trust_b64(const json_t *o, const char *key, size_t max, unsigned char **out,
    size_t *outlen)
{
	const char	*s;
	int		 r;

	if ((r = ob_json_get_str(o, key, 1, 2 * max, OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &s)) != OB_OK)
		return r;
	if ((r = ob_b64url_decode(s, strlen(s), max, out, outlen)) != OB_OK)
		return ob_errf(OB_ERR_TRUST_INVALID, "%s: %s", key,
		    ob_err_text(r));
	return OB_OK;
}

/* TPM2_Certify evidence (docs/tpm2.md, "Attestation"). */
static int
trust_tpm_evidence(const struct ob_trust *t, const json_t *a,
    struct ob_trust_key *k)
{
	static const char *const names[] = {
		"format", "nonce", "kid", "ak_kid", "attest", "signature",
		"public", NULL
	};
	unsigned char	*att = NULL, *sig = NULL, *pub = NULL, *nonce = NULL;
	size_t		 attlen, siglen, publen, noncelen, i;
	const char	*akid;
	int		 r;

	if (strcmp(k->kind, "tpm2") != 0)
		return ob_errf(OB_ERR_TRUST_INVALID, "attestation: tpm2-certify "
		    "evidence on a %s key", k->kind);
	OB_TRY(ob_json_only_members(a, names, OB_ERR_TRUST_INVALID));
	OB_TRY(ob_json_get_str(a, "ak_kid", 1, 64, OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &akid));
	for (i = 0; i < t->naks; i++)
		if (strcmp(t->aks[i].kid, akid) == 0)
			break;
	if (i == t->naks) {
		r = ob_errf(OB_ERR_TRUST_INVALID, "attestation: %s: attestation "
		    "key %.64s is not in tpm_attestation_keys",
		    ob_err_name(OB_ERR_ATTEST_UNTRUSTED), akid);
		goto out;
	}
	OB_TRY(trust_b64(a, "attest", OB_TPM_ATTEST_MAX, &att, &attlen));
	OB_TRY(trust_b64(a, "signature", 128, &sig, &siglen));
	OB_TRY(trust_b64(a, "public", OB_TPM_PUBLIC_MAX, &pub, &publen));
	OB_TRY(trust_b64(a, "nonce", OB_TPM_NONCE_MAX, &nonce, &noncelen));
	if ((r = ob_tpm_attest_verify(att, attlen, sig, siglen, pub, publen,
	    t->aks[i].pub, nonce, noncelen, k->pub)) != OB_OK) {
		r = ob_errf(OB_ERR_TRUST_INVALID, "attestation: %s: %s",
		    ob_err_name(r), ob_err_detail());
		goto out;
	}
	r = trust_set_assurance(k, "attested");
out:
	free(att);
	free(sig);
	free(pub);
	free(nonce);
	return r;
}

/*
 * Residency evidence, verified at load so that an "attested" assurance
 * can only come from evidence this verifier checked itself.
 */
static int
trust_attestation(const struct ob_trust *t, const json_t *a,
    struct ob_trust_key *k)
{
	const char	*fmt;
	int		 r;

	if (!json_is_object(a))
		return ob_errf(OB_ERR_TRUST_INVALID, "attestation: not an "
		    "object");
	if ((fmt = json_string_value(json_object_get(a, "format"))) != NULL &&
	    strcmp(fmt, "tpm2-certify") == 0)
		return trust_tpm_evidence(t, a, k);
	if ((fmt = json_string_value(json_object_get(a, "type"))) != NULL &&
	    strcmp(fmt, "piv") == 0) {
		if (strcmp(k->kind, "piv") != 0)
			return ob_errf(OB_ERR_TRUST_INVALID, "attestation: piv "
			    "evidence on a %s key", k->kind);
		fmt = json_string_value(json_object_get(a, "origin"));
		r = ob_piv_attest_verify(a, k->pub, t->piv_roots, 0, NULL);
		if (r == OB_OK)
			return trust_set_assurance(k, "attested");
		/* An imported key is honest, not attested: say so. */
		if (r == OB_ERR_ATTEST_INVALID && fmt != NULL &&
		    strcmp(fmt, "imported") == 0)
			return trust_set_assurance(k, "imported");
		return ob_errf(OB_ERR_TRUST_INVALID, "attestation: %s: %s",
		    ob_err_name(r), ob_err_detail());
	}
	/*
	 * A FIDO attestation statement, checked by ownerbind at enrolment
	 * and kept for audit.  Without FIDO metadata roots configured here
	 * it proves nothing to this verifier, so the assurance stays
	 * "hardware".
	 */
	if (json_object_get(a, "fmt") != NULL) {
		if (strcmp(k->kind, "fido2") != 0)
			return ob_errf(OB_ERR_TRUST_INVALID, "attestation: FIDO "
			    "statement on a %s key", k->kind);
		return OB_OK;
	}
	return ob_errf(OB_ERR_TRUST_INVALID, "attestation: unknown format");
}

static void
trust_key_free(struct ob_trust_key *k)
{
	free(k->revoked_reason);
	free(k->kid);
	free(k->kind);
	free(k->assurance);
	free(k->jwk_text);
	free(k->rp_id);
	free(k->credential_id);
	if (k->origins != NULL) {
		struct ob_strlist l = { k->origins, k->norigins };

		strlist_free(&l);
	}
	EVP_PKEY_free(k->pub);
}

/* type (user, organization, service; default user) and group (an OU). */
static int
trust_owner_type(const json_t *o, struct ob_trust_owner *ow)
{
	static const char *const types[] = {
		"user", "organization", "service", NULL
	};
	size_t	 i;
	int	 r;

	if (json_object_get(o, "group") != NULL)
		OB_TRY(trust_strdup(o, "group", 64, &ow->group));
	if (json_object_get(o, "type") == NULL)
		return (ow->type = strdup("user")) == NULL ? OB_ERR_ALLOC :
		    OB_OK;
	OB_TRY(trust_strdup(o, "type", 16, &ow->type));
	for (i = 0; types[i] != NULL; i++)
		if (strcmp(ow->type, types[i]) == 0)
			return OB_OK;
	r = ob_errf(OB_ERR_TRUST_INVALID, "type \"%.16s\": not user, "
	    "organization or service", ow->type);
out:
	return r;
}

static int
trust_owner(const struct ob_trust *t, const json_t *o,
    struct ob_trust_owner *ow)
{
	static const char *const names[] = {
		"id", "type", "group", "may_bind", "keys", "revoked", NULL
	};
	const json_t	*keys, *v;
	size_t		 i;
	int		 r;

	if (!json_is_object(o))
		return ob_errf(OB_ERR_TRUST_INVALID, "not an object");
	OB_TRY(ob_json_only_members(o, names, OB_ERR_TRUST_INVALID));
	OB_TRY(trust_strdup(o, "id", 256, &ow->id));
	OB_TRY(trust_owner_type(o, ow));
	OB_TRY(trust_revoked(o, &ow->revoked_at, &ow->revoked_reason));
	OB_TRY(trust_strlist(o, "may_bind", 1, 2048, &ow->may_bind));
	OB_TRY(trust_patterns(&ow->may_bind, "may_bind"));
	if ((keys = json_object_get(o, "keys")) == NULL ||
	    !json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > OB_TRUST_MAX_LIST)
		return ob_errf(OB_ERR_TRUST_INVALID, "keys: an array of 1..%d "
		    "keys", OB_TRUST_MAX_LIST);
	if ((ow->keys = calloc(json_array_size(keys),
	    sizeof(*ow->keys))) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(keys, i, v) {
		ow->nkeys++;
		if ((r = trust_key(t, v, &ow->keys[i])) != OB_OK)
			return ob_err_prefix(r, "keys[%zu]", i);
	}
	return OB_OK;
out:
	return r;
}

static void
trust_owner_free(struct ob_trust_owner *ow)
{
	size_t i;

	for (i = 0; i < ow->nkeys; i++)
		trust_key_free(&ow->keys[i]);
	free(ow->keys);
	strlist_free(&ow->may_bind);
	free(ow->revoked_reason);
	free(ow->id);
	free(ow->type);
	free(ow->group);
}

static int
trust_ca(const json_t *o, X509_STORE **out)
{
	return ob_pem_store_load(json_object_get(o, "ca"), 16, "ca", out);
}

static int
trust_gateway(const json_t *o, struct ob_trust_gateway *g)
{
	static const char *const names[] = {
		"id", "owner", "ca", "algs", "proxies", "trust_domains",
		"may_bind", "require_eku", "kind", NULL
	};
	static const char *const kinds[] = {
		"software", "pkcs11", "tpm2", "piv", NULL
	};
	struct ob_strlist	 algs = { NULL, 0 };
	const json_t		*re, *kd;
	size_t			 i;
	int			 r;

	if (!json_is_object(o))
		return ob_errf(OB_ERR_TRUST_INVALID, "not an object");
	OB_TRY(ob_json_only_members(o, names, OB_ERR_TRUST_INVALID));
	OB_TRY(trust_strdup(o, "id", 256, &g->id));
	OB_TRY(trust_strdup(o, "owner", 256, &g->owner));
	OB_TRY(trust_ca(o, &g->ca));
	OB_TRY(trust_strlist(o, "proxies", 1, 256, &g->proxies));
	OB_TRY(trust_strlist(o, "trust_domains", 1, 255, &g->trust_domains));
	OB_TRY(trust_strlist(o, "may_bind", 1, 2048, &g->may_bind));
	OB_TRY(trust_patterns(&g->may_bind, "may_bind"));
	if ((re = json_object_get(o, "require_eku")) != NULL) {
		if (!json_is_boolean(re))
			return ob_errf(OB_ERR_TRUST_INVALID, "require_eku: not "
			    "a boolean");
		g->require_eku = json_is_true(re);
	}
	/* What holds the gateway's signing key, as its operator declares;
	 * nothing in a certificate proves it, so without a declaration the
	 * verdict claims no more than software. */
	if ((kd = json_object_get(o, "kind")) != NULL) {
		for (i = 0; kinds[i] != NULL && (!json_is_string(kd) ||
		    strcmp(json_string_value(kd), kinds[i]) != 0); i++)
			;
		if (kinds[i] == NULL)
			return ob_errf(OB_ERR_TRUST_INVALID, "kind: one of "
			    "software, pkcs11, tpm2, piv");
	}
	if ((g->kind = strdup(kd != NULL ? json_string_value(kd) :
	    "software")) == NULL)
		return OB_ERR_ALLOC;
	g->assurance = strcmp(g->kind, "software") == 0 ? "software" :
	    "hardware";
	OB_TRY(trust_strlist(o, "algs", 1, 32, &algs));
	if (algs.n == 0 || algs.n > 8) {
		r = ob_errf(OB_ERR_TRUST_INVALID, "algs: 1..8 names");
		goto out;
	}
	for (i = 0; i < algs.n; i++) {
		if (ob_alg_from_name(algs.v[i], &g->algs[i]) != OB_OK ||
		    ob_alg_is_webauthn(g->algs[i])) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "algs[%zu]: \"%.32s\"",
			    i, algs.v[i]);
			goto out;
		}
		g->nalgs++;
	}
	r = OB_OK;
out:
	strlist_free(&algs);
	return r;
}

static void
trust_gateway_free(struct ob_trust_gateway *g)
{
	free(g->id);
	free(g->owner);
	free(g->kind);
	X509_STORE_free(g->ca);
	strlist_free(&g->proxies);
	strlist_free(&g->trust_domains);
	strlist_free(&g->may_bind);
}

void
ob_trust_free(struct ob_trust **tp)
{
	struct ob_trust	*t;
	size_t		 i;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	for (i = 0; i < t->nowners; i++)
		trust_owner_free(&t->owners[i]);
	for (i = 0; i < t->ngateways; i++)
		trust_gateway_free(&t->gateways[i]);
	for (i = 0; i < t->naks; i++) {
		free(t->aks[i].kid);
		EVP_PKEY_free(t->aks[i].pub);
	}
	free(t->aks);
	X509_STORE_free(t->piv_roots);
	if (t->chains != NULL) {
		for (i = 0; i < OB_CHAIN_CACHE_SLOTS; i++)
			EVP_PKEY_free(t->chains->slot[i].leafkey);
		(void)pthread_mutex_destroy(&t->chains->lock);
		free(t->chains);
	}
	free(t->owners);
	free(t->gateways);
	free(t);
	*tp = NULL;
}

static int
trust_aks(const json_t *top, struct ob_trust *t)
{
	static const char *const names[] = { "kid", "kind", "jwk", NULL };
	const json_t	*a, *v;
	char		 tp[44];
	size_t		 i;
	int		 r;

	if ((a = json_object_get(top, "tpm_attestation_keys")) == NULL)
		return OB_OK;
	if (!json_is_array(a) || json_array_size(a) > OB_TRUST_MAX_LIST ||
	    (t->aks = calloc(json_array_size(a) + 1, sizeof(*t->aks))) == NULL)
		return ob_errf(OB_ERR_TRUST_INVALID, "tpm_attestation_keys: an "
		    "array of at most %d keys", OB_TRUST_MAX_LIST);
	json_array_foreach(a, i, v) {
		struct ob_trust_ak *ak = &t->aks[i];
		const char *kind;

		t->naks++;
		if (!json_is_object(v) || (r = ob_json_only_members(v, names,
		    OB_ERR_TRUST_INVALID)) != OB_OK ||
		    (r = trust_strdup(v, "kid", 64, &ak->kid)) != OB_OK ||
		    (r = ob_json_get_str(v, "kind", 1, 16, OB_ERR_TRUST_INVALID,
		    OB_ERR_TRUST_INVALID, &kind)) != OB_OK)
			return ob_err_prefix(!json_is_object(v) ?
			    OB_ERR_TRUST_INVALID : r, "tpm_attestation_keys[%zu]",
			    i);
		if (strcmp(kind, "tpm2-ak") != 0)
			return ob_errf(OB_ERR_TRUST_INVALID,
			    "tpm_attestation_keys[%zu]: kind must be tpm2-ak", i);
		if ((r = ob_jwk_to_pkey(json_object_get(v, "jwk"),
		    &ak->pub)) != OB_OK ||
		    (r = ob_jwk_thumbprint(json_object_get(v, "jwk"), tp)) !=
		    OB_OK)
			return ob_errf(OB_ERR_TRUST_INVALID,
			    "tpm_attestation_keys[%zu]: jwk: %s", i,
			    ob_err_detail());
		if (strcmp(tp, ak->kid) != 0)
			return ob_errf(OB_ERR_TRUST_INVALID,
			    "tpm_attestation_keys[%zu]: kid is not the RFC 7638 "
			    "thumbprint of jwk", i);
	}
	return OB_OK;
}

/* No key may belong to two owners, no id may repeat. */
static int
trust_unique(const struct ob_trust *t)
{
	size_t a, b, i, j;

	for (a = 0; a < t->nowners; a++)
		for (b = a; b < t->nowners; b++) {
			if (a != b && strcmp(t->owners[a].id,
			    t->owners[b].id) == 0)
				return ob_errf(OB_ERR_TRUST_INVALID, "owners[%zu]:"
				    " id repeats owners[%zu]", b, a);
			for (i = 0; i < t->owners[a].nkeys; i++)
				for (j = a == b ? i + 1 : 0;
				    j < t->owners[b].nkeys; j++)
					if (strcmp(t->owners[a].keys[i].kid,
					    t->owners[b].keys[j].kid) == 0)
						return ob_errf(
						    OB_ERR_TRUST_INVALID,
						    "owners[%zu].keys[%zu]: key "
						    "enrolled twice", b, j);
		}
	for (a = 0; a < t->ngateways; a++)
		for (b = a + 1; b < t->ngateways; b++)
			if (strcmp(t->gateways[a].id, t->gateways[b].id) == 0)
				return ob_errf(OB_ERR_TRUST_INVALID,
				    "gateways[%zu]: id repeats", b);
	return OB_OK;
}

int
ob_trust_load_buf(const void *buf, size_t len, struct ob_trust **out)
{
	static const char *const names[] = {
		"ownerbind_trust", "owners", "gateways",
		"tpm_attestation_keys", "piv_roots", NULL
	};
	struct ob_trust	*t = NULL;
	json_t		*top = NULL, *a, *v;
	long long	 ver;
	size_t		 i;
	int		 r;

	ob_err_clear();
	if (len > OB_TRUST_MAX_FILE)
		return ob_errf(OB_ERR_ENV_TOO_LARGE, "trust store of %zu bytes",
		    len);
	if ((r = ob_json_parse_object(buf, len, &top)) != OB_OK)
		return r;
	ERR_set_mark();		/* leave OpenSSL's error queue as it was */
	if ((r = ob_json_only_members(top, names, OB_ERR_TRUST_INVALID)) !=
	    OB_OK)
		goto out;
	if ((r = ob_json_get_int(top, "ownerbind_trust", OB_ERR_TRUST_INVALID,
	    OB_ERR_TRUST_INVALID, &ver)) != OB_OK)
		goto out;
	if (ver != 1) {
		r = ob_errf(OB_ERR_TRUST_INVALID, "ownerbind_trust: version "
		    "%lld, this verifier reads 1", ver);
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	/* Evidence roots first: owner keys are checked against them. */
	OB_TRY(trust_aks(top, t));
	if ((a = json_object_get(top, "piv_roots")) != NULL &&
	    (r = ob_piv_roots_load(a, &t->piv_roots)) != OB_OK) {
		r = ob_err_prefix(r, "piv_roots");
		goto out;
	}
	if ((a = json_object_get(top, "owners")) != NULL) {
		if (!json_is_array(a) || (t->owners = calloc(
		    json_array_size(a) + 1, sizeof(*t->owners))) == NULL) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "owners: not an "
			    "array");
			goto out;
		}
		json_array_foreach(a, i, v) {
			t->nowners++;
			if ((r = trust_owner(t, v, &t->owners[i])) != OB_OK) {
				r = ob_err_prefix(r, "owners[%zu]", i);
				goto out;
			}
		}
	}
	if ((a = json_object_get(top, "gateways")) != NULL) {
		if (!json_is_array(a) || (t->gateways = calloc(
		    json_array_size(a) + 1, sizeof(*t->gateways))) == NULL) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "gateways: not an "
			    "array");
			goto out;
		}
		json_array_foreach(a, i, v) {
			t->ngateways++;
			if ((r = trust_gateway(v, &t->gateways[i])) != OB_OK) {
				r = ob_err_prefix(r, "gateways[%zu]", i);
				goto out;
			}
		}
	}
	OB_TRY(trust_unique(t));
	if (t->ngateways > 0) {
		if ((t->chains = calloc(1, sizeof(*t->chains))) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		if (pthread_mutex_init(&t->chains->lock, NULL) != 0) {
			free(t->chains);
			t->chains = NULL;
			r = ob_errf(OB_ERR_ALLOC, "chain cache lock");
			goto out;
		}
	}
	*out = t;
	t = NULL;
	r = OB_OK;
out:
	(void)ERR_pop_to_mark();
	ob_trust_free(&t);
	json_decref(top);
	return r;
}

int
ob_trust_load_file(const char *path, struct ob_trust **out)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 r;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	if ((buf = malloc(OB_TRUST_MAX_FILE + 1)) == NULL) {
		(void)fclose(f);	/* read-only: nothing to lose */
		return OB_ERR_ALLOC;
	}
	n = fread(buf, 1, OB_TRUST_MAX_FILE + 1, f);
	if (ferror(f))
		r = ob_errf(OB_ERR_IO, "%s: read error", path);
	else
		r = ob_trust_load_buf(buf, n, out);
	(void)fclose(f);
	free(buf);
	if (r != OB_OK)
		return ob_err_prefix(r, "%s", path);
	return OB_OK;
}

const struct ob_trust_owner *
ob_trust_owner(const struct ob_trust *t, const char *id)
{
	size_t i;

	for (i = 0; i < t->nowners; i++)
		if (strcmp(t->owners[i].id, id) == 0)
			return &t->owners[i];
	return NULL;
}

const struct ob_trust_key *
ob_trust_owner_key(const struct ob_trust_owner *ow, const char *kid)
{
	size_t i;

	for (i = 0; i < ow->nkeys; i++)
		if (strcmp(ow->keys[i].kid, kid) == 0)
			return &ow->keys[i];
	return NULL;
}

const struct ob_trust_gateway *
ob_trust_gateway(const struct ob_trust *t, const char *id)
{
	size_t i;

	for (i = 0; i < t->ngateways; i++)
		if (strcmp(t->gateways[i].id, id) == 0)
			return &t->gateways[i];
	return NULL;
}
