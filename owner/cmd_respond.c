/*
 * ownerbind respond: the owner's responder for the server-mediated model
 * (docs/server-mediated.md).  It long-polls the identity server for this
 * owner's held requests over mutual TLS (the device's certificate is how
 * the server knows whose requests to show), with the server's public key
 * pinned, shows each one, asks, signs an owner entry with the request's
 * nonce using any owner key backend, and posts it back.  Outbound only,
 * so it works behind NAT.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/cliutil.h"
#include "core/b64url.h"
#include "core/binding_code.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/http.h"
#include "owner/ownerbind.h"
#include "tokens/token.h"

#define RESPOND_LIST	"/v1/owner/challenges"
#define RESPOND_POLL_S	25	/* the longest wait asked for */

struct respond {
	const char	*server, *cert, *key, *ca, *pin, *owner_key;
	const char	*pin_source, *handle, *save;
	long long	 wait, timeout;
	int		 once, yes, deny;
	char		 base[512];
};

static void
respond_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " respond --server URL --cert FILE --key FILE --ca FILE\n"
"           --server-pin sha256//BASE64 --owner-key URI [--pin-source SRC]\n"
"           [--once] [--yes | --deny] [--handle H] [--wait SECS]\n"
"           [--save-answer FILE] [--timeout SECS]\n"
"\n"
"Answers the identity server's challenges for this owner (server-mediated\n"
"model).  --cert and --key are this device's TLS identity, which the\n"
"server maps to its owner; --ca the CA of the server's certificate and\n"
"--server-pin the SHA-256 of its public key (curl's pinnedpubkey form):\n"
"both must hold.  Each challenge shows the agent, audience, lifetime,\n"
"agent key thumbprint, proxy and binding code (compare it with the one\n"
"the agent side shows), and an approval window the request proposes\n"
"(\"renewable until\": the agent renews until then without you), then\n"
"asks on the terminal; --yes approves and --deny refuses without\n"
"asking.  Approval signs an owner entry with the challenge's nonce with\n"
"--owner-key (any backend: file:, pkcs11:, tpm2:, piv:, fido2:).\n"
"--once answers one challenge and exits (waiting up to --wait seconds,\n"
"default 30, for one to arrive); --handle answers only that request.\n"
"--save-answer writes the answer sent (for audits).  A busy server (429,\n"
"503) is asked again after its Retry-After (within --wait for --once).\n");
}

/* One HTTPS exchange; *out is the reply body on 200.  With busy not
 * NULL, a 429 or 503 also sets *busy to the seconds to wait (>= 1). */
static int
exchange(struct respond *rs, const char *path, const char *body,
    long timeout, json_t **out, int *busy)
{
	struct curl_slist	*hdrs = NULL;
	struct owner_reply	 rp;
	CURL			*c = NULL;
	CURLcode		 cr;
	char			 errbuf[CURL_ERROR_SIZE] = "", url[1024];
	long			 status = 0;
	int			 r;

	memset(&rp, 0, sizeof(rp));
	*out = NULL;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", rs->base, path) >=
	    sizeof(url))
		return ob_errf(OB_ERR_USAGE, "--server is too long");
	if ((c = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(NULL, "Accept: application/json, "
	    "application/problem+json")) == NULL ||
	    (hdrs = curl_slist_append(hdrs, "Expect:")) == NULL ||
	    (body != NULL && (hdrs = curl_slist_append(hdrs,
	    "Content-Type: application/json")) == NULL)) {
		r = ob_errf(OB_ERR_ALLOC, "libcurl");
		goto out;
	}
	if ((r = owner_http_setup(c, url, rs->cert, rs->key, rs->ca, timeout,
	    errbuf, &rp)) != OB_OK)
		goto out;
	/* The pin holds as well as the CA: a CA that issues for the name
	 * to someone else does not get this owner's approvals. */
	if (curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, rs->pin) !=
	    CURLE_OK || curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) !=
	    CURLE_OK || (body != NULL &&
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)) {
		r = ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
		goto out;
	}
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		if (cr == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
			r = ob_errf(OB_ERR_RESPOND_PIN, "%s: %s", url,
			    errbuf[0] != '\0' ? errbuf :
			    curl_easy_strerror(cr));
		else if (rp.too_big)
			r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "the answer exceeds "
			    "%d bytes", OWNER_HTTP_MAX_REPLY);
		else
			r = owner_http_error(c, cr, errbuf, url);
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		r = owner_http_refused(status, &rp);
		if (busy != NULL && (status == 429 || status == 503))
			*busy = rp.retry_after > 0 ? rp.retry_after : 1;
		goto out;
	}
	if (rp.buf == NULL || ob_json_parse_object(rp.buf, rp.len, out) !=
	    OB_OK) {
		r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "200 without a JSON object");
		goto out;
	}
	r = OB_OK;
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(rp.buf);
	return r;
}

/* The details a person decides on; the code is recomputed here. */
static int
show(const json_t *ch, const struct ob_envelope *env, const char *nonce,
    const char *code)
{
	char		 mine[OB_BINDING_CODE_CHARS + 1];
	unsigned char	 md[32];
	char		*esha = NULL, when[32];
	struct tm	 tm;
	time_t		 t;
	const char	*req = json_string_value(json_object_get(ch, "request"));
	int		 r;

	OB_TRY(ob_sha256(req, strlen(req), md));
	OB_TRY(ob_b64url_encode(md, sizeof(md), &esha));
	OB_TRY(ob_binding_code(esha, nonce, mine));
	/* lint: ok: the binding code is public, shown on both sides */
	if (strcmp(mine, code) != 0) {
		r = ob_errf(OB_ERR_RESPOND_CODE, "the server says %s, the "
		    "request and nonce give %s", code, mine);
		goto out;
	}
	fprintf(stderr,
	    PROG ": the identity server asks you to approve a credential\n"
	    "  agent     %s\n"
	    "  owner     %s\n"
	    "  audience  %s\n"
	    "  lifetime  %llds\n"
	    "  agent key %s\n"
	    "  proxy     %s\n"
	    "  code      %s (must match the code the agent side shows)\n",
	    env->claims.sub, env->claims.owner, env->claims.aud,
	    env->claims.exp - env->claims.iat, env->claims.jkt,
	    json_string_value(json_object_get(ch, "proxy")), mine);
	/* An approval window is signed with the rest: the owner sees it. */
	if (env->claims.renew_until != 0) {
		t = (time_t)env->claims.renew_until;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
		    0)
			(void)snprintf(when, sizeof(when), "?");
		fprintf(stderr, "  renewable until %s (%lld, %llds after the "
		    "request): the agent renews without asking you again\n",
		    when, env->claims.renew_until,
		    env->claims.renew_until - env->claims.iat);
	}
	r = OB_OK;
out:
	free(esha);
	return r;
}

/* 1 approve, 0 refuse, -1 no terminal to ask on (answer nothing). */
static int
ask(void)
{
	FILE	*tty;
	char	 line[16];
	int	 yes = 0;

	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return -1;
	fprintf(tty, "Approve? [y/N] ");
	fflush(tty);
	if (fgets(line, sizeof(line), tty) != NULL)
		yes = line[0] == 'y' || line[0] == 'Y';
	fclose(tty);
	return yes;
}

/* The owner entry just appended, as docs/api.md's answer. */
static int
answer_json(const struct ob_entry *e, char **out)
{
	json_t	*o;
	size_t	 n;
	int	 r;

	if ((o = json_pack("{s:s}", "protected", e->protected_b64)) == NULL)
		return OB_ERR_ALLOC;
	if ((r = ob_json_set_b64(o, "signature", e->sig, e->siglen)) ==
	    OB_OK && e->header != NULL &&
	    json_object_set(o, "header", e->header) != 0)
		r = OB_ERR_ALLOC;
	if (r == OB_OK)
		r = ob_json_dump(o, out, &n);
	json_decref(o);
	return r;
}

static int
answer_one(struct respond *rs, const json_t *ch)
{
	struct ob_envelope	*env = NULL;
	struct ob_token		*tok = NULL;
	struct ob_pin_source	*pin = NULL;
	struct ob_token_opts	 opts;
	const char		*handle, *nonce, *code, *req;
	char			 path[128], *body = NULL;
	json_t			*res = NULL;
	int			 r, yes;

	memset(&opts, 0, sizeof(opts));
	handle = json_string_value(json_object_get(ch, "handle"));
	nonce = json_string_value(json_object_get(ch, "nonce"));
	code = json_string_value(json_object_get(ch, "binding_code"));
	req = json_string_value(json_object_get(ch, "request"));
	if (handle == NULL || nonce == NULL || code == NULL || req == NULL ||
	    strlen(handle) > 64) {
		r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "a challenge without "
		    "handle, nonce, binding_code and request");
		goto out;
	}
	OB_TRY(ob_envelope_parse(req, strlen(req), 0, &env));
	OB_TRY(show(ch, env, nonce, code));
	yes = rs->yes ? 1 : rs->deny ? 0 : ask();
	if (yes < 0) {
		r = ob_errf(OB_ERR_USAGE, "no terminal to ask on: run it on one, "
		    "or pass --yes or --deny");
		goto out;
	}
	(void)snprintf(path, sizeof(path), RESPOND_LIST "/%s", handle);
	if (!yes) {
		fprintf(stderr, PROG ": refusing\n");
		OB_TRY(exchange(rs, path, "{\"decision\":\"deny\"}",
		    (long)rs->timeout, &res, NULL));
		goto out;
	}
	OB_TRY(ob_pin_source_parse(rs->pin_source, &pin));
	opts.pin = pin;
	OB_TRY(ob_token_open(rs->owner_key, &opts, &tok));
	OB_TRY(ob_token_sign_entry(tok, env, OB_ROLE_OWNER,
	    OB_MODEL_SERVER_MEDIATED, nonce, NULL, NULL, (long long)time(NULL)));
	OB_TRY(answer_json(&env->entries[env->n - 1], &body));
	if (rs->save != NULL)
		OB_TRY(ob_write_all(rs->save, body, strlen(body), 0600));
	OB_TRY(exchange(rs, path, body, (long)rs->timeout, &res, NULL));
	fprintf(stderr, PROG ": approved; the agent side collects the "
	    "credential\n");
out:
	json_decref(res);
	free(body);
	ob_token_close(&tok);
	ob_pin_source_free(&pin);
	ob_envelope_free(&env);
	return r;
}

static void
sleep_s(int s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int
respond_run(struct respond *rs)
{
	json_t		*o = NULL, *a, *ch;
	char		 path[64];
	time_t		 until = time(NULL) + (time_t)rs->wait;
	long long	 poll_s;
	size_t		 i;
	int		 r, answered, busy;

	for (;;) {
		/* Each round waits at the server (long-poll): up to
		 * RESPOND_POLL_S, as long as the server allows
		 * (challenge.wait_max_s), and for --once no longer than
		 * what is left of --wait. */
		poll_s = RESPOND_POLL_S;
		if (rs->once && until - time(NULL) < poll_s)
			poll_s = until - time(NULL) > 1 ?
			    (long long)(until - time(NULL)) : 1;
		(void)snprintf(path, sizeof(path), RESPOND_LIST "?wait=%lld",
		    poll_s);
		busy = 0;
		if ((r = exchange(rs, path, NULL, (long)(rs->timeout + poll_s),
		    &o, &busy)) != OB_OK) {
			/* A busy server (429, 503) is waited for, as it says,
			 * within --wait for --once; anything else ends it. */
			if (busy == 0 || (rs->once && time(NULL) + busy > until))
				return r;
			fprintf(stderr, PROG " respond: %s; trying again in "
			    "%d s\n", ob_err_detail(), busy);
			sleep_s(busy);
			continue;
		}
		a = json_object_get(o, "challenges");
		answered = 0;
		json_array_foreach(a, i, ch) {
			const char *h = json_string_value(json_object_get(ch,
			    "handle"));

			if (rs->handle != NULL && (h == NULL ||
			    strcmp(h, rs->handle) != 0))
				continue;
			if ((r = answer_one(rs, ch)) != OB_OK) {
				if (rs->once)
					goto out;
				ob_print_error(PROG " respond", r);
			}
			answered = 1;
			if (rs->once)
				break;
		}
		json_decref(o);
		o = NULL;
		if (answered && rs->once)
			return OB_OK;
		if (rs->once && time(NULL) >= until)
			return ob_errf(OB_ERR_RESPOND_NONE, "none in %llds",
			    rs->wait);
	}
out:
	json_decref(o);
	return r;
}

int
cmd_respond(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CERT, O_KEY, O_CA, O_PIN, O_OKEY, O_PINSRC,
	    O_ONCE, O_YES, O_DENY, O_HANDLE, O_WAIT, O_SAVE, O_TIMEOUT };
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "server-pin", required_argument, NULL, O_PIN },
		{ "owner-key", required_argument, NULL, O_OKEY },
		{ "pin-source", required_argument, NULL, O_PINSRC },
		{ "once", no_argument, NULL, O_ONCE },
		{ "yes", no_argument, NULL, O_YES },
		{ "deny", no_argument, NULL, O_DENY },
		{ "handle", required_argument, NULL, O_HANDLE },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "save-answer", required_argument, NULL, O_SAVE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct respond	 rs;
	const char	*wait = NULL, *tmo = NULL;
	size_t		 n;
	int		 ch, r;

	memset(&rs, 0, sizeof(rs));
	rs.wait = 30;
	rs.timeout = 30;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_SERVER: rs.server = optarg; break;
		case O_CERT: rs.cert = optarg; break;
		case O_KEY: rs.key = optarg; break;
		case O_CA: rs.ca = optarg; break;
		case O_PIN: rs.pin = optarg; break;
		case O_OKEY: rs.owner_key = optarg; break;
		case O_PINSRC: rs.pin_source = optarg; break;
		case O_ONCE: rs.once = 1; break;
		case O_YES: rs.yes = 1; break;
		case O_DENY: rs.deny = 1; break;
		case O_HANDLE: rs.handle = optarg; break;
		case O_WAIT: wait = optarg; break;
		case O_SAVE: rs.save = optarg; break;
		case O_TIMEOUT: tmo = optarg; break;
		case 'h':
			respond_usage(stdout);
			return 0;
		default:
			return owner_badopt(respond_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("respond", respond_usage, { "--server", rs.server },
	    { "--cert", rs.cert }, { "--key", rs.key }, { "--ca", rs.ca },
	    { "--server-pin", rs.pin }, { "--owner-key", rs.deny ? "" :
	    rs.owner_key }))
		return EXIT_USAGE;
	if (optind != argc)
		return owner_usage(respond_usage, "respond: an unexpected "
		    "argument");
	if (rs.yes && rs.deny)
		return owner_usage(respond_usage, "respond: --yes and --deny "
		    "exclude each other");
	if (strncmp(rs.server, "https://", 8) != 0 ||
	    /* lint: ok: the pin is a public key's hash, not a secret */
	    strncmp(rs.pin, "sha256//", 8) != 0)
		return fail(ob_errf(OB_ERR_USAGE, "--server is an https:// URL "
		    "and --server-pin sha256//BASE64"));
	if ((wait != NULL && ob_parse_ll(wait, 1, 3600, &rs.wait) != OB_OK) ||
	    (tmo != NULL && ob_parse_ll(tmo, 1, 3600, &rs.timeout) != OB_OK))
		return fail(ob_errf(OB_ERR_USAGE, "--wait and --timeout are "
		    "1..3600 seconds"));
	n = strlen(rs.server);
	while (n > 8 && rs.server[n - 1] == '/')
		n--;
	if (n >= sizeof(rs.base))
		return fail(ob_errf(OB_ERR_USAGE, "--server is too long"));
	memcpy(rs.base, rs.server, n);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(ob_errf(OB_ERR_ALLOC, "libcurl"));
	r = respond_run(&rs);
	curl_global_cleanup();
	return r == OB_OK ? 0 : fail(r);
}
