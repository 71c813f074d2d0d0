#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "alg.h"
#include "b64url.h"
#include "err.h"
#include "json.h"
#include "jwk.h"

#define JWK_MAX_COORD	66	/* P-521 would be 66; we stop at P-384 (48) */
#define JWK_MAX_RSA	1024	/* 8192-bit modulus */

static const char *const jwk_private[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
};

static int
jwk_get_octets(const EVP_PKEY *pkey, const char *param, unsigned char *buf,
    size_t bufsz, size_t *len)
{
	if (!EVP_PKEY_get_octet_string_param(pkey, param, buf, bufsz, len))
		return ob_errf(OB_ERR_CRYPTO, "reading %s", param);
	return OB_OK;
}

static int
jwk_bn_b64(json_t *o, const char *k, const EVP_PKEY *pkey, const char *param)
{
	BIGNUM		*bn = NULL;
	unsigned char	*b = NULL;
	int		 n, r = OB_ERR_CRYPTO;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		goto out;
	n = BN_num_bytes(bn);
	if (n <= 0 || (b = malloc((size_t)n)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (BN_bn2bin(bn, b) != n)
		goto out;
	r = ob_json_set_b64(o, k, b, (size_t)n);
out:
	free(b);
	BN_free(bn);
	return r;
}

int
ob_jwk_from_pkey(const EVP_PKEY *pkey, json_t **out)
{
	enum ob_keykind	 k;
	unsigned char	 pt[1 + 2 * 48];
	size_t		 ptlen, n;
	json_t		*o = NULL;
	int		 r;

	if ((r = ob_key_kind(pkey, &k)) != OB_OK)
		return r;
	if ((o = json_object()) == NULL)
		return OB_ERR_ALLOC;
	switch (k) {
	case OB_KEY_P256:
	case OB_KEY_P384:
		n = k == OB_KEY_P256 ? 32 : 48;
		OB_TRY(jwk_get_octets(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		    pt, sizeof(pt), &ptlen));
		if (ptlen != 1 + 2 * n || pt[0] != 0x04) {
			r = ob_errf(OB_ERR_CRYPTO, "unexpected EC point form");
			goto out;
		}
		if (json_object_set_new(o, "crv", json_string(k == OB_KEY_P256 ?
		    "P-256" : "P-384")) != 0 ||
		    json_object_set_new(o, "kty", json_string("EC")) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		OB_TRY(ob_json_set_b64(o, "x", pt + 1, n));
		OB_TRY(ob_json_set_b64(o, "y", pt + 1 + n, n));
		break;
	case OB_KEY_ED25519:
		OB_TRY(jwk_get_octets(pkey, OSSL_PKEY_PARAM_PUB_KEY, pt,
		    sizeof(pt), &ptlen));
		if (ptlen != 32) {
			r = ob_errf(OB_ERR_CRYPTO, "Ed25519 key of %zu bytes",
			    ptlen);
			goto out;
		}
		if (json_object_set_new(o, "crv", json_string("Ed25519")) != 0 ||
		    json_object_set_new(o, "kty", json_string("OKP")) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		OB_TRY(ob_json_set_b64(o, "x", pt, 32));
		break;
	case OB_KEY_RSA:
		OB_TRY(jwk_bn_b64(o, "e", pkey, OSSL_PKEY_PARAM_RSA_E));
		if (json_object_set_new(o, "kty", json_string("RSA")) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		OB_TRY(jwk_bn_b64(o, "n", pkey, OSSL_PKEY_PARAM_RSA_N));
		break;
	}
	*out = o;
	o = NULL;
	r = OB_OK;
out:
	json_decref(o);
	return r;
}

static int
jwk_coord(const json_t *jwk, const char *k, size_t want, unsigned char *dst)
{
	const char	*s;
	unsigned char	*b = NULL;
	size_t		 n;
	int		 r;

	if ((r = ob_json_get_str(jwk, k, 1, 2 * JWK_MAX_RSA, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &s)) != OB_OK)
		return r;
	if ((r = ob_b64url_decode(s, strlen(s), want, &b, &n)) != OB_OK)
		return ob_errf(OB_ERR_JWK_INVALID, "\"%s\": %s", k,
		    ob_err_text(r));
	if (n != want) {
		free(b);
		return ob_errf(OB_ERR_JWK_INVALID, "\"%s\" has %zu bytes, "
		    "expected %zu", k, n, want);
	}
	memcpy(dst, b, n);
	free(b);
	return OB_OK;
}

/*
 * The last step of every import, which takes pkey: OpenSSL's quick public
 * key check.  P-256 and P-384 have cofactor 1, so a point on the curve is
 * in the prime-order group; the quick check suffices and keeps a full
 * scalar multiplication off the verify path.
 */
static int
jwk_check(EVP_PKEY *pkey, EVP_PKEY **out)
{
	EVP_PKEY_CTX	*ctx;
	int		 r = OB_OK;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		r = OB_ERR_ALLOC;
	else if (EVP_PKEY_public_check_quick(ctx) != 1)
		r = ob_errf(OB_ERR_JWK_INVALID, "public key check failed");
	EVP_PKEY_CTX_free(ctx);
	if (r != OB_OK) {
		EVP_PKEY_free(pkey);
		return r;
	}
	*out = pkey;
	return OB_OK;
}

static int
jwk_fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;
	int		 ok;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return OB_ERR_ALLOC;
	ok = EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pkey,
	    EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(pkey);
		return ob_errf(OB_ERR_JWK_INVALID, "%s key rejected by OpenSSL",
		    type);
	}
	return jwk_check(pkey, out);
}

/*
 * EC public keys are made by duplicating a template key of the same curve
 * and setting the point with EVP_PKEY_set1_encoded_public_key, which
 * decodes it and refuses points off the curve.  EVP_PKEY_fromdata builds
 * the curve's group from its parameters every time (17 us for P-256
 * here), and the first verification with such a key computes the group's
 * Montgomery constants again; a duplicate copies the template's finished
 * group.  The templates hold each curve's generator, are made once, and
 * are only ever duplicated, never used for an operation; in OpenSSL 3.0
 * EVP_PKEY_dup of a provider key only reads it (the group's precomputed
 * table is shared by reference count), so threads may duplicate one
 * template at the same time.
 */
static EVP_PKEY		*ec_tmpl[2];	/* P-256, P-384 */
static pthread_once_t	 ec_tmpl_once = PTHREAD_ONCE_INIT;

static void
ec_tmpl_make(void)
{
	static const int	 nid[2] = { NID_X9_62_prime256v1, NID_secp384r1 };
	static const char *const sn[2] = { SN_X9_62_prime256v1, SN_secp384r1 };
	unsigned char		 g[1 + 2 * 48];
	OSSL_PARAM		 params[3];
	EC_GROUP		*grp;
	size_t			 i, n;

	for (i = 0; i < 2; i++) {
		if ((grp = EC_GROUP_new_by_curve_name(nid[i])) == NULL)
			continue;
		n = EC_POINT_point2oct(grp, EC_GROUP_get0_generator(grp),
		    POINT_CONVERSION_UNCOMPRESSED, g, sizeof(g), NULL);
		EC_GROUP_free(grp);
		if (n == 0)
			continue;
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)sn[i], 0);
		params[1] = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PUB_KEY, g, n);
		params[2] = OSSL_PARAM_construct_end();
		if (jwk_fromdata("EC", params, &ec_tmpl[i]) != OB_OK)
			ec_tmpl[i] = NULL;
	}
}

/* pt is 0x04 || x || y with coordinates of n bytes (32 or 48). */
static int
jwk_ec_import(const unsigned char *pt, size_t n, EVP_PKEY **out)
{
	EVP_PKEY *tmpl, *pkey;

	if (pthread_once(&ec_tmpl_once, ec_tmpl_make) != 0 ||
	    (tmpl = ec_tmpl[n == 32 ? 0 : 1]) == NULL)
		return ob_errf(OB_ERR_CRYPTO, "no EC key template");
	if ((pkey = EVP_PKEY_dup(tmpl)) == NULL)
		return OB_ERR_ALLOC;
	if (EVP_PKEY_set1_encoded_public_key(pkey, pt, 1 + 2 * n) != 1) {
		EVP_PKEY_free(pkey);
		return ob_errf(OB_ERR_JWK_INVALID, "EC point rejected by "
		    "OpenSSL (not on the curve)");
	}
	return jwk_check(pkey, out);
}

static int
jwk_rsa(const json_t *jwk, EVP_PKEY **out)
{
	const char	*sn, *se;
	unsigned char	*n = NULL, *e = NULL;
	size_t		 nlen, elen;
	BIGNUM		*bn = NULL, *be = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	int		 r;

	OB_TRY(ob_json_get_str(jwk, "n", 1, 2 * JWK_MAX_RSA, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &sn));
	OB_TRY(ob_json_get_str(jwk, "e", 1, 12, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &se));
	if ((r = ob_b64url_decode(sn, strlen(sn), JWK_MAX_RSA, &n,
	    &nlen)) != OB_OK || (r = ob_b64url_decode(se, strlen(se), 8, &e,
	    &elen)) != OB_OK) {
		r = ob_errf(OB_ERR_JWK_INVALID, "RSA n/e: %s", ob_err_text(r));
		goto out;
	}
	/* RFC 7518 6.3.1: no leading zero octets. */
	if (nlen == 0 || n[0] == 0 || elen == 0 || e[0] == 0) {
		r = ob_errf(OB_ERR_JWK_INVALID, "RSA n/e with leading zero");
		goto out;
	}
	if (out == NULL) {
		r = OB_OK;
		goto out;
	}
	r = OB_ERR_ALLOC;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	r = jwk_fromdata("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return r;
}

/*
 * Check a public JWK strictly; with build, also construct the key.
 * Without build, *out is untouched: the checks that need OpenSSL's key
 * (point on the curve, RSA size) belong to construction.
 */
static int
jwk_parse(const json_t *jwk, int build, EVP_PKEY **out)
{
	static const char *const ec_members[] = {
		"kty", "crv", "x", "y", "kid", "alg", "use", NULL
	};
	static const char *const okp_members[] = {
		"kty", "crv", "x", "kid", "alg", "use", NULL
	};
	static const char *const rsa_members[] = {
		"kty", "n", "e", "kid", "alg", "use", NULL
	};
	const char	*kty, *crv;
	unsigned char	 pt[1 + 2 * 48];
	size_t		 i, n;
	OSSL_PARAM	 params[3];
	EVP_PKEY	*pkey = NULL;
	enum ob_keykind	 kind;
	int		 r;

	if (!json_is_object(jwk))
		return ob_errf(OB_ERR_JWK_INVALID, "JWK is not an object");
	for (i = 0; jwk_private[i] != NULL; i++)
		if (json_object_get(jwk, jwk_private[i]) != NULL)
			return ob_errf(OB_ERR_JWK_PRIVATE, "member \"%s\"",
			    jwk_private[i]);
	if ((r = ob_json_get_str(jwk, "kty", 1, 8, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &kty)) != OB_OK)
		return r;
	if (strcmp(kty, "EC") == 0) {
		if ((r = ob_json_only_members(jwk, ec_members,
		    OB_ERR_JWK_INVALID)) != OB_OK ||
		    (r = ob_json_get_str(jwk, "crv", 1, 16, OB_ERR_JWK_INVALID,
		    OB_ERR_JWK_INVALID, &crv)) != OB_OK)
			return r;
		if (strcmp(crv, "P-256") == 0)
			n = 32;
		else if (strcmp(crv, "P-384") == 0)
			n = 48;
		else
			return ob_errf(OB_ERR_JWK_INVALID, "curve %.16s", crv);
		pt[0] = 0x04;
		if ((r = jwk_coord(jwk, "x", n, pt + 1)) != OB_OK ||
		    (r = jwk_coord(jwk, "y", n, pt + 1 + n)) != OB_OK)
			return r;
		if (!build)
			return OB_OK;
		r = jwk_ec_import(pt, n, &pkey);
	} else if (strcmp(kty, "OKP") == 0) {
		if ((r = ob_json_only_members(jwk, okp_members,
		    OB_ERR_JWK_INVALID)) != OB_OK ||
		    (r = ob_json_get_str(jwk, "crv", 1, 16, OB_ERR_JWK_INVALID,
		    OB_ERR_JWK_INVALID, &crv)) != OB_OK)
			return r;
		if (strcmp(crv, "Ed25519") != 0)
			return ob_errf(OB_ERR_JWK_INVALID, "curve %.16s", crv);
		if ((r = jwk_coord(jwk, "x", 32, pt)) != OB_OK)
			return r;
		if (!build)
			return OB_OK;
		params[0] = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PUB_KEY, pt, 32);
		params[1] = OSSL_PARAM_construct_end();
		r = jwk_fromdata("ED25519", params, &pkey);
	} else if (strcmp(kty, "RSA") == 0) {
		if ((r = ob_json_only_members(jwk, rsa_members,
		    OB_ERR_JWK_INVALID)) != OB_OK)
			return r;
		if (!build)
			return jwk_rsa(jwk, NULL);
		r = jwk_rsa(jwk, &pkey);
	} else
		return ob_errf(OB_ERR_JWK_INVALID, "kty %.8s", kty);
	if (r != OB_OK)
		return r;
	if ((r = ob_key_kind(pkey, &kind)) != OB_OK) {
		EVP_PKEY_free(pkey);
		return ob_errf(OB_ERR_JWK_INVALID, "%s", ob_err_detail());
	}
	*out = pkey;
	return OB_OK;
}

int
ob_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out)
{
	return jwk_parse(jwk, 1, out);
}

/*
 * Parsed agent keys, by RFC 7638 thumbprint.  Even from a template an
 * import costs a key duplicate, the point decoding and OpenSSL's key
 * check, and a key's first verification some setup: about 12 us of the
 * 120 us an ES256 envelope takes (bench-verify es256 against
 * es256-newkey).  An agent presents the same key request after request,
 * so a small direct-mapped cache keeps what OpenSSL built.  Lookups happen
 * only after the JWK passed every member check; the thumbprint covers all
 * key material, so equal thumbprints are the same key.
 */
#define JWK_CACHE_SLOTS	1024

static struct {
	char		 jkt[44];
	EVP_PKEY	*pk;
} jwk_cache[JWK_CACHE_SLOTS];
static pthread_mutex_t jwk_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t
jwk_cache_slot(const char *jkt)
{
	uint32_t h = 2166136261u;

	for (; *jkt != '\0'; jkt++)
		h = (h ^ (unsigned char)*jkt) * 16777619u;
	return h % JWK_CACHE_SLOTS;
}

int
ob_jwk_to_pkey_cached(const json_t *jwk, char jkt[44], EVP_PKEY **out)
{
	EVP_PKEY	*pk = NULL;
	char		 tp[44];
	size_t		 slot;
	int		 r;

	if ((r = jwk_parse(jwk, 0, NULL)) != OB_OK ||
	    (r = ob_jwk_thumbprint(jwk, tp)) != OB_OK)
		return r;
	slot = jwk_cache_slot(tp);
	pthread_mutex_lock(&jwk_cache_lock);
	if (jwk_cache[slot].pk != NULL && strcmp(jwk_cache[slot].jkt, tp) == 0 &&
	    EVP_PKEY_up_ref(jwk_cache[slot].pk) == 1)
		pk = jwk_cache[slot].pk;
	pthread_mutex_unlock(&jwk_cache_lock);
	if (pk == NULL) {
		if ((r = jwk_parse(jwk, 1, &pk)) != OB_OK)
			return r;
		pthread_mutex_lock(&jwk_cache_lock);
		if (EVP_PKEY_up_ref(pk) == 1) {
			EVP_PKEY_free(jwk_cache[slot].pk);
			jwk_cache[slot].pk = pk;
			memcpy(jwk_cache[slot].jkt, tp, sizeof(tp));
		}
		pthread_mutex_unlock(&jwk_cache_lock);
	}
	memcpy(jkt, tp, sizeof(tp));
	*out = pk;
	return OB_OK;
}

int
ob_jwk_thumbprint(const json_t *jwk, char out[44])
{
	static const char *const ec_req[] = { "crv", "kty", "x", "y", NULL };
	static const char *const okp_req[] = { "crv", "kty", "x", NULL };
	static const char *const rsa_req[] = { "e", "kty", "n", NULL };
	const char *const *req;
	const char	*kty, *v;
	char		 buf[2 * JWK_MAX_RSA + 256], *t = NULL;
	size_t		 i, n = 0, vlen;
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	int		 r;

	if ((r = ob_json_get_str(jwk, "kty", 1, 8, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &kty)) != OB_OK)
		return r;
	if (strcmp(kty, "EC") == 0)
		req = ec_req;
	else if (strcmp(kty, "OKP") == 0)
		req = okp_req;
	else if (strcmp(kty, "RSA") == 0)
		req = rsa_req;
	else
		return ob_errf(OB_ERR_JWK_INVALID, "kty %.8s", kty);
	/*
	 * RFC 7638 3.2: the required members in lexicographic order, no
	 * whitespace.  Values that would need JSON escaping are refused, so
	 * the text is written directly.
	 */
	buf[n++] = '{';
	for (i = 0; req[i] != NULL; i++) {
		if ((r = ob_json_get_str(jwk, req[i], 1, 2 * JWK_MAX_RSA,
		    OB_ERR_JWK_INVALID, OB_ERR_JWK_INVALID, &v)) != OB_OK)
			return r;
		vlen = strlen(v);
		if (strcspn(v, "\"\\") != vlen || n + vlen + 16 > sizeof(buf))
			return ob_errf(OB_ERR_JWK_INVALID, "\"%s\" is not a "
			    "plain string", req[i]);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\":\"%s\"",
		    i == 0 ? "" : ",", req[i], v);
		for (; *v != '\0'; v++)
			if ((unsigned char)*v < 0x20)
				return ob_errf(OB_ERR_JWK_INVALID, "control "
				    "character in \"%s\"", req[i]);
	}
	buf[n++] = '}';
	if ((r = ob_sha256(buf, n, md)) != OB_OK ||
	    (r = ob_b64url_encode(md, sizeof(md), &t)) != OB_OK)
		return r;
	memcpy(out, t, 44);
	free(t);
	return OB_OK;
}

int
ob_pkey_thumbprint(const EVP_PKEY *pkey, char out[44])
{
	json_t	*jwk = NULL;
	int	 r;

	if ((r = ob_jwk_from_pkey(pkey, &jwk)) != OB_OK)
		return r;
	r = ob_jwk_thumbprint(jwk, out);
	json_decref(jwk);
	return r;
}

int
ob_pkey_equal(const EVP_PKEY *a, const EVP_PKEY *b)
{
	return EVP_PKEY_eq(a, b) == 1;
}
