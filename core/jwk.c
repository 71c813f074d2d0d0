#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/pkey.h"

#define JWK_MAX_RSA	(OB_RSA_MAX_BITS / 8)
/* base64url length of the largest modulus; longer text is refused unread */
#define JWK_RSA_TEXT	((JWK_MAX_RSA * 4 + 2) / 3)
/* "n" text read at all (longer: not a JWK this verifier could use) */
#define JWK_MAX_TEXT	16384
#define JWK_MAX_KID	256

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
 * RSA n and e: RFC 7518 6.3.1 form (no leading zero octets), then the
 * size rules of pkey.c on the text length, before anything is decoded:
 * a modulus over OB_RSA_MAX_BITS is refused for its length alone.
 */
static int
jwk_rsa(const json_t *jwk, int build, EVP_PKEY **out)
{
	const char	*sn, *se;
	unsigned char	*n = NULL, *e = NULL;
	size_t		 nlen, elen;
	int		 r;

	OB_TRY(ob_json_get_str(jwk, "n", 1, JWK_MAX_TEXT, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &sn));
	OB_TRY(ob_json_get_str(jwk, "e", 1, 12, OB_ERR_JWK_INVALID,
	    OB_ERR_JWK_INVALID, &se));
	if (strlen(sn) > JWK_RSA_TEXT) {
		r = ob_errf(OB_ERR_KEY_SIZE, "RSA modulus of about %zu bits "
		    "(allowed %d..%d)", strlen(sn) * 6, OB_RSA_MIN_BITS,
		    OB_RSA_MAX_BITS);
		goto out;
	}
	if ((r = ob_b64url_decode(sn, strlen(sn), OB_RSA_MAX_BITS / 8, &n,
	    &nlen)) != OB_OK || (r = ob_b64url_decode(se, strlen(se), 8, &e,
	    &elen)) != OB_OK) {
		r = ob_errf(OB_ERR_JWK_INVALID, "RSA n/e: %s", ob_err_text(r));
		goto out;
	}
	if (nlen == 0 || n[0] == 0 || elen == 0 || e[0] == 0) {
		r = ob_errf(OB_ERR_JWK_INVALID, "RSA n/e with leading zero");
		goto out;
	}
	if (build)
		r = ob_pkey_from_rsa(n, nlen, e, elen, out);
	else
		r = ob_pkey_check_rsa(n, nlen, e, elen);
out:
	free(n);
	free(e);
	return r;
}

/*
 * RFC 7517 4.2-4.5, for the optional members a public JWK may carry:
 * "use" is "sig" (these keys only sign), "alg" is the one JWS alg this
 * verifier uses with the key (never none, a MAC or another key's alg),
 * "kid" is a string.  key_ops, x5* and the rest are unknown members.
 */
static int
jwk_optional(const json_t *jwk, enum ob_keykind kind)
{
	const json_t	*v;
	const char	*s;
	enum ob_alg	 alg;

	if ((v = json_object_get(jwk, "use")) != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), "sig") != 0))
		return ob_errf(OB_ERR_JWK_MEMBER, "\"use\" must be \"sig\"");
	if ((v = json_object_get(jwk, "alg")) != NULL) {
		if (!json_is_string(v))
			return ob_errf(OB_ERR_JWK_MEMBER, "\"alg\" is not a "
			    "string");
		s = json_string_value(v);
		/* RFC 9864's fully-specified name for EdDSA over Ed25519. */
		if (kind == OB_KEY_ED25519 && strcmp(s, "Ed25519") == 0)
			s = "EdDSA";
		if (ob_alg_from_name(s, &alg) != OB_OK ||
		    ob_alg_is_webauthn(alg) || ob_alg_keykind(alg) != kind)
			return ob_errf(OB_ERR_JWK_MEMBER, "\"alg\" is not one "
			    "this key signs with");
	}
	if ((v = json_object_get(jwk, "kid")) != NULL && (!json_is_string(v) ||
	    json_string_length(v) > JWK_MAX_KID))
		return ob_errf(OB_ERR_JWK_MEMBER, "\"kid\" is not a string of "
		    "at most %d bytes", JWK_MAX_KID);
	return OB_OK;
}

/*
 * Check a public JWK strictly; with build, also construct the key.
 * Without build, *out is untouched and the checks are those on the bytes
 * (member form, sizes, Ed25519's small-order and canonical rules); the
 * ones that need OpenSSL or arithmetic (point on the curve) belong to
 * construction, which pkey.c does.
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
		if (strcmp(crv, "P-256") == 0) {
			n = 32;
			kind = OB_KEY_P256;
		} else if (strcmp(crv, "P-384") == 0) {
			n = 48;
			kind = OB_KEY_P384;
		} else
			return ob_errf(OB_ERR_JWK_INVALID, "curve %.16s", crv);
		pt[0] = 0x04;
		if ((r = jwk_optional(jwk, kind)) != OB_OK ||
		    (r = jwk_coord(jwk, "x", n, pt + 1)) != OB_OK ||
		    (r = jwk_coord(jwk, "y", n, pt + 1 + n)) != OB_OK)
			return r;
		if (!build)
			return OB_OK;
		r = ob_pkey_from_ec_point(kind, pt, 1 + 2 * n, &pkey);
	} else if (strcmp(kty, "OKP") == 0) {
		if ((r = ob_json_only_members(jwk, okp_members,
		    OB_ERR_JWK_INVALID)) != OB_OK ||
		    (r = ob_json_get_str(jwk, "crv", 1, 16, OB_ERR_JWK_INVALID,
		    OB_ERR_JWK_INVALID, &crv)) != OB_OK)
			return r;
		if (strcmp(crv, "Ed25519") != 0)
			return ob_errf(OB_ERR_JWK_INVALID, "curve %.16s", crv);
		if ((r = jwk_optional(jwk, OB_KEY_ED25519)) != OB_OK ||
		    (r = jwk_coord(jwk, "x", 32, pt)) != OB_OK ||
		    (r = ob_pkey_check_ed25519(pt)) != OB_OK)
			return r;
		if (!build)
			return OB_OK;
		r = ob_pkey_from_ed25519(pt, &pkey);
	} else if (strcmp(kty, "RSA") == 0) {
		if ((r = ob_json_only_members(jwk, rsa_members,
		    OB_ERR_JWK_INVALID)) != OB_OK ||
		    (r = jwk_optional(jwk, OB_KEY_RSA)) != OB_OK)
			return r;
		r = jwk_rsa(jwk, build, &pkey);
		if (!build)
			return r;
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

/*
 * RFC 7638 3.2: the required members in lexicographic order, no
 * whitespace, into buf (JWK_CANON_MAX bytes); *len is its length.  Values
 * that would need JSON escaping are refused, so the text is written
 * directly.  The thumbprint hashes this text, and the verdict hands it
 * out as the key's JWK: both come from one place.
 */
#define JWK_CANON_MAX	(2 * JWK_MAX_RSA + 256)

static int
jwk_canon(const json_t *jwk, char buf[JWK_CANON_MAX], size_t *len)
{
	static const char *const ec_req[] = { "crv", "kty", "x", "y", NULL };
	static const char *const okp_req[] = { "crv", "kty", "x", NULL };
	static const char *const rsa_req[] = { "e", "kty", "n", NULL };
	const char *const *req;
	const char	*kty, *v;
	size_t		 i, n = 0, vlen;
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
	buf[n++] = '{';
	for (i = 0; req[i] != NULL; i++) {
		if ((r = ob_json_get_str(jwk, req[i], 1, 2 * JWK_MAX_RSA,
		    OB_ERR_JWK_INVALID, OB_ERR_JWK_INVALID, &v)) != OB_OK)
			return r;
		vlen = strlen(v);
		if (strcspn(v, "\"\\") != vlen || n + vlen + 16 > JWK_CANON_MAX)
			return ob_errf(OB_ERR_JWK_INVALID, "\"%s\" is not a "
			    "plain string", req[i]);
		n += (size_t)snprintf(buf + n, JWK_CANON_MAX - n,
		    "%s\"%s\":\"%s\"", i == 0 ? "" : ",", req[i], v);
		for (; *v != '\0'; v++)
			if ((unsigned char)*v < 0x20)
				return ob_errf(OB_ERR_JWK_INVALID, "control "
				    "character in \"%s\"", req[i]);
	}
	buf[n++] = '}';
	*len = n;
	return OB_OK;
}

int
ob_jwk_thumbprint(const json_t *jwk, char out[44])
{
	char		 buf[JWK_CANON_MAX], *t = NULL;
	size_t		 n;
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	int		 r;

	if ((r = jwk_canon(jwk, buf, &n)) != OB_OK ||
	    (r = ob_sha256(buf, n, md)) != OB_OK ||
	    (r = ob_b64url_encode(md, sizeof(md), &t)) != OB_OK)
		return r;
	memcpy(out, t, 44);
	free(t);
	return OB_OK;
}

int
ob_jwk_canonical(const json_t *jwk, char **out)
{
	char	 buf[JWK_CANON_MAX], *t;
	size_t	 n;
	int	 r;

	if ((r = jwk_canon(jwk, buf, &n)) != OB_OK)
		return r;
	if ((t = malloc(n + 1)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(t, buf, n);
	t[n] = '\0';
	*out = t;
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
