/*
 * Key pairs generated on the token (ob_p11.h, ob_p11_keygen).  The private
 * key never exists outside the token: CKA_SENSITIVE true, CKA_EXTRACTABLE
 * false, read back after generation because the token's word is checked,
 * not trusted.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/deconst.h"
#include "core/err.h"
#include "pkcs11/p11_int.h"

/* Ed25519 CKA_EC_PARAMS: SoftHSM 2.6 wants the PrintableString, PKCS#11
 * 3.0 tokens the OID; both are tried in that order. */
static const unsigned char p256_oid[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char p384_oid[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char ed_name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a',
	'r', 'd', 's', '2', '5', '5', '1', '9' };
static const unsigned char ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

#define A_(t, p, l) do { tmpl[n].type = (t); tmpl[n].pValue = OB_DECONST(void *, p); \
	tmpl[n++].ulValueLen = (CK_ULONG)(l); } while (0)

static int
keygen_check(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE priv)
{
	CK_BBOOL	sens = CK_FALSE, extr = CK_TRUE, sign = CK_FALSE;
	CK_ATTRIBUTE	a[3] = {
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
		{ CKA_SIGN, &sign, sizeof(sign) },
	};
	CK_RV		rv;

	if ((rv = t->mod->f->C_GetAttributeValue(s, priv, a, 3)) != CKR_OK)
		return p11_err(rv, "C_GetAttributeValue", t->label);
	if (sens != CK_TRUE || extr != CK_FALSE || sign != CK_TRUE)
		return ob_errf(OB_ERR_DEVICE, "token \"%s\" did not keep the "
		    "new key sensitive, non-extractable and for signing",
		    t->label);
	return OB_OK;
}

static int
keygen_on(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct p11_uri *u, enum ob_alg alg)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_MECHANISM		 mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_CLASS		 pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
	CK_KEY_TYPE		 kt = CKK_EC;
	CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG		 bits = 3072, n, npub;
	CK_BYTE			 e[] = { 0x01, 0x00, 0x01 };
	CK_ATTRIBUTE		 tmpl[24];
	CK_OBJECT_HANDLE	 hpub, hpriv;
	const unsigned char	*params = NULL;
	unsigned char		 rid[16];
	const unsigned char	*id = u->id;
	size_t			 idlen = u->idlen, plen = 0;
	CK_RV			 rv;
	int			 r, retry;

	switch (alg) {
	case OB_ALG_ES256:
		params = p256_oid;
		plen = sizeof(p256_oid);
		break;
	case OB_ALG_ES384:
		params = p384_oid;
		plen = sizeof(p384_oid);
		break;
	case OB_ALG_EDDSA:
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		kt = CKK_EC_EDWARDS;
		params = ed_name;
		plen = sizeof(ed_name);
		break;
	case OB_ALG_PS256:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		kt = CKK_RSA;
		break;
	default:
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "%s keys cannot live on "
		    "a PKCS#11 token", ob_alg_name(alg));
	}
	if ((r = p11_mech_check(t, mech.mechanism, CKF_GENERATE_KEY_PAIR)) !=
	    OB_OK || (r = p11_mech_check(t, p11_sign_mech(alg), CKF_SIGN)) !=
	    OB_OK)
		return r;
	if ((r = p11_object_exists(t, s, u->label, u->id, u->idlen)) != 0)
		return r < 0 ? r : ob_errf(OB_ERR_KEY_EXISTS, "token \"%s\" "
		    "already has an object with this object= or id=",
		    t->label);
	if (id == NULL) {
		if (RAND_bytes(rid, sizeof(rid)) != 1)
			return ob_errf(OB_ERR_RANDOM, "RAND_bytes");
		id = rid;
		idlen = sizeof(rid);
	}
	for (retry = 0; retry < 2; retry++) {
		n = 0;
		A_(CKA_CLASS, &pubc, sizeof(pubc));
		A_(CKA_KEY_TYPE, &kt, sizeof(kt));
		A_(CKA_TOKEN, &yes, sizeof(yes));
		A_(CKA_PRIVATE, &no, sizeof(no));
		A_(CKA_VERIFY, &yes, sizeof(yes));
		A_(CKA_ENCRYPT, &no, sizeof(no));
		A_(CKA_WRAP, &no, sizeof(no));
		A_(CKA_ID, id, idlen);
		if (u->label != NULL)
			A_(CKA_LABEL, u->label, strlen(u->label));
		if (kt == CKK_RSA) {
			A_(CKA_MODULUS_BITS, &bits, sizeof(bits));
			A_(CKA_PUBLIC_EXPONENT, e, sizeof(e));
		} else
			A_(CKA_EC_PARAMS, params, plen);
		npub = n;
		A_(CKA_CLASS, &privc, sizeof(privc));
		A_(CKA_KEY_TYPE, &kt, sizeof(kt));
		A_(CKA_TOKEN, &yes, sizeof(yes));
		A_(CKA_PRIVATE, &yes, sizeof(yes));
		A_(CKA_SENSITIVE, &yes, sizeof(yes));
		A_(CKA_EXTRACTABLE, &no, sizeof(no));
		A_(CKA_SIGN, &yes, sizeof(yes));
		A_(CKA_DECRYPT, &no, sizeof(no));
		A_(CKA_DERIVE, &no, sizeof(no));
		A_(CKA_UNWRAP, &no, sizeof(no));
		A_(CKA_ID, id, idlen);
		if (u->label != NULL)
			A_(CKA_LABEL, u->label, strlen(u->label));
		rv = f->C_GenerateKeyPair(s, &mech, tmpl, npub, tmpl + npub,
		    n - npub, &hpub, &hpriv);
		if (kt == CKK_EC_EDWARDS && params == ed_name &&
		    (rv == CKR_ATTRIBUTE_VALUE_INVALID ||
		    rv == CKR_DOMAIN_PARAMS_INVALID ||
		    rv == CKR_CURVE_NOT_SUPPORTED)) {
			params = ed_oid;
			plen = sizeof(ed_oid);
			continue;
		}
		break;
	}
	if (rv != CKR_OK)
		return p11_err(rv, "C_GenerateKeyPair", t->label);
	if ((r = keygen_check(t, s, hpriv)) != OB_OK) {
		(void)f->C_DestroyObject(s, hpriv);
		(void)f->C_DestroyObject(s, hpub);
	}
	return r;
}

int
ob_p11_keygen(const char *uri, enum ob_alg alg,
    const struct ob_pin_source *pin, int quiet)
{
	struct p11_uri		 *u = NULL;
	struct p11_module	**mods = NULL;
	struct p11_token	  t;
	struct ob_pin_source	 *own = NULL;
	CK_SESSION_HANDLE	  s = CK_INVALID_HANDLE;
	size_t			  nmods = 0;
	CK_RV			  rv;
	int			  r, locked = 0;

	memset(&t, 0, sizeof(t));
	if (alg == OB_ALG_INVALID)
		alg = OB_ALG_ES256;
	OB_TRY(p11_uri_parse(uri, &u));
	if (u->label == NULL) {
		r = ob_errf(OB_ERR_KEY_URI, "a new key needs a label: object=");
		goto out;
	}
	if (u->pin_spec != NULL) {
		OB_TRY(ob_pin_source_parse(u->pin_spec, &own));
		pin = own;
	}
	OB_TRY(p11_modules_for(u, &mods, &nmods));
	OB_TRY(p11_token_find(u, mods, nmods, &t));
	pthread_rwlock_rdlock(&t.mod->life);
	locked = 1;
	if ((rv = t.mod->f->C_OpenSession(t.slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK) {
		r = p11_err(rv, "C_OpenSession", t.label);
		goto out;
	}
	OB_TRY(p11_login(&t, s, pin, 0, NULL, quiet));
	r = keygen_on(&t, s, u, alg);
out:
	if (s != CK_INVALID_HANDLE)
		(void)t.mod->f->C_CloseSession(s);
	if (locked)
		pthread_rwlock_unlock(&t.mod->life);
	free(mods);
	ob_pin_source_free(&own);
	p11_uri_free(&u);
	return r;
}
