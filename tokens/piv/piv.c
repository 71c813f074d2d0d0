/*
 * The PIV backend (docs/piv.md): ob_token_ops over PC/SC.  A card is
 * chosen by reader-name substring and/or serial, never as "the first
 * card"; every operation is one short transaction that starts with
 * SELECT, and a card reset by another program is reconnected and the
 * operation retried once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hex.h"
#include "tokens/piv/piv_int.h"
#include "tokens/token.h"

#define MGM_KEY_MAX	32
#define LIST_MAX	512

/* The factory 3DES management key; used only when asked for by name. */
static const uint8_t default_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

struct piv_be {
	struct piv_uri			 uri;
	struct piv_conn			 conn;
	const struct ob_pin_source	*pin;	/* borrowed, or own_pin */
	struct ob_pin_source		*own_pin;
	EVP_PKEY			*pub;
	enum ob_alg			 alg;
	uint8_t				 card_alg;
	uint8_t				 origin;
	uint32_t			 serial;
	int				 have_serial;
	int				 quiet;
};

typedef int (*piv_fn)(struct piv_be *, void *);

static void
be_free(struct piv_be *be)
{
	if (be == NULL)
		return;
	piv_conn_close(&be->conn);
	piv_uri_free(&be->uri);
	ob_pin_source_free(&be->own_pin);
	EVP_PKEY_free(be->pub);
	free(be);
}

/* One transaction: SELECT, then fn; after a reset by another program,
 * reconnect and run it once more. */
static int
piv_run(struct piv_be *be, piv_fn fn, void *arg)
{
	int r, attempt;

	for (attempt = 0;; attempt++) {
		be->conn.reset_seen = 0;
		if ((r = piv_tx_begin(&be->conn)) == OB_OK) {
			if ((r = piv_select(&be->conn)) == OB_OK)
				r = fn(be, arg);
			piv_tx_end(&be->conn);
		}
		if (r == OB_OK || !be->conn.reset_seen || attempt > 0)
			return r;
		if ((r = piv_reconnect(&be->conn)) != OB_OK)
			return r;
	}
}

static void
list_add(char *list, const char *reader, int have_serial, uint32_t serial)
{
	size_t n = strlen(list);

	if (n >= LIST_MAX - 1)
		return;
	if (have_serial)
		snprintf(list + n, LIST_MAX - n, "%s\"%s\" (serial %lu)",
		    n > 0 ? ", " : "", reader, (unsigned long)serial);
	else
		snprintf(list + n, LIST_MAX - n, "%s\"%s\"", n > 0 ? ", " : "",
		    reader);
}

/* Probe one reader: card present, PIV application, serial. */
static int
probe(struct piv_conn *c, const char *reader, uint32_t *serial,
    int *have_serial)
{
	int r;

	*have_serial = 0;
	if ((r = piv_connect(c, reader)) != OB_OK)
		return r;
	if ((r = piv_tx_begin(c)) != OB_OK)
		return r;
	if ((r = piv_select(c)) == OB_OK) {
		if (piv_get_serial(c, serial) == OB_OK)
			*have_serial = 1;
		ob_err_clear();
	}
	piv_tx_end(c);
	return r;
}

/* Find the one card the URI names and leave be->conn connected to it. */
static int
piv_find(struct piv_be *be)
{
	struct piv_conn	 probe_c;
	char		*names = NULL, *name, all[LIST_MAX], found[LIST_MAX];
	char		 empty[LIST_MAX], chosen[PIV_READER_MAX + 1];
	size_t		 len = 0;
	uint32_t	 serial = 0;
	int		 r, have_serial, nmatch = 0, ncand = 0;

	all[0] = found[0] = empty[0] = chosen[0] = '\0';
	if ((r = piv_ctx_open(&be->conn)) != OB_OK)
		return r;
	if ((r = piv_list_readers(&be->conn, &names, &len)) != OB_OK)
		return r;
	for (name = names; name < names + len && *name != '\0';
	    name += strlen(name) + 1) {
		list_add(all, name, 0, 0);
		if (be->uri.reader != NULL && strstr(name, be->uri.reader) ==
		    NULL)
			continue;
		nmatch++;
		memset(&probe_c, 0, sizeof(probe_c));
		probe_c.ctx = be->conn.ctx;
		r = probe(&probe_c, name, &serial, &have_serial);
		piv_disconnect(&probe_c);
		if (r != OB_OK) {
			/* Empty, no PIV application, or held by another. */
			list_add(empty, name, 0, 0);
			if (r != OB_ERR_DEVICE_MISSING)
				list_add(empty, ob_err_name(r), 0, 0);
			continue;
		}
		if (be->uri.have_serial && (!have_serial ||
		    serial != be->uri.serial)) {
			list_add(found, name, have_serial, serial);
			continue;
		}
		list_add(found, name, have_serial, serial);
		if (ncand++ == 0) {
			snprintf(chosen, sizeof(chosen), "%s", name);
			be->serial = serial;
			be->have_serial = have_serial;
		}
	}
	ob_err_clear();
	if (nmatch == 0)
		r = ob_errf(OB_ERR_NO_READER, "no reader name contains \"%s\" "
		    "(readers: %s)", be->uri.reader, all);
	else if (ncand > 1)
		r = ob_errf(OB_ERR_KEY_AMBIGUOUS, "%d PIV cards match: %s; add "
		    "serial= or a longer reader=", ncand, found);
	else if (ncand == 0 && be->uri.have_serial)
		r = ob_errf(OB_ERR_DEVICE_MISSING, "no PIV card with serial %lu "
		    "(cards: %s)", (unsigned long)be->uri.serial,
		    found[0] != '\0' ? found : "none");
	else if (ncand == 0)
		r = ob_errf(OB_ERR_DEVICE_MISSING, "no PIV card in %s",
		    empty[0] != '\0' ? empty : all);
	else
		r = piv_connect(&be->conn, chosen);
	free(names);
	return r;
}

static int
op_load(struct piv_be *be, void *arg)
{
	EVP_PKEY	*pub = NULL;
	enum ob_keykind	 kind;
	int		 r;

	(void)arg;
	if ((r = piv_slot_pubkey(&be->conn, be->uri.slot, &pub,
	    &be->origin)) != OB_OK)
		return r;
	if ((r = ob_key_kind(pub, &kind)) != OB_OK || (kind != OB_KEY_P256 &&
	    kind != OB_KEY_P384)) {
		EVP_PKEY_free(pub);
		return ob_errf(OB_ERR_KEY_TYPE, "slot %02x: ownerbind signs with "
		    "ECC P-256 or P-384 PIV keys", be->uri.slot);
	}
	be->alg = kind == OB_KEY_P256 ? OB_ALG_ES256 : OB_ALG_ES384;
	be->card_alg = kind == OB_KEY_P256 ? PIV_ALG_P256 : PIV_ALG_P384;
	EVP_PKEY_free(be->pub);
	be->pub = pub;
	return OB_OK;
}

static int
be_new(const char *uri, const struct ob_token_opts *opts, struct piv_be **out)
{
	struct piv_be	*be;
	int		 r;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return OB_ERR_ALLOC;
	if ((r = piv_uri_parse(uri, &be->uri)) != OB_OK)
		goto out;
	if (be->uri.pin_source != NULL) {
		if ((r = ob_pin_source_parse(be->uri.pin_source,
		    &be->own_pin)) != OB_OK)
			goto out;
		be->pin = be->own_pin;
	} else if (opts != NULL)
		be->pin = opts->pin;
	be->quiet = opts != NULL && opts->quiet;
	if ((r = piv_find(be)) != OB_OK)
		goto out;
	*out = be;
	be = NULL;
out:
	be_free(be);
	return r;
}

static int
piv_open(const char *uri, const struct ob_token_opts *opts, void **bep)
{
	struct piv_be	*be = NULL;
	int		 r;

	if ((r = be_new(uri, opts, &be)) != OB_OK)
		return r;
	if ((r = piv_run(be, op_load, NULL)) != OB_OK) {
		be_free(be);
		return r;
	}
	*bep = be;
	return OB_OK;
}

static int
piv_pubkey(void *v, EVP_PKEY **out)
{
	struct piv_be *be = v;

	if (EVP_PKEY_up_ref(be->pub) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_PKEY_up_ref");
	*out = be->pub;
	return OB_OK;
}

static int
piv_alg(void *v, enum ob_alg *out)
{
	struct piv_be *be = v;

	*out = be->alg;
	return OB_OK;
}

/* ---- signing ---- */

struct sign_arg {
	const uint8_t	*dgst;
	size_t		 dlen;
	const char	*pin;		/* NULL: no VERIFY */
	unsigned char	*der;
	size_t		 derlen;
};

static int
op_pin_status(struct piv_be *be, void *arg)
{
	int left, r;

	(void)arg;
	r = piv_pin_status(&be->conn, &left);
	/* Not verified yet, tries left: fine, the PIN will be asked for. */
	if (r == OB_ERR_PIN_INCORRECT) {
		ob_err_clear();
		return OB_OK;
	}
	return r;
}

static int
op_sign(struct piv_be *be, void *v)
{
	struct sign_arg	*a = v;
	int		 r;

	if (a->pin != NULL && (r = piv_verify_pin(&be->conn, a->pin)) != OB_OK)
		return r;
	r = piv_sign_digest(&be->conn, be->card_alg, be->uri.slot, a->dgst,
	    a->dlen, &a->der, &a->derlen);
	if (a->pin != NULL)
		piv_pin_logout(&be->conn);
	return r;
}

/* Request fields shown in a prompt: printable ASCII only, bounded. */
static void
safe_copy(char *dst, size_t cap, const char *src)
{
	size_t i;

	if (src == NULL)
		src = "?";
	for (i = 0; i + 1 < cap && src[i] != '\0'; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static int
read_pin(struct piv_be *be, const struct ob_sign_req *req, char **pin)
{
	struct ob_pin_source	*def = NULL;
	const struct ob_pin_source *src = be->pin;
	char			 prompt[640], sub[160], aud[160], role[16];
	int			 r;

	if (req != NULL && req->what != NULL && req->what->sub != NULL) {
		safe_copy(sub, sizeof(sub), req->what->sub);
		safe_copy(aud, sizeof(aud), req->what->aud);
		safe_copy(role, sizeof(role), req->what->role);
		snprintf(prompt, sizeof(prompt), "PIV PIN (slot %02x, %s) to "
		    "approve %s as %s for %s: ", be->uri.slot, be->conn.reader,
		    sub, role, aud);
	} else
		snprintf(prompt, sizeof(prompt), "PIV PIN (slot %02x, %s): ",
		    be->uri.slot, be->conn.reader);
	if (src == NULL) {
		if ((r = ob_pin_source_parse(NULL, &def)) != OB_OK)
			return r;
		src = def;
	}
	r = ob_pin_read(src, prompt, pin);
	ob_pin_source_free(&def);
	return r;
}

static int
piv_sign(void *v, const struct ob_sign_req *req, struct ob_sign_res *res)
{
	struct piv_be	*be = v;
	struct sign_arg	 a;
	const EVP_MD	*md;
	uint8_t		 dgst[EVP_MAX_MD_SIZE];
	unsigned int	 dlen = 0;
	char		*pin = NULL;
	int		 r, need_pin;

	memset(&a, 0, sizeof(a));
	res->header = NULL;
	if (req->alg != be->alg || (md = ob_alg_md(req->alg)) == NULL)
		return ob_errf(OB_ERR_ALG_MISMATCH, "slot %02x signs %s",
		    be->uri.slot, ob_alg_name(be->alg));
	if (EVP_Digest(req->tbs, req->tbslen, dgst, &dlen, md, NULL) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_Digest");
	a.dgst = dgst;
	a.dlen = dlen;
	/* 9e (card authentication) needs no PIN by default. */
	need_pin = be->uri.slot != 0x9e;
	for (;;) {
		if (need_pin) {
			/* Blocked PINs are reported before a PIN is read. */
			OB_TRY(piv_run(be, op_pin_status, NULL));
			OB_TRY(read_pin(be, req, &pin));
			a.pin = pin;
		}
		r = piv_run(be, op_sign, &a);
		if (r == OB_ERR_SECURITY_STATUS && !need_pin) {
			need_pin = 1;
			continue;
		}
		break;
	}
	if (r != OB_OK)
		goto out;
	r = ob_ecdsa_der_to_rs(a.der, a.derlen, piv_ec_flen(be->card_alg),
	    &res->sig, &res->siglen);
	if (r != OB_OK)
		r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "the card's signature is not "
		    "a DER ECDSA signature of this curve");
out:
	ob_pin_free(&pin);
	free(a.der);
	OPENSSL_cleanse(dgst, sizeof(dgst));
	return r;
}

/* ---- key generation ---- */

static int
hex_key(const char *s, uint8_t *out, size_t *outlen)
{
	size_t	n = strlen(s), i;
	int	hi, lo;

	if (n % 2 != 0 || n / 2 > MGM_KEY_MAX)
		return ob_errf(OB_ERR_KEY_LOAD, "a management key is 32, 48 or "
		    "64 hexadecimal digits");
	for (i = 0; i < n / 2; i++) {
		if ((hi = ob_hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = ob_hexval((unsigned char)s[2 * i + 1])) < 0)
			return ob_errf(OB_ERR_KEY_LOAD, "the management key is "
			    "not hexadecimal");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	if (*outlen != 16 && *outlen != 24 && *outlen != 32)
		return ob_errf(OB_ERR_KEY_LOAD, "a management key has 16, 24 or "
		    "32 bytes");
	return OB_OK;
}

/* The management key, from its source (never argv). */
static int
read_mgm(const struct piv_uri *u, uint8_t *key, size_t *keylen, int *is_def)
{
	struct ob_pin_source	*src = NULL;
	const char		*spec = u->mgm_source;
	char			*s = NULL;
	int			 r;

	*is_def = 0;
	if (spec == NULL)
		spec = getenv("OWNERBIND_PIV_MGMT_KEY_SOURCE");
	if (spec == NULL || *spec == '\0')
		return ob_errf(OB_ERR_PIN_SOURCE, "generating a PIV key needs "
		    "the management key: add mgmt-key-source=file:PATH|fd:N|"
		    "env:VAR to the URI (or =default for the factory key)");
	if (strcmp(spec, "default") == 0) {
		memcpy(key, default_mgm, sizeof(default_mgm));
		*keylen = sizeof(default_mgm);
		*is_def = 1;
		return OB_OK;
	}
	if ((r = ob_pin_source_parse(spec, &src)) != OB_OK)
		return r;
	if ((r = ob_pin_read(src, "PIV management key (hex): ", &s)) == OB_OK)
		r = hex_key(s, key, keylen);
	ob_pin_free(&s);
	ob_pin_source_free(&src);
	return r;
}

struct gen_arg {
	uint8_t		 alg;
	const uint8_t	*key;
	size_t		 keylen;
	int		 is_default;
	const char	*pin;		/* NULL: no certificate (slot 9e) */
	EVP_PKEY	*pub;
};

/*
 * A self-signed certificate for the new key, signed on the card, so that
 * other PIV software (OpenSC, the card vendor's tools) sees the key.  The
 * TBSCertificate is built by OpenSSL (its signature AlgorithmIdentifier
 * set by signing once with a throwaway key), signed by the card, and the
 * Certificate assembled around it (RFC 5280 4.1), then verified.
 */
static int
slot_cert(struct piv_be *be, uint8_t alg, EVP_PKEY *pub, const char *pin,
    unsigned char **out, size_t *outlen)
{
	const X509_ALGOR	*palg;
	const ASN1_BIT_STRING	*psig;
	const EVP_MD		*md = alg == PIV_ALG_P384 ? EVP_sha384() :
				    EVP_sha256();
	EVP_PKEY		*tmp = NULL;
	X509			*x = NULL, *chk = NULL;
	X509_NAME		*name = NULL;
	unsigned char		*tbs = NULL, *algder = NULL, *sig = NULL;
	unsigned char		*cert = NULL, dgst[EVP_MAX_MD_SIZE];
	const unsigned char	*p;
	struct ob_rd		 snr;
	struct ob_wr		 body, whole;
	uint64_t		 serial;
	uint8_t			 sn[8];
	char			 cn[64];
	size_t			 siglen = 0, n = 0;
	unsigned int		 dlen = 0;
	int			 tbslen, alglen, r = OB_ERR_CRYPTO;

	ob_wr_init_heap(&body, 64 * 1024);
	ob_wr_init_heap(&whole, 64 * 1024);
	snprintf(cn, sizeof(cn), "ownerbind PIV slot %02x", be->uri.slot);
	if (RAND_bytes(sn, sizeof(sn)) != 1)
		return ob_errf(OB_ERR_RANDOM, "RAND_bytes");
	ob_rd_init(&snr, sn, sizeof(sn));
	if (ob_rd_u64(&snr, &serial) != OB_OK)
		return ob_errf(OB_ERR_INTERNAL, "serial number");
	serial &= ~(1ULL << 63);	/* a positive 63-bit serial number */
	if ((tmp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400) == NULL ||
	    X509_set_pubkey(x, pub) != 1 ||
	    X509_sign(x, tmp, md) <= 0 ||
	    (tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		r = ob_errf(OB_ERR_CRYPTO, "building the slot certificate");
		goto out;
	}
	X509_get0_signature(&psig, &palg, x);
	if ((alglen = i2d_X509_ALGOR(palg, &algder)) <= 0 ||
	    EVP_Digest(tbs, (size_t)tbslen, dgst, &dlen, md, NULL) != 1) {
		r = ob_errf(OB_ERR_CRYPTO, "building the slot certificate");
		goto out;
	}
	OB_TRY(piv_verify_pin(&be->conn, pin));
	OB_TRY(piv_sign_digest(&be->conn, alg, be->uri.slot, dgst, dlen, &sig,
	    &siglen));
	/* SEQUENCE { tbs, algorithm, BIT STRING { 00 || signature } }; the
	 * DER headers are BER-TLV headers of one-byte tags. */
	OB_TRY(ob_wr_bytes(&body, tbs, (size_t)tbslen));
	OB_TRY(ob_wr_bytes(&body, algder, (size_t)alglen));
	OB_TRY(piv_wr_tlv_hdr(&body, 0x03, siglen + 1));
	OB_TRY(ob_wr_u8(&body, 0x00));		/* no unused bits */
	OB_TRY(ob_wr_bytes(&body, sig, siglen));
	OB_TRY(piv_wr_tlv_hdr(&whole, 0x30, ob_wr_len(&body)));
	OB_TRY(ob_wr_bytes(&whole, ob_wr_ptr(&body), ob_wr_len(&body)));
	OB_TRY(ob_wr_take(&whole, &cert, &n));
	p = cert;
	if ((chk = d2i_X509(NULL, &p, (long)n)) == NULL || p != cert + n ||
	    X509_verify(chk, pub) != 1) {
		r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "the card's signature on the "
		    "slot certificate does not verify");
		goto out;
	}
	*out = cert;
	*outlen = n;
	cert = NULL;
	r = OB_OK;
out:
	ob_wr_free(&body);
	ob_wr_free(&whole);
	free(cert);
	free(sig);
	OPENSSL_free(tbs);
	OPENSSL_free(algder);
	X509_free(chk);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(tmp);
	return r;
}

static int
op_generate(struct piv_be *be, void *v)
{
	struct gen_arg	*a = v;
	EVP_PKEY	*old = NULL;
	unsigned char	*cert = NULL;
	size_t		 certlen = 0;
	uint32_t	 tag = 0;
	uint8_t		 origin, malg = be->uri.mgm_alg;
	int		 r;

	/* Keys are never overwritten. */
	r = piv_slot_pubkey(&be->conn, be->uri.slot, &old, &origin);
	EVP_PKEY_free(old);
	if (r == OB_OK)
		return ob_errf(OB_ERR_KEY_EXISTS, "slot %02x of the card in "
		    "\"%s\" already holds a key", be->uri.slot, be->conn.reader);
	if (r != OB_ERR_SLOT_EMPTY)
		return r;
	ob_err_clear();
	if (malg == 0 && (r = piv_mgm_alg(&be->conn, &malg)) != OB_OK)
		return r;
	if (malg == 0)
		malg = a->keylen == 24 ? PIV_ALG_3DES : a->keylen == 16 ?
		    PIV_ALG_AES128 : PIV_ALG_AES256;
	/* A wrong PIN stops here, before anything changes on the card. */
	if (a->pin != NULL && (r = piv_verify_pin(&be->conn, a->pin)) != OB_OK)
		return r;
	if ((r = piv_mgm_auth(&be->conn, malg, a->key, a->keylen)) != OB_OK ||
	    (r = piv_generate(&be->conn, be->uri.slot, a->alg, &a->pub)) !=
	    OB_OK || a->pin == NULL)
		goto out;
	if ((r = slot_cert(be, a->alg, a->pub, a->pin, &cert, &certlen)) ==
	    OB_OK && (r = piv_cert_obj_tag(be->uri.slot, &tag)) == OB_OK)
		r = piv_write_cert(&be->conn, tag, cert, certlen);
	if (r != OB_OK)
		r = ob_err_prefix(r, "the key in slot %02x was generated, but "
		    "its certificate was not written", be->uri.slot);
out:
	if (a->pin != NULL)
		piv_pin_logout(&be->conn);
	free(cert);
	return r;
}

static int
piv_keygen(const char *uri, const struct ob_token_opts *opts)
{
	struct piv_be	*be = NULL;
	struct gen_arg	 a;
	uint8_t		 key[MGM_KEY_MAX];
	char		*pin = NULL;
	int		 r;

	memset(&a, 0, sizeof(a));
	switch (opts != NULL ? opts->alg : OB_ALG_INVALID) {
	case OB_ALG_INVALID:
	case OB_ALG_ES256:
		a.alg = PIV_ALG_P256;
		break;
	case OB_ALG_ES384:
		a.alg = PIV_ALG_P384;
		break;
	default:
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "PIV keys are ES256 "
		    "(P-256) or ES384 (P-384)");
	}
	if ((r = be_new(uri, opts, &be)) != OB_OK)
		return r;
	OB_TRY(read_mgm(&be->uri, key, &a.keylen, &a.is_default));
	a.key = key;
	/* The PIN signs the slot certificate (9e needs none: no cert). */
	if (be->uri.slot != 0x9e) {
		OB_TRY(piv_run(be, op_pin_status, NULL));
		OB_TRY(read_pin(be, NULL, &pin));
		a.pin = pin;
	}
	OB_TRY(piv_run(be, op_generate, &a));
	if (a.is_default && (opts == NULL || !opts->quiet))
		fprintf(stderr, "ownerbind: warning: the card still uses the "
		    "factory management key; change it (docs/piv.md)\n");
out:
	OPENSSL_cleanse(key, sizeof(key));
	ob_pin_free(&pin);
	EVP_PKEY_free(a.pub);
	be_free(be);
	return r;
}

/* ---- attestation for the trust store ---- */

struct att_arg {
	unsigned char	*att, *f9;
	size_t		 attlen, f9len;
	int		 imported;
};

static int
op_attest(struct piv_be *be, void *v)
{
	struct att_arg	*a = v;
	int		 r;

	r = piv_attest(&be->conn, be->uri.slot, &a->att, &a->attlen);
	if (r == OB_ERR_ATTEST_INVALID) {
		a->imported = 1;
		ob_err_clear();
		return OB_OK;
	}
	if (r != OB_OK)
		return r;
	return piv_read_cert(&be->conn, PIV_OBJ_ATTEST, &a->f9, &a->f9len);
}

static int
b64_der(const unsigned char *der, size_t len, json_t *arr)
{
	unsigned char	*b;
	int		 n, r;

	if (len > 8192 || (b = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return OB_ERR_ALLOC;
	n = EVP_EncodeBlock(b, der, (int)len);
	r = n > 0 && json_array_append_new(arr, json_string((char *)b)) == 0 ?
	    OB_OK : OB_ERR_ALLOC;
	free(b);
	return r;
}

static int
piv_enroll_info(void *v, json_t *keyentry)
{
	struct piv_be		*be = v;
	struct att_arg		 a;
	const unsigned char	*p;
	X509			*x = NULL;
	EVP_PKEY		*ak = NULL;
	json_t			*att = NULL, *x5c = NULL;
	int			 r;

	memset(&a, 0, sizeof(a));
	r = piv_run(be, op_attest, &a);
	if (r == OB_ERR_MECH_UNSUPPORTED || r == OB_ERR_SLOT_EMPTY) {
		/* A card without YubiKey attestation: no evidence. */
		ob_err_clear();
		r = OB_OK;
		if (be->origin != PIV_META_ORIGIN_IMPORTED)
			goto out;
		a.imported = 1;
	}
	if (r != OB_OK)
		goto out;
	if (a.imported || be->origin == PIV_META_ORIGIN_IMPORTED) {
		/* Said plainly, so nobody mistakes it for a generated key. */
		if ((att = json_pack("{s:s,s:s}", "type", "piv", "origin",
		    "imported")) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	} else {
		/* Check it here too: enrol nothing that cannot verify. */
		p = a.att;
		if ((x = d2i_X509(NULL, &p, (long)a.attlen)) == NULL ||
		    p != a.att + a.attlen || (ak = X509_get_pubkey(x)) == NULL) {
			r = ob_errf(OB_ERR_ATTEST_INVALID, "the card's "
			    "attestation is not one DER certificate");
			goto out;
		}
		if (EVP_PKEY_eq(ak, be->pub) != 1) {
			r = ob_errf(OB_ERR_ATTEST_KEY_MISMATCH, "the card "
			    "attested another key than slot %02x's",
			    be->uri.slot);
			goto out;
		}
		if ((x5c = json_array()) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		OB_TRY(b64_der(a.att, a.attlen, x5c));
		OB_TRY(b64_der(a.f9, a.f9len, x5c));
		if ((att = json_pack("{s:s,s:s,s:O}", "type", "piv", "origin",
		    "generated", "x5c", x5c)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	if (json_object_set(keyentry, "attestation", att) != 0)
		r = OB_ERR_ALLOC;
out:
	X509_free(x);
	EVP_PKEY_free(ak);
	json_decref(att);
	json_decref(x5c);
	free(a.att);
	free(a.f9);
	return r;
}

static void
piv_close(void *v)
{
	be_free(v);
}

const struct ob_token_ops ob_piv_ops = {
	.scheme = "piv",
	.kind = "piv",
	.open = piv_open,
	.keygen = piv_keygen,
	.pubkey = piv_pubkey,
	.alg = piv_alg,
	.sign = piv_sign,
	.enroll_info = piv_enroll_info,
	.close = piv_close,
};
