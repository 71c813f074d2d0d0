/*
 * Unit test of the verifier's TPM2_Certify check (server-verify/
 * tpm_attest.c) on evidence built here to the TPM 2.0 Part 2 layouts,
 * signed with software keys: every check has a negative case, and every
 * truncation and bit flip of the evidence is rejected.  The integration
 * test (test_tpm2_attest.sh) runs the same check on swtpm's output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "server-verify/tpm_attest.h"

struct buf {
	unsigned char	b[2048];
	size_t		n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put_u(struct buf *b, uint32_t v, size_t w)
{
	unsigned char	x[4];
	size_t		i;

	for (i = 0; i < w; i++)
		x[i] = (unsigned char)(v >> (8 * (w - 1 - i)));
	put(b, x, w);
}

static void
put_2b(struct buf *b, const unsigned char *p, size_t n)
{
	put_u(b, (uint32_t)n, 2);
	put(b, p, n);
}

#define ATTRS_OK	0x00040072u	/* fixedTPM|fixedParent|sdo|uwa|sign */

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

/* TPMT_PUBLIC of an ECC P-256 ECDSA-SHA256 key. */
static void
public_ec(EVP_PKEY *k, uint32_t attrs, struct buf *b)
{
	unsigned char	pt[65];
	size_t		n = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(k,
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n), 1);
	assert_int_equal(n, 65);
	b->n = 0;
	put_u(b, 0x0023, 2);		/* TPM_ALG_ECC */
	put_u(b, 0x000b, 2);		/* nameAlg SHA-256 */
	put_u(b, attrs, 4);
	put_u(b, 0, 2);			/* authPolicy */
	put_u(b, 0x0010, 2);		/* symmetric NULL */
	put_u(b, 0x0018, 2);		/* ECDSA */
	put_u(b, 0x000b, 2);		/* SHA-256 */
	put_u(b, 0x0003, 2);		/* NIST P-256 */
	put_u(b, 0x0010, 2);		/* kdf NULL */
	put_2b(b, pt + 1, 32);
	put_2b(b, pt + 33, 32);
}

/* TPMS_ATTEST of TPM2_Certify over the key whose TPMT_PUBLIC is pub. */
static void
attest_for(const struct buf *pub, const unsigned char *nonce, size_t nlen,
    uint32_t magic, uint16_t type, struct buf *b)
{
	unsigned char	name[34], other[34], clock[25];

	name[0] = 0x00;
	name[1] = 0x0b;
	assert_int_equal(EVP_Digest(pub->b, pub->n, name + 2, NULL,
	    EVP_sha256(), NULL), 1);
	memset(other, 0x5a, sizeof(other));
	memset(clock, 0x01, sizeof(clock));
	b->n = 0;
	put_u(b, magic, 4);
	put_u(b, type, 2);
	put_2b(b, other, sizeof(other));	/* qualifiedSigner */
	put_2b(b, nonce, nlen);			/* extraData */
	put(b, clock, sizeof(clock));		/* clockInfo, firmware */
	put_2b(b, name, sizeof(name));
	put_2b(b, other, sizeof(other));	/* qualifiedName */
}

static void
sign(EVP_PKEY *ak, const struct buf *msg, struct buf *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	sig->n = sizeof(sig->b);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    ak), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig->b, &sig->n, msg->b, msg->n),
	    1);
	EVP_MD_CTX_free(ctx);
}

struct fx {
	EVP_PKEY	*ak, *ak2, *key, *key2;
	struct buf	 pub, pub2, att, sig;
	unsigned char	 nonce[24];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->ak = ec_key();
	f->ak2 = ec_key();
	f->key = ec_key();
	f->key2 = ec_key();
	memset(f->nonce, 0x42, sizeof(f->nonce));
	public_ec(f->key, ATTRS_OK, &f->pub);
	public_ec(f->key2, ATTRS_OK, &f->pub2);
	attest_for(&f->pub, f->nonce, sizeof(f->nonce), 0xff544347u, 0x8017,
	    &f->att);
	sign(f->ak, &f->att, &f->sig);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	EVP_PKEY_free(f->ak);
	EVP_PKEY_free(f->ak2);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->key2);
	free(f);
	return 0;
}

static int
run(struct fx *f, const struct buf *att, const struct buf *sig,
    const struct buf *pub, EVP_PKEY *ak, const unsigned char *nonce,
    size_t nlen, EVP_PKEY *key)
{
	return ob_tpm_attest_verify(att->b, att->n, sig->b, sig->n, pub->b,
	    pub->n, ak, nonce, nlen, key);
	(void)f;
}

static void
t_good(void **state)
{
	struct fx *f = *state;

	assert_int_equal(run(f, &f->att, &f->sig, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_OK);
}

static void
t_nonce(void **state)
{
	struct fx	*f = *state;
	unsigned char	 other[24];

	memset(other, 0x43, sizeof(other));
	assert_int_equal(run(f, &f->att, &f->sig, &f->pub, f->ak, other,
	    sizeof(other), f->key), OB_ERR_ATTEST_NONCE);
	assert_int_equal(run(f, &f->att, &f->sig, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce) - 1, f->key), OB_ERR_ATTEST_NONCE);
	assert_int_equal(run(f, &f->att, &f->sig, &f->pub, f->ak, f->nonce,
	    0, f->key), OB_ERR_ATTEST_INVALID);
}

static void
t_untrusted(void **state)
{
	struct fx	*f = *state;
	struct buf	 sig2;
	EVP_PKEY	*p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

	sign(f->ak2, &f->att, &sig2);
	assert_int_equal(run(f, &f->att, &sig2, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_UNTRUSTED);
	assert_int_equal(run(f, &f->att, &f->sig, &f->pub, p384, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_UNTRUSTED);
	EVP_PKEY_free(p384);
}

static void
t_other_key(void **state)
{
	struct fx	*f = *state;
	struct buf	 att2, sig2;

	/* The certify is genuine but for key2; enrolling key. */
	attest_for(&f->pub2, f->nonce, sizeof(f->nonce), 0xff544347u,
	    0x8017, &att2);
	sign(f->ak, &att2, &sig2);
	assert_int_equal(run(f, &att2, &sig2, &f->pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_KEY_MISMATCH);
	/* key2's certify with key's TPMT_PUBLIC: the name gives it away. */
	assert_int_equal(run(f, &att2, &sig2, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_KEY_MISMATCH);
}

static void
t_structure(void **state)
{
	struct fx	*f = *state;
	struct buf	 att2, sig2, pub2;

	attest_for(&f->pub, f->nonce, sizeof(f->nonce), 0xff544348u, 0x8017,
	    &att2);
	sign(f->ak, &att2, &sig2);
	assert_int_equal(run(f, &att2, &sig2, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	attest_for(&f->pub, f->nonce, sizeof(f->nonce), 0xff544347u, 0x8018,
	    &att2);
	sign(f->ak, &att2, &sig2);
	assert_int_equal(run(f, &att2, &sig2, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	/* Trailing byte, signed. */
	att2 = f->att;
	put_u(&att2, 0, 1);
	sign(f->ak, &att2, &sig2);
	assert_int_equal(run(f, &att2, &sig2, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	/* Restricted, or not fixedTPM: not a TPM-bound signing key. */
	public_ec(f->key, ATTRS_OK | 0x00010000u, &pub2);
	attest_for(&pub2, f->nonce, sizeof(f->nonce), 0xff544347u, 0x8017,
	    &att2);
	sign(f->ak, &att2, &sig2);
	assert_int_equal(run(f, &att2, &sig2, &pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	public_ec(f->key, ATTRS_OK & ~0x2u, &pub2);
	attest_for(&pub2, f->nonce, sizeof(f->nonce), 0xff544347u, 0x8017,
	    &att2);
	sign(f->ak, &att2, &sig2);
	assert_int_equal(run(f, &att2, &sig2, &pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
}

/* The cursor's codes (truncated, oversized, trailing) reach the caller
 * as OB_ERR_ATTEST_INVALID, with the structure named in the detail. */
static void
t_cursor_codes(void **state)
{
	struct fx	*f = *state;
	struct buf	 att2, pub2;

	att2 = f->att;
	att2.n--;
	assert_int_equal(run(f, &att2, &f->sig, &f->pub, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "TPMS_ATTEST"));
	pub2 = f->pub;
	pub2.n--;
	assert_int_equal(run(f, &f->att, &f->sig, &pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "TPMT_PUBLIC"));
	pub2 = f->pub;
	put_u(&pub2, 0, 1);
	assert_int_equal(run(f, &f->att, &f->sig, &pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	/* authPolicy of 65 bytes: over the digest maximum. */
	pub2 = f->pub;
	pub2.b[8] = 0x00;
	pub2.b[9] = 0x41;
	assert_int_equal(run(f, &f->att, &f->sig, &pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "at most 64"));
	/* An ECDAA scheme (0x001a) is refused by name. */
	pub2 = f->pub;
	pub2.b[12] = 0x00;
	pub2.b[13] = 0x1a;
	assert_int_equal(run(f, &f->att, &f->sig, &pub2, f->ak, f->nonce,
	    sizeof(f->nonce), f->key), OB_ERR_ATTEST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "ECDAA"));
}

/* Every truncation and every bit flip of each part is rejected. */
static void
t_mutations(void **state)
{
	struct fx	*f = *state;
	struct buf	*parts[3] = { &f->att, &f->sig, &f->pub };
	struct buf	 m[3];
	size_t		 p, i, bit;

	for (p = 0; p < 3; p++) {
		m[0] = f->att;
		m[1] = f->sig;
		m[2] = f->pub;
		for (i = 0; i < parts[p]->n; i++) {
			m[p].n = i;
			assert_int_not_equal(run(f, &m[0], &m[1], &m[2], f->ak,
			    f->nonce, sizeof(f->nonce), f->key), OB_OK);
		}
		m[p].n = parts[p]->n;
		for (i = 0; i < parts[p]->n; i++)
			for (bit = 0; bit < 8; bit++) {
				m[p].b[i] ^= (unsigned char)(1u << bit);
				assert_int_not_equal(run(f, &m[0], &m[1],
				    &m[2], f->ak, f->nonce, sizeof(f->nonce),
				    f->key), OB_OK);
				m[p].b[i] ^= (unsigned char)(1u << bit);
			}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_good, setup, teardown),
		cmocka_unit_test_setup_teardown(t_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(t_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(t_other_key, setup, teardown),
		cmocka_unit_test_setup_teardown(t_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(t_cursor_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_mutations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
