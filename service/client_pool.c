/*
 * The daemons' HTTPS client (service/client.h) on libcurl's easy
 * interface: TLS 1.2 or later, the peer and host verified against the
 * configured CA only, HTTPS only, redirects never followed, and a bounded
 * reply.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/err.h"
#include "service/client_pool.h"

#define DEF_TIMEOUT_MS		10000
#define DEF_CONNECT_MS		2000
#define DEF_POOL		16

struct ob_http_client {
	char		*base, *ca, *cert, *key;
	long		 timeout_ms, connect_ms;
	pthread_mutex_t	 mu;
	CURL		**idle;
	int		 nidle, pool;
};

struct sink {
	struct ob_http_reply	*rep;
	size_t			 cap;
	int			 over;
};

static int
dupe(const char *s, char **out)
{
	if (s == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "http client: a URL, CA, "
		    "certificate and key are required");
	return (*out = strdup(s)) != NULL ? OB_OK : OB_ERR_ALLOC;
}

int
ob_http_client_new(const struct ob_http_client_cfg *cfg,
    struct ob_http_client **out)
{
	struct ob_http_client	*c;
	int			 r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ob_errf(OB_ERR_INTERNAL, "curl_global_init");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return OB_ERR_ALLOC;
	c->pool = cfg->pool > 0 ? cfg->pool : DEF_POOL;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEF_TIMEOUT_MS;
	c->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms :
	    DEF_CONNECT_MS;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return OB_ERR_ALLOC;
	}
	if ((r = dupe(cfg->base_url, &c->base)) != OB_OK ||
	    (r = dupe(cfg->ca, &c->ca)) != OB_OK ||
	    (r = dupe(cfg->cert, &c->cert)) != OB_OK ||
	    (r = dupe(cfg->key, &c->key)) != OB_OK)
		goto out;
	if ((c->idle = calloc((size_t)c->pool, sizeof(*c->idle))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	*out = c;
	c = NULL;
	r = OB_OK;
out:
	ob_http_client_free(&c);
	return r;
}

void
ob_http_client_free(struct ob_http_client **cp)
{
	struct ob_http_client	*c;
	int			 i;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	free(c->base);
	free(c->ca);
	free(c->cert);
	free(c->key);
	pthread_mutex_destroy(&c->mu);
	free(c);
	*cp = NULL;
}

void
ob_http_reply_clear(struct ob_http_reply *rep)
{
	free(rep->body);
	memset(rep, 0, sizeof(*rep));
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 len = size * n, cap;
	char		*b;

	if (s->rep->len + len > OB_HTTP_MAX_REPLY) {
		s->over = 1;
		return 0;
	}
	if (s->rep->len + len + 1 > s->cap) {
		cap = s->cap != 0 ? s->cap : 4096;
		while (cap < s->rep->len + len + 1)
			cap *= 2;
		if ((b = realloc(s->rep->body, cap)) == NULL)
			return 0;
		s->rep->body = b;
		s->cap = cap;
	}
	memcpy(s->rep->body + s->rep->len, p, len);
	s->rep->len += len;
	s->rep->body[s->rep->len] = '\0';
	return len;
}

/* Retry-After (seconds only) and Content-Type. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;
	size_t		 len = size * n, v;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		for (v = 12; v < len && p[v] == ' '; v++)
			;
		s->rep->retry_after = 0;
		for (; v < len && isdigit((unsigned char)p[v]) &&
		    s->rep->retry_after < 86400; v++)
			s->rep->retry_after = s->rep->retry_after * 10 +
			    (p[v] - '0');
	} else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		for (v = 13; v < len && p[v] == ' '; v++)
			;
		n = 0;
		while (v < len && p[v] != '\r' && p[v] != '\n' &&
		    n + 1 < sizeof(s->rep->content_type))
			s->rep->content_type[n++] = p[v++];
		s->rep->content_type[n] = '\0';
	}
	return len;
}

static CURL *
take(struct ob_http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->nidle > 0)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->mu);
	return h != NULL ? h : curl_easy_init();
}

/* A handle goes back with its connection, unless it failed. */
static void
give(struct ob_http_client *c, CURL *h, int ok)
{
	if (ok) {
		pthread_mutex_lock(&c->mu);
		if (c->nidle < c->pool) {
			curl_easy_reset(h);
			c->idle[c->nidle++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (h != NULL)
		curl_easy_cleanup(h);
}

int
ob_http_post(struct ob_http_client *c, const char *path,
    const char *content_type, const char *const *headers, const void *body,
    size_t len, struct ob_http_reply *rep)
{
	struct curl_slist	*hl = NULL, *t;
	struct sink		 s;
	CURL			*h = NULL;
	CURLcode		 cc;
	char			*url = NULL, ct[160];
	size_t			 n, i;
	int			 r;

	memset(rep, 0, sizeof(*rep));
	memset(&s, 0, sizeof(s));
	s.rep = rep;
	n = strlen(c->base) + strlen(path) + 1;
	if ((url = malloc(n)) == NULL || (h = take(c)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(url, n, "%s%s", c->base, path);
	(void)snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
	/* No "Expect: 100-continue" round trip for a small body. */
	if ((hl = curl_slist_append(NULL, ct)) == NULL ||
	    (t = curl_slist_append(hl, "Expect:")) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((t = curl_slist_append(hl, headers[i])) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		hl = t;
	}
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	(void)curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
	(void)curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	(void)curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	(void)curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	(void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	(void)curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	(void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE,
		    &rep->status);
		r = OB_OK;
	} else if (s.over)
		r = ob_errf(OB_ERR_UPSTREAM_REPLY, "%s: reply over %d bytes",
		    c->base, OB_HTTP_MAX_REPLY);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		r = ob_errf(OB_ERR_UPSTREAM_TIMEOUT, "%s: %s", c->base,
		    curl_easy_strerror(cc));
	else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR)
		r = OB_ERR_ALLOC;
	else
		r = ob_errf(OB_ERR_UPSTREAM_UNAVAILABLE, "%s: %s", c->base,
		    curl_easy_strerror(cc));
out:
	if (h != NULL)
		give(c, h, r == OB_OK);
	curl_slist_free_all(hl);
	free(url);
	if (r != OB_OK)
		ob_http_reply_clear(rep);
	return r;
}
