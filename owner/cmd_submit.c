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
#include "owner/ownerbind.h"

#define SUBMIT_MAX_REPLY	(1024 * 1024)
#define SUBMIT_PATH		"/v1/credentials"

struct reply {
	char	*buf;
	size_t	 len;
	int	 too_big;
	char	 request_id[64];
};

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

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply	*rp = arg;
	size_t		 k = size * n;
	char		*t;

	if (rp->len + k > SUBMIT_MAX_REPLY) {
		rp->too_big = 1;
		return 0;
	}
	if ((t = realloc(rp->buf, rp->len + k + 1)) == NULL)
		return 0;
	rp->buf = t;
	memcpy(rp->buf + rp->len, p, k);
	rp->len += k;
	rp->buf[rp->len] = '\0';
	return k;
}

/* Keep X-Request-Id: also there when the body is not a problem. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply	*rp = arg;
	size_t		 k = size * n, i = 12, j = 0;

	if (k > 12 && strncasecmp(p, "X-Request-Id", 12) == 0 && p[12] == ':') {
		for (i = 13; i < k && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		for (; i < k && j < sizeof(rp->request_id) - 1 &&
		    p[i] > 0x20 && p[i] < 0x7f; i++)
			rp->request_id[j++] = p[i];
		rp->request_id[j] = '\0';
	}
	return k;
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

/* A transfer that failed: which of our codes, with curl's words. */
static int
transfer_error(CURL *c, CURLcode cr, const char *errbuf, const char *url)
{
	const char	*why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cr);
	long		 vr = X509_V_OK;

	switch (cr) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return ob_errf(OB_ERR_SUBMIT_CONNECT, "%s: %s", url, why);
	case CURLE_OPERATION_TIMEDOUT:
		return ob_errf(OB_ERR_SUBMIT_TIMEOUT, "%s: %s", url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
		(void)curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &vr);
		if (vr == X509_V_ERR_CERT_HAS_EXPIRED ||
		    vr == X509_V_ERR_CERT_NOT_YET_VALID)
			return ob_errf(OB_ERR_SUBMIT_EXPIRED, "the server's "
			    "certificate: %s",
			    X509_verify_cert_error_string(vr));
		/* curl checks the name itself, after a chain that verified,
		 * and then reports no useful verify result. */
		if (strstr(why, "target host name") != NULL ||
		    vr == X509_V_ERR_HOSTNAME_MISMATCH ||
		    vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
			return ob_errf(OB_ERR_SUBMIT_HOSTNAME, "%s", why);
		return ob_errf(OB_ERR_SUBMIT_UNKNOWN_CA, "%s",
		    X509_verify_cert_error_string(vr));
	case CURLE_SSL_CACERT_BADFILE:
		return ob_errf(OB_ERR_IO, "--ca: %s", why);
	case CURLE_SSL_CERTPROBLEM:
		return ob_errf(OB_ERR_IO, "--cert or --key: %s", why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (strstr(why, "certificate expired") != NULL)
			return ob_errf(OB_ERR_SUBMIT_EXPIRED, "the server "
			    "refused this client's certificate as expired");
		if (strstr(why, "unknown ca") != NULL)
			return ob_errf(OB_ERR_SUBMIT_TLS, "the server does not "
			    "trust the CA that issued --cert (%s)", why);
		return ob_errf(OB_ERR_SUBMIT_TLS, "%s", why);
	default:
		return ob_errf(OB_ERR_SUBMIT_CONNECT, "%s: %s", url, why);
	}
}

/* A non-201 answer: the problem's public code, title and request id. */
static int
refused(long status, const struct reply *rp)
{
	json_t		*p = NULL;
	const char	*code = NULL, *title = NULL, *id = NULL;
	int		 r;

	if (rp->buf != NULL && ob_json_parse_object(rp->buf, rp->len, &p) ==
	    OB_OK) {
		code = json_string_value(json_object_get(p, "code"));
		title = json_string_value(json_object_get(p, "title"));
		id = json_string_value(json_object_get(p, "request_id"));
	}
	if (id == NULL && rp->request_id[0] != '\0')
		id = rp->request_id;
	if (code != NULL)
		r = ob_errf(OB_ERR_SUBMIT_REFUSED, "HTTP %ld %s: %s (request "
		    "id %s)", status, code, title != NULL ? title : "",
		    id != NULL ? id : "none");
	else
		r = ob_errf(OB_ERR_SUBMIT_REFUSED, "HTTP %ld without problem "
		    "details (request id %s)", status, id != NULL ? id : "none");
	json_decref(p);
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
issued(const struct reply *rp, const char *witf, const char *wicf, int json)
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
	struct reply		 rp;
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
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, env) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)envlen) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAINFO, ca) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLCERT, cert) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLKEY, key) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    timeout < 10 ? timeout : 10L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rp) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, &rp) != CURLE_OK) {
		r = ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
		goto out;
	}
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		if (rp.too_big)
			r = ob_errf(OB_ERR_SUBMIT_RESPONSE, "the answer exceeds "
			    "%d bytes", SUBMIT_MAX_REPLY);
		else
			r = transfer_error(c, cr, errbuf, url);
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 201) {
		r = refused(status, &rp);
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
	int		 ch, json = owner_json, r;

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
			return owner_badopt(submit_usage, argc, argv);
		}
	}
	if (OWNER_MISSING("submit", submit_usage, { "--server", server },
	    { "--cert", cert }, { "--key", key }, { "--ca", ca },
	    { "the envelope", optind < argc ? argv[optind] : NULL }))
		return EXIT_USAGE;
	if (optind + 1 != argc)
		return owner_usage(submit_usage, NULL);
	if (tmo != NULL && ob_parse_ll(tmo, 1, 3600, &timeout) != OB_OK)
		return fail(ob_errf(OB_ERR_USAGE, "--timeout is 1..3600 "
		    "seconds"));
	r = submit_run(server, cert, key, ca, (long)timeout, argv[optind],
	    wit, wic, json);
	return r == OB_OK ? 0 : fail(r);
}
