/*
 * Compact JSON serialisation of jansson values, byte for byte what
 * json_dumps(v, JSON_COMPACT) gives (members in insertion order, "\uXXXX"
 * in upper case for control characters, '/' and non-ASCII as they are),
 * without jansson's per-code-point UTF-8 walk and output callback: the
 * identity server's 201 answer (a WIT and a WIC PEM, about 3 KB) cost
 * 263k instructions through json_dumps (docs/benchmarks.md).  Strings
 * are copied a run at a time between the bytes that need an escape.
 * Reals, which no document of ours holds, go through jansson.
 * tests/unit/test_json.c compares the two on every kind of value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/deconst.h"
#include "core/err.h"
#include "core/json.h"

#define WRITE_MAX_DEPTH	64
#define WRITE_MAX	(64u * 1024 * 1024)

/* Writes whose failure taints the writer: checked once, at the end. */
static void
put(struct ob_wr *w, const void *p, size_t n)
{
	if (ob_wr_bytes(w, p, n) != OB_OK)
		return;
}

static void
put1(struct ob_wr *w, char c)
{
	if (ob_wr_u8(w, (uint8_t)c) != OB_OK)
		return;
}

/* 1: the byte is written as an escape. */
static int
needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

static void
put_str(struct ob_wr *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char	 e[6];
	size_t	 i = 0, run;

	put1(w, '"');
	while (i < n) {
		for (run = i; run < n && !needs_escape((unsigned char)s[run]);
		    run++)
			;
		put(w, s + i, run - i);
		if ((i = run) == n)
			break;
		e[0] = '\\';
		switch (s[i]) {
		case '"':  e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			memcpy(e, "\\u00", 4);
			e[4] = hex[(unsigned char)s[i] >> 4];
			e[5] = hex[(unsigned char)s[i] & 15];
			put(w, e, 6);
			i++;
			continue;
		}
		put(w, e, 2);
		i++;
	}
	put1(w, '"');
}

static int
put_value(struct ob_wr *w, const json_t *v, int depth)
{
	const char	*key;
	json_t		*m;
	char		*s, num[24];
	size_t		 i;
	int		 first = 1, r;

	if (depth > WRITE_MAX_DEPTH)
		return ob_errf(OB_ERR_INVALID_ARG, "JSON nested over %d deep",
		    WRITE_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		put1(w, '{');
		json_object_foreach(OB_DECONST(json_t *, v), key, m) {
			if (!first)
				put1(w, ',');
			first = 0;
			put_str(w, key, strlen(key));
			put1(w, ':');
			if ((r = put_value(w, m, depth + 1)) != OB_OK)
				return r;
		}
		put1(w, '}');
		return ob_wr_err(w);
	case JSON_ARRAY:
		put1(w, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				put1(w, ',');
			if ((r = put_value(w, json_array_get(v, i), depth + 1)) !=
			    OB_OK)
				return r;
		}
		put1(w, ']');
		return ob_wr_err(w);
	case JSON_STRING:
		put_str(w, json_string_value(v), json_string_length(v));
		return ob_wr_err(w);
	case JSON_INTEGER:
		(void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		put(w, num, strlen(num));
		return ob_wr_err(w);
	case JSON_TRUE:
		return ob_wr_bytes(w, "true", 4);
	case JSON_FALSE:
		return ob_wr_bytes(w, "false", 5);
	case JSON_NULL:
		return ob_wr_bytes(w, "null", 4);
	default:
		if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			return OB_ERR_ALLOC;
		r = ob_wr_bytes(w, s, strlen(s));
		free(s);
		return r;
	}
}

int
ob_json_dump(const json_t *v, char **out, size_t *outlen)
{
	struct ob_wr	 w;
	uint8_t		*p;
	size_t		 n;
	int		 r;

	if (v == NULL || (!json_is_object(v) && !json_is_array(v)))
		return ob_errf(OB_ERR_INVALID_ARG, "not an object or array");
	ob_wr_init_heap(&w, WRITE_MAX);
	if ((r = put_value(&w, v, 1)) != OB_OK ||
	    (r = ob_wr_u8(&w, '\0')) != OB_OK ||
	    (r = ob_wr_take(&w, &p, &n)) != OB_OK) {
		ob_wr_free(&w);
		return r;
	}
	*out = (char *)p;
	*outlen = n - 1;
	return OB_OK;
}
