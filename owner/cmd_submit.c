/*
 * ownerbind submit: the agent side of issuance.  POST an envelope to an
 * identity server's /v1/credentials over mutual TLS (libcurl) and write
 * the credential it issues.  Every failure a user can meet (the server's
 * CA, an expired or misnamed certificate, no server, no answer, a
 * refusal) has its own code and next step (docs/errors.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/cliutil.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/http.h"
#include "owner/ownerbind.h"

#define SUBMIT_PATH		"/v1/credentials"

static void
submit_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " submit --server URL --cert FILE --key FILE --ca FILE\n"
"           [--wit OUT] [--wic OUT] [--json] [--timeout SECS] ENVELOPE\n"
"\n"
"POSTs the envelope (a file, or - for stdin) to URL" SUBMIT_PATH " as\n"
"application/jose+json over mutual TLS: --cert and --key are this\n"
"client's certificate and unencrypted PEM key, --ca the CA that issued\n"
"the server's certificate (nothing else is trusted).  On 201 writes the\n"
"WIT to --wit and the WIC (PEM, leaf then chain) to --wic; with --json,\n"
"or without either, prints the server's JSON answer.  A refusal prints\n"
"the server's public code, title and request id.  --timeout bounds the\n"
"whole exchange (default 30 s).\n");
}

/* Our own certificate first: the server's refusal would say less. */
static int
check_own_cert(const char *path)
{
	X509	*x = NULL;
	FILE	*f;
	int	 r = OB_OK;

	if ((f = fopen(path, "re")) == NULL)
		return ob_errf(OB_ERR_IO, "--cert %s cannot be read", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return ob_errf(OB_ERR_IO, "--cert %s is not a PEM certificate",
		    path);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
		r = ob_errf(OB_ERR_SUBMIT_EXPIRED, "this client's certificate "
		    "(--cert %s) has expired", path);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0)
		r = ob_errf(OB_ERR_SUBMIT_EXPIRED, "this client's certificate "
		    "(--cert %s) is not valid yet", path);
	X509_free(x);
	return r;
}

static int
emit_str(const char *path, const char *s, int newline)
{
	size_t	 n = strlen(s);
	char	*t;
	int	 r;

	if ((t = malloc(n + 2)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(t, s, n);
	if (newline)
		t[n++] = '\n';
	r = ob_write_all(path, t, n, 0600);
	free(t);
	return r;
}

/* A 201: check the shape, then write (outputs only on success). */
static int
issued(const struct owner_reply *rp, const char *witf, const char *wicf,
    int json)
{
	json_t		*o = NULL;
	const char	*wit, *wic;
	int		 r;

	if (rp->buf == NULL || (r = ob_json_parse_object(rp->buf, rp->len,
	    &o)) != OB_OK) {
		r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "201 without a JSON object");
		goto out;
	}
	if ((wit = json_string_value(json_object_get(o, "wit"))) == NULL ||
	    (wic = json_string_value(json_object_get(o, "wic"))) == NULL ||
	    strncmp(wic, "-----BEGIN CERTIFICATE-----", 27) != 0 ||
	    !json_is_integer(json_object_get(o, "expires_at")) ||
	    !json_is_object(json_object_get(o, "owner"))) {
		r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "201 without wit, a PEM "
		    "wic, expires_at and owner");
		goto out;
	}
	if (witf != NULL)
		OB_TRY(emit_str(witf, wit, 1));
	if (wicf != NULL)
		OB_TRY(emit_str(wicf, wic, 0));
	if (json || (witf == NULL && wicf == NULL))
		OB_TRY(owner_emit_json(NULL, o));
	r = OB_OK;
out:
	json_decref(o);
	return r;
}

static int
submit_run(const char *server, const char *cert, const char *key,
    const char *ca, long timeout, const char *envf, const char *witf,
    const char *wicf, int json)
{
	struct curl_slist	*hdrs = NULL;
	struct owner_reply	 rp;
	CURL			*c = NULL;
	CURLcode		 cr;
	char			 errbuf[CURL_ERROR_SIZE] = "";
	char			*env = NULL, *url = NULL;
	size_t			 envlen, n;
	long			 status = 0;
	int			 r;

	memset(&rp, 0, sizeof(rp));
	if (strncmp(server, "https://", 8) != 0)
		return ob_errf(OB_ERR_USAGE, "--server is an https:// URL");
	OB_TRY(check_own_cert(cert));
	OB_TRY(ob_read_all(envf, OB_MAX_ENVELOPE, &env, &envlen));
	n = strlen(server);
	while (n > 8 && server[n - 1] == '/')
		n--;
	if ((url = malloc(n + sizeof(SUBMIT_PATH))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(url, server, n);
	memcpy(url + n, SUBMIT_PATH, sizeof(SUBMIT_PATH));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(NULL,
	    "Content-Type: application/jose+json")) == NULL ||
	    (hdrs = curl_slist_append(hdrs, "Accept: application/json, "
	    "application/problem+json")) == NULL ||
	    (hdrs = curl_slist_append(hdrs, "Expect:")) == NULL) {
		r = ob_errf(OB_ERR_ALLOC, "libcurl");
		goto out;
	}
	if ((r = owner_http_setup(c, url, cert, key, ca, timeout, errbuf,
	    &rp)) != OB_OK)
		goto out;
	if (curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, env) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)envlen) != CURLE_OK) {
		r = ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
		goto out;
	}
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		if (rp.too_big)
			r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "the answer exceeds "
			    "%d bytes", OWNER_HTTP_MAX_REPLY);
		else
			r = owner_http_error(c, cr, errbuf, url);
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 201) {
		r = owner_http_refused(status, &rp);
		goto out;
	}
	r = issued(&rp, witf, wicf, json);
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(rp.buf);
	free(url);
	free(env);
	return r;
}

int
cmd_submit(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CERT, O_KEY, O_CA, O_WIT, O_WIC, O_JSON,
	    O_TIMEOUT };
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "wit", required_argument, NULL, O_WIT },
		{ "wic", required_argument, NULL, O_WIC },
		{ "json", no_argument, NULL, O_JSON },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*server = NULL, *cert = NULL, *key = NULL, *ca = NULL;
	const char	*wit = NULL, *wic = NULL, *tmo = NULL;
	long long	 timeout = 30;
	int		 ch, json = 0, r;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_SERVER: server = optarg; break;
		case O_CERT: cert = optarg; break;
		case O_KEY: key = optarg; break;
		case O_CA: ca = optarg; break;
		case O_WIT: wit = optarg; break;
		case O_WIC: wic = optarg; break;
		case O_JSON: json = 1; break;
		case O_TIMEOUT: tmo = optarg; break;
		case 'h':
			submit_usage(stdout);
			return 0;
		default:
			submit_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (OWNER_MISSING("submit", submit_usage, { "--server", server },
	    { "--cert", cert }, { "--key", key }, { "--ca", ca },
	    { "the envelope", optind < argc ? argv[optind] : NULL }))
		return EXIT_USAGE;
	if (optind + 1 != argc) {
		submit_usage(stderr);
		return EXIT_USAGE;
	}
	if (tmo != NULL && ob_parse_ll(tmo, 1, 3600, &timeout) != OB_OK)
		return fail(ob_errf(OB_ERR_USAGE, "--timeout is 1..3600 "
		    "seconds"));
	r = submit_run(server, cert, key, ca, (long)timeout, argv[optind],
	    wit, wic, json);
	return r == OB_OK ? 0 : fail(r);
}
