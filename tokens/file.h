/*
 * Software keys in PEM files (file:PATH).  For agents, and for owners in
 * development: a key in a file is only as safe as the file, which is why
 * the verifier reports file keys with assurance "software".
 */
#ifndef OB_TOKENS_FILE_H
#define OB_TOKENS_FILE_H

#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"
#include "tokens/pin.h"

/*
 * Generate a key for alg and write it as PKCS#8 PEM to path, created with
 * mode 0600 and never over an existing file (OB_ERR_KEY_EXISTS).  With a
 * passphrase source the key is encrypted (AES-256-CBC, scrypt-free PBES2).
 * *out (may be NULL) receives the new key.
 */
int ob_file_keygen(const char *path, enum ob_alg alg,
    const struct ob_pin_source *pass, EVP_PKEY **out) OB_WUR;

/* Load a PEM private key; the passphrase is asked only if encrypted. */
int ob_file_load(const char *path, const struct ob_pin_source *pass,
    EVP_PKEY **out) OB_WUR;

#endif
