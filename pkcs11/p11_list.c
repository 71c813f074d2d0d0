/*
 * The PKCS#11 part of `ownerbind keys`: every token of the configured
 * modules (or of one module) and the keys it shows without a login, each
 * with the URI that names it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"
#include "tokens/keys_int.h"

#define LIST_MAX_OBJECTS	256

static const char *
key_type_name(CK_KEY_TYPE t)
{
	switch (t) {
	case CKK_EC: return "EC";
	case CKK_RSA: return "RSA";
	case CKK_EC_EDWARDS: return "EdDSA";
	default: return "other";
	}
}

/* The RFC 7512 URI for an object on a token, as p11-kit spells it. */
static char *
object_uri(const CK_TOKEN_INFO *ti, const char *label, const CK_BYTE *id,
    CK_ULONG idlen)
{
	P11KitUri	*u;
	CK_ATTRIBUTE	 a;
	char		*s = NULL;

	if ((u = p11_kit_uri_new()) == NULL)
		return NULL;
	memcpy(p11_kit_uri_get_token_info(u), ti, sizeof(*ti));
	if (label[0] != '\0') {
		a.type = CKA_LABEL;
		a.pValue = (void *)(uintptr_t)label;
		a.ulValueLen = strlen(label);
		(void)p11_kit_uri_set_attribute(u, &a);
	}
	if (idlen > 0) {
		a.type = CKA_ID;
		a.pValue = (void *)(uintptr_t)id;
		a.ulValueLen = idlen;
		(void)p11_kit_uri_set_attribute(u, &a);
	}
	/* No type=: the URI names the key pair, as sign and enroll want. */
	if (p11_kit_uri_format(u, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &s) !=
	    P11_KIT_URI_OK)
		s = NULL;
	p11_kit_uri_free(u);
	return s;
}

/* The key objects a session without login sees, appended to keys. */
static int
token_keys(struct p11_module *m, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
    json_t *keys)
{
	CK_OBJECT_CLASS		 cls;
	CK_OBJECT_HANDLE	 h[LIST_MAX_OBJECTS];
	CK_SESSION_HANDLE	 s;
	CK_ULONG		 n = 0, i;
	CK_ATTRIBUTE		 find = { CKA_CLASS, &cls, sizeof(cls) };
	CK_RV			 rv;
	int			 c, r = OB_OK;
	static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY,
	    CKO_PUBLIC_KEY };

	if ((rv = m->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s)) != CKR_OK)
		return p11_err(rv, "C_OpenSession", m->path);
	for (c = 0; c < 2 && r == OB_OK; c++) {
		cls = classes[c];
		n = 0;
		if ((rv = m->f->C_FindObjectsInit(s, &find, 1)) != CKR_OK) {
			r = p11_err(rv, "C_FindObjectsInit", m->path);
			break;
		}
		rv = m->f->C_FindObjects(s, h, LIST_MAX_OBJECTS, &n);
		(void)m->f->C_FindObjectsFinal(s);
		if (rv != CKR_OK) {
			r = p11_err(rv, "C_FindObjects", m->path);
			break;
		}
		for (i = 0; i < n; i++) {
			CK_BYTE		 id[64];
			CK_UTF8CHAR	 lab[129];
			CK_KEY_TYPE	 kt = (CK_KEY_TYPE)-1;
			CK_ATTRIBUTE	 at[3] = {
				{ CKA_LABEL, lab, sizeof(lab) - 1 },
				{ CKA_ID, id, sizeof(id) },
				{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			};
			char		*uri, label[129], hex[129];
			CK_ULONG	 k;
			json_t		*o;

			rv = m->f->C_GetAttributeValue(s, h[i], at, 3);
			if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
			    rv != CKR_ATTRIBUTE_SENSITIVE)
				continue;
			if (at[0].ulValueLen == CK_UNAVAILABLE_INFORMATION)
				at[0].ulValueLen = 0;
			if (at[1].ulValueLen == CK_UNAVAILABLE_INFORMATION)
				at[1].ulValueLen = 0;
			memcpy(label, lab, at[0].ulValueLen);
			label[at[0].ulValueLen] = '\0';
			for (k = 0; k < at[1].ulValueLen; k++)
				(void)snprintf(hex + 2 * k, 3, "%02x", id[k]);
			hex[2 * at[1].ulValueLen] = '\0';
			uri = object_uri(ti, label, id, at[1].ulValueLen);
			o = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "class",
			    cls == CKO_PRIVATE_KEY ? "private" : "public",
			    "label", label, "id", hex, "type",
			    key_type_name(kt), "uri", uri);
			free(uri);
			if (o == NULL || json_array_append_new(keys, o) != 0) {
				r = OB_ERR_ALLOC;
				break;
			}
		}
	}
	(void)m->f->C_CloseSession(s);
	return r;
}

static int
module_tokens(struct p11_module *m, json_t *items)
{
	CK_TOKEN_INFO	 ti;
	CK_SLOT_ID	*slots = NULL;
	CK_ULONG	 ns = 0, j;
	CK_RV		 rv;
	json_t		*t, *keys;
	char		 lab[33], ser[17], man[33], model[17];
	int		 r = OB_OK;

	if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &ns)) != CKR_OK)
		return p11_err(rv, "C_GetSlotList", m->path);
	if (ns == 0)
		return OB_OK;
	if (ns > 1024 || (slots = calloc(ns, sizeof(*slots))) == NULL)
		return OB_ERR_ALLOC;
	if ((rv = m->f->C_GetSlotList(CK_TRUE, slots, &ns)) != CKR_OK) {
		free(slots);
		return p11_err(rv, "C_GetSlotList", m->path);
	}
	for (j = 0; j < ns && r == OB_OK; j++) {
		if (m->f->C_GetTokenInfo(slots[j], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		p11_trim(ti.label, sizeof(ti.label), lab);
		p11_trim(ti.serialNumber, sizeof(ti.serialNumber), ser);
		p11_trim(ti.manufacturerID, sizeof(ti.manufacturerID), man);
		p11_trim(ti.model, sizeof(ti.model), model);
		if ((t = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:[]}", "module",
		    m->path, "token", lab, "serial", ser, "manufacturer", man,
		    "model", model, "login_required",
		    (ti.flags & CKF_LOGIN_REQUIRED) != 0, "keys")) == NULL ||
		    json_array_append_new(items, t) != 0) {
			r = OB_ERR_ALLOC;
			break;
		}
		keys = json_object_get(t, "keys");
		if ((r = token_keys(m, slots[j], &ti, keys)) != OB_OK) {
			/* One token that refuses is reported, not fatal. */
			(void)json_object_set_new(t, "error",
			    json_string(ob_err_detail()));
			r = OB_OK;
		}
	}
	free(slots);
	return r;
}

int
keys_pkcs11(const char *module, json_t *items)
{
	struct p11_uri		  u;
	struct p11_module	**mods = NULL;
	size_t			  n = 0, i;
	int			  r;

	/* Only the module part of a URI: no token is named here. */
	memset(&u, 0, sizeof(u));
	u.module_path = (char *)(uintptr_t)module;
	OB_TRY(p11_modules_for(&u, &mods, &n));
	for (i = 0; i < n; i++) {
		OB_TRY(p11_module_check_fork(mods[i]));
		pthread_rwlock_rdlock(&mods[i]->life);
		r = module_tokens(mods[i], items);
		pthread_rwlock_unlock(&mods[i]->life);
		if (r != OB_OK)
			goto out;
	}
	r = OB_OK;
out:
	free(mods);
	return r;
}
