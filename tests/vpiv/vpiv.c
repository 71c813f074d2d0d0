/*
 * vpiv.c - a virtual PIV card that plugs into vsmartcard's vpcd reader.
 *
 * vpcd protocol (vsmartcard, virtualsmartcard/src/vpcd): the card is a
 * TCP client of the reader.  Every message, in both directions, is a
 * 2-byte big-endian length followed by that many bytes.  A 1-byte message
 * from the reader is a control code (0 power off, 1 power on, 2 reset,
 * 4 get ATR; only the last is answered, with the ATR); longer messages are
 * command APDUs, answered with the response APDU.
 *
 * Removal is simulated by closing the socket (vpcd then reports no card)
 * and re-insertion by connecting again.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tests/vpiv/piv_card.h"

#define VPCD_DEFAULT_PORT	35963
#define VPCD_CTRL_OFF		0
#define VPCD_CTRL_ON		1
#define VPCD_CTRL_RESET		2
#define VPCD_CTRL_ATR		4
#define FRAME_MAX		0xffff
#define ATR_MAX			33

/* YubiKey 5 (USB) ATR: OpenSC and libykpiv recognise the YubiKey. */
static const uint8_t yk5_atr[] = {
	0x3b, 0xfd, 0x13, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x15, 0x80, 0x73,
	0xc0, 0x21, 0xc0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4b, 0x65, 0x79,
	0x40
};

enum serve_end { END_EOF, END_REMOVED, END_STOP, END_ERROR };

struct opts {
	const char	*host;
	uint16_t	 port;
	const char	*state;
	const char	*ca_out;
	unsigned long	 drop_after;	/* 0: never */
	int		 drop_ins;	/* <0: never */
	long		 reinsert_ms;	/* <0: wait for SIGUSR1 */
	unsigned	 connect_timeout;
	int		 verbose;
	int		 init_only;
	uint8_t		 atr[ATR_MAX];
	size_t		 atr_len;
};

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_toggle;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_toggle = 1;
	else
		got_stop = 1;
}

static void logmsg(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vpiv[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vpiv [--port N] [--host ADDR] [--state FILE] [--serial N]\n"
	    "            [--fw-version X.Y.Z] [--ca-key PEM --ca-cert PEM]\n"
	    "            [--ca-out PEM] [--drop-after N] [--drop-on-ins HEX]\n"
	    "            [--reinsert-ms MS]\n"
	    "            [--connect-timeout SEC] [--atr HEX] [--init-only]\n"
	    "            [--verbose]\n"
	    "SIGUSR1 removes the card (closes the socket) or re-inserts it;\n"
	    "SIGTERM/SIGINT save the state and exit.\n");
	exit(2);
}

static int
parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;
	unsigned int b;

	while (*s != '\0') {
		if (*s == ' ' || *s == ':') {
			s++;
			continue;
		}
		if (n == cap || sscanf(s, "%2x", &b) != 1 || s[1] == '\0')
			return -1;
		out[n++] = (uint8_t)b;
		s += 2;
	}
	*len = n;
	return n >= 2 ? 0 : -1;
}

static int
parse_hexbyte(const char *s, int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > 0xff)
		return -1;
	*out = (int)v;
	return 0;
}

static int
parse_version(const char *s, uint8_t v[3])
{
	unsigned int a, b, c;
	char extra;

	if (sscanf(s, "%u.%u.%u%c", &a, &b, &c, &extra) != 3 || a > 255 ||
	    b > 255 || c > 255)
		return -1;
	v[0] = (uint8_t)a;
	v[1] = (uint8_t)b;
	v[2] = (uint8_t)c;
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);	/* interrupted by signals: fine */
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000L;
}

/* Connect to vpcd, retrying until the deadline; -1 on timeout or stop. */
static int
vpcd_connect(const struct opts *o)
{
	struct sockaddr_in sa;
	long deadline = now_ms() + (long)o->connect_timeout * 1000;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(o->port);
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1) {
		logmsg("bad --host %s (IPv4 address expected)", o->host);
		return -1;
	}
	while (!got_stop) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			/* Without these each APDU costs ~40 ms (Nagle + delayed ACK). */
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one)) != 0)
				logmsg("TCP_NODELAY: %s", strerror(errno));
			return fd;
		}
		close(fd);
		if (now_ms() >= deadline) {
			logmsg("cannot connect to vpcd at %s:%u", o->host,
			    (unsigned)o->port);
			return -1;
		}
		sleep_ms(100);
	}
	return -1;
}

/* 0 ok, 1 EOF at a frame boundary, -1 error, -2 interrupted by a signal. */
static int
read_full(int fd, uint8_t *p, size_t n, int frame_start)
{
	size_t off = 0;
	ssize_t r;
	int one = 1;

	while (off < n) {
		/* TCP_QUICKACK is not sticky: set it before every receive. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
		r = recv(fd, p + off, n - off, 0);
		if (r < 0 && errno == EINTR) {
			if (got_stop || got_toggle)
				return -2;
			continue;
		}
		if (r == 0)
			return frame_start && off == 0 ? 1 : -1;
		if (r < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static int
send_frame(int fd, const uint8_t *p, size_t n)
{
	uint8_t buf[2 + FRAME_MAX];
	size_t off = 0;
	ssize_t r;

	if (n > FRAME_MAX)
		return -1;
	buf[0] = (uint8_t)(n >> 8);
	buf[1] = (uint8_t)n;
	memcpy(buf + 2, p, n);
	n += 2;
	while (off < n) {
		r = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	OPENSSL_cleanse(buf, n);
	return off == n ? 0 : -1;
}

static void
save_if_dirty(struct piv_card *card, const struct opts *o)
{
	int r;

	if (o->state == NULL || !piv_card_dirty(card))
		return;
	if ((r = piv_card_save(card, o->state)) != PIV_OK)
		logmsg("saving %s: %s", o->state, piv_strerror(r));
}

static enum serve_end
serve(int fd, struct piv_card *card, struct opts *o, unsigned long *napdu)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	uint8_t hdr[2];
	size_t len, rlen;
	int r;

	for (;;) {
		if (got_stop)
			return END_STOP;
		if (got_toggle) {
			got_toggle = 0;
			logmsg("SIGUSR1: card removed");
			return END_REMOVED;
		}
		if ((r = read_full(fd, hdr, 2, 1)) != 0) {
			if (r == -2)
				continue;
			return r == 1 ? END_EOF : END_ERROR;
		}
		len = ((size_t)hdr[0] << 8) | hdr[1];
		if ((r = read_full(fd, in, len, 0)) != 0) {
			if (r == -2)
				continue;	/* the frame is lost with the card */
			return END_ERROR;
		}
		if (len == 1) {
			switch (in[0]) {
			case VPCD_CTRL_OFF:
			case VPCD_CTRL_ON:
			case VPCD_CTRL_RESET:
				if (o->verbose)
					logmsg("control %u", in[0]);
				piv_card_reset_session(card);
				break;
			case VPCD_CTRL_ATR:
				if (send_frame(fd, o->atr, o->atr_len) != 0)
					return END_ERROR;
				break;
			default:
				logmsg("unknown control code %u", in[0]);
				break;
			}
			continue;
		}
		if (len == 0)
			continue;
		(*napdu)++;
		/* One-shot: the card vanishes before answering. */
		if (o->drop_after != 0 && *napdu == o->drop_after) {
			o->drop_after = 0;
			OPENSSL_cleanse(in, len);
			logmsg("APDU %lu: dropping the card (--drop-after)",
			    *napdu);
			return END_REMOVED;
		}
		if (o->drop_ins >= 0 && len >= 4 && in[1] == o->drop_ins) {
			o->drop_ins = -1;
			logmsg("APDU %lu: dropping the card (--drop-on-ins %02x)",
			    *napdu, in[1]);
			OPENSSL_cleanse(in, len);
			return END_REMOVED;
		}
		if (piv_card_transmit(card, in, len, out, sizeof(out), &rlen) !=
		    PIV_OK)
			return END_ERROR;
		if (o->verbose)
			logmsg("APDU %lu: %02x %02x %02x %02x Lc=%zu -> %02x%02x "
			    "(%zu data bytes)", *napdu, in[0], in[1], in[2],
			    len > 3 ? in[3] : 0, len > 5 ? len - 5 : 0,
			    out[rlen - 2], out[rlen - 1], rlen - 2);
		/* Commands carry PINs and keys, responses shared secrets. */
		OPENSSL_cleanse(in, len);
		r = send_frame(fd, out, rlen);
		OPENSSL_cleanse(out, rlen);
		if (r != 0)
			return END_ERROR;
		save_if_dirty(card, o);
	}
}

/* While removed: wait for SIGUSR1, the re-insert delay, or a stop. */
static void
wait_removed(const struct opts *o)
{
	long until = o->reinsert_ms >= 0 ? now_ms() + o->reinsert_ms : -1;

	while (!got_stop && !got_toggle) {
		if (until >= 0 && now_ms() >= until)
			break;
		sleep_ms(20);
	}
	got_toggle = 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 's' },
		{ "serial", required_argument, NULL, 'S' },
		{ "fw-version", required_argument, NULL, 'F' },
		{ "ca-key", required_argument, NULL, 'k' },
		{ "ca-cert", required_argument, NULL, 'c' },
		{ "ca-out", required_argument, NULL, 'o' },
		{ "drop-after", required_argument, NULL, 'd' },
		{ "drop-on-ins", required_argument, NULL, 'D' },
		{ "reinsert-ms", required_argument, NULL, 'r' },
		{ "connect-timeout", required_argument, NULL, 't' },
		{ "atr", required_argument, NULL, 'a' },
		{ "init-only", no_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct piv_card_config cfg;
	struct piv_card *card = NULL;
	struct sigaction sa;
	struct opts o;
	unsigned long v, napdu = 0;
	enum serve_end end;
	int ch, fd, r, status = 1;

	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	o.host = "127.0.0.1";
	o.port = VPCD_DEFAULT_PORT;
	o.reinsert_ms = -1;
	o.drop_ins = -1;
	o.connect_timeout = 10;
	memcpy(o.atr, yk5_atr, sizeof(yk5_atr));
	o.atr_len = sizeof(yk5_atr);
	cfg.version[0] = 5;
	cfg.version[1] = 4;
	cfg.version[2] = 3;

	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			o.host = optarg;
			break;
		case 'p':
			if (parse_ulong(optarg, 65535, &v) != 0 || v == 0)
				usage();
			o.port = (uint16_t)v;
			break;
		case 's':
			o.state = optarg;
			break;
		case 'S':
			if (parse_ulong(optarg, UINT32_MAX, &v) != 0)
				usage();
			cfg.serial = (uint32_t)v;
			cfg.serial_set = 1;
			break;
		case 'F':
			if (parse_version(optarg, cfg.version) != 0)
				usage();
			break;
		case 'k':
			cfg.ca_key_path = optarg;
			break;
		case 'c':
			cfg.ca_cert_path = optarg;
			break;
		case 'o':
			o.ca_out = optarg;
			break;
		case 'd':
			if (parse_ulong(optarg, ULONG_MAX, &v) != 0)
				usage();
			o.drop_after = v;
			break;
		case 'D':
			if (parse_hexbyte(optarg, &o.drop_ins) != 0)
				usage();
			break;
		case 'r':
			if (parse_ulong(optarg, 86400000, &v) != 0)
				usage();
			o.reinsert_ms = (long)v;
			break;
		case 't':
			if (parse_ulong(optarg, 3600, &v) != 0)
				usage();
			o.connect_timeout = (unsigned)v;
			break;
		case 'a':
			if (parse_hex(optarg, o.atr, sizeof(o.atr),
			    &o.atr_len) != 0)
				usage();
			break;
		case 'I':
			o.init_only = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (cfg.ca_key_path == NULL) !=
	    (cfg.ca_cert_path == NULL))
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: recv sees EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGUSR1, &sa, NULL) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);

	if (cfg.ca_key_path != NULL && o.state != NULL &&
	    access(o.state, F_OK) == 0)
		logmsg("%s exists: --ca-key/--ca-cert only apply to a new card",
		    o.state);
	if ((r = piv_card_new(&card, &cfg, o.state)) != PIV_OK) {
		logmsg("cannot create the card: %s", piv_strerror(r));
		return 1;
	}
	save_if_dirty(card, &o);
	if (o.ca_out != NULL &&
	    (r = piv_card_write_root(card, o.ca_out)) != PIV_OK) {
		logmsg("writing %s: %s", o.ca_out, piv_strerror(r));
		goto out;
	}
	if (o.init_only) {
		status = 0;
		goto out;
	}

	while (!got_stop) {
		if ((fd = vpcd_connect(&o)) < 0)
			goto out;
		if (o.verbose)
			logmsg("connected to vpcd %s:%u", o.host,
			    (unsigned)o.port);
		piv_card_reset_session(card);
		end = serve(fd, card, &o, &napdu);
		close(fd);
		piv_card_reset_session(card);
		save_if_dirty(card, &o);
		if (end == END_STOP)
			break;
		if (end == END_EOF) {
			logmsg("vpcd closed the connection");
			break;
		}
		if (end == END_ERROR) {
			logmsg("connection error");
			goto out;
		}
		wait_removed(&o);
		if (!got_stop)
			logmsg("card re-inserted");
	}
	status = 0;
 out:
	save_if_dirty(card, &o);
	piv_card_free(&card);
	return status;
}
