/*
 * Credential key pairs and credential ids.
 *
 * A credential id carries its own private key, sealed to the device:
 *
 *	offset	len	field
 *	0	1	version, 0x01
 *	1	1	algorithm: 0x01 ES256 (P-256 scalar), 0x02 EdDSA (Ed25519 seed)
 *	2	12	AES-GCM nonce, random
 *	14	32	encrypted private key
 *	46	16	AES-GCM tag
 *
 * key = HKDF-SHA-256(salt = "softfido", ikm = master secret,
 *                    info = "softfido credential id v1")
 * AAD = id[0..2] || SHA-256(rpId)
 *
 * So an id only opens on the device that made it and for the RP it was made
 * for; a reset (new master secret) invalidates all of them. Resident
 * credentials use the same ids and keep only user data in the state file.
 */
#include <string.h>

#include <openssl/core_names.h>

#include "tests/softfido/sf_int.h"

#define ID_VERSION	0x01
#define ID_ALG_ES256	0x01
#define ID_ALG_EDDSA	0x02
#define ID_HDR_LEN	2
#define ID_NONCE_LEN	12
#define ID_SECRET_LEN	32
#define ID_TAG_LEN	16

_Static_assert(ID_HDR_LEN + ID_NONCE_LEN + ID_SECRET_LEN + ID_TAG_LEN ==
    SF_CRED_ID_LEN, "credential id layout");

static int
wrap_key(const struct softfido *sf, uint8_t key[32])
{
	static const uint8_t salt[] = "softfido";

	return sf_hkdf_sha256(salt, sizeof(salt) - 1, sf->master,
	    sizeof(sf->master), "softfido credential id v1", key, 32);
}

static EVP_PKEY *
key_from_secret(int cose_alg, const uint8_t secret[32])
{
	switch (cose_alg) {
	case SF_COSE_ES256:
		return sf_p256_from_scalar(secret);
	case SF_COSE_EDDSA:
		return EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL,
		    secret, 32);
	default:
		return NULL;
	}
}

void
sf_credkey_clear(struct sf_credkey *k)
{
	EVP_PKEY_free(k->pkey);
	sf_wipe(k, sizeof(*k));
}

int
sf_credkey_generate(int cose_alg, struct sf_credkey *k)
{
	memset(k, 0, sizeof(*k));
	k->cose_alg = cose_alg;
	switch (cose_alg) {
	case SF_COSE_ES256:
		if (sf_p256_generate(k->secret, &k->pkey) != 0)
			goto fail;
		return 0;
	case SF_COSE_EDDSA:
		if (sf_random(k->secret, sizeof(k->secret)) != 0 ||
		    (k->pkey = key_from_secret(cose_alg, k->secret)) == NULL)
			goto fail;
		return 0;
	default:
		break;
	}
fail:
	sf_credkey_clear(k);
	return -1;
}

static void
make_aad(const uint8_t hdr[ID_HDR_LEN], const uint8_t rp_id_hash[32],
    uint8_t aad[ID_HDR_LEN + SF_HASH_LEN])
{
	memcpy(aad, hdr, ID_HDR_LEN);
	memcpy(aad + ID_HDR_LEN, rp_id_hash, SF_HASH_LEN);
}

int
sf_credkey_wrap(const struct softfido *sf, const uint8_t rp_id_hash[32],
    const struct sf_credkey *k, uint8_t id[SF_CRED_ID_LEN])
{
	uint8_t	key[32], aad[ID_HDR_LEN + SF_HASH_LEN];
	uint8_t	buf[SF_CRED_ID_LEN];
	int	r = -1;

	buf[0] = ID_VERSION;
	switch (k->cose_alg) {
	case SF_COSE_ES256:
		buf[1] = ID_ALG_ES256;
		break;
	case SF_COSE_EDDSA:
		buf[1] = ID_ALG_EDDSA;
		break;
	default:
		return -1;
	}
	make_aad(buf, rp_id_hash, aad);
	if (wrap_key(sf, key) != 0 ||
	    sf_random(buf + ID_HDR_LEN, ID_NONCE_LEN) != 0 ||
	    sf_aes256_gcm_seal(key, buf + ID_HDR_LEN, aad, sizeof(aad),
	    k->secret, ID_SECRET_LEN, buf + ID_HDR_LEN + ID_NONCE_LEN,
	    buf + ID_HDR_LEN + ID_NONCE_LEN + ID_SECRET_LEN) != 0)
		goto out;
	memcpy(id, buf, sizeof(buf));
	r = 0;
out:
	sf_wipe(key, sizeof(key));
	return r;
}

int
sf_credkey_unwrap(const struct softfido *sf, const uint8_t rp_id_hash[32],
    const uint8_t *id, size_t id_len, struct sf_credkey *k)
{
	uint8_t	key[32], aad[ID_HDR_LEN + SF_HASH_LEN];
	int	cose_alg;

	memset(k, 0, sizeof(*k));
	if (id_len != SF_CRED_ID_LEN || id[0] != ID_VERSION)
		return -1;
	switch (id[1]) {
	case ID_ALG_ES256:
		cose_alg = SF_COSE_ES256;
		break;
	case ID_ALG_EDDSA:
		cose_alg = SF_COSE_EDDSA;
		break;
	default:
		return -1;
	}
	make_aad(id, rp_id_hash, aad);
	if (wrap_key(sf, key) != 0 ||
	    sf_aes256_gcm_open(key, id + ID_HDR_LEN, aad, sizeof(aad),
	    id + ID_HDR_LEN + ID_NONCE_LEN, ID_SECRET_LEN,
	    id + ID_HDR_LEN + ID_NONCE_LEN + ID_SECRET_LEN, k->secret) != 0) {
		sf_wipe(key, sizeof(key));
		sf_credkey_clear(k);
		return -1;
	}
	sf_wipe(key, sizeof(key));
	k->cose_alg = cose_alg;
	if ((k->pkey = key_from_secret(cose_alg, k->secret)) == NULL) {
		sf_credkey_clear(k);
		return -1;
	}
	return 0;
}

/* COSE_Key (RFC 8152 section 7) in CTAP2 canonical key order. */
cbor_item_t *
sf_credkey_cose(const struct sf_credkey *k)
{
	cbor_item_t	*map = NULL;
	uint8_t		 x[32], y[32];
	size_t		 len = sizeof(x);
	int		 ok = -1;

	switch (k->cose_alg) {
	case SF_COSE_ES256:
		if (sf_p256_public(k->pkey, x, y) != 0 ||
		    (map = cbor_new_definite_map(5)) == NULL ||
		    sf_cbor_put(map, sf_cbor_build_int(1),
		    sf_cbor_build_int(2)) != 0 ||		/* kty: EC2 */
		    sf_cbor_put(map, sf_cbor_build_int(3),
		    sf_cbor_build_int(SF_COSE_ES256)) != 0 ||
		    sf_cbor_put(map, sf_cbor_build_int(-1),
		    sf_cbor_build_int(1)) != 0 ||		/* crv: P-256 */
		    sf_cbor_put(map, sf_cbor_build_int(-2),
		    cbor_build_bytestring(x, sizeof(x))) != 0 ||
		    sf_cbor_put(map, sf_cbor_build_int(-3),
		    cbor_build_bytestring(y, sizeof(y))) != 0)
			goto out;
		break;
	case SF_COSE_EDDSA:
		if (EVP_PKEY_get_raw_public_key(k->pkey, x, &len) != 1 ||
		    len != sizeof(x) ||
		    (map = cbor_new_definite_map(4)) == NULL ||
		    sf_cbor_put(map, sf_cbor_build_int(1),
		    sf_cbor_build_int(1)) != 0 ||		/* kty: OKP */
		    sf_cbor_put(map, sf_cbor_build_int(3),
		    sf_cbor_build_int(SF_COSE_EDDSA)) != 0 ||
		    sf_cbor_put(map, sf_cbor_build_int(-1),
		    sf_cbor_build_int(6)) != 0 ||		/* crv: Ed25519 */
		    sf_cbor_put(map, sf_cbor_build_int(-2),
		    cbor_build_bytestring(x, sizeof(x))) != 0)
			goto out;
		break;
	default:
		goto out;
	}
	ok = 0;
out:
	if (ok != 0 && map != NULL)
		cbor_decref(&map);
	return map;
}
