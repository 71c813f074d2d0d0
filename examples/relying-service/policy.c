/*
 * The example relying service's policy (policy.h): checked whole when
 * loaded, then only read (jansson values are safe to read from the
 * service's worker threads at once).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cliutil.h"
#include "core/err.h"
#include "core/json.h"
#include "examples/relying-service/policy.h"

#define POLICY_MAX_FILE	(256 * 1024)

struct policy {
	json_t		*doc;
	const char	*path[POLICY_MAX_PATHS];
	json_t		*allow[POLICY_MAX_PATHS];
	size_t		 n;
};

/* The members an allow entry may have: a string or a list of them. */
static const struct {
	const char	*name;
	int		 list;
} members[] = {
	{ "owner", 0 }, { "owner_type", 0 }, { "group", 0 }, { "gateway", 0 },
	{ "agent", 0 }, { "assurance", 1 }, { "kind", 1 }, { "model", 1 },
	{ "via", 1 },
};
#define NMEMBERS	(sizeof(members) / sizeof(members[0]))

static int
rule_check(json_t *rule, const char *path, size_t i)
{
	json_t		*v, *e;
	const char	*k;
	size_t		 m, j;

	if (!json_is_object(rule))
		return ob_errf(OB_ERR_RP_CONFIG, "%s: allow[%zu] is not an "
		    "object", path, i);
	json_object_foreach(rule, k, v) {
		for (m = 0; m < NMEMBERS; m++)
			if (strcmp(members[m].name, k) == 0)
				break;
		if (m == NMEMBERS)
			return ob_errf(OB_ERR_RP_CONFIG, "%s: allow[%zu]: "
			    "unknown member \"%.32s\"", path, i, k);
		if (!members[m].list && !json_is_string(v))
			return ob_errf(OB_ERR_RP_CONFIG, "%s: allow[%zu]: %s "
			    "is not a string", path, i, k);
		if (members[m].list && (!json_is_array(v) ||
		    json_array_size(v) == 0))
			return ob_errf(OB_ERR_RP_CONFIG, "%s: allow[%zu]: %s "
			    "is not a list of strings", path, i, k);
		if (!members[m].list)
			continue;
		json_array_foreach(v, j, e)
			if (!json_is_string(e))
				return ob_errf(OB_ERR_RP_CONFIG, "%s: "
				    "allow[%zu]: %s[%zu] is not a string",
				    path, i, k, j);
	}
	return OB_OK;
}

int
policy_load(const char *file, struct policy **out)
{
	static const char *const top[] = { "paths", NULL };
	static const char *const entry[] = { "allow", NULL };
	struct policy	*p = NULL;
	json_t		*paths, *v, *allow;
	const char	*k;
	char		*buf = NULL;
	size_t		 len, i;
	int		 r;

	OB_TRY(ob_read_all(file, POLICY_MAX_FILE, &buf, &len));
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(ob_json_parse_object(buf, len, &p->doc));
	OB_TRY(ob_json_only_members(p->doc, top, OB_ERR_RP_CONFIG));
	if (!json_is_object(paths = json_object_get(p->doc, "paths")) ||
	    json_object_size(paths) == 0 ||
	    json_object_size(paths) > POLICY_MAX_PATHS) {
		r = ob_errf(OB_ERR_RP_CONFIG, "\"paths\" is not an object of "
		    "1..%d paths", POLICY_MAX_PATHS);
		goto out;
	}
	json_object_foreach(paths, k, v) {
		if (k[0] != '/' || strpbrk(k, "?#") != NULL) {
			r = ob_errf(OB_ERR_RP_CONFIG, "path \"%.64s\" is not "
			    "an absolute path", k);
			goto out;
		}
		if (!json_is_object(v)) {
			r = ob_errf(OB_ERR_RP_CONFIG, "%s is not an object", k);
			goto out;
		}
		OB_TRY(ob_json_only_members(v, entry, OB_ERR_RP_CONFIG));
		if (!json_is_array(allow = json_object_get(v, "allow")) ||
		    json_array_size(allow) > POLICY_MAX_RULES) {
			r = ob_errf(OB_ERR_RP_CONFIG, "%s: \"allow\" is not a "
			    "list of at most %d entries", k, POLICY_MAX_RULES);
			goto out;
		}
		for (i = 0; i < json_array_size(allow); i++)
			OB_TRY(rule_check(json_array_get(allow, i), k, i));
		p->path[p->n] = k;
		p->allow[p->n++] = allow;
	}
	*out = p;
	p = NULL;
	r = OB_OK;
out:
	if (r != OB_OK)
		r = ob_err_prefix(r, "policy %s", file);
	policy_free(&p);
	free(buf);
	return r;
}

void
policy_free(struct policy **pp)
{
	struct policy *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	json_decref(p->doc);
	free(p);
	*pp = NULL;
}

size_t
policy_npaths(const struct policy *p)
{
	return p->n;
}

const char *
policy_path(const struct policy *p, size_t i)
{
	return i < p->n ? p->path[i] : NULL;
}

/* The credential's value for a policy member (NULL: it has none). */
static const char *
value_of(const struct ob_rp_result *r, const char *m)
{
	if (strcmp(m, "owner") == 0)
		return ob_rp_result_owner(r);
	if (strcmp(m, "owner_type") == 0)
		return ob_rp_result_owner_type(r);
	if (strcmp(m, "group") == 0)
		return ob_rp_result_owner_group(r);
	if (strcmp(m, "gateway") == 0)
		return ob_rp_result_gateway(r);
	if (strcmp(m, "agent") == 0)
		return ob_rp_result_agent(r);
	if (strcmp(m, "assurance") == 0)
		return ob_rp_result_assurance(r);
	if (strcmp(m, "kind") == 0)
		return ob_rp_result_owner_kind(r);
	if (strcmp(m, "model") == 0)
		return ob_rp_result_model(r);
	if (strcmp(m, "via") == 0)
		return ob_rp_result_via(r);
	return NULL;
}

/* The first member of rule the credential does not satisfy, or NULL. */
static const char *
rule_miss(json_t *rule, const struct ob_rp_result *r)
{
	json_t		*v, *e;
	const char	*k, *have;
	size_t		 j;
	int		 ok;

	json_object_foreach(rule, k, v) {
		if ((have = value_of(r, k)) == NULL)
			return k;
		if (json_is_string(v)) {
			ok = strcmp(k, "agent") == 0 ?
			    fnmatch(json_string_value(v), have,
			    FNM_PATHNAME) == 0 :
			    strcmp(json_string_value(v), have) == 0;
		} else {
			ok = 0;
			json_array_foreach(v, j, e)
				if (strcmp(json_string_value(e), have) == 0)
					ok = 1;
		}
		if (!ok)
			return k;
	}
	return NULL;
}

int
policy_check(const struct policy *p, const char *path,
    const struct ob_rp_result *r, size_t *rule)
{
	const char	*miss = NULL, *m;
	size_t		 i, j;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->path[i], path) == 0)
			break;
	if (i == p->n)
		return ob_errf(OB_ERR_RP_POLICY, "no policy for %.64s", path);
	for (j = 0; j < json_array_size(p->allow[i]); j++) {
		if ((m = rule_miss(json_array_get(p->allow[i], j), r)) ==
		    NULL) {
			*rule = j;
			return OB_OK;
		}
		if (miss == NULL)
			miss = m;
	}
	return ob_errf(OB_ERR_RP_POLICY, "%.64s: no allow entry matches "
	    "(first: its %s)", path, miss != NULL ? miss : "list is empty");
}
