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

/*
 * Options and verdicts are opaque, so that a field can be added without
 * breaking a program built against an earlier version (the ABI test in
 * tests/integration/test_abi.sh builds a consumer once, then runs it
 * against a library whose structures have grown).
 *
 * Options: ob_verify_opts_new gives defaults (direct channel, now = the
 * clock, max_age 300 s, skew 60 s, max_lifetime 3600 s); aud is required.
 * Setters copy strings and return OB_ERR_INVALID_ARG for a value out of
 * range (negative times, an unknown channel, a gateway channel without a
 * proxy id), leaving the option as it was.  One options object may be used
 * by any number of threads once set up.
 */
struct ob_verify_opts;

OB_EXPORT int ob_verify_opts_new(struct ob_verify_opts **out) OB_WUR;
OB_EXPORT void ob_verify_opts_free(struct ob_verify_opts **optsp);
/* Required: this server's URI, which the request's aud must name. */
OB_EXPORT int ob_verify_opts_set_aud(struct ob_verify_opts *o,
    const char *aud) OB_WUR;
/* The channel the request came on; proxy: the proxy id a gateway serves,
 * required for OB_CHANNEL_GATEWAY, NULL for OB_CHANNEL_DIRECT. */
OB_EXPORT int ob_verify_opts_set_channel(struct ob_verify_opts *o,
    enum ob_channel channel, const char *proxy) OB_WUR;
/* Unix time to verify at; 0: the clock at each ob_verify call. */
OB_EXPORT int ob_verify_opts_set_now(struct ob_verify_opts *o, long long now)
    OB_WUR;
/* Oldest iat/ob_iat accepted, in seconds (1..86400; 0: 300). */
OB_EXPORT int ob_verify_opts_set_max_age(struct ob_verify_opts *o,
    long long seconds) OB_WUR;
/* Future clock skew tolerated (0..3600; 0: 60). */
OB_EXPORT int ob_verify_opts_set_skew(struct ob_verify_opts *o,
    long long seconds) OB_WUR;
/* Longest exp - iat accepted (1..2592000; 0: 3600). */
OB_EXPORT int ob_verify_opts_set_max_lifetime(struct ob_verify_opts *o,
    long long seconds) OB_WUR;

/*
 * The verdict, read through getters.  Strings belong to the verdict and
 * live until ob_verdict_free; a getter returns NULL for a member the
 * verdict does not have (owner_kid in the owner-mediated model, nonce when
 * there is none, ...).  up/uv/counter are -1 when the owner entry is not a
 * FIDO2 entry.  assurance is "software", "hardware" (enrolled as a
 * hardware key, no residency evidence), "imported" (a PIV key imported
 * into its card) or "attested" (residency evidence verified when the trust
 * store was loaded).  docs/verifier.md describes every member;
 * ob_verdict_json gives them all at once.
 */
struct ob_verdict;

OB_EXPORT const char *ob_verdict_agent(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_agent_jkt(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_agent_alg(const struct ob_verdict *v);
/* cnf.jwk, public members in RFC 7638 order */
OB_EXPORT const char *ob_verdict_agent_jwk(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_owner(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_owner_kid(const struct ob_verdict *v);
/* software, pkcs11, tpm2, piv, fido2 */
OB_EXPORT const char *ob_verdict_owner_kind(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_owner_alg(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_owner_jwk(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_owner_jkt(const struct ob_verdict *v);
/* user, organization or service */
OB_EXPORT const char *ob_verdict_owner_type(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_owner_group(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_gateway(const struct ob_verdict *v);
/* base64url SHA-256 of the gateway leaf certificate's DER */
OB_EXPORT const char *ob_verdict_gateway_x5t(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_model(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_assurance(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_jti(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_nonce(const struct ob_verdict *v);
/* base64url SHA-256 of the envelope bytes */
OB_EXPORT const char *ob_verdict_envelope_sha256(const struct ob_verdict *v);
/* identity layers the owner approved */
OB_EXPORT const char *ob_verdict_dns_name(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_logical_id(const struct ob_verdict *v);
OB_EXPORT const char *ob_verdict_client_id(const struct ob_verdict *v);
OB_EXPORT long long ob_verdict_iat(const struct ob_verdict *v);
OB_EXPORT long long ob_verdict_exp(const struct ob_verdict *v);
/* the owner or gateway entry's ob_iat */
OB_EXPORT long long ob_verdict_approved_at(const struct ob_verdict *v);
OB_EXPORT long long ob_verdict_counter(const struct ob_verdict *v);
OB_EXPORT int ob_verdict_up(const struct ob_verdict *v);
OB_EXPORT int ob_verdict_uv(const struct ob_verdict *v);
/* The approval window's end (renew_until), 0 when none was granted. */
OB_EXPORT long long ob_verdict_renew_until(const struct ob_verdict *v);
/* A renewal's verdict: the jti of the approval it renews; else NULL. */
OB_EXPORT const char *ob_verdict_renewal_of(const struct ob_verdict *v);

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

/*
 * Approval windows and renewals (docs/envelope.md 3.1, docs/verifier.md
 * "Renewals").  An issuer that accepted an envelope with renew_until
 * (ob_verdict_renew_until != 0) keeps its record with
 * ob_state_record_approval, in the state store it verifies with, until
 * renew_until; opts is the one ob_verify ran with (aud, now).  Errors:
 * OB_ERR_INVALID_ARG (no window, not an approval), OB_ERR_APPROVAL_WINDOW
 * (closed already), the store's (OB_ERR_STATE, OB_ERR_STATE_*).
 *
 * ob_verify_renewal verifies a renewal (an agent-only envelope with
 * renews; ob_verify refuses those) against the record of the approval it
 * names, which it looks up in state itself (under the agent key's
 * thumbprint and the renews jti): the agent's signature with cnf, the
 * same sub, owner, aud and model as the approval, now < renew_until and
 * exp <= renew_until, the owner's key (or the gateway) still trusted and
 * not revoked in trust, may_bind still covering sub; then the renewal's
 * jti is recorded in state like any envelope's.  The verdict carries the
 * approval's owner members, approved_at and envelope_sha256, the
 * renewal's jti, iat and exp, and renewal_of.  The direct channel only.
 * Errors: OB_ERR_RENEWAL_SHAPE, OB_ERR_RENEWAL_UNKNOWN,
 * OB_ERR_RENEWAL_MISMATCH, OB_ERR_APPROVAL_WINDOW, OB_ERR_APPROVAL_RECORD,
 * and ob_verify's (OB_ERR_REPLAY, OB_ERR_OWNER_KEY_REVOKED, ...).
 */
OB_EXPORT int ob_state_record_approval(struct ob_state *state,
    const struct ob_verify_opts *opts, const struct ob_verdict *v) OB_WUR;
OB_EXPORT int ob_verify_renewal(const struct ob_trust *trust,
    struct ob_state *state, const struct ob_verify_opts *opts,
    const void *envelope, size_t len, struct ob_verdict **out) OB_WUR;

/* The verdict as a compact JSON object; *out is freed with free(). */
OB_EXPORT int ob_verdict_json(const struct ob_verdict *v, char **out) OB_WUR;
OB_EXPORT void ob_verdict_free(struct ob_verdict **vp);

#ifdef __cplusplus
}
#endif

#endif /* OWNERBIND_OB_VERIFY_H */
