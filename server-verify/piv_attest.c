/*
 * PIV (YubiKey-style) key attestation, checked by the verifier with
 * OpenSSL only (piv_attest.h, docs/piv.md).  Everything in the member is
 * untrusted: strict base64, one DER certificate per element, a bounded
 * chain, and the attested key compared whole with the enrolled one.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/b64url.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "server-verify/pem_store.h"
#include "server-verify/piv_attest.h"


/* Yubico PIV attestation extensions (developers.yubico.com, "PIV
 * attestation"). */
#define OID_YK_FIRMWARE	"1.3.6.1.4.1.41482.3.3"
#define OID_YK_SERIAL	"1.3.6.1.4.1.41482.3.7"
#define OID_YK_POLICY	"1.3.6.1.4.1.41482.3.8"

int
ob_piv_roots_load(const json_t *arr, X509_STORE **out)
{
	return ob_pem_store_load(arr, OB_PIV_ROOTS_MAX, "piv_roots", out);
}

/* Strict standard base64 (RFC 4648 section 4, padded) of one DER cert. */
static int
x5c_cert(const json_t *v, size_t i, X509 **out)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 dlen;
	X509			*x;
	int			 r;

	if (!json_is_string(v))
		return ob_errf(OB_ERR_ATTEST_INVALID, "x5c[%zu]: not a string",
		    i);
	if ((r = ob_b64_decode(json_string_value(v), json_string_length(v),
	    OB_MAX_CERT, &der, &dlen)) != OB_OK)
		return r == OB_ERR_ALLOC ? r : ob_errf(OB_ERR_ATTEST_INVALID,
		    "x5c[%zu]: %s", i, ob_err_detail());
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)dlen)) == NULL || p != der + dlen) {
		X509_free(x);
		free(der);
		return ob_errf(OB_ERR_ATTEST_INVALID, "x5c[%zu]: not one DER "
		    "certificate", i);
	}
	free(der);
	*out = x;
	return OB_OK;
}

static const ASN1_OCTET_STRING *
ext_data(X509 *x, const char *oid)
{
	ASN1_OBJECT		*obj;
	X509_EXTENSION		*ext;
	int			 idx;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL)
		return NULL;
	idx = X509_get_ext_by_OBJ(x, obj, -1);
	/* An extension present twice is not trusted for either value. */
	if (idx >= 0 && X509_get_ext_by_OBJ(x, obj, idx) >= 0)
		idx = -1;
	ASN1_OBJECT_free(obj);
	if (idx < 0 || (ext = X509_get_ext(x, idx)) == NULL)
		return NULL;
	return X509_EXTENSION_get_data(ext);
}

static void
yk_info(X509 *x, struct ob_piv_attest_info *info)
{
	const ASN1_OCTET_STRING	*os;
	const unsigned char	*p;
	ASN1_INTEGER		*ai;
	uint64_t		 v;

	memset(info, 0, sizeof(*info));
	if ((os = ext_data(x, OID_YK_FIRMWARE)) != NULL &&
	    ASN1_STRING_length(os) == 3) {
		memcpy(info->firmware, ASN1_STRING_get0_data(os), 3);
		info->have_firmware = 1;
	}
	if ((os = ext_data(x, OID_YK_POLICY)) != NULL &&
	    ASN1_STRING_length(os) == 2) {
		info->pin_policy = ASN1_STRING_get0_data(os)[0];
		info->touch_policy = ASN1_STRING_get0_data(os)[1];
		info->have_policy = 1;
	}
	if ((os = ext_data(x, OID_YK_SERIAL)) != NULL) {
		p = ASN1_STRING_get0_data(os);
		ai = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(os));
		if (ai != NULL && p == ASN1_STRING_get0_data(os) +
		    ASN1_STRING_length(os) && ASN1_INTEGER_get_uint64(&v, ai) ==
		    1 && v <= 0xffffffffu) {
			info->serial = (uint32_t)v;
			info->have_serial = 1;
		}
		ASN1_INTEGER_free(ai);
	}
}

int
ob_piv_attest_verify(const json_t *att, const EVP_PKEY *pub,
    X509_STORE *roots, long long now, struct ob_piv_attest_info *info)
{
	static const char *const names[] = { "type", "origin", "x5c", NULL };
	STACK_OF(X509)	*untrusted = NULL, *chain;
	X509_STORE_CTX	*ctx = NULL;
	X509		*leaf = NULL, *x = NULL;
	const json_t	*x5c, *v;
	const char	*s;
	size_t		 i;
	int		 r, err;

	if (!json_is_object(att))
		return ob_errf(OB_ERR_ATTEST_INVALID, "attestation: not an "
		    "object");
	if ((r = ob_json_only_members(att, names, OB_ERR_ATTEST_INVALID)) !=
	    OB_OK)
		return r;
	if ((r = ob_json_get_str(att, "type", 1, 16, OB_ERR_ATTEST_INVALID,
	    OB_ERR_ATTEST_INVALID, &s)) != OB_OK)
		return r;
	if (strcmp(s, "piv") != 0)
		return ob_errf(OB_ERR_ATTEST_INVALID, "attestation type "
		    "\"%.16s\" is not piv", s);
	if ((r = ob_json_get_str(att, "origin", 1, 16, OB_ERR_ATTEST_INVALID,
	    OB_ERR_ATTEST_INVALID, &s)) != OB_OK)
		return r;
	x5c = json_object_get(att, "x5c");
	if (strcmp(s, "imported") == 0)
		return ob_errf(OB_ERR_ATTEST_INVALID, "imported: the key was "
		    "put into the card, not generated on it; no attestation%s",
		    x5c != NULL ? " (and x5c must not be present)" : "");
	if (strcmp(s, "generated") != 0)
		return ob_errf(OB_ERR_ATTEST_INVALID, "origin \"%.16s\"", s);
	if (!json_is_array(x5c) || json_array_size(x5c) < 2 ||
	    json_array_size(x5c) > OB_PIV_X5C_MAX)
		return ob_errf(OB_ERR_ATTEST_INVALID, "x5c: an array of 2..%d "
		    "certificates, the attestation certificate first",
		    OB_PIV_X5C_MAX);
	if (roots == NULL)
		return ob_errf(OB_ERR_ATTEST_UNTRUSTED, "no piv_roots are "
		    "configured");
	if ((untrusted = sk_X509_new_null()) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(x5c, i, v) {
		OB_TRY(x5c_cert(v, i, &x));
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			r = OB_ERR_ALLOC;
			goto out;
		}
		x = NULL;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, roots, leaf, untrusted) != 1) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (now > 0)
		X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	else
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		r = ob_errf(OB_ERR_ATTEST_UNTRUSTED, "the attestation chain "
		    "does not build to a PIV root: %s",
		    X509_verify_cert_error_string(err));
		goto out;
	}
	/* x5c[1] (the card's f9 certificate) must be the leaf's issuer. */
	chain = X509_STORE_CTX_get0_chain(ctx);
	if (chain == NULL || sk_X509_num(chain) < 3 ||
	    X509_cmp(sk_X509_value(chain, 1), sk_X509_value(untrusted, 0)) !=
	    0) {
		r = ob_errf(OB_ERR_ATTEST_UNTRUSTED, "the attestation "
		    "certificate is not issued by x5c[1] under a PIV root");
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), pub) != 1) {
		r = ob_errf(OB_ERR_ATTEST_KEY_MISMATCH, "the attestation "
		    "certifies another key than the enrolled jwk");
		goto out;
	}
	if (info != NULL)
		yk_info(leaf, info);
	r = OB_OK;
out:
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	return r;
}
