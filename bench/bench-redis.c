/*
 * bench-redis: acceptances per second of the Redis replay store with two
 * server instances, beside the SQLite store with one, in the same run
 * (issue #18, acceptance 3; docs/benchmarks.md).
 *
 *   bench-redis [-d DIR] [-n ACCEPTS] [-r ROUNDS]
 *
 * Every store first holds 10,000 live jti.  The SQLite store is the one
 * file a single server uses (ob_state_commit: one BEGIN IMMEDIATE and
 * one fsync per acceptance).  The Redis stores are private redis-servers
 * on unix sockets in DIR (tests/redis/redis_fixture.h), two of them:
 * "none" (no persistence, as the tests run it) and "aof-always"
 * (appendonly yes, appendfsync always: every acceptance on disk before
 * its answer, as SQLite's synchronous=FULL).  Two worker processes, each
 * with its own connection like two servers, commit new jti at the same
 * time; one worker alone gives the one-instance rate.  ROUNDS rounds
 * (default 6) alternate the stores, ACCEPTS / ROUNDS acceptances per
 * round and instance (default 6,000 in all), so that other load on the
 * machine hits every store alike.  Rates are in wall-clock time; the
 * two-instance rate is the acceptances of both over the time until both
 * are done.  ratio is the two-instance Redis rate over the SQLite rate
 * (target: >= 0.8).  Never run by the tests.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownerbind/ob_verify.h"
#include "server-verify/redis.h"
#include "server-verify/state.h"
#include "tests/redis/redis_fixture.h"

#define LIVE		10000
#define KEYLEN		(43 + 1 + 22)
#define NOW0		1800000000LL
#define KEEP		(NOW0 + 102000)
#define NREDIS		2
#define NWORKERS	2

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static unsigned long long rnd_state = 0x9e3779b97f4a7c15ULL;

static unsigned long long
rnd(void)
{
	rnd_state ^= rnd_state << 13;	/* xorshift64 */
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A fresh random key "jkt:jti" in k (KEYLEN + 1 bytes), as bench-state. */
static void
mkkey(char *k)
{
	unsigned long long	 v = 0;
	int			 i;

	for (i = 0; i < KEYLEN; i++) {
		if (i % 10 == 0)
			v = rnd();
		k[i] = b64[v & 63];
		v >>= 6;
	}
	k[43] = ':';
	k[KEYLEN] = '\0';
}

static double
wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
die(const char *what, int r)
{
	fprintf(stderr, "bench-redis: %s: %s (%s)\n", what, ob_err_name(r),
	    ob_err_detail());
	exit(1);
}

/* Commit n new jti one by one through the real acceptance path. */
static int
accept_n(struct ob_state *st, int n)
{
	struct ob_replay	 rp;
	char			 k[KEYLEN + 1];
	int			 i, r;

	memset(&rp, 0, sizeof(rp));
	for (i = 0; i < n; i++) {
		mkkey(k);
		rp.jti_key = rp.jti = k;
		rp.keep_until = KEEP;
		if ((r = ob_state_commit(st, &rp, NOW0)) != OB_OK)
			return r;
	}
	return OB_OK;
}

static struct ob_state *
redis_open(const char *uri)
{
	struct ob_redis_cfg	 c;
	struct ob_state		*st = NULL;
	int			 r;

	memset(&c, 0, sizeof(c));
	c.uri = uri;
	if ((r = ob_state_open_redis(&c, &st)) != OB_OK)
		die(uri, r);
	return st;
}

/*
 * A worker: a server instance's connection to each Redis.  It reads
 * (store, n) and answers 0 once it has committed n, or the error code.
 */
struct worker {
	pid_t	pid;
	int	cmd, done;
};

static void
worker_run(int id, char uris[NREDIS][300], int cmd, int done)
{
	struct ob_state	*st[NREDIS];
	int		 req[2], r, i;

	rnd_state ^= 0x5851f42d4c957f2dULL * (unsigned long long)(id + 1);
	for (i = 0; i < NREDIS; i++)
		st[i] = redis_open(uris[i]);
	while (read(cmd, req, sizeof(req)) == (ssize_t)sizeof(req)) {
		r = accept_n(st[req[0]], req[1]);
		if (write(done, &r, sizeof(r)) != (ssize_t)sizeof(r))
			break;
	}
	for (i = 0; i < NREDIS; i++)
		ob_state_free(&st[i]);
	_exit(0);
}

/* n acceptances on store s by the first k workers at once: seconds. */
static double
run_workers(struct worker *w, int k, int s, int n)
{
	double	t0 = wall();
	int	req[2] = { s, n }, i, r;

	for (i = 0; i < k; i++)
		if (write(w[i].cmd, req, sizeof(req)) != (ssize_t)sizeof(req))
			die("worker", OB_ERR_IO);
	for (i = 0; i < k; i++) {
		if (read(w[i].done, &r, sizeof(r)) != (ssize_t)sizeof(r))
			die("worker", OB_ERR_IO);
		if (r != OB_OK)
			die("worker accept", r);
	}
	return wall() - t0;
}

int
main(int argc, char **argv)
{
	static const char *const names[NREDIS] = { "none", "aof-always" };
	static const char *const extra[NREDIS] = { NULL,
	    "appendonly yes\nappendfsync always\n" };
	struct t_redis	 rd[NREDIS];
	struct worker	 w[NWORKERS];
	struct ob_state	*sql = NULL, *st;
	struct ob_replay *rp;
	char		 tmpl[] = "/tmp/bench-redis-XXXXXX", path[512];
	char		 uris[NREDIS][300], (*keys)[KEYLEN + 1], cmd[600];
	const char	*dir = NULL;
	double		 tsql = 0, t1[NREDIS], t2[NREDIS], rsql, r1, r2;
	int		 c, n = 6000, rounds = 6, per, i, j, p[2], q[2], r;

	while ((c = getopt(argc, argv, "d:n:r:")) != -1)
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			n = (int)strtol(optarg, NULL, 10);
			break;
		case 'r':
			rounds = (int)strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: bench-redis [-d DIR] "
			    "[-n ACCEPTS] [-r ROUNDS]\n");
			return 2;
		}
	if (rounds < 1)
		rounds = 1;
	if ((per = n / rounds) < 1)
		per = 1;
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* Fill: 10k live jti in every store, through the real checks. */
	if ((rp = calloc(LIVE, sizeof(*rp))) == NULL ||
	    (keys = calloc(LIVE, sizeof(*keys))) == NULL)
		die("fill", OB_ERR_ALLOC);
	for (i = 0; i < LIVE; i++) {
		mkkey(keys[i]);
		rp[i].jti_key = rp[i].jti = keys[i];
		rp[i].keep_until = KEEP - 1000 + i / 1000;
	}
	(void)snprintf(path, sizeof(path), "%s/bench.db", dir);
	(void)unlink(path);
	if ((r = ob_state_open_sqlite(path, &sql)) != OB_OK ||
	    (r = ob_state_bulk_commit(sql, rp, LIVE, NOW0)) != OB_OK)
		die("sqlite", r);
	for (i = 0; i < NREDIS; i++) {
		if (t_redis_start(&rd[i], dir, names[i], 0, extra[i]) != 0)
			die("redis-server", OB_ERR_STATE_UNAVAILABLE);
		(void)snprintf(uris[i], sizeof(uris[i]), "%s", rd[i].uri);
		st = redis_open(uris[i]);
		if ((r = ob_state_bulk_commit(st, rp, LIVE, NOW0)) != OB_OK)
			die("redis fill", r);
		ob_state_free(&st);
		t1[i] = t2[i] = 0;
	}
	free(rp);
	free(keys);
	for (i = 0; i < NWORKERS; i++) {
		if (pipe(p) != 0 || pipe(q) != 0)
			die("pipe", OB_ERR_IO);
		if ((w[i].pid = fork()) == 0) {
			/* Only the parent may hold a worker's command pipe. */
			for (j = 0; j < i; j++) {
				close(w[j].cmd);
				close(w[j].done);
			}
			close(p[1]);
			close(q[0]);
			worker_run(i, uris, p[0], q[1]);
		}
		close(p[0]);
		close(q[1]);
		w[i].cmd = p[1];
		w[i].done = q[0];
	}
	for (j = 0; j < rounds; j++) {
		double t0 = wall();

		if ((r = accept_n(sql, per)) != OB_OK)
			die("sqlite accept", r);
		tsql += wall() - t0;
		for (i = 0; i < NREDIS; i++) {
			t1[i] += run_workers(w, 1, i, per);
			t2[i] += run_workers(w, NWORKERS, i, per);
		}
	}
	rsql = per * rounds / tsql;
	printf("sqlite instances=1 live=%d accepts=%.0f/s\n", LIVE, rsql);
	for (i = 0; i < NREDIS; i++) {
		r1 = per * rounds / t1[i];
		r2 = NWORKERS * per * rounds / t2[i];
		printf("redis persistence=%s instances=1 live=%d accepts=%.0f/s\n",
		    names[i], LIVE, r1);
		printf("redis persistence=%s instances=%d live=%d accepts=%.0f/s "
		    "ratio=%.2f\n", names[i], NWORKERS, LIVE, r2, r2 / rsql);
	}
	fflush(stdout);
	for (i = 0; i < NWORKERS; i++) {
		close(w[i].cmd);
		close(w[i].done);
		(void)waitpid(w[i].pid, NULL, 0);
	}
	ob_state_free(&sql);
	for (i = 0; i < NREDIS; i++)
		t_redis_stop(&rd[i]);
	if (dir == tmpl) {
		(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)	/* lint: ok: rm -rf of our mkdtemp */
			fprintf(stderr, "bench-redis: could not remove %s\n", dir);
	}
	return 0;
}
