/*
 * softfido internals shared between its files. Not installed, not public.
 *
 * Locking: every function taking a struct softfido * below expects the
 * caller to hold sf->lock, except where it says otherwise.
 */
#ifndef SF_INT_H
#define SF_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <openssl/evp.h>

#include "tests/softfido/softfido.h"

#define SF_WUR SOFTFIDO_WUR

/* CTAP 2.1 section 8.2 status codes (identical to libfido2's FIDO_ERR_*). */
#define CTAP2_OK				0x00
#define CTAP1_ERR_INVALID_COMMAND		0x01
#define CTAP1_ERR_INVALID_PARAMETER		0x02
#define CTAP1_ERR_INVALID_LENGTH		0x03
#define CTAP2_ERR_CBOR_UNEXPECTED_TYPE		0x11
#define CTAP2_ERR_INVALID_CBOR			0x12
#define CTAP2_ERR_MISSING_PARAMETER		0x14
#define CTAP2_ERR_LIMIT_EXCEEDED		0x15
#define CTAP2_ERR_CREDENTIAL_EXCLUDED		0x19
#define CTAP2_ERR_UNSUPPORTED_ALGORITHM		0x26
#define CTAP2_ERR_KEY_STORE_FULL		0x28
#define CTAP2_ERR_UNSUPPORTED_OPTION		0x2b
#define CTAP2_ERR_INVALID_OPTION		0x2c
#define CTAP2_ERR_KEEPALIVE_CANCEL		0x2d
#define CTAP2_ERR_NO_CREDENTIALS		0x2e
#define CTAP2_ERR_USER_ACTION_TIMEOUT		0x2f
#define CTAP2_ERR_NOT_ALLOWED			0x30
#define CTAP2_ERR_PIN_INVALID			0x31
#define CTAP2_ERR_PIN_BLOCKED			0x32
#define CTAP2_ERR_PIN_AUTH_INVALID		0x33
#define CTAP2_ERR_PIN_AUTH_BLOCKED		0x34
#define CTAP2_ERR_PIN_NOT_SET			0x35
#define CTAP2_ERR_PUAT_REQUIRED			0x36
#define CTAP2_ERR_PIN_POLICY_VIOLATION		0x37
#define CTAP2_ERR_REQUEST_TOO_LARGE		0x39
#define CTAP2_ERR_INVALID_SUBCOMMAND		0x3e
#define CTAP2_ERR_UNAUTHORIZED_PERMISSION	0x40
#define CTAP1_ERR_OTHER				0x7f

/* Internal, never on the wire: the handler needs a user-presence decision. */
#define SF_NEED_UP				0x100

/* authenticatorData flags (WebAuthn section 6.1). */
#define SF_FLAG_UP	0x01
#define SF_FLAG_UV	0x04
#define SF_FLAG_AT	0x40

/* PIN/UV auth token permissions (CTAP 2.1 section 6.5.5.7). */
#define SF_PERM_MC	0x01
#define SF_PERM_GA	0x02

/* COSE algorithm identifiers. */
#define SF_COSE_ES256	(-7)
#define SF_COSE_EDDSA	(-8)
#define SF_COSE_ECDH	(-25)

#define SF_HASH_LEN		32
#define SF_MASTER_LEN		32
#define SF_AAGUID_LEN		16
#define SF_PIN_HASH_LEN		16	/* LEFT(SHA-256(PIN), 16) */
#define SF_PIN_RETRIES		8
#define SF_PIN_CONSEC_FAILS	3	/* then PIN_AUTH_BLOCKED until power cycle */
#define SF_PIN_MIN_CP		4	/* code points */
#define SF_PIN_MAX_BYTES	63
#define SF_TOKEN_LEN		32
#define SF_MAX_RK		32	/* resident credential slots */
#define SF_MAX_RPID		255
#define SF_MAX_USER_ID		64
#define SF_MAX_USER_NAME	64
#define SF_CRED_ID_LEN		62	/* see credkey.c for the layout */
#define SF_MAX_CRED_ID		128	/* longest descriptor id we look at */
#define SF_MAX_ALLOW_LIST	8
#define SF_MAX_MSG		1200	/* maxMsgSize, both directions */
#define SF_DEFAULT_TOUCH_MS	30000U

/* User presence decision handed to a command handler. */
enum sf_up {
	SF_UP_ASK,		/* not asked yet: return SF_NEED_UP if needed */
	SF_UP_GRANTED,
	SF_UP_DENIED,		/* nobody touched: user action timeout */
	SF_UP_CANCELLED		/* CTAPHID_CANCEL arrived */
};

struct sf_rk {
	char		rp_id[SF_MAX_RPID + 1];
	uint8_t		rp_id_hash[SF_HASH_LEN];
	uint8_t		user_id[SF_MAX_USER_ID];
	size_t		user_id_len;
	char		user_name[SF_MAX_USER_NAME + 1];
	char		display_name[SF_MAX_USER_NAME + 1];
	uint8_t		cred_id[SF_CRED_ID_LEN];
	uint64_t	serial;		/* creation order; newest first */
};

struct sf_token {
	bool		valid;
	uint8_t		protocol;	/* PIN protocol it was issued under */
	uint8_t		perms;
	bool		has_rp;
	uint8_t		rp_id_hash[SF_HASH_LEN];
	uint8_t		key[SF_TOKEN_LEN];
};

/* authenticatorGetNextAssertion state (discoverable credentials only). */
struct sf_next {
	bool		active;
	uint8_t		rp_id_hash[SF_HASH_LEN];
	uint8_t		cdh[SF_HASH_LEN];
	uint8_t		flags;
	size_t		pos;
	size_t		count;
	size_t		idx[SF_MAX_RK];
};

struct softfido {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	unsigned int	refs;

	/* persistent state (state.c) */
	uint8_t		master[SF_MASTER_LEN];
	uint8_t		aaguid[SF_AAGUID_LEN];
	uint32_t	counter;
	bool		pin_set;
	uint8_t		pin_hash[SF_PIN_HASH_LEN];
	uint8_t		pin_retries;
	uint8_t		att_priv[32];
	EVP_PKEY	*att_key;
	unsigned char	*att_cert;
	size_t		att_cert_len;
	struct sf_rk	rk[SF_MAX_RK];
	size_t		rk_len;
	uint64_t	rk_serial;

	/* volatile state, reset by a power cycle */
	uint8_t		pin_fails;	/* consecutive, since power up */
	EVP_PKEY	*ka;		/* PIN protocol key agreement key */
	struct sf_token	token;
	struct sf_next	next;
	uint32_t	next_cid;

	/* test knobs */
	enum softfido_touch touch;
	unsigned int	touch_timeout_ms;
	unsigned int	touches;	/* pending softfido_touch() calls */
	enum softfido_profile profile;
	enum softfido_attestation attestation;
	char		*autosave;
	bool		dirty;		/* persistent state changed */
};

/* device.c */
void sf_lock(struct softfido *);
void sf_unlock(struct softfido *);
void sf_ref(struct softfido *);
void sf_unref(struct softfido *);
void sf_power_cycle_locked(struct softfido *);
/* Wait up to ms for sf->cond; returns with the lock held. */
void sf_wait(struct softfido *, unsigned int ms);

/* crypto.c: OpenSSL 3 EVP wrappers; 0 on success, -1 on failure. */
void sf_wipe(void *, size_t);
int sf_random(void *, size_t) SF_WUR;
int sf_sha256(const void *, size_t, uint8_t out[SF_HASH_LEN]) SF_WUR;
int sf_hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
    size_t data_len, uint8_t out[SF_HASH_LEN]) SF_WUR;
int sf_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
    size_t ikm_len, const char *info, uint8_t *out, size_t out_len) SF_WUR;
int sf_aes256_cbc(bool encrypt, const uint8_t key[32], const uint8_t iv[16],
    const uint8_t *in, size_t len, uint8_t *out) SF_WUR;
int sf_aes256_gcm_seal(const uint8_t key[32], const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
    uint8_t *out, uint8_t tag[16]) SF_WUR;
int sf_aes256_gcm_open(const uint8_t key[32], const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
    const uint8_t tag[16], uint8_t *out) SF_WUR;
EVP_PKEY *sf_p256_from_scalar(const uint8_t d[32]);
EVP_PKEY *sf_p256_from_xy(const uint8_t x[32], const uint8_t y[32]);
int sf_p256_generate(uint8_t d[32], EVP_PKEY **) SF_WUR;
int sf_p256_public(EVP_PKEY *, uint8_t x[32], uint8_t y[32]) SF_WUR;
int sf_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[32]) SF_WUR;
/* ES256 (DER) or EdDSA (64 bytes) depending on the key; *sig_len in/out. */
int sf_sign(EVP_PKEY *, const uint8_t *msg, size_t msg_len, uint8_t *sig,
    size_t *sig_len) SF_WUR;

/* sfcbor.c: bounded CBOR access. Decoders return a CTAP status. */
int sf_cbor_load(const uint8_t *, size_t, cbor_item_t **) SF_WUR;
int sf_cbor_uint_map(const cbor_item_t *, const cbor_item_t **slots,
    size_t nslots) SF_WUR;
int sf_cbor_text_map(const cbor_item_t *, const char *const *names,
    const cbor_item_t **slots, size_t n) SF_WUR;
int sf_cbor_bytes(const cbor_item_t *, const uint8_t **, size_t *,
    size_t min, size_t max) SF_WUR;
int sf_cbor_text(const cbor_item_t *, char *, size_t cap,
    bool truncate) SF_WUR;
int sf_cbor_text_eq(const cbor_item_t *, const char *, bool *) SF_WUR;
int sf_cbor_uint(const cbor_item_t *, uint64_t *) SF_WUR;
int sf_cbor_int(const cbor_item_t *, int64_t *) SF_WUR;
int sf_cbor_bool(const cbor_item_t *, bool *) SF_WUR;
int sf_cbor_array(const cbor_item_t *, cbor_item_t ***, size_t *,
    size_t max) SF_WUR;
/* Encoders: minimal-width integers; NULL on allocation failure. */
cbor_item_t *sf_cbor_build_int(int64_t);
/* Add key/value to a map, consuming both references; -1 on failure. */
int sf_cbor_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *val) SF_WUR;
int sf_cbor_put_uint(cbor_item_t *map, uint8_t key, cbor_item_t *val) SF_WUR;
int sf_cbor_put_str(cbor_item_t *map, const char *key, cbor_item_t *val) SF_WUR;
int sf_cbor_push(cbor_item_t *array, cbor_item_t *val) SF_WUR;
int sf_cbor_serialize(const cbor_item_t *, uint8_t **, size_t *) SF_WUR;

/* credkey.c: credential key pairs and their wrapped credential ids. */
struct sf_credkey {
	int		cose_alg;	/* SF_COSE_ES256 or SF_COSE_EDDSA */
	uint8_t		secret[32];	/* P-256 scalar or Ed25519 seed */
	EVP_PKEY	*pkey;
};
int sf_credkey_generate(int cose_alg, struct sf_credkey *) SF_WUR;
void sf_credkey_clear(struct sf_credkey *);
int sf_credkey_wrap(const struct softfido *, const uint8_t rp_id_hash[32],
    const struct sf_credkey *, uint8_t id[SF_CRED_ID_LEN]) SF_WUR;
/* 0 and a usable key if id is ours for this RP, -1 otherwise. */
int sf_credkey_unwrap(const struct softfido *, const uint8_t rp_id_hash[32],
    const uint8_t *id, size_t id_len, struct sf_credkey *) SF_WUR;
cbor_item_t *sf_credkey_cose(const struct sf_credkey *);

/* attest.c */
int sf_attest_create(struct softfido *) SF_WUR;
int sf_attest_statement(struct softfido *, const struct sf_credkey *,
    const uint8_t *signed_data, size_t signed_len, cbor_item_t **fmt,
    cbor_item_t **stmt) SF_WUR;

/* clientpin.c */
int sf_clientpin(struct softfido *, const cbor_item_t *params,
    cbor_item_t **reply) SF_WUR;
bool sf_pin_protocol_ok(const struct softfido *, uint64_t);
/* Check pinUvAuthParam over msg with the current token; CTAP status. */
int sf_pin_check_auth(struct softfido *, uint8_t protocol,
    const uint8_t *msg, size_t msg_len, const uint8_t *auth, size_t auth_len,
    uint8_t perm, const uint8_t rp_id_hash[SF_HASH_LEN]) SF_WUR;
int sf_pin_hash(const char *pin, size_t len,
    uint8_t out[SF_PIN_HASH_LEN]) SF_WUR;
bool sf_pin_policy_ok(const uint8_t *pin, size_t len);
int sf_pin_new_volatile(struct softfido *) SF_WUR;

/* ctap2.c: one CBOR message in, status byte + CBOR out, or SF_NEED_UP. */
int sf_ctap2(struct softfido *, const uint8_t *req, size_t req_len,
    enum sf_up, uint8_t *reply, size_t *reply_len) SF_WUR;

/* ctaphid.c: one per open libfido2 handle. */
struct sf_hid;
struct sf_hid *sf_hid_new(struct softfido *);
void sf_hid_free(struct sf_hid **);
int sf_hid_write(struct sf_hid *, const unsigned char *, size_t);
int sf_hid_read(struct sf_hid *, unsigned char *, size_t, int ms);

/* state.c */
int sf_state_autosave(struct softfido *) SF_WUR;

#endif /* SF_INT_H */
