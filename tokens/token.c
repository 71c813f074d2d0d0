/*
 * Backend dispatch and the one signing path every backend shares: build
 * the protected header, sign, check the fresh signature, append.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/err.h"
#include "core/jwk.h"
#include "tokens/token.h"
#include "core/webauthn.h"

struct ob_token {
	const struct ob_token_ops	*ops;
	void				*be;
	EVP_PKEY			*pub;
	enum ob_alg			 alg;
	char				 kid[44];
	unsigned			 check_every;	/* 0 or 1: each */
	unsigned long			 nsigned;	/* atomic */
};

/*
 * The daemons build this file with OB_TOKENS_REMOTE_ONLY: their only
 * backend is the signer helper, so no key, PIN or hardware library can
 * be opened in a process that parses network input.
 */
static const struct ob_token_ops *const backends[] = {
#ifdef OB_TOKENS_REMOTE_ONLY
	&ob_remote_ops,
#else
	&ob_file_ops,
#ifdef OB_HAVE_PKCS11
	&ob_pkcs11_ops,
#endif
#ifdef OB_HAVE_TPM2
	&ob_tpm2_ops,
#endif
#ifdef OB_HAVE_FIDO2
	&ob_fido2_ops,
#endif
#ifdef OB_HAVE_PIV
	&ob_piv_ops,
#endif
#endif
	NULL
};

static const char *const known_schemes[] = {
	"file", "pkcs11", "tpm2", "fido2", "piv", "signer", NULL
};

static int
token_backend(const char *uri, const struct ob_token_ops **out)
{
	size_t i, n;

	for (i = 0; backends[i] != NULL; i++) {
		n = strlen(backends[i]->scheme);
		if (strncmp(uri, backends[i]->scheme, n) == 0 &&
		    uri[n] == ':') {
			*out = backends[i];
			return OB_OK;
		}
	}
	for (i = 0; known_schemes[i] != NULL; i++) {
		n = strlen(known_schemes[i]);
		if (strncmp(uri, known_schemes[i], n) == 0 && uri[n] == ':')
			return ob_errf(OB_ERR_KEY_SCHEME, "%s: keys are not "
			    "built into this ownerbind", known_schemes[i]);
	}
	return ob_errf(OB_ERR_KEY_URI, "\"%.64s\" has no known scheme", uri);
}

void
ob_token_schemes(char *buf, size_t len)
{
	size_t	i, off = 0;
	int	n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; backends[i] != NULL && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i > 0 ? " " : "",
		    backends[i]->scheme);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int
ob_token_scheme_supported(const char *uri)
{
	const struct ob_token_ops *ops;

	return token_backend(uri, &ops) == OB_OK;
}

int
ob_token_keygen(const char *uri, const struct ob_token_opts *opts)
{
	const struct ob_token_ops	*ops;
	int				 r;

	if ((r = token_backend(uri, &ops)) != OB_OK)
		return r;
	if (ops->keygen == NULL)
		return ob_errf(OB_ERR_KEY_SCHEME, "%s keys cannot be generated "
		    "by ownerbind", ops->scheme);
	return ops->keygen(uri, opts);
}

int
ob_token_open(const char *uri, const struct ob_token_opts *opts,
    struct ob_token **out)
{
	const struct ob_token_ops	*ops;
	struct ob_token			*t;
	int				 r;

	if ((r = token_backend(uri, &ops)) != OB_OK)
		return r;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return OB_ERR_ALLOC;
	t->ops = ops;
	OB_TRY(ops->open(uri, opts, &t->be));
	OB_TRY(ops->pubkey(t->be, &t->pub));
	OB_TRY(ops->alg(t->be, &t->alg));
	OB_TRY(ob_alg_check_key(t->alg, t->pub));
	OB_TRY(ob_pkey_thumbprint(t->pub, t->kid));
	*out = t;
	t = NULL;
out:
	ob_token_close(&t);
	return r;
}

void
ob_token_close(struct ob_token **tokp)
{
	struct ob_token *t;

	if (tokp == NULL || (t = *tokp) == NULL)
		return;
	if (t->be != NULL)
		t->ops->close(t->be);
	EVP_PKEY_free(t->pub);
	free(t);
	*tokp = NULL;
}

const char *
ob_token_kind(const struct ob_token *tok)
{
	return tok->ops->kind;
}

int
ob_token_concurrent(const struct ob_token *tok)
{
	return tok->ops->concurrent;
}

EVP_PKEY *
ob_token_pubkey(const struct ob_token *tok)
{
	return tok->pub;
}

enum ob_alg
ob_token_alg(const struct ob_token *tok)
{
	return tok->alg;
}

const char *
ob_token_kid(const struct ob_token *tok)
{
	return tok->kid;
}

/* The token's output is untrusted: verify it as the server would. */
static int
token_check(struct ob_token *tok, const char *tbs, size_t tbslen,
    const struct ob_sign_res *res)
{
	const json_t	*ad, *cd;
	unsigned char	*adb = NULL, *cdb = NULL, *msg = NULL;
	size_t		 adlen, cdlen, msglen;
	int		 r;

	if (!ob_alg_is_webauthn(tok->alg)) {
		if (res->header != NULL)
			return ob_errf(OB_ERR_TOKEN_SIG_BAD, "unexpected header");
		r = ob_sig_verify(tok->alg, tok->pub,
		    (const unsigned char *)tbs, tbslen, res->sig, res->siglen);
		goto out;
	}
	if (res->header == NULL ||
	    (ad = json_object_get(res->header, "authenticatorData")) == NULL ||
	    (cd = json_object_get(res->header, "clientDataJSON")) == NULL ||
	    !json_is_string(ad) || !json_is_string(cd)) {
		r = ob_errf(OB_ERR_TOKEN_SIG_BAD, "FIDO2 header incomplete");
		goto out;
	}
	OB_TRY(ob_b64url_decode(json_string_value(ad), json_string_length(ad),
	    OB_MAX_AUTHDATA, &adb, &adlen));
	OB_TRY(ob_b64url_decode(json_string_value(cd), json_string_length(cd),
	    OB_MAX_CLIENTDATA, &cdb, &cdlen));
	OB_TRY(ob_webauthn_check_clientdata(cdb, cdlen, tbs, tbslen));
	OB_TRY(ob_webauthn_message(adb, adlen, cdb, cdlen, &msg, &msglen));
	r = ob_sig_verify(tok->alg, tok->pub, msg, msglen, res->sig,
	    res->siglen);
out:
	free(adb);
	free(cdb);
	free(msg);
	if (r != OB_OK)
		return ob_errf(OB_ERR_TOKEN_SIG_BAD, "%s: %s", ob_err_name(r),
		    ob_err_detail());
	return OB_OK;
}

int
ob_token_set_check_every(struct ob_token *tok, unsigned n)
{
	if (n > 1 && tok->alg != OB_ALG_ES256 && tok->alg != OB_ALG_ES384)
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "a %s key checks each "
		    "signature: a faulty one can give the key away",
		    ob_alg_name(tok->alg));
	__atomic_store_n(&tok->check_every, n, __ATOMIC_RELAXED);
	return OB_OK;
}

/* Whether this fresh signature is checked (ob_token_set_check_every). */
static int
check_due(struct ob_token *tok)
{
	unsigned	every = __atomic_load_n(&tok->check_every,
			    __ATOMIC_RELAXED);

	if (tok->ops->verified)
		return 0;
	if (every <= 1)
		return 1;
	return __atomic_fetch_add(&tok->nsigned, 1, __ATOMIC_RELAXED) %
	    every == 0;
}

/* A check failed: from now on every signature is checked. */
static int
check_failed(struct ob_token *tok, int r)
{
	__atomic_store_n(&tok->check_every, 1, __ATOMIC_RELAXED);
	return r;
}

int
ob_token_sign_entry(struct ob_token *tok, struct ob_envelope *env,
    enum ob_role role, enum ob_model model, const char *nonce,
    const json_t *x5c, const char *kid, long long now)
{
	json_t	*ph = NULL;
	int	 r;

	OB_TRY(ob_protected_new(tok->alg, kid != NULL ? kid : tok->kid, role,
	    model, now, nonce, x5c, &ph));
	r = ob_token_sign_entry_hdr(tok, env, ph);
out:
	json_decref(ph);
	return r;
}

int
ob_token_sign_entry_hdr(struct ob_token *tok, struct ob_envelope *env,
    const json_t *ph)
{
	struct ob_approval	 what;
	struct ob_sign_req	 req;
	struct ob_sign_res	 res;
	enum ob_role		 role;
	enum ob_model		 model;
	char			*pb64 = NULL, *tbs = NULL;
	size_t			 tbslen;
	int			 r;

	memset(&res, 0, sizeof(res));
	OB_TRY(ob_role_from_name(json_string_value(json_object_get(ph,
	    "ob_role")), &role));
	OB_TRY(ob_model_from_name(json_string_value(json_object_get(ph,
	    "ob_model")), &model));
	what.sub = env->claims.sub;
	what.aud = env->claims.aud;
	what.owner = env->claims.owner;
	what.model = ob_model_name(model);
	what.role = ob_role_name(role);
	what.exp = env->claims.exp;
	OB_TRY(ob_protected_encode(ph, &pb64));
	OB_TRY(ob_envelope_signing_input(env, pb64, &tbs, &tbslen));
	req.alg = tok->alg;
	req.tbs = tbs;
	req.tbslen = tbslen;
	req.what = &what;
	OB_TRY(tok->ops->sign(tok->be, &req, &res));
	if (!tok->ops->verified)
		OB_TRY(token_check(tok, tbs, tbslen, &res));
	r = ob_envelope_append(env, pb64, res.header, res.sig, res.siglen);
out:
	free(res.sig);
	json_decref(res.header);
	free(pb64);
	free(tbs);
	return r;
}

int
ob_token_sign(struct ob_token *tok, const unsigned char *msg, size_t msglen,
    const struct ob_approval *what, unsigned char **sig, size_t *siglen)
{
	struct ob_sign_req	 req;
	struct ob_sign_res	 res;
	int			 r;

	if (ob_alg_is_webauthn(tok->alg))
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "a %s key signs only "
		    "WebAuthn assertions", ob_alg_name(tok->alg));
	memset(&res, 0, sizeof(res));
	req.alg = tok->alg;
	req.tbs = (const char *)msg;
	req.tbslen = msglen;
	req.what = what;
	OB_TRY(tok->ops->sign(tok->be, &req, &res));
	if (check_due(tok) && (r = token_check(tok, (const char *)msg, msglen,
	    &res)) != OB_OK) {
		r = check_failed(tok, r);
		goto out;
	}
	*sig = res.sig;
	*siglen = res.siglen;
	res.sig = NULL;
out:
	free(res.sig);
	json_decref(res.header);
	return r;
}

int
ob_token_key_entry(struct ob_token *tok, json_t **out)
{
	json_t	*e = NULL, *jwk = NULL;
	int	 r;

	OB_TRY(ob_jwk_from_pkey(tok->pub, &jwk));
	if ((e = json_object()) == NULL ||
	    json_object_set_new(e, "kid", json_string(tok->kid)) ||
	    json_object_set_new(e, "kind", json_string(tok->ops->kind)) ||
	    json_object_set_new(e, "alg", json_string(ob_alg_name(tok->alg))) ||
	    json_object_set(e, "jwk", jwk)) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (tok->ops->enroll_info != NULL)
		OB_TRY(tok->ops->enroll_info(tok->be, e));
	*out = e;
	e = NULL;
	r = OB_OK;
out:
	json_decref(e);
	json_decref(jwk);
	return r;
}
