/*
 * ob_verify end to end for each issuance model, and the checks that need
 * a particular trust setup (the negative corpus covers the rest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server-verify/verify_int.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/json.h"
#include "core/jwk.h"

static EVP_PKEY *agent, *owner, *fido, *cakey, *gwkey, *rogue;
static X509 *ca, *gwcert, *roguecert, *othercert;

static char *
b64der(X509 *x)
{
	unsigned char	*der = NULL;
	int		 n = i2d_X509(x, &der);
	char		*s = malloc((size_t)n * 2 + 4);

	EVP_EncodeBlock((unsigned char *)s, der, n);
	OPENSSL_free(der);
	return s;
}

/* base64url SHA-256, for the verdict's hashes. */
static char *
sha_b64(const void *b, size_t n)
{
	unsigned char	 md[32];
	char		*s = NULL;

	assert_int_equal(ob_sha256(b, n, md), OB_OK);
	assert_int_equal(ob_b64url_encode(md, sizeof(md), &s), OB_OK);
	return s;
}

static char *
jwk_text(EVP_PKEY *k)
{
	json_t	*j = NULL;
	char	*s = NULL;
	size_t	 n;

	assert_int_equal(ob_jwk_from_pkey(k, &j), OB_OK);
	assert_int_equal(ob_json_dump(j, &s, &n), OB_OK);
	json_decref(j);
	return s;
}

static int
setup(void **state)
{
	(void)state;
	agent = t_key("P-256");
	owner = t_key("Ed25519");
	fido = t_key("P-256");
	cakey = t_key("P-256");
	gwkey = t_key("P-256");
	rogue = t_key("P-256");
	ca = t_cert(cakey, cakey, NULL, "Acme Org CA", 1, T_NOW);
	gwcert = t_cert(gwkey, cakey, ca, "gw.acme", 0, T_NOW);
	othercert = t_cert(gwkey, cakey, ca, "gw2.acme", 0, T_NOW);
	roguecert = t_cert(gwkey, rogue, NULL, "gw.acme", 0, T_NOW);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(agent);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(fido);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(gwkey);
	EVP_PKEY_free(rogue);
	X509_free(ca);
	X509_free(gwcert);
	X509_free(roguecert);
	X509_free(othercert);
	return 0;
}

static struct ob_trust *
load(const char *s)
{
	struct ob_trust *t = NULL;

	if (ob_trust_load_buf(s, strlen(s), &t) != OB_OK)
		fail_msg("trust: %s", ob_err_detail());
	return t;
}

static int
verify(struct ob_trust *t, const char *env, enum ob_channel ch,
    const char *proxy, struct ob_verdict **vp)
{
	struct ob_state		*st = NULL;
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	int			 r;

	memset(&o, 0, sizeof(o));
	o.aud = T_AUD;
	o.now = T_NOW + 5;
	o.channel = ch;
	o.proxy = proxy;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	r = ob_verify(t, st, &o, env, strlen(env), &v);
	ob_state_free(&st);
	if (vp != NULL)
		*vp = v;
	else
		ob_verdict_free(&v);
	return r;
}

static void
test_agent_mediated(void **state)
{
	struct ob_envelope	*env = t_request(agent, T_NOW, "agentmediatedaaaaaaaaaaa");
	struct ob_verdict	*v = NULL;
	char			*t = t_trust(T_OWNER, "wimse://td.example/agents/*",
	    owner, "software", NULL, 0), *s, *js = NULL, *h;
	struct ob_trust		*tr = load(t);

	(void)state;
	/* the owner approves a second before the agent signs */
	t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED, T_NOW - 1,
	    NULL, NULL);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	s = t_serialize(env);
	assert_int_equal(verify(tr, s, 0, NULL, &v), OB_OK);
	assert_string_equal(v->agent, T_SUB);
	assert_string_equal(v->owner, T_OWNER);
	assert_string_equal(v->owner_alg, "EdDSA");
	assert_string_equal(v->agent_alg, "ES256");
	assert_string_equal(v->model, "agent-mediated");
	assert_string_equal(v->assurance, "software");
	assert_string_equal(v->agent_jkt, env->claims.jkt);
	assert_int_equal(v->up, -1);
	/* what a credential needs */
	h = jwk_text(agent);
	assert_string_equal(v->agent_jwk, h);
	free(h);
	h = jwk_text(owner);
	assert_string_equal(v->owner_jwk, h);
	free(h);
	h = t_kid(owner);
	assert_string_equal(v->owner_jkt, h);
	free(h);
	assert_null(v->gateway_x5t);
	assert_string_equal(v->owner_type, "user");
	assert_null(v->owner_group);
	assert_int_equal(v->approved_at, T_NOW - 1);
	h = sha_b64(s, strlen(s));
	assert_string_equal(v->envelope_sha256, h);
	free(h);
	assert_null(v->dns_name);
	assert_null(v->logical_id);
	assert_null(v->client_id);
	assert_int_equal(ob_verdict_json(v, &js), OB_OK);
	assert_non_null(strstr(js, "\"result\":\"accepted\""));
	assert_non_null(strstr(js, "\"owner_type\":\"user\""));
	assert_non_null(strstr(js, "\"agent_jwk\":{\"crv\":\"P-256\""));
	assert_non_null(strstr(js, "\"approved_at\":"));
	free(js);
	ob_verdict_free(&v);
	/* the wrong channel */
	assert_int_equal(verify(tr, s, OB_CHANNEL_GATEWAY, "proxy-1", NULL),
	    OB_ERR_CHANNEL_MISMATCH);
	free(s);
	ob_envelope_free(&env);
	ob_trust_free(&tr);
	free(t);
}

/* Edit the first owner (or its first key) of a t_trust store. */
static char *
trust_edit(const char *t, int on_key, const char *member, json_t *v)
{
	json_t	*doc = json_loads(t, 0, NULL), *ow;
	char	*s;

	ow = json_array_get(json_object_get(doc, "owners"), 0);
	if (on_key)
		ow = json_array_get(json_object_get(ow, "keys"), 0);
	json_object_set_new(ow, member, v);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Revoked owners and keys are refused from their time on; a key is used
 * only inside its validity window; malformed members fail the load. */
static void
test_revocation_validity(void **state)
{
	static const struct {
		int		 on_key;
		const char	*member;
		const char	*json;
		int		 want;
	} v[] = {
		{ 1, "revoked", "{\"at\":1700000000,\"reason\":\"lost\"}",
		  OB_ERR_OWNER_KEY_REVOKED },
		{ 0, "revoked", "{\"at\":1700000000,\"reason\":\"left\"}",
		  OB_ERR_OWNER_REVOKED },
		/* revoked from a time still to come: valid until then */
		{ 1, "revoked", "{\"at\":2800000000,\"reason\":\"rotate\"}",
		  OB_OK },
		{ 1, "not_before", "2800000000", OB_ERR_OWNER_KEY_VALIDITY },
		{ 1, "not_after", "1700000000", OB_ERR_OWNER_KEY_VALIDITY },
		{ 1, "not_before", "1700000000", OB_OK },
		{ 1, "not_after", "2800000000", OB_OK },
	};
	static const struct {
		int		 on_key;
		const char	*member, *json;
	} bad[] = {
		{ 1, "revoked", "{\"at\":1700000000}" },
		{ 1, "revoked", "{\"reason\":\"x\"}" },
		{ 1, "revoked", "{\"at\":1,\"reason\":\"x\",\"by\":\"y\"}" },
		{ 0, "revoked", "true" },
		{ 1, "not_before", "\"2020\"" },
		{ 1, "not_after", "-5" },
	};
	struct ob_envelope	*env = t_request(agent, T_NOW, "revokedrevokedrevokedrev");
	char			*t = t_trust(T_OWNER, "wimse://td.example/agents/*",
	    owner, "software", NULL, 0), *s, *t2;
	struct ob_trust		*tr = NULL;
	size_t			 i;
	int			 r;

	(void)state;
	t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED, T_NOW - 1,
	    NULL, NULL);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	s = t_serialize(env);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t2 = trust_edit(t, v[i].on_key, v[i].member,
		    json_loads(v[i].json, JSON_DECODE_ANY, NULL));
		tr = load(t2);
		if ((r = verify(tr, s, 0, NULL, NULL)) != v[i].want)
			fail_msg("%s %s: want %s, got %s (%s)", v[i].member,
			    v[i].json, ob_err_name(v[i].want), ob_err_name(r),
			    ob_err_detail());
		ob_trust_free(&tr);
		free(t2);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t2 = trust_edit(t, bad[i].on_key, bad[i].member,
		    json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
		if (ob_trust_load_buf(t2, strlen(t2), &tr) !=
		    OB_ERR_TRUST_INVALID)
			fail_msg("%s %s loaded", bad[i].member, bad[i].json);
		free(t2);
	}
	free(s);
	free(t);
	ob_envelope_free(&env);
}

static void
test_fido(void **state)
{
	struct ob_verdict	*v = NULL;
	char			*t = t_trust(T_OWNER, "wimse://td.example/agents/*",
	    fido, "fido2", "ownerbind:", 1), *s;
	struct ob_trust		*tr = load(t);
	static const struct { uint8_t flags; const char *rp; int want; } c[] = {
		{ 0x05, "ownerbind:", OB_OK },
		{ 0x04, "ownerbind:", OB_ERR_FIDO_UP },
		{ 0x01, "ownerbind:", OB_ERR_FIDO_UV },
		{ 0x45, "ownerbind:", OB_ERR_FIDO_AT },
		{ 0x85, "ownerbind:", OB_ERR_FIDO_ED },
		{ 0x15, "ownerbind:", OB_ERR_FIDO_BACKUP },
		{ 0x0d, "ownerbind:", OB_ERR_FIDO_BACKUP },	/* BE not enrolled */
		{ 0x05, "example.com", OB_ERR_FIDO_RPID },
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct ob_envelope *env = t_request(agent, T_NOW,
		    "fidofidofidofidofidofido");

		t_sign_fido(env, fido, c[i].rp, c[i].flags, 7,
		    OB_MODEL_AGENT_MEDIATED, T_NOW, NULL);
		t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED,
		    T_NOW, NULL, NULL);
		s = t_serialize(env);
		if (verify(tr, s, 0, NULL, &v) != c[i].want)
			fail_msg("case %zu: want %s got %s (%s)", i,
			    ob_err_name(c[i].want), ob_err_name(verify(tr, s, 0,
			    NULL, NULL)), ob_err_detail());
		if (c[i].want == OB_OK) {
			assert_int_equal(v->up, 1);
			assert_int_equal(v->uv, 1);
			assert_int_equal(v->counter, 7);
			assert_string_equal(v->owner_kind, "fido2");
			assert_string_equal(v->owner_alg, "webauthn-es256");
			assert_string_equal(v->assurance, "hardware");
		}
		ob_verdict_free(&v);
		free(s);
		ob_envelope_free(&env);
	}
	ob_trust_free(&tr);
	free(t);
}

static char *
gateway_trust(void)
{
	char	*cap = t_cert_pem(ca), *s;
	json_t	*doc = json_pack("{s:i,s:[{s:s,s:s,s:[s],s:[s],s:[s],s:[s],"
	    "s:[s]}]}", "ownerbind_trust", 1, "gateways", "id", "gw.acme",
	    "owner", T_OWNER, "ca", cap, "algs", "ES256", "proxies", "proxy-1",
	    "trust_domains", "td.example", "may_bind",
	    "wimse://td.example/agents/*");

	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(cap);
	return s;
}

static char *
gateway_envelope(X509 *leaf)
{
	struct ob_envelope	*env = t_request(agent, T_NOW, "gatewaygatewaygatewaygat");
	json_t			*x5c = json_array(), *ph = NULL;
	char			*b = b64der(leaf), *pb64 = NULL, *tbs = NULL, *s;
	unsigned char		*sig = NULL;
	size_t			 tbslen, siglen;

	json_array_append_new(x5c, json_string(b));
	assert_int_equal(ob_protected_new(OB_ALG_ES256, "gw.acme",
	    OB_ROLE_GATEWAY, OB_MODEL_OWNER_MEDIATED, T_NOW, NULL, x5c, &ph),
	    OB_OK);
	assert_int_equal(ob_protected_encode(ph, &pb64), OB_OK);
	assert_int_equal(ob_envelope_signing_input(env, pb64, &tbs, &tbslen),
	    OB_OK);
	assert_int_equal(ob_sig_sign(OB_ALG_ES256, gwkey, (unsigned char *)tbs,
	    tbslen, &sig, &siglen), OB_OK);
	assert_int_equal(ob_envelope_append(env, pb64, NULL, sig, siglen),
	    OB_OK);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_OWNER_MEDIATED, T_NOW, NULL,
	    NULL);
	s = t_serialize(env);
	ob_envelope_free(&env);
	json_decref(x5c);
	json_decref(ph);
	free(b);
	free(pb64);
	free(tbs);
	free(sig);
	return s;
}

static void
test_owner_mediated(void **state)
{
	char			*t = gateway_trust(), *s, *r, *h;
	struct ob_trust		*tr = load(t);
	struct ob_verdict	*v = NULL;
	unsigned char		*der;
	int			 n;

	(void)state;
	s = gateway_envelope(gwcert);
	assert_int_equal(verify(tr, s, OB_CHANNEL_GATEWAY, "proxy-1", &v),
	    OB_OK);
	assert_string_equal(v->gateway, "gw.acme");
	assert_string_equal(v->model, "owner-mediated");
	assert_null(v->owner_kid);
	assert_null(v->owner_jwk);
	assert_null(v->owner_jkt);
	assert_string_equal(v->owner_type, "organization");
	der = NULL;
	n = i2d_X509(gwcert, &der);
	h = sha_b64(der, (size_t)n);
	OPENSSL_free(der);
	assert_string_equal(v->gateway_x5t, h);
	free(h);
	h = jwk_text(agent);
	assert_string_equal(v->agent_jwk, h);
	free(h);
	assert_int_equal(v->approved_at, T_NOW);
	ob_verdict_free(&v);
	assert_int_equal(verify(tr, s, OB_CHANNEL_GATEWAY, "proxy-2", NULL),
	    OB_ERR_GATEWAY_NOT_AUTHORIZED);
	assert_int_equal(verify(tr, s, OB_CHANNEL_DIRECT, NULL, NULL),
	    OB_ERR_CHANNEL_MISMATCH);
	r = gateway_envelope(roguecert);	/* same key, foreign issuer */
	assert_int_equal(verify(tr, r, OB_CHANNEL_GATEWAY, "proxy-1", NULL),
	    OB_ERR_GATEWAY_CHAIN);
	free(r);
	/* the organisation's other gateway may not sign as gw.acme */
	r = gateway_envelope(othercert);
	assert_int_equal(verify(tr, r, OB_CHANNEL_GATEWAY, "proxy-1", NULL),
	    OB_ERR_GATEWAY_CERT);
	free(r);
	/* nor may the CA certificate itself */
	r = gateway_envelope(ca);
	assert_int_equal(verify(tr, r, OB_CHANNEL_GATEWAY, "proxy-1", NULL),
	    OB_ERR_GATEWAY_CERT);
	free(r);
	free(s);
	ob_trust_free(&tr);
	free(t);
}

static void
test_trust_loader(void **state)
{
	static const struct { const char *doc; const char *detail; } bad[] = {
		{ "{\"ownerbind_trust\":2}", "version" },
		{ "{\"ownerbind_trust\":1,\"owners\":[{\"id\":\"a\","
		  "\"may_bind\":[\"https://x/*\"],\"keys\":[]}]}", "owners[0]" },
		{ "{\"ownerbind_trust\":1,\"extra\":1}", "extra" },
		{ "{\"ownerbind_trust\":1,\"owners\":[{\"id\":\"a\","
		  "\"type\":\"robot\",\"may_bind\":[\"wimse://x/*\"],"
		  "\"keys\":[]}]}", "type \"robot\"" },
		{ "{\"ownerbind_trust\":1,\"owners\":[{\"id\":\"a\","
		  "\"group\":\"0123456789012345678901234567890123456789"
		  "01234567890123456789012345\",\"may_bind\":[\"wimse://x/*\"],"
		  "\"keys\":[]}]}", "group" },
	};
	struct ob_trust	*t = NULL;
	char		*s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ob_trust_load_buf(bad[i].doc,
		    strlen(bad[i].doc), &t), OB_ERR_TRUST_INVALID);
		assert_non_null(strstr(ob_err_detail(), bad[i].detail));
		assert_null(t);
	}
	/* a kid that is not the key's thumbprint names the entry */
	s = t_trust(T_OWNER, "wimse://td.example/*", owner, "software", NULL, 0);
	memcpy(strstr(s, "\"kid\":\"") + 7, "XXXX", 4);
	assert_int_equal(ob_trust_load_buf(s, strlen(s), &t),
	    OB_ERR_TRUST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "owners[0]: keys[0]"));
	free(s);
	assert_int_equal(ob_trust_load_file("/nonexistent", &t), OB_ERR_IO);
}

/* An owner-signed envelope whose claims carry extra members (claims
 * checked for form by ob_envelope_new: its code). */
static int
renewal_env(const char *jti, const char *member, json_t *v, char **out)
{
	struct ob_envelope	*env = NULL;
	json_t			*c = t_claims(agent, T_NOW, jti);
	int			 r;

	json_object_set_new(c, member, v);
	r = ob_envelope_new(c, &env);
	json_decref(c);
	if (r != OB_OK)
		return r;
	t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED, T_NOW - 1,
	    NULL, NULL);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	*out = t_serialize(env);
	ob_envelope_free(&env);
	return OB_OK;
}

/* The approval window (docs/envelope.md, "Renewal"): renew_until after
 * exp passes; before exp, at or before iat, or too far out does not; a
 * renewal (renews) never passes the plain path. */
static void
test_renewal_claims(void **state)
{
	char		*t = t_trust(T_OWNER, "wimse://td.example/agents/*",
	    owner, "software", NULL, 0), *s = NULL;
	struct ob_trust	*tr = load(t);
	struct ob_verdict *v = NULL;

	(void)state;
	assert_int_equal(renewal_env("renewokaaaaaaaaaaaaaaaaa", "renew_until",
	    json_integer(T_NOW + 3600), &s), OB_OK);
	assert_int_equal(verify(tr, s, 0, NULL, &v), OB_OK);
	ob_verdict_free(&v);
	free(s);
	assert_int_equal(renewal_env("renewshortaaaaaaaaaaaaaa", "renew_until",
	    json_integer(T_NOW + 100), &s), OB_OK);
	assert_int_equal(verify(tr, s, 0, NULL, NULL), OB_ERR_APPROVAL_WINDOW);
	free(s);
	assert_int_equal(renewal_env("renewiataaaaaaaaaaaaaaaa", "renew_until",
	    json_integer(T_NOW), &s), OB_ERR_APPROVAL_WINDOW);
	assert_int_equal(renewal_env("renewfaraaaaaaaaaaaaaaaa", "renew_until",
	    json_integer(T_NOW + OB_MAX_RENEW_WINDOW + 1), &s),
	    OB_ERR_APPROVAL_WINDOW);
	assert_int_equal(renewal_env("renewtypeaaaaaaaaaaaaaaa", "renew_until",
	    json_string("soon"), &s), OB_ERR_APPROVAL_WINDOW);
	assert_int_equal(renewal_env("renewbadaaaaaaaaaaaaaaaa", "renews",
	    json_string("short"), &s), OB_ERR_APPROVAL_WINDOW);
	assert_int_equal(renewal_env("renewsaaaaaaaaaaaaaaaaaa", "renews",
	    json_string("renewokaaaaaaaaaaaaaaaaa"), &s), OB_OK);
	assert_int_equal(verify(tr, s, 0, NULL, NULL), OB_ERR_APPROVAL_WINDOW);
	free(s);
	ob_trust_free(&tr);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_mediated),
		cmocka_unit_test(test_revocation_validity),
		cmocka_unit_test(test_fido),
		cmocka_unit_test(test_owner_mediated),
		cmocka_unit_test(test_trust_loader),
		cmocka_unit_test(test_renewal_claims),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
