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

#include "err.h"
#include "state.h"

#define SQL_BUSY_MS	10000
#define SQL_NONCE_GRACE	3600
#define SQL_PURGE_EVERY	64
#define SQL_OPEN_TRIES	250

struct sql_state {
	sqlite3		*db;
	unsigned int	 commits;
};

static const char sql_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS jti(k TEXT PRIMARY KEY,"
    " expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS nonce(n TEXT PRIMARY KEY,"
    " expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, jti TEXT)"
    " WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS nonce_by_jti ON nonce(jti);"
    "CREATE TABLE IF NOT EXISTS counter(k TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL) WITHOUT ROWID;";

static int
sql_err(sqlite3 *db, int rc, const char *what)
{
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return ob_errf(OB_ERR_STATE_BUSY, "%s: %s", what,
		    sqlite3_errmsg(db));
	return ob_errf(OB_ERR_STATE, "%s: %s", what, sqlite3_errmsg(db));
}

/* Run one statement with text/int64 bindings described by fmt ("st"). */
static int
sql_run(sqlite3 *db, const char *sql, const char *fmt, const void *const *a,
    long long *col0, int *have_row)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, i, r;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return sql_err(db, rc, "prepare");
	for (i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] == 's')
			rc = a[i] == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, a[i], -1,
			    SQLITE_STATIC);
		else
			rc = sqlite3_bind_int64(st, i + 1,
			    *(const long long *)a[i]);
		if (rc != SQLITE_OK) {
			r = sql_err(db, rc, "bind");
			goto out;
		}
	}
	rc = sqlite3_step(st);
	if (have_row != NULL)
		*have_row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW && col0 != NULL)
		*col0 = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sql_err(db, rc, "step");
		goto out;
	}
	r = OB_OK;
out:
	sqlite3_finalize(st);
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
sql_nonce_row(sqlite3 *db, const char *nonce, long long *expires, int *used,
    char **bound, int *found)
{
	sqlite3_stmt		*st = NULL;
	const unsigned char	*b;
	int			 rc;

	*found = 0;
	*bound = NULL;
	if ((rc = sqlite3_prepare_v2(db, "SELECT expires, used, jti FROM nonce "
	    "WHERE n = ?1", -1, &st, NULL)) != SQLITE_OK)
		return sql_err(db, rc, "prepare");
	sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*found = 1;
		*expires = sqlite3_column_int64(st, 0);
		*used = sqlite3_column_int(st, 1);
		if ((b = sqlite3_column_text(st, 2)) != NULL &&
		    (*bound = strdup((const char *)b)) == NULL) {
			sqlite3_finalize(st);
			return OB_ERR_ALLOC;
		}
	} else if (rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return sql_err(db, rc, "step");
	}
	sqlite3_finalize(st);
	return OB_OK;
}

static int
sql_checks(struct sql_state *s, const struct ob_replay *rp, long long now)
{
	const void	*a[3];
	long long	 v, expires = 0, cnt;
	char		*bound = NULL;
	int		 row, used = 0, found, r;

	a[0] = rp->jti_key;
	a[1] = &now;
	if ((r = sql_run(s->db, "SELECT 1 FROM jti WHERE k = ?1 AND "
	    "expires > ?2", "si", a, NULL, &row)) != OB_OK)
		return r;
	if (row)
		return ob_errf(OB_ERR_REPLAY, "jti seen before");
	if (rp->nonce != NULL) {
		if ((r = sql_nonce_row(s->db, rp->nonce, &expires, &used,
		    &bound, &found)) != OB_OK)
			return r;
		if (!found)
			r = OB_ERR_NONCE_UNKNOWN;
		else if (used)
			r = OB_ERR_NONCE_USED;
		else if (expires <= now)
			r = OB_ERR_NONCE_EXPIRED;
		else if (bound != NULL && strcmp(bound, rp->jti) != 0)
			r = ob_errf(OB_ERR_NONCE_MISMATCH, "nonce was issued for "
			    "another request");
		free(bound);
		if (r != OB_OK)
			return r;
	} else {
		a[0] = rp->jti;
		a[1] = &now;
		if ((r = sql_run(s->db, "SELECT 1 FROM nonce WHERE jti = ?1 "
		    "AND used = 0 AND expires > ?2", "si", a, NULL,
		    &row)) != OB_OK)
			return r;
		if (row)
			return ob_errf(OB_ERR_NONCE_MISSING, "a nonce was "
			    "issued for this request");
	}
	if (rp->counter_key != NULL) {
		a[0] = rp->counter_key;
		if ((r = sql_run(s->db, "SELECT value FROM counter WHERE k = ?1",
		    "s", a, &v, &row)) != OB_OK)
			return r;
		cnt = rp->counter;
		if (row && (cnt != 0 || v != 0) && cnt <= v)
			return ob_errf(OB_ERR_FIDO_COUNTER, "counter %lld, last "
			    "%lld", cnt, v);
	}
	return OB_OK;
}

static int
sql_record(struct sql_state *s, const struct ob_replay *rp, long long now)
{
	const void	*a[3];
	long long	 cnt = rp->counter, old = now - SQL_NONCE_GRACE;
	int		 r;

	a[0] = rp->jti_key;
	a[1] = &rp->keep_until;
	if ((r = sql_run(s->db, "INSERT OR REPLACE INTO jti(k, expires) "
	    "VALUES (?1, ?2)", "si", a, NULL, NULL)) != OB_OK)
		return r;
	if (rp->nonce != NULL) {
		a[0] = rp->nonce;
		if ((r = sql_run(s->db, "UPDATE nonce SET used = 1 WHERE n = ?1",
		    "s", a, NULL, NULL)) != OB_OK)
			return r;
	}
	if (rp->counter_key != NULL) {
		a[0] = rp->counter_key;
		a[1] = &cnt;
		if ((r = sql_run(s->db, "INSERT OR REPLACE INTO counter(k, "
		    "value) VALUES (?1, ?2)", "si", a, NULL, NULL)) != OB_OK)
			return r;
	}
	if (++s->commits % SQL_PURGE_EVERY == 0) {
		a[0] = &now;
		if ((r = sql_run(s->db, "DELETE FROM jti WHERE expires <= ?1",
		    "i", a, NULL, NULL)) != OB_OK)
			return r;
		a[0] = &old;
		if ((r = sql_run(s->db, "DELETE FROM nonce WHERE expires <= ?1",
		    "i", a, NULL, NULL)) != OB_OK)
			return r;
	}
	return OB_OK;
}

static int
sql_commit(void *v, const struct ob_replay *rp, long long now)
{
	struct sql_state	*s = v;
	int			 r;

	if ((r = sql_exec(s->db, "BEGIN IMMEDIATE")) != OB_OK)
		return r;
	if ((r = sql_checks(s, rp, now)) != OB_OK ||
	    (r = sql_record(s, rp, now)) != OB_OK) {
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	if ((r = sql_exec(s->db, "COMMIT")) != OB_OK)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
sql_put_nonce(void *v, const char *nonce, long long expires,
    const char *bound)
{
	struct sql_state	*s = v;
	const void		*a[3];

	a[0] = nonce;
	a[1] = &expires;
	a[2] = bound;
	return sql_run(s->db, "INSERT INTO nonce(n, expires, used, jti) "
	    "VALUES (?1, ?2, 0, ?3)", "sis", a, NULL, NULL);
}

static void
sql_free(void *v)
{
	struct sql_state *s = v;

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
	/*
	 * Switching to WAL while another process creates the same file can
	 * fail with SQLITE_BUSY without consulting the busy handler: retry.
	 */
	for (tries = 0; (r = sql_exec(s->db, sql_schema)) == OB_ERR_STATE_BUSY &&
	    tries < SQL_OPEN_TRIES; tries++)
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
	.free = sql_free,
};
