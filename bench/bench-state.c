/*
 * bench-state: replay-state acceptances per second at 10k and at 1M live
 * jti, and the SQLite file's size after 1M jti have expired.
 *
 *   bench-state [-d DIR] [-n ACCEPTS] [-m] [-k]
 *
 * Two SQLite files are filled, one to 10,000 and one to 1,000,000 live
 * jti, through the stores' real checks and writes but many acceptances
 * per transaction (ob_state_bulk_commit: 50,000 per BEGIN IMMEDIATE ...
 * COMMIT, so that filling costs a few fsyncs instead of a million).  Keys
 * look like real ones: a 43-character thumbprint, ":", a 22-character jti,
 * random.  Then ACCEPTS (default 6,000) new jti are committed to each file
 * one by one through ob_state_commit, the real acceptance path (one
 * IMMEDIATE transaction and one fsync each), alternating between the two
 * files in chunks of 250 so that other load on the machine hits both
 * alike; rates are in wall-clock time, fsync included.  ratio is the 1M
 * rate over the 10k rate.
 *
 * Then every jti in the 1M file is let expire: the clock moves past their
 * keep-until, and new jti that live 60 s (the clock moves 1 s per
 * acceptance) are accepted in transactions of 64 acceptances (each one
 * pruning as usual) until the expired rows are gone and the free pages
 * given back (the file's size stops falling), at most 1M / 32 * 2
 * acceptances.  The sizes printed are of the files at rest (closed: the
 * last close checkpoints and removes the WAL); the WAL is bounded too
 * (journal_size_limit), and stderr shows the size with it.  The memory store gets the same rate
 * measurement (-m: memory only; -k: keep the files).  Never run by the
 * tests.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ownerbind/ob_verify.h"
#include "common/cliutil.h"
#include "server-verify/state.h"

#define SMALL		10000
#define LARGE		1000000
#define FILL_TXN	50000
#define CHUNK		250
#define DRAIN_TXN	64
#define KEYLEN		(43 + 1 + 22)
#define NOW0		1800000000LL

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

/* A fresh random key "jkt:jti" in k (KEYLEN + 1 bytes). */
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
	fprintf(stderr, "bench-state: %s: %s (%s)\n", what, ob_err_name(r),
	    ob_err_detail() != NULL ? ob_err_detail() : ob_err_text(r));
	exit(1);
}

static struct ob_replay *
batch_new(size_t n, char (**keys)[KEYLEN + 1])
{
	struct ob_replay *rp;

	if ((rp = calloc(n, sizeof(*rp))) == NULL ||
	    (*keys = calloc(n, KEYLEN + 1)) == NULL) {
		fprintf(stderr, "bench-state: out of memory\n");
		exit(1);
	}
	return rp;
}

/*
 * Add n live jti to st in transactions of FILL_TXN.  As in real traffic,
 * later requests are kept until later: keep-until rises from keep by one
 * second every 1,000 jti.
 */
static void
fill(struct ob_state *st, size_t n, long long now, long long keep)
{
	char		(*keys)[KEYLEN + 1];
	struct ob_replay *rp = batch_new(FILL_TXN, &keys);
	size_t		 i, m, done = 0;
	int		 r;

	while (n > 0) {
		m = n < FILL_TXN ? n : FILL_TXN;
		for (i = 0; i < m; i++) {
			mkkey(keys[i]);
			rp[i].jti_key = rp[i].jti = keys[i];
			rp[i].keep_until = keep + (long long)(done++ / 1000);
		}
		if ((r = ob_state_bulk_commit(st, rp, m, now)) != OB_OK)
			die("fill", r);
		n -= m;
	}
	free(rp);
	free(keys);
}

/* Commit n new jti one by one; the seconds it took. */
static double
accept_n(struct ob_state *st, int n, long long now, long long keep)
{
	struct ob_replay	 rp;
	char			 k[KEYLEN + 1];
	double			 t0 = wall();
	int			 i, r;

	memset(&rp, 0, sizeof(rp));
	for (i = 0; i < n; i++) {
		mkkey(k);
		rp.jti_key = rp.jti = k;
		rp.keep_until = keep;
		if ((r = ob_state_commit(st, &rp, now)) != OB_OK)
			die("accept", r);
	}
	return wall() - t0;
}

/* Rates of a (small) and b (large), alternating in chunks. */
static void
measure(struct ob_state *a, struct ob_state *b, int n, double *ra,
    double *rb)
{
	double	ta = 0, tb = 0;
	int	done;

	for (done = 0; done < n; done += CHUNK) {
		ta += accept_n(a, CHUNK, NOW0, NOW0 + 102000);
		tb += accept_n(b, CHUNK, NOW0, NOW0 + 102000);
	}
	*ra = done / ta;
	*rb = done / tb;
}

/* Bytes in the database file, and in its WAL too if wal. */
static long long
fsize(const char *path, int wal)
{
	struct stat	sb;
	char		p[600];
	long long	n = 0;

	if (stat(path, &sb) == 0)
		n += (long long)sb.st_size;
	(void)snprintf(p, sizeof(p), "%s-wal", path);
	if (wal && stat(p, &sb) == 0)
		n += (long long)sb.st_size;
	return n;
}

static void
rm_db(const char *path)
{
	char p[600];

	(void)unlink(path);
	(void)snprintf(p, sizeof(p), "%s-wal", path);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s-shm", path);
	(void)unlink(p);
}

/*
 * Let everything in st expire and accept short-lived jti until the rows
 * are pruned and the file has given its pages back (its size stops
 * falling); the acceptances it took.
 */
static long long
drain(struct ob_state *st, const char *path, size_t live)
{
	char			 (*keys)[KEYLEN + 1];
	struct ob_replay	*rp = batch_new(DRAIN_TXN, &keys);
	struct ob_state_count	 c;
	long long		 now = NOW0 + 300000, n = 0, last = -1, size;
	long long		 max = (long long)live / OB_STATE_PRUNE_MAX * 2;
	int			 i, r;

	for (;;) {
		for (i = 0; i < DRAIN_TXN; i++) {
			mkkey(keys[i]);
			rp[i].jti_key = rp[i].jti = keys[i];
			rp[i].keep_until = now + 60;
		}
		if ((r = ob_state_bulk_commit(st, rp, DRAIN_TXN, now)) != OB_OK)
			die("drain", r);
		now += DRAIN_TXN;
		n += DRAIN_TXN;
		if (n % (DRAIN_TXN * 64) != 0)
			continue;
		if ((r = ob_state_count(st, &c)) != OB_OK)
			die("count", r);
		size = fsize(path, 0);
		if ((c.jti <= 200 && size == last) || n >= max)
			break;
		last = size;
	}
	free(rp);
	free(keys);
	return n;
}

static void
bench_memory(int n)
{
	struct ob_state	*a = NULL, *b = NULL;
	double		 ra, rb;
	int		 r;

	if ((r = ob_state_open_memory(&a)) != OB_OK ||
	    (r = ob_state_open_memory(&b)) != OB_OK)
		die("memory", r);
	fill(a, SMALL, NOW0, NOW0 + 100000);
	fill(b, LARGE, NOW0, NOW0 + 100000);
	measure(a, b, n * 20, &ra, &rb);
	printf("memory live=%d accepts=%.0f/s\n", SMALL, ra);
	printf("memory live=%d accepts=%.0f/s\n", LARGE, rb);
	printf("memory ratio=%.2f\n", rb / ra);
	ob_state_free(&a);
	ob_state_free(&b);
}

int
main(int argc, char **argv)
{
	struct ob_state	*a = NULL, *b = NULL;
	const char	*dir = NULL;
	char		 tmpl[] = "/tmp/bench-state-XXXXXX", pa[512], pb[512];
	double		 ra, rb, t0;
	long long	 size10k, drained, v;
	int		 c, n = 6000, memonly = 0, keep = 0, r;

	while ((c = getopt(argc, argv, "d:n:mk")) != -1)
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			if (ob_parse_ll(optarg, 1, 100000000, &v) != OB_OK) {
				fprintf(stderr, "bench-state: -n: %s\n",
				    ob_err_detail());
				return 2;
			}
			n = (int)v;
			break;
		case 'm':
			memonly = 1;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			fprintf(stderr, "usage: bench-state [-d DIR] "
			    "[-n ACCEPTS] [-m] [-k]\n");
			return 2;
		}
	if (n < CHUNK)
		n = CHUNK;
	bench_memory(n);
	if (memonly)
		return 0;
	if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	(void)snprintf(pa, sizeof(pa), "%s/small.db", dir);
	(void)snprintf(pb, sizeof(pb), "%s/large.db", dir);
	rm_db(pa);
	rm_db(pb);
	if ((r = ob_state_open_sqlite(pa, &a)) != OB_OK ||
	    (r = ob_state_open_sqlite(pb, &b)) != OB_OK)
		die("open", r);
	fill(a, SMALL, NOW0, NOW0 + 100000);
	/* At rest: the last close checkpoints and removes the WAL. */
	ob_state_free(&a);
	size10k = fsize(pa, 1);
	if ((r = ob_state_open_sqlite(pa, &a)) != OB_OK)
		die("open", r);
	t0 = wall();
	fill(b, LARGE, NOW0, NOW0 + 100000);
	fprintf(stderr, "bench-state: filled %d in %.1f s, %lld bytes\n",
	    LARGE, wall() - t0, fsize(pb, 1));
	measure(a, b, n, &ra, &rb);
	printf("sqlite live=%d accepts=%.0f/s\n", SMALL, ra);
	printf("sqlite live=%d accepts=%.0f/s\n", LARGE, rb);
	printf("ratio=%.2f\n", rb / ra);
	fflush(stdout);
	t0 = wall();
	drained = drain(b, pb, LARGE + (size_t)n);
	fprintf(stderr, "bench-state: drained in %lld acceptances, %.1f s, "
	    "%lld bytes with the WAL\n", drained, wall() - t0, fsize(pb, 1));
	ob_state_free(&a);
	ob_state_free(&b);
	printf("sqlite size10k=%lld size_after_expiry=%lld\n", size10k,
	    fsize(pb, 1));
	if (!keep) {
		rm_db(pa);
		rm_db(pb);
		if (dir == tmpl)
			(void)rmdir(dir);
	}
	return 0;
}
