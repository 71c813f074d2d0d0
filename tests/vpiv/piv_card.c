/*
 * piv_card.c - APDU dispatcher and state of the virtual PIV card.
 *
 * References: NIST SP 800-73-4 part 1 (data model) and part 2 (card edge
 * commands, section 3), ISO/IEC 7816-4 (APDU cases, chaining, status
 * words), Yubico "PIV extensions" (GET VERSION/SERIAL/METADATA, ATTEST,
 * IMPORT KEY, SET MANAGEMENT KEY, SET PIN RETRIES, RESET).
 *
 * Only EC keys (P-256 alg 0x11, P-384 alg 0x14) are supported for the
 * asymmetric slots; RSA requests are refused with 6A 80.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/vpiv/piv_card.h"
#include "tests/vpiv/piv_crypto.h"
#include "tests/vpiv/tlv.h"

/* Status words (ISO 7816-4 section 5.1.3, SP 800-73-4 part 2 table 6). */
#define SW_OK			0x9000
#define SW_MORE(n)		(0x6100 | ((n) & 0xff))
#define SW_VERIFY_FAIL(n)	(0x63c0 | ((n) > 15 ? 15 : (n)))
#define SW_MEMORY		0x6581
#define SW_WRONG_LENGTH		0x6700
#define SW_LAST_OF_CHAIN	0x6883
#define SW_SECURITY		0x6982
#define SW_BLOCKED		0x6983
#define SW_CONDITIONS		0x6985
#define SW_WRONG_DATA		0x6a80
#define SW_NOT_FOUND		0x6a82
#define SW_NO_SPACE		0x6a84
#define SW_WRONG_P1P2		0x6a86
#define SW_REF_NOT_FOUND	0x6a88
#define SW_WRONG_SLOT		0x6b00	/* YubiKey: bad slot in GENERATE/IMPORT */
#define SW_INS			0x6d00
#define SW_CLA			0x6e00
#define SW_UNKNOWN		0x6f00

/* Instructions. */
#define INS_VERIFY		0x20
#define INS_CHANGE_REF		0x24
#define INS_RESET_RETRY		0x2c
#define INS_GENERATE		0x47
#define INS_GEN_AUTH		0x87
#define INS_SELECT		0xa4
#define INS_GET_RESPONSE	0xc0
#define INS_GET_DATA		0xcb
#define INS_PUT_DATA		0xdb
#define INS_YK_METADATA		0xf7
#define INS_YK_SERIAL		0xf8
#define INS_YK_ATTEST		0xf9
#define INS_YK_PIN_RETRIES	0xfa
#define INS_YK_RESET		0xfb
#define INS_YK_VERSION		0xfd
#define INS_YK_IMPORT		0xfe
#define INS_YK_SET_MGM		0xff

/* Key references. */
#define REF_PIN			0x80
#define REF_PUK			0x81
#define REF_MGM			0x9b
#define SLOT_ATTEST		0xf9

/* YubiKey policies and key origins. */
#define PIN_POLICY_DEFAULT	0
#define PIN_POLICY_NEVER	1
#define PIN_POLICY_ONCE		2
#define PIN_POLICY_ALWAYS	3
#define TOUCH_POLICY_DEFAULT	0
#define TOUCH_POLICY_NEVER	1
#define TOUCH_POLICY_CACHED	3
#define ORIGIN_GENERATED	1
#define ORIGIN_IMPORTED		2

/* Data objects. */
#define OBJ_CHUID		0x5fc102
#define OBJ_CCC			0x5fc107
#define OBJ_DISCOVERY		0x7e
#define OBJ_FIRST		0x5fc101	/* ... through 0x5fc123 */
#define OBJ_LAST		0x5fc123
#define OBJ_YK_ADMIN		0x5fff00
#define OBJ_YK_ATTEST		0x5fff01
#define NOBJ			((OBJ_LAST - OBJ_FIRST + 1) + 2)
#define OBJ_MAX			3072	/* bytes inside tag 53 */

#define PIN_LEN			8	/* PIN and PUK are 0xFF-padded to 8 */
#define PIN_MIN			6
#define DEFAULT_TRIES		3
#define MGM_MAX			32
#define CHAIN_MAX		8192
#define RESP_MAX		8192
#define STATE_MAX		(1024 * 1024)

/* Asymmetric slots: 9a 9c 9d 9e, retired 82..95, attestation f9. */
#define NSLOTS			25

struct piv_key {
	EVP_PKEY	*pkey;		/* NULL: slot empty */
	uint8_t		 alg;
	uint8_t		 pin_policy;	/* effective, never DEFAULT */
	uint8_t		 touch_policy;	/* stored and reported, not enforced */
	uint8_t		 origin;
};

struct piv_obj {
	size_t		 len;		/* 0: object absent */
	uint8_t		 data[OBJ_MAX];
};

enum mgm_step { MGM_IDLE, MGM_WITNESS_SENT, MGM_CHALLENGE_SENT };

struct piv_card {
	/* persistent */
	uint32_t	 serial;
	uint8_t		 version[3];
	uint8_t		 pin[PIN_LEN];
	uint8_t		 puk[PIN_LEN];
	uint8_t		 pin_max, pin_left, puk_max, puk_left;
	uint8_t		 mgm_alg;
	size_t		 mgm_len;
	uint8_t		 mgm_key[MGM_MAX];
	struct piv_key	 keys[NSLOTS];
	struct piv_obj	 objs[NOBJ];
	uint8_t		*root_der;	/* test root CA certificate */
	size_t		 root_len;
	int		 dirty;

	/* session: cleared on power on/off/reset */
	int		 selected;
	int		 pin_ok;	/* PIN verified in this session */
	int		 pin_fresh;	/* VERIFY since last PIN-always use */
	int		 mgm_ok;
	enum mgm_step	 mgm_step;
	size_t		 mgm_nonce_len;
	uint8_t		 mgm_nonce[16];

	/* command chaining (ISO 7816-4 5.1.1.1) */
	int		 chaining;
	uint8_t		 chain_ins, chain_p1, chain_p2;
	size_t		 chain_len;
	uint8_t		 chain[CHAIN_MAX];

	/* response not yet fetched with GET RESPONSE */
	size_t		 resp_len, resp_off;
	uint8_t		 resp[RESP_MAX];
};

struct apdu {
	uint8_t		 cla, ins, p1, p2;
	const uint8_t	*data;
	size_t		 lc;
	size_t		 ne;	/* expected response length */
};

static const uint8_t piv_aid[] = {
	0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};
#define PIV_RID_LEN 5

static const uint8_t default_pin[PIN_LEN] = {
	'1', '2', '3', '4', '5', '6', 0xff, 0xff
};
static const uint8_t default_puk[PIN_LEN] = {
	'1', '2', '3', '4', '5', '6', '7', '8'
};
static const uint8_t default_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

/* SP 800-73-4 part 1 section 3.3.2: PIV AID, PIN usage policy 0x4000. */
static const uint8_t discovery_object[] = {
	0x7e, 0x12,
	0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00,
	0x01, 0x00,
	0x5f, 0x2f, 0x02, 0x40, 0x00
};

/* FASC-N of the SP 800-73 test cards (agency 9999 ...). */
static const uint8_t test_fascn[25] = {
	0xd4, 0xe7, 0x39, 0xda, 0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d,
	0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42,
	0x10, 0xc3, 0xeb
};

/* Yubico attestation extensions (developers.yubico.com/PIV). */
#define OID_YK_FIRMWARE		"1.3.6.1.4.1.41482.3.3"
#define OID_YK_SERIAL		"1.3.6.1.4.1.41482.3.7"
#define OID_YK_POLICY		"1.3.6.1.4.1.41482.3.8"
#define OID_YK_FORMFACTOR	"1.3.6.1.4.1.41482.3.9"

/* ------------------------------------------------------------------ */
/* Tables */

static int
slot_index(uint8_t slot)
{
	switch (slot) {
	case 0x9a:
		return 0;
	case 0x9c:
		return 1;
	case 0x9d:
		return 2;
	case 0x9e:
		return 3;
	case SLOT_ATTEST:
		return 24;
	default:
		if (slot >= 0x82 && slot <= 0x95)
			return 4 + (slot - 0x82);
		return -1;
	}
}

static uint8_t
slot_default_pin_policy(uint8_t slot)
{
	switch (slot) {
	case 0x9c:
		return PIN_POLICY_ALWAYS;
	case 0x9e:
	case SLOT_ATTEST:
		return PIN_POLICY_NEVER;
	default:
		return PIN_POLICY_ONCE;
	}
}

static int
obj_index(uint32_t tag)
{
	if (tag >= OBJ_FIRST && tag <= OBJ_LAST)
		return (int)(tag - OBJ_FIRST);
	if (tag == OBJ_YK_ADMIN)
		return OBJ_LAST - OBJ_FIRST + 1;
	if (tag == OBJ_YK_ATTEST)
		return OBJ_LAST - OBJ_FIRST + 2;
	return -1;
}

static uint32_t
obj_tag(size_t idx)
{
	if (idx <= OBJ_LAST - OBJ_FIRST)
		return (uint32_t)(OBJ_FIRST + idx);
	return idx == OBJ_LAST - OBJ_FIRST + 1 ? OBJ_YK_ADMIN : OBJ_YK_ATTEST;
}

/* Objects only readable after PIN verification (SP 800-73-4 part 1 t.1). */
static int
obj_needs_pin(uint32_t tag)
{
	return tag == 0x5fc103 || tag == 0x5fc108 || tag == 0x5fc109 ||
	    tag == 0x5fc121 || tag == 0x5fc123;
}

/* ------------------------------------------------------------------ */
/* Management key */

/* One block of the card's management key cipher. */
static int
mgm_crypt(const struct piv_card *c, int encrypt, const uint8_t *in,
    uint8_t *out)
{
	return vpiv_sym_crypt(c->mgm_alg, c->mgm_key, c->mgm_len, encrypt, in,
	    out);
}

/* ------------------------------------------------------------------ */
/* Data objects */

static void
obj_clear(struct piv_obj *o)
{
	OPENSSL_cleanse(o->data, sizeof(o->data));
	o->len = 0;
}

static int
obj_set(struct piv_card *c, uint32_t tag, const uint8_t *v, size_t len)
{
	int i = obj_index(tag);

	if (i < 0 || len > OBJ_MAX)
		return PIV_ERR_ARG;
	obj_clear(&c->objs[i]);
	if (len > 0)
		memcpy(c->objs[i].data, v, len);
	c->objs[i].len = len;
	c->dirty = 1;
	return PIV_OK;
}

/* Certificate object content: 70 cert 71 CertInfo(00) FE LRC (part 1 t.10). */
static int
cert_obj_set(struct piv_card *c, uint32_t tag, const uint8_t *der, size_t len)
{
	uint8_t buf[OBJ_MAX];
	struct tlv_buf b;
	const uint8_t info = 0x00;

	tlv_buf_init(&b, buf, sizeof(buf));
	tlv_put(&b, 0x70, der, len);
	tlv_put(&b, 0x71, &info, 1);
	tlv_put(&b, 0xfe, NULL, 0);
	if (tlv_buf_error(&b) != TLV_OK)
		return PIV_ERR_ARG;
	return obj_set(c, tag, buf, b.len);
}

static int
cert_obj_get(const struct piv_card *c, uint32_t tag, X509 **out)
{
	static const uint32_t allowed[] = { 0x70, 0x71, 0xfe };
	struct tlv t[3];
	const struct piv_obj *o;
	const unsigned char *p;
	uint32_t present;
	X509 *x;
	int i = obj_index(tag);

	if (i < 0 || (o = &c->objs[i])->len == 0)
		return PIV_ERR_ARG;
	if (tlv_collect(o->data, o->len, allowed, 3, t, &present) != TLV_OK ||
	    (present & 1) == 0 || t[0].len > 0x7fffffff)
		return PIV_ERR_STATE_FORMAT;
	p = t[0].val;
	if ((x = d2i_X509(NULL, &p, (long)t[0].len)) == NULL ||
	    p != t[0].val + t[0].len) {
		X509_free(x);
		return PIV_ERR_STATE_FORMAT;
	}
	*out = x;
	return PIV_OK;
}

static int
make_chuid(struct piv_card *c)
{
	uint8_t guid[16], buf[128];
	struct tlv_buf b;
	int r;

	if ((r = vpiv_random(guid, sizeof(guid))) != PIV_OK)
		return r;
	tlv_buf_init(&b, buf, sizeof(buf));
	tlv_put(&b, 0x30, test_fascn, sizeof(test_fascn));
	tlv_put(&b, 0x34, guid, sizeof(guid));
	tlv_put(&b, 0x35, "20991231", 8);
	tlv_put(&b, 0x3e, NULL, 0);
	tlv_put(&b, 0xfe, NULL, 0);
	if (tlv_buf_error(&b) != TLV_OK)
		return PIV_ERR_ARG;
	return obj_set(c, OBJ_CHUID, buf, b.len);
}

static int
make_ccc(struct piv_card *c)
{
	static const uint8_t prefix[] = {
		0xa0, 0x00, 0x00, 0x01, 0x16, 0xff, 0x02
	};
	static const uint8_t empty_tags[] = {
		0xf6, 0xf7, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe
	};
	uint8_t id[21], buf[128];
	const uint8_t v21 = 0x21, v00 = 0x00, v10 = 0x10;
	struct tlv_buf b;
	size_t i;
	int r;

	memcpy(id, prefix, sizeof(prefix));
	if ((r = vpiv_random(id + sizeof(prefix),
	    sizeof(id) - sizeof(prefix))) != PIV_OK)
		return r;
	tlv_buf_init(&b, buf, sizeof(buf));
	tlv_put(&b, 0xf0, id, sizeof(id));
	tlv_put(&b, 0xf1, &v21, 1);
	tlv_put(&b, 0xf2, &v21, 1);
	tlv_put(&b, 0xf3, NULL, 0);
	tlv_put(&b, 0xf4, &v00, 1);
	tlv_put(&b, 0xf5, &v10, 1);
	for (i = 0; i < sizeof(empty_tags); i++)
		tlv_put(&b, empty_tags[i], NULL, 0);
	if (tlv_buf_error(&b) != TLV_OK)
		return PIV_ERR_ARG;
	return obj_set(c, OBJ_CCC, buf, b.len);
}

/* ------------------------------------------------------------------ */
/* Keys, attestation, factory state */

static void
key_clear(struct piv_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

static void
key_set(struct piv_card *c, uint8_t slot, EVP_PKEY *pk, uint8_t alg,
    uint8_t pin_policy, uint8_t touch_policy, uint8_t origin)
{
	struct piv_key *k = &c->keys[slot_index(slot)];

	key_clear(k);
	k->pkey = pk;
	k->alg = alg;
	k->pin_policy = pin_policy == PIN_POLICY_DEFAULT ?
	    slot_default_pin_policy(slot) : pin_policy;
	k->touch_policy = touch_policy == TOUCH_POLICY_DEFAULT ?
	    TOUCH_POLICY_NEVER : touch_policy;
	k->origin = origin;
	c->dirty = 1;
}

static int
load_pem_ca(const char *key_path, const char *cert_path, EVP_PKEY **key,
    X509 **cert)
{
	FILE *f = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int r = PIV_ERR_CA;

	if ((f = fopen(key_path, "r")) == NULL)
		goto out;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if ((f = fopen(cert_path, "r")) == NULL)
		goto out;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || x == NULL || X509_check_private_key(x, k) != 1)
		goto out;
	*key = k;
	*cert = x;
	k = NULL;
	x = NULL;
	r = PIV_OK;
 out:
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

/*
 * Give the card an attestation key (f9) and certificate.  The root CA key
 * is used once here and never kept: like a real card, this one only holds
 * the intermediate.  The root certificate is kept so tests can export it.
 */
static int
make_attestation_identity(struct piv_card *c, const struct piv_card_config *cfg)
{
	EVP_PKEY *root_key = NULL, *f9_key = NULL;
	X509 *root = NULL, *f9 = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	char cn[96];
	int r;

	if (cfg != NULL && cfg->ca_key_path != NULL &&
	    cfg->ca_cert_path != NULL) {
		if ((r = load_pem_ca(cfg->ca_key_path, cfg->ca_cert_path,
		    &root_key, &root)) != PIV_OK)
			goto out;
	} else {
		if ((r = vpiv_ec_generate(ALG_P256, &root_key)) != PIV_OK ||
		    (r = vpiv_cert_make_ca("vpiv Test Root CA", root_key, NULL,
		    root_key, 0, &root)) != PIV_OK)
			goto out;
	}
	if ((r = vpiv_ec_generate(ALG_P256, &f9_key)) != PIV_OK)
		goto out;
	snprintf(cn, sizeof(cn), "vpiv PIV Attestation %u", c->serial);
	if ((r = vpiv_cert_make_ca(cn, f9_key, root, root_key, 1,
	    &f9)) != PIV_OK ||
	    (r = vpiv_cert_der(f9, &der, &len)) != PIV_OK ||
	    (r = cert_obj_set(c, OBJ_YK_ATTEST, der, len)) != PIV_OK)
		goto out;
	OPENSSL_free(der);
	der = NULL;
	if ((r = vpiv_cert_der(root, &der, &len)) != PIV_OK)
		goto out;
	OPENSSL_free(c->root_der);
	c->root_der = der;
	c->root_len = len;
	der = NULL;
	key_set(c, SLOT_ATTEST, f9_key, ALG_P256, PIN_POLICY_NEVER,
	    TOUCH_POLICY_NEVER, ORIGIN_GENERATED);
	f9_key = NULL;
	r = PIV_OK;
 out:
	OPENSSL_free(der);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(f9_key);
	X509_free(root);
	X509_free(f9);
	return r;
}

/* DER INTEGER of an unsigned 32-bit value. */
static size_t
der_uint32(uint32_t v, uint8_t out[7])
{
	uint8_t tmp[5];
	size_t n = 0, i;

	tmp[0] = 0;
	tmp[1] = (uint8_t)(v >> 24);
	tmp[2] = (uint8_t)(v >> 16);
	tmp[3] = (uint8_t)(v >> 8);
	tmp[4] = (uint8_t)v;
	/* Strip leading zero bytes unless the next byte has its top bit. */
	for (i = 0; i < 4; i++)
		if (tmp[i] != 0 || (tmp[i + 1] & 0x80) != 0)
			break;
	out[n++] = 0x02;
	out[n++] = (uint8_t)(5 - i);
	memcpy(out + n, tmp + i, 5 - i);
	return n + 5 - i;
}

/* A YubiKey-style attestation certificate for the key in slot. */
static int
make_attestation(struct piv_card *c, uint8_t slot, uint8_t **der, size_t *len)
{
	const struct piv_key *k = &c->keys[slot_index(slot)];
	const struct piv_key *ak = &c->keys[slot_index(SLOT_ATTEST)];
	X509 *f9 = NULL, *x = NULL;
	uint8_t serial[7], policy[2], form = 0x01;
	size_t serial_len;
	char cn[64];
	int r;

	if ((r = cert_obj_get(c, OBJ_YK_ATTEST, &f9)) != PIV_OK)
		return r;
	snprintf(cn, sizeof(cn), "vpiv PIV Attestation %02x", slot);
	if ((r = vpiv_cert_new(cn, k->pkey, &x)) != PIV_OK)
		goto out;
	serial_len = der_uint32(c->serial, serial);
	policy[0] = k->pin_policy;
	policy[1] = k->touch_policy;
	r = PIV_ERR_CRYPTO;
	if (X509_set_issuer_name(x, X509_get_subject_name(f9)) != 1 ||
	    X509_set1_notBefore(x, X509_get0_notBefore(f9)) != 1 ||
	    X509_set1_notAfter(x, X509_get0_notAfter(f9)) != 1)
		goto out;
	if ((r = vpiv_cert_add_ext(x, OID_YK_FIRMWARE, c->version,
	    3)) != PIV_OK ||
	    (r = vpiv_cert_add_ext(x, OID_YK_SERIAL, serial,
	    serial_len)) != PIV_OK ||
	    (r = vpiv_cert_add_ext(x, OID_YK_POLICY, policy, 2)) != PIV_OK ||
	    (r = vpiv_cert_add_ext(x, OID_YK_FORMFACTOR, &form, 1)) != PIV_OK)
		goto out;
	r = PIV_ERR_CRYPTO;
	if (X509_sign(x, ak->pkey, EVP_sha256()) <= 0)
		goto out;
	r = vpiv_cert_der(x, der, len);
 out:
	X509_free(x);
	X509_free(f9);
	return r;
}

static void
set_default_credentials(struct piv_card *c)
{
	memcpy(c->pin, default_pin, PIN_LEN);
	memcpy(c->puk, default_puk, PIN_LEN);
	c->pin_max = c->pin_left = DEFAULT_TRIES;
	c->puk_max = c->puk_left = DEFAULT_TRIES;
	OPENSSL_cleanse(c->mgm_key, sizeof(c->mgm_key));
	c->mgm_alg = ALG_3DES;
	c->mgm_len = sizeof(default_mgm);
	memcpy(c->mgm_key, default_mgm, sizeof(default_mgm));
	c->dirty = 1;
}

void
piv_card_reset_session(struct piv_card *c)
{
	c->selected = 0;
	c->pin_ok = 0;
	c->pin_fresh = 0;
	c->mgm_ok = 0;
	c->mgm_step = MGM_IDLE;
	OPENSSL_cleanse(c->mgm_nonce, sizeof(c->mgm_nonce));
	c->mgm_nonce_len = 0;
	c->chaining = 0;
	OPENSSL_cleanse(c->chain, c->chain_len);
	c->chain_len = 0;
	OPENSSL_cleanse(c->resp, c->resp_len);
	c->resp_len = c->resp_off = 0;
}

/* YubiKey RESET: everything but serial, version and attestation identity. */
static int
factory_reset(struct piv_card *c)
{
	size_t i;
	int r;

	for (i = 0; i < NSLOTS; i++)
		if (i != (size_t)slot_index(SLOT_ATTEST))
			key_clear(&c->keys[i]);
	for (i = 0; i < NOBJ; i++)
		if (obj_tag(i) != OBJ_YK_ATTEST)
			obj_clear(&c->objs[i]);
	set_default_credentials(c);
	if ((r = make_chuid(c)) != PIV_OK || (r = make_ccc(c)) != PIV_OK)
		return r;
	c->dirty = 1;
	return PIV_OK;
}

/* ------------------------------------------------------------------ */
/* Command handlers: each returns the status word, data goes to out. */

static int
pin_format_ok(const uint8_t *p)
{
	size_t n = 0, i;

	while (n < PIN_LEN && p[n] != 0xff)
		n++;
	if (n < PIN_MIN)
		return 0;
	for (i = n; i < PIN_LEN; i++)
		if (p[i] != 0xff)
			return 0;
	return 1;
}

/*
 * Check a PIN or PUK against the stored value, spending a retry on a
 * mismatch.  Returns SW_OK, 63Cx (x left) or 6983 (blocked).
 */
static uint16_t
check_secret(struct piv_card *c, const uint8_t *stored, uint8_t *left,
    uint8_t max, const uint8_t *given)
{
	if (*left == 0)
		return SW_BLOCKED;
	if (CRYPTO_memcmp(stored, given, PIN_LEN) != 0) {
		(*left)--;
		c->dirty = 1;
		return (uint16_t)SW_VERIFY_FAIL(*left);
	}
	if (*left != max) {
		*left = max;
		c->dirty = 1;
	}
	return SW_OK;
}

static uint16_t
cmd_select(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	static const uint8_t algs[] = {
		ALG_3DES, ALG_AES128, ALG_AES192, ALG_AES256, ALG_P256, ALG_P384
	};
	static const char label[] = "vpiv virtual PIV";
	uint8_t tmpl[128];
	struct tlv_buf t;
	size_t i;

	/* Only SELECT by DF name of (a prefix of) the PIV AID. */
	if (a->p1 != 0x04 || (a->p2 != 0x00 && a->p2 != 0x0c) ||
	    a->lc < PIV_RID_LEN || a->lc > sizeof(piv_aid) ||
	    memcmp(a->data, piv_aid, a->lc) != 0)
		return SW_NOT_FOUND;
	c->selected = 1;
	if (a->p2 == 0x0c)
		return SW_OK;

	/* Application property template, SP 800-73-4 part 2 table 3. */
	tlv_buf_init(&t, tmpl, sizeof(tmpl));
	tlv_put(&t, 0x4f, piv_aid, sizeof(piv_aid));
	tlv_put_hdr(&t, 0x79, 2 + PIV_RID_LEN);
	tlv_put(&t, 0x4f, piv_aid, PIV_RID_LEN);
	tlv_put(&t, 0x50, label, sizeof(label) - 1);
	tlv_put_hdr(&t, 0xac, sizeof(algs) * 3 + 3);
	for (i = 0; i < sizeof(algs); i++)
		tlv_put(&t, 0x80, &algs[i], 1);
	tlv_put(&t, 0x06, "", 1);	/* object identifier: none */
	if (tlv_buf_error(&t) != TLV_OK)
		return SW_UNKNOWN;
	tlv_put(out, 0x61, tmpl, t.len);
	return SW_OK;
}

static uint16_t
cmd_get_data(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	struct tlv t;
	uint32_t tag = 0;
	size_t i;
	int idx;

	if (a->p1 != 0x3f || a->p2 != 0xff)
		return SW_WRONG_P1P2;
	if (tlv_expect_one(a->data, a->lc, 0x5c, &t) != TLV_OK ||
	    t.len < 1 || t.len > 3)
		return SW_WRONG_DATA;
	for (i = 0; i < t.len; i++)
		tag = (tag << 8) | t.val[i];
	if (tag == OBJ_DISCOVERY) {
		tlv_put_raw(out, discovery_object, sizeof(discovery_object));
		return SW_OK;
	}
	if ((idx = obj_index(tag)) < 0 || c->objs[idx].len == 0)
		return SW_NOT_FOUND;
	if (obj_needs_pin(tag) && !c->pin_ok)
		return SW_SECURITY;
	tlv_put(out, 0x53, c->objs[idx].data, c->objs[idx].len);
	return SW_OK;
}

static uint16_t
cmd_put_data(struct piv_card *c, const struct apdu *a)
{
	struct tlv_cur cur;
	struct tlv id, body, extra;
	uint32_t tag = 0;
	size_t i;

	if (a->p1 != 0x3f || a->p2 != 0xff)
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	tlv_cur_init(&cur, a->data, a->lc);
	if (tlv_next(&cur, &id) != TLV_OK || id.tag != 0x5c ||
	    id.len < 1 || id.len > 3 ||
	    tlv_next(&cur, &body) != TLV_OK || body.tag != 0x53 ||
	    tlv_next(&cur, &extra) != TLV_END)
		return SW_WRONG_DATA;
	for (i = 0; i < id.len; i++)
		tag = (tag << 8) | id.val[i];
	if (obj_index(tag) < 0)
		return SW_WRONG_DATA;
	if (body.len > OBJ_MAX)
		return SW_NO_SPACE;
	return obj_set(c, tag, body.val, body.len) == PIV_OK ? SW_OK :
	    SW_UNKNOWN;
}

static uint16_t
cmd_verify(struct piv_card *c, const struct apdu *a)
{
	uint16_t sw;

	if (a->p2 != REF_PIN)
		return SW_REF_NOT_FOUND;
	if (a->p1 == 0xff) {
		/* SP 800-73-4 part 2 3.2.1: reset the PIN security status. */
		if (a->lc != 0)
			return SW_WRONG_DATA;
		c->pin_ok = c->pin_fresh = 0;
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->lc == 0) {
		/* Status query. */
		if (c->pin_left == 0)
			return SW_BLOCKED;
		if (c->pin_ok)
			return SW_OK;
		return (uint16_t)SW_VERIFY_FAIL(c->pin_left);
	}
	if (a->lc != PIN_LEN || !pin_format_ok(a->data))
		return SW_WRONG_DATA;
	sw = check_secret(c, c->pin, &c->pin_left, c->pin_max, a->data);
	c->pin_ok = c->pin_fresh = sw == SW_OK;
	return sw;
}

static uint16_t
cmd_change_ref(struct piv_card *c, const struct apdu *a, int reset_retry)
{
	uint8_t *target, *left, *max;
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (reset_retry) {
		/* RESET RETRY COUNTER: PUK || new PIN. */
		if (a->p2 != REF_PIN)
			return SW_REF_NOT_FOUND;
	} else if (a->p2 != REF_PIN && a->p2 != REF_PUK) {
		return SW_REF_NOT_FOUND;
	}
	if (a->lc != 2 * PIN_LEN || !pin_format_ok(a->data) ||
	    !pin_format_ok(a->data + PIN_LEN))
		return SW_WRONG_DATA;
	if (reset_retry || a->p2 == REF_PUK) {
		sw = check_secret(c, c->puk, &c->puk_left, c->puk_max, a->data);
	} else {
		sw = check_secret(c, c->pin, &c->pin_left, c->pin_max, a->data);
		if (sw != SW_OK)
			c->pin_ok = c->pin_fresh = 0;
	}
	if (sw != SW_OK)
		return sw;
	if (a->p2 == REF_PUK) {
		target = c->puk;
		left = &c->puk_left;
		max = &c->puk_max;
	} else {
		target = c->pin;
		left = &c->pin_left;
		max = &c->pin_max;
	}
	memcpy(target, a->data + PIN_LEN, PIN_LEN);
	*left = *max;
	c->dirty = 1;
	return SW_OK;
}

/* GENERAL AUTHENTICATE with the management key (9B). */
static uint16_t
gen_auth_mgm(struct piv_card *c, const struct apdu *a, const struct tlv *dyn,
    uint32_t present, struct tlv_buf *out)
{
	uint8_t buf[16], rsp[16];
	const EVP_CIPHER *cipher;
	size_t keylen, bs;
	enum mgm_step step = c->mgm_step;
	uint16_t sw = SW_WRONG_DATA;
	int has80 = (present & 1) != 0, has81 = (present & 2) != 0;
	int has82 = (present & 4) != 0;

	if (a->p1 != c->mgm_alg ||
	    (cipher = vpiv_sym_cipher(c->mgm_alg, &keylen, &bs)) == NULL)
		return SW_WRONG_P1P2;
	/* Any step ends the previous exchange. */
	c->mgm_step = MGM_IDLE;

	if (has80 && dyn[0].len == 0 && !has81 && !has82) {
		/* Mutual auth step 1: send the witness encrypted. */
		if (vpiv_random(c->mgm_nonce, bs) != PIV_OK ||
		    mgm_crypt(c, 1, c->mgm_nonce, buf) != PIV_OK)
			return SW_UNKNOWN;
		c->mgm_nonce_len = bs;
		c->mgm_step = MGM_WITNESS_SENT;
		c->mgm_ok = 0;
		tlv_put_hdr(out, 0x7c, 2 + bs);
		tlv_put(out, 0x80, buf, bs);
		sw = SW_OK;
	} else if (has81 && dyn[1].len == 0 && !has80 && !has82) {
		/* External auth step 1: send a plain challenge. */
		if (vpiv_random(c->mgm_nonce, bs) != PIV_OK)
			return SW_UNKNOWN;
		c->mgm_nonce_len = bs;
		c->mgm_step = MGM_CHALLENGE_SENT;
		c->mgm_ok = 0;
		tlv_put_hdr(out, 0x7c, 2 + bs);
		tlv_put(out, 0x81, c->mgm_nonce, bs);
		sw = SW_OK;
	} else if (has80 && dyn[0].len == bs && (!has82 || dyn[2].len == 0) &&
	    (!has81 || dyn[1].len == bs)) {
		/* Mutual auth step 2: decrypted witness (+ host challenge). */
		sw = SW_SECURITY;
		c->mgm_ok = 0;
		if (step != MGM_WITNESS_SENT || c->mgm_nonce_len != bs ||
		    CRYPTO_memcmp(dyn[0].val, c->mgm_nonce, bs) != 0)
			goto out;
		if (has81) {
			if (mgm_crypt(c, 1, dyn[1].val, rsp) != PIV_OK) {
				sw = SW_UNKNOWN;
				goto out;
			}
			tlv_put_hdr(out, 0x7c, 2 + bs);
			tlv_put(out, 0x82, rsp, bs);
		}
		c->mgm_ok = 1;
		sw = SW_OK;
	} else if (has82 && dyn[2].len == bs && !has80 && !has81) {
		/* External auth step 2: the encrypted challenge. */
		sw = SW_SECURITY;
		c->mgm_ok = 0;
		if (step != MGM_CHALLENGE_SENT || c->mgm_nonce_len != bs ||
		    mgm_crypt(c, 1, c->mgm_nonce, rsp) != PIV_OK ||
		    CRYPTO_memcmp(dyn[2].val, rsp, bs) != 0)
			goto out;
		c->mgm_ok = 1;
		sw = SW_OK;
	}
 out:
	if (c->mgm_step == MGM_IDLE) {
		OPENSSL_cleanse(c->mgm_nonce, sizeof(c->mgm_nonce));
		c->mgm_nonce_len = 0;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(rsp, sizeof(rsp));
	return sw;
}

/*
 * PIN policy "always" (YubiKey; SP 800-73-4 9c "PIN always"): a VERIFY
 * must come after the previous private-key operation, whatever its slot.
 * pin_fresh is therefore consumed by every asymmetric GENERAL AUTHENTICATE.
 */
static int
pin_policy_satisfied(struct piv_card *c, const struct piv_key *k)
{
	int fresh = c->pin_fresh;

	c->pin_fresh = 0;
	switch (k->pin_policy) {
	case PIN_POLICY_NEVER:
		return 1;
	case PIN_POLICY_ALWAYS:
		return c->pin_ok && fresh;
	default:
		return c->pin_ok;
	}
}

/* GENERAL AUTHENTICATE with an asymmetric key: sign (81) or ECDH (85). */
static uint16_t
gen_auth_key(struct piv_card *c, const struct apdu *a, const struct tlv *dyn,
    uint32_t present, struct tlv_buf *out)
{
	uint8_t res[160];
	size_t flen, rlen = 0;
	struct piv_key *k;
	int idx = slot_index(a->p2), r;
	int has81 = (present & 2) != 0, has82 = (present & 4) != 0;
	int has85 = (present & 8) != 0;

	if (idx < 0 || a->p2 == SLOT_ATTEST)
		return SW_WRONG_P1P2;
	k = &c->keys[idx];
	if (k->pkey == NULL)
		return SW_REF_NOT_FOUND;
	if (a->p1 != k->alg)
		return SW_WRONG_DATA;
	flen = vpiv_ec_field_len(k->alg);
	/* 82 must ask for the response; exactly one of 81 / 85. */
	if ((present & 1) != 0 || !has82 || dyn[2].len != 0 ||
	    has81 == has85)
		return SW_WRONG_DATA;
	if (has81 && (dyn[1].len == 0 || dyn[1].len > flen))
		return SW_WRONG_DATA;
	if (has85 && (dyn[3].len != 1 + 2 * flen || dyn[3].val[0] != 0x04))
		return SW_WRONG_DATA;
	if (!pin_policy_satisfied(c, k))
		return SW_SECURITY;
	if (has81)
		r = vpiv_ec_sign(k->pkey, dyn[1].val, dyn[1].len, res,
		    sizeof(res), &rlen);
	else
		r = vpiv_ec_derive(k->pkey, k->alg, dyn[3].val, dyn[3].len, res,
		    sizeof(res), &rlen);
	if (r != PIV_OK)
		return has85 && r != PIV_ERR_MEM ? SW_WRONG_DATA : SW_UNKNOWN;
	tlv_put_hdr(out, 0x7c, tlv_hdr_size(0x82, rlen) + rlen);
	tlv_put(out, 0x82, res, rlen);
	OPENSSL_cleanse(res, sizeof(res));
	return SW_OK;
}

static uint16_t
cmd_gen_auth(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	static const uint32_t allowed[] = { 0x80, 0x81, 0x82, 0x85 };
	struct tlv dyn, parts[4];
	uint32_t present;

	memset(parts, 0, sizeof(parts));
	/* Dynamic authentication template, SP 800-73-4 part 2 table 7. */
	if (tlv_expect_one(a->data, a->lc, 0x7c, &dyn) != TLV_OK ||
	    tlv_collect(dyn.val, dyn.len, allowed, 4, parts, &present) !=
	    TLV_OK || present == 0)
		return SW_WRONG_DATA;
	if (a->p2 == REF_MGM) {
		if ((present & 8) != 0)
			return SW_WRONG_DATA;
		return gen_auth_mgm(c, a, parts, present, out);
	}
	return gen_auth_key(c, a, parts, present, out);
}

/* Optional PIN (AA) and touch (AB) policy elements. */
static uint16_t
parse_policies(const struct tlv *pin, const struct tlv *touch,
    uint8_t *pin_policy, uint8_t *touch_policy)
{
	*pin_policy = PIN_POLICY_DEFAULT;
	*touch_policy = TOUCH_POLICY_DEFAULT;
	if (pin != NULL) {
		if (pin->len != 1 || pin->val[0] > PIN_POLICY_ALWAYS)
			return SW_WRONG_DATA;
		*pin_policy = pin->val[0];
	}
	if (touch != NULL) {
		if (touch->len != 1 || touch->val[0] > TOUCH_POLICY_CACHED)
			return SW_WRONG_DATA;
		*touch_policy = touch->val[0];
	}
	return SW_OK;
}

static uint16_t
cmd_generate(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	static const uint32_t allowed[] = { 0x80, 0xaa, 0xab };
	struct tlv tmpl, parts[3];
	uint8_t point[1 + 2 * 48], pinp, touchp, alg;
	size_t plen = 0;
	uint32_t present;
	EVP_PKEY *pk = NULL;
	uint16_t sw;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (slot_index(a->p2) < 0 || a->p2 == SLOT_ATTEST)
		return SW_WRONG_SLOT;
	if (!c->mgm_ok)
		return SW_SECURITY;
	/* Control reference template, SP 800-73-4 part 2 table 10. */
	if (tlv_expect_one(a->data, a->lc, 0xac, &tmpl) != TLV_OK ||
	    tlv_collect(tmpl.val, tmpl.len, allowed, 3, parts, &present) !=
	    TLV_OK || (present & 1) == 0 || parts[0].len != 1)
		return SW_WRONG_DATA;
	if ((sw = parse_policies((present & 2) ? &parts[1] : NULL,
	    (present & 4) ? &parts[2] : NULL, &pinp, &touchp)) != SW_OK)
		return sw;
	alg = parts[0].val[0];
	if (vpiv_ec_field_len(alg) == 0)
		return SW_WRONG_DATA;	/* RSA and unknown algorithms */
	if (vpiv_ec_generate(alg, &pk) != PIV_OK ||
	    vpiv_ec_point(pk, point, sizeof(point), &plen) != PIV_OK) {
		EVP_PKEY_free(pk);
		return SW_UNKNOWN;
	}
	key_set(c, a->p2, pk, alg, pinp, touchp, ORIGIN_GENERATED);
	tlv_put_hdr(out, 0x7f49, tlv_hdr_size(0x86, plen) + plen);
	tlv_put(out, 0x86, point, plen);
	return SW_OK;
}

static uint16_t
cmd_import(struct piv_card *c, const struct apdu *a)
{
	static const uint32_t allowed[] = { 0x06, 0xaa, 0xab };
	struct tlv parts[3];
	uint8_t pinp, touchp;
	uint32_t present;
	EVP_PKEY *pk = NULL;
	uint16_t sw;
	int r;

	if (slot_index(a->p2) < 0)
		return SW_WRONG_SLOT;
	if (vpiv_ec_field_len(a->p1) == 0)
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	if (tlv_collect(a->data, a->lc, allowed, 3, parts, &present) !=
	    TLV_OK || (present & 1) == 0 ||
	    parts[0].len != vpiv_ec_field_len(a->p1))
		return SW_WRONG_DATA;
	if ((sw = parse_policies((present & 2) ? &parts[1] : NULL,
	    (present & 4) ? &parts[2] : NULL, &pinp, &touchp)) != SW_OK)
		return sw;
	if ((r = vpiv_ec_from_scalar(a->p1, parts[0].val, parts[0].len, &pk)) !=
	    PIV_OK)
		return r == PIV_ERR_ARG ? SW_WRONG_DATA : SW_UNKNOWN;
	key_set(c, a->p2, pk, a->p1, pinp, touchp, ORIGIN_IMPORTED);
	return SW_OK;
}

static uint16_t
cmd_attest(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	const struct piv_key *k;
	uint8_t *der = NULL;
	size_t len = 0;
	int idx = slot_index(a->p1);

	if (idx < 0 || a->p1 == SLOT_ATTEST || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	k = &c->keys[idx];
	if (k->pkey == NULL)
		return SW_REF_NOT_FOUND;
	/* Only keys generated on the card can be attested. */
	if (k->origin != ORIGIN_GENERATED)
		return SW_WRONG_DATA;
	if (c->keys[slot_index(SLOT_ATTEST)].pkey == NULL ||
	    c->objs[obj_index(OBJ_YK_ATTEST)].len == 0)
		return SW_REF_NOT_FOUND;
	if (make_attestation(c, a->p1, &der, &len) != PIV_OK)
		return SW_UNKNOWN;
	tlv_put_raw(out, der, len);
	OPENSSL_free(der);
	return SW_OK;
}

static uint16_t
cmd_metadata(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	uint8_t v[2], point[1 + 2 * 48];
	size_t plen = 0;
	const struct piv_key *k;
	int idx;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 == REF_PIN || a->p2 == REF_PUK) {
		const uint8_t *cur = a->p2 == REF_PIN ? c->pin : c->puk;
		const uint8_t *def = a->p2 == REF_PIN ? default_pin :
		    default_puk;

		v[0] = 0xff;
		tlv_put(out, 0x01, v, 1);
		v[0] = CRYPTO_memcmp(cur, def, PIN_LEN) == 0;
		tlv_put(out, 0x05, v, 1);
		v[0] = a->p2 == REF_PIN ? c->pin_max : c->puk_max;
		v[1] = a->p2 == REF_PIN ? c->pin_left : c->puk_left;
		tlv_put(out, 0x06, v, 2);
		return SW_OK;
	}
	if (a->p2 == REF_MGM) {
		tlv_put(out, 0x01, &c->mgm_alg, 1);
		v[0] = PIN_POLICY_NEVER;
		v[1] = TOUCH_POLICY_NEVER;
		tlv_put(out, 0x02, v, 2);
		v[0] = c->mgm_alg == ALG_3DES &&
		    c->mgm_len == sizeof(default_mgm) &&
		    CRYPTO_memcmp(c->mgm_key, default_mgm, c->mgm_len) == 0;
		tlv_put(out, 0x05, v, 1);
		return SW_OK;
	}
	if ((idx = slot_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	k = &c->keys[idx];
	if (k->pkey == NULL)
		return SW_REF_NOT_FOUND;
	if (vpiv_ec_point(k->pkey, point, sizeof(point), &plen) != PIV_OK)
		return SW_UNKNOWN;
	tlv_put(out, 0x01, &k->alg, 1);
	v[0] = k->pin_policy;
	v[1] = k->touch_policy;
	tlv_put(out, 0x02, v, 2);
	tlv_put(out, 0x03, &k->origin, 1);
	tlv_put_hdr(out, 0x04, tlv_hdr_size(0x86, plen) + plen);
	tlv_put(out, 0x86, point, plen);
	return SW_OK;
}

static uint16_t
cmd_set_mgm(struct piv_card *c, const struct apdu *a)
{
	const EVP_CIPHER *cipher;
	size_t keylen, bs;

	if (a->p1 != 0xff || (a->p2 != 0xff && a->p2 != 0xfe))
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	if (a->lc < 3 || a->data[1] != REF_MGM ||
	    (cipher = vpiv_sym_cipher(a->data[0], &keylen, &bs)) == NULL ||
	    a->data[2] != keylen || a->lc != 3 + keylen)
		return SW_WRONG_DATA;
	OPENSSL_cleanse(c->mgm_key, sizeof(c->mgm_key));
	memcpy(c->mgm_key, a->data + 3, keylen);
	c->mgm_alg = a->data[0];
	c->mgm_len = keylen;
	c->dirty = 1;
	return SW_OK;
}

static uint16_t
cmd_pin_retries(struct piv_card *c, const struct apdu *a)
{
	if (!c->mgm_ok || !c->pin_ok)
		return SW_SECURITY;
	if (a->p1 == 0 || a->p2 == 0)
		return SW_WRONG_P1P2;
	memcpy(c->pin, default_pin, PIN_LEN);
	memcpy(c->puk, default_puk, PIN_LEN);
	c->pin_max = c->pin_left = a->p1;
	c->puk_max = c->puk_left = a->p2;
	c->dirty = 1;
	return SW_OK;
}

static uint16_t
cmd_reset(struct piv_card *c, const struct apdu *a)
{
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (c->pin_left != 0 || c->puk_left != 0)
		return SW_CONDITIONS;
	if (factory_reset(c) != PIV_OK)
		return SW_UNKNOWN;
	piv_card_reset_session(c);
	c->selected = 1;
	return SW_OK;
}

static uint16_t
dispatch(struct piv_card *c, const struct apdu *a, struct tlv_buf *out)
{
	uint8_t v[4];

	if (a->ins == INS_SELECT)
		return cmd_select(c, a, out);
	if (!c->selected)
		return SW_INS;
	switch (a->ins) {
	case INS_GET_DATA:
		return cmd_get_data(c, a, out);
	case INS_PUT_DATA:
		return cmd_put_data(c, a);
	case INS_VERIFY:
		return cmd_verify(c, a);
	case INS_CHANGE_REF:
		return cmd_change_ref(c, a, 0);
	case INS_RESET_RETRY:
		return cmd_change_ref(c, a, 1);
	case INS_GEN_AUTH:
		return cmd_gen_auth(c, a, out);
	case INS_GENERATE:
		return cmd_generate(c, a, out);
	case INS_YK_IMPORT:
		return cmd_import(c, a);
	case INS_YK_ATTEST:
		return cmd_attest(c, a, out);
	case INS_YK_METADATA:
		return cmd_metadata(c, a, out);
	case INS_YK_SET_MGM:
		return cmd_set_mgm(c, a);
	case INS_YK_PIN_RETRIES:
		return cmd_pin_retries(c, a);
	case INS_YK_RESET:
		return cmd_reset(c, a);
	case INS_YK_VERSION:
		tlv_put_raw(out, c->version, 3);
		return SW_OK;
	case INS_YK_SERIAL:
		v[0] = (uint8_t)(c->serial >> 24);
		v[1] = (uint8_t)(c->serial >> 16);
		v[2] = (uint8_t)(c->serial >> 8);
		v[3] = (uint8_t)c->serial;
		tlv_put_raw(out, v, 4);
		return SW_OK;
	default:
		return SW_INS;
	}
}

/* ------------------------------------------------------------------ */
/* APDU layer: cases 1-4 short/extended, chaining, GET RESPONSE */

static uint16_t
parse_apdu(const uint8_t *b, size_t n, struct apdu *a)
{
	size_t lc;

	memset(a, 0, sizeof(*a));
	if (n < 4)
		return SW_WRONG_LENGTH;
	a->cla = b[0];
	a->ins = b[1];
	a->p1 = b[2];
	a->p2 = b[3];
	/*
	 * Without Le we still answer with data (up to 256 bytes, or 65536
	 * for extended commands): yubico-piv-tool never sends Le.
	 */
	if (n == 4) {					/* case 1 */
		a->ne = 256;
		return SW_OK;
	}
	if (n == 5) {					/* case 2S */
		a->ne = b[4] != 0 ? b[4] : 256;
		return SW_OK;
	}
	if (b[4] != 0) {
		lc = b[4];
		if (n == 5 + lc)			/* case 3S */
			a->ne = 256;
		else if (n == 6 + lc)			/* case 4S */
			a->ne = b[5 + lc] != 0 ? b[5 + lc] : 256;
		else
			return SW_WRONG_LENGTH;
		a->data = b + 5;
		a->lc = lc;
		return SW_OK;
	}
	if (n < 7)
		return SW_WRONG_LENGTH;
	if (n == 7) {					/* case 2E */
		a->ne = ((size_t)b[5] << 8) | b[6];
		if (a->ne == 0)
			a->ne = 65536;
		return SW_OK;
	}
	lc = ((size_t)b[5] << 8) | b[6];
	if (lc == 0)
		return SW_WRONG_LENGTH;
	if (n == 7 + lc) {				/* case 3E */
		a->ne = 65536;
	} else if (n == 9 + lc) {			/* case 4E */
		a->ne = ((size_t)b[7 + lc] << 8) | b[8 + lc];
		if (a->ne == 0)
			a->ne = 65536;
	} else {
		return SW_WRONG_LENGTH;
	}
	a->data = b + 7;
	a->lc = lc;
	return SW_OK;
}

static void
chain_abort(struct piv_card *c)
{
	OPENSSL_cleanse(c->chain, c->chain_len);
	c->chain_len = 0;
	c->chaining = 0;
}

static void
resp_discard(struct piv_card *c)
{
	OPENSSL_cleanse(c->resp, c->resp_len);
	c->resp_len = c->resp_off = 0;
}

int
piv_card_transmit(struct piv_card *c, const uint8_t *cmd, size_t cmd_len,
    uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
	struct apdu a;
	struct tlv_buf out;
	size_t n, left;
	uint16_t sw;

	if (c == NULL || cmd == NULL || rsp == NULL || rsp_len == NULL ||
	    rsp_cap < 2)
		return PIV_ERR_ARG;
	n = 0;
	if ((sw = parse_apdu(cmd, cmd_len, &a)) != SW_OK) {
		chain_abort(c);
		resp_discard(c);
		goto status;
	}
	/* Interindustry class, no secure messaging; bit 0x10 = chaining. */
	if ((a.cla & ~0x10) != 0) {
		sw = SW_CLA;
		goto status;
	}
	if (a.ins == INS_GET_RESPONSE) {
		if (c->chaining)
			chain_abort(c);
		if (a.p1 != 0 || a.p2 != 0)
			sw = SW_WRONG_P1P2;
		else if (c->resp_off >= c->resp_len)
			sw = SW_CONDITIONS;
		else
			goto deliver;
		goto status;
	}
	resp_discard(c);

	if (c->chaining && (a.ins != c->chain_ins || a.p1 != c->chain_p1 ||
	    a.p2 != c->chain_p2)) {
		chain_abort(c);
		sw = SW_LAST_OF_CHAIN;
		goto status;
	}
	if ((a.cla & 0x10) != 0 || c->chaining) {
		if (!c->chaining) {
			c->chaining = 1;
			c->chain_ins = a.ins;
			c->chain_p1 = a.p1;
			c->chain_p2 = a.p2;
			c->chain_len = 0;
		}
		if (a.lc > sizeof(c->chain) - c->chain_len) {
			chain_abort(c);
			sw = SW_WRONG_LENGTH;
			goto status;
		}
		if (a.lc > 0)
			memcpy(c->chain + c->chain_len, a.data, a.lc);
		c->chain_len += a.lc;
		if ((a.cla & 0x10) != 0) {
			sw = SW_OK;
			goto status;
		}
		a.data = c->chain;
		a.lc = c->chain_len;
	}

	tlv_buf_init(&out, c->resp, sizeof(c->resp));
	sw = dispatch(c, &a, &out);
	if (c->chaining)
		chain_abort(c);
	if (tlv_buf_error(&out) != TLV_OK)
		sw = SW_UNKNOWN;
	c->resp_len = out.len;
	c->resp_off = 0;
	if (sw != SW_OK || c->resp_len == 0) {
		resp_discard(c);
		goto status;
	}
 deliver:
	left = c->resp_len - c->resp_off;
	n = left;
	if (n > a.ne)
		n = a.ne;
	if (n > rsp_cap - 2)
		n = rsp_cap - 2;
	memcpy(rsp, c->resp + c->resp_off, n);
	c->resp_off += n;
	left -= n;
	if (left > 0) {
		sw = (uint16_t)SW_MORE(left > 0xff ? 0 : left);
	} else {
		resp_discard(c);
		sw = SW_OK;
	}
 status:
	rsp[n] = (uint8_t)(sw >> 8);
	rsp[n + 1] = (uint8_t)sw;
	*rsp_len = n + 2;
	return PIV_OK;
}

/* ------------------------------------------------------------------ */
/* Persistent state: a flat list of private-class BER-TLVs. */

#define ST_FORMAT	0xc0	/* 1 byte: 1 */
#define ST_SERIAL	0xc1	/* 4 bytes big-endian */
#define ST_PIN		0xc3	/* 8 bytes padded */
#define ST_PIN_TRIES	0xc4	/* max, left */
#define ST_PUK		0xc5
#define ST_PUK_TRIES	0xc6
#define ST_MGM		0xc7	/* alg || key */
#define ST_ROOT		0xd0	/* root CA certificate, DER */
/* ST_KEY: { C8 slot, C9 alg, CA pin policy, CB touch, CC origin, CD DER } */
#define ST_KEY		0xe1
#define ST_OBJ		0xe2	/* { CE tag CF value } */
#define ST_FORMAT_V1	1

static int
state_put_key(struct tlv_buf *b, uint8_t slot, const struct piv_key *k)
{
	unsigned char *der = NULL;
	uint8_t hdr[15];
	struct tlv_buf h;
	int n;

	if ((n = i2d_PrivateKey(k->pkey, &der)) <= 0)
		return PIV_ERR_CRYPTO;
	tlv_buf_init(&h, hdr, sizeof(hdr));
	tlv_put(&h, 0xc8, &slot, 1);
	tlv_put(&h, 0xc9, &k->alg, 1);
	tlv_put(&h, 0xca, &k->pin_policy, 1);
	tlv_put(&h, 0xcb, &k->touch_policy, 1);
	tlv_put(&h, 0xcc, &k->origin, 1);
	tlv_put_hdr(b, ST_KEY, h.len + tlv_hdr_size(0xcd, (size_t)n) +
	    (size_t)n);
	tlv_put_raw(b, hdr, h.len);
	tlv_put(b, 0xcd, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return tlv_buf_error(&h) == TLV_OK ? PIV_OK : PIV_ERR_ARG;
}

static int
state_serialize(struct piv_card *c, uint8_t **out, size_t *out_len)
{
	static const uint8_t slots[] = {
		0x9a, 0x9c, 0x9d, 0x9e, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
		0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91,
		0x92, 0x93, 0x94, 0x95, SLOT_ATTEST
	};
	struct tlv_buf b;
	uint8_t v[1 + MGM_MAX], tag[3], *buf;
	size_t cap, i, tlen;
	uint32_t t;
	int r;

	cap = 512 + NSLOTS * 512 + NOBJ * (OBJ_MAX + 16) + c->root_len;
	if ((buf = malloc(cap)) == NULL)
		return PIV_ERR_MEM;
	tlv_buf_init(&b, buf, cap);
	v[0] = ST_FORMAT_V1;
	tlv_put(&b, ST_FORMAT, v, 1);
	v[0] = (uint8_t)(c->serial >> 24);
	v[1] = (uint8_t)(c->serial >> 16);
	v[2] = (uint8_t)(c->serial >> 8);
	v[3] = (uint8_t)c->serial;
	tlv_put(&b, ST_SERIAL, v, 4);
	tlv_put(&b, ST_PIN, c->pin, PIN_LEN);
	v[0] = c->pin_max;
	v[1] = c->pin_left;
	tlv_put(&b, ST_PIN_TRIES, v, 2);
	tlv_put(&b, ST_PUK, c->puk, PIN_LEN);
	v[0] = c->puk_max;
	v[1] = c->puk_left;
	tlv_put(&b, ST_PUK_TRIES, v, 2);
	v[0] = c->mgm_alg;
	memcpy(v + 1, c->mgm_key, c->mgm_len);
	tlv_put(&b, ST_MGM, v, 1 + c->mgm_len);
	OPENSSL_cleanse(v, sizeof(v));
	if (c->root_len > 0)
		tlv_put(&b, ST_ROOT, c->root_der, c->root_len);
	for (i = 0; i < sizeof(slots); i++) {
		const struct piv_key *k = &c->keys[slot_index(slots[i])];

		if (k->pkey != NULL &&
		    (r = state_put_key(&b, slots[i], k)) != PIV_OK)
			goto fail;
	}
	for (i = 0; i < NOBJ; i++) {
		if (c->objs[i].len == 0)
			continue;
		t = obj_tag(i);
		tag[0] = (uint8_t)(t >> 16);
		tag[1] = (uint8_t)(t >> 8);
		tag[2] = (uint8_t)t;
		tlen = tlv_hdr_size(0xce, 3) + 3 +
		    tlv_hdr_size(0xcf, c->objs[i].len) + c->objs[i].len;
		tlv_put_hdr(&b, ST_OBJ, tlen);
		tlv_put(&b, 0xce, tag, 3);
		tlv_put(&b, 0xcf, c->objs[i].data, c->objs[i].len);
	}
	if (tlv_buf_error(&b) != TLV_OK) {
		r = PIV_ERR_ARG;
		goto fail;
	}
	*out = buf;
	*out_len = b.len;
	return PIV_OK;
 fail:
	OPENSSL_cleanse(buf, cap);
	free(buf);
	return r;
}

static int
state_load_key(struct piv_card *c, const struct tlv *e)
{
	static const uint32_t allowed[] = {
		0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd
	};
	struct tlv f[6];
	uint32_t present;
	const unsigned char *p;
	EVP_PKEY *pk;
	uint8_t slot, alg;
	size_t i;
	int idx;

	if (tlv_collect(e->val, e->len, allowed, 6, f, &present) != TLV_OK ||
	    present != 0x3f)
		return PIV_ERR_STATE_FORMAT;
	for (i = 0; i < 5; i++)
		if (f[i].len != 1)
			return PIV_ERR_STATE_FORMAT;
	slot = f[0].val[0];
	alg = f[1].val[0];
	if ((idx = slot_index(slot)) < 0 || c->keys[idx].pkey != NULL ||
	    vpiv_ec_field_len(alg) == 0 ||
	    f[2].val[0] < PIN_POLICY_NEVER || f[2].val[0] > PIN_POLICY_ALWAYS ||
	    f[3].val[0] < TOUCH_POLICY_NEVER ||
	    f[3].val[0] > TOUCH_POLICY_CACHED ||
	    (f[4].val[0] != ORIGIN_GENERATED &&
	    f[4].val[0] != ORIGIN_IMPORTED) || f[5].len > 0x7fffffff)
		return PIV_ERR_STATE_FORMAT;
	p = f[5].val;
	if ((pk = d2i_AutoPrivateKey(NULL, &p, (long)f[5].len)) == NULL)
		return PIV_ERR_STATE_FORMAT;
	if (p != f[5].val + f[5].len || vpiv_ec_alg_of(pk) != alg) {
		EVP_PKEY_free(pk);
		return PIV_ERR_STATE_FORMAT;
	}
	key_set(c, slot, pk, alg, f[2].val[0], f[3].val[0], f[4].val[0]);
	return PIV_OK;
}

static int
state_load_obj(struct piv_card *c, const struct tlv *e)
{
	static const uint32_t allowed[] = { 0xce, 0xcf };
	struct tlv f[2];
	uint32_t present, tag = 0;
	size_t i;
	int idx;

	if (tlv_collect(e->val, e->len, allowed, 2, f, &present) != TLV_OK ||
	    present != 3 || f[0].len < 1 || f[0].len > 3 ||
	    f[1].len == 0 || f[1].len > OBJ_MAX)
		return PIV_ERR_STATE_FORMAT;
	for (i = 0; i < f[0].len; i++)
		tag = (tag << 8) | f[0].val[i];
	if ((idx = obj_index(tag)) < 0 || c->objs[idx].len != 0)
		return PIV_ERR_STATE_FORMAT;
	return obj_set(c, tag, f[1].val, f[1].len);
}

static int
tries_ok(const struct tlv *t)
{
	return t->len == 2 && t->val[0] != 0 && t->val[1] <= t->val[0];
}

static int
state_parse(struct piv_card *c, const uint8_t *buf, size_t len)
{
	struct tlv_cur cur;
	struct tlv e;
	const unsigned char *p;
	const EVP_CIPHER *cipher;
	size_t keylen, bs;
	X509 *x;
	uint32_t seen = 0, bit;
	int r;

	tlv_cur_init(&cur, buf, len);
	while ((r = tlv_next(&cur, &e)) == TLV_OK) {
		bit = e.tag >= 0xc0 && e.tag <= 0xd0 ? 1u << (e.tag - 0xc0) : 0;
		if (bit != 0 && (seen & bit) != 0)
			return PIV_ERR_STATE_FORMAT;
		seen |= bit;
		switch (e.tag) {
		case ST_FORMAT:
			if (e.len != 1 || e.val[0] != ST_FORMAT_V1)
				return PIV_ERR_STATE_FORMAT;
			break;
		case ST_SERIAL:
			if (e.len != 4)
				return PIV_ERR_STATE_FORMAT;
			c->serial = ((uint32_t)e.val[0] << 24) |
			    ((uint32_t)e.val[1] << 16) |
			    ((uint32_t)e.val[2] << 8) | e.val[3];
			break;
		case ST_PIN:
		case ST_PUK:
			if (e.len != PIN_LEN || !pin_format_ok(e.val))
				return PIV_ERR_STATE_FORMAT;
			memcpy(e.tag == ST_PIN ? c->pin : c->puk, e.val,
			    PIN_LEN);
			break;
		case ST_PIN_TRIES:
		case ST_PUK_TRIES:
			if (!tries_ok(&e))
				return PIV_ERR_STATE_FORMAT;
			if (e.tag == ST_PIN_TRIES) {
				c->pin_max = e.val[0];
				c->pin_left = e.val[1];
			} else {
				c->puk_max = e.val[0];
				c->puk_left = e.val[1];
			}
			break;
		case ST_MGM:
			if (e.len < 1 ||
			    (cipher = vpiv_sym_cipher(e.val[0], &keylen,
			    &bs)) == NULL || e.len != 1 + keylen)
				return PIV_ERR_STATE_FORMAT;
			c->mgm_alg = e.val[0];
			c->mgm_len = keylen;
			memcpy(c->mgm_key, e.val + 1, keylen);
			break;
		case ST_ROOT:
			p = e.val;
			if (e.len == 0 || e.len > 0x7fffffff ||
			    (x = d2i_X509(NULL, &p, (long)e.len)) == NULL)
				return PIV_ERR_STATE_FORMAT;
			X509_free(x);
			if ((c->root_der = OPENSSL_memdup(e.val, e.len)) ==
			    NULL)
				return PIV_ERR_MEM;
			c->root_len = e.len;
			break;
		case ST_KEY:
			if ((r = state_load_key(c, &e)) != PIV_OK)
				return r;
			break;
		case ST_OBJ:
			if ((r = state_load_obj(c, &e)) != PIV_OK)
				return r;
			break;
		default:
			return PIV_ERR_STATE_FORMAT;
		}
	}
	if (r != TLV_END)
		return PIV_ERR_STATE_FORMAT;
	/* format, serial, PIN, PIN tries, PUK, PUK tries, mgmt key */
	if ((seen & 0xfb) != 0xfb)
		return PIV_ERR_STATE_FORMAT;
	return PIV_OK;
}

static int
read_file(const char *path, uint8_t **out, size_t *out_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t off = 0, len;
	ssize_t n;
	int fd, r = PIV_ERR_IO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return PIV_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > STATE_MAX)
		goto out;
	len = (size_t)st.st_size;
	if ((buf = malloc(len)) == NULL) {
		r = PIV_ERR_MEM;
		goto out;
	}
	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	r = PIV_OK;
 out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, off);
		free(buf);
	}
	close(fd);
	return r;
}

int
piv_card_save(struct piv_card *c, const char *path)
{
	char tmp[4096];
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	ssize_t n;
	int fd = -1, r;

	if (c == NULL || path == NULL ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return PIV_ERR_ARG;
	if ((r = state_serialize(c, &buf, &len)) != PIV_OK)
		return r;
	r = PIV_ERR_IO;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		goto out;
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	c->dirty = 0;
	r = PIV_OK;
 out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	} else if (r != PIV_OK) {
		unlink(tmp);
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return r;
}

int
piv_card_dirty(const struct piv_card *c)
{
	return c != NULL && c->dirty;
}

int
piv_card_write_root(const struct piv_card *c, const char *path)
{
	const unsigned char *p;
	X509 *x = NULL;
	FILE *f = NULL;
	int r = PIV_ERR_IO;

	if (c == NULL || path == NULL || c->root_len == 0 ||
	    c->root_len > 0x7fffffff)
		return PIV_ERR_ARG;
	p = c->root_der;
	if ((x = d2i_X509(NULL, &p, (long)c->root_len)) == NULL)
		return PIV_ERR_CRYPTO;
	if ((f = fopen(path, "w")) == NULL)
		goto out;
	if (PEM_write_X509(f, x) != 1)
		goto out;
	r = PIV_OK;
 out:
	if (f != NULL && fclose(f) != 0)
		r = PIV_ERR_IO;
	X509_free(x);
	return r;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

static int
card_fresh(struct piv_card *c, const struct piv_card_config *cfg)
{
	int r;

	c->serial = cfg != NULL && cfg->serial_set ? cfg->serial : 12345678u;
	set_default_credentials(c);
	if ((r = make_chuid(c)) != PIV_OK || (r = make_ccc(c)) != PIV_OK ||
	    (r = make_attestation_identity(c, cfg)) != PIV_OK)
		return r;
	c->dirty = 1;
	return PIV_OK;
}

int
piv_card_new(struct piv_card **out, const struct piv_card_config *cfg,
    const char *state_path)
{
	static const uint8_t default_version[3] = { 5, 4, 3 };
	struct piv_card *c;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (out == NULL)
		return PIV_ERR_ARG;
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PIV_ERR_MEM;
	memcpy(c->version, cfg != NULL ? cfg->version : default_version, 3);
	if (state_path != NULL && access(state_path, F_OK) == 0) {
		if ((r = read_file(state_path, &buf, &len)) != PIV_OK)
			goto fail;
		r = state_parse(c, buf, len);
		OPENSSL_cleanse(buf, len);
		free(buf);
		if (r != PIV_OK)
			goto fail;
		c->dirty = 0;
		if (cfg != NULL && cfg->serial_set &&
		    cfg->serial != c->serial) {
			c->serial = cfg->serial;
			c->dirty = 1;
		}
	} else if ((r = card_fresh(c, cfg)) != PIV_OK) {
		goto fail;
	}
	*out = c;
	return PIV_OK;
 fail:
	piv_card_free(&c);
	return r;
}

void
piv_card_free(struct piv_card **cp)
{
	struct piv_card *c;
	size_t i;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (i = 0; i < NSLOTS; i++)
		key_clear(&c->keys[i]);
	OPENSSL_free(c->root_der);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	*cp = NULL;
}

const char *
piv_strerror(int r)
{
	switch (r) {
	case PIV_OK:
		return "success";
	case PIV_ERR_ARG:
		return "invalid argument";
	case PIV_ERR_MEM:
		return "out of memory";
	case PIV_ERR_CRYPTO:
		return "cryptographic operation failed";
	case PIV_ERR_IO:
		return "file input/output failed";
	case PIV_ERR_STATE_FORMAT:
		return "state file is malformed";
	case PIV_ERR_CA:
		return "cannot load the CA key and certificate (PEM, matching)";
	default:
		return "unknown error";
	}
}
