/*
 * Small helpers shared by the command-line programs: whole-input reading
 * with a bound, atomic output, number parsing, error printing.
 */
#ifndef OB_COMMON_CLIUTIL_H
#define OB_COMMON_CLIUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "ownerbind/ob_err.h"

/* Read all of path ("-" = stdin), at most max bytes (else too large). */
int ob_read_all(const char *path, size_t max, char **out, size_t *outlen)
    OB_WUR;

/*
 * Write data to path ("-" or NULL = stdout) atomically: a temporary file
 * in the same directory, fsync, rename.  An existing file is replaced
 * only once the new content is complete.  mode applies to new files.
 */
int ob_write_all(const char *path, const void *data, size_t len,
    unsigned int mode) OB_WUR;

/* Parse a decimal in [min, max]. */
int ob_parse_ll(const char *s, long long min, long long max, long long *out)
    OB_WUR;

/*
 * --version: "prog VERSION", then the libraries it runs with (OpenSSL and
 * jansson as loaded at run time) and extra, one line each, if not NULL
 * (the program's own: backends, libevent, libcurl, SQLite).
 */
void ob_print_version(const char *prog, const char *version,
    const char *extra);

/*
 * Defaults for options not given on the command line, from
 * /etc/ownerbind/config, then $XDG_CONFIG_HOME/ownerbind/config
 * (or ~/.config/ownerbind/config), the later winning: "name = value"
 * lines for key, trust, aud, state, pin-source.  Read once; members are
 * NULL when not set.  OB_ERR_USAGE naming file:line for a bad line.
 */
struct ob_cli_defaults {
	const char	*key, *trust, *aud, *state, *pin_source;
};
int ob_cli_defaults(const struct ob_cli_defaults **out) OB_WUR;

/*
 * The time t (Unix seconds) for a person: "2026-12-02T09:50:00Z (in 4m)",
 * "(2h ago)" or "(now)" relative to now; a span is whole seconds below two
 * minutes, whole minutes below two hours, then hours, then days (rounded
 * down: "in 4m" is at least four minutes).
 */
void ob_cli_when(long long t, long long now, char *buf, size_t n);
/* The span alone: "45s", "4m", "2h", "3d". */
void ob_cli_span(long long secs, char *buf, size_t n);

/* "prog: NAME: sentence (detail)\n  next step" on stderr. */
void ob_print_error(const char *prog, int code);

/*
 * The same error as one compact JSON object and a newline on stdout, for
 * --json (docs/decisions.md): {"result": result, "error": NAME, "code": N,
 * "message": sentence, "detail": detail, "next_step": hint, "exit": status}.
 */
void ob_print_error_json(const char *result, int code, int status);

/* Whether option opt ("--json") is among argv[1..argc) before "--". */
int ob_cli_has_option(int argc, char **argv, const char *opt);

/*
 * A usage error (exit status 2): what (NULL: the generic sentence) as one
 * JSON object on stdout when json is set, else "prog: what" and usage on
 * stderr.  Returns 2.  ob_cli_badopt names the option getopt refused (call
 * it in getopt's '?' or ':' case; set opterr to 0 for --json).
 */
int ob_cli_usage_error(const char *prog, int json, void (*usage)(FILE *),
    const char *what);
const char *ob_cli_badopt(int argc, char **argv);

#endif
