/*
 * test_piv_card.c - unit tests for the virtual PIV card's APDU dispatcher
 * and BER-TLV parser, without pcscd: negative cases for every parser
 * check, management key authentication with 3DES and AES, PIN handling,
 * chaining and GET RESPONSE, state file round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/vpiv/piv_card.h"
#include "tests/vpiv/tlv.h"

static int failures;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #c);					\
		failures++;						\
	}								\
} while (0)

#define RSP_CAP 70000
static uint8_t rsp[RSP_CAP];
static size_t rlen;

/* Send raw bytes; return the status word, data in rsp[0..rlen-2). */
static unsigned
raw(struct piv_card *c, const uint8_t *cmd, size_t n)
{
	if (piv_card_transmit(c, cmd, n, rsp, sizeof(rsp), &rlen) != PIV_OK ||
	    rlen < 2)
		return 0;
	return ((unsigned)rsp[rlen - 2] << 8) | rsp[rlen - 1];
}

/* Short APDU; le < 0: no Le byte. */
static unsigned
apdu(struct piv_card *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t lc, int le)
{
	uint8_t b[5 + 255 + 1];
	size_t n = 0;

	if (lc > 255)
		return 0;
	b[n++] = cla;
	b[n++] = ins;
	b[n++] = p1;
	b[n++] = p2;
	if (lc > 0) {
		b[n++] = (uint8_t)lc;
		memcpy(b + n, data, lc);
		n += lc;
	}
	if (le >= 0)
		b[n++] = (uint8_t)le;
	return raw(c, b, n);
}

static const uint8_t aid[] = { 0xa0, 0x00, 0x00, 0x03, 0x08 };
static const uint8_t pin_ok[8] = { '1', '2', '3', '4', '5', '6', 0xff, 0xff };
static const uint8_t pin_bad[8] = { '0', '0', '0', '0', '0', '0', 0xff, 0xff };
static const uint8_t mgm3des[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

static unsigned
sel(struct piv_card *c)
{
	return apdu(c, 0, 0xa4, 0x04, 0x00, aid, sizeof(aid), 0);
}

static unsigned
verify(struct piv_card *c, const uint8_t *pin)
{
	return apdu(c, 0, 0x20, 0, 0x80, pin, pin ? 8 : 0, -1);
}

static const EVP_CIPHER *
cipher_for(uint8_t alg)
{
	switch (alg) {
	case 0x03: return EVP_des_ede3_ecb();
	case 0x08: return EVP_aes_128_ecb();
	case 0x0a: return EVP_aes_192_ecb();
	default: return EVP_aes_256_ecb();
	}
}

static void
ecb(uint8_t alg, const uint8_t *key, int enc, const uint8_t *in, uint8_t *out,
    size_t bs)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;

	EVP_CipherInit_ex(x, cipher_for(alg), NULL, key, NULL, enc);
	EVP_CIPHER_CTX_set_padding(x, 0);
	EVP_CipherUpdate(x, out, &n, in, (int)bs);
	EVP_CipherFinal_ex(x, out + n, &m);
	EVP_CIPHER_CTX_free(x);
}

/* Mutual authentication with the management key; returns final SW. */
static unsigned
mgm_auth(struct piv_card *c, uint8_t alg, const uint8_t *key, size_t bs,
    int corrupt)
{
	uint8_t req[] = { 0x7c, 0x02, 0x80, 0x00 };
	uint8_t wit[16], chal[16], exp[16], m[40];
	unsigned sw;
	size_t n = 0;

	if ((sw = apdu(c, 0, 0x87, alg, 0x9b, req, sizeof(req), 0)) != 0x9000)
		return sw;
	if (rlen != 2 + 4 + bs || rsp[0] != 0x7c || rsp[2] != 0x80)
		return 1;
	ecb(alg, key, 0, rsp + 4, wit, bs);
	if (corrupt)
		wit[0] ^= 1;
	memset(chal, 0x5a, bs);
	m[n++] = 0x7c;
	m[n++] = (uint8_t)(4 + 2 * bs);
	m[n++] = 0x80;
	m[n++] = (uint8_t)bs;
	memcpy(m + n, wit, bs);
	n += bs;
	m[n++] = 0x81;
	m[n++] = (uint8_t)bs;
	memcpy(m + n, chal, bs);
	n += bs;
	if ((sw = apdu(c, 0, 0x87, alg, 0x9b, m, n, 0)) != 0x9000)
		return sw;
	ecb(alg, key, 1, chal, exp, bs);
	if (rlen != 2 + 4 + bs || memcmp(rsp + 4, exp, bs) != 0)
		return 2;
	return sw;
}

/* External (one-way) authentication: 81 00 -> challenge, 82 response. */
static unsigned
mgm_ext_auth(struct piv_card *c, uint8_t alg, const uint8_t *key, size_t bs)
{
	uint8_t req[] = { 0x7c, 0x02, 0x81, 0x00 };
	uint8_t r[4 + 16];
	unsigned sw;

	if ((sw = apdu(c, 0, 0x87, alg, 0x9b, req, sizeof(req), 0)) != 0x9000)
		return sw;
	if (rlen != 2 + 4 + bs)
		return 1;
	r[0] = 0x7c;
	r[1] = (uint8_t)(2 + bs);
	r[2] = 0x82;
	r[3] = (uint8_t)bs;
	ecb(alg, key, 1, rsp + 4, r + 4, bs);
	return apdu(c, 0, 0x87, alg, 0x9b, r, 4 + bs, -1);
}

static EVP_PKEY *
pub_from_point(const char *group, const uint8_t *pt, size_t len)
{
	OSSL_PARAM p[3];
	EVP_PKEY_CTX *x = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)(uintptr_t)group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pt, len);
	p[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(x) != 1 ||
	    EVP_PKEY_fromdata(x, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(x);
	return k;
}

static int
verify_sig(EVP_PKEY *k, const uint8_t *d, size_t dl, const uint8_t *s,
    size_t sl)
{
	EVP_PKEY_CTX *x = EVP_PKEY_CTX_new(k, NULL);
	int ok = EVP_PKEY_verify_init(x) == 1 &&
	    EVP_PKEY_verify(x, s, sl, d, dl) == 1;

	EVP_PKEY_CTX_free(x);
	return ok;
}

/* GENERATE in slot; returns the public key. */
static EVP_PKEY *
generate(struct piv_card *c, uint8_t slot, uint8_t alg, int pin_policy)
{
	uint8_t t[] = { 0xac, 0x03, 0x80, 0x01, alg, 0xaa, 0x01, 0 };
	size_t n = 5;

	if (pin_policy >= 0) {
		t[1] = 6;
		t[7] = (uint8_t)pin_policy;
		n = 8;
	}
	if (apdu(c, 0, 0x47, 0, slot, t, n, 0) != 0x9000)
		return NULL;
	/* 7F49 L 86 L point */
	if (rsp[0] != 0x7f || rsp[1] != 0x49 || rsp[3] != 0x86)
		return NULL;
	return pub_from_point(alg == 0x11 ? "P-256" : "P-384", rsp + 5, rsp[4]);
}

/* GENERAL AUTHENTICATE sign; SW, signature copied to sig. */
static unsigned
sign(struct piv_card *c, uint8_t alg, uint8_t slot, const uint8_t *d,
    size_t dl, uint8_t *sig, size_t *sl)
{
	uint8_t m[4 + 2 + 64];
	unsigned sw;

	m[0] = 0x7c;
	m[1] = (uint8_t)(4 + dl);
	m[2] = 0x82;
	m[3] = 0x00;
	m[4] = 0x81;
	m[5] = (uint8_t)dl;
	memcpy(m + 6, d, dl);
	if ((sw = apdu(c, 0, 0x87, alg, slot, m, 6 + dl, 0)) != 0x9000)
		return sw;
	if (rsp[0] != 0x7c || rsp[2] != 0x82 || rsp[3] > 0x7f)
		return 1;
	*sl = rsp[3];
	memcpy(sig, rsp + 4, *sl);
	return sw;
}

static void
test_tlv(void)
{
	/* 7C 0A { 82 00, 81 06 010203040506 } */
	static const uint8_t good[] = {
		0x7c, 0x0a, 0x82, 0x00, 0x81, 0x06, 1, 2, 3, 4, 5, 6
	};
	static const uint32_t allowed[] = { 0x81, 0x82 };
	uint8_t buf[300], out[8];
	struct tlv t, parts[2];
	struct tlv_buf b;
	uint32_t present;
	size_t i;

	CHECK(tlv_expect_one(good, sizeof(good), 0x7c, &t) == TLV_OK);
	CHECK(tlv_collect(t.val, t.len, allowed, 2, parts, &present) ==
	    TLV_OK && present == 3 && parts[0].len == 6);
	/* every truncation fails */
	for (i = 0; i < sizeof(good); i++)
		CHECK(tlv_expect_one(good, i, 0x7c, &t) != TLV_OK);
	/* trailing byte */
	memcpy(buf, good, sizeof(good));
	buf[sizeof(good)] = 0x00;
	CHECK(tlv_expect_one(buf, sizeof(good) + 1, 0x7c, &t) ==
	    TLV_ERR_TRAILING);
	/* duplicate and unknown children */
	{
		static const uint8_t dup[] = { 0x81, 0x00, 0x81, 0x00 };
		static const uint8_t unk[] = { 0x83, 0x00 };

		CHECK(tlv_collect(dup, sizeof(dup), allowed, 2, parts,
		    &present) == TLV_ERR_DUPLICATE);
		CHECK(tlv_collect(unk, sizeof(unk), allowed, 2, parts,
		    &present) == TLV_ERR_UNEXPECTED);
	}
	/* lengths: indefinite, non-minimal, too many length bytes */
	{
		static const uint8_t l80[] = { 0x53, 0x80, 0x00, 0x00 };
		static const uint8_t l81[] = { 0x53, 0x81, 0x05, 1, 2, 3, 4, 5 };
		static const uint8_t l82[] = { 0x53, 0x82, 0x00, 0x01, 1 };
		static const uint8_t l83[] = { 0x53, 0x83, 0x00, 0x00, 0x01, 1 };

		CHECK(tlv_expect_one(l80, sizeof(l80), 0x53, &t) ==
		    TLV_ERR_LENGTH);
		CHECK(tlv_expect_one(l81, sizeof(l81), 0x53, &t) ==
		    TLV_ERR_LENGTH);
		CHECK(tlv_expect_one(l82, sizeof(l82), 0x53, &t) ==
		    TLV_ERR_LENGTH);
		CHECK(tlv_expect_one(l83, sizeof(l83), 0x53, &t) ==
		    TLV_ERR_LENGTH);
	}
	/* tags: padding, 4-byte, non-minimal two-byte */
	{
		static const uint8_t pad[] = { 0x00, 0x53, 0x00 };
		static const uint8_t t4[] = { 0x5f, 0xc1, 0x81, 0x01, 0x00 };
		static const uint8_t t2[] = { 0x5f, 0x05, 0x00 };
		static const uint8_t t3[] = { 0x5f, 0xc1, 0x05, 0x00 };

		CHECK(tlv_expect_one(pad, sizeof(pad), 0x53, &t) == TLV_ERR_TAG);
		CHECK(tlv_expect_one(t4, sizeof(t4), 0x5fc181, &t) ==
		    TLV_ERR_TAG);
		CHECK(tlv_expect_one(t2, sizeof(t2), 0x5f05, &t) == TLV_ERR_TAG);
		CHECK(tlv_expect_one(t3, sizeof(t3), 0x5fc105, &t) == TLV_OK);
	}
	/* writer: long forms and sticky overflow */
	tlv_buf_init(&b, buf, sizeof(buf));
	tlv_put_hdr(&b, 0x7f49, 0x100);
	CHECK(tlv_buf_error(&b) == TLV_OK && b.len == 5 && buf[2] == 0x82);
	CHECK(tlv_hdr_size(0x7f49, 0x100) == 5);
	tlv_buf_init(&b, out, sizeof(out));
	tlv_put(&b, 0x53, buf, 10);
	tlv_put_u8(&b, 1);
	CHECK(tlv_buf_error(&b) == TLV_ERR_SPACE);
}

static void
test_apdu_layer(struct piv_card *c)
{
	static const uint8_t other[] = { 0xd2, 0x76, 0x00, 0x01, 0x24, 0x01 };
	static const uint8_t short_hdr[] = { 0x00, 0xcb };
	static const uint8_t bad_lc[] = { 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c };
	static const uint8_t chuid[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x02 };

	CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, chuid, 5, 0) == 0x6d00);
	CHECK(apdu(c, 0, 0xa4, 0x04, 0x00, other, sizeof(other), 0) == 0x6a82);
	CHECK(apdu(c, 0, 0xa4, 0x04, 0x00, aid, 4, 0) == 0x6a82);
	CHECK(sel(c) == 0x9000 && rsp[0] == 0x61);
	CHECK(raw(c, short_hdr, sizeof(short_hdr)) == 0x6700);
	CHECK(raw(c, bad_lc, sizeof(bad_lc)) == 0x6700);
	{
		/* extended-length marker without room for a length */
		static const uint8_t ext6[] = { 0x00, 0xcb, 0x3f, 0xff, 0x00,
		    0x01 };
		static const uint8_t ext_lc0[] = { 0x00, 0xcb, 0x3f, 0xff, 0x00,
		    0x00, 0x00, 0x01 };
		static const uint8_t ext_short[] = { 0x00, 0xcb, 0x3f, 0xff,
		    0x00, 0x00, 0x05, 0x5c, 0x03 };

		CHECK(raw(c, ext6, sizeof(ext6)) == 0x6700);
		CHECK(raw(c, ext_lc0, sizeof(ext_lc0)) == 0x6700);
		CHECK(raw(c, ext_short, sizeof(ext_short)) == 0x6700);
	}
	CHECK(apdu(c, 0x80, 0xcb, 0x3f, 0xff, chuid, 5, 0) == 0x6e00);
	CHECK(apdu(c, 0, 0x99, 0, 0, NULL, 0, 0) == 0x6d00);
	CHECK(apdu(c, 0, 0xc0, 0, 0, NULL, 0, 0) == 0x6985);

	/* GET DATA: Le honoured, GET RESPONSE for the rest */
	/* CHUID object: 53 3B <59 bytes>; Le=8 leaves 53 = 0x35 */
	CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, chuid, 5, 8) == 0x6135);
	CHECK(rlen == 10 && rsp[0] == 0x53 && rsp[1] == 0x3b);
	CHECK(apdu(c, 0, 0xc0, 0, 0, NULL, 0, 0x10) == 0x6125 && rlen == 18);
	CHECK(apdu(c, 0, 0xc0, 0, 0, NULL, 0, 0) == 0x9000 && rlen == 39);
	CHECK(apdu(c, 0, 0xc0, 0, 0, NULL, 0, 0) == 0x6985);
	/* Extended Le: everything in one response */
	{
		uint8_t e[] = { 0x00, 0xcb, 0x3f, 0xff, 0x00, 0x00, 0x05,
		    0x5c, 0x03, 0x5f, 0xc1, 0x02, 0x00, 0x00 };

		CHECK(raw(c, e, sizeof(e)) == 0x9000 && rsp[0] == 0x53 &&
		    rlen == (size_t)rsp[1] + 4);
	}
	/* malformed GET DATA bodies */
	{
		static const uint8_t trailing[] = { 0x5c, 0x01, 0x7e, 0x00 };
		static const uint8_t longtag[] = { 0x5c, 0x04, 0x5f, 0xc1, 0x02,
		    0x00 };
		static const uint8_t trunc[] = { 0x5c, 0x05, 0x5f, 0xc1 };
		static const uint8_t wrongtag[] = { 0x5d, 0x01, 0x7e };
		static const uint8_t absent[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x05 };
		static const uint8_t unknown[] = { 0x5c, 0x03, 0x5f, 0xc2, 0x05 };
		static const uint8_t printed[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x09 };
		static const uint8_t disc[] = { 0x5c, 0x01, 0x7e };

		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, trailing, 4, 0) == 0x6a80);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, longtag, 6, 0) == 0x6a80);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, trunc, 4, 0) == 0x6a80);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, wrongtag, 3, 0) == 0x6a80);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xfe, disc, 3, 0) == 0x6a86);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, absent, 5, 0) == 0x6a82);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, unknown, 5, 0) == 0x6a82);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, printed, 5, 0) == 0x6a82);
		CHECK(apdu(c, 0, 0xcb, 0x3f, 0xff, disc, 3, 0) == 0x9000 &&
		    rsp[0] == 0x7e && rlen == 22);
	}
}

static void
test_pin(struct piv_card *c)
{
	static const uint8_t short_pin[8] = { '1', '2', '3', 0xff, 0xff, 0xff,
	    0xff, 0xff };
	static const uint8_t hole[8] = { '1', '2', '3', '4', '5', '6', 0xff,
	    '7' };
	static const uint8_t puk_newpin[16] = { '1', '2', '3', '4', '5', '6',
	    '7', '8', '1', '2', '3', '4', '5', '6', 0xff, 0xff };

	CHECK(verify(c, NULL) == 0x63c3);
	CHECK(apdu(c, 0, 0x20, 0, 0x80, pin_ok, 6, -1) == 0x6a80);
	CHECK(verify(c, short_pin) == 0x6a80);
	CHECK(verify(c, hole) == 0x6a80);
	CHECK(verify(c, NULL) == 0x63c3);	/* format errors cost nothing */
	CHECK(apdu(c, 0, 0x20, 0, 0x81, pin_ok, 8, -1) == 0x6a88);
	CHECK(verify(c, pin_bad) == 0x63c2);
	CHECK(verify(c, pin_bad) == 0x63c1);
	CHECK(verify(c, NULL) == 0x63c1);
	CHECK(verify(c, pin_ok) == 0x9000);
	CHECK(verify(c, NULL) == 0x9000);
	CHECK(apdu(c, 0, 0x20, 0xff, 0x80, NULL, 0, -1) == 0x9000);
	CHECK(verify(c, NULL) == 0x63c3);
	CHECK(verify(c, pin_bad) == 0x63c2);
	CHECK(verify(c, pin_bad) == 0x63c1);
	CHECK(verify(c, pin_bad) == 0x63c0);
	CHECK(verify(c, pin_bad) == 0x6983);
	CHECK(verify(c, pin_ok) == 0x6983);
	CHECK(verify(c, NULL) == 0x6983);
	CHECK(apdu(c, 0, 0x2c, 0, 0x80, puk_newpin, 16, -1) == 0x9000);
	CHECK(verify(c, pin_ok) == 0x9000);
}

static void
test_mgm(struct piv_card *c)
{
	static const uint8_t k128[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
	static const uint8_t k192[24] = { 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 };
	static const uint8_t k256[32] = { 0x30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
	    27, 28, 29, 30, 31 };
	static const uint8_t gen[] = { 0xac, 0x03, 0x80, 0x01, 0x11 };
	uint8_t set[3 + 32];

	CHECK(apdu(c, 0, 0x47, 0, 0x9a, gen, sizeof(gen), 0) == 0x6982);
	CHECK(mgm_auth(c, 0x03, mgm3des, 8, 1) == 0x6982);
	CHECK(apdu(c, 0, 0x47, 0, 0x9a, gen, sizeof(gen), 0) == 0x6982);
	CHECK(mgm_auth(c, 0x08, mgm3des, 16, 0) == 0x6a86);
	/* step 2 without step 1 */
	{
		uint8_t m[] = { 0x7c, 0x0a, 0x80, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };

		CHECK(apdu(c, 0, 0x87, 0x03, 0x9b, m, sizeof(m), 0) == 0x6982);
	}
	CHECK(mgm_auth(c, 0x03, mgm3des, 8, 0) == 0x9000);
	CHECK(mgm_ext_auth(c, 0x03, mgm3des, 8) == 0x9000);

	/* switch to AES-128, -192, -256; each authenticates both ways */
	set[0] = 0x08; set[1] = 0x9b; set[2] = 16;
	memcpy(set + 3, k128, 16);
	CHECK(apdu(c, 0, 0xff, 0xff, 0xff, set, 3 + 15, -1) == 0x6a80);
	CHECK(apdu(c, 0, 0xff, 0xff, 0xff, set, 3 + 16, -1) == 0x9000);
	CHECK(mgm_auth(c, 0x03, mgm3des, 8, 0) == 0x6a86);
	CHECK(mgm_auth(c, 0x08, k128, 16, 0) == 0x9000);
	CHECK(mgm_ext_auth(c, 0x08, k128, 16) == 0x9000);
	set[0] = 0x0a; set[2] = 24;
	memcpy(set + 3, k192, 24);
	CHECK(apdu(c, 0, 0xff, 0xff, 0xff, set, 3 + 24, -1) == 0x9000);
	CHECK(mgm_auth(c, 0x0a, k192, 16, 0) == 0x9000);
	set[0] = 0x0c; set[2] = 32;
	memcpy(set + 3, k256, 32);
	CHECK(apdu(c, 0, 0xff, 0xff, 0xff, set, 3 + 32, -1) == 0x9000);
	CHECK(mgm_auth(c, 0x0c, k256, 16, 1) == 0x6982);
	CHECK(apdu(c, 0, 0xff, 0xff, 0xff, set, 3 + 32, -1) == 0x6982);
	CHECK(mgm_auth(c, 0x0c, k256, 16, 0) == 0x9000);
	CHECK(mgm_ext_auth(c, 0x0c, k256, 16) == 0x9000);
	/* metadata reports AES-256, not default */
	CHECK(apdu(c, 0, 0xf7, 0, 0x9b, NULL, 0, 0) == 0x9000 &&
	    rsp[0] == 0x01 && rsp[2] == 0x0c);
	/* back to the default 3DES key */
	set[0] = 0x03; set[2] = 24;
	memcpy(set + 3, mgm3des, 24);
	CHECK(apdu(c, 0, 0xff, 0xff, 0xff, set, 3 + 24, -1) == 0x9000);
	CHECK(mgm_auth(c, 0x03, mgm3des, 8, 0) == 0x9000);
}

static void
test_keys(struct piv_card *c, EVP_PKEY **pub9a)
{
	static const uint8_t rsa[] = { 0xac, 0x03, 0x80, 0x01, 0x07 };
	static const uint8_t nopol[] = { 0xac, 0x06, 0x80, 0x01, 0x11, 0xaa,
	    0x01, 0x07 };
	uint8_t d32[32], d48[48], sig[128], m[128];
	size_t sl = 0;
	EVP_PKEY *p9c;

	memset(d32, 0xab, sizeof(d32));
	memset(d48, 0xcd, sizeof(d48));
	CHECK(apdu(c, 0, 0x47, 0, 0x9a, rsa, sizeof(rsa), 0) == 0x6a80);
	CHECK(apdu(c, 0, 0x47, 0, 0x9b, rsa, sizeof(rsa), 0) == 0x6b00);
	CHECK(apdu(c, 0, 0x47, 0, 0x9a, nopol, sizeof(nopol), 0) == 0x6a80);
	CHECK((*pub9a = generate(c, 0x9a, 0x11, -1)) != NULL);
	CHECK((p9c = generate(c, 0x9c, 0x14, -1)) != NULL);

	/* PIN once (9a): needs VERIFY in the session */
	piv_card_reset_session(c);
	CHECK(sel(c) == 0x9000);
	CHECK(sign(c, 0x11, 0x9a, d32, 32, sig, &sl) == 0x6982);
	CHECK(verify(c, pin_ok) == 0x9000);
	CHECK(sign(c, 0x11, 0x9a, d32, 32, sig, &sl) == 0x9000);
	CHECK(verify_sig(*pub9a, d32, 32, sig, sl));
	CHECK(sign(c, 0x11, 0x9a, d32, 32, sig, &sl) == 0x9000);
	sig[sl - 1] ^= 1;
	CHECK(!verify_sig(*pub9a, d32, 32, sig, sl));
	CHECK(sign(c, 0x14, 0x9a, d32, 32, sig, &sl) == 0x6a80);
	CHECK(sign(c, 0x11, 0x9a, d48, 33, sig, &sl) == 0x6a80);
	CHECK(sign(c, 0x11, 0x9d, d32, 32, sig, &sl) == 0x6a88);
	CHECK(sign(c, 0x11, 0x9b, d32, 32, sig, &sl) == 0x6a86);

	/* PIN always (9c): one signature per VERIFY */
	CHECK(sign(c, 0x14, 0x9c, d48, 48, sig, &sl) == 0x6982);
	CHECK(verify(c, pin_ok) == 0x9000);
	CHECK(sign(c, 0x14, 0x9c, d48, 48, sig, &sl) == 0x9000);
	CHECK(verify_sig(p9c, d48, 48, sig, sl));
	CHECK(sign(c, 0x14, 0x9c, d48, 48, sig, &sl) == 0x6982);

	/* malformed dynamic authentication templates */
	{
		static const uint8_t dup[] = { 0x7c, 0x06, 0x82, 0x00, 0x81,
		    0x00, 0x81, 0x00 };
		static const uint8_t no82[] = { 0x7c, 0x03, 0x81, 0x01, 0x01 };
		static const uint8_t both[] = { 0x7c, 0x07, 0x82, 0x00, 0x81,
		    0x01, 0x01, 0x85, 0x00 };
		static const uint8_t trail[] = { 0x7c, 0x05, 0x82, 0x00, 0x81,
		    0x01, 0x01, 0x00 };
		static const uint8_t inner[] = { 0x7c, 0x05, 0x82, 0x00, 0x81,
		    0x05, 0x01 };

		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, dup, sizeof(dup), 0) ==
		    0x6a80);
		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, no82, sizeof(no82), 0) ==
		    0x6a80);
		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, both, sizeof(both), 0) ==
		    0x6a80);
		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, trail, sizeof(trail), 0) ==
		    0x6a80);
		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, inner, sizeof(inner), 0) ==
		    0x6a80);
	}
	/* ECDH: a point off the curve is refused, a good one agrees */
	{
		EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		EVP_PKEY_CTX *x = EVP_PKEY_CTX_new(peer, NULL);
		uint8_t pt[65], z[32];
		size_t pl = 0, zl = sizeof(z);

		EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY,
		    pt, sizeof(pt), &pl);
		EVP_PKEY_derive_init(x);
		EVP_PKEY_derive_set_peer(x, *pub9a);
		EVP_PKEY_derive(x, z, &zl);
		m[0] = 0x7c; m[1] = 2 + 2 + 65; m[2] = 0x82; m[3] = 0;
		m[4] = 0x85; m[5] = 65;
		memcpy(m + 6, pt, 65);
		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, m, 71, 0) == 0x9000 &&
		    rsp[3] == 32 && memcmp(rsp + 4, z, 32) == 0);
		m[6 + 64] ^= 1;
		CHECK(apdu(c, 0, 0x87, 0x11, 0x9a, m, 71, 0) == 0x6a80);
		EVP_PKEY_CTX_free(x);
		EVP_PKEY_free(peer);
	}
	EVP_PKEY_free(p9c);
}

static void
test_import_attest(struct piv_card *c, EVP_PKEY *pub9a)
{
	uint8_t imp[2 + 32 + 3];
	X509 *att = NULL, *f9 = NULL;
	const unsigned char *p;
	EVP_PKEY *k;

	/* order n of P-256 is out of range; zero too */
	static const uint8_t order[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad,
		0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
		0x25, 0x51
	};
	CHECK(mgm_auth(c, 0x03, mgm3des, 8, 0) == 0x9000);
	imp[0] = 0x06;
	imp[1] = 32;
	memcpy(imp + 2, order, 32);
	CHECK(apdu(c, 0, 0xfe, 0x11, 0x9d, imp, 34, -1) == 0x6a80);
	memset(imp + 2, 0, 32);
	CHECK(apdu(c, 0, 0xfe, 0x11, 0x9d, imp, 34, -1) == 0x6a80);
	memset(imp + 2, 0x11, 32);
	CHECK(apdu(c, 0, 0xfe, 0x11, 0x9d, imp, 33, -1) == 0x6a80);
	CHECK(apdu(c, 0, 0xfe, 0x07, 0x9d, imp, 34, -1) == 0x6a86);
	imp[34] = 0xaa; imp[35] = 0x01; imp[36] = 0x01;
	CHECK(apdu(c, 0, 0xfe, 0x11, 0x9d, imp, 37, -1) == 0x9000);
	CHECK(apdu(c, 0, 0xf7, 0, 0x9d, NULL, 0, 0) == 0x9000 &&
	    rsp[2] == 0x11 && rsp[5] == 0x01 && rsp[9] == 0x02);

	CHECK(apdu(c, 0, 0xf9, 0x9d, 0, NULL, 0, 0) == 0x6a80);
	CHECK(apdu(c, 0, 0xf9, 0x9e, 0, NULL, 0, 0) == 0x6a88);
	/* longer than 256 bytes: short Le gets 256 and 61xx */
	CHECK((apdu(c, 0, 0xf9, 0x9a, 0, NULL, 0, 0) >> 8) == 0x61 &&
	    rlen == 258 && rsp[0] == 0x30);
	{
		/* attestation via extended Le, then the f9 certificate */
		uint8_t e[] = { 0x00, 0xf9, 0x9a, 0x00, 0x00, 0x00, 0x00 };
		uint8_t g[] = { 0x00, 0xcb, 0x3f, 0xff, 0x00, 0x00, 0x05,
		    0x5c, 0x03, 0x5f, 0xff, 0x01, 0x00, 0x00 };

		CHECK(raw(c, e, sizeof(e)) == 0x9000 && rsp[0] == 0x30);
		p = rsp;
		att = d2i_X509(NULL, &p, (long)(rlen - 2));
		CHECK(raw(c, g, sizeof(g)) == 0x9000 && rsp[0] == 0x53);
		/* 53 82 LL LL 70 82 LL LL cert */
		p = rsp + 8;
		f9 = d2i_X509(NULL, &p, (long)(rlen - 10));
	}
	CHECK(att != NULL && f9 != NULL);
	if (att != NULL && f9 != NULL) {
		k = X509_get0_pubkey(f9);
		CHECK(X509_verify(att, k) == 1);
		CHECK(EVP_PKEY_eq(X509_get0_pubkey(att), pub9a) == 1);
	}
	X509_free(att);
	X509_free(f9);
}

static void
test_chaining(struct piv_card *c)
{
	/* PUT DATA of a 600-byte object in three chained APDUs */
	uint8_t body[4 + 5 + 4 + 600], *p = body;
	uint8_t get[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x0d };
	uint8_t got[700];
	size_t i, gl = 0;
	unsigned sw;

	CHECK(mgm_auth(c, 0x03, mgm3des, 8, 0) == 0x9000);
	*p++ = 0x5c; *p++ = 0x03; *p++ = 0x5f; *p++ = 0xc1; *p++ = 0x0d;
	*p++ = 0x53; *p++ = 0x82; *p++ = 0x02; *p++ = 0x58;
	for (i = 0; i < 600; i++)
		*p++ = (uint8_t)i;
	CHECK(apdu(c, 0x10, 0xdb, 0x3f, 0xff, body, 200, -1) == 0x9000);
	CHECK(apdu(c, 0x10, 0xdb, 0x3f, 0xff, body + 200, 200, -1) == 0x9000);
	CHECK(apdu(c, 0x00, 0xdb, 0x3f, 0xff, body + 400,
	    (size_t)(p - body) - 400, -1) == 0x9000);
	/* a chain interrupted by another command */
	CHECK(apdu(c, 0x10, 0xdb, 0x3f, 0xff, body, 200, -1) == 0x9000);
	CHECK(apdu(c, 0x00, 0xcb, 0x3f, 0xff, get, 5, 0) == 0x6883);
	/* read back in 256-byte pieces */
	sw = apdu(c, 0, 0xcb, 0x3f, 0xff, get, 5, 0);
	while (gl + rlen - 2 <= sizeof(got)) {
		memcpy(got + gl, rsp, rlen - 2);
		gl += rlen - 2;
		if ((sw >> 8) != 0x61)
			break;
		sw = apdu(c, 0, 0xc0, 0, 0, NULL, 0, 0);
	}
	CHECK(sw == 0x9000 && gl == 604 && memcmp(got + 4, body + 9, 600) == 0);
	/* PUT DATA body errors */
	{
		static const uint8_t extra[] = { 0x5c, 0x01, 0x7e, 0x53, 0x00,
		    0x01, 0x00 };
		static const uint8_t noid[] = { 0x53, 0x00 };
		static const uint8_t badobj[] = { 0x5c, 0x03, 0x5f, 0xc2, 0x01,
		    0x53, 0x00 };

		CHECK(apdu(c, 0, 0xdb, 0x3f, 0xff, extra, sizeof(extra), -1) ==
		    0x6a80);
		CHECK(apdu(c, 0, 0xdb, 0x3f, 0xff, noid, sizeof(noid), -1) ==
		    0x6a80);
		CHECK(apdu(c, 0, 0xdb, 0x3f, 0xff, badobj, sizeof(badobj),
		    -1) == 0x6a80);
	}
}

static void
test_state(struct piv_card *c, const char *path, EVP_PKEY *pub9a)
{
	struct piv_card_config cfg;
	struct piv_card *d = NULL;
	uint8_t d32[32], sig[80];
	size_t sl = 0;
	FILE *f;

	memset(&cfg, 0, sizeof(cfg));
	cfg.version[0] = 5; cfg.version[1] = 4; cfg.version[2] = 3;
	CHECK(piv_card_save(c, path) == PIV_OK);
	CHECK(piv_card_new(&d, &cfg, path) == PIV_OK);
	if (d == NULL)
		return;
	CHECK(sel(d) == 0x9000);
	CHECK(apdu(d, 0, 0xf8, 0, 0, NULL, 0, 0) == 0x9000 && rsp[0] == 0x00 &&
	    rsp[1] == 0x01 && rsp[2] == 0x02 && rsp[3] == 0x03);
	CHECK(verify(d, pin_ok) == 0x9000);
	memset(d32, 0x42, sizeof(d32));
	CHECK(sign(d, 0x11, 0x9a, d32, 32, sig, &sl) == 0x9000);
	CHECK(verify_sig(pub9a, d32, 32, sig, sl));
	piv_card_free(&d);
	CHECK(d == NULL);

	/* a truncated or corrupted state file is refused */
	CHECK(truncate(path, 100) == 0);
	CHECK(piv_card_new(&d, &cfg, path) == PIV_ERR_STATE_FORMAT);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f != NULL) {
		fputs("\xc0\x01\x02", f);
		fclose(f);
	}
	CHECK(piv_card_new(&d, &cfg, path) == PIV_ERR_STATE_FORMAT);
	unlink(path);
}

int
main(void)
{
	struct piv_card_config cfg;
	struct piv_card *c = NULL;
	EVP_PKEY *pub9a = NULL;
	char path[] = "/tmp/vpiv-unit.XXXXXX";
	int fd;

	test_tlv();
	memset(&cfg, 0, sizeof(cfg));
	cfg.serial_set = 1;
	cfg.serial = 0x00010203;
	cfg.version[0] = 5; cfg.version[1] = 4; cfg.version[2] = 3;
	if (piv_card_new(&c, &cfg, NULL) != PIV_OK) {
		fprintf(stderr, "cannot create card\n");
		return 1;
	}
	test_apdu_layer(c);
	test_pin(c);
	test_mgm(c);
	test_keys(c, &pub9a);
	test_import_attest(c, pub9a);
	test_chaining(c);
	if ((fd = mkstemp(path)) >= 0) {
		close(fd);
		test_state(c, path, pub9a);
	} else {
		CHECK(fd >= 0);
	}
	EVP_PKEY_free(pub9a);
	piv_card_free(&c);
	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("vpiv unit tests passed\n");
	return 0;
}
