/*
 * The FIDO2 backend's one entry point besides ob_fido2_ops (token.h):
 * the device list behind `ownerbind devices`.
 */
#ifndef OB_TOKENS_OB_FIDO2_H
#define OB_TOKENS_OB_FIDO2_H

#include <jansson.h>

#include "ownerbind/ob_err.h"

/*
 * Describe every connected FIDO device: an array of objects with path,
 * manufacturer, product, vendor_id, product_id (when the OS says), and
 * from the device itself versions, aaguid, options, pin_set,
 * pin_retries, or "error" when it could not be opened (with the ob_err
 * name and detail; a permission problem is reported, not fatal).
 * *out is a new reference.
 */
int ob_fido2_devices(json_t **out) OB_WUR;

#endif
