/*
 * TPM 2.0 backend internals (docs/tpm2.md).  Everything here talks to the
 * TPM through tpm2-tss ESAPI; the rest of ownerbind sees only tokens/token.h
 * and tpm2.h.
 *
 * Handle discipline: every ESYS_TR for a transient object or session is
 * flushed by the function that created it, or handed to a struct that
 * flushes it in its _close/_free; tpm2_flush() NULLs (ESYS_TR_NONE) the
 * caller's copy so a second flush is a no-op.  A persistent handle is only
 * ever Esys_TR_Close()d, never flushed.
 */
#ifndef OB_TOKENS_TPM2_INT_H
#define OB_TOKENS_TPM2_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"
#include "tokens/tpm2/tpm2_uri.h"


/* One connection to a TPM. */
struct tpm2_ctx {
	ESYS_CONTEXT		*esys;
	TSS2_TCTI_CONTEXT	*tcti;
	const char		*conf;	/* borrowed from the URI */
};

/*
 * Connect (OB_ERR_TPM_UNREACHABLE, OB_ERR_DEVICE_PERMISSION).  Close is
 * safe on a zeroed or half-opened context.
 */
int tpm2_ctx_open(const char *tcti_conf, struct tpm2_ctx *ctx) OB_WUR;
void tpm2_ctx_close(struct tpm2_ctx *ctx);

/* Flush a transient object or session and set *tr to ESYS_TR_NONE. */
void tpm2_flush(struct tpm2_ctx *ctx, ESYS_TR *tr);

/*
 * The storage root key: the ECC P-256 storage-key template tpm2-tools and
 * tpm2-openssl use (empty unique, AES-128-CFB, SHA-256 name), created
 * under the owner hierarchy (empty owner auth).  *out is transient: the
 * caller flushes it.  A persistent parent (0x81xxxxxx) is opened instead
 * when parent says so; then *flush is 0 and the caller closes it with
 * Esys_TR_Close (tpm2_parent_release does the right thing).
 */
int tpm2_parent_load(struct tpm2_ctx *ctx, uint32_t parent, ESYS_TR *out)
    OB_WUR;
void tpm2_parent_release(struct tpm2_ctx *ctx, uint32_t parent, ESYS_TR *tr);

/* Templates: unrestricted signing key for alg, or the restricted AK. */
int tpm2_template(enum ob_alg alg, int restricted, TPM2B_PUBLIC *out) OB_WUR;

/* The public key of a TPMT_PUBLIC (point checked on the curve). */
int tpm2_pub_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **out) OB_WUR;
/* The JWS alg a TPM key signs with (from curve / RSA). */
int tpm2_pub_alg(const TPMT_PUBLIC *pub, enum ob_alg *out) OB_WUR;
/* OB_OK when pub is an unrestricted (restricted: 1 = must be restricted) signing key. */
int tpm2_pub_check_sign(const TPMT_PUBLIC *pub, int restricted) OB_WUR;

/*
 * A salted HMAC session, so an auth value never crosses the bus in clear:
 * the salt is sent encrypted to salt_key (the SRK; ESYS_TR_NONE gives an
 * unsalted session).  decrypt: AES-128-CFB encryption of the command's
 * first parameter (the new auth value in TPM2_Create).  The session
 * continues; the caller flushes it.
 */
int tpm2_session_start(struct tpm2_ctx *ctx, ESYS_TR salt_key, int decrypt,
    ESYS_TR *out) OB_WUR;

/* An auth value from a PIN string (NULL or "" = empty). */
int tpm2_set_auth(struct tpm2_ctx *ctx, ESYS_TR tr, const char *pin) OB_WUR;

/*
 * Translate a TSS2_RC at the backend edge: what names the call.  For
 * lockout and bad auth the TPM is asked (through ctx, may be NULL) for its
 * dictionary-attack counters so the detail says tries left / wait time.
 */
int tpm2_rc(struct tpm2_ctx *ctx, TSS2_RC rc, const char *what);
/* 1 when rc is the TPM response code (handle/session/parameter ignored). */
int tpm2_rc_is(TSS2_RC rc, TSS2_RC code);

/* A loaded key (file or persistent handle). */
struct tpm2_key {
	TPM2B_PUBLIC	 pub;
	TPM2B_PRIVATE	 priv;		/* file keys */
	uint32_t	 parent;	/* file keys */
	uint32_t	 handle;	/* persistent keys */
	int		 empty_auth;
	ESYS_TR		 tr;		/* ESYS_TR_NONE until loaded */
	int		 transient;	/* tr must be flushed */
	ESYS_TR		 session;	/* HMAC session for the auth value, or
					   ESYS_TR_NONE: password (empty auth) */
};

/* TSS2 PRIVATE KEY PEM (tpm2_keyfile.c). */
int tpm2_keyfile_read(const char *path, struct tpm2_key *key) OB_WUR;
int tpm2_keyfile_write(const char *path, const struct tpm2_key *key) OB_WUR;

/*
 * Resolve a URI to a key: read the file or ReadPublic the handle (the TPM
 * is asked, so the public part is what the TPM holds).  Not yet loaded.
 */
int tpm2_key_open(struct tpm2_ctx *ctx, const struct tpm2_uri *u,
    struct tpm2_key *key) OB_WUR;
/* Load a file key under its parent; the parent is released at once. */
int tpm2_key_load(struct tpm2_ctx *ctx, struct tpm2_key *key) OB_WUR;
/*
 * Start the key's HMAC session (salted by the SRK) for its auth value;
 * kept in key->session until unload.
 */
int tpm2_key_session(struct tpm2_ctx *ctx, struct tpm2_key *key) OB_WUR;
/* Flush the key's session and its ESYS_TR (flush transient, close persistent). */
void tpm2_key_unload(struct tpm2_ctx *ctx, struct tpm2_key *key);

/*
 * Create a key under the SRK and store it at the URI (key file, or
 * persistent handle through EvictControl).  pin NULL = empty auth.
 * OB_ERR_KEY_EXISTS when the file or handle is taken.
 */
int tpm2_key_create(struct tpm2_ctx *ctx, const struct tpm2_uri *u,
    enum ob_alg alg, int restricted, const char *pin) OB_WUR;

/*
 * Sign a JWS signing input: hash in software, TPM2_Sign with the scheme
 * for alg, check the sizes of what comes back and encode as JWS (R||S
 * left-padded to the curve size, or the PSS block of modulus size).
 */
int tpm2_sign_jws(struct tpm2_ctx *ctx, struct tpm2_key *key, EVP_PKEY *pub,
    enum ob_alg alg, const unsigned char *msg, size_t msglen,
    unsigned char **sig, size_t *siglen) OB_WUR;

/*
 * TPM2_Certify(key, ak, qualifyingData = nonce); fills attest, sig (DER)
 * and pub (the key's marshalled TPMT_PUBLIC) of ev.  Both keys loaded.
 */
struct ob_tpm2_evidence;
int tpm2_certify(struct tpm2_ctx *ctx, struct tpm2_key *key,
    struct tpm2_key *ak, const unsigned char *nonce, size_t nonce_len,
    struct ob_tpm2_evidence *ev) OB_WUR;

/* TPMT_SIGNATURE (ECDSA) to fixed R||S of 2*n bytes. */
int tpm2_ecdsa_rs(const TPMT_SIGNATURE *s, size_t n, unsigned char *rs)
    OB_WUR;

#endif
