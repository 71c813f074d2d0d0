/*
 * A structure-aware mutator for fuzz-verify (libFuzzer builds only).
 *
 * Most of an envelope is base64url, so byte-level mutation of the outer
 * text rarely reaches the JSON inside, and never gets past a signature
 * check.  This mutator decodes one base64url member (payload, a protected
 * header, authenticatorData, clientDataJSON), lets libFuzzer mutate the
 * decoded bytes, re-encodes them and, half of the time, re-signs every
 * entry whose kid names one of the test keys (tests/vectors/keys), FIDO2
 * entries as an authenticator would.  Mutated requests then reach the
 * claim, trust, nonce, FIDO2 and gateway checks with valid signatures.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/b64url.h"
#include "tests/vectors/gen_common.h"
#include "core/webauthn.h"

#ifndef OB_FUZZ_KEYS
#error "OB_FUZZ_KEYS names tests/vectors/keys"
#endif

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed);

static const char *const key_files[] = {
	"owner-es256.pem", "owner-eddsa.pem", "owner-es384.pem",
	"owner-rsa.pem", "owner-fido.pem", "carol-fido.pem", "bob-es256.pem",
	"agent-es256.pem", "agent-eddsa.pem", "agent2-es256.pem", "gw1.pem",
	NULL
};
static struct gkey	keys[16];
static size_t		nkeys;
static int		loaded;

static void
load_keys(void)
{
	char	*p;
	size_t	 i;

	loaded = 1;
	for (i = 0; key_files[i] != NULL; i++) {
		p = gen_strcat3(OB_FUZZ_KEYS, "/", key_files[i]);
		/* Type only matters when the file is missing (never here). */
		gkey_load_or_make(p, GEN_P256, &keys[nkeys++]);
		free(p);
	}
}

static const struct gkey *
key_for(const char *kid)
{
	size_t i;

	if (strcmp(kid, "gw1") == 0)
		kid = keys[10].kid;
	for (i = 0; i < nkeys; i++)
		if (strcmp(keys[i].kid, kid) == 0)
			return &keys[i];
	return NULL;
}

static json_t *
decode_json(const char *b64)
{
	unsigned char	*b;
	size_t		 n;
	json_t		*j;

	if (ob_b64url_decode(b64, strlen(b64), 65536, &b, &n) != OB_OK)
		return NULL;
	j = json_loadb((const char *)b, n, 0, NULL);
	free(b);
	return j;
}

static void
set_b64(json_t *o, const char *k, const void *p, size_t n)
{
	char *s = gen_b64(p, n);

	json_object_set_new(o, k, json_string(s));
	free(s);
}

/* Re-sign entry e of top (best effort: leave it alone on any doubt). */
static void
resign(json_t *top, json_t *e, int keep_cdj)
{
	const char	*pb64, *pl, *kid, *alg;
	json_t		*ph, *hdr;
	const struct gkey *k;
	char		*tbs = NULL, *cdj = NULL;
	unsigned char	*ad = NULL, *sig = NULL, dsig[128];
	size_t		 adlen, cdjlen, siglen;

	if ((pb64 = json_string_value(json_object_get(e, "protected"))) ==
	    NULL || (pl = json_string_value(json_object_get(top,
	    "payload"))) == NULL || (ph = decode_json(pb64)) == NULL)
		return;
	kid = json_string_value(json_object_get(ph, "kid"));
	alg = json_string_value(json_object_get(ph, "alg"));
	if (kid == NULL || alg == NULL || (k = key_for(kid)) == NULL)
		goto out;
	tbs = gen_strcat3(pb64, ".", pl);
	if (strncmp(alg, "webauthn-", 9) == 0) {
		/* Authenticators hold P-256 or Ed25519 keys only. */
		if (k->alg != OB_ALG_ES256 && k->alg != OB_ALG_EDDSA)
			goto out;
		hdr = json_object_get(e, "header");
		if (!json_is_object(hdr) || json_string_value(json_object_get(hdr,
		    "authenticatorData")) == NULL)
			goto out;
		if (ob_b64url_decode(json_string_value(json_object_get(hdr,
		    "authenticatorData")), json_string_length(json_object_get(
		    hdr, "authenticatorData")), 512, &ad, &adlen) != OB_OK)
			goto out;
		if (keep_cdj && json_string_value(json_object_get(hdr,
		    "clientDataJSON")) != NULL) {
			unsigned char *c;

			if (ob_b64url_decode(json_string_value(json_object_get(
			    hdr, "clientDataJSON")), json_string_length(
			    json_object_get(hdr, "clientDataJSON")), 1024, &c,
			    &cdjlen) != OB_OK)
				goto out;
			cdj = (char *)c;
		} else {
			if (ob_webauthn_clientdata(tbs, strlen(tbs), &cdj,
			    &cdjlen) != OB_OK)
				goto out;
			set_b64(hdr, "clientDataJSON", cdj, cdjlen);
		}
		gen_fido_sign(k, ad, adlen, cdj, cdjlen, dsig, &siglen);
		set_b64(e, "signature", dsig, siglen);
	} else if (ob_sig_sign(k->alg, k->pk, (const unsigned char *)tbs,
	    strlen(tbs), &sig, &siglen) == OB_OK)
		set_b64(e, "signature", sig, siglen);
out:
	free(sig);
	free(ad);
	free(cdj);
	free(tbs);
	json_decref(ph);
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	json_t		*top, *sigs, *e, *slots[24], *owner[24];
	const char	*names[24], *s;
	unsigned char	*dec, *buf;
	size_t		 nslots = 0, i, n, cap, outlen;
	char		*out;
	int		 resign_all = (seed >> 4) & 1, ok = 0;

	if (!loaded)
		load_keys();
	if (seed % 5 == 0 || (top = json_loadb((const char *)data, size, 0,
	    NULL)) == NULL)
		return LLVMFuzzerMutate(data, size, max);
	if (json_is_string(json_object_get(top, "payload"))) {
		owner[nslots] = top;
		slots[nslots] = json_object_get(top, "payload");
		names[nslots++] = "payload";
	}
	sigs = json_object_get(top, "signatures");
	json_array_foreach(sigs, i, e) {
		static const char *const hk[] = {
			"authenticatorData", "clientDataJSON"
		};
		json_t *h = json_object_get(e, "header");
		size_t j;

		if (nslots < 20 && json_is_string(json_object_get(e,
		    "protected"))) {
			owner[nslots] = e;
			slots[nslots] = json_object_get(e, "protected");
			names[nslots++] = "protected";
		}
		for (j = 0; j < 2 && json_is_object(h) && nslots < 20; j++)
			if (json_is_string(json_object_get(h, hk[j]))) {
				owner[nslots] = h;
				slots[nslots] = json_object_get(h, hk[j]);
				names[nslots++] = hk[j];
			}
	}
	if (nslots == 0)
		goto out;
	i = (seed >> 8) % nslots;
	s = json_string_value(slots[i]);
	if (ob_b64url_decode(s, strlen(s), 65536, &dec, &n) != OB_OK)
		goto out;
	cap = n * 2 + 64;
	if ((buf = malloc(cap)) == NULL) {
		free(dec);
		goto out;
	}
	memcpy(buf, dec, n);
	free(dec);
	n = LLVMFuzzerMutate(buf, n, cap);
	set_b64(owner[i], names[i], buf, n);
	free(buf);
	if (resign_all)
		json_array_foreach(sigs, n, e)
			resign(top, e, strcmp(names[i], "clientDataJSON") == 0);
	if ((out = json_dumps(top, JSON_COMPACT)) != NULL) {
		outlen = strlen(out);
		if (outlen <= max) {
			memcpy(data, out, outlen);
			size = outlen;
			ok = 1;
		}
		free(out);
	}
out:
	json_decref(top);
	return ok ? size : LLVMFuzzerMutate(data, size, max);
}
