/*
 * server/rate.c: token buckets per key in a fixed table, and buckets
 * shared by servers through a private redis-server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "server-verify/redis.h"
#include "server/rate.h"
#include "tests/redis/redis_fixture.h"

static void
test_burst_then_refused(void **state)
{
	struct ob_rate		 rate = { 0.5, 3 };
	struct ob_rate_table	*t = NULL;

	(void)state;
	assert_int_equal(ob_rate_new(&rate, &t), OB_OK);
	assert_int_equal(ob_rate_take(t, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(t, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(t, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(t, "alice"), OB_ERR_SVC_RATE_LIMITED);	/* burst spent */
	assert_int_equal(ob_rate_take(t, "bob"), OB_OK);	/* own bucket */
	ob_rate_free(&t);
	assert_null(t);
}

static void
test_refill(void **state)
{
	struct ob_rate		 rate = { 20.0, 1 };
	struct ob_rate_table	*t = NULL;

	(void)state;
	assert_int_equal(ob_rate_new(&rate, &t), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_ERR_SVC_RATE_LIMITED);
	usleep(120 * 1000);				/* > 1/20 s */
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_ERR_SVC_RATE_LIMITED);	/* burst is 1 */
	ob_rate_free(&t);
}

/*
 * A token given back is there for the next take, at most up to the
 * burst; a key whose slot went to another key gets nothing back.
 */
static void
test_give_back(void **state)
{
	struct ob_rate		 rate = { 0.001, 2 };
	struct ob_rate_table	*t = NULL;

	(void)state;
	assert_int_equal(ob_rate_new(&rate, &t), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_ERR_SVC_RATE_LIMITED);
	assert_int_equal(ob_rate_give_back(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_ERR_SVC_RATE_LIMITED);
	/* Not past the burst: three back, two to take. */
	assert_int_equal(ob_rate_give_back(t, "k"), OB_OK);
	assert_int_equal(ob_rate_give_back(t, "k"), OB_OK);
	assert_int_equal(ob_rate_give_back(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "k"), OB_ERR_SVC_RATE_LIMITED);
	/* Another key's bucket is not filled by k's. */
	assert_int_equal(ob_rate_take(t, "j"), OB_OK);
	assert_int_equal(ob_rate_take(t, "j"), OB_OK);
	assert_int_equal(ob_rate_give_back(t, "k"), OB_OK);
	assert_int_equal(ob_rate_take(t, "j"), OB_ERR_SVC_RATE_LIMITED);
	ob_rate_free(&t);
}

static void
test_unlimited(void **state)
{
	struct ob_rate		 rate = { 0.0, 1 };
	struct ob_rate_table	*t = NULL;
	int			 i;

	(void)state;
	assert_int_equal(ob_rate_new(&rate, &t), OB_OK);
	for (i = 0; i < 1000; i++)
		assert_int_equal(ob_rate_take(t, "k"), OB_OK);
	ob_rate_free(&t);
	ob_rate_free(&t);				/* NULL is fine */
}

static struct ob_redis *
client(const struct t_redis *rd, unsigned timeout_ms)
{
	struct ob_redis_cfg	 c;
	struct ob_redis		*r = NULL;

	memset(&c, 0, sizeof(c));
	c.uri = rd->uri;
	c.timeout_ms = timeout_ms;
	assert_int_equal(ob_redis_new(&c, &r), OB_OK);
	return r;
}

/*
 * Two servers (two clients, two tables) share one bucket per key: the
 * burst is spent across both.  Tables of other names are other buckets;
 * a bucket's key expires once it would be full again; no limit needs no
 * Redis; Redis down refuses (fail closed) until it is back.
 */
static void
test_shared(void **state)
{
	struct ob_rate		 rate = { 0.5, 3 }, none = { 0, 1 };
	struct ob_rate_table	*a = NULL, *b = NULL, *other = NULL, *free_ = NULL;
	struct ob_redis		*ra, *rb;
	struct t_redis		 rd;
	redisContext		*c;
	redisReply		*rep;
	char			 dir[] = "/tmp/ob-rate-XXXXXX", cmd[64];
	int			 i, r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(t_redis_start(&rd, dir, "rate", 0, NULL), 0);
	ra = client(&rd, 200);
	rb = client(&rd, 200);
	assert_int_equal(ob_rate_new_shared(&rate, ra, "owner", &a), OB_OK);
	assert_int_equal(ob_rate_new_shared(&rate, rb, "owner", &b), OB_OK);
	assert_int_equal(ob_rate_new_shared(&rate, rb, "agent", &other), OB_OK);
	assert_int_equal(ob_rate_new_shared(&none, rb, "peer", &free_), OB_OK);
	assert_int_equal(ob_rate_new_shared(&rate, rb, "no-digits1", &free_),
	    OB_ERR_INVALID_ARG);
	assert_int_equal(ob_rate_take(a, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(b, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(a, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(b, "alice"), OB_ERR_SVC_RATE_LIMITED);
	assert_int_equal(ob_rate_take(a, "alice"), OB_ERR_SVC_RATE_LIMITED);
	assert_int_equal(ob_rate_take(b, "bob"), OB_OK);
	assert_int_equal(ob_rate_take(other, "alice"), OB_OK);
	/* A token given back through either server is the other's too, and
	 * the bucket fills no further than the burst. */
	assert_int_equal(ob_rate_give_back(b, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(a, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(b, "alice"), OB_ERR_SVC_RATE_LIMITED);
	for (i = 0; i < 5; i++)
		assert_int_equal(ob_rate_give_back(a, "alice"), OB_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(ob_rate_take(b, "alice"), OB_OK);
	assert_int_equal(ob_rate_take(a, "alice"), OB_ERR_SVC_RATE_LIMITED);
	/* Full again after burst / rate = 6 s: the key goes then (+1 s). */
	assert_non_null(c = redisConnectUnix(rd.sock));
	assert_non_null(rep = redisCommand(c, "PTTL ob:r:owner:alice"));
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	assert_true(rep->integer > 5000 && rep->integer <= 7000);
	freeReplyObject(rep);
	redisFree(c);
	/* Redis stopped: refused with the store's code, never let through. */
	t_redis_signal(&rd, SIGSTOP);
	assert_int_equal(ob_rate_take(b, "carol"), OB_ERR_STATE_UNAVAILABLE);
	assert_int_equal(ob_rate_take(b, "carol"), OB_ERR_STATE_UNAVAILABLE);
	assert_int_equal(ob_rate_give_back(b, "carol"),
	    OB_ERR_STATE_UNAVAILABLE);		/* said, not hidden */
	assert_int_equal(ob_rate_take(free_, "carol"), OB_OK);	/* no limit */
	t_redis_signal(&rd, SIGCONT);
	for (i = 0, r = OB_ERR_STATE_UNAVAILABLE; i < 200 &&
	    r == OB_ERR_STATE_UNAVAILABLE; i++) {
		if ((r = ob_rate_take(b, "dave")) == OB_ERR_STATE_UNAVAILABLE)
			usleep(50 * 1000);
	}
	assert_int_equal(r, OB_OK);
	ob_rate_free(&a);
	ob_rate_free(&b);
	ob_rate_free(&other);
	ob_rate_free(&free_);
	ob_redis_free(&ra);
	ob_redis_free(&rb);
	t_redis_stop(&rd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);	/* lint: ok: our mkdtemp */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refused),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_give_back),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
