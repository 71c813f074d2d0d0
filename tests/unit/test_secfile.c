/*
 * common/secfile.c: a new 0600 file with exactly the bytes, or nothing at
 * all (and no temporary file) when anything is already there or the
 * directory refuses.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/secfile.h"
#include "core/err.h"

#define SECRET		"-----BEGIN PRIVATE KEY-----\nnot really\n"
#define NOBODY		65534

struct dir {
	char	path[64];
	char	file[96];
};

static int
setup(void **state)
{
	struct dir *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	(void)snprintf(d->path, sizeof(d->path), "/tmp/ob-secfile.XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	(void)snprintf(d->file, sizeof(d->file), "%s/key.pem", d->path);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	struct dir	*d = *state;
	struct dirent	*e;
	DIR		*dp;
	char		 p[PATH_MAX];

	if ((dp = opendir(d->path)) != NULL) {
		while ((e = readdir(dp)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			(void)snprintf(p, sizeof(p), "%s/%s", d->path,
			    e->d_name);
			(void)unlink(p);
		}
		closedir(dp);
	}
	(void)rmdir(d->path);
	free(d);
	return 0;
}

/* Entries in dir other than . and ..; the temporary file would count. */
static int
entries(const char *dir)
{
	struct dirent	*e;
	DIR		*dp;
	int		 n = 0;

	assert_non_null(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void
assert_content(const char *path, const char *want)
{
	char	buf[256];
	FILE	*f;
	size_t	n;

	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_new_file(void **state)
{
	struct dir	*d = *state;
	struct stat	 st;

	assert_int_equal(ob_secfile_write(d->file, SECRET, strlen(SECRET)),
	    OB_OK);
	assert_int_equal(lstat(d->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_nlink, 1);	/* the temporary name is gone */
	assert_content(d->file, SECRET);
	assert_int_equal(entries(d->path), 1);
}

static void
test_bare_name(void **state)
{
	struct dir	*d = *state;
	char		 cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(d->path), 0);
	assert_int_equal(ob_secfile_write("bare.pem", "x", 1), OB_OK);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(entries(d->path), 1);
}

static void
test_existing_file(void **state)
{
	struct dir	*d = *state;
	FILE		*f;

	assert_non_null(f = fopen(d->file, "w"));
	fputs("old\n", f);
	fclose(f);
	assert_int_equal(ob_secfile_write(d->file, SECRET, strlen(SECRET)),
	    OB_ERR_KEY_EXISTS);
	assert_content(d->file, "old\n");
	assert_int_equal(entries(d->path), 1);
}

static void
test_symlink(void **state)
{
	struct dir	*d = *state;
	struct stat	 st;
	char		 target[128];

	/* Dangling: the target must not be created through the link. */
	(void)snprintf(target, sizeof(target), "%s/target", d->path);
	assert_int_equal(symlink(target, d->file), 0);
	assert_int_equal(ob_secfile_write(d->file, SECRET, strlen(SECRET)),
	    OB_ERR_KEY_EXISTS);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(entries(d->path), 1);

	/* To an existing file: that file keeps its content. */
	assert_int_equal(unlink(d->file), 0);
	assert_int_equal(symlink("/etc/hostname", d->file), 0);
	assert_int_equal(ob_secfile_write(d->file, SECRET, strlen(SECRET)),
	    OB_ERR_KEY_EXISTS);
	assert_int_equal(lstat(d->file, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(entries(d->path), 1);
}

static void
test_directory_at_path(void **state)
{
	struct dir *d = *state;

	assert_int_equal(mkdir(d->file, 0700), 0);
	assert_int_equal(ob_secfile_write(d->file, SECRET, strlen(SECRET)),
	    OB_ERR_KEY_EXISTS);
	assert_int_equal(rmdir(d->file), 0);
	assert_int_equal(entries(d->path), 0);
}

/*
 * A directory the writer may not write to.  Root is not bound by the mode
 * bits, so as root the write runs in a child that became nobody.
 */
static void
test_unwritable_dir(void **state)
{
	struct dir	*d = *state;
	pid_t		 pid;
	int		 status, r;

	assert_int_equal(chmod(d->path, 0555), 0);
	if (geteuid() != 0) {
		r = ob_secfile_write(d->file, SECRET, strlen(SECRET));
		assert_int_equal(r, OB_ERR_IO);
		assert_non_null(strstr(ob_err_detail(), d->file));
	} else {
		assert_true((pid = fork()) >= 0);
		if (pid == 0) {
			if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
				_exit(2);
			r = ob_secfile_write(d->file, SECRET, strlen(SECRET));
			_exit(r == OB_ERR_IO ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(chmod(d->path, 0700), 0);
	assert_int_equal(entries(d->path), 0);
}

static void
test_missing_dir(void **state)
{
	struct dir	*d = *state;
	char		 p[160];

	(void)snprintf(p, sizeof(p), "%s/no/such/key.pem", d->path);
	assert_int_equal(ob_secfile_write(p, SECRET, strlen(SECRET)),
	    OB_ERR_IO);
	assert_int_equal(ob_secfile_write("", SECRET, 1), OB_ERR_IO);
	assert_int_equal(ob_secfile_write("dir/", SECRET, 1), OB_ERR_IO);
	assert_int_equal(entries(d->path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_existing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_at_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
