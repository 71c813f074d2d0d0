/*
 * The gateway's policy: parse (common/cfgread.h, so every error names
 * the member and its line) and decide (docs/gateway-policy.md).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfgread.h"
#include "core/alg.h"
#include "core/envelope.h"
#include "core/err.h"
#include "gateway/policy.h"

#define MAX_LIST	64	/* entries of one selector or condition */

struct list {
	char	**v;
	size_t	  n;
	int	  given;	/* the member was present */
};

struct rule {
	char		*name;
	int		 allow;
	struct list	 proxies, agents, domains;	/* selectors */
	struct list	 audiences, algs;		/* conditions */
	long long	 max_lifetime;			/* 0: none */
	long long	 max_renew_window;		/* 0: no window */
	int		 require_evidence;
	int		 hours_from, hours_to;		/* -1: always */
	unsigned	 k;
	struct list	 owners;
};

struct ob_gw_policy {
	struct rule	*rules;
	size_t		 n;
};

static void
list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
list_has(const struct list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static int
list_match(const struct list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], s, 0) == 0)
			return 1;
	return 0;
}

/* An array of 1..max distinct strings of 1..len bytes. */
static int
get_list(struct ob_cfg *c, const json_t *o, const char *key, size_t max,
    size_t len, struct list *l)
{
	json_t	*a, *v;
	size_t	 i;
	int	 r;

	if ((r = ob_cfg_member(c, o, key, JSON_ARRAY, 0, &a)) != OB_OK ||
	    a == NULL)
		return r;
	l->given = 1;
	if (json_array_size(a) == 0 || json_array_size(a) > max)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key, "must hold "
		    "1 to %zu strings", max);
	if ((l->v = calloc(json_array_size(a), sizeof(*l->v))) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > len ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key,
			    "[%zu] must be a string of 1 to %zu bytes", i, len);
		if (list_has(l, json_string_value(v)))
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, key,
			    "[%zu] is repeated", i);
		if ((l->v[l->n] = strdup(json_string_value(v))) == NULL)
			return OB_ERR_ALLOC;
		l->n++;
	}
	return OB_OK;
}

static int
name_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
}

static int
load_hours(struct ob_cfg *c, const json_t *o, struct rule *ru)
{
	json_t	*a, *f, *t;
	int	 r;

	ru->hours_from = ru->hours_to = -1;
	if ((r = ob_cfg_member(c, o, "hours_utc", JSON_ARRAY, 0, &a)) !=
	    OB_OK || a == NULL)
		return r;
	f = json_array_get(a, 0);
	t = json_array_get(a, 1);
	if (json_array_size(a) != 2 || !json_is_integer(f) ||
	    !json_is_integer(t) || json_integer_value(f) < 0 ||
	    json_integer_value(f) > 23 || json_integer_value(t) < 1 ||
	    json_integer_value(t) > 24 ||
	    json_integer_value(f) == json_integer_value(t))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "hours_utc",
		    "must be [FROM, TO]: hours 0..23 and 1..24, different "
		    "(FROM > TO spans midnight)");
	ru->hours_from = (int)json_integer_value(f);
	ru->hours_to = (int)json_integer_value(t);
	return OB_OK;
}

static int
load_approvals(struct ob_cfg *c, const json_t *o, struct rule *ru)
{
	static const char *const m[] = { "k", "owners", NULL };
	json_t		*a;
	long long	 k;
	int		 r;

	if ((r = ob_cfg_member(c, o, "approvals", JSON_OBJECT, 0, &a)) !=
	    OB_OK || a == NULL)
		return r;
	ob_cfg_push_key(c, "approvals");
	if ((r = ob_cfg_only(c, a, m)) != OB_OK ||
	    (r = get_list(c, a, "owners", OB_GW_MAX_APPROVERS, 256,
	    &ru->owners)) != OB_OK)
		return r;
	if (!ru->owners.given)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "has no "
		    "member \"owners\", which is required");
	if ((r = ob_cfg_int(c, a, "k", 1, (long long)ru->owners.n, 0, &k)) !=
	    OB_OK)
		return r;
	if (k == 0)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "has no "
		    "member \"k\", which is required");
	ru->k = (unsigned)k;
	ob_cfg_pop(c);
	return OB_OK;
}

static const char *const rule_members[] = {
	"name", "effect", "proxies", "agents", "trust_domains", "audiences",
	"max_lifetime", "agent_algs", "require_evidence", "hours_utc",
	"approvals", "max_renew_window_s", NULL
};

static int
load_rule(struct ob_cfg *c, const json_t *o, struct rule *ru)
{
	static const char *const effects[] = { "deny", "allow", NULL };
	enum ob_alg	 alg;
	json_t		*ev;
	size_t		 i;
	int		 r;

	if (!json_is_object(o))
		return ob_cfg_fail(c, OB_ERR_CONFIG_TYPE, NULL, "must be an "
		    "object");
	if ((r = ob_cfg_only(c, o, rule_members)) != OB_OK ||
	    (r = ob_cfg_str(c, o, "name", 1, NULL, OB_GW_RULE_NAME,
	    &ru->name)) != OB_OK ||
	    (r = ob_cfg_enum(c, o, "effect", 1, effects, 0, &ru->allow)) !=
	    OB_OK ||
	    (r = get_list(c, o, "proxies", MAX_LIST, 128, &ru->proxies)) !=
	    OB_OK ||
	    (r = get_list(c, o, "agents", MAX_LIST, 2048, &ru->agents)) !=
	    OB_OK ||
	    (r = get_list(c, o, "trust_domains", MAX_LIST, 255,
	    &ru->domains)) != OB_OK ||
	    (r = get_list(c, o, "audiences", MAX_LIST, 2048,
	    &ru->audiences)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "max_lifetime", 1, 86400, 0,
	    &ru->max_lifetime)) != OB_OK ||
	    (r = ob_cfg_int(c, o, "max_renew_window_s", 1, OB_MAX_RENEW_WINDOW,
	    0, &ru->max_renew_window)) != OB_OK ||
	    (r = get_list(c, o, "agent_algs", 8, 32, &ru->algs)) != OB_OK ||
	    (r = ob_cfg_member(c, o, "require_evidence", JSON_TRUE, 0,
	    &ev)) != OB_OK ||
	    (r = load_hours(c, o, ru)) != OB_OK ||
	    (r = load_approvals(c, o, ru)) != OB_OK)
		return r;
	if (!name_ok(ru->name) || strcmp(ru->name, "(default)") == 0)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "name", "must be "
		    "[A-Za-z0-9._-]");
	for (i = 0; i < ru->algs.n; i++)
		if (ob_alg_from_name(ru->algs.v[i], &alg) != OB_OK ||
		    ob_alg_is_webauthn(alg))
			return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID,
			    "agent_algs", "[%zu] is not ES256, ES384, EdDSA or "
			    "PS256", i);
	ru->require_evidence = ev != NULL && json_is_true(ev);
	if (!ru->allow && (ru->k != 0 || ru->max_lifetime != 0 ||
	    ru->max_renew_window != 0 ||
	    ru->audiences.given || ru->algs.given || ev != NULL ||
	    ru->hours_from >= 0))
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "is a deny "
		    "rule: it takes only selectors (proxies, agents, "
		    "trust_domains)");
	return OB_OK;
}

static void
policy_free(struct ob_gw_policy *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->rules[i].name);
		list_free(&p->rules[i].proxies);
		list_free(&p->rules[i].agents);
		list_free(&p->rules[i].domains);
		list_free(&p->rules[i].audiences);
		list_free(&p->rules[i].algs);
		list_free(&p->rules[i].owners);
	}
	free(p->rules);
	free(p);
}

static int
load(struct ob_cfg *c, const json_t *root, struct ob_gw_policy *p)
{
	static const char *const m[] = { "ownerbind_gateway_policy", "rules",
	    NULL };
	json_t		*a;
	long long	 v;
	size_t		 i, j;
	int		 r;

	if ((r = ob_cfg_only(c, root, m)) != OB_OK ||
	    (r = ob_cfg_int(c, root, "ownerbind_gateway_policy", 1, 1, 0,
	    &v)) != OB_OK)
		return r;
	if (v != 1)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, NULL, "has no "
		    "member \"ownerbind_gateway_policy\": 1");
	if ((r = ob_cfg_member(c, root, "rules", JSON_ARRAY, 1, &a)) != OB_OK)
		return r;
	if (json_array_size(a) > OB_GW_MAX_RULES)
		return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID, "rules", "must "
		    "hold at most %d rules", OB_GW_MAX_RULES);
	if (json_array_size(a) != 0 && (p->rules = calloc(json_array_size(a),
	    sizeof(*p->rules))) == NULL)
		return OB_ERR_ALLOC;
	ob_cfg_push_key(c, "rules");
	for (i = 0; i < json_array_size(a); i++) {
		ob_cfg_push_idx(c, i);
		p->n = i + 1;
		if ((r = load_rule(c, json_array_get(a, i), &p->rules[i])) !=
		    OB_OK)
			return r;
		for (j = 0; j < i; j++)
			if (strcmp(p->rules[j].name, p->rules[i].name) == 0)
				return ob_cfg_fail(c, OB_ERR_CONFIG_INVALID,
				    "name", "repeats rules[%zu]", j);
		ob_cfg_pop(c);
	}
	ob_cfg_pop(c);
	return OB_OK;
}

int
ob_gw_policy_parse(const void *buf, size_t len, const char *file,
    struct ob_gw_policy **out)
{
	struct ob_cfg		 c;
	struct ob_gw_policy	*p = NULL;
	json_t			*root = NULL;
	int			 r;

	memset(&c, 0, sizeof(c));
	if (len > OB_GW_POLICY_MAX)
		return ob_err_prefix(OB_ERR_POLICY_INVALID, "policy: over %d "
		    "bytes", OB_GW_POLICY_MAX);
	OB_TRY(ob_cfg_read(&c, buf, len, "/", file, &root));
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	OB_TRY(load(&c, root, p));
	*out = p;
	p = NULL;
	r = OB_OK;
out:
	if (r != OB_OK && r != OB_ERR_ALLOC)
		r = ob_err_prefix(OB_ERR_POLICY_INVALID, "policy");
	if (p != NULL)
		policy_free(p);
	json_decref(root);
	return r;
}

int
ob_gw_policy_load(const char *path, struct ob_gw_policy **out)
{
	char	*buf = NULL, *dir = NULL, *abs = NULL;
	size_t	 n;
	int	 r;

	if ((r = ob_cfg_slurp(path, &abs, &dir, &buf, &n)) != OB_OK)
		return ob_err_prefix(r == OB_ERR_ALLOC ? r :
		    OB_ERR_POLICY_INVALID, "policy");
	r = ob_gw_policy_parse(buf, n, path, out);
	free(buf);
	free(dir);
	free(abs);
	return r;
}

void
ob_gw_policy_free(struct ob_gw_policy **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	policy_free(*pp);
	*pp = NULL;
}

size_t
ob_gw_policy_nrules(const struct ob_gw_policy *p)
{
	return p->n;
}

void
ob_gw_decision_clear(struct ob_gw_decision *d)
{
	size_t i;

	for (i = 0; i < d->nowners; i++)
		free(d->owners[i]);
	memset(d, 0, sizeof(*d));
}

static int
selects(const struct rule *ru, const struct ob_gw_request *q, const char *td)
{
	if (ru->proxies.given && !list_has(&ru->proxies, q->proxy))
		return 0;
	if (ru->agents.given && !list_match(&ru->agents, q->agent))
		return 0;
	if (ru->domains.given && !list_has(&ru->domains, td))
		return 0;
	return 1;
}

/* The first condition of an allowing rule that fails, or NULL. */
static const char *
condition_fails(const struct rule *ru, const struct ob_gw_request *q,
    char *buf, size_t size)
{
	struct tm	tm;
	time_t		t = (time_t)q->now;
	int		h;

	if (ru->audiences.given && !list_has(&ru->audiences, q->aud))
		return "audience not allowed";
	if (ru->max_lifetime != 0 && q->lifetime > ru->max_lifetime) {
		(void)snprintf(buf, size, "lifetime %llds over %llds",
		    q->lifetime, ru->max_lifetime);
		return buf;
	}
	/* The agent signed its proposed window too: refused, not capped. */
	if (q->renew_window != 0 && ru->max_renew_window == 0)
		return "approval window (renew_until) not granted by this rule";
	if (q->renew_window > ru->max_renew_window) {
		(void)snprintf(buf, size, "approval window %llds over %llds",
		    q->renew_window, ru->max_renew_window);
		return buf;
	}
	if (ru->algs.given && !list_has(&ru->algs, q->alg)) {
		(void)snprintf(buf, size, "agent key algorithm %s not allowed",
		    q->alg);
		return buf;
	}
	if (ru->require_evidence && !q->has_evidence)
		return "attestation evidence (evidence_sha256) required";
	if (ru->hours_from >= 0) {
		if (gmtime_r(&t, &tm) == NULL)
			return "no time";
		h = tm.tm_hour;
		if (ru->hours_from < ru->hours_to ? h < ru->hours_from ||
		    h >= ru->hours_to : h < ru->hours_from && h >= ru->hours_to) {
			(void)snprintf(buf, size, "outside hours %d-%d UTC",
			    ru->hours_from, ru->hours_to);
			return buf;
		}
	}
	return NULL;
}

int
ob_gw_policy_decide(const struct ob_gw_policy *p,
    const struct ob_gw_request *q, struct ob_gw_decision *d)
{
	const struct rule	*ru = NULL;
	const char		*why;
	char			 td[256], buf[200];
	size_t			 i;
	int			 r;

	memset(d, 0, sizeof(*d));
	if ((r = ob_sub_trust_domain(q->agent, td, sizeof(td))) != OB_OK)
		return r;
	for (i = 0; i < p->n && ru == NULL; i++)
		if (selects(&p->rules[i], q, td))
			ru = &p->rules[i];
	if (ru == NULL) {
		(void)snprintf(d->rule, sizeof(d->rule), "(default)");
		(void)snprintf(d->why, sizeof(d->why), "no rule selects proxy "
		    "%.64s, agent %.128s", q->proxy, q->agent);
		return OB_OK;
	}
	(void)snprintf(d->rule, sizeof(d->rule), "%s", ru->name);
	if (!ru->allow) {
		(void)snprintf(d->why, sizeof(d->why), "a deny rule");
		return OB_OK;
	}
	if ((why = condition_fails(ru, q, buf, sizeof(buf))) != NULL) {
		(void)snprintf(d->why, sizeof(d->why), "%s", why);
		return OB_OK;
	}
	for (i = 0; i < ru->owners.n; i++) {
		if ((d->owners[i] = strdup(ru->owners.v[i])) == NULL) {
			ob_gw_decision_clear(d);
			return OB_ERR_ALLOC;
		}
		d->nowners = i + 1;
	}
	d->k = ru->k;
	d->allow = 1;
	if (ru->k != 0)
		(void)snprintf(d->why, sizeof(d->why), "allowed after %u of "
		    "%zu approvals", ru->k, ru->owners.n);
	else
		(void)snprintf(d->why, sizeof(d->why), "allowed");
	return OB_OK;
}
