/*
 * The relying party (ob_rp.h) against credentials the real issuer makes
 * (server/issuer.c, a file: issuer key under its own CA): a WIT with its
 * WPT, and the WIC, accepted and read back; then each check's refusal
 * with its stable code, on tokens re-signed with the right keys so that
 * only the one thing under test is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/json.h"
#include "core/jwk.h"
#include "ownerbind/ob_rp.h"
#include "server-verify/verify_int.h"
#include "server/issuer.h"
#include "tests/unit/obtest.h"
#include "tokens/file.h"

#define ISS	"https://issuer.example"
#define AUD	"https://svc.example/v1/report"
#define OWNERC	"urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"

static char		 dir[64];
static long long	 now;
static EVP_PKEY		*ikey, *okey, *agent, *owner, *gwkey;
static X509		*ica, *oca;
static char		*ica_pem, *oca_pem, *jwks;
static struct ob_credential *cred, *gwcred, *noou;	/* noou: no OU */

static char *
path(const char *name)
{
	static char	buf[4][512];
	static int	i;

	i = (i + 1) % 4;
	(void)snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* A CA as an operator makes one: SKI, AKI, keyCertSign. */
static X509 *
mkca(EVP_PKEY *k, const char *cn)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	X509V3_CTX	 ctx;
	const char	*ext[][2] = {
		{ "basicConstraints", "critical,CA:TRUE" },
		{ "keyUsage", "critical,keyCertSign,cRLSign" },
		{ "subjectKeyIdentifier", "hash" },
		{ "authorityKeyIdentifier", "keyid:always" },
	};
	size_t		 i;

	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_version(x, X509_VERSION_3);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0,
	    (time_t[]){ now - 86400 });
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0,
	    (time_t[]){ now + 86400 });
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < 4; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, ext[i][0],
		    ext[i][1]);

		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static char *
sdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static char *
b64sha(const void *p, size_t n)
{
	unsigned char	 md[32];
	char		*s = NULL;

	assert_int_equal(ob_sha256(p, n, md), OB_OK);
	assert_int_equal(ob_b64url_encode(md, 32, &s), OB_OK);
	return s;
}

/* A verdict as ob_verify hands it to the issuer. */
static struct ob_verdict *
verdict(int gateway)
{
	struct ob_verdict	*v = calloc(1, sizeof(*v));
	json_t			*j = NULL;
	char			*s;

	assert_non_null(v);
	v->agent = sdup(T_SUB);
	v->agent_jkt = t_kid(agent);
	v->agent_alg = sdup("ES256");
	assert_int_equal(ob_jwk_from_pkey(agent, &j), OB_OK);
	assert_int_equal(ob_jwk_canonical(j, &v->agent_jwk), OB_OK);
	json_decref(j);
	v->owner = sdup(T_OWNER);
	v->model = sdup(gateway ? "owner-mediated" : "agent-mediated");
	v->assurance = sdup(gateway ? "hardware" : "software");
	v->owner_type = sdup(gateway ? "organization" : "service");
	v->owner_kind = sdup(gateway ? "gateway" : "software");
	v->envelope_sha256 = b64sha("an envelope", 11);
	v->approved_at = now - 5;
	if (gateway) {
		v->gateway = sdup("gw.acme");
		v->gateway_x5t = b64sha("a gateway certificate", 21);
	} else {
		assert_int_equal(ob_jwk_from_pkey(owner, &j), OB_OK);
		s = json_dumps(j, JSON_COMPACT);
		v->owner_jwk = s;
		json_decref(j);
		v->owner_jkt = t_kid(owner);
		v->owner_group = sdup("Agents");
		v->dns_name = sdup("a1.td.example");
		v->logical_id = sdup("billing-agent");
	}
	return v;
}

static int
setup(void **state)
{
	struct ob_issuer_cfg	 cfg;
	struct ob_issuer	*is = NULL;
	struct ob_verdict	*v;
	json_t			*j = NULL;
	char			 uri[600];
	FILE			*f;

	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/ob-rp-XXXXXX");
	assert_non_null(mkdtemp(dir));
	now = (long long)time(NULL);
	assert_int_equal(ob_file_keygen(path("issuer.key"), OB_ALG_ES256, NULL,
	    &ikey), OB_OK);
	okey = t_key("P-256");
	agent = t_key("P-256");
	owner = t_key("Ed25519");
	gwkey = t_key("P-256");
	ica = mkca(ikey, "Issuer CA");
	oca = mkca(okey, "Other CA");
	ica_pem = t_cert_pem(ica);
	oca_pem = t_cert_pem(oca);
	memset(&cfg, 0, sizeof(cfg));
	(void)snprintf(uri, sizeof(uri), "file:%s", path("issuer.key"));
	cfg.key_uri = uri;
	cfg.chain_pem = ica_pem;
	cfg.iss = ISS;
	/* Without wic.subject_ou first: the owner's group is not in the WIC. */
	if (ob_issuer_open(&cfg, &is) != OB_OK)
		fail_msg("issuer: %s", ob_err_detail());
	v = verdict(0);
	if (ob_issuer_issue(is, v, now, 0, &noou) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	ob_issuer_free(&is);
	/* The rest with it: the relying party reads the group from the OU. */
	cfg.subject_ou = 1;
	if (ob_issuer_open(&cfg, &is) != OB_OK)
		fail_msg("issuer: %s", ob_err_detail());
	if (ob_issuer_issue(is, v, now, 0, &cred) != OB_OK)
		fail_msg("issue: %s", ob_err_detail());
	ob_verdict_free(&v);
	v = verdict(1);
	if (ob_issuer_issue(is, v, now, 600, &gwcred) != OB_OK)
		fail_msg("issue (gateway): %s", ob_err_detail());
	ob_verdict_free(&v);
	assert_int_equal(ob_issuer_jwks(is, NULL, 0, &j), OB_OK);
	jwks = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ob_issuer_free(&is);
	assert_non_null((f = fopen(path("ca.pem"), "w")));
	fputs(ica_pem, f);
	fclose(f);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)	/* lint: ok: rm -rf of our mkdtemp */
		return -1;
	EVP_PKEY_free(ikey);
	EVP_PKEY_free(okey);
	EVP_PKEY_free(agent);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(gwkey);
	X509_free(ica);
	X509_free(oca);
	free(ica_pem);
	free(oca_pem);
	free(jwks);
	ob_credential_free(&cred);
	ob_credential_free(&gwcred);
	ob_credential_free(&noou);
	return 0;
}

/* ---- tokens ---- */

static char *
b64json(const json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT), *b = NULL;

	assert_non_null(s);
	assert_int_equal(ob_b64url_encode((unsigned char *)s, strlen(s), &b),
	    OB_OK);
	free(s);
	return b;
}

/* header.claims signed with key under alg (sign_alg: the alg the bytes
 * are really signed with, which a test may make differ from "alg"). */
static char *
jws(const json_t *hdr, const json_t *cl, EVP_PKEY *key, enum ob_alg alg)
{
	char		*h = b64json(hdr), *c = b64json(cl), *s64 = NULL, *out, *t;
	unsigned char	*sig = NULL;
	size_t		 n, siglen;

	n = strlen(h) + 1 + strlen(c);
	out = malloc(n + 200);
	assert_non_null(out);
	(void)snprintf(out, n + 1, "%s.%s", h, c);
	assert_int_equal(ob_sig_sign(alg, key, (unsigned char *)out, n, &sig,
	    &siglen), OB_OK);
	assert_int_equal(ob_b64url_encode(sig, siglen, &s64), OB_OK);
	assert_non_null(t = realloc(out, n + 2 + strlen(s64)));
	out = t;
	(void)snprintf(out + n, 2 + strlen(s64), ".%s", s64);
	free(h);
	free(c);
	free(s64);
	free(sig);
	return out;
}

/* Part i (0 header, 1 claims) of a compact JWS, decoded. */
static json_t *
part(const char *jwt, int i)
{
	const char	*p = jwt, *e;
	unsigned char	*b = NULL;
	size_t		 n;
	json_t		*j = NULL;

	while (i-- > 0)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	assert_int_equal(ob_b64url_decode(p, (size_t)(e - p), 65536, &b, &n),
	    OB_OK);
	assert_int_equal(ob_json_parse_object(b, n, &j), OB_OK);
	free(b);
	return j;
}

static char *
rand_jti(void)
{
	unsigned char	 b[16];
	char		*s = NULL;

	assert_int_equal(RAND_bytes(b, sizeof(b)), 1);
	assert_int_equal(ob_b64url_encode(b, sizeof(b), &s), OB_OK);
	return s;
}

static json_t *
wpt_hdr(void)
{
	return json_pack("{s:s,s:s}", "alg", "ES256", "typ", "wpt+jwt");
}

static json_t *
wpt_claims(const char *wit)
{
	char	*wth = b64sha(wit, strlen(wit)), *jti = rand_jti();
	json_t	*c = json_pack("{s:s,s:I,s:I,s:s,s:s}", "aud", AUD, "iat",
	    (json_int_t)now, "exp", (json_int_t)(now + 60), "jti", jti, "wth",
	    wth);

	free(wth);
	free(jti);
	return c;
}

/* A good WPT for wit, made by the agent. */
static char *
wpt_for(const char *wit)
{
	json_t	*h = wpt_hdr(), *c = wpt_claims(wit);
	char	*s = jws(h, c, agent, OB_ALG_ES256);

	json_decref(h);
	json_decref(c);
	return s;
}

/* The issuer's WIT with its claims changed by the test, re-signed with
 * the issuer key (or key) so that only that change is wrong. */
static char *
wit_with(json_t *hdr, json_t *cl, EVP_PKEY *key)
{
	json_t	*h = hdr != NULL ? hdr : part(cred->wit, 0);
	json_t	*c = cl != NULL ? cl : part(cred->wit, 1);
	char	*s = jws(h, c, key != NULL ? key : ikey, OB_ALG_ES256);

	json_decref(h);
	json_decref(c);
	return s;
}

static struct ob_rp *
rp_jwks(void)
{
	struct ob_rp *rp = NULL;

	assert_int_equal(ob_rp_new(&rp), OB_OK);
	if (ob_rp_add_issuer_jwks(rp, jwks, strlen(jwks)) != OB_OK)
		fail_msg("jwks: %s", ob_err_detail());
	assert_int_equal(ob_rp_set_now(rp, now + 1), OB_OK);
	return rp;
}

static struct ob_rp *
rp_ca(void)
{
	struct ob_rp *rp = NULL;

	assert_int_equal(ob_rp_new(&rp), OB_OK);
	if (ob_rp_add_issuer_ca_file(rp, path("ca.pem")) != OB_OK)
		fail_msg("ca: %s", ob_err_detail());
	assert_int_equal(ob_rp_set_now(rp, now + 1), OB_OK);
	return rp;
}

static struct ob_rp_req *
req_aud(const char *aud)
{
	struct ob_rp_req *q = NULL;

	assert_int_equal(ob_rp_req_new(&q), OB_OK);
	assert_int_equal(ob_rp_req_set_aud(q, aud), OB_OK);
	return q;
}

/* ob_rp_verify_wit's code; the result, if any, is checked and freed. */
static int
vw(const struct ob_rp *rp, struct ob_state *st, const struct ob_rp_req *q,
    const char *wit, const char *wpt)
{
	struct ob_rp_result	*res = NULL;
	int			 r;

	r = ob_rp_verify_wit(rp, st, q, wit, wpt, &res);
	if (r == OB_OK)
		assert_non_null(res);
	else
		assert_null(res);
	ob_rp_result_free(&res);
	return r;
}

#define EXPECT(want, call) do {						\
	int r_ = (call);						\
	if (r_ != (want))						\
		fail_msg("%s: got %s (%s), want %s", #call,		\
		    ob_err_name(r_), ob_err_detail(), ob_err_name(want)); \
} while (0)

/* ---- WIT + WPT accepted ---- */

static void
test_wit_ok(void **state)
{
	struct ob_rp		*rp = rp_jwks(), *rp2 = rp_ca();
	struct ob_rp_req	*q = req_aud(AUD);
	struct ob_rp_result	*res = NULL;
	char			*wpt = wpt_for(cred->wit), *js = NULL;
	char			*okid = t_kid(owner), *akid = t_kid(agent);

	(void)state;
	if (ob_rp_verify_wit(rp, NULL, q, cred->wit, wpt, &res) != OB_OK)
		fail_msg("verify: %s", ob_err_detail());
	assert_string_equal(ob_rp_result_via(res), "wit");
	assert_string_equal(ob_rp_result_agent(res), T_SUB);
	assert_string_equal(ob_rp_result_iss(res), ISS);
	assert_string_equal(ob_rp_result_owner(res), T_OWNER);
	assert_string_equal(ob_rp_result_owner_type(res), "service");
	assert_string_equal(ob_rp_result_owner_kind(res), "software");
	assert_string_equal(ob_rp_result_assurance(res), "software");
	assert_string_equal(ob_rp_result_model(res), "agent-mediated");
	assert_string_equal(ob_rp_result_owner_group(res), "Agents");
	assert_string_equal(ob_rp_result_dns_name(res), "a1.td.example");
	assert_string_equal(ob_rp_result_logical_id(res), "billing-agent");
	assert_null(ob_rp_result_client_id(res));
	assert_null(ob_rp_result_gateway(res));
	assert_string_equal(ob_rp_result_owner_jkt(res), okid);
	assert_string_equal(ob_rp_result_agent_jkt(res), akid);
	assert_string_equal(ob_rp_result_agent_alg(res), "ES256");
	assert_string_equal(ob_rp_result_jti(res), cred->jti);
	assert_int_equal(ob_rp_result_approved_at(res), now - 5);
	assert_int_equal(ob_rp_result_exp(res), now + 3600);
	assert_int_equal(ob_rp_result_json(res, &js), OB_OK);
	assert_non_null(strstr(js, "\"owner\":\"" T_OWNER "\""));
	free(js);
	ob_rp_result_free(&res);
	assert_null(res);
	/* The issuer CA's key, in place of the JWKS. */
	EXPECT(OB_OK, vw(rp2, NULL, q, cred->wit, wpt));
	free(okid);
	free(akid);
	free(wpt);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
	ob_rp_free(&rp2);
}

static void
test_wit_gateway(void **state)
{
	struct ob_rp		*rp = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD);
	struct ob_rp_result	*res = NULL;
	char			*wpt = wpt_for(gwcred->wit);

	(void)state;
	if (ob_rp_verify_wit(rp, NULL, q, gwcred->wit, wpt, &res) != OB_OK)
		fail_msg("verify: %s", ob_err_detail());
	assert_string_equal(ob_rp_result_model(res), "owner-mediated");
	assert_string_equal(ob_rp_result_gateway(res), "gw.acme");
	assert_string_equal(ob_rp_result_owner_kind(res), "gateway");
	assert_non_null(ob_rp_result_gateway_x5t(res));
	assert_null(ob_rp_result_owner_jkt(res));
	ob_rp_result_free(&res);
	free(wpt);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
}

/* ---- WPT refusals ---- */

static void
test_wpt_refused(void **state)
{
	struct ob_rp		*rp = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD), *q2 = req_aud(AUD "/other");
	json_t			*h, *c;
	char			*w, *other;

	(void)state;
	w = wpt_for(cred->wit);
	EXPECT(OB_ERR_WPT_AUD, vw(rp, NULL, q2, cred->wit, w));
	free(w);
	/* Expired, beyond the skew; and living too long. */
	c = wpt_claims(cred->wit);
	json_object_set_new(c, "exp", json_integer(now - 61));
	json_object_set_new(c, "iat", json_integer(now - 120));
	h = wpt_hdr();
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_EXPIRED, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_set_new(c, "exp", json_integer(now + 3600));
	json_object_set_new(c, "iat", json_integer(now));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_EXPIRED, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_decref(c);
	/* wth of another WIT. */
	other = wit_with(NULL, NULL, NULL);
	assert_string_not_equal(other, cred->wit);
	w = wpt_for(other);
	EXPECT(OB_ERR_WPT_WTH, vw(rp, NULL, q, cred->wit, w));
	EXPECT(OB_OK, vw(rp, NULL, q, other, w));
	free(w);
	free(other);
	/* Signed by another key than cnf.jwk. */
	c = wpt_claims(cred->wit);
	w = jws(h, c, okey, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_SIG, vw(rp, NULL, q, cred->wit, w));
	free(w);
	/* alg other than cnf.jwk's, and typ other than wpt+jwt. */
	json_object_set_new(h, "alg", json_string("ES384"));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_ALG, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_set_new(h, "alg", json_string("ES256"));
	json_object_set_new(h, "typ", json_string("wit+jwt"));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_JWT_TYP, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_set_new(h, "typ", json_string("application/WPT+JWT"));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_OK, vw(rp, NULL, q, cred->wit, w));
	free(w);
	/* crit: nothing here is understood. */
	json_object_set_new(h, "crit", json_pack("[s]", "x"));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_JWT_FORM, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_decref(h);
	h = wpt_hdr();
	/* jti missing, then too short. */
	json_object_del(c, "jti");
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_CLAIMS, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_set_new(c, "jti", json_string("short"));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_CLAIMS, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_decref(c);
	json_decref(h);
	ob_rp_req_free(&q);
	ob_rp_req_free(&q2);
	ob_rp_free(&rp);
}

/* Replay: the second use refused; a refused WPT records nothing. */
static void
test_wpt_replay(void **state)
{
	struct ob_rp		*rp = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD);
	struct ob_state		*st = NULL;
	json_t			*h = wpt_hdr(), *c = wpt_claims(cred->wit);
	char			*w = jws(h, c, agent, OB_ALG_ES256);
	char			*forged = jws(h, c, okey, OB_ALG_ES256);

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	EXPECT(OB_ERR_WPT_SIG, vw(rp, st, q, cred->wit, forged));
	EXPECT(OB_OK, vw(rp, st, q, cred->wit, w));
	EXPECT(OB_ERR_WPT_REPLAY, vw(rp, st, q, cred->wit, w));
	/* Without state there is no replay detection (a dry run). */
	EXPECT(OB_OK, vw(rp, NULL, q, cred->wit, w));
	free(w);
	free(forged);
	json_decref(h);
	json_decref(c);
	ob_state_free(&st);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
}

/* ath, tth, oth: the tokens the request carries, exactly. */
static void
test_wpt_bindings(void **state)
{
	struct ob_rp		*rp = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD), *qa = req_aud(AUD);
	struct ob_rp_req	*qo = req_aud(AUD);
	json_t			*h = wpt_hdr(), *c;
	char			*w, *ath = b64sha("at-123", 6);
	char			*oh = b64sha("ctx-9", 5);

	(void)state;
	assert_int_equal(ob_rp_req_set_access_token(qa, " at-123 "), OB_OK);
	assert_int_equal(ob_rp_req_add_other_token(qo, "X-Context", "ctx-9"),
	    OB_OK);
	assert_int_equal(ob_rp_req_add_other_token(qo, "x-context", "y"),
	    OB_ERR_INVALID_ARG);
	c = wpt_claims(cred->wit);
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_TOKEN_HASH, vw(rp, NULL, qa, cred->wit, w));
	EXPECT(OB_ERR_WPT_TOKEN_HASH, vw(rp, NULL, qo, cred->wit, w));
	free(w);
	json_object_set_new(c, "ath", json_string(ath));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_OK, vw(rp, NULL, qa, cred->wit, w));
	EXPECT(OB_ERR_WPT_TOKEN_HASH, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_set_new(c, "ath", json_string(oh));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_TOKEN_HASH, vw(rp, NULL, qa, cred->wit, w));
	free(w);
	json_object_del(c, "ath");
	json_object_set_new(c, "tth", json_string(ath));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_TOKEN_HASH, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_del(c, "tth");
	/* An oth entry the service was not told about. */
	json_object_set_new(c, "oth", json_pack("{s:s}", "x-unknown", oh));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_OTH, vw(rp, NULL, q, cred->wit, w));
	EXPECT(OB_ERR_WPT_OTH, vw(rp, NULL, qo, cred->wit, w));
	free(w);
	json_object_set_new(c, "oth", json_pack("{s:s}", "x-context", oh));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_OK, vw(rp, NULL, qo, cred->wit, w));
	EXPECT(OB_ERR_WPT_OTH, vw(rp, NULL, q, cred->wit, w));
	free(w);
	json_object_set_new(c, "oth", json_pack("{s:s}", "x-context", ath));
	w = jws(h, c, agent, OB_ALG_ES256);
	EXPECT(OB_ERR_WPT_TOKEN_HASH, vw(rp, NULL, qo, cred->wit, w));
	free(w);
	json_decref(c);
	json_decref(h);
	free(ath);
	free(oh);
	ob_rp_req_free(&q);
	ob_rp_req_free(&qa);
	ob_rp_req_free(&qo);
	ob_rp_free(&rp);
}

/* ---- WIT refusals ---- */

static void
test_wit_refused(void **state)
{
	struct ob_rp		*rp = rp_jwks(), *rpi = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD);
	json_t			*h, *c, *o;
	char			*wit, *w, *kid = t_kid(okey);

	(void)state;
	/* Unknown issuer: another key under its own kid, or under ours. */
	h = part(cred->wit, 0);
	json_object_set_new(h, "kid", json_string(kid));
	wit = wit_with(h, NULL, okey);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_ISSUER, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	wit = wit_with(NULL, NULL, okey);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_ISSUER, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* Our key's signature under a kid that is not configured. */
	h = part(cred->wit, 0);
	json_object_set_new(h, "kid", json_string("not-a-configured-kid"));
	wit = wit_with(h, NULL, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_ISSUER, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* Another iss than the configured one. */
	assert_int_equal(ob_rp_set_iss(rpi, "https://other.example"), OB_OK);
	w = wpt_for(cred->wit);
	EXPECT(OB_ERR_WIT_ISSUER, vw(rpi, NULL, q, cred->wit, w));
	assert_int_equal(ob_rp_set_iss(rpi, ISS), OB_OK);
	EXPECT(OB_OK, vw(rpi, NULL, q, cred->wit, w));
	free(w);
	/* Expired (beyond the skew). */
	c = part(cred->wit, 1);
	json_object_set_new(c, "iat", json_integer(now - 7200));
	json_object_set_new(c, "exp", json_integer(now - 61));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_EXPIRED, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* Not valid yet. */
	c = part(cred->wit, 1);
	json_object_set_new(c, "iat", json_integer(now + 600));
	json_object_set_new(c, "exp", json_integer(now + 4000));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_EXPIRED, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* alg not the key's (ES384 for a P-256 key), none, a MAC. */
	h = part(cred->wit, 0);
	json_object_set_new(h, "alg", json_string("ES384"));
	wit = wit_with(h, NULL, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_ALG, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	h = part(cred->wit, 0);
	json_object_set_new(h, "alg", json_string("none"));
	wit = wit_with(h, NULL, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_ALG, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	h = part(cred->wit, 0);
	json_object_set_new(h, "alg", json_string("HS256"));
	wit = wit_with(h, NULL, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_ALG, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* typ. */
	h = part(cred->wit, 0);
	json_object_set_new(h, "typ", json_string("JWT"));
	wit = wit_with(h, NULL, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_JWT_TYP, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* Claims: no owner claim, an unknown member in it, a jkt that is
	 * not its jwk's, cnf.jwk without alg, a sub that is no workload id. */
	c = part(cred->wit, 1);
	json_object_del(c, OWNERC);
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(o, "scope", json_string("all"));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(o, "jkt", json_string(kid));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* A renewal's members: both, well formed, or neither. */
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(o, "renewal_of",
	    json_string("AAAAAAAAAAAAAAAAAAAAAA"));
	json_object_set_new(o, "renew_until", json_integer(T_NOW + 600));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	assert_int_equal(vw(rp, NULL, q, wit, w), OB_OK);
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(o, "renewal_of",
	    json_string("AAAAAAAAAAAAAAAAAAAAAA"));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(o, "renewal_of", json_integer(1));
	json_object_set_new(o, "renew_until", json_integer(T_NOW + 600));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(o, "assurance", json_string("extreme"));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	o = json_object_get(c, OWNERC);
	json_object_set_new(json_object_get(o, "jwk"), "d",
	    json_string("AAAA"));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	json_object_del(json_object_get(json_object_get(c, "cnf"), "jwk"),
	    "alg");
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	c = part(cred->wit, 1);
	json_object_set_new(c, "sub", json_string("https://td.example/a1"));
	wit = wit_with(NULL, c, NULL);
	w = wpt_for(wit);
	EXPECT(OB_ERR_WIT_CLAIMS, vw(rp, NULL, q, wit, w));
	free(wit);
	free(w);
	/* Form: two parts; a duplicate member in the header. */
	w = wpt_for(cred->wit);
	EXPECT(OB_ERR_JWT_FORM, vw(rp, NULL, q, "abc.def", w));
	EXPECT(OB_ERR_JWT_FORM, vw(rp, NULL, q, cred->wit, "abc.def.ghi.jkl"));
	free(w);
	free(kid);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
	ob_rp_free(&rpi);
}

/* Every truncation and every one-character change of the WIT refused. */
static void
test_wit_mutations(void **state)
{
	struct ob_rp		*rp = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD);
	char			*w = wpt_for(cred->wit), *m = sdup(cred->wit);
	size_t			 i, n = strlen(m);
	char			 keep;

	(void)state;
	for (i = 0; i < n; i++) {
		keep = m[i];
		m[i] = '\0';
		if (vw(rp, NULL, q, m, w) == OB_OK)
			fail_msg("truncation at %zu accepted", i);
		m[i] = keep == 'A' ? 'B' : keep == '.' ? 'x' : 'A';
		if (vw(rp, NULL, q, m, w) == OB_OK)
			fail_msg("change at %zu accepted", i);
		m[i] = keep;
	}
	EXPECT(OB_OK, vw(rp, NULL, q, m, w));
	free(m);
	free(w);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
}

/* ---- WIC ---- */

/* The leaf of a credential's PEM, as an X509. */
static X509 *
wic_leaf(const struct ob_credential *c)
{
	BIO	*b = BIO_new_mem_buf(c->wic_pem, -1);
	X509	*x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static int
vc_x509(const struct ob_rp *rp, X509 *x)
{
	struct ob_rp_result	*res = NULL;
	unsigned char		*der = NULL;
	int			 n = i2d_X509(x, &der), r;

	assert_true(n > 0);
	r = ob_rp_verify_wic(rp, der, (size_t)n, &res);
	OPENSSL_free(der);
	if (r == OB_OK)
		assert_non_null(res);
	ob_rp_result_free(&res);
	return r;
}

static void
test_wic_ok(void **state)
{
	struct ob_rp		*rp = rp_ca(), *rpw = rp_jwks();
	struct ob_rp_req	*q = req_aud(AUD);
	struct ob_rp_result	*res = NULL, *wres = NULL;
	char			*w = wpt_for(cred->wit);
	X509			*x = wic_leaf(cred);

	(void)state;
	if (ob_rp_verify_wic(rp, cred->wic_pem, strlen(cred->wic_pem),
	    &res) != OB_OK)
		fail_msg("wic: %s", ob_err_detail());
	assert_int_equal(ob_rp_verify_wit(rpw, NULL, q, cred->wit, w, &wres),
	    OB_OK);
	/* The WIC and the WIT say the same about agent and owner. */
	assert_string_equal(ob_rp_result_via(res), "wic");
	assert_string_equal(ob_rp_result_agent(res), ob_rp_result_agent(wres));
	assert_string_equal(ob_rp_result_agent_jkt(res),
	    ob_rp_result_agent_jkt(wres));
	assert_string_equal(ob_rp_result_owner(res), T_OWNER);
	assert_string_equal(ob_rp_result_owner_type(res), "service");
	assert_string_equal(ob_rp_result_owner_kind(res), "software");
	assert_string_equal(ob_rp_result_assurance(res), "software");
	assert_string_equal(ob_rp_result_model(res), "agent-mediated");
	assert_string_equal(ob_rp_result_owner_group(res), "Agents");
	assert_string_equal(ob_rp_result_owner_jkt(res),
	    ob_rp_result_owner_jkt(wres));
	assert_string_equal(ob_rp_result_envelope_sha256(res),
	    ob_rp_result_envelope_sha256(wres));
	assert_int_equal(ob_rp_result_approved_at(res),
	    ob_rp_result_approved_at(wres));
	assert_int_equal(ob_rp_result_exp(res), ob_rp_result_exp(wres));
	assert_null(ob_rp_result_dns_name(res));
	ob_rp_result_free(&res);
	ob_rp_result_free(&wres);
	/* DER, and the purpose of a server (the WIC has serverAuth too). */
	EXPECT(OB_OK, vc_x509(rp, x));
	assert_int_equal(ob_rp_set_wic_purpose(rp, OB_RP_PURPOSE_SERVER),
	    OB_OK);
	EXPECT(OB_OK, vc_x509(rp, x));
	/* The owner-mediated WIC: a gateway in the description. */
	if (ob_rp_verify_wic(rp, gwcred->wic_pem, strlen(gwcred->wic_pem),
	    &res) != OB_OK)
		fail_msg("gateway wic: %s", ob_err_detail());
	assert_string_equal(ob_rp_result_gateway(res), "gw.acme");
	assert_string_equal(ob_rp_result_model(res), "owner-mediated");
	assert_null(ob_rp_result_owner_group(res));
	ob_rp_result_free(&res);
	/* Issued without wic.subject_ou: the same owner, no group. */
	if (ob_rp_verify_wic(rp, noou->wic_pem, strlen(noou->wic_pem),
	    &res) != OB_OK)
		fail_msg("wic without OU: %s", ob_err_detail());
	assert_string_equal(ob_rp_result_owner(res), T_OWNER);
	assert_null(ob_rp_result_owner_group(res));
	ob_rp_result_free(&res);
	/* No CA configured: a configuration error, not a verdict. */
	EXPECT(OB_ERR_RP_CONFIG, vc_x509(rpw, x));
	X509_free(x);
	free(w);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
	ob_rp_free(&rpw);
}

/* Replace the SAN with URIs sans[0..n), re-sign with key. */
static void
resign_sans(X509 *x, const char *const *sans, size_t n, EVP_PKEY *key)
{
	GENERAL_NAMES	*gens = GENERAL_NAMES_new();
	size_t		 i;

	for (i = 0; i < n; i++) {
		GENERAL_NAME	*g = GENERAL_NAME_new();
		ASN1_IA5STRING	*s = ASN1_IA5STRING_new();

		ASN1_STRING_set(s, sans[i], -1);
		GENERAL_NAME_set0_value(g, GEN_URI, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_REPLACE), 1);
	GENERAL_NAMES_free(gens);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
}

static void
test_wic_refused(void **state)
{
	static const char *const two[] = { T_SUB, "spiffe://td.example/b" };
	static const char *const one[] = { T_SUB };
	struct ob_rp	*rp = rp_ca(), *rpx = rp_ca();
	X509		*x;
	X509_EXTENSION	*e;

	(void)state;
	/* From another CA: the same certificate, signed by it. */
	x = wic_leaf(cred);
	X509_set_issuer_name(x, X509_get_subject_name(oca));
	assert_true(X509_sign(x, okey, EVP_sha256()) > 0);
	EXPECT(OB_ERR_WIC_CHAIN, vc_x509(rp, x));
	X509_free(x);
	/* Two URI SANs, signed by the right CA. */
	x = wic_leaf(cred);
	resign_sans(x, two, 2, ikey);
	EXPECT(OB_ERR_WIC_PROFILE, vc_x509(rp, x));
	resign_sans(x, one, 1, ikey);
	EXPECT(OB_OK, vc_x509(rp, x));
	X509_free(x);
	/* Expired: the same WIC an hour and a half later. */
	x = wic_leaf(cred);
	assert_int_equal(ob_rp_set_now(rpx, now + 5400), OB_OK);
	EXPECT(OB_ERR_WIC_CHAIN, vc_x509(rpx, x));
	/* The binding under another OID than the configured one. */
	assert_int_equal(ob_rp_set_now(rpx, now + 1), OB_OK);
	assert_int_equal(ob_rp_set_owner_oid(rpx, "1.3.6.1.4.1.32473.1"),
	    OB_OK);
	EXPECT(OB_ERR_WIC_OWNER, vc_x509(rpx, x));
	X509_free(x);
	/* No clientAuth. */
	x = wic_leaf(cred);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, "serverAuth");
	X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
	    NID_ext_key_usage, -1)));
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	EXPECT(OB_ERR_WIC_PROFILE, vc_x509(rp, x));
	X509_free(x);
	/* CA:TRUE, or no basicConstraints at all, and nothing else changed. */
	x = wic_leaf(cred);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
	    NID_basic_constraints, -1)));
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	EXPECT(OB_ERR_WIC_PROFILE, vc_x509(rp, x));
	X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
	    NID_basic_constraints, -1)));
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	EXPECT(OB_ERR_WIC_PROFILE, vc_x509(rp, x));
	X509_free(x);
	/* keyCertSign beside digitalSignature. */
	x = wic_leaf(cred);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    "critical,digitalSignature,keyCertSign");
	X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
	    NID_key_usage, -1)));
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	EXPECT(OB_ERR_WIC_PROFILE, vc_x509(rp, x));
	X509_free(x);
	/* A CA certificate is no WIC. */
	EXPECT(OB_ERR_WIC_PROFILE, vc_x509(rp, ica));
	EXPECT(OB_ERR_WIC_PROFILE, ob_rp_verify_wic(rp, "junk", 4,
	    &(struct ob_rp_result *){ NULL }));
	ob_rp_free(&rp);
	ob_rp_free(&rpx);
}

/* Every truncation of the owner binding, re-signed: refused. */
static void
test_wic_binding_truncated(void **state)
{
	struct ob_rp		*rp = rp_ca();
	X509			*x = wic_leaf(cred), *y;
	X509_EXTENSION		*e;
	ASN1_OCTET_STRING	*v;
	unsigned char		 val[512];
	int			 idx, n, i;

	(void)state;
	idx = X509_get_ext_by_NID(x, NID_subject_directory_attributes, -1);
	assert_true(idx >= 0);
	v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
	n = ASN1_STRING_length(v);
	assert_true(n > 0 && n <= (int)sizeof(val));
	memcpy(val, ASN1_STRING_get0_data(v), (size_t)n);
	for (i = 0; i < n; i++) {
		y = X509_dup(x);
		e = X509_get_ext(y, idx);
		v = X509_EXTENSION_get_data(e);
		assert_int_equal(ASN1_OCTET_STRING_set(v, val, i), 1);
		assert_true(X509_sign(y, ikey, EVP_sha256()) > 0);
		if (vc_x509(rp, y) != OB_ERR_WIC_OWNER)
			fail_msg("binding cut at %d: %s", i, ob_err_detail());
		X509_free(y);
	}
	/* A sixth element inside the SEQUENCE (a NULL), its length fixed. */
	{
		unsigned char	 grown[520];
		size_t		 hl = val[1] < 0x80 ? 2 : 2 + (val[1] & 0x7f);
		size_t		 clen = (size_t)n - hl, k = 0;

		grown[k++] = 0x30;
		if (clen + 2 < 0x80)
			grown[k++] = (unsigned char)(clen + 2);
		else if (clen + 2 < 0x100) {
			grown[k++] = 0x81;
			grown[k++] = (unsigned char)(clen + 2);
		} else {
			grown[k++] = 0x82;
			grown[k++] = (unsigned char)((clen + 2) >> 8);
			grown[k++] = (unsigned char)(clen + 2);
		}
		memcpy(grown + k, val + hl, clen);
		k += clen;
		grown[k++] = 0x05;
		grown[k++] = 0x00;
		y = X509_dup(x);
		v = X509_EXTENSION_get_data(X509_get_ext(y, idx));
		assert_int_equal(ASN1_OCTET_STRING_set(v, grown, (int)k), 1);
		assert_true(X509_sign(y, ikey, EVP_sha256()) > 0);
		EXPECT(OB_ERR_WIC_OWNER, vc_x509(rp, y));
		X509_free(y);
	}
	/* One byte more than the binding: trailing bytes. */
	val[n] = 0;
	y = X509_dup(x);
	v = X509_EXTENSION_get_data(X509_get_ext(y, idx));
	assert_int_equal(ASN1_OCTET_STRING_set(v, val, n + 1), 1);
	assert_true(X509_sign(y, ikey, EVP_sha256()) > 0);
	EXPECT(OB_ERR_WIC_OWNER, vc_x509(rp, y));
	X509_free(y);
	X509_free(x);
	ob_rp_free(&rp);
}

/* ---- configuration ---- */

static void
test_config(void **state)
{
	struct ob_rp	*rp = NULL;
	struct ob_rp_req *q = req_aud(AUD);
	char		*priv, *leaf, *kid;
	json_t		*j = NULL;
	X509		*x;

	(void)state;
	assert_int_equal(ob_rp_new(&rp), OB_OK);
	EXPECT(OB_ERR_RP_CONFIG, ob_rp_add_issuer_jwks(rp, "{", 1));
	EXPECT(OB_ERR_RP_CONFIG, ob_rp_add_issuer_jwks(rp, "{\"keys\":[]}",
	    11));
	/* A private key in a JWKS is refused, not stripped. */
	assert_int_equal(ob_jwk_from_pkey(okey, &j), OB_OK);
	json_object_set_new(j, "d", json_string("AAAA"));
	j = json_pack("{s:[o]}", "keys", j);
	priv = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	EXPECT(OB_ERR_RP_CONFIG, ob_rp_add_issuer_jwks(rp, priv, strlen(priv)));
	free(priv);
	/* A leaf certificate is no issuer CA. */
	x = t_cert(okey, ikey, ica, "leaf", 0, now);
	leaf = t_cert_pem(x);
	EXPECT(OB_ERR_RP_CONFIG, ob_rp_add_issuer_ca(rp, leaf, strlen(leaf)));
	free(leaf);
	X509_free(x);
	/* Nothing was added by the failures: no keys, no CA. */
	EXPECT(OB_ERR_RP_CONFIG, vw(rp, NULL, q, cred->wit, "x"));
	ob_rp_req_free(&q);
	/* The JWKS and the CA name the same key: kept once.  A kid that
	 * names another key than the one configured is refused. */
	EXPECT(OB_OK, ob_rp_add_issuer_jwks(rp, jwks, strlen(jwks)));
	EXPECT(OB_OK, ob_rp_add_issuer_ca(rp, ica_pem, strlen(ica_pem)));
	assert_int_equal(ob_jwk_from_pkey(okey, &j), OB_OK);
	kid = t_kid(ikey);
	json_object_set_new(j, "kid", json_string(kid));
	free(kid);
	j = json_pack("{s:[o]}", "keys", j);
	priv = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	EXPECT(OB_ERR_RP_CONFIG, ob_rp_add_issuer_jwks(rp, priv, strlen(priv)));
	free(priv);
	EXPECT(OB_ERR_INVALID_ARG, ob_rp_set_owner_oid(rp, "2.5.29.17"));
	EXPECT(OB_ERR_INVALID_ARG, ob_rp_set_owner_oid(rp, "not an oid"));
	EXPECT(OB_ERR_INVALID_ARG, ob_rp_set_skew(rp, 601));
	ob_rp_free(&rp);
	assert_null(rp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wit_ok),
		cmocka_unit_test(test_wit_gateway),
		cmocka_unit_test(test_wpt_refused),
		cmocka_unit_test(test_wpt_replay),
		cmocka_unit_test(test_wpt_bindings),
		cmocka_unit_test(test_wit_refused),
		cmocka_unit_test(test_wit_mutations),
		cmocka_unit_test(test_wic_ok),
		cmocka_unit_test(test_wic_refused),
		cmocka_unit_test(test_wic_binding_truncated),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
