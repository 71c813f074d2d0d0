#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "core/b64url.h"
#include "core/err.h"
#include "server-verify/state.h"

int
ob_state_wrap(const struct ob_state_ops *ops, void *impl,
    struct ob_state **out)
{
	struct ob_state *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ops->free(impl);
		return OB_ERR_ALLOC;
	}
	s->ops = ops;
	s->impl = impl;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return OB_OK;
}

int
ob_state_open_memory(struct ob_state **out)
{
	void	*impl;
	int	 r;

	if ((r = ob_state_memory_new(&impl)) != OB_OK)
		return r;
	return ob_state_wrap(&ob_state_memory_ops, impl, out);
}

int
ob_state_open_sqlite(const char *path, struct ob_state **out)
{
	void	*impl;
	int	 r;

	if ((r = ob_state_sqlite_new(path, &impl)) != OB_OK)
		return r;
	return ob_state_wrap(&ob_state_sqlite_ops, impl, out);
}

void
ob_state_free(struct ob_state **sp)
{
	struct ob_state *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	s->ops->free(s->impl);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

int
ob_state_commit(struct ob_state *st, const struct ob_replay *rp,
    long long now)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = st->ops->commit(st->impl, rp, now);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
ob_state_count(struct ob_state *st, struct ob_state_count *c)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = st->ops->count(st->impl, c);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
ob_state_bulk_commit(struct ob_state *st, const struct ob_replay *rp,
    size_t n, long long now)
{
	size_t	i;
	int	r = OB_OK;

	pthread_mutex_lock(&st->lock);
	if (st->ops->bulk != NULL)
		r = st->ops->bulk(st->impl, rp, n, now);
	else
		for (i = 0; i < n && r == OB_OK; i++)
			r = st->ops->commit(st->impl, &rp[i], now);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
ob_state_put_approval(struct ob_state *st, const char *key, const char *rec,
    long long until, long long now)
{
	int r;

	if (st == NULL || key == NULL || rec == NULL || until <= now ||
	    strlen(rec) > OB_APPROVAL_REC_MAX)
		return ob_errf(OB_ERR_INVALID_ARG, "approval record");
	pthread_mutex_lock(&st->lock);
	r = st->ops->put_approval(st->impl, key, rec, until, now);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
ob_state_get_approval(struct ob_state *st, const char *key, long long now,
    char **rec)
{
	int r;

	if (st == NULL || key == NULL || rec == NULL)
		return ob_errf(OB_ERR_INVALID_ARG, "approval record");
	*rec = NULL;
	pthread_mutex_lock(&st->lock);
	r = st->ops->get_approval(st->impl, key, now, rec);
	pthread_mutex_unlock(&st->lock);
	if (r == OB_OK && strlen(*rec) > OB_APPROVAL_REC_MAX) {
		free(*rec);
		*rec = NULL;
		r = ob_errf(OB_ERR_APPROVAL_RECORD, "record too long");
	}
	return r;
}

int
ob_state_is_refusal(int code)
{
	switch (code) {
	case OB_ERR_REPLAY:
	case OB_ERR_NONCE_UNKNOWN:
	case OB_ERR_NONCE_USED:
	case OB_ERR_NONCE_EXPIRED:
	case OB_ERR_NONCE_MISMATCH:
	case OB_ERR_NONCE_SKIPPED:
	case OB_ERR_NONCE_MISSING:
	case OB_ERR_FIDO_COUNTER:
		return 1;
	default:
		return 0;
	}
}

int
ob_state_batch_commit(struct ob_state *st, const struct ob_replay *rp,
    size_t n, long long now, int *res)
{
	size_t	i;
	int	r = OB_OK;

	pthread_mutex_lock(&st->lock);
	if (st->ops->batch != NULL) {
		if ((r = st->ops->batch(st->impl, rp, n, now, res)) != OB_OK)
			for (i = 0; i < n; i++)
				res[i] = r;
	} else
		for (i = 0; i < n; i++)
			res[i] = st->ops->commit(st->impl, &rp[i], now);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
ob_state_issue_nonce(struct ob_state *st, long long now, long long ttl,
    const char *bound_jti, char out[OB_NONCE_CHARS + 1])
{
	unsigned char	 rnd[24];
	char		*s = NULL;
	int		 r;

	if (st == NULL || ttl < 1 || ttl > 3600 ||
	    (bound_jti != NULL && strlen(bound_jti) > 64))
		return ob_errf(OB_ERR_INVALID_ARG, "nonce ttl must be 1..3600");
	if (now == 0)
		now = (long long)time(NULL);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return OB_ERR_RANDOM;
	if ((r = ob_b64url_encode(rnd, sizeof(rnd), &s)) != OB_OK)
		return r;
	pthread_mutex_lock(&st->lock);
	r = st->ops->put_nonce(st->impl, s, now + ttl, bound_jti, now);
	pthread_mutex_unlock(&st->lock);
	if (r == OB_OK)
		memcpy(out, s, OB_NONCE_CHARS + 1);
	free(s);
	return r;
}

int
ob_state_consume_nonce(struct ob_state *st, const char *nonce, long long now)
{
	struct ob_replay	 rp;
	char			 key[160];

	if (strlen(nonce) > 128)
		return ob_errf(OB_ERR_NONCE_UNKNOWN, "nonce too long");
	/* A key no envelope can produce: jti keys are "jkt:jti". */
	(void)snprintf(key, sizeof(key), "attest/%s", nonce);
	memset(&rp, 0, sizeof(rp));
	rp.jti_key = key;
	rp.jti = key;
	rp.keep_until = now + 3600;
	rp.nonce = nonce;
	return ob_state_commit(st, &rp, now);
}
