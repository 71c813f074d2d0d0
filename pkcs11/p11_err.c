/*
 * CKR_* to ob_err.h, at the backend edge.  The raw name always goes into
 * the detail, with a next step more specific than the table's.
 */
#include <stdio.h>

#include "core/err.h"
#include "pkcs11/p11_int.h"

struct rv_row {
	CK_RV		 rv;
	const char	*name;
	int		 code;
	const char	*next;
};

#define R_(rv, code, next) { rv, #rv, code, next }
static const struct rv_row rv_rows[] = {
	R_(CKR_OK, OB_OK, ""),
	R_(CKR_CANCEL, OB_ERR_CANCELLED, "run the command again"),
	R_(CKR_HOST_MEMORY, OB_ERR_ALLOC, "free memory and retry"),
	R_(CKR_SLOT_ID_INVALID, OB_ERR_TOKEN_ABSENT,
	    "the slot went away; reconnect the token"),
	R_(CKR_GENERAL_ERROR, OB_ERR_DEVICE,
	    "the module failed; check its log (SoftHSM: log.level)"),
	R_(CKR_FUNCTION_FAILED, OB_ERR_DEVICE, "retry; if it persists, "
	    "check the module's log"),
	R_(CKR_ARGUMENTS_BAD, OB_ERR_INTERNAL, "report a bug"),
	R_(CKR_CANT_LOCK, OB_ERR_DEVICE,
	    "the module cannot be used from several threads"),
	R_(CKR_ATTRIBUTE_SENSITIVE, OB_ERR_DEVICE,
	    "the token hides an attribute ownerbind needs"),
	R_(CKR_ATTRIBUTE_TYPE_INVALID, OB_ERR_DEVICE,
	    "the token lacks an attribute ownerbind needs"),
	R_(CKR_ATTRIBUTE_VALUE_INVALID, OB_ERR_MECH_UNSUPPORTED,
	    "the token refused a key attribute; try another algorithm"),
	R_(CKR_ACTION_PROHIBITED, OB_ERR_DEVICE,
	    "the token's policy forbids this"),
	R_(CKR_DATA_LEN_RANGE, OB_ERR_INTERNAL, "report a bug"),
	R_(CKR_DEVICE_ERROR, OB_ERR_DEVICE, "reconnect the token and retry"),
	R_(CKR_DEVICE_MEMORY, OB_ERR_DEVICE,
	    "the token is full; delete unused objects"),
	R_(CKR_DEVICE_REMOVED, OB_ERR_TOKEN_ABSENT,
	    "reconnect the token and run the command again"),
	R_(CKR_FUNCTION_CANCELED, OB_ERR_CANCELLED, "run the command again"),
	R_(CKR_FUNCTION_NOT_SUPPORTED, OB_ERR_MECH_UNSUPPORTED,
	    "the module does not implement this function"),
	R_(CKR_KEY_HANDLE_INVALID, OB_ERR_KEY_NOT_FOUND,
	    "the key went away; check the URI"),
	R_(CKR_KEY_SIZE_RANGE, OB_ERR_MECH_UNSUPPORTED,
	    "the token does not support this key size"),
	R_(CKR_KEY_TYPE_INCONSISTENT, OB_ERR_KEY_TYPE,
	    "the key's type does not fit the algorithm"),
	R_(CKR_KEY_FUNCTION_NOT_PERMITTED, OB_ERR_KEY_NO_SIGN,
	    "the key was not made for signing (CKA_SIGN false)"),
	R_(CKR_MECHANISM_INVALID, OB_ERR_MECH_UNSUPPORTED,
	    "use an algorithm the token supports (pkcs11-tool -M lists them)"),
	R_(CKR_MECHANISM_PARAM_INVALID, OB_ERR_MECH_UNSUPPORTED,
	    "the token refused the mechanism parameters"),
	R_(CKR_OBJECT_HANDLE_INVALID, OB_ERR_KEY_NOT_FOUND,
	    "the object went away; check the URI"),
	R_(CKR_OPERATION_ACTIVE, OB_ERR_DEVICE, "retry"),
	R_(CKR_OPERATION_NOT_INITIALIZED, OB_ERR_INTERNAL, "report a bug"),
	R_(CKR_PIN_INCORRECT, OB_ERR_PIN_INCORRECT,
	    "check the PIN source; a locked PIN needs the SO PIN"),
	R_(CKR_PIN_INVALID, OB_ERR_PIN_INCORRECT,
	    "the PIN has characters the token refuses"),
	R_(CKR_PIN_LEN_RANGE, OB_ERR_PIN_INCORRECT,
	    "the PIN is too short or too long for this token"),
	R_(CKR_PIN_EXPIRED, OB_ERR_PIN_BLOCKED,
	    "set a new user PIN (pkcs11-tool --change-pin)"),
	R_(CKR_PIN_LOCKED, OB_ERR_PIN_BLOCKED,
	    "unlock with the SO PIN (pkcs11-tool --login --login-type so "
	    "--init-pin)"),
	R_(CKR_SESSION_CLOSED, OB_ERR_DEVICE, "retry"),
	R_(CKR_SESSION_COUNT, OB_ERR_DEVICE,
	    "the token has no free sessions; close other applications"),
	R_(CKR_SESSION_HANDLE_INVALID, OB_ERR_DEVICE,
	    "the token was reset; retry"),
	R_(CKR_SESSION_READ_ONLY, OB_ERR_DEVICE, "the token is read-only"),
	R_(CKR_SIGNATURE_LEN_RANGE, OB_ERR_INTERNAL, "report a bug"),
	R_(CKR_TEMPLATE_INCOMPLETE, OB_ERR_MECH_UNSUPPORTED,
	    "the token wants other key attributes; try another algorithm"),
	R_(CKR_TEMPLATE_INCONSISTENT, OB_ERR_MECH_UNSUPPORTED,
	    "the token refused the key attributes; try another algorithm"),
	R_(CKR_TOKEN_NOT_PRESENT, OB_ERR_TOKEN_ABSENT,
	    "insert the token, or check token=/serial= in the URI"),
	R_(CKR_TOKEN_NOT_RECOGNIZED, OB_ERR_TOKEN_ABSENT,
	    "the module does not recognise the token in the reader"),
	R_(CKR_TOKEN_WRITE_PROTECTED, OB_ERR_DEVICE,
	    "the token is write-protected; keys cannot be generated on it"),
	R_(CKR_USER_ALREADY_LOGGED_IN, OB_OK, ""),
	R_(CKR_USER_NOT_LOGGED_IN, OB_ERR_SECURITY_STATUS,
	    "log in first (give a PIN source)"),
	R_(CKR_USER_PIN_NOT_INITIALIZED, OB_ERR_PIN_BLOCKED,
	    "set the user PIN with the SO PIN (pkcs11-tool --init-pin)"),
	R_(CKR_USER_TYPE_INVALID, OB_ERR_INTERNAL, "report a bug"),
	R_(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, OB_ERR_DEVICE,
	    "another user (the SO?) is logged in; log out first"),
	R_(CKR_USER_TOO_MANY_TYPES, OB_ERR_DEVICE,
	    "too many users logged in; close other applications"),
	R_(CKR_RANDOM_NO_RNG, OB_ERR_DEVICE, "the token has no RNG"),
	R_(CKR_DOMAIN_PARAMS_INVALID, OB_ERR_MECH_UNSUPPORTED,
	    "the token does not support this curve"),
	R_(CKR_CURVE_NOT_SUPPORTED, OB_ERR_MECH_UNSUPPORTED,
	    "the token does not support this curve"),
	R_(CKR_BUFFER_TOO_SMALL, OB_ERR_DEVICE,
	    "the token's output is larger than the algorithm allows"),
	R_(CKR_CRYPTOKI_NOT_INITIALIZED, OB_ERR_DEVICE,
	    "the module was finalized under us; retry"),
	R_(CKR_CRYPTOKI_ALREADY_INITIALIZED, OB_ERR_DEVICE, "retry"),
	R_(CKR_FIPS_SELF_TEST_FAILED, OB_ERR_DEVICE,
	    "the token failed its self test; replace it"),
	R_(CKR_LIBRARY_LOAD_FAILED, OB_ERR_MODULE_LOAD,
	    "a library the module needs is missing"),
	R_(CKR_PIN_TOO_WEAK, OB_ERR_PIN_INCORRECT, "choose a stronger PIN"),
	R_(CKR_FUNCTION_REJECTED, OB_ERR_CANCELLED,
	    "the user or the token's policy refused"),
};
#undef R_

static const struct rv_row *
rv_find(CK_RV rv)
{
	size_t i;

	for (i = 0; i < sizeof(rv_rows) / sizeof(rv_rows[0]); i++)
		if (rv_rows[i].rv == rv)
			return &rv_rows[i];
	return NULL;
}

const char *
p11_rv_name(CK_RV rv)
{
	const struct rv_row *r = rv_find(rv);

	if (r != NULL)
		return r->name;
	return rv >= CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED" : "CKR_?";
}

static _Thread_local CK_RV last_rv;

CK_RV
p11_rv_last(void)
{
	CK_RV rv = last_rv;

	last_rv = CKR_OK;
	return rv;
}

int
p11_err(CK_RV rv, const char *fn, const char *ctx)
{
	const struct rv_row *r = rv_find(rv);

	last_rv = rv;

	if (r == NULL)
		return ob_errf(OB_ERR_DEVICE, "%s%s%s: %s (0x%lx)",
		    ctx != NULL ? ctx : "", ctx != NULL ? ": " : "", fn,
		    p11_rv_name(rv), (unsigned long)rv);
	if (r->code == OB_OK)
		return OB_OK;
	return ob_errf(r->code, "%s%s%s: %s (0x%lx); %s",
	    ctx != NULL ? ctx : "", ctx != NULL ? ": " : "", fn, r->name,
	    (unsigned long)rv, r->next);
}

int
p11_rv_transient(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_SLOT_ID_INVALID:
		return 1;
	default:
		return 0;
	}
}
