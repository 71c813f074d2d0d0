/*
 * tpm_attest_check EVIDENCE AK KEY NONCE: run the verifier's TPM
 * attestation check (server-verify/tpm_attest.c) on evidence from
 * `ownerbind attest`.  AK and KEY are JSON objects with a "jwk" member
 * (`ownerbind attest --show-ak`, `ownerbind keygen --json`); NONCE is the
 * nonce the verifier issued.  Prints the result code's name; exit 0 only
 * for OB_OK.  A test driver, standing in for the lead's trust-store wiring.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/b64url.h"
#include "core/jwk.h"
#include "server-verify/tpm_attest.h"

static json_t *
load(const char *path)
{
	json_error_t e;

	return json_load_file(path, JSON_REJECT_DUPLICATES, &e);
}

static int
b64(const json_t *o, const char *k, unsigned char **out, size_t *len)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_string(v))
		return OB_ERR_ATTEST_INVALID;
	return ob_b64url_decode(json_string_value(v), json_string_length(v),
	    4096, out, len);
}

int
main(int argc, char **argv)
{
	json_t		*ev, *ak, *key;
	EVP_PKEY	*akp = NULL, *keyp = NULL;
	unsigned char	*att = NULL, *sig = NULL, *pub = NULL, *nonce = NULL;
	size_t		 attlen, siglen, publen, nlen;
	int		 r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s EVIDENCE AK KEY NONCE\n", argv[0]);
		return 2;
	}
	if ((ev = load(argv[1])) == NULL || (ak = load(argv[2])) == NULL ||
	    (key = load(argv[3])) == NULL) {
		fprintf(stderr, "cannot read the JSON inputs\n");
		return 2;
	}
	if ((r = ob_jwk_to_pkey(json_object_get(ak, "jwk"), &akp)) != OB_OK ||
	    (r = ob_jwk_to_pkey(json_object_get(key, "jwk"), &keyp)) != OB_OK ||
	    (r = ob_b64url_decode(argv[4], strlen(argv[4]), 64, &nonce,
	    &nlen)) != OB_OK)
		goto out;
	if (!json_is_object(ev) ||
	    strcmp(json_string_value(json_object_get(ev, "format")) ?
	    json_string_value(json_object_get(ev, "format")) : "",
	    "tpm2-certify") != 0 ||
	    (r = b64(ev, "attest", &att, &attlen)) != OB_OK ||
	    (r = b64(ev, "signature", &sig, &siglen)) != OB_OK ||
	    (r = b64(ev, "public", &pub, &publen)) != OB_OK) {
		r = OB_ERR_ATTEST_INVALID;
		goto out;
	}
	r = ob_tpm_attest_verify(att, attlen, sig, siglen, pub, publen, akp,
	    nonce, nlen, keyp);
out:
	printf("%s%s%s\n", ob_err_name(r), r == OB_OK ? "" : ": ",
	    r == OB_OK ? "" : ob_err_detail());
	EVP_PKEY_free(akp);
	EVP_PKEY_free(keyp);
	free(att);
	free(sig);
	free(pub);
	free(nonce);
	json_decref(ev);
	json_decref(ak);
	json_decref(key);
	return r == OB_OK ? 0 : 1;
}
