/*
 * PIV card-edge commands (NIST SP 800-73-4 part 2, section 3.2) and the
 * YubiKey PIV extensions we use (GET METADATA F7, GET SERIAL F8, ATTEST
 * F9).  Each function is one command exchange, run inside the caller's
 * transaction, after piv_select.  Responses are parsed by piv_tlv.c only.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pkey.h"
#include "tokens/piv/piv_int.h"

#define INS_SELECT	0xa4
#define INS_GET_DATA	0xcb
#define INS_PUT_DATA	0xdb
#define INS_VERIFY	0x20
#define INS_GEN_AUTH	0x87
#define INS_GENERATE	0x47
#define INS_YK_METADATA	0xf7
#define INS_YK_SERIAL	0xf8
#define INS_YK_ATTEST	0xf9

#define REF_PIN		0x80
#define REF_MGM		0x9b

/* SP 800-73-4 part 1, 2.2: the PIV application identifier (PIX + version). */
static const uint8_t piv_aid[] = {
	0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};

/* 5C 03 tag: the tag list naming a data object (SP 800-73-4 part 2 3.1.2). */
static int
wr_tag_list(struct ob_wr *w, uint32_t objtag)
{
	int	r;

	if ((r = piv_wr_tlv_hdr(w, 0x5c, 3)) != OB_OK ||
	    (r = ob_wr_u8(w, (uint8_t)(objtag >> 16))) != OB_OK)
		return r;
	return ob_wr_u16(w, (uint16_t)objtag);
}

int
piv_select(struct piv_conn *c)
{
	struct piv_rsp	rsp;
	int		r;

	if ((r = piv_transmit(c, INS_SELECT, 0x04, 0x00, piv_aid,
	    sizeof(piv_aid), 1, &rsp)) != OB_OK)
		return r;
	if (rsp.sw != 0x9000) {
		r = rsp.sw == 0x6a82 ? ob_errf(OB_ERR_DEVICE_MISSING, "the card "
		    "in \"%s\" has no PIV application", c->reader) :
		    piv_sw_err(rsp.sw, "SELECT PIV");
		piv_rsp_free(&rsp);
		return r;
	}
	piv_rsp_free(&rsp);
	return OB_OK;
}

int
piv_get_serial(struct piv_conn *c, uint32_t *serial)
{
	struct piv_rsp	rsp;
	int		r;

	if ((r = piv_transmit(c, INS_YK_SERIAL, 0, 0, NULL, 0, 1, &rsp)) !=
	    OB_OK)
		return r;
	if (rsp.sw != 0x9000)
		r = piv_sw_err(rsp.sw, "GET SERIAL");
	else
		r = piv_parse_serial(rsp.buf, rsp.len, serial);
	piv_rsp_free(&rsp);
	return r;
}

int
piv_cert_obj_tag(uint8_t slot, uint32_t *tag)
{
	/* SP 800-73-4 part 1, table 3 (key references) and appendix A. */
	switch (slot) {
	case 0x9a: *tag = 0x5fc105; return OB_OK;
	case 0x9c: *tag = 0x5fc10a; return OB_OK;
	case 0x9d: *tag = 0x5fc10b; return OB_OK;
	case 0x9e: *tag = 0x5fc101; return OB_OK;
	default:
		return ob_errf(OB_ERR_KEY_URI, "slot %02x has no certificate "
		    "object", slot);
	}
}

int
piv_read_cert(struct piv_conn *c, uint32_t objtag, unsigned char **der,
    size_t *derlen)
{
	struct piv_rsp	 rsp;
	struct ob_wr	 w;
	const uint8_t	*d;
	size_t		 dl;
	uint8_t		 cmd[5];
	unsigned char	*copy;
	int		 r;

	ob_wr_init_fixed(&w, cmd, sizeof(cmd));
	if ((r = wr_tag_list(&w, objtag)) == OB_OK)
		r = piv_transmit(c, INS_GET_DATA, 0x3f, 0xff, ob_wr_ptr(&w),
		    ob_wr_len(&w), 1, &rsp);
	ob_wr_free(&w);
	if (r != OB_OK)
		return r;
	if (rsp.sw != 0x9000)
		r = piv_sw_err(rsp.sw, "GET DATA certificate");
	else if ((r = piv_parse_certobj(rsp.buf, rsp.len, &d, &dl)) == OB_OK) {
		if ((copy = malloc(dl)) == NULL)
			r = OB_ERR_ALLOC;
		else {
			memcpy(copy, d, dl);
			*der = copy;
			*derlen = dl;
		}
	}
	piv_rsp_free(&rsp);
	return r;
}

int
piv_get_meta(struct piv_conn *c, uint8_t slot, struct piv_rsp *rsp,
    struct piv_meta *m)
{
	int r;

	if ((r = piv_transmit(c, INS_YK_METADATA, 0x00, slot, NULL, 0, 1,
	    rsp)) != OB_OK)
		return r;
	switch (rsp->sw) {
	case 0x9000:
		return piv_parse_meta(rsp->buf, rsp->len, m);
	case 0x6a88:
	case 0x6a82:
		return ob_errf(OB_ERR_SLOT_EMPTY, "slot %02x holds no key "
		    "(SW %04X)", slot, rsp->sw);
	case 0x6d00:
	case 0x6a81:
	case 0x6b00:
	case 0x6e00:
		return ob_errf(OB_ERR_MECH_UNSUPPORTED, "no GET METADATA "
		    "(SW %04X)", rsp->sw);
	default:
		return piv_sw_err(rsp->sw, "GET METADATA");
	}
}

int
piv_ec_pub(uint8_t alg, const uint8_t *point, size_t plen, EVP_PKEY **out)
{
	enum ob_keykind	kind;
	int		r;

	switch (alg) {
	case PIV_ALG_P256: kind = OB_KEY_P256; break;
	case PIV_ALG_P384: kind = OB_KEY_P384; break;
	default:
		return ob_errf(OB_ERR_KEY_TYPE, "card key algorithm %02x is not "
		    "ECC P-256 or P-384", alg);
	}
	if ((r = piv_check_point(point, plen, piv_ec_flen(alg))) != OB_OK)
		return r;
	/* The card is untrusted: the decoder's rules, as for a JWK. */
	if ((r = ob_pkey_from_ec_point(kind, point, plen, out)) != OB_OK)
		return ob_err_prefix(r, "the card's public point");
	return OB_OK;
}

static int
cert_pubkey(const unsigned char *der, size_t derlen, EVP_PKEY **out)
{
	const unsigned char	*p = der;
	X509			*x;
	EVP_PKEY		*pk;
	int			 r;

	if ((x = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		X509_free(x);
		return ob_errf(OB_ERR_DEVICE, "the slot certificate is not one "
		    "DER certificate");
	}
	pk = X509_get_pubkey(x);
	X509_free(x);
	if (pk == NULL)
		return ob_errf(OB_ERR_DEVICE, "the slot certificate has no "
		    "usable public key");
	if ((r = ob_pkey_check(pk)) != OB_OK) {
		EVP_PKEY_free(pk);
		return ob_err_prefix(r, "the slot certificate's key");
	}
	*out = pk;
	return OB_OK;
}

int
piv_slot_pubkey(struct piv_conn *c, uint8_t slot, EVP_PKEY **pub,
    uint8_t *origin)
{
	struct piv_rsp	 rsp;
	struct piv_meta	 m;
	unsigned char	*der = NULL;
	size_t		 derlen = 0;
	uint32_t	 tag = 0;
	int		 r;

	*origin = 0;
	memset(&rsp, 0, sizeof(rsp));
	/* The card's own record of the key, where it keeps one. */
	r = piv_get_meta(c, slot, &rsp, &m);
	if (r == OB_OK && m.point != NULL) {
		*origin = m.origin;
		r = piv_ec_pub(m.alg, m.point, m.plen, pub);
		piv_rsp_free(&rsp);
		return r;
	}
	piv_rsp_free(&rsp);
	if (r != OB_OK && r != OB_ERR_MECH_UNSUPPORTED)
		return r;
	/* Otherwise the slot's certificate (SP 800-73-4). */
	if ((r = piv_cert_obj_tag(slot, &tag)) != OB_OK)
		return r;
	if ((r = piv_read_cert(c, tag, &der, &derlen)) != OB_OK) {
		if (r == OB_ERR_SLOT_EMPTY)
			r = ob_errf(OB_ERR_SLOT_EMPTY, "slot %02x has neither "
			    "key metadata nor a certificate", slot);
		return r;
	}
	r = cert_pubkey(der, derlen, pub);
	free(der);
	return r;
}

int
piv_pin_status(struct piv_conn *c, int *left)
{
	struct piv_rsp	rsp;
	int		r;

	*left = -1;
	if ((r = piv_transmit(c, INS_VERIFY, 0x00, REF_PIN, NULL, 0, 0,
	    &rsp)) != OB_OK)
		return r;
	if (rsp.sw == 0x9000)
		r = OB_OK;
	else if ((rsp.sw & 0xfff0) == 0x63c0 && (rsp.sw & 0x0f) != 0) {
		*left = rsp.sw & 0x0f;
		r = OB_ERR_PIN_INCORRECT;	/* not verified; tries left */
	} else
		r = piv_sw_err(rsp.sw == 0x63c0 ? 0x6983 : rsp.sw, "PIN status");
	piv_rsp_free(&rsp);
	return r;
}

int
piv_verify_pin(struct piv_conn *c, const char *pin)
{
	struct piv_rsp	rsp;
	struct ob_wr	w;
	uint8_t		buf[8];
	size_t		n = strlen(pin), i;
	int		r;

	/* SP 800-73-4 part 2, 2.4.3: 6-8 characters, padded with FF. */
	if (n < 6 || n > 8)
		return ob_errf(OB_ERR_PIN_INCORRECT, "a PIV PIN has 6 to 8 "
		    "characters; the card was not asked (no try spent)");
	for (i = 0; i < n; i++)
		if ((unsigned char)pin[i] < 0x20 || (unsigned char)pin[i] > 0x7e)
			return ob_errf(OB_ERR_PIN_INCORRECT, "a PIV PIN is "
			    "printable ASCII; the card was not asked");
	ob_wr_init_fixed(&w, buf, sizeof(buf));
	r = ob_wr_bytes(&w, pin, n);
	while (r == OB_OK && ob_wr_len(&w) < sizeof(buf))
		r = ob_wr_u8(&w, 0xff);
	if (r == OB_OK)
		r = piv_transmit(c, INS_VERIFY, 0x00, REF_PIN, ob_wr_ptr(&w),
		    ob_wr_len(&w), 0, &rsp);
	ob_wr_free(&w);		/* wipes the PIN */
	if (r != OB_OK)
		return r;
	r = rsp.sw == 0x9000 ? OB_OK : piv_sw_err(rsp.sw, "VERIFY");
	piv_rsp_free(&rsp);
	return r;
}

void
piv_pin_logout(struct piv_conn *c)
{
	struct piv_rsp rsp;

	/* After a transport failure, keep the first error's detail. */
	if (c->broken)
		return;
	/* SP 800-73-4 part 2, 3.2.1: P1 FF resets the PIN's status. */
	if (piv_transmit(c, INS_VERIFY, 0xff, REF_PIN, NULL, 0, 0, &rsp) ==
	    OB_OK)
		piv_rsp_free(&rsp);
}

int
piv_sign_digest(struct piv_conn *c, uint8_t alg, uint8_t slot,
    const uint8_t *dgst, size_t dlen, unsigned char **der, size_t *derlen)
{
	struct piv_rsp	 rsp;
	struct ob_wr	 w;
	uint8_t		 cmd[2 + 2 + 2 + 64];
	const uint8_t	*sig;
	unsigned char	*copy;
	size_t		 slen;
	int		 r;

	if (dlen == 0 || dlen > 64)
		return ob_errf(OB_ERR_INTERNAL, "digest of %zu bytes", dlen);
	/* 7C { 82 00 (response wanted), 81 digest (challenge) } */
	ob_wr_init_fixed(&w, cmd, sizeof(cmd));
	if ((r = piv_wr_tlv_hdr(&w, 0x7c, 2 + 2 + dlen)) == OB_OK &&
	    (r = piv_wr_tlv_hdr(&w, 0x82, 0)) == OB_OK &&
	    (r = piv_wr_tlv_hdr(&w, 0x81, dlen)) == OB_OK &&
	    (r = ob_wr_bytes(&w, dgst, dlen)) == OB_OK)
		r = piv_transmit(c, INS_GEN_AUTH, alg, slot, ob_wr_ptr(&w),
		    ob_wr_len(&w), 1, &rsp);
	ob_wr_free(&w);
	if (r != OB_OK)
		return r;
	if (rsp.sw != 0x9000) {
		r = rsp.sw == 0x6a80 ? ob_errf(OB_ERR_KEY_TYPE, "the key in slot "
		    "%02x is not of the expected type (SW 6A80)", slot) :
		    piv_sw_err(rsp.sw, "GENERAL AUTHENTICATE");
	} else if ((r = piv_parse_sig(rsp.buf, rsp.len, &sig, &slen)) ==
	    OB_OK) {
		if ((copy = malloc(slen)) == NULL)
			r = OB_ERR_ALLOC;
		else {
			memcpy(copy, sig, slen);
			*der = copy;
			*derlen = slen;
		}
	}
	piv_rsp_free(&rsp);
	return r;
}

static const EVP_CIPHER *
mgm_cipher(uint8_t alg, size_t *keylen, size_t *bs)
{
	switch (alg) {
	case PIV_ALG_3DES:
		*keylen = 24;
		*bs = 8;
		return EVP_des_ede3_ecb();
	case PIV_ALG_AES128:
		*keylen = 16;
		*bs = 16;
		return EVP_aes_128_ecb();
	case PIV_ALG_AES192:
		*keylen = 24;
		*bs = 16;
		return EVP_aes_192_ecb();
	case PIV_ALG_AES256:
		*keylen = 32;
		*bs = 16;
		return EVP_aes_256_ecb();
	default:
		return NULL;
	}
}

/* One block, ECB, no padding. */
static int
mgm_block(const EVP_CIPHER *ciph, const uint8_t *key, int enc,
    const uint8_t *in, size_t bs, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n = 0, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return OB_ERR_ALLOC;
	ok = EVP_CipherInit_ex(ctx, ciph, NULL, key, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)bs) == 1 &&
	    (size_t)n == bs;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? OB_OK : ob_errf(OB_ERR_CRYPTO, "management-key cipher");
}

int
piv_mgm_alg(struct piv_conn *c, uint8_t *alg)
{
	struct piv_rsp	rsp;
	struct piv_meta	m;
	int		r;

	*alg = 0;
	memset(&rsp, 0, sizeof(rsp));
	r = piv_get_meta(c, REF_MGM, &rsp, &m);
	if (r == OB_OK)
		*alg = m.alg;
	piv_rsp_free(&rsp);
	return r == OB_ERR_MECH_UNSUPPORTED ? OB_OK : r;
}

int
piv_mgm_auth(struct piv_conn *c, uint8_t alg, const uint8_t *key,
    size_t keylen)
{
	const EVP_CIPHER *ciph;
	struct piv_rsp	 rsp;
	struct ob_wr	 w;
	const uint8_t	*v;
	uint8_t		 cmd[4 + 2 * (2 + 16)], wit[16], chal[16], exp[16];
	size_t		 klen, bs;
	int		 r;

	memset(&rsp, 0, sizeof(rsp));
	/* The witness and challenge are built in cmd; freeing wipes it. */
	ob_wr_init_fixed(&w, cmd, sizeof(cmd));
	if ((ciph = mgm_cipher(alg, &klen, &bs)) == NULL)
		return ob_errf(OB_ERR_MECH_UNSUPPORTED, "management-key "
		    "algorithm %02x", alg);
	if (keylen != klen)
		return ob_errf(OB_ERR_KEY_LOAD, "the management key has %zu "
		    "bytes; algorithm %02x needs %zu", keylen, alg, klen);
	/* Mutual authentication (SP 800-73-4 part 2, appendix A.1):
	 * 7C { 80 00 } asks for a witness. */
	OB_TRY(piv_wr_tlv_hdr(&w, 0x7c, 2));
	OB_TRY(piv_wr_tlv_hdr(&w, 0x80, 0));
	OB_TRY(piv_transmit(c, INS_GEN_AUTH, alg, REF_MGM, ob_wr_ptr(&w),
	    ob_wr_len(&w), 1, &rsp));
	ob_wr_free(&w);
	if (rsp.sw != 0x9000) {
		r = rsp.sw == 0x6a86 || rsp.sw == 0x6a80 ?
		    ob_errf(OB_ERR_KEY_LOAD, "the card's management key is not "
		    "of algorithm %02x (SW %04X)", alg, rsp.sw) :
		    piv_sw_err(rsp.sw, "management key witness");
		goto out;
	}
	OB_TRY(piv_parse_mgm(rsp.buf, rsp.len, 0x80, bs, &v));
	OB_TRY(mgm_block(ciph, key, 0, v, bs, wit));
	piv_rsp_free(&rsp);
	if (RAND_bytes(chal, (int)bs) != 1) {
		r = ob_errf(OB_ERR_RANDOM, "RAND_bytes");
		goto out;
	}
	/* 7C { 80 decrypted witness, 81 our challenge } */
	ob_wr_init_fixed(&w, cmd, sizeof(cmd));
	OB_TRY(piv_wr_tlv_hdr(&w, 0x7c, 2 * (2 + bs)));
	OB_TRY(piv_wr_tlv_hdr(&w, 0x80, bs));
	OB_TRY(ob_wr_bytes(&w, wit, bs));
	OB_TRY(piv_wr_tlv_hdr(&w, 0x81, bs));
	OB_TRY(ob_wr_bytes(&w, chal, bs));
	OB_TRY(piv_transmit(c, INS_GEN_AUTH, alg, REF_MGM, ob_wr_ptr(&w),
	    ob_wr_len(&w), 1, &rsp));
	if (rsp.sw != 0x9000) {
		r = rsp.sw == 0x6982 ? ob_errf(OB_ERR_SECURITY_STATUS, "wrong "
		    "management key (SW 6982)") :
		    piv_sw_err(rsp.sw, "management key");
		goto out;
	}
	/* The card proves it holds the key too. */
	OB_TRY(piv_parse_mgm(rsp.buf, rsp.len, 0x82, bs, &v));
	OB_TRY(mgm_block(ciph, key, 1, chal, bs, exp));
	if (CRYPTO_memcmp(v, exp, bs) != 0) {
		r = ob_errf(OB_ERR_DEVICE, "the card failed the management-key "
		    "challenge");
		goto out;
	}
	r = OB_OK;
out:
	piv_rsp_free(&rsp);
	ob_wr_free(&w);
	OPENSSL_cleanse(wit, sizeof(wit));
	OPENSSL_cleanse(chal, sizeof(chal));
	OPENSSL_cleanse(exp, sizeof(exp));
	return r;
}

int
piv_generate(struct piv_conn *c, uint8_t slot, uint8_t alg, EVP_PKEY **pub)
{
	struct piv_rsp	 rsp;
	struct ob_wr	 w;
	const uint8_t	*pt;
	size_t		 plen;
	uint8_t		 cmd[5];
	int		 r;

	/* AC { 80 alg } (SP 800-73-4 part 2, table 10) */
	ob_wr_init_fixed(&w, cmd, sizeof(cmd));
	if ((r = piv_wr_tlv_hdr(&w, 0xac, 3)) == OB_OK &&
	    (r = piv_wr_tlv_hdr(&w, 0x80, 1)) == OB_OK &&
	    (r = ob_wr_u8(&w, alg)) == OB_OK)
		r = piv_transmit(c, INS_GENERATE, 0x00, slot, ob_wr_ptr(&w),
		    ob_wr_len(&w), 1, &rsp);
	ob_wr_free(&w);
	if (r != OB_OK)
		return r;
	if (rsp.sw != 0x9000)
		r = piv_sw_err(rsp.sw, "GENERATE ASYMMETRIC KEY PAIR");
	else if ((r = piv_parse_genpub(rsp.buf, rsp.len, piv_ec_flen(alg), &pt,
	    &plen)) == OB_OK)
		r = piv_ec_pub(alg, pt, plen, pub);
	piv_rsp_free(&rsp);
	return r;
}

int
piv_write_cert(struct piv_conn *c, uint32_t objtag, const unsigned char *der,
    size_t derlen)
{
	struct piv_rsp	rsp;
	struct ob_wr	obj, cmd;
	int		r;

	if (derlen > 3000)
		return ob_errf(OB_ERR_INVALID_ARG, "certificate too large");
	/* 5C tag, 53 { 70 cert, 71 00, FE } (SP 800-73-4 part 1, A) */
	ob_wr_init_heap(&obj, 3100);
	ob_wr_init_heap(&cmd, 3200);
	OB_TRY(piv_wr_tlv_hdr(&obj, 0x70, derlen));
	OB_TRY(ob_wr_bytes(&obj, der, derlen));
	OB_TRY(piv_wr_tlv_hdr(&obj, 0x71, 1));
	OB_TRY(ob_wr_u8(&obj, 0x00));
	OB_TRY(piv_wr_tlv_hdr(&obj, 0xfe, 0));
	OB_TRY(wr_tag_list(&cmd, objtag));
	OB_TRY(piv_wr_tlv_hdr(&cmd, 0x53, ob_wr_len(&obj)));
	OB_TRY(ob_wr_bytes(&cmd, ob_wr_ptr(&obj), ob_wr_len(&obj)));
	OB_TRY(piv_transmit(c, INS_PUT_DATA, 0x3f, 0xff, ob_wr_ptr(&cmd),
	    ob_wr_len(&cmd), 0, &rsp));
	r = rsp.sw == 0x9000 ? OB_OK : piv_sw_err(rsp.sw, "PUT DATA");
	piv_rsp_free(&rsp);
out:
	ob_wr_free(&obj);
	ob_wr_free(&cmd);
	return r;
}

int
piv_attest(struct piv_conn *c, uint8_t slot, unsigned char **der,
    size_t *derlen)
{
	struct piv_rsp	 rsp;
	unsigned char	*copy;
	int		 r;

	if ((r = piv_transmit(c, INS_YK_ATTEST, slot, 0x00, NULL, 0, 1,
	    &rsp)) != OB_OK)
		return r;
	if (rsp.sw == 0x9000 && rsp.len > 0) {
		if ((copy = malloc(rsp.len)) == NULL)
			r = OB_ERR_ALLOC;
		else {
			memcpy(copy, rsp.buf, rsp.len);
			*der = copy;
			*derlen = rsp.len;
		}
	} else if (rsp.sw == 0x6a80)
		/* YubiKey: only keys generated on the card are attested. */
		r = ob_errf(OB_ERR_ATTEST_INVALID, "imported");
	else
		r = piv_sw_err(rsp.sw, "ATTEST");
	piv_rsp_free(&rsp);
	return r;
}
