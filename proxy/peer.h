/*
 * Who is calling the Agent API: the kernel's word for the process at the
 * other end of the unix socket (SO_PEERCRED: uid, gid, pid), the path of
 * its executable and the SHA-256 of the executable's contents, and the
 * match against the configured agent entries (docs/proxy.md, "Who may
 * ask").
 *
 * What this stops and what it does not (docs/proxy.md, "Races"):
 * - the uid and gid are the kernel's, taken when the agent connected:
 *   they cannot be forged and are the real boundary;
 * - the executable is read through /proc/PID/exe, which names the file
 *   the process runs (not a path an attacker can swap afterwards), and
 *   is hashed through that open file;
 * - pid reuse: the pid is pinned with a pidfd (SO_PEERPIDFD), and the
 *   pidfd is checked to be alive after /proc/PID/exe was opened, so the
 *   file read is that of the process that connected, not of a process
 *   that got its pid later;
 * - not stopped: a process of an allowed uid that connects and then
 *   execs an allowed executable while a child keeps the socket: the
 *   check sees the allowed executable.  The executable check therefore
 *   separates programs of one uid only against accidents and
 *   honest-but-different programs; processes of one uid are one trust
 *   domain, as they can ptrace each other.  The credential is bound to
 *   the agent's key (cnf), so a process that obtains it still cannot use
 *   it without that key.
 */
#ifndef OB_PROXY_PEER_H
#define OB_PROXY_PEER_H

#include <sys/types.h>

#include "ownerbind/ob_err.h"
#include "proxy/proxy_config.h"

struct ob_proxy_peer {
	pid_t		 pid;
	uid_t		 uid;
	gid_t		 gid;
	char		 exe[4096];	/* "" when unreadable */
	int		 has_sha256;
	unsigned char	 sha256[32];
};

/*
 * Identify the process connected on fd, a unix stream socket.
 * OB_ERR_PROXY_PEER_UNKNOWN when the kernel gives no credentials or the
 * process is gone.  An executable that cannot be read (another uid's
 * process when the proxy is not root, say) leaves exe "" and has_sha256
 * 0: only entries without exe and exe_sha256 can match such a caller.
 */
int ob_proxy_peer_identify(int fd, struct ob_proxy_peer *out) OB_WUR;

/*
 * The same in two steps, for a daemon that must not read /proc on its
 * event loop: ob_proxy_peer_creds (cheap, while the connection is
 * certainly the request's) fills uid, gid and pid and sets *pidfd (-1
 * when the kernel has no SO_PEERPIDFD); ob_proxy_peer_inspect (on any
 * thread) reads the executable's path, and its SHA-256 when want_hash
 * (it costs a read of the whole file, so only when an entry asks for
 * it), and closes pidfd whatever it returns.
 */
int ob_proxy_peer_creds(int fd, struct ob_proxy_peer *out, int *pidfd)
    OB_WUR;
int ob_proxy_peer_inspect(struct ob_proxy_peer *p, int pidfd,
    int want_hash) OB_WUR;

/*
 * The first agent entry that lists agent_id and whose uid and
 * executable conditions the peer meets: OB_OK and *out, or
 * OB_ERR_PROXY_PEER_DENIED with a detail that says which condition
 * failed (never which other ids exist).
 */
int ob_proxy_peer_match(const struct ob_proxy_config *cfg,
    const struct ob_proxy_peer *peer, const char *agent_id,
    const struct ob_proxy_agent **out) OB_WUR;

#endif
