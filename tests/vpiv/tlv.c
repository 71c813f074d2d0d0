/*
 * tlv.c - bounded BER-TLV reader and writer (see tlv.h).
 * Encoding rules: ISO/IEC 7816-4 section 5.2 / X.690 section 8.1.
 */
#include <string.h>

#include "tests/vpiv/tlv.h"

void
tlv_cur_init(struct tlv_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->left = p == NULL ? 0 : len;
}

static int
read_tag(struct tlv_cur *c, uint32_t *tag)
{
	uint32_t t;
	uint8_t b;

	if (c->left < 1)
		return TLV_ERR_TRUNCATED;
	b = c->p[0];
	/* 00 and FF are inter-element padding in 7816-4; we accept none. */
	if (b == 0x00 || b == 0xff)
		return TLV_ERR_TAG;
	t = b;
	c->p++;
	c->left--;
	if ((b & 0x1f) != 0x1f) {
		*tag = t;
		return TLV_OK;
	}
	/* Second byte: tag numbers below 31 must use the one-byte form. */
	if (c->left < 1)
		return TLV_ERR_TRUNCATED;
	b = c->p[0];
	if (b < 0x1f || b == 0x80)
		return TLV_ERR_TAG;
	t = (t << 8) | b;
	c->p++;
	c->left--;
	if ((b & 0x80) == 0) {
		*tag = t;
		return TLV_OK;
	}
	/* Third byte must end the tag. */
	if (c->left < 1)
		return TLV_ERR_TRUNCATED;
	b = c->p[0];
	if ((b & 0x80) != 0)
		return TLV_ERR_TAG;
	t = (t << 8) | b;
	c->p++;
	c->left--;
	*tag = t;
	return TLV_OK;
}

static int
read_len(struct tlv_cur *c, size_t *len)
{
	uint8_t b;

	if (c->left < 1)
		return TLV_ERR_TRUNCATED;
	b = c->p[0];
	c->p++;
	c->left--;
	if (b < 0x80) {
		*len = b;
		return TLV_OK;
	}
	if (b == 0x81) {
		if (c->left < 1)
			return TLV_ERR_TRUNCATED;
		if (c->p[0] < 0x80)
			return TLV_ERR_LENGTH;	/* not minimal */
		*len = c->p[0];
		c->p++;
		c->left--;
		return TLV_OK;
	}
	if (b == 0x82) {
		if (c->left < 2)
			return TLV_ERR_TRUNCATED;
		*len = ((size_t)c->p[0] << 8) | c->p[1];
		if (*len < 0x100)
			return TLV_ERR_LENGTH;	/* not minimal */
		c->p += 2;
		c->left -= 2;
		return TLV_OK;
	}
	/* 0x80 (indefinite) and anything longer than two length bytes. */
	return TLV_ERR_LENGTH;
}

int
tlv_next(struct tlv_cur *c, struct tlv *out)
{
	struct tlv_cur save = *c;
	uint32_t tag;
	size_t len;
	int r;

	if (c->left == 0)
		return TLV_END;
	if ((r = read_tag(c, &tag)) != TLV_OK)
		goto fail;
	if ((r = read_len(c, &len)) != TLV_OK)
		goto fail;
	if (len > c->left) {
		r = TLV_ERR_TRUNCATED;
		goto fail;
	}
	out->tag = tag;
	out->val = c->p;
	out->len = len;
	c->p += len;
	c->left -= len;
	return TLV_OK;
 fail:
	*c = save;
	return r;
}

int
tlv_expect_one(const uint8_t *buf, size_t len, uint32_t want, struct tlv *out)
{
	struct tlv_cur c;
	struct tlv t;
	int r;

	tlv_cur_init(&c, buf, len);
	if ((r = tlv_next(&c, &t)) != TLV_OK)
		return r == TLV_END ? TLV_ERR_TRUNCATED : r;
	if (t.tag != want)
		return TLV_ERR_UNEXPECTED;
	if (c.left != 0)
		return TLV_ERR_TRAILING;
	*out = t;
	return TLV_OK;
}

int
tlv_collect(const uint8_t *buf, size_t len, const uint32_t *allowed, size_t n,
    struct tlv *out, uint32_t *present)
{
	struct tlv_cur c;
	struct tlv t;
	uint32_t seen = 0;
	size_t i;
	int r;

	if (n > 32)
		return TLV_ERR_UNEXPECTED;
	tlv_cur_init(&c, buf, len);
	while ((r = tlv_next(&c, &t)) == TLV_OK) {
		for (i = 0; i < n; i++)
			if (allowed[i] == t.tag)
				break;
		if (i == n)
			return TLV_ERR_UNEXPECTED;
		if ((seen & (1u << i)) != 0)
			return TLV_ERR_DUPLICATE;
		seen |= 1u << i;
		out[i] = t;
	}
	if (r != TLV_END)
		return r;
	*present = seen;
	return TLV_OK;
}

const char *
tlv_strerror(int r)
{
	switch (r) {
	case TLV_OK:
		return "success";
	case TLV_END:
		return "end of data";
	case TLV_ERR_TRUNCATED:
		return "element runs past the end of its buffer";
	case TLV_ERR_TAG:
		return "malformed tag";
	case TLV_ERR_LENGTH:
		return "malformed length";
	case TLV_ERR_DUPLICATE:
		return "duplicate element";
	case TLV_ERR_UNEXPECTED:
		return "unexpected tag";
	case TLV_ERR_TRAILING:
		return "trailing bytes";
	case TLV_ERR_SPACE:
		return "output buffer too small";
	default:
		return "unknown TLV error";
	}
}

void
tlv_buf_init(struct tlv_buf *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = p == NULL ? 0 : cap;
	b->err = TLV_OK;
}

void
tlv_put_raw(struct tlv_buf *b, const void *v, size_t n)
{
	if (b->err != TLV_OK)
		return;
	if (n > b->cap - b->len) {
		b->err = TLV_ERR_SPACE;
		return;
	}
	if (n > 0)
		memcpy(b->p + b->len, v, n);
	b->len += n;
}

void
tlv_put_u8(struct tlv_buf *b, uint8_t v)
{
	tlv_put_raw(b, &v, 1);
}

size_t
tlv_hdr_size(uint32_t tag, size_t len)
{
	size_t n;

	n = tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
	n += len < 0x80 ? 1 : len <= 0xff ? 2 : 3;
	return n;
}

void
tlv_put_hdr(struct tlv_buf *b, uint32_t tag, size_t len)
{
	uint8_t h[6];
	size_t n = 0;

	if (b->err != TLV_OK)
		return;
	if (len > TLV_MAX_LEN || tag == 0 || tag > 0xffffff) {
		b->err = TLV_ERR_LENGTH;
		return;
	}
	if (tag > 0xffff)
		h[n++] = (uint8_t)(tag >> 16);
	if (tag > 0xff)
		h[n++] = (uint8_t)(tag >> 8);
	h[n++] = (uint8_t)tag;
	if (len < 0x80) {
		h[n++] = (uint8_t)len;
	} else if (len <= 0xff) {
		h[n++] = 0x81;
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 0x82;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	}
	tlv_put_raw(b, h, n);
}

void
tlv_put(struct tlv_buf *b, uint32_t tag, const void *v, size_t len)
{
	tlv_put_hdr(b, tag, len);
	tlv_put_raw(b, v, len);
}

int
tlv_buf_error(const struct tlv_buf *b)
{
	return b->err;
}
