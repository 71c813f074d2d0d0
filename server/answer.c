/*
 * The owner's answer (server/answer.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/b64url.h"
#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "server/answer.h"

#define ANSWER_MAX_PROTECTED	32768	/* base64url of 24,576 bytes */
#define ANSWER_MAX_SIG		OB_MAX_SIGNATURE

void
ob_answer_clear(struct ob_answer *a)
{
	if (a == NULL)
		return;
	json_decref(a->doc);
	free(a->sig);
	memset(a, 0, sizeof(*a));
}

int
ob_answer_parse(const void *body, size_t len, struct ob_answer *out)
{
	static const char *const entry[] = { "protected", "signature",
	    "header", NULL };
	static const char *const refusal[] = { "decision", NULL };
	struct ob_answer	 a;
	const json_t		*d;
	const char		*sig;
	int			 r;

	memset(&a, 0, sizeof(a));
	if ((r = ob_json_parse_object(body, len, &a.doc)) != OB_OK) {
		r = ob_errf(OB_ERR_CHAL_ANSWER, "not one JSON object: %s",
		    ob_err_name(r));
		goto out;
	}
	if ((d = json_object_get(a.doc, "decision")) != NULL) {
		if (ob_json_only_members(a.doc, refusal, OB_ERR_CHAL_ANSWER) !=
		    OB_OK || !json_is_string(d) ||
		    strcmp(json_string_value(d), "deny") != 0) {
			r = ob_errf(OB_ERR_CHAL_ANSWER, "a refusal is exactly "
			    "{\"decision\":\"deny\"}");
			goto out;
		}
		a.deny = 1;
		*out = a;
		return OB_OK;
	}
	if ((r = ob_json_only_members(a.doc, entry, OB_ERR_CHAL_ANSWER)) !=
	    OB_OK ||
	    (r = ob_json_get_str(a.doc, "protected", 1, ANSWER_MAX_PROTECTED,
	    OB_ERR_CHAL_ANSWER, OB_ERR_CHAL_ANSWER, &a.protected_b64)) !=
	    OB_OK ||
	    (r = ob_json_get_str(a.doc, "signature", 1, ANSWER_MAX_SIG * 2,
	    OB_ERR_CHAL_ANSWER, OB_ERR_CHAL_ANSWER, &sig)) != OB_OK)
		goto out;
	a.header = json_object_get(a.doc, "header");
	if (a.header != NULL && !json_is_object(a.header)) {
		r = ob_errf(OB_ERR_CHAL_ANSWER, "header is not an object");
		goto out;
	}
	if ((r = ob_b64url_decode(sig, strlen(sig), ANSWER_MAX_SIG, &a.sig,
	    &a.siglen)) != OB_OK) {
		r = ob_errf(OB_ERR_CHAL_ANSWER, "signature is not base64url "
		    "of at most %d bytes", ANSWER_MAX_SIG);
		goto out;
	}
	*out = a;
	return OB_OK;
out:
	ob_answer_clear(&a);
	return r;
}

int
ob_answer_parse_webauthn(const void *body, size_t len, struct ob_answer *out)
{
	static const char *const m[] = { "authenticatorData",
	    "clientDataJSON", "signature", NULL };
	struct ob_answer	 a;
	const char		*sig;
	int			 r;

	memset(&a, 0, sizeof(a));
	if ((r = ob_json_parse_object(body, len, &a.doc)) != OB_OK) {
		r = ob_errf(OB_ERR_CHAL_ANSWER, "not one JSON object: %s",
		    ob_err_name(r));
		goto out;
	}
	if ((r = ob_json_only_members(a.doc, m, OB_ERR_CHAL_ANSWER)) !=
	    OB_OK ||
	    (r = ob_json_get_str(a.doc, "signature", 1, ANSWER_MAX_SIG * 2,
	    OB_ERR_CHAL_ANSWER, OB_ERR_CHAL_ANSWER, &sig)) != OB_OK)
		goto out;
	if (!json_is_string(json_object_get(a.doc, "authenticatorData")) ||
	    !json_is_string(json_object_get(a.doc, "clientDataJSON"))) {
		r = ob_errf(OB_ERR_CHAL_ANSWER, "authenticatorData and "
		    "clientDataJSON are base64url strings");
		goto out;
	}
	if ((r = ob_b64url_decode(sig, strlen(sig), ANSWER_MAX_SIG, &a.sig,
	    &a.siglen)) != OB_OK) {
		r = ob_errf(OB_ERR_CHAL_ANSWER, "signature is not base64url "
		    "of at most %d bytes", ANSWER_MAX_SIG);
		goto out;
	}
	/* What is left is the FIDO2 entry's unprotected header, which the
	 * envelope's own entry checks read when it is assembled. */
	(void)json_object_del(a.doc, "signature");
	a.header = a.doc;
	*out = a;
	return OB_OK;
out:
	ob_answer_clear(&a);
	return r;
}

int
ob_answer_assemble(const char *held, size_t heldlen, const struct ob_answer *a,
    char **out, size_t *outlen)
{
	struct ob_envelope	*env = NULL;
	int			 r;

	if (a->deny || a->protected_b64 == NULL)
		return OB_ERR_INVALID_ARG;
	OB_TRY(ob_envelope_parse(held, heldlen, 0, &env));
	/* The same checks as a parsed entry: header members, sizes. */
	OB_TRY(ob_envelope_append(env, a->protected_b64, a->header, a->sig,
	    a->siglen));
	r = ob_envelope_serialize(env, out, outlen);
out:
	ob_envelope_free(&env);
	return r;
}
