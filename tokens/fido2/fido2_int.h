/*
 * FIDO2 backend internals (docs/fido2.md).  One file per concept:
 *   fido2_uri.c      fido2: URIs
 *   fido2_credfile.c the credential file named by pub=
 *   fido2_dev.c      opening a device by path, finding one by credential
 *   fido2_enroll.c   keygen: makeCredential and its attestation
 *   fido2_sign.c     getAssertion over the entry's clientDataJSON
 *   fido2_err.c      FIDO_ERR_* to ob_err codes
 *   fido2_devices.c  listing connected keys (ownerbind devices)
 *   fido2.c          the ob_token_ops glue
 */
#ifndef OB_TOKENS_FIDO2_INT_H
#define OB_TOKENS_FIDO2_INT_H

#include <stddef.h>

#include <fido.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "ownerbind/ob_err.h"
#include "core/alg.h"
#include "tokens/token.h"

#define FIDO2_MAX_CRED_ID	1024	/* bytes; CTAP allows up to 1023 */
#define FIDO2_MAX_RPID		256
#define FIDO2_MAX_PATH		4096
#define FIDO2_MAX_DEVICES	64

enum fido2_uv {
	FIDO2_UV_UNSET = 0,
	FIDO2_UV_PREFERRED,
	FIDO2_UV_REQUIRED,
};

/* A parsed fido2: URI.  Strings are owned; free with fido2_uri_free. */
struct fido2_uri {
	char		*rp_id;		/* rp=, NULL if absent */
	unsigned char	*cred;		/* cred=, decoded; NULL if absent */
	size_t		 cred_len;
	char		*dev;		/* dev=, NULL: find by credential */
	char		*pub;		/* pub=, the credential file */
	int		 rk;		/* rk=1: resident (keygen) */
	enum fido2_uv	 uv;		/* uv= (keygen policy) */
};

int fido2_uri_parse(const char *uri, struct fido2_uri *out) OB_WUR;
void fido2_uri_free(struct fido2_uri *u);

/* What keygen learnt, kept in the credential file (pub=). */
struct fido2_cred {
	char		*rp_id;
	unsigned char	*id;
	size_t		 id_len;
	enum ob_alg	 alg;		/* OB_ALG_WEBAUTHN_ES256 / _EDDSA */
	EVP_PKEY	*pub;
	char		 aaguid[33];	/* lowercase hex */
	int		 uv_required;
	int		 backup_eligible;
	int		 resident;
	json_t		*attestation;	/* {"fmt", "type", "x5c"?} */
};

void fido2_cred_free(struct fido2_cred *c);
/* Write c to path (mode 0600, never over an existing file). */
int fido2_credfile_write(const char *path, const struct fido2_cred *c) OB_WUR;
/* Read and check a credential file: strict JSON, bounded, key on curve. */
int fido2_credfile_read(const char *path, struct fido2_cred *out) OB_WUR;
/* The same check on len bytes already read; name is for the detail. */
int fido2_credfile_parse(const char *name, const char *buf, size_t len,
    struct fido2_cred *out) OB_WUR;

/*
 * Devices.  fido2_dev_open opens path (a hidraw node, or in tests a name
 * the io hook knows); OB_ERR_DEVICE_MISSING / OB_ERR_DEVICE_PERMISSION for
 * the usual failures.  fido2_dev_find opens the one connected device that
 * holds the credential (silent probe, up=false), or fails with
 * OB_ERR_DEVICE_MISSING (none holds it) or OB_ERR_KEY_AMBIGUOUS.
 * fido2_dev_only opens the single connected device (keygen without dev=):
 * several are OB_ERR_KEY_AMBIGUOUS, never "the first one".
 */
/* fido_init(3) once per process; must precede other libfido2 calls. */
void fido2_init(void);
int fido2_dev_open(const char *path, fido_dev_t **out) OB_WUR;
int fido2_dev_find(const char *rp_id, const unsigned char *cred,
    size_t cred_len, fido_dev_t **out, char **path) OB_WUR;
int fido2_dev_only(fido_dev_t **out, char **path) OB_WUR;
void fido2_dev_close(fido_dev_t **devp);
/* The candidate device paths: the test list, or fido_dev_info_manifest. */
int fido2_dev_paths(char ***paths, size_t *n) OB_WUR;
void fido2_paths_free(char **paths, size_t n);

/* The io functions and device list set by a test program (or NULL). */
extern const fido_dev_io_t *fido2_test_io;
extern const char *const *fido2_test_paths;

/*
 * Translate a libfido2 status into an ob_err code with the FIDO_ERR name
 * in the detail ("getAssertion: FIDO_ERR_PIN_INVALID (0x31)").  For a
 * wrong PIN the device is asked for the retries left (dev may be NULL).
 */
int fido2_err(int fr, const char *what, fido_dev_t *dev) OB_WUR;

int fido2_keygen(const char *uri, const struct ob_token_opts *opts) OB_WUR;
/*
 * The makeCredential authenticatorData is ours: rpIdHash of rp_id
 * (OB_ERR_FIDO_RPID, also when shorter than the head), UP (OB_ERR_FIDO_UP),
 * UV when uv (OB_ERR_FIDO_UV), AT set and the whole structure well-formed
 * (OB_ERR_FIDO_AUTHDATA).
 */
int fido2_check_mc_authdata(const unsigned char *ad, size_t len,
    const char *rp_id, int uv) OB_WUR;

struct fido2_be {
	struct fido2_uri		 uri;
	struct fido2_cred		 cred;
	const struct ob_pin_source	*pin;	/* borrowed from the caller */
	int				 quiet;
};

int fido2_sign(struct fido2_be *be, const struct ob_sign_req *req,
    struct ob_sign_res *res) OB_WUR;

/* Read a PIN from the source; OB_ERR_PIN_SOURCE when there is none. */
int fido2_pin(const struct ob_pin_source *src, const char *prompt,
    char **pin) OB_WUR;

#endif
