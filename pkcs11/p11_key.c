/*
 * Finding the token and the key a URI names, logging in, and reading the
 * public key.  Everything the token returns is untrusted: attribute
 * values are read into bounded buffers, encodings are compared whole and
 * EC points must lie on their curve.  Except for p11_token_find, callers
 * hold the module's read lock.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pkey.h"
#include "pkcs11/p11_int.h"

#define LIST_MAX	480	/* candidates listed in a detail line */

/* ---- tokens -------------------------------------------------------- */

static void
list_add(char *list, size_t sz, const char *item)
{
	size_t n = strlen(list);

	if (n + strlen(item) + 3 >= sz)
		return;
	(void)snprintf(list + n, sz - n, "%s%s", n > 0 ? ", " : "", item);
}

static void
list_token(char *list, size_t sz, const char *label, const char *serial)
{
	char item[80];

	(void)snprintf(item, sizeof(item), "\"%s\" (serial %s)", label, serial);
	list_add(list, sz, item);
}

int
p11_token_find(const struct p11_uri *u, struct p11_module **mods,
    size_t nmods, struct p11_token *out)
{
	CK_INFO		 info;
	CK_SLOT_INFO	 si;
	CK_TOKEN_INFO	 ti;
	CK_SLOT_ID	*slots = NULL;
	CK_ULONG	 ns, j;
	CK_RV		 rv;
	char		 present[LIST_MAX], matched[LIST_MAX], lab[33], ser[17];
	size_t		 i, nmatch = 0;
	int		 r = OB_OK;

	present[0] = matched[0] = '\0';
	for (i = 0; i < nmods && r == OB_OK; i++) {
		struct p11_module *m = mods[i];

		if ((r = p11_module_check_fork(m)) != OB_OK)
			break;
		pthread_rwlock_rdlock(&m->life);
		if (m->f->C_GetInfo(&info) != CKR_OK ||
		    !p11_kit_uri_match_module_info(u->pk, &info))
			goto next;
		ns = 0;
		if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &ns)) != CKR_OK) {
			r = p11_err(rv, "C_GetSlotList", m->path);
			goto next;
		}
		if (ns == 0)
			goto next;
		if (ns > 1024 || (slots = calloc(ns, sizeof(*slots))) == NULL) {
			r = OB_ERR_ALLOC;
			goto next;
		}
		if ((rv = m->f->C_GetSlotList(CK_TRUE, slots, &ns)) != CKR_OK) {
			r = p11_err(rv, "C_GetSlotList", m->path);
			goto next;
		}
		for (j = 0; j < ns; j++) {
			if (m->f->C_GetSlotInfo(slots[j], &si) != CKR_OK ||
			    m->f->C_GetTokenInfo(slots[j], &ti) != CKR_OK ||
			    !(ti.flags & CKF_TOKEN_INITIALIZED))
				continue;
			p11_trim(ti.label, sizeof(ti.label), lab);
			p11_trim(ti.serialNumber, sizeof(ti.serialNumber), ser);
			list_token(present, sizeof(present), lab, ser);
			if (!p11_kit_uri_match_slot_info(u->pk, &si) ||
			    !p11_kit_uri_match_token_info(u->pk, &ti))
				continue;
			list_token(matched, sizeof(matched), lab, ser);
			if (nmatch++ == 0) {
				out->mod = m;
				out->slot = slots[j];
				out->ti = ti;
				memcpy(out->label, lab, sizeof(out->label));
				memcpy(out->serial, ser, sizeof(out->serial));
			}
		}
next:
		pthread_rwlock_unlock(&m->life);
		free(slots);
		slots = NULL;
	}
	if (r != OB_OK)
		return r;
	if (nmatch == 0)
		return ob_errf(OB_ERR_TOKEN_ABSENT, "no token matches %s; "
		    "tokens present: %s", u->token_desc, present[0] != '\0' ?
		    present : "none");
	if (nmatch > 1)
		return ob_errf(OB_ERR_KEY_AMBIGUOUS, "%s matches %zu tokens: "
		    "%s; add serial= to the URI", u->token_desc, nmatch,
		    matched);
	return OB_OK;
}

int
p11_token_refind(struct p11_token *t)
{
	struct p11_module	*m = t->mod;
	CK_TOKEN_INFO		 ti;
	CK_SLOT_ID		 slots[64];
	CK_ULONG		 ns = 64, j;
	CK_RV			 rv;
	char			 lab[33], ser[17];

	if ((rv = m->f->C_GetSlotList(CK_TRUE, slots, &ns)) != CKR_OK)
		return p11_err(rv, "C_GetSlotList", m->path);
	for (j = 0; j < ns; j++) {
		if (m->f->C_GetTokenInfo(slots[j], &ti) != CKR_OK)
			continue;
		p11_trim(ti.label, sizeof(ti.label), lab);
		p11_trim(ti.serialNumber, sizeof(ti.serialNumber), ser);
		if (strcmp(lab, t->label) == 0 && strcmp(ser, t->serial) == 0) {
			t->slot = slots[j];
			t->ti = ti;
			return OB_OK;
		}
	}
	return ob_errf(OB_ERR_TOKEN_ABSENT, "token \"%s\" (serial %s) is "
	    "gone", t->label, t->serial);
}

/* ---- login --------------------------------------------------------- */

static int
login_failed(const struct p11_token *t, CK_RV rv, const char *fn)
{
	CK_TOKEN_INFO	ti;
	CK_FLAGS	fl = 0;
	int		code;

	if (t->mod->f->C_GetTokenInfo(t->slot, &ti) == CKR_OK)
		fl = ti.flags;
	if (rv != CKR_PIN_INCORRECT)
		return p11_err(rv, fn, t->label);
	code = OB_ERR_PIN_INCORRECT;
	if (fl & CKF_USER_PIN_LOCKED)
		return ob_errf(OB_ERR_PIN_BLOCKED, "%s: %s: wrong PIN, and "
		    "that was the last try: the user PIN is now locked "
		    "(CKF_USER_PIN_LOCKED); unlock it with the SO PIN",
		    t->label, fn);
	if (fl & CKF_USER_PIN_FINAL_TRY)
		return ob_errf(code, "%s: %s: CKR_PIN_INCORRECT: 1 try left; "
		    "the next wrong PIN locks the token "
		    "(CKF_USER_PIN_FINAL_TRY)", t->label, fn);
	if (fl & CKF_USER_PIN_COUNT_LOW)
		return ob_errf(code, "%s: %s: CKR_PIN_INCORRECT: tries are "
		    "running low (CKF_USER_PIN_COUNT_LOW; the token does not "
		    "say how many are left)", t->label, fn);
	return ob_errf(code, "%s: %s: CKR_PIN_INCORRECT: the token does not "
	    "report how many tries are left", t->label, fn);
}

/* The token refused the PIN: the source must not hand it out again. */
static void
pin_refused(const struct ob_pin_source *src, CK_RV rv)
{
	if (src != NULL && (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID ||
	    rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_LOCKED ||
	    rv == CKR_PIN_EXPIRED))
		ob_pin_forget(src);
}

static int
pin_get(const struct p11_token *t, const struct ob_pin_source *src,
    const char *what, char **pin)
{
	char prompt[128];

	if (src == NULL)
		return ob_errf(OB_ERR_PIN_SOURCE, "token \"%s\" needs its user "
		    "PIN; give --pin-source or pin-source= in the URI",
		    t->label);
	(void)snprintf(prompt, sizeof(prompt), "%s for token \"%s\": ", what,
	    t->label);
	return ob_pin_read(src, prompt, pin);
}

int
p11_login(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct ob_pin_source *src, int keep, char **pin, int quiet)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_SESSION_INFO		 si;
	CK_TOKEN_INFO		 ti;
	CK_RV			 rv;
	char			*p = NULL;
	int			 r;

	if ((rv = f->C_GetSessionInfo(s, &si)) != CKR_OK)
		return p11_err(rv, "C_GetSessionInfo", t->label);
	if (si.state == CKS_RO_USER_FUNCTIONS ||
	    si.state == CKS_RW_USER_FUNCTIONS)
		return OB_OK;
	if ((rv = f->C_GetTokenInfo(t->slot, &ti)) != CKR_OK)
		return p11_err(rv, "C_GetTokenInfo", t->label);
	if (!(ti.flags & CKF_LOGIN_REQUIRED))
		return OB_OK;
	if (ti.flags & CKF_USER_PIN_LOCKED)
		return ob_errf(OB_ERR_PIN_BLOCKED, "%s: the user PIN is locked "
		    "(CKF_USER_PIN_LOCKED); unlock it with the SO PIN",
		    t->label);
	if (ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		if (!quiet)
			fprintf(stderr, "Enter the PIN for token \"%s\" on the "
			    "reader's PIN pad\n", t->label);
		rv = f->C_Login(s, CKU_USER, NULL, 0);
	} else {
		if (pin != NULL && *pin != NULL)
			p = *pin;
		else if ((r = pin_get(t, src, "PIN", &p)) != OB_OK)
			return r;
		rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)p,
		    (CK_ULONG)strlen(p));
		if (keep && pin != NULL)
			*pin = p;
		else {
			ob_pin_free(&p);
			if (pin != NULL)
				*pin = NULL;
		}
	}
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return OB_OK;
	if (keep && pin != NULL)
		ob_pin_free(pin);	/* never retry a wrong PIN */
	pin_refused(src, rv);
	return login_failed(t, rv, "C_Login");
}

int
p11_login_context(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct ob_pin_source *src, char **pin, int keep)
{
	CK_RV	 rv;
	char	*owned = NULL;
	int	 r;

	(void)keep;
	if (t->ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH)
		rv = t->mod->f->C_Login(s, CKU_CONTEXT_SPECIFIC, NULL, 0);
	else if (pin != NULL && *pin != NULL)
		rv = t->mod->f->C_Login(s, CKU_CONTEXT_SPECIFIC,
		    (CK_UTF8CHAR *)*pin, (CK_ULONG)strlen(*pin));
	else {
		if ((r = pin_get(t, src, "PIN to sign (this key asks every "
		    "time)", &owned)) != OB_OK)
			return r;
		rv = t->mod->f->C_Login(s, CKU_CONTEXT_SPECIFIC,
		    (CK_UTF8CHAR *)owned, (CK_ULONG)strlen(owned));
		ob_pin_free(&owned);
	}
	if (rv == CKR_OK)
		return OB_OK;
	pin_refused(src, rv);
	return login_failed(t, rv, "C_Login(CKU_CONTEXT_SPECIFIC)");
}

/* ---- attributes and objects ---------------------------------------- */

/* Read one attribute into buf[cap]; *len gets its length. */
static int
attr_read(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf, size_t cap,
    size_t *len)
{
	CK_ATTRIBUTE	a = { type, NULL, 0 };
	CK_RV		rv;

	if ((rv = t->mod->f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
		return p11_err(rv, "C_GetAttributeValue", t->label);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > cap)
		return ob_errf(OB_ERR_DEVICE, "%s: attribute 0x%lx of %lu "
		    "bytes (at most %zu expected)", t->label,
		    (unsigned long)type, (unsigned long)a.ulValueLen, cap);
	a.pValue = buf;
	if ((rv = t->mod->f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
		return p11_err(rv, "C_GetAttributeValue", t->label);
	if (a.ulValueLen > cap)
		return ob_errf(OB_ERR_DEVICE, "%s: attribute grew", t->label);
	*len = a.ulValueLen;
	return OB_OK;
}

static int
attr_bool(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, int dflt, int *out)
{
	CK_ATTRIBUTE	a;
	CK_BBOOL	b = CK_FALSE;

	a.type = type;
	a.pValue = &b;
	a.ulValueLen = sizeof(b);
	if (t->mod->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(b)) {
		*out = dflt;
		return OB_OK;
	}
	*out = b == CK_TRUE;
	return OB_OK;
}

static int
attr_ulong(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
	size_t len;
	int r;

	if ((r = attr_read(t, s, o, type, out, sizeof(*out), &len)) != OB_OK)
		return r;
	if (len != sizeof(*out))
		return ob_errf(OB_ERR_DEVICE, "%s: attribute 0x%lx has %zu "
		    "bytes", t->label, (unsigned long)type, len);
	return OB_OK;
}

/* Up to max handles matching tmpl. */
static int
find_objects(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *h, CK_ULONG max,
    CK_ULONG *found)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_RV			 rv;

	if ((rv = f->C_FindObjectsInit(s, tmpl, n)) != CKR_OK)
		return p11_err(rv, "C_FindObjectsInit", t->label);
	rv = f->C_FindObjects(s, h, max, found);
	(void)f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return p11_err(rv, "C_FindObjects", t->label);
	if (*found > max)
		return ob_errf(OB_ERR_DEVICE, "%s: C_FindObjects overran",
		    t->label);
	return OB_OK;
}

/* "object=L;id=%01%02" of a key, for candidate lists. */
static void
key_desc(const struct p11_key *k, char *out, size_t sz)
{
	size_t i, n;

	n = (size_t)snprintf(out, sz, "object=%s;id=", k->label);
	for (i = 0; i < k->idlen && n + 4 < sz; i++)
		n += (size_t)snprintf(out + n, sz - n, "%%%02x", k->id[i]);
}

static int
key_read(const struct p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    struct p11_key *k)
{
	size_t	len = 0;
	int	r;

	memset(k, 0, sizeof(*k));
	k->priv = o;
	if ((r = attr_read(t, s, o, CKA_LABEL, k->label, sizeof(k->label) - 1,
	    &len)) != OB_OK)
		return r;
	k->label[len] = '\0';
	if ((r = attr_read(t, s, o, CKA_ID, k->id, sizeof(k->id),
	    &k->idlen)) != OB_OK)
		return r;
	if ((r = attr_ulong(t, s, o, CKA_KEY_TYPE, &k->type)) != OB_OK)
		return r;
	return attr_bool(t, s, o, CKA_ALWAYS_AUTHENTICATE, 0,
	    &k->always_auth);
}

int
p11_key_find(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct p11_uri *u, struct p11_key *out)
{
	CK_OBJECT_CLASS		cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		tmpl[3];
	CK_OBJECT_HANDLE	h[8];
	CK_ULONG		n = 0, found = 0, i;
	struct p11_key		k;
	char			list[LIST_MAX], d[160];
	int			r, sign;

	tmpl[n].type = CKA_CLASS;
	tmpl[n].pValue = &cls;
	tmpl[n++].ulValueLen = sizeof(cls);
	if (u->label != NULL) {
		tmpl[n].type = CKA_LABEL;
		tmpl[n].pValue = u->label;
		tmpl[n++].ulValueLen = strlen(u->label);
	}
	if (u->id != NULL) {
		tmpl[n].type = CKA_ID;
		tmpl[n].pValue = u->id;
		tmpl[n++].ulValueLen = u->idlen;
	}
	if ((r = find_objects(t, s, tmpl, n, h, 8, &found)) != OB_OK)
		return r;
	if (found == 0)
		return ob_errf(OB_ERR_KEY_NOT_FOUND, "token \"%s\" has no "
		    "private key with %s%s%s%s", t->label, u->label != NULL ?
		    "object=" : "", u->label != NULL ? u->label : "",
		    u->label != NULL && u->id != NULL ? " and " : "",
		    u->id != NULL ? "the id= given" : "");
	if (found > 1) {
		list[0] = '\0';
		for (i = 0; i < found; i++) {
			if (key_read(t, s, h[i], &k) != OB_OK)
				continue;
			key_desc(&k, d, sizeof(d));
			list_add(list, sizeof(list), d);
		}
		return ob_errf(OB_ERR_KEY_AMBIGUOUS, "token \"%s\": %lu%s "
		    "private keys match: %s; add id= to the URI", t->label,
		    (unsigned long)found, found == 8 ? " or more" : "", list);
	}
	if ((r = key_read(t, s, h[0], &k)) != OB_OK)
		return r;
	if ((r = attr_bool(t, s, h[0], CKA_SIGN, 0, &sign)) != OB_OK)
		return r;
	if (!sign) {
		key_desc(&k, d, sizeof(d));
		return ob_errf(OB_ERR_KEY_NO_SIGN, "token \"%s\": key %s has "
		    "CKA_SIGN false", t->label, d);
	}
	*out = k;
	return OB_OK;
}

int
p11_object_exists(const struct p11_token *t, CK_SESSION_HANDLE s,
    const char *label, const unsigned char *id, size_t idlen)
{
	CK_ATTRIBUTE		a;
	CK_OBJECT_HANDLE	h[1];
	CK_ULONG		found = 0;
	int			r;

	if (label != NULL) {
		a.type = CKA_LABEL;
		a.pValue = (void *)(uintptr_t)label;
		a.ulValueLen = strlen(label);
		if ((r = find_objects(t, s, &a, 1, h, 1, &found)) != OB_OK)
			return r;
		if (found > 0)
			return 1;
	}
	if (id != NULL) {
		a.type = CKA_ID;
		a.pValue = (void *)(uintptr_t)id;
		a.ulValueLen = idlen;
		if ((r = find_objects(t, s, &a, 1, h, 1, &found)) != OB_OK)
			return r;
		if (found > 0)
			return 1;
	}
	return 0;
}

/* ---- public keys --------------------------------------------------- */

/* CKA_EC_PARAMS encodings, compared whole. */
static const unsigned char ec_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char ec_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const unsigned char ed_name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a',
	'r', 'd', 's', '2', '5', '5', '1', '9' };

#define EQ(b, l, c)	((l) == sizeof(c) && memcmp((b), (c), sizeof(c)) == 0)

int
p11_ec_pubkey(CK_KEY_TYPE type, const unsigned char *params, size_t plen,
    const unsigned char *point, size_t ptlen, EVP_PKEY **out)
{
	struct ob_rd		 rd;
	const uint8_t		*pt;
	unsigned char		 der[2];
	enum ob_keykind		 kind;
	size_t			 n;
	int			 r;

	if (type == CKK_EC_EDWARDS) {
		if (!EQ(params, plen, ed_oid) && !EQ(params, plen, ed_name))
			return ob_errf(OB_ERR_KEY_TYPE, "Edwards curve other "
			    "than Ed25519");
		kind = OB_KEY_ED25519;
		n = 32;
	} else if (type == CKK_EC) {
		if (EQ(params, plen, ec_p256)) {
			kind = OB_KEY_P256;
			n = 65;
		} else if (EQ(params, plen, ec_p384)) {
			kind = OB_KEY_P384;
			n = 97;
		} else
			return ob_errf(OB_ERR_KEY_TYPE, "EC curve other than "
			    "P-256 or P-384");
	} else
		return ob_errf(OB_ERR_KEY_TYPE, "not an EC key");
	/* CKA_EC_POINT is a DER OCTET STRING (04 n, n < 128); some tokens
	 * give it bare. */
	der[0] = 0x04;
	der[1] = (unsigned char)n;
	ob_rd_init(&rd, point, ptlen);
	if ((ptlen == n + 2 && ob_rd_expect(&rd, der, sizeof(der),
	    OB_ERR_JWK_INVALID) != OB_OK) || ob_rd_bytes(&rd, n, &pt) !=
	    OB_OK || ob_rd_end(&rd) != OB_OK)
		return ob_errf(OB_ERR_JWK_INVALID, "CKA_EC_POINT of %zu bytes",
		    ptlen);
	/* The token is untrusted: the decoder's rules, as for a JWK. */
	if (kind == OB_KEY_ED25519)
		r = ob_pkey_from_ed25519(pt, out);
	else
		r = ob_pkey_from_ec_point(kind, pt, n, out);
	return r == OB_OK ? OB_OK : ob_err_prefix(r, "the token's key");
}

static int
rsa_pubkey(const unsigned char *mod, size_t modlen, const unsigned char *e,
    size_t elen, EVP_PKEY **out)
{
	int r = ob_pkey_from_rsa(mod, modlen, e, elen, out);

	return r == OB_OK ? OB_OK : ob_err_prefix(r, "the token's key");
}

static int
pub_from_object(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, CK_KEY_TYPE type, EVP_PKEY **out)
{
	unsigned char	a[1024], b[160];
	size_t		alen, blen;
	int		r;

	if (type == CKK_RSA) {
		if ((r = attr_read(t, s, o, CKA_MODULUS, a, sizeof(a),
		    &alen)) != OB_OK ||
		    (r = attr_read(t, s, o, CKA_PUBLIC_EXPONENT, b, 8,
		    &blen)) != OB_OK)
			return r;
		return rsa_pubkey(a, alen, b, blen, out);
	}
	if ((r = attr_read(t, s, o, CKA_EC_PARAMS, a, 64, &alen)) != OB_OK ||
	    (r = attr_read(t, s, o, CKA_EC_POINT, b, sizeof(b), &blen)) !=
	    OB_OK)
		return r;
	return p11_ec_pubkey(type, a, alen, b, blen, out);
}

static int
pub_from_cert(const struct p11_token *t, CK_SESSION_HANDLE s,
    CK_OBJECT_HANDLE o, EVP_PKEY **out)
{
	unsigned char		*der;
	const unsigned char	*p;
	size_t			 len;
	X509			*x;
	EVP_PKEY		*pk;
	int			 r;

	if ((der = malloc(16384)) == NULL)
		return OB_ERR_ALLOC;
	if ((r = attr_read(t, s, o, CKA_VALUE, der, 16384, &len)) != OB_OK) {
		free(der);
		return r;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		X509_free(x);
		free(der);
		return ob_errf(OB_ERR_DEVICE, "%s: malformed certificate",
		    t->label);
	}
	free(der);
	pk = X509_get_pubkey(x);
	X509_free(x);
	if (pk == NULL)
		return ob_errf(OB_ERR_KEY_TYPE, "certificate key");
	if ((r = ob_pkey_check(pk)) != OB_OK) {
		EVP_PKEY_free(pk);
		return ob_err_prefix(r, "the certificate's key");
	}
	*out = pk;
	return OB_OK;
}

int
p11_key_pubkey(const struct p11_token *t, CK_SESSION_HANDLE s,
    const struct p11_key *k, EVP_PKEY **out)
{
	CK_OBJECT_CLASS		cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE		tmpl[2];
	CK_OBJECT_HANDLE	h[2];
	CK_ULONG		found = 0;
	EVP_PKEY		*pk = NULL;
	int			r;

	if (k->type != CKK_EC && k->type != CKK_EC_EDWARDS &&
	    k->type != CKK_RSA)
		return ob_errf(OB_ERR_KEY_TYPE, "token \"%s\": key type 0x%lx "
		    "is not EC, Ed25519 or RSA", t->label,
		    (unsigned long)k->type);
	tmpl[0].type = CKA_CLASS;
	tmpl[0].pValue = &cls;
	tmpl[0].ulValueLen = sizeof(cls);
	if (k->idlen > 0) {
		tmpl[1].type = CKA_ID;
		tmpl[1].pValue = (void *)(uintptr_t)k->id;
		tmpl[1].ulValueLen = k->idlen;
	} else {
		tmpl[1].type = CKA_LABEL;
		tmpl[1].pValue = (void *)(uintptr_t)k->label;
		tmpl[1].ulValueLen = strlen(k->label);
	}
	if ((r = find_objects(t, s, tmpl, 2, h, 2, &found)) != OB_OK)
		return r;
	if (found > 1)
		return ob_errf(OB_ERR_KEY_AMBIGUOUS, "token \"%s\": several "
		    "public keys share the private key's id", t->label);
	if (found == 1)
		r = pub_from_object(t, s, h[0], k->type, &pk);
	else {
		cls = CKO_CERTIFICATE;
		if ((r = find_objects(t, s, tmpl, 2, h, 2, &found)) != OB_OK)
			return r;
		if (found == 1)
			r = pub_from_cert(t, s, h[0], &pk);
		else if (k->type == CKK_RSA)
			r = pub_from_object(t, s, k->priv, k->type, &pk);
		else
			r = ob_errf(OB_ERR_KEY_NOT_FOUND, "token \"%s\": no "
			    "public key or certificate beside the private "
			    "key", t->label);
	}
	if (r != OB_OK)
		return ob_err_prefix(r, "token \"%s\"", t->label);
	if ((k->type == CKK_RSA) != (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)) {
		EVP_PKEY_free(pk);
		return ob_errf(OB_ERR_KEY_TYPE, "token \"%s\": the public key "
		    "does not fit the private key's type", t->label);
	}
	*out = pk;
	return OB_OK;
}

/* ---- mechanisms ---------------------------------------------------- */

CK_MECHANISM_TYPE
p11_sign_mech(enum ob_alg alg)
{
	switch (alg) {
	case OB_ALG_ES256:
	case OB_ALG_ES384:
		return CKM_ECDSA;
	case OB_ALG_EDDSA:
		return CKM_EDDSA;
	case OB_ALG_PS256:
		return CKM_RSA_PKCS_PSS;
	default:
		return CK_UNAVAILABLE_INFORMATION;
	}
}

const char *
p11_mech_name(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_ECDSA: return "CKM_ECDSA";
	case CKM_EDDSA: return "CKM_EDDSA";
	case CKM_RSA_PKCS_PSS: return "CKM_RSA_PKCS_PSS";
	case CKM_EC_KEY_PAIR_GEN: return "CKM_EC_KEY_PAIR_GEN";
	case CKM_EC_EDWARDS_KEY_PAIR_GEN: return "CKM_EC_EDWARDS_KEY_PAIR_GEN";
	case CKM_RSA_PKCS_KEY_PAIR_GEN: return "CKM_RSA_PKCS_KEY_PAIR_GEN";
	default: return "CKM_?";
	}
}

int
p11_mech_check(const struct p11_token *t, CK_MECHANISM_TYPE m, CK_FLAGS need)
{
	CK_MECHANISM_INFO	mi;
	CK_RV			rv;

	rv = t->mod->f->C_GetMechanismInfo(t->slot, m, &mi);
	if (rv == CKR_MECHANISM_INVALID)
		return ob_errf(OB_ERR_MECH_UNSUPPORTED, "token \"%s\" does not "
		    "offer %s (CKR_MECHANISM_INVALID)", t->label,
		    p11_mech_name(m));
	if (rv != CKR_OK)
		return p11_err(rv, "C_GetMechanismInfo", t->label);
	if ((mi.flags & need) != need)
		return ob_errf(OB_ERR_MECH_UNSUPPORTED, "token \"%s\" offers %s "
		    "but not for %s", t->label, p11_mech_name(m),
		    need == CKF_SIGN ? "signing" : "key-pair generation");
	return OB_OK;
}
