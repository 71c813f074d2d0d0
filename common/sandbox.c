/*
 * The daemons' sandbox (sandbox.h): Landlock through its system calls
 * (linux/landlock.h has no libc wrapper), seccomp through libseccomp.
 */
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>

#include "common/sandbox.h"
#include "core/err.h"

/* Rights of later ABIs than Debian 12's header knows (stable values). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER	1
#endif
#endif

/* ---- Landlock ---- */

#define LL_ABI1	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)
#define LL_READ	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* SQLite's database, WAL and journal files; the issuance record. */
#define LL_WRITE (LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_TRUNCATE)

/* The rights a rule on a file (not a directory) may carry. */
#define LL_FILE	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_IOCTL_DEV)

static int
ll_rule(int rs, const char *dir, uint64_t access, uint64_t handled)
{
	struct landlock_path_beneath_attr	pb;
	struct stat				st;
	int					fd, r = OB_OK;

	if ((fd = open(dir, O_PATH | O_CLOEXEC)) < 0)
		return ob_errf(OB_ERR_IO, "landlock: %s: %s", dir,
		    strerror(errno));
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access & handled;
	/* A file: that file alone, with the rights a file can have. */
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		pb.allowed_access &= LL_FILE;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb,
	    0) != 0)
		r = ob_errf(OB_ERR_INTERNAL, "landlock: rule for %s: %s", dir,
		    strerror(errno));
	close(fd);
	return r;
}

int
ob_sandbox_landlock(const char *const *ro, size_t nro,
    const char *const *rw, size_t nrw, char *what, size_t whatsz)
{
	struct landlock_ruleset_attr	 attr;
	uint64_t			 handled;
	size_t				 i, nr = 0, nw = 0;
	long				 abi;
	int				 rs, r;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		snprintf(what, whatsz, "landlock: not in force, the kernel "
		    "does not offer it (%s)", strerror(errno));
		return OB_OK;
	}
	handled = LL_ABI1;
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled;
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr), 0)) < 0)
		return ob_errf(OB_ERR_INTERNAL, "landlock: ruleset: %s",
		    strerror(errno));
	for (i = 0; i < nro; i++) {
		if (ro[i] == NULL)
			continue;
		OB_TRY(ll_rule(rs, ro[i], LL_READ, handled));
		nr++;
	}
	for (i = 0; i < nrw; i++) {
		if (rw[i] == NULL)
			continue;
		OB_TRY(ll_rule(rs, rw[i], LL_WRITE, handled));
		nw++;
	}
#ifdef SANITIZER
	/* LeakSanitizer reads /proc/self/maps and /proc/self/task at exit. */
	OB_TRY(ll_rule(rs, "/proc", LL_READ, handled));
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
		r = ob_errf(OB_ERR_INTERNAL, "landlock: restrict: %s",
		    strerror(errno));
		goto out;
	}
	snprintf(what, whatsz, "landlock ABI %ld: the filesystem is %zu "
	    "path%s to read and %zu to write", abi, nr, nr == 1 ? "" : "s",
	    nw);
	r = OB_OK;
out:
	close(rs);
	return r;
}

/* ---- seccomp ---- */

/* What a daemon does once it serves: its descriptors, memory, time. */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek",
	"close", "fstat", "newfstatat", "statx", "stat", "lstat", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "open", "openat",
	"unlink", "unlinkat", "ftruncate", "fsync", "fdatasync", "fcntl",
	/* An atomic replace (ownerbind-server's enrolled keys); Landlock
	 * decides in which directories. */
	"rename", "renameat", "renameat2",
	"flock", "fchown", "fchmod", "getdents64", "getcwd",
	"munmap", "mremap", "madvise", "brk",
	"futex", "sched_yield", "nanosleep", "clock_nanosleep",
	"clock_gettime", "clock_getres", "gettimeofday", "time", "sysinfo",
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"set_robust_list", "rseq",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "sigaltstack",
	"restart_syscall",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "select",
	"pselect6",
	"accept", "accept4", "recvfrom", "recvmsg", "sendto", "sendmsg",
	"shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"connect",
	"getrandom",
	"wait4",		/* the signer's launcher, at exit */
	"exit", "exit_group",
	NULL
};

#ifdef SANITIZER
/*
 * The sanitizers' runtimes: LeakSanitizer stops the world at exit with a
 * cloned tracer, ptrace and /proc; a report runs the symbolizer.  These
 * builds are for finding memory errors, not for the sandbox's refusals,
 * which the ordinary build tests.
 */
static const char *const allowed_sanitizer[] = {
	"clone", "clone3", "ptrace", "waitid", "prctl", "sched_getaffinity",
	"getdents", "fork", "vfork", "execve",
	"prlimit64", "getrlimit", "setrlimit", "mincore", "pipe2", "dup",
	"dup2", "dup3", "kill", "tgkill", "tkill", "uname", "getppid",
	"mmap", "mprotect", "personality", "arch_prctl",
	NULL
};
#endif

static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	static const char	 msg[] = "seccomp: system call ";
	static const char	 tail[] = " is outside the allow-list (the "
	    "daemon's \"sandbox\" member turns it off)\n";
	struct sigaction	 sa;
	char			 num[16];
	int			 i = (int)sizeof(num), n = si->si_syscall;

	(void)ctx;
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0 && i > 0);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)!write(STDERR_FILENO, num + i, sizeof(num) - (size_t)i);
	(void)!write(STDERR_FILENO, tail, sizeof(tail) - 1);
	/* Die of the signal, as a supervisor expects. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(sig, &sa, NULL);
	(void)syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
}

static int
allow_list(scmp_filter_ctx ctx, const char *const *names)
{
	size_t	i;
	int	nr;

	for (i = 0; names[i] != NULL; i++) {
		/* A name this architecture does not have: nothing to allow. */
		if ((nr = seccomp_syscall_resolve_name(names[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return ob_errf(OB_ERR_INTERNAL, "seccomp: %s",
			    names[i]);
	}
	return OB_OK;
}

#define SB_TCP		0x1	/* TCP out (libcurl) */
#define SB_THREADS	0x2	/* threads started while serving */

static int
seccomp_install(int flags)
{
	struct sigaction	 sa;
	scmp_filter_ctx		 ctx;
	int			 r, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		return ob_errf(OB_ERR_INTERNAL, "seccomp: SIGSYS handler");
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		return ob_errf(OB_ERR_INTERNAL, "seccomp_init");
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
		r = ob_errf(OB_ERR_INTERNAL, "seccomp: cannot filter every "
		    "thread");
		goto out;
	}
	OB_TRY(allow_list(ctx, allowed));
#ifdef SANITIZER
	OB_TRY(allow_list(ctx, allowed_sanitizer));
#else
	/* Memory, but never executable memory: no code is loaded now. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* abort() signals itself. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
	if (rc != 0) {
		r = ob_errf(OB_ERR_INTERNAL, "seccomp: memory rules");
		goto out;
	}
#endif
	/* Unix sockets only (the signer's socket, sd_notify): no new TCP. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	/* libevent asks how much a socket holds; no other ioctl. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0));
	/* A daemon that calls another (the gateway, libcurl): TCP out, and
	 * libcurl's wake-up socket pair. */
	if (flags & SB_TCP) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET, 0));
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0));
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	}
	/* A daemon that starts a thread per request (ownerbind-proxy):
	 * clone for threads only (never a new process), clone3 says
	 * ENOSYS (its flags are in memory a filter cannot read) so glibc
	 * falls back to clone; the peer's liveness through its pidfd, or
	 * kill with signal 0 on kernels without one. */
	if (flags & SB_THREADS) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(pidfd_send_signal), 1,
		    SCMP_A1(SCMP_CMP_EQ, 0, 0));
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		    SCMP_A1(SCMP_CMP_EQ, 0, 0));
	}
	if (rc != 0) {
		r = ob_errf(OB_ERR_INTERNAL, "seccomp: socket rules");
		goto out;
	}
	if ((rc = seccomp_load(ctx)) != 0) {
		r = ob_errf(OB_ERR_INTERNAL, "seccomp_load: %s",
		    strerror(-rc));
		goto out;
	}
	r = OB_OK;
out:
	seccomp_release(ctx);
	return r;
}

int
ob_sandbox_seccomp(void)
{
	return seccomp_install(0);
}

int
ob_sandbox_seccomp_tcp_client(void)
{
	return seccomp_install(SB_TCP);
}

int
ob_sandbox_seccomp_proxy(void)
{
	return seccomp_install(SB_TCP | SB_THREADS);
}
