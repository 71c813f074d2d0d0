/*
 * Process hygiene (common/process.h).  sd_notify is written by hand: the
 * protocol is one datagram on a unix socket (docs/decisions.md), and
 * libsystemd would be a dependency for that one call.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/process.h"
#include "core/err.h"

void
ob_process_harden(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
ob_process_drop_user(const char *user)
{
	struct passwd	*pw;

	if (user == NULL)
		return OB_OK;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return ob_errf(OB_ERR_SVC_PRIVDROP, "no user \"%s\"", user);
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return OB_OK;
		return ob_errf(OB_ERR_SVC_PRIVDROP,
		    "not root: cannot switch to \"%s\"", user);
	}
	if (pw->pw_uid == 0)
		return ob_errf(OB_ERR_SVC_PRIVDROP, "\"%s\" is root", user);
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		return ob_errf(OB_ERR_SVC_PRIVDROP, "%s: %s", user,
		    strerror(errno));
	/* A kernel or a seccomp policy that ignored the calls is caught here. */
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0)
		return ob_errf(OB_ERR_SVC_PRIVDROP, "root could be regained");
	/* A credential change resets dumpable to fs.suid_dumpable: again. */
	ob_process_harden();
	return OB_OK;
}

int
ob_process_notify(const char *state)
{
	struct sockaddr_un	 sa;
	const char		*path;
	size_t			 n;
	socklen_t		 salen;
	ssize_t			 w;
	int			 fd, r = OB_OK;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return OB_OK;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return ob_errf(OB_ERR_IO, "NOTIFY_SOCKET is not a unix socket");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '@' ? 0 : 1));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return ob_errf(OB_ERR_IO, "NOTIFY_SOCKET: %s", strerror(errno));
	w = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, salen);
	if (w < 0 || (size_t)w != strlen(state))
		r = ob_errf(OB_ERR_IO, "NOTIFY_SOCKET: %s", strerror(errno));
	close(fd);
	return r;
}
