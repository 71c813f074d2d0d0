/*
 * libFuzzer harness: the FIDO2 credential file (docs/fido2.md,
 * "Credential file"), through fido2_credfile_parse, the from-memory half
 * of fido2_credfile_read.  A file that parses holds a webauthn-* algorithm,
 * a key that algorithm accepts, a credential id and a relying party.
 *
 *   fuzz-credfile -max_total_time=600 -dict=credfile.dict NEW \
 *       corpus/credfile
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tokens/fido2/fido2_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fido2_cred	c;

	if (fido2_credfile_parse("fuzz", (const char *)data, size, &c) !=
	    OB_OK)
		return 0;
	if (!ob_alg_is_webauthn(c.alg) || c.pub == NULL ||
	    ob_alg_check_key(c.alg, c.pub) != OB_OK || c.id == NULL ||
	    c.id_len == 0 || c.rp_id == NULL || c.rp_id[0] == '\0')
		abort();
	fido2_cred_free(&c);
	return 0;
}
