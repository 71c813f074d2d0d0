/*
 * The one interface every key backend implements (file:, pkcs11:, tpm2:,
 * fido2:, piv:).  docs/key-uris.md has the URI forms.  A backend is
 * selected by the URI scheme only; it selects its key by serial, label or
 * credential named in the URI, never by "first device".
 *
 * Ownership: ob_token_open hands out a token the caller frees with
 * ob_token_close; public keys handed out are new references.  Every
 * function returns OB_OK or an ob_err.h code with a detail line.
 */
#ifndef OB_TOKENS_TOKEN_H
#define OB_TOKENS_TOKEN_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"
#include "core/envelope.h"
#include "tokens/pin.h"

struct ob_token;
struct ob_signer;

/* What the signer is asked to approve; shown before a touch or PIN. */
struct ob_approval {
	const char	*sub;
	const char	*aud;
	const char	*owner;
	const char	*model;
	const char	*role;
	long long	 exp;
};

struct ob_token_opts {
	const struct ob_pin_source	*pin;	/* may be NULL: backend default */
	enum ob_alg			 alg;	/* keygen; OB_ALG_INVALID = default */
	int				 quiet;	/* no prompts on stderr */
	struct ob_signer		*signer; /* signer: keys (remote.h) */
	size_t				 sessions; /* pkcs11: pool size [1] */
};

struct ob_sign_req {
	enum ob_alg			 alg;
	const char			*tbs;	/* JWS signing input */
	size_t				 tbslen;
	const struct ob_approval	*what;
};

struct ob_sign_res {
	unsigned char	*sig;		/* JWS encoding; freed by caller */
	size_t		 siglen;
	json_t		*header;	/* unprotected header or NULL */
};

struct ob_token_ops {
	const char *scheme;		/* "file", "pkcs11", ... */
	const char *kind;		/* trust-store key kind */
	int  (*open)(const char *uri, const struct ob_token_opts *,
	    void **be);
	int  (*keygen)(const char *uri, const struct ob_token_opts *);
	int  (*pubkey)(void *be, EVP_PKEY **out);
	/* The JWS alg this key signs with (webauthn-* for FIDO2). */
	int  (*alg)(void *be, enum ob_alg *out);
	int  (*sign)(void *be, const struct ob_sign_req *,
	    struct ob_sign_res *);
	/* Optional: backend-specific trust-store members (FIDO2 rpId, ...). */
	int  (*enroll_info)(void *be, json_t *keyentry);
	void (*close)(void *be);
	/*
	 * 1: sign() returns signatures already verified with this key's
	 * public key in the process that holds the key (ownerbind-signer),
	 * so the token layer does not verify them a second time.
	 */
	int  verified;
	/* 1: sign() may be called from several threads at once. */
	int  concurrent;
};

int ob_token_open(const char *uri, const struct ob_token_opts *opts,
    struct ob_token **out) OB_WUR;
int ob_token_keygen(const char *uri, const struct ob_token_opts *opts) OB_WUR;
void ob_token_close(struct ob_token **tokp);

const char *ob_token_kind(const struct ob_token *tok);
/* Whether ob_token_sign may run in several threads at once on tok (the
 * file: and pkcs11: backends); else the caller serialises. */
int ob_token_concurrent(const struct ob_token *tok);
/* Borrowed public key, valid while the token is open. */
EVP_PKEY *ob_token_pubkey(const struct ob_token *tok);
enum ob_alg ob_token_alg(const struct ob_token *tok);
/* RFC 7638 thumbprint of the public key: the kid of its entries. */
const char *ob_token_kid(const struct ob_token *tok);

/*
 * Build the protected header, have the token sign, check the fresh
 * signature against the token's public key (and for FIDO2 the
 * clientDataJSON), then append the entry.  Nothing is appended on failure;
 * a signature that does not verify is OB_ERR_TOKEN_SIG_BAD.  kid NULL
 * means the key's thumbprint (a gateway entry names the gateway id).
 * (A "verified" backend's signatures were checked where the key is.)
 */
int ob_token_sign_entry(struct ob_token *tok, struct ob_envelope *env,
    enum ob_role role, enum ob_model model, const char *nonce,
    const json_t *x5c, const char *kid, long long now) OB_WUR;
/*
 * The same with a protected header the caller built (ob_protected_new,
 * then members of its own such as a gateway's ob_proxy); ob_role and
 * ob_model are taken from it.  The header is checked by the append.
 */
int ob_token_sign_entry_hdr(struct ob_token *tok, struct ob_envelope *env,
    const json_t *ph) OB_WUR;

/*
 * Have the token sign one whole signing input (for the credential issuer:
 * a WIT's JWS signing input or a WIC's TBSCertificate DER; what->role
 * names which) and check the fresh signature against the token's public
 * key (unless the backend is "verified": the signer helper checked it
 * with the same key).  *sig is the JWS encoding (R||S for ES*), freed with
 * free().  webauthn-* keys cannot sign arbitrary input:
 * OB_ERR_ALG_UNSUPPORTED.  A signature that does not verify is
 * OB_ERR_TOKEN_SIG_BAD.
 */
int ob_token_sign(struct ob_token *tok, const unsigned char *msg,
    size_t msglen, const struct ob_approval *what, unsigned char **sig,
    size_t *siglen) OB_WUR;

/*
 * Check one fresh signature in every n instead of each one (n = 1, the
 * default).  The first signature after open is always checked, and once
 * a check fails every later one is checked.  Only ECDSA keys may skip
 * checks: a faulty RSA-CRT signature gives away the key's factors and a
 * faulty deterministic EdDSA signature beside a good one gives away the
 * key, so for them n > 1 is OB_ERR_ALG_UNSUPPORTED (docs/decisions.md,
 * ownerbind-signer's verify_every).
 */
int ob_token_set_check_every(struct ob_token *tok, unsigned n) OB_WUR;

/* The trust-store key entry for this token's key (kid, kind, alg, jwk). */
int ob_token_key_entry(struct ob_token *tok, json_t **out) OB_WUR;

/* Is a backend for this URI's scheme built in? */
int ob_token_scheme_supported(const char *uri);
/* The schemes built in, space-separated ("file pkcs11 tpm2 ..."). */
void ob_token_schemes(char *buf, size_t len);

/* The built-in backends. */
extern const struct ob_token_ops ob_file_ops;
extern const struct ob_token_ops ob_pkcs11_ops;
extern const struct ob_token_ops ob_tpm2_ops;
extern const struct ob_token_ops ob_fido2_ops;
extern const struct ob_token_ops ob_piv_ops;
/* The daemons' one backend: keys held by ownerbind-signer (remote.h). */
extern const struct ob_token_ops ob_remote_ops;

#endif
