/*
 * piv: key URIs (docs/piv.md, "Key URIs"):
 *
 *   piv:reader=Yubico YubiKey;slot=9a
 *   piv:serial=12345678;slot=9c;pin-source=file:/run/pin
 *   piv:serial=12345678;slot=9a;mgmt-key-source=env:MGMT_KEY
 *
 * Attributes are separated by ';', appear at most once, in any order,
 * and are percent-decoded (%3B for ';').  slot is required, and at least
 * one of reader (a substring of the PC/SC reader name) and serial: a card
 * is never chosen as "the first one".  pin-source and mgmt-key-source
 * name sources (pin.h), never the secrets themselves; mgmt-key-source
 * "default" asks explicitly for the factory management key.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "tokens/uri.h"
#include "tokens/piv/piv_tlv.h"
#include "tokens/piv/piv_uri.h"

#define URI_MAX		2048
#define SOURCE_MAX	1024

void
piv_uri_free(struct piv_uri *u)
{
	free(u->reader);
	free(u->pin_source);
	free(u->mgm_source);
	memset(u, 0, sizeof(*u));
}

static int
uri_slot(const char *v, uint8_t *slot)
{
	static const char *const names[] = { "9a", "9c", "9d", "9e" };
	static const uint8_t ids[] = { 0x9a, 0x9c, 0x9d, 0x9e };
	size_t i;

	for (i = 0; i < sizeof(ids); i++)
		if (strcasecmp(v, names[i]) == 0) {
			*slot = ids[i];
			return OB_OK;
		}
	return ob_errf(OB_ERR_KEY_URI, "slot= is 9a, 9c, 9d or 9e");
}

static int
uri_serial(const char *v, uint32_t *serial)
{
	unsigned long	 s;
	char		*end;

	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		return ob_errf(OB_ERR_KEY_URI, "serial= is a decimal number");
	s = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || s > 0xffffffffUL)
		return ob_errf(OB_ERR_KEY_URI, "serial= is a decimal number "
		    "below 2^32");
	*serial = (uint32_t)s;
	return OB_OK;
}

static int
uri_mgm_alg(const char *v, uint8_t *alg)
{
	if (strcmp(v, "3des") == 0)
		*alg = PIV_ALG_3DES;
	else if (strcmp(v, "aes128") == 0)
		*alg = PIV_ALG_AES128;
	else if (strcmp(v, "aes192") == 0)
		*alg = PIV_ALG_AES192;
	else if (strcmp(v, "aes256") == 0)
		*alg = PIV_ALG_AES256;
	else
		return ob_errf(OB_ERR_KEY_URI, "mgmt-alg= is 3des, aes128, "
		    "aes192 or aes256");
	return OB_OK;
}

/* Store a string attribute once. */
static int
uri_str(char **dst, char **val, size_t max, const char *name)
{
	if (*dst != NULL || (*val)[0] == '\0' || strlen(*val) > max)
		return ob_errf(OB_ERR_KEY_URI, "%s= twice, empty or too long",
		    name);
	*dst = *val;
	*val = NULL;
	return OB_OK;
}

int
piv_uri_parse(const char *uri, struct piv_uri *out)
{
	struct piv_uri	 u;
	const char	*p, *name;
	char		*val = NULL;
	size_t		 namelen;
	int		 r, seen_slot = 0, seen_alg = 0;

	memset(&u, 0, sizeof(u));
	memset(out, 0, sizeof(*out));
	if (strncmp(uri, "piv:", 4) != 0)
		return ob_errf(OB_ERR_KEY_URI, "not a piv: URI");
	if (strlen(uri) > URI_MAX)
		return ob_errf(OB_ERR_KEY_URI, "piv: URI too long");
	if (uri[4] == '\0')
		return ob_errf(OB_ERR_KEY_URI, "piv: URI without attributes; "
		    "see docs/piv.md");
	p = uri + 4;
	for (;;) {
		OB_TRY(ob_uri_next_attr(&p, "piv:", &name, &namelen, &val));
		if (name == NULL)
			break;
#define IS(n)	(namelen == sizeof(n) - 1 && memcmp(name, n, namelen) == 0)
		if (IS("reader"))
			OB_TRY(uri_str(&u.reader, &val, PIV_READER_MAX,
			    "reader"));
		else if (IS("serial")) {
			if (u.have_serial++) {
				r = ob_errf(OB_ERR_KEY_URI, "serial= twice");
				goto out;
			}
			OB_TRY(uri_serial(val, &u.serial));
		} else if (IS("slot")) {
			if (seen_slot++) {
				r = ob_errf(OB_ERR_KEY_URI, "slot= twice");
				goto out;
			}
			OB_TRY(uri_slot(val, &u.slot));
		} else if (IS("pin-source"))
			OB_TRY(uri_str(&u.pin_source, &val, SOURCE_MAX,
			    "pin-source"));
		else if (IS("mgmt-key-source"))
			OB_TRY(uri_str(&u.mgm_source, &val, SOURCE_MAX,
			    "mgmt-key-source"));
		else if (IS("mgmt-alg")) {
			if (seen_alg++) {
				r = ob_errf(OB_ERR_KEY_URI, "mgmt-alg= twice");
				goto out;
			}
			OB_TRY(uri_mgm_alg(val, &u.mgm_alg));
		} else {
			r = ob_errf(OB_ERR_KEY_URI, "unknown piv: attribute "
			    "\"%.*s\"", (int)(namelen > 32 ? 32 : namelen), name);
			goto out;
		}
#undef IS
		free(val);
		val = NULL;
	}
	if (!seen_slot) {
		r = ob_errf(OB_ERR_KEY_URI, "a piv: URI names the slot (slot=9a, "
		    "9c, 9d or 9e)");
		goto out;
	}
	if (u.reader == NULL && !u.have_serial) {
		r = ob_errf(OB_ERR_KEY_URI, "a piv: URI names the card by "
		    "reader= or serial=");
		goto out;
	}
	*out = u;
	memset(&u, 0, sizeof(u));
	r = OB_OK;
out:
	free(val);
	piv_uri_free(&u);
	return r;
}
