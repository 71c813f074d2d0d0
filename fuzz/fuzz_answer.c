/*
 * libFuzzer harness: the owner's answer to a held request
 * (server/answer.c), the body parsers of POST /v1/owner/challenges/H and
 * of the approval page's POST /v1/approve/H, and
 * the assembly of an accepted answer into a held envelope (the envelope
 * parser's entry checks).  Beyond "no crash": a refusal is a decision
 * with nothing half-filled, an entry answer has a signature of 1..1024
 * bytes, and an assembled envelope parses again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "server/answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	*held;
static size_t	 heldlen;

static void
load_held(void)
{
	FILE	*f;
	long	 n;

	if (held != NULL)
		return;
	if ((f = fopen(OB_FUZZ_GOOD, "rb")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (held = malloc((size_t)n)) == NULL ||
	    fread(held, 1, (size_t)n, f) != (size_t)n)
		abort();
	heldlen = (size_t)n;
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_answer	 a;
	struct ob_envelope	*env = NULL;
	char			*out = NULL;
	size_t			 outlen;

	load_held();
	memset(&a, 0, sizeof(a));
	if (ob_answer_parse(data, size, &a) != OB_OK) {
		if (a.doc != NULL || a.sig != NULL)
			abort();
		return 0;
	}
	if (a.deny) {
		if (a.sig != NULL || a.protected_b64 != NULL)
			abort();
	} else {
		if (a.protected_b64 == NULL || a.siglen == 0 ||
		    a.siglen > OB_MAX_SIGNATURE)
			abort();
		if (ob_answer_assemble(held, heldlen, &a, &out, &outlen) ==
		    OB_OK) {
			if (ob_envelope_parse(out, outlen, 0, &env) != OB_OK)
				abort();
			ob_envelope_free(&env);
			free(out);
		}
	}
	ob_answer_clear(&a);
	/* The page's answer, with a header of the form the server makes. */
	if (ob_answer_parse_webauthn(data, size, &a) == OB_OK) {
		if (a.siglen == 0 || a.siglen > OB_MAX_SIGNATURE ||
		    a.header == NULL ||
		    json_object_get(a.header, "signature") != NULL)
			abort();
		a.protected_b64 = "eyJhbGciOiJ3ZWJhdXRobi1lczI1NiJ9";
		if (ob_answer_assemble(held, heldlen, &a, &out, &outlen) ==
		    OB_OK)
			free(out);
		a.protected_b64 = NULL;
		ob_answer_clear(&a);
	}
	return 0;
}
