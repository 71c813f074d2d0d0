/*
 * TPM2_Certify evidence (docs/tpm2.md, "Attestation"), checked without
 * tpm2-tss.  Wire formats: TPM 2.0 Library Part 2, TPMS_ATTEST (10.12.12),
 * TPMS_CERTIFY_INFO (10.12.3), TPMT_PUBLIC (12.2.4); all big-endian.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/alg.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/jwk.h"
#include "core/pkey.h"
#include "server-verify/tpm_attest.h"

#define TPM_GENERATED_VALUE	0xff544347u
#define TPM_ST_ATTEST_CERTIFY	0x8017u
#define TPM_ALG_RSA		0x0001u
#define TPM_ALG_SHA256		0x000bu
#define TPM_ALG_SHA384		0x000cu
#define TPM_ALG_NULL		0x0010u
#define TPM_ALG_ECDAA		0x001au
#define TPM_ALG_ECC		0x0023u
#define TPM_ECC_NIST_P256	0x0003u
#define TPM_ECC_NIST_P384	0x0004u
#define TPMA_FIXEDTPM		0x00000002u
#define TPMA_FIXEDPARENT	0x00000010u
#define TPMA_SENSITIVEDATAORIGIN 0x00000020u
#define TPMA_RESTRICTED		0x00010000u
#define TPMA_SIGN		0x00040000u
#define NAME_MAX_LEN		(2 + 64)	/* TPMT_HA */
#define DIGEST_MAX_LEN		64
#define RSA_MAX_BYTES		512

struct tpm_public {
	uint16_t		 type;
	uint16_t		 name_alg;
	uint32_t		 attrs;
	uint16_t		 curve;
	uint16_t		 rsa_bits;
	uint32_t		 exponent;
	const uint8_t		*x, *y, *n;
	size_t			 xlen, ylen, nlen;
};

/* An algorithm identifier, then w bytes of its details unless it is NULL
 * (TPMT_SYM_DEF_OBJECT, TPMT_ECC_SCHEME, TPMT_KDF_SCHEME). */
static int
rd_alg_skip(struct ob_rd *rd, size_t w, uint16_t *alg)
{
	uint16_t	a;
	int		r;

	if ((r = ob_rd_u16(rd, &a)) != OB_OK)
		return r;
	if (a != TPM_ALG_NULL && (r = ob_rd_skip(rd, w)) != OB_OK)
		return r;
	*alg = a;
	return OB_OK;
}

/*
 * The cursor's own codes (truncated, oversized, trailing) and ours all
 * become OB_ERR_ATTEST_INVALID, the detail kept.
 */
static int
parse_public(const unsigned char *b, size_t len, struct tpm_public *out)
{
	struct ob_rd		 rd;
	struct tpm_public	 tp;
	const uint8_t		*policy;
	size_t			 plen;
	uint16_t		 alg;
	int			 r;

	memset(&tp, 0, sizeof(tp));
	ob_rd_init(&rd, b, len);
	OB_TRY(ob_rd_u16(&rd, &tp.type));
	OB_TRY(ob_rd_u16(&rd, &tp.name_alg));
	OB_TRY(ob_rd_u32(&rd, &tp.attrs));
	OB_TRY(ob_rd_lv16(&rd, DIGEST_MAX_LEN, &policy, &plen));
	if (tp.type != TPM_ALG_ECC && tp.type != TPM_ALG_RSA) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "key type 0x%04x", tp.type);
		goto out;
	}
	OB_TRY(rd_alg_skip(&rd, 4, &alg));		/* symmetric */
	/* The signing scheme and its hashAlg; ECDAA's details are longer. */
	OB_TRY(ob_rd_u16(&rd, &alg));
	if (alg == TPM_ALG_ECDAA) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "ECDAA keys are not "
		    "supported");
		goto out;
	}
	if (alg != TPM_ALG_NULL)
		OB_TRY(ob_rd_skip(&rd, 2));
	if (tp.type == TPM_ALG_ECC) {
		OB_TRY(ob_rd_u16(&rd, &tp.curve));
		OB_TRY(rd_alg_skip(&rd, 2, &alg));	/* kdf */
		OB_TRY(ob_rd_lv16(&rd, 66, &tp.x, &tp.xlen));
		OB_TRY(ob_rd_lv16(&rd, 66, &tp.y, &tp.ylen));
	} else {
		OB_TRY(ob_rd_u16(&rd, &tp.rsa_bits));
		OB_TRY(ob_rd_u32(&rd, &tp.exponent));
		OB_TRY(ob_rd_lv16(&rd, RSA_MAX_BYTES, &tp.n, &tp.nlen));
	}
	OB_TRY(ob_rd_end(&rd));
	if (tp.name_alg != TPM_ALG_SHA256 && tp.name_alg != TPM_ALG_SHA384) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "nameAlg 0x%04x",
		    tp.name_alg);
		goto out;
	}
	*out = tp;
	r = OB_OK;
out:
	return r == OB_OK ? OB_OK : ob_err_prefix(OB_ERR_ATTEST_INVALID,
	    "TPMT_PUBLIC");
}

/* The certified key, through the decoder's rules (pkey.h). */
static int
public_ec(const struct tpm_public *tp, EVP_PKEY **out)
{
	struct ob_wr	 w;
	unsigned char	 pt[1 + 2 * 48];
	enum ob_keykind	 kind;
	size_t		 n;
	int		 r;

	if (tp->curve == TPM_ECC_NIST_P256) {
		kind = OB_KEY_P256;
		n = 32;
	} else if (tp->curve == TPM_ECC_NIST_P384) {
		kind = OB_KEY_P384;
		n = 48;
	} else
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: curve "
		    "0x%04x", tp->curve);
	if (tp->xlen == 0 || tp->ylen == 0 || tp->xlen > n || tp->ylen > n)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: point size");
	/* 04 || X || Y, each coordinate left-padded to the field size. */
	ob_wr_init_fixed(&w, pt, sizeof(pt));
	if ((r = ob_wr_u8(&w, 0x04)) != OB_OK ||
	    ob_wr_reserve(&w, n - tp->xlen) == NULL ||
	    (r = ob_wr_bytes(&w, tp->x, tp->xlen)) != OB_OK ||
	    ob_wr_reserve(&w, n - tp->ylen) == NULL ||
	    (r = ob_wr_bytes(&w, tp->y, tp->ylen)) != OB_OK) {
		r = ob_wr_err(&w);
		goto out;
	}
	if ((r = ob_pkey_from_ec_point(kind, ob_wr_ptr(&w), ob_wr_len(&w),
	    out)) != OB_OK)
		r = ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: %s: %s",
		    ob_err_name(r), ob_err_detail());
out:
	ob_wr_free(&w);
	return r;
}

static int
public_rsa(const struct tpm_public *tp, EVP_PKEY **out)
{
	struct ob_wr	w;
	uint32_t	exp = tp->exponent == 0 ? 65537 : tp->exponent;
	unsigned char	e[4];
	int		r;

	if (tp->nlen == 0 || tp->nlen * 8 != tp->rsa_bits)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: modulus "
		    "size");
	ob_wr_init_fixed(&w, e, sizeof(e));
	if ((r = ob_wr_u32(&w, exp)) != OB_OK)
		goto out;
	if ((r = ob_pkey_from_rsa(tp->n, tp->nlen, ob_wr_ptr(&w),
	    ob_wr_len(&w), out)) != OB_OK)
		r = ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: %s: %s",
		    ob_err_name(r), ob_err_detail());
out:
	ob_wr_free(&w);
	return r;
}

struct tpm_certify {
	const uint8_t	*extra, *name;
	size_t		 extralen, namelen;
};

static int
parse_attest(const unsigned char *b, size_t len, struct tpm_certify *out)
{
	struct ob_rd		 rd;
	struct tpm_certify	 ci;
	const uint8_t		*skip;
	size_t			 skiplen;
	uint32_t		 magic;
	uint16_t		 type;
	int			 r;

	ob_rd_init(&rd, b, len);
	OB_TRY(ob_rd_u32(&rd, &magic));
	if (magic != TPM_GENERATED_VALUE) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "magic 0x%08x is not "
		    "TPM_GENERATED_VALUE", magic);
		goto out;
	}
	OB_TRY(ob_rd_u16(&rd, &type));
	if (type != TPM_ST_ATTEST_CERTIFY) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "type 0x%04x is not "
		    "TPM_ST_ATTEST_CERTIFY", type);
		goto out;
	}
	/* qualifiedSigner, extraData */
	OB_TRY(ob_rd_lv16(&rd, NAME_MAX_LEN, &skip, &skiplen));
	OB_TRY(ob_rd_lv16(&rd, OB_TPM_NONCE_MAX, &ci.extra, &ci.extralen));
	OB_TRY(ob_rd_skip(&rd, 8 + 4 + 4 + 1));		/* TPMS_CLOCK_INFO */
	OB_TRY(ob_rd_skip(&rd, 8));			/* firmwareVersion */
	/* attested: name, qualifiedName */
	OB_TRY(ob_rd_lv16(&rd, NAME_MAX_LEN, &ci.name, &ci.namelen));
	OB_TRY(ob_rd_lv16(&rd, NAME_MAX_LEN, &skip, &skiplen));
	OB_TRY(ob_rd_end(&rd));
	*out = ci;
	r = OB_OK;
out:
	return r == OB_OK ? OB_OK : ob_err_prefix(OB_ERR_ATTEST_INVALID,
	    "TPMS_ATTEST");
}

/* nameAlg || H_nameAlg(TPMT_PUBLIC), the TPM's name of the key. */
static int
expected_name(uint16_t name_alg, const unsigned char *pub, size_t publen,
    unsigned char *name, size_t *namelen)
{
	const EVP_MD	*md = name_alg == TPM_ALG_SHA256 ? EVP_sha256() :
	    EVP_sha384();
	struct ob_wr	 w;
	unsigned char	 dgst[DIGEST_MAX_LEN];
	unsigned int	 dlen = 0;
	int		 r;

	if (EVP_Digest(pub, publen, dgst, &dlen, md, NULL) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_Digest");
	ob_wr_init_fixed(&w, name, NAME_MAX_LEN);
	if ((r = ob_wr_u16(&w, name_alg)) != OB_OK ||
	    (r = ob_wr_bytes(&w, dgst, dlen)) != OB_OK)
		return r;
	*namelen = ob_wr_len(&w);
	return OB_OK;
}

int
ob_tpm_attest_verify(const unsigned char *attest, size_t attest_len,
    const unsigned char *sig_der, size_t sig_len,
    const unsigned char *tpmt_public, size_t pub_len, EVP_PKEY *ak_pub,
    const unsigned char *nonce, size_t nonce_len, EVP_PKEY *key_pub)
{
	struct tpm_certify	 ci;
	struct tpm_public	 tp;
	enum ob_keykind		 kind;
	EVP_PKEY		*certified = NULL;
	unsigned char		*rs = NULL, name[NAME_MAX_LEN];
	size_t			 rslen, namelen = 0;
	const uint32_t		 need = TPMA_FIXEDTPM | TPMA_FIXEDPARENT |
	    TPMA_SENSITIVEDATAORIGIN | TPMA_SIGN;
	int			 r;

	memset(&ci, 0, sizeof(ci));
	memset(&tp, 0, sizeof(tp));
	if (attest == NULL || sig_der == NULL || tpmt_public == NULL ||
	    ak_pub == NULL || nonce == NULL || key_pub == NULL)
		return ob_errf(OB_ERR_ATTEST_INVALID, "incomplete evidence");
	if (attest_len > OB_TPM_ATTEST_MAX || pub_len > OB_TPM_PUBLIC_MAX ||
	    nonce_len == 0 || nonce_len > OB_TPM_NONCE_MAX)
		return ob_errf(OB_ERR_ATTEST_INVALID, "evidence sizes out of "
		    "bounds");
	OB_TRY(parse_attest(attest, attest_len, &ci));
	OB_TRY(parse_public(tpmt_public, pub_len, &tp));
	/* Signed by the trusted attestation key, or not trusted at all. */
	if (ob_key_kind(ak_pub, &kind) != OB_OK || kind != OB_KEY_P256) {
		r = ob_errf(OB_ERR_ATTEST_UNTRUSTED, "the attestation key in "
		    "the trust store is not EC P-256");
		goto out;
	}
	if (ob_ecdsa_der_to_rs(sig_der, sig_len, 32, &rs, &rslen) != OB_OK) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "the attestation signature "
		    "is not a canonical DER ECDSA signature");
		goto out;
	}
	if (ob_sig_verify(OB_ALG_ES256, ak_pub, attest, attest_len, rs,
	    rslen) != OB_OK) {
		r = ob_errf(OB_ERR_ATTEST_UNTRUSTED, "TPMS_ATTEST is not signed "
		    "by the trusted attestation key");
		goto out;
	}
	if (ci.extralen != nonce_len ||
	    CRYPTO_memcmp(ci.extra, nonce, nonce_len) != 0) {
		r = ob_errf(OB_ERR_ATTEST_NONCE, "extraData is not the nonce "
		    "issued for this attestation");
		goto out;
	}
	OB_TRY(expected_name(tp.name_alg, tpmt_public, pub_len, name,
	    &namelen));
	if (ci.namelen != namelen || memcmp(ci.name, name, namelen) != 0) {
		r = ob_errf(OB_ERR_ATTEST_KEY_MISMATCH, "the attested name is "
		    "not the name of the given TPMT_PUBLIC");
		goto out;
	}
	OB_TRY(tp.type == TPM_ALG_ECC ? public_ec(&tp, &certified) :
	    public_rsa(&tp, &certified));
	if (!ob_pkey_equal(certified, key_pub)) {
		r = ob_errf(OB_ERR_ATTEST_KEY_MISMATCH, "the certified key is "
		    "not the key being enrolled");
		goto out;
	}
	if ((tp.attrs & need) != need || (tp.attrs & TPMA_RESTRICTED)) {
		r = ob_errf(OB_ERR_ATTEST_INVALID, "the certified key was not "
		    "generated in the TPM, may leave it, or is not an "
		    "unrestricted signing key (attributes 0x%08x)", tp.attrs);
		goto out;
	}
	r = OB_OK;
out:
	EVP_PKEY_free(certified);
	free(rs);
	return r;
}
