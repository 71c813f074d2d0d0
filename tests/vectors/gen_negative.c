/*
 * gen_negative: regenerate tests/vectors/negative/ (index.tsv, trust.json,
 * good*.json and NNN-*.json), the verifier's negative corpus.
 *
 *   gen_negative KEYDIR OUTDIR
 *
 * Keys and certificates are read from KEYDIR (made there on first run), so
 * the trust store is stable; ECDSA signatures are randomized, so the
 * committed corpus is what the tests replay.  Every case is built from a
 * correct envelope with exactly one defect, signed properly after the
 * defect is introduced, so that it fails for the stated reason and no
 * other.  The time is fixed at GEN_NOW.
 *
 * index.tsv columns: file, expected error name (OB_OK for good*.json),
 * reason, options (";"-separated: channel=gateway, proxy=ID,
 * pre=FILE (verified first, against the same state, must be accepted),
 * nonce=VALUE/TTL/JTI (seeded into the state first; TTL relative to
 * GEN_NOW, JTI "-" for unbound), or "-").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/b64url.h"
#include "core/envelope.h"
#include "tests/vectors/gen_common.h"
#include "core/jwk.h"
#include "core/webauthn.h"

#define SUB	"wimse://td.example/agents/a1"
#define AM	"agent-mediated"
#define OM	"owner-mediated"
#define SM	"server-mediated"
#define OWN	0
#define AG	1
#define NOW	GEN_NOW
#define GWOPT	"channel=gateway;proxy=proxy-1"
/* Nonces seeded by the test (nonce= option): base64url of 24 bytes. */
#define NONCE1	"c2VydmVyLW5vbmNlLWZpeGVkLTAwMDAx"
#define NONCE2	"c2VydmVyLW5vbmNlLWZpeGVkLTAwMDAy"
#define NONCE3	"c2VydmVyLW5vbmNlLWZpeGVkLTAwMDAz"
#define NONCE4	"c2VydmVyLW5vbmNlLWZpeGVkLTAwMDA0"

static struct {
	struct gkey	owner_es256, owner_eddsa, owner_es384, owner_rsa;
	struct gkey	owner_fido, carol_fido, bob, stranger;
	struct gkey	agent, agent_eddsa, agent2, rsa1024;
	struct gkey	ca, rogue_ca, gw, gw_p384;
	X509		*ca_crt, *rogue_crt, *gw_crt, *gw_rogue_crt,
			*gw_expired_crt, *gw_p384_crt;
} K;

static const char	*outdir;
static FILE		*idx;
static int		 ncase;
static int		 njti;
static struct genv	*g;
static json_t		*trust_doc;	/* trust.json, for trust_cases() */
static FILE		*tidx;		/* trust-index.tsv */
static int		 ntrust;

static char *
path2(const char *dir, const char *name)
{
	return gen_strcat3(dir, "/", name);
}

static void
write_file(const char *name, const char *text)
{
	char	*p = path2(outdir, name);
	FILE	*f;

	if ((f = fopen(p, "w")) == NULL ||
	    fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0)
		gen_die(p);
	free(p);
}

/* Write a case file (no trailing newline) and its index line. */
static void
emit_raw(const char *name, const char *expect, const char *reason,
    const char *opts, const char *text)
{
	char file[128];

	if (strncmp(name, "good", 4) == 0)
		snprintf(file, sizeof(file), "%s.json", name);
	else
		snprintf(file, sizeof(file), "%03d-%s.json", ++ncase, name);
	write_file(file, text);
	fprintf(idx, "%s\t%s\t%s\t%s\n", file, expect, reason,
	    opts != NULL ? opts : "-");
}

static void
emit(const char *name, const char *expect, const char *reason,
    const char *opts)
{
	char *s = genv_str(g);

	emit_raw(name, expect, reason, opts, s);
	free(s);
	genv_free(g);
	free(g);
	g = NULL;
}

static char *
replace1(const char *s, const char *from, const char *to)
{
	const char	*p;
	char		*head, *r;

	if ((p = strstr(s, from)) == NULL) {
		fprintf(stderr, "replace1: \"%s\" not found\n", from);
		exit(1);
	}
	if ((head = strndup(s, (size_t)(p - s))) == NULL)
		gen_die("alloc");
	r = gen_strcat3(head, to, p + strlen(from));
	free(head);
	return r;
}

/* A fresh jti per case, so that pre= cases do not collide. */
static const char *
jti(void)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "negativeCase%04dxyzXYZAB", ++njti);
	return buf;
}

static struct genv *
genv_new(const struct gkey *agent, const char *owner)
{
	struct genv *n = calloc(1, sizeof(*n));

	if (n == NULL)
		gen_die("alloc");
	n->claims = gen_claims(agent, SUB, owner, jti(), NOW - 10, NOW + 290);
	return n;
}

/* Agent-mediated: owner (software key) then agent. */
static struct genv *
am_with(const struct gkey *owner, const struct gkey *agent)
{
	g = genv_new(agent, "alice");
	genv_add(g, gen_ph(owner->alg, owner->kid, "owner", AM, NOW - 5, NULL),
	    owner, 0);
	genv_add(g, gen_ph(agent->alg, agent->kid, "agent", AM, NOW - 2, NULL),
	    agent, 0);
	return g;
}

static struct genv *
am(void)
{
	return am_with(&K.owner_es256, &K.agent);
}

/* Agent-mediated with alice's FIDO2 credential (UV required, no BE). */
static struct genv *
fido(void)
{
	g = genv_new(&K.agent, "alice");
	genv_add(g, gen_ph(OB_ALG_WEBAUTHN_ES256, K.owner_fido.kid, "owner", AM,
	    NOW - 5, NULL), &K.owner_fido, 1);
	genv_add(g, gen_ph(K.agent.alg, K.agent.kid, "agent", AM, NOW - 2,
	    NULL), &K.agent, 0);
	return g;
}

static json_t *
x5c_of(X509 *a, X509 *b)
{
	json_t	*x = json_array();
	char	*s;

	s = gen_cert_b64der(a);
	json_array_append_new(x, json_string(s));
	free(s);
	if (b != NULL) {
		s = gen_cert_b64der(b);
		json_array_append_new(x, json_string(s));
		free(s);
	}
	return x;
}

/* Owner-mediated: gateway gw1 (org acme) then agent. */
static struct genv *
gw(void)
{
	json_t *ph;

	g = genv_new(&K.agent, "acme");
	ph = gen_ph(OB_ALG_ES256, "gw1", "gateway", OM, NOW - 5, NULL);
	json_object_set_new(ph, "x5c", x5c_of(K.gw_crt, NULL));
	genv_add(g, ph, &K.gw, 0);
	genv_add(g, gen_ph(K.agent.alg, K.agent.kid, "agent", OM, NOW - 2,
	    NULL), &K.agent, 0);
	return g;
}

static struct genv *
sm(const char *nonce)
{
	g = genv_new(&K.agent, "alice");
	genv_add(g, gen_ph(OB_ALG_ES256, K.owner_es256.kid, "owner", SM,
	    NOW - 5, nonce), &K.owner_es256, 0);
	genv_add(g, gen_ph(K.agent.alg, K.agent.kid, "agent", SM, NOW - 2,
	    nonce), &K.agent, 0);
	return g;
}

static void
ph_set(int i, const char *k, json_t *v)
{
	json_object_set_new(g->e[i].ph, k, v);
}

static void
claim_set(const char *k, json_t *v)
{
	json_object_set_new(g->claims, k, v);
}

static void
claim_del(const char *k)
{
	json_object_del(g->claims, k);
}

/* Object text with member k repeated in front. */
static char *
dup_member(const json_t *o, const char *k)
{
	json_t	*one = json_object();
	char	*m, *full, *r, *mm;

	json_object_set(one, k, json_object_get(o, k));
	m = gen_dump(one);
	full = gen_dump(o);
	m[strlen(m) - 1] = '\0';		/* drop "}" */
	mm = gen_strcat3(m, ",", "");
	r = gen_strcat3(mm, full + 1, "");
	free(m);
	free(mm);
	free(full);
	json_decref(one);
	return r;
}

/* Set unused bits in the last character of a base64url string. */
static void
noncanon(char *s)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t	 n = strlen(s);
	const char *p;

	if (n % 4 != 2 && n % 4 != 3)
		gen_die("noncanon: length");
	p = strchr(a, s[n - 1]);
	s[n - 1] = a[(p - a) | 1];
}

/* JSON text whose length is not a multiple of 3 (so b64 has spare bits). */
static char *
text_rem(char *t)
{
	while (strlen(t) % 3 == 0) {
		char *u = gen_strcat3(t, " ", "");
		free(t);
		t = u;
	}
	return t;
}

/* Payload / protected base64url, then a mutation of it. */
enum b64mut { M_PAD, M_PLUS, M_SLASH, M_LEN, M_NONCANON, M_SPACE };

static char *
b64_mutate(char *t, enum b64mut m)
{
	char *s, *r;

	if (m == M_NONCANON || m == M_PAD)
		t = text_rem(t);
	s = gen_b64(t, strlen(t));
	free(t);
	switch (m) {
	case M_PAD:
		r = gen_strcat3(s, strlen(s) % 4 == 2 ? "==" : "=", "");
		break;
	case M_PLUS:
		r = strdup(s);
		r[1] = '+';
		break;
	case M_SLASH:
		r = strdup(s);
		r[2] = '/';
		break;
	case M_LEN:
		r = gen_strcat3(s, strlen(s) % 4 == 0 ? "A" : strlen(s) % 4 ==
		    2 ? "AAA" : "AA", "");
		break;
	case M_NONCANON:
		r = strdup(s);
		noncanon(r);
		break;
	case M_SPACE:
	default:
		r = strdup(s);
		r[4] = ' ';
		break;
	}
	free(s);
	return r;
}

static const char *const mut_names[] = {
	"pad", "plus", "slash", "len1mod4", "noncanon", "space"
};
static const char *const mut_codes[] = {
	"OB_ERR_B64_INVALID", "OB_ERR_B64_INVALID", "OB_ERR_B64_INVALID",
	"OB_ERR_B64_INVALID", "OB_ERR_B64_NONCANONICAL", "OB_ERR_B64_INVALID"
};
static const char *const mut_why[] = {
	"\"=\" padding", "\"+\" (standard alphabet)", "\"/\" (standard alphabet)",
	"length 1 mod 4", "unused bits set in the last character", "a space"
};

/* Replace the base64url signature string of entry i in the final text. */
static char *
sig_text_replace(const char *text, int i, const char *newsig)
{
	char	*old = gen_b64(g->e[i].sig, g->e[i].siglen), *r;

	r = replace1(text, old, newsig);
	free(old);
	return r;
}

static void
keys(const char *kd)
{
	char *p;

#define LK(field, file, type) do { p = path2(kd, file); \
	gkey_load_or_make(p, type, &K.field); free(p); } while (0)
	LK(owner_es256, "owner-es256.pem", GEN_P256);
	LK(owner_eddsa, "owner-eddsa.pem", GEN_ED25519);
	LK(owner_es384, "owner-es384.pem", GEN_P384);
	LK(owner_fido, "owner-fido.pem", GEN_P256);
	LK(carol_fido, "carol-fido.pem", GEN_P256);
	LK(bob, "bob-es256.pem", GEN_P256);
	LK(stranger, "stranger-es256.pem", GEN_P256);
	LK(agent, "agent-es256.pem", GEN_P256);
	LK(agent_eddsa, "agent-eddsa.pem", GEN_ED25519);
	LK(agent2, "agent2-es256.pem", GEN_P256);
	LK(rsa1024, "agent-rsa1024.pem", GEN_RSA1024);
	LK(ca, "org-ca.pem", GEN_P256);
	LK(rogue_ca, "rogue-ca.pem", GEN_P256);
	LK(gw, "gw1.pem", GEN_P256);
	LK(gw_p384, "gw1-p384.pem", GEN_P384);
#undef LK
	/* RSA-2048 for PS256: made in memory unless present. */
	p = path2(kd, "owner-rsa.pem");
	{
		FILE *f = fopen(p, "r");

		if (f != NULL) {
			fclose(f);
			gkey_load_or_make(p, GEN_P256, &K.owner_rsa);
		} else {
			struct gkey t;

			memset(&t, 0, sizeof(t));
			t.pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
			    (size_t)2048);
			if ((f = fopen(p, "w")) == NULL ||
			    !PEM_write_PrivateKey(f, t.pk, NULL, NULL, 0, NULL,
			    NULL))
				gen_die(p);
			fclose(f);
			EVP_PKEY_free(t.pk);
			gkey_load_or_make(p, GEN_P256, &K.owner_rsa);
		}
	}
	free(p);
#define LC(field, file, cn, pub, ikey, icrt, ca, nb, na, ser) do { \
	p = path2(kd, file); K.field = gen_cert_load_or_make(p, cn, pub, ikey, \
	icrt, ca, nb, na, ser); free(p); } while (0)
	LC(ca_crt, "org-ca.crt", "Acme Org CA", K.ca.pk, K.ca.pk, NULL, 1,
	    NOW - 365 * 86400LL, NOW + 20 * 365 * 86400LL, 1);
	LC(rogue_crt, "rogue-ca.crt", "Acme Org CA", K.rogue_ca.pk,
	    K.rogue_ca.pk, NULL, 1, NOW - 365 * 86400LL,
	    NOW + 20 * 365 * 86400LL, 1);
	LC(gw_crt, "gw1.crt", "gw1", K.gw.pk, K.ca.pk, K.ca_crt, 0,
	    NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL, 2);
	LC(gw_rogue_crt, "gw1-rogue.crt", "gw1", K.gw.pk, K.rogue_ca.pk,
	    K.rogue_crt, 0, NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL, 2);
	LC(gw_expired_crt, "gw1-expired.crt", "gw1", K.gw.pk, K.ca.pk,
	    K.ca_crt, 0, NOW - 60 * 86400LL, NOW - 86400LL, 3);
	LC(gw_p384_crt, "gw1-p384.crt", "gw1", K.gw_p384.pk, K.ca.pk,
	    K.ca_crt, 0, NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL, 4);
#undef LC
}

static json_t *
tkey(const struct gkey *k, const char *kind, enum ob_alg alg, json_t *fido2)
{
	json_t *o = json_object();

	json_object_set_new(o, "kid", json_string(k->kid));
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(o, "alg", json_string(ob_alg_name(alg)));
	json_object_set(o, "jwk", k->jwk);
	if (fido2 != NULL)
		json_object_set_new(o, "fido2", fido2);
	return o;
}

static json_t *
strs(const char *a, const char *b)
{
	json_t *x = json_array();

	json_array_append_new(x, json_string(a));
	if (b != NULL)
		json_array_append_new(x, json_string(b));
	return x;
}

static void
trust(void)
{
	json_t	*t = json_object(), *owners = json_array(), *gws = json_array();
	json_t	*o, *ks, *gwo;
	char	*s;

	json_object_set_new(t, "ownerbind_trust", json_integer(1));
	o = json_object();
	json_object_set_new(o, "id", json_string("alice"));
	json_object_set_new(o, "may_bind", strs("wimse://td.example/agents/*",
	    "spiffe://td.example/agents/*"));
	ks = json_array();
	json_array_append_new(ks, tkey(&K.owner_es256, "software", OB_ALG_ES256,
	    NULL));
	json_array_append_new(ks, tkey(&K.owner_eddsa, "pkcs11", OB_ALG_EDDSA,
	    NULL));
	json_array_append_new(ks, tkey(&K.owner_es384, "tpm2", OB_ALG_ES384,
	    NULL));
	json_array_append_new(ks, tkey(&K.owner_rsa, "piv", OB_ALG_PS256,
	    NULL));
	json_array_append_new(ks, tkey(&K.owner_fido, "fido2",
	    OB_ALG_WEBAUTHN_ES256, json_pack("{s:s,s:s,s:b}", "rp_id",
	    "ownerbind:", "uv", "required", "backup_eligible", 0)));
	json_object_set_new(o, "keys", ks);
	json_array_append_new(owners, o);

	o = json_object();
	json_object_set_new(o, "id", json_string("carol"));
	json_object_set_new(o, "may_bind", strs("wimse://td.example/agents/*",
	    NULL));
	ks = json_array();
	json_array_append_new(ks, tkey(&K.carol_fido, "fido2",
	    OB_ALG_WEBAUTHN_ES256, json_pack("{s:s,s:s,s:b}", "rp_id",
	    "ownerbind:", "uv", "discouraged", "backup_eligible", 1)));
	json_object_set_new(o, "keys", ks);
	json_array_append_new(owners, o);

	o = json_object();
	json_object_set_new(o, "id", json_string("bob"));
	json_object_set_new(o, "may_bind", strs("wimse://other.example/*",
	    NULL));
	ks = json_array();
	json_array_append_new(ks, tkey(&K.bob, "software", OB_ALG_ES256, NULL));
	json_object_set_new(o, "keys", ks);
	json_array_append_new(owners, o);
	json_object_set_new(t, "owners", owners);

	gwo = json_object();
	json_object_set_new(gwo, "id", json_string("gw1"));
	json_object_set_new(gwo, "owner", json_string("acme"));
	s = gen_cert_pem(K.ca_crt);
	json_object_set_new(gwo, "ca", strs(s, NULL));
	free(s);
	json_object_set_new(gwo, "algs", strs("ES256", "ES384"));
	json_object_set_new(gwo, "proxies", strs("proxy-1", NULL));
	json_object_set_new(gwo, "trust_domains", strs("td.example", NULL));
	json_object_set_new(gwo, "may_bind", strs("wimse://td.example/agents/*",
	    NULL));
	json_array_append_new(gws, gwo);
	/* gw2 signs EdDSA: its leaf key is the decoder's (keyrules()). */
	gwo = json_object();
	json_object_set_new(gwo, "id", json_string("gw2"));
	json_object_set_new(gwo, "owner", json_string("acme"));
	s = gen_cert_pem(K.ca_crt);
	json_object_set_new(gwo, "ca", strs(s, NULL));
	free(s);
	json_object_set_new(gwo, "algs", strs("EdDSA", NULL));
	json_object_set_new(gwo, "proxies", strs("proxy-1", NULL));
	json_object_set_new(gwo, "trust_domains", strs("td.example", NULL));
	json_object_set_new(gwo, "may_bind", strs("wimse://td.example/agents/*",
	    NULL));
	json_array_append_new(gws, gwo);
	json_object_set_new(t, "gateways", gws);

	if ((s = json_dumps(t, JSON_INDENT(2))) == NULL)
		gen_die("dump");
	write_file("trust.json", s);
	free(s);
	trust_doc = t;
}

static void
goods(void)
{
	json_t *ph;

	am();
	emit("good", "OB_OK", "agent-mediated, ES256 owner, ES256 agent", NULL);
	am_with(&K.owner_eddsa, &K.agent_eddsa);
	emit("good-eddsa", "OB_OK", "agent-mediated, EdDSA owner (pkcs11), "
	    "EdDSA agent", NULL);
	am_with(&K.owner_es384, &K.agent);
	emit("good-es384", "OB_OK", "ES384 owner (tpm2)", NULL);
	am_with(&K.owner_rsa, &K.agent_eddsa);
	emit("good-ps256", "OB_OK", "PS256 owner (piv), EdDSA agent", NULL);
	fido();
	emit("good-fido", "OB_OK", "webauthn-es256 owner, UP+UV, counter 7",
	    NULL);
	g = genv_new(&K.agent, "carol");
	genv_add(g, gen_ph(OB_ALG_WEBAUTHN_ES256, K.carol_fido.kid, "owner",
	    AM, NOW - 5, NULL), &K.carol_fido, 1);
	g->e[0].fo.flags = OB_AD_UP | OB_AD_BE | OB_AD_BS;
	g->e[0].fo.counter = 0;
	genv_add(g, gen_ph(K.agent.alg, K.agent.kid, "agent", AM, NOW - 2,
	    NULL), &K.agent, 0);
	emit("good-fido-be", "OB_OK", "backup-eligible synced passkey, UP "
	    "only, counter 0", NULL);
	gw();
	emit("good-gateway", "OB_OK", "owner-mediated, gateway gw1 with x5c",
	    GWOPT);
	sm(NONCE1);
	emit("good-server", "OB_OK", "server-mediated with a live nonce",
	    "nonce=" NONCE1 "/300/-");
	am();
	ph_set(OWN, "crit", strs("ob_role", "ob_iat"));
	emit("good-crit", "OB_OK", "crit naming our own extensions", NULL);
	am();
	claim_set("sub", json_string("spiffe://td.example/agents/a1"));
	claim_set("dns_name", json_string("a1.agents.td.example"));
	claim_set("logical_id", json_string("assistant-1"));
	claim_set("client_id", json_string("client-42"));
	claim_set("evidence_sha256",
	    json_string("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"));
	emit("good-layers", "OB_OK", "spiffe sub and the optional identity "
	    "layers", NULL);
	gw();
	ph = g->e[0].ph;
	json_object_set_new(ph, "x5c", x5c_of(K.gw_crt, K.ca_crt));
	emit("good-gateway-chain", "OB_OK", "x5c carries leaf and CA", GWOPT);
}

static void
syntax(void)
{
	char *s, *t;
	size_t i;

	s = genv_str(am());
	t = strndup(s, strlen(s) - 7);
	emit_raw("json-truncated", "OB_ERR_JSON_SYNTAX", "envelope cut short",
	    NULL, t);
	free(t);
	emit_raw("json-not-object", "OB_ERR_JSON_SYNTAX", "top level is an "
	    "array", NULL, "[{\"payload\":\"e30\",\"signatures\":[]}]");
	t = replace1(s, "{", "{\"payload\":\"e30\",");
	emit_raw("dup-top-payload", "OB_ERR_JSON_DUPLICATE", "payload member "
	    "twice at top level", NULL, t);
	free(t);
	t = replace1(s, "{\"protected\"", "{\"signature\":\"AAAA\","
	    "\"protected\"");
	emit_raw("dup-entry-signature", "OB_ERR_JSON_DUPLICATE", "signature "
	    "member twice in an entry", NULL, t);
	free(t);
	t = gen_strcat3(s, "x", "");
	emit_raw("trailing-garbage", "OB_ERR_JSON_TRAILING", "a byte after the "
	    "envelope", NULL, t);
	free(t);
	t = gen_strcat3(s, "{}", "");
	emit_raw("trailing-object", "OB_ERR_JSON_TRAILING", "a second JSON "
	    "value after the envelope", NULL, t);
	free(t);
	t = replace1(s, "\"payload\":\"", "\"payload\":\"\\u0000");
	emit_raw("json-nul-escape", "OB_ERR_JSON_SYNTAX", "\\u0000 in a string",
	    NULL, t);
	free(t);
	t = replace1(s, "{", "\xef\xbb\xbf{");
	emit_raw("json-bom", "OB_ERR_JSON_SYNTAX", "UTF-8 byte order mark",
	    NULL, t);
	free(t);
	t = replace1(s, "\"payload\":\"", "\"payload\":\"\xc3\x28");
	emit_raw("json-bad-utf8", "OB_ERR_JSON_SYNTAX", "invalid UTF-8 in a "
	    "string", NULL, t);
	free(t);
	/* Oversize: whole envelope. */
	t = malloc(OB_MAX_ENVELOPE + 2);
	memcpy(t, s, strlen(s));
	for (i = strlen(s); i < OB_MAX_ENVELOPE + 1; i++)
		t[i] = ' ';
	t[OB_MAX_ENVELOPE + 1] = '\0';
	emit_raw("too-large-envelope", "OB_ERR_ENV_TOO_LARGE", "65537 bytes "
	    "(valid envelope + spaces)", NULL, t);
	free(t);
	free(s);

	/* Serialization forms. */
	am();
	genv_sign(g);
	{
		json_t *top = json_object();
		char *sig = gen_b64(g->e[AG].sig, g->e[AG].siglen), *c;

		json_object_set_new(top, "payload", json_string(g->payload_b64));
		json_object_set_new(top, "protected",
		    json_string(g->e[AG].pb64));
		json_object_set_new(top, "signature", json_string(sig));
		t = gen_dump(top);
		emit_raw("flattened", "OB_ERR_ENV_NOT_GENERAL", "JWS flattened "
		    "serialization", NULL, t);
		free(t);
		c = gen_strcat3(g->e[AG].pb64, ".", g->payload_b64);
		t = gen_strcat3(c, ".", sig);
		emit_raw("compact", "OB_ERR_JSON_SYNTAX", "JWS compact "
		    "serialization (not JSON at all)", NULL, t);
		free(t);
		free(c);
		json_object_del(top, "signature");
		json_object_set_new(top, "signatures", json_array());
		t = gen_dump(top);
		emit_raw("flattened-mixed", "OB_ERR_ENV_NOT_GENERAL", "protected "
		    "at top level beside signatures", NULL, t);
		free(t);
		json_decref(top);
		free(sig);
	}
	genv_free(g);
	free(g);

	emit_raw("no-signatures-member", "OB_ERR_ENV_NOT_GENERAL", "payload "
	    "only", NULL, "{\"payload\":\"e30\"}");
	emit_raw("signatures-not-array", "OB_ERR_ENV_NOT_GENERAL", "signatures "
	    "is an object", NULL, "{\"payload\":\"e30\",\"signatures\":{}}");
	s = genv_str(am());
	t = replace1(s, "{\"payload\"", "{\"x\":1,\"payload\"");
	emit_raw("top-unknown-member", "OB_ERR_ENV_MEMBER", "unknown top-level "
	    "member", NULL, t);
	free(t);
	t = replace1(s, "\"signature\":", "\"x\":1,\"signature\":");
	emit_raw("entry-unknown-member", "OB_ERR_ENV_MEMBER", "unknown member "
	    "in an entry", NULL, t);
	free(t);
	free(s);
	emit_raw("payload-missing", "OB_ERR_ENV_MEMBER", "no payload, another "
	    "member instead", NULL, "{\"payloads\":\"e30\",\"signatures\":"
	    "[{\"protected\":\"e30\",\"signature\":\"AAAA\"}]}");
	emit_raw("payload-not-string", "OB_ERR_ENV_MEMBER", "payload is an "
	    "object", NULL, "{\"payload\":{},\"signatures\":"
	    "[{\"protected\":\"e30\",\"signature\":\"AAAA\"}]}");
	emit_raw("signatures-empty", "OB_ERR_ENV_NO_SIGS", "signatures is []",
	    NULL, "{\"payload\":\"e30\",\"signatures\":[]}");

	am();
	genv_sign(g);
	{
		json_t *top = genv_top(g), *sigs = json_object_get(top,
		    "signatures");

		for (i = 0; i < 7; i++)
			json_array_append(sigs, json_array_get(sigs, 1));
		t = gen_dump(top);
		emit_raw("too-many-entries", "OB_ERR_ENV_TOO_MANY_SIGS", "9 "
		    "entries", NULL, t);
		free(t);
		json_array_clear(sigs);
		json_array_append_new(sigs, json_string("x"));
		t = gen_dump(top);
		emit_raw("entry-not-object", "OB_ERR_ENV_MEMBER", "an entry is "
		    "a string", NULL, t);
		free(t);
		json_decref(top);
		top = genv_top(g);
		sigs = json_object_get(top, "signatures");
		json_object_del(json_array_get(sigs, 0), "protected");
		t = gen_dump(top);
		emit_raw("entry-no-protected", "OB_ERR_ENV_MEMBER", "owner "
		    "entry without protected", NULL, t);
		free(t);
		json_decref(top);
		top = genv_top(g);
		sigs = json_object_get(top, "signatures");
		json_object_del(json_array_get(sigs, 0), "signature");
		t = gen_dump(top);
		emit_raw("entry-no-signature", "OB_ERR_ENV_MEMBER", "owner entry "
		    "without signature", NULL, t);
		free(t);
		json_decref(top);
	}
	genv_free(g);
	free(g);
}

static void
sizes(void)
{
	char *t;
	size_t n;

	am();
	n = (OB_MAX_PAYLOAD / 3 + 1) * 4;
	g->payload_b64 = malloc(n + 1);
	memset(g->payload_b64, 'A', n);
	g->payload_b64[n] = '\0';
	emit("too-large-payload", "OB_ERR_ENV_TOO_LARGE", "payload decodes to "
	    "16386 bytes", NULL);
	am();
	n = (OB_MAX_PROTECTED / 3 + 1) * 4;
	g->e[OWN].pb64 = malloc(n + 1);
	memset(g->e[OWN].pb64, 'A', n);
	g->e[OWN].pb64[n] = '\0';
	emit("too-large-protected", "OB_ERR_ENV_TOO_LARGE", "protected decodes "
	    "to 24579 bytes", NULL);
	am();
	g->e[OWN].key = NULL;
	g->e[OWN].siglen = 1026;
	memset(g->e[OWN].sig, 0x11, 1026);
	emit("too-large-signature", "OB_ERR_ENV_TOO_LARGE", "owner signature "
	    "of 1026 bytes", NULL);
	fido();
	g->e[OWN].fo.extra = 480;
	emit("too-large-authdata", "OB_ERR_ENV_TOO_LARGE", "authenticatorData "
	    "of 517 bytes", NULL);
	fido();
	t = calloc(1, 1200);
	memcpy(t, "{\"type\":\"webauthn.get\",\"x\":\"", 28);
	memset(t + 28, 'a', 1100);
	memcpy(t + 1128, "\"}", 2);
	g->e[OWN].fo.cdj = t;
	emit("too-large-clientdata", "OB_ERR_ENV_TOO_LARGE", "clientDataJSON "
	    "of 1130 bytes", NULL);
	free(t);
	am();
	g->e[OWN].key = NULL;
	g->e[OWN].siglen = 0;
	emit("signature-empty", "OB_ERR_SIG_FORMAT", "owner signature is \"\"",
	    NULL);
}

static void
base64(void)
{
	char	 name[64], why[128];
	int	 m;

	for (m = M_PAD; m <= M_SPACE; m++) {
		am();
		g->payload_b64 = b64_mutate(gen_dump(g->claims),
		    (enum b64mut)m);
		snprintf(name, sizeof(name), "b64-payload-%s", mut_names[m]);
		snprintf(why, sizeof(why), "payload base64url with %s",
		    mut_why[m]);
		emit(name, mut_codes[m], why, NULL);
	}
	for (m = M_PAD; m <= M_NONCANON; m++) {
		am();
		g->e[OWN].pb64 = b64_mutate(gen_dump(g->e[OWN].ph),
		    (enum b64mut)m);
		snprintf(name, sizeof(name), "b64-protected-%s", mut_names[m]);
		snprintf(why, sizeof(why), "owner protected header with %s",
		    mut_why[m]);
		emit(name, mut_codes[m], why, NULL);
	}
	/* Signatures: edit the text after signing. */
	for (m = M_PAD; m <= M_NONCANON; m++) {
		char *s, *t, *sig, *bad;

		am();
		s = genv_str(g);
		sig = gen_b64(g->e[OWN].sig, g->e[OWN].siglen);
		switch (m) {
		case M_PAD:
			bad = gen_strcat3(sig, "==", "");
			break;
		case M_PLUS:
			bad = strdup(sig);
			bad[5] = '+';
			break;
		case M_SLASH:
			bad = strdup(sig);
			bad[5] = '/';
			break;
		case M_LEN:
			bad = gen_strcat3(sig, "AAA", "");
			break;
		default:
			bad = strdup(sig);
			noncanon(bad);
			break;
		}
		t = sig_text_replace(s, OWN, bad);
		snprintf(name, sizeof(name), "b64-signature-%s", mut_names[m]);
		snprintf(why, sizeof(why), "owner signature with %s",
		    mut_why[m]);
		emit_raw(name, mut_codes[m], why, NULL, t);
		free(s);
		free(t);
		free(sig);
		free(bad);
		genv_free(g);
		free(g);
	}
	/* authenticatorData and clientDataJSON. */
	{
		char *s, *t, *ad, *bad;
		json_t *h;

		fido();
		s = genv_str(g);
		h = g->e[OWN].hdr;
		ad = strdup(json_string_value(json_object_get(h,
		    "authenticatorData")));
		bad = gen_strcat3(ad, "=", "");
		t = replace1(s, ad, bad);
		emit_raw("b64-authdata-pad", "OB_ERR_B64_INVALID",
		    "authenticatorData with \"=\" padding", NULL, t);
		free(t);
		free(bad);
		bad = strdup(ad);
		noncanon(bad);
		t = replace1(s, ad, bad);
		emit_raw("b64-authdata-noncanon", "OB_ERR_B64_NONCANONICAL",
		    "authenticatorData with unused bits set", NULL, t);
		free(t);
		free(bad);
		free(ad);
		ad = strdup(json_string_value(json_object_get(h,
		    "clientDataJSON")));
		bad = strdup(ad);
		bad[3] = '+';
		t = replace1(s, ad, bad);
		emit_raw("b64-clientdata-plus", "OB_ERR_B64_INVALID",
		    "clientDataJSON with \"+\"", NULL, t);
		free(t);
		free(bad);
		free(ad);
		free(s);
		genv_free(g);
		free(g);
	}
}

static void
json_dups(void)
{
	char *s, *t;

	am();
	g->e[OWN].ph_raw = dup_member(g->e[OWN].ph, "alg");
	emit("dup-protected-alg", "OB_ERR_JSON_DUPLICATE", "alg twice in the "
	    "owner protected header", NULL);
	am();
	g->e[AG].ph_raw = dup_member(g->e[AG].ph, "kid");
	emit("dup-protected-kid", "OB_ERR_JSON_DUPLICATE", "kid twice in the "
	    "agent protected header", NULL);
	am();
	g->payload_raw = dup_member(g->claims, "sub");
	emit("dup-payload-sub", "OB_ERR_JSON_DUPLICATE", "sub twice in the "
	    "payload", NULL);
	am();
	s = gen_dump(g->claims);
	g->payload_raw = replace1(s, "\"crv\":\"P-256\"",
	    "\"crv\":\"P-256\",\"crv\":\"P-256\"");
	free(s);
	emit("dup-jwk-crv", "OB_ERR_JSON_DUPLICATE", "crv twice in cnf.jwk",
	    NULL);
	am();
	s = gen_dump(g->claims);
	g->payload_raw = gen_strcat3(s, "{}", "");
	free(s);
	emit("payload-trailing", "OB_ERR_JSON_TRAILING", "payload JSON "
	    "followed by {}", NULL);
	am();
	s = gen_dump(g->e[OWN].ph);
	g->e[OWN].ph_raw = gen_strcat3(s, "1", "");
	free(s);
	emit("protected-trailing", "OB_ERR_JSON_TRAILING", "owner protected "
	    "header followed by 1", NULL);
	am();
	g->payload_raw = strdup("{\"sub\":");
	emit("payload-not-json", "OB_ERR_PAYLOAD_INVALID", "payload is "
	    "truncated JSON", NULL);
	am();
	g->payload_raw = strdup("[1,2]");
	emit("payload-array", "OB_ERR_PAYLOAD_INVALID", "payload is a JSON "
	    "array", NULL);
	am();
	g->e[OWN].ph_raw = strdup("{\"alg\":");
	emit("protected-not-json", "OB_ERR_JSON_SYNTAX", "owner protected "
	    "header is truncated JSON", NULL);
	am();
	g->e[OWN].ph_raw = strdup("\"ES256\"");
	emit("protected-string", "OB_ERR_JSON_SYNTAX", "owner protected "
	    "header is a JSON string", NULL);
	fido();
	s = genv_str(g);
	t = replace1(s, "\"authenticatorData\":", "\"clientDataJSON\":\"e30\","
	    "\"authenticatorData\":");
	emit_raw("dup-header-member", "OB_ERR_JSON_DUPLICATE",
	    "clientDataJSON twice in a FIDO2 unprotected header", NULL, t);
	free(t);
	free(s);
	genv_free(g);
	free(g);
}

static void
headers(void)
{
	am();
	ph_set(OWN, "b64", json_false());
	emit("hdr-b64-false", "OB_ERR_HDR_B64_FALSE", "b64:false (RFC 7797)",
	    NULL);
	am();
	ph_set(OWN, "b64", json_true());
	ph_set(OWN, "crit", strs("b64", NULL));
	emit("hdr-b64-true", "OB_ERR_HDR_B64_FALSE", "b64:true with crit "
	    "[\"b64\"]", NULL);
	am();
	ph_set(OWN, "crit", strs("exp", NULL));
	emit("crit-unknown", "OB_ERR_HDR_CRIT", "crit names an unknown "
	    "extension", NULL);
	am();
	ph_set(OWN, "crit", strs("alg", NULL));
	emit("crit-registered", "OB_ERR_HDR_CRIT", "crit names a registered "
	    "JWS parameter (RFC 7515 4.1.11 forbids)", NULL);
	am();
	ph_set(OWN, "crit", strs("ob_nonce", NULL));
	emit("crit-absent", "OB_ERR_HDR_CRIT", "crit names ob_nonce, which is "
	    "absent", NULL);
	am();
	ph_set(OWN, "crit", json_array());
	emit("crit-empty", "OB_ERR_HDR_CRIT", "crit is []", NULL);
	am();
	ph_set(OWN, "crit", json_string("ob_role"));
	emit("crit-not-array", "OB_ERR_HDR_CRIT", "crit is a string", NULL);
	am();
	ph_set(OWN, "crit", strs("ob_role", "ob_role"));
	emit("crit-repeat", "OB_ERR_HDR_CRIT", "crit names ob_role twice",
	    NULL);
	am();
	ph_set(OWN, "jku", json_string("https://evil.example/keys"));
	emit("hdr-unknown-jku", "OB_ERR_HDR_INVALID", "jku in the protected "
	    "header (never fetched, refused)", NULL);
	am();
	ph_set(OWN, "jwk", json_deep_copy(K.stranger.jwk));
	emit("hdr-embedded-jwk", "OB_ERR_HDR_INVALID", "embedded jwk in the "
	    "owner header", NULL);
	am();
	g->e[OWN].hdr = json_pack("{s:s}", "kid", K.owner_es256.kid);
	emit("hdr-dup-param", "OB_ERR_HDR_DUP_PARAM", "kid in both the "
	    "protected and unprotected header", NULL);
	fido();
	g->e[OWN].hdr = json_pack("{s:s}", "alg", "ES256");
	emit("hdr-dup-param-fido", "OB_ERR_HDR_DUP_PARAM", "alg in both "
	    "headers of a FIDO2 entry", NULL);
	am();
	g->e[AG].hdr = json_pack("{s:s}", "note", "hi");
	emit("hdr-unprotected-nonfido", "OB_ERR_HDR_UNPROTECTED", "unprotected "
	    "header on the agent (non-FIDO2) entry", NULL);
	fido();
	g->e[OWN].hdr = json_pack("{s:s}", "x", "y");
	emit("hdr-unprotected-extra", "OB_ERR_HDR_UNPROTECTED", "extra member "
	    "in a FIDO2 unprotected header", NULL);
	am();
	genv_sign(g);
	{
		json_t	*top = genv_top(g);
		char	*t;

		json_object_set_new(json_array_get(json_object_get(top,
		    "signatures"), 1), "header", json_string("x"));
		t = gen_dump(top);
		emit_raw("hdr-not-object", "OB_ERR_HDR_INVALID", "header member "
		    "is a string", NULL, t);
		free(t);
		json_decref(top);
	}
	genv_free(g);
	free(g);
	am();
	ph_set(OWN, "typ", json_string("JWT"));
	emit("typ-jwt", "OB_ERR_HDR_TYP", "owner typ is JWT", NULL);
	am();
	ph_set(AG, "typ", json_string("wit+jwt"));
	emit("typ-wit", "OB_ERR_HDR_TYP", "agent typ is wit+jwt (token swap)",
	    NULL);
	am();
	json_object_del(g->e[OWN].ph, "typ");
	emit("typ-missing", "OB_ERR_HDR_TYP", "owner typ missing", NULL);
	am();
	ph_set(OWN, "typ", json_string("OWNERBIND+JWS"));
	emit("typ-case", "OB_ERR_HDR_TYP", "typ in upper case", NULL);
	am();
	ph_set(OWN, "alg", json_string("none"));
	emit("alg-none", "OB_ERR_ALG_FORBIDDEN", "owner alg none", NULL);
	am();
	ph_set(OWN, "alg", json_string("HS256"));
	emit("alg-hs256", "OB_ERR_ALG_FORBIDDEN", "owner alg HS256", NULL);
	am();
	ph_set(AG, "alg", json_string("RS256"));
	emit("alg-rs256", "OB_ERR_ALG_UNSUPPORTED", "agent alg RS256", NULL);
	am();
	ph_set(OWN, "alg", json_string("ES512"));
	emit("alg-unknown", "OB_ERR_ALG_UNSUPPORTED", "owner alg ES512", NULL);
	am();
	ph_set(OWN, "alg", json_string("es256"));
	emit("alg-lowercase", "OB_ERR_ALG_UNSUPPORTED", "alg names are "
	    "case-sensitive", NULL);
	am();
	json_object_del(g->e[OWN].ph, "alg");
	emit("alg-missing", "OB_ERR_HDR_INVALID", "owner alg missing", NULL);
	am();
	ph_set(OWN, "alg", json_integer(-7));
	emit("alg-number", "OB_ERR_HDR_INVALID", "owner alg is a COSE number",
	    NULL);
	am();
	json_object_del(g->e[OWN].ph, "kid");
	emit("kid-missing", "OB_ERR_HDR_INVALID", "owner kid missing", NULL);
	am();
	json_object_del(g->e[OWN].ph, "ob_role");
	emit("role-missing", "OB_ERR_ROLE_INVALID", "owner ob_role missing",
	    NULL);
	am();
	ph_set(OWN, "ob_role", json_string("admin"));
	emit("role-unknown", "OB_ERR_ROLE_INVALID", "ob_role admin", NULL);
	am();
	json_object_del(g->e[AG].ph, "ob_model");
	emit("model-missing", "OB_ERR_MODEL_INVALID", "agent ob_model missing",
	    NULL);
	am();
	ph_set(OWN, "ob_model", json_string("self-mediated"));
	emit("model-unknown", "OB_ERR_MODEL_INVALID", "ob_model unknown", NULL);
	am();
	json_object_del(g->e[OWN].ph, "ob_iat");
	emit("obiat-missing", "OB_ERR_HDR_INVALID", "owner ob_iat missing",
	    NULL);
	am();
	ph_set(OWN, "ob_iat", json_string("1767225595"));
	emit("obiat-string", "OB_ERR_HDR_INVALID", "ob_iat is a string", NULL);
	am();
	ph_set(OWN, "ob_iat", json_real(1767225595.5));
	emit("obiat-real", "OB_ERR_HDR_INVALID", "ob_iat is a fraction", NULL);
	am();
	ph_set(OWN, "ob_iat", json_integer(-1));
	emit("obiat-negative", "OB_ERR_HDR_INVALID", "ob_iat is negative",
	    NULL);
	am();
	ph_set(OWN, "ob_nonce", json_string("short"));
	emit("nonce-short", "OB_ERR_HDR_INVALID", "ob_nonce of 5 characters",
	    NULL);
	am();
	ph_set(OWN, "ob_nonce", json_string("not/base64url+nonce=="));
	emit("nonce-not-b64url", "OB_ERR_B64_INVALID", "ob_nonce outside the "
	    "base64url alphabet", NULL);
	am();
	ph_set(OWN, "x5c", x5c_of(K.gw_crt, NULL));
	emit("x5c-on-owner", "OB_ERR_HDR_INVALID", "x5c on an owner entry",
	    NULL);
}

static void
jwks(void)
{
	json_t	*j;
	char	*s;

#define JWK() (json_object_get(json_object_get(g->claims, "cnf"), "jwk"))
	am();
	json_object_set_new(JWK(), "d", json_string("AAAA"));
	emit("jwk-private-d", "OB_ERR_JWK_PRIVATE", "cnf.jwk carries d", NULL);
	am();
	j = json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0");
	json_object_set_new(json_object_get(g->claims, "cnf"), "jwk", j);
	emit("jwk-oct", "OB_ERR_JWK_PRIVATE", "cnf.jwk is a symmetric key", NULL);
	am();
	/* Flip a bit of y: off the curve (x stays, kid follows the JWK). */
	s = strdup(json_string_value(json_object_get(JWK(), "y")));
	s[10] = s[10] == 'A' ? 'B' : 'A';
	json_object_set_new(JWK(), "y", json_string(s));
	free(s);
	emit("jwk-off-curve", "OB_ERR_JWK_INVALID", "cnf.jwk point not on "
	    "P-256", NULL);
	am();
	json_object_set_new(JWK(), "x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAA"));
	json_object_set_new(JWK(), "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAA"));
	emit("jwk-zero-point", "OB_ERR_JWK_INVALID", "cnf.jwk is (0,0)", NULL);
	am();
	s = strdup(json_string_value(json_object_get(JWK(), "x")));
	s[40] = '\0';	/* 40 chars = 30 bytes */
	json_object_set_new(JWK(), "x", json_string(s));
	free(s);
	emit("jwk-short-coord", "OB_ERR_JWK_INVALID", "cnf.jwk x of 30 bytes",
	    NULL);
	am();
	json_object_set_new(JWK(), "crv", json_string("P-521"));
	emit("jwk-p521", "OB_ERR_JWK_INVALID", "cnf.jwk curve P-521", NULL);
	am();
	json_object_del(JWK(), "y");
	emit("jwk-no-y", "OB_ERR_JWK_INVALID", "cnf.jwk without y", NULL);
	am();
	json_object_set_new(JWK(), "x5u", json_string("https://evil.example/"));
	emit("jwk-unknown-member", "OB_ERR_JWK_INVALID", "cnf.jwk with x5u",
	    NULL);
	am();
	json_object_set_new(json_object_get(g->claims, "cnf"), "jwk",
	    json_deep_copy(K.rsa1024.jwk));
	emit("jwk-rsa1024", "OB_ERR_KEY_SIZE", "cnf.jwk is RSA-1024", NULL);
	am_with(&K.owner_es256, &K.agent_eddsa);
	s = strdup(json_string_value(json_object_get(JWK(), "x")));
	s[30] = '\0';
	json_object_set_new(JWK(), "x", json_string(s));
	free(s);
	emit("jwk-ed25519-short", "OB_ERR_JWK_INVALID", "Ed25519 x of 22 "
	    "bytes", NULL);
	am();
	claim_del("cnf");
	emit("cnf-missing", "OB_ERR_CLAIM_MISSING", "no cnf claim", NULL);
	am();
	json_object_set_new(json_object_get(g->claims, "cnf"), "jkt",
	    json_string(K.agent.kid));
	emit("cnf-extra", "OB_ERR_PAYLOAD_INVALID", "cnf has jkt beside jwk",
	    NULL);
	am();
	claim_set("cnf", json_string("x"));
	emit("cnf-string", "OB_ERR_PAYLOAD_INVALID", "cnf is a string", NULL);
#undef JWK
}

static void
roles(void)
{
	struct gentry *e;

	am();
	genv_add(g, gen_ph(K.agent2.alg, K.agent.kid, "agent", AM, NOW - 1,
	    NULL), &K.agent, 0);
	emit("role-two-agents", "OB_ERR_ROLE_DUPLICATE", "two agent entries",
	    NULL);
	am();
	genv_add(g, gen_ph(OB_ALG_EDDSA, K.owner_eddsa.kid, "owner", AM,
	    NOW - 1, NULL), &K.owner_eddsa, 0);
	emit("role-two-owners", "OB_ERR_ROLE_DUPLICATE", "two owner entries "
	    "(both valid keys of alice)", NULL);
	am();
	json_decref(g->e[AG].ph);
	g->n = 1;
	emit("agent-missing", "OB_ERR_AGENT_MISSING", "owner entry only",
	    NULL);
	am();
	json_decref(g->e[OWN].ph);
	g->e[OWN] = g->e[AG];
	g->n = 1;
	emit("owner-missing", "OB_ERR_OWNER_MISSING", "agent entry only", NULL);
	gw();
	json_decref(g->e[OWN].ph);
	g->e[OWN] = g->e[AG];
	g->n = 1;
	emit("gateway-missing", "OB_ERR_OWNER_MISSING", "owner-mediated, agent "
	    "entry only", GWOPT);
	sm(NONCE1);
	json_decref(g->e[OWN].ph);
	g->e[OWN] = g->e[AG];
	g->n = 1;
	emit("sm-owner-missing", "OB_ERR_OWNER_MISSING", "server-mediated, "
	    "agent entry only", NULL);
	am();
	e = genv_add(g, gen_ph(OB_ALG_ES256, "gw1", "gateway", AM, NOW - 1,
	    NULL), &K.gw, 0);
	json_object_set_new(e->ph, "x5c", x5c_of(K.gw_crt, NULL));
	emit("gateway-in-am", "OB_ERR_ROLE_FORBIDDEN", "gateway entry in an "
	    "agent-mediated envelope", NULL);
	gw();
	genv_add(g, gen_ph(OB_ALG_ES256, K.owner_es256.kid, "owner", OM,
	    NOW - 1, NULL), &K.owner_es256, 0);
	emit("owner-in-om", "OB_ERR_ROLE_FORBIDDEN", "owner entry in an "
	    "owner-mediated envelope", GWOPT);
	am();
	ph_set(AG, "ob_model", json_string(SM));
	emit("model-disagree", "OB_ERR_MODEL_MISMATCH", "owner says "
	    "agent-mediated, agent says server-mediated", NULL);
	am();
	emit("channel-am-on-gateway", "OB_ERR_CHANNEL_MISMATCH", "agent-mediated "
	    "request on the gateway channel", GWOPT);
	gw();
	emit("channel-om-direct", "OB_ERR_CHANNEL_MISMATCH", "owner-mediated "
	    "request on the direct channel", NULL);
	gw();
	emit("gateway-no-proxy", "OB_ERR_INVALID_ARG", "gateway channel "
	    "without a proxy id (caller error)", "channel=gateway");
}

static void
claims(void)
{
	am();
	claim_set("aud", json_string("https://other.example/"));
	emit("aud-other", "OB_ERR_AUD_MISMATCH", "aud names another server",
	    NULL);
	am();
	claim_set("aud", json_string("https://id.example"));
	emit("aud-no-slash", "OB_ERR_AUD_MISMATCH", "aud differs by a trailing "
	    "slash", NULL);
	am();
	claim_set("aud", json_pack("[s]", GEN_AUD));
	emit("aud-array", "OB_ERR_PAYLOAD_INVALID", "aud is an array", NULL);
	am();
	claim_set("iat", json_integer(NOW + 120));
	claim_set("exp", json_integer(NOW + 400));
	ph_set(OWN, "ob_iat", json_integer(NOW + 50));
	ph_set(AG, "ob_iat", json_integer(NOW + 55));
	emit("iat-future", "OB_ERR_IAT_FUTURE", "iat 120 s ahead (skew 60)",
	    NULL);
	am();
	claim_set("iat", json_integer(NOW - 400));
	claim_set("exp", json_integer(NOW + 200));
	emit("iat-stale", "OB_ERR_IAT_STALE", "iat 400 s old (max age 300)",
	    NULL);
	am();
	claim_set("iat", json_integer(NOW - 100));
	claim_set("exp", json_integer(NOW - 1));
	emit("expired", "OB_ERR_EXPIRED", "exp 1 s ago", NULL);
	am();
	claim_set("exp", json_integer(NOW));
	emit("expired-now", "OB_ERR_EXPIRED", "exp equals now", NULL);
	am();
	claim_set("exp", json_integer(NOW + 4000));
	emit("lifetime-long", "OB_ERR_LIFETIME", "exp - iat = 4010 s (limit "
	    "3600)", NULL);
	am();
	claim_set("exp", json_integer(NOW - 10));
	emit("lifetime-zero", "OB_ERR_LIFETIME", "exp equals iat", NULL);
	am();
	claim_set("exp", json_integer(NOW - 20));
	emit("lifetime-negative", "OB_ERR_LIFETIME", "exp before iat", NULL);
	am();
	claim_set("jti", json_string("abcdefghijklmno"));
	emit("jti-short", "OB_ERR_JTI_INVALID", "jti of 15 characters", NULL);
	am();
	claim_set("jti", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAA"));
	emit("jti-long", "OB_ERR_JTI_INVALID", "jti of 65 characters", NULL);
	am();
	claim_set("jti", json_string("abcdefghijklmnop+/"));
	emit("jti-alphabet", "OB_ERR_JTI_INVALID", "jti with + and /", NULL);
	am();
	claim_set("jti", json_integer(1234567890123456LL));
	emit("jti-number", "OB_ERR_JTI_INVALID", "jti is a number", NULL);
	am();
	claim_del("jti");
	emit("jti-missing", "OB_ERR_JTI_INVALID", "no jti", NULL);
	am();
	claim_set("jti", json_string("abcdefghijklmnopq"));
	emit("jti-len1mod4", "OB_ERR_JTI_INVALID", "jti of 17 characters (not "
	    "base64url)", NULL);
	am();
	claim_del("sub");
	emit("sub-missing", "OB_ERR_CLAIM_MISSING", "no sub", NULL);
	am();
	claim_del("aud");
	emit("aud-missing", "OB_ERR_CLAIM_MISSING", "no aud", NULL);
	am();
	claim_del("iat");
	emit("iat-missing", "OB_ERR_CLAIM_MISSING", "no iat", NULL);
	am();
	claim_del("exp");
	emit("exp-missing", "OB_ERR_CLAIM_MISSING", "no exp", NULL);
	am();
	claim_del("owner");
	emit("owner-claim-missing", "OB_ERR_CLAIM_MISSING", "no owner", NULL);
	am();
	claim_set("iat", json_string("1767225590"));
	emit("iat-string", "OB_ERR_PAYLOAD_INVALID", "iat is a string", NULL);
	am();
	claim_set("exp", json_real(1767225890.0));
	emit("exp-real", "OB_ERR_PAYLOAD_INVALID", "exp is a real", NULL);
	am();
	claim_set("iat", json_integer(-5));
	emit("iat-negative", "OB_ERR_PAYLOAD_INVALID", "iat is negative", NULL);
	am();
	claim_set("sub", json_integer(1));
	emit("sub-number", "OB_ERR_PAYLOAD_INVALID", "sub is a number", NULL);
	am();
	claim_set("sub", json_string(""));
	emit("sub-empty", "OB_ERR_PAYLOAD_INVALID", "sub is empty", NULL);
	am();
	claim_set("owner", json_string("ali ce"));
	emit("owner-space", "OB_ERR_PAYLOAD_INVALID", "owner with a space",
	    NULL);
	am();
	claim_set("scope", json_string("admin"));
	emit("claim-unknown", "OB_ERR_PAYLOAD_INVALID", "unknown claim scope",
	    NULL);
	am();
	claim_set("dns_name", json_string("a..example"));
	emit("dns-name-bad", "OB_ERR_PAYLOAD_INVALID", "dns_name with an empty "
	    "label", NULL);
	am();
	claim_set("evidence_sha256", json_string("AAAA"));
	emit("evidence-short", "OB_ERR_PAYLOAD_INVALID", "evidence_sha256 of 3 "
	    "bytes", NULL);
	am();
	claim_set("csr", json_string("MIIBAA"));
	emit("csr-garbage", "OB_ERR_PAYLOAD_INVALID", "csr is not DER", NULL);
}

static void
subs(void)
{
	static const char *const bad[][2] = {
		{ "https://td.example/agents/a1", "sub-https" },
		{ "wimse://", "sub-empty-td" },
		{ "wimse://TD.example/agents/a1", "sub-upper-td" },
		{ "wimse://td.example/agents/../a1", "sub-dotdot" },
		{ "wimse://td.example/agents//a1", "sub-empty-segment" },
		{ "wimse://td.example/agents/a1/", "sub-trailing-slash" },
		{ "wimse://td.example/agents/a%31", "sub-percent" },
		{ "wimse://td.example/agents/a1?x=1", "sub-query" },
		{ "wimse://user@td.example/agents/a1", "sub-userinfo" },
		{ "wimse://td.example:443/agents/a1", "sub-port" },
	};
	char	why[128];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		am();
		claim_set("sub", json_string(bad[i][0]));
		snprintf(why, sizeof(why), "sub %s", bad[i][0]);
		emit(bad[i][1], "OB_ERR_SUB_INVALID", why, NULL);
	}
}

static void
algs_and_keys(void)
{
	am();
	ph_set(OWN, "alg", json_string("ES384"));
	emit("owner-alg-es384", "OB_ERR_ALG_MISMATCH", "owner says ES384, key "
	    "enrolled for ES256", NULL);
	am();
	ph_set(OWN, "alg", json_string("EdDSA"));
	emit("owner-alg-eddsa", "OB_ERR_ALG_MISMATCH", "owner says EdDSA for "
	    "a P-256 key", NULL);
	am();
	ph_set(OWN, "alg", json_string("ES256"));
	ph_set(OWN, "kid", json_string(K.owner_fido.kid));
	g->e[OWN].key = &K.owner_fido;
	emit("owner-fido-as-es256", "OB_ERR_ALG_MISMATCH", "FIDO2 credential "
	    "used as a plain ES256 JWS key", NULL);
	fido();
	ph_set(OWN, "kid", json_string(K.owner_es256.kid));
	g->e[OWN].key = &K.owner_es256;
	emit("owner-es256-as-fido", "OB_ERR_ALG_MISMATCH", "software ES256 key "
	    "used in a webauthn-es256 entry", NULL);
	am();
	ph_set(AG, "alg", json_string("EdDSA"));
	emit("agent-alg-eddsa", "OB_ERR_ALG_MISMATCH", "agent says EdDSA, "
	    "cnf.jwk is P-256", NULL);
	am();
	ph_set(AG, "alg", json_string("PS256"));
	emit("agent-alg-ps256", "OB_ERR_ALG_MISMATCH", "agent says PS256, "
	    "cnf.jwk is P-256", NULL);
	am();
	ph_set(AG, "alg", json_string("webauthn-es256"));
	g->e[AG].fido = 1;
	emit("agent-alg-webauthn", "OB_ERR_ALG_MISMATCH", "agent entry as a "
	    "FIDO2 entry", NULL);
	am();
	ph_set(AG, "kid", json_string(K.agent2.kid));
	emit("agent-kid-other", "OB_ERR_THUMBPRINT_MISMATCH", "agent kid is "
	    "another key's thumbprint", NULL);
	am();
	g->e[AG].key = &K.agent2;
	emit("agent-signed-other", "OB_ERR_SIG_INVALID", "agent entry signed "
	    "by a key other than cnf.jwk", NULL);
	am();
	claim_set("owner", json_string("mallory"));
	emit("owner-unknown", "OB_ERR_OWNER_UNKNOWN", "owner mallory not in "
	    "the trust store", NULL);
	am();
	ph_set(OWN, "kid", json_string(K.stranger.kid));
	g->e[OWN].key = &K.stranger;
	emit("owner-key-unknown", "OB_ERR_OWNER_KEY_UNKNOWN", "owner entry "
	    "signed by an unenrolled key", NULL);
	am();
	ph_set(OWN, "kid", json_string(K.bob.kid));
	g->e[OWN].key = &K.bob;
	emit("owner-key-of-bob", "OB_ERR_OWNER_KEY_UNKNOWN", "payload names "
	    "alice, entry signed by bob's enrolled key", NULL);
	am();
	claim_set("owner", json_string("bob"));
	emit("owner-claim-bob", "OB_ERR_OWNER_KEY_UNKNOWN", "payload names "
	    "bob, entry signed by alice's key", NULL);
	am();
	claim_set("sub", json_string("wimse://other.example/agents/a1"));
	emit("owner-not-authorized", "OB_ERR_OWNER_NOT_AUTHORIZED", "alice "
	    "may not bind other.example", NULL);
	am();
	claim_set("sub", json_string("wimse://td.example/agents/a1/sub"));
	emit("owner-not-authorized-depth", "OB_ERR_OWNER_NOT_AUTHORIZED",
	    "may_bind agents/* does not cross \"/\"", NULL);
	am();
	claim_set("owner", json_string("bob"));
	ph_set(OWN, "kid", json_string(K.bob.kid));
	g->e[OWN].key = &K.bob;
	emit("owner-bob-td", "OB_ERR_OWNER_NOT_AUTHORIZED", "bob may not bind "
	    "td.example", NULL);
}

static void
signatures(void)
{
	char *s, *t, *a, *b;

	am();
	genv_sign(g);
	g->e[OWN].sig[10] ^= 0x01;
	{
		json_t *top = genv_top(g);

		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-owner-bitflip", "OB_ERR_SIG_INVALID", "owner signature "
	    "with one bit flipped", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	am();
	genv_sign(g);
	g->e[AG].sig[40] ^= 0x80;
	{
		json_t *top = genv_top(g);

		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-agent-bitflip", "OB_ERR_SIG_INVALID", "agent signature "
	    "with one bit flipped", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	/* Swap the two signatures. */
	am();
	s = genv_str(g);
	a = gen_b64(g->e[OWN].sig, g->e[OWN].siglen);
	b = gen_b64(g->e[AG].sig, g->e[AG].siglen);
	t = replace1(s, a, "@@OWN@@");
	free(s);
	s = replace1(t, b, a);
	free(t);
	t = replace1(s, "@@OWN@@", b);
	emit_raw("sig-swapped", "OB_ERR_SIG_INVALID", "owner and agent "
	    "signatures exchanged", NULL, t);
	free(t);
	free(s);
	free(a);
	free(b);
	genv_free(g);
	free(g);
	/* Owner signed a different payload. */
	am();
	genv_sign(g);
	{
		struct genv *o = g;
		char *keep = strdup(o->e[OWN].pb64);
		json_t *top;

		g = NULL;
		am();
		claim_set("jti", json_string(json_string_value(json_object_get(
		    o->claims, "jti"))));
		claim_set("exp", json_integer(NOW + 3000));
		genv_sign(g);
		(void)keep;
		/* graft g's owner sig (over another payload) into o */
		memcpy(o->e[OWN].sig, g->e[OWN].sig, g->e[OWN].siglen);
		top = genv_top(o);
		t = gen_dump(top);
		json_decref(top);
		emit_raw("sig-owner-other-payload", "OB_ERR_SIG_INVALID",
		    "owner signature made over a payload with another exp", NULL,
		    t);
		free(t);
		free(keep);
		genv_free(o);
		free(o);
		genv_free(g);
		free(g);
	}
	am();
	genv_sign(g);
	g->e[OWN].siglen = 63;
	{
		json_t *top = genv_top(g);

		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-owner-63", "OB_ERR_SIG_FORMAT", "ES256 owner signature "
	    "of 63 bytes", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	am();
	genv_sign(g);
	g->e[AG].sig[64] = 0;
	g->e[AG].siglen = 65;
	{
		json_t *top = genv_top(g);

		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-agent-65", "OB_ERR_SIG_FORMAT", "ES256 agent signature "
	    "of 65 bytes", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	/* DER instead of R||S. */
	am();
	genv_sign(g);
	{
		unsigned char *der;
		size_t derlen;
		json_t *top;

		if (ob_ecdsa_rs_to_der(g->e[OWN].sig, 64, &der, &derlen) !=
		    OB_OK)
			gen_die("der");
		memcpy(g->e[OWN].sig, der, derlen);
		g->e[OWN].siglen = derlen;
		free(der);
		top = genv_top(g);
		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-owner-der", "OB_ERR_SIG_FORMAT", "ES256 owner signature "
	    "DER-encoded instead of R||S", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	am();
	genv_sign(g);
	memset(g->e[OWN].sig, 0, 64);
	{
		json_t *top = genv_top(g);

		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-owner-zero", "OB_ERR_SIG_INVALID", "ES256 owner "
	    "signature r = s = 0", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	am_with(&K.owner_eddsa, &K.agent_eddsa);
	genv_sign(g);
	g->e[OWN].siglen = 32;
	{
		json_t *top = genv_top(g);

		t = gen_dump(top);
		json_decref(top);
	}
	emit_raw("sig-eddsa-32", "OB_ERR_SIG_FORMAT", "EdDSA owner signature "
	    "of 32 bytes", NULL, t);
	free(t);
	genv_free(g);
	free(g);
	am();
	genv_sign(g);
	{
		char *p2 = gen_strcat3(g->payload_b64, "", "");
		json_t *top;

		/* Re-encode the payload with a space: same claims, new bytes. */
		free(g->payload_b64);
		s = gen_dump(g->claims);
		t = gen_strcat3(s, " ", "");
		g->payload_b64 = gen_b64(t, strlen(t));
		free(s);
		free(t);
		top = genv_top(g);
		t = gen_dump(top);
		json_decref(top);
		free(p2);
	}
	emit_raw("payload-reencoded", "OB_ERR_SIG_INVALID", "payload re-encoded "
	    "after signing (same claims, extra space)", NULL, t);
	free(t);
	genv_free(g);
	free(g);
}

static void
times(void)
{
	am();
	ph_set(OWN, "ob_iat", json_integer(NOW + 120));
	emit("obiat-future", "OB_ERR_SIGNING_TIME", "owner ob_iat 120 s ahead",
	    NULL);
	am();
	ph_set(OWN, "ob_iat", json_integer(NOW - 100));
	emit("obiat-before-iat", "OB_ERR_SIGNING_TIME", "owner signed 90 s "
	    "before the request's iat", NULL);
	am();
	claim_set("iat", json_integer(NOW - 290));
	claim_set("exp", json_integer(NOW + 10));
	ph_set(AG, "ob_iat", json_integer(NOW - 320));
	emit("obiat-stale", "OB_ERR_SIGNING_TIME", "agent ob_iat 320 s old "
	    "(max age 300)", NULL);
	am();
	ph_set(AG, "ob_iat", json_integer(NOW + 61));
	emit("obiat-agent-future", "OB_ERR_SIGNING_TIME", "agent ob_iat 61 s "
	    "ahead", NULL);
}

/*
 * Issue 11 class 5, added after the corpus was last regenerated, last so
 * that the numbers of the committed files stay.
 */
static void
nonce_binding(void)
{
	char opts[256];

	sm(NONCE1);
	snprintf(opts, sizeof(opts), "nonce=%s/300/%s;nonce=%s/300/-", NONCE4,
	    json_string_value(json_object_get(g->claims, "jti")), NONCE1);
	emit("nonce-skipped", "OB_ERR_NONCE_SKIPPED", "a nonce was issued for "
	    "this jti, the envelope carries another, unbound one", opts);
}

static void
nonces(void)
{
	char opts[256];

	sm(NULL);
	emit("sm-no-nonce", "OB_ERR_NONCE_MISSING", "server-mediated without "
	    "ob_nonce", NULL);
	sm(NONCE1);
	json_object_del(g->e[OWN].ph, "ob_nonce");
	emit("sm-owner-no-nonce", "OB_ERR_NONCE_MISSING", "server-mediated, "
	    "nonce only in the agent entry", "nonce=" NONCE1 "/300/-");
	sm(NONCE1);
	json_object_del(g->e[AG].ph, "ob_nonce");
	emit("sm-agent-no-nonce", "OB_ERR_NONCE_MISSING", "server-mediated, "
	    "nonce only in the owner entry", "nonce=" NONCE1 "/300/-");
	sm(NONCE1);
	ph_set(AG, "ob_nonce", json_string(NONCE2));
	emit("nonce-differ", "OB_ERR_NONCE_MISMATCH", "owner and agent carry "
	    "different nonces", "nonce=" NONCE1 "/300/-;nonce=" NONCE2
	    "/300/-");
	sm(NONCE3);
	emit("nonce-unknown", "OB_ERR_NONCE_UNKNOWN", "nonce never issued",
	    NULL);
	sm(NONCE1);
	emit("nonce-used", "OB_ERR_NONCE_USED", "nonce already used by "
	    "good-server.json", "nonce=" NONCE1 "/300/-;pre=good-server.json");
	sm(NONCE2);
	emit("nonce-expired", "OB_ERR_NONCE_EXPIRED", "nonce expired 10 s ago",
	    "nonce=" NONCE2 "/-10/-");
	sm(NONCE4);
	emit("nonce-bound-other", "OB_ERR_NONCE_MISMATCH", "nonce issued for "
	    "another jti", "nonce=" NONCE4 "/300/otherRequestJti0000");
	am();
	snprintf(opts, sizeof(opts), "nonce=%s/300/%s", NONCE4,
	    json_string_value(json_object_get(g->claims, "jti")));
	emit("nonce-omitted", "OB_ERR_NONCE_MISSING", "a nonce was issued for "
	    "this jti, the envelope omits it", opts);
}

static void
replay(void)
{
	FILE	*f;
	char	*p = path2(outdir, "good.json"), buf[8192];
	size_t	 n;

	if ((f = fopen(p, "r")) == NULL)
		gen_die(p);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	free(p);
	buf[n] = '\0';
	emit_raw("replay", "OB_ERR_REPLAY", "good.json again (same jti)",
	    "pre=good.json", buf);
	p = path2(outdir, "good-fido.json");
	if ((f = fopen(p, "r")) == NULL)
		gen_die(p);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	free(p);
	buf[n] = '\0';
	emit_raw("replay-fido", "OB_ERR_REPLAY", "good-fido.json again",
	    "pre=good-fido.json", buf);
	fido();
	emit("fido-counter-equal", "OB_ERR_FIDO_COUNTER", "counter 7 after "
	    "good-fido.json's 7", "pre=good-fido.json");
	fido();
	g->e[OWN].fo.counter = 3;
	emit("fido-counter-lower", "OB_ERR_FIDO_COUNTER", "counter 3 after 7",
	    "pre=good-fido.json");
}

/* A FIDO2 case whose clientDataJSON is set by hand; returns the challenge. */
static char *
cdj_prep(void)
{
	char	*tbs, c44[44];

	fido();
	genv_sign(g);
	tbs = gen_strcat3(g->e[OWN].pb64, ".", g->payload_b64);
	if (ob_webauthn_challenge(tbs, strlen(tbs), c44) != OB_OK)
		gen_die("challenge");
	free(tbs);
	json_decref(g->e[OWN].hdr);
	g->e[OWN].hdr = NULL;
	return strdup(c44);
}

static void
fido2(void)
{
	char cd[512], *ch;

	fido();
	g->e[OWN].fo.rp_id = "example.com";
	emit("fido-rpid", "OB_ERR_FIDO_RPID", "rpIdHash of example.com", NULL);
	fido();
	g->e[OWN].fo.flags = OB_AD_UV;
	emit("fido-no-up", "OB_ERR_FIDO_UP", "UP clear", NULL);
	fido();
	g->e[OWN].fo.flags = OB_AD_UP;
	emit("fido-no-uv", "OB_ERR_FIDO_UV", "UV clear, enrolment requires UV",
	    NULL);
	fido();
	g->e[OWN].fo.flags = OB_AD_UP | OB_AD_UV | OB_AD_AT;
	emit("fido-at", "OB_ERR_FIDO_AT", "AT set in an assertion", NULL);
	fido();
	g->e[OWN].fo.flags = OB_AD_UP | OB_AD_UV | OB_AD_ED;
	emit("fido-ed", "OB_ERR_FIDO_ED", "ED set", NULL);
	fido();
	g->e[OWN].fo.flags = OB_AD_UP | OB_AD_UV | OB_AD_BS;
	emit("fido-bs-without-be", "OB_ERR_FIDO_BACKUP", "BS set, BE clear",
	    NULL);
	fido();
	g->e[OWN].fo.flags = OB_AD_UP | OB_AD_UV | OB_AD_BE;
	emit("fido-be-not-enrolled", "OB_ERR_FIDO_BACKUP", "BE set, credential "
	    "enrolled as not backup-eligible", NULL);
	g = genv_new(&K.agent, "carol");
	genv_add(g, gen_ph(OB_ALG_WEBAUTHN_ES256, K.carol_fido.kid, "owner",
	    AM, NOW - 5, NULL), &K.carol_fido, 1);
	g->e[0].fo.flags = OB_AD_UP;
	genv_add(g, gen_ph(K.agent.alg, K.agent.kid, "agent", AM, NOW - 2,
	    NULL), &K.agent, 0);
	emit("fido-be-cleared", "OB_ERR_FIDO_BACKUP", "BE clear, credential "
	    "enrolled as backup-eligible", NULL);
	fido();
	g->e[OWN].fo.cut = 1;
	emit("fido-authdata-36", "OB_ERR_FIDO_AUTHDATA", "authenticatorData of "
	    "36 bytes", NULL);
	fido();
	g->e[OWN].fo.extra = 1;
	emit("fido-authdata-38", "OB_ERR_FIDO_AUTHDATA", "authenticatorData of "
	    "38 bytes, no AT/ED", NULL);
	fido();
	g->e[OWN].fo.cut = 37;
	emit("fido-authdata-empty", "OB_ERR_FIDO_AUTHDATA", "authenticatorData "
	    "is empty", NULL);
	/* clientDataJSON: the challenge is only known after encoding. */
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.create\",\"challenge\":"
	    "\"%s\",\"origin\":\"ownerbind:\",\"crossOrigin\":false}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-type-create", "OB_ERR_FIDO_TYPE", "clientDataJSON type "
	    "webauthn.create", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"challenge\":\"%s\",\"origin\":"
	    "\"ownerbind:\",\"crossOrigin\":false}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-type-missing", "OB_ERR_FIDO_TYPE", "clientDataJSON "
	    "without type", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.get\",\"challenge\":"
	    "\"%s\",\"origin\":\"ownerbind:\",\"crossOrigin\":false}",
	    "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-challenge", "OB_ERR_FIDO_CHALLENGE", "challenge is the "
	    "hash of something else", NULL);
	free(ch);
	ch = cdj_prep();
	ch[0] = ch[0] == 'A' ? 'B' : 'A';
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.get\",\"challenge\":"
	    "\"%s=\",\"origin\":\"ownerbind:\",\"crossOrigin\":false}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-challenge-padded", "OB_ERR_FIDO_CHALLENGE", "challenge "
	    "altered and padded", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.get\",\"challenge\":"
	    "\"%s\",\"origin\":\"https://evil.example\",\"crossOrigin\":false}",
	    ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-origin", "OB_ERR_FIDO_ORIGIN", "origin of a web site",
	    NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"challenge\":\"%s\",\"type\":\"webauthn.get"
	    "\",\"origin\":\"ownerbind:\",\"crossOrigin\":false}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-order", "OB_ERR_FIDO_CLIENTDATA", "members out of "
	    "WebAuthn order", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.get\",\"challenge\":"
	    "\"%s\",\"origin\":\"ownerbind:\",\"crossOrigin\":true}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-crossorigin", "OB_ERR_FIDO_CLIENTDATA", "crossOrigin "
	    "true", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.get\",\"challenge\":"
	    "\"%s\",\"origin\":\"ownerbind:\",\"crossOrigin\":false,"
	    "\"tokenBinding\":{\"status\":\"present\"}}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-extra", "OB_ERR_FIDO_CLIENTDATA", "extra member "
	    "tokenBinding", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\": \"webauthn.get\",\"challenge\":"
	    "\"%s\",\"origin\":\"ownerbind:\",\"crossOrigin\":false}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-space", "OB_ERR_FIDO_CLIENTDATA", "a space after a "
	    "colon", NULL);
	free(ch);
	ch = cdj_prep();
	snprintf(cd, sizeof(cd), "{\"type\":\"webauthn.get\",\"type\":"
	    "\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"ownerbind:\","
	    "\"crossOrigin\":false}", ch);
	g->e[OWN].fo.cdj = cd;
	emit("fido-cd-dup", "OB_ERR_FIDO_CLIENTDATA", "type twice", NULL);
	free(ch);
	fido();
	g->e[OWN].fo.cdj = "webauthn.get";
	emit("fido-cd-not-json", "OB_ERR_FIDO_CLIENTDATA", "clientDataJSON is "
	    "not JSON", NULL);
	fido();
	g->e[OWN].fo.no_ad = 1;
	emit("fido-no-authdata", "OB_ERR_FIDO_HEADER", "no authenticatorData",
	    NULL);
	fido();
	g->e[OWN].fo.no_cd = 1;
	emit("fido-no-clientdata", "OB_ERR_FIDO_HEADER", "no clientDataJSON",
	    NULL);
	fido();
	genv_sign(g);
	{
		json_t *top = genv_top(g);
		char *t;

		json_object_del(json_array_get(json_object_get(top,
		    "signatures"), 0), "header");
		t = gen_dump(top);
		emit_raw("fido-no-header", "OB_ERR_FIDO_HEADER", "FIDO2 entry "
		    "without an unprotected header", NULL, t);
		free(t);
		json_decref(top);
		top = genv_top(g);
		json_object_set_new(json_object_get(json_array_get(
		    json_object_get(top, "signatures"), 0), "header"),
		    "authenticatorData", json_integer(5));
		t = gen_dump(top);
		emit_raw("fido-authdata-number", "OB_ERR_FIDO_HEADER",
		    "authenticatorData is a number", NULL, t);
		free(t);
		json_decref(top);
	}
	genv_free(g);
	free(g);
	fido();
	genv_sign(g);
	{
		json_t *top;
		char *t;

		g->e[OWN].sig[g->e[OWN].siglen - 1] ^= 0x01;
		top = genv_top(g);
		t = gen_dump(top);
		emit_raw("fido-sig-bitflip", "OB_ERR_SIG_INVALID", "authenticator "
		    "signature with one bit flipped", NULL, t);
		free(t);
		json_decref(top);
		memset(g->e[OWN].sig, 0x30, 73);
		g->e[OWN].siglen = 73;
		top = genv_top(g);
		t = gen_dump(top);
		emit_raw("fido-sig-73", "OB_ERR_SIG_FORMAT", "DER signature of "
		    "73 bytes", NULL, t);
		free(t);
		json_decref(top);
	}
	genv_free(g);
	free(g);
	fido();
	g->e[OWN].fo.counter = 8;
	g->e[OWN].key = &K.owner_es256;
	emit("fido-signed-other", "OB_ERR_SIG_INVALID", "assertion signed by "
	    "another key", NULL);
	fido();
	genv_sign(g);
	{
		/* Signature over authData alone (no clientDataJSON hash). */
		unsigned char ad[37];
		size_t adl;
		unsigned char *b;
		json_t *top;
		char *t;
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t n = 80;

		if (ob_b64url_decode(json_string_value(json_object_get(
		    g->e[OWN].hdr, "authenticatorData")), 50, 64, &b, &adl) !=
		    OB_OK || adl != 37)
			gen_die("ad");
		memcpy(ad, b, 37);
		free(b);
		if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
		    K.owner_fido.pk) != 1 || EVP_DigestSign(ctx, g->e[OWN].sig,
		    &n, ad, 37) != 1)
			gen_die("sign");
		EVP_MD_CTX_free(ctx);
		g->e[OWN].siglen = n;
		top = genv_top(g);
		t = gen_dump(top);
		emit_raw("fido-sig-no-cdhash", "OB_ERR_SIG_INVALID", "signature "
		    "over authenticatorData without the clientData hash", NULL,
		    t);
		free(t);
		json_decref(top);
	}
	genv_free(g);
	free(g);
}

/* x5c[0] of gw() with its text edited. */
static void
x5c_edit(char *(*edit)(const char *))
{
	json_t	*x = x5c_of(K.gw_crt, NULL);
	char	*s = edit(json_string_value(json_array_get(x, 0)));

	json_array_set_new(x, 0, json_string(s));
	free(s);
	ph_set(OWN, "x5c", x);
}

/* Set the lowest bit of the base64 character at d[i]. */
static void
b64_low_bit(char *d, size_t i)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(a, d[i]);

	if (p == NULL)
		gen_die("b64_low_bit");
	d[i] = a[(p - a) | 1];
}

/* Unused bits set before the padding (or a padded group appended). */
static char *
ed_bits(const char *s)
{
	size_t	 n = strlen(s);
	char	*d = malloc(n + 5);

	memcpy(d, s, n + 1);
	if (d[n - 2] == '=')
		b64_low_bit(d, n - 3);
	else if (d[n - 1] == '=')
		b64_low_bit(d, n - 2);
	else
		memcpy(d + n, "AB==", 5);
	return d;
}

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

static char *
ed_newline(const char *s)
{
	size_t	 n = strlen(s);
	char	*d = malloc(n + 2);

	memcpy(d, s, 64);
	d[64] = '\n';
	memcpy(d + 65, s + 64, n - 64 + 1);
	return d;
}

/* The padding left out (or, without padding, a character too many). */
static char *
ed_unpadded(const char *s)
{
	size_t	 n = strlen(s);
	char	*d = malloc(n + 2);

	memcpy(d, s, n + 1);
	if (d[n - 1] == '=')
		d[n - (d[n - 2] == '=' ? 2 : 1)] = '\0';
	else
		memcpy(d + n, "A", 2);
	return d;
}

/*
 * Gateway certificates, issue #11: the leaf's extendedKeyUsage, a SAN
 * without a dNSName (never the CN then), canonical x5c base64; and a good
 * leaf carrying id-kp-documentSigning.  Leaves made fresh on every run.
 */
static void
gateway_certs(void)
{
	static const struct {
		const char *name, *eku, *why;
	} ekus[] = {
		{ "gw-eku-server-auth", "serverAuth", "gw1 leaf for TLS server "
		  "auth only" },
		{ "gw-eku-tls", "serverAuth,clientAuth", "gw1 leaf for TLS "
		  "server and client auth" },
		{ "gw-eku-ocsp", "1.3.6.1.5.5.7.3.36,OCSPSigning", "gw1 leaf "
		  "for OCSP signing (and documentSigning)" },
		{ "gw-eku-timestamp", "timeStamping", "gw1 leaf for time "
		  "stamping" },
		{ "gw-eku-code-signing", "codeSigning", "gw1 leaf for code "
		  "signing" },
		{ "gw-eku-email", "emailProtection", "gw1 leaf for S/MIME "
		  "only" },
	};
	static const struct {
		const char *name, *san, *why;
	} sans[] = {
		{ "gw-san-uri-only", "URI:https://gw1/", "CN=gw1, SAN with "
		  "only a URI (the CN does not count)" },
		{ "gw-san-email-only", "email:gw1@acme.example", "CN=gw1, SAN "
		  "with only an email (the CN does not count)" },
	};
	X509	*c;
	size_t	 i;

	for (i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++) {
		c = gen_cert_eku("gw1", K.gw.pk, K.ca.pk, K.ca_crt, ekus[i].eku,
		    NULL, NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL,
		    (long)(20 + i));
		gw();
		ph_set(OWN, "x5c", x5c_of(c, NULL));
		emit(ekus[i].name, "OB_ERR_GATEWAY_EKU", ekus[i].why, GWOPT);
		X509_free(c);
	}
	for (i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
		c = gen_cert_eku("gw1", K.gw.pk, K.ca.pk, K.ca_crt,
		    "1.3.6.1.5.5.7.3.36", sans[i].san, NOW - 30 * 86400LL,
		    NOW + 10 * 365 * 86400LL, (long)(30 + i));
		gw();
		ph_set(OWN, "x5c", x5c_of(c, NULL));
		emit(sans[i].name, "OB_ERR_GATEWAY_CERT", sans[i].why, GWOPT);
		X509_free(c);
	}
	gw();
	x5c_edit(ed_bits);
	emit("gw-x5c-unused-bits", "OB_ERR_X5C_NONCANONICAL", "x5c[0] with "
	    "non-zero unused bits before the padding", GWOPT);
	gw();
	x5c_edit(ed_pad_inside);
	emit("gw-x5c-pad-inside", "OB_ERR_X5C_NONCANONICAL", "x5c[0] with "
	    "\"====\" inside", GWOPT);
	gw();
	x5c_edit(ed_newline);
	emit("gw-x5c-newline", "OB_ERR_X5C_INVALID", "x5c[0] with a line "
	    "break", GWOPT);
	gw();
	x5c_edit(ed_unpadded);
	emit("gw-x5c-unpadded", "OB_ERR_X5C_INVALID", "x5c[0] without its "
	    "padding", GWOPT);
	c = gen_cert_eku("gw1", K.gw.pk, K.ca.pk, K.ca_crt,
	    "critical,1.3.6.1.5.5.7.3.36", "DNS:gw1", NOW - 30 * 86400LL,
	    NOW + 10 * 365 * 86400LL, 40);
	gw();
	ph_set(OWN, "x5c", x5c_of(c, NULL));
	emit("good-gateway-docsign", "OB_OK", "gw1 leaf with EKU "
	    "id-kp-documentSigning and SAN DNS:gw1", GWOPT);
	X509_free(c);
}

static void
gateways(void)
{
	json_t	*x;
	char	*s;

	gw();
	ph_set(OWN, "kid", json_string("gw-unknown"));
	emit("gw-unknown", "OB_ERR_GATEWAY_UNKNOWN", "gateway id not in the "
	    "trust store", GWOPT);
	gw();
	ph_set(OWN, "alg", json_string("EdDSA"));
	emit("gw-alg-not-allowed", "OB_ERR_ALG_MISMATCH", "gateway says EdDSA, "
	    "allowed ES256/ES384", GWOPT);
	gw();
	ph_set(OWN, "alg", json_string("ES384"));
	emit("gw-alg-key-type", "OB_ERR_KEY_TYPE", "gateway says ES384, leaf "
	    "key is P-256", GWOPT);
	gw();
	claim_set("owner", json_string("alice"));
	emit("gw-owner-other", "OB_ERR_GATEWAY_NOT_AUTHORIZED", "gateway of "
	    "acme, request names alice", GWOPT);
	gw();
	emit("gw-proxy-other", "OB_ERR_GATEWAY_NOT_AUTHORIZED", "request came "
	    "through proxy-9", "channel=gateway;proxy=proxy-9");
	gw();
	claim_set("sub", json_string("wimse://other.example/agents/a1"));
	emit("gw-td-other", "OB_ERR_GATEWAY_NOT_AUTHORIZED", "trust domain "
	    "other.example", GWOPT);
	gw();
	claim_set("sub", json_string("wimse://td.example/svc/a1"));
	emit("gw-may-bind", "OB_ERR_GATEWAY_NOT_AUTHORIZED", "sub outside the "
	    "gateway's may_bind", GWOPT);
	gw();
	json_object_del(g->e[OWN].ph, "x5c");
	emit("gw-no-x5c", "OB_ERR_X5C_INVALID", "gateway entry without x5c",
	    GWOPT);
	gw();
	ph_set(OWN, "x5c", json_string("MIIB"));
	emit("gw-x5c-string", "OB_ERR_X5C_INVALID", "x5c is a string", GWOPT);
	gw();
	ph_set(OWN, "x5c", json_array());
	emit("gw-x5c-empty", "OB_ERR_X5C_INVALID", "x5c is []", GWOPT);
	gw();
	ph_set(OWN, "x5c", json_pack("[i]", 1));
	emit("gw-x5c-number", "OB_ERR_X5C_INVALID", "x5c[0] is a number",
	    GWOPT);
	gw();
	x = x5c_of(K.gw_crt, NULL);
	s = strdup(json_string_value(json_array_get(x, 0)));
	s[10] = '-';
	json_array_set_new(x, 0, json_string(s));
	free(s);
	ph_set(OWN, "x5c", x);
	emit("gw-x5c-b64url", "OB_ERR_X5C_INVALID", "x5c in base64url, not "
	    "base64", GWOPT);
	gw();
	ph_set(OWN, "x5c", json_pack("[s]", "AAAAAAAA"));
	emit("gw-x5c-not-der", "OB_ERR_X5C_INVALID", "x5c[0] is not DER",
	    GWOPT);
	gw();
	{
		unsigned char *der = NULL, *d2;
		int n = i2d_X509(K.gw_crt, &der);
		char *b;

		d2 = malloc((size_t)n + 1);
		memcpy(d2, der, (size_t)n);
		d2[n] = 0;
		b = malloc((size_t)n * 2 + 8);
		EVP_EncodeBlock((unsigned char *)b, d2, n + 1);
		ph_set(OWN, "x5c", json_pack("[s]", b));
		free(b);
		free(d2);
		OPENSSL_free(der);
	}
	emit("gw-x5c-trailing", "OB_ERR_X5C_INVALID", "x5c[0] DER with a "
	    "trailing byte", GWOPT);
	gw();
	x = json_array();
	{
		int i;

		for (i = 0; i < 6; i++) {
			s = gen_cert_b64der(K.gw_crt);
			json_array_append_new(x, json_string(s));
			free(s);
		}
	}
	ph_set(OWN, "x5c", x);
	emit("gw-x5c-six", "OB_ERR_X5C_INVALID", "x5c with 6 certificates",
	    GWOPT);
	gw();
	ph_set(OWN, "x5c", x5c_of(K.gw_rogue_crt, K.rogue_crt));
	emit("gw-chain-rogue", "OB_ERR_GATEWAY_CHAIN", "leaf issued by a CA "
	    "with the same name, another key", GWOPT);
	gw();
	ph_set(OWN, "x5c", x5c_of(K.gw_expired_crt, NULL));
	emit("gw-chain-expired", "OB_ERR_GATEWAY_CHAIN", "leaf expired "
	    "yesterday", GWOPT);
	gw();
	ph_set(OWN, "x5c", x5c_of(K.gw_p384_crt, NULL));
	emit("gw-leaf-p384", "OB_ERR_KEY_TYPE", "x5c leaf is a valid P-384 "
	    "gw1 certificate, entry says ES256", GWOPT);
	/*
	 * The leaf must be gw1's own signing certificate: another gateway's
	 * certificate under the same organisation CA, the CA itself, a leaf
	 * that may not sign, or one whose SAN names someone else must not
	 * sign as gw1.  Made fresh on every run (only x5c carries them).
	 */
	{
		struct gkey	 gw2;
		X509		*c;

		gkey_make(GEN_P256, &gw2);
		c = gen_cert("gw2", gw2.pk, K.ca.pk, K.ca_crt, 0,
		    NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL, 5);
		gw();
		ph_set(OWN, "x5c", x5c_of(c, NULL));
		g->e[OWN].key = &gw2;
		emit("gw-cert-other-gateway", "OB_ERR_GATEWAY_CERT", "gw2's "
		    "certificate (same org CA, CN=gw2) signs with kid gw1",
		    GWOPT);
		X509_free(c);
		gw();
		ph_set(OWN, "x5c", x5c_of(K.ca_crt, NULL));
		g->e[OWN].key = &K.ca;
		emit("gw-cert-ca-as-leaf", "OB_ERR_GATEWAY_CERT", "the org CA "
		    "certificate itself as the gw1 leaf", GWOPT);
		c = gen_cert_ex("gw1", gw2.pk, K.ca.pk, K.ca_crt,
		    "critical,CA:FALSE", "critical,keyEncipherment", NULL,
		    NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL, 6);
		gw();
		ph_set(OWN, "x5c", x5c_of(c, NULL));
		g->e[OWN].key = &gw2;
		emit("gw-cert-no-digsig", "OB_ERR_GATEWAY_CERT", "gw1 leaf whose "
		    "keyUsage lacks digitalSignature", GWOPT);
		X509_free(c);
		c = gen_cert_ex("gw1", gw2.pk, K.ca.pk, K.ca_crt,
		    "critical,CA:FALSE", "critical,digitalSignature",
		    "DNS:gw9", NOW - 30 * 86400LL, NOW + 10 * 365 * 86400LL, 7);
		gw();
		ph_set(OWN, "x5c", x5c_of(c, NULL));
		g->e[OWN].key = &gw2;
		emit("gw-cert-san-other", "OB_ERR_GATEWAY_CERT", "CN=gw1 but "
		    "SAN DNS:gw9 (SAN wins)", GWOPT);
		X509_free(c);
		gkey_free(&gw2);
	}
	gw();
	g->e[OWN].key = &K.stranger;
	emit("gw-signed-other", "OB_ERR_SIG_INVALID", "gateway entry not "
	    "signed by its leaf key", GWOPT);
	gw();
	ph_set(AG, "x5c", x5c_of(K.gw_crt, NULL));
	emit("x5c-on-agent", "OB_ERR_HDR_INVALID", "x5c on the agent entry",
	    GWOPT);
	gateway_certs();
}

/* ---- public-key rules (docs/decisions.md, "Public keys") ------------- */

/* Ed25519 encodings, little-endian y with the sign of x in bit 255. */
static const char *const ed_weak_hex[][3] = {
	{ "identity", "0100000000000000000000000000000000000000000000000000000000000000",
	  "the identity (order 1)" },
	{ "identity-sign", "0100000000000000000000000000000000000000000000000000000000000080",
	  "the identity with the sign bit set on x = 0" },
	{ "order2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "the point of order 2 (y = p - 1)" },
	{ "order4", "0000000000000000000000000000000000000000000000000000000000000080",
	  "a point of order 4 (y = 0)" },
	{ "order8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	  "a point of order 8" },
	{ "order8-b", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	  "the other order-8 y, sign bit set" },
	{ "noncanon-identity", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "the identity as y = p + 1" },
	{ "noncanon-zero", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "order 4 as y = p" },
	{ "noncanon", "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	  "y = p + 3, a point of full (mixed) order, not canonical" },
};

static void
hex32(const char *h, unsigned char out[32])
{
	size_t i;

	for (i = 0; i < 32; i++) {
		unsigned int v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			gen_die("hex");
		out[i] = (unsigned char)v;
	}
}

/* A public-only Ed25519 gkey, built without any check. */
static void
ed_raw(const unsigned char x[32], struct gkey *k)
{
	memset(k, 0, sizeof(*k));
	if ((k->pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
	    32)) == NULL)
		gen_die("raw Ed25519 key");
	k->alg = OB_ALG_EDDSA;
	if (ob_jwk_from_pkey(k->pk, &k->jwk) != OB_OK ||
	    ob_jwk_thumbprint(k->jwk, k->kid) != OB_OK)
		gen_die("raw Ed25519 JWK");
}

/*
 * The signature that verifies any message under the identity key with a
 * verifier that takes the key: R = the identity, S = 0 ([0]B = R + [k]O).
 */
static const unsigned char ed_forged[64] = { 0x01 };

/* An RSA JWK from bytes (no key, no check); kid when it fits. */
static void
rsa_raw(size_t nbits, int odd_n, const unsigned char *e, size_t elen,
    struct gkey *k)
{
	unsigned char	*n = malloc(nbits / 8);
	char		*s;
	size_t		 i;

	memset(k, 0, sizeof(*k));
	if (n == NULL)
		gen_die("alloc");
	for (i = 0; i < nbits / 8; i++)
		n[i] = (unsigned char)(0x5b + 97 * i);
	n[0] |= 0x80;
	n[nbits / 8 - 1] = odd_n ? 0x01 : 0x02;
	k->jwk = json_object();
	s = gen_b64(e, elen);
	json_object_set_new(k->jwk, "e", json_string(s));
	free(s);
	json_object_set_new(k->jwk, "kty", json_string("RSA"));
	s = gen_b64(n, nbits / 8);
	json_object_set_new(k->jwk, "n", json_string(s));
	free(s);
	free(n);
	k->alg = OB_ALG_PS256;
	if (ob_jwk_thumbprint(k->jwk, k->kid) != OB_OK)
		snprintf(k->kid, sizeof(k->kid), "oversized-rsa-key");
}

static void
gkey_clear(struct gkey *k)
{
	EVP_PKEY_free(k->pk);
	json_decref(k->jwk);
	memset(k, 0, sizeof(*k));
}

/* Agent-mediated with a key nobody holds: the agent's signature is sig. */
static void
am_raw(const struct gkey *agent, const unsigned char *sig, size_t siglen)
{
	struct gentry *e;

	g = genv_new(agent, "alice");
	genv_add(g, gen_ph(K.owner_es256.alg, K.owner_es256.kid, "owner", AM,
	    NOW - 5, NULL), &K.owner_es256, 0);
	e = genv_add(g, gen_ph(agent->alg, agent->kid, "agent", AM, NOW - 2,
	    NULL), NULL, 0);
	memcpy(e->sig, sig, siglen);
	e->siglen = siglen;
}

static void
keyrules(void)
{
	static const unsigned char e65537[] = { 0x01, 0x00, 0x01 };
	static const unsigned char e_even[] = { 0x01, 0x00, 0x00 };
	static const unsigned char e_one[] = { 0x01 };
	static const unsigned char e_big[] = { 0x01, 0x00, 0x00, 0x00, 0x01 };
	unsigned char	 x[32], sig[512];
	char		 name[64], why[160];
	struct gkey	 wk;
	X509		*leaf;
	json_t		*ph;
	size_t		 i;

#define JWK() (json_object_get(json_object_get(g->claims, "cnf"), "jwk"))
	for (i = 0; i < sizeof(ed_weak_hex) / sizeof(ed_weak_hex[0]); i++) {
		hex32(ed_weak_hex[i][1], x);
		ed_raw(x, &wk);
		/* The identity's forgery verifies; the others need not. */
		am_raw(&wk, ed_forged, sizeof(ed_forged));
		snprintf(name, sizeof(name), "jwk-ed25519-%s",
		    ed_weak_hex[i][0]);
		snprintf(why, sizeof(why), "cnf.jwk is %s, agent signature "
		    "R = identity, S = 0", ed_weak_hex[i][2]);
		emit(name, "OB_ERR_KEY_WEAK", why, NULL);
		gkey_clear(&wk);
	}
	/* y = 2: no x satisfies the curve equation. */
	memset(x, 0, sizeof(x));
	x[0] = 2;
	ed_raw(x, &wk);
	am_raw(&wk, ed_forged, sizeof(ed_forged));
	emit("jwk-ed25519-off-curve", "OB_ERR_JWK_INVALID", "cnf.jwk Ed25519 "
	    "y = 2 is not on the curve", NULL);
	gkey_clear(&wk);

	/* RSA sizes: refused before OpenSSL sees the key. */
	memset(sig, 0x11, sizeof(sig));
	rsa_raw(8192, 1, e65537, sizeof(e65537), &wk);
	am_raw(&wk, sig, 512);
	emit("jwk-rsa-8192", "OB_ERR_KEY_SIZE", "cnf.jwk RSA modulus of 8192 "
	    "bits", NULL);
	gkey_clear(&wk);
	rsa_raw(16384, 1, e65537, sizeof(e65537), &wk);
	am_raw(&wk, sig, 512);
	emit("jwk-rsa-16384", "OB_ERR_KEY_SIZE", "cnf.jwk RSA modulus of "
	    "16384 bits, refused on its length", NULL);
	gkey_clear(&wk);
	rsa_raw(2048, 0, e65537, sizeof(e65537), &wk);
	am_raw(&wk, sig, 256);
	emit("jwk-rsa-n-even", "OB_ERR_KEY_SIZE", "cnf.jwk RSA modulus is even",
	    NULL);
	gkey_clear(&wk);
	rsa_raw(2048, 1, e_even, sizeof(e_even), &wk);
	am_raw(&wk, sig, 256);
	emit("jwk-rsa-e-even", "OB_ERR_KEY_SIZE", "cnf.jwk RSA e = 65536",
	    NULL);
	gkey_clear(&wk);
	rsa_raw(2048, 1, e_one, sizeof(e_one), &wk);
	am_raw(&wk, sig, 256);
	emit("jwk-rsa-e-1", "OB_ERR_KEY_SIZE", "cnf.jwk RSA e = 1", NULL);
	gkey_clear(&wk);
	rsa_raw(2048, 1, e_big, sizeof(e_big), &wk);
	am_raw(&wk, sig, 256);
	emit("jwk-rsa-e-big", "OB_ERR_KEY_SIZE", "cnf.jwk RSA e = 2^32 + 1",
	    NULL);
	gkey_clear(&wk);
	/* The largest allowed key costs one public operation to refuse. */
	rsa_raw(4096, 1, e65537, sizeof(e65537), &wk);
	am_raw(&wk, sig, 512);
	emit("jwk-rsa-4096-bad-sig", "OB_ERR_SIG_INVALID", "cnf.jwk RSA-4096 "
	    "(made-up modulus), agent signature does not verify", NULL);
	gkey_clear(&wk);

	/* RFC 7517 4.2-4.5: use, alg, kid. */
	am();
	json_object_set_new(JWK(), "use", json_string("enc"));
	emit("jwk-use-enc", "OB_ERR_JWK_MEMBER", "cnf.jwk use \"enc\"", NULL);
	am();
	json_object_set_new(JWK(), "use", json_integer(1));
	emit("jwk-use-number", "OB_ERR_JWK_MEMBER", "cnf.jwk use is a number",
	    NULL);
	am();
	json_object_set_new(JWK(), "alg", json_string("none"));
	emit("jwk-alg-none", "OB_ERR_JWK_MEMBER", "cnf.jwk alg \"none\"", NULL);
	am();
	json_object_set_new(JWK(), "alg", json_string("HS256"));
	emit("jwk-alg-hs256", "OB_ERR_JWK_MEMBER", "cnf.jwk alg \"HS256\"",
	    NULL);
	am();
	json_object_set_new(JWK(), "alg", json_string("ES384"));
	emit("jwk-alg-other-curve", "OB_ERR_JWK_MEMBER", "cnf.jwk P-256 key "
	    "marked ES384", NULL);
	am();
	json_object_set_new(JWK(), "alg", json_string("webauthn-es256"));
	emit("jwk-alg-webauthn", "OB_ERR_JWK_MEMBER", "cnf.jwk alg "
	    "\"webauthn-es256\" (not a JOSE alg)", NULL);
	am();
	json_object_set_new(JWK(), "alg", json_array());
	emit("jwk-alg-array", "OB_ERR_JWK_MEMBER", "cnf.jwk alg is an array",
	    NULL);
	am();
	json_object_set_new(JWK(), "kid", json_integer(7));
	emit("jwk-kid-number", "OB_ERR_JWK_MEMBER", "cnf.jwk kid is a number",
	    NULL);
	am_with(&K.owner_es256, &K.agent_eddsa);
	json_object_set_new(JWK(), "alg", json_string("ES256"));
	emit("jwk-alg-es256-on-ed25519", "OB_ERR_JWK_MEMBER", "cnf.jwk Ed25519 "
	    "key marked ES256", NULL);
	am();
	json_object_set_new(JWK(), "use", json_string("sig"));
	json_object_set_new(JWK(), "alg", json_string("ES256"));
	json_object_set_new(JWK(), "kid", json_string("agent key 1"));
	emit("good-jwk-members", "OB_OK", "cnf.jwk with use sig, alg ES256 and "
	    "a string kid", NULL);
	am_with(&K.owner_es256, &K.agent_eddsa);
	json_object_set_new(JWK(), "alg", json_string("Ed25519"));
	emit("good-jwk-alg-ed25519", "OB_OK", "cnf.jwk Ed25519 marked with "
	    "RFC 9864's \"Ed25519\"", NULL);

	/* A gateway leaf certificate (issued by the org CA) for the identity. */
	hex32(ed_weak_hex[0][1], x);
	ed_raw(x, &wk);
	leaf = gen_cert("gw2", wk.pk, K.ca.pk, K.ca_crt, 0, NOW - 30 * 86400LL,
	    NOW + 10 * 365 * 86400LL, 90);
	g = genv_new(&K.agent, "acme");
	ph = gen_ph(OB_ALG_EDDSA, "gw2", "gateway", OM, NOW - 5, NULL);
	json_object_set_new(ph, "x5c", x5c_of(leaf, NULL));
	{
		struct gentry *e = genv_add(g, ph, NULL, 0);

		memcpy(e->sig, ed_forged, sizeof(ed_forged));
		e->siglen = sizeof(ed_forged);
	}
	genv_add(g, gen_ph(K.agent.alg, K.agent.kid, "agent", OM, NOW - 2,
	    NULL), &K.agent, 0);
	emit("gw-leaf-ed25519-identity", "OB_ERR_KEY_WEAK", "gateway gw2's "
	    "CA-issued leaf carries the Ed25519 identity, signature R = "
	    "identity, S = 0", GWOPT);
	X509_free(leaf);
	gkey_clear(&wk);
#undef JWK
}

/* Write a trust store that must not load, and its trust-index.tsv line. */
static void
trust_emit(const char *name, json_t *t, const char *code, const char *why)
{
	char	 file[128], *s;

	snprintf(file, sizeof(file), "trust-%02d-%s.json", ++ntrust, name);
	if ((s = json_dumps(t, JSON_INDENT(2))) == NULL)
		gen_die("dump");
	write_file(file, s);
	free(s);
	fprintf(tidx, "%s\tOB_ERR_TRUST_INVALID\t%s\t%s\n", file, code, why);
	json_decref(t);
}

/* A copy of trust.json with key k added to alice's keys. */
static json_t *
trust_with(json_t *key)
{
	json_t *t = json_deep_copy(trust_doc);

	json_array_append_new(json_object_get(json_array_get(
	    json_object_get(t, "owners"), 0), "keys"), key);
	return t;
}

static void
trust_cases(void)
{
	static const unsigned char e65537[] = { 0x01, 0x00, 0x01 };
	unsigned char	 x[32];
	struct gkey	 wk;
	json_t		*t, *k, *gwo;
	X509		*ca;
	char		*s;

	hex32(ed_weak_hex[0][1], x);
	ed_raw(x, &wk);
	trust_emit("owner-ed25519-identity", trust_with(tkey(&wk, "pkcs11",
	    OB_ALG_EDDSA, NULL)), "OB_ERR_KEY_WEAK", "an owner key is the "
	    "Ed25519 identity");
	gkey_clear(&wk);
	hex32(ed_weak_hex[4][1], x);
	ed_raw(x, &wk);
	trust_emit("fido2-eddsa-order8", trust_with(tkey(&wk, "fido2",
	    OB_ALG_WEBAUTHN_EDDSA, json_pack("{s:s,s:s,s:b}", "rp_id",
	    "ownerbind:", "uv", "required", "backup_eligible", 0))),
	    "OB_ERR_KEY_WEAK", "a webauthn-eddsa credential of order 8");
	gkey_clear(&wk);
	hex32(ed_weak_hex[8][1], x);
	ed_raw(x, &wk);
	trust_emit("owner-ed25519-noncanon", trust_with(tkey(&wk, "software",
	    OB_ALG_EDDSA, NULL)), "OB_ERR_KEY_WEAK", "an owner key with "
	    "y = p + 3");
	gkey_clear(&wk);
	rsa_raw(8192, 1, e65537, sizeof(e65537), &wk);
	trust_emit("owner-rsa-8192", trust_with(tkey(&wk, "piv", OB_ALG_PS256,
	    NULL)), "OB_ERR_KEY_SIZE", "an owner key of 8192 bits");
	gkey_clear(&wk);
	k = tkey(&K.stranger, "software", OB_ALG_ES256, NULL);
	json_object_set_new(k, "jwk", json_deep_copy(K.stranger.jwk));
	json_object_set_new(json_object_get(k, "jwk"), "use",
	    json_string("enc"));
	trust_emit("owner-jwk-use-enc", trust_with(k), "OB_ERR_JWK_MEMBER",
	    "an owner key's JWK has use \"enc\"");
	k = tkey(&K.stranger, "software", OB_ALG_ES256, NULL);
	json_object_set_new(k, "jwk", json_deep_copy(K.stranger.jwk));
	json_object_set_new(json_object_get(k, "jwk"), "alg",
	    json_string("none"));
	trust_emit("owner-jwk-alg-none", trust_with(k), "OB_ERR_JWK_MEMBER",
	    "an owner key's JWK has alg \"none\"");
	/* A gateway CA certificate whose key is the Ed25519 identity. */
	hex32(ed_weak_hex[0][1], x);
	ed_raw(x, &wk);
	ca = gen_cert("Weak CA", wk.pk, K.ca.pk, K.ca_crt, 1, NOW - 86400LL,
	    NOW + 365 * 86400LL, 91);
	t = json_deep_copy(trust_doc);
	gwo = json_array_get(json_object_get(t, "gateways"), 1);
	s = gen_cert_pem(ca);
	json_object_set_new(gwo, "ca", strs(s, NULL));
	free(s);
	trust_emit("gateway-ca-ed25519-identity", t, "OB_ERR_KEY_WEAK",
	    "gw2's CA certificate carries the Ed25519 identity");
	X509_free(ca);
	gkey_clear(&wk);
}

int
main(int argc, char **argv)
{
	char *p;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_negative KEYDIR OUTDIR\n");
		return 2;
	}
	keys(argv[1]);
	outdir = argv[2];
	p = path2(outdir, "index.tsv");
	if ((idx = fopen(p, "w")) == NULL)
		gen_die(p);
	free(p);
	fprintf(idx, "# file\texpected\treason\toptions\n");
	trust();
	goods();
	syntax();
	sizes();
	base64();
	json_dups();
	headers();
	jwks();
	roles();
	claims();
	subs();
	algs_and_keys();
	signatures();
	times();
	nonces();
	replay();
	fido2();
	gateways();
	keyrules();
	nonce_binding();
	fclose(idx);
	p = path2(outdir, "trust-index.tsv");
	if ((tidx = fopen(p, "w")) == NULL)
		gen_die(p);
	free(p);
	fprintf(tidx, "# file\texpected\tcode in the detail\treason\n");
	trust_cases();
	fclose(tidx);
	json_decref(trust_doc);
	fprintf(stderr, "gen_negative: %d negative cases\n", ncase);
	return 0;
}
