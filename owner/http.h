/*
 * HTTPS client pieces of the owner tool (owner/http.c), over libcurl with
 * mutual TLS: nothing but --ca is trusted, TLS 1.2 or later.
 */
#ifndef OB_OWNER_HTTP_H
#define OB_OWNER_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include "ownerbind/ob_err.h"

#define OWNER_HTTP_MAX_REPLY	(1024 * 1024)

struct owner_reply {
	char	*buf;		/* NUL-terminated, or NULL */
	size_t	 len;
	int	 too_big;
	char	 request_id[64];
	int	 retry_after;	/* Retry-After seconds (1..3600), or 0 */
};

/* curl write and header callbacks over a struct owner_reply (the
 * header one keeps X-Request-Id and Retry-After). */
size_t owner_http_body(char *p, size_t size, size_t n, void *arg);
size_t owner_http_header(char *p, size_t size, size_t n, void *arg);

/* URL, TLS files, timeout (s), error buffer and the reply callbacks. */
int owner_http_setup(CURL *c, const char *url, const char *cert,
    const char *key, const char *ca, long timeout, char *errbuf,
    struct owner_reply *rp) OB_WUR;

/* A failed transfer as one of the OB_ERR_SUBMIT_* codes, curl's words
 * in the detail. */
int owner_http_error(CURL *c, CURLcode cr, const char *errbuf,
    const char *url);

/* A refusal: OB_ERR_SUBMIT_REFUSED naming the problem's public code,
 * title and request id. */
int owner_http_refused(long status, const struct owner_reply *rp);

#endif
