/* Hex digits: one digit's value, decoding, lowercase encoding. */
#ifndef OB_CORE_HEX_H
#define OB_CORE_HEX_H

#include <stddef.h>

/* 0..15 for 0-9, a-f, A-F; -1 for any other byte. */
static inline int
ob_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * n hex digits (then the string ends) into out: 0, or -1. */
static inline int
ob_hex_to_bin(const char *hex, unsigned char *out, size_t n)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = ob_hexval((unsigned char)hex[2 * i])) < 0 ||
		    (lo = ob_hexval((unsigned char)hex[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[2 * n] == '\0' ? 0 : -1;
}

/*
 * n bytes as 2 * n lowercase hex digits and a NUL in out, which holds
 * size bytes: 0, or -1 (out untouched) when 2 * n + 1 do not fit.
 */
static inline int
ob_bin_to_hex(const unsigned char *in, size_t n, char *out, size_t size)
{
	static const char	 x[] = "0123456789abcdef";
	size_t			 i;

	if (n >= (size_t)-1 / 2 || size < 2 * n + 1)
		return -1;
	for (i = 0; i < n; i++) {
		out[2 * i] = x[in[i] >> 4];
		out[2 * i + 1] = x[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

#endif
