/*
 * Envelope builder for test vectors and benchmarks.  Unlike the owner
 * tools, it builds envelopes that are wrong on purpose: every part (claims,
 * protected header text, base64url, signature bytes, authenticator data)
 * can be set by hand before or after signing.  Test code only: failures
 * abort the program.
 */
#ifndef OB_GEN_COMMON_H
#define OB_GEN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/alg.h"

#define GEN_NOW		1767225600LL	/* 2026-01-01T00:00:00Z */
#define GEN_AUD		"https://id.example/"

enum gen_keytype { GEN_P256 = 1, GEN_P384, GEN_ED25519, GEN_RSA1024 };

struct gkey {
	EVP_PKEY	*pk;
	enum ob_alg	 alg;		/* its JWS alg (ES256, EdDSA, ...) */
	char		 kid[44];	/* RFC 7638 thumbprint */
	json_t		*jwk;		/* public JWK */
};

struct gfido {
	const char	*rp_id;		/* NULL: "ownerbind:" */
	unsigned char	 flags;
	uint32_t	 counter;
	size_t		 extra;		/* bytes appended to authenticatorData */
	size_t		 cut;		/* bytes removed from its end */
	const char	*cdj;		/* clientDataJSON text; NULL: canonical */
	int		 no_ad, no_cd;	/* leave the member out */
};

struct gentry {
	json_t		*ph;		/* protected header (owned) */
	char		*ph_raw;	/* protected JSON text instead of ph */
	char		*pb64;		/* result, or preset to use as is */
	json_t		*hdr;		/* unprotected header (owned) */
	const struct gkey *key;		/* signer; NULL leaves sig empty */
	int		 fido;		/* sign as a WebAuthn authenticator */
	struct gfido	 fo;
	unsigned char	 sig[1100];
	size_t		 siglen;
};

struct genv {
	json_t		*claims;
	char		*payload_raw;	/* payload text instead of claims */
	char		*payload_b64;	/* result, or preset to use as is */
	struct gentry	 e[10];
	size_t		 n;
};

void gen_die(const char *what) __attribute__((noreturn));
void gkey_make(enum gen_keytype t, struct gkey *k);
/* Load a PEM private key, or make one and write it there. */
void gkey_load_or_make(const char *path, enum gen_keytype t, struct gkey *k);
void gkey_free(struct gkey *k);

char *gen_b64(const void *p, size_t n);
char *gen_dump(const json_t *v);
char *gen_strcat3(const char *a, const char *b, const char *c);

json_t *gen_claims(const struct gkey *agent, const char *sub,
    const char *owner, const char *jti, long long iat, long long exp);
json_t *gen_ph(enum ob_alg alg, const char *kid, const char *role,
    const char *model, long long sat, const char *nonce);

/* Add an entry; takes the reference to ph. */
struct gentry *genv_add(struct genv *g, json_t *ph, const struct gkey *key,
    int fido);
/* Encode the payload and every entry and sign them. */
void genv_sign(struct genv *g);
/* The General-serialization object of a signed genv (new reference). */
json_t *genv_top(const struct genv *g);
/* genv_sign + genv_top + compact dump. */
char *genv_str(struct genv *g);
void genv_free(struct genv *g);

/* ECDSA DER signature as a WebAuthn authenticator makes it. */
void gen_fido_sign(const struct gkey *k, const unsigned char *ad,
    size_t adlen, const char *cdj, size_t cdjlen, unsigned char *sig,
    size_t *siglen);

/* X.509 for gateway tests. */
X509 *gen_cert(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key,
    X509 *issuer, int ca, long long not_before, long long not_after,
    long serial);
/* The general form: bc/ku are X509v3 config values (NULL: omit), san a
 * subjectAltName value such as "DNS:gw1" (NULL: none). */
X509 *gen_cert_ex(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key,
    X509 *issuer, const char *bc, const char *ku, const char *san,
    long long not_before, long long not_after, long serial);
/* An end-entity signing certificate with an extendedKeyUsage value such
 * as "serverAuth" (NULL: none) and a SAN (NULL: none). */
X509 *gen_cert_eku(const char *cn, EVP_PKEY *pub, EVP_PKEY *issuer_key,
    X509 *issuer, const char *eku, const char *san, long long not_before,
    long long not_after, long serial);
char *gen_cert_pem(X509 *x);
char *gen_cert_b64der(X509 *x);	/* standard base64 of DER, for x5c */
X509 *gen_cert_load_or_make(const char *path, const char *cn, EVP_PKEY *pub,
    EVP_PKEY *issuer_key, X509 *issuer, int ca, long long nb, long long na,
    long serial);

#endif
