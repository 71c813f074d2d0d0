/* One hex digit's value. */
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

#endif
