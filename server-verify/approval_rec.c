/*
 * server-verify/approval_rec.c: the record of an approval with an
 * approval window (docs/verifier.md, "Approval records"), written when
 * the approval is issued for and read back when a renewal names it.  It
 * is the approval's verdict, as the identity server accepted it, in one
 * JSON object of known members; anything else read back is refused.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/err.h"
#include "core/json.h"
#include "server-verify/state.h"
#include "server-verify/verify_int.h"

#define REC_VERSION	1
/*
 * A record outlives its window by this much, so that a renewal just after
 * the window is told so (OB_ERR_APPROVAL_WINDOW), not "unknown".
 */
#define REC_GRACE	3600

/* The record's strings, in the verdict's names (NULL: absent). */
static const char *const rec_strs[] = {
	"sub", "aud", "owner", "jkt", "model", "jti", "envelope_sha256",
	"owner_kid", "owner_kind", "owner_alg", "owner_jwk", "owner_jkt",
	"owner_type", "owner_group", "assurance", "gateway", "gateway_x5t",
	"dns_name", "logical_id", "client_id",
};

#define REC_NSTRS	(sizeof(rec_strs) / sizeof(rec_strs[0]))

static const char *
rec_val(const struct ob_verdict *v, const char *aud, size_t i)
{
	const char *const vals[REC_NSTRS] = {
		v->agent, aud, v->owner, v->agent_jkt, v->model, v->jti,
		v->envelope_sha256, v->owner_kid, v->owner_kind, v->owner_alg,
		v->owner_jwk, v->owner_jkt, v->owner_type, v->owner_group,
		v->assurance, v->gateway, v->gateway_x5t, v->dns_name,
		v->logical_id, v->client_id,
	};

	return vals[i];
}

/* "jkt:jti", the key of the approval's record (and of its jti). */
int
ob_approval_key(const char *jkt, const char *jti, char **out)
{
	size_t	n = strlen(jkt) + 1 + strlen(jti) + 1;
	char	*k;

	if ((k = malloc(n)) == NULL)
		return OB_ERR_ALLOC;
	(void)snprintf(k, n, "%s:%s", jkt, jti);
	*out = k;
	return OB_OK;
}

int
ob_state_record_approval(struct ob_state *state,
    const struct ob_verify_opts *opts, const struct ob_verdict *v)
{
	json_t		*o = NULL;
	char		*text = NULL, *key = NULL;
	long long	 now;
	size_t		 i, n;
	int		 r = OB_ERR_ALLOC;

	ob_err_clear();
	if (state == NULL || opts == NULL || opts->aud == NULL || v == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "state, opts->aud and the "
		    "verdict are required");
	now = opts->now != 0 ? opts->now : (long long)time(NULL);
	if (v->renew_until == 0 || v->renewal_of != NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "the verdict is no approval "
		    "with a window");
	if (v->renew_until <= now)
		return ob_errf(OB_ERR_APPROVAL_WINDOW, "the window has closed");
	if (v->agent == NULL || v->agent_jkt == NULL || v->owner == NULL ||
	    v->model == NULL || v->jti == NULL || v->envelope_sha256 == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "the verdict is incomplete");
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "v", json_integer(REC_VERSION)) ||
	    json_object_set_new(o, "renew_until",
	    json_integer(v->renew_until)) ||
	    json_object_set_new(o, "approved_at",
	    json_integer(v->approved_at)))
		goto out;
	for (i = 0; i < REC_NSTRS; i++)
		if (rec_val(v, opts->aud, i) != NULL &&
		    json_object_set_new(o, rec_strs[i],
		    json_string(rec_val(v, opts->aud, i))))
			goto out;
	OB_TRY(ob_json_dump(o, &text, &n));
	OB_TRY(ob_approval_key(v->agent_jkt, v->jti, &key));
	if ((r = ob_state_put_approval(state, key, text, v->renew_until +
	    REC_GRACE, now)) != OB_OK)
		r = ob_err_prefix(r, "approval record");
out:
	json_decref(o);
	free(text);
	free(key);
	return r;
}

void
ob_approval_rec_clear(struct ob_approval_rec *a)
{
	json_decref(a->root);
	memset(a, 0, sizeof(*a));
}

/* A string member or NULL; anything but a string is a broken record. */
static int
rec_str(const json_t *o, const char *k, const char **out)
{
	const json_t *v = json_object_get(o, k);

	*out = NULL;
	if (v == NULL)
		return OB_OK;
	if (!json_is_string(v))
		return ob_errf(OB_ERR_APPROVAL_RECORD, "%s is not a string", k);
	*out = json_string_value(v);
	return OB_OK;
}

int
ob_approval_rec_parse(const char *text, struct ob_approval_rec *out)
{
	struct ob_approval_rec	 a;
	const json_t		*v;
	const char		*k;
	const char		**slots[REC_NSTRS];
	size_t			 i;
	int			 r;

	memset(&a, 0, sizeof(a));
	slots[0] = &a.sub, slots[1] = &a.aud, slots[2] = &a.owner;
	slots[3] = &a.jkt, slots[4] = &a.model, slots[5] = &a.jti;
	slots[6] = &a.envelope_sha256, slots[7] = &a.owner_kid;
	slots[8] = &a.owner_kind, slots[9] = &a.owner_alg;
	slots[10] = &a.owner_jwk, slots[11] = &a.owner_jkt;
	slots[12] = &a.owner_type, slots[13] = &a.owner_group;
	slots[14] = &a.assurance, slots[15] = &a.gateway;
	slots[16] = &a.gateway_x5t, slots[17] = &a.dns_name;
	slots[18] = &a.logical_id, slots[19] = &a.client_id;
	if ((r = ob_json_parse_object(text, strlen(text), &a.root)) != OB_OK) {
		r = ob_errf(OB_ERR_APPROVAL_RECORD, "not a JSON object");
		goto out;
	}
	json_object_foreach(a.root, k, v) {
		for (i = 0; i < REC_NSTRS && strcmp(k, rec_strs[i]) != 0; i++)
			;
		if (i == REC_NSTRS && strcmp(k, "v") != 0 &&
		    strcmp(k, "renew_until") != 0 &&
		    strcmp(k, "approved_at") != 0) {
			r = ob_errf(OB_ERR_APPROVAL_RECORD, "unknown member %.32s",
			    k);
			goto out;
		}
	}
	v = json_object_get(a.root, "v");
	if (!json_is_integer(v) || json_integer_value(v) != REC_VERSION) {
		r = ob_errf(OB_ERR_APPROVAL_RECORD, "not a version %d record",
		    REC_VERSION);
		goto out;
	}
	for (i = 0; i < REC_NSTRS; i++)
		OB_TRY(rec_str(a.root, rec_strs[i], slots[i]));
	v = json_object_get(a.root, "renew_until");
	a.renew_until = json_is_integer(v) ? json_integer_value(v) : 0;
	v = json_object_get(a.root, "approved_at");
	a.approved_at = json_is_integer(v) ? json_integer_value(v) : 0;
	if (a.sub == NULL || a.aud == NULL || a.owner == NULL ||
	    a.jkt == NULL || a.model == NULL || a.jti == NULL ||
	    a.envelope_sha256 == NULL || a.owner_kind == NULL ||
	    a.owner_type == NULL || a.assurance == NULL ||
	    a.renew_until <= 0 || a.approved_at <= 0 ||
	    (a.gateway == NULL) == (a.owner_kid == NULL)) {
		r = ob_errf(OB_ERR_APPROVAL_RECORD, "a member is missing");
		goto out;
	}
	*out = a;
	memset(&a, 0, sizeof(a));
	r = OB_OK;
out:
	ob_approval_rec_clear(&a);
	return r;
}
