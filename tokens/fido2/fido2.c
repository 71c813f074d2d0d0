/*
 * The FIDO2 backend behind tokens/token.h (scheme "fido2", trust-store
 * kind "fido2").  Opening a key reads only its credential file; the
 * device is opened when there is something to sign.
 */
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/err.h"
#include "tokens/fido2/fido2_int.h"
#include "core/webauthn.h"

static int
fido2_open(const char *uri, const struct ob_token_opts *opts, void **bep)
{
	struct fido2_be	*be;
	int		 r;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return OB_ERR_ALLOC;
	OB_TRY(fido2_uri_parse(uri, &be->uri));
	if (be->uri.pub == NULL) {
		/* The public key never comes from the device at sign time. */
		r = ob_errf(OB_ERR_KEY_URI, "fido2: keys need pub=PATH, the "
		    "credential file written by keygen");
		goto out;
	}
	OB_TRY(fido2_credfile_read(be->uri.pub, &be->cred));
	if (be->uri.rp_id != NULL && strcmp(be->uri.rp_id,
	    be->cred.rp_id) != 0) {
		r = ob_errf(OB_ERR_KEY_MISMATCH, "rp=%s, but the credential is "
		    "for %s", be->uri.rp_id, be->cred.rp_id);
		goto out;
	}
	if (be->uri.cred != NULL && (be->uri.cred_len != be->cred.id_len ||
	    memcmp(be->uri.cred, be->cred.id, be->cred.id_len) != 0)) {
		r = ob_errf(OB_ERR_KEY_MISMATCH, "cred= names another "
		    "credential than %s holds", be->uri.pub);
		goto out;
	}
	if (opts != NULL) {
		be->pin = opts->pin;
		be->quiet = opts->quiet;
	}
	*bep = be;
	return OB_OK;
out:
	fido2_cred_free(&be->cred);
	fido2_uri_free(&be->uri);
	free(be);
	return r;
}

static int
fido2_pubkey(void *v, EVP_PKEY **out)
{
	struct fido2_be *be = v;

	if (EVP_PKEY_up_ref(be->cred.pub) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_PKEY_up_ref");
	*out = be->cred.pub;
	return OB_OK;
}

static int
fido2_alg(void *v, enum ob_alg *out)
{
	struct fido2_be *be = v;

	*out = be->cred.alg;
	return OB_OK;
}

static int
fido2_sign_op(void *v, const struct ob_sign_req *req, struct ob_sign_res *res)
{
	return fido2_sign(v, req, res);
}

static int
fido2_enroll_info(void *v, json_t *e)
{
	struct fido2_be	*be = v;
	json_t		*f;
	char		*id = NULL;
	int		 r;

	if ((r = ob_b64url_encode(be->cred.id, be->cred.id_len, &id)) != OB_OK)
		return r;
	f = json_pack("{s:s,s:s,s:s,s:s,s:b}", "rp_id", be->cred.rp_id,
	    "credential_id", id, "aaguid", be->cred.aaguid, "uv",
	    be->cred.uv_required ? "required" : "preferred",
	    "backup_eligible", be->cred.backup_eligible);
	free(id);
	if (f == NULL || json_object_set_new(e, "fido2", f) != 0)
		return OB_ERR_ALLOC;
	if (be->cred.attestation != NULL && json_object_set(e, "attestation",
	    be->cred.attestation) != 0)
		return OB_ERR_ALLOC;
	return OB_OK;
}

static void
fido2_close(void *v)
{
	struct fido2_be *be = v;

	fido2_cred_free(&be->cred);
	fido2_uri_free(&be->uri);
	free(be);
}

const struct ob_token_ops ob_fido2_ops = {
	.scheme = "fido2",
	.kind = "fido2",
	.open = fido2_open,
	.keygen = fido2_keygen,
	.pubkey = fido2_pubkey,
	.alg = fido2_alg,
	.sign = fido2_sign_op,
	.enroll_info = fido2_enroll_info,
	.close = fido2_close,
};
