/* core/buf.c: every read bounded, taint latches, trailing bytes refused,
 * writers bounded and wiped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"

static void
test_read_integers(void **state)
{
	static const uint8_t	 b[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
	    0x12, 0x13 };
	struct ob_rd		 r;
	uint8_t			 u8 = 0;
	uint16_t		 u16 = 0;
	uint32_t		 u32 = 0;
	uint64_t		 u64 = 0;

	(void)state;
	ob_rd_init(&r, b, sizeof(b));
	assert_int_equal(ob_rd_u8(&r, &u8), OB_OK);
	assert_int_equal(u8, 0x01);
	assert_int_equal(ob_rd_u16(&r, &u16), OB_OK);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(ob_rd_u32(&r, &u32), OB_OK);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(ob_rd_u64(&r, &u64), OB_OK);
	assert_true(u64 == 0x08090a0b0c0d0e0fULL);
	assert_int_equal(ob_rd_u16_le(&r, &u16), OB_OK);
	assert_int_equal(u16, 0x1110);
	assert_int_equal(ob_rd_left(&r), 2);
	assert_int_equal(ob_rd_end(&r), OB_ERR_TRAILING);
	assert_int_equal(ob_rd_u32_le(&r, &u32), OB_ERR_TRUNCATED);
	assert_int_equal(u32, 0x04050607);	/* untouched on failure */
}

static void
test_taint_latches(void **state)
{
	static const uint8_t	 b[] = { 0xaa, 0xbb, 0xcc };
	struct ob_rd		 r;
	uint32_t		 v = 7;
	uint8_t			 u8 = 9;

	(void)state;
	ob_rd_init(&r, b, sizeof(b));
	assert_int_equal(ob_rd_u32(&r, &v), OB_ERR_TRUNCATED);
	assert_int_equal(v, 7);
	/* the byte that is there is not handed out once tainted */
	assert_int_equal(ob_rd_u8(&r, &u8), OB_ERR_TRUNCATED);
	assert_int_equal(u8, 9);
	assert_int_equal(ob_rd_left(&r), 0);
	assert_int_equal(ob_rd_err(&r), OB_ERR_TRUNCATED);
	assert_int_equal(ob_rd_end(&r), OB_ERR_TRUNCATED);
	assert_int_equal(ob_rd_fail(&r, OB_ERR_ATTEST_INVALID),
	    OB_ERR_TRUNCATED);	/* first failure wins */
}

static void
test_length_prefixed(void **state)
{
	static const uint8_t	 b[] = { 0x00, 0x03, 'a', 'b', 'c', 0x00,
	    0x05, 'x' };
	struct ob_rd		 r;
	const uint8_t		*p = NULL;
	size_t			 n = 0;

	(void)state;
	ob_rd_init(&r, b, sizeof(b));
	assert_int_equal(ob_rd_lv16(&r, 3, &p, &n), OB_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	/* declared 5, only 1 present */
	assert_int_equal(ob_rd_lv16(&r, 16, &p, &n), OB_ERR_TRUNCATED);
	assert_int_equal(n, 3);

	ob_rd_init(&r, b, sizeof(b));
	assert_int_equal(ob_rd_lv16(&r, 2, &p, &n), OB_ERR_FIELD_TOO_LONG);
	assert_int_equal(ob_rd_err(&r), OB_ERR_FIELD_TOO_LONG);
}

static void
test_sub_expect_rest(void **state)
{
	static const uint8_t	 b[] = { 'h', 'd', 'r', 1, 2, 3, 4, 5 };
	struct ob_rd		 r, sub;
	const uint8_t		*p;
	size_t			 n;
	uint8_t			 u8;

	(void)state;
	ob_rd_init(&r, b, sizeof(b));
	assert_int_equal(ob_rd_expect(&r, "hdr", 3, OB_ERR_ATTEST_INVALID),
	    OB_OK);
	assert_int_equal(ob_rd_sub(&r, 2, &sub), OB_OK);
	assert_int_equal(ob_rd_u8(&sub, &u8), OB_OK);
	assert_int_equal(ob_rd_end(&sub), OB_ERR_TRAILING);
	assert_int_equal(ob_rd_u8(&sub, &u8), OB_OK);
	assert_int_equal(ob_rd_end(&sub), OB_OK);
	assert_int_equal(ob_rd_u8(&sub, &u8), OB_ERR_TRUNCATED);
	assert_int_equal(ob_rd_err(&r), OB_OK);	/* the parent is not */
	assert_int_equal(ob_rd_rest(&r, &p, &n), OB_OK);
	assert_int_equal(n, 3);
	assert_int_equal(p[0], 3);
	assert_int_equal(ob_rd_end(&r), OB_OK);

	ob_rd_init(&r, b, sizeof(b));
	assert_int_equal(ob_rd_expect(&r, "hdx", 3, OB_ERR_ATTEST_INVALID),
	    OB_ERR_ATTEST_INVALID);
	assert_int_equal(ob_rd_offset(&r), 0);
	assert_int_equal(ob_rd_sub(&r, 1, &sub), OB_ERR_ATTEST_INVALID);

	ob_rd_init(&r, NULL, 10);	/* no bytes, whatever the length */
	assert_int_equal(ob_rd_left(&r), 0);
	/* zero bytes from no buffer: defined (UBSan checks p + 0) */
	assert_int_equal(ob_rd_bytes(&r, 0, &p), OB_OK);
	assert_non_null(p);
	assert_int_equal(ob_rd_end(&r), OB_OK);
}

static void
test_fixed_writer(void **state)
{
	uint8_t		 buf[8];
	struct ob_wr	 w;
	uint8_t		*len;

	(void)state;
	ob_wr_init_fixed(&w, buf, sizeof(buf));
	assert_int_equal(ob_wr_u8(&w, 0x7f), OB_OK);
	assert_non_null(len = ob_wr_reserve(&w, 2));
	assert_int_equal(ob_wr_bytes(&w, "abc", 3), OB_OK);
	assert_int_equal(ob_wr_patch_u16(&w, 1, 3), OB_OK);
	assert_int_equal(ob_wr_len(&w), 6);
	assert_memory_equal(ob_wr_ptr(&w), "\x7f\x00\x03" "abc", 6);
	assert_int_equal(ob_wr_patch_u16(&w, 5, 1), OB_ERR_INVALID_ARG);
	ob_wr_free(&w);
	/* the buffer was wiped */
	assert_memory_equal(buf, "\0\0\0\0\0\0", 6);

	ob_wr_init_fixed(&w, buf, sizeof(buf));
	assert_int_equal(ob_wr_u64(&w, 1), OB_OK);
	assert_int_equal(ob_wr_u8(&w, 1), OB_ERR_BUF_FULL);
	assert_int_equal(ob_wr_err(&w), OB_ERR_BUF_FULL);
	assert_null(ob_wr_ptr(&w));
	assert_int_equal(ob_wr_u8(&w, 1), OB_ERR_BUF_FULL);
	{
		uint8_t	*out = NULL;
		size_t	 n = 0;

		assert_int_not_equal(ob_wr_take(&w, &out, &n), OB_OK);
		assert_null(out);
	}
	ob_wr_free(&w);
}

static void
test_heap_writer(void **state)
{
	struct ob_wr	 w;
	uint8_t		*out = NULL, big[300];
	size_t		 n = 0, i;

	(void)state;
	memset(big, 0x5a, sizeof(big));
	ob_wr_init_heap(&w, 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(ob_wr_lv16(&w, big, sizeof(big)), OB_OK);
	assert_int_equal(ob_wr_len(&w), 3 * 302);
	assert_int_equal(ob_wr_lv16(&w, big, sizeof(big)), OB_ERR_BUF_FULL);
	ob_wr_free(&w);

	ob_wr_init_heap(&w, 1000);
	assert_int_equal(ob_wr_lv8(&w, big, 256), OB_ERR_FIELD_TOO_LONG);
	ob_wr_free(&w);

	ob_wr_init_heap(&w, 1000);
	assert_int_equal(ob_wr_u32(&w, 0xdeadbeef), OB_OK);
	assert_int_equal(ob_wr_lv8(&w, "hi", 2), OB_OK);
	assert_int_equal(ob_wr_take(&w, &out, &n), OB_OK);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "\xde\xad\xbe\xef\x02hi", 7);
	assert_int_equal(ob_wr_len(&w), 0);
	free(out);
	ob_wr_free(&w);
}

static void
test_round_trip(void **state)
{
	struct ob_wr	 w;
	struct ob_rd	 r;
	uint8_t		*out = NULL;
	const uint8_t	*p;
	size_t		 n, m, k;
	uint32_t	 v;

	(void)state;
	ob_wr_init_heap(&w, 64);
	assert_int_equal(ob_wr_u32(&w, 42), OB_OK);
	assert_int_equal(ob_wr_lv32(&w, "payload", 7), OB_OK);
	assert_int_equal(ob_wr_take(&w, &out, &n), OB_OK);
	ob_rd_init(&r, out, n);
	assert_int_equal(ob_rd_u32(&r, &v), OB_OK);
	assert_int_equal(v, 42);
	assert_int_equal(ob_rd_lv32(&r, 7, &p, &m), OB_OK);
	assert_memory_equal(p, "payload", 7);
	assert_int_equal(ob_rd_end(&r), OB_OK);
	/* every truncation of it fails to parse */
	for (k = 0; k < n; k++) {
		ob_rd_init(&r, out, k);
		if (ob_rd_u32(&r, &v) == OB_OK)
			assert_int_not_equal(ob_rd_lv32(&r, 7, &p, &m), OB_OK);
		assert_int_not_equal(ob_rd_end(&r), OB_OK);
	}
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_integers),
		cmocka_unit_test(test_taint_latches),
		cmocka_unit_test(test_length_prefixed),
		cmocka_unit_test(test_sub_expect_rest),
		cmocka_unit_test(test_fixed_writer),
		cmocka_unit_test(test_heap_writer),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
