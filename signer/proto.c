/*
 * The signer protocol's messages and frames (proto.h,
 * docs/signer-protocol.md).  Every read goes through core/buf.h's ob_rd,
 * every write through ob_wr; a message parses only if every byte of it
 * was read.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "signer/proto.h"

/* ---- fields ---- */

static int
printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

/* Key names: what the configuration allows (signer/config.c). */
static int
name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* A u8-length string of lo..max bytes of printable ASCII, copied. */
static int
rd_str8(struct ob_rd *rd, size_t lo, size_t max, int keyname, char *out,
    const char *what)
{
	const uint8_t	*p;
	size_t		 n, i;
	int		 r;

	if ((r = ob_rd_lv8(rd, max, &p, &n)) != OB_OK)
		return ob_err_prefix(r, "%s", what);
	if (n < lo || !printable(p, n))
		return ob_rd_fail(rd, ob_errf(OB_ERR_SIGNER_PROTOCOL, "%s: %zu "
		    "bytes, or not printable ASCII", what, n));
	for (i = 0; keyname && i < n; i++)
		if (!name_char(p[i]))
			return ob_rd_fail(rd, ob_errf(OB_ERR_SIGNER_PROTOCOL,
			    "%s: not a key name", what));
	memcpy(out, p, n);
	out[n] = '\0';
	return OB_OK;
}

static int
rd_str16(struct ob_rd *rd, size_t max, char *out, const char *what)
{
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	if ((r = ob_rd_lv16(rd, max, &p, &n)) != OB_OK)
		return ob_err_prefix(r, "%s", what);
	if (!printable(p, n))
		return ob_rd_fail(rd, ob_errf(OB_ERR_SIGNER_PROTOCOL, "%s: not "
		    "printable ASCII", what));
	memcpy(out, p, n);
	out[n] = '\0';
	return OB_OK;
}

/* A non-empty u16- or u32-length byte field of at most max bytes. */
static int
rd_blob(struct ob_rd *rd, int wide, size_t max, const uint8_t **p, size_t *n,
    const char *what)
{
	int r;

	r = wide ? ob_rd_lv32(rd, max, p, n) : ob_rd_lv16(rd, max, p, n);
	if (r != OB_OK)
		return ob_err_prefix(r, "%s", what);
	if (*n == 0)
		return ob_rd_fail(rd, ob_errf(OB_ERR_SIGNER_PROTOCOL,
		    "%s: empty", what));
	return OB_OK;
}

/* The end of a message: nothing may follow its last field. */
static int
rd_done(struct ob_rd *rd)
{
	int r;

	if ((r = ob_rd_end(rd)) == OB_ERR_TRAILING)
		return ob_errf(OB_ERR_TRAILING, "%zu bytes after the last "
		    "field", ob_rd_left(rd));
	return r;
}

/* version, type, id: the same three fields start every message. */
static int
rd_header(struct ob_rd *rd, uint8_t version, uint8_t *v, uint8_t *type,
    uint32_t *id)
{
	int r;

	if ((r = ob_rd_u8(rd, v)) != OB_OK ||
	    (r = ob_rd_u8(rd, type)) != OB_OK ||
	    (r = ob_rd_u32(rd, id)) != OB_OK)
		return ob_err_prefix(r, "header");
	if (*v != version)
		return ob_rd_fail(rd, ob_errf(OB_ERR_SIGNER_VERSION, "version "
		    "%u, expected %u", *v, version));
	return OB_OK;
}

int
ob_sp_req_parse(const uint8_t *body, size_t len, uint8_t version,
    struct ob_sp_req *out, uint32_t *idp)
{
	struct ob_sp_req	 q;
	struct ob_rd		 rd;
	int			 r;

	memset(&q, 0, sizeof(q));
	*idp = 0;
	ob_rd_init(&rd, body, len);
	if ((r = ob_rd_u8(&rd, &q.version)) != OB_OK ||
	    (r = ob_rd_u8(&rd, &q.type)) != OB_OK ||
	    (r = ob_rd_u32(&rd, &q.id)) != OB_OK)
		return ob_err_prefix(r, "header");
	*idp = q.id;
	if (q.version != version)
		return ob_errf(OB_ERR_SIGNER_VERSION, "version %u, expected %u",
		    q.version, version);
	switch (q.type) {
	case OB_SP_HELLO:
		if ((r = ob_rd_u8(&rd, &q.vmin)) != OB_OK ||
		    (r = ob_rd_u8(&rd, &q.vmax)) != OB_OK)
			return ob_err_prefix(r, "hello versions");
		if (q.vmin == 0 || q.vmin > q.vmax)
			return ob_errf(OB_ERR_SIGNER_PROTOCOL, "hello: "
			    "versions %u..%u", q.vmin, q.vmax);
		OB_TRY(rd_str8(&rd, 1, OB_SP_MAX_NAME, 0, q.name, "client"));
		break;
	case OB_SP_PUBKEY:
		OB_TRY(rd_str8(&rd, 1, OB_SP_MAX_NAME, 1, q.name, "key"));
		break;
	case OB_SP_SIGN:
		OB_TRY(rd_str8(&rd, 1, OB_SP_MAX_NAME, 1, q.name, "key"));
		if ((r = ob_rd_u8(&rd, &q.purpose)) != OB_OK)
			return ob_err_prefix(r, "purpose");
		if (ob_sp_purpose_name(q.purpose) == NULL)
			return ob_errf(OB_ERR_SIGNER_PROTOCOL, "purpose %u",
			    q.purpose);
		OB_TRY(rd_str16(&rd, OB_SP_MAX_FOR, q.for_whom, "for"));
		OB_TRY(rd_blob(&rd, 1, OB_SP_MAX_INPUT, &q.input, &q.inputlen,
		    "input"));
		break;
	case OB_SP_HEALTH:
		break;
	default:
		return ob_errf(OB_ERR_SIGNER_PROTOCOL, "message type 0x%02x",
		    q.type);
	}
	OB_TRY(rd_done(&rd));
	*out = q;
	r = OB_OK;
out:
	return r;
}

int
ob_sp_reply_parse(const uint8_t *body, size_t len, uint8_t version,
    uint8_t type, uint32_t id, struct ob_sp_reply *out)
{
	struct ob_sp_reply	*p;
	struct ob_rd		 rd;
	uint32_t		 st;
	int			 r;

	/* Large enough that it is not worth a copy on the stack. */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_ALLOC;
	ob_rd_init(&rd, body, len);
	OB_TRY(rd_header(&rd, version, &p->version, &p->type, &p->id));
	if ((p->type != (type | OB_SP_REPLY) && p->type != OB_SP_ERROR) ||
	    p->id != id) {
		r = ob_errf(OB_ERR_SIGNER_PROTOCOL, "reply 0x%02x id %u to "
		    "0x%02x id %u", p->type, p->id, type, id);
		goto out;
	}
	if ((r = ob_rd_u32(&rd, &st)) != OB_OK) {
		r = ob_err_prefix(r, "status");
		goto out;
	}
	/* Two's complement on the wire: a code is a small negative int. */
	p->status = st <= 0x7fffffffu ? (int)st : -(int)(~st) - 1;
	if (p->status > 0 || (p->type == OB_SP_ERROR && p->status == OB_OK)) {
		r = ob_errf(OB_ERR_SIGNER_PROTOCOL, "status %d", p->status);
		goto out;
	}
	if (p->status != OB_OK) {
		OB_TRY(rd_str16(&rd, OB_SP_MAX_DETAIL, p->detail, "detail"));
		OB_TRY(rd_done(&rd));
		goto done;
	}
	switch (type) {
	case OB_SP_HELLO:
		if ((r = ob_rd_u8(&rd, &p->chosen)) != OB_OK) {
			r = ob_err_prefix(r, "version");
			goto out;
		}
		OB_TRY(rd_str8(&rd, 1, OB_SP_MAX_NAME, 0, p->helper, "helper"));
		break;
	case OB_SP_PUBKEY:
		OB_TRY(rd_str8(&rd, 1, OB_SP_MAX_ATOM, 0, p->alg, "alg"));
		OB_TRY(rd_str8(&rd, 1, OB_SP_MAX_ATOM, 0, p->kind, "kind"));
		OB_TRY(rd_str8(&rd, OB_SP_KID_LEN, OB_SP_KID_LEN, 0, p->kid,
		    "kid"));
		if ((r = ob_rd_u8(&rd, &p->purposes)) != OB_OK) {
			r = ob_err_prefix(r, "purposes");
			goto out;
		}
		OB_TRY(rd_blob(&rd, 0, OB_SP_MAX_SPKI, &p->spki, &p->spkilen,
		    "spki"));
		break;
	case OB_SP_SIGN:
		OB_TRY(rd_blob(&rd, 0, OB_SP_MAX_SIG, &p->sig, &p->siglen,
		    "signature"));
		break;
	case OB_SP_HEALTH:
		if ((r = ob_rd_u8(&rd, &p->nkeys)) != OB_OK ||
		    (r = ob_rd_u64(&rd, &p->nsigned)) != OB_OK ||
		    (r = ob_rd_u64(&rd, &p->nrefused)) != OB_OK) {
			r = ob_err_prefix(r, "health");
			goto out;
		}
		break;
	default:
		r = ob_errf(OB_ERR_INVALID_ARG, "request type 0x%02x", type);
		goto out;
	}
	OB_TRY(rd_done(&rd));
done:
	*out = *p;
	r = OB_OK;
out:
	free(p);
	return r;
}

/* ---- builders ---- */

/*
 * Every builder reserves the length prefix with begin() and patches it in
 * with finish(); the writer is sticky, so a failed write fails finish().
 */
static int
begin(struct ob_wr *w, uint8_t version, uint8_t type, uint32_t id,
    size_t *at)
{
	int r;

	*at = ob_wr_len(w);
	if (ob_wr_reserve(w, 4) == NULL)
		return ob_wr_err(w);
	OB_TRY(ob_wr_u8(w, version));
	OB_TRY(ob_wr_u8(w, type));
	r = ob_wr_u32(w, id);
out:
	return r;
}

static int
finish(struct ob_wr *w, size_t at)
{
	size_t	n;
	int	r;

	if ((r = ob_wr_err(w)) != OB_OK)
		return r;
	n = ob_wr_len(w) - at - 4;
	if (n > OB_SP_MAX_MSG)
		return ob_errf(OB_ERR_INVALID_ARG, "message of %zu bytes", n);
	return ob_wr_patch_u32(w, at, (uint32_t)n);
}

static int
name_ok(const char *s, size_t max, int keyname)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max || !printable((const uint8_t *)s, n))
		return 0;
	for (i = 0; keyname && i < n; i++)
		if (!name_char((uint8_t)s[i]))
			return 0;
	return 1;
}

static int
put_str8(struct ob_wr *w, const char *s)
{
	return ob_wr_lv8(w, s, strlen(s));
}

int
ob_sp_put_hello(struct ob_wr *w, uint32_t id, uint8_t vmin, uint8_t vmax,
    const char *client)
{
	size_t	at;
	int	r;

	if (!name_ok(client, OB_SP_MAX_NAME, 0))
		return ob_errf(OB_ERR_INVALID_ARG, "client name");
	/* HELLO's own layout is version 1's, whatever is offered. */
	OB_TRY(begin(w, OB_SP_VERSION, OB_SP_HELLO, id, &at));
	OB_TRY(ob_wr_u8(w, vmin));
	OB_TRY(ob_wr_u8(w, vmax));
	OB_TRY(put_str8(w, client));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_pubkey(struct ob_wr *w, uint8_t version, uint32_t id,
    const char *key)
{
	size_t	at;
	int	r;

	if (!name_ok(key, OB_SP_MAX_NAME, 1))
		return ob_errf(OB_ERR_INVALID_ARG, "key name");
	OB_TRY(begin(w, version, OB_SP_PUBKEY, id, &at));
	OB_TRY(put_str8(w, key));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_sign(struct ob_wr *w, uint8_t version, uint32_t id,
    const char *key, enum ob_sp_purpose purpose, const char *for_whom,
    const uint8_t *input, size_t len)
{
	size_t	at, flen = for_whom != NULL ? strlen(for_whom) : 0;
	int	r;

	if (!name_ok(key, OB_SP_MAX_NAME, 1) ||
	    ob_sp_purpose_name(purpose) == NULL || flen > OB_SP_MAX_FOR ||
	    !printable((const uint8_t *)for_whom, flen) || len == 0 ||
	    len > OB_SP_MAX_INPUT)
		return ob_errf(OB_ERR_INVALID_ARG, "sign request fields");
	OB_TRY(begin(w, version, OB_SP_SIGN, id, &at));
	OB_TRY(put_str8(w, key));
	OB_TRY(ob_wr_u8(w, (uint8_t)purpose));
	OB_TRY(ob_wr_lv16(w, for_whom, flen));
	OB_TRY(ob_wr_lv32(w, input, len));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_health(struct ob_wr *w, uint8_t version, uint32_t id)
{
	size_t	at;
	int	r;

	OB_TRY(begin(w, version, OB_SP_HEALTH, id, &at));
	r = finish(w, at);
out:
	return r;
}

static int
begin_reply(struct ob_wr *w, uint8_t version, uint8_t type, uint32_t id,
    int status, size_t *at)
{
	int r;

	if ((r = begin(w, version, type, id, at)) != OB_OK)
		return r;
	return ob_wr_u32(w, (uint32_t)status);
}

int
ob_sp_put_status(struct ob_wr *w, uint8_t version, uint8_t type,
    uint32_t id, int status, const char *detail)
{
	char	d[OB_SP_MAX_DETAIL];
	size_t	at, i, n;
	int	r;

	if (status >= 0)
		return ob_errf(OB_ERR_INVALID_ARG, "a refusal needs a code");
	/* A detail is advisory: cut it, and mask what is not printable. */
	n = detail != NULL ? strlen(detail) : 0;
	if (n > sizeof(d))
		n = sizeof(d);
	for (i = 0; i < n; i++)
		d[i] = detail[i] >= 0x20 && detail[i] <= 0x7e ? detail[i] : '?';
	OB_TRY(begin_reply(w, version, type == OB_SP_ERROR ? OB_SP_ERROR :
	    (uint8_t)(type | OB_SP_REPLY), id, status, &at));
	OB_TRY(ob_wr_lv16(w, d, n));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_hello_ok(struct ob_wr *w, uint32_t id, uint8_t chosen,
    const char *helper)
{
	size_t	at;
	int	r;

	if (!name_ok(helper, OB_SP_MAX_NAME, 0))
		return ob_errf(OB_ERR_INVALID_ARG, "helper name");
	OB_TRY(begin_reply(w, OB_SP_VERSION, OB_SP_HELLO | OB_SP_REPLY, id,
	    OB_OK, &at));
	OB_TRY(ob_wr_u8(w, chosen));
	OB_TRY(put_str8(w, helper));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_pubkey_ok(struct ob_wr *w, uint8_t version, uint32_t id,
    const char *alg, const char *kind, const char *kid, uint8_t purposes,
    const uint8_t *spki, size_t spkilen)
{
	size_t	at;
	int	r;

	if (!name_ok(alg, OB_SP_MAX_ATOM, 0) ||
	    !name_ok(kind, OB_SP_MAX_ATOM, 0) || kid == NULL ||
	    strlen(kid) != OB_SP_KID_LEN || !name_ok(kid, OB_SP_KID_LEN, 0) ||
	    spkilen == 0 || spkilen > OB_SP_MAX_SPKI)
		return ob_errf(OB_ERR_INVALID_ARG, "public key fields");
	OB_TRY(begin_reply(w, version, OB_SP_PUBKEY | OB_SP_REPLY, id, OB_OK,
	    &at));
	OB_TRY(put_str8(w, alg));
	OB_TRY(put_str8(w, kind));
	OB_TRY(put_str8(w, kid));
	OB_TRY(ob_wr_u8(w, purposes));
	OB_TRY(ob_wr_lv16(w, spki, spkilen));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_sign_ok(struct ob_wr *w, uint8_t version, uint32_t id,
    const uint8_t *sig, size_t siglen)
{
	size_t	at;
	int	r;

	if (siglen == 0 || siglen > OB_SP_MAX_SIG)
		return ob_errf(OB_ERR_INVALID_ARG, "signature of %zu bytes",
		    siglen);
	OB_TRY(begin_reply(w, version, OB_SP_SIGN | OB_SP_REPLY, id, OB_OK,
	    &at));
	OB_TRY(ob_wr_lv16(w, sig, siglen));
	r = finish(w, at);
out:
	return r;
}

int
ob_sp_put_health_ok(struct ob_wr *w, uint8_t version, uint32_t id,
    uint8_t nkeys, uint64_t nsigned, uint64_t nrefused)
{
	size_t	at;
	int	r;

	OB_TRY(begin_reply(w, version, OB_SP_HEALTH | OB_SP_REPLY, id, OB_OK,
	    &at));
	OB_TRY(ob_wr_u8(w, nkeys));
	OB_TRY(ob_wr_u64(w, nsigned));
	OB_TRY(ob_wr_u64(w, nrefused));
	r = finish(w, at);
out:
	return r;
}

const char *
ob_sp_purpose_name(unsigned purpose)
{
	switch (purpose) {
	case OB_SP_WIT:			return "wit";
	case OB_SP_WIC_TBS:		return "wic-tbs";
	case OB_SP_GATEWAY_ENTRY:	return "gateway-entry";
	default:			return NULL;
	}
}

/* ---- frames ---- */

long long
ob_sp_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline (-1: none). */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	int		n;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - ob_sp_mono_ms();
		if (deadline >= 0 && left <= 0)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "no answer "
			    "in time");
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (n > 0)
			return OB_OK;
		if (n < 0 && errno != EINTR)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "poll: %s",
			    strerror(errno));
	}
}

/* Read exactly n bytes; *ended: the stream ended before the first. */
static int
read_n(int fd, long long deadline, uint8_t *b, size_t n, int *ended)
{
	ssize_t	k;
	size_t	got = 0;
	int	r;

	*ended = 0;
	while (got < n) {
		if ((r = wait_fd(fd, POLLIN, deadline)) != OB_OK)
			return r;
		k = read(fd, b + got, n - got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "read: %s",
			    strerror(errno));
		if (k == 0) {
			*ended = got == 0;
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "end of "
			    "stream%s", got == 0 ? "" : " inside a frame");
		}
		got += (size_t)k;
	}
	return OB_OK;
}

int
ob_sp_read_frame(int fd, int timeout_ms, uint8_t *buf, size_t cap,
    size_t *len, int *eof)
{
	struct ob_rd	rd;
	uint8_t		hdr[4];
	uint32_t	n;
	long long	deadline = timeout_ms < 0 ? -1 :
			    ob_sp_mono_ms() + timeout_ms;
	int		r, ended;

	*eof = 0;
	if ((r = read_n(fd, deadline, hdr, sizeof(hdr), &ended)) != OB_OK) {
		*eof = ended;
		return r;
	}
	ob_rd_init(&rd, hdr, sizeof(hdr));
	if ((r = ob_rd_u32(&rd, &n)) != OB_OK)
		return r;
	if (n == 0 || n > OB_SP_MAX_MSG || n > cap)
		return ob_errf(OB_ERR_SIGNER_PROTOCOL, "frame of %u bytes "
		    "(1..%d)", n, OB_SP_MAX_MSG);
	if ((r = read_n(fd, deadline, buf, n, &ended)) != OB_OK)
		return r;
	*len = n;
	return OB_OK;
}

int
ob_sp_write_all(int fd, int timeout_ms, const uint8_t *b, size_t n)
{
	long long	deadline = timeout_ms < 0 ? -1 :
			    ob_sp_mono_ms() + timeout_ms;
	ssize_t		k;
	size_t		off = 0;
	int		r;

	/* Send first, and wait only when the socket is full: a poll per
	 * frame cost each side a system call per request. */
	while (off < n) {
		k = send(fd, b + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) != OB_OK)
				return r;
			continue;
		}
		if (k < 0)
			return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "write: %s",
			    strerror(errno));
		off += (size_t)k;
	}
	return OB_OK;
}
