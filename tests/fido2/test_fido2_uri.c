/*
 * fido2: URI grammar, the credential file parser, FIDO_ERR_*
 * translation and the makeCredential authenticatorData check
 * (docs/fido2.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/webauthn.h"
#include "tokens/fido2/fido2_int.h"

static void
test_uri_good(void **state)
{
	struct fido2_uri u;

	(void)state;
	assert_int_equal(fido2_uri_parse("fido2:rp=ownerbind:;pub=/k/a%3Bb;"
	    "dev=/dev/hidraw3;cred=AAEC;rk=1;uv=required", &u), OB_OK);
	assert_string_equal(u.rp_id, "ownerbind:");
	assert_string_equal(u.pub, "/k/a;b");
	assert_string_equal(u.dev, "/dev/hidraw3");
	assert_int_equal(u.cred_len, 3);
	assert_memory_equal(u.cred, "\0\1\2", 3);
	assert_int_equal(u.rk, 1);
	assert_int_equal(u.uv, FIDO2_UV_REQUIRED);
	fido2_uri_free(&u);
	assert_int_equal(fido2_uri_parse("fido2:", &u), OB_OK);
	assert_null(u.pub);
	assert_int_equal(u.rk, 0);
	fido2_uri_free(&u);
}

static void
test_uri_bad(void **state)
{
	static const char *const bad[] = {
		"fido:pub=x", "fido2:pub", "fido2:=x", "fido2:pub=",
		"fido2:pub=a;pub=b", "fido2:rk=2", "fido2:uv=maybe",
		"fido2:cred=!!", "fido2:pub=a;", "fido2:slot=1",
		"fido2:pub=%4", "fido2:pub=%zz", "fido2:pub=a%00b",
		"fido2:rk=1;rk=0", "fido2:uv=required;uv=preferred", NULL
	};
	struct fido2_uri	u;
	size_t			i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		memset(&u, 0, sizeof(u));
		if (fido2_uri_parse(bad[i], &u) != OB_ERR_KEY_URI)
			fail_msg("accepted %s", bad[i]);
	}
}

/*
 * Over-long values are refused, and freed: fuzz_uri found the value of
 * rp=, pub= and dev= leaked on this path (its reproducer is in
 * fuzz/corpus/uri; this test shows the leak under ASan).
 */
static void
test_uri_too_long(void **state)
{
	static const char *const attrs[] = { "rp", "pub", "dev" };
	struct fido2_uri	 u;
	char			*s;
	size_t			 i, n = 6 + 3 + 1 + FIDO2_MAX_PATH + 1;

	(void)state;
	assert_non_null(s = malloc(n));
	for (i = 0; i < 3; i++) {
		memset(s, 'a', n - 1);
		s[n - 1] = '\0';
		memcpy(s, "fido2:", 6);
		memcpy(s + 6, attrs[i], strlen(attrs[i]));
		s[6 + strlen(attrs[i])] = '=';
		memset(&u, 0, sizeof(u));
		assert_int_equal(fido2_uri_parse(s, &u), OB_ERR_KEY_URI);
		assert_non_null(strstr(ob_err_detail(), "too long"));
	}
	free(s);
}

static void
test_err_map(void **state)
{
	(void)state;
	assert_int_equal(fido2_err(FIDO_OK, "x", NULL), OB_OK);
	assert_int_equal(fido2_err(FIDO_ERR_PIN_INVALID, "x", NULL),
	    OB_ERR_PIN_INCORRECT);
	assert_int_equal(fido2_err(FIDO_ERR_PIN_AUTH_BLOCKED, "x", NULL),
	    OB_ERR_PIN_INCORRECT);
	assert_int_equal(fido2_err(FIDO_ERR_PIN_BLOCKED, "x", NULL),
	    OB_ERR_PIN_BLOCKED);
	assert_int_equal(fido2_err(FIDO_ERR_USER_ACTION_TIMEOUT, "x", NULL),
	    OB_ERR_TOUCH_TIMEOUT);
	assert_int_equal(fido2_err(FIDO_ERR_KEEPALIVE_CANCEL, "x", NULL),
	    OB_ERR_CANCELLED);
	assert_int_equal(fido2_err(FIDO_ERR_NO_CREDENTIALS, "x", NULL),
	    OB_ERR_KEY_NOT_FOUND);
	assert_int_equal(fido2_err(FIDO_ERR_RX, "x", NULL),
	    OB_ERR_DEVICE_MISSING);
	assert_int_equal(fido2_err(FIDO_ERR_LIMIT_EXCEEDED, "x", NULL),
	    OB_ERR_DEVICE);
	assert_non_null(strstr(ob_err_detail(), "FIDO_ERR_LIMIT_EXCEEDED"));
}

static void
test_dev_missing(void **state)
{
	fido_dev_t *dev = NULL;

	(void)state;
	assert_int_equal(fido2_dev_open("/dev/hidraw-ownerbind-none", &dev),
	    OB_ERR_DEVICE_MISSING);
	assert_null(dev);
}

#define GOOD_JWK "{\"crv\":\"P-256\",\"kty\":\"EC\"," \
	"\"x\":\"PBAahBvO--Z57oZLVfk5xzHE0X2zNtaRVdPxFl4mv3o\"," \
	"\"y\":\"kkfu2ZZrIb_aPTZLFgQq5Ht4_75THN_Alj-dDAwS45o\"}"
#define CF(rp, cred, alg, jwk, aag, uv, extra) "{\"ownerbind_fido2\":1," \
	"\"rp_id\":" rp ",\"credential_id\":" cred ",\"alg\":" alg "," \
	"\"jwk\":" jwk ",\"aaguid\":" aag ",\"uv\":" uv "," \
	"\"backup_eligible\":false,\"resident\":false" extra "}"
#define GOOD CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-es256\"", \
	GOOD_JWK, "\"00112233445566778899aabbccddeeff\"", "\"required\"", "")

static int
credfile(const char *text, struct fido2_cred *c)
{
	char	path[] = "/tmp/ob-credfile-XXXXXX";
	FILE	*f;
	int	fd, r;

	if ((fd = mkstemp(path)) < 0)
		fail_msg("mkstemp");
	if ((f = fdopen(fd, "w")) == NULL)
		fail_msg("fdopen");
	fputs(text, f);
	fclose(f);
	memset(c, 0, sizeof(*c));
	r = fido2_credfile_read(path, c);
	unlink(path);
	return r;
}

static void
test_credfile(void **state)
{
	static const char *const bad[] = {
		CF("\"ownerbind:\"", "\"AAEC\"", "\"ES256\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"", ""),
		CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-eddsa\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"", ""),
		CF("\"ownerbind:\"", "\"AA=C\"", "\"webauthn-es256\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"", ""),
		CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-es256\"",
		    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"", ""),
		CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-es256\"", GOOD_JWK,
		    "\"00112233445566778899AABBCCDDEEFF\"", "\"required\"", ""),
		CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-es256\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"sometimes\"", ""),
		CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-es256\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"",
		    ",\"extra\":1"),
		CF("\"ownerbind:\"", "\"AAEC\"", "\"webauthn-es256\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"",
		    ",\"uv\":\"preferred\""),
		CF("\"\"", "\"AAEC\"", "\"webauthn-es256\"", GOOD_JWK,
		    "\"00112233445566778899aabbccddeeff\"", "\"required\"", ""),
		GOOD "x",
		"[]",
		NULL
	};
	struct fido2_cred	c;
	size_t			i;

	(void)state;
	assert_int_equal(credfile(GOOD, &c), OB_OK);
	assert_string_equal(c.rp_id, "ownerbind:");
	assert_int_equal(c.id_len, 3);
	assert_int_equal(c.alg, OB_ALG_WEBAUTHN_ES256);
	assert_int_equal(c.uv_required, 1);
	fido2_cred_free(&c);
	for (i = 0; bad[i] != NULL; i++)
		if (credfile(bad[i], &c) != OB_ERR_KEY_LOAD)
			fail_msg("accepted bad credential file %zu", i);
	memset(&c, 0, sizeof(c));
	assert_int_equal(fido2_credfile_read("/nonexistent/ob.json", &c),
	    OB_ERR_KEY_NOT_FOUND);
}

/* The from-memory half: the same answers, and its own size bound. */
static void
test_credfile_parse(void **state)
{
	static const char	 good[] = GOOD;
	struct fido2_cred	 c;
	char			*big;
	size_t			 n = 64 * 1024 + 1;

	(void)state;
	assert_int_equal(fido2_credfile_parse("mem", good, sizeof(good) - 1,
	    &c), OB_OK);
	assert_int_equal(c.alg, OB_ALG_WEBAUTHN_ES256);
	fido2_cred_free(&c);
	assert_int_equal(fido2_credfile_parse("mem", good, sizeof(good) - 2,
	    &c), OB_ERR_KEY_LOAD);
	assert_non_null(strstr(ob_err_detail(), "mem: "));
	/* A good file padded with blanks past 64 KiB. */
	assert_non_null(big = malloc(n));
	memset(big, ' ', n);
	memcpy(big, good, sizeof(good) - 1);
	assert_int_equal(fido2_credfile_parse("mem", big, n - 1, &c), OB_OK);
	fido2_cred_free(&c);
	assert_int_equal(fido2_credfile_parse("mem", big, n, &c),
	    OB_ERR_KEY_LOAD);
	assert_non_null(strstr(ob_err_detail(), "too large"));
	free(big);
}

/* makeCredential authenticatorData for rp "ownerbind:", with AT. */
static void
mc_authdata(struct ob_wr *w, uint8_t flags, int cose_ok)
{
	static const uint8_t cose[] = { 0xa1, 0x01, 0x02 };
	uint8_t	h[32], aaguid[16], id[16];

	assert_int_equal(ob_rpid_hash("ownerbind:", h), OB_OK);
	memset(aaguid, 0xaa, sizeof(aaguid));
	memset(id, 0x5c, sizeof(id));
	ob_wr_init_heap(w, 1024);
	assert_int_equal(ob_wr_bytes(w, h, sizeof(h)), OB_OK);
	assert_int_equal(ob_wr_u8(w, flags), OB_OK);
	assert_int_equal(ob_wr_u32(w, 1), OB_OK);
	if ((flags & OB_AD_AT) == 0)
		return;
	assert_int_equal(ob_wr_bytes(w, aaguid, sizeof(aaguid)), OB_OK);
	assert_int_equal(ob_wr_lv16(w, id, sizeof(id)), OB_OK);
	/* a map of one pair, or its first byte only */
	assert_int_equal(ob_wr_bytes(w, cose, cose_ok ? sizeof(cose) : 1),
	    OB_OK);
}

static void
test_mc_authdata(void **state)
{
	struct ob_wr	w;
	const uint8_t	up = OB_AD_UP, uv = OB_AD_UV, at = OB_AD_AT;

	(void)state;
	mc_authdata(&w, up | at, 1);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 0), OB_OK);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "other", 0), OB_ERR_FIDO_RPID);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), 36,
	    "ownerbind:", 0), OB_ERR_FIDO_RPID);
	assert_int_equal(fido2_check_mc_authdata(NULL, 0, "ownerbind:", 0),
	    OB_ERR_FIDO_RPID);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 1), OB_ERR_FIDO_UV);
	/* One byte more than the structure holds. */
	assert_int_equal(ob_wr_u8(&w, 0), OB_OK);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 0), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);
	mc_authdata(&w, up | uv | at, 1);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 1), OB_OK);
	ob_wr_free(&w);
	mc_authdata(&w, at, 1);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 0), OB_ERR_FIDO_UP);
	ob_wr_free(&w);
	mc_authdata(&w, up, 1);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 0), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);
	/* The credential key's map is cut short. */
	mc_authdata(&w, up | at, 0);
	assert_int_equal(fido2_check_mc_authdata(ob_wr_ptr(&w), ob_wr_len(&w),
	    "ownerbind:", 0), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_good),
		cmocka_unit_test(test_uri_bad),
		cmocka_unit_test(test_uri_too_long),
		cmocka_unit_test(test_err_map),
		cmocka_unit_test(test_dev_missing),
		cmocka_unit_test(test_credfile),
		cmocka_unit_test(test_credfile_parse),
		cmocka_unit_test(test_mc_authdata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
