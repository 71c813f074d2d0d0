/* server-verify/verify_api.c: the opaque options refuse values out of
 * range and leave the option as it was; getters are NULL-safe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "server-verify/verify_int.h"

static void
test_opts(void **state)
{
	struct ob_verify_opts	*o = NULL;

	(void)state;
	assert_int_equal(ob_verify_opts_new(NULL), OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_new(&o), OB_OK);
	assert_int_equal(o->channel, OB_CHANNEL_DIRECT);
	assert_int_equal(ob_verify_opts_set_aud(o, ""), OB_ERR_INVALID_ARG);
	assert_null(o->aud);
	assert_int_equal(ob_verify_opts_set_aud(o, "https://a"), OB_OK);
	assert_int_equal(ob_verify_opts_set_aud(o, "https://b"), OB_OK);
	assert_string_equal(o->aud, "https://b");

	assert_int_equal(ob_verify_opts_set_channel(o, OB_CHANNEL_GATEWAY,
	    NULL), OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_channel(o, OB_CHANNEL_DIRECT,
	    "p1"), OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_channel(o, (enum ob_channel)7,
	    NULL), OB_ERR_INVALID_ARG);
	assert_int_equal(o->channel, OB_CHANNEL_DIRECT);
	assert_int_equal(ob_verify_opts_set_channel(o, OB_CHANNEL_GATEWAY,
	    "proxy-1"), OB_OK);
	assert_string_equal(o->proxy, "proxy-1");
	assert_int_equal(ob_verify_opts_set_channel(o, OB_CHANNEL_DIRECT,
	    NULL), OB_OK);
	assert_null(o->proxy);

	assert_int_equal(ob_verify_opts_set_max_age(o, -1),
	    OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_max_age(o, 86401),
	    OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_max_age(o, 600), OB_OK);
	assert_int_equal(ob_verify_opts_set_max_age(o, 0), OB_OK);
	assert_int_equal(o->max_age, 0);
	assert_int_equal(ob_verify_opts_set_skew(o, 3601),
	    OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_max_lifetime(o, -5),
	    OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_now(o, -5), OB_ERR_INVALID_ARG);
	assert_int_equal(ob_verify_opts_set_now(o, 1800000000), OB_OK);
	assert_int_equal(o->now, 1800000000);
	assert_int_equal(ob_verify_opts_set_aud(NULL, "x"),
	    OB_ERR_INVALID_ARG);
	ob_verify_opts_free(&o);
	assert_null(o);
	ob_verify_opts_free(&o);
}

static void
test_getters_null(void **state)
{
	(void)state;
	assert_null(ob_verdict_agent(NULL));
	assert_null(ob_verdict_envelope_sha256(NULL));
	assert_int_equal(ob_verdict_exp(NULL), 0);
	assert_int_equal(ob_verdict_up(NULL), -1);
	assert_int_equal(ob_verdict_counter(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_getters_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
