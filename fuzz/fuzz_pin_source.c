/*
 * libFuzzer harness: PIN-source specs (tokens/pin.c, ob_pin_source_parse
 * only; docs/pin-sources.md).  A spec that parses names one of the five
 * sources; nothing is ever read from it, so no file is opened, no
 * descriptor read and no program run.
 *
 *   fuzz-pin_source -max_total_time=600 -dict=pin_source.dict NEW \
 *       corpus/pin_source
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokens/pin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_pin_source	*src = NULL;
	char			*s;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ob_pin_source_parse(s, &src) == OB_OK) {
		if (strcmp(s, "tty") != 0 && strncmp(s, "file:", 5) != 0 &&
		    strncmp(s, "fd:", 3) != 0 && strncmp(s, "env:", 4) != 0 &&
		    strncmp(s, "askpass:", 8) != 0)
			abort();
		ob_pin_source_free(&src);
	}
	free(s);
	return 0;
}
