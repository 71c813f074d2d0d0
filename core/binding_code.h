/*
 * The binding code of a server-held request (docs/server-mediated.md):
 * six decimal digits derived from the held envelope and the server's
 * nonce, shown to the agent side and to the owner, who compares them
 * (number matching against approval fatigue).  The responder computes it
 * itself, so a code the server made up for another request shows.
 */
#ifndef OB_CORE_BINDING_CODE_H
#define OB_CORE_BINDING_CODE_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_BINDING_CODE_CHARS	6

/*
 * code = the first 32 bits of SHA-256("ownerbind-binding-code" 0x00
 * envelope_sha256 "." nonce), big-endian, modulo 10^6, six digits with
 * leading zeros.  envelope_sha256 is the base64url SHA-256 of the held
 * envelope's bytes.  Errors: OB_ERR_INVALID_ARG, OB_ERR_CRYPTO.
 */
int ob_binding_code(const char *envelope_sha256, const char *nonce,
    char out[OB_BINDING_CODE_CHARS + 1]) OB_WUR;

#endif
