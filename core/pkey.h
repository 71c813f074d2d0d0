/*
 * The public-key decoder: the only place where public key material from
 * outside (a JWK, a token's read-back, a TPM or PIV attestation, a
 * certificate) becomes an EVP_PKEY, and the one set of rules it must
 * pass (docs/decisions.md, "Public keys"):
 *
 *   P-256, P-384  uncompressed point on the curve (OpenSSL decodes it and
 *                 refuses coordinates >= p); cofactor 1, so on the curve
 *                 is in the group; the identity has no affine encoding
 *   Ed25519       32 bytes, y < p (canonical), not one of the 8 points of
 *                 small order in any encoding (sign bit ignored), on the
 *                 curve
 *   RSA           modulus of OB_RSA_MIN_BITS..OB_RSA_MAX_BITS bits, odd;
 *                 exponent odd, 3 <= e < 2^32
 *
 * The rules are checked on the bytes before OpenSSL builds anything, and
 * no expensive OpenSSL validation (RSA's primality-style public check)
 * ever runs, so a key from an unauthenticated request costs little to
 * refuse.  Errors: OB_ERR_KEY_WEAK (small order, non-canonical),
 * OB_ERR_KEY_SIZE (RSA sizes and exponents), OB_ERR_JWK_INVALID (wrong
 * length or form, not on the curve), OB_ERR_KEY_TYPE (a curve or key type
 * outside the list).
 */
#ifndef OB_CORE_PKEY_H
#define OB_CORE_PKEY_H

#include <stddef.h>
#include <openssl/evp.h>

#include "core/alg.h"
#include "ownerbind/ob_err.h"

#define OB_RSA_MIN_BITS		2048
#define OB_RSA_MAX_BITS		4096
#define OB_RSA_MAX_E_BYTES	4	/* e < 2^32 */

/*
 * kind is OB_KEY_P256 or OB_KEY_P384; pt is 0x04 || x || y with
 * coordinates of 32 or 48 bytes.  The key is made from a per-curve
 * template (fast: no group construction per key).
 */
int ob_pkey_from_ec_point(enum ob_keykind kind, const unsigned char *pt,
    size_t len, EVP_PKEY **out) OB_WUR;

/* An Ed25519 public key (RFC 8032 encoding). */
int ob_pkey_from_ed25519(const unsigned char pub[32], EVP_PKEY **out) OB_WUR;

/* An RSA public key from big-endian n and e (leading zeros ignored). */
int ob_pkey_from_rsa(const unsigned char *n, size_t nlen,
    const unsigned char *e, size_t elen, EVP_PKEY **out) OB_WUR;

/*
 * The same rules for a key that OpenSSL already built (from a certificate,
 * SPKI DER or PEM): OB_OK when pkey may be used.
 */
int ob_pkey_check(const EVP_PKEY *pkey) OB_WUR;

/* The byte rules alone, without building a key (constant time). */
int ob_pkey_check_ed25519(const unsigned char pub[32]) OB_WUR;
int ob_pkey_check_rsa(const unsigned char *n, size_t nlen,
    const unsigned char *e, size_t elen) OB_WUR;

#endif
