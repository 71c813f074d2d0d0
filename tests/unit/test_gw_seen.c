/*
 * The gateway's table of agent requests in hand and spent
 * (gateway/seen.h): in hand and spent refuse, forgotten does not, time
 * up and a full table forget the oldest spent, and a table of requests
 * all in hand refuses with 503's code rather than forget one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "gateway/seen.h"

#define JKT	"umEKxlS2RWYcNYBc5MtoaQd3ub0fiw0flUjj174S0DE"

static void
test_in_hand_spent_forgotten(void **state)
{
	struct ob_gw_seen	*s = NULL;
	struct ob_gw_seen_stats	 st;

	(void)state;
	assert_int_equal(ob_gw_seen_new(0, &s), OB_ERR_INVALID_ARG);
	assert_int_equal(ob_gw_seen_new(8, &s), OB_OK);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j1", 200, 100), OB_OK);
	/* In hand: the same again is refused, another jti or key is not. */
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j1", 200, 100),
	    OB_ERR_REPLAY);
	assert_non_null(strstr(ob_err_detail(), "is working on"));
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j2", 200, 100), OB_OK);
	assert_int_equal(ob_gw_seen_begin(s, "other", "j1", 200, 100), OB_OK);
	/* "a:b" + "c" is not "a" + "b:c". */
	assert_int_equal(ob_gw_seen_begin(s, JKT ":j", "1", 200, 100), OB_OK);
	/* Forgotten: served again; spent: refused until its time is up. */
	ob_gw_seen_end(s, JKT, "j2", 0);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j2", 200, 100), OB_OK);
	ob_gw_seen_end(s, JKT, "j1", 1);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j1", 200, 150),
	    OB_ERR_REPLAY);
	assert_non_null(strstr(ob_err_detail(), "identity server answered"));
	/* A spent request cannot be forgotten by a late end. */
	ob_gw_seen_end(s, JKT, "j1", 0);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j1", 200, 199),
	    OB_ERR_REPLAY);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j1", 300, 200), OB_OK);
	ob_gw_seen_stats(s, &st);
	assert_int_equal(st.refused, 3);
	assert_int_equal(st.held, 4);	/* j1 j2, other:j1, JKT:j:1 */
	assert_int_equal(ob_gw_seen_begin(s, "", "j", 1, 0),
	    OB_ERR_INVALID_ARG);
	ob_gw_seen_free(&s);
	assert_null(s);
}

static void
test_full(void **state)
{
	struct ob_gw_seen	*s = NULL;
	struct ob_gw_seen_stats	 st;
	char			 jti[16];
	int			 i;

	(void)state;
	assert_int_equal(ob_gw_seen_new(4, &s), OB_OK);
	for (i = 0; i < 4; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		assert_int_equal(ob_gw_seen_begin(s, JKT, jti, 1000, 0),
		    OB_OK);
	}
	/* Four in hand: none may be forgotten for a fifth. */
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j4", 1000, 0),
	    OB_ERR_SVC_UNAVAILABLE);
	/* j1 and j2 spent: the fifth forgets the oldest spent, j1. */
	ob_gw_seen_end(s, JKT, "j2", 1);
	ob_gw_seen_end(s, JKT, "j1", 1);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j4", 1000, 0), OB_OK);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j2", 1000, 0),
	    OB_ERR_REPLAY);
	ob_gw_seen_stats(s, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.held, 4);
	/* j1 forgotten early is served again (the server is the authority),
	 * and forgets j2, the one spent left. */
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j1", 1000, 0), OB_OK);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j5", 1000, 0),
	    OB_ERR_SVC_UNAVAILABLE);
	ob_gw_seen_end(s, JKT, "j0", 0);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j5", 1000, 0), OB_OK);
	ob_gw_seen_stats(s, &st);
	assert_int_equal(st.evicted, 2);
	/* Time up: spent entries go as begin passes them; j5 in hand
	 * stays. */
	ob_gw_seen_end(s, JKT, "j1", 1);
	ob_gw_seen_end(s, JKT, "j3", 1);
	ob_gw_seen_end(s, JKT, "j4", 1);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "late", 2000, 1000), OB_OK);
	ob_gw_seen_stats(s, &st);
	assert_int_equal(st.held, 2);
	assert_int_equal(ob_gw_seen_begin(s, JKT, "j5", 2000, 1000),
	    OB_ERR_REPLAY);
	ob_gw_seen_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_hand_spent_forgotten),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
