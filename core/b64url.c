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

static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
ob_b64url_decode(const char *in, size_t inlen, size_t max,
    unsigned char **out, size_t *outlen)
{
	size_t		 i, o = 0, rem = inlen % 4, dlen;
	uint32_t	 v = 0;
	int		 c, nbits = 0;
	unsigned char	*d;

	if (rem == 1)
		return ob_errf(OB_ERR_B64_INVALID, "impossible length %zu",
		    inlen);
	dlen = (inlen / 4) * 3 + (rem == 0 ? 0 : rem - 1);
	if (dlen > max)
		return ob_errf(OB_ERR_ENV_TOO_LARGE,
		    "decodes to %zu bytes, limit %zu", dlen, max);
	for (i = 0; i < inlen; i++)
		if (b64url_val((unsigned char)in[i]) < 0)
			return ob_errf(OB_ERR_B64_INVALID,
			    "character %zu is not in the base64url alphabet%s",
			    i, in[i] == '=' ? " (padding is not allowed)" : "");
	/* The unused low bits of the last character must be zero. */
	if (rem != 0) {
		c = b64url_val((unsigned char)in[inlen - 1]);
		if ((rem == 2 && (c & 0x0f) != 0) ||
		    (rem == 3 && (c & 0x03) != 0))
			return ob_errf(OB_ERR_B64_NONCANONICAL,
			    "last character has unused bits set");
	}
	if ((d = malloc(dlen == 0 ? 1 : dlen)) == NULL)
		return OB_ERR_ALLOC;
	for (i = 0; i < inlen; i++) {
		v = (v << 6) | (uint32_t)b64url_val((unsigned char)in[i]);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			d[o++] = (unsigned char)(v >> nbits);
		}
	}
	*out = d;
	*outlen = o;
	return OB_OK;
}
