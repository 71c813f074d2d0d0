/*
 * The held requests of the server-mediated model (server/challenge.h).
 * One mutex over a small list: a table holds at most max_pending
 * requests, each looked at a few times in its life.  A hook hears of
 * every request that becomes pending, so that the server can answer the
 * long-polls of its owner's responders (they wait on the event loop).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/b64url.h"
#include "core/err.h"
#include "server/challenge.h"

#define LINGER_S	300

enum chal_state {
	CH_PENDING,
	CH_BUSY,	/* an answer is being checked */
	CH_ISSUED,	/* the credential waits for the proxy's poll */
	CH_DELIVERED,
	CH_DENIED,
	CH_FAILED,	/* approved, not issued: the jti is spent */
};

struct chal {
	struct chal	*next;
	char		 handle[OB_CHAL_HANDLE_CHARS + 1];
	char		 code[OB_BINDING_CODE_CHARS + 1];
	char		 nonce[64];
	char		*peer, *owner, *agent, *agent_jkt, *aud, *jti, *esha;
	char		*env;
	size_t		 envlen;
	long long	 created, deadline, last_poll, lifetime;
	enum chal_state	 state;
	json_t		*cred;
	char		*web_protected;	/* the approval page's owner header */
	char		*nclient;	/* a ping was asked for: the client */
	char		*ntoken;	/* its client_notification_token */
	int		 notified;
};

struct ob_chal_table {
	pthread_mutex_t		 mu;
	struct ob_chal_cfg	 cfg;
	void			(*pending_fn)(const char *, void *);
	void			*pending_arg;
	struct chal		*head;
	size_t			 n;
};

static void
chal_free(struct chal *c)
{
	if (c == NULL)
		return;
	free(c->peer);
	free(c->owner);
	free(c->agent);
	free(c->agent_jkt);
	free(c->aud);
	free(c->jti);
	free(c->esha);
	free(c->env);
	free(c->web_protected);
	free(c->nclient);
	if (c->ntoken != NULL) {
		OPENSSL_cleanse(c->ntoken, strlen(c->ntoken));
		free(c->ntoken);
	}
	json_decref(c->cred);
	free(c);
}

int
ob_chal_table_new(const struct ob_chal_cfg *cfg, struct ob_chal_table **out)
{
	struct ob_chal_table	*t;

	if (cfg == NULL || cfg->deadline_s <= 0 || cfg->interval_s <= 0 ||
	    cfg->max_pending == 0)
		return OB_ERR_INVALID_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return OB_ERR_ALLOC;
	t->cfg = *cfg;
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t);
		return OB_ERR_ALLOC;
	}
	*out = t;
	return OB_OK;
}

void
ob_chal_on_pending(struct ob_chal_table *t,
    void (*fn)(const char *owner, void *arg), void *arg)
{
	pthread_mutex_lock(&t->mu);
	t->pending_fn = fn;
	t->pending_arg = arg;
	pthread_mutex_unlock(&t->mu);
}

/* Tell the hook that owner has a request pending; unlocked. */
static void
pending(struct ob_chal_table *t, const char *owner)
{
	void	(*fn)(const char *, void *);
	void	*arg;

	pthread_mutex_lock(&t->mu);
	fn = t->pending_fn;
	arg = t->pending_arg;
	pthread_mutex_unlock(&t->mu);
	if (fn != NULL)
		fn(owner, arg);
}

int
ob_chal_set_cfg(struct ob_chal_table *t, const struct ob_chal_cfg *cfg)
{
	if (cfg == NULL || cfg->deadline_s <= 0 || cfg->interval_s <= 0 ||
	    cfg->max_pending == 0)
		return OB_ERR_INVALID_ARG;
	pthread_mutex_lock(&t->mu);
	t->cfg = *cfg;
	pthread_mutex_unlock(&t->mu);
	return OB_OK;
}

void
ob_chal_table_free(struct ob_chal_table **tp)
{
	struct ob_chal_table	*t;
	struct chal		*c, *nx;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	for (c = t->head; c != NULL; c = nx) {
		nx = c->next;
		chal_free(c);
	}
	(void)pthread_mutex_destroy(&t->mu);
	free(t);
	*tp = NULL;
}

/*
 * Drop what nobody can use any more: a request is kept for LINGER_S
 * after its deadline, so that a late poll or answer is told "expired"
 * rather than "unknown".
 */
static void
prune(struct ob_chal_table *t, long long now)
{
	struct chal	**pp = &t->head, *c;

	while ((c = *pp) != NULL) {
		if (c->state != CH_BUSY &&
		    now >= c->deadline + LINGER_S) {
			*pp = c->next;
			chal_free(c);
			t->n--;
		} else
			pp = &c->next;
	}
}

static struct chal *
find(struct ob_chal_table *t, const char *handle)
{
	struct chal *c;

	for (c = t->head; c != NULL; c = c->next)
		if (strcmp(c->handle, handle) == 0)
			return c;
	return NULL;
}

static int
dup_into(char **dst, const char *s)
{
	if (s == NULL)
		return OB_OK;
	return (*dst = strdup(s)) == NULL ? OB_ERR_ALLOC : OB_OK;
}

int
ob_chal_hold(struct ob_chal_table *t, const struct ob_chal_start *s,
    long long now, char handle[OB_CHAL_HANDLE_CHARS + 1],
    char code[OB_BINDING_CODE_CHARS + 1])
{
	struct chal	*c, *o;
	unsigned char	 rnd[24];
	char		*h = NULL;
	int		 r;

	if (s->agent_jkt == NULL || s->owner == NULL || s->nonce == NULL ||
	    strlen(s->nonce) >= sizeof(c->nonce) || s->envelope == NULL)
		return OB_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return OB_ERR_ALLOC;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = ob_errf(OB_ERR_RANDOM, "request handle");
		goto fail;
	}
	if ((r = ob_b64url_encode(rnd, sizeof(rnd), &h)) != OB_OK)
		goto fail;
	memcpy(c->handle, h, OB_CHAL_HANDLE_CHARS + 1);
	free(h);
	if ((r = ob_binding_code(s->envelope_sha256, s->nonce, c->code)) !=
	    OB_OK)
		goto fail;
	memcpy(c->nonce, s->nonce, strlen(s->nonce) + 1);
	if ((r = dup_into(&c->peer, s->peer)) != OB_OK ||
	    (r = dup_into(&c->owner, s->owner)) != OB_OK ||
	    (r = dup_into(&c->agent, s->agent)) != OB_OK ||
	    (r = dup_into(&c->agent_jkt, s->agent_jkt)) != OB_OK ||
	    (r = dup_into(&c->aud, s->aud)) != OB_OK ||
	    (r = dup_into(&c->jti, s->jti)) != OB_OK ||
	    (r = dup_into(&c->esha, s->envelope_sha256)) != OB_OK ||
	    (r = dup_into(&c->nclient, s->notify_client)) != OB_OK ||
	    (r = dup_into(&c->ntoken, s->notify_token)) != OB_OK)
		goto fail;
	if ((c->env = malloc(s->envelope_len + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto fail;
	}
	memcpy(c->env, s->envelope, s->envelope_len);
	c->env[s->envelope_len] = '\0';
	c->envlen = s->envelope_len;
	c->created = now;
	c->lifetime = s->lifetime;
	c->state = CH_PENDING;
	pthread_mutex_lock(&t->mu);
	c->deadline = now + (s->deadline_s > 0 ? s->deadline_s :
	    t->cfg.deadline_s);
	prune(t, now);
	/* One outstanding challenge per agent key: a flood from one agent
	 * cannot bury its owner in approvals. */
	for (o = t->head; o != NULL; o = o->next)
		if ((o->state == CH_PENDING || o->state == CH_BUSY) &&
		    now < o->deadline && strcmp(o->agent_jkt, c->agent_jkt) == 0)
			break;
	if (o != NULL) {
		pthread_mutex_unlock(&t->mu);
		r = ob_errf(OB_ERR_CHAL_OUTSTANDING, "agent key %s has request "
		    "%.8s... pending", c->agent_jkt, o->handle);
		goto fail;
	}
	if (t->n >= t->cfg.max_pending) {
		pthread_mutex_unlock(&t->mu);
		r = ob_errf(OB_ERR_CHAL_FULL, "%zu requests held", t->n);
		goto fail;
	}
	c->next = t->head;
	t->head = c;
	t->n++;
	memcpy(handle, c->handle, OB_CHAL_HANDLE_CHARS + 1);
	memcpy(code, c->code, OB_BINDING_CODE_CHARS + 1);
	pthread_mutex_unlock(&t->mu);
	pending(t, s->owner);
	return OB_OK;
fail:
	chal_free(c);
	return r;
}

int
ob_chal_poll(struct ob_chal_table *t, const char *handle, const char *peer,
    long long now, enum ob_chal_status *status, json_t **cred)
{
	struct chal	*c;
	int		 r = OB_OK;

	*cred = NULL;
	pthread_mutex_lock(&t->mu);
	prune(t, now);
	/* Another peer's handle is as unknown as a made-up one. */
	if ((c = find(t, handle)) == NULL || peer == NULL ||
	    strcmp(c->peer, peer) != 0) {
		r = ob_errf(OB_ERR_CHAL_UNKNOWN, "handle %.8s...", handle);
		goto out;
	}
	switch (c->state) {
	case CH_ISSUED:
		*cred = c->cred;
		c->cred = NULL;
		c->state = CH_DELIVERED;
		*status = OB_CHAL_ISSUED;
		goto out;
	case CH_DELIVERED:
		r = ob_errf(OB_ERR_CHAL_EXPIRED, "credential already "
		    "delivered");
		goto out;
	case CH_DENIED:
		r = ob_errf(OB_ERR_CHAL_DENIED, "the owner refused");
		goto out;
	case CH_FAILED:
		r = ob_errf(OB_ERR_CHAL_FAILED, "approved, but not issued: "
		    "start a new request");
		goto out;
	default:
		break;
	}
	if (now >= c->deadline) {
		r = ob_errf(OB_ERR_CHAL_EXPIRED, "deadline %llds ago",
		    now - c->deadline);
		goto out;
	}
	if (c->last_poll != 0 && now - c->last_poll < t->cfg.interval_s) {
		r = ob_errf(OB_ERR_CHAL_SLOW_DOWN, "%llds after the last poll, "
		    "interval %llds", now - c->last_poll, t->cfg.interval_s);
		goto out;
	}
	c->last_poll = now;
	*status = OB_CHAL_PENDING;
out:
	pthread_mutex_unlock(&t->mu);
	return r;
}

/* docs/api.md, "Challenge object". */
static json_t *
chal_json(const struct chal *c)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s%, "
	    "s:s}", "handle", c->handle, "binding_code", c->code, "owner",
	    c->owner, "agent", c->agent, "agent_jkt", c->agent_jkt, "audience",
	    c->aud, "proxy", c->peer, "lifetime", (json_int_t)c->lifetime,
	    "expires_at", (json_int_t)c->deadline, "request", c->env,
	    c->envlen, "nonce", c->nonce);
}

int
ob_chal_list(struct ob_chal_table *t, const char *owner, json_t **out)
{
	struct chal	*c;
	json_t		*a, *o;
	long long	 now = (long long)time(NULL);
	int		 r = OB_OK;

	if ((a = json_array()) == NULL)
		return OB_ERR_ALLOC;
	pthread_mutex_lock(&t->mu);
	for (c = t->head; c != NULL; c = c->next) {
		if (c->state != CH_PENDING || now >= c->deadline ||
		    strcmp(c->owner, owner) != 0)
			continue;
		if ((o = chal_json(c)) == NULL ||
		    json_array_append_new(a, o) != 0) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	}
out:
	pthread_mutex_unlock(&t->mu);
	if (r != OB_OK) {
		json_decref(a);
		return r;
	}
	*out = a;
	return OB_OK;
}

int
ob_chal_web(struct ob_chal_table *t, const char *handle, long long now,
    char *(*make)(const char *owner, const char *env, size_t envlen,
    const char *nonce, void *arg), void *arg, char **protected_b64,
    json_t **details)
{
	struct chal	*c;
	int		 r = OB_OK;

	*protected_b64 = NULL;
	*details = NULL;
	pthread_mutex_lock(&t->mu);
	if ((c = find(t, handle)) == NULL) {
		r = ob_errf(OB_ERR_CHAL_UNKNOWN, "handle %.8s...", handle);
		goto out;
	}
	if (c->state != CH_PENDING) {
		r = ob_errf(OB_ERR_CHAL_ANSWERED, "handle %.8s...", handle);
		goto out;
	}
	if (now >= c->deadline) {
		r = ob_errf(OB_ERR_CHAL_EXPIRED, "deadline %llds ago",
		    now - c->deadline);
		goto out;
	}
	/* One header per request: the page's challenge stays the same
	 * however often it is loaded. */
	if (c->web_protected == NULL &&
	    (c->web_protected = make(c->owner, c->env, c->envlen, c->nonce,
	    arg)) == NULL) {
		r = ob_errf(OB_ERR_CHAL_UNKNOWN, "%s", ob_err_detail());
		goto out;
	}
	if ((*protected_b64 = strdup(c->web_protected)) == NULL ||
	    (*details = chal_json(c)) == NULL) {
		free(*protected_b64);
		*protected_b64 = NULL;
		r = OB_ERR_ALLOC;
		goto out;
	}
	/* The page gets no nonce and no envelope: it shows, it does not
	 * sign itself. */
	(void)json_object_del(*details, "nonce");
	(void)json_object_del(*details, "request");
out:
	pthread_mutex_unlock(&t->mu);
	return r;
}

int
ob_chal_claim(struct ob_chal_table *t, const char *handle, const char *owner,
    long long now, char **env, size_t *envlen, char nonce[64],
    char **web_protected)
{
	struct chal	*c;
	int		 r = OB_OK;

	pthread_mutex_lock(&t->mu);
	if ((c = find(t, handle)) == NULL) {
		r = ob_errf(OB_ERR_CHAL_UNKNOWN, "handle %.8s...", handle);
		goto out;
	}
	if (web_protected != NULL) {
		if (c->web_protected == NULL) {
			r = ob_errf(OB_ERR_CHAL_ANSWER, "no approval page was "
			    "loaded for this request");
			goto out;
		}
	} else if (strcmp(c->owner, owner) != 0) {
		r = ob_errf(OB_ERR_CHAL_OWNER, "request of %.128s answered by "
		    "a device of %.128s", c->owner, owner);
		goto out;
	}
	if (c->state != CH_PENDING) {
		r = ob_errf(OB_ERR_CHAL_ANSWERED, "handle %.8s...", handle);
		goto out;
	}
	if (now >= c->deadline) {
		r = ob_errf(OB_ERR_CHAL_EXPIRED, "deadline %llds ago",
		    now - c->deadline);
		goto out;
	}
	if ((*env = malloc(c->envlen + 1)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(*env, c->env, c->envlen + 1);
	*envlen = c->envlen;
	if (web_protected != NULL &&
	    (*web_protected = strdup(c->web_protected)) == NULL) {
		free(*env);
		*env = NULL;
		r = OB_ERR_ALLOC;
		goto out;
	}
	memcpy(nonce, c->nonce, sizeof(c->nonce));
	c->state = CH_BUSY;
out:
	pthread_mutex_unlock(&t->mu);
	return r;
}

int
ob_chal_payload(struct ob_chal_table *t, const char *handle, char **env)
{
	struct chal	*c;
	int		 r = OB_OK;

	pthread_mutex_lock(&t->mu);
	if ((c = find(t, handle)) == NULL)
		r = ob_errf(OB_ERR_CHAL_UNKNOWN, "handle %.8s...", handle);
	else if ((*env = strdup(c->env)) == NULL)
		r = OB_ERR_ALLOC;
	pthread_mutex_unlock(&t->mu);
	return r;
}

void
ob_chal_settle(struct ob_chal_table *t, const char *handle, int code,
    json_t *cred)
{
	struct chal	*c;
	char		*again = NULL;

	pthread_mutex_lock(&t->mu);
	if ((c = find(t, handle)) != NULL && c->state == CH_BUSY) {
		if (code == OB_OK && cred != NULL) {
			c->cred = json_incref(cred);
			c->state = CH_ISSUED;
		} else if (code == OB_ERR_CHAL_DENIED)
			c->state = CH_DENIED;
		else if (code == OB_ERR_CHAL_FAILED)
			c->state = CH_FAILED;
		else {
			c->state = CH_PENDING;	/* listed again */
			again = strdup(c->owner);
		}
	}
	pthread_mutex_unlock(&t->mu);
	if (again != NULL)
		pending(t, again);
	free(again);
}

size_t
ob_chal_count(struct ob_chal_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

int
ob_chal_notes(struct ob_chal_table *t, long long now, json_t **out)
{
	struct chal	*c;
	const char	*st;
	json_t		*a, *o;
	int		 r = OB_OK;

	if ((a = json_array()) == NULL)
		return OB_ERR_ALLOC;
	pthread_mutex_lock(&t->mu);
	for (c = t->head; c != NULL; c = c->next) {
		if (c->nclient == NULL || c->notified)
			continue;
		if (c->state == CH_ISSUED || c->state == CH_DELIVERED)
			st = "issued";
		else if (c->state == CH_DENIED)
			st = "denied";
		else if (c->state == CH_FAILED)
			st = "failed";
		else if (c->state == CH_PENDING && now >= c->deadline)
			st = "expired";
		else
			continue;
		if ((o = json_pack("{s:s, s:s, s:s, s:s*}", "client",
		    c->nclient, "handle", c->handle, "status", st, "token",
		    c->ntoken)) == NULL || json_array_append_new(a, o) != 0) {
			r = OB_ERR_ALLOC;
			break;
		}
		c->notified = 1;
	}
	pthread_mutex_unlock(&t->mu);
	if (r != OB_OK) {
		json_decref(a);
		return r;
	}
	*out = a;
	return OB_OK;
}
