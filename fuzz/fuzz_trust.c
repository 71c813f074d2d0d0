/*
 * libFuzzer harness: the trust-store loader.  A store that loads is then
 * used once, on the corpus's good envelope (dry run, fixed time), so that
 * whatever the loader built is also walked by the verifier.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "server-verify/verify_int.h"

#ifndef OB_FUZZ_GOOD
#error "OB_FUZZ_GOOD names an envelope"
#endif

#define NOW	1767225600LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char	*good;
static size_t	 goodlen;

static void
init(void)
{
	FILE	*f;
	long	 n;

	if ((f = fopen(OB_FUZZ_GOOD, "rb")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (good = malloc((size_t)n)) == NULL ||
	    fread(good, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fuzz_trust: cannot read %s\n", OB_FUZZ_GOOD);
		abort();
	}
	goodlen = (size_t)n;
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_verify_opts	 o = { .aud = "https://id.example/",
				    .now = NOW };
	struct ob_trust		*t = NULL;
	struct ob_verdict	*v = NULL;

	if (good == NULL)
		init();
	if (ob_trust_load_buf(data, size, &t) != OB_OK)
		return 0;
	if (ob_verify(t, NULL, &o, good, goodlen, &v) == OB_OK)
		ob_verdict_free(&v);
	ob_trust_free(&t);
	return 0;
}
