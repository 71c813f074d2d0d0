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
	struct ob_rd c;
	struct piv_tlv t;

	(void)state;
	ob_rd_init(&c, ok, sizeof(ok));
	assert_int_equal(piv_tlv_next(&c, &t), OB_OK);
	assert_int_equal(t.tag, 0x01);
	assert_int_equal(t.len, 1);
	assert_int_equal(piv_tlv_next(&c, &t), OB_OK);
	assert_int_equal(t.tag, 0x7f49);
	assert_int_equal(piv_tlv_next(&c, &t), OB_OK);
	assert_int_equal(t.tag, 0x5fc105);
	assert_int_equal(ob_rd_left(&c), 0);
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
	struct ob_rd c;
	struct piv_tlv t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ob_rd_init(&c, bad[i].b, bad[i].n);
		assert_int_equal(piv_tlv_next(&c, &t), OB_ERR_DEVICE);
		/* The reader did not move, and it is tainted. */
		assert_int_equal(ob_rd_offset(&c), 0);
		assert_int_equal(ob_rd_err(&c), OB_ERR_DEVICE);
		assert_int_equal(piv_tlv_next(&c, &t), OB_ERR_DEVICE);
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
test_points_meta(void **state)
{
	uint8_t pt[1 + 2 * 48];
	/* 01 alg, 02 policy, 03 origin, each of the wrong size or value */
	static const uint8_t alg2[] = { 0x01, 0x02, 0x11, 0x11 };
	static const uint8_t pol1[] = { 0x02, 0x01, 0x01 };
	static const uint8_t orig3[] = { 0x03, 0x01, 0x03 };
	static const uint8_t orig0[] = { 0x03, 0x01, 0x00 };
	/* P-256 with a 04 point of P-256 size, then with 03 in front */
	uint8_t meta[2 + 3 + 2 + 2 + 65];
	static const uint8_t info_empty[] = {
		0x53, 0x06, 0x70, 0x02, 0x30, 0x00, 0x71, 0x00
	};
	static const uint8_t info_long[] = {
		0x53, 0x08, 0x70, 0x02, 0x30, 0x00, 0x71, 0x02, 0x00, 0x00
	};
	struct piv_meta m;
	const uint8_t *p;
	size_t n;

	(void)state;
	memset(pt, 0x11, sizeof(pt));
	pt[0] = 0x04;
	assert_int_equal(piv_check_point(pt, 65, 32), OB_OK);
	assert_int_equal(piv_check_point(pt, 97, 48), OB_OK);
	assert_int_equal(piv_check_point(pt, 66, 32), OB_ERR_DEVICE);
	assert_int_equal(piv_check_point(pt, 64, 32), OB_ERR_DEVICE);
	assert_int_equal(piv_check_point(pt, 1, 0), OB_ERR_DEVICE);
	pt[0] = 0x03;
	assert_int_equal(piv_check_point(pt, 65, 32), OB_ERR_DEVICE);
	pt[0] = 0x04;

	assert_int_equal(piv_parse_meta(alg2, sizeof(alg2), &m), OB_ERR_DEVICE);
	assert_int_equal(piv_parse_meta(pol1, sizeof(pol1), &m), OB_ERR_DEVICE);
	assert_int_equal(piv_parse_meta(orig3, sizeof(orig3), &m),
	    OB_ERR_DEVICE);
	assert_int_equal(piv_parse_meta(orig0, sizeof(orig0), &m),
	    OB_ERR_DEVICE);
	meta[0] = 0x01;			/* alg P-256 */
	meta[1] = 0x01;
	meta[2] = PIV_ALG_P256;
	meta[3] = 0x04;			/* public key { 86 point } */
	meta[4] = 2 + 65;
	meta[5] = 0x86;
	meta[6] = 65;
	memcpy(meta + 7, pt, 65);
	assert_int_equal(piv_parse_meta(meta, 7 + 65, &m), OB_OK);
	assert_ptr_equal(m.point, meta + 7);
	assert_int_equal(m.plen, 65);
	meta[7] = 0x03;
	assert_int_equal(piv_parse_meta(meta, 7 + 65, &m), OB_ERR_DEVICE);
	meta[7] = 0x04;
	meta[2] = PIV_ALG_P384;		/* a P-256 point for a P-384 key */
	assert_int_equal(piv_parse_meta(meta, 7 + 65, &m), OB_ERR_DEVICE);

	/* CertInfo: empty is uncompressed; two bytes are not CertInfo. */
	assert_int_equal(piv_parse_certobj(info_empty, sizeof(info_empty), &p,
	    &n), OB_OK);
	assert_int_equal(piv_parse_certobj(info_long, sizeof(info_long), &p,
	    &n), OB_ERR_DEVICE);
}

/* The header encoder, read back by the decoder. */
static void
test_tlv_hdr(void **state)
{
	static const struct {
		uint32_t	tag;
		size_t		len;
		uint8_t		enc[6];
		size_t		n;
	} v[] = {
		{ 0x53, 0, { 0x53, 0x00 }, 2 },
		{ 0x7c, 0x7f, { 0x7c, 0x7f }, 2 },
		{ 0x7f49, 0x80, { 0x7f, 0x49, 0x81, 0x80 }, 4 },
		{ 0x5fc105, 0xff, { 0x5f, 0xc1, 0x05, 0x81, 0xff }, 5 },
		{ 0x70, 0x100, { 0x70, 0x82, 0x01, 0x00 }, 4 },
		{ 0x70, 0xffff, { 0x70, 0x82, 0xff, 0xff }, 4 },
	};
	uint8_t buf[8], small[3];
	struct ob_wr w;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ob_wr_init_fixed(&w, buf, sizeof(buf));
		assert_int_equal(piv_wr_tlv_hdr(&w, v[i].tag, v[i].len), OB_OK);
		assert_int_equal(ob_wr_len(&w), v[i].n);
		assert_memory_equal(buf, v[i].enc, v[i].n);
		ob_wr_free(&w);
	}
	ob_wr_init_fixed(&w, buf, sizeof(buf));
	assert_int_equal(piv_wr_tlv_hdr(&w, 0x70, 0x10000), OB_ERR_INTERNAL);
	assert_int_equal(piv_wr_tlv_hdr(&w, 0x1000000, 1), OB_ERR_INTERNAL);
	ob_wr_free(&w);
	/* A header that does not fit fails and taints the writer. */
	ob_wr_init_fixed(&w, small, sizeof(small));
	assert_int_equal(piv_wr_tlv_hdr(&w, 0x5fc105, 1), OB_ERR_BUF_FULL);
	assert_int_equal(ob_wr_err(&w), OB_ERR_BUF_FULL);
	ob_wr_free(&w);
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
		cmocka_unit_test(test_points_meta),
		cmocka_unit_test(test_tlv_hdr),
		cmocka_unit_test(test_uri),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
