/*
 * core/buf.h: the one bounded reader and the one bounded writer for bytes.
 *
 * Every parser of untrusted binary input (TPM structures, authenticatorData,
 * PIV TLV and APDU responses, the signer protocol) reads through struct
 * ob_rd; every builder of binary output (APDUs, signer messages) writes
 * through struct ob_wr.  No call site does index arithmetic on a buffer.
 *
 * Reader.  An ob_rd borrows bytes the caller owns and keeps them alive for
 * as long as the reader and any pointer it handed out are used.  Every read
 * is bounded by what is left; a read that fails (too few bytes, a field over
 * its maximum, bytes that differ from the expected ones) returns a negative
 * code and taints the reader: every later read fails with the same code and
 * changes nothing.  So a parser may read a fixed structure field by field
 * and check once, with ob_rd_end() (which also refuses trailing bytes) or
 * ob_rd_err().  Outputs are written only on success.
 *
 * Integers are big-endian (network, TPM, CTAP authenticatorData order)
 * unless the name ends in _le.
 *
 * Writer.  An ob_wr appends to either a caller-supplied fixed buffer or a
 * heap buffer that grows up to a maximum.  A write that does not fit fails
 * with OB_ERR_BUF_FULL (or OB_ERR_ALLOC) and taints the writer the same
 * way.  ob_wr_free() wipes whatever was written (writers build APDUs that
 * carry PINs) and frees a heap buffer.
 */
#ifndef OB_CORE_BUF_H
#define OB_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "ownerbind/ob_err.h"

struct ob_rd {
	const uint8_t	*p;	/* start of the bytes */
	size_t		 len;	/* their number */
	size_t		 off;	/* bytes consumed */
	int		 err;	/* first failure, OB_OK while untainted */
};

void ob_rd_init(struct ob_rd *r, const void *p, size_t len);

/* Bytes not yet read (0 once tainted). */
size_t ob_rd_left(const struct ob_rd *r);
/* Bytes consumed so far. */
size_t ob_rd_offset(const struct ob_rd *r);
/* OB_OK, or the code that tainted the reader. */
int ob_rd_err(const struct ob_rd *r) OB_WUR;
/* OB_OK if untainted and every byte was read; OB_ERR_TRAILING if bytes are
 * left; else the tainting code. */
int ob_rd_end(const struct ob_rd *r) OB_WUR;
/* Taint the reader with code (a caller's own check failed) and return it. */
int ob_rd_fail(struct ob_rd *r, int code);

int ob_rd_u8(struct ob_rd *r, uint8_t *v) OB_WUR;
int ob_rd_u16(struct ob_rd *r, uint16_t *v) OB_WUR;
int ob_rd_u32(struct ob_rd *r, uint32_t *v) OB_WUR;
int ob_rd_u64(struct ob_rd *r, uint64_t *v) OB_WUR;
int ob_rd_u16_le(struct ob_rd *r, uint16_t *v) OB_WUR;
int ob_rd_u32_le(struct ob_rd *r, uint32_t *v) OB_WUR;
/* The next byte without consuming it. */
int ob_rd_peek_u8(const struct ob_rd *r, uint8_t *v) OB_WUR;

/* Borrow the next n bytes: *p points into the reader's buffer. */
int ob_rd_bytes(struct ob_rd *r, size_t n, const uint8_t **p) OB_WUR;
/* Copy the next n bytes into dst. */
int ob_rd_copy(struct ob_rd *r, void *dst, size_t n) OB_WUR;
int ob_rd_skip(struct ob_rd *r, size_t n) OB_WUR;
/* The next n bytes must equal want (compared in constant time); if they
 * differ the reader is tainted with the caller's code, mismatch. */
int ob_rd_expect(struct ob_rd *r, const void *want, size_t n,
    int mismatch) OB_WUR;
/* Everything left, borrowed; the reader is then at its end. */
int ob_rd_rest(struct ob_rd *r, const uint8_t **p, size_t *n) OB_WUR;

/* A length-prefixed field: a big-endian u8/u16/u32 length, then at most max
 * bytes (OB_ERR_FIELD_TOO_LONG above it), borrowed. */
int ob_rd_lv8(struct ob_rd *r, size_t max, const uint8_t **p, size_t *n)
    OB_WUR;
int ob_rd_lv16(struct ob_rd *r, size_t max, const uint8_t **p, size_t *n)
    OB_WUR;
int ob_rd_lv32(struct ob_rd *r, size_t max, const uint8_t **p, size_t *n)
    OB_WUR;

/* Carve the next n bytes off as an independent reader (for a nested
 * structure whose length the outer one declares). */
int ob_rd_sub(struct ob_rd *r, size_t n, struct ob_rd *sub) OB_WUR;

struct ob_wr {
	uint8_t		*p;
	size_t		 len;	/* bytes written */
	size_t		 cap;	/* bytes allocated (fixed: the buffer size) */
	size_t		 max;	/* heap: the most it may grow to */
	int		 heap;
	int		 err;
};

/* Write into buf[0..cap). */
void ob_wr_init_fixed(struct ob_wr *w, void *buf, size_t cap);
/* Write into a heap buffer that grows up to max bytes. */
void ob_wr_init_heap(struct ob_wr *w, size_t max);
/* Wipe what was written; free a heap buffer.  The writer may be reused
 * after another init. */
void ob_wr_free(struct ob_wr *w);

int ob_wr_err(const struct ob_wr *w) OB_WUR;
size_t ob_wr_len(const struct ob_wr *w);
/* The bytes written so far (NULL if none or tainted). */
const uint8_t *ob_wr_ptr(const struct ob_wr *w);

int ob_wr_u8(struct ob_wr *w, uint8_t v) OB_WUR;
int ob_wr_u16(struct ob_wr *w, uint16_t v) OB_WUR;
int ob_wr_u32(struct ob_wr *w, uint32_t v) OB_WUR;
int ob_wr_u64(struct ob_wr *w, uint64_t v) OB_WUR;
int ob_wr_bytes(struct ob_wr *w, const void *p, size_t n) OB_WUR;
/* Length-prefixed, as ob_rd_lv*: OB_ERR_FIELD_TOO_LONG if n does not fit
 * the prefix. */
int ob_wr_lv8(struct ob_wr *w, const void *p, size_t n) OB_WUR;
int ob_wr_lv16(struct ob_wr *w, const void *p, size_t n) OB_WUR;
int ob_wr_lv32(struct ob_wr *w, const void *p, size_t n) OB_WUR;
/* Reserve n bytes and return where they start, for a length written once
 * the body is known (ob_wr_patch_u16).  NULL on failure (taints). */
uint8_t *ob_wr_reserve(struct ob_wr *w, size_t n);
/* Overwrite two bytes already written at off. */
int ob_wr_patch_u16(struct ob_wr *w, size_t off, uint16_t v) OB_WUR;
int ob_wr_patch_u32(struct ob_wr *w, size_t off, uint32_t v) OB_WUR;

/* Heap writer: hand the bytes over (*out to be freed by the caller; the
 * writer is then empty).  OB_ERR_INVALID_ARG for a fixed writer. */
int ob_wr_take(struct ob_wr *w, uint8_t **out, size_t *n) OB_WUR;

#endif
