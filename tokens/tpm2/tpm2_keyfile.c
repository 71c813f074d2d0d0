/*
 * TSS2 PRIVATE KEY files: the PEM format tpm2-tss-engine, tpm2-openssl and
 * tpm2-tools share (docs/tpm2.md, "Key files"):
 *
 *   TPMKey ::= SEQUENCE {
 *     type       OBJECT IDENTIFIER,      -- 2.23.133.10.1.3 (loadable key)
 *     emptyAuth  [0] EXPLICIT BOOLEAN OPTIONAL,
 *     parent     INTEGER,                -- 0x40000001: the owner SRK
 *     pubkey     OCTET STRING,           -- marshalled TPM2B_PUBLIC
 *     privkey    OCTET STRING }          -- marshalled TPM2B_PRIVATE
 *
 * Keys with policies ([1] policy, [2] secret, [3] authPolicy) or of the
 * importable/sealed types are refused: ownerbind cannot satisfy them.
 * The file holds the key wrapped by the TPM's storage key; it is useless
 * without that TPM, but is written 0600 like any key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "common/secfile.h"
#include "core/err.h"
#include "tokens/tpm2/tpm2_int.h"

#define KEYFILE_PEM	"TSS2 PRIVATE KEY"
#define KEYFILE_OID	"2.23.133.10.1.3"
#define KEYFILE_MAX	(16 * 1024)

typedef struct {
	ASN1_OBJECT		*type;
	ASN1_BOOLEAN		 empty_auth;
	ASN1_INTEGER		*parent;
	ASN1_OCTET_STRING	*pubkey;
	ASN1_OCTET_STRING	*privkey;
} TPM2_KEYFILE;

ASN1_SEQUENCE(TPM2_KEYFILE) = {
	ASN1_SIMPLE(TPM2_KEYFILE, type, ASN1_OBJECT),
	ASN1_EXP_OPT(TPM2_KEYFILE, empty_auth, ASN1_BOOLEAN, 0),
	ASN1_SIMPLE(TPM2_KEYFILE, parent, ASN1_INTEGER),
	ASN1_SIMPLE(TPM2_KEYFILE, pubkey, ASN1_OCTET_STRING),
	ASN1_SIMPLE(TPM2_KEYFILE, privkey, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(TPM2_KEYFILE)

static int
keyfile_decode(const unsigned char *der, long derlen, struct tpm2_key *key)
{
	TPM2_KEYFILE		*kf;
	const unsigned char	*p = der;
	char			 oid[64];
	uint64_t		 parent;
	size_t			 off;
	int			 r = OB_ERR_KEY_LOAD;

	kf = (TPM2_KEYFILE *)ASN1_item_d2i(NULL, &p, derlen,
	    ASN1_ITEM_rptr(TPM2_KEYFILE));
	if (kf == NULL || p != der + derlen) {
		r = ob_errf(OB_ERR_KEY_LOAD, "not a TSS2 PRIVATE KEY without "
		    "policy (or trailing data)");
		goto out;
	}
	if (OBJ_obj2txt(oid, sizeof(oid), kf->type, 1) <= 0 ||
	    strcmp(oid, KEYFILE_OID) != 0) {
		r = ob_errf(OB_ERR_KEY_LOAD, "TSS2 key type %.63s is not a "
		    "loadable key (" KEYFILE_OID ")", oid);
		goto out;
	}
	if (ASN1_INTEGER_get_uint64(&parent, kf->parent) != 1 ||
	    parent > UINT32_MAX) {
		r = ob_errf(OB_ERR_KEY_LOAD, "TSS2 key parent out of range");
		goto out;
	}
	key->parent = parent == 0 ? TPM2_RH_OWNER : (uint32_t)parent;
	key->empty_auth = kf->empty_auth > 0;
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(ASN1_STRING_get0_data(kf->pubkey),
	    (size_t)ASN1_STRING_length(kf->pubkey), &off, &key->pub) !=
	    TSS2_RC_SUCCESS || off != (size_t)ASN1_STRING_length(kf->pubkey)) {
		r = ob_errf(OB_ERR_KEY_LOAD, "TSS2 key: bad TPM2B_PUBLIC");
		goto out;
	}
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(ASN1_STRING_get0_data(kf->privkey),
	    (size_t)ASN1_STRING_length(kf->privkey), &off, &key->priv) !=
	    TSS2_RC_SUCCESS || off != (size_t)ASN1_STRING_length(kf->privkey) ||
	    key->priv.size == 0) {
		r = ob_errf(OB_ERR_KEY_LOAD, "TSS2 key: bad TPM2B_PRIVATE");
		goto out;
	}
	r = OB_OK;
out:
	ASN1_item_free((ASN1_VALUE *)kf, ASN1_ITEM_rptr(TPM2_KEYFILE));
	return r;
}

int
tpm2_keyfile_read(const char *path, struct tpm2_key *key)
{
	BIO		*bio;
	unsigned char	*der = NULL;
	char		*name = NULL, *hdr = NULL;
	long		 len = 0;
	int		 r;

	if ((bio = BIO_new_file(path, "r")) == NULL)
		return errno == ENOENT ? ob_errf(OB_ERR_KEY_NOT_FOUND, "%s",
		    path) : ob_errf(OB_ERR_IO, "%s: %s", path, strerror(errno));
	if (PEM_read_bio(bio, &name, &hdr, &der, &len) != 1 ||
	    strcmp(name, KEYFILE_PEM) != 0 || hdr[0] != '\0' ||
	    len <= 0 || len > KEYFILE_MAX) {
		r = ob_errf(OB_ERR_KEY_LOAD, "%s: not a \"" KEYFILE_PEM "\" PEM "
		    "file", path);
		goto out;
	}
	if ((r = keyfile_decode(der, len, key)) != OB_OK)
		r = ob_err_prefix(r, "%s", path);
out:
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(der);
	return r;
}

static int
keyfile_encode(const struct tpm2_key *key, unsigned char **der, int *derlen)
{
	TPM2_KEYFILE	*kf;
	uint8_t		 pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)];
	size_t		 publen = 0, privlen = 0;
	int		 r = OB_ERR_ALLOC;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&key->pub, pub, sizeof(pub),
	    &publen) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(&key->priv, priv, sizeof(priv),
	    &privlen) != TSS2_RC_SUCCESS)
		return ob_errf(OB_ERR_INTERNAL, "marshalling the TPM key");
	if ((kf = (TPM2_KEYFILE *)ASN1_item_new(
	    ASN1_ITEM_rptr(TPM2_KEYFILE))) == NULL)
		return OB_ERR_ALLOC;
	ASN1_OBJECT_free(kf->type);
	if ((kf->type = OBJ_txt2obj(KEYFILE_OID, 1)) == NULL ||
	    ASN1_INTEGER_set_uint64(kf->parent, key->parent) != 1 ||
	    ASN1_OCTET_STRING_set(kf->pubkey, pub, (int)publen) != 1 ||
	    ASN1_OCTET_STRING_set(kf->privkey, priv, (int)privlen) != 1)
		goto out;
	kf->empty_auth = key->empty_auth ? 1 : 0;
	*der = NULL;
	if ((*derlen = ASN1_item_i2d((ASN1_VALUE *)kf, der,
	    ASN1_ITEM_rptr(TPM2_KEYFILE))) <= 0)
		goto out;
	r = OB_OK;
out:
	ASN1_item_free((ASN1_VALUE *)kf, ASN1_ITEM_rptr(TPM2_KEYFILE));
	return r;
}

int
tpm2_keyfile_write(const char *path, const struct tpm2_key *key)
{
	unsigned char	*der = NULL;
	BIO		*bio = NULL;
	char		*pem = NULL;
	long		 pemlen = 0;
	int		 derlen = 0, r;

	OB_TRY(keyfile_encode(key, &der, &derlen));
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if (PEM_write_bio(bio, KEYFILE_PEM, "", der, derlen) <= 0 ||
	    (pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		r = ob_errf(OB_ERR_ALLOC, "PEM encoding of the TPM key");
		goto out;
	}
	OB_TRY(ob_secfile_write(path, pem, (size_t)pemlen));
	r = OB_OK;
out:
	if (pem != NULL)
		OPENSSL_cleanse(pem, (size_t)pemlen);
	BIO_free(bio);
	if (der != NULL)
		OPENSSL_cleanse(der, (size_t)derlen);
	OPENSSL_free(der);
	return r;
}
