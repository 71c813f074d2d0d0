/*
 * The issuance record: one JSON line per decision of the server, accepted
 * or rejected, each carrying the SHA-256 of the line before it, so that a
 * changed, deleted, inserted or reordered line breaks the chain at that
 * line.  docs/audit.md is the format; this is the writer and the checker.
 *
 * ob_audit_append() returns only after the line is on disk (one write(2)
 * of the whole line, then an fsync(2) that covers it, shared by the
 * threads whose lines wait: group commit); the server answers after
 * that, so every answer it gave has its line.  One ob_audit may be shared
 * by threads (a mutex orders the lines); one file has one writer (an
 * exclusive flock(2) taken at open).
 */
#ifndef OB_SERVER_AUDIT_H
#define OB_SERVER_AUDIT_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/* Upper bound of one line in bytes, newline included (docs/audit.md). */
#define OB_AUDIT_MAX_LINE	32768

struct ob_audit;

/*
 * One decision.  Every string may be NULL (member left out); strings are
 * cut at a UTF-8 boundary to their documented maximum and bytes that are
 * not UTF-8 become '?', so that a line is always written.  accepted
 * selects "decision": "accepted" or "rejected"; code is the internal
 * error code (OB_OK when accepted), written by name.  cred_* describe the
 * issued credential (cred_exp 0: none).  ts_ms 0 means "now".
 */
struct ob_audit_event {
	long long	 ts_ms;
	const char	*request_id;
	const char	*peer;
	int		 accepted;
	int		 code;
	const char	*detail;
	/* the verdict */
	const char	*agent;
	const char	*owner;
	const char	*model;
	const char	*jti;
	const char	*envelope_sha256;	/* base64url */
	const char	*renewal_of;		/* a renewal: the approval's jti */
	/* the credential, when one was issued */
	const char	*cred_jti;
	const char	*cred_serial;		/* hex */
	long long	 cred_exp;
};

/*
 * Open (creating with mode 0600) the record at path for appending.  An
 * existing file's last line is checked (complete, well-formed, its own
 * hash right) and the chain continues from it: OB_ERR_AUDIT_TAIL when it
 * is not, OB_ERR_AUDIT_LOCKED when another process holds the file,
 * OB_ERR_IO otherwise.  *out is set only on success.
 */
int ob_audit_open(const char *path, struct ob_audit **out) OB_WUR;

/*
 * Append one line and fsync it.  Thread-safe.  *seq (may be NULL)
 * receives the line's sequence number.  A failed or short write (a full
 * disk, a file-size limit) is cut off again with ftruncate(2), so the
 * record stays whole and takes lines once there is room; only when that
 * fails too does the record refuse further lines (OB_ERR_AUDIT_FAILED
 * every time): what is on disk is then unknown, and a guess would break
 * the chain.
 */
int ob_audit_append(struct ob_audit *a, const struct ob_audit_event *ev,
    unsigned long long *seq) OB_WUR;

/*
 * Rotation (docs/audit.md, "Rotating the record"): when path no longer
 * names the open file (renamed or removed by logrotate), make every line
 * written durable, then open path (created with mode 0600, or an empty
 * file already there) and write the next lines there: its line 1
 * continues the chain (seq and prev go on).  *reopened is 1 when it did.
 * Nothing changes on an error: OB_ERR_AUDIT_TAIL (path holds lines),
 * OB_ERR_AUDIT_LOCKED, OB_ERR_AUDIT_FAILED, OB_ERR_IO.  Thread-safe.
 */
int ob_audit_reopen(struct ob_audit *a, const char *path, int *reopened)
    OB_WUR;

/*
 * A daemon's SIGHUP: ob_audit_reopen, its error prefixed with what goes on
 * meanwhile (the lines still go to the file it had); when it reopened,
 * said holds "PATH from seq N" for the log, else "".
 */
int ob_audit_rotate(struct ob_audit *a, const char *path, char *said,
    size_t size) OB_WUR;

/* The seq of the last line written (0: none yet).  Thread-safe. */
unsigned long long ob_audit_seq(struct ob_audit *a);

/* Close and free; *ap is set to NULL.  Safe on NULL. */
void ob_audit_free(struct ob_audit **ap);

/*
 * Check the whole chain of the record at path.  OB_OK: *lines is the
 * number of lines (0 for an empty file).  OB_ERR_AUDIT_BROKEN: the chain
 * breaks at line *first_bad (1-based), and the detail says how; *lines is
 * then the number of good lines before it.  OB_ERR_IO when the file
 * cannot be read.  Both outputs may be NULL.
 */
int ob_audit_verify(const char *path, unsigned long long *lines,
    unsigned long long *first_bad) OB_WUR;

/*
 * A record in several files, oldest first (a rotated record): where the
 * chain stands between them.  ob_audit_pos_init(p, 0): the first file
 * starts at the genesis; (p, 1): it may continue lines that are not
 * given (seq and prev of its line 1 are then taken as they are, and
 * first_seq, first_prev say what they were).  ob_audit_verify_next
 * checks one file from p on, as ob_audit_verify does, and leaves p at
 * its last line.
 */
struct ob_audit_pos {
	int			 any;
	unsigned long long	 seq;			/* the last line's */
	char			 prev[44];		/* its hash */
	unsigned long long	 first_seq;		/* with any */
	char			 first_prev[44];
};

int ob_audit_pos_init(struct ob_audit_pos *p, int any) OB_WUR;
int ob_audit_verify_next(const char *path, struct ob_audit_pos *p,
    unsigned long long *lines, unsigned long long *first_bad) OB_WUR;

/*
 * `ownerbind-server audit verify [--json] [--continued] FILE...`: argv[0]
 * is "verify"; the files are one record, oldest first (a rotated record).
 * Prints "FILE: N lines, chain intact" a file (and a line for all of them
 * when several) and returns 0, or "FILE: line L: ..." on stderr and
 * returns 1; 2 for a usage error.  --continued: the first file may
 * continue lines not given (its line 1 is taken as it is, and said).
 * With --json, one object on stdout: {"result": "intact", "file" (the
 * first), "lines" (all), "last_seq", "files": [{"file", "lines"}], and
 * with --continued "first_seq", "first_prev"} or the error
 * (ob_print_error_json, result "broken" or "error").
 */
int ob_audit_verify_main(int argc, char **argv);

#endif
