/*
 * TPM key attestation, verifier side (docs/tpm2.md, "Attestation").
 *
 * Checks a TPM2_Certify made by `ownerbind attest` without tpm2-tss: the
 * TPM structures are parsed through core/buf.h (every length capped,
 * no trailing bytes) and the attested name is built and compared whole.
 */
#ifndef OB_VERIFY_TPM_ATTEST_H
#define OB_VERIFY_TPM_ATTEST_H

#include <stddef.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"

#define OB_TPM_ATTEST_MAX	1024	/* a TPMS_ATTEST is far smaller */
#define OB_TPM_PUBLIC_MAX	1024	/* TPMT_PUBLIC of RSA-4096 fits */
#define OB_TPM_NONCE_MAX	64	/* TPM2B_DATA */

/*
 * Verify TPM evidence that key_pub lives in a TPM:
 *   attest       TPMS_ATTEST as signed by the TPM
 *   sig_der      the attestation key's ECDSA P-256/SHA-256 signature, DER
 *   tpmt_public  the certified key's TPMT_PUBLIC (marshalled)
 *   ak_pub       the attestation key from the trust store (EC P-256)
 *   nonce        the nonce this verifier issued for this attestation
 *   key_pub      the key being enrolled (from its JWK)
 * Checks, in order: structures well-formed (magic TPM_GENERATED_VALUE,
 * type TPM_ST_ATTEST_CERTIFY), the AK's signature over attest, extraData
 * == nonce, attested name == nameAlg || H(tpmt_public), tpmt_public's key
 * == key_pub, and its attributes (fixedTPM, fixedParent,
 * sensitiveDataOrigin, sign, not restricted).
 * Returns OB_OK, or exactly one of OB_ERR_ATTEST_INVALID (malformed, or
 * the key is not TPM-generated and TPM-bound), OB_ERR_ATTEST_UNTRUSTED
 * (not signed by ak_pub), OB_ERR_ATTEST_NONCE (another nonce),
 * OB_ERR_ATTEST_KEY_MISMATCH (it certifies another key), OB_ERR_ALLOC,
 * OB_ERR_CRYPTO; the detail says which check failed.
 */
int ob_tpm_attest_verify(const unsigned char *attest, size_t attest_len,
    const unsigned char *sig_der, size_t sig_len,
    const unsigned char *tpmt_public, size_t pub_len, EVP_PKEY *ak_pub,
    const unsigned char *nonce, size_t nonce_len, EVP_PKEY *key_pub) OB_WUR;

#endif
