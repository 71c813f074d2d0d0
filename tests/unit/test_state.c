/*
 * Replay state through ob_verify: jti replay, nonce life cycle, FIDO2
 * counters, survival across a restart, and two processes racing on one
 * SQLite file (acceptance 2 of the verifier issue).
 */
#include <sys/wait.h>

#include <pthread.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "server-verify/verify_int.h"
#include "tests/unit/obtest.h"
#include "server-verify/state.h"

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
	return 0;
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
	return system(cmd);	/* lint: ok: rm -rf of this test's mkdtemp */
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
	assert_int_equal(db_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(db_int(db, "PRAGMA auto_vacuum"), 2);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('seen_by_expires', 'nonce_by_expires')"), 2);
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
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=2", NULL, NULL,
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
	assert_int_equal(db_int(db, "PRAGMA user_version"), 1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_sqlite_restart),
		cmocka_unit_test(test_no_partial_record),
		cmocka_unit_test(test_sqlite_race),
		cmocka_unit_test(test_prune_memory),
		cmocka_unit_test(test_prune_sqlite),
		cmocka_unit_test(test_sqlite_shrinks),
		cmocka_unit_test(test_sqlite_migrate),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
