/* The connected FIDO devices and what they say about themselves. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hex.h"
#include "tokens/fido2/fido2_int.h"
#include "tokens/fido2/ob_fido2.h"

static int
devices_info(fido_dev_t *dev, json_t *o)
{
	fido_cbor_info_t	*ci = NULL;
	json_t			*opt = NULL, *ver = NULL;
	char			 aag[33];
	char			**names;
	const bool		*vals;
	size_t			 i;
	int			 fr, n, r = OB_ERR_ALLOC;

	if ((ci = fido_cbor_info_new()) == NULL)
		return OB_ERR_ALLOC;
	if ((fr = fido_dev_get_cbor_info(dev, ci)) != FIDO_OK) {
		r = fido2_err(fr, "getInfo", NULL);
		goto out;
	}
	if ((opt = json_object()) == NULL || (ver = json_array()) == NULL)
		goto out;
	names = fido_cbor_info_options_name_ptr(ci);
	vals = fido_cbor_info_options_value_ptr(ci);
	for (i = 0; i < fido_cbor_info_options_len(ci); i++)
		if (json_object_set_new(opt, names[i],
		    json_boolean(vals[i])) != 0)
			goto out;
	names = fido_cbor_info_versions_ptr(ci);
	for (i = 0; i < fido_cbor_info_versions_len(ci); i++)
		if (json_array_append_new(ver, json_string(names[i])) != 0)
			goto out;
	if (fido_cbor_info_aaguid_len(ci) == 16)
		(void)ob_bin_to_hex(fido_cbor_info_aaguid_ptr(ci), 16, aag,
		    sizeof(aag));
	else
		aag[0] = '\0';
	if (json_object_set_new(o, "versions", ver) != 0) {
		ver = NULL;
		goto out;
	}
	ver = NULL;
	if (json_object_set_new(o, "options", opt) != 0) {
		opt = NULL;
		goto out;
	}
	opt = NULL;
	if (json_object_set_new(o, "aaguid", json_string(aag)) != 0 ||
	    json_object_set_new(o, "pin_set",
	    json_boolean(fido_dev_has_pin(dev))) != 0 ||
	    json_object_set_new(o, "builtin_uv",
	    json_boolean(fido_dev_has_uv(dev))) != 0)
		goto out;
	if (fido_dev_supports_pin(dev) &&
	    fido_dev_get_retry_count(dev, &n) == FIDO_OK &&
	    json_object_set_new(o, "pin_retries", json_integer(n)) != 0)
		goto out;
	r = OB_OK;
out:
	json_decref(opt);
	json_decref(ver);
	fido_cbor_info_free(&ci);
	return r;
}

static int
devices_os(json_t *arr)
{
	fido_dev_info_t		*di;
	const fido_dev_info_t	*d;
	size_t			 n = 0, i;
	int			 fr, r = OB_OK;

	fido2_init();
	if ((di = fido_dev_info_new(FIDO2_MAX_DEVICES)) == NULL)
		return OB_ERR_ALLOC;
	if ((fr = fido_dev_info_manifest(di, FIDO2_MAX_DEVICES, &n)) !=
	    FIDO_OK) {
		fido_dev_info_free(&di, FIDO2_MAX_DEVICES);
		return fido2_err(fr, "listing FIDO devices", NULL);
	}
	for (i = 0; i < n && r == OB_OK; i++) {
		d = fido_dev_info_ptr(di, i);
		if (json_array_append_new(arr, json_pack("{s:s,s:s?,s:s?,s:i,s:i}",
		    "path", fido_dev_info_path(d), "manufacturer",
		    fido_dev_info_manufacturer_string(d), "product",
		    fido_dev_info_product_string(d), "vendor_id",
		    (int)(uint16_t)fido_dev_info_vendor(d), "product_id",
		    (int)(uint16_t)fido_dev_info_product(d))) != 0)
			r = OB_ERR_ALLOC;
	}
	fido_dev_info_free(&di, FIDO2_MAX_DEVICES);
	return r;
}

int
ob_fido2_devices(json_t **out)
{
	json_t		*arr, *o;
	fido_dev_t	*dev = NULL;
	size_t		 i;
	int		 r, k;

	if ((arr = json_array()) == NULL)
		return OB_ERR_ALLOC;
	if (fido2_test_paths != NULL) {
		for (i = 0; fido2_test_paths[i] != NULL; i++)
			if (json_array_append_new(arr, json_pack("{s:s}",
			    "path", fido2_test_paths[i])) != 0) {
				r = OB_ERR_ALLOC;
				goto out;
			}
	} else
		OB_TRY(devices_os(arr));
	json_array_foreach(arr, i, o) {
		k = fido2_dev_open(json_string_value(json_object_get(o, "path")),
		    &dev);
		if (k == OB_OK)
			k = devices_info(dev, o);
		fido2_dev_close(&dev);
		if (k == OB_ERR_ALLOC) {
			r = k;
			goto out;
		}
		if (k != OB_OK && json_object_set_new(o, "error",
		    json_pack("{s:s,s:s}", "code", ob_err_name(k), "detail",
		    ob_err_detail())) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	r = OB_OK;
out:
	json_decref(arr);
	return r;
}
