#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/jwk.h"
#include "core/webauthn.h"

EVP_PKEY *
t_key(const char *kind)
{
	EVP_PKEY *k = NULL;

	if (strcmp(kind, "P-256") == 0 || strcmp(kind, "P-384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
	else if (strcmp(kind, "Ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (strcmp(kind, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	return k;
}

EVP_PKEY *
t_ed25519(const unsigned char seed[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, 32);

	assert_non_null(k);
	return k;
}

EVP_PKEY *
t_pem(const char *pem)
{
	BIO		*b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY	*k;

	assert_non_null(b);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(k);
	return k;
}

char *
t_kid(EVP_PKEY *k)
{
	char kid[44];

	assert_int_equal(ob_pkey_thumbprint(k, kid), OB_OK);
	return strdup(kid);
}

json_t *
t_claims(EVP_PKEY *agent, long long now, const char *jti)
{
	json_t *jwk = NULL, *c;

	assert_int_equal(ob_jwk_from_pkey(agent, &jwk), OB_OK);
	c = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:{s:o}}", "sub", T_SUB,
	    "aud", T_AUD, "iat", (json_int_t)now, "exp",
	    (json_int_t)(now + 300), "jti", jti, "owner", T_OWNER, "cnf",
	    "jwk", jwk);
	assert_non_null(c);
	return c;
}

struct ob_envelope *
t_request(EVP_PKEY *agent, long long now, const char *jti)
{
	struct ob_envelope	*env = NULL;
	json_t			*c = t_claims(agent, now, jti);

	assert_int_equal(ob_envelope_new(c, &env), OB_OK);
	json_decref(c);
	return env;
}

static void
t_append(struct ob_envelope *env, enum ob_alg alg, const char *kid,
    enum ob_role role, enum ob_model model, long long sat, const char *nonce,
    char **pb64, char **tbs, size_t *tbslen)
{
	json_t *ph = NULL;

	assert_int_equal(ob_protected_new(alg, kid, role, model, sat, nonce,
	    NULL, &ph), OB_OK);
	assert_int_equal(ob_protected_encode(ph, pb64), OB_OK);
	json_decref(ph);
	assert_int_equal(ob_envelope_signing_input(env, *pb64, tbs, tbslen),
	    OB_OK);
}

void
t_sign(struct ob_envelope *env, EVP_PKEY *key, enum ob_role role,
    enum ob_model model, long long sat, const char *nonce, const char *kid)
{
	enum ob_alg	 alg = ob_alg_for_key(key);
	char		*pb64 = NULL, *tbs = NULL, *mykid = NULL;
	unsigned char	*sig = NULL;
	size_t		 tbslen, siglen;

	if (kid == NULL)
		kid = mykid = t_kid(key);
	t_append(env, alg, kid, role, model, sat, nonce, &pb64, &tbs, &tbslen);
	assert_int_equal(ob_sig_sign(alg, key, (unsigned char *)tbs, tbslen,
	    &sig, &siglen), OB_OK);
	assert_int_equal(ob_envelope_append(env, pb64, NULL, sig, siglen),
	    OB_OK);
	free(sig);
	free(tbs);
	free(pb64);
	free(mykid);
}

void
t_sign_fido(struct ob_envelope *env, EVP_PKEY *key, const char *rp_id,
    uint8_t flags, uint32_t counter, enum ob_model model, long long sat,
    const char *nonce)
{
	enum ob_alg	 alg = ob_alg_for_key(key) == OB_ALG_EDDSA ?
	    OB_ALG_WEBAUTHN_EDDSA : OB_ALG_WEBAUTHN_ES256;
	unsigned char	 ad[37], *msg = NULL, *sig = NULL;
	char		*pb64 = NULL, *tbs = NULL, *cdj = NULL, *kid = t_kid(key);
	char		*adb = NULL, *cdb = NULL;
	size_t		 tbslen, cdjlen, msglen, siglen = 0;
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	json_t		*hdr;

	t_append(env, alg, kid, OB_ROLE_OWNER, model, sat, nonce, &pb64, &tbs,
	    &tbslen);
	assert_int_equal(ob_rpid_hash(rp_id, ad), OB_OK);
	ad[32] = flags;
	ad[33] = (unsigned char)(counter >> 24);
	ad[34] = (unsigned char)(counter >> 16);
	ad[35] = (unsigned char)(counter >> 8);
	ad[36] = (unsigned char)counter;
	assert_int_equal(ob_webauthn_clientdata(tbs, tbslen, &cdj, &cdjlen),
	    OB_OK);
	assert_int_equal(ob_webauthn_message(ad, sizeof(ad),
	    (unsigned char *)cdj, cdjlen, &msg, &msglen), OB_OK);
	/* The authenticator's own encoding: DER for ECDSA. */
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, alg ==
	    OB_ALG_WEBAUTHN_ES256 ? EVP_sha256() : NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &siglen, msg, msglen), 1);
	sig = malloc(siglen);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, msglen), 1);
	assert_int_equal(ob_b64url_encode(ad, sizeof(ad), &adb), OB_OK);
	assert_int_equal(ob_b64url_encode((unsigned char *)cdj, cdjlen, &cdb),
	    OB_OK);
	hdr = json_pack("{s:s,s:s}", "authenticatorData", adb,
	    "clientDataJSON", cdb);
	assert_int_equal(ob_envelope_append(env, pb64, hdr, sig, siglen),
	    OB_OK);
	json_decref(hdr);
	EVP_MD_CTX_free(ctx);
	free(adb);
	free(cdb);
	free(sig);
	free(msg);
	free(cdj);
	free(tbs);
	free(pb64);
	free(kid);
}

char *
t_trust(const char *owner, const char *pattern, EVP_PKEY *key,
    const char *kind, const char *fido_rp, int uv_required)
{
	json_t		*jwk = NULL, *k, *doc;
	enum ob_alg	 alg = ob_alg_for_key(key);
	char		*kid = t_kid(key), *s;

	if (fido_rp != NULL)
		alg = alg == OB_ALG_EDDSA ? OB_ALG_WEBAUTHN_EDDSA :
		    OB_ALG_WEBAUTHN_ES256;
	assert_int_equal(ob_jwk_from_pkey(key, &jwk), OB_OK);
	k = json_pack("{s:s,s:s,s:s,s:o}", "kid", kid, "kind", kind, "alg",
	    ob_alg_name(alg), "jwk", jwk);
	if (fido_rp != NULL)
		json_object_set_new(k, "fido2", json_pack("{s:s,s:s}", "rp_id",
		    fido_rp, "uv", uv_required ? "required" : "preferred"));
	doc = json_pack("{s:i,s:[{s:s,s:[s],s:[o]}]}", "ownerbind_trust", 1,
	    "owners", "id", owner, "may_bind", pattern, "keys", k);
	assert_non_null(doc);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(kid);
	return s;
}

char *
t_serialize(const struct ob_envelope *env)
{
	char	*s = NULL;
	size_t	 n;

	assert_int_equal(ob_envelope_serialize(env, &s, &n), OB_OK);
	return s;
}

X509 *
t_cert(EVP_PKEY *subj, EVP_PKEY *ikey, X509 *issuer, const char *cn,
    int is_ca, long long now)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;

	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_version(x, 2);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, (time_t[]){ now - 86400 });
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, (time_t[]){ now + 86400 });
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) :
	    n);
	X509_set_pubkey(x, subj);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (is_ca) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
		    "critical,keyCertSign");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

char *
t_cert_pem(X509 *x)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *s;
	long	 n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}
