/*
 * common/secmem.c: page-aligned, zeroed, out of core dumps (the "dd"
 * VmFlag in /proc/self/smaps), fenced by pages that fault, wiped by
 * ob_secmem_wipe; and tokens/pin.c holds its PINs there.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/secmem.h"
#include "core/err.h"
#include "tokens/pin.h"

static size_t
page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * The VmFlags line of the mapping of /proc/self/smaps that holds p, in
 * flags (" rd wr mr mw me dd ..."); 0 when found.
 */
static int
vmflags(const void *p, char *flags, size_t flagsz)
{
	char		 line[512];
	unsigned long	 lo, hi;
	uintptr_t	 a = (uintptr_t)p;
	FILE		*f;
	int		 in = 0, r = -1;

	if ((f = fopen("/proc/self/smaps", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			(void)snprintf(flags, flagsz, "%s ", line + 8);
			flags[strcspn(flags, "\n")] = ' ';
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static void
test_aligned_zeroed(void **state)
{
	static const size_t	 sizes[] = { 0, 1, 257, 4095, 4096, 4097,
	    3 * 4096 + 5 };
	unsigned char		*p;
	size_t			 i, j, n;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		assert_non_null(p = ob_secmem_alloc(n));
		assert_int_equal((uintptr_t)p % page(), 0);
		for (j = 0; j < n; j++)
			assert_int_equal(p[j], 0);
		memset(p, 0xa5, n);	/* every byte asked for is writable */
		ob_secmem_free(p);
	}
	ob_secmem_free(NULL);
}

static void
test_dontdump(void **state)
{
	char	 flags[512];
	void	*p;

	(void)state;
	assert_non_null(p = ob_secmem_alloc(64));
	assert_int_equal(vmflags(p, flags, sizeof(flags)), 0);
	assert_non_null(strstr(flags, " dd "));
	ob_secmem_free(p);

	/* The probe itself tells: ordinary heap memory has no "dd". */
	assert_non_null(p = malloc(64));
	assert_int_equal(vmflags(p, flags, sizeof(flags)), 0);
	assert_null(strstr(flags, " dd "));
	free(p);
}

static void
test_overflow(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ob_secmem_alloc(SIZE_MAX));
	assert_int_equal(errno, ENOMEM);
	assert_null(ob_secmem_alloc(SIZE_MAX - page()));
}

static void
test_wipe(void **state)
{
	unsigned char	buf[300];
	size_t		i;

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	ob_secmem_wipe(buf + 10, 256);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], i < 10 || i >= 266 ? 0x5a : 0);
	ob_secmem_wipe(NULL, 10);
}

/* 0 when fn(p) was killed by SIGSEGV in a child. */
static int
faults(void (*fn)(volatile unsigned char *), volatile unsigned char *p)
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		fn(p);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? 0 : 1;
}

static void
write_before(volatile unsigned char *p)
{
	p[-1] = 1;
}

static void
write_after(volatile unsigned char *p)
{
	p[page()] = 1;		/* one page of data for 100 bytes */
}

static void
test_guards(void **state)
{
	unsigned char *p;

	(void)state;
	assert_non_null(p = ob_secmem_alloc(100));
	assert_int_equal(faults(write_before, p), 0);
	assert_int_equal(faults(write_after, p), 0);
	ob_secmem_free(p);
}

/* tokens/pin.c: the PIN it hands out lives in a secmem mapping. */
static void
test_pin_in_secmem(void **state)
{
	struct ob_pin_source	*src = NULL;
	char			 flags[512];
	char			*pin = NULL;

	(void)state;
	assert_int_equal(setenv("OB_TEST_PIN", "123456", 1), 0);
	assert_int_equal(ob_pin_source_parse("env:OB_TEST_PIN", &src), OB_OK);
	assert_int_equal(ob_pin_read(src, "PIN: ", &pin), OB_OK);
	assert_string_equal(pin, "123456");
	assert_int_equal((uintptr_t)pin % page(), 0);
	assert_int_equal(vmflags(pin, flags, sizeof(flags)), 0);
	assert_non_null(strstr(flags, " dd "));
	ob_pin_free(&pin);
	assert_null(pin);
	ob_pin_source_free(&src);
}

/* A PIN given where its source belongs is never repeated in the error. */
static void
test_pin_source_not_echoed(void **state)
{
	static const char *const bad[] = { "Sgnr-PIN-7c41d9e2",
	    "fd:7c41d9e2", "file:", "env:" };
	struct ob_pin_source	*src = NULL;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ob_err_clear();
		assert_int_equal(ob_pin_source_parse(bad[i], &src),
		    OB_ERR_PIN_SOURCE);
		assert_null(src);
		assert_null(strstr(ob_err_detail(), "7c41d9e2"));
	}
	assert_non_null(strstr(ob_err_detail(), "not a PIN source"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aligned_zeroed),
		cmocka_unit_test(test_dontdump),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_pin_in_secmem),
		cmocka_unit_test(test_pin_source_not_echoed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
