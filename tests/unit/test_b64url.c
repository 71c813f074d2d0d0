/*
 * Strict base64url and strict padded standard base64 (x5c): RFC 4648
 * vectors, one accepted encoding per input.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tests/unit/obtest.h"
#include "core/b64url.h"

static int
dec(const char *s, unsigned char **out, size_t *n)
{
	return ob_b64url_decode(s, strlen(s), 1024, out, n);
}

static void
test_rfc4648(void **state)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	unsigned char	*d;
	char		*e;
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(ob_b64url_encode((const unsigned char *)v[i][0],
		    strlen(v[i][0]), &e), OB_OK);
		assert_string_equal(e, v[i][1]);
		free(e);
		assert_int_equal(dec(v[i][1], &d, &n), OB_OK);
		assert_int_equal(n, strlen(v[i][0]));
		assert_memory_equal(d, v[i][0], n);
		free(d);
	}
	/* The URL-safe alphabet: 0xfb 0xff -> "-_8". */
	assert_int_equal(ob_b64url_encode((const unsigned char *)"\xfb\xff", 2,
	    &e), OB_OK);
	assert_string_equal(e, "-_8");
	free(e);
}

static void
test_round_trip(void **state)
{
	unsigned char	 buf[97], *d;
	char		*e;
	size_t		 len, n;

	(void)state;
	for (len = 0; len < sizeof(buf); len++) {
		assert_int_equal(RAND_bytes(buf, (int)sizeof(buf)), 1);
		assert_int_equal(ob_b64url_encode(buf, len, &e), OB_OK);
		assert_int_equal(strlen(e), ob_b64url_enclen(len));
		assert_int_equal(dec(e, &d, &n), OB_OK);
		assert_int_equal(n, len);
		assert_memory_equal(d, buf, len);
		free(d);
		free(e);
	}
}

static void
test_rejects(void **state)
{
	static const struct { const char *in; int want; } v[] = {
		{ "Zg==", OB_ERR_B64_INVALID },		/* padding */
		{ "Zm9v=", OB_ERR_B64_INVALID },
		{ "+/8", OB_ERR_B64_INVALID },		/* standard alphabet */
		{ "Zm 9v", OB_ERR_B64_INVALID },	/* whitespace */
		{ "Zm9v\n", OB_ERR_B64_INVALID },
		{ "Z", OB_ERR_B64_INVALID },		/* impossible length */
		{ "Zm9vY", OB_ERR_B64_INVALID },
		{ "Zh", OB_ERR_B64_NONCANONICAL },	/* "f" is Zg */
		{ "Zm9", OB_ERR_B64_NONCANONICAL },	/* "fo" is Zm8 */
		{ "-_9", OB_ERR_B64_NONCANONICAL },
	};
	static unsigned char untouched[] = "untouched";
	unsigned char	*d = untouched;
	size_t		 i, n = 12345;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(dec(v[i].in, &d, &n), v[i].want);
		assert_string_equal((char *)d, "untouched");
		assert_int_equal(n, 12345);
	}
	/* A NUL inside the counted length is not base64url either. */
	assert_int_equal(ob_b64url_decode("Zm\0v", 4, 16, &d, &n),
	    OB_ERR_B64_INVALID);
	assert_int_equal(ob_b64url_decode("Zm9vYmFy", 8, 5, &d, &n),
	    OB_ERR_ENV_TOO_LARGE);
}

/* Every byte value: accepted exactly when it is in the alphabet. */
static void
test_every_byte(void **state)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char	*d;
	char		 s[5];
	size_t		 n;
	const char	*p;
	int		 c, pos;

	(void)state;
	for (c = 0; c < 256; c++) {
		for (pos = 0; pos < 4; pos++) {
			memcpy(s, "AAAA", 5);
			s[pos] = (char)c;
			p = c != 0 ? strchr(alphabet, c) : NULL;
			if (p == NULL) {
				assert_int_equal(ob_b64url_decode(s, 4, 16, &d,
				    &n), OB_ERR_B64_INVALID);
				continue;
			}
			assert_int_equal(ob_b64url_decode(s, 4, 16, &d, &n),
			    OB_OK);
			assert_int_equal(n, 3);
			/* The value lands in the right 6 bits. */
			assert_int_equal((d[0] << 16 | d[1] << 8 | d[2]) >>
			    (18 - 6 * pos) & 63, p - alphabet);
			free(d);
		}
	}
}

static int
dec64(const char *s, unsigned char **out, size_t *n)
{
	return ob_b64_decode(s, strlen(s), 1024, out, n);
}

/* Standard base64 (x5c): RFC 4648 section 10 vectors, padded. */
static void
test_std_rfc4648(void **state)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff", "+/8=" },
	};
	unsigned char	*d;
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(dec64(v[i][1], &d, &n), OB_OK);
		assert_int_equal(n, strlen(v[i][0]));
		assert_memory_equal(d, v[i][0], n);
		free(d);
	}
}

/* Against OpenSSL's encoder: every length, random bytes. */
static void
test_std_round_trip(void **state)
{
	unsigned char	 buf[97], *d;
	char		 e[4 * sizeof(buf) / 3 + 8];
	size_t		 len, n;

	(void)state;
	for (len = 0; len < sizeof(buf); len++) {
		assert_int_equal(RAND_bytes(buf, (int)sizeof(buf)), 1);
		(void)EVP_EncodeBlock((unsigned char *)e, buf, (int)len);
		assert_int_equal(dec64(e, &d, &n), OB_OK);
		assert_int_equal(n, len);
		assert_memory_equal(d, buf, len);
		free(d);
	}
}

static void
test_std_rejects(void **state)
{
	static const struct { const char *in; int want; } v[] = {
		{ "Zg", OB_ERR_B64_INVALID },		/* padding missing */
		{ "Zg=", OB_ERR_B64_INVALID },
		{ "Zm8", OB_ERR_B64_INVALID },
		{ "Zg===", OB_ERR_B64_INVALID },	/* too much */
		{ "Zm9v====", OB_ERR_B64_INVALID },
		{ "====", OB_ERR_B64_INVALID },
		{ "Z===", OB_ERR_B64_INVALID },
		{ "Zm=v", OB_ERR_B64_INVALID },		/* '=' inside */
		{ "Zg==Zm9v", OB_ERR_B64_INVALID },
		{ "Zm9v=Zg=", OB_ERR_B64_INVALID },
		{ "Z=g=", OB_ERR_B64_INVALID },
		{ "-_8=", OB_ERR_B64_INVALID },		/* base64url alphabet */
		{ "Zm9v\n", OB_ERR_B64_INVALID },	/* whitespace */
		{ "Zm9 v", OB_ERR_B64_INVALID },
		{ " Zm9v", OB_ERR_B64_INVALID },
		{ "Zm9v\r\n", OB_ERR_B64_INVALID },
		{ "Zh==", OB_ERR_B64_NONCANONICAL },	/* "f" is Zg== */
		{ "Zm9=", OB_ERR_B64_NONCANONICAL },	/* "fo" is Zm8= */
		{ "+/9=", OB_ERR_B64_NONCANONICAL },
	};
	static unsigned char untouched[] = "untouched";
	unsigned char	*d = untouched;
	size_t		 i, n = 12345;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (dec64(v[i].in, &d, &n) != v[i].want)
			fail_msg("\"%s\": %s", v[i].in, ob_err_detail());
		assert_string_equal((char *)d, "untouched");
		assert_int_equal(n, 12345);
	}
	assert_int_equal(ob_b64_decode("Zm\0v", 4, 16, &d, &n),
	    OB_ERR_B64_INVALID);
	assert_int_equal(ob_b64_decode("Zm9vYmE=", 8, 4, &d, &n),
	    OB_ERR_ENV_TOO_LARGE);
}

/* Every byte value in every position of a group, and as padding. */
static void
test_std_every_byte(void **state)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char	*d;
	char		 s[9];
	size_t		 n;
	const char	*p;
	int		 c, pos;

	(void)state;
	for (c = 0; c < 256; c++) {
		for (pos = 0; pos < 4; pos++) {
			memcpy(s, "AAAAAA==", 9);
			s[pos] = (char)c;
			p = c != 0 ? strchr(alphabet, c) : NULL;
			if (p == NULL) {
				assert_int_equal(ob_b64_decode(s, 8, 16, &d,
				    &n), OB_ERR_B64_INVALID);
				continue;
			}
			assert_int_equal(ob_b64_decode(s, 8, 16, &d, &n),
			    OB_OK);
			assert_int_equal(n, 4);
			assert_int_equal((d[0] << 16 | d[1] << 8 | d[2]) >>
			    (18 - 6 * pos) & 63, p - alphabet);
			free(d);
		}
		/* Last character after a '=': only '=' itself. */
		memcpy(s, "AAAAAA==", 9);
		s[7] = (char)c;
		if (c == '=') {
			assert_int_equal(ob_b64_decode(s, 8, 16, &d, &n), OB_OK);
			free(d);
		} else
			assert_int_not_equal(ob_b64_decode(s, 8, 16, &d, &n),
			    OB_OK);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_std_rfc4648),
		cmocka_unit_test(test_std_round_trip),
		cmocka_unit_test(test_std_rejects),
		cmocka_unit_test(test_std_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
