/*
 * bench-verify: ob_verify against the bare signature checks it contains.
 *
 *   bench-verify [-n ENVELOPES] [-r ROUNDS] [-c CASE] [-o]
 *
 * For each case, N envelopes with distinct jti (and, for FIDO2, rising
 * counters) are built before any timing.  "ours" is the full ob_verify
 * (memory replay state, fresh per round); "raw" is an EVP_DigestVerify
 * loop over the same two signatures per envelope with the keys parsed in
 * advance (ECDSA signatures converted to DER in advance; for FIDO2 the
 * authenticatorData||SHA-256(clientDataJSON) message built in advance).
 * The two loops alternate in chunks of 50 envelopes and are timed in
 * thread CPU time (so that other load on the machine hits both alike);
 * rates and the ratio ours/raw come from the totals over all rounds.  Heap figures
 * come from a counting malloc in this program (glibc routes its own and
 * every library's allocations through it): bytes and calls per ob_verify,
 * the peak of live heap above the starting point during one call, and the
 * bytes the replay state keeps per accepted envelope.
 *
 * Cases: es256 (ES256 owner, ES256 agent), eddsa (EdDSA owner, EdDSA
 * agent), fido2 (webauthn-es256 owner, ES256 agent): one agent key, as
 * when an agent renews its credential, so the verifier's cache of parsed
 * agent keys hits.  es256-newkey: a new agent key in every envelope
 * (N x ROUNDS envelopes, each verified once), so it always misses and
 * ours pays for importing the JWK while raw still has the key parsed.
 * gateway: owner-mediated, an ES256 gateway entry whose x5c carries a
 * leaf and an intermediate CA (the root in the trust store), and an ES256
 * agent, on the gateway channel; raw checks the same two signatures with
 * the leaf key parsed in advance, so ours includes the chain (built and
 * verified once, then taken from the trust store's chain cache).  reject:
 * unauthenticated envelopes with attacker-chosen agent keys, their cost
 * relative to a valid es256 envelope (bench_reject below).  -o runs
 * ob_verify only (for perf/callgrind).  Never run by the tests.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "server-verify/verify_int.h"
#include "common/cliutil.h"
#include "core/b64url.h"
#include "tests/vectors/gen_common.h"
#include "core/jwk.h"
#include "core/webauthn.h"

/* Counting allocator: glibc exports its implementation as __libc_*. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

/* Default visibility, so that libcrypto and jansson bind to these too. */
#define EXPORTED __attribute__((visibility("default")))

static int		count_on;
static unsigned long long allocs, alloc_bytes;
static long long	live, peak;

static void
count_add(void *p)
{
	size_t n;

	if (p == NULL || !count_on)
		return;
	n = malloc_usable_size(p);
	allocs++;
	alloc_bytes += n;
	live += (long long)n;
	if (live > peak)
		peak = live;
}

static void
count_sub(void *p)
{
	if (p != NULL && count_on)
		live -= (long long)malloc_usable_size(p);
}

EXPORTED void *
malloc(size_t n)
{
	void *p = __libc_malloc(n);

	count_add(p);
	return p;
}

EXPORTED void *
calloc(size_t a, size_t b)
{
	void *p = __libc_calloc(a, b);

	count_add(p);
	return p;
}

EXPORTED void *
realloc(void *old, size_t n)
{
	void *p;

	count_sub(old);
	p = __libc_realloc(old, n);
	if (p == NULL && old != NULL && n != 0)
		count_add(old);		/* old block still there */
	else
		count_add(p);
	return p;
}

EXPORTED void
free(void *p)
{
	count_sub(p);
	__libc_free(p);
}

#define NOW	GEN_NOW
#define CHUNK	50
#define SUB	"wimse://td.example/agents/a1"

struct rawsig {
	EVP_PKEY	*pk;
	const EVP_MD	*md;
	unsigned char	*msg;
	size_t		 msglen;
	unsigned char	*sig;
	size_t		 siglen;
};

struct bcase {
	const char	*name;
	int		 gateway;	/* owner-mediated, gateway channel */
	char		**env;
	size_t		*envlen;
	struct rawsig	*raw;		/* 2 per envelope */
};

static struct gkey owner_es256, owner_eddsa, owner_fido, agent_es256,
    agent_eddsa, root_key, int_key, gw_key;
static X509 *root_crt, *int_crt, *gw_crt;
static struct ob_trust *trust;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *
tkey(const struct gkey *k, const char *kind, enum ob_alg alg)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:O}", "kid", k->kid, "kind", kind,
	    "alg", ob_alg_name(alg), "jwk", k->jwk);

	if (alg == OB_ALG_WEBAUTHN_ES256)
		json_object_set_new(o, "fido2", json_pack("{s:s,s:s}", "rp_id",
		    "ownerbind:", "uv", "required"));
	return o;
}

/* Root (in the trust store) -> intermediate -> gateway leaf gw.bench. */
static void
make_certs(void)
{
	gkey_make(GEN_P256, &root_key);
	gkey_make(GEN_P256, &int_key);
	gkey_make(GEN_P256, &gw_key);
	root_crt = gen_cert("Bench Root CA", root_key.pk, root_key.pk, NULL, 1,
	    NOW - 86400, NOW + 3650 * 86400LL, 1);
	int_crt = gen_cert("Bench Gateways CA", int_key.pk, root_key.pk,
	    root_crt, 1, NOW - 86400, NOW + 365 * 86400LL, 2);
	gw_crt = gen_cert_eku("gw.bench", gw_key.pk, int_key.pk, int_crt,
	    "1.3.6.1.5.5.7.3.36", "DNS:gw.bench", NOW - 86400,
	    NOW + 30 * 86400LL, 3);
}

static void
make_trust(void)
{
	json_t	*t;
	char	*s, *ca = gen_cert_pem(root_crt);

	t = json_pack("{s:i,s:[{s:s,s:[s],s:[o,o,o]}],s:[{s:s,s:s,s:[s],"
	    "s:[s],s:[s],s:[s],s:[s]}]}", "ownerbind_trust", 1,
	    "owners", "id", "alice", "may_bind", "wimse://td.example/agents/*",
	    "keys", tkey(&owner_es256, "software", OB_ALG_ES256),
	    tkey(&owner_eddsa, "pkcs11", OB_ALG_EDDSA),
	    tkey(&owner_fido, "fido2", OB_ALG_WEBAUTHN_ES256),
	    "gateways", "id", "gw.bench", "owner", "alice", "ca", ca, "algs",
	    "ES256", "proxies", "proxy-1", "trust_domains", "td.example",
	    "may_bind", "wimse://td.example/agents/*");
	free(ca);
	if (t == NULL)
		gen_die("trust json");
	s = gen_dump(t);
	if (ob_trust_load_buf(s, strlen(s), &trust) != OB_OK)
		gen_die(ob_err_detail());
	free(s);
	json_decref(t);
}

/* The raw check for one entry: what EVP_DigestVerify needs, prepared. */
static void
raw_prepare(struct rawsig *rs, const struct genv *g, size_t i,
    const struct gkey *k)
{
	const struct gentry	*e = &g->e[i];
	char			*tbs = gen_strcat3(e->pb64, ".", g->payload_b64);
	unsigned char		*der;
	size_t			 derlen;

	rs->pk = k->pk;
	EVP_PKEY_up_ref(k->pk);
	rs->md = EVP_PKEY_get_base_id(k->pk) == EVP_PKEY_ED25519 ? NULL :
	    EVP_sha256();
	if (e->fido) {
		const char *ad = json_string_value(json_object_get(e->hdr,
		    "authenticatorData"));
		const char *cd = json_string_value(json_object_get(e->hdr,
		    "clientDataJSON"));
		unsigned char *adb, *cdb;
		size_t adl, cdl;

		if (ob_b64url_decode(ad, strlen(ad), 512, &adb, &adl) != OB_OK ||
		    ob_b64url_decode(cd, strlen(cd), 1024, &cdb, &cdl) != OB_OK)
			gen_die("fido raw");
		rs->msg = malloc(adl + 32);
		memcpy(rs->msg, adb, adl);
		SHA256(cdb, cdl, rs->msg + adl);
		rs->msglen = adl + 32;
		free(adb);
		free(cdb);
		rs->sig = malloc(e->siglen);
		memcpy(rs->sig, e->sig, e->siglen);
		rs->siglen = e->siglen;
		free(tbs);
		return;
	}
	rs->msg = (unsigned char *)tbs;
	rs->msglen = strlen(tbs);
	if (rs->md != NULL) {
		if (ob_ecdsa_rs_to_der(e->sig, e->siglen, &der, &derlen) !=
		    OB_OK)
			gen_die("der");
		rs->sig = der;
		rs->siglen = derlen;
	} else {
		rs->sig = malloc(e->siglen);
		memcpy(rs->sig, e->sig, e->siglen);
		rs->siglen = e->siglen;
	}
}

static void
build(struct bcase *bc, size_t n)
{
	const struct gkey	*owner, *agent;
	struct gkey		 fresh;
	enum ob_alg		 oalg;
	int			 fido, newkey;
	size_t			 i;
	char			 jti[48];

	fido = strcmp(bc->name, "fido2") == 0;
	newkey = strcmp(bc->name, "es256-newkey") == 0;
	bc->gateway = strcmp(bc->name, "gateway") == 0;
	if (bc->gateway) {
		owner = &gw_key;
		agent = &agent_es256;
	} else if (strcmp(bc->name, "eddsa") == 0) {
		owner = &owner_eddsa;
		agent = &agent_eddsa;
	} else {
		owner = fido ? &owner_fido : &owner_es256;
		agent = &agent_es256;
	}
	oalg = fido ? OB_ALG_WEBAUTHN_ES256 : owner->alg;
	bc->env = calloc(n, sizeof(*bc->env));
	bc->envlen = calloc(n, sizeof(*bc->envlen));
	bc->raw = calloc(2 * n, sizeof(*bc->raw));
	for (i = 0; i < n; i++) {
		struct genv g;

		memset(&g, 0, sizeof(g));
		if (newkey) {
			gkey_make(GEN_P256, &fresh);
			agent = &fresh;
		}
		snprintf(jti, sizeof(jti), "bench%011zuXXXXXXXX", i);
		g.claims = gen_claims(agent, SUB, "alice", jti, NOW - 10,
		    NOW + 290);
		if (bc->gateway) {
			json_t *ph = gen_ph(OB_ALG_ES256, "gw.bench",
			    "gateway", "owner-mediated", NOW - 5, NULL);
			char *l = gen_cert_b64der(gw_crt);
			char *m = gen_cert_b64der(int_crt);

			json_object_set_new(ph, "x5c", json_pack("[s,s]", l,
			    m));
			free(l);
			free(m);
			genv_add(&g, ph, owner, 0);
			genv_add(&g, gen_ph(agent->alg, agent->kid, "agent",
			    "owner-mediated", NOW - 2, NULL), agent, 0);
			goto built;
		}
		genv_add(&g, gen_ph(oalg, owner->kid, "owner", "agent-mediated",
		    NOW - 5, NULL), owner, fido);
		g.e[0].fo.counter = (uint32_t)(i + 1);
		genv_add(&g, gen_ph(agent->alg, agent->kid, "agent",
		    "agent-mediated", NOW - 2, NULL), agent, 0);
built:
		bc->env[i] = genv_str(&g);
		bc->envlen[i] = strlen(bc->env[i]);
		raw_prepare(&bc->raw[2 * i], &g, 0, owner);
		raw_prepare(&bc->raw[2 * i + 1], &g, 1, agent);
		genv_free(&g);
		if (newkey)
			gkey_free(&fresh);
	}
}

/* ob_verify over envelopes [a, b); returns CPU seconds. */
static struct ob_verify_opts
opts_for(const struct bcase *bc)
{
	struct ob_verify_opts o = { .aud = GEN_AUD, .now = NOW };

	if (bc->gateway) {
		o.channel = OB_CHANNEL_GATEWAY;
		o.proxy = "proxy-1";
	}
	return o;
}

static double
run_ours(const struct bcase *bc, struct ob_state *st, size_t a, size_t b)
{
	struct ob_verify_opts	 o = opts_for(bc);
	struct ob_verdict	*v;
	double			 t0;
	size_t			 i;
	int			 r;

	t0 = now_s();
	for (i = a; i < b; i++) {
		v = NULL;
		if ((r = ob_verify(trust, st, &o, bc->env[i], bc->envlen[i],
		    &v)) != OB_OK) {
			fprintf(stderr, "%s[%zu]: %s: %s\n", bc->name, i,
			    ob_err_name(r), ob_err_detail());
			exit(1);
		}
		ob_verdict_free(&v);
	}
	return now_s() - t0;
}

/* The two bare signature checks of envelopes [a, b); CPU seconds. */
static double
run_raw(const struct bcase *bc, size_t a, size_t b)
{
	EVP_MD_CTX	*ctx;
	double		 t0;
	size_t		 i;
	const struct rawsig *rs;

	t0 = now_s();
	for (i = 2 * a; i < 2 * b; i++) {
		rs = &bc->raw[i];
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(ctx, NULL, rs->md, NULL, rs->pk) != 1 ||
		    EVP_DigestVerify(ctx, rs->sig, rs->siglen, rs->msg,
		    rs->msglen) != 1) {
			fprintf(stderr, "%s: raw verify %zu failed\n", bc->name,
			    i);
			exit(1);
		}
		EVP_MD_CTX_free(ctx);
	}
	return now_s() - t0;
}

static void
heap(const struct bcase *bc, size_t n)
{
	struct ob_verify_opts	 o = opts_for(bc);
	struct ob_state		*st;
	struct ob_verdict	*v;
	long long		 base, maxpeak = 0, retained;
	unsigned long long	 a0, b0;
	size_t			 i;

	if (ob_state_open_memory(&st) != OB_OK)
		gen_die("state");
	count_on = 1;
	live = peak = 0;
	a0 = allocs;
	b0 = alloc_bytes;
	for (i = 0; i < n; i++) {
		base = live;
		peak = live;
		v = NULL;
		if (ob_verify(trust, st, &o, bc->env[i], bc->envlen[i], &v) !=
		    OB_OK)
			gen_die("heap verify");
		ob_verdict_free(&v);
		if (peak - base > maxpeak)
			maxpeak = peak - base;
	}
	retained = live;
	printf("%s heap: ours %.0f bytes in %.1f allocations per envelope, "
	    "peak %lld bytes live during one call, state keeps %.0f bytes "
	    "per accepted envelope;", bc->name,
	    (double)(alloc_bytes - b0) / (double)n,
	    (double)(allocs - a0) / (double)n, maxpeak,
	    (double)retained / (double)n);
	a0 = allocs;
	b0 = alloc_bytes;
	(void)run_raw(bc, 0, n);
	count_on = 0;
	printf(" raw %.0f bytes in %.1f allocations per envelope\n",
	    (double)(alloc_bytes - b0) / (double)n,
	    (double)(allocs - a0) / (double)n);
	ob_state_free(&st);
}

/*
 * Unauthenticated envelopes: an ES256 owner entry that verifies, and an
 * agent whose cnf.jwk is an attacker's choice and whose signature does not
 * verify.  Every envelope has a new key (so the key cache never helps):
 * rsa4096-badsig (made-up 4096-bit modulus: the largest allowed, one RSA
 * public operation), rsa8192 and rsa16384 (refused by size),
 * ed25519-identity (refused as small order; R = identity, S = 0 would
 * verify under it).  Their cost is reported against valid es256
 * envelopes, interleaved in chunks in the same run.
 */
static const char *const rej_names[] = {
	"rsa4096-badsig", "rsa8192", "rsa16384", "ed25519-identity"
};

static void
fake_jwk(const char *name, size_t salt, struct gkey *k)
{
	unsigned char	 x[32], *n;
	size_t		 bits, i;
	char		*s;

	memset(k, 0, sizeof(*k));
	if (strcmp(name, "ed25519-identity") == 0) {
		memset(x, 0, sizeof(x));
		x[0] = 1;
		s = gen_b64(x, sizeof(x));
		k->jwk = json_pack("{s:s,s:s,s:s}", "crv", "Ed25519", "kty",
		    "OKP", "x", s);
		free(s);
		k->alg = OB_ALG_EDDSA;
	} else {
		bits = strcmp(name, "rsa8192") == 0 ? 8192 :
		    strcmp(name, "rsa16384") == 0 ? 16384 : 4096;
		if ((n = malloc(bits / 8)) == NULL)
			gen_die("alloc");
		for (i = 0; i < bits / 8; i++)
			n[i] = (unsigned char)(0x5b + 97 * i + 31 * salt +
			    (salt >> 8));
		n[0] |= 0x80;
		n[bits / 8 - 1] |= 1;
		s = gen_b64(n, bits / 8);
		free(n);
		k->jwk = json_pack("{s:s,s:s,s:s}", "e", "AQAB", "kty", "RSA",
		    "n", s);
		free(s);
		k->alg = OB_ALG_PS256;
	}
	if (k->jwk == NULL)
		gen_die("fake jwk");
	if (ob_jwk_thumbprint(k->jwk, k->kid) != OB_OK)
		snprintf(k->kid, sizeof(k->kid), "oversized");
}

static void
build_reject(struct bcase *bc, size_t n)
{
	struct gkey	 fake;
	struct gentry	*e;
	size_t		 i;
	char		 jti[48];

	bc->env = calloc(n, sizeof(*bc->env));
	bc->envlen = calloc(n, sizeof(*bc->envlen));
	for (i = 0; i < n; i++) {
		struct genv g;

		memset(&g, 0, sizeof(g));
		fake_jwk(bc->name, i, &fake);
		snprintf(jti, sizeof(jti), "reject%010zuXXXXXXXX", i);
		g.claims = gen_claims(&fake, SUB, "alice", jti, NOW - 10,
		    NOW + 290);
		genv_add(&g, gen_ph(owner_es256.alg, owner_es256.kid, "owner",
		    "agent-mediated", NOW - 5, NULL), &owner_es256, 0);
		e = genv_add(&g, gen_ph(fake.alg, fake.kid, "agent",
		    "agent-mediated", NOW - 2, NULL), NULL, 0);
		if (fake.alg == OB_ALG_EDDSA) {
			memset(e->sig, 0, 64);
			e->sig[0] = 0x01;
			e->siglen = 64;
		} else {
			memset(e->sig, 0x11, 512);
			e->siglen = 512;
		}
		bc->env[i] = genv_str(&g);
		bc->envlen[i] = strlen(bc->env[i]);
		genv_free(&g);
		json_decref(fake.jwk);
	}
}

/* ob_verify over envelopes [a, b), each must be refused; CPU seconds. */
static double
run_reject(const struct bcase *bc, struct ob_state *st, size_t a, size_t b,
    int *code)
{
	struct ob_verify_opts	 o = { .aud = GEN_AUD, .now = NOW };
	struct ob_verdict	*v;
	double			 t0;
	size_t			 i;
	int			 r;

	t0 = now_s();
	for (i = a; i < b; i++) {
		v = NULL;
		if ((r = ob_verify(trust, st, &o, bc->env[i], bc->envlen[i],
		    &v)) == OB_OK) {
			fprintf(stderr, "%s[%zu]: accepted\n", bc->name, i);
			exit(1);
		}
		*code = r;
		ob_verdict_free(&v);
	}
	return now_s() - t0;
}

static void
bench_reject(size_t n, int rounds)
{
	enum { NREJ = sizeof(rej_names) / sizeof(rej_names[0]) };
	struct bcase	 es, rej[NREJ];
	double		 t_es = 0, t_rej[NREJ];
	int		 code[NREJ], k;
	size_t		 c, a;

	memset(&es, 0, sizeof(es));
	es.name = "es256";
	build(&es, n);
	for (c = 0; c < NREJ; c++) {
		memset(&rej[c], 0, sizeof(rej[c]));
		rej[c].name = rej_names[c];
		build_reject(&rej[c], n);
		t_rej[c] = 0;
		code[c] = OB_OK;
	}
	for (k = 0; k < rounds; k++) {
		struct ob_state *st;

		if (ob_state_open_memory(&st) != OB_OK)
			gen_die("state");
		for (a = 0; a < n; a += CHUNK) {
			size_t b = a + CHUNK < n ? a + CHUNK : n;

			t_es += run_ours(&es, st, a, b);
			for (c = 0; c < NREJ; c++)
				t_rej[c] += run_reject(&rej[c], st, a, b,
				    &code[c]);
		}
		ob_state_free(&st);
	}
	for (c = 0; c < NREJ; c++)
		printf("reject-%s %s ours=%.0f/s cost=%.2fx a valid es256 "
		    "(es256 ours=%.0f/s)\n", rej_names[c], ob_err_name(code[c]),
		    (double)n * rounds / t_rej[c], t_rej[c] / t_es,
		    (double)n * rounds / t_es);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "es256", "eddsa", "fido2",
	    "es256-newkey", "gateway" };
	struct bcase	 bc;
	const char	*only = NULL;
	size_t		 n = 2000, c;
	long long	 v;
	int		 rounds = 5, ch, ours_only = 0, k;

	while ((ch = getopt(argc, argv, "n:r:c:o")) != -1)
		switch (ch) {
		case 'n':
			n = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			if (ob_parse_ll(optarg, 1, 1000, &v) != OB_OK) {
				fprintf(stderr, "bench-verify: -r: %s\n",
				    ob_err_detail());
				return 2;
			}
			rounds = (int)v;
			break;
		case 'c':
			only = optarg;
			break;
		case 'o':
			ours_only = 1;
			break;
		default:
			fprintf(stderr, "usage: bench-verify [-n N] [-r ROUNDS] "
			    "[-c es256|eddsa|fido2|es256-newkey|gateway|reject] [-o]\n");
			return 2;
		}
	if (n == 0 || rounds < 1)
		return 2;
	gkey_make(GEN_P256, &owner_es256);
	gkey_make(GEN_ED25519, &owner_eddsa);
	gkey_make(GEN_P256, &owner_fido);
	gkey_make(GEN_P256, &agent_es256);
	gkey_make(GEN_ED25519, &agent_eddsa);
	make_certs();
	make_trust();
	for (c = 0; c < sizeof(names) / sizeof(names[0]); c++) {
		double ours, raw, t_ours = 0, t_raw = 0;
		size_t total = n, passes = (size_t)rounds;

		if (only != NULL && strcmp(only, names[c]) != 0)
			continue;
		memset(&bc, 0, sizeof(bc));
		bc.name = names[c];
		/* New keys: every envelope distinct, each verified once. */
		if (strcmp(bc.name, "es256-newkey") == 0) {
			total = n * (size_t)rounds;
			passes = 1;
		}
		build(&bc, total);
		/*
		 * Interleave ours and raw in chunks of CHUNK envelopes, timed
		 * in thread CPU time, so that both see the same machine; the
		 * ratio comes from the totals over all rounds.
		 */
		for (k = 0; k < (int)passes; k++) {
			struct ob_state *st;
			size_t a;

			if (ob_state_open_memory(&st) != OB_OK)
				gen_die("state");
			for (a = 0; a < total; a += CHUNK) {
				size_t b = a + CHUNK < total ? a + CHUNK : total;

				t_ours += run_ours(&bc, st, a, b);
				if (!ours_only)
					t_raw += run_raw(&bc, a, b);
			}
			ob_state_free(&st);
		}
		ours = (double)total * (double)passes / t_ours;
		raw = t_raw > 0 ? (double)total * (double)passes / t_raw : 0;
		if (ours_only) {
			printf("%s ours=%.0f/s\n", bc.name, ours);
			continue;
		}
		printf("%s ours=%.0f/s raw=%.0f/s ratio=%.2f\n", bc.name, ours,
		    raw, ours / raw);
		heap(&bc, n);
		fflush(stdout);
	}
	if (!ours_only && (only == NULL || strcmp(only, "reject") == 0))
		bench_reject(n, rounds);
	return 0;
}
