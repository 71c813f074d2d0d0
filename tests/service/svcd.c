/*
 * A test daemon on the service layer (never installed): a few routes that
 * let tests/service/test_service.sh drive every behaviour of service/ over
 * real TLS with real clients, and the shape of the identity server's
 * POST /v1/credentials for ownerbind submit's tests.
 *
 *   svcd --listen ADDR:PORT --metrics ADDR:PORT --cert F --key F --ca F
 *        --peers FILE [--ports FILE] [--workers N] [--queue N]
 *        [--max-body N] [--max-headers N] [--max-conns N] [--timeout S]
 *        [--drain S] [--reload-fail FILE] [--user NAME]
 *
 * Routes: GET /whoami, POST /echo (application/json), POST /work?ms=N
 * (application/json, on a worker, sleeps N ms), POST /v1/credentials
 * (application/jose+json, on a worker: 201 with a fixed credential, a
 * refusal when the body has "refuse": true, a 201 that is no credential
 * with "bad_shape": true), GET /park?ms=N&key=K (on the loop: parked
 * under K for N ms, then 200 {"why", "left_ms"}), POST /wake?n=N&key=K
 * (application/json, on a worker: wakes K, or K0..K(N-1) with n=), and
 * the same on the loop thread as POST /wake-loop (every key is queued
 * before the loop can take one).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/svc.h"
#include "service/svc_parse.h"
#include "common/cliutil.h"
#include "common/process.h"
#include "core/err.h"
#include "core/json.h"

static const char *reload_fail;

static void
whoami(struct ob_svc_req *req, void *arg)
{
	json_t *o;

	(void)arg;
	o = json_pack("{s:s,s:s,s:s,s:s}", "peer", ob_svc_req_peer_id(req),
	    "role", ob_svc_req_peer_role(req), "cert_sha256",
	    ob_svc_req_peer_cert_sha256(req), "request_id", ob_svc_req_id(req));
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

static void
echo(struct ob_svc_req *req, void *arg)
{
	json_t	*o;
	size_t	 n;

	(void)arg;
	(void)ob_svc_req_body(req, &n);
	o = json_pack("{s:s,s:I}", "peer", ob_svc_req_peer_id(req), "len",
	    (json_int_t)n);
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

static void
work(struct ob_svc_req *req, void *arg)
{
	struct timespec	 ts;
	const char	*q = ob_svc_req_query(req);
	long long	 ms = 0;
	json_t		*o;

	(void)arg;
	if (q != NULL && strncmp(q, "ms=", 3) == 0 &&
	    ob_parse_ll(q + 3, 0, 10000, &ms) != OB_OK) {
		(void)ob_svc_reply_problem(req, 400, OB_ERR_SVC_BAD_REQUEST,
		    NULL, "ms");
		return;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0)
		;
	o = json_pack("{s:s,s:I}", "peer", ob_svc_req_peer_id(req),
	    "slept_ms", (json_int_t)ms);
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

static void
credentials(struct ob_svc_req *req, void *arg)
{
	const char	*body;
	json_t		*env = NULL, *o;
	size_t		 n;
	int		 r;

	(void)arg;
	body = ob_svc_req_body(req, &n);
	if ((r = ob_json_parse_object(body, n, &env)) != OB_OK) {
		(void)ob_svc_reply_problem(req, 400, r, "Bad Request",
		    ob_err_detail());
		return;
	}
	if (json_is_true(json_object_get(env, "refuse"))) {
		json_decref(env);
		/* An internal reason the client must not learn. */
		(void)ob_svc_reply_problem(req, 403, OB_ERR_REPLAY,
		    "Request refused", "jti already used (test)");
		return;
	}
	if (json_is_true(json_object_get(env, "bad_shape"))) {
		json_decref(env);
		o = json_pack("{s:s,s:s}", "wit", "x", "wic",
		    "-----BEGIN CERTIFICATE-----\n");
		(void)ob_svc_reply_json(req, 201, o, NULL);
		json_decref(o);
		return;
	}
	json_decref(env);
	o = json_pack("{s:s,s:s,s:I,s:{s:s,s:s}}",
	    "wit", "eyJhbGciOiJFUzI1NiIsInR5cCI6IndpdCtqd3QifQ.e30.c2ln",
	    "wic", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	    "expires_at", (json_int_t)1767229200,
	    "owner", "id", "alice@example.com", "type", "user");
	(void)ob_svc_reply_json(req, 201, o, NULL);
	json_decref(o);
}

/* A query's value for name ("name=value&..."), copied into buf. */
static const char *
qval(const char *q, const char *name, char *buf, size_t size)
{
	size_t		 n = strlen(name), k;
	const char	*p = q;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			p += n + 1;
			k = strcspn(p, "&");
			if (k >= size)
				return NULL;
			memcpy(buf, p, k);
			buf[k] = '\0';
			return buf;
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return NULL;
}

static void
parked(struct ob_svc_req *req, enum ob_svc_park_why why, long long left_ms,
    void *arg)
{
	static const char *const whys[] = { "", "woken", "timeout", "drain" };
	json_t *o;

	(void)arg;
	o = json_pack("{s:s,s:I}", "why", whys[why], "left_ms",
	    (json_int_t)left_ms);
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

static void
park(struct ob_svc_req *req, void *arg)
{
	const char	*q = ob_svc_req_query(req);
	char		 key[64], ms[16];
	long long	 v = 0;
	int		 r;

	(void)arg;
	if (q == NULL || qval(q, "key", key, sizeof(key)) == NULL ||
	    qval(q, "ms", ms, sizeof(ms)) == NULL ||
	    ob_parse_ll(ms, 0, 3600000, &v) != OB_OK) {
		(void)ob_svc_reply_problem(req, 400, OB_ERR_SVC_BAD_REQUEST,
		    NULL, "key and ms");
		return;
	}
	if ((r = ob_svc_park(req, key, v, parked, NULL)) != OB_OK)
		(void)ob_svc_reply_problem(req, r == OB_ERR_SVC_UNAVAILABLE ?
		    503 : 400, r, NULL, ob_err_detail());
}

static void
wake(struct ob_svc_req *req, void *arg)
{
	struct ob_svc	*svc = arg;
	const char	*q = ob_svc_req_query(req);
	char		 key[64], num[16], k[96];
	long long	 n = 0, i;
	json_t		*o;

	if (q == NULL || qval(q, "key", key, sizeof(key)) == NULL ||
	    (qval(q, "n", num, sizeof(num)) != NULL &&
	    ob_parse_ll(num, 1, 100000, &n) != OB_OK)) {
		(void)ob_svc_reply_problem(req, 400, OB_ERR_SVC_BAD_REQUEST,
		    NULL, "key and n");
		return;
	}
	if (n == 0)
		ob_svc_wake(svc, key);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%s%lld", key, i);
		ob_svc_wake(svc, k);
	}
	o = json_pack("{s:I}", "woken", (json_int_t)(n == 0 ? 1 : n));
	(void)ob_svc_reply_json(req, 200, o, NULL);
	json_decref(o);
}

static int
reload(void *arg)
{
	(void)arg;
	if (reload_fail != NULL && access(reload_fail, F_OK) == 0)
		return ob_errf(OB_ERR_SVC_CONFIG, "%s exists", reload_fail);
	return OB_OK;
}

static long long
num(const char *s, long long max)
{
	long long v;

	if (ob_parse_ll(s, 0, max, &v) != OB_OK) {
		fprintf(stderr, "svcd: bad number \"%s\"\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "peers", required_argument, NULL, 'p' },
		{ "ports", required_argument, NULL, 'P' },
		{ "workers", required_argument, NULL, 'w' },
		{ "queue", required_argument, NULL, 'q' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "max-headers", required_argument, NULL, 'H' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 't' },
		{ "drain", required_argument, NULL, 'd' },
		{ "reload-fail", required_argument, NULL, 'R' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct ob_svc_cfg	 cfg;
	struct ob_svc_peers	*peers = NULL;
	struct ob_svc		*svc = NULL;
	const char		*peersf = NULL, *portsf = NULL, *user = NULL;
	char			*buf = NULL, line[64];
	size_t			 len;
	int			 ch, r;

	ob_process_harden();
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "svcd";
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': cfg.listen = optarg; break;
		case 'm': cfg.metrics_listen = optarg; break;
		case 'c': cfg.tls.cert = optarg; break;
		case 'k': cfg.tls.key = optarg; break;
		case 'a': cfg.tls.client_ca = optarg; break;
		case 'p': peersf = optarg; break;
		case 'P': portsf = optarg; break;
		case 'w': cfg.limits.workers = (int)num(optarg, 64); break;
		case 'q': cfg.limits.queue = (int)num(optarg, 4096); break;
		case 'b': cfg.limits.max_body = (size_t)num(optarg, 1 << 24);
			break;
		case 'H': cfg.limits.max_headers = (size_t)num(optarg, 1 << 20);
			break;
		case 'C': cfg.limits.max_conns = (int)num(optarg, 65536); break;
		case 't': cfg.limits.timeout_s = (int)num(optarg, 3600); break;
		case 'd': cfg.limits.drain_s = (int)num(optarg, 3600); break;
		case 'R': reload_fail = optarg; break;
		case 'u': user = optarg; break;
		default: return 2;
		}
	}
	if (peersf == NULL) {
		fprintf(stderr, "svcd: --peers is required\n");
		return 2;
	}
	if ((r = ob_read_all(peersf, OB_SVC_MAX_PEERS_FILE, &buf, &len)) !=
	    OB_OK || (r = ob_svc_peers_parse(buf, len, &peers)) != OB_OK)
		goto out;
	cfg.peers = ob_svc_peers_get(peers);
	cfg.npeers = ob_svc_peers_count(peers);
	if ((r = ob_svc_new(&cfg, &svc)) != OB_OK ||
	    (r = ob_svc_route(svc, "GET", "/whoami", NULL, 0, whoami,
	    NULL)) != OB_OK ||
	    (r = ob_svc_route(svc, "POST", "/echo", "application/json", 0,
	    echo, NULL)) != OB_OK ||
	    (r = ob_svc_route(svc, "POST", "/work", "application/json", 1,
	    work, NULL)) != OB_OK ||
	    (r = ob_svc_route(svc, "POST", "/v1/credentials",
	    "application/jose+json", 1, credentials, NULL)) != OB_OK ||
	    (r = ob_svc_route(svc, "GET", "/park", NULL, 0, park, NULL)) !=
	    OB_OK ||
	    (r = ob_svc_route(svc, "POST", "/wake", "application/json", 1,
	    wake, svc)) != OB_OK ||
	    (r = ob_svc_route(svc, "POST", "/wake-loop", "application/json",
	    0, wake, svc)) != OB_OK ||
	    (r = ob_svc_on_reload(svc, reload, NULL)) != OB_OK)
		goto out;
	if (portsf != NULL) {
		snprintf(line, sizeof(line), "%d %d\n", ob_svc_port(svc),
		    ob_svc_metrics_port(svc));
		if ((r = ob_write_all(portsf, line, strlen(line), 0644)) !=
		    OB_OK)
			goto out;
	}
	if ((r = ob_process_drop_user(user)) != OB_OK)
		goto out;
	r = ob_svc_run(svc);
out:
	if (r != OB_OK)
		ob_print_error("svcd", r);
	ob_svc_free(&svc);
	ob_svc_peers_free(&peers);
	free(buf);
	return r == OB_OK ? 0 : 1;
}
