/*
 * Replay state behind one small interface, so that the memory store, the
 * SQLite store and a shared store (Redis) are interchangeable.  commit is
 * all-or-nothing: every check, then every write, or nothing.
 */
#ifndef OB_VERIFY_STATE_H
#define OB_VERIFY_STATE_H

#include <pthread.h>
#include <stddef.h>
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

/*
 * Bounded pruning: every acceptance (and every issued nonce) first drops
 * at most this many records of each kind whose time is up, oldest first.
 */
#define OB_STATE_PRUNE_MAX	32

/* Records a store holds, live or kept past their time (tests, bench). */
struct ob_state_count {
	size_t	jti;
	size_t	nonce;
};

/*
 * commit checks and records one acceptance and first prunes a bounded
 * number of records whose time is up (put_nonce too).  bulk (optional)
 * runs commit for n records in one transaction: bench and tests only.
 */
struct ob_state_ops {
	int  (*commit)(void *impl, const struct ob_replay *rp, long long now);
	int  (*put_nonce)(void *impl, const char *nonce, long long expires,
	    const char *bound_jti, long long now);
	int  (*count)(void *impl, struct ob_state_count *c);
	/*
	 * Approval records (docs/verifier.md, "Approval records"): rec is
	 * the record's text, kept under key until `until` (by the caller's
	 * clock); put replaces a record under the same key.  get gives a
	 * malloc'd copy of a record live at now, or OB_ERR_RENEWAL_UNKNOWN.
	 */
	int  (*put_approval)(void *impl, const char *key, const char *rec,
	    long long until, long long now);
	int  (*get_approval)(void *impl, const char *key, long long now,
	    char **rec);
	int  (*bulk)(void *impl, const struct ob_replay *rp, size_t n,
	    long long now);
	void (*free)(void *impl);
	int  (*batch)(void *impl, const struct ob_replay *rp, size_t n,
	    long long now, int *res);	/* optional: group commit */
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
 * Test and bench hooks, not in the shared library's ABI.  ob_state_count
 * counts the records held (SQLite: a full count, for tests only).
 * ob_state_bulk_commit commits n acceptances through the store's real
 * checks in one transaction (SQLite: one BEGIN IMMEDIATE ... COMMIT, so one
 * fsync), stopping at the first refusal; bench-state fills its stores
 * with it.
 */
int ob_state_count(struct ob_state *st, struct ob_state_count *c);
int ob_state_bulk_commit(struct ob_state *st, const struct ob_replay *rp,
    size_t n, long long now);

/*
 * Group commit (the server's pipeline, decision 123): n acceptances, each
 * checked and recorded in order in one transaction, so that a jti (nonce,
 * counter) twice in one batch is accepted once and refused the second
 * time.  A refusal of one (res[i]: OB_ERR_REPLAY, OB_ERR_NONCE_*,
 * OB_ERR_FIDO_COUNTER; ob_state_is_refusal) leaves the others; any other
 * failure fails the whole batch: the return is that code, every res[i]
 * is set to it and nothing of the batch is recorded.  Request i's records
 * are durable exactly when the return and res[i] are OB_OK.  SQLite: one
 * BEGIN IMMEDIATE ... COMMIT, so one fsync, for the batch.  A store
 * without a batch op (memory, Redis) commits one request at a time: each
 * res[i] stands alone (Redis: one round trip each) and the return is
 * OB_OK.  now is the earliest verification time of the batch.
 */
int ob_state_batch_commit(struct ob_state *st, const struct ob_replay *rp,
    size_t n, long long now, int *res) OB_WUR;
int ob_state_is_refusal(int code);

/*
 * Consume a server nonce outside an envelope (attestation at enrolment):
 * it must be live, unused and not bound to a request.
 */
int ob_state_consume_nonce(struct ob_state *st, const char *nonce,
    long long now);

/*
 * The approval record store behind the same lock (verify_renewal.c writes
 * and reads the record's text): key is "jkt:jti" of the approval.
 */
#define OB_APPROVAL_REC_MAX	16384
int ob_state_put_approval(struct ob_state *st, const char *key,
    const char *rec, long long until, long long now) OB_WUR;
int ob_state_get_approval(struct ob_state *st, const char *key,
    long long now, char **rec) OB_WUR;

extern const struct ob_state_ops ob_state_memory_ops;
extern const struct ob_state_ops ob_state_sqlite_ops;
int ob_state_memory_new(void **impl);
int ob_state_sqlite_new(const char *path, void **impl);

/*
 * The Redis store (state_redis.c, docs/redis.md): in the static library
 * ob_redis, never in libownerbind-verify, which promises OpenSSL, jansson
 * and SQLite only.  cfg is server-verify/redis.h's; the store connects
 * (AUTH, SELECT, PING) before it returns.  Errors: OB_ERR_STATE_URI,
 * OB_ERR_STATE_UNAVAILABLE, OB_ERR_STATE_AUTH, OB_ERR_STATE_REPLY,
 * OB_ERR_ALLOC.  Its commit can also fail with those (never with an
 * acceptance) and with OB_ERR_STATE_REPLICAS.
 */
struct ob_redis_cfg;
struct redisReply;
extern const struct ob_state_ops ob_state_redis_ops;
int ob_state_redis_new(const struct ob_redis_cfg *cfg, void **impl) OB_WUR;
int ob_state_open_redis(const struct ob_redis_cfg *cfg, struct ob_state **out)
    OB_WUR;

/*
 * The code for a reply of the acceptance script (rp for the detail):
 * OB_OK only for exactly {0, n}, the refusals' codes for {1..8, n},
 * OB_ERR_STATE_REPLY for anything else.  Exposed for tests, which feed
 * it replies the script never gives.
 */
int ob_state_redis_verdict(const struct redisReply *rep,
    const struct ob_replay *rp) OB_WUR;

#endif
