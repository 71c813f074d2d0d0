/*
 * PIV backend internals shared by piv_apdu.c, piv_card.c, piv_uri.c and
 * piv.c (docs/piv.md).  Nothing here is exported from ob_tokens.
 */
#ifndef OB_TOKENS_PIV_INT_H
#define OB_TOKENS_PIV_INT_H

#include <stddef.h>
#include <stdint.h>

#include <PCSC/winscard.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"
#include "tokens/pin.h"
#include "tokens/piv/piv_tlv.h"
#include "tokens/piv/piv_uri.h"

/* ---- piv_apdu.c ---- */

struct piv_conn {
	SCARDCONTEXT	 ctx;
	SCARDHANDLE	 card;
	int		 have_ctx, have_card, in_tx;
	DWORD		 proto;
	char		 reader[PIV_READER_MAX + 1];
	int		 reset_seen;	/* SCARD_W_RESET_CARD during this op */
	int		 broken;	/* a transmit failed: no more APDUs */
};

struct piv_rsp {
	uint8_t		*buf;		/* freed by piv_rsp_free */
	size_t		 len;
	uint16_t	 sw;
};

/* Establish the PC/SC context; OB_ERR_NO_READER when pcscd is absent. */
int piv_ctx_open(struct piv_conn *c) OB_WUR;
/* Reader names (multi-string): *names freed with free(). */
int piv_list_readers(struct piv_conn *c, char **names, size_t *len) OB_WUR;
/*
 * Connect to a reader (shared).  OB_ERR_DEVICE_MISSING when the reader is
 * empty.
 */
int piv_connect(struct piv_conn *c, const char *reader) OB_WUR;
void piv_disconnect(struct piv_conn *c);
void piv_conn_close(struct piv_conn *c);
/* Re-establish after a reset by another process. */
int piv_reconnect(struct piv_conn *c) OB_WUR;
int piv_tx_begin(struct piv_conn *c) OB_WUR;
void piv_tx_end(struct piv_conn *c);

/*
 * Send one command (command chaining above 255 data bytes; Le 00 when a
 * response is wanted; 61xx fetched with GET RESPONSE; total response
 * bounded by PIV_RESP_MAX).  A status word other than 9000 is returned in
 * rsp->sw with OB_OK; transport failures are OB_ERR_CARD_REMOVED (the
 * card left or was reset: see reset_seen) or OB_ERR_DEVICE.  rsp->buf is
 * wiped and freed by piv_rsp_free.
 */
int piv_transmit(struct piv_conn *c, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t len, int want_rsp, struct piv_rsp *rsp)
    OB_WUR;
void piv_rsp_free(struct piv_rsp *rsp);
/* ISO 7816 / SP 800-73-4 status word to an ob_err code with detail. */
int piv_sw_err(uint16_t sw, const char *what);
/* PC/SC return value to an ob_err code with detail. */
int piv_scard_err(struct piv_conn *c, LONG rv, const char *call);

/* ---- piv_card.c ---- */

#define PIV_OBJ_ATTEST	0x5fff01	/* YubiKey f9 certificate */

int piv_select(struct piv_conn *c) OB_WUR;
/* GET SERIAL (YubiKey F8). */
int piv_get_serial(struct piv_conn *c, uint32_t *serial) OB_WUR;
/* Certificate object of a slot; OB_ERR_SLOT_EMPTY when absent. */
int piv_cert_obj_tag(uint8_t slot, uint32_t *tag) OB_WUR;
int piv_read_cert(struct piv_conn *c, uint32_t objtag, unsigned char **der,
    size_t *derlen) OB_WUR;
/*
 * GET METADATA (F7).  OB_ERR_SLOT_EMPTY when the slot holds no key,
 * OB_ERR_MECH_UNSUPPORTED when the card has no F7.  The point in *m
 * points into *rsp, which the caller frees.
 */
int piv_get_meta(struct piv_conn *c, uint8_t slot, struct piv_rsp *rsp,
    struct piv_meta *m) OB_WUR;
/* The slot's public key: metadata first, then the slot certificate. */
int piv_slot_pubkey(struct piv_conn *c, uint8_t slot, EVP_PKEY **pub,
    uint8_t *origin) OB_WUR;
/* EC public key from an uncompressed point, checked on the curve. */
int piv_ec_pub(uint8_t alg, const uint8_t *point, size_t plen,
    EVP_PKEY **out) OB_WUR;
/* Retries left without spending one: OB_OK (verified), PIN_INCORRECT
 * (with *left), PIN_BLOCKED. */
int piv_pin_status(struct piv_conn *c, int *left) OB_WUR;
int piv_verify_pin(struct piv_conn *c, const char *pin) OB_WUR;
/* Drop the PIN's verified state (VERIFY P1=FF); best effort. */
void piv_pin_logout(struct piv_conn *c);
/* GENERAL AUTHENTICATE: ECDSA over digest; DER signature out. */
int piv_sign_digest(struct piv_conn *c, uint8_t alg, uint8_t slot,
    const uint8_t *dgst, size_t dlen, unsigned char **der, size_t *derlen)
    OB_WUR;
/* Mutual authentication with the 9B management key. */
int piv_mgm_auth(struct piv_conn *c, uint8_t alg, const uint8_t *key,
    size_t keylen) OB_WUR;
/* The management key's algorithm from metadata (0 when unknown). */
int piv_mgm_alg(struct piv_conn *c, uint8_t *alg) OB_WUR;
/* GENERATE ASYMMETRIC KEY PAIR (after management-key auth). */
int piv_generate(struct piv_conn *c, uint8_t slot, uint8_t alg,
    EVP_PKEY **pub) OB_WUR;
/* Write a certificate object (PUT DATA; after management-key auth). */
int piv_write_cert(struct piv_conn *c, uint32_t objtag,
    const unsigned char *der, size_t derlen) OB_WUR;
/*
 * YubiKey ATTEST (F9): the attestation certificate of a generated key.
 * OB_ERR_ATTEST_INVALID with detail "imported" when the card refuses
 * because the key was not generated on it.
 */
int piv_attest(struct piv_conn *c, uint8_t slot, unsigned char **der,
    size_t *derlen) OB_WUR;

#endif
