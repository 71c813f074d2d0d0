/*
 * The Agent API's connections (docs/proxy.md, "Limits"): at most
 * max_conns open at once, and each under a deadline of timeout_s for
 * everything but its requests' own work.  The socket is any local user's
 * to connect to, and evhttp's inactivity timeout is reset by every byte a
 * slow client trickles, so without these one user could hold the proxy's
 * descriptors for as long as it liked.
 *
 * A connection's deadline runs from its accept to its first whole
 * request, stops while a request is worked on (ob_proxy_conns_busy), and
 * runs again from the first byte of the reply: through the reply's write,
 * the idle keep-alive time and the next request's headers and body.  At
 * the deadline the socket is shut down and evhttp frees the connection.
 * A connection beyond max_conns is answered 503 OB_ERR_PROXY_BUSY with
 * Retry-After: 1 and closed at once.  Loop thread only.
 */
#ifndef OB_PROXY_CONNS_H
#define OB_PROXY_CONNS_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ownerbind/ob_err.h"

struct ob_proxy_conns;

struct ob_proxy_conns_stats {
	unsigned long long	accepted, refused, cut;
	unsigned		open;
};

/* Errors: OB_ERR_ALLOC. */
int ob_proxy_conns_new(unsigned max_conns, unsigned timeout_s,
    struct ob_proxy_conns **out) OB_WUR;

/* For evhttp_set_bevcb (arg: the ob_proxy_conns). */
struct bufferevent *ob_proxy_conns_bevcb(struct event_base *base, void *arg);

/* req's connection is worked on (busy 1: its deadline stops) until the
 * reply's first byte starts it again. */
void ob_proxy_conns_busy(struct ob_proxy_conns *cs,
    struct evhttp_request *req);

/* For the log line at stop. */
void ob_proxy_conns_stats(const struct ob_proxy_conns *cs,
    struct ob_proxy_conns_stats *st);

/* After evhttp_free (which frees every connection). */
void ob_proxy_conns_free(struct ob_proxy_conns **csp);

#endif
