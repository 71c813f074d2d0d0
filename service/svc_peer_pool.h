/*
 * The service's peers by content (decision 157).  Each distinct entry
 * (id, role, san_uri, cert_sha256) is made once and lives as long as the
 * pool, that is, as long as the service: a request, a connection or a
 * handler's state (rate buckets, held challenges, gateway jobs keep the
 * peer's id) may keep the pointers it was given across any number of
 * reloads, and a reload that lists the peers it listed before allocates
 * nothing that lasts.  Only the table of pointers is replaced.
 */
#ifndef OB_SERVICE_SVC_PEER_POOL_H
#define OB_SERVICE_SVC_PEER_POOL_H

#include <stddef.h>

#include "service/svc.h"

struct svc_peer_ent;

struct svc_peer_pool {
	struct svc_peer_ent	*head;
	size_t			 n;	/* distinct entries made */
};

#define SVC_PEER_POOL_INIT	{ NULL, 0 }

/*
 * The pool's entries for p[0..n-1] (cert_sha256 in lower case), made
 * where the pool has none equal, in a new array *out of n pointers
 * (free() it; the entries stay the pool's).  Entries made before a
 * failure stay in the pool.  OB_ERR_ALLOC.
 */
int svc_peer_pool_table(struct svc_peer_pool *pool,
    const struct ob_svc_peer *p, size_t n,
    const struct ob_svc_peer ***out) OB_WUR;

/* Frees every entry: no pointer the pool gave out may be used after. */
void svc_peer_pool_free(struct svc_peer_pool *pool);

#endif
