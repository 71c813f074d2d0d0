/*
 * The credential issuer: turns a verdict of ob_verify() into the agent's
 * dual-identity credential, a WIT (JWS compact, draft-ietf-wimse-workload-
 * creds) and a WIC (X.509, SPIFFE X509-SVID compatible), both for the
 * agent's key and both carrying one owner binding.  docs/credentials.md
 * specifies every header, claim, extension and byte.
 *
 * The issuer key is any tokens/ key URI (file:, pkcs11:, tpm2:, ...); in
 * ownerbind-server always signer:NAME, a key of ownerbind-signer.  It is
 * used only through ob_token_sign(), for WIT signing inputs and WIC
 * TBSCertificate DER, never as a private EVP_PKEY here.  Every fresh
 * signature is verified with the key's public key (which must be the
 * configured issuer certificate's) before anything is handed out: by the
 * token layer, or for a signer: key by the helper that holds it.
 *
 * Threading: an open issuer may be shared; signing is serialised by the
 * issuer's own mutex (token backends are not all reentrant).
 *
 * Ownership: _open/_issue/_jwks hand out objects the caller frees (the
 * matching _free(T **) NULLs the pointer; json_decref for the JWKS).
 * Outputs are written only on success.
 */
#ifndef OB_SERVER_ISSUER_H
#define OB_SERVER_ISSUER_H

#include <jansson.h>

#include "ownerbind/ob_err.h"
#include "server-verify/verify_int.h"

struct ob_pin_source;
struct ob_signer;
struct ob_issuer;

#define OB_CRED_DEF_LIFETIME	3600		/* seconds */
#define OB_ISSUER_MAX_PUBLISH	4	/* other CAs the JWKS also serves */
#define OB_CRED_MAX_LIFETIME	(24 * 3600)

/* The WIT claim that carries the owner binding (docs/decisions.md). */
#define OB_WIT_OWNER_CLAIM	"urn:uuid:b880ac85-4c39-4d7c-9849-4aea4cbc60e5"

struct ob_issuer_cfg {
	const char			*key_uri;	/* any tokens/ URI */
	const struct ob_pin_source	*pin;		/* may be NULL */
	struct ob_signer		*signer;	/* signer: URIs */
	const char			*chain_pem;	/* PEM: the issuer CA
							 * certificate (for
							 * key_uri's key), then
							 * its chain */
	const char			*iss;		/* WIT iss (a URI) */
	const char			*owner_oid;	/* NULL: the default
							 * carrier, subject-
							 * DirectoryAttributes */
	long long			 lifetime;	/* 0: 3600 s; at most
							 * 86400 */
	int				 subject_ou;	/* the owner's group,
							 * if any, as the WIC
							 * Subject OU */
};

/*
 * Open the issuer key, load the chain, check that the first certificate
 * holds the key's public key and is a CA that may sign certificates.
 * Errors: OB_ERR_ISSUER_CONFIG, OB_ERR_ISSUER_CHAIN, OB_ERR_ISSUER_KEY,
 * the token's errors (OB_ERR_KEY_*, OB_ERR_PIN_*, ...), OB_ERR_ALLOC.
 */
int ob_issuer_open(const struct ob_issuer_cfg *cfg, struct ob_issuer **out)
    OB_WUR;
void ob_issuer_free(struct ob_issuer **issp);

struct ob_credential {
	char		*wit;		/* JWS compact */
	char		*wic_pem;	/* the WIC, then the chain, PEM */
	long long	 expires_at;	/* WIT exp = WIC notAfter */
	json_t		*owner;		/* the owner claim object */
	char		*jti;		/* WIT jti */
};

/*
 * Issue a credential for an accepted verdict at time now (0: time(NULL)),
 * valid for lifetime seconds (0: the configured lifetime).  Errors:
 * OB_ERR_VERDICT_INCOMPLETE (a member the credential needs is missing or
 * inconsistent), OB_ERR_ISSUER_VALIDITY, OB_ERR_ISSUER_SIG (a fresh
 * signature did not verify with the issuer certificate's key),
 * OB_ERR_TOKEN_SIG_BAD, OB_ERR_CRED_BUILD, OB_ERR_INVALID_ARG,
 * OB_ERR_RANDOM, OB_ERR_ALLOC; nothing is issued on failure.
 */
int ob_issuer_issue(struct ob_issuer *iss, const struct ob_verdict *v,
    long long now, long long lifetime, struct ob_credential **out) OB_WUR;
void ob_credential_free(struct ob_credential **credp);

/*
 * The WIT verification keys as a JWKS: {"keys":[{kty, crv, x, y, kid, alg,
 * "use":"sig", x5c:[the chain, base64 DER]}, ...]}, the issuer's first,
 * then those of the npublish PEM chains of other issuer CAs (decision
 * 159: key rotation), which are only served, never signed with.  Each
 * published chain is checked as the issuer's (its first certificate a CA
 * that may sign certificates, with a key of a kind the issuer signs
 * with) and must hold another key than the issuer's and than every other
 * published chain: OB_ERR_ISSUER_CONFIG, OB_ERR_ISSUER_CHAIN, naming
 * "publish[i]".  *out is a new reference.
 */
int ob_issuer_jwks(const struct ob_issuer *iss, const char *const *publish_pem,
    size_t npublish, json_t **out) OB_WUR;

#endif
