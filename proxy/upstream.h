/*
 * The proxy's side of the server and gateway API (SERVICES.md "API",
 * docs/proxy.md "Routes"): POST an envelope to /v1/credentials over
 * mutual TLS with the proxy's own certificate, retrying what may pass
 * later with a doubling backoff inside one deadline, and, for a
 * server-mediated request (202), polling /v1/requests/H until the owner
 * answers.
 */
#ifndef OB_PROXY_UPSTREAM_H
#define OB_PROXY_UPSTREAM_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"
#include "proxy/proxy_config.h"

/* A credential, or what the upstream said when it refused. */
struct ob_proxy_result {
	json_t		*answer;	/* the 201's object, or NULL */
	long long	 expires_at;
	char		 code[64];	/* the upstream's public code or "" */
	char		 request_id[64];
	long		 status;	/* the last HTTP status, 0 for none */
};

/*
 * Obtain a credential for env from u.  OB_OK: out->answer is the 201
 * object {"wit","wic","expires_at","owner"} (json_decref it).  Otherwise
 * out->code, request_id and status say what the upstream answered, and
 * the code is OB_ERR_PROXY_UPSTREAM_DOWN (no connection, or 5xx/429 until
 * the deadline), OB_ERR_PROXY_DEADLINE (no answer in time),
 * OB_ERR_PROXY_TLS, OB_ERR_PROXY_UPSTREAM_REFUSED (a 4xx),
 * OB_ERR_PROXY_UPSTREAM_RESPONSE, OB_ERR_PROXY_DENIED,
 * OB_ERR_PROXY_EXPIRED (server-mediated), OB_ERR_ALLOC.
 */
int ob_proxy_obtain(const struct ob_proxy_config *cfg,
    const struct ob_proxy_upstream *u, const char *env, size_t len,
    struct ob_proxy_result *out) OB_WUR;

void ob_proxy_result_clear(struct ob_proxy_result *res);

/* The 201 body's shape: OB_OK and *expires_at, or OB_ERR_PROXY_UPSTREAM_RESPONSE. */
int ob_proxy_check_credential(const json_t *o, long long *expires_at) OB_WUR;

#endif
