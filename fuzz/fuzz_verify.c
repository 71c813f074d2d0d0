/*
 * libFuzzer harness: one envelope through the whole verifier (parse,
 * structure, claims, signatures, FIDO2, gateway chain, replay state)
 * against the negative corpus's trust store, at its fixed time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "server-verify/verify_int.h"

#ifndef OB_FUZZ_TRUST
#error "OB_FUZZ_TRUST names the trust store"
#endif

#define NOW	1767225600LL	/* GEN_NOW in tests/vectors/gen_common.h */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ob_trust *trust;
static struct ob_state *state;

static void
init(void)
{
	const char *path = getenv("OB_FUZZ_TRUST_FILE");

	if (path == NULL)
		path = OB_FUZZ_TRUST;
	if (ob_trust_load_file(path, &trust) != OB_OK ||
	    ob_state_open_memory(&state) != OB_OK) {
		fprintf(stderr, "fuzz_verify: cannot load %s: %s\n", path,
		    ob_err_detail());
		abort();
	}
}

static void
verify(const struct ob_verify_opts *o, const uint8_t *data, size_t size,
    int *r)
{
	struct ob_verdict	*v = NULL;
	char			*js = NULL;

	*r = ob_verify(trust, state, o, data, size, &v);
	if (*r == OB_OK) {
		if (ob_verdict_json(v, &js) == OB_OK)
			free(js);
		ob_verdict_free(&v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_verify_opts	o = { .aud = "https://id.example/", .now = NOW };
	int			r;

	if (trust == NULL)
		init();
	verify(&o, data, size, &r);
	/* Owner-mediated requests belong on the gateway channel. */
	if (r == OB_ERR_CHANNEL_MISMATCH) {
		o.channel = OB_CHANNEL_GATEWAY;
		o.proxy = "proxy-1";
		verify(&o, data, size, &r);
	}
	/* A state-less dry run must never accept what needs state. */
	{
		struct ob_verdict *v = NULL;

		r = ob_verify(trust, NULL, &o, data, size, &v);
		ob_verdict_free(&v);
	}
	return 0;
}
