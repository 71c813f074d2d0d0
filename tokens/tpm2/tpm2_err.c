/*
 * TSS2_RC -> ob_err, at the backend edge.  The raw code and tpm2-tss's own
 * text go in the detail line (for diagnostics); the code says what the
 * user can do.  docs/tpm2.md, "Errors", shows the messages.
 */
#include <stdio.h>
#include <string.h>

#include <tss2/tss2_rc.h>

#include "core/err.h"
#include "tokens/tpm2/tpm2_int.h"

struct da_info {
	uint32_t	counter;	/* TPM2_PT_LOCKOUT_COUNTER */
	uint32_t	max;		/* TPM2_PT_MAX_AUTH_FAIL */
	uint32_t	interval;	/* TPM2_PT_LOCKOUT_INTERVAL, seconds */
	uint32_t	recovery;	/* TPM2_PT_LOCKOUT_RECOVERY, seconds */
};

/* The dictionary-attack counters; GetCapability needs no authorization. */
static int
da_query(struct tpm2_ctx *ctx, struct da_info *da)
{
	TPMS_CAPABILITY_DATA	*cap = NULL;
	TPMI_YES_NO		 more;
	TPML_TAGGED_TPM_PROPERTY *p;
	uint32_t		 i, found = 0;

	if (ctx == NULL || ctx->esys == NULL ||
	    Esys_GetCapability(ctx->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES, TPM2_PT_LOCKOUT_COUNTER, 4,
	    &more, &cap) != TSS2_RC_SUCCESS || cap == NULL)
		goto fail;
	p = &cap->data.tpmProperties;
	for (i = 0; i < p->count && i < TPM2_MAX_TPM_PROPERTIES; i++) {
		switch (p->tpmProperty[i].property) {
		case TPM2_PT_LOCKOUT_COUNTER:
			da->counter = p->tpmProperty[i].value;
			found |= 1;
			break;
		case TPM2_PT_MAX_AUTH_FAIL:
			da->max = p->tpmProperty[i].value;
			found |= 2;
			break;
		case TPM2_PT_LOCKOUT_INTERVAL:
			da->interval = p->tpmProperty[i].value;
			found |= 4;
			break;
		case TPM2_PT_LOCKOUT_RECOVERY:
			da->recovery = p->tpmProperty[i].value;
			found |= 8;
			break;
		default:
			break;
		}
	}
	Esys_Free(cap);
	return found == 15 ? 0 : -1;
fail:
	Esys_Free(cap);
	return -1;
}

static int
is_tpm_layer(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	return layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER;
}

/* A TPM response code with handle/session/parameter numbers removed. */
static TSS2_RC
tpm_code(TSS2_RC rc)
{
	rc &= 0xffff;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc;
}

int
tpm2_rc_is(TSS2_RC rc, TSS2_RC code)
{
	return is_tpm_layer(rc) && tpm_code(rc) == code;
}

int
tpm2_rc(struct tpm2_ctx *ctx, TSS2_RC rc, const char *what)
{
	struct da_info	 da;
	TSS2_RC		 base = rc & 0xffff;
	const char	*text = Tss2_RC_Decode(rc);

	memset(&da, 0, sizeof(da));
	if (!is_tpm_layer(rc)) {
		switch (base) {
		case TSS2_BASE_RC_IO_ERROR:
		case TSS2_BASE_RC_NO_CONNECTION:
		case TSS2_BASE_RC_TRY_AGAIN:
		case TSS2_BASE_RC_NO_TPM:
			return ob_errf(OB_ERR_TPM_UNREACHABLE, "%s: TSS2_RC "
			    "0x%x (%s)%s%s", what, rc, text,
			    ctx != NULL && ctx->conf != NULL ? "; TCTI " : "",
			    ctx != NULL && ctx->conf != NULL ? ctx->conf : "");
		case TSS2_BASE_RC_NOT_PERMITTED:
			return ob_errf(OB_ERR_DEVICE_PERMISSION, "%s: TSS2_RC "
			    "0x%x (%s): join the tss group or install the udev "
			    "rule for /dev/tpmrm0", what, rc, text);
		case TSS2_BASE_RC_MEMORY:
			return ob_errf(OB_ERR_ALLOC, "%s: TSS2_RC 0x%x", what,
			    rc);
		default:
			return ob_errf(OB_ERR_DEVICE, "%s: TSS2_RC 0x%x (%s)",
			    what, rc, text);
		}
	}
	switch (tpm_code(rc)) {
	case TPM2_RC_LOCKOUT:
		if (da_query(ctx, &da) == 0)
			return ob_errf(OB_ERR_TPM_LOCKOUT, "%s: TPM_RC 0x%x; %u "
			    "of %u failed authorizations; retry in about %u s "
			    "(the TPM forgives one failure every %u s), or "
			    "clear it with `tpm2_dictionarylockout "
			    "--clear-lockout` and the lockout auth (%u s wait "
			    "after a wrong lockout auth)", what, rc, da.counter,
			    da.max, da.interval, da.interval, da.recovery);
		return ob_errf(OB_ERR_TPM_LOCKOUT, "%s: TPM_RC 0x%x (%s)", what,
		    rc, text);
	case TPM2_RC_AUTH_FAIL:
	case TPM2_RC_BAD_AUTH:
		if (tpm_code(rc) == TPM2_RC_BAD_AUTH || da_query(ctx, &da) != 0)
			return ob_errf(OB_ERR_PIN_INCORRECT, "%s: the TPM "
			    "refused the key's auth value (TPM_RC 0x%x, %s)",
			    what, rc, text);
		if (da.counter >= da.max)
			return ob_errf(OB_ERR_PIN_INCORRECT, "%s: the TPM "
			    "refused the key's auth value (TPM_RC 0x%x); 0 "
			    "tries left: the TPM is now in dictionary-attack "
			    "lockout for about %u s", what, rc, da.interval);
		return ob_errf(OB_ERR_PIN_INCORRECT, "%s: the TPM refused the "
		    "key's auth value (TPM_RC 0x%x); %u %s left before "
		    "dictionary-attack lockout", what, rc, da.max - da.counter,
		    da.max - da.counter == 1 ? "try" : "tries");
	case TPM2_RC_OBJECT_MEMORY:
	case TPM2_RC_SESSION_MEMORY:
	case TPM2_RC_OBJECT_HANDLES:
	case TPM2_RC_SESSION_HANDLES:
		return ob_errf(OB_ERR_TPM_MEMORY, "%s: TPM_RC 0x%x (%s)", what,
		    rc, text);
	case TPM2_RC_INITIALIZE:
		return ob_errf(OB_ERR_TPM_UNREACHABLE, "%s: TPM_RC 0x%x: the "
		    "TPM has not been started (tpm2_startup -c)", what, rc);
	case TPM2_RC_RETRY:
	case TPM2_RC_YIELDED:
	case TPM2_RC_TESTING:
		return ob_errf(OB_ERR_DEVICE, "%s: TPM_RC 0x%x (%s): the TPM is "
		    "busy; retry", what, rc, text);
	default:
		return ob_errf(OB_ERR_DEVICE, "%s: TPM_RC 0x%x (%s)", what, rc,
		    text);
	}
}
