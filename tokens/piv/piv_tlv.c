/*
 * The one BER-TLV reader for card responses, and the parsers of each
 * response the backend reads.  Everything a card returns is untrusted:
 * every length is checked against what is left, lengths are definite
 * and minimal in 1-3 bytes, tags 1-3 bytes, and a parser that expects a
 * complete structure rejects bytes after it.
 */
#include <string.h>

#include "core/err.h"
#include "tokens/piv/piv_tlv.h"

#define TLV_BAD(what)	ob_errf(OB_ERR_DEVICE, "malformed card response: %s", \
			    what)

void
piv_cur_init(struct piv_cur *c, const uint8_t *buf, size_t len)
{
	c->p = len > 0 ? buf : NULL;
	c->left = len;
}

int
piv_tlv_next(struct piv_cur *c, struct piv_tlv *t)
{
	const uint8_t	*p = c->p;
	size_t		 left = c->left, len, n, i;
	uint32_t	 tag;

	memset(t, 0, sizeof(*t));
	if (left == 0)
		return TLV_BAD("TLV expected, none left");
	/* Tag: one byte, or 1F-class first byte and continuation bytes. */
	tag = *p++;
	left--;
	if ((tag & 0x1f) == 0x1f) {
		for (i = 0;; i++) {
			if (left == 0 || i == 2)
				return TLV_BAD("tag longer than 3 bytes");
			tag = tag << 8 | *p;
			left--;
			if ((*p++ & 0x80) == 0)
				break;
		}
	}
	if (left == 0)
		return TLV_BAD("length missing");
	/* Length: short form, 81 xx (>= 0x80) or 82 xxxx (>= 0x100). */
	len = *p++;
	left--;
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 2)
			return TLV_BAD("indefinite or over-long length");
		if (left < n)
			return TLV_BAD("length truncated");
		len = 0;
		for (i = 0; i < n; i++)
			len = len << 8 | p[i];
		p += n;
		left -= n;
		if ((n == 1 && len < 0x80) || (n == 2 && len < 0x100))
			return TLV_BAD("non-minimal length");
	}
	if (len > left)
		return TLV_BAD("value overruns the response");
	t->tag = tag;
	t->val = p;
	t->len = len;
	c->p = p + len;
	c->left = left - len;
	return OB_OK;
}

int
piv_tlv_one(const uint8_t *buf, size_t len, uint32_t tag, struct piv_tlv *t)
{
	struct piv_cur	c;
	int		r;

	piv_cur_init(&c, buf, len);
	if ((r = piv_tlv_next(&c, t)) != OB_OK)
		return r;
	if (t->tag != tag)
		return ob_errf(OB_ERR_DEVICE, "malformed card response: tag "
		    "%X where %X was expected", (unsigned)t->tag,
		    (unsigned)tag);
	if (c.left != 0)
		return TLV_BAD("trailing bytes");
	return OB_OK;
}

int
piv_tlv_collect(const uint8_t *buf, size_t len, const uint32_t *tags,
    size_t ntags, int skip_unknown, struct piv_tlv *out, uint32_t *present)
{
	struct piv_cur	c;
	struct piv_tlv	t;
	size_t		i;
	int		r;

	if (ntags > 32)
		return ob_errf(OB_ERR_INTERNAL, "piv_tlv_collect: %zu tags",
		    ntags);
	*present = 0;
	memset(out, 0, ntags * sizeof(*out));
	piv_cur_init(&c, buf, len);
	while (c.left > 0) {
		if ((r = piv_tlv_next(&c, &t)) != OB_OK)
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
		if (*present & (1u << i))
			return ob_errf(OB_ERR_DEVICE, "malformed card "
			    "response: tag %X twice", (unsigned)t.tag);
		*present |= 1u << i;
		out[i] = t;
	}
	return OB_OK;
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
	if (flen == 0 || pt.len != 1 + 2 * flen || pt.val[0] != 0x04)
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
	int		r;

	if ((r = piv_tlv_one(buf, len, 0x53, &obj)) != OB_OK ||
	    (r = piv_tlv_collect(obj.val, obj.len, tags, 3, 0, f,
	    &present)) != OB_OK)
		return r;
	if ((present & 1) == 0 || f[0].len == 0)
		return TLV_BAD("certificate object without a certificate");
	/* CertInfo 01 = gzip-compressed (SP 800-73-4 part 1 table 9). */
	if ((present & 2) && (f[1].len > 1 || (f[1].len == 1 &&
	    f[1].val[0] != 0)))
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
	uint32_t	present;
	size_t		flen;
	int		r;

	memset(m, 0, sizeof(*m));
	if ((r = piv_tlv_collect(buf, len, tags, 4, 1, f, &present)) != OB_OK)
		return r;
	if (present & 1) {
		if (f[0].len != 1)
			return TLV_BAD("metadata algorithm");
		m->alg = f[0].val[0];
	}
	if (present & 2) {
		if (f[1].len != 2)
			return TLV_BAD("metadata policy");
		m->pin_policy = f[1].val[0];
		m->touch_policy = f[1].val[1];
	}
	if (present & 4) {
		if (f[2].len != 1 || f[2].val[0] < 1 || f[2].val[0] > 2)
			return TLV_BAD("metadata origin");
		m->origin = f[2].val[0];
	}
	if (present & 8) {
		if ((r = piv_tlv_one(f[3].val, f[3].len, 0x86, &pt)) != OB_OK)
			return r;
		flen = piv_ec_flen(m->alg);
		if (flen == 0 || pt.len != 1 + 2 * flen || pt.val[0] != 0x04)
			return TLV_BAD("metadata public point");
		m->point = pt.val;
		m->plen = pt.len;
	}
	return OB_OK;
}

int
piv_parse_serial(const uint8_t *buf, size_t len, uint32_t *serial)
{
	if (len != 4)
		return TLV_BAD("serial is not 4 bytes");
	*serial = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	return OB_OK;
}
