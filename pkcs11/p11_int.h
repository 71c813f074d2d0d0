/*
 * Internals of the PKCS#11 backend: parsed URIs, the process-wide module
 * registry, key lookup and CKR_* translation.  Only pkcs11/ includes this;
 * the gateway uses ob_p11.h.
 */
#ifndef OB_PKCS11_P11_INT_H
#define OB_PKCS11_P11_INT_H

#include <pthread.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "pkcs11/ob_p11.h"

/* ---- URIs (p11_uri.c) ------------------------------------------------ */

struct p11_uri {
	P11KitUri	*pk;		/* token/module/object match */
	char		*module_path;	/* module-path, or NULL */
	char		*module_name;	/* module-name, or NULL */
	char		*pin_spec;	/* pin-source as an ob pin spec, or NULL */
	char		*label;		/* object=, or NULL */
	unsigned char	*id;		/* id=, or NULL */
	size_t		 idlen;
	char		 token_desc[160]; /* "token=x serial=y" for messages */
};

/*
 * Parse an RFC 7512 URI with p11_kit_uri_parse.  Refuses pin-value (a PIN
 * on the command line), slot-id (unstable), unknown attributes, a type other
 * than private, and a URI that names no token (token= or serial=) or no key
 * (object= or id=).  OB_ERR_KEY_URI with the reason in the detail.
 */
int p11_uri_parse(const char *uri, struct p11_uri **out) OB_WUR;
void p11_uri_free(struct p11_uri **up);

/* ---- modules (p11_module.c) ------------------------------------------ */

struct p11_module {
	char			*path;
	CK_FUNCTION_LIST	*f;
	pthread_rwlock_t	 life;	/* read: in a call; write: re-init */
	unsigned long		 gen;	/* bumped on every re-initialisation */
	unsigned long		 forkgen;
	int			 initialized;
	struct p11_module	*next;
};

/*
 * The modules a URI may live in: module-path, module-name (p11-kit's
 * configuration) or, with neither, every module p11-kit is configured
 * with.  Modules stay loaded until ob_p11_shutdown.  *mods is an array
 * of borrowed pointers the caller frees with free().
 */
int p11_modules_for(const struct p11_uri *u, struct p11_module ***mods,
    size_t *n) OB_WUR;

/* The module at path, loaded and initialised once (borrowed). */
int p11_module_load(const char *path, struct p11_module **out) OB_WUR;

/*
 * Re-initialise a module (C_Finalize + C_Initialize) unless someone
 * already did since generation seen_gen (*did, may be NULL, says which).
 * Takes the module's write lock.
 */
int p11_module_reinit(struct p11_module *m, unsigned long seen_gen,
    int *did) OB_WUR;

/* Re-initialise after fork() in the child, once per fork. */
int p11_module_check_fork(struct p11_module *m) OB_WUR;

/* ---- errors (p11_err.c) ---------------------------------------------- */

const char *p11_rv_name(CK_RV rv);
/*
 * Translate rv returned by fn into an ob_err code with the CKR name and a
 * next step in the detail; ctx (may be NULL) is put first ("token x").
 */
int p11_err(CK_RV rv, const char *fn, const char *ctx);
/* The CKR behind this thread's last p11_err, then forgotten. */
CK_RV p11_rv_last(void);
/* Is rv one that a fresh session, login or module initialisation cures? */
int p11_rv_transient(CK_RV rv);

/* ---- tokens and keys (p11_key.c) ------------------------------------- */

struct p11_token {
	struct p11_module	*mod;
	CK_SLOT_ID		 slot;
	CK_TOKEN_INFO		 ti;
	char			 label[33];	/* trimmed */
	char			 serial[17];	/* trimmed */
};

/*
 * Find the one token the URI names across mods.  OB_ERR_TOKEN_ABSENT when
 * none matches (the detail lists the tokens present), OB_ERR_KEY_AMBIGUOUS
 * when several do (the detail lists them).  Call with each module's read
 * lock NOT held.
 */
int p11_token_find(const struct p11_uri *u, struct p11_module **mods,
    size_t nmods, struct p11_token *out) OB_WUR;

/* Re-find a token by its label and serial (after a re-initialisation). */
int p11_token_refind(struct p11_token *t) OB_WUR;

/*
 * Log in as the user unless the session already is.  The PIN comes from
 * *pin if non-NULL, else from src (and is put in *pin when keep is set).
 * A wrong PIN reports the token's retry flags.
 */
int p11_login(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct ob_pin_source *src, int keep, char **pin, int quiet) OB_WUR;

/* Context-specific login for CKA_ALWAYS_AUTHENTICATE keys. */
int p11_login_context(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct ob_pin_source *src, char **pin, int keep) OB_WUR;

struct p11_key {
	CK_OBJECT_HANDLE	 priv;
	CK_KEY_TYPE		 type;
	int			 always_auth;
	unsigned char		 id[64];
	size_t			 idlen;
	char			 label[65];
};

/*
 * Find the one private key the URI names (OB_ERR_KEY_NOT_FOUND,
 * OB_ERR_KEY_AMBIGUOUS with the candidates, OB_ERR_KEY_NO_SIGN).
 */
int p11_key_find(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct p11_uri *u, struct p11_key *out) OB_WUR;

/*
 * Read the public key of k from the token (public-key object with the same
 * id, else certificate, else the RSA private key's public members); checks
 * encodings and that EC points lie on the curve.  New EVP_PKEY.
 */
int p11_key_pubkey(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct p11_key *k, EVP_PKEY **out) OB_WUR;

/* Public key from CKA_EC_PARAMS + CKA_EC_POINT bytes (untrusted). */
int p11_ec_pubkey(CK_KEY_TYPE type, const unsigned char *params,
    size_t plen, const unsigned char *point, size_t ptlen, EVP_PKEY **out)
    OB_WUR;

/* The signing mechanism for alg, and its check against the token. */
CK_MECHANISM_TYPE p11_sign_mech(enum ob_alg alg);
const char *p11_mech_name(CK_MECHANISM_TYPE m);
int p11_mech_check(const struct p11_token *t, CK_MECHANISM_TYPE m,
    CK_FLAGS need) OB_WUR;

/* Any object (of any class) with this label or id?  1 yes, 0 no, <0 err. */
int p11_object_exists(const struct p11_token *t, CK_SESSION_HANDLE s,
    const char *label, const unsigned char *id, size_t idlen);

/* "label (serial S)" of a token, trimmed from the padded info fields. */
void p11_trim(const unsigned char *padded, size_t len, char *out);

/* ---- signing (p11_sign.c) -------------------------------------------- */

/*
 * One signature with a session that is logged in: hash (ES*, PS256) or not
 * (EdDSA), C_SignInit, context login when needed, C_Sign; the output length
 * is checked (2n for ECDSA, 64 for EdDSA, modulus size for PSS).  On a
 * CKR failure *rv and *fn name it (the caller translates, so the pool can
 * decide to re-initialise); other failures leave *rv CKR_OK.  ctxlogin,
 * when not NULL, is called between C_SignInit and C_Sign.
 */
int p11_sign_once(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE key, enum ob_alg alg, size_t rsabytes,
    const unsigned char *msg, size_t msglen,
    int (*ctxlogin)(void *, CK_SESSION_HANDLE), void *arg,
    unsigned char *sig, size_t *siglen, CK_RV *rv, const char **fn) OB_WUR;

#endif
