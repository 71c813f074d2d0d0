/*
 * libownerbind-verify, relying side: check the credential an agent
 * presents to a service (docs/relying-party.md), and learn who it is and
 * whose it is.
 *
 * An agent proves its identity one of two ways (draft-ietf-wimse-
 * workload-creds): at the application layer with its WIT and a fresh
 * Workload Proof Token (draft-ietf-wimse-wpt) in the HTTP headers
 * Workload-Identity-Token and Workload-Proof-Token, or at the transport
 * layer with its WIC as the TLS client certificate.  Either way the
 * result names the agent, its identity layers and the owner binding
 * (owner id, type, kind, assurance, model, gateway) an ownerbind issuer
 * put in the credential, for the service's authorization.
 *
 * Issuer keys are configured (a JWKS, or the issuer CA certificates),
 * never fetched from a token.  ob_rp_verify_wit and ob_rp_verify_wic
 * return OB_OK and a result, or one ob_err.h code (OB_ERR_JWT_*,
 * OB_ERR_WIT_*, OB_ERR_WPT_*, OB_ERR_WIC_*) with a detail line for the
 * log; a remote client gets ob_err_public(code) only.
 *
 * Threading: a struct ob_rp, once configured, is immutable and may be
 * shared by any number of threads, as may a struct ob_rp_req; results
 * belong to the caller.  Ownership and outputs as in ob_verify.h.
 */
#ifndef OWNERBIND_OB_RP_H
#define OWNERBIND_OB_RP_H

#include <stddef.h>

#include "ownerbind/ob_err.h"
#include "ownerbind/ob_verify.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ob_rp;
struct ob_rp_req;
struct ob_rp_result;

#define OB_RP_MAX_KEYS		16	/* issuer keys, JWKS and CAs together */
#define OB_RP_MAX_WIT		16384	/* characters of a WIT */
#define OB_RP_MAX_WPT		8192	/* characters of a WPT */
#define OB_RP_MAX_CERTS		8	/* certificates in a presented chain */

/* What a WIC must be for: a TLS client (the default) or a TLS server. */
enum ob_rp_purpose {
	OB_RP_PURPOSE_CLIENT = 1,
	OB_RP_PURPOSE_SERVER,
};

/*
 * Configuration.  ob_rp_new gives the defaults: no keys, any iss, now =
 * the clock, skew 60 s, WPT lifetime at most 300 s, the owner binding in
 * subjectDirectoryAttributes (2.5.29.9), WICs for TLS clients.
 *
 * ob_rp_add_issuer_jwks: every key of a JWKS ({"keys":[...]}, the
 * identity server's GET /v1/keys or issuer-jwks.json) may sign WITs; a
 * key's kid is its "kid" or else its RFC 7638 thumbprint, its alg its
 * "alg" or else the one its type implies.  x5c, x5t and x5t#S256 members
 * are ignored.  ob_rp_add_issuer_ca: PEM certificates; each is a trust
 * anchor for WICs, and its key (kid: the thumbprint) signs WITs while the
 * certificate is valid.  A kid names one key: the same key again (the
 * JWKS and the CA both configured) is kept once, another key under a
 * configured kid is refused.  Errors: OB_ERR_RP_CONFIG (the detail names
 * the key or certificate), OB_ERR_IO, OB_ERR_ALLOC; nothing is added on
 * failure.
 */
OB_EXPORT int ob_rp_new(struct ob_rp **out) OB_WUR;
OB_EXPORT void ob_rp_free(struct ob_rp **rpp);
OB_EXPORT int ob_rp_add_issuer_jwks(struct ob_rp *rp, const void *buf,
    size_t len) OB_WUR;
OB_EXPORT int ob_rp_add_issuer_jwks_file(struct ob_rp *rp, const char *path)
    OB_WUR;
OB_EXPORT int ob_rp_add_issuer_ca(struct ob_rp *rp, const void *pem,
    size_t len) OB_WUR;
OB_EXPORT int ob_rp_add_issuer_ca_file(struct ob_rp *rp, const char *path)
    OB_WUR;
/* The WIT iss this service accepts (NULL: any; keys decide). */
OB_EXPORT int ob_rp_set_iss(struct ob_rp *rp, const char *iss) OB_WUR;
/* Unix time to verify at; 0: the clock at each call. */
OB_EXPORT int ob_rp_set_now(struct ob_rp *rp, long long now) OB_WUR;
/* Clock skew tolerated on every time, 0..600 s (0: 60). */
OB_EXPORT int ob_rp_set_skew(struct ob_rp *rp, long long seconds) OB_WUR;
/* Longest WPT lifetime accepted (exp - now, and exp - iat), 1..3600 s
 * (0: 300). */
OB_EXPORT int ob_rp_set_wpt_max_ttl(struct ob_rp *rp, long long seconds)
    OB_WUR;
/* The owner binding's extension OID, dotted (NULL: 2.5.29.9). */
OB_EXPORT int ob_rp_set_owner_oid(struct ob_rp *rp, const char *oid) OB_WUR;
OB_EXPORT int ob_rp_set_wic_purpose(struct ob_rp *rp,
    enum ob_rp_purpose purpose) OB_WUR;

/*
 * The request a WPT must be made for.  aud is required: the target URI
 * this service expects (its configured origin and the path, without
 * query or fragment; never the request's Host header).  The tokens the
 * request carries beside the WIT, if any: the OAuth access token (the WPT
 * must then carry ath), the Txn-Token (tth), and other header fields
 * that convey identity or authorization context (oth, under the header
 * name in lower case; at most 8).  Only SHA-256 hashes of the tokens are
 * kept.  A WPT whose oth names a header not added here is refused
 * (OB_ERR_WPT_OTH).  Errors: OB_ERR_INVALID_ARG, OB_ERR_ALLOC.
 */
OB_EXPORT int ob_rp_req_new(struct ob_rp_req **out) OB_WUR;
OB_EXPORT void ob_rp_req_free(struct ob_rp_req **reqp);
OB_EXPORT int ob_rp_req_set_aud(struct ob_rp_req *req, const char *aud)
    OB_WUR;
OB_EXPORT int ob_rp_req_set_access_token(struct ob_rp_req *req,
    const char *token) OB_WUR;
OB_EXPORT int ob_rp_req_set_txn_token(struct ob_rp_req *req,
    const char *token) OB_WUR;
OB_EXPORT int ob_rp_req_add_other_token(struct ob_rp_req *req,
    const char *header, const char *value) OB_WUR;

/*
 * Verify a WIT, then its WPT, both as sent (the header values, NUL-
 * terminated), for req.  The WPT's jti is recorded in state (per agent
 * key, until its exp plus the skew) only once every check has passed;
 * state NULL skips replay detection (tests, dry runs).  Errors, in the
 * order of the checks (docs/relying-party.md): OB_ERR_JWT_FORM,
 * OB_ERR_JWT_TYP, OB_ERR_WIT_ALG, OB_ERR_WIT_ISSUER, OB_ERR_WIT_CLAIMS,
 * OB_ERR_WIT_EXPIRED, OB_ERR_WPT_ALG, OB_ERR_WPT_CLAIMS, OB_ERR_WPT_AUD,
 * OB_ERR_WPT_EXPIRED, OB_ERR_WPT_WTH, OB_ERR_WPT_OTH,
 * OB_ERR_WPT_TOKEN_HASH, OB_ERR_WPT_SIG, OB_ERR_WPT_REPLAY; OB_ERR_STATE,
 * OB_ERR_STATE_BUSY (the store); OB_ERR_INVALID_ARG, OB_ERR_ALLOC.
 */
OB_EXPORT int ob_rp_verify_wit(const struct ob_rp *rp, struct ob_state *state,
    const struct ob_rp_req *req, const char *wit, const char *wpt,
    struct ob_rp_result **out) OB_WUR;

/*
 * Verify a WIC as presented in a TLS handshake: PEM text of one or more
 * certificates, or DER certificates one after the other, the WIC first
 * and then any intermediates (at most OB_RP_MAX_CERTS).  The TLS layer
 * has proved possession of its key; this checks the chain to a
 * configured CA at the time, the X509-SVID rules and the owner binding.
 * Errors: OB_ERR_RP_CONFIG (no CA), OB_ERR_WIC_PROFILE, OB_ERR_WIC_CHAIN,
 * OB_ERR_WIC_OWNER, OB_ERR_INVALID_ARG, OB_ERR_ALLOC.
 */
OB_EXPORT int ob_rp_verify_wic(const struct ob_rp *rp, const void *certs,
    size_t len, struct ob_rp_result **out) OB_WUR;

/*
 * The result.  Strings belong to it and live until ob_rp_result_free; a
 * getter returns NULL for what the credential does not carry (the WIC has
 * no dns_name, logical_id, client_id, iss or jti; gateway and gateway_x5t
 * are for the owner-mediated model only, owner_jkt for the others).
 */
OB_EXPORT const char *ob_rp_result_via(const struct ob_rp_result *r);
						/* "wit" or "wic" */
OB_EXPORT const char *ob_rp_result_agent(const struct ob_rp_result *r);
/* RFC 7638 thumbprint of the agent key, and the alg it signs with */
OB_EXPORT const char *ob_rp_result_agent_jkt(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_agent_alg(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_iss(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_jti(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_wpt_jti(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_dns_name(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_logical_id(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_client_id(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_owner(const struct ob_rp_result *r);
/* user, organization or service */
OB_EXPORT const char *ob_rp_result_owner_type(const struct ob_rp_result *r);
/* software, pkcs11, tpm2, piv, fido2 or gateway */
OB_EXPORT const char *ob_rp_result_owner_kind(const struct ob_rp_result *r);
/* software, hardware, imported or attested */
OB_EXPORT const char *ob_rp_result_assurance(const struct ob_rp_result *r);
/* agent-mediated, server-mediated or owner-mediated */
OB_EXPORT const char *ob_rp_result_model(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_gateway(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_owner_group(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_owner_jkt(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_gateway_x5t(const struct ob_rp_result *r);
OB_EXPORT const char *ob_rp_result_envelope_sha256(
    const struct ob_rp_result *r);
/* when the owner (or gateway) approved; when the credential expires */
OB_EXPORT long long ob_rp_result_approved_at(const struct ob_rp_result *r);
OB_EXPORT long long ob_rp_result_exp(const struct ob_rp_result *r);

/* The result as a compact JSON object; *out is freed with free(). */
OB_EXPORT int ob_rp_result_json(const struct ob_rp_result *r, char **out)
    OB_WUR;
OB_EXPORT void ob_rp_result_free(struct ob_rp_result **rp);

#ifdef __cplusplus
}
#endif

#endif /* OWNERBIND_OB_RP_H */
