/*
 * Strict JSON as jansson values: duplicate members rejected, nothing after
 * the value, no NUL in strings, UTF-8 checked, nesting bounded.  Reading is
 * json_read.c (it accepts exactly what json_loadb with
 * JSON_REJECT_DUPLICATES accepts, and fuzz/fuzz_json.c holds it to that);
 * serialisation is jansson's, compact with members in insertion order, so
 * that the same calls give the same bytes (the test vectors depend on it).
 */
#ifndef OB_CORE_JSON_H
#define OB_CORE_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "ownerbind/ob_err.h"

/* Nesting limit of ob_json_parse_object (the top-level object is 1). */
#define OB_JSON_MAX_DEPTH	32

/*
 * Read len bytes as one JSON array or object nested at most maxdepth
 * deep (values counted as jansson counts them).  Errors:
 * OB_ERR_JSON_DUPLICATE, OB_ERR_JSON_TRAILING, OB_ERR_JSON_SYNTAX,
 * OB_ERR_ALLOC.  *out is a new reference on success, NULL otherwise.
 */
int ob_json_read(const void *buf, size_t len, unsigned maxdepth,
    json_t **out) OB_WUR;

/*
 * ob_json_read, and on failure *errpos (may be NULL) is the byte offset
 * where reading stopped: for OB_ERR_JSON_DUPLICATE just past the closing
 * quote of the repeated name, else at or just after the offending byte.
 * For callers that point at a line (the server's configuration).
 */
int ob_json_read_at(const void *buf, size_t len, unsigned maxdepth,
    json_t **out, size_t *errpos) OB_WUR;

/*
 * Parse len bytes as one JSON object.  Errors: OB_ERR_JSON_DUPLICATE,
 * OB_ERR_JSON_TRAILING, OB_ERR_JSON_SYNTAX (also for a non-object).
 * *out is a new reference on success.
 */
int ob_json_parse_object(const void *buf, size_t len, json_t **out) OB_WUR;

/* Compact serialisation; *out is freed by the caller with free(). */
int ob_json_dump(const json_t *v, char **out, size_t *outlen) OB_WUR;

/*
 * Typed member lookups.  Return OB_OK and set *out, or `missing` when the
 * member is absent, or `bad` when it has the wrong type or length (with a
 * detail naming the member).  Strings: length within [min, max] bytes.
 */
int ob_json_get_str(const json_t *obj, const char *key, size_t min,
    size_t max, int missing, int bad, const char **out) OB_WUR;
int ob_json_get_int(const json_t *obj, const char *key, int missing, int bad,
    long long *out) OB_WUR;

/* Set member key of o to the unpadded base64url of b[0..n). */
int ob_json_set_b64(json_t *o, const char *key, const unsigned char *b,
    size_t n) OB_WUR;

/* OB_OK when every member name of obj is in the NULL-terminated list. */
int ob_json_only_members(const json_t *obj, const char *const *allowed,
    int bad) OB_WUR;

#endif
