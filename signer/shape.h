/*
 * What ownerbind-signer agrees to sign (docs/signer-protocol.md, "What
 * the helper signs").  The helper is given the whole signing input, never
 * a digest, and signs it only if it is exactly one of:
 *
 *   wit            a WIT's JWS signing input (draft-ietf-wimse-workload-
 *                  creds): b64url(header) "." b64url(payload), the header
 *                  {alg, kid, typ "wit+jwt"} naming this key, the payload
 *                  with iss, sub, iat, exp, jti and cnf.jwk, iat within
 *                  max_skew of now and exp - iat at most max_lifetime;
 *   wic-tbs        a WIC's DER TBSCertificate: v3, issued by the key's CA
 *                  (issuer name = the CA's subject), exactly one SAN and it
 *                  a URI, basicConstraints CA:FALSE, notBefore within
 *                  max_skew of now, validity at most max_lifetime, and the
 *                  signature algorithm of this key;
 *   gateway-entry  an envelope entry's JWS signing input whose protected
 *                  header has ob_role gateway, ob_model owner-mediated,
 *                  x5c, this key's alg (and kid gateway_id when set), and
 *                  whose payload passes the envelope's claim checks.
 *
 * Each check returns OB_OK, OB_ERR_SIGNER_SHAPE or OB_ERR_SIGNER_LIFETIME
 * (for times and lifetimes), with a detail; on OB_OK `what` holds a short
 * description of what is signed for the log ("sub=... jti=...",
 * "serial=... uri=...").  Nothing is retained.
 */
#ifndef OB_SIGNER_SHAPE_H
#define OB_SIGNER_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"

#define OB_SHAPE_WHAT	320

struct ob_shape_key {
	enum ob_alg	 alg;
	const char	*kid;		/* the key's RFC 7638 thumbprint */
	const uint8_t	*ca_subject;	/* issuer keys: the CA's subject, DER */
	size_t		 ca_subject_len;
	const char	*gateway_id;	/* gateway keys; NULL: any kid */
	long long	 max_lifetime;
	long long	 max_skew;
	long long	 now;
};

int ob_shape_wit(const struct ob_shape_key *k, const uint8_t *in, size_t n,
    char what[OB_SHAPE_WHAT]) OB_WUR;
int ob_shape_wic_tbs(const struct ob_shape_key *k, const uint8_t *in,
    size_t n, char what[OB_SHAPE_WHAT]) OB_WUR;
int ob_shape_gateway_entry(const struct ob_shape_key *k, const uint8_t *in,
    size_t n, char what[OB_SHAPE_WHAT]) OB_WUR;

#endif
