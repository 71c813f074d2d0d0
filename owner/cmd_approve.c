/*
 * ownerbind approve: an owner's approval of a request a gateway holds
 * for k-of-n human approval (docs/gateway.md, "Approvals").  The input is
 * what the gateway's GET /v1/approvals lists (the whole list with --id,
 * or one entry); the request it holds is shown and its hash checked
 * before anything is signed, and the approval (core/approval.h) goes to
 * OUT, to be posted to the gateway's POST /v1/approvals.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/cliutil.h"
#include "core/approval.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"
#include "tokens/token.h"

#define MAX_LIST	(4 << 20)

static void
approve_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " approve --key URI [--pin-source SRC] [--id ID] [-o OUT]\n"
"           PENDING\n"
"\n"
"Approves one request a gateway holds: PENDING is the gateway's\n"
"GET /v1/approvals answer (choose with --id) or one of its entries.  The\n"
"request is shown and its hash checked; the approval written to OUT is\n"
"posted to the gateway's POST /v1/approvals.\n"
"  --key URI          the owner key enrolled in the gateway's trust store\n"
"  --pin-source SRC   where the key's PIN comes from\n"
"  --id ID            the pending request to approve\n"
"  -o OUT             output file (default stdout)\n");
}

/* The pending entry to approve: by id from a list, or the one given. */
static int
pick(json_t *doc, const char *id, json_t **out)
{
	json_t		*a, *e;
	const char	*eid;
	size_t		 i;

	if ((a = json_object_get(doc, "pending")) == NULL) {
		*out = doc;
		return OB_OK;
	}
	json_array_foreach(a, i, e) {
		eid = json_string_value(json_object_get(e, "id"));
		if (eid != NULL && (id == NULL ? json_array_size(a) == 1 :
		    strcmp(eid, id) == 0)) {
			*out = e;
			return OB_OK;
		}
	}
	if (id != NULL)
		return ob_errf(OB_ERR_APPROVAL_UNKNOWN, "no pending request %s",
		    id);
	return ob_errf(OB_ERR_APPROVAL_UNKNOWN, "%zu pending requests: choose "
	    "one with --id", json_array_size(a));
}

static int
approve_run(const char *in, const char *out, const char *uri,
    const char *pin_spec, const char *id)
{
	struct ob_token_opts	 opts;
	struct ob_pin_source	*pin = NULL;
	struct ob_token		*tok = NULL;
	struct ob_envelope	*env = NULL;
	struct ob_approval	 what;
	json_t			*doc = NULL, *e = NULL;
	const char		*pid, *gw, *sha, *req;
	char			*buf = NULL, *tbs = NULL, *ser = NULL, h[44];
	unsigned char		*sig = NULL;
	size_t			 len, tbslen, siglen;
	int			 r;

	OB_TRY(ob_read_all(in, MAX_LIST, &buf, &len));
	OB_TRY(ob_json_parse_object(buf, len, &doc));
	OB_TRY(pick(doc, id, &e));
	if ((pid = json_string_value(json_object_get(e, "id"))) == NULL ||
	    (gw = json_string_value(json_object_get(e, "gateway"))) == NULL ||
	    (sha = json_string_value(json_object_get(e,
	    "request_sha256"))) == NULL ||
	    (req = json_string_value(json_object_get(e, "request"))) == NULL) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, "%s: not a pending request "
		    "(id, gateway, request_sha256, request)", in);
		goto out;
	}
	/* What is shown is what is signed: the hash must be the request's. */
	OB_TRY(ob_sha256_b64url(req, strlen(req), h));
	if (strlen(sha) != 43 || CRYPTO_memcmp(h, sha, 43) != 0) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, "request_sha256 is not the "
		    "hash of the request shown");
		goto out;
	}
	OB_TRY(ob_envelope_parse(req, strlen(req), 0, &env));
	fprintf(stderr, PROG ": approving request %s at gateway %s\n"
	    "  agent    %s\n  owner    %s\n  audience %s\n  lifetime %llds\n"
	    "  proxy    %s\n  rule     %s\n", pid, gw, env->claims.sub,
	    env->claims.owner, env->claims.aud, env->claims.exp -
	    env->claims.iat, json_string_value(json_object_get(e, "proxy")) !=
	    NULL ? json_string_value(json_object_get(e, "proxy")) : "-",
	    json_string_value(json_object_get(e, "rule")) != NULL ?
	    json_string_value(json_object_get(e, "rule")) : "-");
	memset(&opts, 0, sizeof(opts));
	OB_TRY(ob_pin_source_parse(pin_spec, &pin));
	opts.pin = pin;
	OB_TRY(ob_token_open(uri, &opts, &tok));
	OB_TRY(ob_owner_approval_tbs(ob_token_alg(tok), ob_token_kid(tok), pid,
	    sha, gw, (long long)time(NULL), &tbs, &tbslen));
	memset(&what, 0, sizeof(what));
	what.sub = env->claims.sub;
	what.aud = env->claims.aud;
	what.owner = env->claims.owner;
	what.model = "owner-mediated";
	what.role = "approval";
	what.exp = env->claims.exp;
	OB_TRY(ob_token_sign(tok, (const unsigned char *)tbs, tbslen, &what,
	    &sig, &siglen));
	OB_TRY(ob_owner_approval_serialize(tbs, sig, siglen, &ser));
	r = ob_write_all(out, ser, strlen(ser), 0644);
out:
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	ob_envelope_free(&env);
	json_decref(doc);
	free(buf);
	free(tbs);
	free(sig);
	free(ser);
	return r;
}

int
cmd_approve(int argc, char **argv)
{
	enum { O_KEY = 256, O_PIN, O_ID };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "pin-source", required_argument, NULL, O_PIN },
		{ "id", required_argument, NULL, O_ID },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*uri = NULL, *pin = NULL, *out = NULL, *id = NULL;
	int		 ch, r;

	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: uri = optarg; break;
		case O_PIN: pin = optarg; break;
		case O_ID: id = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			approve_usage(stdout);
			return 0;
		default:
			return owner_badopt(approve_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("approve", approve_usage, { "--key", uri },
	    { "PENDING", optind < argc ? argv[optind] : NULL }))
		return EXIT_USAGE;
	if (optind != argc - 1)
		return owner_usage(approve_usage, "approve: exactly one PENDING "
		    "file");
	r = approve_run(argv[optind], out, uri, pin, id);
	return r == OB_OK ? 0 : fail(r);
}
