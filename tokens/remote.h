/*
 * The daemons' side of ownerbind-signer (docs/signer-protocol.md): one
 * connection to the helper, kept alive by a supervisor, and the token
 * backend "signer:NAME" that signs through it, so that code signing with
 * tokens/token.h (server/issuer.c) does not know where the key is.
 *
 * A daemon either has the helper started for it (program + config: a
 * launcher process forked at ob_signer_open, before the daemon sandboxes
 * itself, runs `ownerbind-signer --config FILE --fd 3` on a new
 * socketpair at start and after every failure) or connects to a running
 * one (socket).  One request at a time, each with a deadline; a helper
 * that dies, hangs or answers nonsense fails the request in flight with
 * OB_ERR_SIGNER_UNAVAILABLE and is restarted by the supervisor thread with
 * exponential backoff.  Until it is back every request fails at once with
 * OB_ERR_SIGNER_UNAVAILABLE.
 *
 * Threads: ob_signer_open forks; call it before the process has other
 * threads.  ob_signer_start starts the supervisor thread (after the
 * sandbox is in place).  The rest may be called from any thread.
 *
 * Ownership: ob_signer_free stops the supervisor, closes the connection
 * and ends the launcher and its helper; NULLs the pointer.  Tokens opened
 * through it must be closed first.
 */
#ifndef OB_TOKENS_REMOTE_H
#define OB_TOKENS_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "ownerbind/ob_err.h"
#include "signer/proto.h"

struct ob_signer;

enum ob_signer_state {
	OB_SIGNER_READY,	/* connected, greeted, keys checked */
	OB_SIGNER_RESTARTING,	/* failed: a restart is due or under way */
	OB_SIGNER_DOWN,		/* three restarts in a row failed */
};

typedef void (*ob_signer_log_fn)(void *arg, const char *level,
    const char *event, int code, const char *detail);

/* Zero means the default (in brackets). */
struct ob_signer_cfg {
	const char	*program;	/* ownerbind-signer to start, or NULL */
	const char	*config;	/* its --config (with program) */
	const char	*socket;	/* or: a running helper's socket */
	const char	*client;	/* the name in HELLO ["ownerbind"] */
	int		 timeout_ms;	/* per request [5000] */
	int		 backoff_min_ms; /* first restart delay [100] */
	int		 backoff_max_ms; /* longest [10000] */
	ob_signer_log_fn log;		/* or NULL: no log */
	void		*log_arg;
};

/* What the helper says about one of its keys (PUBKEY). */
struct ob_signer_key {
	char		 alg[OB_SP_MAX_ATOM + 1];
	char		 kind[OB_SP_MAX_ATOM + 1];
	char		 kid[OB_SP_KID_LEN + 1];
	unsigned	 purposes;		/* OB_SP_BIT()s */
	unsigned char	 spki[OB_SP_MAX_SPKI];	/* DER */
	size_t		 spkilen;
};

/*
 * Start (program) or connect to (socket) the helper and greet it; the
 * first helper must answer, or this fails with its error
 * (OB_ERR_SIGNER_UNAVAILABLE with a detail, OB_ERR_SIGNER_VERSION,
 * OB_ERR_SIGNER_PEER for a socket owned by another user), so that a
 * daemon with a broken helper configuration does not start.  Also
 * OB_ERR_SIGNER_CONFIG (neither or both of program and socket, a program
 * that is not executable), OB_ERR_ALLOC.
 */
int ob_signer_open(const struct ob_signer_cfg *cfg, struct ob_signer **out)
    OB_WUR;
int ob_signer_start(struct ob_signer *s) OB_WUR;
void ob_signer_free(struct ob_signer **sp);

/* The state, the helper's pid (0 if unknown: a socket) and restarts. */
enum ob_signer_state ob_signer_state(struct ob_signer *s, long *pid,
    unsigned *restarts);
const char *ob_signer_state_name(enum ob_signer_state st);
/* Seconds a client should wait before retrying (>= 1). */
int ob_signer_retry_after(struct ob_signer *s);

/*
 * PUBKEY and SIGN.  A refusal by the helper returns its status (with its
 * detail); a helper that failed OB_ERR_SIGNER_UNAVAILABLE.  A key asked
 * for once is asked for again after every restart, and a helper whose key
 * changed is not used (OB_ERR_KEY_MISMATCH in the log, the state stays
 * restarting).  *sig is freed with free().
 */
int ob_signer_pubkey(struct ob_signer *s, const char *key,
    struct ob_signer_key *out) OB_WUR;
int ob_signer_sign(struct ob_signer *s, const char *key,
    enum ob_sp_purpose purpose, const char *for_whom, const uint8_t *in,
    size_t len, unsigned char **sig, size_t *siglen) OB_WUR;

/* One input of ob_signer_sign_all and, once signed, its signature. */
struct ob_signer_job {
	enum ob_sp_purpose	 purpose;
	const uint8_t		*in;
	size_t			 len;
	unsigned char		*sig;		/* out: free() */
	size_t			 siglen;
};

#define OB_SIGNER_JOBS_MAX	4

/*
 * n SIGNs (1..OB_SIGNER_JOBS_MAX) with one key, all in flight at once on
 * the helper's connection: one wait for all of them (a credential's WIT
 * and WIC).  "for" is this thread's context with sub and owner, as the
 * "signer:" backend logs it.  All or nothing: on failure no job holds a
 * signature, and the code is the first failure's, as ob_signer_sign's.
 */
int ob_signer_sign_all(struct ob_signer *s, const char *key,
    const char *sub, const char *owner, struct ob_signer_job *jobs,
    size_t n) OB_WUR;

/*
 * The "for whom" this thread's next signatures are made for (a request
 * id and peer), logged by the helper; NULL clears it.  Copied.
 */
void ob_signer_set_context(const char *ctx);

#endif
