/*
 * The error table (include/ownerbind/ob_err.h) and the per-thread detail
 * line.  The detail is what a log or a --verbose run shows beside the code;
 * callers never put secrets in it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ownerbind/ob_err.h"
#include "core/err.h"

struct err_row {
	int		 code;
	const char	*name;
	const char	*text;
	const char	*hint;
};

static const struct err_row err_rows[] = {
#define ROW_(name, num, text, hint) { (num), #name, (text), (hint) },
	OB_ERR_TABLE(ROW_)
#undef ROW_
};

static _Thread_local char err_detail[512];

static const struct err_row *
err_find(int code)
{
	size_t i;

	for (i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++)
		if (err_rows[i].code == code)
			return &err_rows[i];
	return NULL;
}

const char *
ob_err_name(int code)
{
	const struct err_row *r;

	if (code == OB_OK)
		return "OB_OK";
	if ((r = err_find(code)) == NULL)
		return "OB_ERR_UNKNOWN";
	return r->name;
}

const char *
ob_err_text(int code)
{
	const struct err_row *r;

	if (code == OB_OK)
		return "success";
	if ((r = err_find(code)) == NULL)
		return "unknown error";
	return r->text;
}

const char *
ob_err_hint(int code)
{
	const struct err_row *r;

	if (code == OB_OK || (r = err_find(code)) == NULL)
		return "";
	return r->hint;
}

const char *
ob_err_detail(void)
{
	return err_detail;
}

void
ob_err_clear(void)
{
	err_detail[0] = '\0';
}

int
ob_errf(int code, const char *fmt, ...)
{
	char	buf[sizeof(err_detail)];
	va_list	ap;

	/* Callers may pass ob_err_detail() itself: format aside first. */
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(err_detail, buf, sizeof(err_detail));
	return code;
}

int
ob_err_prefix(int code, const char *fmt, ...)
{
	char	 prefix[128], old[sizeof(err_detail)];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_detail, sizeof(old));
	/* Truncation is acceptable: the detail is advisory. */
	if (snprintf(err_detail, sizeof(err_detail), "%s%s%s", prefix,
	    old[0] != '\0' ? ": " : "", old) < 0)
		err_detail[0] = '\0';
	return code;
}

size_t
ob_err_count(void)
{
	return sizeof(err_rows) / sizeof(err_rows[0]);
}

int
ob_err_code_at(size_t i)
{
	return i < ob_err_count() ? err_rows[i].code : OB_OK;
}

int
ob_err_public(int code)
{
	switch (code) {
	case OB_OK:
	case OB_ERR_INTERNAL:
	case OB_ERR_SVC_BAD_REQUEST:
	case OB_ERR_SVC_TOO_LARGE:
	case OB_ERR_SVC_RATE_LIMITED:
	case OB_ERR_SVC_UNAVAILABLE:
	case OB_ERR_SVC_NOT_FOUND:
	case OB_ERR_SVC_METHOD:
	case OB_ERR_SVC_MEDIA_TYPE:
	case OB_ERR_SVC_PEER_UNKNOWN:
	case OB_ERR_SVC_HANDSHAKE:
	case OB_ERR_SVC_TIMEOUT:
	case OB_ERR_SIGNER_UNAVAILABLE:
	/* The gateway's: the proxy can tell a refusal from a fault. */
	case OB_ERR_UPSTREAM_UNAVAILABLE:
	case OB_ERR_UPSTREAM_TIMEOUT:
	case OB_ERR_POLICY_DENIED:
	case OB_ERR_APPROVAL_TIMEOUT:
	/* The held request's states (docs/api.md): the client acts on them. */
	case OB_ERR_CHAL_SHAPE:
	case OB_ERR_CHAL_UNKNOWN:
	case OB_ERR_CHAL_EXPIRED:
	case OB_ERR_CHAL_DENIED:
	case OB_ERR_CHAL_SLOW_DOWN:
	case OB_ERR_CHAL_OUTSTANDING:
	case OB_ERR_CHAL_ANSWER:
	case OB_ERR_CHAL_OWNER:
	case OB_ERR_CHAL_ANSWERED:
	case OB_ERR_CHAL_FULL:
	case OB_ERR_CHAL_FAILED:
	/* The ping's: about the client's own header and configuration. */
	case OB_ERR_NOTIFY_UNCONFIGURED:
	case OB_ERR_NOTIFY_TOKEN:
	/* Enrolment: the one who posts holds the invite and made the
	 * credential; there is no secret a distinct code would reveal
	 * (docs/server-mediated.md, "Enrolling a passkey"). */
	case OB_ERR_ENROL_UNKNOWN:
	case OB_ERR_ENROL_USED:
	case OB_ERR_ENROL_EXPIRED:
	case OB_ERR_ENROL_REQUEST:
	case OB_ERR_ENROL_TYPE:
	case OB_ERR_ENROL_CHALLENGE:
	case OB_ERR_ENROL_ORIGIN:
	case OB_ERR_ENROL_RPID:
	case OB_ERR_ENROL_FLAGS:
	case OB_ERR_ENROL_KEY:
	case OB_ERR_ENROL_ATTESTATION:
	case OB_ERR_ENROL_DUPLICATE:
		return code;
	case OB_ERR_ENROL_STORE:
		return OB_ERR_SVC_UNAVAILABLE;
	case OB_ERR_UPSTREAM_REPLY:
		return OB_ERR_UPSTREAM_UNAVAILABLE;
	case OB_ERR_GATEWAY_QUEUE_FULL:
	case OB_ERR_GATEWAY_DEADLINE:
	case OB_ERR_AUDIT_FAILED:
		return OB_ERR_SVC_UNAVAILABLE;
	/* The key's helper is busy: the same request may pass later. */
	case OB_ERR_SIGNER_RATE:
		return OB_ERR_SIGNER_UNAVAILABLE;
	/* The body is not JSON at all: the client can fix its encoder. */
	case OB_ERR_JSON_SYNTAX:
	case OB_ERR_JSON_DUPLICATE:
	case OB_ERR_JSON_TRAILING:
		return OB_ERR_SVC_BAD_REQUEST;
	case OB_ERR_ENV_TOO_LARGE:
		return OB_ERR_SVC_TOO_LARGE;
	/* The server's own trouble: the same request may pass later. */
	case OB_ERR_ALLOC:
	case OB_ERR_STATE:
	case OB_ERR_STATE_BUSY:
	case OB_ERR_STATE_UNAVAILABLE:
	case OB_ERR_STATE_REPLY:
	case OB_ERR_STATE_AUTH:
	case OB_ERR_STATE_REPLICAS:
	case OB_ERR_APPROVAL_RECORD:
		return OB_ERR_SVC_UNAVAILABLE;
	case OB_ERR_IO:
	case OB_ERR_RANDOM:
	case OB_ERR_CRYPTO:
	case OB_ERR_INVALID_ARG:
	case OB_ERR_SVC_CONFIG:
	case OB_ERR_SVC_TLS:
	case OB_ERR_STATE_URI:
		return OB_ERR_INTERNAL;
	default:
		return OB_ERR_REJECTED;
	}
}
