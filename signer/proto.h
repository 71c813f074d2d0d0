/*
 * The signer protocol (docs/signer-protocol.md): length-prefixed,
 * versioned messages between a daemon (tokens/remote.c) and
 * ownerbind-signer.  Both sides parse and build every message here, through
 * core/buf.h; nothing else touches the bytes.
 *
 * Parsed messages borrow the buffer they were parsed from: input, spki and
 * sig point into it and stay valid as long as it does.  Names and strings
 * are copied, NUL-terminated, into the structure (they are short and
 * checked to be printable ASCII, so they hold no NUL).
 *
 * Every function returns OB_OK or an ob_err.h code with a detail that
 * names the field; outputs are written only on success.
 */
#ifndef OB_SIGNER_PROTO_H
#define OB_SIGNER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ownerbind/ob_err.h"
#include "core/buf.h"

#define OB_SP_VERSION		1	/* the only version so far */
#define OB_SP_MAX_MSG		69632	/* a frame's body, bytes */
#define OB_SP_MAX_INPUT		65536	/* a signing input */
#define OB_SP_MAX_NAME		64	/* key, client and helper names */
#define OB_SP_MAX_FOR		512	/* "for whom" */
#define OB_SP_MAX_DETAIL	512
#define OB_SP_MAX_SPKI		2048
#define OB_SP_MAX_SIG		1024
#define OB_SP_MAX_ATOM		32	/* alg and kind names */
#define OB_SP_KID_LEN		43	/* RFC 7638 SHA-256 thumbprint */

enum ob_sp_type {
	OB_SP_HELLO = 0x01,
	OB_SP_PUBKEY = 0x02,
	OB_SP_SIGN = 0x03,
	OB_SP_HEALTH = 0x04,
	OB_SP_REPLY = 0x80,	/* or'd into the request's type */
	OB_SP_ERROR = 0xff,
};

enum ob_sp_purpose {
	OB_SP_WIT = 1,
	OB_SP_WIC_TBS = 2,
	OB_SP_GATEWAY_ENTRY = 3,
};

/* Purposes as bits, in a PUBKEY reply. */
#define OB_SP_BIT(p)	(1u << ((p) - 1))

/* A request (HELLO, PUBKEY, SIGN, HEALTH). */
struct ob_sp_req {
	uint8_t		 version;
	uint8_t		 type;
	uint32_t	 id;
	uint8_t		 vmin, vmax;		/* HELLO */
	char		 name[OB_SP_MAX_NAME + 1]; /* client or key */
	uint8_t		 purpose;		/* SIGN */
	char		 for_whom[OB_SP_MAX_FOR + 1];
	const uint8_t	*input;			/* borrowed */
	size_t		 inputlen;
};

/* A reply to one request, or an ERROR. */
struct ob_sp_reply {
	uint8_t		 version;
	uint8_t		 type;
	uint32_t	 id;
	int		 status;		/* OB_OK or an ob_err.h code */
	char		 detail[OB_SP_MAX_DETAIL + 1];	/* status != OB_OK */
	uint8_t		 chosen;		/* HELLO */
	char		 helper[OB_SP_MAX_NAME + 1];
	char		 alg[OB_SP_MAX_ATOM + 1];	/* PUBKEY */
	char		 kind[OB_SP_MAX_ATOM + 1];
	char		 kid[OB_SP_KID_LEN + 1];
	uint8_t		 purposes;
	const uint8_t	*spki;			/* borrowed */
	size_t		 spkilen;
	const uint8_t	*sig;			/* SIGN, borrowed */
	size_t		 siglen;
	uint8_t		 nkeys;			/* HEALTH */
	uint64_t	 nsigned, nrefused;
};

/*
 * Parse one frame body as a request of protocol version `version` (the
 * negotiated one; OB_SP_VERSION before HELLO).  *id is the request id as
 * soon as the header could be read (0 before), so that an ERROR can name
 * it.  Errors: OB_ERR_SIGNER_VERSION (the version byte), OB_ERR_SIGNER_PROTOCOL
 * (unknown type, a bad name or purpose), OB_ERR_TRUNCATED,
 * OB_ERR_FIELD_TOO_LONG, OB_ERR_TRAILING.
 */
int ob_sp_req_parse(const uint8_t *body, size_t len, uint8_t version,
    struct ob_sp_req *out, uint32_t *id) OB_WUR;

/*
 * Parse a reply of version `version` to the request (type, id): the reply
 * type must be type | OB_SP_REPLY (or OB_SP_ERROR) and its id equal id.
 * OB_ERR_SIGNER_PROTOCOL for anything else; the buf.h errors as above.
 * A reply that parses carries its own status; this returns OB_OK then.
 */
int ob_sp_reply_parse(const uint8_t *body, size_t len, uint8_t version,
    uint8_t type, uint32_t id, struct ob_sp_reply *out) OB_WUR;

/*
 * Builders: each appends one whole frame (length prefix included) to w.
 * Names must be 1..OB_SP_MAX_NAME printable ASCII (OB_ERR_INVALID_ARG).
 */
int ob_sp_put_hello(struct ob_wr *w, uint32_t id, uint8_t vmin, uint8_t vmax,
    const char *client) OB_WUR;
int ob_sp_put_pubkey(struct ob_wr *w, uint8_t version, uint32_t id,
    const char *key) OB_WUR;
int ob_sp_put_sign(struct ob_wr *w, uint8_t version, uint32_t id,
    const char *key, enum ob_sp_purpose purpose, const char *for_whom,
    const uint8_t *input, size_t len) OB_WUR;
int ob_sp_put_health(struct ob_wr *w, uint8_t version, uint32_t id) OB_WUR;

/* A refusal: the reply to (type, id) with status != OB_OK and a detail. */
int ob_sp_put_status(struct ob_wr *w, uint8_t version, uint8_t type,
    uint32_t id, int status, const char *detail) OB_WUR;
int ob_sp_put_hello_ok(struct ob_wr *w, uint32_t id, uint8_t chosen,
    const char *helper) OB_WUR;
int ob_sp_put_pubkey_ok(struct ob_wr *w, uint8_t version, uint32_t id,
    const char *alg, const char *kind, const char *kid, uint8_t purposes,
    const uint8_t *spki, size_t spkilen) OB_WUR;
int ob_sp_put_sign_ok(struct ob_wr *w, uint8_t version, uint32_t id,
    const uint8_t *sig, size_t siglen) OB_WUR;
int ob_sp_put_health_ok(struct ob_wr *w, uint8_t version, uint32_t id,
    uint8_t nkeys, uint64_t nsigned, uint64_t nrefused) OB_WUR;

/* The name of a purpose ("wit", "wic-tbs", "gateway-entry") or NULL. */
const char *ob_sp_purpose_name(unsigned purpose);

/*
 * Frame I/O on a stream socket.  timeout_ms bounds the whole call (< 0:
 * none).  read_frame reads one length prefix and body into buf[0..cap)
 * (cap >= OB_SP_MAX_MSG); a stream that ends before the prefix sets *eof
 * and returns OB_ERR_SIGNER_UNAVAILABLE, as do a timeout, an error and a
 * stream that ends inside a frame (without *eof).  A length of 0 or above
 * OB_SP_MAX_MSG is OB_ERR_SIGNER_PROTOCOL (the stream cannot be trusted
 * after it).  write_all writes n bytes (no SIGPIPE).
 */
int ob_sp_read_frame(int fd, int timeout_ms, uint8_t *buf, size_t cap,
    size_t *len, int *eof) OB_WUR;
/* CLOCK_MONOTONIC in milliseconds: the frames' deadlines. */
long long ob_sp_mono_ms(void);
int ob_sp_write_all(int fd, int timeout_ms, const uint8_t *b, size_t n)
    OB_WUR;

#endif
