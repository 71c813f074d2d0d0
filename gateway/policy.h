/*
 * The gateway's policy (docs/gateway-policy.md): an ordered list of rules
 * in a JSON file.  The first rule whose selectors (proxies, agents, trust
 * domains) match the request decides: a "deny" rule denies; an "allow"
 * rule allows when every one of its conditions holds (audiences, maximum
 * lifetime, agent key algorithms, attestation evidence, hours), and
 * denies naming the condition otherwise.  No matching rule: denied by the
 * rule "(default)".  An allowing rule may require k approvals of n named
 * owners before the HSM signs.
 */
#ifndef OB_GATEWAY_POLICY_H
#define OB_GATEWAY_POLICY_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_GW_POLICY_MAX	(256 * 1024)	/* file bytes */
#define OB_GW_MAX_RULES		256
#define OB_GW_MAX_APPROVERS	16
#define OB_GW_RULE_NAME		64

struct ob_gw_policy;

/* What a request is judged by. */
struct ob_gw_request {
	const char	*proxy;		/* the authenticated proxy id */
	const char	*agent;		/* sub */
	const char	*aud;
	const char	*alg;		/* the agent key's algorithm */
	long long	 lifetime;	/* exp - iat */
	int		 has_evidence;	/* evidence_sha256 present */
	long long	 now;		/* seconds since the epoch */
	long long	 renew_window;	/* renew_until - iat, 0: none asked */
};

struct ob_gw_decision {
	int		 allow;
	char		 rule[OB_GW_RULE_NAME + 1];	/* who decided */
	char		 why[256];			/* for the record */
	unsigned	 k;				/* approvals needed */
	size_t		 nowners;
	char		*owners[OB_GW_MAX_APPROVERS];	/* who may approve */
};

/*
 * Parse a policy (buf need not be NUL-terminated); file names it in
 * errors.  OB_ERR_POLICY_INVALID with "FILE:LINE: \"PATH\" WHAT",
 * OB_ERR_ALLOC.
 */
int ob_gw_policy_parse(const void *buf, size_t len, const char *file,
    struct ob_gw_policy **out) OB_WUR;
int ob_gw_policy_load(const char *path, struct ob_gw_policy **out) OB_WUR;
void ob_gw_policy_free(struct ob_gw_policy **pp);
size_t ob_gw_policy_nrules(const struct ob_gw_policy *p);

/* Judge req; *d is filled either way (ob_gw_decision_clear after). */
int ob_gw_policy_decide(const struct ob_gw_policy *p,
    const struct ob_gw_request *req, struct ob_gw_decision *d) OB_WUR;
void ob_gw_decision_clear(struct ob_gw_decision *d);

#endif
