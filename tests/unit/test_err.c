/* Every error code has a unique name, a sentence and a next step, and is
 * documented in docs/errors.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/obtest.h"
#include "core/err.h"

static void
test_every_code_has_text(void **state)
{
	size_t	i, j, n = ob_err_count();
	int	c;

	(void)state;
	assert_true(n > 90);
	for (i = 0; i < n; i++) {
		c = ob_err_code_at(i);
		assert_true(c < 0);
		assert_true(strncmp(ob_err_name(c), "OB_ERR_", 7) == 0);
		assert_true(strlen(ob_err_text(c)) > 8);
		assert_true(strlen(ob_err_hint(c)) > 8);
		for (j = 0; j < i; j++) {
			assert_int_not_equal(c, ob_err_code_at(j));
			assert_string_not_equal(ob_err_name(c),
			    ob_err_name(ob_err_code_at(j)));
		}
	}
	assert_string_equal(ob_err_name(OB_OK), "OB_OK");
	assert_string_equal(ob_err_name(-31337), "OB_ERR_UNKNOWN");
	assert_string_equal(ob_err_text(-31337), "unknown error");
}

static void
test_detail(void **state)
{
	(void)state;
	ob_err_clear();
	assert_string_equal(ob_err_detail(), "");
	assert_int_equal(ob_errf(OB_ERR_REPLAY, "x=%d", 7), OB_ERR_REPLAY);
	assert_string_equal(ob_err_detail(), "x=7");
	assert_int_equal(ob_err_prefix(OB_ERR_REPLAY, "entry %d", 1),
	    OB_ERR_REPLAY);
	assert_string_equal(ob_err_detail(), "entry 1: x=7");
	/* The detail may be an argument of the next detail. */
	assert_int_equal(ob_errf(OB_ERR_TRUST_INVALID, "outer: %s",
	    ob_err_detail()), OB_ERR_TRUST_INVALID);
	assert_string_equal(ob_err_detail(), "outer: entry 1: x=7");
}

static void
test_documented(void **state)
{
	const char	*dir = getenv("OB_DOCS");
	char		 path[1024], *buf;
	FILE		*f;
	size_t		 i, n;
	long		 len;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/errors.md", dir);
	assert_non_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	assert_int_equal(n, (size_t)len);
	for (i = 0; i < ob_err_count(); i++) {
		int c = ob_err_code_at(i);

		if (strstr(buf, ob_err_name(c)) == NULL ||
		    strstr(buf, ob_err_text(c)) == NULL)
			fail_msg("%s is not documented in docs/errors.md",
			    ob_err_name(c));
	}
	free(buf);
}

/* A remote client sees one public code; each is its own public code. */
static void
test_public(void **state)
{
	size_t	i;
	int	c, p;

	(void)state;
	assert_int_equal(ob_err_public(OB_OK), OB_OK);
	assert_int_equal(ob_err_public(OB_ERR_SIG_INVALID), OB_ERR_REJECTED);
	assert_int_equal(ob_err_public(OB_ERR_REPLAY), OB_ERR_REJECTED);
	assert_int_equal(ob_err_public(OB_ERR_OWNER_UNKNOWN), OB_ERR_REJECTED);
	assert_int_equal(ob_err_public(OB_ERR_SVC_PEERS), OB_ERR_REJECTED);
	assert_int_equal(ob_err_public(OB_ERR_JSON_SYNTAX),
	    OB_ERR_SVC_BAD_REQUEST);
	assert_int_equal(ob_err_public(OB_ERR_ENV_TOO_LARGE),
	    OB_ERR_SVC_TOO_LARGE);
	assert_int_equal(ob_err_public(OB_ERR_STATE_BUSY),
	    OB_ERR_SVC_UNAVAILABLE);
	/* The Redis store's trouble: retry later, never "rejected". */
	assert_int_equal(ob_err_public(OB_ERR_STATE_UNAVAILABLE),
	    OB_ERR_SVC_UNAVAILABLE);
	assert_int_equal(ob_err_public(OB_ERR_STATE_REPLY),
	    OB_ERR_SVC_UNAVAILABLE);
	assert_int_equal(ob_err_public(OB_ERR_STATE_AUTH),
	    OB_ERR_SVC_UNAVAILABLE);
	assert_int_equal(ob_err_public(OB_ERR_STATE_REPLICAS),
	    OB_ERR_SVC_UNAVAILABLE);
	assert_int_equal(ob_err_public(OB_ERR_STATE_URI), OB_ERR_INTERNAL);
	assert_int_equal(ob_err_public(OB_ERR_CRYPTO), OB_ERR_INTERNAL);
	assert_int_equal(ob_err_public(OB_ERR_SIGNER_UNAVAILABLE),
	    OB_ERR_SIGNER_UNAVAILABLE);
	assert_int_equal(ob_err_public(OB_ERR_SIGNER_RATE),
	    OB_ERR_SIGNER_UNAVAILABLE);
	/* A refusal by the helper is the daemon's trouble, not a hint. */
	assert_int_equal(ob_err_public(OB_ERR_SIGNER_SHAPE), OB_ERR_REJECTED);
	assert_int_equal(ob_err_public(-31337), OB_ERR_REJECTED);
	for (i = 0; i < ob_err_count(); i++) {
		c = ob_err_code_at(i);
		p = ob_err_public(c);
		assert_int_equal(ob_err_public(p), p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_text),
		cmocka_unit_test(test_detail),
		cmocka_unit_test(test_documented),
		cmocka_unit_test(test_public),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
