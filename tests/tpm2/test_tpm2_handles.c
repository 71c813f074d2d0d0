/*
 * 1,000 signatures in one process leave no transient object in the TPM:
 * the handle list is read from the TPM itself (TPM2_GetCapability) after
 * the backend is closed, and while it is open (one loaded key, no SRK).
 * Usage: test_tpm2_handles DIR   (TPM2TOOLS_TCTI names the swtpm)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "core/alg.h"
#include "tokens/token.h"

#define NSIG	1000

static int pass, fails;

static void
check(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	if (cond)
		pass++;
	else
		fails++;
}

/* Handles of a type in the TPM: 0x80 transient objects, 0x02 sessions. */
static int
handle_count(uint32_t first)
{
	TSS2_TCTI_CONTEXT	*tcti = NULL;
	ESYS_CONTEXT		*esys = NULL;
	TPMS_CAPABILITY_DATA	*cap = NULL;
	TPMI_YES_NO		 more;
	int			 n = -1;

	if (Tss2_TctiLdr_Initialize(getenv("TPM2TOOLS_TCTI"), &tcti) != 0 ||
	    Esys_Initialize(&esys, tcti, NULL) != 0)
		goto out;
	/* Literal handles: TPM2_TRANSIENT_FIRST's macro overflows an int. */
	if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	    TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES, &more, &cap) == 0) {
		uint32_t i;

		n = 0;
		for (i = 0; i < cap->data.handles.count; i++)
			if (cap->data.handles.handle[i] >> 24 == first >> 24)
				n++;
	}
out:
	Esys_Free(cap);
	if (esys != NULL)
		Esys_Finalize(&esys);
	if (tcti != NULL)
		Tss2_TctiLdr_Finalize(&tcti);
	return n;
}

static int
transient_count(void)
{
	return handle_count(0x80000000u);
}

static int
session_count(void)
{
	return handle_count(0x02000000u);
}

/* Sign n times through one open backend; each signature verified. */
static int
sign_many(const char *uri, const struct ob_pin_source *pin, int n, int *mid,
    int *midsess)
{
	struct ob_token_opts	 opts;
	struct ob_sign_req	 req;
	struct ob_sign_res	 res;
	EVP_PKEY		*pub = NULL;
	enum ob_alg		 alg;
	void			*be = NULL;
	char			 tbs[64];
	int			 i, good = 0;

	memset(&opts, 0, sizeof(opts));
	opts.pin = pin;
	if (ob_tpm2_ops.open(uri, &opts, &be) != OB_OK ||
	    ob_tpm2_ops.pubkey(be, &pub) != OB_OK ||
	    ob_tpm2_ops.alg(be, &alg) != OB_OK)
		goto out;
	for (i = 0; i < n; i++) {
		memset(&res, 0, sizeof(res));
		snprintf(tbs, sizeof(tbs), "eyJhbGciOiJFUzI1NiJ9.%d", i);
		req.alg = alg;
		req.tbs = tbs;
		req.tbslen = strlen(tbs);
		req.what = NULL;
		if (ob_tpm2_ops.sign(be, &req, &res) == OB_OK &&
		    ob_sig_verify(alg, pub, (const unsigned char *)tbs,
		    req.tbslen, res.sig, res.siglen) == OB_OK)
			good++;
		free(res.sig);
		if (i == n / 2 && mid != NULL) {
			*mid = transient_count();
			*midsess = session_count();
		}
	}
out:
	EVP_PKEY_free(pub);
	if (be != NULL)
		ob_tpm2_ops.close(be);
	return good;
}

int
main(int argc, char **argv)
{
	struct ob_token_opts	 opts;
	struct ob_pin_source	*pin = NULL;
	char			 uri[4096], msg[160];
	int			 mid = -1, ms = -1, good, i, cycles = 0;

	if (argc != 2 || getenv("TPM2TOOLS_TCTI") == NULL) {
		fprintf(stderr, "usage: TPM2TOOLS_TCTI=... %s DIR\n", argv[0]);
		return 2;
	}
	memset(&opts, 0, sizeof(opts));
	snprintf(uri, sizeof(uri), "tpm2:file=%s/many.pem", argv[1]);
	check(ob_token_keygen(uri, &opts) == OB_OK, "keygen");
	check(transient_count() == 0, "no transient handle after keygen");
	good = sign_many(uri, NULL, NSIG, &mid, &ms);
	snprintf(msg, sizeof(msg), "%d of %d signatures made and verified",
	    good, NSIG);
	check(good == NSIG, msg);
	snprintf(msg, sizeof(msg), "while open: %d transient (the key only), "
	    "%d sessions", mid, ms);
	check(mid == 1 && ms == 0, msg);
	snprintf(msg, sizeof(msg), "after %d signatures: %d transient handles, "
	    "%d sessions", NSIG, transient_count(), session_count());
	check(transient_count() == 0 && session_count() == 0, msg);
	/* Open, sign, close, 100 times: the SRK and key flushed each time. */
	for (i = 0; i < 100; i++)
		cycles += sign_many(uri, NULL, 1, NULL, NULL);
	check(cycles == 100, "100 open/sign/close cycles");
	check(transient_count() == 0, "no transient handle after the cycles");

	/* A key with an auth value: one salted HMAC session while open. */
	setenv("OB_TEST_PIN", "4321", 1);
	check(ob_pin_source_parse("env:OB_TEST_PIN", &pin) == OB_OK, "pin");
	opts.pin = pin;
	snprintf(uri, sizeof(uri), "tpm2:file=%s/auth.pem;auth=yes", argv[1]);
	check(ob_token_keygen(uri, &opts) == OB_OK, "keygen with auth value");
	good = sign_many(uri, pin, NSIG, &mid, &ms);
	snprintf(msg, sizeof(msg), "%d of %d signatures with an auth value",
	    good, NSIG);
	check(good == NSIG, msg);
	snprintf(msg, sizeof(msg), "while open: %d transient, %d session", mid,
	    ms);
	check(mid == 1 && ms == 1, msg);
	snprintf(msg, sizeof(msg), "after: %d transient handles, %d sessions",
	    transient_count(), session_count());
	check(transient_count() == 0 && session_count() == 0, msg);
	ob_pin_source_free(&pin);
	printf("%d passed, %d failed\n", pass, fails);
	return fails == 0 ? 0 : 1;
}
