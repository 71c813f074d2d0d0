/*
 * libFuzzer harness: the verifier's TPM2_Certify check
 * (server-verify/tpm_attest.c), through ob_tpm_attest_verify.  The input
 * is read with core/buf.h:
 *
 *   u8 kind (0 P-256, 1 P-384, 2 RSA) | u16 n, TPMS_ATTEST |
 *   u16 n, TPMT_PUBLIC | u8 n, nonce | the enrolled key: 04||X||Y, or
 *   the RSA modulus (e = 65537)
 *
 * The harness signs the TPMS_ATTEST with its own attestation key, so a
 * mutated structure gets past the signature to the nonce, name, key and
 * attribute checks.  The result must be one of the codes the header
 * lists.
 *
 *   fuzz-tpm_attest -max_total_time=600 -max_len=2048 \
 *       -dict=tpm_attest.dict NEW corpus/tpm_attest
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/pkey.h"
#include "server-verify/tpm_attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY	*ak;

static int
sign(const uint8_t *msg, size_t len, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ak) == 1 &&
	    EVP_DigestSign(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static EVP_PKEY *
enrolled(uint8_t kind, const uint8_t *p, size_t n)
{
	static const unsigned char	 e[] = { 0x01, 0x00, 0x01 };
	EVP_PKEY			*k = NULL;
	int				 r;

	switch (kind % 3) {
	case 0:
		r = ob_pkey_from_ec_point(OB_KEY_P256, p, n, &k);
		break;
	case 1:
		r = ob_pkey_from_ec_point(OB_KEY_P384, p, n, &k);
		break;
	default:
		r = ob_pkey_from_rsa(p, n, e, sizeof(e), &k);
		break;
	}
	return r == OB_OK ? k : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_rd	 rd;
	const uint8_t	*att, *pub, *nonce, *key;
	size_t		 attlen, publen, noncelen, keylen, siglen;
	unsigned char	 sig[80];
	EVP_PKEY	*k;
	uint8_t		 kind;
	int		 r;

	if (ak == NULL &&
	    (ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	ob_rd_init(&rd, data, size);
	if (ob_rd_u8(&rd, &kind) != OB_OK ||
	    ob_rd_lv16(&rd, 4096, &att, &attlen) != OB_OK ||
	    ob_rd_lv16(&rd, 4096, &pub, &publen) != OB_OK ||
	    ob_rd_lv8(&rd, 255, &nonce, &noncelen) != OB_OK ||
	    ob_rd_rest(&rd, &key, &keylen) != OB_OK)
		return 0;
	if ((k = enrolled(kind, key, keylen)) == NULL)
		return 0;
	siglen = sizeof(sig);
	if (!sign(att, attlen, sig, &siglen))
		abort();
	r = ob_tpm_attest_verify(att, attlen, sig, siglen, pub, publen, ak,
	    nonce, noncelen, k);
	switch (r) {
	case OB_OK:
	case OB_ERR_ATTEST_INVALID:
	case OB_ERR_ATTEST_UNTRUSTED:
	case OB_ERR_ATTEST_NONCE:
	case OB_ERR_ATTEST_KEY_MISMATCH:
	case OB_ERR_ALLOC:
	case OB_ERR_CRYPTO:
		break;
	default:
		abort();	/* a code the header does not promise */
	}
	EVP_PKEY_free(k);
	return 0;
}
