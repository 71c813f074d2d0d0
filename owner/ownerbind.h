/* The ownerbind owner-side tool: one function per verb. */
#ifndef OB_OWNER_OWNERBIND_H
#define OB_OWNER_OWNERBIND_H

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
int cmd_wpt(int argc, char **argv);

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

/* Print the error and return the exit status for it. */
int fail(int code);

#endif
