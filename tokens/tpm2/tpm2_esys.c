/*
 * ESAPI context, the storage root key, key templates, and conversion of a
 * TPM public area into an OpenSSL public key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_tctildr.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pkey.h"
#include "tokens/tpm2/tpm2_int.h"

/* A device TCTI names a path: say "missing" or "permission" up front. */
static int
ctx_check_device(const char *conf)
{
	const char *path;

	if (strncmp(conf, "device:", 7) != 0 && strcmp(conf, "device") != 0)
		return OB_OK;
	path = conf[6] == ':' && conf[7] != '\0' ? conf + 7 : "/dev/tpm0";
	if (access(path, R_OK | W_OK) == 0)
		return OB_OK;
	if (errno == EACCES || errno == EPERM)
		return ob_errf(OB_ERR_DEVICE_PERMISSION, "%s: permission denied; "
		    "add the user to the tss group (the tpm-udev rules give it "
		    "/dev/tpmrm0) and log in again", path);
	return ob_errf(OB_ERR_TPM_UNREACHABLE, "%s: %s; this machine may have "
	    "no TPM, or name another TCTI with tcti= or TPM2TOOLS_TCTI", path,
	    strerror(errno));
}

int
tpm2_ctx_open(const char *conf, struct tpm2_ctx *ctx)
{
	TSS2_RC	rc;
	int	r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = conf;
	/*
	 * tpm2-tss logs failed commands to stderr; we translate them into
	 * one error with a next step instead.  TSS2_LOG set by the user wins.
	 */
	(void)setenv("TSS2_LOG", "all+none", 0);
	if ((r = ctx_check_device(conf)) != OB_OK)
		return r;
	if ((rc = Tss2_TctiLdr_Initialize(conf, &ctx->tcti)) != TSS2_RC_SUCCESS)
		return ob_errf(OB_ERR_TPM_UNREACHABLE, "TCTI \"%.128s\": "
		    "TSS2_RC 0x%x; is the TPM (or swtpm) running?", conf, rc);
	if ((rc = Esys_Initialize(&ctx->esys, ctx->tcti, NULL)) !=
	    TSS2_RC_SUCCESS) {
		r = tpm2_rc(NULL, rc, "Esys_Initialize");
		tpm2_ctx_close(ctx);
		return r;
	}
	return OB_OK;
}

void
tpm2_ctx_close(struct tpm2_ctx *ctx)
{
	if (ctx->esys != NULL)
		Esys_Finalize(&ctx->esys);
	if (ctx->tcti != NULL)
		Tss2_TctiLdr_Finalize(&ctx->tcti);
	ctx->esys = NULL;
	ctx->tcti = NULL;
}

void
tpm2_flush(struct tpm2_ctx *ctx, ESYS_TR *tr)
{
	if (*tr != ESYS_TR_NONE && ctx->esys != NULL)
		(void)Esys_FlushContext(ctx->esys, *tr);
	*tr = ESYS_TR_NONE;
}

/*
 * The storage key template that tpm2-tools (tpm2_createprimary -G ecc)
 * and tpm2-openssl derive under the owner hierarchy: TCG "Template L-2"
 * attributes with an empty unique field.  Same template, same seed: same
 * key, so key files move between these tools.
 */
static void
srk_template(TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_ECC;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes = TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN;
	t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	t->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

int
tpm2_parent_load(struct tpm2_ctx *ctx, uint32_t parent, ESYS_TR *out)
{
	TPM2B_SENSITIVE_CREATE	 sens;
	TPM2B_PUBLIC		 tmpl;
	TPM2B_DATA		 outside;
	TPML_PCR_SELECTION	 pcrs;
	TSS2_RC			 rc;

	*out = ESYS_TR_NONE;
	if (parent >= TPM2_PERSISTENT_MIN && parent <= TPM2_PERSISTENT_MAX) {
		if ((rc = Esys_TR_FromTPMPublic(ctx->esys, parent, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, out)) != TSS2_RC_SUCCESS)
			return tpm2_rc(ctx, rc, "parent handle");
		return OB_OK;
	}
	if (parent != TPM2_RH_OWNER)
		return ob_errf(OB_ERR_KEY_LOAD, "key file parent 0x%08x is "
		    "neither the owner hierarchy nor a persistent key", parent);
	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	srk_template(&tmpl);
	if ((rc = Esys_CreatePrimary(ctx->esys, ESYS_TR_RH_OWNER,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
	    &outside, &pcrs, out, NULL, NULL, NULL, NULL)) != TSS2_RC_SUCCESS)
		return tpm2_rc(ctx, rc, "creating the storage root key "
		    "(owner hierarchy, empty owner auth)");
	return OB_OK;
}

void
tpm2_parent_release(struct tpm2_ctx *ctx, uint32_t parent, ESYS_TR *tr)
{
	if (*tr == ESYS_TR_NONE)
		return;
	if (parent >= TPM2_PERSISTENT_MIN && parent <= TPM2_PERSISTENT_MAX) {
		(void)Esys_TR_Close(ctx->esys, tr);
		*tr = ESYS_TR_NONE;
	} else
		tpm2_flush(ctx, tr);
}

int
tpm2_template(enum ob_alg alg, int restricted, TPM2B_PUBLIC *t)
{
	TPMT_PUBLIC *p = &t->publicArea;

	memset(t, 0, sizeof(*t));
	p->nameAlg = TPM2_ALG_SHA256;
	/* Made in the TPM, bound to it and to its parent, signs only. */
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_SIGN_ENCRYPT;
	if (restricted) {
		if (alg != OB_ALG_ES256)
			return ob_errf(OB_ERR_ALG_UNSUPPORTED, "attestation keys "
			    "are ECC P-256");
		p->objectAttributes |= TPMA_OBJECT_RESTRICTED;
	}
	switch (alg) {
	case OB_ALG_ES256:
	case OB_ALG_ES384:
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		p->parameters.eccDetail.scheme.details.ecdsa.hashAlg =
		    alg == OB_ALG_ES256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
		p->parameters.eccDetail.curveID = alg == OB_ALG_ES256 ?
		    TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		return OB_OK;
	case OB_ALG_PS256:
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAPSS;
		p->parameters.rsaDetail.scheme.details.rsapss.hashAlg =
		    TPM2_ALG_SHA256;
		p->parameters.rsaDetail.keyBits = 3072;
		p->parameters.rsaDetail.exponent = 0;
		return OB_OK;
	default:
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "TPM keys are ES256, "
		    "ES384 or PS256, not %s", ob_alg_name(alg));
	}
}

int
tpm2_pub_alg(const TPMT_PUBLIC *pub, enum ob_alg *out)
{
	if (pub->type == TPM2_ALG_ECC) {
		switch (pub->parameters.eccDetail.curveID) {
		case TPM2_ECC_NIST_P256:
			*out = OB_ALG_ES256;
			return OB_OK;
		case TPM2_ECC_NIST_P384:
			*out = OB_ALG_ES384;
			return OB_OK;
		default:
			return ob_errf(OB_ERR_KEY_TYPE, "TPM ECC curve 0x%04x",
			    pub->parameters.eccDetail.curveID);
		}
	}
	if (pub->type == TPM2_ALG_RSA) {
		*out = OB_ALG_PS256;
		return OB_OK;
	}
	return ob_errf(OB_ERR_KEY_TYPE, "TPM key type 0x%04x", pub->type);
}

int
tpm2_pub_check_sign(const TPMT_PUBLIC *pub, int restricted)
{
	TPMA_OBJECT a = pub->objectAttributes;

	if (!(a & TPMA_OBJECT_SIGN_ENCRYPT))
		return ob_errf(OB_ERR_KEY_NO_SIGN, "the TPM key lacks the sign "
		    "attribute");
	if (!!(a & TPMA_OBJECT_RESTRICTED) != !!restricted)
		return ob_errf(restricted ? OB_ERR_KEY_TYPE : OB_ERR_KEY_NO_SIGN,
		    restricted ? "an attestation key must be restricted" :
		    "a restricted TPM key signs only TPM-made data; use an "
		    "unrestricted signing key");
	/*
	 * sign|decrypt keys (tpm2-openssl's and tpm2_create's default) are
	 * accepted; the keys ownerbind makes are signing-only.
	 */
	return OB_OK;
}

/* The TPM is untrusted: its coordinates are padded to the field size
 * (never longer, never empty) and go through the decoder's rules. */
static int
pub_ecc(const TPMS_ECC_POINT *pt, enum ob_keykind kind, size_t n,
    EVP_PKEY **out)
{
	struct ob_wr	w;
	unsigned char	point[1 + 2 * 48];
	int		r;

	if (pt->x.size == 0 || pt->y.size == 0 || pt->x.size > n ||
	    pt->y.size > n)
		return ob_errf(OB_ERR_JWK_INVALID, "TPM ECC point of %u/%u "
		    "bytes for a %zu-byte curve", pt->x.size, pt->y.size, n);
	/* 04 || X || Y, each coordinate left-padded to n bytes. */
	ob_wr_init_fixed(&w, point, sizeof(point));
	if (ob_wr_u8(&w, 0x04) != OB_OK ||
	    ob_wr_reserve(&w, n - pt->x.size) == NULL ||
	    ob_wr_bytes(&w, pt->x.buffer, pt->x.size) != OB_OK ||
	    ob_wr_reserve(&w, n - pt->y.size) == NULL ||
	    ob_wr_bytes(&w, pt->y.buffer, pt->y.size) != OB_OK)
		return ob_wr_err(&w);
	if ((r = ob_pkey_from_ec_point(kind, ob_wr_ptr(&w), ob_wr_len(&w),
	    out)) != OB_OK)
		return ob_err_prefix(r, "the TPM's public point");
	return OB_OK;
}

/* exponent 0 is the TPM's default, 65537. */
static int
pub_rsa(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	struct ob_wr	w;
	uint32_t	exp = pub->parameters.rsaDetail.exponent;
	unsigned char	e[4];
	int		r;

	if (pub->unique.rsa.size * 8u != pub->parameters.rsaDetail.keyBits ||
	    pub->unique.rsa.size == 0)
		return ob_errf(OB_ERR_JWK_INVALID, "TPM RSA modulus of %u bytes "
		    "for %u bits", pub->unique.rsa.size,
		    pub->parameters.rsaDetail.keyBits);
	if (exp == 0)
		exp = 65537;
	ob_wr_init_fixed(&w, e, sizeof(e));
	if ((r = ob_wr_u32(&w, exp)) != OB_OK)
		return r;
	if ((r = ob_pkey_from_rsa(pub->unique.rsa.buffer, pub->unique.rsa.size,
	    ob_wr_ptr(&w), ob_wr_len(&w), out)) != OB_OK)
		return ob_err_prefix(r, "the TPM's RSA key");
	return OB_OK;
}

int
tpm2_pub_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out)
{
	enum ob_alg	alg = OB_ALG_INVALID;
	int		r;

	if ((r = tpm2_pub_alg(pub, &alg)) != OB_OK)
		return r;
	switch (alg) {
	case OB_ALG_ES256:
		return pub_ecc(&pub->unique.ecc, OB_KEY_P256, 32, out);
	case OB_ALG_ES384:
		return pub_ecc(&pub->unique.ecc, OB_KEY_P384, 48, out);
	default:
		return pub_rsa(pub, out);
	}
}

int
tpm2_session_start(struct tpm2_ctx *ctx, ESYS_TR salt_key, int decrypt,
    ESYS_TR *out)
{
	TPMT_SYM_DEF	sym;
	TSS2_RC		rc;

	*out = ESYS_TR_NONE;
	memset(&sym, 0, sizeof(sym));
	sym.algorithm = TPM2_ALG_AES;
	sym.keyBits.aes = 128;
	sym.mode.aes = TPM2_ALG_CFB;
	if ((rc = Esys_StartAuthSession(ctx->esys, salt_key, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
	    TPM2_ALG_SHA256, out)) != TSS2_RC_SUCCESS) {
		*out = ESYS_TR_NONE;
		return tpm2_rc(ctx, rc, "starting an HMAC session");
	}
	if ((rc = Esys_TRSess_SetAttributes(ctx->esys, *out,
	    TPMA_SESSION_CONTINUESESSION | (decrypt ? TPMA_SESSION_DECRYPT : 0),
	    0xff)) != TSS2_RC_SUCCESS) {
		tpm2_flush(ctx, out);
		return tpm2_rc(ctx, rc, "Esys_TRSess_SetAttributes");
	}
	return OB_OK;
}

int
tpm2_set_auth(struct tpm2_ctx *ctx, ESYS_TR tr, const char *pin)
{
	TPM2B_AUTH	auth;
	size_t		n = pin == NULL ? 0 : strlen(pin);
	TSS2_RC		rc;

	memset(&auth, 0, sizeof(auth));
	if (n > sizeof(auth.buffer))
		return ob_errf(OB_ERR_PIN_SOURCE, "a TPM auth value is at most "
		    "%zu bytes", sizeof(auth.buffer));
	auth.size = (UINT16)n;
	if (n > 0)
		memcpy(auth.buffer, pin, n);
	rc = Esys_TR_SetAuth(ctx->esys, tr, &auth);
	OPENSSL_cleanse(&auth, sizeof(auth));
	if (rc != TSS2_RC_SUCCESS)
		return tpm2_rc(ctx, rc, "Esys_TR_SetAuth");
	return OB_OK;
}
