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
 * OB_NOTIFY_WORKERS threads each take the next message, so that a client
 * whose callback hangs holds up one of them, not every other client's
 * pings (SOCK_SEQPACKET: a recv is one whole message, a send one whole
 * answer).  It exits when the server closes its end.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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

struct worker_arg {
	const struct ob_server_config	*cfg;
	int				 fd;
};

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

static const struct ob_server_client *
client_of(const struct ob_server_config *cfg, const char *id)
{
	size_t i;

	for (i = 0; i < cfg->nclients; i++)
		if (cfg->clients[i].callback_url != NULL &&
		    strcmp(cfg->clients[i].id, id) == 0)
			return &cfg->clients[i];
	return NULL;
}

static void
dir_of(const char *path, char *b, size_t n)
{
	char *sl;

	snprintf(b, n, "%s", path);
	if ((sl = strrchr(b, '/')) != NULL && sl != b)
		*sl = '\0';
}

/* Sleep ms, or return 1 when the server has gone (the pair is closed). */
static int
pause_or_gone(int fd, int ms)
{
	struct pollfd	 p = { fd, 0, 0 };

	return poll(&p, 1, ms) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

/* One notification: its tries and the answer to the server. */
static int
ping(const struct ob_server_config *cfg, int fd, json_t *m)
{
	const struct ob_server_client	*cl;
	struct ob_client_tls		 tls;
	struct ob_client_reply		 rp;
	const char			*client, *handle, *status, *token;
	char				 why[256] = "", *body = NULL, *ans;
	json_t				*b;
	int				 i, ok = 0, r, gone = 0;

	client = json_string_value(json_object_get(m, "client"));
	handle = json_string_value(json_object_get(m, "handle"));
	status = json_string_value(json_object_get(m, "status"));
	token = json_string_value(json_object_get(m, "token"));
	if (client == NULL || handle == NULL || status == NULL)
		return 0;
	if ((cl = client_of(cfg, client)) == NULL) {
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
	if ((b = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s}", "client", client,
	    "handle", handle, "status", status, "ok", ok, "tries", i, "why",
	    why)) != NULL && (ans = json_dumps(b, JSON_COMPACT)) != NULL) {
		(void)send(fd, ans, strlen(ans), MSG_NOSIGNAL);
		free(ans);
	}
	json_decref(b);
	return 0;
}

/* One worker: the next message, its ping, until the server has gone. */
static void *
worker(void *arg)
{
	const struct worker_arg	*w = arg;
	char			*buf;
	ssize_t			 n;
	json_t			*m;

	gate_wait();
	if ((buf = malloc(MSG_MAX + 1)) == NULL)
		_exit(1);
	for (;;) {
		if ((n = recv(w->fd, buf, MSG_MAX, 0)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		buf[n] = '\0';
		m = json_loads(buf, 0, NULL);
		OPENSSL_cleanse(buf, (size_t)n);
		if (m == NULL)
			continue;
		n = ping(w->cfg, w->fd, m);
		json_decref(m);
		if (n < 0)
			break;
	}
	/* The server closed its end (or this worker cannot go on): the
	 * process ends, not only this thread. */
	_exit(0);
	return NULL;
}

/* The notifier: never returns. */
static void
run(const struct ob_server_config *cfg, int fd)
{
	const char	*ro[1 + 64];
	char		 dirs[64][PATH_MAX], what[256];
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
	ro[nro++] = "/etc";	/* the resolver's files */
	for (i = 0; i < cfg->nclients && nro < 1 + 64; i++)
		if (cfg->clients[i].callback_ca != NULL) {
			dir_of(cfg->clients[i].callback_ca, dirs[nro - 1],
			    sizeof(dirs[0]));
			ro[nro] = dirs[nro - 1];
			nro++;
		}
	if (cfg->sandbox && ob_sandbox_landlock(ro, nro, NULL, 0, what,
	    sizeof(what)) != OB_OK) {
		fprintf(stderr, "ownerbind-server: notifier: sandbox: %s\n",
		    ob_err_detail());
		_exit(1);
	}
	wa.cfg = cfg;
	wa.fd = fd;
	for (i = 1; i < OB_NOTIFY_WORKERS; i++)
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
	(void)worker(&wa);
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
