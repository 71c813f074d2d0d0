/*
 * The binding code (core/binding_code.h).  32 bits modulo 10^6 has a
 * bias of under 0.03 %: the code is compared by a person, not a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alg.h"
#include "core/binding_code.h"
#include "core/err.h"

#define LABEL	"ownerbind-binding-code"

int
ob_binding_code(const char *envelope_sha256, const char *nonce,
    char out[OB_BINDING_CODE_CHARS + 1])
{
	unsigned char	 md[32];
	unsigned long	 v;
	char		*buf;
	size_t		 a, b, n;
	int		 r;

	if (envelope_sha256 == NULL || nonce == NULL || out == NULL)
		return OB_ERR_INVALID_ARG;
	a = strlen(envelope_sha256);
	b = strlen(nonce);
	n = sizeof(LABEL) + a + 1 + b;
	if ((buf = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(buf, LABEL, sizeof(LABEL));	/* with its NUL */
	memcpy(buf + sizeof(LABEL), envelope_sha256, a);
	buf[sizeof(LABEL) + a] = '.';
	memcpy(buf + sizeof(LABEL) + a + 1, nonce, b);
	r = ob_sha256(buf, n, md);
	free(buf);
	if (r != OB_OK)
		return r;
	v = (unsigned long)md[0] << 24 | (unsigned long)md[1] << 16 |
	    (unsigned long)md[2] << 8 | md[3];
	(void)snprintf(out, OB_BINDING_CODE_CHARS + 1, "%06lu", v % 1000000UL);
	return OB_OK;
}
