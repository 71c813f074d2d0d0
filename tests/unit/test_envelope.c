/* The envelope parser: round trips and one distinct code per defect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/obtest.h"
#include "core/b64url.h"

static EVP_PKEY *agent, *owner;
static char *good;		/* a signed envelope */
static char *payload_b64;

static int
setup(void **state)
{
	struct ob_envelope *env;

	(void)state;
	agent = t_key("P-256");
	owner = t_key("Ed25519");
	env = t_request(agent, T_NOW, "AAAAAAAAAAAAAAAAAAAAAA");
	t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	good = t_serialize(env);
	payload_b64 = strdup(env->payload_b64);
	ob_envelope_free(&env);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(agent);
	EVP_PKEY_free(owner);
	free(good);
	free(payload_b64);
	return 0;
}

static int
parse(const char *s)
{
	struct ob_envelope	*env = NULL;
	int			 r;

	r = ob_envelope_parse(s, strlen(s), 0, &env);
	if (r == OB_OK)
		assert_non_null(env);
	else
		assert_null(env);
	ob_envelope_free(&env);
	return r;
}

/* An envelope with one entry whose protected header is the given JSON. */
static char *
with_protected(const char *ph, const char *header)
{
	char	*b = NULL, *s = NULL;

	assert_int_equal(ob_b64url_encode((const unsigned char *)ph,
	    strlen(ph), &b), OB_OK);
	assert_true(asprintf(&s, "{\"payload\":\"%s\",\"signatures\":[{"
	    "\"protected\":\"%s\"%s%s,\"signature\":\"AAAA\"}]}", payload_b64,
	    b, header != NULL ? ",\"header\":" : "", header != NULL ? header :
	    "") > 0);
	free(b);
	return s;
}

#define PH_OK "\"alg\":\"EdDSA\",\"typ\":\"ownerbind+jws\",\"kid\":\"k\"," \
	"\"ob_role\":\"owner\",\"ob_model\":\"agent-mediated\",\"ob_iat\":1"

static void
expect_ph(const char *ph, const char *header, int want)
{
	char	*s = with_protected(ph, header);
	int	 r = parse(s);

	if (r != want)
		fail_msg("%s: got %s (%s), want %s", ph, ob_err_name(r),
		    ob_err_detail(), ob_err_name(want));
	free(s);
}

static void
test_good(void **state)
{
	struct ob_envelope	*env = NULL;
	char			*again;

	(void)state;
	assert_int_equal(ob_envelope_parse(good, strlen(good), 0, &env), OB_OK);
	assert_int_equal(env->n, 2);
	assert_int_equal(env->entries[0].role, OB_ROLE_OWNER);
	assert_int_equal(env->entries[1].role, OB_ROLE_AGENT);
	assert_string_equal(env->claims.sub, T_SUB);
	again = t_serialize(env);
	assert_string_equal(again, good);	/* byte-stable round trip */
	free(again);
	ob_envelope_free(&env);
	expect_ph("{" PH_OK "}", NULL, OB_OK);
}

static void
test_unsigned_request(void **state)
{
	struct ob_envelope	*env = NULL;
	char			*s;

	(void)state;
	assert_true(asprintf(&s, "{\"payload\":\"%s\",\"signatures\":[]}",
	    payload_b64) > 0);
	assert_int_equal(parse(s), OB_ERR_ENV_NO_SIGS);
	assert_int_equal(ob_envelope_parse(s, strlen(s),
	    OB_PARSE_ALLOW_UNSIGNED, &env), OB_OK);
	ob_envelope_free(&env);
	free(s);
}

/* Issue 2, acceptance 4: each defect its own code. */
static void
test_duplicates(void **state)
{
	char *s;

	(void)state;
	assert_true(asprintf(&s, "{\"payload\":\"%s\",%s", payload_b64,
	    good + 1) > 0);
	assert_int_equal(parse(s), OB_ERR_JSON_DUPLICATE);
	free(s);
	expect_ph("{" PH_OK ",\"alg\":\"ES256\"}", NULL,
	    OB_ERR_JSON_DUPLICATE);
}

static void
test_base64url(void **state)
{
	char	*s = strdup(good), *p;

	(void)state;
	/* padding on the payload */
	p = strstr(s, "\",\"signatures\"");
	assert_non_null(p);
	{
		char *t;
		size_t off = (size_t)(p - s);

		assert_true(asprintf(&t, "%.*s==%s", (int)off, s, p) > 0);
		assert_int_equal(parse(t), OB_ERR_B64_INVALID);
		free(t);
		/* the standard alphabet */
		t = strdup(s);
		t[12] = '+';
		assert_int_equal(parse(t), OB_ERR_B64_INVALID);
		free(t);
	}
	free(s);
	/* non-canonical: "Zh" instead of "Zg" in the signature */
	assert_true(asprintf(&s, "{\"payload\":\"%s\",\"signatures\":[{"
	    "\"protected\":\"eyJhIjoxfQ\",\"signature\":\"Zh\"}]}",
	    payload_b64) > 0);
	assert_int_equal(parse(s), OB_ERR_B64_NONCANONICAL);
	free(s);
}

static void
test_oversize(void **state)
{
	size_t	 n = OB_MAX_ENVELOPE + 1;
	char	*s = malloc(n + 1);

	(void)state;
	memset(s, ' ', n);
	memcpy(s, good, strlen(good));
	s[n] = '\0';
	assert_int_equal(parse(s), OB_ERR_ENV_TOO_LARGE);
	free(s);
}

static void
test_too_many(void **state)
{
	char	*s, *sigs, *entry, *p;
	size_t	 i;

	(void)state;
	p = strstr(good, "[{");
	entry = strndup(p + 1, strlen(p + 1) - 2);	/* the entries */
	sigs = strdup(entry);
	for (i = 0; i < 4; i++) {
		char *t;

		assert_true(asprintf(&t, "%s,%s", sigs, entry) > 0);
		free(sigs);
		sigs = t;
	}					/* 10 entries */
	assert_true(asprintf(&s, "{\"payload\":\"%s\",\"signatures\":[%s]}",
	    payload_b64, sigs) > 0);
	assert_int_equal(parse(s), OB_ERR_ENV_TOO_MANY_SIGS);
	free(s);
	free(sigs);
	free(entry);
}

static void
test_headers(void **state)
{
	(void)state;
	expect_ph("{" PH_OK ",\"b64\":false}", NULL, OB_ERR_HDR_B64_FALSE);
	expect_ph("{" PH_OK ",\"b64\":true}", NULL, OB_ERR_HDR_B64_FALSE);
	expect_ph("{" PH_OK ",\"crit\":[\"exp\"]}", NULL, OB_ERR_HDR_CRIT);
	expect_ph("{" PH_OK ",\"crit\":[\"ob_nonce\"]}", NULL, OB_ERR_HDR_CRIT);
	expect_ph("{" PH_OK ",\"crit\":[\"ob_role\",\"ob_role\"]}", NULL,
	    OB_ERR_HDR_CRIT);
	expect_ph("{" PH_OK ",\"crit\":[\"ob_role\"]}", NULL, OB_OK);
	expect_ph("{" PH_OK ",\"crit\":[]}", NULL, OB_ERR_HDR_CRIT);
	expect_ph("{" PH_OK ",\"jku\":\"https://evil\"}", NULL,
	    OB_ERR_HDR_INVALID);
	expect_ph("{" PH_OK "}", "{\"kid\":\"x\"}", OB_ERR_HDR_DUP_PARAM);
	expect_ph("{" PH_OK "}", "{\"foo\":1}", OB_ERR_HDR_UNPROTECTED);
	expect_ph("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"k\",\"ob_role\":"
	    "\"owner\",\"ob_model\":\"agent-mediated\",\"ob_iat\":1}", NULL,
	    OB_ERR_HDR_TYP);
	expect_ph("{\"alg\":\"none\",\"typ\":\"ownerbind+jws\",\"kid\":\"k\","
	    "\"ob_role\":\"owner\",\"ob_model\":\"agent-mediated\",\"ob_iat\":1}",
	    NULL, OB_ERR_ALG_FORBIDDEN);
	expect_ph("{\"alg\":\"HS256\",\"typ\":\"ownerbind+jws\",\"kid\":\"k\","
	    "\"ob_role\":\"owner\",\"ob_model\":\"agent-mediated\",\"ob_iat\":1}",
	    NULL, OB_ERR_ALG_FORBIDDEN);
	expect_ph("{\"alg\":\"RS256\",\"typ\":\"ownerbind+jws\",\"kid\":\"k\","
	    "\"ob_role\":\"owner\",\"ob_model\":\"agent-mediated\",\"ob_iat\":1}",
	    NULL, OB_ERR_ALG_UNSUPPORTED);
	expect_ph("{\"alg\":\"EdDSA\",\"typ\":\"ownerbind+jws\",\"kid\":\"k\","
	    "\"ob_role\":\"boss\",\"ob_model\":\"agent-mediated\",\"ob_iat\":1}",
	    NULL, OB_ERR_ROLE_INVALID);
	expect_ph("{\"alg\":\"EdDSA\",\"typ\":\"ownerbind+jws\",\"kid\":\"k\","
	    "\"ob_role\":\"owner\",\"ob_model\":\"direct\",\"ob_iat\":1}",
	    NULL, OB_ERR_MODEL_INVALID);
	expect_ph("{" PH_OK ",\"x5c\":[\"AAAA\"]}", NULL, OB_ERR_HDR_INVALID);
	expect_ph("[1]", NULL, OB_ERR_JSON_SYNTAX);
}

static void
test_structure(void **state)
{
	char *s;

	(void)state;
	/* trailing data */
	assert_true(asprintf(&s, "%s x", good) > 0);
	assert_int_equal(parse(s), OB_ERR_JSON_TRAILING);
	free(s);
	assert_true(asprintf(&s, "%s{}", good) > 0);
	assert_int_equal(parse(s), OB_ERR_JSON_TRAILING);
	free(s);
	/* whitespace after the value is fine (a final newline) */
	assert_true(asprintf(&s, "%s\n", good) > 0);
	assert_int_equal(parse(s), OB_OK);
	free(s);
	/* flattened and compact serialisations */
	assert_true(asprintf(&s, "{\"payload\":\"%s\",\"protected\":\"e30\","
	    "\"signature\":\"AAAA\"}", payload_b64) > 0);
	assert_int_equal(parse(s), OB_ERR_ENV_NOT_GENERAL);
	free(s);
	assert_int_equal(parse("\"e30.e30.AAAA\""), OB_ERR_JSON_SYNTAX);
	/* unknown top-level member, missing payload */
	assert_true(asprintf(&s, "{\"payload\":\"%s\",\"signatures\":[],"
	    "\"x\":1}", payload_b64) > 0);
	assert_int_equal(parse(s), OB_ERR_ENV_MEMBER);
	free(s);
	assert_int_equal(parse("{\"signatures\":[],\"x\":1}"), OB_ERR_ENV_MEMBER);
	assert_int_equal(parse("not json"), OB_ERR_JSON_SYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_unsigned_request),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_structure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
