/*
 * ownerbind-proxy: the identity proxy.  Agents ask it for credentials
 * over the Agent API, HTTP with JSON on a local unix socket; the kernel
 * says who is calling (proxy/peer.h), the configuration says which agent
 * ids that caller may obtain, and the proxy obtains the credential from
 * the identity server or the owner's gateway over mutual TLS with its own
 * certificate (proxy/upstream.h), caching it for the times the upstreams
 * are down (proxy/cache.h).  docs/proxy.md describes the API.
 *
 * It holds no agent key and no owner key: agents sign their own
 * envelopes, and renewals too (docs/proxy.md, "Renewal").
 *
 * Threads: one libevent loop accepts and parses HTTP; each request's
 * work (identifying the caller, talking to the upstream, which may wait
 * for retries or an owner) runs on its own thread, at most max_inflight
 * at once, and hands its reply back to the loop with event_base_once().
 *
 *   ownerbind-proxy --config FILE
 *   ownerbind-proxy --check-config FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <jansson.h>

#include "common/process.h"
#include "common/sandbox.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "proxy/cache.h"
#include "service/conns.h"
#include "proxy/peer.h"
#include "proxy/proxy_config.h"
#include "proxy/route.h"
#include "proxy/upstream.h"
#include "service/client.h"
#include "service/svc.h"

#define PROG		"ownerbind-proxy"
#define MAX_HEADERS	8192
#define MAX_CACHE	1024
#define MAX_AGENT_ID	2048

enum job_kind {
	JOB_OBTAIN,	/* POST /v1/credentials: an envelope in */
	JOB_RENEW,	/* POST /v1/renewals: a renewal envelope in */
	JOB_CACHED,	/* GET /v1/credentials?agent=ID */
};

/* A configuration and the requests that started with it (the loop's
 * thread counts; SIGHUP swaps px->cur, the last request frees an old one). */
struct cfgref {
	struct ob_proxy_config	*cfg;
	unsigned		 refs;
};

struct proxy {
	struct cfgref		*cur;
	int			 landlock;	/* Landlock in force */
	struct ob_proxy_cache	*cache;
	struct event_base	*base;
	struct ob_svc_conns	*conns;		/* the Agent API's */
	atomic_uint		 inflight;
};

struct job {
	struct proxy		*px;
	struct cfgref		*cr;		/* the configuration it started with */
	struct evhttp_request	*req;
	enum job_kind		 kind;
	struct ob_proxy_peer	 peer;		/* uid, gid, pid taken on the loop */
	int			 pidfd;
	int			 peer_code;	/* OB_OK, or why there is no peer */
	char			*body;
	size_t			 len;
	char			*agent_id;	/* JOB_CACHED */
	/* the answer */
	int			 status;
	json_t			*reply;
};

static volatile sig_atomic_t	stopping;

/* ---- the log: one JSON line per event on stderr; never a secret ---- */

static void
logj(const char *level, const char *event, int code, const char *detail)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:I,s:s,s:s}", "ts", (json_int_t)time(NULL),
	    "level", level, "event", event);
	if (o == NULL)
		return;
	if (code != OB_OK)
		(void)json_object_set_new(o, "code",
		    json_string(ob_err_name(code)));
	if (detail != NULL && *detail != '\0')
		(void)json_object_set_new(o, "detail", json_string(detail));
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL) {
		fprintf(stderr, "%s\n", s);
		free(s);
	}
	json_decref(o);
}

/* ---- answers ---- */

static int
http_status_for(int code)
{
	switch (code) {
	case OB_ERR_PROXY_PEER_DENIED:
	case OB_ERR_PROXY_DENIED:
	case OB_ERR_PROXY_RENEW:
		return 403;
	case OB_ERR_PROXY_PEER_UNKNOWN:
		return 401;
	case OB_ERR_PROXY_NO_CREDENTIAL:
		return 404;
	case OB_ERR_PROXY_EXPIRED:
		return 410;
	case OB_ERR_PROXY_BUSY:
	case OB_ERR_PROXY_UPSTREAM_DOWN:
		return 503;
	case OB_ERR_PROXY_DEADLINE:
		return 504;
	case OB_ERR_PROXY_TLS:
	case OB_ERR_PROXY_UPSTREAM_RESPONSE:
	case OB_ERR_PROXY_UPSTREAM_REFUSED:
		return 502;
	case OB_ERR_ALLOC:
	case OB_ERR_INTERNAL:
		return 500;
	default:
		return 400;
	}
}

/*
 * A problem for the agent.  The agent is local and identified by the
 * kernel, so it gets the proxy's own code, sentence and next step, and
 * the upstream's public code and request id; the detail stays in the log
 * when it may name other agents' configuration.
 */
static void
job_problem(struct job *j, int code, const struct ob_proxy_result *res)
{
	json_t	*o;

	j->status = http_status_for(code);
	o = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", "about:blank",
	    "title", ob_err_text(code), "status", j->status, "code",
	    ob_err_name(code), "hint", ob_err_hint(code));
	if (o != NULL && res != NULL && res->code[0] != '\0')
		(void)json_object_set_new(o, "upstream_code",
		    json_string(res->code));
	if (o != NULL && res != NULL && res->request_id[0] != '\0')
		(void)json_object_set_new(o, "upstream_request_id",
		    json_string(res->request_id));
	if (o != NULL && code != OB_ERR_PROXY_PEER_DENIED)
		(void)json_object_set_new(o, "detail",
		    json_string(ob_err_detail()));
	j->reply = o;
}

/*
 * When the agent should renew (docs/proxy.md, "Renewal"): at two thirds
 * of the credential's life, if that is inside the approval window.
 */
static long long
renew_at(long long now, long long expires_at, long long renew_until)
{
	long long at = now + (expires_at - now) * 2 / 3;

	return renew_until != 0 && at < renew_until ? at : 0;
}

static void
job_credential(struct job *j, int status, json_t *answer, int cached,
    int why, const struct ob_proxy_cred *cr)
{
	json_t	*o = json_deep_copy(answer);

	if (o == NULL) {
		job_problem(j, OB_ERR_ALLOC, NULL);
		return;
	}
	(void)json_object_set_new(o, "cached", json_boolean(cached));
	/* The agent makes and signs the renewal; these say when and what. */
	if (cr != NULL && cr->renew_at != 0 && cr->renew_until != 0) {
		(void)json_object_set_new(o, "renew_at",
		    json_integer(cr->renew_at));
		(void)json_object_set_new(o, "renew_until",
		    json_integer(cr->renew_until));
		(void)json_object_set_new(o, "approval",
		    json_string(cr->approval));
	}
	if (why != OB_OK)
		(void)json_object_set_new(o, "upstream_error",
		    json_string(ob_err_name(why)));
	j->status = status;
	j->reply = o;
}

/* ---- the work, on the job's thread ---- */

static void
work_envelope(struct job *j, const struct ob_proxy_peer *peer)
{
	struct proxy			*px = j->px;
	const struct ob_proxy_agent	*a = NULL;
	const struct ob_proxy_upstream	*u;
	struct ob_envelope		*env = NULL;
	struct ob_proxy_result		 res;
	struct ob_proxy_cred		 cred, old;
	long long			 now = time(NULL);
	int				 r;

	memset(&res, 0, sizeof(res));
	memset(&old, 0, sizeof(old));
	if ((r = ob_envelope_parse(j->body, j->len, 0, &env)) != OB_OK) {
		r = ob_err_prefix(OB_ERR_PROXY_BAD_REQUEST, "the envelope");
		goto fail;
	}
	if ((r = ob_proxy_peer_match(j->cr->cfg, peer, env->claims.sub, &a)) !=
	    OB_OK)
		goto fail;
	if ((r = j->kind == JOB_RENEW ?
	    ob_proxy_route_renewal(px->cache, a, env, now) :
	    ob_proxy_route_check(a, env)) != OB_OK)
		goto fail;
	u = a->route == OB_ROUTE_OWNER_MEDIATED && j->kind != JOB_RENEW ?
	    &j->cr->cfg->gateway : &j->cr->cfg->server;
	r = ob_proxy_obtain(j->cr->cfg, u, j->body, j->len, &res);
	if (r == OB_OK) {
		memset(&cred, 0, sizeof(cred));
		cred.answer = res.answer;
		cred.expires_at = res.expires_at;
		if (j->kind == JOB_RENEW &&
		    ob_proxy_cache_get(px->cache, a->name, env->claims.sub,
		    env->claims.jkt, LLONG_MIN, &old) == OB_OK) {
			/* A renewal keeps the approval it renewed. */
			cred.renew_until = old.renew_until;
			memcpy(cred.approval, old.approval,
			    sizeof(cred.approval));
		} else {
			cred.renew_until = env->claims.renew_until;
			(void)snprintf(cred.approval, sizeof(cred.approval),
			    "%s", env->claims.jti);
		}
		cred.renew_at = renew_at(now, cred.expires_at,
		    cred.renew_until);
		if (ob_proxy_cache_put(px->cache, a->name, env->claims.sub,
		    env->claims.jkt, &cred) != OB_OK)
			logj("warn", "cache", OB_ERR_ALLOC, "not cached");
		job_credential(j, 201, res.answer, 0, OB_OK, &cred);
		logj("info", "issued", OB_OK, a->name);
		goto out;
	}
	/* The upstream is away: a credential still valid is better than
	 * none, and the agent is told it is a cached one. */
	if ((r == OB_ERR_PROXY_UPSTREAM_DOWN || r == OB_ERR_PROXY_DEADLINE) &&
	    ob_proxy_cache_get(px->cache, a->name, env->claims.sub,
	    env->claims.jkt, now, &old) == OB_OK) {
		logj("warn", "served-cached", r, ob_err_detail());
		job_credential(j, 200, old.answer, 1, r, &old);
		goto out;
	}
fail:
	logj("warn", "refused", r, ob_err_detail());
	job_problem(j, r, &res);
out:
	json_decref(old.answer);
	ob_proxy_result_clear(&res);
	ob_envelope_free(&env);
}

static void
work_cached(struct job *j, const struct ob_proxy_peer *peer)
{
	const struct ob_proxy_agent	*a = NULL;
	struct ob_proxy_cred		 c;
	int				 r;

	memset(&c, 0, sizeof(c));
	if ((r = ob_proxy_peer_match(j->cr->cfg, peer, j->agent_id, &a)) !=
	    OB_OK || (r = ob_proxy_cache_get(j->px->cache, a->name,
	    j->agent_id, NULL, time(NULL), &c)) != OB_OK) {
		if (r == OB_ERR_PROXY_NO_CREDENTIAL)
			(void)ob_errf(r, "none cached for this agent id");
		logj("warn", "refused", r, ob_err_detail());
		job_problem(j, r, NULL);
		return;
	}
	job_credential(j, 200, c.answer, 1, OB_OK, &c);
	json_decref(c.answer);
}

static void reply_cb(evutil_socket_t, short, void *);

static void *
job_run(void *arg)
{
	struct job		*j = arg;
	struct timeval		 now = { 0, 0 };
	int			 r = j->peer_code;

	if (r != OB_OK)
		(void)ob_errf(r, "SO_PEERCRED gave no peer");
	else
		r = ob_proxy_peer_inspect(&j->peer, j->pidfd,
		    j->cr->cfg->any_exe_sha256);
	j->pidfd = -1;
	if (r != OB_OK) {
		logj("warn", "refused", r, ob_err_detail());
		job_problem(j, r, NULL);
	} else if (j->kind == JOB_CACHED)
		work_cached(j, &j->peer);
	else
		work_envelope(j, &j->peer);
	ob_err_clear();
	if (event_base_once(j->px->base, -1, EV_TIMEOUT, reply_cb, j,
	    &now) != 0)
		logj("error", "reply", OB_ERR_INTERNAL, "event_base_once");
	return NULL;
}

/* ---- the loop ---- */

static void
send_json(struct evhttp_request *req, int status, json_t *o)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	const char	*type = status >= 400 ? "application/problem+json" :
			    "application/json";

	if (b == NULL || s == NULL) {
		evhttp_send_error(req, 500, NULL);
		evbuffer_free(b);
		free(s);
		return;
	}
	evbuffer_add(b, s, strlen(s));
	evbuffer_add(b, "\n", 1);
	(void)evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
	free(s);
}

static void
cfgref_release(struct proxy *px, struct cfgref *cr)
{
	if (cr == NULL || --cr->refs > 0 || cr == px->cur)
		return;
	ob_proxy_config_free(&cr->cfg);
	free(cr);
}

static void
job_free(struct job *j)
{
	cfgref_release(j->px, j->cr);
	if (j->pidfd >= 0)
		close(j->pidfd);
	json_decref(j->reply);
	free(j->body);
	free(j->agent_id);
	free(j);
}

static void
reply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job	*j = arg;

	(void)fd;
	(void)what;
	send_json(j->req, j->status, j->reply);
	atomic_fetch_sub(&j->px->inflight, 1);
	job_free(j);
}

static void
refuse_now(struct evhttp_request *req, int code, const char *detail)
{
	struct job	j;

	memset(&j, 0, sizeof(j));
	(void)ob_errf(code, "%s", detail);
	job_problem(&j, code, NULL);
	logj("warn", "refused", code, detail);
	send_json(req, j.status, j.reply);
	json_decref(j.reply);
}

/* The agent id of "agent=ID" (percent-decoded), or NULL. */
static char *
query_agent(const struct evhttp_uri *uri)
{
	struct evkeyvalq	 q;
	const char		*v, *qs = evhttp_uri_get_query(uri);
	char			*s = NULL;

	if (qs == NULL || evhttp_parse_query_str(qs, &q) != 0)
		return NULL;
	if ((v = evhttp_find_header(&q, "agent")) != NULL &&
	    strlen(v) <= MAX_AGENT_ID)
		s = strdup(v);
	evhttp_clear_headers(&q);
	return s;
}

static int
content_type_is(struct evhttp_request *req, const char *want)
{
	const char	*ct = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "Content-Type");
	size_t		 n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct proxy		*px = arg;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct job		*j = NULL;
	pthread_t		 t;
	pthread_attr_t		 attr;

	/* A whole request: its work is not under the deadline. */
	ob_svc_conns_busy(px->conns, req);
	if (path == NULL || conn == NULL) {
		refuse_now(req, OB_ERR_PROXY_BAD_REQUEST, "no path");
		return;
	}
	if (ob_svc_framing_ambiguous(req)) {
		/* Where this request ended is not known: closed after. */
		(void)evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		refuse_now(req, OB_ERR_PROXY_BAD_REQUEST, "two Content-Length "
		    "headers, or one beside Transfer-Encoding");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	j->px = px;
	j->cr = px->cur;
	j->cr->refs++;
	j->req = req;
	j->pidfd = -1;
	/* Now, while the connection is certainly this request's: a worker
	 * reading the fd later could meet a new connection on its number. */
	j->peer_code = ob_proxy_peer_creds(bufferevent_getfd(
	    evhttp_connection_get_bufferevent(conn)), &j->peer, &j->pidfd);
	if (strcmp(path, "/v1/credentials") == 0 && m == EVHTTP_REQ_GET) {
		j->kind = JOB_CACHED;
		if ((j->agent_id = query_agent(uri)) == NULL) {
			refuse_now(req, OB_ERR_PROXY_BAD_REQUEST, "GET "
			    "/v1/credentials needs ?agent=ID");
			goto drop;
		}
	} else if ((strcmp(path, "/v1/credentials") == 0 ||
	    strcmp(path, "/v1/renewals") == 0) && m == EVHTTP_REQ_POST) {
		j->kind = path[4] == 'r' ? JOB_RENEW : JOB_OBTAIN;
		if (!content_type_is(req, "application/jose+json")) {
			refuse_now(req, OB_ERR_PROXY_BAD_REQUEST, "the body "
			    "is an envelope: Content-Type application/jose+json");
			goto drop;
		}
		j->len = evbuffer_get_length(in);
		if ((j->body = malloc(j->len + 1)) == NULL) {
			evhttp_send_error(req, 500, NULL);
			goto drop;
		}
		(void)evbuffer_remove(in, j->body, j->len);
		j->body[j->len] = '\0';
	} else {
		refuse_now(req, OB_ERR_PROXY_BAD_REQUEST, "the Agent API has "
		    "GET and POST /v1/credentials and POST /v1/renewals");
		goto drop;
	}
	if (atomic_fetch_add(&px->inflight, 1) >= j->cr->cfg->max_inflight) {
		atomic_fetch_sub(&px->inflight, 1);
		refuse_now(req, OB_ERR_PROXY_BUSY, "max_inflight reached");
		goto drop;
	}
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
	    pthread_create(&t, &attr, job_run, j) != 0) {
		atomic_fetch_sub(&px->inflight, 1);
		refuse_now(req, OB_ERR_PROXY_BUSY, "no thread");
		goto drop;
	}
	(void)pthread_attr_destroy(&attr);
	return;
drop:
	job_free(j);
}

/* Bind the Agent API's socket: a stale socket file is replaced, any
 * other file is left alone. */
static int
bind_unix(const char *path, unsigned mode, int *out)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ob_errf(OB_ERR_CONFIG_INVALID, "socket %s: longer "
		    "than %zu bytes", path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return ob_errf(OB_ERR_SVC_LISTEN, "%s exists and is "
			    "not a socket", path);
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return ob_errf(OB_ERR_SVC_LISTEN, "socket: %s",
		    strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, (mode_t)mode) != 0 || listen(fd, 128) != 0) {
		int e = errno;

		close(fd);
		return ob_errf(OB_ERR_SVC_LISTEN, "%s: %s", path, strerror(e));
	}
	*out = fd;
	return OB_OK;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	stopping = 1;
	(void)event_base_loopexit(arg, NULL);
}

/* The directory of path into buf, or NULL (no path, or no slash). */
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
 * Landlock, before any thread exists (docs/proxy.md, "The sandbox").
 * Read: the TLS files libcurl loads per connection (both upstreams'
 * CA, certificate, key), the configuration's directory (SIGHUP),
 * OpenSSL's configuration and /etc (name resolution: hosts, resolv.conf,
 * nsswitch.conf).  Write: the socket's directory (its removal at exit).
 * Not when an agents entry names an exe or exe_sha256: a Landlock domain
 * may not read /proc/PID/exe of a process outside it (the kernel's
 * ptrace check), which would deny every such caller.
 */
static int
sandbox_fs(const struct ob_proxy_config *c, char *what, size_t whatsz,
    int *on)
{
	const char	*ro[9], *rw[1];
	char		 b[8][PATH_MAX];
	size_t		 i;
	int		 r;

	for (i = 0; i < c->nagents; i++)
		if (c->agents[i].exe != NULL || c->agents[i].has_exe_sha256) {
			(void)snprintf(what, whatsz, "landlock: not in "
			    "force, the agents entry \"%s\" names the "
			    "caller's executable and Landlock forbids reading "
			    "/proc/PID/exe outside its domain",
			    c->agents[i].name);
			return OB_OK;
		}
	ro[0] = dir_of(c->server.ca, b[0], sizeof(b[0]));
	ro[1] = dir_of(c->server.cert, b[1], sizeof(b[1]));
	ro[2] = dir_of(c->server.key, b[2], sizeof(b[2]));
	ro[3] = dir_of(c->gateway.ca, b[3], sizeof(b[3]));
	ro[4] = dir_of(c->gateway.cert, b[4], sizeof(b[4]));
	ro[5] = dir_of(c->gateway.key, b[5], sizeof(b[5]));
	ro[6] = dir_of(c->path, b[6], sizeof(b[6]));
	ro[7] = "/usr/lib/ssl";
	ro[8] = "/etc";
	rw[0] = dir_of(c->socket, b[7], sizeof(b[7]));
	OB_TRY(ob_sandbox_landlock(ro, 9, rw, 1, what, whatsz));
	*on = strncmp(what, "landlock ABI", 12) == 0;
out:
	return r;
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* OB_OK when the TLS file (NULL: none) can be opened for reading now. */
static int
readable(const char *member, const char *path)
{
	int	fd;

	if (path == NULL)
		return OB_OK;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ob_errf(OB_ERR_PROXY_RELOAD, "%s %s: %s (outside the "
		    "sandbox's directories?)", member, path, strerror(errno));
	close(fd);
	return OB_OK;
}

/*
 * SIGHUP, on the loop's thread: read the file again; a good one replaces
 * the configuration for the requests that start from now on, those in
 * flight finish with theirs.  A bad one changes nothing and says why.
 */
static int
reload(struct proxy *px)
{
	const struct ob_proxy_config	*o = px->cur->cfg;
	struct ob_proxy_config		*n = NULL;
	struct cfgref			*cr = NULL, *old;
	const char			*fixed = NULL;
	size_t				 i;
	int				 r;

	OB_TRY(ob_proxy_config_load(o->path, &n));
	if (strcmp(n->socket, o->socket) != 0)
		fixed = "socket";
	else if (n->socket_mode != o->socket_mode)
		fixed = "socket_mode";
	else if (!same_str(n->user, o->user))
		fixed = "user";
	else if (n->sandbox != o->sandbox)
		fixed = "sandbox";
	else if (n->max_conns != o->max_conns)
		fixed = "max_conns";
	else if (n->timeout_s != o->timeout_s)
		fixed = "timeout_s";
	if (fixed != NULL) {
		r = ob_errf(OB_ERR_PROXY_RELOAD, "\"%s\" changed: it is fixed "
		    "at start", fixed);
		goto out;
	}
	for (i = 0; px->landlock && i < n->nagents; i++)
		if (n->agents[i].exe != NULL || n->agents[i].has_exe_sha256) {
			r = ob_errf(OB_ERR_PROXY_RELOAD, "the agents entry "
			    "\"%s\" names an executable, which Landlock (in "
			    "force since start) cannot read",
			    n->agents[i].name);
			goto out;
		}
	OB_TRY(readable("server.ca", n->server.ca));
	OB_TRY(readable("server.cert", n->server.cert));
	OB_TRY(readable("server.key", n->server.key));
	OB_TRY(readable("gateway.ca", n->gateway.ca));
	OB_TRY(readable("gateway.cert", n->gateway.cert));
	OB_TRY(readable("gateway.key", n->gateway.key));
	if ((cr = calloc(1, sizeof(*cr))) == NULL) {
		r = ob_errf(OB_ERR_ALLOC, "reload");
		goto out;
	}
	cr->cfg = n;
	cr->refs = 1;
	n = NULL;
	old = px->cur;
	px->cur = cr;
	cfgref_release(px, old);
	r = OB_OK;
out:
	ob_proxy_config_free(&n);
	return r;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct proxy	*px = arg;
	char		 m[64];
	int		 r;

	(void)sig;
	(void)what;
	if ((r = reload(px)) != OB_OK)
		logj("error", "reload", r, ob_err_detail());
	else {
		(void)snprintf(m, sizeof(m), "%zu agents entries",
		    px->cur->cfg->nagents);
		logj("info", "reload", OB_OK, m);
	}
	ob_err_clear();
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s --config FILE\n"
	    "       %s --check-config FILE\n"
	    "\n"
	    "The identity proxy: the Agent API on a unix socket, credentials\n"
	    "from the identity server or the owner's gateway (docs/proxy.md).\n",
	    PROG, PROG);
}

static int
run(struct ob_proxy_config **cfgp)
{
	struct ob_proxy_config	*cfg = *cfgp;
	struct proxy		 px;
	struct evhttp		*http = NULL;
	struct evconnlistener	*lev = NULL;
	struct event		*sigterm = NULL, *sigint = NULL, *sighup = NULL;
	int			 fd = -1, bound = 0, r;
	char			 line[4200];

	memset(&px, 0, sizeof(px));
	if ((px.cur = calloc(1, sizeof(*px.cur))) == NULL)
		return ob_errf(OB_ERR_ALLOC, "configuration");
	px.cur->cfg = cfg;
	px.cur->refs = 1;
	if (evthread_use_pthreads() != 0 ||
	    (px.base = event_base_new()) == NULL ||
	    (http = evhttp_new(px.base)) == NULL) {
		r = ob_errf(OB_ERR_ALLOC, "libevent");
		goto out;
	}
	OB_TRY(ob_client_global_init());
	OB_TRY(ob_proxy_cache_new(MAX_CACHE, &px.cache));
	OB_TRY(ob_svc_conns_new(cfg->max_conns, cfg->timeout_s,
	    "OB_ERR_PROXY_BUSY", &px.conns));
	OB_TRY(bind_unix(cfg->socket, cfg->socket_mode, &fd));
	bound = 1;
	if ((lev = evconnlistener_new(px.base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		r = ob_errf(OB_ERR_SVC_LISTEN, "evconnlistener_new");
		goto out;
	}
	fd = -1;	/* the listener closes it */
	if (evhttp_bind_listener(http, lev) == NULL) {
		r = ob_errf(OB_ERR_SVC_LISTEN, "evhttp_bind_listener");
		goto out;
	}
	evhttp_set_max_headers_size(http, MAX_HEADERS);
	evhttp_set_max_body_size(http, OB_MAX_ENVELOPE);
	/* The deadline (service/conns.c) cuts slow clients; evhttp's
	 * inactivity timeout is the backstop above it. */
	evhttp_set_bevcb(http, ob_svc_conns_bevcb, px.conns);
	evhttp_set_timeout(http, (int)(2 * cfg->timeout_s + 1));
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(http, on_request, &px);
	if ((sigterm = evsignal_new(px.base, SIGTERM, on_signal,
	    px.base)) == NULL || event_add(sigterm, NULL) != 0 ||
	    (sigint = evsignal_new(px.base, SIGINT, on_signal,
	    px.base)) == NULL || event_add(sigint, NULL) != 0 ||
	    (sighup = evsignal_new(px.base, SIGHUP, on_hup, &px)) == NULL ||
	    event_add(sighup, NULL) != 0) {
		r = ob_errf(OB_ERR_ALLOC, "signals");
		goto out;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	OB_TRY(ob_process_drop_user(cfg->user));
	(void)snprintf(line, sizeof(line), "unix:%s", cfg->socket);
	logj("info", "listening", OB_OK, line);
	/* Landlock and seccomp before the first thread (every request's
	 * thread and libcurl's resolver inherit both). */
	if (!cfg->sandbox)
		logj("warn", "sandbox", OB_OK, "off (the configuration's "
		    "\"sandbox\": false)");
	else {
		OB_TRY(sandbox_fs(cfg, line, sizeof(line), &px.landlock));
		logj("info", "sandbox", OB_OK, line);
		OB_TRY(ob_sandbox_seccomp_proxy());
		logj("info", "sandbox", OB_OK, "seccomp: the allow-list is "
		    "in force on every thread");
	}
	if (ob_process_notify("READY=1") != OB_OK)
		logj("warn", "notify", OB_ERR_IO, ob_err_detail());
	(void)event_base_dispatch(px.base);
	{
		struct ob_svc_conns_stats st;

		ob_svc_conns_stats(px.conns, &st);
		(void)snprintf(line, sizeof(line), "Agent API connections: "
		    "%llu accepted, %llu refused over max_conns, %llu cut at "
		    "timeout_s", st.accepted, st.refused, st.cut);
		logj("info", "stopping", OB_OK, line);
	}
	(void)evconnlistener_disable(lev);
	if (ob_process_notify("STOPPING=1") != OB_OK)
		logj("warn", "notify", OB_ERR_IO, ob_err_detail());
	/* Jobs still running hold the base: wait for them, bounded. */
	{
		int	i;

		for (i = 0; i < 300 && atomic_load(&px.inflight) != 0; i++) {
			struct timeval tv = { 0, 100000 };

			(void)event_base_loopexit(px.base, &tv);
			(void)event_base_dispatch(px.base);
		}
	}
	r = OB_OK;
out:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (sighup != NULL)
		event_free(sighup);
	if (http != NULL)
		evhttp_free(http);	/* frees the bound listener */
	else if (lev != NULL)
		evconnlistener_free(lev);
	if (fd >= 0)
		close(fd);
	if (bound)	/* ours: a file that was there before is left */
		(void)unlink(px.cur->cfg->socket);
	/* The configuration in use now is the caller's to free. */
	*cfgp = px.cur->cfg;
	free(px.cur);
	if (atomic_load(&px.inflight) == 0) {
		ob_proxy_cache_free(&px.cache);
		ob_svc_conns_free(&px.conns);
		if (px.base != NULL)
			event_base_free(px.base);
	}
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_proxy_config	*cfg = NULL;
	const char		*path = NULL;
	int			 ch, check = 0, r;

	ob_process_harden();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'k': path = optarg; check = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((r = ob_proxy_config_load(path, &cfg)) != OB_OK) {
		fprintf(stderr, "%s: %s: %s\n", PROG, ob_err_name(r),
		    ob_err_detail());
		return 2;	/* a configuration error, as every daemon */
	}
	if (check) {
		printf("%s: ok\n", path);
		ob_proxy_config_free(&cfg);
		return 0;
	}
	if ((r = run(&cfg)) != OB_OK) {
		fprintf(stderr, "%s: %s: %s\n", PROG, ob_err_name(r),
		    ob_err_detail());
		ob_proxy_config_free(&cfg);
		return 1;
	}
	ob_proxy_config_free(&cfg);
	return 0;
}
