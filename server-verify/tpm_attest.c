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

/* The one bounded cursor through TPM bytes: reads past the end fail. */
struct cur {
	const unsigned char	*p;
	size_t			 n;
	int			 bad;
};

static uint32_t
cur_uint(struct cur *c, size_t w)
{
	uint32_t	v = 0;
	size_t		i;

	if (c->bad || c->n < w) {
		c->bad = 1;
		return 0;
	}
	for (i = 0; i < w; i++)
		v = v << 8 | c->p[i];
	c->p += w;
	c->n -= w;
	return v;
}

#define cur_u16(c)	((uint16_t)cur_uint((c), 2))
#define cur_u32(c)	cur_uint((c), 4)

static void
cur_skip(struct cur *c, size_t w)
{
	if (c->bad || c->n < w) {
		c->bad = 1;
		return;
	}
	c->p += w;
	c->n -= w;
}

/* A TPM2B: 16-bit size, then at most max bytes. */
static const unsigned char *
cur_tpm2b(struct cur *c, size_t max, size_t *len)
{
	const unsigned char	*p;
	size_t			 n = cur_u16(c);

	if (c->bad || n > max || n > c->n) {
		c->bad = 1;
		*len = 0;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->n -= n;
	*len = n;
	return p;
}

struct tpm_public {
	uint16_t		 type;
	uint16_t		 name_alg;
	uint32_t		 attrs;
	uint16_t		 curve;
	uint16_t		 rsa_bits;
	uint32_t		 exponent;
	const unsigned char	*x, *y, *n;
	size_t			 xlen, ylen, nlen;
};

/* TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless NULL. */
static void
cur_symdef(struct cur *c)
{
	if (cur_u16(c) != TPM_ALG_NULL)
		cur_skip(c, 4);
}

static int
parse_public(const unsigned char *b, size_t len, struct tpm_public *tp)
{
	struct cur	c = { b, len, 0 };
	size_t		plen;
	uint16_t	scheme;

	memset(tp, 0, sizeof(*tp));
	tp->type = cur_u16(&c);
	tp->name_alg = cur_u16(&c);
	tp->attrs = cur_u32(&c);
	(void)cur_tpm2b(&c, DIGEST_MAX_LEN, &plen);	/* authPolicy */
	cur_symdef(&c);
	scheme = cur_u16(&c);
	if (scheme == TPM_ALG_ECDAA)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: ECDAA keys "
		    "are not supported");
	if (scheme != TPM_ALG_NULL)
		cur_skip(&c, 2);			/* hashAlg */
	if (tp->type == TPM_ALG_ECC) {
		tp->curve = cur_u16(&c);
		if (cur_u16(&c) != TPM_ALG_NULL)	/* kdf */
			cur_skip(&c, 2);
		tp->x = cur_tpm2b(&c, 66, &tp->xlen);
		tp->y = cur_tpm2b(&c, 66, &tp->ylen);
	} else if (tp->type == TPM_ALG_RSA) {
		tp->rsa_bits = cur_u16(&c);
		tp->exponent = cur_u32(&c);
		tp->n = cur_tpm2b(&c, RSA_MAX_BYTES, &tp->nlen);
	} else
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: key type "
		    "0x%04x", tp->type);
	if (c.bad || c.n != 0)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: %s",
		    c.bad ? "truncated or oversized field" : "trailing bytes");
	if (tp->name_alg != TPM_ALG_SHA256 && tp->name_alg != TPM_ALG_SHA384)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: nameAlg "
		    "0x%04x", tp->name_alg);
	return OB_OK;
}

/* The certified key, through the decoder's rules (pkey.h). */
static int
public_ec(const struct tpm_public *tp, EVP_PKEY **out)
{
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
	memset(pt, 0, sizeof(pt));
	pt[0] = 0x04;
	memcpy(pt + 1 + n - tp->xlen, tp->x, tp->xlen);
	memcpy(pt + 1 + 2 * n - tp->ylen, tp->y, tp->ylen);
	if ((r = ob_pkey_from_ec_point(kind, pt, 1 + 2 * n, out)) != OB_OK)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: %s: %s",
		    ob_err_name(r), ob_err_detail());
	return OB_OK;
}

static int
public_rsa(const struct tpm_public *tp, EVP_PKEY **out)
{
	uint32_t	exp = tp->exponent == 0 ? 65537 : tp->exponent;
	unsigned char	e[4];
	int		r;

	if (tp->nlen == 0 || tp->nlen * 8 != tp->rsa_bits)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: modulus "
		    "size");
	e[0] = (unsigned char)(exp >> 24);
	e[1] = (unsigned char)(exp >> 16);
	e[2] = (unsigned char)(exp >> 8);
	e[3] = (unsigned char)exp;
	if ((r = ob_pkey_from_rsa(tp->n, tp->nlen, e, sizeof(e), out)) !=
	    OB_OK)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMT_PUBLIC: %s: %s",
		    ob_err_name(r), ob_err_detail());
	return OB_OK;
}

struct tpm_certify {
	const unsigned char	*extra, *name;
	size_t			 extralen, namelen;
};

static int
parse_attest(const unsigned char *b, size_t len, struct tpm_certify *ci)
{
	struct cur	c = { b, len, 0 };
	uint32_t	magic;
	uint16_t	type;
	size_t		skip;

	magic = cur_u32(&c);
	type = cur_u16(&c);
	(void)cur_tpm2b(&c, NAME_MAX_LEN, &skip);	/* qualifiedSigner */
	ci->extra = cur_tpm2b(&c, OB_TPM_NONCE_MAX, &ci->extralen);
	cur_skip(&c, 8 + 4 + 4 + 1);			/* TPMS_CLOCK_INFO */
	cur_skip(&c, 8);				/* firmwareVersion */
	ci->name = cur_tpm2b(&c, NAME_MAX_LEN, &ci->namelen);
	(void)cur_tpm2b(&c, NAME_MAX_LEN, &skip);	/* qualifiedName */
	if (c.bad || c.n != 0)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMS_ATTEST: %s",
		    c.bad ? "truncated or oversized field" : "trailing bytes");
	if (magic != TPM_GENERATED_VALUE)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMS_ATTEST: magic "
		    "0x%08x is not TPM_GENERATED_VALUE", magic);
	if (type != TPM_ST_ATTEST_CERTIFY)
		return ob_errf(OB_ERR_ATTEST_INVALID, "TPMS_ATTEST: type 0x%04x "
		    "is not TPM_ST_ATTEST_CERTIFY", type);
	return OB_OK;
}

/* nameAlg || H_nameAlg(TPMT_PUBLIC), the TPM's name of the key. */
static int
expected_name(uint16_t name_alg, const unsigned char *pub, size_t publen,
    unsigned char *name, size_t *namelen)
{
	const EVP_MD	*md = name_alg == TPM_ALG_SHA256 ? EVP_sha256() :
	    EVP_sha384();
	unsigned int	 dlen = 0;

	name[0] = (unsigned char)(name_alg >> 8);
	name[1] = (unsigned char)name_alg;
	if (EVP_Digest(pub, publen, name + 2, &dlen, md, NULL) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_Digest");
	*namelen = 2 + dlen;
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
