/*
 * PKCS#11 keys for ownerbind: the owner CLI's pkcs11: backend and the
 * gateway's HSM layer.  docs/pkcs11.md describes URIs, module discovery,
 * PIN handling, errors and the pool.
 *
 * A pool holds one private key on one token, named by an RFC 7512 URI, and
 * a set of sessions (at most the token's ulMaxSessionCount, capped at
 * OB_P11_MAX_SESSIONS) that threads borrow for one signature each.  When
 * the token answers CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,
 * CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT or CKR_USER_NOT_LOGGED_IN the
 * pool drops its sessions, finds the token and key again (by label/serial
 * and id, checking the public key is unchanged), logs in again and
 * retries with backoff; CKR_CRYPTOKI_NOT_INITIALIZED and fork() also
 * re-initialise the module.  Every function is thread-safe; a pool must
 * not be closed while other threads use it.
 *
 * Every function returns OB_OK or an ob_err.h code with a detail line
 * (ob_err_detail) that carries the raw CKR_* name; PINs never appear in it.
 */
#ifndef OB_PKCS11_OB_P11_H
#define OB_PKCS11_OB_P11_H

#include <stddef.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"
#include "tokens/pin.h"

#define OB_P11_MAX_SESSIONS	32

/* Pool flags. */
#define OB_P11_KEEP_PIN	0x1	/* keep the PIN (mlock'd) to log in again */
#define OB_P11_VERIFY	0x2	/* verify each signature before returning it */
#define OB_P11_QUIET	0x4	/* no prompts on stderr */

struct ob_p11_pool;

/*
 * Open the key at uri.  The PIN is read from the URI's pin-source when it
 * has one, else from pin (may be NULL when the token needs no login); it is
 * wiped after login unless OB_P11_KEEP_PIN is set or the key needs a
 * context-specific login.  max_sessions 0 means "as many as the token
 * allows, up to OB_P11_MAX_SESSIONS".  *out is freed with ob_p11_pool_close.
 */
int ob_p11_pool_open(const char *uri, const struct ob_pin_source *pin,
    unsigned int flags, size_t max_sessions, struct ob_p11_pool **out) OB_WUR;

/* The key's JWS algorithm and a new reference to its public key. */
enum ob_alg ob_p11_pool_alg(const struct ob_p11_pool *p);
int ob_p11_pool_pubkey(const struct ob_p11_pool *p, EVP_PKEY **out) OB_WUR;

/*
 * Sign msg (the JWS signing input; hashing is done here) with the pool's
 * algorithm.  *sig (JWS encoding: R||S for ES*) is freed with free().
 */
int ob_p11_pool_sign(struct ob_p11_pool *p, const unsigned char *msg,
    size_t msglen, unsigned char **sig, size_t *siglen) OB_WUR;

/* Statistics for tests and the gateway's health endpoint. */
struct ob_p11_stats {
	size_t		sessions_open;	/* now */
	size_t		sessions_max;	/* pool limit */
	unsigned long	reinits;	/* token/key re-found */
	unsigned long	module_reinits;	/* C_Finalize + C_Initialize */
	unsigned long	signatures;
};
void ob_p11_pool_stats(struct ob_p11_pool *p, struct ob_p11_stats *st);

void ob_p11_pool_close(struct ob_p11_pool **pp);

/*
 * Generate a key pair for alg (OB_ALG_INVALID: ES256) on the token the URI
 * names, labelled with its object= and id= (a random 16-byte id when the
 * URI has none).  The private key is CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
 * not CKA_EXTRACTABLE, CKA_SIGN.  OB_ERR_KEY_EXISTS when any object with
 * that label or id is already there.
 */
int ob_p11_keygen(const char *uri, enum ob_alg alg,
    const struct ob_pin_source *pin, int quiet) OB_WUR;

/*
 * Initialise the first token without a label of the module at
 * module_path (a fresh SoftHSM2 token directory has one such slot) with
 * label, so_pin, then set its user PIN (C_InitToken, C_Login as the
 * security officer, C_InitPIN).  For development set-ups (the gateway's
 * --dev): the PINs come from the caller's memory, never from argv.
 * OB_ERR_KEY_EXISTS when a token with that label is there already,
 * OB_ERR_TOKEN_ABSENT when no slot has an uninitialised token.
 */
int ob_p11_init_token(const char *module_path, const char *label,
    const char *so_pin, const char *user_pin) OB_WUR;

/* Finalize and unload every module (tests, benchmarks, daemons at exit). */
void ob_p11_shutdown(void);

#endif
