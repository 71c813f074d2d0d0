/*
 * piv_crypto.c - the card's cryptography, on OpenSSL 3 EVP: EC keys
 * (P-256, P-384), ECDSA, ECDH, the management-key block ciphers and the
 * X.509 certificates of the attestation chain.  No card state here.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/vpiv/piv_card.h"
#include "tests/vpiv/piv_crypto.h"

size_t
vpiv_ec_field_len(uint8_t alg)
{
	return alg == ALG_P256 ? 32 : alg == ALG_P384 ? 48 : 0;
}

const char *
vpiv_ec_group_name(uint8_t alg)
{
	return alg == ALG_P256 ? "P-256" : alg == ALG_P384 ? "P-384" : NULL;
}

const EVP_CIPHER *
vpiv_sym_cipher(uint8_t alg, size_t *keylen, size_t *block)
{
	switch (alg) {
	case ALG_3DES:
		*keylen = 24;
		*block = 8;
		return EVP_des_ede3_ecb();
	case ALG_AES128:
		*keylen = 16;
		*block = 16;
		return EVP_aes_128_ecb();
	case ALG_AES192:
		*keylen = 24;
		*block = 16;
		return EVP_aes_192_ecb();
	case ALG_AES256:
		*keylen = 32;
		*block = 16;
		return EVP_aes_256_ecb();
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Crypto helpers (OpenSSL 3 EVP) */

int
vpiv_random(uint8_t *p, size_t n)
{
	if (n > 0x7fffffff || RAND_bytes(p, (int)n) != 1)
		return PIV_ERR_CRYPTO;
	return PIV_OK;
}

int
vpiv_ec_generate(uint8_t alg, EVP_PKEY **out)
{
	const char *group = vpiv_ec_group_name(alg);
	EVP_PKEY *pk;

	if (group == NULL)
		return PIV_ERR_ARG;
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)) == NULL)
		return PIV_ERR_CRYPTO;
	*out = pk;
	return PIV_OK;
}

/* Uncompressed public point 04 || X || Y. */
int
vpiv_ec_point(EVP_PKEY *pk, uint8_t *buf, size_t cap, size_t *len)
{
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, buf,
	    cap, len) != 1)
		return PIV_ERR_CRYPTO;
	return PIV_OK;
}

/* Which of our algorithms a loaded EC key is, or 0. */
uint8_t
vpiv_ec_alg_of(EVP_PKEY *pk)
{
	char name[64];
	size_t len = 0;

	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, sizeof(name), &len) != 1)
		return 0;
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
		return ALG_P256;
	if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return ALG_P384;
	return 0;
}

/* Build an EVP_PKEY from a group, optional private scalar and point. */
static int
ec_from_params(uint8_t alg, const uint8_t *priv, size_t priv_len,
    const uint8_t *point, size_t point_len, EVP_PKEY **out)
{
	char group[16];
	uint8_t le[48];
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	size_t i, n = 0;
	int r = PIV_ERR_CRYPTO;

	if (vpiv_ec_group_name(alg) == NULL || priv_len > sizeof(le))
		return PIV_ERR_ARG;
	snprintf(group, sizeof(group), "%s", vpiv_ec_group_name(alg));
	params[n++] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[n++] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, (void *)(uintptr_t)point, point_len);
	if (priv != NULL) {
		/* BIGNUM parameters are native-endian. */
		for (i = 0; i < priv_len; i++)
			le[i] = priv[priv_len - 1 - i];
		params[n++] = OSSL_PARAM_construct_BN(
		    OSSL_PKEY_PARAM_PRIV_KEY, le, priv_len);
	}
	params[n] = OSSL_PARAM_construct_end();

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, priv != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* fromdata decodes the point onto the curve; check the pair too. */
	EVP_PKEY_CTX_free(ctx);
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL)
		goto out;
	if ((priv != NULL ? EVP_PKEY_pairwise_check(ctx) :
	    EVP_PKEY_public_check(ctx)) != 1)
		goto out;
	*out = pk;
	pk = NULL;
	r = PIV_OK;
 out:
	OPENSSL_cleanse(le, sizeof(le));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

/* Private scalar (big-endian, exactly the field length) to a key pair. */
int
vpiv_ec_from_scalar(uint8_t alg, const uint8_t *d, size_t dlen,
    EVP_PKEY **out)
{
	EC_GROUP *group = NULL;
	EC_POINT *pub = NULL;
	BIGNUM *bn = NULL;
	BN_CTX *bnctx = NULL;
	uint8_t point[1 + 2 * 48];
	size_t plen;
	int nid = alg == ALG_P256 ? NID_X9_62_prime256v1 : NID_secp384r1;
	int r = PIV_ERR_CRYPTO;

	if (vpiv_ec_field_len(alg) == 0 || dlen != vpiv_ec_field_len(alg) ||
	    dlen > 0x7fffffff)
		return PIV_ERR_ARG;
	if ((group = EC_GROUP_new_by_curve_name(nid)) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL ||
	    (bn = BN_secure_new()) == NULL ||
	    (pub = EC_POINT_new(group)) == NULL)
		goto out;
	if (BN_bin2bn(d, (int)dlen, bn) == NULL)
		goto out;
	/* 1 <= d < n */
	if (BN_is_zero(bn) || BN_cmp(bn, EC_GROUP_get0_order(group)) >= 0) {
		r = PIV_ERR_ARG;
		goto out;
	}
	if (EC_POINT_mul(group, pub, bn, NULL, NULL, bnctx) != 1)
		goto out;
	plen = EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED,
	    point, sizeof(point), bnctx);
	if (plen == 0)
		goto out;
	r = ec_from_params(alg, d, dlen, point, plen, out);
 out:
	BN_clear_free(bn);
	BN_CTX_free(bnctx);
	EC_POINT_free(pub);
	EC_GROUP_free(group);
	return r;
}

/* ECDSA over a caller-supplied digest; DER signature. */
int
vpiv_ec_sign(EVP_PKEY *pk, const uint8_t *dgst, size_t dlen, uint8_t *sig,
    size_t cap, size_t *siglen)
{
	EVP_PKEY_CTX *ctx;
	size_t n = cap;
	int r = PIV_ERR_CRYPTO;

	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
		return PIV_ERR_MEM;
	if (EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, sig, &n, dgst, dlen) != 1)
		goto out;
	*siglen = n;
	r = PIV_OK;
 out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* ECDH (SP 800-73-4 key establishment): X coordinate of d * peer. */
int
vpiv_ec_derive(EVP_PKEY *pk, uint8_t alg, const uint8_t *point, size_t plen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = cap;
	int r;

	if ((r = ec_from_params(alg, NULL, 0, point, plen, &peer)) != PIV_OK)
		return r;
	r = PIV_ERR_CRYPTO;
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, out, &n) != 1)
		goto out;
	*outlen = n;
	r = PIV_OK;
 out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

/* One block of a management-key cipher in ECB mode. */
int
vpiv_sym_crypt(uint8_t alg, const uint8_t *key, size_t keylen, int encrypt,
    const uint8_t *in, uint8_t *out)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	size_t want, block;
	int n = 0, m = 0, r = PIV_ERR_CRYPTO;

	if ((cipher = vpiv_sym_cipher(alg, &want, &block)) == NULL ||
	    keylen != want)
		return PIV_ERR_ARG;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return PIV_ERR_MEM;
	if (EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, encrypt) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)block) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + n, &m) != 1 ||
	    (size_t)(n + m) != block)
		goto out;
	r = PIV_OK;
 out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* ------------------------------------------------------------------ */
/* X.509: test root CA, attestation intermediate (f9), attestations */

static int
add_ext_conf(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return PIV_ERR_CRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? PIV_OK : PIV_ERR_CRYPTO;
}

int
vpiv_cert_add_ext(X509 *x, const char *oid, const uint8_t *val, size_t len)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	int r = PIV_ERR_CRYPTO;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, val, (int)len) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	r = PIV_OK;
 out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return r;
}

/* Certificate skeleton: v3, random serial, subject CN, public key. */
int
vpiv_cert_new(const char *cn, EVP_PKEY *pub, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	int r = PIV_ERR_CRYPTO;

	if ((x = X509_new()) == NULL || (bn = BN_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_pubkey(x, pub) != 1)
		goto out;
	*out = x;
	x = NULL;
	r = PIV_OK;
 out:
	X509_NAME_free(name);
	BN_free(bn);
	X509_free(x);
	return r;
}

int
vpiv_cert_der(X509 *x, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n;

	if ((n = i2d_X509(x, &p)) <= 0)
		return PIV_ERR_CRYPTO;
	*der = p;
	*len = (size_t)n;
	return PIV_OK;
}

/* A CA certificate; issuer == NULL makes it self-signed. */
int
vpiv_cert_make_ca(const char *cn, EVP_PKEY *subject_key, X509 *issuer,
    EVP_PKEY *issuer_key, int pathlen0, X509 **out)
{
	X509 *x = NULL;
	int r;

	if ((r = vpiv_cert_new(cn, subject_key, &x)) != PIV_OK)
		return r;
	r = PIV_ERR_CRYPTO;
	if (X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : X509_get_subject_name(x)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400L) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 20 * 366, 0, NULL) == NULL)
		goto out;
	if ((r = add_ext_conf(x, issuer, NID_basic_constraints, pathlen0 ?
	    "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE")) != PIV_OK ||
	    (r = add_ext_conf(x, issuer, NID_key_usage,
	    "critical,keyCertSign,cRLSign")) != PIV_OK ||
	    (r = add_ext_conf(x, issuer, NID_subject_key_identifier,
	    "hash")) != PIV_OK)
		goto out;
	if (issuer != NULL && (r = add_ext_conf(x, issuer,
	    NID_authority_key_identifier, "keyid:always")) != PIV_OK)
		goto out;
	r = PIV_ERR_CRYPTO;
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = PIV_OK;
 out:
	X509_free(x);
	return r;
}
