/* core/buf.c: the bounded reader and writer (contract in buf.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/buf.h"
#include "core/err.h"

/* What an empty reader points at: never NULL, so that p + 0 is defined. */
static const uint8_t	empty[1];

void
ob_rd_init(struct ob_rd *r, const void *p, size_t len)
{
	r->p = p != NULL ? p : empty;
	r->len = p != NULL ? len : 0;
	r->off = 0;
	r->err = OB_OK;
}

size_t
ob_rd_left(const struct ob_rd *r)
{
	return r->err != OB_OK ? 0 : r->len - r->off;
}

size_t
ob_rd_offset(const struct ob_rd *r)
{
	return r->off;
}

int
ob_rd_err(const struct ob_rd *r)
{
	return r->err;
}

int
ob_rd_end(const struct ob_rd *r)
{
	if (r->err != OB_OK)
		return r->err;
	if (r->off != r->len)
		return ob_errf(OB_ERR_TRAILING, "%zu bytes after the end",
		    r->len - r->off);
	return OB_OK;
}

int
ob_rd_fail(struct ob_rd *r, int code)
{
	if (r->err == OB_OK)
		r->err = code != OB_OK ? code : OB_ERR_INTERNAL;
	return r->err;
}

/* The one bounds check: n more bytes, or taint. */
static int
need(struct ob_rd *r, size_t n)
{
	if (r->err != OB_OK)
		return r->err;
	if (n > r->len - r->off) {
		r->err = OB_ERR_TRUNCATED;
		return ob_errf(OB_ERR_TRUNCATED, "%zu bytes wanted at offset "
		    "%zu, %zu left", n, r->off, r->len - r->off);
	}
	return OB_OK;
}

static int
rd_be(struct ob_rd *r, size_t w, uint64_t *v)
{
	uint64_t	x = 0;
	size_t		i;
	int		rc;

	if ((rc = need(r, w)) != OB_OK)
		return rc;
	for (i = 0; i < w; i++)
		x = x << 8 | r->p[r->off + i];
	r->off += w;
	*v = x;
	return OB_OK;
}

static int
rd_le(struct ob_rd *r, size_t w, uint64_t *v)
{
	uint64_t	x = 0;
	size_t		i;
	int		rc;

	if ((rc = need(r, w)) != OB_OK)
		return rc;
	for (i = w; i > 0; i--)
		x = x << 8 | r->p[r->off + i - 1];
	r->off += w;
	*v = x;
	return OB_OK;
}

int
ob_rd_u8(struct ob_rd *r, uint8_t *v)
{
	uint64_t	x;
	int		rc;

	if ((rc = rd_be(r, 1, &x)) == OB_OK)
		*v = (uint8_t)x;
	return rc;
}

int
ob_rd_u16(struct ob_rd *r, uint16_t *v)
{
	uint64_t	x;
	int		rc;

	if ((rc = rd_be(r, 2, &x)) == OB_OK)
		*v = (uint16_t)x;
	return rc;
}

int
ob_rd_u32(struct ob_rd *r, uint32_t *v)
{
	uint64_t	x;
	int		rc;

	if ((rc = rd_be(r, 4, &x)) == OB_OK)
		*v = (uint32_t)x;
	return rc;
}

int
ob_rd_u64(struct ob_rd *r, uint64_t *v)
{
	return rd_be(r, 8, v);
}

int
ob_rd_u16_le(struct ob_rd *r, uint16_t *v)
{
	uint64_t	x;
	int		rc;

	if ((rc = rd_le(r, 2, &x)) == OB_OK)
		*v = (uint16_t)x;
	return rc;
}

int
ob_rd_u32_le(struct ob_rd *r, uint32_t *v)
{
	uint64_t	x;
	int		rc;

	if ((rc = rd_le(r, 4, &x)) == OB_OK)
		*v = (uint32_t)x;
	return rc;
}

int
ob_rd_peek_u8(const struct ob_rd *r, uint8_t *v)
{
	if (r->err != OB_OK)
		return r->err;
	if (r->off == r->len)
		return ob_errf(OB_ERR_TRUNCATED, "no byte left at offset %zu",
		    r->off);
	*v = r->p[r->off];
	return OB_OK;
}

int
ob_rd_bytes(struct ob_rd *r, size_t n, const uint8_t **p)
{
	int	rc;

	if ((rc = need(r, n)) != OB_OK)
		return rc;
	*p = r->p + r->off;
	r->off += n;
	return OB_OK;
}

int
ob_rd_copy(struct ob_rd *r, void *dst, size_t n)
{
	const uint8_t	*p;
	int		 rc;

	if ((rc = ob_rd_bytes(r, n, &p)) != OB_OK)
		return rc;
	if (n > 0)
		memcpy(dst, p, n);
	return OB_OK;
}

int
ob_rd_skip(struct ob_rd *r, size_t n)
{
	const uint8_t	*p;

	return ob_rd_bytes(r, n, &p);
}

int
ob_rd_expect(struct ob_rd *r, const void *want, size_t n, int mismatch)
{
	const uint8_t	*p;
	int		 rc;

	if ((rc = need(r, n)) != OB_OK)
		return rc;
	p = r->p + r->off;
	if (n > 0 && CRYPTO_memcmp(p, want, n) != 0) {
		r->err = mismatch != OB_OK ? mismatch : OB_ERR_INTERNAL;
		return ob_errf(r->err, "%zu bytes at offset %zu are not the "
		    "expected ones", n, r->off);
	}
	r->off += n;
	return OB_OK;
}

int
ob_rd_rest(struct ob_rd *r, const uint8_t **p, size_t *n)
{
	size_t	left;
	int	rc;

	if (r->err != OB_OK)
		return r->err;
	left = r->len - r->off;
	if ((rc = ob_rd_bytes(r, left, p)) != OB_OK)
		return rc;
	*n = left;
	return OB_OK;
}

static int
rd_lv(struct ob_rd *r, size_t w, size_t max, const uint8_t **p, size_t *n)
{
	uint64_t	 len;
	size_t		 start = r->off;
	const uint8_t	*q;
	int		 rc;

	if ((rc = rd_be(r, w, &len)) != OB_OK)
		return rc;
	if (len > max) {
		r->err = OB_ERR_FIELD_TOO_LONG;
		return ob_errf(OB_ERR_FIELD_TOO_LONG, "field at offset %zu is "
		    "%llu bytes, at most %zu allowed", start,
		    (unsigned long long)len, max);
	}
	if ((rc = ob_rd_bytes(r, (size_t)len, &q)) != OB_OK)
		return rc;
	*p = q;
	*n = (size_t)len;
	return OB_OK;
}

int
ob_rd_lv8(struct ob_rd *r, size_t max, const uint8_t **p, size_t *n)
{
	return rd_lv(r, 1, max, p, n);
}

int
ob_rd_lv16(struct ob_rd *r, size_t max, const uint8_t **p, size_t *n)
{
	return rd_lv(r, 2, max, p, n);
}

int
ob_rd_lv32(struct ob_rd *r, size_t max, const uint8_t **p, size_t *n)
{
	return rd_lv(r, 4, max, p, n);
}

int
ob_rd_sub(struct ob_rd *r, size_t n, struct ob_rd *sub)
{
	const uint8_t	*p;
	int		 rc;

	if ((rc = ob_rd_bytes(r, n, &p)) != OB_OK)
		return rc;
	ob_rd_init(sub, p, n);
	return OB_OK;
}

/* Writer */

void
ob_wr_init_fixed(struct ob_wr *w, void *buf, size_t cap)
{
	w->p = buf;
	w->len = 0;
	w->cap = buf != NULL ? cap : 0;
	w->max = w->cap;
	w->heap = 0;
	w->err = OB_OK;
}

void
ob_wr_init_heap(struct ob_wr *w, size_t max)
{
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->max = max;
	w->heap = 1;
	w->err = OB_OK;
}

void
ob_wr_free(struct ob_wr *w)
{
	if (w->p != NULL) {
		OPENSSL_cleanse(w->p, w->heap ? w->cap : w->len);
		if (w->heap)
			free(w->p);
	}
	w->p = NULL;
	w->len = w->cap = 0;
	w->err = OB_OK;
}

int
ob_wr_err(const struct ob_wr *w)
{
	return w->err;
}

size_t
ob_wr_len(const struct ob_wr *w)
{
	return w->err != OB_OK ? 0 : w->len;
}

const uint8_t *
ob_wr_ptr(const struct ob_wr *w)
{
	return w->err != OB_OK || w->len == 0 ? NULL : w->p;
}

/* Room for n more bytes, or taint.  A heap buffer grows by doubling; the
 * old one is wiped before it is freed, as it may hold a PIN. */
static int
room(struct ob_wr *w, size_t n)
{
	size_t	 want, cap;
	uint8_t	*np;

	if (w->err != OB_OK)
		return w->err;
	if (n <= w->cap - w->len)
		return OB_OK;
	if (!w->heap || n > w->max - w->len) {
		w->err = OB_ERR_BUF_FULL;
		return ob_errf(OB_ERR_BUF_FULL, "%zu more bytes do not fit "
		    "after %zu (at most %zu)", n, w->len, w->max);
	}
	want = w->len + n;
	cap = w->cap < 64 ? 64 : w->cap;
	while (cap < want)
		cap = cap > w->max / 2 ? w->max : cap * 2;
	if (cap > w->max)
		cap = w->max;
	if ((np = malloc(cap)) == NULL) {
		w->err = OB_ERR_ALLOC;
		return OB_ERR_ALLOC;
	}
	if (w->p != NULL) {
		memcpy(np, w->p, w->len);
		OPENSSL_cleanse(w->p, w->cap);
		free(w->p);
	}
	w->p = np;
	w->cap = cap;
	return OB_OK;
}

static int
wr_be(struct ob_wr *w, size_t n, uint64_t v)
{
	size_t	i;
	int	rc;

	if ((rc = room(w, n)) != OB_OK)
		return rc;
	for (i = 0; i < n; i++)
		w->p[w->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->len += n;
	return OB_OK;
}

int
ob_wr_u8(struct ob_wr *w, uint8_t v)
{
	return wr_be(w, 1, v);
}

int
ob_wr_u16(struct ob_wr *w, uint16_t v)
{
	return wr_be(w, 2, v);
}

int
ob_wr_u32(struct ob_wr *w, uint32_t v)
{
	return wr_be(w, 4, v);
}

int
ob_wr_u64(struct ob_wr *w, uint64_t v)
{
	return wr_be(w, 8, v);
}

int
ob_wr_bytes(struct ob_wr *w, const void *p, size_t n)
{
	int	rc;

	if ((rc = room(w, n)) != OB_OK)
		return rc;
	if (n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
	return OB_OK;
}

static int
wr_lv(struct ob_wr *w, size_t pw, const void *p, size_t n)
{
	int	rc;

	if (w->err != OB_OK)
		return w->err;
	if (pw < sizeof(size_t) && n >> (8 * pw) != 0) {
		w->err = OB_ERR_FIELD_TOO_LONG;
		return ob_errf(OB_ERR_FIELD_TOO_LONG, "%zu bytes do not fit a "
		    "%zu-byte length", n, pw);
	}
	if ((rc = wr_be(w, pw, n)) != OB_OK)
		return rc;
	return ob_wr_bytes(w, p, n);
}

int
ob_wr_lv8(struct ob_wr *w, const void *p, size_t n)
{
	return wr_lv(w, 1, p, n);
}

int
ob_wr_lv16(struct ob_wr *w, const void *p, size_t n)
{
	return wr_lv(w, 2, p, n);
}

int
ob_wr_lv32(struct ob_wr *w, const void *p, size_t n)
{
	return wr_lv(w, 4, p, n);
}

uint8_t *
ob_wr_reserve(struct ob_wr *w, size_t n)
{
	uint8_t	*p;

	if (room(w, n) != OB_OK || (n == 0 && w->p == NULL))
		return NULL;
	p = w->p + w->len;
	memset(p, 0, n);
	w->len += n;
	return p;
}

static int
patch(struct ob_wr *w, size_t off, size_t n, uint64_t v)
{
	size_t	i;

	if (w->err != OB_OK)
		return w->err;
	if (off > w->len || n > w->len - off) {
		w->err = OB_ERR_INVALID_ARG;
		return ob_errf(OB_ERR_INVALID_ARG, "patch at %zu past the %zu "
		    "bytes written", off, w->len);
	}
	for (i = 0; i < n; i++)
		w->p[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return OB_OK;
}

int
ob_wr_patch_u16(struct ob_wr *w, size_t off, uint16_t v)
{
	return patch(w, off, 2, v);
}

int
ob_wr_patch_u32(struct ob_wr *w, size_t off, uint32_t v)
{
	return patch(w, off, 4, v);
}

int
ob_wr_take(struct ob_wr *w, uint8_t **out, size_t *n)
{
	if (w->err != OB_OK)
		return w->err;
	if (!w->heap)
		return ob_errf(OB_ERR_INVALID_ARG, "a fixed writer's bytes "
		    "belong to its caller");
	if (w->p == NULL && (w->p = malloc(1)) == NULL)
		return OB_ERR_ALLOC;
	*out = w->p;
	*n = w->len;
	w->p = NULL;
	w->len = w->cap = 0;
	return OB_OK;
}
