/*
 * libFuzzer harness: the PIV backend's card-response parsers
 * (tokens/piv/piv_tlv.c).  The first input byte picks the parser, the
 * rest is the response a hostile card would send.  Every parser must
 * either fail or return fields that lie inside the input.
 *
 *   fuzz-piv_tlv -max_total_time=600 corpus/piv_tlv
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tokens/piv/piv_tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (p < buf || n > len || p > buf + len - n)
		abort();
}

static void
walk(const uint8_t *buf, size_t len, int depth)
{
	struct ob_rd	c;
	struct piv_tlv	t;

	ob_rd_init(&c, buf, len);
	while (ob_rd_left(&c) > 0 && piv_tlv_next(&c, &t) == OB_OK) {
		inside(buf, len, t.val, t.len);
		/* Constructed tags (bit 6 of the first byte) hold TLVs. */
		if (depth < 4 && ((t.tag >> (t.tag > 0xffff ? 16 :
		    t.tag > 0xff ? 8 : 0)) & 0x20) != 0)
			walk(t.val, t.len, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t tags[] = { 0x01, 0x02, 0x03, 0x04, 0x5fc105 };
	struct piv_tlv	 f[5];
	struct piv_meta	 m;
	const uint8_t	*buf, *p;
	size_t		 len, n;
	uint32_t	 present, serial;

	if (size < 1)
		return 0;
	buf = data + 1;
	len = size - 1;
	switch (data[0] % 8) {
	case 0:
		walk(buf, len, 0);
		break;
	case 1:
		if (piv_parse_sig(buf, len, &p, &n) == OB_OK)
			inside(buf, len, p, n);
		break;
	case 2:
		if (piv_parse_genpub(buf, len, 32, &p, &n) == OB_OK ||
		    piv_parse_genpub(buf, len, 48, &p, &n) == OB_OK)
			inside(buf, len, p, n);
		break;
	case 3:
		if (piv_parse_certobj(buf, len, &p, &n) == OB_OK)
			inside(buf, len, p, n);
		break;
	case 4:
		if (piv_parse_mgm(buf, len, 0x80, 8, &p) == OB_OK)
			inside(buf, len, p, 8);
		if (piv_parse_mgm(buf, len, 0x82, 16, &p) == OB_OK)
			inside(buf, len, p, 16);
		break;
	case 5:
		if (piv_parse_meta(buf, len, &m) == OB_OK && m.point != NULL)
			inside(buf, len, m.point, m.plen);
		break;
	case 6:
		if (piv_parse_serial(buf, len, &serial) == OB_OK && len != 4)
			abort();
		break;
	default:
		if (piv_tlv_collect(buf, len, tags, 5, data[0] & 0x80, f,
		    &present) == OB_OK)
			for (n = 0; n < 5; n++)
				if (present & (1u << n))
					inside(buf, len, f[n].val, f[n].len);
		break;
	}
	return 0;
}
