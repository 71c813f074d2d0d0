/*
 * keygen for fido2: URIs: makeCredential (ES256 or EdDSA, resident or
 * not), a check of the attestation statement the key returns, and the
 * credential file (pub=) that sign reads later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/b64url.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/jwk.h"
#include "tokens/fido2/fido2_int.h"
#include "core/webauthn.h"

/*
 * The credential's public key, through the same JWK path the verifier
 * uses (point on the curve, sizes exact): P-256 x||y or Ed25519 raw.
 */
static int
enroll_pubkey(const fido_cred_t *cred, int cose, EVP_PKEY **out)
{
	const unsigned char	*p = fido_cred_pubkey_ptr(cred);
	size_t			 len = fido_cred_pubkey_len(cred);
	json_t			*jwk = NULL;
	char			*x = NULL, *y = NULL;
	int			 r;

	if (fido_cred_type(cred) != cose || p == NULL ||
	    len != (cose == COSE_ES256 ? 64u : 32u))
		return ob_errf(OB_ERR_DEVICE, "the key returned another key "
		    "type than requested");
	if (cose == COSE_ES256) {
		OB_TRY(ob_b64url_encode(p, 32, &x));
		OB_TRY(ob_b64url_encode(p + 32, 32, &y));
		jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
		    "P-256", "x", x, "y", y);
	} else {
		OB_TRY(ob_b64url_encode(p, 32, &x));
		jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519",
		    "x", x);
	}
	if (jwk == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((r = ob_jwk_to_pkey(jwk, out)) != OB_OK)
		r = ob_err_prefix(OB_ERR_DEVICE, "the key returned an invalid "
		    "public key");
out:
	json_decref(jwk);
	free(x);
	free(y);
	return r;
}

/*
 * WebAuthn section 8.2.1: a packed attestation certificate is an
 * end-entity certificate, and if it names an AAGUID (extension
 * 1.3.6.1.4.1.45724.1.1.4, an OCTET STRING of 16 bytes) that must be the
 * credential's.  libfido2 checks the signature, not these.
 */
static int
enroll_cert(const fido_cred_t *cred)
{
	const unsigned char	*p = fido_cred_x5c_ptr(cred);
	const unsigned char	*aag = fido_cred_aaguid_ptr(cred);
	const unsigned char	*q;
	X509			*x;
	ASN1_OBJECT		*oid = NULL;
	ASN1_OCTET_STRING	*inner = NULL;
	const ASN1_OCTET_STRING	*v;
	int			 i, r = OB_OK;

	if ((x = d2i_X509(NULL, &p, (long)fido_cred_x5c_len(cred))) == NULL ||
	    p != fido_cred_x5c_ptr(cred) + fido_cred_x5c_len(cred))
		r = ob_errf(OB_ERR_ATTEST_INVALID, "x5c[0] is not one DER "
		    "certificate");
	else if (X509_check_ca(x) != 0)
		r = ob_errf(OB_ERR_ATTEST_INVALID, "the attestation "
		    "certificate is a CA certificate");
	else if ((oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1)) == NULL)
		r = OB_ERR_ALLOC;
	else if ((i = X509_get_ext_by_OBJ(x, oid, -1)) >= 0) {
		v = X509_EXTENSION_get_data(X509_get_ext(x, i));
		q = ASN1_STRING_get0_data(v);
		if (X509_EXTENSION_get_critical(X509_get_ext(x, i)) ||
		    (inner = d2i_ASN1_OCTET_STRING(NULL, &q,
		    ASN1_STRING_length(v))) == NULL ||
		    q != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) ||
		    ASN1_STRING_length(inner) != 16 || aag == NULL ||
		    fido_cred_aaguid_len(cred) != 16 ||
		    memcmp(ASN1_STRING_get0_data(inner), aag, 16) != 0)
			r = ob_errf(OB_ERR_ATTEST_INVALID, "the attestation "
			    "certificate names another AAGUID");
	}
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	return r;
}

/* Check the attestation statement; record what was checked. */
static int
enroll_attest(const fido_cred_t *cred, json_t **out)
{
	const char	*fmt = fido_cred_fmt(cred);
	const char	*type;
	json_t		*o = NULL, *x5c = NULL;
	char		*b64 = NULL;
	size_t		 len;
	int		 fr, r;

	if (fmt == NULL)
		return ob_errf(OB_ERR_ATTEST_INVALID, "no attestation format");
	if (strcmp(fmt, "none") == 0) {
		type = "none";		/* nothing to check */
		fr = FIDO_OK;
	} else if (fido_cred_x5c_len(cred) > 0) {
		type = "basic";		/* signed by the batch key in x5c */
		fr = fido_cred_verify(cred);
	} else {
		type = "self";		/* signed by the new credential */
		fr = fido_cred_verify_self(cred);
	}
	if (fr != FIDO_OK)
		return ob_errf(OB_ERR_ATTEST_INVALID, "%s attestation (%s): %s",
		    fmt, type, fido_strerr(fr));
	if (strcmp(type, "basic") == 0 && strcmp(fmt, "packed") == 0 &&
	    (r = enroll_cert(cred)) != OB_OK)
		return r;
	if ((o = json_pack("{s:s,s:s}", "fmt", fmt, "type", type)) == NULL)
		return OB_ERR_ALLOC;
	if ((len = fido_cred_x5c_len(cred)) > 0) {
		if (len > 8192) {
			r = ob_errf(OB_ERR_ATTEST_INVALID, "attestation "
			    "certificate of %zu bytes", len);
			goto out;
		}
		if ((b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		EVP_EncodeBlock((unsigned char *)b64, fido_cred_x5c_ptr(cred),
		    (int)len);
		if ((x5c = json_array()) == NULL ||
		    json_array_append_new(x5c, json_string(b64)) != 0 ||
		    json_object_set(o, "x5c", x5c) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	*out = o;
	o = NULL;
	r = OB_OK;
out:
	free(b64);
	json_decref(x5c);
	json_decref(o);
	return r;
}

int
fido2_check_mc_authdata(const unsigned char *ad, size_t len,
    const char *rp_id, int uv)
{
	struct ob_authdata	pa;
	unsigned char		h[32];
	int			r;

	if ((r = ob_rpid_hash(rp_id, h)) != OB_OK)
		return r;
	if (ad == NULL || ob_authdata_head(ad, len, &pa) != OB_OK ||
	    memcmp(pa.rpid_hash, h, 32) != 0)
		return ob_errf(OB_ERR_FIDO_RPID, "makeCredential answered for "
		    "another relying party");
	if ((pa.flags & OB_AD_UP) == 0)
		return ob_errf(OB_ERR_FIDO_UP, "makeCredential without user "
		    "presence");
	if (uv && (pa.flags & OB_AD_UV) == 0)
		return ob_errf(OB_ERR_FIDO_UV, "makeCredential without user "
		    "verification");
	if ((pa.flags & OB_AD_AT) == 0)
		return ob_errf(OB_ERR_FIDO_AUTHDATA, "no attested credential "
		    "data");
	/* libfido2 took it apart already; hold it to the same parser the
	 * verifier would use. */
	return ob_authdata_parse(ad, len, &pa);
}

/* Whatever the statement, the authenticator data must be ours. */
static int
enroll_authdata(const fido_cred_t *cred, const char *rp_id, int uv)
{
	return fido2_check_mc_authdata(fido_cred_authdata_raw_ptr(cred),
	    fido_cred_authdata_raw_len(cred), rp_id, uv);
}

int
fido2_keygen(const char *uri, const struct ob_token_opts *opts)
{
	struct fido2_uri	 u;
	struct fido2_cred	 c;
	fido_dev_t		*dev = NULL;
	fido_cred_t		*cred = NULL;
	const unsigned char	*aag;
	unsigned char		 cdh[32], uid[32];
	char			*path = NULL, *pin = NULL;
	int			 cose, fr, r, builtin_uv = 0, quiet;

	memset(&u, 0, sizeof(u));
	memset(&c, 0, sizeof(c));
	quiet = opts != NULL && opts->quiet;
	OB_TRY(fido2_uri_parse(uri, &u));
	if (u.pub == NULL) {
		r = ob_errf(OB_ERR_KEY_URI, "keygen needs pub=PATH: the "
		    "credential file to write");
		goto out;
	}
	if (u.cred != NULL) {
		r = ob_errf(OB_ERR_KEY_URI, "keygen makes the credential; "
		    "cred= is for existing ones");
		goto out;
	}
	if (access(u.pub, F_OK) == 0) {
		r = ob_errf(OB_ERR_KEY_EXISTS, "%s", u.pub);
		goto out;
	}
	switch (opts != NULL ? opts->alg : OB_ALG_INVALID) {
	case OB_ALG_INVALID:
	case OB_ALG_ES256:
	case OB_ALG_WEBAUTHN_ES256:
		cose = COSE_ES256;
		c.alg = OB_ALG_WEBAUTHN_ES256;
		break;
	case OB_ALG_EDDSA:
	case OB_ALG_WEBAUTHN_EDDSA:
		cose = COSE_EDDSA;
		c.alg = OB_ALG_WEBAUTHN_EDDSA;
		break;
	default:
		r = ob_errf(OB_ERR_ALG_UNSUPPORTED, "FIDO2 keys sign with ES256 "
		    "or EdDSA");
		goto out;
	}
	if ((c.rp_id = strdup(u.rp_id != NULL ? u.rp_id :
	    OB_WEBAUTHN_RPID)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	c.uv_required = u.uv == FIDO2_UV_REQUIRED;
	c.resident = u.rk;
	if (u.dev != NULL) {
		OB_TRY(fido2_dev_open(u.dev, &dev));
		if ((path = strdup(u.dev)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	} else
		OB_TRY(fido2_dev_only(&dev, &path));
	/*
	 * With a PIN set, CTAP2 wants it for makeCredential whatever the
	 * policy; without one, UV needs built-in verification.
	 */
	if (fido_dev_has_pin(dev)) {
		OB_TRY(fido2_pin(opts != NULL ? opts->pin : NULL,
		    "FIDO2 PIN: ", &pin));
	} else if (c.uv_required) {
		if (!fido_dev_has_uv(dev)) {
			r = ob_errf(OB_ERR_DEVICE, "%s has no PIN and no built-in "
			    "user verification; set a PIN (fido2-token -S) for "
			    "uv=required", path);
			goto out;
		}
		builtin_uv = 1;
	}
	if (RAND_bytes(cdh, sizeof(cdh)) != 1 ||
	    RAND_bytes(uid, sizeof(uid)) != 1) {
		r = OB_ERR_RANDOM;
		goto out;
	}
	if ((cred = fido_cred_new()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((fr = fido_cred_set_type(cred, cose)) != FIDO_OK ||
	    (fr = fido_cred_set_clientdata_hash(cred, cdh, sizeof(cdh))) ||
	    (fr = fido_cred_set_rp(cred, c.rp_id, "ownerbind")) ||
	    (fr = fido_cred_set_user(cred, uid, sizeof(uid), "ownerbind-owner",
	    "ownerbind owner key", NULL)) ||
	    (fr = fido_cred_set_rk(cred, u.rk ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT)) ||
	    (fr = fido_cred_set_uv(cred, builtin_uv ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT))) {
		r = fido2_err(fr, "makeCredential setup", NULL);
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "ownerbind: creating a %s credential for relying "
		    "party \"%s\" on %s\nownerbind: touch your security key\n",
		    ob_alg_name(c.alg), c.rp_id, path);
	fr = fido_dev_make_cred(dev, cred, pin);
	ob_pin_free(&pin);
	if (fr != FIDO_OK) {
		r = fido2_err(fr, "makeCredential", dev);
		goto out;
	}
	OB_TRY(enroll_authdata(cred, c.rp_id, c.uv_required));
	OB_TRY(enroll_attest(cred, &c.attestation));
	OB_TRY(enroll_pubkey(cred, cose, &c.pub));
	if (fido_cred_id_len(cred) == 0 || fido_cred_id_len(cred) >
	    FIDO2_MAX_CRED_ID || (aag = fido_cred_aaguid_ptr(cred)) == NULL ||
	    fido_cred_aaguid_len(cred) != 16) {
		r = ob_errf(OB_ERR_DEVICE, "credential id or AAGUID malformed");
		goto out;
	}
	if ((c.id = malloc(fido_cred_id_len(cred))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	c.id_len = fido_cred_id_len(cred);
	memcpy(c.id, fido_cred_id_ptr(cred), c.id_len);
	(void)ob_bin_to_hex(aag, 16, c.aaguid, sizeof(c.aaguid));
	c.backup_eligible = (fido_cred_flags(cred) & OB_AD_BE) != 0;
	OB_TRY(fido2_credfile_write(u.pub, &c));
	if (!quiet)
		fprintf(stderr, "ownerbind: credential file %s written (%s "
		    "attestation); sign with --key '%s'\n", u.pub,
		    json_string_value(json_object_get(c.attestation, "type")),
		    uri);
	r = OB_OK;
out:
	ob_pin_free(&pin);
	fido_cred_free(&cred);
	fido2_dev_close(&dev);
	free(path);
	fido2_cred_free(&c);
	fido2_uri_free(&u);
	return r;
}
