/*
 * A private redis-server for one test or bench run: its own config file,
 * unix socket and log in a directory the caller made, no persistence
 * (save "", appendonly no) unless extra says otherwise, stopped by its
 * PID, and killed by the kernel when the process that started it dies.
 * A test stand-in: never linked into a product binary.
 */
#ifndef OB_TESTS_REDIS_FIXTURE_H
#define OB_TESTS_REDIS_FIXTURE_H

#include <sys/types.h>

struct t_redis {
	pid_t	pid;		/* 0: not running */
	int	port;		/* TCP port on 127.0.0.1; 0: unix socket only */
	char	conf[512];
	char	log[512];
	char	sock[256];
	char	uri[300];	/* unix:SOCK */
};

/*
 * Write DIR/NAME.conf (extra appended verbatim: ACL users, persistence,
 * replicaof) and start redis-server on it ($OB_REDIS_SERVER, else
 * redis-server from PATH); wait until the socket answers PING (a bounded
 * number of tries).  port: 0 for no TCP listener.  0 on success, -1 with
 * a message on stderr.
 */
int t_redis_start(struct t_redis *r, const char *dir, const char *name,
    int port, const char *extra);

/* Start again with the same configuration (after t_redis_kill). */
int t_redis_restart(struct t_redis *r);

/* Send sig (SIGSTOP, SIGCONT); SIGKILL and SIGTERM also reap the PID. */
void t_redis_signal(struct t_redis *r, int sig);
void t_redis_stop(struct t_redis *r);

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int t_redis_free_port(void);

#endif
