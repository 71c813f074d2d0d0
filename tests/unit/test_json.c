/*
 * The JSON reader (core/json_read.c): what it accepts, what it builds and
 * the class of every rejection.  fuzz/fuzz_json.c compares it with jansson
 * on arbitrary input; these are the cases named one by one.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/obtest.h"
#include "core/json.h"

/* Read s (n bytes, or strlen when n is 0) and return the result code. */
static int
rd(const char *s, size_t n, json_t **out)
{
	json_t	*v = NULL;
	int	 r;

	r = ob_json_read(s, n != 0 ? n : strlen(s), 2048, &v);
	if (r != OB_OK)
		assert_null(v);
	if (out != NULL)
		*out = v;
	else
		json_decref(v);
	return r;
}

/* Read s and compare its compact ASCII serialisation with want. */
static void
reads_as(const char *s, size_t n, const char *want)
{
	json_t	*v;
	char	*d;

	assert_int_equal(rd(s, n, &v), OB_OK);
	d = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_non_null(d);
	assert_string_equal(d, want);
	free(d);
	json_decref(v);
}

static void
test_values(void **state)
{
	(void)state;
	reads_as("{}", 0, "{}");
	reads_as(" \t\r\n[ ] \n", 0, "[]");
	reads_as("{\"b\":1,\"a\":[true,false,null,-0,-12,3.5,1e2,2E-1]}", 0,
	    "{\"b\":1,\"a\":[true,false,null,0,-12,3.5,100.0,"
	    "0.20000000000000001]}");
	reads_as("[9223372036854775807,-9223372036854775808]", 0,
	    "[9223372036854775807,-9223372036854775808]");
	reads_as("[1e-400]", 0, "[0.0]");	/* underflow is not an error */
	/* Names with escapes (decoded into a buffer the reader hands over),
	 * followed by more members and nested objects. */
	reads_as("{\"\\u0061b\":1,\"c\\n\":{\"\\\"\":[2]},\"d\":3}", 0,
	    "{\"ab\":1,\"c\\n\":{\"\\\"\":[2]},\"d\":3}");
	/* Member order is kept; names may be empty. */
	reads_as("{\"z\":1,\"\":2,\"m\":{\"y\":[],\"x\":{}}}", 0,
	    "{\"z\":1,\"\":2,\"m\":{\"y\":[],\"x\":{}}}");
}

static void
test_strings(void **state)
{
	(void)state;
	reads_as("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 0,
	    "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]");
	reads_as("[\"\\u00e9\\u20AC\\ud83d\\ude00\"]", 0,
	    "[\"\\u00E9\\u20AC\\uD83D\\uDE00\"]");
	/* Raw UTF-8 of one, two, three and four bytes. */
	reads_as("[\"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", 0,
	    "[\"a\\u00E9\\u20AC\\uD83D\\uDE00\"]");
	/* The first code point of each length, the last of Unicode, the
	 * edges around the surrogates, the surrogate pair edges. */
	reads_as("[\"\x20\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80"
	    "\xf4\x8f\xbf\xbf\"]", 0,
	    "[\" \\u0080\\u0800\\uD800\\uDC00\\uDBFF\\uDFFF\"]");
	reads_as("[\"\xed\x9f\xbf\xee\x80\x80\"]", 0, "[\"\\uD7FF\\uE000\"]");
	reads_as("[\"\\ud800\\udc00\\udbff\\udfff\\ud7ff\\ue000\"]", 0,
	    "[\"\\uD800\\uDC00\\uDBFF\\uDFFF\\uD7FF\\uE000\"]");
	/* DEL and the other printable bytes need no escape. */
	reads_as("[\"\x7f~ \"]", 0, "[\"\x7f~ \"]");
	/* An escaped name is the same name as the plain one. */
	assert_int_equal(rd("{\"a\":1,\"\\u0061\":2}", 0, NULL),
	    OB_ERR_JSON_DUPLICATE);
}

static void
test_syntax(void **state)
{
	static const char *const bad[] = {
		"", "   ", "\"a\"", "1", "true", "\xef\xbb\xbf{}",
		"{", "{\"a\"}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{1:2}",
		"{\"a\":1,}", "[1,]", "[,1]", "[1 2]", "{\"a\":}",
		"[01]", "[-]", "[-x]", "[1.]", "[.5]", "[1.5e]", "[1e+]",
		"[+1]", "[0x10]", "[NaN]", "[Infinity]", "[truex]", "[nul]",
		"[9223372036854775808]", "[-9223372036854775809]", "[1e999]",
		"[-1e999]", "[\"a]", "[\"\\x\"]", "[\"\\u12\"]",
		"[\"\\u12g4\"]", "[\"\\ud800\"]", "[\"\\udc00\"]",
		"[\"\\ud800\\u0041\"]", "[\"\\ud800\\\\u0041\"]",
		"[\"\\u0000\"]", "{\"\\u0000\":1}", "[\"\x01\"]",
		"[\"\n\"]",
		"[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]",
		"[\"\xf4\x90\x80\x80\"]", "[\"\xe2\x82\"]", "[\"\x80\"]",
		"[\xc3\xa9]", "[1\xff]", "[true\xff]",
		/* boundaries: the last control character, the edges of the
		 * low-surrogate range, overlong 3- and 4-byte forms, the
		 * first code point past U+10FFFF, encoded surrogates */
		"[\"\x1f\"]", "[\"\x1fn\"]", "[\"\\ud800\\udbff\"]",
		"[\"\\udbff\\ue000\"]", "[\"\xe0\x9f\xbf\"]",
		"[\"\xf0\x8f\xbf\xbf\"]", "[\"\xf4\x90\x80\x80\"]",
		"[\"\xed\xbf\xbf\"]", "[\"\xc1\xbf\"]",
		"[\"\xf5\x80\x80\x80\"]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rd(bad[i], 0, NULL) != OB_ERR_JSON_SYNTAX)
			fail_msg("accepted or misclassified: case %zu", i);
	/* A raw NUL anywhere, including where jansson drops one. */
	assert_int_equal(rd("[1\0]", 4, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("{\"a\":true\0}", 11, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("[\"a\0\"]", 6, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("{}\0", 3, NULL), OB_ERR_JSON_TRAILING);
}

static void
test_classes(void **state)
{
	(void)state;
	/* Duplicates, found at the name, before anything after it. */
	assert_int_equal(rd("{\"a\":1,\"a\":2}", 0, NULL),
	    OB_ERR_JSON_DUPLICATE);
	assert_int_equal(rd("{\"x\":{\"a\":1,\"a\"", 0, NULL),
	    OB_ERR_JSON_DUPLICATE);
	assert_int_equal(rd("{\"a\":1,\"a\"\xff", 0, NULL),
	    OB_ERR_JSON_DUPLICATE);
	/* ... but not before an earlier error. */
	assert_int_equal(rd("{\"a\":1 x,\"a\":2}", 0, NULL),
	    OB_ERR_JSON_SYNTAX);
	/* After the value: a token or a stray character is trailing; a
	 * malformed string or number, or bad UTF-8, is a syntax error. */
	assert_int_equal(rd("{} x", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("{}{}", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("[1] [2]", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("{} tru", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("{}1x", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("{} \xc3\xa9", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("{}\"\\u0000\"", 0, NULL), OB_ERR_JSON_TRAILING);
	assert_int_equal(rd("{} \xff", 0, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("{}1\xff", 0, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("{} 1e999", 0, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("{}\"\\ud800\"", 0, NULL), OB_ERR_JSON_SYNTAX);
	assert_int_equal(rd("{} \"abc", 0, NULL), OB_ERR_JSON_SYNTAX);
}

static void
test_depth(void **state)
{
	char	*s;
	json_t	*v;
	size_t	 d;

	(void)state;
	/* OB_JSON_MAX_DEPTH arrays nest; one more does not. */
	for (d = OB_JSON_MAX_DEPTH; d <= OB_JSON_MAX_DEPTH + 1; d++) {
		s = malloc(2 * d);
		assert_non_null(s);
		memset(s, '[', d);
		memset(s + d, ']', d);
		assert_int_equal(ob_json_read(s, 2 * d, OB_JSON_MAX_DEPTH, &v),
		    d == OB_JSON_MAX_DEPTH ? OB_OK : OB_ERR_JSON_SYNTAX);
		json_decref(v);
		free(s);
	}
	/* A scalar counts as a level, as in jansson. */
	assert_int_equal(ob_json_read("[[1]]", 5, 2, &v), OB_ERR_JSON_SYNTAX);
	assert_int_equal(ob_json_read("[[]]", 4, 2, &v), OB_OK);
	json_decref(v);
	/* ob_json_parse_object applies the limit and wants an object. */
	assert_int_equal(ob_json_parse_object("[]", 2, &v), OB_ERR_JSON_SYNTAX);
	assert_int_equal(ob_json_parse_object("{\"a\":[]}", 8, &v), OB_OK);
	json_decref(v);
}

/* Long strings with escapes near both ends and bytes just past the end. */
static void
test_bounds(void **state)
{
	char	 buf[600];
	json_t	*v;

	(void)state;
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "[\"\\u0041", 8);
	memcpy(buf + sizeof(buf) - 8, "\\u0042\"]", 8);
	assert_int_equal(ob_json_read(buf, sizeof(buf), 8, &v), OB_OK);
	assert_int_equal(json_string_length(json_array_get(v, 0)),
	    sizeof(buf) - 4 - 12 + 2);
	json_decref(v);
	/* No input at all is a syntax error, not a crash. */
	assert_int_equal(ob_json_read(NULL, 0, 8, &v), OB_ERR_JSON_SYNTAX);
	assert_int_equal(ob_json_read("", 0, 8, &v), OB_ERR_JSON_SYNTAX);
	/* The counted length ends the input even if more bytes follow. */
	assert_int_equal(ob_json_read("[1]]", 3, 8, &v), OB_OK);
	json_decref(v);
	assert_int_equal(ob_json_read("[\"ab\"]", 4, 8, &v),
	    OB_ERR_JSON_SYNTAX);
	assert_int_equal(ob_json_read("[\"\\u00", 6, 8, &v),
	    OB_ERR_JSON_SYNTAX);
	assert_int_equal(ob_json_read("[\"\xe2\x82\xac\"]", 4, 8, &v),
	    OB_ERR_JSON_SYNTAX);
}

/* Errors say where, as an editor counts: line, column (from 1), byte. */
static void
test_error_position(void **state)
{
	(void)state;
	assert_int_equal(rd("{\n \"a\": [\n  1,\n  ]\n}\n", 0, NULL),
	    OB_ERR_JSON_SYNTAX);
	assert_non_null(strstr(ob_err_detail(), "at line 4, column 4 "
	    "(byte 18)"));
	assert_int_equal(rd("{\"a\":1,\"a\":2}", 0, NULL),
	    OB_ERR_JSON_DUPLICATE);
	assert_non_null(strstr(ob_err_detail(), "line 1, column"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_error_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
