/*
 * The WebAuthn-compatible FIDO2 entry (docs/envelope.md, "FIDO2 entries";
 * W3C WebAuthn L2 sections 5.8.1.1, 6.1, 7.2).  Shared by the FIDO2 signer
 * (which builds clientDataJSON) and the verifier (which checks it).
 */
#ifndef OB_CORE_WEBAUTHN_H
#define OB_CORE_WEBAUTHN_H

#include <stddef.h>
#include <stdint.h>

#include "ownerbind/ob_err.h"

#define OB_WEBAUTHN_ORIGIN	"ownerbind:"
#define OB_WEBAUTHN_RPID	"ownerbind:"	/* default relying party id */
#define OB_AUTHDATA_MINLEN	37

#define OB_AD_UP	0x01
#define OB_AD_UV	0x04
#define OB_AD_BE	0x08
#define OB_AD_BS	0x10
#define OB_AD_AT	0x40
#define OB_AD_ED	0x80

/*
 * authenticatorData (WebAuthn L2 6.1).  The pointers point into the bytes
 * parsed and are set by ob_authdata_parse only (NULL after
 * ob_authdata_head, and when the flag is clear).
 */
struct ob_authdata {
	unsigned char	 rpid_hash[32];
	uint8_t		 flags;
	uint32_t	 counter;
	size_t		 len;		/* whole authenticatorData */
	/* AT: attested credential data (6.5.1) */
	const uint8_t	*aaguid;	/* 16 bytes */
	const uint8_t	*cred_id;
	size_t		 cred_id_len;	/* 1..OB_AUTHDATA_CRED_ID_MAX */
	const uint8_t	*cose_key;	/* one CBOR map */
	size_t		 cose_key_len;
	/* ED: the extensions, one CBOR map */
	const uint8_t	*ext;
	size_t		 ext_len;
};

#define OB_AUTHDATA_CRED_ID_MAX	1023	/* WebAuthn L2 6.5.1 */

/*
 * The challenge for an entry: base64url(SHA-256(signing input)), into
 * out[44] (43 chars + NUL).
 */
int ob_webauthn_challenge(const char *signing_input, size_t len,
    char out[44]) OB_WUR;

/*
 * The canonical clientDataJSON for an entry (WebAuthn limited
 * serialisation: type, challenge, origin, crossOrigin).  *out is freed by
 * the caller.
 */
int ob_webauthn_clientdata(const char *signing_input, size_t len,
    char **out, size_t *outlen) OB_WUR;

/*
 * Check a clientDataJSON against an entry's signing input: well-formed
 * (OB_ERR_FIDO_CLIENTDATA), type (OB_ERR_FIDO_TYPE), challenge
 * (OB_ERR_FIDO_CHALLENGE), origin (OB_ERR_FIDO_ORIGIN), then byte-equal to
 * the canonical form (OB_ERR_FIDO_CLIENTDATA).
 */
int ob_webauthn_check_clientdata(const unsigned char *cdj, size_t cdjlen,
    const char *signing_input, size_t silen) OB_WUR;

/*
 * The same for a credential that may also be used from web origins (the
 * browser approval page, docs/server-mediated.md): an origin of
 * "ownerbind:" keeps the exact-bytes rule above; an origin in
 * origins[0..n) is checked as strict JSON instead (browsers add members
 * and order them as they like): type "webauthn.get", the challenge,
 * crossOrigin absent or false, no topOrigin; other members ignored.  Any
 * other origin is OB_ERR_FIDO_ORIGIN.
 */
int ob_webauthn_check_clientdata_web(const unsigned char *cdj, size_t cdjlen,
    const char *signing_input, size_t silen, char *const *origins, size_t n)
    OB_WUR;

/*
 * The fixed head of authenticatorData (rpIdHash, flags, signCount) and
 * nothing else: for a checker that refuses AT and ED by their flags before
 * it looks at what they announce.  OB_ERR_FIDO_AUTHDATA if shorter than
 * 37 bytes.
 */
int ob_authdata_head(const unsigned char *ad, size_t len,
    struct ob_authdata *out) OB_WUR;
/*
 * The whole authenticatorData: the head, then the attested credential data
 * when AT is set (aaguid, a credential id of 1..1023 bytes, one CBOR map),
 * then the extensions when ED is set (one CBOR map), then nothing.  The
 * CBOR is checked for well-formedness only (definite lengths, nesting at
 * most 8 deep), not decoded.  OB_ERR_FIDO_AUTHDATA with the detail naming
 * the field.
 */
int ob_authdata_parse(const unsigned char *ad, size_t len,
    struct ob_authdata *out) OB_WUR;

/* msg = authenticatorData || SHA-256(clientDataJSON); freed by caller. */
int ob_webauthn_message(const unsigned char *ad, size_t adlen,
    const unsigned char *cdj, size_t cdjlen, unsigned char **msg,
    size_t *msglen) OB_WUR;

/* SHA-256 of an rpId, as in authenticatorData. */
int ob_rpid_hash(const char *rp_id, unsigned char out[32]) OB_WUR;

#endif
