/*
 * tlv.h - bounded BER-TLV reader and writer for the virtual PIV card.
 *
 * This is the only code in the card that looks at the structure of
 * incoming data fields (and of the state file).  Every read is bounded by
 * the length of the enclosing buffer; tags are at most three bytes; lengths
 * use the short form or 81/82 long forms, must be minimal and at most
 * 65535.  Indefinite lengths, padding bytes and trailing garbage are
 * rejected.
 *
 * The writer keeps a sticky error: callers append freely and check
 * tlv_buf_error() once at the end.  Nothing here allocates memory.
 */
#ifndef VPIV_TLV_H
#define VPIV_TLV_H

#include <stddef.h>
#include <stdint.h>

#define TLV_WUR __attribute__((warn_unused_result))

#define TLV_MAX_LEN	0xffffu	/* largest length we read or write */

/* Return codes (negative = error). */
#define TLV_OK			0
#define TLV_END			1	/* tlv_next: no more elements */
#define TLV_ERR_TRUNCATED	(-1)	/* header or value runs past the buffer */
#define TLV_ERR_TAG		(-2)	/* bad tag encoding (too long, padding) */
#define TLV_ERR_LENGTH		(-3)	/* indefinite, non-minimal or too long */
#define TLV_ERR_DUPLICATE	(-4)	/* tag seen twice where once is allowed */
#define TLV_ERR_UNEXPECTED	(-5)	/* tag not in the allow-list / wrong tag */
#define TLV_ERR_TRAILING	(-6)	/* bytes after the expected element */
#define TLV_ERR_SPACE		(-7)	/* writer: output buffer too small */

struct tlv {
	uint32_t	 tag;
	const uint8_t	*val;	/* points into the parsed buffer */
	size_t		 len;
};

struct tlv_cur {
	const uint8_t	*p;
	size_t		 left;
};

void	tlv_cur_init(struct tlv_cur *, const uint8_t *, size_t);

/* Read the next element; TLV_OK, TLV_END or a TLV_ERR_* code. */
int	tlv_next(struct tlv_cur *, struct tlv *) TLV_WUR;

/* buf must hold exactly one element whose tag is want. */
int	tlv_expect_one(const uint8_t *, size_t, uint32_t, struct tlv *) TLV_WUR;

/*
 * Parse buf as a flat list of elements whose tags all appear in allowed[],
 * each at most once.  out[i] receives the element for allowed[i]; *present
 * gets bit i set when it was found.  n must be <= 32.
 */
int	tlv_collect(const uint8_t *, size_t, const uint32_t *, size_t,
	    struct tlv *, uint32_t *) TLV_WUR;

const char *tlv_strerror(int);

struct tlv_buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

void	tlv_buf_init(struct tlv_buf *, uint8_t *, size_t);
void	tlv_put_raw(struct tlv_buf *, const void *, size_t);
void	tlv_put_u8(struct tlv_buf *, uint8_t);
/* Write tag and length only; the caller appends len value bytes. */
void	tlv_put_hdr(struct tlv_buf *, uint32_t, size_t);
void	tlv_put(struct tlv_buf *, uint32_t, const void *, size_t);
/* Size of the header tlv_put_hdr() would write. */
size_t	tlv_hdr_size(uint32_t, size_t);
int	tlv_buf_error(const struct tlv_buf *) TLV_WUR;

#endif /* VPIV_TLV_H */
