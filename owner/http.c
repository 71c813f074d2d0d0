/*
 * The owner tool's HTTPS client pieces (owner/http.h): the reply buffer,
 * the mutual-TLS options every call sets, and what a failed transfer or
 * a refusal means in our codes.  Shared by submit and respond.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/err.h"
#include "core/json.h"
#include "owner/http.h"

size_t
owner_http_body(char *p, size_t size, size_t n, void *arg)
{
	struct owner_reply	*rp = arg;
	size_t		 k = size * n;
	char		*t;

	if (rp->len + k > OWNER_HTTP_MAX_REPLY) {
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

/* Keep X-Request-Id (also there when the body is not a problem) and
 * Retry-After in seconds. */
size_t
owner_http_header(char *p, size_t size, size_t n, void *arg)
{
	struct owner_reply	*rp = arg;
	size_t		 k = size * n, i = 12, j = 0;
	int		 v = 0;

	if (k > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		for (i = 12; i < k && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		for (; i < k && p[i] >= '0' && p[i] <= '9' && v <= 3600; i++)
			v = v * 10 + (p[i] - '0');
		rp->retry_after = v >= 1 && v <= 3600 ? v : 0;
		return k;
	}

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

/* A transfer that failed: which of our codes, with curl's words. */
int
owner_http_error(CURL *c, CURLcode cr, const char *errbuf, const char *url)
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
int
owner_http_refused(long status, const struct owner_reply *rp)
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

int
owner_http_setup(CURL *c, const char *url, const char *cert, const char *key,
    const char *ca, long timeout, char *errbuf, struct owner_reply *rp)
{
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
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
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, owner_http_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, rp) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, owner_http_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, rp) != CURLE_OK)
		return ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
	return OB_OK;
}
