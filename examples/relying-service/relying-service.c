/*
 * relying-service: an example of a service in another organisation that
 * accepts ownerbind agents (docs/relying-party.md).  HTTPS on the
 * project's service layer with an optional client certificate; an agent
 * authenticates either
 *
 *   - at the transport layer, with its WIC as the TLS client certificate
 *     (the handshake proves its key; ob_rp_verify_wic checks the rest), or
 *   - in the request, with its WIT and a fresh WPT in the
 *     Workload-Identity-Token and Workload-Proof-Token headers
 *     (ob_rp_verify_wit; aud is this service's configured origin and the
 *     path, never the Host header);
 *
 * then the policy (policy.h) decides by the owner binding, and the
 * decision goes to the log with the agent and its owner.
 *
 *   relying-service --listen ADDR --cert FILE --key FILE --issuer-ca FILE
 *       [--issuer-jwks FILE] [--iss URI] [--origin URL] [--state PATH]
 *       --policy FILE [--url-file FILE]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cliutil.h"
#include "common/process.h"
#include "core/err.h"
#include "examples/relying-service/policy.h"
#include "ownerbind/ob_rp.h"
#include "service/svc.h"

#define PROG		"relying-service"
#define MAX_ORIGIN	512

struct rs {
	struct ob_svc	*svc;
	struct ob_rp	*rp;
	struct ob_state	*state;
	struct policy	*policy;
	char		 origin[MAX_ORIGIN];
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --listen ADDR --cert FILE --key FILE --issuer-ca FILE\n"
"           [--issuer-jwks FILE] [--iss URI] [--origin URL] [--state PATH]\n"
"           --policy FILE [--url-file FILE]\n"
"\n"
"An example relying service: agents call it with their WIC as the TLS\n"
"client certificate, or with Workload-Identity-Token and\n"
"Workload-Proof-Token headers; the policy allows them by owner.\n"
"  --issuer-ca FILE   the identity server's issuer CA (WIC anchor, WIT key)\n"
"  --issuer-jwks FILE WIT keys as a JWKS (GET /v1/keys), besides the CA's\n"
"  --iss URI          the only WIT issuer accepted\n"
"  --origin URL       this service as agents name it in a WPT's aud\n"
"                     (default https://localhost:PORT)\n"
"  --state PATH       SQLite replay state for WPT jti (default: memory)\n"
"  --policy FILE      who may call which path (policy.h)\n"
"  --url-file FILE    write the origin there once listening\n");
}

/* The decision, with both identities, as one log line. */
static void
log_decision(const struct rs *s, struct ob_svc_req *req, int allowed,
    const struct ob_rp_result *r, size_t rule, int code)
{
	char	line[1024];

	(void)snprintf(line, sizeof(line), "%s %s via=%s agent=%s owner=%s "
	    "owner_type=%s assurance=%s kind=%s model=%s gateway=%s "
	    "request_id=%s rule=%lld", allowed ? "allow" : "deny",
	    ob_svc_req_path(req), ob_rp_result_via(r), ob_rp_result_agent(r),
	    ob_rp_result_owner(r), ob_rp_result_owner_type(r),
	    ob_rp_result_assurance(r), ob_rp_result_owner_kind(r),
	    ob_rp_result_model(r), ob_rp_result_gateway(r) != NULL ?
	    ob_rp_result_gateway(r) : "-", ob_svc_req_id(req),
	    allowed ? (long long)rule : -1LL);
	ob_svc_log(s->svc, allowed ? "info" : "warn", "decision", code, line);
}

/* WIT + WPT from the headers, for this request's target URI. */
static int
by_wit(const struct rs *s, struct ob_svc_req *req, struct ob_rp_result **out)
{
	struct ob_rp_req	*q = NULL;
	const char		*wit, *wpt, *az, *tt;
	char			 aud[MAX_ORIGIN + 1024];
	int			 r;

	wit = ob_svc_req_header(req, "Workload-Identity-Token");
	wpt = ob_svc_req_header(req, "Workload-Proof-Token");
	/* Exactly one of each (draft-ietf-wimse-wpt). */
	if (ob_svc_req_header_count(req, "Workload-Identity-Token") != 1 ||
	    ob_svc_req_header_count(req, "Workload-Proof-Token") != 1)
		return ob_errf(OB_ERR_JWT_FORM, "not exactly one "
		    "Workload-Identity-Token and one Workload-Proof-Token");
	if ((size_t)snprintf(aud, sizeof(aud), "%s%s", s->origin,
	    ob_svc_req_path(req)) >= sizeof(aud))
		return ob_errf(OB_ERR_WPT_AUD, "path too long");
	OB_TRY(ob_rp_req_new(&q));
	OB_TRY(ob_rp_req_set_aud(q, aud));
	/* Tokens the request carries beside the WIT: the WPT must bind
	 * them (ath, tth). */
	if ((az = ob_svc_req_header(req, "Authorization")) != NULL &&
	    strncasecmp(az, "Bearer ", 7) == 0)
		OB_TRY(ob_rp_req_set_access_token(q, az + 7));
	if ((tt = ob_svc_req_header(req, "Txn-Token")) != NULL)
		OB_TRY(ob_rp_req_set_txn_token(q, tt));
	r = ob_rp_verify_wit(s->rp, s->state, q, wit, wpt, out);
out:
	ob_rp_req_free(&q);
	return r;
}

static void
h_call(struct ob_svc_req *req, void *arg)
{
	struct rs		*s = arg;
	struct ob_rp_result	*res = NULL;
	const unsigned char	*chain;
	json_t			*body = NULL;
	size_t			 len, rule = 0;
	int			 r;

	/* Application layer first: a WIT in the request names the caller
	 * even on a connection with some certificate. */
	if (ob_svc_req_header(req, "Workload-Identity-Token") != NULL ||
	    ob_svc_req_header(req, "Workload-Proof-Token") != NULL)
		r = by_wit(s, req, &res);
	else if ((chain = ob_svc_req_peer_chain(req, &len)) != NULL)
		r = ob_rp_verify_wic(s->rp, chain, len, &res);
	else
		r = ob_errf(OB_ERR_RP_POLICY, "no credential: neither a WIC "
		    "nor a WIT with its WPT");
	if (r != OB_OK) {
		/* The client learns OB_ERR_REJECTED; the log, why. */
		(void)ob_svc_reply_problem(req, r == OB_ERR_RP_POLICY ? 403 :
		    400, r, NULL, ob_err_detail());
		return;
	}
	if ((r = policy_check(s->policy, ob_svc_req_path(req), res,
	    &rule)) != OB_OK) {
		log_decision(s, req, 0, res, 0, r);
		(void)ob_svc_reply_problem(req, 403, r, NULL, ob_err_detail());
		goto out;
	}
	log_decision(s, req, 1, res, rule, OB_OK);
	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I}",
	    "result", "allowed", "path", ob_svc_req_path(req),
	    "via", ob_rp_result_via(res), "agent", ob_rp_result_agent(res),
	    "owner", ob_rp_result_owner(res),
	    "owner_type", ob_rp_result_owner_type(res),
	    "assurance", ob_rp_result_assurance(res),
	    "model", ob_rp_result_model(res),
	    "gateway", ob_rp_result_gateway(res) != NULL ?
	    json_string(ob_rp_result_gateway(res)) : json_null(),
	    "rule", (json_int_t)rule);
	(void)ob_svc_reply_json(req, 200, body, NULL);
out:
	json_decref(body);
	ob_rp_result_free(&res);
}

int
main(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_CERT, O_KEY, O_CA, O_JWKS, O_ISS, O_ORIGIN,
	    O_STATE, O_POLICY, O_URLFILE };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "issuer-ca", required_argument, NULL, O_CA },
		{ "issuer-jwks", required_argument, NULL, O_JWKS },
		{ "iss", required_argument, NULL, O_ISS },
		{ "origin", required_argument, NULL, O_ORIGIN },
		{ "state", required_argument, NULL, O_STATE },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "url-file", required_argument, NULL, O_URLFILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_svc_cfg	 cfg;
	struct rs		 s;
	const char		*ca = NULL, *jwks = NULL, *iss = NULL;
	const char		*origin = NULL, *state = NULL, *pol = NULL;
	const char		*urlf = NULL;
	char			 line[MAX_ORIGIN + 2];
	size_t			 i;
	int			 ch, r, rc = 1;

	/* A network-facing daemon: no core dumps, not ptrace-able. */
	ob_process_harden();
	memset(&cfg, 0, sizeof(cfg));
	memset(&s, 0, sizeof(s));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_LISTEN: cfg.listen = optarg; break;
		case O_CERT: cfg.tls.cert = optarg; break;
		case O_KEY: cfg.tls.key = optarg; break;
		case O_CA: ca = optarg; break;
		case O_JWKS: jwks = optarg; break;
		case O_ISS: iss = optarg; break;
		case O_ORIGIN: origin = optarg; break;
		case O_STATE: state = optarg; break;
		case O_POLICY: pol = optarg; break;
		case O_URLFILE: urlf = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || cfg.listen == NULL || cfg.tls.cert == NULL ||
	    cfg.tls.key == NULL || ca == NULL || pol == NULL) {
		usage(stderr);
		return 2;
	}
	/* The issuer CA is both the WIT key and the WIC's trust anchor;
	 * TLS verifies a presented certificate against it too. */
	cfg.name = PROG;
	cfg.tls.client_ca = ca;
	cfg.tls.client_cert_optional = 1;
	OB_TRY(ob_rp_new(&s.rp));
	OB_TRY(ob_rp_add_issuer_ca_file(s.rp, ca));
	if (jwks != NULL)
		OB_TRY(ob_rp_add_issuer_jwks_file(s.rp, jwks));
	if (iss != NULL)
		OB_TRY(ob_rp_set_iss(s.rp, iss));
	OB_TRY(state != NULL ? ob_state_open_sqlite(state, &s.state) :
	    ob_state_open_memory(&s.state));
	OB_TRY(policy_load(pol, &s.policy));
	OB_TRY(ob_svc_new(&cfg, &s.svc));
	for (i = 0; i < policy_npaths(s.policy); i++) {
		OB_TRY(ob_svc_route(s.svc, "GET", policy_path(s.policy, i),
		    NULL, 1, h_call, &s));
		OB_TRY(ob_svc_route(s.svc, "POST", policy_path(s.policy, i),
		    NULL, 1, h_call, &s));
	}
	if (origin != NULL) {
		if (strlen(origin) >= sizeof(s.origin) ||
		    strpbrk(origin, "?#") != NULL) {
			r = ob_errf(OB_ERR_USAGE, "--origin is a URL without "
			    "path, query or fragment");
			goto out;
		}
		(void)snprintf(s.origin, sizeof(s.origin), "%s", origin);
		i = strlen(s.origin);
		while (i > 0 && s.origin[i - 1] == '/')
			s.origin[--i] = '\0';
	} else
		(void)snprintf(s.origin, sizeof(s.origin),
		    "https://localhost:%d", ob_svc_port(s.svc));
	if (urlf != NULL) {
		(void)snprintf(line, sizeof(line), "%s\n", s.origin);
		OB_TRY(ob_write_all(urlf, line, strlen(line), 0644));
	}
	r = ob_svc_run(s.svc);
	rc = r == OB_OK ? 0 : 1;
out:
	if (r != OB_OK)
		ob_print_error(PROG, r);
	ob_svc_free(&s.svc);
	policy_free(&s.policy);
	ob_state_free(&s.state);
	ob_rp_free(&s.rp);
	return r == OB_OK ? rc : (r == OB_ERR_USAGE ? 2 : 1);
}
