/*
 * PIV key attestation, verifier side (docs/piv.md, "Attestation").
 * OpenSSL only: no PC/SC, nothing fetched.
 *
 * A trust-store key entry of kind "piv" may carry
 *   "attestation": {"type": "piv", "origin": "generated",
 *                   "x5c": [attestation cert, f9 cert, (intermediates)]}
 * (standard base64 DER, YubiKey-style: the card's attestation key in slot
 * f9 signs a certificate for the slot's key, and the f9 certificate is
 * signed by the manufacturer's attestation root), or, for a key that was
 * imported into the card and so cannot be attested,
 *   "attestation": {"type": "piv", "origin": "imported"}.
 * The roots are the trust store's top-level "piv_roots": 1-16 PEM
 * certificates.
 */
#ifndef OB_VERIFY_PIV_ATTEST_H
#define OB_VERIFY_PIV_ATTEST_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "ownerbind/ob_err.h"

#define OB_PIV_ROOTS_MAX	16
#define OB_PIV_X5C_MAX		4	/* attestation, f9, <= 2 intermediates */

/* What the attestation certificate says (YubiKey extensions). */
struct ob_piv_attest_info {
	int		have_serial;
	uint32_t	serial;		/* 1.3.6.1.4.1.41482.3.7 */
	int		have_firmware;
	uint8_t		firmware[3];	/* 1.3.6.1.4.1.41482.3.3 */
	int		have_policy;
	uint8_t		pin_policy;	/* 1.3.6.1.4.1.41482.3.8 */
	uint8_t		touch_policy;
};

/*
 * Load "piv_roots" (a JSON array of 1-16 PEM strings, one certificate
 * each) into a new X509_STORE, freed by the caller with X509_STORE_free.
 * OB_ERR_TRUST_INVALID with a detail on any malformed entry.
 */
int ob_piv_roots_load(const json_t *piv_roots, X509_STORE **out) OB_WUR;

/*
 * Verify a key entry's "attestation" member against roots and the
 * enrolled public key pub.  OB_OK means: the chain x5c[0] <- x5c[1] <-
 * ... builds to a root (x5c[1] being x5c[0]'s issuer), and x5c[0]
 * certifies exactly pub: the key was generated on the card
 * ("card-generated").  now is the verification time in seconds since
 * the epoch; 0 skips validity-period checks (a key's generation is a past
 * event that a later expiry does not undo).  info (may be NULL) gets the
 * card's serial, firmware and policies, written only on success.
 *
 * Errors: OB_ERR_ATTEST_INVALID (malformed member or certificate, or
 * origin "imported": the detail says "imported"), OB_ERR_ATTEST_UNTRUSTED
 * (the chain does not build to a root, or roots is NULL),
 * OB_ERR_ATTEST_KEY_MISMATCH (another key is attested).
 */
int ob_piv_attest_verify(const json_t *attestation, const EVP_PKEY *pub,
    X509_STORE *roots, long long now, struct ob_piv_attest_info *info)
    OB_WUR;

#endif
