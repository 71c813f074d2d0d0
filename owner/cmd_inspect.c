/* ownerbind inspect: what an envelope says (no trust decisions). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/cliutil.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/inspect_cred.h"
#include "owner/ownerbind.h"

static void
inspect_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " inspect [--json] [--at T] IN\n"
"\n"
"Checks an envelope's form and prints its payload, when it was issued and\n"
"when it expires (\"expires in 4m\"), and its signature entries; for a WIT\n"
"or a WIC (PEM) the server issued, its claims or names and the same\n"
"times.  It does not verify signatures or trust: use ownerbind-verify.\n"
"--json prints one object; --at T takes T (Unix seconds) as now.\n");
}

static int
inspect_json(const struct ob_envelope *env, long long now)
{
	const struct ob_claims	*c = &env->claims;
	json_t			*o = NULL, *ents, *e;
	char			*s = NULL;
	size_t			 i, n;
	int			 r;

	if ((o = json_pack("{s:O,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,"
	    "s:b,s:[]}", "payload", env->payload_json, "agent_key_thumbprint",
	    c->jkt, "sub", c->sub, "aud", c->aud, "owner", c->owner, "jti",
	    c->jti, "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp,
	    "now", (json_int_t)now, "issued_ago", (json_int_t)(now - c->iat),
	    "expires_in", (json_int_t)(c->exp - now), "expired",
	    now >= c->exp, "entries")) == NULL)
		return OB_ERR_ALLOC;
	ents = json_object_get(o, "entries");
	for (i = 0; i < env->n; i++) {
		const struct ob_entry *en = &env->entries[i];

		if ((e = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "role",
		    ob_role_name(en->role), "model", ob_model_name(en->model),
		    "alg", ob_alg_name(en->alg), "kid", en->kid, "ob_iat",
		    (json_int_t)en->sat, "signed_ago",
		    (json_int_t)(now - en->sat))) == NULL ||
		    (en->nonce != NULL && json_object_set_new(e, "nonce",
		    json_string(en->nonce)) != 0) ||
		    json_array_append_new(ents, e) != 0) {
			json_decref(e);
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	if ((r = ob_json_dump(o, &s, &n)) == OB_OK)
		printf("%s\n", s);
out:
	free(s);
	json_decref(o);
	return r;
}

static int
inspect_text(const struct ob_envelope *env, long long now)
{
	const struct ob_claims	*c = &env->claims;
	char			*s = NULL, when[96];
	size_t			 i, n;
	int			 r;

	if ((r = ob_json_dump(env->payload_json, &s, &n)) != OB_OK)
		return r;
	printf("payload  %s\nagent key thumbprint  %s\n", s, c->jkt);
	free(s);
	ob_cli_when(c->iat, now, when, sizeof(when));
	printf("issued   %s\n", when);
	ob_cli_when(c->exp, now, when, sizeof(when));
	printf("%s  %s\n", now >= c->exp ? "EXPIRED" : "expires", when);
	for (i = 0; i < env->n; i++) {
		const struct ob_entry *e = &env->entries[i];

		ob_cli_when(e->sat, now, when, sizeof(when));
		printf("entry %zu  role=%s model=%s alg=%s kid=%s "
		    "ob_iat=%lld%s%s\n  signed %s\n", i, ob_role_name(e->role),
		    ob_model_name(e->model), ob_alg_name(e->alg), e->kid,
		    e->sat, e->nonce != NULL ? " nonce=" : "",
		    e->nonce != NULL ? e->nonce : "", when);
	}
	if (env->n == 0)
		printf("no signatures yet\n");
	return OB_OK;
}

int
cmd_inspect(int argc, char **argv)
{
	enum { O_AT = 256 };
	static const struct option longopts[] = {
		{ "at", required_argument, NULL, O_AT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_envelope	*env = NULL;
	long long		 now = (long long)time(NULL);
	char			*buf = NULL;
	size_t			 len;
	int			 ch, r, kind;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_AT:
			if ((r = ob_parse_ll(optarg, 1, 253402300799LL,
			    &now)) != OB_OK)
				return fail_usage(ob_err_prefix(r, "--at"));
			break;
		case 'h':
			inspect_usage(stdout);
			return 0;
		default:
			return owner_badopt(inspect_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("inspect", inspect_usage,
	    { "the envelope IN", optind < argc ? argv[optind] : NULL }))
		return EXIT_USAGE;
	if (optind != argc - 1)
		return owner_usage(inspect_usage, "inspect takes one envelope");
	if ((r = ob_read_all(argv[optind], OB_MAX_ENVELOPE, &buf, &len)) !=
	    OB_OK)
		return fail(r);
	/* A WIT or WIC the server issued, or an envelope. */
	if ((kind = inspect_cred_kind(buf, len)) != INSPECT_ENVELOPE)
		r = inspect_cred(kind, buf, len, now);
	else if ((r = ob_envelope_parse(buf, len, OB_PARSE_ALLOW_UNSIGNED,
	    &env)) == OB_OK) {
		r = owner_json ? inspect_json(env, now) :
		    inspect_text(env, now);
		ob_envelope_free(&env);
	}
	free(buf);
	return r == OB_OK ? 0 : fail(r);
}
