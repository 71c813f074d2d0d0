/*
 * ownerbind-gateway: the owner-mediated model's gatekeeper
 * (docs/gateway.md).  Proxies post agent requests over mutual TLS; the
 * gateway verifies the agent's entry and claims with the library, applies
 * its policy (docs/gateway-policy.md) and its rate limits, waits for
 * human approvals when a rule asks for them, has the organisation's HSM
 * key sign the gateway entry through ownerbind-signer (the key, its PIN
 * and its PKCS#11 module are never in this process), and forwards the
 * envelope to the identity server over mutual TLS.  Every decision is a
 * line of the hash-chained record before anything is signed or answered.
 *
 *   ownerbind-gateway --config FILE
 *   ownerbind-gateway --check-config FILE
 *   ownerbind-gateway --dev DIR --server-dev SERVER_DIR
 *   ownerbind-gateway audit verify [--continued] FILE...
 */
#include <sys/resource.h>

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
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/cliutil.h"
#include "common/process.h"
#include "common/sandbox.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "gateway/approval.h"
#include "gateway/config.h"
#include "gateway/devmode.h"
#include "gateway/hsmq.h"
#include "gateway/policy.h"
#include "gateway/seen.h"
#include "server-verify/verify_int.h"
#include "server/audit.h"
#include "server/rate.h"
#include "service/client_pool.h"
#include "service/svc.h"
#include "service/svc_peer_table.h"
#include "tokens/remote.h"
#include "tokens/token.h"

#define PROG		"ownerbind-gateway"
#define PROXY_HEADER	"Ownerbind-Proxy"
/* The oldest iat the gateway's verification accepts (the library's
 * default, set explicitly: the replay table keeps requests this long). */
#define GW_MAX_AGE	300

/* One configuration, immutable once published (as the server's,
 * decision 146): a request takes it at its start. */
struct gwsnap {
	struct ob_gw_config	*cfg;
	unsigned		 refs;		/* under gw.cfg_lock */
};

struct gw {
	struct ob_gw_config	*cfg;		/* at start: fixed members */
	int			 cfg_bad;	/* --config did not load: exit 2 */
	pthread_mutex_t		 cfg_lock;
	struct gwsnap		*cur;		/* reloadable: cfg_take */
	struct gwsnap		*start;		/* holds cfg */
	struct ob_svc		*svc;
	struct ob_signer	*signer;
	struct ob_token		*tok;
	json_t			*x5c;
	struct ob_http_client	*http;
	pthread_rwlock_t	 lock;		/* policy and trust */
	struct ob_gw_policy	*policy;
	struct ob_trust		*trust;		/* approvers' keys or NULL */
	struct ob_gw_pending	*pending;
	struct ob_audit		*audit;
	struct ob_hsmq		*hsmq;
	struct ob_gw_seen	*seen;		/* requests in hand, spent */
	struct ob_rate_table	*rate_proxy, *rate_owner, *rate_agent;
	unsigned long long	 signed_total, forwarded_total;
	pthread_mutex_t		 stats_mu;
};

/* What one request has become, for its record lines. */
struct job {
	struct gw		*g;
	struct ob_svc_req	*req;
	struct ob_envelope	*env;
	const char		*proxy;
	char			 rule[OB_GW_RULE_NAME + 1];
	long long		 deadline_ms;
};

static int
status_for(int code)
{
	switch (ob_err_public(code)) {
	case OB_ERR_SVC_BAD_REQUEST:		return 400;
	case OB_ERR_SVC_TOO_LARGE:		return 413;
	case OB_ERR_SVC_RATE_LIMITED:		return 429;
	case OB_ERR_SVC_UNAVAILABLE:		return 503;
	case OB_ERR_SIGNER_UNAVAILABLE:		return 503;
	case OB_ERR_UPSTREAM_UNAVAILABLE:	return 502;
	case OB_ERR_UPSTREAM_TIMEOUT:		return 504;
	case OB_ERR_POLICY_DENIED:		return 403;
	case OB_ERR_APPROVAL_TIMEOUT:		return 403;
	case OB_ERR_REJECTED:			return 403;
	default:				return 500;
	}
}

/* One line of the record; accepted says the request went on. */
static int
record(struct gw *g, struct ob_svc_req *req, const struct ob_envelope *env,
    int accepted, int code, const char *detail, const char *cred_jti,
    long long cred_exp)
{
	struct ob_audit_event	ev;
	struct timespec		ts;

	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.ts_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.request_id = ob_svc_req_id(req);
	ev.peer = ob_svc_req_peer_id(req);
	ev.accepted = accepted;
	ev.code = code;
	ev.detail = detail;
	if (env != NULL) {
		ev.agent = env->claims.sub;
		ev.owner = env->claims.owner;
		ev.model = "owner-mediated";
		ev.jti = env->claims.jti;
	}
	ev.cred_jti = cred_jti;
	ev.cred_exp = cred_exp;
	return ob_audit_append(g->audit, &ev, NULL);
}

/* Refuse: the record first (a refusal that cannot be recorded is still
 * refused), then the problem. */
static void
refuse(struct gw *g, struct ob_svc_req *req, const struct ob_envelope *env,
    int code, const char *detail)
{
	int r;

	if ((r = record(g, req, env, 0, code, detail, NULL, 0)) != OB_OK)
		ob_svc_log(g->svc, "error", "audit", r, ob_err_detail());
	if (ob_err_public(code) == OB_ERR_SIGNER_UNAVAILABLE)
		ob_svc_req_retry_after(req, ob_signer_retry_after(g->signer));
	else if (code == OB_ERR_GATEWAY_QUEUE_FULL)
		ob_svc_req_retry_after(req, 1);
	(void)ob_svc_reply_problem(req, status_for(code), code,
	    ob_err_text(ob_err_public(code)), detail);
}

static void
on_refusal(struct ob_svc_req *req, int status, int code, const char *detail,
    void *arg)
{
	struct gw	*g = arg;
	const char	*m = ob_svc_req_method(req), *p = ob_svc_req_path(req);
	char		 d[256];
	int		 r;

	snprintf(d, sizeof(d), "HTTP %d %s %s: %s", status, m != NULL ? m :
	    "-", p != NULL ? p : "-", detail != NULL ? detail :
	    ob_err_text(code));
	if ((r = record(g, req, NULL, 0, code, d, NULL, 0)) != OB_OK)
		ob_svc_log(g->svc, "error", "audit", r, ob_err_detail());
}

static void
on_conn_refusal(const struct ob_svc_conn_event *e, void *arg)
{
	struct gw		*g = arg;
	struct ob_audit_event	 ev;
	struct timespec		 ts;
	char			 d[384];
	int			 r;

	snprintf(d, sizeof(d), "%s from %s: %s", e->status != 0 ? "HTTP" :
	    "connection", e->addr, e->detail);
	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.ts_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.request_id = e->request_id;
	ev.peer = e->peer_id;
	ev.code = e->code;
	ev.detail = d;
	if ((r = ob_audit_append(g->audit, &ev, NULL)) != OB_OK)
		ob_svc_log(g->svc, "error", "audit", r, ob_err_detail());
}

/* The configuration now, for one request: cfg_put when done. */
static struct gwsnap *
cfg_take(struct gw *g)
{
	struct gwsnap *cs;

	pthread_mutex_lock(&g->cfg_lock);
	cs = g->cur;
	cs->refs++;
	pthread_mutex_unlock(&g->cfg_lock);
	return cs;
}

static void
cfg_put(struct gw *g, struct gwsnap *cs)
{
	unsigned left;

	if (cs == NULL)
		return;
	pthread_mutex_lock(&g->cfg_lock);
	left = --cs->refs;
	pthread_mutex_unlock(&g->cfg_lock);
	if (left == 0) {
		ob_gw_config_free(&cs->cfg);
		free(cs);
	}
}

/* A rate bucket: OB_OK, or the request was answered. */
static int
take(struct gw *g, struct job *j, struct ob_rate_table *t, const char *what,
    const char *key)
{
	char	d[256];
	int	r;

	if ((r = ob_rate_take(t, key)) == OB_OK)
		return OB_OK;
	if (r == OB_ERR_SVC_RATE_LIMITED)
		ob_svc_req_set_retry_after(j->req, ob_rate_retry_after(t));
	snprintf(d, sizeof(d), "rate-limited: per-%s bucket of %.128s", what,
	    key);
	refuse(g, j->req, j->env, r, d);
	return r;
}

/*
 * The gateway's entry: the organisation's chain in x5c and the proxy it
 * authenticated in ob_proxy, both under the HSM's signature.  The record
 * line that says so is on disk before the HSM is asked.
 */
static int
sign_entry(struct gw *g, struct job *j)
{
	json_t	*ph = NULL;
	char	 d[256];
	int	 r;

	/* The record before the queue: its fsync holds up no other
	 * request's signature.  A refusal after it has its own line. */
	if (j->env->claims.renew_until != 0)
		snprintf(d, sizeof(d), "allowed by rule %s; signing for proxy "
		    "%.64s, approval window until %lld", j->rule, j->proxy,
		    j->env->claims.renew_until);
	else
		snprintf(d, sizeof(d), "allowed by rule %s; signing for proxy "
		    "%.64s", j->rule, j->proxy);
	if ((r = record(g, j->req, j->env, 1, OB_OK, d, NULL, 0)) != OB_OK)
		return ob_err_prefix(r, "nothing signed without its record");
	OB_TRY(ob_hsmq_enter(g->hsmq, j->deadline_ms));
	if ((r = ob_protected_new(ob_token_alg(g->tok), g->cfg->id,
	    OB_ROLE_GATEWAY, OB_MODEL_OWNER_MEDIATED, (long long)time(NULL),
	    NULL, g->x5c, &ph)) == OB_OK &&
	    (r = json_object_set_new(ph, "ob_proxy", json_string(j->proxy)) !=
	    0 ? OB_ERR_ALLOC : OB_OK) == OB_OK) {
		snprintf(d, sizeof(d), "req=%s proxy=%s", ob_svc_req_id(j->req),
		    j->proxy);
		ob_signer_set_context(d);
		r = ob_token_sign_entry_hdr(g->tok, j->env, ph);
		ob_signer_set_context(NULL);
	}
	ob_hsmq_leave(g->hsmq);
	if (r == OB_OK) {
		pthread_mutex_lock(&g->stats_mu);
		g->signed_total++;
		pthread_mutex_unlock(&g->stats_mu);
	}
out:
	json_decref(ph);
	return r;
}

/* A final answer from the server: the same envelope would meet it again
 * (a 201, or a refusal that is not "later"). */
static int
final_status(long status)
{
	return status == 201 || (status >= 400 && status < 500 &&
	    status != 408 && status != 429);
}

/* Forward the signed envelope; pass the server's answer on.  1 if the
 * server's answer was final: the request is spent. */
static int
forward(struct gw *g, struct job *j)
{
	struct ob_http_reply	 rep;
	const char		*hdrs[2];
	char			*body = NULL, hdr[160], d[384];
	const char		*cjti = NULL;
	json_t			*resp = NULL, *v;
	long long		 cexp = 0;
	size_t			 len;
	int			 r, spent = 0;

	memset(&rep, 0, sizeof(rep));
	if ((r = ob_envelope_serialize(j->env, &body, &len)) != OB_OK) {
		refuse(g, j->req, j->env, r, "serialising the envelope");
		return 0;
	}
	snprintf(hdr, sizeof(hdr), PROXY_HEADER ": %s", j->proxy);
	hdrs[0] = hdr;
	hdrs[1] = NULL;
	if ((r = ob_http_post(g->http, "/v1/credentials",
	    "application/jose+json", hdrs, body, len, &rep)) != OB_OK) {
		snprintf(d, sizeof(d), "forwarded (signed), no answer: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(g, j->req, j->env, r, d);
		goto out;
	}
	pthread_mutex_lock(&g->stats_mu);
	g->forwarded_total++;
	pthread_mutex_unlock(&g->stats_mu);
	if (rep.body == NULL || ob_json_read(rep.body, rep.len,
	    OB_JSON_MAX_DEPTH, &resp) != OB_OK || !json_is_object(resp)) {
		snprintf(d, sizeof(d), "forwarded (signed): server answered "
		    "HTTP %ld without a JSON object", rep.status);
		refuse(g, j->req, j->env, OB_ERR_UPSTREAM_REPLY, d);
		goto out;
	}
	spent = final_status(rep.status);
	if (rep.status == 201) {
		cexp = json_integer_value(json_object_get(resp, "expires_at"));
		cjti = NULL;
	}
	v = json_object_get(resp, "code");
	snprintf(d, sizeof(d), "forwarded: server answered HTTP %ld%s%s%s%s",
	    rep.status, json_is_string(v) ? " " : "", json_is_string(v) ?
	    json_string_value(v) : "", json_is_string(json_object_get(resp,
	    "request_id")) ? " server request_id=" : "",
	    json_is_string(json_object_get(resp, "request_id")) ?
	    json_string_value(json_object_get(resp, "request_id")) : "");
	if ((r = record(g, j->req, j->env, rep.status == 201, OB_OK, d, cjti,
	    cexp)) != OB_OK) {
		/* Issued, but unrecorded here: the credential is withheld. */
		snprintf(d, sizeof(d), "record of the server's answer: %s",
		    ob_err_name(r));
		(void)ob_svc_reply_problem(j->req, 503, OB_ERR_SVC_UNAVAILABLE,
		    ob_err_text(OB_ERR_SVC_UNAVAILABLE), d);
		goto out;
	}
	if (rep.retry_after > 0)
		ob_svc_req_retry_after(j->req, rep.retry_after);
	(void)ob_svc_reply_json(j->req, (int)rep.status, resp,
	    rep.status == 201 ? NULL : "application/problem+json");
out:
	json_decref(resp);
	ob_http_reply_clear(&rep);
	free(body);
	return spent;
}

/*
 * What the proxy is told when the HSM did not sign: the token's own
 * trouble (removed, PIN, a bad signature it made) is the HSM being
 * unavailable, which a retry may cure, as for the helper itself.
 */
static int
hsm_code(int r)
{
	switch (r) {
	case OB_ERR_TOKEN_ABSENT:
	case OB_ERR_TOKEN_SIG_BAD:
	case OB_ERR_PIN_INCORRECT:
	case OB_ERR_PIN_BLOCKED:
	case OB_ERR_PIN_SOURCE:
	case OB_ERR_SIGNER_RATE:
		return OB_ERR_SIGNER_UNAVAILABLE;
	default:
		return r;
	}
}

/* The request taken in hand (ob_gw_seen_begin) is done. */
static void
seen_end(struct gw *g, const struct ob_envelope *env, int spent)
{
	ob_gw_seen_end(g->seen, env->claims.jkt, env->claims.jti, spent);
}

/* After the policy (and the approvals): sign, forward, answer; the
 * request in hand is then spent or forgotten. */
static void
finish(struct gw *g, struct job *j)
{
	char	d[384];
	int	r, spent = 0;

	if ((r = sign_entry(g, j)) != OB_OK) {
		snprintf(d, sizeof(d), "allowed by rule %s, not signed: %s: %s",
		    j->rule, ob_err_name(r), ob_err_detail());
		refuse(g, j->req, j->env, hsm_code(r), d);
	} else
		spent = forward(g, j);
	seen_end(g, j->env, spent);
}

/* The approvals are in (or not): called by the pending queue. */
static void
approved(void *arg, struct ob_svc_req *req, struct ob_envelope *env,
    const char *proxy, const char *rule, int code, const char *detail)
{
	struct gw	*g = arg;
	struct gwsnap	*cs = cfg_take(g);
	struct job	 j;

	memset(&j, 0, sizeof(j));
	j.g = g;
	j.req = req;
	j.env = env;
	j.proxy = proxy;
	snprintf(j.rule, sizeof(j.rule), "%s", rule);
	j.deadline_ms = ob_hsmq_now_ms() + cs->cfg->hsm_queue.deadline_ms;
	cfg_put(g, cs);
	if (code != OB_OK) {
		refuse(g, req, env, code, detail);
		seen_end(g, env, 0);
	} else {
		char d[384];

		snprintf(d, sizeof(d), "approved: %s", detail);
		if (record(g, req, env, 1, OB_OK, d, NULL, 0) != OB_OK) {
			refuse(g, req, env, OB_ERR_AUDIT_FAILED, "record of "
			    "the approvals");
			seen_end(g, env, 0);
		} else
			finish(g, &j);
	}
}

/* POST /v1/credentials, on a worker thread. */
static void
h_credentials(struct ob_svc_req *req, void *arg)
{
	struct gw		*g = arg;
	struct gwsnap		*cs = cfg_take(g);
	struct ob_verify_opts	 o;
	struct ob_gw_request	 q;
	struct ob_gw_decision	 dec;
	struct job		 j;
	const struct ob_entry	*ae;
	const char		*body;
	char			 d[512];
	size_t			 len;
	long long		 now, until;
	int			 r, held = 0;

	memset(&j, 0, sizeof(j));
	memset(&dec, 0, sizeof(dec));
	j.g = g;
	j.req = req;
	j.proxy = ob_svc_req_peer_id(req);
	j.deadline_ms = ob_hsmq_now_ms() + cs->cfg->hsm_queue.deadline_ms;
	if (take(g, &j, g->rate_proxy, "proxy", j.proxy) != OB_OK)
		goto out;
	body = ob_svc_req_body(req, &len);
	memset(&o, 0, sizeof(o));
	o.aud = cs->cfg->aud;
	o.max_age = GW_MAX_AGE;
	o.now = now = (long long)time(NULL);
	if ((r = ob_verify_agent_request(&o, body, len, &j.env)) != OB_OK) {
		snprintf(d, sizeof(d), "agent request: %s: %s", ob_err_name(r),
		    ob_err_detail());
		refuse(g, req, NULL, r, d);
		goto out;
	}
	/* Kept until the library would refuse the envelope anyway. */
	until = j.env->claims.exp < j.env->claims.iat + GW_MAX_AGE ?
	    j.env->claims.exp : j.env->claims.iat + GW_MAX_AGE + 1;
	if ((r = ob_gw_seen_begin(g->seen, j.env->claims.jkt,
	    j.env->claims.jti, until, now)) != OB_OK) {
		snprintf(d, sizeof(d), "replay, not signed: %s: %s",
		    ob_err_name(r), ob_err_detail());
		refuse(g, req, j.env, r, d);
		goto out;
	}
	held = 1;
	if (take(g, &j, g->rate_owner, "owner", j.env->claims.owner) != OB_OK)
		goto out;
	if (take(g, &j, g->rate_agent, "agent", j.env->claims.jkt) != OB_OK) {
		/* The owner's token back: nothing was done (decision 174;
		 * the gateway's tables are local, which never fail). */
		(void)ob_rate_give_back(g->rate_owner, j.env->claims.owner);
		goto out;
	}
	ae = &j.env->entries[0];
	memset(&q, 0, sizeof(q));
	q.proxy = j.proxy;
	q.agent = j.env->claims.sub;
	q.aud = j.env->claims.aud;
	q.alg = ob_alg_name(ae->alg);
	q.lifetime = j.env->claims.exp - j.env->claims.iat;
	q.renew_window = j.env->claims.renew_until != 0 ?
	    j.env->claims.renew_until - j.env->claims.iat : 0;
	q.has_evidence = j.env->claims.has_evidence;
	q.now = (long long)time(NULL);
	pthread_rwlock_rdlock(&g->lock);
	r = ob_gw_policy_decide(g->policy, &q, &dec);
	pthread_rwlock_unlock(&g->lock);
	if (r != OB_OK) {
		refuse(g, req, j.env, r, "policy");
		goto out;
	}
	snprintf(j.rule, sizeof(j.rule), "%s", dec.rule);
	if (!dec.allow) {
		snprintf(d, sizeof(d), "denied by rule %s: %s", dec.rule,
		    dec.why);
		refuse(g, req, j.env, OB_ERR_POLICY_DENIED, d);
		goto out;
	}
	if (dec.k != 0) {
		snprintf(d, sizeof(d), "allowed by rule %s, pending %u "
		    "approvals", dec.rule, dec.k);
		if ((r = record(g, req, j.env, 1, OB_OK, d, NULL, 0)) != OB_OK) {
			refuse(g, req, j.env, r, "record of the pending request");
			goto out;
		}
		/* The queue owns the request and the envelope now. */
		if ((r = ob_gw_pending_add(g->pending, req, j.env, j.proxy,
		    &dec)) != OB_OK) {
			refuse(g, req, j.env, r, "pending queue");
			goto out;
		}
		j.env = NULL;
		held = 0;	/* approved() ends it */
		goto out;
	}
	finish(g, &j);
	held = 0;
out:
	/* Refused before signing: a retry of it may pass. */
	if (held)
		seen_end(g, j.env, 0);
	ob_gw_decision_clear(&dec);
	ob_envelope_free(&j.env);
	cfg_put(g, cs);
}

/* The approval endpoints take the peer's bucket too: OB_OK, or the
 * request was answered 429. */
static int
take_peer(struct gw *g, struct ob_svc_req *req)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	j.g = g;
	j.req = req;
	return take(g, &j, g->rate_proxy, "proxy", ob_svc_req_peer_id(req));
}

/* GET /v1/approvals: what waits, for `ownerbind approve --list`. */
static void
h_approvals_list(struct ob_svc_req *req, void *arg)
{
	struct gw	*g = arg;
	json_t		*o = NULL;
	int		 r;

	if (take_peer(g, req) != OB_OK)
		return;
	if ((r = ob_gw_pending_list(g->pending, &o)) != OB_OK) {
		(void)ob_svc_reply_problem(req, 500, r,
		    ob_err_text(OB_ERR_INTERNAL), "pending list");
		return;
	}
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

/* POST /v1/approvals: one owner's approval of one pending request. */
static void
h_approve(struct ob_svc_req *req, void *arg)
{
	struct gw	*g = arg;
	const char	*body;
	char		 d[384], who[300];
	json_t		*o;
	size_t		 len;
	int		 r, done = 0;

	if (take_peer(g, req) != OB_OK)
		return;
	body = ob_svc_req_body(req, &len);
	pthread_rwlock_rdlock(&g->lock);
	r = ob_gw_pending_approve(g->pending, g->trust, body, len, who,
	    sizeof(who), &done);
	pthread_rwlock_unlock(&g->lock);
	snprintf(d, sizeof(d), "approval %s%s%s", r == OB_OK ? "counted: " :
	    "refused: ", r == OB_OK ? who : ob_err_name(r), r == OB_OK ? "" :
	    ob_err_detail());
	(void)record(g, req, NULL, r == OB_OK, r, d, NULL, 0);
	if (r != OB_OK) {
		(void)ob_svc_reply_problem(req, r == OB_ERR_APPROVAL_UNKNOWN ?
		    404 : 403, r, ob_err_text(ob_err_public(r)), d);
		return;
	}
	o = json_pack("{s:s,s:b}", "status", done ? "approved" : "counted",
	    "complete", done);
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
	/* The k-th approval: the held request goes on, on this thread. */
	if (done)
		ob_gw_pending_run(g->pending);
}

/* The service's peers for the configuration's proxies (free t). */
static int
svc_peers(const struct ob_gw_config *c, struct ob_svc_peer_table *t)
{
	size_t	i;
	int	r;

	if ((r = ob_svc_peer_table_new(t, c->nproxies)) != OB_OK)
		return r;
	for (i = 0; i < c->nproxies; i++)
		ob_svc_peer_table_set(t, i, c->proxies[i].id, "proxy",
		    c->proxies[i].san_uri, c->proxies[i].has_cert_sha256 ?
		    c->proxies[i].cert_sha256 : NULL);
	return OB_OK;
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The first member fixed at start that b changes (docs/gateway.md). */
static const char *
fixed_changed(const struct ob_gw_config *a, const struct ob_gw_config *b)
{
#define STR(m)	if (!same_str(a->m, b->m)) return #m
#define NUM(m)	if (a->m != b->m) return #m
	STR(listen); STR(metrics_listen); STR(id);
	STR(tls.cert); STR(tls.key); STR(tls.client_ca);
	STR(server.url); STR(server.ca); STR(server.cert); STR(server.key);
	NUM(server.timeout_ms);
	STR(signer.program); STR(signer.config); STR(signer.socket);
	STR(signer.key); NUM(signer.timeout_ms); NUM(signer.backoff_max_ms);
	STR(x5c); STR(policy); STR(trust); STR(audit);
	NUM(hsm_queue.depth); NUM(hsm_queue.in_flight);
	NUM(approval_timeout_s);
	NUM(limits.max_body); NUM(limits.max_header); NUM(limits.max_conns);
	NUM(limits.timeout_s); NUM(limits.workers); NUM(limits.queue);
	STR(user); NUM(sandbox);
#undef STR
#undef NUM
	return NULL;
}

/*
 * SIGHUP: when logrotate moved the issuance record away, it goes on in a
 * new file at its path (docs/audit.md, "Rotating the record"); when that
 * cannot be, the lines go on where they went and the log says why.
 */
static int
audit_reopen(void *arg)
{
	struct gw	*g = arg;
	char		 m[PATH_MAX + 64];
	int		 r;

	if ((r = ob_audit_rotate(g->audit, g->cfg->audit, m,
	    sizeof(m))) == OB_OK && m[0] != '\0')
		ob_svc_log(g->svc, "info", "audit reopened", OB_OK, m);
	return r;
}

/*
 * SIGHUP, on the loop (after the TLS files): the configuration file, the
 * policy and the approvers' trust store, all or nothing.  A good file
 * replaces the configuration for the requests that start from now on;
 * requests in flight finish with theirs.
 */
static int
reload(void *arg)
{
	struct gw		*g = arg;
	struct ob_gw_config	*n = NULL;
	struct ob_gw_policy	*p = NULL, *oldp;
	struct ob_trust		*t = NULL, *oldt;
	struct ob_svc_peer_table peers = OB_SVC_PEER_TABLE_INIT;
	struct gwsnap		*cs = NULL, *old;
	const char		*fixed;
	char			 m[128];
	unsigned long		 line = 0;
	int			 r;

	OB_TRY(ob_gw_config_load(g->cfg->path, &n, &line));
	if ((fixed = fixed_changed(g->cfg, n)) != NULL) {
		r = ob_errf(OB_ERR_GW_RELOAD, "%s: \"%s\" changed: it is "
		    "fixed at start", n->path, fixed);
		goto out;
	}
	OB_TRY(ob_gw_policy_load(n->policy, &p));
	if (n->trust != NULL)
		OB_TRY(ob_trust_load_file(n->trust, &t));
	if ((cs = calloc(1, sizeof(*cs))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(svc_peers(n, &peers));
	/* The commit: nothing below fails. */
	OB_TRY(ob_svc_set_peers(g->svc, peers.peer, peers.n));
	snprintf(m, sizeof(m), "configuration reloaded: %zu proxies; policy "
	    "reloaded: %zu rules", n->nproxies, ob_gw_policy_nrules(p));
	pthread_rwlock_wrlock(&g->lock);
	oldp = g->policy;
	g->policy = p;
	oldt = g->trust;
	if (n->trust != NULL)
		g->trust = t;
	else
		oldt = NULL;
	pthread_rwlock_unlock(&g->lock);
	p = NULL;
	t = NULL;
	ob_gw_policy_free(&oldp);
	ob_trust_free(&oldt);
	ob_rate_set(g->rate_proxy, &n->rate.per_proxy);
	ob_rate_set(g->rate_owner, &n->rate.per_owner);
	ob_rate_set(g->rate_agent, &n->rate.per_agent);
	/* A name the configuration reader accepted: it does not fail. */
	if (ob_svc_set_log_level(g->svc, n->log_level) != OB_OK)
		ob_svc_log(g->svc, "error", "reload", OB_ERR_INVALID_ARG,
		    ob_err_detail());
	cs->cfg = n;
	cs->refs = 1;
	n = NULL;
	pthread_mutex_lock(&g->cfg_lock);
	old = g->cur;
	g->cur = cs;
	pthread_mutex_unlock(&g->cfg_lock);
	cs = NULL;
	cfg_put(g, old);
	ob_svc_log(g->svc, "info", "reload", OB_OK, m);
	r = OB_OK;
out:
	if (r != OB_OK)
		ob_svc_log(g->svc, "error", "reload", r, ob_err_detail());
	free(cs);
	ob_svc_peer_table_free(&peers);
	ob_gw_policy_free(&p);
	ob_trust_free(&t);
	ob_gw_config_free(&n);
	return r;
}

static size_t
metrics(char *buf, size_t size, void *arg)
{
	struct gw		*g = arg;
	struct ob_gw_seen_stats	 ss;
	unsigned long long	 refused, sig, fwd;
	unsigned		 cap, depth;
	int			 n;

	depth = ob_hsmq_depth(g->hsmq, &cap, &refused);
	ob_gw_seen_stats(g->seen, &ss);
	pthread_mutex_lock(&g->stats_mu);
	sig = g->signed_total;
	fwd = g->forwarded_total;
	pthread_mutex_unlock(&g->stats_mu);
	n = snprintf(buf, size,
	    "# HELP ob_gateway_hsm_queue_depth Requests waiting for the HSM.\n"
	    "# TYPE ob_gateway_hsm_queue_depth gauge\n"
	    "ob_gateway_hsm_queue_depth %u\n"
	    "# HELP ob_gateway_hsm_queue_capacity Places in the HSM queue.\n"
	    "# TYPE ob_gateway_hsm_queue_capacity gauge\n"
	    "ob_gateway_hsm_queue_capacity %u\n"
	    "# HELP ob_gateway_hsm_queue_full_total Refused: queue full.\n"
	    "# TYPE ob_gateway_hsm_queue_full_total counter\n"
	    "ob_gateway_hsm_queue_full_total %llu\n"
	    "# HELP ob_gateway_signed_total Gateway entries signed.\n"
	    "# TYPE ob_gateway_signed_total counter\n"
	    "ob_gateway_signed_total %llu\n"
	    "# HELP ob_gateway_forwarded_total Answers from the server.\n"
	    "# TYPE ob_gateway_forwarded_total counter\n"
	    "ob_gateway_forwarded_total %llu\n"
	    "# HELP ob_gateway_pending Requests waiting for approvals.\n"
	    "# TYPE ob_gateway_pending gauge\nob_gateway_pending %zu\n"
	    "# HELP ob_gateway_replays_refused_total Agent requests in "
	    "hand or spent, refused unsigned.\n"
	    "# TYPE ob_gateway_replays_refused_total counter\n"
	    "ob_gateway_replays_refused_total %llu\n"
	    "# HELP ob_gateway_requests_held Agent requests in hand or "
	    "spent, remembered.\n"
	    "# TYPE ob_gateway_requests_held gauge\n"
	    "ob_gateway_requests_held %zu\n",
	    depth, cap, refused, sig, fwd, ob_gw_pending_count(g->pending),
	    ss.refused, ss.held);
	return n < 0 ? 0 : (size_t)n >= size ? 0 : (size_t)n;
}

static int
health(json_t *o, void *arg)
{
	struct gw		*g = arg;
	enum ob_signer_state	 st;
	unsigned		 restarts;
	long			 pid;

	st = ob_signer_state(g->signer, &pid, &restarts);
	(void)json_object_set_new(o, "signer", json_pack("{s:s,s:I,s:I}",
	    "state", ob_signer_state_name(st), "pid", (json_int_t)pid,
	    "restarts", (json_int_t)restarts));
	return st == OB_SIGNER_READY;
}

static void
signer_log(void *arg, const char *level, const char *event, int code,
    const char *detail)
{
	struct gw	*g = arg;

	if (g->svc != NULL)
		ob_svc_log(g->svc, level, event, code, detail);
	else
		fprintf(stderr, "%s: %s: %s%s%s\n", PROG, event, detail,
		    code != OB_OK ? " " : "", code != OB_OK ?
		    ob_err_name(code) : "");
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
		return ob_errf(OB_ERR_GATEWAY_CONFIG, "cannot find this "
		    "program's directory: set signer.program");
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL ||
	    (size_t)(slash - buf) + sizeof("/ownerbind-signer") > size)
		return ob_errf(OB_ERR_GATEWAY_CONFIG, "set signer.program");
	memcpy(slash, "/ownerbind-signer", sizeof("/ownerbind-signer"));
	return OB_OK;
}

/* The PEM chain (gateway certificate first) as x5c. */
static int
load_x5c(const char *path, json_t **out)
{
	FILE		*f;
	X509		*x;
	json_t		*a;
	unsigned char	*der;
	char		*b64;
	int		 n, r = OB_OK;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: cannot open", path);
	if ((a = json_array()) == NULL) {
		fclose(f);
		return OB_ERR_ALLOC;
	}
	while (r == OB_OK && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		der = NULL;
		if ((n = i2d_X509(x, &der)) <= 0 || (b64 = malloc(
		    (size_t)n * 2 + 4)) == NULL)
			r = OB_ERR_ALLOC;
		else {
			EVP_EncodeBlock((unsigned char *)b64, der, n);
			if (json_array_append_new(a, json_string(b64)) != 0)
				r = OB_ERR_ALLOC;
			free(b64);
		}
		OPENSSL_free(der);
		X509_free(x);
	}
	fclose(f);
	if (r == OB_OK && (json_array_size(a) == 0 || json_array_size(a) >
	    OB_MAX_X5C))
		r = ob_errf(OB_ERR_X5C_INVALID, "%s: 1 to %d PEM certificates",
		    path, OB_MAX_X5C);
	if (r != OB_OK) {
		json_decref(a);
		return r;
	}
	*out = a;
	return OB_OK;
}

static int
gw_open(struct gw *g, const char *path)
{
	const struct ob_gw_config	*c;
	struct ob_signer_cfg		 sc;
	struct ob_http_client_cfg	 hc;
	struct ob_token_opts		 to;
	char				 prog[PATH_MAX], uri[80];
	unsigned long			 line = 0;
	int				 r;

	if ((r = ob_gw_config_load(path, &g->cfg, &line)) != OB_OK) {
		g->cfg_bad = 1;
		return r;
	}
	c = g->cfg;
	/* The first snapshot; start's reference keeps g->cfg to the end. */
	if ((g->start = calloc(1, sizeof(*g->start))) == NULL) {
		ob_gw_config_free(&g->cfg);
		return OB_ERR_ALLOC;
	}
	g->start->cfg = g->cfg;
	g->start->refs = 2;
	g->cur = g->start;
	OB_TRY(ob_gw_policy_load(c->policy, &g->policy));
	if (c->trust != NULL)
		OB_TRY(ob_trust_load_file(c->trust, &g->trust));
	OB_TRY(load_x5c(c->x5c, &g->x5c));
	OB_TRY(ob_audit_open(c->audit, &g->audit));
	memset(&sc, 0, sizeof(sc));
	if (c->signer.config != NULL) {
		OB_TRY(helper_path(c->signer.program, prog, sizeof(prog)));
		sc.program = prog;
		sc.config = c->signer.config;
	} else
		sc.socket = c->signer.socket;
	sc.client = PROG;
	sc.timeout_ms = (int)c->signer.timeout_ms;
	sc.backoff_max_ms = (int)c->signer.backoff_max_ms;
	sc.log = signer_log;
	sc.log_arg = g;
	/* Forks the launcher: before any thread exists. */
	OB_TRY(ob_signer_open(&sc, &g->signer));
	memset(&to, 0, sizeof(to));
	to.signer = g->signer;
	to.quiet = 1;
	snprintf(uri, sizeof(uri), "signer:%s", c->signer.key);
	OB_TRY(ob_token_open(uri, &to, &g->tok));
	memset(&hc, 0, sizeof(hc));
	hc.base_url = c->server.url;
	hc.ca = c->server.ca;
	hc.cert = c->server.cert;
	hc.key = c->server.key;
	hc.timeout_ms = c->server.timeout_ms;
	hc.pool = (int)c->limits.workers;
	OB_TRY(ob_http_client_new(&hc, &g->http));
	OB_TRY(ob_hsmq_new(c->hsm_queue.depth, c->hsm_queue.in_flight,
	    &g->hsmq));
	OB_TRY(ob_gw_seen_new(OB_GW_SEEN_MAX, &g->seen));
	OB_TRY(ob_gw_pending_new(c->id, c->approval_timeout_s, approved, g,
	    &g->pending));
	OB_TRY(ob_rate_new(&c->rate.per_proxy, &g->rate_proxy));
	OB_TRY(ob_rate_new(&c->rate.per_owner, &g->rate_owner));
	OB_TRY(ob_rate_new(&c->rate.per_agent, &g->rate_agent));
	r = OB_OK;
out:
	return r;
}

static int
gw_listen(struct gw *g)
{
	const struct ob_gw_config	*c = g->cfg;
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
	sc.peers = peers.peer;
	sc.npeers = peers.n;
	sc.limits.max_body = c->limits.max_body;
	sc.limits.max_headers = c->limits.max_header;
	sc.limits.max_conns = (int)c->limits.max_conns;
	sc.limits.timeout_s = (int)c->limits.timeout_s;
	sc.limits.workers = (int)c->limits.workers;
	sc.limits.queue = (int)c->limits.queue;
	OB_TRY(ob_svc_new(&sc, &g->svc));
	OB_TRY(ob_svc_set_log_level(g->svc, c->log_level));
	OB_TRY(ob_svc_route(g->svc, "POST", "/v1/credentials",
	    "application/jose+json", 1, h_credentials, g));
	OB_TRY(ob_svc_route(g->svc, "GET", "/v1/approvals", NULL, 0,
	    h_approvals_list, g));
	OB_TRY(ob_svc_route(g->svc, "POST", "/v1/approvals",
	    "application/jose+json", 1, h_approve, g));
	OB_TRY(ob_svc_on_reload(g->svc, reload, g));
	OB_TRY(ob_svc_on_reload(g->svc, audit_reopen, g));
	OB_TRY(ob_svc_on_refusal(g->svc, on_refusal, g));
	OB_TRY(ob_svc_on_conn_refusal(g->svc, on_conn_refusal, g));
	OB_TRY(ob_svc_on_health(g->svc, health, g));
	OB_TRY(ob_svc_on_metrics(g->svc, metrics, g));
	r = OB_OK;
out:
	ob_svc_peer_table_free(&peers);
	return r;
}

/* dirname of path into buf. */
static const char *
dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;

	if (slash == NULL || (size_t)(slash - path) >= size)
		return NULL;
	if (slash == path)
		return "/";
	memcpy(buf, path, (size_t)(slash - path));
	buf[slash - path] = '\0';
	return buf;
}

/*
 * Landlock, before any thread exists: what SIGHUP and new connections
 * read again (TLS files, the server's CA and the client certificate
 * libcurl loads per connection, the policy, the trust store) and the
 * record's directory, the one place written.
 */
static int
sandbox_fs(struct gw *g, char *what, size_t whatsz)
{
	const struct ob_gw_config	*c = g->cfg;
	const char			*ro[10], *rw[1];
	char				 b[11][PATH_MAX];

	ro[0] = dir_of(c->tls.cert, b[0], sizeof(b[0]));
	ro[1] = dir_of(c->tls.key, b[1], sizeof(b[1]));
	ro[2] = dir_of(c->tls.client_ca, b[2], sizeof(b[2]));
	ro[3] = dir_of(c->server.ca, b[3], sizeof(b[3]));
	ro[4] = dir_of(c->server.cert, b[4], sizeof(b[4]));
	ro[5] = dir_of(c->server.key, b[5], sizeof(b[5]));
	ro[6] = dir_of(c->policy, b[6], sizeof(b[6]));
	ro[7] = dir_of(c->trust, b[7], sizeof(b[7]));
	/* OpenSSL's configuration, read again by new TLS contexts. */
	ro[8] = "/usr/lib/ssl";
	ro[9] = dir_of(c->path, b[10], sizeof(b[10]));	/* SIGHUP reads it */
	rw[0] = dir_of(c->audit, b[9], sizeof(b[9]));
	return ob_sandbox_landlock(ro, 10, rw, 1, what, whatsz);
}

static void
gw_close(struct gw *g)
{
	/* Held requests are refused while the service can still answer. */
	ob_gw_pending_free(&g->pending);
	ob_svc_free(&g->svc);
	ob_rate_free(&g->rate_proxy);
	ob_rate_free(&g->rate_owner);
	ob_rate_free(&g->rate_agent);
	ob_hsmq_free(&g->hsmq);
	ob_gw_seen_free(&g->seen);
	ob_http_client_free(&g->http);
	ob_token_close(&g->tok);
	ob_signer_free(&g->signer);
	ob_audit_free(&g->audit);
	json_decref(g->x5c);
	ob_trust_free(&g->trust);
	ob_gw_policy_free(&g->policy);
	cfg_put(g, g->cur);
	cfg_put(g, g->start);		/* frees g->cfg */
	g->cfg = NULL;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s --config FILE\n"
	    "       %s --check-config FILE\n"
	    "       %s --dev DIR --server-dev SERVER_DIR\n"
	    "       %s audit verify [--json] [--continued] FILE...\n"
	    "The owner-mediated gateway: applies the organisation's policy to\n"
	    "agent requests from proxies, signs them with the HSM key through\n"
	    "ownerbind-signer and forwards them to the identity server.\n"
	    "See ownerbind-gateway(8), docs/gateway.md and "
	    "docs/gateway-policy.md.\n", PROG, PROG, PROG, PROG);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "dev", required_argument, NULL, 'd' },
		{ "server-dev", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct gw	 g;
	const char	*config = NULL, *devdir = NULL, *srvdev = NULL;
	char		 url[128], m[256], sbox[256], devcfg[PATH_MAX];
	int		 ch, r = OB_OK, rc = 1;

	ob_process_harden();
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return ob_audit_verify_main(argc - 2, argv + 2);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'C': return ob_gw_config_check_main(optarg) == 0 ? 0 : 2;
		case 'd': devdir = optarg; break;
		case 's': srvdev = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': ob_print_version(PROG, OB_VERSION, NULL); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (config == NULL) == (devdir == NULL) ||
	    (devdir != NULL) != (srvdev != NULL)) {
		usage(stderr);
		return 2;
	}
	/* A full disk or a file-size limit fails a write, not the process. */
	(void)signal(SIGXFSZ, SIG_IGN);
	memset(&g, 0, sizeof(g));
	if (pthread_rwlock_init(&g.lock, NULL) != 0 ||
	    pthread_mutex_init(&g.stats_mu, NULL) != 0 ||
	    pthread_mutex_init(&g.cfg_lock, NULL) != 0)
		return 1;
	if (devdir != NULL) {
		if ((r = ob_gw_devmode_create(devdir, srvdev, devcfg,
		    sizeof(devcfg))) != OB_OK)
			goto out;
		config = devcfg;
	}
	if ((r = gw_open(&g, config)) != OB_OK ||
	    (r = gw_listen(&g)) != OB_OK)
		goto out;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", ob_svc_port(g.svc));
	if (devdir != NULL && (r = ob_gw_devmode_write_info(devdir, url)) !=
	    OB_OK)
		goto out;
	snprintf(m, sizeof(m), "%s metrics=http://127.0.0.1:%d", url,
	    ob_svc_metrics_port(g.svc));
	ob_svc_log(g.svc, "info", "listening", OB_OK, m);
	if ((r = ob_process_drop_user(g.cfg->user)) != OB_OK)
		goto out;
	/* Landlock before the first thread, seccomp once all run. */
	if (!g.cfg->sandbox)
		ob_svc_log(g.svc, "warn", "sandbox", OB_OK, "off (the "
		    "configuration's \"sandbox\": false)");
	else if ((r = sandbox_fs(&g, sbox, sizeof(sbox))) != OB_OK)
		goto out;
	else
		ob_svc_log(g.svc, "info", "sandbox", OB_OK, sbox);
	if ((r = ob_svc_start(g.svc)) != OB_OK ||
	    (r = ob_signer_start(g.signer)) != OB_OK ||
	    (r = ob_gw_pending_start(g.pending)) != OB_OK)
		goto out;
	if (g.cfg->sandbox) {
		if ((r = ob_sandbox_seccomp_tcp_client()) != OB_OK)
			goto out;
		ob_svc_log(g.svc, "info", "sandbox", OB_OK, "seccomp: the "
		    "allow-list is in force on every thread");
	}
	if ((r = ob_svc_run(g.svc)) != OB_OK)
		goto out;
	rc = 0;
out:
	if (g.cfg_bad)
		rc = 2;
	if (rc != 0 && r != OB_OK)
		ob_print_error(PROG, r);
	gw_close(&g);
	pthread_rwlock_destroy(&g.lock);
	pthread_mutex_destroy(&g.cfg_lock);
	pthread_mutex_destroy(&g.stats_mu);
	return rc;
}
