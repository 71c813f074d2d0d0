/*
 * The requests a gateway holds until enough owners approved them
 * (docs/gateway.md, "Approvals").  A request whose rule asks for k of n
 * named owners waits here, its HTTP request unanswered, until k distinct
 * owners among the n have posted a valid approval (core/approval.h) of
 * exactly this request, or until the approval timeout: then the callback
 * runs (with OB_OK, or OB_ERR_APPROVAL_TIMEOUT), and the request leaves
 * the queue.  An approval by someone not named, a second one by the same
 * owner, one for another request or another gateway, or one whose
 * signature does not verify with the owner's key in the trust store does
 * not count.
 */
#ifndef OB_GATEWAY_APPROVAL_H
#define OB_GATEWAY_APPROVAL_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"

struct ob_gw_pending;
struct ob_gw_decision;
struct ob_envelope;
struct ob_svc_req;
struct ob_trust;

/*
 * Called once per held request, without the queue's lock, on the thread
 * that completed it (the k-th approval's, or the expiry thread); it owns
 * nothing: req is answered by it, env is freed after it returns.
 */
typedef void (*ob_gw_pending_fn)(void *arg, struct ob_svc_req *req,
    struct ob_envelope *env, const char *proxy, const char *rule, int code,
    const char *detail);

int ob_gw_pending_new(const char *gateway_id, unsigned timeout_s,
    ob_gw_pending_fn fn, void *arg, struct ob_gw_pending **out) OB_WUR;
/* The expiry thread. */
int ob_gw_pending_start(struct ob_gw_pending *p) OB_WUR;
/* Stops the thread; every request still held is refused (timeout). */
void ob_gw_pending_free(struct ob_gw_pending **pp);

/* Hold req (the queue owns env on success). */
int ob_gw_pending_add(struct ob_gw_pending *p, struct ob_svc_req *req,
    struct ob_envelope *env, const char *proxy,
    const struct ob_gw_decision *d) OB_WUR;

/*
 * Count one approval (the body of POST /v1/approvals), checked against
 * the trust store.  *who is "OWNER (k/n)" for the log; *complete 1 when
 * it was the k-th.  OB_ERR_APPROVAL_UNKNOWN, OB_ERR_APPROVAL_INVALID.
 */
int ob_gw_pending_approve(struct ob_gw_pending *p, const struct ob_trust *t,
    const void *body, size_t len, char *who, size_t whosz, int *complete)
    OB_WUR;
/* Run the callbacks of the requests that are complete. */
void ob_gw_pending_run(struct ob_gw_pending *p);

/* The held requests as {"pending": [...]}, for ownerbind approve. */
int ob_gw_pending_list(struct ob_gw_pending *p, json_t **out) OB_WUR;
size_t ob_gw_pending_count(struct ob_gw_pending *p);

#endif
