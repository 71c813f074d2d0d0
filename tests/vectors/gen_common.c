/* Envelope builder for test vectors and benchmarks (gen_common.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "core/b64url.h"
#include "tests/vectors/gen_common.h"
#include "core/jwk.h"
#include "core/webauthn.h"

void
gen_die(const char *what)
{
	fprintf(stderr, "gen: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void
gkey_finish(struct gkey *k)
{
	if ((k->alg = ob_alg_for_key(k->pk)) == OB_ALG_INVALID &&
	    EVP_PKEY_get_base_id(k->pk) != EVP_PKEY_RSA)
		gen_die("key type");
	if (ob_jwk_from_pkey(k->pk, &k->jwk) != OB_OK)
		gen_die("jwk");
	if (ob_jwk_thumbprint(k->jwk, k->kid) != OB_OK)
		gen_die("thumbprint");
}

/* RSA-1024 is below ob_key_kind's floor: build its JWK by hand. */
static void
gkey_rsa_jwk(struct gkey *k)
{
	BIGNUM		*n = NULL, *e = NULL;
	unsigned char	 b[512];
	char		*s;
	int		 len;

	if (!EVP_PKEY_get_bn_param(k->pk, "n", &n) ||
	    !EVP_PKEY_get_bn_param(k->pk, "e", &e))
		gen_die("rsa params");
	k->jwk = json_object();
	len = BN_bn2bin(e, b);
	s = gen_b64(b, (size_t)len);
	json_object_set_new(k->jwk, "e", json_string(s));
	free(s);
	json_object_set_new(k->jwk, "kty", json_string("RSA"));
	len = BN_bn2bin(n, b);
	s = gen_b64(b, (size_t)len);
	json_object_set_new(k->jwk, "n", json_string(s));
	free(s);
	BN_free(n);
	BN_free(e);
	if (ob_jwk_thumbprint(k->jwk, k->kid) != OB_OK)
		gen_die("thumbprint");
	k->alg = OB_ALG_PS256;
}

void
gkey_make(enum gen_keytype t, struct gkey *k)
{
	memset(k, 0, sizeof(*k));
	switch (t) {
	case GEN_P256:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case GEN_P384:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case GEN_ED25519:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case GEN_RSA1024:
		k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		break;
	}
	if (k->pk == NULL)
		gen_die("keygen");
	if (t == GEN_RSA1024)
		gkey_rsa_jwk(k);
	else
		gkey_finish(k);
}

void
gkey_load_or_make(const char *path, enum gen_keytype t, struct gkey *k)
{
	FILE *f;

	memset(k, 0, sizeof(*k));
	if ((f = fopen(path, "r")) != NULL) {
		k->pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (k->pk == NULL)
			gen_die(path);
		if (t == GEN_RSA1024)
			gkey_rsa_jwk(k);
		else
			gkey_finish(k);
		return;
	}
	gkey_make(t, k);
	if ((f = fopen(path, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k->pk, NULL, NULL, 0, NULL, NULL))
		gen_die(path);
	fclose(f);
}

void
gkey_free(struct gkey *k)
{
	EVP_PKEY_free(k->pk);
	json_decref(k->jwk);
	memset(k, 0, sizeof(*k));
}

char *
gen_b64(const void *p, size_t n)
{
	char *s;

	if (ob_b64url_encode(p, n, &s) != OB_OK)
		gen_die("b64");
	return s;
}

char *
gen_dump(const json_t *v)
{
	char *s;

	if ((s = json_dumps(v, JSON_COMPACT)) == NULL)
		gen_die("dump");
	return s;
}

char *
gen_strcat3(const char *a, const char *b, const char *c)
{
	size_t	 la = strlen(a), lb = strlen(b), lc = strlen(c);
	char	*s;

	if ((s = malloc(la + lb + lc + 1)) == NULL)
		gen_die("alloc");
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

json_t *
gen_claims(const struct gkey *agent, const char *sub, const char *owner,
    const char *jti, long long iat, long long exp)
{
	json_t *c = json_object(), *cnf = json_object();

	json_object_set_new(c, "sub", json_string(sub));
	json_object_set_new(c, "aud", json_string(GEN_AUD));
	json_object_set_new(c, "iat", json_integer(iat));
	json_object_set_new(c, "exp", json_integer(exp));
	json_object_set_new(c, "jti", json_string(jti));
	json_object_set_new(c, "owner", json_string(owner));
	json_object_set_new(cnf, "jwk", json_deep_copy(agent->jwk));
	json_object_set_new(c, "cnf", cnf);
	return c;
}

json_t *
gen_ph(enum ob_alg alg, const char *kid, const char *role, const char *model,
    long long sat, const char *nonce)
{
	json_t *h = json_object();

	json_object_set_new(h, "alg", json_string(ob_alg_name(alg)));
	json_object_set_new(h, "typ", json_string("ownerbind+jws"));
	json_object_set_new(h, "kid", json_string(kid));
	json_object_set_new(h, "ob_role", json_string(role));
	json_object_set_new(h, "ob_model", json_string(model));
	json_object_set_new(h, "ob_iat", json_integer(sat));
	if (nonce != NULL)
		json_object_set_new(h, "ob_nonce", json_string(nonce));
	return h;
}

struct gentry *
genv_add(struct genv *g, json_t *ph, const struct gkey *key, int fido)
{
	struct gentry *e;

	if (g->n >= sizeof(g->e) / sizeof(g->e[0]))
		gen_die("too many entries");
	e = &g->e[g->n++];
	memset(e, 0, sizeof(*e));
	e->ph = ph;
	e->key = key;
	e->fido = fido;
	e->fo.flags = OB_AD_UP | OB_AD_UV;
	e->fo.counter = 7;
	return e;
}

void
gen_fido_sign(const struct gkey *k, const unsigned char *ad, size_t adlen,
    const char *cdj, size_t cdjlen, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX	*ctx;
	unsigned char	*msg;
	size_t		 n = 80;

	if ((msg = malloc(adlen + 32)) == NULL)
		gen_die("alloc");
	memcpy(msg, ad, adlen);
	SHA256((const unsigned char *)cdj, cdjlen, msg + adlen);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_PKEY_get_base_id(k->pk) ==
	    EVP_PKEY_ED25519 ? NULL : EVP_sha256(), NULL, k->pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, adlen + 32) != 1)
		gen_die("fido sign");
	*siglen = n;
	EVP_MD_CTX_free(ctx);
	free(msg);
}

static void
gentry_fido(struct gentry *e, const char *tbs, size_t tbslen)
{
	unsigned char	 ad[600];
	size_t		 adlen = OB_AUTHDATA_MINLEN + e->fo.extra - e->fo.cut,
			 cdjlen;
	char		*cdj = NULL, *s;

	if (adlen > sizeof(ad))
		gen_die("authdata");
	memset(ad, 0xa5, sizeof(ad));
	if (ob_rpid_hash(e->fo.rp_id != NULL ? e->fo.rp_id : OB_WEBAUTHN_RPID,
	    ad) != OB_OK)
		gen_die("rpid hash");
	ad[32] = e->fo.flags;
	ad[33] = (unsigned char)(e->fo.counter >> 24);
	ad[34] = (unsigned char)(e->fo.counter >> 16);
	ad[35] = (unsigned char)(e->fo.counter >> 8);
	ad[36] = (unsigned char)e->fo.counter;
	if (e->fo.cdj != NULL) {
		if ((cdj = strdup(e->fo.cdj)) == NULL)
			gen_die("alloc");
		cdjlen = strlen(cdj);
	} else if (ob_webauthn_clientdata(tbs, tbslen, &cdj, &cdjlen) != OB_OK)
		gen_die("clientdata");
	if (e->key != NULL)
		gen_fido_sign(e->key, ad, adlen, cdj, cdjlen, e->sig,
		    &e->siglen);
	if (e->hdr == NULL)
		e->hdr = json_object();
	if (!e->fo.no_ad) {
		s = gen_b64(ad, adlen);
		json_object_set_new(e->hdr, "authenticatorData", json_string(s));
		free(s);
	}
	if (!e->fo.no_cd) {
		s = gen_b64(cdj, cdjlen);
		json_object_set_new(e->hdr, "clientDataJSON", json_string(s));
		free(s);
	}
	free(cdj);
}

void
genv_sign(struct genv *g)
{
	struct gentry	*e;
	char		*s, *tbs;
	unsigned char	*sig;
	size_t		 i, siglen;

	if (g->payload_b64 == NULL) {
		s = g->payload_raw != NULL ? strdup(g->payload_raw) :
		    gen_dump(g->claims);
		g->payload_b64 = gen_b64(s, strlen(s));
		free(s);
	}
	for (i = 0; i < g->n; i++) {
		e = &g->e[i];
		if (e->pb64 == NULL) {
			s = e->ph_raw != NULL ? strdup(e->ph_raw) :
			    gen_dump(e->ph);
			e->pb64 = gen_b64(s, strlen(s));
			free(s);
		}
		tbs = gen_strcat3(e->pb64, ".", g->payload_b64);
		if (e->fido)
			gentry_fido(e, tbs, strlen(tbs));
		else if (e->key != NULL) {
			if (ob_sig_sign(e->key->alg, e->key->pk,
			    (const unsigned char *)tbs, strlen(tbs), &sig,
			    &siglen) != OB_OK || siglen > sizeof(e->sig))
				gen_die("sign");
			memcpy(e->sig, sig, siglen);
			e->siglen = siglen;
			free(sig);
		}
		free(tbs);
	}
}

json_t *
genv_top(const struct genv *g)
{
	json_t	*top = json_object(), *sigs = json_array(), *o;
	char	*s;
	size_t	 i;

	json_object_set_new(top, "payload", json_string(g->payload_b64));
	json_object_set_new(top, "signatures", sigs);
	for (i = 0; i < g->n; i++) {
		o = json_object();
		json_object_set_new(o, "protected", json_string(g->e[i].pb64));
		if (g->e[i].hdr != NULL)
			json_object_set(o, "header", g->e[i].hdr);
		s = gen_b64(g->e[i].sig, g->e[i].siglen);
		json_object_set_new(o, "signature", json_string(s));
		free(s);
		json_array_append_new(sigs, o);
	}
	return top;
}

char *
genv_str(struct genv *g)
{
	json_t	*top;
	char	*s;

	genv_sign(g);
	top = genv_top(g);
	s = gen_dump(top);
	json_decref(top);
	return s;
}

void
genv_free(struct genv *g)
{
	size_t i;

	json_decref(g->claims);
	free(g->payload_raw);
	free(g->payload_b64);
	for (i = 0; i < g->n; i++) {
		json_decref(g->e[i].ph);
		json_decref(g->e[i].hdr);
		free(g->e[i].ph_raw);
		free(g->e[i].pb64);
	}
	memset(g, 0, sizeof(*g));
}

static void
cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		gen_die("x509 ext");
	X509_EXTENSION_free(ext);
}

static X509 *
cert_make(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key,
    X509 *issuer, const char *bc, const char *ku, const char *eku,
    const char *san, long long not_before, long long not_after, long serial)
{
	X509		*x = X509_new();
	X509_NAME	*name = X509_NAME_new();

	if (x == NULL || name == NULL)
		gen_die("x509");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Acme Test Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) :
	    name);
	X509_NAME_free(name);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after);
	X509_set_pubkey(x, pub);
	if (bc != NULL)
		cert_ext(x, issuer, NID_basic_constraints, bc);
	if (ku != NULL)
		cert_ext(x, issuer, NID_key_usage, ku);
	if (eku != NULL)
		cert_ext(x, issuer, NID_ext_key_usage, eku);
	if (san != NULL)
		cert_ext(x, issuer, NID_subject_alt_name, san);
	cert_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		cert_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		gen_die("x509 sign");
	return x;
}

X509 *
gen_cert_ex(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key,
    X509 *issuer, const char *bc, const char *ku, const char *san,
    long long not_before, long long not_after, long serial)
{
	return cert_make(cn, pub, issuer_key, issuer, bc, ku, NULL, san,
	    not_before, not_after, serial);
}

X509 *
gen_cert_eku(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key,
    X509 *issuer, const char *eku, const char *san, long long not_before,
    long long not_after, long serial)
{
	return cert_make(cn, pub, issuer_key, issuer, "critical,CA:FALSE",
	    "critical,digitalSignature", eku, san, not_before, not_after,
	    serial);
}

X509 *
gen_cert(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key, X509 *issuer,
    int ca, long long not_before, long long not_after, long serial)
{
	return gen_cert_ex(cn, pub, issuer_key, issuer, ca ?
	    "critical,CA:TRUE" : "critical,CA:FALSE", ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature", NULL,
	    not_before, not_after, serial);
}

char *
gen_cert_pem(X509 *x)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *s;
	long	 n;

	if (b == NULL || !PEM_write_bio_X509(b, x))
		gen_die("pem");
	n = BIO_get_mem_data(b, &p);
	if ((s = strndup(p, (size_t)n)) == NULL)
		gen_die("alloc");
	BIO_free(b);
	return s;
}

char *
gen_cert_b64der(X509 *x)
{
	unsigned char	*der = NULL;
	char		*s;
	int		 n;

	if ((n = i2d_X509(x, &der)) <= 0 ||
	    (s = malloc((size_t)n * 2 + 8)) == NULL)
		gen_die("der");
	EVP_EncodeBlock((unsigned char *)s, der, n);
	OPENSSL_free(der);
	return s;
}

X509 *
gen_cert_load_or_make(const char *path, const char *cn, EVP_PKEY *pub,
    EVP_PKEY *issuer_key, X509 *issuer, int ca, long long nb, long long na,
    long serial)
{
	FILE	*f;
	X509	*x;

	if ((f = fopen(path, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		if (x == NULL)
			gen_die(path);
		return x;
	}
	x = gen_cert(cn, pub, issuer_key, issuer, ca, nb, na, serial);
	if ((f = fopen(path, "w")) == NULL || !PEM_write_X509(f, x))
		gen_die(path);
	fclose(f);
	return x;
}
