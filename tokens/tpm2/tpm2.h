/*
 * TPM 2.0 key attestation, owner side (docs/tpm2.md, "Attestation").
 * The signing backend itself is ob_tpm2_ops in token.h; these calls exist
 * for `ownerbind attest`, which needs two keys on one TPM at once.
 *
 * Ownership: outputs are written only on success; evidence buffers are
 * freed with ob_tpm2_evidence_free.
 */
#ifndef OB_TOKENS_TPM2_H
#define OB_TOKENS_TPM2_H

#include <stddef.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "tokens/token.h"

/* The most qualifying data TPM2_Certify takes (a TPM2B_DATA). */
#define OB_TPM2_NONCE_MAX	64

struct ob_tpm2_evidence {
	unsigned char	*attest;	/* TPMS_ATTEST as the TPM signed it */
	size_t		 attest_len;
	unsigned char	*sig;		/* the AK's ECDSA signature, DER */
	size_t		 sig_len;
	unsigned char	*pub;		/* the key's TPMT_PUBLIC, marshalled */
	size_t		 pub_len;
	EVP_PKEY	*key_pub;	/* the certified key */
	EVP_PKEY	*ak_pub;	/* the attestation key */
};

/*
 * Create a restricted ECC P-256 signing key (null symmetric, ECDSA-SHA256)
 * at a tpm2: URI, to serve as attestation key.  OB_ERR_KEY_EXISTS if the
 * file or handle is taken.
 */
int ob_tpm2_ak_create(const char *uri, const struct ob_token_opts *opts)
    OB_WUR;

/* The public key of the attestation key at uri (checked restricted). */
int ob_tpm2_ak_pubkey(const char *uri, const struct ob_token_opts *opts,
    EVP_PKEY **out) OB_WUR;

/*
 * TPM2_Certify the key at key_uri with the attestation key at ak_uri
 * (both on the same TPM: the same TCTI), qualifyingData = nonce (1..64
 * bytes).  Every transient handle is flushed before return.
 */
int ob_tpm2_certify(const char *key_uri, const char *ak_uri,
    const struct ob_token_opts *opts, const unsigned char *nonce,
    size_t nonce_len, struct ob_tpm2_evidence *out) OB_WUR;

void ob_tpm2_evidence_free(struct ob_tpm2_evidence *ev);

#endif
