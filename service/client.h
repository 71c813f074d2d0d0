/*
 * The one outbound HTTPS client (libcurl): one request over mutual TLS to
 * an ownerbind daemon, nothing trusted but the CA file given.  `ownerbind
 * submit` and ownerbind-proxy use it.  A transfer that fails maps to one
 * code with curl's words in the detail (docs/errors.md):
 * OB_ERR_SUBMIT_CONNECT (no server, refused), OB_ERR_SUBMIT_TIMEOUT,
 * OB_ERR_SUBMIT_UNKNOWN_CA, OB_ERR_SUBMIT_HOSTNAME, OB_ERR_SUBMIT_EXPIRED,
 * OB_ERR_SUBMIT_TLS (the peer refused the handshake), OB_ERR_SUBMIT_RESPONSE
 * (an answer over OB_CLIENT_MAX_REPLY), OB_ERR_IO (our files), OB_ERR_ALLOC.
 * Any HTTP status is a success here: the caller reads it.
 * Thread-safe once ob_client_global_init() has run (on the main thread).
 */
#ifndef OB_SERVICE_CLIENT_H
#define OB_SERVICE_CLIENT_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_CLIENT_MAX_REPLY	(1024 * 1024)

/* PEM files: the server's CA, this client's certificate and its key. */
struct ob_client_tls {
	const char	*ca;
	const char	*cert;
	const char	*key;
};

struct ob_client_reply {
	long	 status;
	char	*body;		/* NUL-terminated, NULL when empty */
	size_t	 len;
	char	 request_id[64]; /* X-Request-Id, "" when absent */
};

/* curl_global_init, once, before any thread calls ob_client_request. */
int ob_client_global_init(void) OB_WUR;

/*
 * method "GET" (body NULL) or "POST" (content_type names the body) to
 * url, an https:// URL.  timeout_ms bounds the whole exchange.  On OB_OK
 * *out is filled (release with ob_client_reply_clear); otherwise it is
 * zeroed.
 */
int ob_client_request(const struct ob_client_tls *tls, const char *method,
    const char *url, const char *content_type, const void *body, size_t len,
    long timeout_ms, struct ob_client_reply *out) OB_WUR;

/*
 * A JSON POST with "Authorization: Bearer bearer" (bearer NULL: none),
 * the server's ping notifications; the header is wiped once curl has it.
 */
int ob_client_request_bearer(const struct ob_client_tls *tls,
    const char *url, const void *body, size_t len, const char *bearer,
    long timeout_ms, struct ob_client_reply *out) OB_WUR;

/*
 * The same over a local unix socket, plain HTTP (the proxy's Agent API):
 * path is the request target ("/v1/credentials?agent=..."); no TLS, the
 * kernel identifies both ends.  OB_ERR_AGENT_CONNECT when nothing
 * listens at socket, OB_ERR_SUBMIT_TIMEOUT, OB_ERR_SUBMIT_RESPONSE.
 */
int ob_client_unix_request(const char *socket, const char *method,
    const char *path, const char *content_type, const void *body, size_t len,
    long timeout_ms, struct ob_client_reply *out) OB_WUR;

void ob_client_reply_clear(struct ob_client_reply *rp);

#endif
