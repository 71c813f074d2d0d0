/*
 * The peer table from a daemon's configured clients (svc_peer_table.h).
 */
#include <stdlib.h>

#include "service/svc_peer_table.h"
#include "core/err.h"
#include "core/hex.h"

int
ob_svc_peer_table_new(struct ob_svc_peer_table *t, size_t n)
{
	/* One more than n: calloc(0) may be NULL, and a table ends zeroed. */
	t->peer = calloc(n + 1, sizeof(*t->peer));
	t->hex = calloc(n + 1, sizeof(*t->hex));
	t->n = n;
	if (t->peer == NULL || t->hex == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

void
ob_svc_peer_table_set(struct ob_svc_peer_table *t, size_t i, const char *id,
    const char *role, const char *san_uri, const unsigned char sha256[32])
{
	struct ob_svc_peer	*p = &t->peer[i];

	p->id = id;
	p->role = role;
	p->san_uri = san_uri;
	p->cert_sha256 = NULL;
	if (sha256 != NULL) {
		(void)ob_bin_to_hex(sha256, 32, t->hex[i], sizeof(t->hex[i]));
		p->cert_sha256 = t->hex[i];
	}
}

void
ob_svc_peer_table_free(struct ob_svc_peer_table *t)
{
	free(t->peer);
	free(t->hex);
	t->peer = NULL;
	t->hex = NULL;
	t->n = 0;
}
