/*
 * PC/SC transport: context, connection, transactions and APDU exchange
 * (ISO 7816-4 short APDUs, command chaining, GET RESPONSE).  Status words
 * and SCARD_* values are translated to ob_err codes here, at the edge,
 * with the raw value kept in the detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/pcsclite.h>
#include <openssl/crypto.h>

#include "core/buf.h"
#include "core/err.h"
#include "tokens/piv/piv_int.h"

#define APDU_DATA_MAX	255	/* short APDU; longer data is chained */
#define CHAIN_MAX	(64 * 1024)

int
piv_scard_err(struct piv_conn *c, LONG rv, const char *call)
{
	switch (rv) {
	case SCARD_W_RESET_CARD:
		if (c != NULL)
			c->reset_seen = 1;
		return ob_errf(OB_ERR_CARD_REMOVED, "%s: the card was reset by "
		    "another program", call);
	case SCARD_W_REMOVED_CARD:
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_E_READER_UNAVAILABLE:
	case SCARD_E_NOT_TRANSACTED:
		return ob_errf(OB_ERR_CARD_REMOVED, "%s: %s (0x%08lX)", call,
		    pcsc_stringify_error(rv), (unsigned long)rv);
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_E_NO_READERS_AVAILABLE:
		return ob_errf(OB_ERR_NO_READER, "%s: %s (0x%08lX)", call,
		    pcsc_stringify_error(rv), (unsigned long)rv);
	case SCARD_E_SHARING_VIOLATION:
		return ob_errf(OB_ERR_DEVICE, "%s: the card is held exclusively "
		    "by another program (0x%08lX)", call, (unsigned long)rv);
	default:
		return ob_errf(OB_ERR_DEVICE, "%s: %s (0x%08lX)", call,
		    pcsc_stringify_error(rv), (unsigned long)rv);
	}
}

int
piv_sw_err(uint16_t sw, const char *what)
{
	if ((sw & 0xfff0) == 0x63c0) {
		if ((sw & 0x0f) == 0)
			return ob_errf(OB_ERR_PIN_BLOCKED, "%s: wrong PIN, no "
			    "tries left (SW %04X)", what, sw);
		return ob_errf(OB_ERR_PIN_INCORRECT, "%u %s left (SW %04X)",
		    sw & 0x0fu, (sw & 0x0f) == 1 ? "try" : "tries", sw);
	}
	switch (sw) {
	case 0x6983:
		return ob_errf(OB_ERR_PIN_BLOCKED, "%s: SW 6983", what);
	case 0x6982:
		return ob_errf(OB_ERR_SECURITY_STATUS, "%s: SW 6982", what);
	case 0x6a82:
	case 0x6a88:
		return ob_errf(OB_ERR_SLOT_EMPTY, "%s: SW %04X", what, sw);
	case 0x6d00:
	case 0x6e00:
		return ob_errf(OB_ERR_MECH_UNSUPPORTED, "%s: the card does not "
		    "support this command (SW %04X)", what, sw);
	default:
		return ob_errf(OB_ERR_DEVICE, "%s: SW %04X", what, sw);
	}
}

int
piv_ctx_open(struct piv_conn *c)
{
	LONG rv;

	memset(c, 0, sizeof(*c));
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->ctx);
	if (rv != SCARD_S_SUCCESS)
		return ob_errf(OB_ERR_NO_READER, "pcscd is not reachable: %s "
		    "(0x%08lX)", pcsc_stringify_error(rv), (unsigned long)rv);
	c->have_ctx = 1;
	return OB_OK;
}

int
piv_list_readers(struct piv_conn *c, char **names, size_t *len)
{
	DWORD	 n = 0;
	char	*buf;
	LONG	 rv;

	rv = SCardListReaders(c->ctx, NULL, NULL, &n);
	if (rv == SCARD_E_NO_READERS_AVAILABLE || (rv == SCARD_S_SUCCESS &&
	    n <= 1))
		return ob_errf(OB_ERR_NO_READER, "pcscd knows no reader");
	if (rv != SCARD_S_SUCCESS)
		return piv_scard_err(c, rv, "SCardListReaders");
	if (n > 64 * 1024 || (buf = calloc(1, (size_t)n + 1)) == NULL)
		return OB_ERR_ALLOC;
	if ((rv = SCardListReaders(c->ctx, NULL, buf, &n)) != SCARD_S_SUCCESS) {
		free(buf);
		if (rv == SCARD_E_NO_READERS_AVAILABLE)
			return ob_errf(OB_ERR_NO_READER, "pcscd knows no reader");
		return piv_scard_err(c, rv, "SCardListReaders");
	}
	*names = buf;
	*len = n;
	return OB_OK;
}

int
piv_connect(struct piv_conn *c, const char *reader)
{
	LONG rv;

	if (strlen(reader) > PIV_READER_MAX)
		return ob_errf(OB_ERR_DEVICE, "reader name too long");
	rv = SCardConnect(c->ctx, reader, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->card, &c->proto);
	switch (rv) {
	case SCARD_S_SUCCESS:
		break;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_UNRESPONSIVE_CARD:
		return ob_errf(OB_ERR_DEVICE_MISSING, "no card in \"%s\"",
		    reader);
	default:
		return piv_scard_err(c, rv, "SCardConnect");
	}
	c->have_card = 1;
	snprintf(c->reader, sizeof(c->reader), "%s", reader);
	return OB_OK;
}

void
piv_disconnect(struct piv_conn *c)
{
	if (c->in_tx)
		piv_tx_end(c);
	if (c->have_card)
		(void)SCardDisconnect(c->card, SCARD_LEAVE_CARD);
	c->have_card = 0;
}

void
piv_conn_close(struct piv_conn *c)
{
	piv_disconnect(c);
	if (c->have_ctx)
		(void)SCardReleaseContext(c->ctx);
	c->have_ctx = 0;
}

int
piv_reconnect(struct piv_conn *c)
{
	LONG rv;

	rv = SCardReconnect(c->card, SCARD_SHARE_SHARED,
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &c->proto);
	if (rv != SCARD_S_SUCCESS)
		return piv_scard_err(NULL, rv, "SCardReconnect");
	c->broken = 0;
	return OB_OK;
}

int
piv_tx_begin(struct piv_conn *c)
{
	LONG rv;

	if ((rv = SCardBeginTransaction(c->card)) != SCARD_S_SUCCESS)
		return piv_scard_err(c, rv, "SCardBeginTransaction");
	c->in_tx = 1;
	return OB_OK;
}

void
piv_tx_end(struct piv_conn *c)
{
	if (c->in_tx)
		(void)SCardEndTransaction(c->card, SCARD_LEAVE_CARD);
	c->in_tx = 0;
}

void
piv_rsp_free(struct piv_rsp *rsp)
{
	if (rsp->buf != NULL) {
		OPENSSL_cleanse(rsp->buf, rsp->len);
		free(rsp->buf);
	}
	memset(rsp, 0, sizeof(*rsp));
}

/*
 * Has the card left the reader?  pcscd polls its readers (vpcd: every
 * 400 ms), so ask for up to a second before saying no.
 */
static int
card_gone(struct piv_conn *c)
{
	struct timespec	ts = { 0, 100 * 1000 * 1000 };
	DWORD		state, proto, alen = 0;
	LONG		rv;
	int		i;

	for (i = 0; i < 12; i++) {
		rv = SCardStatus(c->card, NULL, NULL, &state, &proto, NULL,
		    &alen);
		if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD ||
		    rv == SCARD_W_RESET_CARD || rv == SCARD_E_READER_UNAVAILABLE ||
		    (rv == SCARD_S_SUCCESS && (state & SCARD_PRESENT) == 0))
			return 1;
		if (rv != SCARD_S_SUCCESS)
			return 0;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* One APDU exchange; the response data goes to out (<= 256 bytes). */
static int
xfer(struct piv_conn *c, const uint8_t *apdu, size_t alen, uint8_t *out,
    size_t *olen, uint16_t *sw)
{
	const SCARD_IO_REQUEST *pci;
	struct ob_rd	 rd;
	const uint8_t	*data;
	uint8_t		 rbuf[258];
	DWORD		 rlen = sizeof(rbuf);
	uint16_t	 status;
	LONG		 rv;

	pci = c->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	rv = SCardTransmit(c->card, pci, apdu, (DWORD)alen, NULL, rbuf, &rlen);
	if (rv != SCARD_S_SUCCESS) {
		c->broken = 1;
		return piv_scard_err(c, rv, "SCardTransmit");
	}
	if (rlen < 2 || rlen > sizeof(rbuf)) {
		OPENSSL_cleanse(rbuf, sizeof(rbuf));
		c->broken = 1;
		/* No status word: a reader whose card just left says so. */
		if (card_gone(c))
			return ob_errf(OB_ERR_CARD_REMOVED, "the card left "
			    "\"%s\" during the command", c->reader);
		return ob_errf(OB_ERR_DEVICE, "response APDU of %lu bytes",
		    (unsigned long)rlen);
	}
	/* Response APDU: data || SW1 SW2 (ISO 7816-4 5.1). */
	ob_rd_init(&rd, rbuf, rlen);
	if (ob_rd_bytes(&rd, rlen - 2, &data) != OB_OK ||
	    ob_rd_u16(&rd, &status) != OB_OK || ob_rd_end(&rd) != OB_OK) {
		OPENSSL_cleanse(rbuf, sizeof(rbuf));
		return ob_errf(OB_ERR_INTERNAL, "response APDU framing");
	}
	memcpy(out, data, rlen - 2);
	*olen = rlen - 2;
	*sw = status;
	OPENSSL_cleanse(rbuf, sizeof(rbuf));
	return OB_OK;
}

/* One command APDU: CLA INS P1 P2 [Lc data] [Le 00] (ISO 7816-4 5.1). */
static int
apdu_build(struct ob_wr *w, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t n, int le)
{
	int	r;

	if ((r = ob_wr_u8(w, cla)) != OB_OK ||
	    (r = ob_wr_u8(w, ins)) != OB_OK ||
	    (r = ob_wr_u8(w, p1)) != OB_OK ||
	    (r = ob_wr_u8(w, p2)) != OB_OK ||
	    (n > 0 && (r = ob_wr_lv8(w, data, n)) != OB_OK) ||
	    (le && (r = ob_wr_u8(w, 0x00)) != OB_OK))
		return r;
	return OB_OK;
}

int
piv_transmit(struct piv_conn *c, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t len, int want_rsp, struct piv_rsp *out)
{
	struct ob_rd	 src;
	struct ob_wr	 apdu, acc;
	struct piv_rsp	 rsp;
	const uint8_t	*chunk = NULL;
	uint8_t		 abuf[5 + APDU_DATA_MAX + 1], part[256];
	size_t		 n, plen = 0;
	uint16_t	 sw = 0;
	int		 r, last, rounds;

	memset(&rsp, 0, sizeof(rsp));
	if (len > CHAIN_MAX)
		return ob_errf(OB_ERR_INTERNAL, "command data of %zu bytes", len);
	/* The response, whole, wiped as it grows (it may hold a secret). */
	ob_wr_init_heap(&acc, PIV_RESP_MAX);
	ob_rd_init(&src, data, len);
	/* Command chaining (ISO 7816-4 5.3.3): CLA 10 on all but the last. */
	do {
		n = ob_rd_left(&src) > APDU_DATA_MAX ? APDU_DATA_MAX :
		    ob_rd_left(&src);
		if ((r = ob_rd_bytes(&src, n, &chunk)) != OB_OK)
			goto out;
		last = ob_rd_left(&src) == 0;
		/* The data may be a PIN: the writer wipes abuf when freed. */
		ob_wr_init_fixed(&apdu, abuf, sizeof(abuf));
		if ((r = apdu_build(&apdu, last ? 0x00 : 0x10, ins, p1, p2,
		    chunk, n, last && want_rsp)) == OB_OK)
			r = xfer(c, ob_wr_ptr(&apdu), ob_wr_len(&apdu), part,
			    &plen, &sw);
		ob_wr_free(&apdu);
		if (r != OB_OK)
			goto out;
		if (!last && sw != 0x9000)
			break;		/* the card refused a link of the chain */
	} while (!last);
	/* 61xx: more data; fetch it with GET RESPONSE (ISO 7816-4 7.6.1). */
	for (rounds = 0;; rounds++) {
		if ((r = ob_wr_bytes(&acc, part, plen)) == OB_ERR_BUF_FULL)
			r = ob_errf(OB_ERR_DEVICE, "card response longer than "
			    "%d bytes", PIV_RESP_MAX);
		if (r != OB_OK)
			goto out;
		if ((sw & 0xff00) != 0x6100)
			break;
		if (rounds > PIV_RESP_MAX / 256 + 1) {
			r = ob_errf(OB_ERR_DEVICE, "endless GET RESPONSE");
			goto out;
		}
		ob_wr_init_fixed(&apdu, abuf, sizeof(abuf));
		if ((r = apdu_build(&apdu, 0x00, 0xc0, 0x00, 0x00, NULL, 0,
		    0)) == OB_OK && (r = ob_wr_u8(&apdu, (uint8_t)sw)) == OB_OK)
			r = xfer(c, ob_wr_ptr(&apdu), ob_wr_len(&apdu), part,
			    &plen, &sw);
		ob_wr_free(&apdu);
		if (r != OB_OK)
			goto out;
	}
	OB_TRY(ob_wr_take(&acc, &rsp.buf, &rsp.len));
	rsp.sw = sw;
	*out = rsp;
	memset(&rsp, 0, sizeof(rsp));
	r = OB_OK;
out:
	OPENSSL_cleanse(part, sizeof(part));
	ob_wr_free(&acc);
	piv_rsp_free(&rsp);
	return r;
}
