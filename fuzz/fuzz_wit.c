/*
 * libFuzzer harness: a WIT and its WPT through the relying party's whole
 * path (ob_rp_verify_wit: both tokens' form, the issuer key, the WIT's
 * claims and owner claim, the WPT's claims and bindings, both signatures,
 * the replay state) at a fixed time, with issuer keys from a JWKS made of
 * the test keys in tests/vectors/keys (fuzz/make-wit-corpus.py signs the
 * corpus with the same keys).
 *
 * Input: lines "WIT\nWPT[\nACCESS-TOKEN[\nX-CTX]]": the last two, when
 * there, are an access token and an x-ctx header the request carries
 * (so ath and oth are checked against something).
 *
 * Besides "no crash", the harness holds the verifier to three rules: an
 * accepted request is refused as a replay the second time; a dry run
 * (no state) says what the run with state said, replay aside; and an
 * accepted result serialises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/jwk.h"
#include "ownerbind/ob_rp.h"

#ifndef OB_FUZZ_KEYS
#error "OB_FUZZ_KEYS names tests/vectors/keys"
#endif

#define NOW		1767225600LL	/* GEN_NOW (tests/vectors) */
#define AUD		"https://svc.example/v1/report"
#define FUZZ_MAX	(OB_RP_MAX_WIT + OB_RP_MAX_WPT + 1024)
#define STATE_RENEW	10000		/* acceptances before a fresh store */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ob_rp	*rp;
static struct ob_state	*state;
static unsigned long	 accepted;

static EVP_PKEY *
load_key(const char *name)
{
	char		 path[1024];
	FILE		*f;
	EVP_PKEY	*k;

	(void)snprintf(path, sizeof(path), "%s/%s", OB_FUZZ_KEYS, name);
	if ((f = fopen(path, "r")) == NULL ||
	    (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "fuzz_wit: cannot load %s\n", path);
		abort();
	}
	fclose(f);
	return k;
}

/* The issuer keys: the ES256 and the EdDSA test owner keys. */
static void
init(void)
{
	static const char *const names[] = { "owner-es256.pem",
	    "owner-eddsa.pem" };
	json_t	*keys = json_array(), *jwk, *doc;
	char	*s, kid[44];
	size_t	 i;

	for (i = 0; i < 2; i++) {
		EVP_PKEY *k = load_key(names[i]);

		if (ob_jwk_from_pkey(k, &jwk) != OB_OK ||
		    ob_pkey_thumbprint(k, kid) != OB_OK)
			abort();
		json_object_set_new(jwk, "kid", json_string(kid));
		json_array_append_new(keys, jwk);
		EVP_PKEY_free(k);
	}
	doc = json_pack("{s:o}", "keys", keys);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (s == NULL || ob_rp_new(&rp) != OB_OK ||
	    ob_rp_add_issuer_jwks(rp, s, strlen(s)) != OB_OK ||
	    ob_rp_set_now(rp, NOW) != OB_OK ||
	    ob_state_open_memory(&state) != OB_OK) {
		fprintf(stderr, "fuzz_wit: %s\n", ob_err_detail());
		abort();
	}
	free(s);
}

/* The next line of buf (NUL-terminated in place), or NULL. */
static char *
next_line(char **p)
{
	char *s = *p, *nl;

	if (s == NULL)
		return NULL;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = NULL;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_rp_req	*q = NULL;
	struct ob_rp_result	*res = NULL;
	char			*buf, *p, *wit, *wpt, *at, *ctx, *js = NULL;
	int			 r, r2, r3;

	if (rp == NULL)
		init();
	if (size > FUZZ_MAX || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf;
	wit = next_line(&p);
	wpt = next_line(&p);
	at = next_line(&p);
	ctx = next_line(&p);
	if (ob_rp_req_new(&q) != OB_OK || ob_rp_req_set_aud(q, AUD) != OB_OK)
		abort();
	/* A token the request could not carry (empty, too long) is left
	 * out, as a service would refuse it before verifying. */
	if (at != NULL && *at != '\0' && ob_rp_req_set_access_token(q, at) !=
	    OB_OK)
		at = NULL;
	if (ctx != NULL && *ctx != '\0' &&
	    ob_rp_req_add_other_token(q, "x-ctx", ctx) != OB_OK)
		ctx = NULL;
	r = ob_rp_verify_wit(rp, state, q, wit, wpt, &res);
	if (r == OB_OK) {
		if (res == NULL || ob_rp_result_json(res, &js) != OB_OK)
			abort();
		free(js);
		ob_rp_result_free(&res);
		if ((r2 = ob_rp_verify_wit(rp, state, q, wit, wpt, &res)) !=
		    OB_ERR_WPT_REPLAY) {
			fprintf(stderr, "accepted twice: %s\n",
			    ob_err_name(r2));
			abort();
		}
		if (++accepted % STATE_RENEW == 0) {
			ob_state_free(&state);
			if (ob_state_open_memory(&state) != OB_OK)
				abort();
		}
	} else if (res != NULL)
		abort();
	r3 = ob_rp_verify_wit(rp, NULL, q, wit, wpt, &res);
	ob_rp_result_free(&res);
	if ((r == OB_OK || r == OB_ERR_WPT_REPLAY) ? r3 != OB_OK : r3 != r) {
		fprintf(stderr, "dry run says %s, with state %s\n",
		    ob_err_name(r3), ob_err_name(r));
		abort();
	}
	ob_rp_req_free(&q);
	free(buf);
	return 0;
}
