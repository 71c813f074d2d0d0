/*
 * The TPM part of `ownerbind keys`: the persistent handles in the owner
 * range, each with its type, what it may do and the URI that names it.
 * Key files are not listed: they live wherever their owner put them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "tokens/keys_int.h"
#include "tokens/tpm2/tpm2_int.h"

static json_t *
handle_entry(struct tpm2_ctx *ctx, TPM2_HANDLE h)
{
	TPM2B_PUBLIC	*pub = NULL;
	ESYS_TR		 tr = ESYS_TR_NONE;
	TPMA_OBJECT	 a;
	enum ob_alg	 alg;
	TSS2_RC		 rc;
	json_t		*o;
	char		 uri[64];
	const char	*use;

	(void)snprintf(uri, sizeof(uri), "tpm2:handle=0x%08x", (unsigned)h);
	if ((rc = Esys_TR_FromTPMPublic(ctx->esys, h, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &tr)) != TSS2_RC_SUCCESS ||
	    (rc = Esys_ReadPublic(ctx->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pub, NULL, NULL)) != TSS2_RC_SUCCESS) {
		(void)tpm2_rc(ctx, rc, "reading the handle's public area");
		if (tr != ESYS_TR_NONE)
			(void)Esys_TR_Close(ctx->esys, &tr);
		return json_pack("{s:s,s:s}", "uri", uri, "error",
		    ob_err_detail());
	}
	(void)Esys_TR_Close(ctx->esys, &tr);
	a = pub->publicArea.objectAttributes;
	/* What ownerbind would do with it: sign, attest (an AK), or neither. */
	if ((a & TPMA_OBJECT_SIGN_ENCRYPT) && (a & TPMA_OBJECT_RESTRICTED))
		use = "attestation key (ownerbind attest --ak)";
	else if (a & TPMA_OBJECT_SIGN_ENCRYPT)
		use = "signing key (--key)";
	else
		use = "not a signing key (a storage or decryption key)";
	o = json_pack("{s:s,s:s,s:s,s:b,s:b}", "uri", uri, "type",
	    pub->publicArea.type == TPM2_ALG_ECC ? "ECC" :
	    pub->publicArea.type == TPM2_ALG_RSA ? "RSA" : "other", "use", use,
	    "restricted", (a & TPMA_OBJECT_RESTRICTED) != 0, "user_with_auth",
	    (a & TPMA_OBJECT_USERWITHAUTH) != 0);
	ob_err_clear();
	if (o != NULL && tpm2_pub_alg(&pub->publicArea, &alg) == OB_OK)
		(void)json_object_set_new(o, "alg", json_string(ob_alg_name(alg)));
	ob_err_clear();
	Esys_Free(pub);
	return o;
}

int
keys_tpm2(const char *tcti, json_t *items, const char **used)
{
	struct tpm2_uri		 u;
	struct tpm2_ctx		 ctx;
	TPMS_CAPABILITY_DATA	*cap = NULL;
	TPMI_YES_NO		 more = TPM2_NO;
	TSS2_RC			 rc;
	json_t			*o;
	UINT32			 i;
	int			 r;
	static char		 conf[TPM2_TCTI_MAX + 1];

	memset(&u, 0, sizeof(u));
	memset(&ctx, 0, sizeof(ctx));
	/* Without --tcti, the one a tpm2: URI without tcti= would use. */
	if (tcti == NULL) {
		if ((r = tpm2_uri_parse("tpm2:handle=0x81000000", &u)) != OB_OK)
			return r;
		(void)snprintf(conf, sizeof(conf), "%s", u.tcti);
		tpm2_uri_free(&u);
	} else
		(void)snprintf(conf, sizeof(conf), "%s", tcti);
	*used = conf;
	if ((r = tpm2_ctx_open(conf, &ctx)) != OB_OK)
		return r;
	if ((rc = Esys_GetCapability(ctx.esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_HANDLES, TPM2_PERSISTENT_MIN,
	    TPM2_MAX_CAP_HANDLES, &more, &cap)) != TSS2_RC_SUCCESS) {
		r = tpm2_rc(&ctx, rc, "TPM2_GetCapability(handles)");
		goto out;
	}
	for (i = 0; i < cap->data.handles.count; i++) {
		TPM2_HANDLE h = cap->data.handles.handle[i];

		if (h < TPM2_PERSISTENT_MIN || h > TPM2_PERSISTENT_MAX)
			continue;
		if ((o = handle_entry(&ctx, h)) == NULL ||
		    json_array_append_new(items, o) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	r = OB_OK;
out:
	Esys_Free(cap);
	tpm2_ctx_close(&ctx);
	return r;
}
