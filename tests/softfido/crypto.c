/*
 * Cryptographic primitives for softfido, on OpenSSL 3 EVP/provider APIs.
 * Every function returns 0 on success and -1 on failure and writes its
 * output only on success.
 */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "tests/softfido/sf_int.h"

#define P256_GROUP	"prime256v1"

void
sf_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

int
sf_random(void *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		return -1;
	return 0;
}

int
sf_sha256(const void *data, size_t len, uint8_t out[SF_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != SF_HASH_LEN)
		return -1;
	return 0;
}

int
sf_hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
    size_t data_len, uint8_t out[SF_HASH_LEN])
{
	unsigned int n = 0;

	if (key_len > INT_MAX || HMAC(EVP_sha256(), key, (int)key_len, data,
	    data_len, out, &n) == NULL || n != SF_HASH_LEN)
		return -1;
	return 0;
}

int
sf_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
    size_t ikm_len, const char *info, uint8_t *out, size_t out_len)
{
	EVP_KDF		*kdf = NULL;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 params[5];
	int		 r = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, salt_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)(uintptr_t)info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(ctx, out, out_len, params) != 1)
		goto out;
	r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r;
}

int
sf_aes256_cbc(bool encrypt, const uint8_t key[32], const uint8_t iv[16],
    const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	int		 n = 0, fin = 0;
	int		 r = -1;

	if (len == 0 || len % 16 != 0 || len > INT_MAX)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv,
	    encrypt ? 1 : 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + n, &fin) != 1 ||
	    (size_t)n + (size_t)fin != len)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int
gcm(bool seal, const uint8_t key[32], const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
    uint8_t *tag, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	int		 n = 0, fin = 0;
	int		 r = -1;

	if (len > INT_MAX || aad_len > INT_MAX)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce,
	    seal ? 1 : 0) != 1)
		goto out;
	if (!seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
	    tag) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    (size_t)n != len ||
	    EVP_CipherFinal_ex(ctx, out + n, &fin) != 1 || fin != 0)
		goto out;
	if (seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    tag) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (r != 0)
		sf_wipe(out, len);
	return r;
}

int
sf_aes256_gcm_seal(const uint8_t key[32], const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
    uint8_t *out, uint8_t tag[16])
{
	return gcm(true, key, nonce, aad, aad_len, in, len, tag, out);
}

int
sf_aes256_gcm_open(const uint8_t key[32], const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
    const uint8_t tag[16], uint8_t *out)
{
	uint8_t t[16];
	int r;

	memcpy(t, tag, sizeof(t));
	r = gcm(false, key, nonce, aad, aad_len, in, len, t, out);
	return r;
}

static EVP_PKEY *
p256_fromdata(int selection, const BIGNUM *d, const uint8_t pub[65])
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    P256_GROUP, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, 65) != 1 ||
	    (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
	    d) != 1) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		pkey = NULL;

	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);	/* clears the copy of d it holds */
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

EVP_PKEY *
sf_p256_from_scalar(const uint8_t scalar[32])
{
	EC_GROUP	*group = NULL;
	EC_POINT	*point = NULL;
	BN_CTX		*bnctx = NULL;
	BIGNUM		*d = NULL;
	EVP_PKEY	*pkey = NULL;
	uint8_t		 pub[65];

	if ((group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) ==
	    NULL || (bnctx = BN_CTX_new()) == NULL ||
	    (d = BN_secure_new()) == NULL ||
	    BN_bin2bn(scalar, 32, d) == NULL || BN_is_zero(d) ||
	    BN_cmp(d, EC_GROUP_get0_order(group)) >= 0 ||
	    (point = EC_POINT_new(group)) == NULL ||
	    EC_POINT_mul(group, point, d, NULL, NULL, bnctx) != 1 ||
	    EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED,
	    pub, sizeof(pub), bnctx) != sizeof(pub))
		goto out;
	pkey = p256_fromdata(EVP_PKEY_KEYPAIR, d, pub);
out:
	BN_clear_free(d);
	EC_POINT_free(point);
	BN_CTX_free(bnctx);
	EC_GROUP_free(group);
	return pkey;
}

EVP_PKEY *
sf_p256_from_xy(const uint8_t x[32], const uint8_t y[32])
{
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	uint8_t		 pub[65];

	pub[0] = 0x04;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	/* decoding the point checks that it lies on the curve; say so twice */
	if ((pkey = p256_fromdata(EVP_PKEY_PUBLIC_KEY, NULL, pub)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(ctx) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

int
sf_p256_generate(uint8_t d[32], EVP_PKEY **out)
{
	uint8_t		 s[32];
	EVP_PKEY	*pkey = NULL;

	/* rejection sampling: a random 256-bit string is >= n about 2^-32 */
	for (int i = 0; i < 16 && pkey == NULL; i++) {
		if (sf_random(s, sizeof(s)) != 0)
			break;
		pkey = sf_p256_from_scalar(s);
	}
	if (pkey == NULL) {
		sf_wipe(s, sizeof(s));
		return -1;
	}
	memcpy(d, s, sizeof(s));
	sf_wipe(s, sizeof(s));
	*out = pkey;
	return 0;
}

int
sf_p256_public(EVP_PKEY *pkey, uint8_t x[32], uint8_t y[32])
{
	uint8_t	pub[65];
	size_t	len = 0;

	if (EVP_PKEY_get_octet_string_param(pkey,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub), &len) != 1 ||
	    len != sizeof(pub) || pub[0] != 0x04)
		return -1;
	memcpy(x, pub + 1, 32);
	memcpy(y, pub + 33, 32);
	return 0;
}

int
sf_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[32])
{
	EVP_PKEY_CTX	*ctx = NULL;
	uint8_t		 buf[32];
	size_t		 len = sizeof(buf);
	int		 r = -1;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, buf, &len) != 1 || len != sizeof(buf))
		goto out;
	memcpy(z, buf, sizeof(buf));
	r = 0;
out:
	sf_wipe(buf, sizeof(buf));
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
sf_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len, uint8_t *sig,
    size_t *sig_len)
{
	EVP_MD_CTX	*ctx = NULL;
	const char	*md;
	size_t		 len = *sig_len;
	int		 r = -1;

	/* EdDSA signs the message itself; ES256 signs its SHA-256 */
	md = EVP_PKEY_is_a(pkey, "ED25519") ? NULL : "SHA256";
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey,
	    NULL) != 1 ||
	    EVP_DigestSign(ctx, sig, &len, msg, msg_len) != 1)
		goto out;
	*sig_len = len;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}
