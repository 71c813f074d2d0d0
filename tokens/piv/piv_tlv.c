/*
 * The one BER-TLV reader for card responses, and the parsers of each
 * response the backend reads.  Everything a card returns is untrusted:
 * every length is checked against what is left, lengths are definite
 * and minimal in 1-3 bytes, tags 1-3 bytes, and a parser that expects a
 * complete structure rejects bytes after it.
 */
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "tokens/piv/piv_tlv.h"

#define TLV_BAD(what)	ob_errf(OB_ERR_DEVICE, "malformed card response: %s", \
			    what)

/* Taint rd with the backend's code for a malformed response. */
static int
tlv_bad(struct ob_rd *rd, const char *what)
{
	(void)ob_rd_fail(rd, OB_ERR_DEVICE);
	return TLV_BAD(what);
}

int
piv_tlv_next(struct ob_rd *rd, struct piv_tlv *t)
{
	struct ob_rd	 c;
	const uint8_t	*val;
	uint32_t	 tag;
	uint16_t	 l16;
	uint8_t		 b;
	size_t		 len, i;

	if (ob_rd_err(rd) != OB_OK)
		return ob_rd_err(rd);
	/* Read a copy, so that rd moves only past a whole TLV. */
	c = *rd;
	if (ob_rd_u8(&c, &b) != OB_OK)
		return tlv_bad(rd, "TLV expected, none left");
	/* Tag: one byte, or 1F-class first byte and continuation bytes. */
	tag = b;
	if ((tag & 0x1f) == 0x1f) {
		for (i = 0;; i++) {
			if (i == 2 || ob_rd_u8(&c, &b) != OB_OK)
				return tlv_bad(rd, "tag cut or longer than 3 "
				    "bytes");
			tag = tag << 8 | b;
			if ((b & 0x80) == 0)
				break;
		}
	}
	/* Length: short form, 81 xx (>= 0x80) or 82 xxxx (>= 0x100). */
	if (ob_rd_u8(&c, &b) != OB_OK)
		return tlv_bad(rd, "length missing");
	if (b < 0x80)
		len = b;
	else if (b == 0x81) {
		if (ob_rd_u8(&c, &b) != OB_OK)
			return tlv_bad(rd, "length truncated");
		if (b < 0x80)
			return tlv_bad(rd, "non-minimal length");
		len = b;
	} else if (b == 0x82) {
		if (ob_rd_u16(&c, &l16) != OB_OK)
			return tlv_bad(rd, "length truncated");
		if (l16 < 0x100)
			return tlv_bad(rd, "non-minimal length");
		len = l16;
	} else
		return tlv_bad(rd, "indefinite or over-long length");
	if (ob_rd_bytes(&c, len, &val) != OB_OK)
		return tlv_bad(rd, "value overruns the response");
	t->tag = tag;
	t->val = val;
	t->len = len;
	*rd = c;
	return OB_OK;
}

int
piv_tlv_one(const uint8_t *buf, size_t len, uint32_t tag, struct piv_tlv *t)
{
	struct ob_rd	rd;
	struct piv_tlv	v;
	int		r;

	ob_rd_init(&rd, buf, len);
	if ((r = piv_tlv_next(&rd, &v)) != OB_OK)
		return r;
	if (v.tag != tag)
		return ob_errf(OB_ERR_DEVICE, "malformed card response: tag "
		    "%X where %X was expected", (unsigned)v.tag,
		    (unsigned)tag);
	if (ob_rd_end(&rd) != OB_OK)
		return TLV_BAD("trailing bytes");
	*t = v;
	return OB_OK;
}

int
piv_tlv_collect(const uint8_t *buf, size_t len, const uint32_t *tags,
    size_t ntags, int skip_unknown, struct piv_tlv *out, uint32_t *present)
{
	struct ob_rd	rd;
	struct piv_tlv	t;
	uint32_t	seen = 0;
	size_t		i;
	int		r;

	if (ntags > 32)
		return ob_errf(OB_ERR_INTERNAL, "piv_tlv_collect: %zu tags",
		    ntags);
	memset(out, 0, ntags * sizeof(*out));
	ob_rd_init(&rd, buf, len);
	while (ob_rd_left(&rd) > 0) {
		if ((r = piv_tlv_next(&rd, &t)) != OB_OK)
			return r;
		for (i = 0; i < ntags; i++)
			if (tags[i] == t.tag)
				break;
		if (i == ntags) {
			if (skip_unknown)
				continue;
			return ob_errf(OB_ERR_DEVICE, "malformed card "
			    "response: unexpected tag %X", (unsigned)t.tag);
		}
		if (seen & (1u << i))
			return ob_errf(OB_ERR_DEVICE, "malformed card "
			    "response: tag %X twice", (unsigned)t.tag);
		seen |= 1u << i;
		out[i] = t;
	}
	*present = seen;
	return OB_OK;
}

int
piv_wr_tlv_hdr(struct ob_wr *w, uint32_t tag, size_t len)
{
	int	r;

	if (tag > 0xffffff || len > 0xffff)
		return ob_errf(OB_ERR_INTERNAL, "TLV tag %X or length %zu out "
		    "of range", (unsigned)tag, len);
	if ((tag > 0xffff && (r = ob_wr_u8(w, (uint8_t)(tag >> 16))) !=
	    OB_OK) ||
	    (tag > 0xff && (r = ob_wr_u8(w, (uint8_t)(tag >> 8))) != OB_OK) ||
	    (r = ob_wr_u8(w, (uint8_t)tag)) != OB_OK)
		return r;
	if (len < 0x80)
		return ob_wr_u8(w, (uint8_t)len);
	if (len < 0x100) {
		if ((r = ob_wr_u8(w, 0x81)) != OB_OK)
			return r;
		return ob_wr_u8(w, (uint8_t)len);
	}
	if ((r = ob_wr_u8(w, 0x82)) != OB_OK)
		return r;
	return ob_wr_u16(w, (uint16_t)len);
}

size_t
piv_ec_flen(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_P256:
		return 32;
	case PIV_ALG_P384:
		return 48;
	default:
		return 0;
	}
}

int
piv_check_point(const uint8_t *p, size_t len, size_t flen)
{
	static const uint8_t	uncompressed = 0x04;
	struct ob_rd		rd;

	ob_rd_init(&rd, p, len);
	if (flen == 0 || ob_rd_expect(&rd, &uncompressed, 1, OB_ERR_DEVICE) !=
	    OB_OK || ob_rd_skip(&rd, 2 * flen) != OB_OK ||
	    ob_rd_end(&rd) != OB_OK)
		return ob_errf(OB_ERR_DEVICE, "public point of %zu bytes is not "
		    "04 || X || Y of %zu-byte coordinates", len, flen);
	return OB_OK;
}

/* The value of t is exactly n bytes, read as a big-endian number. */
static int
tlv_uint(const struct piv_tlv *t, size_t n, uint16_t *v)
{
	struct ob_rd	rd;
	uint16_t	x;
	uint8_t		b;

	ob_rd_init(&rd, t->val, t->len);
	if (n == 1) {
		if (ob_rd_u8(&rd, &b) != OB_OK)
			return OB_ERR_DEVICE;
		x = b;
	} else if (ob_rd_u16(&rd, &x) != OB_OK)
		return OB_ERR_DEVICE;
	if (ob_rd_end(&rd) != OB_OK)
		return OB_ERR_DEVICE;
	*v = x;
	return OB_OK;
}

int
piv_parse_sig(const uint8_t *buf, size_t len, const uint8_t **der,
    size_t *derlen)
{
	struct piv_tlv	dyn, s;
	int		r;

	if ((r = piv_tlv_one(buf, len, 0x7c, &dyn)) != OB_OK ||
	    (r = piv_tlv_one(dyn.val, dyn.len, 0x82, &s)) != OB_OK)
		return r;
	/* SEQUENCE of two INTEGERs of at most 49 bytes: <= 106 bytes. */
	if (s.len < 8 || s.len > 2 + 2 * (2 + 49))
		return TLV_BAD("signature size");
	*der = s.val;
	*derlen = s.len;
	return OB_OK;
}

int
piv_parse_genpub(const uint8_t *buf, size_t len, size_t flen,
    const uint8_t **point, size_t *plen)
{
	struct piv_tlv	tmpl, pt;
	int		r;

	if ((r = piv_tlv_one(buf, len, 0x7f49, &tmpl)) != OB_OK ||
	    (r = piv_tlv_one(tmpl.val, tmpl.len, 0x86, &pt)) != OB_OK)
		return r;
	if (piv_check_point(pt.val, pt.len, flen) != OB_OK)
		return TLV_BAD("public point size or form");
	*point = pt.val;
	*plen = pt.len;
	return OB_OK;
}

int
piv_parse_certobj(const uint8_t *buf, size_t len, const uint8_t **der,
    size_t *derlen)
{
	static const uint32_t tags[] = { 0x70, 0x71, 0xfe };
	struct piv_tlv	obj, f[3];
	uint32_t	present;
	uint16_t	info;
	int		r;

	if ((r = piv_tlv_one(buf, len, 0x53, &obj)) != OB_OK ||
	    (r = piv_tlv_collect(obj.val, obj.len, tags, 3, 0, f,
	    &present)) != OB_OK)
		return r;
	if ((present & 1) == 0 || f[0].len == 0)
		return TLV_BAD("certificate object without a certificate");
	/* CertInfo 01 = gzip-compressed (SP 800-73-4 part 1 table 9); an
	 * empty CertInfo is taken as 00. */
	if ((present & 2) && f[1].len > 0 && (tlv_uint(&f[1], 1, &info) !=
	    OB_OK || info != 0))
		return ob_errf(OB_ERR_DEVICE, "compressed certificates are not "
		    "supported");
	*der = f[0].val;
	*derlen = f[0].len;
	return OB_OK;
}

int
piv_parse_mgm(const uint8_t *buf, size_t len, uint32_t tag, size_t bs,
    const uint8_t **val)
{
	struct piv_tlv	dyn, v;
	int		r;

	if ((r = piv_tlv_one(buf, len, 0x7c, &dyn)) != OB_OK ||
	    (r = piv_tlv_one(dyn.val, dyn.len, tag, &v)) != OB_OK)
		return r;
	if (v.len != bs)
		return TLV_BAD("management-key block size");
	*val = v.val;
	return OB_OK;
}

int
piv_parse_meta(const uint8_t *buf, size_t len, struct piv_meta *m)
{
	/* YubiKey metadata tags; later firmware may add others. */
	static const uint32_t tags[] = { 0x01, 0x02, 0x03, 0x04 };
	struct piv_tlv	f[4], pt;
	struct piv_meta	mm;
	uint32_t	present;
	uint16_t	v;
	int		r;

	memset(&mm, 0, sizeof(mm));
	if ((r = piv_tlv_collect(buf, len, tags, 4, 1, f, &present)) != OB_OK)
		return r;
	if (present & 1) {
		if (tlv_uint(&f[0], 1, &v) != OB_OK)
			return TLV_BAD("metadata algorithm");
		mm.alg = (uint8_t)v;
	}
	if (present & 2) {
		if (tlv_uint(&f[1], 2, &v) != OB_OK)
			return TLV_BAD("metadata policy");
		mm.pin_policy = (uint8_t)(v >> 8);
		mm.touch_policy = (uint8_t)v;
	}
	if (present & 4) {
		if (tlv_uint(&f[2], 1, &v) != OB_OK || v < 1 || v > 2)
			return TLV_BAD("metadata origin");
		mm.origin = (uint8_t)v;
	}
	if (present & 8) {
		if ((r = piv_tlv_one(f[3].val, f[3].len, 0x86, &pt)) != OB_OK)
			return r;
		if (piv_check_point(pt.val, pt.len, piv_ec_flen(mm.alg)) !=
		    OB_OK)
			return TLV_BAD("metadata public point");
		mm.point = pt.val;
		mm.plen = pt.len;
	}
	*m = mm;
	return OB_OK;
}

int
piv_parse_serial(const uint8_t *buf, size_t len, uint32_t *serial)
{
	struct ob_rd	rd;
	uint32_t	v;

	ob_rd_init(&rd, buf, len);
	if (ob_rd_u32(&rd, &v) != OB_OK || ob_rd_end(&rd) != OB_OK)
		return TLV_BAD("serial is not 4 bytes");
	*serial = v;
	return OB_OK;
}
