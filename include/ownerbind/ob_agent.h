/*
 * The agent's side of ownerbind-proxy's Agent API (docs/proxy.md): ask
 * the local identity proxy for a credential, and keep it until shortly
 * before it expires.  The agent signs its own envelopes (ownerbind
 * request / sign / pop, or its own code): this library never sees a key.
 *
 * Ownership: an ob_agent handle belongs to one thread at a time; the
 * strings of a struct ob_agent_cred live until ob_agent_cred_free.
 * Errors: ob_err.h codes; OB_ERR_AGENT_CONNECT (no proxy at the socket),
 * OB_ERR_AGENT_RESPONSE, or the proxy's own code (OB_ERR_PROXY_*), with
 * its sentence and next step in ob_err_text/ob_err_hint and the proxy's
 * detail in ob_err_detail.
 */
#ifndef OWNERBIND_OB_AGENT_H
#define OWNERBIND_OB_AGENT_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The socket used when none is named: $OWNERBIND_PROXY_SOCKET, else this. */
#define OB_AGENT_SOCKET	"/run/ownerbind/proxy.sock"

struct ob_agent;

struct ob_agent_cred {
	char		*agent_id;
	char		*wit;		/* compact JWS */
	char		*wic;		/* PEM: leaf, then chain */
	long long	 expires_at;	/* the WIT's exp */
	int		 cached;	/* the proxy served one it held */
	/* An approval window (docs/proxy.md, "Renewal"); 0 and NULL: none. */
	long long	 renew_at;	/* renew from then on */
	long long	 renew_until;	/* the window's end */
	char		*approval;	/* the approval's jti, for renews */
};

/* socket NULL: the default above.  *out is a new handle. */
int ob_agent_new(const char *socket, struct ob_agent **out) OB_WUR;
void ob_agent_free(struct ob_agent **ap);

/*
 * A credential for agent_id.  With an envelope (owner-signed for an
 * agent-mediated entry, agent-only otherwise, or a renewal with renewal
 * set): POSTed to the proxy.  Without (envelope NULL): the handle's own
 * copy while it is valid for more than min_valid seconds, else the one
 * the proxy holds.  *out is a new copy (ob_agent_cred_free).
 */
int ob_agent_get(struct ob_agent *a, const char *agent_id,
    const char *envelope, size_t len, int renewal, long long min_valid,
    struct ob_agent_cred **out) OB_WUR;

/*
 * 1 when c should be renewed at now: past its renew_at and inside its
 * window.  The agent then makes the renewal itself (same sub, aud, owner
 * and key, renews = c->approval, exp at most renew_until), signs it with
 * its own key, and passes it to ob_agent_get with renewal set.
 */
int ob_agent_renewal_due(const struct ob_agent_cred *c, long long now);

void ob_agent_cred_free(struct ob_agent_cred **cp);

#ifdef __cplusplus
}
#endif

#endif
