/* JWKs and RFC 7638 thumbprints, against the RFCs' own examples. */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/json.h"
#include "core/jwk.h"

static json_t *
jwk(const char *s)
{
	json_t *o = NULL;

	assert_int_equal(ob_json_parse_object(s, strlen(s), &o), OB_OK);
	return o;
}

/* RFC 7638 section 3.1. */
static void
test_rfc7638_rsa(void **state)
{
	json_t		*o = jwk("{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZpt"
	    "N9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
	    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6"
	    "Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6"
	    "qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr"
	    "3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"A"
	    "QAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
	EVP_PKEY	*k = NULL;
	char		 tp[44];

	(void)state;
	assert_int_equal(ob_jwk_thumbprint(o, tp), OB_OK);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* Marked for RS256, which this verifier never uses with a key. */
	assert_int_equal(ob_jwk_to_pkey(o, &k), OB_ERR_JWK_MEMBER);
	assert_null(k);
	json_object_del(o, "alg");
	assert_int_equal(ob_jwk_to_pkey(o, &k), OB_OK);
	assert_int_equal(ob_pkey_thumbprint(k, tp), OB_OK);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	EVP_PKEY_free(k);
	json_decref(o);
}

/* RFC 8037 appendix A.3: the Ed25519 key's thumbprint. */
static void
test_rfc8037_ed25519(void **state)
{
	json_t		*o = jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11q"
	    "YAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
	EVP_PKEY	*k = NULL;
	char		 tp[44];

	(void)state;
	assert_int_equal(ob_jwk_thumbprint(o, tp), OB_OK);
	assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_int_equal(ob_jwk_to_pkey(o, &k), OB_OK);
	assert_int_equal(ob_alg_for_key(k), OB_ALG_EDDSA);
	EVP_PKEY_free(k);
	json_decref(o);
}

static void
test_round_trip(void **state)
{
	static const char *const kinds[] = { "P-256", "P-384", "Ed25519", "RSA" };
	EVP_PKEY	*k, *p = NULL;
	json_t		*o = NULL;
	char		 a[44], b[44];
	size_t		 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		k = t_key(kinds[i]);
		assert_int_equal(ob_jwk_from_pkey(k, &o), OB_OK);
		assert_null(json_object_get(o, "d"));
		assert_int_equal(ob_jwk_to_pkey(o, &p), OB_OK);
		assert_true(ob_pkey_equal(k, p));
		assert_int_equal(ob_pkey_thumbprint(k, a), OB_OK);
		assert_int_equal(ob_jwk_thumbprint(o, b), OB_OK);
		assert_string_equal(a, b);
		EVP_PKEY_free(p);
		EVP_PKEY_free(k);
		json_decref(o);
	}
}

/*
 * EC keys are made from a per-curve template (jwk.c): several imported
 * keys alive at once stay distinct and equal to their sources, so
 * nothing is shared through the template.
 */
static void
test_many_ec(void **state)
{
	static const char *const kinds[] = { "P-256", "P-384" };
	EVP_PKEY	*src[6], *imp[6];
	json_t		*o;
	size_t		 i, j;

	(void)state;
	for (i = 0; i < 6; i++) {
		src[i] = t_key(kinds[i % 2]);
		assert_int_equal(ob_jwk_from_pkey(src[i], &o), OB_OK);
		assert_int_equal(ob_jwk_to_pkey(o, &imp[i]), OB_OK);
		json_decref(o);
	}
	for (i = 0; i < 6; i++)
		for (j = 0; j < 6; j++)
			assert_int_equal(ob_pkey_equal(src[i], imp[j]), i == j);
	for (i = 0; i < 6; i++) {
		EVP_PKEY_free(src[i]);
		EVP_PKEY_free(imp[i]);
	}
}

static void
test_rejects(void **state)
{
	/* RFC 7515 A.3's P-256 key with its private member. */
	static const struct { const char *jwk; int want; } v[] = {
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tL"
		  "e1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6p"
		  "CyStikYjKIWI5a0\",\"d\":\"jpsQnnGQmL-YBIffH1136cLSWvbQ0Rj0PC2D"
		  "i1NNpBE\"}", OB_ERR_JWK_PRIVATE },
		/* y changed: not on the curve */
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tL"
		  "e1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6p"
		  "CyStikYjKIWI5a1\"}", OB_ERR_JWK_INVALID },
		/* short x */
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tL"
		  "e1gHMzV76e8Tus9uPHvR\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6p"
		  "CyStikYjKIWI5a0\"}", OB_ERR_JWK_INVALID },
		{ "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}",
		  OB_ERR_JWK_INVALID },
		{ "{\"kty\":\"oct\",\"k\":\"AAAA\"}", OB_ERR_JWK_PRIVATE },
		{ "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"11qYAYKxCrfVS_7TyW"
		  "QHOg7hcvPapiMlrwIaaPcHURo\"}", OB_ERR_JWK_INVALID },
		{ "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyW"
		  "QHOg7hcvPapiMlrwIaaPcHURo\",\"x5u\":\"https://evil\"}",
		  OB_ERR_JWK_INVALID },
		{ "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
		  OB_ERR_KEY_SIZE },		/* 17-bit modulus */
		{ "{\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMl"
		  "rwIaaPcHURo\"}", OB_ERR_JWK_INVALID },
	};
	EVP_PKEY	*k = NULL;
	json_t		*o;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		o = jwk(v[i].jwk);
		if (ob_jwk_to_pkey(o, &k) != v[i].want)
			fail_msg("case %zu: %s (%s)", i, ob_err_name(
			    ob_jwk_to_pkey(o, &k)), ob_err_detail());
		assert_null(k);
		json_decref(o);
	}
}

/* The key cache never skips a member check, and hands out the same key. */
static void
test_cache(void **state)
{
	EVP_PKEY	*k = t_key("P-256"), *a = NULL, *b = NULL, *c = NULL;
	json_t		*o = NULL, *priv;
	char		 t1[44], t2[44], t3[44];

	(void)state;
	assert_int_equal(ob_jwk_from_pkey(k, &o), OB_OK);
	assert_int_equal(ob_jwk_to_pkey_cached(o, t1, &a), OB_OK);
	assert_int_equal(ob_jwk_to_pkey_cached(o, t2, &b), OB_OK);
	assert_ptr_equal(a, b);			/* the second came from the cache */
	assert_string_equal(t1, t2);
	assert_int_equal(ob_pkey_thumbprint(k, t3), OB_OK);
	assert_string_equal(t1, t3);
	assert_true(ob_pkey_equal(a, k));
	/* Same key material, now with a private member: still refused. */
	priv = json_deep_copy(o);
	json_object_set_new(priv, "d", json_string("AAAA"));
	assert_int_equal(ob_jwk_to_pkey_cached(priv, t2, &c), OB_ERR_JWK_PRIVATE);
	json_object_del(priv, "d");
	json_object_set_new(priv, "x5u", json_string("https://evil"));
	assert_int_equal(ob_jwk_to_pkey_cached(priv, t2, &c), OB_ERR_JWK_INVALID);
	assert_null(c);
	json_decref(priv);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(k);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7638_rsa),
		cmocka_unit_test(test_rfc8037_ed25519),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_many_ec),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
