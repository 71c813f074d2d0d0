/*
 * ownerbind wpt: the agent's Workload Proof Token for one request
 * (draft-ietf-wimse-wpt), signed with the key its WIT names in cnf.jwk,
 * through any key backend (tokens/).  The relying side is
 * ownerbind-verify wit and ob_rp_verify_wit (docs/relying-party.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cliutil.h"
#include "core/alg.h"
#include "core/b64url.h"
#include "core/err.h"
#include "core/json.h"
#include "core/jwk.h"
#include "owner/ownerbind.h"
#include "tokens/pin.h"
#include "tokens/token.h"

#define WPT_DEF_TTL	60
#define WPT_MAX_TTL	3600
#define MAX_WIT		16384
#define MAX_TOKEN	16384
#define MAX_OTH		8
#define OWNER_CLAIM	"urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"

static void
wpt_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " wpt --agent-key URI --wit FILE --aud URI [--ttl SEC]\n"
"           [--ath FILE] [--tth FILE] [--oth NAME=FILE]... [--headers]\n"
"           [--pin-source SPEC] [-o OUT]\n"
"\n"
"Writes a Workload Proof Token for one request: typ wpt+jwt, the alg of the\n"
"WIT's cnf.jwk, aud the target URI, a fresh jti, exp now + ttl, wth the\n"
"hash of the WIT, signed with the agent key the WIT was issued for.\n"
"  --agent-key URI    the agent key: file:PATH, pkcs11:..., tpm2:..., piv:...\n"
"  --wit FILE         the WIT, as ownerbind submit --wit wrote it\n"
"  --aud URI          the request's target URI, without query or fragment\n"
"  --ttl SEC          lifetime, 1..%d (default %d; services accept 300 s)\n"
"  --ath FILE         the request also carries this OAuth access token (the\n"
"                     file holds it; never argv): bind it with ath\n"
"  --tth FILE         the same for a Txn-Token (tth)\n"
"  --oth NAME=FILE    the same for header NAME (oth), up to %d times\n"
"  --headers          print the two HTTP header lines, for curl -H\n"
"  -o OUT             output file (default stdout)\n", WPT_MAX_TTL,
	    WPT_DEF_TTL, MAX_OTH);
}

/* A file's content without the whitespace around it; wiped when freed. */
static int
read_trim(const char *path, size_t max, char **out)
{
	char	*buf = NULL;
	size_t	 n, i = 0;
	int	 r;

	if ((r = ob_read_all(path, max, &buf, &n)) != OB_OK)
		return r;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n'))
		i++;
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
hash_b64(const char *s, char **out)
{
	unsigned char	md[32];
	int		r;

	if ((r = ob_sha256(s, strlen(s), md)) != OB_OK)
		return r;
	return ob_b64url_encode(md, sizeof(md), out);
}

/* Set claim to the hash of the token in file (the file is a secret). */
static int
bind_token(json_t *o, const char *claim, const char *file)
{
	char	*tok = NULL, *h = NULL;
	int	 r;

	if ((r = read_trim(file, MAX_TOKEN, &tok)) != OB_OK)
		return r;
	if (*tok == '\0')
		r = ob_errf(OB_ERR_USAGE, "%s: the token file is empty", file);
	else if ((r = hash_b64(tok, &h)) == OB_OK &&
	    json_object_set_new(o, claim, json_string(h)) != 0)
		r = OB_ERR_ALLOC;
	wipe_free(tok);
	free(h);
	return r;
}

/* NAME=FILE: oth keys are header names in lower case. */
static int
bind_other(json_t *oth, const char *arg)
{
	const char	*eq = strchr(arg, '=');
	char		 name[65];
	size_t		 i, n;

	if (eq == NULL || (n = (size_t)(eq - arg)) == 0 || n >= sizeof(name))
		return ob_errf(OB_ERR_USAGE, "--oth is NAME=FILE");
	for (i = 0; i < n; i++)
		name[i] = (char)(arg[i] >= 'A' && arg[i] <= 'Z' ?
		    arg[i] - 'A' + 'a' : arg[i]);
	name[n] = '\0';
	if (json_object_get(oth, name) != NULL)
		return ob_errf(OB_ERR_USAGE, "--oth %s given twice", name);
	return bind_token(oth, name, eq + 1);
}

/* The WIT's claims (not verified: the agent trusts its own credential;
 * the service verifies it). */
static int
wit_claims(const char *wit, json_t **out)
{
	const char	*d1, *d2;
	unsigned char	*b = NULL;
	size_t		 n;
	int		 r;

	if ((d1 = strchr(wit, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return ob_errf(OB_ERR_JWT_FORM, "--wit is not a compact JWT");
	if ((r = ob_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), MAX_WIT, &b,
	    &n)) != OB_OK)
		return ob_errf(OB_ERR_JWT_FORM, "WIT claims: %s",
		    ob_err_text(r));
	r = ob_json_parse_object(b, n, out);
	free(b);
	return r != OB_OK ? ob_errf(OB_ERR_JWT_FORM, "WIT claims: %s",
	    ob_err_text(r)) : OB_OK;
}

/* The agent key must be the WIT's cnf.jwk, and sign with its alg. */
static int
key_check(const struct ob_token *tok, const json_t *cl, const char **alg)
{
	const json_t	*jwk = json_object_get(json_object_get(cl, "cnf"),
			    "jwk");
	const char	*a;
	enum ob_alg	 e;
	char		 jkt[44];

	if (!json_is_object(jwk) || (a = json_string_value(json_object_get(jwk,
	    "alg"))) == NULL || ob_jwk_thumbprint(jwk, jkt) != OB_OK)
		return ob_errf(OB_ERR_WIT_CLAIMS, "the WIT has no cnf.jwk with "
		    "alg");
	if (strcmp(jkt, ob_token_kid(tok)) != 0)
		return ob_errf(OB_ERR_KEY_MISMATCH, "--agent-key is not the "
		    "key in the WIT's cnf.jwk");
	if (ob_alg_from_name(strcmp(a, "Ed25519") == 0 ? "EdDSA" : a, &e) !=
	    OB_OK || e != ob_token_alg(tok))
		return ob_errf(OB_ERR_ALG_MISMATCH, "the WIT's cnf.jwk says "
		    "%s, the agent key signs %s", a,
		    ob_alg_name(ob_token_alg(tok)));
	*alg = a;
	return OB_OK;
}

static int
b64_json(const json_t *j, char **out)
{
	char	*s = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_json_dump(j, &s, &n)) != OB_OK)
		return r;
	r = ob_b64url_encode((unsigned char *)s, n, out);
	free(s);
	return r;
}

struct wpt_args {
	const char	*uri, *witf, *aud, *pin, *out;
	const char	*ath, *tth;
	const char	*oth[MAX_OTH];
	size_t		 noth;
	long long	 ttl;
	int		 headers;
};

static int
wpt_claims(const struct wpt_args *a, const char *wit, long long now,
    json_t **out)
{
	json_t		*c = NULL, *oth = NULL;
	unsigned char	 rnd[16];
	char		*jti = NULL, *wth = NULL;
	size_t		 i;
	int		 r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return ob_errf(OB_ERR_RANDOM, "jti");
	OB_TRY(ob_b64url_encode(rnd, sizeof(rnd), &jti));
	OB_TRY(hash_b64(wit, &wth));
	r = OB_ERR_ALLOC;
	if ((c = json_pack("{s:s,s:I,s:I,s:s,s:s}", "aud", a->aud, "iat",
	    (json_int_t)now, "exp", (json_int_t)(now + a->ttl), "jti", jti,
	    "wth", wth)) == NULL)
		goto out;
	if (a->ath != NULL)
		OB_TRY(bind_token(c, "ath", a->ath));
	if (a->tth != NULL)
		OB_TRY(bind_token(c, "tth", a->tth));
	if (a->noth > 0) {
		r = OB_ERR_ALLOC;
		if ((oth = json_object()) == NULL)
			goto out;
		for (i = 0; i < a->noth; i++)
			OB_TRY(bind_other(oth, a->oth[i]));
		if (json_object_set(c, "oth", oth) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	*out = c;
	c = NULL;
	r = OB_OK;
out:
	json_decref(c);
	json_decref(oth);
	free(jti);
	free(wth);
	return r;
}

static int
wpt_emit(const struct wpt_args *a, const char *wit, const char *wpt)
{
	char	*s;
	size_t	 n;
	int	 r;

	n = strlen(wit) + strlen(wpt) + 64;
	if ((s = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	if (a->headers)
		(void)snprintf(s, n, "Workload-Identity-Token: %s\n"
		    "Workload-Proof-Token: %s\n", wit, wpt);
	else
		(void)snprintf(s, n, "%s\n", wpt);
	r = ob_write_all(a->out, s, strlen(s), 0600);
	free(s);
	return r;
}

static int
wpt_run(const struct wpt_args *a)
{
	struct ob_token		*tok = NULL;
	struct ob_pin_source	*pin = NULL;
	struct ob_token_opts	 opts;
	struct ob_approval	 what;
	json_t			*wc = NULL, *hdr = NULL, *cl = NULL;
	const json_t		*owner;
	const char		*alg = NULL;
	char			*wit = NULL, *h64 = NULL, *c64 = NULL;
	char			*tbs = NULL, *s64 = NULL, *wpt = NULL;
	unsigned char		*sig = NULL;
	long long		 now = (long long)time(NULL);
	size_t			 siglen, n;
	int			 r;

	OB_TRY(read_trim(a->witf, MAX_WIT, &wit));
	OB_TRY(wit_claims(wit, &wc));
	memset(&opts, 0, sizeof(opts));
	opts.quiet = 1;
	OB_TRY(ob_pin_source_parse(a->pin, &pin));
	opts.pin = pin;
	OB_TRY(ob_token_open(a->uri, &opts, &tok));
	OB_TRY(key_check(tok, wc, &alg));
	OB_TRY(wpt_claims(a, wit, now, &cl));
	r = OB_ERR_ALLOC;
	if ((hdr = json_pack("{s:s,s:s}", "alg", alg, "typ", "wpt+jwt")) ==
	    NULL)
		goto out;
	OB_TRY(b64_json(hdr, &h64));
	OB_TRY(b64_json(cl, &c64));
	n = strlen(h64) + 1 + strlen(c64);
	if ((tbs = malloc(n + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(tbs, n + 1, "%s.%s", h64, c64);
	/* What a PIN prompt or a touch shows: this request, for this agent. */
	owner = json_object_get(wc, OWNER_CLAIM);
	memset(&what, 0, sizeof(what));
	what.sub = json_string_value(json_object_get(wc, "sub"));
	what.aud = a->aud;
	what.owner = json_string_value(json_object_get(owner, "id"));
	what.model = json_string_value(json_object_get(owner, "model"));
	what.role = "wpt";
	what.exp = now + a->ttl;
	OB_TRY(ob_token_sign(tok, (unsigned char *)tbs, n, &what, &sig,
	    &siglen));
	OB_TRY(ob_b64url_encode(sig, siglen, &s64));
	if ((wpt = malloc(n + 1 + strlen(s64) + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(wpt, n + 1 + strlen(s64) + 1, "%s.%s", tbs, s64);
	r = wpt_emit(a, wit, wpt);
out:
	json_decref(wc);
	json_decref(hdr);
	json_decref(cl);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	free(wit);
	free(h64);
	free(c64);
	free(tbs);
	free(s64);
	free(sig);
	free(wpt);
	return r;
}

int
cmd_wpt(int argc, char **argv)
{
	enum { O_KEY = 256, O_WIT, O_AUD, O_TTL, O_ATH, O_TTH, O_OTH,
	    O_HEADERS, O_PIN };
	static const struct option longopts[] = {
		{ "agent-key", required_argument, NULL, O_KEY },
		{ "wit", required_argument, NULL, O_WIT },
		{ "aud", required_argument, NULL, O_AUD },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "ath", required_argument, NULL, O_ATH },
		{ "tth", required_argument, NULL, O_TTH },
		{ "oth", required_argument, NULL, O_OTH },
		{ "headers", no_argument, NULL, O_HEADERS },
		{ "pin-source", required_argument, NULL, O_PIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct wpt_args	a;
	int		ch, r;

	memset(&a, 0, sizeof(a));
	a.ttl = WPT_DEF_TTL;
	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: a.uri = optarg; break;
		case O_WIT: a.witf = optarg; break;
		case O_AUD: a.aud = optarg; break;
		case O_TTL:
			if ((r = ob_parse_ll(optarg, 1, WPT_MAX_TTL, &a.ttl)) !=
			    OB_OK)
				return fail_usage(ob_err_prefix(r, "--ttl"));
			break;
		case O_ATH: a.ath = optarg; break;
		case O_TTH: a.tth = optarg; break;
		case O_OTH:
			if (a.noth == MAX_OTH)
				return fail_usage(ob_errf(OB_ERR_USAGE,
				    "at most %d --oth",
				    MAX_OTH));
			a.oth[a.noth++] = optarg;
			break;
		case O_HEADERS: a.headers = 1; break;
		case O_PIN: a.pin = optarg; break;
		case 'o': a.out = optarg; break;
		case 'h':
			wpt_usage(stdout);
			return 0;
		default:
			return owner_badopt(wpt_usage, argc, argv);
		}
	}
	if (optind != argc || a.uri == NULL || a.witf == NULL ||
	    a.aud == NULL || strpbrk(a.aud, "?#") != NULL)
		return owner_usage(wpt_usage, NULL);
	r = wpt_run(&a);
	return r == OB_OK ? 0 : fail(r);
}
