/*
 * The launcher (remote_int.h): the only part of a daemon that may start a
 * process, because it is forked before the daemon is sandboxed.  It holds
 * no key and parses nothing but one command byte.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/deconst.h"
#include "core/err.h"
#include "tokens/remote_int.h"

#define CTL_FD		3	/* the launcher's control socket */
#define HELPER_FD	3	/* the helper's socket, in the helper */

/* Close every descriptor from lo up, without the libc's opinion. */
static void
close_from(int lo)
{
	int fd;

	if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0) == 0)
		return;
	for (fd = lo; fd < 1024; fd++)
		(void)close(fd);
}

static long long
mono_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* End a helper: SIGTERM, up to two seconds, then SIGKILL. */
static void
end_helper(pid_t pid, int sig)
{
	int i, st;

	if (pid <= 0)
		return;
	(void)kill(pid, sig);
	for (i = 0; sig != SIGKILL && i < 200; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		sleep_ms(10);
	}
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static void
reply(pid_t pid, int fd)
{
	struct msghdr	 m;
	struct cmsghdr	*c;
	struct iovec	 iov;
	uint8_t		 b[8];
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	}		 u;
	int		 i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)pid >> (56 - 8 * i));
	memset(&m, 0, sizeof(m));
	iov.iov_base = b;
	iov.iov_len = sizeof(b);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)sendmsg(CTL_FD, &m, MSG_NOSIGNAL);
}

static pid_t
spawn(const char *program, const char *config, int *fd)
{
	/* execv does not write through its argv */
	char *const	 argv[] = { OB_DECONST(char *, program),
	    OB_DECONST(char *, "--config"), OB_DECONST(char *, config),
	    OB_DECONST(char *, "--fd"), OB_DECONST(char *, "3"), NULL };
	pid_t		 pid;
	int		 sv[2];

	*fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	if (pid == 0) {
		/* dup2 clears close-on-exec; the control socket goes. */
		if (dup2(sv[1], HELPER_FD) != HELPER_FD)
			_exit(127);
		close_from(HELPER_FD + 1);
		execv(program, argv);
		_exit(127);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static void __attribute__((noreturn))
launcher_main(const char *program, const char *config)
{
	sigset_t	all;
	pid_t		helper = 0;
	uint8_t		cmd;
	ssize_t		n;
	int		fd;

	(void)sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_IGN);	/* the daemon's terminal's ^C */
	(void)signal(SIGHUP, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	(void)prctl(PR_SET_NAME, "signer-launch");
	for (;;) {
		n = recv(CTL_FD, &cmd, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || cmd != 'S')
			break;
		end_helper(helper, SIGKILL);
		helper = spawn(program, config, &fd);
		reply(helper, fd);
		if (fd >= 0)
			close(fd);
	}
	end_helper(helper, SIGTERM);
	_exit(0);
}

int
ob_launcher_start(const char *program, const char *config,
    struct ob_launcher *l)
{
	pid_t	pid;
	int	sv[2];

	l->pid = 0;
	l->ctl = -1;
	l->owed = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "socketpair: %s",
		    strerror(errno));
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "fork: %s",
		    strerror(errno));
	}
	if (pid == 0) {
		/* Nothing of the daemon's but stdio and the control socket. */
		if (dup2(sv[1], CTL_FD) != CTL_FD)
			_exit(1);
		close_from(CTL_FD + 1);
		launcher_main(program, config);
	}
	close(sv[1]);
	l->pid = pid;
	l->ctl = sv[0];
	return OB_OK;
}

/*
 * One reply of the launcher: the helper's pid and the daemon's end of its
 * socket.  *late is set when nothing came in time (the reply may still
 * come, and is then owed).
 */
static int
recv_reply(struct ob_launcher *l, long long deadline, int *fdp, long *pidp,
    int *late)
{
	struct msghdr	 m;
	struct cmsghdr	*c;
	struct iovec	 iov;
	struct pollfd	 pfd;
	uint8_t		 b[8];
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	}		 u;
	uint64_t	 pid = 0;
	long long	 left;
	ssize_t		 n;
	int		 fd = -1, i;

	*late = 0;
	left = deadline - mono_now_ms();
	pfd.fd = l->ctl;
	pfd.events = POLLIN;
	if (left <= 0 || poll(&pfd, 1, (int)left) != 1) {
		*late = 1;
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the launcher did "
		    "not answer");
	}
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	iov.iov_base = b;
	iov.iov_len = sizeof(b);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	while ((n = recvmsg(l->ctl, &m, MSG_CMSG_CLOEXEC)) < 0 &&
	    errno == EINTR)
		;
	for (c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; c != NULL;
	    c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (n != (ssize_t)sizeof(b) || (m.msg_flags & MSG_CTRUNC) != 0 ||
	    fd < 0) {
		if (fd >= 0)
			close(fd);
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the launcher could "
		    "not start the helper");
	}
	for (i = 0; i < 8; i++)
		pid = pid << 8 | b[i];
	*fdp = fd;
	*pidp = (long)pid;
	return OB_OK;
}

/*
 * The launcher answers its requests in order.  A spawn that gave up
 * waiting leaves its reply owed: the next spawn takes and closes the
 * owed replies first (the launcher ends that helper when it starts the
 * next), so no daemon ever talks to a helper meant for an earlier,
 * abandoned request.
 */
int
ob_launcher_spawn(struct ob_launcher *l, int timeout_ms, int *fdp,
    long *pidp)
{
	long long	 deadline = mono_now_ms() + timeout_ms;
	long		 pid;
	uint8_t		 cmd = 'S';
	int		 fd, late, r;

	if (l->ctl < 0)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "no launcher");
	if (send(l->ctl, &cmd, 1, MSG_NOSIGNAL) != 1)
		return ob_errf(OB_ERR_SIGNER_UNAVAILABLE, "the launcher is "
		    "gone: %s", strerror(errno));
	l->owed++;
	while (l->owed > 1) {
		r = recv_reply(l, deadline, &fd, &pid, &late);
		if (late)
			return r;
		l->owed--;
		if (r == OB_OK)
			close(fd);
	}
	r = recv_reply(l, deadline, fdp, pidp, &late);
	if (!late)
		l->owed--;
	return r;
}

void
ob_launcher_stop(struct ob_launcher *l)
{
	int st;

	if (l->ctl >= 0) {
		close(l->ctl);
		l->ctl = -1;
	}
	if (l->pid > 0) {
		while (waitpid(l->pid, &st, 0) < 0 && errno == EINTR)
			;
		l->pid = 0;
	}
}
