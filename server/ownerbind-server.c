/*
 * ownerbind-server: the identity server.  It verifies owner-binding
 * envelopes with libownerbind-verify's one code path and issues the
 * agent a dual-identity credential (WIT + WIC) over mutual TLS.
 * docs/server.md (configuration, signals), docs/api.md (endpoints).
 *
 * It holds no private key but its TLS key: the issuer key is in
 * ownerbind-signer, reached through tokens/remote.c (the only token
 * backend this program links), which its launcher starts before the
 * server sandboxes itself.
 *
 *   ownerbind-server --config FILE
 *   ownerbind-server --check-config FILE
 *   ownerbind-server --dev DIR [--listen ADDR:PORT]
 *   ownerbind-server audit verify [--continued] FILE...
 */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "server-verify/verify_int.h"
#include "server/answer.h"
#include "server/approval_page.h"
#include "server/audit.h"
#include "server/challenge.h"
#include "server/enrol.h"
#include "common/cliutil.h"
#include "server/config.h"
#include "server/devmode.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/envelope.h"
#include "core/json.h"
#include "core/err.h"
#include "core/webauthn.h"
#include "server/issuer.h"
#include "server/pipe.h"
#include "common/process.h"
#include "common/sandbox.h"
#include "server/rate.h"
#include "server-verify/redis.h"
#include "server/notify.h"
#include "server-verify/state.h"
#include "server-verify/trust.h"
#include "service/svc.h"
#include "service/svc_peer_table.h"
#include "tokens/token.h"
#include "tokens/remote.h"
#include "tokens/pin.h"

#define PROG		"ownerbind-server"
#define PROXY_HEADER	"Ownerbind-Proxy"
#define MAX_PROXY_ID	128
#define PIPE_BATCH	64		/* requests per replay commit */

/*
 * One configuration, immutable once published: a request takes a
 * reference at its start and finishes with it, whatever SIGHUP does
 * meanwhile (decision 146).
 */
struct cfgsnap {
	struct ob_server_config	*cfg;
	json_t			*jwks;		/* GET /v1/keys: issuer.publish */
	unsigned		 refs;		/* under server.cfg_lock */
};

struct server {
	struct ob_server_config	*cfg;		/* at start: fixed members */
	int			 cfg_bad;	/* --config did not load: exit 2 */
	pthread_mutex_t		 cfg_lock;
	struct cfgsnap		*cur;		/* reloadable: cfg_take */
	struct cfgsnap		*start;		/* holds cfg */
	struct ob_svc		*svc;
	pthread_rwlock_t	 trust_lock;
	struct ob_trust		*trust;		/* swapped on SIGHUP */
	struct ob_state		*state;
	struct ob_audit		*audit;
	struct ob_issuer	*issuer;
	struct ob_signer	*signer;
	struct ob_redis		*rate_redis;	/* shared buckets, or NULL */
	struct ob_rate_table	*rate_peer, *rate_owner, *rate_agent;
	struct ob_chal_table	*chal;		/* held requests */
	struct ob_pipe		*pipe;		/* commit and finish stages */
	struct ob_notifier	*notifier;	/* ping callbacks, or NULL */
	struct ob_rate_table	*rate_enrol_ip, *rate_enrol_all;
	struct ob_rate_table	*rate_page_ip, *rate_page_all;
};

/*
 * A verified request on its way through the pipeline (server/pipe.h,
 * decision 123): its replay record waits for the group commit; nothing is
 * issued before that commit and the request's record line are durable.
 */
struct cred_item {
	struct ob_pipe_item	 it;		/* first */
	struct cfgsnap		*cs;		/* the request's configuration */
	struct ob_svc_req	*req;
	struct ob_verdict	*v;
	struct ob_replay_held	 held;
	char			 detail[256];
};

/* The configuration now, for one request: cfg_put when it is done. */
static struct cfgsnap *
cfg_take(struct server *s)
{
	struct cfgsnap *cs;

	pthread_mutex_lock(&s->cfg_lock);
	cs = s->cur;
	cs->refs++;
	pthread_mutex_unlock(&s->cfg_lock);
	return cs;
}

static void
cfg_put(struct server *s, struct cfgsnap *cs)
{
	unsigned left;

	if (cs == NULL)
		return;
	pthread_mutex_lock(&s->cfg_lock);
	left = --cs->refs;
	pthread_mutex_unlock(&s->cfg_lock);
	if (left == 0) {
		ob_server_config_free(&cs->cfg);
		json_decref(cs->jwks);
		free(cs);
	}
}

/* The HTTP status for a refusal follows its public code. */
static int
status_for(int code)
{
	switch (ob_err_public(code)) {
	case OB_ERR_SVC_BAD_REQUEST:	return 400;
	case OB_ERR_SVC_TOO_LARGE:	return 413;
	case OB_ERR_SVC_RATE_LIMITED:	return 429;
	case OB_ERR_SVC_UNAVAILABLE:	return 503;
	case OB_ERR_SIGNER_UNAVAILABLE:	return 503;
	case OB_ERR_REJECTED:		return 403;
	case OB_ERR_SVC_PEER_UNKNOWN:	return 403;
	case OB_ERR_CHAL_SHAPE:		return 400;
	case OB_ERR_NOTIFY_UNCONFIGURED: return 400;
	case OB_ERR_NOTIFY_TOKEN:	return 400;
	case OB_ERR_CHAL_ANSWER:	return 400;
	case OB_ERR_CHAL_UNKNOWN:	return 404;
	case OB_ERR_CHAL_EXPIRED:	return 410;
	case OB_ERR_CHAL_DENIED:	return 403;
	case OB_ERR_CHAL_OWNER:		return 403;
	case OB_ERR_CHAL_SLOW_DOWN:	return 429;
	case OB_ERR_CHAL_OUTSTANDING:	return 409;
	case OB_ERR_CHAL_ANSWERED:	return 409;
	case OB_ERR_CHAL_FULL:		return 503;
	case OB_ERR_CHAL_FAILED:	return 409;
	case OB_ERR_ENROL_UNKNOWN:	return 404;
	case OB_ERR_ENROL_USED:		return 410;
	case OB_ERR_ENROL_EXPIRED:	return 410;
	case OB_ERR_ENROL_REQUEST:	return 400;
	case OB_ERR_ENROL_TYPE:
	case OB_ERR_ENROL_CHALLENGE:
	case OB_ERR_ENROL_ORIGIN:
	case OB_ERR_ENROL_RPID:
	case OB_ERR_ENROL_FLAGS:
	case OB_ERR_ENROL_KEY:
	case OB_ERR_ENROL_ATTESTATION:	return 403;
	case OB_ERR_ENROL_DUPLICATE:	return 409;
	default:			return 500;
	}
}

/*
 * Record a decision.  A refusal that cannot be recorded is still
 * refused; an acceptance that cannot be recorded issues nothing.
 */
static int
record(struct server *s, struct ob_svc_req *req, int code, const char *detail,
    const struct ob_verdict *v, const struct ob_credential *cred)
{
	struct ob_audit_event	ev;
	struct timespec		ts;

	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.ts_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.request_id = ob_svc_req_id(req);
	ev.peer = ob_svc_req_peer_id(req);
	ev.accepted = code == OB_OK;
	ev.code = code;
	ev.detail = detail;
	if (v != NULL) {
		ev.agent = v->agent;
		ev.owner = v->owner;
		ev.model = v->model;
		ev.jti = v->jti;
		/* What was received: a renewal's own envelope. */
		ev.envelope_sha256 = v->renewal_sha256 != NULL ?
		    v->renewal_sha256 : v->envelope_sha256;
		ev.renewal_of = v->renewal_of;
	}
	if (cred != NULL) {
		ev.cred_jti = cred->jti;
		ev.cred_exp = cred->expires_at;
	}
	return ob_audit_append(s->audit, &ev, NULL);
}

static void
refuse(struct server *s, struct ob_svc_req *req, int code, const char *detail,
    const struct ob_verdict *v)
{
	int r;

	if ((r = record(s, req, code, detail, v, NULL)) != OB_OK)
		ob_svc_log(s->svc, "error", "audit", r, ob_err_detail());
	/* Signing failed closed: the client may retry once it is back. */
	if (ob_err_public(code) == OB_ERR_SIGNER_UNAVAILABLE)
		ob_svc_req_retry_after(req, ob_signer_retry_after(s->signer));
	(void)ob_svc_reply_problem(req, status_for(code), code,
	    ob_err_text(ob_err_public(code)), detail);
}

/* A refusal the service layer gave before any handler ran. */
static void
on_refusal(struct ob_svc_req *req, int status, int code, const char *detail,
    void *arg)
{
	struct server	*s = arg;
	const char	*m = ob_svc_req_method(req);
	const char	*p = ob_svc_req_log_path(req);
	char		 d[256];
	int		 r;

	snprintf(d, sizeof(d), "HTTP %d %s %s: %s", status,
	    m != NULL ? m : "-", p != NULL ? p : "-",
	    detail != NULL ? detail : ob_err_text(code));
	if ((r = record(s, req, code, d, NULL, NULL)) != OB_OK)
		ob_svc_log(s->svc, "error", "audit", r, ob_err_detail());
}

/* A refusal below HTTP: a failed handshake, a deadline, libevent's own
 * 400/413.  No request a handler saw, but a decision all the same. */
static void
on_conn_refusal(const struct ob_svc_conn_event *e, void *arg)
{
	struct server		*s = arg;
	struct ob_audit_event	 ev;
	struct timespec		 ts;
	char			 d[384];
	int			 r;

	if (e->status != 0)
		snprintf(d, sizeof(d), "HTTP %d from %s: %s", e->status,
		    e->addr, e->detail);
	else
		snprintf(d, sizeof(d), "connection from %s: %s", e->addr,
		    e->detail);
	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.ts_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.request_id = e->request_id;
	ev.peer = e->peer_id;
	ev.accepted = 0;
	ev.code = e->code;
	ev.detail = d;
	if ((r = ob_audit_append(s->audit, &ev, NULL)) != OB_OK)
		ob_svc_log(s->svc, "error", "audit", r, ob_err_detail());
}

static void
version(void)
{
	char	be[128], extra[256];

	ob_token_schemes(be, sizeof(be));
	(void)snprintf(extra, sizeof(extra), "issuer key backends: %s\n  "
	    "libevent %s, SQLite %s", be, event_get_version(),
	    sqlite3_libversion());
	ob_print_version(PROG, OB_VERSION, extra);
}

/*
 * Issue for a verdict and record it; the credential response in *resp.
 * On failure *code and detail say why (issue_refuse sends it).
 */
static int
issue_cred(struct server *s, const struct ob_server_config *c,
    struct ob_svc_req *req, const struct ob_verdict *v, json_t **resp,
    int *code, char *detail, size_t dsize)
{
	struct ob_credential	*cred = NULL;
	struct ob_verify_opts	 o;
	char			 ctx[256];
	long long		 now = (long long)time(NULL), life;
	int			 r;

	*resp = NULL;
	life = ob_server_config_lifetime_for(c, v->agent);
	/* A renewal's credential ends with the window at the latest. */
	if (v->renewal_of != NULL && now + life > v->renew_until)
		life = v->renew_until - now;
	if (life <= 0) {
		snprintf(detail, dsize, "the approval window has closed");
		r = OB_ERR_APPROVAL_WINDOW;
		goto out;
	}
	/* An approval window: its record first, or no renewal could pass. */
	if (v->renew_until != 0 && v->renewal_of == NULL) {
		memset(&o, 0, sizeof(o));
		o.aud = c->aud;
		o.now = now;
		if ((r = ob_state_record_approval(s->state, &o, v)) != OB_OK) {
			snprintf(detail, dsize, "approval record: %s: %s",
			    ob_err_name(r), ob_err_detail());
			goto out;
		}
	}
	/* What the helper logs as "for" its signatures. */
	snprintf(ctx, sizeof(ctx), "req=%s peer=%s", ob_svc_req_id(req),
	    ob_svc_req_peer_id(req) != NULL ? ob_svc_req_peer_id(req) :
	    "approval-page");
	ob_signer_set_context(ctx);
	r = ob_issuer_issue(s->issuer, v, now, life, &cred);
	ob_signer_set_context(NULL);
	if (r != OB_OK) {
		snprintf(detail, dsize, "issuing: %s: %s", ob_err_name(r),
		    ob_err_detail());
		goto out;
	}
	if ((r = record(s, req, OB_OK, NULL, v, cred)) != OB_OK) {
		snprintf(detail, dsize, "issuance record: %s: %s",
		    ob_err_name(r), ob_err_detail());
		/* Nothing is issued without its record. */
		r = OB_ERR_SVC_UNAVAILABLE;
		goto out;
	}
	if ((*resp = json_pack("{s:s, s:s, s:I, s:O}", "wit", cred->wit, "wic",
	    cred->wic_pem, "expires_at", (json_int_t)cred->expires_at,
	    "owner", cred->owner)) == NULL) {
		snprintf(detail, dsize, "response");
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = OB_OK;
out:
	*code = r;
	ob_credential_free(&cred);
	return r;
}

static void
issue_refuse(struct server *s, struct ob_svc_req *req,
    const struct ob_verdict *v, int code, const char *detail)
{
	if (code == OB_ERR_SVC_UNAVAILABLE)
		(void)ob_svc_reply_problem(req, 503, OB_ERR_SVC_UNAVAILABLE,
		    ob_err_text(OB_ERR_SVC_UNAVAILABLE), detail);
	else if (code == OB_ERR_ALLOC)
		(void)ob_svc_reply_problem(req, 500, OB_ERR_ALLOC,
		    ob_err_text(OB_ERR_INTERNAL), detail);
	else
		refuse(s, req, code, detail, v);
}

/* Issue and reply with the refusal on failure; *resp on success. */
static int
issue(struct server *s, const struct ob_server_config *c,
    struct ob_svc_req *req, const struct ob_verdict *v, json_t **resp)
{
	char	detail[512];
	int	r;

	if (issue_cred(s, c, req, v, resp, &r, detail, sizeof(detail)) !=
	    OB_OK)
		issue_refuse(s, req, v, r, detail);
	return r;
}

/* The owner and agent buckets; refuses (and says so) when one is spent. */
/*
 * The owner's (and, with agent, the agent's) token back: the request
 * ended before it spent anything (decision 174).  A shared bucket that
 * cannot take it back keeps it taken, logged.
 */
static void
give_back(struct server *s, const struct ob_verdict *v, int agent)
{
	int r;

	if ((r = ob_rate_give_back(s->rate_owner, v->owner)) == OB_OK &&
	    agent)
		r = ob_rate_give_back(s->rate_agent, v->agent_jkt);
	if (r != OB_OK)
		ob_svc_log(s->svc, "warning", "rate", r, "a token could not be "
		    "given back: it stays taken");
}

static int
take_owner_agent(struct server *s, struct ob_svc_req *req,
    const struct ob_verdict *v)
{
	struct ob_rate_table	*t = s->rate_owner;
	char			 detail[256];
	int			 r;

	if ((r = ob_rate_take(t, v->owner)) == OB_OK) {
		t = s->rate_agent;
		if ((r = ob_rate_take(t, v->agent_jkt)) == OB_OK)
			return OB_OK;
		give_back(s, v, 0);	/* the owner's: nothing was done */
	}
	/* The Retry-After of the bucket that refused. */
	if (r == OB_ERR_SVC_RATE_LIMITED)
		ob_svc_req_set_retry_after(req, ob_rate_retry_after(t));
	snprintf(detail, sizeof(detail), "per-%s rate: %s: %s",
	    t == s->rate_owner ? "owner" : "agent", ob_err_name(r),
	    r == OB_ERR_SVC_RATE_LIMITED ? "no token left" : ob_err_detail());
	refuse(s, req, r, detail, v);
	return r;
}

/* Whether client id has a ping callback configured (fixed at start: the
 * notifier read them then, and a reload may not change them). */
static int
has_callback(const struct server *s, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < s->cfg->nclients; i++)
		if (strcmp(s->cfg->clients[i].id, id) == 0)
			return s->cfg->clients[i].callback_url != NULL;
	return 0;
}

/*
 * A server-mediated start (docs/server-mediated.md): the agent-only
 * envelope is checked as far as it can be without the owner, a nonce
 * bound to its jti is issued for the deadline, and the request is held.
 */
static void
held_start(struct server *s, const struct ob_server_config *c,
    struct ob_svc_req *req, const struct ob_verify_opts *o, const char *body,
    size_t len)
{
	struct ob_chal_start	 st;
	struct ob_verdict	*v = NULL;
	char			 nonce[OB_NONCE_CHARS + 1], detail[512];
	char			 handle[OB_CHAL_HANDLE_CHARS + 1];
	char			 code[OB_BINDING_CODE_CHARS + 1], poll[64];
	json_t			*resp = NULL;
	const char		*ntok;
	long long		 now = (long long)time(NULL);
	int			 r;

	/* A ping is asked for, never aimed: where it goes is the client's
	 * configured callback (docs/api.md, "Ping callback"). */
	if ((ntok = ob_svc_req_header(req, "Ownerbind-Notification-Token")) !=
	    NULL) {
		if (!ob_notify_token_ok(ntok))
			r = ob_errf(OB_ERR_NOTIFY_TOKEN, "%zu bytes (at most "
			    "%d, 0x21 to 0x7e)", strlen(ntok),
			    OB_NOTIFY_TOKEN_MAX);
		else if (!has_callback(s, ob_svc_req_peer_id(req)))
			r = ob_errf(OB_ERR_NOTIFY_UNCONFIGURED, "client %.128s",
			    ob_svc_req_peer_id(req) != NULL ?
			    ob_svc_req_peer_id(req) : "(none)");
		else
			r = OB_OK;
		if (r != OB_OK) {
			snprintf(detail, sizeof(detail), "%s: %s",
			    ob_err_name(r), ob_err_detail());
			refuse(s, req, r, detail, NULL);
			return;
		}
	}
	pthread_rwlock_rdlock(&s->trust_lock);
	r = ob_verify_held_start(s->trust, o, body, len, &v);
	pthread_rwlock_unlock(&s->trust_lock);
	if (r != OB_OK) {
		snprintf(detail, sizeof(detail), "%s: %s", ob_err_name(r),
		    ob_err_detail());
		refuse(s, req, r, detail, NULL);
		return;
	}
	/* Each start asks a person: the owner's bucket is the fatigue
	 * limit, the agent's the flood limit. */
	if (take_owner_agent(s, req, v) != OB_OK)
		goto out;
	/* The nonce lives exactly as long as the request is held. */
	if ((r = ob_state_issue_nonce(s->state, now, c->challenge.deadline_s,
	    v->jti, nonce)) != OB_OK) {
		snprintf(detail, sizeof(detail), "nonce: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, v);
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.peer = ob_svc_req_peer_id(req);
	st.owner = v->owner;
	st.agent = v->agent;
	st.agent_jkt = v->agent_jkt;
	st.aud = c->aud;
	st.deadline_s = c->challenge.deadline_s;	/* the nonce's */
	st.jti = v->jti;
	st.envelope_sha256 = v->envelope_sha256;
	st.nonce = nonce;
	st.lifetime = v->exp - v->iat;
	st.envelope = body;
	st.envelope_len = len;
	if (ntok != NULL) {
		st.notify_client = ob_svc_req_peer_id(req);
		st.notify_token = ntok;
	}
	if ((r = ob_chal_hold(s->chal, &st, now, handle, code)) != OB_OK) {
		snprintf(detail, sizeof(detail), "hold: %s: %s",
		    ob_err_name(r), ob_err_detail());
		/* A full table frees as owners answer: ask again a poll's
		 * interval later. */
		if (r == OB_ERR_CHAL_FULL)
			ob_svc_req_retry_after(req,
			    (int)c->challenge.interval_s);
		refuse(s, req, r, detail, v);
		goto out;
	}
	snprintf(poll, sizeof(poll), "/v1/requests/%s", handle);
	if ((resp = json_pack("{s:s, s:I, s:I, s:s, s:s}", "handle", handle,
	    "interval", (json_int_t)c->challenge.interval_s,
	    "expires_in", (json_int_t)c->challenge.deadline_s,
	    "binding_code", code, "poll", poll)) == NULL) {
		(void)ob_svc_reply_problem(req, 500, OB_ERR_ALLOC,
		    ob_err_text(OB_ERR_INTERNAL), "response");
		goto out;
	}
	snprintf(detail, sizeof(detail), "held %.8s... owner=%.128s "
	    "agent=%.256s code=%s", handle, v->owner, v->agent, code);
	ob_svc_log(s->svc, "info", "held", OB_OK, detail);
	(void)ob_svc_reply_json(req, 202, resp, NULL);
out:
	json_decref(resp);
	ob_verdict_free(&v);
}

/* The last path segment (the route matched its form). */
static const char *
path_handle(struct ob_svc_req *req)
{
	const char *p = ob_svc_req_path(req), *sl;

	return p != NULL && (sl = strrchr(p, '/')) != NULL ? sl + 1 : "";
}

/*
 * A poll's refusal: problem details with our code; slow_down also names
 * CIBA's error as its type and repeats the interval (docs/api.md).
 */
static void
refuse_poll(const struct ob_server_config *c, struct ob_svc_req *req, int r)
{
	json_t *p;

	if (r != OB_ERR_CHAL_SLOW_DOWN) {
		(void)ob_svc_reply_problem(req, status_for(r), r,
		    ob_err_text(r), ob_err_detail());
		return;
	}
	ob_svc_req_set_retry_after(req, (int)c->challenge.interval_s);
	if ((p = json_pack("{s:s, s:s, s:i, s:s, s:I, s:s}", "type",
	    "slow_down", "title", ob_err_text(r), "status", 429, "code",
	    ob_err_name(r), "interval", (json_int_t)c->challenge.interval_s,
	    "request_id", ob_svc_req_id(req))) == NULL) {
		(void)ob_svc_reply_problem(req, 429, r, ob_err_text(r),
		    ob_err_detail());
		return;
	}
	(void)ob_svc_reply_json(req, 429, p, "application/problem+json");
	json_decref(p);
}

/* GET /v1/requests/H, on the loop: the proxy's poll. */
static void
h_poll(struct ob_svc_req *req, void *arg)
{
	struct server		*s = arg;
	struct cfgsnap		*cs = cfg_take(s);
	enum ob_chal_status	 st;
	json_t			*cred = NULL, *o = NULL;
	int			 r;

	r = ob_chal_poll(s->chal, path_handle(req), ob_svc_req_peer_id(req),
	    (long long)time(NULL), &st, &cred);
	if (r != OB_OK) {
		refuse_poll(cs->cfg, req, r);
		goto out;
	}
	if (st == OB_CHAL_ISSUED) {
		(void)ob_svc_reply_json(req, 201, cred, NULL);
		json_decref(cred);
		goto out;
	}
	if ((o = json_pack("{s:s, s:I}", "status", "authorization_pending",
	    "interval", (json_int_t)cs->cfg->challenge.interval_s)) == NULL) {
		(void)ob_svc_reply_problem(req, 500, OB_ERR_ALLOC,
		    ob_err_text(OB_ERR_INTERNAL), "response");
		goto out;
	}
	(void)ob_svc_reply_json(req, 200, o, NULL);
out:
	json_decref(o);
	cfg_put(s, cs);
}

/* The owner a responder device answers for, or NULL (not a responder). */
static const char *
responder_owner(const struct ob_server_config *c, struct ob_svc_req *req)
{
	const char	*id = ob_svc_req_peer_id(req);
	const char	*role = ob_svc_req_peer_role(req);
	size_t		 i;

	if (id == NULL || role == NULL || strcmp(role, "responder") != 0)
		return NULL;
	for (i = 0; i < c->nclients; i++)
		if (c->clients[i].role == OB_CLIENT_RESPONDER &&
		    strcmp(c->clients[i].id, id) == 0)
			return c->clients[i].owner;
	return NULL;
}

/* Reply with the owner's pending requests, list (stolen) or made now. */
static void
challenges_reply(struct server *s, struct ob_svc_req *req, const char *owner,
    json_t *list)
{
	json_t	*o = NULL;

	if ((list == NULL && ob_chal_list(s->chal, owner, &list) != OB_OK) ||
	    (o = json_pack("{s:o}", "challenges", list)) == NULL) {
		(void)ob_svc_reply_problem(req, 503, OB_ERR_SVC_UNAVAILABLE,
		    ob_err_text(OB_ERR_SVC_UNAVAILABLE), "challenge list");
		return;
	}
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

/* Long-polls parked at once for one owner's devices (decision 162). */
#define LONGPOLLS_PER_OWNER	8

/* A parked long-poll's owner (the arg of challenges_parked). */
struct longpoll {
	struct server	*s;
	char		 owner[];
};

/* A responder's parked long-poll: woken by a request of its owner's that
 * became pending, at its deadline, or at SIGTERM (decision 162). */
static void
challenges_parked(struct ob_svc_req *req, enum ob_svc_park_why why,
    long long left_ms, void *arg)
{
	struct longpoll	*lp = arg;
	json_t		*a = NULL;

	if (ob_chal_list(lp->s->chal, lp->owner, &a) != OB_OK)
		a = NULL;
	/* Woken, and it went again (claimed meanwhile): wait on. */
	if (a != NULL && json_array_size(a) == 0 &&
	    why == OB_SVC_PARK_WOKEN && left_ms > 0 &&
	    ob_svc_park(req, lp->owner, left_ms, challenges_parked, lp) ==
	    OB_OK) {
		json_decref(a);
		return;
	}
	challenges_reply(lp->s, req, lp->owner, a);
	free(lp);
}

/* The table's hook: owner has a request pending; wake its long-polls. */
static void
chal_pending(const char *owner, void *arg)
{
	struct server *s = arg;

	ob_svc_wake(s->svc, owner);
}

/*
 * GET /v1/owner/challenges[?wait=N], on the loop thread: the responder's
 * long-poll for its owner's held requests.  With none pending and a wait,
 * the request is parked on the loop (no worker waits for it) until one
 * becomes pending or the wait is over.
 */
static void
h_challenges(struct ob_svc_req *req, void *arg)
{
	struct server	*s = arg;
	struct cfgsnap	*cs = cfg_take(s);
	struct longpoll	*lp;
	const char	*owner, *q;
	json_t		*a = NULL;
	long long	 wait = 0;
	size_t		 n;

	if ((owner = responder_owner(cs->cfg, req)) == NULL) {
		refuse(s, req, OB_ERR_SVC_PEER_UNKNOWN, "challenges: not a "
		    "responder device", NULL);
		goto out;
	}
	if ((q = ob_svc_req_query(req)) != NULL) {
		if (strncmp(q, "wait=", 5) != 0 ||
		    ob_parse_ll(q + 5, 0, 3600, &wait) != OB_OK) {
			refuse(s, req, OB_ERR_SVC_BAD_REQUEST, "challenges: "
			    "the query is wait=SECONDS", NULL);
			goto out;
		}
		if (wait > cs->cfg->challenge.wait_max_s)
			wait = cs->cfg->challenge.wait_max_s;
	}
	if (ob_chal_list(s->chal, owner, &a) != OB_OK)
		a = NULL;
	if (a == NULL || json_array_size(a) > 0 || wait == 0) {
		challenges_reply(s, req, owner, a);
		goto out;
	}
	/* A bound per owner: its devices cannot hold the connections. */
	if (ob_svc_parked_key(s->svc, owner) >= LONGPOLLS_PER_OWNER) {
		json_decref(a);
		ob_svc_req_retry_after(req, 1);
		refuse(s, req, OB_ERR_SVC_RATE_LIMITED, "challenges: "
		    "this owner's devices have the most long-polls waiting",
		    NULL);
		goto out;
	}
	n = strlen(owner) + 1;
	if ((lp = malloc(sizeof(*lp) + n)) != NULL) {
		lp->s = s;
		memcpy(lp->owner, owner, n);
		if (ob_svc_park(req, owner, wait * 1000, challenges_parked,
		    lp) == OB_OK) {
			json_decref(a);
			goto out;
		}
		free(lp);
	}
	challenges_reply(s, req, owner, a);	/* not parked: the list now */
out:
	cfg_put(s, cs);
}

/*
 * Complete a claimed request with an answer (the responder's or the
 * page's): an owner entry completes the held envelope, which goes through
 * the one verifier (nonce spent, jti spent, owner key from the trust
 * store); its credential waits for the proxy's next poll.  Replies, and
 * settles the request.
 */
static void
complete(struct server *s, const struct ob_server_config *c,
    struct ob_svc_req *req, const char *handle, const struct ob_answer *a,
    const char *held, size_t heldlen, const char *nonce)
{
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	char			*env = NULL, detail[512];
	json_t			*resp = NULL, *ok = NULL;
	size_t			 envlen;
	int			 r, settle = OB_ERR_REJECTED;

	if (a->deny) {
		settle = OB_ERR_CHAL_DENIED;
		snprintf(detail, sizeof(detail), "answer %.8s...: denied by "
		    "%.128s", handle, ob_svc_req_peer_id(req) != NULL ?
		    ob_svc_req_peer_id(req) : "the approval page");
		if ((r = record(s, req, OB_ERR_CHAL_DENIED, detail, NULL,
		    NULL)) != OB_OK)
			ob_svc_log(s->svc, "error", "audit", r,
			    ob_err_detail());
		ok = json_pack("{s:s}", "status", "denied");
		ob_chal_settle(s->chal, handle, settle, NULL);
		(void)ob_svc_reply_json(req, 200, ok, NULL);
		goto out;
	}
	if ((r = ob_answer_assemble(held, heldlen, a, &env, &envlen)) !=
	    OB_OK) {
		snprintf(detail, sizeof(detail), "answer: %s: %s",
		    ob_err_name(r), ob_err_detail());
		ob_chal_settle(s->chal, handle, settle, NULL);
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.aud = c->aud;
	o.channel = OB_CHANNEL_DIRECT;
	o.server_held = 1;
	pthread_rwlock_rdlock(&s->trust_lock);
	r = ob_verify(s->trust, s->state, &o, env, envlen, &v);
	pthread_rwlock_unlock(&s->trust_lock);
	/* The held nonce, and no other, completes this request. */
	if (r == OB_OK && (v->nonce == NULL ||
	    /* lint: ok: a nonce is a public envelope member */
	    strcmp(v->nonce, nonce) != 0))
		r = ob_errf(OB_ERR_NONCE_MISMATCH, "the answer carries "
		    "another request's nonce");
	if (r != OB_OK) {
		snprintf(detail, sizeof(detail), "answer %.8s...: %s: %s",
		    handle, ob_err_name(r), ob_err_detail());
		ob_chal_settle(s->chal, handle, settle, NULL);
		refuse(s, req, r, detail, v);
		goto out;
	}
	/*
	 * Settled before any reply: the next request sees the outcome.  The
	 * answer was accepted (its nonce and the request's jti are spent),
	 * so an issuance that fails ends the request: no later answer could
	 * complete it (decision 171).
	 */
	if (issue_cred(s, c, req, v, &resp, &r, detail, sizeof(detail)) !=
	    OB_OK) {
		ob_chal_settle(s->chal, handle, OB_ERR_CHAL_FAILED, NULL);
		issue_refuse(s, req, v, r, detail);
		goto out;
	}
	ob_chal_settle(s->chal, handle, OB_OK, resp);
	ok = json_pack("{s:s}", "status", "approved");
	(void)ob_svc_reply_json(req, 200, ok, NULL);
out:
	json_decref(ok);
	json_decref(resp);
	ob_verdict_free(&v);
	free(env);
}

/* POST /v1/owner/challenges/H, on a worker: the responder's answer. */
static void
h_answer(struct ob_svc_req *req, void *arg)
{
	struct server		*s = arg;
	struct cfgsnap		*cs = cfg_take(s);
	struct ob_answer	 a;
	const char		*owner, *body, *handle = path_handle(req);
	char			*held = NULL, nonce[64], detail[512];
	size_t			 len, heldlen;
	int			 r;

	memset(&a, 0, sizeof(a));
	if ((owner = responder_owner(cs->cfg, req)) == NULL) {
		refuse(s, req, OB_ERR_SVC_PEER_UNKNOWN, "answer: not a "
		    "responder device", NULL);
		goto out;
	}
	body = ob_svc_req_body(req, &len);
	if ((r = ob_answer_parse(body, len, &a)) != OB_OK ||
	    (r = ob_chal_claim(s->chal, handle, owner, (long long)time(NULL),
	    &held, &heldlen, nonce, NULL)) != OB_OK) {
		snprintf(detail, sizeof(detail), "answer: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	complete(s, cs->cfg, req, handle, &a, held, heldlen, nonce);
out:
	ob_answer_clear(&a);
	free(held);
	cfg_put(s, cs);
}

/* The owner's first FIDO2 key that may approve from a web origin. */
static const struct ob_trust_key *
web_key(const struct server *s, const char *owner)
{
	const struct ob_trust_owner	*ow;
	size_t				 i;

	if ((ow = ob_trust_owner(s->trust, owner)) == NULL)
		return NULL;
	for (i = 0; i < ow->nkeys; i++)
		if (ow->keys[i].norigins > 0 && ob_alg_is_webauthn(
		    ow->keys[i].alg) && ow->keys[i].revoked_at == 0)
			return &ow->keys[i];
	return NULL;
}

/* ob_chal_web's maker: the owner entry's protected header for the page
 * (trust lock held by the caller). */
static char *
web_protected(const char *owner, const char *env, size_t envlen,
    const char *nonce, void *arg)
{
	struct server			*s = arg;
	const struct ob_trust_key	*k;
	json_t				*ph = NULL;
	char				*b64 = NULL;

	(void)env;
	(void)envlen;
	if ((k = web_key(s, owner)) == NULL) {
		(void)ob_errf(OB_ERR_CHAL_UNKNOWN, "owner %.128s has no passkey "
		    "enrolled for a web origin", owner);
		return NULL;
	}
	if (ob_protected_new(k->alg, k->kid, OB_ROLE_OWNER,
	    OB_MODEL_SERVER_MEDIATED, (long long)time(NULL), nonce, NULL,
	    &ph) != OB_OK || ob_protected_encode(ph, &b64) != OB_OK)
		b64 = NULL;
	json_decref(ph);
	return b64;
}

/*
 * A public route's buckets (the enrolment page's or the approval
 * page's), per client IP and for all: 0 to go on, else the request is
 * answered 429 with Retry-After.  Always this instance's own tables
 * (never Redis: the pages are served on the loop).
 */
static int
public_limited(struct ob_svc_req *req, struct ob_rate_table *ip,
    struct ob_rate_table *all, const char *what)
{
	struct ob_rate_table	*t;
	char			 detail[160];

	/* Per IP first: one flooding address does not drain the global. */
	if (ob_rate_take(ip, ob_svc_req_peer_ip(req)) != OB_OK)
		t = ip;
	else if (ob_rate_take(all, "all") != OB_OK)
		t = all;
	else
		return 0;
	snprintf(detail, sizeof(detail), "%s %s rate (%.64s)", what,
	    t == all ? "global" : "per-IP", ob_svc_req_peer_ip(req));
	ob_svc_req_set_retry_after(req, ob_rate_retry_after(t));
	(void)ob_svc_reply_problem(req, 429, OB_ERR_SVC_RATE_LIMITED,
	    ob_err_text(OB_ERR_SVC_RATE_LIMITED), detail);
	return 1;
}

static int
enrol_limited(struct server *s, struct ob_svc_req *req)
{
	return public_limited(req, s->rate_enrol_ip, s->rate_enrol_all,
	    "enrolment");
}

static int
page_limited(struct server *s, struct ob_svc_req *req)
{
	return public_limited(req, s->rate_page_ip, s->rate_page_all,
	    "approval page");
}

/* GET /approve/H, /approve.js, /approve.css: the page, on the loop. */
static void
h_page(struct ob_svc_req *req, void *arg)
{
	if (page_limited(arg, req))
		return;
	(void)ob_svc_reply_page(req, 200, "text/html; charset=utf-8",
	    ob_approval_html, strlen(ob_approval_html));
}

static void
h_page_js(struct ob_svc_req *req, void *arg)
{
	if (page_limited(arg, req))
		return;
	(void)ob_svc_reply_page(req, 200, "text/javascript; charset=utf-8",
	    ob_approval_js, strlen(ob_approval_js));
}

static void
h_page_css(struct ob_svc_req *req, void *arg)
{
	(void)arg;
	(void)ob_svc_reply_page(req, 200, "text/css; charset=utf-8",
	    ob_approval_css, strlen(ob_approval_css));
}

/*
 * GET /v1/approve/H, on a worker: what the page shows, and the WebAuthn
 * options whose challenge is derived from the owner entry's signing
 * input (docs/envelope.md 5.2) with the header the server made for it.
 */
static void
h_approve_info(struct ob_svc_req *req, void *arg)
{
	struct server			*s = arg;
	const struct ob_trust_key	*k;
	struct ob_envelope		*env = NULL;
	const char			*handle = path_handle(req), *owner;
	char				*pb64 = NULL, *tbs = NULL;
	char				*held = NULL, ch[44], detail[256];
	json_t				*d = NULL, *pk = NULL, *ac;
	size_t				 tbslen;
	int				 r;

	if (page_limited(s, req))
		return;
	pthread_rwlock_rdlock(&s->trust_lock);
	r = ob_chal_web(s->chal, handle, (long long)time(NULL),
	    web_protected, s, &pb64, &d);
	if (r == OB_OK) {
		owner = json_string_value(json_object_get(d, "owner"));
		r = (k = web_key(s, owner)) == NULL ? ob_errf(
		    OB_ERR_CHAL_UNKNOWN, "no web passkey") : OB_OK;
	}
	if (r != OB_OK) {
		pthread_rwlock_unlock(&s->trust_lock);
		snprintf(detail, sizeof(detail), "approve: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	if ((pk = json_pack("{s:s, s:s, s:s, s:i}", "rpId", k->rp_id,
	    "userVerification", k->uv_required ? "required" : "preferred",
	    "challenge", "", "timeout", 60000)) == NULL)
		r = OB_ERR_ALLOC;
	if (r == OB_OK && k->credential_id != NULL && ((ac = json_pack(
	    "[{s:s, s:s}]", "type", "public-key", "id", k->credential_id)) ==
	    NULL || json_object_set_new(pk, "allowCredentials", ac) != 0))
		r = OB_ERR_ALLOC;
	pthread_rwlock_unlock(&s->trust_lock);
	if (r == OB_OK && (r = ob_chal_payload(s->chal, handle, &held)) ==
	    OB_OK && (r = ob_envelope_parse(held, strlen(held), 0, &env)) ==
	    OB_OK && (r = ob_envelope_signing_input(env, pb64, &tbs,
	    &tbslen)) == OB_OK && (r = ob_webauthn_challenge(tbs, tbslen,
	    ch)) == OB_OK && (json_object_set_new(pk, "challenge",
	    json_string(ch)) != 0 || json_object_set(d, "publicKey", pk) != 0))
		r = OB_ERR_ALLOC;
	if (r != OB_OK) {
		snprintf(detail, sizeof(detail), "approve: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	(void)ob_svc_reply_json(req, 200, d, NULL);
out:
	json_decref(d);
	json_decref(pk);
	ob_envelope_free(&env);
	free(held);
	free(tbs);
	free(pb64);
}

/*
 * POST /v1/approve/H, on a worker: the page's assertion.  The server
 * assembles the FIDO2 owner entry (the header it made, authenticatorData
 * and clientDataJSON as the unprotected header, the signature) and
 * completes the request like a responder's answer.
 */
static void
h_approve(struct ob_svc_req *req, void *arg)
{
	struct server		*s = arg;
	struct cfgsnap		*cs = cfg_take(s);
	struct ob_answer	 a;
	const char		*body, *handle = path_handle(req);
	char			*held = NULL, *pb64 = NULL, nonce[64];
	char			 detail[512];
	size_t			 len, heldlen;
	int			 r;

	if (page_limited(s, req)) {
		cfg_put(s, cs);
		return;
	}
	memset(&a, 0, sizeof(a));
	body = ob_svc_req_body(req, &len);
	if ((r = ob_answer_parse_webauthn(body, len, &a)) != OB_OK ||
	    (r = ob_chal_claim(s->chal, handle, NULL, (long long)time(NULL),
	    &held, &heldlen, nonce, &pb64)) != OB_OK) {
		snprintf(detail, sizeof(detail), "approve: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	a.protected_b64 = pb64;
	complete(s, cs->cfg, req, handle, &a, held, heldlen, nonce);
	a.protected_b64 = NULL;
out:
	ob_answer_clear(&a);
	free(pb64);
	free(held);
	cfg_put(s, cs);
}

/* An agent-only envelope with renews: a renewal (docs/api.md). */
static int
is_renewal(const char *body, size_t len)
{
	struct ob_envelope	*env = NULL;
	int			 yes;

	if (ob_envelope_parse(body, len, 0, &env) != OB_OK)
		return 0;
	yes = env->claims.renews != NULL;
	ob_envelope_free(&env);
	return yes;
}

/*
 * A renewal (docs/envelope.md 3.1): checked against this server's record
 * of the approval it names, issued for with exp at most renew_until.
 */
static void
renewal(struct server *s, const struct ob_server_config *c,
    struct ob_svc_req *req, const struct ob_verify_opts *o, const char *body,
    size_t len)
{
	struct ob_replay_held	 held;
	struct ob_verdict	*v = NULL;
	json_t			*resp = NULL;
	char			 detail[512];
	int			 r;

	pthread_rwlock_rdlock(&s->trust_lock);
	r = ob_verify_renewal_defer(s->trust, s->state, o, body, len, &v,
	    &held);
	pthread_rwlock_unlock(&s->trust_lock);
	if (r != OB_OK) {
		snprintf(detail, sizeof(detail), "renewal: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		return;
	}
	/* The buckets before the jti is spent, as for any envelope
	 * (decision 174): a 429 leaves the renewal good for its retry. */
	if (take_owner_agent(s, req, v) != OB_OK)
		goto out;
	if ((r = ob_state_commit(s->state, &held.rp, held.now)) != OB_OK) {
		give_back(s, v, 1);
		snprintf(detail, sizeof(detail), "renewal: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	if (issue(s, c, req, v, &resp) != OB_OK)
		goto out;
	(void)ob_svc_reply_json(req, 201, resp, NULL);
out:
	ob_replay_held_clear(&held);
	json_decref(resp);
	ob_verdict_free(&v);
}

static int trust_reload(struct server *);

/* GET /enrol/INVITE, /enrol.js: the enrolment page, on the loop. */
static void
h_enrol_page(struct ob_svc_req *req, void *arg)
{
	if (enrol_limited(arg, req))
		return;
	(void)ob_svc_reply_page(req, 200, "text/html; charset=utf-8",
	    ob_enrol_html, strlen(ob_enrol_html));
}

static void
h_enrol_js(struct ob_svc_req *req, void *arg)
{
	(void)arg;
	(void)ob_svc_reply_page(req, 200, "text/javascript; charset=utf-8",
	    ob_enrol_js, strlen(ob_enrol_js));
}

/* GET /v1/enrol/INVITE, on a worker: the WebAuthn creation options. */
static void
h_enrol_info(struct ob_svc_req *req, void *arg)
{
	struct server	*s = arg;
	json_t		*inv = NULL, *o = NULL;
	char		 detail[512];
	int		 r;

	if (enrol_limited(s, req))
		return;
	if ((r = ob_enrol_invite_load(s->cfg->enrol.dir, path_handle(req),
	    (long long)time(NULL), &inv)) != OB_OK ||
	    (r = ob_enrol_options(inv, &o)) != OB_OK) {
		snprintf(detail, sizeof(detail), "enrol: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	(void)ob_svc_reply_json(req, 200, o, NULL);
out:
	json_decref(inv);
	json_decref(o);
}

/*
 * POST /v1/enrol/INVITE, on a worker: the registration.  Checked against
 * the invite, then the invite is spent (one caller wins), the key written
 * to enrol.dir's enrolled.json and the trust store reloaded.  A refusal
 * leaves the invite and the store as they were.
 */
static void
h_enrol(struct ob_svc_req *req, void *arg)
{
	struct server		*s = arg;
	struct ob_enrol_expect	 e;
	struct ob_enrol_cred	 c;
	struct ob_audit_event	 ev;
	struct timespec		 ts;
	const char		*body, *inv_id = path_handle(req), **origins;
	json_t			*inv = NULL, *o = NULL;
	char			 detail[512];
	size_t			 len;
	long long		 now = (long long)time(NULL);
	int			 r;

	if (enrol_limited(s, req))
		return;
	memset(&c, 0, sizeof(c));
	origins = NULL;
	body = ob_svc_req_body(req, &len);
	if ((r = ob_enrol_invite_load(s->cfg->enrol.dir, inv_id, now, &inv)) !=
	    OB_OK || (r = ob_enrol_expect_of(inv, &e, &origins)) != OB_OK ||
	    (r = ob_enrol_verify(&e, body, len, &c)) != OB_OK ||
	    (r = ob_enrol_consume(s->cfg->enrol.dir, inv_id)) != OB_OK ||
	    (r = ob_enrol_store(s->cfg->trust, s->cfg->enrol.dir, inv, &c,
	    now)) != OB_OK || (r = trust_reload(s)) != OB_OK) {
		snprintf(detail, sizeof(detail), "enrol %.8s...: %s: %s",
		    inv_id, ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		goto out;
	}
	snprintf(detail, sizeof(detail), "enrolled kid=%s credential_id=%.64s "
	    "aaguid=%s origin=%.128s backup_eligible=%d uv=%d invite=%.8s...",
	    c.kid, c.credential_id, c.aaguid, c.origin, c.backup_eligible,
	    c.uv, inv_id);
	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.ts_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.request_id = ob_svc_req_id(req);
	ev.accepted = 1;
	ev.code = OB_OK;
	ev.detail = detail;
	ev.owner = json_string_value(json_object_get(inv, "owner"));
	ev.model = "enrolment";
	if ((r = ob_audit_append(s->audit, &ev, NULL)) != OB_OK)
		ob_svc_log(s->svc, "error", "audit", r, ob_err_detail());
	ob_svc_log(s->svc, "info", "enrolled", OB_OK, detail);
	if ((o = json_pack("{s:s, s:s, s:s}", "status", "enrolled", "kid",
	    c.kid, "owner", ev.owner)) == NULL) {
		(void)ob_svc_reply_problem(req, 500, OB_ERR_ALLOC,
		    ob_err_text(OB_ERR_INTERNAL), "response");
		goto out;
	}
	(void)ob_svc_reply_json(req, 201, o, NULL);
out:
	free(origins);
	ob_enrol_cred_clear(&c);
	json_decref(inv);
	json_decref(o);
}

/* POST /v1/credentials, on a worker thread. */
static void
h_credentials(struct ob_svc_req *req, void *arg)
{
	struct server		*s = arg;
	struct cfgsnap		*cs;
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	struct cred_item	*it;
	const char		*body, *role, *proxy = NULL;
	char			 detail[512];
	size_t			 len;
	int			 r;

	body = ob_svc_req_body(req, &len);
	if ((r = ob_rate_take(s->rate_peer, ob_svc_req_peer_id(req))) !=
	    OB_OK) {
		if (r == OB_ERR_SVC_RATE_LIMITED)
			ob_svc_req_set_retry_after(req,
			    ob_rate_retry_after(s->rate_peer));
		snprintf(detail, sizeof(detail), "per-peer rate: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(s, req, r, detail, NULL);
		return;
	}
	cs = cfg_take(s);
	memset(&o, 0, sizeof(o));
	o.aud = cs->cfg->aud;
	o.channel = OB_CHANNEL_DIRECT;
	role = ob_svc_req_peer_role(req);
	if (role != NULL && strcmp(role, "gateway") == 0) {
		/* The gateway vouches for the proxy it serves. */
		proxy = ob_svc_req_header(req, PROXY_HEADER);
		if (proxy == NULL || *proxy == '\0' ||
		    strlen(proxy) > MAX_PROXY_ID) {
			refuse(s, req, OB_ERR_SVC_BAD_REQUEST, "gateway request "
			    "without a valid " PROXY_HEADER " header", NULL);
			goto out;
		}
		o.channel = OB_CHANNEL_GATEWAY;
		o.proxy = proxy;
	}
	if (role != NULL && strcmp(role, "responder") == 0) {
		refuse(s, req, OB_ERR_SVC_PEER_UNKNOWN, "a responder device "
		    "does not request credentials", NULL);
		goto out;
	}
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		refuse(s, req, OB_ERR_ALLOC, "out of memory", NULL);
		goto out;
	}
	pthread_rwlock_rdlock(&s->trust_lock);
	r = ob_verify_defer(s->trust, &o, body, len, &v, &it->held);
	pthread_rwlock_unlock(&s->trust_lock);
	/*
	 * The owner's and the agent's buckets before the commit spends the
	 * jti, so that a 429 leaves the envelope good for its retry; the
	 * finish stage gives the tokens back if the commit refuses it
	 * (decision 174).
	 */
	if (r == OB_OK && take_owner_agent(s, req, v) != OB_OK) {
		ob_verdict_free(&v);
		ob_replay_held_clear(&it->held);
		free(it);
		goto out;
	}
	if (r == OB_OK) {
		/* The commit stage has it: take the next request. */
		it->cs = cs;		/* the finish stage puts it */
		it->req = req;
		it->v = v;
		ob_pipe_submit(s->pipe, &it->it);
		return;
	}
	free(it);
	/* No owner entry: a renewal, or a server-mediated start. */
	if (r == OB_ERR_OWNER_MISSING && o.channel == OB_CHANNEL_DIRECT) {
		if (is_renewal(body, len))
			renewal(s, cs->cfg, req, &o, body, len);
		else
			held_start(s, cs->cfg, req, &o, body, len);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s: %s", ob_err_name(r),
	    ob_err_detail());
	refuse(s, req, r, detail, NULL);
out:
	cfg_put(s, cs);
}

/*
 * The commit stage: the replay records of every request waiting, in one
 * transaction.  A failed commit refuses the whole batch.
 */
static void
pipe_commit(struct ob_pipe_item **items, size_t n, void *arg)
{
	struct server		*s = arg;
	struct ob_replay	 rp[PIPE_BATCH];
	struct cred_item	*ci;
	long long		 now = 0;
	int			 res[PIPE_BATCH], r;
	size_t			 i;

	/*
	 * A helper that is not ready could not sign: refuse the batch
	 * before its jtis are spent, so that the same envelopes pass once
	 * it is back (decision 173).  One that fails after this point still
	 * leaves its jti spent.
	 */
	if (ob_signer_state(s->signer, NULL, NULL) != OB_SIGNER_READY) {
		for (i = 0; i < n; i++) {
			ci = (struct cred_item *)items[i];
			ci->it.code = OB_ERR_SIGNER_UNAVAILABLE;
			snprintf(ci->detail, sizeof(ci->detail), "the signer "
			    "helper is %s: nothing spent, retry",
			    ob_signer_state_name(ob_signer_state(s->signer,
			    NULL, NULL)));
		}
		return;
	}
	memset(rp, 0, sizeof(rp));
	for (i = 0; i < n && i < PIPE_BATCH; i++) {
		ci = (struct cred_item *)items[i];
		rp[i] = ci->held.rp;
		if (i == 0 || ci->held.now < now)
			now = ci->held.now;
	}
	r = ob_state_batch_commit(s->state, rp, i, now, res);
	for (i = 0; i < n; i++) {
		ci = (struct cred_item *)items[i];
		if (i >= PIPE_BATCH)		/* never: batch_max */
			ci->it.code = OB_ERR_INTERNAL;
		else
			ci->it.code = res[i];
		if (r != OB_OK)
			snprintf(ci->detail, sizeof(ci->detail), "replay state, "
			    "batch of %zu: %s: %s", n, ob_err_name(r),
			    ob_err_detail());
		else if (ci->it.code != OB_OK)
			snprintf(ci->detail, sizeof(ci->detail), "%s: %s",
			    ob_err_name(ci->it.code),
			    ob_err_text(ci->it.code));
	}
}

/* The finish stage: sign, record, reply (or refuse); frees the item. */
static void
pipe_finish(struct ob_pipe_item *item, void *arg)
{
	struct server		*s = arg;
	struct cred_item	*ci = (struct cred_item *)item;
	json_t			*resp = NULL;

	if (ci->it.code != OB_OK) {
		/* Nothing spent (a replay, the state, the helper not ready):
		 * the tokens taken before the commit go back. */
		give_back(s, ci->v, 1);
		refuse(s, ci->req, ci->it.code, ci->detail, NULL);
	} else if (issue(s, ci->cs->cfg, ci->req, ci->v, &resp) == OB_OK)
		(void)ob_svc_reply_json(ci->req, 201, resp, NULL);
	json_decref(resp);
	ob_verdict_free(&ci->v);
	ob_replay_held_clear(&ci->held);
	cfg_put(s, ci->cs);
	free(ci);
}

/* GET /v1/keys, on the loop: the WIT keys (with the WIC chain as x5c). */
static void
h_keys(struct ob_svc_req *req, void *arg)
{
	struct server	*s = arg;
	struct cfgsnap	*cs = cfg_take(s);

	(void)ob_svc_reply_json(req, 200, cs->jwks, "application/jwk-set+json");
	cfg_put(s, cs);
}

/* A new trust store replaces the old one only once it loaded. */
static void
trust_swap(struct server *s, struct ob_trust *t)
{
	struct ob_trust *old;

	pthread_rwlock_wrlock(&s->trust_lock);
	old = s->trust;
	s->trust = t;
	pthread_rwlock_unlock(&s->trust_lock);
	ob_trust_free(&old);
}

/* The trust store again (an enrolment, on a worker). */
static int
trust_reload(struct server *s)
{
	struct ob_trust	*t = NULL;
	int		 r;

	if ((r = ob_enrol_trust_load(s->cfg->trust, s->cfg->enrol.dir, &t)) !=
	    OB_OK) {
		ob_svc_log(s->svc, "error", "reload", r, ob_err_detail());
		return r;
	}
	trust_swap(s, t);
	ob_svc_log(s->svc, "info", "reload", OB_OK, "trust store reloaded");
	return OB_OK;
}

/* The service's peers for the configuration's clients (free t). */
static int
svc_peers(const struct ob_server_config *c, struct ob_svc_peer_table *t)
{
	const struct ob_server_client	*cl;
	size_t				 i;
	int				 r;

	if ((r = ob_svc_peer_table_new(t, c->nclients)) != OB_OK)
		return r;
	for (i = 0; i < c->nclients; i++) {
		cl = &c->clients[i];
		ob_svc_peer_table_set(t, i, cl->id,
		    cl->role == OB_CLIENT_GATEWAY ? "gateway" :
		    cl->role == OB_CLIENT_RESPONDER ? "responder" : "proxy",
		    cl->san_uri, cl->has_cert_sha256 ? cl->cert_sha256 : NULL);
	}
	return OB_OK;
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const struct ob_server_client *
client_by_id(const struct ob_server_config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->nclients; i++)
		if (strcmp(c->clients[i].id, id) == 0)
			return &c->clients[i];
	return NULL;
}

/*
 * Whether a's clients with a ping callback are b's, with the same one:
 * the notifier read them at start.  0, or 1 with the member in what.
 */
static int
callbacks_changed(const struct ob_server_config *a,
    const struct ob_server_config *b, char *what, size_t size)
{
	const struct ob_server_client	*x, *y;
	size_t				 i;

	for (i = 0; i < a->nclients; i++) {
		x = &a->clients[i];
		y = client_by_id(b, x->id);
		if (x->callback_url == NULL && (y == NULL ||
		    y->callback_url == NULL))
			continue;
		if (y == NULL || !same_str(x->callback_url, y->callback_url) ||
		    !same_str(x->callback_ca, y->callback_ca)) {
			(void)snprintf(what, size, "clients[\"%.128s\"]."
			    "callback", x->id);
			return 1;
		}
	}
	return 0;
}

/*
 * GET /v1/keys for configuration c: the issuer's key, then those of
 * issuer.publish, read now (at start, and again at each reload).
 */
static int
jwks_build(struct server *s, const struct ob_server_config *c, json_t **out)
{
	char	*pub[OB_ISSUER_MAX_PUBLISH] = { NULL };
	size_t	 i, n;
	int	 r = OB_OK;

	for (i = 0; i < c->issuer.npublish && r == OB_OK; i++)
		if ((r = ob_read_all(c->issuer.publish[i], 1 << 20, &pub[i],
		    &n)) != OB_OK)
			r = ob_err_prefix(r, "issuer.publish[%zu]", i);
	if (r == OB_OK && (r = ob_issuer_jwks(s->issuer,
	    (const char *const *)pub, c->issuer.npublish, out)) != OB_OK)
		r = ob_err_prefix(r, "issuer.publish");
	for (i = 0; i < OB_ISSUER_MAX_PUBLISH; i++)
		free(pub[i]);
	return r;
}

/*
 * The first member fixed at start that b changes, in what; NULL when
 * none does (docs/server.md, "Configuration", says which are).
 */
static const char *
fixed_changed(const struct ob_server_config *a,
    const struct ob_server_config *b, char *what, size_t size)
{
#define STR(m)	if (!same_str(a->m, b->m)) return #m
#define NUM(m)	if (a->m != b->m) return #m
	STR(listen); STR(metrics_listen); STR(iss);
	STR(tls.cert); STR(tls.key); STR(tls.client_ca);
	STR(trust); STR(state);
	STR(redis.user); STR(redis.password_source); STR(redis.prefix);
	NUM(redis.connect_timeout_ms); NUM(redis.timeout_ms);
	NUM(redis.wait_replicas); NUM(redis.wait_timeout_ms);
	STR(audit); STR(issuer.key); STR(issuer.chain);
	STR(signer.program); STR(signer.config); STR(signer.socket);
	NUM(signer.timeout_ms); NUM(signer.backoff_max_ms);
	STR(wic.owner_oid); NUM(wic.subject_ou);
	NUM(limits.max_body); NUM(limits.max_header); NUM(limits.max_conns);
	NUM(limits.timeout_s); NUM(limits.workers); NUM(limits.queue);
	NUM(rate.shared); NUM(challenge.approval_page);
	STR(enrol.dir); STR(user); NUM(sandbox);
#undef STR
#undef NUM
	if (callbacks_changed(a, b, what, size) ||
	    callbacks_changed(b, a, what, size))
		return what;
	return NULL;
}

/* log_level's name, as the service layer takes it. */
static const char *
log_level_name(enum ob_log_level l)
{
	static const char *const names[] = { "debug", "info", "warn",
	    "error" };

	return (size_t)l < sizeof(names) / sizeof(names[0]) ? names[l] :
	    "debug";
}

/* The reloadable members that take effect outside the snapshot. */
static int
apply_tables(struct server *s, const struct ob_server_config *c)
{
	struct ob_chal_cfg	cc;
	int			r;

	cc.deadline_s = c->challenge.deadline_s;
	cc.interval_s = c->challenge.interval_s;
	cc.max_pending = (size_t)c->challenge.max_pending;
	ob_rate_set(s->rate_peer, &c->rate.per_peer);
	ob_rate_set(s->rate_owner, &c->rate.per_owner);
	ob_rate_set(s->rate_agent, &c->rate.per_agent);
	ob_rate_set(s->rate_enrol_ip, &c->enrol.per_ip);
	ob_rate_set(s->rate_enrol_all, &c->enrol.global);
	ob_rate_set(s->rate_page_ip, &c->challenge.page_per_ip);
	ob_rate_set(s->rate_page_all, &c->challenge.page_global);
	/* A name config.c accepted: it does not fail. */
	if ((r = ob_svc_set_log_level(s->svc, log_level_name(c->log_level))) !=
	    OB_OK)
		return r;
	return ob_chal_set_cfg(s->chal, &cc);
}

/*
 * SIGHUP: when logrotate moved the issuance record away, it goes on in a
 * new file at its path (docs/audit.md, "Rotating the record"); when that
 * cannot be, the lines go on where they went and the log says why.
 */
static int
audit_reopen(void *arg)
{
	struct server	*s = arg;
	char		 m[PATH_MAX + 64];
	int		 r;

	if ((r = ob_audit_rotate(s->audit, s->cfg->audit, m,
	    sizeof(m))) == OB_OK && m[0] != '\0')
		ob_svc_log(s->svc, "info", "audit reopened", OB_OK, m);
	return r;
}

/*
 * SIGHUP, on the loop (after the service's TLS files): the configuration
 * file with the strict reader, and the trust store.  A good file, with
 * every member fixed at start unchanged, replaces the whole configuration
 * for the requests that start from now on; requests in flight finish
 * with theirs.  Anything wrong changes nothing and says why.
 */
static int
reload(void *arg)
{
	struct server		*s = arg;
	struct ob_server_config	*n = NULL;
	struct ob_svc_peer_table peers = OB_SVC_PEER_TABLE_INIT;
	struct ob_trust		*t = NULL;
	struct cfgsnap		*cs = NULL, *old;
	const char		*fixed;
	char			 what[192], m[128];
	unsigned long		 line = 0;
	int			 r;

	OB_TRY(ob_server_config_load(s->cfg->path, &n, &line));
	if ((fixed = fixed_changed(s->cfg, n, what, sizeof(what))) != NULL) {
		r = ob_errf(OB_ERR_SERVER_RELOAD, "%s: \"%s\" changed: it is "
		    "fixed at start", n->path, fixed);
		goto out;
	}
	if ((r = ob_enrol_trust_load(n->trust, n->enrol.dir, &t)) != OB_OK) {
		r = ob_err_prefix(r, "trust store");
		goto out;
	}
	if ((cs = calloc(1, sizeof(*cs))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(jwks_build(s, n, &cs->jwks));
	OB_TRY(svc_peers(n, &peers));
	/* The commit: nothing below fails on a file that loaded. */
	OB_TRY(ob_svc_set_peers(s->svc, peers.peer, peers.n));
	trust_swap(s, t);
	t = NULL;
	OB_TRY(apply_tables(s, n));
	cs->cfg = n;
	cs->refs = 1;
	n = NULL;
	pthread_mutex_lock(&s->cfg_lock);
	old = s->cur;
	s->cur = cs;
	pthread_mutex_unlock(&s->cfg_lock);
	(void)snprintf(m, sizeof(m), "configuration reloaded: %zu clients",
	    cs->cfg->nclients);
	cs = NULL;
	cfg_put(s, old);
	ob_svc_log(s->svc, "info", "reload", OB_OK, m);
	ob_svc_log(s->svc, "info", "reload", OB_OK, "trust store reloaded");
	r = OB_OK;
out:
	if (r != OB_OK)
		ob_svc_log(s->svc, "error", "reload", r, ob_err_detail());
	if (cs != NULL)
		json_decref(cs->jwks);
	free(cs);
	ob_svc_peer_table_free(&peers);
	ob_trust_free(&t);
	ob_server_config_free(&n);
	return r;
}

/*
 * The Redis state, and the client of the shared rate buckets, from the
 * configuration (docs/server.md, "redis").  The password is read once
 * from its source and wiped when both clients have their copies.
 */
static int
open_redis(struct server *s)
{
	const struct ob_server_config	*c = s->cfg;
	struct ob_pin_source		*ps = NULL;
	struct ob_redis_cfg		 rc;
	char				*pw = NULL;
	int				 r;

	memset(&rc, 0, sizeof(rc));
	rc.uri = c->state;
	rc.user = c->redis.user;
	rc.prefix = c->redis.prefix;
	rc.connect_timeout_ms = c->redis.connect_timeout_ms;
	rc.timeout_ms = c->redis.timeout_ms;
	rc.wait_replicas = c->redis.wait_replicas;
	rc.wait_timeout_ms = c->redis.wait_timeout_ms;
	if (c->redis.password_source != NULL) {
		OB_TRY(ob_pin_source_parse(c->redis.password_source, &ps));
		OB_TRY(ob_pin_read(ps, "Redis password", &pw));
		rc.password = pw;
		/* Read once: not for the launcher, the helper or /proc. */
		ob_pin_env_scrub(c->redis.password_source);
	}
	OB_TRY(ob_state_open_redis(&rc, &s->state));
	if (c->rate.shared) {
		OB_TRY(ob_redis_new(&rc, &s->rate_redis));
		OB_TRY(ob_redis_ping(s->rate_redis));
	}
	r = OB_OK;
out:
	ob_pin_free(&pw);
	ob_pin_source_free(&ps);
	if (r != OB_OK)
		r = ob_err_prefix(r, "state");
	return r;
}

static int
open_rate(struct server *s, const struct ob_rate *rate, const char *name,
    struct ob_rate_table **out)
{
	if (s->rate_redis != NULL)
		return ob_rate_new_shared(rate, s->rate_redis, name, out);
	return ob_rate_new(rate, out);
}

/* The signer's lines in the service's log (before it exists: stderr). */
static void
signer_log(void *arg, const char *level, const char *event, int code,
    const char *detail)
{
	struct server *s = arg;

	if (s->svc != NULL)
		ob_svc_log(s->svc, level, event, code, detail);
	else
		fprintf(stderr, "%s: %s: %s%s%s\n", PROG, event, detail,
		    code != OB_OK ? " " : "", code != OB_OK ?
		    ob_err_name(code) : "");
}

/* /metrics: the ping callback's counters. */
static size_t
metrics(char *buf, size_t size, void *arg)
{
	struct server *s = arg;

	return ob_notifier_metrics(s->notifier, buf, size);
}

/* The notifier's outcomes, in the server's log. */
static void
notify_log(void *arg, const char *level, int code, const char *detail)
{
	struct server *s = arg;

	ob_svc_log(s->svc, level, "ping", code, detail);
}

/* /healthz: the helper's state; not ready unless it can sign. */
static int
health(json_t *o, void *arg)
{
	struct server		*s = arg;
	enum ob_signer_state	 st;
	unsigned		 restarts;
	long			 pid;

	st = ob_signer_state(s->signer, &pid, &restarts);
	(void)json_object_set_new(o, "signer", json_pack("{s:s,s:I,s:I}",
	    "state", ob_signer_state_name(st), "pid", (json_int_t)pid,
	    "restarts", (json_int_t)restarts));
	return st == OB_SIGNER_READY;
}

/* ownerbind-notifier, next to this program. */
static int
notifier_path(char *buf, size_t size)
{
	char	*slash;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", buf, size - 1)) <= 0 ||
	    (size_t)n >= size - 1)
		return ob_errf(OB_ERR_IO, "/proc/self/exe: %s",
		    strerror(errno));
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL ||
	    (size_t)(slash - buf) + sizeof("/ownerbind-notifier") > size)
		return ob_errf(OB_ERR_IO, "%s: no directory", buf);
	memcpy(slash + 1, "ownerbind-notifier", sizeof("ownerbind-notifier"));
	return OB_OK;
}

/* ownerbind-signer next to this program, unless configured. */
static int
helper_path(const char *configured, char *buf, size_t size)
{
	char	*slash;
	ssize_t	 n;

	if (configured != NULL) {
		snprintf(buf, size, "%s", configured);
		return OB_OK;
	}
	if ((n = readlink("/proc/self/exe", buf, size - 1)) <= 0 ||
	    (size_t)n >= size - 1)
		return ob_errf(OB_ERR_CONFIG_INVALID, "cannot find this "
		    "program's directory: set signer.program");
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL ||
	    (size_t)(slash - buf) + sizeof("/ownerbind-signer") > size)
		return ob_errf(OB_ERR_CONFIG_INVALID, "set signer.program");
	memcpy(slash, "/ownerbind-signer", sizeof("/ownerbind-signer"));
	return OB_OK;
}

static int
signer_open(struct server *s)
{
	const struct ob_server_config	*c = s->cfg;
	struct ob_signer_cfg		 sc;
	char				 prog[PATH_MAX];
	int				 r;

	memset(&sc, 0, sizeof(sc));
	if (c->signer.config != NULL) {
		if ((r = helper_path(c->signer.program, prog, sizeof(prog))) !=
		    OB_OK)
			return r;
		sc.program = prog;
		sc.config = c->signer.config;
	} else
		sc.socket = c->signer.socket;
	sc.client = PROG;
	sc.timeout_ms = (int)c->signer.timeout_ms;
	sc.backoff_max_ms = (int)c->signer.backoff_max_ms;
	sc.log = signer_log;
	sc.log_arg = s;
	return ob_signer_open(&sc, &s->signer);
}

static int
server_open(struct server *s, const char *config_path)
{
	struct ob_issuer_cfg	 ic;
	struct ob_chal_cfg	 cc;
	struct ob_pipe_cfg	 pc;
	char			*chain = NULL, uri[80], path[PATH_MAX];
	size_t			 n;
	unsigned long		 line = 0;
	int			 r;

	if ((r = ob_server_config_load(config_path, &s->cfg, &line)) != OB_OK) {
		fprintf(stderr, "%s: %s:%lu: %s\n", PROG, config_path, line,
		    ob_err_detail());
		s->cfg_bad = 1;
		return r;
	}
	/* The first snapshot; start's reference keeps s->cfg to the end. */
	if ((s->start = calloc(1, sizeof(*s->start))) == NULL) {
		ob_server_config_free(&s->cfg);
		return OB_ERR_ALLOC;
	}
	s->start->cfg = s->cfg;
	s->start->refs = 2;
	s->cur = s->start;
	/* Starts the ping notifier: before any thread and any open file. */
	if ((r = notifier_path(path, sizeof(path))) != OB_OK ||
	    (r = ob_notifier_open(s->cfg, path, &s->notifier)) != OB_OK)
		goto out;
	OB_TRY(ob_enrol_trust_load(s->cfg->trust, s->cfg->enrol.dir,
	    &s->trust));
	if (s->cfg->state_redis)
		OB_TRY(open_redis(s));
	else
		OB_TRY(ob_state_open_sqlite(s->cfg->state, &s->state));
	OB_TRY(ob_audit_open(s->cfg->audit, &s->audit));
	/* Forks the launcher: before any thread exists. */
	OB_TRY(signer_open(s));
	OB_TRY(ob_read_all(s->cfg->issuer.chain, 1 << 20, &chain, &n));
	memset(&ic, 0, sizeof(ic));
	snprintf(uri, sizeof(uri), "signer:%s", s->cfg->issuer.key);
	ic.key_uri = uri;
	ic.signer = s->signer;
	ic.chain_pem = chain;
	ic.iss = s->cfg->iss;
	ic.owner_oid = s->cfg->wic.owner_oid;
	ic.lifetime = s->cfg->lifetime;
	ic.subject_ou = s->cfg->wic.subject_ou;
	OB_TRY(ob_issuer_open(&ic, &s->issuer));
	OB_TRY(jwks_build(s, s->cfg, &s->start->jwks));
	cc.deadline_s = s->cfg->challenge.deadline_s;
	cc.interval_s = s->cfg->challenge.interval_s;
	cc.max_pending = (size_t)s->cfg->challenge.max_pending;
	OB_TRY(ob_chal_table_new(&cc, &s->chal));
	memset(&pc, 0, sizeof(pc));
	pc.batch_max = PIPE_BATCH;
	pc.commit = pipe_commit;
	pc.finish = pipe_finish;
	pc.arg = s;
	OB_TRY(ob_pipe_new(&pc, &s->pipe));
	OB_TRY(open_rate(s, &s->cfg->rate.per_peer, "peer", &s->rate_peer));
	OB_TRY(open_rate(s, &s->cfg->rate.per_owner, "owner",
	    &s->rate_owner));
	OB_TRY(open_rate(s, &s->cfg->rate.per_agent, "agent",
	    &s->rate_agent));
	OB_TRY(ob_rate_new(&s->cfg->enrol.per_ip, &s->rate_enrol_ip));
	OB_TRY(ob_rate_new(&s->cfg->enrol.global, &s->rate_enrol_all));
	OB_TRY(ob_rate_new(&s->cfg->challenge.page_per_ip,
	    &s->rate_page_ip));
	OB_TRY(ob_rate_new(&s->cfg->challenge.page_global,
	    &s->rate_page_all));
	r = OB_OK;
out:
	free(chain);
	return r;
}

static int
server_listen(struct server *s)
{
	const struct ob_server_config	*c = s->cfg;
	struct ob_svc_peer_table	 peers = OB_SVC_PEER_TABLE_INIT;
	struct ob_svc_cfg		 sc;
	int				 r;

	OB_TRY(svc_peers(c, &peers));
	memset(&sc, 0, sizeof(sc));
	sc.name = PROG;
	sc.listen = c->listen;
	sc.metrics_listen = c->metrics_listen;
	sc.tls.cert = c->tls.cert;
	sc.tls.key = c->tls.key;
	sc.tls.client_ca = c->tls.client_ca;
	/* The approval page is for browsers, which have no client
	 * certificate: every other route still requires one. */
	sc.tls.client_cert_optional = c->challenge.approval_page ||
	    c->enrol.dir != NULL;
	sc.peers = peers.peer;
	sc.npeers = peers.n;
	sc.limits.max_body = c->limits.max_body;
	sc.limits.max_headers = c->limits.max_header;
	sc.limits.max_conns = (int)c->limits.max_conns;
	sc.limits.timeout_s = (int)c->limits.timeout_s;
	sc.limits.workers = (int)c->limits.workers;
	sc.limits.queue = (int)c->limits.queue;
	OB_TRY(ob_svc_new(&sc, &s->svc));	/* copies the peers */
	OB_TRY(ob_svc_set_log_level(s->svc, log_level_name(c->log_level)));
	OB_TRY(ob_svc_route(s->svc, "POST", "/v1/credentials",
	    "application/jose+json", 1, h_credentials, s));
	OB_TRY(ob_svc_route(s->svc, "GET", "/v1/keys", NULL, 0, h_keys, s));
	OB_TRY(ob_svc_route(s->svc, "GET", "/v1/requests/", NULL, 0, h_poll,
	    s));
	OB_TRY(ob_svc_route(s->svc, "GET", "/v1/owner/challenges", NULL, 0,
	    h_challenges, s));
	ob_chal_on_pending(s->chal, chal_pending, s);
	OB_TRY(ob_svc_route(s->svc, "POST", "/v1/owner/challenges/",
	    "application/json", 1, h_answer, s));
	if (c->challenge.approval_page) {
		OB_TRY(ob_svc_route_public(s->svc, "GET", "/approve/", NULL, 0,
		    h_page, s));
		OB_TRY(ob_svc_route_public(s->svc, "GET", "/approve.js", NULL,
		    0, h_page_js, s));
		OB_TRY(ob_svc_route_public(s->svc, "GET", "/v1/approve/", NULL,
		    1, h_approve_info, s));
		OB_TRY(ob_svc_route_public(s->svc, "POST", "/v1/approve/",
		    "application/json", 1, h_approve, s));
	}
	if (c->challenge.approval_page || c->enrol.dir != NULL)
		OB_TRY(ob_svc_route_public(s->svc, "GET", "/approve.css", NULL,
		    0, h_page_css, s));
	if (c->enrol.dir != NULL) {
		/* The invite is a bearer secret: logged cut short. */
		OB_TRY(ob_svc_route_public_secret(s->svc, "GET", "/enrol/",
		    NULL, 0, h_enrol_page, s));
		OB_TRY(ob_svc_route_public(s->svc, "GET", "/enrol.js", NULL, 0,
		    h_enrol_js, s));
		OB_TRY(ob_svc_route_public_secret(s->svc, "GET", "/v1/enrol/",
		    NULL, 1, h_enrol_info, s));
		OB_TRY(ob_svc_route_public_secret(s->svc, "POST", "/v1/enrol/",
		    "application/json", 1, h_enrol, s));
	}
	OB_TRY(ob_svc_on_reload(s->svc, reload, s));
	OB_TRY(ob_svc_on_reload(s->svc, audit_reopen, s));
	OB_TRY(ob_svc_on_refusal(s->svc, on_refusal, s));
	OB_TRY(ob_svc_on_conn_refusal(s->svc, on_conn_refusal, s));
	OB_TRY(ob_svc_on_health(s->svc, health, s));
	OB_TRY(ob_svc_on_metrics(s->svc, metrics, s));
	r = OB_OK;
out:
	ob_svc_peer_table_free(&peers);
	return r;
}

/* dirname of path into buf. */
static const char *
dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || (size_t)(slash - path) >= size)
		return NULL;
	if (slash == path)
		return "/";
	memcpy(buf, path, (size_t)(slash - path));
	buf[slash - path] = '\0';
	return buf;
}

/*
 * Landlock, before any thread exists: what SIGHUP reads again (TLS files,
 * trust store) and what is written (replay state, issuance record).
 */
static int
sandbox_fs(struct server *s, char *what, size_t whatsz)
{
	const struct ob_server_config	*c = s->cfg;
	const char			*ro[5 + OB_ISSUER_MAX_PUBLISH], *rw[3];
	char				 b[8 + OB_ISSUER_MAX_PUBLISH][PATH_MAX];
	size_t				 i, nro = 5, nrw = 1;

	ro[0] = dir_of(c->tls.cert, b[0], sizeof(b[0]));
	ro[1] = dir_of(c->tls.key, b[1], sizeof(b[1]));
	ro[2] = dir_of(c->tls.client_ca, b[2], sizeof(b[2]));
	ro[3] = dir_of(c->trust, b[3], sizeof(b[3]));
	ro[4] = dir_of(c->path, b[7], sizeof(b[7]));	/* SIGHUP reads it */
	/* issuer.publish, read again at SIGHUP: its files' directories at
	 * start (a reload may name other files there, or beside the
	 * configuration). */
	for (i = 0; i < c->issuer.npublish; i++)
		if ((ro[nro] = dir_of(c->issuer.publish[i], b[8 + i],
		    sizeof(b[8 + i]))) != NULL)
			nro++;
	rw[0] = dir_of(c->audit, b[5], sizeof(b[5]));
	/* Enrolment writes its own directory (invites, enrolled.json),
	 * never the trust store's: docs/trust-store.md. */
	if (c->enrol.dir != NULL) {
		snprintf(b[6], sizeof(b[6]), "%s", c->enrol.dir);
		rw[nrw++] = b[6];
	}
	/* A Redis state is a socket, not a directory to write (Landlock does
	 * not govern connect(2) to a named unix socket). */
	if (c->state_redis)
		return ob_sandbox_landlock(ro, nro, rw, nrw, what, whatsz);
	rw[nrw] = dir_of(c->state, b[4], sizeof(b[4]));
	/* SQLite's temporary files go where the server may write. */
	if (rw[nrw] != NULL && setenv("SQLITE_TMPDIR", rw[nrw], 1) != 0)
		return OB_ERR_ALLOC;
	return ob_sandbox_landlock(ro, nro, rw, nrw + 1, what, whatsz);
}

static void
server_close(struct server *s)
{
	/* Every request in the pipeline answered before the service goes. */
	ob_pipe_free(&s->pipe);
	ob_notifier_free(&s->notifier);
	ob_svc_free(&s->svc);
	ob_rate_free(&s->rate_peer);
	ob_rate_free(&s->rate_owner);
	ob_rate_free(&s->rate_agent);
	ob_rate_free(&s->rate_enrol_ip);
	ob_rate_free(&s->rate_enrol_all);
	ob_rate_free(&s->rate_page_ip);
	ob_rate_free(&s->rate_page_all);
	ob_chal_table_free(&s->chal);
	ob_redis_free(&s->rate_redis);
	ob_issuer_free(&s->issuer);
	ob_signer_free(&s->signer);
	ob_audit_free(&s->audit);
	ob_state_free(&s->state);
	ob_trust_free(&s->trust);
	cfg_put(s, s->cur);
	cfg_put(s, s->start);		/* frees s->cfg */
	s->cfg = NULL;
}

/* --check-config: exit 0 or 2; with --json, one object either way. */
static int
check_config(const char *path, int json)
{
	struct ob_server_config	*cfg = NULL;
	unsigned long		 line = 0;
	json_t			*o;
	char			*js;
	int			 r;

	if (!json)
		return ob_server_config_check_main(path) == 0 ? 0 : 2;
	ob_err_clear();
	if ((r = ob_server_config_load(path, &cfg, &line)) != OB_OK) {
		ob_print_error_json("error", r, 2);
		return 2;
	}
	ob_server_config_free(&cfg);
	if ((o = json_pack("{s:s,s:s}", "result", "ok", "file", path)) !=
	    NULL && (js = json_dumps(o, JSON_COMPACT)) != NULL) {
		printf("%s\n", js);
		free(js);
	}
	json_decref(o);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s --config FILE\n"
	    "       %s --check-config FILE\n"
	    "       %s --dev DIR [--listen ADDR:PORT]\n"
	    "       %s audit verify [--json] [--continued] FILE...\n"
	    "       %s invite --config FILE --owner ID --may-bind PATTERN "
	    "[--ttl S]\n"
	    "--json: errors (and --check-config's result) as one JSON object.\n"
	    "The identity server: verifies owner-binding envelopes and issues\n"
	    "dual-identity credentials (WIT + WIC) over mutual TLS.\n"
	    "See ownerbind-server(8), docs/server.md and docs/api.md.\n",
	    PROG, PROG, PROG, PROG, PROG);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "dev", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct server		 s;
	struct ob_devmode_paths	*dev = NULL;
	const char		*config = NULL, *devdir = NULL, *listen = NULL;
	char			 url[128], sbox[256];
	int			 ch, r, rc = 1, json;

	ob_process_harden();
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return ob_audit_verify_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "invite") == 0)
		return ob_enrol_invite_main(argc - 1, argv + 1);
	/* --json: usage and configuration errors as one JSON object. */
	if ((json = ob_cli_has_option(argc, argv, "--json")) != 0)
		opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'C': return check_config(optarg, json);
		case 'd': devdir = optarg; break;
		case 'l': listen = optarg; break;
		case 'j': break;
		case 'h': usage(stdout); return 0;
		case 'V': version(); return 0;
		default:
			return ob_cli_usage_error(PROG, json, usage, json ?
			    ob_cli_badopt(argc, argv) : NULL);
		}
	}
	if (optind != argc || (config == NULL) == (devdir == NULL) ||
	    (listen != NULL && devdir == NULL))
		return ob_cli_usage_error(PROG, json, usage, "one of --config "
		    "FILE, --check-config FILE or --dev DIR");
	memset(&s, 0, sizeof(s));
	/* A full disk (a file-size limit) is an error to report, not death. */
	(void)signal(SIGXFSZ, SIG_IGN);
	if (pthread_rwlock_init(&s.trust_lock, NULL) != 0 ||
	    pthread_mutex_init(&s.cfg_lock, NULL) != 0)
		return 1;
	if (devdir != NULL) {
		if ((r = ob_devmode_create(devdir, listen, &dev)) != OB_OK)
			goto out;
		config = dev->config;
	}
	if ((r = server_open(&s, config)) != OB_OK ||
	    (r = server_listen(&s)) != OB_OK)
		goto out;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", ob_svc_port(s.svc));
	if (dev != NULL && (r = ob_devmode_write_info(dev, url)) != OB_OK)
		goto out;
	{
		char m[160];

		snprintf(m, sizeof(m), "%s metrics=http://127.0.0.1:%d%s%s",
		    url, ob_svc_metrics_port(s.svc), dev != NULL ? " dev=" : "",
		    dev != NULL ? dev->info : "");
		ob_svc_log(s.svc, "info", "listening", OB_OK, m);
	}
	if ((r = ob_process_drop_user(s.cfg->user)) != OB_OK)
		goto out;
	/*
	 * The sandbox, now that the helper runs, the files are open and the
	 * listeners bound: Landlock before the first thread (it binds the
	 * threads started after it), seccomp once every thread runs.
	 */
	if (!s.cfg->sandbox)
		ob_svc_log(s.svc, "warn", "sandbox", OB_OK, "off (the "
		    "configuration's \"sandbox\": false)");
	else if ((r = sandbox_fs(&s, sbox, sizeof(sbox))) != OB_OK)
		goto out;
	else
		ob_svc_log(s.svc, "info", "sandbox", OB_OK, sbox);
	if ((r = ob_svc_start(s.svc)) != OB_OK ||
	    (r = ob_pipe_start(s.pipe)) != OB_OK ||
	    (r = ob_signer_start(s.signer)) != OB_OK ||
	    (r = ob_notifier_start(s.notifier, s.chal, notify_log, &s)) !=
	    OB_OK)
		goto out;
	if (s.cfg->sandbox) {
		if ((r = ob_sandbox_seccomp()) != OB_OK)
			goto out;
		ob_svc_log(s.svc, "info", "sandbox", OB_OK, "seccomp: the "
		    "allow-list is in force on every thread");
	}
	if ((r = ob_svc_run(s.svc)) != OB_OK)
		goto out;
	rc = 0;
out:
	if (s.cfg_bad)
		rc = 2;
	if (rc != 0 && r != OB_OK && json)
		ob_print_error_json("error", r, rc);
	else if (rc != 0 && r != OB_OK)
		ob_print_error(PROG, r);
	server_close(&s);
	ob_devmode_paths_free(&dev);
	pthread_rwlock_destroy(&s.trust_lock);
	pthread_mutex_destroy(&s.cfg_lock);
	return rc;
}
