/*
 * Attestation: a per-device P-256 "batch" key with a self-signed X.509
 * certificate shaped as WebAuthn section 8.2.1 asks for packed attestation
 * (version 3, OU "Authenticator Attestation", CA:FALSE, the AAGUID in the
 * id-fido-gen-ce-aaguid extension), and the packed / none statements.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/softfido/sf_int.h"

#define OID_FIDO_GEN_CE_AAGUID	"1.3.6.1.4.1.45724.1.1.4"
#define CERT_DAYS		(20 * 365)

static int
add_name(X509_NAME *name, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0) == 1 ? 0 : -1;
}

static int
add_aaguid_ext(X509 *cert, const uint8_t aaguid[SF_AAGUID_LEN])
{
	ASN1_OBJECT		*obj = NULL;
	ASN1_OCTET_STRING	*val = NULL;
	X509_EXTENSION		*ext = NULL;
	uint8_t			 der[2 + SF_AAGUID_LEN];
	int			 r = -1;

	/* extnValue holds the DER of an OCTET STRING of the 16-byte AAGUID */
	der[0] = 0x04;
	der[1] = SF_AAGUID_LEN;
	memcpy(der + 2, aaguid, SF_AAGUID_LEN);
	if ((obj = OBJ_txt2obj(OID_FIDO_GEN_CE_AAGUID, 1)) == NULL ||
	    (val = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(val, der, (int)sizeof(der)) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val)) == NULL ||
	    X509_add_ext(cert, ext, -1) != 1)
		goto out;
	r = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(obj);
	return r;
}

static int
add_basic_constraints(X509 *cert)
{
	X509_EXTENSION	*ext;
	int		 r;

	if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:FALSE")) == NULL)
		return -1;
	r = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

int
sf_attest_create(struct softfido *sf)
{
	X509		*cert = NULL;
	X509_NAME	*name = NULL;
	EVP_PKEY	*key = NULL;
	uint8_t		 priv[32], serial[8];
	BIGNUM		*bn = NULL;
	unsigned char	*der = NULL;
	int		 der_len;
	int		 r = -1;

	if (sf_p256_generate(priv, &key) != 0 ||
	    sf_random(serial, sizeof(serial)) != 0)
		goto out;
	serial[0] &= 0x7f;	/* positive */
	serial[0] |= 0x01;	/* and not zero */
	if ((cert = X509_new()) == NULL ||
	    X509_set_version(cert, X509_VERSION_3) != 1 ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -86400L) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), CERT_DAYS, 0,
	    NULL) == NULL ||
	    (name = X509_NAME_new()) == NULL ||
	    add_name(name, "C", "ZZ") != 0 ||
	    add_name(name, "O", "ownerbind softfido") != 0 ||
	    add_name(name, "OU", "Authenticator Attestation") != 0 ||
	    add_name(name, "CN", "softfido batch attestation") != 0 ||
	    X509_set_subject_name(cert, name) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 ||
	    X509_set_pubkey(cert, key) != 1 ||
	    add_basic_constraints(cert) != 0 ||
	    add_aaguid_ext(cert, sf->aaguid) != 0 ||
	    X509_sign(cert, key, EVP_sha256()) <= 0 ||
	    (der_len = i2d_X509(cert, &der)) <= 0)
		goto out;

	EVP_PKEY_free(sf->att_key);
	free(sf->att_cert);
	memcpy(sf->att_priv, priv, sizeof(priv));
	sf->att_key = key;
	sf->att_cert = der;
	sf->att_cert_len = (size_t)der_len;
	key = NULL;
	der = NULL;
	r = 0;
out:
	sf_wipe(priv, sizeof(priv));
	OPENSSL_free(der);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

int
sf_attest_statement(struct softfido *sf, const struct sf_credkey *k,
    const uint8_t *signed_data, size_t signed_len, cbor_item_t **fmt,
    cbor_item_t **stmt)
{
	cbor_item_t	*f = NULL, *s = NULL, *x5c = NULL;
	uint8_t		 sig[80];
	size_t		 sig_len = sizeof(sig);
	EVP_PKEY	*signer;
	int		 alg;
	int		 r = -1;

	*fmt = NULL;
	*stmt = NULL;

	if (sf->attestation == SOFTFIDO_ATT_NONE) {
		if ((f = cbor_build_string("none")) == NULL ||
		    (s = cbor_new_definite_map(0)) == NULL)
			goto out;
		goto done;
	}

	if (sf->attestation == SOFTFIDO_ATT_SELF) {
		signer = k->pkey;
		alg = k->cose_alg;
	} else {
		signer = sf->att_key;
		alg = SF_COSE_ES256;
	}
	if (signer == NULL ||
	    sf_sign(signer, signed_data, signed_len, sig, &sig_len) != 0)
		goto out;

	/* keys in canonical order: "alg", "sig", "x5c" */
	if ((f = cbor_build_string("packed")) == NULL ||
	    (s = cbor_new_definite_map(3)) == NULL ||
	    sf_cbor_put_str(s, "alg", sf_cbor_build_int(alg)) != 0 ||
	    sf_cbor_put_str(s, "sig",
	    cbor_build_bytestring(sig, sig_len)) != 0)
		goto out;
	if (sf->attestation == SOFTFIDO_ATT_BATCH) {
		if ((x5c = cbor_new_definite_array(1)) == NULL ||
		    sf_cbor_push(x5c, cbor_build_bytestring(sf->att_cert,
		    sf->att_cert_len)) != 0)
			goto out;
		r = sf_cbor_put_str(s, "x5c", x5c);
		x5c = NULL;
		if (r != 0)
			goto out;
	}
done:
	*fmt = f;
	*stmt = s;
	f = s = NULL;
	r = 0;
out:
	if (x5c != NULL)
		cbor_decref(&x5c);
	if (f != NULL)
		cbor_decref(&f);
	if (s != NULL)
		cbor_decref(&s);
	return r;
}
