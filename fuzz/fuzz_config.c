/*
 * libFuzzer harness: the server's configuration reader
 * (server/config.c), including the scan that finds a member's line.  It
 * holds the reader to one promise beyond "no crash": every rejection of a
 * text within the size limit names a line of that text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_server_config	*cfg = NULL;
	unsigned long		 line = 0, lines = 1;
	size_t			 i;
	int			 r;

	r = ob_server_config_parse(data, size, "/nonexistent", &cfg, &line);
	if (r == OB_OK) {
		ob_server_config_free(&cfg);
		return 0;
	}
	if (cfg != NULL)
		abort();
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (r != OB_ERR_ALLOC && size <= OB_CONFIG_MAX_SIZE &&
	    (line < 1 || line > lines))
		abort();
	return 0;
}
