/*
 * The Agent API's caller identity (proxy/peer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "proxy/peer.h"
#include "core/err.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD	77	/* Linux 6.5 */
#endif

/* Largest executable hashed: a bound on the work one connect can cause. */
#define EXE_MAX		(512L * 1024 * 1024)

static int
hash_fd(int fd, unsigned char out[32])
{
	EVP_MD_CTX	*md;
	unsigned char	 buf[65536];
	unsigned int	 n = 0;
	ssize_t		 k;
	long		 total = 0;
	int		 r = OB_ERR_PROXY_PEER_UNKNOWN;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return OB_ERR_ALLOC;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while ((k = read(fd, buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if ((total += k) > EXE_MAX ||
		    EVP_DigestUpdate(md, buf, (size_t)k) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32)
		r = OB_OK;
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* 1 when the process the pidfd pins is still alive (so its pid is its). */
static int
pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 ||
	    errno == EPERM;
}

int
ob_proxy_peer_creds(int fd, struct ob_proxy_peer *out, int *pidfdp)
{
	struct ucred	uc;
	socklen_t	len = sizeof(uc);
	int		pidfd = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof(uc) || uc.pid <= 0)
		return ob_errf(OB_ERR_PROXY_PEER_UNKNOWN, "SO_PEERCRED: %s",
		    strerror(errno));
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0)
		pidfd = -1;	/* an older kernel: the race stays open */
	memset(out, 0, sizeof(*out));
	out->pid = uc.pid;
	out->uid = uc.uid;
	out->gid = uc.gid;
	*pidfdp = pidfd;
	return OB_OK;
}

int
ob_proxy_peer_inspect(struct ob_proxy_peer *p, int pidfd, int want_hash)
{
	char	path[64];
	ssize_t	n;
	int	exefd = -1, r;

	(void)snprintf(path, sizeof(path), "/proc/%ld/exe", (long)p->pid);
	if ((n = readlink(path, p->exe, sizeof(p->exe) - 1)) > 0)
		p->exe[n] = '\0';
	else
		p->exe[0] = '\0';
	if (want_hash && (exefd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if ((r = hash_fd(exefd, p->sha256)) == OB_ERR_ALLOC)
			goto out;
		p->has_sha256 = r == OB_OK;
	}
	/* What was read belongs to the process that connected only if
	 * that process still lives: then no other one can hold its pid. */
	if (pidfd >= 0 && !pidfd_alive(pidfd)) {
		r = ob_errf(OB_ERR_PROXY_PEER_UNKNOWN, "pid %ld exited while "
		    "it was identified", (long)p->pid);
		goto out;
	}
	if (pidfd < 0 && kill(p->pid, 0) != 0 && errno == ESRCH) {
		r = ob_errf(OB_ERR_PROXY_PEER_UNKNOWN, "pid %ld is gone",
		    (long)p->pid);
		goto out;
	}
	r = OB_OK;
out:
	if (exefd >= 0)
		close(exefd);
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

int
ob_proxy_peer_identify(int fd, struct ob_proxy_peer *out)
{
	struct ob_proxy_peer	p;
	int			pidfd = -1, r;

	if ((r = ob_proxy_peer_creds(fd, &p, &pidfd)) != OB_OK ||
	    (r = ob_proxy_peer_inspect(&p, pidfd, 1)) != OB_OK)
		return r;
	*out = p;
	return OB_OK;
}

static int
uid_listed(const struct ob_proxy_agent *a, uid_t uid)
{
	size_t	i;

	for (i = 0; i < a->nuids; i++)
		if (a->uids[i] == uid)
			return 1;
	return 0;
}

static int
id_listed(const struct ob_proxy_agent *a, const char *id)
{
	size_t	i;

	for (i = 0; i < a->nids; i++)
		if (strcmp(a->ids[i], id) == 0)
			return 1;
	return 0;
}

int
ob_proxy_peer_match(const struct ob_proxy_config *cfg,
    const struct ob_proxy_peer *peer, const char *agent_id,
    const struct ob_proxy_agent **out)
{
	const char	*why = "no agents entry lists the id";
	size_t		 i;

	for (i = 0; i < cfg->nagents; i++) {
		const struct ob_proxy_agent *a = &cfg->agents[i];

		if (!id_listed(a, agent_id))
			continue;
		if (!uid_listed(a, peer->uid)) {
			why = "the uid is not listed for the id";
			continue;
		}
		if (a->exe != NULL && strcmp(a->exe, peer->exe) != 0) {
			why = "the executable is not the one listed for the id";
			continue;
		}
		if (a->has_exe_sha256 && (!peer->has_sha256 ||
		    memcmp(a->exe_sha256, peer->sha256, 32) != 0)) {
			why = "the executable's SHA-256 is not the one listed";
			continue;
		}
		*out = a;
		return OB_OK;
	}
	return ob_errf(OB_ERR_PROXY_PEER_DENIED, "pid %ld uid %lu exe %s: %s",
	    (long)peer->pid, (unsigned long)peer->uid,
	    peer->exe[0] != '\0' ? peer->exe : "(unreadable)", why);
}
