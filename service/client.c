/*
 * The outbound HTTPS client (service/client.h).  Every failure a user can
 * meet (the server's CA, an expired or misnamed certificate, no server,
 * no answer) has its own code, so that `ownerbind submit` and the proxy
 * can tell "retry later" from "fix the configuration".
 */
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include <stdio.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/x509_vfy.h>

#include "service/client.h"
#include "core/err.h"

struct sink {
	struct ob_client_reply	*rp;
	int			 too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 k = size * n;
	char		*t;

	if (s->rp->len + k > OB_CLIENT_MAX_REPLY) {
		s->too_big = 1;
		return 0;
	}
	if ((t = realloc(s->rp->body, s->rp->len + k + 1)) == NULL)
		return 0;
	s->rp->body = t;
	memcpy(t + s->rp->len, p, k);
	s->rp->len += k;
	t[s->rp->len] = '\0';
	return k;
}

/* Keep X-Request-Id: also there when the body is not a problem. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	char		*id = s->rp->request_id;
	size_t		 k = size * n, i, j = 0;

	if (k > 12 && strncasecmp(p, "X-Request-Id", 12) == 0 && p[12] == ':') {
		for (i = 13; i < k && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		for (; i < k && j < sizeof(s->rp->request_id) - 1 &&
		    p[i] > 0x20 && p[i] < 0x7f; i++)
			id[j++] = p[i];
		id[j] = '\0';
	}
	return k;
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
		return ob_errf(OB_ERR_IO, "the CA file: %s", why);
	case CURLE_SSL_CERTPROBLEM:
		return ob_errf(OB_ERR_IO, "the client certificate or key: %s",
		    why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (strstr(why, "certificate expired") != NULL)
			return ob_errf(OB_ERR_SUBMIT_EXPIRED, "the server "
			    "refused this client's certificate as expired");
		if (strstr(why, "unknown ca") != NULL)
			return ob_errf(OB_ERR_SUBMIT_TLS, "the server does not "
			    "trust the CA that issued this client's "
			    "certificate (%s)", why);
		return ob_errf(OB_ERR_SUBMIT_TLS, "%s", why);
	default:
		return ob_errf(OB_ERR_SUBMIT_CONNECT, "%s: %s", url, why);
	}
}

int
ob_client_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ob_errf(OB_ERR_ALLOC, "curl_global_init");
	return OB_OK;
}

/* Headers, body and the reply sink: what both transports set. */
static int
setup_common(CURL *c, const char *url, const char *method,
    const char *content_type, const void *body, size_t len, long timeout_ms,
    char *errbuf, struct sink *sk, struct curl_slist **hdrs)
{
	char	ct[128];
	int	post = strcmp(method, "POST") == 0;

	(void)snprintf(ct, sizeof(ct), "Content-Type: %s",
	    content_type != NULL ? content_type : "application/json");
	if ((post && (*hdrs = curl_slist_append(*hdrs, ct)) == NULL) ||
	    (*hdrs = curl_slist_append(*hdrs, "Accept: application/json, "
	    "application/problem+json")) == NULL ||
	    (*hdrs = curl_slist_append(*hdrs, "Expect:")) == NULL)
		return ob_errf(OB_ERR_ALLOC, "libcurl");
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs) != CURLE_OK ||
	    (post && (curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) !=
	    CURLE_OK || curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len) != CURLE_OK)) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < 10000 ? timeout_ms : 10000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, sk) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, sk) != CURLE_OK)
		return ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
	return OB_OK;
}

static int
perform(CURL *c, struct sink *sk, const char *errbuf, const char *url,
    int local, struct ob_client_reply *out)
{
	CURLcode	cr;

	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		if (sk->too_big)
			return ob_errf(OB_ERR_SUBMIT_RESPONSE, "the answer "
			    "exceeds %d bytes", OB_CLIENT_MAX_REPLY);
		if (local && (cr == CURLE_COULDNT_CONNECT ||
		    cr == CURLE_COULDNT_RESOLVE_HOST))
			return ob_errf(OB_ERR_AGENT_CONNECT, "%s: %s", url,
			    errbuf[0] != '\0' ? errbuf :
			    curl_easy_strerror(cr));
		return transfer_error(c, cr, errbuf, url);
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &sk->rp->status);
	*out = *sk->rp;
	memset(sk->rp, 0, sizeof(*sk->rp));
	return OB_OK;
}

static int
https_request(const struct ob_client_tls *tls, const char *method,
    const char *url, const char *content_type, const void *body, size_t len,
    const char *bearer, long timeout_ms, struct ob_client_reply *out)
{
	struct curl_slist	*hdrs = NULL;
	struct ob_client_reply	 rp;
	struct sink		 sk = { &rp, 0 };
	CURL			*c = NULL;
	char			 errbuf[CURL_ERROR_SIZE] = "";
	int			 r;

	memset(&rp, 0, sizeof(rp));
	memset(out, 0, sizeof(*out));
	if (strncmp(url, "https://", 8) != 0)
		return ob_errf(OB_ERR_INVALID_ARG, "%s: not an https:// URL",
		    url);
	if ((c = curl_easy_init()) == NULL) {
		r = ob_errf(OB_ERR_ALLOC, "libcurl");
		goto out;
	}
	if (bearer != NULL) {
		char	h[1152];
		int	n;

		n = snprintf(h, sizeof(h), "Authorization: Bearer %s", bearer);
		if (n < 0 || (size_t)n >= sizeof(h)) {
			r = ob_errf(OB_ERR_INVALID_ARG, "bearer token too long");
			goto out;
		}
		hdrs = curl_slist_append(NULL, h);
		OPENSSL_cleanse(h, sizeof(h));
		if (hdrs == NULL) {
			r = ob_errf(OB_ERR_ALLOC, "libcurl");
			goto out;
		}
	}
	OB_TRY(setup_common(c, url, method, content_type, body, len,
	    timeout_ms, errbuf, &sk, &hdrs));
	if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key) != CURLE_OK) {
		r = ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
		goto out;
	}
	r = perform(c, &sk, errbuf, url, 0, out);
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	ob_client_reply_clear(&rp);
	return r;
}

int
ob_client_request(const struct ob_client_tls *tls, const char *method,
    const char *url, const char *content_type, const void *body, size_t len,
    long timeout_ms, struct ob_client_reply *out)
{
	return https_request(tls, method, url, content_type, body, len, NULL,
	    timeout_ms, out);
}

int
ob_client_request_bearer(const struct ob_client_tls *tls, const char *url,
    const void *body, size_t len, const char *bearer, long timeout_ms,
    struct ob_client_reply *out)
{
	return https_request(tls, "POST", url, "application/json", body, len,
	    bearer, timeout_ms, out);
}

int
ob_client_unix_request(const char *socket, const char *method,
    const char *path, const char *content_type, const void *body, size_t len,
    long timeout_ms, struct ob_client_reply *out)
{
	struct curl_slist	*hdrs = NULL;
	struct ob_client_reply	 rp;
	struct sink		 sk = { &rp, 0 };
	CURL			*c = NULL;
	char			 errbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	size_t			 n;
	int			 r;

	memset(&rp, 0, sizeof(rp));
	memset(out, 0, sizeof(*out));
	n = strlen(path) + sizeof("http://localhost");
	if (path[0] != '/' || (url = malloc(n)) == NULL)
		return ob_errf(path[0] != '/' ? OB_ERR_INVALID_ARG :
		    OB_ERR_ALLOC, "request target %s", path);
	(void)snprintf(url, n, "http://localhost%s", path);
	if ((c = curl_easy_init()) == NULL) {
		r = ob_errf(OB_ERR_ALLOC, "libcurl");
		goto out;
	}
	OB_TRY(setup_common(c, url, method, content_type, body, len,
	    timeout_ms, errbuf, &sk, &hdrs));
	if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket) !=
	    CURLE_OK) {
		r = ob_errf(OB_ERR_INTERNAL, "curl_easy_setopt");
		goto out;
	}
	r = perform(c, &sk, errbuf, socket, 1, out);
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	ob_client_reply_clear(&rp);
	free(url);
	return r;
}

void
ob_client_reply_clear(struct ob_client_reply *rp)
{
	free(rp->body);
	memset(rp, 0, sizeof(*rp));
}
