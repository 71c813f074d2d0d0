/*
 * The server's configuration (docs/server.md).
 *
 * The file is read by the project's strict JSON reader; the checks then
 * walk the jansson tree.  jansson keeps no positions, so a member's line
 * is found by a second, bounded scan of the text along the member's path
 * (locate()): the text has been accepted by the reader by then, so the
 * scan needs to know only strings, nesting and commas, and it compares
 * names after decoding them, as the reader did.  For a duplicate the
 * reader says where it stopped (just after the repeated name), and the
 * scan names the member whose name ends there.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server/config.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/hex.h"
#include "core/json.h"
#include "server-verify/redis.h"
#include "tokens/pin.h"

#define MAX_PATH_DEPTH	6
#define MAX_NAME	200	/* shown bytes of a member's path */

/* One step of a member's path: a name, or an index when key is NULL. */
struct seg {
	const char	*key;
	size_t		 idx;
};

struct cfg {
	const unsigned char	*text;
	size_t			 len;
	const char		*dir;
	const char		*file;		/* for the detail */
	struct seg		 path[MAX_PATH_DEPTH];
	size_t			 depth;
	unsigned long		 errline;
};

/* ---- the scanner behind the line numbers ---- */

struct sc {
	const unsigned char	*p, *start, *end;
	unsigned long		 line;
};

static void
sc_ws(struct sc *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\r' || *s->p == '\n')) {
		if (*s->p == '\n')
			s->line++;
		s->p++;
	}
}

/* At a '"': [*b, *e) is the raw content, s->p ends past the quote. */
static int
sc_string(struct sc *s, const unsigned char **b, const unsigned char **e)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	*b = ++s->p;
	while (s->p < s->end && *s->p != '"')
		s->p += *s->p == '\\' && s->p + 1 < s->end ? 2 : 1;
	if (s->p >= s->end)
		return -1;
	*e = s->p++;
	return 0;
}

static int
sc_skip(struct sc *s, unsigned depth)
{
	const unsigned char	*b, *e;
	unsigned char		 close;

	if (depth > OB_JSON_MAX_DEPTH + 1)
		return -1;
	sc_ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == '"')
		return sc_string(s, &b, &e);
	if (*s->p != '{' && *s->p != '[') {
		while (s->p < s->end && strchr(" \t\r\n,]}", *s->p) == NULL)
			s->p++;
		return 0;
	}
	close = *s->p == '{' ? '}' : ']';
	s->p++;
	for (;;) {
		sc_ws(s);
		if (s->p < s->end && *s->p == close) {
			s->p++;
			return 0;
		}
		if (close == '}') {
			if (sc_string(s, &b, &e) != 0)
				return -1;
			sc_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return -1;
			s->p++;
		}
		if (sc_skip(s, depth + 1) != 0)
			return -1;
		sc_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
		else if (s->p >= s->end || *s->p != close)
			return -1;
	}
}

/* Does the raw name [b, e) decode to key? */
static int
name_is(const unsigned char *b, const unsigned char *e, const char *key)
{
	size_t	 n = (size_t)(e - b);
	char	*buf;
	json_t	*v = NULL;
	int	 eq;

	if (memchr(b, '\\', n) == NULL)
		return strlen(key) == n && memcmp(b, key, n) == 0;
	if ((buf = malloc(n + 4)) == NULL)
		return 0;
	buf[0] = '[';
	buf[1] = '"';
	memcpy(buf + 2, b, n);
	buf[n + 2] = '"';
	buf[n + 3] = ']';
	eq = ob_json_read(buf, n + 4, 2, &v) == OB_OK &&
	    json_string_length(json_array_get(v, 0)) == strlen(key) &&
	    memcmp(json_string_value(json_array_get(v, 0)), key,
	    strlen(key)) == 0;
	json_decref(v);
	free(buf);
	return eq;
}

/* Line of the member (or element) at path[0..n) below the value at s. */
static unsigned long
sc_locate(struct sc *s, const struct seg *path, size_t n, unsigned depth)
{
	const unsigned char	*b, *e;
	unsigned long		 kline;
	size_t			 i = 0;
	int			 obj;

	sc_ws(s);
	if (n == 0)
		return s->line;
	if (depth > OB_JSON_MAX_DEPTH || s->p >= s->end)
		return 0;
	obj = path[0].key != NULL;
	if (*s->p != (obj ? '{' : '['))
		return 0;
	s->p++;
	for (;; i++) {
		sc_ws(s);
		if (s->p >= s->end || *s->p == (obj ? '}' : ']'))
			return 0;
		if (obj) {
			if (sc_string(s, &b, &e) != 0)
				return 0;
			kline = s->line;
			sc_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return 0;
			s->p++;
			if (name_is(b, e, path[0].key))
				return n == 1 ? kline :
				    sc_locate(s, path + 1, n - 1, depth + 1);
		} else if (i == path[0].idx)
			return sc_locate(s, path + 1, n - 1, depth + 1);
		if (sc_skip(s, depth + 1) != 0)
			return 0;
		sc_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
	}
}

/* Append bytes to a shown name, escaping what is not printable ASCII. */
static void
name_add(char *buf, size_t *off, const void *p, size_t n)
{
	const unsigned char	*c = p;
	size_t			 i;
	int			 w;

	for (i = 0; i < n && *off + 8 < MAX_NAME; i++) {
		if (c[i] >= 0x20 && c[i] < 0x7f && c[i] != '"' && c[i] != '\\')
			buf[(*off)++] = (char)c[i];
		else {
			w = snprintf(buf + *off, MAX_NAME - *off, "\\x%02x",
			    c[i]);
			*off += (size_t)w;
		}
	}
	if (i < n && *off + 4 < MAX_NAME) {
		memcpy(buf + *off, "...", 3);
		*off += 3;
	}
	buf[*off] = '\0';
}

/*
 * Find the member whose name ends at byte pos (where the reader stopped
 * on a duplicate): its path into buf, its line into *line.
 */
static int
sc_find_end(struct sc *s, size_t pos, char *buf, size_t off,
    unsigned long *line, unsigned depth)
{
	const unsigned char	*b, *e;
	unsigned char		 close;
	size_t			 i = 0, o;
	char			 idx[24];

	if (depth > OB_JSON_MAX_DEPTH + 1)
		return -1;
	sc_ws(s);
	if (s->p >= s->end || (*s->p != '{' && *s->p != '['))
		return sc_skip(s, depth) == 0 ? 1 : -1;
	close = *s->p == '{' ? '}' : ']';
	s->p++;
	for (;; i++) {
		sc_ws(s);
		if (s->p < s->end && *s->p == close) {
			s->p++;
			return 1;
		}
		o = off;
		if (close == '}') {
			if (sc_string(s, &b, &e) != 0)
				return -1;
			if (o != 0)
				name_add(buf, &o, ".", 1);
			name_add(buf, &o, b, (size_t)(e - b));
			if ((size_t)(s->p - s->start) == pos) {
				*line = s->line;
				return 0;
			}
			sc_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return -1;
			s->p++;
		} else {
			(void)snprintf(idx, sizeof(idx), "[%zu]", i);
			name_add(buf, &o, idx, strlen(idx));
		}
		switch (sc_find_end(s, pos, buf, o, line, depth + 1)) {
		case 0:
			return 0;
		case -1:
			return -1;
		}
		sc_ws(s);
		if (s->p < s->end && *s->p == ',')
			s->p++;
		else if (s->p >= s->end || *s->p != close)
			return -1;
	}
}

static unsigned long
line_at(const unsigned char *t, size_t pos)
{
	unsigned long	line = 1;
	size_t		i;

	for (i = 0; i < pos; i++)
		line += t[i] == '\n';
	return line;
}

/* ---- errors ---- */

/* The shown path of c->path plus key (NULL: none). */
static void
show_path(const struct cfg *c, const char *key, char buf[MAX_NAME])
{
	size_t	i, off = 0;
	char	idx[24];

	buf[0] = '\0';
	for (i = 0; i <= c->depth; i++) {
		const char *k = i < c->depth ? c->path[i].key : key;

		if (i == c->depth && key == NULL)
			break;
		if (k == NULL) {
			(void)snprintf(idx, sizeof(idx), "[%zu]",
			    c->path[i].idx);
			name_add(buf, &off, idx, strlen(idx));
			continue;
		}
		if (off != 0)
			name_add(buf, &off, ".", 1);
		name_add(buf, &off, k, strlen(k));
	}
}

/*
 * Fail with code at member key of the current object (key NULL: at the
 * current value itself): "FILE:LINE: \"PATH\" WHAT".
 */
static int
cfail(struct cfg *c, int code, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
cfail(struct cfg *c, int code, const char *key, const char *fmt, ...)
{
	struct sc	 s = { c->text, c->text, c->text + c->len, 1 };
	struct seg	 full[MAX_PATH_DEPTH + 1];
	char		 name[MAX_NAME], what[256];
	va_list		 ap;
	size_t		 n = c->depth;

	memcpy(full, c->path, n * sizeof(full[0]));
	if (key != NULL)
		full[n++] = (struct seg){ key, 0 };
	c->errline = sc_locate(&s, full, n, 1);
	show_path(c, key, name);
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ob_errf(code, "%s:%lu: \"%s\" %s", c->file, c->errline,
	    name[0] != '\0' ? name : "(top level)", what);
}

static void
push_key(struct cfg *c, const char *key)
{
	c->path[c->depth++] = (struct seg){ key, 0 };
}

static void
push_idx(struct cfg *c, size_t i)
{
	c->path[c->depth++] = (struct seg){ NULL, i };
}

static void
pop(struct cfg *c)
{
	c->depth--;
}

/* ---- typed members ---- */

/* "a, b, c" from a NULL-terminated list, cut to fit. */
static const char *
join(const char *const *names, char *buf, size_t size)
{
	size_t	i, off = 0;
	int	w;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL; i++) {
		w = snprintf(buf + off, size - off, "%s%s", i != 0 ? ", " : "",
		    names[i]);
		if (w < 0 || (size_t)w >= size - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

static int
only(struct cfg *c, const json_t *o, const char *const *allowed)
{
	const char	*k;
	json_t		*v;
	char		 list[256];
	size_t		 i;

	json_object_foreach(OB_DECONST(json_t *, o), k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		return cfail(c, OB_ERR_CONFIG_UNKNOWN, k, "is not a member "
		    "here (expected: %s)", join(allowed, list, sizeof(list)));
	}
	return OB_OK;
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:	return "an integer";
	case JSON_REAL:		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:	return "a boolean";
	default:		return "null";
	}
}

/* o[key] of type t, or NULL when absent (missing: an error if required). */
static int
member(struct cfg *c, const json_t *o, const char *key, json_type t,
    int required, json_t **out)
{
	json_t		*v;
	static const char *const want[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string", [JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
	};

	*out = NULL;
	if ((v = json_object_get(o, key)) == NULL) {
		if (!required)
			return OB_OK;
		return cfail(c, OB_ERR_CONFIG_INVALID, NULL, "has no member "
		    "\"%s\", which is required", key);
	}
	if (json_typeof(v) != t && !(t == JSON_REAL && json_is_integer(v)) &&
	    !(t == JSON_TRUE && json_is_boolean(v)))
		return cfail(c, OB_ERR_CONFIG_TYPE, key, "must be %s, not %s",
		    want[t], type_name(v));
	*out = v;
	return OB_OK;
}

static int
get_str(struct cfg *c, const json_t *o, const char *key, int required,
    const char *def, size_t max, char **out)
{
	json_t		*v;
	const char	*s = def;
	int		 r;

	if ((r = member(c, o, key, JSON_STRING, required, &v)) != OB_OK)
		return r;
	if (v != NULL) {
		s = json_string_value(v);
		if (json_string_length(v) == 0 || json_string_length(v) > max)
			return cfail(c, OB_ERR_CONFIG_INVALID, key, "must be 1 "
			    "to %zu bytes long", max);
	}
	if (s == NULL)
		return OB_OK;
	if ((*out = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

static int
get_int(struct cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, long long *out)
{
	json_t		*v;
	long long	 n;
	int		 r;

	if ((r = member(c, o, key, JSON_INTEGER, 0, &v)) != OB_OK)
		return r;
	if (v == NULL) {
		*out = def;
		return OB_OK;
	}
	n = json_integer_value(v);
	if (n < min || n > max)
		return cfail(c, OB_ERR_CONFIG_INVALID, key, "must be from "
		    "%lld to %lld, not %lld", min, max, n);
	*out = n;
	return OB_OK;
}

static int
get_uint(struct cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, unsigned *out)
{
	long long	n = 0;
	int		r;

	if ((r = get_int(c, o, key, min, max, def, &n)) == OB_OK)
		*out = (unsigned)n;
	return r;
}

static int
get_size(struct cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, size_t *out)
{
	long long	n = 0;
	int		r;

	if ((r = get_int(c, o, key, min, max, def, &n)) == OB_OK)
		*out = (size_t)n;
	return r;
}

/* An absolute path: s itself, or dir/s. */
static int
abspath(const struct cfg *c, const char *s, char **out)
{
	size_t	n;
	char	*p;

	if (s[0] == '/')
		return (*out = strdup(s)) != NULL ? OB_OK : OB_ERR_ALLOC;
	n = strlen(c->dir) + strlen(s) + 2;
	if ((p = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(p, n, "%s/%s", c->dir, s);
	*out = p;
	return OB_OK;
}

static int
get_path(struct cfg *c, const json_t *o, const char *key, int required,
    const char *def, char **out)
{
	char	*s = NULL;
	int	 r;

	if ((r = get_str(c, o, key, required, def, 4096, &s)) != OB_OK ||
	    s == NULL)
		return r;
	r = abspath(c, s, out);
	free(s);
	return r;
}

/* "HOST:PORT", HOST a name, an IPv4 address or [IPv6]. */
static int
get_listen(struct cfg *c, const json_t *o, const char *key, const char *def,
    char **out)
{
	const char	*colon, *q;
	char		*s = NULL;
	long		 port;
	int		 r;

	if ((r = get_str(c, o, key, 0, def, 300, &s)) != OB_OK)
		return r;
	colon = strrchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		goto bad;
	for (q = colon + 1; *q != '\0'; q++)
		if (!isdigit((unsigned char)*q))
			goto bad;
	port = strtol(colon + 1, NULL, 10);
	if (port > 65535)
		goto bad;
	if (s[0] == '[' ? colon[-1] != ']' : memchr(s, ':',
	    (size_t)(colon - s)) != NULL)
		goto bad;
	*out = s;
	return OB_OK;
bad:
	free(s);
	return cfail(c, OB_ERR_CONFIG_INVALID, key, "must be HOST:PORT "
	    "(port 0 to 65535; an IPv6 address in brackets)");
}

/* One of the NULL-terminated names; *out its index. */
static int
get_enum(struct cfg *c, const json_t *o, const char *key, int required,
    const char *const *names, int def, int *out)
{
	json_t	*v;
	char	 list[256];
	int	 i, r;

	if ((r = member(c, o, key, JSON_STRING, required, &v)) != OB_OK)
		return r;
	if (v == NULL) {
		*out = def;
		return OB_OK;
	}
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(json_string_value(v), names[i]) == 0) {
			*out = i;
			return OB_OK;
		}
	return cfail(c, OB_ERR_CONFIG_INVALID, key, "must be one of %s",
	    join(names, list, sizeof(list)));
}

/* ---- sections ---- */

static int
load_tls(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "cert", "key", "client_ca", NULL };
	json_t	*o;
	int	 r;

	if ((r = member(c, root, "tls", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	push_key(c, "tls");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_path(c, o, "cert", 1, NULL, &cfg->tls.cert)) != OB_OK ||
	    (r = get_path(c, o, "key", 1, NULL, &cfg->tls.key)) != OB_OK ||
	    (r = get_path(c, o, "client_ca", 1, NULL,
	    &cfg->tls.client_ca)) != OB_OK)
		return r;
	pop(c);
	return OB_OK;
}

static int
load_client(struct cfg *c, const json_t *o, struct ob_server_client *cl)
{
	static const char *const m[] = { "id", "role", "san_uri",
	    "cert_sha256", "owner", NULL };
	static const char *const roles[] = { "proxy", "gateway", "responder",
	    NULL };
	char	*hex = NULL;
	size_t	 i;
	int	 r, role;

	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_str(c, o, "id", 1, NULL, 256, &cl->id)) != OB_OK ||
	    (r = get_enum(c, o, "role", 1, roles, 0, &role)) != OB_OK ||
	    (r = get_str(c, o, "san_uri", 0, NULL, 2048, &cl->san_uri)) !=
	    OB_OK ||
	    (r = get_str(c, o, "cert_sha256", 0, NULL, 64, &hex)) != OB_OK)
		goto out;
	cl->role = role == 0 ? OB_CLIENT_PROXY : role == 1 ?
	    OB_CLIENT_GATEWAY : OB_CLIENT_RESPONDER;
	/* A responder answers for exactly one owner; nobody else has one. */
	if ((r = get_str(c, o, "owner", cl->role == OB_CLIENT_RESPONDER, NULL,
	    256, &cl->owner)) != OB_OK)
		goto out;
	if (cl->owner != NULL && cl->role != OB_CLIENT_RESPONDER) {
		r = cfail(c, OB_ERR_CONFIG_INVALID, "owner", "is for role "
		    "\"responder\" only");
		goto out;
	}
	if ((cl->san_uri == NULL) == (hex == NULL)) {
		r = cfail(c, OB_ERR_CONFIG_INVALID, NULL, "must have exactly "
		    "one of \"san_uri\" and \"cert_sha256\"");
		goto out;
	}
	if (cl->san_uri != NULL && strchr(cl->san_uri, ':') == NULL) {
		r = cfail(c, OB_ERR_CONFIG_INVALID, "san_uri", "is not a URI");
		goto out;
	}
	if (hex != NULL) {
		for (i = 0; i < 32; i++) {
			int hi, lo;

			if (strlen(hex) != 64 ||
			    (hi = ob_hexval((unsigned char)hex[2 * i])) < 0 ||
			    (lo = ob_hexval((unsigned char)hex[2 * i + 1])) < 0)
				break;
			cl->cert_sha256[i] = (unsigned char)(hi << 4 | lo);
		}
		if (i != 32) {
			r = cfail(c, OB_ERR_CONFIG_INVALID, "cert_sha256",
			    "must be 64 hex digits (the SHA-256 of the "
			    "certificate's DER)");
			goto out;
		}
		cl->has_cert_sha256 = 1;
	}
	r = OB_OK;
out:
	free(hex);
	return r;
}

static int
load_clients(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	json_t	*a, *o;
	size_t	 i, j, n;
	int	 r;

	if ((r = member(c, root, "clients", JSON_ARRAY, 1, &a)) != OB_OK)
		return r;
	n = json_array_size(a);
	if (n < 1 || n > 1024)
		return cfail(c, OB_ERR_CONFIG_INVALID, "clients", "must have 1 "
		    "to 1024 entries");
	if ((cfg->clients = calloc(n, sizeof(*cfg->clients))) == NULL)
		return OB_ERR_ALLOC;
	push_key(c, "clients");
	for (i = 0; i < n; i++) {
		struct ob_server_client *cl = &cfg->clients[i];

		cfg->nclients = i + 1;
		o = json_array_get(a, i);
		push_idx(c, i);
		if (!json_is_object(o))
			return cfail(c, OB_ERR_CONFIG_TYPE, NULL, "must be an "
			    "object, not %s", type_name(o));
		if ((r = load_client(c, o, cl)) != OB_OK)
			return r;
		for (j = 0; j < i; j++) {
			const struct ob_server_client *p = &cfg->clients[j];

			if (strcmp(p->id, cl->id) == 0)
				return cfail(c, OB_ERR_CONFIG_INVALID, "id",
				    "repeats clients[%zu]", j);
			if ((p->san_uri != NULL && cl->san_uri != NULL &&
			    strcmp(p->san_uri, cl->san_uri) == 0) ||
			    (p->has_cert_sha256 && cl->has_cert_sha256 &&
			    memcmp(p->cert_sha256, cl->cert_sha256, 32) == 0))
				return cfail(c, OB_ERR_CONFIG_INVALID,
				    cl->san_uri != NULL ? "san_uri" :
				    "cert_sha256", "names the same certificate "
				    "as clients[%zu]", j);
		}
		pop(c);
	}
	pop(c);
	return OB_OK;
}

/* A key name of the signer's (signer/config.c has the same rule). */
static int
key_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

static int
load_issuer(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "key", "chain", NULL };
	json_t	*o;
	int	 r;

	if ((r = member(c, root, "issuer", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	push_key(c, "issuer");
	/* Keys and PINs live in ownerbind-signer, never here. */
	if (json_object_get(o, "pin_source") != NULL)
		return cfail(c, OB_ERR_CONFIG_UNKNOWN, "pin_source", "belongs "
		    "in the signer's configuration (keys[].pin_source, "
		    "ownerbind-signer(8))");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_str(c, o, "key", 1, NULL, 64, &cfg->issuer.key)) !=
	    OB_OK ||
	    (r = get_path(c, o, "chain", 1, NULL, &cfg->issuer.chain)) != OB_OK)
		return r;
	if (!key_name_ok(cfg->issuer.key))
		return cfail(c, OB_ERR_CONFIG_INVALID, "key", "must name a key "
		    "of the signer (its keys[].name: letters, digits, '.', "
		    "'_', '-'); a key URI belongs in the signer's "
		    "configuration");
	pop(c);
	return OB_OK;
}

static int
load_signer(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "program", "config", "socket",
	    "timeout_ms", "backoff_max_ms", NULL };
	json_t	*o;
	int	 r;

	if ((r = member(c, root, "signer", JSON_OBJECT, 1, &o)) != OB_OK)
		return r;
	push_key(c, "signer");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_path(c, o, "program", 0, NULL,
	    &cfg->signer.program)) != OB_OK ||
	    (r = get_path(c, o, "config", 0, NULL, &cfg->signer.config)) !=
	    OB_OK ||
	    (r = get_path(c, o, "socket", 0, NULL, &cfg->signer.socket)) !=
	    OB_OK ||
	    (r = get_uint(c, o, "timeout_ms", 100, 600000, 5000,
	    &cfg->signer.timeout_ms)) != OB_OK ||
	    (r = get_uint(c, o, "backoff_max_ms", 100, 600000, 10000,
	    &cfg->signer.backoff_max_ms)) != OB_OK)
		return r;
	if ((cfg->signer.config == NULL) == (cfg->signer.socket == NULL))
		return cfail(c, OB_ERR_CONFIG_INVALID, NULL, "must have "
		    "exactly one of \"config\" (start the helper) and "
		    "\"socket\" (reach a running one)");
	if (cfg->signer.program != NULL && cfg->signer.socket != NULL)
		return cfail(c, OB_ERR_CONFIG_INVALID, "program", "is for a "
		    "helper the server starts (with \"config\")");
	pop(c);
	return OB_OK;
}

/*
 * Dotted decimal, at least two arcs, first 0..2 (second < 40 below 2),
 * every arc below 2^31 (Go's crypto/x509 and others), not under 2.25
 * (UUID arcs: docs/decisions.md).
 */
static int
oid_ok(const char *s)
{
	unsigned long long	 arc[2] = { 0, 0 };
	size_t			 n = 0, digits;
	unsigned long long	 v;

	if (strncmp(s, "2.25.", 5) == 0 || strcmp(s, "2.25") == 0)
		return 0;
	for (;;) {
		v = 0;
		for (digits = 0; isdigit((unsigned char)*s); s++, digits++) {
			v = v * 10 + (unsigned long long)(*s - '0');
			if (v > INT_MAX)
				return 0;
		}
		if (digits == 0 || (digits > 1 && s[-(long)digits] == '0'))
			return 0;
		if (n < 2)
			arc[n] = v;
		n++;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			return 0;
	}
	return n >= 2 && arc[0] <= 2 && (arc[0] == 2 || arc[1] < 40);
}

static int
load_wic(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "owner_oid", "subject_ou", NULL };
	json_t	*o, *v;
	int	 r;

	if ((r = member(c, root, "wic", JSON_OBJECT, 0, &o)) != OB_OK ||
	    o == NULL)
		return r;
	push_key(c, "wic");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_str(c, o, "owner_oid", 0, NULL, 256,
	    &cfg->wic.owner_oid)) != OB_OK ||
	    (r = member(c, o, "subject_ou", JSON_TRUE, 0, &v)) != OB_OK)
		return r;
	if (cfg->wic.owner_oid != NULL && !oid_ok(cfg->wic.owner_oid))
		return cfail(c, OB_ERR_CONFIG_INVALID, "owner_oid", "must be a "
		    "dotted OID with arcs below 2^31, not under 2.25");
	cfg->wic.subject_ou = v != NULL && json_is_true(v);
	pop(c);
	return OB_OK;
}

static int
domain_ok(const char *d)
{
	size_t i, n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-' ||
	    d[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '-' &&
		    d[i] != '.')
			return 0;
	return 1;
}

#define LIFETIME_MIN	60
#define LIFETIME_MAX	86400

static int
load_lifetimes(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	json_t		*o, *v;
	const char	*k;
	size_t		 n = 0;
	int		 r;

	if ((r = get_int(c, root, "lifetime", LIFETIME_MIN, LIFETIME_MAX,
	    3600, &cfg->lifetime)) != OB_OK ||
	    (r = member(c, root, "lifetime_by_domain", JSON_OBJECT, 0, &o)) !=
	    OB_OK || o == NULL)
		return r;
	if (json_object_size(o) > 4096)
		return cfail(c, OB_ERR_CONFIG_INVALID, "lifetime_by_domain",
		    "has more than 4096 entries");
	if ((cfg->lifetime_by_domain = calloc(json_object_size(o) + 1,
	    sizeof(*cfg->lifetime_by_domain))) == NULL)
		return OB_ERR_ALLOC;
	push_key(c, "lifetime_by_domain");
	json_object_foreach(o, k, v) {
		struct ob_domain_lifetime *d = &cfg->lifetime_by_domain[n];

		if (!domain_ok(k))
			return cfail(c, OB_ERR_CONFIG_INVALID, k, "is not a "
			    "trust domain name");
		if ((r = get_int(c, o, k, LIFETIME_MIN, LIFETIME_MAX, 0,
		    &d->seconds)) != OB_OK)
			return r;
		if ((d->domain = strdup(k)) == NULL)
			return OB_ERR_ALLOC;
		cfg->nlifetime_by_domain = ++n;
	}
	pop(c);
	return OB_OK;
}

static int
load_limits(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "max_body", "max_header",
	    "max_conns", "timeout_s", "workers", "queue", NULL };
	json_t	*o;
	int	 r;

	if ((r = member(c, root, "limits", JSON_OBJECT, 0, &o)) != OB_OK)
		return r;
	if (o == NULL)
		o = json_object();	/* every default */
	else
		json_incref(o);
	if (o == NULL)
		return OB_ERR_ALLOC;
	push_key(c, "limits");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_size(c, o, "max_body", 1024, 16 << 20, 64 << 10,
	    &cfg->limits.max_body)) != OB_OK ||
	    (r = get_size(c, o, "max_header", 1024, 1 << 20, 8 << 10,
	    &cfg->limits.max_header)) != OB_OK ||
	    (r = get_uint(c, o, "max_conns", 1, 65536, 1024,
	    &cfg->limits.max_conns)) != OB_OK ||
	    (r = get_uint(c, o, "timeout_s", 1, 3600, 10,
	    &cfg->limits.timeout_s)) != OB_OK ||
	    (r = get_uint(c, o, "workers", 1, 256, 2,
	    &cfg->limits.workers)) != OB_OK ||
	    (r = get_uint(c, o, "queue", 1, 65536, 256,
	    &cfg->limits.queue)) != OB_OK)
		goto out;
	pop(c);
out:
	json_decref(o);
	return r;
}

static int
load_bucket(struct cfg *c, const json_t *o, const char *key,
    struct ob_rate def, struct ob_rate *out)
{
	static const char *const m[] = { "per_second", "burst", NULL };
	json_t		*b, *v;
	long long	 burst;
	int		 r;

	*out = def;
	if ((r = member(c, o, key, JSON_OBJECT, 0, &b)) != OB_OK || b == NULL)
		return r;
	push_key(c, key);
	if ((r = only(c, b, m)) != OB_OK ||
	    (r = member(c, b, "per_second", JSON_REAL, 1, &v)) != OB_OK)
		return r;
	out->per_second = json_number_value(v);
	if (!(out->per_second >= 0 && out->per_second <= 1e6))
		return cfail(c, OB_ERR_CONFIG_INVALID, "per_second", "must be "
		    "from 0 (no limit) to 1000000");
	if ((r = get_int(c, b, "burst", 1, 1000000,
	    (long long)(out->per_second * 2) + 1, &burst)) != OB_OK)
		return r;
	out->burst = (unsigned)burst;
	pop(c);
	return OB_OK;
}

/* docs/server.md, "challenge" (the server-mediated model). */
static int
load_challenge(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "deadline_s", "interval_s",
	    "max_pending", "wait_max_s", "approval_page", NULL };
	json_t	*o, *ap;
	int	 r;

	cfg->challenge.deadline_s = 120;
	cfg->challenge.interval_s = 2;
	cfg->challenge.max_pending = 1024;
	cfg->challenge.wait_max_s = 5;
	if ((r = member(c, root, "challenge", JSON_OBJECT, 0, &o)) != OB_OK ||
	    o == NULL)
		return r;
	push_key(c, "challenge");
	/* The deadline stays inside the verifier's 300 s max_age: the
	 * agent's entry must still be fresh when the owner answers. */
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_int(c, o, "deadline_s", 1, 240, 120,
	    &cfg->challenge.deadline_s)) != OB_OK ||
	    (r = get_int(c, o, "interval_s", 1, 60, 2,
	    &cfg->challenge.interval_s)) != OB_OK ||
	    (r = get_int(c, o, "max_pending", 1, 100000, 1024,
	    &cfg->challenge.max_pending)) != OB_OK ||
	    (r = get_int(c, o, "wait_max_s", 0, 8, 5,
	    &cfg->challenge.wait_max_s)) != OB_OK ||
	    (r = member(c, o, "approval_page", JSON_TRUE, 0, &ap)) != OB_OK)
		return r;
	cfg->challenge.approval_page = ap != NULL && json_is_true(ap);
	pop(c);
	return OB_OK;
}

/* docs/server.md, "rate". */
static const struct ob_rate def_peer = { 0, 1 };
static const struct ob_rate def_owner = { 10, 20 };
static const struct ob_rate def_agent = { 2, 5 };

static int
load_rate(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "per_peer", "per_owner",
	    "per_agent", "shared", NULL };
	json_t	*o, *v;
	int	 r;

	cfg->rate.per_peer = def_peer;
	cfg->rate.per_owner = def_owner;
	cfg->rate.per_agent = def_agent;
	if ((r = member(c, root, "rate", JSON_OBJECT, 0, &o)) != OB_OK ||
	    o == NULL)
		return r;
	push_key(c, "rate");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = load_bucket(c, o, "per_peer", def_peer,
	    &cfg->rate.per_peer)) != OB_OK ||
	    (r = load_bucket(c, o, "per_owner", def_owner,
	    &cfg->rate.per_owner)) != OB_OK ||
	    (r = load_bucket(c, o, "per_agent", def_agent,
	    &cfg->rate.per_agent)) != OB_OK ||
	    (r = member(c, o, "shared", JSON_TRUE, 0, &v)) != OB_OK)
		return r;
	cfg->rate.shared = v != NULL && json_is_true(v);
	if (cfg->rate.shared && !cfg->state_redis)
		return cfail(c, OB_ERR_CONFIG_INVALID, "shared", "needs a "
		    "Redis state (redis:// or unix:): the buckets live there");
	pop(c);
	return OB_OK;
}

/*
 * state: a path (SQLite), or a Redis URI.  A unix: socket path is taken
 * from the configuration's directory like any other path.  The URI is
 * never repeated in an error: one with a password is refused, and the
 * password must not reach a log.
 */
/* PREFIX:PATH made absolute (unix: state, file: password source); other
 * schemes as they are. */
static int
file_uri_abs(const struct cfg *c, char **s, const char *prefix)
{
	size_t	 n = strlen(prefix);
	char	*p = NULL, *u;
	int	 r;

	if (strncmp(*s, prefix, n) != 0 || (*s)[n] == '/' || (*s)[n] == '\0')
		return OB_OK;
	if ((r = abspath(c, *s + n, &p)) != OB_OK)
		return r;
	if ((u = malloc(n + strlen(p) + 1)) == NULL) {
		free(p);
		return OB_ERR_ALLOC;
	}
	memcpy(u, prefix, n);
	memcpy(u + n, p, strlen(p) + 1);
	free(p);
	free(*s);
	*s = u;
	return OB_OK;
}

static int
load_state(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	char	*s = NULL;
	int	 r;

	if ((r = get_str(c, root, "state", 0, "state.sqlite", 4096, &s)) !=
	    OB_OK)
		return r;
	if (!ob_redis_is_uri(s)) {
		r = abspath(c, s, &cfg->state);
		free(s);
		return r;
	}
	cfg->state = s;
	cfg->state_redis = 1;
	if ((r = file_uri_abs(c, &cfg->state, "unix:")) != OB_OK)
		return r;
	if (ob_redis_uri_check(cfg->state) != OB_OK)
		return cfail(c, OB_ERR_CONFIG_INVALID, "state", "is not a "
		    "Redis URI: %s", ob_err_detail());
	return OB_OK;
}

/* redis: how the Redis state is reached (docs/server.md, "redis"). */
static int
load_redis(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const m[] = { "user", "password_source", "prefix",
	    "connect_timeout_ms", "timeout_ms", "wait_replicas",
	    "wait_timeout_ms", NULL };
	struct ob_pin_source	*ps = NULL;
	json_t			*o;
	int			 r;

	if ((r = member(c, root, "redis", JSON_OBJECT, 0, &o)) != OB_OK)
		return r;
	if (o != NULL && !cfg->state_redis)
		return cfail(c, OB_ERR_CONFIG_INVALID, "redis", "is for a Redis "
		    "state only, and \"state\" is a file path");
	if (o == NULL)
		o = json_object();	/* every default */
	else
		json_incref(o);
	if (o == NULL)
		return OB_ERR_ALLOC;
	push_key(c, "redis");
	if ((r = only(c, o, m)) != OB_OK ||
	    (r = get_str(c, o, "user", 0, NULL, 256, &cfg->redis.user)) !=
	    OB_OK ||
	    (r = get_str(c, o, "password_source", 0, NULL, 4096,
	    &cfg->redis.password_source)) != OB_OK ||
	    (r = get_str(c, o, "prefix", 0, NULL, OB_REDIS_PREFIX_MAX,
	    &cfg->redis.prefix)) != OB_OK ||
	    (r = get_uint(c, o, "connect_timeout_ms", 1, 60000, 1000,
	    &cfg->redis.connect_timeout_ms)) != OB_OK ||
	    (r = get_uint(c, o, "timeout_ms", 1, 60000, 1000,
	    &cfg->redis.timeout_ms)) != OB_OK ||
	    (r = get_uint(c, o, "wait_replicas", 0, 16, 0,
	    &cfg->redis.wait_replicas)) != OB_OK ||
	    (r = get_uint(c, o, "wait_timeout_ms", 1, 60000, 100,
	    &cfg->redis.wait_timeout_ms)) != OB_OK)
		goto out;
	if (cfg->redis.prefix != NULL &&
	    ob_redis_prefix_check(cfg->redis.prefix) != OB_OK) {
		r = cfail(c, OB_ERR_CONFIG_INVALID, "prefix", "must be 1 to %d "
		    "letters, digits and : . _ -", OB_REDIS_PREFIX_MAX);
		goto out;
	}
	if (cfg->redis.password_source != NULL) {
		/* lint: ok: a pin-source spec, not the password */
		if (strcmp(cfg->redis.password_source, "tty") == 0) {
			r = cfail(c, OB_ERR_CONFIG_INVALID, "password_source",
			    "cannot be tty: a server has no terminal");
			goto out;
		}
		if ((r = file_uri_abs(c, &cfg->redis.password_source,
		    "file:")) != OB_OK)
			goto out;
		if (ob_pin_source_parse(cfg->redis.password_source, &ps) !=
		    OB_OK) {
			r = cfail(c, OB_ERR_CONFIG_INVALID, "password_source",
			    "is not a PIN source (file:, fd:, env:, askpass:; "
			    "docs/pin-sources.md)");
			goto out;
		}
		ob_pin_source_free(&ps);
	}
	pop(c);
	r = OB_OK;
out:
	json_decref(o);
	return r;
}

static const char *const top_members[] = {
	"listen", "metrics_listen", "aud", "iss", "tls", "clients", "trust",
	"state", "redis", "audit", "issuer", "signer", "wic", "lifetime",
	"lifetime_by_domain", "limits", "rate", "challenge", "user",
	"sandbox", "log_level", NULL
};

static int
load(struct cfg *c, const json_t *root, struct ob_server_config *cfg)
{
	static const char *const levels[] = { "debug", "info", "warn",
	    "error", NULL };
	json_t	*sb;
	int	 r, lvl;

	if ((r = only(c, root, top_members)) != OB_OK ||
	    (r = get_listen(c, root, "listen", "127.0.0.1:8443",
	    &cfg->listen)) != OB_OK ||
	    (r = get_listen(c, root, "metrics_listen", "127.0.0.1:8444",
	    &cfg->metrics_listen)) != OB_OK ||
	    (r = get_str(c, root, "aud", 1, NULL, 1024, &cfg->aud)) != OB_OK ||
	    (r = get_str(c, root, "iss", 1, NULL, 1024, &cfg->iss)) != OB_OK ||
	    (r = load_tls(c, root, cfg)) != OB_OK ||
	    (r = load_clients(c, root, cfg)) != OB_OK ||
	    (r = get_path(c, root, "trust", 1, NULL, &cfg->trust)) != OB_OK ||
	    (r = load_state(c, root, cfg)) != OB_OK ||
	    (r = load_redis(c, root, cfg)) != OB_OK ||
	    (r = get_path(c, root, "audit", 0, "audit.jsonl",
	    &cfg->audit)) != OB_OK ||
	    (r = load_issuer(c, root, cfg)) != OB_OK ||
	    (r = load_signer(c, root, cfg)) != OB_OK ||
	    (r = load_wic(c, root, cfg)) != OB_OK ||
	    (r = load_lifetimes(c, root, cfg)) != OB_OK ||
	    (r = load_limits(c, root, cfg)) != OB_OK ||
	    (r = load_rate(c, root, cfg)) != OB_OK ||
	    (r = load_challenge(c, root, cfg)) != OB_OK ||
	    (r = get_str(c, root, "user", 0, NULL, 256, &cfg->user)) != OB_OK ||
	    (r = member(c, root, "sandbox", JSON_TRUE, 0, &sb)) != OB_OK ||
	    (r = get_enum(c, root, "log_level", 0, levels, OB_LOG_INFO,
	    &lvl)) != OB_OK)
		return r;
	cfg->sandbox = sb == NULL || json_is_true(sb);
	cfg->log_level = (enum ob_log_level)lvl;
	return OB_OK;
}

static int
parse(const void *buf, size_t len, const char *dir, const char *file,
    struct ob_server_config **out, unsigned long *errline)
{
	struct cfg		 c;
	struct ob_server_config	*cfg = NULL;
	json_t			*root = NULL;
	size_t			 pos = 0;
	int			 r;

	memset(&c, 0, sizeof(c));
	c.text = buf != NULL ? buf : (const void *)"";
	c.len = buf != NULL ? len : 0;
	c.dir = dir;
	c.file = file;
	if (c.len > OB_CONFIG_MAX_SIZE) {
		r = ob_errf(OB_ERR_CONFIG_INVALID, "%s: larger than %d bytes",
		    file, OB_CONFIG_MAX_SIZE);
		goto out;
	}
	if ((r = ob_json_read_at(c.text, c.len, OB_JSON_MAX_DEPTH, &root,
	    &pos)) != OB_OK) {
		struct sc	s = { c.text, c.text, c.text + c.len, 1 };
		char		name[MAX_NAME];

		if (r == OB_ERR_ALLOC)
			goto out;
		c.errline = line_at(c.text, pos);
		name[0] = '\0';
		if (r == OB_ERR_JSON_DUPLICATE &&
		    sc_find_end(&s, pos, name, 0, &c.errline, 1) == 0)
			r = ob_errf(OB_ERR_CONFIG_INVALID, "%s:%lu: \"%s\" is "
			    "repeated (duplicate member)", file, c.errline,
			    name);
		else
			r = ob_err_prefix(OB_ERR_CONFIG_INVALID, "%s:%lu: not "
			    "JSON", file, c.errline);
		goto out;
	}
	if (!json_is_object(root)) {
		c.errline = 1;
		r = ob_errf(OB_ERR_CONFIG_TYPE, "%s:1: the configuration must "
		    "be an object", file);
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((r = load(&c, root, cfg)) != OB_OK)
		goto out;
	*out = cfg;
	cfg = NULL;
	r = OB_OK;
out:
	if (r != OB_OK && errline != NULL)
		*errline = c.errline;
	ob_server_config_free(&cfg);
	json_decref(root);
	return r;
}

int
ob_server_config_parse(const void *buf, size_t len, const char *dir,
    struct ob_server_config **out, unsigned long *errline)
{
	return parse(buf, len, dir, "(config)", out, errline);
}

int
ob_server_config_load(const char *path, struct ob_server_config **out,
    unsigned long *errline)
{
	FILE		*f = NULL;
	char		*buf = NULL, *abs = NULL, *slash, cwd[4096];
	size_t		 n;
	unsigned long	 line = 0;
	int		 r;

	if (path[0] == '/')
		abs = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL &&
	    (abs = malloc(strlen(cwd) + strlen(path) + 2)) != NULL)
		(void)snprintf(abs, strlen(cwd) + strlen(path) + 2, "%s/%s",
		    cwd, path);
	if (abs == NULL) {
		if (errline != NULL)
			*errline = 0;
		return ob_errf(OB_ERR_IO, "%s: cannot make the path absolute",
		    path);
	}
	if ((f = fopen(path, "re")) == NULL) {
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(OB_CONFIG_MAX_SIZE + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	n = fread(buf, 1, OB_CONFIG_MAX_SIZE + 1, f);
	if (ferror(f)) {
		r = ob_errf(OB_ERR_IO, "%s: read error", path);
		goto out;
	}
	slash = strrchr(abs, '/');
	*slash = '\0';
	r = parse(buf, n, slash == abs ? "/" : abs, path, out, &line);
	*slash = '/';
	if (r == OB_OK && ((*out)->path = abs) != NULL)
		abs = NULL;
out:
	if (r != OB_OK && errline != NULL)
		*errline = line;
	if (f != NULL)
		fclose(f);
	free(buf);
	free(abs);
	return r;
}

void
ob_server_config_free(struct ob_server_config **cfgp)
{
	struct ob_server_config	*c;
	size_t			 i;

	if (cfgp == NULL || (c = *cfgp) == NULL)
		return;
	free(c->path);
	free(c->listen);
	free(c->metrics_listen);
	free(c->aud);
	free(c->iss);
	free(c->tls.cert);
	free(c->tls.key);
	free(c->tls.client_ca);
	for (i = 0; i < c->nclients; i++) {
		free(c->clients[i].id);
		free(c->clients[i].san_uri);
		free(c->clients[i].owner);
	}
	free(c->clients);
	free(c->trust);
	free(c->state);
	free(c->redis.user);
	free(c->redis.password_source);
	free(c->redis.prefix);
	free(c->audit);
	free(c->issuer.key);
	free(c->issuer.chain);
	free(c->signer.program);
	free(c->signer.config);
	free(c->signer.socket);
	free(c->wic.owner_oid);
	for (i = 0; i < c->nlifetime_by_domain; i++)
		free(c->lifetime_by_domain[i].domain);
	free(c->lifetime_by_domain);
	free(c->user);
	free(c);
	*cfgp = NULL;
}

long long
ob_server_config_lifetime_for(const struct ob_server_config *c,
    const char *agent_id)
{
	const char	*d, *e;
	size_t		 i, n;

	if (strncmp(agent_id, "wimse://", 8) == 0)
		d = agent_id + 8;
	else if (strncmp(agent_id, "spiffe://", 9) == 0)
		d = agent_id + 9;
	else
		return c->lifetime;
	e = strchr(d, '/');
	n = e != NULL ? (size_t)(e - d) : strlen(d);
	for (i = 0; i < c->nlifetime_by_domain; i++)
		if (strlen(c->lifetime_by_domain[i].domain) == n &&
		    strncasecmp(c->lifetime_by_domain[i].domain, d, n) == 0)
			return c->lifetime_by_domain[i].seconds;
	return c->lifetime;
}

int
ob_server_config_check_main(const char *path)
{
	struct ob_server_config	*cfg = NULL;
	unsigned long		 line = 0;
	int			 r;

	ob_err_clear();
	if ((r = ob_server_config_load(path, &cfg, &line)) != OB_OK) {
		fprintf(stderr, "%s (%s)\n", ob_err_detail(), ob_err_name(r));
		return 1;
	}
	printf("%s: ok\n", path);
	ob_server_config_free(&cfg);
	return 0;
}
