/*
 * The gateway's policy (docs/gateway-policy.md), its approval window:
 * max_renew_window_s is read and bounded, a deny rule refuses it, and a
 * request's proposed window (renew_until - iat) is allowed up to it,
 * denied over it and denied by a rule without it, naming the rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/obtest.h"
#include "gateway/policy.h"

#define POLICY(rule) \
	"{\"ownerbind_gateway_policy\": 1, \"rules\": [" rule "]}"
#define WIN_RULE \
	"{\"name\": \"win\", \"effect\": \"allow\", \"agents\": " \
	"[\"wimse://td.example/agents/w*\"], \"max_renew_window_s\": 12}"
#define PLAIN_RULE \
	"{\"name\": \"plain\", \"effect\": \"allow\", " \
	"\"trust_domains\": [\"td.example\"]}"

static struct ob_gw_policy *
parse(const char *s, int want)
{
	struct ob_gw_policy *p = NULL;

	assert_int_equal(ob_gw_policy_parse(s, strlen(s), "p.json", &p), want);
	if (want != OB_OK)
		assert_null(p);
	return p;
}

static void
decide(const struct ob_gw_policy *p, const char *agent, long long window,
    int allow, const char *rule, const char *why)
{
	struct ob_gw_request	q;
	struct ob_gw_decision	d;

	memset(&q, 0, sizeof(q));
	q.proxy = "proxy-1";
	q.agent = agent;
	q.aud = T_AUD;
	q.alg = "ES256";
	q.lifetime = 60;
	q.renew_window = window;
	q.now = T_NOW;
	assert_int_equal(ob_gw_policy_decide(p, &q, &d), OB_OK);
	assert_int_equal(d.allow, allow);
	assert_string_equal(d.rule, rule);
	if (strstr(d.why, why) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", d.why, why);
	ob_gw_decision_clear(&d);
}

static void
test_window_member(void **state)
{
	struct ob_gw_policy *p;

	(void)state;
	p = parse(POLICY(WIN_RULE), OB_OK);
	ob_gw_policy_free(&p);
	p = parse(POLICY("{\"name\": \"w\", \"effect\": \"allow\", "
	    "\"max_renew_window_s\": 2592000}"), OB_OK);
	ob_gw_policy_free(&p);
	(void)parse(POLICY("{\"name\": \"w\", \"effect\": \"allow\", "
	    "\"max_renew_window_s\": 2592001}"), OB_ERR_POLICY_INVALID);
	assert_non_null(strstr(ob_err_detail(), "max_renew_window_s"));
	(void)parse(POLICY("{\"name\": \"w\", \"effect\": \"allow\", "
	    "\"max_renew_window_s\": 0}"), OB_ERR_POLICY_INVALID);
	(void)parse(POLICY("{\"name\": \"w\", \"effect\": \"allow\", "
	    "\"max_renew_window_s\": \"12\"}"), OB_ERR_POLICY_INVALID);
	(void)parse(POLICY("{\"name\": \"w\", \"effect\": \"deny\", "
	    "\"max_renew_window_s\": 12}"), OB_ERR_POLICY_INVALID);
	assert_non_null(strstr(ob_err_detail(), "deny rule"));
}

static void
test_window_decide(void **state)
{
	struct ob_gw_policy *p;

	(void)state;
	p = parse(POLICY(WIN_RULE "," PLAIN_RULE), OB_OK);
	/* Up to the rule's window, and no window at all, are allowed. */
	decide(p, "wimse://td.example/agents/w1", 12, 1, "win", "allowed");
	decide(p, "wimse://td.example/agents/w1", 1, 1, "win", "allowed");
	decide(p, "wimse://td.example/agents/w1", 0, 1, "win", "allowed");
	/* Over it: denied by that rule, not capped. */
	decide(p, "wimse://td.example/agents/w1", 13, 0, "win",
	    "approval window 13s over 12s");
	/* A rule without the member grants no window. */
	decide(p, "wimse://td.example/agents/p1", 1, 0, "plain",
	    "approval window (renew_until) not granted");
	decide(p, "wimse://td.example/agents/p1", 0, 1, "plain", "allowed");
	ob_gw_policy_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_member),
		cmocka_unit_test(test_window_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
