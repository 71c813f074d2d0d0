/*
 * PIN and passphrase sources shared by every backend (docs/pin-sources.md):
 *   tty             prompt on /dev/tty without echo
 *   file:PATH       first line of a file readable by its owner only
 *   fd:N            first line read from file descriptor N
 *   env:VAR         the value of an environment variable
 *   askpass:PROG    stdout of PROG run with the prompt as its argument
 * Never argv.  A PIN is held in common/secmem.h memory (its own pages,
 * locked where possible, never in a core dump) and wiped by ob_pin_free.
 */
#ifndef OB_TOKENS_PIN_H
#define OB_TOKENS_PIN_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_PIN_MAX	256

struct ob_pin_source;

/*
 * Parse a source spec.  NULL spec means: $OWNERBIND_PIN_SOURCE if set,
 * else tty.  *out is freed with ob_pin_source_free.
 */
int ob_pin_source_parse(const char *spec, struct ob_pin_source **out) OB_WUR;
/*
 * From now on this process refuses env: and fd: sources (OB_ERR_PIN_SOURCE
 * from ob_pin_source_parse): an ownerbind-signer that a daemon starts calls
 * it, since its environment and descriptors are the daemon's, and a PIN
 * there would be in the network-facing process (docs/pin-sources.md).
 */
void ob_pin_refuse_inherited(void);
/*
 * When spec is env:NAME: the variable's value wiped where it lies (so that
 * /proc/PID/environ no longer shows it) and NAME taken out of the
 * environment, so that no child inherits it.  For a daemon that has read
 * its own secret, and for a child before exec.  Not thread-safe (setenv's
 * rules): before any thread.
 */
void ob_pin_env_scrub(const char *spec);
void ob_pin_source_free(struct ob_pin_source **srcp);

/*
 * Read a PIN; prompt is shown for tty and askpass.  *pin is NUL-terminated
 * and must be released with ob_pin_free.  OB_ERR_PIN_SOURCE on failure.
 * The first successful read is kept (locked, wiped when the source is
 * freed) so that one command asks once, even if it needs the PIN twice
 * (generate, then open) or the source can be read only once (fd:).
 */
int ob_pin_read(const struct ob_pin_source *src, const char *prompt,
    char **pin) OB_WUR;
/*
 * The same for a secret being set (a new key's passphrase or auth value):
 * from a person (tty, askpass) it is asked twice and must match, else
 * OB_ERR_PIN_SOURCE; other sources are read once.
 */
int ob_pin_read_new(const struct ob_pin_source *src, const char *prompt,
    char **pin) OB_WUR;
void ob_pin_free(char **pin);
/* Drop the kept PIN, e.g. after the device said it is wrong. */
void ob_pin_forget(const struct ob_pin_source *src);

#endif
