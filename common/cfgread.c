/*
 * The strict JSON configuration reader (common/cfgread.h).
 *
 * The file is read by the project's strict JSON reader; the checks then
 * walk the jansson tree.  jansson keeps no positions, so a member's line
 * is found by a second, bounded scan of the text along the member's path
 * (sc_locate()): the text has been accepted by the reader by then, so the
 * scan needs to know only strings, nesting and commas, and it compares
 * names after decoding them, as the reader did.  For a duplicate the
 * reader says where it stopped (just after the repeated name), and the
 * scan names the member whose name ends there.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfgread.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/json.h"

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
sc_locate(struct sc *s, const struct ob_cfg_seg *path, size_t n, unsigned depth)
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

	for (i = 0; i < n && *off + 8 < OB_CFG_MAX_NAME; i++) {
		if (c[i] >= 0x20 && c[i] < 0x7f && c[i] != '"' && c[i] != '\\')
			buf[(*off)++] = (char)c[i];
		else {
			w = snprintf(buf + *off, OB_CFG_MAX_NAME - *off, "\\x%02x",
			    c[i]);
			*off += (size_t)w;
		}
	}
	if (i < n && *off + 4 < OB_CFG_MAX_NAME) {
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

unsigned long
ob_cfg_line_at(const unsigned char *t, size_t pos)
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
show_path(const struct ob_cfg *c, const char *key, char buf[OB_CFG_MAX_NAME])
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
int
ob_cfg_fail(struct ob_cfg *c, int code, const char *key, const char *fmt, ...)
{
	struct sc	 s = { c->text, c->text, c->text + c->len, 1 };
	struct ob_cfg_seg	 full[OB_CFG_MAX_DEPTH + 1];
	char		 name[OB_CFG_MAX_NAME], what[256];
	va_list		 ap;
	size_t		 n = c->depth;

	memcpy(full, c->path, n * sizeof(full[0]));
	if (key != NULL)
		full[n++] = (struct ob_cfg_seg){ key, 0 };
	c->errline = sc_locate(&s, full, n, 1);
	show_path(c, key, name);
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ob_errf(code, "%s:%lu: \"%s\" %s", c->file, c->errline,
	    name[0] != '\0' ? name : "(top level)", what);
}

void
ob_cfg_push_key(struct ob_cfg *c, const char *key)
{
	c->path[c->depth++] = (struct ob_cfg_seg){ key, 0 };
}

void
ob_cfg_push_idx(struct ob_cfg *c, size_t i)
{
	c->path[c->depth++] = (struct ob_cfg_seg){ NULL, i };
}

void
ob_cfg_pop(struct ob_cfg *c)
{
	c->depth--;
}

/* ---- typed members ---- */

/* "a, b, c" from a NULL-terminated list, cut to fit. */
const char *
ob_cfg_join(const char *const *names, char *buf, size_t size)
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

int
ob_cfg_only(struct ob_cfg *c, const json_t *o, const char *const *allowed)
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
		return ob_cfg_fail(c, OB_ERR_CONFIG_UNKNOWN, k, "is not a member "
		    "here (expected: %s)", ob_cfg_join(allowed, list, sizeof(list)));
	}
	return OB_OK;
}

const char *
ob_cfg_type_name(const json_t *v)
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
int
ob_cfg_member(struct ob_cfg *c, const json_t *o, const char *key, json_type t,
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
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "has no member "
		    "\"%s\", which is required", key);
	}
	if (json_typeof(v) != t && !(t == JSON_REAL && json_is_integer(v)) &&
	    !(t == JSON_TRUE && json_is_boolean(v)))
		return ob_cfg_fail(c, OB_ERR_CONFIG_TYPE, key, "must be %s, not %s",
		    want[t], ob_cfg_type_name(v));
	*out = v;
	return OB_OK;
}

int
ob_cfg_str(struct ob_cfg *c, const json_t *o, const char *key, int required,
    const char *def, size_t max, char **out)
{
	json_t		*v;
	const char	*s = def;
	int		 r;

	if ((r = ob_cfg_member(c, o, key, JSON_STRING, required, &v)) != OB_OK)
		return r;
	if (v != NULL) {
		s = json_string_value(v);
		if (json_string_length(v) == 0 || json_string_length(v) > max)
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key, "must be 1 "
			    "to %zu bytes long", max);
	}
	if (s == NULL)
		return OB_OK;
	if ((*out = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

int
ob_cfg_int(struct ob_cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, long long *out)
{
	json_t		*v;
	long long	 n;
	int		 r;

	if ((r = ob_cfg_member(c, o, key, JSON_INTEGER, 0, &v)) != OB_OK)
		return r;
	if (v == NULL) {
		*out = def;
		return OB_OK;
	}
	n = json_integer_value(v);
	if (n < min || n > max)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key, "must be from "
		    "%lld to %lld, not %lld", min, max, n);
	*out = n;
	return OB_OK;
}

int
ob_cfg_uint(struct ob_cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, unsigned *out)
{
	long long	n = 0;
	int		r;

	if ((r = ob_cfg_int(c, o, key, min, max, def, &n)) == OB_OK)
		*out = (unsigned)n;
	return r;
}

int
ob_cfg_size(struct ob_cfg *c, const json_t *o, const char *key, long long min,
    long long max, long long def, size_t *out)
{
	long long	n = 0;
	int		r;

	if ((r = ob_cfg_int(c, o, key, min, max, def, &n)) == OB_OK)
		*out = (size_t)n;
	return r;
}

/* An absolute path: s itself, or dir/s. */
int
ob_cfg_abspath(const struct ob_cfg *c, const char *s, char **out)
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

int
ob_cfg_path(struct ob_cfg *c, const json_t *o, const char *key, int required,
    const char *def, char **out)
{
	char	*s = NULL;
	int	 r;

	if ((r = ob_cfg_str(c, o, key, required, def, 4096, &s)) != OB_OK ||
	    s == NULL)
		return r;
	r = ob_cfg_abspath(c, s, out);
	free(s);
	return r;
}

/* "HOST:PORT", HOST a name, an IPv4 address or [IPv6]. */
int
ob_cfg_listen(struct ob_cfg *c, const json_t *o, const char *key, const char *def,
    char **out)
{
	const char	*colon, *q;
	char		*s = NULL;
	long		 port;
	int		 r;

	if ((r = ob_cfg_str(c, o, key, 0, def, 300, &s)) != OB_OK)
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
	return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key, "must be HOST:PORT "
	    "(port 0 to 65535; an IPv6 address in brackets)");
}

/* One of the NULL-terminated names; *out its index. */
int
ob_cfg_enum(struct ob_cfg *c, const json_t *o, const char *key, int required,
    const char *const *names, int def, int *out)
{
	json_t	*v;
	char	 list[256];
	int	 i, r;

	if ((r = ob_cfg_member(c, o, key, JSON_STRING, required, &v)) != OB_OK)
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
	return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key, "must be one of %s",
	    ob_cfg_join(names, list, sizeof(list)));
}

/* ---- reading ---- */

int
ob_cfg_read(struct ob_cfg *c, const void *buf, size_t len, const char *dir,
    const char *file, json_t **root)
{
	json_t	*v = NULL;
	size_t	 pos = 0;
	int	 r;

	memset(c, 0, sizeof(*c));
	c->text = buf != NULL ? buf : (const void *)"";
	c->len = buf != NULL ? len : 0;
	c->dir = dir;
	c->file = file;
	if (c->len > OB_CONFIG_MAX_SIZE)
		return ob_errf(OB_ERR_CONFIG_INVALID, "%s: larger than %d "
		    "bytes", file, OB_CONFIG_MAX_SIZE);
	if ((r = ob_json_read_at(c->text, c->len, OB_JSON_MAX_DEPTH, &v,
	    &pos)) != OB_OK) {
		struct sc	s = { c->text, c->text, c->text + c->len, 1 };
		char		name[OB_CFG_MAX_NAME];

		if (r == OB_ERR_ALLOC)
			return r;
		c->errline = ob_cfg_line_at(c->text, pos);
		name[0] = '\0';
		if (r == OB_ERR_JSON_DUPLICATE &&
		    sc_find_end(&s, pos, name, 0, &c->errline, 1) == 0)
			return ob_errf(OB_ERR_CONFIG_INVALID, "%s:%lu: \"%s\" "
			    "is repeated (duplicate member)", file, c->errline,
			    name);
		return ob_err_prefix(OB_ERR_CONFIG_INVALID, "%s:%lu: not "
		    "JSON", file, c->errline);
	}
	if (!json_is_object(v)) {
		json_decref(v);
		c->errline = 1;
		return ob_errf(OB_ERR_CONFIG_TYPE, "%s:1: the configuration "
		    "must be an object", file);
	}
	*root = v;
	return OB_OK;
}

int
ob_cfg_slurp(const char *path, char **absp, char **dirp, char **bufp,
    size_t *lenp)
{
	FILE	*f = NULL;
	char	*buf = NULL, *abs = NULL, *dir = NULL, *slash, cwd[4096];
	size_t	 n;
	int	 r;

	if (path[0] == '/')
		abs = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL &&
	    (abs = malloc(strlen(cwd) + strlen(path) + 2)) != NULL)
		(void)snprintf(abs, strlen(cwd) + strlen(path) + 2, "%s/%s",
		    cwd, path);
	if (abs == NULL)
		return ob_errf(OB_ERR_IO, "%s: cannot make the path absolute",
		    path);
	if ((f = fopen(path, "re")) == NULL) {
		r = ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(OB_CONFIG_MAX_SIZE + 2)) == NULL ||
	    (dir = strdup(abs)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	n = fread(buf, 1, OB_CONFIG_MAX_SIZE + 1, f);
	if (ferror(f)) {
		r = ob_errf(OB_ERR_IO, "%s: read error", path);
		goto out;
	}
	buf[n] = '\0';
	slash = strrchr(dir, '/');
	slash[slash == dir] = '\0';
	*absp = abs;
	*dirp = dir;
	*bufp = buf;
	*lenp = n;
	abs = dir = buf = NULL;
	r = OB_OK;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(dir);
	free(abs);
	return r;
}

int
ob_cfg_bucket(struct ob_cfg *c, const json_t *o, const char *key,
    double *per_second, unsigned *burst)
{
	static const char *const m[] = { "per_second", "burst", NULL };
	json_t		*b, *v;
	long long	 n;
	int		 r;

	if ((r = ob_cfg_member(c, o, key, JSON_OBJECT, 0, &b)) != OB_OK ||
	    b == NULL)
		return r;
	ob_cfg_push_key(c, key);
	if ((r = ob_cfg_only(c, b, m)) != OB_OK ||
	    (r = ob_cfg_member(c, b, "per_second", JSON_REAL, 1, &v)) != OB_OK)
		return r;
	*per_second = json_number_value(v);
	if (!(*per_second >= 0 && *per_second <= 1e6))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "per_second",
		    "must be from 0 (no limit) to 1000000");
	if ((r = ob_cfg_int(c, b, "burst", 1, 1000000,
	    (long long)(*per_second * 2) + 1, &n)) != OB_OK)
		return r;
	*burst = (unsigned)n;
	ob_cfg_pop(c);
	return OB_OK;
}
