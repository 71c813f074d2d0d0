#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/secfile.h"
#include "core/err.h"
#include "tokens/file.h"
#include "tokens/token.h"
#include "tokens/uri.h"

struct file_be {
	EVP_PKEY	*key;
	EVP_PKEY	*pub;
};

static EVP_PKEY *
file_generate(enum ob_alg alg)
{
	switch (alg) {
	case OB_ALG_ES256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case OB_ALG_ES384:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	case OB_ALG_EDDSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case OB_ALG_PS256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	default:
		return NULL;
	}
}

int
ob_file_keygen(const char *path, enum ob_alg alg,
    const struct ob_pin_source *pass, EVP_PKEY **out)
{
	EVP_PKEY	*key = NULL;
	BIO		*bio = NULL;
	char		*pw = NULL, *pem = NULL;
	long		 pemlen = 0;
	int		 r, ok;

	if (alg == OB_ALG_INVALID)
		alg = OB_ALG_ES256;
	if (ob_alg_is_webauthn(alg))
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "%s needs a FIDO2 key",
		    ob_alg_name(alg));
	if ((key = file_generate(alg)) == NULL)
		return ob_errf(OB_ERR_CRYPTO, "key generation for %s",
		    ob_alg_name(alg));
	if (pass != NULL && (r = ob_pin_read_new(pass, "Passphrase for the new "
	    "key: ", &pw)) != OB_OK)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (pw != NULL)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key,
		    EVP_aes_256_cbc(), NULL, 0, NULL, pw);
	else
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0,
		    NULL, NULL);
	if (!ok || (pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		r = ob_errf(OB_ERR_CRYPTO, "PKCS#8 encoding of the new key");
		goto out;
	}
	OB_TRY(ob_secfile_write(path, pem, (size_t)pemlen));
	if (out != NULL) {
		*out = key;
		key = NULL;
	}
	r = OB_OK;
out:
	if (pem != NULL)
		OPENSSL_cleanse(pem, (size_t)pemlen);
	BIO_free(bio);
	ob_pin_free(&pw);
	EVP_PKEY_free(key);
	return r;
}

struct pass_cb {
	const struct ob_pin_source	*src;
	int				 asked;
	int				 r;
};

static int
file_pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_cb	*cb = u;
	char		*pw = NULL;
	size_t		 n;

	(void)rwflag;
	cb->asked = 1;
	if (cb->src == NULL) {
		cb->r = ob_errf(OB_ERR_PIN_SOURCE, "the key is encrypted; give "
		    "--pin-source");
		return -1;
	}
	if ((cb->r = ob_pin_read(cb->src, "Key passphrase: ", &pw)) != OB_OK)
		return -1;
	n = strlen(pw);
	if (size <= 0 || n >= (size_t)size) {
		ob_pin_free(&pw);
		cb->r = ob_errf(OB_ERR_PIN_SOURCE, "passphrase too long");
		return -1;
	}
	memcpy(buf, pw, n);
	ob_pin_free(&pw);
	return (int)n;
}

int
ob_file_load(const char *path, const struct ob_pin_source *pass,
    EVP_PKEY **out)
{
	struct pass_cb	 cb = { pass, 0, OB_OK };
	EVP_PKEY	*key;
	FILE		*f;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? ob_errf(OB_ERR_KEY_NOT_FOUND, "%s",
		    path) : ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	key = PEM_read_PrivateKey(f, NULL, file_pass_cb, &cb);
	fclose(f);
	if (key == NULL) {
		if (cb.r != OB_OK)
			return cb.r;
		return ob_errf(OB_ERR_KEY_LOAD, "%s: %s", path, cb.asked ?
		    "wrong passphrase or damaged key" : "not a PEM private key");
	}
	*out = key;
	return OB_OK;
}

static int
file_open(const char *uri, const struct ob_token_opts *opts, void **bep)
{
	struct file_be	*be;
	const char	*path = NULL;
	int		 r;

	if ((r = ob_uri_file_path(uri, &path)) != OB_OK)
		return r;
	if ((be = calloc(1, sizeof(*be))) == NULL)
		return OB_ERR_ALLOC;
	if ((r = ob_file_load(path, opts != NULL ? opts->pin : NULL,
	    &be->key)) != OB_OK) {
		free(be);
		return r;
	}
	*bep = be;
	return OB_OK;
}

static int
file_keygen(const char *uri, const struct ob_token_opts *opts)
{
	const char	*path = NULL;
	int		 r;

	if ((r = ob_uri_file_path(uri, &path)) != OB_OK)
		return r;
	return ob_file_keygen(path, opts->alg, opts->pin, NULL);
}

static int
file_pubkey(void *v, EVP_PKEY **out)
{
	struct file_be	*be = v;
	unsigned char	*der = NULL;
	const unsigned char *p;
	int		 n;
	EVP_PKEY	*pub;

	/* A public-only copy, so the private key never leaves the backend. */
	if ((n = i2d_PUBKEY(be->key, &der)) <= 0)
		return ob_errf(OB_ERR_CRYPTO, "i2d_PUBKEY");
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	if (pub == NULL)
		return ob_errf(OB_ERR_CRYPTO, "d2i_PUBKEY");
	*out = pub;
	return OB_OK;
}

static int
file_alg(void *v, enum ob_alg *out)
{
	struct file_be *be = v;

	if ((*out = ob_alg_for_key(be->key)) == OB_ALG_INVALID)
		return ob_errf(OB_ERR_KEY_TYPE, "unsupported key in file");
	return OB_OK;
}

static int
file_sign(void *v, const struct ob_sign_req *req, struct ob_sign_res *res)
{
	struct file_be *be = v;

	res->header = NULL;
	return ob_sig_sign(req->alg, be->key,
	    (const unsigned char *)req->tbs, req->tbslen, &res->sig,
	    &res->siglen);
}

static void
file_close(void *v)
{
	struct file_be *be = v;

	EVP_PKEY_free(be->key);
	EVP_PKEY_free(be->pub);
	free(be);
}

const struct ob_token_ops ob_file_ops = {
	.scheme = "file",
	.kind = "software",
	.open = file_open,
	.keygen = file_keygen,
	.pubkey = file_pubkey,
	.alg = file_alg,
	.sign = file_sign,
	.enroll_info = NULL,
	.close = file_close,
	/* One EVP_PKEY, read only: OpenSSL signs with it from any thread. */
	.concurrent = 1,
};
