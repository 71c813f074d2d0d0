/*
 * The peer table a daemon hands to ob_svc_new and ob_svc_set_peers, built
 * from the clients its configuration lists: the server's and the
 * gateway's are the same table with other sources.
 */
#ifndef OB_SERVICE_SVC_PEER_TABLE_H
#define OB_SERVICE_SVC_PEER_TABLE_H

#include <stddef.h>

#include "service/svc.h"

/*
 * peer: n entries (and a zeroed one after them), whose cert_sha256 points
 * into hex; id, role and san_uri are borrowed from the caller, who keeps
 * them alive as long as the table.  Initialize with OB_SVC_PEER_TABLE_INIT
 * so that ob_svc_peer_table_free is safe before ob_svc_peer_table_new.
 */
struct ob_svc_peer_table {
	struct ob_svc_peer	*peer;
	char			(*hex)[65];
	size_t			 n;
};

#define OB_SVC_PEER_TABLE_INIT	{ NULL, NULL, 0 }

/* n zeroed entries; OB_ERR_ALLOC (ob_svc_peer_table_free it still). */
int ob_svc_peer_table_new(struct ob_svc_peer_table *t, size_t n) OB_WUR;

/* Entry i (below t->n): sha256 is the pinned leaf's digest, or NULL. */
void ob_svc_peer_table_set(struct ob_svc_peer_table *t, size_t i,
    const char *id, const char *role, const char *san_uri,
    const unsigned char sha256[32]);

/* Frees what ob_svc_peer_table_new allocated; t is reset for reuse. */
void ob_svc_peer_table_free(struct ob_svc_peer_table *t);

#endif
