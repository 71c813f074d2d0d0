/*
 * core/hex.h: the lowercase encoder against fixed vectors, its
 * too-small buffer, and the decoder taking back what it wrote.
 */
#include <string.h>

#include "tests/unit/obtest.h"
#include "core/hex.h"

static void
test_encode(void **state)
{
	static const unsigned char	 b[] = { 0x00, 0x01, 0x7f, 0x80,
	    0xab, 0xcd, 0xef, 0xff };
	char				 out[2 * sizeof(b) + 1];

	(void)state;
	assert_int_equal(ob_bin_to_hex(b, sizeof(b), out, sizeof(out)), 0);
	assert_string_equal(out, "00017f80abcdefff");
	/* Nothing in, an empty string out. */
	assert_int_equal(ob_bin_to_hex(b, 0, out, 1), 0);
	assert_string_equal(out, "");
}

static void
test_too_small(void **state)
{
	static const unsigned char	 b[] = { 0xde, 0xad };
	char				 out[8];

	(void)state;
	/* One byte short (no room for the NUL): refused, out untouched. */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(ob_bin_to_hex(b, sizeof(b), out, 4), -1);
	assert_int_equal(ob_bin_to_hex(b, 0, out, 0), -1);
	assert_int_equal(ob_bin_to_hex(b, (size_t)-1 / 2, out, sizeof(out)),
	    -1);
	assert_memory_equal(out, "ZZZZZZZZ", sizeof(out));
	/* Exactly enough. */
	assert_int_equal(ob_bin_to_hex(b, sizeof(b), out, 5), 0);
	assert_string_equal(out, "dead");
}

static void
test_round_trip(void **state)
{
	unsigned char	b[256], back[256];
	char		out[2 * sizeof(b) + 1];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)i;
	assert_int_equal(ob_bin_to_hex(b, sizeof(b), out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 2 * sizeof(b));
	assert_int_equal(strspn(out, "0123456789abcdef"), 2 * sizeof(b));
	assert_int_equal(ob_hex_to_bin(out, back, sizeof(back)), 0);
	assert_memory_equal(back, b, sizeof(b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
