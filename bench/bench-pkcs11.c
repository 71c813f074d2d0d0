/*
 * bench-pkcs11 URI [SECONDS [SIGNER]]: ES256 signatures per second through
 * the pool (ob_p11_pool_sign: SHA-256, session borrow, C_SignInit, C_Sign,
 * length check, copy out) beside a raw loop of C_SignInit + C_Sign over a
 * precomputed digest on the same token and key, in the same run, through
 * the module's own function list (dlopen + C_GetFunctionList).  Rounds
 * alternate raw/ours to spread drift.  Prints
 *   es256 ours=<n>/s raw=<n>/s ratio=<r>
 * and the same with OB_P11_VERIFY (every signature verified) for scale.
 *
 * Then the same key through ownerbind-signer (SIGNER, default the one
 * built with this program), as a daemon signs: a SIGN round trip over the
 * socketpair its launcher made, the helper checking the input's shape (a
 * gateway entry, built once), signing through its pool, verifying the
 * signature, and logging one line (to /dev/null here).  Prints
 *   es256 helper=<n>/s raw=<n>/s ratio=<r>
 *   es256 helper=<n>/s ours+verify=<n>/s ratio=<r>
 *   es256 helper(verify_every=64)=<n>/s raw=<n>/s ratio=<r>
 * the second being like for like: the helper verifies every signature;
 * the third a second helper whose key checks one signature in 64
 * (verify_every, docs/signer-protocol.md).
 *
 * Then both at the same concurrency, THREADS (default 4): the raw loop in
 * THREADS threads, each on its own session of the token, beside THREADS
 * threads signing through one helper connection (several requests in
 * flight on it, as a daemon's workers do), and the same for the sampled
 * helper:
 *   es256 xT raw=<n>/s helper=<n>/s ratio=<r>
 *   es256 xT raw=<n>/s helper(verify_every=64)=<n>/s ratio=<r>
 *   es256 xT (sums of the threads' own rates) raw=<n>/s helper=<n>/s ...
 *   es256 xT cpu/signature raw=<us> helper=<us>+<us> ...
 * the last the CPU per signature of each kind of round: this process's
 * (CLOCK_PROCESS_CPUTIME_ID) and the helper's (/proc/PID/stat), and the
 * cores each kind kept busy on average.
 * The THREADS threads of a round start together (a barrier) and a
 * round's rate is all their signatures over the span from the first
 * start to the last end; the last line gives the sums of the threads'
 * own rates (how earlier rounds were counted) for comparison.  Each
 * side is warmed at THREADS at once first (the helpers open their
 * sessions on demand).
 *
 * The URI must name an ES256 key and carry module-path= and pin-source=
 * (or the PIN source be $OWNERBIND_PIN_SOURCE: a file: source, which the
 * helper reads too).  Never run by the tests.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/cliutil.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/jwk.h"
#include "pkcs11/ob_p11.h"
#include "pkcs11/p11_int.h"
#include "tokens/remote.h"

static const char msg[] = "eyJhbGciOiJFUzI1NiIsInR5cCI6Im93bmVyYmluZCtqd3MifQ."
    "eyJzdWIiOiJ3aW1zZTovL3RkLmV4YW1wbGUvYWdlbnRzL2ExIn0";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
run_ours(struct ob_p11_pool *p, double secs)
{
	unsigned char	*sig;
	size_t		 siglen;
	double		 t0 = now(), t;
	long		 n = 0;
	int		 r;

	do {
		if ((r = ob_p11_pool_sign(p, (const unsigned char *)msg,
		    sizeof(msg) - 1, &sig, &siglen)) != OB_OK) {
			fprintf(stderr, "ours: %s (%s)\n", ob_err_name(r),
			    ob_err_detail());
			exit(1);
		}
		free(sig);
		n++;
	} while ((t = now() - t0) < secs);
	return (double)n / t;
}

static double
run_raw(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
    double secs)
{
	CK_MECHANISM	 mech = { CKM_ECDSA, NULL, 0 };
	unsigned char	 md[32], sig[128];
	CK_ULONG	 siglen;
	CK_RV		 rv;
	double		 t0 = now(), t;
	long		 n = 0;

	EVP_Digest(msg, sizeof(msg) - 1, md, NULL, EVP_sha256(), NULL);
	do {
		siglen = sizeof(sig);
		if ((rv = f->C_SignInit(s, &mech, k)) != CKR_OK ||
		    (rv = f->C_Sign(s, md, sizeof(md), sig, &siglen)) !=
		    CKR_OK) {
			fprintf(stderr, "raw: %s\n", p11_rv_name(rv));
			exit(1);
		}
		n++;
	} while ((t = now() - t0) < secs);
	return (double)n / t;
}

/* ---- through the helper ---- */

/* The helper's verify_every for its ECDSA key in the sampled case. */
#define SAMPLED	64

static char	*gw_in;		/* a gateway entry's signing input */
static size_t	 gw_len;

static double
run_helper(struct ob_signer *sg, double secs)
{
	unsigned char	*sig;
	size_t		 siglen;
	double		 t0 = now(), t;
	long		 n = 0;
	int		 r;

	do {
		if ((r = ob_signer_sign(sg, "bench", OB_SP_GATEWAY_ENTRY,
		    "bench-pkcs11", (const uint8_t *)gw_in, gw_len, &sig,
		    &siglen)) != OB_OK) {
			fprintf(stderr, "helper: %s (%s)\n", ob_err_name(r),
			    ob_err_detail());
			exit(1);
		}
		free(sig);
		n++;
	} while ((t = now() - t0) < secs);
	return (double)n / t;
}

/* A gateway entry the helper signs: the key's own JWK as cnf.jwk. */
static int
gateway_input(EVP_PKEY *pub)
{
	struct ob_envelope	*env = NULL;
	json_t			*jwk = NULL, *cl = NULL, *ph = NULL, *x5c;
	char			*pb64 = NULL;
	long long		 t = (long long)time(NULL);
	int			 r;

	OB_TRY(ob_jwk_from_pkey(pub, &jwk));
	r = OB_ERR_ALLOC;
	if ((cl = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:{s:O}}", "sub",
	    "wimse://bench.example/agents/a1", "aud", "https://id.example",
	    "iat", (json_int_t)t, "exp", (json_int_t)(t + 300), "jti",
	    "AAAAAAAAAAAAAAAAAAAAAA", "owner", "bench.example", "cnf", "jwk",
	    jwk)) == NULL ||
	    (x5c = json_pack("[s]", "MIIBbenchAA=")) == NULL)
		goto out;
	r = ob_protected_new(OB_ALG_ES256, "gw.bench.example", OB_ROLE_GATEWAY,
	    OB_MODEL_OWNER_MEDIATED, t, NULL, x5c, &ph);
	json_decref(x5c);
	if (r != OB_OK)
		goto out;
	OB_TRY(ob_envelope_new(cl, &env));
	OB_TRY(ob_protected_encode(ph, &pb64));
	r = ob_envelope_signing_input(env, pb64, &gw_in, &gw_len);
out:
	ob_envelope_free(&env);
	json_decref(jwk);
	json_decref(cl);
	json_decref(ph);
	free(pb64);
	return r;
}

/*
 * The helper on this key: a configuration in a temporary directory, the
 * launcher, HELLO and PUBKEY.  Its log goes to /dev/null: the launcher
 * takes this process's stderr when it forks.
 */
static struct ob_signer *
helper_open(const char *program, const char *uri, int every, char *dir)
{
	struct ob_signer_cfg	 c;
	struct ob_signer_key	 k;
	struct ob_signer	*sg = NULL;
	const char		*pin = getenv("OWNERBIND_PIN_SOURCE");
	const unsigned char	*p;
	EVP_PKEY		*pub;
	json_t			*cfg;
	char			 path[512];
	int			 r, err, null;

	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/signer.json", dir);
	/* The URI's own pin-source=, or the one this program read. */
	if ((cfg = json_pack("{s:[{s:s,s:s,s:s,s:i,s:i}]}", "keys", "name",
	    "bench", "uri", uri, "role", "gateway", "max_skew", 3600,
	    "verify_every", every)) ==
	    NULL || (pin != NULL && json_object_set_new(json_array_get(
	    json_object_get(cfg, "keys"), 0), "pin_source",
	    json_string(pin)) != 0) || json_dump_file(cfg, path, 0) != 0)
		return NULL;
	json_decref(cfg);
	memset(&c, 0, sizeof(c));
	c.program = program;
	c.config = path;
	c.client = "bench-pkcs11";
	c.timeout_ms = 10000;
	fflush(stderr);
	err = dup(STDERR_FILENO);
	if ((null = open("/dev/null", O_WRONLY)) < 0 || err < 0)
		return NULL;
	(void)dup2(null, STDERR_FILENO);
	r = ob_signer_open(&c, &sg);
	(void)dup2(err, STDERR_FILENO);
	close(null);
	close(err);
	if (r != OB_OK) {
		fprintf(stderr, "helper: %s (%s)\n", ob_err_name(r),
		    ob_err_detail());
		return NULL;
	}
	if ((r = ob_signer_pubkey(sg, "bench", &k)) != OB_OK) {
		fprintf(stderr, "helper: %s (%s)\n", ob_err_name(r),
		    ob_err_detail());
		ob_signer_free(&sg);
		return NULL;
	}
	p = k.spki;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)k.spkilen)) == NULL ||
	    (gw_in == NULL && gateway_input(pub) != OB_OK)) {
		fprintf(stderr, "helper: no input to sign\n");
		EVP_PKEY_free(pub);
		ob_signer_free(&sg);
		return NULL;
	}
	EVP_PKEY_free(pub);
	return sg;
}

static void
compare_helper(struct ob_signer *sg, struct ob_signer *ss,
    struct ob_p11_pool *pv, CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE k, double secs)
{
	double	helper = 0, sampled = 0, raw = 0, ours = 0;
	int	i;

	(void)run_helper(sg, 0.2);		/* warm up */
	(void)run_helper(ss, 0.2);
	for (i = 0; i < 3; i++) {
		raw += run_raw(f, s, k, secs / 3);
		helper += run_helper(sg, secs / 3);
		sampled += run_helper(ss, secs / 3);
		ours += run_ours(pv, secs / 3);
	}
	printf("es256 helper=%.0f/s raw=%.0f/s ratio=%.3f\n", helper / 3,
	    raw / 3, helper / raw);
	printf("es256 helper=%.0f/s ours+verify=%.0f/s ratio=%.3f\n",
	    helper / 3, ours / 3, helper / ours);
	printf("es256 helper(verify_every=%d)=%.0f/s raw=%.0f/s ratio=%.3f\n",
	    SAMPLED, sampled / 3, raw / 3, sampled / raw);
}

/* ---- at the same concurrency ---- */

#define MAX_THREADS	64

struct par {
	CK_FUNCTION_LIST	*f;
	CK_SESSION_HANDLE	 s;	/* raw: this thread's own */
	CK_OBJECT_HANDLE	 k;
	struct ob_signer	*sg;	/* or: through the helper */
	pthread_barrier_t	*go;
	double			 secs, rate, t0, t1;
	pthread_t		 t;
};

static void *
par_main(void *v)
{
	struct par *p = v;

	(void)pthread_barrier_wait(p->go);	/* all start together */
	p->t0 = now();
	p->rate = p->sg != NULL ? run_helper(p->sg, p->secs) :
	    run_raw(p->f, p->s, p->k, p->secs);
	p->t1 = now();
	return NULL;
}

/*
 * n threads at once for secs, started together: all their signatures
 * over the span from the first start to the last end (a thread that
 * ran alone for part of it, or late, is not counted as if the others
 * had run beside it).  *sum: the sum of the threads' own rates.
 */
static double
run_par(struct par *ps, int n, struct ob_signer *sg, double secs,
    double *sum, double *count)
{
	pthread_barrier_t	go;
	double			all = 0, t0 = 0, t1 = 0;
	int			i;

	if (pthread_barrier_init(&go, NULL, (unsigned)n) != 0) {
		fprintf(stderr, "pthread_barrier_init\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		ps[i].sg = sg;
		ps[i].secs = secs;
		ps[i].go = &go;
		if (pthread_create(&ps[i].t, NULL, par_main, &ps[i]) != 0) {
			fprintf(stderr, "pthread_create\n");
			exit(1);
		}
	}
	*sum = 0;
	for (i = 0; i < n; i++) {
		(void)pthread_join(ps[i].t, NULL);
		*sum += ps[i].rate;
		all += ps[i].rate * (ps[i].t1 - ps[i].t0);
		if (i == 0 || ps[i].t0 < t0)
			t0 = ps[i].t0;
		if (i == 0 || ps[i].t1 > t1)
			t1 = ps[i].t1;
	}
	(void)pthread_barrier_destroy(&go);
	if (count != NULL)
		*count += all;
	return all / (t1 - t0);
}

/* CPU seconds of this process, and of process pid (0: none) from /proc. */
static double
cpu_self(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_of(long pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long		 ut = 0, st = 0;
	FILE			*fp;
	size_t			 n;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* after the ")" of the command: state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* One kind of round, timed: the rate, the signatures, the CPU of both. */
struct round_acc {
	double	rate, sum, count, self, helper;
};

static void
par_round(struct round_acc *a, struct par *ps, int n, struct ob_signer *sg,
    double secs)
{
	long		pid = 0;
	unsigned	restarts;
	double		c0, h0, s;

	if (sg != NULL)
		(void)ob_signer_state(sg, &pid, &restarts);
	c0 = cpu_self();
	h0 = cpu_of(pid);
	a->rate += run_par(ps, n, sg, secs, &s, &a->count);
	a->self += cpu_self() - c0;
	a->helper += cpu_of(pid) - h0;
	a->sum += s;
}

static void
compare_par(struct ob_signer *sg, struct ob_signer *ss, struct par *ps,
    int n, double secs)
{
	struct round_acc	raw, helper, sampled;
	double			s;
	int			i;

	memset(&raw, 0, sizeof(raw));
	memset(&helper, 0, sizeof(helper));
	memset(&sampled, 0, sizeof(sampled));
	/* warm up: both helpers' sessions for n at once, the raw ones */
	(void)run_par(ps, n, NULL, 0.2, &s, NULL);
	(void)run_par(ps, n, sg, 0.2, &s, NULL);
	(void)run_par(ps, n, ss, 0.2, &s, NULL);
	for (i = 0; i < 3; i++) {
		par_round(&raw, ps, n, NULL, secs / 3);
		par_round(&helper, ps, n, sg, secs / 3);
		par_round(&sampled, ps, n, ss, secs / 3);
	}
	printf("es256 x%d raw=%.0f/s helper=%.0f/s ratio=%.3f\n", n,
	    raw.rate / 3, helper.rate / 3, helper.rate / raw.rate);
	printf("es256 x%d raw=%.0f/s helper(verify_every=%d)=%.0f/s "
	    "ratio=%.3f\n", n, raw.rate / 3, SAMPLED, sampled.rate / 3,
	    sampled.rate / raw.rate);
	printf("es256 x%d (sums of the threads' own rates) raw=%.0f/s "
	    "helper=%.0f/s helper(verify_every=%d)=%.0f/s\n", n, raw.sum / 3,
	    helper.sum / 3, SAMPLED, sampled.sum / 3);
	/* CPU per signature, µs: this process, and the helper process */
	printf("es256 x%d cpu/signature raw=%.0fus helper=%.0f+%.0fus "
	    "helper(verify_every=%d)=%.0f+%.0fus (this process + the "
	    "helper's; cores busy %.2f %.2f %.2f)\n", n,
	    1e6 * raw.self / raw.count,
	    1e6 * helper.self / helper.count,
	    1e6 * helper.helper / helper.count, SAMPLED,
	    1e6 * sampled.self / sampled.count,
	    1e6 * sampled.helper / sampled.count,
	    raw.self / secs, (helper.self + helper.helper) / secs,
	    (sampled.self + sampled.helper) / secs);
}

static void
compare(const char *name, struct ob_p11_pool *p, CK_FUNCTION_LIST *f,
    CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, double secs)
{
	double ours = 0, raw = 0;
	int i;

	(void)run_raw(f, s, k, 0.2);		/* warm up */
	(void)run_ours(p, 0.2);
	for (i = 0; i < 3; i++) {
		raw += run_raw(f, s, k, secs / 3);
		ours += run_ours(p, secs / 3);
	}
	printf("%s ours=%.0f/s raw=%.0f/s ratio=%.3f\n", name, ours / 3,
	    raw / 3, ours / raw);
}

int
main(int argc, char **argv)
{
	struct p11_uri		*u = NULL;
	struct ob_p11_pool	*p = NULL, *pv = NULL;
	struct ob_pin_source	*src = NULL;
	CK_FUNCTION_LIST	*f;
	CK_C_GetFunctionList	 gfl;
	CK_OBJECT_CLASS		 cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		 tmpl[2];
	CK_OBJECT_HANDLE	 k;
	CK_SESSION_HANDLE	 s;
	CK_ULONG		 found = 0;
	CK_SLOT_ID		 slot = 0;
	struct par		 ps[MAX_THREADS];
	int			 nth = 4, t, only_par;
	CK_RV			 rv;
	struct ob_signer	*sg = NULL, *ss = NULL;
	void			*dl;
	double			 secs = 3.0;
	long long		 v;
	const char		*helper = argc > 3 && *argv[3] != '\0' ?
				    argv[3] : OB_SIGNER_PATH;
	char			 dir[] = "/tmp/bench-pkcs11.XXXXXX", cmd[96];
	char			 dir2[] = "/tmp/bench-pkcs11.XXXXXX";
	int			 r;

	if (argc > 2 && ob_parse_ll(argv[2], 1, 3600, &v) == OB_OK)
		secs = (double)v;
	else if (argc > 2)
		argc = 0;	/* not a whole number of seconds: usage */
	if (argc > 4 && ob_parse_ll(argv[4], 1, MAX_THREADS, &v) == OB_OK)
		nth = (int)v;
	else if (argc > 4)
		argc = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: bench-pkcs11 URI [SECONDS [SIGNER "
		    "[THREADS]]]\n");
		return 2;
	}
	if ((r = p11_uri_parse(argv[1], &u)) != OB_OK ||
	    u->module_path == NULL || u->label == NULL) {
		fprintf(stderr, "the URI needs object= and module-path= (%s)\n",
		    ob_err_detail());
		return 2;
	}
	if ((r = ob_pin_source_parse(NULL, &src)) != OB_OK ||
	    (r = ob_p11_pool_open(argv[1], src, OB_P11_QUIET, 1, &p)) !=
	    OB_OK || (r = ob_p11_pool_open(argv[1], src, OB_P11_QUIET |
	    OB_P11_VERIFY, 1, &pv)) != OB_OK) {
		fprintf(stderr, "open: %s (%s)\n", ob_err_name(r),
		    ob_err_detail());
		return 1;
	}
	if (ob_p11_pool_alg(p) != OB_ALG_ES256) {
		fprintf(stderr, "the key is not ES256\n");
		return 2;
	}
	/* The raw side: the module's own function list, no p11-kit. */
	if ((dl = dlopen(u->module_path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (*(void **)&gfl = dlsym(dl, "C_GetFunctionList")) == NULL ||
	    gfl(&f) != CKR_OK) {
		fprintf(stderr, "raw: cannot load %s\n", u->module_path);
		return 1;
	}
	rv = f->C_Initialize(NULL);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		fprintf(stderr, "raw: C_Initialize: %s\n", p11_rv_name(rv));
		return 1;
	}
	/* Same token as the pool; the pool's login covers this session. */
	{
		CK_SLOT_ID	slots[64];
		CK_ULONG	ns = 64, i;
		CK_TOKEN_INFO	ti;
		char		lab[33];

		if (f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK)
			return 1;
		for (i = 0; i < ns; i++) {
			if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
				continue;
			p11_trim(ti.label, sizeof(ti.label), lab);
			if (p11_kit_uri_match_token_info(u->pk, &ti))
				break;
		}
		if (i == ns || f->C_OpenSession(slots[i], CKF_SERIAL_SESSION,
		    NULL, NULL, &s) != CKR_OK) {
			fprintf(stderr, "raw: token not found\n");
			return 1;
		}
		slot = slots[i];
	}
	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &cls;
	tmpl[0].ulValueLen = sizeof(cls);
	tmpl[1].type = CKA_LABEL;
	tmpl[1].pValue = u->label;
	tmpl[1].ulValueLen = strlen(u->label);
	if (f->C_FindObjectsInit(s, tmpl, 2) != CKR_OK ||
	    f->C_FindObjects(s, &k, 1, &found) != CKR_OK || found != 1) {
		fprintf(stderr, "raw: key not found (is the pool logged in?)\n");
		return 1;
	}
	(void)f->C_FindObjectsFinal(s);

	/* BENCH_PKCS11_ONLY=par: only the comparison at the same
	 * concurrency (for profiling it). */
	only_par = getenv("BENCH_PKCS11_ONLY") != NULL &&
	    strcmp(getenv("BENCH_PKCS11_ONLY"), "par") == 0;
	if (!only_par) {
		compare("es256", p, f, s, k, secs);
		compare("es256+verify", pv, f, s, k, secs);
	}
	if ((sg = helper_open(helper, argv[1], 1, dir)) == NULL ||
	    (ss = helper_open(helper, argv[1], SAMPLED, dir2)) == NULL)
		return 1;
	if (!only_par)
		compare_helper(sg, ss, pv, f, s, k, secs);
	/* The raw threads: a session each (the key handle is the token's). */
	memset(ps, 0, sizeof(ps));
	for (t = 0; t < nth; t++) {
		ps[t].f = f;
		ps[t].k = k;
		if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
		    &ps[t].s) != CKR_OK) {
			fprintf(stderr, "raw: no session %d\n", t);
			return 1;
		}
	}
	compare_par(sg, ss, ps, nth, secs);
	for (t = 0; t < nth; t++)
		(void)f->C_CloseSession(ps[t].s);
	ob_signer_free(&sg);
	ob_signer_free(&ss);
	free(gw_in);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, dir2);
	if (system(cmd) != 0)	/* lint: ok: rm -rf of our mkdtemp */
		fprintf(stderr, "%s left behind\n", dir);

	(void)f->C_CloseSession(s);
	ob_p11_pool_close(&pv);
	ob_p11_pool_close(&p);
	ob_pin_source_free(&src);
	p11_uri_free(&u);
	ob_p11_shutdown();
	return 0;
}
