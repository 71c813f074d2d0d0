/*
 * Differential harness: ob_json_read (core/json_read.c) against jansson's
 * json_loadb(JSON_REJECT_DUPLICATES), the parser it stands in for.
 *
 * On every input both must agree: both accept and build the same value
 * (compared as jansson serialises them: members in order, strings
 * escaped to ASCII, reals to 17 digits), or both reject in the same class
 * (duplicate member, bytes after the value, anything else).  Any
 * difference aborts, so libFuzzer reports it and the replay test fails.
 * The depth limit is jansson's own (2048) here so that the two are
 * compared exactly; ob_json_parse_object uses a far lower limit.
 *
 * One known difference, where jansson is wrong: after a number or a
 * literal jansson reads one character ahead and pushes it back into its
 * stream buffer, where a NUL byte means "empty", so a NUL there is
 * silently dropped (json_loadb accepts "[1\0]" as [1]).  Every raw NUL is
 * an error for ob_json_read, so when a NUL follows a letter or a digit the
 * harness only requires that ob_json_read rejects the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json.h"

#define JANSSON_MAX_DEPTH	2048

static int
jansson_class(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_duplicate_key:
		return OB_ERR_JSON_DUPLICATE;
	case json_error_end_of_input_expected:
		return OB_ERR_JSON_TRAILING;
	case json_error_out_of_memory:
		return OB_ERR_ALLOC;
	default:
		return OB_ERR_JSON_SYNTAX;
	}
}

static void
differ(const char *what, const uint8_t *data, size_t size)
{
	size_t i;

	fprintf(stderr, "fuzz_json: %s on %zu bytes:", what, size);
	for (i = 0; i < size && i < 256; i++)
		fprintf(stderr, " %02x", data[i]);
	fprintf(stderr, "\n");
	abort();
}

/* A NUL byte jansson may drop: right after a letter or a digit. */
static int
jansson_drops_nul(const uint8_t *data, size_t size)
{
	size_t	i;
	uint8_t	c;

	for (i = 1; i < size; i++) {
		c = data[i - 1];
		if (data[i] == 0 && ((c >= '0' && c <= '9') ||
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 e;
	json_t		*ours = NULL, *ref;
	char		*a, *b;
	size_t		 flags = JSON_COMPACT | JSON_ENSURE_ASCII;
	int		 r, rc;

	r = ob_json_read(data, size, JANSSON_MAX_DEPTH, &ours);
	ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (r == OB_ERR_ALLOC || (ref == NULL && jansson_class(&e) ==
	    OB_ERR_ALLOC))
		goto out;		/* not a parsing verdict */
	if (jansson_drops_nul(data, size)) {
		if (r == OB_OK)
			differ("accepted a raw NUL byte", data, size);
		goto out;
	}
	if ((r == OB_OK) != (ref != NULL))
		differ(r == OB_OK ? "accepted, jansson rejects" :
		    "rejected, jansson accepts", data, size);
	if (r != OB_OK) {
		if (ours != NULL)
			differ("error with a value", data, size);
		if ((rc = jansson_class(&e)) != r) {
			fprintf(stderr, "ours %s, jansson %s (%s)\n",
			    ob_err_name(r), ob_err_name(rc), e.text);
			differ("different error class", data, size);
		}
		goto out;
	}
	a = json_dumps(ours, flags);
	b = json_dumps(ref, flags);
	if (a == NULL || b == NULL || strcmp(a, b) != 0) {
		fprintf(stderr, "ours    %s\njansson %s\n", a ? a : "(null)",
		    b ? b : "(null)");
		differ("different values", data, size);
	}
	free(a);
	free(b);
out:
	json_decref(ours);
	json_decref(ref);
	return 0;
}
