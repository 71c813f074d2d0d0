/*
 * Reading a daemon's JSON configuration (the server's, the gateway's, the
 * gateway's policy): the project's strict reader, then typed members that
 * fail with a stable code and a detail "FILE:LINE: \"PATH\" WHAT", PATH
 * the member's path from the top ("rate.per_peer.burst", "rules[2].k").
 *
 * The reader keeps the path of the object being read: push a member's
 * name (or an array index) before reading inside it, pop after.  Every
 * getter leaves *out alone when the member is absent and has no default.
 * Codes: OB_ERR_CONFIG_UNKNOWN (a member that is not allowed),
 * OB_ERR_CONFIG_TYPE, OB_ERR_CONFIG_INVALID, OB_ERR_ALLOC.
 */
#ifndef OB_COMMON_CFGREAD_H
#define OB_COMMON_CFGREAD_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"

#define OB_CFGR_MAX_DEPTH	6

/* One step of a member's path: a name, or an index when key is NULL. */
struct ob_cfgr_seg {
	const char	*key;
	size_t		 idx;
};

struct ob_cfgr {
	const unsigned char	*text;
	size_t			 len;
	const char		*dir;		/* relative paths start here */
	const char		*file;		/* for the detail */
	struct ob_cfgr_seg		 path[OB_CFGR_MAX_DEPTH];
	size_t			 depth;
	unsigned long		 errline;	/* of the last failure */
};

/*
 * Read c->text (at most max bytes) into *root, an object.  A syntax error
 * or a duplicate member names its line (and the duplicate's path).
 */
int ob_cfgr_read(struct ob_cfgr *c, size_t max, json_t **root) OB_WUR;

/*
 * Read the file at path (at most max bytes; one more is read so that a
 * larger file is refused by ob_cfgr_read): *buf NUL-terminated, *absdir
 * the absolute directory of the file.  Both freed by the caller.
 */
int ob_cfgr_slurp(const char *path, size_t max, char **buf, size_t *len,
    char **absdir) OB_WUR;

/* Fail at member key of the current object (NULL: at the object itself). */
int ob_cfgr_fail(struct ob_cfgr *c, int code, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ob_cfgr_push_key(struct ob_cfgr *c, const char *key);
void ob_cfgr_push_idx(struct ob_cfgr *c, size_t i);
void ob_cfgr_pop(struct ob_cfgr *c);

/* "a, b, c" from a NULL-terminated list, cut to fit. */
const char *ob_cfgr_join(const char *const *names, char *buf, size_t size);
const char *ob_cfgr_type_name(const json_t *v);

/* Every member of o is one of allowed (NULL-terminated). */
int ob_cfgr_only(struct ob_cfgr *c, const json_t *o,
    const char *const *allowed) OB_WUR;
/* o[key] of type t (JSON_REAL takes integers, JSON_TRUE booleans), or
 * *out NULL when absent (an error if required). */
int ob_cfgr_member(struct ob_cfgr *c, const json_t *o, const char *key,
    json_type t, int required, json_t **out) OB_WUR;
/* A string of 1..max bytes, copied (def when absent, may be NULL). */
int ob_cfgr_str(struct ob_cfgr *c, const json_t *o, const char *key,
    int required, const char *def, size_t max, char **out) OB_WUR;
int ob_cfgr_int(struct ob_cfgr *c, const json_t *o, const char *key,
    long long min, long long max, long long def, long long *out) OB_WUR;
int ob_cfgr_uint(struct ob_cfgr *c, const json_t *o, const char *key,
    long long min, long long max, long long def, unsigned *out) OB_WUR;
int ob_cfgr_size(struct ob_cfgr *c, const json_t *o, const char *key,
    long long min, long long max, long long def, size_t *out) OB_WUR;
/* s itself when absolute, else c->dir/s. */
int ob_cfgr_abspath(const struct ob_cfgr *c, const char *s, char **out)
    OB_WUR;
int ob_cfgr_path(struct ob_cfgr *c, const json_t *o, const char *key,
    int required, const char *def, char **out) OB_WUR;
/* "HOST:PORT", HOST a name, an IPv4 address or [IPv6]. */
int ob_cfgr_listen(struct ob_cfgr *c, const json_t *o, const char *key,
    const char *def, char **out) OB_WUR;
/*
 * A token bucket {"per_second": N (0..1e6, 0: no limit), "burst": B}; an
 * absent member keeps the defaults; burst defaults to 2 N + 1.
 */
int ob_cfgr_bucket(struct ob_cfgr *c, const json_t *o, const char *key,
    double *per_second, unsigned *burst) OB_WUR;
/* One of the NULL-terminated names; *out its index. */
int ob_cfgr_enum(struct ob_cfgr *c, const json_t *o, const char *key,
    int required, const char *const *names, int def, int *out) OB_WUR;

#endif
