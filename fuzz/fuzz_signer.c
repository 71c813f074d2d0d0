/*
 * libFuzzer harness: ownerbind-signer's request path (signer/signer.c,
 * signer/proto.c, signer/shape.c), fed the bytes a daemon would write on
 * the socket.  The input is cut into frames as ob_signerd_serve cuts its
 * stream (a u32 length, then the body; a length of 0 or over the maximum
 * ends it) and every frame goes to ob_signerd_handle on one connection,
 * until a reply ends it.  Two keys, file: keys from tests/vectors/keys:
 * "issuer" (org-ca.pem, its CA org-ca.crt) and "gw" (gw1.pem, gateway id
 * gw1.example), so that well-formed WITs, TBSCertificates and gateway
 * entries are signed (and verified) too; the clock is fixed at
 * OB_FUZZ_NOW for the corpus's times (fuzz/make-signer-corpus.py).
 *
 * Beyond "no crash": every reply must parse with the daemon's own reply
 * parser as the answer to its request, and a SIGN reply with status 0 must
 * carry a signature that verifies with the key over the input.  Each
 * frame is also given to the reply parser (the daemon's side reads what
 * the helper sends, which is untrusted there too).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "core/alg.h"
#include "core/buf.h"
#include "signer/config.h"
#include "signer/proto.h"
#include "signer/signer.h"

#define OB_FUZZ_NOW	1800000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ob_signer_config	*cfg;
static struct ob_signerd	*sd;
static EVP_PKEY			*isskey, *gwkey;

static long long
fixed_now(void)
{
	return OB_FUZZ_NOW;
}

static EVP_PKEY *
load(const char *name)
{
	char		 path[1024];
	FILE		*f;
	EVP_PKEY	*k;

	snprintf(path, sizeof(path), "%s/%s", OB_FUZZ_KEYS, name);
	if ((f = fopen(path, "r")) == NULL)
		abort();
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		abort();
	return k;
}

static void
init(void)
{
	static const char json[] = "{\"keys\": ["
	    "{\"name\": \"issuer\", \"uri\": \"file:org-ca.pem\", \"role\": "
	    "\"issuer\", \"ca\": \"org-ca.crt\", \"max_lifetime\": 3600},"
	    "{\"name\": \"gw\", \"uri\": \"file:gw1.pem\", \"role\": "
	    "\"gateway\", \"gateway_id\": \"gw1.example\"}]}";
	FILE *log;

	/* OB_FUZZ_LOG=1: the helper's log lines, to see what a seed does. */
	log = getenv("OB_FUZZ_LOG") != NULL ? stderr : fopen("/dev/null", "w");
	if (log == NULL || ob_signer_config_parse(json, sizeof(json) - 1,
	    OB_FUZZ_KEYS, &cfg) != OB_OK || ob_signerd_new(cfg, log, &sd) !=
	    OB_OK)
		abort();
	ob_signerd_set_clock(sd, fixed_now);
	isskey = load("org-ca.pem");
	gwkey = load("gw1.pem");
}

/* The reply in w answers the request in body; check what it promises. */
static void
check_reply(const uint8_t *body, size_t len, const struct ob_wr *w)
{
	struct ob_sp_reply	 rep;
	struct ob_sp_req	 req;
	struct ob_rd		 rd;
	const uint8_t		*rb;
	uint32_t		 n, id = 0;
	size_t			 rlen;

	ob_rd_init(&rd, ob_wr_ptr(w), ob_wr_len(w));
	if (ob_rd_u32(&rd, &n) != OB_OK || n != ob_rd_left(&rd) ||
	    ob_rd_rest(&rd, &rb, &rlen) != OB_OK)
		abort();
	if (ob_sp_req_parse(body, len, OB_SP_VERSION, &req, &id) != OB_OK) {
		/* Refused as a message: an ERROR, for the id if it was read. */
		if (ob_sp_reply_parse(rb, rlen, OB_SP_VERSION, OB_SP_HELLO, id,
		    &rep) != OB_OK || rep.type != OB_SP_ERROR ||
		    rep.status == OB_OK)
			abort();
		return;
	}
	if (ob_sp_reply_parse(rb, rlen, OB_SP_VERSION, req.type, req.id,
	    &rep) != OB_OK)
		abort();
	if (req.type == OB_SP_SIGN && rep.type == (OB_SP_SIGN | OB_SP_REPLY) &&
	    rep.status == OB_OK && ob_sig_verify(OB_ALG_ES256,
	    strcmp(req.name, "gw") == 0 ? gwkey : isskey, req.input,
	    req.inputlen, rep.sig, rep.siglen) != OB_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_signerd_conn	 c;
	struct ob_sp_reply	 rep;
	struct ob_wr		 w;
	struct ob_rd		 rd;
	const uint8_t		*body;
	uint32_t		 n;
	int			 end = 0;

	if (sd == NULL)
		init();
	memset(&c, 0, sizeof(c));
	snprintf(c.peer, sizeof(c.peer), "fuzz");
	ob_rd_init(&rd, data, size);
	while (!end && ob_rd_u32(&rd, &n) == OB_OK && n > 0 &&
	    n <= OB_SP_MAX_MSG && ob_rd_bytes(&rd, n, &body) == OB_OK) {
		/* The daemon's reply parser, on bytes it did not expect:
		 * only what it says about them is checked. */
		if (ob_sp_reply_parse(body, n, OB_SP_VERSION, OB_SP_SIGN, 1,
		    &rep) == OB_OK && rep.status > 0)
			abort();
		ob_wr_init_heap(&w, OB_SP_MAX_MSG + 4);
		if (ob_signerd_handle(sd, &c, body, n, &w, &end) != OB_OK)
			abort();
		check_reply(body, n, &w);
		ob_wr_free(&w);
	}
	return 0;
}
