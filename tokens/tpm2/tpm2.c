/*
 * The tpm2: backend behind tokens/token.h: open a key file or persistent
 * handle, sign through ESAPI, close.  The key stays loaded (one transient
 * object) while the token is open, so many signatures cost one load; it is
 * flushed in close, and the SRK it was loaded under is flushed at once.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tokens/tpm2/tpm2.h"
#include "tokens/tpm2/tpm2_int.h"
#include "tokens/token.h"

struct tpm2_be {
	struct tpm2_uri			 uri;
	struct tpm2_ctx			 ctx;
	struct tpm2_key			 key;
	const struct ob_pin_source	*pin;	/* borrowed from the caller */
	EVP_PKEY			*pub;
	enum ob_alg			 alg;
	int				 authed;
};

static void
tpm2_close(void *v)
{
	struct tpm2_be *be = v;

	if (be == NULL)
		return;
	tpm2_key_unload(&be->ctx, &be->key);
	tpm2_ctx_close(&be->ctx);
	tpm2_uri_free(&be->uri);
	EVP_PKEY_free(be->pub);
	free(be);
}

/* The key's own scheme, if fixed, must be the one its alg needs. */
static int
tpm2_scheme_fits(const TPMT_PUBLIC *p, enum ob_alg alg)
{
	TPMI_ALG_HASH want = alg == OB_ALG_ES384 ? TPM2_ALG_SHA384 :
	    TPM2_ALG_SHA256;

	if (p->type == TPM2_ALG_ECC) {
		if (p->parameters.eccDetail.scheme.scheme == TPM2_ALG_NULL ||
		    (p->parameters.eccDetail.scheme.scheme == TPM2_ALG_ECDSA &&
		    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg == want))
			return OB_OK;
	} else if (p->parameters.rsaDetail.scheme.scheme == TPM2_ALG_NULL ||
	    (p->parameters.rsaDetail.scheme.scheme == TPM2_ALG_RSAPSS &&
	    p->parameters.rsaDetail.scheme.details.rsapss.hashAlg == want))
		return OB_OK;
	return ob_errf(OB_ERR_MECH_UNSUPPORTED, "the TPM key is bound to "
	    "another signature scheme than %s needs", ob_alg_name(alg));
}

/* Open for signing (restricted 0) or as an attestation key (1). */
static int
tpm2_open_be(const char *uri, const struct ob_token_opts *opts,
    int restricted, struct tpm2_be **out)
{
	struct tpm2_be	*be;
	int		 r;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return OB_ERR_ALLOC;
	be->key.tr = ESYS_TR_NONE;
	be->key.session = ESYS_TR_NONE;
	be->pin = opts != NULL ? opts->pin : NULL;
	OB_TRY(tpm2_uri_parse(uri, &be->uri));
	OB_TRY(tpm2_ctx_open(be->uri.tcti, &be->ctx));
	OB_TRY(tpm2_key_open(&be->ctx, &be->uri, &be->key));
	OB_TRY(tpm2_pub_check_sign(&be->key.pub.publicArea, restricted));
	OB_TRY(tpm2_pub_alg(&be->key.pub.publicArea, &be->alg));
	OB_TRY(tpm2_scheme_fits(&be->key.pub.publicArea, be->alg));
	OB_TRY(tpm2_pub_to_pkey(&be->key.pub.publicArea, &be->pub));
	*out = be;
	be = NULL;
out:
	tpm2_close(be);
	return r;
}

/* Load the key and give ESAPI its auth value (read once per token). */
static int
tpm2_ready(struct tpm2_be *be)
{
	char	*pin = NULL;
	int	 r;

	OB_TRY(tpm2_key_load(&be->ctx, &be->key));
	if (be->authed || be->key.empty_auth)
		return OB_OK;
	if (be->pin == NULL) {
		r = ob_errf(OB_ERR_PIN_SOURCE, "the TPM key has an auth value; "
		    "give --pin-source");
		goto out;
	}
	OB_TRY(ob_pin_read(be->pin, "TPM key auth value: ", &pin));
	OB_TRY(tpm2_set_auth(&be->ctx, be->key.tr, pin));
	OB_TRY(tpm2_key_session(&be->ctx, &be->key));
	be->authed = 1;
out:
	ob_pin_free(&pin);
	return r;
}

static int
tpm2_open(const char *uri, const struct ob_token_opts *opts, void **bep)
{
	struct tpm2_be	*be = NULL;
	int		 r;

	if ((r = tpm2_open_be(uri, opts, 0, &be)) != OB_OK)
		return r;
	*bep = be;
	return OB_OK;
}

static int
tpm2_create_at(const char *uri, const struct ob_token_opts *opts,
    int restricted)
{
	struct tpm2_uri	 u;
	struct tpm2_ctx	 ctx;
	enum ob_alg	 alg;
	char		*pin = NULL;
	int		 r;

	memset(&ctx, 0, sizeof(ctx));
	if ((r = tpm2_uri_parse(uri, &u)) != OB_OK)
		return r;
	alg = opts == NULL || opts->alg == OB_ALG_INVALID ? OB_ALG_ES256 :
	    opts->alg;
	if (u.auth) {
		if (opts == NULL || opts->pin == NULL) {
			r = ob_errf(OB_ERR_PIN_SOURCE, "auth=yes needs "
			    "--pin-source");
			goto out;
		}
		OB_TRY(ob_pin_read_new(opts->pin, "New TPM key auth value: ",
		    &pin));
	}
	OB_TRY(tpm2_ctx_open(u.tcti, &ctx));
	r = tpm2_key_create(&ctx, &u, alg, restricted, pin);
out:
	ob_pin_free(&pin);
	tpm2_ctx_close(&ctx);
	tpm2_uri_free(&u);
	return r;
}

static int
tpm2_keygen(const char *uri, const struct ob_token_opts *opts)
{
	return tpm2_create_at(uri, opts, 0);
}

static int
tpm2_pubkey(void *v, EVP_PKEY **out)
{
	struct tpm2_be *be = v;

	if (EVP_PKEY_up_ref(be->pub) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_PKEY_up_ref");
	*out = be->pub;
	return OB_OK;
}

static int
tpm2_alg(void *v, enum ob_alg *out)
{
	struct tpm2_be *be = v;

	*out = be->alg;
	return OB_OK;
}

static int
tpm2_sign(void *v, const struct ob_sign_req *req, struct ob_sign_res *res)
{
	struct tpm2_be	*be = v;
	int		 r;

	res->header = NULL;
	if (req->alg != be->alg)
		return ob_errf(OB_ERR_ALG_MISMATCH, "this TPM key signs %s",
		    ob_alg_name(be->alg));
	if ((r = tpm2_ready(be)) != OB_OK)
		return r;
	r = tpm2_sign_jws(&be->ctx, &be->key, be->pub, req->alg,
	    (const unsigned char *)req->tbs, req->tbslen, &res->sig,
	    &res->siglen);
	/* A wrong auth value must be asked again, not cached. */
	if (r == OB_ERR_PIN_INCORRECT) {
		be->authed = 0;
		tpm2_flush(&be->ctx, &be->key.session);
		if (be->key.empty_auth)
			r = ob_err_prefix(r, "the key has an auth value: add "
			    ";auth=yes to the URI");
	}
	return r;
}

const struct ob_token_ops ob_tpm2_ops = {
	.scheme = "tpm2",
	.kind = "tpm2",
	.open = tpm2_open,
	.keygen = tpm2_keygen,
	.pubkey = tpm2_pubkey,
	.alg = tpm2_alg,
	.sign = tpm2_sign,
	.enroll_info = NULL,
	.close = tpm2_close,
};

/* ---- attestation (tpm2.h) ---- */

int
ob_tpm2_ak_create(const char *uri, const struct ob_token_opts *opts)
{
	return tpm2_create_at(uri, opts, 1);
}

int
ob_tpm2_ak_pubkey(const char *uri, const struct ob_token_opts *opts,
    EVP_PKEY **out)
{
	struct tpm2_be	*be = NULL;
	int		 r;

	if ((r = tpm2_open_be(uri, opts, 1, &be)) != OB_OK)
		return r;
	*out = be->pub;
	be->pub = NULL;
	tpm2_close(be);
	return OB_OK;
}

void
ob_tpm2_evidence_free(struct ob_tpm2_evidence *ev)
{
	free(ev->attest);
	free(ev->sig);
	free(ev->pub);
	EVP_PKEY_free(ev->key_pub);
	EVP_PKEY_free(ev->ak_pub);
	memset(ev, 0, sizeof(*ev));
}

int
ob_tpm2_certify(const char *key_uri, const char *ak_uri,
    const struct ob_token_opts *opts, const unsigned char *nonce,
    size_t nonce_len, struct ob_tpm2_evidence *out)
{
	struct tpm2_be		*key = NULL;
	struct tpm2_uri		 aku;
	struct tpm2_key		 ak;
	struct ob_tpm2_evidence	 ev;
	enum ob_alg		 akalg;
	char			*pin = NULL;
	int			 r;

	memset(&ev, 0, sizeof(ev));
	memset(&aku, 0, sizeof(aku));
	memset(&ak, 0, sizeof(ak));
	ak.tr = ESYS_TR_NONE;
	ak.session = ESYS_TR_NONE;
	if (nonce_len == 0 || nonce_len > OB_TPM2_NONCE_MAX)
		return ob_errf(OB_ERR_INVALID_ARG, "the nonce is 1..%d bytes",
		    OB_TPM2_NONCE_MAX);
	OB_TRY(tpm2_open_be(key_uri, opts, 0, &key));
	/* The AK is opened in the key's context: one TPM, one connection. */
	OB_TRY(tpm2_uri_parse(ak_uri, &aku));
	if (strcmp(key->uri.tcti, aku.tcti) != 0) {
		r = ob_errf(OB_ERR_KEY_URI, "the key and the attestation key "
		    "must be on the same TPM (same TCTI)");
		goto out;
	}
	OB_TRY(tpm2_key_open(&key->ctx, &aku, &ak));
	OB_TRY(tpm2_pub_check_sign(&ak.pub.publicArea, 1));
	OB_TRY(tpm2_pub_alg(&ak.pub.publicArea, &akalg));
	if (akalg != OB_ALG_ES256) {
		r = ob_errf(OB_ERR_KEY_TYPE, "attestation keys are ECC P-256");
		goto out;
	}
	OB_TRY(tpm2_pub_to_pkey(&ak.pub.publicArea, &ev.ak_pub));
	OB_TRY(tpm2_ready(key));
	OB_TRY(tpm2_key_load(&key->ctx, &ak));
	if (!ak.empty_auth) {
		if (key->pin == NULL) {
			r = ob_errf(OB_ERR_PIN_SOURCE, "the attestation key has "
			    "an auth value; give --pin-source");
			goto out;
		}
		OB_TRY(ob_pin_read(key->pin, "TPM attestation key auth value: ",
		    &pin));
		OB_TRY(tpm2_set_auth(&key->ctx, ak.tr, pin));
		OB_TRY(tpm2_key_session(&key->ctx, &ak));
	}
	OB_TRY(tpm2_certify(&key->ctx, &key->key, &ak, nonce, nonce_len,
	    &ev));
	if (EVP_PKEY_up_ref(key->pub) != 1) {
		r = ob_errf(OB_ERR_CRYPTO, "EVP_PKEY_up_ref");
		goto out;
	}
	ev.key_pub = key->pub;
	*out = ev;
	memset(&ev, 0, sizeof(ev));
out:
	ob_pin_free(&pin);
	if (key != NULL)
		tpm2_key_unload(&key->ctx, &ak);
	tpm2_uri_free(&aku);
	tpm2_close(key);
	ob_tpm2_evidence_free(&ev);
	return r;
}
