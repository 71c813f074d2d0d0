/*
 * Renewals (docs/envelope.md 3.1, docs/verifier.md "Renewals"): an
 * approval with renew_until recorded with ob_state_record_approval, then
 * ob_verify_renewal for agent-only envelopes naming it.  Every check of
 * ob_verify_renewal has its negative case here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server-verify/state.h"
#include "server-verify/verify_int.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "core/json.h"

#include <openssl/x509.h>

#define APPR_JTI	"approvalaaaaaaaaaaaaaaaa"
#define WINDOW_END	(T_NOW + 600)

static EVP_PKEY *agent, *agent2, *owner, *cakey, *gwkey;
static X509 *ca, *gwcert;

static int
setup(void **state)
{
	(void)state;
	agent = t_key("P-256");
	agent2 = t_key("P-256");
	owner = t_key("Ed25519");
	cakey = t_key("P-256");
	gwkey = t_key("P-256");
	ca = t_cert(cakey, cakey, NULL, "Acme Org CA", 1, T_NOW);
	gwcert = t_cert(gwkey, cakey, ca, "gw.acme", 0, T_NOW);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(agent);
	EVP_PKEY_free(agent2);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(gwkey);
	X509_free(ca);
	X509_free(gwcert);
	return 0;
}

static struct ob_trust *
load(const char *pattern, long long key_revoked_at)
{
	struct ob_trust	*t = NULL;
	json_t		*doc = NULL, *k;
	char		*s = t_trust(T_OWNER, pattern, owner, "software", NULL,
	    0), *d;

	if (key_revoked_at != 0) {
		assert_int_equal(ob_json_parse_object(s, strlen(s), &doc),
		    OB_OK);
		k = json_array_get(json_object_get(json_array_get(
		    json_object_get(doc, "owners"), 0), "keys"), 0);
		json_object_set_new(k, "revoked", json_pack("{s:I,s:s}", "at",
		    (json_int_t)key_revoked_at, "reason", "lost"));
		d = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		free(s);
		s = d;
	}
	if (ob_trust_load_buf(s, strlen(s), &t) != OB_OK)
		fail_msg("trust: %s", ob_err_detail());
	free(s);
	return t;
}

static void
opts_at(struct ob_verify_opts *o, long long now)
{
	memset(o, 0, sizeof(*o));
	o->aud = T_AUD;
	o->now = now;
}

/* The approval: owner-signed, agent-mediated, with the window. */
static char *
approval(void)
{
	struct ob_envelope	*env = NULL;
	json_t			*c = t_claims(agent, T_NOW, APPR_JTI);
	char			*s;

	json_object_set_new(c, "renew_until", json_integer(WINDOW_END));
	assert_int_equal(ob_envelope_new(c, &env), OB_OK);
	json_decref(c);
	t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED, T_NOW - 1,
	    NULL, NULL);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	s = t_serialize(env);
	ob_envelope_free(&env);
	return s;
}

/* A state store holding the approval's record; its verdict in *vp. */
static struct ob_state *
approved(struct ob_trust *tr, struct ob_verdict **vp)
{
	struct ob_state		*st = NULL;
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	char			*a = approval();

	opts_at(&o, T_NOW + 5);
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	assert_int_equal(ob_verify(tr, st, &o, a, strlen(a), &v), OB_OK);
	assert_int_equal(ob_verdict_renew_until(v), WINDOW_END);
	assert_int_equal(ob_state_record_approval(st, &o, v), OB_OK);
	free(a);
	if (vp != NULL)
		*vp = v;
	else
		ob_verdict_free(&v);
	return st;
}

struct rn {
	EVP_PKEY	*cnf;		/* the key in cnf */
	EVP_PKEY	*signer;	/* the key that signs */
	const char	*jti;
	const char	*renews;	/* NULL: no renews claim */
	const char	*sub, *aud, *owner;
	long long	 iat, exp;	/* exp 0: iat + 60 */
	enum ob_model	 model;
	int		 owner_too;	/* an owner entry as well */
	int		 renew_until;	/* a renew_until claim as well */
};

static int
renewal(const struct rn *p, char **out)
{
	struct ob_envelope	*env = NULL;
	json_t			*c = t_claims(p->cnf, p->iat, p->jti);
	int			 r;

	json_object_set_new(c, "exp", json_integer(p->exp != 0 ? p->exp :
	    p->iat + 60));
	if (p->renews != NULL)
		json_object_set_new(c, "renews", json_string(p->renews));
	if (p->sub != NULL)
		json_object_set_new(c, "sub", json_string(p->sub));
	if (p->aud != NULL)
		json_object_set_new(c, "aud", json_string(p->aud));
	if (p->owner != NULL)
		json_object_set_new(c, "owner", json_string(p->owner));
	if (p->renew_until)
		json_object_set_new(c, "renew_until", json_integer(WINDOW_END));
	r = ob_envelope_new(c, &env);
	json_decref(c);
	if (r != OB_OK)
		return r;
	if (p->owner_too)
		t_sign(env, owner, OB_ROLE_OWNER, p->model, p->iat, NULL, NULL);
	t_sign(env, p->signer, OB_ROLE_AGENT, p->model, p->iat, NULL, NULL);
	*out = t_serialize(env);
	ob_envelope_free(&env);
	return OB_OK;
}

/* The usual renewal at iat, from the approval's agent. */
static struct rn
rn_at(long long iat, const char *jti)
{
	struct rn p;

	memset(&p, 0, sizeof(p));
	p.cnf = p.signer = agent;
	p.jti = jti;
	p.renews = APPR_JTI;
	p.iat = iat;
	p.model = OB_MODEL_AGENT_MEDIATED;
	return p;
}

static int
renew(struct ob_trust *tr, struct ob_state *st, const struct rn *p,
    long long now, const char *aud, struct ob_verdict **vp)
{
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	char			*s = NULL;
	int			 r;

	if ((r = renewal(p, &s)) != OB_OK)
		return r;
	opts_at(&o, now);
	if (aud != NULL)
		o.aud = aud;
	r = ob_verify_renewal(tr, st, &o, s, strlen(s), &v);
	free(s);
	if (vp != NULL)
		*vp = v;
	else
		ob_verdict_free(&v);
	return r;
}

/* Inside the window: a credential's verdict with the approval's owner. */
static void
test_renewal_ok(void **state)
{
	struct ob_trust		*tr = load("wimse://td.example/agents/*", 0);
	struct ob_verdict	*a = NULL, *v = NULL;
	struct ob_state		*st = approved(tr, &a);
	struct rn		 p = rn_at(T_NOW + 100, "renewal1aaaaaaaaaaaaaaaa");
	char			*s = NULL, *kid = t_kid(owner);

	(void)state;
	assert_int_equal(renew(tr, st, &p, T_NOW + 101, NULL, &v), OB_OK);
	assert_string_equal(ob_verdict_renewal_of(v), APPR_JTI);
	assert_string_equal(ob_verdict_jti(v), "renewal1aaaaaaaaaaaaaaaa");
	assert_string_equal(ob_verdict_agent(v), T_SUB);
	assert_string_equal(ob_verdict_owner(v), T_OWNER);
	assert_string_equal(ob_verdict_owner_kid(v), kid);
	assert_string_equal(ob_verdict_model(v), "agent-mediated");
	assert_string_equal(ob_verdict_envelope_sha256(v),
	    ob_verdict_envelope_sha256(a));
	assert_int_equal(ob_verdict_approved_at(v), ob_verdict_approved_at(a));
	assert_int_equal(ob_verdict_renew_until(v), WINDOW_END);
	assert_int_equal(ob_verdict_exp(v), T_NOW + 160);
	assert_non_null(ob_verdict_owner_jwk(v));
	assert_int_equal(ob_verdict_json(v, &s), OB_OK);
	assert_non_null(strstr(s, "\"renewal_of\":\"" APPR_JTI "\""));
	free(s);
	ob_verdict_free(&v);
	/* the same renewal again: its jti went through the replay state */
	assert_int_equal(renew(tr, st, &p, T_NOW + 102, NULL, NULL),
	    OB_ERR_REPLAY);
	/* a fresh one passes, and the plain path still refuses renewals */
	p = rn_at(T_NOW + 200, "renewal2aaaaaaaaaaaaaaaa");
	assert_int_equal(renew(tr, st, &p, T_NOW + 200, NULL, NULL), OB_OK);
	p = rn_at(T_NOW + 201, "renewal3aaaaaaaaaaaaaaaa");
	assert_int_equal(renewal(&p, &s), OB_OK);
	{
		struct ob_verify_opts o;

		opts_at(&o, T_NOW + 201);
		assert_int_equal(ob_verify(tr, st, &o, s, strlen(s), &v),
		    OB_ERR_OWNER_MISSING);
	}
	free(s);
	ob_verdict_free(&a);
	ob_state_free(&st);
	ob_trust_free(&tr);
	free(kid);
}

/* Agent key: the cnf key must sign; another key has no approval. */
static void
test_renewal_agent_key(void **state)
{
	struct ob_trust	*tr = load("wimse://td.example/agents/*", 0);
	struct ob_state	*st = approved(tr, NULL);
	struct rn	 p = rn_at(T_NOW + 100, "keyaaaaaaaaaaaaaaaaaaaaa");

	(void)state;
	p.signer = agent2;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_THUMBPRINT_MISMATCH);
	p.cnf = agent2;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_UNKNOWN);
	/* an approval jti never recorded */
	p = rn_at(T_NOW + 100, "unknownaaaaaaaaaaaaaaaaa");
	p.renews = "nosuchapprovalaaaaaaaaaa";
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_UNKNOWN);
	ob_state_free(&st);
	ob_trust_free(&tr);
}

/* sub, owner, aud and model must be the approval's. */
static void
test_renewal_mismatch(void **state)
{
	struct ob_trust	*tr = load("wimse://td.example/agents/*", 0);
	struct ob_state	*st = approved(tr, NULL);
	struct rn	 p;

	(void)state;
	p = rn_at(T_NOW + 100, "subaaaaaaaaaaaaaaaaaaaaa");
	p.sub = "wimse://td.example/agents/a2";
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_MISMATCH);
	p = rn_at(T_NOW + 100, "owneraaaaaaaaaaaaaaaaaaa");
	p.owner = "bob@example.com";
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_MISMATCH);
	/* another server's aud: refused by the claims, then by the record */
	p = rn_at(T_NOW + 100, "audaaaaaaaaaaaaaaaaaaaaa");
	p.aud = "https://other.example";
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_AUD_MISMATCH);
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, "https://other.example",
	    NULL), OB_ERR_RENEWAL_MISMATCH);
	p = rn_at(T_NOW + 100, "modelaaaaaaaaaaaaaaaaaaa");
	p.model = OB_MODEL_SERVER_MEDIATED;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_MISMATCH);
	ob_state_free(&st);
	ob_trust_free(&tr);
}

/* now < renew_until, exp <= renew_until. */
static void
test_renewal_window(void **state)
{
	struct ob_trust	*tr = load("wimse://td.example/agents/*", 0);
	struct ob_state	*st = approved(tr, NULL);
	struct rn	 p;

	(void)state;
	/* exp past the window's end */
	p = rn_at(WINDOW_END - 30, "expaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(renew(tr, st, &p, WINDOW_END - 30, NULL, NULL),
	    OB_ERR_APPROVAL_WINDOW);
	assert_non_null(strstr(ob_err_detail(), "after renew_until"));
	/* exactly at its end: fine */
	p.exp = WINDOW_END;
	p.jti = "expokaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(renew(tr, st, &p, WINDOW_END - 30, NULL, NULL),
	    OB_OK);
	/* after the window */
	p = rn_at(WINDOW_END, "lateaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(renew(tr, st, &p, WINDOW_END + 1, NULL, NULL),
	    OB_ERR_APPROVAL_WINDOW);
	assert_non_null(strstr(ob_err_detail(), "closed"));
	ob_state_free(&st);
	ob_trust_free(&tr);
}

/* The owner's key revoked since, or may_bind narrowed: renewals end. */
static void
test_renewal_trust(void **state)
{
	struct ob_trust	*tr = load("wimse://td.example/agents/*", 0);
	struct ob_trust	*rv = load("wimse://td.example/agents/*", T_NOW + 50);
	struct ob_trust	*nb = load("wimse://td.example/other/*", 0);
	struct ob_state	*st = approved(tr, NULL);
	struct rn	 p;

	(void)state;
	p = rn_at(T_NOW + 40, "beforerevokeaaaaaaaaaaaa");
	assert_int_equal(renew(rv, st, &p, T_NOW + 40, NULL, NULL), OB_OK);
	p = rn_at(T_NOW + 100, "afterrevokeaaaaaaaaaaaaa");
	assert_int_equal(renew(rv, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_OWNER_KEY_REVOKED);
	assert_int_equal(renew(nb, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_OWNER_NOT_AUTHORIZED);
	ob_state_free(&st);
	ob_trust_free(&tr);
	ob_trust_free(&rv);
	ob_trust_free(&nb);
}

/* One agent entry, renews, no renew_until, the direct channel. */
static void
test_renewal_shape(void **state)
{
	struct ob_trust		*tr = load("wimse://td.example/agents/*", 0);
	struct ob_state		*st = approved(tr, NULL);
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	struct rn		 p;
	char			*s = NULL;

	(void)state;
	p = rn_at(T_NOW + 100, "ownertooaaaaaaaaaaaaaaaa");
	p.owner_too = 1;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_SHAPE);
	p = rn_at(T_NOW + 100, "norenewsaaaaaaaaaaaaaaaa");
	p.renews = NULL;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_RENEWAL_SHAPE);
	p = rn_at(T_NOW + 100, "bothaaaaaaaaaaaaaaaaaaaa");
	p.renew_until = 1;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_APPROVAL_WINDOW);
	p = rn_at(T_NOW + 100, "gatewayaaaaaaaaaaaaaaaaa");
	assert_int_equal(renewal(&p, &s), OB_OK);
	opts_at(&o, T_NOW + 100);
	o.channel = OB_CHANNEL_GATEWAY;
	o.proxy = "p1";
	assert_int_equal(ob_verify_renewal(tr, st, &o, s, strlen(s), &v),
	    OB_ERR_CHANNEL_MISMATCH);
	assert_null(v);
	free(s);
	ob_state_free(&st);
	ob_trust_free(&tr);
}

/* A record that is not one the library wrote is refused, not trusted;
 * only an approval with a window is recorded. */
static void
test_renewal_record(void **state)
{
	struct ob_trust		*tr = load("wimse://td.example/agents/*", 0);
	struct ob_verdict	*a = NULL;
	struct ob_state		*st = approved(tr, &a);
	struct ob_verify_opts	 o;
	struct rn		 p = rn_at(T_NOW + 100, "recaaaaaaaaaaaaaaaaaaaaa");
	char			 key[200];

	(void)state;
	snprintf(key, sizeof(key), "%s:%s", ob_verdict_agent_jkt(a), APPR_JTI);
	assert_int_equal(ob_state_put_approval(st, key, "{\"v\":1,\"x\":2}",
	    WINDOW_END, T_NOW), OB_OK);
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_APPROVAL_RECORD);
	assert_int_equal(ob_state_put_approval(st, key, "[1]", WINDOW_END,
	    T_NOW), OB_OK);
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, NULL),
	    OB_ERR_APPROVAL_RECORD);
	opts_at(&o, WINDOW_END);
	assert_int_equal(ob_state_record_approval(st, &o, a),
	    OB_ERR_APPROVAL_WINDOW);
	a->renew_until = 0;
	opts_at(&o, T_NOW + 5);
	assert_int_equal(ob_state_record_approval(st, &o, a),
	    OB_ERR_INVALID_ARG);
	ob_verdict_free(&a);
	ob_state_free(&st);
	ob_trust_free(&tr);
}

/* The owner-mediated model: a gateway signed the window. */
static struct ob_trust *
gw_trust(const char *may_bind)
{
	struct ob_trust	*t = NULL;
	char		*cap = t_cert_pem(ca), *s;
	json_t		*doc = json_pack("{s:i,s:[{s:s,s:s,s:[s],s:[s],s:[s],"
	    "s:[s],s:[s]}]}", "ownerbind_trust", 1, "gateways", "id",
	    "gw.acme", "owner", T_OWNER, "ca", cap, "algs", "ES256", "proxies",
	    "proxy-1", "trust_domains", "td.example", "may_bind", may_bind);

	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	free(cap);
	if (ob_trust_load_buf(s, strlen(s), &t) != OB_OK)
		fail_msg("trust: %s", ob_err_detail());
	free(s);
	return t;
}

static char *
gw_approval(void)
{
	struct ob_envelope	*env = NULL;
	json_t			*c = t_claims(agent, T_NOW, APPR_JTI);
	json_t			*x5c = json_array(), *ph = NULL;
	unsigned char		*der = NULL, *sig = NULL;
	char			*b, *pb64 = NULL, *tbs = NULL, *s;
	size_t			 tbslen, siglen;
	int			 n;

	json_object_set_new(c, "renew_until", json_integer(WINDOW_END));
	assert_int_equal(ob_envelope_new(c, &env), OB_OK);
	json_decref(c);
	n = i2d_X509(gwcert, &der);
	b = malloc((size_t)n * 2 + 4);
	EVP_EncodeBlock((unsigned char *)b, der, n);
	OPENSSL_free(der);
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

/*
 * A gateway's window: the record keeps the gateway, the renewal (direct,
 * owner-mediated, agent alone) is issued with its owner members, and ends
 * when the gateway no longer may bind the agent or is gone.
 */
static void
test_renewal_gateway(void **state)
{
	struct ob_trust		*tr = gw_trust("wimse://td.example/agents/*");
	struct ob_trust		*nb = gw_trust("wimse://td.example/other/*");
	struct ob_trust		*none = load("wimse://td.example/agents/*", 0);
	struct ob_state		*st = NULL;
	struct ob_verify_opts	 o;
	struct ob_verdict	*a = NULL, *v = NULL;
	struct rn		 p;
	char			*e = gw_approval();

	(void)state;
	opts_at(&o, T_NOW + 5);
	o.channel = OB_CHANNEL_GATEWAY;
	o.proxy = "proxy-1";
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	assert_int_equal(ob_verify(tr, st, &o, e, strlen(e), &a), OB_OK);
	assert_int_equal(ob_state_record_approval(st, &o, a), OB_OK);
	p = rn_at(T_NOW + 100, "gwrenewalaaaaaaaaaaaaaaa");
	p.model = OB_MODEL_OWNER_MEDIATED;
	assert_int_equal(renew(tr, st, &p, T_NOW + 100, NULL, &v), OB_OK);
	assert_string_equal(ob_verdict_gateway(v), "gw.acme");
	assert_null(ob_verdict_owner_kid(v));
	assert_string_equal(ob_verdict_gateway_x5t(v),
	    ob_verdict_gateway_x5t(a));
	assert_string_equal(ob_verdict_owner_kind(v), "gateway");
	assert_string_equal(ob_verdict_renewal_of(v), APPR_JTI);
	ob_verdict_free(&v);
	p = rn_at(T_NOW + 101, "gwnarrowaaaaaaaaaaaaaaaa");
	p.model = OB_MODEL_OWNER_MEDIATED;
	assert_int_equal(renew(nb, st, &p, T_NOW + 101, NULL, NULL),
	    OB_ERR_GATEWAY_NOT_AUTHORIZED);
	assert_int_equal(renew(none, st, &p, T_NOW + 101, NULL, NULL),
	    OB_ERR_GATEWAY_UNKNOWN);
	/* the approval's model, not another */
	p = rn_at(T_NOW + 102, "gwmodelaaaaaaaaaaaaaaaaa");
	assert_int_equal(renew(tr, st, &p, T_NOW + 102, NULL, NULL),
	    OB_ERR_RENEWAL_MISMATCH);
	free(e);
	ob_verdict_free(&a);
	ob_state_free(&st);
	ob_trust_free(&tr);
	ob_trust_free(&nb);
	ob_trust_free(&none);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renewal_ok),
		cmocka_unit_test(test_renewal_agent_key),
		cmocka_unit_test(test_renewal_mismatch),
		cmocka_unit_test(test_renewal_window),
		cmocka_unit_test(test_renewal_trust),
		cmocka_unit_test(test_renewal_shape),
		cmocka_unit_test(test_renewal_record),
		cmocka_unit_test(test_renewal_gateway),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
