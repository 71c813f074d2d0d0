/* Helpers shared by the key-URI parsers of the backends. */
#ifndef OB_TOKENS_URI_H
#define OB_TOKENS_URI_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/*
 * Percent-decode s[0..n) (RFC 3986 2.1) into a new NUL-terminated string
 * the caller frees.  A truncated or non-hex escape, or %00, is
 * OB_ERR_KEY_URI with `what` (the attribute or scheme) in the detail.
 */
int ob_uri_pct_decode(const char *s, size_t n, const char *what, char **out)
    OB_WUR;

#endif
