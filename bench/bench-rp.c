/*
 * bench-rp: the relying party's WIT + WPT verification against the bare
 * cost of its two signature checks, in one run.
 *
 *   bench-rp [-n WPTS] [-r ROUNDS] [-c CASE] [-o]
 *
 * One WIT as the issuer makes it (docs/credentials.md: owner claim,
 * identity layers, cnf.jwk) and N WPTs for it with distinct jti, as an
 * agent sends one WIT with a fresh WPT per request, are built before any
 * timing.  "ours" is ob_rp_verify_wit with issuer keys from a JWKS and a
 * memory replay state (fresh per round), the result built and freed;
 * "raw" is an EVP_DigestVerify loop over the same two signatures per
 * request (the WIT's with the issuer key, the WPT's with the agent key),
 * the keys parsed and the ECDSA signatures converted to DER in advance.
 * The two loops alternate in chunks of 50 and are timed in thread CPU
 * time, so that other load on the machine hits both alike; the rates and
 * the ratio ours/raw come from the totals over all rounds.  Cases: es256
 * (ES256 issuer and agent), eddsa (EdDSA both).  -o runs ours only (for
 * perf).  Never run by the tests.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/jwk.h"
#include "ownerbind/ob_rp.h"

#define NOW	1800000000LL
#define AUD	"https://svc.example/v1/report"
#define CHUNK	50
#define OWNERC	"urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"

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
	char		*wit;
	char		**wpt;
	struct rawsig	 rawwit;
	struct rawsig	*rawwpt;
	struct ob_rp	*rp;
	struct ob_rp_req *req;
};

static void
die(const char *what)
{
	fprintf(stderr, "bench-rp: %s (%s)\n", what, ob_err_detail());
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *
keygen(int eddsa)
{
	EVP_PKEY *k = eddsa ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (k == NULL)
		die("keygen");
	return k;
}

static char *
b64(const void *p, size_t n)
{
	char *s = NULL;

	if (ob_b64url_encode(p, n, &s) != OB_OK)
		die("b64");
	return s;
}

static char *
b64json(const json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *b;

	if (s == NULL)
		die("json");
	b = b64(s, strlen(s));
	free(s);
	return b;
}

/* A compact JWS, and what the raw loop needs to check its signature. */
static char *
jws(json_t *hdr, json_t *cl, EVP_PKEY *k, enum ob_alg alg,
    struct rawsig *rs)
{
	char		*h = b64json(hdr), *c = b64json(cl), *s64, *out;
	unsigned char	*sig = NULL, *der = NULL;
	size_t		 n, siglen, derlen;

	n = strlen(h) + 1 + strlen(c);
	if ((out = malloc(n + 200)) == NULL)
		die("alloc");
	(void)snprintf(out, n + 1, "%s.%s", h, c);
	if (ob_sig_sign(alg, k, (unsigned char *)out, n, &sig, &siglen) !=
	    OB_OK)
		die("sign");
	s64 = b64(sig, siglen);
	(void)snprintf(out + n, 200, ".%s", s64);
	rs->pk = k;
	rs->md = alg == OB_ALG_EDDSA ? NULL : EVP_sha256();
	rs->msg = malloc(n);
	memcpy(rs->msg, out, n);
	rs->msglen = n;
	if (alg != OB_ALG_EDDSA) {
		if (ob_ecdsa_rs_to_der(sig, siglen, &der, &derlen) != OB_OK)
			die("der");
		rs->sig = der;
		rs->siglen = derlen;
		free(sig);
	} else {
		rs->sig = sig;
		rs->siglen = siglen;
	}
	free(h);
	free(c);
	free(s64);
	json_decref(hdr);
	json_decref(cl);
	return out;
}

static json_t *
pubjwk(EVP_PKEY *k)
{
	json_t *j = NULL;

	if (ob_jwk_from_pkey(k, &j) != OB_OK)
		die("jwk");
	return j;
}

static void
build(struct bcase *bc, size_t n)
{
	int		 ed = strcmp(bc->name, "eddsa") == 0;
	enum ob_alg	 alg = ed ? OB_ALG_EDDSA : OB_ALG_ES256;
	const char	*an = ob_alg_name(alg);
	EVP_PKEY	*iss = keygen(ed), *agent = keygen(ed);
	EVP_PKEY	*owner = keygen(1);
	json_t		*ajwk = pubjwk(agent), *ojwk = pubjwk(owner), *keys;
	unsigned char	 md[32], rnd[16];
	char		 ikid[44], okid[44], *s, *wth, *jti;
	size_t		 i;

	if (ob_pkey_thumbprint(iss, ikid) != OB_OK ||
	    ob_pkey_thumbprint(owner, okid) != OB_OK)
		die("kid");
	json_object_set_new(ajwk, "alg", json_string(an));
	/* The WIT, member for member as server/issuer.c writes it. */
	bc->wit = jws(json_pack("{s:s,s:s,s:s}", "alg", an, "kid", ikid, "typ",
	    "wit+jwt"), json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,"
	    "s:{s:o},s:{s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:I,s:s}}",
	    "iss", "https://issuer.example", "sub",
	    "wimse://td.example/agents/a1", "iat", (json_int_t)NOW - 10,
	    "exp", (json_int_t)NOW + 3590, "jti", "1itbnQhnWpGsvnBeVvSmlg",
	    "sub_profile", "ai_agent", "dns_name", "a1.td.example",
	    "logical_id", "billing-agent", "cnf", "jwk", ajwk, OWNERC, "id",
	    "alice@example.com", "type", "service", "jwk", ojwk, "jkt", okid,
	    "kind", "software", "assurance", "software", "model",
	    "agent-mediated", "group", "Agents", "approved_at",
	    (json_int_t)NOW - 12, "envelope_sha256",
	    "-g_LKAC5mOyw-DPzo4d9z3B8KTsj_kmugFm4gjLBQ8I"), iss, alg,
	    &bc->rawwit);
	if (ob_sha256(bc->wit, strlen(bc->wit), md) != OB_OK)
		die("sha256");
	wth = b64(md, 32);
	bc->wpt = calloc(n, sizeof(*bc->wpt));
	bc->rawwpt = calloc(n, sizeof(*bc->rawwpt));
	for (i = 0; i < n; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			die("random");
		jti = b64(rnd, sizeof(rnd));
		bc->wpt[i] = jws(json_pack("{s:s,s:s}", "alg", an, "typ",
		    "wpt+jwt"), json_pack("{s:s,s:I,s:I,s:s,s:s}", "aud", AUD,
		    "iat", (json_int_t)NOW, "exp", (json_int_t)NOW + 60, "jti",
		    jti, "wth", wth), agent, alg, &bc->rawwpt[i]);
		free(jti);
	}
	free(wth);
	/* The JWKS a relying party configures (GET /v1/keys). */
	keys = json_pack("{s:[o]}", "keys", pubjwk(iss));
	json_object_set_new(json_array_get(json_object_get(keys, "keys"), 0),
	    "kid", json_string(ikid));
	s = json_dumps(keys, JSON_COMPACT);
	json_decref(keys);
	if (ob_rp_new(&bc->rp) != OB_OK ||
	    ob_rp_add_issuer_jwks(bc->rp, s, strlen(s)) != OB_OK ||
	    ob_rp_set_now(bc->rp, NOW) != OB_OK ||
	    ob_rp_req_new(&bc->req) != OB_OK ||
	    ob_rp_req_set_aud(bc->req, AUD) != OB_OK)
		die("rp");
	free(s);
	EVP_PKEY_free(owner);
	/* iss and agent stay referenced by the raw checks. */
}

static double
run_ours(const struct bcase *bc, struct ob_state *st, size_t a, size_t b)
{
	struct ob_rp_result	*res;
	double			 t0 = now_s();
	size_t			 i;
	int			 r;

	for (i = a; i < b; i++) {
		res = NULL;
		if ((r = ob_rp_verify_wit(bc->rp, st, bc->req, bc->wit,
		    bc->wpt[i], &res)) != OB_OK) {
			fprintf(stderr, "%s[%zu]: %s: %s\n", bc->name, i,
			    ob_err_name(r), ob_err_detail());
			exit(1);
		}
		ob_rp_result_free(&res);
	}
	return now_s() - t0;
}

static void
raw_one(const struct rawsig *rs)
{
	EVP_MD_CTX *ctx;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, rs->md, NULL, rs->pk) != 1 ||
	    EVP_DigestVerify(ctx, rs->sig, rs->siglen, rs->msg,
	    rs->msglen) != 1)
		die("raw verify");
	EVP_MD_CTX_free(ctx);
}

static double
run_raw(const struct bcase *bc, size_t a, size_t b)
{
	double	t0 = now_s();
	size_t	i;

	for (i = a; i < b; i++) {
		raw_one(&bc->rawwit);
		raw_one(&bc->rawwpt[i]);
	}
	return now_s() - t0;
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "es256", "eddsa" };
	struct bcase	 bc;
	struct ob_state	*st;
	const char	*only = NULL;
	double		 tours, traw;
	size_t		 n = 2000, rounds = 5, i, j, k, a, b;
	int		 ch, ours_only = 0;

	while ((ch = getopt(argc, argv, "n:r:c:o")) != -1) {
		switch (ch) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'r': rounds = strtoul(optarg, NULL, 10); break;
		case 'c': only = optarg; break;
		case 'o': ours_only = 1; break;
		default:
			fprintf(stderr, "usage: bench-rp [-n WPTS] [-r ROUNDS] "
			    "[-c es256|eddsa] [-o]\n");
			return 2;
		}
	}
	if (n < CHUNK || rounds == 0)
		return 2;
	for (k = 0; k < 2; k++) {
		if (only != NULL && strcmp(only, names[k]) != 0)
			continue;
		memset(&bc, 0, sizeof(bc));
		bc.name = names[k];
		build(&bc, n);
		tours = traw = 0;
		for (j = 0; j < rounds; j++) {
			if (ob_state_open_memory(&st) != OB_OK)
				die("state");
			for (a = 0; a < n; a = b) {
				b = a + CHUNK < n ? a + CHUNK : n;
				tours += run_ours(&bc, st, a, b);
				if (!ours_only)
					traw += run_raw(&bc, a, b);
			}
			ob_state_free(&st);
		}
		if (ours_only)
			printf("%s ours=%.0f/s\n", bc.name,
			    (double)(n * rounds) / tours);
		else
			printf("%s ours=%.0f/s raw=%.0f/s ratio=%.2f "
			    "(%zu WIT+WPT x %zu rounds)\n", bc.name,
			    (double)(n * rounds) / tours,
			    (double)(n * rounds) / traw, traw / tours, n,
			    rounds);
		for (i = 0; i < n; i++) {
			free(bc.wpt[i]);
			free(bc.rawwpt[i].msg);
			free(bc.rawwpt[i].sig);
		}
		EVP_PKEY_free(bc.rawwit.pk);
		if (n > 0)
			EVP_PKEY_free(bc.rawwpt[0].pk);
		free(bc.rawwit.msg);
		free(bc.rawwit.sig);
		free(bc.wpt);
		free(bc.rawwpt);
		free(bc.wit);
		ob_rp_req_free(&bc.req);
		ob_rp_free(&bc.rp);
	}
	return 0;
}
