/* The private redis-server of tests and benches (redis_fixture.h). */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "tests/redis/redis_fixture.h"

#define START_TRIES	200	/* of 25 ms */

static int
answers(const struct t_redis *r)
{
	struct timeval	 tv = { 1, 0 };
	redisContext	*c;
	redisReply	*rep;
	int		 ok = 0;

	if ((c = redisConnectUnixWithTimeout(r->sock, tv)) == NULL)
		return 0;
	if (c->err == 0 && (rep = redisCommand(c, "PING")) != NULL) {
		/* A password-protected instance answers NOAUTH: it is up. */
		ok = rep->type == REDIS_REPLY_STATUS ||
		    (rep->type == REDIS_REPLY_ERROR &&
		    strncmp(rep->str, "NOAUTH", 6) == 0);
		freeReplyObject(rep);
	}
	redisFree(c);
	return ok;
}

static int
spawn(struct t_redis *r)
{
	const char	*bin = getenv("OB_REDIS_SERVER");
	int		 fd, i, status;

	if (bin == NULL || *bin == '\0')
		bin = "redis-server";
	(void)unlink(r->sock);
	if ((r->pid = fork()) < 0)
		return -1;
	if (r->pid == 0) {
		/*
		 * A test that fails an assertion never reaches its stop:
		 * its Redis goes with it instead of staying behind.
		 */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >=
		    0) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		execlp(bin, bin, r->conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < START_TRIES; i++) {
		if (answers(r))
			return 0;
		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			fprintf(stderr, "redis-server exited (status %d); see "
			    "%s\n", status, r->log);
			r->pid = 0;
			return -1;
		}
		(void)usleep(25 * 1000);
	}
	fprintf(stderr, "redis-server did not answer on %s\n", r->sock);
	t_redis_signal(r, SIGKILL);
	return -1;
}

int
t_redis_start(struct t_redis *r, const char *dir, const char *name,
    int port, const char *extra)
{
	FILE *f;

	memset(r, 0, sizeof(*r));
	r->port = port;
	(void)snprintf(r->conf, sizeof(r->conf), "%s/%s.conf", dir, name);
	(void)snprintf(r->log, sizeof(r->log), "%s/%s.log", dir, name);
	(void)snprintf(r->sock, sizeof(r->sock), "%s/%s.sock", dir, name);
	(void)snprintf(r->uri, sizeof(r->uri), "unix:%s", r->sock);
	if ((f = fopen(r->conf, "w")) == NULL) {
		fprintf(stderr, "%s: %s\n", r->conf, strerror(errno));
		return -1;
	}
	fprintf(f, "port %d\n", port);
	if (port != 0)
		fprintf(f, "bind 127.0.0.1\n");
	fprintf(f, "unixsocket %s\nunixsocketperm 700\n"
	    "save \"\"\nappendonly no\ndaemonize no\ndir %s\n"
	    "dbfilename %s.rdb\nappendfilename %s.aof\n"
	    "appenddirname %s-aof\n%s\n", r->sock, dir, name, name, name,
	    extra != NULL ? extra : "");
	if (fclose(f) != 0)
		return -1;
	return spawn(r);
}

int
t_redis_restart(struct t_redis *r)
{
	if (r->pid != 0)
		t_redis_signal(r, SIGKILL);
	return spawn(r);
}

void
t_redis_signal(struct t_redis *r, int sig)
{
	if (r->pid == 0)
		return;
	(void)kill(r->pid, sig);
	if (sig == SIGKILL || sig == SIGTERM) {
		(void)waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

void
t_redis_stop(struct t_redis *r)
{
	t_redis_signal(r, SIGCONT);
	t_redis_signal(r, SIGTERM);
}

int
t_redis_free_port(void)
{
	struct sockaddr_in	a;
	socklen_t		n = sizeof(a);
	int			s, port = -1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &n) == 0)
		port = ntohs(a.sin_port);
	close(s);
	return port;
}
