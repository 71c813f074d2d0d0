/*
 * The backends' listers behind ob_keys_list (tokens/keys.c): each appends
 * its items to items and returns OB_OK, or the code that says why it
 * cannot look (keys.c decides which codes mean "absent").
 */
#ifndef OB_TOKENS_KEYS_INT_H
#define OB_TOKENS_KEYS_INT_H

#include <jansson.h>

#include "ownerbind/ob_err.h"

/* pkcs11/p11_list.c: tokens of module (NULL: p11-kit's), their keys. */
int keys_pkcs11(const char *module, json_t *items) OB_WUR;
/* tokens/tpm2/tpm2_list.c: persistent handles; *used: the TCTI. */
int keys_tpm2(const char *tcti, json_t *items, const char **used) OB_WUR;
/* tokens/piv/piv_list.c: readers, their PIV cards and key slots. */
int keys_piv(json_t *items) OB_WUR;

#endif
