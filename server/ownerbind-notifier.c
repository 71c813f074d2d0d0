/*
 * ownerbind-notifier: the server's ping callback sender (server/notify.h,
 * docs/server-mediated.md "The ping callback").  ownerbind-server starts
 * it before any thread and before its sandbox, with one end of a
 * SOCK_SEQPACKET socket pair on descriptor 3 and its configuration's
 * path.  A separate program so that libcurl (and what it loads) is never
 * in the server's address space.  It reads clients[].callback from the
 * configuration, drops to the configured user, restricts itself (Landlock:
 * read /etc and the callbacks' CA directories; seccomp: the TCP-client
 * allow-list), then POSTs each notification with OB_NOTIFY_TRIES tries and
 * a doubling backoff, and answers each with "delivered" or "dropped".
 * The main thread reads the messages into a bounded queue (SOCK_SEQPACKET:
 * a recv is one whole message, a send one whole answer); OB_NOTIFY_WORKERS
 * threads each take the oldest message whose client has fewer than
 * OB_NOTIFY_PER_CLIENT pings in progress, so that a client whose callback
 * hangs holds up at most that many workers, never every other client's
 * pings, however many of its own are waiting (decision 161); and at most
 * OB_NOTIFY_CLIENT_QUEUE of the OB_NOTIFY_QUEUE waiting are one client's,
 * so that a client whose pings pile up cannot fill the queue for the
 * others (decision 163).  It exits when the server closes its end.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/process.h"
#include "common/sandbox.h"
#include "core/err.h"
#include "server/config.h"
#include "server/notify.h"
#include "service/client.h"

#define MSG_MAX		(OB_NOTIFY_TOKEN_MAX + 1024)
#define PAIR_FD		3
#define OB_NOTIFY_WORKERS	4	/* pings in progress at once */
#define OB_NOTIFY_PER_CLIENT	2	/* ... for one client */
#define OB_NOTIFY_QUEUE		256	/* messages waiting for a worker */
#define OB_NOTIFY_CLIENT_QUEUE	64	/* ... of them for one client */

struct worker_arg {
	const struct ob_server_config	*cfg;
	int				 fd;
};

/*
 * The messages waiting, oldest first, and the pings in progress per
 * configured client (busy[i] for cfg->clients[i]).  A message whose client
 * has no callback waits for nothing: its answer is at once.
 */
struct msg {
	struct msg	*next;
	json_t		*m;
	size_t		 client;	/* index, or SIZE_MAX: none */
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct msg	*head, **tail;
	size_t		 n;
	unsigned	*busy;		/* pings in progress, per client */
	unsigned	*waiting;	/* messages queued, per client */
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, &q.head,
    0, NULL, NULL };

/*
 * The workers are started under Landlock (which binds the calling thread
 * and the threads it starts) and before seccomp (whose allow-list has no
 * clone here; TSYNC puts it on every thread), and wait at this gate until
 * both are in force.
 */
static pthread_mutex_t	gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	gate_cv = PTHREAD_COND_INITIALIZER;
static int		gate_open;

static void
gate_wait(void)
{
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
}

/* The index of the message's client among those with a callback. */
static size_t
client_index(const struct ob_server_config *cfg, json_t *m)
{
	const char	*id = json_string_value(json_object_get(m, "client"));
	size_t		 i;

	for (i = 0; id != NULL && i < cfg->nclients; i++)
		if (cfg->clients[i].callback_url != NULL &&
		    strcmp(cfg->clients[i].id, id) == 0)
			return i;
	return SIZE_MAX;
}

/* Sleep ms, or return 1 when the server has gone (the pair is closed). */
static int
pause_or_gone(int fd, int ms)
{
	struct pollfd	 p = { fd, 0, 0 };

	return poll(&p, 1, ms) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

/* The answer to the server for one notification. */
static void
answer(int fd, const char *client, const char *handle, const char *status,
    int ok, int tries, const char *why)
{
	json_t	*b;
	char	*ans;

	if ((b = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s}", "client", client,
	    "handle", handle, "status", status, "ok", ok, "tries", tries,
	    "why", why)) != NULL && (ans = json_dumps(b, JSON_COMPACT)) !=
	    NULL) {
		(void)send(fd, ans, strlen(ans), MSG_NOSIGNAL);
		free(ans);
	}
	json_decref(b);
}

/* One notification: its tries and the answer to the server. */
static int
ping(const struct ob_server_config *cfg, int fd, json_t *m)
{
	const struct ob_server_client	*cl;
	struct ob_client_tls		 tls;
	struct ob_client_reply		 rp;
	const char			*client, *handle, *status, *token;
	char				 why[256] = "", *body = NULL;
	json_t				*b;
	size_t				 ci;
	int				 i, ok = 0, r, gone = 0;

	client = json_string_value(json_object_get(m, "client"));
	handle = json_string_value(json_object_get(m, "handle"));
	status = json_string_value(json_object_get(m, "status"));
	token = json_string_value(json_object_get(m, "token"));
	if (client == NULL || handle == NULL || status == NULL)
		return 0;
	if ((ci = client_index(cfg, m)) == SIZE_MAX) {
		snprintf(why, sizeof(why), "no callback for %.128s", client);
		i = 0;
		goto answer;
	}
	if ((b = json_pack("{s:s, s:s}", "handle", handle, "status",
	    status)) == NULL || (body = json_dumps(b, JSON_COMPACT)) == NULL) {
		json_decref(b);
		snprintf(why, sizeof(why), "out of memory");
		i = 0;
		goto answer;
	}
	json_decref(b);
	cl = &cfg->clients[ci];
	memset(&tls, 0, sizeof(tls));
	tls.ca = cl->callback_ca;
	for (i = 1; i <= OB_NOTIFY_TRIES; i++) {
		r = ob_client_request_bearer(&tls, cl->callback_url, body,
		    strlen(body), token, OB_NOTIFY_TIMEOUT_MS, &rp);
		if (r == OB_OK && rp.status >= 200 && rp.status < 300)
			ok = 1;
		else if (r == OB_OK)
			snprintf(why, sizeof(why), "HTTP %ld", rp.status);
		else
			snprintf(why, sizeof(why), "%s: %s", ob_err_name(r),
			    ob_err_detail());
		ob_client_reply_clear(&rp);
		if (ok || i == OB_NOTIFY_TRIES)
			break;
		if ((gone = pause_or_gone(fd, OB_NOTIFY_BACKOFF_MS <<
		    (i - 1))) != 0)
			break;
	}
answer:
	free(body);
	if (gone)
		return -1;
	answer(fd, client, handle, status, ok, i, why);
	return 0;
}

/* The oldest message a worker may take now, out of the queue; locked. */
static struct msg *
take(void)
{
	struct msg	**pp, *m;

	for (pp = &q.head; (m = *pp) != NULL; pp = &m->next)
		if (m->client == SIZE_MAX ||
		    q.busy[m->client] < OB_NOTIFY_PER_CLIENT) {
			if ((*pp = m->next) == NULL)
				q.tail = pp;
			q.n--;
			if (m->client != SIZE_MAX) {
				q.busy[m->client]++;
				q.waiting[m->client]--;
			}
			return m;
		}
	return NULL;
}

/* One worker: the next message it may take, its ping, until the server
 * has gone. */
static void *
worker(void *arg)
{
	const struct worker_arg	*w = arg;
	struct msg		*m;
	int			 r;

	gate_wait();
	for (;;) {
		pthread_mutex_lock(&q.mu);
		while ((m = take()) == NULL)
			pthread_cond_wait(&q.cv, &q.mu);
		pthread_mutex_unlock(&q.mu);
		r = ping(w->cfg, w->fd, m->m);
		pthread_mutex_lock(&q.mu);
		if (m->client != SIZE_MAX)
			q.busy[m->client]--;
		/* A message of this client may be takeable now. */
		pthread_cond_broadcast(&q.cv);
		pthread_mutex_unlock(&q.mu);
		json_decref(m->m);
		free(m);
		if (r < 0)
			break;
	}
	/* The server has gone (a retry's pause saw the pair closed): the
	 * process ends, not only this thread. */
	_exit(0);
	return NULL;
}

/*
 * The reader: each message into the queue, or answered "dropped" at once
 * when OB_NOTIFY_QUEUE wait already, or OB_NOTIFY_CLIENT_QUEUE of its
 * client's; the process ends when the server closes its end.
 */
static void
reader(const struct worker_arg *w)
{
	struct msg	*m = NULL;
	char		*buf;
	const char	*full;
	ssize_t		 n;
	json_t		*j;
	size_t		 ci;

	if ((buf = malloc(MSG_MAX + 1)) == NULL)
		_exit(1);
	for (;;) {
		if ((n = recv(w->fd, buf, MSG_MAX, 0)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		buf[n] = '\0';
		j = json_loads(buf, 0, NULL);
		OPENSSL_cleanse(buf, (size_t)n);
		if (j == NULL)
			continue;
		ci = client_index(w->cfg, j);
		pthread_mutex_lock(&q.mu);
		full = q.n >= OB_NOTIFY_QUEUE ? "the notifier's queue is full" :
		    ci != SIZE_MAX && q.waiting[ci] >= OB_NOTIFY_CLIENT_QUEUE ?
		    "the client's share of the notifier's queue is full" :
		    (m = calloc(1, sizeof(*m))) == NULL ? "out of memory" :
		    NULL;
		if (full != NULL) {
			pthread_mutex_unlock(&q.mu);
			answer(w->fd, json_string_value(json_object_get(j,
			    "client")), json_string_value(json_object_get(j,
			    "handle")), json_string_value(json_object_get(j,
			    "status")), 0, 0, full);
			json_decref(j);
			continue;
		}
		m->m = j;
		m->client = ci;
		if (ci != SIZE_MAX)
			q.waiting[ci]++;
		*q.tail = m;
		q.tail = &m->next;
		q.n++;
		pthread_cond_broadcast(&q.cv);
		pthread_mutex_unlock(&q.mu);
	}
	_exit(0);
}

/* The notifier: never returns. */
static void
run(const struct ob_server_config *cfg, int fd)
{
	/* The resolver's files, where they exist: not the rest of /etc,
	 * where the daemons' PIN and key files may lie. */
	static const char *const resolver[] = { "/etc/hosts",
	    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf",
	    "/etc/gai.conf", NULL };
	const char	*ro[8 + 64];
	char		 what[256];
	size_t		 i, nro = 0;
	struct worker_arg wa;
	pthread_t	 th;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	if (getppid() == 1)
		_exit(0);
	if (ob_process_drop_user(cfg->user) != OB_OK ||
	    ob_client_global_init() != OB_OK) {
		fprintf(stderr, "ownerbind-server: notifier: %s\n",
		    ob_err_detail());
		_exit(1);
	}
	/* Nothing of the server's but the pair and stderr (the log). */
	(void)close_range((unsigned)fd + 1, ~0U, 0);
	for (i = 0; resolver[i] != NULL; i++)
		if (access(resolver[i], R_OK) == 0)
			ro[nro++] = resolver[i];
	/* Each callback's CA file, and nothing beside it (libcurl reads
	 * it at every transfer). */
	for (i = 0; i < cfg->nclients && nro < 8 + 64; i++)
		if (cfg->clients[i].callback_ca != NULL)
			ro[nro++] = cfg->clients[i].callback_ca;
	if (cfg->sandbox && ob_sandbox_landlock(ro, nro, NULL, 0, what,
	    sizeof(what)) != OB_OK) {
		fprintf(stderr, "ownerbind-server: notifier: sandbox: %s\n",
		    ob_err_detail());
		_exit(1);
	}
	wa.cfg = cfg;
	wa.fd = fd;
	if ((q.busy = calloc(cfg->nclients + 1, sizeof(*q.busy))) == NULL ||
	    (q.waiting = calloc(cfg->nclients + 1, sizeof(*q.waiting))) ==
	    NULL) {
		fprintf(stderr, "ownerbind-server: notifier: out of memory\n");
		_exit(1);
	}
	for (i = 0; i < OB_NOTIFY_WORKERS; i++)
		if (pthread_create(&th, NULL, worker, &wa) != 0 ||
		    pthread_detach(th) != 0) {
			fprintf(stderr, "ownerbind-server: notifier: cannot "
			    "start its workers\n");
			_exit(1);
		}
	if (cfg->sandbox && ob_sandbox_seccomp_tcp_client() != OB_OK) {
		fprintf(stderr, "ownerbind-server: notifier: sandbox: %s\n",
		    ob_err_detail());
		_exit(1);
	}
	pthread_mutex_lock(&gate_mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	reader(&wa);
	_exit(0);
}


int
main(int argc, char **argv)
{
	struct ob_server_config	*cfg = NULL;
	unsigned long		 line = 0;

	ob_process_harden();
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		fprintf(stderr, "usage: ownerbind-notifier --config FILE "
		    "(started by ownerbind-server, the pair on fd 3)\n");
		return 2;
	}
	if (ob_server_config_load(argv[2], &cfg, &line) != OB_OK) {
		fprintf(stderr, "ownerbind-notifier: %s:%lu: %s\n", argv[2],
		    line, ob_err_detail());
		return 1;
	}
	run(cfg, PAIR_FD);
	return 0;
}
