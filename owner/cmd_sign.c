/* ownerbind sign / pop: append a signature entry to an envelope. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/cliutil.h"
#include "core/envelope.h"
#include "core/err.h"
#include "owner/ownerbind.h"
#include "tokens/token.h"

static void
sign_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " sign --key URI [--role owner|gateway]\n"
"           [--model agent-mediated|owner-mediated|server-mediated]\n"
"           [--nonce N] [--x5c CHAIN.pem --kid GATEWAY-ID] [--pin-source SRC]\n"
"           [--quiet] [-o OUT] IN\n"
"\n"
"Shows what is being approved, signs the request with the key at URI and\n"
"appends the entry (docs/envelope.md).  IN and OUT may be \"-\".\n"
"  --key URI          file:PATH, pkcs11:..., tpm2:..., fido2:..., piv:...\n"
"  --role R           owner (default) or gateway\n"
"  --model M          issuance model (default agent-mediated)\n"
"  --nonce N          the server's nonce (required for server-mediated)\n"
"  --x5c FILE         gateway: PEM chain, leaf first, put in x5c\n"
"  --kid ID           gateway: the gateway id the server knows it by\n"
"  --pin-source SRC   tty, file:PATH, fd:N, env:VAR or askpass:PROG\n"
"  --quiet            do not show the approval summary\n");
}

static void
pop_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " pop --agent-key PATH [--model M] [-o OUT] IN\n"
"\n"
"Appends the agent's proof-of-possession entry, signed with the key whose\n"
"public half is cnf.jwk in the request.  The model and nonce are taken\n"
"from the entries already present (--model when there are none).\n");
}

/* Model and nonce must agree with the entries already present. */
static int
sign_consistent(const struct ob_envelope *env, enum ob_role role,
    enum ob_model *model, int model_given, const char **nonce)
{
	const struct ob_entry	*e;
	size_t			 i;

	for (i = 0; i < env->n; i++) {
		e = &env->entries[i];
		if (e->role == role)
			return ob_errf(OB_ERR_ROLE_DUPLICATE, "the envelope "
			    "already has a%s %s entry", role == OB_ROLE_AGENT ?
			    "n" : role == OB_ROLE_OWNER ? "n" : "",
			    ob_role_name(role));
		if (!model_given)
			*model = e->model;
		else if (e->model != *model)
			return ob_errf(OB_ERR_MODEL_MISMATCH, "existing entries "
			    "say %s", ob_model_name(e->model));
		if (e->nonce != NULL) {
			if (*nonce == NULL)
				*nonce = e->nonce;
			/* lint: ok: a nonce is a public envelope member */
			else if (strcmp(*nonce, e->nonce) != 0)
				return ob_errf(OB_ERR_NONCE_MISMATCH, "existing "
				    "entries carry another nonce");
		}
	}
	if (role == OB_ROLE_GATEWAY && *model != OB_MODEL_OWNER_MEDIATED)
		return ob_errf(OB_ERR_ROLE_FORBIDDEN, "gateway entries need "
		    "--model owner-mediated");
	if (role == OB_ROLE_OWNER && *model == OB_MODEL_OWNER_MEDIATED)
		return ob_errf(OB_ERR_ROLE_FORBIDDEN, "owner-mediated envelopes "
		    "are signed by the gateway (--role gateway)");
	if (role == OB_ROLE_OWNER && *model == OB_MODEL_SERVER_MEDIATED &&
	    *nonce == NULL)
		return ob_errf(OB_ERR_NONCE_MISSING, "server-mediated signing "
		    "needs --nonce");
	return OB_OK;
}

static void
sign_show(const struct ob_envelope *env, enum ob_role role,
    enum ob_model model, const char *uri)
{
	char	exp[96];

	/* "(in 4m)": the owner sees how long the approval is good for. */
	ob_cli_when(env->claims.exp, (long long)time(NULL), exp, sizeof(exp));
	fprintf(stderr,
	    PROG ": approving an agent credential request\n"
	    "  agent    %s\n"
	    "  owner    %s\n"
	    "  server   %s\n"
	    "  model    %s (signing as %s)\n"
	    "  expires  %s\n"
	    "  agent key %s (compare with what the agent shows)\n"
	    "  request  %s\n"
	    "  key      %s\n", env->claims.sub, env->claims.owner,
	    env->claims.aud, ob_model_name(model), ob_role_name(role), exp,
	    env->claims.jkt, env->claims.jti, uri);
}

static int
sign_x5c(const char *path, json_t **out)
{
	FILE		*f;
	X509		*x;
	json_t		*a;
	unsigned char	*der = NULL;
	char		*b64;
	int		 n, r = OB_OK;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "%s: cannot open", path);
	if ((a = json_array()) == NULL) {
		fclose(f);
		return OB_ERR_ALLOC;
	}
	while (r == OB_OK && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		der = NULL;
		if ((n = i2d_X509(x, &der)) <= 0 || (b64 = malloc(
		    (size_t)n * 2 + 4)) == NULL)
			r = OB_ERR_ALLOC;
		else {
			EVP_EncodeBlock((unsigned char *)b64, der, n);
			if (json_array_append_new(a, json_string(b64)) != 0)
				r = OB_ERR_ALLOC;
			free(b64);
		}
		OPENSSL_free(der);
		X509_free(x);
	}
	fclose(f);
	if (r == OB_OK && json_array_size(a) == 0)
		r = ob_errf(OB_ERR_X5C_INVALID, "%s: no PEM certificate", path);
	if (r != OB_OK) {
		json_decref(a);
		return r;
	}
	*out = a;
	return OB_OK;
}

static int
sign_run(const char *in, const char *out, const char *uri, enum ob_role role,
    enum ob_model model, int model_given, const char *nonce,
    const char *x5c_path, const char *kid, const char *pin_spec, int quiet)
{
	struct ob_envelope	*env = NULL;
	struct ob_token		*tok = NULL;
	struct ob_pin_source	*pin = NULL;
	struct ob_token_opts	 opts;
	json_t			*x5c = NULL;
	long long		 now = (long long)time(NULL);
	int			 r;

	memset(&opts, 0, sizeof(opts));
	OB_TRY(owner_load(in, &env));
	OB_TRY(sign_consistent(env, role, &model, model_given, &nonce));
	if (env->claims.exp <= now) {
		r = ob_errf(OB_ERR_EXPIRED, "the request expired; build a new "
		    "one");
		goto out;
	}
	if (x5c_path != NULL)
		OB_TRY(sign_x5c(x5c_path, &x5c));
	if (role == OB_ROLE_GATEWAY && (x5c == NULL || kid == NULL)) {
		r = ob_errf(OB_ERR_USAGE, "gateway entries need --x5c and --kid");
		goto out;
	}
	OB_TRY(ob_pin_source_parse(pin_spec, &pin));
	opts.pin = pin;
	opts.quiet = quiet;
	if (!quiet)
		sign_show(env, role, model, uri);
	OB_TRY(ob_token_open(uri, &opts, &tok));
	OB_TRY(ob_token_sign_entry(tok, env, role, model, nonce, x5c, kid,
	    now));
	r = owner_emit(out, env);
out:
	json_decref(x5c);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	ob_envelope_free(&env);
	return r;
}

int
cmd_sign(int argc, char **argv)
{
	enum { O_KEY = 256, O_ROLE, O_MODEL, O_NONCE, O_X5C, O_KID, O_PIN,
	    O_QUIET };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "role", required_argument, NULL, O_ROLE },
		{ "model", required_argument, NULL, O_MODEL },
		{ "nonce", required_argument, NULL, O_NONCE },
		{ "x5c", required_argument, NULL, O_X5C },
		{ "kid", required_argument, NULL, O_KID },
		{ "pin-source", required_argument, NULL, O_PIN },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	enum ob_role	 role = OB_ROLE_OWNER;
	enum ob_model	 model = OB_MODEL_AGENT_MEDIATED;
	const char	*uri = NULL, *nonce = NULL, *x5c = NULL, *kid = NULL;
	const char	*pin = NULL, *out = NULL;
	int		 ch, r, quiet = 0, model_given = 0;

	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		r = OB_OK;
		switch (ch) {
		case O_KEY: uri = optarg; break;
		case O_ROLE:
			if ((r = ob_role_from_name(optarg, &role)) == OB_OK &&
			    role == OB_ROLE_AGENT)
				r = ob_errf(OB_ERR_USAGE, "the agent signs with "
				    PROG " pop");
			break;
		case O_MODEL:
			r = ob_model_from_name(optarg, &model);
			model_given = 1;
			break;
		case O_NONCE: nonce = optarg; break;
		case O_X5C: x5c = optarg; break;
		case O_KID: kid = optarg; break;
		case O_PIN: pin = optarg; break;
		case O_QUIET: quiet = 1; break;
		case 'o': out = optarg; break;
		case 'h':
			sign_usage(stdout);
			return 0;
		default:
			return owner_badopt(sign_usage, argc, argv);
		}
		if (r != OB_OK)
			return fail_usage(r);
	}
	if (OWNER_MISSING("sign", sign_usage, { "--key", uri },
	    { "the request IN", optind < argc ? argv[optind] : NULL }))
		return EXIT_USAGE;
	if (optind != argc - 1)
		return owner_usage(sign_usage, NULL);
	/* Without --model, follow the entries present; default agent-mediated. */
	r = sign_run(argv[optind], out, uri, role, model, model_given, nonce,
	    x5c, kid, pin, quiet);
	return r == OB_OK ? 0 : fail(r);
}

int
cmd_pop(int argc, char **argv)
{
	enum { O_AGENTKEY = 256, O_MODEL };
	static const struct option longopts[] = {
		{ "agent-key", required_argument, NULL, O_AGENTKEY },
		{ "model", required_argument, NULL, O_MODEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_envelope	*env = NULL;
	struct ob_token		*tok = NULL;
	struct ob_token_opts	 opts;
	enum ob_model		 model = OB_MODEL_AGENT_MEDIATED;
	const char		*keypath = NULL, *out = NULL, *nonce = NULL;
	char			*uri = NULL;
	int			 ch, r, model_given = 0;

	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case O_AGENTKEY: keypath = optarg; break;
		case O_MODEL:
			if ((r = ob_model_from_name(optarg, &model)) != OB_OK)
				return fail_usage(r);
			model_given = 1;
			break;
		case 'o': out = optarg; break;
		case 'h':
			pop_usage(stdout);
			return 0;
		default:
			return owner_badopt(pop_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("pop", pop_usage, { "--agent-key", keypath },
	    { "the signed request IN", optind < argc ? argv[optind] : NULL }))
		return EXIT_USAGE;
	if (optind != argc - 1)
		return owner_usage(pop_usage, NULL);
	memset(&opts, 0, sizeof(opts));
	opts.quiet = 1;
	if (asprintf(&uri, "file:%s", keypath) < 0)
		return fail(OB_ERR_ALLOC);
	OB_TRY(owner_load(argv[optind], &env));
	OB_TRY(sign_consistent(env, OB_ROLE_AGENT, &model, model_given,
	    &nonce));
	OB_TRY(ob_token_open(uri, &opts, &tok));
	if (strcmp(ob_token_kid(tok), env->claims.jkt) != 0) {
		r = ob_errf(OB_ERR_KEY_MISMATCH, "%s is not the key in cnf.jwk",
		    keypath);
		goto out;
	}
	OB_TRY(ob_token_sign_entry(tok, env, OB_ROLE_AGENT, model, nonce,
	    NULL, NULL, (long long)time(NULL)));
	r = owner_emit(out, env);
out:
	ob_token_close(&tok);
	ob_envelope_free(&env);
	free(uri);
	return r == OB_OK ? 0 : fail(r);
}
