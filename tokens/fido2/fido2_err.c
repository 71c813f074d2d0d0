/*
 * libfido2 status codes (FIDO_ERR_*, CTAP2 status bytes and libfido2's
 * own negatives) to ob_err codes.  The raw value stays in the detail so a
 * bug report names what the device said; PINs never appear here.
 */
#include "core/err.h"
#include "tokens/fido2/fido2_int.h"

static int
fido2_retries_detail(fido_dev_t *dev, const char *what, int fr, int code,
    const char *extra)
{
	int n = -1;

	if (dev == NULL || fido_dev_get_retry_count(dev, &n) != FIDO_OK)
		n = -1;
	if (n >= 0)
		return ob_errf(code, "%s: %s: %s%d %s left", what,
		    fido_strerr(fr), extra, n, n == 1 ? "try" : "tries");
	return ob_errf(code, "%s: %s: %s", what, fido_strerr(fr), extra);
}

int
fido2_err(int fr, const char *what, fido_dev_t *dev)
{
	int code;

	switch (fr) {
	case FIDO_OK:
		return OB_OK;
	case FIDO_ERR_PIN_INVALID:
		return fido2_retries_detail(dev, what, fr, OB_ERR_PIN_INCORRECT,
		    "");
	case FIDO_ERR_PIN_AUTH_BLOCKED:
		/* Three wrong PINs in a row: the key wants a replug first. */
		return fido2_retries_detail(dev, what, fr, OB_ERR_PIN_INCORRECT,
		    "three wrong PINs in a row; unplug and replug the key; ");
	case FIDO_ERR_PIN_BLOCKED:
		return ob_errf(OB_ERR_PIN_BLOCKED, "%s: %s: no tries left; only "
		    "a reset (fido2-token -R, which erases every credential) "
		    "unblocks it", what, fido_strerr(fr));
	case FIDO_ERR_UV_BLOCKED:
		return ob_errf(OB_ERR_PIN_BLOCKED, "%s: %s: built-in user "
		    "verification is blocked; use the PIN", what,
		    fido_strerr(fr));
	case FIDO_ERR_USER_ACTION_TIMEOUT:
	case FIDO_ERR_ACTION_TIMEOUT:
	case FIDO_ERR_TIMEOUT:
		return ob_errf(OB_ERR_TOUCH_TIMEOUT, "%s: %s", what,
		    fido_strerr(fr));
	case FIDO_ERR_KEEPALIVE_CANCEL:
	case FIDO_ERR_OPERATION_DENIED:
		return ob_errf(OB_ERR_CANCELLED, "%s: %s", what,
		    fido_strerr(fr));
	case FIDO_ERR_NO_CREDENTIALS:
	case FIDO_ERR_INVALID_CREDENTIAL:
		return ob_errf(OB_ERR_KEY_NOT_FOUND, "%s: %s: this key does not "
		    "hold the credential", what, fido_strerr(fr));
	case FIDO_ERR_CREDENTIAL_EXCLUDED:
		return ob_errf(OB_ERR_KEY_EXISTS, "%s: %s", what,
		    fido_strerr(fr));
	case FIDO_ERR_UNSUPPORTED_ALGORITHM:
		return ob_errf(OB_ERR_ALG_UNSUPPORTED, "%s: %s: the key does not "
		    "support this algorithm", what, fido_strerr(fr));
	case FIDO_ERR_PIN_REQUIRED:
	case FIDO_ERR_PIN_NOT_SET:
	case FIDO_ERR_PIN_POLICY_VIOLATION:
	case FIDO_ERR_UNSUPPORTED_OPTION:
	case FIDO_ERR_INVALID_OPTION:
		code = OB_ERR_DEVICE;
		break;
	case FIDO_ERR_TX:
	case FIDO_ERR_RX:
		/* Unplugged mid-operation, or a dead transport. */
		return ob_errf(OB_ERR_DEVICE_MISSING, "%s: %s: the key stopped "
		    "answering", what, fido_strerr(fr));
	case FIDO_ERR_INTERNAL:
	case FIDO_ERR_INVALID_ARGUMENT:
		code = OB_ERR_INTERNAL;
		break;
	default:
		code = OB_ERR_DEVICE;
		break;
	}
	return ob_errf(code, "%s: %s (%d)", what, fido_strerr(fr), fr);
}
