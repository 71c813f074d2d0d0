/*
 * The service layer every ownerbind daemon shares: HTTP/1.1 over TLS 1.2
 * or 1.3 with a required client certificate, on one libevent 2.1 event
 * loop, with a bounded pool of worker threads for the slow work
 * (verification, signing).  docs/service.md describes the behaviour a
 * client sees; this header the API a daemon uses.
 *
 * Threads: ob_svc_new, ob_svc_route, ob_svc_on_reload, ob_svc_start,
 * ob_svc_run and ob_svc_free are called from the thread that runs the
 * loop.  ob_svc_new starts no thread: the workers start with ob_svc_start
 * (or ob_svc_run), so that a daemon can sandbox itself in between.  A handler
 * registered with on_worker = 1 runs on a worker thread; every other
 * handler and every reload callback runs on the loop thread.  The request
 * accessors and the replies may be called from whichever thread runs the
 * handler.
 *
 * Ownership: a struct ob_svc_req belongs to the service.  It is valid from
 * the handler's call until the handler's reply; the handler must reply
 * exactly once (later from another thread is allowed, but never twice),
 * and must not touch the request after replying.  Strings returned by the
 * accessors live as long as the request.
 *
 * Errors: the service answers every failure itself with an RFC 9457
 * problem body (application/problem+json: type, title, status, code,
 * request_id) whose code is ob_err_public() of the internal code; the
 * internal name and the detail go to the log only.
 */
#ifndef OB_SERVICE_SVC_H
#define OB_SERVICE_SVC_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"

struct ob_svc;
struct ob_svc_req;

/*
 * PEM files; re-read on SIGHUP.  client_cert_optional (0 by default: a
 * client certificate is required) lets a client connect without one, for
 * a service whose clients authenticate at the transport layer or in the
 * request (a relying party accepting a WIC or a WIT with its WPT).  A
 * certificate that is presented must still verify against client_ca, or
 * the handshake fails.
 */
struct ob_svc_tls_cfg {
	const char	*cert;		/* server certificate (chain) */
	const char	*key;		/* its private key */
	const char	*client_ca;	/* CAs that issue client certificates */
	int		 client_cert_optional;
};

/*
 * A configured client.  A verified client certificate maps to the first
 * entry whose cert_sha256 (64 hex digits, SHA-256 of the DER) equals the
 * certificate's, or else whose san_uri equals one of its URI SANs.  Each
 * entry needs at least one of the two.  With client_cert_optional the
 * list may be empty, and a request without a certificate, or with one
 * that maps to no entry, reaches its handler with no peer.
 */
struct ob_svc_peer {
	const char	*id;
	const char	*role;
	const char	*san_uri;	/* or NULL */
	const char	*cert_sha256;	/* or NULL */
};

/* Zero means the default (in brackets). */
/* Connections open at once on the metrics listener (service/conns.h). */
#define OB_SVC_METRICS_MAX_CONNS	64

struct ob_svc_limits {
	size_t	max_body;	/* request body bytes [65536] */
	size_t	max_headers;	/* request line and headers [8192] */
	int	max_conns;	/* open TLS connections [512] */
	int	timeout_s;	/* read, write, headers, idle [10] */
	int	workers;	/* worker threads [2] */
	int	queue;		/* requests waiting for a worker [64] */
	int	drain_s;	/* SIGTERM: wait at most this long [30] */
};

struct ob_svc_cfg {
	const char		*name;		/* in the log ["ownerbind"] */
	const char		*listen;	/* "127.0.0.1:8443"; port 0 picks */
	const char		*metrics_listen; /* plain HTTP; loopback; or NULL */
	struct ob_svc_tls_cfg	 tls;
	const struct ob_svc_peer *peers;	/* copied */
	size_t			 npeers;
	struct ob_svc_limits	 limits;
};

typedef void (*ob_svc_handler)(struct ob_svc_req *, void *arg);

/*
 * ob_svc_new: load the TLS files, bind the listeners (not yet serving).
 * OB_ERR_SVC_CONFIG, OB_ERR_SVC_TLS, OB_ERR_SVC_LISTEN, OB_ERR_ALLOC.
 * Call evthread-safe libraries' setup (none needed) before; the service
 * calls evthread_use_pthreads() itself.
 */
int ob_svc_new(const struct ob_svc_cfg *cfg, struct ob_svc **out) OB_WUR;

/*
 * ob_svc_route: serve method ("GET", "POST", ...) on path (exact match;
 * a path ending in / matches it followed by one segment of 1..64
 * characters of [A-Za-z0-9_-], which the handler reads from the path).
 * content_type, when not NULL, is the one media type accepted (parameters
 * such as charset are ignored; others get 415).  Same path, other method:
 * 405 with Allow; unknown path: 404.
 */
int ob_svc_route(struct ob_svc *svc, const char *method, const char *path,
    const char *content_type, int on_worker, ob_svc_handler fn, void *arg)
    OB_WUR;

/*
 * A route served to clients without a mapped peer (a browser): only with
 * tls.client_cert_optional; once one exists, every other route refuses a
 * request without a mapped peer (403 OB_ERR_SVC_PEER_UNKNOWN).
 */
int ob_svc_route_public(struct ob_svc *svc, const char *method,
    const char *path, const char *content_type, int on_worker,
    ob_svc_handler fn, void *arg) OB_WUR;
/*
 * The same for a handle route (path ending in "/") whose handle is a
 * bearer secret (an enrolment invite): logs and ob_svc_req_log_path show
 * only its first 8 characters, for every request under the path, also
 * those refused before a route matched.
 */
int ob_svc_route_public_secret(struct ob_svc *svc, const char *method,
    const char *path, const char *content_type, int on_worker,
    ob_svc_handler fn, void *arg) OB_WUR;

/*
 * Replace the peers (copied, checked as ob_svc_new checks them), on the
 * loop thread only: from a reload callback.  Every connection maps its
 * certificate again at its next request (a removed peer is refused even
 * on a connection opened before); requests in flight keep the peer they
 * had.  Entries are kept by content until ob_svc_free (decision 157):
 * what a request or a handler was given stays valid, and a reload that
 * lists the same peers keeps nothing more.  On an error nothing changed.  OB_ERR_SVC_CONFIG, OB_ERR_ALLOC.
 */
int ob_svc_set_peers(struct ob_svc *svc, const struct ob_svc_peer *peers,
    size_t npeers) OB_WUR;

/* SIGHUP: fn(arg) after the TLS files are reloaded; non-OB_OK is logged. */
int ob_svc_on_reload(struct ob_svc *svc, int (*fn)(void *), void *arg)
    OB_WUR;

/*
 * ob_svc_on_refusal: fn is called (on the loop thread) for every request
 * the service refuses itself before a handler runs: unknown peer, 404,
 * 405, 415, full queue, draining; so that a daemon can record those
 * decisions too.  The request accessors are valid during the call (the
 * peer may be NULL).  What is refused below HTTP, or by libevent while it
 * reads a request, goes to ob_svc_on_conn_refusal instead.
 */
typedef void (*ob_svc_refusal_fn)(struct ob_svc_req *req, int status,
    int code, const char *detail, void *arg);
int ob_svc_on_refusal(struct ob_svc *svc, ob_svc_refusal_fn fn, void *arg)
    OB_WUR;

/*
 * ob_svc_on_conn_refusal: fn is called (on the loop thread) for every
 * refusal that happens without a request a handler could see:
 *   - a TLS handshake that failed: no client certificate, one not issued
 *     by a configured CA, a protocol error (status 0,
 *     OB_ERR_SVC_HANDSHAKE; detail: the alert sent and the verify result);
 *   - a handshake or a request not complete by the deadline, e.g. a
 *     slowloris client (408, OB_ERR_SVC_TIMEOUT);
 *   - a request libevent refused while reading it: malformed request line
 *     or headers (400, OB_ERR_SVC_BAD_REQUEST), headers or body over the
 *     limit (413, OB_ERR_SVC_TOO_LARGE).
 * A connection closed before it sent anything is not reported; one over
 * max_conns is logged and counted (ob_tls_connections_refused_total) only.  The event
 * and its strings are valid during the call only.
 */
struct ob_svc_conn_event {
	const char	*request_id;	/* fresh, also in the log line */
	int		 status;	/* HTTP status sent, 0 for none */
	int		 code;
	const char	*detail;
	const char	*addr;		/* the client's address:port */
	const char	*peer_id;	/* the mapped peer or NULL */
	const char	*cert_sha256;	/* client certificate or "" */
};
typedef void (*ob_svc_conn_refusal_fn)(const struct ob_svc_conn_event *ev,
    void *arg);
int ob_svc_on_conn_refusal(struct ob_svc *svc, ob_svc_conn_refusal_fn fn,
    void *arg) OB_WUR;

/*
 * ob_svc_on_health: fn (on the loop thread, must not block) adds members
 * to the /healthz object and returns 1 when the daemon can serve, 0 when
 * it cannot (a dependency such as its signer helper is down): "ready" is
 * then false and the status 503.
 */
typedef int (*ob_svc_health_fn)(json_t *obj, void *arg);
int ob_svc_on_health(struct ob_svc *svc, ob_svc_health_fn fn, void *arg)
    OB_WUR;

/*
 * ob_svc_on_metrics: fn (on the loop thread, must not block) writes at
 * most size bytes of Prometheus text lines into buf, appended to
 * /metrics, and returns how many it wrote.
 */
typedef size_t (*ob_svc_metrics_fn)(char *buf, size_t size, void *arg);
int ob_svc_on_metrics(struct ob_svc *svc, ob_svc_metrics_fn fn, void *arg)
    OB_WUR;

/* The bound TCP ports (useful with port 0); -1 if none. */
int ob_svc_port(const struct ob_svc *svc);
int ob_svc_metrics_port(const struct ob_svc *svc);

/* ob_svc_start: start the worker threads (once; ob_svc_run does it too). */
int ob_svc_start(struct ob_svc *svc) OB_WUR;

/*
 * ob_svc_run: serve until SIGTERM or SIGINT, then stop accepting, drain
 * in-flight requests (at most drain_s) and return OB_OK.  Sends READY=1,
 * RELOADING=1 and STOPPING=1 to NOTIFY_SOCKET when it is set.
 */
int ob_svc_run(struct ob_svc *svc) OB_WUR;

/* Stop the workers and free everything; NULLs *svc; accepts NULL. */
void ob_svc_free(struct ob_svc **svc);

/*
 * A JSON line in the service's log (level "debug", "info", "warn",
 * "error"; event a short name; code OB_OK for none; detail never a
 * secret).  Any thread.
 */
void ob_svc_log(const struct ob_svc *svc, const char *level,
    const char *event, int code, const char *detail);

/*
 * The least level of line the log keeps: "debug" (the default: every
 * line), "info", "warn" or "error"; request lines are "info" below 400,
 * "warn" below 500, "error" from 500.  Any thread, at once (a reload).
 * Errors: OB_ERR_INVALID_ARG (another name; the level is unchanged).
 */
int ob_svc_set_log_level(struct ob_svc *svc, const char *level) OB_WUR;

/* Request accessors (valid until the reply). */
const char *ob_svc_req_method(const struct ob_svc_req *req);
const char *ob_svc_req_path(const struct ob_svc_req *req);
/* The path as the log shows it (a secret handle cut short); never NULL
 * once the path is known, else NULL. */
const char *ob_svc_req_log_path(struct ob_svc_req *req);
const char *ob_svc_req_query(const struct ob_svc_req *req); /* or NULL */
/* The body, NUL-terminated (the NUL is not counted). */
const char *ob_svc_req_body(const struct ob_svc_req *req, size_t *len);
/* The first value of a request header (case-insensitive), or NULL. */
const char *ob_svc_req_header(const struct ob_svc_req *req, const char *name);
/* 16 hex digits, also sent as X-Request-Id and in every log line. */
const char *ob_svc_req_id(const struct ob_svc_req *req);
/* The mapped peer's id and role; NULL in a refusal callback for a
 * certificate that maps to no configured peer (handlers always have one). */
const char *ob_svc_req_peer_id(const struct ob_svc_req *req);
/* The client's IP address as the handshake saw it ("-" unknown). */
const char *ob_svc_req_peer_ip(const struct ob_svc_req *req);
const char *ob_svc_req_peer_role(const struct ob_svc_req *req);
/* Hex SHA-256 of the client certificate's DER ("" without one). */
const char *ob_svc_req_peer_cert_sha256(const struct ob_svc_req *req);
/*
 * With client_cert_optional: the certificates the client presented, as
 * DER one after the other, its own first (what ob_rp_verify_wic reads);
 * NULL without a certificate, or when certificates are required.  The
 * handshake verified the chain to client_ca and the client's key.
 */
const unsigned char *ob_svc_req_peer_chain(const struct ob_svc_req *req,
    size_t *len);
/* How many times a request header appears (case-insensitive). */
size_t ob_svc_req_header_count(const struct ob_svc_req *req,
    const char *name);

/*
 * Parking (a long-poll): a handler on the loop thread (on_worker 0) may
 * park its request instead of replying, so that no worker waits.  fn is
 * called once, on the loop thread: OB_SVC_PARK_WOKEN after
 * ob_svc_wake(svc, key) with the same key (left_ms: what is left of
 * wait_ms), OB_SVC_PARK_TIMEOUT when wait_ms have passed, or
 * OB_SVC_PARK_DRAIN when SIGTERM starts draining.  fn must reply, or
 * (only when woken) park the request again.  A parked request counts as
 * in flight; a client that goes away meanwhile is answered into the void.
 * key: 1..4096 bytes, copied.  Errors (the request is not parked; reply
 * to it): OB_ERR_SVC_UNAVAILABLE (draining), OB_ERR_INVALID_ARG (not on
 * the loop thread, a bad key or wait), OB_ERR_ALLOC.
 */
enum ob_svc_park_why {
	OB_SVC_PARK_WOKEN = 1,
	OB_SVC_PARK_TIMEOUT,
	OB_SVC_PARK_DRAIN,
};
typedef void (*ob_svc_park_fn)(struct ob_svc_req *req,
    enum ob_svc_park_why why, long long left_ms, void *arg);
int ob_svc_park(struct ob_svc_req *req, const char *key, long long wait_ms,
    ob_svc_park_fn fn, void *arg) OB_WUR;
/* Wake the requests parked under key (any thread; a later park under
 * the same key is not woken by it).  Keys are kept until the loop takes
 * them, at most 256; beyond that every parked request is woken. */
void ob_svc_wake(struct ob_svc *svc, const char *key);
/* Requests parked now, in all or under key (loop thread). */
size_t ob_svc_parked(const struct ob_svc *svc);
size_t ob_svc_parked_key(const struct ob_svc *svc, const char *key);

/*
 * Replies: exactly one per request.  ob_svc_reply_json sends body
 * (content_type NULL: application/json).  ob_svc_reply_problem sends a
 * problem whose code is ob_err_public(code); ob_err_name(code) and
 * detail_for_log go to the log only.  OB_ERR_ALLOC, OB_ERR_INVALID_ARG (the
 * request is then answered 500, never left open).
 */
int ob_svc_reply_json(struct ob_svc_req *req, int status, const json_t *body,
    const char *content_type);
/* Send Retry-After: seconds with the reply (429, 503); before replying. */
void ob_svc_req_set_retry_after(struct ob_svc_req *req, int seconds);
/* Send Retry-After: seconds (> 0) with the reply; before replying. */
void ob_svc_req_retry_after(struct ob_svc_req *req, int seconds);
/* A browser page or its script (the body is copied), with a strict
 * Content-Security-Policy and the other headers pages get. */
int ob_svc_reply_page(struct ob_svc_req *req, int status, const char *ctype,
    const void *body, size_t len);
int ob_svc_reply_problem(struct ob_svc_req *req, int status, int code,
    const char *title, const char *detail_for_log);

/*
 * RFC 9112 section 6.3: ev has two Content-Length headers, or one beside
 * Transfer-Encoding, so it has no one length (evhttp read its body by the
 * first it met).  For a daemon that serves HTTP with evhttp outside this
 * layer (ownerbind-proxy's Agent API).
 */
struct evhttp_request;
int ob_svc_framing_ambiguous(struct evhttp_request *ev);

#endif
