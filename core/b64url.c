#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/err.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
ob_b64url_enclen(size_t n)
{
	return (n / 3) * 4 + ((n % 3) == 0 ? 0 : (n % 3) + 1);
}

int
ob_b64url_encode(const unsigned char *in, size_t inlen, char **out)
{
	size_t	 i, o = 0, len = ob_b64url_enclen(inlen);
	uint32_t v;
	char	*s;

	if (inlen > SIZE_MAX / 2 || (s = malloc(len + 1)) == NULL)
		return OB_ERR_ALLOC;
	for (i = 0; i + 2 < inlen; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		s[o++] = b64url_alphabet[(v >> 18) & 63];
		s[o++] = b64url_alphabet[(v >> 12) & 63];
		s[o++] = b64url_alphabet[(v >> 6) & 63];
		s[o++] = b64url_alphabet[v & 63];
	}
	if (inlen - i == 1) {
		v = (uint32_t)in[i] << 16;
		s[o++] = b64url_alphabet[(v >> 18) & 63];
		s[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (inlen - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		s[o++] = b64url_alphabet[(v >> 18) & 63];
		s[o++] = b64url_alphabet[(v >> 12) & 63];
		s[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	s[o] = '\0';
	*out = s;
	return OB_OK;
}

/* Value of each byte in the alphabet, 0xff for every other byte. */
static const unsigned char b64url_value[256] = {
#define X 0xff
#define R16 X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
	R16, R16,
	X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,	/* 0x20: - */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,	/* 0x40: A */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	R16, R16, R16, R16, R16, R16, R16, R16,
#undef R16
#undef X
};

/* The standard alphabet (RFC 4648 section 4): '+' and '/' for 62, 63. */
static const unsigned char b64_value[256] = {
#define X 0xff
#define R16 X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
	R16, R16,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,	/* 0x20: + / */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,	/* 0x40: A */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	R16, R16, R16, R16, R16, R16, R16, R16,
#undef R16
#undef X
};

static int
b64_bad(const char *in, size_t i, int padded)
{
	return ob_errf(OB_ERR_B64_INVALID,
	    "character %zu is not in the base64%s alphabet%s", i,
	    padded ? "" : "url", in[i] != '=' ? "" : padded ?
	    " (padding only at the end)" : " (padding is not allowed)");
}

/*
 * One decoder for both forms.  tab maps the alphabet; padded: the
 * standard form, whose length is a multiple of 4 with one or two '=' in
 * the last group (and nowhere else); otherwise no padding at all.
 */
static int
b64_decode(const unsigned char *tab, int padded, const char *in,
    size_t inlen, size_t max, unsigned char **out, size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i, o = 0, rem, dlen;
	uint32_t		 v;
	unsigned char		*d, a, b, c, e;

	if (padded) {
		if (inlen % 4 != 0)
			return ob_errf(OB_ERR_B64_INVALID, "length %zu is not "
			    "a multiple of 4", inlen);
		/* Strip the padding: what is left is the unpadded form. */
		rem = 0;
		if (inlen >= 4 && s[inlen - 1] == '=') {
			rem = s[inlen - 2] == '=' ? 2 : 3;
			inlen -= 4 - rem;
		}
	} else if ((rem = inlen % 4) == 1)
		return ob_errf(OB_ERR_B64_INVALID, "impossible length %zu",
		    inlen);
	dlen = (inlen / 4) * 3 + (rem == 0 ? 0 : rem - 1);
	if (dlen > max)
		return ob_errf(OB_ERR_ENV_TOO_LARGE,
		    "decodes to %zu bytes, limit %zu", dlen, max);
	if ((d = malloc(dlen == 0 ? 1 : dlen)) == NULL)
		return OB_ERR_ALLOC;
	/* Whole groups of four characters; any 0xff marks a bad one. */
	for (i = 0; i + 4 <= inlen; i += 4) {
		a = tab[s[i]];
		b = tab[s[i + 1]];
		c = tab[s[i + 2]];
		e = tab[s[i + 3]];
		if ((a | b | c | e) & 0x80)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    e;
		d[o++] = (unsigned char)(v >> 16);
		d[o++] = (unsigned char)(v >> 8);
		d[o++] = (unsigned char)v;
	}
	if (rem != 0) {
		a = tab[s[i]];
		b = tab[s[i + 1]];
		c = rem == 3 ? tab[s[i + 2]] : 0;
		if ((a | b | c) & 0x80)
			goto bad;
		/* The unused low bits of the last character must be zero. */
		if ((rem == 2 && (b & 0x0f) != 0) ||
		    (rem == 3 && (c & 0x03) != 0)) {
			free(d);
			return ob_errf(OB_ERR_B64_NONCANONICAL,
			    "last character has unused bits set");
		}
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		d[o++] = (unsigned char)(v >> 16);
		if (rem == 3)
			d[o++] = (unsigned char)(v >> 8);
	}
	*out = d;
	*outlen = o;
	return OB_OK;
bad:
	free(d);
	/* Name the first bad character, as before the table. */
	for (; tab[s[i]] != 0xff; i++)
		;
	return b64_bad(in, i, padded);
}

int
ob_b64url_decode(const char *in, size_t inlen, size_t max,
    unsigned char **out, size_t *outlen)
{
	return b64_decode(b64url_value, 0, in, inlen, max, out, outlen);
}

int
ob_b64_decode(const char *in, size_t inlen, size_t max, unsigned char **out,
    size_t *outlen)
{
	return b64_decode(b64_value, 1, in, inlen, max, out, outlen);
}
