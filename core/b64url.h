/*
 * Strict unpadded base64url (RFC 4648 section 5, RFC 7515 section 2), and
 * strict padded standard base64 for x5c.
 * OpenSSL's base64 codec is the standard alphabet and tolerant (padding,
 * whitespace), so the strict form lives here: no padding, no whitespace, no
 * length of 1 mod 4, and unused bits of the last character must be zero, so
 * that every byte string has exactly one accepted encoding.
 */
#ifndef OB_CORE_B64URL_H
#define OB_CORE_B64URL_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/* Length of the encoding of n bytes (no NUL). */
size_t ob_b64url_enclen(size_t n);

/*
 * Encode; *out is a NUL-terminated string the caller frees with free().
 * Returns OB_OK or OB_ERR_ALLOC.
 */
int ob_b64url_encode(const unsigned char *in, size_t inlen, char **out) OB_WUR;

/*
 * Decode inlen characters of in.  Fails with OB_ERR_B64_INVALID (bad
 * character, padding, impossible length), OB_ERR_B64_NONCANONICAL (unused
 * bits set) or OB_ERR_ENV_TOO_LARGE (decoded size above max).  On success
 * *out (freed by the caller with free(); never NULL, even for empty input)
 * and *outlen are set; on failure they are untouched.
 */
int ob_b64url_decode(const char *in, size_t inlen, size_t max,
    unsigned char **out, size_t *outlen) OB_WUR;

/*
 * Strict padded standard base64 (RFC 4648 section 4), as x5c carries DER
 * certificates (RFC 7515 section 4.1.6): the alphabet with '+' and '/',
 * a length that is a multiple of 4, '=' only as the one or two last
 * characters and only where the length needs them, no whitespace, unused
 * bits zero: one accepted encoding per byte string.  Same table-driven
 * decoder, results and errors as ob_b64url_decode.
 */
int ob_b64_decode(const char *in, size_t inlen, size_t max,
    unsigned char **out, size_t *outlen) OB_WUR;

#endif
