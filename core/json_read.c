/*
 * The JSON reader behind ob_json_parse_object.
 *
 * jansson remains the object model and the serialiser; this file only
 * replaces json_loadb(), which reads one character at a time through a
 * function pointer and a growing buffer (about 10 ns a byte here, a fifth
 * of the cost of verifying an envelope: docs/decisions.md, "JSON reader").
 *
 * The reader accepts exactly what json_loadb(JSON_REJECT_DUPLICATES)
 * accepts, builds the same values in the same member order, and puts
 * every rejection in the same class (duplicate member, bytes after the
 * value, anything else).  That is checked, not assumed: fuzz/fuzz_json.c
 * runs both on every input and aborts on any difference, and its corpus
 * is replayed by the test suite.  The structure follows jansson's lexer
 * and parser on purpose, so that the two are easy to compare:
 *
 *  - a token is lexed completely before the parser looks at it;
 *  - the first error ends the parse (a lexer error is a syntax error even
 *    where the parser would have complained about something else);
 *  - UTF-8 is checked on every byte the lexer consumes, including the one
 *    character of lookahead after a number or a literal;
 *  - an unknown character or word is an "invalid token" that only the
 *    parser rejects, so after the top-level value it counts as trailing
 *    bytes, while a malformed string or number there is a syntax error;
 *  - a duplicate member is found when its name has been read, before the
 *    colon; \u0000 is rejected in names and in string values.
 *
 * One deliberate difference: jansson drops a raw NUL byte that directly
 * follows a number or a literal (its one-character pushback treats NUL as
 * "buffer empty"), so it reads "[1\0]" as [1].  Here every raw NUL outside
 * a string is an invalid token and inside one a control character.
 *
 * Nesting is limited (maxdepth counts values the way jansson does: the
 * top-level container is depth 1); ob_json_parse_object uses a limit far
 * below jansson's 2048, the differential harness uses 2048.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* strtod_l */
#endif
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hex.h"
#include "core/json.h"

enum tok {
	T_EOF,
	T_ERR,		/* lexer error, already recorded */
	T_INVALID,	/* not a token; the parser decides */
	T_LBRACE = '{',
	T_RBRACE = '}',
	T_LBRACKET = '[',
	T_RBRACKET = ']',
	T_COLON = ':',
	T_COMMA = ',',
	T_STRING = 256,
	T_INTEGER,
	T_REAL,
	T_TRUE,
	T_FALSE,
	T_NULL,
};

struct rd {
	const unsigned char	*start, *p, *end;
	unsigned		 depth, maxdepth;
	int			 err;		/* first error, OB_OK if none */
	size_t			 errpos;	/* its byte offset */
	enum tok		 tok;
	/* T_STRING: s[0..slen), owned by sbuf when escapes were decoded */
	const char		*s;
	size_t			 slen;
	char			*sbuf;
	json_int_t		 ival;
	double			 rval;
};

/* Record the first error only, as jansson does.  The position is given
 * as a person finds it in an editor, line and column (in bytes, from 1),
 * and as the byte offset a program seeks to. */
static int
rd_fail(struct rd *r, int code, const char *what)
{
	const unsigned char	*q;
	size_t			 line = 1, col = 1;

	if (r->err == OB_OK) {
		r->errpos = (size_t)(r->p - r->start);
		for (q = r->start; q < r->p && q < r->end; q++) {
			if (*q == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		/* Positions only: input bytes never reach an error text. */
		if (code == OB_ERR_ALLOC)
			r->err = OB_ERR_ALLOC;
		else
			r->err = ob_errf(code, "%s at line %zu, column %zu "
			    "(byte %zu)%s", what, line, col,
			    (size_t)(r->p - r->start), r->p >= r->end ?
			    ", the end of the input" : "");
	}
	return r->err;
}

/*
 * Length of the UTF-8 sequence at p (1 for ASCII), or 0 when it is not
 * well-formed: no continuation byte first, no C0/C1/F5..FF, no overlong
 * form, no surrogate, nothing above U+10FFFF, not cut off by the end.
 */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char	c = p[0];
	uint32_t	v;
	size_t		n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
		return 0;
	return n;
}

/*
 * The byte at r->p as jansson's lexer would see it: -1 at the end, -2
 * (with the error recorded) when a non-ASCII byte does not start a
 * well-formed sequence, else the byte.
 */
static int
rd_peek(struct rd *r)
{
	if (r->p >= r->end)
		return -1;
	if (*r->p >= 0x80 && utf8_len(r->p, r->end) == 0) {
		rd_fail(r, OB_ERR_JSON_SYNTAX, "invalid UTF-8");
		return -2;
	}
	return *r->p;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Four hex digits, already checked by lex_string. */
static uint32_t
hex4(const unsigned char *p)
{
	uint32_t	v = 0;
	int		i;

	for (i = 0; i < 4; i++)
		v = v << 4 | ((uint32_t)ob_hexval(p[i]) & 0x0f);
	return v;
}

static size_t
utf8_put(uint32_t v, char *o)
{
	if (v < 0x80) {
		o[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		o[0] = (char)(0xc0 | v >> 6);
		o[1] = (char)(0x80 | (v & 0x3f));
		return 2;
	}
	if (v < 0x10000) {
		o[0] = (char)(0xe0 | v >> 12);
		o[1] = (char)(0x80 | (v >> 6 & 0x3f));
		o[2] = (char)(0x80 | (v & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | v >> 18);
	o[1] = (char)(0x80 | (v >> 12 & 0x3f));
	o[2] = (char)(0x80 | (v >> 6 & 0x3f));
	o[3] = (char)(0x80 | (v & 0x3f));
	return 4;
}

/* Decode the escapes of a checked string body [b, e) into r->sbuf. */
static enum tok
string_decode(struct rd *r, const unsigned char *b, const unsigned char *e)
{
	const unsigned char	*q;
	uint32_t		 v, v2;
	char			*o;

	/* Never longer than the source: see the cases below. */
	if ((r->sbuf = malloc((size_t)(e - b) + 1)) == NULL) {
		rd_fail(r, OB_ERR_ALLOC, NULL);
		return T_ERR;
	}
	o = r->sbuf;
	for (q = b; q < e;) {
		if (*q != '\\') {
			*o++ = (char)*q++;
			continue;
		}
		q++;
		switch (*q) {
		case 'u':
			v = hex4(q + 1);
			q += 5;
			if (v >= 0xdc00 && v <= 0xdfff) {
				r->p = q;
				rd_fail(r, OB_ERR_JSON_SYNTAX,
				    "lone low surrogate");
				return T_ERR;
			}
			if (v >= 0xd800 && v <= 0xdbff) {
				/* the body was checked: 6 bytes per escape */
				if (e - q < 6 || q[0] != '\\' ||
				    q[1] != 'u' || (v2 = hex4(q + 2)) < 0xdc00 ||
				    v2 > 0xdfff) {
					r->p = q;
					rd_fail(r, OB_ERR_JSON_SYNTAX,
					    "high surrogate without a low one");
					return T_ERR;
				}
				q += 6;
				v = 0x10000 + ((v - 0xd800) << 10) +
				    (v2 - 0xdc00);
			}
			o += utf8_put(v, o);	/* 6 or 12 source bytes */
			break;
		case 'b':
			*o++ = '\b';
			q++;
			break;
		case 'f':
			*o++ = '\f';
			q++;
			break;
		case 'n':
			*o++ = '\n';
			q++;
			break;
		case 'r':
			*o++ = '\r';
			q++;
			break;
		case 't':
			*o++ = '\t';
			q++;
			break;
		default:		/* " \ / */
			*o++ = (char)*q++;
			break;
		}
	}
	*o = '\0';
	r->s = r->sbuf;
	r->slen = (size_t)(o - r->sbuf);
	return T_STRING;
}

/* r->p is just past the opening quote. */
static enum tok
lex_string(struct rd *r)
{
	const unsigned char	*b = r->p;
	int			 esc = 0, i;
	size_t			 n;

	for (;;) {
		/* The common case: a run of printable ASCII. */
		while (r->p < r->end && *r->p >= 0x20 && *r->p < 0x80 &&
		    *r->p != '"' && *r->p != '\\')
			r->p++;
		if (r->p >= r->end) {
			rd_fail(r, OB_ERR_JSON_SYNTAX, "unterminated string");
			return T_ERR;
		}
		if (*r->p == '"')
			break;
		if (*r->p < 0x20) {
			rd_fail(r, OB_ERR_JSON_SYNTAX,
			    "control character in a string");
			return T_ERR;
		}
		if (*r->p >= 0x80) {
			if ((n = utf8_len(r->p, r->end)) == 0) {
				rd_fail(r, OB_ERR_JSON_SYNTAX, "invalid UTF-8");
				return T_ERR;
			}
			r->p += n;
			continue;
		}
		/* a backslash */
		esc = 1;
		r->p++;
		if (r->p < r->end && *r->p == 'u') {
			r->p++;
			for (i = 0; i < 4; i++, r->p++)
				if (r->p >= r->end || ob_hexval(*r->p) < 0) {
					(void)rd_peek(r);
					rd_fail(r, OB_ERR_JSON_SYNTAX,
					    "invalid \\u escape");
					return T_ERR;
				}
		} else if (r->p < r->end && *r->p != '\0' &&
		    strchr("\"\\/bfnrt", *r->p) != NULL)
			r->p++;
		else {
			(void)rd_peek(r);
			rd_fail(r, OB_ERR_JSON_SYNTAX, "invalid escape");
			return T_ERR;
		}
	}
	r->p++;			/* the closing quote */
	if (!esc) {
		r->s = (const char *)b;
		r->slen = (size_t)(r->p - 1 - b);
		return T_STRING;
	}
	return string_decode(r, b, r->p - 1);
}

static locale_t		c_locale;
static pthread_once_t	c_locale_once = PTHREAD_ONCE_INIT;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* r->p is at '-' or a digit. */
static enum tok
lex_number(struct rd *r)
{
	const unsigned char	*b = r->p;
	char			 small[64], *txt, *end;
	size_t			 n;
	int			 c, real = 0;

	if (*r->p == '-')
		r->p++;
	if ((c = rd_peek(r)) == '0') {
		r->p++;
		if (is_digit(c = rd_peek(r)))
			return T_INVALID;
	} else if (is_digit(c)) {
		while (is_digit(c = rd_peek(r)))
			r->p++;
	} else
		return c == -2 ? T_ERR : T_INVALID;
	if (c == -2)
		return T_ERR;
	if (c == '.') {
		real = 1;
		r->p++;
		if (!is_digit(c = rd_peek(r)))
			return c == -2 ? T_ERR : T_INVALID;
		while (is_digit(c = rd_peek(r)))
			r->p++;
		if (c == -2)
			return T_ERR;
	}
	if (c == 'e' || c == 'E') {
		real = 1;
		r->p++;
		if ((c = rd_peek(r)) == '+' || c == '-') {
			r->p++;
			c = rd_peek(r);
		}
		if (!is_digit(c))
			return c == -2 ? T_ERR : T_INVALID;
		while (is_digit(c = rd_peek(r)))
			r->p++;
		if (c == -2)
			return T_ERR;
	}
	n = (size_t)(r->p - b);
	if (n < sizeof(small))
		txt = small;
	else if ((txt = malloc(n + 1)) == NULL) {
		rd_fail(r, OB_ERR_ALLOC, NULL);
		return T_ERR;
	}
	memcpy(txt, b, n);
	txt[n] = '\0';
	errno = 0;
	if (!real) {
		r->ival = strtoll(txt, &end, 10);
		if (errno == ERANGE) {
			r->p = b;
			rd_fail(r, OB_ERR_JSON_SYNTAX, "integer out of range");
		}
	} else {
		(void)pthread_once(&c_locale_once, c_locale_init);
		if (c_locale == (locale_t)0)
			rd_fail(r, OB_ERR_ALLOC, NULL);
		else {
			r->rval = strtod_l(txt, &end, c_locale);
			if (errno == ERANGE && (r->rval == HUGE_VAL ||
			    r->rval == -HUGE_VAL)) {
				r->p = b;
				rd_fail(r, OB_ERR_JSON_SYNTAX,
				    "number out of range");
			}
		}
	}
	if (txt != small)
		free(txt);
	if (r->err != OB_OK)
		return T_ERR;
	return real ? T_REAL : T_INTEGER;
}

static enum tok
lex_word(struct rd *r)
{
	const unsigned char	*b = r->p;
	size_t			 n;
	int			 c;

	while (is_alpha(c = rd_peek(r)))
		r->p++;
	if (c == -2)
		return T_ERR;
	n = (size_t)(r->p - b);
	if (n == 4 && memcmp(b, "true", 4) == 0)
		return T_TRUE;
	if (n == 5 && memcmp(b, "false", 5) == 0)
		return T_FALSE;
	if (n == 4 && memcmp(b, "null", 4) == 0)
		return T_NULL;
	return T_INVALID;
}

static enum tok
lex(struct rd *r)
{
	int c;

	free(r->sbuf);
	r->sbuf = NULL;
	if (r->err != OB_OK)
		return r->tok = T_ERR;
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r'))
		r->p++;
	if ((c = rd_peek(r)) == -1)
		return r->tok = T_EOF;
	if (c == -2)
		return r->tok = T_ERR;
	switch (c) {
	case '{': case '}': case '[': case ']': case ':': case ',':
		r->p++;
		return r->tok = (enum tok)c;
	case '"':
		r->p++;
		return r->tok = lex_string(r);
	default:
		if (c == '-' || is_digit(c))
			return r->tok = lex_number(r);
		if (is_alpha(c))
			return r->tok = lex_word(r);
		/* one whole character, checked above */
		r->p += utf8_len(r->p, r->end);
		return r->tok = T_INVALID;
	}
}

static json_t *parse_value(struct rd *);

static json_t *
parse_object(struct rd *r)
{
	json_t		*o, *v;
	const char	*key;
	char		*owned = NULL;
	size_t		 klen;

	if ((o = json_object()) == NULL) {
		rd_fail(r, OB_ERR_ALLOC, NULL);
		return NULL;
	}
	if (lex(r) == T_RBRACE)
		return o;
	for (;;) {
		if (r->tok != T_STRING) {
			rd_fail(r, OB_ERR_JSON_SYNTAX, "member name expected");
			goto fail;
		}
		klen = r->slen;
		if (memchr(r->s, '\0', klen) != NULL) {
			rd_fail(r, OB_ERR_JSON_SYNTAX,
			    "\\u0000 in a member name");
			goto fail;
		}
		if (json_object_getn(o, r->s, klen) != NULL) {
			rd_fail(r, OB_ERR_JSON_DUPLICATE,
			    "duplicate member name");
			goto fail;
		}
		/*
		 * The name must outlive the next lex(), which frees r->sbuf:
		 * take that buffer over (a name without escapes points into
		 * the input, which outlives everything here).
		 */
		key = r->s;
		owned = r->sbuf;
		r->sbuf = NULL;
		if (lex(r) != T_COLON) {
			rd_fail(r, OB_ERR_JSON_SYNTAX, "':' expected");
			goto fail;
		}
		(void)lex(r);
		if ((v = parse_value(r)) == NULL)
			goto fail;
		if (json_object_setn_new_nocheck(o, key, klen, v) != 0) {
			rd_fail(r, OB_ERR_ALLOC, NULL);
			goto fail;
		}
		free(owned);
		owned = NULL;
		if (lex(r) != T_COMMA)
			break;
		(void)lex(r);
	}
	if (r->tok != T_RBRACE) {
		rd_fail(r, OB_ERR_JSON_SYNTAX, "',' or '}' expected");
		goto fail;
	}
	return o;
fail:
	free(owned);
	json_decref(o);
	return NULL;
}

static json_t *
parse_array(struct rd *r)
{
	json_t *a, *v;

	if ((a = json_array()) == NULL) {
		rd_fail(r, OB_ERR_ALLOC, NULL);
		return NULL;
	}
	if (lex(r) == T_RBRACKET)
		return a;
	while (r->tok != T_EOF) {
		if ((v = parse_value(r)) == NULL)
			goto fail;
		if (json_array_append_new(a, v) != 0) {
			rd_fail(r, OB_ERR_ALLOC, NULL);
			goto fail;
		}
		if (lex(r) != T_COMMA)
			break;
		(void)lex(r);
	}
	if (r->tok != T_RBRACKET) {
		rd_fail(r, OB_ERR_JSON_SYNTAX, "',' or ']' expected");
		goto fail;
	}
	return a;
fail:
	json_decref(a);
	return NULL;
}

static json_t *
parse_value(struct rd *r)
{
	json_t *v;

	if (++r->depth > r->maxdepth) {
		rd_fail(r, OB_ERR_JSON_SYNTAX, "nested too deeply");
		return NULL;
	}
	switch (r->tok) {
	case T_STRING:
		if (memchr(r->s, '\0', r->slen) != NULL) {
			rd_fail(r, OB_ERR_JSON_SYNTAX, "\\u0000 in a string");
			return NULL;
		}
		v = json_stringn_nocheck(r->s, r->slen);
		break;
	case T_INTEGER:
		v = json_integer(r->ival);
		break;
	case T_REAL:
		v = json_real(r->rval);
		break;
	case T_TRUE:
		v = json_true();
		break;
	case T_FALSE:
		v = json_false();
		break;
	case T_NULL:
		v = json_null();
		break;
	case T_LBRACE:
		if ((v = parse_object(r)) == NULL)
			return NULL;
		break;
	case T_LBRACKET:
		if ((v = parse_array(r)) == NULL)
			return NULL;
		break;
	default:
		rd_fail(r, OB_ERR_JSON_SYNTAX, "value expected");
		return NULL;
	}
	if (v == NULL) {
		rd_fail(r, OB_ERR_ALLOC, NULL);
		return NULL;
	}
	r->depth--;
	return v;
}

int
ob_json_read(const void *buf, size_t len, unsigned maxdepth, json_t **out)
{
	return ob_json_read_at(buf, len, maxdepth, out, NULL);
}

int
ob_json_read_at(const void *buf, size_t len, unsigned maxdepth, json_t **out,
    size_t *errpos)
{
	struct rd	 r;
	json_t		*v;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	if (buf == NULL)
		len = 0;	/* no arithmetic on a null pointer */
	r.start = r.p = buf != NULL ? buf : (const void *)"";
	r.end = r.start + len;
	r.maxdepth = maxdepth;
	r.err = OB_OK;
	if (lex(&r) != T_LBRACE && r.tok != T_LBRACKET) {
		rd_fail(&r, OB_ERR_JSON_SYNTAX, "'{' or '[' expected");
		goto out;
	}
	if ((v = parse_value(&r)) == NULL)
		goto out;
	if (lex(&r) != T_EOF) {
		rd_fail(&r, OB_ERR_JSON_TRAILING, "bytes after the value");
		json_decref(v);
		goto out;
	}
	*out = v;
out:
	free(r.sbuf);
	if (r.err != OB_OK && errpos != NULL)
		*errpos = r.errpos;
	return r.err;
}
