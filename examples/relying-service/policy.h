/*
 * The example relying service's policy: which agents, by their owner
 * binding, may call which path.  A JSON file:
 *
 *   {"paths": {"/v1/report": {"allow": [
 *       {"owner": "alice@example.org", "assurance": ["hardware", "attested"]},
 *       {"owner_type": "organization", "model": ["owner-mediated"],
 *        "via": ["wic"]}]}}}
 *
 * An allow entry matches when every member it has matches the verified
 * credential: owner, owner_type, group, gateway (exact), agent (an
 * fnmatch(3) pattern over the agent id, "/" matched only by "/"), and
 * assurance, kind, model, via (lists of accepted values).  A request is
 * allowed by the first entry of its path that matches; a path with no
 * matching entry, or no entry at all, is refused.  Unknown members are
 * configuration errors, not ignored.
 */
#ifndef OB_EXAMPLES_RELYING_POLICY_H
#define OB_EXAMPLES_RELYING_POLICY_H

#include <stddef.h>

#include "ownerbind/ob_rp.h"

#define POLICY_MAX_PATHS	16
#define POLICY_MAX_RULES	32

struct policy;

/* Errors: OB_ERR_IO, OB_ERR_JSON_*, OB_ERR_RP_CONFIG (the detail names
 * the member), OB_ERR_ALLOC. */
int policy_load(const char *file, struct policy **out) OB_WUR;
void policy_free(struct policy **pp);

size_t policy_npaths(const struct policy *p);
const char *policy_path(const struct policy *p, size_t i);

/*
 * OB_OK and *rule (the index of the entry that allowed it), or
 * OB_ERR_RP_POLICY with a detail saying what did not match.
 */
int policy_check(const struct policy *p, const char *path,
    const struct ob_rp_result *r, size_t *rule) OB_WUR;

#endif
