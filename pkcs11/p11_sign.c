/*
 * One PKCS#11 signature in the JWS encoding (RFC 7518 section 3):
 *   ES256/ES384  SHA-256/384 here, then CKM_ECDSA: raw R||S of exactly 2n
 *   EdDSA        CKM_EDDSA over the whole signing input: 64 bytes
 *   PS256        SHA-256 here, then CKM_RSA_PKCS_PSS with
 *                {CKM_SHA256, CKG_MGF1_SHA256, 32}: modulus-sized
 * The token's output is untrusted; its length is checked here and the
 * signature itself is verified by the caller (tokens/token.c, or the pool
 * with OB_P11_VERIFY).
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"

int
p11_sign_once(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE key, enum ob_alg alg, size_t rsabytes,
    const unsigned char *msg, size_t msglen,
    int (*ctxlogin)(void *, CK_SESSION_HANDLE), void *arg,
    unsigned char *sig, size_t *siglen, CK_RV *rv, const char **fn)
{
	CK_RSA_PKCS_PSS_PARAMS	 pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM		 mech = { CKM_ECDSA, NULL, 0 };
	unsigned char		 md[EVP_MAX_MD_SIZE];
	const unsigned char	*in = msg;
	unsigned int		 mdlen;
	CK_ULONG		 inlen = (CK_ULONG)msglen, outlen;
	size_t			 want;
	int			 r;

	*rv = CKR_OK;
	switch (alg) {
	case OB_ALG_ES256:
	case OB_ALG_ES384:
		want = alg == OB_ALG_ES256 ? 64 : 96;
		break;
	case OB_ALG_EDDSA:
		mech.mechanism = CKM_EDDSA;
		want = 64;
		break;
	case OB_ALG_PS256:
		mech.mechanism = CKM_RSA_PKCS_PSS;
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
		want = rsabytes;
		break;
	default:
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "%s with PKCS#11",
		    ob_alg_name(alg));
	}
	if (want > *siglen)
		return ob_errf(OB_ERR_INTERNAL, "signature buffer too small");
	if (ob_alg_md(alg) != NULL) {
		if (EVP_Digest(msg, msglen, md, &mdlen, ob_alg_md(alg),
		    NULL) != 1)
			return ob_errf(OB_ERR_CRYPTO, "EVP_Digest");
		in = md;
		inlen = mdlen;
	}
	if ((*rv = f->C_SignInit(s, &mech, key)) != CKR_OK) {
		*fn = "C_SignInit";
		return OB_ERR_DEVICE;
	}
	if (ctxlogin != NULL && (r = ctxlogin(arg, s)) != OB_OK)
		return r;
	outlen = (CK_ULONG)*siglen;
	if ((*rv = f->C_Sign(s, (CK_BYTE *)(uintptr_t)in, inlen, sig,
	    &outlen)) != CKR_OK) {
		*fn = "C_Sign";
		return OB_ERR_DEVICE;
	}
	if (outlen != want)
		return ob_errf(OB_ERR_TOKEN_SIG_BAD, "%s returned %lu bytes, not "
		    "%zu", p11_mech_name(mech.mechanism),
		    (unsigned long)outlen, want);
	*siglen = (size_t)outlen;
	return OB_OK;
}
