/*
 * Unit tests: the PIV response parsers (tokens/piv/piv_tlv.c) and piv:
 * URIs (tokens/piv/piv_uri.c).  No card, no pcscd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tokens/piv/piv_int.h"

static void
test_tlv_forms(void **state)
{
	/* 1-, 2- and 3-byte tags; short, 81 and 82 lengths. */
	static const uint8_t ok[] = {
		0x01, 0x01, 0xaa,
		0x7f, 0x49, 0x00,
		0x5f, 0xc1, 0x05, 0x00,
	};
	uint8_t big[4 + 300];
	struct piv_cur c;
	struct piv_tlv t;

	(void)state;
	piv_cur_init(&c, ok, sizeof(ok));
	assert_int_equal(piv_tlv_next(&c, &t), OB_OK);
	assert_int_equal(t.tag, 0x01);
	assert_int_equal(t.len, 1);
	assert_int_equal(piv_tlv_next(&c, &t), OB_OK);
	assert_int_equal(t.tag, 0x7f49);
	assert_int_equal(piv_tlv_next(&c, &t), OB_OK);
	assert_int_equal(t.tag, 0x5fc105);
	assert_int_equal(c.left, 0);
	assert_int_equal(piv_tlv_next(&c, &t), OB_ERR_DEVICE);

	memset(big, 0, sizeof(big));
	big[0] = 0x70;
	big[1] = 0x82;		/* 0x012c = 300 */
	big[2] = 0x01;
	big[3] = 0x2c;
	assert_int_equal(piv_tlv_one(big, sizeof(big), 0x70, &t), OB_OK);
	assert_int_equal(t.len, 300);
}

static void
test_tlv_rejects(void **state)
{
	static const struct { uint8_t b[8]; size_t n; } bad[] = {
		{ { 0x01 }, 1 },				/* no length */
		{ { 0x01, 0x02, 0xaa }, 3 },			/* overrun */
		{ { 0x01, 0x80, 0x00, 0x00 }, 4 },		/* indefinite */
		{ { 0x01, 0x83, 0, 0, 1, 0 }, 6 },		/* 3 length bytes */
		{ { 0x01, 0x81, 0x05, 1, 2, 3, 4, 5 }, 8 },	/* non-minimal */
		{ { 0x01, 0x82, 0x00, 0x01, 0xaa }, 5 },	/* non-minimal */
		{ { 0x5f, 0xc1, 0x85, 0x01, 0x00 }, 5 },	/* 4-byte tag */
		{ { 0x5f }, 1 },				/* tag cut */
		{ { 0x01, 0x81 }, 2 },				/* length cut */
	};
	struct piv_cur c;
	struct piv_tlv t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		piv_cur_init(&c, bad[i].b, bad[i].n);
		assert_int_equal(piv_tlv_next(&c, &t), OB_ERR_DEVICE);
		/* The cursor did not move. */
		assert_int_equal(c.left, bad[i].n);
	}
	/* piv_tlv_one: trailing byte, wrong tag. */
	assert_int_equal(piv_tlv_one((const uint8_t *)"\x53\x00\x00", 3, 0x53,
	    &t), OB_ERR_DEVICE);
	assert_int_equal(piv_tlv_one((const uint8_t *)"\x54\x00", 2, 0x53, &t),
	    OB_ERR_DEVICE);
}

static void
test_responses(void **state)
{
	static const uint8_t sig[] = {
		0x7c, 0x0a, 0x82, 0x08, 0x30, 0x06, 0x02, 0x01, 0x01,
		0x02, 0x01, 0x01
	};
	static const uint8_t cert[] = {
		0x53, 0x09, 0x70, 0x02, 0x30, 0x00, 0x71, 0x01, 0x00, 0xfe,
		0x00
	};
	static const uint8_t gz[] = {
		0x53, 0x09, 0x70, 0x02, 0x30, 0x00, 0x71, 0x01, 0x01, 0xfe,
		0x00
	};
	static const uint8_t dup[] = {
		0x53, 0x08, 0x70, 0x02, 0x30, 0x00, 0x70, 0x02, 0x30, 0x00
	};
	static const uint8_t unknown[] = {
		0x53, 0x06, 0x70, 0x02, 0x30, 0x00, 0x99, 0x00
	};
	static const uint8_t serial[] = { 0x00, 0xbc, 0x61, 0x4e };
	static const uint8_t meta[] = {
		0x01, 0x01, 0x11, 0x02, 0x02, 0x01, 0x01, 0x03, 0x01, 0x02,
		0x05, 0x01, 0x00		/* unknown tag 05: skipped */
	};
	const uint8_t *p;
	size_t n;
	uint32_t s;
	struct piv_meta m;

	(void)state;
	assert_int_equal(piv_parse_sig(sig, sizeof(sig), &p, &n), OB_OK);
	assert_int_equal(n, 8);
	assert_ptr_equal(p, sig + 4);
	assert_int_equal(piv_parse_sig(sig, sizeof(sig) - 1, &p, &n),
	    OB_ERR_DEVICE);
	assert_int_equal(piv_parse_certobj(cert, sizeof(cert), &p, &n), OB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(piv_parse_certobj(gz, sizeof(gz), &p, &n),
	    OB_ERR_DEVICE);
	assert_int_equal(piv_parse_certobj(dup, sizeof(dup), &p, &n),
	    OB_ERR_DEVICE);
	assert_int_equal(piv_parse_certobj(unknown, sizeof(unknown), &p, &n),
	    OB_ERR_DEVICE);
	assert_int_equal(piv_parse_serial(serial, 4, &s), OB_OK);
	assert_int_equal(s, 12345678);
	assert_int_equal(piv_parse_serial(serial, 3, &s), OB_ERR_DEVICE);
	assert_int_equal(piv_parse_meta(meta, sizeof(meta), &m), OB_OK);
	assert_int_equal(m.alg, PIV_ALG_P256);
	assert_int_equal(m.origin, PIV_META_ORIGIN_IMPORTED);
	assert_null(m.point);
	assert_int_equal(piv_parse_mgm((const uint8_t *)"\x7c\x03\x80\x01\x00",
	    5, 0x80, 8, &p), OB_ERR_DEVICE);
}

static void
test_uri(void **state)
{
	struct piv_uri u;

	(void)state;
	assert_int_equal(piv_uri_parse("piv:reader=Virtual PCD 00 00;slot=9a",
	    &u), OB_OK);
	assert_string_equal(u.reader, "Virtual PCD 00 00");
	assert_int_equal(u.slot, 0x9a);
	assert_int_equal(u.have_serial, 0);
	piv_uri_free(&u);
	assert_int_equal(piv_uri_parse("piv:serial=12345678;slot=9C;"
	    "pin-source=file:/p%3Bq;mgmt-key-source=env:K;mgmt-alg=aes256",
	    &u), OB_OK);
	assert_int_equal(u.serial, 12345678);
	assert_int_equal(u.slot, 0x9c);
	assert_string_equal(u.pin_source, "file:/p;q");
	assert_string_equal(u.mgm_source, "env:K");
	assert_int_equal(u.mgm_alg, PIV_ALG_AES256);
	piv_uri_free(&u);
	/* Never "the first card"; one of each attribute; known ones only. */
	assert_int_equal(piv_uri_parse("piv:slot=9a", &u), OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=1", &u), OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=1;slot=9b", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=1;serial=2;slot=9a", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=-1;slot=9a", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=4294967296;slot=9a", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=1;slot=9a;pin=123456", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:serial=1;slot=9a;", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:reader=%00;slot=9a", &u),
	    OB_ERR_KEY_URI);
	assert_int_equal(piv_uri_parse("piv:", &u), OB_ERR_KEY_URI);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlv_forms),
		cmocka_unit_test(test_tlv_rejects),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_uri),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
