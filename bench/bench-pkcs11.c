/*
 * bench-pkcs11 URI [SECONDS]: ES256 signatures per second through the
 * pool (ob_p11_pool_sign: SHA-256, session borrow, C_SignInit, C_Sign,
 * length check, copy out) beside a raw loop of C_SignInit + C_Sign over a
 * precomputed digest on the same token and key, in the same run, through
 * the module's own function list (dlopen + C_GetFunctionList).  Rounds
 * alternate raw/ours to spread drift.  Prints
 *   es256 ours=<n>/s raw=<n>/s ratio=<r>
 * and the same with OB_P11_VERIFY (every signature verified) for scale.
 * The URI must name an ES256 key and carry module-path= and pin-source=
 * (the raw loop reuses the pool's login).  Never run by the tests.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/cliutil.h"
#include "core/err.h"
#include "pkcs11/ob_p11.h"
#include "pkcs11/p11_int.h"

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
	CK_RV			 rv;
	void			*dl;
	double			 secs = 3.0;
	long long		 v;
	int			 r;

	if (argc > 2 && ob_parse_ll(argv[2], 1, 3600, &v) == OB_OK)
		secs = (double)v;
	else if (argc > 2)
		argc = 0;	/* not a whole number of seconds: usage */
	if (argc < 2) {
		fprintf(stderr, "usage: bench-pkcs11 URI [SECONDS]\n");
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

	compare("es256", p, f, s, k, secs);
	compare("es256+verify", pv, f, s, k, secs);

	(void)f->C_CloseSession(s);
	ob_p11_pool_close(&pv);
	ob_p11_pool_close(&p);
	ob_pin_source_free(&src);
	p11_uri_free(&u);
	ob_p11_shutdown();
	return 0;
}
