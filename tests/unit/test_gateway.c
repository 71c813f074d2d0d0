/*
 * Gateway certificates (docs/trust-store.md, "Gateway certificates";
 * docs/verifier.md step 7b): the leaf's extendedKeyUsage, its names, the
 * canonical base64 of x5c, and the cache of verified chains (validity
 * times, trust-store reloads, one entry per gateway, threads).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server-verify/verify_int.h"
#include "tests/unit/obtest.h"
#include "core/alg.h"

#define DAY		86400LL
#define DOCSIGN		"1.3.6.1.5.5.7.3.36"	/* id-kp-documentSigning */

static EVP_PKEY	*agent, *cakey, *intkey, *gwkey, *roguekey;
static X509	*ca, *inter, *rogue;

struct cspec {
	const char	*cn;
	int		 is_ca;
	long long	 nb, na;		/* offsets from T_NOW */
	const char	*ku, *eku, *san;	/* X509v3 values; NULL: none */
};

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		fail_msg("extension %d \"%s\"", nid, value);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

static X509 *
mkcert(const struct cspec *c, EVP_PKEY *subj, EVP_PKEY *ikey, X509 *issuer)
{
	static long	 serial = 100;
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();

	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_set_version(x, 2);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0,
	    (time_t[]){ (time_t)(T_NOW + c->nb) });
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0,
	    (time_t[]){ (time_t)(T_NOW + c->na) });
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)c->cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) :
	    n);
	X509_NAME_free(n);
	X509_set_pubkey(x, subj);
	ext(x, issuer, NID_basic_constraints, c->is_ca ? "critical,CA:TRUE" :
	    "critical,CA:FALSE");
	if (c->ku != NULL)
		ext(x, issuer, NID_key_usage, c->ku);
	if (c->eku != NULL)
		ext(x, issuer, NID_ext_key_usage, c->eku);
	if (c->san != NULL)
		ext(x, issuer, NID_subject_alt_name, c->san);
	ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		ext(x, issuer, NID_authority_key_identifier, "keyid");
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

/* A gateway leaf under the intermediate: CN gw.acme unless told. */
static X509 *
leaf(const char *eku, const char *san, long long nb, long long na)
{
	struct cspec c = { "gw.acme", 0, nb, na, "critical,digitalSignature",
	    eku, san };

	return mkcert(&c, gwkey, intkey, inter);
}

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

static int
setup(void **state)
{
	struct cspec root = { "Acme Root CA", 1, -365 * DAY, 3650 * DAY,
	    "critical,keyCertSign,cRLSign", NULL, NULL };
	struct cspec mid = { "Acme Gateways CA", 1, -30 * DAY, 1000 * DAY,
	    "critical,keyCertSign,cRLSign", NULL, NULL };

	(void)state;
	agent = t_key("P-256");
	cakey = t_key("P-256");
	intkey = t_key("P-256");
	gwkey = t_key("P-256");
	roguekey = t_key("P-256");
	ca = mkcert(&root, cakey, cakey, NULL);
	rogue = mkcert(&root, roguekey, roguekey, NULL);	/* same name */
	inter = mkcert(&mid, intkey, cakey, ca);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(agent);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(intkey);
	EVP_PKEY_free(gwkey);
	EVP_PKEY_free(roguekey);
	X509_free(ca);
	X509_free(rogue);
	X509_free(inter);
	return 0;
}

/* The gateways' declared key kind (NULL: the member is left out). */
static const char *gw_kind;

/* Gateways gw.acme (under root) and, if root2, gw.other (under root2). */
static struct ob_trust *
trust2(X509 *root, int require_eku, X509 *root2)
{
	struct ob_trust	*t = NULL;
	char		*cap = t_cert_pem(root), *cap2 = root2 != NULL ? t_cert_pem(root2) :
			    NULL, *s;
	json_t		*gws = json_array(), *doc;
	int		 i;

	for (i = 0; i < (root2 != NULL ? 2 : 1); i++)
		json_array_append_new(gws, json_pack("{s:s,s:s,s:[s],s:[s],"
		    "s:[s],s:[s],s:[s],s:b}", "id", i == 0 ? "gw.acme" :
		    "gw.other", "owner", T_OWNER, "ca", i == 0 ? cap : cap2,
		    "algs", "ES256", "proxies", "proxy-1", "trust_domains",
		    "td.example", "may_bind", "wimse://td.example/agents/*",
		    "require_eku", require_eku));
	if (gw_kind != NULL)
		for (i = 0; i < (int)json_array_size(gws); i++)
			json_object_set_new(json_array_get(gws, (size_t)i),
			    "kind", json_string(gw_kind));
	doc = json_pack("{s:i,s:o}", "ownerbind_trust", 1, "gateways", gws);
	s = json_dumps(doc, JSON_COMPACT);
	if (ob_trust_load_buf(s, strlen(s), &t) != OB_OK)
		fail_msg("trust: %s", ob_err_detail());
	json_decref(doc);
	free(s);
	free(cap);
	free(cap2);
	return t;
}

static struct ob_trust *
trust(X509 *root, int require_eku)
{
	return trust2(root, require_eku, NULL);
}

/* When set, the gateway entry carries it as ob_proxy. */
static const char *gw_proxy;

/* An owner-mediated envelope issued at now by gateway kid with this x5c. */
static char *
envelope_x5c(const char *kid, json_t *x5c, long long now)
{
	struct ob_envelope	*env = t_request(agent, now,
	    "gatewaygatewaygatewaygat");
	json_t			*ph = NULL;
	char			*pb64 = NULL, *tbs = NULL, *s;
	unsigned char		*sig = NULL;
	size_t			 tbslen, siglen;

	assert_int_equal(ob_protected_new(OB_ALG_ES256, kid, OB_ROLE_GATEWAY,
	    OB_MODEL_OWNER_MEDIATED, now, NULL, x5c, &ph), OB_OK);
	if (gw_proxy != NULL)
		assert_int_equal(json_object_set_new(ph, "ob_proxy",
		    json_string(gw_proxy)), 0);
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
	ob_envelope_free(&env);
	json_decref(x5c);
	json_decref(ph);
	free(pb64);
	free(tbs);
	free(sig);
	return s;
}

static json_t *
x5c_of(X509 *a, X509 *b)
{
	json_t	*x = json_array();
	char	*s = b64der(a);

	json_array_append_new(x, json_string(s));
	free(s);
	if (b != NULL) {
		s = b64der(b);
		json_array_append_new(x, json_string(s));
		free(s);
	}
	return x;
}

static char *
envelope_at(const char *kid, X509 *lf, long long now)
{
	return envelope_x5c(kid, x5c_of(lf, inter), now);
}

/* Verify at now + 5 on the gateway channel, no replay state. */
static int
verify_at(const struct ob_trust *t, const char *env, long long now)
{
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	int			 r;

	memset(&o, 0, sizeof(o));
	o.aud = T_AUD;
	o.now = now + 5;
	o.channel = OB_CHANNEL_GATEWAY;
	o.proxy = "proxy-1";
	r = ob_verify(t, NULL, &o, env, strlen(env), &v);
	ob_verdict_free(&v);
	return r;
}

/* One leaf, verified twice (the second time from the cache). */
static void
check_leaf(struct ob_trust *t, X509 *lf, int want, const char *what)
{
	char	*env = envelope_at("gw.acme", lf, T_NOW);
	int	 i, r;

	for (i = 0; i < 2; i++)
		if ((r = verify_at(t, env, T_NOW)) != want)
			fail_msg("%s (pass %d): want %s, got %s: %s", what, i,
			    ob_err_name(want), ob_err_name(r), ob_err_detail());
	free(env);
}

/*
 * ob_proxy: the proxy the gateway signed for must be the one the request
 * names (Ownerbind-Proxy, here "proxy-1"); absent, nothing is required.
 */
static void
test_ob_proxy(void **state)
{
	struct ob_trust	*t = trust(ca, 0);
	X509		*lf = leaf(DOCSIGN, NULL, -DAY, 10 * DAY);
	char		*env;

	(void)state;
	gw_proxy = "proxy-1";
	env = envelope_at("gw.acme", lf, T_NOW);
	assert_int_equal(verify_at(t, env, T_NOW), OB_OK);
	free(env);
	gw_proxy = "proxy-2";
	env = envelope_at("gw.acme", lf, T_NOW);
	assert_int_equal(verify_at(t, env, T_NOW),
	    OB_ERR_GATEWAY_NOT_AUTHORIZED);
	free(env);
	gw_proxy = NULL;
	X509_free(lf);
	ob_trust_free(&t);
}

/* ob_proxy's form: visible ASCII, gateway entries only. */
static void
test_ob_proxy_form(void **state)
{
	static const unsigned char sig[64] = { 1 };
	static const struct {
		enum ob_role	 role;
		const char	*proxy;
		int		 want;
	} v[] = {
		{ OB_ROLE_GATEWAY, "proxy-1", OB_OK },
		{ OB_ROLE_GATEWAY, "proxy 1", OB_ERR_HDR_INVALID },
		{ OB_ROLE_GATEWAY, "", OB_ERR_HDR_INVALID },
		{ OB_ROLE_AGENT, "proxy-1", OB_ERR_HDR_INVALID },
	};
	struct ob_envelope	*env;
	json_t			*ph;
	char			*pb64;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		env = t_request(agent, T_NOW, "gatewaygatewaygatewaygat");
		assert_int_equal(ob_protected_new(OB_ALG_ES256, "gw.acme",
		    v[i].role, OB_MODEL_OWNER_MEDIATED, T_NOW, NULL, NULL, &ph),
		    OB_OK);
		assert_int_equal(json_object_set_new(ph, "ob_proxy",
		    json_string(v[i].proxy)), 0);
		assert_int_equal(ob_protected_encode(ph, &pb64), OB_OK);
		assert_int_equal(ob_envelope_append(env, pb64, NULL, sig,
		    sizeof(sig)), v[i].want);
		free(pb64);
		json_decref(ph);
		ob_envelope_free(&env);
	}
}

/* The verdict's assurance is what the trust store declares of the
 * gateway's key, software unless it says more; never a constant. */
static void
test_assurance(void **state)
{
	static const struct {
		const char	*kind, *assurance;
	} v[] = {
		{ NULL, "software" }, { "software", "software" },
		{ "pkcs11", "hardware" }, { "tpm2", "hardware" },
		{ "piv", "hardware" },
	};
	struct ob_verify_opts	 o;
	struct ob_verdict	*vd = NULL;
	struct ob_trust		*t;
	X509			*lf = leaf(DOCSIGN, NULL, -DAY, 10 * DAY);
	char			*env = envelope_at("gw.acme", lf, T_NOW), *s;
	char			*cap = t_cert_pem(ca);
	json_t			*doc;
	size_t			 i;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.aud = T_AUD;
	o.now = T_NOW + 5;
	o.channel = OB_CHANNEL_GATEWAY;
	o.proxy = "proxy-1";
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		gw_kind = v[i].kind;
		t = trust(ca, 0);
		if (ob_verify(t, NULL, &o, env, strlen(env), &vd) != OB_OK)
			fail_msg("verify: %s", ob_err_detail());
		assert_string_equal(vd->assurance, v[i].assurance);
		assert_string_equal(vd->owner_kind, "gateway");
		ob_verdict_free(&vd);
		ob_trust_free(&t);
	}
	gw_kind = NULL;
	/* An unknown kind is the trust store's error, not a guess. */
	doc = json_pack("{s:i,s:[{s:s,s:s,s:[s],s:[s],s:[s],s:[s],s:[s],"
	    "s:s}]}", "ownerbind_trust", 1, "gateways", "id", "gw.acme",
	    "owner", T_OWNER, "ca", cap, "algs", "ES256", "proxies", "p",
	    "trust_domains", "td.example", "may_bind", "wimse://td.example/*",
	    "kind", "hsm");
	s = json_dumps(doc, JSON_COMPACT);
	t = NULL;
	assert_int_equal(ob_trust_load_buf(s, strlen(s), &t),
	    OB_ERR_TRUST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "kind"));
	json_decref(doc);
	free(s);
	free(cap);
	free(env);
	X509_free(lf);
}

static void
test_eku(void **state)
{
	static const struct {
		const char	*eku;
		int		 want, want_required;
	} v[] = {
		{ NULL, OB_OK, OB_ERR_GATEWAY_EKU },
		{ DOCSIGN, OB_OK, OB_OK },
		{ "critical," DOCSIGN, OB_OK, OB_OK },
		{ "serverAuth," DOCSIGN, OB_OK, OB_OK },
		{ "anyExtendedKeyUsage", OB_OK, OB_ERR_GATEWAY_EKU },
		{ "serverAuth", OB_ERR_GATEWAY_EKU, OB_ERR_GATEWAY_EKU },
		{ "serverAuth,clientAuth", OB_ERR_GATEWAY_EKU,
		  OB_ERR_GATEWAY_EKU },
		{ "clientAuth", OB_ERR_GATEWAY_EKU, OB_ERR_GATEWAY_EKU },
		{ "OCSPSigning", OB_ERR_GATEWAY_EKU, OB_ERR_GATEWAY_EKU },
		{ "timeStamping", OB_ERR_GATEWAY_EKU, OB_ERR_GATEWAY_EKU },
		{ "codeSigning", OB_ERR_GATEWAY_EKU, OB_ERR_GATEWAY_EKU },
		{ "emailProtection", OB_ERR_GATEWAY_EKU, OB_ERR_GATEWAY_EKU },
		{ DOCSIGN ",OCSPSigning", OB_ERR_GATEWAY_EKU,
		  OB_ERR_GATEWAY_EKU },
		{ DOCSIGN ",timeStamping", OB_ERR_GATEWAY_EKU,
		  OB_ERR_GATEWAY_EKU },
		{ "anyExtendedKeyUsage,OCSPSigning", OB_ERR_GATEWAY_EKU,
		  OB_ERR_GATEWAY_EKU },
		{ "1.3.6.1.5.5.7.3.35", OB_ERR_GATEWAY_EKU,
		  OB_ERR_GATEWAY_EKU },		/* a neighbour of docSigning */
	};
	struct ob_trust	*t = trust(ca, 0), *tr = trust(ca, 1);
	X509		*lf;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		lf = leaf(v[i].eku, NULL, -DAY, 10 * DAY);
		check_leaf(t, lf, v[i].want, v[i].eku != NULL ? v[i].eku :
		    "no EKU");
		check_leaf(tr, lf, v[i].want_required, v[i].eku != NULL ?
		    v[i].eku : "no EKU, require_eku");
		X509_free(lf);
	}
	ob_trust_free(&t);
	ob_trust_free(&tr);
}

static void
test_names(void **state)
{
	static const struct {
		const char	*cn, *san;
		int		 want;
	} v[] = {
		{ "gw.acme", NULL, OB_OK },		/* CN without SAN */
		{ "gw.acme", "DNS:gw.acme", OB_OK },
		{ "other", "DNS:gw.acme", OB_OK },	/* SAN wins */
		{ "gw.acme", "URI:https://other/,DNS:gw.acme", OB_OK },
		{ "gw.acme", "URI:https://gw.acme/", OB_ERR_GATEWAY_CERT },
		{ "gw.acme", "email:gw@gw.acme", OB_ERR_GATEWAY_CERT },
		{ "gw.acme", "IP:127.0.0.1", OB_ERR_GATEWAY_CERT },
		{ "gw.acme", "URI:spiffe://gw.acme/gw", OB_ERR_GATEWAY_CERT },
		{ "gw.acme", "DNS:gw9.acme", OB_ERR_GATEWAY_CERT },
		{ "gw.acme", "DNS:*.acme", OB_ERR_GATEWAY_CERT },
	};
	struct ob_trust	*t = trust(ca, 0);
	struct cspec	 c = { NULL, 0, -DAY, 10 * DAY,
	    "critical,digitalSignature", DOCSIGN, NULL };
	X509		*lf;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		c.cn = v[i].cn;
		c.san = v[i].san;
		lf = mkcert(&c, gwkey, intkey, inter);
		check_leaf(t, lf, v[i].want, v[i].san != NULL ? v[i].san :
		    "CN only");
		X509_free(lf);
	}
	ob_trust_free(&t);
}

/*
 * x5c[0] text edited; the chain is otherwise the good one.  (What the
 * envelope parser already refuses, the base64url alphabet, whitespace,
 * a length that is not a multiple of 4, is in the negative corpus.)
 */
static int
verify_edited(const struct ob_trust *t, X509 *lf, char *(*edit)(const char *))
{
	json_t	*x = x5c_of(lf, inter);
	char	*s = edit(json_string_value(json_array_get(x, 0))), *env;
	int	 r;

	json_array_set_new(x, 0, json_string(s));
	free(s);
	env = envelope_x5c("gw.acme", x, T_NOW);
	r = verify_at(t, env, T_NOW);
	free(env);
	return r;
}

static char *
ed_same(const char *s)
{
	return strdup(s);
}

/* Set the lowest bit of the base64 character at d[i]. */
static void
set_low_bit(char *d, size_t i)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(a, d[i]);

	assert_non_null(p);
	d[i] = a[(p - a) | 1];
}

/* Non-zero unused bits before the padding, or a padded group after. */
static char *
ed_bits(const char *s)
{
	size_t	 n = strlen(s);
	char	*d = malloc(n + 5);

	memcpy(d, s, n + 1);
	if (d[n - 2] == '=')
		set_low_bit(d, n - 3);
	else if (d[n - 1] == '=')
		set_low_bit(d, n - 2);
	else
		memcpy(d + n, "AB==", 5);
	return d;
}

/* A whole group of padding in the middle. */
static char *
ed_pad_inside(const char *s)
{
	size_t	 n = strlen(s);
	char	*d = malloc(n + 5);

	memcpy(d, s, 8);
	memcpy(d + 8, "====", 4);
	memcpy(d + 12, s + 8, n - 8 + 1);
	return d;
}

/* '=' in the last group but not at its end. */
static char *
ed_pad_early(const char *s)
{
	size_t	 n = strlen(s);
	char	*d = strdup(s);

	d[n - 3] = '=';
	d[n - 1] = d[n - 1] == '=' ? 'A' : d[n - 1];
	return d;
}

static void
test_x5c_base64(void **state)
{
	struct ob_trust	*t = trust(ca, 0);
	X509		*lf = leaf(DOCSIGN, NULL, -DAY, 10 * DAY);

	(void)state;
	assert_int_equal(verify_edited(t, lf, ed_same), OB_OK);
	assert_int_equal(verify_edited(t, lf, ed_bits),
	    OB_ERR_X5C_NONCANONICAL);
	assert_int_equal(verify_edited(t, lf, ed_pad_inside),
	    OB_ERR_X5C_NONCANONICAL);
	assert_int_equal(verify_edited(t, lf, ed_pad_early),
	    OB_ERR_X5C_NONCANONICAL);
	/* Still refused after the good text was cached. */
	assert_int_equal(verify_edited(t, lf, ed_same), OB_OK);
	assert_int_equal(verify_edited(t, lf, ed_bits),
	    OB_ERR_X5C_NONCANONICAL);
	X509_free(lf);
	ob_trust_free(&t);
}

/*
 * A cached chain is used only inside every certificate's validity: the
 * leaf's, the intermediate's (which here ends before the leaf's) and the
 * root's.  Each envelope is first accepted, so that the chain is in the
 * cache, then offered at a time outside one certificate's validity.
 */
static void
test_cache_times(void **state)
{
	struct cspec	 mid = { "Acme Gateways CA", 1, -30 * DAY, 1000,
	    "critical,keyCertSign,cRLSign", NULL, NULL };
	struct ob_trust	*t = trust(ca, 0);
	X509		*lf, *shortmid;
	char		*e1, *e2;

	(void)state;
	/* Leaf valid for 600 s from now. */
	lf = leaf(DOCSIGN, NULL, -DAY, 600);
	e1 = envelope_at("gw.acme", lf, T_NOW);
	e2 = envelope_at("gw.acme", lf, T_NOW + 700);
	assert_int_equal(verify_at(t, e1, T_NOW), OB_OK);
	assert_int_equal(verify_at(t, e1, T_NOW), OB_OK);
	assert_int_equal(verify_at(t, e2, T_NOW + 700), OB_ERR_GATEWAY_CHAIN);
	free(e1);
	free(e2);
	X509_free(lf);
	/* Leaf valid for ten days, under an intermediate that ends sooner. */
	shortmid = mkcert(&mid, intkey, cakey, ca);
	lf = leaf(DOCSIGN, NULL, -DAY, 10 * DAY);
	e1 = envelope_x5c("gw.acme", x5c_of(lf, shortmid), T_NOW);
	e2 = envelope_x5c("gw.acme", x5c_of(lf, shortmid), T_NOW + 2000);
	assert_int_equal(verify_at(t, e1, T_NOW), OB_OK);
	assert_int_equal(verify_at(t, e2, T_NOW + 2000), OB_ERR_GATEWAY_CHAIN);
	assert_int_equal(verify_at(t, e1, T_NOW), OB_OK);
	free(e1);
	free(e2);
	X509_free(lf);
	X509_free(shortmid);
	/* Not yet valid: cached at T+200, offered again at T+50. */
	lf = leaf(DOCSIGN, NULL, 100, 10 * DAY);
	e1 = envelope_at("gw.acme", lf, T_NOW + 200);
	e2 = envelope_at("gw.acme", lf, T_NOW + 50);
	assert_int_equal(verify_at(t, e1, T_NOW + 200), OB_OK);
	assert_int_equal(verify_at(t, e2, T_NOW + 50), OB_ERR_GATEWAY_CHAIN);
	free(e1);
	free(e2);
	X509_free(lf);
	ob_trust_free(&t);
}

/*
 * A chain accepted under one trust store says nothing under the next: a
 * reload with another CA (same name, another key) refuses it, and so
 * does a second gateway of the same store with another CA, for the very
 * same x5c bytes.
 */
static void
test_cache_scope(void **state)
{
	struct ob_trust	*t = trust(ca, 0), *t2;
	X509		*lf = leaf(DOCSIGN, "DNS:gw.acme,DNS:gw.other", -DAY,
			    10 * DAY);
	char		*e = envelope_at("gw.acme", lf, T_NOW),
			*eo = envelope_at("gw.other", lf, T_NOW);

	(void)state;
	assert_int_equal(verify_at(t, e, T_NOW), OB_OK);
	assert_int_equal(verify_at(t, e, T_NOW), OB_OK);
	ob_trust_free(&t);
	t = trust(rogue, 0);		/* the reload */
	assert_int_equal(verify_at(t, e, T_NOW), OB_ERR_GATEWAY_CHAIN);
	ob_trust_free(&t);
	t = trust(ca, 0);		/* and back */
	assert_int_equal(verify_at(t, e, T_NOW), OB_OK);
	/* Two stores alive at once, each with its own cache. */
	t2 = trust(rogue, 0);
	assert_int_equal(verify_at(t2, e, T_NOW), OB_ERR_GATEWAY_CHAIN);
	ob_trust_free(&t2);
	ob_trust_free(&t);
	/* gw.acme under the real CA, gw.other under the rogue one. */
	t = trust2(ca, 0, rogue);
	assert_int_equal(verify_at(t, e, T_NOW), OB_OK);
	assert_int_equal(verify_at(t, eo, T_NOW), OB_ERR_GATEWAY_CHAIN);
	ob_trust_free(&t);
	/* And the per-gateway rule (require_eku) in one store. */
	X509_free(lf);
	lf = leaf(NULL, "DNS:gw.acme", -DAY, 10 * DAY);
	free(e);
	e = envelope_at("gw.acme", lf, T_NOW);
	t = trust(ca, 0);
	t2 = trust(ca, 1);
	assert_int_equal(verify_at(t, e, T_NOW), OB_OK);
	assert_int_equal(verify_at(t2, e, T_NOW), OB_ERR_GATEWAY_EKU);
	ob_trust_free(&t);
	ob_trust_free(&t2);
	free(e);
	free(eo);
	X509_free(lf);
}

/* Threads sharing one store and its chain cache (run under TSan too). */
#define TH_N		4
#define TH_CHAINS	6
#define TH_ROUNDS	40

static const struct ob_trust	*th_trust;
static char			*th_env[TH_CHAINS];
static int			 th_want[TH_CHAINS];
static pthread_barrier_t	 th_start;

static void *
th_run(void *arg)
{
	int i, k, bad = 0;

	(void)arg;
	pthread_barrier_wait(&th_start);
	for (k = 0; k < TH_ROUNDS; k++)
		for (i = 0; i < TH_CHAINS; i++)
			if (verify_at(th_trust, th_env[i], T_NOW) != th_want[i])
				bad++;
	return (void *)(intptr_t)bad;
}

static void
test_cache_threads(void **state)
{
	struct ob_trust	*t = trust(ca, 0);
	pthread_t	 th[TH_N];
	X509		*lf;
	void		*res;
	int		 i;

	(void)state;
	for (i = 0; i < TH_CHAINS; i++) {
		/* Odd ones are TLS-only certificates: always refused. */
		lf = leaf(i % 2 == 0 ? DOCSIGN : "serverAuth", NULL, -DAY - i,
		    10 * DAY);
		th_env[i] = envelope_at("gw.acme", lf, T_NOW);
		th_want[i] = i % 2 == 0 ? OB_OK : OB_ERR_GATEWAY_EKU;
		X509_free(lf);
	}
	th_trust = t;
	assert_int_equal(pthread_barrier_init(&th_start, NULL, TH_N), 0);
	for (i = 0; i < TH_N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, th_run, NULL), 0);
	for (i = 0; i < TH_N; i++) {
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_int_equal((intptr_t)res, 0);
	}
	assert_int_equal(pthread_barrier_destroy(&th_start), 0);
	for (i = 0; i < TH_CHAINS; i++)
		free(th_env[i]);
	ob_trust_free(&t);
}

static void
test_trust_require_eku(void **state)
{
	static const char doc[] = "{\"ownerbind_trust\":1,\"gateways\":[{"
	    "\"id\":\"g\",\"owner\":\"o\",\"ca\":[\"%s\"],\"algs\":[\"ES256\"],"
	    "\"proxies\":[\"p\"],\"trust_domains\":[\"td\"],\"may_bind\":["
	    "\"wimse://td/*\"],\"require_eku\":%s}]}";
	struct ob_trust	*t = NULL;
	json_t		*js;
	char		*cap = t_cert_pem(ca), *esc, buf[8192];

	(void)state;
	js = json_string(cap);
	esc = json_dumps(js, JSON_ENCODE_ANY);
	esc[strlen(esc) - 1] = '\0';
	(void)snprintf(buf, sizeof(buf), doc, esc + 1, "\"yes\"");
	assert_int_equal(ob_trust_load_buf(buf, strlen(buf), &t),
	    OB_ERR_TRUST_INVALID);
	assert_non_null(strstr(ob_err_detail(), "require_eku"));
	assert_null(t);
	(void)snprintf(buf, sizeof(buf), doc, esc + 1, "true");
	assert_int_equal(ob_trust_load_buf(buf, strlen(buf), &t), OB_OK);
	ob_trust_free(&t);
	json_decref(js);
	free(esc);
	free(cap);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assurance),
		cmocka_unit_test(test_ob_proxy),
		cmocka_unit_test(test_ob_proxy_form),
		cmocka_unit_test(test_eku),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_x5c_base64),
		cmocka_unit_test(test_cache_times),
		cmocka_unit_test(test_cache_scope),
		cmocka_unit_test(test_cache_threads),
		cmocka_unit_test(test_trust_require_eku),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
