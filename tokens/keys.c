/* ownerbind keys: one section per backend (tokens/keys.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "tokens/keys.h"
#include "tokens/keys_int.h"
#ifdef OB_HAVE_FIDO2
#include "tokens/fido2/ob_fido2.h"
#endif

/* A new section, its items array in *items. */
static json_t *
section(const char *backend, json_t **items)
{
	json_t	*s;

	if ((s = json_pack("{s:s,s:s,s:[]}", "backend", backend, "state",
	    "found", "items")) == NULL)
		return NULL;
	*items = json_object_get(s, "items");
	return s;
}

static void
set_state(json_t *s, const char *state, const char *reason)
{
	(void)json_object_set_new(s, "state", json_string(state));
	if (reason != NULL)
		(void)json_object_set_new(s, "reason", json_string(reason));
}

/*
 * After a lister ran: found or none, absent when r is one of the codes
 * that mean "not there" (absent[], ending with OB_OK), else error.
 */
static void
settle(json_t *s, json_t *items, int r, const int *absent, const char *none)
{
	char	why[600];
	size_t	i;

	if (r == OB_OK) {
		if (json_array_size(items) == 0)
			set_state(s, "none", none);
		return;
	}
	for (i = 0; absent[i] != OB_OK; i++)
		if (r == absent[i]) {
			(void)snprintf(why, sizeof(why), "%s (%s)",
			    ob_err_text(r), ob_err_detail());
			set_state(s, "absent", why);
			ob_err_clear();
			return;
		}
	set_state(s, "error", ob_err_text(r));
	(void)json_object_set_new(s, "error", json_pack("{s:s,s:i,s:s,s:s}",
	    "error", ob_err_name(r), "code", r, "detail", ob_err_detail(),
	    "next_step", ob_err_hint(r)));
	ob_err_clear();
}

static int
add(json_t *arr, json_t *s)
{
	if (s == NULL || json_array_append_new(arr, s) != 0)
		return OB_ERR_ALLOC;
	return OB_OK;
}

static int
pkcs11_section(const struct ob_keys_opts *o, json_t *arr)
{
	json_t		*items, *s = section("pkcs11", &items);
#ifdef OB_HAVE_PKCS11
	/* Without --module, "no module configured" is absence. */
	static const int absent[] = { OB_ERR_MODULE_LOAD, OB_OK };
	static const int none_absent[] = { OB_OK };

	if (s == NULL)
		return OB_ERR_ALLOC;
	settle(s, items, keys_pkcs11(o->pkcs11_module, items),
	    o->pkcs11_module == NULL ? absent : none_absent,
	    "no initialised token in the PKCS#11 modules");
#else
	(void)o;
	(void)items;
	if (s != NULL)
		set_state(s, "not built", "this ownerbind was built without "
		    "PKCS#11 support");
#endif
	return add(arr, s);
}

static int
tpm2_section(const struct ob_keys_opts *o, json_t *arr)
{
	json_t		*items, *s = section("tpm2", &items);
#ifdef OB_HAVE_TPM2
	static const int absent[] = { OB_ERR_TPM_UNREACHABLE, OB_OK };
	const char	*tcti = NULL;
	int		 r;

	if (s == NULL)
		return OB_ERR_ALLOC;
	r = keys_tpm2(o->tcti, items, &tcti);
	if (tcti != NULL)
		(void)json_object_set_new(s, "tcti", json_string(tcti));
	settle(s, items, r, absent, "no persistent key in the owner range "
	    "0x81000000..0x81ffffff (key files are wherever they were "
	    "written)");
#else
	(void)o;
	(void)items;
	if (s != NULL)
		set_state(s, "not built", "this ownerbind was built without "
		    "TPM 2.0 support");
#endif
	return add(arr, s);
}

static int
piv_section(json_t *arr)
{
	json_t		*items, *s = section("piv", &items);
#ifdef OB_HAVE_PIV
	static const int absent[] = { OB_ERR_NO_READER, OB_OK };

	if (s == NULL)
		return OB_ERR_ALLOC;
	settle(s, items, keys_piv(items), absent, "no smart-card reader");
#else
	(void)items;
	if (s != NULL)
		set_state(s, "not built", "this ownerbind was built without "
		    "PIV support");
#endif
	return add(arr, s);
}

static int
fido2_section(json_t *arr)
{
	json_t		*items, *s = section("fido2", &items);
#ifdef OB_HAVE_FIDO2
	static const int absent[] = { OB_OK };
	json_t		*devs = NULL;
	int		 r;

	if (s == NULL)
		return OB_ERR_ALLOC;
	if ((r = ob_fido2_devices(&devs)) == OB_OK) {
		(void)json_object_set_new(s, "items", devs);
		items = devs;
	}
	settle(s, items, r, absent, "no FIDO2 security key connected "
	    "(`ownerbind doctor` explains why a connected key may be "
	    "invisible)");
#else
	(void)items;
	if (s != NULL)
		set_state(s, "not built", "this ownerbind was built without "
		    "FIDO2 support");
#endif
	return add(arr, s);
}

int
ob_keys_list(const struct ob_keys_opts *o, json_t **out)
{
	json_t	*arr;
	int	 r;

	if ((arr = json_array()) == NULL)
		return OB_ERR_ALLOC;
	if ((r = pkcs11_section(o, arr)) != OB_OK ||
	    (r = tpm2_section(o, arr)) != OB_OK ||
	    (r = piv_section(arr)) != OB_OK ||
	    (r = fido2_section(arr)) != OB_OK) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return OB_OK;
}
