/*
 * common/sandbox.c, in child processes: after ob_sandbox_seccomp a system
 * call outside the allow-list ends the process with SIGSYS (and says
 * which), the ones a daemon makes still work; after ob_sandbox_landlock
 * only the directories given can be read or written.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/deconst.h"
#include "tests/unit/obtest.h"
#include "common/sandbox.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER	1
#endif
#endif

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-sandbox.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);	/* lint: ok: our mkdtemp */
	return 0;
}

/*
 * Run fn in a child with stderr captured; the child's wait status and
 * its stderr (into err).
 */
static int
in_child(int (*fn)(void), char *err, size_t errsz)
{
	ssize_t	n;
	size_t	got = 0;
	pid_t	pid;
	int	p[2], st;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		_exit(fn());
	}
	assert_true(pid > 0);
	close(p[1]);
	while (got + 1 < errsz && (n = read(p[0], err + got, errsz - got -
	    1)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int
seccomp_status(void)
{
	char	 line[128];
	FILE	*f = fopen("/proc/self/status", "r");
	int	 v = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Seccomp:", 8) == 0)
			v = (int)strtol(line + 8, NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

/* What a serving daemon does: all of it must still work. */
static int
child_allowed(void)
{
	struct timespec	 ts;
	unsigned char	 rnd[16];
	char		 path[128], buf[8];
	void		*m;
	int		 fd;

	if (seccomp_status() != 0 || ob_sandbox_seccomp() != OB_OK ||
	    seccomp_status() != 2)
		return 10;
	snprintf(path, sizeof(path), "%s/allowed", dir);
	if ((fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, "abc", 3) != 3 || fsync(fd) != 0 ||
	    pread(fd, buf, 3, 0) != 3 || ftruncate(fd, 1) != 0 ||
	    close(fd) != 0 || unlink(path) != 0)
		return 11;
	if ((m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED || munmap(m, 1 << 20) != 0)
		return 12;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 ||
	    getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 13;
	/* Unix sockets (the signer's, sd_notify) are allowed. */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    close(fd) != 0)
		return 15;
	return 0;
}

static int
child_tcp(void)
{
	if (ob_sandbox_seccomp() != OB_OK)
		return 10;
	(void)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 0;	/* not reached */
}

#ifndef SANITIZER
static int
child_exec(void)
{
	char *const argv[] = { OB_DECONST(char *, "/bin/true"), NULL };

	if (ob_sandbox_seccomp() != OB_OK)
		return 10;
	execv("/bin/true", argv);
	return 0;
}

static int
child_fork(void)
{
	if (ob_sandbox_seccomp() != OB_OK)
		return 10;
	(void)syscall(SYS_fork);
	return 0;
}

static int
child_exec_memory(void)
{
	if (ob_sandbox_seccomp() != OB_OK)
		return 10;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	return 0;
}
#endif

static void
test_seccomp_allows(void **state)
{
	char	err[512];
	int	st;

	(void)state;
	st = in_child(child_allowed, err, sizeof(err));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("status %#x, stderr: %s", st, err);
}

static void
expect_sigsys(int (*fn)(void), const char *nr, const char *what)
{
	char	err[512];
	int	st;

	print_message("outside the allow-list: %s\n", what);
	st = in_child(fn, err, sizeof(err));
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: status %#x, stderr: %s", what, st, err);
	assert_non_null(strstr(err, "seccomp: system call "));
	assert_non_null(strstr(err, nr));
}

static void
test_seccomp_refuses(void **state)
{
	char nr[32];

	(void)state;
	snprintf(nr, sizeof(nr), "call %d is outside", SYS_socket);
	expect_sigsys(child_tcp, nr, "a TCP socket");
#ifndef SANITIZER
	/* A sanitizer build lets its runtime run the symbolizer. */
	snprintf(nr, sizeof(nr), "call %d is outside", SYS_execve);
	expect_sigsys(child_exec, nr, "execve");
	snprintf(nr, sizeof(nr), "call %d is outside", SYS_fork);
	expect_sigsys(child_fork, nr, "fork");
	snprintf(nr, sizeof(nr), "call %d is outside", SYS_mmap);
	expect_sigsys(child_exec_memory, nr, "executable memory");
#endif
}

static char ro_dir[128], rw_dir[128];

static int
child_landlock(void)
{
	const char	*ro[] = { ro_dir }, *rw[] = { rw_dir };
	char		 what[256], path[160];
	int		 fd;

	if (ob_sandbox_landlock(ro, 1, rw, 1, what, sizeof(what)) != OB_OK)
		return 10;
	if (strstr(what, "not in force") != NULL)
		return 77;
	snprintf(path, sizeof(path), "%s/file", ro_dir);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 11;
	close(fd);
	if (open(path, O_WRONLY) >= 0 || errno != EACCES)
		return 12;
	snprintf(path, sizeof(path), "%s/new", ro_dir);
	if (open(path, O_CREAT | O_WRONLY, 0600) >= 0 || errno != EACCES)
		return 13;
	snprintf(path, sizeof(path), "%s/new", rw_dir);
	if ((fd = open(path, O_CREAT | O_RDWR, 0600)) < 0 ||
	    ftruncate(fd, 0) != 0)
		return 14;
	close(fd);
	if (unlink(path) != 0)
		return 15;
	if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		return 16;
	if (open(dir, O_RDONLY | O_DIRECTORY) >= 0 || errno != EACCES)
		return 17;
	return 0;
}

/* An empty file at path. */
static void
touch(const char *path)
{
	int fd;

	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
}

/* fn in a child: 0, or 77 (skipped: no Landlock); else the check. */
static void
expect_landlock(int (*fn)(void))
{
	char	err[512];
	int	st;

	st = in_child(fn, err, sizeof(err));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		print_message("skipped: this kernel has no Landlock\n");
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("status %#x (check %d), stderr: %s", st,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1, err);
}

static void
test_landlock(void **state)
{
	char	path[160];

	(void)state;
	snprintf(ro_dir, sizeof(ro_dir), "%s/ro", dir);
	snprintf(rw_dir, sizeof(rw_dir), "%s/rw", dir);
	assert_int_equal(mkdir(ro_dir, 0700), 0);
	assert_int_equal(mkdir(rw_dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/file", ro_dir);
	touch(path);
	expect_landlock(child_landlock);
}

static char ro_file[160], ro_other[160];

/* A rule on one file grants that file alone, to read. */
static int
child_landlock_file(void)
{
	const char	*ro[] = { ro_file };
	char		 what[256];
	int		 fd;

	if (ob_sandbox_landlock(ro, 1, NULL, 0, what, sizeof(what)) != OB_OK)
		return 10;
	if (strstr(what, "not in force") != NULL)
		return 77;
	if (strstr(what, "1 path to read and 0 to write") == NULL)
		return 11;
	if ((fd = open(ro_file, O_RDONLY)) < 0)
		return 12;
	close(fd);
	if (open(ro_file, O_WRONLY) >= 0 || errno != EACCES)
		return 13;
	/* Its neighbour and its directory are outside. */
	if (open(ro_other, O_RDONLY) >= 0 || errno != EACCES)
		return 14;
	if (open(ro_dir, O_RDONLY | O_DIRECTORY) >= 0 || errno != EACCES)
		return 15;
	return 0;
}

static void
test_landlock_file(void **state)
{
	(void)state;
	snprintf(ro_dir, sizeof(ro_dir), "%s/fro", dir);
	assert_int_equal(mkdir(ro_dir, 0700), 0);
	snprintf(ro_file, sizeof(ro_file), "%s/ca.pem", ro_dir);
	snprintf(ro_other, sizeof(ro_other), "%s/key.pin", ro_dir);
	touch(ro_file);
	touch(ro_other);
	expect_landlock(child_landlock_file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_allows),
		cmocka_unit_test(test_seccomp_refuses),
		cmocka_unit_test(test_landlock),
		cmocka_unit_test(test_landlock_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
