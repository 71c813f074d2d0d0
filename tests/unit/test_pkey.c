/*
 * The public-key decoder (core/pkey.c): Ed25519 small-order, canonical and
 * on-curve rules in every encoding, RSA bounds, the same rules for keys
 * OpenSSL built (certificates), and the cost of refusing an attacker's key
 * against a valid verification, measured in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/pkey.h"

static void
unhex(const char *h, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

static json_t *
okp_jwk(const unsigned char x[32])
{
	char	*s = NULL;
	json_t	*o;

	assert_int_equal(ob_b64url_encode(x, 32, &s), OB_OK);
	o = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", s);
	free(s);
	assert_non_null(o);
	return o;
}

/*
 * One encoding through every door: the byte rules, the decoder, a JWK,
 * and ob_pkey_check on a key OpenSSL built from it without any check.
 */
static void
ed_expect(const char *hex, int want, int want_bytes)
{
	unsigned char	 x[32];
	EVP_PKEY	*k = NULL, *raw;
	json_t		*o;

	unhex(hex, x, 32);
	if (ob_pkey_check_ed25519(x) != want_bytes)
		fail_msg("%s: byte rules say %s", hex,
		    ob_err_name(ob_pkey_check_ed25519(x)));
	if (ob_pkey_from_ed25519(x, &k) != want)
		fail_msg("%s: decoder says %s, want %s", hex,
		    ob_err_name(ob_pkey_from_ed25519(x, &k)), ob_err_name(want));
	if (want != OB_OK)
		assert_null(k);
	EVP_PKEY_free(k);
	k = NULL;
	o = okp_jwk(x);
	if (ob_jwk_to_pkey(o, &k) != want)
		fail_msg("%s: JWK says %s", hex, ob_err_name(want));
	EVP_PKEY_free(k);
	json_decref(o);
	assert_non_null(raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
	    NULL, x, 32));
	if (ob_pkey_check(raw) != want)
		fail_msg("%s: ob_pkey_check says %s", hex,
		    ob_err_name(ob_pkey_check(raw)));
	EVP_PKEY_free(raw);
}

/*
 * The 8 points of small order, computed here from the curve, not taken
 * from pkey.c: y = 1 (order 1), p - 1 (2), 0 (4, both signs of x), and
 * two y of order 8; each also with the sign bit flipped (for x = 0 that
 * encoding is itself non-canonical), and y = p, p + 1.
 */
static void
test_ed25519_small_order(void **state)
{
	static const char *const y[] = {
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	char	h[65];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(y) / sizeof(y[0]); i++) {
		ed_expect(y[i], OB_ERR_KEY_WEAK, OB_ERR_KEY_WEAK);
		memcpy(h, y[i], sizeof(h));
		/* flip bit 255 (the sign of x): last byte's high bit */
		snprintf(h + 62, 3, "%02x", (unsigned)strtoul(y[i] + 62, NULL,
		    16) ^ 0x80u);
		ed_expect(h, OB_ERR_KEY_WEAK, OB_ERR_KEY_WEAK);
	}
}

/* y >= p for points that are not of small order; and y off the curve. */
static void
test_ed25519_noncanonical(void **state)
{
	(void)state;
	/* y = p + 3 (3 is on the curve, mixed order), both signs */
	ed_expect("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    OB_ERR_KEY_WEAK, OB_ERR_KEY_WEAK);
	ed_expect("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    OB_ERR_KEY_WEAK, OB_ERR_KEY_WEAK);
	/* y = 2^255 - 1 = p + 18 (18 is on the curve) */
	ed_expect("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    OB_ERR_KEY_WEAK, OB_ERR_KEY_WEAK);
	/* y = 2: no x; passes the byte rules, refused by the curve check */
	ed_expect("0200000000000000000000000000000000000000000000000000000000000000",
	    OB_ERR_JWK_INVALID, OB_OK);
	/* y = p - 2 is below p: canonical; (p - 2)^2 = 4 as for y = 2 */
	ed_expect("ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    OB_ERR_JWK_INVALID, OB_OK);
}

static void
test_ed25519_good(void **state)
{
	(void)state;
	/* RFC 8037 A.2's key, the base point, the base point negated */
	ed_expect("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    OB_OK, OB_OK);
	ed_expect("5866666666666666666666666666666666666666666666666666666666666666",
	    OB_OK, OB_OK);
	ed_expect("58666666666666666666666666666666666666666666666666666666666666e6",
	    OB_OK, OB_OK);
	/*
	 * y = 3: a point with a torsion component (not in the prime-order
	 * subgroup), accepted as libsodium does (docs/decisions.md).
	 */
	ed_expect("0300000000000000000000000000000000000000000000000000000000000000",
	    OB_OK, OB_OK);
}

/*
 * Why: OpenSSL accepts the identity as a key, and R = identity, S = 0
 * verifies any message under it.  Reported, not asserted (a later OpenSSL
 * may refuse it); the decoder refuses the key either way.
 */
static void
test_ed25519_identity_forgery(void **state)
{
	unsigned char	 id[32] = { 0x01 }, sig[64] = { 0x01 };
	const char	*msg = "any message at all";
	EVP_PKEY	*k;
	EVP_MD_CTX	*ctx;
	int		 ok;

	(void)state;
	assert_non_null(k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    id, 32));
	assert_non_null(ctx = EVP_MD_CTX_new());
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)msg,
	    strlen(msg)) == 1;
	print_message("OpenSSL %s the constant signature under the identity\n",
	    ok ? "accepts" : "refuses");
	EVP_MD_CTX_free(ctx);
	assert_int_equal(ob_pkey_check(k), OB_ERR_KEY_WEAK);
	EVP_PKEY_free(k);
}

/* n of bits bits (top bit set), last byte last; e as given. */
static int
rsa_try(size_t bits, unsigned char last, const unsigned char *e, size_t elen)
{
	unsigned char	 n[1 + 8192 / 8];
	size_t		 nlen = (bits + 7) / 8, i;

	for (i = 0; i < nlen; i++)
		n[i] = (unsigned char)(0x3c + 7 * i);
	n[0] = (unsigned char)(bits % 8 == 0 ? 0x80 : 1u << (bits % 8 - 1));
	n[nlen - 1] = last;
	return ob_pkey_check_rsa(n, nlen, e, elen);
}

static void
test_rsa_bounds(void **state)
{
	static const unsigned char e65537[] = { 0x01, 0x00, 0x01 };
	static const unsigned char e3[] = { 0x03 };
	static const unsigned char e1[] = { 0x01 };
	static const unsigned char e_even[] = { 0x01, 0x00, 0x00 };
	static const unsigned char e_max[] = { 0xff, 0xff, 0xff, 0xff };
	static const unsigned char e_big[] = { 0x01, 0x00, 0x00, 0x00, 0x01 };
	static const unsigned char e_lead0[] = { 0x00, 0x00, 0x01, 0x00, 0x01 };
	unsigned char	 n0[257];
	EVP_PKEY	*k;

	(void)state;
	assert_int_equal(rsa_try(2048, 0x01, e65537, 3), OB_OK);
	assert_int_equal(rsa_try(4096, 0x01, e65537, 3), OB_OK);
	assert_int_equal(rsa_try(3072, 0x01, e3, 1), OB_OK);
	assert_int_equal(rsa_try(2048, 0x01, e_max, 4), OB_OK);
	assert_int_equal(rsa_try(2048, 0x01, e_lead0, 5), OB_OK);
	assert_int_equal(rsa_try(2047, 0x01, e65537, 3), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(4097, 0x01, e65537, 3), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(8192, 0x01, e65537, 3), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(2048, 0x02, e65537, 3), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(2048, 0x01, e1, 1), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(2048, 0x01, e_even, 3), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(2048, 0x01, e_big, 5), OB_ERR_KEY_SIZE);
	assert_int_equal(rsa_try(2048, 0x01, e65537, 0), OB_ERR_KEY_SIZE);
	/* A leading zero byte does not count: 2048 bits in 257 bytes. */
	memset(n0, 0xa5, sizeof(n0));
	n0[0] = 0;
	assert_int_equal(ob_pkey_check_rsa(n0, sizeof(n0), e65537, 3), OB_OK);
	/* The decoder refuses what the byte rules refuse. */
	k = NULL;
	assert_int_equal(ob_pkey_from_rsa(n0, sizeof(n0), e1, 1, &k),
	    OB_ERR_KEY_SIZE);
	assert_null(k);
	assert_int_equal(ob_pkey_from_rsa(n0, sizeof(n0), e65537, 3, &k),
	    OB_OK);
	assert_int_equal(ob_pkey_check(k), OB_OK);
	EVP_PKEY_free(k);
}

/* Keys OpenSSL built (as from a certificate) meet the same rules. */
static void
test_check_built(void **state)
{
	static const char *const kinds[] = { "P-256", "P-384", "Ed25519", "RSA" };
	EVP_PKEY	*k;
	size_t		 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		k = t_key(kinds[i]);
		assert_int_equal(ob_pkey_check(k), OB_OK);
		EVP_PKEY_free(k);
	}
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
	assert_int_equal(ob_pkey_check(k), OB_ERR_KEY_SIZE);
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"));
	assert_int_equal(ob_pkey_check(k), OB_ERR_KEY_TYPE);
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448"));
	assert_int_equal(ob_pkey_check(k), OB_ERR_KEY_TYPE);
	EVP_PKEY_free(k);
}

/* EC points: the length and form, the curve. */
static void
test_ec_points(void **state)
{
	unsigned char	 pt[97];
	size_t		 len = sizeof(pt);
	EVP_PKEY	*src = t_key("P-256"), *k = NULL;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(src,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len), 1);
	assert_int_equal(len, 65);
	assert_int_equal(ob_pkey_from_ec_point(OB_KEY_P256, pt, 65, &k), OB_OK);
	assert_true(ob_pkey_equal(src, k));
	EVP_PKEY_free(k);
	k = NULL;
	assert_int_equal(ob_pkey_from_ec_point(OB_KEY_P384, pt, 65, &k),
	    OB_ERR_JWK_INVALID);
	assert_int_equal(ob_pkey_from_ec_point(OB_KEY_ED25519, pt, 65, &k),
	    OB_ERR_KEY_TYPE);
	pt[64] ^= 1;
	assert_int_equal(ob_pkey_from_ec_point(OB_KEY_P256, pt, 65, &k),
	    OB_ERR_JWK_INVALID);
	pt[64] ^= 1;
	pt[0] = 0x02;		/* compressed form is not accepted */
	assert_int_equal(ob_pkey_from_ec_point(OB_KEY_P256, pt, 33, &k),
	    OB_ERR_JWK_INVALID);
	assert_null(k);
	EVP_PKEY_free(src);
}

/* RFC 7517 4.2-4.5 on a JWK: use, alg, kid. */
static void
test_jwk_members(void **state)
{
	EVP_PKEY	*src = t_key("P-256"), *k = NULL;
	json_t		*o, *c;

	(void)state;
	assert_int_equal(ob_jwk_from_pkey(src, &o), OB_OK);
#define TRY(key, val, want) do { c = json_deep_copy(o); \
	json_object_set_new(c, key, val); \
	if (ob_jwk_to_pkey(c, &k) != (want)) fail_msg("%s: %s", key, \
	    ob_err_name(ob_jwk_to_pkey(c, &k))); \
	EVP_PKEY_free(k); k = NULL; json_decref(c); } while (0)
	TRY("use", json_string("sig"), OB_OK);
	TRY("use", json_string("enc"), OB_ERR_JWK_MEMBER);
	TRY("use", json_true(), OB_ERR_JWK_MEMBER);
	TRY("alg", json_string("ES256"), OB_OK);
	TRY("alg", json_string("none"), OB_ERR_JWK_MEMBER);
	TRY("alg", json_string("HS256"), OB_ERR_JWK_MEMBER);
	TRY("alg", json_string("ES384"), OB_ERR_JWK_MEMBER);
	TRY("alg", json_string("EdDSA"), OB_ERR_JWK_MEMBER);
	TRY("alg", json_string("RS256"), OB_ERR_JWK_MEMBER);
	TRY("alg", json_string("webauthn-es256"), OB_ERR_JWK_MEMBER);
	TRY("alg", json_integer(-7), OB_ERR_JWK_MEMBER);
	TRY("kid", json_string("k1"), OB_OK);
	TRY("kid", json_integer(1), OB_ERR_JWK_MEMBER);
	TRY("kid", json_null(), OB_ERR_JWK_MEMBER);
	c = json_deep_copy(o);
	{
		char long_kid[300];

		memset(long_kid, 'k', sizeof(long_kid) - 1);
		long_kid[sizeof(long_kid) - 1] = '\0';
		json_object_set_new(c, "kid", json_string(long_kid));
	}
	assert_int_equal(ob_jwk_to_pkey(c, &k), OB_ERR_JWK_MEMBER);
	json_decref(c);
	/* The cached path runs the same member rules. */
	c = json_deep_copy(o);
	json_object_set_new(c, "use", json_string("enc"));
	{
		char jkt[44];

		assert_int_equal(ob_jwk_to_pkey_cached(c, jkt, &k),
		    OB_ERR_JWK_MEMBER);
	}
	assert_null(k);
	json_decref(c);
	json_decref(o);
	EVP_PKEY_free(src);
#undef TRY
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A made-up RSA JWK of bits bits, different for every salt. */
static json_t *
fake_rsa(size_t bits, size_t salt)
{
	unsigned char	*n = malloc(bits / 8);
	char		*s = NULL;
	json_t		*o;
	size_t		 i;

	assert_non_null(n);
	for (i = 0; i < bits / 8; i++)
		n[i] = (unsigned char)(0x5b + 97 * i + 31 * salt);
	n[0] |= 0x80;
	n[bits / 8 - 1] |= 1;
	assert_int_equal(ob_b64url_encode(n, bits / 8, &s), OB_OK);
	o = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "e", "AQAB", "n", s);
	free(s);
	free(n);
	assert_non_null(o);
	return o;
}

/*
 * Acceptance: refusing an attacker's key costs at most 5x a valid ES256
 * verification (import of a new P-256 JWK and the signature check),
 * measured here in thread CPU time, interleaved.  The largest allowed RSA
 * key is imported and its (bad) signature checked; 8192- and 16384-bit
 * moduli must be refused by size.  Every key is new: no cache helps.
 */
#define COST_N		40
#define COST_BOUND	5.0

static void
test_reject_cost(void **state)
{
	const char	*msg = "signing input";
	EVP_PKEY	*ec = t_key("P-256"), *k;
	json_t		*ecj, *rj[3][COST_N];
	unsigned char	*sig = NULL, junk[512];
	size_t		 siglen, i, c;
	double		 t0, t_valid = 0, t_rej[3] = { 0, 0, 0 };
	static const size_t bits[3] = { 4096, 8192, 16384 };
	static const int want[3] = { OB_ERR_SIG_INVALID, OB_ERR_KEY_SIZE,
	    OB_ERR_KEY_SIZE };
	int		 r;

	(void)state;
	assert_int_equal(ob_jwk_from_pkey(ec, &ecj), OB_OK);
	assert_int_equal(ob_sig_sign(OB_ALG_ES256, ec, (const unsigned char *)
	    msg, strlen(msg), &sig, &siglen), OB_OK);
	memset(junk, 0x11, sizeof(junk));
	for (c = 0; c < 3; c++)
		for (i = 0; i < COST_N; i++)
			rj[c][i] = fake_rsa(bits[c], i);
	for (i = 0; i < COST_N; i++) {
		t0 = cpu_now();
		assert_int_equal(ob_jwk_to_pkey(ecj, &k), OB_OK);
		assert_int_equal(ob_sig_verify(OB_ALG_ES256, k,
		    (const unsigned char *)msg, strlen(msg), sig, siglen),
		    OB_OK);
		EVP_PKEY_free(k);
		t_valid += cpu_now() - t0;
		for (c = 0; c < 3; c++) {
			k = NULL;
			t0 = cpu_now();
			r = ob_jwk_to_pkey(rj[c][i], &k);
			if (r == OB_OK) {
				r = ob_sig_verify(OB_ALG_PS256, k,
				    (const unsigned char *)msg, strlen(msg),
				    junk, bits[c] / 8);
				EVP_PKEY_free(k);
			}
			t_rej[c] += cpu_now() - t0;
			if (r != want[c])
				fail_msg("RSA-%zu: %s, want %s", bits[c],
				    ob_err_name(r), ob_err_name(want[c]));
		}
	}
	for (c = 0; c < 3; c++) {
		print_message("RSA-%zu cnf.jwk refused at %.2fx a valid ES256 "
		    "import and verification\n", bits[c], t_rej[c] / t_valid);
		assert_true(t_rej[c] < COST_BOUND * t_valid);
		for (i = 0; i < COST_N; i++)
			json_decref(rj[c][i]);
	}
	free(sig);
	json_decref(ecj);
	EVP_PKEY_free(ec);
}

/* R||S to DER and back (core/alg.c, built on core/buf): minimal
 * INTEGERs, a 00 before a high bit, the 81 length form, refusals. */
static void
test_ecdsa_der(void **state)
{
	unsigned char	 rs[132], *der = NULL, *back = NULL;
	size_t		 derlen = 0, backlen = 0;
	static const unsigned char small[] = {
		0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00, 0x80
	};
	/* R = 1 written as 02 02 00 01: not the minimal INTEGER */
	static const unsigned char noncanon[] = {
		0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01
	};

	(void)state;
	memset(rs, 0, sizeof(rs));
	rs[31] = 0x01;			/* R = 1 */
	rs[32] = 0x80;			/* S = 2^255 */
	assert_int_equal(ob_ecdsa_rs_to_der(rs, 64, &der, &derlen), OB_OK);
	assert_int_equal(derlen, 2 + 3 + 35);
	assert_memory_equal(der, small, sizeof(small));
	assert_int_equal(ob_ecdsa_der_to_rs(der, derlen, 32, &back, &backlen),
	    OB_OK);
	assert_int_equal(backlen, 64);
	assert_memory_equal(back, rs, 64);
	free(der);
	free(back);
	/* R = S = 0: one zero byte each. */
	memset(rs, 0, 64);
	assert_int_equal(ob_ecdsa_rs_to_der(rs, 64, &der, &derlen), OB_OK);
	assert_int_equal(derlen, 8);
	assert_int_equal(der[3], 1);
	free(der);
	/* P-521 sizes with both high bits: 2 * (2 + 67) = 138, form 81. */
	memset(rs, 0xff, sizeof(rs));
	assert_int_equal(ob_ecdsa_rs_to_der(rs, 132, &der, &derlen), OB_OK);
	assert_int_equal(derlen, 3 + 138);
	assert_int_equal(der[1], 0x81);
	assert_int_equal(der[2], 138);
	assert_int_equal(der[3], 0x02);
	assert_int_equal(der[4], 67);
	assert_int_equal(der[5], 0x00);
	free(der);
	der = NULL;
	assert_int_equal(ob_ecdsa_rs_to_der(rs, 0, &der, &derlen),
	    OB_ERR_SIG_FORMAT);
	assert_int_equal(ob_ecdsa_rs_to_der(rs, 63, &der, &derlen),
	    OB_ERR_SIG_FORMAT);
	assert_int_equal(ob_ecdsa_rs_to_der(rs, 134, &der, &derlen),
	    OB_ERR_SIG_FORMAT);
	assert_null(der);
	assert_int_equal(ob_ecdsa_der_to_rs(noncanon, sizeof(noncanon), 32,
	    &back, &backlen), OB_ERR_SIG_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519_small_order),
		cmocka_unit_test(test_ed25519_noncanonical),
		cmocka_unit_test(test_ed25519_good),
		cmocka_unit_test(test_ed25519_identity_forgery),
		cmocka_unit_test(test_rsa_bounds),
		cmocka_unit_test(test_check_built),
		cmocka_unit_test(test_ec_points),
		cmocka_unit_test(test_jwk_members),
		cmocka_unit_test(test_reject_cost),
		cmocka_unit_test(test_ecdsa_der),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
