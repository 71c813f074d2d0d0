/*
 * One bounded queue in front of an HSM (the gateway's signer key): at
 * most in_flight signatures at once (ownerbind-signer takes several on one
 * connection), at most depth requests waiting, each with a deadline, so that a slow or stuck HSM sheds load (503) instead of
 * piling up requests that wait forever.
 */
#ifndef OB_GATEWAY_HSMQ_H
#define OB_GATEWAY_HSMQ_H

#include "ownerbind/ob_err.h"

struct ob_hsmq;

int ob_hsmq_new(unsigned depth, unsigned in_flight, struct ob_hsmq **out)
    OB_WUR;
void ob_hsmq_free(struct ob_hsmq **qp);

/*
 * Wait for the HSM until deadline (CLOCK_MONOTONIC milliseconds).
 * OB_ERR_GATEWAY_QUEUE_FULL at once when depth requests already wait;
 * OB_ERR_GATEWAY_DEADLINE when the deadline passed first.  On OB_OK the
 * caller signs, then calls ob_hsmq_leave.
 */
int ob_hsmq_enter(struct ob_hsmq *q, long long deadline_ms) OB_WUR;
void ob_hsmq_leave(struct ob_hsmq *q);

/* Requests waiting now, and the capacity (for /metrics). */
unsigned ob_hsmq_depth(struct ob_hsmq *q, unsigned *capacity,
    unsigned long long *refused);

long long ob_hsmq_now_ms(void);

#endif
