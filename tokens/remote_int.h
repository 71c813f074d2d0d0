/*
 * The launcher behind tokens/remote.c: a process forked from the daemon
 * before it sandboxes itself, which alone may start ownerbind-signer
 * (fork and exec are outside the daemon's seccomp allow-list, and a
 * helper started by a sandboxed process would inherit the sandbox).
 *
 * The daemon talks to it over a SOCK_SEQPACKET socketpair: one byte 'S'
 * asks for a (new) helper; the launcher kills and reaps the previous one,
 * starts `PROGRAM --config CONFIG --fd 3` on a new socketpair, and answers
 * with the helper's pid (8 bytes, big-endian) and the daemon's end of the
 * socketpair (SCM_RIGHTS), or with no descriptor if it could not.  The
 * launcher ends (and ends its helper) when the daemon's end of the
 * control socket closes.
 */
#ifndef OB_TOKENS_REMOTE_INT_H
#define OB_TOKENS_REMOTE_INT_H

#include <sys/types.h>

#include "ownerbind/ob_err.h"

struct ob_launcher {
	pid_t	pid;		/* the launcher, or 0 */
	int	ctl;		/* the daemon's end, or -1 */
	int	owed;		/* replies not yet taken (spawns that timed out) */
};

/* Fork the launcher.  OB_ERR_SIGNER_UNAVAILABLE (with the reason). */
int ob_launcher_start(const char *program, const char *config,
    struct ob_launcher *l) OB_WUR;
/* A new helper: its pid and the daemon's end of its socket. */
int ob_launcher_spawn(struct ob_launcher *l, int timeout_ms, int *fd,
    long *pid) OB_WUR;
/* Close the control socket and wait for the launcher (which ends the
 * helper); idempotent. */
void ob_launcher_stop(struct ob_launcher *l);

#endif
