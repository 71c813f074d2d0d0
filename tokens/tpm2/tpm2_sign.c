/*
 * TPM2_Sign for JWS: the signing input is hashed here (the key is
 * unrestricted, so no hash ticket is needed) and the TPM's TPMT_SIGNATURE
 * is checked and re-encoded: ES256/ES384 as R||S with each half
 * left-padded to the curve size (RFC 7518 section 3.4), PS256 as the
 * modulus-sized PSS block.  token.c then verifies the result against the
 * public key before it is used.
 */
#include <string.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/buf.h"
#include "core/err.h"
#include "tokens/tpm2/tpm2_int.h"

int
tpm2_ecdsa_rs(const TPMT_SIGNATURE *s, size_t n, unsigned char *rs)
{
	const TPMS_SIGNATURE_ECC *e = &s->signature.ecdsa;
	struct ob_wr		 w;

	/* Untrusted: each half is 1..n bytes. */
	if (e->signatureR.size == 0 || e->signatureS.size == 0 ||
	    e->signatureR.size > n || e->signatureS.size > n)
		return ob_errf(OB_ERR_TOKEN_SIG_BAD, "TPM ECDSA r/s of %u/%u "
		    "bytes for a %zu-byte curve", e->signatureR.size,
		    e->signatureS.size, n);
	/* R || S, each left-padded to n bytes. */
	ob_wr_init_fixed(&w, rs, 2 * n);
	if (ob_wr_reserve(&w, n - e->signatureR.size) == NULL ||
	    ob_wr_bytes(&w, e->signatureR.buffer, e->signatureR.size) !=
	    OB_OK || ob_wr_reserve(&w, n - e->signatureS.size) == NULL ||
	    ob_wr_bytes(&w, e->signatureS.buffer, e->signatureS.size) != OB_OK)
		return ob_wr_err(&w);
	return OB_OK;
}

/*
 * PS256 (RFC 7518 section 3.5) needs a salt as long as the hash.  A TPM
 * that follows FIPS 186-4 (libtpms/swtpm does) uses exactly that; others
 * use the largest salt the key allows, which no JOSE library accepts.
 * Tell the two apart so the user learns it is the TPM, not a bad key.
 */
static int
pss_salt_check(EVP_PKEY *pub, const TPM2B_DIGEST *d, const unsigned char *sig,
    size_t siglen)
{
	EVP_PKEY_CTX	*ctx;
	int		 salt[2] = { 32, RSA_PSS_SALTLEN_AUTO }, i, ok[2] = { 0, 0 };

	for (i = 0; i < 2; i++) {
		if ((ctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL)
			return OB_ERR_ALLOC;
		ok[i] = EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) ==
		    1 && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt[i]) == 1 &&
		    EVP_PKEY_verify(ctx, sig, siglen, d->buffer, d->size) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	if (ok[0])
		return OB_OK;
	if (ok[1])
		return ob_errf(OB_ERR_MECH_UNSUPPORTED, "this TPM makes RSA-PSS "
		    "signatures with a salt longer than 32 bytes, which PS256 "
		    "does not allow; use an ES256 or ES384 TPM key");
	return ob_errf(OB_ERR_TOKEN_SIG_BAD, "the TPM's PSS signature does "
	    "not verify");
}

int
tpm2_sign_jws(struct tpm2_ctx *ctx, struct tpm2_key *key, EVP_PKEY *pub,
    enum ob_alg alg, const unsigned char *msg, size_t msglen, unsigned char **sig,
    size_t *siglen)
{
	TPM2B_DIGEST		 digest;
	TPMT_SIG_SCHEME		 scheme;
	TPMT_TK_HASHCHECK	 ticket;
	TPMT_SIGNATURE		*ts = NULL;
	const EVP_MD		*md = ob_alg_md(alg);
	TPMI_ALG_HASH		 hash;
	unsigned char		*out = NULL;
	unsigned int		 dlen = 0;
	size_t			 n, modlen;
	TSS2_RC			 rc;
	int			 r;

	if (md == NULL || ob_alg_is_webauthn(alg) || alg == OB_ALG_EDDSA)
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "TPM keys sign ES256, "
		    "ES384 or PS256");
	hash = alg == OB_ALG_ES384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256;
	memset(&digest, 0, sizeof(digest));
	memset(&scheme, 0, sizeof(scheme));
	memset(&ticket, 0, sizeof(ticket));
	if (EVP_Digest(msg, msglen, digest.buffer, &dlen, md, NULL) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_Digest");
	digest.size = (UINT16)dlen;
	if (alg == OB_ALG_PS256) {
		scheme.scheme = TPM2_ALG_RSAPSS;
		scheme.details.rsapss.hashAlg = hash;
	} else {
		scheme.scheme = TPM2_ALG_ECDSA;
		scheme.details.ecdsa.hashAlg = hash;
	}
	ticket.tag = TPM2_ST_HASHCHECK;
	ticket.hierarchy = TPM2_RH_NULL;
	if ((rc = Esys_Sign(ctx->esys, key->tr, key->session != ESYS_TR_NONE ?
	    key->session : ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &ticket, &ts)) !=
	    TSS2_RC_SUCCESS)
		return tpm2_rc(ctx, rc, "TPM2_Sign");
	if (ts == NULL || ts->sigAlg != scheme.scheme) {
		r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "the TPM answered with "
		    "signature scheme 0x%04x", ts == NULL ? 0 : ts->sigAlg);
		goto out;
	}
	if (alg == OB_ALG_PS256) {
		modlen = key->pub.publicArea.unique.rsa.size;
		if (ts->signature.rsapss.hash != hash ||
		    ts->signature.rsapss.sig.size != modlen || modlen == 0) {
			r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "TPM PSS signature of "
			    "%u bytes for a %zu-byte modulus",
			    ts->signature.rsapss.sig.size, modlen);
			goto out;
		}
		if ((out = malloc(modlen)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		memcpy(out, ts->signature.rsapss.sig.buffer, modlen);
		n = modlen;
		if ((r = pss_salt_check(pub, &digest, out, n)) != OB_OK)
			goto out;
	} else {
		if (ts->signature.ecdsa.hash != hash) {
			r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "TPM ECDSA hash 0x%04x",
			    ts->signature.ecdsa.hash);
			goto out;
		}
		n = ob_alg_sigsize(alg);
		if ((out = malloc(n)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		if ((r = tpm2_ecdsa_rs(ts, n / 2, out)) != OB_OK)
			goto out;
	}
	*sig = out;
	*siglen = n;
	out = NULL;
	r = OB_OK;
out:
	free(out);
	Esys_Free(ts);
	return r;
}
