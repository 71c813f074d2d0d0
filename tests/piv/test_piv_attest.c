/*
 * Unit tests for server-verify/piv_attest.c: chains made here with
 * OpenSSL (root -> f9 -> attestation certificate, YubiKey layout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "server-verify/piv_attest.h"

#define NOW	1767225600LL	/* 2026-01-01 */
#define DAY	86400L

struct fix {
	EVP_PKEY	*root_key, *f9_key, *key, *other_key, *root2_key;
	X509		*root, *f9, *att, *root2;
	X509_STORE	*roots;
};

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

static void
add_ext(X509 *x, int nid, const char *val)
{
	X509_EXTENSION	*e;
	X509V3_CTX	 ctx;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static void
add_raw_ext(X509 *x, const char *oid, const unsigned char *v, int n)
{
	ASN1_OBJECT		*obj;
	ASN1_OCTET_STRING	*os;
	X509_EXTENSION		*e;

	assert_non_null(obj = OBJ_txt2obj(oid, 1));
	assert_non_null(os = ASN1_OCTET_STRING_new());
	assert_int_equal(ASN1_OCTET_STRING_set(os, v, n), 1);
	assert_non_null(e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

static X509 *
mkcert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *ikey, int ca,
    long from, long days, int yk)
{
	/* Serial 12345678 as a DER INTEGER; firmware 5.4.3; policies. */
	static const unsigned char serial[] = { 0x02, 0x04, 0x00, 0xbc, 0x61,
	    0x4e };
	static const unsigned char fw[] = { 5, 4, 3 };
	static const unsigned char pol[] = { 1, 1 };
	static long sn = 1;
	X509		*x;
	X509_NAME	*n;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), sn++), 1);
	assert_non_null(n = X509_NAME_new());
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n), 1);
	X509_NAME_free(n);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 0, from,
	    &(time_t){ (time_t)NOW }));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0,
	    &(time_t){ (time_t)NOW }));
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	if (ca) {
		add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, NID_key_usage, "critical,keyCertSign");
	}
	if (yk) {
		add_raw_ext(x, "1.3.6.1.4.1.41482.3.3", fw, 3);
		add_raw_ext(x, "1.3.6.1.4.1.41482.3.7", serial, sizeof(serial));
		add_raw_ext(x, "1.3.6.1.4.1.41482.3.8", pol, 2);
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static char *
pem_of(X509 *x)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *s;
	long	 n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &p);
	assert_non_null(s = strndup(p, (size_t)n));
	BIO_free(b);
	return s;
}

static json_t *
b64_of(X509 *x)
{
	unsigned char	*der = NULL, *b;
	int		 n;
	json_t		*j;

	assert_true((n = i2d_X509(x, &der)) > 0);
	assert_non_null(b = malloc((size_t)(4 * (n + 2) / 3 + 1)));
	EVP_EncodeBlock(b, der, n);
	j = json_string((char *)b);
	free(b);
	OPENSSL_free(der);
	return j;
}

static json_t *
att_json(X509 *a, X509 *b)
{
	json_t *x5c = json_array();

	json_array_append_new(x5c, b64_of(a));
	if (b != NULL)
		json_array_append_new(x5c, b64_of(b));
	return json_pack("{s:s,s:s,s:o}", "type", "piv", "origin",
	    "generated", "x5c", x5c);
}

static json_t *
roots_json(X509 *x)
{
	char	*p = pem_of(x);
	json_t	*a = json_pack("[s]", p);

	free(p);
	return a;
}

static int
setup(void **state)
{
	struct fix	*f = calloc(1, sizeof(*f));
	json_t		*r;

	assert_non_null(f);
	f->root_key = ec_key();
	f->f9_key = ec_key();
	f->key = ec_key();
	f->other_key = ec_key();
	f->root2_key = ec_key();
	f->root = mkcert("test root", f->root_key, NULL, f->root_key, 1,
	    -DAY, 3650, 0);
	f->root2 = mkcert("other root", f->root2_key, NULL, f->root2_key, 1,
	    -DAY, 3650, 0);
	f->f9 = mkcert("PIV Attestation 12345678", f->f9_key, f->root,
	    f->root_key, 1, -DAY, 3650, 0);
	f->att = mkcert("PIV Attestation 9a", f->key, f->f9, f->f9_key, 0,
	    -DAY, 3650, 1);
	r = roots_json(f->root);
	assert_int_equal(ob_piv_roots_load(r, &f->roots), OB_OK);
	json_decref(r);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->f9_key);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other_key);
	EVP_PKEY_free(f->root2_key);
	X509_free(f->root);
	X509_free(f->root2);
	X509_free(f->f9);
	X509_free(f->att);
	X509_STORE_free(f->roots);
	free(f);
	return 0;
}

static void
test_good(void **state)
{
	struct fix			*f = *state;
	struct ob_piv_attest_info	 info;
	json_t				*a = att_json(f->att, f->f9);

	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW,
	    &info), OB_OK);
	assert_true(info.have_serial);
	assert_int_equal(info.serial, 12345678);
	assert_true(info.have_firmware);
	assert_memory_equal(info.firmware, "\x05\x04\x03", 3);
	assert_true(info.have_policy);
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, 0, NULL),
	    OB_OK);
	json_decref(a);
}

static void
test_untrusted(void **state)
{
	struct fix	*f = *state;
	X509_STORE	*other = NULL;
	X509		*direct;
	json_t		*a = att_json(f->att, f->f9), *r, *b;

	/* Another root; no root at all. */
	r = roots_json(f->root2);
	assert_int_equal(ob_piv_roots_load(r, &other), OB_OK);
	assert_int_equal(ob_piv_attest_verify(a, f->key, other, NOW, NULL),
	    OB_ERR_ATTEST_UNTRUSTED);
	assert_int_equal(ob_piv_attest_verify(a, f->key, NULL, NOW, NULL),
	    OB_ERR_ATTEST_UNTRUSTED);
	json_decref(a);
	/* Order swapped. */
	a = att_json(f->f9, f->att);
	assert_int_not_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW,
	    NULL), OB_OK);
	json_decref(a);
	/* Signed by the root itself, with an unrelated f9 beside it. */
	direct = mkcert("direct", f->key, f->root, f->root_key, 0, -DAY, 10,
	    1);
	b = att_json(direct, f->f9);
	assert_int_equal(ob_piv_attest_verify(b, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_UNTRUSTED);
	json_decref(b);
	X509_free(direct);
	json_decref(r);
	X509_STORE_free(other);
}

static void
test_expired(void **state)
{
	struct fix	*f = *state;
	X509		*old;
	json_t		*a;

	old = mkcert("old", f->key, f->f9, f->f9_key, 0, -30 * DAY, -10, 1);
	a = att_json(old, f->f9);
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_UNTRUSTED);
	/* now = 0: generation is a past event; expiry does not undo it. */
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, 0, NULL),
	    OB_OK);
	json_decref(a);
	X509_free(old);
}

static void
test_key_mismatch(void **state)
{
	struct fix	*f = *state;
	json_t		*a = att_json(f->att, f->f9);

	assert_int_equal(ob_piv_attest_verify(a, f->other_key, f->roots, NOW,
	    NULL), OB_ERR_ATTEST_KEY_MISMATCH);
	json_decref(a);
}

static void
test_imported(void **state)
{
	struct fix	*f = *state;
	json_t		*a = json_pack("{s:s,s:s}", "type", "piv", "origin",
	    "imported");

	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "imported"));
	json_decref(a);
}

static void
test_malformed(void **state)
{
	struct fix	*f = *state;
	json_t		*a;
	char		*s;

	/* One certificate only. */
	a = att_json(f->att, NULL);
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_decref(a);
	/* Unknown member, wrong type, missing origin. */
	a = att_json(f->att, f->f9);
	json_object_set_new(a, "extra", json_true());
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_object_del(a, "extra");
	json_object_set_new(a, "type", json_string("tpm2"));
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_object_set_new(a, "type", json_string("piv"));
	json_object_del(a, "origin");
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_object_set_new(a, "origin", json_string("generated"));
	/* Base64: a bad character, a flipped last character, DER + junk. */
	s = strdup(json_string_value(json_array_get(json_object_get(a, "x5c"),
	    0)));
	assert_non_null(s);
	s[10] = '*';
	json_array_set_new(json_object_get(a, "x5c"), 0, json_string(s));
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	free(s);
	json_array_set_new(json_object_get(a, "x5c"), 0, json_string("MAA="));
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_array_set_new(json_object_get(a, "x5c"), 0, json_string("MAB="));
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_array_set_new(json_object_get(a, "x5c"), 0, json_string("MAA"));
	assert_int_equal(ob_piv_attest_verify(a, f->key, f->roots, NOW, NULL),
	    OB_ERR_ATTEST_INVALID);
	json_decref(a);
	assert_int_equal(ob_piv_attest_verify(json_true(), f->key, f->roots,
	    NOW, NULL), OB_ERR_ATTEST_INVALID);
}

static void
test_roots(void **state)
{
	struct fix	*f = *state;
	X509_STORE	*st = NULL;
	json_t		*a;
	char		*p, *q;

	(void)f;
	a = json_array();
	assert_int_equal(ob_piv_roots_load(a, &st), OB_ERR_TRUST_INVALID);
	json_array_append_new(a, json_string("not a PEM"));
	assert_int_equal(ob_piv_roots_load(a, &st), OB_ERR_TRUST_INVALID);
	json_decref(a);
	p = pem_of(f->root);
	assert_non_null(q = malloc(strlen(p) + 8));
	(void)snprintf(q, strlen(p) + 8, "%sjunk\n", p);
	a = json_pack("[s]", q);
	assert_int_equal(ob_piv_roots_load(a, &st), OB_ERR_TRUST_INVALID);
	json_decref(a);
	a = json_string(p);
	assert_int_equal(ob_piv_roots_load(a, &st), OB_ERR_TRUST_INVALID);
	assert_null(st);
	json_decref(a);
	free(p);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_imported),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_roots),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
