/*
 * The algorithm allow-list (docs/envelope.md, "Algorithms") and the
 * OpenSSL 3 sign/verify primitives.  Nothing outside this file decides how
 * an alg name maps to key type, hash and signature encoding.
 */
#ifndef OB_CORE_ALG_H
#define OB_CORE_ALG_H

#include <stddef.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"

enum ob_alg {
	OB_ALG_INVALID = 0,
	OB_ALG_ES256,
	OB_ALG_ES384,
	OB_ALG_EDDSA,
	OB_ALG_PS256,
	OB_ALG_WEBAUTHN_ES256,	/* FIDO2 entry over P-256, DER signature */
	OB_ALG_WEBAUTHN_EDDSA,	/* FIDO2 entry over Ed25519 */
};

enum ob_keykind {
	OB_KEY_P256 = 1,
	OB_KEY_P384,
	OB_KEY_ED25519,
	OB_KEY_RSA,
};

/*
 * Map a JWS alg name to the enum.  "none" and HS* give OB_ERR_ALG_FORBIDDEN,
 * anything else unknown OB_ERR_ALG_UNSUPPORTED.
 */
int ob_alg_from_name(const char *name, enum ob_alg *out) OB_WUR;
const char *ob_alg_name(enum ob_alg alg);
int ob_alg_is_webauthn(enum ob_alg alg);
enum ob_keykind ob_alg_keykind(enum ob_alg alg);
/* The default JWS alg for a key (ES256 for P-256, ...), or OB_ALG_INVALID. */
enum ob_alg ob_alg_for_key(const EVP_PKEY *pkey);

/* What kind of public key is this?  OB_ERR_KEY_TYPE for anything else. */
int ob_key_kind(const EVP_PKEY *pkey, enum ob_keykind *out) OB_WUR;
/* OB_OK when pkey fits alg, else OB_ERR_KEY_TYPE. */
int ob_alg_check_key(enum ob_alg alg, const EVP_PKEY *pkey) OB_WUR;

/*
 * Verify a JWS signature (RFC 7518 encodings: R||S for ES*, 64 bytes for
 * EdDSA, PSS with 32-byte salt for PS256) or, for webauthn-* algs, the
 * authenticator's signature over msg = authenticatorData||SHA-256(cdj).
 * Returns OB_OK, OB_ERR_SIG_FORMAT or OB_ERR_SIG_INVALID.
 */
int ob_sig_verify(enum ob_alg alg, EVP_PKEY *pkey, const unsigned char *msg,
    size_t msglen, const unsigned char *sig, size_t siglen) OB_WUR;

/*
 * Sign msg with a software key and return the JWS encoding (R||S for ES*).
 * *sig is freed by the caller with free().  Not for webauthn-* algs.
 */
int ob_sig_sign(enum ob_alg alg, EVP_PKEY *pkey, const unsigned char *msg,
    size_t msglen, unsigned char **sig, size_t *siglen) OB_WUR;

/* The JWS signature size for alg (0 when variable: PS256, webauthn). */
size_t ob_alg_sigsize(enum ob_alg alg);

/*
 * ECDSA encodings.  der_to_rs: DER ECDSA-Sig-Value to fixed R||S of 2*n
 * bytes (n = 32 for P-256, 48 for P-384); rejects trailing bytes and
 * integers longer than n.  rs_to_der is the inverse.  Outputs freed with
 * free().
 */
int ob_ecdsa_der_to_rs(const unsigned char *der, size_t derlen, size_t n,
    unsigned char **rs, size_t *rslen) OB_WUR;
int ob_ecdsa_rs_to_der(const unsigned char *rs, size_t rslen,
    unsigned char **der, size_t *derlen) OB_WUR;

/*
 * SHA-256 of n bytes into out.  The digest is fetched from the default
 * provider once per process (SHA256() fetches it on every call in
 * OpenSSL 3); OB_ERR_CRYPTO if that or the digest fails.
 */
int ob_sha256(const void *buf, size_t n, unsigned char out[32]) OB_WUR;

/* The digest an ECDSA/PSS alg signs over (NULL for EdDSA/webauthn). */
const EVP_MD *ob_alg_md(enum ob_alg alg);

#endif
