/*
 * ownerbind-verify: the verifier library from a shell.
 * Exit 0: accepted (verdict on stdout).  1: rejected (the code's name on
 * stderr, and in the JSON verdict with --json).  2: usage or configuration.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "server-verify/cli_rp.h"
#include "server-verify/verify_int.h"
#include "common/cliutil.h"
#include "common/process.h"
#include "core/envelope.h"
#include "core/err.h"

#define PROG	"ownerbind-verify"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --trust FILE --aud URI --state PATH|--no-replay-state [--json]\n"
"           [--channel direct|gateway] [--proxy ID] [--at EPOCH]\n"
"           [--max-age SEC] [--skew SEC] [--max-lifetime SEC] ENVELOPE\n"
"       " PROG " --state PATH --issue-nonce [--nonce-ttl SEC] [--for-jti JTI]\n"
"       " PROG " wit ...   a WIT and its WPT, as a relying service (wit --help)\n"
"       " PROG " wic ...   a WIC, as a relying service (wic --help)\n"
"\n"
"Checks an ownerbind envelope (\"-\" reads stdin) against a trust store.\n"
"  --trust FILE       trust store (docs/trust-store.md)\n"
"  --aud URI          this server's URI; the request must name it\n"
"  --state PATH       SQLite replay state kept between runs (jti, nonces,\n"
"                     FIDO2 counters); required, unless\n"
"  --no-replay-state  check form and signatures only: nothing is recorded,\n"
"                     so a replay would pass too (a warning says so)\n"
"  --json             print the verdict (or the rejection) as JSON\n"
"  --channel CH       how the request arrived: direct (default: agent- and\n"
"                     server-mediated) or gateway (owner-mediated)\n"
"  --proxy ID         the proxy a gateway-channel request came through\n"
"  --at EPOCH         verify as of this time (audits, test vectors)\n"
"  --max-age SEC      how old iat may be, 1..86400 (default 300)\n"
"  --skew SEC         how far in the future iat may be (default 60)\n"
"  --max-lifetime SEC the longest exp - iat accepted (default 3600, the\n"
"                     most `ownerbind request --ttl` makes)\n"
"  --issue-nonce      print a fresh single-use server nonce (server-mediated)\n"
"  --nonce-ttl SEC    its lifetime, 1..3600 (default 300)\n"
"  --for-jti JTI      bind the nonce to the request with this jti\n"
"Exit status: 0 accepted, 1 rejected, 2 usage or configuration error.\n");
}

static void
print_verdict(const struct ob_verdict *v, long long now)
{
	char	when[96];

	printf("accepted\n");
	printf("agent       %s\n", v->agent);
	printf("agent key   %s (%s)\n", v->agent_jkt, v->agent_alg);
	printf("owner       %s\n", v->owner);
	if (v->gateway != NULL)
		printf("gateway     %s (%s)\n", v->gateway, v->owner_alg);
	else
		printf("owner key   %s (%s, %s)\n", v->owner_kid,
		    v->owner_kind, v->owner_alg);
	printf("model       %s\n", v->model);
	printf("assurance   %s\n", v->assurance);
	if (v->up >= 0)
		printf("presence    up=%s uv=%s counter=%lld\n",
		    v->up ? "yes" : "no", v->uv ? "yes" : "no", v->counter);
	if (v->nonce != NULL)
		printf("nonce       %s\n", v->nonce);
	printf("jti         %s\n", v->jti);
	/* how long the request stays good, as the owner saw it at sign */
	ob_cli_when(ob_verdict_exp(v), now, when, sizeof(when));
	printf("expires     %s\n", when);
}

int	cli_json;

int
cli_error(int code)
{
	if (cli_json)
		ob_print_error_json("error", code, 2);
	else
		ob_print_error(PROG, code);
	return 2;
}

int
cli_usage(void (*u)(FILE *), const char *what)
{
	return ob_cli_usage_error(PROG, cli_json, u, what);
}

int
cli_badopt(void (*u)(FILE *), int argc, char **argv)
{
	/* Without --json, getopt has already said what it refused. */
	return cli_usage(u, cli_json ? ob_cli_badopt(argc, argv) : NULL);
}

int
main(int argc, char **argv)
{
	enum { O_TRUST = 256, O_AUD, O_STATE, O_JSON, O_CHANNEL, O_PROXY, O_AT,
	    O_MAXAGE, O_SKEW, O_LIFE, O_ISSUE, O_TTL, O_FORJTI, O_VERSION,
	    O_NOSTATE };
	static const struct option longopts[] = {
		{ "trust", required_argument, NULL, O_TRUST },
		{ "aud", required_argument, NULL, O_AUD },
		{ "state", required_argument, NULL, O_STATE },
		{ "json", no_argument, NULL, O_JSON },
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "proxy", required_argument, NULL, O_PROXY },
		{ "at", required_argument, NULL, O_AT },
		{ "max-age", required_argument, NULL, O_MAXAGE },
		{ "skew", required_argument, NULL, O_SKEW },
		{ "max-lifetime", required_argument, NULL, O_LIFE },
		{ "issue-nonce", no_argument, NULL, O_ISSUE },
		{ "nonce-ttl", required_argument, NULL, O_TTL },
		{ "for-jti", required_argument, NULL, O_FORJTI },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ "no-replay-state", no_argument, NULL, O_NOSTATE },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_verify_opts	 o;
	struct ob_trust		*trust = NULL;
	struct ob_state		*state = NULL;
	struct ob_verdict	*v = NULL;
	const char		*trust_path = NULL, *state_path = NULL;
	const char		*for_jti = NULL;
	char			*buf = NULL, *js = NULL;
	char			 nonce[OB_NONCE_CHARS + 1];
	size_t			 len;
	long long		 ttl = 300;
	int			 ch, json = 0, issue = 0, r, rc = 2;
	int			 nostate = 0, li = 0;

	/* No core dump, no ptrace: `wit` reads a bearer token and its
	 * proof (an access token is as good as the credential). */
	ob_process_harden();
	if ((cli_json = ob_cli_has_option(argc, argv, "--json")) != 0)
		opterr = 0;	/* the refused option is in the JSON object */
	/* The relying party's verbs; without one, an envelope. */
	if (argc > 1 && strcmp(argv[1], "wit") == 0)
		return cli_wit(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "wic") == 0)
		return cli_wic(argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
		r = OB_OK;
		switch (ch) {
		case O_TRUST:
			trust_path = optarg;
			break;
		case O_AUD:
			o.aud = optarg;
			break;
		case O_STATE:
			state_path = optarg;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_CHANNEL:
			if (strcmp(optarg, "direct") == 0)
				o.channel = OB_CHANNEL_DIRECT;
			else if (strcmp(optarg, "gateway") == 0)
				o.channel = OB_CHANNEL_GATEWAY;
			else
				r = ob_errf(OB_ERR_USAGE, "--channel is direct "
				    "or gateway");
			break;
		case O_PROXY:
			o.proxy = optarg;
			break;
		case O_AT:
			r = ob_parse_ll(optarg, 1, 1LL << 40, &o.now);
			break;
		case O_MAXAGE:
			r = ob_parse_ll(optarg, 1, 86400, &o.max_age);
			break;
		case O_SKEW:
			r = ob_parse_ll(optarg, 1, 3600, &o.skew);
			break;
		case O_LIFE:
			r = ob_parse_ll(optarg, 1, 86400, &o.max_lifetime);
			break;
		case O_ISSUE:
			issue = 1;
			break;
		case O_TTL:
			r = ob_parse_ll(optarg, 1, 3600, &ttl);
			break;
		case O_FORJTI:
			for_jti = optarg;
			break;
		case O_NOSTATE:
			nostate = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION: {
			char	extra[64];

			(void)snprintf(extra, sizeof(extra), "SQLite %s",
			    sqlite3_libversion());
			ob_print_version("ownerbind-verify", OB_VERSION, extra);
			return 0;
		}
		default:
			return cli_badopt(usage, argc, argv);
		}
		if (r != OB_OK)	/* every option with a value is long */
			return cli_error(ob_err_prefix(r, "--%s",
			    longopts[li].name));
	}
	argc -= optind;
	argv += optind;
	if (issue) {
		if (state_path == NULL || argc != 0)
			return cli_usage(usage, "--issue-nonce needs --state "
			    "and no envelope");
		if ((r = ob_state_open_sqlite(state_path, &state)) != OB_OK ||
		    (r = ob_state_issue_nonce(state, o.now, ttl, for_jti,
		    nonce)) != OB_OK) {
			rc = cli_error(r);
			goto out;
		}
		printf("%s\n", nonce);
		rc = 0;
		goto out;
	}
	if (trust_path == NULL || o.aud == NULL || argc != 1)
		return cli_usage(usage, trust_path == NULL ? "--trust FILE is "
		    "required" : o.aud == NULL ? "--aud URI is required" :
		    "one envelope is required");
	/* Replay protection is never silently off. */
	if (state_path == NULL && !nostate)
		return cli_usage(usage, "--state PATH is required: without "
		    "replay state a replayed envelope is accepted again (give "
		    "--no-replay-state to check an envelope's form and "
		    "signatures only)");
	if (state_path != NULL && nostate)
		return cli_usage(NULL, "--state and --no-replay-state "
		    "contradict each other");
	if (nostate)
		fprintf(stderr, PROG ": warning: --no-replay-state: jti, nonce "
		    "and FIDO2 counter are not recorded; a replay of this "
		    "envelope would be accepted too.  Never decide issuance "
		    "on this.\n");
	if (o.proxy != NULL && o.channel == 0)
		o.channel = OB_CHANNEL_GATEWAY;
	if ((r = ob_trust_load_file(trust_path, &trust)) != OB_OK ||
	    (r = state_path != NULL ? ob_state_open_sqlite(state_path, &state) :
	    ob_state_open_memory(&state)) != OB_OK) {
		rc = cli_error(r);
		goto out;
	}
	if ((r = ob_read_all(argv[0], OB_MAX_ENVELOPE, &buf, &len)) != OB_OK) {
		rc = r == OB_ERR_IO ? 2 : 1;
		goto reject;
	}
	if ((r = ob_verify(trust, state, &o, buf, len, &v)) != OB_OK) {
		rc = r == OB_ERR_STATE || r == OB_ERR_STATE_BUSY ||
		    r == OB_ERR_INVALID_ARG ? 2 : 1;
		goto reject;
	}
	if (json) {
		if ((r = ob_verdict_json(v, &js)) != OB_OK) {
			rc = cli_error(r);
			goto out;
		}
		printf("%s\n", js);
	} else
		print_verdict(v, o.now != 0 ? o.now : (long long)time(NULL));
	rc = 0;
	goto out;
reject:
	if (json)
		ob_print_error_json("rejected", r, rc);
	ob_print_error(PROG ": rejected", r);
out:
	free(js);
	free(buf);
	ob_verdict_free(&v);
	ob_state_free(&state);
	ob_trust_free(&trust);
	return rc;
}
