/*
 * The PIV part of `ownerbind keys`: every PC/SC reader, whether it holds
 * a PIV card (and its serial), and the key in each of the four key slots
 * ownerbind signs with, each with the URI that names it.  No PIN is
 * asked: the public keys come from the slot metadata or certificates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/alg.h"
#include "tokens/keys_int.h"
#include "tokens/piv/piv_int.h"

static const uint8_t slots[] = { 0x9a, 0x9c, 0x9d, 0x9e };

static int
card_slots(struct piv_conn *c, const char *uri_base, json_t *arr)
{
	EVP_PKEY	*pub;
	enum ob_keykind	 kind;
	uint8_t		 origin;
	json_t		*o;
	char		 uri[PIV_READER_MAX + 64];
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(slots); i++) {
		pub = NULL;
		origin = 0;
		(void)snprintf(uri, sizeof(uri), "%s;slot=%02x", uri_base,
		    slots[i]);
		r = piv_slot_pubkey(c, slots[i], &pub, &origin);
		if (r == OB_ERR_SLOT_EMPTY) {
			ob_err_clear();
			continue;
		}
		if (r != OB_OK)
			o = json_pack("{s:s,s:s,s:s}", "slot", uri + strlen(uri) -
			    2, "uri", uri, "error", ob_err_detail());
		else {
			if (ob_key_kind(pub, &kind) != OB_OK)
				kind = OB_KEY_RSA;	/* "not P-256/P-384" */
			o = json_pack("{s:s,s:s,s:s,s:s}", "slot", uri +
			    strlen(uri) - 2, "uri", uri, "type",
			    kind == OB_KEY_P256 ? "ECC P-256" : kind ==
			    OB_KEY_P384 ? "ECC P-384" : "not ECC P-256/P-384",
			    "origin", origin == PIV_META_ORIGIN_GENERATED ?
			    "generated on the card" : origin ==
			    PIV_META_ORIGIN_IMPORTED ? "imported" : "unknown");
		}
		EVP_PKEY_free(pub);
		ob_err_clear();
		if (o == NULL || json_array_append_new(arr, o) != 0)
			return OB_ERR_ALLOC;
	}
	return OB_OK;
}

/* One reader's entry: its card, serial and slots, or why there is none. */
static json_t *
reader_entry(SCARDCONTEXT ctx, const char *name)
{
	struct piv_conn	 c;
	uint32_t	 serial = 0;
	json_t		*o, *arr;
	char		 base[PIV_READER_MAX + 32];
	int		 r, have_serial = 0;

	if ((o = json_pack("{s:s}", "reader", name)) == NULL)
		return NULL;
	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	if ((r = piv_connect(&c, name)) != OB_OK ||
	    (r = piv_tx_begin(&c)) != OB_OK) {
		(void)json_object_set_new(o, "card", json_string(r ==
		    OB_ERR_DEVICE_MISSING ? "none" : ob_err_detail()));
		piv_disconnect(&c);
		ob_err_clear();
		return o;
	}
	if ((r = piv_select(&c)) != OB_OK) {
		(void)json_object_set_new(o, "card",
		    json_string("no PIV application"));
		goto done;
	}
	if (piv_get_serial(&c, &serial) == OB_OK)
		have_serial = 1;
	ob_err_clear();
	if (have_serial) {
		(void)json_object_set_new(o, "serial", json_integer(serial));
		(void)snprintf(base, sizeof(base), "piv:serial=%lu",
		    (unsigned long)serial);
	} else
		(void)snprintf(base, sizeof(base), "piv:reader=%s", name);
	(void)json_object_set_new(o, "card", json_string("PIV"));
	if ((arr = json_array()) == NULL ||
	    json_object_set_new(o, "slots", arr) != 0 ||
	    card_slots(&c, base, arr) != OB_OK) {
		json_decref(o);
		o = NULL;
	}
done:
	piv_tx_end(&c);
	piv_disconnect(&c);
	ob_err_clear();
	return o;
}

int
keys_piv(json_t *items)
{
	struct piv_conn	 c;
	char		*names = NULL, *name;
	size_t		 len = 0;
	json_t		*o;
	int		 r;

	memset(&c, 0, sizeof(c));
	if ((r = piv_ctx_open(&c)) != OB_OK)
		return r;
	if ((r = piv_list_readers(&c, &names, &len)) != OB_OK)
		goto out;
	for (name = names; name < names + len && *name != '\0';
	    name += strlen(name) + 1)
		if ((o = reader_entry(c.ctx, name)) == NULL ||
		    json_array_append_new(items, o) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	r = OB_OK;
out:
	free(names);
	piv_conn_close(&c);
	return r;
}
