#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "core/deconst.h"
#include "core/err.h"
#include "core/pkey.h"

/* ---- Ed25519 --------------------------------------------------------- */

/*
 * The y encodings (little-endian, bit 255 = sign of x, ignored here) of
 * the 8 points of small order: the identity (y = 1), the point of order
 * 2 (y = p - 1), the two of order 4 (y = 0) and the four of order 8 (two
 * y values), and the non-canonical y = p (= 0) and y = p + 1 (= 1).  No
 * other y >= p names a small-order point (p + y >= 2^255 for the order-8
 * y values); every y >= p is refused anyway by the canonical check.  The
 * values were computed from the curve equation (2^255 - 19, d =
 * -121665/121666): [L]P for points P on the curve spans the torsion
 * subgroup.
 */
static const unsigned char ed_small[7][32] = {
	{ 0x00 },
	{ 0x01 },
	{ 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
	  0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
	  0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
	{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
	  0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
	  0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

/* d = -121665/121666 mod p, big-endian. */
static const unsigned char ed_d[32] = {
	0x52, 0x03, 0x6c, 0xee, 0x2b, 0x6f, 0xfe, 0x73, 0x8c, 0xc7, 0x40,
	0x79, 0x77, 0x79, 0xe8, 0x98, 0x00, 0x70, 0x0a, 0x4d, 0x41, 0x41,
	0xd8, 0xab, 0x75, 0xeb, 0x4d, 0xca, 0x13, 0x59, 0x78, 0xa3
};

/* 1 when the 255-bit y of a is >= p = 2^255 - 19; no data-dependent branch. */
static unsigned int
ed_noncanonical(const unsigned char a[32])
{
	unsigned int	hi, ge;
	size_t		i;

	hi = (a[31] & 0x7fu) ^ 0x7fu;
	for (i = 1; i < 31; i++)
		hi |= a[i] ^ 0xffu;
	/* hi == 0: bytes 1..31 are those of p; then y >= p iff a[0] >= 0xed. */
	ge = ((0xecu - a[0]) >> 8) & 1u;
	return ((hi - 1u) >> 8) & ge & 1u;
}

/* 1 when a is one of ed_small, sign bit ignored; every row is compared. */
static unsigned int
ed_small_order(const unsigned char a[32])
{
	unsigned int	diff, hit = 0;
	size_t		i, j;

	for (j = 0; j < sizeof(ed_small) / sizeof(ed_small[0]); j++) {
		diff = (a[31] & 0x7fu) ^ ed_small[j][31];
		for (i = 0; i < 31; i++)
			diff |= a[i] ^ ed_small[j][i];
		hit |= ((diff - 1u) >> 8) & 1u;
	}
	return hit;
}

int
ob_pkey_check_ed25519(const unsigned char pub[32])
{
	unsigned int nc = ed_noncanonical(pub), so = ed_small_order(pub);

	if ((nc | so) == 0)
		return OB_OK;
	return ob_errf(OB_ERR_KEY_WEAK, "Ed25519 key is %s", so ?
	    "a point of small order" : "a non-canonical encoding (y >= p)");
}

/*
 * On the curve: -x^2 + y^2 = 1 + d x^2 y^2 has a solution x exactly when
 * u/v = (y^2 - 1)/(d y^2 + 1) is a square mod p, that is when u*v is
 * (v is never 0: -1/d is not a square).  Public data: variable time is
 * fine.  Called after ob_pkey_check_ed25519, so y < p.
 */
static int
ed_on_curve(const unsigned char pub[32])
{
	unsigned char	 be[32];
	BN_CTX		*ctx;
	BIGNUM		*p, *d, *y, *u, *v;
	size_t		 i;
	int		 k = -2;

	for (i = 0; i < 32; i++)
		be[i] = pub[31 - i];
	be[0] &= 0x7f;
	if ((ctx = BN_CTX_new()) == NULL)
		return OB_ERR_ALLOC;
	BN_CTX_start(ctx);
	p = BN_CTX_get(ctx);
	d = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	u = BN_CTX_get(ctx);
	if ((v = BN_CTX_get(ctx)) != NULL && BN_set_bit(p, 255) &&
	    BN_sub_word(p, 19) && BN_bin2bn(ed_d, 32, d) != NULL &&
	    BN_bin2bn(be, 32, y) != NULL &&
	    BN_mod_sqr(y, y, p, ctx) &&			/* y^2 */
	    BN_mod_mul(v, d, y, p, ctx) &&
	    BN_add_word(v, 1) &&				/* d y^2 + 1 */
	    BN_copy(u, y) != NULL && BN_add(u, u, p) &&
	    BN_sub_word(u, 1) &&				/* y^2 - 1 + p */
	    BN_mod_mul(u, u, v, p, ctx))
		k = BN_kronecker(u, p, ctx);
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	if (k == -2)
		return ob_errf(OB_ERR_CRYPTO, "Ed25519 curve check");
	if (k == -1)
		return ob_errf(OB_ERR_JWK_INVALID, "Ed25519 key is not a point "
		    "on the curve");
	return OB_OK;
}

int
ob_pkey_from_ed25519(const unsigned char pub[32], EVP_PKEY **out)
{
	EVP_PKEY	*pk;
	int		 r;

	if ((r = ob_pkey_check_ed25519(pub)) != OB_OK ||
	    (r = ed_on_curve(pub)) != OB_OK)
		return r;
	if ((pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    32)) == NULL)
		return ob_errf(OB_ERR_CRYPTO, "building an Ed25519 key");
	*out = pk;
	return OB_OK;
}

/* ---- RSA ------------------------------------------------------------- */

int
ob_pkey_check_rsa(const unsigned char *n, size_t nlen, const unsigned char *e,
    size_t elen)
{
	size_t		bits;
	unsigned char	top;

	while (nlen > 0 && n[0] == 0) {
		n++;
		nlen--;
	}
	while (elen > 0 && e[0] == 0) {
		e++;
		elen--;
	}
	if (nlen == 0 || nlen > OB_RSA_MAX_BITS / 8)
		return ob_errf(OB_ERR_KEY_SIZE, "RSA modulus of %zu bytes "
		    "(allowed %d..%d bits)", nlen, OB_RSA_MIN_BITS,
		    OB_RSA_MAX_BITS);
	for (bits = 8 * (nlen - 1), top = n[0]; top != 0; top >>= 1)
		bits++;
	if (bits < OB_RSA_MIN_BITS)
		return ob_errf(OB_ERR_KEY_SIZE, "RSA modulus of %zu bits "
		    "(allowed %d..%d)", bits, OB_RSA_MIN_BITS, OB_RSA_MAX_BITS);
	if ((n[nlen - 1] & 1) == 0)
		return ob_errf(OB_ERR_KEY_SIZE, "RSA modulus is even");
	if (elen == 0 || elen > OB_RSA_MAX_E_BYTES || (e[elen - 1] & 1) == 0 ||
	    (elen == 1 && e[0] < 3))
		return ob_errf(OB_ERR_KEY_SIZE, "RSA exponent must be odd, "
		    "3 <= e < 2^32");
	return OB_OK;
}

static int
pkey_fromdata(const char *type, const OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pk = NULL;
	int		 ok;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return OB_ERR_ALLOC;
	ok = EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pk,
	    EVP_PKEY_PUBLIC_KEY, OB_DECONST(OSSL_PARAM *, params)) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(pk);
		return ob_errf(OB_ERR_JWK_INVALID, "%s key rejected by OpenSSL",
		    type);
	}
	*out = pk;
	return OB_OK;
}

/*
 * No OpenSSL key check: in 3.0 the RSA public check tests the modulus
 * for primality and small factors (about 150 ms for a random 8192-bit
 * n), before anything is authenticated.  The byte rules bound the cost of
 * every later operation; a modulus that is not a product of two primes
 * only lets its holder make signatures nobody else could forge anyway.
 */
int
ob_pkey_from_rsa(const unsigned char *n, size_t nlen, const unsigned char *e,
    size_t elen, EVP_PKEY **out)
{
	BIGNUM		*bn = NULL, *be = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	int		 r;

	if ((r = ob_pkey_check_rsa(n, nlen, e, elen)) != OB_OK)
		return r;
	r = OB_ERR_ALLOC;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	r = pkey_fromdata("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return r;
}

/* ---- P-256, P-384 ---------------------------------------------------- */

/*
 * OpenSSL's quick public check on an EC key: the point is on the curve,
 * not the point at infinity, its coordinates below p.  P-256 and P-384
 * have cofactor 1, so a point on the curve is in the prime-order group;
 * the quick check suffices and keeps a full scalar multiplication off the
 * verify path.
 */
static int
ec_check(const EVP_PKEY *pk)
{
	EVP_PKEY_CTX	*ctx;
	int		 r = OB_OK;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, OB_DECONST(EVP_PKEY *, pk),
	    NULL)) ==
	    NULL)
		r = OB_ERR_ALLOC;
	else if (EVP_PKEY_public_check_quick(ctx) != 1)
		r = ob_errf(OB_ERR_JWK_INVALID, "EC point is not on the curve");
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/*
 * EC public keys are made by duplicating a template key of the same curve
 * and setting the point with EVP_PKEY_set1_encoded_public_key, which
 * decodes it and refuses points off the curve.  EVP_PKEY_fromdata builds
 * the curve's group from its parameters every time (17 us for P-256
 * here), and the first verification with such a key computes the group's
 * Montgomery constants again; a duplicate copies the template's finished
 * group.  The templates hold each curve's generator, are made once, and
 * are only ever duplicated, never used for an operation; in OpenSSL 3.0
 * EVP_PKEY_dup of a provider key only reads it (the group's precomputed
 * table is shared by reference count), so threads may duplicate one
 * template at the same time.
 */
static EVP_PKEY		*ec_tmpl[2];	/* P-256, P-384 */
static pthread_once_t	 ec_tmpl_once = PTHREAD_ONCE_INIT;

static void
ec_tmpl_make(void)
{
	static const int	 nid[2] = { NID_X9_62_prime256v1, NID_secp384r1 };
	static const char *const sn[2] = { SN_X9_62_prime256v1, SN_secp384r1 };
	unsigned char		 g[1 + 2 * 48];
	OSSL_PARAM		 params[3];
	EC_GROUP		*grp;
	EVP_PKEY		*pk;
	size_t			 i, n;

	for (i = 0; i < 2; i++) {
		if ((grp = EC_GROUP_new_by_curve_name(nid[i])) == NULL)
			continue;
		n = EC_POINT_point2oct(grp, EC_GROUP_get0_generator(grp),
		    POINT_CONVERSION_UNCOMPRESSED, g, sizeof(g), NULL);
		EC_GROUP_free(grp);
		if (n == 0)
			continue;
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, OB_DECONST(char *, sn[i]), 0);
		params[1] = OSSL_PARAM_construct_octet_string(
		    OSSL_PKEY_PARAM_PUB_KEY, g, n);
		params[2] = OSSL_PARAM_construct_end();
		if (pkey_fromdata("EC", params, &pk) != OB_OK)
			continue;
		if (ec_check(pk) != OB_OK) {
			EVP_PKEY_free(pk);
			continue;
		}
		ec_tmpl[i] = pk;
	}
}

int
ob_pkey_from_ec_point(enum ob_keykind kind, const unsigned char *pt,
    size_t len, EVP_PKEY **out)
{
	EVP_PKEY	*tmpl, *pk;
	size_t		 n;
	int		 r;

	if (kind == OB_KEY_P256)
		n = 32;
	else if (kind == OB_KEY_P384)
		n = 48;
	else
		return ob_errf(OB_ERR_KEY_TYPE, "not a P-256 or P-384 key");
	if (len != 1 + 2 * n || pt[0] != 0x04)
		return ob_errf(OB_ERR_JWK_INVALID, "EC point of %zu bytes, "
		    "expected 0x04 and %zu bytes", len, 2 * n);
	if (pthread_once(&ec_tmpl_once, ec_tmpl_make) != 0 ||
	    (tmpl = ec_tmpl[n == 32 ? 0 : 1]) == NULL)
		return ob_errf(OB_ERR_CRYPTO, "no EC key template");
	if ((pk = EVP_PKEY_dup(tmpl)) == NULL)
		return OB_ERR_ALLOC;
	if (EVP_PKEY_set1_encoded_public_key(pk, pt, len) != 1) {
		EVP_PKEY_free(pk);
		return ob_errf(OB_ERR_JWK_INVALID, "EC point rejected by "
		    "OpenSSL (not on the curve)");
	}
	if ((r = ec_check(pk)) != OB_OK) {
		EVP_PKEY_free(pk);
		return r;
	}
	*out = pk;
	return OB_OK;
}

/* ---- keys built elsewhere -------------------------------------------- */

static int
rsa_check_built(const EVP_PKEY *pk)
{
	BIGNUM		*bn = NULL, *be = NULL;
	unsigned char	 n[OB_RSA_MAX_BITS / 8], e[OB_RSA_MAX_E_BYTES];
	int		 nl, el, r;

	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &be)) {
		r = ob_errf(OB_ERR_CRYPTO, "reading the RSA key");
		goto out;
	}
	if (BN_num_bytes(bn) > (int)sizeof(n) || BN_num_bytes(be) >
	    (int)sizeof(e)) {
		r = ob_errf(OB_ERR_KEY_SIZE, "RSA key of %d bits, exponent of "
		    "%d bits (allowed %d..%d, e < 2^32)", BN_num_bits(bn),
		    BN_num_bits(be), OB_RSA_MIN_BITS, OB_RSA_MAX_BITS);
		goto out;
	}
	nl = BN_bn2bin(bn, n);
	el = BN_bn2bin(be, e);
	r = ob_pkey_check_rsa(n, (size_t)nl, e, (size_t)el);
out:
	BN_free(bn);
	BN_free(be);
	return r;
}

int
ob_pkey_check(const EVP_PKEY *pkey)
{
	unsigned char	pub[32];
	size_t		len = sizeof(pub);
	char		group[32];
	int		r;

	if (pkey == NULL)
		return ob_errf(OB_ERR_KEY_TYPE, "no key");
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return ob_errf(OB_ERR_KEY_TYPE, "EC key without a named "
			    "group");
		if (strcmp(group, SN_X9_62_prime256v1) != 0 &&
		    strcmp(group, SN_secp384r1) != 0)
			return ob_errf(OB_ERR_KEY_TYPE, "EC curve %s", group);
		return ec_check(pkey);
	case EVP_PKEY_ED25519:
		if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
		    len != sizeof(pub))
			return ob_errf(OB_ERR_CRYPTO, "reading the Ed25519 key");
		if ((r = ob_pkey_check_ed25519(pub)) != OB_OK)
			return r;
		return ed_on_curve(pub);
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return rsa_check_built(pkey);
	default:
		return ob_errf(OB_ERR_KEY_TYPE, "unsupported key type");
	}
}
