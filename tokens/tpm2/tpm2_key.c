/*
 * TPM keys: open by URI (key file or persistent handle), load under the
 * storage root key, create.  Every transient ESYS_TR made here is flushed
 * before return, except a loaded key, which struct tpm2_key owns until
 * tpm2_key_unload.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "tokens/tpm2/tpm2_int.h"

static int
key_open_handle(struct tpm2_ctx *ctx, uint32_t handle, struct tpm2_key *key)
{
	TPM2B_PUBLIC	*pub = NULL;
	ESYS_TR		 tr = ESYS_TR_NONE;
	TSS2_RC		 rc;
	int		 r;

	if ((rc = Esys_TR_FromTPMPublic(ctx->esys, handle, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &tr)) != TSS2_RC_SUCCESS) {
		if (tpm2_rc_is(rc, TPM2_RC_HANDLE))
			return ob_errf(OB_ERR_KEY_NOT_FOUND, "no persistent key "
			    "at 0x%08x (tpm2_getcap handles-persistent lists "
			    "them)", handle);
		return tpm2_rc(ctx, rc, "opening the persistent handle");
	}
	if ((rc = Esys_ReadPublic(ctx->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pub, NULL, NULL)) != TSS2_RC_SUCCESS) {
		r = tpm2_rc(ctx, rc, "Esys_ReadPublic");
		(void)Esys_TR_Close(ctx->esys, &tr);
		return r;
	}
	key->pub = *pub;
	Esys_Free(pub);
	key->handle = handle;
	key->tr = tr;
	key->transient = 0;
	return OB_OK;
}

int
tpm2_key_open(struct tpm2_ctx *ctx, const struct tpm2_uri *u,
    struct tpm2_key *key)
{
	int r;

	memset(key, 0, sizeof(*key));
	key->tr = ESYS_TR_NONE;
	key->session = ESYS_TR_NONE;
	if (u->file != NULL) {
		if ((r = tpm2_keyfile_read(u->file, key)) != OB_OK)
			return r;
		/* auth=yes in the URI wins over the file's emptyAuth. */
		key->empty_auth = key->empty_auth && !u->auth;
		return OB_OK;
	}
	if ((r = key_open_handle(ctx, u->handle, key)) != OB_OK)
		return r;
	key->empty_auth = !u->auth;
	return OB_OK;
}

int
tpm2_key_load(struct tpm2_ctx *ctx, struct tpm2_key *key)
{
	ESYS_TR	parent = ESYS_TR_NONE;
	TSS2_RC	rc;
	int	r;

	if (key->tr != ESYS_TR_NONE)
		return OB_OK;
	if ((r = tpm2_parent_load(ctx, key->parent, &parent)) != OB_OK)
		return r;
	rc = Esys_Load(ctx->esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &key->priv, &key->pub, &key->tr);
	tpm2_parent_release(ctx, key->parent, &parent);
	if (rc != TSS2_RC_SUCCESS) {
		key->tr = ESYS_TR_NONE;
		r = tpm2_rc(ctx, rc, "loading the key file into the TPM");
		/* Its own code: the next step is about the parent. */
		if (r == OB_ERR_DEVICE)
			r = ob_err_prefix(OB_ERR_TPM_PARENT, "the key file "
			    "names parent 0x%08x", (unsigned int)key->parent);
		return r;
	}
	key->transient = 1;
	return OB_OK;
}

int
tpm2_key_session(struct tpm2_ctx *ctx, struct tpm2_key *key)
{
	ESYS_TR	srk = ESYS_TR_NONE;
	int	r;

	tpm2_flush(ctx, &key->session);
	/*
	 * Salt with the SRK; if the owner hierarchy will not give one (owner
	 * auth set), an unsalted HMAC session still keeps the auth value
	 * itself off the bus.
	 */
	if (tpm2_parent_load(ctx, TPM2_RH_OWNER, &srk) != OB_OK)
		srk = ESYS_TR_NONE;
	ob_err_clear();
	r = tpm2_session_start(ctx, srk, 0, &key->session);
	tpm2_flush(ctx, &srk);
	return r;
}

void
tpm2_key_unload(struct tpm2_ctx *ctx, struct tpm2_key *key)
{
	if (ctx->esys == NULL)
		return;
	tpm2_flush(ctx, &key->session);
	if (key->tr == ESYS_TR_NONE)
		return;
	if (key->transient)
		tpm2_flush(ctx, &key->tr);
	else {
		(void)Esys_TR_Close(ctx->esys, &key->tr);
		key->tr = ESYS_TR_NONE;
	}
}

/* Is the target free?  Keys are never overwritten. */
static int
key_target_free(struct tpm2_ctx *ctx, const struct tpm2_uri *u)
{
	ESYS_TR	tr = ESYS_TR_NONE;

	if (u->file != NULL) {
		if (access(u->file, F_OK) == 0 || errno != ENOENT)
			return ob_errf(OB_ERR_KEY_EXISTS, "%s", u->file);
		return OB_OK;
	}
	if (Esys_TR_FromTPMPublic(ctx->esys, u->handle, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, &tr) == TSS2_RC_SUCCESS) {
		(void)Esys_TR_Close(ctx->esys, &tr);
		return ob_errf(OB_ERR_KEY_EXISTS, "persistent handle 0x%08x is "
		    "taken (tpm2_evictcontrol removes a key)", u->handle);
	}
	return OB_OK;
}

int
tpm2_key_create(struct tpm2_ctx *ctx, const struct tpm2_uri *u,
    enum ob_alg alg, int restricted, const char *pin)
{
	TPM2B_SENSITIVE_CREATE	 sens;
	TPM2B_PUBLIC		 tmpl, *pub = NULL;
	TPM2B_PRIVATE		*priv = NULL;
	TPM2B_DATA		 outside;
	TPML_PCR_SELECTION	 pcrs;
	struct tpm2_key		 key;
	ESYS_TR			 srk = ESYS_TR_NONE, obj = ESYS_TR_NONE;
	ESYS_TR			 persist = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	size_t			 pinlen = pin == NULL ? 0 : strlen(pin);
	TSS2_RC			 rc;
	int			 r;

	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	memset(&key, 0, sizeof(key));
	/* The TPM caps an auth value at the name digest size (SHA-256). */
	if (pinlen > 32)
		return ob_errf(OB_ERR_PIN_SOURCE, "a TPM key's auth value is at "
		    "most 32 bytes");
	OB_TRY(tpm2_template(alg, restricted, &tmpl));
	OB_TRY(key_target_free(ctx, u));
	sens.sensitive.userAuth.size = (UINT16)pinlen;
	if (pinlen > 0)
		memcpy(sens.sensitive.userAuth.buffer, pin, pinlen);
	OB_TRY(tpm2_parent_load(ctx, TPM2_RH_OWNER, &srk));
	/* The new auth value travels encrypted to the SRK, never in clear. */
	if (pinlen > 0)
		OB_TRY(tpm2_session_start(ctx, srk, 1, &sess));
	if ((rc = Esys_Create(ctx->esys, srk, pinlen > 0 ? sess :
	    ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL,
	    NULL, NULL)) != TSS2_RC_SUCCESS) {
		r = tpm2_rc(ctx, rc, "Esys_Create");
		if (r == OB_ERR_DEVICE && (tpm2_rc_is(rc, TPM2_RC_KEY_SIZE) ||
		    tpm2_rc_is(rc, TPM2_RC_CURVE) ||
		    tpm2_rc_is(rc, TPM2_RC_VALUE)))
			r = ob_err_prefix(OB_ERR_MECH_UNSUPPORTED, "this TPM "
			    "cannot make %s keys", ob_alg_name(alg));
		goto out;
	}
	if (u->file != NULL) {
		key.pub = *pub;
		key.priv = *priv;
		key.parent = TPM2_RH_OWNER;
		key.empty_auth = pinlen == 0;
		r = tpm2_keyfile_write(u->file, &key);
		goto out;
	}
	if ((rc = Esys_Load(ctx->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, priv, pub, &obj)) != TSS2_RC_SUCCESS) {
		r = tpm2_rc(ctx, rc, "Esys_Load");
		goto out;
	}
	if ((rc = Esys_EvictControl(ctx->esys, ESYS_TR_RH_OWNER, obj,
	    ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, u->handle,
	    &persist)) != TSS2_RC_SUCCESS) {
		r = tpm2_rc(ctx, rc, "making the key persistent "
		    "(Esys_EvictControl, empty owner auth)");
		goto out;
	}
	(void)Esys_TR_Close(ctx->esys, &persist);
	r = OB_OK;
out:
	tpm2_flush(ctx, &sess);
	tpm2_flush(ctx, &obj);
	tpm2_flush(ctx, &srk);
	OPENSSL_cleanse(&sens, sizeof(sens));
	Esys_Free(pub);
	Esys_Free(priv);
	OPENSSL_cleanse(&key, sizeof(key));
	return r;
}
