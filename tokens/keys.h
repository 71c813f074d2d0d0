/*
 * What every key backend can see, for `ownerbind keys` (docs/key-uris.md):
 * an array of one object per backend,
 *
 *   {"backend": "pkcs11"|"tpm2"|"piv"|"fido2",
 *    "state": "found"|"none"|"absent"|"not built"|"error",
 *    "reason": a sentence (all but found),
 *    "error": {"error": NAME, "code": N, "detail", "next_step"} (error),
 *    "items": [...]}
 *
 * A backend whose module, TPM, PC/SC service or device is not there is
 * "absent", said plainly and never an error; "none" is a backend that
 * works and holds nothing.  Items carry the key URI to use.  No PIN or
 * auth value is asked for: only what shows without one is listed.
 */
#ifndef OB_TOKENS_KEYS_H
#define OB_TOKENS_KEYS_H

#include <jansson.h>

#include "ownerbind/ob_err.h"

struct ob_keys_opts {
	const char	*pkcs11_module;	/* NULL: p11-kit's configured modules */
	const char	*tcti;		/* NULL: as a tpm2: URI without tcti= */
};

int ob_keys_list(const struct ob_keys_opts *o, json_t **out) OB_WUR;

#endif
