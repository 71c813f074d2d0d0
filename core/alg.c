#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "core/alg.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/pkey.h"

struct alg_row {
	enum ob_alg	 alg;
	const char	*name;
	enum ob_keykind	 kind;
	size_t		 sigsize;
};

/* docs/envelope.md, "Algorithms": this table is the whole allow-list. */
static const struct alg_row alg_rows[] = {
	{ OB_ALG_ES256, "ES256", OB_KEY_P256, 64 },
	{ OB_ALG_ES384, "ES384", OB_KEY_P384, 96 },
	{ OB_ALG_EDDSA, "EdDSA", OB_KEY_ED25519, 64 },
	{ OB_ALG_PS256, "PS256", OB_KEY_RSA, 0 },
	{ OB_ALG_WEBAUTHN_ES256, "webauthn-es256", OB_KEY_P256, 0 },
	{ OB_ALG_WEBAUTHN_EDDSA, "webauthn-eddsa", OB_KEY_ED25519, 64 },
};

/* The bounds of the key decoder (pkey.h), for keys OpenSSL made. */
#define RSA_MIN_BITS	OB_RSA_MIN_BITS
#define RSA_MAX_BITS	OB_RSA_MAX_BITS

static const struct alg_row *
alg_row(enum ob_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(alg_rows) / sizeof(alg_rows[0]); i++)
		if (alg_rows[i].alg == alg)
			return &alg_rows[i];
	return NULL;
}

int
ob_alg_from_name(const char *name, enum ob_alg *out)
{
	size_t i;

	for (i = 0; i < sizeof(alg_rows) / sizeof(alg_rows[0]); i++)
		if (strcmp(name, alg_rows[i].name) == 0) {
			*out = alg_rows[i].alg;
			return OB_OK;
		}
	if (strcmp(name, "none") == 0 || strncmp(name, "HS", 2) == 0)
		return ob_errf(OB_ERR_ALG_FORBIDDEN, "alg \"%.32s\"", name);
	return ob_errf(OB_ERR_ALG_UNSUPPORTED, "alg \"%.32s\"", name);
}

const char *
ob_alg_name(enum ob_alg alg)
{
	const struct alg_row *r = alg_row(alg);

	return r == NULL ? "invalid" : r->name;
}

int
ob_alg_is_webauthn(enum ob_alg alg)
{
	return alg == OB_ALG_WEBAUTHN_ES256 || alg == OB_ALG_WEBAUTHN_EDDSA;
}

enum ob_keykind
ob_alg_keykind(enum ob_alg alg)
{
	const struct alg_row *r = alg_row(alg);

	return r == NULL ? 0 : r->kind;
}

size_t
ob_alg_sigsize(enum ob_alg alg)
{
	const struct alg_row *r = alg_row(alg);

	return r == NULL ? 0 : r->sigsize;
}

const EVP_MD *
ob_alg_md(enum ob_alg alg)
{
	switch (alg) {
	case OB_ALG_ES256:
	case OB_ALG_PS256:
	case OB_ALG_WEBAUTHN_ES256:
		return EVP_sha256();
	case OB_ALG_ES384:
		return EVP_sha384();
	default:
		return NULL;
	}
}

int
ob_key_kind(const EVP_PKEY *pkey, enum ob_keykind *out)
{
	char	group[32];
	int	bits;

	*out = 0;	/* no kind until one is known */
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return ob_errf(OB_ERR_KEY_TYPE, "EC key without group");
		if (strcmp(group, SN_X9_62_prime256v1) == 0) {
			*out = OB_KEY_P256;
			return OB_OK;
		}
		if (strcmp(group, SN_secp384r1) == 0) {
			*out = OB_KEY_P384;
			return OB_OK;
		}
		return ob_errf(OB_ERR_KEY_TYPE, "EC curve %s", group);
	case EVP_PKEY_ED25519:
		*out = OB_KEY_ED25519;
		return OB_OK;
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return ob_errf(OB_ERR_KEY_TYPE,
			    "RSA key of %d bits (allowed %d..%d)", bits,
			    RSA_MIN_BITS, RSA_MAX_BITS);
		*out = OB_KEY_RSA;
		return OB_OK;
	default:
		return ob_errf(OB_ERR_KEY_TYPE, "unsupported key type");
	}
}

enum ob_alg
ob_alg_for_key(const EVP_PKEY *pkey)
{
	enum ob_keykind k;

	if (ob_key_kind(pkey, &k) != OB_OK)
		return OB_ALG_INVALID;
	switch (k) {
	case OB_KEY_P256:
		return OB_ALG_ES256;
	case OB_KEY_P384:
		return OB_ALG_ES384;
	case OB_KEY_ED25519:
		return OB_ALG_EDDSA;
	case OB_KEY_RSA:
		return OB_ALG_PS256;
	}
	return OB_ALG_INVALID;
}

int
ob_alg_check_key(enum ob_alg alg, const EVP_PKEY *pkey)
{
	enum ob_keykind	k;
	int		r;

	if ((r = ob_key_kind(pkey, &k)) != OB_OK)
		return r;
	if (k != ob_alg_keykind(alg))
		return ob_errf(OB_ERR_KEY_TYPE, "key does not fit %s",
		    ob_alg_name(alg));
	return OB_OK;
}

/* One DER INTEGER for the unsigned big-endian value v holds (all of it):
 * leading zeros dropped but one, 00 in front of a high bit. */
static int
der_uint(struct ob_rd *v, struct ob_wr *w)
{
	const uint8_t	*p;
	size_t		 n;
	uint8_t		 b = 0;
	int		 r;

	while (ob_rd_left(v) > 1 && ob_rd_peek_u8(v, &b) == OB_OK && b == 0)
		if ((r = ob_rd_skip(v, 1)) != OB_OK)
			return r;
	if ((r = ob_rd_peek_u8(v, &b)) != OB_OK ||
	    (r = ob_rd_rest(v, &p, &n)) != OB_OK ||
	    (r = ob_wr_u8(w, 0x02)) != OB_OK ||
	    (r = ob_wr_u8(w, (uint8_t)(n + (b >> 7)))) != OB_OK ||
	    ((b & 0x80) != 0 && (r = ob_wr_u8(w, 0x00)) != OB_OK) ||
	    (r = ob_wr_bytes(w, p, n)) != OB_OK)
		return r;
	return OB_OK;
}

/*
 * ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279), built
 * directly: this runs for every ES* verification, and the BIGNUM route
 * allocated five objects for 72 bytes.
 */
/*
 * The verify path's key check: type and size only.  Every key that
 * reaches a verification was built from a JWK (P-256/P-384, Ed25519, RSA)
 * or passed ob_alg_check_key when it was loaded, so the curve-name lookup
 * is not repeated per signature.
 */
static int
alg_fits_fast(enum ob_alg alg, const EVP_PKEY *pkey)
{
	int id = EVP_PKEY_get_base_id(pkey), bits = EVP_PKEY_get_bits(pkey);
	int ok;

	switch (ob_alg_keykind(alg)) {
	case OB_KEY_P256:
		ok = id == EVP_PKEY_EC && bits == 256;
		break;
	case OB_KEY_P384:
		ok = id == EVP_PKEY_EC && bits == 384;
		break;
	case OB_KEY_ED25519:
		ok = id == EVP_PKEY_ED25519;
		break;
	case OB_KEY_RSA:
		ok = (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) &&
		    bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS;
		break;
	default:
		ok = 0;
	}
	return ok ? OB_OK : ob_errf(OB_ERR_KEY_TYPE, "key does not fit %s",
	    ob_alg_name(alg));
}

int
ob_ecdsa_rs_to_der(const unsigned char *rs, size_t rslen,
    unsigned char **der, size_t *derlen)
{
	struct ob_rd	 in, half;
	struct ob_wr	 body, out;
	unsigned char	 b[2 * (3 + 66)];
	int		 r;

	if (rslen == 0 || rslen % 2 != 0 || rslen > 132)
		return ob_errf(OB_ERR_SIG_FORMAT, "R||S of %zu bytes", rslen);
	ob_rd_init(&in, rs, rslen);
	ob_wr_init_fixed(&body, b, sizeof(b));
	ob_wr_init_heap(&out, 3 + sizeof(b));
	OB_TRY(ob_rd_sub(&in, rslen / 2, &half));
	OB_TRY(der_uint(&half, &body));
	OB_TRY(ob_rd_sub(&in, rslen / 2, &half));
	OB_TRY(der_uint(&half, &body));
	/* SEQUENCE, in short or 81 form (the body is at most 138 bytes) */
	OB_TRY(ob_wr_u8(&out, 0x30));
	if (ob_wr_len(&body) >= 0x80)
		OB_TRY(ob_wr_u8(&out, 0x81));
	OB_TRY(ob_wr_u8(&out, (uint8_t)ob_wr_len(&body)));
	OB_TRY(ob_wr_bytes(&out, ob_wr_ptr(&body), ob_wr_len(&body)));
	OB_TRY(ob_wr_take(&out, der, derlen));
	r = OB_OK;
out:
	ob_wr_free(&body);
	ob_wr_free(&out);
	return r;
}

int
ob_ecdsa_der_to_rs(const unsigned char *der, size_t derlen, size_t n,
    unsigned char **rs, size_t *rslen)
{
	ECDSA_SIG		*s = NULL;
	const BIGNUM		*br, *bs;
	const unsigned char	*p = der;
	unsigned char		*o = NULL, *re = NULL;
	size_t			 relen;
	int			 r = OB_ERR_SIG_FORMAT;

	if (derlen > 2 * n + 16 || (s = d2i_ECDSA_SIG(NULL, &p,
	    (long)derlen)) == NULL || p != der + derlen) {
		r = ob_errf(OB_ERR_SIG_FORMAT, "bad DER ECDSA signature");
		goto out;
	}
	ECDSA_SIG_get0(s, &br, &bs);
	if (BN_is_negative(br) || BN_is_negative(bs) ||
	    (size_t)BN_num_bytes(br) > n || (size_t)BN_num_bytes(bs) > n) {
		r = ob_errf(OB_ERR_SIG_FORMAT, "ECDSA integer too long");
		goto out;
	}
	if ((o = malloc(2 * n)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (BN_bn2binpad(br, o, (int)n) < 0 ||
	    BN_bn2binpad(bs, o + n, (int)n) < 0)
		goto out;
	/* Only the canonical DER encoding is accepted. */
	if ((r = ob_ecdsa_rs_to_der(o, 2 * n, &re, &relen)) != OB_OK)
		goto out;
	if (relen != derlen || memcmp(re, der, derlen) != 0) {
		r = ob_errf(OB_ERR_SIG_FORMAT, "non-canonical DER signature");
		goto out;
	}
	*rs = o;
	*rslen = 2 * n;
	o = NULL;
	r = OB_OK;
out:
	free(re);
	free(o);
	ECDSA_SIG_free(s);
	return r;
}

static int
sig_pss_params(EVP_PKEY_CTX *pctx)
{
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
		return ob_errf(OB_ERR_CRYPTO, "PSS parameters");
	return OB_OK;
}

int
ob_sig_verify(enum ob_alg alg, EVP_PKEY *pkey, const unsigned char *msg,
    size_t msglen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*der = NULL;
	size_t		 derlen, want = ob_alg_sigsize(alg);
	int		 r;

	if ((r = alg_fits_fast(alg, pkey)) != OB_OK)
		return r;
	if (want != 0 && siglen != want)
		return ob_errf(OB_ERR_SIG_FORMAT, "%s signature of %zu bytes",
		    ob_alg_name(alg), siglen);
	switch (alg) {
	case OB_ALG_ES256:
	case OB_ALG_ES384:
		if ((r = ob_ecdsa_rs_to_der(sig, siglen, &der,
		    &derlen)) != OB_OK)
			return r;
		sig = der;
		siglen = derlen;
		break;
	case OB_ALG_WEBAUTHN_ES256:
		if (siglen < 8 || siglen > 72)
			return ob_errf(OB_ERR_SIG_FORMAT,
			    "DER signature of %zu bytes", siglen);
		break;
	case OB_ALG_PS256:
		if (siglen != (size_t)EVP_PKEY_get_size(pkey))
			return ob_errf(OB_ERR_SIG_FORMAT,
			    "PS256 signature of %zu bytes", siglen);
		break;
	default:
		break;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, &pctx, ob_alg_md(alg), NULL,
	    pkey) != 1) {
		r = ob_errf(OB_ERR_CRYPTO, "EVP_DigestVerifyInit");
		goto out;
	}
	if (alg == OB_ALG_PS256 && (r = sig_pss_params(pctx)) != OB_OK)
		goto out;
	if (EVP_DigestVerify(ctx, sig, siglen, msg, msglen) != 1) {
		r = OB_ERR_SIG_INVALID;
		goto out;
	}
	r = OB_OK;
out:
	EVP_MD_CTX_free(ctx);
	free(der);
	return r;
}

int
ob_sig_sign(enum ob_alg alg, EVP_PKEY *pkey, const unsigned char *msg,
    size_t msglen, unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*s = NULL, *rs = NULL;
	size_t		 slen = 0, rslen;
	int		 r;

	if (ob_alg_is_webauthn(alg))
		return ob_errf(OB_ERR_INVALID_ARG, "webauthn algs need a "
		    "FIDO2 authenticator");
	if ((r = ob_alg_check_key(alg, pkey)) != OB_OK)
		return r;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestSignInit(ctx, &pctx, ob_alg_md(alg), NULL, pkey) != 1) {
		r = ob_errf(OB_ERR_CRYPTO, "EVP_DigestSignInit");
		goto out;
	}
	if (alg == OB_ALG_PS256 && (r = sig_pss_params(pctx)) != OB_OK)
		goto out;
	if (EVP_DigestSign(ctx, NULL, &slen, msg, msglen) != 1 ||
	    (s = malloc(slen)) == NULL ||
	    EVP_DigestSign(ctx, s, &slen, msg, msglen) != 1) {
		r = ob_errf(OB_ERR_CRYPTO, "EVP_DigestSign");
		goto out;
	}
	if (alg == OB_ALG_ES256 || alg == OB_ALG_ES384) {
		if ((r = ob_ecdsa_der_to_rs(s, slen, ob_alg_sigsize(alg) / 2,
		    &rs, &rslen)) != OB_OK)
			goto out;
		free(s);
		s = rs;
		slen = rslen;
	}
	*sig = s;
	*siglen = slen;
	s = NULL;
	r = OB_OK;
out:
	free(s);
	EVP_MD_CTX_free(ctx);
	return r;
}

static EVP_MD		*sha256_md;
static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

int
ob_sha256(const void *buf, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	if (pthread_once(&sha256_once, sha256_fetch) != 0 ||
	    sha256_md == NULL ||
	    EVP_Digest(buf, n, out, &len, sha256_md, NULL) != 1 || len != 32)
		return ob_errf(OB_ERR_CRYPTO, "SHA-256 failed");
	return OB_OK;
}
