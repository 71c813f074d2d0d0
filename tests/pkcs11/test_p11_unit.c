/*
 * Unit tests of the PKCS#11 layer's pure parts: URI rules, pin-source
 * mapping, CKA_EC_PARAMS/CKA_EC_POINT decoding, CKR translation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"

static void
uri_ok(void **state)
{
	struct p11_uri *u = NULL;

	(void)state;
	assert_int_equal(p11_uri_parse("pkcs11:token=owner-test;object=k%201;"
	    "id=%0a%ff;type=private?module-path=/usr/lib/x.so&"
	    "pin-source=file:/run/pin", &u), OB_OK);
	assert_string_equal(u->label, "k 1");
	assert_int_equal(u->idlen, 2);
	assert_memory_equal(u->id, "\x0a\xff", 2);
	assert_string_equal(u->module_path, "/usr/lib/x.so");
	assert_null(u->module_name);
	assert_string_equal(u->pin_spec, "file:/run/pin");
	assert_string_equal(u->token_desc, "token=owner-test");
	p11_uri_free(&u);
	assert_null(u);

	assert_int_equal(p11_uri_parse("pkcs11:serial=0011;id=%01?"
	    "module-name=softhsm2&pin-source=%7c/usr/bin/ask", &u), OB_OK);
	assert_string_equal(u->module_name, "softhsm2");
	assert_string_equal(u->pin_spec, "askpass:/usr/bin/ask");
	p11_uri_free(&u);
	assert_int_equal(p11_uri_parse("pkcs11:token=t;object=k?"
	    "pin-source=/run/pin", &u), OB_OK);
	assert_string_equal(u->pin_spec, "file:/run/pin");
	p11_uri_free(&u);
	assert_int_equal(p11_uri_parse("pkcs11:token=t;object=k?"
	    "pin-source=file:///run/pin", &u), OB_OK);
	assert_string_equal(u->pin_spec, "file:/run/pin");
	p11_uri_free(&u);
}

static void
uri_refused(void **state)
{
	static const char *const bad[] = {
		"file:/x",					/* scheme */
		"pkcs11:object=k",				/* no token */
		"pkcs11:token=t",				/* no key */
		"pkcs11:token=t;object=k?pin-value=1234",	/* PIN */
		"pkcs11:token=t;object=k;slot-id=0",		/* slot index */
		"pkcs11:token=t;object=k;type=public",
		"pkcs11:token=t;object=k;type=cert",
		"pkcs11:token=t;object=k?module-path=lib.so",	/* relative */
		"pkcs11:token=t;object=k?pin-source=http://x/pin",
		"pkcs11:token=t;object=k?pin-source=file://host/pin",
		"pkcs11:token=t;object=k;x-unknown=1",
		"pkcs11:token=t;object=%zz",
		"pkcs11:token=t;object=",
		NULL
	};
	struct p11_uri	*u = NULL;
	size_t		 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		int r = p11_uri_parse(bad[i], &u);

		if (r != OB_ERR_KEY_URI)
			fail_msg("%s: %s", bad[i], ob_err_name(r));
		assert_null(u);
	}
	/* The refusal never echoes a pin-value. */
	assert_int_equal(p11_uri_parse("pkcs11:token=t;object=k?"
	    "pin-value=S3cr3tPIN", &u), OB_ERR_KEY_URI);
	assert_null(strstr(ob_err_detail(), "S3cr3tPIN"));
}

static EVP_PKEY *
gen(const char *type, const char *group)
{
	return group != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, type, group) :
	    EVP_PKEY_Q_keygen(NULL, NULL, type);
}

static void
ec_points(void **state)
{
	static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
	    0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04,
	    0x00, 0x22 };
	static const unsigned char edname[] = { 0x13, 0x0c, 'e', 'd', 'w',
	    'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };
	static const unsigned char edoid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
	static const unsigned char k1[] = { 0x06, 0x05, 0x2b, 0x81, 0x04,
	    0x00, 0x0a };		/* secp256k1: not ours */
	unsigned char	 pt[2 + 97], raw[97];
	size_t		 n;
	EVP_PKEY	*k, *out = NULL;

	(void)state;
	/* P-256: wrapped and bare points give the same key. */
	k = gen("EC", "P-256");
	n = 65;
	{
		unsigned char *enc = NULL;

		assert_int_equal(EVP_PKEY_get1_encoded_public_key(k, &enc), 65);
		memcpy(raw, enc, 65);
		OPENSSL_free(enc);
	}
	pt[0] = 0x04;
	pt[1] = 65;
	memcpy(pt + 2, raw, n);
	assert_int_equal(p11_ec_pubkey(CKK_EC, p256, sizeof(p256), pt, 67,
	    &out), OB_OK);
	assert_int_equal(EVP_PKEY_eq(k, out), 1);
	EVP_PKEY_free(out);
	assert_int_equal(p11_ec_pubkey(CKK_EC, p256, sizeof(p256), raw, 65,
	    &out), OB_OK);
	EVP_PKEY_free(out);
	/* Off the curve, truncated, wrong curve, wrong params. */
	pt[66] ^= 0x01;
	assert_int_equal(p11_ec_pubkey(CKK_EC, p256, sizeof(p256), pt, 67,
	    &out), OB_ERR_JWK_INVALID);
	pt[66] ^= 0x01;
	assert_int_equal(p11_ec_pubkey(CKK_EC, p256, sizeof(p256), pt, 66,
	    &out), OB_ERR_JWK_INVALID);
	assert_int_equal(p11_ec_pubkey(CKK_EC, p384, sizeof(p384), pt, 67,
	    &out), OB_ERR_JWK_INVALID);
	assert_int_equal(p11_ec_pubkey(CKK_EC, k1, sizeof(k1), pt, 67,
	    &out), OB_ERR_KEY_TYPE);
	assert_int_equal(p11_ec_pubkey(CKK_EC, p256, sizeof(p256) - 1, pt,
	    67, &out), OB_ERR_KEY_TYPE);
	pt[2] = 0x02;		/* compressed prefix: refused */
	assert_int_equal(p11_ec_pubkey(CKK_EC, p256, sizeof(p256), pt, 67,
	    &out), OB_ERR_JWK_INVALID);
	EVP_PKEY_free(k);

	/* Ed25519 with either parameter encoding. */
	k = gen("ED25519", NULL);
	n = 32;
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
	pt[0] = 0x04;
	pt[1] = 32;
	memcpy(pt + 2, raw, 32);
	assert_int_equal(p11_ec_pubkey(CKK_EC_EDWARDS, edname, sizeof(edname),
	    pt, 34, &out), OB_OK);
	assert_int_equal(EVP_PKEY_eq(k, out), 1);
	EVP_PKEY_free(out);
	assert_int_equal(p11_ec_pubkey(CKK_EC_EDWARDS, edoid, sizeof(edoid),
	    raw, 32, &out), OB_OK);
	EVP_PKEY_free(out);
	assert_int_equal(p11_ec_pubkey(CKK_EC_EDWARDS, p256, sizeof(p256),
	    pt, 34, &out), OB_ERR_KEY_TYPE);
	assert_int_equal(p11_ec_pubkey(CKK_EC_EDWARDS, edoid, sizeof(edoid),
	    pt, 33, &out), OB_ERR_JWK_INVALID);
	/* A token is untrusted: the identity and y >= p are refused. */
	memset(pt + 2, 0, 32);
	pt[2] = 0x01;
	assert_int_equal(p11_ec_pubkey(CKK_EC_EDWARDS, edoid, sizeof(edoid),
	    pt, 34, &out), OB_ERR_KEY_WEAK);
	memset(pt + 2, 0xff, 32);
	pt[2] = 0xf0;
	pt[33] = 0x7f;
	assert_int_equal(p11_ec_pubkey(CKK_EC_EDWARDS, edoid, sizeof(edoid),
	    pt, 34, &out), OB_ERR_KEY_WEAK);
	EVP_PKEY_free(k);
}

static void
ckr_table(void **state)
{
	(void)state;
	assert_int_equal(p11_err(CKR_PIN_LOCKED, "C_Login", "tok"),
	    OB_ERR_PIN_BLOCKED);
	assert_non_null(strstr(ob_err_detail(), "CKR_PIN_LOCKED (0xa4)"));
	assert_non_null(strstr(ob_err_detail(), "tok: C_Login"));
	assert_int_equal(p11_rv_last(), CKR_PIN_LOCKED);
	assert_int_equal(p11_rv_last(), CKR_OK);
	assert_int_equal(p11_err(CKR_TOKEN_NOT_PRESENT, "f", NULL),
	    OB_ERR_TOKEN_ABSENT);
	assert_int_equal(p11_err(CKR_DEVICE_REMOVED, "f", NULL),
	    OB_ERR_TOKEN_ABSENT);
	assert_int_equal(p11_err(CKR_MECHANISM_INVALID, "f", NULL),
	    OB_ERR_MECH_UNSUPPORTED);
	assert_int_equal(p11_err(CKR_KEY_FUNCTION_NOT_PERMITTED, "f", NULL),
	    OB_ERR_KEY_NO_SIGN);
	assert_int_equal(p11_err(CKR_PIN_INCORRECT, "f", NULL),
	    OB_ERR_PIN_INCORRECT);
	assert_int_equal(p11_err(CKR_USER_ALREADY_LOGGED_IN, "f", NULL),
	    OB_OK);
	assert_int_equal(p11_err(CKR_VENDOR_DEFINED | 5, "f", NULL),
	    OB_ERR_DEVICE);
	assert_non_null(strstr(ob_err_detail(), "CKR_VENDOR_DEFINED"));
	assert_true(p11_rv_transient(CKR_SESSION_HANDLE_INVALID));
	assert_true(p11_rv_transient(CKR_CRYPTOKI_NOT_INITIALIZED));
	assert_true(p11_rv_transient(CKR_DEVICE_REMOVED));
	assert_true(p11_rv_transient(CKR_TOKEN_NOT_PRESENT));
	assert_false(p11_rv_transient(CKR_PIN_INCORRECT));
	assert_false(p11_rv_transient(CKR_MECHANISM_INVALID));
	assert_string_equal(p11_rv_name(CKR_SESSION_HANDLE_INVALID),
	    "CKR_SESSION_HANDLE_INVALID");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uri_ok),
		cmocka_unit_test(uri_refused),
		cmocka_unit_test(ec_points),
		cmocka_unit_test(ckr_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
