/*
 * The agent requests the gateway has in hand or has had answered
 * (docs/gateway.md, "Replays"; decision 169), so that its HSM signs an
 * agent's request at most once while the library would still accept it.
 *
 * A request is named by its agent key and jti ("jkt:jti").  begin takes
 * it in hand, or refuses it (OB_ERR_REPLAY) when it is in hand already or
 * was spent: signed, forwarded and answered by the identity server with a
 * final answer.  end says how it went: spent (kept until `until`, the
 * last second the library accepts the envelope), or not (forgotten: a
 * retry of the same envelope is served, as after a 5xx, a refusal before
 * signing or no answer from the server).  The identity server's replay
 * state stays the authority: this table is bounded (cap) and forgets the
 * oldest spent requests first, and a gateway restarted, or another
 * gateway, knows none of them.  Thread-safe.
 */
#ifndef OB_GW_SEEN_H
#define OB_GW_SEEN_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/* Requests in hand and spent, at most (about 10 MB). */
#define OB_GW_SEEN_MAX	65536

struct ob_gw_seen;

struct ob_gw_seen_stats {
	size_t			held;		/* in hand and spent, now */
	unsigned long long	refused;	/* replays refused */
	unsigned long long	evicted;	/* spent, forgotten early */
};

/* Errors: OB_ERR_ALLOC, OB_ERR_INVALID_ARG (cap 0). */
int ob_gw_seen_new(size_t cap, struct ob_gw_seen **out) OB_WUR;
void ob_gw_seen_free(struct ob_gw_seen **sp);

/*
 * Take jkt:jti in hand until end.  OB_ERR_REPLAY (the detail says
 * whether it is in hand or spent), OB_ERR_SVC_UNAVAILABLE when every
 * place holds a request in hand, OB_ERR_ALLOC.
 */
int ob_gw_seen_begin(struct ob_gw_seen *s, const char *jkt, const char *jti,
    long long until, long long now) OB_WUR;
/* The request begun is done: spent (1) or forgotten (0). */
void ob_gw_seen_end(struct ob_gw_seen *s, const char *jkt, const char *jti,
    int spent);

void ob_gw_seen_stats(struct ob_gw_seen *s, struct ob_gw_seen_stats *st);

#endif
