/*
 * A JSON array of PEM certificates (trust-store "ca", "piv_roots") into an
 * OpenSSL X509_STORE: one certificate per string, nothing after it.
 */
#ifndef OB_VERIFY_PEM_STORE_H
#define OB_VERIFY_PEM_STORE_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/x509_vfy.h>

#include "ownerbind/ob_err.h"

/*
 * 1..max strings, each one PEM certificate.  *out is a new store the
 * caller frees with X509_STORE_free.  OB_ERR_TRUST_INVALID names the
 * member ("what[i]") on any bad entry; OB_ERR_ALLOC.
 */
int ob_pem_store_load(const json_t *arr, size_t max, const char *what,
    X509_STORE **out) OB_WUR;

#endif
