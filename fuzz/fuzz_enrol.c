/*
 * libFuzzer harness: the registration check of passkey enrolment
 * (server/enrol_reg.c, POST /v1/enrol/INVITE's body): base64url members,
 * clientDataJSON as strict JSON, the attestation object and the COSE key
 * through libcbor.  Beyond "no crash": every refusal is one of the
 * enrolment codes with nothing left filled in, and an accepted
 * registration has everything the trust-store entry needs, flags that
 * meet the expectation, and a kid that is its JWK's thumbprint.  Each
 * input is also tried as the raw attestation object.
 *
 *   fuzz-enrol -max_total_time=600 -dict=enrol.dict NEW_DIR corpus/enrol
 *   (corpus: python3 fuzz/make-enrol-corpus.py fuzz/corpus/enrol)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/jwk.h"
#include "server/enrol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const char *const origins[] = { "https://localhost:8443" };

static void one(const uint8_t *data, size_t size);

/*
 * Each input twice: as the whole body, and as the raw attestation
 * object next to a good clientDataJSON, so that mutations reach the
 * CBOR without having to stay base64url inside JSON.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char cdj[] = "{\"type\":\"webauthn.create\","
	    "\"challenge\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
	    "\"origin\":\"https://localhost:8443\"}";
	char	*a = NULL, *b = NULL, *body;
	size_t	 n;

	one(data, size);
	if (ob_b64url_encode((const unsigned char *)cdj, sizeof(cdj) - 1,
	    &a) != OB_OK || ob_b64url_encode(data, size, &b) != OB_OK)
		abort();
	n = strlen(a) + strlen(b) + 64;
	if ((body = malloc(n)) == NULL)
		abort();
	(void)snprintf(body, n, "{\"clientDataJSON\":\"%s\","
	    "\"attestationObject\":\"%s\"}", a, b);
	one((const uint8_t *)body, strlen(body));
	free(body);
	free(a);
	free(b);
	return 0;
}

static void
one(const uint8_t *data, size_t size)
{
	struct ob_enrol_expect	 e;
	struct ob_enrol_cred	 c, zero;
	char			 kid[44];
	size_t			 i;
	int			 r;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < sizeof(e.challenge); i++)
		e.challenge[i] = (unsigned char)i;
	e.rp_id = "localhost";
	e.origins = origins;
	e.norigins = 1;
	e.uv_required = 1;
	memset(&c, 0, sizeof(c));
	memset(&zero, 0, sizeof(zero));
	r = ob_enrol_verify(&e, data, size, &c);
	if (r != OB_OK) {
		check(r == OB_ERR_ENROL_REQUEST || r == OB_ERR_ENROL_TYPE ||
		    r == OB_ERR_ENROL_CHALLENGE || r == OB_ERR_ENROL_ORIGIN ||
		    r == OB_ERR_ENROL_RPID || r == OB_ERR_ENROL_FLAGS ||
		    r == OB_ERR_ENROL_KEY || r == OB_ERR_ENROL_ATTESTATION ||
		    r == OB_ERR_ALLOC);
		check(memcmp(&c, &zero, sizeof(c)) == 0);
		return;
	}
	check(c.jwk != NULL && c.credential_id != NULL &&
	    strlen(c.credential_id) > 0 && strlen(c.kid) == 43 &&
	    strlen(c.aaguid) == 32 && c.uv == 1 &&
	    strcmp(c.origin, origins[0]) == 0 &&
	    (!c.backed_up || c.backup_eligible));
	check(ob_jwk_thumbprint(c.jwk, kid) == OB_OK &&
	    strcmp(kid, c.kid) == 0);
	ob_enrol_cred_clear(&c);
}
