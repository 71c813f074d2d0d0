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

static char *
read_errors_md(void)
{
	const char	*dir = getenv("OB_DOCS");
	char		 path[1024], *buf;
	FILE		*f;
	size_t		 n;
	long		 len;

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
	return buf;
}

static void
test_documented(void **state)
{
	char	*buf;
	size_t	 i;

	(void)state;
	buf = read_errors_md();
	for (i = 0; i < ob_err_count(); i++) {
		int c = ob_err_code_at(i);

		if (strstr(buf, ob_err_name(c)) == NULL ||
		    strstr(buf, ob_err_text(c)) == NULL)
			fail_msg("%s is not documented in docs/errors.md",
			    ob_err_name(c));
	}
	free(buf);
}

/* The row of "a client sees" for public code p, as its own string. */
static char *
public_row(const char *md, int p)
{
	char		 head[96];
	const char	*a, *e;

	snprintf(head, sizeof(head), "\n| `%s` |", ob_err_name(p));
	if ((a = strstr(md, head)) == NULL)
		return NULL;
	a++;
	e = strchr(a, '\n');
	return strndup(a, e != NULL ? (size_t)(e - a) : strlen(a));
}

/*
 * docs/errors.md's "a client sees" table against ob_err_public itself:
 * every public code but OB_ERR_REJECTED has a row, every code mapped to
 * it is named in that row, and every code a row names maps to it.
 */
static void
test_public_documented(void **state)
{
	char		*md, *row, name[64];
	const char	*q, *e;
	size_t		 i, j;
	int		 c, p, found;

	(void)state;
	md = read_errors_md();
	for (i = 0; i < ob_err_count(); i++) {
		c = ob_err_code_at(i);
		if ((p = ob_err_public(c)) == OB_ERR_REJECTED)
			continue;
		if ((row = public_row(md, p)) == NULL)
			fail_msg("docs/errors.md: no row for public code %s",
			    ob_err_name(p));
		snprintf(name, sizeof(name), "`%s`", ob_err_name(c));
		if (c != p && strstr(row, name) == NULL)
			fail_msg("docs/errors.md: %s is not in %s's row",
			    ob_err_name(c), ob_err_name(p));
		/* Each name in the row (after the first cell) maps to p. */
		for (q = strstr(row + 2, "| ") + 2; (q = strchr(q, '`')) !=
		    NULL; q = e + 1) {
			if ((e = strchr(q + 1, '`')) == NULL)
				break;
			snprintf(name, sizeof(name), "%.*s", (int)(e - q - 1),
			    q + 1);
			for (j = 0, found = 0; j < ob_err_count(); j++)
				if (strcmp(ob_err_name(ob_err_code_at(j)),
				    name) == 0) {
					found = 1;
					if (ob_err_public(ob_err_code_at(j)) != p)
						fail_msg("docs/errors.md: %s is "
						    "in %s's row, but a client "
						    "sees %s", name,
						    ob_err_name(p), ob_err_name(
						    ob_err_public(
						    ob_err_code_at(j))));
				}
			if (!found)
				fail_msg("docs/errors.md: %s in %s's row is no "
				    "code", name, ob_err_name(p));
		}
		free(row);
	}
	free(md);
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
		cmocka_unit_test(test_public_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
