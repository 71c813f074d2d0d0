/*
 * libFuzzer harness: the gateway's policy parser (gateway/policy.c on
 * common/cfgread.c) and its decision.  Beyond "no crash": a policy that
 * parses decides every request with a named rule, allows only with k
 * approvals of at most the named owners, and never fails to decide.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ob_gw_request reqs[] = {
	{ "p1", "wimse://acme.example/agents/a1", "https://id.example",
	    "ES256", 300, 0, 1764676800, 0 },
	{ "proxy-eu-1", "spiffe://acme.example/agents/prod-7",
	    "https://id.example", "EdDSA", 3600, 1, 1764720000, 600 },
	{ "x", "wimse://other.example", "urn:x", "PS256", 1, 0, 0, 2592000 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_gw_policy	*p = NULL;
	struct ob_gw_decision	 d;
	size_t			 i;

	if (ob_gw_policy_parse(data, size, "(fuzz)", &p) != OB_OK) {
		if (p != NULL)
			abort();
		return 0;
	}
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (ob_gw_policy_decide(p, &reqs[i], &d) != OB_OK)
			abort();
		if (d.rule[0] == '\0' || (d.allow != 0 && d.allow != 1) ||
		    d.k > d.nowners || (!d.allow && d.k != 0) ||
		    strlen(d.rule) > OB_GW_RULE_NAME)
			abort();
		ob_gw_decision_clear(&d);
	}
	ob_gw_policy_free(&p);
	return 0;
}
