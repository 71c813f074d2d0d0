/* The ownerbind owner-side tool: one function per verb. */
#ifndef OB_OWNER_OWNERBIND_H
#define OB_OWNER_OWNERBIND_H

#include <stdio.h>

#include <jansson.h>

#define PROG	"ownerbind"

int cmd_request(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_pop(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_respond(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_wpt(int argc, char **argv);
int cmd_keylist(int argc, char **argv);

/* Print ob_fido2_devices' array for people (cmd_devices.c, FIDO2 only). */
void owner_fido2_print(const json_t *arr);
int cmd_agent(int argc, char **argv);
int cmd_approve(int argc, char **argv);

/* Exit statuses: 0 success, 1 operation failed, 2 usage. */
#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct ob_envelope;
/* Serialise env with a final newline to path (NULL or "-": stdout). */
int owner_emit(const char *path, const struct ob_envelope *env);
/* Compact JSON with a final newline to path (NULL or "-": stdout). */
int owner_emit_json(const char *path, const json_t *o);
/* Read and parse an envelope that may not be signed yet. */
int owner_load(const char *path, struct ob_envelope **out);

/*
 * Change the trust store at path (owner/trust_edit.c): under path.lock,
 * edit(doc, arg) changes the parsed document (a missing file starts as an
 * empty store when create is set); the result must load in the verifier;
 * then commit(doc, arg), if not NULL, runs (e.g. spends a nonce); then the
 * file is replaced atomically.  Nothing is written on any failure.
 */
typedef int (*owner_trust_fn)(json_t *doc, void *arg);
int owner_trust_edit(const char *path, int create, owner_trust_fn edit,
    owner_trust_fn commit, void *arg);
/* doc's array member name, created when missing. */
int owner_trust_array(json_t *doc, const char *name, json_t **out);

/*
 * The first of need[0..n) whose value is NULL (an entry whose name is NULL
 * does not apply): "ownerbind VERB: --OPTION is required" on the first
 * line of stderr, then usage; returns 1.  0 when none is missing.
 * OWNER_MISSING(verb, usage, {"--sub", sub}, ...) counts them.
 */
struct owner_need {
	const char	*name;
	const void	*value;
};
int owner_missing(const char *verb, void (*usage)(FILE *),
    const struct owner_need *need, size_t n);
#define OWNER_MISSING(verb, usage, ...) \
	owner_missing((verb), (usage), \
	    (const struct owner_need[]){ __VA_ARGS__ }, \
	    sizeof((const struct owner_need[]){ __VA_ARGS__ }) / \
	    sizeof(struct owner_need))

/* Print the error and return the exit status for it. */
int fail(int code);
/* The same for a bad option value: always EXIT_USAGE. */
int fail_usage(int code);

/*
 * --json was given (main.c takes it out of argv): results and errors are
 * JSON on stdout, an error as one object (ob_print_error_json).
 */
extern int	owner_json;
/*
 * What a verb changed, for people ("enrolled KID for alice in FILE") or,
 * with --json, {"result": "ok", "action": action, "file": file,
 * "message": the same sentence}.
 */
void owner_done(const char *action, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A usage error, what (NULL: generic) then usage; returns EXIT_USAGE. */
int owner_usage(void (*usage)(FILE *), const char *what);
/* getopt refused an option: owner_usage naming it. */
int owner_badopt(void (*usage)(FILE *), int argc, char **argv);

#endif
