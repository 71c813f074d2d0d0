/*
 * libownerbind-verify: check an owner binding before issuing an agent a
 * credential.  Link with `pkg-config --libs ownerbind-verify`.  The library
 * depends on OpenSSL 3, jansson and SQLite only.
 *
 * One call, ob_verify(), checks an envelope of any issuance model through
 * one code path (docs/verifier.md lists every check in order).  It returns
 * OB_OK and a verdict, or exactly one error code from ob_err.h.  The code
 * and the detail line (ob_err_detail()) are for the server's log; a remote
 * client gets ob_err_public(code) only.
 *
 * Threading: a loaded struct ob_trust is immutable and may be shared by
 * any number of threads.  A struct ob_state serialises its own use with a
 * mutex, so one may be shared; the SQLite store is also safe across
 * processes that open the same file (every acceptance is one IMMEDIATE
 * transaction).  Verdicts belong to the caller.
 *
 * Ownership: every _new/_open/_load hands out an object the caller frees
 * with the matching _free(T **), which NULLs the pointer and accepts NULL.
 * Outputs are written only on success.
 */
#ifndef OWNERBIND_OB_VERIFY_H
#define OWNERBIND_OB_VERIFY_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ob_trust;
struct ob_state;

/*
 * Load a trust store (docs/trust-store.md).  Errors: OB_ERR_IO (cannot
 * read), OB_ERR_ENV_TOO_LARGE (over 4 MiB), OB_ERR_JSON_* (syntax,
 * duplicates), OB_ERR_TRUST_INVALID (the detail names the entry, e.g.
 * "owners[2]: keys[0]: jwk: ..."), OB_ERR_ALLOC.
 */
OB_EXPORT int ob_trust_load_file(const char *path, struct ob_trust **out)
    OB_WUR;
OB_EXPORT int ob_trust_load_buf(const void *buf, size_t len,
    struct ob_trust **out) OB_WUR;
OB_EXPORT void ob_trust_free(struct ob_trust **trustp);

/*
 * Replay state: seen jti values (per agent key, until the request's exp
 * plus the allowed skew), single-use server nonces, FIDO2 signature
 * counters.  The memory store lives as long as the object; the SQLite
 * store survives restarts and is shared safely by concurrent processes.
 * Errors: OB_ERR_STATE (cannot open/create; detail has SQLite's message),
 * OB_ERR_ALLOC.
 */
OB_EXPORT int ob_state_open_memory(struct ob_state **out) OB_WUR;
OB_EXPORT int ob_state_open_sqlite(const char *path, struct ob_state **out)
    OB_WUR;
OB_EXPORT void ob_state_free(struct ob_state **statep);

#define OB_NONCE_CHARS	32	/* base64url of 24 random bytes */

/*
 * Issue a server nonce for the server-mediated model: 24 random bytes,
 * base64url, live for ttl seconds (1..3600) from now (0 = current time).
 * When bound_jti is not NULL the nonce belongs to that request: an
 * envelope with that jti must carry it, and no other request may use it.
 * out receives OB_NONCE_CHARS characters and a NUL.  Errors:
 * OB_ERR_INVALID_ARG, OB_ERR_RANDOM, OB_ERR_STATE, OB_ERR_STATE_BUSY.
 */
OB_EXPORT int ob_state_issue_nonce(struct ob_state *state, long long now,
    long long ttl, const char *bound_jti, char out[OB_NONCE_CHARS + 1])
    OB_WUR;

/* The channel a request arrived on (MISSION: model matches channel). */
enum ob_channel {
	OB_CHANNEL_DIRECT = 1,	/* from the agent: agent- or server-mediated */
	OB_CHANNEL_GATEWAY,	/* through an owner gateway: owner-mediated */
};

struct ob_verify_opts {
	const char	*aud;		/* required: this server's URI */
	enum ob_channel	 channel;	/* 0 means OB_CHANNEL_DIRECT */
	const char	*proxy;		/* gateway channel: proxy id, required */
	long long	 now;		/* 0: time(NULL) */
	long long	 max_age;	/* iat/ob_iat age; 0: 300 s */
	long long	 skew;		/* future skew; 0: 60 s */
	long long	 max_lifetime;	/* exp - iat; 0: 3600 s */
};

/*
 * The verdict.  Strings are owned by the verdict.  up/uv are -1 and
 * counter is -1 when the owner entry is not a FIDO2 entry.  assurance is
 * "software", "hardware" (enrolled as a hardware key, no residency
 * evidence), "imported" (a PIV key imported into its card) or "attested"
 * (residency evidence verified when the trust store was loaded).
 */
struct ob_verdict {
	char		*agent;		/* payload sub */
	char		*agent_jkt;	/* RFC 7638 thumbprint of cnf.jwk */
	char		*agent_alg;
	char		*owner;		/* payload owner (the trust-store id) */
	char		*owner_kid;	/* NULL in the owner-mediated model */
	char		*owner_kind;	/* software, pkcs11, tpm2, piv, fido2 */
	char		*owner_alg;
	char		*gateway;	/* gateway id, owner-mediated only */
	char		*model;
	char		*assurance;
	char		*jti;
	char		*nonce;		/* NULL if none */
	long long	 iat;
	long long	 exp;
	int		 up;
	int		 uv;
	long long	 counter;
	/* What a credential issuer needs (docs/credentials.md). */
	char		*agent_jwk;	/* cnf.jwk, public members, RFC 7638 order */
	char		*owner_jwk;	/* trusted owner key; NULL owner-mediated */
	char		*owner_jkt;	/* its RFC 7638 thumbprint */
	char		*gateway_x5t;	/* b64url SHA-256 of the leaf DER (gateway) */
	char		*owner_type;	/* user, organization or service */
	char		*owner_group;	/* trust-store owner group or NULL */
	long long	 approved_at;	/* the owner/gateway entry's ob_iat */
	char		*envelope_sha256; /* b64url SHA-256 of the envelope bytes */
	char		*dns_name;	/* approved identity layers or NULL */
	char		*logical_id;
	char		*client_id;
};

/*
 * Verify an envelope.  state may be NULL only for a dry run that skips
 * replay, nonce and counter state (ob_verify then never returns OB_OK for
 * an envelope that carries a nonce or a FIDO2 entry, as those need state).
 * Returns OB_OK and *out, or one ob_err.h code.  Nothing is recorded in
 * state unless every check passes; then jti, nonce use and counter are
 * recorded atomically.
 */
OB_EXPORT int ob_verify(const struct ob_trust *trust, struct ob_state *state,
    const struct ob_verify_opts *opts, const void *envelope, size_t len,
    struct ob_verdict **out) OB_WUR;

/* The verdict as a compact JSON object; *out is freed with free(). */
OB_EXPORT int ob_verdict_json(const struct ob_verdict *v, char **out) OB_WUR;
OB_EXPORT void ob_verdict_free(struct ob_verdict **vp);

#ifdef __cplusplus
}
#endif

#endif /* OWNERBIND_OB_VERIFY_H */
