/*
 * The session pool (ob_p11.h): one key, up to max sessions that threads
 * borrow for one signature each.
 *
 * Locking: every call into the module holds the module's read lock
 * (p11_module.c); the pool mutex is taken only inside it, so fork() and
 * module re-initialisation (which take the write lock) never find the
 * pool mutex held.  Sessions carry the pool generation they were opened
 * in; after the token was found again (generation bump) an old session is
 * forgotten, never closed, because after a reset or re-initialisation its
 * handle number may already belong to somebody else's new session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/jwk.h"
#include "pkcs11/p11_int.h"

#define POOL_ATTEMPTS	8	/* tries per signature, with backoff */

struct ob_p11_pool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct p11_uri		*uri;
	struct p11_token	 tok;
	struct p11_key		 key;
	EVP_PKEY		*pub;
	enum ob_alg		 alg;
	size_t			 rsabytes;
	struct ob_pin_source	*own_src;	/* the URI's pin-source */
	const struct ob_pin_source *src;
	char			*pin;		/* kept (ob_pin_read's secmem) or NULL */
	unsigned int		 flags;
	int			 always_auth;	/* fixed at open */
	CK_SESSION_HANDLE	 idle[OB_P11_MAX_SESSIONS];
	size_t			 nidle, nopen, max;
	unsigned long		 gen;		/* bumped when re-found */
	unsigned long		 modgen;	/* module generation of gen */
	int			 stale;		/* re-find before next use */
	struct ob_p11_stats	 st;
};

static void
backoff(int attempt)
{
	struct timespec ts;
	long ms = 1L << (attempt < 7 ? attempt : 7);	/* 1 .. 128 ms */

	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

struct ctx_arg {
	struct ob_p11_pool	*p;
	const struct p11_token	*tok;
};

static int
ctx_login(void *arg, CK_SESSION_HANDLE s)
{
	struct ctx_arg *a = arg;

	return p11_login_context(a->tok, s, a->p->src, &a->p->pin, 1);
}

/*
 * Open a session on tok (the pool's token, or a snapshot of it taken under
 * the pool mutex) and log it in.  Module read lock held.
 */
static int
pool_session(struct ob_p11_pool *p, const struct p11_token *tok,
    CK_SESSION_HANDLE *out)
{
	CK_FUNCTION_LIST	*f = tok->mod->f;
	CK_SESSION_HANDLE	 s;
	CK_RV			 rv;
	int			 r, keep;

	if ((rv = f->C_OpenSession(tok->slot, CKF_SERIAL_SESSION, NULL,
	    NULL, &s)) != CKR_OK)
		return p11_err(rv, "C_OpenSession", tok->label);
	keep = (p->flags & OB_P11_KEEP_PIN) || p->always_auth;
	if ((r = p11_login(tok, s, p->src, keep, &p->pin,
	    (p->flags & OB_P11_QUIET) != 0)) != OB_OK) {
		(void)f->C_CloseSession(s);
		return r;
	}
	*out = s;
	return OB_OK;
}

/*
 * After a reset: find the token, log in, find the key again and insist it
 * is the same key.  Pool mutex and module read lock held.
 */
static int
pool_refind(struct ob_p11_pool *p, unsigned long modgen)
{
	CK_SESSION_HANDLE	 s;
	struct p11_key		 k;
	EVP_PKEY		*pub = NULL;
	int			 r;

	p->nidle = 0;		/* forgotten: see the comment at the top */
	p->nopen = 0;
	p->gen++;
	if ((r = p11_token_refind(&p->tok)) != OB_OK)
		return r;
	if ((r = pool_session(p, &p->tok, &s)) != OB_OK)
		return r;
	if ((r = p11_key_find(&p->tok, s, p->uri, &k)) != OB_OK ||
	    (r = p11_key_pubkey(&p->tok, s, &k, &pub)) != OB_OK)
		goto fail;
	if (!ob_pkey_equal(pub, p->pub)) {
		r = ob_errf(OB_ERR_KEY_NOT_FOUND, "token \"%s\": the key at "
		    "the URI is not the one opened before the reset",
		    p->tok.label);
		goto fail;
	}
	EVP_PKEY_free(pub);
	p->key = k;
	p->idle[p->nidle++] = s;
	p->nopen = 1;
	p->modgen = modgen;
	p->stale = 0;
	p->st.reinits++;
	return OB_OK;
fail:
	EVP_PKEY_free(pub);
	(void)p->tok.mod->f->C_CloseSession(s);
	return r;
}

/*
 * Borrow a session; *tok and *key are snapshots of the pool's token and key
 * for this generation.  Module read lock held.
 */
static int
pool_get(struct ob_p11_pool *p, CK_SESSION_HANDLE *s, unsigned long *gen,
    struct p11_token *tok, struct p11_key *key)
{
	unsigned long	modgen = p->tok.mod->gen;
	int		r = OB_OK;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->stale || p->modgen != modgen) {
			if ((r = pool_refind(p, modgen)) != OB_OK)
				break;
			pthread_cond_broadcast(&p->cv);
		}
		*tok = p->tok;
		*key = p->key;
		if (p->nidle > 0) {
			*s = p->idle[--p->nidle];
			break;
		}
		if (p->nopen < p->max) {
			p->nopen++;	/* reserve, then open unlocked */
			*gen = p->gen;
			pthread_mutex_unlock(&p->mu);
			if ((r = pool_session(p, tok, s)) == OB_OK)
				return OB_OK;
			pthread_mutex_lock(&p->mu);
			if (*gen == p->gen)
				p->nopen--;
			pthread_cond_signal(&p->cv);
			break;
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
	*gen = p->gen;
	pthread_mutex_unlock(&p->mu);
	return r;
}

/* Return a session; a failed one is closed.  Module read lock held. */
static void
pool_put(struct ob_p11_pool *p, CK_SESSION_HANDLE s, unsigned long gen,
    int ok)
{
	pthread_mutex_lock(&p->mu);
	if (gen == p->gen) {
		if (ok && p->nidle < OB_P11_MAX_SESSIONS)
			p->idle[p->nidle++] = s;
		else {
			(void)p->tok.mod->f->C_CloseSession(s);
			p->nopen--;
		}
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

int
ob_p11_pool_sign(struct ob_p11_pool *p, const unsigned char *msg,
    size_t msglen, unsigned char **sig, size_t *siglen)
{
	struct p11_module	*m = p->tok.mod;
	CK_SESSION_HANDLE	 s;
	struct p11_token	 tok;
	struct p11_key		 key;
	struct ctx_arg		 ca;
	CK_RV			 rv = CKR_OK;
	const char		*fn = NULL;
	unsigned char		 buf[1024], *out;
	unsigned long		 gen = 0, modgen;
	size_t			 len = 0;
	int			 attempt, did, r = OB_ERR_INTERNAL;

	for (attempt = 0; attempt < POOL_ATTEMPTS; attempt++) {
		if (attempt > 0)
			backoff(attempt - 1);
		if ((r = p11_module_check_fork(m)) != OB_OK)
			continue;
		pthread_rwlock_rdlock(&m->life);
		modgen = m->gen;
		rv = CKR_OK;
		fn = NULL;
		(void)p11_rv_last();
		if ((r = pool_get(p, &s, &gen, &tok, &key)) != OB_OK)
			rv = p11_rv_last();	/* the CKR behind it, if any */
		else {
			len = sizeof(buf);
			ca.p = p;
			ca.tok = &tok;
			r = p11_sign_once(m->f, s, key.priv, p->alg,
			    p->rsabytes, msg, msglen,
			    key.always_auth ? ctx_login : NULL, &ca, buf, &len,
			    &rv, &fn);
			pool_put(p, s, gen, r == OB_OK);
		}
		if (r != OB_OK && rv == CKR_OK)
			rv = CK_UNAVAILABLE_INFORMATION;
		if (r != OB_OK && p11_rv_transient(rv)) {
			/* This generation is spoilt; next try re-finds. */
			pthread_mutex_lock(&p->mu);
			if (gen == p->gen)
				p->stale = 1;
			pthread_mutex_unlock(&p->mu);
		}
		pthread_rwlock_unlock(&m->life);
		if (r == OB_OK)
			break;
		if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
			if (p11_module_reinit(m, modgen, &did) == OB_OK && did) {
				pthread_mutex_lock(&p->mu);
				p->st.module_reinits++;
				pthread_mutex_unlock(&p->mu);
			}
			continue;
		}
		/* pool_get may fail while the token is away: retry those. */
		if (!p11_rv_transient(rv) && r != OB_ERR_TOKEN_ABSENT)
			break;
	}
	if (r != OB_OK) {
		/* A CKR from C_SignInit/C_Sign; others have their detail. */
		if (fn != NULL && rv != CKR_OK && rv != CK_UNAVAILABLE_INFORMATION)
			r = p11_err(rv, fn, p->tok.label);
		return r;
	}
	if ((p->flags & OB_P11_VERIFY) && (r = ob_sig_verify(p->alg, p->pub,
	    msg, msglen, buf, len)) != OB_OK)
		return ob_errf(OB_ERR_TOKEN_SIG_BAD, "token \"%s\": %s",
		    p->tok.label, ob_err_name(r));
	if ((out = malloc(len)) == NULL)
		return OB_ERR_ALLOC;
	memcpy(out, buf, len);
	*sig = out;
	*siglen = len;
	pthread_mutex_lock(&p->mu);
	p->st.signatures++;
	pthread_mutex_unlock(&p->mu);
	return OB_OK;
}

static int
pool_alg(struct ob_p11_pool *p)
{
	if ((p->alg = ob_alg_for_key(p->pub)) == OB_ALG_INVALID)
		return ob_errf(OB_ERR_KEY_TYPE, "token \"%s\": the key is not "
		    "P-256, P-384, Ed25519 or RSA >= 2048", p->tok.label);
	if (p->alg == OB_ALG_PS256)
		p->rsabytes = (size_t)EVP_PKEY_get_size(p->pub);
	return p11_mech_check(&p->tok, p11_sign_mech(p->alg), CKF_SIGN);
}

int
ob_p11_pool_open(const char *uri, const struct ob_pin_source *pin,
    unsigned int flags, size_t max_sessions, struct ob_p11_pool **out)
{
	struct ob_p11_pool	 *p;
	struct p11_module	**mods = NULL;
	struct p11_module	 *m = NULL;
	CK_SESSION_HANDLE	  s = CK_INVALID_HANDLE;
	CK_ULONG		  tmax;
	size_t			  nmods = 0;
	int			  r, locked = 0;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OB_ERR_ALLOC;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return OB_ERR_ALLOC;
	}
	if (pthread_cond_init(&p->cv, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return OB_ERR_ALLOC;
	}
	p->flags = flags;
	p->src = pin;
	OB_TRY(p11_uri_parse(uri, &p->uri));
	if (p->uri->pin_spec != NULL) {
		OB_TRY(ob_pin_source_parse(p->uri->pin_spec, &p->own_src));
		p->src = p->own_src;
	}
	OB_TRY(p11_modules_for(p->uri, &mods, &nmods));
	OB_TRY(p11_token_find(p->uri, mods, nmods, &p->tok));
	m = p->tok.mod;
	pthread_rwlock_rdlock(&m->life);
	locked = 1;
	p->modgen = m->gen;
	tmax = p->tok.ti.ulMaxSessionCount;
	p->max = tmax == CK_EFFECTIVELY_INFINITE ||
	    tmax == CK_UNAVAILABLE_INFORMATION || tmax > OB_P11_MAX_SESSIONS ?
	    OB_P11_MAX_SESSIONS : (size_t)tmax;
	if (max_sessions != 0 && max_sessions < p->max)
		p->max = max_sessions;
	OB_TRY(pool_session(p, &p->tok, &s));
	OB_TRY(p11_key_find(&p->tok, s, p->uri, &p->key));
	OB_TRY(p11_key_pubkey(&p->tok, s, &p->key, &p->pub));
	OB_TRY(pool_alg(p));
	p->always_auth = p->key.always_auth;
	if (!(flags & OB_P11_KEEP_PIN) && !p->always_auth)
		ob_pin_free(&p->pin);
	p->idle[p->nidle++] = s;
	p->nopen = 1;
	s = CK_INVALID_HANDLE;
	pthread_rwlock_unlock(&m->life);
	locked = 0;
	*out = p;
	p = NULL;
	r = OB_OK;
out:
	if (s != CK_INVALID_HANDLE)
		(void)m->f->C_CloseSession(s);
	if (locked)
		pthread_rwlock_unlock(&m->life);
	free(mods);
	if (p != NULL) {
		p->nidle = 0;
		ob_p11_pool_close(&p);
	}
	return r;
}

enum ob_alg
ob_p11_pool_alg(const struct ob_p11_pool *p)
{
	return p->alg;
}

int
ob_p11_pool_pubkey(const struct ob_p11_pool *p, EVP_PKEY **out)
{
	if (EVP_PKEY_up_ref(p->pub) != 1)
		return ob_errf(OB_ERR_CRYPTO, "EVP_PKEY_up_ref");
	*out = p->pub;
	return OB_OK;
}

void
ob_p11_pool_stats(struct ob_p11_pool *p, struct ob_p11_stats *st)
{
	pthread_rwlock_rdlock(&p->tok.mod->life);
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	st->sessions_open = p->nopen;
	st->sessions_max = p->max;
	pthread_mutex_unlock(&p->mu);
	pthread_rwlock_unlock(&p->tok.mod->life);
}

void
ob_p11_pool_close(struct ob_p11_pool **pp)
{
	struct ob_p11_pool	*p;
	size_t			 i;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	if (p->tok.mod != NULL) {
		pthread_rwlock_rdlock(&p->tok.mod->life);
		if (p->modgen == p->tok.mod->gen)
			for (i = 0; i < p->nidle; i++)
				(void)p->tok.mod->f->C_CloseSession(p->idle[i]);
		pthread_rwlock_unlock(&p->tok.mod->life);
	}
	ob_pin_free(&p->pin);
	ob_pin_source_free(&p->own_src);
	EVP_PKEY_free(p->pub);
	p11_uri_free(&p->uri);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
	*pp = NULL;
}
