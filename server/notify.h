/*
 * The ping callback of the server-mediated model (docs/server-mediated.md,
 * docs/api.md "Ping callback"): when a held request that asked for a ping
 * is issued, denied or expires, its client's configured callback gets a
 * POST {"handle", "status"} with the request's notification token as a
 * bearer token.  The POSTs go out from a small process forked before any
 * thread and before the server's sandbox (its own sandbox allows TCP out,
 * the server's does not); a thread of the server hands it notifications
 * over a socket pair without ever waiting on it and reads back what
 * became of each.  The process is its own program, ownerbind-notifier,
 * so that libcurl is never loaded into the server.
 */
#ifndef OB_SERVER_NOTIFY_H
#define OB_SERVER_NOTIFY_H

#include <stddef.h>

#include "ownerbind/ob_err.h"
#include "server/challenge.h"
#include "server/config.h"

#define OB_NOTIFY_TOKEN_MAX	1024
#define OB_NOTIFY_TRIES		3	/* one try and two retries */
#define OB_NOTIFY_TIMEOUT_MS	2000	/* per try */
#define OB_NOTIFY_BACKOFF_MS	500	/* doubled per retry */

struct ob_notifier;

typedef void (*ob_notify_log_fn)(void *arg, const char *level, int code,
    const char *detail);

/*
 * Start the notifier program at path (ownerbind-notifier) when any client
 * has a callback (else *out is NULL and every other call is a no-op).
 * Before any thread exists.
 * Errors: OB_ERR_IO (socketpair, fork), OB_ERR_ALLOC.
 */
int ob_notifier_open(const struct ob_server_config *cfg, const char *path,
    struct ob_notifier **out) OB_WUR;

/* Start the thread that takes t's due notifications (ob_chal_notes). */
int ob_notifier_start(struct ob_notifier *n, struct ob_chal_table *t,
    ob_notify_log_fn log, void *arg) OB_WUR;

/* Prometheus lines: pings delivered and dropped. */
size_t ob_notifier_metrics(struct ob_notifier *n, char *buf, size_t size);

/* A token a request may carry: 1 to OB_NOTIFY_TOKEN_MAX of 0x21..0x7e. */
int ob_notify_token_ok(const char *s);

void ob_notifier_free(struct ob_notifier **np);

#endif
