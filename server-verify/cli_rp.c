/*
 * ownerbind-verify wit | wic: the relying party's checks from a shell
 * (cli_rp.h).  Tokens are read from files, never taken from argv: an
 * access token is a bearer secret, and a WIT is long.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cliutil.h"
#include "core/err.h"
#include "ownerbind/ob_rp.h"
#include "server-verify/cli_rp.h"

#define PROG		"ownerbind-verify"
#define MAX_TOKEN	16384
#define MAX_CERTS	(256 * 1024)

static void
wit_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " wit (--issuer-jwks FILE | --issuer-ca FILE) --aud URI\n"
"           [--iss URI] [--state PATH] [--ath FILE] [--tth FILE]\n"
"           [--oth NAME=FILE] [--at EPOCH] [--skew SEC] [--wpt-ttl SEC]\n"
"           [--json] WIT WPT\n"
"\n"
"Checks a Workload Identity Token and its Workload Proof Token (files, \"-\"\n"
"for stdin, as sent in the Workload-Identity-Token and Workload-Proof-Token\n"
"headers) the way a relying service does (docs/relying-party.md).\n"
"  --issuer-jwks FILE the issuer's JWKS (GET /v1/keys of the identity server)\n"
"  --issuer-ca FILE   or the issuer CA certificate(s), PEM; both may be given\n"
"  --aud URI          the target URI the WPT must be made for\n"
"  --iss URI          the only WIT iss accepted (default: any, keys decide)\n"
"  --state PATH       SQLite replay state for WPT jti values; without it they\n"
"                     are remembered for this run only\n"
"  --ath FILE         the request carries this OAuth access token: the WPT\n"
"                     must bind it (ath); --tth the same for a Txn-Token\n"
"  --oth NAME=FILE    the request carries header NAME with this value (oth)\n"
"  --at EPOCH         verify as of this time\n"
"  --skew SEC         clock skew allowed, 1..600 (default 60)\n"
"  --wpt-ttl SEC      longest WPT lifetime accepted, 1..3600 (default 300)\n"
"  --json             print the result (or the rejection) as JSON\n"
"Exit status: 0 accepted, 1 rejected, 2 usage or configuration error.\n");
}

static void
wic_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " wic --issuer-ca FILE [--oid OID] [--purpose client|server]\n"
"           [--at EPOCH] [--json] CERT\n"
"\n"
"Checks a Workload Identity Certificate (PEM, the WIC then its chain, or DER;\n"
"\"-\" for stdin) as a TLS peer presents it: the chain to the issuer CA, the\n"
"X509-SVID rules and the owner binding (docs/relying-party.md).\n"
"  --issuer-ca FILE   the issuer CA certificate(s), PEM\n"
"  --oid OID          the owner binding's extension (default 2.5.29.9)\n"
"  --purpose P        client (default) or server: the extendedKeyUsage needed\n"
"  --at EPOCH         verify as of this time\n"
"  --json             print the result (or the rejection) as JSON\n"
"Exit status: 0 accepted, 1 rejected, 2 usage or configuration error.\n");
}

static void
print_result(const struct ob_rp_result *r)
{
	const char *v;

	printf("accepted\n");
	printf("via         %s\n", ob_rp_result_via(r));
	printf("agent       %s\n", ob_rp_result_agent(r));
	printf("agent key   %s (%s)\n", ob_rp_result_agent_jkt(r),
	    ob_rp_result_agent_alg(r));
	printf("owner       %s (%s)\n", ob_rp_result_owner(r),
	    ob_rp_result_owner_type(r));
	if ((v = ob_rp_result_owner_group(r)) != NULL)
		printf("group       %s\n", v);
	if ((v = ob_rp_result_gateway(r)) != NULL)
		printf("gateway     %s (leaf %s)\n", v,
		    ob_rp_result_gateway_x5t(r));
	else
		printf("owner key   %s\n", ob_rp_result_owner_jkt(r));
	printf("kind        %s\n", ob_rp_result_owner_kind(r));
	printf("assurance   %s\n", ob_rp_result_assurance(r));
	printf("model       %s\n", ob_rp_result_model(r));
	printf("approved    %lld\n", ob_rp_result_approved_at(r));
	if ((v = ob_rp_result_dns_name(r)) != NULL)
		printf("dns_name    %s\n", v);
	if ((v = ob_rp_result_logical_id(r)) != NULL)
		printf("logical_id  %s\n", v);
	if ((v = ob_rp_result_client_id(r)) != NULL)
		printf("client_id   %s\n", v);
	if ((v = ob_rp_result_iss(r)) != NULL)
		printf("issuer      %s\n", v);
	printf("expires     %lld\n", ob_rp_result_exp(r));
}

/* A token from a file, the surrounding whitespace (a final newline)
 * removed; *out is wiped and freed with wipe_free. */
static int
read_token(const char *path, char **out)
{
	char	*buf = NULL;
	size_t	 n, i = 0;
	int	 r;

	if ((r = ob_read_all(path, MAX_TOKEN, &buf, &n)) != OB_OK)
		return r;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n'))
		i++;
	if (i > 0)
		memmove(buf, buf + i, n - i + 1);
	*out = buf;
	return OB_OK;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int
print_or_reject(int r, const struct ob_rp_result *res, int json)
{
	char	*js = NULL;
	int	 rc;

	if (r == OB_OK) {
		if (!json) {
			print_result(res);
			return 0;
		}
		if ((r = ob_rp_result_json(res, &js)) == OB_OK) {
			printf("%s\n", js);
			free(js);
			return 0;
		}
		return cli_error(r);
	}
	rc = r == OB_ERR_RP_CONFIG || r == OB_ERR_STATE ||
	    r == OB_ERR_STATE_BUSY || r == OB_ERR_INVALID_ARG ||
	    r == OB_ERR_ALLOC ? 2 : 1;
	if (json)
		ob_print_error_json("rejected", r, rc);
	ob_print_error(PROG ": rejected", r);
	return rc;
}

/* --at, --skew: the options every verb shares. */
static int
common_opt(struct ob_rp *rp, int ch, const char *arg)
{
	long long	v;
	int		r;

	if ((r = ob_parse_ll(arg, 1, ch == 'a' ? 253402300799LL : 3600,
	    &v)) != OB_OK)
		return r;
	switch (ch) {
	case 'a':
		return ob_rp_set_now(rp, v);
	case 's':
		return ob_rp_set_skew(rp, v);
	default:
		return ob_rp_set_wpt_max_ttl(rp, v);
	}
}

/* NAME=FILE: the header's value from the file. */
static int
add_oth(struct ob_rp_req *q, const char *arg)
{
	const char	*eq = strchr(arg, '=');
	char		 name[128], *val = NULL;
	size_t		 n;
	int		 r;

	if (eq == NULL || (n = (size_t)(eq - arg)) == 0 || n >= sizeof(name))
		return ob_errf(OB_ERR_USAGE, "--oth is NAME=FILE");
	memcpy(name, arg, n);
	name[n] = '\0';
	if ((r = read_token(eq + 1, &val)) != OB_OK)
		return r;
	r = ob_rp_req_add_other_token(q, name, val);
	wipe_free(val);
	return r;
}

int
cli_wit(int argc, char **argv)
{
	enum { O_JWKS = 256, O_CA, O_AUD, O_ISS, O_STATE, O_ATH, O_TTH, O_OTH,
	    O_AT, O_SKEW, O_TTL, O_JSON };
	static const struct option longopts[] = {
		{ "issuer-jwks", required_argument, NULL, O_JWKS },
		{ "issuer-ca", required_argument, NULL, O_CA },
		{ "aud", required_argument, NULL, O_AUD },
		{ "iss", required_argument, NULL, O_ISS },
		{ "state", required_argument, NULL, O_STATE },
		{ "ath", required_argument, NULL, O_ATH },
		{ "tth", required_argument, NULL, O_TTH },
		{ "oth", required_argument, NULL, O_OTH },
		{ "at", required_argument, NULL, O_AT },
		{ "skew", required_argument, NULL, O_SKEW },
		{ "wpt-ttl", required_argument, NULL, O_TTL },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_rp		*rp = NULL;
	struct ob_rp_req	*q = NULL;
	struct ob_state		*st = NULL;
	struct ob_rp_result	*res = NULL;
	const char		*state_path = NULL;
	char			*wit = NULL, *wpt = NULL, *tok = NULL;
	int			 ch, r, rc = 2, json = 0, keys = 0, aud = 0;

	if (ob_rp_new(&rp) != OB_OK || ob_rp_req_new(&q) != OB_OK) {
		(void)cli_error(OB_ERR_ALLOC);
		goto out;
	}
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = OB_OK;
		switch (ch) {
		case O_JWKS:
			r = ob_rp_add_issuer_jwks_file(rp, optarg);
			keys = 1;
			break;
		case O_CA:
			r = ob_rp_add_issuer_ca_file(rp, optarg);
			keys = 1;
			break;
		case O_AUD:
			r = ob_rp_req_set_aud(q, optarg);
			aud = 1;
			break;
		case O_ISS:
			r = ob_rp_set_iss(rp, optarg);
			break;
		case O_STATE:
			state_path = optarg;
			break;
		case O_ATH:
		case O_TTH:
			if ((r = read_token(optarg, &tok)) == OB_OK)
				r = ch == O_ATH ?
				    ob_rp_req_set_access_token(q, tok) :
				    ob_rp_req_set_txn_token(q, tok);
			wipe_free(tok);
			tok = NULL;
			break;
		case O_OTH:
			r = add_oth(q, optarg);
			break;
		case O_AT:
			r = common_opt(rp, 'a', optarg);
			break;
		case O_SKEW:
			r = common_opt(rp, 's', optarg);
			break;
		case O_TTL:
			r = common_opt(rp, 't', optarg);
			break;
		case O_JSON:
			json = 1;
			break;
		case 'h':
			wit_usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = cli_badopt(wit_usage, argc, argv);
			goto out;
		}
		if (r != OB_OK) {
			rc = cli_error(r);
			goto out;
		}
	}
	if (!keys || !aud || optind + 2 != argc) {
		rc = cli_usage(wit_usage, NULL);
		goto out;
	}
	if ((r = state_path != NULL ? ob_state_open_sqlite(state_path, &st) :
	    ob_state_open_memory(&st)) != OB_OK) {
		rc = cli_error(r);
		goto out;
	}
	if ((r = read_token(argv[optind], &wit)) != OB_OK ||
	    (r = read_token(argv[optind + 1], &wpt)) != OB_OK) {
		rc = cli_error(r);
		goto out;
	}
	r = ob_rp_verify_wit(rp, st, q, wit, wpt, &res);
	rc = print_or_reject(r, res, json);
out:
	free(wit);
	free(wpt);
	ob_rp_result_free(&res);
	ob_state_free(&st);
	ob_rp_req_free(&q);
	ob_rp_free(&rp);
	return rc;
}

int
cli_wic(int argc, char **argv)
{
	enum { O_CA = 256, O_OID, O_PURPOSE, O_AT, O_JSON };
	static const struct option longopts[] = {
		{ "issuer-ca", required_argument, NULL, O_CA },
		{ "oid", required_argument, NULL, O_OID },
		{ "purpose", required_argument, NULL, O_PURPOSE },
		{ "at", required_argument, NULL, O_AT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ob_rp		*rp = NULL;
	struct ob_rp_result	*res = NULL;
	char			*buf = NULL;
	size_t			 len;
	int			 ch, r, rc = 2, json = 0, ca = 0;

	if (ob_rp_new(&rp) != OB_OK) {
		(void)cli_error(OB_ERR_ALLOC);
		goto out;
	}
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		r = OB_OK;
		switch (ch) {
		case O_CA:
			r = ob_rp_add_issuer_ca_file(rp, optarg);
			ca = 1;
			break;
		case O_OID:
			r = ob_rp_set_owner_oid(rp, optarg);
			break;
		case O_PURPOSE:
			if (strcmp(optarg, "client") == 0)
				r = ob_rp_set_wic_purpose(rp,
				    OB_RP_PURPOSE_CLIENT);
			else if (strcmp(optarg, "server") == 0)
				r = ob_rp_set_wic_purpose(rp,
				    OB_RP_PURPOSE_SERVER);
			else
				r = ob_errf(OB_ERR_USAGE, "--purpose is client "
				    "or server");
			break;
		case O_AT:
			r = common_opt(rp, 'a', optarg);
			break;
		case O_JSON:
			json = 1;
			break;
		case 'h':
			wic_usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = cli_badopt(wic_usage, argc, argv);
			goto out;
		}
		if (r != OB_OK) {
			rc = cli_error(r);
			goto out;
		}
	}
	if (!ca || optind + 1 != argc) {
		rc = cli_usage(wic_usage, NULL);
		goto out;
	}
	if ((r = ob_read_all(argv[optind], MAX_CERTS, &buf, &len)) != OB_OK) {
		rc = cli_error(r);
		goto out;
	}
	r = ob_rp_verify_wic(rp, buf, len, &res);
	rc = print_or_reject(r, res, json);
out:
	free(buf);
	ob_rp_result_free(&res);
	ob_rp_free(&rp);
	return rc;
}
