/* ownerbind request: the agent's side, before anyone signs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "common/cliutil.h"
#include "core/envelope.h"
#include "core/err.h"
#include "tokens/file.h"
#include "core/json.h"
#include "core/jwk.h"
#include "owner/ownerbind.h"

#define MAX_TTL		3600
#define MAX_EVIDENCE	(16 * 1024 * 1024)

static void
request_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " request --sub URI --aud URI --owner ID --agent-key PATH\n"
"           [--new-agent-key] [--ttl SEC] [--dns-name NAME] [--logical-id ID]\n"
"           [--client-id ID] [--evidence FILE] [--renew-window SEC]\n"
"           [--renews JTI] [-o OUT]\n"
"\n"
"Writes the agent's credential request: an envelope with the payload and\n"
"no signature yet (docs/envelope.md).\n"
"  --sub URI          the agent's workload identifier (wimse:// or spiffe://)\n"
"  --aud URI          the identity server the request is for\n"
"  --owner ID         the owner the agent acts for (a trust-store owner id)\n"
"  --agent-key PATH   the agent's private key (PEM); its public key goes in\n"
"                     cnf.jwk\n"
"  --new-agent-key    first create a P-256 key at PATH (PKCS#8, mode 0600;\n"
"                     an existing file is never overwritten)\n"
"  --ttl SEC          lifetime exp - iat, 1..%d (default 300); verifiers\n"
"                     accept it only while iat is at most --max-age old\n"
"                     (default 300 s): sign soon after the request\n"
"  --dns-name, --logical-id, --client-id\n"
"                     the agent's other identity layers (optional)\n"
"  --evidence FILE    include the SHA-256 of attestation evidence\n"
"  --renew-window SEC ask the owner for an approval window: renew_until is\n"
"                     now + SEC (at least --ttl, at most 30 days)\n"
"  --renews JTI       a renewal of the approval whose jti is JTI (the agent\n"
"                     alone signs it: ownerbind pop --model M)\n"
"  -o OUT             output file (default stdout; \"-\" is stdout)\n",
	    MAX_TTL);
}

static int
request_evidence(json_t *c, const char *path)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	char		*buf = NULL;
	size_t		 len;
	int		 r;

	if ((r = ob_read_all(path, MAX_EVIDENCE, &buf, &len)) != OB_OK)
		return r;
	r = ob_sha256(buf, len, md);
	free(buf);
	if (r != OB_OK)
		return r;
	return ob_json_set_b64(c, "evidence_sha256", md, sizeof(md));
}

/* The approval window and the renewal marker (docs/envelope.md §3.1). */
struct renewal {
	long long	 window;	/* 0: no renew_until */
	const char	*renews;	/* NULL: not a renewal */
};

static int
request_build(const char *sub, const char *aud, const char *owner,
    EVP_PKEY *key, long long ttl, const char *const *layers,
    const char *evidence, const struct renewal *rn, const char *out_path)
{
	static const char *const layer_names[] = {
		"dns_name", "logical_id", "client_id"
	};
	struct ob_envelope	*env = NULL;
	json_t			*c = NULL, *cnf = NULL, *jwk = NULL;
	unsigned char		 rnd[16];
	char			*jti = NULL;
	long long		 now = (long long)time(NULL);
	size_t			 i;
	int			 r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return OB_ERR_RANDOM;
	OB_TRY(ob_b64url_encode(rnd, sizeof(rnd), &jti));
	OB_TRY(ob_jwk_from_pkey(key, &jwk));
	r = OB_ERR_ALLOC;
	/* docs/envelope.md, "Payload": this member order. */
	if ((c = json_object()) == NULL || (cnf = json_object()) == NULL ||
	    json_object_set_new(c, "sub", json_string(sub)) ||
	    json_object_set_new(c, "aud", json_string(aud)) ||
	    json_object_set_new(c, "iat", json_integer(now)) ||
	    json_object_set_new(c, "exp", json_integer(now + ttl)) ||
	    json_object_set_new(c, "jti", json_string(jti)) ||
	    json_object_set_new(c, "owner", json_string(owner)) ||
	    json_object_set(cnf, "jwk", jwk) ||
	    json_object_set(c, "cnf", cnf))
		goto out;
	for (i = 0; i < 3; i++)
		if (layers[i] != NULL && json_object_set_new(c, layer_names[i],
		    json_string(layers[i])))
			goto out;
	if (evidence != NULL)
		OB_TRY(request_evidence(c, evidence));
	if ((rn->window != 0 && json_object_set_new(c, "renew_until",
	    json_integer(now + rn->window))) || (rn->renews != NULL &&
	    json_object_set_new(c, "renews", json_string(rn->renews)))) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(ob_envelope_new(c, &env));
	if ((r = owner_emit(out_path, env)) == OB_OK)
		/* What the owner's approval summary shows, to compare. */
		fprintf(stderr, PROG ": request %s for agent key %s\n", jti,
		    env->claims.jkt);
out:
	ob_envelope_free(&env);
	json_decref(c);
	json_decref(cnf);
	json_decref(jwk);
	free(jti);
	return r;
}

int
cmd_request(int argc, char **argv)
{
	enum { O_SUB = 256, O_AUD, O_OWNER, O_AGENTKEY, O_NEWKEY, O_TTL,
	    O_DNS, O_LOGICAL, O_CLIENT, O_EVIDENCE, O_WINDOW, O_RENEWS };
	static const struct option longopts[] = {
		{ "sub", required_argument, NULL, O_SUB },
		{ "aud", required_argument, NULL, O_AUD },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "agent-key", required_argument, NULL, O_AGENTKEY },
		{ "new-agent-key", no_argument, NULL, O_NEWKEY },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "dns-name", required_argument, NULL, O_DNS },
		{ "logical-id", required_argument, NULL, O_LOGICAL },
		{ "client-id", required_argument, NULL, O_CLIENT },
		{ "evidence", required_argument, NULL, O_EVIDENCE },
		{ "renew-window", required_argument, NULL, O_WINDOW },
		{ "renews", required_argument, NULL, O_RENEWS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*sub = NULL, *aud = NULL, *owner = NULL, *keypath = NULL;
	const char	*out_path = NULL, *evidence = NULL;
	const char	*layers[3] = { NULL, NULL, NULL };
	EVP_PKEY	*key = NULL;
	struct renewal	 rn = { 0, NULL };
	long long	 ttl = 300;
	int		 ch, newkey = 0, r;

	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case O_SUB: sub = optarg; break;
		case O_AUD: aud = optarg; break;
		case O_OWNER: owner = optarg; break;
		case O_AGENTKEY: keypath = optarg; break;
		case O_NEWKEY: newkey = 1; break;
		case O_TTL:
			if ((r = ob_parse_ll(optarg, 1, MAX_TTL, &ttl)) != OB_OK)
				return fail_usage(ob_err_prefix(r, "--ttl"));
			break;
		case O_DNS: layers[0] = optarg; break;
		case O_LOGICAL: layers[1] = optarg; break;
		case O_CLIENT: layers[2] = optarg; break;
		case O_EVIDENCE: evidence = optarg; break;
		case O_WINDOW:
			if ((r = ob_parse_ll(optarg, 1, OB_MAX_RENEW_WINDOW,
			    &rn.window)) != OB_OK)
				return fail(r);
			break;
		case O_RENEWS: rn.renews = optarg; break;
		case 'o': out_path = optarg; break;
		case 'h':
			request_usage(stdout);
			return 0;
		default:
			return owner_badopt(request_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("request", request_usage, { "--sub", sub },
	    { "--aud", aud }, { "--owner", owner }, { "--agent-key", keypath }))
		return EXIT_USAGE;
	if (optind != argc)
		return owner_usage(request_usage, NULL);
	/* A window that closes before the request expires approves nothing
	 * the request itself does not. */
	if (rn.window > 0 && rn.window < ttl)
		return fail_usage(ob_errf(OB_ERR_INVALID_ARG, "--renew-window "
		    "%lld is shorter than --ttl %lld: the window must be at "
		    "least the request's lifetime", rn.window, ttl));
	if (newkey)
		r = ob_file_keygen(keypath, OB_ALG_ES256, NULL, &key);
	else
		r = ob_file_load(keypath, NULL, &key);
	if (r == OB_OK)
		r = request_build(sub, aud, owner, key, ttl, layers, evidence,
		    &rn, out_path);
	EVP_PKEY_free(key);
	return r == OB_OK ? 0 : fail(r);
}
