/*
 * Durable replay state in one SQLite file (docs/verifier.md, "Replay
 * state").  Every acceptance is a single BEGIN IMMEDIATE transaction, so
 * two verifiers sharing the file serialise on SQLite's write lock and can
 * never both accept the same jti or nonce.  synchronous=FULL: an accepted
 * jti is on disk before the verdict is returned.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/alg.h"
#include "core/err.h"
#include "server-verify/state.h"

#define SQL_BUSY_MS	10000
#define SQL_NONCE_GRACE	3600
#define SQL_OPEN_TRIES	250
#define SQL_SCHEMA	2		/* PRAGMA user_version */
#define SQL_VACUUM_MAX	"16"		/* pages per acceptance */
#define SQL_WAL_LIMIT	"1048576"	/* bytes kept by a checkpointed WAL */

/* Statements, prepared once per connection. */
enum {
	S_JTI_SEEN, S_NONCE_ROW, S_BOUND_LIVE, S_COUNTER_GET, S_JTI_PUT,
	S_NONCE_USE, S_COUNTER_PUT, S_NONCE_PUT, S_PRUNE_JTI, S_PRUNE_NONCE,
	S_VACUUM, S_COUNT_JTI, S_COUNT_NONCE, S_APPR_PUT, S_APPR_GET,
	S_PRUNE_APPR, S_COUNT
};

static const char *const sql_text[S_COUNT] = {
	[S_JTI_SEEN] = "SELECT 1 FROM seen WHERE h = ob_key(?1) AND "
	    "expires > ?2",
	[S_NONCE_ROW] = "SELECT expires, used, jti FROM nonce WHERE n = ?1",
	[S_BOUND_LIVE] = "SELECT 1 FROM nonce WHERE jti = ?1 AND used = 0 "
	    "AND expires > ?2 LIMIT 1",
	[S_COUNTER_GET] = "SELECT value FROM counter WHERE k = ?1",
	[S_JTI_PUT] = "INSERT OR REPLACE INTO seen(h, expires) "
	    "VALUES (ob_key(?1), ?2)",
	[S_NONCE_USE] = "UPDATE nonce SET used = 1 WHERE n = ?1",
	[S_COUNTER_PUT] = "INSERT OR REPLACE INTO counter(k, value) "
	    "VALUES (?1, ?2)",
	[S_NONCE_PUT] = "INSERT INTO nonce(n, expires, used, jti) "
	    "VALUES (?1, ?2, 0, ?3)",
	[S_PRUNE_JTI] = "DELETE FROM seen WHERE h IN (SELECT h FROM seen "
	    "WHERE expires <= ?1 ORDER BY expires LIMIT ?2)",
	[S_PRUNE_NONCE] = "DELETE FROM nonce WHERE n IN (SELECT n FROM nonce "
	    "WHERE expires <= ?1 ORDER BY expires LIMIT ?2)",
	[S_VACUUM] = "PRAGMA incremental_vacuum(" SQL_VACUUM_MAX ")",
	[S_COUNT_JTI] = "SELECT count(*) FROM seen",
	[S_COUNT_NONCE] = "SELECT count(*) FROM nonce",
	[S_APPR_PUT] = "INSERT OR REPLACE INTO approval(k, until, rec) "
	    "VALUES (?1, ?2, ?3)",
	[S_APPR_GET] = "SELECT rec FROM approval WHERE k = ?1 AND until > ?2",
	[S_PRUNE_APPR] = "DELETE FROM approval WHERE k IN (SELECT k FROM "
	    "approval WHERE until <= ?1 ORDER BY until LIMIT ?2)",
};

struct sql_state {
	sqlite3		*db;
	sqlite3_stmt	*st[S_COUNT];
};

/*
 * Connection settings, every open.  auto_vacuum takes effect only on a
 * new, empty file; older files are converted by sql_migrate.
 */
static const char sql_pragmas[] =
    "PRAGMA auto_vacuum=INCREMENTAL;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA journal_size_limit=" SQL_WAL_LIMIT ";"
    "PRAGMA cache_size=-16384;";

/*
 * Schema 2 (docs/verifier.md, "Replay state"); schema 1 lacked the
 * approval records, which CREATE TABLE IF NOT EXISTS adds.  Accepted jti are kept as
 * ob_key(jkt ":" jti), the first 16 bytes of its SHA-256: a quarter of the
 * text's size, so that a million of them keep a shallow tree.  Schema 0
 * (user_version 0) had them as text in table jti and no expiry indexes;
 * sql_migrate moves them.
 */
static const char sql_schema[] =
    "CREATE TABLE IF NOT EXISTS seen(h BLOB PRIMARY KEY,"
    " expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS seen_by_expires ON seen(expires);"
    "CREATE TABLE IF NOT EXISTS nonce(n TEXT PRIMARY KEY,"
    " expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, jti TEXT)"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS nonce_by_jti ON nonce(jti);"
    "CREATE INDEX IF NOT EXISTS nonce_by_expires ON nonce(expires);"
    "CREATE TABLE IF NOT EXISTS counter(k TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS approval(k TEXT PRIMARY KEY,"
    " until INTEGER NOT NULL, rec TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS approval_by_until ON approval(until);"
    "PRAGMA user_version=2;";

static const char sql_from0[] =
    "INSERT OR REPLACE INTO seen(h, expires) SELECT ob_key(k), expires"
    " FROM jti;"
    "DROP TABLE jti;";

/* ob_key(text): the first 16 bytes of the text's SHA-256, as a blob. */
static void
sql_fn_key(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const unsigned char	*t;
	unsigned char		 md[32];

	(void)argc;
	if ((t = sqlite3_value_text(argv[0])) == NULL ||
	    ob_sha256(t, (size_t)sqlite3_value_bytes(argv[0]), md) != OB_OK) {
		sqlite3_result_error(cx, "ob_key", -1);
		return;
	}
	sqlite3_result_blob(cx, md, 16, SQLITE_TRANSIENT);
}

static int
sql_err(sqlite3 *db, int rc, const char *what)
{
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return ob_errf(OB_ERR_STATE_BUSY, "%s: %s", what,
		    sqlite3_errmsg(db));
	return ob_errf(OB_ERR_STATE, "%s: %s", what, sqlite3_errmsg(db));
}

/* The prepared statement id, reset, with text/int64 bindings ("st"). */
static int
sql_stmt(struct sql_state *s, int id, const char *fmt, const void *const *a,
    sqlite3_stmt **out)
{
	sqlite3_stmt	*st;
	int		 rc, i;

	if (s->st[id] == NULL && (rc = sqlite3_prepare_v3(s->db, sql_text[id],
	    -1, SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL)) != SQLITE_OK)
		return sql_err(s->db, rc, "prepare");
	st = s->st[id];
	for (i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] == 's')
			rc = a[i] == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, a[i], -1,
			    SQLITE_STATIC);
		else
			rc = sqlite3_bind_int64(st, i + 1,
			    *(const long long *)a[i]);
		if (rc != SQLITE_OK) {
			sqlite3_clear_bindings(st);
			return sql_err(s->db, rc, "bind");
		}
	}
	*out = st;
	return OB_OK;
}

static void
sql_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run statement id; its first row's first column in *col0 if wanted. */
static int
sql_run(struct sql_state *s, int id, const char *fmt, const void *const *a,
    long long *col0, int *have_row)
{
	sqlite3_stmt	*st;
	int		 rc, r;

	if ((r = sql_stmt(s, id, fmt, a, &st)) != OB_OK)
		return r;
	rc = sqlite3_step(st);
	if (have_row != NULL)
		*have_row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW && col0 != NULL)
		*col0 = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = sql_err(s->db, rc, "step");
	sql_done(st);
	return r;
}

static int
sql_exec(sqlite3 *db, const char *sql)
{
	int rc;

	if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return sql_err(db, rc, sql);
	return OB_OK;
}

static int
sql_nonce_row(struct sql_state *s, const char *nonce, long long *expires,
    int *used, char **bound, int *found)
{
	sqlite3_stmt		*st;
	const unsigned char	*b;
	const void		*a[1];
	int			 rc, r;

	*found = 0;
	*bound = NULL;
	a[0] = nonce;
	if ((r = sql_stmt(s, S_NONCE_ROW, "s", a, &st)) != OB_OK)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*found = 1;
		*expires = sqlite3_column_int64(st, 0);
		*used = sqlite3_column_int(st, 1);
		if ((b = sqlite3_column_text(st, 2)) != NULL &&
		    (*bound = strdup((const char *)b)) == NULL)
			r = OB_ERR_ALLOC;
	} else if (rc != SQLITE_DONE)
		r = sql_err(s->db, rc, "step");
	sql_done(st);
	return r;
}

/* Is a live, unused nonce bound to this jti? */
static int
sql_bound_live(struct sql_state *s, const char *jti, long long now,
    int *row)
{
	const void *a[2];

	a[0] = jti;
	a[1] = &now;
	return sql_run(s, S_BOUND_LIVE, "si", a, NULL, row);
}

static int
sql_checks(struct sql_state *s, const struct ob_replay *rp, long long now)
{
	const void	*a[2];
	long long	 v, expires = 0, cnt;
	char		*bound = NULL;
	int		 row, used = 0, found, r;

	a[0] = rp->jti_key;
	a[1] = &now;
	if ((r = sql_run(s, S_JTI_SEEN, "si", a, NULL, &row)) != OB_OK)
		return r;
	if (row)
		return ob_errf(OB_ERR_REPLAY, "jti seen before");
	if (rp->nonce != NULL) {
		if ((r = sql_nonce_row(s, rp->nonce, &expires, &used, &bound,
		    &found)) != OB_OK)
			return r;
		/* A row kept past its time only because pruning is bounded. */
		if (!found || expires <= now - SQL_NONCE_GRACE)
			r = OB_ERR_NONCE_UNKNOWN;
		else if (used)
			r = OB_ERR_NONCE_USED;
		else if (expires <= now)
			r = OB_ERR_NONCE_EXPIRED;
		else if (bound != NULL && strcmp(bound, rp->jti) != 0)
			r = ob_errf(OB_ERR_NONCE_MISMATCH, "nonce was issued for "
			    "another request");
		else if (bound == NULL &&
		    (r = sql_bound_live(s, rp->jti, now, &row)) == OB_OK && row)
			r = ob_errf(OB_ERR_NONCE_SKIPPED, "a nonce was issued "
			    "for this request and the envelope carries another");
		free(bound);
		if (r != OB_OK)
			return r;
	} else {
		if ((r = sql_bound_live(s, rp->jti, now, &row)) != OB_OK)
			return r;
		if (row)
			return ob_errf(OB_ERR_NONCE_MISSING, "a nonce was "
			    "issued for this request");
	}
	if (rp->counter_key != NULL) {
		a[0] = rp->counter_key;
		if ((r = sql_run(s, S_COUNTER_GET, "s", a, &v, &row)) != OB_OK)
			return r;
		cnt = rp->counter;
		if (row && (cnt != 0 || v != 0) && cnt <= v)
			return ob_errf(OB_ERR_FIDO_COUNTER, "counter %lld, last "
			    "%lld", cnt, v);
	}
	return OB_OK;
}

/*
 * Bounded pruning, inside the caller's transaction: at most
 * OB_STATE_PRUNE_MAX rows of each table whose time is up, oldest first
 * (through the expiry indexes: O(K log n), never a scan), then at most
 * SQL_VACUUM_MAX free pages handed back to the file system.
 */
static int
sql_prune(struct sql_state *s, long long now)
{
	sqlite3_stmt	*st;
	const void	*a[2];
	long long	 old = now - SQL_NONCE_GRACE, k = OB_STATE_PRUNE_MAX;
	int		 rc, r;

	a[0] = &now;
	a[1] = &k;
	if ((r = sql_run(s, S_PRUNE_JTI, "ii", a, NULL, NULL)) != OB_OK)
		return r;
	if ((r = sql_run(s, S_PRUNE_APPR, "ii", a, NULL, NULL)) != OB_OK)
		return r;
	a[0] = &old;
	if ((r = sql_run(s, S_PRUNE_NONCE, "ii", a, NULL, NULL)) != OB_OK)
		return r;
	if ((r = sql_stmt(s, S_VACUUM, "", a, &st)) != OB_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		r = sql_err(s->db, rc, "incremental_vacuum");
	sql_done(st);
	return r;
}

static int
sql_record(struct sql_state *s, const struct ob_replay *rp, long long now)
{
	const void	*a[2];
	long long	 cnt = rp->counter;
	int		 r;

	a[0] = rp->jti_key;
	a[1] = &rp->keep_until;
	if ((r = sql_run(s, S_JTI_PUT, "si", a, NULL, NULL)) != OB_OK)
		return r;
	if (rp->nonce != NULL) {
		a[0] = rp->nonce;
		if ((r = sql_run(s, S_NONCE_USE, "s", a, NULL, NULL)) != OB_OK)
			return r;
	}
	if (rp->counter_key != NULL) {
		a[0] = rp->counter_key;
		a[1] = &cnt;
		if ((r = sql_run(s, S_COUNTER_PUT, "si", a, NULL,
		    NULL)) != OB_OK)
			return r;
	}
	return sql_prune(s, now);
}

/* n acceptances (n = 1: one commit) as one IMMEDIATE transaction. */
static int
sql_bulk(void *v, const struct ob_replay *rp, size_t n, long long now)
{
	struct sql_state	*s = v;
	size_t			 i;
	int			 r;

	if ((r = sql_exec(s->db, "BEGIN IMMEDIATE")) != OB_OK)
		return r;
	for (i = 0; i < n; i++)
		if ((r = sql_checks(s, &rp[i], now)) != OB_OK ||
		    (r = sql_record(s, &rp[i], now)) != OB_OK) {
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	if ((r = sql_exec(s->db, "COMMIT")) != OB_OK)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/*
 * Group commit: every request checked and recorded in order in one
 * IMMEDIATE transaction (a duplicate within the batch sees the first's
 * row); a refusal skips that request only, any other failure rolls the
 * whole batch back.
 */
static int
sql_batch(void *v, const struct ob_replay *rp, size_t n, long long now,
    int *res)
{
	struct sql_state	*s = v;
	size_t			 i;
	int			 r;

	if ((r = sql_exec(s->db, "BEGIN IMMEDIATE")) != OB_OK)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = sql_checks(s, &rp[i], now)) != OB_OK &&
		    ob_state_is_refusal(r)) {
			res[i] = r;
			continue;
		}
		if (r != OB_OK || (r = sql_record(s, &rp[i], now)) != OB_OK) {
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
		res[i] = OB_OK;
	}
	if ((r = sql_exec(s->db, "COMMIT")) != OB_OK)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
sql_commit(void *v, const struct ob_replay *rp, long long now)
{
	return sql_bulk(v, rp, 1, now);
}

static int
sql_put_nonce(void *v, const char *nonce, long long expires,
    const char *bound, long long now)
{
	struct sql_state	*s = v;
	const void		*a[3];
	int			 r;

	a[0] = nonce;
	a[1] = &expires;
	a[2] = bound;
	if ((r = sql_exec(s->db, "BEGIN IMMEDIATE")) != OB_OK)
		return r;
	if ((r = sql_run(s, S_NONCE_PUT, "sis", a, NULL, NULL)) != OB_OK ||
	    (r = sql_prune(s, now)) != OB_OK ||
	    (r = sql_exec(s->db, "COMMIT")) != OB_OK)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
sql_put_approval(void *v, const char *key, const char *rec, long long until,
    long long now)
{
	struct sql_state	*s = v;
	const void		*a[3];
	int			 r;

	a[0] = key;
	a[1] = &until;
	a[2] = rec;
	if ((r = sql_exec(s->db, "BEGIN IMMEDIATE")) != OB_OK)
		return r;
	if ((r = sql_run(s, S_APPR_PUT, "sis", a, NULL, NULL)) != OB_OK ||
	    (r = sql_prune(s, now)) != OB_OK ||
	    (r = sql_exec(s->db, "COMMIT")) != OB_OK)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
sql_get_approval(void *v, const char *key, long long now, char **rec)
{
	struct sql_state	*s = v;
	sqlite3_stmt		*st;
	const unsigned char	*t;
	const void		*a[2];
	int			 rc, r;

	a[0] = key;
	a[1] = &now;
	if ((r = sql_stmt(s, S_APPR_GET, "si", a, &st)) != OB_OK)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((t = sqlite3_column_text(st, 0)) == NULL)
			r = ob_errf(OB_ERR_APPROVAL_RECORD, "empty record");
		else if ((*rec = strdup((const char *)t)) == NULL)
			r = OB_ERR_ALLOC;
	} else if (rc == SQLITE_DONE)
		r = ob_errf(OB_ERR_RENEWAL_UNKNOWN, "no live approval record");
	else
		r = sql_err(s->db, rc, "step");
	sql_done(st);
	return r;
}

static int
sql_count(void *v, struct ob_state_count *c)
{
	struct sql_state	*s = v;
	long long		 j = 0, n = 0;
	int			 r;

	if ((r = sql_run(s, S_COUNT_JTI, "", NULL, &j, NULL)) != OB_OK ||
	    (r = sql_run(s, S_COUNT_NONCE, "", NULL, &n, NULL)) != OB_OK)
		return r;
	c->jti = (size_t)j;
	c->nonce = (size_t)n;
	return OB_OK;
}

static int
sql_int(sqlite3 *db, const char *sql, long long *v)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return sql_err(db, rc, sql);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sql_err(db, rc, sql);
	}
	*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return OB_OK;
}

/*
 * Bring the file to schema SQL_SCHEMA under the write lock (so that two
 * processes opening one file migrate it once), then convert a file made
 * without auto_vacuum: one VACUUM, the first time a new verifier opens it.
 */
static int
sql_migrate(sqlite3 *db)
{
	long long	 v, old;
	int		 r;

	if ((r = sql_exec(db, "BEGIN IMMEDIATE")) != OB_OK)
		return r;
	if ((r = sql_int(db, "PRAGMA user_version", &v)) != OB_OK)
		goto fail;
	if (v > SQL_SCHEMA) {
		r = ob_errf(OB_ERR_STATE_SCHEMA, "schema %lld, this verifier "
		    "knows %d", v, SQL_SCHEMA);
		goto fail;
	}
	if (v < SQL_SCHEMA && ((r = sql_exec(db, sql_schema)) != OB_OK ||
	    (r = sql_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'jti'", &old)) != OB_OK ||
	    (old != 0 && (r = sql_exec(db, sql_from0)) != OB_OK)))
		goto fail;
	if ((r = sql_exec(db, "COMMIT")) != OB_OK)
		goto fail;
	if ((r = sql_int(db, "PRAGMA auto_vacuum", &v)) != OB_OK)
		return r;
	if (v != 2 && (r = sql_exec(db, "PRAGMA auto_vacuum=INCREMENTAL;"
	    "VACUUM;")) != OB_OK)
		return r;
	return OB_OK;
fail:
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void
sql_free(void *v)
{
	struct sql_state	*s = v;
	size_t			 i;

	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

int
ob_state_sqlite_new(const char *path, void **impl)
{
	struct sql_state	*s;
	int			 fd, rc, r, tries;

	/* Create the file owner-only before SQLite opens it. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return ob_errf(OB_ERR_STATE, "%s: %s", path, strerror(errno));
	close(fd);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OB_ERR_ALLOC;
	if ((rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_FULLMUTEX, NULL)) != SQLITE_OK) {
		r = ob_errf(OB_ERR_STATE, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, SQL_BUSY_MS);
	if ((rc = sqlite3_create_function(s->db, "ob_key", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, sql_fn_key, NULL,
	    NULL)) != SQLITE_OK) {
		r = sql_err(s->db, rc, "ob_key");
		goto fail;
	}
	/*
	 * Switching to WAL while another process creates the same file can
	 * fail with SQLITE_BUSY without consulting the busy handler: retry.
	 */
	for (tries = 0; ((r = sql_exec(s->db, sql_pragmas)) ==
	    OB_ERR_STATE_BUSY || (r == OB_OK && (r = sql_migrate(s->db)) ==
	    OB_ERR_STATE_BUSY)) && tries < SQL_OPEN_TRIES; tries++)
		(void)usleep(20 * 1000);
	if (r != OB_OK) {
		r = ob_err_prefix(r, "%s", path);
		goto fail;
	}
	*impl = s;
	return OB_OK;
fail:
	sql_free(s);
	return r;
}

const struct ob_state_ops ob_state_sqlite_ops = {
	.commit = sql_commit,
	.put_nonce = sql_put_nonce,
	.count = sql_count,
	.put_approval = sql_put_approval,
	.get_approval = sql_get_approval,
	.bulk = sql_bulk,
	.free = sql_free,
	.batch = sql_batch,
};
