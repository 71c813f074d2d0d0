/*
 * The service layer (svc.h): listeners, routing, the request's life, the
 * worker pool, replies, signals.
 *
 * evhttp is not thread-safe.  A request for a worker route is queued to
 * the pool; its reply is staged in the request by the worker, put on the
 * done list under the pool's mutex, and the loop is woken with
 * event_active() (legal from another thread after evthread_use_pthreads)
 * to send it.  Everything that touches evhttp runs on the loop thread.
 *
 * A connection that closes while its request is with a worker: evhttp
 * detaches the request from the connection (evcon NULL) and keeps it,
 * and evhttp_send_reply then only frees it.  So a request is always
 * answered exactly once, by finish(), whatever the peer did.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/rand.h>

#include "service/conns.h"
#include "service/svc_int.h"
#include "service/svc_parse.h"
#include "service/svc_peer_pool.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/json.h"
#include "common/process.h"

static void finish(struct ob_svc_req *req);

/* A supervisor that cannot be told is worth a log line, not an exit. */
static void
notify(const struct ob_svc *svc, const char *state)
{
	int r;

	if ((r = ob_process_notify(state)) != OB_OK)
		svc_log_event(svc, "warn", "sd_notify", r, ob_err_detail());
}

/* ---- addresses ---- */

/* "host:port" or "[v6]:port" into host (NUL-terminated) and port. */
static int
split_addr(const char *addr, char *host, size_t hostsz, int *port)
{
	const char	*colon;
	char		*end;
	size_t		 n;
	long		 p;

	if (addr == NULL || (colon = strrchr(addr, ':')) == NULL)
		return ob_errf(OB_ERR_SVC_CONFIG, "listen address \"%s\" is "
		    "not HOST:PORT", addr == NULL ? "" : addr);
	n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n == 0 || n >= hostsz)
		return ob_errf(OB_ERR_SVC_CONFIG, "listen address: bad host");
	memcpy(host, addr, n);
	host[n] = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 ||
	    p > 65535)
		return ob_errf(OB_ERR_SVC_CONFIG, "listen address: bad port");
	*port = (int)p;
	return OB_OK;
}

static int
bind_one(struct evhttp *http, const char *addr, int loopback_only,
    struct evhttp_bound_socket **bound, int *port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[256];
	int			 fd, one = 1, p = 0, r;

	if ((r = split_addr(addr, host, sizeof(host), &p)) != OB_OK)
		return r;
	if (loopback_only && strcmp(host, "127.0.0.1") != 0 &&
	    strcmp(host, "::1") != 0 && strcmp(host, "localhost") != 0)
		return ob_errf(OB_ERR_SVC_CONFIG, "metrics listener \"%s\" is "
		    "not on loopback", addr);
	if ((*bound = evhttp_bind_socket_with_handle(http, host,
	    (ev_uint16_t)p)) == NULL)
		return ob_errf(OB_ERR_SVC_LISTEN, "%s: %s", addr,
		    strerror(errno));
	fd = (int)evhttp_bound_socket_get_fd(*bound);
	/* Accepted sockets inherit it; set again per connection. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return ob_errf(OB_ERR_SVC_LISTEN, "getsockname: %s",
		    strerror(errno));
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return OB_OK;
}

/* ---- the worker pool ---- */

static void *
worker(void *arg)
{
	struct ob_svc		*svc = arg;
	struct ob_svc_req	*req;

	for (;;) {
		pthread_mutex_lock(&svc->mu);
		while (!svc->stop && svc->qhead == NULL)
			pthread_cond_wait(&svc->cv, &svc->mu);
		if (svc->stop) {
			pthread_mutex_unlock(&svc->mu);
			return NULL;
		}
		req = svc->qhead;
		if ((svc->qhead = req->next) == NULL)
			svc->qtail = NULL;
		svc->qlen--;
		req->next = NULL;
		pthread_mutex_unlock(&svc->mu);
		req->route->fn(req, req->route->arg);
	}
}

/* 0 queued, -1 full. */
static int
pool_push(struct ob_svc *svc, struct ob_svc_req *req)
{
	int r = -1;

	pthread_mutex_lock(&svc->mu);
	if (svc->qlen < svc->lim.queue) {
		if (svc->qtail != NULL)
			svc->qtail->next = req;
		else
			svc->qhead = req;
		svc->qtail = req;
		svc->qlen++;
		pthread_cond_signal(&svc->cv);
		r = 0;
	}
	pthread_mutex_unlock(&svc->mu);
	return r;
}

/* The loop: send every reply the workers staged. */
static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ob_svc		*svc = arg;
	struct ob_svc_req	*req, *next;

	(void)fd; (void)what;
	pthread_mutex_lock(&svc->mu);
	req = svc->dhead;
	svc->dhead = svc->dtail = NULL;
	pthread_mutex_unlock(&svc->mu);
	for (; req != NULL; req = next) {
		next = req->next;
		finish(req);
	}
}

/* ---- requests ---- */

static void
req_free(struct ob_svc_req *req)
{
	size_t i;

	if (req == NULL)
		return;
	for (i = 0; i < req->nhdrs; i++) {
		free(req->hdrs[i].name);
		free(req->hdrs[i].value);
	}
	free(req->hdrs);
	free(req->chain);
	free(req->path);
	free(req->log_path);
	free(req->query);
	free(req->body);
	free(req->rbody);
	free(req->rctype);
	free(req->detail);
	free(req);
}

void
svc_req_free(struct ob_svc_req *req)
{
	req_free(req);
}

static const char *
method_name(enum evhttp_cmd_type c)
{
	switch (c) {
	case EVHTTP_REQ_GET:	return "GET";
	case EVHTTP_REQ_POST:	return "POST";
	case EVHTTP_REQ_HEAD:	return "HEAD";
	case EVHTTP_REQ_PUT:	return "PUT";
	case EVHTTP_REQ_DELETE:	return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE:	return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH:	return "PATCH";
	default:		return "OTHER";
	}
}

void
svc_req_id(char id[17])
{
	static unsigned long	 ctr;
	unsigned char		 b[8];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		ctr++;
		memcpy(b, &ctr, sizeof(b) < sizeof(ctr) ? sizeof(b) :
		    sizeof(ctr));
	}
	(void)ob_bin_to_hex(b, sizeof(b), id, 17);
}

/* Copy what a handler may read, so that it never touches evhttp. */
static int
req_copy(struct ob_svc_req *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req->ev);
	struct evbuffer		*in = evhttp_request_get_input_buffer(req->ev);
	struct evkeyval		*kv;
	size_t			 n = 0;

	TAILQ_FOREACH(kv, h, next)
		n++;
	if (n > 0 && (req->hdrs = calloc(n, sizeof(*req->hdrs))) == NULL)
		return OB_ERR_ALLOC;
	TAILQ_FOREACH(kv, h, next) {
		req->hdrs[req->nhdrs].name = strdup(kv->key);
		req->hdrs[req->nhdrs].value = strdup(kv->value);
		req->nhdrs++;
		if (req->hdrs[req->nhdrs - 1].name == NULL ||
		    req->hdrs[req->nhdrs - 1].value == NULL)
			return OB_ERR_ALLOC;
	}
	req->bodylen = evbuffer_get_length(in);
	if ((req->body = malloc(req->bodylen + 1)) == NULL)
		return OB_ERR_ALLOC;
	if (req->bodylen > 0 && evbuffer_copyout(in, req->body,
	    req->bodylen) != (ev_ssize_t)req->bodylen)
		return ob_errf(OB_ERR_INTERNAL, "evbuffer_copyout");
	req->body[req->bodylen] = '\0';
	return OB_OK;
}

static int
stage(struct ob_svc_req *req, int status, char *body, size_t len,
    const char *ctype)
{
	struct ob_svc *svc;

	if (req->replied) {
		free(body);
		return ob_errf(OB_ERR_INVALID_ARG, "second reply");
	}
	req->replied = 1;
	req->status = status;
	req->rbody = body;
	req->rlen = len;
	if ((req->rctype = strdup(ctype)) == NULL)
		req->status = 500;
	if (pthread_equal(pthread_self(), req->svc->loop_thread)) {
		finish(req);
		return OB_OK;
	}
	/*
	 * Once on the done list the request is the loop's, which may send
	 * and free it before event_active below: nothing of it is read after
	 * the unlock.
	 */
	svc = req->svc;
	pthread_mutex_lock(&svc->mu);
	if (svc->dtail != NULL)
		svc->dtail->next = req;
	else
		svc->dhead = req;
	svc->dtail = req;
	pthread_mutex_unlock(&svc->mu);
	event_active(svc->done_ev, EV_READ, 0);
	return OB_OK;
}

int
ob_svc_reply_json(struct ob_svc_req *req, int status, const json_t *body,
    const char *content_type)
{
	char	*s;
	size_t	 n;

	if (body == NULL || ob_json_dump(body, &s, &n) != OB_OK) {
		req->code = OB_ERR_ALLOC;
		(void)stage(req, 500, NULL, 0, "application/json");
		return OB_ERR_ALLOC;
	}
	return stage(req, status, s, n, content_type != NULL ?
	    content_type : "application/json");
}

int
ob_svc_reply_page(struct ob_svc_req *req, int status, const char *ctype,
    const void *body, size_t len)
{
	char *b;

	if ((b = malloc(len + 1)) == NULL) {
		req->code = OB_ERR_ALLOC;
		(void)stage(req, 500, NULL, 0, "application/json");
		return OB_ERR_ALLOC;
	}
	memcpy(b, body, len);
	b[len] = '\0';
	req->page = 1;
	return stage(req, status, b, len, ctype);
}

int
ob_svc_reply_problem(struct ob_svc_req *req, int status, int code,
    const char *title, const char *detail_for_log)
{
	json_t	*o;
	char	*s = NULL;
	int	 pub = ob_err_public(code);

	req->code = code;
	free(req->detail);
	req->detail = detail_for_log != NULL ? strdup(detail_for_log) : NULL;
	o = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", "about:blank",
	    "title", title != NULL ? title : ob_err_text(pub), "status", status,
	    "code", ob_err_name(pub), "request_id", req->id);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		status = 500;
	json_decref(o);
	return stage(req, status, s, s != NULL ? strlen(s) : 0,
	    "application/problem+json");
}

static uint64_t
elapsed_us(const struct timespec *t0)
{
	struct timespec	t;
	long long	us;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	us = (long long)(t.tv_sec - t0->tv_sec) * 1000000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000;
	return us < 0 ? 0 : (uint64_t)us;
}

/* Draining ends when every reply is answered and written out. */
static void
check_drained(struct ob_svc *svc)
{
	if (svc->draining && svc->inflight == 0 && svc->sending == 0)
		(void)event_base_loopexit(svc->base, NULL);
}

static void
sent_cb(struct evhttp_request *ev, void *arg)
{
	struct ob_svc *svc = arg;

	(void)ev;
	svc->sending--;
	check_drained(svc);
}

/* The loop: send the staged reply, count, log, free. */
static void
finish(struct ob_svc_req *req)
{
	struct ob_svc		*svc = req->svc;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req->ev);
	struct evbuffer		*out = evhttp_request_get_output_buffer(req->ev);
	struct svc_conn		*c = svc_tls_conn(req->ev);
	char			 ra[16];
	uint64_t		 us;

	evhttp_add_header(h, "Content-Type", req->rctype != NULL ?
	    req->rctype : "application/json");
	evhttp_add_header(h, "X-Request-Id", req->id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (req->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", req->retry_after);
		evhttp_add_header(h, "Retry-After", ra);
	}
	if (req->allow != NULL)
		evhttp_add_header(h, "Allow", req->allow);
	/* Pages: nothing but this origin's own script and style, never in
	 * a frame, no referrer (the path holds a handle). */
	if (req->page) {
		evhttp_add_header(h, "Content-Security-Policy", "default-src "
		    "'none'; script-src 'self'; style-src 'self'; "
		    "connect-src 'self'; img-src 'self'; base-uri 'none'; "
		    "form-action 'none'; frame-ancestors 'none'");
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
		evhttp_add_header(h, "X-Frame-Options", "DENY");
		evhttp_add_header(h, "Cross-Origin-Opener-Policy",
		    "same-origin");
	}
	if (svc->draining)
		evhttp_add_header(h, "Connection", "close");
	if (req->rbody != NULL)
		evbuffer_add(out, req->rbody, req->rlen);
	us = elapsed_us(&req->start);
	svc_stats_add(req->route != NULL ? &req->route->stats : &svc->other,
	    req->status, us);
	svc_log_request(req, us);
	/* The next request's header deadline; freed with the connection.
	 * A reply written out counts as sent (a connection that fails
	 * first leaves it to the drain timeout). */
	if (c != NULL) {
		svc_tls_conn_arm(c);
		svc->sending++;
		evhttp_request_set_on_complete_cb(req->ev, sent_cb, svc);
	}
	/* Frees req->ev (at once if its connection is gone).  ours: the
	 * status line written now is ours, not one of libevent's refusals. */
	if (c != NULL)
		c->ours = 1;
	evhttp_send_reply(req->ev, req->status, NULL, NULL);
	if (c != NULL)
		c->ours = 0;
	req_free(req);
	svc->inflight--;
	check_drained(svc);
}

/*
 * RFC 9112 section 6.3: a message with two Content-Length values, or with
 * Content-Length beside Transfer-Encoding, has no one length; evhttp
 * takes the first it meets, where another reader would take another.
 */
int
ob_svc_framing_ambiguous(struct evhttp_request *ev)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(ev);
	struct evkeyval		*kv;
	int			 cl = 0, te = 0;

	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "Content-Length") == 0)
			cl++;
		else if (strcasecmp(kv->key, "Transfer-Encoding") == 0)
			te++;
	}
	return cl > 1 || (cl > 0 && te > 0);
}

static void
early(struct ob_svc_req *req, int status, int code, const char *detail,
    int retry_after)
{
	req->retry_after = retry_after;
	if (req->svc->refusal_fn != NULL)
		req->svc->refusal_fn(req, status, code, detail,
		    req->svc->refusal_arg);
	(void)ob_svc_reply_problem(req, status, code, NULL, detail);
}

/*
 * A route's path is exact, or, when it ends in '/', a prefix followed by
 * one segment of 1..64 characters of [A-Za-z0-9_-] (a handle): nothing
 * that could be a dot segment, an escape or another level.
 */
static int
route_match(const char *route, const char *path)
{
	size_t	n = strlen(route), i;

	if (n == 0 || route[n - 1] != '/')
		return strcmp(route, path) == 0;
	if (strncmp(route, path, n) != 0)
		return 0;
	for (i = n; path[i] != '\0'; i++)
		if (i - n >= 64 || !((path[i] >= 'A' && path[i] <= 'Z') ||
		    (path[i] >= 'a' && path[i] <= 'z') ||
		    (path[i] >= '0' && path[i] <= '9') || path[i] == '-' ||
		    path[i] == '_'))
			return 0;
	return i > n;
}

static void
on_request(struct evhttp_request *ev, void *arg)
{
	struct ob_svc		*svc = arg;
	struct ob_svc_req	*req;
	struct svc_route	*rt = NULL;
	const struct evhttp_uri	*uri;
	struct svc_conn		*c;
	const char		*p, *q, *ct;
	size_t			 i;
	int			 path_seen = 0, r;

	if ((req = calloc(1, sizeof(*req))) == NULL) {
		evhttp_send_error(ev, 500, NULL);
		return;
	}
	req->svc = svc;
	req->ev = ev;
	req->code = OB_OK;
	(void)clock_gettime(CLOCK_MONOTONIC, &req->start);
	svc_req_id(req->id);
	req->method = method_name(evhttp_request_get_command(ev));
	svc->inflight++;
	uri = evhttp_request_get_evhttp_uri(ev);
	p = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if ((p != NULL && (req->path = strdup(p)) == NULL) ||
	    (q != NULL && (req->query = strdup(q)) == NULL)) {
		early(req, 503, OB_ERR_ALLOC, "request copy", 1);
		return;
	}
	if ((c = svc_tls_conn(ev)) == NULL) {
		/* Not a TLS connection of ours (a failed bevcb): refuse. */
		early(req, 400, OB_ERR_SVC_BAD_REQUEST, "no TLS connection", 0);
		return;
	}
	c->busy = 1;
	(void)evtimer_del(c->deadline);
	if (!c->seen || c->gen != svc->peers_gen)
		svc_tls_peer_lookup(c);
	req->peer = c->peer;
	memcpy(req->sha, c->sha, sizeof(req->sha));
	/* "HOST:PORT" (or "[V6]:PORT") at the handshake: the host part. */
	snprintf(req->ip, sizeof(req->ip), "%s", c->addr[0] != '\0' ? c->addr :
	    "-");
	if ((q = strrchr(req->ip, ':')) != NULL)
		req->ip[q - req->ip] = '\0';
	if (svc->draining) {
		early(req, 503, OB_ERR_SVC_UNAVAILABLE, "draining", 1);
		return;
	}
	if (req->peer == NULL && !svc->cert_optional) {
		early(req, 403, OB_ERR_SVC_PEER_UNKNOWN, "certificate maps to "
		    "no configured peer", 0);
		return;
	}
	if (svc->cert_optional && (r = svc_tls_peer_chain(c, &req->chain,
	    &req->chainlen)) != OB_OK) {
		early(req, 503, r, "client certificate copy", 1);
		return;
	}
	if (p == NULL) {
		early(req, 400, OB_ERR_SVC_BAD_REQUEST, "no path", 0);
		return;
	}
	if (ob_svc_framing_ambiguous(ev)) {
		/* evhttp read the body by one of them: where this request
		 * ended, and so what follows it, is not known.  Closed. */
		(void)evhttp_add_header(evhttp_request_get_output_headers(ev),
		    "Connection", "close");
		early(req, 400, OB_ERR_SVC_BAD_REQUEST, "two Content-Length "
		    "headers, or one beside Transfer-Encoding", 0);
		return;
	}
	for (i = 0; i < svc->nroutes && rt == NULL; i++) {
		if (!route_match(svc->routes[i].path, p))
			continue;
		path_seen = 1;
		if (strcmp(svc->routes[i].method, req->method) == 0)
			rt = &svc->routes[i];
		else
			req->allow = svc->routes[i].method;
	}
	if (rt == NULL) {
		if (path_seen)
			early(req, 405, OB_ERR_SVC_METHOD, NULL, 0);
		else
			early(req, 404, OB_ERR_SVC_NOT_FOUND, NULL, 0);
		return;
	}
	req->allow = NULL;
	req->route = rt;
	/* With public routes (a browser page) a certificate is optional at
	 * the handshake, and required here for every other route. */
	if (req->peer == NULL && svc->has_public && !rt->public) {
		early(req, 403, OB_ERR_SVC_PEER_UNKNOWN, "no client "
		    "certificate that maps to a configured peer", 0);
		return;
	}
	ct = evhttp_find_header(evhttp_request_get_input_headers(ev),
	    "Content-Type");
	if (rt->ctype != NULL && !ob_svc_media_type_is(ct, rt->ctype)) {
		early(req, 415, OB_ERR_SVC_MEDIA_TYPE, ct == NULL ?
		    "no Content-Type" : "wrong Content-Type", 0);
		return;
	}
	if ((r = req_copy(req)) != OB_OK) {
		early(req, 503, r, "request copy", 1);
		return;
	}
	if (!rt->on_worker) {
		rt->fn(req, rt->arg);
		return;
	}
	if (pool_push(svc, req) != 0)
		early(req, 503, OB_ERR_SVC_UNAVAILABLE, "worker queue full", 1);
}

/* ---- accessors ---- */

const char *
ob_svc_req_method(const struct ob_svc_req *req)
{
	return req->method;
}

const char *
ob_svc_req_path(const struct ob_svc_req *req)
{
	return req->path;
}

const char *
ob_svc_req_log_path(struct ob_svc_req *req)
{
	const struct svc_route	*rt;
	size_t			 i, n;

	if (req->path == NULL || req->log_path != NULL)
		return req->log_path != NULL ? req->log_path : req->path;
	for (i = 0; i < req->svc->nroutes; i++) {
		rt = &req->svc->routes[i];
		n = strlen(rt->path);
		if (!rt->secret || strncmp(req->path, rt->path, n) != 0 ||
		    strlen(req->path + n) <= 8)
			continue;
		if ((req->log_path = malloc(n + 12)) == NULL)
			return "(a secret path)";
		(void)snprintf(req->log_path, n + 12, "%s%.8s...", rt->path,
		    req->path + n);
		return req->log_path;
	}
	return req->path;
}

const char *
ob_svc_req_query(const struct ob_svc_req *req)
{
	return req->query;
}

const char *
ob_svc_req_body(const struct ob_svc_req *req, size_t *len)
{
	if (len != NULL)
		*len = req->bodylen;
	return req->body != NULL ? req->body : "";
}

const char *
ob_svc_req_header(const struct ob_svc_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nhdrs; i++)
		if (strcasecmp(req->hdrs[i].name, name) == 0)
			return req->hdrs[i].value;
	return NULL;
}

const char *
ob_svc_req_id(const struct ob_svc_req *req)
{
	return req->id;
}

const char *
ob_svc_req_peer_ip(const struct ob_svc_req *req)
{
	return req->ip[0] != '\0' ? req->ip : "-";
}

const char *
ob_svc_req_peer_id(const struct ob_svc_req *req)
{
	return req->peer != NULL ? req->peer->id : NULL;
}

void
ob_svc_req_set_retry_after(struct ob_svc_req *req, int seconds)
{
	if (req != NULL && seconds > 0)
		req->retry_after = seconds;
}

const char *
ob_svc_req_peer_role(const struct ob_svc_req *req)
{
	return req->peer != NULL ? req->peer->role : NULL;
}

const char *
ob_svc_req_peer_cert_sha256(const struct ob_svc_req *req)
{
	return req->sha;
}

const unsigned char *
ob_svc_req_peer_chain(const struct ob_svc_req *req, size_t *len)
{
	if (len != NULL)
		*len = req->chainlen;
	return req->chain;
}

size_t
ob_svc_req_header_count(const struct ob_svc_req *req, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < req->nhdrs; i++)
		if (strcasecmp(req->hdrs[i].name, name) == 0)
			n++;
	return n;
}

/* ---- signals ---- */

static void
drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ob_svc *svc = arg;

	(void)fd; (void)what;
	svc_log_event(svc, "warn", "drain timeout", OB_OK,
	    "requests still in flight");
	(void)event_base_loopexit(svc->base, NULL);
}

static void
on_term(evutil_socket_t fd, short what, void *arg)
{
	struct ob_svc	*svc = arg;
	struct timeval	 tv = { svc->lim.drain_s, 0 };

	(void)fd; (void)what;
	if (svc->draining)
		return;
	svc->draining = 1;
	notify(svc, "STOPPING=1");
	svc_log_event(svc, "info", "draining", OB_OK, NULL);
	/* Long-polls are answered now, not at their deadline. */
	svc_park_drain(svc);
	/* Stop accepting: new connections are refused by the kernel. */
	if (svc->bound != NULL) {
		evhttp_del_accept_socket(svc->http, svc->bound);
		svc->bound = NULL;
	}
	if (svc->inflight == 0 && svc->sending == 0) {
		(void)event_base_loopexit(svc->base, NULL);
		return;
	}
	if ((svc->drain_timer = evtimer_new(svc->base, drain_timeout,
	    svc)) != NULL)
		(void)evtimer_add(svc->drain_timer, &tv);
}

static void
notify_reloading(const struct ob_svc *svc)
{
	struct timespec	ts;
	char		buf[80];

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify(svc, buf);
}

static void
on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct ob_svc	*svc = arg;
	SSL_CTX		*ctx = NULL;
	size_t		 i;
	int		 r, failed = 0;

	(void)fd; (void)what;
	notify_reloading(svc);
	/* Connections that are open keep the SSL_CTX they started with. */
	if ((r = svc_tls_ctx_new(svc, &ctx)) == OB_OK) {
		SSL_CTX_free(svc->ctx);
		svc->ctx = ctx;
		svc_log_event(svc, "info", "reload: TLS files loaded", OB_OK,
		    NULL);
	} else {
		failed = 1;
		svc_log_event(svc, "error", "reload: TLS files kept", r,
		    ob_err_detail());
	}
	for (i = 0; i < svc->nreload; i++)
		if ((r = svc->reload[i].fn(svc->reload[i].arg)) != OB_OK) {
			failed = 1;
			svc_log_event(svc, "error", "reload: callback failed, "
			    "old state kept", r, ob_err_detail());
		}
	if (failed)
		svc->reloads_failed++;
	else
		svc->reloads_ok++;
	notify(svc, "READY=1");
}

/* ---- life cycle ---- */

static char *
dup_or_null(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

/*
 * A checked table of n peers in *out: pointers into the service's pool,
 * which keeps every entry until ob_svc_free (decision 157).
 */
static int
peers_table(struct ob_svc *svc, const struct ob_svc_peer *p, size_t n,
    const struct ob_svc_peer ***out)
{
	size_t i;

	*out = NULL;
	if (n == 0 && svc->cert_optional)
		return OB_OK;
	if (n == 0)
		return ob_errf(OB_ERR_SVC_CONFIG, "no peers configured");
	for (i = 0; i < n; i++)
		if (p[i].id == NULL || p[i].role == NULL ||
		    (p[i].san_uri == NULL && p[i].cert_sha256 == NULL))
			return ob_errf(OB_ERR_SVC_CONFIG, "peer %zu: id, role "
			    "and san_uri or cert_sha256", i);
	return svc_peer_pool_table(&svc->pool, p, n, out);
}

static int
peers_copy(struct ob_svc *svc, const struct ob_svc_peer *p, size_t n)
{
	int r;

	if ((r = peers_table(svc, p, n, &svc->peers)) != OB_OK)
		return r;
	svc->npeers = svc->peers != NULL ? n : 0;
	return OB_OK;
}

int
ob_svc_set_peers(struct ob_svc *svc, const struct ob_svc_peer *p, size_t n)
{
	const struct ob_svc_peer **t = NULL;
	int			   r;

	if ((r = peers_table(svc, p, n, &t)) != OB_OK)
		return r;
	/* Only the loop thread reads the table (svc_tls_peer_lookup), and
	 * this runs on it; what requests hold points into the pool. */
	free(svc->peers);
	svc->peers = t;
	svc->npeers = t != NULL ? n : 0;
	/* Every connection looks its peer up again at its next request. */
	svc->peers_gen++;
	return OB_OK;
}

static void
limits_default(struct ob_svc_limits *l)
{
	if (l->max_body == 0)
		l->max_body = 65536;
	if (l->max_headers == 0)
		l->max_headers = 8192;
	if (l->max_conns <= 0)
		l->max_conns = 512;
	if (l->timeout_s <= 0)
		l->timeout_s = 10;
	if (l->workers <= 0)
		l->workers = 2;
	if (l->queue <= 0)
		l->queue = 64;
	if (l->drain_s <= 0)
		l->drain_s = 30;
}

int
ob_svc_new(const struct ob_svc_cfg *cfg, struct ob_svc **out)
{
	struct ob_svc	*svc = NULL;
	int		 r, fail = 0;

	*out = NULL;
	if (cfg->tls.cert == NULL || cfg->tls.key == NULL ||
	    cfg->tls.client_ca == NULL)
		return ob_errf(OB_ERR_SVC_CONFIG, "tls: cert, key and "
		    "client_ca are required");
	(void)signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0)
		return ob_errf(OB_ERR_INTERNAL, "evthread_use_pthreads");
	OB_TRY(svc_tls_init());
	if ((svc = calloc(1, sizeof(*svc))) == NULL)
		return OB_ERR_ALLOC;
	pthread_mutex_init(&svc->mu, NULL);
	pthread_cond_init(&svc->cv, NULL);
	svc->loop_thread = pthread_self();
	svc->lim = cfg->limits;
	limits_default(&svc->lim);
	svc->name = dup_or_null(cfg->name != NULL ? cfg->name : "ownerbind",
	    &fail);
	svc->cert = dup_or_null(cfg->tls.cert, &fail);
	svc->key = dup_or_null(cfg->tls.key, &fail);
	svc->ca = dup_or_null(cfg->tls.client_ca, &fail);
	svc->cert_optional = cfg->tls.client_cert_optional != 0;
	svc->port = svc->mport = -1;
	if (fail) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(peers_copy(svc, cfg->peers, cfg->npeers));
	OB_TRY(svc_tls_ctx_new(svc, &svc->ctx));
	if ((svc->base = event_base_new()) == NULL ||
	    (svc->http = evhttp_new(svc->base)) == NULL ||
	    (svc->done_ev = event_new(svc->base, -1, 0, done_cb, svc)) ==
	    NULL ||
	    (svc->sig_term = evsignal_new(svc->base, SIGTERM, on_term,
	    svc)) == NULL ||
	    (svc->sig_int = evsignal_new(svc->base, SIGINT, on_term,
	    svc)) == NULL ||
	    (svc->sig_hup = evsignal_new(svc->base, SIGHUP, on_hup, svc)) ==
	    NULL) {
		r = ob_errf(OB_ERR_ALLOC, "libevent");
		goto out;
	}
	OB_TRY(svc_park_init(svc));
	evhttp_set_bevcb(svc->http, svc_tls_bevcb, svc);
	evhttp_set_gencb(svc->http, on_request, svc);
	evhttp_set_max_body_size(svc->http, (ev_ssize_t)svc->lim.max_body);
	/* Read (and drop) an oversized body before the 413, so that a client
	 * still sending sees the answer instead of a reset; the connection's
	 * deadline bounds how long that may take. */
	(void)evhttp_set_flags(svc->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(svc->http,
	    (ev_ssize_t)svc->lim.max_headers);
	/* The connection's own deadline (svc_tls.c) bounds a request at
	 * timeout_s, one more when the server was the one behind; evhttp's
	 * inactivity timeout is only the backstop above it, so that a loop
	 * busy with other connections does not cut this one silently. */
	svc->backstop_s = 2 * svc->lim.timeout_s + 1;
	evhttp_set_timeout(svc->http, svc->backstop_s);
	evhttp_set_allowed_methods(svc->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	OB_TRY(bind_one(svc->http, cfg->listen, 0, &svc->bound, &svc->port));
	if (cfg->metrics_listen != NULL) {
		if ((svc->mhttp = evhttp_new(svc->base)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		evhttp_set_gencb(svc->mhttp, svc_obs_cb, svc);
		evhttp_set_timeout(svc->mhttp, svc->lim.timeout_s);
		/* Any local user may connect: a cap of its own, and a
		 * deadline no trickle resets, so the TLS listener keeps its
		 * descriptors (decision 168). */
		OB_TRY(ob_svc_conns_new(OB_SVC_METRICS_MAX_CONNS,
		    (unsigned)svc->lim.timeout_s, "OB_ERR_SVC_UNAVAILABLE",
		    &svc->mconns));
		evhttp_set_bevcb(svc->mhttp, ob_svc_conns_bevcb, svc->mconns);
		evhttp_set_max_body_size(svc->mhttp, 0);
		evhttp_set_max_headers_size(svc->mhttp,
		    (ev_ssize_t)svc->lim.max_headers);
		OB_TRY(bind_one(svc->mhttp, cfg->metrics_listen, 1,
		    &svc->mbound, &svc->mport));
	}
	if ((svc->threads = calloc((size_t)svc->lim.workers,
	    sizeof(*svc->threads))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	*out = svc;
	svc = NULL;
	r = OB_OK;
out:
	ob_svc_free(&svc);
	return r;
}

int
ob_svc_route(struct ob_svc *svc, const char *method, const char *path,
    const char *content_type, int on_worker, ob_svc_handler fn, void *arg)
{
	struct svc_route	*rt;
	size_t			 i, n;
	int			 fail = 0;

	if (svc->nroutes == SVC_MAX_ROUTES || fn == NULL || path == NULL ||
	    path[0] != '/' || method == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "route");
	for (i = 0; i < svc->nroutes; i++)
		if (strcmp(svc->routes[i].path, path) == 0 &&
		    strcmp(svc->routes[i].method, method) == 0)
			return ob_errf(OB_ERR_INVALID_ARG, "route %s %s twice",
			    method, path);
	rt = &svc->routes[svc->nroutes];
	memset(rt, 0, sizeof(*rt));
	rt->method = dup_or_null(method, &fail);
	rt->path = dup_or_null(path, &fail);
	rt->ctype = dup_or_null(content_type, &fail);
	n = strlen(method) + strlen(path) + 2;
	if (!fail && (rt->label = malloc(n)) != NULL)
		snprintf(rt->label, n, "%s %s", method, path);
	if (fail || rt->label == NULL) {
		free(rt->method); free(rt->path); free(rt->ctype);
		free(rt->label);
		return OB_ERR_ALLOC;
	}
	rt->on_worker = on_worker;
	rt->fn = fn;
	rt->arg = arg;
	svc->nroutes++;
	return OB_OK;
}

int
ob_svc_route_public(struct ob_svc *svc, const char *method, const char *path,
    const char *content_type, int on_worker, ob_svc_handler fn, void *arg)
{
	int r;

	if (!svc->cert_optional)
		return ob_errf(OB_ERR_INVALID_ARG, "a public route needs "
		    "tls.client_cert_optional");
	if ((r = ob_svc_route(svc, method, path, content_type, on_worker, fn,
	    arg)) != OB_OK)
		return r;
	svc->routes[svc->nroutes - 1].public = 1;
	svc->has_public = 1;
	return OB_OK;
}

int
ob_svc_route_public_secret(struct ob_svc *svc, const char *method,
    const char *path, const char *content_type, int on_worker,
    ob_svc_handler fn, void *arg)
{
	int r;

	if (path[0] == '\0' || path[strlen(path) - 1] != '/')
		return ob_errf(OB_ERR_INVALID_ARG, "a secret route is a handle "
		    "route");
	if ((r = ob_svc_route_public(svc, method, path, content_type,
	    on_worker, fn, arg)) != OB_OK)
		return r;
	svc->routes[svc->nroutes - 1].secret = 1;
	return OB_OK;
}

int
ob_svc_on_reload(struct ob_svc *svc, int (*fn)(void *), void *arg)
{
	if (svc->nreload == sizeof(svc->reload) / sizeof(svc->reload[0]))
		return ob_errf(OB_ERR_INVALID_ARG, "too many reload callbacks");
	svc->reload[svc->nreload].fn = fn;
	svc->reload[svc->nreload].arg = arg;
	svc->nreload++;
	return OB_OK;
}

int
ob_svc_on_conn_refusal(struct ob_svc *svc, ob_svc_conn_refusal_fn fn,
    void *arg)
{
	if (svc == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "svc is required");
	svc->conn_refusal_fn = fn;
	svc->conn_refusal_arg = arg;
	return OB_OK;
}

int
ob_svc_on_refusal(struct ob_svc *svc, ob_svc_refusal_fn fn, void *arg)
{
	svc->refusal_fn = fn;
	svc->refusal_arg = arg;
	return OB_OK;
}

int
ob_svc_on_metrics(struct ob_svc *svc, ob_svc_metrics_fn fn, void *arg)
{
	svc->metrics_fn = fn;
	svc->metrics_arg = arg;
	return OB_OK;
}

int
ob_svc_on_health(struct ob_svc *svc, ob_svc_health_fn fn, void *arg)
{
	svc->health_fn = fn;
	svc->health_arg = arg;
	return OB_OK;
}

void
ob_svc_req_retry_after(struct ob_svc_req *req, int seconds)
{
	req->retry_after = seconds > 0 ? seconds : 0;
}

int
ob_svc_port(const struct ob_svc *svc)
{
	return svc->port;
}

int
ob_svc_metrics_port(const struct ob_svc *svc)
{
	return svc->mport;
}

int
ob_svc_start(struct ob_svc *svc)
{
	int i;

	for (i = svc->nthreads; i < svc->lim.workers; i++) {
		if (pthread_create(&svc->threads[i], NULL, worker, svc) != 0)
			return ob_errf(OB_ERR_INTERNAL, "pthread_create");
		svc->nthreads++;
	}
	return OB_OK;
}

int
ob_svc_run(struct ob_svc *svc)
{
	char	detail[64];
	int	r;

	if ((r = ob_svc_start(svc)) != OB_OK)
		return r;
	if (evsignal_add(svc->sig_term, NULL) != 0 ||
	    evsignal_add(svc->sig_int, NULL) != 0 ||
	    evsignal_add(svc->sig_hup, NULL) != 0)
		return ob_errf(OB_ERR_INTERNAL, "evsignal_add");
	snprintf(detail, sizeof(detail), "port %d, metrics port %d",
	    svc->port, svc->mport);
	svc_log_event(svc, "info", "ready", OB_OK, detail);
	notify(svc, "READY=1");
	if (event_base_dispatch(svc->base) < 0)
		return ob_errf(OB_ERR_INTERNAL, "event_base_dispatch");
	svc_log_event(svc, "info", "stopped", OB_OK, NULL);
	return OB_OK;
}

void
ob_svc_free(struct ob_svc **psvc)
{
	struct ob_svc		*svc;
	struct ob_svc_req	*req, *next;
	size_t			 i;
	int			 t;

	if (psvc == NULL || (svc = *psvc) == NULL)
		return;
	/* Connections freed from here on are not refusals. */
	svc->conn_refusal_fn = NULL;
	pthread_mutex_lock(&svc->mu);
	svc->stop = 1;
	pthread_cond_broadcast(&svc->cv);
	pthread_mutex_unlock(&svc->mu);
	for (t = 0; t < svc->nthreads; t++)
		pthread_join(svc->threads[t], NULL);
	free(svc->threads);
	/* Requests never answered (drain timed out): evhttp frees theirs. */
	for (req = svc->qhead; req != NULL; req = next) {
		next = req->next;
		req_free(req);
	}
	for (req = svc->dhead; req != NULL; req = next) {
		next = req->next;
		req_free(req);
	}
	svc_park_free(svc);
	if (svc->mhttp != NULL)
		evhttp_free(svc->mhttp);
	ob_svc_conns_free(&svc->mconns);	/* after evhttp_free */
	if (svc->http != NULL)
		evhttp_free(svc->http);
	if (svc->done_ev != NULL)
		event_free(svc->done_ev);
	if (svc->sig_term != NULL)
		event_free(svc->sig_term);
	if (svc->sig_int != NULL)
		event_free(svc->sig_int);
	if (svc->sig_hup != NULL)
		event_free(svc->sig_hup);
	if (svc->drain_timer != NULL)
		event_free(svc->drain_timer);
	if (svc->base != NULL)
		event_base_free(svc->base);
	SSL_CTX_free(svc->ctx);
	for (i = 0; i < svc->nroutes; i++) {
		free(svc->routes[i].method);
		free(svc->routes[i].path);
		free(svc->routes[i].ctype);
		free(svc->routes[i].label);
	}
	free(svc->peers);
	svc_peer_pool_free(&svc->pool);
	free(svc->name);
	free(svc->cert);
	free(svc->key);
	free(svc->ca);
	pthread_mutex_destroy(&svc->mu);
	pthread_cond_destroy(&svc->cv);
	free(svc);
	*psvc = NULL;
}
