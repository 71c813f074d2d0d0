/*
 * The positive test vectors in the JSON files of tests/vectors (docs/envelope.md,
 * "Test vectors").  Each vector gives fixed keys, claims and headers; this
 * program rebuilds payload, protected headers, signing inputs,
 * clientDataJSON and the envelope and compares them byte for byte with
 * "expected", recomputes deterministic (Ed25519) signatures, and runs the
 * verifier.  `test_vectors --write FILE...` (re)fills "expected".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server-verify/verify_int.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/deconst.h"
#include "core/json.h"
#include "core/jwk.h"
#include "server-verify/state.h"
#include "core/webauthn.h"

static int writing;

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*b;
	long	 n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return b;
}

/* Compare with expected[key], or record it when writing. */
static void
check(json_t *exp, const char *key, const char *got)
{
	const char *want;

	if (writing) {
		json_object_set_new(exp, key, json_string(got));
		return;
	}
	want = json_string_value(json_object_get(exp, key));
	if (want == NULL || strcmp(want, got) != 0)
		fail_msg("%s differs:\n got  %s\n want %s", key, got,
		    want != NULL ? want : "(missing)");
}

static json_t *
build_claims(const json_t *tmpl, EVP_PKEY *agent)
{
	json_t		*c = json_object(), *jwk = NULL, *v;
	const char	*k;

	assert_int_equal(ob_jwk_from_pkey(agent, &jwk), OB_OK);
	json_object_foreach(OB_DECONST(json_t *, tmpl), k, v) {
		json_object_set(c, k, v);
		if (strcmp(k, "owner") == 0)
			json_object_set_new(c, "cnf", json_pack("{s:o}", "jwk",
			    jwk));
	}
	return c;
}

static char *
build_trust(const json_t *vec, EVP_PKEY *owner)
{
	const json_t	*f = json_object_get(vec, "fido2");
	const char	*kind = json_string_value(json_object_get(vec,
	    "owner_kind"));

	return t_trust("alice@example.com", "wimse://td.example/agents/*",
	    owner, kind, f != NULL ? json_string_value(json_object_get(f,
	    "rp_id")) : NULL, f != NULL && strcmp(json_string_value(
	    json_object_get(f, "uv")), "required") == 0);
}

static void
fido_parts(const json_t *f, const char *tbs, size_t tbslen,
    unsigned char ad[37], char **cdj, size_t *cdjlen)
{
	uint32_t c = (uint32_t)json_integer_value(json_object_get(f, "counter"));

	assert_int_equal(ob_rpid_hash(json_string_value(json_object_get(f,
	    "rp_id")), ad), OB_OK);
	ad[32] = (unsigned char)json_integer_value(json_object_get(f, "flags"));
	ad[33] = (unsigned char)(c >> 24);
	ad[34] = (unsigned char)(c >> 16);
	ad[35] = (unsigned char)(c >> 8);
	ad[36] = (unsigned char)c;
	assert_int_equal(ob_webauthn_clientdata(tbs, tbslen, cdj, cdjlen),
	    OB_OK);
}

static unsigned char *
sign_raw(enum ob_alg alg, EVP_PKEY *key, const unsigned char *m, size_t mlen,
    size_t *siglen)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	*sig;

	assert_int_equal(EVP_DigestSignInit(ctx, NULL, ob_alg_md(alg), NULL,
	    key), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, siglen, m, mlen), 1);
	sig = malloc(*siglen);
	assert_int_equal(EVP_DigestSign(ctx, sig, siglen, m, mlen), 1);
	EVP_MD_CTX_free(ctx);
	return sig;
}

static void
run_vector(const char *path)
{
	char		*text = slurp(path), *b = NULL, *s = NULL, *tbs = NULL;
	char		*cdj = NULL, *trust_s, *js = NULL, *kid;
	json_t		*vec = NULL, *exp, *xents, *xe, *claims, *ent;
	json_t		*ph, *hdr;
	EVP_PKEY	*owner, *agent, *key;
	struct ob_envelope *env = NULL;
	struct ob_trust	*trust = NULL;
	struct ob_state	*st = NULL;
	struct ob_verdict *v = NULL;
	struct ob_verify_opts o;
	unsigned char	 ad[37], *sig = NULL, *msg = NULL;
	size_t		 i, n, tbslen, cdjlen, siglen, msglen;
	enum ob_alg	 alg;
	const char	*nonce;

	assert_int_equal(ob_json_parse_object(text, strlen(text), &vec), OB_OK);
	owner = t_pem(json_string_value(json_object_get(json_object_get(vec,
	    "keys"), "owner")));
	agent = t_pem(json_string_value(json_object_get(json_object_get(vec,
	    "keys"), "agent")));
	if (writing || (exp = json_object_get(vec, "expected")) == NULL) {
		writing = 1;
		exp = json_object();
		json_object_set_new(vec, "expected", exp);
	}
	xents = json_object_get(exp, "entries");
	if (writing) {
		xents = json_array();
		json_object_set_new(exp, "entries", xents);
	}
	claims = build_claims(json_object_get(vec, "claims"), agent);
	assert_int_equal(ob_envelope_new(claims, &env), OB_OK);
	check(exp, "payload", env->payload_b64);
	json_array_foreach(json_object_get(vec, "entries"), i, ent) {
		int is_owner = strcmp(json_string_value(json_object_get(ent,
		    "signer")), "owner") == 0;

		key = is_owner ? owner : agent;
		if (writing)
			json_array_append_new(xents, json_object());
		xe = json_array_get(xents, i);
		assert_non_null(xe);
		ph = json_deep_copy(json_object_get(ent, "protected"));
		kid = t_kid(key);
		json_object_set_new(ph, "kid", json_string(kid));
		free(kid);
		assert_int_equal(ob_protected_encode(ph, &b), OB_OK);
		check(xe, "protected", b);
		assert_int_equal(ob_envelope_signing_input(env, b, &tbs,
		    &tbslen), OB_OK);
		check(xe, "signing_input", tbs);
		assert_int_equal(ob_alg_from_name(json_string_value(
		    json_object_get(ph, "alg")), &alg), OB_OK);
		hdr = NULL;
		if (ob_alg_is_webauthn(alg)) {
			char *adb = NULL, *cdb = NULL;

			fido_parts(json_object_get(vec, "fido2"), tbs, tbslen,
			    ad, &cdj, &cdjlen);
			check(xe, "clientDataJSON", cdj);
			assert_int_equal(ob_b64url_encode(ad, 37, &adb), OB_OK);
			assert_int_equal(ob_b64url_encode((unsigned char *)cdj,
			    cdjlen, &cdb), OB_OK);
			hdr = json_pack("{s:s,s:s}", "authenticatorData", adb,
			    "clientDataJSON", cdb);
			assert_int_equal(ob_webauthn_message(ad, 37,
			    (unsigned char *)cdj, cdjlen, &msg, &msglen), OB_OK);
			free(adb);
			free(cdb);
		} else {
			msg = (unsigned char *)strdup(tbs);
			msglen = tbslen;
		}
		/* Ed25519 is deterministic: compare; ECDSA: reuse, verify. */
		if (writing || alg == OB_ALG_EDDSA ||
		    alg == OB_ALG_WEBAUTHN_EDDSA) {
			if (ob_alg_is_webauthn(alg))
				sig = sign_raw(alg, key, msg, msglen, &siglen);
			else
				assert_int_equal(ob_sig_sign(alg, key, msg,
				    msglen, &sig, &siglen), OB_OK);
			assert_int_equal(ob_b64url_encode(sig, siglen, &s),
			    OB_OK);
			check(xe, "signature", s);
		} else {
			const char *want = json_string_value(json_object_get(xe,
			    "signature"));

			assert_non_null(want);
			assert_int_equal(ob_b64url_decode(want, strlen(want),
			    OB_MAX_SIGNATURE, &sig, &siglen), OB_OK);
			assert_int_equal(ob_sig_verify(alg, key, msg, msglen,
			    sig, siglen), OB_OK);
		}
		assert_int_equal(ob_envelope_append(env, b, hdr, sig, siglen),
		    OB_OK);
		json_decref(hdr);
		json_decref(ph);
		free(b);
		free(tbs);
		free(cdj);
		free(sig);
		free(msg);
		free(s);
		b = tbs = cdj = s = NULL;
		sig = msg = NULL;
	}
	assert_int_equal(ob_envelope_serialize(env, &s, &n), OB_OK);
	check(exp, "envelope", s);
	/* The verifier accepts it, with the verdict on record. */
	trust_s = build_trust(vec, owner);
	check(exp, "trust", trust_s);
	assert_int_equal(ob_trust_load_buf(trust_s, strlen(trust_s), &trust),
	    OB_OK);
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	if ((nonce = json_string_value(json_object_get(vec, "nonce"))) != NULL)
		assert_int_equal(st->ops->put_nonce(st->impl, nonce,
		    T_NOW + 60, NULL, T_NOW), OB_OK);
	memset(&o, 0, sizeof(o));
	o.aud = json_string_value(json_object_get(json_object_get(vec,
	    "verify"), "aud"));
	o.now = json_integer_value(json_object_get(vec, "now")) + 5;
	if (ob_verify(trust, st, &o, s, n, &v) != OB_OK)
		fail_msg("%s: %s", path, ob_err_detail());
	assert_int_equal(ob_verdict_json(v, &js), OB_OK);
	check(exp, "verdict", js);
	if (writing) {
		char *out = json_dumps(vec, JSON_INDENT(2));
		FILE *f = fopen(path, "w");

		fprintf(f, "%s\n", out);
		fclose(f);
		free(out);
	}
	free(js);
	free(s);
	free(trust_s);
	ob_verdict_free(&v);
	ob_state_free(&st);
	ob_trust_free(&trust);
	ob_envelope_free(&env);
	json_decref(claims);
	json_decref(vec);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(agent);
	free(text);
}

static const char *const names[] = {
	"agent-mediated-eddsa.json", "server-mediated-es256.json",
	"agent-mediated-fido2.json",
};

static void
test_vectors(void **state)
{
	const char	*dir = getenv("OB_VECTORS");
	char		 path[1024];
	size_t		 i;

	(void)state;
	assert_non_null(dir);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		run_vector(path);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
	};

	if (argc > 2 && strcmp(argv[1], "--write") == 0) {
		int i;

		for (i = 2; i < argc; i++) {
			writing = 1;
			run_vector(argv[i]);
		}
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
