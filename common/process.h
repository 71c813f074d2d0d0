/*
 * Process hygiene shared by the owner tool and the daemons: no core dumps,
 * an unprivileged user after binding, readiness datagrams to a supervisor.
 */
#ifndef OB_COMMON_PROCESS_H
#define OB_COMMON_PROCESS_H

#include "ownerbind/ob_err.h"

/*
 * ob_process_harden: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0, so that keys and
 * PINs never land in a core file and other processes of the same user
 * cannot ptrace this one.  Call first in main().  Best effort: a failing
 * call leaves the process as it was and is not reported.
 */
void ob_process_harden(void);

/*
 * ob_process_drop_user: when running as root and user is not NULL, switch
 * for good to user's uid, gid and only its primary group, and check that
 * root cannot be regained.  Not root: OB_OK when user is NULL or names the
 * current user, else OB_ERR_SVC_PRIVDROP.  Call after binding sockets and
 * reading root-only files.
 */
int ob_process_drop_user(const char *user) OB_WUR;

/*
 * ob_process_notify: send state ("READY=1", "RELOADING=1", ...) as one
 * datagram to $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace), the sd_notify(3) protocol.  OB_OK when NOTIFY_SOCKET is not
 * set; OB_ERR_IO when it is set and the datagram cannot be sent.
 */
int ob_process_notify(const char *state) OB_WUR;

#endif
