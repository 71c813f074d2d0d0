#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "err.h"

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

static int
b64url_bad(const char *in, size_t i)
{
	return ob_errf(OB_ERR_B64_INVALID,
	    "character %zu is not in the base64url alphabet%s", i,
	    in[i] == '=' ? " (padding is not allowed)" : "");
}

int
ob_b64url_decode(const char *in, size_t inlen, size_t max,
    unsigned char **out, size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i, o = 0, rem = inlen % 4, dlen;
	uint32_t		 v;
	unsigned char		*d, a, b, c, e;

	if (rem == 1)
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
		a = b64url_value[s[i]];
		b = b64url_value[s[i + 1]];
		c = b64url_value[s[i + 2]];
		e = b64url_value[s[i + 3]];
		if ((a | b | c | e) & 0x80)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    e;
		d[o++] = (unsigned char)(v >> 16);
		d[o++] = (unsigned char)(v >> 8);
		d[o++] = (unsigned char)v;
	}
	if (rem != 0) {
		a = b64url_value[s[i]];
		b = b64url_value[s[i + 1]];
		c = rem == 3 ? b64url_value[s[i + 2]] : 0;
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
	for (; b64url_value[s[i]] != 0xff; i++)
		;
	return b64url_bad(in, i);
}
