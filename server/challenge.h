/*
 * Held requests of the server-mediated model (docs/server-mediated.md):
 * the table of requests waiting for their owner's answer.  A request is
 * started by a proxy with an agent-only envelope, gets a handle, a nonce
 * bound to its jti and a binding code, and lives until its deadline; the
 * owner's responder lists its owner's requests and answers one; the proxy
 * polls the handle.  Every function is safe from any thread.
 *
 * The table is in memory: a restart forgets held requests (the proxy's
 * next poll gets OB_ERR_CHAL_UNKNOWN and starts again), while the nonce
 * is in the replay state, so an answer outlives nothing it should not.
 */
#ifndef OB_SERVER_CHALLENGE_H
#define OB_SERVER_CHALLENGE_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"
#include "core/binding_code.h"

#define OB_CHAL_HANDLE_CHARS	32	/* base64url of 24 random bytes */

struct ob_chal_table;

struct ob_chal_cfg {
	long long	deadline_s;
	long long	interval_s;
	size_t		max_pending;
};

/* What a start records (strings are copied). */
struct ob_chal_start {
	const char	*peer;		/* the proxy that may poll it */
	const char	*owner;
	const char	*agent;		/* sub */
	const char	*agent_jkt;
	const char	*aud;
	const char	*jti;
	const char	*envelope_sha256;
	const char	*nonce;
	long long	 lifetime;	/* exp - iat of the request */
	const char	*envelope;	/* the agent-only envelope */
	size_t		 envelope_len;
	const char	*notify_client;	/* NULL: no ping asked for */
	const char	*notify_token;	/* NULL: none */
	long long	 deadline_s;	/* 0: the table's */
};

/* A poll's outcome. */
enum ob_chal_status {
	OB_CHAL_PENDING = 1,
	OB_CHAL_ISSUED,		/* *cred is the credential response */
};

int ob_chal_table_new(const struct ob_chal_cfg *cfg,
    struct ob_chal_table **out) OB_WUR;
void ob_chal_table_free(struct ob_chal_table **tp);

/*
 * New limits (a reload), any thread: held requests keep their deadline;
 * the next hold and poll see these.  OB_ERR_INVALID_ARG.
 */
int ob_chal_set_cfg(struct ob_chal_table *t, const struct ob_chal_cfg *cfg)
    OB_WUR;

/*
 * Hold a request.  handle and code receive the handle and the binding
 * code.  Errors: OB_ERR_CHAL_OUTSTANDING (the agent key has a pending
 * request), OB_ERR_CHAL_FULL, OB_ERR_RANDOM, OB_ERR_ALLOC.
 */
int ob_chal_hold(struct ob_chal_table *t, const struct ob_chal_start *s,
    long long now, char handle[OB_CHAL_HANDLE_CHARS + 1],
    char code[OB_BINDING_CODE_CHARS + 1]) OB_WUR;

/*
 * The proxy's poll.  OB_OK with *status; OB_CHAL_ISSUED hands over *cred
 * (a new reference) once: the next poll is OB_ERR_CHAL_EXPIRED.  Errors:
 * OB_ERR_CHAL_UNKNOWN (no such handle, or another peer's),
 * OB_ERR_CHAL_SLOW_DOWN (sooner than the interval after the last poll),
 * OB_ERR_CHAL_EXPIRED, OB_ERR_CHAL_DENIED.
 */
int ob_chal_poll(struct ob_chal_table *t, const char *handle,
    const char *peer, long long now, enum ob_chal_status *status,
    json_t **cred) OB_WUR;

/*
 * The owner's pending requests as a JSON array (docs/api.md's challenge
 * objects).  Errors: OB_ERR_ALLOC.
 */
int ob_chal_list(struct ob_chal_table *t, const char *owner, json_t **out)
    OB_WUR;

/*
 * fn(owner, arg) is called, on the thread that caused it and with no lock
 * held, each time one of owner's requests becomes pending: held, or put
 * back by ob_chal_settle after an answer that did not verify.  fn NULL:
 * none.
 */
void ob_chal_on_pending(struct ob_chal_table *t,
    void (*fn)(const char *owner, void *arg), void *arg);

/*
 * The approval page's view of a pending request: *details (the challenge
 * object without nonce and request) and *protected_b64, the owner entry's
 * protected header the page's passkey signs over, made once by make()
 * (under the table's lock; NULL from it is a failure with a detail).
 * Errors: OB_ERR_CHAL_UNKNOWN, OB_ERR_CHAL_ANSWERED, OB_ERR_CHAL_EXPIRED,
 * OB_ERR_ALLOC.
 */
int ob_chal_web(struct ob_chal_table *t, const char *handle, long long now,
    char *(*make)(const char *owner, const char *env, size_t envlen,
    const char *nonce, void *arg), void *arg, char **protected_b64,
    json_t **details) OB_WUR;

/*
 * Claim a pending request to check an answer: *env (malloc'd, the agent-
 * only envelope) and nonce.  A responder's answer names its owner; the
 * page's (web_protected not NULL) is any owner's, whose passkey must then
 * sign over *web_protected (malloc'd), the header ob_chal_web made.
 * Until ob_chal_settle the request is busy: a concurrent answer gets
 * OB_ERR_CHAL_ANSWERED.  Errors: OB_ERR_CHAL_UNKNOWN, OB_ERR_CHAL_OWNER
 * (another owner's request), OB_ERR_CHAL_ANSWER (no page was loaded),
 * OB_ERR_CHAL_ANSWERED, OB_ERR_CHAL_EXPIRED, OB_ERR_ALLOC.
 */
int ob_chal_claim(struct ob_chal_table *t, const char *handle,
    const char *owner, long long now, char **env, size_t *envlen,
    char nonce[64], char **web_protected) OB_WUR;

/* A copy of the held agent-only envelope (NUL-terminated, malloc'd).
 * Errors: OB_ERR_CHAL_UNKNOWN, OB_ERR_ALLOC. */
int ob_chal_payload(struct ob_chal_table *t, const char *handle, char **env)
    OB_WUR;

/*
 * Settle a claimed request: code OB_OK with cred (referenced) issues it;
 * OB_ERR_CHAL_DENIED refuses it; OB_ERR_CHAL_FAILED ends it (the answer
 * was accepted, so its nonce and the request's jti are spent, and the
 * credential could not be issued: the proxy's poll gets the code); any
 * other code puts it back to pending (the answer did not verify: the
 * owner may answer again).
 */
void ob_chal_settle(struct ob_chal_table *t, const char *handle, int code,
    json_t *cred);

/*
 * The ping notifications now due (docs/api.md, "Ping callback"): a JSON
 * array of {"client", "handle", "status", "token"} for each request held
 * with notify_client that was issued, denied or has passed its deadline
 * since the last call, each once.  Errors: OB_ERR_ALLOC.
 */
int ob_chal_notes(struct ob_chal_table *t, long long now, json_t **out)
    OB_WUR;

/* Held requests now (for /healthz and tests). */
size_t ob_chal_count(struct ob_chal_table *t);

#endif
