/*
 * The daemon's connection to ownerbind-signer and the "signer:" token
 * backend (remote.h, docs/signer-protocol.md section 6).
 *
 * Several requests are in flight on one connection (up to MAX_INFLIGHT):
 * a request takes a waiter slot and an id under the mutex, writes its
 * frame under the connection's write lock, and waits for the reply with
 * its id.  No thread reads for the others on its own: one of the waiters
 * at a time is the reader (conn->reading); it reads what the socket holds,
 * hands every whole reply to the waiter with its id (signalling that
 * waiter's condition variable) and, once its own reply came, passes the
 * reading on to another waiter.  A reply with an id no waiter has, one
 * that does not parse, a timeout or the end of the stream fail the
 * connection: every request in flight on it fails with
 * OB_ERR_SIGNER_UNAVAILABLE, and the supervisor thread restarts the
 * helper after a backoff, greets it outside the mutex and installs the
 * new connection.  A connection is freed (its socket closed) only when
 * the last thread that may touch it lets go (conn->refs), so a failing
 * connection is shut down, never closed under another thread's poll.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "core/alg.h"
#include "core/err.h"
#include "core/jwk.h"
#include "core/pkey.h"
#include "tokens/remote.h"
#include "tokens/remote_int.h"
#include "tokens/token.h"

#define MAX_KEYS	16
#define MAX_INFLIGHT	32	/* requests in flight on one connection */
#define FAILS_DOWN	3	/* restarts in a row that make "down" */
#define IDLE_CHECK_MS	1000	/* how often an idle connection is looked at */
#define RBUF_SIZE	(2 * (OB_SP_MAX_MSG + 4))

/* A key the daemon opened: checked again after every restart. */
struct rkey {
	char		 name[OB_SP_MAX_NAME + 1];
	unsigned char	 spki[OB_SP_MAX_SPKI];
	size_t		 spkilen;
};

/* One connection to a helper. */
struct conn {
	int		 fd;
	int		 refs;		/* under mu: s->conn, and each request */
	int		 dead;		/* under mu: failed, shut down */
	int		 reading;	/* under mu: a waiter reads */
	int		 inflight;	/* under mu */
	pthread_mutex_t	 wmu;		/* one frame written at a time */
	/* Only the reader: bytes read, not yet a whole frame. */
	uint8_t		 rbuf[RBUF_SIZE];
	size_t		 rlen;
};

/* A request waiting for its reply; all under mu. */
struct waiter {
	int		 used, done;
	uint32_t	 id;
	struct conn	*conn;
	pthread_cond_t	 cv;
	uint8_t		*frame;		/* the reply's body, or NULL */
	size_t		 len;
	char		 why[OB_SP_MAX_DETAIL + 64];	/* frame NULL: failed */
};

struct ob_signer {
	char			*program, *config, *socket, *client;
	int			 timeout_ms, backoff_min, backoff_max;
	ob_signer_log_fn	 log;
	void			*log_arg;
	struct ob_launcher	 launcher;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* the supervisor */
	pthread_cond_t		 slot_cv;	/* a waiter slot came free */
	pthread_t		 thread;
	int			 started, stop, nwcv;
	/* under mu */
	enum ob_signer_state	 state;
	struct conn		*conn;		/* NULL unless ready */
	long			 pid;
	uint32_t		 next_id;
	unsigned		 restarts, fails;
	int			 backoff;	/* ms, the next delay */
	long long		 due;		/* ms (monotonic): retry */
	struct rkey		 keys[MAX_KEYS];
	size_t			 nkeys;
	struct waiter		 w[MAX_INFLIGHT];
};

static __thread char	 ctx_for[OB_SP_MAX_FOR + 1];

static long long
mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
slog(const struct ob_signer *s, const char *level, const char *event,
    int code, const char *detail)
{
	if (s->log != NULL)
		s->log(s->log_arg, level, event, code, detail);
}

/* ---- one round trip on a connection ---- */

/*
 * A reply's body parsed as the answer to request id of type: one that
 * does not parse, or an ERROR (after which the helper ends the
 * connection), is OB_ERR_SIGNER_UNAVAILABLE.  rep->status is the
 * caller's to check.
 */
static int
reply_parse(const uint8_t *buf, size_t len, uint8_t type, uint32_t id,
    struct ob_sp_reply *rep)
{
	int	r;

	if ((r = ob_sp_reply_parse(buf, len, OB_SP_VERSION, type, id, rep)) !=
	    OB_OK)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "a reply that does "
		    "not parse: %s: %s", ob_err_name(r), ob_err_detail());
	if (rep->type == OB_SP_ERROR)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the helper refused "
		    "the request: %s: %s", ob_err_name(rep->status),
		    rep->detail);
	return OB_OK;
}

/*
 * Send a frame and read the reply to (type, id) into buf; *rep borrows
 * buf.  Any failure here means the connection is no longer usable:
 * OB_ERR_SIGNER_UNAVAILABLE with what happened.
 */
static int
rtt(int fd, int timeout_ms, const struct ob_wr *w, uint8_t type, uint32_t id,
    uint8_t *buf, struct ob_sp_reply *rep)
{
	size_t	len;
	int	eof = 0, r;

	if ((r = ob_sp_write_all(fd, timeout_ms, ob_wr_ptr(w),
	    ob_wr_len(w))) != OB_OK ||
	    (r = ob_sp_read_frame(fd, timeout_ms, buf, OB_SP_MAX_MSG, &len,
	    &eof)) != OB_OK)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "%s", eof ?
		    "the helper ended the connection" : ob_err_detail());
	return reply_parse(buf, len, type, id, rep);
}

static int
req_pubkey(int fd, int timeout_ms, uint32_t id, const char *key,
    uint8_t *buf, struct ob_sp_reply *rep)
{
	struct ob_wr	w;
	int		r;

	ob_wr_init_heap(&w, 256);
	if ((r = ob_sp_put_pubkey(&w, OB_SP_VERSION, id, key)) == OB_OK)
		r = rtt(fd, timeout_ms, &w, OB_SP_PUBKEY, id, buf, rep);
	ob_wr_free(&w);
	return r;
}

/*
 * A new connection: HELLO, then PUBKEY for every key opened so far, each
 * the same key as before.  Runs without the mutex (on the supervisor or
 * in open); keys are read under it.
 */
static int
greet(struct ob_signer *s, int fd)
{
	struct ob_sp_reply	 rep;
	struct ob_wr		 w;
	struct rkey		 keys[MAX_KEYS];
	uint8_t			*buf = NULL;
	size_t			 i, n;
	int			 r;

	if ((buf = malloc(OB_SP_MAX_MSG)) == NULL)
		return OB_ERR_ALLOC;
	ob_wr_init_heap(&w, 256);
	OB_TRY(ob_sp_put_hello(&w, 1, OB_SP_VERSION, OB_SP_VERSION,
	    s->client));
	if ((r = rtt(fd, s->timeout_ms, &w, OB_SP_HELLO, 1, buf, &rep)) !=
	    OB_OK) {
		r = ob_err_prefix(r, "HELLO (the helper's errors are on "
		    "stderr)");
		goto out;
	}
	if (rep.status != OB_OK || rep.chosen != OB_SP_VERSION) {
		r = ob_errf(rep.status != OB_OK ? rep.status :
		    OB_ERR_SIGNER_VERSION, "HELLO: %s", rep.detail);
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	n = s->nkeys;
	memcpy(keys, s->keys, n * sizeof(keys[0]));
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < n; i++) {
		OB_TRY(req_pubkey(fd, s->timeout_ms, (uint32_t)(2 + i),
		    keys[i].name, buf, &rep));
		if (rep.status != OB_OK || rep.spkilen != keys[i].spkilen ||
		    memcmp(rep.spki, keys[i].spki, rep.spkilen) != 0) {
			r = ob_errf(OB_ERR_KEY_MISMATCH, "key %s: the helper "
			    "no longer holds the key the daemon opened",
			    keys[i].name);
			goto out;
		}
	}
	r = OB_OK;
out:
	ob_wr_free(&w);
	free(buf);
	return r;
}

/* A running helper's socket: the peer must be root or this user. */
static int
connect_socket(const char *path, int *out, long *pid)
{
	struct sockaddr_un	sa;
	struct ucred		cr;
	socklen_t		len = sizeof(cr);
	int			fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return ob_errf(OB_ERR_SIGNER_CONFIG, "%s: too long for a "
		    "socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "socket: %s",
		    strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "%s: %s", path,
		    strerror(errno));
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    (cr.uid != 0 && cr.uid != geteuid())) {
		close(fd);
		return ob_errf(OB_ERR_SIGNER_PEER, "%s is served by uid %ld, "
		    "neither root nor this user", path, (long)cr.uid);
	}
	*out = fd;
	*pid = (long)cr.pid;
	return OB_OK;
}

/* A new helper (or connection), greeted: *fd and *pid on OB_OK. */
static int
attach(struct ob_signer *s, int *fdp, long *pidp)
{
	long	pid = 0;
	int	fd = -1, r;

	if (s->socket != NULL)
		r = connect_socket(s->socket, &fd, &pid);
	else
		r = ob_launcher_spawn(&s->launcher, s->timeout_ms, &fd, &pid);
	if (r != OB_OK)
		return r;
	if ((r = greet(s, fd)) != OB_OK) {
		close(fd);
		return r;
	}
	*fdp = fd;
	*pidp = pid;
	return OB_OK;
}

/* ---- connections ---- */

static int
conn_new(int fd, struct conn **out)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return OB_ERR_ALLOC;
	if (pthread_mutex_init(&c->wmu, NULL) != 0) {
		free(c);
		return OB_ERR_ALLOC;
	}
	c->fd = fd;
	c->refs = 1;
	*out = c;
	return OB_OK;
}

/* Under mu: one reference less; the last one closes the socket. */
static void
conn_put(struct conn *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	close(c->fd);
	(void)pthread_mutex_destroy(&c->wmu);
	free(c);
}

/* ---- state ---- */

/*
 * Under mu: the connection c failed.  It is shut down (a reader in poll
 * wakes up), every request in flight on it fails, and if it was the live
 * one the supervisor takes over.
 */
static void
fail_conn_locked(struct ob_signer *s, struct conn *c, const char *why)
{
	char	d[OB_SP_MAX_DETAIL + 64];
	size_t	i;

	if (c == NULL || c->dead)
		return;
	c->dead = 1;
	(void)shutdown(c->fd, SHUT_RDWR);
	for (i = 0; i < MAX_INFLIGHT; i++) {
		if (!s->w[i].used || s->w[i].conn != c || s->w[i].done)
			continue;
		s->w[i].done = 1;
		snprintf(s->w[i].why, sizeof(s->w[i].why), "%s", why);
		pthread_cond_signal(&s->w[i].cv);
	}
	if (s->conn == c) {
		s->conn = NULL;
		conn_put(c);
	}
	if (s->state == OB_SIGNER_READY) {
		s->state = OB_SIGNER_RESTARTING;
		s->backoff = s->backoff_min;
		s->due = mono_ms() + s->backoff;
		snprintf(d, sizeof(d), "helper pid %ld: %s", s->pid, why);
		slog(s, "error", "signer", OB_ERR_SIGNER_UNAVAILABLE, d);
	}
	pthread_cond_broadcast(&s->cv);
}

/* Under mu (the one cv waits with): wait on cv until deadline (ms). */
static void
wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, long long deadline)
{
	struct timespec ts;

	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	(void)pthread_cond_timedwait(cv, mu, &ts);
}

static void
wait_ms(struct ob_signer *s, long long ms)
{
	wait_until(&s->cv, &s->mu, mono_ms() + ms);
}

/*
 * Under mu, with no request in flight: a helper never speaks unasked,
 * so an idle connection that is readable or hung up means it is gone.
 * Looking every second lets /healthz say so, and the restart begin,
 * before a request runs into it.
 */
static void
idle_check(struct ob_signer *s)
{
	struct pollfd pfd;

	if (s->state != OB_SIGNER_READY || s->conn == NULL ||
	    s->conn->inflight > 0)
		return;
	pfd.fd = s->conn->fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) > 0)
		fail_conn_locked(s, s->conn, "the helper ended the connection "
		    "while idle");
}

static void *
supervise(void *v)
{
	struct ob_signer	*s = v;
	struct conn		*cn;
	long long		 left;
	long			 pid;
	char			 d[OB_SP_MAX_DETAIL + 64];
	int			 fd, r;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		if (s->state == OB_SIGNER_READY) {
			wait_ms(s, IDLE_CHECK_MS);
			idle_check(s);
			continue;
		}
		if ((left = s->due - mono_ms()) > 0) {
			wait_ms(s, left);
			continue;
		}
		pthread_mutex_unlock(&s->mu);
		cn = NULL;
		if ((r = attach(s, &fd, &pid)) == OB_OK &&
		    (r = conn_new(fd, &cn)) != OB_OK)
			close(fd);
		if (r != OB_OK)
			snprintf(d, sizeof(d), "restart failed: %s",
			    ob_err_detail());
		pthread_mutex_lock(&s->mu);
		if (r == OB_OK && s->stop) {
			conn_put(cn);
			break;
		}
		if (r == OB_OK) {
			s->conn = cn;
			s->pid = pid;
			s->state = OB_SIGNER_READY;
			s->fails = 0;
			s->restarts++;
			snprintf(d, sizeof(d), "ready, helper pid %ld, restart "
			    "%u", pid, s->restarts);
			slog(s, "info", "signer", OB_OK, d);
			continue;
		}
		slog(s, "error", "signer", r, d);
		if (++s->fails >= FAILS_DOWN)
			s->state = OB_SIGNER_DOWN;
		s->backoff = s->backoff * 2 > s->backoff_max ? s->backoff_max :
		    s->backoff * 2;
		s->due = mono_ms() + s->backoff;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- the API ---- */

static int
dupstr(const char *in, char **out)
{
	*out = NULL;
	if (in != NULL && (*out = strdup(in)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

int
ob_signer_open(const struct ob_signer_cfg *cfg, struct ob_signer **out)
{
	struct ob_signer	*s;
	pthread_condattr_t	 ca;
	long			 pid = 0;
	int			 fd = -1, r;

	if ((cfg->program == NULL) == (cfg->socket == NULL) ||
	    (cfg->program != NULL && cfg->config == NULL))
		return ob_errf(OB_ERR_SIGNER_CONFIG, "the helper needs a "
		    "program and its configuration, or a socket");
	if (cfg->program != NULL && access(cfg->program, X_OK) != 0)
		return ob_errf(OB_ERR_SIGNER_CONFIG, "%s: %s", cfg->program,
		    strerror(errno));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OB_ERR_ALLOC;
	s->launcher.ctl = -1;
	s->state = OB_SIGNER_RESTARTING;
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	s->backoff_min = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : 100;
	s->backoff_max = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 10000;
	if (s->backoff_max < s->backoff_min)
		s->backoff_max = s->backoff_min;
	s->backoff = s->backoff_min;
	s->log = cfg->log;
	s->log_arg = cfg->log_arg;
	if (pthread_condattr_init(&ca) != 0)
		goto nomem;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->cv, &ca) != 0) {
		(void)pthread_condattr_destroy(&ca);
		goto nomem;
	}
	if (pthread_cond_init(&s->slot_cv, &ca) != 0) {
		(void)pthread_condattr_destroy(&ca);
		(void)pthread_cond_destroy(&s->cv);
		goto nomem;
	}
	/* ob_signer_free destroys the nwcv made so far. */
	while (s->nwcv < MAX_INFLIGHT && pthread_cond_init(&s->w[s->nwcv].cv,
	    &ca) == 0)
		s->nwcv++;
	(void)pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		while (s->nwcv > 0)
			(void)pthread_cond_destroy(&s->w[--s->nwcv].cv);
		(void)pthread_cond_destroy(&s->slot_cv);
		(void)pthread_cond_destroy(&s->cv);
		goto nomem;
	}
	if (s->nwcv < MAX_INFLIGHT) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(dupstr(cfg->program, &s->program));
	OB_TRY(dupstr(cfg->config, &s->config));
	OB_TRY(dupstr(cfg->socket, &s->socket));
	OB_TRY(dupstr(cfg->client != NULL ? cfg->client : "ownerbind",
	    &s->client));
	if (s->program != NULL)
		OB_TRY(ob_launcher_start(s->program, s->config,
		    &s->launcher));
	OB_TRY(attach(s, &fd, &pid));
	if ((r = conn_new(fd, &s->conn)) != OB_OK) {
		close(fd);
		goto out;
	}
	s->pid = pid;
	s->state = OB_SIGNER_READY;
	*out = s;
	s = NULL;
	r = OB_OK;
out:
	ob_signer_free(&s);
	return r;
nomem:
	free(s);
	return OB_ERR_ALLOC;
}

int
ob_signer_start(struct ob_signer *s)
{
	if (s->started)
		return OB_OK;
	if (pthread_create(&s->thread, NULL, supervise, s) != 0)
		return ob_errf(OB_ERR_INTERNAL, "pthread_create");
	s->started = 1;
	return OB_OK;
}

void
ob_signer_free(struct ob_signer **sp)
{
	struct ob_signer *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->started)
		(void)pthread_join(s->thread, NULL);
	/* No request is in flight: the connection is s's alone. */
	conn_put(s->conn);
	s->conn = NULL;
	ob_launcher_stop(&s->launcher);
	(void)pthread_mutex_destroy(&s->mu);
	(void)pthread_cond_destroy(&s->cv);
	(void)pthread_cond_destroy(&s->slot_cv);
	while (s->nwcv > 0)
		(void)pthread_cond_destroy(&s->w[--s->nwcv].cv);
	free(s->program);
	free(s->config);
	free(s->socket);
	free(s->client);
	free(s);
	*sp = NULL;
}

enum ob_signer_state
ob_signer_state(struct ob_signer *s, long *pid, unsigned *restarts)
{
	enum ob_signer_state st;

	pthread_mutex_lock(&s->mu);
	st = s->state;
	if (pid != NULL)
		*pid = s->state == OB_SIGNER_READY ? s->pid : 0;
	if (restarts != NULL)
		*restarts = s->restarts;
	pthread_mutex_unlock(&s->mu);
	return st;
}

const char *
ob_signer_state_name(enum ob_signer_state st)
{
	switch (st) {
	case OB_SIGNER_READY:		return "ready";
	case OB_SIGNER_RESTARTING:	return "restarting";
	default:			return "down";
	}
}

int
ob_signer_retry_after(struct ob_signer *s)
{
	long long left;

	pthread_mutex_lock(&s->mu);
	left = s->state == OB_SIGNER_READY ? 0 : s->due - mono_ms();
	pthread_mutex_unlock(&s->mu);
	return left <= 1000 ? 1 : (int)((left + 999) / 1000);
}

/* What one request asks and, once answered, what it got. */
struct call {
	uint8_t		 type;
	const char	*key;
	enum ob_sp_purpose purpose;
	const char	*for_whom;
	const uint8_t	*in;
	size_t		 len;
	/* results */
	struct ob_signer_key *keyinfo;
	unsigned char	*sig;
	size_t		 siglen;
};

static int
take(const struct ob_sp_reply *rep, struct call *c)
{
	if (c->type == OB_SP_PUBKEY) {
		memcpy(c->keyinfo->alg, rep->alg, sizeof(rep->alg));
		memcpy(c->keyinfo->kind, rep->kind, sizeof(rep->kind));
		memcpy(c->keyinfo->kid, rep->kid, sizeof(rep->kid));
		c->keyinfo->purposes = rep->purposes;
		memcpy(c->keyinfo->spki, rep->spki, rep->spkilen);
		c->keyinfo->spkilen = rep->spkilen;
		return OB_OK;
	}
	if ((c->sig = malloc(rep->siglen)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(c->sig, rep->sig, rep->siglen);
	c->siglen = rep->siglen;
	return OB_OK;
}

/*
 * The reader (no mutex: conn->reading is set): what the socket holds,
 * waiting for it until the deadline.  End of stream and errors fail.
 */
static int
conn_read(struct conn *c, long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	ssize_t		k;
	int		n;

	for (;;) {
		if ((left = deadline - mono_ms()) <= 0)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "no answer "
			    "in time");
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (n < 0 && errno != EINTR)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "poll: %s",
			    strerror(errno));
		if (n <= 0)
			continue;
		k = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "read: %s",
			    strerror(errno));
		if (k == 0)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the helper "
			    "ended the connection");
		c->rlen += (size_t)k;
		return OB_OK;
	}
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Under mu, by the reader: hand every whole frame in rbuf to the waiter
 * whose id it carries.  A frame no waiter on c waits for fails c (fail
 * closed: the stream is not what was asked).  The frame is parsed in
 * full by its waiter.
 */
static void
dispatch_locked(struct ob_signer *s, struct conn *c)
{
	char		 d[96];
	uint8_t		*f;
	uint32_t	 n, id;
	size_t		 off = 0, i;

	while (!c->dead && c->rlen - off >= 4) {
		n = be32(c->rbuf + off);
		if (n < 6 || n > OB_SP_MAX_MSG) {
			snprintf(d, sizeof(d), "a reply frame of %u bytes", n);
			fail_conn_locked(s, c, d);
			return;
		}
		if (c->rlen - off - 4 < n)
			break;
		id = be32(c->rbuf + off + 4 + 2);
		for (i = 0; i < MAX_INFLIGHT; i++)
			if (s->w[i].used && s->w[i].conn == c &&
			    !s->w[i].done && s->w[i].id == id)
				break;
		if (i == MAX_INFLIGHT) {
			snprintf(d, sizeof(d), "a reply with id %u, which no "
			    "request in flight has", id);
			fail_conn_locked(s, c, d);
			return;
		}
		if ((f = malloc(n)) == NULL) {
			fail_conn_locked(s, c, "out of memory for a reply");
			return;
		}
		memcpy(f, c->rbuf + off + 4, n);
		s->w[i].frame = f;
		s->w[i].len = n;
		s->w[i].done = 1;
		pthread_cond_signal(&s->w[i].cv);
		off += 4 + (size_t)n;
	}
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

/*
 * Under mu: until wt is answered or its connection fails, read for all
 * (when no one else does) or sleep on wt's cv.  Then pass the reading on
 * to a waiter still waiting on the connection.
 */
static void
wait_reply(struct ob_signer *s, struct waiter *wt, long long deadline)
{
	struct conn	*c = wt->conn;
	size_t		 i;
	int		 r;

	while (!wt->done) {
		if (!c->reading && !c->dead) {
			c->reading = 1;
			pthread_mutex_unlock(&s->mu);
			r = conn_read(c, deadline);
			pthread_mutex_lock(&s->mu);
			if (r != OB_OK)
				fail_conn_locked(s, c, ob_err_detail());
			else
				dispatch_locked(s, c);
			c->reading = 0;
			continue;
		}
		if (mono_ms() >= deadline) {
			fail_conn_locked(s, c, "no answer in time");
			continue;
		}
		wait_until(&wt->cv, &s->mu, deadline);
	}
	if (c->dead)
		return;
	for (i = 0; i < MAX_INFLIGHT; i++)
		if (s->w[i].used && s->w[i].conn == c && !s->w[i].done) {
			pthread_cond_signal(&s->w[i].cv);
			break;
		}
}

/*
 * Under mu, once wt is answered or failed: its reply checked as the
 * answer to a request of type.  No reply says why; one that does not
 * parse or is an ERROR fails cn too; a refusal is the helper's code.
 * OB_OK leaves a good reply in *rep, pointing into wt->frame.
 */
static int
reply_check_locked(struct ob_signer *s, struct conn *cn, struct waiter *wt,
    uint8_t type, struct ob_sp_reply *rep)
{
	int	r;

	if (wt->frame == NULL)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "%s", wt->why);
	if ((r = reply_parse(wt->frame, wt->len, type, wt->id, rep)) !=
	    OB_OK) {
		fail_conn_locked(s, cn, ob_err_detail());
		return r;
	}
	if (rep->status != OB_OK)
		return ob_errf(rep->status, "ownerbind-signer: %s",
		    rep->detail);
	return OB_OK;
}

/*
 * One request on the live connection: a waiter slot and an id, the frame
 * written under the connection's write lock, the reply waited for.
 */
static int
call(struct ob_signer *s, struct call *c)
{
	struct ob_sp_reply	 rep;
	struct ob_wr		 w;
	struct waiter		*wt;
	struct conn		*cn;
	long long		 deadline = mono_ms() + s->timeout_ms, left;
	uint32_t		 id;
	size_t			 i;
	int			 r;

	ob_wr_init_heap(&w, OB_SP_MAX_MSG + 4);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->state != OB_SIGNER_READY || s->conn == NULL) {
			r = ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the helper is "
			    "%s", ob_signer_state_name(s->state));
			pthread_mutex_unlock(&s->mu);
			goto out;
		}
		for (i = 0; i < MAX_INFLIGHT && s->w[i].used; i++)
			;
		if (i < MAX_INFLIGHT)
			break;
		if (mono_ms() >= deadline) {
			r = ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "%d requests in "
			    "flight, none answered in time", MAX_INFLIGHT);
			pthread_mutex_unlock(&s->mu);
			goto out;
		}
		wait_until(&s->slot_cv, &s->mu, deadline);
	}
	wt = &s->w[i];
	cn = s->conn;
	/* 1 is HELLO's and the key checks' ids follow it: stay above. */
	id = 100 + s->next_id++ % 0x7fffff00u;
	wt->used = 1;
	wt->done = 0;
	wt->id = id;
	wt->conn = cn;
	wt->frame = NULL;
	cn->refs++;
	cn->inflight++;
	pthread_mutex_unlock(&s->mu);

	if (c->type == OB_SP_PUBKEY)
		r = ob_sp_put_pubkey(&w, OB_SP_VERSION, id, c->key);
	else
		r = ob_sp_put_sign(&w, OB_SP_VERSION, id, c->key, c->purpose,
		    c->for_whom, c->in, c->len);
	if (r == OB_OK) {
		pthread_mutex_lock(&cn->wmu);
		/* Not below 0, which would mean no deadline at all. */
		left = deadline - mono_ms();
		r = ob_sp_write_all(cn->fd, left > 0 ? (int)left : 0,
		    ob_wr_ptr(&w), ob_wr_len(&w));
		pthread_mutex_unlock(&cn->wmu);
		pthread_mutex_lock(&s->mu);
		if (r != OB_OK)
			fail_conn_locked(s, cn, ob_err_detail());
		else
			wait_reply(s, wt, deadline);
		if ((r = reply_check_locked(s, cn, wt, c->type, &rep)) ==
		    OB_OK)
			r = take(&rep, c);
	} else
		pthread_mutex_lock(&s->mu);
	free(wt->frame);
	wt->frame = NULL;
	wt->used = 0;
	wt->conn = NULL;
	cn->inflight--;
	conn_put(cn);
	pthread_cond_signal(&s->slot_cv);
	pthread_mutex_unlock(&s->mu);
out:
	ob_wr_free(&w);
	return r;
}

int
ob_signer_pubkey(struct ob_signer *s, const char *key,
    struct ob_signer_key *out)
{
	struct ob_signer_key	*k;
	struct call		 c;
	size_t			 i;
	int			 r;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return OB_ERR_ALLOC;
	memset(&c, 0, sizeof(c));
	c.type = OB_SP_PUBKEY;
	c.key = key;
	c.keyinfo = k;
	OB_TRY(call(s, &c));
	/* Remember it, to check the helper's key after a restart. */
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nkeys && strcmp(s->keys[i].name, key) != 0; i++)
		;
	if (i == s->nkeys && i < MAX_KEYS) {
		snprintf(s->keys[i].name, sizeof(s->keys[i].name), "%s", key);
		memcpy(s->keys[i].spki, k->spki, k->spkilen);
		s->keys[i].spkilen = k->spkilen;
		s->nkeys++;
	}
	pthread_mutex_unlock(&s->mu);
	*out = *k;
	r = OB_OK;
out:
	free(k);
	return r;
}

int
ob_signer_sign(struct ob_signer *s, const char *key,
    enum ob_sp_purpose purpose, const char *for_whom, const uint8_t *in,
    size_t len, unsigned char **sig, size_t *siglen)
{
	struct call	c;
	int		r;

	memset(&c, 0, sizeof(c));
	c.type = OB_SP_SIGN;
	c.key = key;
	c.purpose = purpose;
	c.for_whom = for_whom;
	c.in = in;
	c.len = len;
	if ((r = call(s, &c)) != OB_OK)
		return r;
	*sig = c.sig;
	*siglen = c.siglen;
	return OB_OK;
}

void
ob_signer_set_context(const char *ctx)
{
	snprintf(ctx_for, sizeof(ctx_for), "%s", ctx != NULL ? ctx : "");
}

/* ---- the token backend: "signer:NAME" ---- */

struct remote_be {
	struct ob_signer	*s;
	char			 name[OB_SP_MAX_NAME + 1];
	EVP_PKEY		*pub;
	enum ob_alg		 alg;
};

static int
remote_open(const char *uri, const struct ob_token_opts *opts, void **bep)
{
	struct ob_signer_key	 k;
	struct remote_be	*be = NULL;
	const unsigned char	*p;
	const char		*name = uri + strlen("signer:");
	char			 kid[44];
	int			 r;

	if (strncmp(uri, "signer:", 7) != 0 || *name == '\0' ||
	    strlen(name) > OB_SP_MAX_NAME)
		return ob_errf(OB_ERR_KEY_URI, "expected signer:NAME");
	if (opts == NULL || opts->signer == NULL)
		return ob_errf(OB_ERR_KEY_SCHEME, "signer: keys are reached "
		    "through the daemon's ownerbind-signer");
	if ((be = calloc(1, sizeof(*be))) == NULL)
		return OB_ERR_ALLOC;
	be->s = opts->signer;
	memcpy(be->name, name, strlen(name) + 1);
	OB_TRY(ob_signer_pubkey(be->s, be->name, &k));
	/* The helper is trusted with the key, not with a parser's input. */
	p = k.spki;
	if ((be->pub = d2i_PUBKEY(NULL, &p, (long)k.spkilen)) == NULL ||
	    p != k.spki + k.spkilen || ob_pkey_check(be->pub) != OB_OK) {
		r = ob_errf(OB_ERR_KEY_TYPE, "signer:%s: the helper's public "
		    "key does not decode", be->name);
		goto out;
	}
	OB_TRY(ob_alg_from_name(k.alg, &be->alg));
	OB_TRY(ob_pkey_thumbprint(be->pub, kid));
	if (strcmp(kid, k.kid) != 0) {
		r = ob_errf(OB_ERR_KEY_MISMATCH, "signer:%s: kid is not the "
		    "key's thumbprint", be->name);
		goto out;
	}
	*bep = be;
	be = NULL;
	r = OB_OK;
out:
	if (be != NULL) {
		EVP_PKEY_free(be->pub);
		free(be);
	}
	return r;
}

static int
remote_pubkey(void *v, EVP_PKEY **out)
{
	struct remote_be *be = v;

	if (EVP_PKEY_up_ref(be->pub) != 1)
		return OB_ERR_CRYPTO;
	*out = be->pub;
	return OB_OK;
}

static int
remote_alg(void *v, enum ob_alg *out)
{
	struct remote_be *be = v;

	*out = be->alg;
	return OB_OK;
}

/* Printable ASCII of s appended to buf, the rest as '?'. */
static void
for_add(char *buf, size_t size, const char *k, const char *s)
{
	size_t off = strlen(buf), i;

	if (s == NULL || off + strlen(k) + 3 >= size)
		return;
	off += (size_t)snprintf(buf + off, size - off, "%s%s=", off != 0 ?
	    " " : "", k);
	for (i = 0; s[i] != '\0' && off + 1 < size; i++)
		buf[off++] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[off] = '\0';
}

static int
remote_sign(void *v, const struct ob_sign_req *req, struct ob_sign_res *res)
{
	struct remote_be	*be = v;
	enum ob_sp_purpose	 p;
	const char		*role = req->what != NULL ? req->what->role :
	    NULL;
	char			 fw[OB_SP_MAX_FOR + 1];

	/* What the signing code says it signs picks the purpose. */
	if (role != NULL && strcmp(role, "wit") == 0)
		p = OB_SP_WIT;
	else if (role != NULL && strcmp(role, "wic") == 0)
		p = OB_SP_WIC_TBS;
	else if (role != NULL && strcmp(role, "gateway") == 0)
		p = OB_SP_GATEWAY_ENTRY;
	else
		return ob_errf(OB_ERR_SIGNER_PURPOSE, "a helper's key signs no "
		    "\"%.32s\"", role != NULL ? role : "(none)");
	snprintf(fw, sizeof(fw), "%s", ctx_for);
	if (req->what != NULL) {
		for_add(fw, sizeof(fw), "sub", req->what->sub);
		for_add(fw, sizeof(fw), "owner", req->what->owner);
	}
	res->header = NULL;
	return ob_signer_sign(be->s, be->name, p, fw,
	    (const uint8_t *)req->tbs, req->tbslen, &res->sig, &res->siglen);
}

static void
remote_close(void *v)
{
	struct remote_be *be = v;

	EVP_PKEY_free(be->pub);
	free(be);
}

const struct ob_token_ops ob_remote_ops = {
	.scheme = "signer",
	.kind = "remote",
	.open = remote_open,
	.keygen = NULL,
	.pubkey = remote_pubkey,
	.alg = remote_alg,
	.sign = remote_sign,
	.enroll_info = NULL,
	.close = remote_close,
	/* The helper verified each signature with this very key. */
	.verified = 1,
};

/*
 * Several SIGNs with one key, every frame written (in one write) before
 * any reply is waited for: n signatures cost one wait instead of n in a
 * row.  The waiting is wait_reply's, for several slots: this thread
 * sleeps on the condition of its lowest-numbered slot not yet answered,
 * which is the one a reader handing on the reading (wait_reply's end,
 * which takes the lowest slot still waiting) would wake.
 */
int
ob_signer_sign_all(struct ob_signer *s, const char *key, const char *sub,
    const char *owner, struct ob_signer_job *jobs, size_t n)
{
	struct ob_sp_reply	 rep;
	struct ob_wr		 w;
	struct waiter		*wt[OB_SIGNER_JOBS_MAX], *low;
	struct conn		*cn;
	char			 fw[OB_SP_MAX_FOR + 1];
	long long		 deadline = mono_ms() + s->timeout_ms, left;
	size_t			 i, k, nfree;
	int			 r = OB_OK, rr;

	if (n == 0 || n > OB_SIGNER_JOBS_MAX)
		return ob_errf(OB_ERR_INVALID_ARG, "%zu signatures at once "
		    "(1..%d)", n, OB_SIGNER_JOBS_MAX);
	for (i = 0; i < n; i++) {
		jobs[i].sig = NULL;
		jobs[i].siglen = 0;
	}
	snprintf(fw, sizeof(fw), "%s", ctx_for);
	for_add(fw, sizeof(fw), "sub", sub);
	for_add(fw, sizeof(fw), "owner", owner);
	ob_wr_init_heap(&w, n * (OB_SP_MAX_MSG + 4));
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->state != OB_SIGNER_READY || s->conn == NULL) {
			r = ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the helper is "
			    "%s", ob_signer_state_name(s->state));
			pthread_mutex_unlock(&s->mu);
			goto out;
		}
		for (i = 0, nfree = 0; i < MAX_INFLIGHT; i++)
			nfree += !s->w[i].used;
		if (nfree >= n)
			break;
		if (mono_ms() >= deadline) {
			r = ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "%d requests in "
			    "flight, none answered in time", MAX_INFLIGHT);
			pthread_mutex_unlock(&s->mu);
			goto out;
		}
		wait_until(&s->slot_cv, &s->mu, deadline);
	}
	cn = s->conn;
	/* Slots in ascending order: wt[k] is below wt[k + 1]. */
	for (i = 0, k = 0; k < n; i++) {
		if (s->w[i].used)
			continue;
		wt[k] = &s->w[i];
		wt[k]->used = 1;
		wt[k]->done = 0;
		wt[k]->id = 100 + s->next_id++ % 0x7fffff00u;
		wt[k]->conn = cn;
		wt[k]->frame = NULL;
		cn->refs++;
		cn->inflight++;
		k++;
	}
	pthread_mutex_unlock(&s->mu);

	for (k = 0; k < n && r == OB_OK; k++)
		r = ob_sp_put_sign(&w, OB_SP_VERSION, wt[k]->id, key,
		    jobs[k].purpose, fw, jobs[k].in, jobs[k].len);
	if (r == OB_OK) {
		pthread_mutex_lock(&cn->wmu);
		left = deadline - mono_ms();
		r = ob_sp_write_all(cn->fd, left > 0 ? (int)left : 0,
		    ob_wr_ptr(&w), ob_wr_len(&w));
		pthread_mutex_unlock(&cn->wmu);
		pthread_mutex_lock(&s->mu);
		/* A failed write fails cn; the waiters say why, as call's. */
		if (r != OB_OK) {
			fail_conn_locked(s, cn, ob_err_detail());
			r = OB_OK;
		}
		for (;;) {
			for (k = 0, low = NULL; k < n && low == NULL; k++)
				if (!wt[k]->done)
					low = wt[k];
			if (low == NULL)
				break;
			if (!cn->reading && !cn->dead) {
				cn->reading = 1;
				pthread_mutex_unlock(&s->mu);
				rr = conn_read(cn, deadline);
				pthread_mutex_lock(&s->mu);
				if (rr != OB_OK)
					fail_conn_locked(s, cn, ob_err_detail());
				else
					dispatch_locked(s, cn);
				cn->reading = 0;
			} else if (mono_ms() >= deadline)
				fail_conn_locked(s, cn, "no answer in time");
			else
				wait_until(&low->cv, &s->mu, deadline);
		}
	} else {
		/* Nothing written: no reply will come, and no reading. */
		pthread_mutex_lock(&s->mu);
		for (k = 0; k < n; k++)
			wt[k]->done = 1;
	}
	/* The reading passes on to a waiter still waiting on cn. */
	for (i = 0; !cn->dead && i < MAX_INFLIGHT; i++)
		if (s->w[i].used && s->w[i].conn == cn && !s->w[i].done) {
			pthread_cond_signal(&s->w[i].cv);
			break;
		}
	/* The replies taken until one fails: all or nothing. */
	for (k = 0; k < n; k++) {
		if (r != OB_OK)
			;
		else if ((r = reply_check_locked(s, cn, wt[k], OB_SP_SIGN,
		    &rep)) != OB_OK)
			;
		else if ((jobs[k].sig = malloc(rep.siglen)) == NULL)
			r = OB_ERR_ALLOC;
		else {
			memcpy(jobs[k].sig, rep.sig, rep.siglen);
			jobs[k].siglen = rep.siglen;
		}
		free(wt[k]->frame);
		wt[k]->frame = NULL;
		wt[k]->used = 0;
		wt[k]->conn = NULL;
		cn->inflight--;
		conn_put(cn);
	}
	pthread_cond_broadcast(&s->slot_cv);
	pthread_mutex_unlock(&s->mu);
	for (k = 0; r != OB_OK && k < n; k++) {
		free(jobs[k].sig);
		jobs[k].sig = NULL;
		jobs[k].siglen = 0;
	}
out:
	ob_wr_free(&w);
	return r;
}
