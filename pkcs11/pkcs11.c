/*
 * The pkcs11: backend behind tokens/token.h: a pool per open key, of one
 * session unless the opener asks for more (ownerbind-signer does).  tokens/token.c verifies every fresh signature against the public
 * key read here before the entry is appended.
 */
#include "core/err.h"
#include "pkcs11/ob_p11.h"
#include "tokens/token.h"

static int
p11be_open(const char *uri, const struct ob_token_opts *opts, void **be)
{
	struct ob_p11_pool *p = NULL;
	int r;

	if ((r = ob_p11_pool_open(uri, opts != NULL ? opts->pin : NULL,
	    opts != NULL && opts->quiet ? OB_P11_QUIET : 0,
	    opts != NULL && opts->sessions > 0 ? opts->sessions : 1, &p)) !=
	    OB_OK)
		return r;
	*be = p;
	return OB_OK;
}

static int
p11be_keygen(const char *uri, const struct ob_token_opts *opts)
{
	return ob_p11_keygen(uri, opts->alg, opts->pin, opts->quiet);
}

static int
p11be_pubkey(void *be, EVP_PKEY **out)
{
	return ob_p11_pool_pubkey(be, out);
}

static int
p11be_alg(void *be, enum ob_alg *out)
{
	*out = ob_p11_pool_alg(be);
	return OB_OK;
}

static int
p11be_sign(void *be, const struct ob_sign_req *req, struct ob_sign_res *res)
{
	res->header = NULL;
	if (req->alg != ob_p11_pool_alg(be))
		return ob_errf(OB_ERR_ALG_MISMATCH, "the key signs %s, not %s",
		    ob_alg_name(ob_p11_pool_alg(be)), ob_alg_name(req->alg));
	return ob_p11_pool_sign(be, (const unsigned char *)req->tbs,
	    req->tbslen, &res->sig, &res->siglen);
}

static void
p11be_close(void *be)
{
	struct ob_p11_pool *p = be;

	ob_p11_pool_close(&p);
}

const struct ob_token_ops ob_pkcs11_ops = {
	.scheme = "pkcs11",
	.kind = "pkcs11",
	.open = p11be_open,
	.keygen = p11be_keygen,
	.pubkey = p11be_pubkey,
	.alg = p11be_alg,
	.sign = p11be_sign,
	.enroll_info = NULL,
	.close = p11be_close,
	/* The pool lends each thread its own session (ob_p11.h). */
	.concurrent = 1,
};
