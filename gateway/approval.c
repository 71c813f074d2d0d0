/* The held requests and their approvals (gateway/approval.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/approval.h"
#include "core/envelope.h"
#include "core/err.h"
#include "gateway/approval.h"
#include "gateway/policy.h"
#include "server-verify/trust.h"

#define MAX_HELD	1024
#define SKEW		300	/* an approval's iat against the clock */

struct held {
	struct held		*next;
	char			 id[33];	/* 128 random bits, hex */
	struct ob_svc_req	*req;
	struct ob_envelope	*env;
	char			*text;		/* the request, serialized */
	char			 sha[44];	/* B64U(SHA-256(text)) */
	char			 proxy[OB_MAX_PROXY_ID + 1];
	char			 rule[OB_GW_RULE_NAME + 1];
	unsigned		 k;
	size_t			 nowners;
	char			*owners[OB_GW_MAX_APPROVERS];
	int			 approved[OB_GW_MAX_APPROVERS];
	unsigned		 count;
	long long		 expires;	/* CLOCK_REALTIME seconds */
	int			 done;		/* 1 complete, -1 expired */
};

struct ob_gw_pending {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	pthread_t		 thread;
	int			 started, stop;
	char			*gateway;
	unsigned		 timeout_s;
	ob_gw_pending_fn	 fn;
	void			*arg;
	struct held		*list;
	size_t			 n;
};

static void
held_free(struct held *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nowners; i++)
		free(h->owners[i]);
	free(h->text);
	ob_envelope_free(&h->env);
	free(h);
}

int
ob_gw_pending_new(const char *gateway_id, unsigned timeout_s,
    ob_gw_pending_fn fn, void *arg, struct ob_gw_pending **out)
{
	struct ob_gw_pending *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_ALLOC;
	if ((p->gateway = strdup(gateway_id)) == NULL ||
	    pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p->gateway);
		free(p);
		return OB_ERR_ALLOC;
	}
	if (pthread_cond_init(&p->cv, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p->gateway);
		free(p);
		return OB_ERR_ALLOC;
	}
	p->timeout_s = timeout_s;
	p->fn = fn;
	p->arg = arg;
	*out = p;
	return OB_OK;
}

/* Take the finished requests off the list (under the lock). */
static struct held *
take_done(struct ob_gw_pending *p, long long now)
{
	struct held	**hp = &p->list, *h, *out = NULL;

	while ((h = *hp) != NULL) {
		if (h->done == 0 && now >= h->expires)
			h->done = -1;
		if (h->done != 0) {
			*hp = h->next;
			h->next = out;
			out = h;
			p->n--;
		} else
			hp = &h->next;
	}
	return out;
}

static void
run_list(struct ob_gw_pending *p, struct held *h)
{
	struct held	*next;
	char		 d[256];

	for (; h != NULL; h = next) {
		next = h->next;
		if (h->done > 0)
			snprintf(d, sizeof(d), "%u of %zu owners of rule %s "
			    "approved request %s", h->count, h->nowners,
			    h->rule, h->id);
		else
			snprintf(d, sizeof(d), "rule %s: %u of the %u approvals "
			    "came before the timeout (request %s)", h->rule,
			    h->count, h->k, h->id);
		p->fn(p->arg, h->req, h->env, h->proxy, h->rule, h->done > 0 ?
		    OB_OK : OB_ERR_APPROVAL_TIMEOUT, d);
		held_free(h);
	}
}

void
ob_gw_pending_run(struct ob_gw_pending *p)
{
	struct held *h;

	pthread_mutex_lock(&p->mu);
	h = take_done(p, (long long)time(NULL));
	pthread_mutex_unlock(&p->mu);
	run_list(p, h);
}

static void *
expiry(void *arg)
{
	struct ob_gw_pending	*p = arg;
	struct timespec		 ts;
	struct held		*h;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		(void)pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		h = take_done(p, (long long)time(NULL));
		pthread_mutex_unlock(&p->mu);
		run_list(p, h);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
ob_gw_pending_start(struct ob_gw_pending *p)
{
	if (pthread_create(&p->thread, NULL, expiry, p) != 0)
		return ob_errf(OB_ERR_INTERNAL, "approval expiry thread");
	p->started = 1;
	return OB_OK;
}

void
ob_gw_pending_free(struct ob_gw_pending **pp)
{
	struct ob_gw_pending	*p;
	struct held		*h;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	/* Whatever still waits is refused: nothing is left unanswered. */
	pthread_mutex_lock(&p->mu);
	for (h = p->list; h != NULL; h = h->next)
		if (h->done == 0)
			h->done = -1;
	h = take_done(p, 0);
	pthread_mutex_unlock(&p->mu);
	run_list(p, h);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->gateway);
	free(p);
	*pp = NULL;
}

int
ob_gw_pending_add(struct ob_gw_pending *p, struct ob_svc_req *req,
    struct ob_envelope *env, const char *proxy,
    const struct ob_gw_decision *d)
{
	struct held	*h;
	unsigned char	 rnd[16];
	size_t		 i, len;
	int		 r;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return OB_ERR_ALLOC;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = OB_ERR_RANDOM;
		goto out;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(h->id + 2 * i, 3, "%02x", rnd[i]);
	OB_TRY(ob_envelope_serialize(env, &h->text, &len));
	OB_TRY(ob_sha256_b64url(h->text, len, h->sha));
	snprintf(h->proxy, sizeof(h->proxy), "%s", proxy);
	snprintf(h->rule, sizeof(h->rule), "%s", d->rule);
	h->k = d->k;
	for (i = 0; i < d->nowners; i++) {
		if ((h->owners[i] = strdup(d->owners[i])) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
		h->nowners = i + 1;
	}
	h->req = req;
	h->expires = (long long)time(NULL) + p->timeout_s;
	pthread_mutex_lock(&p->mu);
	if (p->n >= MAX_HELD) {
		pthread_mutex_unlock(&p->mu);
		r = ob_errf(OB_ERR_GATEWAY_QUEUE_FULL, "%d requests wait for "
		    "approvals", MAX_HELD);
		goto out;
	}
	h->env = env;
	h->next = p->list;
	p->list = h;
	p->n++;
	h = NULL;
	pthread_mutex_unlock(&p->mu);
	r = OB_OK;
out:
	if (h != NULL)
		held_free(h);
	return r;
}

static struct held *
find(struct ob_gw_pending *p, const char *id)
{
	struct held *h;

	for (h = p->list; h != NULL; h = h->next)
		if (h->done == 0 && strcmp(h->id, id) == 0)
			return h;
	return NULL;
}

/* The named owner whose enrolled key is kid, or -1. */
static int
approver(const struct held *h, const struct ob_trust *t, const char *kid,
    long long now, const struct ob_trust_key **key)
{
	const struct ob_trust_owner	*o;
	const struct ob_trust_key	*k;
	size_t				 i;

	for (i = 0; t != NULL && i < h->nowners; i++) {
		if ((o = ob_trust_owner(t, h->owners[i])) == NULL ||
		    (k = ob_trust_owner_key(o, kid)) == NULL)
			continue;
		if (o->revoked_at != 0 || k->revoked_at != 0 ||
		    (k->not_before != 0 && now < k->not_before) ||
		    (k->not_after != 0 && now > k->not_after))
			return -2;
		*key = k;
		return (int)i;
	}
	return -1;
}

int
ob_gw_pending_approve(struct ob_gw_pending *p, const struct ob_trust *t,
    const void *body, size_t len, char *who, size_t whosz, int *complete)
{
	struct ob_owner_approval	 a;
	const struct ob_trust_key	*key = NULL;
	struct held			*h;
	long long			 now = (long long)time(NULL);
	int				 i, r;

	*complete = 0;
	who[0] = '\0';
	if ((r = ob_owner_approval_parse(body, len, &a)) != OB_OK)
		return r;
	pthread_mutex_lock(&p->mu);
	if ((h = find(p, a.pending)) == NULL) {
		r = ob_errf(OB_ERR_APPROVAL_UNKNOWN, "request %.64s",
		    a.pending);
		goto out;
	}
	/* Bound to this very request at this very gateway. */
	if (strcmp(a.gateway, p->gateway) != 0 ||
	    CRYPTO_memcmp(a.request_sha256, h->sha, 43) != 0) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, "the approval is for "
		    "another request or gateway");
		goto out;
	}
	if (a.iat > now + SKEW || a.iat < now - SKEW -
	    (long long)p->timeout_s) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, "iat outside the window");
		goto out;
	}
	if ((i = approver(h, t, a.kid, now, &key)) < 0) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, i == -2 ? "the key of "
		    "kid %.64s is revoked or not valid now" : "kid %.64s is "
		    "no key of an owner rule %s names", a.kid, h->rule);
		goto out;
	}
	if (key->alg != a.alg || (r = ob_sig_verify(a.alg, key->pub,
	    (const unsigned char *)a.tbs, a.tbslen, a.sig, a.siglen)) !=
	    OB_OK) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, "the signature does not "
		    "verify with %s's key %.64s", h->owners[i], a.kid);
		goto out;
	}
	if (h->approved[i]) {
		r = ob_errf(OB_ERR_APPROVAL_INVALID, "%s approved request %s "
		    "already: one approval per owner", h->owners[i], h->id);
		goto out;
	}
	h->approved[i] = 1;
	h->count++;
	snprintf(who, whosz, "%s for request %s (%u/%u)", h->owners[i], h->id,
	    h->count, h->k);
	if (h->count >= h->k) {
		h->done = 1;
		*complete = 1;
	}
	r = OB_OK;
out:
	pthread_mutex_unlock(&p->mu);
	ob_owner_approval_clear(&a);
	return r;
}

int
ob_gw_pending_list(struct ob_gw_pending *p, json_t **out)
{
	struct held	*h;
	json_t		*a, *o, *owners;
	size_t		 i;
	long long	 now = (long long)time(NULL);
	int		 r = OB_OK;

	if ((a = json_array()) == NULL)
		return OB_ERR_ALLOC;
	pthread_mutex_lock(&p->mu);
	for (h = p->list; h != NULL && r == OB_OK; h = h->next) {
		if (h->done != 0)
			continue;
		owners = json_array();
		for (i = 0; owners != NULL && i < h->nowners; i++)
			if (json_array_append_new(owners,
			    json_string(h->owners[i])) != 0)
				r = OB_ERR_ALLOC;
		o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:s,s:s,s:s,s:I}",
		    "id", h->id, "gateway", p->gateway, "request_sha256", h->sha,
		    "rule", h->rule, "k", (json_int_t)h->k, "approvals",
		    (json_int_t)h->count, "owners", owners, "proxy", h->proxy,
		    "agent", h->env->claims.sub, "request", h->text,
		    "expires_in", (json_int_t)(h->expires - now));
		if (o == NULL || json_array_append_new(a, o) != 0)
			r = OB_ERR_ALLOC;
	}
	pthread_mutex_unlock(&p->mu);
	if (r != OB_OK) {
		json_decref(a);
		return r;
	}
	/* "o" takes the array, also when packing fails. */
	if ((*out = json_pack("{s:o}", "pending", a)) == NULL)
		return OB_ERR_ALLOC;
	return OB_OK;
}

size_t
ob_gw_pending_count(struct ob_gw_pending *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n;
	pthread_mutex_unlock(&p->mu);
	return n;
}
