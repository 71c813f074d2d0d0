/*
 * What an operator sees: JSON-lines logs on stderr, and the plain-HTTP
 * loopback listener with /healthz and /metrics.  The metrics are the
 * Prometheus text format 0.0.4, written by hand (docs/decisions.md): no
 * Prometheus C client is packaged in Debian 12.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/err.h"
#include "service/conns.h"
#include "service/svc_int.h"

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bucket_us[SVC_NBUCKETS] = { 250, 500, 1000, 2500,
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    10000000 };

static void
put_line(json_t *o)
{
	char *s;

	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		return;
	flockfile(stderr);
	fputs(s, stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
	free(s);
}

/* The levels, least first (ob_svc_set_log_level). */
static const char *const levels[] = { "debug", "info", "warn", "error" };

static int
level_index(const char *level)
{
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(level, levels[i]) == 0)
			return (int)i;
	return -1;
}

int
ob_svc_set_log_level(struct ob_svc *svc, const char *level)
{
	int i = level != NULL ? level_index(level) : -1;

	if (i < 0)
		return ob_errf(OB_ERR_INVALID_ARG, "log level \"%s\": one of "
		    "debug, info, warn, error", level != NULL ? level : "");
	__atomic_store_n(&svc->log_min, i, __ATOMIC_RELAXED);
	return OB_OK;
}

/* A new line, or NULL when the level is below the log's (or no memory). */
static json_t *
line_new(const struct ob_svc *svc, const char *level)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 buf[40];
	json_t		*o;
	int		 i = level_index(level);

	/* An unknown level is kept: a typo must not hide a line. */
	if (i >= 0 && i < __atomic_load_n(&svc->log_min, __ATOMIC_RELAXED))
		return NULL;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	if (strftime(buf, 24, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		buf[0] = '\0';
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%06ldZ",
	    ts.tv_nsec / 1000);
	o = json_object();
	json_object_set_new(o, "ts", json_string(buf));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "svc", json_string(svc->name));
	return o;
}

void
svc_log_event(const struct ob_svc *svc, const char *level,
    const char *event, int code, const char *detail)
{
	json_t *o;

	if ((o = line_new(svc, level)) == NULL)
		return;
	json_object_set_new(o, "event", json_string(event));
	if (code != OB_OK)
		json_object_set_new(o, "code", json_string(ob_err_name(code)));
	if (detail != NULL && *detail != '\0')
		json_object_set_new(o, "detail", json_string(detail));
	put_line(o);
	json_decref(o);
}

void
ob_svc_log(const struct ob_svc *svc, const char *level, const char *event,
    int code, const char *detail)
{
	svc_log_event(svc, level, event, code, detail);
}

/* A refusal below HTTP (svc_conn_refused). */
void
svc_log_conn(const struct ob_svc *svc, const struct ob_svc_conn_event *ev)
{
	json_t *o;

	if ((o = line_new(svc, "warn")) == NULL)
		return;
	json_object_set_new(o, "event", json_string("refused"));
	json_object_set_new(o, "request_id", json_string(ev->request_id));
	json_object_set_new(o, "addr", json_string(ev->addr));
	if (ev->peer_id != NULL)
		json_object_set_new(o, "peer", json_string(ev->peer_id));
	else if (ev->cert_sha256[0] != '\0')
		json_object_set_new(o, "peer_cert_sha256",
		    json_string(ev->cert_sha256));
	if (ev->status != 0)
		json_object_set_new(o, "status", json_integer(ev->status));
	json_object_set_new(o, "code", json_string(ob_err_name(ev->code)));
	json_object_set_new(o, "detail", json_string(ev->detail));
	put_line(o);
	json_decref(o);
}

/* Never the body, the query or header values: they may carry secrets. */
void
svc_log_request(struct ob_svc_req *req, uint64_t us)
{
	json_t *o;

	if ((o = line_new(req->svc, req->status >= 500 ? "error" :
	    req->status >= 400 ? "warn" : "info")) == NULL)
		return;
	json_object_set_new(o, "request_id", json_string(req->id));
	if (req->peer != NULL)
		json_object_set_new(o, "peer", json_string(req->peer->id));
	else if (req->sha[0] != '\0')
		json_object_set_new(o, "peer_cert_sha256",
		    json_string(req->sha));
	json_object_set_new(o, "method", json_string(req->method));
	/* Invalid UTF-8 in the path makes json_string fail: leave it out. */
	json_object_set_new(o, "path", req->path != NULL ?
	    json_string(ob_svc_req_log_path(req)) : json_null());
	json_object_set_new(o, "status", json_integer(req->status));
	json_object_set_new(o, "duration_us", json_integer((json_int_t)us));
	json_object_set_new(o, "code", json_string(ob_err_name(req->code)));
	if (req->detail != NULL && *req->detail != '\0')
		json_object_set_new(o, "detail", json_string(req->detail));
	put_line(o);
	json_decref(o);
}

void
svc_stats_add(struct svc_stats *s, int status, uint64_t us)
{
	size_t i;

	for (i = 0; i < s->nst && s->st[i].status != status; i++)
		;
	if (i == s->nst && s->nst < SVC_MAX_STATUS) {
		s->st[i].status = status;
		s->nst++;
	}
	if (i < s->nst)
		s->st[i].n++;
	for (i = 0; i < SVC_NBUCKETS && us > bucket_us[i]; i++)
		;
	if (i < SVC_NBUCKETS)
		s->bucket[i]++;
	s->count++;
	s->sum_us += us;
}

static void
stats_print(struct evbuffer *b, const char *label, const struct svc_stats *s,
    int part)
{
	uint64_t	cum = 0;
	size_t		i;

	if (part == 0) {
		for (i = 0; i < s->nst; i++)
			evbuffer_add_printf(b, "ob_http_requests_total{route=\""
			    "%s\",status=\"%d\"} %" PRIu64 "\n", label,
			    s->st[i].status, s->st[i].n);
		return;
	}
	for (i = 0; i < SVC_NBUCKETS; i++) {
		cum += s->bucket[i];
		evbuffer_add_printf(b, "ob_http_request_duration_seconds_bucket"
		    "{route=\"%s\",le=\"%g\"} %" PRIu64 "\n", label,
		    (double)bucket_us[i] / 1e6, cum);
	}
	evbuffer_add_printf(b, "ob_http_request_duration_seconds_bucket"
	    "{route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", label, s->count);
	evbuffer_add_printf(b, "ob_http_request_duration_seconds_sum"
	    "{route=\"%s\"} %.6f\n", label, (double)s->sum_us / 1e6);
	evbuffer_add_printf(b, "ob_http_request_duration_seconds_count"
	    "{route=\"%s\"} %" PRIu64 "\n", label, s->count);
}

static void
metrics(struct ob_svc *svc, struct evbuffer *b)
{
	size_t	i;
	int	part, qlen;

	pthread_mutex_lock(&svc->mu);
	qlen = svc->qlen;
	pthread_mutex_unlock(&svc->mu);
	for (part = 0; part < 2; part++) {
		if (part == 0)
			evbuffer_add_printf(b, "# HELP ob_http_requests_total "
			    "Requests answered, by route and status.\n"
			    "# TYPE ob_http_requests_total counter\n");
		else
			evbuffer_add_printf(b, "# HELP ob_http_request_duration"
			    "_seconds From the complete request to the reply.\n"
			    "# TYPE ob_http_request_duration_seconds "
			    "histogram\n");
		for (i = 0; i < svc->nroutes; i++)
			stats_print(b, svc->routes[i].label,
			    &svc->routes[i].stats, part);
		stats_print(b, "other", &svc->other, part);
	}
	evbuffer_add_printf(b,
	    "# HELP ob_http_in_flight Requests waiting for their reply.\n"
	    "# TYPE ob_http_in_flight gauge\nob_http_in_flight %d\n"
	    "# HELP ob_http_parked Requests parked on the loop (long-polls).\n"
	    "# TYPE ob_http_parked gauge\nob_http_parked %zu\n"
	    "# HELP ob_worker_queue_depth Requests waiting for a worker.\n"
	    "# TYPE ob_worker_queue_depth gauge\nob_worker_queue_depth %d\n"
	    "# HELP ob_worker_queue_capacity Queue places.\n"
	    "# TYPE ob_worker_queue_capacity gauge\n"
	    "ob_worker_queue_capacity %d\n"
	    "# HELP ob_tls_connections Open TLS connections.\n"
	    "# TYPE ob_tls_connections gauge\nob_tls_connections %d\n"
	    "# HELP ob_tls_connections_refused_total Over max_conns.\n"
	    "# TYPE ob_tls_connections_refused_total counter\n"
	    "ob_tls_connections_refused_total %" PRIu64 "\n"
	    "# HELP ob_tls_deadlines_extended_total Deadlines given one more "
	    "period: the server, not the client, was late.\n"
	    "# TYPE ob_tls_deadlines_extended_total counter\n"
	    "ob_tls_deadlines_extended_total %" PRIu64 "\n"
	    "# HELP ob_reloads_total SIGHUP reloads by result.\n"
	    "# TYPE ob_reloads_total counter\n"
	    "ob_reloads_total{result=\"ok\"} %" PRIu64 "\n"
	    "ob_reloads_total{result=\"failed\"} %" PRIu64 "\n",
	    svc->inflight, svc->nparked, qlen, svc->lim.queue, svc->nconns,
	    svc->conns_refused, svc->deadlines_graced, svc->reloads_ok,
	    svc->reloads_failed);
	if (svc->mconns != NULL) {
		struct ob_svc_conns_stats st;

		ob_svc_conns_stats(svc->mconns, &st);
		evbuffer_add_printf(b,
		    "# HELP ob_metrics_connections Open connections to this "
		    "listener.\n"
		    "# TYPE ob_metrics_connections gauge\n"
		    "ob_metrics_connections %u\n"
		    "# HELP ob_metrics_connections_refused_total Over its "
		    "cap (%d).\n"
		    "# TYPE ob_metrics_connections_refused_total counter\n"
		    "ob_metrics_connections_refused_total %llu\n"
		    "# HELP ob_metrics_connections_cut_total Cut at "
		    "limits.timeout_s.\n"
		    "# TYPE ob_metrics_connections_cut_total counter\n"
		    "ob_metrics_connections_cut_total %llu\n", st.open,
		    OB_SVC_METRICS_MAX_CONNS, st.refused, st.cut);
	}
	if (svc->metrics_fn != NULL) {
		char	extra[4096];
		size_t	n = svc->metrics_fn(extra, sizeof(extra),
		    svc->metrics_arg);

		evbuffer_add(b, extra, n < sizeof(extra) ? n : 0);
	}
}

static void
obs_reply(struct evhttp_request *ev, int status, const char *ctype,
    struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(ev);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(ev, status, NULL, b);
}

/* The loopback listener: GET /healthz, GET /metrics, nothing else. */
void
svc_obs_cb(struct evhttp_request *ev, void *arg)
{
	struct ob_svc		*svc = arg;
	struct evbuffer		*b;
	const char		*path;
	json_t			*o;
	char			*s;
	int			 qlen, ready;

	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(ev, 500, NULL);
		return;
	}
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ev));
	if (path == NULL || (strcmp(path, "/healthz") != 0 &&
	    strcmp(path, "/metrics") != 0)) {
		evbuffer_add_printf(b, "{\"type\":\"about:blank\",\"title\":"
		    "\"Not Found\",\"status\":404,\"code\":\"%s\"}",
		    ob_err_name(OB_ERR_SVC_NOT_FOUND));
		obs_reply(ev, 404, "application/problem+json", b);
	} else if (evhttp_request_get_command(ev) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(ev),
		    "Allow", "GET");
		evbuffer_add_printf(b, "{\"type\":\"about:blank\",\"title\":"
		    "\"Method Not Allowed\",\"status\":405,\"code\":\"%s\"}",
		    ob_err_name(OB_ERR_SVC_METHOD));
		obs_reply(ev, 405, "application/problem+json", b);
	} else if (strcmp(path, "/metrics") == 0) {
		metrics(svc, b);
		obs_reply(ev, 200, "text/plain; version=0.0.4; charset=utf-8",
		    b);
	} else {
		pthread_mutex_lock(&svc->mu);
		qlen = svc->qlen;
		pthread_mutex_unlock(&svc->mu);
		/* Live while the loop answers; ready unless draining or a
		 * dependency says it cannot serve. */
		ready = !svc->draining;
		o = json_pack("{s:s,s:b,s:i,s:i,s:i}", "status",
		    svc->draining ? "draining" : "ok", "live", 1, "in_flight",
		    svc->inflight, "queue", qlen, "connections", svc->nconns);
		if (o != NULL && svc->health_fn != NULL &&
		    !svc->health_fn(o, svc->health_arg))
			ready = 0;
		if (o == NULL || json_object_set_new(o, "ready",
		    json_boolean(ready)) != 0 ||
		    (s = json_dumps(o, JSON_COMPACT)) == NULL) {
			json_decref(o);
			evbuffer_free(b);
			evhttp_send_error(ev, 500, NULL);
			return;
		}
		evbuffer_add(b, s, strlen(s));
		free(s);
		json_decref(o);
		obs_reply(ev, ready ? 200 : 503, "application/json", b);
	}
	evbuffer_free(b);
}
