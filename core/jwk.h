/*
 * Public JWKs (RFC 7517/7518, OKP per RFC 8037) and RFC 7638 thumbprints.
 * Only public keys of the kinds in alg.h are handled; a JWK with private
 * members is refused rather than stripped.
 */
#ifndef OB_CORE_JWK_H
#define OB_CORE_JWK_H

#include <jansson.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"

/* Build the public JWK of pkey (members in RFC 7638 order).  New ref. */
int ob_jwk_from_pkey(const EVP_PKEY *pkey, json_t **out) OB_WUR;

/*
 * Parse a public JWK strictly: OB_ERR_JWK_PRIVATE for private members,
 * OB_ERR_JWK_INVALID for anything malformed, unknown members (other than
 * kid, alg, use), wrong coordinate lengths or a point not on the curve.
 * *out is a new EVP_PKEY on success.
 */
int ob_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out) OB_WUR;

/*
 * As ob_jwk_to_pkey, and also the thumbprint into jkt, through a bounded
 * process-wide cache of parsed keys (thread-safe).  *out is a new
 * reference.  Every member check runs on every call.
 */
int ob_jwk_to_pkey_cached(const json_t *jwk, char jkt[44], EVP_PKEY **out)
    OB_WUR;

/* RFC 7638 SHA-256 thumbprint, base64url (43 chars + NUL) into out[44]. */
int ob_jwk_thumbprint(const json_t *jwk, char out[44]) OB_WUR;

/*
 * The RFC 7638 canonical text of a public JWK (the required members in
 * lexicographic order, no whitespace): the bytes the thumbprint hashes.
 * Call on a JWK that passed ob_jwk_to_pkey.  *out is freed with free().
 */
int ob_jwk_canonical(const json_t *jwk, char **out) OB_WUR;

/* Thumbprint of a key's public JWK. */
int ob_pkey_thumbprint(const EVP_PKEY *pkey, char out[44]) OB_WUR;

/* 1 when two public keys are equal. */
int ob_pkey_equal(const EVP_PKEY *a, const EVP_PKEY *b);

#endif
