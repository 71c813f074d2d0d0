/*
 * Passkey enrolment through the server's page (docs/server-mediated.md,
 * "Enrolling a passkey"): one-time invites the operator makes with
 * `ownerbind-server invite`, the WebAuthn creation options for one, the
 * registration check (clientDataJSON strict JSON, the attestation object
 * decoded with libcbor), and the enrolled-keys file the server merges
 * into its trust store.
 *
 * Files in enrol.dir: invite-HEX.json (HEX: SHA-256 of the invite, so
 * the directory holds no usable invite), renamed to invite-HEX.used when
 * it enrols (the one atomic step that spends it), and enrolled.json.
 */
#ifndef OB_SERVER_ENROL_H
#define OB_SERVER_ENROL_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"
#include "ownerbind/ob_verify.h"
#include "server/config.h"

#define OB_ENROL_INVITE_CHARS	43	/* base64url of 32 random bytes */
#define OB_ENROL_CHALLENGE_LEN	32
#define OB_ENROL_FILE		"enrolled.json"

/* What a registration must match: from the invite. */
struct ob_enrol_expect {
	unsigned char	 challenge[OB_ENROL_CHALLENGE_LEN];
	const char	*rp_id;
	const char *const *origins;
	size_t		 norigins;
	int		 uv_required;
};

/* The credential a registration carries. */
struct ob_enrol_cred {
	json_t		*jwk;		/* {"crv","kty","x","y"}, owned */
	char		 kid[44];	/* its RFC 7638 thumbprint */
	char		*credential_id;	/* base64url */
	char		 aaguid[33];	/* hex */
	int		 uv;		/* the UV flag */
	int		 backup_eligible, backed_up;
	char		 origin[257];	/* the clientDataJSON origin */
};

void ob_enrol_cred_clear(struct ob_enrol_cred *c);

/*
 * Check a registration body {"clientDataJSON", "attestationObject"}
 * (base64url, nothing else) against e.  clientDataJSON is strict JSON:
 * type "webauthn.create", the challenge, an origin of e's, crossOrigin
 * absent or false, no topOrigin; the attestation object is one CBOR map
 * {fmt, attStmt, authData} with fmt "none" and an empty attStmt;
 * authData has SHA-256(rp_id), UP, UV when required, AT, BS only with
 * BE, and an ES256 P-256 COSE key.  Errors: OB_ERR_ENROL_REQUEST,
 * _TYPE, _CHALLENGE, _ORIGIN, _RPID, _FLAGS, _KEY, _ATTESTATION,
 * OB_ERR_ALLOC.  No file is read or written: the fuzz target's.
 */
int ob_enrol_verify(const struct ob_enrol_expect *e, const void *body,
    size_t len, struct ob_enrol_cred *out) OB_WUR;

/*
 * The invite named by the page's path, still unused and unexpired at
 * now: *out the invite file's object.  Errors: OB_ERR_ENROL_UNKNOWN (not
 * the form of an invite, or no such file), OB_ERR_ENROL_USED,
 * OB_ERR_ENROL_EXPIRED, OB_ERR_IO, OB_ERR_ALLOC.
 */
int ob_enrol_invite_load(const char *dir, const char *invite, long long now,
    json_t **out) OB_WUR;

/* The expectations an invite object sets (borrowing from it). */
int ob_enrol_expect_of(const json_t *inv, struct ob_enrol_expect *e,
    const char ***origins) OB_WUR;

/*
 * GET /v1/enrol/INVITE's reply: owner, may_bind, expires_at and
 * publicKey, the PublicKeyCredentialCreationOptions (base64url for the
 * binary members).
 */
int ob_enrol_options(const json_t *inv, json_t **out) OB_WUR;

/*
 * Spend the invite (rename to .used): exactly one caller succeeds; the
 * others get OB_ERR_ENROL_USED.
 */
int ob_enrol_consume(const char *dir, const char *invite) OB_WUR;

/*
 * Add the credential to enrol.dir/enrolled.json as a FIDO2 key of the
 * invite's owner (with its may_bind, rp_id, origins, uv), refusing one
 * whose kid the merged store already has (OB_ERR_ENROL_DUPLICATE) and
 * any result the verifier would not load (OB_ERR_ENROL_STORE).  One
 * writer at a time; the file is replaced atomically.
 */
int ob_enrol_store(const char *trust, const char *dir, const json_t *inv,
    const struct ob_enrol_cred *c, long long now) OB_WUR;

/*
 * The trust store at path with enrol.dir's enrolled.json merged in (dir
 * NULL or no such file: the store alone): an enrolled owner's keys and
 * patterns are added to the owner of the same id, or the owner is added.
 */
int ob_enrol_trust_load(const char *trust, const char *dir,
    struct ob_trust **out) OB_WUR;

/* `ownerbind-server invite --config FILE --owner ID --may-bind P...`. */
int ob_enrol_invite_main(int argc, char **argv);

/* The enrolment page, its script (the style is the approval page's). */
extern const char	ob_enrol_html[];
extern const char	ob_enrol_js[];

#endif
