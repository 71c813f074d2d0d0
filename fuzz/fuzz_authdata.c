/*
 * libFuzzer harness: authenticatorData (core/webauthn.c), the head and the
 * whole structure.  Beyond "no crash", the parser must account for every
 * byte: on success the head, the attested credential data and the
 * extensions lie end to end in the input and add up to its length, each
 * present exactly when its flag is set; every failure is
 * OB_ERR_FIDO_AUTHDATA, never a cursor code.
 *
 *   fuzz-authdata -max_total_time=600 -dict=authdata.dict NEW corpus/authdata
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/webauthn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_authdata	 h, a;
	const uint8_t		*end;
	int			 rh, ra;

	rh = ob_authdata_head(data, size, &h);
	ra = ob_authdata_parse(data, size, &a);
	check(rh == OB_OK || rh == OB_ERR_FIDO_AUTHDATA);
	check(ra == OB_OK || ra == OB_ERR_FIDO_AUTHDATA);
	check((rh == OB_OK) == (size >= OB_AUTHDATA_MINLEN));
	if (rh == OB_OK) {
		check(memcmp(h.rpid_hash, data, 32) == 0);
		check(h.len == size && h.aaguid == NULL && h.ext == NULL);
	}
	if (ra != OB_OK)
		return 0;
	check(rh == OB_OK && h.flags == a.flags && h.counter == a.counter &&
	    memcmp(h.rpid_hash, a.rpid_hash, 32) == 0 && a.len == size);
	end = data + OB_AUTHDATA_MINLEN;
	check((a.aaguid != NULL) == ((a.flags & OB_AD_AT) != 0));
	if (a.aaguid != NULL) {
		check(a.aaguid == end);
		check(a.cred_id == end + 16 + 2);
		check(a.cred_id_len >= 1 &&
		    a.cred_id_len <= OB_AUTHDATA_CRED_ID_MAX);
		check(a.cose_key == a.cred_id + a.cred_id_len);
		check(a.cose_key_len >= 1 && (a.cose_key[0] >> 5) == 5);
		end = a.cose_key + a.cose_key_len;
	}
	check((a.ext != NULL) == ((a.flags & OB_AD_ED) != 0));
	if (a.ext != NULL) {
		check(a.ext == end);
		check(a.ext_len >= 1 && (a.ext[0] >> 5) == 5);
		end = a.ext + a.ext_len;
	}
	check(end == data + size);
	return 0;
}
