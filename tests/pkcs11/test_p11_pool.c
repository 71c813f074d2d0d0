/*
 * test_p11_pool URI FAULT_MODULE_PATH: the session pool keeps signing while
 * the token is reset, reported removed and finalized under it (faults
 * injected by tests/pkcs11/p11fault.c around SoftHSM2), from several
 * threads, and after fork() in the child.  Every signature is verified.
 * Exit 0 on success.  Run it under ThreadSanitizer or helgrind too.
 */
#include <sys/wait.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alg.h"
#include "core/err.h"
#include "pkcs11/ob_p11.h"

#define NTHREADS	4

static struct ob_p11_pool	*pool;
static EVP_PKEY			*pub;
static atomic_int		 stop, failures;
static atomic_long		 done[NTHREADS];

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
sign_one(const char *who)
{
	unsigned char	*sig = NULL;
	size_t		 siglen = 0;
	const char	 msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJ0ZXN0Ijp0cnVlfQ";
	int		 r;

	r = ob_p11_pool_sign(pool, (const unsigned char *)msg,
	    sizeof(msg) - 1, &sig, &siglen);
	if (r == OB_OK)
		r = ob_sig_verify(ob_p11_pool_alg(pool), pub,
		    (const unsigned char *)msg, sizeof(msg) - 1, sig, siglen);
	if (r != OB_OK)
		fprintf(stderr, "%s: sign: %s (%s)\n", who, ob_err_name(r),
		    ob_err_detail());
	free(sig);
	return r;
}

static void *
worker(void *arg)
{
	int i = (int)(intptr_t)arg;

	while (!atomic_load(&stop)) {
		if (sign_one("thread") != OB_OK) {
			atomic_fetch_add(&failures, 1);
			break;
		}
		atomic_fetch_add(&done[i], 1);
	}
	return NULL;
}

/* Wait until every thread has signed at least n more times. */
static int
progress(long n)
{
	long	base[NTHREADS];
	int	i, k, ok;

	for (i = 0; i < NTHREADS; i++)
		base[i] = atomic_load(&done[i]);
	for (k = 0; k < 2000; k++) {
		ok = 1;
		for (i = 0; i < NTHREADS; i++)
			if (atomic_load(&done[i]) < base[i] + n)
				ok = 0;
		if (ok)
			return 1;
		if (atomic_load(&failures) > 0)
			return 0;
		msleep(5);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ob_p11_stats	 st;
	pthread_t		 th[NTHREADS];
	void			*dl;
	void			(*inject)(int, int);
	int			(*fired)(int);
	int			 i, r, status, ok = 1;
	pid_t			 pid;

	if (argc != 3) {
		fprintf(stderr, "usage: test_p11_pool URI FAULT_MODULE\n");
		return 2;
	}
	if ((r = ob_p11_pool_open(argv[1], NULL, OB_P11_KEEP_PIN |
	    OB_P11_VERIFY | OB_P11_QUIET, 0, &pool)) != OB_OK) {
		fprintf(stderr, "open: %s (%s)\n", ob_err_name(r),
		    ob_err_detail());
		return 1;
	}
	if (ob_p11_pool_pubkey(pool, &pub) != OB_OK)
		return 1;
	/* p11-kit loaded the fault module; reach its control functions. */
	if ((dl = dlopen(argv[2], RTLD_NOW | RTLD_NOLOAD)) == NULL) {
		fprintf(stderr, "fault module not loaded: %s\n", dlerror());
		return 1;
	}
	*(void **)&inject = dlsym(dl, "p11fault_inject");
	*(void **)&fired = dlsym(dl, "p11fault_fired");
	if (inject == NULL || fired == NULL)
		return 1;

	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
	ok &= progress(20);
	inject(1, 5);			/* token reset */
	ok &= progress(20);
	inject(2, 3);			/* device removed, three times */
	ok &= progress(20);
	inject(3, 1);			/* module finalized under us */
	ok &= progress(20);
	inject(1, 1);			/* and one more reset */
	ok &= progress(50);
	atomic_store(&stop, 1);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	ob_p11_pool_stats(pool, &st);
	printf("threads: %d, signatures: %lu, sessions %zu/%zu, re-found %lu, "
	    "module re-inits %lu; faults fired: reset %d, removed %d, "
	    "finalize %d\n", NTHREADS, st.signatures, st.sessions_open,
	    st.sessions_max, st.reinits, st.module_reinits, fired(1),
	    fired(2), fired(3));
	if (!ok || atomic_load(&failures) > 0 || fired(1) != 2 ||
	    fired(2) != 3 || fired(3) != 1 || st.reinits < 3 ||
	    st.module_reinits < 1) {
		fprintf(stderr, "FAIL: pool did not survive the faults\n");
		return 1;
	}

	/* fork(): the child re-initialises the module and signs. */
	if ((pid = fork()) == 0) {
		r = sign_one("child");
		_exit(r == OB_OK ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "FAIL: signing in the forked child\n");
		return 1;
	}
	if (sign_one("parent after fork") != OB_OK)
		return 1;
	printf("fork: child signed, parent signed after the fork\n");
	EVP_PKEY_free(pub);
	ob_p11_pool_close(&pool);
	ob_p11_shutdown();
	return 0;
}
