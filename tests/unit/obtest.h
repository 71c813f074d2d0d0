/* Shared helpers for the unit tests: keys, claims, entries. */
#ifndef OB_TESTS_OBTEST_H
#define OB_TESTS_OBTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/envelope.h"

#define T_NOW		1800000000LL
#define T_AUD		"https://id.example"
#define T_SUB		"wimse://td.example/agents/a1"
#define T_OWNER		"alice@example.com"

EVP_PKEY *t_key(const char *kind);		/* "P-256", "P-384", "Ed25519", "RSA" */
EVP_PKEY *t_ed25519(const unsigned char seed[32]);
EVP_PKEY *t_pem(const char *pem);
char *t_kid(EVP_PKEY *k);			/* thumbprint, strdup'd */

/* Claims for agent key at time now; caller owns the reference. */
json_t *t_claims(EVP_PKEY *agent, long long now, const char *jti);
struct ob_envelope *t_request(EVP_PKEY *agent, long long now, const char *jti);

/* Append an ordinary JWS entry signed with key (kid NULL: thumbprint). */
void t_sign(struct ob_envelope *env, EVP_PKEY *key, enum ob_role role,
    enum ob_model model, long long sat, const char *nonce, const char *kid);
/* Append a WebAuthn-style FIDO2 entry as an authenticator would make it. */
void t_sign_fido(struct ob_envelope *env, EVP_PKEY *key, const char *rp_id,
    uint8_t flags, uint32_t counter, enum ob_model model, long long sat,
    const char *nonce);

/* A trust store with one owner and the given keys (kind/alg per key). */
char *t_trust(const char *owner, const char *pattern, EVP_PKEY *key,
    const char *kind, const char *fido_rp, int uv_required);

char *t_serialize(const struct ob_envelope *env);

/*
 * A certificate for subj signed by ikey (issuer NULL: self-signed), CN
 * cn, valid from now - 1 day to now + 1 day; a CA gets CA:TRUE and
 * keyUsage keyCertSign, others CA:FALSE.
 */
X509 *t_cert(EVP_PKEY *subj, EVP_PKEY *ikey, X509 *issuer, const char *cn,
    int is_ca, long long now);
char *t_cert_pem(X509 *x);			/* PEM text, malloc'd */

#endif
