/*
 * authenticatorClientPIN (CTAP 2.1 section 6.5) with PIN/UV auth protocols
 * one and two:
 *
 *	protocol 1: shared = SHA-256(ECDH x), AES-256-CBC with a zero IV,
 *	            auth = LEFT(HMAC-SHA-256(shared, m), 16)
 *	protocol 2: shared = HKDF(Z, "CTAP2 HMAC key") || HKDF(Z, "CTAP2 AES key")
 *	            (zero 32-byte salt), AES-256-CBC with a random IV sent
 *	            first, auth = HMAC-SHA-256(first half, m)
 *
 * Retries start at 8; each wrong PIN costs one and regenerates the key
 * agreement key; the third wrong PIN in a row answers PIN_AUTH_BLOCKED until
 * a power cycle; at zero the PIN is blocked for good (reset to recover).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "tests/softfido/sf_int.h"

/* clientPIN parameter keys */
#define P_PROTOCOL	1
#define P_SUBCMD	2
#define P_KEYAGREE	3
#define P_AUTH		4
#define P_NEWPIN	5
#define P_PINHASH	6
#define P_PERMS		9
#define P_RPID		10
#define P_MAX		11

/* subcommands */
#define SUB_GET_RETRIES		0x01
#define SUB_GET_KEY_AGREEMENT	0x02
#define SUB_SET_PIN		0x03
#define SUB_CHANGE_PIN		0x04
#define SUB_GET_PIN_TOKEN	0x05
#define SUB_GET_TOKEN_PERMS	0x09

#define NEWPIN_LEN	64	/* padded PIN, before protocol 2's IV */
#define SHARED_MAX	64

struct shared {
	uint8_t	protocol;
	uint8_t	key[SHARED_MAX];
	size_t	len;
};

bool
sf_pin_protocol_ok(const struct softfido *sf, uint64_t p)
{
	return p == 1 || (p == 2 && sf->profile == SOFTFIDO_PROFILE_CTAP21);
}

int
sf_pin_hash(const char *pin, size_t len, uint8_t out[SF_PIN_HASH_LEN])
{
	uint8_t h[SF_HASH_LEN];

	if (sf_sha256(pin, len, h) != 0)
		return -1;
	memcpy(out, h, SF_PIN_HASH_LEN);
	sf_wipe(h, sizeof(h));
	return 0;
}

bool
sf_pin_policy_ok(const uint8_t *pin, size_t len)
{
	size_t cp = 0;

	if (len > SF_PIN_MAX_BYTES || memchr(pin, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((pin[i] & 0xc0) != 0x80)	/* not a continuation byte */
			cp++;
	return cp >= SF_PIN_MIN_CP;
}

static int
new_key_agreement(struct softfido *sf)
{
	EVP_PKEY	*ka = NULL;
	uint8_t		 d[32];
	int		 r;

	r = sf_p256_generate(d, &ka);
	sf_wipe(d, sizeof(d));
	if (r != 0)
		return -1;
	EVP_PKEY_free(sf->ka);
	sf->ka = ka;
	return 0;
}

static int
new_token(struct softfido *sf)
{
	memset(&sf->token, 0, sizeof(sf->token));
	return sf_random(sf->token.key, sizeof(sf->token.key));
}

int
sf_pin_new_volatile(struct softfido *sf)
{
	sf->pin_fails = 0;
	if (new_key_agreement(sf) != 0 || new_token(sf) != 0)
		return -1;
	return 0;
}

/* The platform's COSE_Key: kty EC2, crv P-256, 32-byte x and y. */
static int
peer_key(const cbor_item_t *item, EVP_PKEY **out)
{
	const cbor_item_t	*slot[4] = { NULL, NULL, NULL, NULL };
	struct cbor_pair	*pairs;
	const uint8_t		*x = NULL, *y = NULL;
	size_t			 xl, yl, n;
	int64_t			 kty = 0, crv = 0;
	int			 r;

	*out = NULL;
	if (!cbor_isa_map(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	n = cbor_map_size(item);
	if (n > 0 && (pairs = cbor_map_handle(item)) != NULL) {
		for (size_t i = 0; i < n; i++) {
			int64_t k;

			if (sf_cbor_int(pairs[i].key, &k) != CTAP2_OK)
				continue;
			if (k == 1)
				slot[0] = pairs[i].value;
			else if (k == -1)
				slot[1] = pairs[i].value;
			else if (k == -2)
				slot[2] = pairs[i].value;
			else if (k == -3)
				slot[3] = pairs[i].value;
		}
	}
	for (size_t i = 0; i < 4; i++)
		if (slot[i] == NULL)
			return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_int(slot[0], &kty)) != CTAP2_OK ||
	    (r = sf_cbor_int(slot[1], &crv)) != CTAP2_OK ||
	    (r = sf_cbor_bytes(slot[2], &x, &xl, 32, 32)) != CTAP2_OK ||
	    (r = sf_cbor_bytes(slot[3], &y, &yl, 32, 32)) != CTAP2_OK)
		return r;
	if (kty != 2 || crv != 1)
		return CTAP1_ERR_INVALID_PARAMETER;
	if ((*out = sf_p256_from_xy(x, y)) == NULL)
		return CTAP1_ERR_INVALID_PARAMETER;	/* not on the curve */
	return CTAP2_OK;
}

static int
shared_secret(struct softfido *sf, uint8_t protocol, const cbor_item_t *cose,
    struct shared *s)
{
	static const uint8_t	 zero_salt[32];
	EVP_PKEY		*peer = NULL;
	uint8_t			 z[32];
	int			 r;

	memset(s, 0, sizeof(*s));
	if ((r = peer_key(cose, &peer)) != CTAP2_OK)
		return r;
	r = CTAP1_ERR_OTHER;
	if (sf->ka == NULL || sf_ecdh(sf->ka, peer, z) != 0)
		goto out;
	s->protocol = protocol;
	if (protocol == 1) {
		if (sf_sha256(z, sizeof(z), s->key) != 0)
			goto out;
		s->len = 32;
	} else {
		if (sf_hkdf_sha256(zero_salt, sizeof(zero_salt), z, sizeof(z),
		    "CTAP2 HMAC key", s->key, 32) != 0 ||
		    sf_hkdf_sha256(zero_salt, sizeof(zero_salt), z, sizeof(z),
		    "CTAP2 AES key", s->key + 32, 32) != 0)
			goto out;
		s->len = 64;
	}
	r = CTAP2_OK;
out:
	sf_wipe(z, sizeof(z));
	EVP_PKEY_free(peer);
	if (r != CTAP2_OK)
		sf_wipe(s, sizeof(*s));
	return r;
}

/* Decrypt into out (capacity cap); *out_len is the plaintext length. */
static int
pp_decrypt(const struct shared *s, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t zero_iv[16];

	if (s->protocol == 1) {
		if (len == 0 || len % 16 != 0 || len > cap ||
		    sf_aes256_cbc(false, s->key, zero_iv, in, len, out) != 0)
			return -1;
		*out_len = len;
		return 0;
	}
	if (len <= 16 || (len - 16) % 16 != 0 || len - 16 > cap ||
	    sf_aes256_cbc(false, s->key + 32, in, in + 16, len - 16,
	    out) != 0)
		return -1;
	*out_len = len - 16;
	return 0;
}

static int
pp_encrypt(const struct shared *s, const uint8_t *in, size_t len,
    uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t zero_iv[16];

	if (s->protocol == 1) {
		if (len > cap ||
		    sf_aes256_cbc(true, s->key, zero_iv, in, len, out) != 0)
			return -1;
		*out_len = len;
		return 0;
	}
	if (len + 16 > cap || sf_random(out, 16) != 0 ||
	    sf_aes256_cbc(true, s->key + 32, out, in, len, out + 16) != 0)
		return -1;
	*out_len = len + 16;
	return 0;
}

/* verify(key, message, signature) for either protocol; key is 32 bytes. */
static bool
pp_verify(uint8_t protocol, const uint8_t key[32], const uint8_t *msg,
    size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	uint8_t	mac[SF_HASH_LEN];
	size_t	want = protocol == 1 ? 16 : 32;
	bool	ok;

	if (sig_len != want || sf_hmac_sha256(key, 32, msg, msg_len, mac) != 0)
		return false;
	ok = CRYPTO_memcmp(mac, sig, want) == 0;
	sf_wipe(mac, sizeof(mac));
	return ok;
}

int
sf_pin_check_auth(struct softfido *sf, uint8_t protocol, const uint8_t *msg,
    size_t msg_len, const uint8_t *auth, size_t auth_len, uint8_t perm,
    const uint8_t rp_id_hash[SF_HASH_LEN])
{
	struct sf_token *t = &sf->token;

	if (!sf_pin_protocol_ok(sf, protocol))
		return CTAP1_ERR_INVALID_PARAMETER;
	if (!t->valid || t->protocol != protocol ||
	    !pp_verify(protocol, t->key, msg, msg_len, auth, auth_len))
		return CTAP2_ERR_PIN_AUTH_INVALID;
	if ((t->perms & perm) == 0)
		return CTAP2_ERR_PIN_AUTH_INVALID;
	if (t->has_rp) {
		if (memcmp(t->rp_id_hash, rp_id_hash, SF_HASH_LEN) != 0)
			return CTAP2_ERR_PIN_AUTH_INVALID;
	} else {
		t->has_rp = true;
		memcpy(t->rp_id_hash, rp_id_hash, SF_HASH_LEN);
	}
	return CTAP2_OK;
}

/* Costs one retry; on a mismatch also the key agreement key. */
static int
check_pin_hash(struct softfido *sf, const struct shared *s,
    const cbor_item_t *pin_hash_enc)
{
	const uint8_t	*enc;
	uint8_t		 ph[32];
	size_t		 enc_len, ph_len = 0;
	bool		 match;
	int		 r;

	if ((r = sf_cbor_bytes(pin_hash_enc, &enc, &enc_len, 1, 64)) !=
	    CTAP2_OK)
		return r;
	sf->pin_retries--;
	sf->dirty = true;
	if (pp_decrypt(s, enc, enc_len, ph, sizeof(ph), &ph_len) != 0 ||
	    ph_len != SF_PIN_HASH_LEN) {
		sf_wipe(ph, sizeof(ph));
		return CTAP1_ERR_INVALID_PARAMETER;
	}
	match = CRYPTO_memcmp(ph, sf->pin_hash, SF_PIN_HASH_LEN) == 0;
	sf_wipe(ph, sizeof(ph));
	if (!match) {
		if (new_key_agreement(sf) != 0)
			return CTAP1_ERR_OTHER;
		sf->pin_fails++;
		if (sf->pin_retries == 0)
			return CTAP2_ERR_PIN_BLOCKED;
		if (sf->pin_fails >= SF_PIN_CONSEC_FAILS)
			return CTAP2_ERR_PIN_AUTH_BLOCKED;
		return CTAP2_ERR_PIN_INVALID;
	}
	sf->pin_retries = SF_PIN_RETRIES;
	sf->pin_fails = 0;
	return CTAP2_OK;
}

/* Decrypt newPinEnc, apply the PIN policy, store LEFT(SHA-256(PIN), 16). */
static int
store_new_pin(struct softfido *sf, const struct shared *s,
    const uint8_t *enc, size_t enc_len)
{
	uint8_t	pad[NEWPIN_LEN + 16];
	size_t	pad_len = 0, pin_len;
	int	r = CTAP1_ERR_INVALID_PARAMETER;

	if (pp_decrypt(s, enc, enc_len, pad, sizeof(pad), &pad_len) != 0 ||
	    pad_len != NEWPIN_LEN)
		goto out;
	pin_len = strnlen((const char *)pad, pad_len);
	if (!sf_pin_policy_ok(pad, pin_len)) {
		r = CTAP2_ERR_PIN_POLICY_VIOLATION;
		goto out;
	}
	r = CTAP1_ERR_OTHER;
	if (sf_pin_hash((const char *)pad, pin_len, sf->pin_hash) != 0 ||
	    new_token(sf) != 0)
		goto out;
	sf->pin_set = true;
	sf->pin_retries = SF_PIN_RETRIES;
	sf->dirty = true;
	r = CTAP2_OK;
out:
	sf_wipe(pad, sizeof(pad));
	return r;
}

static int
get_key_agreement(struct softfido *sf, cbor_item_t **reply)
{
	cbor_item_t	*map = NULL, *key = NULL;
	uint8_t		 x[32], y[32];
	int		 r = CTAP1_ERR_OTHER;

	if (sf->ka == NULL || sf_p256_public(sf->ka, x, y) != 0 ||
	    (key = cbor_new_definite_map(5)) == NULL ||
	    sf_cbor_put(key, sf_cbor_build_int(1), sf_cbor_build_int(2)) ||
	    sf_cbor_put(key, sf_cbor_build_int(3),
	    sf_cbor_build_int(SF_COSE_ECDH)) ||
	    sf_cbor_put(key, sf_cbor_build_int(-1), sf_cbor_build_int(1)) ||
	    sf_cbor_put(key, sf_cbor_build_int(-2),
	    cbor_build_bytestring(x, sizeof(x))) ||
	    sf_cbor_put(key, sf_cbor_build_int(-3),
	    cbor_build_bytestring(y, sizeof(y))) ||
	    (map = cbor_new_definite_map(1)) == NULL)
		goto out;
	r = sf_cbor_put_uint(map, 1, key) == 0 ? CTAP2_OK : CTAP1_ERR_OTHER;
	key = NULL;
	if (r != CTAP2_OK)
		goto out;
	*reply = map;
	map = NULL;
out:
	if (key != NULL)
		cbor_decref(&key);
	if (map != NULL)
		cbor_decref(&map);
	return r;
}

static int
set_pin(struct softfido *sf, uint8_t protocol, const cbor_item_t **p)
{
	struct shared	 s;
	const uint8_t	*enc, *auth;
	size_t		 enc_len, auth_len;
	int		 r;

	if (p[P_KEYAGREE] == NULL || p[P_AUTH] == NULL || p[P_NEWPIN] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_bytes(p[P_NEWPIN], &enc, &enc_len, 1,
	    NEWPIN_LEN + 16)) != CTAP2_OK ||
	    (r = sf_cbor_bytes(p[P_AUTH], &auth, &auth_len, 0, 32)) !=
	    CTAP2_OK)
		return r;
	if (sf->pin_set)
		return CTAP2_ERR_PIN_AUTH_INVALID;
	if ((r = shared_secret(sf, protocol, p[P_KEYAGREE], &s)) != CTAP2_OK)
		return r;
	if (!pp_verify(protocol, s.key, enc, enc_len, auth, auth_len))
		r = CTAP2_ERR_PIN_AUTH_INVALID;
	else
		r = store_new_pin(sf, &s, enc, enc_len);
	sf_wipe(&s, sizeof(s));
	return r;
}

static int
change_pin(struct softfido *sf, uint8_t protocol, const cbor_item_t **p)
{
	struct shared	 s;
	const uint8_t	*enc, *auth, *ph;
	uint8_t		 msg[NEWPIN_LEN + 16 + 64];
	size_t		 enc_len, auth_len, ph_len;
	int		 r;

	if (p[P_KEYAGREE] == NULL || p[P_AUTH] == NULL ||
	    p[P_NEWPIN] == NULL || p[P_PINHASH] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_bytes(p[P_NEWPIN], &enc, &enc_len, 1,
	    NEWPIN_LEN + 16)) != CTAP2_OK ||
	    (r = sf_cbor_bytes(p[P_PINHASH], &ph, &ph_len, 1, 64)) !=
	    CTAP2_OK ||
	    (r = sf_cbor_bytes(p[P_AUTH], &auth, &auth_len, 0, 32)) !=
	    CTAP2_OK)
		return r;
	if (!sf->pin_set)
		return CTAP2_ERR_PIN_NOT_SET;
	if (sf->pin_retries == 0)
		return CTAP2_ERR_PIN_BLOCKED;
	if (sf->pin_fails >= SF_PIN_CONSEC_FAILS)
		return CTAP2_ERR_PIN_AUTH_BLOCKED;
	if ((r = shared_secret(sf, protocol, p[P_KEYAGREE], &s)) != CTAP2_OK)
		return r;
	memcpy(msg, enc, enc_len);
	memcpy(msg + enc_len, ph, ph_len);
	if (!pp_verify(protocol, s.key, msg, enc_len + ph_len, auth, auth_len))
		r = CTAP2_ERR_PIN_AUTH_INVALID;
	else if ((r = check_pin_hash(sf, &s, p[P_PINHASH])) == CTAP2_OK)
		r = store_new_pin(sf, &s, enc, enc_len);
	sf_wipe(&s, sizeof(s));
	return r;
}

static int
get_token(struct softfido *sf, uint8_t protocol, uint8_t sub,
    const cbor_item_t **p, cbor_item_t **reply)
{
	struct shared	 s;
	cbor_item_t	*map = NULL;
	uint8_t		 enc[SF_TOKEN_LEN + 16];
	uint8_t		 rp_hash[SF_HASH_LEN];
	char		 rp_id[SF_MAX_RPID + 1];
	size_t		 enc_len = 0;
	uint64_t	 perms = SF_PERM_MC | SF_PERM_GA;
	bool		 has_rp = false;
	int		 r;

	memset(&s, 0, sizeof(s));
	if (p[P_KEYAGREE] == NULL || p[P_PINHASH] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (sub == SUB_GET_PIN_TOKEN) {
		if (p[P_PERMS] != NULL || p[P_RPID] != NULL)
			return CTAP1_ERR_INVALID_PARAMETER;
	} else {
		if (p[P_PERMS] == NULL)
			return CTAP2_ERR_MISSING_PARAMETER;
		if ((r = sf_cbor_uint(p[P_PERMS], &perms)) != CTAP2_OK)
			return r;
		if (perms == 0)
			return CTAP1_ERR_INVALID_PARAMETER;
		if ((perms & ~(uint64_t)(SF_PERM_MC | SF_PERM_GA)) != 0)
			return CTAP2_ERR_UNAUTHORIZED_PERMISSION;
		if (p[P_RPID] != NULL) {
			if ((r = sf_cbor_text(p[P_RPID], rp_id, sizeof(rp_id),
			    false)) != CTAP2_OK)
				return r;
			if (sf_sha256(rp_id, strlen(rp_id), rp_hash) != 0)
				return CTAP1_ERR_OTHER;
			has_rp = true;
		}
	}
	if (!sf->pin_set)
		return CTAP2_ERR_PIN_NOT_SET;
	if (sf->pin_retries == 0)
		return CTAP2_ERR_PIN_BLOCKED;
	if (sf->pin_fails >= SF_PIN_CONSEC_FAILS)
		return CTAP2_ERR_PIN_AUTH_BLOCKED;
	if ((r = shared_secret(sf, protocol, p[P_KEYAGREE], &s)) != CTAP2_OK ||
	    (r = check_pin_hash(sf, &s, p[P_PINHASH])) != CTAP2_OK)
		goto out;

	r = CTAP1_ERR_OTHER;
	if (new_token(sf) != 0)
		goto out;
	sf->token.valid = true;
	sf->token.protocol = protocol;
	sf->token.perms = (uint8_t)perms;
	sf->token.has_rp = has_rp;
	if (has_rp)
		memcpy(sf->token.rp_id_hash, rp_hash, SF_HASH_LEN);
	if (pp_encrypt(&s, sf->token.key, SF_TOKEN_LEN, enc, sizeof(enc),
	    &enc_len) != 0 || (map = cbor_new_definite_map(1)) == NULL ||
	    sf_cbor_put_uint(map, 2, cbor_build_bytestring(enc, enc_len)) != 0)
		goto out;
	*reply = map;
	map = NULL;
	r = CTAP2_OK;
out:
	if (map != NULL)
		cbor_decref(&map);
	sf_wipe(enc, sizeof(enc));
	sf_wipe(&s, sizeof(s));
	return r;
}

int
sf_clientpin(struct softfido *sf, const cbor_item_t *params,
    cbor_item_t **reply)
{
	const cbor_item_t	*p[P_MAX];
	cbor_item_t		*map = NULL;
	uint64_t		 protocol = 0, sub;
	int			 r;

	*reply = NULL;
	if ((r = sf_cbor_uint_map(params, p, P_MAX)) != CTAP2_OK)
		return r;
	if (p[P_SUBCMD] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_uint(p[P_SUBCMD], &sub)) != CTAP2_OK)
		return r;

	if (sub == SUB_GET_RETRIES) {
		if ((map = cbor_new_definite_map(1)) == NULL ||
		    sf_cbor_put_uint(map, 3,
		    sf_cbor_build_int(sf->pin_retries)) != 0) {
			if (map != NULL)
				cbor_decref(&map);
			return CTAP1_ERR_OTHER;
		}
		*reply = map;
		return CTAP2_OK;
	}

	if (sub != SUB_GET_KEY_AGREEMENT && sub != SUB_SET_PIN &&
	    sub != SUB_CHANGE_PIN && sub != SUB_GET_PIN_TOKEN &&
	    (sub != SUB_GET_TOKEN_PERMS ||
	    sf->profile != SOFTFIDO_PROFILE_CTAP21))
		return CTAP2_ERR_INVALID_SUBCOMMAND;
	if (p[P_PROTOCOL] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_uint(p[P_PROTOCOL], &protocol)) != CTAP2_OK)
		return r;
	if (!sf_pin_protocol_ok(sf, protocol))
		return CTAP1_ERR_INVALID_PARAMETER;

	switch (sub) {
	case SUB_GET_KEY_AGREEMENT:
		return get_key_agreement(sf, reply);
	case SUB_SET_PIN:
		return set_pin(sf, (uint8_t)protocol, p);
	case SUB_CHANGE_PIN:
		return change_pin(sf, (uint8_t)protocol, p);
	default:
		return get_token(sf, (uint8_t)protocol, (uint8_t)sub, p, reply);
	}
}
