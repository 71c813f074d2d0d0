/*
 * The server's issuance pipeline (server/pipe.h) with the real SQLite
 * replay state behind its commit stage: producers racing on the same
 * jti from several threads get exactly one acceptance each, every item
 * is committed before it is finished and finished exactly once, batches
 * stay within batch_max, and ob_pipe_free finishes what was submitted.
 * In the TSan list (scripts/test).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/obtest.h"
#include "server-verify/state.h"
#include "server/pipe.h"

#define NJTI		100
#define NPROD		4
#define UNSET		12345

struct item {
	struct ob_pipe_item	 it;
	int			 jti;
	char			 key[32];
};

struct ctx {
	struct ob_state		*st;
	struct ob_pipe		*pipe;
	pthread_mutex_t		 mu;
	int			 accepted[NJTI], refused[NJTI];
	int			 finished, unset;
	int			 fail;		/* commit fails every batch */
	int			 gated;		/* commit waits for open */
	pthread_cond_t		 gate;
};

static char dir[] = "/tmp/ob-pipe-XXXXXX";

static void
commit(struct ob_pipe_item **items, size_t n, void *arg)
{
	struct ctx		*c = arg;
	struct ob_replay	 rp[16];
	int			 res[16];
	size_t			 i;

	assert_true(n >= 1 && n <= 16);
	memset(rp, 0, sizeof(rp));
	for (i = 0; i < n; i++) {
		struct item *t = (struct item *)items[i];

		assert_int_equal(t->it.code, UNSET);
		rp[i].jti_key = t->key;
		rp[i].jti = t->key;
		rp[i].keep_until = time(NULL) + 600;
	}
	pthread_mutex_lock(&c->mu);
	while (c->gated)
		pthread_cond_wait(&c->gate, &c->mu);
	pthread_mutex_unlock(&c->mu);
	if (c->fail) {
		for (i = 0; i < n; i++)
			items[i]->code = OB_ERR_STATE;
		return;
	}
	/* A failed batch sets every res[i] to its code. */
	if (ob_state_batch_commit(c->st, rp, n, time(NULL), res) != OB_OK)
		assert_int_not_equal(res[0], OB_OK);
	for (i = 0; i < n; i++)
		items[i]->code = res[i];
}

static void
finish(struct ob_pipe_item *it, void *arg)
{
	struct ctx	*c = arg;
	struct item	*t = (struct item *)it;

	pthread_mutex_lock(&c->mu);
	if (it->code == UNSET)
		c->unset++;
	else if (it->code == OB_OK)
		c->accepted[t->jti]++;
	else
		c->refused[t->jti]++;
	c->finished++;
	pthread_mutex_unlock(&c->mu);
	free(t);
}

static void
submit(struct ctx *c, int jti, const char *tag)
{
	struct item *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->jti = jti;
	t->it.code = UNSET;
	snprintf(t->key, sizeof(t->key), "%s:%d", tag, jti);
	ob_pipe_submit(c->pipe, &t->it);
}

static void *
producer(void *arg)
{
	struct ctx	*c = arg;
	int		 j;

	for (j = 0; j < NJTI; j++)
		submit(c, j, "race");
	return NULL;
}

static void
open_ctx(struct ctx *c, const char *name, size_t batch_max, int finishers)
{
	struct ob_pipe_cfg	cfg;
	char			path[256];

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->gate, NULL);
	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	assert_int_equal(ob_state_open_sqlite(path, &c->st), OB_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.batch_max = batch_max;
	cfg.finishers = finishers;
	cfg.commit = commit;
	cfg.finish = finish;
	cfg.arg = c;
	assert_int_equal(ob_pipe_new(&cfg, &c->pipe), OB_OK);
	assert_int_equal(ob_pipe_start(c->pipe), OB_OK);
}

static void
close_ctx(struct ctx *c)
{
	ob_pipe_free(&c->pipe);
	assert_null(c->pipe);
	ob_state_free(&c->st);
	pthread_cond_destroy(&c->gate);
	pthread_mutex_destroy(&c->mu);
}

/* Four threads submit the same 100 jti: one acceptance each. */
static void
test_race(void **state)
{
	struct ob_pipe_stats	 ps;
	struct ctx		 c;
	pthread_t		 th[NPROD];
	int			 i;

	(void)state;
	open_ctx(&c, "race", 16, 3);
	for (i = 0; i < NPROD; i++)
		assert_int_equal(pthread_create(&th[i], NULL, producer, &c), 0);
	for (i = 0; i < NPROD; i++)
		pthread_join(th[i], NULL);
	ob_pipe_stats(c.pipe, &ps);
	assert_true(ps.max_batch <= 16);
	ob_pipe_free(&c.pipe);
	assert_int_equal(c.finished, NPROD * NJTI);
	assert_int_equal(c.unset, 0);
	for (i = 0; i < NJTI; i++) {
		assert_int_equal(c.accepted[i], 1);
		assert_int_equal(c.refused[i], NPROD - 1);
	}
	close_ctx(&c);
}

static void *
freer(void *arg)
{
	struct ctx *c = arg;

	ob_pipe_free(&c->pipe);
	return NULL;
}

/*
 * ob_pipe_free while the commit stage is held and items wait behind it:
 * nothing is finished before the commit, and every item is committed
 * and finished before ob_pipe_free returns (the server's drain).
 */
static void
test_free_drains(void **state)
{
	struct ctx	c;
	pthread_t	th;
	int		i, done;

	(void)state;
	open_ctx(&c, "drain", 4, 2);
	pthread_mutex_lock(&c.mu);
	c.gated = 1;
	pthread_mutex_unlock(&c.mu);
	for (i = 0; i < 40; i++)
		submit(&c, i, "drain");
	assert_int_equal(pthread_create(&th, NULL, freer, &c), 0);
	usleep(50000);		/* let the free begin; not a check */
	pthread_mutex_lock(&c.mu);
	done = c.finished;
	c.gated = 0;
	pthread_cond_broadcast(&c.gate);
	pthread_mutex_unlock(&c.mu);
	assert_int_equal(done, 0);
	pthread_join(th, NULL);
	assert_null(c.pipe);
	assert_int_equal(c.finished, 40);
	assert_int_equal(c.unset, 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(c.accepted[i], 1);
	close_ctx(&c);
}

/* A failed commit reaches every item of its batch: none accepted. */
static void
test_commit_fails(void **state)
{
	struct ctx	c;
	int		i;

	(void)state;
	open_ctx(&c, "fail", 8, 2);
	c.fail = 1;
	for (i = 0; i < 20; i++)
		submit(&c, i, "fail");
	ob_pipe_free(&c.pipe);
	assert_int_equal(c.finished, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(c.accepted[i], 0);
		assert_int_equal(c.refused[i], 1);
	}
	close_ctx(&c);
}

static void
test_args(void **state)
{
	struct ob_pipe_cfg	 cfg;
	struct ob_pipe		*p = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.finish = finish;
	assert_int_equal(ob_pipe_new(&cfg, &p), OB_ERR_INVALID_ARG);
	assert_null(p);
	cfg.commit = commit;
	assert_int_equal(ob_pipe_new(&cfg, &p), OB_OK);
	ob_pipe_free(&p);		/* never started */
	assert_null(p);
	ob_pipe_free(NULL);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd); /* lint: ok: our mkdtemp */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_free_drains),
		cmocka_unit_test(test_commit_fails),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
