/*
 * libFuzzer harness: the service layer's parsers (service/svc_parse.c),
 * the Content-Type matcher that sees every request and the peer list.
 * Beyond "no crash", each accepted input is checked against what the
 * parser promises.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/svc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_media(const char *s)
{
	static const char *const want[] = { "application/json",
	    "application/jose+json", "a/b" };
	const char	*p = s;
	size_t		 i, n;

	while (*p == ' ' || *p == '\t')
		p++;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!ob_svc_media_type_is(s, want[i]))
			continue;
		/* A match starts with the type and then ends or has a
		 * parameter or whitespace, never more of a token. */
		n = strlen(want[i]);
		if (strncasecmp(p, want[i], n) != 0 || (p[n] != '\0' &&
		    p[n] != ';' && p[n] != ' ' && p[n] != '\t'))
			abort();
	}
}

static void
check_peers(const uint8_t *data, size_t size)
{
	struct ob_svc_peers		*p = NULL;
	const struct ob_svc_peer	*v;
	size_t				 i, j;

	if (ob_svc_peers_parse((const char *)data, size, &p) != OB_OK) {
		if (p != NULL)
			abort();
		return;
	}
	v = ob_svc_peers_get(p);
	if (ob_svc_peers_count(p) == 0)
		abort();
	for (i = 0; i < ob_svc_peers_count(p); i++) {
		if (v[i].id == NULL || v[i].role == NULL ||
		    (v[i].san_uri == NULL && v[i].cert_sha256 == NULL))
			abort();
		if (v[i].cert_sha256 != NULL) {
			if (strlen(v[i].cert_sha256) != 64)
				abort();
			for (j = 0; j < 64; j++)
				if (!isxdigit((unsigned char)v[i].cert_sha256[j]) ||
				    isupper((unsigned char)v[i].cert_sha256[j]))
					abort();
		}
		for (j = 0; j < i; j++)
			if (strcmp(v[i].id, v[j].id) == 0)
				abort();
	}
	ob_svc_peers_free(&p);
	if (p != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 1 << 20)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_media(s);
	free(s);
	check_peers(data, size);
	return 0;
}
