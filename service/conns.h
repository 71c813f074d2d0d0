/*
 * A connection cap and deadline for a plain-HTTP evhttp listener: the
 * proxy's Agent API (docs/proxy.md, "Limits") and every daemon's metrics
 * listener (docs/service.md, "Limits").  Both are any local user's to
 * connect to, and evhttp's inactivity timeout is reset by every byte a
 * slow client trickles, so without these one user could hold the
 * daemon's descriptors (which its TLS listener needs too) for as long as
 * it liked.
 *
 * At most max_conns connections are open at once, each under a deadline
 * of timeout_s for everything but its requests' own work.  A connection's
 * deadline runs from its accept to its first whole request, stops while a
 * request is worked on (ob_svc_conns_busy), and runs again from the first
 * byte of the reply: through the reply's write, the idle keep-alive time
 * and the next request's headers and body.  At the deadline the socket is
 * shut down and evhttp frees the connection.  A connection beyond
 * max_conns is answered 503 with the configured code and Retry-After: 1
 * and closed at once.  Loop thread only.
 */
#ifndef OB_SVC_CONNS_H
#define OB_SVC_CONNS_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ownerbind/ob_err.h"

struct ob_svc_conns;

struct ob_svc_conns_stats {
	unsigned long long	accepted, refused, cut;
	unsigned		open;
};

/* busy_code: the public code of the 503 (an ob_err.h name, copied).
 * Errors: OB_ERR_ALLOC. */
int ob_svc_conns_new(unsigned max_conns, unsigned timeout_s,
    const char *busy_code, struct ob_svc_conns **out) OB_WUR;

/* For evhttp_set_bevcb (arg: the ob_svc_conns). */
struct bufferevent *ob_svc_conns_bevcb(struct event_base *base, void *arg);

/* req's connection is worked on (busy 1: its deadline stops) until the
 * reply's first byte starts it again. */
void ob_svc_conns_busy(struct ob_svc_conns *cs,
    struct evhttp_request *req);

/* For the log line at stop. */
void ob_svc_conns_stats(const struct ob_svc_conns *cs,
    struct ob_svc_conns_stats *st);

/* After evhttp_free (which frees every connection). */
void ob_svc_conns_free(struct ob_svc_conns **csp);

#endif
