/*
 * Replay state through ob_verify: jti replay, nonce life cycle, FIDO2
 * counters, survival across a restart, and two processes racing on one
 * SQLite file (acceptance 2 of the verifier issue).  The same cases run
 * against the Redis store on a private redis-server, with what only a
 * shared store has: Redis down, slow, back, wrong replies, ACL users,
 * replicas (WAIT), and processes racing on jti, nonces and counters.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include "server-verify/redis.h"
#include "server-verify/verify_int.h"
#include "tests/redis/redis_fixture.h"
#include "tests/unit/obtest.h"
#include "server-verify/state.h"

static int redis_setup(void);
static int redis_teardown(void);

static EVP_PKEY *agent, *owner, *fido;
static struct ob_trust *trust, *ftrust;
static char dir[] = "/tmp/ob-state-XXXXXX";

static int
setup(void **state)
{
	char *t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	agent = t_key("P-256");
	owner = t_key("P-256");
	fido = t_key("P-256");
	t = t_trust(T_OWNER, "wimse://td.example/agents/*", owner, "software",
	    NULL, 0);
	assert_int_equal(ob_trust_load_buf(t, strlen(t), &trust), OB_OK);
	free(t);
	t = t_trust(T_OWNER, "wimse://td.example/agents/*", fido, "fido2",
	    "ownerbind:", 1);
	assert_int_equal(ob_trust_load_buf(t, strlen(t), &ftrust), OB_OK);
	free(t);
	return redis_setup();
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	ob_trust_free(&trust);
	ob_trust_free(&ftrust);
	EVP_PKEY_free(agent);
	EVP_PKEY_free(owner);
	EVP_PKEY_free(fido);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return redis_teardown() | system(cmd); /* lint: ok: our mkdtemp */
}

/* An envelope for jti; model server-mediated when nonce != NULL. */
/* An envelope from agent key ak, owner-signed. */
static char *
mk_as(EVP_PKEY *ak, const char *jti, const char *nonce)
{
	struct ob_envelope	*env = t_request(ak, T_NOW, jti);
	enum ob_model		 m = nonce != NULL ? OB_MODEL_SERVER_MEDIATED :
	    OB_MODEL_AGENT_MEDIATED;
	char			*s;

	t_sign(env, owner, OB_ROLE_OWNER, m, T_NOW, nonce, NULL);
	t_sign(env, ak, OB_ROLE_AGENT, m, T_NOW, nonce, NULL);
	s = t_serialize(env);
	ob_envelope_free(&env);
	return s;
}

static char *
mk(const char *jti, const char *nonce)
{
	return mk_as(agent, jti, nonce);
}

static char *
mk_fido(const char *jti, uint32_t counter)
{
	struct ob_envelope	*env = t_request(agent, T_NOW, jti);
	char			*s;

	t_sign_fido(env, fido, "ownerbind:", 0x05, counter,
	    OB_MODEL_AGENT_MEDIATED, T_NOW, NULL);
	t_sign(env, agent, OB_ROLE_AGENT, OB_MODEL_AGENT_MEDIATED, T_NOW, NULL,
	    NULL);
	s = t_serialize(env);
	ob_envelope_free(&env);
	return s;
}

static int
verify(const struct ob_trust *tr, struct ob_state *st, const char *env,
    long long now)
{
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	int			 r;

	memset(&o, 0, sizeof(o));
	o.aud = T_AUD;
	o.now = now;
	r = ob_verify(tr, st, &o, env, strlen(env), &v);
	assert_true((r == OB_OK) == (v != NULL));
	ob_verdict_free(&v);
	return r;
}

static void
run_replay(struct ob_state *st)
{
	char *a = mk("replay-aaaaaaaaaaaaaaaaa", NULL);
	char *b = mk("replay-bbbbbbbbbbbbbbbaa", NULL);

	assert_int_equal(verify(trust, st, a, T_NOW), OB_OK);
	assert_int_equal(verify(trust, st, a, T_NOW + 1), OB_ERR_REPLAY);
	assert_int_equal(verify(trust, st, b, T_NOW), OB_OK);
	free(a);
	free(b);
}

static void
run_nonce(struct ob_state *st)
{
	char	 n1[OB_NONCE_CHARS + 1], n2[OB_NONCE_CHARS + 1];
	char	 n3[OB_NONCE_CHARS + 1];
	char	*e;

	assert_int_equal(ob_state_issue_nonce(st, T_NOW - 10, 60, NULL, n1),
	    OB_OK);
	assert_int_equal(strlen(n1), OB_NONCE_CHARS);
	e = mk("nonce-1aaaaaaaaaaaaaaaaa", n1);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	/* the same nonce on another request: single use */
	e = mk("nonce-2aaaaaaaaaaaaaaaaa", n1);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_NONCE_USED);
	free(e);
	/* a nonce this server never issued */
	e = mk("nonce-3aaaaaaaaaaaaaaaaa", "bm90LWlzc3VlZC1ieS11cw");
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_NONCE_UNKNOWN);
	free(e);
	/* expired */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW - 100, 30, NULL, n2),
	    OB_OK);
	e = mk("nonce-4aaaaaaaaaaaaaaaaa", n2);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_NONCE_EXPIRED);
	free(e);
	/* bound to a request: another jti may not use it ... */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60,
	    "nonce-5aaaaaaaaaaaaaaaaa", n3), OB_OK);
	e = mk("nonce-6aaaaaaaaaaaaaaaaa", n3);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_NONCE_MISMATCH);
	free(e);
	/* ... and that request may not omit it */
	e = mk("nonce-5aaaaaaaaaaaaaaaaa", NULL);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_NONCE_MISSING);
	free(e);
	e = mk("nonce-5aaaaaaaaaaaaaaaaa", n3);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	/*
	 * ... nor skip it by carrying another, unbound live nonce (issue 11,
	 * class 5); that nonce stays unused, and the bound one still works.
	 */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60,
	    "nonce-7aaaaaaaaaaaaaaaaa", n3), OB_OK);
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60, NULL, n1), OB_OK);
	e = mk("nonce-7aaaaaaaaaaaaaaaaa", n1);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_NONCE_SKIPPED);
	free(e);
	e = mk("nonce-7aaaaaaaaaaaaaaaaa", n3);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	e = mk("nonce-8aaaaaaaaaaaaaaaaa", n1);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	/* once the bound nonce has expired, the request may go without */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW - 100, 30,
	    "nonce-9aaaaaaaaaaaaaaaaa", n3), OB_OK);
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60, NULL, n1), OB_OK);
	e = mk("nonce-9aaaaaaaaaaaaaaaaa", n1);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 0, NULL, n2),
	    OB_ERR_INVALID_ARG);
}

static void
run_counter(struct ob_state *st)
{
	char *e;

	e = mk_fido("ctr-1aaaaaaaaaaaaaaaaaaa", 5);
	assert_int_equal(verify(ftrust, st, e, T_NOW), OB_OK);
	free(e);
	e = mk_fido("ctr-2aaaaaaaaaaaaaaaaaaa", 5);	/* not increasing */
	assert_int_equal(verify(ftrust, st, e, T_NOW), OB_ERR_FIDO_COUNTER);
	free(e);
	e = mk_fido("ctr-3aaaaaaaaaaaaaaaaaaa", 4);	/* rolled back */
	assert_int_equal(verify(ftrust, st, e, T_NOW), OB_ERR_FIDO_COUNTER);
	free(e);
	e = mk_fido("ctr-4aaaaaaaaaaaaaaaaaaa", 6);
	assert_int_equal(verify(ftrust, st, e, T_NOW), OB_OK);
	free(e);
}

static void
test_memory(void **state)
{
	struct ob_state *st = NULL;

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	run_replay(st);
	run_nonce(st);
	run_counter(st);
	ob_state_free(&st);
	assert_null(st);
}

static void
test_sqlite_restart(void **state)
{
	struct ob_state	*st = NULL;
	char		 path[512], *a, *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/restart.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	run_replay(st);
	run_nonce(st);
	run_counter(st);
	ob_state_free(&st);
	/* A new process would open the same file: everything persists. */
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	a = mk("replay-aaaaaaaaaaaaaaaaa", NULL);
	assert_int_equal(verify(trust, st, a, T_NOW + 2), OB_ERR_REPLAY);
	f = mk_fido("ctr-5aaaaaaaaaaaaaaaaaaa", 6);
	assert_int_equal(verify(ftrust, st, f, T_NOW), OB_ERR_FIDO_COUNTER);
	free(a);
	free(f);
	ob_state_free(&st);
	assert_int_equal(ob_state_open_sqlite("/nonexistent/dir/x.db", &st),
	    OB_ERR_STATE);
}

/*
 * Approval records (docs/verifier.md, "Approval records"): kept until
 * their end by the caller's clock, replaced under the same key, gone for
 * another key and after their end.
 */
static void
run_approval(struct ob_state *st)
{
	char *t = NULL;

	assert_int_equal(ob_state_put_approval(st, "k1:a", "{\"r\":1}",
	    T_NOW + 20, T_NOW), OB_OK);
	assert_int_equal(ob_state_get_approval(st, "k1:a", T_NOW + 19, &t),
	    OB_OK);
	assert_string_equal(t, "{\"r\":1}");
	free(t);
	t = NULL;
	assert_int_equal(ob_state_get_approval(st, "k2:a", T_NOW, &t),
	    OB_ERR_RENEWAL_UNKNOWN);
	assert_null(t);
	assert_int_equal(ob_state_get_approval(st, "k1:a", T_NOW + 20, &t),
	    OB_ERR_RENEWAL_UNKNOWN);
	assert_int_equal(ob_state_put_approval(st, "k1:a", "{\"r\":2}",
	    T_NOW + 40, T_NOW + 1), OB_OK);
	assert_int_equal(ob_state_get_approval(st, "k1:a", T_NOW + 30, &t),
	    OB_OK);
	assert_string_equal(t, "{\"r\":2}");
	free(t);
	/* An end already past is no record to keep. */
	assert_int_equal(ob_state_put_approval(st, "k3:a", "{}", T_NOW,
	    T_NOW), OB_ERR_INVALID_ARG);
	/* Pruning (memory, SQLite) drops an ended one, never a live one. */
	assert_int_equal(ob_state_put_approval(st, "k4:a", "{}", T_NOW + 5,
	    T_NOW), OB_OK);
	assert_int_equal(ob_state_put_approval(st, "k5:a", "{}", T_NOW + 900,
	    T_NOW + 10), OB_OK);
	assert_int_equal(ob_state_get_approval(st, "k4:a", T_NOW + 5, &t),
	    OB_ERR_RENEWAL_UNKNOWN);
	assert_int_equal(ob_state_get_approval(st, "k1:a", T_NOW + 11, &t),
	    OB_OK);
	free(t);
}

static void
test_approval_memory(void **state)
{
	struct ob_state *st = NULL;

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	run_approval(st);
	ob_state_free(&st);
}

static void
test_approval_sqlite(void **state)
{
	struct ob_state	*st = NULL;
	char		 path[512], *t = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/approval.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	run_approval(st);
	ob_state_free(&st);
	/* Another process, or a restart, finds the record. */
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	assert_int_equal(ob_state_get_approval(st, "k1:a", T_NOW + 30, &t),
	    OB_OK);
	assert_string_equal(t, "{\"r\":2}");
	free(t);
	ob_state_free(&st);
}

/* A replay record for key, kept until keep_until. */
static struct ob_replay
rec(char *buf, size_t len, const char *pfx, int i, long long keep_until)
{
	struct ob_replay rp;

	(void)snprintf(buf, len, "%s-%06d", pfx, i);
	memset(&rp, 0, sizeof(rp));
	rp.jti_key = buf;
	rp.jti = buf;
	rp.keep_until = keep_until;
	return rp;
}

static size_t
jti_count(struct ob_state *st)
{
	struct ob_state_count c;

	assert_int_equal(ob_state_count(st, &c), OB_OK);
	return c.jti;
}

/*
 * Pruning happens, is bounded and goes oldest first: OLD expired jti and
 * LIVE live ones; each acceptance after their expiry removes exactly
 * OB_STATE_PRUNE_MAX expired rows until none is left, and never a live one.
 */
static void
run_prune(struct ob_state *st)
{
	enum { OLD = 3 * OB_STATE_PRUNE_MAX + 5, LIVE = 50 };
	struct ob_replay	 rp;
	struct ob_state_count	 c;
	char			 k[64], n[OB_NONCE_CHARS + 1];
	size_t			 before, after;
	int			 i;

	for (i = 0; i < OLD; i++) {
		rp = rec(k, sizeof(k), "old", i, T_NOW + 10 + i % 7);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_OK);
	}
	for (i = 0; i < LIVE; i++) {
		rp = rec(k, sizeof(k), "live", i, T_NOW + 100000);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_OK);
	}
	assert_int_equal(jti_count(st), OLD + LIVE);
	for (i = 0; i < OLD / OB_STATE_PRUNE_MAX + 2; i++) {
		before = jti_count(st);
		rp = rec(k, sizeof(k), "new", i, T_NOW + 100000);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW + 100), OB_OK);
		after = jti_count(st);
		/* +1 new row, at most K pruned, and exactly K while any left */
		if (before - OB_STATE_PRUNE_MAX >= (size_t)LIVE + (size_t)i)
			assert_int_equal(before + 1 - after,
			    OB_STATE_PRUNE_MAX);
		else
			assert_int_equal(after, (size_t)LIVE + (size_t)i + 1);
	}
	/* the live ones are all still there and still refused */
	for (i = 0; i < LIVE; i++) {
		rp = rec(k, sizeof(k), "live", i, T_NOW + 100000);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW + 100),
		    OB_ERR_REPLAY);
	}
	/*
	 * An expired row not yet pruned (older ones are pruned first) does
	 * not refuse its jti again, and lives again when accepted again.
	 */
	before = jti_count(st);
	for (i = 0; i < 2 * OB_STATE_PRUNE_MAX; i++) {
		rp = rec(k, sizeof(k), "backlog", i, T_NOW + 150);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW + 100), OB_OK);
	}
	rp = rec(k, sizeof(k), "again", 0, T_NOW + 200);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 100), OB_OK);
	rp.keep_until = T_NOW + 400;
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 300), OB_OK);
	assert_int_equal(jti_count(st), before + OB_STATE_PRUNE_MAX + 1);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 301), OB_ERR_REPLAY);
	rp = rec(k, sizeof(k), "again", 1, T_NOW + 400);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 301), OB_OK);
	assert_int_equal(jti_count(st), before + 2);
	/* nonces go an hour after their expiry, not before */
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	before = c.nonce;
	for (i = 0; i < 3; i++)
		assert_int_equal(ob_state_issue_nonce(st, T_NOW + 100, 60, NULL,
		    n), OB_OK);
	rp = rec(k, sizeof(k), "nonce", 0, T_NOW + 100000);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 160 + 3599), OB_OK);
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	assert_int_equal(c.nonce, before + 3);
	rp = rec(k, sizeof(k), "nonce", 1, T_NOW + 100000);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 160 + 3600), OB_OK);
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	assert_int_equal(c.nonce, before);
}

/*
 * Oldest first, seen through the API with a clock that goes back: K rows
 * that expire at T-990 and K at T-980 are pruned by one acceptance at
 * T-970; then, at T-985, every one of the later K must still refuse its
 * jti.  And a nonce past its hour of grace, not yet pruned because older
 * records go first, is "unknown", not "expired".
 */
static void
run_oldest(struct ob_state *st)
{
	struct ob_replay	 rp;
	char			 k[64], n[OB_NONCE_CHARS + 1];
	int			 i;

	for (i = 0; i < OB_STATE_PRUNE_MAX; i++) {
		rp = rec(k, sizeof(k), "a", i, T_NOW - 990);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW - 2000), OB_OK);
		rp = rec(k, sizeof(k), "b", i, T_NOW - 980);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW - 2000), OB_OK);
	}
	rp = rec(k, sizeof(k), "c", 0, T_NOW + 100000);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 970), OB_OK);
	assert_int_equal(jti_count(st), OB_STATE_PRUNE_MAX + 1);
	for (i = 0; i < OB_STATE_PRUNE_MAX; i++) {
		rp = rec(k, sizeof(k), "b", i, T_NOW - 980);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW - 985),
		    OB_ERR_REPLAY);
	}
	/*
	 * The nonce may be dropped at T-900+60+3600; 3K rows that expire
	 * before that go first (memory prunes even for refused requests).
	 */
	for (i = 0; i < 3 * OB_STATE_PRUNE_MAX; i++) {
		rp = rec(k, sizeof(k), "d", i, T_NOW + 1000);
		assert_int_equal(ob_state_commit(st, &rp, T_NOW - 985), OB_OK);
	}
	assert_int_equal(ob_state_issue_nonce(st, T_NOW - 900, 60, NULL, n),
	    OB_OK);
	rp = rec(k, sizeof(k), "grace", 0, T_NOW + 100000);
	rp.nonce = n;
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 840 + 3599),
	    OB_ERR_NONCE_EXPIRED);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 840 + 3600),
	    OB_ERR_NONCE_UNKNOWN);
}

static void
test_prune_memory(void **state)
{
	struct ob_state *st = NULL;

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	run_prune(st);
	ob_state_free(&st);
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	run_oldest(st);
	ob_state_free(&st);
}

static void
test_prune_sqlite(void **state)
{
	struct ob_state	*st = NULL;
	char		 path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/prune.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	run_prune(st);
	ob_state_free(&st);
	snprintf(path, sizeof(path), "%s/oldest.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	run_oldest(st);
	ob_state_free(&st);
}

static long long
db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*q = NULL;
	long long	 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/*
 * The file shrinks as its rows expire: fill, let everything expire, keep
 * accepting short-lived jti, and the database gives its pages back.
 */
static void
test_sqlite_shrinks(void **state)
{
	enum { FILL = 5000, ROUND = 250 };
	struct ob_replay	*rps;
	struct ob_state		*st = NULL;
	sqlite3			*db = NULL;
	char			 path[512], (*keys)[64];
	long long		 full, now = T_NOW;
	int			 i, round;

	(void)state;
	snprintf(path, sizeof(path), "%s/shrink.db", dir);
	assert_non_null(rps = calloc(FILL, sizeof(*rps)));
	assert_non_null(keys = calloc(FILL, sizeof(*keys)));
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	for (i = 0; i < FILL; i++)
		rps[i] = rec(keys[i], sizeof(keys[i]),
		    "fill-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", i,
		    now + 60);
	assert_int_equal(ob_state_bulk_commit(st, rps, FILL, now), OB_OK);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	full = db_int(db, "PRAGMA page_count");
	assert_int_equal(db_int(db, "PRAGMA auto_vacuum"), 2);
	for (round = 0; jti_count(st) > ROUND && round < 100; round++) {
		now += 120;
		for (i = 0; i < ROUND; i++)
			rps[i] = rec(keys[i], sizeof(keys[i]), "short", round *
			    ROUND + i, now + 60);
		assert_int_equal(ob_state_bulk_commit(st, rps, ROUND, now),
		    OB_OK);
	}
	assert_true(jti_count(st) <= ROUND);
	if (db_int(db, "PRAGMA page_count") * 4 > full)
		fail_msg("%lld pages full, %lld after expiry", full,
		    db_int(db, "PRAGMA page_count"));
	sqlite3_close(db);
	ob_state_free(&st);
	free(rps);
	free(keys);
}

/*
 * A file from before the expiry indexes (schema 0: user_version 0, no
 * auto_vacuum) is migrated on open and keeps its records; a file from a
 * newer verifier is refused.
 */
static void
test_sqlite_migrate(void **state)
{
	struct ob_replay	 rp;
	struct ob_state		*st = NULL;
	sqlite3			*db = NULL;
	char			 path[512], k[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/old.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE jti(k TEXT PRIMARY KEY,"
	    " expires INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE nonce(n TEXT PRIMARY KEY,"
	    " expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, jti TEXT)"
	    " WITHOUT ROWID;"
	    "CREATE INDEX nonce_by_jti ON nonce(jti);"
	    "CREATE TABLE counter(k TEXT PRIMARY KEY,"
	    " value INTEGER NOT NULL) WITHOUT ROWID;"
	    "INSERT INTO jti VALUES('old-000000', 1800000500);"
	    "INSERT INTO jti VALUES('old-000001', 1800000001);",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(db_int(db, "PRAGMA auto_vacuum"), 0);
	sqlite3_close(db);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(db_int(db, "PRAGMA auto_vacuum"), 2);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('seen_by_expires', 'nonce_by_expires')"), 2);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'approval'"), 1);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'jti'"), 0);
	rp = rec(k, sizeof(k), "old", 0, T_NOW + 600);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_ERR_REPLAY);
	/* the expired old row is pruned through the new index */
	rp = rec(k, sizeof(k), "new", 0, T_NOW + 600);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 10), OB_OK);
	assert_int_equal(jti_count(st), 2);
	ob_state_free(&st);
	/* a second open changes nothing */
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	assert_int_equal(jti_count(st), 2);
	ob_state_free(&st);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=3", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(ob_state_open_sqlite(path, &st),
	    OB_ERR_STATE_SCHEMA);
	assert_null(st);
	/* a new file is born with the current schema */
	sqlite3_close(db);
	snprintf(path, sizeof(path), "%s/new.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	ob_state_free(&st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(db_int(db, "PRAGMA auto_vacuum"), 2);
	assert_int_equal(db_int(db, "PRAGMA freelist_count"), 0);
	sqlite3_close(db);
}

/* Nothing is recorded for an envelope that fails a check. */
static void
test_no_partial_record(void **state)
{
	struct ob_state	*st = NULL;
	char		*e = mk("partial-aaaaaaaaaaaaaaaa", NULL);
	struct ob_verify_opts o;
	struct ob_verdict *v = NULL;

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	memset(&o, 0, sizeof(o));
	o.aud = "https://other.example";
	o.now = T_NOW;
	assert_int_equal(ob_verify(trust, st, &o, e, strlen(e), &v),
	    OB_ERR_AUD_MISMATCH);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	ob_state_free(&st);
	free(e);
}

/* ob_verify_defer: every check but the state's, nothing recorded. */
static void
defer(const char *env, struct ob_replay_held *h)
{
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;

	memset(&o, 0, sizeof(o));
	o.aud = T_AUD;
	o.now = T_NOW;
	assert_int_equal(ob_verify_defer(trust, &o, env, strlen(env), &v, h),
	    OB_OK);
	assert_non_null(v);
	assert_int_equal(h->now, T_NOW);
	ob_verdict_free(&v);
}

/*
 * Group commit (decision 123): a jti twice in one batch is accepted once,
 * a nonce twice once, and a refusal leaves the rest of the batch.
 */
static void
run_batch(struct ob_state *st)
{
	struct ob_replay_held	 h[6];
	struct ob_replay	 rp[6];
	struct ob_state_count	 c;
	struct ob_verify_opts	 o;
	struct ob_verdict	*v = NULL;
	char			 n1[OB_NONCE_CHARS + 1], *e[6];
	int			 res[6], i;

	assert_int_equal(ob_state_issue_nonce(st, T_NOW - 10, 60, NULL, n1),
	    OB_OK);
	e[0] = mk("batch-aaaaaaaaaaaaaaaaaa", NULL);
	e[1] = mk("batch-bbbbbbbbbbbbbbbbbb", NULL);
	e[2] = strdup(e[0]);			/* the same envelope again */
	e[3] = mk("batch-nonce-1aaaaaaaaaaa", n1);
	e[4] = mk("batch-nonce-2aaaaaaaaaaa", n1);	/* the same nonce */
	e[5] = mk("batch-cccccccccccccccccc", NULL);
	for (i = 0; i < 6; i++) {
		defer(e[i], &h[i]);
		rp[i] = h[i].rp;
	}
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	assert_int_equal(c.jti, 0);		/* deferred: nothing yet */
	assert_int_equal(ob_state_batch_commit(st, rp, 6, T_NOW, res), OB_OK);
	assert_int_equal(res[0], OB_OK);
	assert_int_equal(res[1], OB_OK);
	assert_int_equal(res[2], OB_ERR_REPLAY);
	assert_int_equal(res[3], OB_OK);
	assert_int_equal(res[4], OB_ERR_NONCE_USED);
	assert_int_equal(res[5], OB_OK);
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	assert_int_equal(c.jti, 4);
	/* What the batch accepted is spent for ob_verify too. */
	assert_int_equal(verify(trust, st, e[1], T_NOW), OB_ERR_REPLAY);
	assert_int_equal(verify(trust, st, e[5], T_NOW), OB_ERR_REPLAY);
	/* A deferred verification that fails leaves nothing held. */
	memset(&o, 0, sizeof(o));
	o.aud = "https://other.example";
	o.now = T_NOW;
	assert_int_equal(ob_verify_defer(trust, &o, e[0], strlen(e[0]), &v,
	    &h[0]), OB_ERR_AUD_MISMATCH);
	assert_null(v);
	assert_null(h[0].rp.jti_key);
	for (i = 0; i < 6; i++) {
		ob_replay_held_clear(&h[i]);
		free(e[i]);
	}
}

static void
test_batch(void **state)
{
	struct ob_state	*st = NULL;
	char		 path[512];

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	run_batch(st);
	ob_state_free(&st);
	snprintf(path, sizeof(path), "%s/batch.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	run_batch(st);
	ob_state_free(&st);
}

/*
 * A group commit that cannot be made durable (the disk full: a file-size
 * limit at the WAL's size) refuses the whole batch and records none of
 * it: the same requests are accepted once there is room again.
 */
static void
test_batch_fail(void **state)
{
	struct ob_replay_held	 h[3];
	struct ob_replay	 rp[3];
	struct ob_state_count	 c;
	struct ob_state		*st = NULL;
	struct rlimit		 old, lim;
	struct stat		 sb;
	char			 path[512], wal[600], *e[3], *first;
	int			 res[3], i, r;

	(void)state;
	snprintf(path, sizeof(path), "%s/batchfail.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	first = mk("bfail-0aaaaaaaaaaaaaaaaa", NULL);
	assert_int_equal(verify(trust, st, first, T_NOW), OB_OK);
	e[0] = mk("bfail-1aaaaaaaaaaaaaaaaa", NULL);
	e[1] = mk("bfail-2aaaaaaaaaaaaaaaaa", NULL);
	e[2] = strdup(e[0]);
	for (i = 0; i < 3; i++) {
		defer(e[i], &h[i]);
		rp[i] = h[i].rp;
	}
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size;
	(void)signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = ob_state_batch_commit(st, rp, 3, T_NOW, res);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	(void)signal(SIGXFSZ, SIG_DFL);
	assert_int_not_equal(r, OB_OK);
	assert_false(ob_state_is_refusal(r));
	for (i = 0; i < 3; i++)
		assert_int_equal(res[i], r);
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	assert_int_equal(c.jti, 1);
	/* Room again: the same batch, nothing of it recorded before. */
	assert_int_equal(ob_state_batch_commit(st, rp, 3, T_NOW, res), OB_OK);
	assert_int_equal(res[0], OB_OK);
	assert_int_equal(res[1], OB_OK);
	assert_int_equal(res[2], OB_ERR_REPLAY);
	ob_state_free(&st);
	/* And durable: a new connection sees them. */
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	assert_int_equal(verify(trust, st, e[1], T_NOW), OB_ERR_REPLAY);
	ob_state_free(&st);
	for (i = 0; i < 3; i++) {
		ob_replay_held_clear(&h[i]);
		free(e[i]);
	}
	free(first);
}

/*
 * Two processes share one state file and verify the same envelopes at the
 * same moment, many times: exactly one acceptance per envelope.
 */
static void
test_sqlite_race(void **state)
{
	enum { ROUNDS = 40 };
	char	 path[512], jti[32], *envs[ROUNDS];
	int	 pipes[2][2], i, p, accepted[ROUNDS], status;
	pid_t	 pid[2];
	char	 res[2][ROUNDS];

	(void)state;
	snprintf(path, sizeof(path), "%s/race.db", dir);
	for (i = 0; i < ROUNDS; i++) {
		snprintf(jti, sizeof(jti), "race-%04daaaaaaaaaaaaaaa", i);
		envs[i] = mk(jti, NULL);
	}
	for (p = 0; p < 2; p++) {
		assert_int_equal(pipe(pipes[p]), 0);
		if ((pid[p] = fork()) == 0) {
			struct ob_state *st = NULL;
			char out[ROUNDS];

			if (ob_state_open_sqlite(path, &st) != OB_OK)
				_exit(3);
			for (i = 0; i < ROUNDS; i++) {
				int r = verify(trust, st, envs[i], T_NOW);

				out[i] = r == OB_OK ? 'A' : r == OB_ERR_REPLAY ?
				    'R' : 'X';
			}
			ob_state_free(&st);
			if (write(pipes[p][1], out, ROUNDS) != ROUNDS)
				_exit(4);
			_exit(0);
		}
		close(pipes[p][1]);
	}
	for (p = 0; p < 2; p++) {
		ssize_t got = read(pipes[p][0], res[p], ROUNDS);

		close(pipes[p][0]);
		assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
		    got != ROUNDS)
			fail_msg("verifier process %d: status %d, %zd results",
			    p, status, got);
	}
	for (i = 0; i < ROUNDS; i++) {
		accepted[i] = (res[0][i] == 'A') + (res[1][i] == 'A');
		if (accepted[i] != 1 || res[0][i] == 'X' || res[1][i] == 'X')
			fail_msg("envelope %d: %c %c", i, res[0][i], res[1][i]);
		free(envs[i]);
	}
}

/*
 * ob_verify from several threads sharing one trust store and one state
 * (ob_verify.h's threading contract): every envelope accepted once, and
 * the same envelopes offered again by every thread accepted never.  Half
 * the envelopes come from agent keys of their own, so that the threads
 * also fill and read the shared cache of parsed agent keys (scripts/test
 * runs this under ThreadSanitizer).
 */
enum { T_THREADS = 4, T_PER = 100 };
static char *thr_envs[T_THREADS * T_PER];
static struct ob_state *thr_state;
static int thr_ok[T_THREADS], thr_replay[T_THREADS];
static pthread_barrier_t thr_start;

static void *
thr_run(void *arg)
{
	int i, me = (int)(intptr_t)arg, r;

	pthread_barrier_wait(&thr_start);
	for (i = 0; i < T_THREADS * T_PER; i++) {
		/*
		 * Every thread walks the envelopes in the same order, so
		 * they race for each one: exactly one may accept it, and for
		 * an envelope from a new agent key all of them miss the key
		 * cache and fill the same slot at about the same time.
		 */
		r = verify(trust, thr_state, thr_envs[i], T_NOW);
		if (r == OB_OK)
			thr_ok[me]++;
		else if (r == OB_ERR_REPLAY)
			thr_replay[me]++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t	t[T_THREADS];
	EVP_PKEY	*ak;
	char		jti[32];
	int		i, ok = 0, replay = 0;

	(void)state;
	for (i = 0; i < T_THREADS * T_PER; i++) {
		snprintf(jti, sizeof(jti), "thread-%04daaaaaaaaaaaaa", i);
		if (i % 2 == 0)
			thr_envs[i] = mk(jti, NULL);
		else {
			ak = t_key("P-256");
			thr_envs[i] = mk_as(ak, jti, NULL);
			EVP_PKEY_free(ak);
		}
	}
	assert_int_equal(ob_state_open_memory(&thr_state), OB_OK);
	assert_int_equal(pthread_barrier_init(&thr_start, NULL, T_THREADS), 0);
	for (i = 0; i < T_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thr_run,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < T_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		ok += thr_ok[i];
		replay += thr_replay[i];
	}
	assert_int_equal(pthread_barrier_destroy(&thr_start), 0);
	assert_int_equal(ok, T_THREADS * T_PER);
	assert_int_equal(replay, (T_THREADS - 1) * T_THREADS * T_PER);
	ob_state_free(&thr_state);
	for (i = 0; i < T_THREADS * T_PER; i++)
		free(thr_envs[i]);
}

/* ---- the Redis store ---- */

static struct t_redis rds;
static char rdir[] = "/tmp/ob-redis-XXXXXX";

static struct ob_state *
redis_open_cfg(const struct ob_redis_cfg *c)
{
	struct ob_state	*st = NULL;
	int		 r;

	if ((r = ob_state_open_redis(c, &st)) != OB_OK)
		fail_msg("ob_state_open_redis: %s: %s", ob_err_name(r),
		    ob_err_detail());
	return st;
}

static struct ob_state *
redis_open(const char *prefix, unsigned timeout_ms)
{
	struct ob_redis_cfg c;

	memset(&c, 0, sizeof(c));
	c.uri = rds.uri;
	c.prefix = prefix;
	c.timeout_ms = timeout_ms;
	return redis_open_cfg(&c);
}

/* A command on a raw hiredis connection to sock; the reply, never NULL. */
static redisReply *
raw(const char *sock, const char *fmt, ...)
{
	redisContext	*c;
	redisReply	*rep;
	va_list		 ap;

	assert_non_null(c = redisConnectUnix(sock));
	assert_int_equal(c->err, 0);
	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	assert_non_null(rep);
	redisFree(c);
	return rep;
}

static long long
raw_int(const char *sock, const char *fmt, const char *arg)
{
	redisReply	*rep = raw(sock, fmt, arg);
	long long	 v;

	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	v = rep->integer;
	freeReplyObject(rep);
	return v;
}

/* The one key that matches pattern (there must be exactly one). */
static char *
only_key(const char *pattern)
{
	redisReply	*rep = raw(rds.sock, "KEYS %s", pattern);
	char		*k;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1)
		fail_msg("%s: %zu keys", pattern, rep->elements);
	assert_non_null(k = strdup(rep->element[0]->str));
	freeReplyObject(rep);
	return k;
}

/* PTTL of key within [lo, hi] ms. */
static void
pttl_in(const char *key, long long lo, long long hi)
{
	long long t = raw_int(rds.sock, "PTTL %s", key);

	if (t < lo || t > hi)
		fail_msg("PTTL %s = %lld, not in [%lld, %lld]", key, t, lo, hi);
}

static int
redis_setup(void)
{
	if (mkdtemp(rdir) == NULL)
		return -1;
	return t_redis_start(&rds, rdir, "main", 0, NULL);
}

static int
redis_teardown(void)
{
	char cmd[256];

	t_redis_stop(&rds);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rdir);
	return system(cmd);	/* lint: ok: rm -rf of our mkdtemp */
}

/* Attestation nonces: live, single use, never one bound to a request. */
static void
run_consume(struct ob_state *st)
{
	char n[OB_NONCE_CHARS + 1], b[OB_NONCE_CHARS + 1];

	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60, NULL, n), OB_OK);
	assert_int_equal(ob_state_consume_nonce(st, n, T_NOW + 1), OB_OK);
	/* The attestation's own record is seen first. */
	assert_int_equal(ob_state_consume_nonce(st, n, T_NOW + 2),
	    OB_ERR_REPLAY);
	assert_int_equal(ob_state_consume_nonce(st, "bm90LWlzc3VlZC1ieS11cw",
	    T_NOW), OB_ERR_NONCE_UNKNOWN);
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60,
	    "consume-aaaaaaaaaaaaaaaa", b), OB_OK);
	assert_int_equal(ob_state_consume_nonce(st, b, T_NOW + 1),
	    OB_ERR_NONCE_MISMATCH);
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60, NULL, n), OB_OK);
	assert_int_equal(ob_state_consume_nonce(st, n, T_NOW + 60),
	    OB_ERR_NONCE_EXPIRED);
}

static void
test_consume_local(void **state)
{
	struct ob_state	*st = NULL;
	char		 path[512];

	(void)state;
	assert_int_equal(ob_state_open_memory(&st), OB_OK);
	run_consume(st);
	ob_state_free(&st);
	snprintf(path, sizeof(path), "%s/consume.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st), OB_OK);
	run_consume(st);
	ob_state_free(&st);
}

/* The SQLite store's cases, answer for answer, and a second connection. */
static void
test_redis(void **state)
{
	struct ob_state	*st, *other;
	char		*a, *f;

	(void)state;
	st = redis_open("cases:", 0);
	run_replay(st);
	run_nonce(st);
	run_counter(st);
	run_consume(st);
	ob_state_free(&st);
	/* Another server, another connection: it sees every record. */
	st = redis_open("cases:", 0);
	a = mk("replay-aaaaaaaaaaaaaaaaa", NULL);
	assert_int_equal(verify(trust, st, a, T_NOW + 2), OB_ERR_REPLAY);
	f = mk_fido("ctr-5aaaaaaaaaaaaaaaaaaa", 6);
	assert_int_equal(verify(ftrust, st, f, T_NOW), OB_ERR_FIDO_COUNTER);
	/* Another prefix is another store. */
	other = redis_open("other:", 0);
	assert_int_equal(verify(trust, other, a, T_NOW + 2), OB_OK);
	free(a);
	free(f);
	ob_state_free(&st);
	ob_state_free(&other);
	/* Group commit on Redis: one round trip per request, same verdicts. */
	st = redis_open("batch:", 0);
	run_batch(st);
	ob_state_free(&st);
}

/*
 * Keys expire with their record, by the caller's clock plus a margin
 * (docs/redis.md, "Expiry"); a record past its time that Redis still
 * holds behaves as gone, as in the other stores.
 */
static void
test_redis_expiry(void **state)
{
	enum { M = 60 * 1000, SLACK = 10 * 1000 };
	struct ob_replay	 rp;
	struct ob_state		*st;
	struct ob_state_count	 c;
	char			 k[64], n[OB_NONCE_CHARS + 1], key[200], *jk;
	char			*e;

	(void)state;
	st = redis_open("ttl:", 0);
	rp = rec(k, sizeof(k), "ttl", 0, T_NOW + 60);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_OK);
	jk = only_key("ttl:j:*");
	assert_int_equal(strlen(jk), strlen("ttl:j:") + 32);
	pttl_in(jk, 60 * 1000 + M - SLACK, 60 * 1000 + M);
	/* At its keep_until it is gone, and lives again until the new one. */
	rp.keep_until = T_NOW + 200;
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 59), OB_ERR_REPLAY);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 60), OB_OK);
	pttl_in(jk, 140 * 1000 + M - SLACK, 140 * 1000 + M);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW + 61), OB_ERR_REPLAY);
	free(jk);
	/* A clock that goes back still finds the record. */
	rp = rec(k, sizeof(k), "back", 0, T_NOW - 980);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 2000), OB_OK);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 985), OB_ERR_REPLAY);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 980), OB_OK);
	/* A nonce lives its TTL plus the hour of grace; used, it keeps it. */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60, NULL, n), OB_OK);
	snprintf(key, sizeof(key), "ttl:n:%s", n);
	pttl_in(key, (60 + 3600) * 1000LL + M - SLACK, (60 + 3600) * 1000LL + M);
	e = mk("ttl-nonce-aaaaaaaaaaaaaa", n);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	pttl_in(key, (60 + 3600) * 1000LL + M - SLACK, (60 + 3600) * 1000LL + M);
	/* The set of nonces bound to a jti lives as long as they do. */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 30,
	    "ttl-bound-aaaaaaaaaaaaaa", n), OB_OK);
	pttl_in("ttl:b:ttl-bound-aaaaaaaaaaaaaa", 30 * 1000 + M - SLACK,
	    30 * 1000 + M);
	/* Counters never expire. */
	e = mk_fido("ttl-ctr-aaaaaaaaaaaaaaaa", 3);
	assert_int_equal(verify(ftrust, st, e, T_NOW), OB_OK);
	free(e);
	jk = only_key("ttl:c:*");
	assert_int_equal(raw_int(rds.sock, "PTTL %s", jk), -1);
	free(jk);
	/* An hour past its expiry a nonce is unknown, not expired. */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW - 900, 60, NULL, n),
	    OB_OK);
	rp = rec(k, sizeof(k), "grace", 0, T_NOW + 100000);
	rp.nonce = n;
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 840 + 3599),
	    OB_ERR_NONCE_EXPIRED);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW - 840 + 3600),
	    OB_ERR_NONCE_UNKNOWN);
	assert_int_equal(ob_state_count(st, &c), OB_OK);
	assert_int_equal(c.jti, 4);	/* ttl, back, ttl-nonce, ttl-ctr */
	assert_int_equal(c.nonce, 3);
	ob_state_free(&st);
}

static unsigned long long rnd_x = 0x2545f4914f6cdd1dULL;

/* xorshift64: the same history on every run. */
static int
rnd(int n)
{
	rnd_x ^= rnd_x << 13;
	rnd_x ^= rnd_x >> 7;
	rnd_x ^= rnd_x << 17;
	return (int)(rnd_x % (unsigned long long)n);
}

/*
 * The three stores, one random history, the same answer at every step:
 * commits of a few jti with and without nonces (issued, bound, unknown)
 * and counters, nonces issued, attestation nonces consumed, and a clock
 * that moves on, sometimes by more than the nonces' hour of grace.  The
 * clock never goes back here: the local stores prune by it, and a pruned
 * record cannot come back when it does.
 */
static void
test_redis_differential(void **state)
{
	enum { OPS = 1200, NJTI = 6, NNONCE = 400, NSTORE = 3 };
	struct ob_state		*st[NSTORE] = { NULL, NULL, NULL };
	struct ob_replay	 rp;
	char			 path[512], jti[NJTI][32], key[NJTI][48];
	char			 nonce[NNONCE][40], ck[2][16];
	long long		 now = T_NOW, exp;
	int			 i, s, op, nn = 0, code[NSTORE], seen[9];
	const char		*bound;

	(void)state;
	memset(seen, 0, sizeof(seen));
	assert_int_equal(ob_state_open_memory(&st[0]), OB_OK);
	snprintf(path, sizeof(path), "%s/diff.db", dir);
	assert_int_equal(ob_state_open_sqlite(path, &st[1]), OB_OK);
	st[2] = redis_open("diff:", 0);
	for (i = 0; i < NJTI; i++) {
		snprintf(jti[i], sizeof(jti[i]), "diff-%02daaaaaaaaaaaaaaaa", i);
		snprintf(key[i], sizeof(key[i]), "jkt:%s", jti[i]);
	}
	snprintf(ck[0], sizeof(ck[0]), "owner-kid-0");
	snprintf(ck[1], sizeof(ck[1]), "owner-kid-1");
	for (op = 0; op < OPS; op++) {
		now += rnd(60) == 0 ? 3700 : rnd(6);
		switch (rnd(10)) {
		case 0: case 1: case 2:
			if (nn == NNONCE)
				break;
			snprintf(nonce[nn], sizeof(nonce[nn]),
			    "diff-nonce-%04d-%08x", nn, rnd(1 << 30));
			bound = rnd(2) == 0 ? jti[rnd(NJTI)] : NULL;
			exp = now + 1 + rnd(40);
			for (s = 0; s < NSTORE; s++)
				code[s] = st[s]->ops->put_nonce(st[s]->impl,
				    nonce[nn], exp, bound, now);
			nn++;
			break;
		case 3:
			if (nn == 0)
				break;
			i = rnd(nn);
			for (s = 0; s < NSTORE; s++)
				code[s] = ob_state_consume_nonce(st[s],
				    nonce[i], now);
			break;
		default:
			i = rnd(NJTI);
			memset(&rp, 0, sizeof(rp));
			rp.jti_key = key[i];
			rp.jti = jti[i];
			rp.keep_until = now + 1 + rnd(60);
			/* Mostly one of the last few issued: live ones. */
			if ((s = rnd(10)) < 5 && nn > 0)
				rp.nonce = nonce[nn - 1 - rnd(nn < 6 ? nn : 6)];
			else if (s == 5 && nn > 0)
				rp.nonce = nonce[rnd(nn)];
			else if (s == 6)
				rp.nonce = "bm90LWlzc3VlZC1ieS11cw";
			if (rnd(3) == 0) {
				rp.counter_key = ck[rnd(2)];
				rp.counter = (uint32_t)rnd(8);
			}
			for (s = 0; s < NSTORE; s++)
				code[s] = ob_state_commit(st[s], &rp, now);
			break;
		}
		if (code[0] != code[1] || code[0] != code[2])
			fail_msg("step %d: memory %s, sqlite %s, redis %s", op,
			    ob_err_name(code[0]), ob_err_name(code[1]),
			    ob_err_name(code[2]));
		for (i = 0; i < 9; i++)
			if (code[0] == (int[]){ OB_OK, OB_ERR_REPLAY,
			    OB_ERR_NONCE_UNKNOWN, OB_ERR_NONCE_USED,
			    OB_ERR_NONCE_EXPIRED, OB_ERR_NONCE_MISMATCH,
			    OB_ERR_NONCE_MISSING, OB_ERR_NONCE_SKIPPED,
			    OB_ERR_FIDO_COUNTER }[i])
				seen[i]++;
		code[0] = code[1] = code[2] = OB_OK;
	}
	/* The history reached every answer (or it would prove little). */
	for (i = 0; i < 9; i++)
		if (seen[i] == 0)
			fail_msg("answer %d never happened", i);
	for (s = 0; s < NSTORE; s++)
		ob_state_free(&st[s]);
}

/*
 * Replies the acceptance script never gives are OB_ERR_STATE_REPLY, never
 * an acceptance; so is data of the wrong type where the store keeps its
 * records.  Real replies, from EVAL on the test's Redis.
 */
static void
test_redis_replies(void **state)
{
	static const struct {
		const char	*lua;
		int		 code;
	} t[] = {
		{ "return {0, 0}", OB_OK },
		{ "return {1, 0}", OB_ERR_REPLAY },
		{ "return {2, 0}", OB_ERR_NONCE_UNKNOWN },
		{ "return {6, 0}", OB_ERR_NONCE_SKIPPED },
		{ "return {7, 0}", OB_ERR_NONCE_MISSING },
		{ "return {8, 3}", OB_ERR_FIDO_COUNTER },
		{ "return {9, 0}", OB_ERR_STATE_REPLY },
		{ "return {-1, 0}", OB_ERR_STATE_REPLY },
		{ "return {0}", OB_ERR_STATE_REPLY },
		{ "return {0, 0, 0}", OB_ERR_STATE_REPLY },
		{ "return {'0', 0}", OB_ERR_STATE_REPLY },
		{ "return {0, '0'}", OB_ERR_STATE_REPLY },
		{ "return {{0, 0}, 0}", OB_ERR_STATE_REPLY },
		{ "return 0", OB_ERR_STATE_REPLY },
		{ "return 'OK'", OB_ERR_STATE_REPLY },
		{ "return redis.status_reply('OK')", OB_ERR_STATE_REPLY },
		{ "return nil", OB_ERR_STATE_REPLY },
	};
	struct ob_redis_cfg	 c;
	struct ob_redis		*r = NULL;
	struct ob_replay	 rp;
	struct ob_state		*st;
	redisReply		*rep;
	const char		*a[3];
	size_t			 l[3], i;
	char			 k[64], n[OB_NONCE_CHARS + 1], nk[128], *jk;
	char			*e;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.uri = rds.uri;
	assert_int_equal(ob_redis_new(&c, &r), OB_OK);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a[0] = "EVAL";
		a[1] = t[i].lua;
		a[2] = "0";
		l[0] = 4;
		l[1] = strlen(a[1]);
		l[2] = 1;
		rep = NULL;
		assert_int_equal(ob_redis_command(r, 3, a, l, &rep), OB_OK);
		if (ob_state_redis_verdict(rep, NULL) != t[i].code)
			fail_msg("%s: %s", t[i].lua,
			    ob_err_name(ob_state_redis_verdict(rep, NULL)));
		freeReplyObject(rep);
	}
	assert_int_equal(ob_state_redis_verdict(NULL, NULL), OB_ERR_STATE_REPLY);
	ob_redis_free(&r);
	assert_null(r);

	st = redis_open("bad:", 0);
	/* A jti record that is not a time. */
	rp = rec(k, sizeof(k), "bad", 0, T_NOW + 600);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_OK);
	jk = only_key("bad:j:*");
	freeReplyObject(raw(rds.sock, "SET %s garbage", jk));
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_ERR_STATE_REPLY);
	/* A jti record of another type. */
	freeReplyObject(raw(rds.sock, "DEL %s", jk));
	freeReplyObject(raw(rds.sock, "HSET %s e 1", jk));
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_ERR_STATE_REPLY);
	free(jk);
	/* A nonce that is a string, not a hash. */
	assert_int_equal(ob_state_issue_nonce(st, T_NOW, 60, NULL, n), OB_OK);
	snprintf(nk, sizeof(nk), "bad:n:%s", n);
	freeReplyObject(raw(rds.sock, "SET %s x", nk));
	e = mk("bad-nonce-aaaaaaaaaaaaaa", n);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_STATE_REPLY);
	assert_int_equal(ob_err_public(OB_ERR_STATE_REPLY),
	    OB_ERR_SVC_UNAVAILABLE);
	free(e);
	/* A counter that is not a number. */
	freeReplyObject(raw(rds.sock, "SET bad:c:%s zz", "fido-kid"));
	memset(&rp, 0, sizeof(rp));
	rp = rec(k, sizeof(k), "bad-ctr", 0, T_NOW + 600);
	rp.counter_key = "fido-kid";
	rp.counter = 9;
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_ERR_STATE_REPLY);
	/* A nonce issued twice is refused, as in the other stores. */
	assert_int_equal(st->ops->put_nonce(st->impl, "bad-nonce-twice-aaaa",
	    T_NOW + 60, NULL, T_NOW), OB_OK);
	assert_int_equal(st->ops->put_nonce(st->impl, "bad-nonce-twice-aaaa",
	    T_NOW + 60, NULL, T_NOW), OB_ERR_STATE);
	/* An empty script cache (a restart, a failover): EVAL takes over. */
	freeReplyObject(raw(rds.sock, "SCRIPT FLUSH"));
	rp = rec(k, sizeof(k), "flushed", 0, T_NOW + 600);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_OK);
	assert_int_equal(ob_state_commit(st, &rp, T_NOW), OB_ERR_REPLAY);
	ob_state_free(&st);
}

/* Try a fresh envelope until the store accepts it again (bounded). */
static void
until_ok(struct ob_state *st, const char *what)
{
	char	 jti[40], *e;
	int	 i, r = OB_ERR_STATE_UNAVAILABLE;

	for (i = 0; i < 200 && r != OB_OK; i++) {
		snprintf(jti, sizeof(jti), "back-%.4s-%04daaaaaaaaaa", what, i);
		e = mk(jti, NULL);
		r = verify(trust, st, e, T_NOW);
		free(e);
		if (r == OB_OK)
			break;
		if (r != OB_ERR_STATE_UNAVAILABLE)
			fail_msg("%s: %s while coming back", what,
			    ob_err_name(r));
		(void)usleep(50 * 1000);
	}
	if (r != OB_OK)
		fail_msg("%s: the store did not come back", what);
}

/*
 * Redis stopped, slow or gone: every request is refused with
 * OB_ERR_STATE_UNAVAILABLE (a 503 at the server), none accepted; when
 * Redis is back the store works again without being reopened.
 */
static void
test_redis_down(void **state)
{
	struct ob_state	*st;
	char		*a, *b, *c;
	int		 i;

	(void)state;
	st = redis_open("down:", 200);
	a = mk("down-aaaaaaaaaaaaaaaaaaa", NULL);
	b = mk("down-bbbbbbbbbbbbbbbbbbb", NULL);
	c = mk("down-ccccccccccccccccccc", NULL);
	assert_int_equal(verify(trust, st, a, T_NOW), OB_OK);
	/* Stopped: no answer within the command timeout. */
	t_redis_signal(&rds, SIGSTOP);
	assert_int_equal(verify(trust, st, b, T_NOW), OB_ERR_STATE_UNAVAILABLE);
	assert_non_null(strstr(ob_err_detail(), "no answer in time"));
	assert_int_equal(ob_err_public(OB_ERR_STATE_UNAVAILABLE),
	    OB_ERR_SVC_UNAVAILABLE);
	/* Within the backoff it fails at once, and keeps failing. */
	for (i = 0; i < 5; i++)
		assert_int_equal(verify(trust, st, c, T_NOW),
		    OB_ERR_STATE_UNAVAILABLE);
	t_redis_signal(&rds, SIGCONT);
	until_ok(st, "cont");
	/*
	 * b's script was in the socket when Redis stopped: Redis may have
	 * run it when it went on (the answer was lost), so b is spent or
	 * not, but never accepted twice.
	 */
	i = verify(trust, st, b, T_NOW);
	assert_true(i == OB_OK || i == OB_ERR_REPLAY);
	assert_int_equal(verify(trust, st, b, T_NOW), OB_ERR_REPLAY);
	/* Killed: refused at once; restarted (empty): c was never seen. */
	t_redis_signal(&rds, SIGKILL);
	assert_int_equal(verify(trust, st, c, T_NOW), OB_ERR_STATE_UNAVAILABLE);
	assert_int_equal(verify(trust, st, c, T_NOW), OB_ERR_STATE_UNAVAILABLE);
	assert_int_equal(t_redis_restart(&rds), 0);
	until_ok(st, "restart");
	assert_int_equal(verify(trust, st, c, T_NOW), OB_OK);
	assert_int_equal(verify(trust, st, c, T_NOW), OB_ERR_REPLAY);
	/* A store cannot be opened while Redis is down. */
	t_redis_signal(&rds, SIGKILL);
	{
		struct ob_redis_cfg	 cfg;
		struct ob_state		*none = NULL;

		memset(&cfg, 0, sizeof(cfg));
		cfg.uri = rds.uri;
		assert_int_equal(ob_state_open_redis(&cfg, &none),
		    OB_ERR_STATE_UNAVAILABLE);
		assert_null(none);
	}
	assert_int_equal(t_redis_restart(&rds), 0);
	ob_state_free(&st);
	free(a);
	free(b);
	free(c);
}

/*
 * Two processes, two connections, one Redis, racing round by round: the
 * same envelope (jti), two envelopes with one nonce, two FIDO2
 * envelopes with one counter value.  Exactly one acceptance each time.
 */
static void
test_redis_race(void **state)
{
	enum { ROUNDS = 150, KINDS = 3 };
	char	*envs[KINDS][ROUNDS][2], n[OB_NONCE_CHARS + 1], jti[48];
	char	 res[2][KINDS * ROUNDS], go = 'g';
	int	 pipes[2][2], start[2], i, k, p, status, ok, want;
	pid_t	 pid[2];
	struct ob_state *st;

	(void)state;
	st = redis_open("race:", 0);
	for (i = 0; i < ROUNDS; i++) {
		snprintf(jti, sizeof(jti), "race-jti-%04daaaaaaaaaaa", i);
		envs[0][i][0] = envs[0][i][1] = mk(jti, NULL);
		assert_int_equal(ob_state_issue_nonce(st, T_NOW, 600, NULL, n),
		    OB_OK);
		for (p = 0; p < 2; p++) {
			snprintf(jti, sizeof(jti), "race-n-%04d-%daaaaaaaaaaa",
			    i, p);
			envs[1][i][p] = mk(jti, n);
			snprintf(jti, sizeof(jti), "race-c-%04d-%daaaaaaaaaaa",
			    i, p);
			envs[2][i][p] = mk_fido(jti, (uint32_t)i + 1);
		}
	}
	ob_state_free(&st);
	assert_int_equal(pipe(start), 0);
	for (p = 0; p < 2; p++) {
		assert_int_equal(pipe(pipes[p]), 0);
		if ((pid[p] = fork()) == 0) {
			char out[KINDS * ROUNDS], g;

			close(start[1]);
			st = redis_open("race:", 0);
			if (read(start[0], &g, 1) != 1)
				_exit(3);
			for (i = 0; i < ROUNDS; i++)
				for (k = 0; k < KINDS; k++) {
					int r = verify(k == 2 ? ftrust : trust,
					    st, envs[k][i][p], T_NOW);

					out[k * ROUNDS + i] = r == OB_OK ? 'A' :
					    r == OB_ERR_REPLAY ? 'R' :
					    r == OB_ERR_NONCE_USED ? 'U' :
					    r == OB_ERR_FIDO_COUNTER ? 'C' : 'X';
				}
			ob_state_free(&st);
			if (write(pipes[p][1], out, sizeof(out)) !=
			    (ssize_t)sizeof(out))
				_exit(4);
			_exit(0);
		}
		close(pipes[p][1]);
	}
	close(start[0]);
	/* Both are connected (or about to be): let them go together. */
	assert_int_equal(write(start[1], &go, 1), 1);
	assert_int_equal(write(start[1], &go, 1), 1);
	close(start[1]);
	for (p = 0; p < 2; p++) {
		size_t got = 0;
		ssize_t m;

		while (got < sizeof(res[p]) && (m = read(pipes[p][0],
		    res[p] + got, sizeof(res[p]) - got)) > 0)
			got += (size_t)m;
		close(pipes[p][0]);
		assert_int_equal(waitpid(pid[p], &status, 0), pid[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
		    got != sizeof(res[p]))
			fail_msg("racer %d: status %d, %zu results", p, status,
			    got);
	}
	for (k = 0; k < KINDS; k++) {
		want = "RUC"[k];
		for (i = 0; i < ROUNDS; i++) {
			char x = res[0][k * ROUNDS + i];
			char y = res[1][k * ROUNDS + i];

			ok = (x == 'A') + (y == 'A');
			if (ok != 1 || (x != 'A' && x != want) ||
			    (y != 'A' && y != want))
				fail_msg("kind %d round %d: %c %c", k, i, x, y);
		}
	}
	for (i = 0; i < ROUNDS; i++) {
		free(envs[0][i][0]);
		for (p = 0; p < 2; p++) {
			free(envs[1][i][p]);
			free(envs[2][i][p]);
		}
	}
}

#define ACL_PW		"s3cret-acl-test-pw"
/* docs/redis.md, "ACL": exactly the commands the store runs. */
#define ACL_STORE	"~ob:* resetchannels -@all +ping +select +wait " \
	"+evalsha +eval +get +set +exists +hset +hmget +zadd +zcount +zrem " \
	"+pttl +pexpire +time"

/*
 * An ACL user with the documented commands and keys works; a wrong or
 * missing password, a user short of a command and keys outside its
 * pattern are refused with OB_ERR_STATE_AUTH.  The password never
 * reaches a detail.
 */
static void
test_redis_auth(void **state)
{
	struct t_redis		 acl;
	struct ob_redis_cfg	 c;
	struct ob_state		*st = NULL;
	char			*e;

	(void)state;
	assert_int_equal(t_redis_start(&acl, rdir, "acl", 0,
	    "user default off\n"
	    "user ob on >" ACL_PW " " ACL_STORE "\n"
	    "user weak on >" ACL_PW " ~ob:* resetchannels -@all +ping "
	    "+evalsha +eval +get +set\n"), 0);
	memset(&c, 0, sizeof(c));
	c.uri = acl.uri;
	c.user = "ob";
	c.password = ACL_PW;
	st = redis_open_cfg(&c);
	run_replay(st);
	run_nonce(st);
	run_counter(st);
	ob_state_free(&st);
	c.password = "wrong-" ACL_PW;
	assert_int_equal(ob_state_open_redis(&c, &st), OB_ERR_STATE_AUTH);
	assert_null(strstr(ob_err_detail(), ACL_PW));
	c.password = NULL;
	assert_int_equal(ob_state_open_redis(&c, &st), OB_ERR_STATE_AUTH);
	c.user = NULL;
	assert_int_equal(ob_state_open_redis(&c, &st), OB_ERR_STATE_AUTH);
	/* A user without ZCOUNT or HSET: PING passes, acceptances do not. */
	c.user = "weak";
	c.password = ACL_PW;
	st = redis_open_cfg(&c);
	e = mk("acl-weak-aaaaaaaaaaaaaaa", NULL);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_STATE_AUTH);
	assert_null(strstr(ob_err_detail(), ACL_PW));
	ob_state_free(&st);
	/* Keys outside the user's pattern. */
	c.user = "ob";
	c.prefix = "elsewhere:";
	st = redis_open_cfg(&c);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_STATE_AUTH);
	assert_int_equal(ob_err_public(OB_ERR_STATE_AUTH),
	    OB_ERR_SVC_UNAVAILABLE);
	ob_state_free(&st);
	free(e);
	t_redis_stop(&acl);
}

/* Until INFO replication on sock says what. */
static void
until_info(const char *sock, const char *what)
{
	redisReply	*rep;
	int		 i, found = 0;

	for (i = 0; i < 200 && !found; i++) {
		rep = raw(sock, "INFO replication");
		found = rep->type == REDIS_REPLY_STRING &&
		    strstr(rep->str, what) != NULL;
		freeReplyObject(rep);
		if (!found)
			(void)usleep(50 * 1000);
	}
	if (!found)
		fail_msg("%s: never %s", sock, what);
}

/*
 * WAIT: with wait_replicas 1, an acceptance stands once a replica has
 * it; when no replica confirms in time it is OB_ERR_STATE_REPLICAS (a
 * 503) and the jti is spent.  A refusal never waits.  The primary is
 * also reached by redis://HOST:PORT/DB, whose database is SELECTed.
 */
static void
test_redis_wait(void **state)
{
	struct t_redis		 pri, rep;
	struct ob_redis_cfg	 c;
	struct ob_state		*st;
	redisReply		*x;
	char			 uri[64], extra[64], *e;
	int			 port;

	(void)state;
	assert_true((port = t_redis_free_port()) > 0);
	assert_int_equal(t_redis_start(&pri, rdir, "primary", port, NULL), 0);
	snprintf(extra, sizeof(extra), "replicaof 127.0.0.1 %d", port);
	assert_int_equal(t_redis_start(&rep, rdir, "replica", 0, extra), 0);
	until_info(pri.sock, "connected_slaves:1");
	until_info(rep.sock, "master_link_status:up");
	memset(&c, 0, sizeof(c));
	snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d/3", port);
	c.uri = uri;
	c.wait_replicas = 1;
	c.wait_timeout_ms = 5000;
	st = redis_open_cfg(&c);
	e = mk("wait-aaaaaaaaaaaaaaaaaaa", NULL);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_REPLAY);
	free(e);
	/* The keys are in database 3, and on the replica. */
	x = raw(rep.sock, "EVAL %s 0", "redis.call('SELECT', 3) "
	    "return redis.call('DBSIZE')");
	assert_int_equal(x->type, REDIS_REPLY_INTEGER);
	assert_int_equal(x->integer, 1);
	freeReplyObject(x);
	ob_state_free(&st);
	/*
	 * A primary short of its min-replicas-to-write refuses writes
	 * (NOREPLICAS): unavailable, like a failover in progress.
	 */
	c.wait_timeout_ms = 200;
	st = redis_open_cfg(&c);
	freeReplyObject(raw(pri.sock, "CONFIG SET min-replicas-to-write 2"));
	e = mk("wait-ccccccccccccccccccc", NULL);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_STATE_UNAVAILABLE);
	assert_non_null(strstr(ob_err_detail(), "NOREPLICAS"));
	freeReplyObject(raw(pri.sock, "CONFIG SET min-replicas-to-write 0"));
	until_ok(st, "noreplicas");
	assert_int_equal(verify(trust, st, e, T_NOW), OB_OK);
	free(e);
	/* The replica stops answering: the acceptance is not confirmed. */
	t_redis_signal(&rep, SIGSTOP);
	e = mk("wait-bbbbbbbbbbbbbbbbbbb", NULL);
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_STATE_REPLICAS);
	assert_int_equal(ob_err_public(OB_ERR_STATE_REPLICAS),
	    OB_ERR_SVC_UNAVAILABLE);
	/* Spent on the primary; the refusal says so without waiting. */
	assert_int_equal(verify(trust, st, e, T_NOW), OB_ERR_REPLAY);
	free(e);
	ob_state_free(&st);
	t_redis_stop(&rep);
	t_redis_stop(&pri);
}

static void
test_redis_uri(void **state)
{
	static const char *const good[] = {
		"redis://localhost", "redis://127.0.0.1:6380",
		"redis://redis.example.org:6379/2", "redis://[::1]:6379/0",
		"redis://[::1]", "unix:/run/redis/redis.sock",
		"unix:/run/redis.sock?db=15",
	};
	static const char *const bad[] = {
		"redis://", "redis://:6379", "redis://host:0",
		"redis://host:65536", "redis://host:port", "redis://host/x",
		"redis://host/1/2", "redis://host?db=1", "redis://host#f",
		"redis://user:pw@host", "redis://:pw@host", "redis://user@host",
		"rediss://host", "redis://-host", "redis://ho_st",
		"unix:", "unix:relative.sock", "unix:/s?db=", "unix:/s?db=x",
		"unix:/s?database=1", "unix:/s?db=1&x=2", "http://host",
		"redis://[::1", "redis://host:6379:1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ob_redis_uri_check(good[i]) != OB_OK)
			fail_msg("%s: %s", good[i], ob_err_detail());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ob_redis_uri_check(bad[i]) != OB_ERR_STATE_URI)
			fail_msg("%s accepted", bad[i]);
		/* The detail never repeats the URI (a password, maybe). */
		if (strstr(bad[i], "pw") != NULL &&
		    strstr(ob_err_detail(), "pw") != NULL)
			fail_msg("%s: detail %s", bad[i], ob_err_detail());
	}
	assert_true(ob_redis_is_uri("redis://x"));
	assert_true(ob_redis_is_uri("unix:/x"));
	assert_false(ob_redis_is_uri("/var/lib/ob/state.sqlite"));
	assert_int_equal(ob_redis_prefix_check(NULL), OB_OK);
	assert_int_equal(ob_redis_prefix_check("ob:eu-1."), OB_OK);
	assert_int_equal(ob_redis_prefix_check(""), OB_ERR_STATE_URI);
	assert_int_equal(ob_redis_prefix_check("ob*"), OB_ERR_STATE_URI);
	assert_int_equal(ob_redis_prefix_check("o b"), OB_ERR_STATE_URI);
}

/*
 * Approval records in Redis: the same answers, the key's TTL the record's
 * end plus the margin, another server (another connection) finds it, and
 * a value this server never wrote is refused, not trusted.
 */
static void
test_approval_redis(void **state)
{
	struct ob_state	*st, *st2;
	redisReply	*rep;
	char		*k, *t = NULL;
	long long	 now = (long long)time(NULL);

	(void)state;
	st = redis_open("appr.", 0);
	run_approval(st);
	ob_state_free(&st);
	st = redis_open("appr2.", 0);
	st2 = redis_open("appr2.", 0);
	assert_int_equal(ob_state_put_approval(st, "jk:ti", "{\"x\":1}",
	    now + 20, now), OB_OK);
	k = only_key("appr2.a:*");
	assert_string_equal(k, "appr2.a:jk:ti");
	pttl_in(k, 79000, 80000);
	assert_int_equal(ob_state_get_approval(st2, "jk:ti", now, &t), OB_OK);
	assert_string_equal(t, "{\"x\":1}");
	free(t);
	t = NULL;
	rep = raw(rds.sock, "SET %s %s", k, "garbage");
	freeReplyObject(rep);
	assert_int_equal(ob_state_get_approval(st2, "jk:ti", now, &t),
	    OB_ERR_APPROVAL_RECORD);
	assert_null(t);
	free(k);
	ob_state_free(&st);
	ob_state_free(&st2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_sqlite_restart),
		cmocka_unit_test(test_no_partial_record),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_fail),
		cmocka_unit_test(test_sqlite_race),
		cmocka_unit_test(test_prune_memory),
		cmocka_unit_test(test_prune_sqlite),
		cmocka_unit_test(test_sqlite_shrinks),
		cmocka_unit_test(test_sqlite_migrate),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_consume_local),
		cmocka_unit_test(test_redis_uri),
		cmocka_unit_test(test_redis),
		cmocka_unit_test(test_redis_expiry),
		cmocka_unit_test(test_redis_differential),
		cmocka_unit_test(test_redis_replies),
		cmocka_unit_test(test_redis_down),
		cmocka_unit_test(test_redis_race),
		cmocka_unit_test(test_redis_auth),
		cmocka_unit_test(test_redis_wait),
		cmocka_unit_test(test_approval_memory),
		cmocka_unit_test(test_approval_sqlite),
		cmocka_unit_test(test_approval_redis),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
