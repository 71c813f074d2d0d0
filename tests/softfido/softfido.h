/*
 * softfido: a software CTAP2 authenticator for tests.
 *
 * It speaks CTAPHID over libfido2's pluggable io functions, so a test drives
 * it through the unmodified libfido2 API:
 *
 *	struct softfido *sf = softfido_new();
 *	softfido_register("softfido:0", sf);
 *	fido_dev_set_io_functions(dev, softfido_io());
 *	fido_dev_open(dev, "softfido:0");
 *
 * Test code only: keys live in process memory and in a plain state file.
 * Never link this into a product binary.
 */
#ifndef SOFTFIDO_H
#define SOFTFIDO_H

#include <stddef.h>
#include <stdint.h>

#include <fido.h>

#if defined(__GNUC__) || defined(__clang__)
#define SOFTFIDO_WUR __attribute__((warn_unused_result))
#else
#define SOFTFIDO_WUR
#endif

/* softfido builds with -fvisibility=hidden; this header is the export list */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

/*
 * Status codes: 0 on success, negative on failure. One table; the test
 * checks that every code has a name and a sentence.
 */
#define SOFTFIDO_ERRORS(X)						\
	X(SOFTFIDO_OK, 0, "success")					\
	X(SOFTFIDO_ERR_INVALID_ARGUMENT, -1, "invalid argument")	\
	X(SOFTFIDO_ERR_NO_MEMORY, -2, "out of memory")			\
	X(SOFTFIDO_ERR_CRYPTO, -3, "cryptographic operation failed")	\
	X(SOFTFIDO_ERR_IO, -4, "state file could not be read or written") \
	X(SOFTFIDO_ERR_STATE_FORMAT, -5, "state file is malformed")	\
	X(SOFTFIDO_ERR_EXISTS, -6, "path is already registered")	\
	X(SOFTFIDO_ERR_NOT_FOUND, -7, "path is not registered")	\
	X(SOFTFIDO_ERR_PIN_POLICY, -8, "PIN must be 4 to 63 bytes")

enum softfido_status {
#define SOFTFIDO_ENUM(name, value, text) name = (value),
	SOFTFIDO_ERRORS(SOFTFIDO_ENUM)
#undef SOFTFIDO_ENUM
};

/* Human sentence for a status code; never NULL. */
const char *softfido_strerror(int);
/* Symbolic name ("SOFTFIDO_ERR_IO") for a status code; NULL if unknown. */
const char *softfido_errname(int);

/* What the simulated user does when the authenticator asks for a touch. */
enum softfido_touch {
	SOFTFIDO_TOUCH_YES,	/* touches at once (default) */
	SOFTFIDO_TOUCH_NO,	/* never touches: CTAP2_ERR_USER_ACTION_TIMEOUT */
	SOFTFIDO_TOUCH_WAIT	/* waits for softfido_touch() or CTAPHID_CANCEL */
};

/* Which CTAP generation the authenticator presents in getInfo. */
enum softfido_profile {
	SOFTFIDO_PROFILE_CTAP21,	/* FIDO_2_0+FIDO_2_1, PIN protocols 2,1,
					   pinUvAuthToken (default) */
	SOFTFIDO_PROFILE_CTAP20		/* FIDO_2_0, PIN protocol 1, getPinToken */
};

/* Attestation statement returned by makeCredential. */
enum softfido_attestation {
	SOFTFIDO_ATT_BATCH,	/* packed, x5c = per-device certificate (default) */
	SOFTFIDO_ATT_SELF,	/* packed, signed by the credential key itself */
	SOFTFIDO_ATT_NONE	/* fmt "none" */
};

struct softfido;

/*
 * A factory-fresh authenticator: random master secret and AAGUID, a P-256
 * batch attestation key with a self-signed certificate, no PIN, counter 0.
 * NULL on failure. Reference counted: softfido_free() drops the caller's
 * reference; registrations and open libfido2 handles hold their own.
 */
struct softfido *softfido_new(void) SOFTFIDO_WUR;
void softfido_free(struct softfido **);

/*
 * Replace the whole persistent state (master secret, AAGUID, attestation
 * key and certificate, counter, PIN hash and retries, resident credentials)
 * with the contents of a file written by softfido_save(). Counts as a power
 * cycle. On failure the authenticator is unchanged.
 */
int softfido_load(struct softfido *, const char *path) SOFTFIDO_WUR;
/* Write the persistent state atomically (temporary file + rename, 0600). */
int softfido_save(struct softfido *, const char *path) SOFTFIDO_WUR;
/*
 * From now on write the state to path after every command that changed it
 * (credential made, counter moved, PIN set or retried). NULL turns it off.
 * A failed write makes that command answer CTAP1_ERR_OTHER.
 */
int softfido_set_autosave(struct softfido *, const char *path) SOFTFIDO_WUR;

void softfido_set_touch(struct softfido *, enum softfido_touch);
/* SOFTFIDO_TOUCH_WAIT gives up after this long (default 30000 ms). */
void softfido_set_touch_timeout(struct softfido *, unsigned int ms);
/* The user touches the key: satisfies the current or next touch request in
   SOFTFIDO_TOUCH_WAIT mode. Safe to call from another thread. */
void softfido_touch(struct softfido *);

void softfido_set_profile(struct softfido *, enum softfido_profile);
void softfido_set_attestation(struct softfido *, enum softfido_attestation);

/* Provision a PIN as if set by a client; resets the retry counter to 8. */
int softfido_set_pin(struct softfido *, const char *pin) SOFTFIDO_WUR;
/* PIN retries left (8 fresh, 0 blocked). */
int softfido_pin_retries(struct softfido *);
/* Unplug and replug: forgets PIN tokens, the key agreement key and the
   "3 consecutive wrong PINs" lock; keeps the persistent state. */
void softfido_power_cycle(struct softfido *);

/* Signature counter and number of resident credentials, for assertions. */
uint32_t softfido_counter(struct softfido *);
size_t softfido_resident_count(struct softfido *);

/* Copy of the DER batch attestation certificate; caller frees *der. */
int softfido_attestation_cert(struct softfido *, unsigned char **der,
    size_t *der_len) SOFTFIDO_WUR;

/*
 * Make the authenticator reachable by fido_dev_open(dev, path) on a device
 * whose io functions are softfido_io(). path must start with "softfido:".
 * The registry takes its own reference until softfido_unregister().
 */
int softfido_register(const char *path, struct softfido *) SOFTFIDO_WUR;
int softfido_unregister(const char *path) SOFTFIDO_WUR;

/* libfido2 io functions: open looks the path up in the registry, write takes
   65-byte HID output reports (report id first), read yields 64-byte input
   reports. Static storage; never NULL. */
const fido_dev_io_t *softfido_io(void);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* SOFTFIDO_H */
