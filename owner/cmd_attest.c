/*
 * ownerbind attest: TPM key attestation evidence (docs/tpm2.md,
 * "Attestation").  Built only with the TPM 2.0 backend.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "common/cliutil.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "owner/ownerbind.h"
#include "tokens/token.h"
#ifdef OB_HAVE_TPM2
#include "tokens/tpm2/tpm2.h"
#endif

static void
attest_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " attest --key tpm2:... --ak tpm2:... --nonce N\n"
"           [--pin-source SRC] [-o OUT]\n"
"       " PROG " attest --create-ak --ak tpm2:...\n"
"       " PROG " attest --show-ak --ak tpm2:...\n"
"\n"
"Has the TPM certify (TPM2_Certify) that the key at --key lives in it,\n"
"signed by the attestation key at --ak, with the verifier's nonce N\n"
"(base64url, 1..64 bytes) as qualifying data, and writes the evidence as\n"
"JSON (docs/tpm2.md).  --create-ak makes a restricted ECC P-256\n"
"attestation key; --create-ak and --show-ak print its trust-store entry.\n");
}

#ifdef OB_HAVE_TPM2
/* The AK's entry for the verifier's trust store. */
static int
attest_show_ak(const char *ak, const struct ob_token_opts *opts,
    const char *out)
{
	EVP_PKEY	*pub = NULL;
	json_t		*jwk = NULL, *o = NULL;
	char		 kid[44];
	int		 r;

	OB_TRY(ob_tpm2_ak_pubkey(ak, opts, &pub));
	OB_TRY(ob_jwk_from_pkey(pub, &jwk));
	OB_TRY(ob_pkey_thumbprint(pub, kid));
	if ((o = json_pack("{s:s,s:s,s:O}", "kid", kid, "kind", "tpm2-ak",
	    "jwk", jwk)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	r = owner_emit_json(out, o);
out:
	json_decref(o);
	json_decref(jwk);
	EVP_PKEY_free(pub);
	return r;
}

static int
attest_run(const char *key, const char *ak, const char *nonce,
    const struct ob_token_opts *opts, const char *out)
{
	struct ob_tpm2_evidence	 ev;
	unsigned char		*nb = NULL;
	size_t			 nlen = 0;
	json_t			*o = NULL;
	char			 kid[44], akid[44];
	int			 r;

	memset(&ev, 0, sizeof(ev));
	if (ob_b64url_decode(nonce, strlen(nonce), OB_TPM2_NONCE_MAX, &nb,
	    &nlen) != OB_OK || nlen == 0) {
		r = ob_errf(OB_ERR_USAGE, "--nonce is base64url of 1..%d bytes",
		    OB_TPM2_NONCE_MAX);
		goto out;
	}
	OB_TRY(ob_tpm2_certify(key, ak, opts, nb, nlen, &ev));
	OB_TRY(ob_pkey_thumbprint(ev.key_pub, kid));
	OB_TRY(ob_pkey_thumbprint(ev.ak_pub, akid));
	if ((o = json_pack("{s:s,s:s,s:s,s:s}", "format", "tpm2-certify",
	    "nonce", nonce, "kid", kid, "ak_kid", akid)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(ob_json_set_b64(o, "attest", ev.attest, ev.attest_len));
	OB_TRY(ob_json_set_b64(o, "signature", ev.sig, ev.sig_len));
	OB_TRY(ob_json_set_b64(o, "public", ev.pub, ev.pub_len));
	r = owner_emit_json(out, o);
out:
	json_decref(o);
	free(nb);
	ob_tpm2_evidence_free(&ev);
	return r;
}
#endif

int
cmd_attest(int argc, char **argv)
{
	enum { O_KEY = 256, O_AK, O_NONCE, O_PIN, O_CREATE, O_SHOW };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "ak", required_argument, NULL, O_AK },
		{ "nonce", required_argument, NULL, O_NONCE },
		{ "pin-source", required_argument, NULL, O_PIN },
		{ "create-ak", no_argument, NULL, O_CREATE },
		{ "show-ak", no_argument, NULL, O_SHOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*key = NULL, *ak = NULL, *nonce = NULL, *pin = NULL;
	const char	*out = NULL;
	int		 ch, create = 0, show = 0;

	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: key = optarg; break;
		case O_AK: ak = optarg; break;
		case O_NONCE: nonce = optarg; break;
		case O_PIN: pin = optarg; break;
		case O_CREATE: create = 1; break;
		case O_SHOW: show = 1; break;
		case 'o': out = optarg; break;
		case 'h':
			attest_usage(stdout);
			return 0;
		default:
			return owner_badopt(attest_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("attest", attest_usage, { "--ak", ak }))
		return EXIT_USAGE;
	if (optind != argc || create + show > 1 ||
	    ((create || show) ? key != NULL || nonce != NULL :
	    key == NULL || nonce == NULL))
		return owner_usage(attest_usage, NULL);
#ifdef OB_HAVE_TPM2
	{
		struct ob_token_opts	 opts;
		struct ob_pin_source	*src = NULL;
		int			 r;

		memset(&opts, 0, sizeof(opts));
		opts.alg = OB_ALG_ES256;
		if ((r = ob_pin_source_parse(pin, &src)) != OB_OK)
			return fail(r);
		opts.pin = src;
		opts.quiet = 1;
		if (create) {
			if ((r = ob_tpm2_ak_create(ak, &opts)) == OB_OK)
				r = attest_show_ak(ak, &opts, out);
		} else if (show)
			r = attest_show_ak(ak, &opts, out);
		else
			r = attest_run(key, ak, nonce, &opts, out);
		ob_pin_source_free(&src);
		return r == OB_OK ? 0 : fail(r);
	}
#else
	(void)pin;
	(void)out;
	return fail(ob_errf(OB_ERR_KEY_SCHEME, "this ownerbind was built "
	    "without the TPM 2.0 backend"));
#endif
}
