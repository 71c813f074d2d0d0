/*
 * Replay state behind one small interface, so that the memory store, the
 * SQLite store and a shared store (Redis) are interchangeable.  commit is
 * all-or-nothing: every check, then every write, or nothing.
 */
#ifndef OB_VERIFY_STATE_H
#define OB_VERIFY_STATE_H

#include <pthread.h>
#include <stdint.h>

#include "ownerbind/ob_verify.h"

struct ob_replay {
	const char	*jti_key;	/* agent jkt ":" jti */
	const char	*jti;
	long long	 keep_until;	/* exp + skew */
	const char	*nonce;		/* NULL if the envelope has none */
	const char	*counter_key;	/* owner kid, NULL if not FIDO2 */
	uint32_t	 counter;
};

struct ob_state_ops {
	int  (*commit)(void *impl, const struct ob_replay *rp, long long now);
	int  (*put_nonce)(void *impl, const char *nonce, long long expires,
	    const char *bound_jti);
	void (*free)(void *impl);
};

struct ob_state {
	const struct ob_state_ops	*ops;
	void				*impl;
	pthread_mutex_t			 lock;
};

int ob_state_wrap(const struct ob_state_ops *ops, void *impl,
    struct ob_state **out);
int ob_state_commit(struct ob_state *st, const struct ob_replay *rp,
    long long now);

/*
 * Consume a server nonce outside an envelope (attestation at enrolment):
 * it must be live, unused and not bound to a request.
 */
int ob_state_consume_nonce(struct ob_state *st, const char *nonce,
    long long now);

extern const struct ob_state_ops ob_state_memory_ops;
extern const struct ob_state_ops ob_state_sqlite_ops;
int ob_state_memory_new(void **impl);
int ob_state_sqlite_new(const char *path, void **impl);

#endif
