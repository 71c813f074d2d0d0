/*
 * ownerbind-signer's core: the keys a configuration names, opened once,
 * and the one function that answers a protocol message
 * (docs/signer-protocol.md).  The program (ownerbind-signer.c) only moves
 * frames between a socket and ob_signerd_handle; tests and the fuzz
 * harness call ob_signerd_handle directly.
 *
 * Every SIGN is checked against the key's purposes, its rate limit and
 * the shape of its purpose (signer/shape.h), then signed through
 * ob_token_sign (which verifies the fresh signature with the key's public
 * key before it leaves this process), and logged: one JSON line per
 * signature or refusal on the log stream, never the PIN.
 *
 * Threads: ob_signerd_handle may be called from several threads (one per
 * connection, and several per connection: ob_signerd_serve); a key whose
 * token is not concurrent (ob_token_concurrent) signs under its own lock.
 */
#ifndef OB_SIGNER_SIGNER_H
#define OB_SIGNER_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ownerbind/ob_err.h"
#include "core/buf.h"
#include "signer/config.h"
#include "signer/proto.h"

struct ob_signerd;

/* One connection's protocol state; zero it before the first message. */
struct ob_signerd_conn {
	int	greeted;
	uint8_t	version;
	char	client[OB_SP_MAX_NAME + 1];
	char	peer[64];		/* "fd", "uid 1000 pid 42": the log's */
};

/*
 * Open every key of cfg (PINs from their sources), load each issuer key's
 * CA certificate and check that it holds the key's public key and is a
 * CA.  log receives the JSON lines (stderr in the program; not closed).
 * Errors: the token's (OB_ERR_KEY_*, OB_ERR_PIN_*, OB_ERR_MODULE_LOAD,
 * ...), OB_ERR_SIGNER_CONFIG (a CA that does not fit its key),
 * OB_ERR_ALLOC.
 */
int ob_signerd_new(const struct ob_signer_config *cfg, FILE *log,
    struct ob_signerd **out) OB_WUR;
void ob_signerd_free(struct ob_signerd **sdp);

/* Tests and the fuzz harness: the clock the time checks use. */
void ob_signerd_set_clock(struct ob_signerd *sd, long long (*now)(void));

/*
 * Answer one frame body: append the reply frame to reply and set *end
 * when the connection must end after it (a message that does not parse,
 * a protocol violation: the stream cannot be trusted any more).  Returns
 * OB_OK when a reply was built (whatever it says), else the writer's
 * error (nothing sensible can be sent: end the connection).
 */
int ob_signerd_handle(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const uint8_t *body, size_t len, struct ob_wr *reply, int *end) OB_WUR;

/*
 * The same, a SIGN's "sign" or "refuse" line appended to log (when it
 * fits; else written at once) instead of written: the caller writes log
 * before it sends reply, so that no signature leaves without its line
 * on the log stream.  log NULL: ob_signerd_handle.
 */
int ob_signerd_handle_log(struct ob_signerd *sd, struct ob_signerd_conn *c,
    const uint8_t *body, size_t len, struct ob_wr *reply, struct ob_wr *log,
    int *end) OB_WUR;

/* Serve one connected stream until it ends; the fd is not closed. */
int ob_signerd_serve(struct ob_signerd *sd, int fd, const char *peer)
    OB_WUR;

/*
 * Listen on a unix socket at path (mode 0600; a stale socket there is
 * replaced, anything else is an error), accept connections from the uids
 * cfg allows (SO_PEERCRED; by default the helper's own), one thread each,
 * until SIGTERM or SIGINT.  OB_ERR_IO when the socket cannot be made.
 */
int ob_signerd_listen(struct ob_signerd *sd, const struct ob_signer_config
    *cfg, const char *path) OB_WUR;

#endif
