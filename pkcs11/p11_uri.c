/*
 * RFC 7512 key URIs, parsed by p11-kit (never by hand).  What p11-kit
 * accepts but an owner key must not use is refused here: pin-value (a PIN
 * on the command line), slot-id (it changes when tokens are initialised)
 * and URIs that would leave the choice of token or key to enumeration
 * order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"

void
p11_trim(const unsigned char *padded, size_t len, char *out)
{
	while (len > 0 && (padded[len - 1] == ' ' || padded[len - 1] == '\0'))
		len--;
	memcpy(out, padded, len);
	out[len] = '\0';
}

/* RFC 7512 section 2.4 pin-source forms, onto tokens/pin.h sources. */
static int
uri_pin_spec(const char *src, char **out)
{
	const char	*prefix, *rest;
	size_t		 n;

	if (strncmp(src, "file:", 5) == 0 || strncmp(src, "env:", 4) == 0 ||
	    strncmp(src, "fd:", 3) == 0 || strncmp(src, "askpass:", 8) == 0 ||
	    strcmp(src, "tty") == 0) {
		prefix = "";
		rest = src;
		/* file:///path is a file URI with an empty authority. */
		if (strncmp(src, "file://", 7) == 0) {
			if (src[7] != '/')
				return ob_errf(OB_ERR_KEY_URI, "pin-source: only "
				    "local file: URIs");
			prefix = "file:";
			rest = src + 7;
		}
	} else if (src[0] == '/') {
		prefix = "file:";
		rest = src;
	} else if (src[0] == '|' && src[1] != '\0') {
		prefix = "askpass:";	/* OpenSSL/p11-kit "|program" form */
		rest = src + 1;
	} else
		return ob_errf(OB_ERR_KEY_URI, "pin-source: use file:PATH, "
		    "env:VAR, fd:N, askpass:PROGRAM or |PROGRAM");
	n = strlen(prefix) + strlen(rest) + 1;
	if ((*out = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(*out, n, "%s%s", prefix, rest);
	return OB_OK;
}

static int
uri_dup(const char *s, char **out)
{
	if (s == NULL) {
		*out = NULL;
		return OB_OK;
	}
	if ((*out = strdup(s)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

int
p11_uri_parse(const char *uri, struct p11_uri **out)
{
	struct p11_uri	*u;
	CK_ATTRIBUTE	*a;
	CK_TOKEN_INFO	*ti;
	CK_OBJECT_CLASS	 cls;
	char		 label[33], serial[17];
	int		 r, pr;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->pk = p11_kit_uri_new()) == NULL) {
		free(u);
		return OB_ERR_ALLOC;
	}
	if ((pr = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u->pk)) !=
	    P11_KIT_URI_OK) {
		r = ob_errf(OB_ERR_KEY_URI, "not an RFC 7512 pkcs11: URI: %s",
		    p11_kit_uri_message(pr));
		goto out;
	}
	if (p11_kit_uri_any_unrecognized(u->pk)) {
		r = ob_errf(OB_ERR_KEY_URI, "the URI has attributes p11-kit "
		    "does not know");
		goto out;
	}
	if (p11_kit_uri_get_pin_value(u->pk) != NULL) {
		r = ob_errf(OB_ERR_KEY_URI, "pin-value puts the PIN where "
		    "others can read it; use pin-source or --pin-source");
		goto out;
	}
	if (p11_kit_uri_get_slot_id(u->pk) != (CK_SLOT_ID)-1) {
		r = ob_errf(OB_ERR_KEY_URI, "slot-id changes when tokens are "
		    "initialised; select the token with token= or serial=");
		goto out;
	}
	if ((a = p11_kit_uri_get_attribute(u->pk, CKA_CLASS)) != NULL) {
		if (a->ulValueLen != sizeof(cls)) {
			r = ob_errf(OB_ERR_KEY_URI, "bad type=");
			goto out;
		}
		memcpy(&cls, a->pValue, sizeof(cls));
		if (cls != CKO_PRIVATE_KEY) {
			r = ob_errf(OB_ERR_KEY_URI, "an owner key URI names a "
			    "private key: type=private or no type");
			goto out;
		}
	}
	ti = p11_kit_uri_get_token_info(u->pk);
	p11_trim(ti->label, sizeof(ti->label), label);
	p11_trim(ti->serialNumber, sizeof(ti->serialNumber), serial);
	if (label[0] == '\0' && serial[0] == '\0') {
		r = ob_errf(OB_ERR_KEY_URI, "name the token with token= or "
		    "serial= (never the first or only token)");
		goto out;
	}
	(void)snprintf(u->token_desc, sizeof(u->token_desc), "%s%s%s%s%s",
	    label[0] != '\0' ? "token=" : "", label,
	    label[0] != '\0' && serial[0] != '\0' ? " " : "",
	    serial[0] != '\0' ? "serial=" : "", serial);
	if ((a = p11_kit_uri_get_attribute(u->pk, CKA_LABEL)) != NULL) {
		if (a->ulValueLen == 0 || a->ulValueLen > 64 ||
		    memchr(a->pValue, '\0', a->ulValueLen) != NULL) {
			r = ob_errf(OB_ERR_KEY_URI, "object= is empty, longer "
			    "than 64 bytes or contains NUL");
			goto out;
		}
		if ((u->label = calloc(1, a->ulValueLen + 1)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		memcpy(u->label, a->pValue, a->ulValueLen);
	}
	if ((a = p11_kit_uri_get_attribute(u->pk, CKA_ID)) != NULL) {
		if (a->ulValueLen == 0 || a->ulValueLen > 64) {
			r = ob_errf(OB_ERR_KEY_URI, "id= is empty or longer "
			    "than 64 bytes");
			goto out;
		}
		if ((u->id = malloc(a->ulValueLen)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		memcpy(u->id, a->pValue, a->ulValueLen);
		u->idlen = a->ulValueLen;
	}
	if (u->label == NULL && u->id == NULL) {
		r = ob_errf(OB_ERR_KEY_URI, "name the key with object= or id=");
		goto out;
	}
	OB_TRY(uri_dup(p11_kit_uri_get_module_path(u->pk), &u->module_path));
	OB_TRY(uri_dup(p11_kit_uri_get_module_name(u->pk), &u->module_name));
	if (u->module_path != NULL && u->module_path[0] != '/') {
		r = ob_errf(OB_ERR_KEY_URI, "module-path must be absolute");
		goto out;
	}
	if (p11_kit_uri_get_pin_source(u->pk) != NULL)
		OB_TRY(uri_pin_spec(p11_kit_uri_get_pin_source(u->pk),
		    &u->pin_spec));
	*out = u;
	u = NULL;
	r = OB_OK;
out:
	p11_uri_free(&u);
	return r;
}

void
p11_uri_free(struct p11_uri **up)
{
	struct p11_uri *u;

	if (up == NULL || (u = *up) == NULL)
		return;
	if (u->pk != NULL)
		p11_kit_uri_free(u->pk);
	free(u->module_path);
	free(u->module_name);
	free(u->pin_spec);
	free(u->label);
	free(u->id);
	free(u);
	*up = NULL;
}
