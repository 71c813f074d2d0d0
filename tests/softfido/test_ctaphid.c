/*
 * softfido's CTAPHID framing, driven report by report through the io
 * functions libfido2 would call: channel allocation, nonce echo, PING
 * across continuation packets, the ERROR codes for bad channels, lengths
 * and sequence numbers, KEEPALIVE while waiting for a touch, CANCEL, and
 * the CTAP2 answers to malformed CBOR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/softfido/softfido.h"

#define PATH		"softfido:hid"
#define BROADCAST	0xffffffffU

#define CMD_PING	0x81
#define CMD_MSG		0x83
#define CMD_INIT	0x86
#define CMD_CBOR	0x90
#define CMD_CANCEL	0x91
#define CMD_KEEPALIVE	0xbb
#define CMD_ERROR	0xbf

struct fx {
	struct softfido		*sf;
	const fido_dev_io_t	*io;
	void			*h;
};

static int
setup(void **state)
{
	struct fx *f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	assert_non_null(f->sf = softfido_new());
	assert_int_equal(softfido_register(PATH, f->sf), SOFTFIDO_OK);
	f->io = softfido_io();
	assert_non_null(f->h = f->io->open(PATH));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	f->io->close(f->h);
	assert_int_equal(softfido_unregister(PATH), SOFTFIDO_OK);
	softfido_free(&f->sf);
	free(f);
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
write_init(struct fx *f, uint32_t cid, uint8_t cmd, size_t bcnt,
    const unsigned char *data, size_t n)
{
	unsigned char rpt[65];

	memset(rpt, 0, sizeof(rpt));
	put32(rpt + 1, cid);
	rpt[5] = cmd;
	rpt[6] = (unsigned char)(bcnt >> 8);
	rpt[7] = (unsigned char)bcnt;
	if (n > 0)
		memcpy(rpt + 8, data, n);
	assert_int_equal(f->io->write(f->h, rpt, sizeof(rpt)), 65);
}

static void
write_cont(struct fx *f, uint32_t cid, uint8_t seq, const unsigned char *data,
    size_t n)
{
	unsigned char rpt[65];

	memset(rpt, 0, sizeof(rpt));
	put32(rpt + 1, cid);
	rpt[5] = seq;
	memcpy(rpt + 6, data, n);
	assert_int_equal(f->io->write(f->h, rpt, sizeof(rpt)), 65);
}

/* Send a whole message, fragmented as a client would. */
static void
send_msg(struct fx *f, uint32_t cid, uint8_t cmd, const unsigned char *data,
    size_t len)
{
	size_t off = len < 57 ? len : 57;

	write_init(f, cid, cmd, len, data, off);
	for (uint8_t seq = 0; off < len; seq++) {
		size_t n = len - off < 59 ? len - off : 59;

		write_cont(f, cid, seq, data + off, n);
		off += n;
	}
}

static void
read_rpt(struct fx *f, unsigned char rpt[64])
{
	assert_int_equal(f->io->read(f->h, rpt, 64, -1), 64);
}

/* Read one message, skipping keepalives (counted in *ka if non-NULL). */
static size_t
recv_msg(struct fx *f, uint32_t cid, uint8_t *cmd, unsigned char *buf,
    size_t cap, int *ka)
{
	unsigned char	rpt[64];
	size_t		len, off;

	for (;;) {
		read_rpt(f, rpt);
		assert_int_equal(get32(rpt), cid);
		if (rpt[4] != CMD_KEEPALIVE)
			break;
		assert_int_equal(rpt[7], 0x02);		/* UPNEEDED */
		if (ka != NULL)
			(*ka)++;
	}
	*cmd = rpt[4];
	len = (size_t)rpt[5] << 8 | rpt[6];
	assert_true(len <= cap);
	off = len < 57 ? len : 57;
	memcpy(buf, rpt + 7, off);
	for (uint8_t seq = 0; off < len; seq++) {
		size_t n = len - off < 59 ? len - off : 59;

		read_rpt(f, rpt);
		assert_int_equal(get32(rpt), cid);
		assert_int_equal(rpt[4], seq);
		memcpy(buf + off, rpt + 5, n);
		off += n;
	}
	return len;
}

static void
expect_error(struct fx *f, uint32_t cid, uint8_t code)
{
	unsigned char	buf[8];
	uint8_t		cmd;

	assert_int_equal(recv_msg(f, cid, &cmd, buf, sizeof(buf), NULL), 1);
	assert_int_equal(cmd, CMD_ERROR);
	assert_int_equal(buf[0], code);
}

static uint32_t
new_channel(struct fx *f)
{
	const unsigned char	nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	unsigned char		buf[64];
	uint8_t			cmd;
	uint32_t		cid;

	send_msg(f, BROADCAST, CMD_INIT, nonce, sizeof(nonce));
	assert_int_equal(recv_msg(f, BROADCAST, &cmd, buf, sizeof(buf), NULL),
	    17);
	assert_int_equal(cmd, CMD_INIT);
	assert_memory_equal(buf, nonce, 8);
	cid = get32(buf + 8);
	assert_true(cid != 0 && cid != BROADCAST);
	assert_int_equal(buf[12], 2);			/* protocol */
	assert_int_equal(buf[16], 0x04 | 0x08);		/* CBOR, NMSG */
	return cid;
}

static void
test_init(void **state)
{
	struct fx	*f = *state;
	unsigned char	 buf[64], nonce[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	uint32_t	 a, b;
	uint8_t		 cmd;

	assert_null(f->io->open("softfido:nobody"));
	a = new_channel(f);
	b = new_channel(f);
	assert_int_not_equal(a, b);
	/* INIT on an allocated channel resynchronises and keeps it */
	send_msg(f, a, CMD_INIT, nonce, sizeof(nonce));
	assert_int_equal(recv_msg(f, a, &cmd, buf, sizeof(buf), NULL), 17);
	assert_int_equal(cmd, CMD_INIT);
	assert_int_equal(get32(buf + 8), a);
	/* INIT needs exactly an 8-byte nonce */
	send_msg(f, BROADCAST, CMD_INIT, nonce, 4);
	expect_error(f, BROADCAST, 0x03);
	/* nothing left to read */
	assert_int_equal(f->io->read(f->h, buf, 64, 0), -1);
}

static void
test_bad_reports(void **state)
{
	struct fx	*f = *state;
	unsigned char	 rpt[65];

	memset(rpt, 0, sizeof(rpt));
	assert_int_equal(f->io->write(f->h, rpt, 64), -1);	/* short */
	rpt[0] = 1;						/* report id */
	assert_int_equal(f->io->write(f->h, rpt, sizeof(rpt)), -1);
	assert_int_equal(f->io->read(f->h, rpt, 63, 0), -1);	/* short */
}

static void
test_channels(void **state)
{
	struct fx		*f = *state;
	const unsigned char	 info = 0x04;
	uint32_t		 cid = new_channel(f);

	send_msg(f, cid + 100, CMD_CBOR, &info, 1);	/* never allocated */
	expect_error(f, cid + 100, 0x0b);
	send_msg(f, BROADCAST, CMD_CBOR, &info, 1);	/* only INIT there */
	expect_error(f, BROADCAST, 0x0b);
	send_msg(f, 0, CMD_CBOR, &info, 1);		/* reserved */
	expect_error(f, 0, 0x0b);
	send_msg(f, cid, CMD_MSG, &info, 1);		/* NMSG: no U2F */
	expect_error(f, cid, 0x01);
	send_msg(f, cid, CMD_CBOR, &info, 0);		/* empty CBOR */
	expect_error(f, cid, 0x03);
}

static void
test_ping_and_sequence(void **state)
{
	struct fx	*f = *state;
	unsigned char	 data[300], echo[300];
	uint32_t	 cid = new_channel(f), other = new_channel(f);
	uint8_t		 cmd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i;
	send_msg(f, cid, CMD_PING, data, sizeof(data));
	assert_int_equal(recv_msg(f, cid, &cmd, echo, sizeof(echo), NULL),
	    sizeof(data));
	assert_int_equal(cmd, CMD_PING);
	assert_memory_equal(echo, data, sizeof(data));

	/* a skipped sequence number aborts the message */
	write_init(f, cid, CMD_PING, sizeof(data), data, 57);
	write_cont(f, cid, 1, data + 57, 59);
	expect_error(f, cid, 0x04);
	/* another channel is told the device is busy mid-message */
	write_init(f, cid, CMD_PING, sizeof(data), data, 57);
	send_msg(f, other, CMD_PING, data, 1);
	expect_error(f, other, 0x06);
	/* a continuation from another channel is ignored */
	write_cont(f, other, 0, data + 57, 59);
	for (uint8_t seq = 0; seq < 5; seq++)
		write_cont(f, cid, seq, data + 57 + 59 * seq,
		    seq < 4 ? 59 : sizeof(data) - 57 - 4 * 59);
	assert_int_equal(recv_msg(f, cid, &cmd, echo, sizeof(echo), NULL),
	    sizeof(data));
	assert_memory_equal(echo, data, sizeof(data));
	/* longer than maxMsgSize */
	write_init(f, cid, CMD_CBOR, 1201, data, 57);
	expect_error(f, cid, 0x03);
}

/* CTAP2 status byte of a CBOR request. */
static uint8_t
cbor_status(struct fx *f, uint32_t cid, const unsigned char *req, size_t len,
    int *ka)
{
	unsigned char	buf[2048];
	uint8_t		cmd;

	send_msg(f, cid, CMD_CBOR, req, len);
	assert_true(recv_msg(f, cid, &cmd, buf, sizeof(buf), ka) >= 1);
	assert_int_equal(cmd, CMD_CBOR);
	return buf[0];
}

/*
 * makeCredential {1: h'5555..', 2: {"id": "a"}, 3: {"id": h'01'},
 * 4: [{"alg": -7, "type": "public-key"}]}
 */
static size_t
make_cred_req(unsigned char *p, uint8_t cdh_len)
{
	const unsigned char head[] = { 0x01, 0xa4, 0x01, 0x58, cdh_len };
	static const unsigned char tail[] = {
		0x02, 0xa1, 0x62, 'i', 'd', 0x61, 'a',
		0x03, 0xa1, 0x62, 'i', 'd', 0x41, 0x01,
		0x04, 0x81, 0xa2, 0x63, 'a', 'l', 'g', 0x26,
		0x64, 't', 'y', 'p', 'e', 0x6a, 'p', 'u', 'b', 'l', 'i', 'c',
		'-', 'k', 'e', 'y',
	};
	size_t n = 0;

	memcpy(p, head, sizeof(head));
	n += sizeof(head);
	memset(p + n, 0x55, cdh_len);
	n += cdh_len;
	memcpy(p + n, tail, sizeof(tail));
	return n + sizeof(tail);
}

static void
test_cbor_errors(void **state)
{
	struct fx		*f = *state;
	uint32_t		 cid = new_channel(f);
	unsigned char		 req[256];
	size_t			 n;
	int			 ka = 0;
	const unsigned char	 unknown[] = { 0x55 };
	const unsigned char	 unsorted[] = { 0x01, 0xa2, 0x02, 0x00, 0x01,
	    0x00 };
	const unsigned char	 dup[] = { 0x01, 0xa2, 0x01, 0x00, 0x01,
	    0x00 };
	const unsigned char	 indefinite[] = { 0x01, 0xbf, 0xff };
	const unsigned char	 missing[] = { 0x01, 0xa0 };
	const unsigned char	 not_map[] = { 0x01, 0x80 };
	const unsigned char	 tag[] = { 0x01, 0xc1, 0xa0 };
	const unsigned char	 bad_sub[] = { 0x06, 0xa1, 0x02, 0x18, 0x42 };

	assert_int_equal(cbor_status(f, cid, unknown, sizeof(unknown), NULL),
	    0x01);
	assert_int_equal(cbor_status(f, cid, unsorted, sizeof(unsorted),
	    NULL), 0x12);
	assert_int_equal(cbor_status(f, cid, dup, sizeof(dup), NULL), 0x12);
	assert_int_equal(cbor_status(f, cid, indefinite, sizeof(indefinite),
	    NULL), 0x12);
	assert_int_equal(cbor_status(f, cid, tag, sizeof(tag), NULL), 0x12);
	assert_int_equal(cbor_status(f, cid, missing, sizeof(missing), NULL),
	    0x14);
	assert_int_equal(cbor_status(f, cid, not_map, sizeof(not_map), NULL),
	    0x11);
	assert_int_equal(cbor_status(f, cid, bad_sub, sizeof(bad_sub), NULL),
	    0x3e);

	n = make_cred_req(req, 32);
	assert_int_equal(cbor_status(f, cid, req, n, &ka), 0x00);
	assert_true(ka >= 1);			/* UPNEEDED before the touch */
	/* trailing byte after the map */
	req[n] = 0x00;
	assert_int_equal(cbor_status(f, cid, req, n + 1, NULL), 0x12);
	/* truncated map */
	assert_int_equal(cbor_status(f, cid, req, n - 3, NULL), 0x12);
	/* clientDataHash of the wrong length */
	n = make_cred_req(req, 31);
	assert_int_equal(cbor_status(f, cid, req, n, NULL), 0x03);
}

static void
test_keepalive_cancel_busy(void **state)
{
	struct fx	*f = *state;
	uint32_t	 cid = new_channel(f), other = new_channel(f);
	unsigned char	 req[256], rpt[64];
	const unsigned char info = 0x04;
	size_t		 n = make_cred_req(req, 32);
	uint8_t		 cmd;
	int		 ka = 0;

	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_WAIT);
	send_msg(f, cid, CMD_CBOR, req, n);
	read_rpt(f, rpt);
	assert_int_equal(rpt[4], CMD_KEEPALIVE);
	read_rpt(f, rpt);				/* ~100 ms later */
	assert_int_equal(rpt[4], CMD_KEEPALIVE);
	/* busy while waiting for the user */
	send_msg(f, other, CMD_CBOR, &info, 1);
	expect_error(f, other, 0x06);
	/* CANCEL on another channel does nothing; on ours it ends the wait */
	write_init(f, other, CMD_CANCEL, 0, NULL, 0);
	write_init(f, cid, CMD_CANCEL, 0, NULL, 0);
	assert_int_equal(recv_msg(f, cid, &cmd, req, sizeof(req), &ka), 1);
	assert_int_equal(cmd, CMD_CBOR);
	assert_int_equal(req[0], 0x2d);		/* KEEPALIVE_CANCEL */

	/* NO: keepalives, then a timeout */
	softfido_set_touch(f->sf, SOFTFIDO_TOUCH_NO);
	n = make_cred_req(req, 32);
	ka = 0;
	assert_int_equal(cbor_status(f, cid, req, n, &ka), 0x2f);
	assert_true(ka >= 1);
	assert_int_equal(softfido_counter(f->sf), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_init),
		T(test_bad_reports),
		T(test_channels),
		T(test_ping_and_sequence),
		T(test_cbor_errors),
		T(test_keepalive_cancel_busy),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
