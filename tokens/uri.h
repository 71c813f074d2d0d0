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

/*
 * Walk a ";"-separated NAME=VALUE attribute list (the part after
 * "scheme:").  Each call stores the next attribute's name (not
 * NUL-terminated; *namelen bytes) and its percent-decoded value (freed by
 * the caller) and advances *pos; at the end it sets *name to NULL.  An
 * attribute without '=' or a trailing ';' is OB_ERR_KEY_URI.
 */
int ob_uri_next_attr(const char **pos, const char *scheme, const char **name,
    size_t *namelen, char **value) OB_WUR;

/*
 * The file: scheme (docs/key-uris.md): "file:" and a non-empty path,
 * taken as it is (no percent-decoding).  *path points into uri.
 * OB_ERR_KEY_URI otherwise.
 */
int ob_uri_file_path(const char *uri, const char **path) OB_WUR;
#endif
