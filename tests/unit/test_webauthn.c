/*
 * core/webauthn.c: authenticatorData through core/buf.  The head alone;
 * the whole structure with attested credential data and extensions; the
 * CBOR walk's refusals (indefinite, reserved, overruns, depth); every
 * failure is OB_ERR_FIDO_AUTHDATA, never a cursor code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/webauthn.h"

/* A COSE_Key for ES256: {1: 2, 3: -7, -1: 1, -2: x, -3: y} */
static void
put_cose(struct ob_wr *w)
{
	static const uint8_t hdr[] = { 0xa5, 0x01, 0x02, 0x03, 0x26, 0x20,
	    0x01 };
	uint8_t	c[32];

	memset(c, 0x33, sizeof(c));
	assert_int_equal(ob_wr_bytes(w, hdr, sizeof(hdr)), OB_OK);
	assert_int_equal(ob_wr_u16(w, 0x2158), OB_OK);	/* -2: bstr(32) */
	assert_int_equal(ob_wr_u8(w, 0x20), OB_OK);
	assert_int_equal(ob_wr_bytes(w, c, sizeof(c)), OB_OK);
	assert_int_equal(ob_wr_u16(w, 0x2258), OB_OK);	/* -3: bstr(32) */
	assert_int_equal(ob_wr_u8(w, 0x20), OB_OK);
	assert_int_equal(ob_wr_bytes(w, c, sizeof(c)), OB_OK);
}

/* The head: rpIdHash 0x11.., flags, signCount 0x01020304. */
static void
put_head(struct ob_wr *w, uint8_t flags)
{
	uint8_t	h[32];

	memset(h, 0x11, sizeof(h));
	assert_int_equal(ob_wr_bytes(w, h, sizeof(h)), OB_OK);
	assert_int_equal(ob_wr_u8(w, flags), OB_OK);
	assert_int_equal(ob_wr_u32(w, 0x01020304), OB_OK);
}

/* AT data: aaguid 0xaa.., a credential id of idlen bytes 0x5c. */
static void
put_attested(struct ob_wr *w, size_t idlen)
{
	uint8_t	aaguid[16], id[1100];

	memset(aaguid, 0xaa, sizeof(aaguid));
	memset(id, 0x5c, sizeof(id));
	assert_int_equal(ob_wr_bytes(w, aaguid, sizeof(aaguid)), OB_OK);
	assert_int_equal(ob_wr_lv16(w, id, idlen), OB_OK);
}

static int
parse(struct ob_wr *w, struct ob_authdata *a)
{
	return ob_authdata_parse(ob_wr_ptr(w), ob_wr_len(w), a);
}

static void
test_head(void **state)
{
	struct ob_authdata	a;
	struct ob_wr		w;

	(void)state;
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT);
	assert_int_equal(ob_authdata_head(ob_wr_ptr(&w), 36, &a),
	    OB_ERR_FIDO_AUTHDATA);
	assert_int_equal(ob_authdata_head(NULL, 0, &a), OB_ERR_FIDO_AUTHDATA);
	/* AT is set with nothing after it: the head does not look. */
	assert_int_equal(ob_authdata_head(ob_wr_ptr(&w), ob_wr_len(&w), &a),
	    OB_OK);
	assert_int_equal(a.flags, OB_AD_UP | OB_AD_AT);
	assert_int_equal(a.counter, 0x01020304);
	assert_int_equal(a.rpid_hash[31], 0x11);
	assert_int_equal(a.len, OB_AUTHDATA_MINLEN);
	assert_null(a.aaguid);
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);
}

static void
test_assertion(void **state)
{
	struct ob_authdata	a;
	struct ob_wr		w;

	(void)state;
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_UV);
	assert_int_equal(parse(&w, &a), OB_OK);
	assert_null(a.aaguid);
	assert_null(a.ext);
	/* One byte after the head, with AT and ED clear. */
	assert_int_equal(ob_wr_u8(&w, 0), OB_OK);
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	assert_non_null(strstr(ob_err_detail(), "authenticatorData"));
	ob_wr_free(&w);
}

static void
test_attested(void **state)
{
	struct ob_authdata	a;
	struct ob_wr		w;
	size_t			start;

	(void)state;
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT);
	put_attested(&w, 64);
	start = ob_wr_len(&w);
	put_cose(&w);
	assert_int_equal(parse(&w, &a), OB_OK);
	assert_ptr_equal(a.aaguid, ob_wr_ptr(&w) + 37);
	assert_int_equal(a.cred_id_len, 64);
	assert_ptr_equal(a.cred_id, ob_wr_ptr(&w) + 37 + 16 + 2);
	assert_ptr_equal(a.cose_key, ob_wr_ptr(&w) + start);
	assert_int_equal(a.cose_key_len, ob_wr_len(&w) - start);
	assert_null(a.ext);
	/* Cut anywhere: refused, with the FIDO code. */
	for (start = 0; start < ob_wr_len(&w); start++)
		assert_int_equal(ob_authdata_parse(ob_wr_ptr(&w), start, &a),
		    OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);

	/* Credential ids of 0 and 1024 bytes; 1023 is the most. */
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT);
	put_attested(&w, 0);
	put_cose(&w);
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT);
	put_attested(&w, 1024);
	put_cose(&w);
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT);
	put_attested(&w, 1023);
	put_cose(&w);
	assert_int_equal(parse(&w, &a), OB_OK);
	assert_int_equal(a.cred_id_len, 1023);
	ob_wr_free(&w);

	/* The key is a map, not an array. */
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT);
	put_attested(&w, 16);
	assert_int_equal(ob_wr_u8(&w, 0x80), OB_OK);
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	assert_non_null(strstr(ob_err_detail(), "not a CBOR map"));
	ob_wr_free(&w);
}

static void
test_extensions(void **state)
{
	/* {"credProtect": 2} */
	static const uint8_t ext[] = { 0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P',
	    'r', 'o', 't', 'e', 'c', 't', 0x02 };
	struct ob_authdata	a;
	struct ob_wr		w;
	size_t			start;

	(void)state;
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_AT | OB_AD_ED);
	put_attested(&w, 16);
	put_cose(&w);
	start = ob_wr_len(&w);
	assert_int_equal(ob_wr_bytes(&w, ext, sizeof(ext)), OB_OK);
	assert_int_equal(parse(&w, &a), OB_OK);
	assert_ptr_equal(a.ext, ob_wr_ptr(&w) + start);
	assert_int_equal(a.ext_len, sizeof(ext));
	assert_int_equal(ob_wr_u8(&w, 0xa0), OB_OK);	/* a second map */
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	ob_wr_free(&w);

	/* ED alone; ED with nothing after the head. */
	ob_wr_init_heap(&w, 4096);
	put_head(&w, OB_AD_UP | OB_AD_ED);
	assert_int_equal(parse(&w, &a), OB_ERR_FIDO_AUTHDATA);
	assert_int_equal(ob_wr_bytes(&w, ext, sizeof(ext)), OB_OK);
	assert_int_equal(parse(&w, &a), OB_OK);
	assert_null(a.aaguid);
	assert_int_equal(a.ext_len, sizeof(ext));
	ob_wr_free(&w);
}

/* The extensions field carries each CBOR case: head, flags ED, then it. */
static int
ext_case(const uint8_t *cbor, size_t n)
{
	struct ob_authdata	a;
	struct ob_wr		w;
	int			r;

	ob_wr_init_heap(&w, 8192);
	put_head(&w, OB_AD_UP | OB_AD_ED);
	assert_int_equal(ob_wr_bytes(&w, cbor, n), OB_OK);
	r = parse(&w, &a);
	ob_wr_free(&w);
	return r;
}

static void
test_cbor(void **state)
{
	static const struct {
		uint8_t	b[24];
		size_t	n;
		int	ok;
	} v[] = {
		{ { 0xa0 }, 1, 1 },				/* {} */
		/* every argument width: {0: 24, 1: 256, 2: 2^16, 3: 2^32} */
		{ { 0xa4, 0x00, 0x18, 0x18, 0x01, 0x19, 0x01, 0x00, 0x02,
		    0x1a, 0x00, 0x01, 0x00, 0x00, 0x03, 0x1b, 0x00, 0x00, 0x00,
		    0x01, 0x00, 0x00, 0x00, 0x00 }, 24, 1 },
		{ { 0xa1, 0x01, 0xc0, 0x61, 'x' }, 5, 1 },	/* tagged */
		{ { 0xa1, 0x01, 0xf8, 0x20 }, 4, 1 },		/* simple(32) */
		{ { 0xa1, 0x01, 0xf9, 0x3c, 0x00 }, 5, 1 },	/* 1.0 half */
		{ { 0xa1, 0x01, 0xf8, 0x10 }, 4, 0 },		/* simple < 32 */
		{ { 0xbf, 0x01, 0x02, 0xff }, 4, 0 },		/* indefinite */
		{ { 0xa1, 0x01, 0x5f, 0xff }, 4, 0 },		/* indef. bstr */
		{ { 0xa1, 0x01, 0x1c }, 3, 0 },			/* reserved */
		{ { 0xa1, 0x01, 0xff }, 3, 0 },			/* lone break */
		{ { 0xa1, 0x01, 0x59, 0xff, 0xff, 0x00 }, 6, 0 },/* overrun */
		{ { 0xa1, 0x01, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff }, 11, 0 },			/* 2^64 - 1 */
		{ { 0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		    9, 0 },					/* count */
		{ { 0xbb, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
		    9, 0 },				/* 2 * 2^63 wraps to 0 */
		{ { 0xa2, 0x01, 0x02 }, 3, 0 },			/* too few */
		{ { 0xa1, 0x01, 0x19, 0x01 }, 4, 0 },		/* cut arg */
		{ { 0x80 }, 1, 0 },				/* not a map */
	};
	uint8_t	deep[2 + 9];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(ext_case(v[i].b, v[i].n), v[i].ok ? OB_OK :
		    OB_ERR_FIDO_AUTHDATA);
	/* {1: [[[[[[[ 0 ]]]]]]]}: the 0 at depth 8 is allowed, at 9 not. */
	deep[0] = 0xa1;
	deep[1] = 0x01;
	memset(deep + 2, 0x81, 7);
	deep[9] = 0x00;
	assert_int_equal(ext_case(deep, 10), OB_OK);
	memset(deep + 2, 0x81, 8);
	deep[10] = 0x00;
	assert_int_equal(ext_case(deep, 11), OB_ERR_FIDO_AUTHDATA);
	assert_non_null(strstr(ob_err_detail(), "too deep"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_assertion),
		cmocka_unit_test(test_attested),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_cbor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
