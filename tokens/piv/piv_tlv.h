/*
 * The PIV backend's parsers of card responses: pure functions over
 * untrusted bytes (no PC/SC, no OpenSSL), fuzzed by fuzz/fuzz_piv_tlv.c.
 * The backend's layers (docs/piv.md), bottom up:
 *   piv_tlv.c   the one bounded BER-TLV cursor and the parsers of every
 *               card response we read (no PC/SC, no OpenSSL: fuzzed)
 *   piv_apdu.c  PC/SC connection, transactions, APDU transmit with
 *               command chaining and GET RESPONSE; SW/SCARD -> ob_err
 *   piv_card.c  SP 800-73-4 card-edge commands and YubiKey extensions
 *   piv_uri.c   piv: key URIs
 *   piv.c       reader selection and the ob_token_ops glue
 */
#ifndef OB_TOKENS_PIV_TLV_H
#define OB_TOKENS_PIV_TLV_H

#include <stddef.h>
#include <stdint.h>

#include "ownerbind/ob_err.h"
#include "core/buf.h"

/* ---- piv_tlv.c: BER-TLV (ISO 7816-4 5.2, SP 800-73-4 part 2) ---- */

#define PIV_RESP_MAX	16384	/* whole response, after GET RESPONSE */

struct piv_tlv {
	uint32_t	 tag;		/* up to 3 tag bytes, big-endian */
	const uint8_t	*val;
	size_t		 len;
};

/*
 * Read one TLV from rd (core/buf.h): tags of 1-3 bytes, lengths in short,
 * 81 or 82 form (definite, minimal, no overrun of the reader); t->val
 * points into rd's bytes.  On malformed input OB_ERR_DEVICE, with rd left
 * where it was and tainted with that code.
 */
int piv_tlv_next(struct ob_rd *rd, struct piv_tlv *t) OB_WUR;
/* buf holds exactly one TLV, with this tag, and nothing after it. */
int piv_tlv_one(const uint8_t *buf, size_t len, uint32_t tag,
    struct piv_tlv *t) OB_WUR;
/*
 * A flat list of TLVs: out[i] gets the element with tags[i]; *present
 * bit i says it was there.  Duplicates are rejected; so are tags not in
 * the list unless skip_unknown.
 */
int piv_tlv_collect(const uint8_t *buf, size_t len, const uint32_t *tags,
    size_t ntags, int skip_unknown, struct piv_tlv *out,
    uint32_t *present) OB_WUR;

/*
 * A TLV header (tag of 1-3 bytes, minimal length up to 0xffff) onto w:
 * the one encoder of command data and of the DER the backend assembles.
 */
int piv_wr_tlv_hdr(struct ob_wr *w, uint32_t tag, size_t len) OB_WUR;

/* Response parsers: every field points into buf. */
/* GENERAL AUTHENTICATE: 7C { 82 DER-signature }. */
int piv_parse_sig(const uint8_t *buf, size_t len, const uint8_t **der,
    size_t *derlen) OB_WUR;
/* GENERATE: 7F49 { 86 04||X||Y } with coordinates of flen bytes. */
int piv_parse_genpub(const uint8_t *buf, size_t len, size_t flen,
    const uint8_t **point, size_t *plen) OB_WUR;
/* Certificate object: 53 { 70 DER, 71 certinfo, FE } (uncompressed). */
int piv_parse_certobj(const uint8_t *buf, size_t len, const uint8_t **der,
    size_t *derlen) OB_WUR;
/* Management-key step: 7C { tag value-of-bs-bytes }. */
int piv_parse_mgm(const uint8_t *buf, size_t len, uint32_t tag, size_t bs,
    const uint8_t **val) OB_WUR;

/* YubiKey GET METADATA (F7) of a key slot or of 9B. */
struct piv_meta {
	uint8_t		 alg;		/* 0 if absent */
	uint8_t		 pin_policy, touch_policy;
	uint8_t		 origin;	/* 1 generated, 2 imported, 0 absent */
	const uint8_t	*point;		/* EC public point or NULL */
	size_t		 plen;
};
int piv_parse_meta(const uint8_t *buf, size_t len, struct piv_meta *m) OB_WUR;
/* GET SERIAL (F8): exactly 4 bytes, big-endian. */
int piv_parse_serial(const uint8_t *buf, size_t len, uint32_t *serial) OB_WUR;

/* Card algorithm identifiers (SP 800-78-4 table 6-2). */
#define PIV_ALG_3DES	0x03
#define PIV_ALG_AES128	0x08
#define PIV_ALG_AES192	0x0a
#define PIV_ALG_AES256	0x0c
#define PIV_ALG_P256	0x11
#define PIV_ALG_P384	0x14

#define PIV_META_ORIGIN_GENERATED	1
#define PIV_META_ORIGIN_IMPORTED	2

/* Coordinate size of an EC card algorithm, 0 for anything else. */
size_t piv_ec_flen(uint8_t alg);
/* p is an uncompressed point 04 || X || Y with flen-byte coordinates
 * (flen 0 is never one); else OB_ERR_DEVICE. */
int piv_check_point(const uint8_t *p, size_t len, size_t flen) OB_WUR;

#endif
