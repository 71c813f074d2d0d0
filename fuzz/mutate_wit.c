/*
 * A structure-aware mutator for fuzz-wit (libFuzzer builds only), as
 * mutate_envelope.c is for fuzz-verify.  Both tokens are base64url, and
 * both are signed, so byte mutations of the text almost never reach a
 * claim check.  Here one JWS part (a header or the claims of the WIT or
 * the WPT) is decoded, mutated by libFuzzer, re-encoded and, most of the
 * time, re-signed with the test key its alg names (the issuer keys for
 * the WIT, the agent keys for the WPT); a WIT that changed gets a WPT
 * whose wth is its new hash.  Mutated requests then reach the owner
 * claim, the bindings and the replay state with valid signatures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "tests/vectors/gen_common.h"

#ifndef OB_FUZZ_KEYS
#error "OB_FUZZ_KEYS names tests/vectors/keys"
#endif

#define MUT_MAX	32768

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed);

/* [0] issuer ES256, [1] issuer EdDSA, [2] agent ES256, [3] agent EdDSA */
static struct gkey	keys[4];
static int		loaded;

static void
load_keys(void)
{
	static const char *const files[] = { "owner-es256.pem",
	    "owner-eddsa.pem", "agent-es256.pem", "agent-eddsa.pem" };
	char	*p;
	size_t	 i;

	loaded = 1;
	for (i = 0; i < 4; i++) {
		p = gen_strcat3(OB_FUZZ_KEYS, "/", files[i]);
		gkey_load_or_make(p, i % 2 ? GEN_ED25519 : GEN_P256, &keys[i]);
		free(p);
	}
}

/* A compact JWS as its three parts, decoded (the signature kept as text). */
struct tok {
	unsigned char	*part[2];
	size_t		 len[2];
	char		*sig;
};

static void
tok_free(struct tok *t)
{
	free(t->part[0]);
	free(t->part[1]);
	free(t->sig);
	memset(t, 0, sizeof(*t));
}

static int
tok_split(const char *s, struct tok *t)
{
	const char	*d1, *d2;

	memset(t, 0, sizeof(*t));
	if ((d1 = strchr(s, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL)
		return 0;
	if (ob_b64url_decode(s, (size_t)(d1 - s), MUT_MAX, &t->part[0],
	    &t->len[0]) != OB_OK ||
	    ob_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), MUT_MAX,
	    &t->part[1], &t->len[1]) != OB_OK ||
	    (t->sig = strdup(d2 + 1)) == NULL) {
		tok_free(t);
		return 0;
	}
	return 1;
}

/* The key the header's alg names, from pair (issuer 0, agent 2). */
static const struct gkey *
key_for(const struct tok *t, size_t pair)
{
	json_t		*h = json_loadb((const char *)t->part[0], t->len[0], 0,
			    NULL);
	const char	*alg = json_string_value(json_object_get(h, "alg"));
	size_t		 i = pair + (alg != NULL &&
			    (strcmp(alg, "EdDSA") == 0 ||
			    strcmp(alg, "Ed25519") == 0));

	json_decref(h);
	return &keys[i];
}

/* Encode the parts; with key, sign them (else keep the old signature). */
static char *
tok_join(const struct tok *t, const struct gkey *key)
{
	char		*h = gen_b64(t->part[0], t->len[0]);
	char		*c = gen_b64(t->part[1], t->len[1]);
	char		*tbs = gen_strcat3(h, ".", c), *sig = NULL, *out;
	unsigned char	*s = NULL;
	size_t		 n;

	if (key != NULL && ob_sig_sign(key->alg, key->pk, (unsigned char *)tbs,
	    strlen(tbs), &s, &n) == OB_OK)
		sig = gen_b64(s, n);
	out = gen_strcat3(tbs, ".", sig != NULL ? sig : t->sig);
	free(h);
	free(c);
	free(tbs);
	free(sig);
	free(s);
	return out;
}

/* Mutate one decoded part in place (bounded by MUT_MAX). */
static void
tok_mutate(struct tok *t, int which)
{
	unsigned char *b;

	if ((b = realloc(t->part[which], MUT_MAX)) == NULL)
		return;
	t->part[which] = b;
	t->len[which] = LLVMFuzzerMutate(b, t->len[which], MUT_MAX);
}

/* The WPT's claims with wth set to the hash of wit, if they are JSON. */
static void
fix_wth(struct tok *wpt, const char *wit)
{
	unsigned char	 md[32];
	json_t		*c;
	char		*wth, *s;

	if ((c = json_loadb((const char *)wpt->part[1], wpt->len[1], 0,
	    NULL)) == NULL || !json_is_object(c) ||
	    ob_sha256(wit, strlen(wit), md) != OB_OK) {
		json_decref(c);
		return;
	}
	wth = gen_b64(md, 32);
	json_object_set_new(c, "wth", json_string(wth));
	free(wth);
	if ((s = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL) {
		free(wpt->part[1]);
		wpt->part[1] = (unsigned char *)s;
		wpt->len[1] = strlen(s);
	}
	json_decref(c);
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	struct tok	 wit, wpt;
	char		*in, *nl, *rest, *w1 = NULL, *w2 = NULL, *out;
	size_t		 n;
	unsigned int	 what = seed % 8;
	int		 sign = (seed / 8) % 4 != 0;

	if (!loaded)
		load_keys();
	if (what == 0 || (in = malloc(size + 1)) == NULL)
		return LLVMFuzzerMutate(data, size, max);
	memcpy(in, data, size);
	in[size] = '\0';
	/* WIT "\n" WPT, then the rest as it was. */
	if ((nl = strchr(in, '\n')) == NULL) {
		free(in);
		return LLVMFuzzerMutate(data, size, max);
	}
	*nl = '\0';
	rest = nl + 1;
	if ((nl = strchr(rest, '\n')) != NULL)
		*nl = '\0';
	if (!tok_split(in, &wit) || !tok_split(rest, &wpt)) {
		tok_free(&wit);
		free(in);
		return LLVMFuzzerMutate(data, size, max);
	}
	if (what <= 4) {
		/* 1..4: a WIT part; its WPT follows it. */
		tok_mutate(&wit, what % 2);
		w1 = tok_join(&wit, sign ? key_for(&wit, 0) : NULL);
		fix_wth(&wpt, w1);
		w2 = tok_join(&wpt, key_for(&wpt, 2));
	} else {
		/* 5..7: a WPT part. */
		w1 = tok_join(&wit, NULL);
		tok_mutate(&wpt, what % 2);
		w2 = tok_join(&wpt, sign ? key_for(&wpt, 2) : NULL);
	}
	out = gen_strcat3(w1, "\n", w2);
	n = strlen(out);
	if (nl != NULL) {
		char *t = gen_strcat3(out, "\n", nl + 1);

		free(out);
		out = t;
		n = strlen(out);
	}
	if (n <= max)
		memcpy(data, out, n);
	else
		n = LLVMFuzzerMutate(data, size, max);
	free(out);
	free(w1);
	free(w2);
	tok_free(&wit);
	tok_free(&wpt);
	free(in);
	return n;
}
