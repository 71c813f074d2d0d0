/*
 * ownerbind agent get: an agent's credential from the local identity
 * proxy (docs/proxy.md), through the agent library
 * (include/ownerbind/ob_agent.h).  With an envelope it asks for a new
 * one; without, it prints the one the proxy holds for the agent id.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ownerbind/ob_agent.h"
#include "common/cliutil.h"
#include "core/envelope.h"
#include "core/err.h"
#include "owner/ownerbind.h"

static void
agent_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " agent get --agent ID [--socket PATH] [--envelope FILE\n"
"           [--renewal]] [--wit OUT] [--wic OUT] [--json]\n"
"\n"
"Asks the identity proxy's Agent API (--socket, else\n"
"$OWNERBIND_PROXY_SOCKET, else " OB_AGENT_SOCKET ") for agent ID's\n"
"credential.  With --envelope (a file, or - for stdin) it POSTs the\n"
"envelope: owner-signed with the agent's PoP for an agent-mediated\n"
"entry, agent-only for the other models, or with --renewal a renewal\n"
"that names the approval it renews.  Without, it prints the credential\n"
"the proxy holds.  Writes the WIT to --wit and the WIC to --wic; with\n"
"--json, or without either, prints agent, wit, wic, expires_at and\n"
"cached as JSON, and for an approval with a window renew_at (renew\n"
"from then on), renew_until and approval (the jti a renewal names).\n");
}

static int
agent_emit(const struct ob_agent_cred *c, const char *witf, const char *wicf,
    int json)
{
	json_t	*o;
	char	*w = NULL;
	size_t	 n;
	int	 r = OB_OK;

	if (witf != NULL) {
		n = strlen(c->wit);
		if ((w = malloc(n + 1)) == NULL)
			return OB_ERR_ALLOC;
		memcpy(w, c->wit, n);
		w[n] = '\n';
		r = ob_write_all(witf, w, n + 1, 0600);
		free(w);
		if (r != OB_OK)
			return r;
	}
	if (wicf != NULL && (r = ob_write_all(wicf, c->wic, strlen(c->wic),
	    0600)) != OB_OK)
		return r;
	if (!json && (witf != NULL || wicf != NULL))
		return OB_OK;
	if ((o = json_pack("{s:s,s:s,s:s,s:I,s:b}", "agent", c->agent_id,
	    "wit", c->wit, "wic", c->wic, "expires_at",
	    (json_int_t)c->expires_at, "cached", c->cached)) == NULL)
		return OB_ERR_ALLOC;
	if (c->approval != NULL && (json_object_set_new(o, "renew_at",
	    json_integer(c->renew_at)) || json_object_set_new(o, "renew_until",
	    json_integer(c->renew_until)) || json_object_set_new(o,
	    "approval", json_string(c->approval)))) {
		json_decref(o);
		return OB_ERR_ALLOC;
	}
	r = owner_emit_json(NULL, o);
	json_decref(o);
	return r;
}

static int
agent_get(int argc, char **argv)
{
	enum { O_AGENT = 256, O_SOCKET, O_ENV, O_RENEWAL, O_WIT, O_WIC,
	    O_JSON };
	static const struct option longopts[] = {
		{ "agent", required_argument, NULL, O_AGENT },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "envelope", required_argument, NULL, O_ENV },
		{ "renewal", no_argument, NULL, O_RENEWAL },
		{ "wit", required_argument, NULL, O_WIT },
		{ "wic", required_argument, NULL, O_WIC },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_agent		*a = NULL;
	struct ob_agent_cred	*c = NULL;
	const char		*id = NULL, *sock = NULL, *envf = NULL;
	const char		*wit = NULL, *wic = NULL;
	char			*env = NULL;
	size_t			 len = 0;
	int			 ch, json = 0, renewal = 0, r;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_AGENT: id = optarg; break;
		case O_SOCKET: sock = optarg; break;
		case O_ENV: envf = optarg; break;
		case O_RENEWAL: renewal = 1; break;
		case O_WIT: wit = optarg; break;
		case O_WIC: wic = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
			agent_usage(stdout);
			return 0;
		default:
			return owner_badopt(agent_usage, argc, argv);
		}
	}
	json |= owner_json;
	if (OWNER_MISSING("agent get", agent_usage, { "--agent", id }))
		return EXIT_USAGE;
	if (optind != argc)
		return owner_usage(agent_usage, "agent get: an unexpected "
		    "argument");
	if (renewal && envf == NULL)
		return owner_usage(agent_usage, "agent get: --renewal needs "
		    "--envelope");
	if (envf != NULL)
		OB_TRY(ob_read_all(envf, OB_MAX_ENVELOPE, &env, &len));
	OB_TRY(ob_agent_new(sock, &a));
	OB_TRY(ob_agent_get(a, id, env, len, renewal, 0, &c));
	r = agent_emit(c, wit, wic, json);
out:
	ob_agent_cred_free(&c);
	ob_agent_free(&a);
	free(env);
	return r == OB_OK ? 0 : fail(r);
}

int
cmd_agent(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "get") == 0)
		return agent_get(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		agent_usage(stdout);
		return 0;
	}
	if (argc >= 2 && argv[1][0] == '-')
		return agent_get(argc, argv);	/* it names the bad option */
	return owner_usage(agent_usage, "agent: the only action is get");
}
