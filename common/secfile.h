/*
 * The one writer of secret files: private keys (tokens/file.c), TPM key
 * blobs (tokens/tpm2/tpm2_keyfile.c), FIDO2 credential files
 * (tokens/fido2/fido2_credfile.c).  Every secret ownerbind puts on disk
 * goes through here, so that each is created the same way and nothing is
 * left behind when a write fails half way.
 */
#ifndef OB_COMMON_SECFILE_H
#define OB_COMMON_SECFILE_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/*
 * ob_secfile_write: put len bytes of data in a new file at path, mode
 * 0600 (less if the umask says so), never over anything already there.
 *
 * The bytes go to a temporary file in path's directory, created with
 * O_CREAT | O_EXCL | O_NOFOLLOW, then fsync'd, then link(2)ed to path,
 * then the directory is fsync'd: path is either absent or complete, and
 * an existing file, directory or symbolic link (dangling or not) at path
 * is never followed, replaced or changed.
 *
 * Returns OB_OK; OB_ERR_KEY_EXISTS when something exists at path;
 * OB_ERR_IO for any other failure (the detail names path and the
 * system's reason).  On failure neither path nor the temporary file is
 * left behind.  data stays the caller's: wiping it is the caller's job.
 * A crash between the link and the unlink of the temporary file can leave
 * ".NAME.XXXXXXXXXXXXXXXX.tmp" (mode 0600) next to path.
 */
int ob_secfile_write(const char *path, const void *data, size_t len) OB_WUR;

#endif
