/* server/rate.c: token buckets per key in a fixed table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "server/rate.h"

static void
test_burst_then_refused(void **state)
{
	struct ob_rate		 rate = { 0.5, 3 };
	struct ob_rate_table	*t = NULL;

	(void)state;
	assert_int_equal(ob_rate_new(&rate, &t), OB_OK);
	assert_int_equal(ob_rate_take(t, "alice"), 1);
	assert_int_equal(ob_rate_take(t, "alice"), 1);
	assert_int_equal(ob_rate_take(t, "alice"), 1);
	assert_int_equal(ob_rate_take(t, "alice"), 0);	/* burst spent */
	assert_int_equal(ob_rate_take(t, "bob"), 1);	/* own bucket */
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
	assert_int_equal(ob_rate_take(t, "k"), 1);
	assert_int_equal(ob_rate_take(t, "k"), 0);
	usleep(120 * 1000);				/* > 1/20 s */
	assert_int_equal(ob_rate_take(t, "k"), 1);
	assert_int_equal(ob_rate_take(t, "k"), 0);	/* burst is 1 */
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
		assert_int_equal(ob_rate_take(t, "k"), 1);
	ob_rate_free(&t);
	ob_rate_free(&t);				/* NULL is fine */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refused),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_unlimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
