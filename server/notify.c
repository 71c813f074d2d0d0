/*
 * The ping notifier's server side (server/notify.h).  The queue is the
 * socket pair's buffer (SOCK_SEQPACKET, one message a notification): the
 * server's thread sends without blocking and counts a full buffer as a
 * drop; ownerbind-notifier (server/ownerbind-notifier.c) takes the
 * messages with four workers and answers each "delivered" or "dropped"
 * (an answer names its notification: they may come in any order).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "core/err.h"
#include "server/notify.h"
#include "tokens/pin.h"

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

int
ob_notifier_open(const struct ob_server_config *cfg, const char *path,
    struct ob_notifier **out)
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
		/* The pair on descriptor 3; everything else closes on exec. */
		if ((sv[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(sv[1], 3)) < 0)
			_exit(1);
		/* The server's own secret is not the notifier's. */
		ob_pin_env_scrub(cfg->redis.password_source);
		(void)execl(path, path, "--config", cfg->path, (char *)NULL);
		fprintf(stderr, "ownerbind-server: notifier: %s: %s\n", path,
		    strerror(errno));
		_exit(1);
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

/* A member of the notifier's answer as text, or "?": the notifier is
 * the process that talks to the network, so its answers are read as
 * untrusted: a member missing or of another type is never a NULL here. */
static const char *
res_str(json_t *m, const char *k)
{
	const char *v = json_string_value(json_object_get(m, k));

	return v != NULL ? v : "?";
}

/* What became of a notification, from the process. */
static void
read_results(struct ob_notifier *n)
{
	char		 buf[1024], d[512];
	const char	*why;
	ssize_t		 k;
	json_int_t	 tries;
	json_t		*m;

	while ((k = recv(n->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[k] = '\0';
		if ((m = json_loads(buf, 0, NULL)) == NULL)
			continue;
		if (!json_is_object(m)) {
			json_decref(m);
			continue;
		}
		why = json_string_value(json_object_get(m, "why"));
		tries = json_integer_value(json_object_get(m, "tries"));
		snprintf(d, sizeof(d), "%.8s... %.32s to %.128s: %s after %lld "
		    "tr%s%s%.256s", res_str(m, "handle"), res_str(m,
		    "status"), res_str(m, "client"), json_is_true(
		    json_object_get(m, "ok")) ? "delivered" : "dropped",
		    (long long)tries, tries == 1 ? "y" : "ies",
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
