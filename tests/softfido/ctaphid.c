/*
 * CTAPHID framing (CTAP 2.1 section 11.2) over libfido2's io hooks.
 *
 * One struct sf_hid per libfido2 open(): write() takes 65-byte output
 * reports (report id 0, then 64 bytes), reassembles a message from its
 * initialisation packet and up to 128 continuation packets, runs it and
 * queues the answer as 64-byte input reports for read().
 *
 *	init packet:	CID(4, big endian) CMD|0x80 BCNTH BCNTL DATA[57]
 *	continuation:	CID(4) SEQ(0..127) DATA[59]
 *
 * Implemented: INIT (channel allocation, nonce echo, resync), PING, CBOR,
 * CANCEL, KEEPALIVE (UPNEEDED while the simulated user is asked to touch)
 * and ERROR (INVALID_CMD, INVALID_LEN, INVALID_SEQ, CHANNEL_BUSY,
 * INVALID_CHANNEL, OTHER). Capabilities: CBOR | NMSG (no U2F, no WINK).
 * Called with sf->lock held (device.c takes it).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/softfido/sf_int.h"

#define RPT_LEN		64
#define INIT_DATA	(RPT_LEN - 7)
#define CONT_DATA	(RPT_LEN - 5)
#define MAX_QUEUE	512		/* reports */

#define CID_BROADCAST	0xffffffffU

#define CMD_PING	0x01
#define CMD_MSG		0x03
#define CMD_INIT	0x06
#define CMD_CBOR	0x10
#define CMD_CANCEL	0x11
#define CMD_KEEPALIVE	0x3b
#define CMD_ERROR	0x3f

#define ERR_INVALID_CMD		0x01
#define ERR_INVALID_LEN		0x03
#define ERR_INVALID_SEQ		0x04
#define ERR_CHANNEL_BUSY	0x06
#define ERR_INVALID_CHANNEL	0x0b
#define ERR_OTHER		0x7f

#define CAP_CBOR	0x04
#define CAP_NMSG	0x08

#define STATUS_UPNEEDED	0x02

#define NO_TOUCH_KEEPALIVES	2	/* sent before giving up */
#define KEEPALIVE_MS		100U

struct sf_hid {
	struct softfido	*sf;

	/* message being reassembled */
	bool		 rx_busy;
	uint32_t	 rx_cid;
	uint8_t		 rx_cmd;
	uint8_t		 rx_seq;
	size_t		 rx_want;
	size_t		 rx_have;
	uint8_t		 msg[SF_MAX_MSG];

	/* CBOR request parked until the simulated user decides */
	bool		 waiting;
	bool		 cancelled;
	uint32_t	 wait_cid;
	size_t		 wait_len;
	struct timespec	 wait_start;

	/* input reports ready for read() */
	uint8_t		(*q)[RPT_LEN];
	size_t		 q_head;
	size_t		 q_len;
	size_t		 q_cap;

	uint8_t		 reply[SF_MAX_MSG];
};

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint8_t *
q_slot(struct sf_hid *h)
{
	if (h->q_head == h->q_len)
		h->q_head = h->q_len = 0;
	if (h->q_len == h->q_cap) {
		size_t	  cap = h->q_cap == 0 ? 32 : h->q_cap * 2;
		uint8_t	(*q)[RPT_LEN];

		if (cap > MAX_QUEUE ||
		    (q = realloc(h->q, cap * sizeof(*q))) == NULL)
			return NULL;
		h->q = q;
		h->q_cap = cap;
	}
	memset(h->q[h->q_len], 0, RPT_LEN);
	return h->q[h->q_len++];
}

/* Queue a whole message as an init packet and continuation packets. */
static int
send_msg(struct sf_hid *h, uint32_t cid, uint8_t cmd, const uint8_t *data,
    size_t len)
{
	uint8_t	*p;
	size_t	 off, n;

	if (len > INIT_DATA + 128 * (size_t)CONT_DATA ||
	    (p = q_slot(h)) == NULL)
		return -1;
	put_be32(p, cid);
	p[4] = (uint8_t)(0x80 | cmd);
	p[5] = (uint8_t)(len >> 8);
	p[6] = (uint8_t)len;
	n = len < INIT_DATA ? len : INIT_DATA;
	if (n > 0)
		memcpy(p + 7, data, n);
	off = n;
	for (uint8_t seq = 0; off < len; seq++) {
		if ((p = q_slot(h)) == NULL)
			return -1;
		put_be32(p, cid);
		p[4] = seq;
		n = len - off < CONT_DATA ? len - off : CONT_DATA;
		memcpy(p + 5, data + off, n);
		off += n;
	}
	return 0;
}

static void
send_error(struct sf_hid *h, uint32_t cid, uint8_t code)
{
	(void)send_msg(h, cid, CMD_ERROR, &code, 1);
}

static void
send_keepalive(struct sf_hid *h, uint32_t cid)
{
	const uint8_t status = STATUS_UPNEEDED;

	(void)send_msg(h, cid, CMD_KEEPALIVE, &status, 1);
}

static bool
cid_valid(const struct softfido *sf, uint32_t cid)
{
	return cid != 0 && cid != CID_BROADCAST && cid < sf->next_cid;
}

static void
end_wait(struct sf_hid *h)
{
	sf_wipe(h->msg, sizeof(h->msg));
	h->waiting = false;
	h->cancelled = false;
	h->wait_len = 0;
}

static unsigned int
elapsed_ms(const struct timespec *since)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - since->tv_sec) * 1000 +
	    (now.tv_nsec - since->tv_nsec) / 1000000;
	return ms < 0 ? 0 : (ms > (long long)UINT32_MAX ? UINT32_MAX :
	    (unsigned int)ms);
}

/* Run the parked CBOR request with a user presence decision. */
static void
run_cbor(struct sf_hid *h, uint32_t cid, size_t len, enum sf_up up)
{
	struct softfido	*sf = h->sf;
	size_t		 reply_len = sizeof(h->reply);
	int		 r;

	r = sf_ctap2(sf, h->msg, len, up, h->reply, &reply_len);
	if (r == SF_NEED_UP && up == SF_UP_ASK) {
		switch (sf->touch) {
		case SOFTFIDO_TOUCH_YES:
			send_keepalive(h, cid);
			run_cbor(h, cid, len, SF_UP_GRANTED);
			return;
		case SOFTFIDO_TOUCH_NO:
			for (int i = 0; i < NO_TOUCH_KEEPALIVES; i++)
				send_keepalive(h, cid);
			run_cbor(h, cid, len, SF_UP_DENIED);
			return;
		case SOFTFIDO_TOUCH_WAIT:
		default:
			h->waiting = true;
			h->cancelled = false;
			h->wait_cid = cid;
			h->wait_len = len;
			clock_gettime(CLOCK_MONOTONIC, &h->wait_start);
			send_keepalive(h, cid);
			return;	/* read() takes it from here */
		}
	}
	end_wait(h);
	if (r != 0 || send_msg(h, cid, CMD_CBOR, h->reply, reply_len) != 0)
		send_error(h, cid, ERR_OTHER);
	sf_wipe(h->reply, sizeof(h->reply));
}

static void
run_message(struct sf_hid *h)
{
	uint32_t cid = h->rx_cid;

	h->rx_busy = false;
	switch (h->rx_cmd) {
	case CMD_PING:
		if (send_msg(h, cid, CMD_PING, h->msg, h->rx_want) != 0)
			send_error(h, cid, ERR_OTHER);
		break;
	case CMD_CBOR:
		if (h->rx_want == 0) {
			send_error(h, cid, ERR_INVALID_LEN);
			break;
		}
		run_cbor(h, cid, h->rx_want, SF_UP_ASK);
		break;
	case CMD_MSG:	/* CAPABILITY_NMSG: no U2F */
	default:
		send_error(h, cid, ERR_INVALID_CMD);
		break;
	}
}

static void
do_init(struct sf_hid *h, uint32_t cid, size_t bcnt, const uint8_t *nonce)
{
	struct softfido	*sf = h->sf;
	uint8_t		 resp[17];
	uint32_t	 new_cid;

	if (bcnt != 8) {
		send_error(h, cid, ERR_INVALID_LEN);
		return;
	}
	if (cid == CID_BROADCAST) {
		if (sf->next_cid == CID_BROADCAST) {
			send_error(h, cid, ERR_OTHER);	/* out of channels */
			return;
		}
		new_cid = sf->next_cid++;
	} else {
		/* resynchronise: abandon whatever this channel was doing */
		new_cid = cid;
		if (h->rx_busy && h->rx_cid == cid)
			h->rx_busy = false;
		if (h->waiting && h->wait_cid == cid)
			end_wait(h);
	}
	memcpy(resp, nonce, 8);
	put_be32(resp + 8, new_cid);
	resp[12] = 2;		/* CTAPHID protocol version */
	resp[13] = 1;		/* device version major, minor, build */
	resp[14] = 0;
	resp[15] = 0;
	resp[16] = CAP_CBOR | CAP_NMSG;
	if (send_msg(h, cid, CMD_INIT, resp, sizeof(resp)) != 0)
		send_error(h, cid, ERR_OTHER);
}

static void
init_packet(struct sf_hid *h, const uint8_t *pkt)
{
	struct softfido	*sf = h->sf;
	uint32_t	 cid = get_be32(pkt);
	uint8_t		 cmd = pkt[4] & 0x7f;
	size_t		 bcnt = (size_t)pkt[5] << 8 | pkt[6];
	size_t		 n;

	if (cmd == CMD_INIT) {
		if (cid != CID_BROADCAST && !cid_valid(sf, cid))
			send_error(h, cid, ERR_INVALID_CHANNEL);
		else
			do_init(h, cid, bcnt, pkt + 7);
		return;
	}
	if (!cid_valid(sf, cid)) {
		send_error(h, cid, ERR_INVALID_CHANNEL);
		return;
	}
	if (cmd == CMD_CANCEL) {
		/* no answer of its own; the parked request answers */
		if (h->waiting && h->wait_cid == cid) {
			h->cancelled = true;
			pthread_cond_broadcast(&sf->cond);
		}
		return;
	}
	if (h->rx_busy) {
		if (cid == h->rx_cid) {
			h->rx_busy = false;
			send_error(h, cid, ERR_INVALID_SEQ);
		} else
			send_error(h, cid, ERR_CHANNEL_BUSY);
		return;
	}
	if (h->waiting) {
		send_error(h, cid, ERR_CHANNEL_BUSY);
		return;
	}
	if (bcnt > sizeof(h->msg)) {
		send_error(h, cid, ERR_INVALID_LEN);
		return;
	}
	h->rx_busy = true;
	h->rx_cid = cid;
	h->rx_cmd = cmd;
	h->rx_seq = 0;
	h->rx_want = bcnt;
	n = bcnt < INIT_DATA ? bcnt : INIT_DATA;
	memcpy(h->msg, pkt + 7, n);
	h->rx_have = n;
	if (h->rx_have == h->rx_want)
		run_message(h);
}

static void
cont_packet(struct sf_hid *h, const uint8_t *pkt)
{
	uint32_t	cid = get_be32(pkt);
	size_t		n;

	if (!h->rx_busy || cid != h->rx_cid)
		return;		/* spurious continuation: ignored */
	if (pkt[4] != h->rx_seq) {
		h->rx_busy = false;
		send_error(h, cid, ERR_INVALID_SEQ);
		return;
	}
	h->rx_seq++;
	n = h->rx_want - h->rx_have;
	if (n > CONT_DATA)
		n = CONT_DATA;
	memcpy(h->msg + h->rx_have, pkt + 5, n);
	h->rx_have += n;
	if (h->rx_have == h->rx_want)
		run_message(h);
}

int
sf_hid_write(struct sf_hid *h, const unsigned char *buf, size_t len)
{
	/* report id 0, then exactly one 64-byte report */
	if (buf == NULL || len != RPT_LEN + 1 || buf[0] != 0)
		return -1;
	if (buf[5] & 0x80)
		init_packet(h, buf + 1);
	else
		cont_packet(h, buf + 1);
	return (int)len;
}

int
sf_hid_read(struct sf_hid *h, unsigned char *buf, size_t len, int ms)
{
	struct softfido *sf = h->sf;

	if (buf == NULL || len < RPT_LEN)
		return -1;
	for (;;) {
		unsigned int waited, wait_ms;

		if (h->q_head < h->q_len) {
			memcpy(buf, h->q[h->q_head++], RPT_LEN);
			return RPT_LEN;
		}
		if (!h->waiting)
			return -1;	/* nothing will ever arrive */

		/* SOFTFIDO_TOUCH_WAIT: touch, cancel, or time out */
		waited = elapsed_ms(&h->wait_start);
		if (h->cancelled) {
			run_cbor(h, h->wait_cid, h->wait_len, SF_UP_CANCELLED);
			continue;
		}
		if (sf->touches > 0) {
			sf->touches--;
			run_cbor(h, h->wait_cid, h->wait_len, SF_UP_GRANTED);
			continue;
		}
		if (waited >= sf->touch_timeout_ms) {
			run_cbor(h, h->wait_cid, h->wait_len, SF_UP_DENIED);
			continue;
		}
		wait_ms = sf->touch_timeout_ms - waited;
		if (wait_ms > KEEPALIVE_MS)
			wait_ms = KEEPALIVE_MS;
		if (ms >= 0 && (unsigned int)ms < wait_ms)
			wait_ms = (unsigned int)ms;
		sf_wait(sf, wait_ms);
		if (h->waiting && !h->cancelled && sf->touches == 0 &&
		    elapsed_ms(&h->wait_start) < sf->touch_timeout_ms)
			send_keepalive(h, h->wait_cid);
	}
}

struct sf_hid *
sf_hid_new(struct softfido *sf)
{
	struct sf_hid *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->sf = sf;
	return h;
}

void
sf_hid_free(struct sf_hid **hp)
{
	struct sf_hid *h;

	if (hp == NULL || (h = *hp) == NULL)
		return;
	free(h->q);
	sf_wipe(h, sizeof(*h));
	free(h);
	*hp = NULL;
}
