/*
 * piv_crypto.h - cryptography of the virtual PIV card (OpenSSL 3 EVP).
 *
 * Functions return PIV_OK or a PIV_ERR_* code (piv_card.h) and write their
 * outputs only on success.  EVP_PKEY and X509 results belong to the caller;
 * DER buffers from vpiv_cert_der() are released with OPENSSL_free().
 */
#ifndef VPIV_PIV_CRYPTO_H
#define VPIV_PIV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Algorithm identifiers (SP 800-78-4 table 6-2). */
#define ALG_3DES		0x03
#define ALG_AES128		0x08
#define ALG_AES192		0x0a
#define ALG_AES256		0x0c
#define ALG_RSA1024		0x06
#define ALG_RSA2048		0x07
#define ALG_P256		0x11
#define ALG_P384		0x14

/* Field length in bytes of an EC algorithm; 0 for anything else. */
size_t		 vpiv_ec_field_len(uint8_t);
const char	*vpiv_ec_group_name(uint8_t);

int	vpiv_random(uint8_t *, size_t) PIV_WUR;
int	vpiv_ec_generate(uint8_t alg, EVP_PKEY **) PIV_WUR;
/* Uncompressed point 04 || X || Y. */
int	vpiv_ec_point(EVP_PKEY *, uint8_t *, size_t, size_t *) PIV_WUR;
/* ALG_P256 / ALG_P384 for a key on those curves, else 0. */
uint8_t	vpiv_ec_alg_of(EVP_PKEY *);
/* Big-endian scalar of exactly the field length, 1 <= d < n. */
int	vpiv_ec_from_scalar(uint8_t alg, const uint8_t *, size_t,
	    EVP_PKEY **) PIV_WUR;
/* ECDSA over a digest (no hashing); DER signature. */
int	vpiv_ec_sign(EVP_PKEY *, const uint8_t *, size_t, uint8_t *, size_t,
	    size_t *) PIV_WUR;
/* ECDH with an uncompressed peer point (checked on the curve). */
int	vpiv_ec_derive(EVP_PKEY *, uint8_t alg, const uint8_t *, size_t,
	    uint8_t *, size_t, size_t *) PIV_WUR;

/* Management-key ciphers (3DES, AES-128/192/256), ECB, one block. */
const EVP_CIPHER *vpiv_sym_cipher(uint8_t alg, size_t *keylen,
	    size_t *block);
int	vpiv_sym_crypt(uint8_t alg, const uint8_t *key, size_t keylen,
	    int encrypt, const uint8_t *in, uint8_t *out) PIV_WUR;

/* v3 certificate skeleton: random serial, subject CN, public key. */
int	vpiv_cert_new(const char *cn, EVP_PKEY *, X509 **) PIV_WUR;
/* Add a non-critical extension with raw extnValue content. */
int	vpiv_cert_add_ext(X509 *, const char *oid, const uint8_t *,
	    size_t) PIV_WUR;
int	vpiv_cert_der(X509 *, uint8_t **, size_t *) PIV_WUR;
/* CA certificate (20 years); issuer == NULL makes it self-signed. */
int	vpiv_cert_make_ca(const char *cn, EVP_PKEY *subject_key, X509 *issuer,
	    EVP_PKEY *issuer_key, int pathlen0, X509 **) PIV_WUR;

#endif /* VPIV_PIV_CRYPTO_H */
