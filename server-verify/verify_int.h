/*
 * server-verify/verify_int.h: the full options and verdict structures,
 * for the library and the project's own programs only (the installed
 * ob_verify.h keeps them opaque; libfido2's _FIDO_INTERNAL split).
 *
 * Our programs may fill struct ob_verify_opts on the stack (strings are
 * then borrowed: the own_* members stay NULL) and read verdict members
 * directly; they are rebuilt with the library.  External programs use the
 * constructor, setters and getters.
 *
 * OB_ABI_PAD, set only by the ABI test's second build of the library,
 * puts bytes in front of every member, the way a new member would move
 * them: a consumer built against the unpadded library must not notice.
 */
#ifndef OB_SERVER_VERIFY_VERIFY_INT_H
#define OB_SERVER_VERIFY_VERIFY_INT_H

#include <jansson.h>

#include "ownerbind/ob_verify.h"
#include "server-verify/state.h"

#ifdef OB_ABI_PAD
#define OB_ABI_PAD_FIELD	unsigned char abi_pad[OB_ABI_PAD];
#else
#define OB_ABI_PAD_FIELD

#endif

struct ob_verify_opts {
	OB_ABI_PAD_FIELD
	const char	*aud;		/* required: this server's URI */
	enum ob_channel	 channel;	/* 0 means OB_CHANNEL_DIRECT */
	const char	*proxy;		/* gateway channel: proxy id, required */
	long long	 now;		/* 0: time(NULL) */
	long long	 max_age;	/* iat/ob_iat age; 0: 300 s */
	long long	 skew;		/* future skew; 0: 60 s */
	long long	 max_lifetime;	/* exp - iat; 0: 3600 s */
	char		*own_aud;	/* copies made by the setters */
	char		*own_proxy;
	/*
	 * Set only by the identity server for an envelope it assembled
	 * itself from a request it held (server/challenge.c): the agent
	 * entry was signed before the nonce existed, so only the owner
	 * entry carries it.  Never set for an envelope from the network.
	 */
	int		 server_held;
};

struct ob_verdict {
	OB_ABI_PAD_FIELD
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
	long long	 renew_until;	/* the approval window's end, 0: none */
	char		*renewal_of;	/* a renewal: the approval's jti */
	char		*renewal_sha256; /* a renewal: its own envelope's hash
					  * (envelope_sha256 is the approval's) */
};

/*
 * An approval record read back (approval_rec.c): pointers into root,
 * which ob_approval_rec_clear releases.  Exactly one of owner_kid and
 * gateway is set.
 */
struct ob_approval_rec {
	json_t		*root;
	const char	*sub, *aud, *owner, *jkt, *model, *jti;
	const char	*envelope_sha256, *owner_kid, *owner_kind, *owner_alg;
	const char	*owner_jwk, *owner_jkt, *owner_type, *owner_group;
	const char	*assurance, *gateway, *gateway_x5t;
	const char	*dns_name, *logical_id, *client_id;
	long long	 renew_until;
	long long	 approved_at;
};

int ob_approval_key(const char *jkt, const char *jti, char **out) OB_WUR;
/* OB_ERR_APPROVAL_RECORD for anything this library did not write. */
int ob_approval_rec_parse(const char *text, struct ob_approval_rec *out)
    OB_WUR;
void ob_approval_rec_clear(struct ob_approval_rec *a);

struct ob_envelope;

/*
 * The gateway's check of what a proxy sends it (docs/gateway.md): an
 * owner-mediated envelope holding only the agent's entry, whose claims
 * (audience, times, lifetime) and proof of possession verify as ob_verify
 * checks them.  Nothing is recorded (the identity server spends the jti).
 * *out is the parsed envelope, for the gateway's entry to be appended.
 */
int ob_verify_agent_request(const struct ob_verify_opts *opts,
    const void *buf, size_t len, struct ob_envelope **out) OB_WUR;

/*
 * The start of a server-held request (docs/server-mediated.md): exactly
 * one agent entry, server-mediated, without ob_nonce; claims, channel and
 * the agent's proof of possession checked as ob_verify checks them, the
 * owner known, not revoked and allowed to bind the agent.  Nothing is
 * committed to replay state (the jti is spent when the owner's answer
 * completes the envelope).  The verdict has agent, agent_jkt, owner, jti,
 * model, iat, exp and envelope_sha256.  Errors: OB_ERR_CHAL_SHAPE and
 * ob_verify's.
 */
int ob_verify_held_start(const struct ob_trust *trust,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out) OB_WUR;

/*
 * What ob_verify would commit to replay state, kept for a later group
 * commit (ob_state_batch_commit; the server's pipeline, decision 123).
 * rp's strings point into the struct; ob_replay_held_clear frees them.
 */
struct ob_replay_held {
	struct ob_replay	 rp;
	long long		 now;		/* the verification's time */
	char			 key[44 + 1 + 64 + 1];
	char			 jti[64 + 1];
	char			*nonce;
	char			*counter_key;
};

/*
 * ob_verify with the replay commit left to the caller: every check of
 * ob_verify but the state's, which *held describes.  The verdict must not
 * be acted on before *held is committed (ob_state_batch_commit) and its
 * result is OB_OK.  Nonces and FIDO2 counters are checked at that commit,
 * as ob_verify checks them at its own.  On failure *held is cleared.
 */
int ob_verify_defer(const struct ob_trust *trust,
    const struct ob_verify_opts *opts, const void *buf, size_t len,
    struct ob_verdict **out, struct ob_replay_held *held) OB_WUR;
void ob_replay_held_clear(struct ob_replay_held *held);

/*
 * ob_verify_renewal with its jti's commit left to the caller, as
 * ob_verify_defer (the approval record is still read from state): the
 * server takes the owner's and agent's buckets in between (decision 174)
 * and commits with ob_state_commit.
 */
int ob_verify_renewal_defer(const struct ob_trust *trust,
    struct ob_state *state, const struct ob_verify_opts *opts,
    const void *buf, size_t len, struct ob_verdict **out,
    struct ob_replay_held *held) OB_WUR;

#endif
