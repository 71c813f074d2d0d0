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
 * `ownerbind-server audit verify [--json] FILE`: argv[0] is "verify".
 * Prints "FILE: N lines, chain intact" and returns 0, or "FILE: line L:
 * ..." on stderr and returns 1; 2 for a usage error.  With --json, one
 * object on stdout: {"result": "intact", "file", "lines"} or the error
 * (ob_print_error_json, result "broken" or "error").
 */
int ob_audit_verify_main(int argc, char **argv);

#endif
