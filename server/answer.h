/*
 * The owner's answer to a held request (docs/api.md, "Answer"): either
 * an owner entry for the held envelope, or a refusal.  The parser is
 * strict JSON (core/json.h) with only the documented members; it checks
 * form, not signatures: those are the verifier's, once the server has
 * assembled the envelope (ob_answer_assemble).
 */
#ifndef OB_SERVER_ANSWER_H
#define OB_SERVER_ANSWER_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"

struct ob_answer {
	int		 deny;		/* {"decision":"deny"} */
	json_t		*doc;		/* the parsed body, owned */
	const char	*protected_b64;	/* borrowed from doc */
	const json_t	*header;	/* or NULL (FIDO2 entries have one) */
	unsigned char	*sig;
	size_t		 siglen;
};

/* Errors: OB_ERR_CHAL_ANSWER (the detail names the member), OB_ERR_ALLOC. */
int ob_answer_parse(const void *body, size_t len, struct ob_answer *out)
    OB_WUR;
/*
 * The approval page's answer: {"authenticatorData", "clientDataJSON",
 * "signature"}, base64url strings and nothing else; the first two become
 * the FIDO2 entry's unprotected header.  protected_b64 is left NULL: the
 * caller sets the header the server made for the page.  Errors: as above.
 */
int ob_answer_parse_webauthn(const void *body, size_t len,
    struct ob_answer *out) OB_WUR;
void ob_answer_clear(struct ob_answer *a);

/*
 * The held agent-only envelope with the answer's owner entry added, as
 * the bytes the verifier is given.  *out is malloc'd.  Errors: the
 * envelope parser's (an entry of the wrong form), OB_ERR_ALLOC.
 */
int ob_answer_assemble(const char *held, size_t heldlen,
    const struct ob_answer *a, char **out, size_t *outlen) OB_WUR;

#endif
