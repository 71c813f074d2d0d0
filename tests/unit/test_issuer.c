/*
 * The credential issuer from real verdicts: envelopes are built and
 * verified with ob_verify, the issuer CA is made by `openssl req -x509`,
 * the issuer key is a file: key, and the credential is checked by code
 * nobody here wrote (tests/server/check_cred.py: jwcrypto, Debian's
 * python3-cryptography, `openssl verify`).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server-verify/verify_int.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"
#include "server/issuer.h"
#include "core/jwk.h"

#define ISS	"https://issuer.example"
#define DOC_OID	"1.3.6.1.4.1.32473.1"	/* RFC 5612 documentation arc */

static char	 dir[64];
static char	*ca1, *ca2, *ca_ed, *ca384, *leafcert, *gwca_pem;
static EVP_PKEY	*agent, *owner, *gwcakey, *gwkey;
static X509	*gwca, *gwcert;
static long long now;
/* wic.subject_ou of the next issuer(), and what check() expects. */
static int subject_ou;

static char *
path(const char *name)
{
	static char	 buf[8][512];
	static int	 i;

	i = (i + 1) % 8;
	(void)snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char	cmd[2048];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* lint: ok: openssl command lines of this test, over its mkdtemp */
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

static char *
slurp(const char *p)
{
	FILE	*f = fopen(p, "r");
	char	*s = calloc(1, 65536);
	size_t	 n;

	assert_non_null(f);
	n = fread(s, 1, 65535, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void
spit(const char *p, const char *s)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	fclose(f);
}

/* An issuer CA the way an operator makes one. */
static char *
mkca(const char *name, const char *newkey, const char *ext)
{
	char	 key[64], crt[64];

	(void)snprintf(key, sizeof(key), "%s.key", name);
	(void)snprintf(crt, sizeof(crt), "%s.pem", name);
	sh("openssl req -x509 -newkey %s -nodes -keyout %s -out %s "
	    "-subj '/O=ownerbind test/CN=%s' -days 2 %s 2>/dev/null && "
	    "chmod 600 %s", newkey, path(key), path(crt), name, ext,
	    path(key));
	return slurp(path(crt));
}

static int
setup(void **state)
{
	FILE *f;

	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/ob-issuer-XXXXXX");
	assert_non_null(mkdtemp(dir));
	ca1 = mkca("ca1", "ec -pkeyopt ec_paramgen_curve:P-256", "");
	ca2 = mkca("ca2", "ec -pkeyopt ec_paramgen_curve:P-256", "");
	ca_ed = mkca("caed", "ed25519", "");
	ca384 = mkca("ca384", "ec -pkeyopt ec_paramgen_curve:P-384", "");
	/* A certificate that is not a CA, for ca1's key. */
	f = fopen(path("leaf.cnf"), "w");
	assert_non_null(f);
	fputs("[req]\ndistinguished_name=dn\nx509_extensions=leaf\n[dn]\n"
	    "[leaf]\nbasicConstraints=critical,CA:FALSE\n", f);
	fclose(f);
	sh("openssl req -x509 -new -key %s -out %s -subj /CN=leaf -days 2 "
	    "-config %s 2>/dev/null", path("ca1.key"), path("leaf.pem"),
	    path("leaf.cnf"));
	leafcert = slurp(path("leaf.pem"));
	/* After the CAs: their notBefore is never later than now. */
	now = (long long)time(NULL);
	sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
	    "-out %s 2>/dev/null && chmod 600 %s", path("rsa.key"),
	    path("rsa.key"));
	agent = t_key("P-256");
	owner = t_key("Ed25519");
	gwcakey = t_key("P-256");
	gwkey = t_key("P-256");
	gwca = t_cert(gwcakey, gwcakey, NULL, "Acme Org CA", 1, now);
	gwcert = t_cert(gwkey, gwcakey, gwca, "gw.acme", 0, now);
	gwca_pem = t_cert_pem(gwca);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (getenv("OB_CRED_KEEP") == NULL)
		sh("rm -rf %s", dir);
	else
		fprintf(stderr, "kept %s\n", dir);
	free(ca1);
	free(ca2);
	free(ca_ed);
	free(ca384);
	free(leafcert);
	free(gwca_pem);
	EVP_PKEY_free(agent);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(gwcakey);
	EVP_PKEY_free(gwkey);
	X509_free(gwca);
	X509_free(gwcert);
	return 0;
}

static struct ob_verdict *
verify(const char *trust, const char *env, enum ob_channel ch)
{
	struct ob_trust		*t = NULL;
	struct ob_state		*st = NULL;
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;

	if (ob_trust_load_buf(trust, strlen(trust), &t) != OB_OK)
		fail_msg("trust: %s", ob_err_detail());
	memset(&o, 0, sizeof(o));
	o.aud = T_AUD;
	o.now = now;
	o.channel = ch;
	o.proxy = ch == OB_CHANNEL_GATEWAY ? "proxy-1" : NULL;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	if (ob_verify(t, st, &o, env, strlen(env), &v) != OB_OK)
		fail_msg("verify: %s", ob_err_detail());
	ob_state_free(&st);
	ob_trust_free(&t);
	return v;
}

/* Agent-mediated: a "service" owner in group "Agents", all layers. */
static struct ob_verdict *
agent_mediated_key(EVP_PKEY *ak, const char *jti, char **envp)
{
	struct ob_envelope	*env = NULL;
	struct ob_verdict	*v;
	json_t			*c = t_claims(ak, now, jti);
	json_t			*doc, *ow;
	char			*t, *s, *t2;

	json_object_set_new(c, "dns_name", json_string("a1.td.example"));
	json_object_set_new(c, "logical_id", json_string("billing-agent"));
	json_object_set_new(c, "client_id", json_string("client-42"));
	assert_int_equal(ob_envelope_new(c, &env), OB_OK);
	json_decref(c);
	t_sign(env, owner, OB_ROLE_OWNER, OB_MODEL_AGENT_MEDIATED, now - 2,
	    NULL, NULL);
	t_sign(env, ak, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, now, NULL,
	    NULL);
	s = t_serialize(env);
	ob_envelope_free(&env);
	t = t_trust(T_OWNER, "wimse://td.example/agents/*", owner, "software",
	    NULL, 0);
	doc = json_loads(t, 0, NULL);
	ow = json_array_get(json_object_get(doc, "owners"), 0);
	json_object_set_new(ow, "type", json_string("service"));
	json_object_set_new(ow, "group", json_string("Agents"));
	t2 = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	v = verify(t2, s, OB_CHANNEL_DIRECT);
	free(t);
	free(t2);
	if (envp != NULL)
		*envp = s;
	else
		free(s);
	return v;
}

static struct ob_verdict *
agent_mediated(char **envp)
{
	return agent_mediated_key(agent, "issuerissuerissuerissuer", envp);
}

static struct ob_verdict *
owner_mediated(void)
{
	struct ob_envelope	*env = t_request(agent, now, "gatewaygatewaygatewaygat");
	struct ob_verdict	*v;
	json_t			*x5c = json_array(), *ph = NULL, *doc;
	unsigned char		*der = NULL, *sig = NULL;
	char			*b, *pb64 = NULL, *tbs = NULL, *s, *t;
	size_t			 tbslen, siglen;
	int			 n = i2d_X509(gwcert, &der);

	b = malloc((size_t)n * 2 + 4);
	EVP_EncodeBlock((unsigned char *)b, der, n);
	OPENSSL_free(der);
	json_array_append_new(x5c, json_string(b));
	free(b);
	assert_int_equal(ob_protected_new(OB_ALG_ES256, "gw.acme",
	    OB_ROLE_GATEWAY, OB_MODEL_OWNER_MEDIATED, now - 1, NULL, x5c, &ph),
	    OB_OK);
	assert_int_equal(ob_protected_encode(ph, &pb64), OB_OK);
	assert_int_equal(ob_envelope_signing_input(env, pb64, &tbs, &tbslen),
	    OB_OK);
	assert_int_equal(ob_sig_sign(OB_ALG_ES256, gwkey, (unsigned char *)tbs,
	    tbslen, &sig, &siglen), OB_OK);
	assert_int_equal(ob_envelope_append(env, pb64, NULL, sig, siglen),
	    OB_OK);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_OWNER_MEDIATED, now, NULL,
	    NULL);
	s = t_serialize(env);
	doc = json_pack("{s:i,s:[{s:s,s:s,s:[s],s:[s],s:[s],s:[s],s:[s]}]}",
	    "ownerbind_trust", 1, "gateways", "id", "gw.acme", "owner", T_OWNER,
	    "ca", gwca_pem, "algs", "ES256", "proxies", "proxy-1",
	    "trust_domains", "td.example", "may_bind",
	    "wimse://td.example/agents/*");
	t = json_dumps(doc, JSON_COMPACT);
	v = verify(t, s, OB_CHANNEL_GATEWAY);
	json_decref(doc);
	json_decref(x5c);
	json_decref(ph);
	ob_envelope_free(&env);
	free(pb64);
	free(tbs);
	free(sig);
	free(s);
	free(t);
	return v;
}

/* The chains check()'s JWKS publishes (decision 159), and how many keys
 * it expects there. */
static const char *const *publish;
static size_t npublish, jwks_keys = 1;

static struct ob_issuer *
issuer(const char *key, const char *chain, const char *oid, int want)
{
	struct ob_issuer_cfg	 cfg;
	struct ob_issuer	*is = NULL;
	char			 uri[300];
	int			 r;

	(void)snprintf(uri, sizeof(uri), "file:%s", path(key));
	memset(&cfg, 0, sizeof(cfg));
	cfg.key_uri = uri;
	cfg.chain_pem = chain;
	cfg.iss = ISS;
	cfg.owner_oid = oid;
	cfg.subject_ou = subject_ou;
	r = ob_issuer_open(&cfg, &is);
	if (r != want)
		fail_msg("open: %s (%s), want %s", ob_err_name(r),
		    ob_err_detail(), ob_err_name(want));
	if (want != OB_OK)
		assert_null(is);
	return is;
}

/* Write what the independent checker reads, and run it. */
static void
check(const struct ob_credential *c, const struct ob_issuer *is,
    const struct ob_verdict *v, const char *ca, const char *oid,
    long long lifetime)
{
	json_t		*jwks = NULL;
	char		*s = NULL, cmd[1024], buf[256];
	const char	*py = getenv("OB_PYTHON"), *chk = getenv("OB_CRED_CHECK");

	assert_non_null(py);
	assert_non_null(chk);
	spit(path("wit.txt"), c->wit);
	spit(path("wic.pem"), c->wic_pem);
	spit(path("ca.pem"), ca);
	assert_int_equal(ob_issuer_jwks(is, publish, npublish, &jwks), OB_OK);
	s = json_dumps(jwks, JSON_COMPACT);
	spit(path("jwks.json"), s);
	free(s);
	json_decref(jwks);
	assert_int_equal(ob_verdict_json(v, &s), OB_OK);
	spit(path("verdict.json"), s);
	free(s);
	(void)snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"lifetime\":%lld,"
	    "\"oid\":\"%s\",\"jti\":\"%s\",\"subject_ou\":%s,"
	    "\"jwks_keys\":%zu}", ISS, lifetime, oid != NULL ? oid :
	    "2.5.29.9", c->jti, subject_ou ? "true" : "false", jwks_keys);
	spit(path("expect.json"), buf);
	(void)snprintf(cmd, sizeof(cmd), "%s %s %s", py, chk, dir);
	/* lint: ok: the independent checker over this test's mkdtemp */
	if (system(cmd) != 0)
		fail_msg("independent check failed: %s", cmd);
}

/*
 * An owner in group "Agents": no Subject OU unless wic.subject_ou (then
 * OU=Agents); check_cred.py reads the WIC's subject with
 * python3-cryptography either way.
 */
static void
test_agent_mediated(void **state)
{
	struct ob_issuer	*is;
	struct ob_verdict	*v = agent_mediated(NULL);
	struct ob_credential	*c = NULL;

	(void)state;
	assert_string_equal(v->owner_type, "service");
	assert_string_equal(v->owner_group, "Agents");
	assert_string_equal(v->dns_name, "a1.td.example");
	for (subject_ou = 0; subject_ou <= 1; subject_ou++) {
		is = issuer("ca1.key", ca1, NULL, OB_OK);
		if (ob_issuer_issue(is, v, now, 0, &c) != OB_OK)
			fail_msg("issue: %s", ob_err_detail());
		assert_int_equal(c->expires_at, now + 3600);
		assert_string_equal(json_string_value(json_object_get(c->owner,
		    "id")), T_OWNER);
		check(c, is, v, ca1, NULL, 3600);
		ob_credential_free(&c);
		assert_null(c);
		ob_issuer_free(&is);
	}
	subject_ou = 0;
	ob_verdict_free(&v);
}

/* Every agent key type: the WIC's SubjectPublicKeyInfo is built from the
 * encoded key (EC, Ed25519) or by OpenSSL (RSA); check_cred.py compares
 * it with cnf.jwk and openssl verifies the certificate. */
static void
test_agent_key_types(void **state)
{
	static const char	*kinds[] = { "Ed25519", "P-384", "RSA" };
	struct ob_issuer	*is = issuer("ca1.key", ca1, NULL, OB_OK);
	struct ob_credential	*c = NULL;
	struct ob_verdict	*v;
	EVP_PKEY		*k;
	char			 jti[32];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = t_key(kinds[i]);
		(void)snprintf(jti, sizeof(jti), "agentkeytype%zuxxxxxxxxxxx",
		    i);
		v = agent_mediated_key(k, jti, NULL);
		if (ob_issuer_issue(is, v, now, 0, &c) != OB_OK)
			fail_msg("issue (%s agent): %s", kinds[i],
			    ob_err_detail());
		check(c, is, v, ca1, NULL, 3600);
		ob_credential_free(&c);
		ob_verdict_free(&v);
		EVP_PKEY_free(k);
	}
	ob_issuer_free(&is);
}

static void
test_owner_mediated(void **state)
{
	struct ob_issuer	*is = issuer("ca1.key", ca1, NULL, OB_OK);
	struct ob_verdict	*v = owner_mediated();
	struct ob_credential	*c = NULL;

	(void)state;
	assert_non_null(v->gateway_x5t);
	if (ob_issuer_issue(is, v, now, 600, &c) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	check(c, is, v, ca1, NULL, 600);
	ob_credential_free(&c);
	ob_verdict_free(&v);
	ob_issuer_free(&is);
}

/* EdDSA issuer and an organisation's own OID for the binding. */
static void
test_ed25519_own_oid(void **state)
{
	struct ob_issuer	*is = issuer("caed.key", ca_ed, DOC_OID, OB_OK);
	struct ob_verdict	*v = agent_mediated(NULL);
	struct ob_credential	*c = NULL;

	(void)state;
	if (ob_issuer_issue(is, v, now, 900, &c) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	check(c, is, v, ca_ed, DOC_OID, 900);
	ob_credential_free(&c);
	ob_verdict_free(&v);
	ob_issuer_free(&is);
}

/* ES384: R||S of 48-byte halves becomes a DER ECDSA-Sig-Value. */
static void
test_es384(void **state)
{
	struct ob_issuer	*is = issuer("ca384.key", ca384, NULL, OB_OK);
	struct ob_verdict	*v = owner_mediated();
	struct ob_credential	*c = NULL;

	(void)state;
	if (ob_issuer_issue(is, v, now, 1200, &c) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	check(c, is, v, ca384, NULL, 1200);
	ob_credential_free(&c);
	ob_verdict_free(&v);
	ob_issuer_free(&is);
}

/* The kid and alg of jwks's keys[i]; fails if it has no such entry. */
static void
jwks_kid(const json_t *jwks, size_t i, const char **kid, const char **alg,
    size_t *nx5c)
{
	const json_t *k = json_array_get(json_object_get(jwks, "keys"), i);

	assert_non_null(k);
	*kid = json_string_value(json_object_get(k, "kid"));
	*alg = json_string_value(json_object_get(k, "alg"));
	*nx5c = json_array_size(json_object_get(k, "x5c"));
	assert_non_null(*kid);
	assert_non_null(*alg);
}

static void
set_publish(const char *const *p, size_t n)
{
	publish = p;
	npublish = n;
}

/*
 * Key rotation: ca1's issuer also publishes ca2 (the key before it),
 * ca_ed and ca384 with a second certificate: the JWKS lists the signing
 * key first and then each published key under the kid its own issuer
 * gave its WITs; the credential is still ca1's alone.
 */
static void
test_publish(void **state)
{
	const char		*chains[4], *kid, *alg, *kid2;
	struct ob_issuer	*is, *old;
	struct ob_verdict	*v = agent_mediated(NULL);
	struct ob_credential	*c = NULL;
	json_t			*jwks = NULL, *ojwks = NULL;
	char			*two;
	size_t			 nx5c, n;

	(void)state;
	n = strlen(ca384) + strlen(gwca_pem) + 1;
	two = calloc(1, n);
	assert_non_null(two);
	(void)snprintf(two, n, "%s%s", ca384, gwca_pem);
	chains[0] = ca2;
	chains[1] = ca_ed;
	chains[2] = two;
	is = issuer("ca1.key", ca1, NULL, OB_OK);
	assert_int_equal(ob_issuer_jwks(is, chains, 3, &jwks), OB_OK);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 4);
	jwks_kid(jwks, 0, &kid, &alg, &nx5c);
	assert_string_equal(alg, "ES256");
	assert_int_equal(nx5c, 1);
	/* ca2's own issuer names its key so: an RP finds it by that kid. */
	old = issuer("ca2.key", ca2, NULL, OB_OK);
	assert_int_equal(ob_issuer_jwks(old, NULL, 0, &ojwks), OB_OK);
	jwks_kid(ojwks, 0, &kid2, &alg, &nx5c);
	jwks_kid(jwks, 1, &kid, &alg, &nx5c);
	assert_string_equal(kid, kid2);
	assert_string_equal(alg, "ES256");
	jwks_kid(jwks, 2, &kid, &alg, &nx5c);
	assert_string_equal(alg, "EdDSA");
	assert_string_not_equal(kid, kid2);
	jwks_kid(jwks, 3, &kid, &alg, &nx5c);
	assert_string_equal(alg, "ES384");
	assert_int_equal(nx5c, 2);
	/* Signed with ca1 only; check_cred.py verifies with the JWKS. */
	if (ob_issuer_issue(is, v, now, 600, &c) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	set_publish(chains, 3);
	jwks_keys = 4;
	check(c, is, v, ca1, NULL, 600);
	jwks_keys = 1;
	set_publish(NULL, 0);
	ob_credential_free(&c);
	json_decref(jwks);
	json_decref(ojwks);
	ob_issuer_free(&old);
	ob_issuer_free(&is);
	ob_verdict_free(&v);
	free(two);
}

/* ob_issuer_jwks(is, chains, n) fails with want, its detail naming what. */
static void
publish_refused(struct ob_issuer *is, const char *const *chains, size_t n,
    int want, const char *what)
{
	json_t	*j = NULL;
	int	 r = ob_issuer_jwks(is, chains, n, &j);

	if (r != want || (what != NULL && strstr(ob_err_detail(), what) ==
	    NULL))
		fail_msg("publish: %s (%s), want %s (%s)", ob_err_name(r),
		    ob_err_detail(), ob_err_name(want), what);
	assert_null(j);
}

/* What publish refuses, each with what it names. */
static void
test_publish_bad(void **state)
{
	const char		*chains[OB_ISSUER_MAX_PUBLISH + 1];
	struct ob_issuer	*is = issuer("ca1.key", ca1, NULL, OB_OK);
	char			*rsaca;
	size_t			 i;

	(void)state;
	/* the issuer's own key */
	chains[0] = ca1;
	publish_refused(is, chains, 1, OB_ERR_ISSUER_CONFIG,
	    "issuer's own key");
	/* one key twice */
	chains[0] = ca2;
	chains[1] = ca2;
	publish_refused(is, chains, 2, OB_ERR_ISSUER_CONFIG,
	    "publish[1] holds the key of publish[0]");
	/* not a CA; not PEM */
	chains[1] = leafcert;
	publish_refused(is, chains, 2, OB_ERR_ISSUER_CHAIN,
	    "publish[1][0] is not a CA");
	chains[1] = "not PEM";
	publish_refused(is, chains, 2, OB_ERR_ISSUER_CONFIG,
	    "publish[1]: no PEM");
	/* a key the issuer could never have signed with (RSA: PS256) */
	sh("openssl req -x509 -new -key %s -out %s -subj /CN=rsaca -days 2 "
	    "2>/dev/null", path("rsa.key"), path("rsaca.pem"));
	rsaca = slurp(path("rsaca.pem"));
	chains[1] = rsaca;
	publish_refused(is, chains, 2, OB_ERR_ISSUER_CHAIN, "no key of a kind");
	/* too many; none given for a count */
	for (i = 0; i <= OB_ISSUER_MAX_PUBLISH; i++)
		chains[i] = ca2;
	publish_refused(is, chains, OB_ISSUER_MAX_PUBLISH + 1,
	    OB_ERR_ISSUER_CONFIG, "at most");
	publish_refused(is, NULL, 1, OB_ERR_ISSUER_CONFIG, NULL);
	ob_issuer_free(&is);
	free(rsaca);
}

/*
 * An issuer key given by the environment (tests/server/test_issuer_p11.sh:
 * a SoftHSM2 pkcs11: key, its CA certificate under a software root).
 */
static void
test_env_issuer(void **state)
{
	struct ob_issuer_cfg	 cfg;
	struct ob_issuer	*is = NULL;
	struct ob_verdict	*v;
	struct ob_credential	*c = NULL;
	char			*chain, *root;

	(void)state;
	if (getenv("OB_ISSUER_URI") == NULL)
		skip();
	chain = slurp(getenv("OB_ISSUER_CHAIN"));
	root = slurp(getenv("OB_ISSUER_ROOT"));
	memset(&cfg, 0, sizeof(cfg));
	cfg.key_uri = getenv("OB_ISSUER_URI");
	cfg.chain_pem = chain;
	cfg.iss = ISS;
	if (ob_issuer_open(&cfg, &is) != OB_OK)
		fail_msg("open: %s", ob_err_detail());
	v = agent_mediated(NULL);
	if (ob_issuer_issue(is, v, now, 0, &c) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	check(c, is, v, root, NULL, 3600);
	ob_credential_free(&c);
	ob_verdict_free(&v);
	ob_issuer_free(&is);
	free(chain);
	free(root);
}

static void
test_bad_config(void **state)
{
	(void)state;
	/* the chain's certificate holds another key */
	issuer("ca1.key", ca2, NULL, OB_ERR_ISSUER_CHAIN);
	assert_non_null(strstr(ob_err_detail(), "another key"));
	/* the key's own certificate, but not a CA */
	issuer("ca1.key", leafcert, NULL, OB_ERR_ISSUER_CHAIN);
	assert_non_null(strstr(ob_err_detail(), "not a CA"));
	/* no certificate at all */
	issuer("ca1.key", "not PEM", NULL, OB_ERR_ISSUER_CONFIG);
	/* PS256 cannot sign these credentials */
	issuer("rsa.key", ca1, NULL, OB_ERR_ISSUER_KEY);
	/* an OID that means something else, and one that is no OID */
	issuer("ca1.key", ca1, "2.5.29.17", OB_ERR_ISSUER_CONFIG);
	issuer("ca1.key", ca1, "subjectAltName", OB_ERR_ISSUER_CONFIG);
	issuer("ca1.key", ca1, "1.2.x", OB_ERR_ISSUER_CONFIG);
}

static void
expect_refused(struct ob_issuer *is, const struct ob_verdict *v,
    long long when, long long lifetime, int want)
{
	struct ob_credential	*c = NULL;
	int			 r = ob_issuer_issue(is, v, when, lifetime, &c);

	if (r != want)
		fail_msg("issue: %s (%s), want %s", ob_err_name(r),
		    ob_err_detail(), ob_err_name(want));
	assert_null(c);
}

static void
test_bad_verdict(void **state)
{
	struct ob_issuer	*is = issuer("ca1.key", ca1, NULL, OB_OK);
	struct ob_verdict	*v = agent_mediated(NULL);
	EVP_PKEY		*other = t_key("P-256");
	json_t			*jwk = NULL;
	char			*keep, *s, aaaa[] = "AAAA";

	(void)state;
	/* no agent_jwk */
	keep = v->agent_jwk;
	v->agent_jwk = NULL;
	expect_refused(is, v, now, 0, OB_ERR_VERDICT_INCOMPLETE);
	assert_non_null(strstr(ob_err_detail(), "agent_jwk"));
	/* an agent_jwk that is not the approved key */
	assert_int_equal(ob_jwk_from_pkey(other, &jwk), OB_OK);
	s = json_dumps(jwk, JSON_COMPACT);
	v->agent_jwk = s;
	expect_refused(is, v, now, 0, OB_ERR_VERDICT_INCOMPLETE);
	v->agent_jwk = keep;
	free(s);
	json_decref(jwk);
	EVP_PKEY_free(other);
	/* no owner key for a person-owner model */
	keep = v->owner_jkt;
	v->owner_jkt = NULL;
	expect_refused(is, v, now, 0, OB_ERR_VERDICT_INCOMPLETE);
	v->owner_jkt = keep;
	/* a hash that is not a SHA-256 */
	keep = v->envelope_sha256;
	v->envelope_sha256 = aaaa;
	expect_refused(is, v, now, 0, OB_ERR_VERDICT_INCOMPLETE);
	v->envelope_sha256 = keep;
	/* the CA would expire before the credential */
	expect_refused(is, v, now + 2 * 86400 - 60, 600,
	    OB_ERR_ISSUER_VALIDITY);
	/* lifetime beyond the limit */
	expect_refused(is, v, now, OB_CRED_MAX_LIFETIME + 1,
	    OB_ERR_INVALID_ARG);
	ob_verdict_free(&v);
	ob_issuer_free(&is);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_mediated),
		cmocka_unit_test(test_owner_mediated),
		cmocka_unit_test(test_ed25519_own_oid),
		cmocka_unit_test(test_agent_key_types),
		cmocka_unit_test(test_es384),
		cmocka_unit_test(test_env_issuer),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_publish_bad),
		cmocka_unit_test(test_bad_verdict),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
