/*
 * libFuzzer harness: key URIs (docs/key-uris.md).  The input, as a C
 * string (up to its first NUL, as argv would give it), goes to every
 * parser: tokens/uri.c's file: parser, NAME=VALUE walk and
 * percent-decoder, and the parser of each scheme whose backend is built
 * (pkcs11:, tpm2:, fido2:, piv:).  A PIN source a URI names goes on to
 * ob_pin_source_parse; nothing is ever read from it.
 *
 *   fuzz-uri -max_total_time=600 -dict=uri.dict NEW corpus/uri
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokens/pin.h"
#include "tokens/uri.h"
#ifdef OB_FUZZ_URI_PKCS11
#include "pkcs11/p11_int.h"
#endif
#ifdef OB_FUZZ_URI_TPM2
#include "tokens/tpm2/tpm2_uri.h"
#endif
#ifdef OB_FUZZ_URI_FIDO2
#include "tokens/fido2/fido2_int.h"
#endif
#ifdef OB_FUZZ_URI_PIV
#include "tokens/piv/piv_uri.h"
#endif

#define URI_INPUT_MAX	(16 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
pin_source(const char *spec)
{
	struct ob_pin_source *src = NULL;

	if (spec != NULL && ob_pin_source_parse(spec, &src) == OB_OK)
		ob_pin_source_free(&src);
}

/* Each attribute is NAME=VALUE inside s, and the walk ends or fails. */
static void
walk(const char *s, size_t len)
{
	const char	*p, *before, *name;
	char		*val;
	size_t		 nlen, n = 0;

	if ((p = strchr(s, ':')) == NULL)
		return;
	for (p++;;) {
		before = p;
		if (ob_uri_next_attr(&p, "fuzz:", &name, &nlen, &val) != OB_OK)
			break;
		if (name == NULL) {
			check(*p == '\0');
			break;
		}
		check(name == before && name[nlen] == '=' && p > name + nlen &&
		    p <= s + len);
		check(strlen(val) <= (size_t)(p - name));
		free(val);
		check(++n <= len);
	}
}

static void
decode(const char *s, size_t len)
{
	char	*d;

	if (ob_uri_pct_decode(s, len, "fuzz", &d) != OB_OK)
		return;
	check(strlen(d) <= len);
	if (strchr(s, '%') == NULL)
		check(strcmp(d, s) == 0);
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*path;
	char		*s;
	size_t		 len;

	if (size > URI_INPUT_MAX || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);
	if (ob_uri_file_path(s, &path) == OB_OK)
		check(path == s + 5 && *path != '\0');
	walk(s, len);
	decode(s, len);
#ifdef OB_FUZZ_URI_PKCS11
	{
		struct p11_uri *u = NULL;

		if (p11_uri_parse(s, &u) == OB_OK) {
			check(u->label != NULL || u->id != NULL);
			pin_source(u->pin_spec);
			p11_uri_free(&u);
		}
	}
#endif
#ifdef OB_FUZZ_URI_TPM2
	{
		struct tpm2_uri u;

		if (tpm2_uri_parse(s, &u) == OB_OK) {
			check((u.file != NULL) != (u.handle != 0));
			tpm2_uri_free(&u);
		}
	}
#endif
#ifdef OB_FUZZ_URI_FIDO2
	{
		struct fido2_uri u;

		if (fido2_uri_parse(s, &u) == OB_OK)
			fido2_uri_free(&u);
	}
#endif
#ifdef OB_FUZZ_URI_PIV
	{
		struct piv_uri u;

		if (piv_uri_parse(s, &u) == OB_OK) {
			check(u.reader != NULL || u.have_serial);
			pin_source(u.pin_source);
			pin_source(u.mgm_source);
			piv_uri_free(&u);
		}
	}
#endif
	free(s);
	return 0;
}
