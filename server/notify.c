/*
 * The ping notifier (server/notify.h).  The queue is the socket pair's
 * buffer (SOCK_SEQPACKET, one message a notification): the server's
 * thread sends without blocking and counts a full buffer as a drop; the
 * process takes one message at a time and tries OB_NOTIFY_TRIES times
 * with a doubling backoff, then answers "delivered" or "dropped".
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/process.h"
#include "common/sandbox.h"
#include "core/err.h"
#include "server/notify.h"
#include "service/client.h"

#define MSG_MAX		(OB_NOTIFY_TOKEN_MAX + 1024)
#define TICK_MS		200

struct ob_notifier {
	int			 fd;
	pid_t			 pid;
	pthread_t		 th;
	int			 started;
	volatile int		 stop;
	struct ob_chal_table	*t;
	ob_notify_log_fn	 log;
	void			*arg;
	unsigned long long	 delivered, dropped;	/* __atomic */
};

int
ob_notify_token_ok(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > OB_NOTIFY_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
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

/* The notifier process: never returns. */
static void
child_main(const struct ob_server_config *cfg, int fd)
{
	const char	*ro[1 + 64];
	char		 dirs[64][PATH_MAX], what[256], *buf;
	size_t		 i, nro = 0;
	ssize_t		 n;
	json_t		*m;

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
	if (fd > 3)
		(void)close_range(3, (unsigned)fd - 1, 0);
	(void)close_range((unsigned)fd + 1, ~0U, 0);
	ro[nro++] = "/etc";	/* the resolver's files */
	for (i = 0; i < cfg->nclients && nro < 1 + 64; i++)
		if (cfg->clients[i].callback_ca != NULL) {
			dir_of(cfg->clients[i].callback_ca, dirs[nro - 1],
			    sizeof(dirs[0]));
			ro[nro] = dirs[nro - 1];
			nro++;
		}
	if (cfg->sandbox && (ob_sandbox_landlock(ro, nro, NULL, 0, what,
	    sizeof(what)) != OB_OK || ob_sandbox_seccomp_tcp_client() !=
	    OB_OK)) {
		fprintf(stderr, "ownerbind-server: notifier: sandbox: %s\n",
		    ob_err_detail());
		_exit(1);
	}
	if ((buf = malloc(MSG_MAX + 1)) == NULL)
		_exit(1);
	for (;;) {
		if ((n = recv(fd, buf, MSG_MAX, 0)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		buf[n] = '\0';
		m = json_loads(buf, 0, NULL);
		OPENSSL_cleanse(buf, (size_t)n);
		if (m == NULL)
			continue;
		n = ping(cfg, fd, m);
		json_decref(m);
		if (n < 0)
			break;
	}
	_exit(0);
}

int
ob_notifier_open(const struct ob_server_config *cfg, struct ob_notifier **out)
{
	struct ob_notifier	*n;
	size_t			 i;
	int			 sv[2];

	*out = NULL;
	for (i = 0; i < cfg->nclients; i++)
		if (cfg->clients[i].callback_url != NULL)
			break;
	if (i == cfg->nclients)
		return OB_OK;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return OB_ERR_ALLOC;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		free(n);
		return ob_errf(OB_ERR_IO, "notifier: socketpair: %s",
		    strerror(errno));
	}
	if ((n->pid = fork()) < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		free(n);
		return ob_errf(OB_ERR_IO, "notifier: fork: %s",
		    strerror(errno));
	}
	if (n->pid == 0) {
		(void)close(sv[0]);
		child_main(cfg, sv[1]);
	}
	(void)close(sv[1]);
	n->fd = sv[0];
	*out = n;
	return OB_OK;
}

static void
count(unsigned long long *c)
{
	(void)__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* What became of a notification, from the process. */
static void
read_results(struct ob_notifier *n)
{
	char		 buf[1024], d[512];
	const char	*why;
	ssize_t		 k;
	json_t		*m;

	while ((k = recv(n->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[k] = '\0';
		if ((m = json_loads(buf, 0, NULL)) == NULL)
			continue;
		why = json_string_value(json_object_get(m, "why"));
		snprintf(d, sizeof(d), "%.8s... %s to %.128s: %s after %d "
		    "tr%s%s%.256s", json_string_value(json_object_get(m,
		    "handle")), json_string_value(json_object_get(m,
		    "status")), json_string_value(json_object_get(m,
		    "client")), json_is_true(json_object_get(m, "ok")) ?
		    "delivered" : "dropped", (int)json_integer_value(
		    json_object_get(m, "tries")), json_integer_value(
		    json_object_get(m, "tries")) == 1 ? "y" : "ies",
		    why != NULL && *why != '\0' ? ": " : "", why != NULL ? why :
		    "");
		if (json_is_true(json_object_get(m, "ok"))) {
			count(&n->delivered);
			n->log(n->arg, "info", OB_OK, d);
		} else {
			count(&n->dropped);
			n->log(n->arg, "warn", OB_ERR_NOTIFY_DROPPED, d);
		}
		json_decref(m);
	}
}

static void
send_due(struct ob_notifier *n)
{
	json_t	*a = NULL, *m;
	size_t	 i;
	char	*js, d[256];

	if (ob_chal_notes(n->t, (long long)time(NULL), &a) != OB_OK)
		return;
	json_array_foreach(a, i, m) {
		js = json_dumps(m, JSON_COMPACT);
		/* Never wait: a full queue or a dead notifier is a drop. */
		if (js == NULL || send(n->fd, js, strlen(js), MSG_DONTWAIT |
		    MSG_NOSIGNAL) < 0) {
			count(&n->dropped);
			snprintf(d, sizeof(d), "%.8s... %s to %.128s: dropped "
			    "unsent: %s", json_string_value(json_object_get(m,
			    "handle")), json_string_value(json_object_get(m,
			    "status")), json_string_value(json_object_get(m,
			    "client")), js == NULL ? "out of memory" :
			    strerror(errno));
			n->log(n->arg, "warn", OB_ERR_NOTIFY_DROPPED, d);
		}
		if (js != NULL) {
			OPENSSL_cleanse(js, strlen(js));
			free(js);
		}
	}
	json_decref(a);
}

static void *
run(void *arg)
{
	struct ob_notifier	*n = arg;
	struct pollfd		 p;

	while (!n->stop) {
		p.fd = n->fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, TICK_MS) > 0 && (p.revents & POLLIN) != 0)
			read_results(n);
		send_due(n);
	}
	return NULL;
}

int
ob_notifier_start(struct ob_notifier *n, struct ob_chal_table *t,
    ob_notify_log_fn log, void *arg)
{
	if (n == NULL)
		return OB_OK;
	n->t = t;
	n->log = log;
	n->arg = arg;
	if (pthread_create(&n->th, NULL, run, n) != 0)
		return ob_errf(OB_ERR_ALLOC, "notifier thread");
	n->started = 1;
	return OB_OK;
}

size_t
ob_notifier_metrics(struct ob_notifier *n, char *buf, size_t size)
{
	int k;

	if (n == NULL)
		return 0;
	k = snprintf(buf, size,
	    "# TYPE ob_server_pings_delivered_total counter\n"
	    "ob_server_pings_delivered_total %llu\n"
	    "# TYPE ob_server_pings_dropped_total counter\n"
	    "ob_server_pings_dropped_total %llu\n",
	    __atomic_load_n(&n->delivered, __ATOMIC_RELAXED),
	    __atomic_load_n(&n->dropped, __ATOMIC_RELAXED));
	return k < 0 || (size_t)k >= size ? 0 : (size_t)k;
}

void
ob_notifier_free(struct ob_notifier **np)
{
	struct ob_notifier	*n;
	struct timespec		 ts = { 0, 50 * 1000 * 1000 };
	int			 i;

	if (np == NULL || (n = *np) == NULL)
		return;
	if (n->started) {
		n->stop = 1;
		(void)pthread_join(n->th, NULL);
	}
	/* The process sees the pair close between tries; one in a try is
	 * not waited for long (it dies with us: PR_SET_PDEATHSIG). */
	(void)close(n->fd);
	for (i = 0; i < 20; i++) {
		if (waitpid(n->pid, NULL, WNOHANG) != 0)
			break;
		(void)nanosleep(&ts, NULL);
	}
	free(n);
	*np = NULL;
}
