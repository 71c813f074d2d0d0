/*
 * tpm2: key URIs (docs/tpm2.md, "Key URIs"), apart from tpm2_int.h so that
 * a caller (the fuzz harness) needs no tpm2-tss headers.
 */
#ifndef OB_TOKENS_TPM2_URI_H
#define OB_TOKENS_TPM2_URI_H

#include <stdint.h>

#include "ownerbind/ob_err.h"

/* Persistent handles ownerbind creates or opens: the owner range. */
#define TPM2_PERSISTENT_MIN	0x81000000u
#define TPM2_PERSISTENT_MAX	0x81ffffffu
#define TPM2_DEFAULT_TCTI	"device:/dev/tpmrm0"
#define TPM2_TCTI_MAX		512

/* A parsed tpm2: URI. */
struct tpm2_uri {
	char		*tcti;		/* resolved TCTI config; never NULL */
	char		*file;		/* key file, or NULL */
	uint32_t	 handle;	/* persistent handle, or 0 */
	int		 auth;		/* auth=yes: the key has an auth value */
};

/* Parse uri; *out is freed with tpm2_uri_free.  OB_ERR_KEY_URI. */
int tpm2_uri_parse(const char *uri, struct tpm2_uri *out) OB_WUR;
void tpm2_uri_free(struct tpm2_uri *u);

#endif
