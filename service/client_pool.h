/*
 * An HTTPS client with a client certificate, on libcurl: what a daemon
 * uses to call another (the gateway the identity server; the proxy
 * later).  Connections are kept alive in a small pool of easy handles,
 * one in use per calling thread at a time.
 *
 * Threads: ob_http_client_new calls curl_global_init, so call it before
 * the process starts threads; ob_http_post may then be called from any
 * thread.  Nothing is signalled (CURLOPT_NOSIGNAL): deadlines are
 * libcurl's own timeouts.
 */
#ifndef OB_SERVICE_CLIENT_POOL_H
#define OB_SERVICE_CLIENT_POOL_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_HTTP_MAX_REPLY	(1 << 20)	/* reply body bytes */

struct ob_http_client;

/* Zero means the default (in brackets). */
struct ob_http_client_cfg {
	const char	*base_url;	/* "https://host:port", no path */
	const char	*ca;		/* PEM: CAs of the server's certificate */
	const char	*cert;		/* PEM: this client's certificate chain */
	const char	*key;		/* PEM: its key */
	long		 timeout_ms;	/* a whole request [10000] */
	long		 connect_timeout_ms; /* [2000] */
	int		 pool;		/* idle connections kept [16] */
};

struct ob_http_reply {
	long	 status;
	char	*body;		/* NUL-terminated; NULL if empty */
	size_t	 len;
	char	 content_type[128];
	int	 retry_after;	/* seconds; 0 if none */
};

/* OB_ERR_INVALID_ARG (an argument missing), OB_ERR_ALLOC. */
int ob_http_client_new(const struct ob_http_client_cfg *cfg,
    struct ob_http_client **out) OB_WUR;
void ob_http_client_free(struct ob_http_client **cp);

/*
 * POST body to base_url path with content_type and the extra headers
 * ("Name: value", NULL-terminated; may be NULL).  OB_OK for any HTTP
 * answer (rep->status says which); OB_ERR_UPSTREAM_TIMEOUT when the
 * deadline passed, OB_ERR_UPSTREAM_UNAVAILABLE when no answer came (no
 * connection, TLS refused), OB_ERR_UPSTREAM_REPLY for a reply over
 * OB_HTTP_MAX_REPLY, OB_ERR_ALLOC.  Clear rep with ob_http_reply_clear.
 */
int ob_http_post(struct ob_http_client *c, const char *path,
    const char *content_type, const char *const *headers, const void *body,
    size_t len, struct ob_http_reply *rep) OB_WUR;
void ob_http_reply_clear(struct ob_http_reply *rep);

#endif
