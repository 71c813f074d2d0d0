/*
 * The ownerbind envelope: JWS JSON General Serialization (RFC 7515 7.2.1)
 * with an embedded payload, specified in docs/envelope.md.  This is the one
 * place that turns envelope bytes into structure and back; the owner tools
 * and the verifier both go through it.
 */
#ifndef OB_CORE_ENVELOPE_H
#define OB_CORE_ENVELOPE_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"

/* docs/envelope.md, "Limits". */
#define OB_MAX_ENVELOPE		65536	/* serialized envelope, bytes */
#define OB_MAX_PAYLOAD		16384	/* decoded payload */
#define OB_MAX_PROTECTED	24576	/* decoded protected header */
#define OB_MAX_SIGNATURE	1024	/* decoded signature */
#define OB_MAX_ENTRIES		8
#define OB_MAX_X5C		5	/* certificates in x5c */
#define OB_MAX_CERT		6144	/* DER bytes per certificate */
#define OB_MAX_AUTHDATA		512	/* decoded authenticatorData */
#define OB_MAX_CLIENTDATA	1024	/* decoded clientDataJSON */
#define OB_MAX_CSR		8192	/* decoded PKCS#10 request */
#define OB_MAX_RENEW_WINDOW	(30LL * 86400) /* renew_until - iat */
#define OB_MAX_PROXY_ID		128	/* ob_proxy, as the Ownerbind-Proxy header */

#define OB_TYP			"ownerbind+jws"

enum ob_role {
	OB_ROLE_AGENT = 1,
	OB_ROLE_OWNER,
	OB_ROLE_GATEWAY,
};

enum ob_model {
	OB_MODEL_AGENT_MEDIATED = 1,
	OB_MODEL_OWNER_MEDIATED,
	OB_MODEL_SERVER_MEDIATED,
};

/* The payload claims, decoded and checked for form (not for freshness). */
struct ob_claims {
	const char	*sub;
	const char	*aud;
	const char	*jti;
	const char	*owner;
	long long	 iat;
	long long	 exp;
	const json_t	*cnf_jwk;
	EVP_PKEY	*agent_key;	/* owned by the envelope */
	char		 jkt[44];	/* RFC 7638 thumbprint of cnf.jwk */
	const char	*dns_name;	/* optional layers, NULL if absent */
	const char	*logical_id;
	const char	*client_id;
	int		 has_csr;
	int		 has_evidence;
	long long	 renew_until;	/* the approval window's end, 0: none */
	const char	*renews;	/* a renewal: the approval's jti */
};

/* One signatures[] entry; pointers stay valid while the envelope lives. */
struct ob_entry {
	char		*protected_b64;
	json_t		*protected;
	json_t		*header;	/* unprotected header, NULL if none */
	unsigned char	*sig;
	size_t		 siglen;
	enum ob_alg	 alg;
	enum ob_role	 role;
	enum ob_model	 model;
	const char	*kid;
	const char	*nonce;		/* NULL if absent */
	long long	 sat;		/* ob_iat: signing time */
	const json_t	*x5c;		/* NULL if absent */
	const char	*proxy;		/* ob_proxy (gateway), NULL if absent */
	unsigned char	*authdata;	/* FIDO2 entries only */
	size_t		 authdata_len;
	unsigned char	*clientdata;
	size_t		 clientdata_len;
};

struct ob_envelope {
	char		*payload_b64;
	unsigned char	*payload;
	size_t		 payload_len;
	json_t		*payload_json;
	struct ob_claims claims;
	struct ob_entry	 entries[OB_MAX_ENTRIES];
	size_t		 n;
};

#define OB_PARSE_ALLOW_UNSIGNED	0x01	/* a request not yet signed */

/*
 * Parse and check the form of an envelope: syntax, sizes, members, base64url,
 * every header parameter and every claim.  Signatures are not verified
 * here.  On success *out is a new envelope (ob_envelope_free).
 */
int ob_envelope_parse(const void *buf, size_t len, unsigned int flags,
    struct ob_envelope **out) OB_WUR;

/*
 * A new unsigned envelope around claims (which are checked as in parse;
 * the reference is not taken).  Serialisation of the payload is compact in
 * the claims' member order.
 */
int ob_envelope_new(const json_t *claims, struct ob_envelope **out) OB_WUR;

void ob_envelope_free(struct ob_envelope **envp);

/*
 * The JWS signing input for a protected header in base64url form:
 * protected_b64 "." payload_b64.  *out is NUL-terminated, freed by caller.
 */
int ob_envelope_signing_input(const struct ob_envelope *env,
    const char *protected_b64, char **out, size_t *outlen) OB_WUR;

/*
 * Serialise a protected header object to its base64url form (compact JSON,
 * member order kept).  *out freed by the caller.
 */
int ob_protected_encode(const json_t *protected, char **out) OB_WUR;

/*
 * Build a protected header in the canonical member order.  nonce and x5c
 * may be NULL.  New reference in *out.
 */
int ob_protected_new(enum ob_alg alg, const char *kid, enum ob_role role,
    enum ob_model model, long long sat, const char *nonce, const json_t *x5c,
    json_t **out) OB_WUR;

/*
 * Append an entry.  protected_b64 is the encoded header that was signed;
 * header may be NULL.  The entry is checked exactly as parse checks it;
 * nothing is appended on failure.  No reference or buffer is taken.
 */
int ob_envelope_append(struct ob_envelope *env, const char *protected_b64,
    const json_t *header, const unsigned char *sig, size_t siglen) OB_WUR;

/* Compact serialisation; *out is NUL-terminated and freed by the caller. */
int ob_envelope_serialize(const struct ob_envelope *env, char **out,
    size_t *outlen) OB_WUR;

/* The payload claims' form check, shared by parse and new. */
int ob_claims_check(const json_t *claims, struct ob_claims *out) OB_WUR;
void ob_claims_clear(struct ob_claims *c);

/* The trust domain of a wimse:// or spiffe:// identifier into buf. */
int ob_sub_trust_domain(const char *sub, char *buf, size_t bufsz) OB_WUR;

const char *ob_role_name(enum ob_role role);
const char *ob_model_name(enum ob_model model);
int ob_role_from_name(const char *name, enum ob_role *out) OB_WUR;
int ob_model_from_name(const char *name, enum ob_model *out) OB_WUR;

#endif
