/*
 * TPM2_Certify of a signing key by a restricted attestation key, with the
 * verifier's nonce as qualifying data (docs/tpm2.md, "Attestation").  The
 * verifier (server-verify/tpm_attest.c) checks the result without
 * tpm2-tss; the AK's signature is also checked here before it is handed
 * out, as with every fresh signature from a token.
 */
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "core/err.h"
#include "tokens/tpm2/tpm2.h"
#include "tokens/tpm2/tpm2_int.h"

int
tpm2_certify(struct tpm2_ctx *ctx, struct tpm2_key *key, struct tpm2_key *ak,
    const unsigned char *nonce, size_t nonce_len, struct ob_tpm2_evidence *ev)
{
	TPM2B_DATA	 qd;
	TPMT_SIG_SCHEME	 scheme;
	TPM2B_ATTEST	*info = NULL;
	TPMT_SIGNATURE	*sig = NULL;
	unsigned char	 rs[64], *der = NULL, *att = NULL, *pub = NULL;
	size_t		 derlen = 0, publen = 0;
	TSS2_RC		 rc;
	int		 r;

	memset(&qd, 0, sizeof(qd));
	memset(&scheme, 0, sizeof(scheme));
	if (nonce_len == 0 || nonce_len > sizeof(qd.buffer))
		return ob_errf(OB_ERR_INVALID_ARG, "nonce of %zu bytes",
		    nonce_len);
	qd.size = (UINT16)nonce_len;
	memcpy(qd.buffer, nonce, nonce_len);
	scheme.scheme = TPM2_ALG_ECDSA;
	scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	if ((rc = Esys_Certify(ctx->esys, key->tr, ak->tr,
	    key->session != ESYS_TR_NONE ? key->session : ESYS_TR_PASSWORD,
	    ak->session != ESYS_TR_NONE ? ak->session : ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, &qd, &scheme, &info, &sig)) !=
	    TSS2_RC_SUCCESS)
		return tpm2_rc(ctx, rc, "TPM2_Certify");
	if (info == NULL || info->size == 0 ||
	    info->size > sizeof(info->attestationData) || sig == NULL ||
	    sig->sigAlg != TPM2_ALG_ECDSA ||
	    sig->signature.ecdsa.hash != TPM2_ALG_SHA256) {
		r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "TPM2_Certify returned an "
		    "unexpected structure");
		goto out;
	}
	OB_TRY(tpm2_ecdsa_rs(sig, 32, rs));
	if ((r = ob_sig_verify(OB_ALG_ES256, ev->ak_pub, info->attestationData,
	    info->size, rs, sizeof(rs))) != OB_OK) {
		r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "the attestation key's "
		    "signature does not verify");
		goto out;
	}
	OB_TRY(ob_ecdsa_rs_to_der(rs, sizeof(rs), &der, &derlen));
	if ((att = malloc(info->size)) == NULL ||
	    (pub = malloc(sizeof(TPMT_PUBLIC))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(att, info->attestationData, info->size);
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&key->pub.publicArea, pub,
	    sizeof(TPMT_PUBLIC), &publen) != TSS2_RC_SUCCESS) {
		r = ob_errf(OB_ERR_INTERNAL, "marshalling TPMT_PUBLIC");
		goto out;
	}
	ev->attest = att;
	ev->attest_len = info->size;
	ev->sig = der;
	ev->sig_len = derlen;
	ev->pub = pub;
	ev->pub_len = publen;
	att = der = pub = NULL;
	r = OB_OK;
out:
	free(att);
	free(der);
	free(pub);
	Esys_Free(info);
	Esys_Free(sig);
	return r;
}
