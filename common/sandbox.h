/*
 * The network-facing daemons' sandbox, entered once startup is done (the
 * signer helper running, files open, listeners bound, the user switched):
 *
 *   Landlock (best effort): the filesystem shrinks to the directories the
 *   daemon reads again (TLS files and the trust store, on SIGHUP) and
 *   writes (replay state, issuance record).  Landlock restricts the
 *   calling thread and the threads it creates later, so it is entered
 *   before the daemon starts any thread.  A kernel without it is said so
 *   in the result, not an error.
 *
 *   seccomp (libseccomp): an allow-list of the system calls a running
 *   daemon makes (I/O on descriptors it has, accept, the descriptor
 *   passing of its signer's launcher, memory, time, signals, fsync, file
 *   opens within Landlock's reach); everything else (exec, fork, ptrace,
 *   new TCP sockets, bind, mount, setuid, ...) raises SIGSYS, which prints
 *   the system call's number and ends the process.  All threads are
 *   filtered.  Builds with a sanitizer allow what its runtime needs too.
 *
 * The helper (ownerbind-signer) is not sandboxed this way: vendor PKCS#11
 * modules make arbitrary system calls.
 */
#ifndef OB_COMMON_SANDBOX_H
#define OB_COMMON_SANDBOX_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

/*
 * Restrict the filesystem to reading below ro[0..nro) and reading and
 * writing below rw[0..nrw) (directories, or single files, which are then
 * all that is granted there; NULL entries are skipped).
 * OB_OK with what (a sentence for the log: "landlock ABI 3: ..." or why
 * it is not in force); OB_ERR_IO when a directory cannot be opened,
 * OB_ERR_INTERNAL when the kernel refuses a rule it offered.
 */
int ob_sandbox_landlock(const char *const *ro, size_t nro,
    const char *const *rw, size_t nrw, char *what, size_t whatsz) OB_WUR;

/*
 * Install the allow-list on every thread of the process.  OB_ERR_INTERNAL
 * (with libseccomp's reason) when it cannot; the process is then not
 * filtered.
 */
int ob_sandbox_seccomp(void) OB_WUR;
/*
 * The same for a daemon that also calls another over TCP (the gateway's
 * libcurl client): new AF_INET and AF_INET6 sockets and an AF_UNIX
 * socketpair are allowed too; bind and listen are still not.
 */
int ob_sandbox_seccomp_tcp_client(void) OB_WUR;
/*
 * The same for ownerbind-proxy, which also starts a thread per request:
 * clone with CLONE_THREAD (never a new process; clone3 fails with
 * ENOSYS so glibc uses clone), pidfd_send_signal and kill with signal 0
 * (is the caller still alive).
 */
int ob_sandbox_seccomp_proxy(void) OB_WUR;

#endif
