/*
 * A human approval of a request a gateway holds (docs/gateway.md,
 * "Approvals"): an owner's JWS in the flattened JSON serialization
 * (RFC 7515 7.2.2),
 *
 *   {"protected": B64U(header), "payload": B64U(claims), "signature": ...}
 *
 * header exactly {"alg", "kid" (the owner key's thumbprint), "typ":
 * "ownerbind-approval+jws"}; claims exactly {"pending": the gateway's id
 * of the request, "request_sha256": B64U(SHA-256(the request's bytes)),
 * "gateway": the gateway id, "iat": seconds}.  The typ is its own, so an
 * approval is never an envelope entry, and an entry never an approval;
 * the hash binds it to one request, the gateway id to one gateway.
 */
#ifndef OB_CORE_APPROVAL_H
#define OB_CORE_APPROVAL_H

#include <stddef.h>

#include "core/alg.h"
#include "ownerbind/ob_err.h"

#define OB_APPROVAL_TYP		"ownerbind-approval+jws"
#define OB_APPROVAL_MAX		8192	/* serialized bytes */
#define OB_APPROVAL_ID_MAX	64

struct ob_owner_approval {
	enum ob_alg	 alg;
	char		*kid;
	char		*pending;
	char		*request_sha256;
	char		*gateway;
	long long	 iat;
	char		*tbs;		/* the signing input */
	size_t		 tbslen;
	unsigned char	*sig;
	size_t		 siglen;
};

/* Parse and check the form (not the signature): OB_ERR_APPROVAL_INVALID
 * with a detail, OB_ERR_ALLOC. */
int ob_owner_approval_parse(const void *buf, size_t len,
    struct ob_owner_approval *out) OB_WUR;
void ob_owner_approval_clear(struct ob_owner_approval *a);

/* The signing input for these members; *tbs freed by the caller. */
int ob_owner_approval_tbs(enum ob_alg alg, const char *kid,
    const char *pending, const char *request_sha256, const char *gateway,
    long long iat, char **tbs, size_t *tbslen) OB_WUR;
/* The serialization of a signing input and its signature. */
int ob_owner_approval_serialize(const char *tbs, const unsigned char *sig,
    size_t siglen, char **out) OB_WUR;

/* B64U(SHA-256(buf)) into out (44 bytes with the NUL). */
int ob_sha256_b64url(const void *buf, size_t len, char out[44]) OB_WUR;

#endif
