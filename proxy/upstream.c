/*
 * Talking to the identity server and the gateway (proxy/upstream.h).
 *
 * What is retried: no connection, a timeout, 5xx and 429 answers: the
 * same envelope may pass later.  What is not: a 4xx, which the same
 * envelope will meet again, and TLS trouble, which is configuration.  A
 * retried POST whose first attempt reached the server but lost its
 * answer meets the server's replay check (403): the agent then sends a
 * fresh envelope, which is what replay protection asks for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/upstream.h"
#include "core/err.h"
#include "core/json.h"
#include "service/client.h"

#define POLL_PREFIX	"/v1/requests/"
#define POLL_MAX_PATH	256
#define POLL_MAX_S	3600	/* a server-mediated request's longest life */

static long long
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long long ms)
{
	struct timespec	ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
ob_proxy_result_clear(struct ob_proxy_result *res)
{
	json_decref(res->answer);
	memset(res, 0, sizeof(*res));
}

int
ob_proxy_check_credential(const json_t *o, long long *expires_at)
{
	const char	*wic;

	if (!json_is_object(o) ||
	    !json_is_string(json_object_get(o, "wit")) ||
	    (wic = json_string_value(json_object_get(o, "wic"))) == NULL ||
	    strncmp(wic, "-----BEGIN CERTIFICATE-----", 27) != 0 ||
	    !json_is_integer(json_object_get(o, "expires_at")) ||
	    !json_is_object(json_object_get(o, "owner")))
		return ob_errf(OB_ERR_PROXY_UPSTREAM_RESPONSE, "201 without "
		    "wit, a PEM wic, expires_at and owner");
	*expires_at = json_integer_value(json_object_get(o, "expires_at"));
	return OB_OK;
}

/* The base URL without trailing slashes, plus path. */
static int
url_for(const struct ob_proxy_upstream *u, const char *path, char **out)
{
	size_t	n = strlen(u->url), k;
	char	*s;

	while (n > 8 && u->url[n - 1] == '/')
		n--;
	k = n + strlen(path) + 1;
	if ((s = malloc(k)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(s, k, "%.*s%s", (int)n, u->url, path);
	*out = s;
	return OB_OK;
}

/* Keep the upstream's public code and request id for the agent. */
static void
note_reply(const struct ob_client_reply *rp, json_t *o,
    struct ob_proxy_result *res)
{
	const char	*code, *id;

	res->status = rp->status;
	code = json_string_value(json_object_get(o, "code"));
	id = json_string_value(json_object_get(o, "request_id"));
	if (id == NULL)
		id = rp->request_id;
	(void)snprintf(res->code, sizeof(res->code), "%s",
	    code != NULL ? code : "");
	(void)snprintf(res->request_id, sizeof(res->request_id), "%s",
	    id != NULL ? id : "");
}

/* A transfer's code: retry (1) or not (0), and the proxy's code. */
static int
transfer_code(int r, int *retry)
{
	switch (r) {
	case OB_ERR_SUBMIT_CONNECT:
		*retry = 1;
		return OB_ERR_PROXY_UPSTREAM_DOWN;
	case OB_ERR_SUBMIT_TIMEOUT:
		*retry = 1;
		return OB_ERR_PROXY_DEADLINE;
	case OB_ERR_SUBMIT_RESPONSE:
		*retry = 0;
		return OB_ERR_PROXY_UPSTREAM_RESPONSE;
	case OB_ERR_ALLOC:
		*retry = 0;
		return r;
	default:	/* certificates, names, our files */
		*retry = 0;
		return OB_ERR_PROXY_TLS;
	}
}

/*
 * One exchange with retries until deadline (monotonic ms): OB_OK with the
 * reply of the first answer that is not retryable, or the proxy's code.
 * answer_429: a 429 is an answer (a poll's slow_down), not a retry.
 */
static int
exchange(const struct ob_proxy_config *cfg, const struct ob_proxy_upstream *u,
    const char *method, const char *url, const char *env, size_t len,
    long long deadline, int answer_429, struct ob_client_reply *rp,
    struct ob_proxy_result *res)
{
	struct ob_client_tls	 tls = { u->ca, u->cert, u->key };
	long long		 backoff = cfg->backoff_initial_ms, left;
	int			 r, retry, tries = 0;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			left = 1;	/* at least one try */
		if (left > cfg->try_timeout_ms)
			left = cfg->try_timeout_ms;
		tries++;
		r = ob_client_request(&tls, method, url, env != NULL ?
		    "application/jose+json" : NULL, env, len, (long)left, rp);
		if (r == OB_OK) {
			if (rp->status < 500 && (rp->status != 429 ||
			    answer_429))
				return OB_OK;
			res->status = rp->status;
			r = ob_errf(OB_ERR_PROXY_UPSTREAM_DOWN, "%s: HTTP %ld "
			    "(request id %s)", url, rp->status,
			    rp->request_id[0] != '\0' ? rp->request_id : "none");
			ob_client_reply_clear(rp);
			retry = 1;
		} else {
			char detail[512];

			(void)snprintf(detail, sizeof(detail), "%s",
			    ob_err_detail());
			r = ob_errf(transfer_code(r, &retry), "%s", detail);
		}
		if (!retry || now_ms() + backoff >= deadline)
			return ob_err_prefix(r, "after %d tries", tries);
		sleep_ms(backoff);
		backoff = backoff * 2 > cfg->backoff_max_ms ?
		    cfg->backoff_max_ms : backoff * 2;
	}
}

/* A 201 answer: the credential. */
static int
take_credential(json_t *o, struct ob_proxy_result *res)
{
	int	r;

	OB_TRY(ob_proxy_check_credential(o, &res->expires_at));
	res->answer = json_incref(o);
	r = OB_OK;
out:
	return r;
}

static int
poll_path_ok(const char *p)
{
	size_t	i;

	if (p == NULL || strncmp(p, POLL_PREFIX, strlen(POLL_PREFIX)) != 0 ||
	    strlen(p) > POLL_MAX_PATH || p[strlen(POLL_PREFIX)] == '\0')
		return 0;
	for (i = strlen(POLL_PREFIX); p[i] != '\0'; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' &&
		    p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '-' || p[i] == '_'))
			return 0;
	return 1;
}

static long long
interval_of(const json_t *o, long long def)
{
	json_t	*v = json_object_get(o, "interval");

	if (json_is_integer(v) && json_integer_value(v) >= 1 &&
	    json_integer_value(v) <= 60)
		return json_integer_value(v);
	return def;
}

/*
 * Server-mediated: poll until the owner answered, the request expired or
 * the server said no (docs/api.md; the contract in the proxy's brief).
 */
static int
poll_request(const struct ob_proxy_config *cfg,
    const struct ob_proxy_upstream *u, const json_t *started,
    struct ob_proxy_result *res)
{
	struct ob_client_reply	 rp;
	json_t			*o = NULL;
	const char		*poll;
	char			*url = NULL;
	long long		 interval, end, life;
	int			 r;

	memset(&rp, 0, sizeof(rp));
	poll = json_string_value(json_object_get(started, "poll"));
	life = json_integer_value(json_object_get(started, "expires_in"));
	if (!poll_path_ok(poll) || life <= 0 || life > POLL_MAX_S) {
		r = ob_errf(OB_ERR_PROXY_UPSTREAM_RESPONSE, "202 without a "
		    "poll path under " POLL_PREFIX " and expires_in 1..%d",
		    POLL_MAX_S);
		goto out;
	}
	interval = interval_of(started, 5);
	end = now_ms() + life * 1000;
	OB_TRY(url_for(u, poll, &url));
	for (;;) {
		sleep_ms(interval * 1000);
		if (now_ms() >= end) {
			r = ob_errf(OB_ERR_PROXY_EXPIRED, "no answer in %lld s",
			    life);
			goto out;
		}
		json_decref(o);
		o = NULL;
		ob_client_reply_clear(&rp);
		OB_TRY(exchange(cfg, u, "GET", url, NULL, 0, end, 1, &rp,
		    res));
		if (rp.body == NULL ||
		    ob_json_parse_object(rp.body, rp.len, &o) != OB_OK)
			o = NULL;
		note_reply(&rp, o, res);
		switch (rp.status) {
		case 200:	/* authorization_pending */
			interval = interval_of(o, interval);
			continue;
		case 429:	/* slow_down: the interval it names, or longer */
			interval = interval_of(o, interval + 5);
			continue;
		case 201:
			r = take_credential(o, res);
			goto out;
		case 403:
			r = ob_errf(OB_ERR_PROXY_DENIED, "the owner denied it "
			    "(request id %s)", res->request_id);
			goto out;
		case 410:
			r = ob_errf(OB_ERR_PROXY_EXPIRED, "HTTP 410 %s",
			    res->code);
			goto out;
		default:
			r = ob_errf(OB_ERR_PROXY_UPSTREAM_REFUSED, "poll: HTTP "
			    "%ld %s (request id %s)", rp.status, res->code,
			    res->request_id);
			goto out;
		}
	}
out:
	json_decref(o);
	ob_client_reply_clear(&rp);
	free(url);
	return r;
}

int
ob_proxy_obtain(const struct ob_proxy_config *cfg,
    const struct ob_proxy_upstream *u, const char *env, size_t len,
    struct ob_proxy_result *out)
{
	struct ob_client_reply	 rp;
	struct ob_proxy_result	 res;
	json_t			*o = NULL;
	char			*url = NULL;
	int			 r;

	memset(&rp, 0, sizeof(rp));
	memset(&res, 0, sizeof(res));
	OB_TRY(url_for(u, "/v1/credentials", &url));
	OB_TRY(exchange(cfg, u, "POST", url, env, len, now_ms() +
	    cfg->deadline_ms, 0, &rp, &res));
	if (rp.body == NULL || ob_json_parse_object(rp.body, rp.len, &o) !=
	    OB_OK)
		o = NULL;
	note_reply(&rp, o, &res);
	if (rp.status == 201)
		r = take_credential(o, &res);
	else if (rp.status == 202 && o != NULL)
		r = poll_request(cfg, u, o, &res);
	else
		r = ob_errf(OB_ERR_PROXY_UPSTREAM_REFUSED, "HTTP %ld %s "
		    "(request id %s)", rp.status, res.code[0] != '\0' ?
		    res.code : "without problem details",
		    res.request_id[0] != '\0' ? res.request_id : "none");
out:
	json_decref(o);
	ob_client_reply_clear(&rp);
	free(url);
	if (r != OB_OK) {
		json_decref(res.answer);
		res.answer = NULL;
	}
	*out = res;
	return r;
}
