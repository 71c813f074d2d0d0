/*
 * The strict JSON configuration reader the daemons share
 * (server/config.c, proxy/proxy_config.c).  The file is read by the
 * project's strict JSON reader (core/json.h); a daemon's loader then walks
 * the jansson tree with the typed getters below, which fail with a detail
 * "FILE:LINE: \"PATH\" WHAT".  jansson keeps no positions, so a member's
 * line is found by a second, bounded scan of the text along the member's
 * path (struct ob_cfg keeps the path the loader is in: push, pop).
 *
 * Codes: OB_ERR_CONFIG_UNKNOWN (an unknown member), OB_ERR_CONFIG_TYPE
 * (wrong type), OB_ERR_CONFIG_INVALID (not JSON, a duplicate member, a
 * missing member, a value out of range), OB_ERR_IO, OB_ERR_ALLOC.
 */
#ifndef OB_COMMON_CFGREAD_H
#define OB_COMMON_CFGREAD_H

#include <stddef.h>

#include <jansson.h>

#include "ownerbind/ob_err.h"

/* Largest configuration file read. */
#define OB_CONFIG_MAX_SIZE	(256 * 1024)

#define OB_CFG_MAX_DEPTH	6
#define OB_CFG_MAX_NAME		200	/* shown bytes of a member's path */

/* One step of a member's path: a name, or an index when key is NULL. */
struct ob_cfg_seg {
	const char	*key;
	size_t		 idx;
};

/* The reader's state; the strings are borrowed for the reader's life. */
struct ob_cfg {
	const unsigned char	*text;
	size_t			 len;
	const char		*dir;		/* relative paths are from it */
	const char		*file;		/* for the detail */
	struct ob_cfg_seg	 path[OB_CFG_MAX_DEPTH];
	size_t			 depth;
	unsigned long		 errline;	/* of the last failure */
};

/*
 * Read path whole (at most OB_CONFIG_MAX_SIZE bytes): *buf and *len its
 * text (NUL-terminated), *abs the path made absolute and *dir its
 * directory (all three new strings).  Outputs only on success; OB_ERR_IO
 * with "PATH: why".
 */
int ob_cfg_slurp(const char *path, char **abs, char **dir, char **buf,
    size_t *len) OB_WUR;

/*
 * Set c up for text (buf may be NULL for empty) and read it: *root is a
 * new JSON object on success; on failure c->errline is set.
 */
int ob_cfg_read(struct ob_cfg *c, const void *buf, size_t len,
    const char *dir, const char *file, json_t **root) OB_WUR;

/* Fail with code at member key of the current object (NULL: the value). */
int ob_cfg_fail(struct ob_cfg *c, int code, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void ob_cfg_push_key(struct ob_cfg *c, const char *key);
void ob_cfg_push_idx(struct ob_cfg *c, size_t i);
void ob_cfg_pop(struct ob_cfg *c);
unsigned long ob_cfg_line_at(const unsigned char *t, size_t pos);
const char *ob_cfg_type_name(const json_t *v);

/* Every member of o is in the NULL-terminated allowed list. */
int ob_cfg_only(struct ob_cfg *c, const json_t *o,
    const char *const *allowed) OB_WUR;
/* o[key] of type t (JSON_TRUE: a boolean; JSON_REAL: any number), or
 * *out NULL when absent (an error if required). */
int ob_cfg_member(struct ob_cfg *c, const json_t *o, const char *key,
    json_type t, int required, json_t **out) OB_WUR;
/* A string of 1 to max bytes, or a copy of def (NULL: *out untouched). */
int ob_cfg_str(struct ob_cfg *c, const json_t *o, const char *key,
    int required, const char *def, size_t max, char **out) OB_WUR;
int ob_cfg_int(struct ob_cfg *c, const json_t *o, const char *key,
    long long min, long long max, long long def, long long *out) OB_WUR;
int ob_cfg_uint(struct ob_cfg *c, const json_t *o, const char *key,
    long long min, long long max, long long def, unsigned *out) OB_WUR;
int ob_cfg_size(struct ob_cfg *c, const json_t *o, const char *key,
    long long min, long long max, long long def, size_t *out) OB_WUR;
/* An absolute path: s itself, or c->dir/s. */
int ob_cfg_abspath(const struct ob_cfg *c, const char *s, char **out) OB_WUR;
/* A path member, made absolute. */
int ob_cfg_path(struct ob_cfg *c, const json_t *o, const char *key,
    int required, const char *def, char **out) OB_WUR;
/* "HOST:PORT", HOST a name, an IPv4 address or [IPv6]. */
int ob_cfg_listen(struct ob_cfg *c, const json_t *o, const char *key,
    const char *def, char **out) OB_WUR;
/* One of the NULL-terminated names; *out its index. */
int ob_cfg_enum(struct ob_cfg *c, const json_t *o, const char *key,
    int required, const char *const *names, int def, int *out) OB_WUR;

/* "a, b, c" from a NULL-terminated list, cut to fit. */
const char *ob_cfg_join(const char *const *names, char *buf, size_t size);

/*
 * A token bucket {"per_second": N (0..1e6, 0: no limit), "burst": B}; an
 * absent member keeps the defaults; burst defaults to 2 N + 1.
 */
int ob_cfg_bucket(struct ob_cfg *c, const json_t *o, const char *key,
    double *per_second, unsigned *burst) OB_WUR;

#endif
