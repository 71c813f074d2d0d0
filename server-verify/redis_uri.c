/*
 * Redis URIs and key prefixes (redis.h, docs/redis.md): plain parsing
 * without hiredis, so that the configuration reader and its fuzz harness
 * can check a state URI without linking a Redis client.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "server-verify/redis.h"

#define REDIS_DEFAULT_PORT	6379
#define REDIS_DB_MAX		65535

int
ob_redis_is_uri(const char *s)
{
	return strncmp(s, "redis://", 8) == 0 ||
	    strncmp(s, "rediss://", 9) == 0 || strncmp(s, "unix:", 5) == 0;
}

/* Decimal digits only, at most max: *out. */
static int
parse_uint(const char *s, size_t n, long max, int *out)
{
	long	v = 0;
	size_t	i;

	if (n == 0 || n > 6)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int
host_ok(const char *h, size_t n)
{
	size_t i;

	if (n == 0 || n > OB_REDIS_HOST_MAX)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' &&
			    h[i] != '.')
				return 0;
		return 1;
	}
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return 0;
	return h[0] != '-' && h[0] != '.';
}

/*
 * redis://HOST[:PORT][/DB] or unix:/PATH[?db=N] into r.  The detail never
 * quotes the URI: a refused password must not reach a log.
 */
int
ob_redis_uri_parse(const char *uri, struct ob_redis_addr *r)
{
	const char	*a, *end, *slash, *colon, *q;
	size_t		 n;

	memset(r, 0, sizeof(*r));
	r->port = REDIS_DEFAULT_PORT;
	if (strncmp(uri, "rediss://", 9) == 0)
		return ob_errf(OB_ERR_STATE_URI, "rediss:// (TLS) is not "
		    "supported by hiredis 0.14: use a unix socket or a TLS "
		    "tunnel (docs/redis.md)");
	if (strncmp(uri, "unix:", 5) == 0) {
		r->is_unix = 1;
		a = uri + 5;
		q = strchr(a, '?');
		n = q != NULL ? (size_t)(q - a) : strlen(a);
		if (n == 0 || a[0] != '/')
			return ob_errf(OB_ERR_STATE_URI, "unix: needs an "
			    "absolute socket path");
		if (n >= sizeof(r->path))
			return ob_errf(OB_ERR_STATE_URI, "unix: socket path "
			    "longer than %zu bytes", sizeof(r->path) - 1);
		memcpy(r->path, a, n);
		r->path[n] = '\0';
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
		    parse_uint(q + 4, strlen(q + 4), REDIS_DB_MAX,
		    &r->db) != 0))
			return ob_errf(OB_ERR_STATE_URI, "unix: the only query "
			    "is ?db=N, N 0..%d", REDIS_DB_MAX);
		return OB_OK;
	}
	if (strncmp(uri, "redis://", 8) != 0)
		return ob_errf(OB_ERR_STATE_URI, "not a redis:// or unix: URI");
	a = uri + 8;
	if (strpbrk(a, "@") != NULL)
		return ob_errf(OB_ERR_STATE_URI, "no user or password in the "
		    "URI: use redis.user and redis.password_source");
	if (strpbrk(a, "?#") != NULL)
		return ob_errf(OB_ERR_STATE_URI, "redis:// takes no query or "
		    "fragment");
	end = a + strlen(a);
	if ((slash = strchr(a, '/')) != NULL) {
		if (parse_uint(slash + 1, (size_t)(end - slash - 1),
		    REDIS_DB_MAX, &r->db) != 0)
			return ob_errf(OB_ERR_STATE_URI, "the database is a "
			    "number 0..%d", REDIS_DB_MAX);
		end = slash;
	}
	/* The port's colon is the last one, after a bracketed address. */
	colon = NULL;
	for (q = a; q < end; q++)
		if (*q == ':')
			colon = q;
	if (a < end && a[0] == '[' && colon != NULL && colon < end &&
	    memchr(colon, ']', (size_t)(end - colon)) != NULL)
		colon = NULL;
	if (colon != NULL) {
		if (parse_uint(colon + 1, (size_t)(end - colon - 1), 65535,
		    &r->port) != 0 || r->port == 0)
			return ob_errf(OB_ERR_STATE_URI, "the port is a number "
			    "1..65535");
		end = colon;
	}
	n = (size_t)(end - a);
	if (!host_ok(a, n))
		return ob_errf(OB_ERR_STATE_URI, "the host is a name, an IPv4 "
		    "address or [an IPv6 address]");
	if (a[0] == '[') {
		memcpy(r->host, a + 1, n - 2);
		r->host[n - 2] = '\0';
	} else {
		memcpy(r->host, a, n);
		r->host[n] = '\0';
	}
	return OB_OK;
}

int
ob_redis_uri_check(const char *uri)
{
	struct ob_redis_addr a;

	return ob_redis_uri_parse(uri, &a);
}

int
ob_redis_prefix_check(const char *p)
{
	size_t i, n;

	if (p == NULL)
		return OB_OK;
	n = strlen(p);
	if (n == 0 || n > OB_REDIS_PREFIX_MAX)
		return ob_errf(OB_ERR_STATE_URI, "the key prefix is 1 to %d "
		    "bytes", OB_REDIS_PREFIX_MAX);
	/* Never a glob character: SCAN MATCH takes the prefix as it is. */
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && strchr(":._-", p[i]) ==
		    NULL)
			return ob_errf(OB_ERR_STATE_URI, "the key prefix is "
			    "made of letters, digits and : . _ -");
	return OB_OK;
}
